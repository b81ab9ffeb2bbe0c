//! The cadence rules and what they find: the compliance alert list (`/compliance/alerts`),
//! exemptions from a rule for one period (`/compliance/exemptions`), and the rules themselves with
//! their minimums over time (`/cadence-rules`). The engine is `tongxing_pairing` (`cadence`,
//! `compliance`, `rules`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use tongxing_core::page::PageRequest;
use tongxing_pairing::cadence::PeriodStatus;
use tongxing_pairing::compliance::{self, AlertFilter, ComplianceAlert, ComplianceExemption, ExemptionInput};
use tongxing_pairing::rules::{self, CadenceRule, CadenceRuleInput, MinimumChange};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page, page_of};
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(ComplianceAlertPage, ComplianceAlert);
page_of!(ComplianceExemptionPage, ComplianceExemption);

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CadenceRuleList {
    pub items: Vec<CadenceRule>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Only pairings of children in this region's subtree.
    pub region_id: Option<Uuid>,
    pub mentor_id: Option<Uuid>,
    pub rule_id: Option<Uuid>,
    /// Only `missed` or only `at_risk`.
    pub status: Option<PeriodStatus>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExemptionQuery {
    pub subject_id: Option<Uuid>,
    pub rule_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// What needs attention now: active pairings whose last closed period was missed, or whose
/// current period is at risk; most urgent first. Only the relationships of children in the
/// caller's scope (a coordinator of a region: their subtree); a `region_id` outside it answers
/// as one that does not exist.
#[utoipa::path(
    tag = "compliance", operation_id = "list_compliance_alerts",
    params(AlertQuery),
    responses((status = 200, description = "A page of alerts", body = ComplianceAlertPage))
)]
#[get("/compliance/alerts")]
pub async fn list_compliance_alerts(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<AlertQuery>,
) -> ApiResult<HttpResponse> {
    let limit = PageRequest::parse(q.limit, None)?.limit;
    if matches!(q.status, Some(s) if s != PeriodStatus::Missed && s != PeriodStatus::AtRisk) {
        return Err(tongxing_core::Error::field(
            "status",
            "not_an_alert",
            "alerts are `missed` or `at_risk`",
        )
        .into());
    }
    let filter =
        AlertFilter { region_id: q.region_id, mentor_id: q.mentor_id, rule_id: q.rule_id, status: q.status };
    let (scope, cursor) = (caller.scope, q.cursor);
    let served = state
        .run_heavy(&caller, move |conn| compliance::alerts(conn, &scope, &filter, limit, cursor.as_deref()))
        .await?;
    let note = crate::audit::read_children(served.value.items.iter().map(|a| a.child_id));
    let mut answer = HttpResponse::Ok();
    served.headers(&mut answer);
    Ok(super::noted(answer.json(ComplianceAlertPage::from(served.value)), note))
}

/// Exempt one period of one rule for a pairing, with a reason (coordinators). A pairing or
/// enrolment whose child is outside the caller's scope is refused as one that does not exist.
#[utoipa::path(
    tag = "compliance", operation_id = "create_compliance_exemption",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = ExemptionInput, example = json!({
        "rule_id": "00000000-0000-7000-8000-00000000c001", "subject_id": "0190f0a0-0000-7000-8000-000000000006",
        "period": "2024-03", "reason": "孩子住院治疗"
    })),
    responses((status = 201, description = "Created", body = ComplianceExemption))
)]
#[post("/compliance/exemptions")]
pub async fn create_compliance_exemption(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ExemptionInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope, actor) = (body.value, caller.scope, caller.user_id);
    idempotency::create(&state, create, move |conn| {
        Ok((compliance::record_exemption(conn, &scope, input, actor)?, None))
    })
    .await
}

/// List exemptions of the relationships whose child is in the caller's scope.
#[utoipa::path(
    tag = "compliance", operation_id = "list_compliance_exemptions",
    params(ExemptionQuery),
    responses((status = 200, description = "A page of exemptions", body = ComplianceExemptionPage))
)]
#[get("/compliance/exemptions")]
pub async fn list_compliance_exemptions(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ExemptionQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let (scope, subject, rule) = (caller.scope, q.subject_id, q.rule_id);
    let result =
        state.run(move |conn| compliance::list_exemptions(conn, &scope, subject, rule, page)).await?;
    let note = crate::audit::read_children(result.items.iter().map(|e| e.child_id));
    Ok(super::noted(HttpResponse::Ok().json(ComplianceExemptionPage::from(result)), note))
}

/// The cadence rules, with their minimums over time.
#[utoipa::path(
    tag = "compliance", operation_id = "list_cadence_rules",
    responses((status = 200, description = "Every rule", body = CadenceRuleList))
)]
#[get("/cadence-rules")]
pub async fn list_cadence_rules(state: web::Data<AppState>, _caller: Caller) -> ApiResult<HttpResponse> {
    let items = state.run(|conn| rules::list(conn, None, false)).await?;
    Ok(HttpResponse::Ok().json(CadenceRuleList { items }))
}

/// Add a cadence rule (coordinators): what it checks, what counts, the period and minimum.
#[utoipa::path(
    tag = "compliance", operation_id = "create_cadence_rule",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = CadenceRuleInput, example = json!({
        "code": "fortnightly_call", "name": "A phone or video call every week", "subject": "pairing",
        "counted_kinds": ["phone", "video"], "period": "iso_week", "at_risk_days": 2,
        "minimum": {"effective_from": "2024-01-01", "minimum": 1}
    })),
    responses((status = 201, description = "Created", body = CadenceRule))
)]
#[post("/cadence-rules")]
pub async fn create_cadence_rule(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<CadenceRuleInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let input = body.value;
    idempotency::create(&state, create, move |conn| Ok((rules::create(conn, input)?, None))).await
}

/// Change a rule's minimum from a date on (coordinators); periods that began earlier keep theirs.
#[utoipa::path(
    tag = "compliance", operation_id = "change_cadence_rule_minimum",
    params(("id" = Uuid, Path, description = "Rule id")),
    request_body(content = MinimumChange, example = json!({"effective_from": "2025-01-01", "minimum": 2})),
    responses((status = 200, description = "The rule with its minimums", body = CadenceRule))
)]
#[post("/cadence-rules/{id}/minimums")]
pub async fn change_cadence_rule_minimum(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<MinimumChange>,
) -> ApiResult<HttpResponse> {
    let (id, change) = (id.into_inner(), body.value);
    let rule = state
        .write(&caller, StatusCode::OK, move |conn| {
            let rule = rules::add_minimum(conn, id, change)?;
            let note =
                crate::audit::AuditNote { changes: crate::audit::changes(None, &rule), ..Default::default() };
            Ok((rule, note))
        })
        .await?;
    Ok(HttpResponse::Ok().json(rule))
}
