//! OAuth 2.0 for `method = "oauth2"` (placeholder while the token runtime is written).

use super::{Error, answer::Answer};
use crate::config::Settings;
use reqwest::header::{HeaderName, HeaderValue};

pub(crate) struct TokenSource {}

impl TokenSource {
    pub(crate) fn new(_settings: &Settings, _http: reqwest::Client) -> Result<Self, Error> {
        Err(Error::OAuth("not yet supported".into()))
    }

    pub(crate) async fn header(&self, _after_401: bool) -> Result<(HeaderName, HeaderValue), Answer> {
        Err(Answer::Auth { status: 401, code: "oauth".into(), message: "not supported".into() })
    }
}
