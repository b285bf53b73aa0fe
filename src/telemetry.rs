//! Logging, initialised once: plain text on stderr (no timestamps under systemd, where
//! `JOURNAL_STREAM` is set and journald stamps lines itself; colours only on a terminal and without
//! `NO_COLOR`, so a log redirected to a file or a pipe is plain), or JSON when configured.
//! `RUST_LOG` overrides the level.
//!
//! One event is one line. Log sites show file names and input strings through
//! [`crate::text::Shown`]; as a backstop the writer makes any line break inside an event visible
//! (`\n` → `\\n`), so no string from outside can forge a log line, in text or JSON.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber; a second call does nothing.
pub fn init(default_level: &str, json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    let colours = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(OneLine);
    let result = if json {
        builder.json().try_init()
    } else if under_systemd {
        builder.with_ansi(false).without_time().with_target(false).try_init()
    } else {
        builder.with_ansi(colours).with_target(false).try_init()
    };
    // Already initialised (tests, or a command that re-initialises after reading its config).
    drop(result);
}

/// stderr, one event per line: the fmt layer writes each formatted event with one `write_all`.
struct OneLine;

impl<'a> MakeWriter<'a> for OneLine {
    type Writer = OneLine;

    fn make_writer(&'a self) -> Self::Writer {
        OneLine
    }
}

impl Write for OneLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stderr().lock().write_all(&one_line(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// `event` with every CR and LF but a final LF written as `\r` / `\n`.
fn one_line(event: &[u8]) -> Cow<'_, [u8]> {
    let body = event.strip_suffix(b"\n").unwrap_or(event);
    if !body.iter().any(|b| matches!(b, b'\n' | b'\r')) {
        return Cow::Borrowed(event);
    }
    let mut out = Vec::with_capacity(event.len() + 8);
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
    if body.len() < event.len() {
        out.push(b'\n');
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_line_break_inside_an_event_cannot_start_a_new_line() {
        assert_eq!(&*one_line(b"INFO file=a.csv\n"), b"INFO file=a.csv\n");
        assert_eq!(&*one_line(b"INFO file=a\nERROR forged\r\n"), b"INFO file=a\\nERROR forged\\r\n");
    }
}
