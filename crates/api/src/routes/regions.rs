//! The region tree (`/regions`): create, list and read provinces down to villages. Stored by
//! `tongxing_cases::regions`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use tongxing_cases::regions::{self, Region, RegionFilter, RegionInput, RegionLevel};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page, page_of};
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(RegionPage, Region);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegionQuery {
    /// Only this region and every region below it.
    pub within: Option<Uuid>,
    /// Only the direct children of this region.
    pub parent_id: Option<Uuid>,
    pub level: Option<RegionLevel>,
    /// Text in the name, English name or code.
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Add a region to the tree (admins and coordinators).
#[utoipa::path(
    tag = "regions", operation_id = "create_region",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = RegionInput, example = json!({"parent_id": "0190f0a0-0000-7000-8000-000000000001", "level": "village", "name": "柏墩村", "name_en": "Baidun Village", "code": "421202107226"})),
    responses((status = 201, description = "Created", body = Region))
)]
#[post("/regions")]
pub async fn create_region(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<RegionInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    idempotency::create(&state, create, move |conn| Ok((regions::create(conn, input)?, None))).await
}

/// List regions, by subtree, parent, level or text.
#[utoipa::path(
    tag = "regions", operation_id = "list_regions",
    params(RegionQuery),
    responses((status = 200, description = "A page of regions", body = RegionPage))
)]
#[get("/regions")]
pub async fn list_regions(
    state: web::Data<AppState>,
    _caller: Caller,
    Query(q): Query<RegionQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = RegionFilter { within: q.within, parent_id: q.parent_id, level: q.level, q: q.q };
    let result = state.run(move |conn| regions::list(conn, &filter, page)).await?;
    Ok(HttpResponse::Ok().json(RegionPage::from(result)))
}

/// Read a region.
#[utoipa::path(
    tag = "regions", operation_id = "get_region",
    params(("id" = Uuid, Path, description = "Region id")),
    responses((status = 200, description = "The region", body = Region))
)]
#[get("/regions/{id}")]
pub async fn get_region(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let region = state.run(move |conn| regions::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(region))
}
