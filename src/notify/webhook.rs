//! Posting a [`Message`] to a webhook: one reqwest client with a connect timeout and a total
//! deadline, redirects not followed (the body goes to the configured URL and nowhere else), and
//! at most [`MAX_ANSWER`] bytes of the answer read. No error text carries the URL.

use super::Undelivered;
use super::message::Message;
use crate::text::shown;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// Bytes of a receiver's answer read (for the error message); the rest is left unread.
const MAX_ANSWER: usize = 4096;

pub(super) struct Webhook {
    client: reqwest::Client,
}

impl Webhook {
    pub(super) fn new(connect: Duration, total: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("fdsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the webhook client: {}", e.without_url()))?;
        Ok(Self { client })
    }

    /// Posts `message` as JSON. 2xx is delivered; 408, 429, 5xx and transport errors are worth a
    /// retry; any other answer (a redirect, 4xx) will not change and is final.
    pub(super) async fn send(&self, url: &SecretString, message: &Message) -> Result<(), Undelivered> {
        let sent = self.client.post(url.expose_secret()).json(message).send().await;
        let mut resp = sent.map_err(|e| Undelivered::Retry(describe(e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let mut answer = Vec::new();
        while answer.len() < MAX_ANSWER {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    answer.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER - answer.len())])
                }
                _ => break,
            }
        }
        let why = format!("HTTP {}: {}", status.as_u16(), shown(String::from_utf8_lossy(&answer).trim()));
        if status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error() {
            Err(Undelivered::Retry(why))
        } else {
            Err(Undelivered::Final(why))
        }
    }
}

/// A transport error in words, without the URL.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        format!("request failed: {e}")
    }
}
