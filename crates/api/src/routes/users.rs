use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{page, page_of};
use crate::auth::Caller;
use crate::auth::users::{self, User, UserInput};
use crate::extract::{IdempotencyKey, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
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

/// Create a user account (admins only).
#[utoipa::path(
    post, path = "/api/v1/users", tag = "users", operation_id = "create_user",
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
    let create =
        Create { caller: caller.user_id, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    idempotency::create(&state, create, move |conn| Ok((users::create(conn, input)?, None))).await
}

/// List user accounts (admins only).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users", operation_id = "list_users",
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
