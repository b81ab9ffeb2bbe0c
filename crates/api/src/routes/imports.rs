//! Importing registers (`/imports`): the template, an upload checked in the background (a dry
//! run that writes no record), its rows' plans with each bad cell in the reader's language, and
//! the commit, all or nothing, in the background too. Done by `tongxing_registers`.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt;
use serde::Deserialize;
use tongxing_core::access::Scope;
use tongxing_core::{Code, Error};
use tongxing_registers::columns::{self, Field};
use tongxing_registers::imports::{self, Checking, Import, ImportRow, ImportState, RowOutcome, Written};
use tongxing_registers::sheet::{self, XLSX};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::page_of;
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, JsonBody, Query};
use crate::i18n;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

page_of!(ImportRowPage, ImportRow);

/// Rows checked between two writes of the plans and the progress.
const CHUNK: usize = 250;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The workbook's sheet to read, by name (the first unless given).
    #[param(max_length = 100)]
    pub sheet: Option<String>,
    /// Headings the service does not know, as a JSON object from heading to field (`name`,
    /// `sex`, `birth_date`, `national_id`, `categories`, `village`, `address`, `guardian`,
    /// `guardian_relation`, `guardian_phone`, `parents_work_away`, `school`, `health_notes`,
    /// `disability_notes`), e.g. `{"儿童名字": "name"}`.
    #[param(max_length = 2000)]
    pub mapping: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportRowQuery {
    /// Only rows planned as this.
    pub outcome: Option<RowOutcome>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    /// Leave the invalid rows out (the import records the choice); without it, an import with
    /// invalid rows is not committed (409 `import_has_errors`).
    #[serde(default)]
    pub skip_invalid: bool,
}

/// The upload, read whole within the import's size limit (413 `import_too_large` beyond it).
/// A body a little over the limit is read to its end (and dropped), so that the client reads
/// the answer rather than a reset connection; one far over it is cut off.
async fn read_body(mut payload: web::Payload, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| crate::extract::payload_error(Some(&e)))?;
        seen += chunk.len();
        if seen > max {
            body = Vec::new();
            if seen > max.saturating_mul(2) {
                break;
            }
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    if seen > max {
        let e = ApiError::from(Error::bad_request(
            Code::ImportTooLarge,
            format!("the file is over the size limit of {max} bytes"),
        ));
        return Err(if seen > max.saturating_mul(2) { e.closing() } else { e });
    }
    Ok(body)
}

/// Upload a register (`.xlsx` or CSV) to import: it is read at once (a file that is not a
/// spreadsheet, too large, empty, or whose headings name no register column is refused here,
/// writing nothing), then checked row by row in the background. Poll `get_import` until its
/// state is `checked`, read the plan with `list_import_rows`, then `commit_import`.
///
/// The body is the file itself, as `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`
/// or `text/csv` (UTF-8 with or without BOM, UTF-16 with BOM, or GB18030/GBK); at most
/// `TONGXING_IMPORT_MAX_BYTES` (10 MB) and `TONGXING_IMPORT_MAX_ROWS` (50,000) rows. Headings are
/// found in the first ten rows, in Chinese or English (the template's, or the common ones:
/// 姓名, 性别, 出生日期, 身份证号, 类别, 村/社区, 地址, 监护人, 监护人关系, 联系电话, …).
#[utoipa::path(
    tag = "imports", operation_id = "create_import",
    params(ImportQuery),
    request_body(description = "The register", content(
        (crate::routes::reports::Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (String = "text/csv"),
    )),
    responses((status = 202, description = "Accepted; checked in the background (`Location` is the import)", body = Import))
)]
#[post("/imports")]
pub async fn create_import(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<ImportQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let limits = state.import_limits;
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mapping: BTreeMap<String, Field> = match q.mapping.as_deref() {
        None => BTreeMap::new(),
        Some(m) => serde_json::from_str(m).map_err(|e| {
            Error::field("mapping", "invalid_value", format!("a JSON object from heading to field: {e}"))
        })?,
    };
    let body = read_body(payload, limits.max_bytes).await?;
    let sheet_name = q.sheet.clone();
    let (grid, cols, rows) = web::block(move || -> tongxing_core::Result<_> {
        let grid = sheet::read(&body, &content_type, sheet_name.as_deref(), &limits)?;
        let (cols, rows) = columns::recognise(&grid, &mapping)?;
        if rows.len() > limits.max_rows {
            return Err(Error::bad_request(
                Code::ImportTooLarge,
                format!("the register has {} rows, over the limit of {}", rows.len(), limits.max_rows),
            ));
        }
        Ok((grid, cols, rows))
    })
    .await
    .map_err(|e| ApiError::from(Error::internal(e)))??;
    let scope = caller.scope;
    let import = state
        .write(&caller, StatusCode::ACCEPTED, move |conn| {
            let import = imports::start(conn, &scope, &grid, &cols, rows)?;
            let note = audit::created(&serde_json::to_value(&import).map_err(Error::internal)?);
            Ok((import, note))
        })
        .await?;
    spawn_check(state.clone().into_inner(), scope, import.id);
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/imports/{}", import.id)))
        .insert_header((header::ETAG, crate::extract::etag(import.version)))
        .json(import))
}

/// Checks the import's rows a chunk at a time, each chunk's plans and progress written as it
/// goes, so a poll sees the percentage move.
fn spawn_check(state: Arc<AppState>, scope: Scope, id: Uuid) {
    actix_web::rt::spawn(async move {
        let outcome: Result<(), ApiError> = async {
            let source = Arc::new(state.run(move |c| imports::source(c, id)).await?);
            let mut checking = Checking::default();
            let mut from = 0;
            loop {
                let src = source.clone();
                let (back, done) = state
                    .run(move |c| {
                        let done = imports::check_rows(c, &scope, id, &mut checking, &src, from, CHUNK)?;
                        Ok((checking, done))
                    })
                    .await?;
                checking = back;
                from += CHUNK;
                if done {
                    return Ok(());
                }
            }
        }
        .await;
        if let Err(e) = outcome {
            tracing::error!(import = %id, error = %e.detail(), "an import's check failed");
            let why = e.detail().to_owned();
            let _ = state.run(move |c| imports::fail(c, id, &why, ImportState::Failed)).await;
        }
    });
}

/// The import template: a workbook with the register's columns (Chinese and English headings),
/// a notes row saying what each column holds, lists to choose sex, categories, relations,
/// yes/no and the caller's villages from, and the ID-number and phone columns as text.
#[utoipa::path(
    tag = "imports", operation_id = "get_import_template",
    responses((status = 200, description = "The template workbook", body = crate::routes::reports::Workbook, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
)]
#[get("/imports/template")]
pub async fn get_import_template(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let scope = caller.scope;
    let book = state
        .run(move |conn| {
            let villages = tongxing_cases::regions::villages_in_scope(conn, &scope)?;
            tongxing_registers::template::workbook(&villages)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(XLSX)
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"register-template.xlsx\""))
        .body(book))
}

/// Read an import: its state, progress, columns and how many rows are planned as each outcome.
/// Only the user who uploaded it (and admins) see it.
#[utoipa::path(
    tag = "imports", operation_id = "get_import",
    params(("id" = Uuid, Path, description = "Import id")),
    responses((status = 200, description = "The import; `ETag` carries its version", body = Import))
)]
#[get("/imports/{id}")]
pub async fn get_import(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    let import = state.run(move |conn| imports::get(conn, &scope, id)).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, crate::extract::etag(import.version))).json(import))
}

/// The import's rows in file order: each row's plan (`create`, `update` of the child holding its
/// national ID number in the caller's scope, `possible_duplicate` with the candidate and why, or
/// `invalid`), its cells' problems with their row, column heading, code and a message in the
/// language `Accept-Language` asks for; once committed, the child each row made or changed.
#[utoipa::path(
    tag = "imports", operation_id = "list_import_rows",
    params(("id" = Uuid, Path, description = "Import id"), ImportRowQuery),
    responses((status = 200, description = "A page of rows", body = ImportRowPage))
)]
#[get("/imports/{id}/rows")]
pub async fn list_import_rows(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Query(q): Query<ImportRowQuery>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    let lang = i18n::requested(&req);
    let mut page = state
        .run(move |conn| imports::rows(conn, &scope, id, q.outcome, q.limit, q.cursor.as_deref()))
        .await?;
    for row in &mut page.items {
        for p in &mut row.problems {
            if let Some(m) = i18n::message(lang, &i18n::field_id(&p.code), Some(&p.column)) {
                p.message = m;
            }
        }
    }
    let note = audit::read_children(page.items.iter().filter_map(|r| r.child_id.or(r.candidate_id)));
    Ok(super::noted(
        HttpResponse::Ok()
            .insert_header((header::CONTENT_LANGUAGE, lang.tag()))
            .json(ImportRowPage::from(page)),
        note,
    ))
}

/// Commit a checked import: every planned row is written in one transaction in the background
/// (poll `get_import` until `committed`), or none is. Only the user who uploaded it commits it,
/// once (409 `import_already_committed`); an import with invalid rows only with `skip_invalid`
/// (409 `import_has_errors`). A repeat with the same `Idempotency-Key` answers the import as
/// it stands. Every child created or updated is audited with the import's commit as its source.
#[utoipa::path(
    tag = "imports", operation_id = "commit_import",
    params(
        ("id" = Uuid, Path, description = "Import id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a repeat answers the import as it stands"),
    ),
    request_body(content = CommitRequest, example = json!({"skip_invalid": false})),
    responses((status = 202, description = "Accepted; committed in the background", body = Import))
)]
#[post("/imports/{id}/commit")]
pub async fn commit_import(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: JsonBody<CommitRequest>,
) -> ApiResult<HttpResponse> {
    let (id, skip, scope) = (id.into_inner(), body.value.skip_invalid, caller.scope);
    let key = key.0;
    let (import, started) = state
        .write(&caller, StatusCode::ACCEPTED, move |conn| {
            let (import, started) = imports::begin_commit(conn, &scope, id, skip, key.as_deref())?;
            let note =
                audit::created(&serde_json::json!({"id": id, "state": import.state, "skip_invalid": skip}));
            Ok(((import, started), note))
        })
        .await?;
    if started {
        spawn_commit(state.clone().into_inner(), caller, id);
    }
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/imports/{id}")))
        .insert_header((header::ETAG, crate::extract::etag(import.version)))
        .json(import))
}

/// Writes the import in one transaction, each child audited in it; a refusal puts the import
/// back to `checked` with why.
fn spawn_commit(state: Arc<AppState>, caller: Caller, id: Uuid) {
    actix_web::rt::spawn(async move {
        let scope = caller.scope;
        let who = caller.clone();
        let result = state
            .run(move |conn| {
                tongxing_store::transaction(conn, |c| {
                    imports::commit(c, &scope, id, &mut |c, w: Written| {
                        let mut note = match &w.before {
                            None => audit::created(&serde_json::to_value(&w.after).map_err(Error::internal)?),
                            Some(before) => audit::updated(w.after.id, Some(w.after.id), before, &w.after),
                        };
                        note.child_ids = vec![w.after.id];
                        let (status, action) = match w.before {
                            Some(_) => (StatusCode::OK, audit::AuditAction::Update),
                            None => (StatusCode::CREATED, audit::AuditAction::Create),
                        };
                        let mut entries = who.audit_entries(note, status.as_u16());
                        entries.iter_mut().for_each(|e| e.action = action);
                        audit::insert(c, entries)
                    })
                })
            })
            .await;
        if let Err(e) = result {
            let why = e.detail().to_owned();
            tracing::warn!(import = %id, error = %why, "an import's commit was refused");
            let _ = state.run(move |c| imports::fail(c, id, &why, ImportState::Checked)).await;
        }
    });
}
