//! The pipeline is the only writer of a file's row: a source scan. The journal's writers of the
//! `files` table are found in the journal's own code (a method whose SQL changes `files`, or that
//! calls one that does), so a new one is covered without editing this test; then every call of
//! one outside `src/pipeline/` and `src/journal/` (tests apart) is an error.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What SQL changing the `files` table looks like.
const FILES_SQL: [&str; 3] = ["UPDATE files", "INSERT INTO files", "DELETE FROM files"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code of a source file that is not test code: none for a `tests.rs` or a file under a
/// `tests/` folder; else the text before an inline `#[cfg(test)] mod tests {`.
fn production(path: &Path, text: &str) -> Option<String> {
    let rel = path.strip_prefix(root()).unwrap_or(path);
    if rel.file_name().is_some_and(|n| n == "tests.rs") || rel.components().any(|c| c.as_os_str() == "tests")
    {
        return None;
    }
    let end = text.find("#[cfg(test)]\nmod tests {").unwrap_or(text.len());
    Some(text[..end].to_string())
}

/// `(name, public)` when `line` starts a function; `pub` alone is public (`pub(super)` is not).
fn fn_start(line: &str) -> Option<(String, bool)> {
    let line = line.trim_start();
    let public = line.starts_with("pub ");
    let rest = match line.strip_prefix("pub") {
        Some(r) if r.starts_with('(') => r.split_once(") ")?.1,
        Some(r) => r.trim_start(),
        None => line,
    };
    let sig = rest.strip_prefix("async ").unwrap_or(rest).strip_prefix("fn ")?;
    Some((sig.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect(), public))
}

/// A function of the journal: its name, whether it is public, its text up to the next one.
struct Function {
    name: String,
    public: bool,
    body: String,
}

fn functions(code: &str) -> Vec<Function> {
    let mut out: Vec<Function> = Vec::new();
    for line in code.lines() {
        if let Some((name, public)) = fn_start(line) {
            out.push(Function { name, public, body: String::new() });
        }
        if let Some(last) = out.last_mut() {
            last.body.push_str(line);
            last.body.push('\n');
        }
    }
    out
}

/// The journal's public async methods that change a `files` row, straight or through another
/// function of the journal.
fn journal_writers() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&root().join("src/journal"), &mut files);
    files.push(root().join("src/journal.rs"));
    let mut fns = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        if let Some(code) = production(&path, &text) {
            fns.extend(functions(&code));
        }
    }
    let mut writing: BTreeSet<String> = fns
        .iter()
        .filter(|f| FILES_SQL.iter().any(|sql| f.body.contains(sql)))
        .map(|f| f.name.clone())
        .collect();
    loop {
        let more: Vec<String> = fns
            .iter()
            .filter(|f| {
                !writing.contains(&f.name) && writing.iter().any(|w| f.body.contains(&format!("{w}(")))
            })
            .map(|f| f.name.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        writing.extend(more);
    }
    fns.into_iter().filter(|f| f.public && writing.contains(&f.name)).map(|f| f.name).collect()
}

/// `(writer, line)` for each call of one of `writers` in `code`.
fn calls<'a>(code: &str, writers: &'a BTreeSet<String>) -> Vec<(&'a str, usize)> {
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        for w in writers {
            if line.contains(&format!(".{w}(")) || line.contains(&format!("::{w}(")) {
                out.push((w.as_str(), i + 1));
            }
        }
    }
    out
}

#[test]
fn the_journals_file_writers_are_found_in_its_code() {
    let writers = journal_writers();
    for known in ["set_file_state", "set_file_path", "set_report_path", "approve_file", "insert_file"] {
        assert!(writers.contains(known), "{known} not found among {writers:?}");
    }
    // Through another function: a batch of rows counts into its file's `rows_total`.
    assert!(writers.contains("insert_ops") && writers.contains("requeue_failed"), "{writers:?}");
    assert!(
        !writers.contains("file") && !writers.contains("ready_ops"),
        "readers are no writers: {writers:?}"
    );
    let code = "fn f() {\n    journal.set_file_state(1, FileState::Held, None);\n    journal.file(1);\n}\n";
    assert_eq!(calls(code, &writers), [("set_file_state", 2)]);
}

#[test]
fn only_the_pipeline_writes_a_files_row() {
    let writers = journal_writers();
    let mut sources = Vec::new();
    rust_files(&root().join("src"), &mut sources);
    let mut found = Vec::new();
    for path in sources {
        let rel = path.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
        let owner = ["src/pipeline/", "src/pipeline.rs", "src/journal/", "src/journal.rs"];
        if owner.iter().any(|o| rel.starts_with(o)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(code) = production(&path, &text) else { continue };
        for (writer, line) in calls(&code, &writers) {
            found.push(format!("{rel}:{line}: {writer}"));
        }
    }
    assert!(
        found.is_empty(),
        "a file's row is written outside the pipeline; call the pipeline's function for it \
         (hold, start, approve, moved, retry, take, finish) instead: {found:#?}"
    );
}
