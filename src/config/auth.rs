//! `[auth]`: how fdsync proves who it is. Secrets are loaded here (config value, `*_file`, the
//! systemd credentials directory, or an environment variable, in that order) into `secrecy`
//! types and never leave them except to build a request header or a token request.
//!
//! Here: the `[auth]` table, the method and the header/prefix rule. `secret.rs` loads and guards
//! secrets; `oauth2.rs` resolves `[auth.oauth2]`.

mod oauth2;
mod secret;

use super::Error;
use secrecy::SecretString;
pub use secret::SecretNames;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub use oauth2::{GrantType, OAuth2Settings, RawOAuth2, TokenType};
pub(crate) use secret::check_file_permissions;
pub use secret::{EnvLookup, process_env};
pub(in crate::config) use secret::{SecretSource, refuse_if_readable};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// `api_key` (default) | `basic` | `oauth2`.
    pub method: Option<String>,
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub password_file: Option<PathBuf>,
    /// Header carrying the credential; default `Authorization`.
    pub header: Option<String>,
    /// `Basic` | `Bearer` | `Token` | `None`; default `Basic` for api_key/basic, `Bearer` for oauth2.
    pub prefix: Option<String>,
    pub oauth2: Option<RawOAuth2>,
}

/// How a request is authenticated, resolved and with its secrets loaded.
///
/// Header value rule: with prefix `Basic` the value is `Basic base64(user:pass)` where the pair
/// is `key:X` (api_key), `username:password` (basic) or `token:X` (oauth2). With `Bearer`,
/// `Token` or `None` the raw secret follows the prefix (the API key or the access token); for
/// `basic` there is no single secret, so `base64(username:password)` follows the prefix.
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
    OAuth2(Box<OAuth2Settings>),
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
        Self::resolve_with(raw, config_path, &process_env)
    }

    /// [`AuthSettings::resolve`] with the environment given.
    pub fn resolve_with(raw: RawAuth, config_path: Option<&Path>, env: EnvLookup) -> Result<Self, Error> {
        Self::resolve_named(raw, config_path, env, SecretNames::default())
    }

    /// [`AuthSettings::resolve_with`] for a connection whose secrets have their own names.
    pub fn resolve_named(
        mut raw: RawAuth,
        config_path: Option<&Path>,
        env: EnvLookup,
        names: SecretNames,
    ) -> Result<Self, Error> {
        let (header, prefix) = (raw.header.take(), raw.prefix.take());
        let is_oauth2 = raw.method.as_deref() == Some("oauth2");
        let method = AuthMethod::resolve(raw, config_path.and_then(Path::parent), env, names)?;
        let default_prefix = if is_oauth2 { "Bearer" } else { "Basic" };
        let prefix = parse_prefix(prefix.as_deref().unwrap_or(default_prefix))?;
        let header = header_name(header)?;
        Ok(Self { method, header, prefix })
    }
}

impl AuthMethod {
    /// `method` (default `api_key`) and the secrets it needs; `base` anchors relative `*_file`s.
    fn resolve(raw: RawAuth, base: Option<&Path>, env: EnvLookup, names: SecretNames) -> Result<Self, Error> {
        match raw.method.as_deref().unwrap_or("api_key") {
            "api_key" => {
                let src = SecretSource {
                    key: "auth.api_key",
                    inline: raw.api_key,
                    file: raw.api_key_file,
                    credential: names.credential("api_key"),
                    env_var: names.env_var("API_KEY"),
                };
                Ok(AuthMethod::ApiKey(src.require(base, env)?))
            }
            "basic" => {
                let username = raw
                    .username
                    .ok_or_else(|| Error::invalid("auth.username", "required for method = \"basic\""))?;
                let src = SecretSource {
                    key: "auth.password",
                    inline: raw.password,
                    file: raw.password_file,
                    credential: names.credential("password"),
                    env_var: names.env_var("PASSWORD"),
                };
                Ok(AuthMethod::Basic { username, password: src.require(base, env)? })
            }
            "oauth2" => {
                let o = raw.oauth2.ok_or_else(|| {
                    Error::invalid("auth.oauth2", "method = \"oauth2\" needs an [auth.oauth2] table")
                })?;
                Ok(AuthMethod::OAuth2(Box::new(OAuth2Settings::resolve(o, base, env, names)?)))
            }
            other => Err(Error::invalid("auth.method", format!("'{other}' is not api_key, basic or oauth2"))),
        }
    }
}

fn parse_prefix(p: &str) -> Result<Prefix, Error> {
    Ok(match p {
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
    })
}

/// `header`; default `Authorization`, and it must be a valid header name.
fn header_name(header: Option<String>) -> Result<String, Error> {
    let header = header.unwrap_or_else(|| "Authorization".into());
    if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
        return Err(Error::invalid("auth.header", format!("'{header}' is not a valid header name")));
    }
    Ok(header)
}

#[cfg(test)]
mod tests;
