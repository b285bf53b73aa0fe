//! A scripted misbehaving server: raw HTTP/1.1 over TCP on a loopback port, so a test can answer
//! each request exactly as a broken proxy, WAF or gateway would: any status, headers and body, a
//! body cut short or announced longer than sent, a stall, a huge streamed answer, a close with
//! no answer. Rules match by method and path prefix, in order; each rule answers from its script
//! and repeats the last step when the script runs out. Every request is logged.

use fdsync::config::simulator_toml;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Step {
    /// A whole answer: status, extra headers, body (Content-Length set).
    Answer { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// Status and headers, then `len` bytes of `fill` streamed with no Content-Length, then close.
    Stream { status: u16, content_type: String, len: usize, fill: u8 },
    /// Announces `announced` bytes, sends `body`, then waits `stall` and closes.
    Cut { announced: usize, body: Vec<u8>, stall: Duration },
    /// Closes the connection without a byte.
    Close,
}

impl Step {
    pub fn json(status: u16, body: &str) -> Step {
        Step::Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }
    pub fn html(status: u16) -> Step {
        let body = "<html><head><title>Welcome</title></head><body>Please sign in to continue.</body></html>";
        Step::Answer { status, headers: vec![("Content-Type".into(), "text/html".into())], body: body.into() }
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Step {
        if let Step::Answer { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

struct Rule {
    method: &'static str,
    prefix: &'static str,
    steps: VecDeque<Step>,
    last: Option<Step>,
}

#[derive(Clone, Default)]
pub struct Misbehaving {
    rules: Arc<Mutex<Vec<Rule>>>,
    log: Arc<Mutex<Vec<(String, String)>>>,
    pub url: String,
}

impl Misbehaving {
    /// Starts the server on a free loopback port (bound before this returns: no sleeps needed).
    pub async fn start() -> Misbehaving {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = Misbehaving { url, ..Default::default() };
        let me = server.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.serve(socket).await });
            }
        });
        server
    }

    /// Answers `method` requests whose path starts with `prefix` with `steps`, in order.
    pub fn on(&self, method: &'static str, prefix: &'static str, steps: Vec<Step>) -> &Self {
        let rule = Rule { method, prefix, steps: steps.into(), last: None };
        self.rules.lock().unwrap().push(rule);
        self
    }

    /// Requests received so far whose method and path start as given.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|(m, p)| m == method && p.starts_with(prefix)).count()
    }

    fn next_step(&self, method: &str, path: &str) -> Step {
        let mut rules = self.rules.lock().unwrap();
        let rule = rules.iter_mut().find(|r| r.method == method && path.starts_with(r.prefix));
        let Some(rule) = rule else { return Step::Answer { status: 404, headers: vec![], body: vec![] } };
        if let Some(step) = rule.steps.pop_front() {
            rule.last = Some(step.clone());
            return step;
        }
        rule.last.clone().unwrap_or(Step::Close)
    }

    async fn serve(&self, mut socket: TcpStream) {
        loop {
            let Some((method, path)) = read_request(&mut socket).await else { return };
            self.log.lock().unwrap().push((method.clone(), path.clone()));
            let keep = match self.next_step(&method, &path) {
                Step::Answer { status, headers, body } => {
                    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    socket.write_all(head.as_bytes()).await.is_ok() && socket.write_all(&body).await.is_ok()
                }
                Step::Stream { status, content_type, len, fill } => {
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n"
                    );
                    if socket.write_all(head.as_bytes()).await.is_ok() {
                        let chunk = vec![fill; 64 * 1024];
                        let mut left = len;
                        while left > 0 {
                            let n = left.min(chunk.len());
                            if socket.write_all(&chunk[..n]).await.is_err() {
                                break;
                            }
                            left -= n;
                        }
                    }
                    false
                }
                Step::Cut { announced, body, stall } => {
                    let head = format!(
                        "HTTP/1.1 200 X\r\nContent-Type: application/json\r\nContent-Length: {announced}\r\n\r\n"
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                    tokio::time::sleep(stall).await;
                    false
                }
                Step::Close => false,
            };
            if !keep {
                let _ = socket.shutdown().await;
                return;
            }
        }
    }
}

/// Reads one request (head and Content-Length body); `None` when the peer closed.
async fn read_request(socket: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.ok()? == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut words = head.split_whitespace();
    let (method, path) = (words.next()?.to_string(), words.next()?.to_string());
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>())
        })
        .and_then(Result::ok)
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    socket.read_exact(&mut body).await.ok()?;
    Some((method, path))
}

/// A temp state folder and a config pointing fdsync at a misbehaving server.
pub struct Target {
    pub server: Misbehaving,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Target {
    /// `limits` lines go into `[limits]` (request timeout 1 s, so lost answers settle fast).
    pub async fn new(limits: &str) -> Target {
        let server = Misbehaving::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("fdsync.toml");
        let attempts = if limits.contains("max_attempts") { "" } else { "max_attempts = 2\n" };
        let extra = format!(
            "[freshdesk]\nrequest_timeout_secs = 1\nconnect_timeout_secs = 1\n\n[limits]\n{attempts}{limits}\n\n\
             [safety]\nmax_deletes_percent = 0\n"
        );
        let text = simulator_toml(&server.url, "misbehave-key", &dir.path().join("state"), &extra);
        std::fs::write(&config, text).expect("config");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        Target { server, dir, config }
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("input");
        path
    }

    /// Starts `fdsync run` on this target, quiet (warnings only, output discarded).
    pub fn daemon(&self) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_fdsync"))
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("fdsync run")
    }

    /// Runs `fdsync import FILE` and returns its output and the peak RSS it reached (from
    /// `/proc/<pid>/status` VmHWM, polled while it runs), in kB.
    pub async fn import(&self, file: &std::path::Path) -> (std::process::Output, u64) {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fdsync"));
        cmd.arg("--config").arg(&self.config).arg("import").arg(file);
        cmd.env_remove("FDSYNC_API_KEY").env_remove("FDSYNC_CONFIG").env("RUST_LOG", "warn");
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).kill_on_drop(true);
        let child = cmd.spawn().expect("spawn fdsync");
        let pid = child.id().expect("pid");
        let peak = Arc::new(Mutex::new(0u64));
        let watcher = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return };
                    if let Some(kb) = status.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                        let kb: u64 = kb.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                        let mut p = peak.lock().unwrap();
                        *p = (*p).max(kb);
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("fdsync import finished within 120 s")
            .expect("output");
        watcher.abort();
        let peak = *peak.lock().unwrap();
        (out, peak)
    }
}
