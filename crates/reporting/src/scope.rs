//! What a report covers: a period of Shanghai calendar days and a region subtree.

use chrono::NaiveDate;
use serde::Serialize;
use tongxing_cases::regions::subtree_prefix;
use tongxing_core::{Error, Result, time};
pub(crate) use tongxing_store::sql::{date_literal, day_start_literal};
use tongxing_store::{Backend, DbConnection};
use utoipa::ToSchema;
use uuid::Uuid;

/// The earliest day a report can start from when no `from` is given.
const BEGINNING: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

#[derive(Debug, Clone)]
pub struct Scope {
    pub from: Option<NaiveDate>,
    pub to: NaiveDate,
    pub region_id: Option<Uuid>,
    /// The region's path prefix, for subtree matches.
    pub region_prefix: Option<String>,
}

/// What the report covered, echoed in every answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScopeEcho {
    /// First day (absent: from the first record).
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// The region subtree (absent: everywhere).
    pub region_id: Option<Uuid>,
    pub time_zone: String,
}

impl Scope {
    pub fn resolve(
        conn: &mut DbConnection,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        region_id: Option<Uuid>,
    ) -> Result<Self> {
        let to = to.unwrap_or_else(time::today);
        if let Some(f) = from
            && f > to
        {
            return Err(Error::field("from", "after_to", "`from` is after `to`"));
        }
        let region_prefix = region_id.map(|r| subtree_prefix(conn, r, "region_id")).transpose()?;
        Ok(Scope { from, to, region_id, region_prefix })
    }

    pub fn first_day(&self) -> NaiveDate {
        self.from.unwrap_or(BEGINNING)
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

    /// ` AND <column> IN (subtree)` with one `?` for [`Scope::region_pattern`], or nothing when
    /// the report covers every region (so city-wide reports skip the join).
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
