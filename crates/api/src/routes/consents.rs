//! Guardians' consents for a child (`/consents`): record, list, read and withdraw. Stored by
//! `tongxing_cases::consents`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use tongxing_cases::consents::{self, Consent, ConsentFilter, ConsentInput, ConsentPurpose, Withdrawal};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{noted, page, page_of, with_etag};
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(ConsentPage, Consent);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsentQuery {
    pub child_id: Option<Uuid>,
    pub purpose: Option<ConsentPurpose>,
    /// Only standing (true) or only withdrawn (false) consents.
    pub active: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Record a guardian's consent.
#[utoipa::path(
    tag = "consents", operation_id = "create_consent",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = ConsentInput, example = json!({
        "child_id": "0190f0a0-0000-7000-8000-000000000004", "purpose": "case_file",
        "given_by_name": "王秀英", "given_by_relation": "grandmother", "given_at": "2023-06-15T01:00:00Z"
    })),
    responses((status = 201, description = "Created; `ETag` carries the version", body = Consent))
)]
#[post("/consents")]
pub async fn create_consent(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ConsentInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope) = (body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        let c = consents::create(conn, &scope, input)?;
        Ok((c.record, Some(c.version)))
    })
    .await
}

/// List consents, by child, purpose and whether they stand.
#[utoipa::path(
    tag = "consents", operation_id = "list_consents",
    params(ConsentQuery),
    responses((status = 200, description = "A page of consents", body = ConsentPage))
)]
#[get("/consents")]
pub async fn list_consents(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ConsentQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = ConsentFilter { child_id: q.child_id, purpose: q.purpose, active: q.active };
    let scope = caller.scope;
    let result = state.run(move |conn| consents::list(conn, &scope, &filter, page)).await?;
    let note = audit::read_children(result.items.iter().map(|c| c.child_id));
    Ok(noted(HttpResponse::Ok().json(ConsentPage::from(result)), note))
}

/// Read a consent.
#[utoipa::path(
    tag = "consents", operation_id = "get_consent",
    params(("id" = Uuid, Path, description = "Consent id")),
    responses((status = 200, description = "The consent; `ETag` carries the version", body = Consent))
)]
#[get("/consents/{id}")]
pub async fn get_consent(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    let consent = state.run(move |conn| consents::get(conn, &scope, id)).await?;
    let note = audit::read_children([consent.record.child_id]);
    Ok(noted(with_etag(consent), note))
}

/// Withdraw a consent; a withdrawn consent cannot be withdrawn again (409).
#[utoipa::path(
    tag = "consents", operation_id = "withdraw_consent",
    params(
        ("id" = Uuid, Path, description = "Consent id"),
        ("If-Match" = Option<String>, Header, description = "When given, applies only to this version"),
    ),
    request_body(content = Withdrawal, example = json!({"reason": "监护人撤回同意"})),
    responses((status = 200, description = "The withdrawn consent", body = Consent))
)]
#[post("/consents/{id}/withdraw")]
pub async fn withdraw_consent(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<Withdrawal>,
) -> ApiResult<HttpResponse> {
    let (id, w, scope) = (id.into_inner(), body.value, caller.scope);
    super::changed_about(
        &state,
        &caller,
        id,
        move |conn| consents::withdraw(conn, &scope, id, w, if_match.0),
        |r| Some(r.child_id),
    )
    .await
}
