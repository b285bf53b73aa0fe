//! The one pure function that turns an HTTP answer (status, headers, body) into an [`Answer`]
//! class (freshdesk-api.md §2, §3, §5, §7), decoding a 2xx body into the endpoint's typed result.
//! An answer proves only what it parses as: a 2xx that is not JSON, or not the endpoint's shape,
//! is `Unverifiable`; a 404 with a body that is not Freshdesk's is too. Transport failures and
//! answers too large to read are classified by the client.

use super::answer::{Answer, ApiFieldError, Decode, Existing};
use super::quota;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::Deserialize;
use std::time::{Duration, SystemTime};

/// Longest server message kept in an answer (HTML error pages are never kept).
const MAX_MESSAGE: usize = 300;

/// Classifies one answer; `Retry-After` dates are measured from the system clock and clamped
/// into 1 s ..= `max_retry_after`.
pub fn classify<T: Decode>(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    max_retry_after: Duration,
) -> Answer<T> {
    classify_at(status, headers, body, SystemTime::now(), max_retry_after)
}

/// [`classify`] with the clock given (tests).
pub fn classify_at<T: Decode>(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    max_retry_after: Duration,
) -> Answer<T> {
    if (200..=299).contains(&status) {
        return decode_success(status, headers, body);
    }
    let parsed = Body::parse(body);
    match status {
        429 => match parsed.code.as_deref() {
            Some(code @ ("outbound_limit_exceeded" | "recipient_limit_exceeded")) => Answer::Invalid {
                status,
                code: Some(code.to_string()),
                message: parsed.message_or(status),
                errors: parsed.errors,
            },
            _ => Answer::RateLimited { retry_after: quota::retry_after(headers, now, max_retry_after) },
        },
        500..=599 => Answer::Transient { status: Some(status), reason: parsed.message_or(status) },
        404 if parsed.blank => Answer::NotFound,
        404 if parsed.is_domain_not_ready() => {
            Answer::Transient { status: Some(404), reason: parsed.message_or(status) }
        }
        // Freshdesk's 404 for a missing record is empty: a page here is a proxy's, proving nothing.
        404 => Answer::Unverifiable { status, why: "a 404 with a body that is not Freshdesk's".into() },
        401 => Answer::Auth {
            status,
            code: parsed.code.clone().unwrap_or_else(|| "invalid_credentials".into()),
            message: parsed.message_or(status),
        },
        403 => classify_403(parsed),
        409 => Answer::Conflict { existing: parsed.existing, errors: parsed.errors },
        _ => Answer::Invalid {
            status,
            message: parsed.message_or(status),
            code: parsed.code.or_else(|| parsed.errors.first().map(|e| e.code.clone())),
            errors: parsed.errors,
        },
    }
}

/// A 2xx: JSON (by content type, when there is a body) that decodes as the endpoint's result.
fn decode_success<T: Decode>(status: u16, headers: &HeaderMap, body: &[u8]) -> Answer<T> {
    let blank = body.iter().all(u8::is_ascii_whitespace);
    if !blank {
        let kind = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(kind) {
            let kind = if kind.is_empty() { "none".to_string() } else { clip(kind) };
            return Answer::Unverifiable { status, why: format!("content type {kind}, not JSON") };
        }
    }
    match T::decode(body) {
        Ok(value) => Answer::Ok { status, value },
        Err(why) => Answer::Unverifiable { status, why: clip(&why) },
    }
}

/// `application/json`, with parameters, or any `+json` type.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn classify_403<T>(parsed: Body) -> Answer<T> {
    let code = parsed.code.clone().or_else(|| parsed.errors.first().map(|e| e.code.clone()));
    let message = parsed.message_or(403);
    match code.as_deref() {
        Some("account_suspended" | "ssl_required" | "password_expired" | "password_lockout") => {
            Answer::Auth { status: 403, code: code.unwrap_or_default(), message }
        }
        _ => Answer::Forbidden { code: code.unwrap_or_else(|| "access_denied".into()), message },
    }
}

/// Any of Freshdesk's three error shapes (validation, request, base), read into typed fields.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(flatten)]
    error: ApiFieldError,
    #[serde(default)]
    additional_info: Option<AdditionalInfo>,
}

#[derive(Deserialize)]
struct AdditionalInfo {
    #[serde(default)]
    agent_id: Option<IdValue>,
    #[serde(default)]
    user_id: Option<IdValue>,
}

/// An id as a number or a numeric string.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Number(u64),
    Text(String),
}

impl IdValue {
    fn get(&self) -> Option<u64> {
        match self {
            IdValue::Number(n) => Some(*n),
            IdValue::Text(s) => s.trim().parse().ok(),
        }
        .filter(|id| *id > 0)
    }
}

/// What an error body says.
struct Body {
    blank: bool,
    code: Option<String>,
    message: Option<String>,
    errors: Vec<ApiFieldError>,
    existing: Option<Existing>,
}

impl Body {
    fn parse(bytes: &[u8]) -> Body {
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        let raw: ErrorBody =
            if blank { ErrorBody::default() } else { serde_json::from_slice(bytes).unwrap_or_default() };
        let existing = raw.errors.iter().filter_map(|e| e.additional_info.as_ref()).find_map(|info| {
            info.agent_id
                .as_ref()
                .and_then(IdValue::get)
                .map(Existing::Agent)
                .or_else(|| info.user_id.as_ref().and_then(IdValue::get).map(Existing::Contact))
        });
        Body {
            blank,
            code: raw.code.as_deref().map(clip),
            message: raw.message.or(raw.description).as_deref().map(clip),
            errors: raw.errors.into_iter().map(|e| e.error).collect(),
            existing,
        }
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

pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_MESSAGE) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests;
