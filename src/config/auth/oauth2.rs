//! `[auth.oauth2]` → [`OAuth2Settings`]: the grant, the token and authorize endpoints, the
//! client secret and (password grant) the user's credentials, validated one step at a time. It
//! only resolves configuration; it must not request a token (that is `freshdesk::oauth`).

use super::super::Error;
use super::secret::{EnvLookup, SecretNames, SecretSource};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use url::Url;

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
    /// Extra parameters sent with every token request (and on the authorize URL). Values are
    /// secrets (a tenant key, a second credential): never logged or shown in `Debug`.
    #[serde(default)]
    pub options: BTreeMap<String, SecretString>,
    /// Extra headers sent with every token request; values are secrets, as `options`.
    #[serde(default)]
    pub token_headers: BTreeMap<String, SecretString>,
    /// `account` (default) | `agent`: recorded and shown, as in Freshworks' `oauth_config`.
    pub token_type: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub password_file: Option<PathBuf>,
    /// Loopback port for `fdsync auth login`'s redirect listener; 0 or absent = any free port.
    pub redirect_port: Option<u16>,
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
    /// Values are secrets (see [`RawOAuth2::options`]).
    pub options: BTreeMap<String, SecretString>,
    /// Values are secrets (see [`RawOAuth2::token_headers`]).
    pub token_headers: BTreeMap<String, SecretString>,
    pub token_type: TokenType,
    /// Password grant only.
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub redirect_port: u16,
}

impl OAuth2Settings {
    /// One step per key group, in the order the errors were always reported.
    pub(super) fn resolve(
        o: RawOAuth2,
        base: Option<&Path>,
        env: EnvLookup,
        names: SecretNames,
    ) -> Result<Self, Error> {
        let client_id =
            o.client_id.ok_or_else(|| Error::invalid("auth.oauth2.client_id", "required for oauth2"))?;
        let grant_type = GrantType::parse(o.grant_type.as_deref())?;
        let token_type = TokenType::parse(o.token_type.as_deref())?;
        let (token_url, authorize_url) =
            endpoints(o.token_url.as_deref(), o.authorize_url.as_deref(), grant_type)?;
        let client_secret = SecretSource {
            key: "auth.oauth2.client_secret",
            inline: o.client_secret,
            file: o.client_secret_file,
            credential: names.credential("client_secret"),
            env_var: names.env_var("CLIENT_SECRET"),
        }
        .find(base, env)?;
        check_client_secret(client_secret.is_some(), grant_type, token_type)?;
        let password = SecretSource {
            key: "auth.oauth2.password",
            inline: o.password,
            file: o.password_file,
            credential: names.credential("password"),
            env_var: names.env_var("PASSWORD"),
        };
        let (username, password) = user_credentials(grant_type, o.username, password, base, env)?;
        check_token_headers(&o.token_headers)?;
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
}

impl GrantType {
    /// `grant_type`; absent is `client_credentials`.
    fn parse(text: Option<&str>) -> Result<Self, Error> {
        match text.unwrap_or("client_credentials") {
            "authorization_code" => Ok(GrantType::AuthorizationCode),
            "password" => Ok(GrantType::Password),
            "client_credentials" => Ok(GrantType::ClientCredentials),
            other => Err(Error::invalid(
                "auth.oauth2.grant_type",
                format!("'{other}' is not authorization_code, password or client_credentials"),
            )),
        }
    }
}

impl TokenType {
    /// `token_type`; absent is `account`.
    fn parse(text: Option<&str>) -> Result<Self, Error> {
        match text.unwrap_or("account") {
            "account" => Ok(TokenType::Account),
            "agent" => Ok(TokenType::Agent),
            other => {
                Err(Error::invalid("auth.oauth2.token_type", format!("'{other}' is not account or agent")))
            }
        }
    }
}

/// The token URL (required) and the authorize URL (required for the authorization-code grant).
fn endpoints(
    token_url: Option<&str>,
    authorize_url: Option<&str>,
    grant_type: GrantType,
) -> Result<(Url, Option<Url>), Error> {
    let token_url = token_url
        .ok_or_else(|| Error::invalid("auth.oauth2.token_url", "required for oauth2"))
        .and_then(|u| endpoint_url("auth.oauth2.token_url", u))?;
    let authorize_url = authorize_url.map(|u| endpoint_url("auth.oauth2.authorize_url", u)).transpose()?;
    if grant_type == GrantType::AuthorizationCode && authorize_url.is_none() {
        return Err(Error::invalid(
            "auth.oauth2.authorize_url",
            "required for grant_type authorization_code",
        ));
    }
    Ok((token_url, authorize_url))
}

/// Token and authorize endpoints: https, or http on loopback only (they carry secrets).
fn endpoint_url(key: &str, text: &str) -> Result<Url, Error> {
    let url =
        Url::parse(text.trim()).map_err(|e| Error::invalid(key, format!("'{text}' is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if super::super::is_loopback(&url) => Ok(url),
        _ => Err(Error::invalid(key, "must be https (plain http only for loopback addresses)")),
    }
}

/// An agent-level token is a public client (PKCE, no secret); the others need one.
fn check_client_secret(found: bool, grant_type: GrantType, token_type: TokenType) -> Result<(), Error> {
    if !found && token_type == TokenType::Account && grant_type != GrantType::AuthorizationCode {
        return Err(Error::invalid(
            "auth.oauth2.client_secret",
            "no client secret: set client_secret, client_secret_file, $CREDENTIALS_DIRECTORY/client_secret or FDSYNC_CLIENT_SECRET",
        ));
    }
    Ok(())
}

/// The password grant needs a user name and a password; the other grants keep any user name
/// written and load no password.
fn user_credentials(
    grant_type: GrantType,
    username: Option<String>,
    password: SecretSource<'_>,
    base: Option<&Path>,
    env: EnvLookup,
) -> Result<(Option<String>, Option<SecretString>), Error> {
    if grant_type != GrantType::Password {
        return Ok((username, None));
    }
    let username =
        username.ok_or_else(|| Error::invalid("auth.oauth2.username", "required for grant_type password"))?;
    Ok((Some(username), Some(password.require(base, env)?)))
}

/// Header names and values must be valid; an error names the header, never its value.
fn check_token_headers(headers: &BTreeMap<String, SecretString>) -> Result<(), Error> {
    use secrecy::ExposeSecret;
    for (name, value) in headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(Error::invalid(
                "auth.oauth2.token_headers",
                format!("'{}' is not a header name", crate::text::shown(name)),
            ));
        }
        if reqwest::header::HeaderValue::from_str(value.expose_secret()).is_err() {
            return Err(Error::invalid(
                "auth.oauth2.token_headers",
                format!(
                    "the value of '{name}' is not a valid header value (it is not shown: it is a secret)"
                ),
            ));
        }
    }
    Ok(())
}
