//! OAuth 2.0 for `method = "oauth2"`: token requests for the three grants, the token cache (in
//! memory and in `<state_dir>/oauth-token.json`, mode 0600), refresh before expiry and once after
//! a 401, and [`login`], the authorization-code step of `fdsync auth login` (state + PKCE S256).

mod callback;
mod login;

pub use login::{LOGIN_TIMEOUT, login, login_within};

use super::answer::Answer;
use std::convert::Infallible;

/// A token failure: an answer that is never a success.
pub(crate) type Refusal = Answer<Infallible>;
use super::{Error, auth};
use crate::config::Settings;
use crate::config::auth::{AuthMethod, AuthSettings, GrantType, OAuth2Settings, TokenType};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The token cache file inside the state directory (the connection `default`'s).
pub const TOKEN_FILE: &str = "oauth-token.json";

/// The token cache file of the settings' connection: each connection has its own tokens
/// (`oauth-token.json` for `default`, `oauth-token-<name>.json` for the others).
pub fn token_file(settings: &Settings) -> PathBuf {
    match settings.connection.as_str() {
        crate::config::DEFAULT_CONNECTION => settings.state_dir.join(TOKEN_FILE),
        name => settings.state_dir.join(format!("oauth-token-{name}.json")),
    }
}
const RELOGIN: &str = "run `fdsync auth login` to authorise fdsync again";

/// A token held in memory.
#[derive(Clone)]
struct Token {
    access: SecretString,
    refresh: Option<SecretString>,
    /// Unix seconds after which the token is refreshed (before its real expiry).
    refresh_at: Option<u64>,
    /// Bumped each time a new access token is obtained (so concurrent 401s refresh once).
    generation: u64,
}

/// The cache file's shape. Written only with mode 0600.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    client_id: String,
    grant_type: String,
    token_type: String,
    access_token: Option<String>,
    refresh_token: Option<String>,
    refresh_at: Option<u64>,
    obtained_at: u64,
}

/// Hands out access tokens for requests; one per client.
pub(crate) struct TokenSource {
    cfg: OAuth2Settings,
    auth: AuthSettings,
    http: reqwest::Client,
    path: PathBuf,
    state: Mutex<Option<Token>>,
}

impl TokenSource {
    pub(crate) fn new(settings: &Settings, http: reqwest::Client) -> Result<Self, Error> {
        let AuthMethod::OAuth2(cfg) = &settings.auth.method else {
            return Err(Error::Config("auth.method is not oauth2".into()));
        };
        Ok(Self {
            cfg: (**cfg).clone(),
            auth: settings.auth.clone(),
            http,
            path: token_file(settings),
            state: Mutex::new(None),
        })
    }

    /// The credential header and the token's generation. `refused` is the generation a 401
    /// came back for: that token is replaced (once, however many requests saw the 401).
    pub(crate) async fn header(
        &self,
        refused: Option<u64>,
    ) -> Result<(HeaderName, HeaderValue, u64), Refusal> {
        let mut state = self.state.lock().await;
        if state.is_none() {
            *state = load(&self.path, &self.cfg);
        }
        let now = unix_now();
        let usable = state
            .as_ref()
            .filter(|t| refused != Some(t.generation) && t.refresh_at.is_none_or(|at| now < at));
        let token = match usable {
            Some(t) => t.clone(),
            None => {
                let fresh = self.obtain(state.as_ref()).await?;
                *state = Some(fresh.clone());
                fresh
            }
        };
        let (name, value) = auth::token_header(&self.auth, &token.access)
            .map_err(|e| auth_answer("invalid_token", e.to_string()))?;
        Ok((name, value, token.generation))
    }

    /// Refreshes if a refresh token is held, else runs the configured grant.
    async fn obtain(&self, old: Option<&Token>) -> Result<Token, Refusal> {
        let generation = old.map_or(1, |t| t.generation + 1);
        if let Some(refresh) = old.and_then(|t| t.refresh.clone()) {
            let params =
                vec![("grant_type", "refresh_token".to_string()), ("refresh_token", expose(&refresh))];
            match self.request(params).await {
                Ok(resp) => return self.accept(resp, Some(refresh), generation),
                Err(TokenError::Rejected(answer)) => {
                    if self.cfg.grant_type == GrantType::AuthorizationCode {
                        let _ = std::fs::remove_file(&self.path);
                        return Err(answer);
                    }
                    tracing::warn!(
                        "oauth refresh token refused; requesting a new token with the configured grant"
                    );
                }
                Err(TokenError::Failed(answer)) => return Err(answer),
            }
        }
        let params = match self.cfg.grant_type {
            GrantType::ClientCredentials => vec![("grant_type", "client_credentials".to_string())],
            GrantType::Password => vec![
                ("grant_type", "password".to_string()),
                ("username", self.cfg.username.clone().unwrap_or_default()),
                ("password", self.cfg.password.as_ref().map(expose).unwrap_or_default()),
            ],
            GrantType::AuthorizationCode => {
                return Err(auth_answer("login_required", format!("no OAuth token yet: {RELOGIN}")));
            }
        };
        let resp = self.request(params).await.map_err(TokenError::into_answer)?;
        self.accept(resp, None, generation)
    }

    fn accept(
        &self,
        resp: TokenResponse,
        old_refresh: Option<SecretString>,
        generation: u64,
    ) -> Result<Token, Refusal> {
        let token = resp.into_token(old_refresh, generation);
        if let Err(e) = store(&self.path, &self.cfg, &token) {
            tracing::warn!(error = %e, "cannot store the oauth token; it will be requested again after a restart");
        }
        Ok(token)
    }

    async fn request(&self, params: Vec<(&'static str, String)>) -> Result<TokenResponse, TokenError> {
        token_request(&self.http, &self.cfg, params).await
    }
}

/// What the token endpoint answered.
struct TokenResponse {
    access: SecretString,
    refresh: Option<SecretString>,
    expires_in: Option<u64>,
}

impl TokenResponse {
    fn into_token(self, old_refresh: Option<SecretString>, generation: u64) -> Token {
        let now = unix_now();
        // Refresh 60 s early, or at 90% of a short lifetime.
        let refresh_at = self.expires_in.map(|ttl| now + ttl - (ttl / 10).min(60));
        Token { access: self.access, refresh: self.refresh.or(old_refresh), refresh_at, generation }
    }
}

enum TokenError {
    /// The grant or refresh token was refused (`invalid_grant` and similar 400/401s).
    Rejected(Refusal),
    /// The endpoint failed or could not be reached.
    Failed(Refusal),
}

impl TokenError {
    fn into_answer(self) -> Refusal {
        match self {
            TokenError::Rejected(a) | TokenError::Failed(a) => a,
        }
    }
}

/// POSTs a form-encoded token request (client credentials in the body) and reads the answer.
async fn token_request(
    http: &reqwest::Client,
    cfg: &OAuth2Settings,
    mut params: Vec<(&'static str, String)>,
) -> Result<TokenResponse, TokenError> {
    params.push(("client_id", cfg.client_id.clone()));
    if let Some(secret) = &cfg.client_secret {
        params.push(("client_secret", expose(secret)));
    }
    if let Some(scope) = &cfg.scope {
        params.push(("scope", scope.clone()));
    }
    // The serializer is not Send: finish it before any await.
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        form.extend_pairs(cfg.options.iter().map(|(k, v)| (k, v.expose_secret())));
        form.finish()
    };
    let mut req = http
        .post(cfg.token_url.clone())
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    // Checked when the config was read; marked sensitive so no debug output shows them.
    for (k, v) in &cfg.token_headers {
        if let Ok(mut value) = HeaderValue::from_str(v.expose_secret()) {
            value.set_sensitive(true);
            req = req.header(k.as_str(), value);
        }
    }
    let failed = |reason: String| TokenError::Failed(Answer::Transient { status: None, reason });
    let resp = req.send().await.map_err(|e| failed(format!("oauth token endpoint: {}", e.without_url())))?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    if (200..300).contains(&status) {
        let access = text("access_token")
            .ok_or_else(|| failed("oauth token endpoint answered without an access_token".into()))?;
        let expires_in = body.get("expires_in").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
        return Ok(TokenResponse {
            access: SecretString::from(access),
            refresh: text("refresh_token").map(SecretString::from),
            expires_in,
        });
    }
    let error = text("error").unwrap_or_else(|| format!("http_{status}"));
    let detail = text("error_description").map(|d| format!(" ({d})")).unwrap_or_default();
    if status >= 500 || status == 429 {
        return Err(failed(format!("oauth token endpoint answered HTTP {status}: {error}{detail}")));
    }
    let hint = if error == "invalid_grant" { format!("; {RELOGIN}") } else { String::new() };
    Err(TokenError::Rejected(auth_answer(
        &error,
        format!("oauth token endpoint refused: {error}{detail}{hint}"),
    )))
}

fn auth_answer(code: &str, message: String) -> Refusal {
    Answer::Auth { status: 401, code: code.to_string(), message }
}

fn expose(s: &SecretString) -> String {
    s.expose_secret().to_string()
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn names(cfg: &OAuth2Settings) -> (&'static str, &'static str) {
    let token_type = match cfg.token_type {
        TokenType::Account => "account",
        TokenType::Agent => "agent",
    };
    (cfg.grant_type.as_str(), token_type)
}

/// Reads the cache file if it belongs to this client id and grant.
fn load(path: &Path, cfg: &OAuth2Settings) -> Option<Token> {
    let text = std::fs::read_to_string(path).ok()?;
    let s: StoredToken = serde_json::from_str(&text).ok()?;
    if s.client_id != cfg.client_id || s.grant_type != cfg.grant_type.as_str() {
        return None;
    }
    let refresh = s.refresh_token.map(SecretString::from);
    match s.access_token {
        Some(a) => {
            Some(Token { access: SecretString::from(a), refresh, refresh_at: s.refresh_at, generation: 1 })
        }
        // Only a refresh token: make the access token look expired so it is refreshed first.
        None => refresh.map(|r| Token {
            access: SecretString::from(String::new()),
            refresh: Some(r),
            refresh_at: Some(0),
            generation: 1,
        }),
    }
}

/// Writes the cache file atomically with mode 0600.
fn store(path: &Path, cfg: &OAuth2Settings, token: &Token) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |context: &str| {
        let context = format!("{context} {}", path.display());
        move |source| Error::Io { context, source }
    };
    if let Some(dir) = path.parent() {
        crate::private::create_dir(dir).map_err(io("cannot create the directory of"))?;
    }
    let (grant_type, token_type) = names(cfg);
    let stored = StoredToken {
        client_id: cfg.client_id.clone(),
        grant_type: grant_type.into(),
        token_type: token_type.into(),
        access_token: Some(expose(&token.access)).filter(|a| !a.is_empty()),
        refresh_token: token.refresh.as_ref().map(expose),
        refresh_at: token.refresh_at,
        obtained_at: unix_now(),
    };
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("cannot write"))?;
    let json = serde_json::to_vec_pretty(&stored).unwrap_or_default();
    f.write_all(&json).and_then(|()| f.sync_all()).map_err(io("cannot write"))?;
    std::fs::rename(&tmp, path).map_err(io("cannot replace"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::auth::AuthMethod;

    fn cfg() -> OAuth2Settings {
        let text = "[freshdesk]\nbase_url = \"http://127.0.0.1:9\"\n[auth]\nmethod = \"oauth2\"\n[auth.oauth2]\nclient_id = \"c\"\nclient_secret = \"s\"\ntoken_url = \"http://127.0.0.1:9/t\"\n";
        match Settings::from_toml(text).unwrap().auth.method {
            AuthMethod::OAuth2(o) => *o,
            _ => unreachable!(),
        }
    }

    fn response(expires_in: Option<u64>) -> TokenResponse {
        TokenResponse { access: SecretString::from("a"), refresh: None, expires_in }
    }

    #[test]
    fn tokens_are_refreshed_a_minute_early_or_at_ninety_percent_of_a_short_life() {
        let now = unix_now();
        let at = |ttl| response(Some(ttl)).into_token(None, 1).refresh_at.unwrap();
        assert!((now + 3540..=now + 3541).contains(&at(3600)));
        assert!((now + 90..=now + 91).contains(&at(100)));
        assert!(at(0) <= now + 1);
        assert_eq!(response(None).into_token(None, 1).refresh_at, None);
    }

    #[test]
    fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
        let t = response(Some(60)).into_token(Some(SecretString::from("old")), 2);
        assert_eq!(t.refresh.unwrap().expose_secret(), "old");
        assert_eq!(t.generation, 2);
    }

    #[test]
    fn the_cache_file_is_private_and_only_read_back_for_the_same_client() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(TOKEN_FILE);
        let token = response(Some(600)).into_token(Some(SecretString::from("r")), 1);
        store(&path, &cfg(), &token).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let back = load(&path, &cfg()).unwrap();
        assert_eq!(back.access.expose_secret(), "a");
        assert_eq!(back.refresh.unwrap().expose_secret(), "r");
        let mut other = cfg();
        other.client_id = "someone-else".into();
        assert!(load(&path, &other).is_none());
    }
}
