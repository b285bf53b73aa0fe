//! The preview (`fdsync plan`): what each row of a file would do, found with read-only calls
//! only. A [`Preview`] is an engine whose send path is read-only: it answers every create,
//! delete and restore itself and never calls Freshdesk for them. The preview uses the same
//! parts as a run (identity, agent directory, lookups, safety rules), so it predicts what the run
//! will do, and it says whether the run would be held and why. A delete row's detail names the
//! agent, their roles, groups, ticket scope and open tickets (counted in batches at the end).

use super::decision::{Lookup, Next};
use super::fieldbook::Typed;
use super::lookup::find_agent;
use super::pacer::Pacer;
use super::ports::Api;
use super::safety::guards::Account;
use super::safety::open_tickets;
use super::safety::vet::{Vetted, vet_delete, who};
use super::send::SendPolicy;
use super::{Engine, EngineConfig, Parts, RunEnd};
use crate::domain::{AgentRef, NewTicket, Op, Outcome};
use crate::freshdesk::{Agent, TicketFields};
use crate::journal::{self, OpRecord, OpResult, now_ms};
use std::collections::HashMap;
use std::sync::Arc;

/// What a preview found besides the rows: reasons the real run would be held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PreviewHolds {
    pub reasons: Vec<String>,
}

impl PreviewHolds {
    fn add(&mut self, reason: String) {
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }
}

/// One row's prediction: its outcome, reasons the run would be held, and the agent a delete
/// would remove (whose open tickets are counted at the end).
struct Predicted {
    result: OpResult,
    holds: Vec<String>,
    deletes: Option<u64>,
}

impl Predicted {
    fn row(result: OpResult) -> Self {
        Self { result, holds: Vec::new(), deletes: None }
    }
}

/// An engine whose send path refuses every change: the only kind that previews.
pub struct Preview<A>(Engine<A>);

impl<A: Api> Preview<A> {
    pub fn new(journal: journal::Journal, api: A, pacer: Arc<Pacer>, cfg: EngineConfig) -> Self {
        Self(Engine::build(journal, api, pacer, cfg, SendPolicy { tally: None, read_only: true }))
    }

    /// Previews every op of `file_id` (in a scratch journal the caller owns): each op ends with
    /// its predicted outcome, so the journal's report lines are the preview's report.
    pub async fn preview(&self, file_id: i64) -> journal::Result<Result<PreviewHolds, RunEnd>> {
        let parts = &self.0.inner;
        if let Err(end) = parts.identity.learn(&parts.sender).await {
            return Ok(Err(end));
        }
        let mut holds = PreviewHolds::default();
        let (mut gated, mut granted) = (false, false);
        let mut fields: Option<Result<std::sync::Arc<TicketFields>, String>> = None;
        let mut deleted: Vec<(i64, OpResult, u64)> = Vec::new();
        loop {
            let ops = parts.journal.ready_ops(now_ms().saturating_add(i64::MAX / 2), 1024).await?;
            let ops: Vec<OpRecord> = ops.into_iter().filter(|o| o.file_id == file_id).collect();
            if ops.is_empty() {
                break;
            }
            for op in ops {
                let (gate, journal, sender) = (&parts.gate, &parts.journal, &parts.sender);
                if !gated && matches!(op.op, Op::DeleteAgent { .. }) {
                    gated = true;
                    let account = Account { connections: &parts.cfg.account_connections };
                    if let Err(reason) = gate
                        .check(file_id, parts.cfg.volume, account, journal, sender, &parts.directory)
                        .await?
                    {
                        holds.add(reason);
                    }
                }
                let sets_roles = matches!(&op.op, Op::UpdateAgent { set, .. } if set.role_ids.is_some());
                if !granted && (matches!(op.op, Op::CreateAgent(_)) || sets_roles) {
                    granted = true;
                    let protected = &parts.cfg.protected_roles;
                    if let Err(reason) =
                        gate.check_grants(file_id, protected, journal, sender, &parts.roles).await?
                    {
                        holds.add(reason);
                    }
                }
                if fields.is_none() && matches!(op.op, Op::CreateTicket(_)) {
                    fields = Some(parts.fields.fields(&parts.sender).await);
                }
                let p = predict(parts, &op, fields.as_ref()).await?;
                p.holds.into_iter().for_each(|r| holds.add(r));
                if let Some(agent) = p.deletes {
                    deleted.push((op.id, p.result.clone(), agent));
                }
                parts.journal.finish_op(op.id, p.result).await?;
            }
        }
        add_open_tickets(parts, deleted).await?;
        Ok(Ok(holds))
    }
}

/// Appends each would-be-deleted agent's open tickets to its row.
async fn add_open_tickets<A: Api>(parts: &Parts<A>, rows: Vec<(i64, OpResult, u64)>) -> journal::Result<()> {
    let agents: Vec<u64> = rows.iter().map(|(_, _, id)| *id).collect();
    let counts = open_tickets::count(&parts.sender, &agents).await;
    for (op_id, mut result, agent) in rows {
        let open = match &counts {
            Ok(counts) => counts.get(&agent).copied().unwrap_or_default().to_string(),
            Err(why) => format!("unknown ({why})"),
        };
        result.message = format!("{}; open tickets: {open}", result.message);
        parts.journal.finish_op(op_id, result).await?;
    }
    Ok(())
}

fn row(outcome: Outcome, id: Option<u64>, message: impl Into<String>) -> OpResult {
    OpResult { outcome, freshdesk_id: id, http_status: None, error_code: None, message: message.into() }
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

/// One row's predicted outcome (`fields`: the account's ticket fields, read once).
async fn predict<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    fields: Option<&Result<std::sync::Arc<TicketFields>, String>>,
) -> journal::Result<Predicted> {
    Ok(match &op.op {
        Op::CreateTicket(t) => Predicted::row(predict_named_ticket(parts, t, fields).await),
        Op::CreateAgent(a) => {
            Predicted::row(match find_agent(parts, op, &AgentRef::Email(a.email.clone())).await? {
                Lookup::Found { agent, .. } => {
                    row(Outcome::Exists, Some(agent.id), format!("{} exists", who(&agent)))
                }
                Lookup::Missing { .. } => {
                    let message = format!("would create the agent{}", grant_note(parts, &a.role_ids).await);
                    row(Outcome::WouldCreate, None, message)
                }
                Lookup::Failed(next) => unknown(next),
            })
        }
        Op::GetAgent { email } => {
            Predicted::row(match find_agent(parts, op, &AgentRef::Email(email.clone())).await? {
                Lookup::Found { agent, .. } => row(Outcome::Found, Some(agent.id), who(&agent)),
                Lookup::Missing { .. } => row(Outcome::NotFound, None, "no agent with this e-mail"),
                Lookup::Failed(next) => unknown(next),
            })
        }
        Op::DeleteAgent { agent, .. } => predict_delete(parts, op, agent).await?,
        // Made by `fdsync undo`, never read from a file: nothing to preview.
        Op::RestoreAgent { .. }
        | Op::DeleteTicket { .. }
        | Op::UpdateAgent { .. }
        | Op::CreateContact(_)
        | Op::ActivateContact { .. } => {
            Predicted::row(row(Outcome::Skipped, None, "an undo or a SCIM change is not previewed"))
        }
    })
}

/// A ticket create with its names resolved as the run would (the message shows each id).
async fn predict_named_ticket<A: Api>(
    parts: &Parts<A>,
    t: &NewTicket,
    fields: Option<&Result<std::sync::Arc<TicketFields>, String>>,
) -> OpResult {
    match parts.names.resolve(parts, std::borrow::Cow::Borrowed(t)).await {
        Typed::Ready(sent) => {
            let mut result = predict_ticket(&sent, fields);
            result.message.push_str(&super::names::resolved_note(t, &sent));
            result
        }
        Typed::Bad(why) => row(Outcome::WouldFail, None, why),
        Typed::Unknown(why) => row(Outcome::WouldFail, None, format!("the lookup could not tell: {why}")),
    }
}

/// What a create's roles say when one is protected: its file is held until approved.
async fn grant_note<A: Api>(parts: &Parts<A>, role_ids: &[u64]) -> String {
    let protected = &parts.cfg.protected_roles;
    if role_ids.is_empty() || protected.is_empty() {
        return String::new();
    }
    match parts.roles.protected(&parts.sender, protected).await {
        Ok(ids) => role_ids.iter().find_map(|id| ids.get(id)).map_or_else(String::new, |name| {
            format!(" with the protected role '{}': the run is held for approval", crate::text::shown(name))
        }),
        Err(_) => "; its roles cannot be checked: the run is held".into(),
    }
}

/// A ticket create, typed by the account's ticket fields as the run would type it, then
/// checked the way Freshdesk checks it. The message shows the values as they would be sent.
fn predict_ticket(t: &NewTicket, fields: Option<&Result<std::sync::Arc<TicketFields>, String>>) -> OpResult {
    match fields {
        Some(Ok(fields)) => {
            let typed = match fields.type_ticket(t) {
                Ok(typed) => typed,
                Err(errors) => {
                    let reasons: Vec<&str> = errors.iter().map(|e| e.reason.as_str()).collect();
                    return row(Outcome::WouldFail, None, reasons.join("; "));
                }
            };
            match fields.check(&typed).as_slice() {
                [] => {
                    row(Outcome::WouldCreate, None, format!("would create the ticket{}", sent_values(&typed)))
                }
                reasons => row(Outcome::WouldFail, None, reasons.join("; ")),
            }
        }
        Some(Err(why)) => row(
            Outcome::WouldCreate,
            None,
            format!(
                "would create the ticket; its custom fields were not checked (ticket fields unreadable: {why})"
            ),
        ),
        None => row(Outcome::WouldCreate, None, format!("would create the ticket{}", sent_values(t))),
    }
}

/// `; custom_fields {"cf_count":42,…}` as they would be sent (JSON shows their types), escaped.
fn sent_values(t: &NewTicket) -> String {
    let mut out = String::new();
    if !t.custom_fields.is_empty() {
        let json = serde_json::to_string(&t.custom_fields).unwrap_or_default();
        out.push_str(&format!("; custom_fields {}", crate::text::Shown(&json)));
    }
    if !t.attachments.is_empty() {
        let files: Vec<String> = t
            .attachments
            .iter()
            .map(|a| format!("{} ({} bytes)", crate::text::Shown(&a.name), a.size))
            .collect();
        out.push_str(&format!("; attachments {}", files.join(", ")));
    }
    out
}

async fn predict_delete<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    target: &AgentRef,
) -> journal::Result<Predicted> {
    Ok(match vet_delete(parts, op, target, true).await? {
        Vetted::Go { agent, waits, .. } => {
            let roles = parts.roles.names(&parts.sender).await.ok();
            let message = format!("would delete {}", detail(&agent, roles.as_deref()));
            // Offboarding's handover: how many open tickets would move, and to whom.
            let explicit = match &op.op {
                Op::DeleteAgent { successor, .. } => successor.as_ref(),
                _ => None,
            };
            let handover = match super::handover::successor_of(parts, op, explicit).await? {
                None => None,
                Some(s) => Some(match super::handover::resolve(parts, op, &agent, &s).await? {
                    Ok(target) => super::handover::preview_line(parts, agent.id, &target).await,
                    Err(Next::Final(r)) => {
                        return Ok(Predicted::row(row(Outcome::WouldFail, Some(agent.id), r.message)));
                    }
                    Err(next) => return Ok(Predicted::row(unknown(next))),
                }),
            };
            let message = match &handover {
                Some(line) => format!("{message}; {line}"),
                None => message,
            };
            Predicted {
                result: row(Outcome::WouldDelete, Some(agent.id), message),
                holds: waits,
                deletes: handover.is_none().then_some(agent.id),
            }
        }
        Vetted::Protected { agent, why, own_key } => {
            let outcome = if own_key { Outcome::OwnKey } else { Outcome::Protected };
            Predicted::row(row(outcome, agent.map(|a| a.id), why))
        }
        Vetted::Stop(Next::Final(r)) if r.outcome != Outcome::Failed => Predicted::row(r),
        Vetted::Stop(next) => Predicted::row(unknown(next)),
    })
}

/// The agent a delete would remove: who, roles (by name when the account's roles are known),
/// groups and ticket scope.
fn detail(agent: &Agent, roles: Option<&HashMap<u64, String>>) -> String {
    let role_names = match (&agent.role_ids, roles) {
        (Some(ids), Some(names)) => ids
            .iter()
            .map(|id| {
                names.get(id).map_or_else(|| format!("role {id}"), |n| crate::text::shown(n).to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        (Some(ids), None) => ids.iter().map(|id| format!("role {id}")).collect::<Vec<_>>().join(", "),
        (None, _) => "unknown".into(),
    };
    let groups = agent.group_ids.as_ref().map_or_else(|| "unknown".to_string(), |g| g.len().to_string());
    let scope = match agent.ticket_scope {
        Some(1) => "global",
        Some(2) => "group",
        Some(3) => "restricted",
        _ => "unknown",
    };
    format!("{}; roles: {role_names}; groups: {groups}; ticket scope: {scope}", who(agent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freshdesk::Decode;

    #[test]
    fn a_delete_detail_names_roles_groups_and_scope() {
        let body = r#"{"id": 6, "contact": {"email": "jo@example.com", "name": "Jo <b>"},
                       "role_ids": [4, 9], "group_ids": [1, 2], "ticket_scope": 2}"#;
        let agent = Agent::decode(body.as_bytes()).unwrap();
        let names = HashMap::from([(4, "Agent".to_string())]);
        let d = detail(&agent, Some(&names));
        assert_eq!(
            d,
            "agent 6 Jo <b> <jo@example.com>; roles: Agent, role 9; groups: 2; ticket scope: group"
        );
    }
}
