use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use tongxing_core::Error;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{password, refresh, users};
use crate::extract::JsonBody;
use crate::problem::ApiResult;
use crate::state::AppState;

/// A token request: a password grant for people, a refresh-token grant to renew.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenRequest {
    Password { username: String, password: String },
    RefreshToken { refresh_token: String },
}

impl Validate for TokenRequest {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        let mut errs = validator::ValidationErrors::new();
        let mut check = |field: &'static str, v: &str, max: usize| {
            if v.is_empty() || v.len() > max {
                let mut e = validator::ValidationError::new("length");
                e.add_param("min".into(), &1);
                e.add_param("max".into(), &max);
                errs.add(field, e);
            }
        };
        match self {
            TokenRequest::Password { username, password } => {
                check("username", username, 64);
                check("password", password, 200);
            }
            TokenRequest::RefreshToken { refresh_token } => check("refresh_token", refresh_token, 200),
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }
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

/// Issue an access token.
///
/// With `grant_type` `password`, checks the user's password; with `refresh_token`, spends the
/// refresh token and returns a new pair. A refresh token presented twice revokes its family.
#[utoipa::path(
    post, path = "/api/v1/auth/token", tag = "auth", operation_id = "create_token",
    request_body(content = TokenRequest, example = json!({"grant_type": "password", "username": "coordinator.li", "password": "a-long-passphrase"})),
    responses((status = 200, description = "Tokens issued", body = TokenResponse)),
    security(())
)]
#[post("/auth/token")]
pub async fn create_token(
    state: web::Data<AppState>,
    body: JsonBody<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let keys = state.keys.clone();
    let refresh_ttl = keys.refresh_ttl_seconds;
    let (user_id, role, refresh_token) = match body.value {
        TokenRequest::Password { username, password: given } => {
            state
                .tx(move |conn| {
                    let row = users::find_by_username(conn, &username)?;
                    let stored = row.as_ref().map_or(password::decoy_hash(), |u| u.password_hash.as_str());
                    let ok = password::verify(&given, stored);
                    match row {
                        Some(u) if ok && u.active => {
                            let id = u.id()?;
                            let token = refresh::issue(conn, id, None, refresh_ttl)?;
                            Ok((id, u.role()?, token))
                        }
                        _ => Err(Error::unauthenticated(
                            "invalid_credentials",
                            "the username or password is wrong",
                        )),
                    }
                })
                .await?
        }
        TokenRequest::RefreshToken { refresh_token } => {
            // Not one transaction: revoking a reused token's family must stick even though the
            // request fails.
            state
                .run(move |conn| {
                    let (user_id, family) = refresh::spend(conn, &refresh_token)?;
                    let user = users::find(conn, user_id)?.filter(|u| u.active).ok_or_else(|| {
                        Error::unauthenticated("invalid_grant", "the account is not active")
                    })?;
                    let token = refresh::issue(conn, user_id, Some(family), refresh_ttl)?;
                    Ok((user_id, user.role()?, token))
                })
                .await?
        }
    };
    let access_token = keys.issue(user_id, role)?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: keys.access_ttl_seconds,
        refresh_token,
    }))
}
