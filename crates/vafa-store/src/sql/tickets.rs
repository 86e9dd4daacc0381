//! Tickets with business-hours SLA clocks, and feedback (NPS, CSAT, token links).

use crate::crm_model::*;
use crate::sql::{from_micros, parse_col};
use crate::StoreError;
use jiff::Timestamp;

pub(crate) const TICKET_COLUMNS: &str = "id, number, customer_id, subject, category, priority, channel, status, assignee_id, created_by, purchase_id, \
     opened_at, first_response_due, resolution_due, first_response_at, paused_at, resolved_at, resolved_by, closed_at, goodwill_points, goodwill_entry_id, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct TicketRow {
    pub id: String,
    pub number: i64,
    pub customer_id: String,
    pub subject: String,
    pub category: String,
    pub priority: String,
    pub channel: String,
    pub status: String,
    pub assignee_id: Option<String>,
    pub created_by: Option<String>,
    pub purchase_id: Option<String>,
    pub opened_at: i64,
    pub first_response_due: i64,
    pub resolution_due: i64,
    pub first_response_at: Option<i64>,
    pub paused_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub closed_at: Option<i64>,
    pub goodwill_points: i64,
    pub goodwill_entry_id: Option<String>,
    pub updated_at: i64,
}

impl TicketRow {
    pub(crate) fn ticket(self, now: Timestamp) -> Result<Ticket, StoreError> {
        let t = |v: i64| from_micros(v);
        let o = |v: Option<i64>| v.map(from_micros).transpose();
        let status: vafa_core::crm::TicketStatus = parse_col("status", &self.status)?;
        let first_response_due = t(self.first_response_due)?;
        let resolution_due = t(self.resolution_due)?;
        let first_response_at = o(self.first_response_at)?;
        let resolved_at = o(self.resolved_at)?;
        let paused_at = o(self.paused_at)?;
        let first_response_breached = match first_response_at {
            Some(at) => at > first_response_due,
            None => status.is_open() && now > first_response_due,
        };
        // While paused the clock stood still at the moment it stopped.
        let resolution_breached = match resolved_at {
            Some(at) => at > resolution_due,
            None => status.is_open() && paused_at.unwrap_or(now) > resolution_due,
        };
        Ok(Ticket {
            priority: parse_col("priority", &self.priority)?,
            channel: parse_col("channel", &self.channel)?,
            status,
            opened_at: t(self.opened_at)?,
            first_response_due,
            resolution_due,
            first_response_at,
            paused_at,
            resolved_at,
            closed_at: o(self.closed_at)?,
            updated_at: t(self.updated_at)?,
            first_response_breached,
            resolution_breached,
            id: self.id,
            number: self.number,
            customer_id: self.customer_id,
            subject: self.subject,
            category: self.category,
            assignee_id: self.assignee_id,
            created_by: self.created_by,
            purchase_id: self.purchase_id,
            resolved_by: self.resolved_by,
            goodwill_points: self.goodwill_points,
            goodwill_entry_id: self.goodwill_entry_id,
        })
    }
}

pub(crate) const EVENT_COLUMNS: &str =
    "id, kind, from_status, to_status, body, template_key, staff_id, at";

pub(crate) type EventRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

pub(crate) fn event_of(r: EventRow) -> Result<TicketEvent, StoreError> {
    Ok(TicketEvent {
        id: r.0,
        kind: r.1,
        from_status: r.2,
        to_status: r.3,
        body: r.4,
        template_key: r.5,
        staff_id: r.6,
        at: from_micros(r.7)?,
    })
}

pub(crate) const FEEDBACK_COLUMNS: &str = "id, customer_id, kind, score, comment, purchase_id, ticket_id, staff_id, token, locale, status, expires_at, answered_at, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct FeedbackRow {
    pub id: String,
    pub customer_id: Option<String>,
    pub kind: String,
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub purchase_id: Option<String>,
    pub ticket_id: Option<String>,
    pub staff_id: Option<String>,
    pub token: Option<String>,
    pub locale: String,
    pub status: String,
    pub expires_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub created_at: i64,
}

impl TryFrom<FeedbackRow> for Feedback {
    type Error = StoreError;
    fn try_from(r: FeedbackRow) -> Result<Self, StoreError> {
        Ok(Feedback {
            kind: parse_col("kind", &r.kind)?,
            expires_at: r.expires_at.map(from_micros).transpose()?,
            answered_at: r.answered_at.map(from_micros).transpose()?,
            created_at: from_micros(r.created_at)?,
            id: r.id,
            customer_id: r.customer_id,
            score: r.score,
            comment: r.comment,
            purchase_id: r.purchase_id,
            ticket_id: r.ticket_id,
            staff_id: r.staff_id,
            token: r.token,
            locale: r.locale,
            status: r.status,
        })
    }
}

macro_rules! ticket_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            pub(crate) async fn open_ticket_op(&self, ctx: &Ctx, t: &NewTicket) -> Result<TicketDetail> {
                let mut tx = self.begin_write().await?;
                // Numbers count up per program: take the program row first (PostgreSQL). A
                // NO KEY UPDATE lock serializes ticket numbers without blocking the FOR KEY
                // SHARE locks every other write referencing the program takes.
                let lock = format!("SELECT id FROM programs WHERE id = $1{}", $lock.replace("FOR UPDATE", "FOR NO KEY UPDATE"));
                sqlx::query(&lock).bind(&ctx.program_id).execute(&mut *tx).await?;
                let customer_name = Self::check_open_customer(&mut tx, &ctx.program_id, &t.customer_id).await?;
                Self::check_staff(&mut tx, &ctx.program_id, "assignee_id", t.assignee_id.as_deref()).await?;
                if let Some(p) = &t.purchase_id {
                    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM purchases WHERE program_id = $1 AND id = $2 AND customer_id = $3")
                        .bind(&ctx.program_id).bind(p).bind(&t.customer_id).fetch_optional(&mut *tx).await?;
                    if found.is_none() {
                        return Err(StoreError::InvalidField { field: "purchase_id".into(), message: "no such purchase of this customer".into() });
                    }
                }
                let (settings, cal) = Self::calendar_in(&mut tx, &ctx.program_id).await?;
                let targets = settings.sla.targets(t.priority);
                let first_due = cal.add_minutes(ctx.now, i64::from(targets.first_response_minutes));
                let resolution_due = cal.add_minutes(ctx.now, i64::from(targets.resolution_minutes));
                let (number,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(number), 0) + 1 FROM tickets WHERE program_id = $1")
                    .bind(&ctx.program_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let id = new_id(ids::TICKET);
                sqlx::query(
                    "INSERT INTO tickets (id, program_id, number, customer_id, subject, category, priority, channel, status, assignee_id, created_by, purchase_id, \
                     opened_at, first_response_due, resolution_due, goodwill_points, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'new', $9, $10, $11, $12, $13, $14, 0, $12)",
                )
                .bind(&id)
                .bind(&ctx.program_id)
                .bind(number)
                .bind(&t.customer_id)
                .bind(&t.subject)
                .bind(&t.category)
                .bind(t.priority.as_str())
                .bind(t.channel.as_str())
                .bind(&t.assignee_id)
                .bind(ctx.actor.staff_id())
                .bind(&t.purchase_id)
                .bind(micros(ctx.now))
                .bind(micros(first_due))
                .bind(micros(resolution_due))
                .execute(&mut *tx)
                .await?;
                Self::ticket_event(&mut tx, ctx, &id, &t.customer_id, "opened", None, Some("new"), t.description.as_deref(), None).await?;
                let payload = serde_json::json!({
                    "ticket_id": id, "number": number, "subject": t.subject, "customer_name": customer_name,
                    "priority": t.priority.as_str(), "first_response_due": first_due, "resolution_due": resolution_due,
                });
                Self::enqueue(&mut tx, &ctx.program_id, "ticket.opened", Some(&t.customer_id), "ticket", &id, payload, ctx.now, ctx.now).await?;
                Self::audit(&mut tx, ctx, "ticket.opened", "ticket", &id, serde_json::json!({"number": number, "priority": t.priority.as_str()})).await?;
                let detail = Self::ticket_in(&mut tx, &ctx.program_id, &id, ctx.now).await?.ok_or(StoreError::NotFound("ticket"))?;
                tx.commit().await?;
                Ok(detail)
            }

            #[allow(clippy::too_many_arguments)]
            async fn ticket_event(
                conn: &mut <$db as sqlx::Database>::Connection,
                ctx: &Ctx,
                ticket_id: &str,
                customer_id: &str,
                kind: &str,
                from: Option<&str>,
                to: Option<&str>,
                body: Option<&str>,
                template_key: Option<&str>,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO ticket_events (id, ticket_id, program_id, customer_id, kind, from_status, to_status, body, template_key, staff_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(new_id(ids::TICKET_EVENT))
                .bind(ticket_id)
                .bind(&ctx.program_id)
                .bind(customer_id)
                .bind(kind)
                .bind(from)
                .bind(to)
                .bind(body)
                .bind(template_key)
                .bind(ctx.actor.staff_id())
                .bind(micros(ctx.now))
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn ticket_row_in(conn: &mut <$db as sqlx::Database>::Connection, program_id: &str, id: &str) -> Result<Option<crate::sql::tickets::TicketRow>> {
                let sql = format!("SELECT {} FROM tickets WHERE program_id = $1 AND id = $2{}", crate::sql::tickets::TICKET_COLUMNS, $lock);
                Ok(sqlx::query_as(&sql).bind(program_id).bind(id).fetch_optional(&mut *conn).await?)
            }

            async fn ticket_in(conn: &mut <$db as sqlx::Database>::Connection, program_id: &str, id: &str, now: jiff::Timestamp) -> Result<Option<TicketDetail>> {
                let sql = format!("SELECT {} FROM tickets WHERE program_id = $1 AND id = $2", crate::sql::tickets::TICKET_COLUMNS);
                let row: Option<crate::sql::tickets::TicketRow> = sqlx::query_as(&sql).bind(program_id).bind(id).fetch_optional(&mut *conn).await?;
                let Some(row) = row else { return Ok(None) };
                let sql = format!("SELECT {} FROM ticket_events WHERE ticket_id = $1 ORDER BY at, id", crate::sql::tickets::EVENT_COLUMNS);
                let events: Vec<crate::sql::tickets::EventRow> = sqlx::query_as(&sql).bind(id).fetch_all(&mut *conn).await?;
                Ok(Some(TicketDetail {
                    ticket: row.ticket(now)?,
                    events: events.into_iter().map(crate::sql::tickets::event_of).collect::<Result<_>>()?,
                }))
            }

            pub(crate) async fn get_ticket_op(&self, program_id: &str, id: &str, now: jiff::Timestamp) -> Result<Option<TicketDetail>> {
                let mut conn = self.read.acquire().await?;
                Self::ticket_in(&mut conn, program_id, id, now).await
            }

            pub(crate) async fn list_tickets_op(&self, program_id: &str, q: &TicketQuery, now: jiff::Timestamp) -> Result<Page<Ticket>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(format!("SELECT {} FROM tickets WHERE program_id = ", crate::sql::tickets::TICKET_COLUMNS));
                b.push_bind(program_id);
                if let Some(s) = q.status {
                    b.push(" AND status = ").push_bind(s.as_str());
                }
                if q.open {
                    b.push(" AND status IN ('new', 'in_progress', 'waiting_on_customer')");
                }
                if let Some(a) = &q.assignee_id {
                    b.push(" AND assignee_id = ").push_bind(a.clone());
                }
                if let Some(c) = &q.customer_id {
                    b.push(" AND customer_id = ").push_bind(c.clone());
                }
                if q.breached {
                    let n = micros(now);
                    b.push(" AND ((first_response_at IS NULL AND status IN ('new', 'in_progress', 'waiting_on_customer') AND first_response_due < ")
                        .push_bind(n)
                        .push(") OR first_response_at > first_response_due OR (resolved_at IS NULL AND status IN ('new', 'in_progress', 'waiting_on_customer') AND COALESCE(paused_at, ")
                        .push_bind(n)
                        .push(") > resolution_due) OR resolved_at > resolution_due)");
                }
                if let Some(c) = &q.page.cursor {
                    b.push(" AND id < ").push_bind(c.clone());
                }
                let limit = q.page.limit();
                b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                let mut rows: Vec<crate::sql::tickets::TicketRow> = b.build_query_as().fetch_all(&self.read).await?;
                let next_cursor = page_cursor(&mut rows, limit, |r| r.id.clone());
                Ok(Page { items: rows.into_iter().map(|r| r.ticket(now)).collect::<Result<_>>()?, next_cursor })
            }

            pub(crate) async fn change_ticket_op(&self, ctx: &Ctx, id: &str, change: &TicketChange, idem: Option<&Idempotency>) -> Result<Replayed<TicketDetail>> {
                use vafa_core::crm::TicketStatus;
                let mut tx = self.begin_write().await?;
                if let Some(value) = Self::idem_lookup(&mut tx, &ctx.program_id, idem).await? {
                    // A replay waits, like any write, until what it repeats is durable.
                    tx.commit().await?;
                    return Ok(Replayed { value, replayed: true });
                }
                let row = Self::ticket_row_in(&mut tx, &ctx.program_id, id).await?.ok_or(StoreError::NotFound("ticket"))?;
                let customer_id = row.customer_id.clone();
                let current = row.ticket(ctx.now)?;
                let now = micros(ctx.now);
                match change {
                    TicketChange::Reply { body, template_key, note } => {
                        let kind = if *note { "note" } else { "reply" };
                        let mut to = None;
                        if !note {
                            // The first answer to the customer starts the work.
                            if current.status == TicketStatus::New {
                                to = Some(TicketStatus::InProgress.as_str());
                            }
                            sqlx::query("UPDATE tickets SET first_response_at = COALESCE(first_response_at, $1), status = $2, updated_at = $1 WHERE id = $3")
                                .bind(now)
                                .bind(to.unwrap_or(current.status.as_str()))
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                            let payload = serde_json::json!({"ticket_id": id, "number": current.number, "body": body, "template_key": template_key});
                            Self::enqueue(&mut tx, &ctx.program_id, "ticket.reply", Some(&customer_id), "ticket", id, payload, ctx.now, ctx.now).await?;
                        } else {
                            sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *tx).await?;
                        }
                        let from = to.map(|_| current.status.as_str());
                        Self::ticket_event(&mut tx, ctx, id, &customer_id, kind, from, to, Some(body), template_key.as_deref()).await?;
                    }
                    TicketChange::Assign { assignee_id } => {
                        Self::check_staff(&mut tx, &ctx.program_id, "assignee_id", assignee_id.as_deref()).await?;
                        sqlx::query("UPDATE tickets SET assignee_id = $1, updated_at = $2 WHERE id = $3")
                            .bind(assignee_id)
                            .bind(now)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        Self::ticket_event(&mut tx, ctx, id, &customer_id, "assigned", None, None, assignee_id.as_deref(), None).await?;
                    }
                    TicketChange::Status { to, note, goodwill_points } => {
                        let to = *to;
                        if !current.status.can_move_to(to) {
                            return Err(StoreError::Conflict(format!(
                                "a ticket cannot move from {} to {}",
                                current.status.as_str(),
                                to.as_str()
                            )));
                        }
                        let (settings, cal) = Self::calendar_in(&mut tx, &ctx.program_id).await?;
                        if *goodwill_points != 0 {
                            if to != TicketStatus::Resolved {
                                return Err(StoreError::InvalidField { field: "goodwill_points".into(), message: "goodwill is granted when resolving".into() });
                            }
                            let total = current.goodwill_points.checked_add(*goodwill_points);
                            if *goodwill_points < 0 || total.is_none_or(|t| t > settings.goodwill_max_points) {
                                return Err(StoreError::InvalidField {
                                    field: "goodwill_points".into(),
                                    message: format!("must be positive and bring the ticket's goodwill to at most {} (the program's limit)", settings.goodwill_max_points),
                                });
                            }
                            // Across the customer's tickets too: what the last 30 days granted.
                            let since = ctx.now.checked_sub(jiff::SignedDuration::from_hours(24 * 30)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            let (granted,): (Option<i64>,) = sqlx::query_as(
                                "SELECT CAST(SUM(p.amount) AS BIGINT) FROM journal_entries e JOIN postings p ON p.entry_id = e.id \
                                 JOIN accounts a ON a.id = p.account_id AND a.kind = 'customer_points' AND a.customer_id = e.customer_id \
                                 WHERE e.program_id = $1 AND e.customer_id = $2 AND e.kind = 'goodwill' AND e.at >= $3",
                            )
                            .bind(&ctx.program_id)
                            .bind(&customer_id)
                            .bind(micros(since))
                            .fetch_one(&mut *tx)
                            .await?;
                            let granted = granted.unwrap_or(0);
                            let limit = settings.goodwill_customer_limit();
                            if granted.checked_add(*goodwill_points).is_none_or(|t| t > limit) {
                                return Err(StoreError::InvalidField {
                                    field: "goodwill_points".into(),
                                    message: format!(
                                        "the customer was granted {granted} goodwill points in the last 30 days; at most {limit} are allowed (the program's limit per customer), so at most {} more",
                                        (limit - granted).max(0)
                                    ),
                                });
                            }
                        }
                        // Leaving "waiting on the customer" moves the resolution deadline by the
                        // business time spent waiting.
                        let mut resolution_due = current.resolution_due;
                        let mut paused_at = current.paused_at;
                        if let Some(p) = paused_at.filter(|_| to != TicketStatus::WaitingOnCustomer) {
                            let waited = cal.business_seconds(p, ctx.now);
                            resolution_due = cal.add_minutes(resolution_due, (waited + 59) / 60);
                            paused_at = None;
                        }
                        if to == TicketStatus::WaitingOnCustomer {
                            paused_at = Some(ctx.now);
                        }
                        let reopening = matches!(current.status, TicketStatus::Resolved | TicketStatus::Closed) && to == TicketStatus::InProgress;
                        if reopening {
                            // A reopened ticket gets a fresh resolution clock from now, not the
                            // first one (long past, which would mark it breached at once).
                            let targets = settings.sla.targets(current.priority);
                            resolution_due = cal.add_minutes(ctx.now, i64::from(targets.resolution_minutes));
                        }
                        let resolved_now = to == TicketStatus::Resolved;
                        let mut goodwill_entry = current.goodwill_entry_id.clone();
                        if *goodwill_points > 0 {
                            let (program, ledger) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                            // As for adjustments: a blocked customer may be compensated, a
                            // closed or erased one not.
                            match Self::lock_customer(&mut tx, &ctx.program_id, &customer_id).await? {
                                CustomerStatus::Active | CustomerStatus::Blocked => {}
                                closed => return Err(StoreError::CustomerClosed(closed.as_str())),
                            }
                            let explanation = serde_json::json!({"reason": note, "points": goodwill_points, "ticket_id": id, "ticket_number": current.number});
                            let entry = Self::grant_points_in(&mut tx, ctx, (&program, &ledger), &customer_id, *goodwill_points, "goodwill", "goodwill", explanation.clone()).await?;
                            Self::audit(&mut tx, ctx, "ledger.goodwill", "customer", &customer_id, explanation).await?;
                            goodwill_entry = Some(entry);
                        }
                        sqlx::query(
                            "UPDATE tickets SET status = $1, resolution_due = $2, paused_at = $3, \
                             resolved_at = CASE WHEN $4 THEN $5 WHEN $6 THEN NULL ELSE resolved_at END, \
                             resolved_by = CASE WHEN $4 THEN $7 WHEN $6 THEN NULL ELSE resolved_by END, \
                             first_response_at = CASE WHEN $4 THEN COALESCE(first_response_at, $5) ELSE first_response_at END, \
                             closed_at = CASE WHEN $8 THEN $5 WHEN $6 THEN NULL ELSE closed_at END, \
                             goodwill_points = goodwill_points + $9, goodwill_entry_id = $10, updated_at = $5 WHERE id = $11",
                        )
                        .bind(to.as_str())
                        .bind(micros(resolution_due))
                        .bind(paused_at.map(micros))
                        .bind(resolved_now)
                        .bind(now)
                        .bind(reopening)
                        .bind(ctx.actor.staff_id().or(current.assignee_id.as_deref()))
                        .bind(to == TicketStatus::Closed)
                        .bind(*goodwill_points)
                        .bind(&goodwill_entry)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        Self::ticket_event(&mut tx, ctx, id, &customer_id, "status", Some(current.status.as_str()), Some(to.as_str()), note.as_deref(), None).await?;
                        if resolved_now {
                            let payload = serde_json::json!({"ticket_id": id, "number": current.number, "goodwill_points": goodwill_points, "note": note});
                            Self::enqueue(&mut tx, &ctx.program_id, "ticket.resolved", Some(&customer_id), "ticket", id, payload, ctx.now, ctx.now).await?;
                        }
                        if to == TicketStatus::Closed {
                            // Closing asks the customer how it went.
                            let staff = current.resolved_by.clone().or(current.assignee_id.clone());
                            let (program, _) = Self::program_and_settings(&mut tx, &ctx.program_id).await?;
                            let request = NewFeedback {
                                kind: vafa_core::crm::FeedbackKind::Csat,
                                score: None,
                                comment: None,
                                customer_id: Some(customer_id.clone()),
                                purchase_id: None,
                                ticket_id: Some(id.to_owned()),
                                staff_id: staff,
                                locale: program.locale.as_str().to_owned(),
                            };
                            Self::insert_feedback(&mut tx, ctx, &request, &settings).await?;
                        }
                    }
                }
                let action = match change {
                    TicketChange::Reply { note: true, .. } => "ticket.noted",
                    TicketChange::Reply { .. } => "ticket.replied",
                    TicketChange::Assign { .. } => "ticket.assigned",
                    TicketChange::Status { .. } => "ticket.status_changed",
                };
                Self::audit(&mut tx, ctx, action, "ticket", id, serde_json::json!({})).await?;
                let detail = Self::ticket_in(&mut tx, &ctx.program_id, id, ctx.now).await?.ok_or(StoreError::NotFound("ticket"))?;
                Self::idem_store(&mut tx, ctx, idem, &detail).await?;
                tx.commit().await?;
                Ok(Replayed { value: detail, replayed: false })
            }

            // ---- feedback ----

            /// Write feedback: an answer when it has a score, else a token request (queued
            /// for the customer).
            async fn insert_feedback(conn: &mut <$db as sqlx::Database>::Connection, ctx: &Ctx, f: &NewFeedback, settings: &CrmSettings) -> Result<String> {
                let valid_days = settings.feedback_valid_days;
                let id = new_id(ids::FEEDBACK);
                let (token, status, expires, answered) = match f.score {
                    Some(_) => (None, "answered", None, Some(micros(ctx.now))),
                    None => {
                        let expires = ctx.now + jiff::SignedDuration::from_hours(24 * i64::from(valid_days));
                        (Some(keys::random_token()), "requested", Some(micros(expires)), None)
                    }
                };
                sqlx::query(
                    "INSERT INTO feedback (id, program_id, customer_id, kind, score, comment, purchase_id, ticket_id, staff_id, token, locale, status, expires_at, answered_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&id)
                .bind(&ctx.program_id)
                .bind(&f.customer_id)
                .bind(f.kind.as_str())
                .bind(f.score)
                .bind(&f.comment)
                .bind(&f.purchase_id)
                .bind(&f.ticket_id)
                .bind(&f.staff_id)
                .bind(&token)
                .bind(&f.locale)
                .bind(status)
                .bind(expires)
                .bind(answered)
                .bind(micros(ctx.now))
                .execute(&mut *conn)
                .await?;
                if let Some(token) = &token {
                    let path = format!("/f/{token}");
                    let url = settings.public_url.as_ref().map(|base| format!("{base}{path}"));
                    let name = match &f.customer_id {
                        Some(c) => Self::check_customer(conn, &ctx.program_id, c).await?,
                        None => String::new(),
                    };
                    let vars = std::collections::BTreeMap::from([("link", url.clone().unwrap_or_else(|| path.clone()))]);
                    let message = Self::message_in(conn, &ctx.program_id, "csat_request", &name, vars).await?;
                    let payload = serde_json::json!({
                        "feedback_id": id, "kind": f.kind.as_str(), "link": path, "url": url,
                        "ticket_id": f.ticket_id, "purchase_id": f.purchase_id, "message": message,
                    });
                    Self::enqueue(conn, &ctx.program_id, "feedback.requested", f.customer_id.as_deref(), "feedback", &id, payload, ctx.now, ctx.now).await?;
                }
                Ok(id)
            }

            pub(crate) async fn record_feedback_op(&self, ctx: &Ctx, f: &NewFeedback) -> Result<Feedback> {
                let mut tx = self.begin_write().await?;
                if let Some(c) = &f.customer_id {
                    Self::check_open_customer(&mut tx, &ctx.program_id, c).await?;
                }
                Self::check_staff(&mut tx, &ctx.program_id, "staff_id", f.staff_id.as_deref()).await?;
                // A CSAT is the customer's word about the staff member who served them: a
                // member of staff does not record one about themselves. (An NPS is about
                // the business; its staff_id is who took it, often the recorder.)
                if f.kind == vafa_core::crm::FeedbackKind::Csat && f.staff_id.is_some() && f.staff_id.as_deref() == ctx.actor.staff_id() {
                    return Err(StoreError::InvalidField { field: "staff_id".into(), message: "names the member of staff recording it; a rating of oneself is not recorded".into() });
                }
                // What the feedback is about must be the same customer's.
                for (field, table, id) in [("ticket_id", "tickets", &f.ticket_id), ("purchase_id", "purchases", &f.purchase_id)] {
                    let Some(id) = id else { continue };
                    let sql = format!("SELECT customer_id FROM {table} WHERE program_id = $1 AND id = $2");
                    let owner: Option<(Option<String>,)> = sqlx::query_as(&sql).bind(&ctx.program_id).bind(id).fetch_optional(&mut *tx).await?;
                    match owner {
                        None => return Err(StoreError::InvalidField { field: field.into(), message: format!("no such {}", &table[..table.len() - 1]) }),
                        Some((owner,)) if f.customer_id.is_some() && owner != f.customer_id => {
                            return Err(StoreError::InvalidField { field: field.into(), message: "belongs to another customer".into() });
                        }
                        Some(_) => {}
                    }
                }
                // One rating of each kind per ticket, whether the customer's link or staff
                // recorded it: more would weigh one ticket many times in the averages.
                if let Some(t) = &f.ticket_id {
                    let (n,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM feedback WHERE program_id = $1 AND ticket_id = $2 AND kind = $3 AND status = 'answered'",
                    )
                    .bind(&ctx.program_id)
                    .bind(t)
                    .bind(f.kind.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    if n > 0 {
                        return Err(StoreError::FeedbackAnswered);
                    }
                }
                let settings = Self::crm_settings_in(&mut tx, &ctx.program_id).await?;
                let id = Self::insert_feedback(&mut tx, ctx, f, &settings).await?;
                Self::audit(&mut tx, ctx, "feedback.recorded", "feedback", &id, serde_json::json!({"kind": f.kind.as_str(), "score": f.score})).await?;
                let fb = Self::feedback_by(&mut tx, "id", &id).await?.ok_or(StoreError::NotFound("feedback"))?;
                tx.commit().await?;
                Ok(fb.1)
            }

            async fn feedback_by(conn: &mut <$db as sqlx::Database>::Connection, column: &str, value: &str) -> Result<Option<(String, Feedback)>> {
                let sql = format!("SELECT program_id, {} FROM feedback WHERE {column} = $1", crate::sql::tickets::FEEDBACK_COLUMNS);
                let row: Option<(String, crate::sql::tickets::FeedbackRow)> = {
                    use sqlx::Row;
                    let r = sqlx::query(&sql).bind(value).fetch_optional(&mut *conn).await?;
                    match r {
                        Some(r) => Some((r.try_get::<String, _>(0)?, <crate::sql::tickets::FeedbackRow as sqlx::FromRow<_>>::from_row(&r)?)),
                        None => None,
                    }
                };
                row.map(|(p, f)| Ok((p, f.try_into()?))).transpose()
            }

            pub(crate) async fn list_feedback_op(&self, program_id: &str, q: &FeedbackQuery) -> Result<Page<Feedback>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(format!("SELECT {} FROM feedback WHERE program_id = ", crate::sql::tickets::FEEDBACK_COLUMNS));
                b.push_bind(program_id).push(" AND status = 'answered'");
                if let Some(k) = q.kind {
                    b.push(" AND kind = ").push_bind(k.as_str());
                }
                if let Some(s) = &q.staff_id {
                    b.push(" AND staff_id = ").push_bind(s.clone());
                }
                if let Some(c) = &q.customer_id {
                    b.push(" AND customer_id = ").push_bind(c.clone());
                }
                if let Some(f) = q.from {
                    b.push(" AND answered_at >= ").push_bind(micros(f));
                }
                if let Some(t) = q.to {
                    b.push(" AND answered_at < ").push_bind(micros(t));
                }
                if let Some(c) = &q.page.cursor {
                    b.push(" AND id < ").push_bind(c.clone());
                }
                let limit = q.page.limit();
                b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                let mut rows: Vec<crate::sql::tickets::FeedbackRow> = b.build_query_as().fetch_all(&self.read).await?;
                let next_cursor = page_cursor(&mut rows, limit, |r| r.id.clone());
                Ok(Page { items: rows.into_iter().map(TryInto::try_into).collect::<Result<_>>()?, next_cursor })
            }

            pub(crate) async fn feedback_form_op(&self, token: &str) -> Result<Option<FeedbackForm>> {
                let mut conn = self.read.acquire().await?;
                let Some((program_id, feedback)) = Self::feedback_by(&mut conn, "token", token).await? else {
                    return Ok(None);
                };
                let (program, _) = Self::program_and_settings(&mut conn, &program_id).await?;
                Ok(Some(FeedbackForm { feedback, program_name: program.name }))
            }

            pub(crate) async fn answer_feedback_op(&self, token: &str, score: i64, comment: Option<&str>, now: jiff::Timestamp) -> Result<Feedback> {
                let mut tx = self.begin_write().await?;
                let (program_id, f) = Self::feedback_by(&mut tx, "token", token).await?.ok_or(StoreError::NotFound("feedback link"))?;
                if f.status == "answered" {
                    return Err(StoreError::FeedbackAnswered);
                }
                if f.expires_at.is_some_and(|e| e <= now) {
                    return Err(StoreError::Conflict("this feedback link has expired".into()));
                }
                f.kind.check_score(score).map_err(|message| StoreError::InvalidField { field: "score".into(), message })?;
                let n = sqlx::query("UPDATE feedback SET score = $1, comment = $2, status = 'answered', answered_at = $3 WHERE id = $4 AND status = 'requested'")
                    .bind(score)
                    .bind(comment)
                    .bind(micros(now))
                    .bind(&f.id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::FeedbackAnswered);
                }
                let ctx = Ctx { program_id, actor: Actor::System, now };
                Self::audit(&mut tx, &ctx, "feedback.answered", "feedback", &f.id, serde_json::json!({"kind": f.kind.as_str(), "score": score})).await?;
                let answered = Self::feedback_by(&mut tx, "id", &f.id).await?.ok_or(StoreError::NotFound("feedback"))?;
                tx.commit().await?;
                Ok(answered.1)
            }
        }
    };
}
pub(crate) use ticket_ops;
