//! Imports: an uploaded register kept with its rows, checked row by row in a dry run that
//! writes no record (each row planned as a create, an update of the child holding its national
//! ID number in the caller's scope, a possible duplicate, or invalid with its cells' problems),
//! then committed all or nothing by the user who uploaded it, through the same domain functions
//! as the API's own writes (scope, validation, the duplicate queue).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_cases::children::{self, Child, ChildInput};
use tongxing_cases::duplicates;
use tongxing_cases::households::{self, Guardian, HouseholdInput, Relation};
use tongxing_cases::scope::{self, Access};
use tongxing_cases::similarity::{Profile, Signal, phone_key};
use tongxing_core::access::Scope;
use tongxing_core::page::{Page, PageRequest, decode_key, encode_key};
use tongxing_core::{Code, Error, FieldError, Result, id, time};
use tongxing_store::schema::{
    children as children_table, guardians, households as households_table, import_rows, imports, regions,
};
use tongxing_store::{Backend, DbConnection, DbId, DbText, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::cells::{self, CellProblem, Parsed, Severity};
use crate::columns::{Column, Field};
use crate::sheet::{Cell, Format, Grid};

text_enum! {
    /// Where an import is: checked in the background after the upload, then committed.
    pub enum ImportState {
        /// The dry run is reading the rows (`progress` says how far).
        Checking => "checking",
        /// Every row has its plan; nothing is written until a commit.
        Checked => "checked",
        /// The commit is writing every planned row in one transaction.
        Committing => "committing",
        Committed => "committed",
        /// The check could not finish (`failure` says why); upload the file again.
        Failed => "failed",
    }
}

text_enum! {
    /// What the commit does with a row.
    pub enum RowOutcome {
        /// A new child (and household, unless the row's guardian's household is recorded).
        Create => "create",
        /// The child holding the row's national ID number in the caller's scope is updated.
        Update => "update",
        /// A new child, like `create`, who may be one already recorded (`candidate_id`).
        PossibleDuplicate => "possible_duplicate",
        /// Not imported: the row's `problems` say why.
        Invalid => "invalid",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Import {
    pub id: Uuid,
    pub state: ImportState,
    /// How far the check or the commit has come, 0 to 100.
    pub progress: i32,
    pub format: String,
    /// The sheet read (workbooks).
    pub sheet: Option<String>,
    /// The text encoding read (CSV).
    pub encoding: Option<String>,
    /// The columns read, by heading.
    pub columns: Vec<Column>,
    /// Data rows in the file.
    pub total_rows: i32,
    /// Rows planned (or, once committed, done) as each outcome.
    pub creates: i32,
    pub updates: i32,
    pub possible_duplicates: i32,
    pub invalid: i32,
    /// The commit's choice: whether invalid rows were left out.
    pub skip_invalid: Option<bool>,
    /// Why the check or the last commit failed.
    pub failure: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub committed_at: Option<DateTime<Utc>>,
    /// The version that `ETag` carries.
    pub version: i32,
}

/// One row's plan, or what the commit did with it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportRow {
    /// The spreadsheet row (from 1).
    pub row: i32,
    pub outcome: RowOutcome,
    /// The child updated, or once committed the child created or updated.
    pub child_id: Option<Uuid>,
    /// For `possible_duplicate`: the record in the caller's scope the row may be.
    pub candidate_id: Option<Uuid>,
    /// For `possible_duplicate`: why (the duplicate rule's signals).
    pub signals: Vec<Signal>,
    /// Each bad cell (errors) and each cell worth a look (warnings), in the reader's language.
    pub problems: Vec<CellProblem>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = imports)]
struct ImportRecord {
    id: DbId,
    created_by: String,
    created_at: chrono::NaiveDateTime,
    format: String,
    sheet: Option<String>,
    encoding: Option<String>,
    state: DbText<ImportState>,
    progress: i32,
    total_rows: i32,
    creates: i32,
    updates: i32,
    possible_duplicates: i32,
    invalid: i32,
    column_map: String,
    skip_invalid: Option<bool>,
    failure: Option<String>,
    committed_at: Option<chrono::NaiveDateTime>,
    version: i32,
}

impl ImportRecord {
    fn into_import(self) -> Result<Import> {
        Ok(Import {
            id: self.id.0,
            state: self.state.0,
            progress: self.progress,
            format: self.format,
            sheet: self.sheet,
            encoding: self.encoding,
            columns: serde_json::from_str(&self.column_map).map_err(Error::internal)?,
            total_rows: self.total_rows,
            creates: self.creates,
            updates: self.updates,
            possible_duplicates: self.possible_duplicates,
            invalid: self.invalid,
            skip_invalid: self.skip_invalid,
            failure: self.failure,
            created_by: Uuid::parse_str(&self.created_by).map_err(Error::internal)?,
            created_at: time::from_db(self.created_at),
            committed_at: self.committed_at.map(time::from_db),
            version: self.version,
        })
    }
}

/// The rows of an upload, kept with the import until it is committed.
#[derive(Serialize, Deserialize)]
struct Source {
    rows: Vec<(u32, Vec<Cell>)>,
}

/// A row's plan as kept between the check and the commit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Plan {
    parsed: Parsed,
    village_id: Option<Uuid>,
    /// The household the child joins: one recorded (reached for writing), or the import's new
    /// household of this key (created by the first row that names it).
    household_id: Option<Uuid>,
    household_key: Option<String>,
    update_of: Option<Uuid>,
    /// The version of `update_of` the check saw: the commit refuses the row if it changed since.
    version: Option<i32>,
}

/// Keeps the upload as a new import in `checking`.
pub fn start(
    conn: &mut DbConnection,
    scope: &Scope,
    grid: &Grid,
    columns: &[Column],
    rows: Vec<(u32, Vec<Cell>)>,
) -> Result<Import> {
    let id = id::new_id();
    let now = time::to_db(time::now());
    let total = i32::try_from(rows.len()).map_err(Error::internal)?;
    diesel::insert_into(imports::table)
        .values((
            imports::id.eq(DbId(id)),
            imports::created_by.eq(DbId(scope.actor())),
            imports::created_at.eq(now),
            imports::updated_at.eq(now),
            imports::format.eq(match grid.format {
                Format::Xlsx => "xlsx",
                Format::Csv => "csv",
            }),
            imports::sheet.eq(&grid.sheet),
            imports::encoding.eq(&grid.encoding),
            imports::state.eq(ImportState::Checking.as_str()),
            imports::total_rows.eq(total),
            imports::column_map.eq(serde_json::to_string(columns).map_err(Error::internal)?),
            imports::source.eq(serde_json::to_string(&Source { rows }).map_err(Error::internal)?),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    load(conn, id)
}

fn load(conn: &mut DbConnection, id: Uuid) -> Result<Import> {
    imports::table
        .find(DbId(id))
        .select(ImportRecord::as_select())
        .first(conn)
        .map_err(not_found_as("import"))?
        .into_import()
}

/// The import, for the user who uploaded it (and admins, who see every import); anyone else
/// is told it does not exist.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Import> {
    let import = load(conn, id)?;
    if import.created_by != scope.actor() && !matches!(scope.reach(), tongxing_core::access::Reach::All) {
        return Err(Error::not_found("import"));
    }
    Ok(import)
}

/// The rows' plans (or outcomes), in file order; `outcome` keeps one kind.
pub fn rows(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    outcome: Option<RowOutcome>,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Page<ImportRow>> {
    let page = PageRequest::parse(limit, None)?;
    let after: Option<i32> = cursor
        .map(|c| {
            decode_key("import_row", c)?.parse().map_err(|_| {
                Error::field("cursor", "invalid_cursor", "the cursor is not one this service issued")
            })
        })
        .transpose()?;
    get(conn, scope, id)?;
    let mut q = import_rows::table
        .filter(import_rows::import_id.eq(DbId(id)))
        .select((
            import_rows::row_number,
            import_rows::outcome,
            import_rows::child_id,
            import_rows::candidate_id,
            import_rows::signals,
            import_rows::problems,
        ))
        .order(import_rows::row_number.asc())
        .into_boxed();
    if let Some(o) = outcome {
        q = q.filter(import_rows::outcome.eq(o.as_str()));
    }
    if let Some(after) = after {
        q = q.filter(import_rows::row_number.gt(after));
    }
    let found: Vec<StoredRow> = q.limit(page.fetch()).load(conn).map_err(map_db_error)?;
    let items = found
        .into_iter()
        .map(|(row, outcome, child, candidate, signals, problems)| {
            Ok(ImportRow {
                row,
                outcome: outcome.0,
                child_id: child.as_deref().map(Uuid::parse_str).transpose().map_err(Error::internal)?,
                candidate_id: candidate
                    .as_deref()
                    .map(Uuid::parse_str)
                    .transpose()
                    .map_err(Error::internal)?,
                signals: signals
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(Signal::from_db)
                    .collect::<Result<_>>()?,
                problems: serde_json::from_str(&problems).map_err(Error::internal)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // Ids the caller no longer reaches (moved to another region since) are not named: one query
    // for the page's ids through the caller's scope.
    let mut items = items;
    let named: Vec<String> =
        items.iter().flat_map(|r| [r.child_id, r.candidate_id]).flatten().map(|u| u.to_string()).collect();
    let reached: std::collections::HashSet<String> = if named.is_empty() {
        Default::default()
    } else {
        let mut q = children_table::table
            .filter(children_table::id.eq_any(&named))
            .select(children_table::id)
            .into_boxed();
        if let Some(cond) = scope::child_column(conn, scope, "children.id")? {
            q = q.filter(cond);
        }
        q.load(conn).map_err(map_db_error)?.into_iter().collect()
    };
    for item in &mut items {
        if item.child_id.is_some_and(|c| !reached.contains(&c.to_string())) {
            item.child_id = None;
        }
        if item.candidate_id.is_some_and(|c| !reached.contains(&c.to_string())) {
            item.candidate_id = None;
            item.signals.clear();
        }
    }
    let next_cursor = if items.len() as i64 > page.limit {
        items.truncate(page.limit as usize);
        items.last().map(|r| encode_key("import_row", &r.row.to_string()))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// A recorded guardian of a village: household, name, phone (as compared), address.
type KnownGuardian = (Uuid, String, Option<String>, Option<String>);

/// row, outcome, child, candidate, signals, problems.
type StoredRow = (i32, DbText<RowOutcome>, Option<String>, Option<String>, Option<String>, String);

/// A row's plan: its outcome, what the commit needs, its problems, and the child it updates or
/// may duplicate (with the rule's signals).
type Planned = (RowOutcome, Plan, Vec<CellProblem>, Option<(Uuid, Vec<Signal>)>);

/// What the check remembers across rows: the villages by name, the national ID numbers and
/// households already seen in the file.
#[derive(Default)]
pub struct Checking {
    villages: Option<HashMap<String, Vec<Uuid>>>,
    reached: HashMap<Uuid, bool>,
    numbers: HashMap<String, u32>,
    households: HashMap<String, Option<Uuid>>,
    village_guardians: HashMap<Uuid, Vec<KnownGuardian>>,
}

fn problem(row: u32, columns: &[Column], field: Option<Field>, code: &str, message: String) -> CellProblem {
    let column = field
        .and_then(|f| columns.iter().find(|c| c.field == f))
        .map(|c| c.heading.clone())
        .unwrap_or_default();
    CellProblem { row, column, field, code: code.to_owned(), severity: Severity::Error, message }
}

/// The field of the register a domain error names.
fn field_named(name: &str) -> Option<Field> {
    Some(match name.split(['[', '.']).next().unwrap_or(name) {
        "name" => Field::Name,
        "sex" => Field::Sex,
        "birth_date" => Field::BirthDate,
        "national_id" => Field::NationalId,
        "categories" => Field::Categories,
        "region_id" => Field::Village,
        "school" => Field::School,
        "health_notes" => Field::HealthNotes,
        "disability_notes" => Field::DisabilityNotes,
        "address" => Field::Address,
        "guardians" => Field::Guardian,
        _ => return None,
    })
}

/// A domain refusal as problems of the row's cells.
fn problems_of(row: u32, columns: &[Column], e: Error) -> Result<Vec<CellProblem>> {
    match e {
        Error::Validation(errors) => Ok(errors
            .into_iter()
            .map(|FieldError { field, code, message, .. }| {
                problem(row, columns, field_named(&field), &code, message)
            })
            .collect()),
        Error::Conflict { code, detail, .. } => Ok(vec![problem(row, columns, None, code.as_str(), detail)]),
        Error::Forbidden { detail } | Error::FieldForbidden { detail, .. } => {
            Ok(vec![problem(row, columns, None, "forbidden", detail)])
        }
        Error::NotFound { resource } => {
            Ok(vec![problem(row, columns, None, "not_found", format!("no such {resource} in your reach"))])
        }
        other => Err(other),
    }
}

fn guardians_of(p: &Parsed) -> Vec<Guardian> {
    match &p.guardian {
        Some(name) => vec![Guardian {
            name: name.clone(),
            relation: p.relation.unwrap_or(Relation::Other),
            phone: p.phone.clone(),
            is_primary: true,
            works_away: false,
        }],
        None => Vec::new(),
    }
}

fn household_input(plan: &Plan, village: Uuid) -> HouseholdInput {
    HouseholdInput {
        id: None,
        region_id: village,
        address: plan.parsed.address.clone(),
        parents_work_away: plan.parsed.parents_work_away,
        notes: None,
        guardians: guardians_of(&plan.parsed),
    }
}

/// An update changes only what the row gives: a column the file lacks, or a blank cell, keeps
/// the child's current value, and the child stays in their household unless the row names a
/// guardian or an address.
fn update_input(plan: &Plan, village: Uuid, household: Option<Uuid>, current: &Child) -> ChildInput {
    let p = &plan.parsed;
    let named_household = p.guardian.is_some() || p.address.is_some();
    ChildInput {
        id: None,
        household_id: if named_household { household } else { current.household_id },
        region_id: village,
        name: p.name.clone().unwrap_or_else(|| current.name.clone()),
        sex: p.sex.unwrap_or(current.sex),
        birth_date: p.birth_date.unwrap_or(current.birth_date),
        national_id: p.national_id.clone().or_else(|| current.national_id.clone()),
        categories: if p.categories.is_empty() { current.categories.clone() } else { p.categories.clone() },
        school: p.school.clone().or_else(|| current.school.clone()),
        health_notes: p.health_notes.clone().or_else(|| current.health_notes.clone()),
        disability_notes: p.disability_notes.clone().or_else(|| current.disability_notes.clone()),
        organisation_id: None,
        caseworker_id: None,
    }
}

fn child_input(plan: &Plan, village: Uuid, household: Option<Uuid>) -> Option<ChildInput> {
    let p = &plan.parsed;
    Some(ChildInput {
        id: None,
        household_id: household,
        region_id: village,
        name: p.name.clone()?,
        sex: p.sex?,
        birth_date: p.birth_date?,
        national_id: p.national_id.clone(),
        categories: p.categories.clone(),
        school: p.school.clone(),
        health_notes: p.health_notes.clone(),
        disability_notes: p.disability_notes.clone(),
        organisation_id: None,
        caseworker_id: None,
    })
}

impl Checking {
    fn village(
        &mut self,
        conn: &mut DbConnection,
        scope: &Scope,
        text: &str,
    ) -> Result<std::result::Result<Uuid, (&'static str, String)>> {
        if self.villages.is_none() {
            let all: Vec<(String, String, Option<String>)> = regions::table
                .filter(regions::level.eq("village"))
                .select((regions::id, regions::name, regions::code))
                .load(conn)
                .map_err(map_db_error)?;
            let mut map: HashMap<String, Vec<Uuid>> = HashMap::new();
            for (id, name, code) in all {
                let id = Uuid::parse_str(&id).map_err(Error::internal)?;
                map.entry(name).or_default().push(id);
                if let Some(code) = code {
                    map.entry(code).or_default().push(id);
                }
            }
            self.villages = Some(map);
        }
        let found = self.villages.as_ref().and_then(|m| m.get(text)).cloned().unwrap_or_default();
        let mut reached = Vec::new();
        for id in found {
            let ok = match self.reached.get(&id) {
                Some(ok) => *ok,
                None => {
                    let ok = scope::region_reference(conn, scope, id, "village").is_ok();
                    self.reached.insert(id, ok);
                    ok
                }
            };
            if ok {
                reached.push(id);
            }
        }
        Ok(match reached.as_slice() {
            [one] => Ok(*one),
            [] => Err(("unknown_village", format!("{text:?} is no village or community in your reach"))),
            _ => Err((
                "ambiguous_village",
                format!("several villages are called {text:?}: write the village's code"),
            )),
        })
    }

    /// A recorded household of the village with this guardian (by phone, else by name) that
    /// the caller may place a child in.
    fn household(
        &mut self,
        conn: &mut DbConnection,
        scope: &Scope,
        village: Uuid,
        p: &Parsed,
    ) -> Result<Option<Uuid>> {
        let Some(guardian) = &p.guardian else { return Ok(None) };
        if let std::collections::hash_map::Entry::Vacant(slot) = self.village_guardians.entry(village) {
            let found: Vec<(String, String, Option<String>, Option<String>)> = guardians::table
                .inner_join(households_table::table)
                .filter(households_table::region_id.eq(DbId(village)))
                .select((
                    guardians::household_id,
                    guardians::name,
                    guardians::phone,
                    households_table::address,
                ))
                .load(conn)
                .map_err(map_db_error)?;
            let list = found
                .into_iter()
                .map(|(h, n, ph, a)| {
                    Ok((
                        Uuid::parse_str(&h).map_err(Error::internal)?,
                        n,
                        ph.as_deref().and_then(phone_key),
                        a,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            slot.insert(list);
        }
        let phone = p.phone.as_deref().and_then(phone_key);
        // The same guardian: by phone; without one, by name and address together (a name alone,
        // 王芳, is many people).
        let matches: Vec<Uuid> = self.village_guardians[&village]
            .iter()
            .filter(|(_, name, ph, address)| match (&phone, ph) {
                (Some(a), Some(b)) => a == b,
                _ => name == guardian && p.address.is_some() && address.as_deref() == p.address.as_deref(),
            })
            .map(|(h, _, _, _)| *h)
            .collect();
        for h in matches {
            if scope::household_reference(conn, scope, Access::Write, h, "household").is_ok() {
                return Ok(Some(h));
            }
        }
        Ok(None)
    }

    /// Plans one row, writing nothing.
    fn plan(
        &mut self,
        conn: &mut DbConnection,
        scope: &Scope,
        columns: &[Column],
        row: u32,
        cells: &[Cell],
    ) -> Result<(Planned, Option<Profile>)> {
        let (parsed, mut problems) = cells::parse(row, columns, cells);
        let mut plan = Plan { parsed, ..Plan::default() };
        let village = match plan.parsed.village.clone() {
            Some(v) => match self.village(conn, scope, &v)? {
                Ok(id) => Some(id),
                Err((code, message)) => {
                    problems.push(problem(row, columns, Some(Field::Village), code, message));
                    None
                }
            },
            None => None,
        };
        plan.village_id = village;
        if let Some(n) = plan.parsed.national_id.clone() {
            if let Some(first) = self.numbers.get(&n) {
                problems.push(problem(
                    row,
                    columns,
                    Some(Field::NationalId),
                    "duplicate_in_file",
                    format!("row {first} has the same national ID number"),
                ));
            } else {
                self.numbers.insert(n.clone(), row);
                match duplicates::holders(conn, scope, &n, None) {
                    Ok(_) => {}
                    Err(Error::Conflict { related: Some(holder), .. }) => {
                        match scope::require_child(conn, scope, Access::Write, holder, "child") {
                            Ok(()) => plan.update_of = Some(holder),
                            Err(_) => problems.push(problem(
                                row,
                                columns,
                                Some(Field::NationalId),
                                "national_id_taken",
                                "a child you may read but not change holds this national ID number".into(),
                            )),
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let errors = |p: &[CellProblem]| p.iter().any(|x| x.severity == Severity::Error);
        let Some(village) = village.filter(|_| !errors(&problems)) else {
            return Ok(((RowOutcome::Invalid, plan, problems, None), None));
        };
        // The household: one recorded, one this import makes (shared by its rows), or none.
        if plan.parsed.guardian.is_some() || plan.parsed.address.is_some() {
            let key = format!(
                "{village}|{}|{}|{}",
                plan.parsed.address.as_deref().unwrap_or(""),
                plan.parsed.guardian.as_deref().unwrap_or(""),
                plan.parsed.phone.as_deref().and_then(phone_key).unwrap_or_default()
            );
            let known = match self.households.get(&key) {
                Some(k) => *k,
                None => {
                    let found = self.household(conn, scope, village, &plan.parsed)?;
                    if found.is_none()
                        && let Err(e) = households::check_new(conn, scope, &household_input(&plan, village))
                    {
                        problems.extend(problems_of(row, columns, e)?);
                        return Ok(((RowOutcome::Invalid, plan, problems, None), None));
                    }
                    self.households.insert(key.clone(), found);
                    found
                }
            };
            plan.household_id = known;
            plan.household_key = Some(key);
        }
        let input = match plan.update_of {
            Some(child) => {
                let current = children::get(conn, scope, child)?;
                plan.version = Some(current.version);
                update_input(&plan, village, plan.household_id, &current.record)
            }
            None => match child_input(&plan, village, plan.household_id) {
                Some(input) => input,
                None => return Ok(((RowOutcome::Invalid, plan, problems, None), None)),
            },
        };
        if let Err(e) = children::check_input(conn, scope, input.clone(), plan.update_of) {
            problems.extend(problems_of(row, columns, e)?);
            return Ok(((RowOutcome::Invalid, plan, problems, None), None));
        }
        if let Some(child) = plan.update_of {
            return Ok(((RowOutcome::Update, plan, problems, Some((child, Vec::new()))), None));
        }
        let profile = Profile {
            id: Uuid::nil(),
            name: input.name.clone(),
            birth_date: input.birth_date,
            sex: input.sex,
            national_id: input.national_id.clone(),
            household_id: plan.household_id,
            region_id: village,
            phones: plan.parsed.phone.as_deref().and_then(phone_key).into_iter().collect(),
        };
        Ok(((RowOutcome::Create, plan, problems, None), Some(profile)))
    }
}

/// Checks rows `from..from + count` of the import (writing their plans, not records) and
/// moves its progress on; answers whether every row is checked.
pub fn check_rows(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    state: &mut Checking,
    source: &[(u32, Vec<Cell>)],
    from: usize,
    count: usize,
) -> Result<bool> {
    let import = load(conn, id)?;
    let end = (from + count).min(source.len());
    let mut planned = Vec::with_capacity(end - from);
    let mut creates = Vec::new();
    for (row, cells) in &source[from..end] {
        let (plan, profile) = state.plan(conn, scope, &import.columns, *row, cells)?;
        if let Some(profile) = profile {
            creates.push((planned.len(), profile));
        }
        planned.push((*row, plan));
    }
    // A new child is a possible duplicate of a recorded one the caller may read (one outside
    // their scope is not named: the commit's own check queues it for a coordinator). The
    // candidates of the chunk's new children are looked up together.
    let profiles: Vec<Profile> = creates.iter().map(|(_, p)| p.clone()).collect();
    for ((at, _), found) in creates.iter().zip(duplicates::candidates_of_each(conn, &profiles)?) {
        for (other, likeness) in found {
            if scope::require_child(conn, scope, Access::Read, other.id, "child").is_ok() {
                let (_, (outcome, _, _, about)) = &mut planned[*at];
                *outcome = RowOutcome::PossibleDuplicate;
                *about = Some((other.id, likeness.signals));
                break;
            }
        }
    }
    tongxing_store::transaction(conn, |c| {
        let mut tally = [0i32; 4];
        for (row, (outcome, plan, problems, found)) in &planned {
            tally[RowOutcome::ALL.iter().position(|o| o == outcome).unwrap_or(3)] += 1;
            let (child, candidate, signals) = match (outcome, found) {
                (RowOutcome::Update, Some((child, _))) => (Some(child.to_string()), None, None),
                (RowOutcome::PossibleDuplicate, Some((other, signals))) => (
                    None,
                    Some(other.to_string()),
                    Some(signals.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")),
                ),
                _ => (None, None, None),
            };
            diesel::insert_into(import_rows::table)
                .values((
                    import_rows::import_id.eq(DbId(id)),
                    import_rows::row_number.eq(i32::try_from(*row).map_err(Error::internal)?),
                    import_rows::outcome.eq(outcome.as_str()),
                    import_rows::child_id.eq(child),
                    import_rows::candidate_id.eq(candidate),
                    import_rows::signals.eq(signals),
                    import_rows::problems.eq(serde_json::to_string(problems).map_err(Error::internal)?),
                    import_rows::data.eq(serde_json::to_string(plan).map_err(Error::internal)?),
                ))
                .execute(c)
                .map_err(map_db_error)?;
        }
        let done = end >= source.len();
        let progress = if source.is_empty() { 100 } else { (end * 100 / source.len()) as i32 };
        let moved = diesel::update(
            imports::table.find(DbId(id)).filter(imports::state.eq(ImportState::Checking.as_str())),
        )
        .set((
            imports::creates.eq(imports::creates + tally[0]),
            imports::updates.eq(imports::updates + tally[1]),
            imports::possible_duplicates.eq(imports::possible_duplicates + tally[2]),
            imports::invalid.eq(imports::invalid + tally[3]),
            imports::progress.eq(progress),
            imports::state.eq(if done { ImportState::Checked } else { ImportState::Checking }.as_str()),
            imports::updated_at.eq(time::to_db(time::now())),
            imports::version.eq(imports::version + 1),
        ))
        .execute(c)
        .map_err(map_db_error)?;
        if moved != 1 {
            return Err(Error::conflict(Code::ImportNotReady, "the check was stopped"));
        }
        Ok(done)
    })
}

/// The rows kept with the import, for the check.
pub fn source(conn: &mut DbConnection, id: Uuid) -> Result<Vec<(u32, Vec<Cell>)>> {
    let text: Option<String> =
        imports::table.find(DbId(id)).select(imports::source).first(conn).map_err(not_found_as("import"))?;
    let Some(text) = text else { return Ok(Vec::new()) };
    Ok(serde_json::from_str::<Source>(&text).map_err(Error::internal)?.rows)
}

/// Marks the import failed (the check could not finish), with why.
pub fn fail(conn: &mut DbConnection, id: Uuid, why: &str, state: ImportState) -> Result<()> {
    diesel::update(imports::table.find(DbId(id)))
        .set((
            imports::state.eq(state.as_str()),
            imports::failure.eq(Some(why)),
            imports::commit_key.eq(None::<String>),
            imports::updated_at.eq(time::to_db(time::now())),
            imports::version.eq(imports::version + 1),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

/// Starts the commit of a checked import: only by the user who uploaded it, once, and with
/// invalid rows only when `skip_invalid` says to leave them out. A repeat of the same
/// `Idempotency-Key` answers the import as it stands.
pub fn begin_commit(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    skip_invalid: bool,
    key: Option<&str>,
) -> Result<(Import, bool)> {
    let import = get(conn, scope, id)?;
    if import.created_by != scope.actor() {
        return Err(Error::forbidden("only the user who uploaded an import commits it"));
    }
    let stored: Option<String> =
        imports::table.find(DbId(id)).select(imports::commit_key).first(conn).map_err(map_db_error)?;
    if key.is_some() && stored.as_deref() == key {
        return Ok((import, false));
    }
    match import.state {
        ImportState::Checking => {
            return Err(Error::conflict(Code::ImportNotReady, "the import is still being checked"));
        }
        ImportState::Committing | ImportState::Committed => {
            return Err(Error::conflict(
                Code::ImportAlreadyCommitted,
                "this import has been committed already",
            ));
        }
        ImportState::Failed => {
            return Err(Error::conflict(
                Code::ImportNotReady,
                "the import's check failed; upload the file again",
            ));
        }
        ImportState::Checked => {}
    }
    if import.invalid > 0 && !skip_invalid {
        return Err(Error::conflict(
            Code::ImportHasErrors,
            format!("{} rows are invalid: correct the file, or commit with skip_invalid", import.invalid),
        ));
    }
    let changed = diesel::update(
        imports::table.find(DbId(id)).filter(imports::state.eq(ImportState::Checked.as_str())),
    )
    .set((
        imports::state.eq(ImportState::Committing.as_str()),
        imports::skip_invalid.eq(Some(skip_invalid)),
        imports::commit_key.eq(key),
        imports::failure.eq(None::<String>),
        imports::progress.eq(0),
        imports::updated_at.eq(time::to_db(time::now())),
        imports::version.eq(imports::version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::conflict(Code::ImportAlreadyCommitted, "this import has been committed already"));
    }
    Ok((load(conn, id)?, true))
}

/// A child the commit wrote: before (for an update) and after, as the caller reads them.
pub struct Written {
    pub before: Option<Child>,
    pub after: Child,
}

/// Writes every planned row, in file order, in the caller's transaction: households first made
/// by their first row, children created or updated through the domain's own functions. A row
/// the domain refuses now (the records changed since the check) fails the whole commit, naming
/// the row. `written` audits each child in the same transaction.
pub fn commit(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    written: &mut dyn FnMut(&mut DbConnection, Written) -> Result<()>,
) -> Result<()> {
    // This run holds the import (a row lock on PostgreSQL, the writer on SQLite) while it
    // writes; one that was released meanwhile (`recover`) writes nothing.
    let held = diesel::update(
        imports::table.find(DbId(id)).filter(imports::state.eq(ImportState::Committing.as_str())),
    )
    .set(imports::updated_at.eq(time::to_db(time::now())))
    .execute(conn)
    .map_err(map_db_error)?;
    if held != 1 {
        return Err(Error::conflict(Code::ImportNotReady, "the import is no longer being committed"));
    }
    // The commit may grow tables many times over (the first register loaded into a new
    // deployment): PostgreSQL's cached generic plans, made while a table was empty, would keep
    // scanning it as it fills. Each statement of this transaction is planned for the table as
    // it is.
    if conn.backend() == Backend::Postgres {
        diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan")
            .execute(conn)
            .map_err(map_db_error)?;
    }
    let rows: Vec<(i32, DbText<RowOutcome>, String)> = import_rows::table
        .filter(import_rows::import_id.eq(DbId(id)))
        .select((import_rows::row_number, import_rows::outcome, import_rows::data))
        .order(import_rows::row_number.asc())
        .load(conn)
        .map_err(map_db_error)?;
    let mut made: HashMap<String, Uuid> = HashMap::new();
    let at_row = |row: i32, e: Error| match e {
        Error::Validation(list) => Error::conflict(
            Code::ImportHasErrors,
            format!(
                "row {row} can no longer be imported: {}",
                list.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
            ),
        ),
        Error::Conflict { detail, .. }
        | Error::Forbidden { detail }
        | Error::FieldForbidden { detail, .. } => {
            Error::conflict(Code::ImportHasErrors, format!("row {row} can no longer be imported: {detail}"))
        }
        Error::NotFound { resource } => Error::conflict(
            Code::ImportHasErrors,
            format!("row {row} can no longer be imported: no such {resource}"),
        ),
        Error::PreconditionFailed => Error::conflict(
            Code::ImportHasErrors,
            format!("row {row}: the child was changed after the check; upload the register again"),
        ),
        other => other,
    };
    for (row, outcome, data) in rows {
        if outcome.0 == RowOutcome::Invalid {
            continue;
        }
        let plan: Plan = serde_json::from_str(&data).map_err(Error::internal)?;
        let village = plan.village_id.ok_or_else(|| Error::internal("a planned row without its village"))?;
        let household = match (&plan.household_id, &plan.household_key) {
            (Some(h), _) => Some(*h),
            (None, Some(key)) => match made.get(key) {
                Some(h) => Some(*h),
                None => {
                    let h = households::create(conn, scope, household_input(&plan, village))
                        .map_err(|e| at_row(row, e))?;
                    made.insert(key.clone(), h.record.id);
                    Some(h.record.id)
                }
            },
            (None, None) => None,
        };
        let result = match plan.update_of {
            Some(child) => {
                let current = children::get(conn, scope, child).map_err(|e| at_row(row, e))?;
                let version = plan.version.unwrap_or(current.version);
                let input = update_input(&plan, village, household, &current.record);
                let (before, after) =
                    children::update(conn, scope, child, input, version).map_err(|e| at_row(row, e))?;
                Written { before: Some(before.record), after: after.record }
            }
            None => {
                let input = child_input(&plan, village, household)
                    .ok_or_else(|| Error::internal("a planned row without a child"))?;
                Written {
                    before: None,
                    after: children::create(conn, scope, input).map_err(|e| at_row(row, e))?.record,
                }
            }
        };
        diesel::update(import_rows::table.find((DbId(id), row)))
            .set(import_rows::child_id.eq(Some(result.after.id.to_string())))
            .execute(conn)
            .map_err(map_db_error)?;
        written(conn, result)?;
    }
    // What the rows held is the children's records now: the plans keep no copy.
    diesel::update(import_rows::table.filter(import_rows::import_id.eq(DbId(id))))
        .set(import_rows::data.eq("{}"))
        .execute(conn)
        .map_err(map_db_error)?;
    diesel::update(imports::table.find(DbId(id)).filter(imports::state.eq(ImportState::Committing.as_str())))
        .set((
            imports::state.eq(ImportState::Committed.as_str()),
            imports::progress.eq(100),
            imports::source.eq(None::<String>),
            imports::committed_at.eq(Some(time::to_db(time::now()))),
            imports::updated_at.eq(time::to_db(time::now())),
            imports::version.eq(imports::version + 1),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

/// Imports left `checking` or `committing` by a node that stopped: failed (a check; upload the
/// file again) or back to `checked` (a commit, which wrote nothing; commit again).
pub fn recover(conn: &mut DbConnection, older_than: chrono::Duration) -> Result<usize> {
    let before = time::to_db(time::now() - older_than);
    let checking = diesel::update(
        imports::table
            .filter(imports::state.eq(ImportState::Checking.as_str()))
            .filter(imports::updated_at.lt(before)),
    )
    .set((
        imports::state.eq(ImportState::Failed.as_str()),
        imports::failure.eq(Some("the check stopped (the service restarted); upload the file again")),
        imports::version.eq(imports::version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    let committing = diesel::update(
        imports::table
            .filter(imports::state.eq(ImportState::Committing.as_str()))
            .filter(imports::updated_at.lt(before)),
    )
    .set((
        imports::state.eq(ImportState::Checked.as_str()),
        imports::commit_key.eq(None::<String>),
        imports::failure
            .eq(Some("the commit stopped (the service restarted) and wrote nothing; commit again")),
        imports::version.eq(imports::version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    // Registers never committed are not kept: a week after their upload they go, rows and all.
    let stale = time::to_db(time::now() - chrono::Duration::days(RETENTION_DAYS));
    let old: Vec<String> = imports::table
        .filter(imports::state.ne(ImportState::Committed.as_str()))
        .filter(imports::state.ne(ImportState::Committing.as_str()))
        .filter(imports::created_at.lt(stale))
        .select(imports::id)
        .load(conn)
        .map_err(map_db_error)?;
    if !old.is_empty() {
        diesel::delete(import_rows::table.filter(import_rows::import_id.eq_any(&old)))
            .execute(conn)
            .map_err(map_db_error)?;
        diesel::delete(imports::table.filter(imports::id.eq_any(&old)))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(checking + committing + old.len())
}

/// Days an import that was never committed is kept (its rows hold children's data).
pub const RETENTION_DAYS: i64 = 7;
