//! Group commit for SQLite: concurrent write operations share one transaction, and
//! so one fsync, without giving up durability or isolation.
//!
//! SQLite has one writer. With `synchronous=FULL` every COMMIT waits for the disk, so
//! committing each purchase alone caps throughput at the disk's sync rate. Here each
//! operation runs inside its own SAVEPOINT within a shared `BEGIN IMMEDIATE`
//! transaction on the single writer connection. `commit()` releases the savepoint and
//! queues again on the (FIFO) connection lock, behind every operation that was already
//! waiting; the first member of the batch to get the lock back COMMITs for all of them.
//! Nobody is answered before the transaction holding its work is durable. A failing or
//! abandoned operation rolls back to its own savepoint; the others are unaffected.
//!
//! Purchases run on their own writer thread (`lite_writer`); a batch here and a batch
//! there take turns on one FIFO lock (`turn`), held from BEGIN to COMMIT.

use crate::StoreError;
use sqlx::{Connection, SqliteConnection};
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How many recent batch outcomes are remembered for members still waiting to read them
/// (far more than there can be concurrent writers).
const OUTCOMES_KEPT: usize = 4096;

pub(crate) struct State {
    conn: SqliteConnection,
    open_batch: Option<u64>,
    next_batch: u64,
    next_savepoint: u64,
    /// Members of the open batch that released their savepoint and wait for COMMIT.
    waiting: usize,
    /// Savepoints of dropped operations, rolled back by the next holder of the lock.
    abandoned: Vec<String>,
    outcomes: VecDeque<(u64, Result<(), String>)>,
    /// This connection's turn at writing, held while a batch is open.
    turn: Option<OwnedMutexGuard<()>>,
}

pub(crate) struct GroupCommit {
    state: Arc<Mutex<State>>,
    stats: Arc<Stats>,
    turn: Arc<Mutex<()>>,
}

/// Commits made and the operations they made durable, by both SQLite writers.
#[derive(Default)]
pub(crate) struct Stats {
    pub commits: std::sync::atomic::AtomicU64,
    pub operations: std::sync::atomic::AtomicU64,
    /// The purchase writer's time running operations, and committing them (µs).
    pub run_micros: std::sync::atomic::AtomicU64,
    pub commit_micros: std::sync::atomic::AtomicU64,
}

impl GroupCommit {
    pub(crate) fn new(conn: SqliteConnection, turn: Arc<Mutex<()>>, stats: Arc<Stats>) -> Self {
        let state = State {
            conn,
            open_batch: None,
            next_batch: 0,
            next_savepoint: 0,
            waiting: 0,
            abandoned: Vec::new(),
            outcomes: VecDeque::new(),
            turn: None,
        };
        GroupCommit {
            state: Arc::new(Mutex::new(state)),
            stats,
            turn,
        }
    }

    /// Join (or open) the current batch; the returned guard is the connection.
    ///
    /// Run as its own task, as are `commit` and `rollback`: a caller that goes away
    /// (a client hung up and its request was dropped) must not stop it between a
    /// statement and the bookkeeping that records it — a batch left open with nobody to
    /// commit it would hold the write lock, and the turn, for good.
    pub(crate) async fn begin(&self) -> Result<GroupTx, StoreError> {
        let (state, stats, turn) = (self.state.clone(), self.stats.clone(), self.turn.clone());
        finished(tokio::spawn(Self::begin_in(state, stats, turn))).await
    }

    async fn begin_in(
        state: Arc<Mutex<State>>,
        stats: Arc<Stats>,
        turn: Arc<Mutex<()>>,
    ) -> Result<GroupTx, StoreError> {
        let mut g = state.clone().lock_owned().await;
        if let Err(e) = g.clean_up().await {
            g.abort(e.to_string()).await;
            return Err(e);
        }
        let batch = match g.open_batch {
            Some(b) => b,
            None => {
                let turn = turn.lock_owned().await;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut g.conn).await?;
                g.turn = Some(turn);
                g.next_batch += 1;
                g.waiting = 0;
                g.open_batch = Some(g.next_batch);
                g.next_batch
            }
        };
        g.next_savepoint += 1;
        let savepoint = format!("op{}", g.next_savepoint);
        if let Err(e) = sqlx::query(&format!("SAVEPOINT {savepoint}"))
            .execute(&mut g.conn)
            .await
        {
            // Close the batch if this was its only member, so the turn is not held.
            drop(g);
            janitor(state);
            return Err(e.into());
        }
        Ok(GroupTx {
            guard: Some(g),
            state,
            stats,
            savepoint,
            batch,
        })
    }
}

impl GroupCommit {
    pub(crate) fn stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.stats.commits.load(Relaxed),
            self.stats.operations.load(Relaxed),
        )
    }
}

impl State {
    async fn clean_up(&mut self) -> Result<(), StoreError> {
        for sp in std::mem::take(&mut self.abandoned) {
            sqlx::query(&format!("ROLLBACK TO {sp}"))
                .execute(&mut self.conn)
                .await?;
            sqlx::query(&format!("RELEASE {sp}"))
                .execute(&mut self.conn)
                .await?;
        }
        Ok(())
    }

    /// Roll the open batch back whole (a savepoint could not be undone): its members
    /// hear `why` instead of a commit, and the turn goes to the other writer.
    async fn abort(&mut self, why: String) {
        if let Some(batch) = self.open_batch.take() {
            let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
            self.record(batch, Err(why));
        }
        self.abandoned.clear();
        self.waiting = 0;
        self.turn = None;
    }

    fn outcome(&self, batch: u64) -> Option<Result<(), String>> {
        self.outcomes
            .iter()
            .find(|(b, _)| *b == batch)
            .map(|(_, r)| r.clone())
    }

    fn record(&mut self, batch: u64, outcome: Result<(), String>) {
        if self.outcomes.len() == OUTCOMES_KEPT {
            self.outcomes.pop_front();
        }
        self.outcomes.push_back((batch, outcome));
    }
}

/// One operation's share of a batch; dereferences to the writer connection.
pub(crate) struct GroupTx {
    guard: Option<OwnedMutexGuard<State>>,
    state: Arc<Mutex<State>>,
    stats: Arc<Stats>,
    savepoint: String,
    batch: u64,
}

impl GroupTx {
    fn state(&mut self) -> Result<&mut OwnedMutexGuard<State>, StoreError> {
        self.guard
            .as_mut()
            .ok_or_else(|| StoreError::Corrupt("transaction already finished".into()))
    }

    /// Keep this operation's work and return once the batch holding it is durable.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        finished(tokio::spawn(self.commit_in())).await
    }

    async fn commit_in(mut self) -> Result<(), StoreError> {
        let sp = self.savepoint.clone();
        let g = self.state()?;
        sqlx::query(&format!("RELEASE {sp}"))
            .execute(&mut g.conn)
            .await?;
        g.waiting += 1;
        self.guard = None;
        // Queue again behind everyone already waiting: they join this batch first.
        let mut g = self.state.clone().lock_owned().await;
        if let Some(outcome) = g.outcome(self.batch) {
            return outcome.map_err(StoreError::Open);
        }
        let members = g.waiting as u64;
        // A failed operation's savepoint that cannot be undone fails the batch, which is
        // then rolled back whole: nobody in it is told it is done.
        let result = match g.clean_up().await {
            Err(e) => Err(e.to_string()),
            Ok(()) => sqlx::query("COMMIT")
                .execute(&mut g.conn)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
        if result.is_err() {
            let _ = sqlx::query("ROLLBACK").execute(&mut g.conn).await;
        } else {
            use std::sync::atomic::Ordering::Relaxed;
            self.stats.commits.fetch_add(1, Relaxed);
            self.stats.operations.fetch_add(members, Relaxed);
        }
        g.open_batch = None;
        g.waiting = 0;
        g.turn = None;
        g.record(self.batch, result.clone());
        result.map_err(|e| StoreError::Open(format!("commit failed: {e}")))
    }

    /// Undo this operation's work; the batch goes on without it.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        finished(tokio::spawn(self.rollback_in())).await
    }

    async fn rollback_in(mut self) -> Result<(), StoreError> {
        let sp = self.savepoint.clone();
        let g = self.state()?;
        sqlx::query(&format!("ROLLBACK TO {sp}"))
            .execute(&mut g.conn)
            .await?;
        sqlx::query(&format!("RELEASE {sp}"))
            .execute(&mut g.conn)
            .await?;
        self.guard = None;
        janitor(self.state.clone());
        Ok(())
    }
}

/// The answer of a task that runs a step of the batch to its end.
async fn finished<T>(
    task: tokio::task::JoinHandle<Result<T, StoreError>>,
) -> Result<T, StoreError> {
    task.await
        .map_err(|e| StoreError::Open(format!("the SQLite writer's task failed: {e}")))?
}

/// Close a batch nobody is waiting for (its only members failed), so the database's
/// write lock is not held by an idle transaction.
fn janitor(state: Arc<Mutex<State>>) {
    tokio::spawn(async move {
        let mut g = state.lock_owned().await;
        if let Err(e) = g.clean_up().await {
            g.abort(e.to_string()).await;
            return;
        }
        if g.waiting == 0 {
            if let Some(batch) = g.open_batch.take() {
                let _ = sqlx::query("ROLLBACK").execute(&mut g.conn).await;
                g.turn = None;
                g.record(batch, Ok(()));
            }
        }
    });
}

impl Drop for GroupTx {
    fn drop(&mut self) {
        // Dropped without commit (an error, or an early answer): undo this savepoint.
        if let Some(mut g) = self.guard.take() {
            g.abandoned.push(self.savepoint.clone());
            drop(g);
            if tokio::runtime::Handle::try_current().is_ok() {
                janitor(self.state.clone());
            }
        }
    }
}

impl Deref for GroupTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match &self.guard {
            Some(g) => &g.conn,
            // The guard is only taken by commit/rollback, which consume the value.
            None => unreachable!("GroupTx used after commit"),
        }
    }
}

impl DerefMut for GroupTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match &mut self.guard {
            Some(g) => &mut g.conn,
            None => unreachable!("GroupTx used after commit"),
        }
    }
}

/// Open the dedicated writer connection.
pub(crate) async fn writer(
    options: &sqlx::sqlite::SqliteConnectOptions,
) -> Result<SqliteConnection, StoreError> {
    Ok(SqliteConnection::connect_with(options).await?)
}
