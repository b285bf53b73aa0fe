//! `fdsync man --out DIR` (hidden): writes the man pages, `fdsync.1` and one `fdsync-<sub>.1` per
//! visible subcommand (nested ones too: `fdsync-auth-login.1`), rendered by clap_mangen from the
//! same [`Cli`](super::Cli) definition that parses the command line. Packaging runs it with the
//! freshly built binary (`packaging/build-deb.sh`); the pages are never committed or hand-edited.

use super::Cli;
use anyhow::Context;
use clap::CommandFactory;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Folder to write the pages into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Writes every page into `dir`; returns the paths written, the top-level page first.
pub(super) fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // As clap_mangen::generate_to: build once so subcommands carry their "fdsync-sub" display
    // names, and leave out the generated `help` subcommand.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_tree(&cmd, dir, &mut written)?;
    Ok(written)
}

fn write_tree(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let page = clap_mangen::Man::new(cmd.clone()).manual("fdsync manual");
    let path =
        page.generate_to(dir).with_context(|| format!("cannot write a man page into {}", dir.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_tree(sub, dir, written)?;
    }
    Ok(())
}

/// Writes the pages and lists them on stdout, one path a line.
pub(super) fn run(args: &ManArgs) -> anyhow::Result<()> {
    for path in write_all(&args.out)? {
        println!("{}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_visible_command_and_none_for_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_all(dir.path()).unwrap();
        let names: Vec<String> =
            written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names[0], "fdsync.1");
        for page in ["fdsync-run.1", "fdsync-import.1", "fdsync-completions.1", "fdsync-example-config.1"] {
            assert!(names.iter().any(|n| n == page), "{page} missing from {names:?}");
        }
        assert!(!names.iter().any(|n| n == "fdsync-man.1" || n == "fdsync-help.1"), "{names:?}");
        let top = std::fs::read_to_string(&written[0]).unwrap();
        assert!(top.contains(".TH fdsync 1"), "{top}");
    }
}
