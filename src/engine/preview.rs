//! The preview (`fdsync plan`): what each row of a file would do, found with read-only calls
//! only. [`ReadOnly`] is the one place that keeps changes from leaving the process: it answers
//! every create, delete and restore itself and never calls Freshdesk for them. The preview uses the same
//! parts as a run (identity, agent directory, lookups, safety rules), so it predicts what the run
//! will do, and it says whether the run would be held and why.

use super::identity::Identity;
use super::ports::Api;
use super::worker::{Lookup, Next, Worker};
use super::{Engine, Parts, RunEnd};
use crate::domain::{AgentRef, Op, Outcome};
use crate::freshdesk::{Agent, Answer, Me, Reply, Ticket, TicketState};
use crate::journal::{self, OpRecord, OpResult, now_ms};
use time::OffsetDateTime;

/// An [`Api`] that can only read: creates, deletes and restores are refused here, never sent.
#[derive(Clone)]
pub struct ReadOnly<A>(pub A);

fn refused<T>() -> Reply<T> {
    let message = "a preview sends no change".to_string();
    Reply::bare(Answer::Invalid { status: 0, code: Some("read_only".into()), message, errors: vec![] })
}

impl<A: Api> Api for ReadOnly<A> {
    async fn create_ticket(&self, _: &crate::domain::NewTicket, _: &str) -> Reply<Ticket> {
        refused()
    }
    async fn create_agent(&self, _: &crate::domain::NewAgent) -> Reply<Agent> {
        refused()
    }
    async fn delete_agent(&self, _: u64) -> Reply<()> {
        refused()
    }
    async fn make_agent(&self, _: u64, _: &crate::domain::Restore) -> Reply<Agent> {
        refused()
    }
    async fn delete_ticket(&self, _: u64) -> Reply<()> {
        refused()
    }
    async fn get_ticket(&self, id: u64) -> Reply<TicketState> {
        self.0.get_ticket(id).await
    }
    async fn find_agent_by_email(&self, email: &str) -> Reply<Option<Agent>> {
        self.0.find_agent_by_email(email).await
    }
    async fn get_agent(&self, id: u64) -> Reply<Agent> {
        self.0.get_agent(id).await
    }
    async fn me(&self) -> Reply<Me> {
        self.0.me().await
    }
    async fn list_agents(&self, page: u32, per_page: u32) -> Reply<Vec<Agent>> {
        self.0.list_agents(page, per_page).await
    }
    async fn list_tickets_by_email(
        &self,
        email: &str,
        since: OffsetDateTime,
        page: u32,
    ) -> Reply<Vec<Ticket>> {
        self.0.list_tickets_by_email(email, since, page).await
    }
}

/// What a preview found besides the rows: reasons the real run would be held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PreviewHolds {
    pub reasons: Vec<String>,
}

impl<A: Api> Engine<ReadOnly<A>> {
    /// Previews every op of `file_id` (in a scratch journal the caller owns): each op ends with
    /// its predicted outcome, so the journal's report lines are the preview's report.
    pub async fn preview(&self, file_id: i64) -> journal::Result<Result<PreviewHolds, RunEnd>> {
        let parts = &self.inner;
        if let Err(end) = parts.identity.learn(&parts.sender).await {
            return Ok(Err(end));
        }
        let mut holds = PreviewHolds::default();
        loop {
            let ops = parts.journal.ready_ops(now_ms().saturating_add(i64::MAX / 2), 1024).await?;
            let ops: Vec<OpRecord> = ops.into_iter().filter(|o| o.file_id == file_id).collect();
            if ops.is_empty() {
                return Ok(Ok(holds));
            }
            for op in ops {
                let (result, hold) = predict(parts, &op).await?;
                if let Some(reason) = hold.filter(|r| !holds.reasons.contains(r)) {
                    holds.reasons.push(reason);
                }
                parts.journal.finish_op(op.id, result).await?;
            }
        }
    }
}

fn row(outcome: Outcome, id: Option<u64>, message: impl Into<String>) -> OpResult {
    OpResult { outcome, freshdesk_id: id, http_status: None, error_code: None, message: message.into() }
}

/// The agent as the report shows it.
fn who(agent: &Agent) -> String {
    let name = agent.name.as_deref().unwrap_or("(no name)");
    let email = agent.email.as_deref().unwrap_or("no e-mail");
    format!("agent {} {} <{}>", agent.id, crate::text::shown(name), crate::text::shown(email))
}

/// Why a lookup could not tell, from the worker's conclusion.
fn unknown(next: Next) -> OpResult {
    let message = match next {
        Next::Final(r) => r.message,
        Next::Retry { message, .. } => message,
        Next::Uncertain { .. } => "no answer".into(),
        Next::Hold { reason } => reason,
    };
    row(Outcome::WouldFail, None, format!("the lookup could not tell: {message}"))
}

/// One row's predicted outcome, and a reason the run would be held, if this row gives one.
async fn predict<A: Api>(
    parts: &Parts<ReadOnly<A>>,
    op: &OpRecord,
) -> journal::Result<(OpResult, Option<String>)> {
    let worker = Worker::new(parts);
    Ok(match &op.op {
        Op::CreateTicket(_) => (row(Outcome::WouldCreate, None, "would create the ticket"), None),
        Op::CreateAgent(a) => {
            let target = AgentRef::Email(a.email.clone());
            let result = match worker.find_agent(op, &target).await? {
                Lookup::Found { agent, .. } => {
                    row(Outcome::Exists, Some(agent.id), format!("{} exists", who(&agent)))
                }
                Lookup::Missing { .. } => row(Outcome::WouldCreate, None, "would create the agent"),
                Lookup::Failed(next) => unknown(next),
            };
            (result, None)
        }
        Op::GetAgent { email } => {
            let result = match worker.find_agent(op, &AgentRef::Email(email.clone())).await? {
                Lookup::Found { agent, .. } => row(Outcome::Found, Some(agent.id), who(&agent)),
                Lookup::Missing { .. } => row(Outcome::NotFound, None, "no agent with this e-mail"),
                Lookup::Failed(next) => unknown(next),
            };
            (result, None)
        }
        Op::DeleteAgent { agent } => predict_delete(parts, &worker, op, agent).await?,
        // Made by `fdsync undo`, never read from a file: nothing to preview.
        Op::RestoreAgent { .. } | Op::DeleteTicket { .. } => {
            (row(Outcome::Skipped, None, "an undo is not previewed"), None)
        }
    })
}

async fn predict_delete<A: Api>(
    parts: &Parts<ReadOnly<A>>,
    worker: &Worker<'_, ReadOnly<A>>,
    op: &OpRecord,
    target: &AgentRef,
) -> journal::Result<(OpResult, Option<String>)> {
    let protected_emails = &parts.cfg.protected_emails;
    if let AgentRef::Email(e) = target
        && protected_emails.contains(&e.key())
    {
        return Ok((
            row(Outcome::Protected, None, format!("{} is in safety.protected_emails", e.key())),
            None,
        ));
    }
    let me = Identity::for_delete(&parts.identity, &parts.sender).await;
    let agent = match worker.find_agent(op, target).await? {
        Lookup::Found { agent, .. } => agent,
        Lookup::Missing { .. } => return Ok((row(Outcome::AlreadyDeleted, None, "no such agent"), None)),
        Lookup::Failed(next) => return Ok((unknown(next), None)),
    };
    let id = Some(agent.id);
    if agent.email.as_ref().is_some_and(|e| protected_emails.contains(e)) {
        return Ok((
            row(Outcome::Protected, id, format!("{} is protected (safety.protected_emails)", who(&agent))),
            None,
        ));
    }
    match me {
        Ok(me) if me.id == agent.id || agent.email.as_deref() == Some(me.email.as_str()) => {
            Ok((row(Outcome::OwnKey, id, format!("{} owns the API key; never deleted", who(&agent))), None))
        }
        Ok(_) => Ok((row(Outcome::WouldDelete, id, format!("would delete {}", who(&agent))), None)),
        Err(reason) => {
            Ok((row(Outcome::WouldDelete, id, format!("would delete {}", who(&agent))), Some(reason)))
        }
    }
}
