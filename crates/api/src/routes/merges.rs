//! Merging a child recorded twice into the record that survives (`/children/{id}/merge`), the
//! merges (`/child-merges`) and undoing one within its window (admins). Done by
//! `tongxing_cases::merges`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use tongxing_cases::merges::{self, ChildMerge, MergeRequest, UndoRequest};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{noted, page, page_of, with_etag};
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(ChildMergePage, ChildMerge);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MergeQuery {
    /// Merges of this child or into it.
    pub child_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Merge this child's record into another: one child recorded twice.
///
/// In one transaction every contact, assessment, consent, pairing, counselling enrolment and
/// event attendance of this record moves to `into`; this record leaves (its reads answer 410
/// `child_merged` naming `into`), its status history and reviews kept in the merge; the access
/// history of `into` then lists this record's too. The survivor's own fields do not change.
/// Both must be case files the caller holds. Two different national ID numbers are two children
/// (409 `different_national_ids`); two active pairings, or one event attended by both, must be
/// settled first (409 `merge_conflict`). An admin may undo the merge for 30 days
/// (`undo_child_merge`). The merge is audited as a change to both children.
#[utoipa::path(
    tag = "children", operation_id = "merge_child",
    params(
        ("id" = Uuid, Path, description = "The child whose record is merged away"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response"),
    ),
    request_body(content = MergeRequest, example = json!({
        "into": "0190f0a0-0000-7000-8000-000000000011", "reason": "同一儿童在两个乡镇各登记了一次"
    })),
    responses((status = 201, description = "Merged; `ETag` carries the merge's version", body = ChildMerge))
)]
#[post("/children/{id}/merge")]
pub async fn merge_child(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: JsonBody<MergeRequest>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (id, request, scope) = (id.into_inner(), body.value, caller.scope);
    idempotency::create(&state, create, move |conn| {
        let m = merges::merge(conn, &scope, id, request)?;
        let version = m.version;
        Ok((m, Some(version)))
    })
    .await
}

/// List merges of a child or into it, oldest first, among the records the caller reaches.
#[utoipa::path(
    tag = "children", operation_id = "list_child_merges",
    params(MergeQuery),
    responses((status = 200, description = "A page of merges", body = ChildMergePage))
)]
#[get("/child-merges")]
pub async fn list_child_merges(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<MergeQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let (child, scope) = (q.child_id, caller.scope);
    let result = state.run(move |conn| merges::list(conn, &scope, child, page)).await?;
    let note = audit::read_children(result.items.iter().flat_map(|m| [m.child_id, m.merged_into]));
    Ok(noted(HttpResponse::Ok().json(ChildMergePage::from(result)), note))
}

/// Read a merge.
#[utoipa::path(
    tag = "children", operation_id = "get_child_merge",
    params(("id" = Uuid, Path, description = "Merge id")),
    responses((status = 200, description = "The merge; `ETag` carries the version", body = ChildMerge))
)]
#[get("/child-merges/{id}")]
pub async fn get_child_merge(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    let m = state.run(move |conn| merges::read(conn, &scope, id)).await?;
    let note = audit::read_children([m.record.child_id, m.record.merged_into]);
    Ok(noted(with_etag(m), note))
}

/// Undo a merge (admins), within 30 days of it: the merged record comes back as it was, with its
/// status history and reviews, and the records that moved go back to it (those recorded on the
/// survivor since stay there). 409 `merge_undo_expired` after the window, `already_undone` a
/// second time, `merge_superseded` while the survivor is itself merged away.
#[utoipa::path(
    tag = "children", operation_id = "undo_child_merge",
    params(
        ("id" = Uuid, Path, description = "Merge id"),
        ("If-Match" = Option<String>, Header, description = "When given, applies only to this version"),
    ),
    request_body(content = UndoRequest, example = json!({"reason": "两名儿童同名同生日，并非同一人"})),
    responses((status = 200, description = "Undone; `ETag` carries the new version", body = ChildMerge))
)]
#[post("/child-merges/{id}/undo")]
pub async fn undo_child_merge(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<UndoRequest>,
) -> ApiResult<HttpResponse> {
    let (id, request, scope) = (id.into_inner(), body.value, caller.scope);
    let after = state
        .write(&caller, StatusCode::OK, move |conn| {
            let (before, after) = merges::undo(conn, &scope, id, request, if_match.0)?;
            let mut note = audit::updated(id, Some(after.record.child_id), &before.record, &after.record);
            note.child_ids.push(after.record.merged_into);
            Ok((after, note))
        })
        .await?;
    Ok(with_etag(after))
}
