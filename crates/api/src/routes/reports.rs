use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tongxing_reporting::assessments::{self, AssessmentsReport};
use tongxing_reporting::compliance::{self, ComplianceReport};
use tongxing_reporting::csv::{self, Table, number};
use tongxing_reporting::events::{self, EventsReport};
use tongxing_reporting::scope::Scope;
use tongxing_reporting::summary::{self, ProgrammeSummary};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::extract::Query;
use crate::problem::ApiResult;
use crate::state::AppState;
use tongxing_store::DbConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day (Asia/Shanghai), inclusive; absent: from the first record.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub from: Option<NaiveDate>,
    /// Last day (Asia/Shanghai), inclusive; absent: today.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub to: Option<NaiveDate>,
    /// A region subtree; absent: everywhere.
    pub region_id: Option<Uuid>,
    /// `json` or `csv`; otherwise the `Accept` header decides (JSON by default).
    pub format: Option<ReportFormat>,
}

fn wants_csv(req: &HttpRequest, format: Option<ReportFormat>) -> bool {
    match format {
        Some(f) => f == ReportFormat::Csv,
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv") && !a.contains("application/json")),
    }
}

/// Answers with JSON, or with CSV (UTF-8 with BOM, formula cells escaped) as a download.
fn respond<T: Serialize>(
    req: &HttpRequest,
    format: Option<ReportFormat>,
    name: &str,
    report: &T,
    table: impl FnOnce() -> Table,
) -> HttpResponse {
    if wants_csv(req, format) {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")))
            .body(csv::to_bytes(&table()))
    } else {
        HttpResponse::Ok().json(report)
    }
}

/// Resolves the scope, computes the report in the database, and answers as JSON or CSV.
async fn report<T, F>(
    state: &AppState,
    _caller: Caller,
    req: &HttpRequest,
    q: ReportQuery,
    name: &str,
    compute: F,
    table: fn(&T) -> Table,
) -> ApiResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection, &Scope) -> tongxing_core::Result<T> + Send + 'static,
{
    let (from, to, region) = (q.from, q.to, q.region_id);
    let report = state
        .run_heavy(move |conn| {
            let scope = Scope::resolve(conn, from, to, region)?;
            compute(conn, &scope)
        })
        .await?;
    Ok(respond(req, q.format, name, &report, || table(&report)))
}

fn summary_table(s: &ProgrammeSummary) -> Table {
    let d = &s.definitions;
    let mut t = Table::new(&["figure", "value", "definition"]);
    let t_ = &s.events_held_by_type;
    let rows: [(&str, f64, &str); 13] = [
        ("children_registered", s.children_registered as f64, d.children_registered),
        ("families_phoned", s.families_phoned as f64, d.families_phoned),
        ("children_visited", s.children_visited as f64, d.children_visited),
        ("events_held.quarterly_theme", t_.quarterly_theme as f64, d.events_held_by_type),
        ("events_held.care", t_.care as f64, d.events_held_by_type),
        ("events_held.visit_and_comfort", t_.visit_and_comfort as f64, d.events_held_by_type),
        (
            "events_held.mental_health_consultation",
            t_.mental_health_consultation as f64,
            d.events_held_by_type,
        ),
        ("events_held.other", t_.other as f64, d.events_held_by_type),
        ("events_held", s.events_held as f64, d.events_held_by_type),
        ("children_attending_events", s.children_attending_events as f64, d.children_attending_events),
        ("volunteers_active", s.volunteers_active as f64, d.volunteers_active),
        ("volunteer_hours", s.volunteer_hours, d.volunteer_hours),
        ("children_assessed", s.children_assessed as f64, d.children_assessed),
    ];
    for (k, v, def) in rows {
        t.push(vec![k.to_owned(), number(v), def.to_owned()]);
    }
    t
}

/// The programme summary: children registered, families phoned, children visited, events held
/// by type, and more, each with its definition.
#[utoipa::path(
    get, path = "/api/v1/reports/summary", tag = "reports", operation_id = "get_summary_report",
    params(ReportQuery),
    responses((status = 200, description = "The figures", content((ProgrammeSummary = "application/json"), (String = "text/csv"))))
)]
#[get("/reports/summary")]
pub async fn get_summary_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    report(&state, caller, &req, q, "summary", summary::summary, summary_table).await
}

/// Events by type, programme, service form and region, and the villages reached.
#[utoipa::path(
    get, path = "/api/v1/reports/events", tag = "reports", operation_id = "get_events_report",
    params(ReportQuery),
    responses((status = 200, description = "The figures", content((EventsReport = "application/json"), (String = "text/csv"))))
)]
#[get("/reports/events")]
pub async fn get_events_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    report(&state, caller, &req, q, "events", events::report, EventsReport::to_table).await
}

/// Score distributions of the four dimensions, risk levels, and change between a child's first
/// and latest assessment.
#[utoipa::path(
    get, path = "/api/v1/reports/assessments", tag = "reports", operation_id = "get_assessments_report",
    params(ReportQuery),
    responses((status = 200, description = "The figures", content((AssessmentsReport = "application/json"), (String = "text/csv"))))
)]
#[get("/reports/assessments")]
pub async fn get_assessments_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    report(&state, caller, &req, q, "assessments", assessments::report, AssessmentsReport::to_table).await
}

/// What needs attention now, per rule: relationships that missed their last period or are at
/// risk in the current one.
#[utoipa::path(
    get, path = "/api/v1/reports/compliance", tag = "reports", operation_id = "get_compliance_report",
    params(ReportQuery),
    responses((status = 200, description = "The figures", content((ComplianceReport = "application/json"), (String = "text/csv"))))
)]
#[get("/reports/compliance")]
pub async fn get_compliance_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    report(&state, caller, &req, q, "compliance", compliance::report, ComplianceReport::to_table).await
}
