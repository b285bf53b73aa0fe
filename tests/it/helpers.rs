//! `spawn_app()`: a simulator on a free loopback port, a temp state folder, and a config file
//! pointing fdsync at them; helpers to write input files and run the real `fdsync` binary.

use fdsync::config::simulator_toml;
use fdsync_sim::{SimConfig, SimHandle};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub struct TestApp {
    pub sim: SimHandle,
    pub dir: TempDir,
    pub config: PathBuf,
    _stop: oneshot::Sender<()>,
}

/// A simulator on a free loopback port, bound before it serves (no waiting for it), running
/// until `shutdown` resolves.
pub async fn spawn_sim(
    sim: SimConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    fdsync_sim::serve(listener, sim, shutdown).await
}

/// Starts a simulator with `sim` and writes a config for it (plus `extra` TOML lines).
pub async fn spawn_app_with(sim: SimConfig, extra: &str) -> TestApp {
    let (stop, stopped) = oneshot::channel::<()>();
    let sim = spawn_sim(sim, async move {
        let _ = stopped.await;
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("fdsync.toml");
    let app = TestApp { sim, dir, config, _stop: stop };
    app.write_config(extra);
    app
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(fast_sim(), "").await
}

/// A simulator whose quota is no bottleneck (12,000 a minute, so 4,800 ticket creates): tests
/// that are not about the quota should not wait on the Pro plan's 160 creates a minute.
pub fn fast_sim() -> SimConfig {
    SimConfig { rate: Some(12_000), ..SimConfig::default() }
}

impl TestApp {
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// (Re)writes the config: the simulator, a short request timeout (so lost answers are
    /// reconciled quickly), and `extra` lines appended (whole sections). Every guard keeps the
    /// product's default (`safety.max_deletes_percent = 10` too) unless `extra` sets it.
    pub fn write_config(&self, extra: &str) {
        let extra = format!("[freshdesk]\nrequest_timeout_secs = 2\nconnect_timeout_secs = 2\n\n{extra}\n");
        let text = simulator_toml(&self.sim.base_url(), &self.sim.api_key(), &self.state_dir(), &extra);
        std::fs::write(&self.config, text).expect("write config");
        set_private(&self.config);
    }

    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write input");
        path
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fdsync"));
        cmd.arg("--config").arg(&self.config).args(args);
        cmd.env_remove("FDSYNC_API_KEY").env_remove("FDSYNC_CONFIG").env("RUST_LOG", "warn");
        cmd.kill_on_drop(true);
        cmd
    }

    pub async fn fdsync(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("run fdsync")
    }

    pub async fn import(&self, path: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["import", path.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        self.fdsync(&args).await
    }

    /// The report CSV of the newest report whose name contains `stem`.
    pub fn report(&self, stem: &str) -> Vec<Vec<String>> {
        let dir = self.state_dir().join("reports");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .expect("reports dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(stem)))
            .collect();
        paths.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        let path = paths.pop().unwrap_or_else(|| panic!("no report for {stem} in {}", dir.display()));
        let mut reader = csv::Reader::from_path(&path).expect("report");
        let header: Vec<String> = reader.headers().expect("header").iter().map(String::from).collect();
        assert_eq!(
            header,
            ["row", "action", "key", "outcome", "freshdesk_id", "http_status", "error_code", "message"]
        );
        reader.records().map(|r| r.expect("record").iter().map(String::from).collect()).collect()
    }
}

impl TestApp {
    /// The journal, opened read-only (what an auditor would query).
    pub fn journal(&self) -> rusqlite::Connection {
        let path = self.state_dir().join("journal.db");
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
    }

    /// Runs `fdsync ARGS` with a terminal (`script`), typing `input`; its output (stdout holds
    /// what the terminal showed).
    pub async fn at_terminal(&self, args: &str, input: &str) -> Output {
        let command = format!("{} --config {} {args}", env!("CARGO_BIN_EXE_fdsync"), self.config.display());
        let mut child = tokio::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("script");
        use tokio::io::AsyncWriteExt;
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).await.expect("answer");
        tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("answered")
            .expect("output")
    }

    /// `POST /api/v2/agents` straight to the simulator (an admin adding an agent by hand): the
    /// new agent's id.
    pub async fn create_agent_directly(&self, body: serde_json::Value) -> u64 {
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v2/agents", self.sim.base_url()))
            .basic_auth(self.sim.api_key(), Some("X"))
            .json(&body)
            .send()
            .await
            .expect("simulator answers");
        assert_eq!(resp.status(), 201, "{body}");
        let agent: serde_json::Value = resp.json().await.expect("agent json");
        agent["id"].as_u64().expect("id")
    }

    /// `POST /api/v2/tickets` straight to the simulator, as another integration would.
    pub async fn create_ticket_directly(&self, email: &str, subject: &str) {
        let body = serde_json::json!({
            "email": email, "subject": subject, "description": "from another integration",
            "priority": 1, "status": 2,
        });
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v2/tickets", self.sim.base_url()))
            .basic_auth(self.sim.api_key(), Some("X"))
            .json(&body)
            .send()
            .await
            .expect("simulator answers");
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    }
}

/// (row, outcome) of each report line.
pub fn outcomes(report: &[Vec<String>]) -> Vec<(String, String)> {
    report.iter().map(|r| (r[0].clone(), r[3].clone())).collect()
}

#[cfg(unix)]
pub fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Polls `cond` until it holds or `timeout` passes.
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

/// A tickets CSV of `n` good rows, requesters spread over a few emails.
pub fn tickets_csv(n: usize) -> String {
    let mut s = String::from("email,subject,description,priority,status,tags\n");
    for i in 1..=n {
        s.push_str(&format!(
            "user{}@example.com,Disk full on db-{i:03},Disk usage 98% on /var,High,Open,monitoring\n",
            i % 7
        ));
    }
    s
}

/// Each ticket subject in the simulator, with how many tickets carry it.
pub fn subject_counts(app: &TestApp) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for t in app.sim.state().tickets {
        *m.entry(t.subject).or_insert(0) += 1;
    }
    m
}

impl TestApp {
    /// How many ops the journal holds in `sending` that were marked so at or after `since_ms`
    /// (ms since the epoch; the time a process was spawned): whether a `kill -9` landed while
    /// that process had a change in flight. 0 when there is no journal yet.
    pub fn sending_since(&self, since_ms: i64) -> u64 {
        let path = self.state_dir().join("journal.db");
        let Ok(db) = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        else {
            return 0;
        };
        db.query_row("SELECT COUNT(*) FROM ops WHERE state = 'sending' AND sent_at >= ?1", [since_ms], |r| {
            r.get::<_, i64>(0)
        })
        .map_or(0, |n| n.unsigned_abs())
    }
}

/// Now, in ms since the epoch (the journal's clock).
pub fn now_ms() -> i64 {
    fdsync::journal::now_ms()
}

/// What fdsync records as the approver when this test process runs a command with
/// `SUDO_USER=sudo_user`: the real account, and the sudo user only as root.
pub fn approver(sudo_user: &str) -> String {
    let uid = rustix::process::getuid().as_raw();
    let name = fdsync::account::account_name(uid).unwrap_or_default();
    match uid {
        0 => format!("{name} (uid 0, via sudo by {sudo_user})"),
        _ => format!("{name} (uid {uid})"),
    }
}
