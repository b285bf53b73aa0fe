//! `fdsync check` (is the connection good before the first nightly run?) and `fdsync auth login`
//! (the OAuth 2.0 authorization-code step, once).

use crate::exit::Exit;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Run the OAuth 2.0 authorization-code step once and store the refresh token.
    Login(super::ConnectionArg),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Check only this connection (default: every configured connection).
    #[arg(long, value_name = "NAME")]
    pub connection: Option<String>,
}

pub(super) async fn check(config: Option<&Path>, args: CheckArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let names: Vec<String> = match args.connection {
        Some(name) => vec![name],
        None => settings.connections.iter().map(|c| c.name.clone()).collect(),
    };
    let mut codes = Vec::new();
    for name in &names {
        let on = settings.on_connection(name)?;
        if names.len() > 1 {
            println!("connection {name}:");
        }
        let report = crate::check::check(&on).await;
        print!("{report}");
        codes.push(report.exit_code());
    }
    // Config problems come before connection problems, as within one report.
    Ok(if codes.contains(&2) {
        Exit::Usage
    } else if codes.iter().any(|c| *c != 0) {
        Exit::Unavailable
    } else {
        Exit::Success
    })
}

pub(super) async fn auth(config: Option<&Path>, command: AuthCommand) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    match command {
        AuthCommand::Login(connection) => {
            let settings = connection.select(&settings)?;
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
