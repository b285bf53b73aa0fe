//! The SCIM service of `fdsync run` (`[scim]`), end to end against the simulator:
//! Entra- and Okta-shaped sequences (the agent created, renamed, deprovisioned, restored with
//! the same id and roles, then deleted), attribute changes made once (a repeated PATCH, a kill
//! -9 mid-PATCH), the door (401, 421, 413, TLS), the guards (a held deprovision,
//! 30 of 40, protected agents and roles), a kill -9 mid-PATCH, and 429 when the quota is spent.

use crate::daemon::{Daemon, WAIT};
use crate::helpers::*;
use fdsync_sim::SimConfig;
use serde_json::{Value, json};

pub(crate) const TOKEN: &str = "scim-test-token-1234";

pub(crate) struct Idp {
    pub(crate) app: TestApp,
    pub(crate) daemon: Daemon,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
}

impl Idp {
    pub(crate) async fn start(extra: &str) -> Idp {
        Idp::start_with(extra, "", false).await
    }

    /// The simulator with 3 seeded agents, `extra` top-level sections, and `[scim]` (plus
    /// `scim_extra` lines) on a free port, over https when `tls`.
    async fn start_with(extra: &str, scim_extra: &str, tls: bool) -> Idp {
        Idp::start_full(3, extra, scim_extra, tls).await
    }

    /// `agents` seeded agents and the product's default guards.
    async fn start_scaled(agents: u32) -> Idp {
        Idp::start_full(agents, "", "", false).await
    }

    async fn start_full(agents: u32, extra: &str, scim_extra: &str, tls: bool) -> Idp {
        let app = spawn_app_with(SimConfig { agents, ..fast_sim() }, "").await;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let token = app.file("scim_token", TOKEN);
        set_private(&token);
        app.write_config(&format!(
            "{extra}\n[scim]\nlisten = \"127.0.0.1:{port}\"\ntoken_file = \"{}\"\n{scim_extra}\n",
            token.display()
        ));
        let daemon = Daemon::ready(&app).await;
        let scheme = if tls { "https" } else { "http" };
        let http = reqwest::Client::builder().tls_danger_accept_invalid_certs(true).build().unwrap();
        Idp { app, daemon, base: format!("{scheme}://127.0.0.1:{port}/scim/v2"), http }
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        let resp = req.send().await.expect("the SCIM service answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// The seeded agents as users: (id, userName), in the service's order.
    async fn seeded_users(&self) -> Vec<(String, String)> {
        let (_, list) = self.get("/Users?filter=userName%20sw%20%22agent%22&count=200").await;
        let user =
            |u: &Value| (u["id"].as_str().unwrap().to_string(), u["userName"].as_str().unwrap().to_string());
        list["Resources"].as_array().expect("a ListResponse").iter().map(user).collect()
    }

    pub(crate) fn agent(&self, id: u64) -> Option<fdsync_sim::User> {
        self.app.sim.state().agents.into_iter().find(|a| a.id == id)
    }
}

/// PATCHes user `id` with `body` while the simulator holds every change 3 s before applying it,
/// kills the daemon with -9 once the change is `sending`, and starts it again: the change is in
/// flight, lost to fdsync, and lands later.
async fn kill9_mid_patch(idp: Idp, id: &str, body: &Value) -> Idp {
    kill9_mid(idp, reqwest::Method::PATCH, &format!("/Users/{id}"), body).await
}

/// [`kill9_mid_patch`] for any request to the SCIM service (`path` under `/scim/v2`).
pub(crate) async fn kill9_mid(mut idp: Idp, method: reqwest::Method, path: &str, body: &Value) -> Idp {
    idp.app.sim.update(|c| {
        c.late_rate = 1.0;
        c.late_delay = std::time::Duration::from_secs(3);
    });
    let (url, http, body) = (format!("{}{path}", idp.base), idp.http.clone(), body.to_string());
    let first =
        tokio::spawn(async move { http.request(method, url).bearer_auth(TOKEN).body(body).send().await });
    let sending = || {
        idp.app
            .journal()
            .query_row("SELECT COUNT(*) FROM ops WHERE state = 'sending'", [], |r| r.get::<_, i64>(0))
            .unwrap_or(0)
            == 1
    };
    assert!(wait_until(WAIT, sending).await, "{}", idp.daemon.log());
    idp.daemon.kill9().await;
    let _ = first.await;
    idp.app.sim.update(|c| c.late_rate = 0.0);
    idp.daemon = Daemon::ready(&idp.app).await;
    idp
}

pub(crate) fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entra_shaped_sequence_creates_deprovisions_restores_and_deletes_the_agent() {
    let idp = Idp::start("[safety]\nmax_deletes_percent = 0\n").await;
    let (status, found) = idp.get("/Users?filter=userName%20eq%20%22new.hire%40example.com%22").await;
    assert_eq!((status, found["totalResults"].as_u64()), (200, Some(0)), "{found}\n{}", idp.daemon.log());

    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "externalId": "entra-object-1", "userName": "new.hire@example.com", "active": true,
        "displayName": "New Hire", "title": "Support engineer",
        "emails": [{"primary": true, "type": "work", "value": "new.hire@example.com"}],
        "name": {"givenName": "New", "familyName": "Hire"}
    });
    let (status, created) = idp.send(reqwest::Method::POST, "/Users", Some(user.clone())).await;
    assert_eq!(status, 201, "{created}\n{}", idp.daemon.log());
    let id: u64 = created["id"].as_str().unwrap().parse().unwrap();
    let before = idp.agent(id).expect("the agent exists in Freshdesk");
    assert!(created["meta"]["location"].as_str().unwrap().ends_with(&format!("/scim/v2/Users/{id}")));

    // A second POST of the same userName is a uniqueness conflict, and costs no change.
    let (status, again) = idp.send(reqwest::Method::POST, "/Users", Some(user)).await;
    assert_eq!((status, again["scimType"].as_str()), (409, Some("uniqueness")), "{again}");

    // The identity provider's filter finds it, by userName, externalId and work e-mail.
    for f in [
        "userName eq \"new.hire@example.com\"",
        "externalId eq \"entra-object-1\"",
        "emails[type eq \"work\"].value eq \"NEW.HIRE@example.com\"",
    ] {
        let (_, list) = idp.get(&format!("/Users?filter={}", urlencode(f))).await;
        assert_eq!(list["Resources"][0]["id"], json!(id.to_string()), "{f}: {list}");
    }

    // PATCH replace attributes: a new name and title (one PUT agents/{id}) and a new externalId
    // (kept in the journal).
    let ops = json!([{"op": "Replace", "path": "displayName", "value": "Nova Hire"},
                     {"op": "Replace", "path": "title", "value": "Team lead"},
                     {"op": "Replace", "path": "name.givenName", "value": "Nova"},
                     {"op": "Replace", "path": "externalId", "value": "entra-object-2"}]);
    let (status, patched) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(patch(ops))).await;
    assert_eq!((status, patched["externalId"].as_str()), (200, Some("entra-object-2")), "{patched}");
    assert_eq!(
        (patched["displayName"].as_str(), patched["title"].as_str()),
        (Some("Nova Hire"), Some("Team lead"))
    );
    let renamed = idp.agent(id).expect("still an agent");
    assert_eq!((renamed.name.as_str(), renamed.job_title.as_deref()), ("Nova Hire", Some("Team lead")));

    // Deprovision: Entra's capitalised op and string boolean.
    let off = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let (status, off_user) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(off)).await;
    assert_eq!(
        (status, off_user["active"].as_bool()),
        (200, Some(false)),
        "{off_user}\n{}",
        idp.daemon.log()
    );
    assert!(idp.agent(id).is_none(), "the agent is deleted in Freshdesk");
    let (_, shown) = idp.get(&format!("/Users/{id}")).await;
    assert_eq!(
        (shown["active"].as_bool(), shown["userName"].as_str()),
        (Some(false), Some("new.hire@example.com"))
    );

    // Re-provision: restored from the before-image, same id and roles.
    let on = patch(json!([{"op": "Replace", "path": "active", "value": "True"}]));
    let (status, on_user) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(on)).await;
    assert_eq!((status, on_user["active"].as_bool()), (200, Some(true)), "{on_user}\n{}", idp.daemon.log());
    let after = idp.agent(id).expect("the agent is back with the same id");
    assert_eq!(
        after.agent.as_ref().map(|a| (&a.role_ids, &a.group_ids)),
        before.agent.as_ref().map(|a| (&a.role_ids, &a.group_ids))
    );

    // DELETE: deprovisioned, and gone for the identity provider.
    let (status, _) = idp.send(reqwest::Method::DELETE, &format!("/Users/{id}"), None).await;
    assert_eq!(status, 204, "{}", idp.daemon.log());
    assert!(idp.agent(id).is_none());
    assert_eq!(idp.get(&format!("/Users/{id}")).await.0, 404);

    // Every change went through the journal as a file of its own, from the SCIM source.
    let files: Vec<(String, String)> = idp
        .app
        .journal()
        .prepare("SELECT name, inbox FROM files ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.split('-').nth(1).unwrap_or("")).collect();
    assert_eq!(names, ["provision", "update", "deprovision", "reprovision", "deprovision"], "{files:?}");
    assert_eq!(idp.app.sim.counters().requests.get("PUT /api/v2/agents/{id} 200").copied(), Some(1));
    assert_eq!(after.name, "Nova Hire", "restored with the name it had when deprovisioned");
    assert!(files.iter().all(|(_, inbox)| inbox == "scim"));
    assert_eq!(idp.app.sim.counters().requests.get("DELETE /api/v2/agents/{id} 204").copied(), Some(2));
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_door_wants_the_token_the_host_and_a_small_body() {
    let idp = Idp::start("").await;
    let url = format!("{}/Users", idp.base);
    let none = idp.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let wrong = idp.http.get(&url).bearer_auth("scim-test-token-1235").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let forged = idp.http.get(&url).bearer_auth(TOKEN).header("host", "evil.example").send().await.unwrap();
    assert_eq!(forged.status(), 421);
    let (status, spc) = idp.get("/ServiceProviderConfig").await;
    assert_eq!(
        (status, spc["patch"]["supported"].as_bool(), spc["bulk"]["supported"].as_bool()),
        (200, Some(true), Some(false))
    );
    assert_eq!(idp.get("/ResourceTypes").await.1["totalResults"], 1);
    assert_eq!(idp.get("/Schemas").await.1["totalResults"], 2);
    let (status, bad) = idp.get("/Users?filter=userName%20zz").await;
    assert_eq!((status, bad["scimType"].as_str()), (400, Some("invalidFilter")));
    // 1.5 MiB: over the service's 1 MiB, under axum's default 2 MB (so the limit is ours).
    let big = "x".repeat(3 << 19);
    let huge = reqwest::Client::new().post(&url).bearer_auth(TOKEN).body(big);
    assert_eq!(huge.send().await.expect("an answer, not a reset").status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deprovision_over_the_delete_rule_is_held_then_approved_and_retried_once() {
    let idp = Idp::start("").await;
    let (_, list) = idp.get("/Users?filter=userName%20eq%20%22agent0001%40example.com%22").await;
    let id = list["Resources"][0]["id"].as_str().expect("the seeded agent is listed").to_string();
    let off = || Some(patch(json!([{"op": "Replace", "path": "active", "value": "False"}])));
    let path = format!("/Users/{id}");
    let resp = idp
        .http
        .patch(format!("{}{path}", idp.base))
        .bearer_auth(TOKEN)
        .body(off().unwrap().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("60"));
    let held: Value = resp.json().await.unwrap();
    let detail = held["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("max_deletes_percent") && detail.contains("fdsync approve"), "{detail}");
    // The provider retries while it is held: still held, still one file, nothing deleted.
    assert_eq!(idp.send(reqwest::Method::PATCH, &path, off()).await.0, 503);
    assert!(idp.agent(id.parse().unwrap()).is_some());
    let file_id = held_file(&detail);
    // `fdsync status` shows the held change, from the SCIM source, with whom it would delete.
    let status = stdout(&idp.app.fdsync(&["status"]).await);
    let who = format!("scim-deprovision-{id}-agent0001@example.com");
    assert!(status.contains(&who) && status.contains("held"), "{status}");
    assert!(status.contains("held SCIM changes: 1; `fdsync approve --scim`"), "{status}");
    // At a terminal, approve shows whom the held change deletes before it asks.
    let asked = stdout(&idp.app.at_terminal(&format!("approve {file_id}"), "n\n").await);
    assert!(
        asked.contains(&format!("delete    agent0001@example.com (agent {id})"))
            && asked.contains("not approved"),
        "{asked}"
    );
    let approved = idp.app.fdsync(&["approve", &file_id, "--yes"]).await;
    assert_eq!(code(&approved), 0, "{}", stderr(&approved));
    let none = idp.app.fdsync(&["approve", "--scim", "--yes"]).await;
    assert_eq!(code(&none), 2, "nothing left to approve: {}", stderr(&none));
    assert!(stderr(&none).contains("no SCIM change is held on connection default"), "{}", stderr(&none));
    let mut status = 0;
    for _ in 0..40 {
        status = idp.send(reqwest::Method::PATCH, &path, off()).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(status, 200, "{}", idp.daemon.log());
    assert!(idp.agent(id.parse().unwrap()).is_none());
    // Another retry changes nothing twice.
    assert_eq!(idp.send(reqwest::Method::PATCH, &path, off()).await.0, 200);
    assert_eq!(idp.app.sim.counters().requests.get("DELETE /api/v2/agents/{id} 204").copied(), Some(1));
    let files: i64 = idp.app.journal().query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0)).unwrap();
    assert_eq!(files, 1);
    // The audit names the change, its source and its approval; undo can restore it.
    let audit = stdout(&idp.app.fdsync(&["audit"]).await);
    assert!(audit.contains("delete_agent") && audit.contains(&who), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_okta_shaped_sequence_pages_puts_and_deprovisions_then_restores() {
    let idp = Idp::start("[safety]\nmax_deletes_percent = 0\n").await;
    // Paged GETs: every user once, across pages of two.
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let (status, page) = idp.get(&format!("/Users?startIndex={start}&count=2")).await;
        assert_eq!(status, 200, "{page}");
        let got = page["Resources"].as_array().unwrap().clone();
        assert!(got.len() <= 2 && page["startIndex"] == start);
        seen.extend(got.iter().map(|u| u["userName"].as_str().unwrap().to_string()));
        start += 2;
        if start > page["totalResults"].as_u64().unwrap() as usize {
            break;
        }
    }
    assert_eq!(seen.len(), idp.app.sim.state().agents.len(), "{seen:?}");
    // The pages were answered from one listing of the agents, not a call per page or user.
    let listings = idp.app.sim.request_log().iter().filter(|r| r.as_str() == "GET /api/v2/agents").count();
    assert_eq!(listings, 1, "{:?}", idp.app.sim.request_log());
    assert!(seen.contains(&"agent0002@example.com".to_string()));

    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "okta.user@example.com", "name": {"givenName": "Okta", "familyName": "User"},
        "emails": [{"value": "okta.user@example.com", "primary": true, "type": "work"}],
        "active": true, "externalId": "00u1",
        "urn:ietf:params:scim:schemas:extension:fdsync:2.0:Agent": {"ticketScope": "Group"}});
    let (status, created) = idp.send(reqwest::Method::POST, "/Users", Some(user.clone())).await;
    assert_eq!(status, 201, "{created}\n{}", idp.daemon.log());
    let id: u64 = created["id"].as_str().unwrap().parse().unwrap();
    let before = idp.agent(id).unwrap().agent.unwrap();
    assert_eq!(before.ticket_scope, 2);

    // PUT the whole user: a new externalId only.
    let mut put = user.clone();
    put["externalId"] = json!("00u1-renamed");
    let (status, replaced) = idp.send(reqwest::Method::PUT, &format!("/Users/{id}"), Some(put.clone())).await;
    assert_eq!((status, replaced["externalId"].as_str()), (200, Some("00u1-renamed")), "{replaced}");
    // PUT with another name: the agent renamed (one PUT agents/{id}); the same PUT again changes
    // nothing; an id that is not the user's is read-only (scimType mutability).
    let mut rename = put.clone();
    rename["name"] = json!({"givenName": "Okta", "familyName": "Renamed"});
    let (status, renamed) =
        idp.send(reqwest::Method::PUT, &format!("/Users/{id}"), Some(rename.clone())).await;
    assert_eq!((status, renamed["displayName"].as_str()), (200, Some("Okta Renamed")), "{renamed}");
    assert_eq!(idp.agent(id).unwrap().name, "Okta Renamed");
    assert_eq!(idp.send(reqwest::Method::PUT, &format!("/Users/{id}"), Some(rename.clone())).await.0, 200);
    let puts = || idp.app.sim.request_log().iter().filter(|r| r.starts_with("PUT /api/v2/agents/")).count();
    assert_eq!(puts(), 1, "{:?}", idp.app.sim.request_log());
    rename["id"] = json!("1");
    let (status, refused) = idp.send(reqwest::Method::PUT, &format!("/Users/{id}"), Some(rename)).await;
    assert_eq!((status, refused["scimType"].as_str()), (400, Some("mutability")), "{refused}");
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "okta.user@example.com", "name": {"givenName": "Okta", "familyName": "Renamed"},
        "emails": [{"value": "okta.user@example.com", "primary": true, "type": "work"}],
        "active": true, "externalId": "00u1-renamed"});

    // Okta's deprovision: replace without a path.
    let off = patch(json!([{"op": "replace", "value": {"active": false}}]));
    let (status, off_user) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(off)).await;
    assert_eq!((status, off_user["active"].as_bool()), (200, Some(false)), "{off_user}");
    assert!(idp.agent(id).is_none());
    let (_, found) = idp.get("/Users?filter=externalId%20eq%20%2200u1-renamed%22").await;
    assert_eq!(found["Resources"][0]["active"], json!(false), "{found}");

    // Okta's reactivation: PUT with active true restores the same agent.
    let (status, back) = idp.send(reqwest::Method::PUT, &format!("/Users/{id}"), Some(put)).await;
    assert_eq!((status, back["active"].as_bool()), (200, Some(true)), "{back}\n{}", idp.daemon.log());
    let after = idp.agent(id).expect("restored with the same id").agent.unwrap();
    assert_eq!(
        (after.ticket_scope, &after.role_ids, &after.group_ids),
        (2, &before.role_ids, &before.group_ids)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_certificate_the_service_speaks_only_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("scim.pem"), dir.path().join("scim.key"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl makes a test certificate");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let tls = format!("tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n", cert.display(), key.display());
    let idp = Idp::start_with("", &tls, true).await;
    let (status, spc) = idp.get("/ServiceProviderConfig").await;
    assert_eq!((status, spc["patch"]["supported"].as_bool()), (200, Some(true)), "{}", idp.daemon.log());
    let plain = idp.base.replace("https://", "http://");
    assert!(reqwest::Client::new().get(format!("{plain}/Users")).bearer_auth(TOKEN).send().await.is_err());

    // A key that is not a key stops `fdsync run` at start, naming the key.
    let Idp { app, daemon, .. } = idp;
    assert_eq!(daemon.stop().await, 0);
    std::fs::write(&key, "not a key").unwrap();
    let out = app.fdsync(&["run"]).await;
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("scim.tls_key_file"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_mid_patch_then_the_providers_retry_makes_one_change() {
    let idp = Idp::start("[safety]\nmax_deletes_percent = 0\n").await;
    let (_, list) = idp.get("/Users?filter=userName%20eq%20%22agent0003%40example.com%22").await;
    let id = list["Resources"][0]["id"].as_str().expect("listed").to_string();
    // Every change is held 3 s by the simulator, then applied: the DELETE is in flight.
    let off = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let idp = kill9_mid_patch(idp, &id, &off).await;
    // The lost request lands: the agent is gone before the provider retries.
    let gone = || idp.agent(id.parse().unwrap()).is_none();
    assert!(wait_until(WAIT, gone).await);
    let mut status = 0;
    for _ in 0..60 {
        status = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(off.clone())).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(status, 200, "{}", idp.daemon.log());
    assert!(idp.agent(id.parse().unwrap()).is_none());
    let log = idp.app.sim.request_log();
    let deletes = log.iter().filter(|r| r.starts_with("DELETE /api/v2/agents/")).count();
    assert_eq!(deletes, 1, "one DELETE reached Freshdesk: {log:?}");
    let files: i64 = idp.app.journal().query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0)).unwrap();
    assert_eq!(files, 1, "the retry found the change journaled before the kill");
    let (_, shown) = idp.get(&format!("/Users/{id}")).await;
    assert_eq!(shown["active"], json!(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_of_forty_deprovisioned_in_one_cycle_are_held_after_the_share_then_one_approve_lets_them_through_once()
 {
    let app_agents = 40;
    let idp = Idp::start_scaled(app_agents).await;
    let users = idp.seeded_users().await;
    let (cycle, later) = (&users[..30], &users[30]);
    let agents = idp.app.sim.state().agents.len();
    let off = || Some(patch(json!([{"op": "Replace", "path": "active", "value": "False"}])));
    let mut statuses = Vec::new();
    let mut held = Vec::new();
    for (id, _) in cycle {
        let (status, body) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), off()).await;
        if status == 503 {
            let detail = body["detail"].as_str().unwrap();
            assert!(detail.contains("fdsync approve --scim"), "{detail}");
            held.push(held_file(detail));
        }
        statuses.push(status);
    }
    let allowed = agents / 10;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), allowed, "{statuses:?}");
    assert_eq!(held.len(), 30 - allowed, "{statuses:?}");
    assert_eq!(idp.app.sim.state().agents.len(), agents - allowed, "nothing beyond the rule deleted");
    // One decision: `approve --scim` lists whom each held change deletes, asks, approves them all.
    let out = stdout(&idp.app.at_terminal("approve --scim", "y\n").await);
    assert!(
        out.contains(&format!(
            "{} SCIM changes held on connection default ({} delete)",
            held.len(),
            held.len()
        )),
        "{out}"
    );
    for (id, email) in &cycle[allowed..] {
        assert!(out.contains(&format!("delete    {email} (agent {id})")), "{email} not listed:\n{out}");
    }
    assert!(out.contains(&format!("{} held SCIM changes approved by", held.len())), "{out}");
    // One approval record per file, each naming the approver.
    let db = idp.app.journal();
    let approvers: Vec<String> = db
        .prepare("SELECT DISTINCT approved_by FROM files WHERE approved_by IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(approvers.len(), 1, "{approvers:?}");
    let approvals: i64 =
        db.query_row("SELECT COUNT(*) FROM chain WHERE kind = 'approve'", [], |r| r.get(0)).unwrap();
    assert_eq!(approvals as usize, held.len());
    // The same cycle goes on: a deprovision held after the approval is not covered by it.
    let (status, body) = idp.send(reqwest::Method::PATCH, &format!("/Users/{}", later.0), off()).await;
    assert_eq!(status, 503, "{body}");
    let after = held_file(body["detail"].as_str().unwrap());
    assert!(!held.contains(&after));
    // The provider's retries (twice over the cycle): each approved deprovision goes through, once.
    for _ in 0..2 {
        for (id, _) in cycle {
            let mut status = 0;
            for _ in 0..40 {
                status = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), off()).await.0;
                if status == 200 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(status, 200, "{id}\n{}", idp.daemon.log());
        }
    }
    assert_eq!(idp.send(reqwest::Method::PATCH, &format!("/Users/{}", later.0), off()).await.0, 503);
    let remaining: Vec<u64> = idp.app.sim.state().agents.iter().map(|a| a.id).collect();
    assert_eq!(remaining.len(), agents - 30);
    assert!(cycle.iter().all(|(id, _)| !remaining.contains(&id.parse().unwrap())));
    let log = idp.app.sim.request_log();
    assert_eq!(log.iter().filter(|r| r.starts_with("DELETE /api/v2/agents/")).count(), 30);
    // The journal: one file per deprovision, each deleted once; the later one still held.
    let deleted: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM ops WHERE action = 'delete_agent' AND outcome = 'deleted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(deleted, 30);
    let files: i64 = db.query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0)).unwrap();
    assert_eq!(files, 31);
    let state: String =
        db.query_row("SELECT state FROM files WHERE id = ?1", [&after], |r| r.get(0)).unwrap();
    assert_eq!(state, "held");
}

/// The held file's id a held change's SCIM error names.
fn held_file(detail: &str) -> String {
    detail.split("as file ").nth(1).and_then(|t| t.split(' ').next()).expect("a file id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_quota_is_spent_reads_answer_429_with_retry_after() {
    let idp = Idp::start("").await;
    idp.app
        .sim
        .update(|c| c.storm_until = Some(std::time::Instant::now() + std::time::Duration::from_secs(120)));
    let resp = idp.http.get(format!("{}/Users", idp.base)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 429, "{}", idp.daemon.log());
    let wait: u64 = resp.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!(wait >= 1, "{wait}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_agent_is_never_deleted_and_a_protected_role_is_held() {
    let idp =
        Idp::start("[safety]\nmax_deletes_percent = 0\nprotected_emails = [\"agent0002@example.com\"]\n")
            .await;
    let (_, list) = idp.get("/Users?filter=userName%20eq%20%22agent0002%40example.com%22").await;
    let id = list["Resources"][0]["id"].as_str().expect("listed").to_string();
    let off = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let (status, refused) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(off)).await;
    assert_eq!((status, refused["scimType"].as_str()), (400, Some("mutability")), "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("protected"), "{refused}");
    assert!(idp.agent(id.parse().unwrap()).is_some());

    let admin = json!({"userName": "boss@example.com", "displayName": "Boss",
        "urn:ietf:params:scim:schemas:extension:fdsync:2.0:Agent": {"roleIds": [fdsync_sim::ROLE_ACCOUNT_ADMIN]}});
    let (status, held) = idp.send(reqwest::Method::POST, "/Users", Some(admin)).await;
    assert_eq!(status, 503, "{held}");
    assert!(held["detail"].as_str().unwrap().contains("Account Administrator"), "{held}");
    assert!(!idp.app.sim.state().agents.iter().any(|a| a.email.as_deref() == Some("boss@example.com")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_of_one_request_at_once_make_one_change() {
    let idp = Idp::start("[safety]\nmax_deletes_percent = 0\n").await;
    let (_, list) = idp.get("/Users?filter=userName%20eq%20%22agent0001%40example.com%22").await;
    let id = list["Resources"][0]["id"].as_str().expect("listed").to_string();
    let path = format!("/Users/{id}");
    let off = || Some(patch(json!([{"op": "Replace", "path": "active", "value": "False"}])));
    let (a, b, c) = tokio::join!(
        idp.send(reqwest::Method::PATCH, &path, off()),
        idp.send(reqwest::Method::PATCH, &path, off()),
        idp.send(reqwest::Method::PATCH, &path, off())
    );
    assert_eq!((a.0, b.0, c.0), (200, 200, 200), "{a:?} {b:?} {c:?}");
    let files: i64 = idp.app.journal().query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0)).unwrap();
    assert_eq!(files, 1);
    let log = idp.app.sim.request_log();
    assert_eq!(log.iter().filter(|r| r.starts_with("DELETE /api/v2/agents/")).count(), 1, "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_attribute_patch_sent_twice_changes_the_agent_once() {
    let idp = Idp::start("").await;
    let (_, list) = idp.get("/Users?filter=userName%20eq%20%22agent0001%40example.com%22").await;
    let id = list["Resources"][0]["id"].as_str().expect("listed").to_string();
    let path = format!("/Users/{id}");
    let rename = || {
        Some(patch(json!([{"op": "Replace", "path": "displayName", "value": "Agent One"},
                          {"op": "Add", "path": "title", "value": "Tier 2"}])))
    };
    for _ in 0..2 {
        let (status, user) = idp.send(reqwest::Method::PATCH, &path, rename()).await;
        assert_eq!(
            (status, user["displayName"].as_str()),
            (200, Some("Agent One")),
            "{user}\n{}",
            idp.daemon.log()
        );
    }
    let agent = idp.agent(id.parse().unwrap()).unwrap();
    assert_eq!((agent.name.as_str(), agent.job_title.as_deref()), ("Agent One", Some("Tier 2")));
    let log = idp.app.sim.request_log();
    assert_eq!(log.iter().filter(|r| r.starts_with("PUT /api/v2/agents/")).count(), 1, "{log:?}");
    let files: i64 = idp.app.journal().query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0)).unwrap();
    assert_eq!(files, 1);
    // An e-mail another user has is a uniqueness conflict, and nothing is sent.
    let taken = patch(json!([{"op": "Replace", "path": "userName", "value": "agent0002@example.com"}]));
    let (status, conflict) = idp.send(reqwest::Method::PATCH, &path, Some(taken)).await;
    assert_eq!((status, conflict["scimType"].as_str()), (409, Some("uniqueness")), "{conflict}");
    // A new e-mail: the agent's e-mail and the userName change.
    let moved = patch(json!([{"op": "replace", "value": {"userName": "agent.one@example.com"}}]));
    let (status, user) = idp.send(reqwest::Method::PATCH, &path, Some(moved)).await;
    assert_eq!((status, user["userName"].as_str()), (200, Some("agent.one@example.com")), "{user}");
    assert_eq!(idp.agent(id.parse().unwrap()).unwrap().email.as_deref(), Some("agent.one@example.com"));
    let log = idp.app.sim.request_log();
    assert_eq!(log.iter().filter(|r| r.starts_with("PUT /api/v2/agents/")).count(), 2, "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_mid_attribute_patch_then_the_providers_retry_makes_one_update() {
    let idp = Idp::start("").await;
    let (_, list) = idp.get("/Users?filter=userName%20eq%20%22agent0003%40example.com%22").await;
    let id: u64 = list["Resources"][0]["id"].as_str().expect("listed").parse().unwrap();
    // Every change is held 3 s by the simulator, then applied: the PUT is in flight.
    let rename = patch(json!([{"op": "Replace", "path": "displayName", "value": "Agent Three"}]));
    let idp = kill9_mid_patch(idp, &id.to_string(), &rename).await;
    // The lost request lands before the provider retries.
    let renamed = || idp.agent(id).is_some_and(|a| a.name == "Agent Three");
    assert!(wait_until(WAIT, renamed).await);
    let mut status = 0;
    for _ in 0..60 {
        status = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(rename.clone())).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(status, 200, "{}", idp.daemon.log());
    // The change journaled before the kill is reconciled by reading the agent back, not re-sent.
    let done = || {
        idp.app
            .journal()
            .query_row("SELECT outcome FROM ops WHERE action = 'update_agent'", [], |r| {
                r.get::<_, Option<String>>(0)
            })
            .ok()
            .flatten()
            .as_deref()
            == Some("updated")
    };
    assert!(wait_until(WAIT, done).await, "{}", idp.daemon.log());
    let log = idp.app.sim.request_log();
    assert_eq!(log.iter().filter(|r| r.starts_with("PUT /api/v2/agents/")).count(), 1, "one PUT: {log:?}");
    let files: i64 = idp.app.journal().query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0)).unwrap();
    assert_eq!(files, 1, "the retry found nothing left to change");
}

const EXT: &str = "urn:ietf:params:scim:schemas:extension:fdsync:2.0:Agent";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_groups_go_by_the_accounts_names_in_and_out() {
    let idp = Idp::start("").await;
    let (_, schema) = idp.get(&format!("/Schemas/{EXT}")).await;
    let offered = |name: &str| {
        let attrs = schema["attributes"].as_array().expect("attributes");
        attrs.iter().find(|a| a["name"] == name).map(|a| a["canonicalValues"].clone()).unwrap_or_default()
    };
    assert!(offered("roles").as_array().unwrap().contains(&json!("Supervisor")), "{schema}");
    assert_eq!(offered("groups"), json!(["Tier 1", "Tier 2", "Billing"]), "{schema}");

    let user = json!({"userName": "rae@example.com", "displayName": "Rae",
        EXT: {"roles": ["supervisor"], "groups": ["Tier 2", "billing"]}});
    let (status, made) = idp.send(reqwest::Method::POST, "/Users", Some(user)).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (&made[EXT]["roles"], &made[EXT]["groups"]),
        (&json!(["Supervisor"]), &json!(["Tier 2", "Billing"]))
    );
    let id: u64 = made["id"].as_str().unwrap().parse().unwrap();
    let agent = idp.agent(id).and_then(|a| a.agent).expect("an agent");
    assert_eq!(agent.role_ids, [fdsync_sim::ROLE_SUPERVISOR]);
    assert_eq!(agent.group_ids, [43_000_090_002, 43_000_090_003]);
    let (_, read) = idp.get(&format!("/Users/{id}")).await;
    assert_eq!(read[EXT]["roles"], json!(["Supervisor"]), "{read}");

    // A PATCH changes the groups by name; granting a protected role is held like a file's.
    let tier1 = patch(json!([{"op": "replace", "path": format!("{EXT}:groups"), "value": ["Tier 1"]}]));
    let (status, after) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(tier1)).await;
    assert_eq!((status, &after[EXT]["groups"]), (200, &json!(["Tier 1"])), "{after}");
    assert_eq!(idp.agent(id).and_then(|a| a.agent).unwrap().group_ids, [43_000_090_001]);
    let admin = patch(json!([{"op": "replace", "path": format!("{EXT}:roles"), "value": ["Administrator"]}]));
    let (status, held) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(admin)).await;
    assert_eq!(status, 503, "{held}");
    assert_eq!(idp.agent(id).and_then(|a| a.agent).unwrap().role_ids, [fdsync_sim::ROLE_SUPERVISOR]);

    let unknown = json!({"userName": "sam@example.com", EXT: {"roles": ["Agent"], "groups": ["Janitors"]}});
    let (status, refused) = idp.send(reqwest::Method::POST, "/Users", Some(unknown)).await;
    assert_eq!((status, refused["scimType"].as_str()), (400, Some("invalidValue")), "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("'Janitors'"), "{refused}");
    assert!(!idp.app.sim.state().agents.iter().any(|a| a.email.as_deref() == Some("sam@example.com")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_email_is_the_user_name_else_the_primary_work_or_first_email() {
    let idp = Idp::start("").await;
    let cases = [
        (
            json!({"userName": "jdoe", "emails": [{"value": "jd@home.example", "type": "home"},
            {"value": "jdoe@example.com", "type": "work"}]}),
            "jdoe@example.com",
        ),
        (
            json!({"userName": "lee", "emails": [{"value": "lee.w@example.com", "type": "work"},
            {"value": "lee@example.com", "type": "home", "primary": true}]}),
            "lee@example.com",
        ),
        (
            json!({"userName": "kim", "emails": [{"value": "kim@example.com", "type": "other"}]}),
            "kim@example.com",
        ),
        (
            json!({"userName": "Ann@Example.com", "emails": [{"value": "a2@example.com", "primary": true}]}),
            "Ann@Example.com",
        ),
    ];
    for (body, email) in cases {
        let (status, made) = idp.send(reqwest::Method::POST, "/Users", Some(body.clone())).await;
        assert_eq!(status, 201, "{body} → {made}");
        let id: u64 = made["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(idp.agent(id).and_then(|a| a.email).as_deref(), Some(email), "{body}");
        let kept =
            made["userName"].as_str().unwrap().eq_ignore_ascii_case(body["userName"].as_str().unwrap());
        assert!(kept, "the provider's userName is kept: {made}");
        let (_, read) = idp.get(&format!("/Users/{id}")).await;
        // The provider's list (types, primary) while it lists the agent's e-mail; else that one.
        let listed = body["emails"].as_array().unwrap().iter().any(|e| e["value"].as_str() == Some(email));
        let shown = match listed {
            true => body["emails"].clone(),
            false => json!([{"value": email.to_lowercase(), "type": "work", "primary": true}]),
        };
        assert_eq!(read["emails"], shown, "{body}");
    }
    let none = json!({"userName": "nobody", "emails": [{"value": "nobody at home", "primary": true}]});
    let (status, refused) = idp.send(reqwest::Method::POST, "/Users", Some(none)).await;
    assert_eq!((status, refused["scimType"].as_str()), (400, Some("invalidValue")), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_held_changes_of_one_cycle_are_one_notification_and_one_block_on_the_page() {
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_port = hook.local_addr().unwrap().port();
    let hooks = crate::notify::receiver(hook, vec![]).await;
    let secrets = tempfile::tempdir().unwrap();
    let url_file = secrets.path().join("hook_url");
    crate::notify::private_file(&url_file, &format!("http://127.0.0.1:{hook_port}/hook\n"));
    let page_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let extra = format!(
        "[http]\nlisten = \"127.0.0.1:{page_port}\"\n[[notify]]\nname = \"chat\"\non = [\"held\"]\nwebhook_url_file = \"{}\"\n",
        url_file.display()
    );
    let idp = Idp::start_full(10, &extra, "notify_quiet_secs = 4", false).await;
    let users = idp.seeded_users().await;
    let allowed = idp.app.sim.state().agents.len() / 10;
    let off = || Some(patch(json!([{"op": "Replace", "path": "active", "value": "False"}])));
    let mut held = Vec::new();
    for (id, email) in &users[..6] {
        if idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), off()).await.0 == 503 {
            held.push((id.clone(), email.clone()));
        }
    }
    assert_eq!(held.len(), 6 - allowed);
    // The provider retries its held changes before the cycle is over: nothing more is notified.
    for (id, _) in &held {
        assert_eq!(idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), off()).await.0, 503);
    }
    assert!(wait_until(WAIT, || crate::notify::count(&hooks) >= 1).await, "{}", idp.daemon.log());
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let got = hooks.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one notification for the cycle: {got:?}");
    let body = &got[0].1;
    assert_eq!(body["event"], "held");
    assert_eq!(body["files"].as_array().map(Vec::len), Some(held.len()), "{body}");
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("{} SCIM changes", held.len())) && text.contains("fdsync approve --scim"),
        "{text}"
    );
    for (id, email) in &held {
        let email = email.replace('_', "\\_");
        assert!(text.contains(&format!("delete {email} (agent {id})")), "{email} not named: {text}");
    }
    let rows = crate::notify::outbox(&idp.app);
    assert_eq!(rows.len(), held.len(), "{rows:?}");
    assert!(
        rows.iter().all(|(e, state, attempts)| e == "held" && state == "sent" && *attempts == 1),
        "{rows:?}"
    );
    // The page shows them as one block with the one command.
    let page = reqwest::get(format!("http://127.0.0.1:{page_port}/")).await.unwrap().text().await.unwrap();
    assert!(
        page.contains(&format!("{} SCIM changes from the identity provider are held", held.len())),
        "{page}"
    );
    assert_eq!(page.matches("fdsync approve --scim").count(), 1, "{page}");
    assert_eq!(page.matches("<pre class=\"cmd\">").count(), 1, "no per-file command: {page}");
    // A change held later, in a cycle of its own, is a notification of its own.
    let (id, _) = &users[6];
    assert_eq!(idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), off()).await.0, 503);
    assert!(wait_until(WAIT, || crate::notify::count(&hooks) >= 2).await, "{}", idp.daemon.log());
    let second = hooks.lock().unwrap()[1].1.clone();
    assert_eq!(second["files"].as_array().map(Vec::len), Some(1), "{second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_of_an_attribute_update_puts_the_agents_old_values_back() {
    let idp = Idp::start("").await;
    let (_, list) = idp.get("/Users?filter=userName%20eq%20%22agent0002%40example.com%22").await;
    let id: u64 = list["Resources"][0]["id"].as_str().expect("listed").parse().unwrap();
    let before = idp.agent(id).expect("the seeded agent");
    let rename = patch(json!([{"op": "Replace", "path": "displayName", "value": "Agent Two Renamed"},
                              {"op": "Replace", "path": "title", "value": "Team lead"}]));
    let (status, user) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(rename)).await;
    assert_eq!(status, 200, "{user}");
    let changed = idp.agent(id).unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.job_title.as_deref()),
        ("Agent Two Renamed", Some("Team lead"))
    );
    assert_ne!(before.job_title.as_deref(), Some("Team lead"), "the seed differs from the change");
    let db = idp.app.journal();
    let file: i64 =
        db.query_row("SELECT id FROM files WHERE name LIKE 'scim-update-%'", [], |r| r.get(0)).unwrap();
    let done = || {
        idp.app
            .journal()
            .query_row("SELECT state FROM files WHERE id = ?1", [file], |r| r.get::<_, String>(0))
            .ok()
            == Some("done".into())
    };
    assert!(wait_until(WAIT, done).await, "{}", idp.daemon.log());
    let Idp { app, daemon, .. } = idp;
    assert_eq!(daemon.stop().await, 0);
    // The real binary's undo, as an operator runs it: the values saved before the update go back.
    let out = app.fdsync(&["undo", &file.to_string(), "--yes"]).await;
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let after = app.sim.state().agents.into_iter().find(|a| a.id == id).expect("still an agent");
    // The seed had no title (null); fdsync writes "no title" as "" (as a SCIM `remove` of `title` does).
    let title = |t: Option<String>| t.filter(|t| !t.is_empty());
    assert_eq!(
        (after.name, title(after.job_title), after.email),
        (before.name, title(before.job_title), before.email)
    );
    let log = app.sim.request_log();
    assert_eq!(
        log.iter().filter(|r| r.starts_with(&format!("PUT /api/v2/agents/{id}"))).count(),
        2,
        "{log:?}"
    );
    let undo: (String, Option<String>) = db
        .query_row(
            "SELECT o.action, o.outcome FROM ops o JOIN files f ON f.id = o.file_id WHERE f.undo_of = ?1",
            [file],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(undo, ("update_agent".to_string(), Some("updated".to_string())));
    // A second undo changes nothing more.
    let again = app.fdsync(&["undo", &file.to_string(), "--yes"]).await;
    assert_eq!(code(&again), 0, "{}\n{}", stdout(&again), stderr(&again));
    let log = app.sim.request_log();
    assert_eq!(
        log.iter().filter(|r| r.starts_with(&format!("PUT /api/v2/agents/{id}"))).count(),
        2,
        "{log:?}"
    );
}

/// An identity provider that maps roles sends them for a user shown without them (the agent
/// listing does not say an agent's roles): the agent is read in full once, nothing is changed
/// when it has them already (no file, no `PUT`, no grants guard), and from then on the user is
/// shown with them, so the next cycle has nothing to send. A role it does not have is one `PUT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_a_listed_user_already_has_change_nothing_and_are_shown_from_then_on() {
    let idp = Idp::start("").await;
    let (id, user_name) = idp.seeded_users().await.into_iter().next().expect("a seeded agent");
    let query = format!("/Users?filter=userName%20eq%20%22{}%22", user_name.replace('@', "%40"));
    let (_, found) = idp.get(&query).await;
    assert!(found["Resources"][0][EXT]["roles"].is_null(), "the listing says no roles: {found}");

    let files =
        || idp.app.journal().query_row("SELECT COUNT(*) FROM files", [], |r| r.get::<_, i64>(0)).unwrap();
    let puts = || idp.app.sim.request_log().iter().filter(|r| r.starts_with("PUT /api/v2/agents/")).count();
    let same = patch(json!([{"op": "replace", "path": format!("{EXT}:roles"), "value": ["Agent"]}]));
    let (status, after) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(same)).await;
    assert_eq!((status, &after[EXT]["roles"]), (200, &json!(["Agent"])), "{after}\n{}", idp.daemon.log());
    assert_eq!((files(), puts()), (0, 0), "{:?}", idp.app.sim.request_log());
    let (_, found) = idp.get(&query).await;
    assert_eq!(found["Resources"][0][EXT]["roles"], json!(["Agent"]), "{found}");

    let other = patch(json!([{"op": "replace", "path": format!("{EXT}:roles"), "value": ["Supervisor"]}]));
    let (status, after) = idp.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(other)).await;
    assert_eq!((status, &after[EXT]["roles"]), (200, &json!(["Supervisor"])), "{after}");
    assert_eq!((files(), puts()), (1, 1));
    let agent = idp.agent(id.parse().unwrap()).and_then(|u| u.agent).expect("an agent");
    assert_eq!(agent.role_ids, [fdsync_sim::ROLE_SUPERVISOR]);
}
