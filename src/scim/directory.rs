//! The SCIM service's view of the account's agents: one paged listing (100 per page, through the
//! engine's pacer), trusted for [`MAX_AGE`] and kept fresh by fdsync's own changes (a
//! deprovisioned agent is dropped, a created or restored one put in), so an identity provider's
//! cycle over N unchanged users costs about N/100 calls instead of N. The listing's items carry
//! no roles or groups: those of an agent fdsync read in full are carried over to the next
//! listing ([`carry_over`]), so a user once shown with its roles is not shown without them five
//! minutes later (an identity provider that maps roles would PATCH them back every cycle). While Freshdesk answers
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
                if let Some((_, before)) = &*state {
                    carry_over(before, &mut agents);
                }
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

/// Gives each listed agent of `now` whose roles or groups the listing does not say those that
/// `before` knew of it (from a full read: `GET agents/{id}`, or fdsync's own change), in its
/// typed fields and in its record (what the SCIM users are rendered from).
pub(crate) fn carry_over(before: &BTreeMap<u64, Agent>, now: &mut BTreeMap<u64, Agent>) {
    for (id, agent) in now.iter_mut() {
        let Some(old) = before.get(id) else { continue };
        let (roles, groups) = (
            agent.role_ids.is_none().then(|| old.role_ids.clone()).flatten(),
            agent.group_ids.is_none().then(|| old.group_ids.clone()).flatten(),
        );
        if roles.is_none() && groups.is_none() {
            continue;
        }
        let Ok(serde_json::Value::Object(mut record)) = serde_json::from_str(&agent.record) else { continue };
        if let Some(r) = roles {
            record.insert("role_ids".into(), r.clone().into());
            agent.role_ids = Some(r);
        }
        if let Some(g) = groups {
            record.insert("group_ids".into(), g.clone().into());
            agent.group_ids = Some(g);
        }
        agent.record = serde_json::Value::Object(record).to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: u64, roles: Option<Vec<u64>>, groups: Option<Vec<u64>>, record: serde_json::Value) -> Agent {
        Agent {
            id,
            email: Some(format!("a{id}@example.com")),
            name: None,
            created_at: None,
            role_ids: roles,
            group_ids: groups,
            ticket_scope: Some(1),
            record: record.to_string(),
        }
    }

    #[test]
    fn a_listing_keeps_the_roles_and_groups_a_full_read_gave() {
        let full = serde_json::json!({"id": 1, "role_ids": [5], "group_ids": [7, 8], "contact": {"email": "a1@example.com"}});
        let before = BTreeMap::from([(1, agent(1, Some(vec![5]), Some(vec![7, 8]), full))]);
        let item = serde_json::json!({"id": 1, "contact": {"email": "a1@example.com", "name": "New name"}});
        let mut now = BTreeMap::from([
            (1, agent(1, None, None, item.clone())),
            (2, agent(2, None, None, serde_json::json!({"id": 2}))),
        ]);
        carry_over(&before, &mut now);
        let one = &now[&1];
        assert_eq!((one.role_ids.clone(), one.group_ids.clone()), (Some(vec![5]), Some(vec![7, 8])));
        let record: serde_json::Value = serde_json::from_str(&one.record).unwrap();
        assert_eq!(
            (&record["role_ids"], &record["group_ids"]),
            (&serde_json::json!([5]), &serde_json::json!([7, 8]))
        );
        assert_eq!(record["contact"]["name"], "New name", "the listing's own fields are the newer");
        assert_eq!(now[&2].role_ids, None, "an agent never read in full stays unknown");
    }

    #[test]
    fn what_the_listing_says_wins() {
        let before = BTreeMap::from([(
            1,
            agent(1, Some(vec![5]), None, serde_json::json!({"id": 1, "role_ids": [5]})),
        )]);
        let mut now = BTreeMap::from([(
            1,
            agent(1, Some(vec![6]), None, serde_json::json!({"id": 1, "role_ids": [6]})),
        )]);
        carry_over(&before, &mut now);
        assert_eq!(now[&1].role_ids, Some(vec![6]));
        assert!(now[&1].record.contains("[6]"));
    }
}
