//! Whose credentials these are (`GET agents/me`): that agent is never deleted. Safety fails
//! closed: a delete runs only when the answer parsed as an agent with an id and an email. Any
//! other answer leaves the identity unknown; creates and lookups go on, deletes wait (and their
//! file is held with the reason), and the identity is asked again at most once a minute.

use crate::engine::RunEnd;
use crate::engine::ports::Api;
use crate::engine::send::Sender;
use crate::freshdesk::{Answer, EndpointClass, Me, Verdict};
use std::time::{Duration, Instant};

/// How often an unknown identity is asked again, when a delete needs it.
const RETRY_UNKNOWN: Duration = Duration::from_secs(60);
/// Answers (other than 429s) tried before the identity is left unknown for now.
const ATTEMPTS: u32 = 3;
/// 429s tolerated in one attempt to learn it (each waits out its Retry-After in the pacer).
const MAX_RATE_LIMITED: u32 = 20;

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

async fn ask<A: Api>(sender: &Sender<A>) -> Result<State, RunEnd> {
    let (mut tries, mut limited) = (0, 0);
    let mut last = String::from("no answer");
    while tries < ATTEMPTS && limited < MAX_RATE_LIMITED {
        let Some(reply) = sender.send(EndpointClass::Other, |api| api.me()).await else {
            // The breaker holds requests: whatever made it open is the answer for now.
            if let Some(end) = sender.health().end() {
                return Err(end);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            tries += 1;
            continue;
        };
        let answer = match reply.answer {
            Answer::Ok { value, .. } => return Ok(State::Known(value)),
            other => other,
        };
        match answer.verdict() {
            Verdict::Refused => {
                if let Some(end) = sender.health().end() {
                    return Err(end);
                }
                return Ok(unknown("Freshdesk refused the credentials".into()));
            }
            // The pacer waits out the Retry-After before the next permit.
            Verdict::RateLimited(_) => {
                limited += 1;
                if let Some(end) = sender.health().end() {
                    return Err(end);
                }
                continue;
            }
            Verdict::ProvesNothing { .. } => {
                last = answer.describe().1;
                tokio::time::sleep(crate::engine::retry::IDENTITY.after(tries)).await;
                tries += 1;
            }
            Verdict::Ok | Verdict::Final => return Ok(unknown(answer.describe().1)),
        }
    }
    Ok(unknown(last))
}
