//! Record scope: which case records a caller may reach, and whether they may see the sensitive
//! fields in them. Resolved once per request from the access token; the domain crates turn it
//! into a filter, so a record outside it is simply not found.

use uuid::Uuid;

use crate::role::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every record (admins, and coordinators with no region).
    All,
    /// Records in this region's subtree (coordinators).
    Region(Uuid),
    /// Cases of the organisation and cases assigned to the user (caseworkers).
    Caseload { organisation_id: Option<Uuid>, user_id: Uuid },
    /// The child of the user's own active pairing (mentors).
    Mentor { user_id: Uuid },
    /// Cases shared with the organisation under a guardian's consent that is not withdrawn
    /// (partner clients).
    Shared { organisation_id: Uuid },
    /// No case records at all (volunteers, auditors).
    Nothing,
}

impl Scope {
    /// The scope a role holds, given the account's organisation and region.
    pub fn of(role: Role, user_id: Uuid, organisation_id: Option<Uuid>, region_id: Option<Uuid>) -> Scope {
        match role {
            Role::Admin => Scope::All,
            Role::Coordinator => region_id.map_or(Scope::All, Scope::Region),
            Role::Caseworker => Scope::Caseload { organisation_id, user_id },
            Role::Mentor => Scope::Mentor { user_id },
            Role::Partner => organisation_id.map_or(Scope::Nothing, |o| Scope::Shared { organisation_id: o }),
            Role::Volunteer | Role::Auditor => Scope::Nothing,
        }
    }

    /// Whether the caller sees national ID numbers in full, addresses, phone numbers, health,
    /// disability and assessment notes. Only the staff who hold the case file do.
    pub fn sees_sensitive(&self) -> bool {
        matches!(self, Scope::All | Scope::Region(_) | Scope::Caseload { .. })
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
        assert_eq!(Scope::of(Role::Partner, u, None, None), Scope::Nothing);
    }
}
