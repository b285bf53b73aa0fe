//! `create_contact` and `activate_contact` (`engine/contact.rs`) through the scripted API: the
//! contact created once (a 409 or a lost answer settled by `GET contacts?email=`, not re-sent),
//! and an activation held by the grants guard, then `make_agent` with the provisioned roles.

use super::*;
use crate::domain::NewContact;
use crate::freshdesk::Contact;

fn contact_op() -> Op {
    Op::CreateContact(NewContact {
        email: Email::parse("pat@example.com").unwrap(),
        name: "Pat".into(),
        job_title: None,
    })
}

fn contact(id: u64) -> Answer<Contact> {
    let body = format!(r#"{{"id": {id}, "email": "pat@example.com", "active": false}}"#);
    Answer::Ok { status: 201, value: Contact::decode(body.as_bytes()).unwrap() }
}

fn activate_op(role_ids: Vec<u64>) -> Op {
    Op::ActivateContact {
        contact_id: 8,
        email: Email::parse("pat@example.com").unwrap(),
        ticket_scope: TicketScope::Group,
        occasional: false,
        role_ids,
        group_ids: vec![21],
    }
}

#[tokio::test]
async fn a_contact_is_created_once_and_a_lost_answer_is_settled_by_its_email() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_contact.push_back(contact(8));
    });
    let run = run_one(api.clone(), contact_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(8), None));
    assert_eq!(api.args("create_contact"), ["pat@example.com"]);

    // The answer is lost, the contact is there: found by e-mail, not sent again.
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_contact.push_back(Answer::Uncertain { reason: "timed out".into() });
        s.find_contact.push_back(Answer::Ok { status: 200, value: Some(8) });
    });
    let run = run_one(api.clone(), contact_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(8), None));
    assert_eq!(api.calls("create_contact"), 1, "looked up, not re-sent");
    assert_eq!(api.args("find_contact_by_email"), ["pat@example.com"]);

    // Not there: sent again.
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_contact.push_back(Answer::Transient { status: Some(502), reason: "gateway".into() });
        s.find_contact.push_back(Answer::Ok { status: 200, value: None });
        s.create_contact.push_back(contact(9));
    });
    let run = run_one(api.clone(), contact_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(9), None));
    assert_eq!(api.calls("create_contact"), 2);
}

#[tokio::test]
async fn a_409_is_the_contact_that_has_the_email_or_a_failure_when_only_an_agent_has_it() {
    let conflict = || Answer::Conflict { existing: None, errors: vec![] };
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_contact.push_back(conflict());
        s.find_contact.push_back(Answer::Ok { status: 200, value: Some(8) });
    });
    let run = run_one(api.clone(), contact_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Exists), Some(8), None));
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_contact.push_back(conflict());
        s.find_contact.push_back(Answer::Ok { status: 200, value: None });
    });
    let run = run_one(api.clone(), contact_op()).await;
    assert_eq!((run.line.outcome, run.line.http_status), (Some(Outcome::Failed), Some(409)));
    assert_eq!(api.calls("create_contact"), 1);
}

#[tokio::test]
async fn an_activation_granting_a_protected_role_is_held_and_otherwise_makes_the_agent() {
    let protect = |cfg: &mut EngineConfig| cfg.protected_roles = vec!["Administrator".into()];
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.roles.push_back(roles_ok());
    });
    let run = run_with(api.clone(), activate_op(vec![2]), protect).await;
    assert_eq!(run.file_state, FileState::Held, "{:?}", run.file_error);
    assert!(run.file_error.is_some_and(|e| e.contains("Administrator")));
    assert_eq!(api.calls("make_agent"), 0);

    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.roles.push_back(roles_ok());
        s.make_agent.push_back(Answer::Ok { status: 200, value: full_agent(8, "pat@example.com") });
    });
    let run = run_with(api.clone(), activate_op(vec![4]), protect).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(8), None));
    assert_eq!(api.args("make_agent"), ["8 roles [4] groups [21]"]);
}
