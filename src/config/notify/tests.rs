use super::*;

#[derive(Deserialize)]
struct Sections {
    notify: Vec<RawNotify>,
}

fn resolve_with(toml_text: &str, env: EnvLookup) -> Result<Vec<NotifyTarget>, Error> {
    let raw: Sections = toml::from_str(toml_text).expect("toml");
    resolve_all_with(raw.notify, None, env)
}

fn resolve(toml_text: &str) -> Result<Vec<NotifyTarget>, Error> {
    resolve_with(toml_text, &|_| None)
}

const SECRET_URL: &str = "https://hooks.example.com/services/T000/B000/s3cr3t-t0ken";

#[test]
fn a_webhook_section_defaults_to_everything_but_done_and_is_labelled_by_host_only() {
    let t = resolve(&format!("[[notify]]\nwebhook_url = \"{SECRET_URL}\"\n")).unwrap();
    assert_eq!(t[0].name, "notify1");
    assert!(!t[0].on.contains(&NotifyEvent::Done) && t[0].on.len() == 5);
    assert_eq!(t[0].label, "webhook https://hooks.example.com/…");
    assert!(t[0].key.starts_with("webhook-") && !t[0].key.contains("s3cr3t"));
    let Target::Webhook { url } = &t[0].target else { panic!("webhook") };
    assert_eq!(url.expose_secret(), SECRET_URL);
    let other = resolve("[[notify]]\nwebhook_url = \"https://hooks.example.com/other\"\n").unwrap();
    assert_ne!(other[0].key, t[0].key, "a changed URL is another target");
    assert!(!format!("{:?}", t[0]).contains("s3cr3t"), "Debug hides the URL");
}

#[test]
fn events_are_checked_and_errors_never_quote_a_webhook_url() {
    let t =
        resolve(&format!("[[notify]]\non = [\"done\", \"HELD\"]\nwebhook_url = \"{SECRET_URL}\"\n")).unwrap();
    assert_eq!(t[0].on, [NotifyEvent::Done, NotifyEvent::Held]);
    let err = resolve(&format!("[[notify]]\non = [\"exploded\"]\nwebhook_url = \"{SECRET_URL}\"\n"));
    assert!(err.unwrap_err().to_string().contains("notify[0].on"));
    for bad in ["http://hooks.example.com/s3cr3t", "ftp://hooks.example.com/s3cr3t", "not a url s3cr3t"] {
        let err = resolve(&format!("[[notify]]\nwebhook_url = \"{bad}\"\n")).unwrap_err().to_string();
        assert!(err.contains("notify[0].webhook_url") && !err.contains("s3cr3t"), "{err}");
    }
    assert!(resolve("[[notify]]\nwebhook_url = \"http://127.0.0.1:9/hook\"\n").is_ok(), "loopback http");
    let err = resolve("[[notify]]\nname = \"x\"\n").unwrap_err().to_string();
    assert!(err.contains("webhook_url") && err.contains("email"), "{err}");
}

#[test]
fn a_webhook_url_comes_from_a_file_the_credentials_directory_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hook");
    crate::private::write(&file, format!("{SECRET_URL}\n")).unwrap();
    let t = resolve(&format!("[[notify]]\nwebhook_url_file = \"{}\"\n", file.display())).unwrap();
    assert!(matches!(&t[0].target, Target::Webhook { url } if url.expose_secret() == SECRET_URL));
    std::fs::write(dir.path().join("hr_webhook_url"), SECRET_URL).unwrap();
    let creds = dir.path().display().to_string();
    let env = move |k: &str| (k == "CREDENTIALS_DIRECTORY").then(|| creds.clone());
    let t = resolve_with("[[notify]]\nname = \"hr\"\n", &env).unwrap();
    assert!(matches!(&t[0].target, Target::Webhook { url } if url.expose_secret() == SECRET_URL));
    let env = |k: &str| (k == "FDSYNC_IT_DESK_WEBHOOK_URL").then(|| SECRET_URL.to_string());
    assert!(resolve_with("[[notify]]\nname = \"it-desk\"\n", &env).is_ok());
}

#[test]
fn email_targets_choose_tls_by_scheme_and_keep_the_password_out_of_the_url() {
    let section = |url: &str| {
        format!(
            "[[notify]]\nemail = {{ smtp_url = \"{url}\", from = \"fdsync <fdsync@example.com>\", to = [\"hr@example.com\"] }}\n"
        )
    };
    let t = resolve(&section("smtps://mail.example.com")).unwrap();
    let Target::Email(e) = &t[0].target else { panic!("email") };
    assert_eq!((e.tls, e.port, t[0].label.as_str()), (SmtpTls::Implicit, 465, "smtp mail.example.com"));
    let t = resolve(&section("smtp://mail.example.com:2525")).unwrap();
    assert!(matches!(&t[0].target, Target::Email(e) if e.tls == SmtpTls::StartTls && e.port == 2525));
    let t = resolve(&section("smtp://127.0.0.1:2525")).unwrap();
    assert!(matches!(&t[0].target, Target::Email(e) if e.tls == SmtpTls::None));
    let err = resolve(&section("smtps://u:pw@mail.example.com")).unwrap_err().to_string();
    assert!(err.contains("password") && !err.contains("pw@"), "{err}");
    let with_password = "[[notify]]\nemail = { smtp_url = \"smtps://fdsync%40example.com@mail.example.com\", from = \"a@example.com\", to = [\"b@example.com\"], smtp_password = \"pw\" }\n";
    let t = resolve(with_password).unwrap();
    let Target::Email(e) = &t[0].target else { panic!("email") };
    assert_eq!(e.username.as_deref(), Some("fdsync@example.com"));
    assert_eq!(e.password.as_ref().map(|p| p.expose_secret().to_string()).as_deref(), Some("pw"));
    let bad = "[[notify]]\nemail = { smtp_url = \"smtps://m.example.com\", from = \"nope\", to = [\"b@example.com\"] }\n";
    assert!(resolve(bad).unwrap_err().to_string().contains("notify[0].email.from"));
}

#[test]
fn names_are_unique_and_a_section_has_one_target() {
    let two = format!(
        "[[notify]]\nname = \"a\"\nwebhook_url = \"{SECRET_URL}\"\n[[notify]]\nname = \"a\"\nwebhook_url = \"{SECRET_URL}\"\n"
    );
    assert!(resolve(&two).unwrap_err().to_string().contains("twice"));
    let both = format!(
        "[[notify]]\nwebhook_url = \"{SECRET_URL}\"\nemail = {{ smtp_url = \"smtps://m.example.com\", from = \"a@example.com\", to = [\"b@example.com\"] }}\n"
    );
    assert!(resolve(&both).unwrap_err().to_string().contains("not both"));
}

#[test]
fn the_examples_notify_sections_parse_once_uncommented() {
    let example = crate::config::EXAMPLE;
    let start = example.find("# [[notify]]").expect("a [[notify]] example");
    let text: String = example[start..]
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .filter(|l| !l.starts_with('#') && !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "webhook_url_file = \"/etc/fdsync/slack_webhook\"",
            &format!("webhook_url = \"{SECRET_URL}\""),
        )
        .replace("smtp_password_file = \"/etc/fdsync/smtp_password\"", "smtp_password = \"pw\"");
    let t = resolve(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!((t.len(), t[0].name.as_str(), t[1].name.as_str()), (2, "it-chat", "hr-mail"));
    assert!(
        matches!(&t[1].target, Target::Email(e) if e.username.as_deref() == Some("fdsync") && e.to.len() == 1)
    );
}
