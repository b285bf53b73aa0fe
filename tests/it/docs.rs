//! The guidebook is checked against the program: every `fdsync SUBCOMMAND --flag` written in
//! README.md or a page under docs/ exists, and every config key a page names (`section.key`)
//! is in config.example.toml, the configuration reference.

use clap::CommandFactory;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page under docs/.
fn pages() -> Vec<(PathBuf, String)> {
    let mut paths = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).expect("page"))).collect()
}

/// The code in a page: fenced blocks whole, and `inline spans`, one string each.
fn code_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push(line.to_string());
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let Some(code) = parts.next() {
            out.push(code.to_string());
            parts.next();
        }
    }
    out
}

/// Each subcommand (and its nested ones, as "auth login") with its long flags, and the
/// global flags.
fn commands() -> (BTreeMap<String, BTreeSet<String>>, BTreeSet<String>) {
    let cli = fdsync::cli::Cli::command();
    let longs = |c: &clap::Command| -> BTreeSet<String> {
        c.get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .chain(["--help".into()])
            .collect()
    };
    let global = longs(&cli).into_iter().chain(["--version".to_string()]).collect();
    let mut map = BTreeMap::new();
    for sub in cli.get_subcommands() {
        map.insert(sub.get_name().to_string(), longs(sub));
        for nested in sub.get_subcommands() {
            map.insert(format!("{} {}", sub.get_name(), nested.get_name()), longs(nested));
        }
    }
    (map, global)
}

#[test]
fn every_command_and_flag_the_guidebook_names_exists() {
    let (subs, global) = commands();
    let mut wrong = Vec::new();
    let mut seen = 0;
    for (path, text) in pages() {
        for code in code_of(&text) {
            // Each `fdsync …` up to the end of its shell command.
            for part in code.split(['|', ';', '&', '#']) {
                let words: Vec<&str> = part.split_whitespace().collect();
                // The program, not an account named fdsync (`sudo -u fdsync fdsync …`).
                let is_program = |i: usize| {
                    let w = words[i];
                    (w == "fdsync" || w.ends_with("/fdsync")) && (i == 0 || words[i - 1] != "-u")
                };
                let Some(at) = (0..words.len()).find(|&i| is_program(i)) else {
                    continue;
                };
                let mut rest = words[at + 1..].iter().copied().peekable();
                // Global flags may come first (`fdsync --config F run`).
                let mut flags = Vec::new();
                while let Some(w) = rest.peek().copied().filter(|w| w.starts_with('-')) {
                    flags.push(w);
                    rest.next();
                    if w == "--config" {
                        rest.next();
                    }
                }
                let Some(first) = rest.next() else { continue };
                if !first.chars().all(|c| c.is_ascii_lowercase() || c == '-') || first.is_empty() {
                    continue;
                }
                let nested = rest.peek().map(|n| format!("{first} {n}"));
                let name = match nested {
                    Some(n) if subs.contains_key(&n) => {
                        rest.next();
                        n
                    }
                    _ => first.to_string(),
                };
                let Some(known) = subs.get(&name) else {
                    wrong.push(format!("{}: `fdsync {name}` is not a command", path.display()));
                    continue;
                };
                seen += 1;
                flags.extend(rest.filter(|w| w.starts_with("--")));
                for flag in flags {
                    let flag = flag.split('=').next().unwrap_or(flag);
                    if !known.contains(flag) && !global.contains(flag) {
                        wrong.push(format!("{}: `fdsync {name}` has no {flag}", path.display()));
                    }
                }
            }
        }
    }
    assert!(seen > 20, "the guidebook names only {seen} commands: is the scan broken?");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every `section.key` of config.example.toml, commented keys included (`# key = …` shows an
/// optional key with its default). Tables inside tables keep their full name (`auth.oauth2`).
fn example_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("config.example.toml")).expect("config.example.toml");
    let mut keys = BTreeSet::new();
    let mut section = String::new();
    for line in text.lines() {
        let bare = line.trim_start_matches('#').trim();
        if bare.starts_with('[') && bare.ends_with(']') && !bare.contains(' ') {
            section = bare.trim_matches(|c| c == '[' || c == ']').to_string();
            keys.insert(section.clone());
            continue;
        }
        let Some((key, _)) = bare.split_once('=') else { continue };
        let key = key.trim();
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            keys.insert(format!("{section}.{key}"));
        }
    }
    keys
}

#[test]
fn every_config_key_the_guidebook_names_is_in_the_example_config() {
    let keys = example_keys();
    let sections: BTreeSet<&str> = keys.iter().filter(|k| !k.contains('.')).map(String::as_str).collect();
    assert!(keys.contains("freshdesk.domain") && keys.contains("safety.max_deletes_percent"), "{keys:?}");
    let mut wrong = Vec::new();
    let mut seen = 0;
    for (path, text) in pages() {
        for code in code_of(&text) {
            let code = code.trim().trim_start_matches('[').trim_end_matches(']');
            let Some((section, key)) = code.rsplit_once('.') else { continue };
            let key = key.split([' ', '=']).next().unwrap_or(key);
            if !sections.contains(section)
                || key.is_empty()
                || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                continue;
            }
            seen += 1;
            if !keys.contains(&format!("{section}.{key}")) {
                wrong.push(format!("{}: `{section}.{key}` is not in config.example.toml", path.display()));
            }
        }
    }
    assert!(seen > 10, "the guidebook names only {seen} keys: is the scan broken?");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_configuration_page_names_every_section_of_the_example_config() {
    let page = std::fs::read_to_string(root().join("docs/configuration.md")).expect("docs/configuration.md");
    let text = std::fs::read_to_string(root().join("config.example.toml")).expect("config.example.toml");
    for line in text.lines() {
        let bare = line.trim_start_matches('#').trim();
        if bare.starts_with('[') && bare.ends_with(']') && !bare.contains(' ') {
            assert!(page.contains(&format!("`{bare}`")), "docs/configuration.md does not name `{bare}`");
        }
    }
}

#[test]
fn the_readme_is_a_landing_page_and_its_links_resolve() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let lines = readme.lines().count();
    assert!(lines <= 200, "README.md has {lines} lines; the depth belongs in docs/");
    let first = code_of(&readme);
    assert!(first.iter().any(|c| c.contains("cargo run --release -- demo")), "the first command");
    assert!(first.iter().any(|c| c.contains("cargo test")), "the test command");
    for (path, text) in pages() {
        for link in text.split("](").skip(1) {
            let target = link.split(')').next().unwrap_or("");
            if target.starts_with("http") || target.starts_with('#') || target.is_empty() {
                continue;
            }
            let file = target.split('#').next().unwrap_or(target);
            let base = path.parent().unwrap_or(Path::new("."));
            assert!(base.join(file).exists(), "{}: link to {target} does not resolve", path.display());
        }
    }
}

/// Every `mod.rs` under `dir`, recursively.
fn mod_rs_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            mod_rs_files(&path, found);
        } else if path.file_name().is_some_and(|n| n == "mod.rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_module_file_convention_the_development_page_states_holds() {
    let page = std::fs::read_to_string(root().join("docs/development.md")).expect("page");
    assert!(page.contains("never `name/mod.rs`"), "docs/development.md states the convention");
    let mut found = Vec::new();
    for dir in ["src", "sim/src"] {
        mod_rs_files(&root().join(dir), &mut found);
    }
    assert!(
        found.is_empty(),
        "a module with submodules is name.rs beside name/ (docs/development.md, Style); \
         `git mv X/mod.rs X.rs` for each of {found:?}"
    );
}
