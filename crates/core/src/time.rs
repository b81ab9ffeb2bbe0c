//! Clock and calendar. Timestamps are stored in UTC; every calendar period (day, week, month,
//! year, holiday) is reckoned in Asia/Shanghai.

use chrono::Timelike;
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

/// How many years back the record of a piece of work may be dated (a case-work or mentor
/// contact, a counselling session, an event): late entries and old registers, not typing
/// slips in the year.
pub const RECORDS_YEARS_BACK: u32 = 20;

/// How many years ahead an event may be planned.
pub const PLANS_YEARS_AHEAD: u32 = 5;

/// The window around `now` inside which the work's timestamps fall: from the start of the
/// Shanghai day [`RECORDS_YEARS_BACK`] years before today, to the end of the Shanghai day
/// [`PLANS_YEARS_AHEAD`] years after it.
pub fn work_window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = local_date(now);
    let back =
        today.checked_sub_months(chrono::Months::new(12 * RECORDS_YEARS_BACK)).unwrap_or(EARLIEST_DATE);
    let ahead = today.checked_add_months(chrono::Months::new(12 * PLANS_YEARS_AHEAD)).unwrap_or(LATEST_DATE);
    (start_of_local_day(back), start_of_local_day(ahead.succ_opt().unwrap_or(ahead)))
}

/// Checks that a piece of work that took place (a contact, a session) lies in its window: not
/// in the future (allowing for clock skew), and not more than [`RECORDS_YEARS_BACK`] years ago.
/// `what` names it in the message.
pub fn check_took_place(field: &str, at: DateTime<Utc>, now: DateTime<Utc>, what: &str) -> crate::Result<()> {
    if is_future(at, now) {
        return Err(crate::Error::field(field, "in_future", format!("the {what} cannot be in the future")));
    }
    check_in_window(field, at, now)
}

/// Checks that a timestamp of the work lies in [`work_window`] around `now` (422 naming the
/// field if not).
pub fn check_in_window(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> crate::Result<()> {
    let (earliest, end) = work_window(now);
    if at < earliest {
        let from = local_date(earliest);
        return Err(crate::Error::of_field(
            crate::FieldError::new(
                field,
                "too_old",
                format!("at most {RECORDS_YEARS_BACK} years ago (from {from})"),
            )
            .with("years", RECORDS_YEARS_BACK)
            .with("earliest", from.to_string()),
        ));
    }
    if at >= end {
        let until = local_date(end - chrono::Duration::days(1));
        return Err(crate::Error::of_field(
            crate::FieldError::new(
                field,
                "too_far_ahead",
                format!("at most {PLANS_YEARS_AHEAD} years ahead (until {until})"),
            )
            .with("years", PLANS_YEARS_AHEAD)
            .with("latest", until.to_string()),
        ));
    }
    Ok(())
}

/// UTC timestamps are stored without a zone (both backends' `TIMESTAMP`).
pub fn to_db(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc()
}

pub fn from_db(at: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&at)
}

/// The first day a client may send: every date, and every timestamp's UTC day, lies in
/// [`EARLIEST_DATE`]..=[`LATEST_DATE`]. Far enough back for any living person's birth date, far
/// enough ahead for any plan; and inside what both databases and the Shanghai calendar
/// compute with (a day before or after it always exists).
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The last day a client may send (see [`EARLIEST_DATE`]).
pub const LATEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2200, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// What the contract says of every date a client sends.
pub const DATE_RULE: &str = "a date as YYYY-MM-DD, from 1900-01-01 to 2200-12-31";

/// What the contract says of every timestamp a client sends.
pub const TIMESTAMP_RULE: &str = "an RFC 3339 timestamp with a zone (Z or ±hh:mm), its date from 1900-01-01 to \
     2200-12-31 both as written and in UTC";

/// The pattern of [`DATE_RULE`], for the contract.
pub const DATE_PATTERN: &str = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

/// The pattern of [`TIMESTAMP_RULE`], for the contract.
pub const TIMESTAMP_PATTERN: &str = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\
    [Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";

/// A date exactly as `YYYY-MM-DD`, within the accepted range.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().filter(|_| shaped)?;
    (EARLIEST_DATE..=LATEST_DATE).contains(&date).then_some(date)
}

/// An RFC 3339 timestamp with its zone, its date within the accepted range both as written (in
/// its zone: what the contract's pattern states) and in UTC (as the service stores and answers
/// it, so that every timestamp it answers matches the same pattern); as UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    // Nanoseconds at most, as the contract's pattern says (chrono would read more digits).
    let fraction = s.split_once('.').map_or(0, |(_, r)| r.bytes().take_while(u8::is_ascii_digit).count());
    if fraction > 9 {
        return None;
    }
    let at = DateTime::parse_from_rfc3339(s).ok()?;
    // A leap second (`23:59:60`) is read as the second before it: chrono would keep it and write
    // `:60` back, which few readers of the answer accept as a timestamp.
    let at = at.with_nanosecond(at.nanosecond() % 1_000_000_000)?;
    let utc = at.with_timezone(&Utc);
    let range = EARLIEST_DATE..=LATEST_DATE;
    (range.contains(&at.date_naive()) && range.contains(&utc.date_naive())).then_some(utc)
}

/// Dates and timestamps from clients, read by one rule: every field or parameter of a request
/// that holds a date or a timestamp says `#[serde(deserialize_with = "time::bounded")]`
/// (with `default` on an `Option`). Works for `NaiveDate`, `DateTime<Utc>`, and `Option`s and
/// `Vec`s of them; anything else in the shape or out of the range is refused with a message
/// that states the rule.
pub fn bounded<'de, D: serde::Deserializer<'de>, T: Bounded>(d: D) -> Result<T, D::Error> {
    T::deserialize_bounded(d)
}

/// A type [`bounded`] can read.
pub trait Bounded: Sized {
    fn deserialize_bounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

impl Bounded for NaiveDate {
    fn deserialize_bounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Text(DATE_RULE, parse_date))
    }
}

impl Bounded for DateTime<Utc> {
    fn deserialize_bounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Text(TIMESTAMP_RULE, parse_timestamp))
    }
}

impl<T: Bounded> Bounded for Option<T> {
    fn deserialize_bounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(<Option<Each<T>> as serde::Deserialize>::deserialize(d)?.map(|e| e.0))
    }
}

impl<T: Bounded> Bounded for Vec<T> {
    fn deserialize_bounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(<Vec<Each<T>> as serde::Deserialize>::deserialize(d)?.into_iter().map(|e| e.0).collect())
    }
}

/// One value inside an `Option` or a `Vec`, so that an error names its place (`days[2]`).
struct Each<T>(T);

impl<'de, T: Bounded> serde::Deserialize<'de> for Each<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize_bounded(d).map(Each)
    }
}

/// Reads a string with `parse`, or fails stating `rule`.
struct Text<T>(&'static str, fn(&str) -> Option<T>);

impl<T> serde::de::Visitor<'_> for Text<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        (self.1)(v).ok_or_else(|| E::custom(format_args!("must be {}", self.0)))
    }
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
    fn dates_are_read_in_one_shape_and_range() {
        assert_eq!(parse_date("1900-01-01"), Some(EARLIEST_DATE));
        assert_eq!(parse_date("2200-12-31"), Some(LATEST_DATE));
        for bad in
            ["1899-12-31", "2201-01-01", "0001-01-01", "9999-12-31", "2024-1-01", "+2024-01-01", "2023-02-30"]
        {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_need_a_zone_and_fall_in_the_range() {
        let at = parse_timestamp("2024-03-01T09:00:00+08:00").unwrap();
        assert_eq!(at, Utc.with_ymd_and_hms(2024, 3, 1, 1, 0, 0).unwrap());
        assert!(parse_timestamp("1900-01-01T00:00:00Z").is_some());
        assert!(parse_timestamp("2200-12-31T23:59:59.999999Z").is_some());
        assert!(parse_timestamp("2200-12-31T18:59:59-05:00").is_some());
        assert!(parse_timestamp("1900-01-01T07:59:59-08:00").is_some());
        for bad in [
            "1899-12-31T23:59:59Z",
            "2201-01-01T00:00:00Z",
            "1899-12-31T23:00:00-05:00",
            // In range as written, not in UTC: the answer would be 2201-01-01T04:00:00Z.
            "2200-12-31T23:00:00-05:00",
            "1900-01-01T07:59:59+08:00",
            "0001-01-01T00:00:00Z",
            "2024-03-01T09:00:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_are_rfc_3339_with_up_to_nine_fraction_digits() {
        for ok in ["2024-03-01T09:00:00+08:00", "2024-03-01t09:00:00z", "2024-03-01 09:00:00.123456Z"] {
            assert!(parse_timestamp(ok).is_some(), "{ok}");
        }
        for bad in ["2024-03-01T09:00:00.1234567891Z", "2024-03-01T09:00Z", "2024-03-01T09:00:00+0800"] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_leap_second_is_read_as_the_second_before_it() {
        let at = parse_timestamp("1981-01-31T21:35:60Z").unwrap();
        assert_eq!(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), "1981-01-31T21:35:59Z");
    }

    #[test]
    fn the_deserializer_reads_options_and_lists_and_states_the_rule() {
        #[derive(Debug, serde::Deserialize)]
        struct Input {
            #[serde(deserialize_with = "bounded")]
            on: NaiveDate,
            #[serde(default, deserialize_with = "bounded")]
            until: Option<DateTime<Utc>>,
            #[serde(default, deserialize_with = "bounded")]
            days: Vec<NaiveDate>,
        }
        let ok: Input = serde_json::from_str(r#"{"on": "2024-01-01", "days": ["2024-02-02"]}"#).unwrap();
        assert_eq!((ok.until, ok.days.len()), (None, 1));
        assert_eq!(ok.on, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        let ok: Input = serde_json::from_str(r#"{"on": "2024-01-01", "until": null}"#).unwrap();
        assert_eq!(ok.until, None);
        let err = serde_json::from_str::<Input>(r#"{"on": "0001-01-01"}"#).unwrap_err().to_string();
        assert!(err.contains("1900-01-01 to 2200-12-31"), "{err}");
        assert!(
            serde_json::from_str::<Input>(r#"{"on": "2024-01-01", "until": "9999-12-31T00:00:00Z"}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<Input>(r#"{"on": "2024-01-01", "days": ["2201-01-01"]}"#).is_err());
        assert!(serde_json::from_str::<Input>(r#"{"on": 20240101}"#).is_err());
    }

    #[test]
    fn local_day_starts_at_16_utc_the_day_before() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert_eq!(start_of_local_day(d), Utc.with_ymd_and_hms(2023, 12, 31, 16, 0, 0).unwrap());
    }
}
