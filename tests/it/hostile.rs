//! Hostile input fails closed (issue 9, items 5–7): a 200 MB field or header line is refused with
//! bounded memory, the state folder is private whatever the umask, a world-readable secret file
//! is refused, and an inbox holding a symlink, a FIFO or a name with a newline neither hangs the
//! daemon nor forges a log line. Big inputs are written in chunks, never built in memory here.

use crate::helpers::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const MIB: usize = 1 << 20;
/// The test's generous bound; `benches/rss.sh` is the real measure (≤ 100 MB).
const MAX_RSS_KB: u64 = 150 * 1024;

/// Writes `head`, then `mib` MiB of `fill`, then `tail`, in 1 MiB chunks.
fn write_big(path: &Path, head: &str, fill: u8, mib: usize, tail: &str) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    f.write_all(head.as_bytes()).expect("write");
    let chunk = vec![fill; MIB];
    for _ in 0..mib {
        f.write_all(&chunk).expect("write");
    }
    f.write_all(tail.as_bytes()).expect("write");
    f.flush().expect("flush");
}

/// Runs the command to its end, polling its peak RSS (`VmHWM`, kB); returns (output, peak).
fn run_measured(mut cmd: Command) -> (std::process::Output, u64) {
    let out_path = tempfile::NamedTempFile::new().expect("tmp");
    let err_path = tempfile::NamedTempFile::new().expect("tmp");
    cmd.stdout(out_path.reopen().expect("reopen")).stderr(err_path.reopen().expect("reopen"));
    let mut child = cmd.stdin(Stdio::null()).spawn().expect("spawn");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kb) = text.lines().find_map(|l| l.strip_prefix("VmHWM:"))
        {
            peak = peak.max(kb.trim().trim_end_matches("kB").trim().parse().unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "fdsync did not finish");
        std::thread::sleep(Duration::from_millis(10));
    };
    let read = |p: &tempfile::NamedTempFile| std::fs::read(p.path()).expect("read");
    (std::process::Output { status, stdout: read(&out_path), stderr: read(&err_path) }, peak)
}

fn fdsync_cmd(app: &TestApp, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fdsync"));
    cmd.arg("--config").arg(&app.config).args(args);
    cmd.env_remove("FDSYNC_API_KEY").env_remove("FDSYNC_CONFIG").env("RUST_LOG", "warn");
    cmd
}

const TICKET_HEAD: &str = "email,subject,description,priority,status\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_field_is_an_invalid_row_the_next_row_runs_and_memory_stays_bounded() {
    let app = spawn_app().await;
    let path = app.dir.path().join("huge-field.csv");
    let head = format!("{TICKET_HEAD}a@example.com,big,\"");
    write_big(&path, &head, b'x', 200, "\",low,open\nb@example.com,small,d,low,open\n");
    let cmd = fdsync_cmd(&app, &["import", path.to_str().unwrap(), "--action", "create_ticket"]);
    let (out, peak_kb) = tokio::task::spawn_blocking(move || run_measured(cmd)).await.unwrap();
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("huge-field");
    assert_eq!(report.len(), 2, "{report:?}");
    assert_eq!((report[0][0].as_str(), report[0][3].as_str()), ("1", "failed"));
    assert!(report[0][7].contains("larger than 1048576 bytes"), "{:?}", report[0][7]);
    assert!(report[0][7].len() < 300, "the message does not echo the field");
    assert_eq!((report[1][0].as_str(), report[1][3].as_str()), ("2", "created"));
    assert_eq!(app.sim.state().tickets.len(), 1, "only the small row is sent");
    assert!(stdout(&out).len() < 2000, "the summary does not echo the field");
    assert!(peak_kb < MAX_RSS_KB, "peak RSS {peak_kb} kB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_header_line_rejects_the_file_with_bounded_memory() {
    let app = spawn_app().await;
    let path = app.dir.path().join("huge-header.csv");
    write_big(&path, "email,", b'h', 200, "\na@example.com,x\n");
    let cmd = fdsync_cmd(&app, &["import", path.to_str().unwrap(), "--action", "get_agent"]);
    let (out, peak_kb) = tokio::task::spawn_blocking(move || run_measured(cmd)).await.unwrap();
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}{}", stderr(&out));
    assert!(text.contains("rejected") && text.contains("header row is larger than 65536 bytes"), "{text}");
    assert!(text.len() < 1000, "the message does not echo the header");
    assert!(peak_kb < MAX_RSS_KB, "peak RSS {peak_kb} kB");
}

/// Every entry under `dir` whose mode is not 0700 (folders) / 0600 (files); symlinks skipped.
fn loose_modes(dir: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let meta = entry.path().symlink_metadata().expect("lstat");
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            if mode != 0o700 {
                bad.push(format!("{} {mode:o}", entry.path().display()));
            }
            bad.extend(loose_modes(&entry.path()));
        } else if !meta.file_type().is_symlink() && mode != 0o600 {
            bad.push(format!("{} {mode:o}", entry.path().display()));
        }
    }
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_umask_022_the_state_folder_is_0700_and_every_file_in_it_0600() {
    let app = spawn_app().await;
    let input = app.file("t.csv", &tickets_csv(3));
    let bad = app.file("bad.json", "[{");
    let script = "umask 022; exec \"$0\" \"$@\"";
    let out = tokio::process::Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_fdsync"), "--config"])
        .arg(&app.config)
        .args(["import", input.to_str().unwrap(), bad.to_str().unwrap(), "--action", "create_ticket"])
        .env_remove("FDSYNC_API_KEY")
        .output()
        .await
        .expect("run");
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(loose_modes(&app.state_dir()), Vec::<String>::new(), "after import");

    // The daemon under the same umask: -wal and -shm exist while it runs, files are moved in.
    let inbox = app.dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    app.write_config(&format!("[[inbox]]\ndir = \"{}\"\naction = \"create_ticket\"\n", inbox.display()));
    let log = app.dir.path().join("daemon.log");
    let mut cmd = tokio::process::Command::new("sh");
    cmd.args(["-c", script, env!("CARGO_BIN_EXE_fdsync"), "--config"]).arg(&app.config).arg("run");
    cmd.env_remove("FDSYNC_API_KEY").env("RUST_LOG", "info").kill_on_drop(true);
    let mut daemon = cmd.stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    for (name, text) in [("good.csv", tickets_csv(2)), ("broken.json", "[{".to_string())] {
        std::fs::write(app.dir.path().join(name), text).unwrap();
        std::fs::rename(app.dir.path().join(name), inbox.join(name)).unwrap();
    }
    let state = app.state_dir();
    let settled = wait_until(WAIT, || {
        listing(&state.join("done")).iter().any(|n| n.ends_with("good.csv"))
            && listing(&state.join("failed")).iter().any(|n| n.ends_with("broken.json.error.txt"))
            && state.join("status.json").exists()
    })
    .await;
    assert!(settled, "{}", std::fs::read_to_string(&log).unwrap_or_default());
    assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o7777, 0o700);
    let names = listing(&state);
    for want in ["journal.db", "journal.db-wal", "journal.db-shm", "run.lock", "reports", "status.json"] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    assert_eq!(loose_modes(&state), Vec::<String>::new(), "while the daemon runs");
    daemon.start_kill().unwrap();
    let _ = daemon.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_file_readable_by_others_is_refused_unless_under_credentials_directory() {
    let app = spawn_app().await;
    let creds = app.dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    let key = creds.join("api_key");
    std::fs::write(&key, app.sim.api_key()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = std::fs::read_to_string(&app.config).unwrap();
    let text = text.replace(
        &format!("api_key = \"{}\"", app.sim.api_key()),
        &format!("api_key_file = \"{}\"", key.display()),
    );
    std::fs::write(&app.config, text).unwrap();
    let out = app.fdsync(&["status"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("readable by other users"), "{}", stderr(&out));
    let out = app.command(&["status"]).env("CREDENTIALS_DIRECTORY", &creds).output().await.unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_syntax_error_names_line_and_key_but_never_a_secret() {
    let app = spawn_app().await;
    let text = std::fs::read_to_string(&app.config).unwrap().replace("api_key =", "api_kye =");
    std::fs::write(&app.config, text).unwrap();
    let out = app.fdsync(&["status"]).await;
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("key `auth.api_kye`") && err.contains("line "), "{err}");
    assert!(!err.contains(&app.sim.api_key()), "the secret leaked: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refuses_a_symlink() {
    let app = spawn_app().await;
    let target = app.file("t.csv", &tickets_csv(1));
    let link = app.dir.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = app.import(&link, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("symbolic link"), "{}", stdout(&out));
    assert_eq!(app.sim.state().tickets.len(), 0);
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// `fdsync run` with stderr in a log file; killed when dropped.
fn start_daemon(app: &TestApp, log: &Path) -> tokio::process::Child {
    let mut cmd = app.command(&["run"]);
    cmd.env("RUST_LOG", "info").stderr(std::fs::File::create(log).expect("log"));
    cmd.spawn().expect("spawn fdsync run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_fifos_and_newline_names_in_an_inbox_fail_closed_without_forged_log_lines() {
    let app = spawn_app().await;
    let inbox: PathBuf = app.dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    app.write_config(&format!(
        "[[inbox]]\ndir = \"{}\"\naction = \"create_ticket\"\nsettle_secs = 0.2\n",
        inbox.display()
    ));
    let log = app.dir.path().join("daemon.log");
    let mut daemon = start_daemon(&app, &log);
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(wait_until(WAIT, || read_log().contains("fdsync run is ready")).await, "{}", read_log());

    let outside = app.file("outside.csv", &tickets_csv(1));
    std::os::unix::fs::symlink(&outside, inbox.join("link.csv")).unwrap();
    assert!(Command::new("mkfifo").arg(inbox.join("pipe.csv")).status().unwrap().success());
    let evil = "evil\nERROR forged line.csv";
    std::fs::write(app.dir.path().join("staged"), tickets_csv(2)).unwrap();
    std::fs::rename(app.dir.path().join("staged"), inbox.join(evil)).unwrap();

    let failed = app.state_dir().join("failed");
    let want = ["link.csv", "link.csv.error.txt", "pipe.csv", "pipe.csv.error.txt"];
    let ok = wait_until(WAIT, || want.iter().all(|w| listing(&failed).contains(&w.to_string()))).await;
    assert!(ok, "failed/: {:?}\n{}", listing(&failed), read_log());
    let note = std::fs::read_to_string(failed.join("pipe.csv.error.txt")).unwrap();
    assert!(note.contains("FIFO"), "{note}");
    assert!(std::fs::read_to_string(failed.join("link.csv.error.txt")).unwrap().contains("symbolic link"));
    assert!(std::fs::symlink_metadata(failed.join("link.csv")).unwrap().file_type().is_symlink());

    // The daemon did not hang on the FIFO: the newline-named file and a later one are processed.
    let done = app.state_dir().join("done");
    assert!(wait_until(WAIT, || listing(&done).iter().any(|n| n.contains("evil"))).await, "{}", read_log());
    std::fs::write(app.dir.path().join("staged"), tickets_csv(1)).unwrap();
    std::fs::rename(app.dir.path().join("staged"), inbox.join("after.csv")).unwrap();
    assert!(
        wait_until(WAIT, || listing(&done).iter().any(|n| n.ends_with("after.csv"))).await,
        "{}",
        read_log()
    );

    let text = read_log();
    assert!(text.contains("evil\\nERROR forged line.csv"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("ERROR forged")), "a forged line: {text}");
    assert!(outside.exists(), "the symlink's target is untouched");
    daemon.start_kill().unwrap();
    let _ = daemon.wait().await;
}
