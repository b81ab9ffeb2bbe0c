//! Volunteers with their safeguarding clearance (`/volunteers`), volunteer teams (`/teams`), and
//! the hours volunteers served (`/volunteer-hours`). Stored by `tongxing_events`.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::NaiveDate;
use serde::Deserialize;
use tongxing_events::roster::{self, HoursGrouping, HoursLine};
use tongxing_events::service_forms::ServiceForm;
use tongxing_events::volunteers::{
    self, Team, TeamInput, Volunteer, VolunteerFilter, VolunteerInput, VolunteerSource,
};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page, page_of, update_audited, with_etag};
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(VolunteerPage, Volunteer);
page_of!(TeamPage, Team);

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VolunteerHours {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: HoursGrouping,
    pub items: Vec<HoursLine>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VolunteerQuery {
    pub organisation_id: Option<Uuid>,
    pub source: Option<VolunteerSource>,
    pub skill: Option<ServiceForm>,
    /// Text in the name.
    pub q: Option<String>,
    /// Only active volunteers whose background check or child-safety training is missing, or
    /// expires within this many days (0 to 3650).
    #[param(minimum = 0, maximum = 3650)]
    pub clearance_expiring_within_days: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TeamQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HoursQuery {
    /// First day (Asia/Shanghai), inclusive.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub from: NaiveDate,
    /// Last day (Asia/Shanghai), inclusive.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub to: NaiveDate,
    /// `volunteer` (default) or `organisation`.
    pub group_by: Option<HoursGrouping>,
}

/// Register a volunteer with their safeguarding records (coordinators).
#[utoipa::path(
    tag = "events", operation_id = "create_volunteer",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = VolunteerInput, example = json!({
        "name": "黄志愿", "source": "university", "skills": ["reading_companionship", "hand_painting"],
        "background_check": {"on": "2023-09-01", "expires_on": "2025-08-31"},
        "safety_training": {"on": "2023-09-15", "expires_on": "2024-09-14"}
    })),
    responses((status = 201, description = "Created; `ETag` carries the version", body = Volunteer))
)]
#[post("/volunteers")]
pub async fn create_volunteer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<VolunteerInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    idempotency::create(&state, create, move |conn| {
        let v = volunteers::create(conn, input)?;
        Ok((v.record, Some(v.version)))
    })
    .await
}

/// List volunteers; `clearance_expiring_within_days` lists those whose clearance needs renewing.
#[utoipa::path(
    tag = "events", operation_id = "list_volunteers",
    params(VolunteerQuery),
    responses((status = 200, description = "A page of volunteers", body = VolunteerPage))
)]
#[get("/volunteers")]
pub async fn list_volunteers(
    state: web::Data<AppState>,
    _caller: Caller,
    Query(q): Query<VolunteerQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = VolunteerFilter {
        organisation_id: q.organisation_id,
        source: q.source,
        skill: q.skill,
        q: q.q,
        clearance_expiring_within_days: q.clearance_expiring_within_days,
    };
    let result = state.run(move |conn| volunteers::list(conn, &filter, page)).await?;
    Ok(HttpResponse::Ok().json(VolunteerPage::from(result)))
}

/// Read a volunteer.
#[utoipa::path(
    tag = "events", operation_id = "get_volunteer",
    params(("id" = Uuid, Path, description = "Volunteer id")),
    responses((status = 200, description = "The volunteer; `ETag` carries the version", body = Volunteer))
)]
#[get("/volunteers/{id}")]
pub async fn get_volunteer(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(with_etag(state.run(move |conn| volunteers::get(conn, id)).await?))
}

/// Replace a volunteer's details and safeguarding records (coordinators; requires `If-Match`).
#[utoipa::path(
    tag = "events", operation_id = "update_volunteer",
    params(("id" = Uuid, Path, description = "Volunteer id"), ("If-Match" = String, Header, description = "The ETag of the version being replaced")),
    request_body(content = VolunteerInput, example = json!({
        "name": "黄志愿", "source": "university", "safety_training": {"on": "2024-09-10", "expires_on": "2025-09-09"}
    })),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = Volunteer))
)]
#[put("/volunteers/{id}")]
pub async fn update_volunteer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<VolunteerInput>,
) -> ApiResult<HttpResponse> {
    let (id, version, input) = (id.into_inner(), if_match.required()?, body.value);
    update_audited(
        &state,
        &caller,
        id,
        move |conn| volunteers::get(conn, id),
        move |conn| volunteers::update(conn, id, input, version),
    )
    .await
}

/// Create a team of volunteers (coordinators).
#[utoipa::path(
    tag = "events", operation_id = "create_team",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = TeamInput, example = json!({"name": "咸宁市志愿服务队", "volunteer_ids": []})),
    responses((status = 201, description = "Created; `ETag` carries the version", body = Team))
)]
#[post("/teams")]
pub async fn create_team(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<TeamInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    idempotency::create(&state, create, move |conn| {
        let t = volunteers::create_team(conn, input)?;
        Ok((t.record, Some(t.version)))
    })
    .await
}

/// List teams.
#[utoipa::path(
    tag = "events", operation_id = "list_teams",
    params(TeamQuery),
    responses((status = 200, description = "A page of teams", body = TeamPage))
)]
#[get("/teams")]
pub async fn list_teams(
    state: web::Data<AppState>,
    _caller: Caller,
    Query(q): Query<TeamQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let result = state.run(move |conn| volunteers::list_teams(conn, page)).await?;
    Ok(HttpResponse::Ok().json(TeamPage::from(result)))
}

/// Read a team.
#[utoipa::path(
    tag = "events", operation_id = "get_team",
    params(("id" = Uuid, Path, description = "Team id")),
    responses((status = 200, description = "The team; `ETag` carries the version", body = Team))
)]
#[get("/teams/{id}")]
pub async fn get_team(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(with_etag(state.run(move |conn| volunteers::get_team(conn, id)).await?))
}

/// Replace a team's details and members (coordinators; requires `If-Match`).
#[utoipa::path(
    tag = "events", operation_id = "update_team",
    params(("id" = Uuid, Path, description = "Team id"), ("If-Match" = String, Header, description = "The ETag of the version being replaced")),
    request_body(content = TeamInput, example = json!({"name": "咸宁市志愿服务队", "volunteer_ids": ["0190f0a0-0000-7000-8000-000000000009"]})),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = Team))
)]
#[put("/teams/{id}")]
pub async fn update_team(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<TeamInput>,
) -> ApiResult<HttpResponse> {
    let (id, version, input) = (id.into_inner(), if_match.required()?, body.value);
    update_audited(
        &state,
        &caller,
        id,
        move |conn| volunteers::get_team(conn, id),
        move |conn| volunteers::update_team(conn, id, input, version),
    )
    .await
}

/// Hours served at events held or reported in a date range, per volunteer or per organisation.
#[utoipa::path(
    tag = "events", operation_id = "get_volunteer_hours",
    params(HoursQuery),
    responses((status = 200, description = "Hours, most first", body = VolunteerHours))
)]
#[get("/volunteer-hours")]
pub async fn get_volunteer_hours(
    state: web::Data<AppState>,
    _caller: Caller,
    Query(q): Query<HoursQuery>,
) -> ApiResult<HttpResponse> {
    let by = q.group_by.unwrap_or(HoursGrouping::Volunteer);
    let (from, to) = (q.from, q.to);
    let items = state.run(move |conn| roster::hours(conn, from, to, by)).await?;
    Ok(HttpResponse::Ok().json(VolunteerHours { from, to, group_by: by, items }))
}
