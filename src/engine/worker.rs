//! One op, start to finish: wait for quota, mark it `sending` (durably, for mutating calls),
//! call Freshdesk, classify, record. Anything but a final answer goes back to `pending` with a
//! retry time, or (no answer to a mutating call) stays `sending` for reconciliation.

use super::answers::describe;
use super::ports::Api;
use super::{Inner, pacer::Permit};
use crate::domain::{AgentRef, NewAgent, NewTicket, Op, Outcome, idempotency_tag};
use crate::freshdesk::agents::{existing_id, parse_agent};
use crate::freshdesk::tickets::parse_ticket;
use crate::freshdesk::{Answer, EndpointClass, Reply};
use crate::journal::{self, OpRecord, OpResult, now_ms};
use serde_json::Value;

/// Where the target of an agent row was found.
enum Lookup {
    Found { agent: Value, cached: bool, status: Option<u16> },
    Missing { status: Option<u16> },
    Failed(Next),
}

/// A stand-in answer for a retry fdsync decides on itself.
fn no_answer(reason: &str) -> Reply {
    Reply {
        answer: Answer::Transient { status: None, reason: reason.into() },
        rate: Default::default(),
        elapsed: Default::default(),
        next_page: false,
    }
}

/// What a worker concluded about one answer.
pub(crate) enum Next {
    Final(OpResult),
    Retry {
        refund: bool,
        reply: Reply,
    },
    /// A mutating request got no answer: reconcile before anything is re-sent.
    Uncertain {
        sent_at: i64,
    },
}

fn done(outcome: Outcome, id: Option<u64>, http_status: Option<u16>, message: impl Into<String>) -> Next {
    Next::Final(OpResult {
        outcome,
        freshdesk_id: id,
        http_status,
        error_code: None,
        message: message.into(),
    })
}

fn failed(reply: &Reply) -> Next {
    let (error_code, message) = describe(&reply.answer);
    Next::Final(OpResult {
        outcome: Outcome::Failed,
        freshdesk_id: None,
        http_status: reply.answer.http_status(),
        error_code,
        message,
    })
}

/// A final failure decided by fdsync itself (safety rules), with no HTTP status.
pub(crate) fn refused(code: &str, message: String) -> Next {
    Next::Final(OpResult {
        outcome: Outcome::Failed,
        freshdesk_id: None,
        http_status: None,
        error_code: Some(code.into()),
        message,
    })
}

impl<A: Api> Inner<A> {
    pub(crate) async fn execute(&self, op: OpRecord) -> journal::Result<()> {
        let next = match &op.op {
            Op::CreateTicket(t) => self.create_ticket(&op, t).await?,
            Op::CreateAgent(a) => self.create_agent(&op, a).await?,
            Op::GetAgent { email } => self.get_agent(&op, email).await?,
            Op::DeleteAgent { agent } => self.delete_agent(&op, agent).await?,
        };
        self.settle(&op, next).await
    }

    /// Records a worker's conclusion.
    pub(crate) async fn settle(&self, op: &OpRecord, next: Next) -> journal::Result<()> {
        match next {
            Next::Final(result) => {
                tracing::debug!(op_id = op.id, row = op.row, outcome = %result.outcome, "Op finished.");
                self.journal.finish_op(op.id, result).await
            }
            Next::Uncertain { sent_at } => {
                tracing::info!(op_id = op.id, row = op.row, "No answer to a change; it will be looked up.");
                self.uncertain
                    .lock()
                    .expect("uncertain lock")
                    .insert(op.id, self.reconcile_due(Some(sent_at)));
                Ok(())
            }
            Next::Retry { refund, reply } => self.retry(op, refund, &reply).await,
        }
    }

    async fn retry(&self, op: &OpRecord, refund: bool, reply: &Reply) -> journal::Result<()> {
        let (_, message) = describe(&reply.answer);
        let attempts = if refund { op.attempts } else { op.attempts + 1 };
        if !refund && attempts >= self.cfg.max_attempts {
            let (error_code, _) = describe(&reply.answer);
            let result = OpResult {
                outcome: Outcome::Failed,
                freshdesk_id: None,
                http_status: reply.answer.http_status(),
                error_code,
                message: format!("gave up after {attempts} attempts: {message}"),
            };
            return self.journal.finish_op(op.id, result).await;
        }
        let delay = match &reply.answer {
            Answer::RateLimited { retry_after } => *retry_after,
            _ => super::retry::backoff(attempts, None),
        };
        let at = now_ms() + delay.as_millis() as i64;
        self.journal.retry_op(op.id, at, refund, reply.answer.http_status(), message).await
    }

    /// Waits for quota, counts the attempt (marking a mutating op `sending`), and makes the call.
    pub(crate) async fn call<F, Fut>(
        &self,
        op: &OpRecord,
        class: EndpointClass,
        mutating: bool,
        f: F,
    ) -> journal::Result<(Reply, i64)>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Reply>,
    {
        let permit: Permit = self.pacer.acquire(class).await;
        let sent_at = self.journal.begin_attempt(op.id, mutating).await?;
        let reply = f().await;
        permit.finish(&reply);
        self.observe(&reply.answer);
        Ok((reply, sent_at))
    }

    /// The common handling of answers that are not the op's own success.
    fn otherwise(&self, reply: Reply, sent_at: i64, mutating: bool) -> Next {
        match &reply.answer {
            Answer::RateLimited { .. } => Next::Retry { refund: true, reply },
            // Not the row's fault: retried when the credentials work again, no attempt spent.
            Answer::Auth { .. } => Next::Retry { refund: true, reply },
            // A gateway error (bad gateway, gateway timeout) says nothing about whether the
            // application behind it committed the change: treat it as no answer.
            Answer::Transient { status: Some(502 | 504), .. } if mutating => Next::Uncertain { sent_at },
            Answer::Transient { .. } => Next::Retry { refund: false, reply },
            Answer::Uncertain { .. } if mutating => Next::Uncertain { sent_at },
            Answer::Uncertain { .. } => Next::Retry { refund: false, reply },
            _ => failed(&reply),
        }
    }

    async fn create_ticket(&self, op: &OpRecord, t: &NewTicket) -> journal::Result<Next> {
        if op.key.starts_with("ext:")
            && let Some((file, row, id)) = self.journal.created_with_key(op.key.clone(), op.id).await?
        {
            return Ok(Next::Final(OpResult {
                outcome: Outcome::Exists,
                freshdesk_id: Some(id),
                http_status: None,
                error_code: None,
                message: format!("external_id already created as ticket {id} (file {file}, row {row})"),
            }));
        }
        let tag = idempotency_tag(&op.key);
        let (reply, sent_at) =
            self.call(op, EndpointClass::TicketCreate, true, || self.api.create_ticket(t, &tag)).await?;
        Ok(match &reply.answer {
            Answer::Success { body, .. } => {
                done(Outcome::Created, parse_ticket(body).map(|t| t.id), reply.answer.http_status(), "")
            }
            _ => self.otherwise(reply, sent_at, true),
        })
    }

    async fn create_agent(&self, op: &OpRecord, a: &NewAgent) -> journal::Result<Next> {
        let (reply, sent_at) = self.call(op, EndpointClass::Other, true, || self.api.create_agent(a)).await?;
        Ok(match &reply.answer {
            Answer::Success { body, .. } => {
                done(Outcome::Created, agent_id(body), reply.answer.http_status(), "")
            }
            Answer::Conflict { errors } => match existing_id(errors) {
                Some(id) if is_agent_conflict(errors) => {
                    done(Outcome::Exists, Some(id), reply.answer.http_status(), "agent already exists")
                }
                _ => failed(&reply),
            },
            _ => self.otherwise(reply, sent_at, true),
        })
    }

    /// Finds the agent a row names: from the directory when it lists it, else by one call.
    async fn find_agent(
        &self,
        op: &OpRecord,
        target: &AgentRef,
        use_directory: bool,
    ) -> journal::Result<Lookup> {
        if let (true, AgentRef::Email(e)) = (use_directory, target)
            && let Some(agent) = self.directory_lookup(&e.key()).await
        {
            self.journal.begin_attempt(op.id, false).await?;
            return Ok(Lookup::Found { agent, cached: true, status: None });
        }
        let (reply, sent_at) = match target {
            AgentRef::Email(e) => {
                self.call(op, EndpointClass::Other, false, || self.api.find_agent_by_email(e.as_str()))
                    .await?
            }
            AgentRef::Id(id) => {
                self.call(op, EndpointClass::Other, false, || self.api.get_agent(*id)).await?
            }
        };
        let status = reply.answer.http_status();
        Ok(match (&reply.answer, target) {
            (Answer::Success { body, .. }, AgentRef::Email(_)) => match first_agent(body) {
                Some(agent) => Lookup::Found { agent: agent.clone(), cached: false, status },
                None => Lookup::Missing { status },
            },
            (Answer::Success { body, .. }, AgentRef::Id(_)) => {
                Lookup::Found { agent: body.clone(), cached: false, status }
            }
            (Answer::NotFound, AgentRef::Id(_)) => Lookup::Missing { status },
            _ => Lookup::Failed(self.otherwise(reply, sent_at, false)),
        })
    }

    async fn get_agent(&self, op: &OpRecord, email: &crate::domain::Email) -> journal::Result<Next> {
        Ok(match self.find_agent(op, &AgentRef::Email(email.clone()), true).await? {
            Lookup::Found { agent, status, .. } => done(Outcome::Found, agent_id(&agent), status, ""),
            Lookup::Missing { status } => done(Outcome::NotFound, None, status, "no agent with this email"),
            Lookup::Failed(next) => next,
        })
    }

    async fn delete_agent(&self, op: &OpRecord, target: &AgentRef) -> journal::Result<Next> {
        if let AgentRef::Email(e) = target
            && self.cfg.protected_emails.contains(&e.key())
        {
            return Ok(refused("protected", format!("{} is in safety.protected_emails", e.key())));
        }
        // 1. Find the agent and keep its record (the pre-delete snapshot).
        let (agent, cached) = match self.find_agent(op, target, true).await? {
            Lookup::Found { agent, cached, .. } => (agent, cached),
            Lookup::Missing { status } => {
                return Ok(done(Outcome::AlreadyDeleted, None, status, "no such agent"));
            }
            Lookup::Failed(next) => return Ok(next),
        };
        if self.me.get().is_none() {
            // Whose key this is must be known before anything is deleted.
            self.identify().await;
            if self.me.get().is_none() {
                return Ok(Next::Retry {
                    refund: true,
                    reply: no_answer("cannot tell whose API key this is yet"),
                });
            }
        }
        let Some(id) = agent_id(&agent) else {
            return Ok(refused("unexpected_answer", "the agent record has no id".into()));
        };
        if let Some(why) = self.protected(id, &agent) {
            return Ok(refused("protected", why));
        }
        self.journal.record_lookup(op.id, id, Some(agent.to_string())).await?;
        // 2. Delete it.
        let permit = self.pacer.acquire(EndpointClass::Other).await;
        let sent_at = self.journal.mark_sending(op.id).await?;
        let reply = self.api.delete_agent(id).await;
        permit.finish(&reply);
        self.observe(&reply.answer);
        let email_key = email_of(&agent);
        if cached {
            self.directory_forget(&email_key).await;
        }
        let status = reply.answer.http_status();
        Ok(match &reply.answer {
            Answer::Success { .. } => done(Outcome::Deleted, Some(id), status, ""),
            // The listing was stale: look the email up afresh before concluding anything.
            Answer::NotFound if cached => Next::Retry {
                refund: true,
                reply: no_answer("the listed agent id is gone; looking the email up again"),
            },
            Answer::NotFound => done(Outcome::AlreadyDeleted, Some(id), status, "already deleted"),
            _ => self.otherwise(reply, sent_at, true),
        })
    }

    /// Why this agent must not be deleted, if it must not.
    fn protected(&self, id: u64, agent: &Value) -> Option<String> {
        let email = Some(email_of(agent)).filter(|e| !e.is_empty());
        if let Some(e) = &email
            && self.cfg.protected_emails.iter().any(|p| p == e)
        {
            return Some(format!("{e} is in safety.protected_emails"));
        }
        let me = self.me.get().cloned().unwrap_or_default();
        if me.id == Some(id) || (me.email.is_some() && me.email == email) {
            return Some("refusing to delete the agent who owns the API key".into());
        }
        None
    }
}

/// The first agent of a list answer (`GET /agents?email=`).
pub(crate) fn first_agent(body: &Value) -> Option<&Value> {
    body.as_array().and_then(|a| a.first())
}

/// A 409 on agent create means "exists" only when it names an agent, not a mere contact.
fn is_agent_conflict(errors: &[crate::freshdesk::ApiFieldError]) -> bool {
    errors.iter().any(|e| e.additional_info.as_ref().and_then(|i| i.get("agent_id")).is_some())
}

/// The id of an agent body.
fn agent_id(body: &Value) -> Option<u64> {
    parse_agent(body).map(|a| a.id)
}

/// The lower-cased email of an agent body.
fn email_of(agent: &Value) -> String {
    agent.pointer("/contact/email").and_then(Value::as_str).unwrap_or_default().to_lowercase()
}
