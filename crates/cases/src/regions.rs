//! The region tree: province → city → district/county → town/subdistrict → village/community,
//! each optionally with its official statistical division code. A region's `path` lists the
//! ids from the root to itself, so a subtree is one indexed prefix match.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::access::Scope;
use tongxing_core::error::FieldErrors;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::regions;
use tongxing_store::{DbConnection, DbId, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::util::{clean, contains_pattern, not_found_as, parse_id};

text_enum! {
    /// A level of the administrative hierarchy. `district` covers districts and counties,
    /// `town` towns and subdistricts, `village` villages and urban communities.
    pub enum RegionLevel {
        Province => "province",
        City => "city",
        District => "district",
        Town => "town",
        Village => "village",
    }
}

impl RegionLevel {
    fn depth(self) -> usize {
        RegionLevel::ALL.iter().position(|l| *l == self).unwrap_or(0)
    }

    /// Digits of an official division code at this level.
    fn code_len(self) -> usize {
        match self {
            RegionLevel::Province | RegionLevel::City | RegionLevel::District => 6,
            RegionLevel::Town => 9,
            RegionLevel::Village => 12,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Region {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub level: RegionLevel,
    /// Name as officially written (e.g. 柏墩村).
    pub name: String,
    pub name_en: Option<String>,
    /// Official statistical division code (6, 9 or 12 digits by level).
    pub code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RegionInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    /// The enclosing region; absent only for a province or city at the root.
    pub parent_id: Option<Uuid>,
    pub level: RegionLevel,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub name_en: Option<String>,
    /// Official statistical division code: 6, 9 or 12 digits by level, extending the parent's.
    #[validate(length(max = 12))]
    #[schema(max_length = 12)]
    pub code: Option<String>,
}

/// The shape of an official division code, for the contract (its length by level and its
/// parent's prefix are checked too).
pub const CODE_PATTERN: &str = "^([0-9]{6}|[0-9]{9}|[0-9]{12})$";

#[derive(Debug, Clone, Default)]
pub struct RegionFilter {
    /// Only this region and the regions below it.
    pub within: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub level: Option<RegionLevel>,
    pub q: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = regions)]
struct RegionRow {
    id: DbId,
    parent_id: Option<DbId>,
    level: String,
    name: String,
    name_en: Option<String>,
    code: Option<String>,
    path: String,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl RegionRow {
    fn into_region(self) -> Result<Region> {
        Ok(Region {
            id: self.id.0,
            parent_id: self.parent_id.map(Uuid::from),
            level: RegionLevel::from_db(&self.level)?,
            name: self.name,
            name_en: self.name_en,
            code: self.code,
            created_at: time::from_db(self.created_at),
            updated_at: time::from_db(self.updated_at),
        })
    }
}

/// Checks a new region against its parent: one level below it, and a code of the right length
/// that extends the parent's code.
pub fn check_placement(
    level: RegionLevel,
    code: Option<&str>,
    parent: Option<(RegionLevel, Option<&str>)>,
) -> Result<()> {
    let mut errs = FieldErrors::new();
    match parent {
        None if !matches!(level, RegionLevel::Province | RegionLevel::City) => {
            errs.push("parent_id", "required", "only a province or a city may have no parent region");
        }
        Some((parent_level, _)) if parent_level.depth() + 1 != level.depth() => {
            errs.push("level", "wrong_level", format!("a {level} cannot be directly below a {parent_level}"));
        }
        _ => {}
    }
    if let Some(code) = code {
        if code.len() != level.code_len() || !code.bytes().all(|b| b.is_ascii_digit()) {
            errs.push("code", "format", format!("a {level} code has {} digits", level.code_len()));
        } else if let Some((parent_level, Some(parent_code))) = parent {
            let prefix_len = parent_level.code_len().min(code.len());
            let parent_prefix = parent_code.trim_end_matches("00");
            let prefix_len = prefix_len.min(parent_prefix.len().max(2));
            if code.get(..prefix_len) != parent_code.get(..prefix_len) {
                errs.push(
                    "code",
                    "not_within_parent",
                    format!("code {code} is not within the parent's code {parent_code}"),
                );
            }
        }
    }
    errs.finish()
}

pub fn create(conn: &mut DbConnection, input: RegionInput) -> Result<Region> {
    let name = input.name.trim().to_owned();
    // As sent: a blank code is no code of any level (422), not a missing one.
    let code = input.code;
    let parent = match input.parent_id {
        Some(pid) => Some(
            find_row(conn, pid)?
                .ok_or_else(|| Error::field("parent_id", "not_found", "no region with this id"))?,
        ),
        None => None,
    };
    let parent_level = parent.as_ref().map(|p| RegionLevel::from_db(&p.level)).transpose()?;
    check_placement(
        input.level,
        code.as_deref(),
        parent_level.map(|l| (l, parent.as_ref().and_then(|p| p.code.as_deref()))),
    )?;
    let id = input.id.unwrap_or_else(id::new_id);
    let path = format!("{}{id}/", parent.as_ref().map_or("/", |p| p.path.as_str()));
    let now = time::to_db(time::now());
    diesel::insert_into(regions::table)
        .values((
            regions::id.eq(DbId(id)),
            regions::parent_id.eq(input.parent_id.map(|p| p.to_string())),
            regions::level.eq(input.level.as_str()),
            regions::name.eq(&name),
            regions::name_en.eq(clean(input.name_en)),
            regions::code.eq(code),
            regions::path.eq(&path),
            regions::created_at.eq(now),
            regions::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    get(conn, id)
}

fn find_row(conn: &mut DbConnection, id: Uuid) -> Result<Option<RegionRow>> {
    regions::table.find(DbId(id)).select(RegionRow::as_select()).first(conn).optional().map_err(map_db_error)
}

/// A region's path (`/root/.../id/`), if it exists.
pub fn path_of(conn: &mut DbConnection, id: Uuid) -> Result<Option<String>> {
    regions::table.find(DbId(id)).select(regions::path).first::<String>(conn).optional().map_err(map_db_error)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Region> {
    regions::table
        .find(DbId(id))
        .select(RegionRow::as_select())
        .first(conn)
        .map_err(not_found_as("region"))?
        .into_region()
}

/// The path prefix of a region's subtree, for filtering other records by region. An unknown
/// region is a bad filter value (`field`), not a missing resource.
pub fn subtree_prefix(conn: &mut DbConnection, region_id: Uuid, field: &str) -> Result<String> {
    find_row(conn, region_id)?
        .map(|r| r.path)
        .ok_or_else(|| Error::field(field, "not_found", "no region with this id"))
}

pub type SubtreeIds = diesel::dsl::Filter<
    diesel::dsl::Select<regions::table, regions::id>,
    diesel::dsl::Like<regions::path, String>,
>;

/// Ids of the regions in a subtree (by the prefix from [`subtree_prefix`]), as a subquery.
pub fn subtree_ids(prefix: String) -> SubtreeIds {
    regions::table.select(regions::id).filter(regions::path.like(format!("{prefix}%")))
}

pub fn list(conn: &mut DbConnection, filter: &RegionFilter, page: PageRequest) -> Result<Page<Region>> {
    let mut q = regions::table.select(RegionRow::as_select()).order(regions::id.asc()).into_boxed();
    if let Some(within) = filter.within {
        let prefix = subtree_prefix(conn, within, "within")?;
        q = q.filter(regions::path.like(format!("{prefix}%")));
    }
    if let Some(parent) = filter.parent_id {
        q = q.filter(regions::parent_id.eq(DbId(parent)));
    }
    if let Some(level) = filter.level {
        q = q.filter(regions::level.eq(level.as_str()));
    }
    if let Some(text) = filter.q.as_deref() {
        let p = contains_pattern(text);
        q = q.filter(
            regions::name
                .like(p.clone())
                .escape('\\')
                .or(regions::name_en.like(p.clone()).escape('\\'))
                .or(regions::code.like(p).escape('\\')),
        );
    }
    if let Some(after) = page.after {
        q = q.filter(regions::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<RegionRow>(conn).map_err(map_db_error)?;
    let regions = rows.into_iter().map(RegionRow::into_region).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(regions, page.limit, |r| r.id))
}

/// Loads the reference region tree (CSV: code,name_zh,name_en,level,parent_code, where a row
/// without a code names its parent by name). Regions already present, by code or by parent and
/// name, are kept; so loading twice adds nothing.
pub fn seed_reference(conn: &mut DbConnection, csv: &str) -> Result<usize> {
    let mut by_key: std::collections::HashMap<String, Uuid> = std::collections::HashMap::new();
    let mut added = 0;
    for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let [code, name, name_en, level, parent] = cols[..] else {
            return Err(Error::internal(format!("bad reference region line: {line}")));
        };
        let level = RegionLevel::ALL
            .iter()
            .copied()
            .find(|l| l.as_str() == level)
            .ok_or_else(|| Error::internal(format!("bad level in reference region line: {line}")))?;
        let parent_id = if parent.is_empty() { None } else { by_key.get(parent).copied() };
        let existing: Option<String> = if code.is_empty() {
            let mut q = regions::table.select(regions::id).filter(regions::name.eq(name)).into_boxed();
            q = match parent_id {
                Some(p) => q.filter(regions::parent_id.eq(DbId(p))),
                None => q.filter(regions::parent_id.is_null()),
            };
            q.first(conn).optional().map_err(map_db_error)?
        } else {
            regions::table
                .select(regions::id)
                .filter(regions::code.eq(code))
                .first(conn)
                .optional()
                .map_err(map_db_error)?
        };
        let id = match existing {
            Some(id) => parse_id(&id)?,
            None => {
                added += 1;
                let input = RegionInput {
                    id: None,
                    parent_id,
                    level,
                    name: name.to_owned(),
                    name_en: Some(name_en.to_owned()),
                    code: Some(code.to_owned()).filter(|c| !c.is_empty()),
                };
                create(conn, input)?.id
            }
        };
        if !code.is_empty() {
            by_key.insert(code.to_owned(), id);
        }
        by_key.insert(name.to_owned(), id);
    }
    Ok(added)
}

/// The names of the villages and communities `scope` reaches, by name: for the import
/// template's list.
pub fn villages_in_scope(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<String>> {
    let all: Vec<(String, String)> = regions::table
        .filter(regions::level.eq(RegionLevel::Village.as_str()))
        .select((regions::id, regions::name))
        .order(regions::name.asc())
        .load(conn)
        .map_err(map_db_error)?;
    let mut out = Vec::new();
    for (id, name) in all {
        if crate::scope::region_reference(conn, scope, parse_id(&id)?, "region_id").is_ok()
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_sits_one_level_below_its_parent() {
        assert!(check_placement(RegionLevel::City, None, None).is_ok());
        assert!(check_placement(RegionLevel::Village, None, None).is_err());
        assert!(check_placement(RegionLevel::Town, None, Some((RegionLevel::District, None))).is_ok());
        assert!(check_placement(RegionLevel::Village, None, Some((RegionLevel::District, None))).is_err());
    }

    #[test]
    fn a_code_has_the_level_length_and_extends_the_parent_code() {
        let district = Some((RegionLevel::District, Some("421202")));
        assert!(check_placement(RegionLevel::Town, Some("421202107"), district).is_ok());
        assert!(check_placement(RegionLevel::Town, Some("4212021"), district).is_err());
        assert!(check_placement(RegionLevel::Town, Some("421203107"), district).is_err());
        let town = Some((RegionLevel::Town, Some("421202107")));
        assert!(check_placement(RegionLevel::Village, Some("421202107226"), town).is_ok());
        assert!(check_placement(RegionLevel::Village, Some("421202108226"), town).is_err());
        let city = Some((RegionLevel::City, Some("421200")));
        assert!(check_placement(RegionLevel::District, Some("421202"), city).is_ok());
        assert!(check_placement(RegionLevel::District, Some("422202"), city).is_err());
    }
}
