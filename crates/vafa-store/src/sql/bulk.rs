//! Bulk reads for analytics: every customer's sales, or every purchase, at once.
//!
//! On SQLite these bypass sqlx: its driver hands each row from a worker thread to the
//! async caller over a channel, which costs microseconds per row — seconds for the
//! million rows of a large program. A plain synchronous connection on a blocking
//! thread reads the same rows in a fraction of that. PostgreSQL streams rows over its
//! socket and keeps the sqlx path.

use super::{from_micros, micros, SqlStore};
use crate::rules_model::{CustomerAggregate, SalesRow};
use crate::StoreError;
use jiff::Timestamp;
use sqlx::{Postgres, Sqlite};

type Result<T> = std::result::Result<T, StoreError>;

pub(crate) const BOUNDS_SQL: &str =
    "SELECT MIN(occurred_at), MAX(occurred_at) FROM purchases WHERE program_id = $1";
pub(crate) const SUMMARY_SQL: &str =
    "SELECT customer_id, purchases, net_minor, first_at, last_at FROM customer_sales WHERE program_id = $1";
pub(crate) const GROUP_SQL: &str =
    "SELECT customer_id, COUNT(*), CAST(SUM(total_minor - returned_minor) AS BIGINT), MIN(occurred_at), MAX(occurred_at) \
     FROM purchases WHERE program_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY customer_id";
pub(crate) const ROWS_SQL: &str =
    "SELECT customer_id, occurred_at, total_minor - returned_minor FROM purchases \
     WHERE program_id = $1 AND occurred_at < $2 ORDER BY customer_id, occurred_at";

impl SqlStore<Postgres> {
    pub(crate) async fn bulk_customer_aggregates(
        &self,
        program_id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CustomerAggregate>> {
        self.customer_aggregates_op(program_id, from, to).await
    }

    pub(crate) async fn bulk_purchase_rows(
        &self,
        program_id: &str,
        before: Timestamp,
    ) -> Result<Vec<SalesRow>> {
        self.purchase_rows_op(program_id, before).await
    }
}

impl SqlStore<Sqlite> {
    pub(crate) async fn bulk_customer_aggregates(
        &self,
        program_id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CustomerAggregate>> {
        let Some(path) = self.sqlite_path.clone() else {
            return self.customer_aggregates_op(program_id, from, to).await;
        };
        let program_id = program_id.to_owned();
        blocking(move || {
            let mut conn = open_reader(&path)?;
            // One snapshot for the bounds check and the read that depends on it.
            let tx = conn.transaction()?;
            let (first, last): (Option<i64>, Option<i64>) =
                tx.query_row(BOUNDS_SQL, [&program_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let (Some(first), Some(last)) = (first, last) else {
                return Ok(Vec::new());
            };
            let (from, to) = (micros(from), micros(to));
            let whole = from <= first && last < to;
            let mut stmt = tx.prepare(if whole { SUMMARY_SQL } else { GROUP_SQL })?;
            let mut rows = if whole {
                stmt.query(rusqlite::params![program_id])?
            } else {
                stmt.query(rusqlite::params![program_id, from, to])?
            };
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(CustomerAggregate {
                    customer_id: r.get(0)?,
                    purchases: r.get(1)?,
                    net_minor: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                    first_at: from_micros(r.get(3)?)?,
                    last_at: from_micros(r.get(4)?)?,
                });
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn bulk_purchase_rows(
        &self,
        program_id: &str,
        before: Timestamp,
    ) -> Result<Vec<SalesRow>> {
        let Some(path) = self.sqlite_path.clone() else {
            return self.purchase_rows_op(program_id, before).await;
        };
        let program_id = program_id.to_owned();
        blocking(move || {
            let conn = open_reader(&path)?;
            let mut stmt = conn.prepare(ROWS_SQL)?;
            let mut rows = stmt.query(rusqlite::params![program_id, micros(before)])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(SalesRow {
                    customer_id: r.get(0)?,
                    occurred_at: from_micros(r.get(1)?)?,
                    net_minor: r.get(2)?,
                });
            }
            Ok(out)
        })
        .await
    }
}

/// A read-only connection on the store's file, with the store's busy timeout.
fn open_reader(path: &std::path::Path) -> Result<rusqlite::Connection> {
    super::lite_read::open_read_only(path, std::time::Duration::from_secs(10))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::BulkRead(format!("the reading thread failed: {e}")))?
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}
