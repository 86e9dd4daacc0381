//! Reads for analytics: purchase histories in bulk.

macro_rules! analytics_ops {
    ($db:ty) => {
        impl SqlStore<$db> {
            pub(crate) async fn points_flows_op(&self, program_id: &str, from: jiff::Timestamp, to: jiff::Timestamp) -> Result<PointsFlows> {
                let mut conn = self.read.acquire().await?;
                let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
                    "SELECT a.kind, CAST(SUM(p.amount) AS BIGINT) FROM postings p \
                     JOIN accounts a ON a.id = p.account_id JOIN journal_entries j ON j.id = p.entry_id \
                     WHERE p.program_id = $1 AND a.unit = 'points' AND a.kind IN ('issued', 'redeemed', 'expired') \
                     AND j.at >= $2 AND j.at < $3 GROUP BY a.kind",
                )
                .bind(program_id)
                .bind(micros(from))
                .bind(micros(to))
                .fetch_all(&mut *conn)
                .await?;
                let mut f = PointsFlows::default();
                for (kind, sum) in rows {
                    let sum = sum.unwrap_or(0);
                    match kind.as_str() {
                        // The issued account gives points away: its postings are negative.
                        "issued" => f.issued = -sum,
                        "redeemed" => f.redeemed = sum,
                        _ => f.expired = sum,
                    }
                }
                Ok(f)
            }

            pub(crate) async fn liability_op(&self, program_id: &str, at: jiff::Timestamp) -> Result<Liability> {
                let mut conn = self.read.acquire().await?;
                let day = 86_400_000_000i64;
                let t = micros(at);
                let row: (Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, i64) = sqlx::query_as(
                    "SELECT \
                     CAST(SUM(CASE WHEN expires_at IS NOT NULL AND expires_at <= $3 THEN remaining ELSE 0 END) AS BIGINT), \
                     CAST(SUM(CASE WHEN expires_at > $3 AND expires_at <= $4 THEN remaining ELSE 0 END) AS BIGINT), \
                     CAST(SUM(CASE WHEN expires_at > $4 AND expires_at <= $5 THEN remaining ELSE 0 END) AS BIGINT), \
                     CAST(SUM(CASE WHEN expires_at > $5 THEN remaining ELSE 0 END) AS BIGINT), \
                     CAST(SUM(CASE WHEN expires_at IS NULL THEN remaining ELSE 0 END) AS BIGINT), \
                     COUNT(*) \
                     FROM lots WHERE program_id = $1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $2)",
                )
                .bind(program_id)
                .bind(t)
                .bind(t + 30 * day)
                .bind(t + 90 * day)
                .bind(t + 365 * day)
                .fetch_one(&mut *conn)
                .await?;
                Ok(Liability {
                    within_30_days: row.0.unwrap_or(0),
                    within_90_days: row.1.unwrap_or(0),
                    within_365_days: row.2.unwrap_or(0),
                    later: row.3.unwrap_or(0),
                    never: row.4.unwrap_or(0),
                })
            }

            pub(crate) async fn active_members_op(&self, program_id: &str, at: jiff::Timestamp) -> Result<i64> {
                let mut conn = self.read.acquire().await?;
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM customers WHERE program_id = $1 AND status = 'active' AND created_at < $2")
                    .bind(program_id)
                    .bind(micros(at))
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(n)
            }

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
