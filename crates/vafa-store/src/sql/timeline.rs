//! Reads across the CRM: the customer's merged timeline and staff performance.

/// Every source of the timeline as one `UNION ALL` of
/// (at, kind, id, title, text, ref_id, staff_id, value, detail); `$1` program, `$2` customer.
/// A campaign's gift (`gift`) carries its reward's definition as the title; the caller
/// turns it into the reward's name.
pub(crate) const TIMELINE_SQL: &str = "SELECT at, kind, id, title, text, ref_id, staff_id, value, detail FROM ( \
    SELECT occurred_at AS at, 'interaction' AS kind, id, kind AS title, summary AS text, COALESCE(ticket_id, order_id) AS ref_id, staff_id, CAST(NULL AS BIGINT) AS value, outcome AS detail \
      FROM interactions WHERE program_id = $1 AND customer_id = $2 \
    UNION ALL SELECT occurred_at, 'purchase', id, external_id, store, CAST(NULL AS TEXT), CAST(NULL AS TEXT), total_minor, CAST(NULL AS TEXT) \
      FROM purchases WHERE program_id = $1 AND customer_id = $2 \
    UNION ALL SELECT e.at, 'ledger', e.id, e.kind, e.explanation, e.purchase_id, CAST(NULL AS TEXT), \
      (SELECT CAST(SUM(p.amount) AS BIGINT) FROM postings p JOIN accounts a ON a.id = p.account_id \
        WHERE p.entry_id = e.id AND a.kind = 'customer_points' AND a.customer_id = e.customer_id), CAST(NULL AS TEXT) \
      FROM journal_entries e WHERE e.program_id = $1 AND e.customer_id = $2 AND e.kind NOT IN ('purchase', 'imported') \
    UNION ALL SELECT at, 'ticket', id, kind, CASE WHEN kind = 'assigned' THEN CAST(NULL AS TEXT) ELSE body END, ticket_id, staff_id, CAST(NULL AS BIGINT), \
      CASE WHEN kind = 'status' THEN to_status WHEN kind = 'assigned' THEN body ELSE CAST(NULL AS TEXT) END \
      FROM ticket_events WHERE program_id = $1 AND customer_id = $2 \
    UNION ALL SELECT created_at, 'task', id, title, notes, ticket_id, created_by, CAST(NULL AS BIGINT), kind \
      FROM tasks WHERE program_id = $1 AND customer_id = $2 \
    UNION ALL SELECT closed_at, 'task_closed', id, status, close_note, id, closed_by, CAST(NULL AS BIGINT), kind \
      FROM tasks WHERE program_id = $1 AND customer_id = $2 AND closed_at IS NOT NULL \
    UNION ALL SELECT answered_at, 'feedback', id, kind, comment, COALESCE(ticket_id, purchase_id), staff_id, score, CAST(NULL AS TEXT) \
      FROM feedback WHERE program_id = $1 AND customer_id = $2 AND status = 'answered' \
    UNION ALL SELECT at, 'order', id, stage, note, order_id, staff_id, CAST(NULL AS BIGINT), CAST(NULL AS TEXT) \
      FROM order_events WHERE program_id = $1 AND customer_id = $2 \
    UNION ALL SELECT c.created_at, 'gift', c.id, r.definition, c.code, c.reward_id, CAST(NULL AS TEXT), CAST(NULL AS BIGINT), c.status \
      FROM reward_claims c JOIN rewards r ON r.id = c.reward_id WHERE c.program_id = $1 AND c.customer_id = $2 AND c.points = 0 \
    UNION ALL SELECT k.issued_at, 'coupon', k.code, b.name, k.code, k.batch_id, CAST(NULL AS TEXT), CAST(NULL AS BIGINT), \
      CASE WHEN k.uses > 0 THEN 'used' WHEN k.max_uses = 0 THEN 'void' ELSE 'issued' END \
      FROM coupon_codes k JOIN coupon_batches b ON b.id = k.batch_id WHERE k.program_id = $1 AND k.issued_to = $2 AND k.issued_at IS NOT NULL \
    ) t WHERE at < $3 OR (at = $3 AND (kind < $4 OR (kind = $4 AND id < $5))) \
    ORDER BY at DESC, kind DESC, id DESC LIMIT $6";

pub(crate) type TimelineRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

macro_rules! timeline_ops {
    ($db:ty) => {
        impl SqlStore<$db> {
            pub(crate) async fn customer_timeline_op(&self, program_id: &str, customer_id: &str, page: &PageRequest) -> Result<Page<TimelineItem>> {
                let mut conn = self.read.acquire().await?;
                Self::check_customer(&mut conn, program_id, customer_id).await?;
                // The cursor is the last item's (at, kind, id).
                let (at, kind, id) = match &page.cursor {
                    None => (i64::MAX, String::new(), String::new()),
                    Some(c) => {
                        let mut parts = c.splitn(3, '~');
                        let bad = || StoreError::InvalidField { field: "cursor".into(), message: "not a cursor this list gave out".into() };
                        let at = parts.next().and_then(|p| p.parse::<i64>().ok()).ok_or_else(bad)?;
                        let kind = parts.next().ok_or_else(bad)?.to_owned();
                        let id = parts.next().ok_or_else(bad)?.to_owned();
                        (at, kind, id)
                    }
                };
                let limit = page.limit();
                let mut rows: Vec<crate::sql::timeline::TimelineRow> = sqlx::query_as(crate::sql::timeline::TIMELINE_SQL)
                    .bind(program_id)
                    .bind(customer_id)
                    .bind(at)
                    .bind(&kind)
                    .bind(&id)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&mut *conn)
                    .await?;
                let next_cursor = page_cursor(&mut rows, limit, |r| format!("{}~{}~{}", r.0, r.1, r.2));
                let items = rows
                    .into_iter()
                    .map(|r| {
                        let title = match r.1.as_str() {
                            "gift" => r.3.and_then(|d| serde_json::from_str::<vafa_core::rewards::RewardDef>(&d).ok()).map(|d| d.name),
                            _ => r.3,
                        };
                        Ok(TimelineItem { at: from_micros(r.0)?, kind: r.1, id: r.2, title, text: r.4, ref_id: r.5, staff_id: r.6, value: r.7, detail: r.8 })
                    })
                    .collect::<Result<_>>()?;
                Ok(Page { items, next_cursor })
            }

            pub(crate) async fn staff_performance_op(&self, program_id: &str, from: jiff::Timestamp, to: jiff::Timestamp, now: jiff::Timestamp) -> Result<Vec<StaffPerformance>> {
                use std::collections::HashMap;
                let mut conn = self.read.acquire().await?;
                let (f, t, n) = (micros(from), micros(to), micros(now));
                let count = |rows: Vec<(String, i64)>| rows.into_iter().collect::<HashMap<_, _>>();
                let interactions: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT staff_id, COUNT(*) FROM interactions WHERE program_id = $1 AND staff_id IS NOT NULL AND occurred_at >= $2 AND occurred_at < $3 GROUP BY staff_id",
                ).bind(program_id).bind(f).bind(t).fetch_all(&mut *conn).await?;
                let replies: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT staff_id, COUNT(*) FROM ticket_events WHERE program_id = $1 AND kind = 'reply' AND staff_id IS NOT NULL AND at >= $2 AND at < $3 GROUP BY staff_id",
                ).bind(program_id).bind(f).bind(t).fetch_all(&mut *conn).await?;
                let resolved: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT resolved_by, COUNT(*) FROM tickets WHERE program_id = $1 AND resolved_by IS NOT NULL AND resolved_at >= $2 AND resolved_at < $3 GROUP BY resolved_by",
                ).bind(program_id).bind(f).bind(t).fetch_all(&mut *conn).await?;
                let breaches: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT assignee_id, COUNT(*) FROM tickets WHERE program_id = $1 AND assignee_id IS NOT NULL AND opened_at >= $2 AND opened_at < $3 \
                     AND ((first_response_at IS NULL AND status IN ('new', 'in_progress', 'waiting_on_customer') AND first_response_due < $4) \
                       OR first_response_at > first_response_due \
                       OR (resolved_at IS NULL AND status IN ('new', 'in_progress', 'waiting_on_customer') AND COALESCE(paused_at, $4) > resolution_due) \
                       OR resolved_at > resolution_due) GROUP BY assignee_id",
                ).bind(program_id).bind(f).bind(t).bind(n).fetch_all(&mut *conn).await?;
                let csat: Vec<(String, i64, i64)> = sqlx::query_as(
                    "SELECT staff_id, COUNT(*), CAST(SUM(score) AS BIGINT) FROM feedback WHERE program_id = $1 AND kind = 'csat' AND status = 'answered' \
                     AND staff_id IS NOT NULL AND answered_at >= $2 AND answered_at < $3 GROUP BY staff_id",
                ).bind(program_id).bind(f).bind(t).fetch_all(&mut *conn).await?;
                let promises: Vec<(String, String, i64, i64)> = sqlx::query_as(
                    "SELECT assignee_id, status, COUNT(*), CAST(SUM(CASE WHEN due_at < $4 THEN 1 ELSE 0 END) AS BIGINT) FROM tasks \
                     WHERE program_id = $1 AND kind = 'promise' AND assignee_id IS NOT NULL AND due_at >= $2 AND due_at < $3 GROUP BY assignee_id, status",
                ).bind(program_id).bind(f).bind(t).bind(n).fetch_all(&mut *conn).await?;
                let (interactions, replies, resolved, breaches) = (count(interactions), count(replies), count(resolved), count(breaches));
                let staff = self.list_staff_op(program_id).await?;
                Ok(staff
                    .into_iter()
                    .map(|s| {
                        let get = |m: &HashMap<String, i64>| m.get(&s.id).copied().unwrap_or(0);
                        let (answers, sum) = csat.iter().find(|r| r.0 == s.id).map(|r| (r.1, r.2)).unwrap_or((0, 0));
                        let promised = |status: &str, pick: fn(&(String, String, i64, i64)) -> i64| -> i64 {
                            promises.iter().filter(|r| r.0 == s.id && r.1 == status).map(pick).sum()
                        };
                        let kept = promised("kept", |r| r.2);
                        let missed = promised("missed", |r| r.2);
                        let overdue = promised("open", |r| r.3);
                        let judged = kept + missed + overdue;
                        StaffPerformance {
                            interactions: get(&interactions),
                            replies: get(&replies),
                            tickets_resolved: get(&resolved),
                            sla_breaches: get(&breaches),
                            csat_answers: answers,
                            csat_average: (answers > 0).then(|| sum as f64 / answers as f64),
                            promises_kept: kept,
                            promises_missed: missed,
                            promises_overdue: overdue,
                            promises_kept_percent: (judged > 0).then(|| 100.0 * kept as f64 / judged as f64),
                            staff_id: s.id,
                            name: s.name,
                        }
                    })
                    .collect())
            }
        }
    };
}
pub(crate) use timeline_ops;
