//! `--sync-latency-us N`: every SQLite file in this process syncs N µs slower.
//!
//! This machine's virtual disk makes a durable commit cheap (an fsync of ~100–200 µs);
//! cloud block storage and SSDs without power-loss protection take 0.5–2 ms, a spinning
//! disk ~8 ms. Group commit exists for those disks, and this shim lets the bench show
//! what it does there: a VFS registered as the default, wrapping the platform's own, whose
//! `xSync` sleeps N µs before the real sync. Everything else passes through unchanged, and
//! the raw baselines and the purchases all open their files through it, so the ratio
//! compares like with like. A model of a slower disk, not a measurement of one: the figures
//! it gives are reported as such.
//!
//! The workspace forbids `unsafe`; this file alone allows it, because a VFS is a table of C
//! function pointers and rusqlite has no safe way to wrap one. Nothing outside the bench
//! binary uses it.
#![allow(unsafe_code)]

use rusqlite::ffi;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::Duration;

/// The wrapped VFS (the platform's default before ours was registered).
static REAL: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());
static LATENCY_US: AtomicU64 = AtomicU64::new(0);
/// Syncs delayed so far (the test counts them).
static SYNCS: AtomicU64 = AtomicU64::new(0);

const NAME: &CStr = c"vafa-bench-slow-sync";

/// Our file: SQLite allocates `szOsFile` bytes for it; the real VFS's file follows.
#[repr(C)]
struct SlowFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
}

/// Registers the shim as SQLite's default VFS. Call before any connection is opened;
/// calling it again only changes the latency.
pub fn install(latency: Duration) -> anyhow::Result<()> {
    LATENCY_US.store(latency.as_micros() as u64, Ordering::Relaxed);
    if !REAL.load(Ordering::Acquire).is_null() {
        return Ok(());
    }
    // SAFETY: sqlite3_vfs_find and sqlite3_vfs_register are thread-safe; the VFS we
    // register is leaked, so it outlives every connection as SQLite requires.
    unsafe {
        let real = ffi::sqlite3_vfs_find(ptr::null());
        if real.is_null() {
            anyhow::bail!("SQLite has no default VFS to wrap");
        }
        let mut vfs: ffi::sqlite3_vfs = *real;
        vfs.iVersion = vfs.iVersion.min(3);
        vfs.szOsFile = std::mem::size_of::<SlowFile>() as c_int + (*real).szOsFile;
        vfs.pNext = ptr::null_mut();
        vfs.zName = NAME.as_ptr();
        vfs.xOpen = Some(open);
        REAL.store(real, Ordering::Release);
        let rc = ffi::sqlite3_vfs_register(Box::into_raw(Box::new(vfs)), 1);
        if rc != ffi::SQLITE_OK {
            anyhow::bail!("sqlite3_vfs_register failed: {rc}");
        }
    }
    Ok(())
}

/// Syncs that paid the added latency since the process started.
#[cfg(test)]
fn syncs() -> u64 {
    SYNCS.load(Ordering::Relaxed)
}

fn real_of(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY: every file whose methods are METHODS was set up by `open` as a SlowFile.
    unsafe { (*(file as *mut SlowFile)).real }
}

/// Calls the real file's method, or answers `missing` when it has none.
macro_rules! forward {
    ($file:expr, $method:ident, $missing:expr $(, $arg:expr)*) => {{
        let real = real_of($file);
        // SAFETY: `real` is the file the real VFS opened, with its own method table.
        unsafe {
            match (*(*real).pMethods).$method {
                Some(f) => f(real $(, $arg)*),
                None => $missing,
            }
        }
    }};
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite hands us szOsFile bytes for `file`, SlowFile first, then room for
    // the real file; the real VFS is the one `install` wrapped.
    unsafe {
        let real_vfs = REAL.load(Ordering::Acquire);
        let slow = file as *mut SlowFile;
        let real = (file as *mut u8).add(std::mem::size_of::<SlowFile>()) as *mut ffi::sqlite3_file;
        (*slow).real = real;
        (*real).pMethods = ptr::null();
        let Some(real_open) = (*real_vfs).xOpen else {
            (*slow).base.pMethods = ptr::null();
            return ffi::SQLITE_CANTOPEN;
        };
        let rc = real_open(real_vfs, name, real, flags, out_flags);
        // SQLite calls xClose only on files whose pMethods is set; follow the real file.
        (*slow).base.pMethods = if (*real).pMethods.is_null() {
            ptr::null()
        } else {
            &METHODS
        };
        rc
    }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    let us = LATENCY_US.load(Ordering::Relaxed);
    if us > 0 {
        SYNCS.fetch_add(1, Ordering::Relaxed);
        // The thread blocks as it would in a slow fsync, so a batch gathers meanwhile.
        std::thread::sleep(Duration::from_micros(us));
    }
    forward!(file, xSync, ffi::SQLITE_IOERR_FSYNC, flags)
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    forward!(file, xClose, ffi::SQLITE_OK)
}
unsafe extern "C" fn read(f: *mut ffi::sqlite3_file, b: *mut c_void, n: c_int, o: i64) -> c_int {
    forward!(f, xRead, ffi::SQLITE_IOERR_READ, b, n, o)
}
unsafe extern "C" fn write(f: *mut ffi::sqlite3_file, b: *const c_void, n: c_int, o: i64) -> c_int {
    forward!(f, xWrite, ffi::SQLITE_IOERR_WRITE, b, n, o)
}
unsafe extern "C" fn truncate(f: *mut ffi::sqlite3_file, size: i64) -> c_int {
    forward!(f, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, size)
}
unsafe extern "C" fn file_size(f: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    forward!(f, xFileSize, ffi::SQLITE_IOERR_FSTAT, size)
}
unsafe extern "C" fn lock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward!(f, xLock, ffi::SQLITE_IOERR_LOCK, level)
}
unsafe extern "C" fn unlock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward!(f, xUnlock, ffi::SQLITE_IOERR_UNLOCK, level)
}
unsafe extern "C" fn check_reserved(f: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    forward!(
        f,
        xCheckReservedLock,
        ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
        out
    )
}
unsafe extern "C" fn file_control(f: *mut ffi::sqlite3_file, op: c_int, arg: *mut c_void) -> c_int {
    forward!(f, xFileControl, ffi::SQLITE_NOTFOUND, op, arg)
}
unsafe extern "C" fn sector_size(f: *mut ffi::sqlite3_file) -> c_int {
    forward!(f, xSectorSize, 4096)
}
unsafe extern "C" fn device_characteristics(f: *mut ffi::sqlite3_file) -> c_int {
    forward!(f, xDeviceCharacteristics, 0)
}
unsafe extern "C" fn shm_map(
    f: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    forward!(
        f,
        xShmMap,
        ffi::SQLITE_IOERR_SHMMAP,
        page,
        size,
        extend,
        out
    )
}
unsafe extern "C" fn shm_lock(
    f: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    forward!(f, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, offset, n, flags)
}
unsafe extern "C" fn shm_barrier(f: *mut ffi::sqlite3_file) {
    forward!(f, xShmBarrier, ())
}
unsafe extern "C" fn shm_unmap(f: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    forward!(f, xShmUnmap, ffi::SQLITE_OK, delete)
}
unsafe extern "C" fn fetch(
    f: *mut ffi::sqlite3_file,
    o: i64,
    n: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // No real xFetch: answer "no mapping", and SQLite reads the page instead.
    if out.is_null() {
        return ffi::SQLITE_OK;
    }
    forward!(
        f,
        xFetch,
        {
            *out = ptr::null_mut();
            ffi::SQLITE_OK
        },
        o,
        n,
        out
    )
}
unsafe extern "C" fn unfetch(f: *mut ffi::sqlite3_file, o: i64, p: *mut c_void) -> c_int {
    forward!(f, xUnfetch, ffi::SQLITE_OK, o, p)
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The shim passes reads and writes through (WAL and its shared memory included) and
    /// delays each durable commit's sync.
    #[test]
    fn commits_through_the_shim_are_durable_and_slower() -> anyhow::Result<()> {
        install(Duration::from_millis(2))?;
        let dir = std::env::temp_dir().join(format!("vafa-slow-sync-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("t.db");
        let before = syncs();
        let started = std::time::Instant::now();
        {
            let conn = rusqlite::Connection::open(&path)?;
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)",
            )?;
            for i in 0..20 {
                conn.execute("INSERT INTO t (id, v) VALUES (?1, 'x')", [i])?;
            }
        }
        let elapsed = started.elapsed();
        let conn = rusqlite::Connection::open(&path)?;
        let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
        let mode: String = conn.query_row("PRAGMA main.journal_mode", [], |r| r.get(0))?;
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(n, 20);
        assert_eq!(mode, "wal");
        assert!(syncs() - before >= 20, "one sync per commit at least");
        assert!(elapsed >= Duration::from_millis(40), "{elapsed:?}");
        Ok(())
    }
}
