use super::*;
use crate::domain::Action;
use std::time::Duration;
use url::Url;

fn base(domain_line: &str) -> Result<Url, Error> {
    let text = format!("[freshdesk]\n{domain_line}\n[auth]\napi_key = \"k\"\n");
    Settings::from_toml(&text).map(|s| s.freshdesk.base_url)
}

#[test]
fn domains_in_three_spellings_normalise_to_one_url() {
    for d in
        ["acme", "acme.freshdesk.com", "https://acme.freshdesk.com/", "https://acme.freshdesk.com/api/v2/"]
    {
        assert_eq!(
            base(&format!("domain = \"{d}\"")).unwrap().as_str(),
            "https://acme.freshdesk.com/",
            "{d}"
        );
    }
}

#[test]
fn custom_domains_and_plain_http_are_refused() {
    let err = base("domain = \"support.acme.com\"").unwrap_err().to_string();
    assert!(err.contains("freshdesk.domain") && err.contains("freshdesk.com"), "{err}");
    let err = base("base_url = \"http://proxy.example.com\"").unwrap_err().to_string();
    assert!(err.contains("loopback"), "{err}");
    assert_eq!(base("base_url = \"http://127.0.0.1:8089\"").unwrap().as_str(), "http://127.0.0.1:8089/");
    assert_eq!(
        base("base_url = \"https://gw.example.com/fd\"").unwrap().as_str(),
        "https://gw.example.com/fd/"
    );
}

#[test]
fn unknown_keys_are_named_in_the_error() {
    let err = Settings::from_toml("[freshdesk]\ndomain = \"acme\"\n[limits]\nconcurency = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("concurency"), "{err}");
}

#[test]
fn the_example_config_parses() {
    // The example leaves the key commented out; supply one as an operator would.
    let text = EXAMPLE.replace("# api_key = \"your-api-key\"", "api_key = \"your-api-key\"");
    assert_ne!(text, EXAMPLE);
    let s = Settings::from_toml(&text).expect("config.example.toml must parse");
    assert_eq!(s.freshdesk.base_url.as_str(), "https://acme.freshdesk.com/");
    assert_eq!(s.limits.window, Duration::from_secs(60));
    assert_eq!(s.limits.reserve_percent, 10);
    assert!(!s.inboxes.is_empty());
    assert_eq!(s.safety.max_deletes_per_file, 25);
}

#[test]
fn an_inbox_date_format_and_attachments_dir_are_checked_at_load() {
    let head = "[freshdesk]\ndomain=\"acme\"\n[auth]\napi_key=\"k\"\n[[inbox]]\ndir=\"/tmp/x\"\n";
    let ok = format!("{head}date_format = \"DD/MM/YYYY\"\nattachments_dir = \"/srv/files\"\n");
    let inbox = &Settings::from_toml(&ok).unwrap().inboxes[0];
    assert_eq!(inbox.date_format.as_deref(), Some("DD/MM/YYYY"));
    assert_eq!(inbox.attachments_dir.as_deref(), Some(std::path::Path::new("/srv/files")));
    let err = Settings::from_toml(&format!("{head}date_format = \"31/12\"\n")).unwrap_err().to_string();
    assert!(err.contains("inbox[0].date_format"), "{err}");
    let err = Settings::from_toml(&format!("{head}attachments_dir = \"files\"\n")).unwrap_err().to_string();
    assert!(err.contains("inbox[0].attachments_dir"), "{err}");
}

#[test]
fn inbox_actions_accept_aliases_and_reject_unknown_ones() {
    let ok = "[freshdesk]\ndomain=\"acme\"\n[auth]\napi_key=\"k\"\n[[inbox]]\ndir=\"/tmp/x\"\naction=\"deleteAgent\"\n";
    assert_eq!(Settings::from_toml(ok).unwrap().inboxes[0].action, Some(Action::DeleteAgent));
    let bad = ok.replace("deleteAgent", "nuke");
    let err = Settings::from_toml(&bad).unwrap_err().to_string();
    assert!(err.contains("inbox[0].action"), "{err}");
}

const TWO: &str = "[freshdesk]\ndomain = \"acme\"\n[auth]\napi_key = \"k\"\n\
    [[connection]]\nname = \"it-desk\"\ndescription = \"internal IT\"\n\
    [connection.freshdesk]\ndomain = \"acme-it\"\n[connection.auth]\napi_key = \"k2\"\n\
    [connection.limits]\nconcurrency = 3\n";

#[test]
fn the_top_level_is_the_connection_default_and_each_connection_has_its_own_tables() {
    let s = Settings::from_toml(TWO).unwrap();
    let names: Vec<&str> = s.connections.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["default", "it-desk"]);
    assert_eq!(s.connection, "default");
    assert_eq!(s.freshdesk.base_url.as_str(), "https://acme.freshdesk.com/");
    let it = s.on_connection("it-desk").unwrap();
    assert_eq!(it.connection, "it-desk");
    assert_eq!(it.freshdesk.base_url.as_str(), "https://acme-it.freshdesk.com/");
    assert_eq!(it.limits.concurrency, 3);
    assert_eq!(s.connections[1].description.as_deref(), Some("internal IT"));
    assert_eq!(s.connections[0].account(), "acme.freshdesk.com:443");
    let err = s.on_connection("nope").unwrap_err().to_string();
    assert!(err.contains("'nope'") && err.contains("default, it-desk"), "{err}");
}

#[test]
fn inboxes_name_a_configured_connection_or_get_default() {
    let text = format!("{TWO}[[inbox]]\ndir = \"/a\"\n[[inbox]]\ndir = \"/b\"\nconnection = \"it-desk\"\n");
    let s = Settings::from_toml(&text).unwrap();
    assert_eq!(s.inbox_connection(&s.inboxes[0]), "default");
    assert_eq!(s.inbox_connection(&s.inboxes[1]), "it-desk");
    let bad = text.replace("connection = \"it-desk\"", "connection = \"hr\"");
    let err = Settings::from_toml(&bad).unwrap_err().to_string();
    assert!(err.contains("inbox[1].connection") && err.contains("default, it-desk"), "{err}");
}

#[test]
fn connection_names_are_checked_unique_and_default_is_given_once() {
    let only_named = "[[connection]]\nname = \"default\"\n[connection.freshdesk]\ndomain = \"acme\"\n\
        [connection.auth]\napi_key = \"k\"\n";
    assert_eq!(Settings::from_toml(only_named).unwrap().connection, "default");
    let both = format!("[freshdesk]\ndomain = \"acme\"\n[auth]\napi_key = \"k\"\n{only_named}");
    let err = Settings::from_toml(&both).unwrap_err().to_string();
    assert!(err.contains("connection[0].name") && err.contains("not both"), "{err}");
    let twice = TWO.to_string() + &TWO[TWO.find("[[connection]]").unwrap()..];
    let err = Settings::from_toml(&twice).unwrap_err().to_string();
    assert!(err.contains("unique"), "{err}");
    for bad in ["IT", "it desk", "", "ü"] {
        let err = Settings::from_toml(&TWO.replace("\"it-desk\"", &format!("\"{bad}\""))).unwrap_err();
        assert!(err.to_string().contains("connection[0].name"), "{bad}: {err}");
    }
    let err = Settings::from_toml("[limits]\nconcurrency = 2\n").unwrap_err().to_string();
    assert!(err.contains("freshdesk"), "{err}");
    let err = Settings::from_toml(&format!("[limits]\nconcurrency = 2\n{only_named}")).unwrap_err();
    assert!(err.to_string().contains("`default`"), "{err}");
    // An error inside a connection names it.
    let err = Settings::from_toml(&TWO.replace("concurrency = 3", "concurrency = 0")).unwrap_err();
    assert!(err.to_string().contains("connection.it-desk.limits.concurrency"), "{err}");
}

#[test]
fn connections_on_one_account_must_agree_on_its_quota() {
    let same = TWO.replace("acme-it", "acme");
    assert!(Settings::from_toml(&same).is_ok(), "concurrency is the connection's own");
    let err = Settings::from_toml(&same.replace("concurrency = 3", "reserve_percent = 30")).unwrap_err();
    assert!(err.to_string().contains("shares the account acme.freshdesk.com:443 with `default`"), "{err}");
}

#[test]
fn a_named_connections_secrets_have_their_own_names() {
    use crate::config::auth::{AuthMethod, SecretNames};
    use secrecy::ExposeSecret;
    let names = SecretNames { connection: Some("it-desk") };
    assert_eq!(names.credential("api_key"), "it-desk-api_key");
    assert_eq!(names.env_var("API_KEY"), "FDSYNC_IT_DESK_API_KEY");
    let env = |k: &str| (k == "FDSYNC_IT_DESK_API_KEY").then(|| "from-env".to_string());
    let a = AuthSettings::resolve_named(auth::RawAuth::default(), None, &env, names).unwrap();
    assert!(matches!(&a.method, AuthMethod::ApiKey(k) if k.expose_secret() == "from-env"));
    let err = AuthSettings::resolve_named(auth::RawAuth::default(), None, &|_| None, names).unwrap_err();
    let err = err.to_string();
    assert!(err.contains("it-desk-api_key") && err.contains("FDSYNC_IT_DESK_API_KEY"), "{err}");
    // The connection `default` keeps today's names.
    assert!(AuthSettings::resolve_with(auth::RawAuth::default(), None, &env).is_err());
}

#[test]
fn a_connection_named_default_keeps_todays_secret_names() {
    let only_named = "[[connection]]\nname = \"default\"\n[connection.freshdesk]\ndomain = \"acme\"\n";
    let err = Settings::from_toml(only_named).err().map(|e| e.to_string()).unwrap_or_default();
    // Without FDSYNC_API_KEY in the environment the error names today's places.
    if std::env::var_os("FDSYNC_API_KEY").is_none() {
        assert!(err.contains("FDSYNC_API_KEY") && !err.contains("FDSYNC_DEFAULT_API_KEY"), "{err}");
    }
}
