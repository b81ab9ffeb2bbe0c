//! Tallies: how many activities each cadence rule counted per relationship and period.
//!
//! Contacts and counselling sessions are only ever added, so a tally is incremented in the
//! transaction that records the activity, for every rule that counts it. The alert list then
//! reads two tallies per relationship instead of every activity of two periods. The timelines
//! still evaluate the activities themselves; the tests hold the two to the same answer.
//!
//! A rule's tallies are complete once `cadence_rules.tallies_built_at` is set: the service
//! builds them when a rule is created and, at start-up, for any rule that has none (the rules a
//! migration added, or a database that predates the tallies).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Date, Text};
use tongxing_cases::contacts::ContactOutcome;
use tongxing_core::record::parse_id;
use tongxing_core::{Result, time};
use tongxing_store::schema::{
    cadence_rules, compliance_tallies, counselling_enrolments, counselling_sessions, pair_contacts, pairings,
};
use tongxing_store::sql::numbered;
use tongxing_store::{Backend, DbConnection, DbId, insert_batch, map_db_error};
use uuid::Uuid;

use crate::cadence::{Period, PeriodKind};
use crate::kinds::{RuleSubject, SESSION, kinds_from_db};

/// Relationships whose activities are read at once while building.
const SUBJECTS_PER_CHUNK: i64 = 1000;
/// Tally rows written per statement while building (four values each).
const ROWS_PER_INSERT: usize = 2000;

/// What a rule counts, as the tallies need it.
struct Counter {
    id: String,
    subject: RuleSubject,
    kinds: Vec<String>,
    commemorative_only: bool,
    period: PeriodKind,
}

impl Counter {
    fn counts(&self, kind: &str, commemorative: bool) -> bool {
        self.kinds.iter().any(|k| k == kind) && (commemorative || !self.commemorative_only)
    }

    /// The first day of the rule's period holding an activity at `at`.
    fn period_start(&self, at: NaiveDateTime) -> NaiveDate {
        Period::containing(self.period, time::local_date(time::from_db(at))).start
    }
}

fn counters(
    conn: &mut DbConnection,
    subject: Option<RuleSubject>,
    rule: Option<Uuid>,
) -> Result<Vec<Counter>> {
    let mut q = cadence_rules::table
        .select((
            cadence_rules::id,
            cadence_rules::subject,
            cadence_rules::counted_kinds,
            cadence_rules::commemorative_only,
            cadence_rules::period,
        ))
        .into_boxed();
    if let Some(s) = subject {
        q = q.filter(cadence_rules::subject.eq(s.as_str()));
    }
    if let Some(r) = rule {
        q = q.filter(cadence_rules::id.eq(DbId(r)));
    }
    let rows: Vec<(String, String, String, bool, String)> = q.load(conn).map_err(map_db_error)?;
    rows.into_iter()
        .map(|(id, subject, kinds, commemorative_only, period)| {
            Ok(Counter {
                id,
                subject: RuleSubject::from_db(&subject)?,
                kinds: kinds_from_db(&kinds),
                commemorative_only,
                period: PeriodKind::from_db(&period)?,
            })
        })
        .collect()
}

/// Counts one newly recorded activity in the tallies of every rule that counts it. Run it in
/// the transaction that records the activity.
pub fn count(
    conn: &mut DbConnection,
    subject: RuleSubject,
    subject_id: Uuid,
    kind: &str,
    commemorative: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    let sql = numbered(
        conn.backend(),
        "INSERT INTO compliance_tallies (rule_id, period_start, subject_id, activities) VALUES (?, ?, ?, 1) \
         ON CONFLICT (rule_id, period_start, subject_id) \
         DO UPDATE SET activities = compliance_tallies.activities + 1",
    );
    let at = time::to_db(at);
    for rule in counters(conn, Some(subject), None)? {
        if !rule.counts(kind, commemorative) {
            continue;
        }
        diesel::sql_query(&sql)
            .bind::<Text, _>(&rule.id)
            .bind::<Date, _>(rule.period_start(at))
            .bind::<Text, _>(subject_id.to_string())
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(())
}

/// Builds the tallies of every rule whose tallies are not complete, each in its own
/// transaction; returns how many rules it built.
pub fn build_missing(conn: &mut DbConnection) -> Result<usize> {
    let missing: Vec<String> = cadence_rules::table
        .filter(cadence_rules::tallies_built_at.is_null())
        .select(cadence_rules::id)
        .load(conn)
        .map_err(map_db_error)?;
    let mut built = 0;
    for id in &missing {
        let id = parse_id(id)?;
        // Another node starting at the same time may have built them meanwhile: the rule's row
        // is locked, then looked at again.
        built += tongxing_store::transaction(conn, |c| {
            if built_at_locked(c, id)?.is_some() {
                return Ok(0);
            }
            rebuild(c, id).map(|()| 1)
        })?;
    }
    Ok(built)
}

#[derive(QueryableByName)]
struct BuiltAt {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    tallies_built_at: Option<NaiveDateTime>,
}

/// When the rule's tallies were completed, reading its row under a lock that lasts until the
/// transaction ends (SQLite's write transactions hold the whole database already).
fn built_at_locked(conn: &mut DbConnection, rule: Uuid) -> Result<Option<NaiveDateTime>> {
    let lock = if conn.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
    let sql =
        numbered(conn.backend(), &format!("SELECT tallies_built_at FROM cadence_rules WHERE id = ?{lock}"));
    let rows: Vec<BuiltAt> =
        diesel::sql_query(sql).bind::<Text, _>(rule.to_string()).load(conn).map_err(map_db_error)?;
    Ok(rows.into_iter().next().and_then(|r| r.tallies_built_at))
}

/// Recomputes one rule's tallies from the stored activities and marks them complete. Run it in
/// a transaction: new activities wait until it ends.
pub fn rebuild(conn: &mut DbConnection, rule: Uuid) -> Result<()> {
    let Some(counter) = counters(conn, None, Some(rule))?.pop() else {
        return Ok(());
    };
    // A SQLite write transaction already holds off every other writer; PostgreSQL is told to
    // hold back new activities of the rule's subject until the transaction ends.
    if conn.backend() == Backend::Postgres {
        let table = match counter.subject {
            RuleSubject::Pairing => "pair_contacts",
            RuleSubject::CounsellingEnrolment => "counselling_sessions",
        };
        diesel::sql_query(format!("LOCK TABLE {table} IN SHARE MODE")).execute(conn).map_err(map_db_error)?;
    }
    diesel::delete(compliance_tallies::table.filter(compliance_tallies::rule_id.eq(&counter.id)))
        .execute(conn)
        .map_err(map_db_error)?;
    let mut after = String::new();
    loop {
        let subjects = subjects_after(conn, counter.subject, &after)?;
        let (Some(first), Some(last)) = (subjects.first(), subjects.last()) else {
            break;
        };
        let mut tally: HashMap<(String, NaiveDate), i64> = HashMap::new();
        for (subject, kind, commemorative, at) in activities_between(conn, counter.subject, first, last)? {
            if counter.counts(&kind, commemorative) {
                *tally.entry((subject, counter.period_start(at))).or_default() += 1;
            }
        }
        let rows: Vec<_> = tally
            .into_iter()
            .map(|((subject, start), n)| {
                (
                    compliance_tallies::rule_id.eq(counter.id.clone()),
                    compliance_tallies::period_start.eq(start),
                    compliance_tallies::subject_id.eq(subject),
                    compliance_tallies::activities.eq(n),
                )
            })
            .collect();
        for batch in rows.chunks(ROWS_PER_INSERT) {
            insert_batch!(conn, compliance_tallies::table, batch)?;
        }
        after = last.clone();
        if i64::try_from(subjects.len()).unwrap_or(i64::MAX) < SUBJECTS_PER_CHUNK {
            break;
        }
    }
    diesel::update(cadence_rules::table.find(&counter.id))
        .set(cadence_rules::tallies_built_at.eq(Some(time::to_db(time::now()))))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

/// The next chunk of relationship ids after `after`, in order.
fn subjects_after(conn: &mut DbConnection, subject: RuleSubject, after: &str) -> Result<Vec<String>> {
    match subject {
        RuleSubject::Pairing => pairings::table
            .filter(pairings::id.gt(after))
            .order(pairings::id.asc())
            .select(pairings::id)
            .limit(SUBJECTS_PER_CHUNK)
            .load(conn),
        RuleSubject::CounsellingEnrolment => counselling_enrolments::table
            .filter(counselling_enrolments::id.gt(after))
            .order(counselling_enrolments::id.asc())
            .select(counselling_enrolments::id)
            .limit(SUBJECTS_PER_CHUNK)
            .load(conn),
    }
    .map_err(map_db_error)
}

type ActivityRow = (String, String, bool, NaiveDateTime);

/// The activities of the relationships `first..=last`: subject, kind, commemorative, instant.
fn activities_between(
    conn: &mut DbConnection,
    subject: RuleSubject,
    first: &str,
    last: &str,
) -> Result<Vec<ActivityRow>> {
    match subject {
        RuleSubject::Pairing => pair_contacts::table
            .filter(pair_contacts::pairing_id.ge(first))
            .filter(pair_contacts::pairing_id.le(last))
            .filter(pair_contacts::outcome.eq(ContactOutcome::Completed.as_str()))
            .select((
                pair_contacts::pairing_id,
                pair_contacts::kind,
                pair_contacts::commemorative,
                pair_contacts::occurred_at,
            ))
            .load(conn)
            .map_err(map_db_error),
        RuleSubject::CounsellingEnrolment => {
            let rows: Vec<(String, NaiveDateTime)> = counselling_sessions::table
                .filter(counselling_sessions::enrolment_id.ge(first))
                .filter(counselling_sessions::enrolment_id.le(last))
                .select((counselling_sessions::enrolment_id, counselling_sessions::occurred_at))
                .load(conn)
                .map_err(map_db_error)?;
            Ok(rows.into_iter().map(|(id, at)| (id, SESSION.to_owned(), false, at)).collect())
        }
    }
}
