//! The case-file lifecycle, as a pure rule: `screening → registered → active → closed`.
//!
//! - `registered` opens the case file: it records the date the file was opened (which the
//!   "registered children" figure counts by) and assigns a case-file number.
//! - `closed` may be reached from any open state (a screened child may not qualify) and needs a
//!   reason; a closed file stays closed.
//! - The effective date cannot be in the future, before the child's birth, or, when closing,
//!   before the file was opened.

use chrono::NaiveDate;
use tongxing_core::Code;
use tongxing_core::{Error, Result};

text_enum! {
    /// Where a child's case file stands.
    pub enum CaseStatus {
        /// Being assessed; no case file yet.
        Screening => "screening",
        /// Case file opened and card issued.
        Registered => "registered",
        /// Receiving services.
        Active => "active",
        Closed => "closed",
    }
}

/// What a legal transition changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub effective_on: NaiveDate,
    /// Set when the transition opens the file.
    pub opens_file: bool,
    pub reason: Option<String>,
}

pub struct TransitionRequest<'a> {
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub effective_on: NaiveDate,
    pub reason: Option<&'a str>,
    pub today: NaiveDate,
    pub birth_date: NaiveDate,
    pub registered_on: Option<NaiveDate>,
}

pub fn plan(req: TransitionRequest<'_>) -> Result<Transition> {
    use CaseStatus::*;
    let legal = matches!(
        (req.from, req.to),
        (Screening, Registered) | (Registered, Active) | (Screening | Registered | Active, Closed)
    );
    if !legal {
        return Err(Error::conflict(
            Code::IllegalTransition,
            format!("a case file cannot move from {} to {}", req.from, req.to),
        )
        .with("from", req.from.as_str())
        .with("to", req.to.as_str()));
    }
    if req.effective_on > req.today {
        return Err(Error::field("effective_on", "in_future", "the date cannot be in the future"));
    }
    if req.effective_on < req.birth_date {
        return Err(Error::field("effective_on", "before_birth", "the date is before the child's birth"));
    }
    if let Some(opened) = req.registered_on
        && req.effective_on < opened
    {
        return Err(Error::field(
            "effective_on",
            "before_registration",
            "the date is before the file was opened",
        ));
    }
    let reason = req.reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
    if req.to == Closed && reason.is_none() {
        return Err(Error::field("reason", "required", "closing a case file needs a reason"));
    }
    Ok(Transition {
        from: req.from,
        to: req.to,
        effective_on: req.effective_on,
        opens_file: req.to == Registered,
        reason,
    })
}

/// The human-readable case-file number: `TX` and the year the file was opened, then the
/// sequence within that year (e.g. `TX2023-00042`).
pub fn case_number(year: i32, seq: i64) -> String {
    format!("TX{year}-{seq:05}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseStatus::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn req(from: CaseStatus, to: CaseStatus, reason: Option<&str>) -> TransitionRequest<'_> {
        TransitionRequest {
            from,
            to,
            effective_on: d(2023, 6, 1),
            reason,
            today: d(2024, 1, 31),
            birth_date: d(2015, 3, 3),
            registered_on: None,
        }
    }

    #[test]
    fn the_forward_path_is_legal() {
        assert!(plan(req(Screening, Registered, None)).unwrap().opens_file);
        assert!(!plan(req(Registered, Active, None)).unwrap().opens_file);
        assert!(plan(req(Active, Closed, Some("moved away"))).is_ok());
        assert!(plan(req(Screening, Closed, Some("does not qualify"))).is_ok());
    }

    #[test]
    fn skipping_going_back_and_reopening_are_illegal() {
        for (from, to) in [
            (Screening, Active),
            (Active, Registered),
            (Registered, Screening),
            (Closed, Active),
            (Closed, Closed),
            (Active, Active),
        ] {
            let err = plan(req(from, to, Some("r"))).unwrap_err();
            assert!(matches!(err, Error::Conflict { code: Code::IllegalTransition, .. }), "{from} -> {to}");
        }
    }

    #[test]
    fn closing_needs_a_reason() {
        assert!(matches!(plan(req(Active, Closed, None)), Err(Error::Validation(_))));
        assert!(matches!(plan(req(Active, Closed, Some("  "))), Err(Error::Validation(_))));
    }

    #[test]
    fn dates_must_be_plausible() {
        let mut r = req(Screening, Registered, None);
        r.effective_on = d(2024, 2, 1);
        assert!(plan(r).is_err());
        let mut r = req(Screening, Registered, None);
        r.effective_on = d(2015, 3, 2);
        assert!(plan(r).is_err());
        let mut r = req(Active, Closed, Some("moved"));
        r.registered_on = Some(d(2023, 7, 1));
        assert!(plan(r).is_err());
    }

    #[test]
    fn case_numbers_are_padded_per_year() {
        assert_eq!(case_number(2023, 42), "TX2023-00042");
    }
}
