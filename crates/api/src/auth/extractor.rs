//! The authenticated caller. The `guard` middleware authenticates every request under
//! `/api/v1`, applies the access policy and leaves the `Caller` in the request; handlers take it
//! from there.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::role::Role;
use tongxing_core::{Error, Result};
use uuid::Uuid;

use super::clients::ClientScope;
use crate::problem::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    Client,
}

/// The scopes granted to an API client (none for users).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants(u8);

impl Grants {
    pub fn parse(text: Option<&str>) -> Grants {
        let mut bits = 0u8;
        for word in text.unwrap_or("").split(' ') {
            if let Some(i) = ClientScope::ALL.iter().position(|s| s.as_str() == word) {
                bits |= 1 << i;
            }
        }
        Grants(bits)
    }

    pub fn contains(self, scope: ClientScope) -> bool {
        ClientScope::ALL.iter().position(|s| *s == scope).is_some_and(|i| self.0 & (1 << i) != 0)
    }
}

#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's id, or the API client's.
    pub user_id: Uuid,
    pub kind: ActorKind,
    pub role: Role,
    pub organisation_id: Option<Uuid>,
    /// Which case records the caller reaches.
    pub scope: Scope,
    pub grants: Grants,
    /// What this request's audit entries record besides the handler's note (set by the guard).
    pub trail: Option<std::sync::Arc<crate::guard::Trail>>,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(req.extensions().get::<Caller>().cloned().ok_or_else(|| {
            Error::unauthenticated(Code::MissingToken, "send an access token: Authorization: Bearer <token>")
                .into()
        }))
    }
}

impl Caller {
    /// Inserts this request's audit entries for a write answered with `status`, inside the
    /// write's transaction (`conn` is in it). Once that transaction has committed, say so with
    /// [`Caller::audited`].
    pub fn audit_in(
        &self,
        conn: &mut tongxing_store::DbConnection,
        note: crate::audit::AuditNote,
        status: actix_web::http::StatusCode,
    ) -> Result<()> {
        match &self.trail {
            Some(trail) => crate::audit::insert(conn, trail.entries(self, note, status.as_u16())),
            None => Ok(()),
        }
    }

    /// The audit entries of this request for `note`, as [`Caller::audit_in`] writes them: for
    /// work the request started that writes in a transaction of its own (an import's commit).
    pub fn audit_entries(&self, note: crate::audit::AuditNote, status: u16) -> Vec<crate::audit::Entry> {
        match &self.trail {
            Some(trail) => trail.entries(self, note, status),
            None => Vec::new(),
        }
    }

    /// The write's transaction, with its entries, has committed: the guard appends none.
    pub fn audited(&self) {
        if let Some(trail) = &self.trail {
            trail.written();
        }
    }
}
