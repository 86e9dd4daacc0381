//! Orders and their stages, webhooks, and the outbox's delivery side: leasing due
//! messages, recording deliveries, retries and the dead letters.

use crate::crm_model::*;
use crate::sql::from_micros;
use crate::StoreError;

pub(crate) const OUTBOX_COLUMNS: &str = "o.id, o.program_id, o.event, o.customer_id, o.subject_type, o.subject_id, o.destination, o.payload, o.status, \
     o.attempts, o.available_at, o.last_error, o.created_at, o.delivered_at, o.lease_id, w.url, w.secret";

#[derive(sqlx::FromRow)]
pub(crate) struct OutboxRow {
    pub id: String,
    pub program_id: String,
    pub event: String,
    pub customer_id: Option<String>,
    pub subject_type: String,
    pub subject_id: String,
    pub destination: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub available_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub lease_id: Option<String>,
    pub url: Option<String>,
    pub secret: Option<String>,
}

impl TryFrom<OutboxRow> for OutboxMessage {
    type Error = StoreError;
    fn try_from(r: OutboxRow) -> Result<Self, StoreError> {
        Ok(OutboxMessage {
            payload: serde_json::from_str(&r.payload)
                .map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?,
            available_at: from_micros(r.available_at)?,
            created_at: from_micros(r.created_at)?,
            delivered_at: r.delivered_at.map(from_micros).transpose()?,
            webhook: r.url.zip(r.secret),
            lease_id: r.lease_id,
            id: r.id,
            program_id: r.program_id,
            event: r.event,
            customer_id: r.customer_id,
            subject_type: r.subject_type,
            subject_id: r.subject_id,
            destination: r.destination,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
        })
    }
}

pub(crate) type WebhookRow = (String, String, String, String, String, i64);

pub(crate) fn webhook_of(r: WebhookRow) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        events: serde_json::from_str(&r.3)
            .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?,
        created_at: from_micros(r.5)?,
        id: r.0,
        url: r.1,
        secret: r.2,
        status: r.4,
    })
}

macro_rules! outbox_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            // ---- orders ----

            pub(crate) async fn create_order_op(&self, ctx: &Ctx, o: &NewOrder) -> Result<Order> {
                let mut tx = self.begin_write().await?;
                let customer_name = Self::check_open_customer(&mut tx, &ctx.program_id, &o.customer_id).await?;
                let id = new_id(ids::ORDER);
                let inserted = sqlx::query(
                    "INSERT INTO orders (id, program_id, customer_id, external_id, stage, summary, total_minor, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                )
                .bind(&id)
                .bind(&ctx.program_id)
                .bind(&o.customer_id)
                .bind(&o.external_id)
                .bind(&o.stage)
                .bind(&o.summary)
                .bind(o.total_minor)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await;
                if let Err(e) = inserted {
                    return Err(match &e {
                        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::InvalidField {
                            field: "external_id".into(),
                            message: "an order with this external id exists".into(),
                        },
                        _ => StoreError::Database(e),
                    });
                }
                Self::order_stage_in(&mut tx, ctx, &id, &o.customer_id, &customer_name, o.external_id.as_deref(), &o.stage, None).await?;
                Self::audit(&mut tx, ctx, "order.created", "order", &id, serde_json::json!({"stage": o.stage, "external_id": o.external_id})).await?;
                let order = Self::order_in(&mut tx, &ctx.program_id, &id).await?.ok_or(StoreError::NotFound("order"))?;
                tx.commit().await?;
                Ok(order)
            }

            /// Record a stage and queue the customer's notification, in one transaction.
            #[allow(clippy::too_many_arguments)]
            async fn order_stage_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                ctx: &Ctx,
                order_id: &str,
                customer_id: &str,
                customer_name: &str,
                external_id: Option<&str>,
                stage: &str,
                note: Option<&str>,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO order_events (id, order_id, program_id, customer_id, stage, note, staff_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(new_id(ids::ORDER_EVENT))
                .bind(order_id)
                .bind(&ctx.program_id)
                .bind(customer_id)
                .bind(stage)
                .bind(note)
                .bind(ctx.actor.staff_id())
                .bind(micros(ctx.now))
                .execute(&mut *conn)
                .await?;
                let persian = Self::program_and_settings(conn, &ctx.program_id).await?.0.locale.as_str() == "fa";
                let labels = Self::crm_settings_in(conn, &ctx.program_id).await?.stage_labels;
                let vars = std::collections::BTreeMap::from([
                    ("order_number", external_id.unwrap_or(order_id).to_owned()),
                    ("stage", vafa_core::crm::stage_label(stage, persian, &labels)),
                ]);
                let message = Self::message_in(conn, &ctx.program_id, "order_stage", customer_name, vars).await?;
                let payload = serde_json::json!({
                    "order_id": order_id, "external_id": external_id, "stage": stage, "note": note,
                    "customer_name": customer_name, "message": message,
                });
                Self::enqueue(conn, &ctx.program_id, "order.stage_changed", Some(customer_id), "order", order_id, payload, ctx.now, ctx.now).await
            }

            async fn order_in(conn: &mut <$db as sqlx::Database>::Connection, program_id: &str, id: &str) -> Result<Option<Order>> {
                let row: Option<(String, String, Option<String>, String, Option<String>, Option<i64>, i64, i64)> = sqlx::query_as(
                    "SELECT id, customer_id, external_id, stage, summary, total_minor, created_at, updated_at FROM orders WHERE program_id = $1 AND id = $2",
                )
                .bind(program_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(r) = row else { return Ok(None) };
                let events: Vec<(String, Option<String>, Option<String>, i64)> =
                    sqlx::query_as("SELECT stage, note, staff_id, at FROM order_events WHERE order_id = $1 ORDER BY at, id")
                        .bind(id)
                        .fetch_all(&mut *conn)
                        .await?;
                Ok(Some(Order {
                    id: r.0,
                    customer_id: r.1,
                    external_id: r.2,
                    stage: r.3,
                    summary: r.4,
                    total_minor: r.5,
                    created_at: from_micros(r.6)?,
                    updated_at: from_micros(r.7)?,
                    events: events
                        .into_iter()
                        .map(|e| Ok(OrderEvent { stage: e.0, note: e.1, staff_id: e.2, at: from_micros(e.3)? }))
                        .collect::<Result<_>>()?,
                }))
            }

            pub(crate) async fn get_order_op(&self, program_id: &str, id: &str) -> Result<Option<Order>> {
                let mut conn = self.read.acquire().await?;
                Self::order_in(&mut conn, program_id, id).await
            }

            pub(crate) async fn customer_orders_op(&self, program_id: &str, customer_id: &str) -> Result<Vec<Order>> {
                let mut conn = self.read.acquire().await?;
                Self::check_customer(&mut conn, program_id, customer_id).await?;
                let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM orders WHERE program_id = $1 AND customer_id = $2 ORDER BY id DESC LIMIT 200")
                    .bind(program_id)
                    .bind(customer_id)
                    .fetch_all(&mut *conn)
                    .await?;
                let mut out = Vec::with_capacity(ids.len());
                for (id,) in ids {
                    if let Some(o) = Self::order_in(&mut conn, program_id, &id).await? {
                        out.push(o);
                    }
                }
                Ok(out)
            }

            pub(crate) async fn set_order_stage_op(&self, ctx: &Ctx, id: &str, stage: &str, note: Option<&str>) -> Result<Order> {
                let mut tx = self.begin_write().await?;
                let sql = format!("SELECT stage, customer_id, external_id FROM orders WHERE program_id = $1 AND id = $2{}", $lock);
                let row: Option<(String, String, Option<String>)> = sqlx::query_as(&sql).bind(&ctx.program_id).bind(id).fetch_optional(&mut *tx).await?;
                let (from, customer_id, external_id) = row.ok_or(StoreError::NotFound("order"))?;
                let before: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT stage FROM order_events WHERE order_id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                let before: Vec<&str> = before.iter().map(|(s,)| s.as_str()).collect();
                vafa_core::crm::check_stage_change(&from, stage, &before).map_err(StoreError::Conflict)?;
                sqlx::query("UPDATE orders SET stage = $1, updated_at = $2 WHERE id = $3")
                    .bind(stage)
                    .bind(micros(ctx.now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let customer_name = Self::check_customer(&mut tx, &ctx.program_id, &customer_id).await?;
                Self::order_stage_in(&mut tx, ctx, id, &customer_id, &customer_name, external_id.as_deref(), stage, note).await?;
                Self::audit(&mut tx, ctx, "order.stage_changed", "order", id, serde_json::json!({"from": from, "to": stage})).await?;
                let order = Self::order_in(&mut tx, &ctx.program_id, id).await?.ok_or(StoreError::NotFound("order"))?;
                tx.commit().await?;
                Ok(order)
            }

            // ---- webhooks ----

            pub(crate) async fn create_webhook_op(&self, ctx: &Ctx, url: &str, events: &[String]) -> Result<Webhook> {
                let mut tx = self.begin_write().await?;
                let id = new_id(ids::WEBHOOK);
                let secret = format!("whsec_{}{}", keys::random_token(), keys::random_token());
                sqlx::query("INSERT INTO webhooks (id, program_id, url, secret, events, status, created_at) VALUES ($1, $2, $3, $4, $5, 'active', $6)")
                    .bind(&id)
                    .bind(&ctx.program_id)
                    .bind(url)
                    .bind(&secret)
                    .bind(encode(&events)?)
                    .bind(micros(ctx.now))
                    .execute(&mut *tx)
                    .await?;
                Self::audit(&mut tx, ctx, "webhook.created", "webhook", &id, serde_json::json!({"url": url, "events": events})).await?;
                let w = Self::webhook_in(&mut tx, &ctx.program_id, &id).await?.ok_or(StoreError::NotFound("webhook"))?;
                tx.commit().await?;
                Ok(w)
            }

            async fn webhook_in(conn: &mut <$db as sqlx::Database>::Connection, program_id: &str, id: &str) -> Result<Option<Webhook>> {
                let row: Option<crate::sql::outbox::WebhookRow> =
                    sqlx::query_as("SELECT id, url, secret, events, status, created_at FROM webhooks WHERE program_id = $1 AND id = $2")
                        .bind(program_id)
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?;
                row.map(crate::sql::outbox::webhook_of).transpose()
            }

            pub(crate) async fn list_webhooks_op(&self, program_id: &str) -> Result<Vec<Webhook>> {
                let rows: Vec<crate::sql::outbox::WebhookRow> =
                    sqlx::query_as("SELECT id, url, secret, events, status, created_at FROM webhooks WHERE program_id = $1 ORDER BY id")
                        .bind(program_id)
                        .fetch_all(&self.read)
                        .await?;
                rows.into_iter().map(crate::sql::outbox::webhook_of).collect()
            }

            pub(crate) async fn disable_webhook_op(&self, ctx: &Ctx, id: &str) -> Result<Webhook> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("UPDATE webhooks SET status = 'disabled' WHERE program_id = $1 AND id = $2")
                    .bind(&ctx.program_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound("webhook"));
                }
                // Messages still waiting for it will never be sent.
                sqlx::query("UPDATE outbox SET status = 'cancelled' WHERE destination = $1 AND status = 'pending'")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                Self::audit(&mut tx, ctx, "webhook.disabled", "webhook", id, serde_json::json!({})).await?;
                let w = Self::webhook_in(&mut tx, &ctx.program_id, id).await?.ok_or(StoreError::NotFound("webhook"))?;
                tx.commit().await?;
                Ok(w)
            }

            // ---- delivery ----

            pub(crate) async fn claim_outbox_op(&self, program_id: Option<&str>, now: jiff::Timestamp, lease: jiff::SignedDuration, limit: u32) -> Result<Vec<OutboxMessage>> {
                let mut tx = self.begin_write().await?;
                let n = micros(now);
                // Two `vafa serve` processes on PostgreSQL skip each other's rows.
                let skip = if $lock.is_empty() { "" } else { " FOR UPDATE OF o SKIP LOCKED" };
                // A message for a webhook disabled since it was queued is not claimed
                // (disabling cancels what was pending; this covers a retried dead letter).
                let sql = format!(
                    "SELECT o.id FROM outbox o LEFT JOIN webhooks w ON w.id = o.destination \
                     WHERE o.status = 'pending' AND o.available_at <= $1 AND (o.leased_until IS NULL OR o.leased_until <= $1) \
                     AND (o.destination = 'log' OR w.status = 'active') AND ($3 IS NULL OR o.program_id = $3) \
                     ORDER BY o.available_at, o.id LIMIT $2{skip}"
                );
                let ids: Vec<(String,)> =
                    sqlx::query_as(&sql).bind(n).bind(i64::from(limit)).bind(program_id).fetch_all(&mut *tx).await?;
                let until = micros(now.saturating_add(lease).map_err(|e| StoreError::Corrupt(e.to_string()))?);
                // One lease id per claim: completions must name it (fencing).
                let lease_id = new_id(ids::LEASE);
                let mut out = Vec::with_capacity(ids.len());
                for (id,) in ids {
                    sqlx::query("UPDATE outbox SET leased_until = $1, lease_id = $2 WHERE id = $3").bind(until).bind(&lease_id).bind(&id).execute(&mut *tx).await?;
                    let sql = format!("SELECT {} FROM outbox o LEFT JOIN webhooks w ON w.id = o.destination WHERE o.id = $1", crate::sql::outbox::OUTBOX_COLUMNS);
                    let row: crate::sql::outbox::OutboxRow = sqlx::query_as(&sql).bind(&id).fetch_one(&mut *tx).await?;
                    out.push(row.try_into()?);
                }
                tx.commit().await?;
                Ok(out)
            }

            pub(crate) async fn outbox_delivered_op(&self, id: &str, lease_id: &str, now: jiff::Timestamp) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, leased_until = NULL, lease_id = NULL, last_error = NULL \
                     WHERE id = $2 AND lease_id = $3 AND status = 'pending'",
                )
                .bind(micros(now))
                .bind(id)
                .bind(lease_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            pub(crate) async fn outbox_failed_op(&self, id: &str, lease_id: &str, error: &str, retry_at: Option<jiff::Timestamp>) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let error: String = error.chars().take(500).collect();
                let n = sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1, leased_until = NULL, lease_id = NULL, \
                     status = CASE WHEN $2 IS NULL THEN 'dead' ELSE status END, available_at = COALESCE($2, available_at) \
                     WHERE id = $3 AND lease_id = $4 AND status = 'pending'",
                )
                .bind(&error)
                .bind(retry_at.map(micros))
                .bind(id)
                .bind(lease_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            pub(crate) async fn list_outbox_op(&self, program_id: &str, status: Option<&str>, page: &PageRequest) -> Result<Page<OutboxMessage>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM outbox o LEFT JOIN webhooks w ON w.id = o.destination WHERE o.program_id = ",
                    crate::sql::outbox::OUTBOX_COLUMNS
                ));
                b.push_bind(program_id);
                if let Some(s) = status {
                    b.push(" AND o.status = ").push_bind(s.to_owned());
                }
                if let Some(c) = &page.cursor {
                    b.push(" AND o.id < ").push_bind(c.clone());
                }
                let limit = page.limit();
                b.push(" ORDER BY o.id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                let mut rows: Vec<crate::sql::outbox::OutboxRow> = b.build_query_as().fetch_all(&self.read).await?;
                let next_cursor = page_cursor(&mut rows, limit, |r| r.id.clone());
                Ok(Page { items: rows.into_iter().map(TryInto::try_into).collect::<Result<_>>()?, next_cursor })
            }

            pub(crate) async fn retry_outbox_op(&self, ctx: &Ctx, id: &str) -> Result<OutboxMessage> {
                let mut tx = self.begin_write().await?;
                // A dead letter for a disabled webhook stays dead: nothing would receive it.
                let n = sqlx::query(
                    "UPDATE outbox SET status = 'pending', attempts = 0, available_at = $1, leased_until = NULL, lease_id = NULL \
                     WHERE program_id = $2 AND id = $3 AND status = 'dead' \
                     AND (destination = 'log' OR destination IN (SELECT id FROM webhooks WHERE program_id = $2 AND status = 'active'))",
                )
                    .bind(micros(ctx.now))
                    .bind(&ctx.program_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    let exists: Option<(String,)> = sqlx::query_as("SELECT status FROM outbox WHERE program_id = $1 AND id = $2")
                        .bind(&ctx.program_id).bind(id).fetch_optional(&mut *tx).await?;
                    return Err(match exists {
                        None => StoreError::NotFound("outbox message"),
                        Some((s,)) if s == "dead" => StoreError::Conflict("its webhook is disabled, so nothing would receive it".into()),
                        Some((s,)) => StoreError::Conflict(format!("only dead messages are retried; this one is {s}")),
                    });
                }
                Self::audit(&mut tx, ctx, "outbox.retried", "outbox", id, serde_json::json!({})).await?;
                let sql = format!("SELECT {} FROM outbox o LEFT JOIN webhooks w ON w.id = o.destination WHERE o.id = $1", crate::sql::outbox::OUTBOX_COLUMNS);
                let row: crate::sql::outbox::OutboxRow = sqlx::query_as(&sql).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }
        }
    };
}
pub(crate) use outbox_ops;
