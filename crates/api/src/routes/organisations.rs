//! Organisations (`/organisations`) and the service contracts between them
//! (`/service-contracts`, `/organisations/{id}/contracts`). Stored by `tongxing_events`.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Deserialize;
use tongxing_events::organisations::{
    self, Organisation, OrganisationFilter, OrganisationInput, OrganisationKind, ServiceContract,
    ServiceContractInput,
};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page, page_of, update_audited, with_etag};
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(OrganisationPage, Organisation);

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ServiceContractList {
    pub items: Vec<ServiceContract>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    pub kind: Option<OrganisationKind>,
    /// Text in the name.
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Register an organisation (coordinators).
#[utoipa::path(
    tag = "events", operation_id = "create_organisation",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = OrganisationInput, example = json!({"name": "咸宁市灵悉社会工作服务中心", "kind": "social_work_centre"})),
    responses((status = 201, description = "Created; `ETag` carries the version", body = Organisation))
)]
#[post("/organisations")]
pub async fn create_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<OrganisationInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    idempotency::create(&state, create, move |conn| {
        let o = organisations::create(conn, input)?;
        Ok((o.record, Some(o.version)))
    })
    .await
}

/// List organisations.
#[utoipa::path(
    tag = "events", operation_id = "list_organisations",
    params(OrganisationQuery),
    responses((status = 200, description = "A page of organisations", body = OrganisationPage))
)]
#[get("/organisations")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    _caller: Caller,
    Query(q): Query<OrganisationQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = OrganisationFilter { kind: q.kind, q: q.q };
    let result = state.run(move |conn| organisations::list(conn, &filter, page)).await?;
    Ok(HttpResponse::Ok().json(OrganisationPage::from(result)))
}

/// Read an organisation.
#[utoipa::path(
    tag = "events", operation_id = "get_organisation",
    params(("id" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, description = "The organisation; `ETag` carries the version", body = Organisation))
)]
#[get("/organisations/{id}")]
pub async fn get_organisation(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(with_etag(state.run(move |conn| organisations::get(conn, id)).await?))
}

/// Replace an organisation's details (coordinators; requires `If-Match`).
#[utoipa::path(
    tag = "events", operation_id = "update_organisation",
    params(("id" = Uuid, Path, description = "Organisation id"), ("If-Match" = String, Header, description = "The ETag of the version being replaced")),
    request_body(content = OrganisationInput, example = json!({"name": "咸宁市灵悉社会工作服务中心", "kind": "social_work_centre", "contact_phone": "0715-8000001"})),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = Organisation))
)]
#[put("/organisations/{id}")]
pub async fn update_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<OrganisationInput>,
) -> ApiResult<HttpResponse> {
    let (id, version, input) = (id.into_inner(), if_match.required()?, body.value);
    update_audited(
        &state,
        &caller,
        id,
        move |conn| organisations::get(conn, id),
        move |conn| organisations::update(conn, id, input, version),
    )
    .await
}

/// Record a contract through which a government body buys services (coordinators).
#[utoipa::path(
    tag = "events", operation_id = "create_service_contract",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = ServiceContractInput, example = json!({
        "purchaser_id": "0190f0a0-0000-7000-8000-000000000007", "provider_id": "0190f0a0-0000-7000-8000-000000000008",
        "starts_on": "2023-06-01", "ends_on": "2024-05-31", "services": ["psychological_counselling", "guardianship_guidance"]
    })),
    responses((status = 201, description = "Created", body = ServiceContract))
)]
#[post("/service-contracts")]
pub async fn create_service_contract(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ServiceContractInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    idempotency::create(&state, create, move |conn| Ok((organisations::create_contract(conn, input)?, None)))
        .await
}

/// The contracts an organisation is party to.
#[utoipa::path(
    tag = "events", operation_id = "list_organisation_contracts",
    params(("id" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, description = "Its contracts", body = ServiceContractList))
)]
#[get("/organisations/{id}/contracts")]
pub async fn list_organisation_contracts(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let items = state.run(move |conn| organisations::contracts_of(conn, id)).await?;
    Ok(HttpResponse::Ok().json(ServiceContractList { items }))
}
