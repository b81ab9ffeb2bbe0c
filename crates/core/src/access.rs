//! Record scope: which records a caller may reach, and whether they may see the sensitive fields
//! in them. Resolved once per request from the access token and passed into every domain read,
//! list and write; each domain crate turns it into the conditions for its own tables, so a record
//! outside it is simply not found.
//!
//! A [`Scope`] is built in two ways only: [`Scope::of`] from an authenticated caller (the API's
//! guard does this, once per request), and [`Scope::system`] for the service's own work (start-up
//! jobs, the demo dataset, benchmarks). Handlers never build one; a test keeps it so.

use uuid::Uuid;

use crate::role::Role;

/// Who is acting, and which records that reaches. Cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    role: Option<Role>,
    user_id: Option<Uuid>,
    reach: Reach,
}

/// Which records a scope reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every record (admins, coordinators with no region, and the service itself).
    All,
    /// Records in this region's subtree (coordinators).
    Region(Uuid),
    /// Cases held by the organisation and cases assigned to the user; read-only, the cases whose
    /// counselling team the user is on (caseworkers).
    Caseload { organisation_id: Option<Uuid>, user_id: Uuid },
    /// The child of the user's own active pairing, their pairings and home visits (mentors).
    Mentor { user_id: Uuid },
    /// The events the user is rostered on, and who attends them (volunteers).
    Volunteer { user_id: Uuid },
    /// Cases shared with the organisation under a guardian's consent that is not withdrawn
    /// (partner clients).
    Shared { organisation_id: Uuid },
    /// No case records at all (auditors).
    Nothing,
}

impl Scope {
    /// The scope of an authenticated caller holding `role`, given the account's organisation
    /// and region (for an API client, `user_id` is the client's id and `role` is `partner`).
    pub fn of(role: Role, user_id: Uuid, organisation_id: Option<Uuid>, region_id: Option<Uuid>) -> Scope {
        let reach = match role {
            Role::Admin => Reach::All,
            Role::Coordinator => region_id.map_or(Reach::All, Reach::Region),
            Role::Caseworker => Reach::Caseload { organisation_id, user_id },
            Role::Mentor => Reach::Mentor { user_id },
            Role::Volunteer => Reach::Volunteer { user_id },
            Role::Partner => organisation_id.map_or(Reach::Nothing, |o| Reach::Shared { organisation_id: o }),
            Role::Auditor => Reach::Nothing,
        };
        Scope { role: Some(role), user_id: Some(user_id), reach }
    }

    /// The service's own scope: every record, no caller. For start-up jobs, the demo dataset,
    /// imports run from the command line and benchmarks; never for a request.
    pub fn system() -> Scope {
        Scope { role: None, user_id: None, reach: Reach::All }
    }

    /// The service's own scope, recording `user` as the actor of what it writes (the demo
    /// dataset records its administrator).
    pub fn system_as(user: Uuid) -> Scope {
        Scope { role: None, user_id: Some(user), reach: Reach::All }
    }

    /// Who a write is recorded as: the caller, or for the service's own work its named actor
    /// (the nil id when none is named).
    pub fn actor(&self) -> Uuid {
        self.user_id.unwrap_or(Uuid::nil())
    }

    pub fn reach(&self) -> Reach {
        self.reach
    }

    /// The caller's role; `None` for the service itself.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// The acting user (or API client); `None` for the service itself.
    pub fn user_id(&self) -> Option<Uuid> {
        self.user_id
    }

    /// Whether the caller holds one of `roles` (the service itself holds every role).
    pub fn is(&self, roles: &[Role]) -> bool {
        self.role.is_none_or(|r| roles.contains(&r))
    }

    /// Admins, coordinators (within their region) and the service: the people who run the
    /// programmes, assign cases and approve.
    pub fn coordinates(&self) -> bool {
        self.is(&[Role::Admin, Role::Coordinator])
    }

    /// The coordinator's region, when the scope is limited to one.
    pub fn region(&self) -> Option<Uuid> {
        match self.reach {
            Reach::Region(r) => Some(r),
            _ => None,
        }
    }

    /// Whether the caller sees national ID numbers in full, addresses, phone numbers, health,
    /// disability and assessment notes. Only the staff who hold the case file do.
    pub fn sees_sensitive(&self) -> bool {
        matches!(self.reach, Reach::All | Reach::Region(_) | Reach::Caseload { .. })
    }
}

/// Keeps the first four and last four characters and stars the rest (`4212**********1234`);
/// anything of eight characters or fewer becomes all stars.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars.iter().enumerate().map(|(i, c)| if i < 4 || i >= n - 4 { *c } else { '*' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask("421202201506010018"), "4212**********0018");
        assert_eq!(mask("13800001111"), "1380***1111");
        assert_eq!(mask("12345678"), "********");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn only_case_staff_see_sensitive_fields() {
        let u = Uuid::nil();
        let sees = |r| Scope::of(r, u, None, None).sees_sensitive();
        assert!(sees(Role::Admin) && sees(Role::Coordinator) && sees(Role::Caseworker));
        assert!(
            !sees(Role::Mentor) && !sees(Role::Volunteer) && !sees(Role::Auditor) && !sees(Role::Partner)
        );
        assert_eq!(Scope::of(Role::Partner, u, None, None).reach(), Reach::Nothing);
        assert!(Scope::system().reach() == Reach::All && Scope::system().role().is_none());
        assert!(Scope::of(Role::Admin, u, None, None).role().is_some());
    }
}
