//! The account's ticket fields (`GET ticket_fields`), read once and trusted for [`TTL`] (a
//! daemon picks up a field an admin adds within that time), and the typing of one ticket by
//! them ([`TicketFields::type_ticket`], pure: custom values and the `type`). A ticket with
//! neither needs no read.
//! While the fields cannot be read, a ticket that has custom fields waits (it is retried), as
//! its values cannot be typed; it is never sent untyped.

use super::ports::Api;
use super::send::Sender;
use crate::domain::NewTicket;
use crate::freshdesk::{EndpointClass, TicketFields};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a read list of fields is trusted.
const TTL: Duration = Duration::from_secs(600);
/// How soon an unreadable list is asked again.
const RETRY: Duration = Duration::from_secs(30);

enum State {
    NotAsked,
    Known { fields: Arc<TicketFields>, until: Instant },
    Unknown { why: String, ask_again: Instant },
}

/// What typing a ticket found (one at a time, so the ticket is not boxed).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Typed<'t> {
    /// Ready to send: its custom fields as the account's fields take them.
    Ready(Cow<'t, NewTicket>),
    /// A value cannot be converted: the row is refused before any call, with why.
    Bad(String),
    /// The account's fields cannot be read now: try again later.
    Unknown(String),
}

pub(crate) struct FieldBook {
    state: tokio::sync::Mutex<State>,
}

impl FieldBook {
    pub(crate) fn new() -> Self {
        Self { state: tokio::sync::Mutex::new(State::NotAsked) }
    }

    /// The account's fields, read when not known or older than [`TTL`].
    pub(crate) async fn fields<A: Api>(&self, sender: &Sender<A>) -> Result<Arc<TicketFields>, String> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let due = match &*state {
            State::NotAsked => true,
            State::Known { until, .. } => now >= *until,
            State::Unknown { ask_again, .. } => now >= *ask_again,
        };
        if due {
            *state = match sender.read(EndpointClass::Other, |api| api.ticket_fields()).await {
                Ok((fields, _)) => State::Known { fields: Arc::new(fields), until: now + TTL },
                Err(why) => {
                    tracing::warn!(reason = %why, "Cannot read the account's ticket fields; tickets with custom fields wait.");
                    State::Unknown { why, ask_again: now + RETRY }
                }
            };
        }
        match &*state {
            State::Known { fields, .. } => Ok(fields.clone()),
            State::Unknown { why, .. } => Err(format!("cannot read the account's ticket fields ({why})")),
            State::NotAsked => Err("the account's ticket fields were not read".into()),
        }
    }

    /// `t` typed by the account's fields (no read when it has no custom fields).
    pub(crate) async fn type_ticket<'t, A: Api>(&self, sender: &Sender<A>, t: &'t NewTicket) -> Typed<'t> {
        if t.custom_fields.is_empty() && t.ticket_type.is_none() {
            return Typed::Ready(Cow::Borrowed(t));
        }
        let fields = match self.fields(sender).await {
            Ok(f) => f,
            Err(why) => return Typed::Unknown(why),
        };
        match fields.type_ticket(t) {
            Ok(typed) => Typed::Ready(Cow::Owned(typed)),
            Err(errors) => {
                Typed::Bad(errors.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>().join("; "))
            }
        }
    }
}
