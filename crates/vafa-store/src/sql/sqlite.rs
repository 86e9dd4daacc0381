//! SQLite: WAL, `synchronous=FULL`, one writer connection whose transactions begin
//! `IMMEDIATE` (a deferred read-then-write transaction fails with `database is locked`
//! at once, ignoring `busy_timeout`), and a separate pool of read-only connections.

use super::store_impl::store_impl;
use crate::{OpenOptions, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Sqlite;
use std::path::Path;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn connect(
    path: &Path,
    options: &OpenOptions,
) -> Result<SqlStore<Sqlite>, StoreError> {
    let base = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(base.clone().create_if_missing(options.create))
        .await?;
    if options.migrate {
        MIGRATOR.run(&write).await?;
    }
    let writer = super::group_commit::writer(&base).await?;
    let read = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .connect_with(base.read_only(true))
        .await?;
    // Purchases (their own thread) and every other write (sqlx) take turns at writing.
    let turn = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let stats = std::sync::Arc::new(super::group_commit::Stats::default());
    let lite = super::lite_writer::LiteWriter::start(path, turn.clone(), stats.clone())?;
    Ok(SqlStore {
        write,
        read,
        group: Some(std::sync::Arc::new(super::group_commit::GroupCommit::new(
            writer, turn, stats,
        ))),
        lite: Some(std::sync::Arc::new(lite)),
        lite_read: Some(super::lite_read::LiteReaders::new(path.to_path_buf())),
        programs: Default::default(),
        sqlite_path: Some(path.to_path_buf()),
    })
}

impl SqlStore<Sqlite> {
    /// A share of the current write batch (see `group_commit`): BEGIN IMMEDIATE, one
    /// writer, durable before anyone is answered.
    pub(crate) async fn begin_write(&self) -> Result<super::group_commit::GroupTx, StoreError> {
        match &self.group {
            Some(g) => g.begin().await,
            None => Err(StoreError::Open("the store is closed".into())),
        }
    }
}

store_impl!(Sqlite, Backend::Sqlite, "");

impl SqlStore<Sqlite> {
    /// A purchase runs on the purchase writer's thread, in its next batch.
    pub(crate) async fn post_purchase_op(
        &self,
        ctx: &crate::Ctx,
        p: &crate::NewPurchase,
        idem: Option<&crate::Idempotency>,
    ) -> crate::Result<crate::Replayed<crate::PurchaseOutcome>> {
        let Some(lite) = &self.lite else {
            return Err(StoreError::Open("the store is closed".into()));
        };
        let (ctx, p, idem) = (ctx.clone(), p.clone(), idem.cloned());
        lite.run(move |conn| super::db::run_now(Self::purchase_in(conn, &ctx, &p, idem.as_ref()))?)
            .await
    }

    /// The key's principal, read on this thread (see `lite_read`).
    pub(crate) async fn key_principal_op(
        &self,
        presented: &str,
    ) -> crate::Result<Option<crate::Principal>> {
        let Some(readers) = &self.lite_read else {
            return Err(StoreError::Open("the store is closed".into()));
        };
        readers.with(|c| super::db::run_now(Self::key_principal(c, presented))?)
    }
}
