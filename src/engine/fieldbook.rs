//! The account's ticket fields (`GET ticket_fields`), read once and trusted for [`TTL`] (a
//! daemon picks up a field an admin adds within that time), and the typing of one ticket by
//! them ([`TicketFields::type_ticket`], pure: custom values and the `type`). A ticket with
//! neither needs no read.
//! While the fields cannot be read, a ticket that has custom fields waits (it is retried), as
//! its values cannot be typed; it is never sent untyped.

use super::cached::Cached;
use super::ports::Api;
use super::send::Sender;
use crate::domain::NewTicket;
use crate::freshdesk::{EndpointClass, TicketFields};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// How long a read list of fields is trusted.
const TTL: Duration = Duration::from_secs(600);
/// How soon an unreadable list is asked again.
const RETRY: Duration = Duration::from_secs(30);

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
    cache: Cached<Arc<TicketFields>>,
}

impl FieldBook {
    pub(crate) fn new() -> Self {
        Self { cache: Cached::new(TTL, RETRY) }
    }

    /// The account's fields, read when not known or older than [`TTL`].
    pub(crate) async fn fields<A: Api>(&self, sender: &Sender<A>) -> Result<Arc<TicketFields>, String> {
        let read = || async {
            sender.read(EndpointClass::Other, |api| api.ticket_fields()).await.map(|(f, _)| Arc::new(f)).inspect_err(
                |why| {
                    tracing::warn!(reason = %why, "Cannot read the account's ticket fields; tickets with custom fields wait.");
                },
            )
        };
        self.cache.get(read).await.map_err(|why| format!("cannot read the account's ticket fields ({why})"))
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
