//! Reading the journal page by page, and verifying it from first principles.

macro_rules! ledger_read_ops {
    ($db:ty) => {
        impl SqlStore<$db> {
            pub(crate) async fn customer_ledger_op(&self, program_id: &str, customer_id: &str, page: &PageRequest) -> Result<Page<LedgerLine>> {
                let mut conn = self.read.acquire().await?;
                Self::load_customer(&mut conn, program_id, customer_id, false).await?.ok_or(StoreError::NotFound("customer"))?;
                let accts: Vec<(String, String)> =
                    sqlx::query_as("SELECT id, kind FROM accounts WHERE program_id = $1 AND customer_id = $2")
                        .bind(program_id)
                        .bind(customer_id)
                        .fetch_all(&mut *conn)
                        .await?;
                let points_id = accts.iter().find(|a| a.1 == "customer_points").map(|a| a.0.clone()).unwrap_or_default();
                let cash_id = accts.iter().find(|a| a.1 == "customer_cashback").map(|a| a.0.clone()).unwrap_or_default();
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, kind, at, purchase_id, explanation FROM journal_entries WHERE program_id = ",
                );
                b.push_bind(program_id)
                    .push(" AND (customer_id = ")
                    .push_bind(customer_id)
                    .push(" OR id IN (SELECT entry_id FROM postings WHERE account_id IN (")
                    .push_bind(points_id.clone())
                    .push(", ")
                    .push_bind(cash_id.clone())
                    .push(")))");
                if let Some(cursor) = &page.cursor {
                    b.push(" AND id < ").push_bind(cursor.clone());
                }
                let limit = page.limit();
                b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                let mut entries: Vec<(String, String, i64, Option<String>, String)> = b.build_query_as().fetch_all(&mut *conn).await?;
                let next_cursor = page_cursor(&mut entries, limit, |e| e.0.clone());
                let mut out = Vec::with_capacity(entries.len());
                for (id, kind, at, purchase_id, explanation) in entries {
                    let postings: Vec<(String, i64, i64)> = sqlx::query_as(
                        "SELECT account_id, amount, balance_after FROM postings WHERE entry_id = $1 AND account_id IN ($2, $3) ORDER BY seq",
                    )
                    .bind(&id)
                    .bind(&points_id)
                    .bind(&cash_id)
                    .fetch_all(&mut *conn)
                    .await?;
                    let sum = |acct: &str| postings.iter().filter(|p| p.0 == acct).map(|p| p.1).sum::<i64>();
                    let after = |acct: &str| postings.iter().filter(|p| p.0 == acct).last().map(|p| p.2);
                    out.push(LedgerLine {
                        points: sum(&points_id),
                        points_balance_after: after(&points_id),
                        cashback_minor: sum(&cash_id),
                        cashback_balance_after: after(&cash_id),
                        at: from_micros(at)?,
                        explanation: serde_json::from_str(&explanation).unwrap_or(serde_json::Value::Null),
                        entry_id: id,
                        kind,
                        purchase_id,
                    });
                }
                Ok(Page { items: out, next_cursor })
            }

            pub(crate) async fn get_purchase_op(&self, program_id: &str, id: &str) -> Result<Option<PurchaseDetail>> {
                type Head = (String, String, Option<String>, Option<String>, Option<String>, Option<String>, i64, i64, i64, i64, i64, i64, i64, i64);
                let mut conn = self.read.acquire().await?;
                let head: Option<Head> = sqlx::query_as(
                    "SELECT id, customer_id, card_number, external_id, store, channel, total_minor, returned_minor, points_earned, \
                     points_reversed, cashback_earned, cashback_reversed, occurred_at, created_at \
                     FROM purchases WHERE program_id = $1 AND id = $2",
                )
                .bind(program_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(h) = head else { return Ok(None) };
                let lines: Vec<PurchaseLineDetail> = sqlx::query_as(
                    "SELECT line_no, sku, name, category, quantity, unit_price_minor, amount_minor, points, cashback, returned_quantity \
                     FROM purchase_lines WHERE purchase_id = $1 ORDER BY line_no",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
                let rets: Vec<(String, i64, i64, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
                    "SELECT id, amount_minor, points_reversed, cashback_reversed, at, points_refunded, cashback_refunded, money_refund_minor, \
                     gift_points_reversed, cashback_withheld_minor \
                     FROM purchase_returns \
                     WHERE program_id = $1 AND purchase_id = $2 ORDER BY id",
                )
                .bind(program_id)
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
                let (coupons, gross_minor, discount_minor, points_redeemed, redeemed_value_minor): (Option<String>, i64, i64, i64, i64) =
                    sqlx::query_as(
                        "SELECT coupons, gross_minor, discount_minor, points_redeemed, redeemed_value_minor FROM purchases WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                let checkout = PurchaseCheckout {
                    gross_minor,
                    discount_minor,
                    coupons: coupons.as_deref().map(decode).transpose()?.unwrap_or_default(),
                    points_redeemed,
                    redeemed_value_minor,
                };
                let mut returns = Vec::with_capacity(rets.len());
                for (id, amount_minor, points_reversed, cashback_reversed_minor, at, points_refunded, cashback_refunded_minor, money_refund_minor, tier_gift_points_reversed, cashback_withheld_minor) in rets {
                    returns.push(ReturnSummary {
                        id,
                        amount_minor,
                        points_reversed,
                        tier_gift_points_reversed,
                        cashback_reversed_minor,
                        points_refunded,
                        cashback_refunded_minor,
                        money_refund_minor,
                        cashback_withheld_minor,
                        at: from_micros(at)?,
                    });
                }
                Ok(Some(PurchaseDetail {
                    id: h.0,
                    customer_id: h.1,
                    card_number: h.2,
                    external_id: h.3,
                    store: h.4,
                    channel: h.5,
                    total_minor: h.6,
                    returned_minor: h.7,
                    points_earned: h.8,
                    points_reversed: h.9,
                    cashback_earned_minor: h.10,
                    cashback_reversed_minor: h.11,
                    occurred_at: from_micros(h.12)?,
                    created_at: from_micros(h.13)?,
                    lines,
                    returns,
                    checkout,
                }))
            }

            pub(crate) async fn customer_purchases_op(&self, program_id: &str, customer_id: &str, page: &PageRequest) -> Result<Page<PurchaseSummary>> {
                type Row = (String, Option<String>, Option<String>, Option<String>, i64, i64, i64, i64, i64, i64);
                let mut conn = self.read.acquire().await?;
                Self::load_customer(&mut conn, program_id, customer_id, false).await?.ok_or(StoreError::NotFound("customer"))?;
                let limit = page.limit();
                // Newest recorded first (ids sort by creation), along purchases_customer_idx.
                // The cursor's condition only when there is one, so the index seeks to it.
                let sql = format!(
                    "SELECT id, external_id, store, channel, total_minor, returned_minor, points_earned, points_reversed, \
                     points_redeemed, occurred_at FROM purchases \
                     WHERE program_id = $1 AND customer_id = $2{} ORDER BY id DESC LIMIT $4",
                    if page.cursor.is_some() { " AND id < $3" } else { " AND $3 = ''" },
                );
                let mut rows: Vec<Row> = sqlx::query_as(&sql)
                .bind(program_id)
                .bind(customer_id)
                .bind(page.cursor.as_deref().unwrap_or(""))
                .bind(i64::from(limit) + 1)
                .fetch_all(&mut *conn)
                .await?;
                let next_cursor = page_cursor(&mut rows, limit, |r| r.0.clone());
                let items = rows
                    .into_iter()
                    .map(|r| {
                        Ok(PurchaseSummary {
                            id: r.0,
                            external_id: r.1,
                            store: r.2,
                            channel: r.3,
                            total_minor: r.4,
                            returned_minor: r.5,
                            points_earned: r.6,
                            points_reversed: r.7,
                            points_redeemed: r.8,
                            occurred_at: from_micros(r.9)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Page { items, next_cursor })
            }

            pub(crate) async fn verify_ledger_op(&self, program_id: Option<&str>) -> Result<VerifyReport> {
                let mut conn = self.read.acquire().await?;
                let scope = program_id.unwrap_or("");
                // `$1 = ''` means every program.
                let scoped = |alias: &str| format!("($1 = '' OR {alias}program_id = $1)");
                if let Some(id) = program_id {
                    let known: Option<(String,)> = sqlx::query_as("SELECT id FROM programs WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
                    if known.is_none() {
                        return Err(StoreError::NotFound("program"));
                    }
                }
                let mut report = VerifyReport::default();
                let count = |table: &str| format!("SELECT COUNT(*) FROM {table} WHERE {}", scoped(""));
                for (table, slot) in [("journal_entries", 0), ("postings", 1), ("accounts", 2), ("lots", 3)] {
                    let (n,): (i64,) = sqlx::query_as(&count(table)).bind(scope).fetch_one(&mut *conn).await?;
                    match slot {
                        0 => report.entries = n,
                        1 => report.postings = n,
                        2 => report.accounts = n,
                        _ => report.lots = n,
                    }
                }
                let kinds = crate::ledger_model::ENTRY_KINDS.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
                let checks: [(&str, String); 13] = [
                    ("posting without its entry", format!(
                        "SELECT p.id || ' names entry ' || p.entry_id FROM postings p LEFT JOIN journal_entries e ON e.id = p.entry_id \
                         WHERE e.id IS NULL AND {}", scoped("p."))),
                    ("entry of a kind the ledger does not write", format!(
                        "SELECT id || ' is ' || kind FROM journal_entries WHERE kind NOT IN ({kinds}) AND {}", scoped(""))),
                    ("posting differs from its account", format!(
                        "SELECT p.id || ': ' || p.unit || ' in ' || p.program_id || ' on ' || COALESCE(a.key || ' (' || a.unit || ' in ' || a.program_id || ')', 'a missing account') \
                         FROM postings p LEFT JOIN accounts a ON a.id = p.account_id \
                         WHERE (a.id IS NULL OR a.unit <> p.unit OR a.program_id <> p.program_id) AND {}", scoped("p."))),
                    ("posting is not on its lot's account", format!(
                        "SELECT p.id || ' on ' || p.account_id || ': lot ' || p.lot_id || ' ' || COALESCE('is on ' || l.account_id, 'is missing') \
                         FROM postings p LEFT JOIN lots l ON l.id = p.lot_id \
                         WHERE p.lot_id IS NOT NULL AND (l.id IS NULL OR l.account_id <> p.account_id) AND {}", scoped("p."))),
                    ("lot is not on a customer's points account", format!(
                        "SELECT l.id || ' on ' || COALESCE(a.key, 'a missing account ' || l.account_id) FROM lots l \
                         LEFT JOIN accounts a ON a.id = l.account_id WHERE (a.id IS NULL OR a.kind <> 'customer_points') AND {}", scoped("l."))),
                    ("points balance differs from its lots less its debt", format!(
                        "SELECT a.key || ': balance ' || CAST(a.balance AS TEXT) || ', lots ' || CAST(COALESCE(SUM(l.remaining), 0) AS TEXT) \
                         || ', debt ' || CAST(a.debt AS TEXT) FROM accounts a LEFT JOIN lots l ON l.account_id = a.id \
                         WHERE a.kind = 'customer_points' AND {} GROUP BY a.id, a.key, a.balance, a.debt \
                         HAVING a.balance <> COALESCE(SUM(l.remaining), 0) - a.debt", scoped("a."))),
                    ("entry does not sum to zero", format!(
                        "SELECT entry_id || ' ' || unit || ' sums to ' || CAST(SUM(amount) AS TEXT) FROM postings WHERE {} \
                         GROUP BY entry_id, unit HAVING SUM(amount) <> 0", scoped(""))),
                    ("account balance differs from its postings", format!(
                        "SELECT a.key || ': stored ' || CAST(a.balance AS TEXT) || ', postings ' || CAST(COALESCE(SUM(p.amount), 0) AS TEXT) \
                         FROM accounts a LEFT JOIN postings p ON p.account_id = a.id WHERE {} \
                         GROUP BY a.id, a.key, a.balance HAVING a.balance <> COALESCE(SUM(p.amount), 0)", scoped("a."))),
                    ("customer debt differs from its postings", format!(
                        "SELECT a.key || ': stored ' || CAST(a.debt AS TEXT) || ', postings ' || CAST(-COALESCE(SUM(p.amount), 0) AS TEXT) \
                         FROM accounts a LEFT JOIN postings p ON p.account_id = a.id AND p.lot_id IS NULL \
                         WHERE a.kind = 'customer_points' AND {} GROUP BY a.id, a.key, a.debt \
                         HAVING a.debt <> -COALESCE(SUM(p.amount), 0) OR a.debt < 0", scoped("a."))),
                    ("lot remainder differs from its postings", format!(
                        "SELECT l.id || ': stored ' || CAST(l.remaining AS TEXT) || ', postings ' || CAST(COALESCE(SUM(p.amount), 0) AS TEXT) \
                         FROM lots l LEFT JOIN postings p ON p.lot_id = l.id WHERE {} \
                         GROUP BY l.id, l.remaining HAVING l.remaining <> COALESCE(SUM(p.amount), 0) OR l.remaining < 0", scoped("l."))),
                    ("posting balance_after breaks the running sum", format!(
                        "SELECT account_id || ' seq ' || CAST(seq AS TEXT) FROM (SELECT account_id, seq, balance_after, \
                         SUM(amount) OVER (PARTITION BY account_id ORDER BY seq ROWS UNBOUNDED PRECEDING) AS running, \
                         ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY seq) AS rn FROM postings WHERE {}) t \
                         WHERE running <> balance_after OR rn <> seq", scoped(""))),
                    ("program does not sum to zero", format!(
                        "SELECT program_id || ' ' || unit || ' sums to ' || CAST(SUM(balance) AS TEXT) FROM accounts WHERE {} \
                         GROUP BY program_id, unit HAVING SUM(balance) <> 0", scoped(""))),
                    // The triggers' running summary (migration 0006) against the purchases.
                    ("customer sales summary differs from the purchases", format!(
                        "SELECT g.customer_id || ': purchases ' || CAST(g.n AS TEXT) || ', net ' || CAST(g.net AS TEXT) || ', summary ' \
                         || COALESCE(CAST(s.purchases AS TEXT) || ', net ' || CAST(s.net_minor AS TEXT), 'missing') \
                         FROM (SELECT program_id, customer_id, COUNT(*) AS n, SUM(total_minor - returned_minor) AS net, \
                         MIN(occurred_at) AS f, MAX(occurred_at) AS l FROM purchases WHERE {} GROUP BY program_id, customer_id) g \
                         LEFT JOIN customer_sales s ON s.program_id = g.program_id AND s.customer_id = g.customer_id \
                         WHERE s.customer_id IS NULL OR s.purchases <> g.n OR s.net_minor <> g.net OR s.first_at <> g.f OR s.last_at <> g.l \
                         UNION ALL SELECT s.customer_id || ': summary without purchases' FROM customer_sales s WHERE {} \
                         AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.program_id = s.program_id AND p.customer_id = s.customer_id)",
                        scoped(""), scoped("s."))),
                ];
                for (what, sql) in checks {
                    let rows: Vec<(String,)> = sqlx::query_as(&format!("{sql} LIMIT 100")).bind(scope).fetch_all(&mut *conn).await?;
                    report.problems.extend(rows.into_iter().map(|(detail,)| format!("{what}: {detail}")));
                }
                Ok(report)
            }
        }
    };
}
pub(crate) use ledger_read_ops;
