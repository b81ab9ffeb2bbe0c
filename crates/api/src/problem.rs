//! RFC 9457 problem details: the one error shape of the API, and the mapping of domain errors
//! to HTTP statuses. Internal errors are logged with their context and answered generically.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use tongxing_core::error::Params;
use tongxing_core::{Code, Error, FieldError};
use utoipa::ToSchema;

/// Which record a problem names, and as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Related {
    Conflicting,
    MergedInto,
}

/// An error answer (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:tongxing:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Stable machine-readable code; clients branch on this.
    #[schema(schema_with = code_schema)]
    pub code: Code,
    /// For validation errors: each invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For some conflicts: the record this one conflicts with (e.g. the active pairing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicting_id: Option<uuid::Uuid>,
    /// For `child_merged` (410): the record this one was merged into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<uuid::Uuid>,
    /// The values the detail names, by name (the statuses of a refused transition, the day a
    /// volunteer's clearance expired): for a client that words its own messages.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(schema_with = params_schema)]
    pub params: Params,
}

/// `Problem.code`: every code, and what each means ([`Code`]).
fn code_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut text = String::from("Stable machine-readable code; clients branch on this. The codes:\n");
    for c in Code::ALL {
        text.push_str(&format!("\n- `{c}` ({}): {}", c.status(), c.meaning()));
    }
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Code::ALL.iter().map(|c| c.as_str())))
        .description(Some(text))
        .build()
}

/// One invalid field of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field, as a path into the body or the name of a parameter (e.g. `guardians[0].phone`).
    pub field: String,
    /// Stable machine-readable code for what is wrong.
    pub code: String,
    pub message: String,
    /// The values the message names, by name (e.g. `{"min": 1, "max": 100}` for a length, a
    /// date for a record too old): for a client that words its own messages. Absent when the
    /// message names none.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(schema_with = params_schema)]
    pub params: Params,
}

/// `ProblemField.params`: names to numbers or texts (a date as YYYY-MM-DD).
fn params_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
    let value = ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::Integer, Type::String]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(i64::MIN as f64))
        .maximum(Some(i64::MAX as f64))
        .max_length(Some(100))
        .build();
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(value.into())))
        .description(Some(
            "The values the text names, by name (e.g. `{\"min\": 1, \"max\": 100}` for a length, \
             `{\"from\": \"active\", \"to\": \"screening\"}` for a transition refused): for a client that \
             words its own messages. Absent when it names none.",
        ))
        .build()
}

impl From<FieldError> for ProblemField {
    fn from(e: FieldError) -> Self {
        ProblemField { field: e.field, code: e.code, message: e.message, params: e.params }
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The error type of every handler: a domain error, or a problem built at the HTTP edge.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: Code,
    detail: String,
    errors: Vec<ProblemField>,
    retry_after: Option<u32>,
    /// The record the problem names: one this conflicts with, or the one it was merged into.
    related: Option<(Related, uuid::Uuid)>,
    params: Params,
    allow: Option<Box<str>>,
    /// The connection is closed after this answer (`Connection: close`).
    close: bool,
}

impl ApiError {
    pub fn code(&self) -> Code {
        self.code
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn retry_after(&self) -> Option<u32> {
        self.retry_after
    }

    /// 503 `busy`: the service is computing as many heavy reads as it allows at once.
    pub fn busy(detail: &str, retry_after: u32) -> Self {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, Code::Busy, detail);
        e.retry_after = Some(retry_after);
        e
    }

    pub fn new(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            related: None,
            params: Params::new(),
            allow: None,
            close: false,
        }
    }

    /// 405 for a path that exists, naming the methods it answers in `Allow`.
    pub fn method_not_allowed(path: &str, method: &str, allowed: &[&str]) -> Self {
        let mut e = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::MethodNotAllowed,
            format!("{path} does not answer {method}"),
        );
        e.allow = Some(allowed.join(", ").into());
        // Named only when it is one of HTTP's own (anything else is the client's invention).
        if ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"].contains(&method)
        {
            e.params.insert("method", method.into());
        }
        e
    }

    /// Fields that break the contract itself (a length, a range, a control character): 400.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::invalid_fields(StatusCode::BAD_REQUEST, errors)
    }

    /// Fields that match the contract but break a rule of the domain (a referenced record that
    /// does not exist, dates out of order, a region that is not a village): 422.
    pub fn unprocessable(errors: Vec<FieldError>) -> Self {
        Self::invalid_fields(StatusCode::UNPROCESSABLE_ENTITY, errors)
    }

    fn invalid_fields(status: StatusCode, errors: Vec<FieldError>) -> Self {
        let mut e = ApiError::new(status, Code::ValidationFailed, "some fields are invalid");
        e.errors = errors.into_iter().map(ProblemField::from).collect();
        e
    }

    /// The same problem, answered with `Connection: close`: what is left of the request cannot
    /// be read, so the connection cannot carry another.
    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// The same problem, its detail followed by `: suffix`.
    pub fn with_detail_suffix(mut self, suffix: &str) -> Self {
        self.detail = format!("{}: {suffix}", self.detail);
        self
    }

    /// The same problem, listing the fields it concerns.
    pub fn with_fields(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors.into_iter().map(ProblemField::from).collect();
        self
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation(errors) => ApiError::unprocessable(errors),
            Error::BadRequest { code, detail } => ApiError::new(
                StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST),
                code,
                detail,
            ),
            Error::NotFound { resource } => {
                ApiError::new(StatusCode::NOT_FOUND, Code::NotFound, format!("no such {resource}"))
            }
            Error::Conflict { code, detail, related, params } => {
                let mut e = ApiError::new(StatusCode::CONFLICT, code, detail);
                e.related = related.map(|id| (Related::Conflicting, id));
                e.params = params;
                e
            }
            Error::Gone { code, detail, merged_into } => {
                let mut e = ApiError::new(StatusCode::GONE, code, detail);
                e.related = Some((Related::MergedInto, merged_into));
                e
            }
            Error::PreconditionFailed => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                Code::StaleVersion,
                "the record has changed since you read it; read it again and retry",
            ),
            Error::PreconditionRequired => ApiError::new(
                StatusCode::PRECONDITION_REQUIRED,
                Code::IfMatchRequired,
                "send the record's ETag in an If-Match header",
            ),
            Error::Unauthenticated { code, detail } => ApiError::new(StatusCode::UNAUTHORIZED, code, detail),
            Error::Forbidden { detail } => ApiError::new(StatusCode::FORBIDDEN, Code::Forbidden, detail),
            Error::FieldForbidden { field, detail } => {
                let mut e = ApiError::new(StatusCode::FORBIDDEN, Code::FieldForbidden, detail.clone());
                e.errors = vec![FieldError::new(field, "not_writable", detail).into()];
                e
            }
            Error::TooManyRequests { code, detail, retry_after } => {
                let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, detail);
                e.retry_after = Some(retry_after.max(1));
                e
            }
            Error::Unavailable { detail } => {
                // The cause is for the logs, at most a line per cause a second however many
                // requests meet it; a client learns only that it may retry.
                if let Some(answers) = UNAVAILABLE.admit(&detail) {
                    tracing::warn!(cause = %detail, answers, "answering 503");
                }
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Code::Unavailable,
                    "the database is not available; retry shortly",
                );
                e.retry_after = Some(2);
                e
            }
            Error::Internal(context) => {
                tracing::error!(error = %context, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, "an internal error occurred")
            }
        }
    }
}

/// The causes of 503s, logged at a bounded rate.
static UNAVAILABLE: std::sync::LazyLock<tongxing_store::outage::LogLimiter> =
    std::sync::LazyLock::new(|| tongxing_store::outage::LogLimiter::new(std::time::Duration::from_secs(1)));

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = Problem {
            problem_type: format!("urn:tongxing:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            errors: self
                .errors
                .iter()
                .map(|e| ProblemField {
                    field: e.field.clone(),
                    code: e.code.clone(),
                    message: e.message.clone(),
                    params: e.params.clone(),
                })
                .collect(),
            conflicting_id: self.related.filter(|(r, _)| *r == Related::Conflicting).map(|(_, id)| id),
            merged_into: self.related.filter(|(r, _)| *r == Related::MergedInto).map(|(_, id)| id),
            params: self.params.clone(),
        };
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(allow) = &self.allow {
            res.insert_header((header::ALLOW, allow.as_ref()));
        }
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.close {
            res.force_close();
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.json(body)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
