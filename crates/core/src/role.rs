//! The roles a caller can hold: six for people, and `partner` for partner organisations' API
//! clients. What each may reach is decided in one place, the API's access policy.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Coordinator,
    Caseworker,
    Mentor,
    Volunteer,
    Auditor,
    /// A partner organisation's API client; never held by a user account.
    Partner,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Coordinator,
        Role::Caseworker,
        Role::Mentor,
        Role::Volunteer,
        Role::Auditor,
        Role::Partner,
    ];

    /// Whether a user account may hold this role (partner is for API clients only).
    pub fn is_for_users(self) -> bool {
        self != Role::Partner
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Caseworker => "caseworker",
            Role::Mentor => "mentor",
            Role::Volunteer => "volunteer",
            Role::Auditor => "auditor",
            Role::Partner => "partner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| crate::Error::field("role", "unknown_role", format!("unknown role `{s}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
