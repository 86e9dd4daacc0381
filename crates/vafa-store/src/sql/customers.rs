//! Customer operations: create, update, find, erase, merge.

pub(crate) const CUSTOMER_COLUMNS: &str = "id, program_id, status, first_name, last_name, honorific, mobile, \
     email, birth_date, marriage_date, gender, city, occupation, national_id, external_id, attributes, \
     merged_into, created_at, updated_at, erased_at";

/// Inherent customer operations of `SqlStore<$db>`; `$lock` is the row-lock suffix of a
/// read that precedes a write (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
/// already holds the database's one write lock).
macro_rules! customer_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            pub(crate) async fn load_customers<C: Db>(
                conn: &mut C,
                rows: Vec<CustomerRow>,
            ) -> Result<Vec<Customer>> {
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let list = (1..=rows.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                let mut tq = db::query(format!("SELECT customer_id, tag FROM customer_tags WHERE customer_id IN ({list}) ORDER BY tag"));
                let mut cq = db::query(format!(
                    "SELECT customer_id, channel, granted, at, source FROM customer_consents WHERE customer_id IN ({list})"
                ));
                for r in &rows {
                    tq = tq.bind(&r.id);
                    cq = cq.bind(&r.id);
                }
                let tags: Vec<TagRow> = tq.fetch_all(&mut *conn).await?;
                let consents: Vec<ConsentRow> = cq.fetch_all(&mut *conn).await?;
                rows.into_iter().map(|r| r.into_customer(&tags, &consents)).collect()
            }

            pub(crate) async fn load_customer<C: Db>(
                conn: &mut C,
                program_id: &str,
                id: &str,
                for_write: bool,
            ) -> Result<Option<Customer>> {
                let sql = format!(
                    "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE program_id = $1 AND id = $2{}",
                    if for_write { $lock } else { "" }
                );
                let row: Option<CustomerRow> =
                    db::query(&sql).bind(program_id).bind(id).fetch_optional(&mut *conn).await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Self::load_customers(conn, vec![row]).await?.pop())
            }

            /// Load for a change: it must exist and be open (active or blocked).
            pub(crate) async fn open_customer(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                id: &str,
            ) -> Result<Customer> {
                let c = Self::load_customer(conn, program_id, id, true)
                    .await?
                    .ok_or(StoreError::NotFound("customer"))?;
                if !c.is_open() {
                    return Err(StoreError::CustomerClosed(c.status.as_str()));
                }
                Ok(c)
            }

            /// The live customer a merged duplicate's former mobile, external id or
            /// national id (`kind`) names: its survivor, unless erased.
            pub(crate) async fn alias_of<C: Db>(conn: &mut C, program_id: &str, kind: &str, value: &str) -> Result<Option<String>> {
                let row: Option<(String,)> = db::query(
                    "SELECT COALESCE(c.merged_into, c.id) FROM customer_aliases a JOIN customers c ON c.id = a.customer_id \
                     WHERE a.program_id = $1 AND a.kind = $2 AND a.value = $3 AND c.status <> 'erased'",
                )
                .bind(program_id)
                .bind(kind)
                .bind(value)
                .fetch_optional(&mut *conn)
                .await?;
                Ok(row.map(|r| r.0))
            }

            /// A new or changed mobile, external id or national id (of those `touched`)
            /// that a merged duplicate of another customer had: the same person,
            /// registered again.
            async fn check_aliases<C: Db>(conn: &mut C, c: &Customer, touched: &[&str]) -> Result<()> {
                let ids = [
                    ("mobile", c.mobile.as_ref().map(|m| m.as_e164().to_owned()), StoreError::DuplicateMobile),
                    ("external_id", c.external_id.clone(), StoreError::DuplicateExternalId),
                    ("national_id", c.national_id.as_ref().map(|n| n.as_str().to_owned()), StoreError::DuplicateNationalId),
                ];
                for (kind, value, clash) in ids {
                    let Some(value) = value.filter(|_| touched.contains(&kind)) else { continue };
                    if Self::alias_of(&mut *conn, &c.program_id, kind, &value).await?.is_some_and(|owner| owner != c.id) {
                        return Err(clash);
                    }
                }
                Ok(())
            }

            /// Write the whole record (row, tags, consents) as it now is.
            pub(crate) async fn save_customer<C: Db>(
                conn: &mut C,
                c: &Customer,
                insert: bool,
            ) -> Result<()> {
                let sql = if insert {
                    format!(
                        "INSERT INTO customers ({CUSTOMER_COLUMNS}, search_name) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
                    )
                } else {
                    "UPDATE customers SET status = $3, first_name = $4, last_name = $5, honorific = $6, \
                     mobile = $7, email = $8, birth_date = $9, marriage_date = $10, gender = $11, city = $12, \
                     occupation = $13, national_id = $14, external_id = $15, attributes = $16, merged_into = $17, \
                     created_at = $18, updated_at = $19, erased_at = $20, search_name = $21 \
                     WHERE id = $1 AND program_id = $2"
                        .to_owned()
                };
                let attributes = serde_json::to_string(c.attributes.as_map())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                db::query(&sql)
                    .bind(&c.id)
                    .bind(&c.program_id)
                    .bind(c.status.as_str())
                    .bind(&c.first_name)
                    .bind(&c.last_name)
                    .bind(c.honorific.map(|h| h.as_str()))
                    .bind(c.mobile.as_ref().map(|m| m.as_e164()))
                    .bind(&c.email)
                    .bind(c.birth_date.map(|d| d.to_string()))
                    .bind(c.marriage_date.map(|d| d.to_string()))
                    .bind(c.gender.map(|g| g.as_str()))
                    .bind(&c.city)
                    .bind(&c.occupation)
                    .bind(c.national_id.as_ref().map(|n| n.as_str()))
                    .bind(&c.external_id)
                    .bind(attributes)
                    .bind(&c.merged_into)
                    .bind(micros(c.created_at))
                    .bind(micros(c.updated_at))
                    .bind(c.erased_at.map(micros))
                    .bind(Customer::search_name(c.first_name.as_deref(), c.last_name.as_deref()))
                    .execute(&mut *conn)
                    .await
                    .map_err(classify_error)?;
                db::query("DELETE FROM customer_tags WHERE customer_id = $1 AND program_id = $2")
                    .bind(&c.id)
                    .bind(&c.program_id)
                    .execute(&mut *conn)
                    .await?;
                for tag in &c.tags {
                    db::query("INSERT INTO customer_tags (program_id, customer_id, tag) VALUES ($1, $2, $3)")
                        .bind(&c.program_id)
                        .bind(&c.id)
                        .bind(tag.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                db::query("DELETE FROM customer_consents WHERE customer_id = $1 AND program_id = $2")
                    .bind(&c.id)
                    .bind(&c.program_id)
                    .execute(&mut *conn)
                    .await?;
                for (channel, consent) in [
                    (Channel::Sms, &c.consent_sms),
                    (Channel::Email, &c.consent_email),
                    (Channel::Call, &c.consent_call),
                ] {
                    let Some(consent) = consent else { continue };
                    db::query(
                        "INSERT INTO customer_consents (program_id, customer_id, channel, granted, at, source) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&c.program_id)
                    .bind(&c.id)
                    .bind(channel.as_str())
                    .bind(consent.granted)
                    .bind(micros(consent.at))
                    .bind(&consent.source)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }

            pub(crate) async fn create_customer_op(&self, ctx: &Ctx, profile: ProfilePatch) -> Result<Customer> {
                let mut c = Customer::new(new_id(ids::CUSTOMER), ctx.program_id.clone(), ctx.now);
                let fields = c.apply(profile, ctx.now);
                let mut tx = self.begin_write().await?;
                Self::check_aliases(&mut tx, &c, &fields).await?;
                Self::save_customer(&mut tx, &c, true).await?;
                let summary = serde_json::json!({ "fields": fields });
                Self::audit(&mut tx, ctx, "customer.created", "customer", &c.id, summary).await?;
                tx.commit().await?;
                Ok(c)
            }

            pub(crate) async fn update_customer_op(&self, ctx: &Ctx, id: &str, patch: ProfilePatch) -> Result<Customer> {
                let mut tx = self.begin_write().await?;
                let mut c = Self::open_customer(&mut tx, &ctx.program_id, id).await?;
                let known = c.has_identity();
                let fields = c.apply(patch, ctx.now);
                // Creating needs something to know the customer by; an update may not take
                // the last of it away (an anonymous card holder may stay anonymous).
                if known && !c.has_identity() {
                    return Err(StoreError::InvalidField {
                        field: "mobile".into(),
                        message: "a customer needs at least a mobile, a name, an e-mail or an external id".into(),
                    });
                }
                Self::check_aliases(&mut tx, &c, &fields).await?;
                Self::save_customer(&mut tx, &c, false).await?;
                let summary = serde_json::json!({ "fields": fields });
                Self::audit(&mut tx, ctx, "customer.updated", "customer", &c.id, summary).await?;
                tx.commit().await?;
                Ok(c)
            }

            pub(crate) async fn erase_customer_op(&self, ctx: &Ctx, id: &str) -> Result<Customer> {
                let mut tx = self.begin_write().await?;
                let mut c = Self::load_customer(&mut tx, &ctx.program_id, id, true)
                    .await?
                    .ok_or(StoreError::NotFound("customer"))?;
                if c.status == CustomerStatus::Erased {
                    // Erasing twice is the same request: answer with the erased record.
                    return Ok(c);
                }
                c.erase(ctx.now);
                Self::save_customer(&mut tx, &c, false).await?;
                // Unused rewards die with the record (a gift not yet shipped has nobody to
                // go to): cancelled, their stock back; the points they cost stay spent.
                // Before any account is locked, as a claim takes a reward's row.
                let open_claims = format!(
                    "SELECT id, reward_id FROM reward_claims WHERE program_id = $1 AND customer_id = $2 AND status = 'issued' \
                     AND (fulfilment IS NULL OR fulfilment IN ('pending', 'packed')) ORDER BY reward_id, id{}",
                    $lock
                );
                let claims: Vec<(String, String)> = sqlx::query_as(&open_claims).bind(&ctx.program_id).bind(&c.id).fetch_all(&mut *tx).await?;
                Self::cancel_unused_claims(&mut *tx, &claims, ctx.now, "the customer was erased").await?;
                let forfeited = Self::forfeit_value(&mut *tx, ctx, &c.id).await?;
                // Former mobiles and ids of merged records are personal data too.
                sqlx::query("DELETE FROM customer_aliases WHERE customer_id = $1 OR duplicate_id = $1").bind(&c.id).execute(&mut *tx).await?;
                // So are the records merged into this one (and into those): the same
                // person's names, e-mail and birthday, which would outlive the erasure.
                let mut merged = Vec::new();
                let mut into = vec![c.id.clone()];
                while let Some(survivor) = into.pop() {
                    let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM customers WHERE program_id = $1 AND merged_into = $2 AND erased_at IS NULL ORDER BY id")
                        .bind(&ctx.program_id)
                        .bind(&survivor)
                        .fetch_all(&mut *tx)
                        .await?;
                    for (id,) in ids {
                        if let Some(mut d) = Self::load_customer(&mut tx, &ctx.program_id, &id, true).await? {
                            d.erase_as_merged(ctx.now);
                            Self::save_customer(&mut tx, &d, false).await?;
                            merged.push(id.clone());
                        }
                        into.push(id);
                    }
                }
                let mut summary = match forfeited {
                    Some((points, cashback_minor)) => serde_json::json!({"forfeited_points": points, "forfeited_cashback_minor": cashback_minor}),
                    None => serde_json::json!({}),
                };
                if !merged.is_empty() {
                    summary["merged_records_erased"] = serde_json::json!(merged);
                }
                if !claims.is_empty() {
                    summary["claims_cancelled"] = serde_json::json!(claims.iter().map(|c| &c.0).collect::<Vec<_>>());
                }
                Self::audit(&mut tx, ctx, "customer.erased", "customer", &c.id, summary).await?;
                tx.commit().await?;
                Ok(c)
            }

            pub(crate) async fn merge_customers_op(&self, ctx: &Ctx, survivor_id: &str, duplicate_id: &str) -> Result<MergeOutcome> {
                if survivor_id == duplicate_id {
                    return Err(StoreError::MergeSelf);
                }
                let mut tx = self.begin_write().await?;
                // The duplicate's cards first: a purchase by card locks the card, then its
                // holder, and a merge that took the holder first would deadlock with it.
                let cards_first = format!("SELECT id FROM cards WHERE program_id = $1 AND customer_id = $2 ORDER BY id{}", $lock);
                let _: Vec<(String,)> = sqlx::query_as(&cards_first).bind(&ctx.program_id).bind(duplicate_id).fetch_all(&mut *tx).await?;
                // Lock in id order so two opposite merges cannot deadlock.
                let (first, second) = if survivor_id < duplicate_id { (survivor_id, duplicate_id) } else { (duplicate_id, survivor_id) };
                let a = Self::open_customer(&mut tx, &ctx.program_id, first).await?;
                let b = Self::open_customer(&mut tx, &ctx.program_id, second).await?;
                let (mut survivor, mut dup) = if a.id == survivor_id { (a, b) } else { (b, a) };
                // A block freezes the duplicate's points (no spending, no transfers): a
                // merge into an active record would free them.
                if dup.status == CustomerStatus::Blocked && survivor.status != CustomerStatus::Blocked {
                    return Err(StoreError::Conflict(
                        "the duplicate is blocked and its points are frozen: unblock it first, or block the survivor, to merge".into(),
                    ));
                }
                let known_as = [
                    ("mobile", dup.mobile.as_ref().map(|m| m.as_e164().to_owned())),
                    ("external_id", dup.external_id.clone()),
                    ("national_id", dup.national_id.as_ref().map(|n| n.as_str().to_owned())),
                ];
                let filled = survivor.absorb(&mut dup, ctx.now);
                // The duplicate gives up its unique identifiers before the survivor takes them.
                Self::save_customer(&mut tx, &dup, false).await?;
                Self::save_customer(&mut tx, &survivor, false).await?;
                // What the duplicate was known by and the survivor did not take stays a way
                // to find the survivor (an import naming the duplicate must not register
                // the person again); the duplicate's own aliases follow it.
                let taken = [
                    survivor.mobile.as_ref().map(|m| m.as_e164().to_owned()),
                    survivor.external_id.clone(),
                    survivor.national_id.as_ref().map(|n| n.as_str().to_owned()),
                ];
                for ((kind, value), kept) in known_as.iter().zip(&taken) {
                    let Some(value) = value.as_ref().filter(|v| Some(*v) != kept.as_ref()) else { continue };
                    sqlx::query(
                        "INSERT INTO customer_aliases (program_id, kind, value, customer_id, duplicate_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (program_id, kind, value) DO UPDATE SET customer_id = excluded.customer_id, duplicate_id = excluded.duplicate_id",
                    )
                    .bind(&ctx.program_id)
                    .bind(*kind)
                    .bind(value)
                    .bind(&survivor.id)
                    .bind(&dup.id)
                    .bind(micros(ctx.now))
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("UPDATE customer_aliases SET customer_id = $1 WHERE customer_id = $2")
                    .bind(&survivor.id)
                    .bind(&dup.id)
                    .execute(&mut *tx)
                    .await?;
                let moved_cards = Self::move_cards(&mut tx, ctx, &dup.id, &survivor.id).await?;
                let moved = Self::merge_value(&mut *tx, ctx, &dup.id, &survivor.id).await?;
                let summary = serde_json::json!({
                    "duplicate_id": dup.id,
                    "filled_fields": filled,
                    "moved_cards": moved_cards,
                    "moved_points": moved.points,
                    "moved_debt": moved.debt,
                    "moved_cashback_minor": moved.cashback_minor,
                    "moved_purchases": moved.purchases,
                    "entry_id": moved.entry_id,
                });
                Self::audit(&mut tx, ctx, "customer.merged", "customer", &survivor.id, summary).await?;
                tx.commit().await?;
                Ok(MergeOutcome { survivor, duplicate_id: dup.id, moved_cards, moved })
            }

            pub(crate) async fn list_customers_op(&self, program_id: &str, q: &CustomerQuery) -> Result<Page<Customer>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE program_id = "));
                b.push_bind(program_id);
                match q.status {
                    Some(s) => {
                        b.push(" AND status = ").push_bind(s.as_str());
                    }
                    None => {
                        b.push(" AND status IN ('active', 'blocked')");
                    }
                }
                // A merged duplicate's former mobile or external id finds its survivor.
                let alias = " OR id IN (SELECT COALESCE(c2.merged_into, c2.id) FROM customer_aliases a JOIN customers c2 ON c2.id = a.customer_id \
                              WHERE a.program_id = ";
                if let Some(m) = &q.mobile {
                    b.push(" AND (mobile = ").push_bind(m.as_e164().to_owned());
                    b.push(alias).push_bind(program_id).push(" AND a.kind = 'mobile' AND a.value = ").push_bind(m.as_e164().to_owned()).push("))");
                }
                if let Some(ext) = &q.external_id {
                    b.push(" AND (external_id = ").push_bind(ext.clone());
                    b.push(alias).push_bind(program_id).push(" AND a.kind = 'external_id' AND a.value = ").push_bind(ext.clone()).push("))");
                }
                if let Some(card) = &q.card {
                    b.push(" AND id IN (SELECT customer_id FROM cards WHERE program_id = ")
                        .push_bind(program_id)
                        .push(" AND number = ")
                        .push_bind(card.as_str().to_owned())
                        .push(")");
                }
                if let Some(tag) = &q.tag {
                    b.push(" AND id IN (SELECT customer_id FROM customer_tags WHERE program_id = ")
                        .push_bind(program_id)
                        .push(" AND tag = ")
                        .push_bind(tag.as_str().to_owned())
                        .push(")");
                }
                if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                    push_free_text::<$db>(&mut b, program_id, text);
                }
                if let Some(cursor) = &q.page.cursor {
                    b.push(" AND id < ").push_bind(cursor.clone());
                }
                let limit = q.page.limit();
                b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                let mut conn = self.read.acquire().await?;
                let mut rows: Vec<CustomerRow> = b.build_query_as().fetch_all(&mut *conn).await?;
                let next_cursor = page_cursor(&mut rows, limit, |r| r.id.clone());
                let items = Self::load_customers(&mut conn, rows).await?;
                Ok(Page { items, next_cursor })
            }
        }
    };
}
pub(crate) use customer_ops;

/// The free-text search: any of the ways a cashier identifies a customer.
pub(crate) fn push_free_text<'a, DB>(
    b: &mut sqlx::QueryBuilder<'a, DB>,
    program_id: &'a str,
    text: &str,
) where
    DB: sqlx::Database,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    use vafa_core::{card::CardNumber, mobile::Mobile, text::search_key};
    let digits: String = vafa_core::digits::normalize_digits(text)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    // The words in order, with anything between: «محمد رضا» finds «محمد‌رضا» (the
    // stored key drops the ZWNJ) as well as «محمد رضایی».
    let words: Vec<String> = search_key(text)
        .split(' ')
        .map(super::like_escape)
        .collect();
    b.push(" AND (search_name LIKE ")
        .push_bind(format!("%{}%", words.join("%")));
    b.push(" ESCAPE '\\'");
    b.push(" OR external_id = ").push_bind(text.to_owned());
    b.push(" OR national_id = ").push_bind(digits.clone());
    b.push(" OR email = ").push_bind(text.to_lowercase());
    if let Ok(m) = Mobile::parse(text) {
        b.push(" OR mobile = ").push_bind(m.as_e164().to_owned());
    } else if digits.len() >= 4 && digits.len() <= 10 && digits.bytes().all(|c| c.is_ascii_digit())
    {
        // The last digits of a mobile, as people read them out at a counter.
        b.push(" OR mobile LIKE ").push_bind(format!("%{digits}"));
    }
    if let Ok(card) = CardNumber::parse(text) {
        b.push(" OR id IN (SELECT customer_id FROM cards WHERE program_id = ")
            .push_bind(program_id)
            .push(" AND number = ")
            .push_bind(card.as_str().to_owned())
            .push(")");
    }
    b.push(")");
}

/// Trim a `limit + 1` fetch to `limit` and say where the next page starts.
pub(crate) fn page_cursor<T>(
    rows: &mut Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> String,
) -> Option<String> {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(id)
    } else {
        None
    }
}
