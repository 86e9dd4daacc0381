//! Reads for analytics: purchase histories in bulk.

macro_rules! analytics_ops {
    ($db:ty) => {
        impl SqlStore<$db> {
            pub(crate) async fn customer_aggregates_op(
                &self,
                program_id: &str,
                from: jiff::Timestamp,
                to: jiff::Timestamp,
            ) -> Result<Vec<CustomerAggregate>> {
                let mut conn = self.read.acquire().await?;
                let rows: Vec<(String, i64, Option<i64>, i64, i64)> = sqlx::query_as(
                    "SELECT customer_id, COUNT(*), CAST(SUM(total_minor - returned_minor) AS BIGINT), MIN(occurred_at), MAX(occurred_at) \
                     FROM purchases WHERE program_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY customer_id",
                )
                .bind(program_id)
                .bind(micros(from))
                .bind(micros(to))
                .fetch_all(&mut *conn)
                .await?;
                rows.into_iter()
                    .map(|(customer_id, purchases, net, first, last)| {
                        Ok(CustomerAggregate {
                            customer_id,
                            purchases,
                            net_minor: net.unwrap_or(0),
                            first_at: from_micros(first)?,
                            last_at: from_micros(last)?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn purchase_rows_op(&self, program_id: &str, before: jiff::Timestamp) -> Result<Vec<SalesRow>> {
                let mut conn = self.read.acquire().await?;
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                    "SELECT customer_id, occurred_at, total_minor - returned_minor FROM purchases \
                     WHERE program_id = $1 AND occurred_at < $2 ORDER BY customer_id, occurred_at",
                )
                .bind(program_id)
                .bind(micros(before))
                .fetch_all(&mut *conn)
                .await?;
                rows.into_iter()
                    .map(|(customer_id, at, net_minor)| Ok(SalesRow { customer_id, occurred_at: from_micros(at)?, net_minor }))
                    .collect()
            }
        }
    };
}

pub(crate) use analytics_ops;
