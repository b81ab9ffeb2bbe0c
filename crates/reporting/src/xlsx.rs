//! Excel workbooks (`.xlsx`, through `rust_xlsxwriter`): for people who open a report in a
//! spreadsheet program. Each sheet starts with a block that says what it covers (the report,
//! its period and region, when it was made and as of when its data is), then the table: a bold
//! heading row frozen in place, typed cells (counts and scores as numbers, days as dates, every
//! other cell as text, so nothing is ever read as a formula), and columns wide enough for
//! their content (Chinese characters counted twice). A report whose table has a breakdown
//! column gets a sheet per breakdown. Headings and labels are in the reader's language, as in
//! CSV (`crate::csv::Words`); masking and withheld small cells are the report's own, as in JSON.

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet};

use crate::csv::Table;

/// One cell of a workbook.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Empty,
}

impl Cell {
    /// A report table's cell: a number where it reads as one, a day where it reads as
    /// `YYYY-MM-DD`, otherwise text. (Report tables hold no identity or phone numbers, which
    /// must stay text; lists build their cells by their fields' kinds instead.)
    pub fn of_report(text: &str) -> Cell {
        if text.is_empty() {
            Cell::Empty
        } else if let Ok(n) = text.parse::<f64>()
            && n.is_finite()
        {
            Cell::Number(n)
        } else if let Some(d) =
            (text.len() == 10).then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten()
        {
            Cell::Date(d)
        } else {
            Cell::Text(text.to_owned())
        }
    }

    /// How many characters wide the cell shows (wide characters count twice).
    fn width(&self) -> usize {
        match self {
            Cell::Text(t) => t.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum(),
            Cell::Number(n) => format!("{n}").len(),
            Cell::Date(_) => 10,
            Cell::Empty => 0,
        }
    }
}

/// An instant as the programmes' clock shows it (Asia/Shanghai), to the minute: a contact's time
/// as the person who made it would write it.
pub fn local_minute(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&tongxing_core::time::TIME_ZONE).format("%Y-%m-%d %H:%M").to_string()
}

/// What a workbook covers, shown above each sheet's table: a title and facts (label, value).
#[derive(Debug, Clone, Default)]
pub struct About {
    pub title: String,
    pub facts: Vec<(String, String)>,
}

/// One sheet: its name, headings and rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The sheets of a report table: one, or one per value of its breakdown column (which the
/// sheet's name then says, and its rows leave out). A closing note (withheld cells) goes on
/// every sheet.
pub fn sheets(table: &Table, name: &str) -> Vec<Sheet> {
    let note: Vec<Vec<Cell>> =
        table.note.iter().map(|(k, v)| vec![Cell::Text(k.clone()), Cell::Text(v.clone())]).collect();
    let cells = |row: &[String], skip: Option<usize>| -> Vec<Cell> {
        row.iter().enumerate().filter(|(i, _)| Some(*i) != skip).map(|(_, c)| Cell::of_report(c)).collect()
    };
    let Some(by) = table.breakdown else {
        let mut rows: Vec<Vec<Cell>> = table.rows.iter().map(|r| cells(r, None)).collect();
        rows.extend(note);
        return vec![Sheet { name: name.to_owned(), headers: table.headers.clone(), rows }];
    };
    let headers: Vec<String> =
        table.headers.iter().enumerate().filter(|(i, _)| *i != by).map(|(_, h)| h.clone()).collect();
    let mut out: Vec<Sheet> = Vec::new();
    for row in &table.rows {
        let section = row.get(by).cloned().unwrap_or_default();
        match out.iter_mut().find(|s| s.name == section) {
            Some(sheet) => sheet.rows.push(cells(row, Some(by))),
            None => {
                out.push(Sheet { name: section, headers: headers.clone(), rows: vec![cells(row, Some(by))] })
            }
        }
    }
    if out.is_empty() {
        out.push(Sheet { name: name.to_owned(), headers, rows: Vec::new() });
    }
    for sheet in &mut out {
        sheet.rows.extend(note.iter().cloned());
    }
    out
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique in the book.
fn sheet_name(wanted: &str, taken: &[String]) -> String {
    let clean: String = wanted
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect::<String>()
        .trim_matches('\'')
        .chars()
        .take(28)
        .collect();
    let base = if clean.trim().is_empty() { "Sheet".to_owned() } else { clean };
    let mut name = base.clone();
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
        name = format!("{base} {n}");
        n += 1;
    }
    name
}

/// A workbook being written, a row at a time; sheets after the first may follow. Rows go to
/// temporary files as they come (constant-memory mode), so a long list does not stay in memory.
pub struct Book {
    workbook: Workbook,
    about: About,
    names: Vec<String>,
    /// The row the next data row of the current sheet goes to.
    next: u32,
    bold: Format,
    date: Format,
    text: Format,
}

impl Book {
    pub fn new(about: About) -> Book {
        Book {
            workbook: Workbook::new(),
            about,
            names: Vec::new(),
            next: 0,
            bold: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd").set_align(FormatAlign::Left),
            text: Format::new().set_num_format("@"),
        }
    }

    fn current(&mut self) -> Result<&mut Worksheet, String> {
        let index = self.names.len().checked_sub(1).ok_or("no sheet yet")?;
        self.workbook.worksheet_from_index(index).map_err(|e| e.to_string())
    }

    /// Starts a sheet: the block that says what the book covers, then `headers`, frozen, with
    /// columns `widths` characters wide.
    pub fn sheet(&mut self, name: &str, headers: &[String], widths: &[usize]) -> Result<(), String> {
        let name = sheet_name(name, &self.names);
        let (bold, about) = (self.bold.clone(), self.about.clone());
        let sheet = self.workbook.add_worksheet_with_constant_memory().map_err(|e| e.to_string())?;
        sheet.set_name(&name).map_err(|e| e.to_string())?;
        for (col, width) in widths.iter().enumerate() {
            let col = u16::try_from(col).map_err(|e| e.to_string())?;
            sheet.set_column_width(col, (*width).clamp(8, 60) as f64 + 2.0).map_err(|e| e.to_string())?;
        }
        sheet.write_string_with_format(0, 0, &about.title, &bold).map_err(|e| e.to_string())?;
        let mut row = 1u32;
        for (label, value) in &about.facts {
            sheet.write_string(row, 0, label).map_err(|e| e.to_string())?;
            sheet.write_string(row, 1, value).map_err(|e| e.to_string())?;
            row += 1;
        }
        row += 1;
        for (col, h) in headers.iter().enumerate() {
            let col = u16::try_from(col).map_err(|e| e.to_string())?;
            sheet.write_string_with_format(row, col, h, &bold).map_err(|e| e.to_string())?;
        }
        sheet.set_freeze_panes(row + 1, 0).map_err(|e| e.to_string())?;
        self.names.push(name);
        self.next = row + 1;
        Ok(())
    }

    /// Adds a row to the current sheet.
    pub fn row(&mut self, cells: &[Cell]) -> Result<(), String> {
        let (row, date, text) = (self.next, self.date.clone(), self.text.clone());
        let sheet = self.current()?;
        for (col, cell) in cells.iter().enumerate() {
            let col = u16::try_from(col).map_err(|e| e.to_string())?;
            match cell {
                // As text: a cell starting with `=` stays the text it is.
                Cell::Text(t) => sheet.write_string_with_format(row, col, t, &text),
                Cell::Number(n) => sheet.write_number(row, col, *n),
                Cell::Date(d) => sheet.write_datetime_with_format(row, col, d, &date),
                Cell::Empty => continue,
            }
            .map_err(|e| e.to_string())?;
        }
        self.next += 1;
        Ok(())
    }

    /// The workbook's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        self.workbook.save_to_buffer().map_err(|e| e.to_string())
    }
}

/// A whole workbook from sheets held in memory (reports), each column as wide as its widest
/// cell among the first rows.
pub fn write(about: About, sheets: &[Sheet]) -> Result<Vec<u8>, String> {
    let mut book = Book::new(about);
    for sheet in sheets {
        let mut widths: Vec<usize> = sheet.headers.iter().map(|h| Cell::Text(h.clone()).width()).collect();
        for row in sheet.rows.iter().take(500) {
            for (i, c) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(c.width());
                }
            }
        }
        book.sheet(&sheet.name, &sheet.headers, &widths)?;
        for row in &sheet.rows {
            book.row(row)?;
        }
    }
    book.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_cells_are_typed_by_what_they_read_as() {
        assert_eq!(Cell::of_report("14"), Cell::Number(14.0));
        assert_eq!(Cell::of_report("-2.5"), Cell::Number(-2.5));
        assert_eq!(Cell::of_report(""), Cell::Empty);
        assert_eq!(Cell::of_report("2024-03-01"), Cell::Date(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()));
        assert_eq!(Cell::of_report("2024-03"), Cell::Text("2024-03".into()));
        assert_eq!(Cell::of_report("=1+1"), Cell::Text("=1+1".into()));
        assert_eq!(Cell::of_report("NaN"), Cell::Text("NaN".into()));
        assert_eq!(Cell::of_report("柏墩村"), Cell::Text("柏墩村".into()));
    }

    #[test]
    fn sheet_names_are_ones_excel_takes() {
        let taken = vec!["Type".to_owned()];
        assert_eq!(sheet_name("type", &taken), "type 2");
        assert_eq!(sheet_name("a/b:c", &[]), "a_b_c");
        assert_eq!(sheet_name("", &[]), "Sheet");
        assert_eq!(sheet_name(&"长".repeat(40), &[]).chars().count(), 28);
    }

    #[test]
    fn a_workbook_is_a_zip_of_its_parts() {
        let about = About { title: "T".into(), facts: vec![("a".into(), "b".into())] };
        let sheet = Sheet {
            name: "s".into(),
            headers: vec!["h".into(), "n".into()],
            rows: vec![vec![Cell::Text("=cmd".into()), Cell::Number(3.0)]],
        };
        let bytes = write(about, &[sheet]).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
