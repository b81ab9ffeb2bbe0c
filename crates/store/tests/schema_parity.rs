//! The two backends' schemas are kept in step: both sets of migrations are applied to fresh
//! databases, each schema is read back from the database's own catalogue, described in one
//! vocabulary, and every difference must be listed in [`ALLOWED`] with its reason.
//!
//! Compared: tables; columns with their type (mapped to one vocabulary) and nullability;
//! primary keys (with PostgreSQL's `INCLUDE` columns); indexes, unique or not, with their key
//! columns and partial-index predicates; foreign keys with their actions; CHECK constraints
//! (expressions normalised: casts, `= ANY (ARRAY[..])`, `BETWEEN`, parentheses, spacing and
//! case); triggers by name; PostgreSQL's exclusion constraints by name. Not compared: column
//! order and defaults, and PostgreSQL's partitions (the partitioned table stands for them).

use std::collections::{BTreeMap, BTreeSet};

use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use tongxing_store::testing::{TestDb, backends};
use tongxing_store::{Backend, DbConnection};

/// Which backend has an item the other lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Only {
    Sqlite,
    Postgres,
}

/// The differences the two schemas are allowed to have: (which backend alone has it, the item
/// as this test describes it, why).
const ALLOWED: &[(Only, &str, &str)] = &[
    // Pairing exclusivity over dates (migration 000014).
    (
        Only::Postgres,
        "exclusion constraint on pairings: pairings_mentor_intervals_disjoint",
        "SQLite has no exclusion constraints; the triggers pairings_mentor_intervals_disjoint_{insert,update} hold the same rule and raise the constraint's name",
    ),
    (
        Only::Postgres,
        "exclusion constraint on pairings: pairings_child_intervals_disjoint",
        "SQLite has no exclusion constraints; the triggers pairings_child_intervals_disjoint_{insert,update} hold the same rule and raise the constraint's name",
    ),
    (
        Only::Sqlite,
        "trigger on pairings: pairings_mentor_intervals_disjoint_insert",
        "stands in for PostgreSQL's exclusion constraint pairings_mentor_intervals_disjoint",
    ),
    (
        Only::Sqlite,
        "trigger on pairings: pairings_mentor_intervals_disjoint_update",
        "stands in for PostgreSQL's exclusion constraint pairings_mentor_intervals_disjoint",
    ),
    (
        Only::Sqlite,
        "trigger on pairings: pairings_child_intervals_disjoint_insert",
        "stands in for PostgreSQL's exclusion constraint pairings_child_intervals_disjoint",
    ),
    (
        Only::Sqlite,
        "trigger on pairings: pairings_child_intervals_disjoint_update",
        "stands in for PostgreSQL's exclusion constraint pairings_child_intervals_disjoint",
    ),
    // The compliance tallies (migration 000008).
    (
        Only::Sqlite,
        "primary key of compliance_tallies: (rule_id, period_start, subject_id)",
        "the same key; SQLite's table is WITHOUT ROWID, so the row (with activities) lives in the key's b-tree already",
    ),
    (
        Only::Postgres,
        "primary key of compliance_tallies: (rule_id, period_start, subject_id) include (activities)",
        "PostgreSQL covers `activities` with INCLUDE so that the alert list reads the index alone; SQLite gets that from WITHOUT ROWID",
    ),
    // The audit log is append-only (migration 000007).
    (
        Only::Sqlite,
        "trigger on audit_log: audit_log_no_update",
        "SQLite triggers fire for one event each; PostgreSQL's audit_log_no_change covers UPDATE and DELETE in one",
    ),
    (
        Only::Sqlite,
        "trigger on audit_log: audit_log_no_delete",
        "SQLite triggers fire for one event each; PostgreSQL's audit_log_no_change covers UPDATE and DELETE in one",
    ),
    (
        Only::Postgres,
        "trigger on audit_log: audit_log_no_change",
        "one PostgreSQL trigger (BEFORE UPDATE OR DELETE) where SQLite needs audit_log_no_update and audit_log_no_delete",
    ),
    // The audit log over years (migration 000018).
    (
        Only::Sqlite,
        "primary key of audit_log: (id)",
        "PostgreSQL partitions the log by month of `at`, and a partitioned table's key must hold the partition key: (id, at); ids are unique on both",
    ),
    (
        Only::Postgres,
        "primary key of audit_log: (id, at)",
        "PostgreSQL partitions the log by month of `at`, and a partitioned table's key must hold the partition key",
    ),
    (
        Only::Sqlite,
        "trigger on audit_archives: audit_archives_no_delete",
        "SQLite triggers fire for one event each; PostgreSQL's audit_archives_no_change covers UPDATE and DELETE in one",
    ),
    (
        Only::Sqlite,
        "trigger on audit_archives: audit_archives_no_update",
        "SQLite triggers fire for one event each; PostgreSQL's audit_archives_no_change covers UPDATE and DELETE in one (SQLite's lets the archive clear `deleting`, which PostgreSQL never sets)",
    ),
    (
        Only::Postgres,
        "trigger on audit_archives: audit_archives_no_change",
        "one PostgreSQL trigger (BEFORE UPDATE OR DELETE) where SQLite needs audit_archives_no_delete and audit_archives_no_update",
    ),
    (
        Only::Postgres,
        "trigger on audit_archives: audit_archives_no_truncate",
        "SQLite has no TRUNCATE (its DELETE without WHERE is refused by audit_archives_no_delete)",
    ),
    (
        Only::Postgres,
        "trigger on audit_log: audit_log_no_truncate",
        "SQLite has no TRUNCATE (its DELETE without WHERE is refused by audit_log_no_delete)",
    ),
];

#[test]
fn sqlite_and_postgres_schemas_agree() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let sqlite = TestDb::migrated(Backend::Sqlite);
    let postgres = TestDb::migrated(Backend::Postgres);
    let s = sqlite_schema(&mut sqlite.connect());
    let p = postgres_schema(&mut postgres.connect());
    assert!(s.len() > 100 && p.len() > 100, "the schemas were not read: {} and {} items", s.len(), p.len());

    let allowed: BTreeMap<(Only, &str), &str> =
        ALLOWED.iter().map(|&(o, item, why)| ((o, item), why)).collect();
    let mut found = BTreeSet::new();
    let mut unexplained = Vec::new();
    for (only, mine, theirs) in [(Only::Sqlite, &s, &p), (Only::Postgres, &p, &s)] {
        for (item, names) in mine {
            if theirs.contains_key(item) {
                continue;
            }
            if allowed.contains_key(&(only, item.as_str())) {
                found.insert((only, item.as_str()));
            } else {
                let named = if names.is_empty() { String::new() } else { format!(" [{}]", names.join(", ")) };
                unexplained.push(format!("  only on {}: {item}{named}", label(only)));
            }
        }
    }
    let stale: Vec<String> = ALLOWED
        .iter()
        .filter(|(o, item, _)| !found.contains(&(*o, *item)))
        .map(|(o, item, _)| format!("  allowed but no longer different (only on {}): {item}", label(*o)))
        .collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "the SQLite and PostgreSQL schemas differ. Bring the migrations in step (a new migration pair), \
         or list the difference with its reason in ALLOWED (crates/store/tests/schema_parity.rs):\n{}\n",
        unexplained.into_iter().chain(stale).collect::<Vec<_>>().join("\n")
    );
}

fn label(o: Only) -> &'static str {
    match o {
        Only::Sqlite => "SQLite",
        Only::Postgres => "PostgreSQL",
    }
}

/// A schema as described items, each with the names it goes by (an index's name, a check's
/// constraint name), shown in failures but not compared where a backend chooses them.
type Schema = BTreeMap<String, Vec<String>>;

fn add(schema: &mut Schema, item: String, name: Option<String>) {
    let names = schema.entry(item).or_default();
    if let Some(n) = name {
        names.push(n);
    }
}

/// A column type in one vocabulary.
fn vocabulary(declared: &str) -> String {
    let t = declared.trim().to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or("").trim();
    match base {
        "text" | "varchar" | "character varying" | "char" | "character" | "string" => "text",
        "integer" | "int" | "int4" | "smallint" | "int2" => "integer",
        "bigint" | "int8" => "bigint",
        "boolean" | "bool" => "boolean",
        "date" => "date",
        "timestamp" | "timestamp without time zone" | "datetime" => "timestamp",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "real" | "double" | "double precision" | "float" | "float4" | "float8" => "real",
        "blob" | "bytea" => "bytes",
        other => other,
    }
    .to_owned()
}

/// A CHECK expression or index predicate, normalised so that the two backends' spellings of
/// the same condition compare equal: lower case, casts dropped, `= ANY (ARRAY[..])` as `IN`,
/// `<> ALL (ARRAY[..])` as `NOT IN`, `x BETWEEN a AND b` as `x >= a AND x <= b`, and no
/// parentheses, quotes around identifiers or spacing.
fn normalise(expr: &str) -> String {
    let mut e = drop_casts(&expr.to_lowercase());
    e = e.replace("= any (array[", " in (").replace("<> all (array[", " not in (").replace("])", ")");
    e = single_element_lists(&e);
    let spaced = e.replace(['(', ')'], " ").replace('"', "");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if i + 3 < tokens.len() && tokens[i] == "between" && tokens[i + 2] == "and" {
            let subject = out.pop().unwrap_or_default();
            out.extend([subject.clone(), ">=".into(), tokens[i + 1].into(), "and".into(), subject]);
            out.extend(["<=".into(), tokens[i + 3].into()]);
            i += 4;
        } else {
            out.push(tokens[i].to_owned());
            i += 1;
        }
    }
    out.concat()
}

/// `x IN (a)` as `x = a` (PostgreSQL stores a one-element list so).
fn single_element_lists(e: &str) -> String {
    let mut out = String::with_capacity(e.len());
    let mut rest = e;
    while let Some(at) = rest.find(" in (") {
        let inner = &rest[at + 5..];
        match inner.find(')') {
            Some(close) if !inner[..close].contains(',') && !inner[..close].contains('(') => {
                let negated = rest[..at].ends_with(" not");
                let head = if negated { &rest[..at - 4] } else { &rest[..at] };
                out.push_str(head);
                out.push_str(if negated { " <> " } else { " = " });
                out.push_str(&inner[..close]);
                rest = &inner[close + 1..];
            }
            _ => {
                out.push_str(&rest[..at + 5]);
                rest = inner;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Drops PostgreSQL's casts (`'x'::text`, `'a'::character varying`, `'{}'::text[]`).
fn drop_casts(e: &str) -> String {
    const CONTINUED: [&str; 5] = [" varying", " precision", " without time zone", " with time zone", "[]"];
    let mut out = String::with_capacity(e.len());
    let mut rest = e;
    while let Some(at) = rest.find("::") {
        out.push_str(&rest[..at]);
        rest = &rest[at + 2..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        rest = &rest[end..];
        while let Some(more) = CONTINUED.iter().find(|c| rest.starts_with(**c)) {
            rest = &rest[more.len()..];
        }
    }
    out.push_str(rest);
    out
}

// --- SQLite, from sqlite_master and the pragma functions ---

#[derive(QueryableByName)]
struct NameSql {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    tbl_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = BigInt)]
    notnull: i64,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

#[derive(QueryableByName)]
struct SqliteIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    unique: i64,
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = BigInt)]
    partial: i64,
}

#[derive(QueryableByName)]
struct SqliteIndexColumn {
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
}

#[derive(QueryableByName)]
struct SqliteForeignKey {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Text)]
    from: String,
    #[diesel(sql_type = Nullable<Text>)]
    to: Option<String>,
    #[diesel(sql_type = Text)]
    on_update: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

fn sqlite_schema(conn: &mut DbConnection) -> Schema {
    assert_eq!(conn.backend(), Backend::Sqlite);
    let mut schema = Schema::new();
    let objects: Vec<NameSql> = diesel::sql_query(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND type = ? ORDER BY name",
    )
    .bind::<Text, _>("table")
    .load(conn)
    .expect("sqlite_master");
    let mut primary_keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &objects {
        let table = &t.name;
        add(&mut schema, format!("table {table}"), None);
        let columns: Vec<SqliteColumn> = diesel::sql_query(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY pk, cid",
        )
        .bind::<Text, _>(table)
        .load(conn)
        .expect("pragma_table_info");
        let mut pk = Vec::new();
        for c in &columns {
            let null = if c.notnull != 0 { "not null" } else { "null" };
            add(&mut schema, format!("column {table}.{}: {} {null}", c.name, vocabulary(&c.r#type)), None);
            if c.pk > 0 {
                pk.push(c.name.clone());
            }
        }
        if !pk.is_empty() {
            add(&mut schema, format!("primary key of {table}: ({})", pk.join(", ")), None);
        }
        primary_keys.insert(table.clone(), pk);

        let indexes: Vec<SqliteIndex> = diesel::sql_query(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?) ORDER BY name",
        )
        .bind::<Text, _>(table)
        .load(conn)
        .expect("pragma_index_list");
        for i in indexes.iter().filter(|i| i.origin != "pk") {
            let columns: Vec<SqliteIndexColumn> =
                diesel::sql_query("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind::<Text, _>(&i.name)
                    .load(conn)
                    .expect("pragma_index_info");
            let columns: Vec<String> =
                columns.into_iter().map(|c| c.name.unwrap_or_else(|| "<expression>".into())).collect();
            let predicate = if i.partial != 0 {
                let sql: Vec<NameSql> = diesel::sql_query(
                    "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                )
                .bind::<Text, _>(&i.name)
                .load(conn)
                .expect("index sql");
                let sql = sql.into_iter().next().and_then(|r| r.sql).unwrap_or_default();
                let upper = sql.to_uppercase();
                let at = upper.rfind(" WHERE ").expect("a partial index has a WHERE clause");
                Some(sql[at + 7..].to_owned())
            } else {
                None
            };
            // An index made by a UNIQUE constraint has a name SQLite chose; one made by
            // CREATE INDEX is compared by its name too.
            let name = (i.origin == "c").then(|| i.name.clone());
            add(
                &mut schema,
                index_item(table, name.as_deref(), i.unique != 0, &columns, &[], predicate.as_deref()),
                None,
            );
        }

        let keys: Vec<SqliteForeignKey> = diesel::sql_query(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        )
        .bind::<Text, _>(table)
        .load(conn)
        .expect("pragma_foreign_key_list");
        let mut grouped: BTreeMap<i64, Vec<&SqliteForeignKey>> = BTreeMap::new();
        for k in &keys {
            grouped.entry(k.id).or_default().push(k);
        }
        for parts in grouped.values() {
            let first = parts[0];
            let from: Vec<String> = parts.iter().map(|k| k.from.clone()).collect();
            // `REFERENCES t` without columns names t's primary key (read after all tables).
            let to: Vec<Option<String>> = parts.iter().map(|k| k.to.clone()).collect();
            add(
                &mut schema,
                format!(
                    "foreign key {table} ({}) -> {} ({}) on delete {} on update {}",
                    from.join(", "),
                    first.table,
                    to.iter()
                        .map(|c| c.clone().unwrap_or_else(|| "<primary key>".into()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    first.on_delete.to_lowercase(),
                    first.on_update.to_lowercase()
                ),
                None,
            );
        }
        for check in sqlite_checks(t.sql.as_deref().unwrap_or("")) {
            add(&mut schema, format!("check on {table}: {}", normalise(&check)), None);
        }
    }
    // Resolve foreign keys that name a table's primary key implicitly.
    let implicit: Vec<String> = schema.keys().filter(|k| k.contains("(<primary key>)")).cloned().collect();
    for item in implicit {
        let names = schema.remove(&item).unwrap_or_default();
        let target = item.split(" -> ").nth(1).and_then(|r| r.split(' ').next()).unwrap_or("").to_owned();
        let pk = primary_keys.get(&target).map(|c| c.join(", ")).unwrap_or_default();
        schema.insert(item.replace("<primary key>", &pk), names);
    }
    let triggers: Vec<NameSql> = diesel::sql_query(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
    )
    .load(conn)
    .expect("triggers");
    for t in triggers {
        add(&mut schema, format!("trigger on {}: {}", t.tbl_name, t.name), None);
    }
    let views: Vec<NameSql> =
        diesel::sql_query("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name")
            .load(conn)
            .expect("views");
    for v in views {
        add(&mut schema, format!("view {}", v.name), None);
    }
    schema
}

fn index_item(
    table: &str,
    name: Option<&str>,
    unique: bool,
    columns: &[String],
    include: &[String],
    predicate: Option<&str>,
) -> String {
    let mut s = format!("{}index", if unique { "unique " } else { "" });
    if let Some(n) = name {
        s.push(' ');
        s.push_str(n);
    }
    s.push_str(&format!(" on {table} ({})", columns.join(", ")));
    if !include.is_empty() {
        s.push_str(&format!(" include ({})", include.join(", ")));
    }
    if let Some(p) = predicate {
        s.push_str(&format!(" where {}", normalise(p)));
    }
    s
}

/// The expressions of the CHECK constraints in a SQLite `CREATE TABLE` statement, column and
/// table constraints alike.
fn sqlite_checks(sql: &str) -> Vec<String> {
    let lower = sql.to_lowercase();
    let bytes = lower.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("check").map(|i| i + from) {
        from = at + 5;
        let before_ok = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let after = lower[from..].trim_start();
        if !before_ok || !after.starts_with('(') {
            continue;
        }
        let open = lower.len() - after.len();
        let mut depth = 0;
        let mut quoted = false;
        for (i, ch) in sql[open..].char_indices() {
            match ch {
                '\'' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => {
                    depth -= 1;
                    if depth == 0 {
                        found.push(sql[open + 1..open + i].to_owned());
                        from = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    found
}

// --- PostgreSQL, from information_schema and pg_catalog ---

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct PgIndex {
    #[diesel(sql_type = Text)]
    tbl: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Bool)]
    is_primary: bool,
    #[diesel(sql_type = Bool)]
    from_constraint: bool,
    #[diesel(sql_type = Text)]
    key_columns: String,
    #[diesel(sql_type = Text)]
    include_columns: String,
    #[diesel(sql_type = Nullable<Text>)]
    predicate: Option<String>,
}

#[derive(QueryableByName)]
struct PgForeignKey {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    tbl: String,
    #[diesel(sql_type = Text)]
    from_columns: String,
    #[diesel(sql_type = Text)]
    ref_table: String,
    #[diesel(sql_type = Text)]
    to_columns: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
    #[diesel(sql_type = Text)]
    on_update: String,
}

#[derive(QueryableByName)]
struct PgNamed {
    #[diesel(sql_type = Text)]
    tbl: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

fn pg_action(code: &str) -> &'static str {
    match code {
        "a" => "no action",
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => "unknown",
    }
}

fn postgres_schema(conn: &mut DbConnection) -> Schema {
    assert_eq!(conn.backend(), Backend::Postgres);
    let mut schema = Schema::new();
    let columns: Vec<PgColumn> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                c.data_type::text AS data_type, c.is_nullable::text AS is_nullable \
         FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND NOT EXISTS (SELECT 1 FROM pg_class pc JOIN pg_namespace pn ON pn.oid = pc.relnamespace \
               WHERE pn.nspname = c.table_schema AND pc.relname = c.table_name AND pc.relispartition) \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .load(conn)
    .expect("information_schema.columns");
    for c in columns {
        add(&mut schema, format!("table {}", c.table_name), None);
        let null = if c.is_nullable == "NO" { "not null" } else { "null" };
        add(
            &mut schema,
            format!("column {}.{}: {} {null}", c.table_name, c.column_name, vocabulary(&c.data_type)),
            None,
        );
    }
    let views: Vec<PgNamed> = diesel::sql_query(
        "SELECT table_name::text AS tbl, table_name::text AS name, '' AS definition \
         FROM information_schema.views WHERE table_schema = 'public'",
    )
    .load(conn)
    .expect("views");
    for v in views {
        add(&mut schema, format!("view {}", v.name), None);
    }

    let indexes: Vec<PgIndex> = diesel::sql_query(
        "SELECT t.relname::text AS tbl, i.relname::text AS name, x.indisunique AS is_unique, \
                x.indisprimary AS is_primary, \
                EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('u', 'p')) AS from_constraint, \
                array_to_string(ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) \
                    FROM generate_series(1, x.indnkeyatts) k ORDER BY k), ', ') AS key_columns, \
                array_to_string(ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) \
                    FROM generate_series(x.indnkeyatts + 1, x.indnatts) k ORDER BY k), ', ') AS include_columns, \
                pg_get_expr(x.indpred, x.indrelid, true) AS predicate \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND NOT t.relispartition \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype = 'x') \
         ORDER BY t.relname, i.relname",
    )
    .load(conn)
    .expect("pg_index");
    for i in indexes {
        let split = |s: &str| -> Vec<String> {
            s.split(", ").filter(|c| !c.is_empty()).map(|c| c.trim_matches('"').to_owned()).collect()
        };
        let (key, include) = (split(&i.key_columns), split(&i.include_columns));
        if i.is_primary {
            let mut item = format!("primary key of {}: ({})", i.tbl, key.join(", "));
            if !include.is_empty() {
                item.push_str(&format!(" include ({})", include.join(", ")));
            }
            add(&mut schema, item, Some(i.name));
            continue;
        }
        let name = (!i.from_constraint).then_some(i.name.as_str());
        let item = index_item(&i.tbl, name, i.is_unique, &key, &include, i.predicate.as_deref());
        add(&mut schema, item, Some(i.name.clone()));
    }

    let keys: Vec<PgForeignKey> = diesel::sql_query(
        "SELECT c.conname::text AS name, t.relname::text AS tbl, \
                array_to_string(ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY u(n, o) \
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.n ORDER BY u.o), ', ') AS from_columns, \
                r.relname::text AS ref_table, \
                array_to_string(ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY u(n, o) \
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = u.n ORDER BY u.o), ', ') AS to_columns, \
                c.confdeltype::text AS on_delete, c.confupdtype::text AS on_update \
         FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_class r ON r.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND NOT t.relispartition AND c.contype = 'f'",
    )
    .load(conn)
    .expect("foreign keys");
    for k in keys {
        add(
            &mut schema,
            format!(
                "foreign key {} ({}) -> {} ({}) on delete {} on update {}",
                k.tbl,
                k.from_columns,
                k.ref_table,
                k.to_columns,
                pg_action(&k.on_delete),
                pg_action(&k.on_update)
            ),
            Some(k.name),
        );
    }

    let constraints: Vec<PgNamed> = diesel::sql_query(
        "SELECT t.relname::text AS tbl, c.conname::text AS name, \
                CASE c.contype WHEN 'c' THEN pg_get_expr(c.conbin, c.conrelid, true) ELSE 'x' END AS definition \
         FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND NOT t.relispartition AND c.contype IN ('c', 'x')",
    )
    .load(conn)
    .expect("check and exclusion constraints");
    for c in constraints {
        if c.definition == "x" {
            add(&mut schema, format!("exclusion constraint on {}: {}", c.tbl, c.name), None);
        } else {
            add(&mut schema, format!("check on {}: {}", c.tbl, normalise(&c.definition)), Some(c.name));
        }
    }

    let triggers: Vec<PgNamed> = diesel::sql_query(
        "SELECT t.relname::text AS tbl, g.tgname::text AS name, '' AS definition \
         FROM pg_trigger g \
         JOIN pg_class t ON t.oid = g.tgrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND NOT t.relispartition AND NOT g.tgisinternal",
    )
    .load(conn)
    .expect("triggers");
    for t in triggers {
        add(&mut schema, format!("trigger on {}: {}", t.tbl, t.name), None);
    }
    schema
}

#[test]
fn expressions_are_normalised_alike() {
    assert_eq!(
        normalise("(sex = ANY (ARRAY['female'::text, 'male'::text]))"),
        normalise("sex IN ('female', 'male')")
    );
    assert_eq!(
        normalise("status <> ALL (ARRAY['registered'::character varying, 'active'::character varying])"),
        normalise("status NOT IN ('registered', 'active')")
    );
    assert_eq!(normalise("((minutes >= 0) AND (minutes <= 1440))"), normalise("minutes BETWEEN 0 AND 1440"));
    assert_eq!(
        normalise("duration_minutes IS NULL OR duration_minutes >= 1 AND duration_minutes <= 4320"),
        normalise("duration_minutes IS NULL OR duration_minutes BETWEEN 1 AND 4320")
    );
    assert_eq!(normalise("(reason = 'national_id'::text)"), normalise("reason IN ('national_id')"));
    assert_ne!(normalise("a >= 1"), normalise("a > 1"));
    assert_eq!(
        sqlite_checks(
            "CREATE TABLE t (checklist TEXT CHECK (a IN ('x)', 'y')), CONSTRAINT k CHECK ((b) > 0))"
        ),
        vec!["a IN ('x)', 'y')".to_owned(), "(b) > 0".to_owned()]
    );
}
