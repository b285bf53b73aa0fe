//! Progress of a one-shot import: a bar per file on a terminal (done, failed, remaining, rate,
//! ETA), a log line every few seconds otherwise. Reads the journal; never slows the engine.

use crate::engine::pacer::Pacer;
use crate::journal::Journal;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(super) struct Progress {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Progress {
    pub(super) async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

pub(super) fn spawn(journal: Journal, files: Vec<i64>, pacer: Arc<Pacer>) -> Progress {
    let (stop, mut stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        let tty = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let style =
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let bars: Vec<ProgressBar> = files
            .iter()
            .map(|id| {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(style.clone());
                bar.set_prefix(format!("file {id}"));
                bar
            })
            .collect();
        let mut last_log = std::time::Instant::now();
        loop {
            let mut lines = Vec::new();
            let wait = long_wait(&pacer);
            for (id, bar) in files.iter().zip(&bars) {
                if let Ok(c) = journal.row_counts(*id).await {
                    bar.set_length(c.total);
                    bar.set_position(c.done + c.failed);
                    let pending = c.pending + c.sending;
                    bar.set_message(format!(
                        "failed {} pending {pending}{}",
                        c.failed,
                        wait.clone().unwrap_or_default()
                    ));
                    lines.push(format!(
                        "file {id}: {}/{} done, {} failed",
                        c.done + c.failed,
                        c.total,
                        c.failed
                    ));
                }
            }
            if !tty && last_log.elapsed() >= Duration::from_secs(5) {
                let q = pacer.snapshot();
                tracing::info!(
                    progress = %lines.join("; "),
                    budget_per_window = ?q.budget_per_window,
                    remaining = ?q.remaining,
                    in_flight = q.in_flight,
                    concurrency = q.concurrency_limit,
                    rate_limited = q.rate_limited,
                    waiting = wait.as_deref().unwrap_or(""),
                    "Import progress."
                );
                last_log = std::time::Instant::now();
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = &mut stopped => break,
            }
        }
        for bar in bars {
            bar.finish_and_clear();
        }
    });
    Progress { stop, task }
}

/// "; waiting N s (Freshdesk asked)" while every request waits longer than a minute.
fn long_wait(pacer: &Pacer) -> Option<String> {
    let ms = pacer.snapshot().paused_for_ms;
    let wait = Duration::from_millis(ms);
    (wait > crate::engine::pacer::LONG_WAIT)
        .then(|| format!("; waiting {} s (Freshdesk asked)", wait.as_secs()))
}
