//! The published reports (`/reports/summary`, `/reports/events`, `/reports/assessments`,
//! `/reports/compliance`), as JSON or CSV, and each as CSV only at the same path with `.csv`
//! (one representation per operation, which every SDK generator handles). Each handler resolves
//! the caller's coverage and calls the report and its CSV table in `tongxing_reporting`; nothing
//! is computed here.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tongxing_reporting::assessments::{self, AssessmentsReport};
use tongxing_reporting::compliance::{self, ComplianceReport};
use tongxing_reporting::csv::{self, Table, Words};
use tongxing_reporting::events::{self, EventsReport};
use tongxing_reporting::scope::Coverage;
use tongxing_reporting::summary::{self, ProgrammeSummary};
use tongxing_reporting::xlsx;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::extract::Query;
use crate::i18n::{self, ReportWords};
use crate::problem::{ApiResult, Problem};
use crate::state::{AppState, Served};
use tongxing_store::DbConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
    /// An Excel workbook: a block saying what it covers, a frozen heading row, typed cells, a
    /// sheet per breakdown.
    Xlsx,
}

/// The media type of an Excel workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An Excel workbook (`.xlsx`), as a download.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Workbook(pub Vec<u8>);

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
    /// A region subtree; absent: everywhere (for a coordinator of a region: their own). A
    /// region outside the caller's own is not found, as one that does not exist.
    pub region_id: Option<Uuid>,
    /// `json`, `csv` or `xlsx`; otherwise the `Accept` header decides (JSON by default).
    pub format: Option<ReportFormat>,
}

/// The representation asked for: `format`, otherwise `Accept` (JSON unless it names only CSV or
/// a workbook).
fn wanted(req: &HttpRequest, format: Option<ReportFormat>) -> ReportFormat {
    format.unwrap_or_else(|| {
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if accept.contains("application/json") {
            ReportFormat::Json
        } else if accept.contains("text/csv") {
            ReportFormat::Csv
        } else if accept.contains(XLSX) {
            ReportFormat::Xlsx
        } else {
            ReportFormat::Json
        }
    })
}

/// The period and region of a report in CSV.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CsvReportQuery {
    /// First day (Asia/Shanghai), inclusive; absent: from the first record.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub from: Option<NaiveDate>,
    /// Last day (Asia/Shanghai), inclusive; absent: today.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub to: Option<NaiveDate>,
    /// A region subtree; absent: everywhere (for a coordinator of a region: their own). A
    /// region outside the caller's own is not found, as one that does not exist.
    pub region_id: Option<Uuid>,
}

impl From<CsvReportQuery> for ReportQuery {
    fn from(q: CsvReportQuery) -> Self {
        ReportQuery { from: q.from, to: q.to, region_id: q.region_id, format: Some(ReportFormat::Csv) }
    }
}

/// What a report was asked to cover, for a workbook's heading block.
struct Asked {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    region_id: Option<Uuid>,
}

/// Answers with JSON, or with CSV (UTF-8 with BOM, formula cells escaped) or an Excel workbook
/// as a download, their headings and labels in the language `Accept-Language` asks for; each
/// says where it was read and as of when.
fn respond<T: Serialize>(
    req: &HttpRequest,
    format: Option<ReportFormat>,
    name: &str,
    asked: &Asked,
    report: &Served<T>,
    table: impl FnOnce(&dyn Words) -> Table,
) -> ApiResult<HttpResponse> {
    let mut answer = HttpResponse::Ok();
    report.headers(&mut answer);
    let format = wanted(req, format);
    if format == ReportFormat::Json {
        return Ok(answer.json(&report.value));
    }
    let lang = i18n::requested(req);
    let words = ReportWords(lang);
    answer
        .insert_header((header::CONTENT_LANGUAGE, lang.tag()))
        .insert_header((header::VARY, "accept-language"));
    let table = table(&words);
    Ok(if format == ReportFormat::Csv {
        answer
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")))
            .body(csv::to_bytes(&table))
    } else {
        let label = |k: &str| words.label(k);
        let day = |d: Option<NaiveDate>, none: &str| d.map_or_else(|| label(none), |d| d.to_string());
        let about = xlsx::About {
            title: label(&format!("workbook_{name}")),
            facts: vec![
                (
                    label("workbook_period"),
                    format!(
                        "{} – {}",
                        day(asked.from, "workbook_first_record"),
                        day(asked.to, "workbook_today")
                    ),
                ),
                (
                    label("workbook_region"),
                    asked.region_id.map_or_else(|| label("workbook_everywhere"), |r| r.to_string()),
                ),
                (label("workbook_generated_at"), local_time(tongxing_core::time::now())),
                (label("workbook_data_as_of"), local_time(report.as_of)),
            ],
        };
        let bytes = xlsx::write(about, &xlsx::sheets(&table, &label(&format!("workbook_{name}"))))
            .map_err(tongxing_core::Error::internal)?;
        answer
            .content_type(XLSX)
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.xlsx\"")))
            .body(bytes)
    })
}

/// A list as a workbook (`tongxing_reporting::exports`): `export` writes it in the caller's
/// language under a block naming the list (`title`, a label key), the region it is limited to
/// and when it was made; read where heavy reads are ([`AppState::run_heavy`]); each child it
/// concerns is an audited read.
pub(crate) async fn list_workbook<F>(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    name: &str,
    title: &'static str,
    region: Option<Uuid>,
    export: F,
) -> ApiResult<HttpResponse>
where
    F: Fn(
            &mut DbConnection,
            &dyn Words,
            xlsx::About,
        ) -> tongxing_core::Result<tongxing_reporting::exports::Exported>
        + Send
        + Sync
        + 'static,
{
    let lang = i18n::requested(req);
    let words = ReportWords(lang);
    let about = xlsx::About {
        title: words.label(title),
        facts: vec![
            (
                words.label("workbook_region"),
                region.map_or_else(|| words.label("workbook_everywhere"), |r| r.to_string()),
            ),
            (words.label("workbook_generated_at"), local_time(tongxing_core::time::now())),
        ],
    };
    let served = state.run_heavy(caller, move |conn| export(conn, &words, about.clone())).await?;
    let mut answer = HttpResponse::Ok();
    served.headers(&mut answer);
    answer
        .content_type(XLSX)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.xlsx\"")))
        .insert_header((header::CONTENT_LANGUAGE, lang.tag()))
        .insert_header((header::VARY, "accept-language"));
    let note = crate::audit::read_children(served.value.children);
    Ok(super::noted(answer.body(served.value.bytes), note))
}

/// An instant as the programmes' clock shows it (Asia/Shanghai), to the second.
fn local_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&tongxing_core::time::TIME_ZONE).format("%Y-%m-%d %H:%M:%S %:z").to_string()
}

/// Resolves what the report covers for the caller, computes it in the database (the read replica
/// when it is fresh: [`AppState::run_heavy`]), and answers as JSON or CSV.
async fn report<T, F>(
    state: &AppState,
    caller: Caller,
    req: &HttpRequest,
    q: ReportQuery,
    name: &str,
    compute: F,
    table: fn(&T, &dyn Words) -> Table,
) -> ApiResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: Fn(&mut DbConnection, &Coverage) -> tongxing_core::Result<T> + Send + Sync + 'static,
{
    let (scope, threshold, from, to, region) = (caller.scope, state.small_cells, q.from, q.to, q.region_id);
    let report = state
        .run_heavy(&caller, move |conn| {
            let coverage = Coverage::resolve(conn, &scope, from, to, region, threshold)?;
            compute(conn, &coverage)
        })
        .await?;
    let asked = Asked { from: q.from, to: q.to, region_id: q.region_id };
    respond(req, q.format, name, &asked, &report, |words| table(&report.value, words))
}

/// The programme summary: children registered, families phoned, children visited, events held
/// by type, and more, each with its definition.
///
/// Every report covers the caller's part of the region tree: a coordinator of a region gets
/// their subtree by default and may narrow it; a region outside it is not found (404), as one
/// that does not exist. Callers who may not read every child counted (caseworkers, auditors)
/// get figures resting on fewer children than the small-cell threshold (5 by default) as
/// `null` (empty in CSV, with a closing `note` row), and `suppression` lists them.
#[utoipa::path(
    tag = "reports", operation_id = "get_summary_report",
    params(ReportQuery),
    responses(
        (status = 200, description = "The figures", content((ProgrammeSummary = "application/json"), (String = "text/csv"), (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, description = "`region_id` names a region that does not exist or is outside the caller's own", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/summary")]
pub async fn get_summary_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    report(&state, caller, &req, q, "summary", summary::summary, ProgrammeSummary::to_table).await
}

/// Events by type, programme, service form and region, and the villages reached. Coverage and
/// small cells as for the summary.
#[utoipa::path(
    tag = "reports", operation_id = "get_events_report",
    params(ReportQuery),
    responses(
        (status = 200, description = "The figures", content((EventsReport = "application/json"), (String = "text/csv"), (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, description = "`region_id` names a region that does not exist or is outside the caller's own", body = Problem, content_type = "application/problem+json"),
    )
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
/// and latest assessment. Coverage and small cells as for the summary.
#[utoipa::path(
    tag = "reports", operation_id = "get_assessments_report",
    params(ReportQuery),
    responses(
        (status = 200, description = "The figures", content((AssessmentsReport = "application/json"), (String = "text/csv"), (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, description = "`region_id` names a region that does not exist or is outside the caller's own", body = Problem, content_type = "application/problem+json"),
    )
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
/// risk in the current one. Coverage and small cells as for the summary.
#[utoipa::path(
    tag = "reports", operation_id = "get_compliance_report",
    params(ReportQuery),
    responses(
        (status = 200, description = "The figures", content((ComplianceReport = "application/json"), (String = "text/csv"), (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, description = "`region_id` names a region that does not exist or is outside the caller's own", body = Problem, content_type = "application/problem+json"),
    )
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

/// The programme summary as CSV (UTF-8 with a BOM, for Excel): the same figures, coverage and
/// small cells as `/reports/summary`.
#[utoipa::path(
    tag = "reports", operation_id = "get_summary_report_csv",
    params(CsvReportQuery),
    responses(
        (status = 200, description = "The figures, as a CSV download", body = String, content_type = "text/csv"),
        (status = 404, description = "`region_id` names a region that does not exist or is outside the caller's own", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/summary.csv")]
pub async fn get_summary_report_csv(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<CsvReportQuery>,
) -> ApiResult<HttpResponse> {
    report(&state, caller, &req, q.into(), "summary", summary::summary, ProgrammeSummary::to_table).await
}

/// The events report as CSV: the same figures as `/reports/events`.
#[utoipa::path(
    tag = "reports", operation_id = "get_events_report_csv",
    params(CsvReportQuery),
    responses(
        (status = 200, description = "The figures, as a CSV download", body = String, content_type = "text/csv"),
        (status = 404, description = "`region_id` names a region that does not exist or is outside the caller's own", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/events.csv")]
pub async fn get_events_report_csv(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<CsvReportQuery>,
) -> ApiResult<HttpResponse> {
    report(&state, caller, &req, q.into(), "events", events::report, EventsReport::to_table).await
}

/// The assessments report as CSV: the same figures as `/reports/assessments`.
#[utoipa::path(
    tag = "reports", operation_id = "get_assessments_report_csv",
    params(CsvReportQuery),
    responses(
        (status = 200, description = "The figures, as a CSV download", body = String, content_type = "text/csv"),
        (status = 404, description = "`region_id` names a region that does not exist or is outside the caller's own", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/assessments.csv")]
pub async fn get_assessments_report_csv(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<CsvReportQuery>,
) -> ApiResult<HttpResponse> {
    report(&state, caller, &req, q.into(), "assessments", assessments::report, AssessmentsReport::to_table)
        .await
}

/// The compliance report as CSV: the same figures as `/reports/compliance`.
#[utoipa::path(
    tag = "reports", operation_id = "get_compliance_report_csv",
    params(CsvReportQuery),
    responses(
        (status = 200, description = "The figures, as a CSV download", body = String, content_type = "text/csv"),
        (status = 404, description = "`region_id` names a region that does not exist or is outside the caller's own", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/compliance.csv")]
pub async fn get_compliance_report_csv(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<CsvReportQuery>,
) -> ApiResult<HttpResponse> {
    report(&state, caller, &req, q.into(), "compliance", compliance::report, ComplianceReport::to_table).await
}
