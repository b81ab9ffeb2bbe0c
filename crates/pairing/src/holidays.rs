//! The national statutory holiday calendar, as the State Council announces it each year: the
//! holiday periods (with the weekend days moved into them) and the make-up working days.
//! Seeded with 2023–2026; administrators add each later year when it is announced.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::record::{Versioned, check_version};
use tongxing_core::{Error, FieldError, Result, id, time};
use tongxing_store::schema::holidays;
use tongxing_store::{DbConnection, DbId, DbText, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

text_enum! {
    pub enum HolidayKind {
        NewYear => "new_year",
        SpringFestival => "spring_festival",
        Qingming => "qingming",
        LabourDay => "labour_day",
        DragonBoat => "dragon_boat",
        MidAutumn => "mid_autumn",
        NationalDay => "national_day",
        /// The years when the two are joined into one period.
        MidAutumnAndNationalDay => "mid_autumn_and_national_day",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Holiday {
    pub id: Uuid,
    /// The year of the announcement (a New Year period may begin on 31 December before it).
    pub year: i32,
    pub holiday: HolidayKind,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Weekend days worked in exchange.
    pub makeup_workdays: Vec<NaiveDate>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct HolidayInput {
    /// Client-chosen id (UUID); generated when absent. Ignored on update.
    pub id: Option<Uuid>,
    #[validate(range(min = 2000, max = 2100))]
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: i32,
    pub holiday: HolidayKind,
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub first_day: NaiveDate,
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub last_day: NaiveDate,
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    #[validate(length(max = 5))]
    #[schema(max_items = 5)]
    pub makeup_workdays: Vec<NaiveDate>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = holidays)]
struct HolidayRow {
    id: DbId,
    year: i32,
    holiday: DbText<HolidayKind>,
    first_day: NaiveDate,
    last_day: NaiveDate,
    makeup_workdays: String,
    updated_at: chrono::NaiveDateTime,
    version: i32,
}

impl HolidayRow {
    fn into_holiday(self) -> Result<Holiday> {
        let makeup_workdays = self
            .makeup_workdays
            .split(';')
            .filter(|d| !d.is_empty())
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|e| Error::internal(format!("bad make-up day: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Holiday {
            id: self.id.0,
            year: self.year,
            holiday: self.holiday.0,
            first_day: self.first_day,
            last_day: self.last_day,
            makeup_workdays,
            version: self.version,
            updated_at: time::from_db(self.updated_at),
        })
    }
}

/// A holiday period lies around its year and lasts at most ten days.
pub fn check(input: &HolidayInput) -> Result<()> {
    if input.last_day < input.first_day {
        return Err(Error::field("last_day", "before_first_day", "the last day is before the first"));
    }
    if (input.last_day - input.first_day).num_days() > 9 {
        return Err(Error::of_field(
            FieldError::new("last_day", "too_long", "a statutory holiday period lasts at most ten days")
                .with("days", 10),
        ));
    }
    if (input.first_day.year() - input.year).abs() > 1 {
        return Err(Error::field("first_day", "wrong_year", "the period is not in or next to its year"));
    }
    Ok(())
}

fn days(list: &[NaiveDate]) -> String {
    list.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(";")
}

pub fn create(conn: &mut DbConnection, input: HolidayInput) -> Result<Versioned<Holiday>> {
    check(&input)?;
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(holidays::table)
        .values((
            holidays::id.eq(DbId(id)),
            holidays::year.eq(input.year),
            holidays::holiday.eq(input.holiday.as_str()),
            holidays::first_day.eq(input.first_day),
            holidays::last_day.eq(input.last_day),
            holidays::makeup_workdays.eq(days(&input.makeup_workdays)),
            holidays::created_at.eq(now),
            holidays::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    get(conn, id)
}

pub fn update(
    conn: &mut DbConnection,
    id: Uuid,
    input: HolidayInput,
    expected: i32,
) -> Result<Versioned<Holiday>> {
    check(&input)?;
    let current = get(conn, id)?;
    check_version(current.version, expected)?;
    let changed = diesel::update(
        holidays::table.filter(holidays::id.eq(DbId(id))).filter(holidays::version.eq(expected)),
    )
    .set((
        holidays::year.eq(input.year),
        holidays::holiday.eq(input.holiday.as_str()),
        holidays::first_day.eq(input.first_day),
        holidays::last_day.eq(input.last_day),
        holidays::makeup_workdays.eq(days(&input.makeup_workdays)),
        holidays::updated_at.eq(time::to_db(time::now())),
        holidays::version.eq(expected + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    get(conn, id)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Holiday>> {
    let h = holidays::table
        .find(DbId(id))
        .select(HolidayRow::as_select())
        .first(conn)
        .map_err(not_found_as("holiday"))?
        .into_holiday()?;
    let version = h.version;
    Ok(Versioned { record: h, version })
}

pub fn list(conn: &mut DbConnection, year: Option<i32>) -> Result<Vec<Holiday>> {
    let mut q = holidays::table.select(HolidayRow::as_select()).order(holidays::first_day.asc()).into_boxed();
    if let Some(y) = year {
        q = q.filter(holidays::year.eq(y));
    }
    q.load::<HolidayRow>(conn).map_err(map_db_error)?.into_iter().map(HolidayRow::into_holiday).collect()
}

/// The holiday period that holds every day from `first` to `last`, if one does.
pub fn period_covering(
    conn: &mut DbConnection,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Option<Holiday>> {
    let row = holidays::table
        .filter(holidays::first_day.le(first))
        .filter(holidays::last_day.ge(last))
        .select(HolidayRow::as_select())
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    row.map(HolidayRow::into_holiday).transpose()
}

/// Loads the published calendar (CSV: year,holiday,first_day,last_day,makeup_workdays with
/// `;` between make-up days). Periods already present (by year and holiday) are kept.
pub fn seed(conn: &mut DbConnection, csv: &str) -> Result<usize> {
    let mut added = 0;
    for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let [year, holiday, first, last, makeup] = cols[..] else {
            return Err(Error::internal(format!("bad holiday line: {line}")));
        };
        let bad = |what: &str| Error::internal(format!("bad {what} in holiday line: {line}"));
        let year: i32 = year.parse().map_err(|_| bad("year"))?;
        let kind = *HolidayKind::ALL.iter().find(|k| k.as_str() == holiday).ok_or_else(|| bad("holiday"))?;
        let exists: i64 = holidays::table
            .filter(holidays::year.eq(year))
            .filter(holidays::holiday.eq(kind.as_str()))
            .count()
            .get_result(conn)
            .map_err(map_db_error)?;
        if exists > 0 {
            continue;
        }
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad("date"));
        let makeup_workdays =
            makeup.split(';').filter(|d| !d.is_empty()).map(date).collect::<Result<Vec<_>>>()?;
        create(
            conn,
            HolidayInput {
                id: None,
                year,
                holiday: kind,
                first_day: date(first)?,
                last_day: date(last)?,
                makeup_workdays,
            },
        )?;
        added += 1;
    }
    Ok(added)
}
