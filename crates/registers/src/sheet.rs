//! Reading an uploaded register into a grid of typed cells: `.xlsx` through calamine (cached
//! values of formulas, flagged; merged regions filled from their first cell; one sheet chosen by
//! name), CSV in UTF-8 (with or without a byte-order mark), UTF-16 (Excel's "Unicode text") or
//! GB18030/GBK (what Chinese Excel writes). A workbook's unpacked size is measured before it is
//! parsed, so a small file that unpacks to gigabytes is refused.

use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tongxing_core::{Code, Error, Result};

/// The limits an upload is held to (`TONGXING_IMPORT_MAX_BYTES`, `TONGXING_IMPORT_MAX_ROWS`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The file's size (10 MB unless configured).
    pub max_bytes: usize,
    /// Data rows (50,000 unless configured).
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 10 * 1024 * 1024, max_rows: 50_000 }
    }
}

impl Limits {
    /// A workbook's parts may unpack to this many bytes at most: twenty times the file limit
    /// (real registers compress about five to ten times).
    pub fn max_unpacked(&self) -> u64 {
        self.max_bytes as u64 * 20
    }
}

/// A cell as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum Value {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
    /// A cell holding an error (`#N/A`, `#REF!`).
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub value: Value,
    /// The value is a formula's cached result.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub formula: bool,
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        match &self.value {
            Value::Empty => true,
            Value::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text, for headings.
    pub fn text(&self) -> String {
        match &self.value {
            Value::Empty | Value::Error(_) => String::new(),
            Value::Text(t) => t.clone(),
            Value::Number(n) => format!("{n}"),
            Value::Date(d) => d.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Xlsx,
    Csv,
}

/// A register as read: its rows (numbered from 1 as a spreadsheet program shows them).
#[derive(Debug, Clone)]
pub struct Grid {
    pub format: Format,
    /// The sheet read (workbooks).
    pub sheet: Option<String>,
    /// The text encoding read (CSV).
    pub encoding: Option<String>,
    pub rows: Vec<(u32, Vec<Cell>)>,
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn not_a_spreadsheet(detail: &str) -> Error {
    Error::bad_request(Code::NotASpreadsheet, detail.to_owned())
}

/// Reads the file by its content type (`text/csv`, the xlsx type, or
/// `application/octet-stream` told apart by its first bytes).
pub fn read(bytes: &[u8], content_type: &str, sheet: Option<&str>, limits: &Limits) -> Result<Grid> {
    if bytes.is_empty() {
        return Err(Error::bad_request(Code::EmptyImport, "the file is empty"));
    }
    if bytes.len() > limits.max_bytes {
        return Err(Error::bad_request(
            Code::ImportTooLarge,
            format!("the file is over the size limit of {} bytes", limits.max_bytes),
        ));
    }
    let zip = bytes.starts_with(b"PK\x03\x04");
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(not_a_spreadsheet(
            "this is an Excel 97-2003 workbook (.xls); save it as an Excel workbook (.xlsx) and upload that",
        ));
    }
    let grid = match media.as_str() {
        XLSX => {
            if !zip {
                return Err(not_a_spreadsheet("the file is not an Excel workbook (.xlsx)"));
            }
            read_xlsx(bytes, sheet, limits)?
        }
        // Browsers on Windows send a .csv file as Excel's old type.
        "text/csv" | "text/plain" | "application/vnd.ms-excel" => {
            if zip {
                return Err(not_a_spreadsheet("the file is a workbook, not CSV: send it as .xlsx"));
            }
            read_csv(bytes)?
        }
        "application/octet-stream" if zip => read_xlsx(bytes, sheet, limits)?,
        "application/octet-stream" => read_csv(bytes)?,
        _ => {
            return Err(Error::bad_request(
                Code::UnsupportedMediaType,
                format!("send the register as {XLSX} or text/csv"),
            ));
        }
    };
    Ok(grid)
}

/// Unpacks every part of the workbook into nothing, counting, and stops at the limit.
fn check_unpacked(bytes: &[u8], limits: &Limits) -> Result<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| not_a_spreadsheet("the file is not an Excel workbook (.xlsx)"))?;
    if archive.len() > 10_000 {
        return Err(not_a_spreadsheet("the workbook has too many parts"));
    }
    let cap = limits.max_unpacked();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|_| not_a_spreadsheet("the workbook cannot be unpacked"))?;
        let read = std::io::copy(&mut entry.take(cap - total + 1), &mut std::io::sink())
            .map_err(|_| not_a_spreadsheet("the workbook cannot be unpacked"))?;
        total += read;
        if total > cap {
            return Err(Error::bad_request(
                Code::ImportTooLarge,
                format!(
                    "the workbook unpacks to more than {cap} bytes (a compressed bomb, or far too large)"
                ),
            ));
        }
    }
    Ok(())
}

/// Columns a register may use (far more than any has); cells beyond are not read.
const MAX_COLUMNS: u32 = 256;
/// The longest text a cell may hold (the longest field takes 4,000 characters).
const MAX_CELL_CHARS: usize = 10_000;
/// Merged regions read (a register merges a few per column).
const MAX_MERGED: usize = 10_000;

/// Reads the sheet cell by cell (never as one grid, which a sheet with a cell at XFD1048576
/// would make enormous): the first [`MAX_COLUMNS`] columns, rows up to the row limit, each
/// cell's text at most [`MAX_CELL_CHARS`], formulas flagged by their metadata (not expanded).
fn read_xlsx(bytes: &[u8], sheet: Option<&str>, limits: &Limits) -> Result<Grid> {
    check_unpacked(bytes, limits)?;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|_| not_a_spreadsheet("the file is not an Excel workbook (.xlsx)"))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(wanted) => names.iter().find(|n| n.as_str() == wanted).cloned().ok_or_else(|| {
            let listed: Vec<&str> = names.iter().take(20).map(String::as_str).collect();
            Error::bad_request(
                Code::UnknownSheet,
                format!("the workbook has no sheet named {wanted:?}; its sheets: {}", listed.join(", ")),
            )
        })?,
        None => names.first().cloned().ok_or_else(|| not_a_spreadsheet("the workbook has no sheets"))?,
    };
    let merged = book.merge_cells_by_sheet_name(&name).unwrap_or_default();
    // Rows past the limit (and a little room for headings and notes) are a register too large.
    let last_row = u32::try_from(limits.max_rows + 20).unwrap_or(u32::MAX);
    let mut by_row: std::collections::BTreeMap<u32, Vec<Cell>> = std::collections::BTreeMap::new();
    {
        let mut reader =
            book.worksheet_cells_reader(&name).map_err(|_| not_a_spreadsheet("the sheet cannot be read"))?;
        while let Some(record) = reader
            .next_cell_with_formula_metadata()
            .map_err(|_| not_a_spreadsheet("the sheet cannot be read"))?
        {
            let (row, col) = record.pos;
            let value = value_of(&record.value);
            if col >= MAX_COLUMNS || (value == Value::Empty && record.formula.is_none()) {
                continue;
            }
            if row > last_row {
                return Err(Error::bad_request(
                    Code::ImportTooLarge,
                    format!(
                        "the sheet has rows past row {last_row}, over the limit of {} rows",
                        limits.max_rows
                    ),
                ));
            }
            let cells = by_row.entry(row).or_default();
            if cells.len() <= col as usize {
                cells.resize(col as usize + 1, Cell { value: Value::Empty, formula: false });
            }
            cells[col as usize] = Cell { value, formula: record.formula.is_some() };
        }
    }
    let (Some(&top), Some(&bottom)) = (by_row.keys().next(), by_row.keys().next_back()) else {
        return Err(Error::bad_request(Code::EmptyImport, "the sheet is empty"));
    };
    let mut rows: Vec<(u32, Vec<Cell>)> =
        (top..=bottom).map(|r| (r + 1, by_row.remove(&r).unwrap_or_default())).collect();
    // A merged region shows its first cell's value in every cell it covers (within what was read).
    for region in merged.into_iter().take(MAX_MERGED) {
        let (r0, c0) = region.start;
        let (r1, c1) = (region.end.0.min(bottom), region.end.1.min(MAX_COLUMNS - 1));
        if r0 < top || r0 > bottom {
            continue;
        }
        let Some(first) = rows[(r0 - top) as usize].1.get(c0 as usize).cloned() else { continue };
        for r in r0..=r1 {
            let cells = &mut rows[(r - top) as usize].1;
            if cells.len() <= c1 as usize {
                cells.resize(c1 as usize + 1, Cell { value: Value::Empty, formula: false });
            }
            for cell in &mut cells[c0 as usize..=c1 as usize] {
                *cell = first.clone();
            }
        }
    }
    Ok(Grid { format: Format::Xlsx, sheet: Some(name), encoding: None, rows })
}

fn text_value(s: &str) -> Value {
    if s.chars().count() > MAX_CELL_CHARS {
        Value::Error(format!("text over {MAX_CELL_CHARS} characters"))
    } else {
        Value::Text(s.to_owned())
    }
}

fn value_of(data: &DataRef<'_>) -> Value {
    match data {
        DataRef::Empty => Value::Empty,
        DataRef::String(s) => text_value(s),
        DataRef::SharedString(s) => text_value(s),
        DataRef::Int(i) => Value::Number(*i as f64),
        DataRef::Float(f) => Value::Number(*f),
        DataRef::Bool(b) => Value::Bool(*b),
        DataRef::DateTime(d) => match d.as_datetime() {
            Some(dt) if d.is_datetime() => Value::Date(dt.date()),
            _ => Value::Number(d.as_f64()),
        },
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            s.get(..10).and_then(|d| d.parse().ok()).map_or_else(|| text_value(s), Value::Date)
        }
        DataRef::Error(e) => Value::Error(format!("{e}")),
    }
}

/// The text of a CSV file: UTF-8 (a byte-order mark dropped), UTF-16 by its mark, otherwise
/// GB18030 (a superset of GBK and GB2312, what Chinese Excel writes).
pub fn decode(bytes: &[u8]) -> (String, &'static str) {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
        return (text.into_owned(), enc.name());
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), "UTF-8"),
        Err(_) => {
            let (text, _, _) = encoding_rs::GB18030.decode(bytes);
            (text.into_owned(), "GB18030")
        }
    }
}

fn read_csv(bytes: &[u8]) -> Result<Grid> {
    let (text, encoding) = decode(bytes);
    if text.contains('\0') {
        return Err(not_a_spreadsheet("the file is not a CSV text"));
    }
    // The separator the first line uses most: a comma, a tab (Excel's "Unicode text") or a
    // semicolon (Excel where the decimal mark is a comma).
    let first = text.lines().next().unwrap_or("");
    let delimiter = [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| not_a_spreadsheet(&format!("the CSV cannot be read: {e}")))?;
        let cells = record
            .iter()
            .take(MAX_COLUMNS as usize)
            .map(|t| Cell { value: if t.is_empty() { Value::Empty } else { text_value(t) }, formula: false })
            .collect();
        rows.push((i as u32 + 1, cells));
    }
    Ok(Grid { format: Format::Csv, sheet: None, encoding: Some(encoding.to_owned()), rows })
}

/// Text as people type it in Chinese spreadsheets, made plain: full-width letters, digits and
/// punctuation folded to ASCII, ideographic spaces to spaces, trimmed.
pub fn plain(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' => ' ',
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_gb18030_reads_as_its_utf8_twin() {
        let text = "姓名,性别\n张伟,男\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let a = read_csv(&gbk).unwrap();
        let b = read_csv(text.as_bytes()).unwrap();
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let c = read_csv(&bom).unwrap();
        assert_eq!(a.rows, b.rows);
        assert_eq!(b.rows, c.rows);
        assert_eq!(a.encoding.as_deref(), Some("GB18030"));
    }

    #[test]
    fn full_width_text_is_made_plain() {
        assert_eq!(plain("　４２１２０２　"), "421202");
    }
}

#[cfg(test)]
mod bomb {
    use super::*;

    #[test]
    fn a_zip_bomb_is_refused() {
        use std::io::Write;
        let mut bomb = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut bomb);
            let options =
                zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
            let zeros = vec![0u8; 1024 * 1024];
            for _ in 0..210 {
                zip.write_all(&zeros).unwrap();
            }
            zip.finish().unwrap();
        }
        let bytes = bomb.into_inner();
        let e = read(&bytes, XLSX, None, &Limits::default()).unwrap_err();
        assert!(matches!(e, Error::BadRequest { code: Code::ImportTooLarge, .. }), "{e:?}");
    }
}
