//! Lists as Excel workbooks: every record of a list that the caller may read and the filters
//! select, as the list answers it (the same scope and masking: a national ID masked for whom the
//! list masks it, notes withheld as there), a page at a time into a workbook that keeps its rows
//! in temporary files, so that a long list does not stay in memory. Headings and labels in the
//! reader's language ([`Words`]); identity numbers, case numbers and ids as text, days as dates.

use std::collections::HashMap;

use diesel::prelude::*;
use tongxing_cases::children::{self, Child, ChildFilter};
use tongxing_core::Result;
use tongxing_core::access::Scope;
use tongxing_core::page::PageRequest;
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

/// Every child the caller may read that `filter` selects, as a workbook.
pub fn children(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &ChildFilter,
    words: &dyn Words,
    about: About,
) -> Result<Exported> {
    let fail = |e: String| tongxing_core::Error::internal(format!("cannot write the workbook: {e}"));
    let mut book = Book::new(about);
    let headers: Vec<String> = CHILD_COLUMNS.iter().map(|h| words.heading(h)).collect();
    book.sheet(&words.label("export_children"), &headers, &CHILD_WIDTHS).map_err(fail)?;
    let mut villages: HashMap<Uuid, String> = HashMap::new();
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = children::list(conn, scope, filter, PageRequest { after, limit: CHUNK })?;
        let unknown: Vec<DbId> =
            page.items.iter().map(|c| c.region_id).filter(|r| !villages.contains_key(r)).map(DbId).collect();
        if !unknown.is_empty() {
            let named: Vec<(DbId, String)> = regions::table
                .filter(regions::id.eq_any(unknown))
                .select((regions::id, regions::name))
                .load(conn)
                .map_err(map_db_error)?;
            villages.extend(named.into_iter().map(|(id, name)| (Uuid::from(id), name)));
        }
        for c in &page.items {
            book.row(&child_row(c, &villages, words)).map_err(fail)?;
            ids.push(c.id);
        }
        match (page.next_cursor, page.items.last()) {
            (Some(_), Some(last)) => after = Some(last.id),
            _ => break,
        }
    }
    Ok(Exported { bytes: book.finish().map_err(fail)?, children: ids })
}
