//! Clock and calendar. Timestamps are stored in UTC; every calendar period (day, week, month,
//! year, holiday) is reckoned in Asia/Shanghai.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub const TIME_ZONE: Tz = chrono_tz::Asia::Shanghai;

pub fn now() -> DateTime<Utc> {
    // Stored timestamps keep microseconds: both backends round-trip them exactly.
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Today's date in Asia/Shanghai.
pub fn today() -> NaiveDate {
    local_date(now())
}

/// The Asia/Shanghai calendar date of an instant.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&TIME_ZONE).date_naive()
}

/// The UTC instant at which a Shanghai calendar date begins.
pub fn start_of_local_day(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Shanghai has had no daylight saving time since 1991, so local midnight always exists.
    TIME_ZONE
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// How far ahead of the server's clock a device's clock may run before its timestamp counts as
/// "in the future".
pub const CLOCK_SKEW_SECONDS: i64 = 300;

/// Whether a timestamp a client sent lies in the future, allowing for clock skew.
pub fn is_future(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    at > now + chrono::Duration::seconds(CLOCK_SKEW_SECONDS)
}

/// UTC timestamps are stored without a zone (both backends' `TIMESTAMP`).
pub fn to_db(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc()
}

pub fn from_db(at: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_date_of_a_utc_instant_crosses_midnight_at_16_utc() {
        let before = Utc.with_ymd_and_hms(2023, 11, 30, 15, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2023, 11, 30, 16, 0, 0).unwrap();
        assert_eq!(local_date(before), NaiveDate::from_ymd_opt(2023, 11, 30).unwrap());
        assert_eq!(local_date(after), NaiveDate::from_ymd_opt(2023, 12, 1).unwrap());
    }

    #[test]
    fn future_allows_five_minutes_of_clock_skew() {
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        assert!(!is_future(now + chrono::Duration::seconds(300), now));
        assert!(is_future(now + chrono::Duration::seconds(301), now));
    }

    #[test]
    fn local_day_starts_at_16_utc_the_day_before() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert_eq!(start_of_local_day(d), Utc.with_ymd_and_hms(2023, 12, 31, 16, 0, 0).unwrap());
    }
}
