//! The access audit log: every entry (auditors, admins), and a child's access history — who
//! read or changed what about the child, when. The log is `tongxing_accounts::audit`.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDate;
use serde::Deserialize;
use tongxing_cases::children;
use tongxing_core::page::Page;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page, page_of};
use crate::audit::{self, AuditAction, AuditEvent, AuditFilter};
use crate::auth::Caller;
use crate::extract::Query;
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(AuditEventPage, AuditEvent);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries about this child.
    pub child_id: Option<Uuid>,
    /// Entries by this user or API client.
    pub actor_id: Option<Uuid>,
    pub action: Option<AuditAction>,
    /// First day (Asia/Shanghai), inclusive.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub from: Option<NaiveDate>,
    /// Last day (Asia/Shanghai), inclusive.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub to: Option<NaiveDate>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Query the audit log by child, actor, action and period, oldest first. The log holds every
/// read of a child's record, every write, every login and every export; it cannot be changed.
/// Auditors see which fields a write changed; only admins see the values.
#[utoipa::path(
    tag = "audit", operation_id = "list_audit_events",
    params(AuditQuery),
    responses((status = 200, description = "A page of audit entries", body = AuditEventPage))
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = AuditFilter {
        child_id: q.child_id,
        actor_id: q.actor_id,
        action: q.action,
        from: q.from,
        to: q.to,
        seen_only: false,
        merged_child_ids: Vec::new(),
    };
    state.audit.flush().await?;
    let result = state.run(move |conn| audit::list(conn, &filter, page)).await?;
    Ok(HttpResponse::Ok().json(AuditEventPage::from(for_caller(result, caller))))
}

/// Who has seen this child's record: every read, list and export that showed it, oldest first.
///
/// A record merged into this one brought its history with it: while the merge stands, its
/// entries are listed here too (their `child_id` names the merged record).
#[utoipa::path(
    tag = "audit", operation_id = "get_child_access_history",
    params(("id" = Uuid, Path, description = "Child id"), HistoryQuery),
    responses((status = 200, description = "A page of audit entries", body = AuditEventPage))
)]
#[get("/children/{id}/access-history")]
pub async fn get_child_access_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let child = id.into_inner();
    let mut filter = AuditFilter { child_id: Some(child), seen_only: true, ..AuditFilter::default() };
    state.audit.flush().await?;
    let result = state
        .run(move |conn| {
            if !children::exists(conn, child)? {
                return Err(tongxing_core::Error::not_found("child"));
            }
            filter.merged_child_ids = tongxing_cases::merges::merged_into(conn, child)?;
            audit::list(conn, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AuditEventPage::from(for_caller(result, caller))))
}

/// Auditors see which fields changed but not their values, which may be personal (a child's
/// name); admins see the values (sensitive ones were never recorded).
fn for_caller(mut page: Page<AuditEvent>, caller: Caller) -> Page<AuditEvent> {
    if !caller.scope.sees_sensitive() {
        for e in &mut page.items {
            e.changes = e.changes.as_ref().map(audit::without_values);
        }
    }
    page
}
