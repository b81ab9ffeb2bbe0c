//! The standard OAuth 2.0 endpoints, as client libraries expect them: one token endpoint for
//! every grant (RFC 6749: `password` 4.3, `client_credentials` 4.4, `refresh_token` 6) taking
//! form-encoded or JSON parameters, client authentication by HTTP Basic or in the body (2.3.1),
//! errors as RFC 6749 5.2 defines them; token revocation (RFC 7009); and the server's metadata
//! (RFC 8414). The grants themselves are those of `/api/v1/auth/token` and
//! `/api/v1/auth/client-token` ([`super::auth`]), with the same throttle and audit.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, post, web};
use base64::Engine;
use serde::Serialize;
use tongxing_core::Code;
use utoipa::ToSchema;

use super::auth::{
    ClientTokenResponse, TokenResponse, authenticated_client, client_credentials_grant, no_store,
    password_grant, refresh_token_grant,
};
use crate::audit::{ActorType, AuditAction, Entry};
use crate::auth::clients::ClientScope;
use crate::auth::refresh;
use crate::extract::RawBody;
use crate::problem::ApiError;
use crate::state::AppState;

tongxing_core::text_enum! {
    /// The grants the token endpoint issues tokens for.
    pub enum OAuthGrantType {
        /// A person's username and password (RFC 6749 4.3).
        Password => "password",
        /// A refresh token spent for a new pair (RFC 6749 6).
        RefreshToken => "refresh_token",
        /// A partner organisation's API client (RFC 6749 4.4).
        ClientCredentials => "client_credentials",
    }
}

/// A token request, form-encoded (as RFC 6749 defines it) or JSON. Which parameters a grant
/// takes: `password` needs `username` and `password`; `refresh_token` needs `refresh_token`;
/// `client_credentials` needs the client's credentials, in an HTTP Basic `Authorization` header
/// (`client_secret_basic`) or as `client_id` and `client_secret` here (`client_secret_post`),
/// and may narrow the token with `scope`. Parameters a grant does not use are ignored, as RFC
/// 6749 3.2 asks; an empty one counts as absent.
#[derive(Debug, ToSchema)]
pub struct OAuthTokenRequest {
    pub grant_type: OAuthGrantType,
    /// `password` grant: the user's username.
    #[schema(max_length = 64, nullable = false)]
    pub username: Option<String>,
    /// `password` grant: the user's password.
    #[schema(max_length = 200, nullable = false)]
    pub password: Option<String>,
    /// `refresh_token` grant: the refresh token to spend.
    #[schema(max_length = 200, nullable = false)]
    pub refresh_token: Option<String>,
    /// `client_credentials` grant, `client_secret_post`: the API client's id.
    #[schema(max_length = 64, nullable = false)]
    pub client_id: Option<String>,
    /// `client_credentials` grant, `client_secret_post`: the API client's secret.
    #[schema(max_length = 200, nullable = false)]
    pub client_secret: Option<String>,
    /// `client_credentials` grant: space-separated scopes to ask for; all the client's scopes
    /// when absent.
    #[schema(max_length = 200, nullable = false)]
    pub scope: Option<String>,
}

/// The tokens issued (RFC 6749 5.1): for a person, an access token and a refresh token; for an
/// API client, an access token and the scopes granted.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthTokenResponse {
    /// A JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// A person's single-use token for the `refresh_token` grant; each use returns a new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// An API client's scopes granted, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scope: Option<String>,
}

impl From<TokenResponse> for OAuthTokenResponse {
    fn from(t: TokenResponse) -> Self {
        let TokenResponse { access_token, token_type, expires_in, refresh_token } = t;
        Self { access_token, token_type, expires_in, refresh_token: Some(refresh_token), scope: None }
    }
}

impl From<ClientTokenResponse> for OAuthTokenResponse {
    fn from(t: ClientTokenResponse) -> Self {
        let ClientTokenResponse { access_token, token_type, expires_in, scope } = t;
        Self { access_token, token_type, expires_in, refresh_token: None, scope: Some(scope) }
    }
}

/// A revocation request (RFC 7009 2.1), form-encoded or JSON.
#[derive(Debug, ToSchema)]
pub struct OAuthRevocationRequest {
    /// The refresh token to revoke: it and every token of its family stop working.
    #[schema(min_length = 1, max_length = 2000)]
    pub token: String,
    /// `refresh_token` or `access_token`; a hint only.
    #[schema(max_length = 20, nullable = false)]
    pub token_type_hint: Option<String>,
    /// `client_secret_post`: an API client's id (optional: a refresh token is proof enough).
    #[schema(max_length = 64, nullable = false)]
    pub client_id: Option<String>,
    /// `client_secret_post`: the API client's secret.
    #[schema(max_length = 200, nullable = false)]
    pub client_secret: Option<String>,
}

tongxing_core::text_enum! {
    /// The error codes of RFC 6749 5.2 and RFC 7009 2.2.1, and `temporarily_unavailable` for a
    /// throttled sign-in (429, with `Retry-After`).
    pub enum OAuthErrorCode {
        InvalidRequest => "invalid_request",
        InvalidClient => "invalid_client",
        InvalidGrant => "invalid_grant",
        UnauthorizedClient => "unauthorized_client",
        UnsupportedGrantType => "unsupported_grant_type",
        InvalidScope => "invalid_scope",
        UnsupportedTokenType => "unsupported_token_type",
        TemporarilyUnavailable => "temporarily_unavailable",
    }
}

/// An OAuth error answer (RFC 6749 5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorResponse {
    pub error: OAuthErrorCode,
    /// What went wrong, for the developer.
    pub error_description: String,
}

/// An OAuth error: 400, 401 for `invalid_client` (with a `WWW-Authenticate` challenge), 429 for
/// a throttled sign-in.
#[derive(Debug)]
pub struct OAuthError {
    error: OAuthErrorCode,
    description: String,
    retry_after: Option<u32>,
}

impl OAuthError {
    fn new(error: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self { error, description: description.into(), retry_after: None }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    fn invalid_client() -> Self {
        Self::new(OAuthErrorCode::InvalidClient, "the client credentials are wrong or revoked")
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self.error {
            OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
        if self.error == OAuthErrorCode::InvalidClient {
            res.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="tongxing", charset="UTF-8""#));
        }
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.json(OAuthErrorResponse { error: self.error, error_description: self.description.clone() })
    }
}

/// The token endpoints' failures as OAuth errors, by the code the grant refused with; the rest
/// (a body too large, the database down, a defect) stay problem documents.
fn oauth_refusal(e: ApiError) -> actix_web::Error {
    let error = match e.code() {
        Code::InvalidCredentials | Code::InvalidGrant => OAuthErrorCode::InvalidGrant,
        Code::InvalidClient => OAuthErrorCode::InvalidClient,
        Code::ValidationFailed => OAuthErrorCode::InvalidScope,
        Code::TooManyAttempts => OAuthErrorCode::TemporarilyUnavailable,
        _ => return e.into(),
    };
    let mut refusal = OAuthError::new(error, e.detail());
    refusal.retry_after = e.retry_after();
    refusal.into()
}

/// The parameters the endpoints read, each with the longest value it takes (as the contract
/// states it); any other parameter is ignored (RFC 6749 3.2), whatever it holds.
const KNOWN: &[(&str, usize)] = &[
    ("grant_type", 200),
    ("username", 64),
    ("password", 200),
    ("refresh_token", 200),
    ("client_id", 64),
    ("client_secret", 200),
    ("scope", 200),
    ("token", 2000),
    ("token_type_hint", 20),
];

/// The request's parameters that the endpoints read: from a form (each at most once, RFC 6749
/// 3.2) or a JSON object, each a string; empty ones left out (RFC 6749 3.1).
fn parameters(req: &HttpRequest, body: &[u8]) -> Result<BTreeMap<String, String>, OAuthError> {
    let pairs: Vec<(String, serde_json::Value)> = match crate::extract::media_type(req).as_str() {
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map_err(|_| {
                OAuthError::invalid_request("the body is not a form (application/x-www-form-urlencoded)")
            })?
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect(),
        "application/json" => match crate::extract::strict_json(body) {
            Ok(serde_json::Value::Object(o)) => o.into_iter().collect(),
            _ => return Err(OAuthError::invalid_request("the body is not a JSON object")),
        },
        _ => {
            return Err(OAuthError::invalid_request(
                "send the parameters as application/x-www-form-urlencoded (or application/json)",
            ));
        }
    };
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        let Some(&(_, max)) = KNOWN.iter().find(|(name, _)| *name == k) else { continue };
        let serde_json::Value::String(v) = v else {
            return Err(OAuthError::invalid_request(format!("`{k}` must be a string")));
        };
        if v.chars().count() > max {
            return Err(OAuthError::invalid_request(format!("`{k}` is longer than {max} characters")));
        }
        // Control characters but tabs and line breaks are refused, as in every JSON body.
        if crate::extract::holds_control_characters(&v) {
            return Err(OAuthError::invalid_request(format!("`{k}` holds control characters")));
        }
        if v.is_empty() {
            continue;
        }
        if out.insert(k.clone(), v).is_some() {
            return Err(OAuthError::invalid_request(format!("`{k}` is given more than once")));
        }
    }
    Ok(out)
}

/// A parameter a grant needs.
fn required(params: &mut BTreeMap<String, String>, name: &str) -> Result<String, OAuthError> {
    params.remove(name).ok_or_else(|| OAuthError::invalid_request(format!("`{name}` is missing")))
}

/// The client's credentials, if it sent any: HTTP Basic (`client_secret_basic`, the id and
/// secret form-encoded before Base64, RFC 6749 2.3.1) or in the body (`client_secret_post`).
/// One method only; a `client_id` without a secret is no authentication.
fn client_credentials(
    req: &HttpRequest,
    params: &mut BTreeMap<String, String>,
) -> Result<Option<(String, String)>, OAuthError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, encoded)| {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(OAuthError::invalid_client)?;
            let (id, secret) = decoded.split_once(':').ok_or_else(OAuthError::invalid_client)?;
            let unescape = |s: &str| {
                form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
            };
            Ok::<_, OAuthError>((unescape(id).unwrap_or_default(), unescape(secret).unwrap_or_default()))
        })
        .transpose()?;
    let secret = params.remove("client_secret");
    let id = params.remove("client_id");
    match (basic, id, secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::invalid_request("authenticate the client one way only")),
        (Some(basic), _, None) => Ok(Some(basic)),
        (None, Some(id), Some(secret)) => Ok(Some((id, secret))),
        (None, None, Some(_)) => Err(OAuthError::invalid_request("`client_id` is missing")),
        (None, _, None) => Ok(None),
    }
}

/// Issue an access token (OAuth 2.0).
///
/// The standard token endpoint: `grant_type` `password` signs a person in, `refresh_token`
/// spends a refresh token for a new pair (a refresh token presented twice revokes its family),
/// `client_credentials` issues a partner API client's token. Parameters are form-encoded
/// (`application/x-www-form-urlencoded`), as RFC 6749 defines them and OAuth client libraries
/// send them, or JSON, as declared here. Errors are RFC 6749 5.2's: `invalid_request` (a parameter
/// missing, repeated or malformed), `invalid_client` (401 with `WWW-Authenticate`),
/// `invalid_grant` (a wrong username or password, a spent or revoked refresh token),
/// `unauthorized_client` (an API client asking for a person's grant), `unsupported_grant_type`,
/// `invalid_scope`; a throttled sign-in is 429 `temporarily_unavailable` with `Retry-After`
/// (the throttle of `/api/v1/auth/token`). Answers are never cached.
// The contract declares the JSON body only: declaring the form too makes some generators (such as
// openapi-python-client 0.29) emit a module that does not import.
#[utoipa::path(
    tag = "auth", operation_id = "create_oauth_token",
    request_body(content = OAuthTokenRequest, example = json!({"grant_type": "password", "username": "coordinator.li", "password": "a-long-passphrase"})),
    responses(
        (status = 200, description = "Tokens issued", body = OAuthTokenResponse),
        (status = 400, description = "The request is refused (RFC 6749 5.2)", body = OAuthErrorResponse),
        (status = 401, description = "`invalid_client`: the client credentials are wrong or revoked", body = OAuthErrorResponse),
        (status = 429, description = "Too many failed logins; `Retry-After` says when to try again", body = OAuthErrorResponse),
    ),
    security(())
)]
#[post("/oauth/token")]
pub async fn create_oauth_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    RawBody(body): RawBody,
) -> Result<HttpResponse, actix_web::Error> {
    let mut params = parameters(&req, &body)?;
    let client = client_credentials(&req, &mut params)?;
    let grant =
        params.remove("grant_type").ok_or_else(|| OAuthError::invalid_request("`grant_type` is missing"))?;
    let Some(&grant) = OAuthGrantType::ALL.iter().find(|g| g.as_str() == grant) else {
        return Err(OAuthError::new(
            OAuthErrorCode::UnsupportedGrantType,
            "`grant_type` is `password`, `refresh_token` or `client_credentials`",
        )
        .into());
    };
    if grant == OAuthGrantType::ClientCredentials {
        let Some((id, secret)) = client else { return Err(OAuthError::invalid_client().into()) };
        let scope = params.remove("scope");
        let issued =
            client_credentials_grant(&state, &req, id, secret, scope).await.map_err(oauth_refusal)?;
        return Ok(no_store(&OAuthTokenResponse::from(issued)));
    }
    if let Some((id, secret)) = client {
        // A person's grants are not an API client's: its credentials are checked, then refused.
        authenticated_client(&state, &req, id, secret).await.map_err(oauth_refusal)?;
        return Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "an API client signs in with `client_credentials`",
        )
        .into());
    }
    let issued = match grant {
        OAuthGrantType::Password => {
            let username = required(&mut params, "username")?;
            let password = required(&mut params, "password")?;
            password_grant(&state, &req, username, password).await
        }
        _ => {
            let token = required(&mut params, "refresh_token")?;
            refresh_token_grant(&state, token).await
        }
    };
    Ok(no_store(&OAuthTokenResponse::from(issued.map_err(oauth_refusal)?)))
}

/// Revoke a refresh token (OAuth 2.0, RFC 7009).
///
/// Signs a device out: the refresh token and every token of its family (the tokens it was
/// renewed from and into) stop working; access tokens already issued expire on their own
/// (`expires_in`). The answer is 200 whether or not the token was valid, as RFC 7009 asks, so
/// it says nothing about tokens it does not know. An access token is not revoked here
/// (`unsupported_token_type`). Client credentials are optional; when sent, they must be right.
/// Parameters are form-encoded, as RFC 7009 defines them, or JSON, as declared here.
#[utoipa::path(
    tag = "auth", operation_id = "revoke_oauth_token",
    request_body(content = OAuthRevocationRequest, example = json!({"token": "the-refresh-token", "token_type_hint": "refresh_token"})),
    responses(
        (status = 200, description = "Revoked, or not a token this service knows; no body"),
        (status = 400, description = "The request is refused (RFC 6749 5.2, RFC 7009 2.2.1)", body = OAuthErrorResponse),
        (status = 401, description = "`invalid_client`: the client credentials are wrong or revoked", body = OAuthErrorResponse),
    ),
    security(())
)]
#[post("/oauth/revoke")]
pub async fn revoke_oauth_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    RawBody(body): RawBody,
) -> Result<HttpResponse, actix_web::Error> {
    let mut params = parameters(&req, &body)?;
    if let Some((id, secret)) = client_credentials(&req, &mut params)? {
        authenticated_client(&state, &req, id, secret).await.map_err(oauth_refusal)?;
    }
    let token = required(&mut params, "token")?;
    let presented = token.clone();
    let revoked = state.run(move |conn| refresh::revoke(conn, &presented)).await?;
    match revoked {
        Some((user, family)) => {
            // The account's own act: its sign-in (the token family) ended.
            let entry = Entry {
                resource_id: Some(family),
                changes: Some(serde_json::json!({"refresh_tokens": {"old": "active", "new": "revoked"}})),
                ..super::auth::login_entry(&req, ActorType::User, Some(user), AuditAction::Update, 200)
            };
            state.audit.append(entry).await;
        }
        None if state.keys.verify(&token).is_ok() => {
            return Err(OAuthError::new(
                OAuthErrorCode::UnsupportedTokenType,
                "access tokens are not revoked; they expire on their own (revoke the refresh token)",
            )
            .into());
        }
        None => {}
    }
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).finish())
}

/// The authorization server's metadata (RFC 8414).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthServerMetadata {
    /// This service's address, as the request reached it.
    pub issuer: String,
    pub token_endpoint: String,
    /// `client_secret_basic`, `client_secret_post`, and `none` for people's grants.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<OAuthGrantType>,
    /// No authorization endpoint: none.
    pub response_types_supported: Vec<&'static str>,
    /// The scopes an API client may hold.
    pub scopes_supported: Vec<ClientScope>,
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub jwks_uri: String,
    pub service_documentation: String,
}

/// OAuth 2.0 authorization server metadata (RFC 8414): where the token and revocation
/// endpoints are, the grants, client authentication methods and scopes. The addresses are
/// built from the request's `Host` (on the connection's scheme: behind a proxy that ends TLS,
/// `http`).
#[utoipa::path(
    tag = "auth", operation_id = "get_oauth_metadata",
    responses((status = 200, description = "The server's metadata", body = OAuthServerMetadata)),
    security(())
)]
#[get("/.well-known/oauth-authorization-server")]
pub async fn get_oauth_metadata(req: HttpRequest) -> HttpResponse {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .map(str::to_owned)
        .unwrap_or_else(|| req.app_config().host().to_owned());
    let scheme = if req.app_config().secure() { "https" } else { "http" };
    let base = format!("{scheme}://{host}");
    let auth_methods = vec!["client_secret_basic", "client_secret_post", "none"];
    let metadata = OAuthServerMetadata {
        issuer: base.clone(),
        token_endpoint: format!("{base}/api/v1/oauth/token"),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        grant_types_supported: OAuthGrantType::ALL.to_vec(),
        response_types_supported: Vec::new(),
        scopes_supported: ClientScope::ALL.to_vec(),
        revocation_endpoint: format!("{base}/api/v1/oauth/revoke"),
        revocation_endpoint_auth_methods_supported: auth_methods,
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        service_documentation: format!("{base}/docs/"),
    };
    HttpResponse::Ok().json(metadata)
}
