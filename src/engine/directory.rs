//! The agent directory: one paged listing of all agents (`per_page=100`) used instead of one
//! `GET /agents?email=` per row, when a file has enough email-based agent rows for the listing to
//! be cheaper. A hit saves the lookup; a miss still looks up directly (an agent created after the
//! listing must not be missed); a cached id that answers 404 is forgotten and looked up again.

use super::Inner;
use super::ports::Api;
use crate::freshdesk::{Answer, EndpointClass};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Fewer pending email-based agent rows than this: look each up directly.
const MIN_ROWS: u64 = 20;
/// How long a listing is trusted, and how long a "not worth it" decision stands.
const TTL: Duration = Duration::from_secs(600);
const RECHECK: Duration = Duration::from_secs(60);
const PER_PAGE: u32 = 100;

#[derive(Default)]
pub(crate) enum DirState {
    #[default]
    Undecided,
    Unused {
        until: Instant,
    },
    Loaded {
        by_email: HashMap<String, Value>,
        until: Instant,
    },
}

impl<A: Api> Inner<A> {
    /// The agent with this (lower-cased) email from the directory, when one is loaded and lists it.
    pub(crate) async fn directory_lookup(&self, email_key: &str) -> Option<Value> {
        let mut state = self.directory.lock().await;
        let now = Instant::now();
        let expired = match &*state {
            DirState::Undecided => true,
            DirState::Unused { until } | DirState::Loaded { until, .. } => now >= *until,
        };
        if expired {
            *state = self.load_directory().await;
        }
        match &*state {
            DirState::Loaded { by_email, .. } => by_email.get(email_key).cloned(),
            _ => None,
        }
    }

    /// Drops an entry that proved stale (or was just deleted).
    pub(crate) async fn directory_forget(&self, email_key: &str) {
        if let DirState::Loaded { by_email, .. } = &mut *self.directory.lock().await {
            by_email.remove(email_key);
        }
    }

    /// Lists every agent if that is cheaper than a lookup per pending row: at most half as many
    /// pages as there are rows, else the listing is abandoned.
    async fn load_directory(&self) -> DirState {
        let now = Instant::now();
        let rows = self.journal.pending_email_agent_ops().await.unwrap_or(0);
        if rows < MIN_ROWS {
            return DirState::Unused { until: now + RECHECK };
        }
        let max_pages = (rows / 2).max(1) as u32;
        let mut by_email = HashMap::new();
        for page in 1..=max_pages {
            let reply = self.lookup(EndpointClass::Other, self.api.list_agents(page, PER_PAGE)).await;
            let Answer::Success { body, .. } = &reply.answer else {
                tracing::info!("Agent listing unavailable; looking agents up one by one.");
                return DirState::Unused { until: now + RECHECK };
            };
            for agent in body.as_array().into_iter().flatten() {
                if let Some(email) = agent.pointer("/contact/email").and_then(Value::as_str) {
                    by_email.insert(email.to_lowercase(), agent.clone());
                }
            }
            if !reply.next_page {
                tracing::info!(agents = by_email.len(), pages = page, rows, "Agent directory loaded.");
                return DirState::Loaded { by_email, until: Instant::now() + TTL };
            }
        }
        tracing::info!(
            rows,
            "Agent listing longer than the rows it would save; looking agents up one by one."
        );
        DirState::Unused { until: now + RECHECK }
    }
}
