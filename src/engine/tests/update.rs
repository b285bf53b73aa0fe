//! `update_agent` (`engine/update.rs`) through the scripted API: the id updated and the body
//! sent, the before-image saved first, a lost answer reconciled by reading the agent back
//! (applied: not sent again; absent: sent again), 404 and 409.

use super::*;
use crate::domain::AgentEdit;

/// An agent as show renders it, with its name and job title.
fn named(id: u64, name: &str, title: &str) -> Agent {
    let body = format!(
        r#"{{"id": {id}, "occasional": false, "ticket_scope": 1, "role_ids": [4], "group_ids": [],
            "contact": {{"email": "ann@example.com", "name": "{name}", "job_title": "{title}"}}}}"#
    );
    Agent::decode(body.as_bytes()).unwrap()
}

pub(super) fn rename_op() -> Op {
    let set = AgentEdit {
        name: Some("Ann Lee".into()),
        job_title: Some("Lead".into()),
        email: None,
        ..Default::default()
    };
    Op::UpdateAgent { agent_id: 6, set, of: None }
}

#[tokio::test]
async fn an_update_puts_only_the_changed_fields_to_its_agent_after_saving_the_before_image() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.get_agent.push_back(Answer::Ok { status: 200, value: named(6, "Ann", "Agent") });
        s.update_agent.push_back(Answer::Ok { status: 200, value: named(6, "Ann Lee", "Lead") });
    });
    let run = run_one(api.clone(), rename_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Updated), Some(6), None));
    assert_eq!(api.args("update_agent"), [r#"6 {"job_title":"Lead","name":"Ann Lee"}"#]);
    let image = run.snapshot.expect("the record before the update is saved");
    assert!(image.contains(r#""name": "Ann""#), "{image}");
    assert_eq!(api.args("get_agent"), ["6"]);
}

#[tokio::test]
async fn a_lost_update_found_applied_is_not_sent_again_and_one_found_absent_is() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.get_agent.push_back(Answer::Ok { status: 200, value: named(6, "Ann", "Agent") });
        s.update_agent.push_back(Answer::Uncertain { reason: "timed out".into() });
        s.get_agent.push_back(Answer::Ok { status: 200, value: named(6, "Ann Lee", "Lead") });
    });
    let run = run_one(api.clone(), rename_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Updated), Some(6), None));
    assert_eq!(api.calls("update_agent"), 1, "read back, not re-sent");

    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.get_agent.push_back(Answer::Ok { status: 200, value: named(6, "Ann", "Agent") });
        s.update_agent.push_back(Answer::Transient { status: Some(502), reason: "gateway".into() });
        s.get_agent.push_back(Answer::Ok { status: 200, value: named(6, "Ann", "Agent") });
        s.update_agent.push_back(Answer::Ok { status: 200, value: named(6, "Ann Lee", "Lead") });
    });
    let run = run_one(api.clone(), rename_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Updated), Some(6), None));
    assert_eq!(api.calls("update_agent"), 2, "absent: sent again");
    assert_eq!(api.calls("get_agent"), 2, "the before-image is read once, then the read-back");
    assert!(run.snapshot.unwrap().contains(r#""name": "Ann""#), "the first before-image is kept");
}

#[tokio::test]
async fn an_update_of_no_agent_is_not_found_and_a_taken_email_fails_with_409() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.get_agent.push_back(Answer::NotFound);
    });
    let run = run_one(api.clone(), rename_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::NotFound), Some(6), None));
    assert_eq!(api.calls("update_agent"), 0);

    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.get_agent.push_back(Answer::Ok { status: 200, value: named(6, "Ann", "Agent") });
        s.update_agent.push_back(Answer::Conflict { existing: None, errors: vec![] });
    });
    let run = run_one(api.clone(), rename_op()).await;
    assert_eq!((run.line.outcome, run.line.http_status), (Some(Outcome::Failed), Some(409)));
}
