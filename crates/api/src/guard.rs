//! The guard in front of every `/api/v1` endpoint: finds the endpoint's access rule,
//! authenticates the caller, applies the rule and the rate limits, and after the handler has
//! answered, appends the audit entry the rule asks for.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::{Error, Result, time};
use uuid::Uuid;

use crate::access::{self, Audit, Rule};
use crate::audit::{ActorType, AuditAction, AuditNote, Entry};
use crate::auth::extractor::{ActorKind, Caller, Grants};
use crate::auth::tokens::Refused;
use crate::middleware::{RequestId, RoutePattern};
use crate::problem::ApiError;
use crate::state::AppState;

pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::from(Error::internal("application state missing")))?;
    let Some(pattern) = req.match_pattern() else {
        // No such route: the default service answers 404.
        return Ok(next.call(req).await?.map_into_left_body());
    };
    req.extensions_mut().insert(RoutePattern(pattern.clone()));
    let method = req.method().as_str().to_owned();
    let (rule, caller) = match admit(&req, &state, &pattern, &method).await {
        Ok(admitted) => admitted,
        // A refusal is an answer like any other: it goes back out through the request id,
        // the security and CORS headers, the log line and the metrics.
        Err(refusal) => return Ok(req.error_response(refusal).map_into_right_body()),
    };
    if let Some(caller) = caller {
        req.extensions_mut().insert(caller);
    }
    let address = req.peer_addr().map(|a| a.ip().to_string());
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let res = next.call(req).await?;
    if let Some(caller) = caller
        && rule.audit != Audit::No
        && res.status().is_success()
    {
        let note = res.response().extensions().get::<AuditNote>().cloned().unwrap_or_default();
        // Path parameters are known once the route has matched, inside the scope.
        let path_id = res.request().match_info().get("id").map(str::to_owned);
        record(&state, rule, &pattern, caller, path_id, note, res.status().as_u16(), address, request_id)
            .await;
    }
    Ok(res.map_into_left_body())
}

/// The route's rule and the caller it admits, or the refusal: 405 for a method the path does
/// not answer, 403 for a route without a rule, 401 without valid credentials, 403 for a role
/// the rule does not admit, 429 for a partner client over its rate.
async fn admit(
    req: &ServiceRequest,
    state: &AppState,
    pattern: &str,
    method: &str,
) -> Result<(&'static Rule, Option<Caller>), ApiError> {
    let Some(rule) = access::find(method, pattern) else {
        let allowed = access::methods(pattern);
        if !allowed.is_empty() {
            return Err(ApiError::method_not_allowed(pattern, method, &allowed));
        }
        // Deny by default: a route nobody has written a rule for is refused.
        tracing::error!(method = %method, route = %pattern, "route without an access rule");
        return Err(Error::forbidden("this endpoint has no access rule").into());
    };
    if rule.who == access::Who::Anyone {
        return Ok((rule, None));
    }
    let caller = authenticate(req, state).await?;
    if !rule.admits(caller.role, caller.grants) {
        return Err(Error::forbidden(format!("the {} role may not do this", caller.role)).into());
    }
    if caller.kind == ActorKind::Client {
        state.limits.clients.take(&caller.user_id.to_string()).map_err(|retry_after| {
            Error::TooManyRequests {
                code: Code::RateLimited,
                detail: "this client has made too many requests; slow down".into(),
                retry_after,
            }
        })?;
    }
    Ok((rule, Some(caller)))
}

#[expect(clippy::too_many_arguments, reason = "one entry's parts, assembled in one place")]
async fn record(
    state: &AppState,
    rule: &Rule,
    pattern: &str,
    caller: Caller,
    path_id: Option<String>,
    note: AuditNote,
    status: u16,
    address: Option<String>,
    request_id: Option<String>,
) {
    let action = match rule.audit {
        Audit::Read => AuditAction::Read,
        Audit::List => AuditAction::List,
        Audit::Create => AuditAction::Create,
        Audit::Update => AuditAction::Update,
        Audit::Export | Audit::No => AuditAction::Export,
    };
    // A route under /children/{id} is about that child, and a created child about itself.
    let mut children = note.child_ids;
    let about = if pattern.starts_with("/api/v1/children/{id}") {
        path_id.as_deref()
    } else if pattern == "/api/v1/children" && action == AuditAction::Create {
        note.resource_id.as_deref()
    } else {
        None
    };
    if children.is_empty()
        && let Some(id) = about.and_then(|s| Uuid::parse_str(s).ok())
    {
        children.push(id);
    }
    let base = Entry {
        at: time::now(),
        actor_type: match caller.kind {
            ActorKind::User => ActorType::User,
            ActorKind::Client => ActorType::Client,
        },
        actor_id: Some(caller.user_id),
        actor_role: Some(caller.role.to_string()),
        action,
        resource: pattern.to_owned(),
        resource_id: note.resource_id.or(path_id),
        child_id: None,
        status,
        changes: note.changes,
        address,
        request_id,
    };
    if children.is_empty() {
        state.audit.append(base).await;
    } else {
        for child in children {
            state.audit.append(Entry { child_id: Some(child), ..base.clone() }).await;
        }
    }
}

fn bearer(req: &ServiceRequest) -> Result<String> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        Error::unauthenticated(Code::MissingToken, "send an access token: Authorization: Bearer <token>")
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::unauthenticated(Code::InvalidToken, "the Authorization header must be `Bearer <token>`")
        })
}

async fn authenticate(req: &ServiceRequest, state: &AppState) -> Result<Caller> {
    let token = bearer(req)?;
    let claims = match state.keys.verify(&token) {
        Ok(c) => c,
        Err(Refused::Invalid(e)) => return Err(e),
        Err(Refused::UnknownKey) => {
            // Another node may have rotated the keys: reload them (at most every few seconds).
            state.reload_keys(std::time::Duration::from_secs(5)).await?;
            state.keys.verify(&token).map_err(|r| match r {
                Refused::Invalid(e) => e,
                Refused::UnknownKey => {
                    Error::unauthenticated(Code::InvalidToken, "the access token's key is unknown")
                }
            })?
        }
    };
    let invalid = || Error::unauthenticated(Code::InvalidToken, "the access token is invalid");
    let id = Uuid::parse_str(&claims.sub).map_err(|_| invalid())?;
    let (kind, grants) = if claims.role == tongxing_core::role::Role::Partner {
        (ActorKind::Client, Grants::parse(claims.scope.as_deref()))
    } else {
        (ActorKind::User, Grants::default())
    };
    if kind == ActorKind::Client && claims.org.is_none() {
        return Err(invalid());
    }
    match kind {
        ActorKind::User => crate::auth::users::require_current_epoch(&state.db, id, claims.epoch).await?,
        ActorKind::Client => crate::auth::clients::require_active(&state.db, id).await?,
    }
    Ok(Caller {
        user_id: id,
        kind,
        role: claims.role,
        organisation_id: claims.org,
        scope: Scope::of(claims.role, id, claims.org, claims.region),
        grants,
    })
}
