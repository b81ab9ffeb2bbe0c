//! Possible duplicate children found by national ID number (`/duplicate-reviews`): the open
//! reviews, and their resolution as the same child or different children. Stored by
//! `tongxing_cases::duplicates`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use tongxing_cases::duplicates::{self, DuplicateFilter, DuplicateResolution, DuplicateReview};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{noted, page, page_of, with_etag};
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IfMatch, JsonBody, Query};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(DuplicateReviewPage, DuplicateReview);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DuplicateQuery {
    /// Only open (`true`) or only resolved (`false`) reviews.
    pub open: Option<bool>,
    /// Reviews naming this child on either side.
    pub child_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List possible duplicate children for review (coordinators).
///
/// A child recorded with a national ID number that a case outside the recorder's scope already
/// holds is kept, and the pair is listed here for the coordinators who reach both children.
#[utoipa::path(
    tag = "children", operation_id = "list_duplicate_reviews",
    params(DuplicateQuery),
    responses((status = 200, description = "A page of reviews, oldest first", body = DuplicateReviewPage))
)]
#[get("/duplicate-reviews")]
pub async fn list_duplicate_reviews(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<DuplicateQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let (filter, scope) = (DuplicateFilter { open: q.open, child_id: q.child_id }, caller.scope);
    let result = state.run(move |conn| duplicates::list(conn, &scope, &filter, page)).await?;
    let note = audit::read_children(result.items.iter().flat_map(|r| [r.child_id, r.other_child_id]));
    Ok(noted(HttpResponse::Ok().json(DuplicateReviewPage::from(result)), note))
}

/// Record whether the two records are one child or two; a review is resolved once (409).
#[utoipa::path(
    tag = "children", operation_id = "resolve_duplicate_review",
    params(
        ("id" = Uuid, Path, description = "Review id"),
        ("If-Match" = Option<String>, Header, description = "When given, applies only to this version"),
    ),
    request_body(content = DuplicateResolution, example = json!({"outcome": "different_children", "note": "身份证号录入错误，已更正"})),
    responses((status = 200, description = "The resolved review; `ETag` carries the new version", body = DuplicateReview))
)]
#[post("/duplicate-reviews/{id}/resolve")]
pub async fn resolve_duplicate_review(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<DuplicateResolution>,
) -> ApiResult<HttpResponse> {
    let (id, resolution, scope) = (id.into_inner(), body.value, caller.scope);
    let after = state
        .write(&caller, StatusCode::OK, move |conn| {
            let (before, after) = duplicates::resolve(conn, &scope, id, resolution, if_match.0)?;
            let mut note = audit::updated(id, Some(after.record.child_id), &before.record, &after.record);
            note.child_ids.push(after.record.other_child_id);
            Ok((after, note))
        })
        .await?;
    Ok(with_etag(after))
}
