//! The import template: a workbook whose first sheet has the register's columns with Chinese
//! and English headings, a notes row explaining each column, lists to choose sex, categories,
//! relations, yes/no and the caller's villages from (the villages on a second, hidden sheet),
//! and the ID-number and phone columns formatted as text, so that Excel keeps every digit.

use rust_xlsxwriter::{DataValidation, Format, FormatAlign, Formula, Workbook};
use tongxing_core::{Error, Result};

use crate::columns::{Field, NOTES_MARK};

/// Rows the template prepares (formats and lists), the import's default row limit.
const ROWS: u32 = 50_000;

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::internal(format!("template workbook: {e}"))
}

/// The template, with `villages` (names) to choose from.
pub fn workbook(villages: &[String]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let heading = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_background_color("DDEBF7");
    let note = Format::new().set_text_wrap().set_italic().set_font_color("595959");
    let text = Format::new().set_num_format("@");
    let sheet = book.add_worksheet();
    sheet.set_name("名册 Register").map_err(xlsx_error)?;
    for (col, field) in Field::ALL.iter().enumerate() {
        let col = col as u16;
        let (zh, en, notes) = field.template();
        sheet.write_string_with_format(0, col, format!("{zh}\n{en}"), &heading).map_err(xlsx_error)?;
        let notes = if col == 0 { format!("{NOTES_MARK}{notes}") } else { notes.to_owned() };
        sheet.write_string_with_format(1, col, notes, &note).map_err(xlsx_error)?;
        sheet.set_column_width(col, 16).map_err(xlsx_error)?;
        if matches!(field, Field::NationalId | Field::Phone) {
            sheet.set_column_format(col, &text).map_err(xlsx_error)?;
            sheet.set_column_width(col, 22).map_err(xlsx_error)?;
        }
        let list: Option<&[&str]> = match field {
            Field::Sex => Some(&["男", "女"]),
            Field::Categories => Some(&["留守儿童", "困境儿童", "孤残儿童", "留守儿童、困境儿童"]),
            Field::GuardianRelation => Some(&[
                "祖父",
                "祖母",
                "父亲",
                "母亲",
                "兄弟姐妹",
                "其他亲属",
                "寄养父母",
                "福利机构",
                "其他",
            ]),
            Field::ParentsWorkAway => Some(&["是", "否"]),
            _ => None,
        };
        let validation = match (field, list) {
            (_, Some(list)) => Some(DataValidation::new().allow_list_strings(list).map_err(xlsx_error)?),
            (Field::Village, None) if !villages.is_empty() => {
                Some(DataValidation::new().allow_list_formula(Formula::new(format!(
                    "='村社区 Villages'!$A$1:$A${}",
                    villages.len()
                ))))
            }
            _ => None,
        };
        if let Some(v) = validation {
            sheet.add_data_validation(2, col, ROWS + 1, col, &v.ignore_blank(true)).map_err(xlsx_error)?;
        }
    }
    sheet.set_row_height(0, 32).map_err(xlsx_error)?;
    sheet.set_row_height(1, 45).map_err(xlsx_error)?;
    sheet.set_freeze_panes(2, 1).map_err(xlsx_error)?;
    let list = book.add_worksheet();
    list.set_name("村社区 Villages").map_err(xlsx_error)?;
    for (i, v) in villages.iter().enumerate() {
        list.write_string(i as u32, 0, v).map_err(xlsx_error)?;
    }
    list.set_hidden(true);
    book.save_to_buffer().map_err(xlsx_error)
}
