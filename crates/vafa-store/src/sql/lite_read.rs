//! Point reads on SQLite's hot path (the API key of every request) on the calling
//! thread, through a small pool of plain read-only connections.
//!
//! A read through sqlx's SQLite driver is a hand-off to its worker thread and back;
//! for a single indexed row that hand-off costs more than the read (docs/benchmarks.md).
//! WAL readers never wait for the writer, and a point read takes microseconds, so it
//! runs inline, like any other short computation of the request.

use super::db::LiteConn;
use crate::StoreError;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Idle connections kept. More are opened when many requests read at once — at most one
/// per thread running requests, since a read holds its connection only while it runs.
const IDLE: usize = 8;

/// A plain read-only connection on the store's file.
pub(crate) fn open_read_only(
    path: &std::path::Path,
    busy_timeout: Duration,
) -> Result<rusqlite::Connection, StoreError> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    Ok(conn)
}

pub(crate) struct LiteReaders {
    path: PathBuf,
    idle: Mutex<Vec<LiteConn>>,
}

impl LiteReaders {
    pub(crate) fn new(path: PathBuf) -> Self {
        LiteReaders {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> Result<LiteConn, StoreError> {
        // A WAL reader waits only in rare moments (recovery after a crash); it runs on a
        // request's thread, so it gives up soon rather than hold that thread.
        let conn = open_read_only(&self.path, Duration::from_secs(2))?;
        Ok(LiteConn { conn })
    }

    /// Run `f` on an idle reader (opened if none is idle).
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut LiteConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let mut conn = match idle {
            Some(c) => c,
            None => self.open()?,
        };
        let result = f(&mut conn);
        if let Ok(mut v) = self.idle.lock() {
            if v.len() < IDLE {
                v.push(conn);
            }
        }
        result
    }
}
