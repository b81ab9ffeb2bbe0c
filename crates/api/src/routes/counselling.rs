//! Home counselling enrolments (`/counselling-enrolments`): enrol a child with a team, update
//! or end the enrolment, record and list its sessions, and check it against the weekly
//! counselling rule. Stored by `tongxing_pairing::counselling`.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::NaiveDate;
use serde::Deserialize;
use tongxing_pairing::compliance::{self, ComplianceTimeline};
use tongxing_pairing::counselling::{self, Enrolment, EnrolmentInput, Session, SessionInput};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{noted, page, page_of, with_etag};
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(EnrolmentPage, Enrolment);
page_of!(SessionPage, Session);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnrolmentQuery {
    pub child_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnrolmentComplianceQuery {
    /// First day (Asia/Shanghai); the enrolment's first day when absent.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub from: Option<NaiveDate>,
    /// Last day (Asia/Shanghai); today when absent.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub to: Option<NaiveDate>,
    pub rule_id: Option<Uuid>,
}

/// Enrol a child in weekly home counselling with a team.
#[utoipa::path(
    tag = "counselling", operation_id = "create_counselling_enrolment",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = EnrolmentInput, example = json!({
        "child_id": "0190f0a0-0000-7000-8000-000000000004", "weekday": 6, "time_of_day": "15:00", "starts_on": "2023-06-03",
        "team": [{"name": "陈心理", "role": "counsellor"}, {"name": "刘社工", "role": "social_worker"}]
    })),
    responses((status = 201, description = "Created; `ETag` carries the version", body = Enrolment))
)]
#[post("/counselling-enrolments")]
pub async fn create_counselling_enrolment(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<EnrolmentInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope) = (body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        let e = counselling::create(conn, &scope, input)?;
        Ok((e.record, Some(e.version)))
    })
    .await
}

/// List counselling enrolments.
#[utoipa::path(
    tag = "counselling", operation_id = "list_counselling_enrolments",
    params(EnrolmentQuery),
    responses((status = 200, description = "A page of enrolments", body = EnrolmentPage))
)]
#[get("/counselling-enrolments")]
pub async fn list_counselling_enrolments(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<EnrolmentQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let (child, scope) = (q.child_id, caller.scope);
    let result = state.run(move |conn| counselling::list(conn, &scope, child, page)).await?;
    let note = audit::read_children(result.items.iter().map(|e| e.child_id));
    Ok(noted(HttpResponse::Ok().json(EnrolmentPage::from(result)), note))
}

/// Read an enrolment with its team.
#[utoipa::path(
    tag = "counselling", operation_id = "get_counselling_enrolment",
    params(("id" = Uuid, Path, description = "Enrolment id")),
    responses((status = 200, description = "The enrolment; `ETag` carries the version", body = Enrolment))
)]
#[get("/counselling-enrolments/{id}")]
pub async fn get_counselling_enrolment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    let e = state.run(move |conn| counselling::get(conn, &scope, id)).await?;
    let note = audit::read_children([e.record.child_id]);
    Ok(noted(with_etag(e), note))
}

/// Replace an enrolment's schedule, dates and team (requires `If-Match`); set `ends_on` to end it.
///
/// An ended enrolment keeps an end date (409 `illegal_transition` to clear it: enrol the child
/// again), and the dates keep every recorded session inside them (409 `sessions_outside`).
#[utoipa::path(
    tag = "counselling", operation_id = "update_counselling_enrolment",
    params(
        ("id" = Uuid, Path, description = "Enrolment id"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced"),
    ),
    request_body(content = EnrolmentInput, example = json!({
        "child_id": "0190f0a0-0000-7000-8000-000000000004", "weekday": 6, "time_of_day": "15:00", "starts_on": "2023-06-03",
        "ends_on": "2024-01-31", "team": [{"name": "陈心理", "role": "counsellor"}]
    })),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = Enrolment))
)]
#[put("/counselling-enrolments/{id}")]
pub async fn update_counselling_enrolment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<EnrolmentInput>,
) -> ApiResult<HttpResponse> {
    let (id, version, input, scope) = (id.into_inner(), if_match.required()?, body.value, caller.scope);
    super::changed_about(
        &state,
        &caller,
        id,
        move |conn| counselling::update(conn, &scope, id, input, version),
        |r| Some(r.child_id),
    )
    .await
}

/// Record a home counselling session.
#[utoipa::path(
    tag = "counselling", operation_id = "create_counselling_session",
    params(
        ("id" = Uuid, Path, description = "Enrolment id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response"),
    ),
    request_body(content = SessionInput, example = json!({
        "occurred_at": "2023-06-03T15:00:00+08:00", "attended_by": ["陈心理", "刘社工"],
        "services": ["psychological_counselling", "guardianship_guidance"], "notes": "孩子愿意交流"
    })),
    responses((status = 201, description = "Created", body = Session))
)]
#[post("/counselling-enrolments/{id}/sessions")]
pub async fn create_counselling_session(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: JsonBody<SessionInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (enrolment, input, scope) = (id.into_inner(), body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        Ok((counselling::create_session(conn, &scope, enrolment, input)?, None))
    })
    .await
}

/// List an enrolment's sessions. Notes are returned only to the team and coordinators.
#[utoipa::path(
    tag = "counselling", operation_id = "list_counselling_sessions",
    params(("id" = Uuid, Path, description = "Enrolment id"), SessionQuery),
    responses((status = 200, description = "A page of sessions", body = SessionPage))
)]
#[get("/counselling-enrolments/{id}/sessions")]
pub async fn list_counselling_sessions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    Query(q): Query<SessionQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let (enrolment, scope) = (id.into_inner(), caller.scope);
    let (child, result) =
        state.run(move |conn| counselling::list_sessions(conn, &scope, enrolment, page)).await?;
    Ok(noted(HttpResponse::Ok().json(SessionPage::from(result)), audit::read_children([child])))
}

/// An enrolment's weekly counselling timeline: per ISO week, `met`, `open`, `at_risk`,
/// `missed` or `exempt`.
#[utoipa::path(
    tag = "counselling", operation_id = "get_counselling_compliance",
    params(("id" = Uuid, Path, description = "Enrolment id"), EnrolmentComplianceQuery),
    responses((status = 200, description = "The timeline", body = ComplianceTimeline))
)]
#[get("/counselling-enrolments/{id}/compliance")]
pub async fn get_counselling_compliance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    Query(q): Query<EnrolmentComplianceQuery>,
) -> ApiResult<HttpResponse> {
    let (enrolment, scope) = (id.into_inner(), caller.scope);
    let timeline = state
        .run(move |conn| compliance::enrolment_timeline(conn, &scope, enrolment, q.from, q.to, q.rule_id))
        .await?;
    let note = audit::read_children([timeline.child_id]);
    Ok(noted(HttpResponse::Ok().json(timeline), note))
}
