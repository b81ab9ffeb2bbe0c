//! The guard in front of every `/api/v1` endpoint: finds the endpoint's access rule,
//! authenticates the caller, applies the rule and the rate limits, and after the handler has
//! answered, appends the audit entry the rule asks for.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    // A deprecated operation says so, with its sunset and successor, on every answer, refusals
    // included.
    let deprecated = access::find(&method, &pattern).and_then(|rule| crate::deprecation::of(rule.operation));
    let (rule, caller) = match admit(&req, &state, &pattern, &method).await {
        Ok(admitted) => admitted,
        // A refusal is an answer like any other: it goes back out through the request id,
        // the security and CORS headers, the log line and the metrics.
        Err(refusal) => {
            let mut res = req.error_response(refusal);
            if let Some(d) = deprecated {
                d.state(res.headers_mut());
            }
            return Ok(res.map_into_right_body());
        }
    };
    let Some(mut caller) = caller else {
        let mut res = next.call(req).await?;
        if let Some(d) = deprecated {
            d.state(res.headers_mut());
        }
        return Ok(res.map_into_left_body());
    };
    // A partner client's requests are counted against its quota, which every answer states.
    let quota = match caller.kind {
        ActorKind::Client => {
            let (policy, client) = (state.limits.clients, caller.user_id);
            let counted = match state.run(move |c| tongxing_accounts::quota::take(c, policy, client)).await {
                Ok(counted) => counted,
                Err(e) => return Ok(req.error_response(e).map_into_right_body()),
            };
            let quota = crate::limits::Quota::of(policy, counted);
            if counted.admitted {
                Some(quota)
            } else {
                let refusal = ApiError::from(Error::TooManyRequests {
                    code: Code::RateLimited,
                    detail: "this client has made too many requests; slow down".into(),
                    retry_after: quota.reset,
                });
                let mut res = req.error_response(refusal);
                quota.state(res.headers_mut());
                return Ok(res.map_into_right_body());
            }
        }
        ActorKind::User => None,
    };
    let trail = Arc::new(Trail {
        action: action_of(rule.audit),
        path_id: path_id(&pattern, req.path()),
        pattern,
        address: crate::client_address::of(req.request()).map(|a| a.to_string()),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        written: AtomicBool::new(false),
    });
    caller.trail = Some(trail.clone());
    req.extensions_mut().insert(caller.clone());
    let mut res = next.call(req).await?;
    if let Some(quota) = quota {
        quota.state(res.headers_mut());
    }
    if let Some(d) = deprecated {
        d.state(res.headers_mut());
    }
    if let Some(action) = trail.action
        && res.status().is_success()
        && !trail.written.load(Ordering::Acquire)
    {
        if matches!(rule.audit, Audit::Create | Audit::Update) && !is_replay(&res) {
            // Every write handler writes its entry in its own transaction (AppState::write); a
            // write that did not is a defect, still recorded here rather than lost.
            state.metrics.audit_outside_transaction();
            tracing::error!(route = %trail.pattern, ?action, "a write was answered without its audit entry in its transaction");
        }
        let note = res.response().extensions().get::<AuditNote>().cloned().unwrap_or_default();
        for entry in trail.entries(&caller, note, res.status().as_u16()) {
            state.audit.append(entry).await;
        }
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
    Ok((rule, Some(caller)))
}

/// An `Idempotency-Key` replay shows a record again; it writes nothing.
fn is_replay<B>(res: &ServiceResponse<B>) -> bool {
    res.headers().contains_key("idempotent-replayed")
}

fn action_of(audit: Audit) -> Option<AuditAction> {
    match audit {
        Audit::No => None,
        Audit::Read => Some(AuditAction::Read),
        Audit::List => Some(AuditAction::List),
        Audit::Create => Some(AuditAction::Create),
        Audit::Update => Some(AuditAction::Update),
        Audit::Export => Some(AuditAction::Export),
    }
}

/// The `{id}` segment of a path, by its place in the route's pattern.
fn path_id(pattern: &str, path: &str) -> Option<String> {
    let at = pattern.split('/').position(|s| s == "{id}")?;
    path.split('/').nth(at).map(str::to_owned)
}

/// What a request's audit entries say besides the handler's [`AuditNote`], settled by the
/// guard before the handler runs: the handler's write transaction inserts them
/// ([`crate::state::AppState::write`]); for reads the guard appends them after the answer.
#[derive(Debug)]
pub struct Trail {
    /// What the access rule records; `None`: nothing.
    action: Option<AuditAction>,
    pattern: String,
    path_id: Option<String>,
    address: Option<String>,
    request_id: Option<String>,
    /// Set once the handler's transaction has committed the entries.
    written: AtomicBool,
}

impl Trail {
    /// The entries of a successful call answered with `status`: one per child the call concerns
    /// (a route under /children/{id} is about that child, a created child about itself), or one
    /// naming no child.
    pub fn entries(&self, caller: &Caller, note: AuditNote, status: u16) -> Vec<Entry> {
        let Some(action) = self.action else { return Vec::new() };
        let mut children = note.child_ids;
        let about = if self.pattern.starts_with("/api/v1/children/{id}") {
            self.path_id.as_deref()
        } else if self.pattern == "/api/v1/children" && action == AuditAction::Create {
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
            resource: self.pattern.clone(),
            resource_id: note.resource_id.or_else(|| self.path_id.clone()),
            child_id: None,
            status,
            changes: note.changes,
            address: self.address.clone(),
            request_id: self.request_id.clone(),
        };
        if children.is_empty() {
            return vec![base];
        }
        children.into_iter().map(|child| Entry { child_id: Some(child), ..base.clone() }).collect()
    }

    /// The handler's transaction wrote the entries: the guard appends none.
    pub fn written(&self) {
        self.written.store(true, Ordering::Release);
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
            // Another node may have rotated the keys: a load that begins after now, at most
            // four a second (see `reload_keys_after`).
            state.reload_keys_after(std::time::Duration::from_millis(250)).await?;
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
        trail: None,
    })
}
