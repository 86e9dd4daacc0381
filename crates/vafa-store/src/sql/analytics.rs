//! Reads for analytics: purchase histories in bulk.

macro_rules! analytics_ops {
    ($db:ty) => {
        impl SqlStore<$db> {
            pub(crate) async fn create_segment_op(&self, ctx: &Ctx, def: &vafa_core::analytics::segment::SegmentDef) -> Result<SegmentRecord> {
                let mut tx = self.begin_write().await?;
                let id = new_id("seg");
                sqlx::query("INSERT INTO segments (id, program_id, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
                    .bind(&id)
                    .bind(&ctx.program_id)
                    .bind(encode(def)?)
                    .bind(micros(ctx.now))
                    .execute(&mut *tx)
                    .await?;
                Self::audit(&mut tx, ctx, "segment.created", "segment", &id, serde_json::json!({"definition": def})).await?;
                tx.commit().await?;
                Ok(SegmentRecord { id, def: def.clone(), created_at: ctx.now, updated_at: ctx.now })
            }

            pub(crate) async fn list_segments_op(&self, program_id: &str, only: Option<&str>) -> Result<Vec<SegmentRecord>> {
                let mut conn = self.read.acquire().await?;
                let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
                    "SELECT id, definition, created_at, updated_at FROM segments WHERE program_id = $1 AND ($2 IS NULL OR id = $2) ORDER BY id",
                )
                .bind(program_id)
                .bind(only)
                .fetch_all(&mut *conn)
                .await?;
                rows.into_iter()
                    .map(|(id, def, c, u)| Ok(SegmentRecord { id, def: decode_def(&def)?, created_at: from_micros(c)?, updated_at: from_micros(u)? }))
                    .collect()
            }

            pub(crate) async fn segment_population_op(&self, program_id: &str, at: jiff::Timestamp) -> Result<Vec<SegmentCandidate>> {
                let aggregates = self.bulk_customer_aggregates(program_id, jiff::Timestamp::UNIX_EPOCH, at).await?;
                let mut conn = self.read.acquire().await?;
                let balances: Vec<(Option<String>, i64)> = sqlx::query_as(
                    "SELECT customer_id, balance FROM accounts WHERE program_id = $1 AND kind = 'customer_points'",
                )
                .bind(program_id)
                .fetch_all(&mut *conn)
                .await?;
                let balances: std::collections::HashMap<String, i64> =
                    balances.into_iter().filter_map(|(c, b)| c.map(|c| (c, b))).collect();
                let campaigns: Vec<(Option<String>, String, i64)> = sqlx::query_as(
                    "SELECT j.customer_id, ra.campaign_id, ra.occurred_at FROM rule_awards ra JOIN journal_entries j ON j.id = ra.entry_id \
                     WHERE ra.program_id = $1 AND ra.campaign_id <> 'default' AND ra.occurred_at < $2",
                )
                .bind(program_id)
                .bind(micros(at))
                .fetch_all(&mut *conn)
                .await?;
                // A duplicate's awards are its survivor's: one person, one last campaign.
                let merged: std::collections::HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
                    "SELECT id, merged_into FROM customers WHERE program_id = $1 AND merged_into IS NOT NULL",
                )
                .bind(program_id)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .collect();
                let mut last_campaign: std::collections::HashMap<String, (i64, String)> = Default::default();
                for (c, campaign, t) in campaigns {
                    if let Some(c) = c.map(|c| merged.get(&c).cloned().unwrap_or(c)) {
                        let e = last_campaign.entry(c).or_insert((t, campaign.clone()));
                        if t > e.0 {
                            *e = (t, campaign);
                        }
                    }
                }
                let aggregates: std::collections::HashMap<&str, &CustomerAggregate> =
                    aggregates.iter().map(|a| (a.customer_id.as_str(), a)).collect();
                let sql = format!(
                    "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE program_id = $1 AND status IN ('active', 'blocked') \
                     AND id > $2 ORDER BY id LIMIT 500"
                );
                let mut out = Vec::new();
                let mut after = String::new();
                loop {
                    let rows: Vec<CustomerRow> = sqlx::query_as(&sql).bind(program_id).bind(&after).fetch_all(&mut *conn).await?;
                    let Some(last) = rows.last() else { break };
                    after = last.id.clone();
                    for c in Self::load_customers(&mut conn, rows).await? {
                        // Who existed then: created by `at`, or bought before it (an
                        // imported history predates the record).
                        if c.created_at > at && !aggregates.contains_key(c.id.as_str()) {
                            continue;
                        }
                        let mut facts = crate::sql::rules::facts_of(&c);
                        if let Some(a) = aggregates.get(c.id.as_str()) {
                            facts.purchase_count = a.purchases;
                            facts.monetary_minor = a.net_minor;
                            facts.last_purchase_at = Some(a.last_at);
                        }
                        facts.points_balance = balances.get(&c.id).copied().unwrap_or(0);
                        facts.last_campaign = last_campaign.get(&c.id).map(|x| x.1.clone());
                        out.push(SegmentCandidate { customer: c, facts });
                    }
                }
                Ok(out)
            }

            pub(crate) async fn save_snapshot_op(&self, ctx: &Ctx, segment_id: &str, at: jiff::Timestamp, members: &[String]) -> Result<SnapshotRecord> {
                let mut tx = self.begin_write().await?;
                let id = new_id("snp");
                sqlx::query("INSERT INTO segment_snapshots (id, program_id, segment_id, at, taken_at, members) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&id)
                    .bind(&ctx.program_id)
                    .bind(segment_id)
                    .bind(micros(at))
                    .bind(micros(ctx.now))
                    .bind(members.len() as i64)
                    .execute(&mut *tx)
                    .await?;
                for chunk in members.chunks(400) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO segment_snapshot_members (snapshot_id, customer_id) ");
                    q.push_values(chunk, |mut b, c| {
                        b.push_bind(id.clone()).push_bind(c.clone());
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(SnapshotRecord { id, segment_id: segment_id.to_owned(), at, taken_at: ctx.now, members: members.len() as i64 })
            }

            pub(crate) async fn snapshot_members_op(&self, program_id: &str, snapshot_id: &str) -> Result<Option<(SnapshotRecord, Vec<String>)>> {
                let mut conn = self.read.acquire().await?;
                let row: Option<(String, i64, i64, i64)> = sqlx::query_as(
                    "SELECT segment_id, at, taken_at, members FROM segment_snapshots WHERE program_id = $1 AND id = $2",
                )
                .bind(program_id)
                .bind(snapshot_id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some((segment_id, at, taken, n)) = row else { return Ok(None) };
                let ids: Vec<(String,)> = sqlx::query_as("SELECT customer_id FROM segment_snapshot_members WHERE snapshot_id = $1 ORDER BY customer_id")
                    .bind(snapshot_id)
                    .fetch_all(&mut *conn)
                    .await?;
                Ok(Some((
                    SnapshotRecord { id: snapshot_id.to_owned(), segment_id, at: from_micros(at)?, taken_at: from_micros(taken)?, members: n },
                    ids.into_iter().map(|r| r.0).collect(),
                )))
            }

            pub(crate) async fn points_flows_op(&self, program_id: &str, from: jiff::Timestamp, to: jiff::Timestamp) -> Result<PointsFlows> {
                let mut conn = self.read.acquire().await?;
                let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
                    "SELECT a.kind, CAST(SUM(p.amount) AS BIGINT) FROM postings p \
                     JOIN accounts a ON a.id = p.account_id JOIN journal_entries j ON j.id = p.entry_id \
                     WHERE p.program_id = $1 AND a.unit = 'points' AND a.kind IN ('issued', 'goodwill', 'redeemed', 'expired', 'adjustments', 'forfeited') \
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
                        // Goodwill a complaint's resolution granted is issued too (care).
                        "issued" | "goodwill" => f.issued -= sum,
                        "redeemed" => f.redeemed = sum,
                        // Like issued, the adjustments account gives what it grants.
                        "adjustments" => f.adjusted = -sum,
                        "forfeited" => f.forfeited = sum,
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
                // One snapshot for the bounds check and the read that depends on it.
                let mut conn = self.read.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                if <$db as sqlx::Database>::NAME == "PostgreSQL" {
                    // A deferred SQLite read is one snapshot already; READ COMMITTED is not.
                    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
                }
                let (first, last): (Option<i64>, Option<i64>) =
                    sqlx::query_as(crate::sql::bulk::BOUNDS_SQL)
                        .bind(program_id)
                        .fetch_one(&mut *tx)
                        .await?;
                let (Some(first), Some(last)) = (first, last) else { return Ok(Vec::new()) };
                // A window holding the whole history is the running summary, one row per
                // customer; any other window groups the purchases inside it.
                let rows: Vec<(String, i64, Option<i64>, i64, i64)> = if micros(from) <= first && last < micros(to) {
                    sqlx::query_as(crate::sql::bulk::SUMMARY_SQL)
                        .bind(program_id)
                        .fetch_all(&mut *tx)
                        .await?
                } else {
                    sqlx::query_as(crate::sql::bulk::GROUP_SQL)
                    .bind(program_id)
                    .bind(micros(from))
                    .bind(micros(to))
                    .fetch_all(&mut *tx)
                    .await?
                };
                tx.commit().await?;
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
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(crate::sql::bulk::ROWS_SQL)
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
