//! PostgreSQL: one pool for reads and writes; rows read before a write are locked
//! with `FOR UPDATE` (in id order where there are several).

use super::store_impl::store_impl;
use crate::{OpenOptions, StoreError};
use sqlx::postgres::PgPoolOptions;
use sqlx::Postgres;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) async fn connect(
    url: &str,
    options: &OpenOptions,
) -> Result<SqlStore<Postgres>, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await?;
    if options.migrate {
        MIGRATOR.run(&pool).await?;
    }
    Ok(SqlStore {
        write: pool.clone(),
        read: pool,
        group: None,
        sqlite_path: None,
    })
}

impl SqlStore<Postgres> {
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        Ok(self.write.begin().await?)
    }
}

store_impl!(Postgres, Backend::Postgres, " FOR UPDATE");
