//! Lists as Excel workbooks (the children, the contacts, the households, the home-visit
//! requests): every record of a list that the caller
//! may read and the filters select, as the list answers it (the same scope and masking: a national ID masked for whom the
//! list masks it, notes withheld as there), a page at a time into a workbook that keeps its rows
//! in temporary files, so that a long list does not stay in memory. Headings and labels in the
//! reader's language ([`Words`]); identity numbers, phone numbers, case numbers and ids as text,
//! days as dates.

use std::collections::HashMap;

use diesel::prelude::*;
use tongxing_cases::children::{self, Child, ChildFilter};
use tongxing_cases::contacts::{self, Contact, ContactFilter};
use tongxing_cases::households::{self, Guardian, Household, HouseholdFilter};
use tongxing_core::Result;
use tongxing_core::access::Scope;
use tongxing_core::page::PageRequest;
use tongxing_pairing::home_visits::{self, HomeVisitFilter, HomeVisitRequest};
use tongxing_store::schema::regions;
use tongxing_store::{DbConnection, DbId, map_db_error};
use uuid::Uuid;

use crate::csv::Words;
use crate::xlsx::{About, Book, Cell};

/// The columns of the children's workbook (keys of its words).
pub const CHILD_COLUMNS: &[&str] = &[
    "case_number",
    "name",
    "sex",
    "birth_date",
    "national_id",
    "categories",
    "village",
    "school",
    "status",
    "registered_on",
    "closed_on",
    "health_notes",
    "disability_notes",
    "household_id",
    "child_id",
];

/// How wide each column starts (characters), before the rows are known.
const CHILD_WIDTHS: [usize; 15] = [16, 10, 6, 12, 20, 24, 14, 20, 10, 12, 12, 30, 30, 38, 38];

/// Rows read at a time.
const CHUNK: i64 = 200;

/// A workbook and the children it holds (each an audited read).
pub struct Exported {
    pub bytes: Vec<u8>,
    pub children: Vec<Uuid>,
}

fn text(s: Option<&str>) -> Cell {
    s.filter(|s| !s.is_empty()).map_or(Cell::Empty, |s| Cell::Text(s.to_owned()))
}

fn child_row(c: &Child, villages: &HashMap<Uuid, String>, words: &dyn Words) -> Vec<Cell> {
    let categories: Vec<String> = c.categories.iter().map(|k| words.label(k.as_str())).collect();
    vec![
        text(c.case_number.as_deref()),
        Cell::Text(c.name.clone()),
        Cell::Text(words.label(c.sex.as_str())),
        Cell::Date(c.birth_date),
        text(c.national_id.as_deref()),
        Cell::Text(categories.join("、")),
        text(villages.get(&c.region_id).map(String::as_str)),
        text(c.school.as_deref()),
        Cell::Text(words.label(c.status.as_str())),
        c.registered_on.map_or(Cell::Empty, Cell::Date),
        c.closed_on.map_or(Cell::Empty, Cell::Date),
        text(c.health_notes.as_deref()),
        text(c.disability_notes.as_deref()),
        text(c.household_id.map(|h| h.to_string()).as_deref()),
        Cell::Text(c.id.to_string()),
    ]
}

/// The names of regions, looked up once each.
#[derive(Default)]
struct Names(HashMap<Uuid, String>);

impl Names {
    fn of(&mut self, conn: &mut DbConnection, ids: impl IntoIterator<Item = Uuid>) -> Result<()> {
        let unknown: Vec<DbId> = ids.into_iter().filter(|r| !self.0.contains_key(r)).map(DbId).collect();
        if !unknown.is_empty() {
            let named: Vec<(DbId, String)> = regions::table
                .filter(regions::id.eq_any(unknown))
                .select((regions::id, regions::name))
                .load(conn)
                .map_err(map_db_error)?;
            self.0.extend(named.into_iter().map(|(id, name)| (Uuid::from(id), name)));
        }
        Ok(())
    }
}

/// A list's workbook: its pages, read in the list's order (`page` gives the page after a record), each
/// written as rows (`rows`, with the page and what it looked up), and the children each page
/// concerns (`children`), which the caller audits.
struct Listing<'a, T, P, R, C> {
    sheet: &'a str,
    columns: &'a [&'a str],
    widths: &'a [usize],
    id: fn(&T) -> Uuid,
    page: P,
    rows: R,
    children: C,
}

fn export<T, P, R, C>(
    conn: &mut DbConnection,
    words: &dyn Words,
    about: About,
    mut listing: Listing<'_, T, P, R, C>,
) -> Result<Exported>
where
    P: FnMut(&mut DbConnection, PageRequest) -> Result<tongxing_core::page::Page<T>>,
    R: FnMut(&mut DbConnection, &[T]) -> Result<Vec<Vec<Cell>>>,
    C: FnMut(&mut DbConnection, &[T]) -> Result<Vec<Uuid>>,
{
    let fail = |e: String| tongxing_core::Error::internal(format!("cannot write the workbook: {e}"));
    let mut book = Book::new(about);
    let headers: Vec<String> = listing.columns.iter().map(|h| words.heading(h)).collect();
    book.sheet(&words.label(listing.sheet), &headers, listing.widths).map_err(fail)?;
    let (mut children, mut seen) = (Vec::new(), std::collections::HashSet::new());
    let mut after = None;
    loop {
        let page = (listing.page)(conn, PageRequest { after, limit: CHUNK })?;
        for row in (listing.rows)(conn, &page.items)? {
            book.row(&row).map_err(fail)?;
        }
        for child in (listing.children)(conn, &page.items)? {
            if seen.insert(child) {
                children.push(child);
            }
        }
        match (page.next_cursor, page.items.last()) {
            (Some(_), Some(last)) => after = Some((listing.id)(last)),
            _ => break,
        }
    }
    Ok(Exported { bytes: book.finish().map_err(fail)?, children })
}

/// Every child the caller may read that `filter` selects, as a workbook.
pub fn children(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &ChildFilter,
    words: &dyn Words,
    about: About,
) -> Result<Exported> {
    let mut villages = Names::default();
    let listing = Listing {
        sheet: "export_children",
        columns: CHILD_COLUMNS,
        widths: &CHILD_WIDTHS,
        id: |c: &Child| c.id,
        page: |conn: &mut DbConnection, page| children::list(conn, scope, filter, page),
        rows: |conn: &mut DbConnection, items: &[Child]| {
            villages.of(conn, items.iter().map(|c| c.region_id))?;
            Ok(items.iter().map(|c| child_row(c, &villages.0, words)).collect())
        },
        children: |_: &mut DbConnection, items: &[Child]| Ok(items.iter().map(|c| c.id).collect()),
    };
    export(conn, words, about, listing)
}

/// The names of these children, of those `scope` reaches.
fn names_of_children(
    conn: &mut DbConnection,
    scope: &Scope,
    children: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<String, String>> {
    use tongxing_store::schema::children as c;
    let ids: Vec<String> = children.into_iter().map(|id| id.to_string()).collect();
    let mut q = c::table.filter(c::id.eq_any(ids)).select((c::id, c::name)).into_boxed();
    if let Some(reached) = tongxing_cases::scope::child_column(conn, scope, "children.id")? {
        q = q.filter(reached);
    }
    Ok(q.load::<(String, String)>(conn).map_err(map_db_error)?.into_iter().collect())
}

/// The columns of the contacts' workbook (keys of its words).
pub const CONTACT_COLUMNS: &[&str] = &[
    "occurred_at",
    "kind",
    "outcome",
    "child",
    "child_id",
    "household_id",
    "notes",
    "made_by",
    "contact_id",
];

const CONTACT_WIDTHS: [usize; 9] = [17, 12, 10, 10, 38, 38, 40, 38, 38];

/// Every contact the caller may read that `filter` selects, as a workbook, with the name of the
/// child each concerns when the caller may read children (`child_names`: a partner client
/// reading contacts without `cases:read` gets the ids the list gives, and no names), and only
/// of children in their scope.
pub fn contacts(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &ContactFilter,
    words: &dyn Words,
    about: About,
    child_names: bool,
) -> Result<Exported> {
    let listing = Listing {
        sheet: "export_contacts",
        columns: CONTACT_COLUMNS,
        widths: &CONTACT_WIDTHS,
        id: |c: &Contact| c.id,
        page: |conn: &mut DbConnection, page| contacts::list(conn, scope, filter, page),
        rows: |conn: &mut DbConnection, items: &[Contact]| {
            let names = if child_names {
                names_of_children(conn, scope, items.iter().filter_map(|c| c.child_id))?
            } else {
                HashMap::new()
            };
            Ok(items
                .iter()
                .map(|c| {
                    let child = c.child_id.map(|id| id.to_string());
                    vec![
                        Cell::Text(crate::xlsx::local_minute(c.occurred_at)),
                        Cell::Text(words.label(c.kind.as_str())),
                        Cell::Text(words.label(c.outcome.as_str())),
                        text(child.as_ref().and_then(|id| names.get(id)).map(String::as_str)),
                        text(child.as_deref()),
                        text(c.household_id.map(|h| h.to_string()).as_deref()),
                        text(c.notes.as_deref()),
                        Cell::Text(c.made_by.to_string()),
                        Cell::Text(c.id.to_string()),
                    ]
                })
                .collect())
        },
        children: |conn: &mut DbConnection, items: &[Contact]| {
            contacts::concerned_children(conn, scope, items)
        },
    };
    export(conn, words, about, listing)
}

/// The columns of the households' workbook (keys of its words): the guardian to reach first
/// (the primary one, else the first listed) in columns of their own, the others in one.
pub const HOUSEHOLD_COLUMNS: &[&str] = &[
    "village",
    "address",
    "parents_work_away",
    "guardian",
    "relation",
    "phone",
    "other_guardians",
    "notes",
    "recorded_on",
    "household_id",
];

const HOUSEHOLD_WIDTHS: [usize; 10] = [14, 30, 8, 10, 10, 16, 40, 40, 12, 38];

fn household_row(h: &Household, villages: &HashMap<Uuid, String>, words: &dyn Words) -> Vec<Cell> {
    let first = h.guardians.iter().position(|g| g.is_primary).unwrap_or(0);
    let relation = |g: &Guardian| words.label(g.relation.as_str());
    let others: Vec<String> = h
        .guardians
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != first)
        .map(|(_, g)| match g.phone.as_deref() {
            Some(phone) => format!("{} ({}) {phone}", g.name, relation(g)),
            None => format!("{} ({})", g.name, relation(g)),
        })
        .collect();
    let guardian = h.guardians.get(first);
    vec![
        text(villages.get(&h.region_id).map(String::as_str)),
        text(h.address.as_deref()),
        Cell::Text(words.label(if h.parents_work_away { "yes" } else { "no" })),
        text(guardian.map(|g| g.name.as_str())),
        guardian.map_or(Cell::Empty, |g| Cell::Text(relation(g))),
        text(guardian.and_then(|g| g.phone.as_deref())),
        Cell::Text(others.join("; ")),
        text(h.notes.as_deref()),
        Cell::Date(tongxing_core::time::local_date(h.created_at)),
        Cell::Text(h.id.to_string()),
    ]
}

/// Every household the caller may read that `filter` selects, as a workbook; each child of
/// them the caller reaches is an audited read, as for the list (an address and a guardian's
/// phone are about the household's children).
pub fn households(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &HouseholdFilter,
    words: &dyn Words,
    about: About,
) -> Result<Exported> {
    let mut villages = Names::default();
    let listing = Listing {
        sheet: "export_households",
        columns: HOUSEHOLD_COLUMNS,
        widths: &HOUSEHOLD_WIDTHS,
        id: |h: &Household| h.id,
        page: |conn: &mut DbConnection, page| households::list(conn, scope, filter, page),
        rows: |conn: &mut DbConnection, items: &[Household]| {
            villages.of(conn, items.iter().map(|h| h.region_id))?;
            Ok(items.iter().map(|h| household_row(h, &villages.0, words)).collect())
        },
        children: |conn: &mut DbConnection, items: &[Household]| {
            let ids: Vec<Uuid> = items.iter().map(|h| h.id).collect();
            households::children_of(conn, scope, &ids)
        },
    };
    export(conn, words, about, listing)
}

/// The columns of the home-visit requests' workbook (keys of its words).
pub const HOME_VISIT_COLUMNS: &[&str] = &[
    "leaves_at",
    "returns_at",
    "request_status",
    "child",
    "address",
    "transport",
    "supervisor",
    "emergency_contact_name",
    "emergency_contact_phone",
    "consent_given_by",
    "relation",
    "consent_given_at",
    "checklist_completed_at",
    "decided_at",
    "decision_reason",
    "returned_at",
    "late_reason",
    "requested_by",
    "decided_by",
    "child_id",
    "pairing_id",
    "request_id",
];

const HOME_VISIT_WIDTHS: [usize; 22] =
    [17, 17, 10, 10, 30, 14, 10, 14, 16, 10, 10, 17, 17, 17, 30, 17, 30, 38, 38, 38, 38, 38];

fn home_visit_row(r: &HomeVisitRequest, names: &HashMap<String, String>, words: &dyn Words) -> Vec<Cell> {
    let minute = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or(Cell::Empty, |at| Cell::Text(crate::xlsx::local_minute(at)))
    };
    let child = r.child_id.to_string();
    vec![
        minute(Some(r.leaves_at)),
        minute(Some(r.returns_at)),
        Cell::Text(words.label(r.status.as_str())),
        text(names.get(&child).map(String::as_str)),
        text(Some(r.address.as_str())),
        text(Some(r.transport.as_str())),
        text(Some(r.supervisor.as_str())),
        text(Some(r.emergency_contact_name.as_str())),
        text(Some(r.emergency_contact_phone.as_str())),
        text(r.consent_given_by.as_deref()),
        r.consent_relation.map_or(Cell::Empty, |k| Cell::Text(words.label(k.as_str()))),
        minute(r.consent_given_at),
        minute(r.checklist_completed_at),
        minute(r.decided_at),
        text(r.decision_reason.as_deref()),
        minute(r.returned_at),
        text(r.late_reason.as_deref()),
        Cell::Text(r.requested_by.to_string()),
        text(r.decided_by.map(|u| u.to_string()).as_deref()),
        Cell::Text(child),
        Cell::Text(r.pairing_id.to_string()),
        Cell::Text(r.id.to_string()),
    ]
}

/// Every home-visit request the caller may read that `filter` selects, newest first, as a
/// workbook: all of them, where the list stops at the newest 200. Times in Asia/Shanghai, the
/// name of each request's child (whoever may read requests may read their children), and each
/// child an audited read, as for the list.
pub fn home_visit_requests(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &HomeVisitFilter,
    words: &dyn Words,
    about: About,
) -> Result<Exported> {
    let listing = Listing {
        sheet: "export_home_visit_requests",
        columns: HOME_VISIT_COLUMNS,
        widths: &HOME_VISIT_WIDTHS,
        id: |r: &HomeVisitRequest| r.id,
        page: |conn: &mut DbConnection, page| home_visits::list_page(conn, scope, filter, page),
        rows: |conn: &mut DbConnection, items: &[HomeVisitRequest]| {
            let names = names_of_children(conn, scope, items.iter().map(|r| r.child_id))?;
            Ok(items.iter().map(|r| home_visit_row(r, &names, words)).collect())
        },
        children: |_: &mut DbConnection, items: &[HomeVisitRequest]| {
            Ok(items.iter().map(|r| r.child_id).collect())
        },
    };
    export(conn, words, about, listing)
}
