//! `--statement-profile`: time every SQLite statement that runs in this process.
//!
//! An auto-extension (run by SQLite for each connection it opens, whoever opens it) turns
//! on `sqlite3_trace_v2` with the STMT and PROFILE events; the clock starts when a
//! statement begins running and stops when it finishes or is reset. SQLite's own PROFILE
//! figure is in whole milliseconds on Unix, too coarse for statements of a few µs, so the
//! span is timed here with `Instant`, per thread (a connection runs on one thread at a
//! time). The store is not touched: the bench sees its statements as SQLite runs them.
//!
//! `unsafe` for the same reason as `slow_sync`: SQLite's hooks are C function pointers.
#![allow(unsafe_code)]

use rusqlite::ffi;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ON: AtomicBool = AtomicBool::new(false);
/// SQL text → (runs, total time).
static TOTALS: Mutex<Option<HashMap<String, (u64, Duration)>>> = Mutex::new(None);

thread_local! {
    /// Statement → when it began running, for statements running on this thread.
    static STARTED: RefCell<HashMap<usize, Instant>> = RefCell::new(HashMap::new());
}

/// Registers the hook for every connection opened from now on. Call before the store
/// opens its connections.
pub fn install() -> anyhow::Result<()> {
    // SAFETY: `hook` has the signature SQLite calls auto-extensions with.
    let rc = unsafe { ffi::sqlite3_auto_extension(Some(hook)) };
    if rc != ffi::SQLITE_OK {
        anyhow::bail!("sqlite3_auto_extension failed: {rc}");
    }
    Ok(())
}

/// Starts counting afresh (what ran before, such as loading the customers, is dropped).
pub fn start() {
    if let Ok(mut t) = TOTALS.lock() {
        *t = Some(HashMap::new());
    }
    ON.store(true, Ordering::Release);
}

/// Stops counting and answers the statements, the most time first: (sql, runs, total).
pub fn stop() -> Vec<(String, u64, Duration)> {
    ON.store(false, Ordering::Release);
    let totals = TOTALS
        .lock()
        .ok()
        .and_then(|mut t| t.take())
        .unwrap_or_default();
    let mut rows: Vec<_> = totals
        .into_iter()
        .map(|(sql, (n, d))| (sql, n, d))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.2));
    rows
}

unsafe extern "C" fn hook(
    db: *mut ffi::sqlite3,
    _err: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    let mask = (ffi::SQLITE_TRACE_STMT | ffi::SQLITE_TRACE_PROFILE) as c_uint;
    // SAFETY: `db` is the connection being opened; `trace` matches xCallback.
    unsafe { ffi::sqlite3_trace_v2(db, mask, Some(trace), std::ptr::null_mut()) };
    ffi::SQLITE_OK
}

unsafe extern "C" fn trace(
    event: c_uint,
    _ctx: *mut c_void,
    p: *mut c_void,
    _x: *mut c_void,
) -> c_int {
    if !ON.load(Ordering::Acquire) {
        return 0;
    }
    let key = p as usize;
    if event == ffi::SQLITE_TRACE_STMT as c_uint {
        // A trigger's body reports itself as "-- TRIGGER …" on its statement: the
        // statement's clock keeps running from when the statement itself began.
        STARTED.with(|s| {
            s.borrow_mut().entry(key).or_insert_with(Instant::now);
        });
        return 0;
    }
    let Some(began) = STARTED.with(|s| s.borrow_mut().remove(&key)) else {
        return 0;
    };
    let took = began.elapsed();
    // SAFETY: for PROFILE, `p` is the statement that finished; its SQL lives as long as it.
    let sql = unsafe {
        let text = ffi::sqlite3_sql(p as *mut ffi::sqlite3_stmt);
        if text.is_null() {
            return 0;
        }
        CStr::from_ptr(text).to_string_lossy()
    };
    if let Ok(mut t) = TOTALS.lock() {
        if let Some(map) = t.as_mut() {
            let e = map.entry(sql.into_owned()).or_insert((0, Duration::ZERO));
            e.0 += 1;
            e.1 += took;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every run of every statement is counted once, whether prepared once and reused or
    /// prepared and finalized each time (as `execute_batch` does with BEGIN and COMMIT).
    #[test]
    fn counts_each_run_of_each_statement() -> anyhow::Result<()> {
        install()?;
        let conn = rusqlite::Connection::open_in_memory()?;
        // Its own table and SQL: the other test in this process may run meanwhile.
        conn.execute_batch("CREATE TABLE profiled (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")?;
        start();
        for i in 0..50 {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            conn.execute("INSERT INTO profiled (id, v) VALUES (?1, 'x')", [i])?;
            conn.execute_batch("COMMIT")?;
        }
        let rows = stop();
        let runs = |sql: &str| rows.iter().find(|r| r.0 == sql).map(|r| r.1);
        assert_eq!(runs("BEGIN IMMEDIATE"), Some(50), "{rows:?}");
        assert_eq!(runs("COMMIT"), Some(50), "{rows:?}");
        assert_eq!(
            runs("INSERT INTO profiled (id, v) VALUES (?1, 'x')"),
            Some(50),
            "{rows:?}"
        );
        Ok(())
    }
}
