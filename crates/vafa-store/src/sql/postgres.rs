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
        lite: None,
        lite_read: None,
        programs: Default::default(),
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

impl SqlStore<Postgres> {
    pub(crate) async fn post_purchase_op(
        &self,
        ctx: &crate::Ctx,
        p: &crate::NewPurchase,
        idem: Option<&crate::Idempotency>,
    ) -> crate::Result<crate::Replayed<crate::PurchaseOutcome>> {
        let mut tx = self.begin_write().await?;
        let outcome = Self::purchase_in(&mut *tx, ctx, p, idem).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    pub(crate) async fn key_principal_op(
        &self,
        presented: &str,
    ) -> crate::Result<Option<crate::Principal>> {
        let mut conn = self.read.acquire().await?;
        Self::key_principal(&mut conn, presented).await
    }
}
