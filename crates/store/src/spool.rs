//! The local audit spool: a JSON-lines file that holds audit records the database could not take
//! (queue full, database unreachable) until they are replayed.
//!
//! Appends go to `<path>`; a replay first renames it to `<path>.replay` (an atomic rename in the
//! same folder), so appends can go on into a fresh `<path>` while the replay runs, and removes
//! `<path>.replay` only once every record in it is in the database. A replay interrupted by a
//! crash is simply done again: every line carries a record id and the database skips ids it
//! already has, so each record ends up stored exactly once.
//!
//! A torn last line (a crash in the middle of an append) is isolated by writing a newline before
//! the first append when the file does not end with one, and is skipped, with a warning, on replay.

use crate::audit::IdentifiedRecord;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug)]
pub(crate) struct Spool {
    path: PathBuf,
    replay_path: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Open append handle to `path`, opened on first use.
    file: Option<File>,
    /// `path` (may) hold records not replayed yet.
    pending: bool,
}

impl Spool {
    /// Does no I/O beyond checking whether records are waiting from an earlier run.
    pub(crate) fn new(path: PathBuf) -> Spool {
        let mut replay = path.clone().into_os_string();
        replay.push(".replay");
        let pending = non_empty(&path);
        Spool {
            replay_path: PathBuf::from(replay),
            path,
            inner: Mutex::new(Inner {
                file: None,
                pending,
            }),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; if something ever did, the state is still a
        // file handle and a flag, both fine to reuse.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends the records as JSON lines with one write call; with `sync`, also waits until the
    /// data is on disk. Blocking: a small write to a local file.
    pub(crate) fn append(&self, records: &[IdentifiedRecord], sync: bool) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(records.len() * 400);
        for r in records {
            serde_json::to_writer(&mut buf, r)?;
            buf.push(b'\n');
        }
        let mut inner = self.lock();
        if inner.file.is_none() {
            inner.file = Some(self.open_for_append()?);
        }
        let result = match inner.file.as_mut() {
            Some(file) => file
                .write_all(&buf)
                .and_then(|()| if sync { file.sync_data() } else { Ok(()) }),
            None => Err(io::Error::other("spool file not open")),
        };
        if result.is_err() {
            // Reopen next time (the file may have been removed or the disk remounted).
            inner.file = None;
        }
        // Even a failed write may have left part of a line: a replay must look.
        inner.pending = true;
        result
    }

    fn open_for_append(&self) -> io::Result<File> {
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        // Audit records name devices and users: readable by the server's user only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path)?;
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(file)
    }

    /// Whether records may be waiting in the spool.
    pub(crate) fn has_pending(&self) -> bool {
        self.lock().pending || self.replay_path.exists()
    }

    /// The file to replay next: a `.replay` file left by an interrupted replay, or else the
    /// spool renamed to `.replay`. None when nothing waits.
    pub(crate) fn take_for_replay(&self) -> io::Result<Option<PathBuf>> {
        if self.replay_path.exists() {
            return Ok(Some(self.replay_path.clone()));
        }
        let mut inner = self.lock();
        if !non_empty(&self.path) {
            inner.pending = false;
            return Ok(None);
        }
        // Close our handle first: appends after the rename go into a new file.
        inner.file = None;
        std::fs::rename(&self.path, &self.replay_path)?;
        inner.pending = false;
        Ok(Some(self.replay_path.clone()))
    }

    /// Called once every record of the replay file is in the database.
    pub(crate) fn finish_replay(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.replay_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuditRecord;

    fn rec(n: i64) -> IdentifiedRecord {
        IdentifiedRecord::new(AuditRecord {
            time_ms: n,
            kind: "auth".into(),
            nas: "sw".into(),
            nas_addr: "127.0.0.1".into(),
            mac: None,
            user: None,
            method: "mab".into(),
            rule: None,
            policy_version: "1".into(),
            segment: None,
            vlan: None,
            result: "reject".into(),
            reason: "unknown".into(),
            detail: None,
        })
    }

    #[test]
    fn a_torn_last_line_is_isolated_from_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.spool");
        std::fs::write(&path, "{\"id\":\"x\",\"time_ms\":").unwrap();
        let spool = Spool::new(path.clone());
        assert!(spool.has_pending());
        spool.append(&[rec(1)], true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(serde_json::from_str::<IdentifiedRecord>(lines[1]).is_ok());
    }

    #[test]
    fn replay_takes_the_file_and_appends_continue_in_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("sub/audit.spool"));
        assert!(!spool.has_pending());
        assert!(spool.take_for_replay().unwrap().is_none());
        spool.append(&[rec(1), rec(2)], false).unwrap();
        let replay = spool.take_for_replay().unwrap().unwrap();
        spool.append(&[rec(3)], false).unwrap();
        assert_eq!(std::fs::read_to_string(&replay).unwrap().lines().count(), 2);
        // An unfinished replay is offered again first.
        assert_eq!(spool.take_for_replay().unwrap().unwrap(), replay);
        spool.finish_replay().unwrap();
        let next = spool.take_for_replay().unwrap().unwrap();
        assert_eq!(std::fs::read_to_string(&next).unwrap().lines().count(), 1);
        spool.finish_replay().unwrap();
        assert!(!spool.has_pending());
    }
}
