//! `fdsync plan FILE... [--action A] [--json]`: a preview with real, read-only lookups. Each file
//! is read exactly as an import reads it into a scratch journal under the state folder (removed
//! afterwards; the real journal is not touched), then every row is predicted through
//! [`Preview`], an engine whose send path is read-only: no create or delete leaves the process.
//! Prints a table (or JSON), writes `reports/plan-<name>.report.csv`, and says whether the real
//! run would be held and why. A file is previewed under an inbox's powers and caps when
//! `--inbox DIR` names one, or when it lies in a configured inbox folder (a row that inbox would
//! refuse shows `failed`, `action_not_allowed`); otherwise as `import` takes it.

use crate::config::{Inbox, Settings};
use crate::domain::{Action, Outcome};
use crate::engine::pacer::{Pacer, PacerConfig};
use crate::engine::{EngineConfig, Mode, Preview};
use crate::exit::Exit;
use crate::freshdesk::Client;
use crate::intake::Limits;
use crate::journal::{FileState, Journal};
use crate::pipeline::{self, TakeOptions, Taken};
use crate::report::ReportRow;
use crate::text::Shown;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// CSV, JSON or NDJSON files, as for `import`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Action for rows without an `action` column.
    #[arg(long, value_parser = |s: &str| s.parse::<Action>())]
    pub action: Option<Action>,
    /// Print the preview as JSON (one object per file) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Preview as the daemon takes a file from this configured inbox folder: its default action,
    /// the actions it allows, its caps. Default: the inbox the file lies in, if any.
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,
    #[command(flatten)]
    pub connection: super::ConnectionArg,
}

/// One file's preview.
#[derive(Debug, serde::Serialize)]
pub(super) struct FilePlan {
    file: String,
    rows: Vec<PlannedRow>,
    counts: BTreeMap<String, u64>,
    /// Why the real run would be held (empty: it would run).
    held: Vec<String>,
    report: String,
}

#[derive(Debug, serde::Serialize)]
struct PlannedRow {
    row: u64,
    action: String,
    outcome: String,
    freshdesk_id: Option<u64>,
    message: String,
}

pub(super) async fn run(config: Option<&Path>, args: PlanArgs) -> anyhow::Result<Exit> {
    let settings = args.connection.select(&super::load_settings(config, "warn")?)?;
    if let Some(dir) = &args.inbox {
        inbox_of(&settings, dir).with_context(|| {
            let known: Vec<String> = settings.inboxes.iter().map(|i| i.dir.display().to_string()).collect();
            format!("--inbox {} is not a configured inbox ({})", dir.display(), known.join(", "))
        })?;
    }
    let under = args.inbox.as_deref().map_or(Under::Folder, Under::Inbox);
    show(&settings, &args.files, args.action, under, args.json).await
}

/// Whose powers a preview applies to a file.
#[derive(Debug, Clone, Copy)]
pub(super) enum Under<'a> {
    /// The operator's (`import --dry-run`): every action, no caps.
    Operator,
    /// This configured inbox's (an unknown folder: the operator's).
    Inbox(&'a Path),
    /// The inbox whose folder the file lies in, if any (`plan`).
    Folder,
}

/// The configured inbox on folder `dir` (compared once both are resolved).
pub(super) fn inbox_of<'a>(settings: &'a Settings, dir: &Path) -> Option<&'a Inbox> {
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let dir = real(dir);
    settings.inboxes.iter().find(|i| real(&i.dir) == dir)
}

/// Previews and prints (a table, or JSON): `plan`, and `import --dry-run`. Exit 1 when a row
/// would fail or the run would be held.
pub(super) async fn show(
    settings: &Settings,
    files: &[PathBuf],
    action: Option<Action>,
    under: Under<'_>,
    json: bool,
) -> anyhow::Result<Exit> {
    let plans = preview(settings, files, action, under).await?;
    let mut exit = Exit::Success;
    for plan in &plans {
        let fails = |o: Outcome| plan.counts.get(o.as_str()).is_some_and(|n| *n > 0);
        if fails(Outcome::WouldFail) || fails(Outcome::Failed) || !plan.held.is_empty() {
            exit = Exit::RowsFailed;
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&plans)?);
    } else {
        plans.iter().for_each(print_table);
    }
    Ok(exit)
}

/// Previews `files` in a scratch journal under the state folder, removed afterwards.
pub(super) async fn preview(
    settings: &Settings,
    files: &[PathBuf],
    action: Option<Action>,
    under: Under<'_>,
) -> anyhow::Result<Vec<FilePlan>> {
    let scratch = settings.state_dir.join(format!("plan-{}", std::process::id()));
    crate::private::create_dir(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let result = plan_all(settings, &scratch, files, action, under).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn plan_all(
    settings: &Settings,
    scratch: &Path,
    files: &[PathBuf],
    action: Option<Action>,
    under: Under<'_>,
) -> anyhow::Result<Vec<FilePlan>> {
    let journal = Journal::open(scratch)?.on_connection(&settings.connection);
    let limits = Limits::with_max_request(settings.limits.max_request_bytes);
    let client = Client::new(settings).context("setting up the Freshdesk client")?;
    let pacer = Pacer::new(PacerConfig::from_limits(&settings.limits));
    let engine =
        Preview::new(journal.clone(), client, pacer, EngineConfig::from_settings(settings, Mode::OneShot));
    let reports = settings.state_dir.join("reports");
    crate::private::create_dir(&reports).with_context(|| format!("creating {}", reports.display()))?;
    let mut plans = Vec::new();
    for path in files {
        let name = pipeline::display_name(path);
        let powers = match under {
            Under::Operator => None,
            Under::Inbox(dir) => inbox_of(settings, dir),
            Under::Folder => path.parent().and_then(|p| inbox_of(settings, p)),
        };
        let action = action.or(powers.and_then(|i| i.action));
        // The folder's inbox gives its date_format and attachments_dir even to the operator.
        let formats = powers.or_else(|| path.parent().and_then(|p| inbox_of(settings, p)));
        let opts = TakeOptions { limits, powers, formats, ..Default::default() };
        let taken = pipeline::take_with(&journal, path, &name, action, &opts)
            .await
            .with_context(|| format!("reading {}", crate::text::shown_path(path)))?;
        let mut held = Vec::new();
        let file_id = match taken {
            Taken::Rejected { error, .. } => anyhow::bail!("{}: would be rejected: {error}", Shown(&name)),
            // Over its inbox's caps: say so, and preview its rows all the same.
            Taken::New { file_id, state: FileState::Held, .. } => {
                held.extend(journal.file(file_id).await?.and_then(|f| f.error));
                pipeline::start(&journal, file_id).await?;
                file_id
            }
            other => other.file_id(),
        };
        match engine.preview(file_id).await? {
            Ok(found) => held.extend(found.reasons),
            Err(end) => anyhow::bail!("{}", end.reason().unwrap_or("the preview stopped")),
        }
        let rows = pipeline::report_rows(&journal, file_id).await?;
        let report = reports.join(format!("plan-{}", pipeline::report_name(0, &name)));
        crate::report::write_report_file(&report, rows.clone())
            .with_context(|| format!("writing {}", report.display()))?;
        plans.push(summarise(&name, rows, held, &report));
    }
    Ok(plans)
}

fn summarise(name: &str, rows: Vec<ReportRow>, held: Vec<String>, report: &Path) -> FilePlan {
    let mut counts = BTreeMap::new();
    for r in &rows {
        *counts.entry(r.outcome.as_str().to_string()).or_insert(0) += 1;
    }
    let rows = rows
        .into_iter()
        .map(|r| PlannedRow {
            row: r.row,
            action: r.action,
            outcome: r.outcome.as_str().into(),
            freshdesk_id: r.freshdesk_id,
            message: r.message,
        })
        .collect();
    FilePlan { file: crate::text::shown(name), rows, counts, held, report: report.display().to_string() }
}

pub(super) fn print_table(plan: &FilePlan) {
    println!("{}:", plan.file);
    println!("  {:>6}  {:<13} {:<15} {:>14}  detail", "row", "action", "outcome", "freshdesk_id");
    for r in &plan.rows {
        let id = r.freshdesk_id.map(|i| i.to_string()).unwrap_or_default();
        println!("  {:>6}  {:<13} {:<15} {:>14}  {}", r.row, r.action, r.outcome, id, r.message);
    }
    let counts: Vec<String> = plan.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!("  {} rows: {}", plan.rows.len(), counts.join(", "));
    if plan.held.is_empty() {
        println!("  the real run would not be held");
    } else {
        println!("  the real run would be HELD: {}", plan.held.join("; "));
    }
    println!("  report: {}", plan.report);
}
