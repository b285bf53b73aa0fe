//! Deciding when an inbox file is ready to import: its name is not a temporary or hidden one, and
//! its size and mtime have stayed the same for the settle time. Pure: the caller supplies the
//! observations and the clock, so tests need no sleeping and no files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Suffixes that editors, browsers and copy tools give files still being written.
const TEMP_SUFFIXES: &[&str] = &[".tmp", ".part", ".filepart", ".crdownload", ".swp", "~"];

/// Whether a file name may be an input: not hidden (`.x`), not a temporary name (`*.tmp`,
/// `*.part`, `*.filepart`, `*.crdownload`, `*.swp`, `*~`; compared case-insensitively), not empty.
pub fn is_candidate_name(name: &str) -> bool {
    if name.is_empty() || name.starts_with('.') {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    !TEMP_SUFFIXES.iter().any(|suffix| lower.ends_with(suffix))
}

/// Glob match of a whole file name: `*` any run of characters (also none), `?` exactly one
/// character; everything else literal and case-sensitive.
pub fn matches_pattern(name: &str, pattern: &str) -> bool {
    let (n, p): (Vec<char>, Vec<char>) = (name.chars().collect(), pattern.chars().collect());
    let (mut ni, mut pi) = (0, 0);
    // Backtracking point: the last `*` seen and the name position it currently covers up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// What was last seen of one file.
#[derive(Debug, Clone, Copy)]
struct Seen {
    size: u64,
    mtime: Option<SystemTime>,
    /// When the file was first seen with this size and mtime.
    since: Instant,
}

/// Tracks inbox files until each has stayed unchanged for `settle`.
#[derive(Debug)]
pub struct Settle {
    settle: Duration,
    seen: HashMap<PathBuf, Seen>,
}

impl Settle {
    pub fn new(settle: Duration) -> Self {
        Self { settle, seen: HashMap::new() }
    }

    /// Records an observation of `path` at `now`; returns whether the file is ready: its size and
    /// mtime have not changed for at least the settle time (at once when the settle time is 0).
    /// Any change restarts the wait.
    pub fn observe(&mut self, path: &Path, size: u64, mtime: Option<SystemTime>, now: Instant) -> bool {
        let seen = self.seen.entry(path.to_path_buf()).or_insert(Seen { size, mtime, since: now });
        if seen.size != size || seen.mtime != mtime {
            *seen = Seen { size, mtime, since: now };
        }
        now.saturating_duration_since(seen.since) >= self.settle
    }

    /// Stops tracking `path` (imported, or gone from the inbox).
    pub fn forget(&mut self, path: &Path) {
        self.seen.remove(path);
    }

    /// Stops tracking every path `keep` refuses (files that have disappeared).
    pub fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
        self.seen.retain(|p, _| keep(p));
    }

    /// How many files are being tracked.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_temporary_names_are_not_candidates() {
        for bad in [
            "",
            ".hidden.csv",
            "a.csv.tmp",
            "a.csv.PART",
            "a.filepart",
            "a.crdownload",
            "a.csv~",
            ".a.swp",
            "b.swp",
        ] {
            assert!(!is_candidate_name(bad), "{bad} accepted");
        }
        for good in ["tickets.csv", "agents.json", "x.ndjson", "tmp.csv", "part-1.csv"] {
            assert!(is_candidate_name(good), "{good} refused");
        }
    }

    #[test]
    fn patterns_match_stars_and_question_marks_over_the_whole_name() {
        assert!(matches_pattern("tickets.csv", "*.csv"));
        assert!(matches_pattern("tickets.csv", "*"));
        assert!(matches_pattern("t1.csv", "t?.csv"));
        assert!(matches_pattern("a.b.csv", "*.*.csv"));
        assert!(matches_pattern("abcbc", "a*bc"));
        assert!(!matches_pattern("tickets.csv.bak", "*.csv"));
        assert!(!matches_pattern("t12.csv", "t?.csv"));
        assert!(!matches_pattern("Tickets.csv", "tickets*"));
        assert!(matches_pattern("", "*"));
        assert!(!matches_pattern("x", ""));
    }

    #[test]
    fn a_file_is_ready_only_after_staying_unchanged_for_the_settle_time() {
        let t0 = Instant::now();
        let m1 = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(100));
        let m2 = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(101));
        let p = Path::new("/inbox/a.csv");
        let mut s = Settle::new(Duration::from_secs(2));
        assert!(!s.observe(p, 10, m1, t0));
        assert!(!s.observe(p, 10, m1, t0 + Duration::from_secs(1)));
        // Growth restarts the wait.
        assert!(!s.observe(p, 20, m1, t0 + Duration::from_secs(2)));
        assert!(!s.observe(p, 20, m1, t0 + Duration::from_secs(3)));
        // A touched mtime at the same size restarts it too.
        assert!(!s.observe(p, 20, m2, t0 + Duration::from_secs(4)));
        assert!(s.observe(p, 20, m2, t0 + Duration::from_secs(6)));
        s.forget(p);
        assert!(s.is_empty());
    }

    #[test]
    fn a_zero_settle_time_makes_a_file_ready_at_once() {
        let mut s = Settle::new(Duration::ZERO);
        assert!(s.observe(Path::new("a.csv"), 1, None, Instant::now()));
    }

    #[test]
    fn retain_drops_files_that_are_gone() {
        let mut s = Settle::new(Duration::from_secs(1));
        let now = Instant::now();
        s.observe(Path::new("a"), 1, None, now);
        s.observe(Path::new("b"), 1, None, now);
        s.retain(|p| p == Path::new("a"));
        assert_eq!(s.len(), 1);
    }
}
