//! CSV exports: UTF-8 with a byte-order mark (so spreadsheet programs read Chinese text
//! correctly), RFC 4180 quoting, and cells that a spreadsheet would run as a formula (starting
//! with `=`, `+`, `-`, `@`, a tab or a carriage return) prefixed with `'`.

use crate::suppression::Suppression;

/// A report as rows of text cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table { headers: headers.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// When small cells were withheld, a last row says so: `note` in the first column, the
    /// explanation in the second (the withheld cells are empty).
    pub fn note(&mut self, suppression: Option<&Suppression>) {
        let Some(s) = suppression else { return };
        let mut row = vec![
            "note".to_owned(),
            format!(
                "{} cells are empty: each rests on fewer than {} children, or would let such a figure be worked out",
                s.suppressed.len(),
                s.threshold
            ),
        ];
        row.resize(self.headers.len().max(2), String::new());
        self.rows.push(row);
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_chinese_text_quoting_and_formula_cells() {
        let mut t = Table::new(&["名称", "value"]);
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
