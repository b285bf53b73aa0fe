//! Who runs a command, as the kernel and the password database say (never the environment),
//! and running as another account. The crate's only `unsafe`: `getpwuid_r`, `initgroups`,
//! `setgid` and `setuid` through `libc` (glibc applies the last three to every thread of the
//! process, which the tokio runtime needs; rustix's `set_thread_*` change one thread only).
//!
//! [`Actor::current`] is the real uid and its account name from `getpwuid_r` (so NSS, LDAP and
//! sssd accounts resolve). `SUDO_USER` is only believed, as "via sudo by X", when the real uid
//! is 0: anyone can set it, and only root could have lied about it anyway. `USER` and `LOGNAME`
//! are never read.
#![allow(unsafe_code)]

use serde::Serialize;
use std::ffi::{CStr, CString};
use std::io;

/// The person behind a command that changes the journal (approve, undo, prune, retry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The real uid.
    pub uid: u32,
    /// Its account name in the password database, when it has one.
    pub account: Option<String>,
    /// When the real uid is 0: who ran `sudo` (`SUDO_USER`), escaped.
    pub sudo_user: Option<String>,
}

impl Actor {
    /// The process's real uid, its account name, and (as root) who ran `sudo`.
    pub fn current() -> Self {
        let uid = rustix::process::getuid().as_raw();
        let sudo_user = match uid {
            0 => std::env::var("SUDO_USER")
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .map(|v| crate::text::shown(&v)),
            _ => None,
        };
        Self { uid, account: account_name(uid), sudo_user }
    }

    /// How the journal and the audit show it: `alice (uid 1000)`,
    /// `root (uid 0, via sudo by alice)`, or `uid 1234 (no account)`.
    pub fn label(&self) -> String {
        let name = self.account.as_deref().map(crate::text::shown);
        let via = self.sudo_user.as_deref().map(|s| format!(", via sudo by {s}")).unwrap_or_default();
        match name {
            Some(n) => format!("{n} (uid {}{via})", self.uid),
            None => format!("uid {} (no account{via})", self.uid),
        }
    }
}

/// One password-database entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// The account of `uid` (`getpwuid_r`), if the password database has one.
pub fn account(uid: u32) -> Option<Account> {
    let mut size = 1024usize;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: `pwd` and `buf` outlive the call; `result` is set by getpwuid_r to null or to
        // `&pwd`, whose string fields point into `buf`, read before `buf` is dropped.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        if rc == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name is a NUL-terminated string inside `buf` (see above).
        let name = unsafe { CStr::from_ptr(pwd.pw_name) }.to_string_lossy().into_owned();
        return Some(Account { name, uid: pwd.pw_uid, gid: pwd.pw_gid });
    }
}

/// The account name of `uid`, if it has one.
pub fn account_name(uid: u32) -> Option<String> {
    account(uid).map(|a| a.name)
}

/// Becomes `uid`:`gid` for good (real, effective and saved ids), with the supplementary groups
/// of `name` (`initgroups`) or none; only root can. Checked afterwards.
pub fn become_user(uid: u32, gid: u32, name: Option<&str>) -> io::Result<()> {
    let check = |rc: libc::c_int| if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) };
    // SAFETY: plain system calls on integers and a NUL-terminated string that outlives them.
    unsafe {
        match name.and_then(|n| CString::new(n).ok()) {
            Some(n) => check(libc::initgroups(n.as_ptr(), gid))?,
            None => check(libc::setgroups(0, std::ptr::null()))?,
        }
        check(libc::setgid(gid))?;
        check(libc::setuid(uid))?;
    }
    let (now_uid, now_euid) = (rustix::process::getuid().as_raw(), rustix::process::geteuid().as_raw());
    if now_uid != uid || now_euid != uid || rustix::process::getegid().as_raw() != gid {
        return Err(io::Error::other(format!("still uid {now_uid}/{now_euid} after setuid({uid})")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_names_the_account_and_believes_sudo_only_as_root() {
        let alice = Actor { uid: 1000, account: Some("alice".into()), sudo_user: None };
        assert_eq!(alice.label(), "alice (uid 1000)");
        let root = Actor { uid: 0, account: Some("root".into()), sudo_user: Some("bob".into()) };
        assert_eq!(root.label(), "root (uid 0, via sudo by bob)");
        let nameless = Actor { uid: 4242, account: None, sudo_user: None };
        assert_eq!(nameless.label(), "uid 4242 (no account)");
        let forged = Actor { uid: 5, account: Some("x\ny".into()), sudo_user: None };
        assert_eq!(forged.label(), "x\\ny (uid 5)");
    }

    #[test]
    fn uid_0_is_root_in_the_password_database() {
        assert_eq!(account_name(0).as_deref(), Some("root"));
        let me = Actor::current();
        assert_eq!(me.uid, rustix::process::getuid().as_raw());
        assert!(account(u32::MAX - 7).is_none());
    }
}
