//! Children and their case files (`/children`): register, list, read and update a child, move
//! the case file through its lifecycle (`/children/{id}/status`), and record and list the child's
//! four-dimension assessments. The rules live in `tongxing_cases` (`children`, `lifecycle`,
//! `assessments`).

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Deserialize;
use tongxing_cases::assessments::{self, Assessment, AssessmentInput};
use tongxing_cases::children::{self, Category, Child, ChildFilter, ChildInput, StatusChange};
use tongxing_cases::lifecycle::CaseStatus;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{noted, page, page_of, with_etag};
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(ChildPage, Child);
page_of!(AssessmentPage, Assessment);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChildQuery {
    /// Only children in this region's subtree.
    pub region_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub category: Option<Category>,
    pub status: Option<CaseStatus>,
    /// Text in the name or the case-file number.
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssessmentQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Record a child; the case file starts in `screening`.
#[utoipa::path(
    tag = "children", operation_id = "create_child",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = ChildInput, example = json!({
        "region_id": "0190f0a0-0000-7000-8000-000000000002", "household_id": "0190f0a0-0000-7000-8000-000000000003",
        "name": "王小明", "sex": "male", "birth_date": "2015-06-01", "categories": ["left_behind"], "school": "桂花镇中心小学"
    })),
    responses((status = 201, description = "Created; `ETag` carries the version", body = Child))
)]
#[post("/children")]
pub async fn create_child(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ChildInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope) = (body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        let c = children::create(conn, &scope, input)?;
        Ok((c.record, Some(c.version)))
    })
    .await
}

/// List children, by region subtree, household, category, status or text.
#[utoipa::path(
    tag = "children", operation_id = "list_children",
    params(ChildQuery),
    responses((status = 200, description = "A page of children", body = ChildPage))
)]
#[get("/children")]
pub async fn list_children(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ChildQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = ChildFilter {
        region_id: q.region_id,
        household_id: q.household_id,
        category: q.category,
        status: q.status,
        q: q.q,
    };
    let scope = caller.scope;
    let result = state.run(move |conn| children::list(conn, &scope, &filter, page)).await?;
    let note = audit::read_children(result.items.iter().map(|c| c.id));
    Ok(noted(HttpResponse::Ok().json(ChildPage::from(result)), note))
}

/// The filters of the children's workbook: those of the list, without paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChildExportQuery {
    /// Only children in this region's subtree.
    pub region_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub category: Option<Category>,
    pub status: Option<CaseStatus>,
    /// Text in the name or the case-file number.
    pub q: Option<String>,
}

/// Every child the caller may read that the filters select, as an Excel workbook: the list's
/// records, scoped and masked as the list answers them (national IDs masked, notes withheld for
/// whom the list does so), with headings and labels in the language `Accept-Language` asks for,
/// national IDs, case numbers and ids as text, dates as dates, and a block saying what it
/// covers. Each child in it is an audited read (`export`). Read from the replica while it is
/// fresh, as reports are (`X-Data-Source`).
#[utoipa::path(
    tag = "children", operation_id = "export_children",
    params(ChildExportQuery),
    responses(
        (status = 200, description = "The workbook, as a download", body = crate::routes::reports::Workbook, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
)]
#[get("/children.xlsx")]
pub async fn export_children(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<ChildExportQuery>,
) -> ApiResult<HttpResponse> {
    let region = q.region_id;
    let filter = ChildFilter {
        region_id: q.region_id,
        household_id: q.household_id,
        category: q.category,
        status: q.status,
        q: q.q,
    };
    let scope = caller.scope;
    super::reports::list_workbook(
        &state,
        &caller,
        &req,
        "children",
        "export_children",
        region,
        move |conn, words, about| tongxing_reporting::exports::children(conn, &scope, &filter, words, about),
    )
    .await
}

/// Read a child's record.
#[utoipa::path(
    tag = "children", operation_id = "get_child",
    params(("id" = Uuid, Path, description = "Child id")),
    responses((status = 200, description = "The child; `ETag` carries the version", body = Child))
)]
#[get("/children/{id}")]
pub async fn get_child(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    Ok(with_etag(state.run(move |conn| children::get(conn, &scope, id)).await?))
}

/// Replace a child's descriptive fields (requires `If-Match`); the status moves only by
/// `change_child_status`.
#[utoipa::path(
    tag = "children", operation_id = "update_child",
    params(
        ("id" = Uuid, Path, description = "Child id"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced"),
    ),
    request_body(content = ChildInput, example = json!({
        "region_id": "0190f0a0-0000-7000-8000-000000000002", "name": "王小明", "sex": "male",
        "birth_date": "2015-06-01", "categories": ["left_behind", "in_difficulty"]
    })),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = Child))
)]
#[put("/children/{id}")]
pub async fn update_child(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<ChildInput>,
) -> ApiResult<HttpResponse> {
    let (id, version, input, scope) = (id.into_inner(), if_match.required()?, body.value, caller.scope);
    super::changed_about(
        &state,
        &caller,
        id,
        move |conn| children::update(conn, &scope, id, input, version),
        |r| Some(r.id),
    )
    .await
}

/// Move a child's case file through its lifecycle.
///
/// `screening → registered → active → closed`; `registered` opens the file (date and case-file
/// number), `closed` needs a reason and may follow any open state. Anything else is 409.
#[utoipa::path(
    tag = "children", operation_id = "change_child_status",
    params(
        ("id" = Uuid, Path, description = "Child id"),
        ("If-Match" = Option<String>, Header, description = "When given, the change applies only to this version"),
    ),
    request_body(content = StatusChange, example = json!({"status": "registered", "effective_on": "2023-06-15"})),
    responses((status = 200, description = "The child after the change; `ETag` carries the new version", body = Child))
)]
#[post("/children/{id}/status")]
pub async fn change_child_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<StatusChange>,
) -> ApiResult<HttpResponse> {
    let (id, change, scope) = (id.into_inner(), body.value, caller.scope);
    super::changed_about(
        &state,
        &caller,
        id,
        move |conn| children::change_status(conn, &scope, id, change, if_match.0),
        |r| Some(r.id),
    )
    .await
}

/// Record an assessment over the four dimensions; the risk level is derived.
#[utoipa::path(
    tag = "children", operation_id = "create_assessment",
    params(
        ("id" = Uuid, Path, description = "Child id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response"),
    ),
    request_body(content = AssessmentInput, example = json!({
        "assessed_on": "2023-12-10",
        "living_conditions": {"score": 3, "notes": "与祖母同住"}, "psychological_state": {"score": 2},
        "study": {"score": 4}, "social_development": {"score": 3}
    })),
    responses((status = 201, description = "Created", body = Assessment))
)]
#[post("/children/{id}/assessments")]
pub async fn create_assessment(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: JsonBody<AssessmentInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (child, input, scope) = (id.into_inner(), body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        Ok((assessments::create(conn, &scope, child, input)?, None))
    })
    .await
}

/// List a child's assessments, oldest first.
#[utoipa::path(
    tag = "children", operation_id = "list_assessments",
    params(("id" = Uuid, Path, description = "Child id"), AssessmentQuery),
    responses((status = 200, description = "A page of assessments", body = AssessmentPage))
)]
#[get("/children/{id}/assessments")]
pub async fn list_assessments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    Query(q): Query<AssessmentQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let (child, scope) = (id.into_inner(), caller.scope);
    let result = state.run(move |conn| assessments::list_for_child(conn, &scope, child, page)).await?;
    Ok(HttpResponse::Ok().json(AssessmentPage::from(result)))
}
