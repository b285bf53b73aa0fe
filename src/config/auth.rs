//! `[auth]`: how fdsync proves who it is. Secrets are loaded here (config value, `*_file`, the
//! systemd credentials directory, or an environment variable, in that order) into `secrecy`
//! types and never leave them except to build a request header or a token request.

use super::Error;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use url::Url;

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

/// `[auth.oauth2]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOAuth2 {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub client_secret_file: Option<PathBuf>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    /// `authorization_code` | `password` | `client_credentials` (default).
    pub grant_type: Option<String>,
    pub scope: Option<String>,
    /// Extra parameters sent with every token request (and on the authorize URL).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Extra headers sent with every token request.
    #[serde(default)]
    pub token_headers: BTreeMap<String, String>,
    /// `account` (default) | `agent`: recorded and shown, as in Freshworks' `oauth_config`.
    pub token_type: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub password_file: Option<PathBuf>,
    /// Loopback port for `fdsync auth login`'s redirect listener; 0 or absent = any free port.
    pub redirect_port: Option<u16>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    Password,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Password => "password",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Account,
    Agent,
}

/// `[auth.oauth2]`, validated.
#[derive(Debug, Clone)]
pub struct OAuth2Settings {
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub authorize_url: Option<Url>,
    pub token_url: Url,
    pub grant_type: GrantType,
    pub scope: Option<String>,
    pub options: BTreeMap<String, String>,
    pub token_headers: BTreeMap<String, String>,
    pub token_type: TokenType,
    /// Password grant only.
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub redirect_port: u16,
}

/// Where secrets that are not in the file come from: `CREDENTIALS_DIRECTORY` and the
/// `FDSYNC_*` variables. Injected so tests need not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One secret and the four places it may come from.
struct SecretSource<'a> {
    key: &'a str,
    inline: Option<SecretString>,
    file: Option<PathBuf>,
    credential: &'a str,
    env_var: &'a str,
}

impl AuthSettings {
    pub fn resolve(raw: RawAuth, config_path: Option<&Path>) -> Result<Self, Error> {
        Self::resolve_with(raw, config_path, &process_env)
    }

    /// [`AuthSettings::resolve`] with the environment given.
    pub fn resolve_with(raw: RawAuth, config_path: Option<&Path>, env: EnvLookup) -> Result<Self, Error> {
        let base = config_path.and_then(Path::parent);
        let method_name = raw.method.as_deref().unwrap_or("api_key").to_string();
        let method = match method_name.as_str() {
            "api_key" => {
                let src = SecretSource {
                    key: "auth.api_key",
                    inline: raw.api_key,
                    file: raw.api_key_file,
                    credential: "api_key",
                    env_var: "FDSYNC_API_KEY",
                };
                AuthMethod::ApiKey(src.require(base, env)?)
            }
            "basic" => {
                let username = raw
                    .username
                    .ok_or_else(|| Error::invalid("auth.username", "required for method = \"basic\""))?;
                let src = SecretSource {
                    key: "auth.password",
                    inline: raw.password,
                    file: raw.password_file,
                    credential: "password",
                    env_var: "FDSYNC_PASSWORD",
                };
                AuthMethod::Basic { username, password: src.require(base, env)? }
            }
            "oauth2" => {
                let o = raw.oauth2.ok_or_else(|| {
                    Error::invalid("auth.oauth2", "method = \"oauth2\" needs an [auth.oauth2] table")
                })?;
                AuthMethod::OAuth2(Box::new(resolve_oauth2(o, base, env)?))
            }
            other => {
                return Err(Error::invalid(
                    "auth.method",
                    format!("'{other}' is not api_key, basic or oauth2"),
                ));
            }
        };
        let default_prefix = if method_name == "oauth2" { "Bearer" } else { "Basic" };
        let prefix = parse_prefix(raw.prefix.as_deref().unwrap_or(default_prefix))?;
        let header = raw.header.unwrap_or_else(|| "Authorization".into());
        if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err(Error::invalid("auth.header", format!("'{header}' is not a valid header name")));
        }
        Ok(Self { method, header, prefix })
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

fn resolve_oauth2(o: RawOAuth2, base: Option<&Path>, env: EnvLookup) -> Result<OAuth2Settings, Error> {
    let client_id =
        o.client_id.ok_or_else(|| Error::invalid("auth.oauth2.client_id", "required for oauth2"))?;
    let grant_type = match o.grant_type.as_deref().unwrap_or("client_credentials") {
        "authorization_code" => GrantType::AuthorizationCode,
        "password" => GrantType::Password,
        "client_credentials" => GrantType::ClientCredentials,
        other => {
            return Err(Error::invalid(
                "auth.oauth2.grant_type",
                format!("'{other}' is not authorization_code, password or client_credentials"),
            ));
        }
    };
    let token_type = match o.token_type.as_deref().unwrap_or("account") {
        "account" => TokenType::Account,
        "agent" => TokenType::Agent,
        other => {
            return Err(Error::invalid(
                "auth.oauth2.token_type",
                format!("'{other}' is not account or agent"),
            ));
        }
    };
    let token_url = o
        .token_url
        .as_deref()
        .ok_or_else(|| Error::invalid("auth.oauth2.token_url", "required for oauth2"))
        .and_then(|u| endpoint_url("auth.oauth2.token_url", u))?;
    let authorize_url =
        o.authorize_url.as_deref().map(|u| endpoint_url("auth.oauth2.authorize_url", u)).transpose()?;
    if grant_type == GrantType::AuthorizationCode && authorize_url.is_none() {
        return Err(Error::invalid(
            "auth.oauth2.authorize_url",
            "required for grant_type authorization_code",
        ));
    }
    let client_secret = SecretSource {
        key: "auth.oauth2.client_secret",
        inline: o.client_secret,
        file: o.client_secret_file,
        credential: "client_secret",
        env_var: "FDSYNC_CLIENT_SECRET",
    }
    .find(base, env)?;
    // An agent-level token is a public client (PKCE, no secret); the others need one.
    if client_secret.is_none()
        && token_type == TokenType::Account
        && grant_type != GrantType::AuthorizationCode
    {
        return Err(Error::invalid(
            "auth.oauth2.client_secret",
            "no client secret: set client_secret, client_secret_file, $CREDENTIALS_DIRECTORY/client_secret or FDSYNC_CLIENT_SECRET",
        ));
    }
    let (username, password) = if grant_type == GrantType::Password {
        let username = o
            .username
            .ok_or_else(|| Error::invalid("auth.oauth2.username", "required for grant_type password"))?;
        let src = SecretSource {
            key: "auth.oauth2.password",
            inline: o.password,
            file: o.password_file,
            credential: "password",
            env_var: "FDSYNC_PASSWORD",
        };
        (Some(username), Some(src.require(base, env)?))
    } else {
        (o.username, None)
    };
    for name in o.token_headers.keys() {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(Error::invalid(
                "auth.oauth2.token_headers",
                format!("'{name}' is not a header name"),
            ));
        }
    }
    Ok(OAuth2Settings {
        client_id,
        client_secret,
        authorize_url,
        token_url,
        grant_type,
        scope: o.scope,
        options: o.options,
        token_headers: o.token_headers,
        token_type,
        username,
        password,
        redirect_port: o.redirect_port.unwrap_or(0),
    })
}

/// Token and authorize endpoints: https, or http on loopback only (they carry secrets).
fn endpoint_url(key: &str, text: &str) -> Result<Url, Error> {
    let url =
        Url::parse(text.trim()).map_err(|e| Error::invalid(key, format!("'{text}' is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if super::is_loopback(&url) => Ok(url),
        _ => Err(Error::invalid(key, "must be https (plain http only for loopback addresses)")),
    }
}

impl SecretSource<'_> {
    fn require(self, base: Option<&Path>, env: EnvLookup) -> Result<SecretString, Error> {
        let (key, credential, env_var) = (self.key, self.credential, self.env_var);
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
    fn find(self, base: Option<&Path>, env: EnvLookup) -> Result<Option<SecretString>, Error> {
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
            let path = Path::new(&dir).join(self.credential);
            if path.exists() {
                return read_secret_file("CREDENTIALS_DIRECTORY", &path, true).map(Some);
            }
        }
        Ok(env(self.env_var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).map(SecretString::from))
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
    use std::os::unix::fs::PermissionsExt;
    let oauth = raw.oauth2.as_ref();
    let inline = raw.api_key.is_some()
        || raw.password.is_some()
        || oauth.is_some_and(|o| o.client_secret.is_some() || o.password.is_some());
    if !inline {
        return Ok(());
    }
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

#[cfg(test)]
mod tests;
