//! Reconciliation: an op left `sending` (killed mid-request, or no answer came) may or may not
//! have reached Freshdesk. Before anything is sent again, look: a ticket by its idempotency tag
//! among the requester's tickets, an agent by email, a deleted agent by id. Found → the op is
//! done (with what fdsync achieved); certainly absent → back to `pending`; unknown → look again
//! later. Only called once the original request can no longer be in flight.

use super::Inner;
use super::answers::describe;
use super::ports::Api;
use super::worker::first_agent;
use crate::domain::{Op, Outcome, idempotency_tag};
use crate::freshdesk::agents::parse_agent;
use crate::freshdesk::tickets::parse_tickets;
use crate::freshdesk::{Answer, EndpointClass, Reply};
use crate::journal::{self, OpRecord, OpResult, now_ms};
use serde_json::Value;
use time::OffsetDateTime;

/// What a lookup proved.
enum Found {
    /// The change is there: finish the op with this outcome and id.
    Applied(Outcome, Option<u64>),
    /// The change is certainly not there: send it again.
    Absent,
    /// Could not tell (the lookup itself failed): look again later.
    Unknown(Reply),
}

/// Slack for clocks between this machine and Freshdesk when filtering by time (NTP-synced clocks
/// are well within it).
const CLOCK_SKEW_SECS: i64 = 120;
/// Pages of a requester's recent tickets searched for the tag.
const MAX_PAGES: u32 = 50;

impl<A: Api> Inner<A> {
    pub(crate) async fn reconcile(&self, op_id: i64) -> journal::Result<()> {
        let Some(op) = self.journal.sending_ops().await?.into_iter().find(|o| o.id == op_id) else {
            // No longer sending (finished elsewhere): nothing to reconcile.
            self.uncertain.lock().expect("uncertain lock").remove(&op_id);
            return Ok(());
        };
        let sent_at = op.sent_at.unwrap_or_else(now_ms);
        let found = match &op.op {
            Op::CreateTicket(t) => self.find_ticket(&op, t.email.as_str(), sent_at).await,
            Op::CreateAgent(a) => self.find_created_agent(a.email.as_str(), sent_at).await,
            Op::DeleteAgent { .. } => self.find_deleted_agent(&op).await,
            Op::GetAgent { .. } => Found::Absent,
        };
        match found {
            Found::Applied(outcome, id) => {
                tracing::info!(op_id, row = op.row, outcome = %outcome, "Uncertain op reconciled: it had been applied.");
                self.uncertain.lock().expect("uncertain lock").remove(&op_id);
                let message = "recovered after a lost answer".to_string();
                let result =
                    OpResult { outcome, freshdesk_id: id, http_status: None, error_code: None, message };
                self.journal.finish_op(op_id, result).await
            }
            Found::Absent if op.attempts >= self.cfg.max_attempts => {
                self.uncertain.lock().expect("uncertain lock").remove(&op_id);
                let result = OpResult {
                    outcome: Outcome::Failed,
                    freshdesk_id: None,
                    http_status: None,
                    error_code: Some("no_answer".into()),
                    message: format!("gave up after {} attempts: no answer, and not applied", op.attempts),
                };
                self.journal.finish_op(op_id, result).await
            }
            Found::Absent => {
                tracing::info!(
                    op_id,
                    row = op.row,
                    "Uncertain op reconciled: not applied; it will be sent again."
                );
                self.uncertain.lock().expect("uncertain lock").remove(&op_id);
                self.journal
                    .retry_op(op_id, now_ms(), false, None, "no answer; not applied, re-sending".into())
                    .await
            }
            Found::Unknown(reply) => {
                let (_, why) = describe(&reply.answer);
                let delay = match &reply.answer {
                    Answer::RateLimited { retry_after } => *retry_after,
                    _ => super::retry::backoff(op.attempts.min(6), None),
                };
                tracing::debug!(op_id, reason = %why, "Reconciliation lookup failed; trying again later.");
                let at = now_ms() + delay.as_millis() as i64;
                self.uncertain.lock().expect("uncertain lock").insert(op_id, at);
                Ok(())
            }
        }
    }

    pub(crate) async fn lookup(
        &self,
        class: EndpointClass,
        f: impl std::future::Future<Output = Reply>,
    ) -> Reply {
        let permit = self.pacer.acquire(class).await;
        let reply = f.await;
        permit.finish(&reply);
        self.observe(&reply.answer);
        reply
    }

    async fn find_ticket(&self, op: &OpRecord, email: &str, sent_at: i64) -> Found {
        let tag = idempotency_tag(&op.key);
        let since_ms = sent_at - CLOCK_SKEW_SECS * 1000;
        let since =
            OffsetDateTime::from_unix_timestamp(since_ms / 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        for page in 1..=MAX_PAGES {
            let reply = self
                .lookup(EndpointClass::TicketsList, self.api.list_tickets_by_email(email, since, page))
                .await;
            match &reply.answer {
                Answer::Success { body, .. } => {
                    if let Some(id) = ticket_with_tag(body, &tag) {
                        return Found::Applied(Outcome::Created, Some(id));
                    }
                    // Newest first: past a ticket created before ours could have been, the rest
                    // is older still.
                    if !reply.next_page || oldest_created_ms(body).is_some_and(|t| t < since_ms) {
                        return Found::Absent;
                    }
                }
                // "There is no contact matching the given email": no ticket was ever created.
                Answer::Invalid { status: 400, errors, .. } if errors.iter().any(|e| e.field == "email") => {
                    return Found::Absent;
                }
                _ => return Found::Unknown(reply),
            }
        }
        // A requester with thousands of recent tickets: treat as unknown rather than risk a duplicate.
        Found::Unknown(Reply {
            answer: Answer::Transient {
                status: None,
                reason: "tag not found within the searched pages".into(),
            },
            rate: Default::default(),
            elapsed: Default::default(),
            next_page: false,
        })
    }

    async fn find_created_agent(&self, email: &str, sent_at: i64) -> Found {
        let reply = self.lookup(EndpointClass::Other, self.api.find_agent_by_email(email)).await;
        match &reply.answer {
            Answer::Success { body, .. } => match first_agent(body) {
                // Created before our request could have landed: it existed already.
                Some(agent) if created_before(agent, sent_at) => {
                    Found::Applied(Outcome::Exists, parse_agent(agent).map(|a| a.id))
                }
                Some(agent) => Found::Applied(Outcome::Created, parse_agent(agent).map(|a| a.id)),
                None => Found::Absent,
            },
            _ => Found::Unknown(reply),
        }
    }

    async fn find_deleted_agent(&self, op: &OpRecord) -> Found {
        let Some(id) = op.freshdesk_id else {
            return Found::Absent;
        };
        let reply = self.lookup(EndpointClass::Other, self.api.get_agent(id)).await;
        match &reply.answer {
            Answer::NotFound => Found::Applied(Outcome::Deleted, Some(id)),
            Answer::Success { .. } => Found::Absent,
            _ => Found::Unknown(reply),
        }
    }
}

/// The id of the ticket in a list answer that carries `tag` (case-insensitive).
fn ticket_with_tag(body: &Value, tag: &str) -> Option<u64> {
    parse_tickets(body).into_iter().find(|t| t.has_tag(tag)).map(|t| t.id)
}

/// The earliest `created_at` (ms) on a list page (the list is newest first).
fn oldest_created_ms(body: &Value) -> Option<i64> {
    body.as_array()?.iter().filter_map(|t| created_ms(t.get("created_at")?.as_str()?)).min()
}

fn created_ms(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Whether an agent record's `created_at` is clearly before `sent_at` (ms), allowing for skew.
fn created_before(agent: &Value, sent_at: i64) -> bool {
    let created = agent.get("created_at").and_then(Value::as_str).and_then(created_ms);
    created.is_some_and(|t| t + 5000 < sent_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_matched_case_insensitively_among_a_requesters_tickets() {
        let body = serde_json::json!([
            {"id": 1, "tags": ["monitoring"]},
            {"id": 2, "tags": ["FDS-ABC", "x"]},
        ]);
        assert_eq!(ticket_with_tag(&body, "fds-abc"), Some(2));
        assert_eq!(ticket_with_tag(&body, "fds-zzz"), None);
    }

    #[test]
    fn the_oldest_ticket_on_a_page_bounds_the_search() {
        let body = serde_json::json!([
            {"id": 3, "created_at": "2025-03-03T10:30:00Z"},
            {"id": 2, "created_at": "2025-03-03T10:20:00Z"},
        ]);
        let ten_twenty = created_ms("2025-03-03T10:20:00Z").unwrap();
        assert_eq!(oldest_created_ms(&body), Some(ten_twenty));
        assert_eq!(oldest_created_ms(&serde_json::json!([])), None);
    }

    #[test]
    fn an_agent_created_well_before_the_send_existed_already() {
        let agent = serde_json::json!({"id": 1, "created_at": "2025-03-03T10:20:00Z"});
        let sent =
            OffsetDateTime::parse("2025-03-03T10:30:00Z", &time::format_description::well_known::Rfc3339)
                .unwrap()
                .unix_timestamp()
                * 1000;
        assert!(created_before(&agent, sent));
        assert!(!created_before(&agent, sent - 10 * 60 * 1000));
    }
}
