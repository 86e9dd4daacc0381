//! The rewards catalog and claims: spending points on a reward through the journal,
//! single-use codes, cancellation that returns the points, fulfilment of gifts.

/// Reward claim codes: `RW-` and ten characters without look-alikes (32¹⁰).
pub(crate) const CLAIM_PATTERN: &str = "RW-#####-#####";

pub(crate) const CLAIM_SELECT: &str = "SELECT c.id, c.reward_id, r.definition, c.customer_id, c.code, c.points, c.entry_id, c.status, \
     c.fulfilment, c.expires_at, c.created_at, c.used_at, c.cancelled_at, c.cancel_reason, c.refund_entry_id \
     FROM reward_claims c JOIN rewards r ON r.id = c.reward_id";

pub(crate) type ClaimRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

pub(crate) fn claim_of(r: ClaimRow) -> Result<crate::RewardClaim, crate::StoreError> {
    use crate::sql::from_micros;
    let def: vafa_core::rewards::RewardDef = crate::sql::rules::decode_def(&r.2)?;
    Ok(crate::RewardClaim {
        id: r.0,
        reward_id: r.1,
        reward_name: def.name,
        customer_id: r.3,
        code: r.4,
        points: r.5,
        entry_id: r.6,
        status: r.7,
        fulfilment: r.8,
        expires_at: from_micros(r.9)?,
        created_at: from_micros(r.10)?,
        used_at: r.11.map(from_micros).transpose()?,
        cancelled_at: r.12.map(from_micros).transpose()?,
        cancel_reason: r.13,
        refund_entry_id: r.14,
    })
}

pub(crate) const REWARD_SELECT: &str = "SELECT r.id, r.definition, r.stock_left, r.status, r.created_at, \
     (SELECT COUNT(*) FROM reward_claims c WHERE c.reward_id = r.id AND c.status NOT IN ('cancelled', 'expired')) FROM rewards r";

pub(crate) type RewardRow = (String, String, Option<i64>, String, i64, i64);

pub(crate) fn reward_of(r: RewardRow) -> Result<crate::Reward, crate::StoreError> {
    Ok(crate::Reward {
        id: r.0,
        def: crate::sql::rules::decode_def(&r.1)?,
        stock_left: r.2,
        status: r.3,
        created_at: crate::sql::from_micros(r.4)?,
        claimed: r.5,
    })
}

macro_rules! reward_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            pub(crate) async fn create_reward_op(&self, ctx: &Ctx, def: &vafa_core::rewards::RewardDef) -> Result<Reward> {
                let mut tx = self.begin_write().await?;
                Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                let id = new_id("rwd");
                sqlx::query(
                    "INSERT INTO rewards (id, program_id, definition, stock_left, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'active', $5, $5)",
                )
                .bind(&id)
                .bind(&ctx.program_id)
                .bind(encode(def)?)
                .bind(def.stock)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                Self::audit(&mut tx, ctx, "reward.created", "reward", &id, serde_json::json!({"definition": def})).await?;
                tx.commit().await?;
                self.get_reward_op(&ctx.program_id, &id).await?.ok_or(StoreError::NotFound("reward"))
            }

            pub(crate) async fn list_rewards_op(&self, program_id: &str) -> Result<Vec<Reward>> {
                let mut conn = self.read.acquire().await?;
                let sql = format!("{} WHERE r.program_id = $1 ORDER BY r.id", crate::sql::rewards::REWARD_SELECT);
                let rows: Vec<crate::sql::rewards::RewardRow> = sqlx::query_as(&sql).bind(program_id).fetch_all(&mut *conn).await?;
                rows.into_iter().map(crate::sql::rewards::reward_of).collect()
            }

            pub(crate) async fn get_reward_op(&self, program_id: &str, id: &str) -> Result<Option<Reward>> {
                let mut conn = self.read.acquire().await?;
                let sql = format!("{} WHERE r.program_id = $1 AND r.id = $2", crate::sql::rewards::REWARD_SELECT);
                let row: Option<crate::sql::rewards::RewardRow> =
                    sqlx::query_as(&sql).bind(program_id).bind(id).fetch_optional(&mut *conn).await?;
                row.map(crate::sql::rewards::reward_of).transpose()
            }

            pub(crate) async fn retire_reward_op(&self, ctx: &Ctx, id: &str) -> Result<Reward> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("UPDATE rewards SET status = 'retired', updated_at = $1 WHERE program_id = $2 AND id = $3")
                    .bind(micros(ctx.now))
                    .bind(&ctx.program_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound("reward"));
                }
                Self::audit(&mut tx, ctx, "reward.retired", "reward", id, serde_json::json!({})).await?;
                tx.commit().await?;
                self.get_reward_op(&ctx.program_id, id).await?.ok_or(StoreError::NotFound("reward"))
            }

            async fn claim_by(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                column: &str,
                value: &str,
            ) -> Result<Option<RewardClaim>> {
                let sql = format!("{} WHERE c.program_id = $1 AND c.{column} = $2", crate::sql::rewards::CLAIM_SELECT);
                let row: Option<crate::sql::rewards::ClaimRow> =
                    sqlx::query_as(&sql).bind(program_id).bind(value).fetch_optional(&mut *conn).await?;
                row.map(crate::sql::rewards::claim_of).transpose()
            }

            pub(crate) async fn claim_reward_op(
                &self,
                ctx: &Ctx,
                reward_id: &str,
                customer_id: &str,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<RewardClaim>> {
                let mut tx = self.begin_write().await?;
                if let Some(value) = Self::idem_lookup(&mut tx, &ctx.program_id, idem).await? {
                    tx.commit().await?;
                    return Ok(Replayed { value, replayed: true });
                }
                Self::active_customer(&mut tx, &ctx.program_id, customer_id).await?;
                let sql = format!("SELECT definition, stock_left, status FROM rewards WHERE program_id = $1 AND id = $2{}", $lock);
                let row: Option<(String, Option<i64>, String)> =
                    sqlx::query_as(&sql).bind(&ctx.program_id).bind(reward_id).fetch_optional(&mut *tx).await?;
                let (def, stock, status) = row.ok_or(StoreError::NotFound("reward"))?;
                let def: vafa_core::rewards::RewardDef = decode_def(&def)?;
                if status != "active" {
                    return Err(StoreError::RewardUnavailable("the reward is retired".into()));
                }
                let tier = match Self::ladder_of(&mut tx, &ctx.program_id).await? {
                    Some(l) => Some(l.tiers[Self::level_of(&l, Self::tier_row(&mut tx, &ctx.program_id, customer_id).await?.as_ref())].code.clone()),
                    None => None,
                };
                if let Some(why) = def.refusal(tier.as_deref(), ctx.now) {
                    return Err(StoreError::RewardUnavailable(why));
                }
                if stock.is_some_and(|s| s <= 0) {
                    return Err(StoreError::RewardUnavailable("the reward is out of stock".into()));
                }
                if let Some(limit) = def.per_customer_limit {
                    // A claim the rules gave (0 points) is the campaign's, not one bought.
                    let (n,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM reward_claims WHERE program_id = $1 AND reward_id = $2 AND customer_id = $3 AND status NOT IN ('cancelled', 'expired') AND points > 0",
                    )
                    .bind(&ctx.program_id)
                    .bind(reward_id)
                    .bind(customer_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    if n >= limit {
                        return Err(StoreError::RewardUnavailable(format!("the customer has claimed this reward {n} times; the most allowed is {limit}")));
                    }
                }
                let points = def.cost_for(tier.as_deref());
                let (mut legs, _, _) = Self::spend_legs(&mut tx, ctx, customer_id, points).await?;
                legs.push(Leg::new(AccountSpec::program("redeemed", POINTS, customer_id), points));
                let claim_id = new_id("rcl");
                let explanation = serde_json::json!({"reward_id": reward_id, "reward": def.name, "claim_id": claim_id, "points": points, "tier": tier});
                let entry_id = Self::post_entry(&mut tx, ctx, "reward", Some(customer_id), None, explanation, &legs).await?;
                if stock.is_some() {
                    sqlx::query("UPDATE rewards SET stock_left = stock_left - 1, updated_at = $1 WHERE id = $2")
                        .bind(micros(ctx.now))
                        .bind(reward_id)
                        .execute(&mut *tx)
                        .await?;
                }
                Self::insert_claim(&mut *tx, ctx, &claim_id, reward_id, customer_id, &def, points, &entry_id).await?;
                let claim = Self::claim_by(&mut tx, &ctx.program_id, "id", &claim_id).await?.ok_or(StoreError::NotFound("claim"))?;
                Self::idem_store(&mut tx, ctx, idem, &claim).await?;
                tx.commit().await?;
                Ok(Replayed { value: claim, replayed: false })
            }

            /// An issued claim with its single-use code; the code.
            #[allow(clippy::too_many_arguments)]
            async fn insert_claim<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                claim_id: &str,
                reward_id: &str,
                customer_id: &str,
                def: &vafa_core::rewards::RewardDef,
                points: i64,
                entry_id: &str,
            ) -> Result<String> {
                use rand::SeedableRng;
                let expires_at = ctx
                    .now
                    .checked_add(jiff::SignedDuration::from_hours(24 * i64::from(def.code_valid_days)))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let fulfilment = matches!(def.kind, vafa_core::rewards::RewardKind::PhysicalGift).then_some("pending");
                let mut rng = rand::rngs::StdRng::from_entropy();
                // 32¹⁰ codes: a clash is all but impossible, and is drawn again if it happens.
                let mut code = vafa_core::coupons::generate(crate::sql::rewards::CLAIM_PATTERN, &mut rng);
                for _ in 0..5 {
                    let taken: Option<(String,)> = db::query("SELECT id FROM reward_claims WHERE program_id = $1 AND code = $2")
                        .bind(&ctx.program_id)
                        .bind(&code)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if taken.is_none() {
                        break;
                    }
                    code = vafa_core::coupons::generate(crate::sql::rewards::CLAIM_PATTERN, &mut rng);
                }
                db::query(
                    "INSERT INTO reward_claims (id, program_id, reward_id, customer_id, code, points, entry_id, status, fulfilment, expires_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'issued', $8, $9, $10)",
                )
                .bind(claim_id)
                .bind(&ctx.program_id)
                .bind(reward_id)
                .bind(customer_id)
                .bind(&code)
                .bind(points)
                .bind(entry_id)
                .bind(fulfilment)
                .bind(micros(expires_at))
                .bind(micros(ctx.now))
                .execute(&mut *conn)
                .await?;
                Ok(code)
            }

            /// The rewards the rules gave (`issue_reward`): claims free of points — the
            /// campaign pays — as many as asked while the stock lasts, whatever the
            /// reward's tier restriction and per-customer limit (the campaign's audience
            /// and caps decide who gets it). Called under the customer's lock, as a claim
            /// is, with rewards locked in id order. `entry_id`
            /// is the journal entry the claims came with ("" for an event without one).
            pub(crate) async fn issue_rule_rewards<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                customer_id: &str,
                eval: &vafa_core::rules::Evaluation,
                entry_id: &str,
            ) -> Result<Vec<crate::rewards_model::IssuedReward>> {
                // One row per reward, taken in id order: two purchases whose rules give the
                // same rewards lock them in the same order.
                let mut wanted: std::collections::BTreeMap<&String, i64> = std::collections::BTreeMap::new();
                for award in eval.fired.iter().flat_map(|f| &f.awards) {
                    if let vafa_core::rules::Award::Reward { reward, quantity } = award {
                        *wanted.entry(reward).or_default() += quantity;
                    }
                }
                let mut out = Vec::new();
                for (reward, quantity) in wanted {
                    let quantity = &quantity;
                    let sql = format!("SELECT definition, stock_left, status FROM rewards WHERE program_id = $1 AND id = $2{}", $lock);
                    let row: Option<(String, Option<i64>, String)> =
                        db::query(sql).bind(&ctx.program_id).bind(reward).fetch_optional(&mut *conn).await?;
                    let mut issued = crate::rewards_model::IssuedReward {
                        reward_id: reward.clone(),
                        requested: *quantity,
                        claims: Vec::new(),
                        short: None,
                    };
                    let (def, stock, status) = match row {
                        Some(r) => r,
                        None => {
                            issued.short = Some("no such reward".into());
                            out.push(issued);
                            continue;
                        }
                    };
                    let def: vafa_core::rewards::RewardDef = decode_def(&def)?;
                    let why = if status != "active" { Some("the reward is retired".to_owned()) } else { def.unavailable(ctx.now) };
                    if let Some(why) = why {
                        issued.short = Some(why);
                        out.push(issued);
                        continue;
                    }
                    let n = match stock {
                        Some(left) => (*quantity).min(left.max(0)),
                        None => *quantity,
                    };
                    if n < *quantity {
                        issued.short = Some("the reward is out of stock".into());
                    }
                    if stock.is_some() && n > 0 {
                        db::query("UPDATE rewards SET stock_left = stock_left - $1, updated_at = $2 WHERE id = $3")
                            .bind(n)
                            .bind(micros(ctx.now))
                            .bind(reward)
                            .execute(&mut *conn)
                            .await?;
                    }
                    for _ in 0..n {
                        let claim_id = new_id("rcl");
                        let code = Self::insert_claim(&mut *conn, ctx, &claim_id, reward, customer_id, &def, 0, entry_id).await?;
                        issued.claims.push(crate::rewards_model::IssuedClaim { claim_id, code });
                    }
                    out.push(issued);
                }
                Ok(out)
            }

            /// The coupons the rules gave (`issue_coupon`): the next code of a unique batch
            /// not yet handed out or used, now the customer's; a shared batch's code.
            pub(crate) async fn issue_rule_coupons<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                customer_id: &str,
                eval: &vafa_core::rules::Evaluation,
                entry_id: &str,
            ) -> Result<Vec<crate::coupons_model::IssuedCoupon>> {
                let mut out = Vec::new();
                for award in eval.fired.iter().flat_map(|f| &f.awards) {
                    let vafa_core::rules::Award::Coupon { batch } = award else { continue };
                    let mut issued = crate::coupons_model::IssuedCoupon { batch_id: batch.clone(), code: None, short: None };
                    let row: Option<(String, String, String)> =
                        db::query("SELECT kind, status, rules FROM coupon_batches WHERE program_id = $1 AND id = $2")
                            .bind(&ctx.program_id)
                            .bind(batch)
                            .fetch_optional(&mut *conn)
                            .await?;
                    // A code that could not be used now is not handed out.
                    let usable = match &row {
                        None => Err("no such coupon batch"),
                        Some((_, status, _)) if status != "ready" => Err("the batch is still being generated"),
                        Some((_, _, rules)) => {
                            let rules: vafa_core::coupons::CouponRules = decode_def(rules)?;
                            if rules.valid_until.is_some_and(|u| ctx.now >= u) {
                                Err("the batch's codes have expired")
                            } else {
                                Ok(())
                            }
                        }
                    };
                    if let Err(why) = usable {
                        issued.short = Some(why.into());
                        out.push(issued);
                        continue;
                    }
                    match row.as_ref().map(|k| k.0.as_str()) {
                        None => issued.short = Some("no such coupon batch".into()),
                        Some("shared") => {
                            let code: Option<(String,)> = db::query(
                                "SELECT code FROM coupon_codes WHERE program_id = $1 AND batch_id = $2 \
                                 AND (max_uses IS NULL OR uses < max_uses)",
                            )
                            .bind(&ctx.program_id)
                            .bind(batch)
                            .fetch_optional(&mut *conn)
                            .await?;
                            issued.code = code.map(|c| c.0);
                        }
                        Some(_) => {
                            // Another purchase may take the same code meanwhile: the guarded
                            // update says which won, and the loser looks again.
                            for _ in 0..5 {
                                // PostgreSQL: each purchase takes a code no other is handing
                                // out (SQLite has one writer, nobody to skip).
                                let skip = if $lock.is_empty() { "" } else { " FOR UPDATE SKIP LOCKED" };
                                let next: Option<(String,)> = db::query(format!(
                                    "SELECT code FROM coupon_codes WHERE batch_id = $1 AND issued_to IS NULL AND uses = 0 ORDER BY code LIMIT 1{skip}"
                                ))
                                .bind(batch)
                                .fetch_optional(&mut *conn)
                                .await?;
                                let Some((code,)) = next else { break };
                                let took = db::query(
                                    "UPDATE coupon_codes SET issued_to = $1, issued_at = $2, issued_entry = $5 \
                                     WHERE program_id = $3 AND code = $4 AND issued_to IS NULL AND uses = 0",
                                )
                                .bind(customer_id)
                                .bind(micros(ctx.now))
                                .bind(&ctx.program_id)
                                .bind(&code)
                                .bind(entry_id)
                                .execute(&mut *conn)
                                .await?;
                                if took == 1 {
                                    issued.code = Some(code);
                                    break;
                                }
                            }
                        }
                    }
                    if issued.code.is_none() && issued.short.is_none() {
                        issued.short = Some("the batch has no codes left to give".into());
                    }
                    out.push(issued);
                }
                Ok(out)
            }

            /// Cancel unused claims (id, reward), each unit back in its reward's stock; the
            /// points they cost are not given back here. The caller holds the rewards' rows
            /// in id order.
            pub(crate) async fn cancel_unused_claims<C: Db>(
                conn: &mut C,
                claims: &[(String, String)],
                now: jiff::Timestamp,
                reason: &str,
            ) -> Result<()> {
                for (id, reward) in claims {
                    let n = db::query(
                        "UPDATE reward_claims SET status = 'cancelled', cancelled_at = $1, cancel_reason = $2 WHERE id = $3 AND status = 'issued'",
                    )
                    .bind(micros(now))
                    .bind(reason)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    if n == 1 {
                        db::query("UPDATE rewards SET stock_left = stock_left + 1 WHERE id = $1 AND stock_left IS NOT NULL")
                            .bind(reward)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                Ok(())
            }

            /// What the rules gave with a purchase that has now come back whole: its
            /// unused claims are cancelled (their stock returns; a gift already shipped
            /// stays) and its unused coupon codes can no longer be used. The claim ids and
            /// the codes. Before any account is locked, as a claim takes a reward's row.
            pub(crate) async fn withdraw_rule_awards<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                customer_id: &str,
                entry_id: &str,
            ) -> Result<(Vec<String>, Vec<String>)> {
                let sql = format!(
                    "SELECT id, reward_id FROM reward_claims WHERE program_id = $1 AND customer_id = $2 AND entry_id = $3 \
                     AND points = 0 AND status = 'issued' AND (fulfilment IS NULL OR fulfilment IN ('pending', 'packed')) \
                     ORDER BY reward_id, id{}",
                    $lock
                );
                let claims: Vec<(String, String)> =
                    db::query(sql).bind(&ctx.program_id).bind(customer_id).bind(entry_id).fetch_all(&mut *conn).await?;
                Self::cancel_unused_claims(&mut *conn, &claims, ctx.now, "the purchase was returned").await?;
                let codes: Vec<(String,)> = db::query(
                    "SELECT code FROM coupon_codes WHERE program_id = $1 AND issued_to = $2 AND issued_entry = $3 AND uses = 0",
                )
                .bind(&ctx.program_id)
                .bind(customer_id)
                .bind(entry_id)
                .fetch_all(&mut *conn)
                .await?;
                // Voided, not put back: the customer has seen the code.
                db::query("UPDATE coupon_codes SET max_uses = 0 WHERE program_id = $1 AND issued_to = $2 AND issued_entry = $3 AND uses = 0")
                    .bind(&ctx.program_id)
                    .bind(customer_id)
                    .bind(entry_id)
                    .execute(&mut *conn)
                    .await?;
                Ok((claims.into_iter().map(|c| c.0).collect(), codes.into_iter().map(|c| c.0).collect()))
            }

            pub(crate) async fn use_reward_code_op(&self, ctx: &Ctx, code: &str) -> Result<RewardClaim> {
                let mut tx = self.begin_write().await?;
                let holder = Self::claim_by(&mut tx, &ctx.program_id, "code", code).await?.ok_or(StoreError::NotFound("reward code"))?;
                // An erased customer's claims died with the record: nobody may redeem them.
                if let closed @ CustomerStatus::Erased = Self::lock_customer(&mut tx, &ctx.program_id, &holder.customer_id).await? {
                    return Err(StoreError::CustomerClosed(closed.as_str()));
                }
                // A physical gift's code used at the counter is the gift handed over.
                let n = sqlx::query(
                    "UPDATE reward_claims SET status = 'used', used_at = $1, \
                     fulfilment = CASE WHEN fulfilment IS NULL THEN NULL ELSE 'delivered' END \
                     WHERE program_id = $2 AND code = $3 AND status = 'issued' AND expires_at > $1",
                )
                .bind(micros(ctx.now))
                .bind(&ctx.program_id)
                .bind(code)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let claim = Self::claim_by(&mut tx, &ctx.program_id, "code", code).await?.ok_or(StoreError::NotFound("reward code"))?;
                if n != 1 {
                    return Err(StoreError::ClaimNotUsable(match claim.status.as_str() {
                        "used" => "this reward code was already used".into(),
                        "cancelled" => "this reward claim was cancelled".into(),
                        _ => format!("this reward code expired at {}", claim.expires_at),
                    }));
                }
                Self::audit(&mut tx, ctx, "reward.used", "reward_claim", &claim.id, serde_json::json!({"code": code})).await?;
                tx.commit().await?;
                Ok(claim)
            }

            pub(crate) async fn cancel_reward_claim_op(&self, ctx: &Ctx, claim_id: &str, reason: &str) -> Result<RewardClaim> {
                let mut tx = self.begin_write().await?;
                let (program, settings) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                let mut claim = Self::claim_by(&mut tx, &ctx.program_id, "id", claim_id).await?.ok_or(StoreError::NotFound("claim"))?;
                // The customer's lock first, as every value change takes it; a merge may have
                // moved the claim to the survivor meanwhile: then its lock too.
                loop {
                    let status = Self::lock_customer(&mut tx, &ctx.program_id, &claim.customer_id).await?;
                    let now = Self::claim_by(&mut tx, &ctx.program_id, "id", claim_id).await?.ok_or(StoreError::NotFound("claim"))?;
                    if now.customer_id == claim.customer_id {
                        // Points given back to an erased record would be nobody's.
                        if let closed @ CustomerStatus::Erased = status {
                            return Err(StoreError::CustomerClosed(closed.as_str()));
                        }
                        break;
                    }
                    claim = now;
                }
                if matches!(claim.fulfilment.as_deref(), Some("shipped" | "delivered")) {
                    return Err(StoreError::ClaimNotUsable(format!(
                        "a gift already {} cannot be cancelled",
                        claim.fulfilment.as_deref().unwrap_or_default()
                    )));
                }
                let n = sqlx::query(
                    "UPDATE reward_claims SET status = 'cancelled', cancelled_at = $1, cancel_reason = $2 \
                     WHERE program_id = $3 AND id = $4 AND status = 'issued' AND (fulfilment IS NULL OR fulfilment IN ('pending', 'packed'))",
                )
                .bind(micros(ctx.now))
                .bind(reason)
                .bind(&ctx.program_id)
                .bind(claim_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n != 1 {
                    return Err(StoreError::ClaimNotUsable(format!("only an unused claim can be cancelled; this one is {}", claim.status)));
                }
                // The reward's row before any account, in the order claiming takes them.
                sqlx::query("UPDATE rewards SET stock_left = stock_left + 1 WHERE id = $1 AND stock_left IS NOT NULL")
                    .bind(&claim.reward_id)
                    .execute(&mut *tx)
                    .await?;
                if claim.points == 0 {
                    // A reward the rules gave cost nothing: there are no points to return.
                    Self::audit(&mut tx, ctx, "reward.cancelled", "reward_claim", claim_id, serde_json::json!({"reason": reason, "points": 0})).await?;
                    let claim = Self::claim_by(&mut tx, &ctx.program_id, "id", claim_id).await?.ok_or(StoreError::NotFound("claim"))?;
                    tx.commit().await?;
                    return Ok(claim);
                }
                // The points come back as a new lot, expiring when the latest of the lots
                // they were spent from would have: given back, never given longer (a claim
                // and its cancel had renewed points about to expire by a whole year).
                let acct = AccountSpec::customer_points(&claim.customer_id);
                let row = Self::lock_account(&mut tx, &ctx.program_id, &acct, ctx.now).await?;
                let expires = match Self::spent_lots_expiry(&mut tx, &claim.entry_id, None).await? {
                    Some(at) => at,
                    // Spent from no lot (a ledger from elsewhere): the policy from now.
                    None => {
                        let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        settings.expiry.expires_at(ctx.now, &tz)
                    }
                };
                let lot = Self::new_lot(&mut tx, ctx, &row.id, None, claim.points, ctx.now, expires).await?;
                // Points already past their expiry pay nothing: the next expiry run takes them.
                let paid = match expires.is_some_and(|at| at <= ctx.now) {
                    true => 0,
                    false => claim.points.min(row.debt.max(0)),
                };
                let mut legs = vec![
                    Leg::lot(acct.clone(), claim.points, &lot),
                    Leg::new(AccountSpec::program("redeemed", POINTS, &claim.customer_id), -claim.points),
                ];
                if paid > 0 {
                    legs.push(Leg::lot(acct.clone(), -paid, &lot));
                    legs.push(Leg::new(acct, paid));
                }
                let explanation = serde_json::json!({"claim_id": claim_id, "reward_id": claim.reward_id, "points": claim.points, "reason": reason});
                let entry_id = Self::post_entry(&mut tx, ctx, "reward_cancel", Some(&claim.customer_id), None, explanation, &legs).await?;
                sqlx::query("UPDATE lots SET entry_id = $1 WHERE id = $2").bind(&entry_id).bind(&lot).execute(&mut *tx).await?;
                sqlx::query("UPDATE reward_claims SET refund_entry_id = $1 WHERE id = $2").bind(&entry_id).bind(claim_id).execute(&mut *tx).await?;
                Self::audit(&mut tx, ctx, "reward.cancelled", "reward_claim", claim_id, serde_json::json!({"reason": reason, "points": claim.points})).await?;
                let claim = Self::claim_by(&mut tx, &ctx.program_id, "id", claim_id).await?.ok_or(StoreError::NotFound("claim"))?;
                tx.commit().await?;
                Ok(claim)
            }

            pub(crate) async fn set_reward_fulfilment_op(&self, ctx: &Ctx, claim_id: &str, status: &str) -> Result<RewardClaim> {
                let mut tx = self.begin_write().await?;
                let before = Self::claim_by(&mut tx, &ctx.program_id, "id", claim_id).await?.ok_or(StoreError::NotFound("claim"))?;
                let Some(from) = before.fulfilment.as_deref().filter(|_| before.status != "cancelled") else {
                    return Err(StoreError::ClaimNotUsable("only a physical gift that is not cancelled has a fulfilment status".into()));
                };
                // Forward only, steps may be skipped (a gift handed over at the counter is
                // delivered from pending); the same step again changes nothing.
                let step = |s: &str| vafa_core::rewards::FULFILMENT.iter().position(|f| *f == s);
                if step(status) < step(from) {
                    return Err(StoreError::ClaimNotUsable(format!("this gift is {from} already; it cannot go back to {status}")));
                }
                if status == from {
                    tx.commit().await?;
                    return Ok(before);
                }
                // Delivered is used: its code is spent and the claim can no longer be cancelled.
                let n = sqlx::query(
                    "UPDATE reward_claims SET fulfilment = $1, \
                     status = CASE WHEN $1 = 'delivered' AND status = 'issued' THEN 'used' ELSE status END, \
                     used_at = CASE WHEN $1 = 'delivered' AND status = 'issued' THEN $4 ELSE used_at END \
                     WHERE program_id = $2 AND id = $3 AND fulfilment = $5 AND status <> 'cancelled'",
                )
                .bind(status)
                .bind(&ctx.program_id)
                .bind(claim_id)
                .bind(micros(ctx.now))
                .bind(from)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let claim = Self::claim_by(&mut tx, &ctx.program_id, "id", claim_id).await?.ok_or(StoreError::NotFound("claim"))?;
                if n != 1 {
                    return Err(StoreError::ClaimNotUsable("the claim changed meanwhile; read it and try again".into()));
                }
                Self::audit(&mut tx, ctx, "reward.fulfilment", "reward_claim", claim_id, serde_json::json!({"fulfilment": status})).await?;
                tx.commit().await?;
                Ok(claim)
            }

            pub(crate) async fn customer_reward_claims_op(&self, program_id: &str, customer_id: &str) -> Result<Vec<RewardClaim>> {
                let mut conn = self.read.acquire().await?;
                let sql = format!("{} WHERE c.program_id = $1 AND c.customer_id = $2 ORDER BY c.created_at DESC, c.id DESC", crate::sql::rewards::CLAIM_SELECT);
                let rows: Vec<crate::sql::rewards::ClaimRow> =
                    sqlx::query_as(&sql).bind(program_id).bind(customer_id).fetch_all(&mut *conn).await?;
                rows.into_iter().map(crate::sql::rewards::claim_of).collect()
            }

            pub(crate) async fn get_reward_claim_op(&self, program_id: &str, claim_id: &str) -> Result<Option<RewardClaim>> {
                let mut conn = self.read.acquire().await?;
                Self::claim_by(&mut conn, program_id, "id", claim_id).await
            }
        }
    };
}

pub(crate) use reward_ops;
