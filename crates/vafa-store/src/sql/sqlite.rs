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
    let read = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .connect_with(base.read_only(true))
        .await?;
    Ok(SqlStore { write, read })
}

impl SqlStore<Sqlite> {
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }
}

store_impl!(Sqlite, Backend::Sqlite, "");
