//! `fdsync auth login`: the authorization-code step with `state` and PKCE (S256). Binds the
//! loopback redirect listener, prints the authorize URL, waits for the browser, exchanges the
//! code and stores the tokens (mode 0600).

use super::super::Error;
use super::super::answer::Answer;
use super::{callback, names, store, token_file, token_request, unix_now};
use crate::config::Settings;
use crate::config::auth::{AuthMethod, OAuth2Settings};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::time::Duration;
use url::Url;

/// How long `login` waits for the browser to come back.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// `fdsync auth login`: prints the authorize URL to `out`, waits (up to [`LOGIN_TIMEOUT`]) for
/// the browser's redirect to a loopback listener, checks `state`, exchanges the code with the
/// PKCE verifier and stores the tokens in `<state_dir>/oauth-token.json` (mode 0600; another
/// connection's in `oauth-token-<name>.json`).
pub async fn login(settings: &Settings, out: &mut dyn std::io::Write) -> Result<(), Error> {
    login_within(settings, out, LOGIN_TIMEOUT).await
}

/// [`login`] with the wait given.
pub async fn login_within(
    settings: &Settings,
    out: &mut dyn std::io::Write,
    wait: Duration,
) -> Result<(), Error> {
    let AuthMethod::OAuth2(cfg) = &settings.auth.method else {
        return Err(Error::Config("auth login needs auth.method = \"oauth2\"".into()));
    };
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", cfg.redirect_port)).await.map_err(|source| {
            Error::Io { context: "cannot listen on 127.0.0.1 for the redirect".into(), source }
        })?;
    let port =
        listener.local_addr().map_err(|source| Error::Io { context: "listener".into(), source })?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let state = random_string(32)?;
    let verifier = random_string(64)?;
    let url = authorize_url(cfg, &redirect_uri, &state, &verifier)?;
    say(out, &format!("Open this URL in a browser and allow access:\n{url}"))?;
    say(out, &format!("Waiting up to {} s for the redirect to {redirect_uri} ...", wait.as_secs()))?;
    let code = tokio::time::timeout(wait, callback::wait_for_code(&listener, &state))
        .await
        .map_err(|_| Error::OAuth(format!("no redirect arrived within {} s", wait.as_secs())))??;
    let http = reqwest::Client::builder()
        .connect_timeout(settings.freshdesk.connect_timeout)
        .timeout(settings.freshdesk.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Build(e.without_url().to_string()))?;
    let params = vec![
        ("grant_type", "authorization_code".to_string()),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let resp = token_request(&http, cfg, params).await.map_err(|e| match e.into_answer() {
        Answer::Auth { message, .. } | Answer::Transient { reason: message, .. } => Error::OAuth(message),
        _ => Error::OAuth("the token endpoint gave an unexpected answer".into()),
    })?;
    let token = resp.into_token(None, 1);
    let path = token_file(settings);
    store(&path, cfg, &token)?;
    let (_, token_type) = names(cfg);
    let expiry = token.refresh_at.map_or("no expiry given".to_string(), |at| {
        format!("refreshed in {} s", at.saturating_sub(unix_now()))
    });
    let refresh = if token.refresh.is_some() { "with a refresh token" } else { "without a refresh token" };
    say(
        out,
        &format!(
            "Authorised ({token_type} token, {refresh}, {expiry}); stored in {} (mode 0600).",
            path.display()
        ),
    )
}

/// The authorize URL: the configured one plus response_type, client_id, redirect_uri, state,
/// the S256 challenge, scope and the extra options.
fn authorize_url(
    cfg: &OAuth2Settings,
    redirect_uri: &str,
    state: &str,
    verifier: &str,
) -> Result<Url, Error> {
    let mut url = cfg
        .authorize_url
        .clone()
        .ok_or_else(|| Error::Config("auth login needs auth.oauth2.authorize_url".into()))?;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(scope) = &cfg.scope {
            q.append_pair("scope", scope);
        }
        // The browser needs them on the URL: exposed here only, for the one URL shown to the user.
        q.extend_pairs(cfg.options.iter().map(|(k, v)| (k, secrecy::ExposeSecret::expose_secret(v))));
    }
    Ok(url)
}

fn say(out: &mut dyn std::io::Write, text: &str) -> Result<(), Error> {
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|source| Error::Io { context: "cannot write to the terminal".into(), source })
}

/// `len` characters from the PKCE unreserved set, drawn from the kernel's random source
/// (state and verifier must not be guessable).
fn random_string(len: usize) -> Result<String, Error> {
    use std::io::Read as _;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    let mut bytes = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| Error::Io { context: "cannot read /dev/urandom".into(), source })?;
    Ok(bytes.iter().map(|b| CHARS[usize::from(*b) % CHARS.len()] as char).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_strings_are_unreserved_and_differ() {
        let a = random_string(64).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)));
        assert_ne!(a, random_string(64).unwrap());
    }
}
