//! The one pure function that turns an HTTP answer (status, headers, body) into an [`Answer`]
//! class (freshdesk-api.md §2, §3, §5, §7). Transport failures are classified by the client.

use super::answer::{Answer, ApiFieldError};
use super::quota;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::SystemTime;

/// Longest server message kept in an answer (HTML error pages are never kept).
const MAX_MESSAGE: usize = 300;

/// Classifies one answer; `Retry-After` dates are measured from the system clock.
pub fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> Answer {
    classify_at(status, headers, body, SystemTime::now())
}

/// [`classify`] with the clock given (tests).
pub fn classify_at(status: u16, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Answer {
    let parsed = Body::parse(body);
    match status {
        200..=299 => Answer::Success { status, body: parsed.json },
        429 => match parsed.code.as_deref() {
            Some(code @ ("outbound_limit_exceeded" | "recipient_limit_exceeded")) => Answer::Invalid {
                status,
                code: Some(code.to_string()),
                message: parsed.message_or(status),
                errors: parsed.errors,
            },
            _ => Answer::RateLimited { retry_after: quota::retry_after(headers, now) },
        },
        500..=599 => Answer::Transient { status: Some(status), reason: parsed.message_or(status) },
        404 if parsed.blank => Answer::NotFound,
        404 if parsed.is_domain_not_ready() => {
            Answer::Transient { status: Some(404), reason: parsed.message_or(status) }
        }
        404 => Answer::NotFound,
        401 => Answer::Auth {
            status,
            code: parsed.code.clone().unwrap_or_else(|| "invalid_credentials".into()),
            message: parsed.message_or(status),
        },
        403 => classify_403(parsed),
        409 => Answer::Conflict { errors: parsed.errors },
        _ => Answer::Invalid {
            status,
            message: parsed.message_or(status),
            code: parsed.code.or_else(|| parsed.errors.first().map(|e| e.code.clone())),
            errors: parsed.errors,
        },
    }
}

fn classify_403(parsed: Body) -> Answer {
    let code = parsed.code.clone().or_else(|| parsed.errors.first().map(|e| e.code.clone()));
    let message = parsed.message_or(403);
    match code.as_deref() {
        Some("account_suspended" | "ssl_required" | "password_expired" | "password_lockout") => {
            Answer::Auth { status: 403, code: code.unwrap_or_default(), message }
        }
        _ => Answer::Forbidden { code: code.unwrap_or_else(|| "access_denied".into()), message },
    }
}

/// What a body says, in any of Freshdesk's three shapes (validation, request, base).
struct Body {
    blank: bool,
    json: Value,
    code: Option<String>,
    message: Option<String>,
    errors: Vec<ApiFieldError>,
}

impl Body {
    fn parse(bytes: &[u8]) -> Body {
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        let json = if blank {
            Value::Null
        } else {
            serde_json::from_slice(bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
        };
        let text = |key: &str| json.get(key).and_then(Value::as_str).map(clip);
        let code = text("code");
        let message = text("message").or_else(|| text("description"));
        let errors = json
            .get("errors")
            .and_then(|e| serde_json::from_value::<Vec<ApiFieldError>>(e.clone()).ok())
            .unwrap_or_default();
        Body { blank, json, code, message, errors }
    }

    fn is_domain_not_ready(&self) -> bool {
        self.code.as_deref() == Some("domain_not_ready")
            || self.message.as_deref().is_some_and(|m| m.contains("getting moved"))
    }

    /// The server's message, else a description of the status (never an HTML page).
    fn message_or(&self, status: u16) -> String {
        self.message.clone().unwrap_or_else(|| {
            let reason = reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("unexpected status");
            format!("HTTP {status} {reason}")
        })
    }
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_MESSAGE) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests;
