//! CSV exports: UTF-8 with a byte-order mark (so spreadsheet programs read Chinese text
//! correctly), RFC 4180 quoting, and cells that a spreadsheet would run as a formula (starting
//! with `=`, `+`, `-`, `@`, a tab or a carriage return) prefixed with `'`.
//!
//! A table is for people: its headings and labels (the names of figures, sections, breakdowns,
//! categories, types, programmes, service forms, dimensions and statuses) are in the reader's
//! language, through [`Words`]. The data in it (names, periods, numbers, rule codes) is as
//! recorded. Programs read the JSON report, whose keys these are.

use tongxing_cases::children::{Category, Sex};
use tongxing_cases::contacts::{ContactKind, ContactOutcome};
use tongxing_cases::households::Relation;
use tongxing_cases::lifecycle::CaseStatus;
use tongxing_events::events::{EventType, Programme};
use tongxing_events::service_forms::ServiceForm;
use tongxing_pairing::home_visits::HomeVisitStatus;

use crate::suppression::Suppression;

/// The words of a report table in its reader's language. A table asks for them by key (the
/// JSON report's own names); the API answers from its catalogues (Chinese or English).
pub trait Words {
    /// A column's heading.
    fn heading(&self, key: &str) -> String;
    /// A label: what a row is about.
    fn label(&self, key: &str) -> String;
    /// A figure's definition; `english` is the one the JSON report gives.
    fn definition(&self, key: &str, english: &str) -> String;
    /// The last row's explanation when `cells` cells are withheld, each resting on fewer than
    /// `threshold` children (or letting such a figure be worked out).
    fn withheld(&self, cells: usize, threshold: u32) -> String;

    /// Labels from the general to the particular (`events_held`, `care`), as one cell.
    fn labels(&self, keys: &[&str]) -> String {
        keys.iter().map(|k| self.label(k)).collect::<Vec<_>>().join(" · ")
    }
}

/// Every heading of every report table.
pub fn headings() -> Vec<&'static str> {
    let mut all: Vec<&str> = [
        crate::summary::COLUMNS,
        crate::events::COLUMNS,
        crate::assessments::COLUMNS,
        crate::compliance::COLUMNS,
        crate::exports::CHILD_COLUMNS,
        crate::exports::CONTACT_COLUMNS,
        crate::exports::HOUSEHOLD_COLUMNS,
        crate::exports::HOME_VISIT_COLUMNS,
    ]
    .concat();
    all.sort_unstable();
    all.dedup();
    all
}

/// The labels of the tables that are not of a closed set named below.
const FIXED_LABELS: &[&str] = &[
    // The summary's figures.
    "children_registered",
    "families_phoned",
    "children_visited",
    "events_held",
    "children_attending_events",
    "volunteers_active",
    "volunteer_hours",
    "children_assessed",
    "by_category",
    "by_village",
    // The events report's sections and totals.
    "type",
    "programme",
    "service_form",
    "region",
    "village_reached",
    "total",
    "children_of_region_attending_anywhere",
    // The compliance report's breakdowns and the home-visit requests by status.
    "period",
    "mentor_organisation",
    "now",
    "home_visits",
    "requests",
    "pending",
    "approved",
    "completed",
    "expired",
    "recorded_late",
    "rejected",
    "cancelled",
    // The last row when cells are withheld.
    "note",
    // A workbook's title and the block that says what it covers.
    "workbook_summary",
    "workbook_events",
    "workbook_assessments",
    "workbook_compliance",
    "workbook_period",
    "workbook_first_record",
    "workbook_today",
    "workbook_region",
    "workbook_everywhere",
    "workbook_generated_at",
    "workbook_data_as_of",
    // The lists' workbooks: their sheets, and the values of their closed sets.
    "export_children",
    "export_contacts",
    "export_households",
    "export_home_visit_requests",
    "yes",
    "no",
];

/// Every label a report table may ask for: the fixed ones and the closed sets (assessment
/// dimensions, categories, event types, programmes, service forms).
pub fn labels() -> Vec<&'static str> {
    let mut all = FIXED_LABELS.to_vec();
    all.extend(crate::assessments::DIMENSIONS);
    all.extend(Category::ALL.iter().map(|c| c.as_str()));
    all.extend(EventType::ALL.iter().map(|t| t.as_str()));
    all.extend(Programme::ALL.iter().map(|p| p.as_str()));
    all.extend(ServiceForm::ALL.iter().map(|f| f.as_str()));
    all.extend(Sex::ALL.iter().map(|s| s.as_str()));
    all.extend(CaseStatus::ALL.iter().map(|s| s.as_str()));
    all.extend(ContactKind::ALL.iter().map(|k| k.as_str()));
    all.extend(ContactOutcome::ALL.iter().map(|o| o.as_str()));
    all.extend(Relation::ALL.iter().map(|r| r.as_str()));
    all.extend(HomeVisitStatus::ALL.iter().map(|s| s.as_str()));
    all.sort_unstable();
    all.dedup();
    all
}

/// A report as rows of text cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The column that names each row's breakdown (a workbook gives each its own sheet).
    pub breakdown: Option<usize>,
    /// When small cells were withheld: `note` and the explanation (the last row in CSV).
    pub note: Option<(String, String)>,
}

impl Table {
    /// A table with these columns (keys of [`headings`]), headed in the reader's language.
    pub fn new(words: &dyn Words, headings: &[&str]) -> Self {
        Table { headers: headings.iter().map(|h| words.heading(h)).collect(), ..Table::default() }
    }

    /// The same, whose rows each belong to the breakdown named in column `key`.
    pub fn by(words: &dyn Words, headings: &[&str], key: &str) -> Self {
        Table { breakdown: headings.iter().position(|h| *h == key), ..Table::new(words, headings) }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// When small cells were withheld, the table says so: `note` in the first column, the
    /// explanation in the second (the withheld cells are empty).
    pub fn note(&mut self, words: &dyn Words, suppression: Option<&Suppression>) {
        let Some(s) = suppression else { return };
        self.note = Some((words.label("note"), words.withheld(s.suppressed.len(), s.threshold)));
    }
}

/// A figure, or an empty cell where it is withheld.
pub fn count(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

const BOM: &[u8] = "\u{feff}".as_bytes();

/// The cell as a spreadsheet should show it, never as a formula.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

fn quote(cell: &str) -> String {
    let cell = neutralise(cell);
    if cell.contains([',', '"', '\n', '\r']) || cell.starts_with(' ') || cell.ends_with(' ') {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// Numbers are written as they are (a negative change is a number, not a formula).
pub fn number(n: f64) -> String {
    if n.fract() == 0.0 { format!("{n:.0}") } else { format!("{n:.2}") }
}

pub fn to_bytes(table: &Table) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + table.rows.len() * 64);
    out.extend_from_slice(BOM);
    let mut line = |cells: &[String], numeric: bool| {
        let text: Vec<String> = cells
            .iter()
            .map(|c| if numeric && c.parse::<f64>().is_ok() { c.clone() } else { quote(c) })
            .collect();
        out.extend_from_slice(text.join(",").as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    line(&table.headers, false);
    for row in &table.rows {
        line(row, true);
    }
    if let Some((label, text)) = &table.note {
        let mut row = vec![label.clone(), text.clone()];
        row.resize(table.headers.len().max(2), String::new());
        line(&row, true);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys themselves, as words.
    struct Keys;

    impl Words for Keys {
        fn heading(&self, key: &str) -> String {
            key.to_owned()
        }
        fn label(&self, key: &str) -> String {
            key.to_owned()
        }
        fn definition(&self, key: &str, _: &str) -> String {
            key.to_owned()
        }
        fn withheld(&self, cells: usize, threshold: u32) -> String {
            format!("{cells} < {threshold}")
        }
    }

    #[test]
    fn bom_chinese_text_quoting_and_formula_cells() {
        let mut t = Table::new(&Keys, &["名称", "value"]);
        t.push(vec!["柏墩村".into(), "14".into()]);
        t.push(vec!["=HYPERLINK(\"x\")".into(), "-3".into()]);
        t.push(vec!["@SUM(A1)".into(), "+1 text".into()]);
        t.push(vec!["a, \"b\"".into(), "-x".into()]);
        let bytes = to_bytes(&t);
        assert_eq!(&bytes[..3], [0xEF, 0xBB, 0xBF]);
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "名称,value");
        assert_eq!(lines[1], "柏墩村,14");
        assert_eq!(
            lines[2], "\"'=HYPERLINK(\"\"x\"\")\",-3",
            "a formula is defused; a negative number stays a number"
        );
        assert_eq!(lines[3], "'@SUM(A1),'+1 text");
        assert_eq!(lines[4], "\"a, \"\"b\"\"\",'-x");
    }
}

/// Every label a table's code asks for by a literal is in [`labels`], which the API's
/// catalogues are tested against (the headings are the reports' `COLUMNS`).
#[cfg(test)]
mod vocabulary {
    #[test]
    fn every_literal_key_is_known() {
        let sources = [
            include_str!("summary.rs"),
            include_str!("events.rs"),
            include_str!("assessments.rs"),
            include_str!("compliance.rs"),
        ];
        let labels = super::labels();
        let mut found = 0;
        for source in sources {
            // Without white space, as rustfmt may break a call over lines (keys hold none).
            let source: String = source.split_whitespace().collect();
            for (call, known) in [("label(\"", &labels[..])] {
                for part in source.split(call).skip(1) {
                    let key = part.split('"').next().unwrap_or_default();
                    assert!(known.contains(&key), "{key:?} is asked for but not listed");
                    found += 1;
                }
            }
            // `labels(&[...])` and the summary's rows (`(&["events_held", "care"], …)`).
            for (call, known) in [("labels(&[", &labels[..]), ("(&[\"", &labels[..])] {
                for part in source.split(call).skip(1) {
                    let list = part.split(']').next().unwrap_or_default();
                    let list = if call.ends_with('"') { format!("\"{list}") } else { list.to_owned() };
                    for key in list.split('"').skip(1).step_by(2) {
                        assert!(known.contains(&key), "{key:?} is asked for but not listed");
                        found += 1;
                    }
                }
            }
        }
        assert!(found > 25, "the scan found the keys ({found})");
    }
}
