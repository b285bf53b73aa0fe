//! The status page of `fdsync run`, end to end: the real daemon against the simulator with files
//! in every state (done, failed rows, held, in progress), one of them named and filled with HTML,
//! loaded in headless Chromium (the rendered DOM is asserted on, screenshots are saved under
//! `<target>/screenshots/`), and its plain HTTP answers checked with reqwest.
//!
//! Chromium is required: without it the browser test fails and says how to install it (`.ci/run`
//! installs it when missing).

use crate::daemon::{Daemon, WAIT, drop_file, in_state, inbox, inbox_toml};
use crate::helpers::*;
use fdsync_sim::SimConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;

const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>.csv";
const HOSTILE_SUBJECT: &str = "<script>alert(1)</script>";
const HOSTILE_EMAIL: &str = "\"><img src=x onerror=alert(2)>";

/// A daemon with a ticket inbox and an offboarding inbox (at most 1 delete per file), its page
/// on a free loopback port, and three files finished: one done, one (the hostile one) with a
/// failed row, one held.
struct Scene {
    app: TestApp,
    daemon: Daemon,
    base: String,
    tickets: PathBuf,
}

impl Scene {
    async fn start(extra: &str) -> Scene {
        let app = spawn_app_with(SimConfig { agents: 3, ..fast_sim() }, "").await;
        let (tickets, leavers) = (inbox(&app, "tickets"), inbox(&app, "offboarding"));
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        app.write_config(&format!(
            "{}{}[safety]\nmax_deletes_per_file = 1\n[http]\nlisten = \"127.0.0.1:{port}\"\n{extra}",
            inbox_toml(&tickets, "create_ticket", 0.0),
            inbox_toml(&leavers, "delete_agent", 0.0),
        ));
        let daemon = Daemon::ready(&app).await;
        drop_file(&app, &tickets, "alerts.csv", &tickets_csv(3));
        let hostile = format!(
            "email,subject,description,priority,status\n\
             ok@example.com,{HOSTILE_SUBJECT},<b>bold</b>,Low,Open\n\
             \"{}\",Broken,desc,Low,Open\n",
            HOSTILE_EMAIL.replace('"', "\"\"")
        );
        drop_file(&app, &tickets, HOSTILE_NAME, &hostile);
        drop_file(&app, &leavers, "leavers.csv", "email\nagent0001@example.com\nagent0002@example.com\n");
        let settled =
            wait_until(WAIT, || in_state(&app, "done").len() == 2 && in_state(&app, "held").len() == 1);
        assert!(
            settled.await,
            "done {:?} held {:?}\n{}",
            in_state(&app, "done"),
            in_state(&app, "held"),
            daemon.log()
        );
        Scene { app, daemon, base: format!("http://127.0.0.1:{port}"), tickets }
    }

    /// The journal id of the file whose state-folder name ends with `name`.
    fn id_of(&self, folder: &str, name: &str) -> i64 {
        let stored = in_state(&self.app, folder).into_iter().find(|n| n.ends_with(name));
        let stored = stored.unwrap_or_else(|| panic!("{name} not in {folder}"));
        stored.split('-').next().and_then(|id| id.parse().ok()).expect("id prefix")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.base)).await.expect("the page answers")
    }

    async fn text(&self, path: &str) -> String {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        resp.text().await.expect("body")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_chromium_shows_every_state_and_the_hostile_files_text_only_as_text() {
    let chromium = Chromium::find();
    let s = Scene::start("[limits]\nconcurrency = 2\n").await;
    // In progress: a slow Freshdesk and 200 rows keep a file running while the browser looks.
    s.app.sim.update(|c| c.latency_ms = Some((400, 500)));
    drop_file(&s.app, &s.tickets, "big.csv", &tickets_csv(200));
    let mut overview = String::new();
    for _ in 0..200 {
        overview = s.text("/").await;
        if overview.contains("class=\"eta\">") && !overview.contains("class=\"eta\">—") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(overview.contains("big.csv") && overview.contains("class=\"eta\""), "{overview}");
    let eta = eta_secs(&overview).unwrap_or_else(|| panic!("a real ETA, not the placeholder: {overview}"));
    // 200 rows at 400-500 ms each, two at a time: well under an hour, more than nothing.
    assert!((1..3600).contains(&eta), "ETA {eta} s: {overview}");
    let (held, hostile) = (s.id_of("held", "leavers.csv"), s.id_of("done", HOSTILE_NAME));
    let shots = screenshots_dir();
    let dom = chromium.dump_dom(&format!("{}/", s.base)).await;
    assert!(dom.contains(&format!("fdsync approve {held}")), "{dom}");
    assert!(dom.contains("<progress"), "a file in progress has its bar: {dom}");
    assert!(dom.contains("<svg") && dom.contains("bar-req"), "the quota chart: {dom}");
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;.csv"), "the name, as text: {dom}");
    assert_no_markup_from_the_file(&dom);
    let page = chromium.dump_dom(&format!("{}/files/{hostile}", s.base)).await;
    assert!(page.contains("is not a valid email address"), "the failed row's message: {page}");
    assert!(
        page.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;")
            || page.contains("\"&gt;&lt;img src=x onerror=alert(2)&gt;"),
        "{page}"
    );
    assert!(page.contains(&format!("/files/{hostile}/report.csv")), "the report link: {page}");
    assert_no_markup_from_the_file(&page);
    chromium.screenshot(&format!("{}/", s.base), &shots.join("status-overview.png"), (1280, 1600)).await;
    chromium.screenshot(&format!("{}/", s.base), &shots.join("status-overview-phone.png"), (390, 844)).await;
    let file_page = format!("{}/files/{hostile}", s.base);
    chromium.screenshot(&file_page, &shots.join("status-file.png"), (1280, 1600)).await;
    assert_eq!(s.daemon.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_answers_only_get_with_its_security_headers_and_api_status_is_fdsync_status_json() {
    let s = Scene::start("").await;
    for path in ["/", "/style.css", "/api/status", "/metrics", "/files/1"] {
        let resp = s.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        assert_eq!(h["content-security-policy"], "default-src 'self'", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
    let client = reqwest::Client::new();
    for path in ["/", "/api/status", "/files/1", "/metrics"] {
        let resp = client.post(format!("{}{path}", s.base)).body("x").send().await.expect("answer");
        assert_eq!(resp.status(), 405, "POST {path}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    }
    let delete = client.delete(format!("{}/files/1", s.base)).send().await.expect("answer");
    assert_eq!(delete.status(), 405);
    assert_eq!(s.get("/files/9999").await.status(), 404);
    assert_eq!(s.get("/files/9999/report.csv").await.status(), 404);
    assert_eq!(s.get("/nowhere").await.status(), 404);
    assert_downloads_come_only_from_the_reports_folder(&s).await;
    assert_api_status_is_the_clis(&s).await;
    assert_eq!(s.daemon.stop().await, 0);
}

async fn assert_downloads_come_only_from_the_reports_folder(s: &Scene) {
    let done = s.id_of("done", "alerts.csv");
    let reports = s.app.state_dir().join("reports");
    let report = std::fs::read_to_string(reports.join(format!("{done}-alerts.report.csv"))).expect("report");
    let resp = s.get(&format!("/files/{done}/report.csv")).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"].to_str().expect("ascii").contains("attachment"));
    assert_eq!(resp.text().await.expect("body"), report);
    // No rejects file yet: 404; once it is beside the report, it is served.
    assert_eq!(s.get(&format!("/files/{done}/rejects.csv")).await.status(), 404);
    let rejects = reports.join(format!("{done}-alerts.rejects.csv"));
    std::fs::write(&rejects, "email,fdsync_error\nx,bad\n").expect("rejects");
    assert_eq!(s.text(&format!("/files/{done}/rejects.csv")).await, "email,fdsync_error\nx,bad\n");
    // A link out of the reports folder is not followed.
    std::fs::remove_file(&rejects).expect("rm");
    std::os::unix::fs::symlink(&s.app.config, &rejects).expect("symlink");
    assert_eq!(s.get(&format!("/files/{done}/rejects.csv")).await.status(), 404);
    // A held file has no report yet.
    let held = s.id_of("held", "leavers.csv");
    assert_eq!(s.get(&format!("/files/{held}/report.csv")).await.status(), 404);
}

/// `/api/status` and `fdsync status --json` read the same journal and `status.json`; the daemon
/// rewrites that file every 2 s, so the two are compared until one pair falls in the same tick.
async fn assert_api_status_is_the_clis(s: &Scene) {
    let mut last = None;
    for _ in 0..5 {
        let api: serde_json::Value = s.get("/api/status").await.json().await.expect("json");
        let out = s.app.fdsync(&["status", "--json"]).await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let cli: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("cli json");
        if api == cli {
            assert_eq!(api["files"].as_array().map(Vec::len), Some(3), "{api}");
            assert!(api["daemon"]["running"].as_bool().unwrap_or(false), "{api}");
            return;
        }
        last = Some((api, cli));
    }
    panic!("/api/status never matched `fdsync status --json`: {last:#?}");
}

/// No element from the file's text: the page itself has no image and no script at all.
fn assert_no_markup_from_the_file(dom: &str) {
    let lower = dom.to_lowercase();
    assert!(!lower.contains("<img"), "an <img> element: {dom}");
    assert!(!lower.contains("<script"), "a <script> element: {dom}");
    assert!(!lower.contains("<b>bold"), "a <b> element from a cell: {dom}");
}

/// `<target>/screenshots/` (`CARGO_TARGET_DIR` if set, else `target/`).
fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots folder");
    dir
}

/// Headless Chromium, each run with a fresh profile and nothing reaching the network but the page.
struct Chromium {
    bin: PathBuf,
}

impl Chromium {
    /// Chromium, or a failure that says how to install it.
    fn find() -> Chromium {
        let bin = PathBuf::from("chromium");
        match std::process::Command::new(&bin).arg("--version").output() {
            Ok(o) if o.status.success() => Chromium { bin },
            other => panic!(
                "chromium is needed for the status page's browser test and is not usable ({other:?}): \
                 install it with `apt-get install -y chromium` (.ci/run does this when it is missing)"
            ),
        }
    }

    async fn run(&self, args: &[String]) -> String {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output()).await;
        let out = out.expect("chromium finishes within 60 s").expect("chromium runs");
        assert!(out.status.success(), "chromium failed: {}", stderr(&out));
        stdout(&out)
    }

    async fn dump_dom(&self, url: &str) -> String {
        self.run(&["--dump-dom".into(), url.into()]).await
    }

    async fn screenshot(&self, url: &str, path: &Path, (w, h): (u32, u32)) {
        let _ = std::fs::remove_file(path);
        let args = [format!("--screenshot={}", path.display()), format!("--window-size={w},{h}"), url.into()];
        self.run(&args).await;
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "no screenshot at {} ({size} bytes)", path.display());
    }
}

/// The ETA cell of the overview in seconds (`42 s`, `3 min 05 s`, `1 h 02 min`); `None` for the
/// placeholder or anything else.
fn eta_secs(overview: &str) -> Option<u64> {
    let cell = overview.split("class=\"eta\">").nth(1)?.split('<').next()?;
    let words: Vec<&str> = cell.split_whitespace().collect();
    let n = |i: usize| words.get(i).and_then(|w| w.parse::<u64>().ok());
    match words.as_slice() {
        [_, "s"] => n(0),
        [_, "min", _, "s"] => Some(n(0)? * 60 + n(2)?),
        [_, "h", _, "min"] => Some(n(0)? * 3600 + n(2)? * 60),
        _ => None,
    }
}
