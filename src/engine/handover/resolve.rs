//! Who takes over a leaver's open tickets (issue 24), resolved to ids before any change: the
//! row's `successor` / `successor_group`, else its inbox's default group; a successor who is not
//! an agent, is the leaver, or is deleted by another row of the same file, or a group the account
//! does not have, refuses the row (`invalid_successor`). Reads only.

use super::super::Parts;
use super::super::decision::{Next, otherwise, paused, refused};
use super::super::ports::Api;
use crate::domain::{AgentRef, GroupRef, Successor};
use crate::freshdesk::{Agent, Answer, EndpointClass, Group, Holder};
use crate::journal::{self, OpRecord};
use std::time::Duration;

/// What a handover reads of the account once per run: its groups (a `successor_group` by name
/// needs them) and, for the preview, the custom fields an agent's update must carry.
#[derive(Default)]
pub(crate) struct Lookups {
    groups: tokio::sync::Mutex<Option<Vec<Group>>>,
    pub(super) required: tokio::sync::Mutex<Option<Vec<String>>>,
}

/// Who takes over, resolved to ids, and how to say it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub to: Holder,
    pub label: String,
}

/// The row's successor, else its inbox's default group; `None`: no handover (today's delete).
pub(crate) async fn successor_of<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    explicit: Option<&Successor>,
) -> journal::Result<Option<Successor>> {
    if let Some(s) = explicit {
        return Ok(Some(s.clone()));
    }
    if parts.cfg.successor_groups.is_empty() {
        return Ok(None);
    }
    let inbox = parts.journal.file(op.file_id).await?.and_then(|f| f.inbox);
    Ok(inbox.and_then(|dir| {
        let group = parts.cfg.successor_groups.iter().find(|(d, _)| *d == dir).map(|(_, g)| g.clone());
        group.map(|g| Successor { agent: None, group: Some(g) })
    }))
}

/// Resolves `s` for the leaver `leaver` (row `op`): ids, or the row's refusal (`invalid_successor`)
/// or a wait (the lookups could not tell). Reads only.
pub(crate) async fn resolve<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    leaver: &Agent,
    s: &Successor,
) -> journal::Result<Result<Target, Next>> {
    let bad = |why: String| Err(refused("invalid_successor", why));
    let mut to = Holder { responder_id: None, group_id: None };
    if let Some(a) = &s.agent {
        let agent = match find_agent(parts, a).await {
            Ok(Some(agent)) => agent,
            Ok(None) => return Ok(bad(format!("the successor {} is not an agent", shown_ref(a)))),
            Err(next) => return Ok(Err(next)),
        };
        if agent.id == leaver.id {
            return Ok(bad("the successor is the leaver".into()));
        }
        let mut keys = vec![crate::domain::OpKey::agent_id(agent.id).to_string()];
        keys.extend(agent.email.clone());
        if let Some(row) = parts.journal.deleted_in_file(op.file_id, op.row, keys).await? {
            let why = format!("the successor {} is deleted by row {row} of this file", shown_ref(a));
            return Ok(bad(why));
        }
        to.responder_id = Some(agent.id);
    }
    if let Some(g) = &s.group {
        match find_group(parts, g).await {
            Ok(Some(id)) => to.group_id = Some(id),
            Ok(None) => return Ok(bad(format!("the account has no {g}"))),
            Err(why) => {
                let message = format!("the account's groups could not be read: {why}");
                return Ok(Err(Next::Retry {
                    refund: false,
                    delay: Duration::ZERO,
                    code: None,
                    message,
                    http_status: None,
                }));
            }
        }
    }
    Ok(Ok(Target { to, label: s.to_string() }))
}

fn shown_ref(a: &AgentRef) -> String {
    match a {
        AgentRef::Id(id) => format!("agent {id}"),
        AgentRef::Email(e) => crate::text::shown(e.as_str()).to_string(),
    }
}

/// The successor agent: `Ok(None)` when Freshdesk says there is no such agent.
async fn find_agent<A: Api>(parts: &Parts<A>, a: &AgentRef) -> Result<Option<Agent>, Next> {
    let Parts { journal, sender, directory, .. } = parts;
    match a {
        AgentRef::Email(e) => {
            if let Some(agent) = directory.lookup(journal, sender, &e.key()).await {
                return Ok(Some(agent));
            }
            let Some(reply) =
                sender.send(EndpointClass::Other, |api| api.find_agent_by_email(e.as_str())).await
            else {
                return Err(paused());
            };
            match reply.answer {
                Answer::Ok { value, .. } => Ok(value),
                other => Err(otherwise(&other, 0, false)),
            }
        }
        AgentRef::Id(id) => {
            let Some(reply) = sender.send(EndpointClass::Other, |api| api.get_agent(*id)).await else {
                return Err(paused());
            };
            match reply.answer {
                Answer::Ok { value, .. } => Ok(Some(value)),
                Answer::NotFound => Ok(None),
                other => Err(otherwise(&other, 0, false)),
            }
        }
    }
}

/// A group's id by id or (case-insensitive) name, from the account's groups (read once).
async fn find_group<A: Api>(parts: &Parts<A>, g: &GroupRef) -> Result<Option<u64>, String> {
    let mut cached = parts.lookups.groups.lock().await;
    if cached.is_none() {
        let mut all = Vec::new();
        for page in 1..=100u32 {
            let (groups, more) = parts.sender.read(EndpointClass::Other, |api| api.list_groups(page)).await?;
            let n = groups.len();
            all.extend(groups);
            if !more || n == 0 {
                break;
            }
        }
        *cached = Some(all);
    }
    let groups = cached.as_deref().unwrap_or_default();
    Ok(match g {
        GroupRef::Id(id) => groups.iter().find(|x| x.id == *id).map(|x| x.id),
        GroupRef::Name(name) => {
            groups.iter().find(|x| x.name.trim().eq_ignore_ascii_case(name)).map(|x| x.id)
        }
    })
}
