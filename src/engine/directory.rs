//! The agent directory: one paged listing of all agents (`per_page=100`) used instead of one
//! `GET /agents?email=` per row, when a file has enough email-based agent rows for the listing to
//! be cheaper. A hit saves the lookup; a miss still looks up directly (an agent created after the
//! listing must not be missed); a cached id that answers 404 is forgotten and looked up again.

use super::ports::Api;
use super::send::Sender;
use crate::freshdesk::{Agent, Answer, EndpointClass};
use crate::journal::Journal;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Fewer pending email-based agent rows than this: look each up directly.
const MIN_ROWS: u64 = 20;
/// How long a listing is trusted, and how long a "not worth it" decision stands.
const TTL: Duration = Duration::from_secs(600);
const RECHECK: Duration = Duration::from_secs(60);
const PER_PAGE: u32 = 100;

#[derive(Default)]
enum DirState {
    #[default]
    Undecided,
    Unused {
        until: Instant,
    },
    Loaded {
        by_email: HashMap<String, Agent>,
        until: Instant,
    },
}

/// The listing and when to trust it; an async lock so one listing serves every worker.
#[derive(Default)]
pub(crate) struct AgentDirectory {
    state: tokio::sync::Mutex<DirState>,
}

impl AgentDirectory {
    /// The agent with this (lower-cased) email, when a listing is loaded and lists it.
    pub(crate) async fn lookup<A: Api>(
        &self,
        journal: &Journal,
        sender: &Sender<A>,
        email_key: &str,
    ) -> Option<Agent> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let expired = match &*state {
            DirState::Undecided => true,
            DirState::Unused { until } | DirState::Loaded { until, .. } => now >= *until,
        };
        if expired {
            *state = load(journal, sender).await;
        }
        match &*state {
            DirState::Loaded { by_email, .. } => by_email.get(email_key).cloned(),
            _ => None,
        }
    }

    /// Drops an entry that proved stale (or was just deleted).
    pub(crate) async fn forget(&self, email_key: &str) {
        if let DirState::Loaded { by_email, .. } = &mut *self.state.lock().await {
            by_email.remove(email_key);
        }
    }
}

/// Lists every agent if that is cheaper than a lookup per pending row: at most half as many
/// pages as there are rows, else the listing is abandoned. A page that is not a readable list
/// of agents abandons it too (rows are then looked up one by one).
async fn load<A: Api>(journal: &Journal, sender: &Sender<A>) -> DirState {
    let now = Instant::now();
    let rows = journal.pending_email_agent_ops().await.unwrap_or(0);
    if rows < MIN_ROWS {
        return DirState::Unused { until: now + RECHECK };
    }
    let max_pages = u32::try_from(rows / 2).unwrap_or(u32::MAX).max(1);
    let mut by_email = HashMap::new();
    for page in 1..=max_pages {
        let reply = sender.send(EndpointClass::Other, |api| api.list_agents(page, PER_PAGE)).await;
        let Some(reply) = reply else {
            return DirState::Unused { until: now + RECHECK };
        };
        let Answer::Ok { value: agents, .. } = reply.answer else {
            tracing::info!("Agent listing unavailable; looking agents up one by one.");
            return DirState::Unused { until: now + RECHECK };
        };
        for agent in agents {
            if let Some(email) = agent.email.clone() {
                by_email.insert(email, agent);
            }
        }
        if !reply.next_page {
            tracing::info!(agents = by_email.len(), pages = page, rows, "Agent directory loaded.");
            return DirState::Loaded { by_email, until: Instant::now() + TTL };
        }
    }
    tracing::info!(rows, "Agent listing longer than the rows it would save; looking agents up one by one.");
    DirState::Unused { until: now + RECHECK }
}
