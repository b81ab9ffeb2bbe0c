//! User accounts (admins): create, list, read, change (role, region, organisation, active) and
//! reset a password; and the signed-in user's own account and password change. The rules live in
//! `tongxing_accounts::users`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Deserialize;
use tongxing_core::Error;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::auth::{login_entry, token_pair};
use super::{page, page_of, with_etag};
use crate::audit::{self, ActorType, AuditAction, AuditNote, Entry};
use crate::auth::Caller;
use crate::auth::login::{subject_of, too_many};
use crate::auth::users::{self, User, UserInput, UserUpdate};
use crate::auth::{login, password, refresh, throttle};
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

page_of!(UserPage, User);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An administrator sets a user's password.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// At least 10 characters.
    #[validate(length(min = 10, max = 200))]
    #[schema(min_length = 10, max_length = 200)]
    pub password: String,
}

/// A user changes their own password.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub current_password: String,
    /// At least 10 characters.
    #[validate(length(min = 10, max = 200))]
    #[schema(min_length = 10, max_length = 200)]
    pub new_password: String,
}

/// Hashes a password on a blocking thread, with no database connection held.
async fn hashed(password: String) -> ApiResult<String> {
    Ok(web::block(move || password::hash(&password))
        .await
        .map_err(|e| ApiError::from(Error::internal(format!("blocking task failed: {e}"))))??)
}

/// What the audit log records of a password change: that it happened, never the value.
fn password_changed(id: Uuid) -> AuditNote {
    AuditNote {
        resource_id: Some(id.to_string()),
        changes: Some(serde_json::json!({"password": {"old": "[redacted]", "new": "[redacted]"}})),
        ..AuditNote::default()
    }
}

/// Create a user account (admins only).
#[utoipa::path(
    tag = "users", operation_id = "create_user",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = UserInput, example = json!({"username": "caseworker.wang", "display_name": "王社工", "role": "caseworker", "password": "a-long-passphrase"})),
    responses((status = 201, description = "Created", body = User))
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<UserInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    let hash = hashed(input.password.clone()).await?;
    idempotency::create(&state, create, move |conn| Ok((users::create_hashed(conn, input, hash)?, None)))
        .await
}

/// List user accounts (admins only).
#[utoipa::path(
    tag = "users", operation_id = "list_users",
    params(UserQuery),
    responses((status = 200, description = "A page of users", body = UserPage))
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    _caller: Caller,
    Query(q): Query<UserQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let result = state.run(move |conn| users::list(conn, page)).await?;
    Ok(HttpResponse::Ok().json(UserPage::from(result)))
}

/// Read a user account.
#[utoipa::path(
    tag = "users", operation_id = "get_user",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user; `ETag` carries the version", body = User))
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(with_etag(state.run(move |conn| users::get_versioned(conn, id)).await?))
}

/// Change a user's display name, role, organisation or region, or deactivate or reactivate the
/// account (requires `If-Match`).
///
/// A change of role, organisation, region or `active` ends every access and refresh token the
/// user holds, at once and on every node: they sign in again (a deactivated user cannot). The
/// last active administrator cannot be deactivated or given another role (409 `last_admin`).
#[utoipa::path(
    tag = "users", operation_id = "update_user",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced"),
    ),
    request_body(content = UserUpdate, example = json!({
        "display_name": "王社工", "role": "coordinator", "region_id": "0190f0a0-0000-7000-8000-000000000002", "active": true
    })),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = User))
)]
#[put("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<UserUpdate>,
) -> ApiResult<HttpResponse> {
    let (id, version, input) = (id.into_inner(), if_match.required()?, body.value);
    let after = state
        .write(&caller, StatusCode::OK, move |conn| {
            let (before, after) = users::update(conn, id, input, version)?;
            let note = audit::updated(id, None, &before, &after);
            Ok((after, note))
        })
        .await?;
    let version = after.version;
    Ok(with_etag(tongxing_core::record::Versioned { record: after, version }))
}

/// Set a user's password (admins): for a user who has forgotten theirs. Every token the user
/// holds ends at once, and the delays that failed logins put on their username are cleared.
#[utoipa::path(
    tag = "users", operation_id = "reset_user_password",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "When given, the change applies only to this version"),
    ),
    request_body(content = PasswordReset, example = json!({"password": "a-new-long-passphrase"})),
    responses((status = 200, description = "Set; `ETag` carries the new version", body = User))
)]
#[post("/users/{id}/password")]
pub async fn reset_user_password(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<PasswordReset>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    // Answer 404 for an unknown user before spending a hash on it.
    state.run(move |conn| users::get(conn, id)).await?;
    let hash = hashed(body.value.password).await?;
    let user = state
        .write(&caller, StatusCode::OK, move |conn| {
            Ok((users::set_password(conn, id, hash, if_match.0)?, password_changed(id)))
        })
        .await?;
    let version = user.version;
    Ok(with_etag(tongxing_core::record::Versioned { record: user, version }))
}

/// The signed-in user's own account.
#[utoipa::path(
    tag = "users", operation_id = "get_current_user",
    responses((status = 200, description = "The signed-in user; `ETag` carries the version", body = User))
)]
#[get("/me")]
pub async fn get_current_user(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let id = caller.user_id;
    Ok(with_etag(state.run(move |conn| users::get_versioned(conn, id)).await?))
}

/// Change one's own password, giving the current one.
///
/// Every token the user holds ends at once, on every node (other devices sign in again); the
/// answer carries a new access token and refresh token for this one. A wrong current password
/// is 422 `validation_failed` on `current_password`, and counts as a failed login: the same
/// throttle applies (429 `too_many_attempts` with `Retry-After`).
#[utoipa::path(
    tag = "users", operation_id = "change_current_user_password",
    request_body(content = PasswordChange, example = json!({"current_password": "a-long-passphrase", "new_password": "a-new-long-passphrase"})),
    responses(
        (status = 200, description = "Changed; new tokens for this device", body = super::auth::TokenResponse),
        (status = 429, description = "Too many failed logins or password checks; `Retry-After` says when to try again", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_current_user_password(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: JsonBody<PasswordChange>,
) -> ApiResult<HttpResponse> {
    let PasswordChange { current_password, new_password } = body.value;
    let address = throttle::address_key(crate::client_address::of(&req));
    let account = login::Account::Id(caller.user_id);
    let wrong = || Error::field("current_password", "incorrect", "the current password is wrong");
    let failed = match login::check(&state.db, state.limits.login, address, account, current_password).await?
    {
        login::Checked::Right(right) => Ok(right),
        login::Checked::Refused { retry_after, .. } => Err(too_many(retry_after)),
        login::Checked::Wrong { .. } => Err(wrong()),
    };
    let right = match failed {
        Ok(right) => right,
        Err(e) => {
            // A wrong current password is a failed login, and recorded as one.
            let status = if matches!(e, Error::TooManyRequests { .. }) { 429 } else { 422 };
            let entry =
                login_entry(&req, ActorType::User, Some(caller.user_id), AuditAction::LoginFailed, status);
            state
                .audit
                .append(Entry { actor_role: caller.scope.role().map(|r| r.to_string()), ..entry })
                .await;
            return Err(e.into());
        }
    };
    let hash = hashed(new_password).await?;
    let ttl = state.keys.refresh_ttl_seconds;
    let issued = state
        .write(&caller, StatusCode::OK, move |conn| {
            // The account changed while the password was being checked: nothing is written.
            let Some(row) = login::settle(conn, &right)? else { return Err(wrong()) };
            let id = row.id()?;
            users::set_password(conn, id, hash, None)?;
            let row = users::find(conn, id)?.ok_or_else(|| Error::not_found("user"))?;
            let token = refresh::issue(conn, id, row.token_epoch, None, ttl)?;
            Ok(((subject_of(&row)?, token), password_changed(id)))
        })
        .await?;
    let (subject, token) = issued;
    token_pair(&state, &subject, token).await
}
