//! Finds the agent a row names, for the worker (a lookup row, a delete) and the preview: from the
//! agent directory when it lists the e-mail, else by one call (`GET agents?email=` or
//! `GET agents/{id}`), counted as an attempt of the row.

use super::Parts;
use super::decision::{Lookup, otherwise, paused};
use super::ports::Api;
use crate::domain::AgentRef;
use crate::freshdesk::{Answer, EndpointClass};
use crate::journal::{self, OpRecord};

/// Finds the agent a row names: from the directory when it lists it, else by one call.
pub(crate) async fn find_agent<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    target: &AgentRef,
) -> journal::Result<Lookup> {
    let Parts { journal, sender, directory, .. } = parts;
    if let AgentRef::Email(e) = target
        && let Some(agent) = directory.lookup(journal, sender, &e.key()).await
    {
        journal.begin_attempt(op.id, false).await?;
        return Ok(Lookup::Found { agent, cached: true, status: None });
    }
    let mark = journal.begin_attempt(op.id, false);
    Ok(match target {
        AgentRef::Email(e) => {
            let sent =
                sender.send_after(EndpointClass::Other, mark, |api| api.find_agent_by_email(e.as_str()));
            let Some((reply, sent_at)) = sent.await? else { return Ok(Lookup::Failed(paused())) };
            match reply.answer {
                Answer::Ok { status, value: Some(agent) } => {
                    Lookup::Found { agent, cached: false, status: Some(status) }
                }
                Answer::Ok { status, value: None } => Lookup::Missing { status: Some(status) },
                other => Lookup::Failed(otherwise(&other, sent_at, false)),
            }
        }
        AgentRef::Id(id) => {
            let sent = sender.send_after(EndpointClass::Other, mark, |api| api.get_agent(*id));
            let Some((reply, sent_at)) = sent.await? else { return Ok(Lookup::Failed(paused())) };
            match reply.answer {
                Answer::Ok { status, value } => {
                    Lookup::Found { agent: value, cached: false, status: Some(status) }
                }
                Answer::NotFound => Lookup::Missing { status: Some(404) },
                other => Lookup::Failed(otherwise(&other, sent_at, false)),
            }
        }
    })
}
