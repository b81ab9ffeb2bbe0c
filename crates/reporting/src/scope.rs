//! What a report covers: a period of Shanghai calendar days, a region subtree, and whether its
//! small cells are withheld, all decided from the caller's [`Scope`].

use std::collections::HashSet;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use tongxing_core::access::{Reach, Scope};
use tongxing_core::{Error, Result, time};
use tongxing_store::schema::regions;
pub(crate) use tongxing_store::sql::{date_literal, day_start_literal};
use tongxing_store::{Backend, DbConnection, DbId, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::suppression::{Grid, Suppression, Threshold};

/// The earliest day a report can start from when no `from` is given.
const BEGINNING: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// A report's coverage, built only by [`Coverage::resolve`] from the caller's scope.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub(crate) from: Option<NaiveDate>,
    pub(crate) to: NaiveDate,
    pub(crate) region_id: Option<Uuid>,
    /// The region's path prefix, for subtree matches.
    pub(crate) region_prefix: Option<String>,
    /// The small-cell rule, when the caller may not read every child the report counts.
    pub(crate) small_cells: Option<Threshold>,
    /// For a caller who reads every child of one region (a coordinator of it): its path. A
    /// report over that region may still count children living outside it (those attending
    /// its events); their villages' small figures are withheld below `threshold`.
    pub(crate) reader_region: Option<String>,
    pub(crate) threshold: Threshold,
}

/// What the report covered, echoed in every answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScopeEcho {
    /// First day (absent: from the first record).
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// The region subtree (absent: everywhere). For a coordinator of a region who names none,
    /// their own region.
    pub region_id: Option<Uuid>,
    pub time_zone: String,
}

impl Coverage {
    /// The coverage of a report over `from..=to` (default: from the first record to today) for
    /// `caller`:
    /// - a coordinator of a region: their subtree, or a region in it; a region outside it is
    ///   not found, exactly as one that does not exist. Figures in full: they may read every
    ///   child there; but the small figures of villages outside it (children from elsewhere at
    ///   its events) are withheld ([`Coverage::outside_reader`]).
    /// - admins, coordinators without a region and the service: everywhere, or any region;
    ///   figures in full.
    /// - everyone else (caseworkers and auditors, the other readers of reports): everywhere or
    ///   any region, with small cells withheld below `threshold` (see [`crate::suppression`]),
    ///   since their scope is not a region and does not reach every child counted.
    ///
    /// A region that does not exist is not found (404), for everyone.
    pub fn resolve(
        conn: &mut DbConnection,
        caller: &Scope,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        region_id: Option<Uuid>,
        threshold: Threshold,
    ) -> Result<Self> {
        let to = to.unwrap_or_else(time::today);
        if let Some(f) = from
            && f > to
        {
            return Err(Error::field("from", "after_to", "`from` is after `to`"));
        }
        let own = match caller.reach() {
            Reach::Region(root) => Some(
                tongxing_cases::regions::path_of(conn, root)?
                    .map(|path| (root, path))
                    .ok_or_else(|| Error::internal(format!("the caller's region {root} does not exist")))?,
            ),
            _ => None,
        };
        let reader_region = own.as_ref().map(|(_, path)| path.clone());
        let (region_id, region_prefix) = match (region_id, own) {
            (Some(r), own) => {
                let path = tongxing_cases::regions::path_of(conn, r)?
                    .filter(|p| own.as_ref().is_none_or(|(_, root)| p.starts_with(root.as_str())))
                    .ok_or_else(|| Error::not_found("region"))?;
                (Some(r), Some(path))
            }
            (None, Some((root, path))) => (Some(root), Some(path)),
            (None, None) => (None, None),
        };
        let small_cells = match caller.reach() {
            Reach::All | Reach::Region(_) => None,
            _ => Some(threshold),
        };
        Ok(Coverage { from, to, region_id, region_prefix, small_cells, reader_region, threshold })
    }

    /// Of `regions` (where counted children live), those whose children the caller may not
    /// read although the report is not suppressed for them: outside a region-limited caller's
    /// own region. Empty for everyone else.
    pub(crate) fn outside_reader(&self, conn: &mut DbConnection, regions: &[Uuid]) -> Result<HashSet<Uuid>> {
        let Some(root) = &self.reader_region else { return Ok(HashSet::new()) };
        if self.small_cells.is_some() || regions.is_empty() {
            return Ok(HashSet::new());
        }
        let paths: Vec<(DbId, String)> = regions::table
            .filter(regions::id.eq_any(regions.iter().copied().map(DbId)))
            .select((regions::id, regions::path))
            .load(conn)
            .map_err(map_db_error)?;
        Ok(paths
            .into_iter()
            .filter(|(_, path)| !path.starts_with(root.as_str()))
            .map(|(id, _)| Uuid::from(id))
            .collect())
    }

    /// How a report protects its small figures: `None` when it shows them all.
    pub(crate) fn grid<'a>(&self, outside: &HashSet<Uuid>) -> Option<Grid<'a>> {
        match self.small_cells {
            Some(threshold) => Some(Grid::new(threshold)),
            None if !outside.is_empty() => Some(Grid::partial(self.threshold)),
            None => None,
        }
    }

    /// What an answer says of its suppression: always, for a caller who may read few of the
    /// children counted; for a region-limited caller, only when a figure was withheld (their
    /// report is otherwise the one an admin gets for the region).
    pub(crate) fn shown(&self, suppression: Suppression) -> Option<Suppression> {
        Some(suppression).filter(|s| self.small_cells.is_some() || !s.suppressed.is_empty())
    }

    pub fn first_day(&self) -> NaiveDate {
        self.from.unwrap_or(BEGINNING)
    }

    /// Whether small cells are withheld from this report.
    pub fn suppresses(&self) -> bool {
        self.small_cells.is_some()
    }

    /// The period's bounds as SQL literals: the first and last day, or for instants the start of
    /// the first day and of the day after the last, `[start, end)`.
    pub(crate) fn period_literals(&self, b: Backend, instants: bool) -> (String, String) {
        if instants {
            let end = self.to.succ_opt().unwrap_or(self.to);
            (day_start_literal(b, self.first_day()), day_start_literal(b, end))
        } else {
            (date_literal(b, self.first_day()), date_literal(b, self.to))
        }
    }

    /// `LIKE` pattern of the region subtree, or one that matches every path.
    pub fn region_pattern(&self) -> String {
        format!("{}%", self.region_prefix.as_deref().unwrap_or("/"))
    }

    /// ` AND <column> IN (subtree)` with one `?` for [`Coverage::region_pattern`], or nothing
    /// when the report covers every region (so city-wide reports skip the join).
    pub fn region_clause(&self, column: &str) -> String {
        match self.region_prefix {
            Some(_) => format!(" AND {column} IN (SELECT r.id FROM regions r WHERE r.path LIKE ?)"),
            None => String::new(),
        }
    }

    pub fn echo(&self) -> ScopeEcho {
        ScopeEcho {
            from: self.from,
            to: self.to,
            region_id: self.region_id,
            time_zone: time::TIME_ZONE.to_string(),
        }
    }
}
