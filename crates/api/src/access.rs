//! The access policy's vocabulary: who may call an endpoint, what the audit log records, the
//! role groups, and the lookup from a request to its rule. The rules themselves are stated on
//! each endpoint's registration line (`crate::api_v1`), keyed by operation id. The `guard`
//! middleware applies them to every request under `/api/v1` before any handler runs; a route
//! without a rule is refused, and a test fails when an operation of the contract has no rule or
//! a rule names no operation (as does the authorisation matrix test until a new endpoint has a
//! row).
//!
//! Record scope (which children, households, ... a caller reaches) is the second layer: the
//! caller's [`Scope`](tongxing_core::access::Scope) filters every case-record query.

use std::collections::HashMap;
use std::sync::OnceLock;

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

use Role::{Admin, Auditor, Caseworker, Coordinator, Mentor, Volunteer};

pub const ADMIN: &[Role] = &[Admin];
pub const COORDINATORS: &[Role] = &[Admin, Coordinator];
pub const CASE_STAFF: &[Role] = &[Admin, Coordinator, Caseworker];
pub const CHILD_READERS: &[Role] = &[Admin, Coordinator, Caseworker, Mentor];
pub const PAIRING_STAFF: &[Role] = &[Admin, Coordinator, Mentor];
pub const EVENT_READERS: &[Role] = &[Admin, Coordinator, Caseworker, Volunteer];
pub const REPORT_READERS: &[Role] = &[Admin, Coordinator, Caseworker, Auditor];
pub const AUDIT_READERS: &[Role] = &[Admin, Auditor];
pub const HOURS_READERS: &[Role] = &[Admin, Coordinator, Auditor];

pub const fn roles(r: &'static [Role]) -> Who {
    Who::Roles(r, None)
}

/// The endpoints outside `/api/v1`, and so outside the guard: they answer anyone.
pub const OUTSIDE_THE_GUARD: &[&str] =
    &["get_health", "get_readiness", "get_metrics", "get_jwks", "get_oauth_metadata"];

/// Whether `caller` may call `operation` (its rule admits their role and grants): for an answer
/// that shows another operation's data only to whom that operation is open.
pub fn may_call(caller: &crate::auth::Caller, operation: &str) -> bool {
    rule_of(operation).is_some_and(|r| r.admits(caller.role, caller.grants))
}

/// The rule of an operation.
pub fn rule_of(operation: &str) -> Option<&'static Rule> {
    crate::api_v1::POLICY.iter().find(|r| r.operation == operation)
}

/// The operation a request is for, by method and matched route pattern, as the contract names
/// it.
pub fn operation(method: &str, pattern: &str) -> Option<&'static str> {
    routes().get(pattern)?.iter().find(|(m, _)| *m == method).map(|(_, id)| id.as_str())
}

/// The methods a route pattern answers, in the contract's order (GET, POST, PUT, PATCH,
/// DELETE), for a 405's `Allow`.
pub fn methods(pattern: &str) -> Vec<&'static str> {
    routes().get(pattern).map(|ops| ops.iter().map(|(m, _)| *m).collect()).unwrap_or_default()
}

/// The rule for a request, by method and matched route pattern.
pub fn find(method: &str, pattern: &str) -> Option<&'static Rule> {
    operation(method, pattern).and_then(rule_of)
}

/// Route pattern → (method, operation id) of each operation on it, read once from the
/// contract. Looked up by the pattern as matched, with no allocation per request.
fn routes() -> &'static HashMap<String, Vec<(&'static str, String)>> {
    static ROUTES: OnceLock<HashMap<String, Vec<(&'static str, String)>>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut routes: HashMap<String, Vec<(&'static str, String)>> = HashMap::new();
        for (method, path, id) in crate::doc::operations(&crate::doc::contract()) {
            routes.entry(path).or_default().push((method, id));
        }
        routes
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_unique() {
        for (i, a) in crate::api_v1::POLICY.iter().enumerate() {
            for b in &crate::api_v1::POLICY[i + 1..] {
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
            crate::api_v1::POLICY.iter().map(|r| r.operation).filter(|id| !guarded.contains(id)).collect();
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
