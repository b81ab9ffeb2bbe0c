//! Households with their guardians (`/households`): create, list, read and update. Stored by
//! `tongxing_cases::households`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Deserialize;
use tongxing_cases::households::{self, Household, HouseholdFilter, HouseholdInput};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{noted, page, page_of, with_etag};
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(HouseholdPage, Household);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HouseholdQuery {
    /// Only households in this region's subtree.
    pub region_id: Option<Uuid>,
    /// Text in the address or a guardian's name.
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Record a household and its guardians.
#[utoipa::path(
    tag = "households", operation_id = "create_household",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = HouseholdInput, example = json!({
        "region_id": "0190f0a0-0000-7000-8000-000000000002", "address": "柏墩村三组12号", "parents_work_away": true,
        "guardians": [{"name": "王秀英", "relation": "grandmother", "phone": "13800000000", "is_primary": true}]
    })),
    responses((status = 201, description = "Created; `ETag` carries the version", body = Household))
)]
#[post("/households")]
pub async fn create_household(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<HouseholdInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope) = (body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        let h = households::create(conn, &scope, input)?;
        Ok((h.record, Some(h.version)))
    })
    .await
}

/// List households.
#[utoipa::path(
    tag = "households", operation_id = "list_households",
    params(HouseholdQuery),
    responses((status = 200, description = "A page of households", body = HouseholdPage))
)]
#[get("/households")]
pub async fn list_households(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<HouseholdQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = HouseholdFilter { region_id: q.region_id, q: q.q };
    let scope = caller.scope;
    let (result, children) = state
        .run(move |conn| {
            let page = households::list(conn, &scope, &filter, page)?;
            let ids: Vec<Uuid> = page.items.iter().map(|h| h.id).collect();
            Ok((page, households::children_of(conn, &scope, &ids)?))
        })
        .await?;
    Ok(noted(HttpResponse::Ok().json(HouseholdPage::from(result)), audit::read_children(children)))
}

/// The filters of the households' workbook: those of the list, without paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HouseholdExportQuery {
    /// Only households in this region's subtree.
    pub region_id: Option<Uuid>,
    /// Text in the address or a guardian's name.
    pub q: Option<String>,
}

/// Every household the caller may read that the filters select, as an Excel workbook: the
/// list's records with their village's name, the guardian to reach first (the primary one,
/// else the first listed) in columns of their own and the others in one, headings and labels
/// in the language `Accept-Language` asks for, phone numbers and ids as text, the day each was
/// recorded as a date. Each child of the households (of those the caller reaches) is an
/// audited read (`export`), as for the list. Read from the replica while it is fresh
/// (`X-Data-Source`).
#[utoipa::path(
    tag = "households", operation_id = "export_households",
    params(HouseholdExportQuery),
    responses(
        (status = 200, description = "The workbook, as a download", body = crate::routes::reports::Workbook, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
)]
#[get("/households.xlsx")]
pub async fn export_households(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<HouseholdExportQuery>,
) -> ApiResult<HttpResponse> {
    let region = q.region_id;
    let filter = HouseholdFilter { region_id: q.region_id, q: q.q };
    let scope = caller.scope;
    super::reports::list_workbook(
        &state,
        &caller,
        &req,
        "households",
        "export_households",
        region,
        move |conn, words, about| {
            tongxing_reporting::exports::households(conn, &scope, &filter, words, about)
        },
    )
    .await
}

/// Read a household with its guardians.
#[utoipa::path(
    tag = "households", operation_id = "get_household",
    params(("id" = Uuid, Path, description = "Household id")),
    responses((status = 200, description = "The household; `ETag` carries the version", body = Household))
)]
#[get("/households/{id}")]
pub async fn get_household(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    let (household, children) = state
        .run(move |conn| {
            let household = households::get(conn, &scope, id)?;
            Ok((household, households::children_of(conn, &scope, &[id])?))
        })
        .await?;
    Ok(noted(with_etag(household), audit::read_children(children)))
}

/// Replace a household's fields and guardians (requires `If-Match`).
#[utoipa::path(
    tag = "households", operation_id = "update_household",
    params(
        ("id" = Uuid, Path, description = "Household id"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced"),
    ),
    request_body(content = HouseholdInput, example = json!({
        "region_id": "0190f0a0-0000-7000-8000-000000000002", "address": "柏墩村三组12号", "parents_work_away": false, "guardians": []
    })),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = Household))
)]
#[put("/households/{id}")]
pub async fn update_household(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<HouseholdInput>,
) -> ApiResult<HttpResponse> {
    let (id, version, input, scope) = (id.into_inner(), if_match.required()?, body.value, caller.scope);
    let after = state
        .write(&caller, StatusCode::OK, move |conn| {
            let (before, after) = households::update(conn, &scope, id, input, version)?;
            let mut note = audit::updated(id, None, &before.record, &after.record);
            // A household's record is about each of its children.
            note.child_ids = households::children_of(conn, &scope, &[id])?;
            Ok((after, note))
        })
        .await?;
    Ok(with_etag(after))
}
