//! Reads for analytics: purchase histories in bulk.

macro_rules! analytics_ops {
    ($db:ty) => {
        impl SqlStore<$db> {
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
