//! A one-line account of a refusal for the report (`error_code`, `message`). Pure.

use crate::freshdesk::{Answer, ApiFieldError};

/// `(error_code, message)` for a refusal, with every field error spelled out.
pub fn describe(answer: &Answer) -> (Option<String>, String) {
    match answer {
        Answer::Success { status, .. } => (None, format!("HTTP {status}")),
        Answer::RateLimited { retry_after } => {
            (Some("rate_limited".into()), format!("rate limited, retry after {}s", retry_after.as_secs()))
        }
        Answer::Transient { status, reason } => (
            Some("transient".into()),
            match status {
                Some(s) => format!("HTTP {s}: {reason}"),
                None => reason.clone(),
            },
        ),
        Answer::Uncertain { reason } => (Some("no_answer".into()), reason.clone()),
        Answer::Auth { code, message, .. } | Answer::Forbidden { code, message } => {
            (Some(code.clone()), message.clone())
        }
        Answer::NotFound => (Some("not_found".into()), "not found".into()),
        Answer::Conflict { errors } => (first_code(errors), field_errors(errors)),
        Answer::Invalid { code, message, errors, .. } => {
            let text = if errors.is_empty() { message.clone() } else { field_errors(errors) };
            (code.clone().or_else(|| first_code(errors)), text)
        }
    }
}

fn first_code(errors: &[ApiFieldError]) -> Option<String> {
    errors.first().map(|e| e.code.clone()).filter(|c| !c.is_empty())
}

fn field_errors(errors: &[ApiFieldError]) -> String {
    errors
        .iter()
        .map(|e| {
            let field = e.nested_field.as_deref().unwrap_or(&e.field);
            format!("{field}: {} ({})", e.message, e.code)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(field: &str, code: &str, info: Option<serde_json::Value>) -> ApiFieldError {
        ApiFieldError {
            field: field.into(),
            nested_field: None,
            additional_info: info,
            message: "It should be a unique value".into(),
            code: code.into(),
        }
    }

    #[test]
    fn validation_failures_list_every_field() {
        let answer = Answer::Invalid {
            status: 400,
            code: None,
            message: "Validation failed".into(),
            errors: vec![err("priority", "invalid_value", None), err("tags", "invalid_value", None)],
        };
        let (code, message) = describe(&answer);
        assert_eq!(code.as_deref(), Some("invalid_value"));
        assert!(message.starts_with("priority: ") && message.contains("; tags: "), "{message}");
    }
}
