//! Mentor–child pairings (`/pairings`): propose, list, read, activate and end a pairing, record
//! and list the pair's contacts, and check it against its cadence rules
//! (`/pairings/{id}/compliance`). Stored by `tongxing_pairing` (`pairings`, `contacts`,
//! `compliance`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use tongxing_pairing::compliance::{self, ComplianceTimeline};
use tongxing_pairing::contacts::{self, PairContact, PairContactInput};
use tongxing_pairing::pairings::{
    self, Pairing, PairingFilter, PairingInput, PairingStatus, PairingStatusChange,
};
use tongxing_store::transaction;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{noted, page, page_of, with_etag};
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(PairingPage, Pairing);
page_of!(PairContactPage, PairContact);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PairingQuery {
    pub mentor_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub status: Option<PairingStatus>,
    /// Only pairings of children in this region's subtree.
    pub region_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ComplianceQuery {
    /// First day (Asia/Shanghai); the pairing's first day when absent.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub from: Option<NaiveDate>,
    /// Last day (Asia/Shanghai); today when absent.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub to: Option<NaiveDate>,
    /// Only this rule.
    pub rule_id: Option<Uuid>,
}

/// Propose a pairing of one mentor with one child (coordinators).
#[utoipa::path(
    tag = "pairings", operation_id = "create_pairing",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = PairingInput, example = json!({"mentor_id": "0190f0a0-0000-7000-8000-000000000005", "child_id": "0190f0a0-0000-7000-8000-000000000004"})),
    responses((status = 201, description = "Created in `proposed`; `ETag` carries the version", body = Pairing))
)]
#[post("/pairings")]
pub async fn create_pairing(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<PairingInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope) = (body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        let p = pairings::create(conn, &scope, input)?;
        Ok((p.record, Some(p.version)))
    })
    .await
}

/// List pairings; a mentor sees only their own.
#[utoipa::path(
    tag = "pairings", operation_id = "list_pairings",
    params(PairingQuery),
    responses((status = 200, description = "A page of pairings", body = PairingPage))
)]
#[get("/pairings")]
pub async fn list_pairings(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<PairingQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = PairingFilter {
        mentor_id: q.mentor_id,
        child_id: q.child_id,
        status: q.status,
        region_id: q.region_id,
    };
    let scope = caller.scope;
    let result = state.run(move |conn| pairings::list(conn, &scope, &filter, page)).await?;
    let note = audit::read_children(result.items.iter().map(|p| p.child_id));
    Ok(noted(HttpResponse::Ok().json(PairingPage::from(result)), note))
}

/// Read a pairing.
#[utoipa::path(
    tag = "pairings", operation_id = "get_pairing",
    params(("id" = Uuid, Path, description = "Pairing id")),
    responses((status = 200, description = "The pairing; `ETag` carries the version", body = Pairing))
)]
#[get("/pairings/{id}")]
pub async fn get_pairing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let scope = caller.scope;
    let p = state.run(move |conn| pairings::get(conn, &scope, id)).await?;
    let note = audit::read_children([p.record.child_id]);
    Ok(noted(with_etag(p), note))
}

/// Start or end a pairing (coordinators).
///
/// `proposed → active` (from `effective_on`) and `active → ended` (with a reason; a proposal can
/// be withdrawn the same way). A mentor or child with another active pairing is refused with 409
/// and the other pairing's id in `conflicting_id`.
#[utoipa::path(
    tag = "pairings", operation_id = "change_pairing_status",
    params(
        ("id" = Uuid, Path, description = "Pairing id"),
        ("If-Match" = Option<String>, Header, description = "When given, applies only to this version"),
    ),
    request_body(content = PairingStatusChange, example = json!({"status": "active", "effective_on": "2023-12-29"})),
    responses((status = 200, description = "The pairing after the change", body = Pairing))
)]
#[post("/pairings/{id}/status")]
pub async fn change_pairing_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<PairingStatusChange>,
) -> ApiResult<HttpResponse> {
    let (id, change, scope) = (id.into_inner(), body.value, caller.scope);
    let on = change.effective_on;
    let who = caller.clone();
    let after = state
        .run(move |conn| {
            transaction(conn, |c| {
                let (before, after) = pairings::change_status(c, &scope, id, change, if_match.0)?;
                let note = audit::updated(id, Some(after.record.child_id), &before.record, &after.record);
                who.audit_in(c, note, StatusCode::OK)?;
                Ok(after)
            })
            .map_err(|e| pairings::explain_conflict(conn, &scope, id, on, e))
        })
        .await?;
    caller.audited();
    Ok(with_etag(after))
}

/// Log a contact between the mentor and the child (coordinators, or the pairing's mentor).
#[utoipa::path(
    tag = "pairings", operation_id = "create_pair_contact",
    params(
        ("id" = Uuid, Path, description = "Pairing id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response"),
    ),
    request_body(content = PairContactInput, example = json!({
        "occurred_at": "2024-01-20T09:00:00+08:00", "kind": "centre_visit", "topics": ["study_guidance", "talk"], "duration_minutes": 90
    })),
    responses((status = 201, description = "Created", body = PairContact))
)]
#[post("/pairings/{id}/contacts")]
pub async fn create_pair_contact(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: JsonBody<PairContactInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (pairing, input, scope) = (id.into_inner(), body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        Ok((contacts::create(conn, &scope, pairing, input)?, None))
    })
    .await
}

/// List a pairing's contacts.
#[utoipa::path(
    tag = "pairings", operation_id = "list_pair_contacts",
    params(("id" = Uuid, Path, description = "Pairing id"), PageQuery),
    responses((status = 200, description = "A page of contacts", body = PairContactPage))
)]
#[get("/pairings/{id}/contacts")]
pub async fn list_pair_contacts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let (pairing, scope) = (id.into_inner(), caller.scope);
    let (child, result) = state.run(move |conn| contacts::list(conn, &scope, pairing, page)).await?;
    Ok(noted(HttpResponse::Ok().json(PairContactPage::from(result)), audit::read_children([child])))
}

/// A pairing's compliance timeline: per rule, the status of every period.
///
/// Periods are calendar months, years or ISO weeks in Asia/Shanghai; each counts the contacts
/// inside both the period and the pairing's active interval. Statuses: `met`, `open`,
/// `at_risk`, `missed`, `exempt`.
#[utoipa::path(
    tag = "pairings", operation_id = "get_pairing_compliance",
    params(("id" = Uuid, Path, description = "Pairing id"), ComplianceQuery),
    responses((status = 200, description = "The timeline", body = ComplianceTimeline))
)]
#[get("/pairings/{id}/compliance")]
pub async fn get_pairing_compliance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    Query(q): Query<ComplianceQuery>,
) -> ApiResult<HttpResponse> {
    let (pairing, scope) = (id.into_inner(), caller.scope);
    let timeline = state
        .run(move |conn| compliance::pairing_timeline(conn, &scope, pairing, q.from, q.to, q.rule_id))
        .await?;
    let note = audit::read_children([timeline.child_id]);
    Ok(noted(HttpResponse::Ok().json(timeline), note))
}
