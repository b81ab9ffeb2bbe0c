//! The one error type of the domain. It knows nothing of HTTP; the API maps each variant to a
//! status and a problem+json body, and each `code` is part of the public contract.

use std::fmt;

use crate::Code;

/// The values a message names (a bound, a date, a status), by name: what a message in another
/// language needs to say the same.
pub type Params = std::collections::BTreeMap<&'static str, serde_json::Value>;

/// One invalid field of a request or a domain value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
    /// The values the message names.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: Params,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into(), params: Default::default() }
    }

    /// The error, naming a value its message gives.
    pub fn with(mut self, name: &'static str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(name, value.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request matches the contract but some fields break a rule of the domain.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The request could not be understood (bad cursor, bad header value, a file that is not
    /// a spreadsheet, ...); answered with the code's own status.
    #[error("{detail}")]
    BadRequest { code: Code, detail: String },
    /// No such record, or one the caller may not know exists.
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    /// The request conflicts with the state of the record (illegal transition, duplicate, ...).
    #[error("{detail}")]
    Conflict { code: Code, detail: String, related: Option<uuid::Uuid>, params: Params },
    /// The record is no longer here: it was merged into another, which `merged_into` names (and
    /// which the caller may read).
    #[error("{detail}")]
    Gone { code: Code, detail: String, merged_into: uuid::Uuid },
    /// `If-Match` named a version that is no longer current.
    #[error("the record has changed since it was read")]
    PreconditionFailed,
    /// An update came without `If-Match`.
    #[error("this update requires an If-Match header")]
    PreconditionRequired,
    /// Missing, malformed, expired or forged credentials.
    #[error("{detail}")]
    Unauthenticated { code: Code, detail: String },
    /// Authenticated, but the role may not do this.
    #[error("{detail}")]
    Forbidden { detail: String },
    /// The role may write this record but not this field of it.
    #[error("{detail}")]
    FieldForbidden { field: String, detail: String },
    /// Too many requests or failed logins; try again after `retry_after` seconds.
    #[error("{detail}")]
    TooManyRequests { code: Code, detail: String, retry_after: u32 },
    /// The database (or another dependency) cannot be reached right now. `detail` names the
    /// cause for the logs and for start-up errors; clients get a fixed message.
    #[error("{detail}")]
    Unavailable { detail: String },
    /// A bug or an unexpected failure. The message goes to the logs, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn field(field: &str, code: &str, message: impl fmt::Display) -> Self {
        Error::Validation(vec![FieldError::new(field, code, message.to_string())])
    }

    /// One invalid field, as a [`FieldError`] built with its values.
    pub fn of_field(error: FieldError) -> Self {
        Error::Validation(vec![error])
    }

    pub fn conflict(code: Code, detail: impl Into<String>) -> Self {
        Error::Conflict { code, detail: detail.into(), related: None, params: Params::new() }
    }

    /// The error, naming a value its detail gives (for a conflict; other errors are unchanged).
    pub fn with(mut self, name: &'static str, value: impl Into<serde_json::Value>) -> Self {
        if let Error::Conflict { params, .. } = &mut self {
            params.insert(name, value.into());
        }
        self
    }

    /// A conflict with another record, whose id the client can follow.
    pub fn conflict_with(code: Code, detail: impl Into<String>, related: uuid::Uuid) -> Self {
        Error::Conflict { code, detail: detail.into(), related: Some(related), params: Params::new() }
    }

    pub fn bad_request(code: Code, detail: impl Into<String>) -> Self {
        Error::BadRequest { code, detail: detail.into() }
    }

    pub fn unauthenticated(code: Code, detail: impl Into<String>) -> Self {
        Error::Unauthenticated { code, detail: detail.into() }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Error::Forbidden { detail: detail.into() }
    }

    /// A write of `field` that the caller's role may not make.
    pub fn field_forbidden(field: &str, detail: impl Into<String>) -> Self {
        Error::FieldForbidden { field: field.to_owned(), detail: detail.into() }
    }

    pub fn not_found(resource: &'static str) -> Self {
        Error::NotFound { resource }
    }

    /// A referenced record that does not exist is a bad field of the request; any other error
    /// (an unavailable database, say) passes through unchanged.
    pub fn missing_as_field(self, field: &str, message: &str) -> Self {
        match self {
            Error::NotFound { .. } => Error::field(field, "not_found", message),
            other => other,
        }
    }

    pub fn internal(context: impl fmt::Display) -> Self {
        Error::Internal(context.to_string())
    }
}

/// Collects field errors so that a request reports every bad field at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: &str, code: &str, message: impl fmt::Display) {
        self.0.push(FieldError::new(field, code, message.to_string()));
    }

    /// Records an error built with its values ([`FieldError::with`]).
    pub fn add(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Keeps the value of `result`, or records its validation errors under `field`.
    pub fn take<T>(&mut self, field: &str, result: Result<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(Error::Validation(errs)) => {
                for mut e in errs {
                    if e.field.is_empty() {
                        e.field = field.to_owned();
                    }
                    self.0.push(e);
                }
                None
            }
            Err(other) => {
                self.0.push(FieldError::new(field, "invalid", other.to_string()));
                None
            }
        }
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::Validation(self.0)) }
    }
}
