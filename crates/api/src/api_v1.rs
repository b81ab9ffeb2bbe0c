//! Every endpoint under `/api/v1`, one line each: the handler, which carries its route and its
//! entry in the contract (`#[utoipa::path]`, whose operation id is the handler's name), then who
//! may call it and what the audit log records of a successful call. The line registers the
//! route and states its access rule; nothing else lists endpoints. (The four operations
//! endpoints outside the guard are registered in [`crate::endpoints`].)

use crate::access::Audit::{Create, Export, List, No, Read, Update};
use crate::access::{
    ADMIN, AUDIT_READERS, CASE_STAFF, CHILD_READERS, COORDINATORS, EVENT_READERS, HOURS_READERS,
    PAIRING_STAFF, REPORT_READERS, Rule, Who, roles,
};
use crate::auth::clients::ClientScope;

macro_rules! endpoints {
    ($($module:ident :: $handler:ident => $who:expr, $audit:expr;)+) => {
        /// The access rule of every endpoint under `/api/v1`, by operation id.
        pub const POLICY: &[Rule] = &[$(Rule { operation: stringify!($handler), who: $who, audit: $audit }),+];

        /// Registers every endpoint under `/api/v1` on `scope`.
        pub fn register<T>(scope: utoipa_actix_web::scope::Scope<T>) -> utoipa_actix_web::scope::Scope<T>
        where
            T: actix_web::dev::ServiceFactory<
                    actix_web::dev::ServiceRequest,
                    Config = (),
                    Error = actix_web::Error,
                    InitError = (),
                >,
        {
            scope$(.service(crate::routes::$module::$handler))+
        }
    };
}

endpoints! {
    auth::create_token => Who::Anyone, No;
    auth::create_client_token => Who::Anyone, No;
    oauth::create_oauth_token => Who::Anyone, No;
    oauth::revoke_oauth_token => Who::Anyone, No;
    users::list_users => roles(ADMIN), No;
    users::create_user => roles(ADMIN), Create;
    users::get_user => roles(ADMIN), No;
    users::update_user => roles(ADMIN), Update;
    users::reset_user_password => roles(ADMIN), Update;
    users::get_current_user => Who::AnyUser, No;
    users::change_current_user_password => Who::AnyUser, Update;
    api_clients::list_api_clients => roles(ADMIN), No;
    api_clients::create_api_client => roles(ADMIN), Create;
    api_clients::rotate_api_client_secret => roles(ADMIN), Update;
    api_clients::revoke_api_client => roles(ADMIN), Update;
    auth::rotate_signing_key => roles(ADMIN), Create;
    audit::list_audit_events => roles(AUDIT_READERS), No;
    audit::get_child_access_history => roles(AUDIT_READERS), No;
    regions::list_regions => Who::AnyUser, No;
    regions::create_region => roles(COORDINATORS), Create;
    regions::get_region => Who::AnyUser, No;
    households::list_households => roles(CASE_STAFF), List;
    households::export_households => roles(CASE_STAFF), Export;
    households::create_household => roles(CASE_STAFF), Create;
    households::get_household => roles(CASE_STAFF), Read;
    households::update_household => roles(CASE_STAFF), Update;
    children::list_children => Who::Roles(CHILD_READERS, Some(ClientScope::CasesRead)), List;
    children::export_children => Who::Roles(CHILD_READERS, Some(ClientScope::CasesRead)), Export;
    children::create_child => roles(CASE_STAFF), Create;
    children::get_child => Who::Roles(CHILD_READERS, Some(ClientScope::CasesRead)), Read;
    children::update_child => roles(CASE_STAFF), Update;
    children::change_child_status => roles(CASE_STAFF), Update;
    children::list_assessments => roles(CASE_STAFF), Read;
    children::create_assessment => roles(CASE_STAFF), Create;
    contacts::list_contacts => Who::Roles(CASE_STAFF, Some(ClientScope::ContactsRead)), List;
    contacts::export_contacts => Who::Roles(CASE_STAFF, Some(ClientScope::ContactsRead)), Export;
    contacts::create_contact => roles(CASE_STAFF), Create;
    contacts::get_contact => Who::Roles(CASE_STAFF, Some(ClientScope::ContactsRead)), Read;
    consents::list_consents => roles(CASE_STAFF), List;
    consents::create_consent => roles(CASE_STAFF), Create;
    consents::get_consent => roles(CASE_STAFF), Read;
    consents::withdraw_consent => roles(CASE_STAFF), Update;
    duplicates::list_duplicate_reviews => roles(COORDINATORS), List;
    duplicates::resolve_duplicate_review => roles(COORDINATORS), Update;
    duplicates::list_possible_duplicates => roles(CASE_STAFF), Read;
    duplicates::list_duplicate_candidates => roles(COORDINATORS), List;
    duplicates::dismiss_duplicate_candidate => roles(COORDINATORS), Update;
    merges::merge_child => roles(COORDINATORS), Create;
    imports::get_import_template => roles(CASE_STAFF), No;
    imports::create_import => roles(CASE_STAFF), Create;
    imports::get_import => roles(CASE_STAFF), No;
    imports::list_import_rows => roles(CASE_STAFF), Read;
    imports::commit_import => roles(CASE_STAFF), Update;
    merges::list_child_merges => roles(COORDINATORS), List;
    merges::get_child_merge => roles(COORDINATORS), Read;
    merges::undo_child_merge => roles(ADMIN), Update;
    mentors::list_mentors => roles(CASE_STAFF), No;
    mentors::create_mentor => roles(COORDINATORS), Create;
    mentors::get_mentor => roles(CASE_STAFF), No;
    mentors::update_mentor => roles(COORDINATORS), Update;
    pairings::list_pairings => roles(CHILD_READERS), List;
    pairings::create_pairing => roles(COORDINATORS), Create;
    pairings::get_pairing => roles(CHILD_READERS), Read;
    pairings::change_pairing_status => roles(COORDINATORS), Update;
    pairings::list_pair_contacts => roles(CHILD_READERS), Read;
    pairings::create_pair_contact => roles(PAIRING_STAFF), Create;
    pairings::get_pairing_compliance => roles(CHILD_READERS), Read;
    compliance::list_compliance_alerts => roles(COORDINATORS), List;
    compliance::list_compliance_exemptions => roles(COORDINATORS), List;
    compliance::create_compliance_exemption => roles(COORDINATORS), Create;
    compliance::list_cadence_rules => Who::AnyUser, No;
    compliance::create_cadence_rule => roles(COORDINATORS), Create;
    compliance::change_cadence_rule_minimum => roles(COORDINATORS), Update;
    counselling::list_counselling_enrolments => roles(CASE_STAFF), List;
    counselling::create_counselling_enrolment => roles(CASE_STAFF), Create;
    counselling::get_counselling_enrolment => roles(CASE_STAFF), Read;
    counselling::update_counselling_enrolment => roles(CASE_STAFF), Update;
    counselling::list_counselling_sessions => roles(CASE_STAFF), Read;
    counselling::create_counselling_session => roles(CASE_STAFF), Create;
    counselling::get_counselling_compliance => roles(CASE_STAFF), Read;
    holidays::list_holidays => Who::AnyUser, No;
    holidays::create_holiday => roles(ADMIN), Create;
    holidays::update_holiday => roles(ADMIN), Update;
    home_visits::list_home_visit_requests => roles(CHILD_READERS), List;
    home_visits::export_home_visit_requests => roles(CHILD_READERS), Export;
    home_visits::create_home_visit_request => roles(PAIRING_STAFF), Create;
    home_visits::record_late_home_visit => roles(COORDINATORS), Create;
    home_visits::get_home_visit_request => roles(CHILD_READERS), Read;
    home_visits::consent_home_visit_request => roles(CASE_STAFF), Update;
    home_visits::confirm_home_visit_checklist => roles(CHILD_READERS), Update;
    home_visits::approve_home_visit_request => roles(COORDINATORS), Update;
    home_visits::reject_home_visit_request => roles(COORDINATORS), Update;
    home_visits::cancel_home_visit_request => roles(PAIRING_STAFF), Update;
    home_visits::confirm_home_visit_return => roles(PAIRING_STAFF), Update;
    organisations::list_organisations => roles(CASE_STAFF), No;
    organisations::create_organisation => roles(COORDINATORS), Create;
    organisations::get_organisation => roles(CASE_STAFF), No;
    organisations::update_organisation => roles(COORDINATORS), Update;
    organisations::list_organisation_contracts => roles(CASE_STAFF), No;
    organisations::create_service_contract => roles(COORDINATORS), Create;
    volunteers::list_volunteers => roles(CASE_STAFF), No;
    volunteers::create_volunteer => roles(COORDINATORS), Create;
    volunteers::get_volunteer => roles(CASE_STAFF), No;
    volunteers::update_volunteer => roles(COORDINATORS), Update;
    volunteers::get_volunteer_hours => roles(HOURS_READERS), No;
    volunteers::list_teams => roles(CASE_STAFF), No;
    volunteers::create_team => roles(COORDINATORS), Create;
    volunteers::get_team => roles(CASE_STAFF), No;
    volunteers::update_team => roles(COORDINATORS), Update;
    events::list_events => roles(EVENT_READERS), No;
    events::create_event => roles(CASE_STAFF), Create;
    events::get_event => roles(EVENT_READERS), No;
    events::update_event => roles(CASE_STAFF), Update;
    events::change_event_status => roles(CASE_STAFF), Update;
    events::list_event_volunteers => roles(CASE_STAFF), No;
    events::add_event_volunteer => roles(CASE_STAFF), Create;
    events::update_event_volunteer => roles(CASE_STAFF), Update;
    events::list_event_attendance => roles(EVENT_READERS), List;
    events::record_event_attendance => roles(EVENT_READERS), Update;
    reports::get_summary_report => roles(REPORT_READERS), Export;
    reports::get_events_report => roles(REPORT_READERS), Export;
    reports::get_assessments_report => roles(REPORT_READERS), Export;
    reports::get_compliance_report => roles(REPORT_READERS), Export;
    reports::get_summary_report_csv => roles(REPORT_READERS), Export;
    reports::get_events_report_csv => roles(REPORT_READERS), Export;
    reports::get_assessments_report_csv => roles(REPORT_READERS), Export;
    reports::get_compliance_report_csv => roles(REPORT_READERS), Export;
}
