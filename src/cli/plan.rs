//! `fdsync plan FILE... [--action A] [--json]`: a preview with real, read-only lookups. Each file
//! is read exactly as an import reads it into a scratch journal under the state folder (removed
//! afterwards; the real journal is not touched), then every row is predicted through
//! `Engine::preview` with the API wrapped in `ReadOnly`: no create or delete leaves the process.
//! Prints a table (or JSON), writes `reports/plan-<name>.report.csv`, and says whether the real
//! run would be held and why.

use crate::config::Settings;
use crate::domain::{Action, Outcome};
use crate::engine::pacer::{Pacer, PacerConfig};
use crate::engine::{Engine, EngineConfig, Mode, ReadOnly};
use crate::exit::Exit;
use crate::freshdesk::Client;
use crate::intake::Limits;
use crate::journal::Journal;
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
    show(&settings, &args.files, args.action, args.json).await
}

/// Previews and prints (a table, or JSON): `plan`, and `import --dry-run`. Exit 1 when a row
/// would fail or the run would be held.
pub(super) async fn show(
    settings: &Settings,
    files: &[PathBuf],
    action: Option<Action>,
    json: bool,
) -> anyhow::Result<Exit> {
    let plans = preview(settings, files, action).await?;
    let mut exit = Exit::Success;
    for plan in &plans {
        if plan.counts.get(Outcome::WouldFail.as_str()).is_some_and(|n| *n > 0) || !plan.held.is_empty() {
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
) -> anyhow::Result<Vec<FilePlan>> {
    let scratch = settings.state_dir.join(format!("plan-{}", std::process::id()));
    crate::private::create_dir(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let result = plan_all(settings, &scratch, files, action).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn plan_all(
    settings: &Settings,
    scratch: &Path,
    files: &[PathBuf],
    action: Option<Action>,
) -> anyhow::Result<Vec<FilePlan>> {
    let journal = Journal::open(scratch)?.on_connection(&settings.connection);
    let opts = TakeOptions {
        limits: Limits::with_max_request(settings.limits.max_request_bytes),
        ..Default::default()
    };
    let client = Client::new(settings).context("setting up the Freshdesk client")?;
    let pacer = Pacer::new(PacerConfig::from_limits(&settings.limits));
    let engine = Engine::new(
        journal.clone(),
        ReadOnly(client),
        pacer,
        EngineConfig::from_settings(settings, Mode::OneShot),
    );
    let reports = settings.state_dir.join("reports");
    crate::private::create_dir(&reports).with_context(|| format!("creating {}", reports.display()))?;
    let mut plans = Vec::new();
    for path in files {
        let name = path.file_name().map_or("file".into(), |n| n.to_string_lossy().into_owned());
        let taken = pipeline::take_with(&journal, path, &name, action, &opts)
            .await
            .with_context(|| format!("reading {}", crate::text::shown_path(path)))?;
        let mut held = Vec::new();
        let file_id = match taken {
            Taken::Rejected { error, .. } => anyhow::bail!("{}: would be rejected: {error}", Shown(&name)),
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
