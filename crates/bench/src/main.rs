//! `tongxing-bench`: loads data at volume straight through the store (batched inserts) and
//! prints how long the service's heavy queries take. Figures, not assertions.
//!
//! ```text
//! tongxing-bench alerts [--pairings N] [--contacts N] [--postgres URL] [--runs N]
//! ```
//! Without `--postgres` it runs on a fresh SQLite file; with it, on a fresh database created
//! beside the one the URL names (and dropped afterwards).

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use tongxing_core::{id, time};
use tongxing_pairing::compliance::{self, AlertFilter};
use tongxing_store::conn::DatabaseUrl;
use tongxing_store::schema::{children, mentors, pair_contacts, pairings, regions, users};
use tongxing_store::{DbConnection, transaction};

struct Args {
    pairings: usize,
    contacts: usize,
    postgres: Option<String>,
    runs: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { pairings: 20_000, contacts: 500_000, postgres: None, runs: 5 };
    let mut it = std::env::args().skip(1);
    match it.next().as_deref() {
        Some("alerts") => {}
        other => return Err(format!("unknown benchmark {other:?}; try `alerts`")),
    }
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|_| format!("{flag}: `{value}` is not a number"));
        match flag.as_str() {
            "--pairings" => args.pairings = number()?,
            "--contacts" => args.contacts = number()?,
            "--runs" => args.runs = number()?.max(1),
            "--postgres" => args.postgres = Some(value),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

/// A small deterministic generator, so two runs load the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("tongxing-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let (url, cleanup) = database(&args)?;
    let result = bench_alerts(&url, &args);
    cleanup();
    result
}

/// Removes the benchmark's database when the run ends.
type Cleanup = Box<dyn FnOnce()>;

fn database(args: &Args) -> Result<(DatabaseUrl, Cleanup), String> {
    match &args.postgres {
        None => {
            let path = std::env::temp_dir().join(format!("tongxing-bench-{}.db", uuid::Uuid::new_v4()));
            let p = path.display().to_string();
            let keep = std::env::var_os("TONGXING_BENCH_KEEP").is_some();
            let cleanup = move || {
                if keep {
                    eprintln!("kept {p}");
                    return;
                }
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{p}{suffix}"));
                }
            };
            Ok((DatabaseUrl::Sqlite(path.display().to_string()), Box::new(cleanup)))
        }
        Some(admin) => {
            let name = format!("tongxing_bench_{}", uuid::Uuid::new_v4().simple());
            let mut c = PgConnection::establish(admin).map_err(|e| e.to_string())?;
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut c)
                .map_err(|e| e.to_string())?;
            let (head, _) = admin.rsplit_once('/').ok_or("the URL names no database")?;
            let admin = admin.clone();
            let drop_name = name.clone();
            let cleanup = move || {
                if let Ok(mut c) = PgConnection::establish(&admin) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{drop_name}\" WITH (FORCE)"))
                            .execute(&mut c);
                }
            };
            Ok((DatabaseUrl::Postgres(format!("{head}/{name}")), Box::new(cleanup)))
        }
    }
}

fn bench_alerts(url: &DatabaseUrl, args: &Args) -> Result<(), String> {
    let state = tongxing::prepare(url, 4, Some("benchmark-signing-key-0123456789abcdef"), 900, 86_400)?;
    let mut conn = state.db.conn().map_err(|e| e.to_string())?;
    let started = Instant::now();
    load(&mut conn, args).map_err(|e| e.to_string())?;
    let load_time = started.elapsed();
    if let DbConnection::Postgres(_) = &mut *conn {
        diesel::sql_query("ANALYZE").execute(&mut *conn).map_err(|e| e.to_string())?;
    }
    let filter = AlertFilter::default();
    let mut first_page = Vec::new();
    let mut total = 0;
    for _ in 0..args.runs {
        let t = Instant::now();
        let page = compliance::alerts(&mut conn, &filter, 50, None).map_err(|e| e.to_string())?;
        first_page.push(t.elapsed());
        total = page.items.len();
    }
    for rule in tongxing_pairing::rules::list(&mut conn, None, true).map_err(|e| e.to_string())? {
        let only = AlertFilter { rule_id: Some(rule.id), ..AlertFilter::default() };
        let t = Instant::now();
        let page = compliance::alerts(&mut conn, &only, 200, None).map_err(|e| e.to_string())?;
        println!(
            "  rule {}: {:.1} ms, {} alerts on the first page",
            rule.code,
            ms(t.elapsed()),
            page.items.len()
        );
    }
    let all = compliance::alerts(&mut conn, &filter, 200, None).map_err(|e| e.to_string())?;
    let one = all.items.first().map(|a| a.subject_id);
    let mut timeline = Vec::new();
    if let Some(p) = one {
        for _ in 0..args.runs {
            let t = Instant::now();
            compliance::pairing_timeline(&mut conn, p, None, None, None).map_err(|e| e.to_string())?;
            timeline.push(t.elapsed());
        }
    }
    println!(
        "alerts backend={} pairings={} pair_contacts={} load_s={:.1} alerts_first_page_ms_median={:.1} alerts_first_page_ms_max={:.1} page_items={} timeline_ms_median={:.1}",
        url.backend().as_str(),
        args.pairings,
        args.contacts,
        load_time.as_secs_f64(),
        ms(median(&mut first_page)),
        ms(first_page.iter().copied().max().unwrap_or_default()),
        total,
        ms(median(&mut timeline)),
    );
    Ok(())
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [StdDuration]) -> StdDuration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// A multi-row insert on the concrete backend (the two-backend connection type inserts one
/// row at a time).
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConnection::Postgres(c) => diesel::insert_into($table).values($rows).execute(c),
        }
        .map_err(tongxing_store::map_db_error)
    };
}

/// Mentors, welfare-centre children and active pairings started in the last two years, with
/// contacts spread over each pairing's life (most months met, some missed).
fn load(conn: &mut DbConnection, args: &Args) -> tongxing_core::Result<()> {
    use tongxing_store::map_db_error;
    let now = time::to_db(time::now());
    let today = time::today();
    let village: String = regions::table
        .filter(regions::level.eq("village"))
        .select(regions::id)
        .first(conn)
        .map_err(map_db_error)?;
    let admin = id::new_id().to_string();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&admin),
            users::username.eq("bench"),
            users::display_name.eq("bench"),
            users::password_hash.eq("!"),
            users::role.eq("admin"),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    let mut rng = Lcg(42);
    let mut pairing_ids = Vec::with_capacity(args.pairings);
    let mut starts = Vec::with_capacity(args.pairings);
    const BATCH: usize = 1000;
    for chunk_start in (0..args.pairings).step_by(BATCH) {
        let n = BATCH.min(args.pairings - chunk_start);
        let mut ms = Vec::with_capacity(n);
        let mut cs = Vec::with_capacity(n);
        let mut ps = Vec::with_capacity(n);
        for i in chunk_start..chunk_start + n {
            let (m, c, p) = (id::new_id().to_string(), id::new_id().to_string(), id::new_id().to_string());
            let start: NaiveDate = today - Duration::days(30 + i64::try_from(rng.next(700)).unwrap_or(0));
            ms.push((
                mentors::id.eq(m.clone()),
                mentors::name.eq(format!("mentor {i}")),
                mentors::created_at.eq(now),
                mentors::updated_at.eq(now),
            ));
            cs.push((
                children::id.eq(c.clone()),
                children::region_id.eq(village.clone()),
                children::name.eq(format!("child {i}")),
                children::sex.eq(if i % 2 == 0 { "female" } else { "male" }),
                children::birth_date.eq(NaiveDate::from_ymd_opt(2012, 1, 1).unwrap_or(today)),
                children::in_welfare_centre.eq(true),
                children::status.eq("screening"),
                children::created_by.eq(admin.clone()),
                children::created_at.eq(now),
                children::updated_at.eq(now),
            ));
            ps.push((
                pairings::id.eq(p.clone()),
                pairings::mentor_id.eq(m),
                pairings::child_id.eq(c),
                pairings::status.eq("active"),
                pairings::started_on.eq(Some(start)),
                pairings::created_by.eq(admin.clone()),
                pairings::created_at.eq(now),
                pairings::updated_at.eq(now),
            ));
            pairing_ids.push(p);
            starts.push(start);
        }
        transaction(conn, |c| {
            insert_batch!(c, mentors::table, &ms)?;
            insert_batch!(c, children::table, &cs)?;
            insert_batch!(c, pairings::table, &ps)?;
            Ok(())
        })?;
    }
    let kinds = ["phone", "video", "centre_visit", "outing", "message"];
    for chunk_start in (0..args.contacts).step_by(BATCH) {
        let n = BATCH.min(args.contacts - chunk_start);
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let k = usize::try_from(rng.next(pairing_ids.len() as u64)).unwrap_or(0);
            let span = (today - starts[k]).num_days().max(1);
            let day = starts[k] + Duration::days(i64::try_from(rng.next(span as u64)).unwrap_or(0));
            let at = time::start_of_local_day(day) + Duration::hours(9);
            let kind = kinds[usize::try_from(rng.next(kinds.len() as u64)).unwrap_or(0)];
            rows.push((
                pair_contacts::id.eq(id::new_id().to_string()),
                pair_contacts::pairing_id.eq(pairing_ids[k].clone()),
                pair_contacts::occurred_at.eq(time::to_db(at)),
                pair_contacts::kind.eq(kind),
                pair_contacts::topics.eq("talk"),
                pair_contacts::commemorative.eq(kind == "outing"),
                pair_contacts::title.eq((kind == "outing").then_some("outing")),
                pair_contacts::recorded_by.eq(admin.clone()),
                pair_contacts::created_at.eq(now),
            ));
        }
        transaction(conn, |c| insert_batch!(c, pair_contacts::table, &rows).map(|_| ()))?;
    }
    Ok(())
}
