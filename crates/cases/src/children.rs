//! Children and their case files.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::access::{Reach, Scope, mask};
use tongxing_core::error::FieldErrors;
use tongxing_core::national_id::NationalId;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{child_status_changes, children};
use tongxing_store::{DbConnection, DbId, DbText, counter, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::duplicates;
use crate::households::check_village;
use crate::lifecycle::{self, CaseStatus, TransitionRequest};
use crate::regions::{subtree_ids, subtree_prefix};
use crate::scope::{self, Access};
use crate::util::{Versioned, check_version, clean, contains_pattern, not_found_as, parse_id, parse_opt_id};

text_enum! {
    pub enum Sex {
        Female => "female",
        Male => "male",
    }
}

text_enum! {
    /// The groups of minors served; more than one may apply.
    pub enum Category {
        /// Orphaned or disabled, living in the welfare centre (孤残儿童).
        OrphanedOrDisabled => "orphaned_or_disabled",
        /// Rural child whose parents work away (留守儿童).
        LeftBehind => "left_behind",
        /// Hardship from poverty, illness, disability or family breakdown (困境儿童).
        InDifficulty => "in_difficulty",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Child {
    pub id: Uuid,
    pub household_id: Option<Uuid>,
    /// The village or community the child lives in.
    pub region_id: Uuid,
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// Sensitive: in full only for admins, coordinators and caseworkers; masked
    /// (`4212**********0018`) for everyone else.
    pub national_id: Option<String>,
    pub categories: Vec<Category>,
    pub school: Option<String>,
    /// Sensitive: only for admins, coordinators and caseworkers; absent for everyone else.
    pub health_notes: Option<String>,
    /// Sensitive: only for admins, coordinators and caseworkers; absent for everyone else.
    pub disability_notes: Option<String>,
    /// The organisation that holds the case.
    pub organisation_id: Option<Uuid>,
    /// The caseworker the case is assigned to.
    pub caseworker_id: Option<Uuid>,
    pub status: CaseStatus,
    /// Assigned when the case file is opened.
    pub case_number: Option<String>,
    /// The date the case file was opened (Asia/Shanghai).
    pub registered_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub closure_reason: Option<String>,
    /// The version that `ETag` and `If-Match` carry.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChildInput {
    /// Client-chosen id (UUID) for safe offline creation; generated when absent. Ignored on update.
    pub id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    /// The village or community the child lives in.
    pub region_id: Uuid,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub sex: Sex,
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub birth_date: NaiveDate,
    /// 18 characters with a valid check character; must agree with `birth_date`. A number held
    /// by another child the caller can read is refused (409 `national_id_taken`); one held by a
    /// child outside the caller's scope is accepted and the pair queued for a coordinator's
    /// review (`list_duplicate_reviews`).
    #[validate(length(min = 18, max = 18))]
    #[schema(min_length = 18, max_length = 18)]
    pub national_id: Option<String>,
    #[validate(length(min = 1, max = 3))]
    #[schema(min_items = 1, max_items = 3)]
    pub categories: Vec<Category>,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub school: Option<String>,
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub health_notes: Option<String>,
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub disability_notes: Option<String>,
    /// The organisation that holds the case. Only admins and coordinators may set another
    /// organisation than the caller's own; a caseworker's case defaults to their organisation.
    pub organisation_id: Option<Uuid>,
    /// The caseworker the case is assigned to. Only admins and coordinators may assign a case to
    /// someone else; a caseworker's new case is assigned to them.
    pub caseworker_id: Option<Uuid>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The status to move to.
    pub status: CaseStatus,
    /// When it took effect (Asia/Shanghai date); today when absent.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub effective_on: Option<NaiveDate>,
    /// Required to close a case file.
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ChildFilter {
    pub region_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub category: Option<Category>,
    pub status: Option<CaseStatus>,
    /// Text in the name or the case-file number.
    pub q: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = children)]
struct ChildRow {
    id: String,
    household_id: Option<String>,
    region_id: String,
    name: String,
    sex: DbText<Sex>,
    birth_date: NaiveDate,
    national_id: Option<String>,
    in_welfare_centre: bool,
    left_behind: bool,
    in_difficulty: bool,
    school: Option<String>,
    health_notes: Option<String>,
    disability_notes: Option<String>,
    status: DbText<CaseStatus>,
    case_number: Option<String>,
    registered_on: Option<NaiveDate>,
    closed_on: Option<NaiveDate>,
    closure_reason: Option<String>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i32,
    organisation_id: Option<String>,
    caseworker_id: Option<String>,
}

impl ChildRow {
    fn into_child(self) -> Result<Child> {
        let flags = [
            (self.in_welfare_centre, Category::OrphanedOrDisabled),
            (self.left_behind, Category::LeftBehind),
            (self.in_difficulty, Category::InDifficulty),
        ];
        Ok(Child {
            id: parse_id(&self.id)?,
            household_id: parse_opt_id(self.household_id.as_deref())?,
            region_id: parse_id(&self.region_id)?,
            name: self.name,
            sex: self.sex.0,
            birth_date: self.birth_date,
            national_id: self.national_id,
            categories: flags.into_iter().filter(|(on, _)| *on).map(|(_, c)| c).collect(),
            school: self.school,
            health_notes: self.health_notes,
            disability_notes: self.disability_notes,
            organisation_id: parse_opt_id(self.organisation_id.as_deref())?,
            caseworker_id: parse_opt_id(self.caseworker_id.as_deref())?,
            status: self.status.0,
            case_number: self.case_number,
            registered_on: self.registered_on,
            closed_on: self.closed_on,
            closure_reason: self.closure_reason,
            version: self.version,
            created_at: time::from_db(self.created_at),
            updated_at: time::from_db(self.updated_at),
        })
    }
}

/// The checked meaning of a [`ChildInput`].
struct ValidChild {
    name: String,
    national_id: Option<String>,
    categories: [bool; 3],
}

/// Checks the meaning of the fields: a plausible birth date, a national ID number that is valid
/// and agrees with the birth date, categories without repeats.
fn check(input: &ChildInput, today: NaiveDate) -> Result<ValidChild> {
    let mut errs = FieldErrors::new();
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        errs.push("name", "blank", "a child needs a name");
    }
    if input.birth_date > today {
        errs.push("birth_date", "in_future", "the birth date cannot be in the future");
    } else if today.year() - input.birth_date.year() > 25 {
        errs.push("birth_date", "implausible", "the birth date is more than 25 years ago");
    }
    let national_id = match input.national_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => errs.take("national_id", NationalId::parse(raw)).and_then(|id| {
            if id.birth_date() != Some(input.birth_date) {
                errs.push("national_id", "birth_date_mismatch", "the number encodes a different birth date");
                None
            } else {
                Some(id.into_inner())
            }
        }),
    };
    let mut categories = [false; 3];
    for c in &input.categories {
        let i = Category::ALL.iter().position(|x| x == c).unwrap_or(0);
        if categories[i] {
            errs.push("categories", "duplicate", format!("category {c} is listed twice"));
        }
        categories[i] = true;
    }
    errs.finish()?;
    Ok(ValidChild { name, national_id, categories })
}

/// Resolves every record the input names through the caller's scope: a household, region or
/// organisation outside it answers as one that does not exist. A child is placed only in a
/// household whose record the caller may change: the household of a child one holds becomes a
/// household one holds, so placing a child in a household one only reads (through a counselling
/// team) would hand over its address and guardians.
fn check_references(conn: &mut DbConnection, scope: &Scope, input: &ChildInput) -> Result<()> {
    check_village(conn, input.region_id)?;
    scope::region_reference(conn, scope, input.region_id, "region_id")?;
    if let Some(h) = input.household_id {
        scope::household_reference(conn, scope, Access::Write, h, "household_id")?;
    }
    if let Some(o) = input.organisation_id {
        crate::util::require_organisation(conn, o, "organisation_id")?;
    }
    if let Some(u) = input.caseworker_id {
        match tongxing_accounts::users::role_of(conn, u)? {
            None => return Err(Error::field("caseworker_id", "not_found", "no user with this id")),
            Some(
                tongxing_core::role::Role::Caseworker
                | tongxing_core::role::Role::Coordinator
                | tongxing_core::role::Role::Admin,
            ) => {}
            Some(_) => {
                return Err(Error::field(
                    "caseworker_id",
                    "not_case_staff",
                    "cases are assigned to case staff only",
                ));
            }
        }
    }
    Ok(())
}

/// Who holds the case: the one place that says who may set `organisation_id` and
/// `caseworker_id`.
///
/// | field | admins, coordinators | caseworkers |
/// |---|---|---|
/// | `organisation_id` | any organisation | on a new case, only their own (the default); never changed afterwards |
/// | `caseworker_id` | any case staff | on a new case, only themselves (the default); never changed afterwards |
///
/// Absent on an update, both keep their current values. A caseworker who reaches a case through
/// a counselling team does not hold it, so cannot change it at all.
fn assign(scope: &Scope, input: &mut ChildInput, current: Option<&Child>) -> Result<()> {
    if let Some(c) = current {
        input.organisation_id = input.organisation_id.or(c.organisation_id);
        input.caseworker_id = input.caseworker_id.or(c.caseworker_id);
    }
    if scope.coordinates() {
        return Ok(());
    }
    let (own_org, me) = match scope.reach() {
        Reach::Caseload { organisation_id, user_id } => (organisation_id, user_id),
        _ => return Err(Error::forbidden("only case staff hold cases")),
    };
    let (allowed_org, allowed_worker) = match current {
        None => {
            input.organisation_id = input.organisation_id.or(own_org);
            input.caseworker_id = input.caseworker_id.or(Some(me));
            (own_org, Some(me))
        }
        Some(c) => (c.organisation_id, c.caseworker_id),
    };
    if input.organisation_id != allowed_org {
        return Err(Error::field_forbidden(
            "organisation_id",
            "only admins and coordinators move a case to another organisation",
        ));
    }
    if input.caseworker_id != allowed_worker {
        return Err(Error::field_forbidden(
            "caseworker_id",
            "only admins and coordinators assign a case to someone else",
        ));
    }
    Ok(())
}

/// The checks [`create`] (or, with `current`, [`update`]) makes of the input, without writing:
/// for an import's dry run. The caller must already hold `current` for an update.
pub fn check_input(
    conn: &mut DbConnection,
    scope: &Scope,
    mut input: ChildInput,
    current: Option<Uuid>,
) -> Result<()> {
    let current = match current {
        Some(id) => Some(load(conn, id)?.record),
        None => None,
    };
    assign(scope, &mut input, current.as_ref())?;
    check(&input, time::today())?;
    check_references(conn, scope, &input)
}

/// Records a child in `screening`; the case file is opened by a status change.
pub fn create(conn: &mut DbConnection, scope: &Scope, mut input: ChildInput) -> Result<Versioned<Child>> {
    assign(scope, &mut input, None)?;
    let valid = check(&input, time::today())?;
    check_references(conn, scope, &input)?;
    let others = match valid.national_id.as_deref() {
        Some(n) => duplicates::holders(conn, scope, n, None)?,
        None => Vec::new(),
    };
    let actor = scope.actor();
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(children::table)
        .values((
            children::id.eq(DbId(id)),
            children::household_id.eq(input.household_id.map(|h| h.to_string())),
            children::region_id.eq(DbId(input.region_id)),
            children::name.eq(valid.name),
            children::sex.eq(input.sex.as_str()),
            children::birth_date.eq(input.birth_date),
            children::national_id.eq(valid.national_id),
            children::in_welfare_centre.eq(valid.categories[0]),
            children::left_behind.eq(valid.categories[1]),
            children::in_difficulty.eq(valid.categories[2]),
            children::school.eq(clean(input.school)),
            children::health_notes.eq(clean(input.health_notes)),
            children::disability_notes.eq(clean(input.disability_notes)),
            children::organisation_id.eq(input.organisation_id.map(|o| o.to_string())),
            children::caseworker_id.eq(input.caseworker_id.map(|u| u.to_string())),
            children::status.eq(CaseStatus::Screening.as_str()),
            children::created_by.eq(DbId(actor)),
            children::created_at.eq(now),
            children::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    duplicates::record(conn, scope, id, &others)?;
    duplicates::scan(conn, scope, id)?;
    Ok(load(conn, id)?.map(|c| c.masked_for(scope)))
}

/// Replaces the child's descriptive fields (not the case-file status), if `expected_version` is
/// still current.
/// Answers the record before and after, both masked for the caller.
pub fn update(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    mut input: ChildInput,
    expected_version: i32,
) -> Result<(Versioned<Child>, Versioned<Child>)> {
    scope::require_child(conn, scope, Access::Write, id, "child")?;
    let current = load(conn, id)?;
    check_version(current.version, expected_version)?;
    assign(scope, &mut input, Some(&current.record))?;
    let valid = check(&input, time::today())?;
    check_references(conn, scope, &input)?;
    let others = match valid.national_id.as_deref() {
        Some(n) if current.record.national_id.as_deref() != Some(n) => {
            duplicates::holders(conn, scope, n, Some(id))?
        }
        _ => Vec::new(),
    };
    let changed = diesel::update(
        children::table.filter(children::id.eq(DbId(id))).filter(children::version.eq(expected_version)),
    )
    .set((
        children::household_id.eq(input.household_id.map(|h| h.to_string())),
        children::region_id.eq(DbId(input.region_id)),
        children::name.eq(valid.name),
        children::sex.eq(input.sex.as_str()),
        children::birth_date.eq(input.birth_date),
        children::national_id.eq(valid.national_id),
        children::in_welfare_centre.eq(valid.categories[0]),
        children::left_behind.eq(valid.categories[1]),
        children::in_difficulty.eq(valid.categories[2]),
        children::school.eq(clean(input.school)),
        children::health_notes.eq(clean(input.health_notes)),
        children::disability_notes.eq(clean(input.disability_notes)),
        children::organisation_id.eq(input.organisation_id.map(|o| o.to_string())),
        children::caseworker_id.eq(input.caseworker_id.map(|u| u.to_string())),
        children::updated_at.eq(time::to_db(time::now())),
        children::version.eq(expected_version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    duplicates::record(conn, scope, id, &others)?;
    duplicates::scan(conn, scope, id)?;
    Ok((current.map(|c| c.masked_for(scope)), load(conn, id)?.map(|c| c.masked_for(scope))))
}

/// Moves the case file to another status by the lifecycle rule, and records the change.
/// `expected_version`, when given, must still be current.
/// Answers the record before and after, both masked for the caller.
pub fn change_status(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    change: StatusChange,
    expected_version: Option<i32>,
) -> Result<(Versioned<Child>, Versioned<Child>)> {
    scope::require_child(conn, scope, Access::Write, id, "child")?;
    let actor = scope.actor();
    let current = load(conn, id)?;
    let before = current.clone().map(|c| c.masked_for(scope));
    if let Some(v) = expected_version {
        check_version(current.version, v)?;
    }
    let child = current.record;
    let today = time::today();
    let t = lifecycle::plan(TransitionRequest {
        from: child.status,
        to: change.status,
        effective_on: change.effective_on.unwrap_or(today),
        reason: change.reason.as_deref(),
        today,
        birth_date: child.birth_date,
        registered_on: child.registered_on,
    })?;
    let target =
        children::table.filter(children::id.eq(DbId(id))).filter(children::version.eq(current.version));
    let now = time::to_db(time::now());
    let changed = if t.opens_file {
        let year = t.effective_on.year();
        let seq = counter::next(conn, &format!("case_number:{year}"))?;
        diesel::update(target)
            .set((
                children::status.eq(t.to.as_str()),
                children::case_number.eq(lifecycle::case_number(year, seq)),
                children::registered_on.eq(t.effective_on),
                children::updated_at.eq(now),
                children::version.eq(current.version + 1),
            ))
            .execute(conn)
    } else if t.to == CaseStatus::Closed {
        diesel::update(target)
            .set((
                children::status.eq(t.to.as_str()),
                children::closed_on.eq(t.effective_on),
                children::closure_reason.eq(&t.reason),
                children::updated_at.eq(now),
                children::version.eq(current.version + 1),
            ))
            .execute(conn)
    } else {
        diesel::update(target)
            .set((
                children::status.eq(t.to.as_str()),
                children::updated_at.eq(now),
                children::version.eq(current.version + 1),
            ))
            .execute(conn)
    }
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    diesel::insert_into(child_status_changes::table)
        .values((
            child_status_changes::id.eq(id::new_id().to_string()),
            child_status_changes::child_id.eq(DbId(id)),
            child_status_changes::from_status.eq(t.from.as_str()),
            child_status_changes::to_status.eq(t.to.as_str()),
            child_status_changes::effective_on.eq(t.effective_on),
            child_status_changes::reason.eq(&t.reason),
            child_status_changes::changed_by.eq(DbId(actor)),
            child_status_changes::changed_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok((before, load(conn, id)?.map(|c| c.masked_for(scope))))
}

/// The child, if `scope` reaches it (otherwise not found), masked for the caller. One query.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<Child>> {
    match read(conn, scope, id) {
        Err(e @ Error::NotFound { .. }) => Err(crate::merges::explain_missing(conn, scope, id, e)?),
        other => other,
    }
}

fn read(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<Child>> {
    let Some(cond) = crate::scope::child_column(conn, scope, "children.id")? else {
        // Every child is in reach: the plain query, whose prepared statement the connection keeps.
        return Ok(load(conn, id)?.map(|c| c.masked_for(scope)));
    };
    let child = children::table
        .filter(children::id.eq(DbId(id)))
        .filter(cond)
        .select(ChildRow::as_select())
        .first(conn)
        .map_err(not_found_as("child"))?
        .into_child()?;
    Ok(Versioned { version: child.version, record: child.masked_for(scope) })
}

impl Child {
    /// Hides what a caller outside the case file may not see: the national ID number is
    /// masked, health and disability notes are removed.
    pub fn masked_for(mut self, scope: &Scope) -> Child {
        if !scope.sees_sensitive() {
            self.national_id = self.national_id.as_deref().map(mask);
            self.health_notes = None;
            self.disability_notes = None;
        }
        self
    }
}

/// Whether a child with this id was ever recorded, without reading the record: for the audit
/// log's access history, which auditors read about any child.
pub fn exists(conn: &mut DbConnection, id: Uuid) -> Result<bool> {
    let n: i64 =
        children::table.filter(children::id.eq(DbId(id))).count().get_result(conn).map_err(map_db_error)?;
    Ok(n > 0)
}

/// The child whatever the scope: for this module, after the caller's reach has been checked.
fn load(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Child>> {
    let child = children::table
        .find(DbId(id))
        .select(ChildRow::as_select())
        .first(conn)
        .map_err(not_found_as("child"))?
        .into_child()?;
    let version = child.version;
    Ok(Versioned { record: child, version })
}

/// The children in `scope` that match `filter`, masked for the caller.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &ChildFilter,
    page: PageRequest,
) -> Result<Page<Child>> {
    let mut q = children::table.select(ChildRow::as_select()).order(children::id.asc()).into_boxed();
    if let Some(cond) = crate::scope::child_column(conn, scope, "children.id")? {
        q = q.filter(cond);
    }
    if let Some(region) = filter.region_id {
        let prefix = subtree_prefix(conn, region, "region_id")?;
        q = q.filter(children::region_id.eq_any(subtree_ids(prefix)));
    }
    if let Some(h) = filter.household_id {
        q = q.filter(children::household_id.eq(DbId(h)));
    }
    q = match filter.category {
        None => q,
        Some(Category::OrphanedOrDisabled) => q.filter(children::in_welfare_centre.eq(true)),
        Some(Category::LeftBehind) => q.filter(children::left_behind.eq(true)),
        Some(Category::InDifficulty) => q.filter(children::in_difficulty.eq(true)),
    };
    if let Some(status) = filter.status {
        q = q.filter(children::status.eq(status.as_str()));
    }
    if let Some(text) = filter.q.as_deref() {
        let p = contains_pattern(text);
        q = q.filter(
            children::name.like(p.clone()).escape('\\').or(children::case_number.like(p).escape('\\')),
        );
    }
    if let Some(after) = page.after {
        q = q.filter(children::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<ChildRow>(conn).map_err(map_db_error)?;
    let items =
        rows.into_iter().map(|r| r.into_child().map(|c| c.masked_for(scope))).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ChildInput {
        ChildInput {
            id: None,
            household_id: None,
            region_id: Uuid::nil(),
            name: "小明".into(),
            sex: Sex::Male,
            birth_date: NaiveDate::from_ymd_opt(2015, 6, 1).unwrap(),
            national_id: None,
            categories: vec![Category::LeftBehind],
            school: None,
            health_notes: None,
            disability_notes: None,
            organisation_id: None,
            caseworker_id: None,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()
    }

    /// Appends the GB 11643 check character to 17 digits.
    fn with_check(body: &str) -> String {
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
        format!("{body}{}", ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize])
    }

    #[test]
    fn national_id_must_agree_with_the_birth_date() {
        let mut i = input();
        i.national_id = Some(with_check("42120220150601123"));
        assert!(check(&i, today()).is_ok());
        i.birth_date = NaiveDate::from_ymd_opt(2015, 6, 2).unwrap();
        let Err(Error::Validation(errs)) = check(&i, today()) else { panic!("mismatch accepted") };
        assert_eq!(errs[0].code, "birth_date_mismatch");
    }

    #[test]
    fn categories_map_to_flags_and_repeats_are_refused() {
        let mut i = input();
        i.categories = vec![Category::InDifficulty, Category::OrphanedOrDisabled];
        assert_eq!(check(&i, today()).unwrap().categories, [true, false, true]);
        i.categories = vec![Category::LeftBehind, Category::LeftBehind];
        assert!(check(&i, today()).is_err());
    }

    #[test]
    fn future_birth_dates_are_refused() {
        let mut i = input();
        i.birth_date = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
        assert!(check(&i, today()).is_err());
    }
}
