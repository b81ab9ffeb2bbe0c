//! Partner organisations' API clients (admins): create with a secret shown once, list, rotate
//! the secret, revoke. The store is `tongxing_accounts::clients`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page, page_of};
use crate::audit::{self, AuditNote};
use crate::auth::Caller;
use crate::auth::clients::{self, ApiClient, ApiClientCredentials, ApiClientInput};
use crate::extract::{IfMatch, JsonBody, Query, etag};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(ApiClientPage, ApiClient);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApiClientQuery {
    pub organisation_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn with_secret(status: StatusCode, c: ApiClientCredentials) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("cache-control", "no-store"))
        .insert_header((actix_web::http::header::ETAG, etag(c.client.version)))
        .json(&c)
}

/// Register a partner organisation's API client. The answer holds the client secret, shown
/// only this once.
#[utoipa::path(
    tag = "api-clients", operation_id = "create_api_client",
    request_body(content = ApiClientInput, example = json!({
        "organisation_id": "0190f0a0-0000-7000-8000-000000000005", "name": "希望之家 case system", "scopes": ["cases:read"]
    })),
    responses((status = 201, description = "Created; the secret is in the body", body = ApiClientCredentials))
)]
#[post("/api-clients")]
pub async fn create_api_client(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<ApiClientInput>,
) -> ApiResult<HttpResponse> {
    let (input, actor) = (body.value, caller.user_id);
    let c = state
        .write(&caller, StatusCode::CREATED, move |conn| {
            let c = clients::create(conn, input, actor)?;
            let note = AuditNote { resource_id: Some(c.client.id.to_string()), ..AuditNote::default() };
            Ok((c, note))
        })
        .await?;
    Ok(with_secret(StatusCode::CREATED, c))
}

/// List API clients, optionally of one organisation.
#[utoipa::path(
    tag = "api-clients", operation_id = "list_api_clients",
    params(ApiClientQuery),
    responses((status = 200, description = "A page of API clients", body = ApiClientPage))
)]
#[get("/api-clients")]
pub async fn list_api_clients(
    state: web::Data<AppState>,
    _caller: Caller,
    Query(q): Query<ApiClientQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let org = q.organisation_id;
    let result = state.run(move |conn| clients::list(conn, org, page)).await?;
    Ok(HttpResponse::Ok().json(ApiClientPage::from(result)))
}

/// Replace a client's secret; the old secret stops working at once. The answer holds the new
/// secret, shown only this once.
#[utoipa::path(
    tag = "api-clients", operation_id = "rotate_api_client_secret",
    params(
        ("id" = Uuid, Path, description = "API client id"),
        ("If-Match" = Option<String>, Header, description = "When given, the change applies only to this version"),
    ),
    responses((status = 200, description = "Rotated; the new secret is in the body", body = ApiClientCredentials))
)]
#[post("/api-clients/{id}/secret")]
pub async fn rotate_api_client_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let note = AuditNote {
        resource_id: Some(id.to_string()),
        changes: Some(serde_json::json!({"client_secret": {"old": "[redacted]", "new": "[redacted]"}})),
        ..AuditNote::default()
    };
    let c = state
        .write(&caller, StatusCode::OK, move |conn| Ok((clients::rotate_secret(conn, id, if_match.0)?, note)))
        .await?;
    Ok(with_secret(StatusCode::OK, c))
}

/// Revoke a client: it gets no new tokens, and the tokens already issued stop working at once.
#[utoipa::path(
    tag = "api-clients", operation_id = "revoke_api_client",
    params(
        ("id" = Uuid, Path, description = "API client id"),
        ("If-Match" = Option<String>, Header, description = "When given, the change applies only to this version"),
    ),
    responses((status = 200, description = "Revoked", body = ApiClient))
)]
#[post("/api-clients/{id}/revoke")]
pub async fn revoke_api_client(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let after = state
        .write(&caller, StatusCode::OK, move |conn| {
            let before = clients::get(conn, id)?.record;
            let after = clients::revoke(conn, id, if_match.0)?;
            let note = audit::updated(id, None, &before, &after);
            Ok((after, note))
        })
        .await?;
    Ok(HttpResponse::Ok().insert_header((actix_web::http::header::ETAG, etag(after.version))).json(&after))
}
