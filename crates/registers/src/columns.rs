//! The columns of a register: the fields an import fills, the headings that name them (the
//! template's, and those Chinese registers use without it), and finding the heading row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tongxing_core::{Code, Error, Result};
use utoipa::ToSchema;

use crate::sheet::{Cell, Grid, plain};

text_enum! {
    /// A field of a register row: the child, and the household and guardian they live with.
    pub enum Field {
        Name => "name",
        Sex => "sex",
        BirthDate => "birth_date",
        NationalId => "national_id",
        Categories => "categories",
        Village => "village",
        Address => "address",
        Guardian => "guardian",
        GuardianRelation => "guardian_relation",
        Phone => "guardian_phone",
        ParentsWorkAway => "parents_work_away",
        School => "school",
        HealthNotes => "health_notes",
        DisabilityNotes => "disability_notes",
    }
}

impl Field {
    /// The template's headings: Chinese, English, and what the notes row says of the column.
    pub fn template(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Field::Name => ("姓名", "Name", "必填 Required"),
            Field::Sex => ("性别", "Sex", "男/女 male/female"),
            Field::BirthDate => ("出生日期", "Birth date", "如 2015-06-01 或 2015年6月1日"),
            Field::NationalId => ("身份证号", "National ID", "18位，以文本格式填写 18 characters, as text"),
            Field::Categories => ("类别", "Categories", "留守儿童、困境儿童、孤残儿童，可多选，用顿号分隔"),
            Field::Village => ("村/社区", "Village", "从列表中选择 Choose from the list"),
            Field::Address => ("地址", "Address", "家庭住址 Household address"),
            Field::Guardian => ("监护人", "Guardian", "监护人姓名 Guardian's name"),
            Field::GuardianRelation => ("监护人关系", "Relation", "祖父/祖母/父亲/母亲/其他亲属…"),
            Field::Phone => ("联系电话", "Phone", "监护人电话 Guardian's phone"),
            Field::ParentsWorkAway => ("父母外出务工", "Parents work away", "是/否 yes/no"),
            Field::School => ("学校", "School", "就读学校 School attended"),
            Field::HealthNotes => ("健康状况", "Health", "选填 Optional"),
            Field::DisabilityNotes => ("残疾情况", "Disability", "选填 Optional"),
        }
    }

    /// Headings that name the field, compared after [`heading_key`].
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Name => &["姓名", "儿童姓名", "名字", "name", "childname"],
            Field::Sex => &["性别", "sex", "gender"],
            Field::BirthDate => {
                &["出生日期", "出生年月日", "出生年月", "生日", "birthdate", "dateofbirth", "birthday", "dob"]
            }
            Field::NationalId => {
                &["身份证号", "身份证号码", "公民身份号码", "身份证", "nationalid", "idnumber", "idno"]
            }
            Field::Categories => &["类别", "儿童类别", "类型", "儿童类型", "category", "categories"],
            Field::Village => &[
                "村/社区",
                "村(社区)",
                "村社区",
                "所在村",
                "村",
                "社区",
                "村居",
                "village",
                "community",
                "village/community",
            ],
            Field::Address => &["地址", "家庭住址", "住址", "家庭地址", "address"],
            Field::Guardian => &["监护人", "监护人姓名", "guardian", "guardianname"],
            Field::GuardianRelation => &["监护人关系", "与儿童关系", "关系", "relation", "relationship"],
            Field::Phone => &[
                "联系电话",
                "电话",
                "手机",
                "手机号",
                "监护人电话",
                "联系方式",
                "phone",
                "telephone",
                "mobile",
            ],
            Field::ParentsWorkAway => &["父母外出务工", "父母是否外出务工", "父母外出", "parentsworkaway"],
            Field::School => &["学校", "就读学校", "school"],
            Field::HealthNotes => &["健康状况", "健康情况", "health", "healthnotes"],
            Field::DisabilityNotes => &["残疾情况", "残疾状况", "disability", "disabilitynotes"],
        }
    }

    /// The columns an import needs.
    pub const REQUIRED: &'static [Field] =
        &[Field::Name, Field::Sex, Field::BirthDate, Field::Categories, Field::Village];
}

/// A heading as compared: plain, lower case, without spaces, full-width brackets folded.
fn heading_key(text: &str) -> String {
    plain(text).to_lowercase().chars().filter(|c| !c.is_whitespace() && *c != '*').collect()
}

/// Which field a heading names: the template's "姓名\nName" (either line), or any alias.
fn field_of(heading: &str) -> Option<Field> {
    let whole = heading_key(heading);
    let parts = std::iter::once(whole.clone()).chain(
        plain(heading).split(['\n', '/', '|']).map(heading_key).filter(|p| !p.is_empty()).collect::<Vec<_>>(),
    );
    for part in parts {
        if let Some(f) = Field::ALL.iter().find(|f| f.aliases().iter().any(|a| heading_key(a) == part)) {
            return Some(*f);
        }
    }
    None
}

/// A spreadsheet row: its number (from 1) and its cells.
pub type Row = (u32, Vec<Cell>);

/// A column the import reads: its heading as written, and its position.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Column {
    /// The heading as the file writes it.
    pub heading: String,
    pub field: Field,
    /// Its position, from 0.
    #[schema(minimum = 0, maximum = 16383, format = Int32)]
    pub index: usize,
}

/// The heading row (the first of the first ten rows naming at least two fields) and the
/// columns it names; `mapping` (heading → field) names the others. The rows after it, without
/// the template's notes row and empty rows, are the data: each row's cells of those columns, in
/// the columns' order.
pub fn recognise(grid: &Grid, mapping: &BTreeMap<String, Field>) -> Result<(Vec<Column>, Vec<Row>)> {
    let mapped: BTreeMap<String, Field> = mapping.iter().map(|(h, f)| (heading_key(h), *f)).collect();
    let columns_of = |cells: &[Cell]| -> Vec<Column> {
        let mut out: Vec<Column> = Vec::new();
        for (index, cell) in cells.iter().enumerate() {
            let heading = plain(&cell.text());
            if heading.is_empty() {
                continue;
            }
            let field = mapped.get(&heading_key(&heading)).copied().or_else(|| field_of(&heading));
            if let Some(field) = field
                && !out.iter().any(|c| c.field == field)
            {
                out.push(Column { heading: heading.replace('\n', " "), field, index });
            }
        }
        out
    };
    let found = grid.rows.iter().take(10).enumerate().find(|(_, (_, cells))| columns_of(cells).len() >= 2);
    let Some((at, (_, cells))) = found else {
        let first: Vec<String> = grid
            .rows
            .iter()
            .find(|(_, c)| c.iter().any(|x| !x.is_empty()))
            .map(|(_, c)| {
                c.iter()
                    .map(|x| plain(&x.text()).chars().take(40).collect::<String>())
                    .filter(|t| !t.is_empty())
                    .take(20)
                    .collect()
            })
            .unwrap_or_default();
        return Err(Error::bad_request(
            Code::HeadingsNotRecognised,
            format!(
                "no heading row names the register's columns (found: {}); use the template's headings, common ones (姓名, 性别, 出生日期, 身份证号, 类别, 村/社区, 监护人, 联系电话), or give a mapping",
                first.join(", ")
            ),
        ));
    };
    let columns = columns_of(cells);
    let missing: Vec<&str> = Field::REQUIRED
        .iter()
        .filter(|f| !columns.iter().any(|c| c.field == **f))
        .map(|f| f.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::bad_request(
            Code::HeadingsNotRecognised,
            format!("the register has no column for: {} (name them in a mapping)", missing.join(", ")),
        ));
    }
    // Only the recognised columns' cells are kept, in the columns' order: the rest of a register
    // (notes, other people's data) is never stored.
    let empty = Cell { value: crate::sheet::Value::Empty, formula: false };
    let data: Vec<Row> = grid.rows[at + 1..]
        .iter()
        .filter(|(_, cells)| !is_notes_row(cells))
        .map(|(n, cells)| {
            (
                *n,
                columns
                    .iter()
                    .map(|c| cells.get(c.index).cloned().unwrap_or(empty.clone()))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
        .collect();
    if data.is_empty() {
        return Err(Error::bad_request(Code::EmptyImport, "the register has headings and no rows"));
    }
    Ok((columns, data))
}

/// The template's notes row, under the headings.
pub const NOTES_MARK: &str = "【说明 Notes】";

fn is_notes_row(cells: &[Cell]) -> bool {
    cells.first().is_some_and(|c| c.text().starts_with(NOTES_MARK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_recognised_in_either_language() {
        assert_eq!(field_of("姓名\nName"), Some(Field::Name));
        assert_eq!(field_of("Date of birth"), Some(Field::BirthDate));
        assert_eq!(field_of("身份证号码"), Some(Field::NationalId));
        assert_eq!(field_of("村（社区）"), Some(Field::Village));
        assert_eq!(field_of("备注"), None);
    }
}
