//! `fdsync check` (is the connection good before the first nightly run?) and `fdsync auth login`
//! (the OAuth 2.0 authorization-code step, once).

use crate::exit::Exit;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Run the OAuth 2.0 authorization-code step once and store the refresh token.
    Login,
}

pub(super) async fn check(config: Option<&Path>) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let report = crate::check::check(&settings).await;
    print!("{report}");
    Ok(match report.exit_code() {
        0 => Exit::Success,
        2 => Exit::Usage,
        _ => Exit::Unavailable,
    })
}

pub(super) async fn auth(config: Option<&Path>, command: AuthCommand) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    match command {
        AuthCommand::Login => {
            let mut out = std::io::stdout();
            match crate::freshdesk::oauth::login(&settings, &mut out).await {
                Ok(()) => Ok(Exit::Success),
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(Exit::Unavailable)
                }
            }
        }
    }
}
