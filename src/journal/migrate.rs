//! Numbered schema migrations, applied in order while `PRAGMA user_version` is behind.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: files and ops.
    r#"
    CREATE TABLE files (
        id              INTEGER PRIMARY KEY,
        name            TEXT    NOT NULL,
        path            TEXT    NOT NULL,
        sha256          TEXT    NOT NULL,
        inbox           TEXT,
        default_action  TEXT,
        state           TEXT    NOT NULL,
        rows_total      INTEGER NOT NULL DEFAULT 0,
        error           TEXT,
        duplicate_of    INTEGER REFERENCES files(id),
        report_path     TEXT,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
    );
    CREATE INDEX files_sha ON files(sha256);
    CREATE INDEX files_state ON files(state);
    CREATE TABLE ops (
        id              INTEGER PRIMARY KEY,
        file_id         INTEGER NOT NULL REFERENCES files(id),
        row             INTEGER NOT NULL,
        action          TEXT    NOT NULL,
        key             TEXT    NOT NULL,
        payload         TEXT,
        state           TEXT    NOT NULL,
        outcome         TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        freshdesk_id    INTEGER,
        http_status     INTEGER,
        error_code      TEXT,
        message         TEXT,
        sent_at         INTEGER,
        snapshot        TEXT,
        updated_at      INTEGER NOT NULL,
        UNIQUE (file_id, row)
    );
    CREATE INDEX ops_ready ON ops(state, id);
    CREATE INDEX ops_key ON ops(key, id);
    CREATE INDEX ops_file ON ops(file_id, state);
    "#,
    // 2: who approved a held file, when, and why.
    r#"
    ALTER TABLE files ADD COLUMN approved_by TEXT;
    ALTER TABLE files ADD COLUMN approved_at INTEGER;
    ALTER TABLE files ADD COLUMN approval_note TEXT;
    "#,
    // 3: the audit rows of pruned files (`fdsync prune`), denormalised: what `fdsync audit`
    // shows of each change, kept after its op row is deleted (src/journal/audit.rs).
    r#"
    CREATE TABLE audit (
        id              INTEGER PRIMARY KEY,
        op_id           INTEGER NOT NULL,
        file_id         INTEGER NOT NULL,
        file_name       TEXT    NOT NULL,
        sha256          TEXT    NOT NULL,
        inbox           TEXT,
        row             INTEGER NOT NULL,
        action          TEXT    NOT NULL,
        key             TEXT    NOT NULL,
        email           TEXT,
        sent_at         INTEGER,
        confirmed_at    INTEGER,
        outcome         TEXT,
        freshdesk_id    INTEGER,
        http_status     INTEGER,
        error_code      TEXT,
        message         TEXT,
        approved_by     TEXT,
        approved_at     INTEGER,
        approval_note   TEXT,
        snapshot        TEXT,
        pruned_at       INTEGER NOT NULL
    );
    CREATE INDEX audit_file ON audit(file_id, row);
    CREATE INDEX audit_key ON audit(key);
    CREATE INDEX audit_email ON audit(email);
    "#,
    // 4: an undo (`fdsync undo`) is a file of its own; `undo_of` names the file it reverses.
    r#"
    ALTER TABLE files ADD COLUMN undo_of INTEGER REFERENCES files(id);
    CREATE INDEX files_undo_of ON files(undo_of);
    "#,
    // 5: the notification outbox (one row per event and target; `target` is a key, never a URL).
    r#"
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        event           TEXT    NOT NULL,
        file_id         INTEGER,
        target          TEXT    NOT NULL,
        detail          TEXT,
        state           TEXT    NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
    "#,
    // 6: the connection (the Freshdesk account and credentials) each file is sent on.
    r#"
    ALTER TABLE files ADD COLUMN connection TEXT NOT NULL DEFAULT 'default';
    CREATE INDEX files_connection ON files(connection, state);
    "#,
    // 7: the audit chain (src/journal/chain.rs); the history already journaled is sealed into it
    // in the same transaction.
    super::chain::SCHEMA,
    // 8: offboarding's handover, one record per ticket moved (src/journal/moves.rs).
    super::moves::SCHEMA,
    // 9: the users an identity provider provisions over SCIM (src/journal/scim.rs): what Freshdesk
    // does not keep (externalId, deprovisioned, removed) and which change file last applied.
    super::scim::SCHEMA,
    // 10: what a SCIM user provisioned inactive (a contact) becomes when activated
    // (src/journal/scim.rs).
    super::scim::CONTACTS_SCHEMA,
    // 11: the `emails` list an identity provider last gave each SCIM user (src/journal/scim.rs).
    super::scim::EMAILS_SCHEMA,
];

pub(super) fn apply(conn: &Connection) -> super::Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = i + 1;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied = conn
            .execute_batch(&format!("{sql}; PRAGMA user_version = {version};"))
            .map_err(Into::into)
            .and_then(
                |()| if *sql == super::chain::SCHEMA { super::chain::seal_history(conn) } else { Ok(()) },
            );
        match applied {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    Ok(())
}
