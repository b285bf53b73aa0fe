//! An undo's decisions (`engine/undo.rs`), through the scripted API: each answer to a restore
//! (`make_agent`) and a ticket delete, the lookups that reconcile a lost answer before any
//! resend, and the full record a delete saves for them; and a read-only send path (the
//! preview) refusing every change.

use super::*;
use crate::domain::{Restore, UndoOf};

const OF: UndoOf = UndoOf { file_id: 1, row: 3 };

fn image() -> Restore {
    Restore {
        occasional: false,
        group_ids: vec![21],
        role_ids: vec![12, 11],
        ticket_scope: TicketScope::Group,
    }
}

fn restore_op(image: Option<Restore>) -> Op {
    Op::RestoreAgent { agent_id: 6, of: OF, image, email: Some("leaver@example.com".into()) }
}

fn delete_ticket_op() -> Op {
    Op::DeleteTicket { ticket_id: 40, of: OF }
}

fn invalid(status: u16, code: &str) -> Answer<Agent> {
    let error = crate::freshdesk::ApiFieldError {
        field: "occasional".into(),
        nested_field: None,
        message: "You have reached the maximum number of agents".into(),
        code: code.into(),
    };
    Answer::Invalid { status, code: None, message: "Validation failed".into(), errors: vec![error] }
}

#[tokio::test]
async fn a_restore_is_restored_and_each_refusal_is_not_restorable_with_its_reason() {
    let cases: [(Answer<Agent>, Outcome, Option<&str>); 4] = [
        (Answer::Ok { status: 200, value: full_agent(6, "leaver@example.com") }, Outcome::Restored, None),
        (Answer::NotFound, Outcome::NotRestorable, Some("hard_deleted")),
        (
            Answer::Conflict { existing: Some(Existing::Agent(6)), errors: vec![] },
            Outcome::NotRestorable,
            Some("already_agent"),
        ),
        (invalid(400, "incompatible_value"), Outcome::NotRestorable, Some("seat_limit")),
    ];
    for (answer, want, code) in cases {
        let api = FakeApi::with(|s| {
            s.me.push_back(me_ok());
            s.make_agent.push_back(answer.clone());
        });
        let run = run_one(api.clone(), restore_op(Some(image()))).await;
        assert_eq!(outcome(&run), (Some(want), Some(6), code), "{answer:?}");
        assert_eq!(api.args("make_agent"), ["6 roles [12, 11] groups [21]"], "the id and its before-image");
    }
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.make_agent.push_back(invalid(400, "invalid_value"));
    });
    assert_eq!(run_one(api, restore_op(Some(image()))).await.line.outcome, Some(Outcome::Failed));
}

#[tokio::test]
async fn a_restore_without_a_before_image_sends_nothing() {
    let api = FakeApi::with(|s| s.me.push_back(me_ok()));
    let run = run_one(api.clone(), restore_op(None)).await;
    assert_eq!(outcome(&run), (Some(Outcome::NotRestorable), Some(6), Some("no_before_image")));
    assert_eq!(api.calls("make_agent"), 0);
}

#[tokio::test]
async fn a_lost_restore_found_an_agent_with_the_before_images_roles_is_restored_not_resent() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.make_agent.push_back(Answer::Uncertain { reason: "timed out".into() });
        s.get_agent.push_back(Answer::Ok { status: 200, value: full_agent(6, "leaver@example.com") });
    });
    let run = run_one(api.clone(), restore_op(Some(image()))).await;
    assert_eq!(outcome(&run), (Some(Outcome::Restored), Some(6), None), "role ids compared as a set");
    assert_eq!(api.calls("make_agent"), 1);
    assert_eq!(api.args("get_agent"), ["6"], "the restored id is the one looked up");
}

#[tokio::test]
async fn a_lost_restore_found_still_a_contact_is_sent_again() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.make_agent.push_back(Answer::Transient { status: Some(502), reason: "gateway".into() });
        s.get_agent.push_back(Answer::NotFound);
        s.make_agent.push_back(Answer::Ok { status: 200, value: full_agent(6, "leaver@example.com") });
    });
    let run = run_one(api.clone(), restore_op(Some(image()))).await;
    assert_eq!(outcome(&run), (Some(Outcome::Restored), Some(6), None));
    assert_eq!(api.calls("make_agent"), 2);
}

#[tokio::test]
async fn a_lost_restore_whose_lookup_cannot_be_read_is_never_resent() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.make_agent.push_back(Answer::Uncertain { reason: "reset".into() });
        s.get_agent.extend([html(), html(), html()]);
    });
    let run = run_one(api.clone(), restore_op(Some(image()))).await;
    assert_eq!(outcome(&run), (Some(Outcome::Failed), None, Some("unverifiable_answer")));
    assert_eq!(api.calls("make_agent"), 1);
}

#[tokio::test]
async fn a_ticket_delete_is_deleted_405_already_deleted_and_404_gone() {
    let cases: [(Answer<()>, Outcome, Option<&str>); 3] = [
        (Answer::Ok { status: 204, value: () }, Outcome::Deleted, None),
        (
            Answer::Invalid {
                status: 405,
                code: None,
                message: "DELETE method is not allowed".into(),
                errors: vec![],
            },
            Outcome::AlreadyDeleted,
            None,
        ),
        (Answer::NotFound, Outcome::NotRestorable, Some("gone")),
    ];
    for (answer, want, code) in cases {
        let api = FakeApi::with(|s| {
            s.me.push_back(me_ok());
            s.delete_ticket.push_back(answer.clone());
        });
        let run = run_one(api.clone(), delete_ticket_op()).await;
        assert_eq!(outcome(&run), (Some(want), Some(40), code), "{answer:?}");
        assert_eq!(api.args("delete_ticket"), ["40"]);
    }
}

#[tokio::test]
async fn a_lost_ticket_delete_is_looked_up_deleted_or_sent_again() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.delete_ticket.push_back(Answer::Transient { status: Some(504), reason: "gateway".into() });
        s.get_ticket.push_back(Answer::Ok { status: 200, value: TicketState { id: 40, deleted: true } });
    });
    let run = run_one(api.clone(), delete_ticket_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Deleted), Some(40), None));
    assert_eq!(api.calls("delete_ticket"), 1, "found deleted: not sent again");
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.delete_ticket.push_back(Answer::Uncertain { reason: "reset".into() });
        s.get_ticket.push_back(Answer::Ok { status: 200, value: TicketState { id: 40, deleted: false } });
        s.delete_ticket.push_back(Answer::Ok { status: 204, value: () });
    });
    let run = run_one(api.clone(), delete_ticket_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Deleted), Some(40), None));
    assert_eq!(api.args("delete_ticket"), ["40", "40"]);
    assert_eq!(api.args("get_ticket"), ["40"]);
}

#[tokio::test]
async fn a_delete_waits_while_the_agents_full_record_cannot_be_read() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.find_agent.extend([
            Answer::Ok { status: 200, value: Some(listed(6, "leaver@example.com")) },
            Answer::Ok { status: 200, value: Some(listed(6, "leaver@example.com")) },
        ]);
        s.get_agent.extend([html(), html()]);
        s.delete_agent.push_back(Answer::Ok { status: 204, value: () });
    });
    let run = run_one(api.clone(), delete_op("leaver@example.com")).await;
    assert_eq!(outcome(&run), (Some(Outcome::Failed), None, Some("unverifiable_answer")));
    assert_eq!(api.calls("delete_agent"), 0, "never deleted without a before-image");
}

#[tokio::test]
async fn a_read_only_send_path_refuses_every_change_and_none_reaches_the_api() {
    let changes = [
        (restore_op(Some(image())), "make_agent"),
        (delete_ticket_op(), "delete_ticket"),
        (ticket_op(), "create_ticket"),
        (agent_op(), "create_agent"),
        (delete_op("leaver@example.com"), "delete_agent"),
        (super::update::rename_op(), "update_agent"),
    ];
    for (op, call) in changes {
        let api = FakeApi::with(|s| {
            s.me.push_back(me_ok());
            s.find_agent.push_back(Answer::Ok { status: 200, value: Some(listed(6, "leaver@example.com")) });
            s.get_agent.push_back(Answer::Ok { status: 200, value: full_agent(6, "leaver@example.com") });
            s.make_agent.push_back(Answer::Ok { status: 200, value: full_agent(6, "leaver@example.com") });
            s.delete_ticket.push_back(Answer::Ok { status: 204, value: () });
            s.delete_agent.push_back(Answer::Ok { status: 204, value: () });
            s.update_agent.push_back(Answer::Ok { status: 200, value: full_agent(6, "leaver@example.com") });
        });
        let read_only = SendPolicy { tally: None, read_only: true };
        let run = run_sent(api.clone(), op, |_| {}, read_only).await;
        let (outcome, _, code) = outcome(&run);
        assert_eq!((outcome, code), (Some(Outcome::Failed), Some("read_only")), "{call}");
        assert_eq!(api.calls(call), 0, "{call} never reached the API");
    }
}
