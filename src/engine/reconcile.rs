//! Reconciliation: an op left `sending` (killed mid-request, or no readable answer came) may or
//! may not have reached Freshdesk. Before anything is sent again, look: a ticket by its
//! idempotency tag among the requester's tickets (by e-mail, id or phone; by tag search for
//! the other identities), an agent by email, a deleted agent by id, an updated agent by id
//! (`update.rs`), an undo's restored agent or deleted ticket by id (`undo.rs`). The
//! lookup's answer proves only what it parses as:
//!
//! | lookup answer                         | conclusion                                        |
//! |---------------------------------------|---------------------------------------------------|
//! | decoded, the change is there          | `Applied`: done, with what fdsync achieved        |
//! | decoded, the change is certainly not  | `Absent`: back to `pending`, sent again           |
//! | unreadable (HTML, truncated, huge)    | `Unknown`: look again; after max attempts the row fails `unverifiable_answer`, nothing re-sent |
//! | 5xx, 429, no answer                   | `Unknown`: look again later                        |
//!
//! Only called once the original request can no longer be in flight (`sent_at` + the request
//! timeout + a margin): a lookup made earlier could miss a change that lands late.

use super::Parts;
use super::decision::Found;
use super::ports::Api;
use super::retry;
use crate::domain::{Op, Outcome, Requester, idempotency_tag};
use crate::freshdesk::{Agent, Answer, EndpointClass, Ticket};
use crate::journal::{self, Journal, OpRecord, OpResult, now_ms};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

/// Slack for clocks between this machine and Freshdesk when filtering by time (NTP-synced clocks
/// are well within it).
const CLOCK_SKEW_SECS: i64 = 120;
/// Pages of a requester's recent tickets searched for the tag.
const MAX_PAGES: u32 = 50;
/// Margin after `sent_at` + request timeout before a lookup.
const MARGIN_MS: i64 = 1000;

/// The uncertain ops of this process: when each may be looked up, and how many unreadable
/// answers its lookups got.
pub(crate) struct Reconciler {
    request_timeout: Duration,
    due: Mutex<HashMap<i64, Entry>>,
}

#[derive(Clone, Copy)]
struct Entry {
    at: i64,
    unreadable: u32,
}

impl Reconciler {
    pub(crate) fn new(request_timeout: Duration) -> Self {
        Self { request_timeout, due: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Entry>> {
        self.due.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When an op sent at `sent_at` can be looked up: after the request timeout, plus a margin.
    pub(crate) fn due_at(&self, sent_at: i64) -> i64 {
        let timeout = i64::try_from(self.request_timeout.as_millis()).unwrap_or(i64::MAX / 4);
        sent_at.saturating_add(timeout).saturating_add(MARGIN_MS)
    }

    pub(crate) fn schedule(&self, op_id: i64, sent_at: i64) {
        let at = self.due_at(sent_at);
        self.lock().entry(op_id).and_modify(|e| e.at = at).or_insert(Entry { at, unreadable: 0 });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Ops whose lookup is due and not already running.
    pub(crate) fn due(&self, now: i64, busy: &HashSet<i64>) -> Vec<i64> {
        let map = self.lock();
        map.iter().filter(|(id, e)| e.at <= now && !busy.contains(id)).map(|(id, _)| *id).collect()
    }

    /// Ops left `sending` by an earlier process are uncertain.
    pub(crate) async fn queue_sending(&self, journal: &Journal) -> journal::Result<()> {
        for op in journal.sending_ops().await? {
            let at = self.due_at(op.sent_at.unwrap_or_else(now_ms));
            self.lock().entry(op.id).or_insert(Entry { at, unreadable: 0 });
        }
        Ok(())
    }

    pub(crate) async fn reconcile<A: Api>(&self, parts: &Parts<A>, op_id: i64) -> journal::Result<()> {
        let journal = &parts.journal;
        let Some(op) = journal.sending_ops().await?.into_iter().find(|o| o.id == op_id) else {
            // No longer sending (finished elsewhere, or its file was held): nothing to do.
            self.lock().remove(&op_id);
            return Ok(());
        };
        let found = find(parts, &op).await;
        // A restore with handed-over tickets found applied: its tickets are given back next.
        if matches!(found, Found::Applied(Outcome::Restored, _))
            && super::give_back::has_moves(parts, &op).await?
        {
            self.lock().remove(&op_id);
            super::give_back::open(parts, &op).await?;
            let message = "agent restored (found by a lookup); its tickets are given back next".to_string();
            return journal.retry_op(op_id, now_ms(), true, None, message).await;
        }
        self.conclude(journal, &op, found, parts.cfg.max_attempts).await
    }

    /// Records what a lookup proved.
    pub(crate) async fn conclude(
        &self,
        journal: &Journal,
        op: &OpRecord,
        found: Found,
        max_attempts: u32,
    ) -> journal::Result<()> {
        let op_id = op.id;
        match found {
            Found::Applied(outcome, id) => {
                tracing::info!(file_id = op.file_id, row = op.row, outcome = %outcome, "Uncertain op reconciled: it had been applied.");
                self.lock().remove(&op_id);
                let message = "recovered after a lost answer".to_string();
                journal
                    .finish_op(
                        op_id,
                        OpResult { outcome, freshdesk_id: id, http_status: None, error_code: None, message },
                    )
                    .await
            }
            Found::Absent if op.attempts >= max_attempts => {
                self.lock().remove(&op_id);
                let message = format!("gave up after {} attempts: no answer, and not applied", op.attempts);
                journal.finish_op(op_id, failed("no_answer", message)).await
            }
            Found::Absent => {
                tracing::info!(
                    op_id,
                    row = op.row,
                    "Uncertain op reconciled: not applied; it will be sent again."
                );
                self.lock().remove(&op_id);
                journal
                    .retry_op(op_id, now_ms(), false, None, "no answer; not applied, re-sending".into())
                    .await
            }
            Found::Unknown { why, wait, unreadable } => {
                let count = {
                    let mut map = self.lock();
                    let entry = map.entry(op_id).or_insert(Entry { at: 0, unreadable: 0 });
                    entry.unreadable += u32::from(unreadable);
                    let delay = wait.unwrap_or_else(|| retry::backoff(op.attempts.min(6) + entry.unreadable));
                    entry.at =
                        now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 4));
                    entry.unreadable
                };
                if count < max_attempts {
                    tracing::debug!(reason = %why, "Reconciliation lookup failed; trying again later.");
                    return Ok(());
                }
                self.lock().remove(&op_id);
                let message = format!(
                    "could not read Freshdesk's answer to {count} lookups ({why}); whether the change was applied is unknown, \
                     so nothing was re-sent; check in Freshdesk, then `fdsync retry` looks again before sending"
                );
                journal.finish_op(op_id, failed("unverifiable_answer", message)).await
            }
        }
    }
}

/// A row reconciliation gives up on.
fn failed(code: &str, message: String) -> OpResult {
    OpResult {
        outcome: Outcome::Failed,
        freshdesk_id: None,
        http_status: None,
        error_code: Some(code.into()),
        message,
    }
}

/// Looks for the effect of an uncertain op.
async fn find<A: Api>(parts: &Parts<A>, op: &OpRecord) -> Found {
    let sent_at = op.sent_at.unwrap_or_else(now_ms);
    match &op.op {
        Op::CreateTicket(t) => find_ticket(parts, &idempotency_tag(&op.key), t.requester(), sent_at).await,
        Op::CreateAgent(a) => find_created_agent(parts, a.email.as_str(), sent_at).await,
        Op::DeleteAgent { .. } => match op.freshdesk_id {
            Some(id) => find_deleted_agent(parts, id).await,
            None => Found::Absent,
        },
        Op::GetAgent { .. } => Found::Absent,
        Op::RestoreAgent { agent_id, image: Some(image), .. } => {
            super::undo::find_restored_agent(parts, *agent_id, image).await
        }
        // Never sent: nothing to look for.
        Op::RestoreAgent { image: None, .. } => Found::Absent,
        Op::DeleteTicket { ticket_id, .. } => super::undo::find_deleted_ticket(parts, *ticket_id).await,
        Op::UpdateAgent { agent_id, set, .. } => {
            super::update::find_updated_agent(parts, *agent_id, set).await
        }
        Op::CreateContact(c) => super::contact::find_contact(parts, c.email.as_str()).await,
        Op::ActivateContact { contact_id, .. } => super::contact::find_activated(parts, *contact_id).await,
    }
}

/// A lost create, looked for by its idempotency tag among its requester's recent tickets,
/// whichever identity the row used: by e-mail or requester id directly; by phone through the
/// contact it names (no contact: no ticket was made, since a create makes the contact); by
/// another identity (`unique_external_id`, `twitter_id`, `facebook_id`, which no list filters
/// on) through a tag search, whose index lags: not found proves absence only [`SEARCH_LAG`]
/// after the send.
async fn find_ticket<A: Api>(parts: &Parts<A>, tag: &str, who: Requester<'_>, sent_at: i64) -> Found {
    let since_ms = sent_at - CLOCK_SKEW_SECS * 1000;
    let since = OffsetDateTime::from_unix_timestamp(since_ms / 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let requester = match who {
        Requester::Email(email) => {
            let list = |page| {
                parts.sender.send(EndpointClass::TicketsList, move |api| {
                    api.list_tickets_by_email(email, since, page)
                })
            };
            return page_through(list, tag, since_ms).await;
        }
        Requester::Id(id) => id,
        Requester::Phone(phone) => {
            let Some(reply) =
                parts.sender.send(EndpointClass::ContactsList, |api| api.find_contact_by_phone(phone)).await
            else {
                return Found::paused();
            };
            match reply.answer {
                Answer::Ok { value: Some(id), .. } => id,
                Answer::Ok { value: None, .. } => return Found::Absent,
                other => return Found::unknown(&other),
            }
        }
        Requester::Other => return search_tag(parts, tag, sent_at).await,
    };
    let list = |page| {
        parts.sender.send(EndpointClass::TicketsList, move |api| {
            api.list_tickets_by_requester(requester, since, page)
        })
    };
    page_through(list, tag, since_ms).await
}

/// Pages of a requester's tickets (newest first) searched for `tag`.
async fn page_through<F, Fut>(list: F, tag: &str, since_ms: i64) -> Found
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = Option<crate::freshdesk::Reply<Vec<Ticket>>>>,
{
    for page in 1..=MAX_PAGES {
        let Some(reply) = list(page).await else { return Found::paused() };
        match &reply.answer {
            Answer::Ok { value: tickets, .. } => {
                if let Some(t) = tickets.iter().find(|t| t.has_tag(tag)) {
                    return Found::Applied(Outcome::Created, Some(t.id));
                }
                // Newest first: past a ticket created before ours could have been, the rest is
                // older still.
                if !reply.next_page || oldest_created_ms(tickets).is_some_and(|t| t < since_ms) {
                    return Found::Absent;
                }
            }
            // "There is no contact matching the given email/requester_id": no ticket was ever created.
            Answer::Invalid { status: 400, errors, .. }
                if errors.iter().any(|e| e.field == "email" || e.field == "requester_id") =>
            {
                return Found::Absent;
            }
            other => return Found::unknown(other),
        }
    }
    // A requester with thousands of recent tickets: unknown rather than risk a duplicate.
    Found::Unknown { why: "tag not found within the searched pages".into(), wait: None, unreadable: false }
}

/// How long the ticket search may trail a create (freshdesk-api.md §4, "Indexing lag": assumed).
const SEARCH_LAG_MS: i64 = 5 * 60 * 1000;

/// A lost create of a requester no list filters on: a tag search.
async fn search_tag<A: Api>(parts: &Parts<A>, tag: &str, sent_at: i64) -> Found {
    let query = format!("tag:'{tag}'");
    let Some(reply) = parts.sender.send(EndpointClass::Other, |api| api.search_tickets(&query, 1)).await
    else {
        return Found::paused();
    };
    match &reply.answer {
        Answer::Ok { value: page, .. } => match page.hits.first() {
            Some(hit) => Found::Applied(Outcome::Created, Some(hit.id.get())),
            None if now_ms() >= sent_at.saturating_add(SEARCH_LAG_MS) => Found::Absent,
            None => Found::Unknown {
                why: "not found by tag yet; the search may lag a create, so it is looked up again".into(),
                wait: Some(Duration::from_secs(30)),
                unreadable: false,
            },
        },
        other => Found::unknown(other),
    }
}

async fn find_created_agent<A: Api>(parts: &Parts<A>, email: &str, sent_at: i64) -> Found {
    let Some(reply) = parts.sender.send(EndpointClass::Other, |api| api.find_agent_by_email(email)).await
    else {
        return Found::paused();
    };
    match &reply.answer {
        // Created before our request could have landed: it existed already.
        Answer::Ok { value: Some(agent), .. } if created_before(agent, sent_at) => {
            Found::Applied(Outcome::Exists, Some(agent.id))
        }
        Answer::Ok { value: Some(agent), .. } => Found::Applied(Outcome::Created, Some(agent.id)),
        Answer::Ok { value: None, .. } => Found::Absent,
        other => Found::unknown(other),
    }
}

async fn find_deleted_agent<A: Api>(parts: &Parts<A>, id: u64) -> Found {
    let Some(reply) = parts.sender.send(EndpointClass::Other, |api| api.get_agent(id)).await else {
        return Found::paused();
    };
    match &reply.answer {
        Answer::NotFound => Found::Applied(Outcome::Deleted, Some(id)),
        Answer::Ok { .. } => Found::Absent,
        other => Found::unknown(other),
    }
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MIN)
}

/// The earliest `created_at` (ms) on a list page (the list is newest first).
fn oldest_created_ms(tickets: &[Ticket]) -> Option<i64> {
    tickets.iter().filter_map(|t| t.created_at).map(millis).min()
}

/// Whether an agent's `created_at` is clearly before `sent_at` (ms), allowing for skew.
fn created_before(agent: &Agent, sent_at: i64) -> bool {
    agent.created_at.map(millis).is_some_and(|t| t + 5000 < sent_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freshdesk::Decode;

    #[test]
    fn the_oldest_ticket_on_a_page_bounds_the_search() {
        let page = Vec::<Ticket>::decode(
            br#"[{"id": 3, "created_at": "2025-03-03T10:30:00Z"}, {"id": 2, "created_at": "2025-03-03T10:20:00Z"}]"#,
        )
        .unwrap();
        let ten_twenty = millis(crate::freshdesk::agents::parse_time("2025-03-03T10:20:00Z").unwrap());
        assert_eq!(oldest_created_ms(&page), Some(ten_twenty));
        assert_eq!(oldest_created_ms(&[]), None);
    }

    #[test]
    fn an_agent_created_well_before_the_send_existed_already() {
        let agent = Agent::decode(br#"{"id": 1, "created_at": "2025-03-03T10:20:00Z"}"#).unwrap();
        let sent = millis(crate::freshdesk::agents::parse_time("2025-03-03T10:30:00Z").unwrap());
        assert!(created_before(&agent, sent));
        assert!(!created_before(&agent, sent - 10 * 60 * 1000));
    }

    #[test]
    fn a_lookup_is_due_only_after_the_request_timeout_and_a_margin() {
        let r = Reconciler::new(Duration::from_secs(30));
        assert_eq!(r.due_at(1_000), 1_000 + 30_000 + MARGIN_MS);
        assert_eq!(r.due_at(i64::MAX), i64::MAX, "no overflow");
        r.schedule(7, now_ms());
        assert!(r.due(now_ms(), &HashSet::new()).is_empty(), "not before sent_at + timeout");
        assert_eq!(r.due(now_ms() + 31_001, &HashSet::new()), vec![7]);
    }
}
