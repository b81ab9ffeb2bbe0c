//! Turns `validator`'s nested report into the flat field list of a problem.

use tongxing_core::FieldError;
use validator::{ValidationErrors, ValidationErrorsKind};

pub fn flatten(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk("", errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn walk(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message = e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| describe(e));
                    let mut error = FieldError::new(path.clone(), e.code.to_string(), message);
                    // The bounds only: `value` would quote what was sent.
                    for name in ["min", "max"] {
                        if let Some(bound) = e.params.get(name) {
                            error = error.with(name, bound.clone());
                        }
                    }
                    out.push(error);
                }
            }
            ValidationErrorsKind::Struct(inner) => walk(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    walk(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

fn describe(e: &validator::ValidationError) -> String {
    let param = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (None, Some(max)) => format!("length must be at most {max}"),
            (Some(min), None) => format!("length must be at least {min}"),
            _ => "invalid length".to_owned(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            _ => "out of range".to_owned(),
        },
        other => format!("invalid ({other})"),
    }
}
