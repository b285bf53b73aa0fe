//! The commands that write the journal (`approve`, `undo`, `prune`, `retry`, `import`, and
//! `report`, which may write a missing report) start
//! here: who runs them is taken from the kernel ([`Actor::current`], before anything else), and
//! run as root on a state folder another account owns, they become that account before the
//! journal is opened, so no root-owned file appears there (the daemon, running as that account,
//! could not write it). When that is not possible they refuse with the `sudo -u` hint.
//! [`announce`] sends the action to the system log ([`crate::system_log`]).

use crate::account::{self, Actor};
use crate::config::Settings;
use crate::journal::Head;
use crate::system_log::{self, Event};
use std::os::unix::fs::MetadataExt;

/// Who runs the command; then, as root on a state folder owned by another account, becomes it.
pub(super) fn begin(settings: &Settings) -> anyhow::Result<Actor> {
    let actor = Actor::current();
    if rustix::process::geteuid().as_raw() != 0 {
        return Ok(actor);
    }
    let dir = &settings.state_dir;
    let Ok(meta) = std::fs::metadata(dir) else {
        // No state folder yet: root's command makes its own.
        return Ok(actor);
    };
    if meta.uid() == 0 {
        return Ok(actor);
    }
    let owner = account::account(meta.uid());
    let name = owner.as_ref().map(|a| a.name.clone());
    let gid = owner.as_ref().map_or(meta.gid(), |a| a.gid);
    if let Err(e) = account::become_user(meta.uid(), gid, name.as_deref()) {
        let who = name.clone().unwrap_or_else(|| format!("#{}", meta.uid()));
        anyhow::bail!(
            "the state folder {} belongs to {who}, and this root command cannot become that account ({e}): \
             run it as that account, e.g. `sudo -u {who} fdsync ...`",
            crate::text::shown_path(dir)
        );
    }
    tracing::debug!(uid = meta.uid(), gid, "Running as the state folder's owner.");
    Ok(actor)
}

/// Sends one event for `action` by `actor` to the system log, with the chain head after it.
pub(super) fn announce(action: &str, actor: &Actor, what: &str, file_id: Option<i64>, head: Option<&Head>) {
    let mut fields = vec![
        ("action", action.to_string()),
        ("uid", actor.uid.to_string()),
        ("account", actor.account.clone().unwrap_or_default()),
    ];
    if let Some(s) = &actor.sudo_user {
        fields.push(("sudo_user", s.clone()));
    }
    if let Some(id) = file_id {
        fields.push(("file_id", id.to_string()));
    }
    if let Some(h) = head {
        fields.push(("chain_seq", h.seq.to_string()));
        fields.push(("chain_hash", h.hash.clone()));
    }
    let message = format!("fdsync {action}: {what} by {}", actor.label());
    system_log::send(&Event { message, fields });
}
