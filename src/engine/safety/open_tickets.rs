//! How many open or pending tickets each agent has (the preview's "what this delete leaves
//! behind": Freshdesk unassigns them). Searches are batched: first the whole account's open
//! tickets (exact when they fit the search's 10 pages of 30), else as many `agent_id` clauses
//! per query as fit Freshdesk's 512-character limit. Read-only; informational, never a guard.

use crate::engine::ports::Api;
use crate::engine::send::Sender;
use crate::freshdesk::{Answer, EndpointClass, SearchPage};
use std::collections::HashMap;

/// Freshdesk's search limits: characters per query (with its quotes), hits per page, pages.
const MAX_QUERY: usize = 512;
const PER_PAGE: u64 = 30;
const MAX_PAGES: u64 = 10;
const OPEN: &str = "status:2 OR status:3";

/// An agent's open tickets: a count, `at_least` when the search could not list them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct OpenCount {
    pub n: u64,
    pub at_least: bool,
}

impl std::fmt::Display for OpenCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at_least { write!(f, "at least {}", self.n) } else { write!(f, "{}", self.n) }
    }
}

/// Open-ticket counts for `agents`, or why they could not be read.
pub(crate) async fn count<A: Api>(
    sender: &Sender<A>,
    agents: &[u64],
) -> Result<HashMap<u64, OpenCount>, String> {
    let mut counts: HashMap<u64, OpenCount> = agents.iter().map(|id| (*id, OpenCount::default())).collect();
    if agents.is_empty() {
        return Ok(counts);
    }
    let first = page(sender, OPEN, 1).await?;
    if first.total <= PER_PAGE * MAX_PAGES {
        tally(&mut counts, &first, false);
        for n in 2..=first.total.div_ceil(PER_PAGE) {
            tally(&mut counts, &page(sender, OPEN, n as u32).await?, false);
        }
        return Ok(counts);
    }
    for query in batches(agents) {
        let first = page(sender, &query, 1).await?;
        let complete = first.total <= PER_PAGE * MAX_PAGES;
        tally(&mut counts, &first, !complete);
        for n in 2..=first.total.div_ceil(PER_PAGE).min(MAX_PAGES) {
            tally(&mut counts, &page(sender, &query, n as u32).await?, !complete);
        }
    }
    Ok(counts)
}

async fn page<A: Api>(sender: &Sender<A>, query: &str, n: u32) -> Result<SearchPage, String> {
    let reply = sender.send(EndpointClass::Other, |api| api.search_tickets(query, n)).await;
    match reply.map(|r| r.answer) {
        Some(Answer::Ok { value, .. }) => Ok(value),
        Some(other) => Err(other.describe().1),
        None => Err("requests are paused".into()),
    }
}

fn tally(counts: &mut HashMap<u64, OpenCount>, page: &SearchPage, at_least: bool) {
    for hit in &page.hits {
        if let Some(c) = hit.responder_id.and_then(|id| counts.get_mut(&id)) {
            c.n += 1;
            c.at_least |= at_least;
        }
    }
}

/// Queries `(status:2 OR status:3) AND (agent_id:A OR agent_id:B …)`, each within the limit
/// once quoted. Pure.
pub(crate) fn batches(agents: &[u64]) -> Vec<String> {
    let head = format!("({OPEN}) AND (");
    let mut out = Vec::new();
    let mut current = String::new();
    for id in agents {
        let clause = format!("agent_id:{id}");
        // Two quotes and the closing parenthesis.
        if !current.is_empty() && head.len() + current.len() + 4 + clause.len() + 3 > MAX_QUERY {
            out.push(format!("{head}{current})"));
            current.clear();
        }
        if !current.is_empty() {
            current.push_str(" OR ");
        }
        current.push_str(&clause);
    }
    if !current.is_empty() {
        out.push(format!("{head}{current})"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_fit_the_query_limit_and_name_every_agent_once() {
        let agents: Vec<u64> = (43_000_000_000..43_000_000_100).collect();
        let queries = batches(&agents);
        assert!(queries.len() > 1 && queries.len() < 10, "{}", queries.len());
        assert!(queries.iter().all(|q| q.len() + 2 <= MAX_QUERY), "{queries:?}");
        let named: usize = queries.iter().map(|q| q.matches("agent_id:").count()).sum();
        assert_eq!(named, agents.len());
        assert!(queries[0].starts_with("(status:2 OR status:3) AND (agent_id:43000000000 OR "));
    }

    #[test]
    fn a_count_that_may_be_short_says_so() {
        assert_eq!(OpenCount { n: 300, at_least: true }.to_string(), "at least 300");
        assert_eq!(OpenCount { n: 2, at_least: false }.to_string(), "2");
    }
}
