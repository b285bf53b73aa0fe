//! Whose credentials these are (`GET agents/me`): that agent is never deleted. Safety fails
//! closed: a delete runs only when the answer parsed as an agent with an id and an email. Any
//! other answer leaves the identity unknown; creates and lookups go on, deletes wait (and their
//! file is held with the reason), and the identity is asked again at most once a minute.

use crate::engine::RunEnd;
use crate::engine::ports::Api;
use crate::engine::retry;
use crate::engine::send::{Sender, Unread};
use crate::freshdesk::{EndpointClass, Me};
use std::time::{Duration, Instant};

/// How often an unknown identity is asked again, when a delete needs it.
const RETRY_UNKNOWN: Duration = Duration::from_secs(60);

/// The hold reason when the identity is unknown.
pub(crate) const UNKNOWN_REASON: &str = "cannot tell whose API key this is; deletes wait";

enum State {
    NotAsked,
    Known(Me),
    Unknown { why: String, ask_again: Instant },
}

pub(crate) struct Identity {
    state: tokio::sync::Mutex<State>,
}

impl Identity {
    pub(crate) fn new() -> Self {
        Self { state: tokio::sync::Mutex::new(State::NotAsked) }
    }

    /// Asks once at the start of a run. `Err` only when a one-shot run must stop (credentials
    /// refused); an unreadable or refused `me` leaves the identity unknown and the run goes on.
    pub(crate) async fn learn<A: Api>(&self, sender: &Sender<A>) -> Result<(), RunEnd> {
        let mut state = self.state.lock().await;
        if let State::NotAsked = *state {
            *state = ask(sender).await?;
        }
        Ok(())
    }

    /// The key's owner, for a delete: known, or why not (asking again when it is time to).
    pub(crate) async fn for_delete<A: Api>(&self, sender: &Sender<A>) -> Result<Me, String> {
        let mut state = self.state.lock().await;
        let due = match &*state {
            State::Known(me) => return Ok(me.clone()),
            State::NotAsked => true,
            State::Unknown { ask_again, .. } => Instant::now() >= *ask_again,
        };
        if due {
            *state = ask(sender).await.unwrap_or_else(|end| unknown(format!("{end:?}")));
        }
        match &*state {
            State::Known(me) => Ok(me.clone()),
            State::Unknown { why, .. } => Err(format!("{UNKNOWN_REASON} ({why})")),
            State::NotAsked => Err(UNKNOWN_REASON.to_string()),
        }
    }
}

fn unknown(why: String) -> State {
    tracing::warn!(reason = %why, "Cannot tell whose API key this is; deletes wait until it can.");
    State::Unknown { why, ask_again: Instant::now() + RETRY_UNKNOWN }
}

/// `GET agents/me` through passing trouble ([`retry::IDENTITY_READ`]); a one-shot run that must
/// stop while it waits (credentials refused, Freshdesk unreachable) stops with that reason.
async fn ask<A: Api>(sender: &Sender<A>) -> Result<State, RunEnd> {
    let me =
        sender.read_as(&retry::IDENTITY_READ, EndpointClass::Other, |api| api.me(), || sender.health().end());
    match me.await {
        Ok((me, _)) => Ok(State::Known(me)),
        Err(Unread::Stopped(end)) => Err(end),
        Err(Unread::Refused(_)) => Ok(unknown("Freshdesk refused the credentials".into())),
        Err(Unread::Paused) => Ok(unknown("requests are paused".into())),
        Err(Unread::Final(why) | Unread::Exhausted(why)) => Ok(unknown(why)),
    }
}
