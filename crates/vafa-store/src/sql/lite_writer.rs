//! SQLite's purchase writer: one thread with its own synchronous connection that runs
//! purchases back to back inside one transaction and commits them together.
//!
//! A purchase is some twenty statements under SQLite's single write lock. Through
//! sqlx each statement is handed to a worker thread and back, and those wake-ups, not
//! SQLite, were most of a purchase's time (docs/benchmarks.md). Here a purchase is a
//! closure run on the thread that owns the connection: its statements cost what SQLite
//! costs. The thread takes the first queued operation, opens `BEGIN IMMEDIATE`, runs it
//! and every operation queued meanwhile (up to [`MAX_BATCH`]), each inside its own
//! SAVEPOINT so a failing one undoes only itself, then COMMITs once — one fsync for the
//! batch — and only then answers each of them. Nobody hears "done" before the work is
//! durable, and a failed COMMIT answers every member with the failure.
//!
//! The other write operations still run through sqlx on the group-commit connection
//! (`group_commit`). The two take turns on one FIFO lock (`turn`), held for the whole
//! of a batch, so only one of them has a write transaction open at any moment and
//! neither waits on SQLite's busy handler.

use super::db::LiteConn;
use super::group_commit::Stats;
use crate::StoreError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Operations waiting for the writer; a full queue makes callers wait (back-pressure).
const QUEUE: usize = 1024;
/// Operations in one transaction at most, so one commit never holds the lock for long.
pub(crate) const MAX_BATCH: usize = 256;
/// Statements kept prepared (a purchase alone uses about thirty distinct ones).
const STATEMENT_CACHE: usize = 256;
/// How often checkpoints run at most while there are commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// The WAL's size once a checkpoint has caught up: 64 MiB.
const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// The writer's page cache: 64 MiB.
const CACHE_KIB: u32 = 64 * 1024;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What to tell an operation's caller once its batch has committed or failed.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// An operation: run on the connection (`None`: it could not be started), it answers
/// whether its work is to be kept, and how to finish.
type Job = Box<dyn FnOnce(Option<&mut LiteConn>) -> (bool, Finish) + Send>;

pub(crate) struct LiteWriter {
    queue: mpsc::Sender<Job>,
    stats: Arc<Stats>,
}

impl LiteWriter {
    /// Open the writer's connection on `path` and start its thread.
    pub(crate) fn start(
        path: &Path,
        turn: Arc<Mutex<()>>,
        stats: Arc<Stats>,
    ) -> Result<Self, StoreError> {
        Self::start_with_wal_limit(path, turn, stats, WAL_LIMIT_BYTES)
    }

    /// [`LiteWriter::start`], with the WAL started over past `wal_limit` bytes.
    fn start_with_wal_limit(
        path: &Path,
        turn: Arc<Mutex<()>>,
        stats: Arc<Stats>,
        wal_limit: u64,
    ) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // The first three are the settings of every sqlx connection of the store
        // (`sqlite::connect`). Then: the pages a batch dirties stay in memory until COMMIT
        // (a small cache spills them to the WAL early) and the indexes it walks stay warm;
        // savepoints keep what they change in a sub-journal in memory, not a file;
        // checkpoints run on their own thread and connection (below), not inside a commit
        // of this one, which would hold up the next batch; the WAL is cut back to its
        // limit when it starts over after a checkpoint.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -{CACHE_KIB}; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {wal_limit};"
        ))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let checkpointer = rusqlite::Connection::open(path)?;
        checkpointer.busy_timeout(BUSY_TIMEOUT)?;
        checkpointer.execute_batch("PRAGMA synchronous = FULL;")?;
        let page_size: u64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let wal = Arc::new(WalState {
            restart_frames: wal_limit / page_size.max(512),
            long: AtomicBool::new(false),
        });
        let (nudge, nudged) = std::sync::mpsc::sync_channel(1);
        let (queue, jobs) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("vafa-sqlite-checkpoint".into())
            .spawn({
                let wal = wal.clone();
                move || checkpoints(&checkpointer, &nudged, &wal)
            })
            .map_err(|e| StoreError::Open(format!("cannot start the SQLite checkpointer: {e}")))?;
        std::thread::Builder::new()
            .name("vafa-sqlite-writer".into())
            .spawn({
                let stats = stats.clone();
                move || serve(jobs, LiteConn { conn }, &turn, &stats, &nudge, &wal)
            })
            .map_err(|e| StoreError::Open(format!("cannot start the SQLite writer: {e}")))?;
        Ok(LiteWriter { queue, stats })
    }

    /// Time spent running operations, and committing them, in µs since the start.
    pub(crate) fn timing(&self) -> (u64, u64) {
        (
            self.stats.run_micros.load(Relaxed),
            self.stats.commit_micros.load(Relaxed),
        )
    }

    /// Run `op` in the next batch; its answer comes once the batch is durable.
    pub(crate) async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut LiteConn) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn| {
            let Some(conn) = conn else {
                let finish: Finish = Box::new(move |batch| {
                    let e = batch
                        .err()
                        .unwrap_or_else(|| "the operation was not run".into());
                    let _ = reply.send(Err(StoreError::Open(format!("the SQLite writer: {e}"))));
                });
                return (false, finish);
            };
            let result = op(conn);
            let keep = result.is_ok();
            let finish: Finish = Box::new(move |batch| {
                let answer = match (result, batch) {
                    (Err(e), _) => Err(e),
                    (Ok(v), Ok(())) => Ok(v),
                    (Ok(_), Err(e)) => Err(StoreError::Open(format!("commit failed: {e}"))),
                };
                let _ = reply.send(answer);
            });
            (keep, finish)
        });
        self.queue
            .send(job)
            .await
            .map_err(|_| StoreError::Open("the SQLite writer has stopped".into()))?;
        answer.await.map_err(|_| {
            StoreError::BulkRead("the SQLite writer dropped the operation (it panicked)".into())
        })?
    }
}

/// What the checkpointer tells the writer about the WAL.
struct WalState {
    /// Frames past which the WAL is to start over from its beginning.
    restart_frames: u64,
    /// The WAL holds more than that.
    long: AtomicBool,
}

/// The writer thread: batches until every sender is gone.
fn serve(
    mut jobs: mpsc::Receiver<Job>,
    mut conn: LiteConn,
    turn: &Mutex<()>,
    stats: &Stats,
    nudge: &SyncSender<()>,
    wal: &WalState,
) {
    while let Some(first) = jobs.blocking_recv() {
        let turn = turn.blocking_lock();
        // A transaction left open by a failed ROLLBACK would refuse every BEGIN after it.
        if !conn.conn.is_autocommit() {
            if let Err(e) = conn.conn.execute_batch("ROLLBACK") {
                tracing::error!("the SQLite writer cannot roll back an open transaction: {e}");
            }
        }
        if wal.long.load(Relaxed) && catch_up(&conn.conn) {
            wal.long.store(false, Relaxed);
        }
        if let Err(e) = conn.conn.execute_batch("BEGIN IMMEDIATE") {
            drop(turn);
            let (_, finish) = first(None);
            finish(Err(e.to_string()));
            continue;
        }
        let started = std::time::Instant::now();
        let mut finishes = Vec::new();
        let mut kept = 0u64;
        let mut broken = None;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            let (finish, keep, fault) = run_one(&mut conn, job);
            finishes.push(finish);
            kept += u64::from(keep);
            if let Some(fault) = fault {
                broken = Some(fault);
                break;
            }
            if finishes.len() >= MAX_BATCH {
                break;
            }
            next = jobs.try_recv().ok();
        }
        let ran = started.elapsed();
        let outcome = match broken {
            Some(fault) => Err(fault),
            None => conn.conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
        };
        if outcome.is_err() && !conn.conn.is_autocommit() {
            let _ = conn.conn.execute_batch("ROLLBACK");
        }
        drop(turn);
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        stats.run_micros.fetch_add(micros(ran), Relaxed);
        stats
            .commit_micros
            .fetch_add(micros(started.elapsed() - ran), Relaxed);
        if outcome.is_ok() {
            stats.commits.fetch_add(1, Relaxed);
            stats.operations.fetch_add(kept, Relaxed);
            // A checkpoint already asked for is enough.
            let _ = nudge.try_send(());
        }
        for finish in finishes {
            finish(outcome.clone());
        }
    }
}

/// One operation inside its savepoint. Answers how to finish it, whether its work was
/// kept, and a fault when the batch's transaction can no longer be trusted (SQLite
/// rolled it back, or a savepoint could not be undone).
fn run_one(conn: &mut LiteConn, job: Job) -> (Finish, bool, Option<String>) {
    if let Err(e) = conn.conn.execute_batch("SAVEPOINT op") {
        let (_, finish) = job(None);
        return (finish, false, Some(e.to_string()));
    }
    let (keep, finish) = match catch_unwind(AssertUnwindSafe(|| job(Some(&mut *conn)))) {
        Ok(done) => done,
        // The reply went with the unwound closure: its caller hears the writer dropped it.
        Err(_) => (false, Box::new(|_| {}) as Finish),
    };
    if conn.conn.is_autocommit() {
        return (
            finish,
            keep,
            Some("SQLite rolled the transaction back".into()),
        );
    }
    let end = if keep {
        conn.conn.execute_batch("RELEASE op")
    } else {
        conn.conn.execute_batch("ROLLBACK TO op; RELEASE op")
    };
    (finish, keep, end.err().map(|e| e.to_string()))
}

/// Copy committed WAL frames into the database file while the writer goes on: after
/// commits, at most every [`CHECKPOINT_EVERY`], until the writer is gone. PASSIVE never
/// waits for readers or the writer; what it cannot copy now it copies next time.
fn checkpoints(conn: &rusqlite::Connection, nudged: &Receiver<()>, wal: &WalState) {
    while nudged.recv().is_ok() {
        match checkpoint(conn) {
            Ok((frames, _)) if frames > wal.restart_frames => wal.long.store(true, Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!("SQLite checkpoint failed: {e}"),
        }
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

/// A PASSIVE checkpoint: the frames in the WAL, and how many of them are now in the
/// database file.
fn checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<(u64, u64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

/// Between batches, with the turn held: copy the frames the checkpointer has not yet,
/// so that the next transaction writes the WAL from its beginning again. SQLite starts
/// the WAL over only when a write begins with every frame already copied, which under
/// steady purchases never happens by itself (a batch always commits while the
/// checkpointer copies), and the file would grow without end. Answers whether it did.
fn catch_up(conn: &rusqlite::Connection) -> bool {
    match checkpoint(conn) {
        Ok((frames, copied)) => frames == copied,
        // Busy: the checkpointer is at it; try again before the next batch.
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under writes that never pause, the WAL still starts over once it is past its
    /// limit, instead of growing by everything written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_steady_writes() {
        let dir = std::env::temp_dir().join(format!("vafa-wal-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("wal.db");
        let limit = 256 * 1024;
        let writer = Arc::new(
            LiteWriter::start_with_wal_limit(&path, Arc::default(), Arc::default(), limit)
                .expect("writer"),
        );
        writer
            .run(|c| Ok(c.conn.execute_batch("CREATE TABLE t (b BLOB NOT NULL)")?))
            .await
            .expect("table");
        let deadline = std::time::Instant::now() + Duration::from_millis(2500);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                let mut written = 0u64;
                while std::time::Instant::now() < deadline {
                    writer
                        .run(|c| {
                            Ok(c.conn
                                .execute("INSERT INTO t VALUES (randomblob(4000))", [])?)
                        })
                        .await
                        .expect("insert");
                    written += 4000;
                }
                written
            }));
        }
        let mut written = 0;
        for t in tasks {
            written += t.await.expect("task");
        }
        let wal = std::fs::metadata(dir.join("wal.db-wal")).map_or(0, |m| m.len());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(written > 16 * limit, "the test wrote only {written} bytes");
        // Without starting over the WAL holds everything written (more, with its frame
        // headers); with it, the limit plus what is written in a checkpoint interval
        // before the writer hears the WAL is long.
        assert!(
            wal < written / 4,
            "a WAL of {wal} bytes after {written} written"
        );
    }
}
