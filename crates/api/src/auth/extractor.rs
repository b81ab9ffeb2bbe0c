//! The authenticated caller. Every protected handler takes a `Caller`, so a request without a
//! valid bearer token never reaches it.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use tongxing_core::role::Role;
use tongxing_core::{Error, Result};
use uuid::Uuid;

use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub user_id: Uuid,
    pub role: Role,
}

/// Who may read and write case records until fine-grained scopes land.
pub const CASE_STAFF: &[Role] = &[Role::Admin, Role::Coordinator, Role::Caseworker];

impl Caller {
    /// Refuses the request unless the caller holds one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Error::forbidden(format!("the {} role may not do this", self.role)))
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(authenticate(req).map_err(ApiError::from))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller> {
    let state =
        req.app_data::<web::Data<AppState>>().ok_or_else(|| Error::internal("application state missing"))?;
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        Error::unauthenticated("missing_token", "send an access token: Authorization: Bearer <token>")
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::unauthenticated("invalid_token", "the Authorization header must be `Bearer <token>`")
        })?;
    let claims = state.keys.verify(token)?;
    let user_id = Uuid::parse_str(&claims.sub)
        .map_err(|_| Error::unauthenticated("invalid_token", "the access token is invalid"))?;
    Ok(Caller { user_id, role: claims.role })
}

/// Who coordinates the programmes: pairings, rules, exemptions.
pub const COORDINATORS: &[Role] = &[Role::Admin, Role::Coordinator];
