//! The state folder is private: every folder fdsync makes in it is 0700 and every file 0600,
//! whatever the umask (journal, run lock, reports, status, error notes, claimed input files).
//! Folders and files are created with that mode and tightened if they already exist looser.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every folder under the state folder, and of the state folder itself.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file under the state folder.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) 0700; an existing `dir` open to group or others is
/// tightened to 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    let meta = std::fs::metadata(dir)?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))?;
    }
    Ok(())
}

/// Opens `path` for writing, creating it 0600 (truncated when `truncate`); an existing file is
/// set to 0600 through the handle.
pub fn create_file(path: &Path, truncate: bool) -> io::Result<File> {
    let file = OpenOptions::new().write(true).create(true).truncate(truncate).mode(FILE_MODE).open(path)?;
    restrict(&file)?;
    Ok(file)
}

/// Writes `bytes` to `path` (created or truncated, 0600).
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    create_file(path, true)?.write_all(bytes.as_ref())
}

/// Sets an open file to 0600 unless it already is (a file renamed in from an inbox keeps the
/// producer's mode otherwise).
pub fn restrict(file: &File) -> io::Result<()> {
    if file.metadata()?.permissions().mode() & 0o7777 != FILE_MODE {
        file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_0700_and_files_0600_even_when_they_existed_looser() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        create_dir(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!((mode(&dir), mode(&tmp.path().join("a"))), (0o700, 0o700));
        let file = dir.join("f");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        write(&file, "y").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "y");
    }
}
