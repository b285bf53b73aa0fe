//! The loopback redirect listener of `fdsync auth login`: accepts browser requests until one
//! carries `code` (or `error`) for `/callback`, checks `state`, and answers with a short page.

use super::super::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 16 * 1024;

/// Waits for the redirect and returns the authorization code.
pub(super) async fn wait_for_code(listener: &TcpListener, state: &str) -> Result<String, Error> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|source| Error::Io { context: "redirect listener".into(), source })?;
        let Some(target) = read_target(&mut stream).await else {
            continue;
        };
        match parse_callback(&target, state) {
            Callback::Other => respond(&mut stream, "404 Not Found", "Not the fdsync callback.").await,
            Callback::Code(code) => {
                respond(&mut stream, "200 OK", "fdsync is authorised. You can close this window.").await;
                return Ok(code);
            }
            Callback::Refused(why) => {
                respond(&mut stream, "400 Bad Request", "fdsync was not authorised.").await;
                return Err(Error::OAuth(why));
            }
        }
    }
}

#[derive(Debug, PartialEq)]
enum Callback {
    Other,
    Code(String),
    Refused(String),
}

/// Reads the request head and returns its target (`/callback?code=..`).
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_HEAD {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next()?.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Some(target.to_string()),
        _ => None,
    }
}

fn parse_callback(target: &str, state: &str) -> Callback {
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Callback::Other;
    };
    if url.path() != "/callback" {
        return Callback::Other;
    }
    let get = |k: &str| url.query_pairs().find(|(key, _)| key == k).map(|(_, v)| v.into_owned());
    if get("state").as_deref() != Some(state) {
        return Callback::Refused(
            "the redirect's state does not match; start `fdsync auth login` again".into(),
        );
    }
    if let Some(error) = get("error") {
        let detail = get("error_description").map(|d| format!(" ({d})")).unwrap_or_default();
        return Callback::Refused(format!("authorisation refused: {error}{detail}"));
    }
    match get("code") {
        Some(code) if !code.is_empty() => Callback::Code(code),
        _ => Callback::Refused("the redirect carried no code".into()),
    }
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_yields_the_code_only_with_the_right_state() {
        assert_eq!(parse_callback("/callback?code=abc&state=s1", "s1"), Callback::Code("abc".into()));
        assert!(
            matches!(parse_callback("/callback?code=abc&state=s2", "s1"), Callback::Refused(m) if m.contains("state"))
        );
        assert!(matches!(parse_callback("/callback?code=abc", "s1"), Callback::Refused(_)));
        assert!(matches!(
            parse_callback("/callback?error=access_denied&state=s1", "s1"),
            Callback::Refused(m) if m.contains("access_denied")
        ));
        assert_eq!(parse_callback("/favicon.ico", "s1"), Callback::Other);
    }
}
