//! Mentors of the one-to-one pairing programme (`/mentors`): create, list, read and update.
//! Stored by `tongxing_pairing::mentors`.

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

/// Register a mentor (coordinators). A coordinator of a region names a region in their
/// subtree; the account link names a user with the role `mentor` that no other mentor has.
#[utoipa::path(
    tag = "pairings", operation_id = "create_mentor",
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
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (scope, input) = (caller.scope, body.value);
    idempotency::create(&state, create, move |conn| {
        let m = mentors::create(conn, &scope, input)?;
        Ok((m.record, Some(m.version)))
    })
    .await
}

/// List the mentors the caller reaches: all for admins, coordinators without a region and
/// caseworkers (without coordinators' notes); for a coordinator of a region, the mentors of their
/// region and those paired with a child in it.
#[utoipa::path(
    tag = "pairings", operation_id = "list_mentors",
    params(MentorQuery),
    responses((status = 200, description = "A page of mentors", body = MentorPage))
)]
#[get("/mentors")]
pub async fn list_mentors(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<MentorQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let (scope, filter) = (caller.scope, MentorFilter { q: q.q, active: q.active });
    let result = state.run(move |conn| mentors::list(conn, &scope, &filter, page)).await?;
    Ok(HttpResponse::Ok().json(MentorPage::from(result)))
}

/// Read a mentor the caller reaches (see the list).
#[utoipa::path(
    tag = "pairings", operation_id = "get_mentor",
    params(("id" = Uuid, Path, description = "Mentor id")),
    responses((status = 200, description = "The mentor; `ETag` carries the version", body = Mentor))
)]
#[get("/mentors/{id}")]
pub async fn get_mentor(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (scope, id) = (caller.scope, id.into_inner());
    Ok(with_etag(state.run(move |conn| mentors::get(conn, &scope, id)).await?))
}

/// Replace a mentor's details (requires `If-Match`). A coordinator of a region changes only the
/// mentors of their region, and keeps them in it.
#[utoipa::path(
    tag = "pairings", operation_id = "update_mentor",
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
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<MentorInput>,
) -> ApiResult<HttpResponse> {
    let (scope, id, version, input) = (caller.scope, id.into_inner(), if_match.required()?, body.value);
    update_audited(
        &state,
        &caller,
        id,
        move |conn| mentors::get(conn, &scope, id),
        move |conn| mentors::update(conn, &scope, id, input, version),
    )
    .await
}
