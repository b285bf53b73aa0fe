//! A closed stdout (`fdsync audit | head -1`) ends a command quietly: exit 0 or 141, no panic
//! (issue 20, item 11).

use crate::helpers::*;
use std::process::Stdio;

/// Runs `fdsync ARGS` with stdout a pipe whose reader is already closed.
async fn into_closed_pipe(app: &TestApp, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    // `spawn`, not `output`: tokio's `output` would replace stdout with a pipe of its own.
    let child = app.command(args).stdout(Stdio::from(writer)).stderr(Stdio::piped()).spawn().expect("spawn");
    child.wait_with_output().await.expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_and_status_into_a_closed_pipe_end_quietly() {
    let app = spawn_app().await;
    let file = app.file("tickets.csv", &tickets_csv(600));
    assert_eq!(code(&app.import(&file, &["--action", "create_ticket"]).await), 0);
    let every = [
        &["audit"][..],
        &["status"],
        &["audit", "--format", "csv"],
        &["audit", "--verify"],
        &["completions", "bash"],
    ];
    for args in every {
        let out = into_closed_pipe(&app, args).await;
        assert!(matches!(code(&out), 0 | 141), "{args:?}: {:?} {}", out.status, stderr(&out));
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
    // And through a real `| head -1`: 600 changes are more than a pipe holds.
    for cmd in ["audit", "status"] {
        let script = format!(
            "'{}' --config '{}' {cmd} | head -1; echo \"status=${{PIPESTATUS[0]}}\" >&2",
            env!("CARGO_BIN_EXE_fdsync"),
            app.config.display()
        );
        let out = tokio::process::Command::new("bash").args(["-c", &script]).output().await.expect("bash");
        let err = stderr(&out);
        assert_eq!(stdout(&out).lines().count(), 1, "{cmd}: {}", stdout(&out));
        assert!(err.trim() == "status=0" || err.trim() == "status=141", "{cmd}: {err}");
    }
}
