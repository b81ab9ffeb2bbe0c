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
    pub method: &'static str,
    pub path: &'static str,
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

const fn rule(method: &'static str, path: &'static str, who: Who, audit: Audit) -> Rule {
    Rule { method, path, who, audit }
}

const fn roles(r: &'static [Role]) -> Who {
    Who::Roles(r, None)
}

/// Every endpoint under `/api/v1`, by method and route pattern.
pub const POLICY: &[Rule] = &[
    rule("POST", "/api/v1/auth/token", Who::Anyone, No),
    rule("POST", "/api/v1/auth/client-token", Who::Anyone, No),
    rule("GET", "/api/v1/users", roles(ADMIN), No),
    rule("POST", "/api/v1/users", roles(ADMIN), Create),
    rule("GET", "/api/v1/users/{id}", roles(ADMIN), No),
    rule("PUT", "/api/v1/users/{id}", roles(ADMIN), Update),
    rule("POST", "/api/v1/users/{id}/password", roles(ADMIN), Update),
    rule("GET", "/api/v1/me", Who::AnyUser, No),
    rule("POST", "/api/v1/me/password", Who::AnyUser, Update),
    rule("GET", "/api/v1/api-clients", roles(ADMIN), No),
    rule("POST", "/api/v1/api-clients", roles(ADMIN), Create),
    rule("POST", "/api/v1/api-clients/{id}/secret", roles(ADMIN), Update),
    rule("POST", "/api/v1/api-clients/{id}/revoke", roles(ADMIN), Update),
    rule("POST", "/api/v1/signing-keys", roles(ADMIN), Create),
    rule("GET", "/api/v1/audit-events", roles(AUDIT_READERS), No),
    rule("GET", "/api/v1/children/{id}/access-history", roles(AUDIT_READERS), No),
    rule("GET", "/api/v1/regions", Who::AnyUser, No),
    rule("POST", "/api/v1/regions", roles(COORDINATORS), Create),
    rule("GET", "/api/v1/regions/{id}", Who::AnyUser, No),
    rule("GET", "/api/v1/households", roles(CASE_STAFF), List),
    rule("POST", "/api/v1/households", roles(CASE_STAFF), Create),
    rule("GET", "/api/v1/households/{id}", roles(CASE_STAFF), Read),
    rule("PUT", "/api/v1/households/{id}", roles(CASE_STAFF), Update),
    rule("GET", "/api/v1/children", Who::Roles(CHILD_READERS, Some(ClientScope::CasesRead)), List),
    rule("POST", "/api/v1/children", roles(CASE_STAFF), Create),
    rule("GET", "/api/v1/children/{id}", Who::Roles(CHILD_READERS, Some(ClientScope::CasesRead)), Read),
    rule("PUT", "/api/v1/children/{id}", roles(CASE_STAFF), Update),
    rule("POST", "/api/v1/children/{id}/status", roles(CASE_STAFF), Update),
    rule("GET", "/api/v1/children/{id}/assessments", roles(CASE_STAFF), Read),
    rule("POST", "/api/v1/children/{id}/assessments", roles(CASE_STAFF), Create),
    rule("GET", "/api/v1/contacts", Who::Roles(CASE_STAFF, Some(ClientScope::ContactsRead)), List),
    rule("POST", "/api/v1/contacts", roles(CASE_STAFF), Create),
    rule("GET", "/api/v1/contacts/{id}", Who::Roles(CASE_STAFF, Some(ClientScope::ContactsRead)), Read),
    rule("GET", "/api/v1/consents", roles(CASE_STAFF), List),
    rule("POST", "/api/v1/consents", roles(CASE_STAFF), Create),
    rule("GET", "/api/v1/consents/{id}", roles(CASE_STAFF), Read),
    rule("POST", "/api/v1/consents/{id}/withdraw", roles(CASE_STAFF), Update),
    rule("GET", "/api/v1/duplicate-reviews", roles(COORDINATORS), List),
    rule("POST", "/api/v1/duplicate-reviews/{id}/resolve", roles(COORDINATORS), Update),
    rule("GET", "/api/v1/mentors", roles(CASE_STAFF), No),
    rule("POST", "/api/v1/mentors", roles(COORDINATORS), Create),
    rule("GET", "/api/v1/mentors/{id}", roles(CASE_STAFF), No),
    rule("PUT", "/api/v1/mentors/{id}", roles(COORDINATORS), Update),
    rule("GET", "/api/v1/pairings", roles(CHILD_READERS), List),
    rule("POST", "/api/v1/pairings", roles(COORDINATORS), Create),
    rule("GET", "/api/v1/pairings/{id}", roles(CHILD_READERS), Read),
    rule("POST", "/api/v1/pairings/{id}/status", roles(COORDINATORS), Update),
    rule("GET", "/api/v1/pairings/{id}/contacts", roles(CHILD_READERS), Read),
    rule("POST", "/api/v1/pairings/{id}/contacts", roles(PAIRING_STAFF), Create),
    rule("GET", "/api/v1/pairings/{id}/compliance", roles(CHILD_READERS), Read),
    rule("GET", "/api/v1/compliance/alerts", roles(COORDINATORS), List),
    rule("GET", "/api/v1/compliance/exemptions", roles(COORDINATORS), List),
    rule("POST", "/api/v1/compliance/exemptions", roles(COORDINATORS), Create),
    rule("GET", "/api/v1/cadence-rules", Who::AnyUser, No),
    rule("POST", "/api/v1/cadence-rules", roles(COORDINATORS), Create),
    rule("POST", "/api/v1/cadence-rules/{id}/minimums", roles(COORDINATORS), Update),
    rule("GET", "/api/v1/counselling-enrolments", roles(CASE_STAFF), List),
    rule("POST", "/api/v1/counselling-enrolments", roles(CASE_STAFF), Create),
    rule("GET", "/api/v1/counselling-enrolments/{id}", roles(CASE_STAFF), Read),
    rule("PUT", "/api/v1/counselling-enrolments/{id}", roles(CASE_STAFF), Update),
    rule("GET", "/api/v1/counselling-enrolments/{id}/sessions", roles(CASE_STAFF), Read),
    rule("POST", "/api/v1/counselling-enrolments/{id}/sessions", roles(CASE_STAFF), Create),
    rule("GET", "/api/v1/counselling-enrolments/{id}/compliance", roles(CASE_STAFF), Read),
    rule("GET", "/api/v1/holidays", Who::AnyUser, No),
    rule("POST", "/api/v1/holidays", roles(ADMIN), Create),
    rule("PUT", "/api/v1/holidays/{id}", roles(ADMIN), Update),
    rule("GET", "/api/v1/home-visit-requests", roles(CHILD_READERS), List),
    rule("POST", "/api/v1/home-visit-requests", roles(PAIRING_STAFF), Create),
    rule("POST", "/api/v1/home-visit-requests/recorded-late", roles(COORDINATORS), Create),
    rule("GET", "/api/v1/home-visit-requests/{id}", roles(CHILD_READERS), Read),
    rule("POST", "/api/v1/home-visit-requests/{id}/consent", roles(CASE_STAFF), Update),
    rule("POST", "/api/v1/home-visit-requests/{id}/checklist", roles(CHILD_READERS), Update),
    rule("POST", "/api/v1/home-visit-requests/{id}/approve", roles(COORDINATORS), Update),
    rule("POST", "/api/v1/home-visit-requests/{id}/reject", roles(COORDINATORS), Update),
    rule("POST", "/api/v1/home-visit-requests/{id}/cancel", roles(PAIRING_STAFF), Update),
    rule("POST", "/api/v1/home-visit-requests/{id}/return", roles(PAIRING_STAFF), Update),
    rule("GET", "/api/v1/organisations", roles(CASE_STAFF), No),
    rule("POST", "/api/v1/organisations", roles(COORDINATORS), Create),
    rule("GET", "/api/v1/organisations/{id}", roles(CASE_STAFF), No),
    rule("PUT", "/api/v1/organisations/{id}", roles(COORDINATORS), Update),
    rule("GET", "/api/v1/organisations/{id}/contracts", roles(CASE_STAFF), No),
    rule("POST", "/api/v1/service-contracts", roles(COORDINATORS), Create),
    rule("GET", "/api/v1/volunteers", roles(CASE_STAFF), No),
    rule("POST", "/api/v1/volunteers", roles(COORDINATORS), Create),
    rule("GET", "/api/v1/volunteers/{id}", roles(CASE_STAFF), No),
    rule("PUT", "/api/v1/volunteers/{id}", roles(COORDINATORS), Update),
    rule("GET", "/api/v1/volunteer-hours", roles(HOURS_READERS), No),
    rule("GET", "/api/v1/teams", roles(CASE_STAFF), No),
    rule("POST", "/api/v1/teams", roles(COORDINATORS), Create),
    rule("GET", "/api/v1/teams/{id}", roles(CASE_STAFF), No),
    rule("PUT", "/api/v1/teams/{id}", roles(COORDINATORS), Update),
    rule("GET", "/api/v1/events", roles(EVENT_READERS), No),
    rule("POST", "/api/v1/events", roles(CASE_STAFF), Create),
    rule("GET", "/api/v1/events/{id}", roles(EVENT_READERS), No),
    rule("PUT", "/api/v1/events/{id}", roles(CASE_STAFF), Update),
    rule("POST", "/api/v1/events/{id}/status", roles(CASE_STAFF), Update),
    rule("GET", "/api/v1/events/{id}/roster", roles(CASE_STAFF), No),
    rule("POST", "/api/v1/events/{id}/roster", roles(CASE_STAFF), Create),
    rule("PUT", "/api/v1/events/{id}/roster", roles(CASE_STAFF), Update),
    rule("GET", "/api/v1/events/{id}/attendance", roles(EVENT_READERS), List),
    rule("POST", "/api/v1/events/{id}/attendance", roles(EVENT_READERS), Update),
    rule("GET", "/api/v1/reports/summary", roles(REPORT_READERS), Export),
    rule("GET", "/api/v1/reports/events", roles(REPORT_READERS), Export),
    rule("GET", "/api/v1/reports/assessments", roles(REPORT_READERS), Export),
    rule("GET", "/api/v1/reports/compliance", roles(REPORT_READERS), Export),
];

/// The rule for a request, by method and matched route pattern.
pub fn find(method: &str, pattern: &str) -> Option<&'static Rule> {
    POLICY.iter().find(|r| r.method == method && r.path == pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_unique() {
        for (i, a) in POLICY.iter().enumerate() {
            for b in &POLICY[i + 1..] {
                assert!(!(a.method == b.method && a.path == b.path), "{} {} twice", a.method, a.path);
            }
        }
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
