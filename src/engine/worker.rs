//! One op, start to finish: wait for quota, mark it `sending` (durably, for changes), call
//! Freshdesk through the typed port, decide, record. The decision table, by answer class:
//!
//! | answer                      | change (create, delete)      | lookup (get, find)             |
//! |-----------------------------|------------------------------|--------------------------------|
//! | `Ok` (decoded)              | `created` / `deleted` + id   | `found` / `not_found`          |
//! | `Unverifiable`, `TooLarge`  | uncertain → reconcile        | retried; after max attempts `unverifiable_answer` |
//! | `Uncertain`, 502/504        | uncertain → reconcile        | retried (counts an attempt)    |
//! | other 5xx, transport        | retried (counts an attempt)  | retried (counts an attempt)    |
//! | 429, refused credentials    | retried, no attempt spent    | retried, no attempt spent      |
//! | 404, 409, 400, 403 …        | final (`already_deleted`, `exists`, `failed`) | final        |
//!
//! An agent is created only when its file passes the grants guard, and a delete runs only when
//! its file passes the volume guards ([`super::safety::guards`]) and the row passes the safety rules ([`super::safety::vet`]: key owner known, agent not protected by e-mail or
//! role; else the file is held or the row refused); its record is saved before the request leaves.

use super::Parts;
use super::decision::{Lookup, Next, done, otherwise, paused, refused};
use super::fieldbook::Typed;
use super::lookup::find_agent;
use super::ports::Api;
use super::retry;
use super::safety::guards::Account;
use super::safety::vet::{Vetted, vet_delete};
use crate::domain::{AgentRef, Email, NewAgent, NewTicket, Op, Outcome, idempotency_tag};
use crate::freshdesk::{Answer, EndpointClass, Existing};
use crate::journal::{self, OpRecord, OpResult, now_ms};
use std::time::Duration;

/// How long a ticket waits when the account's ticket fields cannot be read.
const FIELDS_WAIT: Duration = Duration::from_secs(30);
/// A ticket that waits for an account list it needs (its fields, its groups or products): no
/// attempt is refunded, so a list that stays unreadable fails the row with `code` in the end.
fn waits(code: &str, message: String) -> Next {
    Next::Retry { refund: false, delay: FIELDS_WAIT, code: Some(code.into()), message, http_status: None }
}

/// The error code of a row with a value its field cannot take (refused before any call).
pub(crate) const BAD_VALUE: &str = "bad_value";

pub(crate) struct Worker<'a, A> {
    parts: &'a Parts<A>,
}

impl<'a, A: Api> Worker<'a, A> {
    pub(crate) fn new(parts: &'a Parts<A>) -> Self {
        Self { parts }
    }

    pub(crate) async fn execute(&self, op: OpRecord) -> journal::Result<()> {
        let next = self.decide(&op).await?;
        self.settle(&op, next).await
    }

    pub(crate) async fn decide(&self, op: &OpRecord) -> journal::Result<Next> {
        match &op.op {
            Op::CreateTicket(t) => self.create_ticket(op, t).await,
            Op::CreateAgent(a) => self.create_agent(op, a).await,
            Op::GetAgent { email } => self.get_agent(op, email).await,
            Op::DeleteAgent { agent, successor } => self.delete_agent(op, agent, successor.as_ref()).await,
            Op::RestoreAgent { agent_id, image, .. } => {
                super::undo::restore_agent(self.parts, op, *agent_id, image.as_ref()).await
            }
            Op::DeleteTicket { ticket_id, .. } => {
                super::undo::delete_ticket(self.parts, op, *ticket_id).await
            }
            Op::UpdateAgent { agent_id, set, .. } => {
                super::update::update_agent(self.parts, op, *agent_id, set).await
            }
        }
    }

    /// Records a conclusion.
    async fn settle(&self, op: &OpRecord, next: Next) -> journal::Result<()> {
        let journal = &self.parts.journal;
        match next {
            Next::Final(result) => {
                tracing::debug!(outcome = %result.outcome, "Op finished.");
                journal.finish_op(op.id, result).await
            }
            Next::Uncertain { sent_at } => {
                tracing::info!("No readable answer to a change; it will be looked up.");
                self.parts.reconciler.schedule(op.id, sent_at);
                Ok(())
            }
            Next::Hold { reason } => {
                tracing::warn!(reason = %reason, "File held: a delete cannot run safely yet.");
                journal.retry_op(op.id, now_ms(), true, None, reason.clone()).await?;
                crate::pipeline::hold(journal, op.file_id, reason).await
            }
            Next::Retry { refund, delay, code, message, http_status } => {
                let attempts = if refund { op.attempts } else { op.attempts + 1 };
                if !refund && !retry::should_retry(attempts, self.parts.cfg.max_attempts) {
                    let message = match code.as_deref() {
                        Some("unverifiable_answer" | "answer_too_large") => format!(
                            "gave up after {attempts} attempts: {message}; nothing was changed; `fdsync retry` tries again"
                        ),
                        _ => format!("gave up after {attempts} attempts: {message}"),
                    };
                    let result = OpResult {
                        outcome: Outcome::Failed,
                        freshdesk_id: None,
                        http_status,
                        error_code: code,
                        message,
                    };
                    return journal.finish_op(op.id, result).await;
                }
                let delay = if delay.is_zero() { retry::backoff(attempts) } else { delay };
                let at = now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2));
                journal.retry_op(op.id, at, refund, http_status, message).await
            }
        }
    }

    async fn create_ticket(&self, op: &OpRecord, t: &NewTicket) -> journal::Result<Next> {
        let journal = &self.parts.journal;
        if crate::domain::OpKey::from(op.key.as_str()).is_external()
            && let Some((file, row, id)) = journal.created_with_key(op.key.clone(), op.id).await?
        {
            let message = format!("external_id already created as ticket {id} (file {file}, row {row})");
            return Ok(done(Outcome::Exists, Some(id), None, message));
        }
        // Typed by the account's fields before anything is sent; a value that cannot be is the
        // row's fault, a list that cannot be read is not.
        let t = match self.parts.fields.type_ticket(&self.parts.sender, t).await {
            Typed::Ready(t) => t,
            Typed::Bad(why) => return Ok(refused(BAD_VALUE, why)),
            Typed::Unknown(why) => {
                return Ok(waits(
                    "ticket_fields_unreadable",
                    format!("{why}; the row waits, as its custom fields cannot be typed"),
                ));
            }
        };
        // A group, agent or product given by name is sent as its id.
        let t = match self.parts.names.resolve(self.parts, t).await {
            Typed::Ready(t) => t,
            Typed::Bad(why) => return Ok(refused(BAD_VALUE, why)),
            Typed::Unknown(why) => {
                return Ok(waits(
                    "names_unreadable",
                    format!("{why}; the row waits, as its names cannot be resolved"),
                ));
            }
        };
        // Its attachments as they were when the row was journaled, or nothing is sent.
        let files = if t.attachments.is_empty() {
            Vec::new()
        } else {
            let list = t.attachments.clone();
            let loaded = tokio::task::spawn_blocking(move || crate::pipeline::attach::load(&list)).await;
            match loaded {
                Ok(Ok(files)) => files,
                Ok(Err(why)) => return Ok(refused("attachment_changed", why)),
                Err(e) => return Err(journal::Error::Data(format!("reading attachments failed: {e}"))),
            }
        };
        let tag = idempotency_tag(&op.key);
        let mark = journal.begin_attempt(op.id, true);
        let sent = self
            .parts
            .sender
            .send_change(EndpointClass::TicketCreate, mark, |api| api.create_ticket(&t, &tag, &files));
        let Some((reply, sent_at)) = sent.await? else { return Ok(paused()) };
        Ok(match &reply.answer {
            Answer::Ok { status, value } => done(Outcome::Created, Some(value.id), Some(*status), ""),
            other => otherwise(other, sent_at, true),
        })
    }

    async fn create_agent(&self, op: &OpRecord, a: &NewAgent) -> journal::Result<Next> {
        // The grants guard, once per file, before any of its agents is created.
        let Parts { journal, sender, cfg, gate, roles, .. } = self.parts;
        if let Err(reason) =
            gate.check_grants(op.file_id, &cfg.protected_roles, journal, sender, roles).await?
        {
            return Ok(Next::Hold { reason });
        }
        let mark = self.parts.journal.begin_attempt(op.id, true);
        let sent = self.parts.sender.send_change(EndpointClass::Other, mark, |api| api.create_agent(a));
        let Some((reply, sent_at)) = sent.await? else { return Ok(paused()) };
        Ok(match &reply.answer {
            Answer::Ok { status, value } => done(Outcome::Created, Some(value.id), Some(*status), ""),
            // A 409 means "exists" only when it names an agent, not a mere contact.
            Answer::Conflict { existing: Some(Existing::Agent(id)), .. } => {
                done(Outcome::Exists, Some(*id), Some(409), "agent already exists")
            }
            other => otherwise(other, sent_at, true),
        })
    }

    async fn get_agent(&self, op: &OpRecord, email: &Email) -> journal::Result<Next> {
        Ok(match find_agent(self.parts, op, &AgentRef::Email(email.clone())).await? {
            Lookup::Found { agent, status, .. } => done(Outcome::Found, Some(agent.id), status, ""),
            Lookup::Missing { status } => done(Outcome::NotFound, None, status, "no agent with this email"),
            Lookup::Failed(next) => next,
        })
    }

    async fn delete_agent(
        &self,
        op: &OpRecord,
        target: &AgentRef,
        successor: Option<&crate::domain::Successor>,
    ) -> journal::Result<Next> {
        let Parts { journal, sender, cfg, directory, gate, .. } = self.parts;
        // 0. The volume guards, once per file, before anything of it is deleted.
        let account = Account { connections: &cfg.account_connections };
        if let Err(reason) = gate.check(op.file_id, cfg.volume, account, journal, sender, directory).await? {
            return Ok(Next::Hold { reason });
        }
        // 1. The per-row rules; the agent's whole record is the pre-delete snapshot.
        let (agent, cached) = match vet_delete(self.parts, op, target, false).await? {
            Vetted::Go { waits, .. } if !waits.is_empty() => {
                return Ok(Next::Hold { reason: waits.join("; ") });
            }
            Vetted::Go { agent, cached, .. } => (agent, cached),
            Vetted::Protected { why, .. } => return Ok(refused("protected", why)),
            Vetted::Stop(next) => return Ok(next),
        };
        // 2. Offboarding's handover: the open tickets go to the successor before the delete.
        let handed = match super::handover::successor_of(self.parts, op, successor).await? {
            None => None,
            Some(s) => match super::handover::resolve(self.parts, op, &agent, &s).await? {
                Err(next) => return Ok(next),
                Ok(to) => match super::handover::before_delete(self.parts, op, &agent, &to).await? {
                    Err(next) => return Ok(next),
                    Ok(summary) => Some(summary),
                },
            },
        };
        journal.record_lookup(op.id, agent.id, Some(agent.record.clone())).await?;
        // 3. Delete it.
        let mark = journal.mark_sending(op.id);
        let sent = sender.send_change(EndpointClass::Other, mark, |api| api.delete_agent(agent.id)).await?;
        let Some((reply, sent_at)) = sent else { return Ok(paused()) };
        if cached && let Some(email) = &agent.email {
            directory.forget(email).await;
        }
        let id = Some(agent.id);
        let handed = handed.unwrap_or_default();
        Ok(match &reply.answer {
            Answer::Ok { status, .. } => done(Outcome::Deleted, id, Some(*status), handed),
            Answer::NotFound => done(Outcome::AlreadyDeleted, id, Some(404), "already deleted"),
            other => otherwise(other, sent_at, true),
        })
    }
}
