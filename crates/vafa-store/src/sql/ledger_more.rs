//! Spending, adjusting, transferring and expiring points; reading and verifying the journal.

macro_rules! ledger_more_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            /// Lock `customer_id` for a value change: it must be active.
            async fn spending_customer(conn: &mut <$db as sqlx::Database>::Connection, program_id: &str, customer_id: &str) -> Result<()> {
                Self::active_customer(conn, program_id, customer_id).await
            }

            /// Legs taking `points` from the customer's lots, soonest-expiring first.
            async fn spend_legs<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                customer_id: &str,
                points: i64,
            ) -> Result<(Vec<Leg>, Vec<vafa_core::ledger::Lot>, Vec<(usize, i64)>)> {
                let acct = AccountSpec::customer_points(customer_id);
                let row = Self::lock_account(conn, &ctx.program_id, &acct, ctx.now).await?;
                let lots = Self::lots_of(conn, &row.id).await?;
                let plan = vafa_core::ledger::plan_spend(&lots, row.debt, points, ctx.now)
                    .map_err(|i| StoreError::InsufficientPoints { available: i.available.max(0) })?;
                let legs = plan.iter().map(|(i, take)| Leg::lot(acct.clone(), -take, &lots[*i].id)).collect();
                Ok((legs, lots, plan))
            }

            pub(crate) async fn redeem_op(&self, ctx: &Ctx, customer_id: &str, spend: Spend, idem: Option<&Idempotency>) -> Result<Replayed<RedemptionOutcome>> {
                let mut tx = self.begin_write().await?;
                if let Some(value) = Self::idem_lookup(&mut tx, &ctx.program_id, idem).await? {
                    // A replay waits, like any write, until what it repeats is durable.
                    tx.commit().await?;
                    return Ok(Replayed { value, replayed: true });
                }
                let (program, settings) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                Self::spending_customer(&mut tx, &ctx.program_id, customer_id).await?;
                let currency = program.currency.code();
                let (legs, points, cash, value) = match spend {
                    Spend::Points(n) => {
                        let (mut legs, _, _) = Self::spend_legs(&mut tx, ctx, customer_id, n).await?;
                        legs.push(Leg::new(AccountSpec::program("redeemed", POINTS, customer_id), n));
                        (legs, n, 0, settings.points_value_minor(n))
                    }
                    Spend::CashbackMinor(m) => {
                        let acct = AccountSpec::customer_cashback(customer_id, currency);
                        let row = Self::lock_account(&mut tx, &ctx.program_id, &acct, ctx.now).await?;
                        if m <= 0 || m > row.balance {
                            return Err(StoreError::InsufficientCashback { available: row.balance.max(0) });
                        }
                        let legs = vec![Leg::new(acct, -m), Leg::new(AccountSpec::program("redeemed", currency, customer_id), m)];
                        (legs, 0, m, m)
                    }
                };
                let explanation = serde_json::json!({
                    "points": points, "cashback_minor": cash, "value_minor": value,
                    "point_value_minor": settings.point_value_minor.to_string(),
                });
                let entry_id = Self::post_entry(&mut tx, ctx, "redemption", Some(customer_id), None, explanation, &legs).await?;
                let balance = Self::snapshot(&mut tx, &ctx.program_id, customer_id, ctx.now, false).await?;
                let outcome = RedemptionOutcome {
                    redemption_id: entry_id,
                    customer_id: customer_id.to_owned(),
                    points,
                    cashback_minor: cash,
                    value_minor: value,
                    balance,
                };
                Self::idem_store(&mut tx, ctx, idem, &outcome).await?;
                tx.commit().await?;
                Ok(Replayed { value: outcome, replayed: false })
            }

            pub(crate) async fn adjust_op(&self, ctx: &Ctx, customer_id: &str, points: i64, reason: &str, idem: Option<&Idempotency>) -> Result<Replayed<AdjustmentOutcome>> {
                let mut tx = self.begin_write().await?;
                if let Some(value) = Self::idem_lookup(&mut tx, &ctx.program_id, idem).await? {
                    // A replay waits, like any write, until what it repeats is durable.
                    tx.commit().await?;
                    return Ok(Replayed { value, replayed: true });
                }
                let (program, settings) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                // Adjustments may correct a blocked customer's balance too.
                match Self::lock_customer(&mut tx, &ctx.program_id, customer_id).await? {
                    CustomerStatus::Active | CustomerStatus::Blocked => {}
                    closed => return Err(StoreError::CustomerClosed(closed.as_str())),
                }
                let explanation = serde_json::json!({ "reason": reason, "points": points });
                let entry_id = if points >= 0 {
                    Self::grant_points_in(&mut tx, ctx, (&program, &settings), customer_id, points, "adjustments", "adjustment", explanation.clone()).await?
                } else {
                    let (mut legs, _, _) = Self::spend_legs(&mut tx, ctx, customer_id, -points).await?;
                    legs.push(Leg::new(AccountSpec::program("adjustments", POINTS, customer_id), -points));
                    Self::post_entry(&mut tx, ctx, "adjustment", Some(customer_id), None, explanation.clone(), &legs).await?
                };
                Self::audit(&mut tx, ctx, "ledger.adjusted", "customer", customer_id, explanation).await?;
                let balance = Self::snapshot(&mut tx, &ctx.program_id, customer_id, ctx.now, false).await?;
                let outcome = AdjustmentOutcome {
                    adjustment_id: entry_id,
                    customer_id: customer_id.to_owned(),
                    points,
                    reason: reason.to_owned(),
                    balance,
                };
                Self::idem_store(&mut tx, ctx, idem, &outcome).await?;
                tx.commit().await?;
                Ok(Replayed { value: outcome, replayed: false })
            }

            /// Credit `points` (a new lot, paying off debt first) from the program account
            /// `source`, as a journal entry of `kind`, inside the caller's transaction.
            #[allow(clippy::too_many_arguments)]
            pub(crate) async fn grant_points_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                ctx: &Ctx,
                (program, settings): (&Program, &vafa_core::ledger::LedgerSettings),
                customer_id: &str,
                points: i64,
                source: &'static str,
                kind: &str,
                explanation: serde_json::Value,
            ) -> Result<String> {
                let acct = AccountSpec::customer_points(customer_id);
                let row = Self::lock_account(conn, &ctx.program_id, &acct, ctx.now).await?;
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let expires = settings.expiry.expires_at(ctx.now, &tz);
                let lot = Self::new_lot(conn, ctx, &row.id, None, points, ctx.now, expires).await?;
                let paid = points.min(row.debt.max(0));
                let mut legs = vec![Leg::lot(acct.clone(), points, &lot), Leg::new(AccountSpec::program(source, POINTS, customer_id), -points)];
                if paid > 0 {
                    legs.push(Leg::lot(acct.clone(), -paid, &lot));
                    legs.push(Leg::new(acct, paid));
                }
                let entry_id = Self::post_entry(conn, ctx, kind, Some(customer_id), None, explanation, &legs).await?;
                sqlx::query("UPDATE lots SET entry_id = $1 WHERE entry_id = '' AND program_id = $2")
                    .bind(&entry_id)
                    .bind(&ctx.program_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(entry_id)
            }

            pub(crate) async fn transfer_op(&self, ctx: &Ctx, from: &str, to: &str, points: i64, idem: Option<&Idempotency>) -> Result<Replayed<TransferOutcome>> {
                let mut tx = self.begin_write().await?;
                if let Some(value) = Self::idem_lookup(&mut tx, &ctx.program_id, idem).await? {
                    // A replay waits, like any write, until what it repeats is durable.
                    tx.commit().await?;
                    return Ok(Replayed { value, replayed: true });
                }
                // Both customers first, so another program's ids are "not found" before any rule speaks.
                let (first, second) = if from < to { (from, to) } else { (to, from) };
                Self::spending_customer(&mut tx, &ctx.program_id, first).await?;
                if second != first {
                    Self::spending_customer(&mut tx, &ctx.program_id, second).await?;
                }
                let refused = |field, message: String| Err(StoreError::TransferRefused { field, message });
                if from == to {
                    return refused(Some("to_customer_id"), "a customer cannot transfer to itself".into());
                }
                let (_, settings) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                if !settings.transfers_enabled {
                    return refused(None, "this program does not allow point transfers".into());
                }
                if points <= 0 || points > settings.transfer_max_points {
                    return refused(Some("points"), format!("a transfer moves 1 to {} points", settings.transfer_max_points));
                }
                let to_acct = AccountSpec::customer_points(to);
                let from_acct = AccountSpec::customer_points(from);
                // Both accounts in key order before planning, like every other path.
                for spec in if from_acct.key < to_acct.key { [&from_acct, &to_acct] } else { [&to_acct, &from_acct] } {
                    Self::lock_account(&mut tx, &ctx.program_id, spec, ctx.now).await?;
                }
                let to_row = Self::lock_account(&mut tx, &ctx.program_id, &to_acct, ctx.now).await?;
                let (mut legs, lots, plan) = Self::spend_legs(&mut tx, ctx, from, points).await?;
                // The receiver's lots keep the expiry of the points they came from, and pay
                // a debt of the receiver's first, as an earning does.
                let mut debt = to_row.debt.max(0);
                for (i, take) in &plan {
                    let lot = Self::new_lot(&mut tx, ctx, &to_row.id, None, *take, ctx.now, lots[*i].expires_at).await?;
                    legs.push(Leg::lot(to_acct.clone(), *take, &lot));
                    let pay = (*take).min(debt);
                    if pay > 0 {
                        legs.push(Leg::lot(to_acct.clone(), -pay, &lot));
                        legs.push(Leg::new(to_acct.clone(), pay));
                        debt -= pay;
                    }
                }
                let debt_paid = to_row.debt.max(0) - debt;
                let explanation = serde_json::json!({ "from": from, "to": to, "points": points, "debt_paid": debt_paid });
                let entry_id = Self::post_entry(&mut tx, ctx, "transfer", Some(from), None, explanation, &legs).await?;
                sqlx::query("UPDATE lots SET entry_id = $1 WHERE entry_id = '' AND program_id = $2")
                    .bind(&entry_id)
                    .bind(&ctx.program_id)
                    .execute(&mut *tx)
                    .await?;
                let from_balance = Self::snapshot(&mut tx, &ctx.program_id, from, ctx.now, false).await?;
                let outcome = TransferOutcome {
                    transfer_id: entry_id,
                    from_customer_id: from.to_owned(),
                    to_customer_id: to.to_owned(),
                    points,
                    from_balance,
                };
                Self::idem_store(&mut tx, ctx, idem, &outcome).await?;
                tx.commit().await?;
                Ok(Replayed { value: outcome, replayed: false })
            }

            /// On erasure, what the record holds is nobody's any more: its open lots
            /// (available or pending; expired ones are the expiry job's) and its cashback go
            /// to the program's `forfeited` accounts, and a debt (points, or a wallet below
            /// zero) is written off against what was issued, in one `forfeit` entry — so the
            /// liability stops counting them. Points and cashback forfeited (a wallet's
            /// debt as a negative), or `None` when it held nothing.
            pub(crate) async fn forfeit_value<C: Db>(conn: &mut C, ctx: &Ctx, customer: &str) -> Result<Option<(i64, i64)>> {
                let (program, _) = Self::program_and_settings(&mut *conn, &ctx.program_id).await?;
                let currency = program.currency.code();
                let (pts, cash_acct) = (AccountSpec::customer_points(customer), AccountSpec::customer_cashback(customer, currency));
                let mut specs = [&pts, &cash_acct];
                specs.sort_by(|a, b| a.key.cmp(&b.key));
                for spec in specs {
                    Self::lock_account(&mut *conn, &ctx.program_id, spec, ctx.now).await?;
                }
                let row = Self::lock_account(&mut *conn, &ctx.program_id, &pts, ctx.now).await?;
                let cash = Self::lock_account(&mut *conn, &ctx.program_id, &cash_acct, ctx.now).await?.balance;
                let mut legs = Vec::new();
                let mut points = 0;
                for lot in Self::lots_of(&mut *conn, &row.id).await?.iter().filter(|l| !l.expired(ctx.now)) {
                    legs.push(Leg::lot(pts.clone(), -lot.remaining, &lot.id));
                    points += lot.remaining;
                }
                // A debt is written off against what was issued (the return that made it
                // took the points back from there): forfeited counts only value taken.
                let debt = row.debt.max(0);
                if debt > 0 {
                    legs.push(Leg::new(pts.clone(), debt));
                    legs.push(Leg::new(AccountSpec::program("issued", POINTS, customer), -debt));
                }
                if points != 0 {
                    legs.push(Leg::new(AccountSpec::program("forfeited", POINTS, customer), points));
                }
                if cash != 0 {
                    let to = if cash > 0 { "forfeited" } else { "issued" };
                    legs.push(Leg::new(cash_acct.clone(), -cash));
                    legs.push(Leg::new(AccountSpec::program(to, currency, customer), cash));
                }
                if legs.is_empty() {
                    return Ok(None);
                }
                let explanation = serde_json::json!({"erased": customer, "points": points, "debt_written_off": debt, "cashback_minor": cash});
                Self::post_entry(&mut *conn, ctx, "forfeit", Some(customer), None, explanation, &legs).await?;
                Ok(Some((points, cash)))
            }

            /// Move what a merged duplicate holds to the survivor, inside the merge's
            /// transaction: its open lots (each to a lot of the survivor's that becomes
            /// available and expires when it would have), its debt and its cashback, in one
            /// `merge` entry on the survivor; and its purchases, so that their returns take
            /// back from the survivor, with the sales summary of both made again.
            pub(crate) async fn merge_value<C: Db>(conn: &mut C, ctx: &Ctx, from: &str, to: &str) -> Result<MergedValue> {
                let (program, settings) = Self::program_and_settings(&mut *conn, &ctx.program_id).await?;
                let currency = program.currency.code();
                let (from_pts, to_pts) = (AccountSpec::customer_points(from), AccountSpec::customer_points(to));
                let (from_cash, to_cash) = (AccountSpec::customer_cashback(from, currency), AccountSpec::customer_cashback(to, currency));
                // Every account in key order, like every other path.
                let mut specs = [&from_pts, &to_pts, &from_cash, &to_cash];
                specs.sort_by(|a, b| a.key.cmp(&b.key));
                for spec in specs {
                    Self::lock_account(&mut *conn, &ctx.program_id, spec, ctx.now).await?;
                }
                let from_row = Self::lock_account(&mut *conn, &ctx.program_id, &from_pts, ctx.now).await?;
                let to_row = Self::lock_account(&mut *conn, &ctx.program_id, &to_pts, ctx.now).await?;
                let cash = Self::lock_account(&mut *conn, &ctx.program_id, &from_cash, ctx.now).await?.balance;
                let mut legs = Vec::new();
                let mut new_lots = Vec::new();
                let mut moved = MergedValue::default();
                let mut lots: Vec<vafa_core::ledger::Lot> =
                    Self::lots_of(&mut *conn, &to_row.id).await?.into_iter().filter(|l| !l.expired(ctx.now)).collect();
                // Expired lots stay: they are worth nothing, and the expiry job posts them.
                for lot in Self::lots_of(&mut *conn, &from_row.id).await?.iter().filter(|l| !l.expired(ctx.now)) {
                    // A purchase's lot stays its lot: its return takes back from it first.
                    let (purchase_id,): (Option<String>,) = db::query("SELECT purchase_id FROM lots WHERE id = $1")
                        .bind(&lot.id)
                        .fetch_one(&mut *conn)
                        .await?;
                    let new = Self::new_lot(&mut *conn, ctx, &to_row.id, purchase_id.as_deref(), lot.remaining, lot.available_at, lot.expires_at).await?;
                    if let Some(pid) = &purchase_id {
                        db::query("UPDATE purchases SET lot_id = $1 WHERE id = $2 AND lot_id = $3")
                            .bind(&new)
                            .bind(pid)
                            .bind(&lot.id)
                            .execute(&mut *conn)
                            .await?;
                        // Or its tier gift's: the return that takes the gift back finds it.
                        db::query("UPDATE tier_changes SET gift_lot_id = $1 WHERE gift_lot_id = $2")
                            .bind(&new)
                            .bind(&lot.id)
                            .execute(&mut *conn)
                            .await?;
                    }
                    new_lots.push(new.clone());
                    legs.push(Leg::lot(from_pts.clone(), -lot.remaining, &lot.id));
                    legs.push(Leg::lot(to_pts.clone(), lot.remaining, &new));
                    moved.points += lot.remaining;
                    lots.push(vafa_core::ledger::Lot { id: new, ..lot.clone() });
                }
                moved.debt = from_row.debt.max(0);
                if moved.debt > 0 {
                    legs.push(Leg::new(from_pts.clone(), moved.debt));
                    legs.push(Leg::new(to_pts.clone(), -moved.debt));
                }
                // One record's debt beside the other's points is paid at once, soonest-
                // expiring points first, as an earning pays a debt before anything else:
                // a debt is only ever left where no points are.
                let mut debt = to_row.debt.max(0) + moved.debt;
                vafa_core::ledger::spend_order(&mut lots);
                for lot in &lots {
                    if debt == 0 {
                        break;
                    }
                    let take = lot.remaining.min(debt);
                    legs.push(Leg::lot(to_pts.clone(), -take, &lot.id));
                    legs.push(Leg::new(to_pts.clone(), take));
                    moved.debt_paid += take;
                    debt -= take;
                }
                if cash != 0 {
                    legs.push(Leg::new(from_cash.clone(), -cash));
                    legs.push(Leg::new(to_cash.clone(), cash));
                    moved.cashback_minor = cash;
                }
                if !legs.is_empty() {
                    let explanation = serde_json::json!({
                        "merged_from": from, "into": to, "points": moved.points, "debt": moved.debt,
                        "debt_paid": moved.debt_paid, "cashback_minor": cash,
                    });
                    let entry_id = Self::post_entry(&mut *conn, ctx, "merge", Some(to), None, explanation, &legs).await?;
                    for lot in &new_lots {
                        db::query("UPDATE lots SET entry_id = $1 WHERE id = $2")
                            .bind(&entry_id)
                            .bind(lot)
                            .execute(&mut *conn)
                            .await?;
                    }
                    moved.entry_id = Some(entry_id);
                }
                // Its reward claims and coupon uses too: an unused claim is the survivor's to
                // use or cancel, and per-customer limits count both records' as one.
                for table in ["reward_claims", "coupon_uses"] {
                    db::query(format!("UPDATE {table} SET customer_id = $1 WHERE program_id = $2 AND customer_id = $3"))
                        .bind(to)
                        .bind(&ctx.program_id)
                        .bind(from)
                        .execute(&mut *conn)
                        .await?;
                }
                // The coupon codes campaigns handed it are the survivor's.
                db::query("UPDATE coupon_codes SET issued_to = $1 WHERE program_id = $2 AND issued_to = $3")
                    .bind(to)
                    .bind(&ctx.program_id)
                    .bind(from)
                    .execute(&mut *conn)
                    .await?;
                // What it used of capped campaigns counts toward the survivor's caps, period by
                // period: one person does not get a campaign's limit twice.
                db::query(
                    "INSERT INTO campaign_usage (campaign_id, customer_id, period_key, uses, points) \
                     SELECT campaign_id, $1, period_key, uses, points FROM campaign_usage \
                     WHERE customer_id = $2 AND campaign_id IN (SELECT id FROM campaigns WHERE program_id = $3) \
                     ON CONFLICT (campaign_id, customer_id, period_key) \
                     DO UPDATE SET uses = campaign_usage.uses + excluded.uses, points = campaign_usage.points + excluded.points",
                )
                .bind(to)
                .bind(from)
                .bind(&ctx.program_id)
                .execute(&mut *conn)
                .await?;
                db::query("DELETE FROM campaign_usage WHERE customer_id = $1 AND campaign_id IN (SELECT id FROM campaigns WHERE program_id = $2)")
                    .bind(from)
                    .bind(&ctx.program_id)
                    .execute(&mut *conn)
                    .await?;
                // Records merged into the duplicate before now name the survivor, so the
                // survivor's history is found from it alone.
                db::query("UPDATE customers SET merged_into = $1 WHERE program_id = $2 AND merged_into = $3")
                    .bind(to)
                    .bind(&ctx.program_id)
                    .bind(from)
                    .execute(&mut *conn)
                    .await?;
                moved.purchases = db::query("UPDATE purchases SET customer_id = $1 WHERE program_id = $2 AND customer_id = $3")
                    .bind(to)
                    .bind(&ctx.program_id)
                    .bind(from)
                    .execute(&mut *conn)
                    .await? as i64;
                if moved.purchases > 0 {
                    // The purchases' trigger follows amounts, not owners: the survivor's
                    // summary is made again from its purchases, the duplicate's goes.
                    db::query("DELETE FROM customer_sales WHERE program_id = $1 AND customer_id IN ($2, $3)")
                        .bind(&ctx.program_id)
                        .bind(from)
                        .bind(to)
                        .execute(&mut *conn)
                        .await?;
                    db::query(
                        "INSERT INTO customer_sales (program_id, customer_id, purchases, net_minor, first_at, last_at) \
                         SELECT program_id, customer_id, COUNT(*), SUM(total_minor - returned_minor), MIN(occurred_at), MAX(occurred_at) \
                         FROM purchases WHERE program_id = $1 AND customer_id = $2 GROUP BY program_id, customer_id",
                    )
                    .bind(&ctx.program_id)
                    .bind(to)
                    .execute(&mut *conn)
                    .await?;
                }
                moved.tier_change = Self::merge_tier(&mut *conn, ctx, &program, &settings, from, to).await?;
                Ok(moved)
            }

            /// The survivor's tier after a merge: the higher of the two records' tiers,
            /// and higher still when the purchases now together cross a threshold, as a
            /// purchase would. A tier the duplicate already held brings no second entry
            /// gift (`merge`); one neither held is an `upgrade`, with its gift.
            async fn merge_tier<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                program: &Program,
                settings: &LedgerSettings,
                from: &str,
                to: &str,
            ) -> Result<Option<crate::tiers_model::TierChange>> {
                let Some(ladder) = Self::ladder_of(&mut *conn, &ctx.program_id).await? else { return Ok(None) };
                let current = Self::level_of(&ladder, Self::tier_row(&mut *conn, &ctx.program_id, to).await?.as_ref());
                let held = Self::level_of(&ladder, Self::tier_row(&mut *conn, &ctx.program_id, from).await?.as_ref());
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let start = ladder.window_start(ctx.now, &tz, crate::rules_model::calendar_of(program.locale));
                let value = Self::qualifying_value(&mut *conn, &ctx.program_id, to, ladder.metric, start, ctx.now).await?;
                let target = ladder.qualifies_for(value).max(held);
                if target <= current {
                    return Ok(None);
                }
                let kind = if target <= held { "merge" } else { "upgrade" };
                let from_code = ladder.tiers[current].code.clone();
                let change = Self::change_tier(
                    &mut *conn, ctx, program, settings, &ladder, to, Some(&from_code), target, kind, Some("merge"), value, None, None,
                )
                .await?;
                Ok(Some(change))
            }

            /// One batch of the expiry job: at most `batch` expired lots, one entry per customer.
            async fn expire_batch(&self, program_id: &str, now: jiff::Timestamp, batch: u32) -> Result<(i64, i64)> {
                let mut tx = self.begin_write().await?;
                let rows: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT l.id, l.program_id, a.customer_id FROM lots l JOIN accounts a ON a.id = l.account_id \
                     WHERE ($1 = '' OR l.program_id = $1) AND l.remaining > 0 AND l.expires_at IS NOT NULL AND l.expires_at <= $2 \
                     ORDER BY l.program_id, a.customer_id, l.id LIMIT $3",
                )
                .bind(program_id)
                .bind(micros(now))
                .bind(i64::from(batch))
                .fetch_all(&mut *tx)
                .await?;
                let mut customers: Vec<(String, String)> = rows.iter().map(|r| (r.1.clone(), r.2.clone())).collect();
                customers.dedup();
                let (mut lots_done, mut points_done) = (0i64, 0i64);
                for (program_id, customer_id) in customers {
                    let program_id = program_id.as_str();
                    let ctx = Ctx { program_id: program_id.to_owned(), actor: Actor::System, now };
                    Self::lock_customer(&mut tx, program_id, &customer_id).await?;
                    let acct = AccountSpec::customer_points(&customer_id);
                    let row = Self::lock_account(&mut tx, program_id, &acct, now).await?;
                    // Re-read under the lock: a concurrent spend may have used some of them.
                    let expired: Vec<_> = Self::lots_of(&mut tx, &row.id).await?.into_iter().filter(|l| l.expired(now)).collect();
                    let total: i64 = expired.iter().map(|l| l.remaining).sum();
                    if total == 0 {
                        continue;
                    }
                    let mut legs: Vec<Leg> = expired.iter().map(|l| Leg::lot(acct.clone(), -l.remaining, &l.id)).collect();
                    legs.push(Leg::new(AccountSpec::program("expired", POINTS, &customer_id), total));
                    let lot_ids: Vec<&str> = expired.iter().map(|l| l.id.as_str()).collect();
                    let explanation = serde_json::json!({ "lots": lot_ids, "points": total });
                    Self::post_entry(&mut tx, &ctx, "expiry", Some(&customer_id), None, explanation, &legs).await?;
                    lots_done += expired.len() as i64;
                    points_done += total;
                }
                tx.commit().await?;
                Ok((lots_done, points_done))
            }

            pub(crate) async fn expire_lots_op(&self, program_id: &str, now: jiff::Timestamp, batch: u32, max_batches: u32) -> Result<ExpiryRun> {
                let mut run = ExpiryRun::default();
                for _ in 0..max_batches.max(1) {
                    let (lots, points) = self.expire_batch(program_id, now, batch.max(1)).await?;
                    run.batches += 1;
                    run.lots_expired += lots;
                    run.points_expired += points;
                    if lots < i64::from(batch.max(1)) {
                        break;
                    }
                }
                for _ in 0..max_batches.max(1) {
                    let claims = self.expire_claims_batch(program_id, now, batch.max(1)).await?;
                    run.claims_expired += claims;
                    if claims < i64::from(batch.max(1)) {
                        break;
                    }
                }
                Ok(run)
            }

            /// One batch of reward claims left unused past their code's life: `expired`,
            /// with their units back in stock, so the catalog and the customer's limit
            /// count only what is still theirs. A physical gift is not: it waits on the
            /// shop, not on its code. The guarded update loses to a use or cancel.
            async fn expire_claims_batch(&self, program_id: &str, now: jiff::Timestamp, batch: u32) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT id, reward_id FROM reward_claims WHERE ($1 = '' OR program_id = $1) AND status = 'issued' \
                     AND fulfilment IS NULL AND expires_at <= $2 ORDER BY reward_id, id LIMIT $3",
                )
                .bind(program_id)
                .bind(micros(now))
                .bind(i64::from(batch))
                .fetch_all(&mut *tx)
                .await?;
                let mut done = 0;
                for (id, reward) in &rows {
                    let n = sqlx::query("UPDATE reward_claims SET status = 'expired' WHERE id = $1 AND status = 'issued' AND expires_at <= $2")
                        .bind(id)
                        .bind(micros(now))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n == 1 {
                        sqlx::query("UPDATE rewards SET stock_left = stock_left + 1 WHERE id = $1 AND stock_left IS NOT NULL")
                            .bind(reward)
                            .execute(&mut *tx)
                            .await?;
                        done += 1;
                    }
                }
                tx.commit().await?;
                Ok(done)
            }
        }
    };
}
pub(crate) use ledger_more_ops;
