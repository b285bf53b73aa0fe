//! Bounded read-only views for people looking at the journal (`fdsync status`, the status page):
//! the newest files with their rows by state and by outcome, the held files, and one file's
//! failed rows. Each view is one journal call with a `LIMIT`, so a page load is one short job
//! on the writer thread whatever the journal's size. It only reads.

use super::files::{self, FileRecord};
use super::queries::{REPORT_COLUMNS, ReportLine, RowCounts, counts, report_line};
use super::{Journal, Result};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// A file with its rows by state and by outcome (`pending` / `sending` for rows not final yet).
#[derive(Debug, Clone)]
pub struct FileView {
    pub file: FileRecord,
    pub rows: RowCounts,
    pub by_outcome: BTreeMap<String, u64>,
    /// The undo files (`fdsync undo`) of this file, oldest first.
    pub undone_by: Vec<i64>,
}

/// One file in full: its view, its first failed rows, and how many failed in all.
#[derive(Debug, Clone)]
pub struct FileDetail {
    pub view: FileView,
    pub failed: Vec<ReportLine>,
    pub failed_total: u64,
}

fn outcomes(c: &Connection, file_id: i64) -> Result<BTreeMap<String, u64>> {
    let mut stmt = c.prepare_cached(
        "SELECT COALESCE(outcome, state), COUNT(*) FROM ops WHERE file_id = ?1 GROUP BY 1 ORDER BY 1",
    )?;
    let rows =
        stmt.query_map([file_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn undone_by(c: &Connection, file_id: i64) -> Result<Vec<i64>> {
    let mut stmt = c.prepare_cached("SELECT id FROM files WHERE undo_of = ?1 ORDER BY id LIMIT 100")?;
    let rows = stmt.query_map([file_id], |r| r.get::<_, i64>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn view(c: &Connection, file: FileRecord) -> Result<FileView> {
    let (rows, by_outcome, undone_by) = (counts(c, file.id)?, outcomes(c, file.id)?, undone_by(c, file.id)?);
    Ok(FileView { rows, by_outcome, undone_by, file })
}

fn failed_rows(c: &Connection, file_id: i64, limit: usize) -> Result<Vec<ReportLine>> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM ops WHERE file_id = ?1 AND state = 'failed' ORDER BY row LIMIT ?2"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![file_id, limit as i64], report_line)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Journal {
    /// The newest `limit` files, newest first.
    pub async fn recent_files(&self, limit: usize) -> Result<Vec<FileRecord>> {
        self.call(move |c| files::newest(c, limit)).await
    }

    /// The newest `limit` files with their rows by state and outcome, newest first.
    pub async fn recent_file_views(&self, limit: usize) -> Result<Vec<FileView>> {
        self.call(move |c| files::newest(c, limit)?.into_iter().map(|f| view(c, f)).collect()).await
    }

    /// One file with its rows by outcome and its first `failed_limit` failed rows.
    pub async fn file_detail(&self, id: i64, failed_limit: usize) -> Result<Option<FileDetail>> {
        self.call(move |c| {
            let Some(file) = files::get(c, id)? else { return Ok(None) };
            let view = view(c, file)?;
            let failed = failed_rows(c, id, failed_limit)?;
            Ok(Some(FileDetail { failed_total: view.rows.failed, failed, view }))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{FileState, NewFile, NewOp};

    #[tokio::test]
    async fn views_are_bounded_and_name_failed_rows_with_their_messages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let j = Journal::open(dir.path()).expect("open");
        let mut ids = vec![];
        for n in 0..3 {
            let new = NewFile {
                name: format!("f{n}.csv"),
                path: "/p".into(),
                sha256: format!("s{n}"),
                inbox: None,
                default_action: None,
            };
            ids.push(j.insert_file(new, FileState::Processing, None).await.expect("file"));
        }
        let rows = (1..=5)
            .map(|row| NewOp {
                row,
                action: "get_agent".into(),
                key: format!("k{row}"),
                payload: None,
                invalid: (row % 2 == 1).then(|| format!("bad row {row}")),
                code: None,
            })
            .collect();
        j.insert_ops(ids[2], rows).await.expect("ops");
        let recent = j.recent_file_views(2).await.expect("views");
        assert_eq!(recent.iter().map(|v| v.file.id).collect::<Vec<_>>(), [ids[2], ids[1]]);
        assert_eq!(recent[0].rows.failed, 3);
        assert_eq!(recent[0].by_outcome.get("failed"), Some(&3));
        assert_eq!(recent[0].by_outcome.get("pending"), Some(&2));
        let d = j.file_detail(ids[2], 2).await.expect("detail").expect("exists");
        assert_eq!(d.failed_total, 3);
        assert_eq!(d.failed.iter().map(|f| f.row).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(d.failed[0].message.as_deref(), Some("bad row 1"));
        assert!(j.file_detail(999, 2).await.expect("detail").is_none());
        assert_eq!(j.recent_files(1).await.expect("files")[0].id, ids[2]);
    }
}
