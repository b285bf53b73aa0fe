//! What the engine concludes, shared by the worker, the safety rules, undo, reconciliation and
//! the preview: a [`Next`] for an op, a [`Lookup`] for the agent a row names, a [`Found`] for
//! what a reconciliation lookup proved, and the common handling of answers that are not an op's
//! own success ([`otherwise`]). A leaf: it imports nothing else from the engine, so every part
//! above can share it without importing each other.

use crate::domain::Outcome;
use crate::freshdesk::{Agent, Answer, Verdict};
use crate::journal::OpResult;
use std::time::Duration;

/// What a worker concluded about one op.
#[derive(Debug, PartialEq)]
pub(crate) enum Next {
    Final(OpResult),
    /// Try again after `delay`; `refund`: the attempt does not count (429, refused credentials,
    /// a pause fdsync decided on itself).
    Retry {
        refund: bool,
        delay: Duration,
        code: Option<String>,
        message: String,
        http_status: Option<u16>,
    },
    /// A change got no readable answer: reconcile before anything is re-sent.
    Uncertain {
        sent_at: i64,
    },
    /// The op cannot run safely now: hold its file with this reason (the op stays pending).
    Hold {
        reason: String,
    },
}

/// How long an op waits when the breaker held it back (nothing was sent).
const PAUSED: Duration = Duration::from_secs(1);

pub(crate) fn done(
    outcome: Outcome,
    id: Option<u64>,
    http_status: Option<u16>,
    message: impl Into<String>,
) -> Next {
    Next::Final(OpResult {
        outcome,
        freshdesk_id: id,
        http_status,
        error_code: None,
        message: message.into(),
    })
}

/// A final failure decided by fdsync itself (safety rules), with no HTTP status.
pub(crate) fn refused(code: &str, message: String) -> Next {
    Next::Final(OpResult {
        outcome: Outcome::Failed,
        freshdesk_id: None,
        http_status: None,
        error_code: Some(code.into()),
        message,
    })
}

pub(crate) fn paused() -> Next {
    Next::Retry {
        refund: true,
        delay: PAUSED,
        code: None,
        message: "paused: Freshdesk keeps failing".into(),
        http_status: None,
    }
}

/// The common handling of answers that are not the op's own success.
pub(crate) fn otherwise<T>(answer: &Answer<T>, sent_at: i64, mutating: bool) -> Next {
    let (code, message) = answer.describe();
    let http_status = answer.http_status();
    let retry = |refund, delay| Next::Retry {
        refund,
        delay,
        code: code.clone(),
        message: message.clone(),
        http_status,
    };
    match answer.verdict() {
        Verdict::RateLimited(after) => retry(true, after),
        // Not the row's fault: retried when the credentials work again, no attempt spent.
        Verdict::Refused => retry(true, PAUSED),
        // A change that may have landed is looked up before anything is sent again.
        Verdict::ProvesNothing { maybe_applied: true } if mutating => Next::Uncertain { sent_at },
        Verdict::ProvesNothing { .. } => retry(false, Duration::ZERO),
        // An answer that is not the op's own success (the caller matched that first).
        Verdict::Ok | Verdict::Final => Next::Final(OpResult {
            outcome: Outcome::Failed,
            freshdesk_id: None,
            http_status,
            error_code: code,
            message,
        }),
    }
}

/// Where the target of an agent row was found.
pub(crate) enum Lookup {
    Found { agent: Agent, cached: bool, status: Option<u16> },
    Missing { status: Option<u16> },
    Failed(Next),
}

/// What a reconciliation lookup proved.
#[derive(Debug, PartialEq)]
pub(crate) enum Found {
    /// The change is there: finish the op with this outcome and id.
    Applied(Outcome, Option<u64>),
    /// The change is certainly not there: send it again.
    Absent,
    /// Could not tell. `unreadable`: the answer could not be read (counts toward giving up).
    Unknown { why: String, wait: Option<Duration>, unreadable: bool },
}

impl Found {
    /// A lookup answer that proves nothing either way.
    pub(crate) fn unknown<T>(answer: &Answer<T>) -> Found {
        let wait = match answer.verdict() {
            Verdict::RateLimited(after) => Some(after),
            _ => None,
        };
        Found::Unknown { why: answer.describe().1, wait, unreadable: answer.is_unreadable() }
    }

    /// The breaker held the lookup back: nothing was asked.
    pub(crate) fn paused() -> Found {
        Found::Unknown {
            why: "paused: Freshdesk keeps failing".into(),
            wait: Some(PAUSED),
            unreadable: false,
        }
    }
}
