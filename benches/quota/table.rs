//! The markdown table `cargo bench --bench quota` prints: one row per measure, medians of
//! "fdsync | sequential baseline" over the runs, and the goal. It only formats; it must not
//! measure (`trace.rs` computes every figure).

use super::trace::{Trace, after_change, budget, follow, own_use, share_429, steady_ratio};
use super::{RESERVE, median};

/// Median cells "fdsync | baseline" of `f` over the runs.
fn pair(runs: &[(Trace, Trace)], f: impl Fn(&Trace) -> f64, fmt: impl Fn(f64) -> String) -> (String, String) {
    let ours = median(runs.iter().map(|(o, _)| f(o)).collect());
    let theirs = median(runs.iter().map(|(_, b)| f(b)).collect());
    (fmt(ours), fmt(theirs))
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

fn ratio(x: f64) -> String {
    format!("{x:.3}")
}

fn row(measure: &str, cells: (String, String), goal: &str) {
    println!("| {measure} | {} | {} | {goal} |", cells.0, cells.1);
}

/// Prints the whole table: scenarios A and B (steady use), then D (a total that drops) and C.
pub(crate) fn print_table(
    runs: usize,
    a: &[(Trace, Trace)],
    at: &[(Trace, Trace)],
    b: &[(Trace, Trace)],
    d: &[(Trace, Trace)],
    c: (f64, f64),
) {
    println!(
        "Medians of {runs} runs; 10 s windows; reserve {RESERVE} %; latency 50-300 ms; command: cargo bench --bench quota\n"
    );
    println!("| measure | fdsync | sequential baseline | goal |");
    println!("|---|---|---|---|");
    steady_rows(a, at, b);
    change_rows(d, c);
}

/// A (agents, tickets) and B (with a competitor): quota use and 429s in steady windows.
fn steady_rows(a: &[(Trace, Trace)], at: &[(Trace, Trace)], b: &[(Trace, Trace)]) {
    row(
        "A: agent creates per steady window ÷ (300 × 0.9 = 270)",
        pair(a, |t| steady_ratio(t, budget(300)), ratio),
        ">= 0.97",
    );
    row("A: share of answers that were 429", pair(a, share_429, pct), "<= 0.5 %");
    row(
        "A (tickets): creates per steady window ÷ (create sub-limit 120 × 0.9 = 108)",
        pair(at, |t| steady_ratio(t, budget(120)), ratio),
        ">= 0.97",
    );
    row("A (tickets): share of 429", pair(at, share_429, pct), "<= 0.5 %");
    row(
        "B: agent creates per steady window ÷ (270 − competitor 90 = 180)",
        pair(b, |t| steady_ratio(t, budget(300) - 90.0), ratio),
        "≈ 1",
    );
    row("B: share of answers that were 429", pair(b, share_429, pct), "<= 1 %");
    row(
        "B: first window, own credits ÷ (270 − competitor's spend)",
        pair(b, |t| own_use(t, 300).0, ratio),
        "<= 1",
    );
    row(
        "B: worst steady window, own credits ÷ (270 − competitor's spend)",
        pair(b, |t| own_use(t, 300).1, ratio),
        "<= 1",
    );
}

/// D (the total drops from 700 to 200 mid-run) and C (calls per offboarded row).
fn change_rows(d: &[(Trace, Trace)], c: (f64, f64)) {
    let secs = |x: f64| format!("{x:.1} s");
    let count = |x: f64| format!("{x:.0}");
    row(
        "D: seconds from 700 → 200 to the first window with ≤ 189 creates",
        pair(d, |t| follow(t, 200).0, secs),
        "within the next window",
    );
    row(
        "D: creates in the 1st full window after the change ÷ (200 × 0.9 = 180)",
        pair(d, |t| after_change(t, 200, 0), ratio),
        "<= 1.05",
    );
    row(
        "D: creates in the 2nd full window after the change ÷ 180",
        pair(d, |t| after_change(t, 200, 1), ratio),
        "0.97 to 1.05",
    );
    row(
        "D: 429s after the change",
        pair(d, |t| follow(t, 200).1 as f64, count),
        "few (the change window only)",
    );
    row("C: API calls per row, 200 deletes by email (300 agents)", (ratio(c.0), ratio(c.1)), "<= 1.05");
}
