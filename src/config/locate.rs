//! Where the config file is: `--config`, then `$FDSYNC_CONFIG`, then `./fdsync.toml`, then
//! `/etc/fdsync/fdsync.toml`. It only picks a path; it must not read or parse the file.

use super::Error;
use std::path::{Path, PathBuf};

/// The first of the four places that names (or holds) a config file.
pub(super) fn locate(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("FDSYNC_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    for candidate in ["fdsync.toml", "/etc/fdsync/fdsync.toml"] {
        let p = PathBuf::from(candidate);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(Error::NotFound)
}
