//! Crash safety with real processes: `kill -9` at random moments, SIGINT, then a rerun. The
//! simulator must end up holding exactly one ticket per row.

use crate::helpers::*;
use fdsync_sim::SimConfig;
use std::time::Duration;

/// The seed of the kill moments: `FDSYNC_CRASH_SEED` to replay a failure, else a fresh one. It is
/// printed (and named in every assertion) so a failing run can be replayed.
fn crash_seed() -> u64 {
    let seed = match std::env::var("FDSYNC_CRASH_SEED") {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| panic!("FDSYNC_CRASH_SEED={text:?} is not a u64")),
        Err(_) => fastrand::u64(..),
    };
    eprintln!("crash seed {seed}: replay with FDSYNC_CRASH_SEED={seed}");
    seed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_then_a_rerun_leaves_exactly_one_ticket_per_row() {
    let sim = SimConfig { latency_ms: Some((100, 300)), drop_rate: 0.05, seed: 11, ..fast_sim() };
    let app = spawn_app_with(sim, "[limits]\nconcurrency = 2\n").await;
    let rows = 80;
    let file = app.file("nightly.csv", &tickets_csv(rows));
    let seed = crash_seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    // A kill proves something only if it lands while a change is in flight: each kill counts
    // whether the journal then held an op `sending` that this process marked (not start-up).
    let (mut kills, mut mid_send) = (0, 0);
    for _ in 0..6 {
        let spawned = now_ms();
        let creates = || app.sim.request_log().iter().filter(|r| *r == "POST /api/v2/tickets").count();
        let seen = creates();
        let mut child = app
            .command(&["import", file.to_str().unwrap(), "--action", "create_ticket"])
            .spawn()
            .expect("spawn import");
        // The moment is random, counted from this run's first create (start-up on a loaded
        // machine can take longer than the whole window).
        let started = async {
            while creates() == seen {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(rng.u64(50..900))).await;
        };
        tokio::select! {
            status = child.wait() => {
                // Finished before the kill: fine, the rerun below must then be a no-op.
                status.expect("wait");
                break;
            }
            _ = started => {
                child.start_kill().expect("kill -9");
                child.wait().await.expect("reap");
                kills += 1;
                mid_send += u32::from(app.sending_since(spawned) > 0);
            }
        }
    }
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "seed {seed}: {}{}", stdout(&out), stderr(&out));
    let counts = subject_counts(&app);
    assert_eq!(counts.len(), rows, "seed {seed}: every row created once");
    assert!(counts.values().all(|n| *n == 1), "seed {seed}: duplicates {counts:?}");
    eprintln!("{mid_send} of {kills} kills found an op `sending`");
    assert!(kills >= 5, "seed {seed}: only {kills} kills landed before the import finished");
    assert!(2 * mid_send >= kills, "seed {seed}: only {mid_send} of {kills} kills found an op `sending`");
    let report = app.report("nightly");
    assert_eq!(report.len(), rows);
    assert!(report.iter().all(|r| r[3] == "created"), "seed {seed}: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_cleanly_and_the_same_command_resumes() {
    let sim = SimConfig { latency_ms: Some((100, 200)), ..fast_sim() };
    let app = spawn_app_with(sim, "[limits]\nconcurrency = 1\n").await;
    let rows = 40;
    let file = app.file("t.csv", &tickets_csv(rows));
    let child = app
        .command(&["import", file.to_str().unwrap(), "--action", "create_ticket"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().expect("pid");
    assert!(wait_until(Duration::from_secs(20), || app.sim.state().tickets.len() >= 5).await);
    let status = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    assert!(stderr(&out).contains("resume"), "{}", stderr(&out));
    let created = app.sim.state().tickets.len();
    assert!(created < rows, "interrupted before the end ({created})");
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let counts = subject_counts(&app);
    assert_eq!(counts.len(), rows);
    assert!(counts.values().all(|n| *n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sender_on_the_same_state_folder_is_refused() {
    let sim = SimConfig { latency_ms: Some((200, 300)), ..fast_sim() };
    let app = spawn_app_with(sim, "[limits]\nconcurrency = 1\n").await;
    let file = app.file("t.csv", &tickets_csv(20));
    let mut first =
        app.command(&["import", file.to_str().unwrap(), "--action", "create_ticket"]).spawn().unwrap();
    assert!(wait_until(Duration::from_secs(20), || !app.sim.state().tickets.is_empty()).await);
    let other = app.file("u.csv", &tickets_csv(2).replace("Disk", "Fan"));
    let out = app.import(&other, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("another fdsync"), "{}", stderr(&out));
    assert_eq!(first.wait().await.unwrap().code(), Some(0));
    assert_eq!(app.sim.state().tickets.len(), 20, "only the first import sent anything");
}
