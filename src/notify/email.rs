//! Sending a [`Message`] by e-mail over SMTP (lettre, rustls with the aws-lc-rs provider that
//! reqwest already uses): the summary line as subject, the body from [`Message::email_body`],
//! the report attached when it is at most [`MAX_ATTACHMENT`] bytes. Every SMTP step has a
//! timeout and the whole send a deadline. The password only ever goes to lettre's AUTH.

use super::Undelivered;
use super::message::Message;
use crate::config::notify::{EmailTarget, SmtpTls};
use crate::text::shown;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::Path;
use std::time::Duration;

/// The largest report attached; a larger one is named in the body instead.
const MAX_ATTACHMENT: u64 = 10 << 20;
/// Subject lines are cut here.
const MAX_SUBJECT: usize = 150;

/// Sends `message` to `target`; `step` bounds each SMTP step (connect included), `total` the send.
pub(super) async fn send(
    target: &EmailTarget,
    message: &Message,
    step: Duration,
    total: Duration,
) -> Result<(), Undelivered> {
    let email = build(target, message).map_err(Undelivered::Final)?;
    let transport = transport(target, step).map_err(Undelivered::Final)?;
    match tokio::time::timeout(total, transport.send(email)).await {
        Err(_) => Err(Undelivered::Retry("timed out".into())),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.is_permanent() => Err(Undelivered::Final(format!("SMTP: {}", shown(&e.to_string())))),
        Ok(Err(e)) => Err(Undelivered::Retry(format!("SMTP: {}", shown(&e.to_string())))),
    }
}

fn transport(t: &EmailTarget, step: Duration) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = |e: lettre::transport::smtp::Error| format!("cannot set up TLS for {}: {e}", t.host);
    let builder = match t.tls {
        SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&t.host).map_err(tls)?,
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&t.host).map_err(tls)?,
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&t.host),
    };
    let mut builder = builder.port(t.port).timeout(Some(step));
    if let (Some(user), Some(password)) = (&t.username, &t.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_string()));
    }
    Ok(builder.build())
}

fn build(t: &EmailTarget, message: &Message) -> Result<lettre::Message, String> {
    let subject: String = message.plain.chars().take(MAX_SUBJECT).collect();
    let mut builder = lettre::Message::builder().from(t.from.clone()).subject(subject);
    for to in &t.to {
        builder = builder.to(to.clone());
    }
    let mut body = message.email_body();
    let attachment = message.report.as_deref().and_then(|p| attachment(Path::new(p), &mut body));
    let text = SinglePart::plain(body);
    let built = match attachment {
        Some(report) => builder.multipart(MultiPart::mixed().singlepart(text).singlepart(report)),
        None => builder.singlepart(text),
    };
    built.map_err(|e| format!("cannot build the e-mail: {e}"))
}

/// The report as an attachment, or a line in `body` saying why it is not attached.
fn attachment(path: &Path, body: &mut String) -> Option<SinglePart> {
    let size = std::fs::metadata(path).map(|m| m.len()).ok()?;
    if size > MAX_ATTACHMENT {
        body.push_str(&format!("(The report is {size} bytes, too large to attach.)\n"));
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let name = path.file_name().map_or("report.csv".into(), |n| n.to_string_lossy().into_owned());
    let csv = ContentType::parse("text/csv; charset=utf-8").ok()?;
    Some(Attachment::new(name).body(bytes, csv))
}
