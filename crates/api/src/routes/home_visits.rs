//! Holiday home-visit requests (`/home-visit-requests`): a mentor asks to take the paired
//! child home over a statutory holiday; the guardian's consent, the checklist, approval or
//! rejection, cancellation and the child's return are steps of one request, and a visit that
//! went ahead without approval is recorded late. The workflow is `tongxing_pairing::home_visits`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use tongxing_pairing::home_visits::{
    self, Action, ChecklistInput, HomeVisitConsent, HomeVisitFilter, HomeVisitInput, HomeVisitRequest,
    HomeVisitStatus, LateHomeVisitInput, ReturnConfirmation, StepReason,
};
use utoipa::IntoParams;
use uuid::Uuid;

use super::with_etag;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HomeVisitRequestList {
    pub items: Vec<HomeVisitRequest>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HomeVisitQuery {
    pub pairing_id: Option<Uuid>,
    pub status: Option<HomeVisitStatus>,
}

async fn step(
    state: &AppState,
    caller: Caller,
    id: Uuid,
    if_match: IfMatch,
    action: Action,
) -> ApiResult<HttpResponse> {
    let scope = caller.scope;
    super::changed_about(
        state,
        &caller,
        id,
        move |conn| home_visits::act(conn, &scope, id, action, if_match.0),
        |r| Some(r.child_id),
    )
    .await
}

/// Ask to take the paired child home on a statutory holiday (the pairing's mentor, or coordinators).
///
/// The formalities come first: the departure must still be ahead (409 `departure_passed`), and
/// a request not approved by the departure time becomes `expired`. The dates must fall inside
/// one statutory holiday period (409 `not_a_holiday`) and inside the pairing's active interval
/// (409 `outside_pairing`). A pairing the caller does not reach (for a mentor, another
/// mentor's) answers as one that does not exist.
#[utoipa::path(
    tag = "pairings", operation_id = "create_home_visit_request",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = HomeVisitInput, example = json!({
        "pairing_id": "0190f0a0-0000-7000-8000-000000000006", "leaves_at": "2024-10-02T09:00:00+08:00",
        "returns_at": "2024-10-02T18:00:00+08:00", "address": "咸安区温泉街道某小区3栋", "transport": "导师自驾",
        "supervisor": "李建华", "emergency_contact_name": "福利中心值班室", "emergency_contact_phone": "0715-8000000"
    })),
    responses((status = 201, description = "Created in `requested`", body = HomeVisitRequest))
)]
#[post("/home-visit-requests")]
pub async fn create_home_visit_request(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<HomeVisitInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope) = (body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        let r = home_visits::create(conn, &scope, input)?;
        Ok((r.record, Some(r.version)))
    })
    .await
}

/// Record a home visit that took place without prior approval (coordinators).
///
/// The record is `recorded_late` from the start, with the reason; it is flagged in the list and
/// counted apart from approved visits in the compliance report. The departure must be in the
/// past (a visit still ahead is requested and approved first), inside one statutory holiday
/// period and inside the pairing's active interval; the caller must hold the child's case file.
#[utoipa::path(
    tag = "pairings", operation_id = "record_late_home_visit",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = LateHomeVisitInput, example = json!({
        "pairing_id": "0190f0a0-0000-7000-8000-000000000006", "leaves_at": "2024-10-02T09:00:00+08:00",
        "returns_at": "2024-10-02T18:00:00+08:00", "address": "咸安区温泉街道某小区3栋", "transport": "导师自驾",
        "supervisor": "李建华", "emergency_contact_name": "福利中心值班室", "emergency_contact_phone": "0715-8000000",
        "reason": "监护人当天口头同意后导师接走，未走审批；已约谈导师"
    })),
    responses((status = 201, description = "Recorded as `recorded_late`", body = HomeVisitRequest))
)]
#[post("/home-visit-requests/recorded-late")]
pub async fn record_late_home_visit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<LateHomeVisitInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope) = (body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        let r = home_visits::record_late(conn, &scope, input)?;
        Ok((r.record, Some(r.version)))
    })
    .await
}

/// List home-visit requests, newest first (at most 200); a mentor sees only their own.
#[utoipa::path(
    tag = "pairings", operation_id = "list_home_visit_requests",
    params(HomeVisitQuery),
    responses((status = 200, description = "The requests", body = HomeVisitRequestList))
)]
#[get("/home-visit-requests")]
pub async fn list_home_visit_requests(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<HomeVisitQuery>,
) -> ApiResult<HttpResponse> {
    let (filter, scope) = (HomeVisitFilter { pairing_id: q.pairing_id, status: q.status }, caller.scope);
    let items = state.run(move |conn| home_visits::list(conn, &scope, &filter)).await?;
    let note = crate::audit::read_children(items.iter().map(|r| r.child_id));
    Ok(super::noted(HttpResponse::Ok().json(HomeVisitRequestList { items }), note))
}

/// The filters of the home-visit requests' workbook: those of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HomeVisitExportQuery {
    pub pairing_id: Option<Uuid>,
    pub status: Option<HomeVisitStatus>,
}

/// Every home-visit request the caller may read that the filters select, newest first, as an
/// Excel workbook: the list's records (all of them, where the list stops at the newest 200;
/// a mentor's own only) with the name of the child each concerns, times in Asia/Shanghai,
/// statuses and relations in the language `Accept-Language` asks for, phone numbers and ids as
/// text. Each child concerned is an audited read (`export`). Read from the replica while it is
/// fresh (`X-Data-Source`).
#[utoipa::path(
    tag = "pairings", operation_id = "export_home_visit_requests",
    params(HomeVisitExportQuery),
    responses(
        (status = 200, description = "The workbook, as a download", body = crate::routes::reports::Workbook, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
)]
#[get("/home-visit-requests.xlsx")]
pub async fn export_home_visit_requests(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<HomeVisitExportQuery>,
) -> ApiResult<HttpResponse> {
    let (filter, scope) = (HomeVisitFilter { pairing_id: q.pairing_id, status: q.status }, caller.scope);
    super::reports::list_workbook(
        &state,
        &caller,
        &req,
        "home-visit-requests",
        "export_home_visit_requests",
        None,
        move |conn, words, about| {
            tongxing_reporting::exports::home_visit_requests(conn, &scope, &filter, words, about)
        },
    )
    .await
}

/// Read a home-visit request with every step taken.
#[utoipa::path(
    tag = "pairings", operation_id = "get_home_visit_request",
    params(("id" = Uuid, Path, description = "Request id")),
    responses((status = 200, description = "The request; `ETag` carries the version", body = HomeVisitRequest))
)]
#[get("/home-visit-requests/{id}")]
pub async fn get_home_visit_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    let r = state.run(move |conn| home_visits::get(conn, &scope, id)).await?;
    let note = crate::audit::read_children([r.record.child_id]);
    Ok(super::noted(with_etag(r), note))
}

/// Record the guardian's or welfare centre's consent (case staff).
#[utoipa::path(
    tag = "pairings", operation_id = "consent_home_visit_request",
    params(("id" = Uuid, Path, description = "Request id"), ("If-Match" = Option<String>, Header, description = "When given, applies only to this version")),
    request_body(content = HomeVisitConsent, example = json!({"given_by": "福利中心主任", "relation": "institution", "given_at": "2024-09-20T10:00:00+08:00"})),
    responses((status = 200, description = "Now `consented`", body = HomeVisitRequest))
)]
#[post("/home-visit-requests/{id}/consent")]
pub async fn consent_home_visit_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<HomeVisitConsent>,
) -> ApiResult<HttpResponse> {
    step(&state, caller, id.into_inner(), if_match, Action::Consent(body.value)).await
}

/// Confirm safety checklist items, each by a named person (the mentor, or case staff).
#[utoipa::path(
    tag = "pairings", operation_id = "confirm_home_visit_checklist",
    params(("id" = Uuid, Path, description = "Request id"), ("If-Match" = Option<String>, Header, description = "When given, applies only to this version")),
    request_body(content = ChecklistInput, example = json!({"items": [{"item": "supervising_adult_present", "confirmed_by": "李建华"}]})),
    responses((status = 200, description = "The request with its checklist", body = HomeVisitRequest))
)]
#[post("/home-visit-requests/{id}/checklist")]
pub async fn confirm_home_visit_checklist(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<ChecklistInput>,
) -> ApiResult<HttpResponse> {
    step(&state, caller, id.into_inner(), if_match, Action::Checklist(body.value)).await
}

/// Approve the visit (coordinators): needs the consent and the completed checklist.
#[utoipa::path(
    tag = "pairings", operation_id = "approve_home_visit_request",
    params(("id" = Uuid, Path, description = "Request id"), ("If-Match" = Option<String>, Header, description = "When given, applies only to this version")),
    responses((status = 200, description = "Now `approved`", body = HomeVisitRequest))
)]
#[post("/home-visit-requests/{id}/approve")]
pub async fn approve_home_visit_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    step(&state, caller, id.into_inner(), if_match, Action::Approve).await
}

/// Reject a pending request, with a reason (coordinators).
#[utoipa::path(
    tag = "pairings", operation_id = "reject_home_visit_request",
    params(("id" = Uuid, Path, description = "Request id"), ("If-Match" = Option<String>, Header, description = "When given, applies only to this version")),
    request_body(content = StepReason, example = json!({"reason": "安全条件不足"})),
    responses((status = 200, description = "Now `rejected`", body = HomeVisitRequest))
)]
#[post("/home-visit-requests/{id}/reject")]
pub async fn reject_home_visit_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<StepReason>,
) -> ApiResult<HttpResponse> {
    step(&state, caller, id.into_inner(), if_match, Action::Reject(body.value)).await
}

/// Cancel a request before the visit ends (the mentor, or coordinators).
#[utoipa::path(
    tag = "pairings", operation_id = "cancel_home_visit_request",
    params(("id" = Uuid, Path, description = "Request id"), ("If-Match" = Option<String>, Header, description = "When given, applies only to this version")),
    request_body(content = StepReason, example = json!({"reason": "孩子生病"})),
    responses((status = 200, description = "Now `cancelled`", body = HomeVisitRequest))
)]
#[post("/home-visit-requests/{id}/cancel")]
pub async fn cancel_home_visit_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<StepReason>,
) -> ApiResult<HttpResponse> {
    step(&state, caller, id.into_inner(), if_match, Action::Cancel(body.value)).await
}

/// Confirm the child is back (the mentor, or coordinators); the visit is then `completed`.
#[utoipa::path(
    tag = "pairings", operation_id = "confirm_home_visit_return",
    params(("id" = Uuid, Path, description = "Request id"), ("If-Match" = Option<String>, Header, description = "When given, applies only to this version")),
    request_body(content = ReturnConfirmation, example = json!({"returned_at": "2024-10-02T17:40:00+08:00"})),
    responses((status = 200, description = "Now `completed`", body = HomeVisitRequest))
)]
#[post("/home-visit-requests/{id}/return")]
pub async fn confirm_home_visit_return(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<ReturnConfirmation>,
) -> ApiResult<HttpResponse> {
    step(&state, caller, id.into_inner(), if_match, Action::Return(body.value)).await
}
