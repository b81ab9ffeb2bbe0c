//! The HTTP API: thin actix handlers over the domain crates, authentication, problem+json
//! errors, and the OpenAPI contract.

pub mod access;
pub use tongxing_accounts::audit;
pub mod auth;
pub mod body;
pub mod doc;
pub mod extract;
pub mod guard;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod problem;
pub mod routes;
pub mod security;
pub mod state;
mod validation;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tongxing_core::Code;
use utoipa_swagger_ui::SwaggerUi;

pub use doc::{ApiDoc, contract};
pub use state::AppState;

use crate::problem::ApiError;

/// Everything the service answers: the versioned API, operations endpoints, the spec and the
/// docs page. `max_body_bytes` bounds every request body.
pub fn configure(state: AppState, max_body_bytes: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state))
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .app_data(web::PathConfig::default().error_handler(extract::path_error))
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", doc::contract()));
        endpoints(&mut utoipa_actix_web::service_config::ServiceConfig::new(cfg));
        cfg.default_service(web::to(not_found));
    }
}

/// Every endpoint, each registered once, here: the registration gives the route, the entry in
/// the contract (the handler's `#[utoipa::path]`, whose operation id names its access rule in
/// [`access::POLICY`]). The versioned API sits behind the guard.
pub fn endpoints(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::ops::get_health)
        .service(routes::ops::get_readiness)
        .service(routes::ops::get_metrics)
        .service(routes::auth::get_jwks)
        .service(
            utoipa_actix_web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(guard::guard))
                .service(routes::auth::create_token)
                .service(routes::auth::create_client_token)
                .service(routes::auth::rotate_signing_key)
                .service(routes::api_clients::create_api_client)
                .service(routes::api_clients::list_api_clients)
                .service(routes::api_clients::rotate_api_client_secret)
                .service(routes::api_clients::revoke_api_client)
                .service(routes::audit::list_audit_events)
                .service(routes::audit::get_child_access_history)
                .service(routes::users::create_user)
                .service(routes::users::list_users)
                .service(routes::users::get_user)
                .service(routes::users::update_user)
                .service(routes::users::reset_user_password)
                .service(routes::users::get_current_user)
                .service(routes::users::change_current_user_password)
                .service(routes::regions::create_region)
                .service(routes::regions::list_regions)
                .service(routes::regions::get_region)
                .service(routes::households::create_household)
                .service(routes::households::list_households)
                .service(routes::households::get_household)
                .service(routes::households::update_household)
                .service(routes::children::create_child)
                .service(routes::children::list_children)
                .service(routes::children::get_child)
                .service(routes::children::update_child)
                .service(routes::children::change_child_status)
                .service(routes::children::create_assessment)
                .service(routes::children::list_assessments)
                .service(routes::contacts::create_contact)
                .service(routes::contacts::list_contacts)
                .service(routes::contacts::get_contact)
                .service(routes::consents::create_consent)
                .service(routes::consents::list_consents)
                .service(routes::consents::get_consent)
                .service(routes::consents::withdraw_consent)
                .service(routes::duplicates::list_duplicate_reviews)
                .service(routes::duplicates::resolve_duplicate_review)
                .service(routes::mentors::create_mentor)
                .service(routes::mentors::list_mentors)
                .service(routes::mentors::get_mentor)
                .service(routes::mentors::update_mentor)
                .service(routes::pairings::create_pairing)
                .service(routes::pairings::list_pairings)
                .service(routes::pairings::get_pairing)
                .service(routes::pairings::change_pairing_status)
                .service(routes::pairings::create_pair_contact)
                .service(routes::pairings::list_pair_contacts)
                .service(routes::pairings::get_pairing_compliance)
                .service(routes::compliance::list_compliance_alerts)
                .service(routes::compliance::create_compliance_exemption)
                .service(routes::compliance::list_compliance_exemptions)
                .service(routes::compliance::list_cadence_rules)
                .service(routes::compliance::create_cadence_rule)
                .service(routes::compliance::change_cadence_rule_minimum)
                .service(routes::counselling::create_counselling_enrolment)
                .service(routes::counselling::list_counselling_enrolments)
                .service(routes::counselling::get_counselling_enrolment)
                .service(routes::counselling::update_counselling_enrolment)
                .service(routes::counselling::create_counselling_session)
                .service(routes::counselling::list_counselling_sessions)
                .service(routes::counselling::get_counselling_compliance)
                .service(routes::holidays::list_holidays)
                .service(routes::holidays::create_holiday)
                .service(routes::holidays::update_holiday)
                .service(routes::home_visits::create_home_visit_request)
                .service(routes::home_visits::record_late_home_visit)
                .service(routes::home_visits::list_home_visit_requests)
                .service(routes::home_visits::get_home_visit_request)
                .service(routes::home_visits::consent_home_visit_request)
                .service(routes::home_visits::confirm_home_visit_checklist)
                .service(routes::home_visits::approve_home_visit_request)
                .service(routes::home_visits::reject_home_visit_request)
                .service(routes::home_visits::cancel_home_visit_request)
                .service(routes::home_visits::confirm_home_visit_return)
                .service(routes::organisations::create_organisation)
                .service(routes::organisations::list_organisations)
                .service(routes::organisations::get_organisation)
                .service(routes::organisations::update_organisation)
                .service(routes::organisations::create_service_contract)
                .service(routes::organisations::list_organisation_contracts)
                .service(routes::volunteers::create_volunteer)
                .service(routes::volunteers::list_volunteers)
                .service(routes::volunteers::get_volunteer)
                .service(routes::volunteers::update_volunteer)
                .service(routes::volunteers::create_team)
                .service(routes::volunteers::list_teams)
                .service(routes::volunteers::get_team)
                .service(routes::volunteers::update_team)
                .service(routes::volunteers::get_volunteer_hours)
                .service(routes::events::create_event)
                .service(routes::events::list_events)
                .service(routes::events::get_event)
                .service(routes::events::update_event)
                .service(routes::events::change_event_status)
                .service(routes::events::add_event_volunteer)
                .service(routes::events::update_event_volunteer)
                .service(routes::events::list_event_volunteers)
                .service(routes::events::record_event_attendance)
                .service(routes::events::list_event_attendance)
                .service(routes::reports::get_summary_report)
                .service(routes::reports::get_events_report)
                .service(routes::reports::get_assessments_report)
                .service(routes::reports::get_compliance_report),
        );
}

/// The paths outside `/api/v1`, each answering GET only.
const GET_ONLY: &[&str] = &["/healthz", "/readyz", "/metrics", "/.well-known/jwks.json"];

/// No route matched: 405 for another method on a path that exists, 404 otherwise.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if GET_ONLY.contains(&path) {
        return Err(ApiError::method_not_allowed(path, req.method().as_str(), &["GET"]));
    }
    Err(ApiError::new(StatusCode::NOT_FOUND, Code::NoRoute, "no such endpoint"))
}
