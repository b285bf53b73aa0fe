//! Showing strings that came from outside (file names, cells, header names, JSON keys) in a log
//! line, an error message, an `.error.txt` or a report: control characters are made visible
//! (`\n` → `\\n`, ESC → `\u{1b}`) so no input can forge a line or drive a terminal, and anything
//! longer than [`MAX_SHOWN`] characters is cut with `…`. Pure; every such site goes through here.

use std::fmt;
use std::path::Path;

/// The most characters of one input string a message shows.
pub const MAX_SHOWN: usize = 200;

/// Displays a string escaped and cut at [`MAX_SHOWN`] characters.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, MAX_SHOWN)
    }
}

/// Displays a string escaped, whatever its length (a path whose folders come from the config).
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, usize::MAX)
    }
}

/// `s` escaped and cut at [`MAX_SHOWN`] characters.
pub fn shown(s: &str) -> String {
    Shown(s).to_string()
}

/// A path, lossily decoded and escaped (not cut).
pub fn shown_path(p: &Path) -> String {
    Escaped(&p.to_string_lossy()).to_string()
}

/// Whether `c` must not reach a log line or a terminal as itself: control characters, and the
/// line/paragraph separators and bidirectional overrides that can make a line read otherwise.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn write_escaped(f: &mut fmt::Formatter<'_>, s: &str, max: usize) -> fmt::Result {
    for (i, c) in s.chars().enumerate() {
        if i == max {
            return f.write_str("…");
        }
        if is_unsafe(c) {
            write!(f, "{}", c.escape_default())?;
        } else {
            fmt::Write::write_char(f, c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(shown("a\nb\r\tc\u{1b}[31m"), "a\\nb\\r\\tc\\u{1b}[31m");
        assert_eq!(shown("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(shown("plain é ✓"), "plain é ✓");
    }

    #[test]
    fn long_input_is_cut_at_200_characters() {
        let long = "é".repeat(250);
        let s = shown(&long);
        assert_eq!(s.chars().count(), MAX_SHOWN + 1);
        assert!(s.ends_with('…'));
        assert_eq!(shown(&"x".repeat(200)), "x".repeat(200));
        assert_eq!(Escaped(&"x\n".repeat(300)).to_string().len(), 900);
    }
}
