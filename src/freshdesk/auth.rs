//! Builds the credential header of a request from `[auth]` (header name, prefix, secret). The
//! value is marked sensitive so it never shows in a `Debug` of the request. Rule (config/auth.rs):
//! prefix `Basic` → `Basic base64(user:pass)`; `Bearer`/`Token`/`None` → the raw secret.

use super::Error;
use crate::config::auth::{AuthMethod, AuthSettings, Prefix};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Once;

static BASIC_WARNING: Once = Once::new();

/// The header for `api_key` and `basic`; `None` for `oauth2` (built per token by
/// [`token_header`]).
pub fn static_header(auth: &AuthSettings) -> Result<Option<(HeaderName, HeaderValue)>, Error> {
    let value = match &auth.method {
        AuthMethod::ApiKey(key) => secret_value(auth.prefix, key.expose_secret(), "X"),
        AuthMethod::Basic { username, password } => {
            BASIC_WARNING.call_once(|| {
                tracing::warn!(
                    "auth method basic: Freshdesk retired user name and password logins for API v2 in 2021; use an API key"
                );
            });
            let pair = STANDARD.encode(format!("{username}:{}", password.expose_secret()));
            with_prefix(auth.prefix, &pair)
        }
        AuthMethod::OAuth2(_) => return Ok(None),
    };
    Ok(Some((header_name(auth)?, sensitive(value)?)))
}

/// The header carrying an OAuth access token.
pub fn token_header(auth: &AuthSettings, token: &SecretString) -> Result<(HeaderName, HeaderValue), Error> {
    let value = secret_value(auth.prefix, token.expose_secret(), "X");
    Ok((header_name(auth)?, sensitive(value)?))
}

fn header_name(auth: &AuthSettings) -> Result<HeaderName, Error> {
    HeaderName::from_bytes(auth.header.as_bytes())
        .map_err(|_| Error::Config(format!("auth.header '{}' is not a header name", auth.header)))
}

/// A single secret (API key, token): Basic wraps it as `secret:filler`, others send it raw.
fn secret_value(prefix: Prefix, secret: &str, filler: &str) -> String {
    match prefix {
        Prefix::Basic => with_prefix(prefix, &STANDARD.encode(format!("{secret}:{filler}"))),
        _ => with_prefix(prefix, secret),
    }
}

fn with_prefix(prefix: Prefix, rest: &str) -> String {
    match prefix {
        Prefix::Basic => format!("Basic {rest}"),
        Prefix::Bearer => format!("Bearer {rest}"),
        Prefix::Token => format!("Token {rest}"),
        Prefix::None => rest.to_string(),
    }
}

fn sensitive(value: String) -> Result<HeaderValue, Error> {
    let mut v = HeaderValue::from_str(&value)
        .map_err(|_| Error::Config("the credential contains characters not allowed in a header".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(method: AuthMethod, header: &str, prefix: Prefix) -> AuthSettings {
        AuthSettings { method, header: header.into(), prefix }
    }

    fn key() -> AuthMethod {
        AuthMethod::ApiKey(SecretString::from("abc123"))
    }

    fn basic() -> AuthMethod {
        AuthMethod::Basic { username: "jo@x.com".into(), password: SecretString::from("pw") }
    }

    fn bytes(auth: &AuthSettings) -> (String, Vec<u8>) {
        let (name, value) = static_header(auth).unwrap().unwrap();
        assert!(value.is_sensitive());
        (name.to_string(), value.as_bytes().to_vec())
    }

    #[test]
    fn each_mode_and_prefix_gives_the_documented_header_bytes() {
        let rows: Vec<(AuthMethod, &str, Prefix, &str, &str)> = vec![
            // base64("abc123:X") = YWJjMTIzOlg=
            (key(), "Authorization", Prefix::Basic, "authorization", "Basic YWJjMTIzOlg="),
            (key(), "Authorization", Prefix::Bearer, "authorization", "Bearer abc123"),
            (key(), "Authorization", Prefix::Token, "authorization", "Token abc123"),
            (key(), "X-Api-Key", Prefix::None, "x-api-key", "abc123"),
            // base64("jo@x.com:pw") = am9AeC5jb206cHc=
            (basic(), "Authorization", Prefix::Basic, "authorization", "Basic am9AeC5jb206cHc="),
            (basic(), "X-Auth", Prefix::Token, "x-auth", "Token am9AeC5jb206cHc="),
            (basic(), "X-Auth", Prefix::None, "x-auth", "am9AeC5jb206cHc="),
        ];
        for (method, header, prefix, want_name, want_value) in rows {
            let (name, value) = bytes(&settings(method, header, prefix));
            assert_eq!(name, want_name);
            assert_eq!(value, want_value.as_bytes(), "{header} {prefix:?}");
        }
    }

    #[test]
    fn tokens_follow_the_prefix_raw_or_as_a_basic_pair() {
        let oauth = |prefix| AuthSettings {
            method: AuthMethod::ApiKey(SecretString::from("unused")),
            header: "Authorization".into(),
            prefix,
        };
        let tok = SecretString::from("t0k");
        let (_, v) = token_header(&oauth(Prefix::Bearer), &tok).unwrap();
        assert_eq!(v.as_bytes(), b"Bearer t0k");
        assert!(v.is_sensitive());
        let (_, v) = token_header(&oauth(Prefix::Basic), &tok).unwrap();
        assert_eq!(v.as_bytes(), b"Basic dDBrOlg=");
    }

    #[test]
    fn a_secret_with_a_newline_is_an_error_that_does_not_show_it() {
        let auth =
            settings(AuthMethod::ApiKey(SecretString::from("bad\nkey")), "Authorization", Prefix::None);
        let err = static_header(&auth).unwrap_err().to_string();
        assert!(!err.contains("bad"), "{err}");
    }
}
