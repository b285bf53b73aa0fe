//! `fdsync run`: the folder-watching daemon (stub; built on the `daemon` branch).

use crate::cli::Exit;
use crate::config::Settings;

pub async fn run(settings: Settings, config_path: Option<std::path::PathBuf>) -> anyhow::Result<Exit> {
    let _ = (settings, config_path);
    anyhow::bail!("fdsync run is not built yet")
}
