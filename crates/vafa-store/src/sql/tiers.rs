//! Tier ladders and customers' tiers: the ladder, upgrades inside the purchase's
//! transaction, periodic evaluation with grace, overrides and history.

/// The column a ladder's metric sums over purchases.
pub(crate) fn metric_sql(metric: vafa_core::tiers::TierMetric) -> &'static str {
    match metric {
        vafa_core::tiers::TierMetric::Spend => "total_minor - returned_minor",
        vafa_core::tiers::TierMetric::EarnedPoints => "points_earned - points_reversed",
    }
}

/// The purchase whose crossing of a threshold an upgrade is, and when its points
/// become available.
#[derive(Clone, Copy)]
pub(crate) struct ByPurchase<'a> {
    pub purchase_id: &'a str,
    pub available_at: jiff::Timestamp,
}

/// (tier, since, below_since, pinned_until) as stored.
pub(crate) type TierRow = (String, i64, Option<i64>, Option<i64>);

macro_rules! tier_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            pub(crate) async fn ladder_of<C: Db>(
                conn: &mut C,
                program_id: &str,
            ) -> Result<Option<vafa_core::tiers::TierLadder>> {
                let row: Option<(String,)> = db::query("SELECT definition FROM tier_ladders WHERE program_id = $1")
                    .bind(program_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(|(d,)| decode_def(&d)).transpose()
            }

            pub(crate) async fn tier_ladder_op(&self, program_id: &str) -> Result<Option<vafa_core::tiers::TierLadder>> {
                let mut conn = self.read.acquire().await?;
                Self::ladder_of(&mut conn, program_id).await
            }

            pub(crate) async fn tier_counts_op(&self, program_id: &str) -> Result<Vec<(Option<String>, i64)>> {
                let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
                    "SELECT t.tier, COUNT(*) FROM customers c \
                     LEFT JOIN customer_tiers t ON t.program_id = c.program_id AND t.customer_id = c.id \
                     WHERE c.program_id = $1 AND c.status = 'active' GROUP BY t.tier ORDER BY t.tier",
                )
                .bind(program_id)
                .fetch_all(&self.read)
                .await?;
                Ok(rows)
            }

            pub(crate) async fn set_tier_ladder_op(
                &self,
                ctx: &Ctx,
                ladder: &vafa_core::tiers::TierLadder,
            ) -> Result<vafa_core::tiers::TierLadder> {
                let mut tx = self.begin_write().await?;
                Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                sqlx::query(
                    "INSERT INTO tier_ladders (program_id, definition, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (program_id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at",
                )
                .bind(&ctx.program_id)
                .bind(encode(ladder)?)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                Self::audit(&mut tx, ctx, "tiers.ladder_set", "program", &ctx.program_id, serde_json::json!({"ladder": ladder})).await?;
                tx.commit().await?;
                Ok(ladder.clone())
            }

            pub(crate) async fn tier_row<C: Db>(
                conn: &mut C,
                program_id: &str,
                customer_id: &str,
            ) -> Result<Option<crate::sql::tiers::TierRow>> {
                db::query("SELECT tier, since, below_since, pinned_until FROM customer_tiers WHERE program_id = $1 AND customer_id = $2")
                    .bind(program_id)
                    .bind(customer_id)
                    .fetch_optional(&mut *conn)
                    .await
            }

            /// The customer's level on `ladder`; a tier no longer on it counts as the first.
            pub(crate) fn level_of(ladder: &vafa_core::tiers::TierLadder, row: Option<&crate::sql::tiers::TierRow>) -> usize {
                row.and_then(|r| ladder.index_of(&r.0)).unwrap_or(0)
            }

            /// The customer's qualifying value in `[start, end]`.
            pub(crate) async fn qualifying_value<C: Db>(
                conn: &mut C,
                program_id: &str,
                customer_id: &str,
                metric: vafa_core::tiers::TierMetric,
                start: jiff::Timestamp,
                end: jiff::Timestamp,
            ) -> Result<i64> {
                let sql = format!(
                    "SELECT CAST(COALESCE(SUM({}), 0) AS BIGINT) FROM purchases \
                     WHERE program_id = $1 AND customer_id = $2 AND occurred_at >= $3 AND occurred_at <= $4",
                    crate::sql::tiers::metric_sql(metric)
                );
                let (v,): (i64,) = db::query(&sql)
                    .bind(program_id)
                    .bind(customer_id)
                    .bind(micros(start))
                    .bind(micros(end))
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(v)
            }

            /// Whether a purchase that leaves the customer qualifying for their tier
            /// `level` owes them its entry gift again: a return took back whole the gift
            /// of an upgrade into this tier or above, and no gift for this tier or above
            /// is still theirs (a customer who bought past the threshold, returned, and
            /// buys past it again before an evaluation moves them down).
            pub(crate) async fn gift_owed<C: Db>(
                conn: &mut C,
                program_id: &str,
                customer_id: &str,
                ladder: &vafa_core::tiers::TierLadder,
                level: usize,
            ) -> Result<bool> {
                if level == 0 || ladder.tiers[level].entry_gift_points <= 0 {
                    return Ok(false);
                }
                let rows: Vec<(String, i64, i64)> = db::query(
                    "SELECT to_tier, gift_points, gift_reversed FROM tier_changes WHERE program_id = $1 AND gift_points > 0 \
                     AND (customer_id = $2 OR customer_id IN (SELECT id FROM customers WHERE program_id = $1 AND merged_into = $2))",
                )
                .bind(program_id)
                .bind(customer_id)
                .fetch_all(&mut *conn)
                .await?;
                let mut taken_back = false;
                for (tier, gift, reversed) in rows {
                    match ladder.index_of(&tier) {
                        Some(l) if l >= level => {
                            if reversed < gift {
                                return Ok(false);
                            }
                            taken_back = true;
                        }
                        _ => {}
                    }
                }
                Ok(taken_back)
            }

            /// Move a customer to `to` (upgrade, downgrade or override): the state, the
            /// history row, the audit row and — on an upgrade — the entry gift, all in
            /// the caller's transaction. `regift` gives the gift of the tier they hold
            /// again ([`Self::gift_owed`]) and leaves their tier as it is.
            #[allow(clippy::too_many_arguments)]
            pub(crate) async fn change_tier<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                program: &Program,
                settings: &LedgerSettings,
                ladder: &vafa_core::tiers::TierLadder,
                customer_id: &str,
                from: Option<&str>,
                to: usize,
                kind: &str,
                reason: Option<&str>,
                qualifying: i64,
                pinned_until: Option<jiff::Timestamp>,
                by_purchase: Option<crate::sql::tiers::ByPurchase<'_>>,
            ) -> Result<crate::tiers_model::TierChange> {
                let tier = &ladder.tiers[to];
                let gift = if matches!(kind, "upgrade" | "regift") { tier.entry_gift_points } else { 0 };
                let mut entry_id = None;
                let mut gift_lot = None;
                if gift > 0 {
                    let acct = AccountSpec::customer_points(customer_id);
                    let row = Self::lock_account(&mut *conn, &ctx.program_id, &acct, ctx.now).await?;
                    let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    // A purchase's gift is pending with its points: a return in the
                    // window can take it back before it is spent.
                    let available = by_purchase.map_or(ctx.now, |p| p.available_at);
                    // Its life starts when it can be spent, and never before it is given (a
                    // sale entered late does not give a gift that is already expired).
                    let expires = settings.expiry.expires_at(available.max(ctx.now), &tz);
                    let purchase_id = by_purchase.map(|p| p.purchase_id);
                    let lot = Self::new_lot(&mut *conn, ctx, &row.id, purchase_id, gift, available, expires).await?;
                    let paid = gift.min(row.debt.max(0));
                    let mut legs = vec![Leg::lot(acct.clone(), gift, &lot), Leg::new(AccountSpec::program("issued", POINTS, customer_id), -gift)];
                    if paid > 0 {
                        legs.push(Leg::lot(acct.clone(), -paid, &lot));
                        legs.push(Leg::new(acct, paid));
                    }
                    let explanation = serde_json::json!({"tier": tier.code, "entry_gift_points": gift});
                    let id = Self::post_entry(&mut *conn, ctx, "tier_gift", Some(customer_id), purchase_id, explanation, &legs).await?;
                    db::query("UPDATE lots SET entry_id = $1 WHERE id = $2").bind(&id).bind(&lot).execute(&mut *conn).await?;
                    entry_id = Some(id);
                    gift_lot = Some(lot);
                }
                if kind != "regift" {
                    db::query(
                        "INSERT INTO customer_tiers (program_id, customer_id, tier, since, below_since, pinned_until) VALUES ($1, $2, $3, $4, NULL, $5) \
                         ON CONFLICT (program_id, customer_id) DO UPDATE SET tier = excluded.tier, since = excluded.since, \
                         below_since = NULL, pinned_until = excluded.pinned_until",
                    )
                    .bind(&ctx.program_id)
                    .bind(customer_id)
                    .bind(&tier.code)
                    .bind(micros(ctx.now))
                    .bind(pinned_until.map(micros))
                    .execute(&mut *conn)
                    .await?;
                }
                let change = crate::tiers_model::TierChange {
                    id: new_id("tch"),
                    customer_id: customer_id.to_owned(),
                    from_tier: from.map(str::to_owned),
                    to_tier: tier.code.clone(),
                    kind: kind.to_owned(),
                    reason: reason.map(str::to_owned),
                    qualifying,
                    gift_points: gift,
                    entry_id,
                    purchase_id: by_purchase.map(|p| p.purchase_id.to_owned()),
                    actor: match ctx.actor.id() {
                        Some(id) => format!("{}:{id}", ctx.actor.kind()),
                        None => ctx.actor.kind().to_owned(),
                    },
                    at: ctx.now,
                };
                db::query(
                    "INSERT INTO tier_changes (id, program_id, customer_id, from_tier, to_tier, kind, reason, qualifying, gift_points, entry_id, actor, at, \
                     purchase_id, gift_lot_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(&change.id)
                .bind(&ctx.program_id)
                .bind(customer_id)
                .bind(&change.from_tier)
                .bind(&change.to_tier)
                .bind(kind)
                .bind(&change.reason)
                .bind(qualifying)
                .bind(gift)
                .bind(&change.entry_id)
                .bind(&change.actor)
                .bind(micros(ctx.now))
                .bind(&change.purchase_id)
                .bind(&gift_lot)
                .execute(&mut *conn)
                .await?;
                Self::audit(&mut *conn, ctx, "tier.changed", "customer", customer_id, serde_json::json!({
                    "from": from, "to": tier.code, "kind": kind, "reason": reason, "qualifying": qualifying, "gift_points": gift,
                })).await?;
                Ok(change)
            }

            pub(crate) async fn customer_tier_op(
                &self,
                program_id: &str,
                customer_id: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<crate::tiers_model::CustomerTier>> {
                let mut conn = self.read.acquire().await?;
                if Self::load_customer(&mut conn, program_id, customer_id, false).await?.is_none() {
                    return Err(StoreError::NotFound("customer"));
                }
                let (program, _) = Self::program_and_settings(&mut conn, program_id).await?;
                let Some(ladder) = Self::ladder_of(&mut conn, program_id).await? else { return Ok(None) };
                let row = Self::tier_row(&mut conn, program_id, customer_id).await?;
                let level = Self::level_of(&ladder, row.as_ref());
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let start = ladder.window_start(now, &tz, calendar_of(program.locale));
                let value = Self::qualifying_value(&mut conn, program_id, customer_id, ladder.metric, start, now).await?;
                let opt = |v: Option<i64>| v.map(from_micros).transpose();
                Ok(Some(crate::tiers_model::CustomerTier {
                    customer_id: customer_id.to_owned(),
                    tier: ladder.tiers[level].clone(),
                    level,
                    since: opt(row.as_ref().map(|r| r.1))?,
                    below_since: opt(row.as_ref().and_then(|r| r.2))?,
                    pinned_until: opt(row.as_ref().and_then(|r| r.3))?,
                    metric: ladder.metric,
                    window_start: (start != jiff::Timestamp::MIN).then_some(start),
                    qualifying: value,
                    next: ladder.progress(level, value).map(|(t, needed)| crate::tiers_model::NextTier {
                        code: t.code.clone(),
                        name: t.name.clone(),
                        threshold: t.threshold,
                        needed,
                    }),
                }))
            }

            pub(crate) async fn tier_history_op(&self, program_id: &str, customer_id: &str) -> Result<Vec<crate::tiers_model::TierChange>> {
                let mut conn = self.read.acquire().await?;
                type Row = (String, Option<String>, String, String, Option<String>, i64, i64, Option<String>, String, i64, Option<String>);
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT id, from_tier, to_tier, kind, reason, qualifying, gift_points, entry_id, actor, at, purchase_id FROM tier_changes \
                     WHERE program_id = $1 AND customer_id = $2 ORDER BY at DESC, id DESC",
                )
                .bind(program_id)
                .bind(customer_id)
                .fetch_all(&mut *conn)
                .await?;
                rows.into_iter()
                    .map(|r| {
                        Ok(crate::tiers_model::TierChange {
                            id: r.0,
                            customer_id: customer_id.to_owned(),
                            from_tier: r.1,
                            to_tier: r.2,
                            kind: r.3,
                            reason: r.4,
                            qualifying: r.5,
                            gift_points: r.6,
                            entry_id: r.7,
                            purchase_id: r.10,
                            actor: r.8,
                            at: from_micros(r.9)?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn override_tier_op(
                &self,
                ctx: &Ctx,
                customer_id: &str,
                o: &crate::tiers_model::TierOverride,
            ) -> Result<crate::tiers_model::TierChange> {
                let mut tx = self.begin_write().await?;
                let (program, settings) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                match Self::lock_customer(&mut tx, &ctx.program_id, customer_id).await? {
                    CustomerStatus::Active | CustomerStatus::Blocked => {}
                    closed => return Err(StoreError::CustomerClosed(closed.as_str())),
                }
                let ladder = Self::ladder_of(&mut tx, &ctx.program_id).await?.ok_or(StoreError::NotFound("tier ladder"))?;
                let to = ladder.index_of(&o.tier).ok_or(StoreError::NotFound("tier"))?;
                let row = Self::tier_row(&mut tx, &ctx.program_id, customer_id).await?;
                let from = ladder.tiers[Self::level_of(&ladder, row.as_ref())].code.clone();
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let start = ladder.window_start(ctx.now, &tz, calendar_of(program.locale));
                let value = Self::qualifying_value(&mut tx, &ctx.program_id, customer_id, ladder.metric, start, ctx.now).await?;
                let change = Self::change_tier(
                    &mut tx, ctx, &program, &settings, &ladder, customer_id, Some(&from), to, "override", Some(&o.reason), value, o.until, None,
                )
                .await?;
                tx.commit().await?;
                Ok(change)
            }

            /// Periodic evaluation of every customer who has a tier or bought in the
            /// window: upgrades, grace clocks, downgrades. Decisions are made on a
            /// snapshot and re-made under the customer's lock before anything is written.
            pub(crate) async fn evaluate_tiers_op(&self, ctx: &Ctx) -> Result<crate::tiers_model::TierRun> {
                use vafa_core::tiers::TierDecision;
                let mut run = crate::tiers_model::TierRun::default();
                let (program, ladder, start, values, rows) = {
                    let mut conn = self.read.acquire().await?;
                    let (program, _) = Self::program_and_settings(&mut conn, &ctx.program_id).await?;
                    let Some(ladder) = Self::ladder_of(&mut conn, &ctx.program_id).await? else { return Ok(run) };
                    let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let start = ladder.window_start(ctx.now, &tz, calendar_of(program.locale));
                    let sql = format!(
                        "SELECT customer_id, CAST(SUM({}) AS BIGINT) FROM purchases WHERE program_id = $1 \
                         AND occurred_at >= $2 AND occurred_at <= $3 GROUP BY customer_id",
                        crate::sql::tiers::metric_sql(ladder.metric)
                    );
                    let values: Vec<(String, Option<i64>)> = sqlx::query_as(&sql)
                        .bind(&ctx.program_id)
                        .bind(micros(start))
                        .bind(micros(ctx.now))
                        .fetch_all(&mut *conn)
                        .await?;
                    let values: std::collections::HashMap<String, i64> =
                        values.into_iter().map(|(c, v)| (c, v.unwrap_or(0))).collect();
                    let rows: Vec<(String, String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
                        "SELECT customer_id, tier, since, below_since, pinned_until FROM customer_tiers WHERE program_id = $1",
                    )
                    .bind(&ctx.program_id)
                    .fetch_all(&mut *conn)
                    .await?;
                    (program, ladder, start, values, rows)
                };
                let rows: std::collections::HashMap<String, crate::sql::tiers::TierRow> =
                    rows.into_iter().map(|(c, t, s, b, p)| (c, (t, s, b, p))).collect();
                let mut candidates: Vec<&String> = values.keys().chain(rows.keys()).collect();
                candidates.sort();
                candidates.dedup();
                let decide = |row: Option<&crate::sql::tiers::TierRow>, value: i64| -> Result<TierDecision> {
                    let level = Self::level_of(&ladder, row);
                    Ok(ladder.evaluate(
                        level,
                        value,
                        row.and_then(|r| r.2).map(from_micros).transpose()?,
                        row.and_then(|r| r.3).map(from_micros).transpose()?,
                        ctx.now,
                    ))
                };
                let unchanged = |row: Option<&crate::sql::tiers::TierRow>, d: &TierDecision| match d {
                    TierDecision::Stay { below_since } => row.and_then(|r| r.2) == below_since.map(micros),
                    _ => false,
                };
                let mut todo = Vec::new();
                for c in candidates {
                    run.evaluated += 1;
                    let row = rows.get(c);
                    let d = decide(row, values.get(c).copied().unwrap_or(0))?;
                    if !unchanged(row, &d) {
                        todo.push(c.clone());
                    } else if matches!(d, TierDecision::Stay { below_since: Some(_) }) {
                        run.in_grace += 1;
                    }
                }
                // One customer per transaction: a gift locks program accounts, and no
                // transaction may then wait on another customer's lock.
                for chunk in todo.chunks(1) {
                    let mut tx = self.begin_write().await?;
                    let (_, settings) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                    for c in chunk {
                        match Self::lock_customer(&mut tx, &ctx.program_id, c).await? {
                            CustomerStatus::Active | CustomerStatus::Blocked => {}
                            _ => continue,
                        }
                        let row = Self::tier_row(&mut tx, &ctx.program_id, c).await?;
                        let value = Self::qualifying_value(&mut tx, &ctx.program_id, c, ladder.metric, start, ctx.now).await?;
                        let d = decide(row.as_ref(), value)?;
                        let from = ladder.tiers[Self::level_of(&ladder, row.as_ref())].code.clone();
                        match d {
                            TierDecision::Upgrade(to) => {
                                Self::change_tier(&mut tx, ctx, &program, &settings, &ladder, c, Some(&from), to, "upgrade", None, value, None, None).await?;
                                run.upgraded += 1;
                            }
                            TierDecision::Downgrade(to) => {
                                let reason = format!("below {} after {} days of grace", ladder.tiers[Self::level_of(&ladder, row.as_ref())].threshold, ladder.grace_days);
                                Self::change_tier(&mut tx, ctx, &program, &settings, &ladder, c, Some(&from), to, "downgrade", Some(&reason), value, None, None).await?;
                                run.downgraded += 1;
                            }
                            TierDecision::Stay { below_since } => {
                                if below_since.is_some() {
                                    run.in_grace += 1;
                                }
                                if row.is_some() && !unchanged(row.as_ref(), &d) {
                                    sqlx::query("UPDATE customer_tiers SET below_since = $1 WHERE program_id = $2 AND customer_id = $3")
                                        .bind(below_since.map(micros))
                                        .bind(&ctx.program_id)
                                        .bind(c)
                                        .execute(&mut *tx)
                                        .await?;
                                }
                            }
                        }
                    }
                    tx.commit().await?;
                }
                Ok(run)
            }
        }
    };
}

pub(crate) use tier_ops;
