//! What every page shares: the HTML skeleton (viewport, a 10-second meta refresh, the
//! stylesheet served from the binary, a header), and small renderers for times, durations,
//! outcome counts and the approve command. maud escapes every value; nothing here may use
//! `PreEscaped` on outside text.

use maud::{DOCTYPE, Markup, html};
use std::collections::BTreeMap;
use std::time::Duration;

/// Seconds between the page's own refreshes.
const REFRESH_SECS: u32 = 10;

/// A whole page: `title` goes in `<title>` and the header.
pub(crate) fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(REFRESH_SECS);
                title { (title) " · fdsync" }
                link rel="stylesheet" href="/style.css";
            }
            body {
                header {
                    a href="/" { "fdsync" }
                    h1 { (title) }
                    span class="sub" { "refreshes every " (REFRESH_SECS) " s · read-only" }
                }
                main { (body) }
            }
        }
    }
}

/// Milliseconds since the epoch as `2026-11-30 06:49:12 UTC`.
pub(crate) fn time(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000);
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.ok().and_then(|t| t.format(&fmt).ok()).unwrap_or_else(|| "?".into())
}

/// `1 h 05 min`, `4 min 10 s`, `12 s`.
pub(crate) fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// `3 created · 1 failed`, failures marked.
pub(crate) fn outcome_counts(by_outcome: &BTreeMap<String, u64>) -> Markup {
    html! {
        @for (i, (outcome, n)) in by_outcome.iter().enumerate() {
            @if i > 0 { " · " }
            @if outcome == "failed" { span class="bad" { (n) " " (outcome) } }
            @else { (n) " " (outcome) }
        }
        @if by_outcome.is_empty() { span class="muted" { "no rows" } }
    }
}

/// The command that lets a held file run, ready to copy.
pub(crate) fn approve_command(file_id: i64) -> Markup {
    html! { pre class="cmd" { "fdsync approve " (file_id) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_read_as_people_write_them() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(duration(Duration::from_secs(12)), "12 s");
        assert_eq!(duration(Duration::from_secs(250)), "4 min 10 s");
        assert_eq!(duration(Duration::from_secs(3900)), "1 h 05 min");
    }

    #[test]
    fn outside_text_is_escaped_in_the_skeleton() {
        let html = page("<b>x</b>", html! { p { "<script>" } }).into_string();
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;") && html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("http-equiv=\"refresh\" content=\"10\""), "{html}");
    }
}
