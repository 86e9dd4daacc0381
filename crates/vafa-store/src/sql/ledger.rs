//! The journal: posting entries, balances, purchases and returns.

/// Ledger operations of `SqlStore<$db>`. Lock order, on every path: customer rows (in id
/// order), then accounts (in key order); so concurrent operations cannot deadlock.
macro_rules! ledger_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            async fn program_and_settings<C: Db>(
                conn: &mut C,
                program_id: &str,
            ) -> Result<(Program, LedgerSettings)> {
                let row: Option<ProgramSettingsRow> = db::query(
                    "SELECT p.id, p.name, p.currency, p.timezone, p.locale, p.created_at, s.ledger \
                     FROM programs p LEFT JOIN program_settings s ON s.program_id = p.id WHERE p.id = $1",
                )
                .bind(program_id)
                .fetch_optional(&mut *conn)
                .await?;
                let row = row.ok_or(StoreError::NotFound("program"))?;
                let settings = match &row.ledger {
                    Some(j) => decode(j)?,
                    None => LedgerSettings::default(),
                };
                Ok((Program::try_from(row.program)?, settings))
            }

            pub(crate) async fn ledger_settings_op(&self, program_id: &str) -> Result<LedgerSettings> {
                let mut conn = self.read.acquire().await?;
                Ok(Self::program_and_settings(&mut conn, program_id).await?.1)
            }

            pub(crate) async fn set_ledger_settings_op(&self, ctx: &Ctx, s: &LedgerSettings) -> Result<LedgerSettings> {
                let mut tx = self.begin_write().await?;
                let (program, _) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                let mut s = s.clone();
                // Month ends without a calendar are the program's months (a Persian
                // program's Azar ends at 1 Dey, not on 31 December).
                if let vafa_core::ledger::ExpiryPolicy::EndOfMonth { calendar: calendar @ None } = &mut s.expiry {
                    *calendar = Some(crate::rules_model::calendar_of(program.locale));
                }
                let s = &s;
                sqlx::query(
                    "INSERT INTO program_settings (program_id, ledger, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (program_id) DO UPDATE SET ledger = excluded.ledger, updated_at = excluded.updated_at",
                )
                .bind(&ctx.program_id)
                .bind(encode(s)?)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                let summary = serde_json::to_value(s).unwrap_or_default();
                Self::audit(&mut tx, ctx, "program.ledger_settings_changed", "program", &ctx.program_id, summary).await?;
                tx.commit().await?;
                Ok(s.clone())
            }

            /// The account row for `spec`, created if new, locked for this transaction.
            async fn lock_account<C: Db>(
                conn: &mut C,
                program_id: &str,
                spec: &AccountSpec,
                now: jiff::Timestamp,
            ) -> Result<AccountRow> {
                let sql = format!(
                    "SELECT id, kind, balance, debt, seq FROM accounts WHERE program_id = $1 AND key = $2{}",
                    $lock
                );
                // Accounts exist after their first use: look first, create only when missing.
                if let Some(row) = db::query(&sql).bind(program_id).bind(&spec.key).fetch_optional(&mut *conn).await? {
                    return Ok(row);
                }
                db::query(
                    "INSERT INTO accounts (id, program_id, key, kind, customer_id, unit, balance, debt, seq, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, $7) ON CONFLICT (program_id, key) DO NOTHING",
                )
                .bind(new_id("acc"))
                .bind(program_id)
                .bind(&spec.key)
                .bind(spec.kind)
                .bind(&spec.customer_id)
                .bind(&spec.unit)
                .bind(micros(now))
                .execute(&mut *conn)
                .await?;
                db::query(&sql).bind(program_id).bind(&spec.key).fetch_one(&mut *conn).await
            }

            /// Append one journal entry: postings in leg order, each with the balance after
            /// it; account balances, debts and lot remainders follow.
            #[allow(clippy::too_many_arguments)]
            async fn post_entry<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                kind: &str,
                customer_id: Option<&str>,
                purchase_id: Option<&str>,
                explanation: serde_json::Value,
                legs: &[Leg],
            ) -> Result<String> {
                let entry_id = new_id("ent");
                Self::post_entry_as(conn, ctx, &entry_id, None, kind, customer_id, purchase_id, explanation, legs).await?;
                Ok(entry_id)
            }

            /// [`post_entry`] under an id the caller chose; the legs on `settled_lot`, a lot
            /// inserted already holding what they leave in it, do not change its remainder.
            #[allow(clippy::too_many_arguments)]
            async fn post_entry_as<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                entry_id: &str,
                settled_lot: Option<&str>,
                kind: &str,
                customer_id: Option<&str>,
                purchase_id: Option<&str>,
                explanation: serde_json::Value,
                legs: &[Leg],
            ) -> Result<()> {
                check_zero_sum(legs)?;
                let mut specs: Vec<&AccountSpec> = legs.iter().map(|l| &l.account).collect();
                specs.sort_by(|a, b| a.key.cmp(&b.key));
                specs.dedup_by(|a, b| a.key == b.key);
                let mut accounts = std::collections::BTreeMap::new();
                for spec in specs {
                    let row = Self::lock_account(conn, &ctx.program_id, spec, ctx.now).await?;
                    accounts.insert(spec.key.clone(), row);
                }
                db::query(
                    "INSERT INTO journal_entries (id, program_id, kind, customer_id, purchase_id, at, explanation, actor_kind, actor_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(entry_id)
                .bind(&ctx.program_id)
                .bind(kind)
                .bind(customer_id)
                .bind(purchase_id)
                .bind(micros(ctx.now))
                .bind(explanation.to_string())
                .bind(ctx.actor.kind())
                .bind(ctx.actor.id())
                .execute(&mut *conn)
                .await?;
                let mut rows = Vec::with_capacity(legs.len());
                for leg in legs {
                    let acct = accounts
                        .get_mut(&leg.account.key)
                        .ok_or_else(|| StoreError::Corrupt("account vanished".into()))?;
                    acct.balance = acct.balance.checked_add(leg.amount).ok_or_else(|| {
                        StoreError::LedgerLimit(format!("this entry would take a {} account past the largest balance the ledger holds", acct.kind))
                    })?;
                    acct.seq += 1;
                    if leg.lot_id.is_none() && acct.kind == "customer_points" {
                        acct.debt -= leg.amount;
                    }
                    rows.push((acct.id.clone(), acct.seq, acct.balance, leg));
                }
                // An entry may hold thousands of postings (an expiry or a spend across a busy
                // card's lots): a hundred rows a statement. On SQLite a statement's cost grows
                // with the square of its `$N` parameters (measured: 4,000 postings in two
                // statements took 4.3 s, in forty 0.1 s).
                for chunk in rows.chunks(100) {
                    let mut sql = String::from(
                        "INSERT INTO postings (id, entry_id, program_id, account_id, seq, unit, amount, balance_after, lot_id) VALUES ",
                    );
                    for i in 0..chunk.len() {
                        let n = i * 9;
                        if i > 0 {
                            sql.push_str(", ");
                        }
                        sql.push_str(&format!(
                            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                            n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7, n + 8, n + 9
                        ));
                    }
                    let mut q = db::query(sql);
                    for (account_id, seq, balance, leg) in chunk {
                        q = q
                            .bind(new_id("pst"))
                            .bind(entry_id)
                            .bind(&ctx.program_id)
                            .bind(account_id)
                            .bind(*seq)
                            .bind(&leg.account.unit)
                            .bind(leg.amount)
                            .bind(*balance)
                            .bind(&leg.lot_id);
                    }
                    q.execute(&mut *conn).await?;
                }
                // Each lot once, with all the entry moves in it, a hundred lots a statement:
                // an expiry of thousands of lots must not hold the writer for a statement
                // per lot (nor for one huge statement, as above).
                let mut moved: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
                for (_, _, _, leg) in &rows {
                    if let Some(lot) = leg.lot_id.as_deref().filter(|l| Some(*l) != settled_lot) {
                        *moved.entry(lot).or_default() += leg.amount;
                    }
                }
                let moved: Vec<(&str, i64)> = moved.into_iter().filter(|(_, n)| *n != 0).collect();
                for chunk in moved.chunks(100) {
                    let mut sql = String::from("UPDATE lots SET remaining = remaining + CASE id");
                    for i in 0..chunk.len() {
                        sql.push_str(&format!(" WHEN ${} THEN CAST(${} AS BIGINT)", 2 * i + 1, 2 * i + 2));
                    }
                    sql.push_str(" END WHERE id IN (");
                    for i in 0..chunk.len() {
                        sql.push_str(&format!("{}${}", if i > 0 { ", " } else { "" }, 2 * i + 1));
                    }
                    sql.push(')');
                    let mut q = db::query(sql);
                    for (lot, n) in chunk {
                        q = q.bind(*lot).bind(*n);
                    }
                    q.execute(&mut *conn).await?;
                }
                for acct in accounts.values() {
                    db::query("UPDATE accounts SET balance = $1, debt = $2, seq = $3 WHERE id = $4")
                        .bind(acct.balance)
                        .bind(acct.debt)
                        .bind(acct.seq)
                        .bind(&acct.id)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            /// The points of lot `lot_id` lost to expiry by `now`: what expiry entries took
            /// from it, and what is left in it if it has expired and the job has not run.
            async fn lot_expired_points<C: Db>(conn: &mut C, lot_id: &str, now: jiff::Timestamp) -> Result<i64> {
                let posted: (i64,) = db::query(
                    "SELECT CAST(COALESCE(-SUM(p.amount), 0) AS BIGINT) FROM postings p \
                     JOIN journal_entries e ON e.id = p.entry_id WHERE p.lot_id = $1 AND e.kind = 'expiry'",
                )
                .bind(lot_id)
                .fetch_one(&mut *conn)
                .await?;
                let lot: Option<(i64, Option<i64>)> = db::query("SELECT remaining, expires_at FROM lots WHERE id = $1")
                    .bind(lot_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                let unposted = match lot {
                    Some((remaining, Some(at))) if at <= micros(now) => remaining.max(0),
                    _ => 0,
                };
                Ok(posted.0 + unposted)
            }

            /// The tier entry gifts a return of a purchase sold at `sold_at` takes back, newest first, as
            /// (tier change, the gift's lot, points): every gift an upgrade gave the
            /// customer (or a record merged into them) — by a purchase, by the periodic
            /// evaluation or by a merge, each reached by what was bought — that returns have not taken back
            /// whole, whose tier the customer no longer reaches — what they qualify with
            /// since the start of the window that upgrade was judged in, net of this return
            /// (`amount` of money, `points` of its own points, when the purchase is in that
            /// window). So any return counts, not only the purchase that crossed the
            /// threshold. Less what expired of a gift; a tier since taken off the ladder
            /// keeps its gifts.
            #[allow(clippy::too_many_arguments)]
            async fn gifts_to_take_back<C: Db>(
                conn: &mut C,
                program: &Program,
                sold_at: i64,
                customer_id: &str,
                amount: i64,
                points: i64,
                now: jiff::Timestamp,
            ) -> Result<Vec<(String, Option<String>, i64)>> {
                let rows: Vec<(String, String, i64, i64, Option<String>, i64)> = db::query(
                    "SELECT id, to_tier, gift_points, gift_reversed, gift_lot_id, at FROM tier_changes \
                     WHERE program_id = $1 AND gift_points > gift_reversed \
                     AND (customer_id = $2 OR customer_id IN (SELECT id FROM customers WHERE program_id = $1 AND merged_into = $2)) \
                     ORDER BY at DESC, id DESC",
                )
                .bind(&program.id)
                .bind(customer_id)
                .fetch_all(&mut *conn)
                .await?;
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let Some(ladder) = Self::ladder_of(&mut *conn, &program.id).await? else { return Ok(Vec::new()) };
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let mut out = Vec::new();
                for (id, tier, gift, taken, lot, at) in rows {
                    let Some(level) = ladder.index_of(&tier) else { continue };
                    let at = from_micros(at)?;
                    let start = ladder.window_start(at, &tz, calendar_of(program.locale));
                    let end = now.max(at);
                    let this_return = match ladder.metric {
                        vafa_core::tiers::TierMetric::Spend => amount,
                        vafa_core::tiers::TierMetric::EarnedPoints => points,
                    };
                    let in_window = sold_at >= micros(start) && sold_at <= micros(end);
                    let value = Self::qualifying_value(&mut *conn, &program.id, customer_id, ladder.metric, start, end).await?
                        - if in_window { this_return } else { 0 };
                    if value >= ladder.tiers[level].threshold {
                        continue;
                    }
                    let expired = match &lot {
                        Some(l) => Self::lot_expired_points(&mut *conn, l, now).await?,
                        None => 0,
                    };
                    let due = gift - taken - expired;
                    if due > 0 {
                        out.push((id, lot, due));
                    }
                }
                Ok(out)
            }

            /// A new lot (remaining 0 until its earning posting lands).
            async fn new_lot<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                account_id: &str,
                purchase_id: Option<&str>,
                initial: i64,
                available_at: jiff::Timestamp,
                expires_at: Option<jiff::Timestamp>,
            ) -> Result<String> {
                let id = new_id("lot");
                Self::insert_lot(conn, ctx, &id, account_id, "", purchase_id, initial, 0, available_at, expires_at).await?;
                Ok(id)
            }

            /// Insert a lot as it stands once entry `entry_id` has posted to it.
            #[allow(clippy::too_many_arguments)]
            async fn insert_lot<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                id: &str,
                account_id: &str,
                entry_id: &str,
                purchase_id: Option<&str>,
                initial: i64,
                remaining: i64,
                available_at: jiff::Timestamp,
                expires_at: Option<jiff::Timestamp>,
            ) -> Result<()> {
                db::query(
                    "INSERT INTO lots (id, program_id, account_id, entry_id, purchase_id, initial, remaining, available_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(id)
                .bind(&ctx.program_id)
                .bind(account_id)
                .bind(entry_id)
                .bind(purchase_id)
                .bind(initial)
                .bind(remaining)
                .bind(micros(available_at))
                .bind(expires_at.map(micros))
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// When the lots an entry spent points from expire (a purchase's checkout, a
            /// reward's claim): the latest of them, `Some(None)` when one never does, `None`
            /// when it spent from none. Points given back expire then: never given longer.
            async fn spent_lots_expiry<C: Db>(
                conn: &mut C,
                entry_id: &str,
                own_lot: Option<&str>,
            ) -> Result<Option<Option<jiff::Timestamp>>> {
                let rows: Vec<(Option<i64>,)> = db::query(
                    "SELECT l.expires_at FROM postings s JOIN lots l ON l.id = s.lot_id \
                     WHERE s.entry_id = $1 AND s.amount < 0 AND l.id <> $2",
                )
                .bind(entry_id)
                .bind(own_lot.unwrap_or(""))
                .fetch_all(&mut *conn)
                .await?;
                if rows.is_empty() {
                    return Ok(None);
                }
                if rows.iter().any(|r| r.0.is_none()) {
                    return Ok(Some(None));
                }
                let latest = rows.iter().filter_map(|r| r.0).max().map(from_micros).transpose()?;
                Ok(Some(latest))
            }

            async fn lots_of<C: Db>(conn: &mut C, account_id: &str) -> Result<Vec<vafa_core::ledger::Lot>> {
                let rows: Vec<LotRow> = db::query(
                    "SELECT id, remaining, available_at, expires_at FROM lots WHERE account_id = $1 AND remaining > 0",
                )
                .bind(account_id)
                .fetch_all(&mut *conn)
                .await?;
                let mut lots = rows.iter().map(LotRow::to_lot).collect::<Result<Vec<_>>>()?;
                vafa_core::ledger::spend_order(&mut lots);
                Ok(lots)
            }

            /// The records merged into `customer_id`, directly or through a record that was
            /// itself merged into it later (a merge re-points the earlier ones).
            pub(crate) async fn merged_records<C: Db>(conn: &mut C, program_id: &str, customer_id: &str) -> Result<Vec<String>> {
                let rows: Vec<(String,)> = db::query("SELECT id FROM customers WHERE program_id = $1 AND merged_into = $2 ORDER BY id")
                    .bind(program_id)
                    .bind(customer_id)
                    .fetch_all(&mut *conn)
                    .await?;
                Ok(rows.into_iter().map(|r| r.0).collect())
            }

            pub(crate) async fn snapshot<C: Db>(
                conn: &mut C,
                program_id: &str,
                customer_id: &str,
                at: jiff::Timestamp,
                with_lifetime: bool,
            ) -> Result<BalanceSnapshot> {
                let keys = [AccountSpec::customer_points(customer_id).key, format!("customer:{customer_id}:cashback")];
                let rows: Vec<AccountRow> = db::query(
                    "SELECT id, kind, balance, debt, seq FROM accounts WHERE program_id = $1 AND key IN ($2, $3)",
                )
                .bind(program_id)
                .bind(&keys[0])
                .bind(&keys[1])
                .fetch_all(&mut *conn)
                .await?;
                let points = rows.iter().find(|r| r.kind == "customer_points");
                let cash = rows.iter().find(|r| r.kind == "customer_cashback");
                let (lots, debt) = match points {
                    Some(p) => (Self::lots_of(conn, &p.id).await?, p.debt),
                    None => (Vec::new(), 0),
                };
                let b = vafa_core::ledger::balance_at(&lots, debt, at, jiff::SignedDuration::from_hours(24 * 30));
                let mut lifetime = Lifetime::default();
                let (mut cb_earned, mut cb_redeemed, mut cb_returned, mut cb_transferred) = (0, 0, 0, 0);
                // A survivor's history is its duplicates' too: their accounts count beside
                // its own, and what a merge moved between them nets to nothing.
                let mut merged_rows: Vec<AccountRow> = Vec::new();
                if with_lifetime {
                    for record in Self::merged_records(&mut *conn, program_id, customer_id).await? {
                        let mut more: Vec<AccountRow> = db::query(
                            "SELECT id, kind, balance, debt, seq FROM accounts WHERE program_id = $1 AND customer_id = $2 \
                             AND kind IN ('customer_points', 'customer_cashback')",
                        )
                        .bind(program_id)
                        .bind(&record)
                        .fetch_all(&mut *conn)
                        .await?;
                        merged_rows.append(&mut more);
                    }
                }
                for acct in rows.iter().chain(&merged_rows).filter(|_| with_lifetime) {
                    // Per kind of entry: the sum, and the credits to lots and outside them.
                    // A purchase entry both earns (credits to its lot) and, through the
                    // checkout, spends; a return both reverses and gives back what paid.
                    let sums: Vec<(String, i64, i64, i64)> = db::query(
                        "SELECT e.kind, CAST(SUM(p.amount) AS BIGINT), \
                         CAST(SUM(CASE WHEN p.amount > 0 AND p.lot_id IS NOT NULL THEN p.amount ELSE 0 END) AS BIGINT), \
                         CAST(SUM(CASE WHEN p.amount > 0 AND p.lot_id IS NULL THEN p.amount ELSE 0 END) AS BIGINT) \
                         FROM postings p JOIN journal_entries e ON e.id = p.entry_id \
                         WHERE p.account_id = $1 GROUP BY e.kind",
                    )
                    .bind(&acct.id)
                    .fetch_all(&mut *conn)
                    .await?;
                    for (kind, sum, lot_credits, other_credits) in sums {
                        match (acct.kind.as_str(), kind.as_str()) {
                            // Earned into lots; the rest of the entry is the checkout's spend
                            // (less the debt the earning paid, which nets to nothing).
                            ("customer_points", "purchase") => {
                                lifetime.earned += lot_credits;
                                lifetime.redeemed += lot_credits - sum;
                            }
                            ("customer_points", "redemption") => lifetime.redeemed -= sum,
                            ("customer_points", "expiry") => lifetime.expired -= sum,
                            // Forfeited on erasure: gone like expired points; a debt written
                            // off with it undoes what its return took back.
                            ("customer_points", "forfeit") => {
                                lifetime.expired -= sum - other_credits;
                                lifetime.returned -= other_credits;
                            }
                            // Given back into a lot: what paid, no longer redeemed.
                            ("customer_points", "return") => {
                                lifetime.redeemed -= lot_credits;
                                lifetime.returned -= sum - lot_credits;
                            }
                            ("customer_points", "adjustment") => lifetime.adjusted += sum,
                            // Granted outside a purchase: by an event, a tier, care.
                            ("customer_points", "event" | "tier_gift" | "goodwill") => lifetime.earned += sum,
                            // Spent on a reward, and given back when it is cancelled.
                            ("customer_points", "reward" | "reward_cancel") => lifetime.redeemed -= sum,
                            // A merge moves a duplicate's points like a transfer.
                            ("customer_points", "transfer" | "merge") => lifetime.transferred += sum,
                            ("customer_cashback", "merge") => cb_transferred += sum,
                            ("customer_cashback", "purchase") => {
                                cb_earned += other_credits;
                                cb_redeemed += other_credits - sum;
                            }
                            ("customer_cashback", "redemption") => cb_redeemed -= sum,
                            // A return reverses cashback earned and gives back cashback that paid.
                            ("customer_cashback", "return") => {
                                cb_redeemed -= other_credits;
                                cb_returned += other_credits - sum;
                            }
                            _ => {}
                        }
                    }
                }
                Ok(BalanceSnapshot {
                    points_available: b.available,
                    points_pending: b.pending,
                    points_debt: b.debt,
                    expiring_soon: b.expiring_soon.into_iter().map(|(at, points)| ExpiringPoints { at, points }).collect(),
                    cashback_minor: cash.map(|c| c.balance).unwrap_or(0),
                    lifetime: with_lifetime.then_some(LifetimeTotals {
                        points: lifetime,
                        cashback_earned_minor: cb_earned,
                        cashback_redeemed_minor: cb_redeemed,
                        cashback_returned_minor: cb_returned,
                        cashback_transferred_minor: cb_transferred,
                    }),
                })
            }

            pub(crate) async fn balance_op(&self, program_id: &str, customer_id: &str, at: jiff::Timestamp) -> Result<BalanceSnapshot> {
                let mut conn = self.read.acquire().await?;
                Self::load_customer(&mut conn, program_id, customer_id, false).await?.ok_or(StoreError::NotFound("customer"))?;
                Self::snapshot(&mut conn, program_id, customer_id, at, true).await
            }

            /// Whether a keyed request's key is recorded by now (asked after a refusal, see
            /// `retry_race`); an error reading it counts as not recorded.
            pub(crate) async fn key_taken(&self, program_id: &str, idem: Option<&Idempotency>) -> bool {
                let Some(idem) = idem else { return false };
                let Ok(mut conn) = self.read.acquire().await else { return false };
                let row: Result<Option<(String,)>> = db::query("SELECT key FROM idempotency_keys WHERE program_id = $1 AND key = $2")
                    .bind(program_id)
                    .bind(&idem.key)
                    .fetch_optional(&mut *conn)
                    .await;
                matches!(row, Ok(Some(_)))
            }

            /// The stored outcome of an earlier request with this key, if any.
            async fn idem_lookup<T: serde::de::DeserializeOwned, C: Db>(
                conn: &mut C,
                program_id: &str,
                idem: Option<&Idempotency>,
            ) -> Result<Option<T>> {
                let Some(idem) = idem else { return Ok(None) };
                let row: Option<(String, String)> =
                    db::query("SELECT fingerprint, outcome FROM idempotency_keys WHERE program_id = $1 AND key = $2")
                        .bind(program_id)
                        .bind(&idem.key)
                        .fetch_optional(&mut *conn)
                        .await?;
                match row {
                    None => Ok(None),
                    Some((fp, _)) if fp != idem.fingerprint => Err(StoreError::IdempotencyConflict),
                    Some((_, outcome)) => Ok(Some(decode(&outcome)?)),
                }
            }

            async fn idem_store<T: serde::Serialize, C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                idem: Option<&Idempotency>,
                outcome: &T,
            ) -> Result<()> {
                let Some(idem) = idem else { return Ok(()) };
                db::query("INSERT INTO idempotency_keys (program_id, key, fingerprint, outcome, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&ctx.program_id)
                    .bind(&idem.key)
                    .bind(&idem.fingerprint)
                    .bind(encode(outcome)?)
                    .bind(micros(ctx.now))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            /// Lock a customer for a value change and return its status; it must exist.
            async fn lock_customer<C: Db>(
                conn: &mut C,
                program_id: &str,
                id: &str,
            ) -> Result<CustomerStatus> {
                let sql = format!("SELECT status FROM customers WHERE program_id = $1 AND id = $2{}", $lock);
                let row: Option<(String,)> = db::query(&sql).bind(program_id).bind(id).fetch_optional(&mut *conn).await?;
                let status = row.ok_or(StoreError::NotFound("customer"))?.0;
                status.parse().map_err(StoreError::Corrupt)
            }

            /// Lock a customer who may earn or spend: active only.
            async fn active_customer<C: Db>(conn: &mut C, program_id: &str, id: &str) -> Result<()> {
                match Self::lock_customer(conn, program_id, id).await? {
                    CustomerStatus::Active => Ok(()),
                    CustomerStatus::Blocked => Err(StoreError::CustomerBlocked),
                    closed => Err(StoreError::CustomerClosed(closed.as_str())),
                }
            }

            /// The customer a purchase names, locked; an unbound bearer card gets an
            /// anonymous holder so its points have an owner until someone registers.
            async fn purchase_customer<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                who: &CustomerRef,
            ) -> Result<(String, Option<String>)> {
                let (id, card) = match who {
                    CustomerRef::Id(id) => (id.clone(), None),
                    CustomerRef::Mobile(m) => {
                        let row: Option<(String,)> = db::query(
                            "SELECT id FROM customers WHERE program_id = $1 AND mobile = $2",
                        )
                        .bind(&ctx.program_id)
                        .bind(m.as_e164())
                        .fetch_optional(&mut *conn)
                        .await?;
                        // A merged duplicate's former mobile still finds the person.
                        let id = match row {
                            Some((id,)) => id,
                            None => Self::alias_of(&mut *conn, &ctx.program_id, "mobile", m.as_e164()).await?.ok_or(StoreError::NotFound("customer"))?,
                        };
                        (id, None)
                    }
                    CustomerRef::Card(number) => {
                        let mut card = Self::active_card(conn, &ctx.program_id, number).await?;
                        let id = match &card.customer_id {
                            Some(id) => id.clone(),
                            None => {
                                let holder = Customer::new(new_id(ids::CUSTOMER), ctx.program_id.clone(), ctx.now);
                                Self::save_customer(conn, &holder, true).await?;
                                card.customer_id = Some(holder.id.clone());
                                Self::set_card_status(conn, &card).await?;
                                Self::card_event(conn, ctx, &card.id, "bound", Some(&holder.id), Some("anonymous holder at first purchase")).await?;
                                holder.id
                            }
                        };
                        (id, Some(number.as_str().to_owned()))
                    }
                };
                Self::active_customer(conn, &ctx.program_id, &id).await?;
                Ok((id, card))
            }

            /// Record a purchase inside the caller's write transaction (sqlx on
            /// PostgreSQL; SQLite's purchase writer, `lite_writer`). A replay is answered
            /// like any write, once the transaction holding it is durable.
            pub(crate) async fn purchase_in<C: Db>(tx: &mut C, ctx: &Ctx, p: &NewPurchase, idem: Option<&Idempotency>) -> Result<Replayed<PurchaseOutcome>> {
                if let Some(value) = Self::idem_lookup(&mut *tx, &ctx.program_id, idem).await? {
                    return Ok(Replayed { value, replayed: true });
                }
                let (program, settings) = Self::program_and_settings(&mut *tx, &ctx.program_id).await?;
                let (customer_id, card) = Self::purchase_customer(&mut *tx, ctx, &p.customer).await?;
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                // The tier the customer holds before this purchase: its discount (checkout)
                // and its multiplier of what the purchase earns.
                let ladder = Self::ladder_of(&mut *tx, &ctx.program_id).await?;
                let level = match &ladder {
                    Some(l) => Some(Self::level_of(l, Self::tier_row(&mut *tx, &ctx.program_id, &customer_id).await?.as_ref())),
                    None => None,
                };
                let tier = ladder.as_ref().zip(level).map(|(l, i)| &l.tiers[i]);
                let purchase_id = new_id("pur");
                let currency = program.currency.code();
                // Through the checkout: discounts, coupons used up, points and cashback as
                // payment — computed exactly as the quote does — and only the money paid earns.
                let mut legs = Vec::new();
                let mut quote = None;
                // What each line weighs when the sale and the money paid are spread over
                // the lines: quantity times price, less a unit the tier gave free and each
                // coupon's discount off its own lines (what was paid nothing refunds
                // nothing and earns nothing).
                let mut weights: Vec<i64> = p.lines.iter().map(|l| l.quantity.saturating_mul(l.unit_price_minor)).collect();
                let mut sale_total = p.total_minor;
                let mut earning = std::borrow::Cow::Borrowed(p);
                if let Some(co) = &p.checkout {
                    let pct = tier.map(|t| t.discount_percent).unwrap_or_default();
                    let lines: Vec<vafa_core::coupons::CartLine> = p.lines.iter().map(|l| vafa_core::coupons::CartLine {
                        sku: l.sku.clone(), category: l.category.clone(), quantity: l.quantity, unit_price_minor: l.unit_price_minor,
                    }).collect();
                    let free = vafa_core::checkout::free_items(&lines, tier.map_or(&[][..], |t| &t.free_items[..]));
                    let mut cart = CouponCart::after_tier(lines, p.total_minor, &free, pct);
                    // Lock the presented codes in one order (sorted), whatever order they
                    // were typed in, so two purchases never wait on each other's codes.
                    if !$lock.is_empty() {
                        let mut sorted: Vec<&String> = p.coupons.iter().collect();
                        sorted.sort();
                        for code in sorted {
                            let sql = format!("SELECT uses FROM coupon_codes WHERE program_id = $1 AND code = $2{}", $lock);
                            let _: Option<(i64,)> = db::query(&sql).bind(&ctx.program_id).bind(code).fetch_optional(&mut *tx).await?;
                        }
                    }
                    let mut raws = Vec::new();
                    let mut coupon_lines = Vec::new();
                    for code in &p.coupons {
                        let u = Self::coupon_terms(&mut *tx, &ctx.program_id, code, Some(&customer_id), &cart, ctx.now, true).await?;
                        cart.take(&u);
                        raws.push((code.clone(), u.discount_minor));
                        coupon_lines.push(u.lines);
                    }
                    let before = Self::snapshot(&mut *tx, &ctx.program_id, &customer_id, ctx.now, false).await?;
                    let q = vafa_core::checkout::quote(&vafa_core::checkout::QuoteInput {
                        total_minor: p.total_minor,
                        free_items: free,
                        tier_discount_percent: pct,
                        coupons: raws,
                        points_available: before.points_available,
                        point_value_minor: settings.point_value_minor,
                        points: co.points,
                        cashback_available_minor: before.cashback_minor,
                        cashback_wanted_minor: co.cashback_minor,
                    })
                    .map_err(|e| {
                        // Short of points or cashback is the wallet's answer; a wallet that
                        // holds them and a cart that cannot take them all is the request's.
                        let (wallet_points, wallet_cash) = (before.points_available.max(0), before.cashback_minor.max(0));
                        match e {
                            vafa_core::checkout::QuoteError::TooManyPoints { .. }
                                if matches!(co.points, vafa_core::checkout::PointsWanted::Points(n) if n > wallet_points) =>
                            {
                                StoreError::InsufficientPoints { available: wallet_points }
                            }
                            vafa_core::checkout::QuoteError::TooMuchCashback { .. } if co.cashback_minor > wallet_cash => {
                                StoreError::InsufficientCashback { available: wallet_cash }
                            }
                            vafa_core::checkout::QuoteError::TooManyPoints { .. } => {
                                StoreError::InvalidField { field: "checkout.redeem_points".into(), message: e.to_string() }
                            }
                            vafa_core::checkout::QuoteError::TooMuchCashback { .. } => {
                                StoreError::InvalidField { field: "checkout.redeem_cashback".into(), message: e.to_string() }
                            }
                        }
                    })?;
                    for (code, off) in &q.coupons {
                        // Nothing left for it to take: the code is not used up.
                        if *off == 0 {
                            continue;
                        }
                        let taken = db::query(
                            "UPDATE coupon_codes SET uses = uses + 1 WHERE program_id = $1 AND code = $2 AND (max_uses IS NULL OR uses < max_uses)",
                        )
                        .bind(&ctx.program_id)
                        .bind(code)
                        .execute(&mut *tx)
                        .await?;
                        if taken != 1 {
                            return Err(StoreError::CouponUsedUp);
                        }
                        db::query(
                            "INSERT INTO coupon_uses (id, program_id, code, batch_id, customer_id, purchase_id, discount_minor, at) \
                             SELECT $1, $2, $3, batch_id, $4, $5, $6, $7 FROM coupon_codes WHERE program_id = $2 AND code = $3",
                        )
                        .bind(new_id("cpu"))
                        .bind(&ctx.program_id)
                        .bind(code)
                        .bind(&customer_id)
                        .bind(&purchase_id)
                        .bind(off)
                        .bind(micros(ctx.now))
                        .execute(&mut *tx)
                        .await?;
                        Self::coupon_customer_limit(&mut *tx, &ctx.program_id, code, &customer_id).await?;
                    }
                    // Spend before this purchase's own lot exists: what it earns pays nothing now.
                    if q.points_redeemed > 0 {
                        let (spend, _, _) = Self::spend_legs(&mut *tx, ctx, &customer_id, q.points_redeemed).await?;
                        legs.extend(spend);
                        legs.push(Leg::new(AccountSpec::program("redeemed", POINTS, &customer_id), q.points_redeemed));
                    }
                    if q.cashback_used_minor > 0 {
                        let acct = AccountSpec::customer_cashback(&customer_id, currency);
                        let row = Self::lock_account(&mut *tx, &ctx.program_id, &acct, ctx.now).await?;
                        if q.cashback_used_minor > row.balance {
                            return Err(StoreError::InsufficientCashback { available: row.balance.max(0) });
                        }
                        legs.push(Leg::new(acct, -q.cashback_used_minor));
                        legs.push(Leg::new(AccountSpec::program("redeemed", currency, &customer_id), q.cashback_used_minor));
                    }
                    sale_total = q.discounted_minor;
                    let taken: Vec<(i64, Vec<bool>)> = q.coupons.iter().map(|c| c.1).zip(coupon_lines).collect();
                    weights = vafa_core::checkout::paid_weights(&cart.lines, &q.free_items, pct, &taken);
                    let mut paid = p.clone();
                    paid.total_minor = q.payable_minor;
                    earning = std::borrow::Cow::Owned(paid);
                    quote = Some(q);
                }
                // Rules are judged at the purchase's time; caps and budgets are read under lock.
                // Through the checkout each line weighs what was paid for it: the money paid
                // spread over the lines in proportion (and the sale, for returns by line).
                let mut facts = purchase_facts(&earning);
                if let Some(q) = &quote {
                    for (item, paid) in facts.items.iter_mut().zip(vafa_core::ledger::allocate(q.payable_minor, &weights)) {
                        item.amount_minor = paid;
                    }
                }
                let eval = Self::evaluate_rules(&mut *tx, &program, &settings, Some(&customer_id), Some(&facts), None, p.occurred_at, true).await?;
                let (points, line_points) = match tier {
                    Some(t) => t.earn_lines(eval.points, &eval.line_points),
                    None => (eval.points, eval.line_points.clone()),
                };
                let cashback = eval.cashback_minor;
                crate::sql::ledger_support::within_earn_limit(points, cashback)?;
                let entry_id = new_id("ent");
                // Rewards the rules gave: a reward's row after the customer's lock, as a claim
                // takes it (a checkout's spending may hold the points account already).
                let issued_rewards = Self::issue_rule_rewards(&mut *tx, ctx, &customer_id, &eval, &entry_id).await?;
                let issued_coupons = Self::issue_rule_coupons(&mut *tx, ctx, &customer_id, &eval, &entry_id).await?;
                // A line's amount is its share of what the sale came to: a discount given at
                // the till (or a charge not itemised) is spread over the lines, so returning
                // every line returns exactly the total.
                let amounts = vafa_core::ledger::allocate(sale_total, &weights);
                let line_cash = &eval.line_cashback;
                // The return window runs from when the sale is recorded, not from the date
                // it states: a sale entered (or backdated) a week late would otherwise earn
                // points spendable at once, kept by a return within the window.
                let window_closes = vafa_core::ledger::available_at(p.occurred_at, settings.pending_days);
                let available_at = vafa_core::ledger::available_at(p.occurred_at.max(ctx.now), settings.pending_days);
                // The expiry period starts when the sale's window closes: a return window
                // never eats into (or past) a point's life, and a sale entered late does not
                // renew its points' life.
                let expires_at = settings.expiry.expires_at(window_closes, &tz);

                let points_acct = AccountSpec::customer_points(&customer_id);
                let account = Self::lock_account(&mut *tx, &ctx.program_id, &points_acct, ctx.now).await?;
                let mut lot_id = None;
                // Points that expired before they were recorded (a purchase entered late)
                // pay no debt: the debt stays, and the expiry job takes the lot.
                let expired_at_birth = expires_at.is_some_and(|e| e <= ctx.now);
                let debt_paid = if expired_at_birth { 0 } else { points.min(account.debt.max(0)) };
                // The lot goes in complete — its entry and what the debt leaves in it — so
                // posting does not come back to update it (two statements fewer a purchase).
                if points > 0 {
                    let lot = new_id("lot");
                    Self::insert_lot(&mut *tx, ctx, &lot, &account.id, &entry_id, Some(&purchase_id), points, points - debt_paid, available_at, expires_at).await?;
                    legs.push(Leg::lot(points_acct.clone(), points, &lot));
                    legs.push(Leg::new(AccountSpec::program("issued", POINTS, &customer_id), -points));
                    if debt_paid > 0 {
                        legs.push(Leg::lot(points_acct.clone(), -debt_paid, &lot));
                        legs.push(Leg::new(points_acct.clone(), debt_paid));
                    }
                    lot_id = Some(lot);
                }
                if cashback > 0 {
                    legs.push(Leg::new(AccountSpec::customer_cashback(&customer_id, currency), cashback));
                    legs.push(Leg::new(AccountSpec::program("issued", currency, &customer_id), -cashback));
                }
                let explanation = serde_json::json!({
                    "total_minor": sale_total, "points": points, "cashback_minor": cashback, "debt_paid": debt_paid,
                    "checkout": quote,
                    "base": {"earn_points": settings.earn_points, "earn_per_minor": settings.earn_per_minor,
                             "cashback_percent": settings.cashback_percent.to_string()},
                    "tier": tier.map(|t| serde_json::json!({"code": t.code, "earn_multiplier": t.earn_multiplier.to_string()})),
                    "rules": eval.fired.iter().map(|f| serde_json::json!({
                        "campaign_id": f.campaign_id, "rule_id": f.rule_id, "rule_version": f.rule_version,
                        "points": f.points, "cashback_minor": f.cashback_minor,
                    })).collect::<Vec<_>>(),
                });
                Self::post_entry_as(&mut *tx, ctx, &entry_id, lot_id.as_deref(), "purchase", Some(&customer_id), Some(&purchase_id), explanation, &legs).await?;
                db::query(
                    "INSERT INTO purchases (id, program_id, customer_id, card_number, external_id, store, channel, currency, total_minor, \
                     returned_minor, points_earned, points_reversed, cashback_earned, cashback_reversed, lot_id, entry_id, occurred_at, created_at, coupons, \
                     gross_minor, discount_minor, points_redeemed, redeemed_value_minor, cashback_used_minor) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, 0, $11, 0, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
                )
                .bind(&purchase_id)
                .bind(&ctx.program_id)
                .bind(&customer_id)
                .bind(&card)
                .bind(&p.external_id)
                .bind(&p.store)
                .bind(&p.channel)
                .bind(currency)
                .bind(sale_total)
                .bind(points)
                .bind(cashback)
                .bind(&lot_id)
                .bind(&entry_id)
                .bind(micros(p.occurred_at))
                .bind(micros(ctx.now))
                .bind(if p.coupons.is_empty() { None } else { Some(encode(&p.coupons)?) })
                .bind(p.total_minor)
                .bind(p.total_minor - sale_total)
                .bind(quote.as_ref().map_or(0, |q| q.points_redeemed))
                .bind(quote.as_ref().map_or(0, |q| q.points_value_minor + q.cashback_used_minor))
                .bind(quote.as_ref().map_or(0, |q| q.cashback_used_minor))
                .execute(&mut *tx)
                .await
                .map_err(|e| if db::unique_violation(&e).is_some() { StoreError::DuplicatePurchase } else { e })?;
                let mut lines = Vec::with_capacity(p.lines.len());
                for (i, l) in p.lines.iter().enumerate() {
                    db::query(
                        "INSERT INTO purchase_lines (purchase_id, line_no, sku, name, category, quantity, unit_price_minor, amount_minor, \
                         points, cashback, returned_quantity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)",
                    )
                    .bind(&purchase_id)
                    .bind(i as i64 + 1)
                    .bind(&l.sku)
                    .bind(&l.name)
                    .bind(&l.category)
                    .bind(l.quantity)
                    .bind(l.unit_price_minor)
                    .bind(amounts[i])
                    .bind(line_points[i])
                    .bind(line_cash[i])
                    .execute(&mut *tx)
                    .await?;
                    lines.push(LineOutcome {
                        line_no: i as i64 + 1,
                        sku: l.sku.clone(),
                        quantity: l.quantity,
                        amount_minor: amounts[i],
                        points: line_points[i],
                        cashback_minor: line_cash[i],
                    });
                }
                Self::record_rules(&mut *tx, &program, &eval, &customer_id, &entry_id, Some(&purchase_id), None, p.occurred_at).await?;
                // Upgrade at once when this purchase crosses a threshold.
                let mut tier_change = None;
                if let (Some(l), Some(current)) = (&ladder, level) {
                    let start = l.window_start(ctx.now, &tz, calendar_of(program.locale));
                    let end = ctx.now.max(p.occurred_at);
                    let value = Self::qualifying_value(&mut *tx, &ctx.program_id, &customer_id, l.metric, start, end).await?;
                    let by = Some(crate::sql::tiers::ByPurchase { purchase_id: &purchase_id, available_at });
                    let from = l.tiers[current].code.clone();
                    if let Some(to) = l.on_purchase(current, value) {
                        tier_change = Some(
                            Self::change_tier(&mut *tx, ctx, &program, &settings, l, &customer_id, Some(&from), to, "upgrade", None, value, None, by).await?,
                        );
                    } else if value >= l.tiers[current].threshold && Self::gift_owed(&mut *tx, &ctx.program_id, &customer_id, l, current).await? {
                        tier_change = Some(
                            Self::change_tier(&mut *tx, ctx, &program, &settings, l, &customer_id, Some(&from), current, "regift", None, value, None, by).await?,
                        );
                    }
                }
                let balance = Self::snapshot(&mut *tx, &ctx.program_id, &customer_id, ctx.now, false).await?;
                let outcome = PurchaseOutcome {
                    tier: tier.map(|t| t.code.clone()),
                    tier_change,
                    purchase_id,
                    customer_id,
                    external_id: p.external_id.clone(),
                    entry_id,
                    total_minor: sale_total,
                    checkout: quote,
                    points_earned: points,
                    points_pending: if available_at > ctx.now && !expired_at_birth { points - debt_paid } else { 0 },
                    points_expired: if expired_at_birth { points } else { 0 },
                    available_at,
                    expires_at,
                    debt_paid,
                    cashback_minor: cashback,
                    lines,
                    occurred_at: p.occurred_at,
                    rules: eval.fired.iter().map(FiredRuleRecord::from).collect(),
                    issued_rewards,
                    issued_coupons,
                    balance,
                };
                Self::idem_store(&mut *tx, ctx, idem, &outcome).await?;
                Ok(Replayed { value: outcome, replayed: false })
            }

            pub(crate) async fn return_purchase_op(
                &self,
                ctx: &Ctx,
                purchase_id: &str,
                req: &ReturnRequest,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<ReturnOutcome>> {
                let mut tx = self.begin_write().await?;
                if let Some(value) = Self::idem_lookup(&mut tx, &ctx.program_id, idem).await? {
                    // A replay waits, like any write, until what it repeats is durable.
                    tx.commit().await?;
                    return Ok(Replayed { value, replayed: true });
                }
                let owner: Option<(String,)> = sqlx::query_as("SELECT customer_id FROM purchases WHERE program_id = $1 AND id = $2")
                    .bind(&ctx.program_id)
                    .bind(purchase_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let mut customer_id = owner.ok_or(StoreError::NotFound("purchase"))?.0;
                // Returns are allowed for blocked customers: the money goes back either way.
                // A merge may have moved the purchase to the survivor while this waited for
                // the duplicate's lock: then it takes the survivor's too, whose accounts
                // now hold the purchase's points.
                let mut status;
                loop {
                    status = Self::lock_customer(&mut tx, &ctx.program_id, &customer_id).await?;
                    let (now_owner,): (String,) = sqlx::query_as("SELECT customer_id FROM purchases WHERE program_id = $1 AND id = $2")
                        .bind(&ctx.program_id)
                        .bind(purchase_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    if now_owner == customer_id {
                        break;
                    }
                    customer_id = now_owner;
                }
                let (program, settings) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                // The earlier returns' money is summed under the customer's lock (above), which
                // every return takes first: no other return of this purchase can be in flight.
                let sql = format!(
                    "SELECT id, customer_id, entry_id, occurred_at, total_minor, returned_minor, points_earned, points_reversed, cashback_earned, \
                     cashback_reversed, lot_id, points_redeemed, redeemed_value_minor, cashback_used_minor, \
                     (SELECT CAST(COALESCE(SUM(r.money_refund_minor + r.cashback_withheld_minor), 0) AS BIGINT) FROM purchase_returns r \
                      WHERE r.purchase_id = purchases.id) AS money_refunded_minor, \
                     (SELECT CAST(COALESCE(SUM(r.points_due), 0) AS BIGINT) FROM purchase_returns r \
                      WHERE r.purchase_id = purchases.id) AS points_due_before, \
                     (SELECT CAST(COALESCE(SUM(r.cashback_due), 0) AS BIGINT) FROM purchase_returns r \
                      WHERE r.purchase_id = purchases.id) AS cashback_due_before \
                     FROM purchases WHERE program_id = $1 AND id = $2{}",
                    $lock
                );
                let purchase: PurchaseRow = sqlx::query_as(&sql).bind(&ctx.program_id).bind(purchase_id).fetch_one(&mut *tx).await?;
                let lines: Vec<LineRow> = sqlx::query_as(
                    "SELECT line_no, quantity, amount_minor, points, cashback, returned_quantity FROM purchase_lines \
                     WHERE purchase_id = $1 ORDER BY line_no",
                )
                .bind(purchase_id)
                .fetch_all(&mut *tx)
                .await?;
                let Dues { amount, points: mut points_due, cashback: mut cash_due, lines: line_updates, mut refund } =
                    return_dues(&purchase, &lines, req)?;
                // An erased record's value was forfeited with it: a return takes nothing more
                // from it (no debt, no negative wallet) and gives nothing back to it; the
                // money goes back, and the sale's returned share is recorded as always.
                let erased = status == CustomerStatus::Erased;
                if erased {
                    (points_due, cash_due) = (0, 0);
                    (refund.points, refund.points_value_minor, refund.cashback_minor) = (0, 0, 0);
                }
                // All of it back: what the rules gave with it, unused, goes too (before any
                // account is locked, as a claim takes a reward's row).
                let (withdrawn_claims, withdrawn_coupons) = if purchase.returned_minor + amount >= purchase.total_minor {
                    Self::withdraw_rule_awards(&mut tx, ctx, &customer_id, &purchase.entry_id).await?
                } else {
                    (Vec::new(), Vec::new())
                };

                let points_acct = AccountSpec::customer_points(&customer_id);
                let account = Self::lock_account(&mut tx, &ctx.program_id, &points_acct, ctx.now).await?;
                let mut lots = Self::lots_of(&mut tx, &account.id).await?;
                let entry_id = new_id("ent");
                // The points that paid for the returned share come back in a lot of their
                // own, available at once and expiring when the latest of the lots they were
                // spent from would have: given back, never given longer. The reversal below
                // may take from it like from any lot, and what is left pays a debt first.
                let refund_lot = if refund.points > 0 {
                    let expires_at = match Self::spent_lots_expiry(&mut tx, &purchase.entry_id, purchase.lot_id.as_deref()).await? {
                        Some(at) => at,
                        // Not found (it cannot be, but a ledger from elsewhere might): the
                        // program's policy from now.
                        None => {
                            let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            settings.expiry.expires_at(ctx.now, &tz)
                        }
                    };
                    let id = new_id("lot");
                    lots.push(vafa_core::ledger::Lot { id: id.clone(), remaining: refund.points, available_at: ctx.now, expires_at });
                    vafa_core::ledger::spend_order(&mut lots);
                    Some(id)
                } else {
                    None
                };
                let refund_lot = refund_lot.and_then(|id| lots.iter().position(|l| l.id == id));
                let own = purchase.lot_id.as_ref().and_then(|id| lots.iter().position(|l| &l.id == id));
                // Points of this purchase that expired unspent are lost to the customer
                // already: a return does not take them a second time, from other points or
                // as a debt. What it can take back is what was earned, less that and less
                // what earlier returns took.
                let expired_own = match purchase.lot_id.as_deref() {
                    Some(lot) => Self::lot_expired_points(&mut tx, lot, ctx.now).await?,
                    None => 0,
                };
                let reversible = (purchase.points_earned - expired_own - purchase.points_reversed).max(0);
                let own_reversed = vafa_core::ledger::plan_reversal(
                    &lots, own, points_due.min(reversible), settings.return_policy, account.debt, ctx.now).reversed;
                let gifts = match erased {
                    true => Vec::new(),
                    false => Self::gifts_to_take_back(&mut tx, &program, purchase.occurred_at, &customer_id, amount, own_reversed, ctx.now).await?,
                };
                let gift_plan: Vec<(Option<usize>, i64)> = gifts
                    .iter()
                    .map(|(_, lot, due)| (lot.as_ref().and_then(|id| lots.iter().position(|l| &l.id == id)), *due))
                    .collect();
                let reversal = vafa_core::ledger::plan_return(
                    &lots, own, points_due.min(reversible), &gift_plan, settings.return_policy, account.debt, ctx.now);
                for ((change, _, _), took) in gifts.iter().zip(&reversal.gifts_reversed) {
                    if *took > 0 {
                        sqlx::query("UPDATE tier_changes SET gift_reversed = gift_reversed + $1 WHERE id = $2")
                            .bind(took)
                            .bind(change)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let gift_reversed = reversal.gift_reversed();
                let currency = program.currency.code();
                let cash_acct = AccountSpec::customer_cashback(&customer_id, currency);
                let cash_balance = Self::lock_account(&mut tx, &ctx.program_id, &cash_acct, ctx.now).await?.balance;
                let cash_reversed = match settings.return_policy {
                    vafa_core::ledger::ReturnPolicy::AllowNegative => cash_due,
                    _ => cash_due.min((cash_balance + refund.cashback_minor).max(0)),
                };
                let mut legs = Vec::new();
                let mut refund_debt_paid = 0;
                if let Some(i) = refund_lot {
                    let lot = &lots[i];
                    let taken: i64 = reversal.takes.iter().filter(|(j, _)| *j == i).map(|(_, t)| t).sum();
                    let debt = (account.debt + reversal.new_debt).max(0);
                    // Points past their expiry pay nothing: the next expiry run takes them.
                    refund_debt_paid = if lot.expired(ctx.now) { 0 } else { (refund.points - taken).min(debt) };
                    Self::insert_lot(&mut tx, ctx, &lot.id, &account.id, &entry_id, Some(purchase_id), refund.points,
                        refund.points - taken - refund_debt_paid, lot.available_at, lot.expires_at).await?;
                    legs.push(Leg::lot(points_acct.clone(), refund.points, &lot.id));
                    legs.push(Leg::new(AccountSpec::program("redeemed", POINTS, &customer_id), -refund.points));
                    if refund_debt_paid > 0 {
                        legs.push(Leg::lot(points_acct.clone(), -refund_debt_paid, &lot.id));
                        legs.push(Leg::new(points_acct.clone(), refund_debt_paid));
                    }
                }
                for (i, take) in &reversal.takes {
                    legs.push(Leg::lot(points_acct.clone(), -take, &lots[*i].id));
                }
                if reversal.new_debt > 0 {
                    legs.push(Leg::new(points_acct.clone(), -reversal.new_debt));
                }
                if reversal.reversed + gift_reversed > 0 {
                    legs.push(Leg::new(AccountSpec::program("issued", POINTS, &customer_id), reversal.reversed + gift_reversed));
                }
                if refund.cashback_minor > 0 {
                    legs.push(Leg::new(cash_acct.clone(), refund.cashback_minor));
                    legs.push(Leg::new(AccountSpec::program("redeemed", currency, &customer_id), -refund.cashback_minor));
                }
                if cash_reversed > 0 {
                    legs.push(Leg::new(cash_acct.clone(), -cash_reversed));
                    legs.push(Leg::new(AccountSpec::program("issued", currency, &customer_id), cash_reversed));
                }
                // Cashback this return should take back but the wallet no longer holds (spent,
                // under a policy that allows no debt) is kept from the money refund: else
                // buy, spend the cashback, return, repeat would pay out cashback each round.
                let cashback_withheld = match settings.return_policy {
                    vafa_core::ledger::ReturnPolicy::AllowNegative => 0,
                    _ => (cash_due - cash_reversed).max(0).min(refund.money_minor),
                };
                let money_refund = refund.money_minor - cashback_withheld;
                let explanation = serde_json::json!({
                    "policy": settings.return_policy, "amount_minor": amount, "points_due": points_due,
                    "points_reversed": reversal.reversed, "debt_added": reversal.new_debt,
                    "tier_gift_points_reversed": gift_reversed, "cashback_due_minor": cash_due, "cashback_reversed_minor": cash_reversed,
                    "points_refunded": refund.points, "points_refunded_value_minor": refund.points_value_minor,
                    "refund_debt_paid": refund_debt_paid, "cashback_refunded_minor": refund.cashback_minor,
                    "money_refund_minor": money_refund, "cashback_withheld_minor": cashback_withheld,
                });
                Self::post_entry_as(&mut tx, ctx, &entry_id, refund_lot.map(|i| lots[i].id.as_str()), "return", Some(&customer_id), Some(purchase_id), explanation, &legs).await?;
                for (line_no, qty) in &line_updates {
                    sqlx::query("UPDATE purchase_lines SET returned_quantity = returned_quantity + $1 WHERE purchase_id = $2 AND line_no = $3")
                        .bind(qty)
                        .bind(purchase_id)
                        .bind(line_no)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "UPDATE purchases SET returned_minor = returned_minor + $1, points_reversed = points_reversed + $2, \
                     cashback_reversed = cashback_reversed + $3 WHERE id = $4",
                )
                .bind(amount)
                .bind(reversal.reversed)
                .bind(cash_reversed)
                .bind(purchase_id)
                .execute(&mut *tx)
                .await?;
                let return_id = new_id("ret");
                sqlx::query(
                    "INSERT INTO purchase_returns (id, program_id, purchase_id, amount_minor, points_reversed, cashback_reversed, entry_id, at, \
                     points_refunded, cashback_refunded, money_refund_minor, points_due, cashback_due, gift_points_reversed, cashback_withheld_minor) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&return_id)
                .bind(&ctx.program_id)
                .bind(purchase_id)
                .bind(amount)
                .bind(reversal.reversed)
                .bind(cash_reversed)
                .bind(&entry_id)
                .bind(micros(ctx.now))
                .bind(refund.points)
                .bind(refund.cashback_minor)
                .bind(money_refund)
                .bind(points_due)
                .bind(cash_due)
                .bind(gift_reversed)
                .bind(cashback_withheld)
                .execute(&mut *tx)
                .await?;
                let balance = Self::snapshot(&mut tx, &ctx.program_id, &customer_id, ctx.now, false).await?;
                let outcome = ReturnOutcome {
                    return_id,
                    purchase_id: purchase_id.to_owned(),
                    customer_id,
                    entry_id,
                    amount_minor: amount,
                    points_due,
                    points_reversed: reversal.reversed,
                    points_debt_added: reversal.new_debt,
                    tier_gift_points_reversed: gift_reversed,
                    withdrawn_claims,
                    withdrawn_coupons,
                    cashback_reversed_minor: cash_reversed,
                    points_refunded: refund.points,
                    cashback_refunded_minor: refund.cashback_minor,
                    money_refund_minor: money_refund,
                    cashback_withheld_minor: cashback_withheld,
                    balance,
                };
                Self::idem_store(&mut tx, ctx, idem, &outcome).await?;
                tx.commit().await?;
                Ok(Replayed { value: outcome, replayed: false })
            }
        }
    };
}
pub(crate) use ledger_ops;

use super::ledger_support::{pro_rata, LineRow, PurchaseRow};
use crate::{ReturnRequest, StoreError};

/// What a return is worth: money, points and cashback due, and line quantities returned;
/// and, for a checkout purchase, the share of the points and cashback that paid for it.
pub(crate) struct Dues {
    pub amount: i64,
    pub points: i64,
    pub cashback: i64,
    pub lines: Vec<(i64, i64)>,
    pub refund: Refund,
}

/// The part of a purchase's payment in points and cashback a return gives back: the
/// returned share of the sale, cumulatively, so returns adding up to the whole give back
/// exactly what paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Refund {
    pub points: i64,
    /// What those points were worth when they paid (minor units).
    pub points_value_minor: i64,
    pub cashback_minor: i64,
    /// The rest of the amount, paid back in money; never negative.
    pub money_minor: i64,
}

impl Refund {
    /// Points and cashback come back in their cumulative share of what has been
    /// returned, so the returns of a purchase add up to exactly what paid. The points'
    /// value is that of the points given back (a whole point may be worth more than a
    /// small return), and the money is what the returns so far have left due: a return
    /// that would owe the customer less than nothing pays nothing, and the next ones
    /// pay that much less.
    fn of(p: &PurchaseRow, amount: i64) -> Self {
        let (before, after) = (p.returned_minor, p.returned_minor + amount);
        let share = |whole: i64, upto: i64| pro_rata(whole, p.total_minor, 0, upto);
        let points_value = p.redeemed_value_minor - p.cashback_used_minor;
        let value_of = |points: i64| pro_rata(points_value, p.points_redeemed, 0, points);
        let (k_before, k_after) = (
            share(p.points_redeemed, before),
            share(p.points_redeemed, after),
        );
        let cumulative_value = value_of(k_after);
        let cumulative_cashback = share(p.cashback_used_minor, after);
        // Never more, in all, than was paid in money: a return that pays ahead of its
        // whole points (they come back only once enough is returned) is not paid twice.
        let paid_in_money = p.total_minor - p.redeemed_value_minor;
        let money_due = (after - cumulative_value - cumulative_cashback).min(paid_in_money);
        Refund {
            points: k_after - k_before,
            points_value_minor: cumulative_value - value_of(k_before),
            cashback_minor: cumulative_cashback - share(p.cashback_used_minor, before),
            money_minor: (money_due - p.money_refunded_minor).max(0),
        }
    }
}

/// Refuses returning more than was bought.
pub(crate) fn return_dues(
    p: &PurchaseRow,
    lines: &[LineRow],
    req: &ReturnRequest,
) -> Result<Dues, StoreError> {
    let too_much =
        |field: String, message: String| Err(StoreError::ReturnTooLarge { field, message });
    match req {
        ReturnRequest::Amount(a) => {
            let left = p.total_minor - p.returned_minor;
            if *a <= 0 || *a > left {
                return too_much(
                    "amount.amount".into(),
                    format!("amount must be between 1 and the {left} not yet returned"),
                );
            }
            let (before, after) = (p.returned_minor, p.returned_minor + a);
            let points = pro_rata(p.points_earned, p.total_minor, before, after);
            let cash = pro_rata(p.cashback_earned, p.total_minor, before, after);
            // The money all back is the whole purchase back (a purchase of nothing
            // cannot be returned by amount).
            let (points, cash) = p.within_earnings(after >= p.total_minor, points, cash);
            Ok(Dues {
                amount: *a,
                points,
                cashback: cash,
                lines: Vec::new(),
                refund: Refund::of(p, *a),
            })
        }
        ReturnRequest::Lines(items) => {
            let (mut amount, mut points, mut cash) = (0i64, 0i64, 0i64);
            let mut updates: Vec<(i64, i64)> = Vec::new();
            for (i, (line_no, qty)) in items.iter().enumerate() {
                let Some(line) = lines.iter().find(|l| l.line_no == *line_no) else {
                    return Err(StoreError::InvalidField {
                        field: format!("items[{i}].line").into(),
                        message: format!("the purchase has no line {line_no}"),
                    });
                };
                let already = line.returned_quantity
                    + updates
                        .iter()
                        .filter(|u| u.0 == *line_no)
                        .map(|u| u.1)
                        .sum::<i64>();
                if *qty <= 0 || already + qty > line.quantity {
                    return too_much(
                        format!("items[{i}].quantity"),
                        format!(
                            "line {line_no}: {} of {} can still be returned",
                            line.quantity - already,
                            line.quantity
                        ),
                    );
                }
                amount += pro_rata(line.amount_minor, line.quantity, already, already + qty);
                points += pro_rata(line.points, line.quantity, already, already + qty);
                cash += pro_rata(line.cashback, line.quantity, already, already + qty);
                updates.push((*line_no, *qty));
            }
            // Money already given back by amount leaves the lines as they were: the goods
            // coming back now are refunded at most the money still left of the sale.
            let amount = amount.min(p.total_minor - p.returned_minor);
            // Every line back is the whole purchase back; the money alone is not (a free
            // line may still hold a bonus of its own).
            let all_lines = lines.iter().all(|l| {
                let now: i64 = updates
                    .iter()
                    .filter(|u| u.0 == l.line_no)
                    .map(|u| u.1)
                    .sum();
                l.returned_quantity + now >= l.quantity
            });
            let (points, cash) = p.within_earnings(all_lines, points, cash);
            Ok(Dues {
                amount,
                points,
                cashback: cash,
                lines: updates,
                refund: Refund::of(p, amount),
            })
        }
    }
}

#[cfg(test)]
mod refund_tests {
    use super::{PurchaseRow, Refund};
    use proptest::prelude::*;

    proptest! {
        /// However a purchase paid (points, cashback, money) and however it is returned in
        /// parts, every part gives back something non-negative, and the parts add up to
        /// exactly the points, their value, the cashback and the money that paid.
        #[test]
        fn returns_in_parts_give_back_exactly_what_paid(
            points in 0i64..300,
            point_value in 1i64..20_000,
            cashback in 0i64..500_000,
            money in 0i64..2_000_000,
            cuts in proptest::collection::vec(0.0f64..1.0, 0..8),
        ) {
            let total = points * point_value + cashback + money;
            prop_assume!(total > 0);
            let mut at: Vec<i64> = cuts.iter().map(|c| (c * total as f64) as i64).filter(|c| *c > 0 && *c < total).collect();
            at.push(total);
            at.sort_unstable();
            at.dedup();
            let (mut returned, mut sums) = (0i64, [0i64; 4]);
            for end in at {
                let row = PurchaseRow {
                    entry_id: String::new(),
                    occurred_at: 0,
                    total_minor: total,
                    returned_minor: returned,
                    points_earned: 0,
                    cashback_earned: 0,
                    lot_id: None,
                    points_redeemed: points,
                    redeemed_value_minor: points * point_value + cashback,
                    cashback_used_minor: cashback,
                    money_refunded_minor: sums[3],
                    points_reversed: 0,
                    points_due_before: 0,
                    cashback_due_before: 0,
                };
                let r = Refund::of(&row, end - returned);
                let part = [r.points, r.points_value_minor, r.cashback_minor, r.money_minor];
                prop_assert!(part.iter().all(|x| *x >= 0), "{part:?} returning {returned}..{end} of {total}");
                for (s, p) in sums.iter_mut().zip(part) {
                    *s += p;
                }
                returned = end;
            }
            prop_assert_eq!(sums, [points, points * point_value, cashback, money]);
        }
    }
}
