//! TEMPORARY stub with the agreed API; replaced by the pacer branch.

use crate::config::Limits;
use crate::freshdesk::{Answer, EndpointClass, Reply};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct ClassCaps {
    pub ticket_create: u32,
    pub ticket_update: u32,
    pub tickets_list: u32,
    pub contacts_list: u32,
}

#[derive(Debug, Clone)]
pub struct PacerConfig {
    pub requests_per_window: u32,
    pub window: Duration,
    pub reserve_percent: u8,
    pub max_concurrency: usize,
    pub class_caps: ClassCaps,
}

impl PacerConfig {
    pub fn from_limits(l: &Limits) -> Self {
        Self {
            requests_per_window: l.requests_per_window,
            window: l.window,
            reserve_percent: l.reserve_percent,
            max_concurrency: l.concurrency,
            class_caps: ClassCaps::default(),
        }
    }
}

#[derive(Clone, Debug, serde::Serialize, Default)]
pub struct PacerSnapshot {
    pub server_total: Option<u32>,
    pub budget_per_window: Option<u32>,
    pub window_secs: f64,
    pub remaining: Option<u32>,
    pub in_flight: usize,
    pub concurrency_limit: usize,
    pub requests: u64,
    pub credits_used: u64,
    pub rate_limited: u64,
    pub paused_for_ms: u64,
}

pub struct Pacer {
    sem: Arc<Semaphore>,
    paused_until: Mutex<Option<Instant>>,
    cfg: PacerConfig,
}

pub struct Permit {
    pacer: Arc<Pacer>,
    _slot: OwnedSemaphorePermit,
}

impl Pacer {
    pub fn new(cfg: PacerConfig) -> Arc<Self> {
        Arc::new(Self { sem: Arc::new(Semaphore::new(cfg.max_concurrency)), paused_until: Mutex::new(None), cfg })
    }

    pub async fn acquire(self: &Arc<Self>, _class: EndpointClass) -> Permit {
        loop {
            let until = *self.paused_until.lock().unwrap();
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        let slot = self.sem.clone().acquire_owned().await.expect("semaphore open");
        Permit { pacer: self.clone(), _slot: slot }
    }

    pub fn snapshot(&self) -> PacerSnapshot {
        PacerSnapshot { window_secs: self.cfg.window.as_secs_f64(), ..Default::default() }
    }

    pub fn pause_for(&self, d: Duration) {
        *self.paused_until.lock().unwrap() = Some(Instant::now() + d);
    }
}

impl Permit {
    pub fn finish(self, reply: &Reply) {
        if let Answer::RateLimited { retry_after } = reply.answer {
            self.pacer.pause_for(retry_after);
        }
    }
}
