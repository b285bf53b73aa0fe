//! Before a delete: may this agent be deleted, and what is its before-image? The one place the
//! per-row safety rules live, shared by the run (the worker's delete) and the preview:
//! `safety.protected_emails`, the key's owner, and `safety.protected_roles`. The agent's full
//! record (`GET agents/{id}`: list items carry no `role_ids`) is read before anything is decided,
//! and is the snapshot saved before the delete. Fails closed: an owner or a role list that
//! cannot be read makes the delete wait, never proceed.

use super::identity::Identity;
use crate::domain::{AgentRef, Outcome};
use crate::engine::Parts;
use crate::engine::decision::{Lookup, Next, done, otherwise, paused};
use crate::engine::lookup::find_agent;
use crate::engine::ports::Api;
use crate::freshdesk::{Agent, Answer, EndpointClass, Me};
use crate::journal::{self, OpRecord, now_ms};
use crate::text::shown;
use std::time::Duration;

/// What the safety rules say about one delete row.
pub(crate) enum Vetted {
    /// The agent may be deleted, unless `waits` names reasons it must wait (its file is then held).
    Go { agent: Agent, cached: bool, waits: Vec<String> },
    /// Never deleted: a protected e-mail or role, or the key's own agent.
    Protected { agent: Option<Agent>, why: String, own_key: bool },
    /// Decided without a delete (already gone, or the lookup could not tell).
    Stop(Next),
}

/// `preview`: go on past reasons to wait (collected in `Go::waits`) to show the agent; a
/// run stops at the first one, before spending a lookup.
pub(crate) async fn vet_delete<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    target: &AgentRef,
    preview: bool,
) -> journal::Result<Vetted> {
    let Parts { cfg, identity, sender, roles, .. } = parts;
    if let AgentRef::Email(e) = target
        && cfg.protected_emails.contains(&e.key())
    {
        let why = format!("{} is in safety.protected_emails", e.key());
        return Ok(Vetted::Protected { agent: None, why, own_key: false });
    }
    let mut waits = Vec::new();
    let me = match Identity::for_delete(identity, sender).await {
        Ok(me) => Some(me),
        Err(reason) if preview => {
            waits.push(reason);
            None
        }
        Err(reason) => return Ok(Vetted::Stop(Next::Hold { reason })),
    };
    let protected_roles = if cfg.protected_roles.is_empty() {
        None
    } else {
        match roles.protected(sender, &cfg.protected_roles).await {
            Ok(ids) => Some(ids),
            Err(reason) if preview => {
                waits.push(reason);
                None
            }
            Err(reason) => return Ok(Vetted::Stop(Next::Hold { reason })),
        }
    };
    let (agent, cached) = match find_agent(parts, op, target).await? {
        Lookup::Found { agent, cached, .. } => (agent, cached),
        Lookup::Missing { status } => {
            return Ok(Vetted::Stop(done(Outcome::AlreadyDeleted, None, status, "no such agent")));
        }
        Lookup::Failed(next) => return Ok(Vetted::Stop(next)),
    };
    // A row by id was looked up with `GET agents/{id}` already.
    let agent = match target {
        AgentRef::Id(_) => agent,
        AgentRef::Email(_) => match full_record(parts, agent, cached).await {
            Ok(agent) => agent,
            Err(next) => return Ok(Vetted::Stop(next)),
        },
    };
    if let Some((why, own_key)) = me.and_then(|me| protected(&cfg.protected_emails, &me, &agent)) {
        return Ok(Vetted::Protected { agent: Some(agent), why, own_key });
    }
    if let Some(ids) = protected_roles {
        match &agent.role_ids {
            None => waits.push(format!("{} lists no roles; deletes wait", who(&agent))),
            Some(held) => {
                if let Some(name) = held.iter().find_map(|id| ids.get(id)) {
                    let why =
                        format!("{} has the role '{}' (safety.protected_roles)", who(&agent), shown(name));
                    return Ok(Vetted::Protected { agent: Some(agent), why, own_key: false });
                }
            }
        }
    }
    Ok(Vetted::Go { agent, cached, waits })
}

/// The agent's whole record (`role_ids`, `group_ids`: the before-image an undo restores),
/// read by id unless the lookup already did.
async fn full_record<A: Api>(parts: &Parts<A>, agent: Agent, cached: bool) -> Result<Agent, Next> {
    if crate::freshdesk::agents::has_before_image(&agent.record) {
        return Ok(agent);
    }
    let Parts { sender, directory, .. } = parts;
    let Some(reply) = sender.send(EndpointClass::Other, |api| api.get_agent(agent.id)).await else {
        return Err(paused());
    };
    match reply.answer {
        Answer::Ok { value, .. } => Ok(value),
        // The listing was stale: look the email up afresh before concluding anything.
        Answer::NotFound if cached => {
            if let Some(email) = &agent.email {
                directory.forget(email).await;
            }
            Err(Next::Retry {
                refund: true,
                delay: Duration::ZERO,
                code: None,
                message: "the listed agent id is gone; looking the email up again".into(),
                http_status: Some(404),
            })
        }
        Answer::NotFound => Err(done(Outcome::AlreadyDeleted, Some(agent.id), Some(404), "already deleted")),
        other => Err(otherwise(&other, now_ms(), false)),
    }
}

/// The agent as reports and reasons show it (outside text escaped).
pub(crate) fn who(agent: &Agent) -> String {
    let name = agent.name.as_deref().unwrap_or("(no name)");
    let email = agent.email.as_deref().unwrap_or("no e-mail");
    format!("agent {} {} <{}>", agent.id, shown(name), shown(email))
}

/// Why this agent must not be deleted, if it must not (and whether it is the key's owner).
fn protected(protected_emails: &[String], me: &Me, agent: &Agent) -> Option<(String, bool)> {
    if let Some(e) = &agent.email
        && protected_emails.iter().any(|p| p == e)
    {
        return Some((format!("{} is in safety.protected_emails", shown(e)), false));
    }
    if me.id == agent.id || agent.email.as_deref() == Some(me.email.as_str()) {
        return Some(("refusing to delete the agent who owns the API key".into(), true));
    }
    None
}
