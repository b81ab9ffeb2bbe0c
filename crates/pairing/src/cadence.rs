//! The cadence rules engine, as a pure function.
//!
//! A rule says how many counted activities a relationship (a mentor pairing, a counselling
//! enrolment) needs per calendar period (ISO week, month or year, in Asia/Shanghai). For every
//! period in which the relationship is active at any time, the activities counted are those
//! dated (in Shanghai) inside both the period and the active interval; so a partial first or
//! last period has a shorter window, and its deadline is the end of that window.
//!
//! Each period gets one status:
//! - `met`: the count reached the minimum (whatever else holds);
//! - `exempt`: not met, and a coordinator recorded a reason for this period;
//! - `missed`: not met, and the window has closed (its last day is before today);
//! - `at_risk`: not met, still open, and at most `at_risk_days` days left, today included;
//! - `open`: not met and still open.
//!
//! A rule's minimum can change: the version in force on a period's first day governs that
//! period (a change applies from the next period on; periods before the first version use it).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::Serialize;
use tongxing_core::time;
use utoipa::ToSchema;
use uuid::Uuid;

text_enum! {
    /// The calendar period a rule is checked over (Asia/Shanghai).
    pub enum PeriodKind {
        /// Monday to Sunday; weeks are numbered by ISO 8601 (a year may have 53).
        IsoWeek => "iso_week",
        Month => "month",
        Year => "year",
    }
}

text_enum! {
    /// The status of one period of one rule.
    pub enum PeriodStatus {
        Met => "met",
        Open => "open",
        AtRisk => "at_risk",
        Missed => "missed",
        Exempt => "exempt",
    }
}

/// A calendar period: its first and last day, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub kind: PeriodKind,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    pub fn containing(kind: PeriodKind, date: NaiveDate) -> Period {
        let (start, end) = match kind {
            PeriodKind::IsoWeek => {
                let start = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                (start, start + Duration::days(6))
            }
            PeriodKind::Month => {
                let start = date.with_day(1).unwrap_or(date);
                let next = if start.month() == 12 {
                    NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
                };
                (start, next.map_or(date, |n| n - Duration::days(1)))
            }
            PeriodKind::Year => (
                NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date),
                NaiveDate::from_ymd_opt(date.year(), 12, 31).unwrap_or(date),
            ),
        };
        Period { kind, start, end }
    }

    pub fn next(&self) -> Period {
        Period::containing(self.kind, self.end + Duration::days(1))
    }

    /// `2024-W05`, `2024-01` or `2024`.
    pub fn label(&self) -> String {
        match self.kind {
            PeriodKind::IsoWeek => {
                let w = self.start.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            PeriodKind::Month => format!("{}-{:02}", self.start.year(), self.start.month()),
            PeriodKind::Year => self.start.year().to_string(),
        }
    }

    /// Parses a label back into its period; periods outside the dates clients may send
    /// ([`time::EARLIEST_DATE`] to [`time::LATEST_DATE`]) are not labels.
    pub fn parse(kind: PeriodKind, label: &str) -> Option<Period> {
        let date = match kind {
            PeriodKind::IsoWeek => {
                let (y, w) = label.split_once("-W")?;
                NaiveDate::from_isoywd_opt(y.parse().ok()?, w.parse().ok()?, Weekday::Mon)?
            }
            PeriodKind::Month => {
                let (y, m) = label.split_once('-')?;
                if m.len() != 2 {
                    return None;
                }
                NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?
            }
            PeriodKind::Year => NaiveDate::from_ymd_opt(label.parse().ok()?, 1, 1)?,
        };
        let p = Period::containing(kind, date);
        let within = p.start >= time::EARLIEST_DATE && p.end <= time::LATEST_DATE;
        (within && p.label() == label).then_some(p)
    }
}

/// A rule's minimum from a date on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleVersion {
    pub effective_from: NaiveDate,
    pub minimum: u32,
}

/// What the engine needs of a rule.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub period: PeriodKind,
    /// Sorted by `effective_from`; at least one.
    pub versions: Vec<RuleVersion>,
    /// An open period with this many days left or fewer (today included) is `at_risk`.
    pub at_risk_days: u32,
}

impl RuleSpec {
    /// The minimum in force for a period: the latest version in force on its first day.
    pub fn minimum_for(&self, period: &Period) -> u32 {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from <= period.start)
            .or_else(|| self.versions.first())
            .map_or(1, |v| v.minimum)
    }
}

/// One counted activity (already filtered to what the rule counts).
#[derive(Debug, Clone, Copy)]
pub struct Activity {
    pub id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Exemption {
    pub period_start: NaiveDate,
    pub reason: String,
}

/// The evaluation of one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PeriodEvaluation {
    /// `2024-W05`, `2024-01` or `2024`.
    pub period: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The part of the period in which the relationship was active: activities count only here,
    /// and its last day is the deadline.
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    pub status: PeriodStatus,
    pub count: u32,
    pub minimum: u32,
    /// The activities counted in the window.
    pub activity_ids: Vec<Uuid>,
    /// The coordinator's reason, when the period is exempt.
    pub exemption_reason: Option<String>,
}

/// Evaluates every period that overlaps both the active interval and `range`, up to today.
/// `active` is the first day and, once ended, the last day of the relationship.
pub fn evaluate(
    rule: &RuleSpec,
    active: (NaiveDate, Option<NaiveDate>),
    activities: &[Activity],
    exemptions: &[Exemption],
    range: (NaiveDate, NaiveDate),
    today: NaiveDate,
) -> Vec<PeriodEvaluation> {
    let (active_start, active_end) = active;
    let first = range.0.max(active_start);
    let last = [Some(range.1), active_end, Some(today)].into_iter().flatten().min().unwrap_or(today);
    let mut out = Vec::new();
    if first > last {
        return out;
    }
    let mut dated: Vec<(NaiveDate, Uuid)> =
        activities.iter().map(|a| (time::local_date(a.at), a.id)).collect();
    dated.sort();
    let mut period = Period::containing(rule.period, first);
    while period.start <= last {
        let window_start = period.start.max(active_start);
        let window_end = active_end.map_or(period.end, |e| period.end.min(e));
        let ids: Vec<Uuid> =
            dated.iter().filter(|(d, _)| *d >= window_start && *d <= window_end).map(|(_, id)| *id).collect();
        let count = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        let minimum = rule.minimum_for(&period);
        let exemption = exemptions.iter().find(|e| e.period_start == period.start);
        let status = if count >= minimum {
            PeriodStatus::Met
        } else if exemption.is_some() {
            PeriodStatus::Exempt
        } else if window_end < today {
            PeriodStatus::Missed
        } else if (window_end - today).num_days() < i64::from(rule.at_risk_days) {
            PeriodStatus::AtRisk
        } else {
            PeriodStatus::Open
        };
        out.push(PeriodEvaluation {
            period: period.label(),
            period_start: period.start,
            period_end: period.end,
            window_start,
            window_end,
            status,
            count,
            minimum,
            activity_ids: ids,
            exemption_reason: exemption.filter(|_| status == PeriodStatus::Exempt).map(|e| e.reason.clone()),
        });
        period = period.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use PeriodStatus::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// An activity at a Shanghai wall-clock time.
    fn at(y: i32, m: u32, day: u32, h: u32, min: u32) -> Activity {
        let local = time::TIME_ZONE.with_ymd_and_hms(y, m, day, h, min, 0).unwrap();
        Activity { id: Uuid::now_v7(), at: local.with_timezone(&Utc) }
    }

    fn monthly() -> RuleSpec {
        RuleSpec {
            period: PeriodKind::Month,
            versions: vec![RuleVersion { effective_from: d(2023, 1, 1), minimum: 1 }],
            at_risk_days: 7,
        }
    }

    fn statuses(evals: &[PeriodEvaluation]) -> Vec<(String, PeriodStatus)> {
        evals.iter().map(|e| (e.period.clone(), e.status)).collect()
    }

    fn s(label: &str, st: PeriodStatus) -> (String, PeriodStatus) {
        (label.to_owned(), st)
    }

    #[test]
    fn periods_and_labels() {
        let w = Period::containing(PeriodKind::IsoWeek, d(2024, 1, 31));
        assert_eq!((w.start, w.end, w.label()), (d(2024, 1, 29), d(2024, 2, 4), "2024-W05".to_owned()));
        let m = Period::containing(PeriodKind::Month, d(2024, 2, 10));
        assert_eq!((m.start, m.end, m.label()), (d(2024, 2, 1), d(2024, 2, 29), "2024-02".to_owned()));
        assert_eq!(Period::containing(PeriodKind::Month, d(2023, 2, 10)).end, d(2023, 2, 28));
        assert_eq!(Period::containing(PeriodKind::Month, d(2023, 12, 31)).next().label(), "2024-01");
        for p in [w, m, Period::containing(PeriodKind::Year, d(2024, 5, 5))] {
            assert_eq!(Period::parse(p.kind, &p.label()), Some(p));
        }
        assert_eq!(Period::parse(PeriodKind::Month, "2024-13"), None);
        for far in ["0000", "9999", "1899"] {
            assert_eq!(Period::parse(PeriodKind::Year, far), None, "{far}");
        }
        assert_eq!(Period::parse(PeriodKind::Month, "2200-12").map(|p| p.label()), Some("2200-12".into()));
        assert_eq!(Period::parse(PeriodKind::IsoWeek, "2021-W53"), None, "2021 has 52 ISO weeks");
    }

    #[test]
    fn iso_week_53_belongs_to_the_year_it_is_numbered_in() {
        // 1 January 2021 (a Friday) is in week 53 of 2020.
        let w = Period::containing(PeriodKind::IsoWeek, d(2021, 1, 1));
        assert_eq!(w.label(), "2020-W53");
        assert_eq!((w.start, w.end), (d(2020, 12, 28), d(2021, 1, 3)));
        assert_eq!(w.next().label(), "2021-W01");
        let weekly = RuleSpec {
            period: PeriodKind::IsoWeek,
            versions: vec![RuleVersion { effective_from: d(2020, 1, 1), minimum: 1 }],
            at_risk_days: 2,
        };
        let evals = evaluate(
            &weekly,
            (d(2020, 12, 21), None),
            &[at(2021, 1, 2, 15, 0)],
            &[],
            (d(2020, 12, 21), d(2021, 1, 10)),
            d(2021, 1, 20),
        );
        assert_eq!(statuses(&evals), vec![s("2020-W52", Missed), s("2020-W53", Met), s("2021-W01", Missed)]);
    }

    #[test]
    fn a_pairing_starting_on_the_last_day_of_a_month_owes_that_day() {
        let evals = evaluate(
            &monthly(),
            (d(2023, 12, 31), None),
            &[],
            &[],
            (d(2023, 12, 1), d(2024, 1, 31)),
            d(2024, 2, 1),
        );
        assert_eq!(statuses(&evals), vec![s("2023-12", Missed), s("2024-01", Missed)]);
        assert_eq!((evals[0].window_start, evals[0].window_end), (d(2023, 12, 31), d(2023, 12, 31)));
        let evals = evaluate(
            &monthly(),
            (d(2023, 12, 31), None),
            &[at(2023, 12, 31, 20, 0)],
            &[],
            (d(2023, 12, 1), d(2023, 12, 31)),
            d(2024, 2, 1),
        );
        assert_eq!(statuses(&evals), vec![s("2023-12", Met)]);
    }

    #[test]
    fn an_ended_pairing_counts_only_up_to_its_last_day() {
        // Ended on 15 March: a contact on 20 March is outside the window.
        let acts = [at(2024, 3, 20, 10, 0)];
        let evals = evaluate(
            &monthly(),
            (d(2024, 1, 10), Some(d(2024, 3, 15))),
            &acts,
            &[],
            (d(2024, 1, 1), d(2024, 12, 31)),
            d(2024, 3, 16),
        );
        assert_eq!(statuses(&evals), vec![s("2024-01", Missed), s("2024-02", Missed), s("2024-03", Missed)]);
        assert_eq!(evals[2].window_end, d(2024, 3, 15));
        // Its last month is at risk while the window is open, with its own deadline.
        let evals = evaluate(
            &monthly(),
            (d(2024, 1, 10), Some(d(2024, 3, 15))),
            &[],
            &[],
            (d(2024, 3, 1), d(2024, 3, 31)),
            d(2024, 3, 10),
        );
        assert_eq!(statuses(&evals), vec![s("2024-03", AtRisk)]);
    }

    #[test]
    fn shanghai_midnight_decides_the_month() {
        // 23:59 on 31 January in Shanghai is 15:59 UTC: January. 00:00 on 1 February: February.
        let before = at(2024, 1, 31, 23, 59);
        let after = at(2024, 2, 1, 0, 0);
        assert_eq!(before.at, Utc.with_ymd_and_hms(2024, 1, 31, 15, 59, 0).unwrap());
        let jan = evaluate(
            &monthly(),
            (d(2024, 1, 1), None),
            &[before],
            &[],
            (d(2024, 1, 1), d(2024, 2, 29)),
            d(2024, 3, 1),
        );
        assert_eq!(statuses(&jan), vec![s("2024-01", Met), s("2024-02", Missed)]);
        let feb = evaluate(
            &monthly(),
            (d(2024, 1, 1), None),
            &[after],
            &[],
            (d(2024, 1, 1), d(2024, 2, 29)),
            d(2024, 3, 1),
        );
        assert_eq!(statuses(&feb), vec![s("2024-01", Missed), s("2024-02", Met)]);
    }

    #[test]
    fn leap_day_is_in_february() {
        let evals = evaluate(
            &monthly(),
            (d(2024, 2, 1), None),
            &[at(2024, 2, 29, 12, 0)],
            &[],
            (d(2024, 2, 1), d(2024, 3, 31)),
            d(2024, 3, 31),
        );
        assert_eq!(statuses(&evals), vec![s("2024-02", Met), s("2024-03", AtRisk)]);
    }

    #[test]
    fn open_becomes_at_risk_with_seven_days_left() {
        let rule = monthly();
        let eval = |today| {
            evaluate(&rule, (d(2024, 1, 1), None), &[], &[], (d(2024, 1, 1), d(2024, 1, 31)), today)[0].status
        };
        assert_eq!(eval(d(2024, 1, 24)), Open, "8 days left");
        assert_eq!(eval(d(2024, 1, 25)), AtRisk, "7 days left");
        assert_eq!(eval(d(2024, 1, 31)), AtRisk, "the last day");
        assert_eq!(eval(d(2024, 2, 1)), Missed);
    }

    #[test]
    fn exemptions_cover_unmet_periods_only() {
        let ex = [
            Exemption { period_start: d(2024, 2, 1), reason: "child in hospital".into() },
            Exemption { period_start: d(2024, 1, 1), reason: "x".into() },
        ];
        let evals = evaluate(
            &monthly(),
            (d(2024, 1, 1), None),
            &[at(2024, 1, 5, 9, 0)],
            &ex,
            (d(2024, 1, 1), d(2024, 3, 31)),
            d(2024, 4, 2),
        );
        assert_eq!(statuses(&evals), vec![s("2024-01", Met), s("2024-02", Exempt), s("2024-03", Missed)]);
        assert_eq!(evals[1].exemption_reason.as_deref(), Some("child in hospital"));
        assert_eq!(evals[0].exemption_reason, None);
    }

    #[test]
    fn a_rule_changed_mid_year_governs_from_the_next_period() {
        let rule = RuleSpec {
            period: PeriodKind::Month,
            versions: vec![
                RuleVersion { effective_from: d(2023, 1, 1), minimum: 1 },
                RuleVersion { effective_from: d(2024, 6, 15), minimum: 2 },
            ],
            at_risk_days: 7,
        };
        let acts = [at(2024, 6, 20, 9, 0), at(2024, 7, 3, 9, 0)];
        let evals = evaluate(
            &rule,
            (d(2024, 1, 1), None),
            &acts,
            &[],
            (d(2024, 6, 1), d(2024, 7, 31)),
            d(2024, 8, 5),
        );
        assert_eq!(statuses(&evals), vec![s("2024-06", Met), s("2024-07", Missed)]);
        assert_eq!((evals[0].minimum, evals[1].minimum), (1, 2));
    }

    #[test]
    fn yearly_outings_and_future_periods() {
        let yearly = RuleSpec {
            period: PeriodKind::Year,
            versions: vec![RuleVersion { effective_from: d(2023, 1, 1), minimum: 1 }],
            at_risk_days: 7,
        };
        let evals = evaluate(
            &yearly,
            (d(2023, 12, 29), None),
            &[],
            &[],
            (d(2023, 1, 1), d(2026, 12, 31)),
            d(2024, 6, 1),
        );
        assert_eq!(statuses(&evals), vec![s("2023", Missed), s("2024", Open)], "no period after today");
        assert_eq!(evals[0].window_start, d(2023, 12, 29));
    }

    #[test]
    fn a_thirteen_month_timeline_by_hand() {
        // Paired 29 December 2023; contacts in Dec, Jan, Feb, none in March (exempt: hospital),
        // April, two in May, none in June, then monthly until a gap in November; today is
        // 10 January 2025.
        let acts = [
            at(2023, 12, 29, 10, 0),
            at(2024, 1, 31, 23, 59),
            at(2024, 2, 1, 0, 0),
            at(2024, 4, 30, 8, 0),
            at(2024, 5, 1, 8, 0),
            at(2024, 5, 20, 8, 0),
            at(2024, 7, 7, 8, 0),
            at(2024, 8, 8, 8, 0),
            at(2024, 9, 9, 8, 0),
            at(2024, 10, 10, 8, 0),
            at(2024, 12, 12, 8, 0),
        ];
        let ex = [Exemption { period_start: d(2024, 3, 1), reason: "hospital".into() }];
        let evals = evaluate(
            &monthly(),
            (d(2023, 12, 29), None),
            &acts,
            &ex,
            (d(2023, 12, 1), d(2025, 1, 31)),
            d(2025, 1, 10),
        );
        assert_eq!(
            statuses(&evals),
            vec![
                s("2023-12", Met),
                s("2024-01", Met),
                s("2024-02", Met),
                s("2024-03", Exempt),
                s("2024-04", Met),
                s("2024-05", Met),
                s("2024-06", Missed),
                s("2024-07", Met),
                s("2024-08", Met),
                s("2024-09", Met),
                s("2024-10", Met),
                s("2024-11", Missed),
                s("2024-12", Met),
                s("2025-01", Open),
            ]
        );
        assert_eq!(evals[5].count, 2);
    }
}
