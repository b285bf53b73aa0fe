//! `/`: the overview. The daemon's state and problems, the quota with its chart, the inboxes,
//! files in progress (progress bar, ETA), held files (reason, the exact `fdsync approve N`; the
//! held SCIM changes together, with `fdsync approve --scim`), and
//! the newest files with their outcome counts. Reads the daemon's [`Live`](super::Live) status
//! and two bounded journal reads.

use super::layout::{self, approve_command, duration, outcome_counts, time};
use super::{Shared, Site, chart};
use crate::journal::{ActiveFile, FileProgress, FileView};
use crate::status_file::DaemonStatus;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

/// Newest files listed; held files listed.
const RECENT: usize = 20;
const HELD: usize = 50;

pub(super) async fn show(State(site): Shared) -> Response {
    let recent = match site.journal.recent_file_views(RECENT).await {
        Ok(r) => r,
        Err(e) => return super::journal_unavailable(e),
    };
    let held: Vec<ActiveFile> = match site.journal.active_files().await {
        Ok(a) => a.into_iter().filter(|f| f.held).collect(),
        Err(e) => return super::journal_unavailable(e),
    };
    let status = site.live.status();
    let body = html! {
        (daemon(status.as_ref()))
        (inboxes(&site, status.as_ref()))
        (quota(&site, status.as_ref()))
        (held_files(&site, &held))
        (in_progress(&site, status.as_ref()))
        (recent_files(&recent))
    };
    super::html(layout::page("Status", body))
}

fn daemon(status: Option<&DaemonStatus>) -> Markup {
    html! {
        section {
            h2 { "Daemon" }
            @match status {
                None => p class="muted" { "Starting: the first status arrives within a few seconds." },
                Some(s) => {
                    dl class="kv" {
                        dt { "state" } dd { @if s.running { span class="ok" { "running" } } @else { span class="bad" { "stopped" } } }
                        dt { "pid" } dd { (s.pid) }
                        dt { "since" } dd { (time(s.started_at)) }
                        dt { "rows pending" } dd { (s.rows_pending) }
                    }
                    @if s.problems.is_empty() { p class="ok" { "No problems." } }
                    @for p in &s.problems { div class="problem" { (p) } }
                }
            }
        }
    }
}

fn inboxes(site: &Site, status: Option<&DaemonStatus>) -> Markup {
    let dirs = status.map_or(&site.inboxes, |s| &s.inboxes);
    html! {
        section {
            h2 { "Inboxes" }
            @if dirs.is_empty() { p class="muted" { "No inbox configured." } }
            ul { @for d in dirs { li { code { (d.display()) } } } }
        }
    }
}

fn quota(site: &Site, status: Option<&DaemonStatus>) -> Markup {
    let Some(q) = status.map(|s| &s.quota) else { return html! {} };
    let num = |v: Option<u32>| v.map_or_else(|| "not known yet".to_string(), |v| v.to_string());
    let used = q.server_total.zip(q.remaining).map(|(t, r)| t.saturating_sub(r));
    let reserve = q.server_total.zip(q.budget_per_window).map(|(t, b)| t.saturating_sub(b));
    html! {
        section class="wide" {
            h2 { "Quota (per " (format!("{:.0}", q.window_secs)) "-second window)" }
            dl class="kv" {
                dt { "used this window" } dd { (num(used)) " of " (num(q.server_total)) }
                dt { "budget for fdsync" } dd { (num(q.budget_per_window)) }
                dt { "reserve for others" } dd { (num(reserve)) }
                dt { "pace now" } dd { (num(q.pace_per_window)) }
                dt { "in flight" } dd { (q.in_flight) " of " (q.concurrency_limit) }
                dt { "since start" } dd { (q.requests) " requests, " (q.rate_limited) " answered 429" }
                @if q.paused_for_ms > 0 {
                    dt { "paused" } dd class="warn" { (duration(std::time::Duration::from_millis(q.paused_for_ms))) " more (Freshdesk asked)" }
                }
            }
            (chart::svg(&site.live.chart(), q.budget_per_window, q.window_secs))
            p class="legend muted" {
                span class="swatch-req" { "■ requests" } span class="swatch-429" { "■ 429 answers" }
                span class="swatch-budget" { "┄ budget" }
            }
        }
    }
}

fn held_files(site: &Site, held: &[ActiveFile]) -> Markup {
    if held.is_empty() {
        return html! {};
    }
    let (scim, files): (Vec<&ActiveFile>, Vec<&ActiveFile>) =
        held.iter().partition(|f| f.inbox.as_deref() == Some(crate::scim::change::SOURCE));
    html! {
        section class="wide" {
            h2 { "Held for approval" }
            (held_cycle(&scim))
            @for f in files.into_iter().take(HELD) {
                div class="held" {
                    a href=(format!("/files/{}", f.id)) { "File " (f.id) ": " (f.name) }
                    p { "Held: " (f.reason.clone().unwrap_or_else(|| format!("more than {} deletes", site.max_deletes_per_file))) ". Check it, then run:" }
                    (approve_command(f.id))
                }
            }
        }
    }
}

/// The held SCIM changes, together: one decision for the identity provider's cycle.
fn held_cycle(scim: &[&ActiveFile]) -> Markup {
    let Some(newest) = scim.last() else { return html! {} };
    html! {
        div class="held" {
            @let (changes, are) = crate::scim::change::counted(scim.len());
            p { (changes) " from the identity provider " (are) " held:" }
            ul {
                @for f in scim.iter().take(HELD) {
                    @let d = crate::scim::change::describe(&f.name);
                    li { a href=(format!("/files/{}", f.id)) { "File " (f.id) ": " (d.change) " " (d.whom(|e| e.to_string())) } }
                }
                @if scim.len() > HELD { li class="muted" { "and " (scim.len() - HELD) " more" } }
            }
            p { "Held: " (newest.reason.clone().unwrap_or_else(|| "by the guards".into())) ". Check them, then run (it lists them and asks):" }
            pre class="cmd" { "fdsync approve --scim" }
        }
    }
}

fn in_progress(site: &Site, status: Option<&DaemonStatus>) -> Markup {
    let files: Vec<&FileProgress> = status
        .map(|s| s.files_in_progress.iter().filter(|f| f.state != "held").collect())
        .unwrap_or_default();
    let now = crate::journal::now_ms();
    html! {
        section class="wide" {
            h2 { "In progress" }
            @if files.is_empty() { p class="muted" { "Nothing running." } }
            @else {
                table {
                    tr { th { "file" } th { "progress" } th class="num" { "done" } th class="num" { "failed" } th class="num" { "pending" } th { "ETA" } }
                    @for f in files {
                        @let finished = f.done + f.failed;
                        tr {
                            td { a href=(format!("/files/{}", f.id)) { (f.id) " " (f.name) } br; span class="muted" { (f.state) } }
                            td { progress value=(finished) max=(f.total.max(1)) { (finished) " of " (f.total) } }
                            td class="num" { (f.done) } td class="num" { (f.failed) } td class="num" { (f.pending) }
                            td class="eta" { (site.live.eta(f.id, finished, f.pending, now).map_or_else(|| "—".to_string(), duration)) }
                        }
                    }
                }
            }
        }
    }
}

fn recent_files(recent: &[FileView]) -> Markup {
    html! {
        section class="wide" {
            h2 { "Recent files" }
            @if recent.is_empty() { p class="muted" { "No file taken yet." } }
            @else {
                table {
                    tr { th class="num" { "id" } th { "name" } th { "state" } th { "rows" } th class="hide-narrow" { "updated" } }
                    @for v in recent {
                        tr {
                            td class="num" { (v.file.id) }
                            td { a href=(format!("/files/{}", v.file.id)) { (v.file.name) } }
                            td { (v.file.state.as_str()) }
                            td { (outcome_counts(&v.by_outcome)) }
                            td class="hide-narrow" { (time(v.file.updated_at)) }
                        }
                    }
                }
            }
        }
    }
}
