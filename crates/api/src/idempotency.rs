//! `Idempotency-Key` on creates. The first response to a key (status, body, headers) is stored in
//! the same transaction as the record it created, so a replay returns exactly that response and
//! creates nothing; the same key with a different body (or on another endpoint) is refused. The
//! body is compared by its canonical JSON (keys in order, numbers normalised), so the same
//! request sent with its keys in another order is the same request. A key lives for the
//! service's idempotency window (`TONGXING_IDEMPOTENCY_WINDOW`, 24 h by default); after it the
//! key is free and the answer it kept is purged.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use serde::Serialize;
use tongxing_accounts::idempotency::{self as stored, Stored};
use tongxing_core::Code;
use tongxing_core::{Error, Result, time};
use tongxing_store::{DbConnection, transaction};

use crate::auth::extractor::Caller;
use crate::extract::{IdempotencyKey, etag};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// What a create handler hands over: the request's identity and the work to do.
pub struct Create<'a> {
    /// The caller: keys are the caller's own, a replay shows only what the caller still
    /// reaches, and a fresh create's audit entries are the caller's.
    pub caller: &'a Caller,
    pub key: IdempotencyKey,
    pub method: &'a str,
    pub path: &'a str,
    pub digest: String,
}

/// A replay shows the record again: for case staff, only while they still reach the child it is
/// about (a case moved to another organisation since is not shown again to the one who recorded
/// it). Mentors and volunteers reach records through their pairings and events, whose reads
/// answer the same way after a change of scope.
fn still_reached(
    conn: &mut DbConnection,
    scope: &tongxing_core::access::Scope,
    path: &str,
    body: &str,
) -> Result<()> {
    use tongxing_core::access::Reach;
    if !matches!(scope.reach(), Reach::Region(_) | Reach::Caseload { .. } | Reach::Shared { .. }) {
        return Ok(());
    }
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    // The child a record is about, or for a created child the child itself; for a merge, the
    // record that survived it (the merged one has left).
    let key = if path == "/api/v1/children" {
        "id"
    } else if value.get("merged_into").is_some() {
        "merged_into"
    } else {
        "child_id"
    };
    if let Some(child) = value.get(key).and_then(serde_json::Value::as_str).and_then(|s| s.parse().ok()) {
        tongxing_cases::scope::require_child(
            conn,
            scope,
            tongxing_cases::scope::Access::Read,
            child,
            "record",
        )?;
    }
    Ok(())
}

enum Outcome {
    /// The body and the headers of the answer.
    Fresh(String, Vec<(String, String)>),
    Replay(Stored),
}

/// Runs `work` in one transaction and answers 201 with its JSON; with a key, stores the answer
/// under it, or replays the stored answer.
pub async fn create<T, F>(state: &AppState, req: Create<'_>, work: F) -> ApiResult<HttpResponse>
where
    T: Serialize + 'static,
    F: FnOnce(&mut DbConnection) -> Result<(T, Option<i32>)> + Send + 'static,
{
    let actor = req.caller.scope.actor().to_string();
    let scope = req.caller.scope;
    let caller = req.caller.clone();
    let key = req.key.0.clone();
    let fingerprint = format!("{} {} {}", req.method, req.path, req.digest);
    let (method, path) = (req.method.to_owned(), req.path.to_owned());
    // Keys stored before this have expired: they are free again.
    let not_before = time::now() - state.idempotency_window;
    let outcome = {
        let key = key.clone();
        let fingerprint = fingerprint.clone();
        state
            .run(move |conn| {
                if let Some(k) = key.as_deref()
                    && let Some(stored) = stored::find(conn, &actor, k, not_before)?
                {
                    still_reached(conn, &scope, &path, &stored.body)?;
                    return Ok(Outcome::Replay(stored));
                }
                let result = transaction(conn, |c| {
                    let (value, version) = work(c)?;
                    let value = serde_json::to_value(&value).map_err(|e| Error::internal(e.to_string()))?;
                    let body = value.to_string();
                    let headers: Vec<(String, String)> =
                        version.map(|v| vec![(header::ETAG.to_string(), etag(v))]).unwrap_or_default();
                    // The record and its audit entries commit together.
                    caller.audit_in(c, crate::audit::created(&value), StatusCode::CREATED)?;
                    if let Some(k) = key.as_deref() {
                        let k = stored::Key {
                            actor: &actor,
                            key: k,
                            method: &method,
                            path: &path,
                            fingerprint: &fingerprint,
                        };
                        stored::store(c, &k, &body, &headers, not_before)?;
                    }
                    Ok((body, headers))
                });
                match result {
                    Ok((body, headers)) => Ok(Outcome::Fresh(body, headers)),
                    Err(e) => {
                        // A concurrent request with the same key may have won the race: answer
                        // as its replay rather than with the error the race caused.
                        if let Some(k) = key.as_deref()
                            && let Some(stored) = stored::find(conn, &actor, k, not_before)?
                        {
                            return Ok(Outcome::Replay(stored));
                        }
                        Err(e)
                    }
                }
            })
            .await?
    };
    match outcome {
        Outcome::Fresh(body, headers) => {
            req.caller.audited();
            let mut res = HttpResponse::Created();
            for h in headers {
                res.insert_header(h);
            }
            Ok(res.content_type("application/json").body(body))
        }
        Outcome::Replay(stored) => {
            if stored.request != fingerprint {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Code::IdempotencyKeyReused,
                    "this Idempotency-Key was used for a different request",
                ));
            }
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED);
            // A replay shows the record again: the access history names its children too.
            let note = serde_json::from_str(&stored.body)
                .map(|v| crate::audit::AuditNote { changes: None, ..crate::audit::created(&v) })
                .unwrap_or_default();
            // Every header of the first answer again (its ETag), and that this is a replay.
            let mut res = HttpResponse::build(status);
            for h in stored.headers {
                res.insert_header(h);
            }
            let mut res = res
                .insert_header(("idempotent-replayed", "true"))
                .content_type("application/json")
                .body(stored.body);
            res.extensions_mut().insert(note);
            Ok(res)
        }
    }
}
