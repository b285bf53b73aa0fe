//! A ticket row's attachments, resolved when the row is journaled: each name must be a regular
//! file inside its inbox's `attachments_dir` (no absolute path, no `..`, no symlink leading
//! out), all of a row's files together at most [`MAX_TOTAL`] bytes (Freshdesk's limit per
//! request), and each is hashed so the create can prove it sends what was journaled. A row that
//! breaks a rule is a bad row: nothing of it is sent. Reads files; sends nothing.

use crate::domain::{Attachment, FieldError};
use crate::text::{Shown, shown_path};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Component, Path};

/// Freshdesk's limit on a request's attachments together (freshdesk-api.md §4, §9): 20 MB.
pub(crate) const MAX_TOTAL: u64 = 20 * 1024 * 1024;

/// The column a refusal names.
const COLUMN: &str = "attachments";

/// Resolves and hashes every attachment of a row against `dir` (the inbox's
/// `attachments_dir`; `None`: the column cannot be used).
pub(crate) fn resolve(dir: Option<&Path>, files: &mut [Attachment]) -> Result<(), FieldError> {
    if files.is_empty() {
        return Ok(());
    }
    let Some(dir) = dir else {
        let why = "cannot be used here: set attachments_dir on the [[inbox]] whose files name attachments";
        return Err(FieldError::new(COLUMN, why));
    };
    let root = dir.canonicalize().map_err(|e| {
        FieldError::new(COLUMN, format!("attachments_dir {} cannot be read: {e}", shown_path(dir)))
    })?;
    let mut total = 0u64;
    for file in files.iter_mut() {
        let (path, size, sha256) = one(&root, &file.name)?;
        total += size;
        if total > MAX_TOTAL {
            return Err(FieldError::new(
                COLUMN,
                format!("the files add up to more than {} MB, Freshdesk's limit per ticket", MAX_TOTAL >> 20),
            ));
        }
        (file.path, file.size, file.sha256) = (path, size, sha256);
    }
    Ok(())
}

/// One file inside `root` (canonical): its canonical path, size and sha256.
fn one(root: &Path, name: &str) -> Result<(String, u64, String), FieldError> {
    let refuse = |why: &str| FieldError::new(COLUMN, format!("'{}' {why}", Shown(name)));
    let rel = Path::new(name);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(refuse("must be a file name inside attachments_dir (no absolute path, no '..')"));
    }
    let path = root.join(rel).canonicalize().map_err(|_| refuse("is not a file in attachments_dir"))?;
    if !path.starts_with(root) {
        return Err(refuse("leads outside attachments_dir (a symbolic link)"));
    }
    let (size, sha256) = hash(&path).map_err(|e| refuse(&format!("cannot be read: {e}")))?;
    Ok((path.to_string_lossy().into_owned(), size, sha256))
}

/// The journaled attachments' bytes, for the create: each file must still be the one hashed
/// when its row was journaled (same size and sha256), else the row fails and nothing is sent.
pub fn load(files: &[Attachment]) -> Result<Vec<crate::freshdesk::Upload>, String> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let changed = |why: String| {
            format!("attachment '{}' {why} since its row was taken; nothing was sent", Shown(&f.name))
        };
        if f.sha256.is_empty() {
            return Err(changed("was never resolved".into()));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(f.size).unwrap_or(0));
        let mut file = crate::intake::open_file(Path::new(&f.path))
            .map_err(|e| changed(format!("cannot be read ({e})")))?;
        (&mut file)
            .take(MAX_TOTAL + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| changed(format!("cannot be read ({e})")))?;
        let sha = format!("{:x}", Sha256::digest(&bytes));
        if bytes.len() as u64 != f.size || sha != f.sha256 {
            return Err(changed("changed".into()));
        }
        let name = Path::new(&f.name)
            .file_name()
            .map_or_else(|| f.name.clone(), |n| n.to_string_lossy().into_owned());
        out.push(crate::freshdesk::Upload { name, bytes });
    }
    Ok(out)
}

/// Size and hex sha256 of a regular file (opened once, no FIFO wait).
pub(crate) fn hash(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = crate::intake::open_file(path).map_err(std::io::Error::other)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > MAX_TOTAL {
            return Err(std::io::Error::other(format!("it is larger than {} MB", MAX_TOTAL >> 20)));
        }
        hasher.update(&buf[..n]);
    }
    Ok((size, format!("{:x}", hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<Attachment> {
        list.iter().map(|n| Attachment::named(n)).collect()
    }

    #[test]
    fn files_inside_the_folder_are_resolved_sized_and_hashed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/a.txt"), b"abc").unwrap();
        let mut files = names(&["logs/a.txt", "./logs/a.txt"]);
        resolve(Some(dir.path()), &mut files).unwrap();
        assert_eq!(files[0].size, 3);
        assert_eq!(files[0].sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(files[0].path.ends_with("logs/a.txt"));
        assert_eq!(files[0].path, files[1].path);
    }

    #[test]
    fn names_leading_outside_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("in");
        std::fs::create_dir(&inside).unwrap();
        std::fs::write(dir.path().join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), inside.join("link")).unwrap();
        std::fs::create_dir(inside.join("sub")).unwrap();
        for bad in
            ["../secret", "/etc/passwd", "../../etc/passwd", "sub/../../secret", "link", "missing", "sub"]
        {
            let err = resolve(Some(&inside), &mut names(&[bad])).unwrap_err();
            assert_eq!(err.column, "attachments");
            assert!(err.reason.contains(bad), "{bad}: {err}");
        }
        let err = resolve(None, &mut names(&["a"])).unwrap_err();
        assert!(err.reason.contains("attachments_dir"), "{err}");
    }

    #[test]
    fn a_file_changed_or_removed_after_its_row_was_taken_is_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.log"), b"first").unwrap();
        let mut files = names(&["a.log"]);
        resolve(Some(dir.path()), &mut files).unwrap();
        assert_eq!(load(&files).unwrap()[0].bytes, b"first");
        std::fs::write(dir.path().join("a.log"), b"other").unwrap();
        assert!(load(&files).unwrap_err().contains("'a.log' changed"));
        std::fs::remove_file(dir.path().join("a.log")).unwrap();
        assert!(load(&files).unwrap_err().contains("cannot be read"));
        assert!(load(&names(&["a.log"])).is_err(), "an unresolved name is never sent");
    }

    #[test]
    fn more_than_twenty_megabytes_per_row_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let half = vec![0u8; (MAX_TOTAL / 2 + 1) as usize];
        std::fs::write(dir.path().join("a"), &half).unwrap();
        std::fs::write(dir.path().join("b"), &half).unwrap();
        resolve(Some(dir.path()), &mut names(&["a"])).unwrap();
        let err = resolve(Some(dir.path()), &mut names(&["a", "b"])).unwrap_err();
        assert!(err.reason.contains("20 MB"), "{err}");
    }
}
