//! Coupon batches, code generation in chunks, checks and single-use redemption.

/// Codes inserted per transaction while generating a batch.
pub(crate) const CODE_CHUNK: usize = 1000;

/// (id, name, kind, pattern, rules, requested, generated, status, created_at, used)
pub(crate) type BatchRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    String,
    i64,
    i64,
);

pub(crate) const BATCH_SELECT: &str = "SELECT b.id, b.name, b.kind, b.pattern, b.rules, b.requested, b.generated, b.status, b.created_at, \
     (SELECT CAST(COALESCE(SUM(c.uses), 0) AS BIGINT) FROM coupon_codes c WHERE c.batch_id = b.id) FROM coupon_batches b";

pub(crate) fn batch_of(r: BatchRow) -> Result<crate::CouponBatch, crate::StoreError> {
    Ok(crate::CouponBatch {
        id: r.0,
        name: r.1,
        kind: r.2,
        pattern: r.3,
        rules: crate::sql::rules::decode_def(&r.4)?,
        requested: r.5,
        generated: r.6,
        status: r.7,
        created_at: crate::sql::from_micros(r.8)?,
        used: r.9,
    })
}

macro_rules! coupon_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            pub(crate) async fn create_coupon_batch_op(
                &self,
                ctx: &Ctx,
                b: &NewCouponBatch,
                progress: &(dyn Fn(u64) + Send + Sync),
            ) -> Result<CouponBatch> {
                use rand::SeedableRng;
                let id = new_id("cpb");
                let (kind, pattern, requested) = match &b.source {
                    CouponSource::Pattern { pattern, count } => ("unique", Some(pattern.clone()), i64::from(*count)),
                    CouponSource::Shared { .. } => ("shared", None, 1),
                };
                {
                    let mut tx = self.begin_write().await?;
                    Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                    sqlx::query(
                        "INSERT INTO coupon_batches (id, program_id, name, kind, pattern, rules, requested, generated, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'generating', $8)",
                    )
                    .bind(&id)
                    .bind(&ctx.program_id)
                    .bind(&b.name)
                    .bind(kind)
                    .bind(&pattern)
                    .bind(encode(&b.rules)?)
                    .bind(requested)
                    .bind(micros(ctx.now))
                    .execute(&mut *tx)
                    .await?;
                    if let CouponSource::Shared { code } = &b.source {
                        sqlx::query("INSERT INTO coupon_codes (program_id, code, batch_id, uses, max_uses) VALUES ($1, $2, $3, 0, $4)")
                            .bind(&ctx.program_id)
                            .bind(code)
                            .bind(&id)
                            .bind(b.rules.max_uses_total)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| match &e {
                                sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::DuplicateCouponCode,
                                _ => StoreError::Database(e),
                            })?;
                        sqlx::query("UPDATE coupon_batches SET generated = 1, status = 'ready' WHERE id = $1")
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Self::audit(&mut tx, ctx, "coupons.batch_created", "coupon_batch", &id, serde_json::json!({
                        "name": b.name, "kind": kind, "pattern": pattern, "requested": requested, "rules": b.rules,
                    })).await?;
                    tx.commit().await?;
                }
                if let CouponSource::Pattern { pattern, count } = &b.source {
                    let count = u64::from(*count);
                    let mut rng = rand::rngs::StdRng::from_entropy();
                    let mut generated = 0u64;
                    let mut thin = 0;
                    while generated < count {
                        let want = (count - generated).min(crate::sql::coupons::CODE_CHUNK as u64) as usize;
                        let mut codes = std::collections::BTreeSet::new();
                        while codes.len() < want {
                            codes.insert(vafa_core::coupons::generate(pattern, &mut rng));
                        }
                        let mut tx = self.begin_write().await?;
                        let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO coupon_codes (program_id, code, batch_id, uses, max_uses) ");
                        q.push_values(codes.iter(), |mut r, code| {
                            r.push_bind(ctx.program_id.clone()).push_bind(code.clone()).push_bind(id.clone()).push("0").push("1");
                        });
                        q.push(" ON CONFLICT (program_id, code) DO NOTHING");
                        let added = q.build().execute(&mut *tx).await?.rows_affected();
                        generated += added;
                        sqlx::query("UPDATE coupon_batches SET generated = $1 WHERE id = $2")
                            .bind(generated as i64)
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        progress(generated);
                        // Collisions only grow as the pattern's space fills: stop rather
                        // than spin when most draws are taken.
                        thin = if (added as usize) * 2 < want { thin + 1 } else { 0 };
                        if thin >= 5 {
                            return Err(StoreError::CouponNotApplicable(format!(
                                "the pattern {pattern} has too few unused codes left: {generated} of {count} generated"
                            )));
                        }
                    }
                    let mut tx = self.begin_write().await?;
                    sqlx::query("UPDATE coupon_batches SET status = 'ready' WHERE id = $1").bind(&id).execute(&mut *tx).await?;
                    tx.commit().await?;
                }
                self.get_coupon_batch_op(&ctx.program_id, &id).await?.ok_or(StoreError::NotFound("coupon batch"))
            }

            pub(crate) async fn list_coupon_batches_op(&self, program_id: &str) -> Result<Vec<CouponBatch>> {
                let mut conn = self.read.acquire().await?;
                let sql = format!("{} WHERE b.program_id = $1 ORDER BY b.id DESC", crate::sql::coupons::BATCH_SELECT);
                let rows: Vec<crate::sql::coupons::BatchRow> = sqlx::query_as(&sql).bind(program_id).fetch_all(&mut *conn).await?;
                rows.into_iter().map(crate::sql::coupons::batch_of).collect()
            }

            pub(crate) async fn get_coupon_batch_op(&self, program_id: &str, id: &str) -> Result<Option<CouponBatch>> {
                let mut conn = self.read.acquire().await?;
                let sql = format!("{} WHERE b.program_id = $1 AND b.id = $2", crate::sql::coupons::BATCH_SELECT);
                let row: Option<crate::sql::coupons::BatchRow> =
                    sqlx::query_as(&sql).bind(program_id).bind(id).fetch_optional(&mut *conn).await?;
                row.map(crate::sql::coupons::batch_of).transpose()
            }

            pub(crate) async fn coupon_codes_op(&self, program_id: &str, batch_id: &str, after: &str, limit: u32) -> Result<Vec<(String, i64)>> {
                let mut conn = self.read.acquire().await?;
                Ok(sqlx::query_as(
                    "SELECT code, uses FROM coupon_codes WHERE program_id = $1 AND batch_id = $2 AND code > $3 ORDER BY code LIMIT $4",
                )
                .bind(program_id)
                .bind(batch_id)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await?)
            }

            /// The discount `code` gives, after every limit but the code's own uses.
            async fn coupon_terms<C: Db>(
                conn: &mut C,
                program_id: &str,
                code: &str,
                customer_id: Option<&str>,
                cart: &CouponCart,
                at: jiff::Timestamp,
                lock: bool,
            ) -> Result<CouponUse> {
                let sql = format!(
                    "SELECT c.batch_id, c.uses, c.max_uses, b.rules, c.issued_to FROM coupon_codes c JOIN coupon_batches b ON b.id = c.batch_id \
                     WHERE c.program_id = $1 AND c.code = $2{}",
                    // Only the code's row: locking the batch too would queue every use of it.
                    if lock { $lock.replace("FOR UPDATE", "FOR UPDATE OF c") } else { String::new() }
                );
                let row: Option<(String, i64, Option<i64>, String, Option<String>)> =
                    db::query(&sql).bind(program_id).bind(code).fetch_optional(&mut *conn).await?;
                let (batch_id, uses, max_uses, rules, issued_to) = row.ok_or(StoreError::NotFound("coupon"))?;
                let rules: vafa_core::coupons::CouponRules = decode_def(&rules)?;
                // A code a campaign handed to one customer is theirs: a cashier typing it
                // for someone else is refused. (A merge moves it to the survivor.)
                if let (Some(owner), Some(customer)) = (issued_to.as_deref(), customer_id) {
                    if owner != customer {
                        return Err(StoreError::CouponNotApplicable(
                            "this code was given to another customer".to_owned(),
                        ));
                    }
                }
                if max_uses.is_some_and(|m| uses >= m) {
                    return Err(StoreError::CouponUsedUp);
                }
                let discount = vafa_core::coupons::discount_for(&rules, &cart.lines, &cart.values, cart.total_minor, at)
                    .map_err(|e| StoreError::CouponNotApplicable(e.to_string()))?;
                if let (Some(limit), Some(customer)) = (rules.max_uses_per_customer, customer_id) {
                    let (n,): (i64,) = db::query(
                        "SELECT COUNT(*) FROM coupon_uses WHERE program_id = $1 AND batch_id = $2 AND customer_id = $3",
                    )
                    .bind(program_id)
                    .bind(&batch_id)
                    .bind(customer)
                    .fetch_one(&mut *conn)
                    .await?;
                    if n >= limit {
                        return Err(StoreError::CouponNotApplicable(format!(
                            "this customer has used this coupon {n} times; the most allowed is {limit}"
                        )));
                    }
                }
                Ok(CouponUse {
                    id: String::new(),
                    code: code.to_owned(),
                    batch_id,
                    customer_id: customer_id.map(str::to_owned),
                    purchase_id: None,
                    discount_minor: discount,
                    uses,
                    max_uses,
                    at,
                    lines: vafa_core::coupons::discounted_lines(&rules, &cart.lines),
                })
            }

            /// After a use is recorded: refuse it if the customer is now over the batch's
            /// per-customer limit (several codes of one batch in one purchase).
            pub(crate) async fn coupon_customer_limit<C: Db>(
                conn: &mut C,
                program_id: &str,
                code: &str,
                customer_id: &str,
            ) -> Result<()> {
                let row: Option<(String, String)> = db::query(
                    "SELECT b.id, b.rules FROM coupon_codes c JOIN coupon_batches b ON b.id = c.batch_id WHERE c.program_id = $1 AND c.code = $2",
                )
                .bind(program_id)
                .bind(code)
                .fetch_optional(&mut *conn)
                .await?;
                let (batch_id, rules) = row.ok_or(StoreError::NotFound("coupon"))?;
                let rules: vafa_core::coupons::CouponRules = decode_def(&rules)?;
                if let Some(limit) = rules.max_uses_per_customer {
                    let (n,): (i64,) = db::query(
                        "SELECT COUNT(*) FROM coupon_uses WHERE program_id = $1 AND batch_id = $2 AND customer_id = $3",
                    )
                    .bind(program_id)
                    .bind(&batch_id)
                    .bind(customer_id)
                    .fetch_one(&mut *conn)
                    .await?;
                    if n > limit {
                        return Err(StoreError::CouponNotApplicable(format!(
                            "this customer may use this coupon {limit} times; this purchase would make {n}"
                        )));
                    }
                }
                Ok(())
            }

            pub(crate) async fn check_coupon_op(
                &self,
                program_id: &str,
                code: &str,
                customer_id: Option<&str>,
                cart: &CouponCart,
                at: jiff::Timestamp,
            ) -> Result<CouponUse> {
                let mut conn = self.read.acquire().await?;
                if let Some(c) = customer_id {
                    if Self::load_customer(&mut conn, program_id, c, false).await?.is_none() {
                        return Err(StoreError::NotFound("customer"));
                    }
                }
                Self::coupon_terms(&mut conn, program_id, code, customer_id, cart, at, false).await
            }

            pub(crate) async fn redeem_coupon_op(
                &self,
                ctx: &Ctx,
                code: &str,
                customer_id: &str,
                cart: &CouponCart,
                purchase_id: Option<&str>,
                idem: Option<&Idempotency>,
            ) -> Result<Replayed<CouponUse>> {
                let mut tx = self.begin_write().await?;
                if let Some(value) = Self::idem_lookup(&mut tx, &ctx.program_id, idem).await? {
                    tx.commit().await?;
                    return Ok(Replayed { value, replayed: true });
                }
                // The customer's lock orders their uses (the per-customer limit); the
                // conditional increment below is what makes a code's last use single.
                Self::active_customer(&mut tx, &ctx.program_id, customer_id).await?;
                if let Some(p) = purchase_id {
                    let owner: Option<(String,)> = sqlx::query_as("SELECT customer_id FROM purchases WHERE program_id = $1 AND id = $2")
                        .bind(&ctx.program_id)
                        .bind(p)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if owner.map(|o| o.0).as_deref() != Some(customer_id) {
                        return Err(StoreError::NotFound("purchase"));
                    }
                }
                let mut u = Self::coupon_terms(&mut tx, &ctx.program_id, code, Some(customer_id), cart, ctx.now, true).await?;
                let taken = sqlx::query(
                    "UPDATE coupon_codes SET uses = uses + 1 WHERE program_id = $1 AND code = $2 AND (max_uses IS NULL OR uses < max_uses)",
                )
                .bind(&ctx.program_id)
                .bind(code)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if taken != 1 {
                    return Err(StoreError::CouponUsedUp);
                }
                u.id = new_id("cpu");
                u.uses += 1;
                u.purchase_id = purchase_id.map(str::to_owned);
                sqlx::query(
                    "INSERT INTO coupon_uses (id, program_id, code, batch_id, customer_id, purchase_id, discount_minor, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&u.id)
                .bind(&ctx.program_id)
                .bind(code)
                .bind(&u.batch_id)
                .bind(customer_id)
                .bind(&u.purchase_id)
                .bind(u.discount_minor)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                Self::idem_store(&mut tx, ctx, idem, &u).await?;
                tx.commit().await?;
                Ok(Replayed { value: u, replayed: false })
            }
        }
    };
}

pub(crate) use coupon_ops;
