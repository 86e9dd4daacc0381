//! Campaigns and rules: definitions with versions, evaluation inside the writing
//! transaction (caps and budgets counted there), events, simulate and backtest.

use std::collections::HashMap;
use vafa_core::customer::Customer;
use vafa_core::rules::CustomerFacts;

pub(crate) type RuleRow = (String, String, i64, bool, String, i64, i64);

/// What rule conditions see of a stored customer; counts come from the caller.
pub(crate) fn facts_of(c: &Customer) -> CustomerFacts {
    let mut f = CustomerFacts::new(c.id.clone(), c.created_at);
    f.tags = c.tags.iter().map(|t| t.as_str().to_owned()).collect();
    f.attributes = c.attributes.as_map().clone();
    f.birth_date = c.birth_date;
    f.gender = c.gender.map(|g| g.as_str().to_owned());
    f.city = c.city.clone();
    f.occupation = c.occupation.clone();
    let granted = |x: &Option<vafa_core::customer::Consent>| x.as_ref().is_some_and(|c| c.granted);
    f.consent_sms = granted(&c.consent_sms);
    f.consent_email = granted(&c.consent_email);
    f.consent_call = granted(&c.consent_call);
    f
}

/// Parse a stored definition (campaign or rule JSON).
pub(crate) fn decode_def<T: serde::de::DeserializeOwned>(
    json: &str,
) -> Result<T, crate::StoreError> {
    serde_json::from_str(json)
        .map_err(|e| crate::StoreError::Corrupt(format!("stored definition: {e}")))
}

/// In-memory usage of a backtest: (campaign, customer, period key) → (uses, points).
pub(crate) type UsageMap = HashMap<(String, String, String), (i64, i64)>;

macro_rules! rules_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            // ---- definitions ----

            async fn campaign_records(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                only: Option<&str>,
            ) -> Result<Vec<CampaignRecord>> {
                let rows: Vec<(String, i64, String, i64, i64, i64)> = sqlx::query_as(
                    "SELECT id, version, definition, budget_used, created_at, updated_at FROM campaigns \
                     WHERE program_id = $1 AND ($2 IS NULL OR id = $2) ORDER BY id",
                )
                .bind(program_id)
                .bind(only)
                .fetch_all(&mut *conn)
                .await?;
                let rules: Vec<crate::sql::rules::RuleRow> = sqlx::query_as(
                    "SELECT id, campaign_id, version, active, definition, created_at, updated_at FROM rules \
                     WHERE program_id = $1 AND ($2 IS NULL OR campaign_id = $2) ORDER BY id",
                )
                .bind(program_id)
                .bind(only)
                .fetch_all(&mut *conn)
                .await?;
                let mut by_campaign: std::collections::HashMap<String, Vec<RuleRecord>> = Default::default();
                for r in rules {
                    let rec = Self::rule_record(r)?;
                    by_campaign.entry(rec.campaign_id.clone()).or_default().push(rec);
                }
                rows.into_iter()
                    .map(|(id, version, def, budget_used, created, updated)| {
                        Ok(CampaignRecord {
                            rules: by_campaign.remove(&id).unwrap_or_default(),
                            id,
                            version,
                            def: decode_def(&def)?,
                            budget_used,
                            created_at: from_micros(created)?,
                            updated_at: from_micros(updated)?,
                        })
                    })
                    .collect()
            }

            fn rule_record(r: crate::sql::rules::RuleRow) -> Result<RuleRecord> {
                let (id, campaign_id, version, active, def, created, updated) = r;
                Ok(RuleRecord {
                    id,
                    campaign_id,
                    version,
                    active,
                    def: decode_def(&def)?,
                    created_at: from_micros(created)?,
                    updated_at: from_micros(updated)?,
                })
            }

            pub(crate) async fn list_campaigns_op(&self, program_id: &str) -> Result<Vec<CampaignRecord>> {
                let mut conn = self.read.acquire().await?;
                Self::campaign_records(&mut conn, program_id, None).await
            }

            pub(crate) async fn get_campaign_op(&self, program_id: &str, id: &str) -> Result<Option<CampaignRecord>> {
                let mut conn = self.read.acquire().await?;
                Ok(Self::campaign_records(&mut conn, program_id, Some(id)).await?.pop())
            }

            async fn insert_rule(
                conn: &mut <$db as sqlx::Database>::Connection,
                ctx: &Ctx,
                campaign_id: &str,
                def: &RuleDef,
            ) -> Result<String> {
                let id = new_id("rul");
                let json = encode(def)?;
                sqlx::query(
                    "INSERT INTO rules (id, program_id, campaign_id, version, active, definition, created_at, updated_at) \
                     VALUES ($1, $2, $3, 1, TRUE, $4, $5, $5)",
                )
                .bind(&id)
                .bind(&ctx.program_id)
                .bind(campaign_id)
                .bind(&json)
                .bind(micros(ctx.now))
                .execute(&mut *conn)
                .await?;
                Self::rule_version_row(conn, ctx, &id, 1, true, &json).await?;
                Ok(id)
            }

            async fn rule_version_row(
                conn: &mut <$db as sqlx::Database>::Connection,
                ctx: &Ctx,
                rule_id: &str,
                version: i64,
                active: bool,
                json: &str,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO rule_versions (rule_id, version, active, definition, created_at, actor_kind, actor_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(rule_id)
                .bind(version)
                .bind(active)
                .bind(json)
                .bind(micros(ctx.now))
                .bind(ctx.actor.kind())
                .bind(ctx.actor.id())
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            pub(crate) async fn create_campaign_op(&self, ctx: &Ctx, def: &CampaignDef, rules: &[RuleDef]) -> Result<CampaignRecord> {
                let mut tx = self.begin_write().await?;
                Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                let id = new_id("cmp");
                sqlx::query(
                    "INSERT INTO campaigns (id, program_id, version, status, definition, budget_points, budget_used, created_at, updated_at) \
                     VALUES ($1, $2, 1, $3, $4, $5, 0, $6, $6)",
                )
                .bind(&id)
                .bind(&ctx.program_id)
                .bind(def.status.as_str())
                .bind(encode(def)?)
                .bind(def.budget_points)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                for r in rules {
                    Self::insert_rule(&mut tx, ctx, &id, r).await?;
                }
                Self::audit(&mut tx, ctx, "campaign.created", "campaign", &id, serde_json::json!({"name": def.name, "rules": rules.len()})).await?;
                let rec = Self::campaign_records(&mut tx, &ctx.program_id, Some(&id)).await?.pop().ok_or(StoreError::NotFound("campaign"))?;
                tx.commit().await?;
                Ok(rec)
            }

            pub(crate) async fn update_campaign_op(&self, ctx: &Ctx, id: &str, def: &CampaignDef) -> Result<CampaignRecord> {
                let mut tx = self.begin_write().await?;
                let sql = format!("SELECT version, definition FROM campaigns WHERE program_id = $1 AND id = $2{}", $lock);
                let row: Option<(i64, String)> = sqlx::query_as(&sql).bind(&ctx.program_id).bind(id).fetch_optional(&mut *tx).await?;
                let (version, before) = row.ok_or(StoreError::NotFound("campaign"))?;
                sqlx::query(
                    "UPDATE campaigns SET version = $1, status = $2, definition = $3, budget_points = $4, updated_at = $5 WHERE id = $6",
                )
                .bind(version + 1)
                .bind(def.status.as_str())
                .bind(encode(def)?)
                .bind(def.budget_points)
                .bind(micros(ctx.now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let before: serde_json::Value = serde_json::from_str(&before).unwrap_or(serde_json::Value::Null);
                Self::audit(&mut tx, ctx, "campaign.updated", "campaign", id, serde_json::json!({"version": version + 1, "before": before, "after": def})).await?;
                let rec = Self::campaign_records(&mut tx, &ctx.program_id, Some(id)).await?.pop().ok_or(StoreError::NotFound("campaign"))?;
                tx.commit().await?;
                Ok(rec)
            }

            pub(crate) async fn add_rule_op(&self, ctx: &Ctx, campaign_id: &str, def: &RuleDef) -> Result<RuleRecord> {
                let mut tx = self.begin_write().await?;
                let sql = format!("SELECT id FROM campaigns WHERE program_id = $1 AND id = $2{}", $lock);
                let found: Option<(String,)> = sqlx::query_as(&sql).bind(&ctx.program_id).bind(campaign_id).fetch_optional(&mut *tx).await?;
                found.ok_or(StoreError::NotFound("campaign"))?;
                let id = Self::insert_rule(&mut tx, ctx, campaign_id, def).await?;
                Self::audit(&mut tx, ctx, "rule.created", "rule", &id, serde_json::json!({"campaign_id": campaign_id, "version": 1, "definition": def})).await?;
                let rec = Self::load_rule(&mut tx, &ctx.program_id, &id).await?.ok_or(StoreError::NotFound("rule"))?;
                tx.commit().await?;
                Ok(rec)
            }

            async fn load_rule(conn: &mut <$db as sqlx::Database>::Connection, program_id: &str, id: &str) -> Result<Option<RuleRecord>> {
                let row: Option<crate::sql::rules::RuleRow> = sqlx::query_as(
                    "SELECT id, campaign_id, version, active, definition, created_at, updated_at FROM rules WHERE program_id = $1 AND id = $2",
                )
                .bind(program_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                row.map(Self::rule_record).transpose()
            }

            /// A new version of a rule: a new definition, or the same one retired (`active` false).
            pub(crate) async fn update_rule_op(&self, ctx: &Ctx, id: &str, def: Option<&RuleDef>, active: bool) -> Result<RuleRecord> {
                let mut tx = self.begin_write().await?;
                let sql = format!("SELECT version, definition FROM rules WHERE program_id = $1 AND id = $2{}", $lock);
                let row: Option<(i64, String)> = sqlx::query_as(&sql).bind(&ctx.program_id).bind(id).fetch_optional(&mut *tx).await?;
                let (version, current) = row.ok_or(StoreError::NotFound("rule"))?;
                let json = match def {
                    Some(d) => encode(d)?,
                    None => current,
                };
                let version = version + 1;
                sqlx::query("UPDATE rules SET version = $1, active = $2, definition = $3, updated_at = $4 WHERE id = $5")
                    .bind(version)
                    .bind(active)
                    .bind(&json)
                    .bind(micros(ctx.now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                Self::rule_version_row(&mut tx, ctx, id, version, active, &json).await?;
                let action = if active { "rule.updated" } else { "rule.retired" };
                Self::audit(&mut tx, ctx, action, "rule", id, serde_json::json!({"version": version})).await?;
                let rec = Self::load_rule(&mut tx, &ctx.program_id, id).await?.ok_or(StoreError::NotFound("rule"))?;
                tx.commit().await?;
                Ok(rec)
            }

            pub(crate) async fn rule_versions_op(&self, program_id: &str, id: &str) -> Result<Option<(RuleRecord, Vec<RuleVersion>)>> {
                let mut conn = self.read.acquire().await?;
                let Some(rule) = Self::load_rule(&mut conn, program_id, id).await? else { return Ok(None) };
                let rows: Vec<(i64, bool, String, i64, String, Option<String>)> = sqlx::query_as(
                    "SELECT version, active, definition, created_at, actor_kind, actor_id FROM rule_versions WHERE rule_id = $1 ORDER BY version DESC",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
                let versions = rows
                    .into_iter()
                    .map(|(version, active, def, at, actor_kind, actor_id)| {
                        Ok(RuleVersion { version, active, def: decode_def(&def)?, created_at: from_micros(at)?, actor_kind, actor_id })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some((rule, versions)))
            }

            // ---- evaluation ----

            /// The running campaigns of a program with their active rules, and the base
            /// earning setting as the default campaign.
            async fn live_campaigns<C: Db>(
                conn: &mut C,
                program_id: &str,
                settings: &LedgerSettings,
            ) -> Result<Vec<vafa_core::rules::Campaign>> {
                let rows: Vec<(String, i64, String, String, i64, String)> = db::query(
                    "SELECT c.id, c.version, c.definition, r.id, r.version, r.definition FROM campaigns c \
                     JOIN rules r ON r.campaign_id = c.id AND r.active = TRUE \
                     WHERE c.program_id = $1 AND c.status = 'active' ORDER BY c.id, r.id",
                )
                .bind(program_id)
                .fetch_all(&mut *conn)
                .await?;
                let mut out = vec![vafa_core::rules::default_campaign(settings)];
                let mut current: Option<(String, i64, String, Vec<(String, i64, RuleDef)>)> = None;
                let finish = |c: Option<(String, i64, String, Vec<(String, i64, RuleDef)>)>, out: &mut Vec<vafa_core::rules::Campaign>| -> Result<()> {
                    if let Some((id, version, def, rules)) = c {
                        let def: CampaignDef = decode_def(&def)?;
                        let compiled = vafa_core::rules::Campaign::compile(id.clone(), version, def, rules)
                            .map_err(|e| StoreError::Corrupt(format!("campaign {id}: {}", e.0.first().map(|f| f.message.clone()).unwrap_or_default())))?;
                        out.push(compiled);
                    }
                    Ok(())
                };
                for (cid, cver, cdef, rid, rver, rdef) in rows {
                    if current.as_ref().is_none_or(|c| c.0 != cid) {
                        finish(current.take(), &mut out)?;
                        current = Some((cid, cver, cdef, Vec::new()));
                    }
                    if let Some(c) = current.as_mut() {
                        c.3.push((rid, rver, decode_def(&rdef)?));
                    }
                }
                finish(current, &mut out)?;
                Ok(out)
            }

            /// The customer as rules see it just before `at`.
            async fn customer_facts<C: Db>(
                conn: &mut C,
                program_id: &str,
                customer_id: &str,
                at: jiff::Timestamp,
            ) -> Result<vafa_core::rules::CustomerFacts> {
                let customer = Self::load_customer(conn, program_id, customer_id, false).await?.ok_or(StoreError::NotFound("customer"))?;
                let mut facts = crate::sql::rules::facts_of(&customer);
                let (count, last, monetary): (i64, Option<i64>, Option<i64>) = db::query(
                    "SELECT COUNT(*), MAX(occurred_at), CAST(SUM(total_minor - returned_minor) AS BIGINT) FROM purchases \
                     WHERE program_id = $1 AND customer_id = $2 AND occurred_at < $3",
                )
                .bind(program_id)
                .bind(customer_id)
                .bind(micros(at))
                .fetch_one(&mut *conn)
                .await?;
                facts.purchase_count = count;
                facts.last_purchase_at = last.map(from_micros).transpose()?;
                facts.monetary_minor = monetary.unwrap_or(0);
                // The awards stay on the entries of the record that earned them: a survivor's
                // last campaign may be one of its duplicates'.
                let mut records = vec![customer_id.to_owned()];
                records.extend(Self::merged_records(&mut *conn, program_id, customer_id).await?);
                let mut last: Option<(String, i64)> = None;
                for record in &records {
                    let campaign: Option<(String, i64)> = db::query(
                        "SELECT ra.campaign_id, ra.occurred_at FROM rule_awards ra JOIN journal_entries j ON j.id = ra.entry_id \
                         WHERE j.program_id = $1 AND j.customer_id = $2 AND ra.campaign_id <> 'default' AND ra.occurred_at < $3 \
                         ORDER BY ra.occurred_at DESC LIMIT 1",
                    )
                    .bind(program_id)
                    .bind(record)
                    .bind(micros(at))
                    .fetch_optional(&mut *conn)
                    .await?;
                    if let Some(c) = campaign.filter(|c| last.as_ref().is_none_or(|l| c.1 > l.1)) {
                        last = Some(c);
                    }
                }
                facts.last_campaign = last.map(|c| c.0);
                let bal: Option<(i64,)> = db::query("SELECT balance FROM accounts WHERE program_id = $1 AND key = $2")
                    .bind(program_id)
                    .bind(AccountSpec::customer_points(customer_id).key)
                    .fetch_optional(&mut *conn)
                    .await?;
                facts.points_balance = bal.map_or(0, |b| b.0);
                if let Some(ladder) = Self::ladder_of(&mut *conn, program_id).await? {
                    let row = Self::tier_row(&mut *conn, program_id, customer_id).await?;
                    facts.tier = Some(ladder.tiers[Self::level_of(&ladder, row.as_ref())].code.clone());
                }
                Ok(facts)
            }

            /// What the customer has used of each capped campaign in the periods holding
            /// `date`, and each budget's spending, read under the campaign's row lock when
            /// `lock` (so concurrent purchases cannot both spend the last of a budget).
            async fn campaign_usage<C: Db>(
                conn: &mut C,
                campaigns: &[vafa_core::rules::Campaign],
                customer_id: Option<&str>,
                date: jiff::civil::Date,
                calendar: vafa_core::ledger::CalendarKind,
                lock: bool,
            ) -> Result<std::collections::HashMap<String, vafa_core::rules::CampaignUsage>> {
                let mut out = std::collections::HashMap::new();
                let mut budgeted: Vec<&vafa_core::rules::Campaign> = campaigns.iter().filter(|c| c.def.budget_points.is_some()).collect();
                budgeted.sort_by(|a, b| a.id.cmp(&b.id));
                let sql = format!("SELECT budget_used FROM campaigns WHERE id = $1{}", if lock { $lock } else { "" });
                for c in budgeted {
                    let row: Option<(i64,)> = db::query(&sql).bind(&c.id).fetch_optional(&mut *conn).await?;
                    out.entry(c.id.clone()).or_insert_with(vafa_core::rules::CampaignUsage::default).budget_used = row.map_or(0, |r| r.0);
                }
                let Some(customer_id) = customer_id else { return Ok(out) };
                for c in campaigns.iter().filter(|c| !c.def.caps.is_empty()) {
                    for cap in &c.def.caps {
                        let key = cap.period.key(date, calendar);
                        let row: Option<(i64, i64)> = db::query(
                            "SELECT uses, points FROM campaign_usage WHERE campaign_id = $1 AND customer_id = $2 AND period_key = $3",
                        )
                        .bind(&c.id)
                        .bind(customer_id)
                        .bind(&key)
                        .fetch_optional(&mut *conn)
                        .await?;
                        if let Some(used) = row {
                            out.entry(c.id.clone()).or_insert_with(vafa_core::rules::CampaignUsage::default).used.insert(cap.period, used);
                        }
                    }
                }
                Ok(out)
            }

            /// Evaluate the program's rules for a purchase or an event of `customer_id`
            /// (None: a customer not yet registered).
            #[allow(clippy::too_many_arguments)]
            async fn evaluate_rules<C: Db>(
                conn: &mut C,
                program: &Program,
                settings: &LedgerSettings,
                customer_id: Option<&str>,
                purchase: Option<&vafa_core::rules::PurchaseFacts>,
                event: Option<&vafa_core::rules::EventFacts>,
                at: jiff::Timestamp,
                lock: bool,
            ) -> Result<vafa_core::rules::Evaluation> {
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let calendar = calendar_of(program.locale);
                let campaigns = Self::live_campaigns(conn, &program.id, settings).await?;
                // Only conditions read the customer: the base rule alone needs no facts.
                let conditional = campaigns.iter().any(|c| c.audience.is_some() || c.rules.iter().any(|r| r.condition.is_some()));
                let facts = match customer_id {
                    Some(id) if conditional => Self::customer_facts(conn, &program.id, id, at).await?,
                    Some(id) => vafa_core::rules::CustomerFacts::new(id, at),
                    None => vafa_core::rules::CustomerFacts::new("", at),
                };
                let date = at.to_zoned(tz.clone()).date();
                let usage = Self::campaign_usage(conn, &campaigns, customer_id, date, calendar, lock).await?;
                Ok(vafa_core::rules::evaluate(
                    &campaigns,
                    &vafa_core::rules::EvalInput { purchase, event, customer: &facts, at, tz: &tz, calendar },
                    &usage,
                ))
            }

            /// Record what fired on a journal entry, and count it against caps and budgets.
            #[allow(clippy::too_many_arguments)]
            async fn record_rules<C: Db>(
                conn: &mut C,
                program: &Program,
                eval: &vafa_core::rules::Evaluation,
                customer_id: &str,
                entry_id: &str,
                purchase_id: Option<&str>,
                event_id: Option<&str>,
                at: jiff::Timestamp,
            ) -> Result<()> {
                for f in &eval.fired {
                    db::query(
                        "INSERT INTO rule_awards (entry_id, program_id, purchase_id, event_id, campaign_id, rule_id, rule_version, points, cashback, awards, occurred_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(entry_id)
                    .bind(&program.id)
                    .bind(purchase_id)
                    .bind(event_id)
                    .bind(&f.campaign_id)
                    .bind(&f.rule_id)
                    .bind(f.rule_version)
                    .bind(f.points)
                    .bind(f.cashback_minor)
                    .bind(if f.awards.is_empty() { None } else { Some(encode(&f.awards)?) })
                    .bind(micros(at))
                    .execute(&mut *conn)
                    .await?;
                }
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let date = at.to_zoned(tz).date();
                let calendar = calendar_of(program.locale);
                for g in counted(&eval.campaigns) {
                    let mut keys: Vec<String> = g.cap_periods.iter().map(|p| p.key(date, calendar)).collect();
                    keys.sort();
                    keys.dedup();
                    for key in keys {
                        db::query(
                            "INSERT INTO campaign_usage (campaign_id, customer_id, period_key, uses, points) VALUES ($1, $2, $3, 1, $4) \
                             ON CONFLICT (campaign_id, customer_id, period_key) DO UPDATE SET uses = campaign_usage.uses + 1, points = campaign_usage.points + excluded.points",
                        )
                        .bind(&g.campaign_id)
                        .bind(customer_id)
                        .bind(&key)
                        .bind(g.points)
                        .execute(&mut *conn)
                        .await?;
                    }
                    if g.has_budget && g.points > 0 {
                        db::query("UPDATE campaigns SET budget_used = budget_used + $1 WHERE id = $2")
                            .bind(g.points)
                            .bind(&g.campaign_id)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                Ok(())
            }

            /// The customer a read-only request names (None: an unbound bearer card).
            async fn find_customer(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                who: &CustomerRef,
            ) -> Result<Option<String>> {
                let row: Option<(Option<String>,)> = match who {
                    CustomerRef::Id(id) => sqlx::query_as("SELECT id FROM customers WHERE program_id = $1 AND id = $2")
                        .bind(program_id).bind(id).fetch_optional(&mut *conn).await?,
                    CustomerRef::Mobile(m) => sqlx::query_as("SELECT id FROM customers WHERE program_id = $1 AND mobile = $2")
                        .bind(program_id).bind(m.as_e164()).fetch_optional(&mut *conn).await?,
                    CustomerRef::Card(n) => sqlx::query_as("SELECT customer_id FROM cards WHERE program_id = $1 AND number = $2")
                        .bind(program_id).bind(n.as_str()).fetch_optional(&mut *conn).await?,
                };
                let what = if matches!(who, CustomerRef::Card(_)) { "card" } else { "customer" };
                match (row, who) {
                    (Some((id,)), _) => Ok(id),
                    // A merged duplicate's former mobile still finds the person.
                    (None, CustomerRef::Mobile(m)) => Ok(Some(
                        Self::alias_of(&mut *conn, program_id, "mobile", m.as_e164()).await?.ok_or(StoreError::NotFound(what))?,
                    )),
                    (None, _) => Err(StoreError::NotFound(what)),
                }
            }

            pub(crate) async fn simulate_op(&self, program_id: &str, req: &SimulateRequest) -> Result<Simulation> {
                let mut conn = self.read.acquire().await?;
                let (program, settings) = Self::program_and_settings(&mut conn, program_id).await?;
                let customer_id = match &req.customer {
                    Some(who) => Self::find_customer(&mut conn, program_id, who).await?,
                    None => None,
                };
                let mut facts = purchase_facts(&req.purchase);
                if let Some(w) = &req.weights {
                    for (item, paid) in facts.items.iter_mut().zip(vafa_core::ledger::allocate(req.purchase.total_minor, w)) {
                        item.amount_minor = paid;
                    }
                }
                let mut evaluation = Self::evaluate_rules(&mut conn, &program, &settings, customer_id.as_deref(), Some(&facts), None, req.purchase.occurred_at, false).await?;
                // The tier's multiplier, exactly as the purchase applies it.
                let mut tier = None;
                if let (Some(id), Some(ladder)) = (&customer_id, Self::ladder_of(&mut conn, program_id).await?) {
                    let t = &ladder.tiers[Self::level_of(&ladder, Self::tier_row(&mut conn, program_id, id).await?.as_ref())];
                    (evaluation.points, evaluation.line_points) = t.earn_lines(evaluation.points, &evaluation.line_points);
                    tier = Some(t.code.clone());
                }
                let debt = match &customer_id {
                    Some(id) => {
                        let row: Option<(i64,)> = sqlx::query_as("SELECT debt FROM accounts WHERE program_id = $1 AND key = $2")
                            .bind(program_id)
                            .bind(AccountSpec::customer_points(id).key)
                            .fetch_optional(&mut *conn)
                            .await?;
                        row.map_or(0, |r| r.0)
                    }
                    None => 0,
                };
                crate::sql::ledger_support::within_earn_limit(evaluation.points, evaluation.cashback_minor)?;
                let debt_paid = evaluation.points.min(debt.max(0));
                Ok(Simulation { customer_id, evaluation, debt_paid, tier })
            }

            pub(crate) async fn post_event_op(&self, ctx: &Ctx, ev: &NewEvent, idem: Option<&Idempotency>) -> Result<Replayed<EventOutcome>> {
                let mut tx = self.begin_write().await?;
                if let Some(value) = Self::idem_lookup(&mut tx, &ctx.program_id, idem).await? {
                    tx.commit().await?;
                    return Ok(Replayed { value, replayed: true });
                }
                if let Some(ext) = &ev.external_id {
                    let prior: Option<(String,)> = sqlx::query_as("SELECT id FROM events WHERE program_id = $1 AND external_id = $2")
                        .bind(&ctx.program_id)
                        .bind(ext)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if prior.is_some() {
                        return Err(StoreError::DuplicateEvent);
                    }
                }
                let (program, settings) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                let (customer_id, _) = Self::purchase_customer(&mut tx, ctx, &ev.customer).await?;
                let facts = vafa_core::rules::EventFacts { name: ev.name.clone(), attributes: ev.attributes.clone() };
                let eval = Self::evaluate_rules(&mut tx, &program, &settings, Some(&customer_id), None, Some(&facts), ev.occurred_at, true).await?;
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let event_id = new_id("evt");
                let points = eval.points;
                if points > vafa_core::ledger::MAX_ENTRY_POINTS {
                    return Err(StoreError::LedgerLimit(format!(
                        "this event would earn {points} points, more than one entry may (1000000000000); check the program's campaigns"
                    )));
                }
                let mut entry_id = None;
                let mut expires_at = None;
                let entry = if points > 0 { new_id("ent") } else { String::new() };
                let issued_rewards = Self::issue_rule_rewards(&mut tx, ctx, &customer_id, &eval, &entry).await?;
                let issued_coupons = Self::issue_rule_coupons(&mut tx, ctx, &customer_id, &eval, &entry).await?;
                if points > 0 {
                    let acct = AccountSpec::customer_points(&customer_id);
                    let account = Self::lock_account(&mut tx, &ctx.program_id, &acct, ctx.now).await?;
                    // Activity points have no return window: available at once.
                    let exp = settings.expiry.expires_at(ev.occurred_at, &tz);
                    let lot = Self::new_lot(&mut tx, ctx, &account.id, None, points, ev.occurred_at, exp).await?;
                    let mut legs = vec![
                        Leg::lot(acct.clone(), points, &lot),
                        Leg::new(AccountSpec::program("issued", POINTS, &customer_id), -points),
                    ];
                    // Points that expired before they were recorded pay no debt (as for purchases).
                    let debt_paid = if exp.is_some_and(|e| e <= ctx.now) { 0 } else { points.min(account.debt.max(0)) };
                    if debt_paid > 0 {
                        legs.push(Leg::lot(acct.clone(), -debt_paid, &lot));
                        legs.push(Leg::new(acct.clone(), debt_paid));
                    }
                    let explanation = serde_json::json!({
                        "event": ev.name, "event_id": event_id, "points": points, "debt_paid": debt_paid,
                        "rules": eval.fired.iter().map(|f| serde_json::json!({
                            "campaign_id": f.campaign_id, "rule_id": f.rule_id, "rule_version": f.rule_version, "points": f.points,
                        })).collect::<Vec<_>>(),
                    });
                    Self::post_entry_as(&mut tx, ctx, &entry, None, "event", Some(&customer_id), None, explanation, &legs).await?;
                    sqlx::query("UPDATE lots SET entry_id = $1 WHERE id = $2").bind(&entry).bind(&lot).execute(&mut *tx).await?;
                    entry_id = Some(entry);
                    expires_at = exp;
                }
                sqlx::query(
                    "INSERT INTO events (id, program_id, customer_id, name, external_id, attributes, points, entry_id, occurred_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&event_id)
                .bind(&ctx.program_id)
                .bind(&customer_id)
                .bind(&ev.name)
                .bind(&ev.external_id)
                .bind(encode(&ev.attributes)?)
                .bind(points)
                .bind(&entry_id)
                .bind(micros(ev.occurred_at))
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::DuplicateEvent,
                    _ => StoreError::Database(e),
                })?;
                if let Some(entry) = &entry_id {
                    Self::record_rules(&mut tx, &program, &eval, &customer_id, entry, None, Some(&event_id), ev.occurred_at).await?;
                } else if !eval.fired.is_empty() {
                    // Awards without points still count against caps (a yearly birthday gift).
                    let mut counted_only = eval.clone();
                    counted_only.fired.clear();
                    Self::record_rules(&mut tx, &program, &counted_only, &customer_id, "", None, Some(&event_id), ev.occurred_at).await?;
                }
                let balance = Self::snapshot(&mut tx, &ctx.program_id, &customer_id, ctx.now, false).await?;
                let outcome = EventOutcome {
                    event_id,
                    customer_id,
                    name: ev.name.clone(),
                    external_id: ev.external_id.clone(),
                    points_earned: points,
                    entry_id,
                    expires_at,
                    rules: eval.fired.iter().map(FiredRuleRecord::from).collect(),
                    issued_rewards,
                    issued_coupons,
                    occurred_at: ev.occurred_at,
                    balance,
                };
                Self::idem_store(&mut tx, ctx, idem, &outcome).await?;
                tx.commit().await?;
                Ok(Replayed { value: outcome, replayed: false })
            }

            // ---- backtest ----

            pub(crate) async fn backtest_op(&self, program_id: &str, req: &BacktestRequest) -> Result<BacktestReport> {
                use vafa_core::rules::{Campaign, CampaignUsage};
                let mut conn = self.read.acquire().await?;
                let (program, settings) = Self::program_and_settings(&mut conn, program_id).await?;
                let tz = jiff::tz::TimeZone::get(&program.timezone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let calendar = calendar_of(program.locale);
                let mut campaigns = Vec::new();
                for (i, d) in req.campaigns.iter().enumerate() {
                    let id = d.id.clone().unwrap_or_else(|| format!("draft-{}", i + 1));
                    let rules = d.rules.iter().enumerate().map(|(j, r)| (format!("{id}-rule-{}", j + 1), 0, r.clone())).collect();
                    let c = Campaign::compile(id, 0, d.def.clone(), rules)
                        .map_err(|e| StoreError::Corrupt(format!("draft campaign {i}: {}", e.0.first().map(|f| f.message.clone()).unwrap_or_default())))?;
                    campaigns.push(c);
                }
                if req.include_base_rule {
                    campaigns.push(vafa_core::rules::default_campaign(&settings));
                }
                let (from, to) = (micros(req.from), micros(req.to));
                // What customers had bought before the range.
                let before: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT customer_id, COUNT(*), MAX(occurred_at) FROM purchases WHERE program_id = $1 AND occurred_at < $2 GROUP BY customer_id",
                )
                .bind(program_id)
                .bind(from)
                .fetch_all(&mut *conn)
                .await?;
                let mut history: std::collections::HashMap<String, (i64, Option<i64>)> =
                    before.into_iter().map(|(c, n, last)| (c, (n, last))).collect();
                let mut facts_cache: std::collections::HashMap<String, vafa_core::rules::CustomerFacts> = Default::default();
                let mut usage: crate::sql::rules::UsageMap = Default::default();
                let mut budget: std::collections::HashMap<String, i64> = Default::default();
                let mut draft_total = BacktestFigures::default();
                let mut draft_by: std::collections::BTreeMap<String, BacktestFigures> = Default::default();
                let (mut purchases, mut after) = (0i64, (i64::MIN, String::new()));
                loop {
                    // With what paid in points or cashback (the rules judged the money paid)
                    // and the tier multiplier the purchase earned under.
                    type Row = (String, String, Option<String>, Option<String>, Option<String>, i64, i64, Option<String>, i64, Option<String>);
                    let page: Vec<Row> = sqlx::query_as(
                        "SELECT p.id, p.customer_id, p.store, p.channel, p.external_id, p.total_minor, p.occurred_at, p.coupons, p.redeemed_value_minor, e.explanation \
                         FROM purchases p LEFT JOIN journal_entries e ON e.id = p.entry_id \
                         WHERE p.program_id = $1 AND p.occurred_at >= $2 AND p.occurred_at < $3 AND (p.occurred_at > $4 OR (p.occurred_at = $4 AND p.id > $5)) \
                         ORDER BY p.occurred_at, p.id LIMIT 2000",
                    )
                    .bind(program_id)
                    .bind(from)
                    .bind(to)
                    .bind(after.0)
                    .bind(&after.1)
                    .fetch_all(&mut *conn)
                    .await?;
                    let Some(last) = page.last() else { break };
                    after = (last.6, last.0.clone());
                    let mut lq = sqlx::QueryBuilder::<$db>::new(
                        "SELECT purchase_id, sku, name, category, quantity, unit_price_minor, amount_minor FROM purchase_lines WHERE purchase_id IN (",
                    );
                    let mut sep = lq.separated(", ");
                    for p in &page {
                        sep.push_bind(p.0.clone());
                    }
                    lq.push(") ORDER BY purchase_id, line_no");
                    let line_rows: Vec<(String, Option<String>, Option<String>, Option<String>, i64, i64, i64)> =
                        lq.build_query_as().fetch_all(&mut *conn).await?;
                    let mut lines: std::collections::HashMap<String, Vec<vafa_core::rules::ItemFacts>> = Default::default();
                    for (pid, sku, name, category, quantity, unit, amount) in line_rows {
                        lines.entry(pid).or_default().push(vafa_core::rules::ItemFacts {
                            sku: sku.unwrap_or_default(), name, category, quantity, unit_price_minor: unit, amount_minor: amount,
                        });
                    }
                    let missing: Vec<String> = {
                        let mut m: Vec<String> = page.iter().map(|p| p.1.clone()).filter(|c| !facts_cache.contains_key(c)).collect();
                        m.sort();
                        m.dedup();
                        m
                    };
                    if !missing.is_empty() {
                        let mut cq = sqlx::QueryBuilder::<$db>::new(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE program_id = "));
                        cq.push_bind(program_id.to_owned());
                        cq.push(" AND id IN (");
                        let mut sep = cq.separated(", ");
                        for id in &missing {
                            sep.push_bind(id.clone());
                        }
                        cq.push(")");
                        let rows: Vec<CustomerRow> = cq.build_query_as().fetch_all(&mut *conn).await?;
                        for c in Self::load_customers(&mut conn, rows).await? {
                            facts_cache.insert(c.id.clone(), crate::sql::rules::facts_of(&c));
                        }
                    }
                    for (pid, cid, store, channel, external_id, total, at_us, coupons, paid_otherwise, explanation) in page {
                        purchases += 1;
                        let multiplier = explanation
                            .as_deref()
                            .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())
                            .and_then(|e| e["tier"]["earn_multiplier"].as_str().map(str::to_owned));
                        // The money paid, spread over the lines as the purchase spread it.
                        let paid = (total - paid_otherwise).max(0);
                        let mut items = lines.remove(&pid).unwrap_or_default();
                        if paid != total {
                            let weights: Vec<i64> = items.iter().map(|i| i.amount_minor).collect();
                            for (item, share) in items.iter_mut().zip(vafa_core::ledger::allocate(paid, &weights)) {
                                item.amount_minor = share;
                            }
                        }
                        let at = from_micros(at_us)?;
                        let (count, last) = history.get(&cid).cloned().unwrap_or((0, None));
                        let mut facts = facts_cache.get(&cid).cloned().unwrap_or_else(|| vafa_core::rules::CustomerFacts::new(cid.clone(), at));
                        facts.purchase_count = count;
                        facts.last_purchase_at = last.map(from_micros).transpose()?;
                        let purchase = vafa_core::rules::PurchaseFacts {
                            total_minor: paid,
                            items,
                            store,
                            channel,
                            coupons: coupons.as_deref().map(decode::<Vec<String>>).transpose()?.unwrap_or_default(),
                            external_id,
                        };
                        let date = at.to_zoned(tz.clone()).date();
                        let mut u: std::collections::HashMap<String, CampaignUsage> = Default::default();
                        for c in &campaigns {
                            let mut cu = CampaignUsage { budget_used: budget.get(&c.id).copied().unwrap_or(0), ..Default::default() };
                            for cap in &c.def.caps {
                                let k = (c.id.clone(), cid.clone(), cap.period.key(date, calendar));
                                if let Some(used) = usage.get(&k) {
                                    cu.used.insert(cap.period, *used);
                                }
                            }
                            u.insert(c.id.clone(), cu);
                        }
                        let eval = vafa_core::rules::evaluate(
                            &campaigns,
                            &vafa_core::rules::EvalInput { purchase: Some(&purchase), event: None, customer: &facts, at, tz: &tz, calendar },
                            &u,
                        );
                        for g in &eval.campaigns {
                            let mut keys: Vec<String> = g.cap_periods.iter().map(|p| p.key(date, calendar)).collect();
                            keys.sort();
                            keys.dedup();
                            for k in keys {
                                let e = usage.entry((g.campaign_id.clone(), cid.clone(), k)).or_insert((0, 0));
                                e.0 += 1;
                                e.1 = e.1.saturating_add(g.points);
                            }
                            let spent = budget.entry(g.campaign_id.clone()).or_insert(0);
                            *spent = spent.saturating_add(g.points);
                            if g.points > 0 || g.cashback_minor > 0 {
                                let f = draft_by.entry(g.campaign_id.clone()).or_default();
                                // A draft may earn absurdly (that is what a backtest is for):
                                // its totals stop at the largest number, never wrap or panic.
                                f.points = f.points.saturating_add(g.points);
                                f.cashback_minor = f.cashback_minor.saturating_add(g.cashback_minor);
                                f.purchases += 1;
                            }
                        }
                        if eval.points > 0 || eval.cashback_minor > 0 {
                            draft_total.purchases += 1;
                        }
                        // The whole is earned under the tier, as the purchase earned (each
                        // campaign's figures, draft and actual, are before it).
                        let earned = vafa_core::tiers::multiply_points_recorded(eval.points, multiplier.as_deref());
                        draft_total.points = draft_total.points.saturating_add(earned);
                        draft_total.cashback_minor = draft_total.cashback_minor.saturating_add(eval.cashback_minor);
                        history.insert(cid, (count + 1, Some(at_us.max(last.unwrap_or(i64::MIN)))));
                    }
                }
                // What was actually issued in the range.
                let (customers, actual_points, actual_cash, actual_n): (i64, Option<i64>, Option<i64>, i64) = sqlx::query_as(
                    "SELECT COUNT(DISTINCT customer_id), CAST(SUM(points_earned) AS BIGINT), CAST(SUM(cashback_earned) AS BIGINT), \
                     CAST(COALESCE(SUM(CASE WHEN points_earned > 0 OR cashback_earned > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
                     FROM purchases WHERE program_id = $1 AND occurred_at >= $2 AND occurred_at < $3",
                )
                .bind(program_id)
                .bind(from)
                .bind(to)
                .fetch_one(&mut *conn)
                .await?;
                let by_campaign: Vec<(String, Option<i64>, Option<i64>, i64)> = sqlx::query_as(
                    "SELECT campaign_id, CAST(SUM(points) AS BIGINT), CAST(SUM(cashback) AS BIGINT), COUNT(DISTINCT purchase_id) FROM rule_awards \
                     WHERE program_id = $1 AND purchase_id IS NOT NULL AND occurred_at >= $2 AND occurred_at < $3 GROUP BY campaign_id",
                )
                .bind(program_id)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *conn)
                .await?;
                let cost = |f: &mut BacktestFigures| {
                    f.points_cost_minor = settings.points_value_minor(f.points);
                    f.cost_minor = f.points_cost_minor.saturating_add(f.cashback_minor);
                };
                let mut actual = BacktestFigures { points: actual_points.unwrap_or(0), cashback_minor: actual_cash.unwrap_or(0), purchases: actual_n, ..Default::default() };
                cost(&mut actual);
                cost(&mut draft_total);
                let mut names: std::collections::HashMap<String, String> = self
                    .list_campaigns_op(program_id)
                    .await?
                    .into_iter()
                    .map(|c| (c.id, c.def.name))
                    .collect();
                for c in &campaigns {
                    names.entry(c.id.clone()).or_insert_with(|| c.def.name.clone());
                }
                names.entry(vafa_core::rules::DEFAULT_CAMPAIGN_ID.to_owned()).or_insert_with(|| "Base earning".to_owned());
                let mut rows: std::collections::BTreeMap<String, (BacktestFigures, BacktestFigures)> = Default::default();
                for (id, f) in draft_by {
                    rows.entry(id).or_default().0 = f;
                }
                for (id, p, c, n) in by_campaign {
                    rows.entry(id).or_default().1 = BacktestFigures { points: p.unwrap_or(0), cashback_minor: c.unwrap_or(0), purchases: n, ..Default::default() };
                }
                let campaigns_out = rows
                    .into_iter()
                    .map(|(id, (mut d, mut a))| {
                        cost(&mut d);
                        cost(&mut a);
                        BacktestCampaign { name: names.get(&id).cloned().unwrap_or_else(|| id.clone()), campaign_id: id, draft: d, actual: a }
                    })
                    .collect();
                Ok(BacktestReport {
                    from: req.from,
                    to: req.to,
                    purchases,
                    customers,
                    points_difference: draft_total.points - actual.points,
                    cost_difference_minor: draft_total.cost_minor - actual.cost_minor,
                    draft: draft_total,
                    actual,
                    campaigns: campaigns_out,
                })
            }
        }
    };
}

pub(crate) use rules_ops;
