//! Secrets stay secret: an import at `RUST_LOG=trace` with each auth mode, and every place a
//! secret could leak is searched: logs, stdout and error messages, and every file under the state
//! folder (journal.db and its WAL, status.json, reports, the token cache, ...), byte for byte,
//! for the secret itself and for the base64 Basic credential built from it.

use crate::helpers::*;
use base64::Engine as _;
use fdsync_sim::{BasicUser, SimConfig};
use std::path::{Path, PathBuf};

/// The Basic credential a secret travels in (`base64("user:password")`).
fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Searches every file under the state folder for each secret, as bytes. `allowed` names files
/// (by file name) that must hold a given secret by design, e.g. the OAuth token cache.
fn assert_state_clean(app: &TestApp, secrets: &[&str], allowed: &[(&str, &str)]) {
    let files = files_under(&app.state_dir());
    let names: Vec<String> = files.iter().filter_map(|p| p.file_name()?.to_str().map(String::from)).collect();
    assert!(names.iter().any(|n| n == "journal.db"), "the journal was searched: {names:?}");
    for path in &files {
        let bytes = std::fs::read(path).unwrap_or_default();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        for s in secrets {
            assert!(!s.is_empty());
            if allowed.iter().any(|(file, secret)| *file == name && secret == s) {
                continue;
            }
            let found = bytes.windows(s.len()).any(|w| w == s.as_bytes());
            assert!(!found, "secret {s:?} found in {}", path.display());
        }
    }
}

/// Everything an operator or a log shipper could see after a run.
fn visible(app: &TestApp, outputs: &[std::process::Output]) -> String {
    let mut all = String::new();
    for o in outputs {
        all.push_str(&stdout(o));
        all.push_str(&stderr(o));
    }
    let reports = app.state_dir().join("reports");
    for entry in std::fs::read_dir(reports).into_iter().flatten().flatten() {
        all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    all
}

fn assert_hidden(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!s.is_empty());
        assert!(!text.contains(s), "secret {s:?} leaked");
    }
    let lower = text.to_lowercase();
    assert!(!lower.contains("authorization:"), "an Authorization header was logged");
    assert!(!lower.contains("basic c2lt"), "a Basic credential was logged");
}

async fn run_traced(app: &TestApp) -> Vec<std::process::Output> {
    let file = app.file("t.csv", &tickets_csv(3));
    let mut import = app.command(&["import", file.to_str().unwrap(), "--action", "create_ticket"]);
    let import = import.env("RUST_LOG", "trace").output().await.unwrap();
    assert_eq!(code(&import), 0, "{}", stderr(&import));
    assert!(stderr(&import).contains("TRACE") || stderr(&import).contains("DEBUG"), "trace logging was on");
    let status = app.command(&["status", "--json"]).env("RUST_LOG", "trace").output().await.unwrap();
    let check = app.command(&["check"]).env("RUST_LOG", "trace").output().await.unwrap();
    vec![import, status, check]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_appears_in_no_log_report_or_status_at_trace_level() {
    let app = spawn_app().await;
    let outputs = run_traced(&app).await;
    let key = app.sim.api_key();
    let secrets = [key.as_str(), &basic(&key, "X")];
    assert_hidden(&visible(&app, &outputs), &secrets);
    assert_state_clean(&app, &secrets, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_appears_nowhere_with_basic_auth() {
    let password = "correct-horse-battery-staple";
    let sim = SimConfig {
        basic_users: vec![BasicUser { email: "admin@example.com".into(), password: password.into() }],
        ..fast_sim()
    };
    let app = spawn_app_with(sim, "").await;
    let text = std::fs::read_to_string(&app.config).unwrap().replace(
        &format!("api_key = \"{}\"", app.sim.api_key()),
        &format!("method = \"basic\"\nusername = \"admin@example.com\"\npassword = \"{password}\""),
    );
    std::fs::write(&app.config, text).unwrap();
    let outputs = run_traced(&app).await;
    let secrets = [password, &basic("admin@example.com", password)];
    assert_hidden(&visible(&app, &outputs), &secrets);
    assert_state_clean(&app, &secrets, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_client_secret_and_tokens_appear_nowhere() {
    let app = spawn_app().await;
    let text = std::fs::read_to_string(&app.config).unwrap().replace(
        &format!("api_key = \"{}\"", app.sim.api_key()),
        &format!(
            "method = \"oauth2\"\n[auth.oauth2]\ngrant_type = \"client_credentials\"\nclient_id = \"sim-client\"\n\
             client_secret = \"sim-secret\"\ntoken_url = \"{}/oauth/token\"\n",
            app.sim.base_url()
        ),
    );
    std::fs::write(&app.config, text).unwrap();
    let outputs = run_traced(&app).await;
    assert_eq!(app.sim.state().tickets.len(), 3, "the import ran on an OAuth token");
    let cache = std::fs::read_to_string(app.state_dir().join("oauth-token.json")).expect("token cache");
    let token: serde_json::Value = serde_json::from_str(&cache).expect("token json");
    let access = token["access_token"].as_str().expect("access token").to_string();
    let secrets = ["sim-secret", &access, &basic("sim-client", "sim-secret")];
    assert_hidden(&visible(&app, &outputs), &secrets);
    // The token cache (mode 0600) holds the access token by design; nothing else may.
    assert_state_clean(&app, &secrets, &[("oauth-token.json", access.as_str())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_with_a_secret_readable_by_others_is_refused() {
    let app = spawn_app().await;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&app.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = app.fdsync(&["status"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("600"), "{}", stderr(&out));
    assert_hidden(&stderr(&out), &[&app.sim.api_key()]);
}
