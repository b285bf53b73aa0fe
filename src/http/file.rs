//! `/files/{id}`: one file, its rows by outcome, its failed rows with their messages (the first
//! [`FAILED_SHOWN`], with a count of the rest), and links to `/files/{id}/report.csv` and
//! `/files/{id}/rejects.csv`. A download is only ever a file in `<state>/reports/`, named after
//! the journal's report path (its file name, never its folder, never anything from the URL but
//! the numeric id), and streamed, not read whole.

use super::layout::{self, approve_command, outcome_counts, time};
use super::{Shared, Site, not_found};
use crate::journal::{FileDetail, FileRecord, FileState};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::path::PathBuf;

/// Failed rows listed on the page; the report has them all.
const FAILED_SHOWN: usize = 200;

/// Which file beside the report.
#[derive(Clone, Copy)]
enum Kind {
    Report,
    Rejects,
}

pub(super) async fn show(State(site): Shared, Path(id): Path<i64>) -> Response {
    let detail = match site.journal.file_detail(id, FAILED_SHOWN).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(&format!("There is no file {id} in the journal.")),
        Err(e) => return super::journal_unavailable(e),
    };
    let f = &detail.view.file;
    let title = format!("File {}", f.id);
    let body = html! {
        (summary(&site, f))
        section {
            h2 { "Rows by outcome" }
            p { (outcome_counts(&detail.view.by_outcome)) }
            (downloads(&site, f))
        }
        (failed_rows(&detail))
    };
    super::html(layout::page(&title, body))
}

fn summary(site: &Site, f: &FileRecord) -> Markup {
    html! {
        section {
            h2 { (f.name) }
            dl class="kv" {
                dt { "state" } dd { (f.state.as_str()) }
                dt { "rows" } dd { (f.rows_total) }
                @if let Some(inbox) = &f.inbox { dt { "inbox" } dd { code { (inbox) } } }
                dt { "received" } dd { (time(f.created_at)) }
                dt { "updated" } dd { (time(f.updated_at)) }
                dt { "sha256" } dd { code { (f.sha256.get(..16).unwrap_or(&f.sha256)) "…" } }
                @if let Some(of) = f.duplicate_of { dt { "duplicate of" } dd { a href=(format!("/files/{of}")) { "file " (of) } } }
                @if let Some(by) = &f.approved_by {
                    dt { "approved by" } dd { (by) @if let Some(at) = f.approved_at { ", " (time(at)) } }
                    @if let Some(note) = &f.approval_note { dt { "note" } dd { (note) } }
                }
            }
            @if f.state == FileState::Held {
                div class="held" {
                    p { "Held: " (f.error.clone().unwrap_or_else(|| format!("more than {} deletes", site.max_deletes_per_file))) ". Check it, then run:" }
                    (approve_command(f.id))
                }
            } @else if let Some(e) = &f.error { div class="problem" { (e) } }
        }
    }
}

fn downloads(site: &Site, f: &FileRecord) -> Markup {
    let report = located(site, f, Kind::Report).is_some();
    let rejects = located(site, f, Kind::Rejects).is_some();
    html! {
        p class="downloads" {
            @if report { a href=(format!("/files/{}/report.csv", f.id)) download { "Report (CSV)" } }
            @else { span class="muted" { "No report yet (written when every row is final)." } }
            @if rejects { a href=(format!("/files/{}/rejects.csv", f.id)) download { "Rejected rows, to fix and drop again" } }
        }
    }
}

fn failed_rows(d: &FileDetail) -> Markup {
    let more = d.failed_total.saturating_sub(d.failed.len() as u64);
    html! {
        section class="wide" {
            h2 { "Failed rows (" (d.failed_total) ")" }
            @if d.failed.is_empty() { p class="ok" { "No failed rows." } }
            @else {
                table {
                    tr { th class="num" { "row" } th class="hide-narrow" { "action" } th { "key" } th class="hide-narrow" { "HTTP" } th class="hide-narrow" { "code" } th { "message" } }
                    @for r in &d.failed {
                        tr {
                            td class="num" { (r.row) }
                            td class="hide-narrow nowrap" { (r.action) }
                            td { (r.key) }
                            td class="hide-narrow" { @if let Some(s) = r.http_status { (s) } }
                            td class="hide-narrow nowrap" { @if let Some(c) = &r.error_code { (c) } }
                            td { (r.message.as_deref().unwrap_or("failed")) }
                        }
                    }
                }
                @if more > 0 { p class="muted" { "… and " (more) " more failed rows in the report." } }
            }
        }
    }
}

pub(super) async fn report(State(site): Shared, Path(id): Path<i64>) -> Response {
    download(&site, id, Kind::Report).await
}

pub(super) async fn rejects(State(site): Shared, Path(id): Path<i64>) -> Response {
    download(&site, id, Kind::Rejects).await
}

async fn download(site: &Site, id: i64, kind: Kind) -> Response {
    let file = match site.journal.file(id).await {
        Ok(Some(f)) => f,
        Ok(None) => return not_found(&format!("There is no file {id} in the journal.")),
        Err(e) => return super::journal_unavailable(e),
    };
    let Some(path) = located(site, &file, kind) else {
        return not_found(&format!("File {id} has no such download (yet)."));
    };
    let Ok(handle) = tokio::fs::File::open(&path).await else {
        return not_found(&format!("File {id} has no such download (yet)."));
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("download");
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    let mime = if safe.ends_with(".ndjson") { "application/x-ndjson" } else { "text/csv; charset=utf-8" };
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(handle));
    let disposition = format!("attachment; filename=\"{safe}\"");
    ([(header::CONTENT_TYPE, mime.to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

/// The report, or the rejects file beside it (`N-name.rejects.csv`, or `.ndjson` for JSON
/// input), if it exists as a regular file inside `<state>/reports/` once links are resolved.
fn located(site: &Site, file: &FileRecord, kind: Kind) -> Option<PathBuf> {
    let report = PathBuf::from(file.report_path.as_deref()?);
    let name = report.file_name()?.to_str()?;
    let stem = name.strip_suffix(".report.csv")?;
    let names = match kind {
        Kind::Report => vec![name.to_string()],
        Kind::Rejects => vec![format!("{stem}.rejects.csv"), format!("{stem}.rejects.ndjson")],
    };
    let dir = site.state_dir.join("reports").canonicalize().ok()?;
    names.into_iter().find_map(|n| {
        let real = dir.join(n).canonicalize().ok()?;
        (real.starts_with(&dir) && real.is_file()).then_some(real)
    })
}
