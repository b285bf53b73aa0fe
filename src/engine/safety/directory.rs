//! The agent directory: one paged listing of all agents (`per_page=100`) used instead of one
//! `GET /agents?email=` per row, when a file has enough email-based agent rows for the listing to
//! be cheaper. A hit saves the lookup; a miss still looks up directly (an agent created after the
//! listing must not be missed); a cached id that answers 404 is forgotten and looked up again.

use crate::engine::ports::Api;
use crate::engine::send::Sender;
use crate::freshdesk::{Agent, EndpointClass};
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
        /// Every agent listed, with or without an email (the volume guard's base).
        total: usize,
        until: Instant,
    },
}

/// Most pages read to count the account's agents (100,000 agents).
const MAX_COUNT_PAGES: u32 = 1000;

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

    /// How many agents the account has now: the loaded listing's count, else a full listing
    /// (kept for lookups). `Err` says why it cannot be told; the volume guard then holds.
    pub(crate) async fn count<A: Api>(&self, sender: &Sender<A>) -> Result<usize, String> {
        let mut state = self.state.lock().await;
        if let DirState::Loaded { total, until, .. } = &*state
            && Instant::now() < *until
        {
            return Ok(*total);
        }
        let (by_email, total) = list_all(sender, MAX_COUNT_PAGES).await?;
        *state = DirState::Loaded { by_email, total, until: Instant::now() + TTL };
        Ok(total)
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
    match list_all(sender, max_pages).await {
        Ok((by_email, total)) => DirState::Loaded { by_email, total, until: Instant::now() + TTL },
        Err(why) => {
            tracing::info!(rows, reason = %why, "Looking agents up one by one.");
            DirState::Unused { until: now + RECHECK }
        }
    }
}

/// Lists every agent in at most `max_pages` pages: by email, and how many in all; or why not.
async fn list_all<A: Api>(
    sender: &Sender<A>,
    max_pages: u32,
) -> Result<(HashMap<String, Agent>, usize), String> {
    let (mut by_email, mut total) = (HashMap::new(), 0usize);
    for page in 1..=max_pages {
        let (agents, next_page) = sender
            .read(EndpointClass::Other, |api| api.list_agents(page, PER_PAGE))
            .await
            .map_err(|why| format!("the agent listing is unavailable: {why}"))?;
        total += agents.len();
        for agent in agents {
            if let Some(email) = agent.email.clone() {
                by_email.insert(email, agent);
            }
        }
        if !next_page {
            tracing::info!(agents = total, pages = page, "Agent directory loaded.");
            return Ok((by_email, total));
        }
    }
    Err(format!("the agent listing is longer than {max_pages} pages"))
}
