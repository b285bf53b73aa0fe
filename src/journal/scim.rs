//! The `scim_users` table: what the SCIM service ([`crate::scim`]) must remember about a user
//! that Freshdesk does not keep: the identity provider's `externalId`, whether the agent is
//! deprovisioned (and by which delete file, whose before-image restores it), whether the
//! provider removed the user (`DELETE`: never shown again), and the last change file whose
//! result was applied here (so applying a result twice changes nothing); and, in `scim_emails`,
//! the provider's `emails` list (types, primary). Keyed by connection
//! and Freshdesk agent id (the SCIM `id`, stable across deprovision and restore).

use super::{Journal, Result, now_ms};
use rusqlite::{OptionalExtension, params};

/// `IF NOT EXISTS`: a test rewinds `user_version` to replay older migrations over a journal
/// that already has this table.
pub(super) const SCHEMA: &str = r#"
    CREATE TABLE IF NOT EXISTS scim_users (
        connection   TEXT    NOT NULL,
        agent_id     INTEGER NOT NULL,
        user_name    TEXT    NOT NULL,
        external_id  TEXT,
        active       INTEGER NOT NULL DEFAULT 1,
        deleted_by   INTEGER,
        removed      INTEGER NOT NULL DEFAULT 0,
        last_file    INTEGER,
        version      INTEGER NOT NULL DEFAULT 0,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (connection, agent_id)
    );
    CREATE INDEX IF NOT EXISTS scim_users_name ON scim_users(connection, user_name);
"#;

/// Migration 10: what a user provisioned inactive (a contact, no agent seat) asked to become,
/// kept until the provider activates it (also what a deprovisioned agent was changed to, kept
/// for its re-provision): the agent's JSON ([`crate::domain::NewAgent`]: roles,
/// groups, scope, occasional, name, title) by contact id. A table of its own, `IF NOT EXISTS`,
/// so replaying the migrations over a journal that has it changes nothing.
pub(super) const CONTACTS_SCHEMA: &str = r#"
    CREATE TABLE IF NOT EXISTS scim_contacts (
        connection  TEXT    NOT NULL,
        contact_id  INTEGER NOT NULL,
        wanted      TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (connection, contact_id)
    );
"#;

/// Migration 11: the `emails` list the identity provider last gave a user (its types and primary
/// flag, which Freshdesk does not keep: an agent has one e-mail). `IF NOT EXISTS`, as above.
pub(super) const EMAILS_SCHEMA: &str = r#"
    CREATE TABLE IF NOT EXISTS scim_emails (
        connection   TEXT    NOT NULL,
        agent_id     INTEGER NOT NULL,
        emails       TEXT    NOT NULL,
        PRIMARY KEY (connection, agent_id)
    );
"#;

/// One provisioned user as the journal remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUser {
    pub agent_id: u64,
    /// Lower-cased e-mail.
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// The file whose `delete_agent` deprovisioned it (its before-image restores it).
    pub deleted_by: Option<i64>,
    /// `DELETE /Users/{id}`: gone for the identity provider.
    pub removed: bool,
    /// The last change file applied to this row.
    pub last_file: Option<i64>,
    /// Bumped by every applied change: part of the next change's identity.
    pub version: i64,
}

const COLUMNS: &str = "agent_id, user_name, external_id, active, deleted_by, removed, last_file, version";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScimUser> {
    Ok(ScimUser {
        agent_id: r.get::<_, i64>(0)? as u64,
        user_name: r.get(1)?,
        external_id: r.get(2)?,
        active: r.get::<_, i64>(3)? != 0,
        deleted_by: r.get(4)?,
        removed: r.get::<_, i64>(5)? != 0,
        last_file: r.get(6)?,
        version: r.get(7)?,
    })
}

impl Journal {
    /// Every user remembered on this handle's connection.
    pub async fn scim_users(&self) -> Result<Vec<ScimUser>> {
        let conn = self.conn_name();
        self.call(move |c| {
            let sql = format!("SELECT {COLUMNS} FROM scim_users WHERE connection = ?1 ORDER BY agent_id");
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map([conn], from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// The user with this agent id, if remembered.
    pub async fn scim_user(&self, agent_id: u64) -> Result<Option<ScimUser>> {
        let conn = self.conn_name();
        self.call(move |c| {
            let sql = format!("SELECT {COLUMNS} FROM scim_users WHERE connection = ?1 AND agent_id = ?2");
            Ok(c.query_row(&sql, params![conn, agent_id as i64], from_row).optional()?)
        })
        .await
    }

    /// What the user provisioned inactive as contact `contact_id` asked to become (JSON).
    pub async fn scim_contact(&self, contact_id: u64) -> Result<Option<String>> {
        let conn = self.conn_name();
        self.call(move |c| {
            let sql = "SELECT wanted FROM scim_contacts WHERE connection = ?1 AND contact_id = ?2";
            Ok(c.query_row(sql, params![conn, contact_id as i64], |r| r.get(0)).optional()?)
        })
        .await
    }

    /// Forgets what user `contact_id` was to become: its activation or re-provision gave it.
    pub async fn forget_scim_contact(&self, contact_id: u64) -> Result<()> {
        let conn = self.conn_name();
        self.call(move |c| {
            c.execute(
                "DELETE FROM scim_contacts WHERE connection = ?1 AND contact_id = ?2",
                params![conn, contact_id as i64],
            )?;
            Ok(())
        })
        .await
    }

    /// Remembers what contact `contact_id` becomes when activated (the latest provisioning of
    /// the contact says), or, for a deprovisioned agent, what its re-provision gives it.
    pub async fn put_scim_contact(&self, contact_id: u64, wanted: String) -> Result<()> {
        let conn = self.conn_name();
        self.call(move |c| {
            c.execute(
                "INSERT INTO scim_contacts (connection, contact_id, wanted, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (connection, contact_id) DO UPDATE SET wanted = ?3",
                params![conn, contact_id as i64, wanted, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// Writes `user` as the row for its agent id. With `file`, only once per file: a result
    /// already applied (`last_file`) leaves the row as it is and says `false`.
    pub async fn put_scim_user(&self, user: ScimUser, file: Option<i64>) -> Result<bool> {
        let conn = self.conn_name();
        self.call(move |c| {
            let last: Option<Option<i64>> = c
                .query_row(
                    "SELECT last_file FROM scim_users WHERE connection = ?1 AND agent_id = ?2",
                    params![conn, user.agent_id as i64],
                    |r| r.get(0),
                )
                .optional()?;
            if file.is_some() && last.flatten() == file {
                return Ok(false);
            }
            let last_file = file.or(user.last_file);
            c.execute(
                "INSERT INTO scim_users (connection, agent_id, user_name, external_id, active, deleted_by, removed,
                                         last_file, version, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (connection, agent_id) DO UPDATE SET user_name = ?3, external_id = ?4, active = ?5,
                     deleted_by = ?6, removed = ?7, last_file = ?8, version = ?9, updated_at = ?10",
                params![
                    conn,
                    user.agent_id as i64,
                    user.user_name,
                    user.external_id,
                    user.active as i64,
                    user.deleted_by,
                    user.removed as i64,
                    last_file,
                    user.version + i64::from(file.is_some()),
                    now_ms()
                ],
            )?;
            Ok(true)
        })
        .await
    }
}

impl Journal {
    /// The `emails` lists remembered on this handle's connection, by agent id (JSON text).
    pub async fn scim_emails(&self) -> Result<std::collections::HashMap<u64, String>> {
        let conn = self.conn_name();
        self.call(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT agent_id, emails FROM scim_emails WHERE connection = ?1")?;
            let rows =
                stmt.query_map([conn], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Remembers the `emails` list (JSON text) the provider gave agent `agent_id`.
    pub async fn put_scim_emails(&self, agent_id: u64, emails: String) -> Result<()> {
        let conn = self.conn_name();
        self.call(move |c| {
            c.execute(
                "INSERT INTO scim_emails (connection, agent_id, emails) VALUES (?1, ?2, ?3)
                 ON CONFLICT (connection, agent_id) DO UPDATE SET emails = ?3",
                params![conn, agent_id as i64, emails],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_file_is_applied_to_a_user_once() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap().on_connection("default");
        let mut u = ScimUser {
            agent_id: 7,
            user_name: "a@x.com".into(),
            external_id: Some("e1".into()),
            active: true,
            deleted_by: None,
            removed: false,
            last_file: None,
            version: 0,
        };
        assert!(j.put_scim_user(u.clone(), None).await.unwrap());
        u.active = false;
        assert!(j.put_scim_user(u.clone(), Some(3)).await.unwrap());
        let got = j.scim_user(7).await.unwrap().unwrap();
        assert_eq!((got.active, got.last_file, got.version), (false, Some(3), 1));
        assert!(!j.put_scim_user(got.clone(), Some(3)).await.unwrap(), "file 3 is applied already");
        j.put_scim_emails(7, r#"[{"value":"a@x.com","type":"home"}]"#.into()).await.unwrap();
        j.put_scim_emails(7, r#"[{"value":"a@x.com","type":"work"}]"#.into()).await.unwrap();
        let other = Journal::open(dir.path()).unwrap().on_connection("other");
        assert!(other.scim_emails().await.unwrap().is_empty(), "kept per connection");
        assert_eq!(j.scim_emails().await.unwrap()[&7], r#"[{"value":"a@x.com","type":"work"}]"#);
        assert_eq!(j.scim_user(7).await.unwrap().unwrap().version, 1);
        assert!(j.on_connection("other").scim_user(7).await.unwrap().is_none());
        assert_eq!(j.scim_users().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_contacts_wanted_agent_is_kept_per_connection() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap().on_connection("default");
        j.put_scim_contact(8, "{\"a\":1}".into()).await.unwrap();
        j.put_scim_contact(8, "{\"a\":2}".into()).await.unwrap();
        assert_eq!(j.scim_contact(8).await.unwrap().as_deref(), Some("{\"a\":2}"));
        assert!(j.on_connection("other").scim_contact(8).await.unwrap().is_none());
    }
}
