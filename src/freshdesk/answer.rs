//! The classified, decoded answer to one Freshdesk request: what the engine decides on. Produced
//! only by `classify` (pure) and the client (for transport errors); consumed by the engine, the
//! pacer and the metrics. A 2xx proves something only when its body decodes as what the endpoint
//! returns ([`Decode`]); anything else is [`Answer::Unverifiable`], never a default.

use std::time::Duration;

/// The `X-RateLimit-*` headers of one answer, after the sanity checks of `quota::rate_headers`
/// (absent on 429s, on transport errors, and when a value is not believable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `X-RateLimit-Total`: the account's budget for the current window.
    pub total: Option<u32>,
    /// `X-RateLimit-Remaining`: what is left of it.
    pub remaining: Option<u32>,
    /// `X-RateLimit-Used-CurrentRequest`: credits this request used (1 plus extras).
    pub used: Option<u32>,
}

/// One item of a validation body: `{"field","nested_field","message","code"}`; the record a
/// duplicate points at is read into [`Existing`] by `classify`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ApiFieldError {
    #[serde(default)]
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nested_field: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: String,
}

/// What a 409 `duplicate_value` points at (`additional_info.agent_id` or `user_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// An agent with that email exists.
    Agent(u64),
    /// Only a contact has that email.
    Contact(u64),
}

/// Every answer falls in exactly one class (DESIGN.md, "Talking to Freshdesk"). `T` is what a
/// 2xx of this endpoint decodes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T = ()> {
    /// 2xx whose body decoded as this endpoint's result.
    Ok { status: u16, value: T },
    /// 2xx whose body is not this endpoint's result: wrong content type, HTML, truncated or
    /// malformed JSON, a missing or non-positive `id`. It proves nothing: a change is uncertain
    /// (reconciled before any resend), a lookup is unknown (never "absent").
    Unverifiable { status: u16, why: String },
    /// An answer longer than `limits.max_answer_bytes`: not read, not parsed. Treated like
    /// [`Answer::Unverifiable`].
    TooLarge { status: u16, limit: usize },
    /// 429 with `Retry-After`, clamped into 1 s ..= `limits.max_retry_after_secs`.
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
    /// 409 `duplicate_value`, and the record it names if it names one.
    Conflict { existing: Option<Existing>, errors: Vec<ApiFieldError> },
    /// Any other refusal that retrying cannot fix: 400 validation (with field errors), 405, 406,
    /// 413, 415, and the non-rate 429s (`outbound_limit_exceeded`, `recipient_limit_exceeded`).
    Invalid { status: u16, code: Option<String>, message: String, errors: Vec<ApiFieldError> },
}

/// The one judgement of an answer: what it proves about the request, and so whether asking
/// again can help. Every part of the engine (the worker, the send path's reads, the identity,
/// the breaker) matches on this instead of judging the answer's class again.
///
/// | verdict                                | answers                                                  |
/// |----------------------------------------|----------------------------------------------------------|
/// | `Ok`                                   | 2xx, decoded                                             |
/// | `RateLimited(after)`                   | 429 with `Retry-After`                                   |
/// | `Refused`                              | credentials or account refused (401, 403 `account_suspended` …) |
/// | `ProvesNothing { maybe_applied: true }`| no answer after sending, 502, 504, a 2xx unreadable or too large |
/// | `ProvesNothing { maybe_applied: false }`| other 5xx, `domain_not_ready`, a connection refused      |
/// | `Final`                                | 403 `access_denied`, 404, 409, 400 and the other refusals |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The endpoint's result.
    Ok,
    /// Ask again after this long; it says nothing about the request itself.
    RateLimited(Duration),
    /// Nothing can succeed until the credentials (or the account) are accepted again.
    Refused,
    /// Worth asking again. `maybe_applied`: a change sent may have landed all the same (no
    /// answer came, a gateway's 502 or 504 says nothing about the application behind it, a 2xx
    /// could not be read), so it is looked up before it is sent again.
    ProvesNothing { maybe_applied: bool },
    /// A definite answer about this request that asking again cannot change.
    Final,
}

impl<T> Answer<T> {
    /// The one judgement of this answer ([`Verdict`]).
    pub fn verdict(&self) -> Verdict {
        match self {
            Answer::Ok { .. } => Verdict::Ok,
            Answer::RateLimited { retry_after } => Verdict::RateLimited(*retry_after),
            Answer::Auth { .. } => Verdict::Refused,
            Answer::Transient { status: Some(502 | 504), .. }
            | Answer::Uncertain { .. }
            | Answer::Unverifiable { .. }
            | Answer::TooLarge { .. } => Verdict::ProvesNothing { maybe_applied: true },
            Answer::Transient { .. } => Verdict::ProvesNothing { maybe_applied: false },
            Answer::Forbidden { .. }
            | Answer::NotFound
            | Answer::Conflict { .. }
            | Answer::Invalid { .. } => Verdict::Final,
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Answer::Ok { .. })
    }

    /// A 2xx that could not be read (or was too large to read): proves nothing.
    pub fn is_unreadable(&self) -> bool {
        matches!(self, Answer::Unverifiable { .. } | Answer::TooLarge { .. })
    }

    /// The HTTP status, where an answer arrived.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Answer::Ok { status, .. }
            | Answer::Unverifiable { status, .. }
            | Answer::TooLarge { status, .. }
            | Answer::Auth { status, .. }
            | Answer::Invalid { status, .. } => Some(*status),
            Answer::RateLimited { .. } => Some(429),
            Answer::Transient { status, .. } => *status,
            Answer::Uncertain { .. } => None,
            Answer::Forbidden { .. } => Some(403),
            Answer::NotFound => Some(404),
            Answer::Conflict { .. } => Some(409),
        }
    }

    /// The same answer with the success value mapped.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answer<U> {
        match self {
            Answer::Ok { status, value } => Answer::Ok { status, value: f(value) },
            Answer::Unverifiable { status, why } => Answer::Unverifiable { status, why },
            Answer::TooLarge { status, limit } => Answer::TooLarge { status, limit },
            Answer::RateLimited { retry_after } => Answer::RateLimited { retry_after },
            Answer::Transient { status, reason } => Answer::Transient { status, reason },
            Answer::Uncertain { reason } => Answer::Uncertain { reason },
            Answer::Auth { status, code, message } => Answer::Auth { status, code, message },
            Answer::Forbidden { code, message } => Answer::Forbidden { code, message },
            Answer::NotFound => Answer::NotFound,
            Answer::Conflict { existing, errors } => Answer::Conflict { existing, errors },
            Answer::Invalid { status, code, message, errors } => {
                Answer::Invalid { status, code, message, errors }
            }
        }
    }

    /// `(error_code, message)` for the report: a one-line account of an answer that was not the
    /// op's own success, with every field error spelled out.
    pub fn describe(&self) -> (Option<String>, String) {
        match self {
            Answer::Ok { status, .. } => (None, format!("HTTP {status}")),
            Answer::Unverifiable { status, why } => (
                Some("unverifiable_answer".into()),
                format!("HTTP {status} with an unreadable answer: {why}"),
            ),
            Answer::TooLarge { status, limit } => (
                Some("answer_too_large".into()),
                format!(
                    "HTTP {status} with an answer over limits.max_answer_bytes ({limit} bytes); not read"
                ),
            ),
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
            Answer::Conflict { errors, .. } => (first_code(errors), field_errors(errors)),
            Answer::Invalid { code, message, errors, .. } => {
                let text = if errors.is_empty() { message.clone() } else { field_errors(errors) };
                (code.clone().or_else(|| first_code(errors)), text)
            }
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

/// An answer plus what came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<T = ()> {
    pub answer: Answer<T>,
    pub rate: RateHeaders,
    /// Time from sending the request to the end of the answer (or the failure).
    pub elapsed: Duration,
    /// A `Link: <..>; rel="next"` header was present: there is another page.
    pub next_page: bool,
}

impl<T> Reply<T> {
    /// A reply with no headers (transport errors, answers fdsync makes up itself).
    pub fn bare(answer: Answer<T>) -> Self {
        Reply { answer, rate: RateHeaders::default(), elapsed: Duration::ZERO, next_page: false }
    }
}

/// What a 2xx body of one endpoint must decode to. Implemented in each resource module; an
/// `Err` makes the answer [`Answer::Unverifiable`] with that reason.
pub trait Decode: Sized {
    /// `body` is the whole answer (at most `limits.max_answer_bytes`), blank for a 204.
    fn decode(body: &[u8]) -> Result<Self, String>;
}

/// A change with no result to read (`DELETE`): a blank body, or any well-formed JSON.
impl Decode for () {
    fn decode(body: &[u8]) -> Result<Self, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        serde_json::from_slice::<serde::de::IgnoredAny>(body)
            .map(|_| ())
            .map_err(|e| format!("not JSON ({e})"))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn err(field: &str, code: &str) -> ApiFieldError {
        ApiFieldError {
            field: field.into(),
            nested_field: None,
            message: "It should be a unique value".into(),
            code: code.into(),
        }
    }

    #[test]
    fn validation_failures_list_every_field() {
        let answer: Answer = Answer::Invalid {
            status: 400,
            code: None,
            message: "Validation failed".into(),
            errors: vec![err("priority", "invalid_value"), err("tags", "invalid_value")],
        };
        let (code, message) = answer.describe();
        assert_eq!(code.as_deref(), Some("invalid_value"));
        assert!(message.starts_with("priority: ") && message.contains("; tags: "), "{message}");
    }

    #[test]
    fn unreadable_answers_have_their_own_codes() {
        let a: Answer = Answer::Unverifiable { status: 200, why: "content type text/html, not JSON".into() };
        assert_eq!(a.describe().0.as_deref(), Some("unverifiable_answer"));
        let b: Answer = Answer::TooLarge { status: 200, limit: 1024 };
        assert_eq!(b.describe().0.as_deref(), Some("answer_too_large"));
        assert!(a.is_unreadable() && b.is_unreadable());
    }

    #[test]
    fn every_class_of_answer_has_one_verdict() {
        let s = Duration::from_secs(3);
        let transient = |status| Answer::<()>::Transient { status, reason: "x".into() };
        let table: Vec<(Answer, Verdict)> = vec![
            (Answer::Ok { status: 201, value: () }, Verdict::Ok),
            (Answer::RateLimited { retry_after: s }, Verdict::RateLimited(s)),
            (
                Answer::Auth { status: 401, code: "invalid_credentials".into(), message: "no".into() },
                Verdict::Refused,
            ),
            (Answer::Uncertain { reason: "timeout".into() }, Verdict::ProvesNothing { maybe_applied: true }),
            (transient(Some(502)), Verdict::ProvesNothing { maybe_applied: true }),
            (transient(Some(504)), Verdict::ProvesNothing { maybe_applied: true }),
            (
                Answer::Unverifiable { status: 200, why: "html".into() },
                Verdict::ProvesNothing { maybe_applied: true },
            ),
            (Answer::TooLarge { status: 200, limit: 1 }, Verdict::ProvesNothing { maybe_applied: true }),
            (transient(Some(503)), Verdict::ProvesNothing { maybe_applied: false }),
            (transient(Some(500)), Verdict::ProvesNothing { maybe_applied: false }),
            (transient(None), Verdict::ProvesNothing { maybe_applied: false }),
            (Answer::Forbidden { code: "access_denied".into(), message: "no".into() }, Verdict::Final),
            (Answer::NotFound, Verdict::Final),
            (Answer::Conflict { existing: None, errors: vec![] }, Verdict::Final),
            (
                Answer::Invalid { status: 400, code: None, message: "bad".into(), errors: vec![] },
                Verdict::Final,
            ),
        ];
        for (answer, verdict) in table {
            assert_eq!(answer.verdict(), verdict, "{answer:?}");
        }
    }

    #[test]
    fn a_change_without_a_result_accepts_blank_or_json_and_refuses_html() {
        assert!(<()>::decode(b"").is_ok());
        assert!(<()>::decode(b" \n").is_ok());
        assert!(<()>::decode(b"{}").is_ok());
        assert!(<()>::decode(b"<html>ok</html>").is_err());
        assert!(<()>::decode(b"{\"id\":").is_err());
    }
}
