//! The access audit log: who read or changed what about a child, every login and every export.
//!
//! A write's entries are inserted in the write's own transaction ([`insert`]): the record and
//! the trace of who changed it are committed together, or neither is. Reads (and logins) are
//! appended in batches by one background thread, so a read does not wait for a write: the
//! request hands its entry over and goes on. A batch is written every 100 ms, or at 256
//! entries, in one transaction. On a graceful shutdown the pending entries are written before
//! the process exits; a crash (SIGKILL, power loss) can lose the read entries of the last
//! 100 ms, and no write's. Audit queries flush first, so they always see every entry made
//! before them. The table refuses UPDATE and DELETE (a trigger on both backends), and the API
//! has no way to change it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError, TrySendError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::parse_id;
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::audit_log;
use tongxing_store::{Db, DbConnection, DbId, map_db_error, transaction};
use utoipa::ToSchema;
use uuid::Uuid;

const BATCH: usize = 256;
/// Entries written in one transaction at most (in statements of [`BATCH`] rows).
const PER_TRANSACTION: usize = 4096;
const INTERVAL: Duration = Duration::from_millis(100);

tongxing_core::text_enum! {
    pub enum AuditAction {
        Read => "read",
        List => "list",
        Create => "create",
        Update => "update",
        Login => "login",
        LoginFailed => "login_failed",
        Export => "export",
    }
}

tongxing_core::text_enum! {
    pub enum ActorType {
        User => "user",
        Client => "client",
        Anonymous => "anonymous",
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_type: ActorType,
    /// The user or API client; absent for a failed login with an unknown username.
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub action: AuditAction,
    /// The endpoint's route, e.g. `/api/v1/children/{id}`.
    pub resource: String,
    /// The record read or written, when there is one.
    pub resource_id: Option<String>,
    /// The child the record is about.
    pub child_id: Option<Uuid>,
    /// The HTTP status of the answer.
    pub status: i32,
    /// For writes: each field changed, `{"field": {"old": ..., "new": ...}}`. Only references,
    /// states, kinds, counts and the dates of the work are copied, at any depth; every other
    /// value (names, identity numbers, notes, reasons, addresses, phone numbers, ...) is
    /// recorded as `"[redacted]"`.
    #[schema(value_type = Option<Object>)]
    pub changes: Option<Value>,
    /// The caller's network address.
    pub address: Option<String>,
    pub request_id: Option<String>,
}

/// What a handler adds to the entry the guard writes: the record, the children it concerns,
/// and for writes the fields changed. Put into the response's extensions.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    pub resource_id: Option<String>,
    pub child_ids: Vec<Uuid>,
    pub changes: Option<Value>,
}

/// The allow-list of the audit log: the only fields whose values an entry copies, at any depth
/// of a record. Every other field is named, with `"[redacted]"` for its value (or `null` when it
/// held none), so a field added to a record later is never copied until it is put here. None of
/// these says anything about a person: they are references to records, states and kinds,
/// counts, and the dates of the programmes' work. Names, identity numbers, birth dates, notes,
/// reasons, addresses, phone numbers, schools, categories, scores and risk levels are never
/// copied. The log is append-only: a value copied into it could never be erased.
pub const COPIED_FIELDS: &[&str] = &[
    // references to records
    "id",
    "child_id",
    "household_id",
    "region_id",
    "parent_id",
    "organisation_id",
    "caseworker_id",
    "mentor_id",
    "pairing_id",
    "enrolment_id",
    "holiday_id",
    "home_visit_request_id",
    "rule_id",
    "subject_id",
    "provider_id",
    "purchaser_id",
    "organiser_id",
    "partner_ids",
    "volunteer_id",
    "volunteer_ids",
    "user_id",
    "assessor_id",
    "actor_id",
    "recorded_by",
    "requested_by",
    "decided_by",
    "made_by",
    // states and kinds
    "status",
    "active",
    "cleared",
    "kind",
    "level",
    "purpose",
    "role",
    "scopes",
    "event_type",
    "programme",
    "service_forms",
    "subject",
    "period",
    "counted_kinds",
    "commemorative",
    "commemorative_only",
    "outcome",
    "guardian_present",
    "step",
    "item",
    "weekday",
    "time_of_day",
    "holiday",
    "year",
    // counts
    "minimum",
    "at_risk_days",
    "duration_minutes",
    "hours",
    "children_attended",
    "guardians_present",
    "volunteers_rostered",
    "volunteer_hours",
    "other_participants",
    // the dates of the work
    "registered_on",
    "closed_on",
    "started_on",
    "ended_on",
    "effective_on",
    "effective_from",
    "assessed_on",
    "occurred_at",
    "given_at",
    "withdrawn_at",
    "starts_on",
    "ends_on",
    "starts_at",
    "ends_at",
    "leaves_at",
    "returns_at",
    "returned_at",
    "decided_at",
    "consent_given_at",
    "checklist_completed_at",
    "confirmed_at",
    "first_day",
    "last_day",
    "makeup_workdays",
    "on",
    "expires_on",
    "period_start",
    "revoked_at",
    "secret_rotated_at",
    "at",
    // lists and groups whose own fields are copied by this same list
    "items",
    "minimums",
    "checklist",
    "history",
    "team",
    "background_check",
    "safety_training",
];

const REDACTED: &str = "[redacted]";

/// A value of `field` as the log keeps it: copied when the field is on [`COPIED_FIELDS`] (an
/// object's own fields each by the same rule, a list's items as the field itself), otherwise
/// `"[redacted]"`; `null` stays `null`.
fn shown(field: &str, v: &Value) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    if !COPIED_FIELDS.contains(&field) {
        return Value::String(REDACTED.into());
    }
    match v {
        Value::Object(map) => Value::Object(map.iter().map(|(k, x)| (k.clone(), shown(k, x))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(|x| shown(field, x)).collect()),
        other => other.clone(),
    }
}

/// Changes as the log keeps them, `{"field": {"old": ..., "new": ...}}` with each value through
/// [`shown`]. Every entry passes here on its way into the log ([`AuditLog::append`]), whoever
/// wrote its changes.
pub fn redacted(changes: &Value) -> Value {
    let Value::Object(fields) = changes else { return Value::String(REDACTED.into()) };
    let entry = |field: &str, change: &Value| match change {
        Value::Object(c) if c.keys().all(|k| k == "old" || k == "new") => {
            Value::Object(c.iter().map(|(k, v)| (k.clone(), shown(field, v))).collect())
        }
        other => shown(field, other),
    };
    Value::Object(fields.iter().map(|(f, c)| (f.clone(), entry(f, c))).collect())
}

/// The fields that differ between two states of a record (top-level fields of their JSON), with
/// their old and new values as the log keeps them ([`redacted`]).
pub fn changes<T: Serialize>(before: Option<&T>, after: &T) -> Option<Value> {
    let after = serde_json::to_value(after).ok()?;
    let before = before.and_then(|b| serde_json::to_value(b).ok()).unwrap_or(Value::Null);
    let (Value::Object(new), old) = (after, before) else { return None };
    let mut out = Map::new();
    for (field, value) in &new {
        if matches!(field.as_str(), "version" | "updated_at" | "created_at") {
            continue;
        }
        let previous = old.get(field).unwrap_or(&Value::Null);
        if previous != value {
            out.insert(field.clone(), serde_json::json!({"old": previous, "new": value}));
        }
    }
    Some(redacted(&Value::Object(out)))
}

/// The changes with every value hidden: which fields changed, not what they hold (for callers
/// who may not see personal fields, such as auditors).
pub fn without_values(changes: &Value) -> Value {
    match changes {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, _)| (k.clone(), serde_json::json!({"old": "[redacted]", "new": "[redacted]"})))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// A note for a created record, from its JSON: its id, every child it names (`child_id` at any
/// depth, as in a batch's items, and a merge's `merged_into`), its fields.
pub fn created(record: &Value) -> AuditNote {
    let id = record.get("id").and_then(Value::as_str).map(str::to_owned);
    let mut children = Vec::new();
    named_children(record, &mut children);
    AuditNote { resource_id: id, child_ids: children, changes: changes(None, record) }
}

fn named_children(v: &Value, out: &mut Vec<Uuid>) {
    match v {
        Value::Object(fields) => {
            for (k, item) in fields {
                if (k == "child_id" || k == "merged_into")
                    && let Some(id) = item.as_str().and_then(|s| Uuid::parse_str(s).ok())
                    && !out.contains(&id)
                {
                    out.push(id);
                }
                named_children(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| named_children(i, out)),
        _ => {}
    }
}

/// A note for a changed record.
pub fn updated<T: Serialize>(id: impl ToString, child: Option<Uuid>, before: &T, after: &T) -> AuditNote {
    AuditNote {
        resource_id: Some(id.to_string()),
        child_ids: child.into_iter().collect(),
        changes: changes(Some(before), after),
    }
}

/// A note for a read of records about these children.
pub fn read_children(ids: impl IntoIterator<Item = Uuid>) -> AuditNote {
    AuditNote { child_ids: ids.into_iter().collect(), ..AuditNote::default() }
}

/// An entry on its way to the log.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub actor_type: ActorType,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub action: AuditAction,
    pub resource: String,
    pub resource_id: Option<String>,
    pub child_id: Option<Uuid>,
    pub status: u16,
    pub changes: Option<Value>,
    pub address: Option<String>,
    pub request_id: Option<String>,
}

enum Msg {
    Entry(Box<Entry>),
    Flush(Sender<()>),
}

/// Entries waiting for the writer at most (about 300 ms of the writer's pace on SQLite, and
/// some 10 MB). Beyond it, requests wait for room (off the async workers): memory stays
/// bounded and no entry is dropped when the database is slow. At 65,536 entries, and with the
/// writer taking all of them at once, lists of 50 children took the service from 45 to 168 MB.
const BACKLOG: usize = 16_384;

/// The appender: hand entries over with [`AuditLog::append`]; a background thread writes them.
///
/// Handing an entry over costs no system call: while a batch gathers, the writer sleeps until
/// the batch is due and is woken early only when a full batch is waiting or someone flushes.
/// (Waking it for every entry cost a thread switch per request, about a fifth of the service's
/// CPU time on a read-heavy load.)
#[derive(Clone)]
pub struct AuditLog {
    tx: SyncSender<Msg>,
    /// Entries in the channel, not yet taken by the writer.
    queued: Arc<AtomicUsize>,
    writer: Option<Thread>,
}

impl AuditLog {
    /// Starts the appender thread over `db`.
    pub fn start(db: Db) -> AuditLog {
        let (tx, rx) = mpsc::sync_channel(BACKLOG);
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = queued.clone();
        let writer = std::thread::Builder::new()
            .name("audit-appender".into())
            .spawn(move || appender(db, rx, taken))
            .map(|handle| handle.thread().clone())
            .map_err(|e| tracing::error!(error = %e, "cannot start the audit appender"))
            .ok();
        AuditLog { tx, queued, writer }
    }

    fn wake(&self) {
        if let Some(writer) = &self.writer {
            writer.unpark();
        }
    }

    /// Hands an entry over; its changes are kept only as [`redacted`] lets them.
    pub async fn append(&self, mut entry: Entry) {
        entry.changes = entry.changes.as_ref().map(redacted);
        // Counted before it is sent, so that the writer never takes an entry not yet counted;
        // the entry that completes a batch wakes the writer once it is in the channel.
        let batch_full = self.queued.fetch_add(1, Ordering::AcqRel) + 1 == BATCH;
        let msg = match self.tx.try_send(Msg::Entry(Box::new(entry))) {
            Ok(()) => None,
            Err(TrySendError::Full(msg)) => Some(msg),
            Err(TrySendError::Disconnected(_)) => return self.lost(),
        };
        if let Some(msg) = msg {
            // The backlog is full: wait for room on a blocking thread, not on the async worker.
            let tx = self.tx.clone();
            if !matches!(tokio::task::spawn_blocking(move || tx.send(msg)).await, Ok(Ok(()))) {
                return self.lost();
            }
        }
        if batch_full {
            self.wake();
        }
    }

    fn lost(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        tracing::error!("the audit appender has stopped; an audit entry was lost");
    }

    /// Waits until every entry appended before this call is written.
    pub async fn flush(&self) -> Result<()> {
        let log = self.clone();
        crate::blocking(move || {
            let (ack, done) = mpsc::channel();
            log.tx.send(Msg::Flush(ack)).map_err(|_| Error::internal("the audit appender has stopped"))?;
            log.wake();
            done.recv_timeout(Duration::from_secs(30)).map_err(|_| Error::Unavailable {
                detail: "the audit log cannot be written right now".into(),
            })
        })
        .await
    }

    /// The same, from a thread that may block (shutdown).
    pub fn flush_blocking(&self) {
        let (ack, done) = mpsc::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            self.wake();
            let _ = done.recv_timeout(Duration::from_secs(30));
        }
    }
}

/// The writer: waits (blocking) for the first entry, gathers a batch for up to [`INTERVAL`] or
/// [`BATCH`] entries, writes it in one transaction, and acknowledges the flushes it gathered.
/// When the database cannot take the batch, the entries are kept and tried again an interval
/// later; flushes wait for them.
fn appender(db: Db, rx: Receiver<Msg>, queued: Arc<AtomicUsize>) {
    let mut pending: Vec<Entry> = Vec::new();
    let mut waiting: Vec<Sender<()>> = Vec::new();
    let mut closed = false;
    let take = |msg: Msg, pending: &mut Vec<Entry>, waiting: &mut Vec<Sender<()>>| match msg {
        Msg::Entry(e) => {
            queued.fetch_sub(1, Ordering::AcqRel);
            pending.push(*e);
        }
        Msg::Flush(ack) => waiting.push(ack),
    };
    let mut failing = false;
    while !closed {
        if pending.is_empty() && waiting.is_empty() {
            match rx.recv() {
                Ok(msg) => take(msg, &mut pending, &mut waiting),
                Err(_) => return,
            }
        }
        let due = Instant::now() + INTERVAL;
        loop {
            // At most one transaction's worth leaves the channel at a time: the rest waits
            // there, within the backlog's bound, rather than piling up here without one.
            while pending.len() < PER_TRANSACTION {
                match rx.try_recv() {
                    Ok(msg) => take(msg, &mut pending, &mut waiting),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            let now = Instant::now();
            let flush_now = !waiting.is_empty() && !failing;
            if closed || flush_now || pending.len() >= BATCH || now >= due {
                break;
            }
            std::thread::park_timeout(due - now);
        }
        write_batch(&db, &mut pending);
        failing = !pending.is_empty();
        if !failing {
            for ack in waiting.drain(..) {
                let _ = ack.send(());
            }
        }
    }
}

/// Failed batch writes, logged at a bounded rate.
static RETRIES: std::sync::LazyLock<tongxing_store::outage::LogLimiter> =
    std::sync::LazyLock::new(|| tongxing_store::outage::LogLimiter::new(Duration::from_secs(5)));

fn write_batch(db: &Db, pending: &mut Vec<Entry>) {
    if pending.is_empty() {
        return;
    }
    let result = db.conn().and_then(|mut conn| transaction(&mut conn, |c| insert_all(c, pending)));
    match result {
        Ok(()) => pending.clear(),
        Err(e) => {
            // Retried every interval while the database is down: a line every few seconds.
            if let Some(attempts) = RETRIES.admit(&e.to_string()) {
                tracing::warn!(error = %e, pending = pending.len(), attempts, "audit entries not written yet; retrying")
            }
        }
    }
}

/// Inserts a write's entries inside the write's own transaction (`conn` is in it); their
/// changes are kept only as [`redacted`] lets them.
pub fn insert(conn: &mut DbConnection, mut entries: Vec<Entry>) -> Result<()> {
    for e in &mut entries {
        e.changes = e.changes.as_ref().map(redacted);
    }
    insert_all(conn, &entries)
}

fn insert_all(conn: &mut DbConnection, entries: &[Entry]) -> Result<()> {
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                audit_log::id.eq(id::new_id().to_string()),
                audit_log::at.eq(time::to_db(e.at)),
                audit_log::actor_kind.eq(e.actor_type.as_str()),
                audit_log::actor_id.eq(e.actor_id.map(|u| u.to_string())),
                audit_log::actor_role.eq(e.actor_role.clone()),
                audit_log::action.eq(e.action.as_str()),
                audit_log::resource.eq(e.resource.clone()),
                audit_log::resource_id.eq(e.resource_id.clone()),
                audit_log::child_id.eq(e.child_id.map(|u| u.to_string())),
                audit_log::status.eq(i32::from(e.status)),
                audit_log::changes.eq(e.changes.as_ref().map(Value::to_string)),
                audit_log::address.eq(e.address.clone()),
                audit_log::request_id.eq(e.request_id.clone()),
            )
        })
        .collect();
    // One multi-row INSERT per batch, on the concrete backend (the two-backend connection type
    // inserts one row at a time). 13 columns × 256 rows stays well under both backends' limits on bound
    // values.
    for chunk in rows.chunks(BATCH) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(audit_log::table).values(chunk).execute(c),
            DbConnection::Postgres(c) => diesel::insert_into(audit_log::table).values(chunk).execute(c),
        }
        .map_err(map_db_error)?;
    }
    Ok(())
}

/// Which entries to list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditFilter {
    pub child_id: Option<Uuid>,
    /// With `child_id`: the records merged into that child, whose history is now its own.
    pub merged_child_ids: Vec<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<AuditAction>,
    /// First day (Asia/Shanghai), inclusive.
    pub from: Option<NaiveDate>,
    /// Last day (Asia/Shanghai), inclusive.
    pub to: Option<NaiveDate>,
    /// Only what showed the record: reads, lists, exports, and writes (whose answers show the
    /// record, and in a batch every child it names): "who has seen this".
    pub seen_only: bool,
}

/// Every column of an entry, in the order of [`AuditRow`].
pub(crate) type Columns = (
    audit_log::id,
    audit_log::at,
    audit_log::actor_kind,
    audit_log::actor_id,
    audit_log::actor_role,
    audit_log::action,
    audit_log::resource,
    audit_log::resource_id,
    audit_log::child_id,
    audit_log::status,
    audit_log::changes,
    audit_log::address,
    audit_log::request_id,
);

/// The [`Columns`] to select.
pub(crate) const COLUMNS: Columns = (
    audit_log::id,
    audit_log::at,
    audit_log::actor_kind,
    audit_log::actor_id,
    audit_log::actor_role,
    audit_log::action,
    audit_log::resource,
    audit_log::resource_id,
    audit_log::child_id,
    audit_log::status,
    audit_log::changes,
    audit_log::address,
    audit_log::request_id,
);

/// An entry as read by [`COLUMNS`].
pub(crate) fn event_of(r: AuditRow) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: parse_id(&r.0)?,
        at: time::from_db(r.1),
        actor_type: ActorType::from_db(&r.2)?,
        actor_id: r.3.as_deref().map(parse_id).transpose()?,
        actor_role: r.4,
        action: AuditAction::from_db(&r.5)?,
        resource: r.6,
        resource_id: r.7,
        child_id: r.8.as_deref().map(parse_id).transpose()?,
        status: r.9,
        changes: r.10.and_then(|c| serde_json::from_str(&c).ok()),
        address: r.11,
        request_id: r.12,
    })
}

pub(crate) type AuditRow = (
    String,
    chrono::NaiveDateTime,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Whether `actor` wrote anything (an entry of a create or an update, which is inserted in the
/// write's own transaction) at or after `since`: a read replica as of a later time may still
/// lack it. The actor's entries of the last few seconds are looked at, by `audit_log_actor_idx`.
pub fn wrote_since(conn: &mut DbConnection, actor: Uuid, since: DateTime<Utc>) -> Result<bool> {
    let writes = [AuditAction::Create.as_str(), AuditAction::Update.as_str()];
    diesel::select(diesel::dsl::exists(
        audit_log::table
            .filter(audit_log::actor_id.eq(actor.to_string()))
            .filter(audit_log::at.ge(time::to_db(since)))
            .filter(audit_log::action.eq_any(writes)),
    ))
    .get_result(conn)
    .map_err(map_db_error)
}

/// Entries oldest first, by filter.
pub fn list(conn: &mut DbConnection, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEvent>> {
    let mut q = audit_log::table.order(audit_log::id.asc()).into_boxed();
    if let Some(c) = filter.child_id {
        if filter.merged_child_ids.is_empty() {
            q = q.filter(audit_log::child_id.eq(DbId(c)));
        } else {
            let ids: Vec<String> = std::iter::once(c)
                .chain(filter.merged_child_ids.iter().copied())
                .map(|u| u.to_string())
                .collect();
            q = q.filter(audit_log::child_id.eq_any(ids));
        }
    }
    if let Some(a) = filter.actor_id {
        q = q.filter(audit_log::actor_id.eq(DbId(a)));
    }
    if let Some(a) = filter.action {
        q = q.filter(audit_log::action.eq(a.as_str()));
    }
    if filter.seen_only {
        q = q.filter(audit_log::action.eq_any(["read", "list", "export", "create", "update"]));
    }
    if let Some(d) = filter.from {
        q = q.filter(audit_log::at.ge(time::to_db(time::start_of_local_day(d))));
    }
    if let Some(d) = filter.to {
        let next = d.succ_opt().ok_or_else(|| Error::field("to", "out_of_range", "the date is too late"))?;
        q = q.filter(audit_log::at.lt(time::to_db(time::start_of_local_day(next))));
    }
    if let Some(after) = page.after {
        q = q.filter(audit_log::id.gt(DbId(after)));
    }
    let rows: Vec<AuditRow> = q.select(COLUMNS).limit(page.fetch()).load(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(event_of).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |e| e.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_name_each_field_and_copy_only_allowed_values() {
        let before = json!({"id": "x", "name": "小明", "status": "screening", "national_id": "421202201506010018", "school": null, "version": 1});
        let after = json!({"id": "x", "name": "王小明", "status": "registered", "national_id": "421202201506010026", "school": null, "version": 2});
        let c = changes(Some(&before), &after).unwrap();
        assert_eq!(c["status"], json!({"old": "screening", "new": "registered"}));
        assert_eq!(c["name"], json!({"old": "[redacted]", "new": "[redacted]"}));
        assert_eq!(c["national_id"], json!({"old": "[redacted]", "new": "[redacted]"}));
        assert!(c.get("school").is_none() && c.get("version").is_none());
    }

    #[test]
    fn nested_values_are_copied_only_by_the_allow_list() {
        // The findings of the review: notes in an assessment's dimensions, a home visit's
        // emergency phone, attendance notes inside `items`, guardians' phones.
        let record = json!({
            "id": "a",
            "child_id": "c",
            "psychological_state": {"score": 2, "notes": "夜里常哭"},
            "emergency_contact_phone": "13800009999",
            "items": [{"child_id": "c", "guardian_present": true, "notes": "发烧", "child_name": "周小雨"}],
            "guardians": [{"name": "王秀英", "phone": "13800001111"}],
            "history": [{"step": "requested", "at": "2024-01-01T00:00:00Z", "note": "家里没人"}],
            "makeup_workdays": ["2024-02-04"],
            "unknown_new_field": {"id": "looks-safe", "text": "不是"},
        });
        let c = created(&record).changes.unwrap();
        let new = |f: &str| c[f]["new"].clone();
        assert_eq!(new("child_id"), "c");
        assert_eq!(new("psychological_state"), "[redacted]");
        assert_eq!(new("emergency_contact_phone"), "[redacted]");
        assert_eq!(
            new("items"),
            json!([{"child_id": "c", "guardian_present": true, "notes": "[redacted]", "child_name": "[redacted]"}])
        );
        assert_eq!(new("guardians"), "[redacted]");
        assert_eq!(
            new("history"),
            json!([{"step": "requested", "at": "2024-01-01T00:00:00Z", "note": "[redacted]"}])
        );
        assert_eq!(new("makeup_workdays"), json!(["2024-02-04"]));
        assert_eq!(new("unknown_new_field"), "[redacted]");
        assert_eq!(c["psychological_state"]["old"], Value::Null);
    }

    #[test]
    fn whatever_a_handler_wrote_is_redacted_on_its_way_into_the_log() {
        let by_hand = json!({
            "notes": {"old": "旧的", "new": "新的"},
            "items": {"old": null, "new": [{"child_id": "c", "notes": "x"}]},
            "client_secret": {"old": "[redacted]", "new": "[redacted]"},
            "phone": "13800001111",
        });
        let kept = redacted(&by_hand);
        assert_eq!(kept["notes"], json!({"old": "[redacted]", "new": "[redacted]"}));
        assert_eq!(kept["items"]["new"], json!([{"child_id": "c", "notes": "[redacted]"}]));
        assert_eq!(kept["client_secret"], json!({"old": "[redacted]", "new": "[redacted]"}));
        assert_eq!(kept["phone"], "[redacted]");
        assert_eq!(redacted(&json!("13800001111")), "[redacted]");
        assert_eq!(redacted(&kept), kept, "redacting twice changes nothing");
    }
}
