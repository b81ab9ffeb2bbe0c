//! Tokens: a user's sign-in (password and refresh grants, run by `tongxing_accounts::login`),
//! a partner API client's client-credentials token, the public signing keys (JWKS) and their
//! rotation.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use tongxing_core::role::Role;
use tongxing_core::{Error, time};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::audit::{ActorType, AuditAction, AuditNote, Entry};
use crate::auth::Caller;
use crate::auth::clients::{self, ApiClient};
use crate::auth::tokens::{Jwks, Subject};
use crate::auth::{keys, login, throttle};
use crate::extract::JsonBody;
use crate::middleware::request_id;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use actix_web::ResponseError;

/// A token request: a password grant for people, a refresh-token grant to renew.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TokenRequest {
    Password(PasswordGrant),
    RefreshToken(RefreshTokenGrant),
}

tongxing_core::text_enum! {
    pub enum PasswordGrantType {
        Password => "password",
    }
}

tongxing_core::text_enum! {
    pub enum RefreshTokenGrantType {
        RefreshToken => "refresh_token",
    }
}

/// A person signs in with their username and password.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasswordGrant {
    pub grant_type: PasswordGrantType,
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub password: String,
}

/// A refresh token is spent for a new pair of tokens.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenGrant {
    pub grant_type: RefreshTokenGrantType,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub refresh_token: String,
}

impl Validate for TokenRequest {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        match self {
            TokenRequest::Password(g) => g.validate(),
            TokenRequest::RefreshToken(g) => g.validate(),
        }
    }
}

tongxing_core::text_enum! {
    pub enum ClientGrant {
        ClientCredentials => "client_credentials",
    }
}

/// A partner system's token request (OAuth 2.0 client credentials, as JSON).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ClientTokenRequest {
    pub grant_type: ClientGrant,
    /// The API client's id.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub client_id: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub client_secret: String,
    /// Space-separated scopes to ask for; all the client's scopes when absent.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub scope: Option<String>,
}

/// An API client's token: no refresh token; the client asks again with its credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientTokenResponse {
    /// A JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single-use token for the `refresh_token` grant; each use returns a new one.
    pub refresh_token: String,
}

/// How old the signing keys may be before a token is signed with them.
const KEY_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// The audit entry of a login or a password check at the request's route, good or bad.
pub(crate) fn login_entry(
    req: &HttpRequest,
    actor_type: ActorType,
    actor: Option<Uuid>,
    action: AuditAction,
    status: u16,
) -> Entry {
    Entry {
        at: time::now(),
        actor_type,
        actor_id: actor,
        actor_role: None,
        action,
        resource: req.match_pattern().unwrap_or_else(|| req.path().to_owned()),
        resource_id: None,
        child_id: None,
        status,
        changes: None,
        address: crate::client_address::of(req).map(|a| a.to_string()),
        request_id: request_id(req),
    }
}

/// A new access token and refresh token for the user, as the token endpoints answer them.
pub(crate) async fn token_pair(
    state: &AppState,
    subject: &Subject,
    refresh_token: String,
) -> ApiResult<HttpResponse> {
    Ok(no_store(&issue_pair(state, subject, refresh_token).await?))
}

/// A token endpoint's answer: never stored by a cache (RFC 6749 5.1).
pub(crate) fn no_store<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .insert_header(("pragma", "no-cache"))
        .json(body)
}

async fn issue_pair(state: &AppState, subject: &Subject, refresh_token: String) -> ApiResult<TokenResponse> {
    state.reload_keys(KEY_MAX_AGE).await?;
    Ok(TokenResponse {
        access_token: state.keys.issue(subject)?,
        token_type: "Bearer".into(),
        expires_in: state.keys.access_ttl_seconds,
        refresh_token,
    })
}

/// The scopes a client asks for, within those it holds.
fn granted(client: &ApiClient, asked: Option<&str>) -> tongxing_core::Result<String> {
    let held: Vec<&str> = client.scopes.iter().map(|s| s.as_str()).collect();
    let Some(asked) = asked else { return Ok(held.join(" ")) };
    let mut out = Vec::new();
    for word in asked.split(' ').filter(|w| !w.is_empty()) {
        if !held.contains(&word) {
            return Err(Error::field("scope", "not_granted", format!("the client does not hold `{word}`")));
        }
        if !out.contains(&word) {
            out.push(word);
        }
    }
    if out.is_empty() {
        return Err(Error::field("scope", "blank", "ask for at least one scope"));
    }
    Ok(out.join(" "))
}

/// The password grant: the login policy (throttle, password check), audited either way.
pub(crate) async fn password_grant(
    state: &AppState,
    req: &HttpRequest,
    username: String,
    given: String,
) -> ApiResult<TokenResponse> {
    let login = |actor_type, actor: Option<Uuid>, role: Option<String>, action, status: u16| Entry {
        actor_role: role,
        ..login_entry(req, actor_type, actor, action, status)
    };
    let ip = crate::client_address::of(req);
    let (db, policy, address) = (&state.db, state.limits.login, throttle::address_key(ip));
    match login::sign_in(db, policy, address, username, given, state.keys.refresh_ttl_seconds).await? {
        login::SignIn::Granted { subject, refresh_token } => {
            let role = Some(subject.role.to_string());
            state.audit.append(login(ActorType::User, Some(subject.id), role, AuditAction::Login, 200)).await;
            issue_pair(state, &subject, refresh_token).await
        }
        login::SignIn::Refused { user, error } => {
            let status = if matches!(error, Error::TooManyRequests { .. }) { 429 } else { 401 };
            let kind = if user.is_some() { ActorType::User } else { ActorType::Anonymous };
            state.audit.append(login(kind, user, None, AuditAction::LoginFailed, status)).await;
            Err(error.into())
        }
    }
}

/// The refresh-token grant: the token is spent for a new pair of the same family.
pub(crate) async fn refresh_token_grant(state: &AppState, refresh_token: String) -> ApiResult<TokenResponse> {
    let refresh_ttl = state.keys.refresh_ttl_seconds;
    let (subject, token) =
        state.run(move |conn| login::refresh_grant(conn, &refresh_token, refresh_ttl)).await?;
    issue_pair(state, &subject, token).await
}

/// The API client with these credentials; a failed attempt is audited as a failed login.
pub(crate) async fn authenticated_client(
    state: &AppState,
    req: &HttpRequest,
    client_id: String,
    client_secret: String,
) -> ApiResult<ApiClient> {
    let result = state.run(move |conn| clients::authenticate(conn, &client_id, &client_secret)).await;
    if let Err(e) = &result {
        let status = e.status_code().as_u16();
        state
            .audit
            .append(login_entry(req, ActorType::Anonymous, None, AuditAction::LoginFailed, status))
            .await;
    }
    result
}

/// The client-credentials grant: the client's id and secret checked, the token limited to the
/// scopes asked for (all the client's when none are named); audited either way.
pub(crate) async fn client_credentials_grant(
    state: &AppState,
    req: &HttpRequest,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
) -> ApiResult<ClientTokenResponse> {
    let client = authenticated_client(state, req, client_id, client_secret).await?;
    let scope = match granted(&client, scope.as_deref()) {
        Ok(scope) => scope,
        Err(e) => {
            let refusal = ApiError::from(e);
            let status = refusal.status_code().as_u16();
            state
                .audit
                .append(login_entry(req, ActorType::Anonymous, None, AuditAction::LoginFailed, status))
                .await;
            return Err(refusal);
        }
    };
    let subject = Subject {
        id: client.id,
        role: Role::Partner,
        organisation_id: Some(client.organisation_id),
        region_id: None,
        scope: Some(scope),
        epoch: 0,
    };
    let entry = Entry {
        actor_role: Some(Role::Partner.to_string()),
        ..login_entry(req, ActorType::Client, Some(subject.id), AuditAction::Login, 200)
    };
    state.audit.append(entry).await;
    state.reload_keys(KEY_MAX_AGE).await?;
    Ok(ClientTokenResponse {
        access_token: state.keys.issue(&subject)?,
        token_type: "Bearer".into(),
        expires_in: state.keys.access_ttl_seconds,
        scope: subject.scope.unwrap_or_default(),
    })
}

/// Issue an access token.
///
/// With `grant_type` `password`, checks the user's password; with `refresh_token`, spends the
/// refresh token and returns a new pair (a refresh token presented twice revokes its family);
/// deactivating a user, changing their role, region or organisation, and changing their
/// password end every token they hold at once.
///
/// Failed logins are throttled before any password is checked, per network address and per
/// username, in the same way for usernames that exist and those that do not: after five
/// failures in a row, each further attempt at that username must wait (2 s, doubling with each
/// failure up to 15 minutes) and is refused with 429 and `Retry-After` until then. The right
/// password after the wait signs in. An address the account has signed in from before is not
/// held up by failures from elsewhere. An unknown username, a wrong password and a deactivated
/// account get the same answer.
///
/// The standard OAuth 2.0 token endpoint, `/api/v1/oauth/token`, does the same with form or
/// JSON bodies and OAuth errors.
#[utoipa::path(
    tag = "auth", operation_id = "create_token",
    request_body(content = TokenRequest, example = json!({"grant_type": "password", "username": "coordinator.li", "password": "a-long-passphrase"})),
    responses(
        (status = 200, description = "Tokens issued", body = TokenResponse),
        (status = 429, description = "Too many failed logins; `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/auth/token")]
pub async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let issued = match body.value {
        TokenRequest::Password(PasswordGrant { username, password, .. }) => {
            password_grant(&state, &req, username, password).await?
        }
        TokenRequest::RefreshToken(RefreshTokenGrant { refresh_token, .. }) => {
            refresh_token_grant(&state, refresh_token).await?
        }
    };
    Ok(no_store(&issued))
}

/// Issue an access token to a partner organisation's API client.
///
/// Checks the client's id and secret, and returns a token limited to the scopes asked for
/// (all the client's scopes when none are named). A revoked client, an unknown client and a
/// wrong secret all answer 401 `invalid_client`. The standard OAuth 2.0 token endpoint,
/// `/api/v1/oauth/token`, also takes HTTP Basic client authentication and form bodies.
#[utoipa::path(
    tag = "auth", operation_id = "create_client_token",
    request_body(content = ClientTokenRequest, example = json!({"grant_type": "client_credentials", "client_id": "0190f0a0-0000-7000-8000-00000000000c", "client_secret": "the-secret-shown-once", "scope": "cases:read"})),
    responses((status = 200, description = "Token issued", body = ClientTokenResponse)),
    security(())
)]
#[post("/auth/client-token")]
pub async fn create_client_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<ClientTokenRequest>,
) -> ApiResult<HttpResponse> {
    let ClientTokenRequest { client_id, client_secret, scope, .. } = body.value;
    Ok(no_store(&client_credentials_grant(&state, &req, client_id, client_secret, scope).await?))
}

/// The public keys that verify access tokens (JWKS). Keys appear here before they sign and
/// stay until the last token they signed has expired.
#[utoipa::path(
    tag = "auth", operation_id = "get_jwks",
    responses((status = 200, description = "The JSON Web Key Set", body = Jwks)),
    security(())
)]
#[get("/.well-known/jwks.json")]
pub async fn get_jwks(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().insert_header(("cache-control", "public, max-age=300")).json(state.keys.jwks()?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyRotated {
    /// The `kid` of the key that signs from now on.
    pub kid: String,
}

/// Rotate the signing key: a new key signs from now on; tokens signed by the old one stay valid
/// until they expire. Other nodes pick the new key up when they first meet a token it signed.
#[utoipa::path(
    tag = "auth", operation_id = "rotate_signing_key",
    responses((status = 201, description = "Rotated", body = SigningKeyRotated))
)]
#[post("/signing-keys")]
pub async fn rotate_signing_key(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let ttl = state.keys.access_ttl_seconds;
    let (kid, loaded) = state
        .write(&caller, actix_web::http::StatusCode::CREATED, move |conn| {
            let kid = keys::rotate(conn)?;
            let note = AuditNote { resource_id: Some(kid.clone()), ..AuditNote::default() };
            Ok(((kid, keys::load(conn, ttl)?), note))
        })
        .await?;
    state.keys.replace(&loaded)?;
    Ok(HttpResponse::Created().json(SigningKeyRotated { kid }))
}
