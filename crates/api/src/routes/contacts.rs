//! Case-work contacts with a household or child (`/contacts`): phone visits and home, school and
//! centre visits, with their outcome. Stored by `tongxing_cases::contacts`; the summary report
//! counts the completed ones.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use tongxing_cases::contacts::{self, Contact, ContactFilter, ContactInput, ContactKind};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{noted, page, page_of};
use crate::audit;
use crate::auth::Caller;
use crate::extract::{IdempotencyKey, JsonBody, Query};
use crate::idempotency::{self, Create};
use crate::problem::ApiResult;
use crate::state::AppState;

page_of!(ContactPage, Contact);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    pub child_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub kind: Option<ContactKind>,
    /// First day, inclusive (Asia/Shanghai).
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub from: Option<NaiveDate>,
    /// Last day, inclusive (Asia/Shanghai).
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub to: Option<NaiveDate>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Record a phone visit to a household or an in-person visit to a child.
#[utoipa::path(
    tag = "contacts", operation_id = "create_contact",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first response")),
    request_body(content = ContactInput, example = json!({
        "kind": "phone_visit", "household_id": "0190f0a0-0000-7000-8000-000000000003",
        "occurred_at": "2023-11-20T02:30:00Z", "outcome": "completed", "notes": "祖母说孩子学习进步"
    })),
    responses((status = 201, description = "Created", body = Contact))
)]
#[post("/contacts")]
pub async fn create_contact(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ContactInput>,
) -> ApiResult<HttpResponse> {
    let create = Create { caller: &caller, key, method: "POST", path: req.path(), digest: body.digest };
    let (input, scope) = (body.value, caller.scope);
    idempotency::create(&state, create, move |conn| Ok((contacts::create(conn, &scope, input)?, None))).await
}

/// List contacts, by child, household, kind and date range.
#[utoipa::path(
    tag = "contacts", operation_id = "list_contacts",
    params(ContactQuery),
    responses((status = 200, description = "A page of contacts", body = ContactPage))
)]
#[get("/contacts")]
pub async fn list_contacts(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ContactQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = ContactFilter {
        child_id: q.child_id,
        household_id: q.household_id,
        kind: q.kind,
        from: q.from,
        to: q.to,
    };
    let scope = caller.scope;
    let (result, children) = state
        .run(move |conn| {
            let page = contacts::list(conn, &scope, &filter, page)?;
            let children = contacts::concerned_children(conn, &scope, &page.items)?;
            Ok((page, children))
        })
        .await?;
    let note = audit::read_children(children);
    Ok(noted(HttpResponse::Ok().json(ContactPage::from(result)), note))
}

/// The filters of the contacts' workbook: those of the list, without paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactExportQuery {
    pub child_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub kind: Option<ContactKind>,
    /// First day, inclusive (Asia/Shanghai).
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub from: Option<NaiveDate>,
    /// Last day, inclusive (Asia/Shanghai).
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub to: Option<NaiveDate>,
}

/// Every contact the caller may read that the filters select, as an Excel workbook: the list's
/// records with the name of the child each concerns (for callers who may read children), times in Asia/Shanghai, kinds and outcomes
/// in the language `Accept-Language` asks for, ids as text. Each child concerned is an audited
/// read (`export`). Read from the replica while it is fresh (`X-Data-Source`).
#[utoipa::path(
    tag = "contacts", operation_id = "export_contacts",
    params(ContactExportQuery),
    responses(
        (status = 200, description = "The workbook, as a download", body = crate::routes::reports::Workbook, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
)]
#[get("/contacts.xlsx")]
pub async fn export_contacts(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Query(q): Query<ContactExportQuery>,
) -> ApiResult<HttpResponse> {
    let filter = ContactFilter {
        child_id: q.child_id,
        household_id: q.household_id,
        kind: q.kind,
        from: q.from,
        to: q.to,
    };
    let scope = caller.scope;
    // Names only for whom a child's own read is allowed (a partner client needs `cases:read`).
    let names = crate::access::may_call(&caller, "get_child");
    super::reports::list_workbook(
        &state,
        &caller,
        &req,
        "contacts",
        "export_contacts",
        None,
        move |conn, words, about| {
            tongxing_reporting::exports::contacts(conn, &scope, &filter, words, about, names)
        },
    )
    .await
}

/// Read a contact.
#[utoipa::path(
    tag = "contacts", operation_id = "get_contact",
    params(("id" = Uuid, Path, description = "Contact id")),
    responses((status = 200, description = "The contact", body = Contact))
)]
#[get("/contacts/{id}")]
pub async fn get_contact(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (id, scope) = (id.into_inner(), caller.scope);
    let (contact, children) = state
        .run(move |conn| {
            let contact = contacts::get(conn, &scope, id)?;
            let children = contacts::concerned_children(conn, &scope, std::slice::from_ref(&contact))?;
            Ok((contact, children))
        })
        .await?;
    let note = audit::read_children(children);
    Ok(noted(HttpResponse::Ok().json(contact), note))
}
