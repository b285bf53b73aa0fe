//! Offboarding's handover (issue 24): before a leaver's agent is deleted, every ticket assigned
//! to them that is not resolved or closed is given to their successor, each move an op of its
//! own in the journal (`moves`, `src/journal/moves.rs`). The delete is sent only when every move
//! is done; a ticket Freshdesk refuses leaves the delete unsent and the row `failed` with
//! `handover_incomplete`, and `fdsync retry` carries on where it stopped.
//!
//! - **Who**: the row's `successor` (an agent) and/or `successor_group`, else the inbox's default
//!   group. A successor who is not an agent, is the leaver, or is deleted by another row of the
//!   same file, or a group the account does not have, fails the row before any change is sent.
//! - **What**: `search/tickets` with `agent_id:N AND (status:2 OR status:3 OR status:>6)` (open,
//!   pending and custom statuses), 30 a page, at most 10 pages. When more match than the search
//!   can list, the listed ones are moved and the search asked again (moved tickets no longer
//!   match), until a listing is complete; a listing with nothing new in it waits and tries again,
//!   so nothing is silently left behind.
//! - **How**: `PUT tickets/{id}` (`responder_id`, or `group_id` with no agent), paced as a ticket
//!   update; `sending` is committed first. A move whose answer was lost is read back
//!   (`GET tickets/{id}`) once its request can no longer be in flight, and sent again only if the
//!   ticket is still the leaver's.
//!
//! Parts: `resolve` (who, to ids), `preview` (the plan's line); this file lists the tickets and
//! moves them; `give_back.rs` reverses them for an undo.

mod preview;
mod resolve;

pub(crate) use preview::preview_line;
pub(crate) use resolve::{Lookups, Target, resolve, successor_of};

use super::Parts;
use super::decision::{Next, otherwise, paused, refused};
use super::ports::Api;
use crate::freshdesk::{Agent, Answer, EndpointClass, Holder};
use crate::journal::{self, Found, Move, MoveState, OpRecord, now_ms};
use std::time::Duration;

/// Open, pending and the account's custom statuses (6 and up); not resolved (4) or closed (5).
const OPEN: &str = "status:2 OR status:3 OR status:>6";
/// Freshdesk's search: hits per page, pages.
const PER_PAGE: u64 = 30;
const MAX_PAGES: u64 = 10;
/// How long a handover waits when the search lists only tickets it already knows.
const LISTING_WAIT: Duration = Duration::from_secs(30);
/// Tickets named in a `handover_incomplete` message; the rest are counted.
const NAMED: usize = 10;

/// One search of the leaver's open tickets, every page it can list: the tickets, and whether
/// the listing is complete (all that match fit the search's 10 pages).
async fn search<A: Api>(parts: &Parts<A>, leaver: u64) -> Result<(Vec<Found>, bool), String> {
    let query = format!("agent_id:{leaver} AND ({OPEN})");
    let mut found = Vec::new();
    let mut total = 0;
    let mut page = 1u64;
    loop {
        let n = page as u32;
        let (hits, _) = parts.sender.read(EndpointClass::Other, |api| api.search_tickets(&query, n)).await?;
        total = if page == 1 { hits.total } else { total };
        let empty = hits.hits.is_empty();
        for hit in hits.hits {
            // Search results lag: a ticket listed as the leaver's may have moved already.
            if hit.responder_id == Some(leaver) {
                let from = Holder { responder_id: hit.responder_id, group_id: hit.group_id };
                found.push(Found { ticket_id: hit.id.get(), from });
            }
        }
        if empty || page >= total.div_ceil(PER_PAGE).min(MAX_PAGES) {
            break;
        }
        page += 1;
    }
    Ok((found, total <= PER_PAGE * MAX_PAGES))
}

/// Moves the leaver's open tickets to `target` before their delete: `Ok(summary)` when every one
/// moved (the delete may go), else what the delete op does instead (wait, or fail the row).
pub(crate) async fn before_delete<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    leaver: &Agent,
    target: &Target,
) -> journal::Result<Result<String, Next>> {
    let journal = &parts.journal;
    let earlier = journal.moves_of(op.id).await?;
    let resuming = earlier.iter().any(|m| matches!(m.state, MoveState::Pending | MoveState::Sending));
    if !resuming {
        // A new pass (`fdsync retry` after `handover_incomplete`): refused tickets are tried again.
        journal.reopen_failed_moves(op.id).await?;
    }
    if let Some(next) = run_moves(parts, op).await? {
        return Ok(Err(next));
    }
    loop {
        let (found, complete) = match search(parts, leaver.id).await {
            Ok(listing) => listing,
            Err(why) => {
                let message = format!("the leaver's open tickets could not be listed: {why}");
                let retry = Next::Retry {
                    refund: false,
                    delay: Duration::ZERO,
                    code: None,
                    message,
                    http_status: None,
                };
                return Ok(Err(retry));
            }
        };
        let new = journal.record_moves(op.id, op.file_id, op.row, target.to, found).await?;
        if let Some(next) = run_moves(parts, op).await? {
            return Ok(Err(next));
        }
        if complete {
            break;
        }
        if new == 0 {
            let message = format!(
                "the search lists more than {} open tickets, all already handed over or refused; it is asked again later",
                PER_PAGE * MAX_PAGES
            );
            // Counts an attempt: a listing that never shows the rest ends the row `failed`.
            return Ok(Err(Next::Retry {
                refund: false,
                delay: LISTING_WAIT,
                code: Some("handover_incomplete".into()),
                message,
                http_status: None,
            }));
        }
    }
    Ok(conclude(&journal.moves_of(op.id).await?, target))
}

/// Every move done: the summary for the delete's row; else the row's `handover_incomplete`.
fn conclude(moves: &[Move], target: &Target) -> Result<String, Next> {
    let failed: Vec<&Move> = moves.iter().filter(|m| m.state == MoveState::Failed).collect();
    if failed.is_empty() {
        tracing::info!(tickets = moves.len(), "Open tickets handed over; the delete may go.");
        return Ok(format!("{} open tickets handed over to {} first", moves.len(), target.label));
    }
    tracing::warn!(
        refused = failed.len(),
        tickets = moves.len(),
        "Tickets refused a handover; the delete waits."
    );
    let mut named: Vec<String> = failed
        .iter()
        .take(NAMED)
        .map(|m| {
            let code = m.error_code.as_deref().unwrap_or("refused");
            format!("ticket {} ({code}: {})", m.ticket_id, m.message.as_deref().unwrap_or(""))
        })
        .collect();
    if failed.len() > NAMED {
        named.push(format!("and {} more", failed.len() - NAMED));
    }
    let why = format!(
        "{} of {} open tickets could not be handed over to {}, so the agent was not deleted: {}; \
         fix them, then `fdsync retry`",
        failed.len(),
        moves.len(),
        target.label,
        named.join(", ")
    );
    Err(refused("handover_incomplete", why))
}

/// Runs op `op`'s unfinished moves, one at a time (the ticket-update sub-limit paces them).
/// `Some(next)`: the op must wait (quota, a breaker pause, an answer still in flight).
async fn run_moves<A: Api>(parts: &Parts<A>, op: &OpRecord) -> journal::Result<Option<Next>> {
    let mut wait = None;
    for m in parts.journal.moves_of(op.id).await? {
        match m.state {
            MoveState::Done | MoveState::Failed => {}
            MoveState::Pending | MoveState::Sending => match move_one(parts, &m).await? {
                Step::Next => {}
                Step::Later(next) => wait = Some(next),
                Step::Stop(next) => return Ok(Some(next)),
            },
        }
    }
    Ok(wait)
}

enum Step {
    /// This move is final (or waits for its read-back); go on with the next.
    Next,
    /// This move waits for its read-back; the others may go on.
    Later(Next),
    /// Stop sending: the op waits.
    Stop(Next),
}

/// Whether a ticket held by `now` has landed where the move asked.
pub(crate) fn landed(now: &Holder, to: &Holder) -> bool {
    now.responder_id == to.responder_id && to.group_id.is_none_or(|g| now.group_id == Some(g))
}

async fn move_one<A: Api>(parts: &Parts<A>, m: &Move) -> journal::Result<Step> {
    let Parts { journal, sender, cfg, .. } = parts;
    if m.state == MoveState::Sending {
        // Its answer was lost: read it back once the request can no longer land.
        let timeout = i64::try_from(cfg.request_timeout.as_millis()).unwrap_or(i64::MAX / 4);
        let due = m.sent_at.unwrap_or(0).saturating_add(timeout);
        let now = now_ms();
        if now < due {
            let delay = Duration::from_millis(u64::try_from(due - now).unwrap_or(0));
            let message =
                "a ticket move got no answer; it is read back once it can no longer land".to_string();
            return Ok(Step::Later(Next::Retry {
                refund: true,
                delay,
                code: None,
                message,
                http_status: None,
            }));
        }
        let Some(reply) = sender.send(EndpointClass::Other, |api| api.ticket_holder(m.ticket_id)).await
        else {
            return Ok(Step::Stop(paused()));
        };
        match &reply.answer {
            Answer::Ok { status, value } if landed(&value.holder, &m.to) => {
                let message =
                    "the lost answer's move was found applied by reading the ticket back".to_string();
                journal.move_state(m.id, MoveState::Done, Some(*status), None, message).await?;
                return Ok(Step::Next);
            }
            Answer::Ok { value, .. } if value.holder.responder_id != m.from.responder_id => {
                let message = format!(
                    "no longer the leaver's (now agent {:?}, group {:?}): left as it is",
                    value.holder.responder_id, value.holder.group_id
                );
                journal.move_state(m.id, MoveState::Done, None, None, message).await?;
                return Ok(Step::Next);
            }
            // Still the leaver's: the move did not land; it is sent again below.
            Answer::Ok { .. } => {}
            Answer::NotFound => {
                let message = "no ticket with this id any more".to_string();
                journal.move_state(m.id, MoveState::Failed, Some(404), Some("gone".into()), message).await?;
                return Ok(Step::Next);
            }
            other => return Ok(Step::Stop(otherwise(other, 0, false))),
        }
    }
    let mark = journal.move_sending(m.id);
    let sent =
        sender.send_change(EndpointClass::TicketUpdate, mark, |api| api.move_ticket(m.ticket_id, &m.to));
    let Some((reply, sent_at)) = sent.await? else { return Ok(Step::Stop(paused())) };
    let (step, state, status, code, message) = match &reply.answer {
        Answer::Ok { status, .. } => (Step::Next, MoveState::Done, Some(*status), None, String::new()),
        Answer::Invalid { status: 405, .. } => {
            let message = "the ticket is deleted".to_string();
            (Step::Next, MoveState::Failed, Some(405), Some("ticket_deleted".into()), message)
        }
        other => match otherwise(other, sent_at, true) {
            Next::Final(r) => (Step::Next, MoveState::Failed, r.http_status, r.error_code, r.message),
            Next::Uncertain { .. } => {
                let (code, message) = other.describe();
                let wait = Next::Retry {
                    refund: true,
                    delay: cfg.request_timeout,
                    code: None,
                    message: format!("a ticket move got no readable answer: {message}"),
                    http_status: other.http_status(),
                };
                (Step::Later(wait), MoveState::Sending, other.http_status(), code, message)
            }
            Next::Retry { refund, delay, code, message, http_status } => {
                let retry =
                    Next::Retry { refund, delay, code: code.clone(), message: message.clone(), http_status };
                (Step::Stop(retry), MoveState::Pending, http_status, code, message)
            }
            hold @ Next::Hold { .. } => (Step::Stop(hold), MoveState::Pending, None, None, String::new()),
        },
    };
    journal.move_state(m.id, state, status, code, message).await?;
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_has_landed_when_the_agent_and_any_asked_group_match() {
        let to_agent = Holder { responder_id: Some(7), group_id: None };
        assert!(landed(&Holder { responder_id: Some(7), group_id: Some(3) }, &to_agent));
        assert!(!landed(&Holder { responder_id: Some(8), group_id: None }, &to_agent));
        let to_group = Holder { responder_id: None, group_id: Some(3) };
        assert!(landed(&Holder { responder_id: None, group_id: Some(3) }, &to_group));
        assert!(!landed(&Holder { responder_id: Some(7), group_id: Some(3) }, &to_group), "still assigned");
    }
}
