use super::*;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

fn raw(text: &str) -> RawAuth {
    toml::from_str(text).unwrap()
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

fn key_of(a: &AuthSettings) -> String {
    match &a.method {
        AuthMethod::ApiKey(k) => k.expose_secret().to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn secrets_come_from_config_then_file_then_credentials_dir_then_env() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.txt"), "from-file\n").unwrap();
    std::fs::set_permissions(dir.path().join("key.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("api_key"), "from-creds\n").unwrap();
    let env = env_of(&[("CREDENTIALS_DIRECTORY", creds.to_str().unwrap()), ("FDSYNC_API_KEY", "from-env")]);
    let cfg = dir.path().join("fdsync.toml");

    let a =
        AuthSettings::resolve_with(raw("api_key = \"inline\"\napi_key_file = \"key.txt\""), Some(&cfg), &env);
    assert_eq!(key_of(&a.unwrap()), "inline");
    // A relative *_file is relative to the config file.
    let a = AuthSettings::resolve_with(raw("api_key_file = \"key.txt\""), Some(&cfg), &env);
    assert_eq!(key_of(&a.unwrap()), "from-file");
    let a = AuthSettings::resolve_with(raw(""), Some(&cfg), &env);
    assert_eq!(key_of(&a.unwrap()), "from-creds");
    let env = env_of(&[("CREDENTIALS_DIRECTORY", "/nonexistent"), ("FDSYNC_API_KEY", " from-env ")]);
    let a = AuthSettings::resolve_with(raw(""), Some(&cfg), &env);
    assert_eq!(key_of(&a.unwrap()), "from-env");
}

#[test]
fn a_missing_secret_names_every_place_it_may_come_from() {
    let err = AuthSettings::resolve_with(raw(""), None, &env_of(&[])).unwrap_err().to_string();
    for part in ["auth.api_key", "api_key_file", "CREDENTIALS_DIRECTORY/api_key", "FDSYNC_API_KEY"] {
        assert!(err.contains(part), "{part} missing from {err}");
    }
}

#[test]
fn a_missing_secret_file_names_the_key_and_path() {
    let err = AuthSettings::resolve_with(raw("api_key_file = \"/nope/key\""), None, &env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("auth.api_key_file") && err.contains("/nope/key"), "{err}");
}

#[test]
fn basic_auth_reads_the_password_from_the_credentials_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), "s3cret\n").unwrap();
    let env = env_of(&[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())]);
    let a =
        AuthSettings::resolve_with(raw("method = \"basic\"\nusername = \"jo@x.com\""), None, &env).unwrap();
    match a.method {
        AuthMethod::Basic { username, password } => {
            assert_eq!(username, "jo@x.com");
            assert_eq!(password.expose_secret(), "s3cret");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.prefix, Prefix::Basic);
}

#[test]
fn oauth2_is_typed_and_defaults_to_bearer() {
    let text = r#"
method = "oauth2"
[oauth2]
client_id = "cid"
token_url = "http://127.0.0.1:9/oauth/token"
grant_type = "password"
username = "svc"
scope = "tickets agents"
token_type = "agent"
options = { audience = "fd" }
token_headers = { X-Tenant = "acme" }
"#;
    let env = env_of(&[("FDSYNC_CLIENT_SECRET", "cs"), ("FDSYNC_PASSWORD", "pw")]);
    let a = AuthSettings::resolve_with(raw(text), None, &env).unwrap();
    assert_eq!(a.prefix, Prefix::Bearer);
    let AuthMethod::OAuth2(o) = a.method else { panic!("not oauth2") };
    assert_eq!(o.grant_type, GrantType::Password);
    assert_eq!(o.token_type, TokenType::Agent);
    assert_eq!(o.client_secret.as_ref().unwrap().expose_secret(), "cs");
    assert_eq!(o.password.as_ref().unwrap().expose_secret(), "pw");
    assert_eq!(o.options["audience"].expose_secret(), "fd");
    assert_eq!(o.token_headers["X-Tenant"].expose_secret(), "acme");
    let shown = format!("{o:?}");
    assert!(shown.contains("audience") && shown.contains("X-Tenant"), "{shown}");
    assert!(!shown.contains("\"fd\"") && !shown.contains("acme"), "values are secrets: {shown}");
}

#[test]
fn oauth2_rejects_unknown_keys_plain_http_and_missing_pieces() {
    let bad = [
        (
            "method = \"oauth2\"\n[oauth2]\nclient_id=\"c\"\ntoken_url=\"https://a/t\"\nclientsecret=\"x\"",
            "clientsecret",
        ),
        (
            "method = \"oauth2\"\n[oauth2]\nclient_id=\"c\"\nclient_secret=\"s\"\ntoken_url=\"http://idp.example.com/t\"",
            "token_url",
        ),
        ("method = \"oauth2\"\n[oauth2]\nclient_id=\"c\"\ntoken_url=\"https://a/t\"", "client_secret"),
        (
            "method = \"oauth2\"\n[oauth2]\nclient_id=\"c\"\nclient_secret=\"s\"\ntoken_url=\"https://a/t\"\ngrant_type=\"authorization_code\"",
            "authorize_url",
        ),
        (
            "method = \"oauth2\"\n[oauth2]\nclient_id=\"c\"\nclient_secret=\"s\"\ntoken_url=\"https://a/t\"\ngrant_type=\"implicit\"",
            "grant_type",
        ),
        ("method = \"oauth2\"", "auth.oauth2"),
    ];
    for (text, want) in bad {
        let err = match toml::from_str::<RawAuth>(text) {
            Ok(r) => AuthSettings::resolve_with(r, None, &env_of(&[])).unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(want), "{want}: {err}");
    }
}

#[test]
fn a_group_readable_config_with_an_inline_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fdsync.toml");
    std::fs::write(&path, "x").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = check_file_permissions(&path, &raw("api_key = \"k\"")).unwrap_err().to_string();
    assert!(err.contains("chmod 600") && err.contains("fdsync.toml"), "{err}");
    assert!(!err.contains("\"k\""));
    // No inline secret: fine. Private file: fine.
    check_file_permissions(&path, &raw("api_key_file = \"/k\"")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    check_file_permissions(&path, &raw("api_key = \"k\"")).unwrap();
    let oauth = raw("method=\"oauth2\"\n[oauth2]\nclient_secret=\"s\"");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o604)).unwrap();
    assert!(check_file_permissions(&path, &oauth).is_err());
}

#[test]
fn debug_output_never_shows_a_secret() {
    let a = AuthSettings::resolve_with(raw("api_key = \"topsecretkey\""), None, &env_of(&[])).unwrap();
    assert!(!format!("{a:?}").contains("topsecretkey"));
}

#[test]
fn a_bad_token_header_value_is_refused_without_being_quoted() {
    let text = "method = \"oauth2\"\n[oauth2]\nclient_id = \"cid\"\ntoken_url = \"http://127.0.0.1:9/t\"\n\
                token_headers = { X-Tenant = \"hunter2\\nsecret\" }\n";
    let env = env_of(&[("FDSYNC_CLIENT_SECRET", "cs")]);
    let err = AuthSettings::resolve_with(raw(text), None, &env).unwrap_err().to_string();
    assert!(err.contains("X-Tenant") && !err.contains("hunter2"), "{err}");
}
