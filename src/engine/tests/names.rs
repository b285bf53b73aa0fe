//! A ticket's names (`engine/names.rs`) through the scripted API: a group name is resolved from
//! one listing and the create goes out; a listing that cannot be read makes the row wait
//! (`names_unreadable`) and nothing is created; an unknown name is `bad_value` with no create.

use super::*;
use crate::domain::IdOrName;
use crate::freshdesk::Group;

fn named_op(group: &str) -> Op {
    let mut t = NewTicket::example("jane@example.com");
    t.group_id = Some(IdOrName::Name(group.into()));
    Op::CreateTicket(t)
}

fn groups() -> Answer<Vec<Group>> {
    let value = vec![Group { id: 7, name: "Tier 1".into() }, Group { id: 9, name: "Billing".into() }];
    Answer::Ok { status: 200, value }
}

#[tokio::test]
async fn a_group_name_is_resolved_from_one_listing_then_the_ticket_is_created() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.groups.push_back(groups());
        s.create_ticket
            .push_back(Answer::Ok { status: 201, value: Ticket { id: 42, tags: vec![], created_at: None } });
    });
    let run = run_one(api.clone(), named_op("billing")).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(42), None));
    assert_eq!(api.args("list_groups"), ["1"], "one page, read once");
}

#[tokio::test]
async fn an_unknown_group_is_a_bad_value_and_nothing_is_created() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.groups.push_back(groups());
    });
    let run = run_one(api.clone(), named_op("Tier 3")).await;
    assert_eq!(outcome(&run), (Some(Outcome::Failed), None, Some("bad_value")));
    let message = run.line.message.as_deref().unwrap_or_default();
    assert!(message.contains(r#"one of "Tier 1", "Billing""#), "{message}");
    assert_eq!(api.calls("create_ticket"), 0);
}

#[tokio::test]
async fn unreadable_groups_make_the_row_wait_and_nothing_is_sent_untranslated() {
    // The listing answers only 503s (the script is empty): the row waits, then gives up.
    let api = FakeApi::with(|s| s.me.push_back(me_ok()));
    let run = run_with(api.clone(), named_op("billing"), |c| c.max_attempts = 1).await;
    assert_eq!(outcome(&run), (Some(Outcome::Failed), None, Some("names_unreadable")));
    let message = run.line.message.as_deref().unwrap_or_default();
    assert!(message.contains("cannot read the account's groups"), "{message}");
    assert_eq!(api.calls("create_ticket"), 0);
}
