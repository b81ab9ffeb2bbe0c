//! The pairing programme's shared vocabulary: the kinds of pair contact, the relationships a
//! cadence rule checks, and how counted kinds are stored. `contacts`, `rules` and `tallies` all
//! speak it; keeping it here, below them, keeps their imports one-way
//! (`contacts` → `tallies` → `kinds`, `rules` → `tallies`), with no circle.

text_enum! {
    pub enum PairContactKind {
        Phone => "phone",
        Video => "video",
        /// A visit to the child at the welfare centre.
        CentreVisit => "centre_visit",
        Outing => "outing",
        /// The child at the mentor's home on a statutory holiday (needs an approved request).
        HomeVisit => "home_visit",
        Message => "message",
    }
}

text_enum! {
    /// The relationship a rule checks.
    pub enum RuleSubject {
        /// A mentor–child pairing; counts pair contacts.
        Pairing => "pairing",
        /// A home counselling enrolment; counts sessions (`session`).
        CounsellingEnrolment => "counselling_enrolment",
    }
}

/// The activity kind that counselling rules count.
pub const SESSION: &str = "session";

/// The counted kinds as stored: names joined by commas.
pub(crate) fn kinds_from_db(stored: &str) -> Vec<String> {
    stored.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect()
}
