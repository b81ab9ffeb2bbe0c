//! Possible duplicate children: a child's possible duplicates in the caller's scope
//! (`/children/{id}/possible-duplicates`), the coordinators' queue of candidates found by national
//! ID number or by the similarity rule (`/duplicate-candidates`), and dismissing a candidate. The
//! first queue's paths (`/duplicate-reviews`) are deprecated. Stored by
//! `tongxing_cases::duplicates`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use tongxing_cases::duplicates::{
    self, Dismissal, DuplicateFilter, DuplicateReason, DuplicateResolution, DuplicateReview,
    PossibleDuplicate,
};
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

/// The possible duplicates of one child.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PossibleDuplicateList {
    /// Best first (highest score); at most the 500 nearest records are scored.
    pub items: Vec<PossibleDuplicate>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidateQuery {
    /// Only open (`true`, the queue) or only resolved (`false`) candidates.
    pub open: Option<bool>,
    /// Candidates naming this child on either side.
    pub child_id: Option<Uuid>,
    /// Only candidates found this way.
    pub reason: Option<DuplicateReason>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The records in the caller's scope that may be the same child as this one, scored by the
/// duplicate rule (the README's "The duplicate rule"), best first.
///
/// Each comes as the caller's own read of it answers (masked alike), with its score, the
/// signals behind it, and the open review in the coordinators' queue if there is one. Records
/// outside the caller's scope are never named here; their pairs go to the coordinators who
/// reach both. Pairs a coordinator dismissed are left out. Every record listed is an audited
/// read.
#[utoipa::path(
    tag = "children", operation_id = "list_possible_duplicates",
    params(("id" = Uuid, Path, description = "Child id")),
    responses((status = 200, description = "The possible duplicates, best first", body = PossibleDuplicateList))
)]
#[get("/children/{id}/possible-duplicates")]
pub async fn list_possible_duplicates(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    let items = state.run(move |conn| duplicates::possible_duplicates(conn, &scope, id)).await?;
    let note = audit::read_children(std::iter::once(id).chain(items.iter().map(|p| p.child.id)));
    Ok(noted(HttpResponse::Ok().json(PossibleDuplicateList { items }), note))
}

/// The coordinators' queue of possible duplicate children, oldest first.
///
/// A pair joins when a child is recorded or changed: with a national ID number that a case
/// outside the recorder's scope already holds (`national_id`), or scoring 60 or more by the
/// duplicate rule (`similar`, with `score` and `signals`), whoever can see the other record. A
/// coordinator sees the pairs whose two children they both reach. A pair is settled by merging
/// the records (`merge_child`) or dismissed as two children (`dismiss_duplicate_candidate`).
#[utoipa::path(
    tag = "children", operation_id = "list_duplicate_candidates",
    params(CandidateQuery),
    responses((status = 200, description = "A page of candidates, oldest first", body = DuplicateReviewPage))
)]
#[get("/duplicate-candidates")]
pub async fn list_duplicate_candidates(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<CandidateQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = DuplicateFilter { open: q.open, child_id: q.child_id, reason: q.reason };
    let scope = caller.scope;
    let result = state.run(move |conn| duplicates::list(conn, &scope, &filter, page)).await?;
    let note = audit::read_children(result.items.iter().flat_map(|r| [r.child_id, r.other_child_id]));
    Ok(noted(HttpResponse::Ok().json(DuplicateReviewPage::from(result)), note))
}

/// Dismiss a candidate: the two records are two children, for the reason given. A candidate is
/// settled once (409 `already_resolved`); the pair is not proposed again.
#[utoipa::path(
    tag = "children", operation_id = "dismiss_duplicate_candidate",
    params(
        ("id" = Uuid, Path, description = "Candidate id"),
        ("If-Match" = Option<String>, Header, description = "When given, applies only to this version"),
    ),
    request_body(content = Dismissal, example = json!({"reason": "双胞胎，监护人已确认"})),
    responses((status = 200, description = "The dismissed candidate; `ETag` carries the new version", body = DuplicateReview))
)]
#[post("/duplicate-candidates/{id}/dismiss")]
pub async fn dismiss_duplicate_candidate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<Dismissal>,
) -> ApiResult<HttpResponse> {
    let (id, dismissal, scope) = (id.into_inner(), body.value, caller.scope);
    let after = state
        .write(&caller, StatusCode::OK, move |conn| {
            let (before, after) = duplicates::dismiss(conn, &scope, id, dismissal, if_match.0)?;
            let mut note = audit::updated(id, Some(after.record.child_id), &before.record, &after.record);
            note.child_ids.push(after.record.other_child_id);
            Ok((after, note))
        })
        .await?;
    Ok(with_etag(after))
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
    let filter = DuplicateFilter { open: q.open, child_id: q.child_id, reason: None };
    let scope = caller.scope;
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
