//! The statutory holiday calendar (`/holidays`) that holiday home visits are requested
//! against. Stored by `tongxing_pairing::holidays`.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Deserialize;
use tongxing_pairing::holidays::{self, Holiday, HolidayInput};
use utoipa::IntoParams;
use uuid::Uuid;

use super::update_audited;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HolidayList {
    pub items: Vec<Holiday>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HolidayQuery {
    /// Only this year's announcement.
    pub year: Option<i32>,
}

/// The statutory holiday calendar, in date order.
#[utoipa::path(
    tag = "pairings", operation_id = "list_holidays",
    params(HolidayQuery),
    responses((status = 200, description = "The holiday periods", body = HolidayList))
)]
#[get("/holidays")]
pub async fn list_holidays(
    state: web::Data<AppState>,
    _caller: Caller,
    Query(q): Query<HolidayQuery>,
) -> ApiResult<HttpResponse> {
    let items = state.run(move |conn| holidays::list(conn, q.year)).await?;
    Ok(HttpResponse::Ok().json(HolidayList { items }))
}

/// Add a holiday period when the year's arrangement is announced (admins).
#[utoipa::path(
    tag = "pairings", operation_id = "create_holiday",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = HolidayInput, example = json!({
        "year": 2027, "holiday": "spring_festival", "first_day": "2027-02-05", "last_day": "2027-02-11", "makeup_workdays": []
    })),
    responses((status = 201, description = "Created; `ETag` carries the version", body = Holiday))
)]
#[post("/holidays")]
pub async fn create_holiday(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<HolidayInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    idempotency::create(&state, create, move |conn| {
        let h = holidays::create(conn, input)?;
        Ok((h.record, Some(h.version)))
    })
    .await
}

/// Correct a holiday period (admins; requires `If-Match`).
#[utoipa::path(
    tag = "pairings", operation_id = "update_holiday",
    params(
        ("id" = Uuid, Path, description = "Holiday id"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced"),
    ),
    request_body(content = HolidayInput, example = json!({
        "year": 2027, "holiday": "spring_festival", "first_day": "2027-02-06", "last_day": "2027-02-12", "makeup_workdays": []
    })),
    responses((status = 200, description = "Updated; `ETag` carries the new version", body = Holiday))
)]
#[put("/holidays/{id}")]
pub async fn update_holiday(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<HolidayInput>,
) -> ApiResult<HttpResponse> {
    let (id, version, input) = (id.into_inner(), if_match.required()?, body.value);
    update_audited(
        &state,
        &caller,
        id,
        move |conn| holidays::get(conn, id),
        move |conn| holidays::update(conn, id, input, version),
    )
    .await
}
