//! `spawn_sim` and request helpers shared by the integration tests.

use fdsync_sim::{SimConfig, SimHandle};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::Value;

pub struct TestSim {
    pub handle: SimHandle,
    pub client: Client,
    pub base: String,
    pub key: String,
}

/// Starts a simulator on port 0 (bound before serving: no sleeps).
pub async fn spawn_sim(config: SimConfig) -> TestSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = fdsync_sim::serve(listener, config, std::future::pending()).await;
    let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestSim { base: handle.base_url(), key: handle.api_key(), handle, client }
}

pub async fn spawn_default() -> TestSim {
    spawn_sim(SimConfig::default()).await
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path)).basic_auth(&self.key, Some("X"))
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.client.delete(self.url(path)).basic_auth(&self.key, Some("X"))
    }

    pub fn post(&self, path: &str, body: &Value) -> RequestBuilder {
        self.client.post(self.url(path)).basic_auth(&self.key, Some("X")).json(body)
    }

    pub fn put(&self, path: &str, body: &Value) -> RequestBuilder {
        self.client.put(self.url(path)).basic_auth(&self.key, Some("X")).json(body)
    }

    /// Sends and returns status, headers and the body parsed as JSON (Null when empty).
    pub async fn send(&self, req: RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let resp = req.send().await.expect("an HTTP answer");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, body)
    }

    pub async fn create_ticket(&self, body: Value) -> (StatusCode, Value) {
        let (s, _, b) = self.send(self.post("/api/v2/tickets", &body)).await;
        (s, b)
    }
}

/// A valid ticket body for `email` with `tag`.
pub fn ticket(email: &str, tag: &str) -> Value {
    serde_json::json!({
        "email": email, "subject": "Disk full on db-07", "description": "<div>Disk usage 98% on /var</div>",
        "status": 2, "priority": 3, "tags": ["monitoring", tag],
    })
}

/// Polls `cond` every 20 ms for up to `secs` seconds.
pub async fn wait_until(secs: u64, mut cond: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if cond().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}
