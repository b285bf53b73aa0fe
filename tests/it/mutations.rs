//! TESTING.md's evidence stays attached to the code: every mutation in `tests/mutations.toml`
//! (what `scripts/mutate.py` applies before it requires a test to fail) still finds its snippet
//! exactly once in its file, records the failure it gave, names a test that exists (its cargo
//! test filter still selects a function or module), and TESTING.md names it. When code or a test
//! moves (or a merge loses a test), this fails and names the entry to fix, instead of the
//! evidence going stale in silence.

use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(serde::Deserialize)]
struct List {
    mutation: Vec<Mutation>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Mutation {
    id: String,
    row: String,
    file: String,
    find: String,
    replace: String,
    test: String,
    failure: String,
    #[serde(default)]
    timeout: Option<u64>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The names of every function and module file under `dir` (recursively, `.rs` files).
fn names_under(dir: &std::path::Path, names: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.map(|e| e.unwrap().path()) {
        if path.is_dir() {
            if !path.ends_with("target") {
                names_under(&path, names);
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        names.insert(path.file_stem().unwrap().to_string_lossy().into_owned());
        let code = std::fs::read_to_string(&path).unwrap_or_default();
        for rest in code.split("fn ").skip(1) {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            names.insert(name);
        }
    }
}

/// The last segment of the test filter in cargo test arguments (`--test it scim::roles` →
/// `roles`), if there is one.
fn filter_tail(args: &str) -> Option<&str> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let takes_value = ["--test", "-p", "--package", "--bench", "--features"];
    let filter = words
        .iter()
        .enumerate()
        .filter(|(i, w)| !(w.starts_with('-') || *i > 0 && takes_value.contains(&words[i - 1])))
        .map(|(_, w)| *w)
        .next_back()?;
    filter.rsplit("::").next()
}

#[test]
fn every_mutation_still_finds_its_snippet_once_and_testing_md_names_it() {
    let text = std::fs::read_to_string(root().join("tests/mutations.toml")).expect("tests/mutations.toml");
    let list: List = toml::from_str(&text).expect("tests/mutations.toml parses");
    let testing = std::fs::read_to_string(root().join("TESTING.md")).expect("TESTING.md");
    assert!(list.mutation.len() >= 60, "{} mutations", list.mutation.len());
    let mut names = BTreeSet::new();
    for dir in ["src", "tests", "sim", "fuzz"] {
        names_under(&root().join(dir), &mut names);
    }
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for m in &list.mutation {
        if !ids.insert(m.id.as_str()) {
            problems.push(format!("{}: the id is used twice", m.id));
        }
        if m.find == m.replace || m.find.is_empty() {
            problems.push(format!("{}: `replace` must differ from a non-empty `find`", m.id));
        }
        if m.row.is_empty() || !m.test.contains("--") || m.timeout == Some(0) {
            problems.push(format!("{}: needs a row, cargo test arguments and a timeout above 0", m.id));
        }
        match std::fs::read_to_string(root().join(&m.file)) {
            Ok(code) => {
                let n = code.matches(m.find.as_str()).count();
                if n != 1 {
                    problems.push(format!("{}: `find` occurs {n} times in {} (must be once)", m.id, m.file));
                }
            }
            Err(e) => problems.push(format!("{}: {}: {e}", m.id, m.file)),
        }
        if let Some(tail) = filter_tail(&m.test)
            && !names.iter().any(|n| n.starts_with(tail))
        {
            problems.push(format!("{}: its test filter `{}` selects no test that exists", m.id, m.test));
        }
        if !testing.contains(&format!("`{}`", m.id)) {
            problems.push(format!("{}: TESTING.md does not name it", m.id));
        }
        if m.failure.is_empty() {
            problems.push(format!("{}: no failure recorded (run it, then write what it gave)", m.id));
        }
    }
    assert!(
        problems.is_empty(),
        "stale mutations (fix tests/mutations.toml, then run scripts/mutate.py ID):\n{}",
        problems.join("\n")
    );
}
