//! The handlers, a module per resource. Each handler extracts, authorises, calls the domain
//! and maps the result to a response.

pub mod api_clients;
pub mod audit;
pub mod auth;
pub mod children;
pub mod compliance;
pub mod consents;
pub mod contacts;
pub mod counselling;
pub mod duplicates;
pub mod events;
pub mod holidays;
pub mod home_visits;
pub mod households;
pub mod imports;
pub mod mentors;
pub mod merges;
pub mod oauth;
pub mod ops;
pub mod organisations;
pub mod pairings;
pub mod regions;
pub mod reports;
pub mod users;
pub mod volunteers;

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use serde::Serialize;
use tongxing_cases::Versioned;
use tongxing_core::page::PageRequest;

use crate::extract::etag;
use crate::problem::ApiResult;

/// A named list schema per item type (generators turn generic wrappers into awkward names).
macro_rules! page_of {
    ($name:ident, $item:ty) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; absent on the last page.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub next_cursor: Option<String>,
        }

        impl From<tongxing_core::page::Page<$item>> for $name {
            fn from(p: tongxing_core::page::Page<$item>) -> Self {
                $name { items: p.items, next_cursor: p.next_cursor }
            }
        }
    };
}
pub(crate) use page_of;

/// 200 with the record and its `ETag`.
pub fn with_etag<T: Serialize>(v: Versioned<T>) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::ETAG, etag(v.version))).json(v.record)
}

/// A versioned update of a record about no child, audited with each field it changed in the
/// same transaction: `change` answers the record before and after; the answer is the new
/// version with its `ETag`.
pub async fn changed<T, C>(
    state: &crate::state::AppState,
    caller: &crate::auth::extractor::Caller,
    id: uuid::Uuid,
    change: C,
) -> ApiResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    C: FnOnce(&mut tongxing_store::DbConnection) -> tongxing_core::Result<(Versioned<T>, Versioned<T>)>
        + Send
        + 'static,
{
    changed_about(state, caller, id, change, |_| None).await
}

/// [`changed`], for a record about the child `child` names.
pub async fn changed_about<T, C>(
    state: &crate::state::AppState,
    caller: &crate::auth::extractor::Caller,
    id: uuid::Uuid,
    change: C,
    child: fn(&T) -> Option<uuid::Uuid>,
) -> ApiResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    C: FnOnce(&mut tongxing_store::DbConnection) -> tongxing_core::Result<(Versioned<T>, Versioned<T>)>
        + Send
        + 'static,
{
    let after = state
        .write(caller, StatusCode::OK, move |conn| {
            let (before, after) = change(conn)?;
            let note = crate::audit::updated(id, child(&after.record), &before.record, &after.record);
            Ok((after, note))
        })
        .await?;
    Ok(with_etag(after))
}

/// [`changed`], for records that read the current version with `get` and then `update` it.
pub async fn update_audited<T, G, U>(
    state: &crate::state::AppState,
    caller: &crate::auth::extractor::Caller,
    id: uuid::Uuid,
    get: G,
    update: U,
) -> ApiResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    G: FnOnce(&mut tongxing_store::DbConnection) -> tongxing_core::Result<Versioned<T>> + Send + 'static,
    U: FnOnce(&mut tongxing_store::DbConnection) -> tongxing_core::Result<Versioned<T>> + Send + 'static,
{
    changed(state, caller, id, move |conn| {
        let before = get(conn)?;
        Ok((before, update(conn)?))
    })
    .await
}

/// Attaches what the audit log should record about this answer (reads; writes give it to
/// [`crate::state::AppState::write`]).
pub fn noted(mut res: HttpResponse, note: crate::audit::AuditNote) -> HttpResponse {
    res.extensions_mut().insert(note);
    res
}

pub fn page(limit: Option<i64>, cursor: Option<&str>) -> ApiResult<PageRequest> {
    Ok(PageRequest::parse(limit, cursor)?)
}
