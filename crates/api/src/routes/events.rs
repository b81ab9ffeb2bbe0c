//! Volunteer events (`/events`): plan, list, read and update an event, move it through its
//! status (held, reported, cancelled), and keep its volunteer roster and the children's
//! attendance. Stored by `tongxing_events`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::NaiveDate;
use serde::Deserialize;
use tongxing_events::events::{
    self, Event, EventFilter, EventInput, EventStatus, EventStatusChange, EventType, Programme,
};
use tongxing_events::roster::{self, AttendanceBatch, AttendanceEntry, RosterEntry, RosterInput};
use tongxing_events::service_forms::ServiceForm;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{changed, noted, page, page_of, with_etag};
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(EventPage, Event);

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RosterList {
    pub items: Vec<RosterEntry>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AttendanceList {
    pub items: Vec<AttendanceEntry>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Events starting on or after this day (Asia/Shanghai).
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub from: Option<NaiveDate>,
    /// Events starting on or before this day (Asia/Shanghai).
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub to: Option<NaiveDate>,
    pub event_type: Option<EventType>,
    pub programme: Option<Programme>,
    pub status: Option<EventStatus>,
    /// Events in this region's subtree.
    pub region_id: Option<Uuid>,
    /// Events this organisation organised or partnered.
    pub organisation_id: Option<Uuid>,
    pub service_form: Option<ServiceForm>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Plan an event.
#[utoipa::path(
    tag = "events", operation_id = "create_event",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = EventInput, example = json!({
        "title": "关爱护成长 文化润童心", "theme": "家风家训经典诵读", "event_type": "care", "programme": "five_plus_n",
        "starts_at": "2023-11-11T09:00:00+08:00", "ends_at": "2023-11-11T11:30:00+08:00",
        "region_id": "0190f0a0-0000-7000-8000-000000000002", "address": "柏墩村村委会",
        "organiser_id": "0190f0a0-0000-7000-8000-000000000010", "service_forms": ["traditional_culture_education", "reading_companionship"]
    })),
    responses((status = 201, description = "Created in `planned`; `ETag` carries the version", body = Event))
)]
#[post("/events")]
pub async fn create_event(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<EventInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope) = (body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        let e = events::create(conn, &scope, input)?;
        Ok((e.record, Some(e.version)))
    })
    .await
}

/// List events, by dates, type, programme, status, region subtree, organisation and service form.
#[utoipa::path(
    tag = "events", operation_id = "list_events",
    params(EventQuery),
    responses((status = 200, description = "A page of events", body = EventPage))
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<EventQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = EventFilter {
        from: q.from,
        to: q.to,
        event_type: q.event_type,
        programme: q.programme,
        status: q.status,
        region_id: q.region_id,
        organisation_id: q.organisation_id,
        service_form: q.service_form,
    };
    let scope = caller.scope;
    let result = state.run(move |conn| events::list(conn, &scope, &filter, page)).await?;
    Ok(HttpResponse::Ok().json(EventPage::from(result)))
}

/// Read an event with its figures and the villages it reached.
#[utoipa::path(
    tag = "events", operation_id = "get_event",
    params(("id" = Uuid, Path, description = "Event id")),
    responses((status = 200, description = "The event; `ETag` carries the version", body = Event))
)]
#[get("/events/{id}")]
pub async fn get_event(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    Ok(with_etag(state.run(move |conn| events::get(conn, &scope, id)).await?))
}

/// Replace an event's details while it is planned or held (requires `If-Match`).
#[utoipa::path(
    tag = "events", operation_id = "update_event",
    params(("id" = Uuid, Path, description = "Event id"), ("If-Match" = String, Header, description = "The ETag of the version being replaced")),
    request_body(content = EventInput, example = json!({
        "title": "关爱护成长 文化润童心", "event_type": "care", "programme": "five_plus_n",
        "starts_at": "2023-11-11T09:00:00+08:00", "ends_at": "2023-11-11T12:00:00+08:00",
        "region_id": "0190f0a0-0000-7000-8000-000000000002", "organiser_id": "0190f0a0-0000-7000-8000-000000000010"
    })),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = Event))
)]
#[put("/events/{id}")]
pub async fn update_event(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<EventInput>,
) -> ApiResult<HttpResponse> {
    let (id, version, input, scope) = (id.into_inner(), if_match.required()?, body.value, caller.scope);
    changed(&state, &caller, id, move |conn| events::update(conn, &scope, id, input, version)).await
}

/// Mark an event held (needs a rostered volunteer), reported, or cancelled (with a reason).
#[utoipa::path(
    tag = "events", operation_id = "change_event_status",
    params(("id" = Uuid, Path, description = "Event id"), ("If-Match" = Option<String>, Header, description = "When given, applies only to this version")),
    request_body(content = EventStatusChange, example = json!({"status": "held"})),
    responses((status = 200, description = "The event after the change", body = Event))
)]
#[post("/events/{id}/status")]
pub async fn change_event_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<EventStatusChange>,
) -> ApiResult<HttpResponse> {
    let (id, change, scope) = (id.into_inner(), body.value, caller.scope);
    changed(&state, &caller, id, move |conn| events::change_status(conn, &scope, id, change, if_match.0))
        .await
}

/// Roster a volunteer. At an event with children a volunteer whose background check or
/// child-safety training is missing or expired on the day is refused (409 naming what).
#[utoipa::path(
    tag = "events", operation_id = "add_event_volunteer",
    params(("id" = Uuid, Path, description = "Event id")),
    request_body(content = RosterInput, example = json!({"volunteer_id": "0190f0a0-0000-7000-8000-000000000009", "role": "volunteer", "hours": 2.5})),
    responses((status = 201, description = "The roster", body = RosterList))
)]
#[post("/events/{id}/roster")]
pub async fn add_event_volunteer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<RosterInput>,
) -> ApiResult<HttpResponse> {
    let (event, input, scope) = (id.into_inner(), body.value, caller.scope);
    let items = state
        .write(&caller, StatusCode::CREATED, move |conn| {
            let items = roster::add(conn, &scope, event, input)?;
            Ok((RosterList { items }, crate::audit::AuditNote::default()))
        })
        .await?;
    Ok(HttpResponse::Created().json(items))
}

/// Set a rostered volunteer's role and hours.
#[utoipa::path(
    tag = "events", operation_id = "update_event_volunteer",
    params(("id" = Uuid, Path, description = "Event id")),
    request_body(content = RosterInput, example = json!({"volunteer_id": "0190f0a0-0000-7000-8000-000000000009", "role": "teacher", "hours": 3.0})),
    responses((status = 200, description = "The roster", body = RosterList))
)]
#[put("/events/{id}/roster")]
pub async fn update_event_volunteer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<RosterInput>,
) -> ApiResult<HttpResponse> {
    let (event, input, scope) = (id.into_inner(), body.value, caller.scope);
    let items = state
        .write(&caller, StatusCode::OK, move |conn| {
            let items = roster::set(conn, &scope, event, input)?;
            Ok((RosterList { items }, crate::audit::AuditNote::default()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// The event's roster.
#[utoipa::path(
    tag = "events", operation_id = "list_event_volunteers",
    params(("id" = Uuid, Path, description = "Event id")),
    responses((status = 200, description = "The roster", body = RosterList))
)]
#[get("/events/{id}/roster")]
pub async fn list_event_volunteers(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (event, scope) = (id.into_inner(), caller.scope);
    let items = state.run(move |conn| roster::roster(conn, &scope, event)).await?;
    Ok(HttpResponse::Ok().json(RosterList { items }))
}

/// Record the children who attended, in one all-or-nothing batch; a bad item refuses the
/// batch with an error naming it (`items[i].child_id`). An app on a weak network sends an
/// `Idempotency-Key`, so that a batch retried after a lost answer is not refused as already
/// recorded.
#[utoipa::path(
    tag = "events", operation_id = "record_event_attendance",
    params(
        ("id" = Uuid, Path, description = "Event id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response"),
    ),
    request_body(content = AttendanceBatch, example = json!({"items": [{"child_id": "0190f0a0-0000-7000-8000-000000000004", "guardian_present": true}]})),
    responses((status = 201, description = "Everyone who attended", body = AttendanceList))
)]
#[post("/events/{id}/attendance")]
pub async fn record_event_attendance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<AttendanceBatch>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (event, batch, scope) = (id.into_inner(), body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        Ok((AttendanceList { items: roster::record(conn, &scope, event, batch)? }, None))
    })
    .await
}

/// The children who attended.
#[utoipa::path(
    tag = "events", operation_id = "list_event_attendance",
    params(("id" = Uuid, Path, description = "Event id")),
    responses((status = 200, description = "Everyone who attended", body = AttendanceList))
)]
#[get("/events/{id}/attendance")]
pub async fn list_event_attendance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (event, scope) = (id.into_inner(), caller.scope);
    let items = state.run(move |conn| roster::attendance(conn, &scope, event)).await?;
    let note = audit::read_children(items.iter().map(|a| a.child_id));
    Ok(noted(HttpResponse::Ok().json(AttendanceList { items }), note))
}
