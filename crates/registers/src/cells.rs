//! A register row's cells read as the fields of a child, a household and a guardian, each bad
//! cell reported with its column and a code (never guessed at): dates as Excel serial numbers or
//! in the common Chinese forms, national ID numbers that Excel turned into numbers, words for
//! sex, categories, relations and yes/no in Chinese or English.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use tongxing_cases::children::{Category, Sex};
use tongxing_cases::households::Relation;
use utoipa::ToSchema;

use crate::columns::{Column, Field};
use crate::sheet::{Cell, Value, plain};

text_enum! {
    /// Whether a problem stops the row, or only says what the import did with a cell.
    pub enum Severity {
        /// The row cannot be imported as it stands.
        Error => "error",
        /// The row imports; the cell deserves a look (a formula's value was used).
        Warning => "warning",
    }
}

/// One cell's problem: where, a stable code, and the message in the reader's language.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CellProblem {
    /// The spreadsheet row (from 1, as a spreadsheet program numbers it).
    pub row: u32,
    /// The column's heading as the file writes it (empty for the row as a whole).
    pub column: String,
    pub field: Option<Field>,
    pub code: String,
    pub severity: Severity,
    pub message: String,
}

/// A row's fields as read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Parsed {
    pub name: Option<String>,
    pub sex: Option<Sex>,
    pub birth_date: Option<NaiveDate>,
    pub national_id: Option<String>,
    pub categories: Vec<Category>,
    pub village: Option<String>,
    pub address: Option<String>,
    pub guardian: Option<String>,
    pub relation: Option<Relation>,
    pub phone: Option<String>,
    pub parents_work_away: bool,
    pub school: Option<String>,
    pub health_notes: Option<String>,
    pub disability_notes: Option<String>,
}

/// The day Excel's serial 0 stands for (the 1900 date system, whose serial 60 is the
/// 29 February 1900 that never was: serials from 61 on are off by one, as Excel made them).
fn excel_day(serial: f64) -> Option<NaiveDate> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let base = if days < 61 { base + Duration::days(1) } else { base };
    Some(base + Duration::days(days))
}

/// A date typed as text: 2023-06-01, 2023/6/1, 2023.6.1, 2023年6月1日, 20230601.
pub fn text_date(text: &str) -> Option<NaiveDate> {
    let t = plain(text);
    let t = t.trim_end_matches('日').trim_end_matches('号');
    if t.len() == 8 && t.chars().all(|c| c.is_ascii_digit()) {
        return NaiveDate::parse_from_str(t, "%Y%m%d").ok();
    }
    let parts: Vec<&str> = t.split(['-', '/', '.', '年', '月']).map(str::trim).collect();
    if parts.len() != 3 {
        return None;
    }
    let n: Vec<u32> = parts.iter().map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if n[0] >= 1900 { NaiveDate::from_ymd_opt(n[0] as i32, n[1], n[2]) } else { None }
}

/// Reads the row, whose cells are the columns' in their order ([`crate::columns::recognise`]
/// keeps those alone). Problems are reported per cell; a field with an error is left empty.
pub fn parse(row: u32, columns: &[Column], cells: &[Cell]) -> (Parsed, Vec<CellProblem>) {
    let mut out = Parsed::default();
    let mut problems = Vec::new();
    for (position, col) in columns.iter().enumerate() {
        let cell = cells.get(position).cloned().unwrap_or(Cell { value: Value::Empty, formula: false });
        let mut problem = |code: &str, severity: Severity, message: String| {
            problems.push(CellProblem {
                row,
                column: col.heading.clone(),
                field: Some(col.field),
                code: code.to_owned(),
                severity,
                message,
            })
        };
        if cell.formula {
            problem(
                "formula_value_used",
                Severity::Warning,
                "the cell holds a formula; its value as last calculated was used".into(),
            );
        }
        if let Value::Error(e) = &cell.value {
            problem("cell_error", Severity::Error, format!("the cell holds the error {e}"));
            continue;
        }
        if cell.is_empty() {
            if Field::REQUIRED.contains(&col.field) {
                problem("blank", Severity::Error, "the cell is empty".into());
            }
            continue;
        }
        let text = plain(&cell.text());
        let unknown = |what: &str| format!("{text:?} is not a {what} the import knows");
        match col.field {
            Field::Name => out.name = Some(text),
            Field::Sex => match text.to_lowercase().as_str() {
                "男" | "男性" | "male" | "m" => out.sex = Some(Sex::Male),
                "女" | "女性" | "female" | "f" => out.sex = Some(Sex::Female),
                _ => problem("unknown_value", Severity::Error, unknown("sex")),
            },
            Field::BirthDate => {
                let date = match &cell.value {
                    Value::Date(d) => Some(*d),
                    Value::Number(n) => excel_day(*n),
                    _ => text_date(&text),
                };
                match date {
                    Some(d) if d.year() >= 1900 => out.birth_date = Some(d),
                    _ => problem(
                        "bad_date",
                        Severity::Error,
                        format!("{text:?} is not a date (write it as 2015-06-01 or 2015年6月1日)"),
                    ),
                }
            }
            Field::NationalId => {
                let scientific = text.contains(['E', 'e'])
                    && text.replace(['E', 'e', '+', '.'], "").chars().all(|c| c.is_ascii_digit());
                if matches!(cell.value, Value::Number(_)) || scientific {
                    problem(
                        "id_number_as_number",
                        Severity::Error,
                        "Excel stored this ID number as a number and lost its last digits; format the column as text (设置单元格格式 → 文本) and type the numbers again".into(),
                    );
                } else {
                    out.national_id = Some(text.to_uppercase().replace(' ', ""));
                }
            }
            Field::Categories => {
                for word in text
                    .split(['、', ',', ';', '/', ' ', '，', '；'])
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                {
                    let c = match word.to_lowercase().as_str() {
                        "留守儿童" | "留守" | "left_behind" | "left-behind" => Category::LeftBehind,
                        "困境儿童" | "困境" | "in_difficulty" => Category::InDifficulty,
                        "孤残儿童" | "孤儿" | "孤残" | "orphaned_or_disabled" => {
                            Category::OrphanedOrDisabled
                        }
                        _ => {
                            problem(
                                "unknown_value",
                                Severity::Error,
                                format!("{word:?} is not a category the import knows"),
                            );
                            continue;
                        }
                    };
                    if !out.categories.contains(&c) {
                        out.categories.push(c);
                    }
                }
            }
            Field::Village => out.village = Some(text),
            Field::Address => out.address = Some(text),
            Field::Guardian => out.guardian = Some(text),
            Field::GuardianRelation => {
                let r = match text.to_lowercase().as_str() {
                    "父亲" | "父" | "爸爸" | "father" => Relation::Father,
                    "母亲" | "母" | "妈妈" | "mother" => Relation::Mother,
                    "祖父" | "爷爷" | "外祖父" | "外公" | "grandfather" => Relation::Grandfather,
                    "祖母" | "奶奶" | "外祖母" | "外婆" | "grandmother" => Relation::Grandmother,
                    "兄弟姐妹" | "哥哥" | "姐姐" | "兄" | "姐" | "sibling" => Relation::Sibling,
                    "其他亲属" | "亲属" | "叔叔" | "伯伯" | "姑姑" | "舅舅" | "阿姨" | "other_relative" => {
                        Relation::OtherRelative
                    }
                    "寄养父母" | "寄养" | "foster_parent" => Relation::FosterParent,
                    "福利机构" | "机构" | "institution" => Relation::Institution,
                    "其他" | "other" => Relation::Other,
                    _ => {
                        problem("unknown_value", Severity::Error, unknown("relation"));
                        continue;
                    }
                };
                out.relation = Some(r);
            }
            Field::Phone => {
                let phone = match &cell.value {
                    Value::Number(n) if n.fract() == 0.0 && *n < 1e15 => format!("{}", *n as i64),
                    _ => text,
                };
                if phone.len() < 5
                    || phone.len() > 20
                    || !phone.chars().all(|c| c.is_ascii_digit() || " +-".contains(c))
                {
                    problem("phone", Severity::Error, format!("{phone:?} is not a phone number"));
                } else {
                    out.phone = Some(phone);
                }
            }
            Field::ParentsWorkAway => match text.to_lowercase().as_str() {
                "是" | "yes" | "y" | "true" | "1" | "√" => out.parents_work_away = true,
                "否" | "no" | "n" | "false" | "0" | "×" => out.parents_work_away = false,
                _ => problem("unknown_value", Severity::Error, unknown("yes or no")),
            },
            Field::School => out.school = Some(text),
            Field::HealthNotes => out.health_notes = Some(text),
            Field::DisabilityNotes => out.disability_notes = Some(text),
        }
    }
    (out, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_forms_registers_use() {
        let d = NaiveDate::from_ymd_opt(2023, 6, 1);
        for t in ["2023-06-01", "2023/6/1", "2023.6.1", "2023年6月1日", "20230601", "２０２３年６月１日"]
        {
            assert_eq!(text_date(t), d, "{t}");
        }
        assert_eq!(excel_day(45078.0), d);
        assert_eq!(excel_day(1.0), NaiveDate::from_ymd_opt(1900, 1, 1));
        assert_eq!(text_date("6/1/2023"), None);
    }

    #[test]
    fn an_id_number_excel_made_a_number_is_reported_never_guessed() {
        let columns = [Column { heading: "身份证号".into(), field: Field::NationalId, index: 3 }];
        for value in [Value::Number(4.21202e17), Value::Text("4.21202E+17".into())] {
            let (parsed, problems) = parse(2, &columns, &[Cell { value, formula: false }]);
            assert_eq!(parsed.national_id, None);
            assert_eq!(problems[0].code, "id_number_as_number");
        }
    }
}
