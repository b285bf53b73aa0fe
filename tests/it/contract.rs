//! The contract fixtures (`tests/contract/*.http`, see its README): Freshdesk's answers as its
//! documentation and code describe them, written apart from the simulator. Two judges read them:
//! the client must decode each fixture (served verbatim on loopback) into what the engine expects
//! (`contract/decode.rs`), and the simulator must answer the same request with the same shape.

mod decode;

use crate::helpers::{fast_sim, spawn_sim};
use fdsync_sim::{CustomField, SimConfig, SimHandle};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One fixture file: the request and the answer Freshdesk gives to it.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: String,
    /// The `# source:` lines (every fixture names at least one).
    pub sources: Vec<String>,
    pub method: String,
    /// Path and query, with `{agent}`, `{ticket}`, `{contact}` placeholders.
    pub path: String,
    pub request: Option<Value>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Fixture {
    fn parse(name: &str, text: &str) -> Fixture {
        let mut sources = Vec::new();
        let mut request = Vec::new();
        let mut lines = text.lines();
        let status_line = loop {
            let line = lines.next().unwrap_or_else(|| panic!("{name}: no status line"));
            if let Some(rest) = line.strip_prefix("# source:") {
                sources.push(rest.trim().to_string());
            } else if let Some(rest) = line.strip_prefix('>') {
                request.push(rest.trim().to_string());
            } else if line.starts_with("HTTP/1.1 ") {
                break line;
            }
        };
        let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
        let mut headers = Vec::new();
        for line in lines.by_ref() {
            if line.trim().is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').unwrap_or_else(|| panic!("{name}: header {line:?}"));
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let body = lines.collect::<Vec<_>>().join("\n").trim().to_string();
        let first = request.first().unwrap_or_else(|| panic!("{name}: no `>` request line"));
        let (method, path) = first.split_once(' ').expect("METHOD PATH");
        let rest = request[1..].join("\n");
        let request =
            (!rest.trim().is_empty()).then(|| serde_json::from_str(&rest).expect("request body is JSON"));
        Fixture {
            name: name.to_string(),
            sources,
            method: method.to_string(),
            path: path.to_string(),
            request,
            status,
            headers,
            body,
        }
    }

    /// The fixture's `path` without its query string, with placeholders filled from `vars`.
    pub fn route(&self, vars: &BTreeMap<&str, u64>) -> String {
        let path = fill(&self.path, vars);
        path.split('?').next().unwrap_or_default().to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn fill(path: &str, vars: &BTreeMap<&str, u64>) -> String {
    let mut path = path.to_string();
    for (k, v) in vars {
        path = path.replace(&format!("{{{k}}}"), &v.to_string());
    }
    assert!(!path.contains('{'), "unfilled placeholder in {path}");
    path
}

/// Every fixture of `tests/contract/`, by name.
pub fn fixtures() -> Vec<Fixture> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/contract")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "http"))
        .collect();
    names.sort();
    let all: Vec<Fixture> = names
        .iter()
        .map(|p| {
            let name = p.file_stem().and_then(|s| s.to_str()).expect("name");
            Fixture::parse(name, &std::fs::read_to_string(p).expect("fixture"))
        })
        .collect();
    assert!(all.len() >= 15, "the fixtures are missing: {}", dir.display());
    for f in &all {
        assert!(!f.sources.is_empty(), "{} names no source", f.name);
    }
    all
}

/// The headers compared between a fixture and the simulator: present in one if and only if
/// present in the other.
const RELEVANT: &[&str] = &[
    "content-type",
    "location",
    "link",
    "retry-after",
    "allow",
    "x-ratelimit-total",
    "x-ratelimit-remaining",
    "x-ratelimit-used-currentrequest",
    "x-freshdesk-api-version",
];

/// What differs between the headers the fixture has and the simulator's (`got`, lower-case names).
fn header_diff(f: &Fixture, got: &reqwest::header::HeaderMap) -> Vec<String> {
    let mut out = Vec::new();
    for name in RELEVANT {
        let want = f.header(name);
        let have = got.get(*name).and_then(|v| v.to_str().ok());
        match (want, have) {
            (None, None) => {}
            (Some(w), None) => out.push(format!("header {name} missing (Freshdesk: {w})")),
            (None, Some(h)) => out.push(format!("header {name}: {h} (Freshdesk sends none)")),
            (Some(w), Some(h)) => {
                let same = match *name {
                    "content-type" => essence(w) == essence(h),
                    "retry-after"
                    | "x-ratelimit-total"
                    | "x-ratelimit-remaining"
                    | "x-ratelimit-used-currentrequest" => h.trim().parse::<u64>().is_ok(),
                    "link" => h.contains("rel=\"next\"") && h.starts_with('<') && h.contains("page="),
                    "location" => {
                        let tail = |s: &str| s.rsplit_once("/api/v2/").map(|(_, t)| t.to_string());
                        let shape =
                            |s: Option<String>| s.map(|t| t.trim_end_matches(char::is_numeric).to_string());
                        shape(tail(w)) == shape(tail(h))
                    }
                    _ => w == h,
                };
                if !same {
                    out.push(format!("header {name}: {h} (Freshdesk: {w})"));
                }
            }
        }
    }
    out
}

fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `got` differs in shape from `want`: missing and extra keys, and JSON types, recursively.
/// `null` matches any type (Freshdesk sends `null` for any field not set). Array items: each of
/// one side must match some item of the other (lists mix shapes, e.g. ticket fields).
pub fn shape_diff(at: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(w), Value::Object(g)) => {
            for k in w.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{at}.{k}: missing"));
            }
            for k in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{at}.{k}: not in Freshdesk's answer"));
            }
            for (k, wv) in w {
                if let Some(gv) = g.get(k) {
                    shape_diff(&format!("{at}.{k}"), wv, gv, out);
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.is_empty() || g.is_empty() => {}
        (Value::Array(w), Value::Array(g)) => {
            for (i, item) in g.iter().enumerate() {
                unmatched(&format!("{at}[{i}]"), item, w, out, true);
            }
            for (i, item) in w.iter().enumerate() {
                unmatched(&format!("{at}[{i}] (Freshdesk's)"), item, g, out, false);
            }
        }
        _ if kind(want) != kind(got) => {
            out.push(format!("{at}: {} (Freshdesk: {})", kind(got), kind(want)));
        }
        _ => {}
    }
}

/// Adds the differences to the nearest of `others` when `item` matches none of them.
fn unmatched(at: &str, item: &Value, others: &[Value], out: &mut Vec<String>, item_is_got: bool) {
    let mut best: Option<Vec<String>> = None;
    for other in others {
        let mut diff = Vec::new();
        if item_is_got {
            shape_diff(at, other, item, &mut diff);
        } else {
            shape_diff(at, item, other, &mut diff);
        }
        if diff.is_empty() {
            return;
        }
        if best.as_ref().is_none_or(|b| diff.len() < b.len()) {
            best = Some(diff);
        }
    }
    out.extend(best.unwrap_or_default());
}

/// The simulator every fixture runs against: three seeded agents, the fixtures' custom fields, no
/// search lag; a budget of one request for the 429 fixture.
fn sim_config(f: &Fixture) -> SimConfig {
    let custom_fields =
        vec![CustomField::text("cf_host"), CustomField::dropdown("cf_region", &["EMEA", "AMER", "APAC"])];
    let rate = if f.status == 429 { Some(1) } else { fast_sim().rate };
    SimConfig { agents: 3, custom_fields, search_lag: Duration::ZERO, rate, ..fast_sim() }
}

fn ticket_create_body() -> Value {
    let text = include_str!("../contract/ticket_create_201.http");
    Fixture::parse("ticket_create_201", text).request.expect("the create's body")
}

/// Prepares the simulator for `f` (the records its placeholders name, a spent budget) and
/// returns the placeholders' values.
async fn setup(sim: &SimHandle, f: &Fixture, http: &reqwest::Client) -> BTreeMap<&'static str, u64> {
    let mut vars = BTreeMap::new();
    let state = sim.state();
    let agent = state.agents.iter().find(|a| a.email.as_deref() == Some("agent0001@example.com"));
    vars.insert("agent", agent.expect("seeded agent").id);
    if f.path.contains("{ticket}") || f.name.starts_with("search") {
        let (status, _, body) = send(sim, http, "POST", "/api/v2/tickets", Some(&ticket_create_body())).await;
        assert_eq!(status, 201, "{body}");
        let ticket: Value = serde_json::from_str(&body).expect("ticket");
        vars.insert("ticket", ticket["id"].as_u64().expect("id"));
    }
    if f.name == "ticket_update_400" {
        // The field became required after the ticket was created without it.
        sim.update(|c| {
            c.custom_fields[1] = CustomField::dropdown("cf_region", &["EMEA", "AMER", "APAC"]).required()
        });
    }
    if f.path.contains("{contact}") {
        let mut body = ticket_create_body();
        body["email"] = "pat.leaver@example.com".into();
        assert_eq!(send(sim, http, "POST", "/api/v2/tickets", Some(&body)).await.0, 201);
        let contacts = sim.state().contacts;
        let pat = contacts.iter().find(|c| c.email.as_deref() == Some("pat.leaver@example.com"));
        vars.insert("contact", pat.expect("the requester became a contact").id);
    }
    if f.status == 429 {
        assert_eq!(send(sim, http, "GET", "/api/v2/agents/me", None).await.0, 200, "spends the budget");
    }
    vars
}

async fn send(
    sim: &SimHandle,
    http: &reqwest::Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req =
        http.request(method, format!("{}{path}", sim.base_url())).basic_auth(sim.api_key(), Some("X"));
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("the simulator answers");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.text().await.expect("body"))
}

/// What the simulator answers differently from the fixture: status, relevant headers, body shape.
async fn sim_diff(f: &Fixture) -> Vec<String> {
    let sim = spawn_sim(sim_config(f), std::future::pending()).await;
    let http = reqwest::Client::new();
    let vars = setup(&sim, f, &http).await;
    let path = fill(&f.path, &vars);
    let (status, headers, body) = send(&sim, &http, &f.method, &path, f.request.as_ref()).await;
    let mut out = Vec::new();
    if status != f.status {
        out.push(format!("status {status} (Freshdesk: {}): {body}", f.status));
    }
    out.extend(header_diff(f, &headers));
    match (f.body.is_empty(), body.trim().is_empty()) {
        (true, true) => {}
        (true, false) => out.push(format!("a body ({body}) where Freshdesk's is empty")),
        (false, true) => out.push("an empty body".to_string()),
        (false, false) => {
            let want: Value = serde_json::from_str(&f.body).expect("fixture body is JSON");
            match serde_json::from_str::<Value>(&body) {
                Ok(got) => shape_diff("$", &want, &got, &mut out),
                Err(e) => out.push(format!("not JSON ({e}): {body}")),
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_answers_every_contract_fixture_with_freshdesks_shape() {
    let mut failures = Vec::new();
    for f in fixtures() {
        let diff = sim_diff(&f).await;
        if !diff.is_empty() {
            failures.push(format!("{} ({} {}):\n  {}", f.name, f.method, f.path, diff.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "the simulator differs from Freshdesk:\n{}", failures.join("\n"));
}

#[test]
fn the_shape_comparison_sees_missing_keys_wrong_types_and_unmatched_items() {
    let want = serde_json::json!({"id": 1, "agent": {"id": 2}, "tags": ["a"], "x": null});
    let mut out = Vec::new();
    shape_diff("$", &want, &serde_json::json!({"id": 1, "agent": {"id": 2}, "tags": [], "x": 3}), &mut out);
    assert_eq!(out, Vec::<String>::new());
    shape_diff("$", &want, &serde_json::json!({"id": "1", "tags": [1], "x": 3, "y": 0}), &mut out);
    assert_eq!(
        out,
        [
            "$.agent: missing",
            "$.y: not in Freshdesk's answer",
            "$.id: string (Freshdesk: number)",
            "$.tags[0]: number (Freshdesk: string)",
            "$.tags[0] (Freshdesk's): number (Freshdesk: string)"
        ]
    );
}
