//! `fdsync demo` (WIP).
use super::Exit;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

pub async fn run(_args: DemoArgs) -> anyhow::Result<Exit> {
    Ok(Exit::Success)
}
