//! The SCIM service's view of the account's agents: one paged listing (100 per page, through the
//! engine's pacer), trusted for [`MAX_AGE`] and kept fresh by fdsync's own changes (a
//! deprovisioned agent is dropped, a created or restored one put in), so an identity provider's
//! cycle over N unchanged users costs about N/100 calls instead of N. While Freshdesk answers
//! 429 (the quota is spent, the pacer waits), reads answer 429 with `Retry-After`.

use super::error::ScimError;
use crate::engine::Engine;
use crate::engine::ports::Api;
use crate::freshdesk::Agent;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a listing answers reads.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(300);
/// How long one page of the listing may wait (for the pacer, for retries) before the request
/// is answered 429 (the quota is spent) or 503: an identity provider retries either.
const PAGE_WAIT: Duration = Duration::from_secs(5);
/// Most pages listed (100,000 agents).
const MAX_PAGES: u32 = 1000;

#[derive(Default)]
pub(crate) struct Directory {
    state: tokio::sync::Mutex<Option<(Instant, BTreeMap<u64, Agent>)>>,
}

impl Directory {
    /// Every agent, listed again when the listing is older than [`MAX_AGE`].
    pub(crate) async fn all<A: Api>(&self, engine: &Engine<A>) -> Result<BTreeMap<u64, Agent>, ScimError> {
        let mut state = self.state.lock().await;
        if let Some((at, agents)) = &*state
            && at.elapsed() < MAX_AGE
        {
            return Ok(agents.clone());
        }
        let quota_spent = || {
            let secs = engine.pacer().snapshot().paused_for_ms.div_ceil(1000).max(1);
            ScimError::quota(secs, "Freshdesk's quota is spent; try again later")
        };
        if engine.pacer().snapshot().paused_for_ms > 0 {
            return Err(quota_spent());
        }
        let limited_before = engine.pacer().snapshot().rate_limited;
        let mut agents = BTreeMap::new();
        for page in 1..=MAX_PAGES {
            let read = tokio::time::timeout(PAGE_WAIT, engine.read_agents_page(page)).await;
            let limited = || engine.pacer().snapshot().rate_limited > limited_before;
            let (list, next) = match read {
                Ok(Ok(page)) => page,
                Ok(Err(_)) | Err(_) if limited() => return Err(quota_spent()),
                Ok(Err(why)) => {
                    return Err(ScimError::later(30, format!("the agent listing cannot be read now: {why}")));
                }
                Err(_) => return Err(ScimError::later(30, "the agent listing takes too long; try again")),
            };
            agents.extend(list.into_iter().map(|a| (a.id, a)));
            if !next {
                *state = Some((Instant::now(), agents.clone()));
                return Ok(agents);
            }
        }
        Err(ScimError::internal("the agent listing is longer than 1000 pages"))
    }

    /// fdsync deleted this agent.
    pub(crate) async fn forget(&self, id: u64) {
        if let Some((_, agents)) = &mut *self.state.lock().await {
            agents.remove(&id);
        }
    }

    /// fdsync created or restored this agent.
    pub(crate) async fn put(&self, agent: Agent) {
        if let Some((_, agents)) = &mut *self.state.lock().await {
            agents.insert(agent.id, agent);
        }
    }
}
