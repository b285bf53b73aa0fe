//! A SCIM user provisioned inactive (`POST /Users` with `active: false`, as Entra provisions a
//! user disabled in the directory), end to end against the simulator: a Freshdesk contact (no
//! agent seat) whose id is the SCIM id; renamed while inactive (kept for later); activated as an
//! agent with the same id, the roles, groups, scope and occasional it was provisioned with, and
//! the name it was given meanwhile; once under a kill -9 mid-POST;
//! held like a created agent when it grants a protected role; and a deprovisioned agent changed
//! meanwhile, given the changes at its re-provision.

use crate::helpers::*;
use crate::scim::{Idp, kill9_mid, patch};
use fdsync_sim::{ROLE_ACCOUNT_ADMIN, ROLE_SUPERVISOR};
use serde_json::{Value, json};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:fdsync:2.0:Agent";

fn pat(roles: &[u64]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "pat.new@example.com", "active": false, "displayName": "Pat New",
        "title": "Support engineer", "externalId": "entra-pat",
        EXT: {"ticketScope": "Group", "roleIds": roles, "groupIds": [43000090001u64], "occasional": false}
    })
}

fn contact(idp: &Idp, id: u64) -> Option<fdsync_sim::User> {
    idp.app.sim.state().contacts.into_iter().find(|c| c.id == id)
}

fn files(idp: &Idp) -> Vec<(String, String)> {
    let journal = idp.app.journal();
    let mut stmt = journal.prepare("SELECT name, inbox FROM files ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// Sends until the answer is not 503 (a change still running or held); the last answer.
async fn until_done(idp: &Idp, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
    let mut last = (0, Value::Null);
    for _ in 0..60 {
        last = idp.send(method.clone(), path, Some(body.clone())).await;
        if last.0 != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_provisioned_inactive_is_a_contact_until_activated_as_the_agent_it_asked_to_be() {
    let idp = Idp::start("[safety]\nmax_deletes_percent = 0\n").await;
    let (status, created) = idp.send(reqwest::Method::POST, "/Users", Some(pat(&[ROLE_SUPERVISOR]))).await;
    assert_eq!((status, created["active"].as_bool()), (201, Some(false)), "{created}\n{}", idp.daemon.log());
    let id: u64 = created["id"].as_str().unwrap().parse().unwrap();
    // A contact in Freshdesk, with the same id; no agent seat.
    let c = contact(&idp, id).expect("a contact with the SCIM id");
    assert_eq!((c.email.as_deref(), c.name.as_str()), (Some("pat.new@example.com"), "Pat New"));
    assert_eq!(c.job_title.as_deref(), Some("Support engineer"));
    assert!(idp.agent(id).is_none());
    assert_eq!(idp.app.sim.counters().agents_created, 0);

    // Read back: inactive, same id, what it was provisioned with.
    let (status, shown) = idp.get(&format!("/Users/{id}")).await;
    assert_eq!(
        (status, shown["active"].as_bool(), shown["id"].as_str()),
        (200, Some(false), Some(&*id.to_string()))
    );
    assert_eq!(
        (shown["externalId"].as_str(), shown[EXT]["roles"].clone()),
        (Some("entra-pat"), json!(["Supervisor"]))
    );
    let (_, found) = idp.get("/Users?filter=userName%20eq%20%22pat.new%40example.com%22").await;
    assert_eq!(
        (found["totalResults"].as_u64(), found["Resources"][0]["active"].as_bool()),
        (Some(1), Some(false))
    );
    let (status, again) = idp.send(reqwest::Method::POST, "/Users", Some(pat(&[ROLE_SUPERVISOR]))).await;
    assert_eq!((status, again["scimType"].as_str()), (409, Some("uniqueness")), "{again}");

    // Renamed while inactive: kept for the activation; the contact in Freshdesk is left as it is.
    let rename = patch(json!([{"op": "Replace", "path": "displayName", "value": "Pat Renamed"}]));
    let (status, renamed) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(rename)).await;
    assert_eq!(
        (status, renamed["displayName"].as_str(), renamed["active"].as_bool()),
        (200, Some("Pat Renamed"), Some(false)),
        "{renamed}"
    );
    assert_eq!(contact(&idp, id).map(|c| c.name), Some("Pat New".to_string()));

    // Activated: the same id an agent, with the roles, groups, scope and occasional given.
    let on = patch(json!([{"op": "Replace", "path": "active", "value": "True"}]));
    let (status, on_user) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(on.clone())).await;
    assert_eq!((status, on_user["active"].as_bool()), (200, Some(true)), "{on_user}\n{}", idp.daemon.log());
    let agent = idp.agent(id).expect("an agent with the same id");
    let a = agent.agent.as_ref().unwrap();
    assert_eq!((&a.role_ids, &a.group_ids), (&vec![ROLE_SUPERVISOR], &vec![43000090001]));
    assert_eq!((a.ticket_scope, a.occasional), (2, false));
    assert!(contact(&idp, id).is_none(), "no contact left beside the agent");
    assert_eq!(agent.name, "Pat Renamed", "the name given while inactive");
    // The provider's retry of the activation changes nothing twice.
    assert_eq!(idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(on.clone())).await.0, 200);
    let log = idp.app.sim.request_log();
    assert_eq!(log.iter().filter(|r| r.starts_with("PUT /api/v2/contacts/")).count(), 1, "{log:?}");
    assert_eq!(log.iter().filter(|r| r.starts_with("POST /api/v2/contacts")).count(), 1, "{log:?}");
    assert_eq!(log.iter().filter(|r| r.starts_with("PUT /api/v2/agents/")).count(), 1, "{log:?}");

    // Deprovision and re-provision go on as for any agent: the before-image, same id and roles.
    let off = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    assert_eq!(idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(off)).await.0, 200);
    assert!(idp.agent(id).is_none());
    let (status, _) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(on)).await;
    assert_eq!(status, 200, "{}", idp.daemon.log());
    assert_eq!(idp.agent(id).and_then(|u| u.agent).map(|a| a.role_ids), Some(vec![ROLE_SUPERVISOR]));

    // Each change a file from the SCIM source; the journal names the two new actions.
    let names: Vec<String> =
        files(&idp).iter().map(|(n, _)| n.split('-').nth(1).unwrap_or("").to_string()).collect();
    assert_eq!(names, ["provision", "activate", "update", "deprovision", "reprovision"]);
    assert!(files(&idp).iter().all(|(_, inbox)| inbox == "scim"));
    let actions: Vec<String> = idp
        .app
        .journal()
        .prepare("SELECT action || ':' || outcome FROM ops ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(actions[..2], ["create_contact:created", "activate_contact:created"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_mid_inactive_post_then_the_providers_retry_makes_one_contact() {
    let idp = Idp::start("").await;
    let body = pat(&[]);
    // The POST contacts is held 3 s by the simulator, then applied: in flight when killed.
    let idp = kill9_mid(idp, reqwest::Method::POST, "/Users", &body).await;
    let landed =
        || idp.app.sim.state().contacts.iter().any(|c| c.email.as_deref() == Some("pat.new@example.com"));
    assert!(wait_until(crate::daemon::WAIT, landed).await);
    let (status, created) = until_done(&idp, reqwest::Method::POST, "/Users", &body).await;
    assert_eq!((status, created["active"].as_bool()), (201, Some(false)), "{created}\n{}", idp.daemon.log());
    let id: u64 = created["id"].as_str().unwrap().parse().unwrap();
    let contacts = idp.app.sim.state().contacts;
    let pats: Vec<u64> =
        contacts.iter().filter(|c| c.email.as_deref() == Some("pat.new@example.com")).map(|c| c.id).collect();
    assert_eq!(pats, [id], "one contact, and the SCIM id is its id");
    let log = idp.app.sim.request_log();
    assert_eq!(log.iter().filter(|r| r.starts_with("POST /api/v2/contacts")).count(), 1, "{log:?}");
    assert_eq!(files(&idp).len(), 1, "the retry found the change journaled before the kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_granting_a_protected_role_is_held_until_approved() {
    let idp = Idp::start("").await;
    let (status, created) = idp.send(reqwest::Method::POST, "/Users", Some(pat(&[ROLE_ACCOUNT_ADMIN]))).await;
    assert_eq!(status, 201, "a contact has no privilege yet: {created}");
    let id = created["id"].as_str().unwrap().to_string();
    let on = patch(json!([{"op": "replace", "value": {"active": true}}]));
    let (status, held) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(on.clone())).await;
    assert_eq!(status, 503, "{held}");
    let detail = held["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("Account Administrator") && detail.contains("fdsync approve"), "{detail}");
    assert!(idp.agent(id.parse().unwrap()).is_none());
    let file_id = detail.split("as file ").nth(1).and_then(|t| t.split(' ').next()).unwrap().to_string();
    let approved = idp.app.fdsync(&["approve", &file_id, "--yes"]).await;
    assert_eq!(code(&approved), 0, "{}", stderr(&approved));
    let (status, user) = until_done(&idp, reqwest::Method::PATCH, &format!("/Users/{id}"), &on).await;
    assert_eq!((status, user["active"].as_bool()), (200, Some(true)), "{user}\n{}", idp.daemon.log());
    let agent = idp.agent(id.parse().unwrap()).expect("made an agent after approval");
    assert_eq!(agent.agent.map(|a| a.role_ids), Some(vec![ROLE_ACCOUNT_ADMIN]));
}

/// Entra disables a user and renames it in one PATCH, then changes its title while it is
/// deprovisioned: both are shown at once, kept in the journal, and given to the agent right
/// after its re-provision (same id, the roles it had), in one `PUT agents/{id}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_to_a_deprovisioned_user_are_kept_and_given_at_its_reprovision() {
    let idp = Idp::start("[safety]\nmax_deletes_percent = 0\n").await;
    let lee = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "lee@example.com", "active": true, "displayName": "Lee Old", "title": "Agent",
        EXT: {"roles": ["Supervisor"]}
    });
    let (status, created) = idp.send(reqwest::Method::POST, "/Users", Some(lee)).await;
    assert_eq!(status, 201, "{created}\n{}", idp.daemon.log());
    let id: u64 = created["id"].as_str().unwrap().parse().unwrap();
    let path = format!("/Users/{id}");

    let off = patch(json!([{"op": "Replace", "path": "active", "value": "False"},
                          {"op": "Replace", "path": "displayName", "value": "Lee New"}]));
    let (status, shown) = until_done(&idp, reqwest::Method::PATCH, &path, &off).await;
    assert_eq!(status, 200, "{shown}\n{}", idp.daemon.log());
    assert!(idp.agent(id).is_none(), "deprovisioned: a contact now");
    let title = patch(json!([{"op": "replace", "path": "title", "value": "Team lead"}]));
    let (status, _) = idp.send(reqwest::Method::PATCH, &path, Some(title)).await;
    assert_eq!(status, 200);
    let (_, shown) = idp.get(&path).await;
    assert_eq!(
        (shown["active"].as_bool(), shown["displayName"].as_str(), shown["title"].as_str()),
        (Some(false), Some("Lee New"), Some("Team lead")),
        "{shown}"
    );

    let puts = || idp.app.sim.request_log().iter().filter(|r| r.starts_with("PUT /api/v2/agents/")).count();
    let puts_before = puts();
    let on = patch(json!([{"op": "replace", "path": "active", "value": true}]));
    let (status, shown) = until_done(&idp, reqwest::Method::PATCH, &path, &on).await;
    assert_eq!(status, 200, "{shown}\n{}", idp.daemon.log());
    let agent = idp.agent(id).expect("re-provisioned with the same id");
    assert_eq!((agent.name.as_str(), agent.job_title.as_deref()), ("Lee New", Some("Team lead")));
    assert_eq!(agent.agent.map(|a| a.role_ids), Some(vec![ROLE_SUPERVISOR]));
    assert_eq!(puts() - puts_before, 1, "{:?}", idp.app.sim.request_log());
    let (_, shown) = idp.get(&path).await;
    assert_eq!((shown["active"].as_bool(), shown["displayName"].as_str()), (Some(true), Some("Lee New")));
}
