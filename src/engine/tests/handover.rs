//! Offboarding's handover (`engine/handover.rs`) through the scripted API: a move whose answer
//! was lost is read back, not sent again; a 429 puts the move back and the delete waits; a
//! refused move fails the row `handover_incomplete` and no delete is sent.

use super::*;
use crate::domain::Successor;
use crate::freshdesk::tickets::SearchHit;
use crate::freshdesk::{HeldTicket, Holder};
use std::num::NonZeroU64;

fn handover_op() -> Op {
    let successor = Successor { agent: Some(AgentRef::Id(9)), group: None };
    Op::DeleteAgent {
        agent: AgentRef::Email(Email::parse("leaver@example.com").unwrap()),
        successor: Some(successor),
    }
}

fn page(tickets: &[u64]) -> Answer<SearchPage> {
    let hits = tickets
        .iter()
        .map(|t| SearchHit {
            id: NonZeroU64::new(*t).unwrap(),
            responder_id: Some(6),
            group_id: None,
            custom_fields: None,
        })
        .collect();
    Answer::Ok { status: 200, value: SearchPage { total: tickets.len() as u64, hits } }
}

fn held(responder: u64) -> Answer<HeldTicket> {
    let holder = Holder { responder_id: Some(responder), group_id: None };
    Answer::Ok { status: 200, value: HeldTicket { id: 40, holder, deleted: false } }
}

/// The lookups of one pass over the row: the leaver (listed, then read in full) and the successor.
fn lookups(s: &mut Script, passes: usize) {
    for _ in 0..passes {
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(listed(6, "leaver@example.com")) });
        s.get_agent.push_back(Answer::Ok { status: 200, value: full_agent(6, "leaver@example.com") });
        s.get_agent.push_back(Answer::Ok { status: 200, value: full_agent(9, "boss@example.com") });
    }
}

#[tokio::test]
async fn a_moves_lost_answer_is_read_back_and_not_sent_again() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        lookups(s, 2);
        s.search.extend([page(&[40]), page(&[])]);
        s.move_ticket.push_back(Answer::Uncertain { reason: "timed out".into() });
        s.ticket_holder.push_back(held(9));
        s.delete_agent.push_back(Answer::Ok { status: 204, value: () });
    });
    let run = run_one(api.clone(), handover_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Deleted), Some(6), None));
    assert_eq!(api.args("move_ticket"), ["40 Some(9) None"], "sent once");
    assert_eq!(api.args("ticket_holder"), ["40"], "read back");
    assert_eq!(api.calls("delete_agent"), 1);
    assert!(
        run.line.message.as_deref().unwrap_or_default().contains("1 open tickets handed over to agent 9")
    );
}

#[tokio::test]
async fn a_429_on_a_move_puts_it_back_and_the_delete_waits_for_it() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        lookups(s, 2);
        s.search.extend([page(&[40]), page(&[])]);
        s.move_ticket.push_back(Answer::RateLimited { retry_after: Duration::from_millis(50) });
        s.move_ticket.push_back(held(9));
        s.delete_agent.push_back(Answer::Ok { status: 204, value: () });
    });
    let run = run_one(api.clone(), handover_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Deleted), Some(6), None));
    assert_eq!(api.calls("move_ticket"), 2, "refused with a 429, then sent again");
    assert_eq!(api.calls("ticket_holder"), 0, "a 429 proves nothing was applied");
}

#[tokio::test]
async fn a_refused_move_fails_the_row_and_sends_no_delete() {
    let error = crate::freshdesk::ApiFieldError {
        field: "custom_fields".into(),
        nested_field: Some("custom_fields.cf_region".into()),
        message: "It should be one of these values: 'EMEA'".into(),
        code: "missing_field".into(),
    };
    let refused =
        Answer::Invalid { status: 400, code: None, message: "Validation failed".into(), errors: vec![error] };
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        lookups(s, 1);
        s.search.push_back(page(&[40]));
        s.move_ticket.push_back(refused);
    });
    let run = run_one(api.clone(), handover_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Failed), None, Some("handover_incomplete")));
    let message = run.line.message.unwrap_or_default();
    assert!(message.contains("ticket 40 (missing_field"), "{message}");
    assert_eq!(api.calls("delete_agent"), 0);
}
