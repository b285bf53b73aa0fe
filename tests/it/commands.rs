//! The commands beside `import` and `run`: `demo`, `retry` (the path where a failed row comes
//! back and succeeds) and `report ID`.

use crate::helpers::*;
use fdsync_sim::SimConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_to_the_end_and_its_summary_names_row_12s_bad_priority() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("demo");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_fdsync"))
        .args(["demo", "--state-dir", state.to_str().unwrap()])
        .env_remove("FDSYNC_CONFIG")
        .env_remove("FDSYNC_API_KEY")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0, "{text}");
    let row_12 = text.lines().find(|l| l.contains("12") && l.to_lowercase().contains("priority"));
    assert!(row_12.is_some(), "row 12's bad priority is named:\n{text}");
    assert!(text.contains("done in"), "the demo reached its end:\n{text}");
    // Every example file ran to its end: none held (the offboarding stays under the share of
    // agents only while the demo's simulator has enough of them), each with its report.
    assert!(!text.contains(": held:"), "an example file was held:\n{text}");
    let reports: Vec<String> = std::fs::read_dir(state.join("reports"))
        .expect("reports")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".report.csv"))
        .collect();
    assert_eq!(reports.len(), 4, "one report per example file: {reports:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_row_is_queued_again_by_retry_and_then_succeeds() {
    // No seat left on the account: full-time agents are refused (400), a row-level failure that
    // is not the row's fault. The operator buys seats, then retries.
    let app = spawn_app_with(SimConfig { seats: 0, ..fast_sim() }, "").await;
    let file = app.file("hires.csv", "email,name,ticket_scope,occasional\nann@example.com,Ann,Global,false\nbob@example.com,Bob,Group,false\n");
    let out = app.import(&file, &["--action", "create_agent"]).await;
    assert_eq!(code(&out), 1, "both rows failed: {}{}", stdout(&out), stderr(&out));
    assert!(app.report("hires").iter().all(|r| r[3] == "failed"), "{:?}", app.report("hires"));
    assert_eq!(app.sim.counters().agents_created, 0);

    app.sim.update(|c| c.seats = 1000);
    let out = app.fdsync(&["retry"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("2 "), "says how many rows were queued: {}", stdout(&out));
    let out = app.import(&file, &["--action", "create_agent"]).await;
    assert_eq!(code(&out), 0, "the retried rows succeed: {}{}", stdout(&out), stderr(&out));
    let emails: Vec<String> = app.sim.state().agents.into_iter().filter_map(|a| a.email).collect();
    assert!(emails.contains(&"ann@example.com".into()) && emails.contains(&"bob@example.com".into()));
    assert_eq!(app.sim.counters().agents_created, 2);
    let report = app.report("hires");
    assert!(report.iter().all(|r| r[3] == "created"), "the new report says created: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_prints_a_files_report_and_an_unknown_id_is_a_usage_error() {
    let app = spawn_app().await;
    let file = app.file(
        "mixed.csv",
        "email,subject,description,priority,status\na@example.com,Fine,d,Low,Open\nbad,Broken,d,Low,Open\n",
    );
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let out = app.fdsync(&["report", "1"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let printed = stdout(&out);
    let mut reader = csv::Reader::from_reader(printed.as_bytes());
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    assert_eq!(rows, app.report("mixed"), "the printed report is the file's report");
    assert_eq!(outcomes(&rows), [("1", "created"), ("2", "failed")].map(|(a, b)| (a.into(), b.into())));
    let id = app.sim.state().tickets[0].id.to_string();
    assert_eq!(rows[0][4], id);
    let out = app.fdsync(&["report", "99"]).await;
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("99"), "{}", stderr(&out));
}

/// `fdsync sim` (an API with a printed key and every agent's data) stays on loopback unless
/// `--allow-remote` says otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_a_non_loopback_listen_address_unless_allow_remote() {
    let sim = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fdsync"));
        cmd.arg("sim").args(args).env("RUST_LOG", "warn").kill_on_drop(true);
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        cmd
    };
    let wait = std::time::Duration::from_secs(20);
    let out = tokio::time::timeout(wait, sim(&["--listen", "0.0.0.0:0"]).output())
        .await
        .expect("exits")
        .expect("run");
    assert_eq!(code(&out), 2, "a refused listen address is a usage error: {}", stderr(&out));
    assert!(stderr(&out).contains("--allow-remote"), "{}", stderr(&out));
    // Loopback, or remote with the flag: it serves (and is stopped here).
    for args in [&["--listen", "127.0.0.1:0"][..], &["--listen", "0.0.0.0:0", "--allow-remote"]] {
        let mut child = sim(args).spawn().expect("spawn");
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let read = tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line);
        tokio::time::timeout(wait, read).await.expect("it starts").expect("read");
        assert!(line.contains("listening on"), "{args:?}: {line}");
        child.kill().await.expect("stop");
    }
}
