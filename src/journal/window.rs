//! What the guards read beyond one file: the deletes other files of the same Freshdesk account
//! sent within the window or are about to send, and the roles a file's `create_agent` rows
//! grant. Read from the journal, so a restart does not forget them. It only reads.

use super::{Journal, Result};
use rusqlite::params_from_iter;

/// Deletes (`delete_agent`, and an undo's `delete_ticket`) of other files on the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtherDeletes {
    /// Sent at or after the window's start, by file (file id, count), oldest file first.
    pub sent: Vec<(i64, u64)>,
    /// Not sent yet, of files that run now and are either earlier than this one or approved.
    pub waiting: Vec<(i64, u64)>,
}

impl OtherDeletes {
    pub fn total(&self) -> u64 {
        self.sent.iter().chain(&self.waiting).map(|(_, n)| n).sum()
    }
}

/// A `create_agent` row that names roles: (row, e-mail, role ids).
pub type Grant = (u64, String, Vec<u64>);

const DELETES: &str = "('delete_agent', 'delete_ticket')";

impl Journal {
    /// The deletes of files other than `file_id` on `connections` (the connections to one
    /// account) that count against its window: sent since `since_ms`, or waiting to be sent.
    pub async fn other_deletes(
        &self,
        file_id: i64,
        connections: Vec<String>,
        since_ms: i64,
    ) -> Result<OtherDeletes> {
        self.call(move |c| {
            let marks: Vec<String> = (0..connections.len().max(1)).map(|i| format!("?{}", i + 3)).collect();
            let marks = marks.join(", ");
            let group = |filter: &str| {
                format!(
                    "SELECT o.file_id, COUNT(*) FROM ops o JOIN files f ON f.id = o.file_id
                     WHERE o.action IN {DELETES} AND o.payload IS NOT NULL AND o.file_id != ?1
                       AND f.connection IN ({marks}) AND {filter}
                     GROUP BY o.file_id ORDER BY o.file_id"
                )
            };
            let sent = group("o.sent_at >= ?2");
            let waiting = group(
                "o.sent_at IS NULL AND o.state = 'pending' AND f.state = 'processing'
                 AND (f.id < ?1 OR f.approved_at IS NOT NULL) AND ?2 = ?2",
            );
            let mut args: Vec<rusqlite::types::Value> = vec![file_id.into(), since_ms.into()];
            args.extend(connections.iter().map(|c| c.clone().into()));
            if connections.is_empty() {
                args.push(rusqlite::types::Value::Null);
            }
            let run = |sql: &str| -> Result<Vec<(i64, u64)>> {
                let mut stmt = c.prepare(sql)?;
                let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            };
            Ok(OtherDeletes { sent: run(&sent)?, waiting: run(&waiting)? })
        })
        .await
    }

    /// The `create_agent` (and SCIM `activate_contact`) rows of a file that name roles, and its
    /// `update_agent` rows that set them, in row order.
    pub async fn agent_grants(&self, file_id: i64) -> Result<Vec<Grant>> {
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT row, COALESCE(json_extract(payload, '$.email'), json_extract(payload, '$.set.email'),
                                      'agent ' || json_extract(payload, '$.agent_id')),
                        COALESCE(json_extract(payload, '$.role_ids'), json_extract(payload, '$.set.role_ids')) AS roles
                 FROM ops WHERE file_id = ?1 AND action IN ('create_agent', 'activate_contact', 'update_agent')
                   AND payload IS NOT NULL AND roles IS NOT NULL
                 ORDER BY row",
            )?;
            let rows = stmt.query_map([file_id], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (row, email, roles) = row?;
                let roles: Vec<u64> = serde_json::from_str(&roles)
                    .map_err(|e| super::Error::Data(format!("row {row}'s role_ids: {e}")))?;
                out.push((row, email.unwrap_or_default(), roles));
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AgentRef, Email, Op};
    use crate::journal::{FileState, NewFile, NewOp, now_ms};

    async fn file(j: &Journal, name: &str, state: FileState, deletes: u64) -> i64 {
        let new = NewFile {
            name: name.into(),
            path: name.into(),
            sha256: name.into(),
            inbox: None,
            default_action: None,
        };
        let id = j.insert_file(new, FileState::Queued, None).await.unwrap();
        let ops = (1..=deletes)
            .map(|row| {
                let email = Email::parse(&format!("{name}{row}@example.com")).unwrap();
                let op = Op::DeleteAgent { agent: AgentRef::Email(email), successor: None };
                NewOp::valid(row, &op, format!("{name}{row}"))
            })
            .collect();
        j.insert_ops(id, ops).await.unwrap();
        j.set_file_state(id, state, None).await.unwrap();
        id
    }

    #[tokio::test]
    async fn sent_deletes_and_earlier_waiting_ones_count_and_held_or_later_files_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let sent = file(&j, "a", FileState::Processing, 3).await;
        for op in j.ready_ops(now_ms(), 10).await.unwrap() {
            j.mark_sending(op.id).await.unwrap();
        }
        let waiting = file(&j, "b", FileState::Processing, 2).await;
        let _held = file(&j, "c", FileState::Held, 5).await;
        let me = file(&j, "d", FileState::Processing, 1).await;
        let _later = file(&j, "e", FileState::Processing, 4).await;
        let on = vec!["default".to_string()];
        let others = j.other_deletes(me, on.clone(), now_ms() - 60_000).await.unwrap();
        assert_eq!(others.sent, [(sent, 3)]);
        assert_eq!(others.waiting, [(waiting, 2)]);
        assert_eq!(others.total(), 5);
        let later = j.other_deletes(me, on.clone(), now_ms() + 60_000).await.unwrap();
        assert!(later.sent.is_empty(), "outside the window: {later:?}");
        let elsewhere = j.other_deletes(me, vec!["it-desk".into()], 0).await.unwrap();
        assert_eq!(elsewhere.total(), 0, "another account's deletes do not count");
    }
}
