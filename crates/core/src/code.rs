//! Every `code` a problem+json answer can carry: one list, each with the HTTP status it comes
//! with and what it means. The contract's `Problem.code` is this enum (with the meanings), so
//! generated SDKs get a union type; a code not listed here does not compile.

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident => ($text:literal, $status:literal, $meaning:literal),)+) => {
        /// A problem's stable `code`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Code {
            /// Every code, in the order of the list.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The code as clients see it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)+
                }
            }

            /// The HTTP status it comes with (`validation_failed` is 400 for a request that does
            /// not match the contract, 422 for one that breaks a rule of the domain).
            pub const fn status(self) -> u16 {
                match self {
                    $(Code::$variant => $status,)+
                }
            }

            /// What it means, in one line.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)+
                }
            }
        }
    };
}

codes! {
    /// The child's attendance is already recorded.
    AlreadyAttending => ("already_attending", 409, "the child's attendance is already recorded"),
    /// This period is already exempt.
    AlreadyExempt => ("already_exempt", 409, "this period is already exempt"),
    /// This review has already been resolved.
    AlreadyResolved => ("already_resolved", 409, "this review has already been resolved"),
    /// The volunteer is already on the roster.
    AlreadyRostered => ("already_rostered", 409, "the volunteer is already on the roster"),
    /// This merge has already been undone.
    AlreadyUndone => ("already_undone", 409, "this merge has already been undone"),
    /// This consent has already been withdrawn.
    AlreadyWithdrawn => ("already_withdrawn", 409, "this consent has already been withdrawn"),
    /// The request body stopped arriving; send it again.
    BodyTimeout => ("body_timeout", 408, "the request body stopped arriving; send it again"),
    /// The request body is too large.
    BodyTooLarge => ("body_too_large", 413, "the request body is too large"),
    /// As many reports (or alert lists) are being computed as the service allows; retry after Retry-After.
    Busy => ("busy", 503, "as many reports (or alert lists) are being computed as the service allows; retry after Retry-After"),
    /// The child's case file is closed.
    CaseClosed => ("case_closed", 409, "the child's case file is closed"),
    /// This case-file number is in use.
    CaseNumberTaken => ("case_number_taken", 409, "this case-file number is in use"),
    /// Every safety item must be confirmed before approval.
    ChecklistIncomplete => ("checklist_incomplete", 409, "every safety item must be confirmed before approval"),
    /// The child has another pairing active over these dates; `conflicting_id` names it.
    ChildAlreadyPaired => ("child_already_paired", 409, "the child has another pairing active over these dates; `conflicting_id` names it"),
    /// The record was merged into another; `merged_into` names it.
    ChildMerged => ("child_merged", 410, "the record was merged into another; `merged_into` names it"),
    /// A volunteer lacks a background check or safety training valid on the event day.
    ClearanceMissing => ("clearance_missing", 409, "a volunteer lacks a background check or safety training valid on the event day"),
    /// The client is revoked.
    ClientRevoked => ("client_revoked", 409, "the client is revoked"),
    /// The guardian's or welfare centre's consent is not recorded.
    ConsentMissing => ("consent_missing", 409, "the guardian's or welfare centre's consent is not recorded"),
    /// The demo dataset is already loaded.
    DemoLoaded => ("demo_loaded", 409, "the demo dataset is already loaded"),
    /// The departure time has passed; a visit that took place is recorded late by a coordinator.
    DeparturePassed => ("departure_passed", 409, "the departure time has passed; a visit that took place is recorded late by a coordinator"),
    /// The two records carry different national ID numbers, so they are two children.
    DifferentNationalIds => ("different_national_ids", 409, "the two records carry different national ID numbers, so they are two children"),
    /// The record duplicates an existing one.
    Duplicate => ("duplicate", 409, "the record duplicates an existing one"),
    /// The uploaded register is empty, or holds headings and no rows.
    EmptyImport => ("empty_import", 422, "the uploaded register is empty, or holds headings and no rows"),
    /// The event is reported or cancelled and takes no more changes.
    EventClosed => ("event_closed", 409, "the event is reported or cancelled and takes no more changes"),
    /// The departure time passed without approval; the visit can only be recorded late.
    Expired => ("expired", 409, "the departure time passed without approval; the visit can only be recorded late"),
    /// The caller's role may write this record but not this field.
    FieldForbidden => ("field_forbidden", 403, "the caller's role may write this record but not this field"),
    /// The caller's role may not do this.
    Forbidden => ("forbidden", 403, "the caller's role may not do this"),
    /// No heading row of the register names the columns the import needs; `params.missing` lists them (give a `mapping`).
    HeadingsNotRecognised => ("headings_not_recognised", 422, "no heading row of the register names the columns the import needs; `params.missing` lists them (give a `mapping`)"),
    /// A home visit is logged against its approved home-visit request.
    HomeVisitNotApproved => ("home_visit_not_approved", 409, "a home visit is logged against its approved home-visit request"),
    /// A record with this client-chosen id exists.
    IdTaken => ("id_taken", 409, "a record with this client-chosen id exists"),
    /// A request with this Idempotency-Key is being processed.
    IdempotencyKeyInUse => ("idempotency_key_in_use", 409, "a request with this Idempotency-Key is being processed"),
    /// This Idempotency-Key was used for a different request.
    IdempotencyKeyReused => ("idempotency_key_reused", 422, "this Idempotency-Key was used for a different request"),
    /// Send the record's ETag in an If-Match header.
    IfMatchRequired => ("if_match_required", 428, "send the record's ETag in an If-Match header"),
    /// The home-visit request is not at a step where this can be done.
    IllegalStep => ("illegal_step", 409, "the home-visit request is not at a step where this can be done"),
    /// The lifecycle does not allow this change of status.
    IllegalTransition => ("illegal_transition", 409, "the lifecycle does not allow this change of status"),
    /// This import has been committed (or is being committed) already.
    ImportAlreadyCommitted => ("import_already_committed", 409, "this import has been committed (or is being committed) already"),
    /// The import has invalid rows: correct the file, or commit with `skip_invalid`.
    ImportHasErrors => ("import_has_errors", 409, "the import has invalid rows: correct the file, or commit with `skip_invalid`"),
    /// The import is still being checked; commit it once its state is `checked`.
    ImportNotReady => ("import_not_ready", 409, "the import is still being checked; commit it once its state is `checked`"),
    /// The register is over the size or row limit, or unpacks to more than the service reads.
    ImportTooLarge => ("import_too_large", 413, "the register is over the size or row limit, or unpacks to more than the service reads"),
    /// An unexpected error; details are in the service's logs.
    Internal => ("internal", 500, "an unexpected error; details are in the service's logs"),
    /// The JSON body does not match the request schema.
    InvalidBody => ("invalid_body", 400, "the JSON body does not match the request schema"),
    /// The client credentials are wrong or revoked.
    InvalidClient => ("invalid_client", 401, "the client credentials are wrong or revoked"),
    /// The username or password is wrong.
    InvalidCredentials => ("invalid_credentials", 401, "the username or password is wrong"),
    /// The refresh token is invalid, expired or revoked.
    InvalidGrant => ("invalid_grant", 401, "the refresh token is invalid, expired or revoked"),
    /// Idempotency-Key must be 1 to 200 visible ASCII characters.
    InvalidIdempotencyKey => ("invalid_idempotency_key", 400, "Idempotency-Key must be 1 to 200 visible ASCII characters"),
    /// If-Match must be one ETag as returned by a read.
    InvalidIfMatch => ("invalid_if_match", 412, "If-Match must be one ETag as returned by a read"),
    /// If-None-Match must be `*` or a list of ETags, at most 200 characters.
    InvalidIfNoneMatch => ("invalid_if_none_match", 400, "If-None-Match must be `*` or a list of ETags, at most 200 characters"),
    /// A path parameter is not of its stated type.
    InvalidPath => ("invalid_path", 400, "a path parameter is not of its stated type"),
    /// A query parameter is unknown, repeated or not of its stated type.
    InvalidQuery => ("invalid_query", 400, "a query parameter is unknown, repeated or not of its stated type"),
    /// The Authorization header must be `Bearer <token>`.
    InvalidToken => ("invalid_token", 401, "the Authorization header must be `Bearer <token>`"),
    /// The service would be left without an active administrator.
    LastAdmin => ("last_admin", 409, "the service would be left without an active administrator"),
    /// The body is not well-formed JSON.
    MalformedJson => ("malformed_json", 400, "the body is not well-formed JSON"),
    /// The mentor has another pairing active over these dates; `conflicting_id` names it.
    MentorAlreadyPaired => ("mentor_already_paired", 409, "the mentor has another pairing active over these dates; `conflicting_id` names it"),
    /// The mentor is not active.
    MentorInactive => ("mentor_inactive", 409, "the mentor is not active"),
    /// The two records cannot be one as they stand (both have an active pairing, both attended one event); `params.rule` names the rule.
    MergeConflict => ("merge_conflict", 409, "the two records cannot be one as they stand (both have an active pairing, both attended one event); `params.rule` names the rule"),
    /// The surviving record was merged into another since; undo that merge first.
    MergeSuperseded => ("merge_superseded", 409, "the surviving record was merged into another since; undo that merge first"),
    /// The time to undo this merge has passed.
    MergeUndoExpired => ("merge_undo_expired", 409, "the time to undo this merge has passed"),
    /// The path does not answer this method; `Allow` lists those it does.
    MethodNotAllowed => ("method_not_allowed", 405, "the path does not answer this method; `Allow` lists those it does"),
    /// Send an access token: Authorization: Bearer <token>.
    MissingToken => ("missing_token", 401, "send an access token: Authorization: Bearer <token>"),
    /// A child with this national ID number is already recorded; `conflicting_id` names it.
    NationalIdTaken => ("national_id_taken", 409, "a child with this national ID number is already recorded; `conflicting_id` names it"),
    /// The event was set up without children.
    NoChildrenExpected => ("no_children_expected", 409, "the event was set up without children"),
    /// No such endpoint.
    NoRoute => ("no_route", 404, "no such endpoint"),
    /// An event is held with at least one rostered volunteer.
    NoVolunteers => ("no_volunteers", 409, "an event is held with at least one rostered volunteer"),
    /// A home visit must fall within one national statutory holiday period.
    NotAHoliday => ("not_a_holiday", 409, "a home visit must fall within one national statutory holiday period"),
    /// The file is not an .xlsx workbook or a CSV text.
    NotASpreadsheet => ("not_a_spreadsheet", 415, "the file is not an .xlsx workbook or a CSV text"),
    /// Only an approved home visit can be completed.
    NotApproved => ("not_approved", 409, "only an approved home visit can be completed"),
    /// The demo dataset loads only into a database without children.
    NotEmpty => ("not_empty", 409, "the demo dataset loads only into a database without children"),
    /// No such record, or none the caller reaches.
    NotFound => ("not_found", 404, "no such record, or none the caller reaches"),
    /// The event has not started yet.
    NotStarted => ("not_started", 409, "the event has not started yet"),
    /// An organisation with this name exists.
    OrganisationNameTaken => ("organisation_name_taken", 409, "an organisation with this name exists"),
    /// The relationship was not active in this period.
    OutsideActiveInterval => ("outside_active_interval", 409, "the relationship was not active in this period"),
    /// The session falls outside the enrolment's dates.
    OutsideEnrolment => ("outside_enrolment", 409, "the session falls outside the enrolment's dates"),
    /// The contact is outside the approved visit's dates.
    OutsideHomeVisit => ("outside_home_visit", 409, "the contact is outside the approved visit's dates"),
    /// The visit's dates lie outside the days the pairing was active.
    OutsidePairing => ("outside_pairing", 409, "the visit's dates lie outside the days the pairing was active"),
    /// The pairing is not active.
    PairingNotActive => ("pairing_not_active", 409, "the pairing is not active"),
    /// This client has made too many requests; slow down.
    RateLimited => ("rate_limited", 429, "this client has made too many requests; slow down"),
    /// The record refers to a record that does not exist.
    ReferenceMissing => ("reference_missing", 409, "the record refers to a record that does not exist"),
    /// A region with this division code exists.
    RegionCodeTaken => ("region_code_taken", 409, "a region with this division code exists"),
    /// The parent region already has a region of this name.
    RegionNameTaken => ("region_name_taken", 409, "the parent region already has a region of this name"),
    /// A rule with this code exists.
    RuleCodeTaken => ("rule_code_taken", 409, "a rule with this code exists"),
    /// The rule already changes on this date.
    RuleVersionExists => ("rule_version_exists", 409, "the rule already changes on this date"),
    /// The enrolment's dates would leave recorded sessions outside them.
    SessionsOutside => ("sessions_outside", 409, "the enrolment's dates would leave recorded sessions outside them"),
    /// The record has changed since you read it; read it again and retry.
    StaleVersion => ("stale_version", 412, "the record has changed since you read it; read it again and retry"),
    /// A team with this name exists.
    TeamNameTaken => ("team_name_taken", 409, "a team with this name exists"),
    /// Too many failed logins; try again later.
    TooManyAttempts => ("too_many_attempts", 429, "too many failed logins; try again later"),
    /// The database is not available; retry shortly.
    Unavailable => ("unavailable", 503, "the database is not available; retry shortly"),
    /// The workbook has no sheet of that name; the detail lists its sheets.
    UnknownSheet => ("unknown_sheet", 422, "the workbook has no sheet of that name; the detail lists its sheets"),
    /// The request body could not be read.
    UnreadableBody => ("unreadable_body", 400, "the request body could not be read"),
    /// Send the body as application/json.
    UnsupportedMediaType => ("unsupported_media_type", 415, "send the body as application/json"),
    /// This user account already belongs to a mentor.
    UserAlreadyMentor => ("user_already_mentor", 409, "this user account already belongs to a mentor"),
    /// This user account already belongs to a volunteer.
    UserAlreadyVolunteer => ("user_already_volunteer", 409, "this user account already belongs to a volunteer"),
    /// A user with this username exists.
    UsernameTaken => ("username_taken", 409, "a user with this username exists"),
    /// Some fields are invalid: 400 when they do not match the contract, 422 when they break a domain rule; `errors` lists each.
    ValidationFailed => ("validation_failed", 422, "some fields are invalid: 400 when they do not match the contract, 422 when they break a domain rule; `errors` lists each"),
    /// The volunteer is not active.
    VolunteerInactive => ("volunteer_inactive", 409, "the volunteer is not active"),
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_with_an_error_status_and_a_meaning() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!(c.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{c}");
            assert!((400..600).contains(&c.status()), "{c}");
            assert!(!c.meaning().is_empty(), "{c}");
        }
    }
}
