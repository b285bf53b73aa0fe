//! The undo of a handover (issue 24): once `fdsync undo` has restored a leaver, each ticket
//! their delete handed over goes back to them (their agent id and the group it had), but only
//! where the ticket is still with the successor; a ticket someone changed since stays where it
//! is (`not_restorable: changed_since`). Each give-back is exactly once, like the move: read the
//! ticket, mark `sending` (`moves.back_state`), `PUT`; a lost answer is read back before any
//! resend.

use super::Parts;
use super::decision::{Next, done, otherwise, paused};
use super::handover::landed;
use super::ports::Api;
use crate::domain::{Op, Outcome, UndoOf};
use crate::freshdesk::{Answer, EndpointClass};
use crate::journal::{self, BackState, Move, MoveState, OpRecord, now_ms};
use std::time::Duration;

/// The undone row of a restore op.
fn undone(op: &OpRecord) -> Option<UndoOf> {
    match &op.op {
        Op::RestoreAgent { of, .. } => Some(*of),
        _ => None,
    }
}

/// Whether op `op` (a restore) has tickets to give back once its agent is restored.
pub(crate) async fn has_moves<A: Api>(parts: &Parts<A>, op: &OpRecord) -> journal::Result<bool> {
    let Some(of) = undone(op) else { return Ok(false) };
    let moves = parts.journal.moves_of_row(of.file_id, of.row).await?;
    Ok(moves.iter().any(|m| m.state == MoveState::Done))
}

/// Whether this restore already restored its agent (its give-backs were opened).
pub(crate) async fn restored_already<A: Api>(parts: &Parts<A>, op: &OpRecord) -> journal::Result<bool> {
    let Some(of) = undone(op) else { return Ok(false) };
    let moves = parts.journal.moves_of_row(of.file_id, of.row).await?;
    Ok(moves.iter().any(|m| m.back.is_some()))
}

/// The agent is restored (answered, or found so by a lookup): its tickets may be given back.
pub(crate) async fn open<A: Api>(parts: &Parts<A>, op: &OpRecord) -> journal::Result<()> {
    if let Some(of) = undone(op) {
        parts.journal.open_give_back(of.file_id, of.row).await?;
    }
    Ok(())
}

/// Gives back the tickets of restore op `op` (agent `agent_id` restored): `restored` with a
/// summary when each is given back or not restorable, else a wait.
pub(crate) async fn give_back<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    agent_id: u64,
) -> journal::Result<Next> {
    let Some(of) = undone(op) else { return Ok(done(Outcome::Restored, Some(agent_id), None, "")) };
    let mut wait = None;
    for m in parts.journal.moves_of_row(of.file_id, of.row).await? {
        if !matches!(m.back, Some(BackState::Pending | BackState::Sending)) {
            continue;
        }
        match back_one(parts, &m).await? {
            None => {}
            Some(Step::Later(next)) => wait = Some(next),
            Some(Step::Stop(next)) => return Ok(next),
        }
    }
    if let Some(next) = wait {
        return Ok(next);
    }
    let moves = parts.journal.moves_of_row(of.file_id, of.row).await?;
    let back = moves.iter().filter(|m| m.back == Some(BackState::Done)).count();
    let kept: Vec<String> = moves
        .iter()
        .filter(|m| m.back == Some(BackState::NotRestorable))
        .map(|m| format!("ticket {} ({})", m.ticket_id, m.back_message.as_deref().unwrap_or("changed_since")))
        .collect();
    let mut message = format!("restored; {back} handed-over tickets given back");
    if !kept.is_empty() {
        message.push_str(&format!("; not_restorable: {}", kept.join(", ")));
    }
    Ok(done(Outcome::Restored, Some(agent_id), None, message))
}

enum Step {
    Later(Next),
    Stop(Next),
}

async fn back_one<A: Api>(parts: &Parts<A>, m: &Move) -> journal::Result<Option<Step>> {
    let Parts { journal, sender, cfg, .. } = parts;
    if m.back == Some(BackState::Sending) {
        let timeout = i64::try_from(cfg.request_timeout.as_millis()).unwrap_or(i64::MAX / 4);
        let due = m.back_sent_at.unwrap_or(0).saturating_add(timeout);
        let now = now_ms();
        if now < due {
            let delay = Duration::from_millis(u64::try_from(due - now).unwrap_or(0));
            let message = "a give-back got no answer; it is read back once it can no longer land".into();
            return Ok(Some(Step::Later(Next::Retry {
                refund: true,
                delay,
                code: None,
                message,
                http_status: None,
            })));
        }
    }
    // Where is the ticket now?
    let Some(reply) = sender.send(EndpointClass::Other, |api| api.ticket_holder(m.ticket_id)).await else {
        return Ok(Some(Step::Stop(paused())));
    };
    match &reply.answer {
        Answer::Ok { value, .. } if m.back == Some(BackState::Sending) && landed(&value.holder, &m.from) => {
            journal.move_back(m.id, BackState::Done, "found given back by reading it".into()).await?;
            return Ok(None);
        }
        Answer::Ok { value, .. } if value.deleted || !landed(&value.holder, &m.to) => {
            let why = format!(
                "changed_since: now agent {:?}, group {:?}",
                value.holder.responder_id, value.holder.group_id
            );
            journal.move_back(m.id, BackState::NotRestorable, why).await?;
            return Ok(None);
        }
        Answer::Ok { .. } => {}
        Answer::NotFound => {
            journal.move_back(m.id, BackState::NotRestorable, "gone".into()).await?;
            return Ok(None);
        }
        other => return Ok(Some(Step::Stop(otherwise(other, 0, false)))),
    }
    let mark = journal.move_back(m.id, BackState::Sending, String::new());
    let sent =
        sender.send_change(EndpointClass::TicketUpdate, mark, |api| api.move_ticket(m.ticket_id, &m.from));
    let Some((reply, sent_at)) = sent.await? else {
        return Ok(Some(Step::Stop(paused())));
    };
    Ok(match otherwise(&reply.answer, sent_at, true) {
        _ if matches!(reply.answer, Answer::Ok { .. }) => {
            journal.move_back(m.id, BackState::Done, String::new()).await?;
            None
        }
        Next::Final(r) => {
            journal.move_back(m.id, BackState::NotRestorable, r.message).await?;
            None
        }
        Next::Uncertain { .. } => Some(Step::Later(Next::Retry {
            refund: true,
            delay: cfg.request_timeout,
            code: None,
            message: "a give-back got no readable answer; it is read back".into(),
            http_status: reply.answer.http_status(),
        })),
        next => {
            journal.move_back(m.id, BackState::Pending, String::new()).await?;
            Some(Step::Stop(next))
        }
    })
}
