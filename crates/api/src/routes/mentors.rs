use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Deserialize;
use tongxing_pairing::mentors::{self, Mentor, MentorFilter, MentorInput};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page, page_of, update_audited, with_etag};
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(MentorPage, Mentor);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MentorQuery {
    /// Text in the name or organisation.
    pub q: Option<String>,
    pub active: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Register a mentor (coordinators).
#[utoipa::path(
    post, path = "/api/v1/mentors", tag = "pairings", operation_id = "create_mentor",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = MentorInput, example = json!({"name": "李建华", "organisation": "咸宁市民政局", "phone": "13900000000"})),
    responses((status = 201, description = "Created; `ETag` carries the version", body = Mentor))
)]
#[post("/mentors")]
pub async fn create_mentor(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<MentorInput>,
) -> ApiResult<HttpResponse> {
    let create =
        Create { caller: caller.user_id, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    idempotency::create(&state, create, move |conn| {
        let m = mentors::create(conn, input)?;
        Ok((m.record, Some(m.version)))
    })
    .await
}

/// List mentors.
#[utoipa::path(
    get, path = "/api/v1/mentors", tag = "pairings", operation_id = "list_mentors",
    params(MentorQuery),
    responses((status = 200, description = "A page of mentors", body = MentorPage))
)]
#[get("/mentors")]
pub async fn list_mentors(
    state: web::Data<AppState>,
    _caller: Caller,
    Query(q): Query<MentorQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = MentorFilter { q: q.q, active: q.active };
    let result = state.run(move |conn| mentors::list(conn, &filter, page)).await?;
    Ok(HttpResponse::Ok().json(MentorPage::from(result)))
}

/// Read a mentor.
#[utoipa::path(
    get, path = "/api/v1/mentors/{id}", tag = "pairings", operation_id = "get_mentor",
    params(("id" = Uuid, Path, description = "Mentor id")),
    responses((status = 200, description = "The mentor; `ETag` carries the version", body = Mentor))
)]
#[get("/mentors/{id}")]
pub async fn get_mentor(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(with_etag(state.run(move |conn| mentors::get(conn, id)).await?))
}

/// Replace a mentor's details (requires `If-Match`).
#[utoipa::path(
    put, path = "/api/v1/mentors/{id}", tag = "pairings", operation_id = "update_mentor",
    params(
        ("id" = Uuid, Path, description = "Mentor id"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced"),
    ),
    request_body(content = MentorInput, example = json!({"name": "李建华", "organisation": "咸宁市民政局", "active": false})),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = Mentor))
)]
#[put("/mentors/{id}")]
pub async fn update_mentor(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<MentorInput>,
) -> ApiResult<HttpResponse> {
    let (id, version, input) = (id.into_inner(), if_match.required()?, body.value);
    update_audited(
        &state,
        id,
        move |conn| mentors::get(conn, id),
        move |conn| mentors::update(conn, id, input, version),
    )
    .await
}
