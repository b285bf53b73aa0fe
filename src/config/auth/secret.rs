//! Where a secret comes from: the config value, its `*_file`, the systemd credentials directory,
//! or an environment variable, in that order, into a `secrecy` type; and the refusal of secret
//! files (and configs holding an inline secret) that other users can read. It only loads and
//! guards secrets; it must not decide which secrets a method needs, and never puts a secret's
//! text in an error.

use super::super::Error;
use super::RawAuth;
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};

/// Where secrets that are not in the file come from: `CREDENTIALS_DIRECTORY` and the
/// `FDSYNC_*` variables. Injected so tests need not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whose secrets these are: the connection `default` (the top-level `[auth]`) keeps the names
/// `$CREDENTIALS_DIRECTORY/api_key` and `FDSYNC_API_KEY`; a named connection `it-desk` reads
/// `$CREDENTIALS_DIRECTORY/it-desk-api_key` and `FDSYNC_IT_DESK_API_KEY`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecretNames<'a> {
    /// `None` for the connection `default`.
    pub connection: Option<&'a str>,
}

impl SecretNames<'_> {
    /// The file name under `$CREDENTIALS_DIRECTORY` for `credential` (`api_key`, `password`, …).
    pub fn credential(&self, credential: &str) -> String {
        match self.connection {
            Some(name) => format!("{name}-{credential}"),
            None => credential.to_string(),
        }
    }

    /// The environment variable for `var` (`API_KEY`, `PASSWORD`, `CLIENT_SECRET`).
    pub fn env_var(&self, var: &str) -> String {
        match self.connection {
            Some(name) => format!("FDSYNC_{}_{var}", name.to_ascii_uppercase().replace('-', "_")),
            None => format!("FDSYNC_{var}"),
        }
    }
}

/// One secret and the four places it may come from.
pub(in crate::config) struct SecretSource<'a> {
    pub(in crate::config) key: &'a str,
    pub(in crate::config) inline: Option<SecretString>,
    pub(in crate::config) file: Option<PathBuf>,
    pub(in crate::config) credential: String,
    pub(in crate::config) env_var: String,
}

impl SecretSource<'_> {
    pub(in crate::config) fn require(
        self,
        base: Option<&Path>,
        env: EnvLookup,
    ) -> Result<SecretString, Error> {
        let (key, credential, env_var) = (self.key, self.credential.clone(), self.env_var.clone());
        self.find(base, env)?.ok_or_else(|| {
            Error::invalid(
                key,
                format!(
                    "no secret: set {k}, {k}_file, $CREDENTIALS_DIRECTORY/{credential} or the {env_var} environment variable",
                    k = key.rsplit('.').next().unwrap_or(key)
                ),
            )
        })
    }

    /// Config value, then `*_file`, then `$CREDENTIALS_DIRECTORY/<name>`, then the variable.
    pub(in crate::config) fn find(
        self,
        base: Option<&Path>,
        env: EnvLookup,
    ) -> Result<Option<SecretString>, Error> {
        if let Some(s) = self.inline.filter(|s| !s.expose_secret().is_empty()) {
            return Ok(Some(s));
        }
        let creds = env("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty());
        if let Some(path) = self.file {
            let path = match base {
                Some(dir) if path.is_relative() => dir.join(path),
                _ => path,
            };
            let trusted = creds.as_deref().is_some_and(|d| path.starts_with(d));
            return read_secret_file(&format!("{}_file", self.key), &path, trusted).map(Some);
        }
        if let Some(dir) = creds {
            let path = Path::new(&dir).join(&self.credential);
            if path.exists() {
                return read_secret_file("CREDENTIALS_DIRECTORY", &path, true).map(Some);
            }
        }
        Ok(env(&self.env_var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).map(SecretString::from))
    }
}

/// Reads a secret file. Unless it is under `$CREDENTIALS_DIRECTORY` (`trusted`: systemd made it
/// private to the service), a file readable by group or others is refused, like the config file.
fn read_secret_file(key: &str, path: &Path, trusted: bool) -> Result<SecretString, Error> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let cannot = |e: std::io::Error| {
        Error::invalid(key, format!("cannot read secret file {}: {}", path.display(), e.kind()))
    };
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let mode = file.metadata().map_err(cannot)?.permissions().mode();
    if !trusted && mode & 0o077 != 0 {
        return Err(Error::invalid(
            key,
            format!(
                "secret file {} is readable by other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ),
        ));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(cannot)?;
    let secret = text.trim_end_matches(['\r', '\n']).to_string();
    if secret.trim().is_empty() {
        return Err(Error::invalid(key, format!("secret file {} is empty", path.display())));
    }
    Ok(SecretString::from(secret))
}

/// Refuses a config file that holds an inline secret and is readable by group or others.
pub(crate) fn check_file_permissions(path: &Path, raw: &RawAuth) -> Result<(), Error> {
    let oauth = raw.oauth2.as_ref();
    let inline = raw.api_key.is_some()
        || raw.password.is_some()
        || oauth.is_some_and(|o| o.client_secret.is_some() || o.password.is_some());
    if !inline {
        return Ok(());
    }
    refuse_if_readable(path)
}

/// Refuses a config file that holds a secret and is readable by group or others.
pub(in crate::config) fn refuse_if_readable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            message: format!(
                "holds a secret but is readable by other users (mode {:o}); run `chmod 600 {}` or move the secret to a *_file",
                mode & 0o777,
                path.display()
            ),
        });
    }
    Ok(())
}
