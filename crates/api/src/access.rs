//! The access policy: one rule per endpoint, naming who may call it and what the audit log
//! records. The `guard` middleware applies it to every request under `/api/v1` before any
//! handler runs; a route without a rule is refused, so a new endpoint cannot skip it (and the
//! authorisation matrix test fails until it has one).
//!
//! Record scope (which children, households, ... a caller reaches) is the second layer: the
//! caller's [`Scope`](tongxing_core::access::Scope) filters every case-record query.

use tongxing_core::role::Role;

use crate::auth::clients::ClientScope;
use crate::auth::extractor::Grants;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// No token needed (the token endpoint itself).
    Anyone,
    /// Any authenticated user (not API clients).
    AnyUser,
    /// Users holding one of these roles, and API clients granted the scope, if any.
    Roles(&'static [Role], Option<ClientScope>),
}

/// What the audit log records about a successful call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// Nothing (reference data, programme records without personal data).
    No,
    /// A read of a record about a child.
    Read,
    /// A list of records about children: one entry per child returned.
    List,
    /// A create.
    Create,
    /// A change.
    Update,
    /// A report or export.
    Export,
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The operation's id in the contract.
    pub operation: &'static str,
    pub who: Who,
    pub audit: Audit,
}

impl Rule {
    /// Whether a caller holding `role` (and, for an API client, `grants`) passes this rule.
    pub fn admits(&self, role: Role, grants: Grants) -> bool {
        match self.who {
            Who::Anyone => true,
            Who::AnyUser => role != Role::Partner,
            Who::Roles(roles, scope) => {
                if role == Role::Partner {
                    scope.is_some_and(|s| grants.contains(s))
                } else {
                    roles.contains(&role)
                }
            }
        }
    }
}

use Audit::{Create, Export, List, No, Read, Update};
use Role::{Admin, Auditor, Caseworker, Coordinator, Mentor, Volunteer};

const ADMIN: &[Role] = &[Admin];
const COORDINATORS: &[Role] = &[Admin, Coordinator];
const CASE_STAFF: &[Role] = &[Admin, Coordinator, Caseworker];
const CHILD_READERS: &[Role] = &[Admin, Coordinator, Caseworker, Mentor];
const PAIRING_STAFF: &[Role] = &[Admin, Coordinator, Mentor];
const EVENT_READERS: &[Role] = &[Admin, Coordinator, Caseworker, Volunteer];
const REPORT_READERS: &[Role] = &[Admin, Coordinator, Caseworker, Auditor];
const AUDIT_READERS: &[Role] = &[Admin, Auditor];
const HOURS_READERS: &[Role] = &[Admin, Coordinator, Auditor];

const fn rule(operation: &'static str, who: Who, audit: Audit) -> Rule {
    Rule { operation, who, audit }
}

const fn roles(r: &'static [Role]) -> Who {
    Who::Roles(r, None)
}

/// Every endpoint under `/api/v1`, by the operation id its handler declares in the contract.
pub const POLICY: &[Rule] = &[
    rule("create_token", Who::Anyone, No),
    rule("create_client_token", Who::Anyone, No),
    rule("list_users", roles(ADMIN), No),
    rule("create_user", roles(ADMIN), Create),
    rule("get_user", roles(ADMIN), No),
    rule("update_user", roles(ADMIN), Update),
    rule("reset_user_password", roles(ADMIN), Update),
    rule("get_current_user", Who::AnyUser, No),
    rule("change_current_user_password", Who::AnyUser, Update),
    rule("list_api_clients", roles(ADMIN), No),
    rule("create_api_client", roles(ADMIN), Create),
    rule("rotate_api_client_secret", roles(ADMIN), Update),
    rule("revoke_api_client", roles(ADMIN), Update),
    rule("rotate_signing_key", roles(ADMIN), Create),
    rule("list_audit_events", roles(AUDIT_READERS), No),
    rule("get_child_access_history", roles(AUDIT_READERS), No),
    rule("list_regions", Who::AnyUser, No),
    rule("create_region", roles(COORDINATORS), Create),
    rule("get_region", Who::AnyUser, No),
    rule("list_households", roles(CASE_STAFF), List),
    rule("create_household", roles(CASE_STAFF), Create),
    rule("get_household", roles(CASE_STAFF), Read),
    rule("update_household", roles(CASE_STAFF), Update),
    rule("list_children", Who::Roles(CHILD_READERS, Some(ClientScope::CasesRead)), List),
    rule("create_child", roles(CASE_STAFF), Create),
    rule("get_child", Who::Roles(CHILD_READERS, Some(ClientScope::CasesRead)), Read),
    rule("update_child", roles(CASE_STAFF), Update),
    rule("change_child_status", roles(CASE_STAFF), Update),
    rule("list_assessments", roles(CASE_STAFF), Read),
    rule("create_assessment", roles(CASE_STAFF), Create),
    rule("list_contacts", Who::Roles(CASE_STAFF, Some(ClientScope::ContactsRead)), List),
    rule("create_contact", roles(CASE_STAFF), Create),
    rule("get_contact", Who::Roles(CASE_STAFF, Some(ClientScope::ContactsRead)), Read),
    rule("list_consents", roles(CASE_STAFF), List),
    rule("create_consent", roles(CASE_STAFF), Create),
    rule("get_consent", roles(CASE_STAFF), Read),
    rule("withdraw_consent", roles(CASE_STAFF), Update),
    rule("list_duplicate_reviews", roles(COORDINATORS), List),
    rule("resolve_duplicate_review", roles(COORDINATORS), Update),
    rule("list_mentors", roles(CASE_STAFF), No),
    rule("create_mentor", roles(COORDINATORS), Create),
    rule("get_mentor", roles(CASE_STAFF), No),
    rule("update_mentor", roles(COORDINATORS), Update),
    rule("list_pairings", roles(CHILD_READERS), List),
    rule("create_pairing", roles(COORDINATORS), Create),
    rule("get_pairing", roles(CHILD_READERS), Read),
    rule("change_pairing_status", roles(COORDINATORS), Update),
    rule("list_pair_contacts", roles(CHILD_READERS), Read),
    rule("create_pair_contact", roles(PAIRING_STAFF), Create),
    rule("get_pairing_compliance", roles(CHILD_READERS), Read),
    rule("list_compliance_alerts", roles(COORDINATORS), List),
    rule("list_compliance_exemptions", roles(COORDINATORS), List),
    rule("create_compliance_exemption", roles(COORDINATORS), Create),
    rule("list_cadence_rules", Who::AnyUser, No),
    rule("create_cadence_rule", roles(COORDINATORS), Create),
    rule("change_cadence_rule_minimum", roles(COORDINATORS), Update),
    rule("list_counselling_enrolments", roles(CASE_STAFF), List),
    rule("create_counselling_enrolment", roles(CASE_STAFF), Create),
    rule("get_counselling_enrolment", roles(CASE_STAFF), Read),
    rule("update_counselling_enrolment", roles(CASE_STAFF), Update),
    rule("list_counselling_sessions", roles(CASE_STAFF), Read),
    rule("create_counselling_session", roles(CASE_STAFF), Create),
    rule("get_counselling_compliance", roles(CASE_STAFF), Read),
    rule("list_holidays", Who::AnyUser, No),
    rule("create_holiday", roles(ADMIN), Create),
    rule("update_holiday", roles(ADMIN), Update),
    rule("list_home_visit_requests", roles(CHILD_READERS), List),
    rule("create_home_visit_request", roles(PAIRING_STAFF), Create),
    rule("record_late_home_visit", roles(COORDINATORS), Create),
    rule("get_home_visit_request", roles(CHILD_READERS), Read),
    rule("consent_home_visit_request", roles(CASE_STAFF), Update),
    rule("confirm_home_visit_checklist", roles(CHILD_READERS), Update),
    rule("approve_home_visit_request", roles(COORDINATORS), Update),
    rule("reject_home_visit_request", roles(COORDINATORS), Update),
    rule("cancel_home_visit_request", roles(PAIRING_STAFF), Update),
    rule("confirm_home_visit_return", roles(PAIRING_STAFF), Update),
    rule("list_organisations", roles(CASE_STAFF), No),
    rule("create_organisation", roles(COORDINATORS), Create),
    rule("get_organisation", roles(CASE_STAFF), No),
    rule("update_organisation", roles(COORDINATORS), Update),
    rule("list_organisation_contracts", roles(CASE_STAFF), No),
    rule("create_service_contract", roles(COORDINATORS), Create),
    rule("list_volunteers", roles(CASE_STAFF), No),
    rule("create_volunteer", roles(COORDINATORS), Create),
    rule("get_volunteer", roles(CASE_STAFF), No),
    rule("update_volunteer", roles(COORDINATORS), Update),
    rule("get_volunteer_hours", roles(HOURS_READERS), No),
    rule("list_teams", roles(CASE_STAFF), No),
    rule("create_team", roles(COORDINATORS), Create),
    rule("get_team", roles(CASE_STAFF), No),
    rule("update_team", roles(COORDINATORS), Update),
    rule("list_events", roles(EVENT_READERS), No),
    rule("create_event", roles(CASE_STAFF), Create),
    rule("get_event", roles(EVENT_READERS), No),
    rule("update_event", roles(CASE_STAFF), Update),
    rule("change_event_status", roles(CASE_STAFF), Update),
    rule("list_event_volunteers", roles(CASE_STAFF), No),
    rule("add_event_volunteer", roles(CASE_STAFF), Create),
    rule("update_event_volunteer", roles(CASE_STAFF), Update),
    rule("list_event_attendance", roles(EVENT_READERS), List),
    rule("record_event_attendance", roles(EVENT_READERS), Update),
    rule("get_summary_report", roles(REPORT_READERS), Export),
    rule("get_events_report", roles(REPORT_READERS), Export),
    rule("get_assessments_report", roles(REPORT_READERS), Export),
    rule("get_compliance_report", roles(REPORT_READERS), Export),
];

/// The endpoints outside `/api/v1`, and so outside the guard: they answer anyone.
pub const OUTSIDE_THE_GUARD: &[&str] = &["get_health", "get_readiness", "get_metrics", "get_jwks"];

/// The rule of an operation.
pub fn rule_of(operation: &str) -> Option<&'static Rule> {
    POLICY.iter().find(|r| r.operation == operation)
}

/// The operation a request is for, by method and matched route pattern, as the contract names
/// it; and the methods the pattern answers.
pub fn operation(method: &str, pattern: &str) -> Option<&'static str> {
    operations().get(&(method.to_owned(), pattern.to_owned())).map(String::as_str)
}

/// The methods a route pattern answers, for a 405.
pub fn methods(pattern: &str) -> Vec<&'static str> {
    operations().keys().filter(|(_, p)| p == pattern).map(|(m, _)| method_name(m)).collect()
}

/// The rule for a request, by method and matched route pattern.
pub fn find(method: &str, pattern: &str) -> Option<&'static Rule> {
    operation(method, pattern).and_then(rule_of)
}

fn method_name(m: &str) -> &'static str {
    ["GET", "POST", "PUT", "DELETE", "PATCH"].into_iter().find(|x| *x == m).unwrap_or("OTHER")
}

/// (method, route pattern) → operation id, read once from the contract.
fn operations() -> &'static std::collections::HashMap<(String, String), String> {
    static OPERATIONS: std::sync::OnceLock<std::collections::HashMap<(String, String), String>> =
        std::sync::OnceLock::new();
    OPERATIONS.get_or_init(|| {
        crate::doc::operations(&crate::doc::contract())
            .into_iter()
            .map(|(method, path, id)| ((method.to_owned(), path), id))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_unique() {
        for (i, a) in POLICY.iter().enumerate() {
            for b in &POLICY[i + 1..] {
                assert!(a.operation != b.operation, "{} twice", a.operation);
            }
        }
    }

    /// The policy and the contract agree: every operation behind the guard has a rule, every
    /// rule names an operation behind the guard, and only the operations endpoints are outside.
    #[test]
    fn every_operation_has_a_rule_and_every_rule_an_operation() {
        let ops = crate::doc::operations(&crate::doc::contract());
        let guarded: Vec<&str> = ops
            .iter()
            .filter(|(_, path, _)| path.starts_with("/api/v1/"))
            .map(|(_, _, id)| id.as_str())
            .collect();
        let outside: Vec<&str> = ops
            .iter()
            .filter(|(_, path, _)| !path.starts_with("/api/v1/"))
            .map(|(_, _, id)| id.as_str())
            .collect();
        let without: Vec<&&str> = guarded.iter().filter(|id| rule_of(id).is_none()).collect();
        assert!(without.is_empty(), "operations without an access rule: {without:?}");
        let dangling: Vec<&str> =
            POLICY.iter().map(|r| r.operation).filter(|id| !guarded.contains(id)).collect();
        assert!(dangling.is_empty(), "access rules naming no operation behind the guard: {dangling:?}");
        let mut outside = outside;
        outside.sort_unstable();
        let mut expected = OUTSIDE_THE_GUARD.to_vec();
        expected.sort_unstable();
        assert_eq!(outside, expected, "operations outside the guard");
    }

    #[test]
    fn partners_pass_only_with_the_granted_scope() {
        let get_child = find("GET", "/api/v1/children/{id}").unwrap();
        let (cases, contacts) = (Grants::parse(Some("cases:read")), Grants::parse(Some("contacts:read")));
        assert!(get_child.admits(Role::Partner, cases));
        assert!(!get_child.admits(Role::Partner, contacts));
        assert!(!get_child.admits(Role::Auditor, Grants::default()));
        assert!(!find("GET", "/api/v1/regions").unwrap().admits(Role::Partner, cases));
    }
}
