//! The classified answer to one Freshdesk request: what the engine decides on. Produced only by
//! `classify` (pure) and the client (for transport errors); consumed by the engine and the pacer.

use serde_json::Value;
use std::time::Duration;

/// The `X-RateLimit-*` headers of one answer (absent on 429s and on transport errors).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `X-RateLimit-Total`: the account's budget for the current window.
    pub total: Option<u32>,
    /// `X-RateLimit-Remaining`: what is left of it (never below 0).
    pub remaining: Option<u32>,
    /// `X-RateLimit-Used-CurrentRequest`: credits this request used (1 plus extras).
    pub used: Option<u32>,
}

/// One item of a validation body: `{"field","nested_field","additional_info","message","code"}`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct ApiFieldError {
    #[serde(default)]
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nested_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: String,
}

/// Every answer falls in exactly one class (DESIGN.md, "Talking to Freshdesk").
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// 2xx. `body` is `Value::Null` for an empty body (204).
    Success { status: u16, body: Value },
    /// 429 with `Retry-After` (seconds; 1 when the header is missing or unreadable).
    RateLimited { retry_after: Duration },
    /// Worth retrying later, and certainly not applied: 5xx, 404 `domain_not_ready`, a connection
    /// refused before anything was sent.
    Transient { status: Option<u16>, reason: String },
    /// The request may have reached Freshdesk but no answer came back (timeout after sending,
    /// connection closed mid-answer). A mutating op in this state must be reconciled.
    Uncertain { reason: String },
    /// Credentials refused or the account unusable: 401, 403 `account_suspended`,
    /// `ssl_required`, `password_expired`, `password_lockout`. Pauses the whole pipeline.
    Auth { status: u16, code: String, message: String },
    /// 403 `access_denied` (or `require_feature`) on this request: the row fails, others go on.
    Forbidden { code: String, message: String },
    /// 404 with an empty (or blank) body: no such record or route.
    NotFound,
    /// 409 `duplicate_value`; `additional_info` names the existing `agent_id` or `user_id`.
    Conflict { errors: Vec<ApiFieldError> },
    /// Any other refusal that retrying cannot fix: 400 validation (with field errors), 405, 406,
    /// 413, 415, and the non-rate 429s (`outbound_limit_exceeded`, `recipient_limit_exceeded`).
    Invalid { status: u16, code: Option<String>, message: String, errors: Vec<ApiFieldError> },
}

impl Answer {
    pub fn is_success(&self) -> bool {
        matches!(self, Answer::Success { .. })
    }

    /// The HTTP status, where an answer arrived.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Answer::Success { status, .. } | Answer::Auth { status, .. } | Answer::Invalid { status, .. } => {
                Some(*status)
            }
            Answer::RateLimited { .. } => Some(429),
            Answer::Transient { status, .. } => *status,
            Answer::Uncertain { .. } => None,
            Answer::Forbidden { .. } => Some(403),
            Answer::NotFound => Some(404),
            Answer::Conflict { .. } => Some(409),
        }
    }
}

/// An answer plus what came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub answer: Answer,
    pub rate: RateHeaders,
    /// Time from sending the request to the end of the answer (or the failure).
    pub elapsed: Duration,
    /// A `Link: <..>; rel="next"` header was present: there is another page.
    pub next_page: bool,
}

/// The endpoint classes Freshdesk caps separately (freshdesk-api.md §2); `Other` counts only
/// against the account-wide budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointClass {
    TicketCreate,
    TicketUpdate,
    TicketsList,
    ContactsList,
    Other,
}
