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
fn inbox_actions_accept_aliases_and_reject_unknown_ones() {
    let ok = "[freshdesk]\ndomain=\"acme\"\n[auth]\napi_key=\"k\"\n[[inbox]]\ndir=\"/tmp/x\"\naction=\"deleteAgent\"\n";
    assert_eq!(Settings::from_toml(ok).unwrap().inboxes[0].action, Some(Action::DeleteAgent));
    let bad = ok.replace("deleteAgent", "nuke");
    let err = Settings::from_toml(&bad).unwrap_err().to_string();
    assert!(err.contains("inbox[0].action"), "{err}");
}
