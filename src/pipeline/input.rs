//! What taking a file in and a dry run read alike: the input opened once and hashed from that
//! handle, and a refused row named the same way in the journal and in a dry-run report. No
//! journal and no report writing here.

use super::Error;
use crate::domain::{Action, FieldError, OpKey};
use crate::intake;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// A file's name as the journal, reports and messages give it: its last component, lossy if it
/// is not UTF-8 (`file` when the path has none).
pub fn display_name(path: &Path) -> String {
    path.file_name().map_or("file".into(), |n| n.to_string_lossy().into_owned())
}

/// sha256 of a file's bytes, streamed (opened with [`intake::open_file`]).
pub fn sha256_file(path: &Path) -> Result<String, Error> {
    let file = open_input(path)?;
    sha256_of(&file, path)
}

/// Opens an input once, safely (see [`intake::open_file`]).
pub fn open_input(path: &Path) -> Result<File, Error> {
    intake::open_file(path).map_err(|source| Error::Input { path: path.to_path_buf(), source })
}

/// sha256 of an open file's bytes from where it stands, streamed.
pub(super) fn sha256_of(mut file: &File, path: &Path) -> Result<String, Error> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A row the intake refused (`intake::Record::Invalid`), as the journal and a dry run both name
/// it.
pub(super) struct Refused {
    pub(super) row: u64,
    /// The action the row named validly, else `unknown`.
    pub(super) action: &'static str,
    /// The raw email / agent_id / external_id the row gave, else the row's own key
    /// ([`OpKey::row`]), so the report can point at it.
    pub(super) key: String,
    /// Every field error, separated by `; `.
    pub(super) reason: String,
}

impl Refused {
    /// Row `row` of the file whose content hashes to `sha`.
    pub(super) fn new(
        sha: &str,
        row: u64,
        action: Option<Action>,
        key_hint: Option<String>,
        errors: &[FieldError],
    ) -> Self {
        Self {
            row,
            action: action.map_or("unknown", Action::as_str),
            key: key_hint.unwrap_or_else(|| OpKey::row(sha, row).into()),
            reason: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn a_files_display_name_is_its_last_component_lossy_or_file() {
        assert_eq!(display_name(Path::new("/in/HR export.csv")), "HR export.csv");
        assert_eq!(display_name(Path::new("/")), "file");
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"/in/a\xffb.csv"));
        assert_eq!(display_name(odd), "a\u{fffd}b.csv");
    }
}
