//! The audit log over years: `tongxing audit archive --before YYYY-MM --to DIR` exports every
//! month before the one named into a file of its own and then removes it from the database.
//!
//! A month's file is `audit-YYYY-MM.jsonl.gz`: one entry per line, as `GET /api/v1/audit-events`
//! answers it, gzip-compressed, with `audit-YYYY-MM.jsonl.gz.sha256` beside it (the format of
//! `sha256sum`, so `sha256sum -c` checks it). The file is written, synced and read back (its
//! checksum and its number of entries) before anything is removed; the removal then checks in
//! its own transaction that the month still holds exactly the entries written, and records the
//! file in `audit_archives`. Entries of a month that come after it was archived (a node's clock
//! behind, entries held back through an outage) go into a further part,
//! `audit-YYYY-MM.part2.jsonl.gz`, at the next run. A file already there is never touched. On PostgreSQL the month is a partition of its own, detached and
//! dropped; on SQLite its entries are deleted, which the append-only trigger allows only for a
//! month this transaction has marked. Months are UTC months of the entries' `at`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::Text;
use sha2::{Digest, Sha256};
use tongxing_core::{Error, Result, time};
use tongxing_store::schema::{audit_archives, audit_log};
use tongxing_store::{DbConnection, map_db_error, transaction};

use crate::audit::{AuditRow, COLUMNS, event_of};

/// Entries read from the database at a time while a month is exported.
const CHUNK: i64 = 5_000;

/// One month archived.
#[derive(Debug, Clone)]
pub struct Archived {
    /// `YYYY-MM`.
    pub month: String,
    pub entries: u64,
    pub file: PathBuf,
    /// Of the compressed file, in hex.
    pub sha256: String,
}

/// The first day of `YYYY-MM`.
pub fn parse_month(raw: &str) -> std::result::Result<NaiveDate, String> {
    let bad = || format!("`{raw}` is not a month such as 2025-01");
    let (y, m) = raw.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)
}

fn month_name(start: NaiveDate) -> String {
    start.format("%Y-%m").to_string()
}

fn next_month(start: NaiveDate) -> NaiveDate {
    start.checked_add_months(chrono::Months::new(1)).unwrap_or(start)
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).unwrap_or_default()
}

/// Makes, on PostgreSQL, the partitions of the current month and the next two (nodes call it
/// when they start and now and then after), so entries do not land in the default partition.
/// Nothing to do on SQLite.
pub fn prepare_partitions(conn: &mut DbConnection) -> Result<()> {
    if let DbConnection::Postgres(c) = conn {
        diesel::sql_query(
            "SELECT audit_log_partition_for((date_trunc('month', now() AT TIME ZONE 'UTC') \
             + make_interval(months => m))::date) FROM generate_series(0, 2) AS m",
        )
        .execute(c)
        .map_err(map_db_error)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The months before `before` that hold entries (SQLite) or have a partition (PostgreSQL, where
/// entries of such months still in the default partition are first moved into one).
fn months_before(conn: &mut DbConnection, before: NaiveDate) -> Result<Vec<NaiveDate>> {
    let names: Vec<String> = match conn {
        DbConnection::Postgres(c) => {
            diesel::sql_query(
                "SELECT audit_log_partition_for(m) FROM (SELECT DISTINCT date_trunc('month', at)::date AS m \
                 FROM audit_log_default WHERE at < $1) AS strays",
            )
            .bind::<diesel::sql_types::Timestamp, _>(midnight(before))
            .execute(c)
            .map_err(map_db_error)?;
            diesel::sql_query(
                "SELECT replace(substr(c.relname, 12), '_', '-') AS name FROM pg_inherits i \
                 JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'audit_log'::regclass AND c.relname ~ '^audit_log_p[0-9]{4}_[0-9]{2}$'",
            )
            .load::<Name>(c)
            .map_err(map_db_error)?
            .into_iter()
            .map(|n| n.name)
            .collect()
        }
        DbConnection::Sqlite(c) => {
            diesel::sql_query("SELECT DISTINCT substr(at, 1, 7) AS name FROM audit_log WHERE at < ?")
                .bind::<diesel::sql_types::Timestamp, _>(midnight(before))
                .load::<Name>(c)
                .map_err(map_db_error)?
                .into_iter()
                .map(|n| n.name)
                .collect()
        }
    };
    let mut months: Vec<NaiveDate> =
        names.iter().filter_map(|n| parse_month(n).ok()).filter(|m| *m < before).collect();
    months.sort();
    Ok(months)
}

/// Archives every month before `before` (the first of a month, not after the current one) into
/// `dir`, oldest first; stops at the first failure, leaving the months not yet archived as they
/// were.
pub fn archive(
    conn: &mut DbConnection,
    before: NaiveDate,
    dir: &Path,
) -> std::result::Result<Vec<Archived>, String> {
    let today = time::now().date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    if before > this_month {
        return Err(format!(
            "--before {} is a month still to come: the running month ({}) is the latest that may be named",
            month_name(before),
            month_name(this_month)
        ));
    }
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let months = months_before(conn, before).map_err(|e| e.to_string())?;
    let mut done = Vec::new();
    for month in months {
        done.push(archive_month(conn, month, dir)?);
    }
    Ok(done)
}

fn archive_month(
    conn: &mut DbConnection,
    start: NaiveDate,
    dir: &Path,
) -> std::result::Result<Archived, String> {
    let month = month_name(start);
    // A month archived before gets a further part for the entries of it that came since (a
    // node's clock behind, entries held back through an outage).
    let parts: i64 = audit_archives::table
        .filter(audit_archives::month.eq(&month))
        .count()
        .get_result(conn)
        .map_err(|e| e.to_string())?;
    let part = i32::try_from(parts + 1).map_err(|e| e.to_string())?;
    let stem = if part == 1 { format!("audit-{month}") } else { format!("audit-{month}.part{part}") };
    let file = dir.join(format!("{stem}.jsonl.gz"));
    let sum_file = dir.join(format!("{stem}.jsonl.gz.sha256"));
    // Both made new here, or nothing is done: a file already there is never touched.
    let out = new_file(&file)?;
    let sums = match new_file(&sum_file) {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_file(&file);
            return Err(format!("{month}: {e}"));
        }
    };
    let result = export(conn, start, out, &file).and_then(|entries| {
        let sha256 = verify(&file, entries)?;
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let mut sums = sums;
        writeln!(sums, "{sha256}  {name}").and_then(|()| sums.sync_all()).map_err(|e| e.to_string())?;
        sync_dir(dir);
        remove_month(conn, start, part, entries, &sha256, &file)?;
        Ok(Archived { month: month.clone(), entries, file: file.clone(), sha256 })
    });
    if result.is_err() {
        // Nothing was removed from the log: the files this run made stand for nothing.
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_file(&sum_file);
    }
    result.map_err(|e| format!("{month}: {e}"))
}

fn new_file(path: &Path) -> std::result::Result<File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes the month's entries into `file` (at `path`), in id order (which is time order), a
/// chunk at a time.
fn export(
    conn: &mut DbConnection,
    start: NaiveDate,
    file: File,
    path: &Path,
) -> std::result::Result<u64, String> {
    let (from, to) = (midnight(start), midnight(next_month(start)));
    let mut out = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
    let mut after: Option<String> = None;
    let mut entries = 0u64;
    loop {
        let mut q = audit_log::table
            .filter(audit_log::at.ge(from))
            .filter(audit_log::at.lt(to))
            .order(audit_log::id)
            .select(COLUMNS)
            .limit(CHUNK)
            .into_boxed();
        if let Some(last) = &after {
            q = q.filter(audit_log::id.gt(last.clone()));
        }
        let rows: Vec<AuditRow> = q.load(conn).map_err(|e| e.to_string())?;
        let Some(last) = rows.last() else { break };
        after = Some(last.0.clone());
        let n = rows.len();
        for row in rows {
            let event = event_of(row).map_err(|e| e.to_string())?;
            serde_json::to_writer(&mut out, &event).map_err(|e| e.to_string())?;
            out.write_all(b"\n").map_err(|e| e.to_string())?;
            entries += 1;
        }
        if n < usize::try_from(CHUNK).unwrap_or(usize::MAX) {
            break;
        }
    }
    let file = out
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.sync_all().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(entries)
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads the file back: it decompresses whole into `entries` lines of JSON; its SHA-256.
fn verify(path: &Path, entries: u64) -> std::result::Result<String, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hashing = Hashing { inner: BufReader::new(file), hash: Sha256::new() };
    let mut lines = 0u64;
    {
        let reader = BufReader::new(flate2::read::GzDecoder::new(&mut hashing));
        for line in reader.lines() {
            let line = line.map_err(|e| format!("{} does not read back: {e}", path.display()))?;
            serde_json::from_str::<serde_json::Value>(&line)
                .map_err(|e| format!("{} holds a line that is not JSON: {e}", path.display()))?;
            lines += 1;
        }
    }
    // The gzip trailer may not all have been read by the decoder: hash the rest too.
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(|e| e.to_string())?;
    if lines != entries {
        return Err(format!("{} reads back {lines} entries, not {entries}", path.display()));
    }
    Ok(format!("{:x}", hashing.hash.finalize()))
}

/// Removes the month from the log, in one transaction that first checks it holds exactly the
/// `entries` exported, and records it in `audit_archives`. On PostgreSQL the month's partition
/// is locked against new entries first (entries of other months go on being written), then
/// detached (which waits for readers of the log, at most five seconds, or the run fails and
/// can be repeated) and dropped.
fn remove_month(
    conn: &mut DbConnection,
    start: NaiveDate,
    part: i32,
    entries: u64,
    sha256: &str,
    file: &Path,
) -> std::result::Result<(), String> {
    let (from, to) = (midnight(start), midnight(next_month(start)));
    let month = month_name(start);
    let partition = format!("audit_log_p{}", start.format("%Y_%m"));
    let postgres = matches!(conn, DbConnection::Postgres(_));
    let record = (
        audit_archives::month.eq(&month),
        audit_archives::part.eq(part),
        audit_archives::entries.eq(i64::try_from(entries).unwrap_or(i64::MAX)),
        audit_archives::sha256.eq(sha256),
        audit_archives::file.eq(file.display().to_string()),
        audit_archives::archived_at.eq(time::to_db(time::now())),
        // SQLite: the mark that lets the trigger pass this month's deletes, in this transaction.
        audit_archives::deleting.eq(!postgres),
    );
    transaction(conn, |c| {
        if let DbConnection::Postgres(pg) = c {
            use diesel::connection::SimpleConnection;
            pg.batch_execute(&format!("SET LOCAL lock_timeout = '5s'; LOCK TABLE {partition} IN SHARE MODE"))
                .map_err(map_db_error)?;
        }
        // On SQLite this insert takes the write lock before the count.
        diesel::insert_into(audit_archives::table).values(record).execute(c).map_err(map_db_error)?;
        let now: i64 = audit_log::table
            .filter(audit_log::at.ge(from))
            .filter(audit_log::at.lt(to))
            .count()
            .get_result(c)
            .map_err(map_db_error)?;
        if u64::try_from(now).ok() != Some(entries) {
            return Err(Error::internal(format!(
                "the month holds {now} entries now, not the {entries} exported (entries of it came in meanwhile): run the archive again"
            )));
        }
        match c {
            DbConnection::Postgres(pg) => {
                diesel::sql_query(format!("ALTER TABLE audit_log DETACH PARTITION {partition}"))
                    .execute(pg)
                    .map_err(map_db_error)?;
                diesel::sql_query(format!("DROP TABLE {partition}")).execute(pg).map_err(map_db_error)?;
            }
            DbConnection::Sqlite(_) => {
                diesel::delete(audit_log::table.filter(audit_log::at.ge(from)).filter(audit_log::at.lt(to)))
                    .execute(c)
                    .map_err(map_db_error)?;
                diesel::update(audit_archives::table.find((&month, part)))
                    .set(audit_archives::deleting.eq(false))
                    .execute(c)
                    .map_err(map_db_error)?;
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_named_as_a_year_and_a_month() {
        assert_eq!(parse_month("2025-01"), Ok(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()));
        for bad in ["2025-13", "2025-1", "25-01", "2025/01", "", "2025-01-01"] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
        assert_eq!(next_month(NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()).to_string(), "2026-01-01");
    }
}
