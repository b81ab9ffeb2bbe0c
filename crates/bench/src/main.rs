//! `tongxing-bench`: loads data at volume straight through the store (batched inserts) and
//! prints how long the service's heavy queries take. Figures, not assertions.
//!
//! ```text
//! tongxing-bench alerts [--pairings N] [--contacts N] [--postgres URL] [--runs N]
//! tongxing-bench reports [--children N] [--contacts N] [--events N] [--postgres URL] [--runs N]
//! tongxing-bench duplicates [--children N] [--postgres URL] [--runs N]
//! tongxing-bench seed --out FILE [--children N] [--contacts N] [--events N] [--pairings N]
//!                     [--pair-contacts N] [--audit N] [--postgres URL]
//! ```
//! Without `--postgres` it runs on a fresh SQLite file; with it, on a fresh database created
//! beside the one the URL names (and dropped afterwards). `seed` keeps its database and writes
//! what the HTTP load harness (`load/http.sh`) needs to drive the service over it.

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use tongxing_core::{id, time};
use tongxing_pairing::compliance::{self, AlertFilter};
use tongxing_store::conn::DatabaseUrl;
use tongxing_store::schema::{children, mentors, pair_contacts, pairings, regions, users};
use tongxing_store::{DbConnection, insert_batch, transaction};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bench {
    Alerts,
    Reports,
    Duplicates,
    Seed,
}

#[derive(Clone)]
struct Args {
    bench: Bench,
    pairings: usize,
    children: usize,
    events: usize,
    contacts: usize,
    pair_contacts: usize,
    audit: usize,
    postgres: Option<String>,
    runs: usize,
    out: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let bench = match it.next().as_deref() {
        Some("alerts") => Bench::Alerts,
        Some("reports") => Bench::Reports,
        Some("duplicates") => Bench::Duplicates,
        Some("seed") => Bench::Seed,
        other => {
            return Err(format!(
                "unknown benchmark {other:?}; try `alerts`, `reports`, `duplicates` or `seed`"
            ));
        }
    };
    let contacts = match bench {
        Bench::Alerts => 500_000,
        // The duplicate check reads children and households only.
        Bench::Duplicates => 0,
        _ => 1_000_000,
    };
    let mut args = Args {
        bench,
        pairings: 20_000,
        children: 100_000,
        events: 10_000,
        contacts,
        pair_contacts: 500_000,
        audit: 1_000_000,
        postgres: None,
        runs: if bench == Bench::Duplicates { 200 } else { 5 },
        out: None,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|_| format!("{flag}: `{value}` is not a number"));
        match flag.as_str() {
            "--pairings" => args.pairings = number()?,
            "--children" => args.children = number()?,
            "--events" => args.events = number()?,
            "--contacts" => args.contacts = number()?,
            "--runs" => args.runs = number()?.max(1),
            "--pair-contacts" => args.pair_contacts = number()?,
            "--audit" => args.audit = number()?,
            "--out" => args.out = Some(value),
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

/// A child as a register holds one: a common surname with one or two given characters, a birth
/// date spread over the programmes' ages, and (for four in five) a national ID number carrying
/// that date. The duplicate rule's lookups (birth date, name in a village, national ID) then meet
/// the spread of a real register rather than one date and one name shape for everyone.
struct Person {
    name: String,
    sex: &'static str,
    born: NaiveDate,
    national_id: Option<String>,
}

fn person(rng: &mut Lcg, i: usize, today: NaiveDate) -> Person {
    const SURNAMES: &[&str] = &[
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
        "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田",
        "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈",
    ];
    const GIVEN: &[&str] = &[
        "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
        "秀", "霞", "平", "刚", "桂", "英", "华", "文", "玉", "兰", "辉", "建", "红", "梅", "鑫", "宇", "浩",
        "欣", "怡", "佳", "子", "涵", "轩", "晨", "雨", "博", "睿", "思", "雪", "琪", "俊", "嘉", "一",
    ];
    let pick = |rng: &mut Lcg, list: &[&'static str]| {
        list[usize::try_from(rng.next(list.len() as u64)).unwrap_or(0)]
    };
    let mut name = pick(rng, SURNAMES).to_string();
    name.push_str(pick(rng, GIVEN));
    if rng.next(3) > 0 {
        name.push_str(pick(rng, GIVEN));
    }
    let born = today - Duration::days(365 + i64::try_from(rng.next(16 * 365)).unwrap_or(0));
    let national_id = (rng.next(5) > 0).then(|| {
        // A region prefix from the child's position keeps every number distinct.
        let body = format!("42{:04}{}{:03}", (i / 1000) % 10_000, born.format("%Y%m%d"), i % 1000);
        "0123456789X"
            .chars()
            .map(|c| format!("{body}{c}"))
            .find(|n| tongxing_core::national_id::NationalId::parse(n).is_ok())
            .unwrap_or(body)
    });
    Person { name, sex: if rng.next(2) == 0 { "female" } else { "male" }, born, national_id }
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
    let result = match args.bench {
        Bench::Alerts => bench_alerts(&url, &args),
        Bench::Reports => bench_reports(&url, &args),
        Bench::Duplicates => bench_duplicates(&url, &args),
        // The harness drops the database itself when it is done with it.
        Bench::Seed => return seed(&url, &args),
    };
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
    let state = tongxing::prepare(url, &tongxing::Options::default())?;
    let mut conn = state.db.conn().map_err(|e| e.to_string())?;
    let started = Instant::now();
    load(&mut conn, args).map_err(|e| e.to_string())?;
    let load_time = started.elapsed();
    analyse(&mut conn)?;
    let filter = AlertFilter::default();
    let system = tongxing_core::access::Scope::system();
    let mut first_page = Vec::new();
    let mut total = 0;
    for _ in 0..args.runs {
        let t = Instant::now();
        let page = compliance::alerts(&mut conn, &system, &filter, 50, None).map_err(|e| e.to_string())?;
        first_page.push(t.elapsed());
        total = page.items.len();
    }
    for rule in tongxing_pairing::rules::list(&mut conn, None, true).map_err(|e| e.to_string())? {
        let only = AlertFilter { rule_id: Some(rule.id), ..AlertFilter::default() };
        let t = Instant::now();
        let page = compliance::alerts(&mut conn, &system, &only, 200, None).map_err(|e| e.to_string())?;
        println!(
            "  rule {}: {:.1} ms, {} alerts on the first page",
            rule.code,
            ms(t.elapsed()),
            page.items.len()
        );
    }
    // A coordinator of the town that holds every child: the scope's condition at its widest,
    // in the same query.
    let town: Option<String> = regions::table
        .filter(regions::level.eq("village"))
        .select(regions::parent_id)
        .first(&mut conn)
        .map_err(|e| e.to_string())?;
    if let Some(town) = town.and_then(|t| t.parse().ok()) {
        let role = tongxing_core::role::Role::Coordinator;
        let coordinator = tongxing_core::access::Scope::of(role, uuid::Uuid::nil(), None, Some(town));
        let t = Instant::now();
        let page =
            compliance::alerts(&mut conn, &coordinator, &filter, 50, None).map_err(|e| e.to_string())?;
        println!(
            "  coordinator of the town: {:.1} ms, {} alerts on the first page",
            ms(t.elapsed()),
            page.items.len()
        );
        let in_town = AlertFilter { region_id: Some(town), ..AlertFilter::default() };
        let t = Instant::now();
        let page = compliance::alerts(&mut conn, &system, &in_town, 50, None).map_err(|e| e.to_string())?;
        println!(
            "  the town's, by region_id: {:.1} ms, {} alerts on the first page",
            ms(t.elapsed()),
            page.items.len()
        );
    }
    let all = compliance::alerts(&mut conn, &system, &filter, 200, None).map_err(|e| e.to_string())?;
    let one = all.items.first().map(|a| a.subject_id);
    let mut timeline = Vec::new();
    if let Some(p) = one {
        for _ in 0..args.runs {
            let t = Instant::now();
            compliance::pairing_timeline(
                &mut conn,
                &tongxing_core::access::Scope::system(),
                p,
                None,
                None,
                None,
            )
            .map_err(|e| e.to_string())?;
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

/// Gives the planner statistics of the loaded data, as the service has them: on SQLite what it
/// does at start-up and hourly (`TONGXING_BENCH_NO_STATS=1` skips it, to compare), on
/// PostgreSQL what autovacuum would do.
fn analyse(conn: &mut DbConnection) -> Result<(), String> {
    if let DbConnection::Postgres(_) = conn {
        diesel::sql_query("VACUUM ANALYZE").execute(conn).map_err(|e| e.to_string())?;
    } else if std::env::var_os("TONGXING_BENCH_NO_STATS").is_none() {
        diesel::sql_query("PRAGMA optimize = 0x10002").execute(conn).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn bench_reports(url: &DatabaseUrl, args: &Args) -> Result<(), String> {
    use tongxing_reporting::scope::Coverage;
    use tongxing_reporting::suppression::Threshold;
    let state = tongxing::prepare(url, &tongxing::Options::default())?;
    let mut conn = state.db.conn().map_err(|e| e.to_string())?;
    let started = Instant::now();
    load_case_work(&mut conn, args).map_err(|e| e.to_string())?;
    let load_time = started.elapsed();
    analyse(&mut conn)?;
    let from = Some(time::today() - Duration::days(365));
    let system = tongxing_core::access::Scope::system();
    let scope = Coverage::resolve(&mut conn, &system, from, None, None, Threshold::default())
        .map_err(|e| e.to_string())?;
    let mut line = format!(
        "reports backend={} children={} contacts={} events={} load_s={:.1}",
        url.backend().as_str(),
        args.children,
        args.contacts,
        args.events,
        load_time.as_secs_f64()
    );
    type Report = fn(&mut DbConnection, &Coverage) -> tongxing_core::Result<()>;
    let reports: [(&str, Report); 4] = [
        ("summary", |c, s| tongxing_reporting::summary::summary(c, s).map(|_| ())),
        ("events", |c, s| tongxing_reporting::events::report(c, s).map(|_| ())),
        ("assessments", |c, s| tongxing_reporting::assessments::report(c, s).map(|_| ())),
        ("compliance", |c, s| tongxing_reporting::compliance::report(c, s).map(|_| ())),
    ];
    for (name, run) in reports {
        let mut times = Vec::new();
        for _ in 0..args.runs {
            let t = Instant::now();
            run(&mut conn, &scope).map_err(|e| e.to_string())?;
            times.push(t.elapsed());
        }
        line.push_str(&format!(" {name}_ms_median={:.1}", ms(median(&mut times))));
    }
    println!("{line}");
    Ok(())
}

/// The duplicate check a create runs, over a register of `--children` children: for each of
/// `--runs` new children (one in two a near copy of a recorded child: the same birth date or
/// day and month swapped, the same or a one-character-different name, in the same village), the
/// candidates found and scored (`duplicates::candidates`), and the whole create through the
/// domain (validation, national-ID holders, the insert, the check and the review queue).
fn bench_duplicates(url: &DatabaseUrl, args: &Args) -> Result<(), String> {
    use tongxing_cases::children::{self as child_records, Category, ChildInput, Sex};
    use tongxing_cases::{duplicates, similarity};
    let state = tongxing::prepare(url, &tongxing::Options::default())?;
    let mut conn = state.db.conn().map_err(|e| e.to_string())?;
    let started = Instant::now();
    load_case_work(&mut conn, &Args { events: 0, ..args.clone() }).map_err(|e| e.to_string())?;
    let load_time = started.elapsed();
    analyse(&mut conn)?;
    let admin = bench_user(&mut conn).map_err(|e| e.to_string())?;
    let scope =
        tongxing_core::access::Scope::system_as(uuid::Uuid::parse_str(&admin).map_err(|e| e.to_string())?);
    let recorded: Vec<(String, String, NaiveDate, String)> = children::table
        .select((children::region_id, children::name, children::birth_date, children::sex))
        .order(children::id)
        .limit(i64::try_from(args.runs).unwrap_or(i64::MAX))
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    let today = time::today();
    let mut rng = Lcg(11);
    let (mut checks, mut creates, mut scored) = (Vec::new(), Vec::new(), 0usize);
    for (i, (region, name, born, sex)) in recorded.into_iter().enumerate() {
        let fresh = person(&mut rng, 10_000_000 + i, today);
        let (name, born) = if i % 2 == 0 {
            let mut chars: Vec<char> = name.chars().collect();
            if i % 4 == 0
                && let Some(last) = chars.last_mut()
            {
                *last = fresh.name.chars().last().unwrap_or(*last);
            }
            let born = if i % 8 == 0 { similarity::swapped(born).unwrap_or(born) } else { born };
            (chars.into_iter().collect::<String>(), born)
        } else {
            (fresh.name, fresh.born)
        };
        let region_id = uuid::Uuid::parse_str(&region).map_err(|e| e.to_string())?;
        let sex = if sex == "female" { Sex::Female } else { Sex::Male };
        let profile = similarity::Profile {
            id: uuid::Uuid::nil(),
            name: name.clone(),
            birth_date: born,
            sex,
            national_id: None,
            household_id: None,
            region_id,
            phones: Vec::new(),
        };
        let t = Instant::now();
        scored += duplicates::candidates(&mut conn, &profile).map_err(|e| e.to_string())?.len();
        checks.push(t.elapsed());
        let input = ChildInput {
            id: None,
            household_id: None,
            region_id,
            name,
            sex,
            birth_date: born,
            national_id: None,
            categories: vec![Category::LeftBehind],
            school: None,
            health_notes: None,
            disability_notes: None,
            organisation_id: None,
            caseworker_id: None,
        };
        let t = Instant::now();
        transaction(&mut conn, |c| child_records::create(c, &scope, input).map(|_| ()))
            .map_err(|e| e.to_string())?;
        creates.push(t.elapsed());
    }
    let p = |v: &mut Vec<StdDuration>, q: f64| {
        v.sort();
        v.get(((v.len() as f64 - 1.0) * q).round() as usize).map_or(0.0, |d| ms(*d))
    };
    println!(
        "duplicates backend={} children={} load_s={:.1} runs={} candidates_scored={} check_ms_p50={:.2} check_ms_p99={:.2} create_ms_p50={:.2} create_ms_p99={:.2}",
        url.backend().as_str(),
        args.children,
        load_time.as_secs_f64(),
        checks.len(),
        scored,
        p(&mut checks, 0.5),
        p(&mut checks, 0.99),
        p(&mut creates, 0.5),
        p(&mut creates, 0.99),
    );
    Ok(())
}

/// Children in households (about 1.7 children a household), case-work contacts over the last
/// two years, assessments, and events with rosters and attendance.
fn load_case_work(conn: &mut DbConnection, args: &Args) -> tongxing_core::Result<()> {
    use tongxing_store::map_db_error;
    use tongxing_store::schema::{
        assessments, contacts, event_attendance, event_roster, events, households, organisations, volunteers,
    };
    let now = time::to_db(time::now());
    let today = time::today();
    let villages: Vec<String> = regions::table
        .filter(regions::level.eq("village"))
        .select(regions::id)
        .load(conn)
        .map_err(map_db_error)?;
    let admin = bench_user(conn)?;
    let mut rng = Lcg(7);
    const BATCH: usize = 1000;
    let household_count = (args.children * 3 / 5).max(1);
    let mut household_ids = Vec::with_capacity(household_count);
    for chunk in (0..household_count).step_by(BATCH) {
        let n = BATCH.min(household_count - chunk);
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let h = id::new_id().to_string();
            rows.push((
                households::id.eq(h.clone()),
                households::region_id
                    .eq(villages[usize::try_from(rng.next(villages.len() as u64)).unwrap_or(0)].clone()),
                households::created_by.eq(admin.clone()),
                households::created_at.eq(now),
                households::updated_at.eq(now),
            ));
            household_ids.push(h);
        }
        transaction(conn, |c| insert_batch!(c, households::table, &rows).map(|_| ()))?;
    }
    let mut child_ids = Vec::with_capacity(args.children);
    for chunk in (0..args.children).step_by(BATCH) {
        let n = BATCH.min(args.children - chunk);
        let mut rows = Vec::with_capacity(n);
        for i in chunk..chunk + n {
            let c = id::new_id().to_string();
            let registered = rng.next(10) < 7;
            let opened = today - Duration::days(i64::try_from(rng.next(900)).unwrap_or(0));
            let h = household_ids[i % household_ids.len()].clone();
            let who = person(&mut rng, i, today);
            rows.push((
                children::id.eq(c.clone()),
                children::household_id.eq(Some(h)),
                children::region_id
                    .eq(villages[usize::try_from(rng.next(villages.len() as u64)).unwrap_or(0)].clone()),
                children::name.eq(who.name),
                children::sex.eq(who.sex),
                children::birth_date.eq(who.born),
                children::national_id.eq(who.national_id),
                children::status.eq(if registered { "registered" } else { "screening" }),
                children::case_number.eq(registered.then(|| format!("B-{i}"))),
                children::registered_on.eq(registered.then_some(opened)),
                children::created_by.eq(admin.clone()),
                children::created_at.eq(now),
                children::updated_at.eq(now),
            ));
            child_ids.push(c);
        }
        transaction(conn, |c| insert_batch!(c, children::table, &rows).map(|_| ()))?;
    }
    for chunk in (0..args.contacts).step_by(BATCH) {
        let n = BATCH.min(args.contacts - chunk);
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let phone = rng.next(2) == 0;
            let at =
                time::start_of_local_day(today - Duration::days(i64::try_from(rng.next(730)).unwrap_or(0)))
                    + Duration::hours(10);
            rows.push((
                contacts::id.eq(id::new_id().to_string()),
                contacts::kind.eq(if phone { "phone_visit" } else { "home_visit" }),
                contacts::household_id.eq(Some(
                    household_ids[usize::try_from(rng.next(household_ids.len() as u64)).unwrap_or(0)].clone(),
                )),
                contacts::child_id.eq((!phone).then(|| {
                    child_ids[usize::try_from(rng.next(child_ids.len() as u64)).unwrap_or(0)].clone()
                })),
                contacts::occurred_at.eq(time::to_db(at)),
                contacts::made_by.eq(admin.clone()),
                contacts::outcome.eq(if rng.next(5) == 0 { "not_reached" } else { "completed" }),
                contacts::created_at.eq(now),
            ));
        }
        transaction(conn, |c| insert_batch!(c, contacts::table, &rows).map(|_| ()))?;
    }
    let assessments_count = args.children / 2;
    for chunk in (0..assessments_count).step_by(BATCH) {
        let n = BATCH.min(assessments_count - chunk);
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let mut s = || 1 + i32::try_from(rng.next(5)).unwrap_or(0);
            let scores = [s(), s(), s(), s()];
            rows.push((
                assessments::id.eq(id::new_id().to_string()),
                assessments::child_id
                    .eq(child_ids[usize::try_from(rng.next(child_ids.len() as u64)).unwrap_or(0)].clone()),
                assessments::assessed_on
                    .eq(today - Duration::days(i64::try_from(rng.next(700)).unwrap_or(0))),
                assessments::assessor_id.eq(admin.clone()),
                assessments::living_conditions_score.eq(scores[0]),
                assessments::psychological_state_score.eq(scores[1]),
                assessments::study_score.eq(scores[2]),
                assessments::social_development_score.eq(scores[3]),
                assessments::risk_level.eq("medium"),
                assessments::created_at.eq(now),
            ));
        }
        transaction(conn, |c| insert_batch!(c, assessments::table, &rows).map(|_| ()))?;
    }
    let org = id::new_id().to_string();
    diesel::insert_into(organisations::table)
        .values((
            organisations::id.eq(&org),
            organisations::name.eq("bench organisation"),
            organisations::kind.eq("social_organisation"),
            organisations::created_at.eq(now),
            organisations::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    let volunteer_ids: Vec<String> = (0..500).map(|_| id::new_id().to_string()).collect();
    let rows: Vec<_> = volunteer_ids
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                volunteers::id.eq(v.clone()),
                volunteers::name.eq(format!("volunteer {i}")),
                volunteers::source.eq("community"),
                volunteers::skills.eq("reading_companionship"),
                volunteers::created_at.eq(now),
                volunteers::updated_at.eq(now),
            )
        })
        .collect();
    transaction(conn, |c| insert_batch!(c, volunteers::table, &rows).map(|_| ()))?;
    let types = ["quarterly_theme", "care", "visit_and_comfort", "mental_health_consultation", "other"];
    for chunk in (0..args.events).step_by(200) {
        let n = 200.min(args.events - chunk);
        let (mut es, mut rs, mut at_rows) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let e = id::new_id().to_string();
            let start =
                time::start_of_local_day(today - Duration::days(i64::try_from(rng.next(730)).unwrap_or(0)))
                    + Duration::hours(9);
            es.push((
                events::id.eq(e.clone()),
                events::title.eq("event"),
                events::event_type.eq(types[usize::try_from(rng.next(5)).unwrap_or(0)]),
                events::programme.eq("five_plus_n"),
                events::starts_at.eq(time::to_db(start)),
                events::ends_at.eq(time::to_db(start + Duration::hours(2))),
                events::region_id
                    .eq(villages[usize::try_from(rng.next(villages.len() as u64)).unwrap_or(0)].clone()),
                events::organiser_id.eq(org.clone()),
                events::service_forms.eq("reading_companionship,hand_painting"),
                events::status.eq("held"),
                events::created_by.eq(admin.clone()),
                events::created_at.eq(now),
                events::updated_at.eq(now),
            ));
            let first = usize::try_from(rng.next(volunteer_ids.len() as u64 - 5)).unwrap_or(0);
            for v in &volunteer_ids[first..first + 4] {
                rs.push((
                    event_roster::id.eq(id::new_id().to_string()),
                    event_roster::event_id.eq(e.clone()),
                    event_roster::volunteer_id.eq(v.clone()),
                    event_roster::role.eq("volunteer"),
                    event_roster::minutes.eq(150),
                    event_roster::created_at.eq(now),
                ));
            }
            let first = usize::try_from(rng.next(child_ids.len() as u64 - 12)).unwrap_or(0);
            for c in &child_ids[first..first + 10] {
                at_rows.push((
                    event_attendance::id.eq(id::new_id().to_string()),
                    event_attendance::event_id.eq(e.clone()),
                    event_attendance::child_id.eq(c.clone()),
                    event_attendance::guardian_present.eq(true),
                    event_attendance::recorded_by.eq(admin.clone()),
                    event_attendance::created_at.eq(now),
                ));
            }
        }
        transaction(conn, |c| {
            insert_batch!(c, events::table, &es)?;
            insert_batch!(c, event_roster::table, &rs)?;
            insert_batch!(c, event_attendance::table, &at_rows)?;
            Ok(())
        })?;
    }
    Ok(())
}

/// Loads the whole dataset (case work, pairings, audit log), adds a user the harness can log in
/// as, and writes the database URL, the credentials and sample ids to `--out` as JSON.
fn seed(url: &DatabaseUrl, args: &Args) -> Result<(), String> {
    use tongxing_accounts::users::{self, UserInput};
    use tongxing_core::role::Role;
    let out = args.out.clone().ok_or("seed needs --out FILE")?;
    let state = tongxing::prepare(url, &tongxing::Options::default())?;
    let mut conn = state.db.conn().map_err(|e| e.to_string())?;
    let started = Instant::now();
    load_case_work(&mut conn, args).map_err(|e| e.to_string())?;
    let case_work = started.elapsed();
    let pairing_args = Args { contacts: args.pair_contacts, ..args.clone() };
    load(&mut conn, &pairing_args).map_err(|e| e.to_string())?;
    load_audit(&mut conn, args.audit).map_err(|e| e.to_string())?;
    if let DbConnection::Postgres(_) = &mut *conn {
        diesel::sql_query("VACUUM ANALYZE").execute(&mut *conn).map_err(|e| e.to_string())?;
    }
    // (On SQLite the service analyses what it needs when it starts.)
    let password = tongxing_accounts::tokens::generate_secret();
    let input = UserInput {
        id: None,
        username: "harness".into(),
        display_name: "load harness".into(),
        role: Role::Admin,
        organisation_id: None,
        region_id: None,
        password: password.clone(),
    };
    users::create(&mut conn, input).map_err(|e| e.to_string())?;
    // Sample children (for reads and new contacts), and the town with the most children (for
    // the list with a region filter).
    let mut rng = Lcg(99);
    let total: i64 = children::table.count().get_result(&mut *conn).map_err(|e| e.to_string())?;
    let mut sample = Vec::new();
    for _ in 0..1000 {
        let offset = i64::try_from(rng.next(u64::try_from(total).unwrap_or(1))).unwrap_or(0);
        let id: String = children::table
            .select(children::id)
            .order(children::id.asc())
            .offset(offset)
            .first(&mut *conn)
            .map_err(|e| e.to_string())?;
        sample.push(id);
    }
    let town: String = diesel::sql_query(
        "SELECT r.parent_id AS id FROM children c JOIN regions r ON r.id = c.region_id \
         GROUP BY r.parent_id ORDER BY COUNT(*) DESC LIMIT 1",
    )
    .get_result::<IdRow>(&mut *conn)
    .map_err(|e| e.to_string())?
    .id;
    let database_url = match url {
        DatabaseUrl::Sqlite(p) => format!("sqlite://{p}"),
        DatabaseUrl::Postgres(u) => u.clone(),
    };
    let doc = serde_json::json!({
        "database_url": database_url,
        "backend": url.backend().as_str(),
        "username": "harness",
        "password": password,
        "child_ids": sample,
        "region_id": town,
        "counts": {
            "children": total,
            "contacts": args.contacts,
            "pairings": args.pairings,
            "pair_contacts": args.pair_contacts,
            "events": args.events,
            "audit": args.audit,
        },
        "load_s": started.elapsed().as_secs_f64(),
        "case_work_load_s": case_work.as_secs_f64(),
    });
    std::fs::write(&out, doc.to_string()).map_err(|e| format!("cannot write {out}: {e}"))?;
    eprintln!(
        "seeded {} in {:.0} s: {total} children, {} contacts, {} pairings, {} pair contacts, {} events, {} audit entries",
        url.backend().as_str(),
        started.elapsed().as_secs_f64(),
        args.contacts,
        args.pairings,
        args.pair_contacts,
        args.events,
        args.audit
    );
    Ok(())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// Audit entries: reads of children by one user over the last year, in batches.
fn load_audit(conn: &mut DbConnection, count: usize) -> tongxing_core::Result<()> {
    use tongxing_store::schema::audit_log;
    let children: Vec<String> =
        children::table.select(children::id).limit(5000).load(conn).map_err(tongxing_store::map_db_error)?;
    let actor = id::new_id().to_string();
    let mut rng = Lcg(5);
    const BATCH: usize = 1000;
    for chunk in (0..count).step_by(BATCH) {
        let n = BATCH.min(count - chunk);
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let at = time::now() - Duration::seconds(i64::try_from(rng.next(31_536_000)).unwrap_or(0));
            let child = children[usize::try_from(rng.next(children.len() as u64)).unwrap_or(0)].clone();
            rows.push((
                audit_log::id.eq(id::new_id().to_string()),
                audit_log::at.eq(time::to_db(at)),
                audit_log::actor_kind.eq("user"),
                audit_log::actor_id.eq(Some(actor.clone())),
                audit_log::actor_role.eq(Some("caseworker")),
                audit_log::action.eq("read"),
                audit_log::resource.eq("/api/v1/children/{id}"),
                audit_log::resource_id.eq(Some(child.clone())),
                audit_log::child_id.eq(Some(child)),
                audit_log::status.eq(200),
                audit_log::address.eq(Some("127.0.0.1")),
            ));
        }
        transaction(conn, |c| insert_batch!(c, audit_log::table, &rows).map(|_| ()))?;
    }
    Ok(())
}

/// The user the loaded records name as their author (no password: it cannot log in).
fn bench_user(conn: &mut DbConnection) -> tongxing_core::Result<String> {
    use tongxing_store::map_db_error;
    let existing: Option<String> = users::table
        .filter(users::username.eq("bench"))
        .select(users::id)
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let admin = id::new_id().to_string();
    let now = time::to_db(time::now());
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
    Ok(admin)
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [StdDuration]) -> StdDuration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
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
    let admin = bench_user(conn)?;
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
            let who = person(&mut rng, i, today);
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
                children::name.eq(who.name),
                children::sex.eq(who.sex),
                children::birth_date.eq(who.born),
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
    // The contacts went in beside the store's write path: count them as the service would.
    for rule in tongxing_pairing::rules::list(conn, None, false)? {
        transaction(conn, |c| tongxing_pairing::tallies::rebuild(c, rule.id))?;
    }
    Ok(())
}
