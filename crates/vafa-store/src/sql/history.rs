//! Writing a [`crate::history::HistoryRows`] chunk: multi-row inserts in one transaction.

/// Bind parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
pub(crate) const MAX_BINDS: usize = 30_000;

macro_rules! history_ops {
    ($db:ty) => {
        impl SqlStore<$db> {
            pub(crate) async fn write_history_op(&self, ctx: &Ctx, rows: &crate::history::HistoryRows) -> Result<()> {
                use crate::sql::history::MAX_BINDS;
                if rows.is_empty() && rows.postings.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                let pid = ctx.program_id.clone();

                for chunk in rows.customers.chunks(MAX_BINDS / 21) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO customers ({CUSTOMER_COLUMNS}, search_name) "));
                    let mut failed = None;
                    b.push_values(chunk, |mut r, c| {
                        let attributes = serde_json::to_string(c.attributes.as_map()).unwrap_or_else(|e| {
                            failed = Some(e.to_string());
                            String::new()
                        });
                        r.push_bind(c.id.clone())
                            .push_bind(c.program_id.clone())
                            .push_bind(c.status.as_str())
                            .push_bind(c.first_name.clone())
                            .push_bind(c.last_name.clone())
                            .push_bind(c.honorific.map(|h| h.as_str()))
                            .push_bind(c.mobile.as_ref().map(|m| m.as_e164().to_owned()))
                            .push_bind(c.email.clone())
                            .push_bind(c.birth_date.map(|d| d.to_string()))
                            .push_bind(c.marriage_date.map(|d| d.to_string()))
                            .push_bind(c.gender.map(|g| g.as_str()))
                            .push_bind(c.city.clone())
                            .push_bind(c.occupation.clone())
                            .push_bind(c.national_id.as_ref().map(|n| n.as_str().to_owned()))
                            .push_bind(c.external_id.clone())
                            .push_bind(attributes)
                            .push_bind(c.merged_into.clone())
                            .push_bind(micros(c.created_at))
                            .push_bind(micros(c.updated_at))
                            .push_bind(c.erased_at.map(micros))
                            .push_bind(Customer::search_name(c.first_name.as_deref(), c.last_name.as_deref()));
                    });
                    if let Some(e) = failed {
                        return Err(StoreError::Corrupt(e));
                    }
                    b.build().execute(&mut *tx).await.map_err(classify)?;
                }
                let tags: Vec<(&str, &str)> = rows.customers.iter().flat_map(|c| c.tags.iter().map(move |t| (c.id.as_str(), t.as_str()))).collect();
                for chunk in tags.chunks(MAX_BINDS / 3) {
                    let mut b = sqlx::QueryBuilder::<$db>::new("INSERT INTO customer_tags (program_id, customer_id, tag) ");
                    b.push_values(chunk, |mut r, (c, t)| {
                        r.push_bind(pid.clone()).push_bind(c.to_string()).push_bind(t.to_string());
                    });
                    b.build().execute(&mut *tx).await?;
                }
                let consents: Vec<(&str, &'static str, &vafa_core::customer::Consent)> = rows
                    .customers
                    .iter()
                    .flat_map(|c| {
                        [("sms", &c.consent_sms), ("email", &c.consent_email), ("call", &c.consent_call)]
                            .into_iter()
                            .filter_map(move |(ch, k)| k.as_ref().map(|k| (c.id.as_str(), ch, k)))
                    })
                    .collect();
                for chunk in consents.chunks(MAX_BINDS / 6) {
                    let mut b = sqlx::QueryBuilder::<$db>::new("INSERT INTO customer_consents (program_id, customer_id, channel, granted, at, source) ");
                    b.push_values(chunk, |mut r, (c, ch, k)| {
                        r.push_bind(pid.clone())
                            .push_bind(c.to_string())
                            .push_bind(*ch)
                            .push_bind(k.granted)
                            .push_bind(micros(k.at))
                            .push_bind(k.source.clone());
                    });
                    b.build().execute(&mut *tx).await?;
                }

                // Accounts the writer places (program accounts, cashback wallets): locked
                // in key order, their postings follow what is stored, in time order.
                let mut placed: std::collections::BTreeMap<String, (crate::sql::ledger_support::AccountSpec, Option<AccountRow>)> = Default::default();
                for p in &rows.postings {
                    if let Some(spec) = &p.placed {
                        placed.entry(spec.key.clone()).or_insert_with(|| (spec.clone(), None));
                    }
                }
                for (spec, row) in placed.values_mut() {
                    *row = Some(Self::lock_account(&mut tx, &pid, spec, ctx.now).await?);
                }
                let ids: std::collections::HashMap<&str, &str> = rows.accounts.iter().map(|a| (a.key.as_str(), a.id.as_str())).collect();
                for chunk in rows.accounts.chunks(MAX_BINDS / 10) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO accounts (id, program_id, key, kind, customer_id, unit, balance, debt, seq, created_at) ",
                    );
                    b.push_values(chunk, |mut r, a| {
                        r.push_bind(a.id.clone())
                            .push_bind(pid.clone())
                            .push_bind(a.key.clone())
                            .push_bind(a.kind.clone())
                            .push_bind(a.customer_id.clone())
                            .push_bind(a.unit.clone())
                            .push_bind(a.balance)
                            .push_bind(a.debt)
                            .push_bind(a.seq)
                            .push_bind(micros(a.created_at));
                    });
                    b.build().execute(&mut *tx).await?;
                }

                for chunk in rows.entries.chunks(MAX_BINDS / 9) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO journal_entries (id, program_id, kind, customer_id, purchase_id, at, explanation, actor_kind, actor_id) ",
                    );
                    b.push_values(chunk, |mut r, e| {
                        r.push_bind(e.id.clone())
                            .push_bind(pid.clone())
                            .push_bind(e.kind)
                            .push_bind(e.customer_id.clone())
                            .push_bind(e.purchase_id.clone())
                            .push_bind(micros(e.at))
                            .push_bind(e.explanation.to_string())
                            .push_bind(ctx.actor.kind())
                            .push_bind(ctx.actor.id().map(str::to_owned));
                    });
                    b.build().execute(&mut *tx).await?;
                }

                let mut order: Vec<&crate::history::HistoryPosting> = rows.postings.iter().collect();
                order.sort_by(|a, b| a.id.cmp(&b.id));
                let mut postings = Vec::with_capacity(order.len());
                for p in order {
                    let (account_id, seq, balance) = match &p.placed {
                        Some(spec) => {
                            let row = placed
                                .get_mut(&spec.key)
                                .and_then(|(_, r)| r.as_mut())
                                .ok_or_else(|| StoreError::Corrupt("placed account missing".into()))?;
                            row.balance = row.balance.checked_add(p.amount).ok_or_else(|| {
                                StoreError::LedgerLimit("the history would take a program account past the largest balance the ledger holds".into())
                            })?;
                            row.seq += 1;
                            (row.id.clone(), row.seq, row.balance)
                        }
                        None => {
                            let id = ids.get(p.account_key.as_str()).ok_or_else(|| StoreError::Corrupt(format!("account {} missing", p.account_key)))?;
                            ((*id).to_owned(), p.seq, p.balance_after)
                        }
                    };
                    postings.push((p, account_id, seq, balance));
                }
                for chunk in postings.chunks(MAX_BINDS / 9) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO postings (id, entry_id, program_id, account_id, seq, unit, amount, balance_after, lot_id) ",
                    );
                    b.push_values(chunk, |mut r, (p, account_id, seq, balance)| {
                        r.push_bind(p.id.clone())
                            .push_bind(p.entry_id.clone())
                            .push_bind(pid.clone())
                            .push_bind(account_id.clone())
                            .push_bind(*seq)
                            .push_bind(p.unit.clone())
                            .push_bind(p.amount)
                            .push_bind(*balance)
                            .push_bind(p.lot_id.clone());
                    });
                    b.build().execute(&mut *tx).await?;
                }
                for (_, row) in placed.values() {
                    if let Some(row) = row {
                        sqlx::query("UPDATE accounts SET balance = $1, seq = $2 WHERE id = $3")
                            .bind(row.balance)
                            .bind(row.seq)
                            .bind(&row.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }

                for chunk in rows.lots.chunks(MAX_BINDS / 9) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO lots (id, program_id, account_id, entry_id, purchase_id, initial, remaining, available_at, expires_at) ",
                    );
                    b.push_values(chunk, |mut r, l| {
                        r.push_bind(l.id.clone())
                            .push_bind(pid.clone())
                            .push_bind(l.account_id.clone())
                            .push_bind(l.entry_id.clone())
                            .push_bind(l.purchase_id.clone())
                            .push_bind(l.initial)
                            .push_bind(l.remaining)
                            .push_bind(micros(l.available_at))
                            .push_bind(l.expires_at.map(micros));
                    });
                    b.build().execute(&mut *tx).await?;
                }

                for chunk in rows.purchases.chunks(MAX_BINDS / 18) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO purchases (id, program_id, customer_id, external_id, store, channel, currency, total_minor, \
                         returned_minor, points_earned, points_reversed, cashback_earned, cashback_reversed, lot_id, entry_id, \
                         occurred_at, created_at, gross_minor) ",
                    );
                    let currency = rows.currency.clone();
                    b.push_values(chunk, |mut r, p| {
                        r.push_bind(p.id.clone())
                            .push_bind(pid.clone())
                            .push_bind(p.customer_id.clone())
                            .push_bind(p.external_id.clone())
                            .push_bind(p.store.clone())
                            .push_bind(p.channel.clone())
                            .push_bind(currency.clone())
                            .push_bind(p.total_minor)
                            .push_bind(p.returned_minor)
                            .push_bind(p.points_earned)
                            .push_bind(p.points_reversed)
                            .push_bind(p.cashback_earned)
                            .push_bind(p.cashback_reversed)
                            .push_bind(p.lot_id.clone())
                            .push_bind(p.entry_id.clone())
                            .push_bind(micros(p.occurred_at))
                            .push_bind(micros(p.created_at))
                            .push_bind(p.total_minor);
                    });
                    b.build().execute(&mut *tx).await.map_err(|e| match &e {
                        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::DuplicatePurchase,
                        _ => StoreError::Database(e),
                    })?;
                }
                let lines: Vec<(&str, &crate::PurchaseLineDetail)> = rows
                    .purchases
                    .iter()
                    .flat_map(|p| p.lines.iter().map(move |l| (p.id.as_str(), l)))
                    .collect();
                for chunk in lines.chunks(MAX_BINDS / 11) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO purchase_lines (purchase_id, line_no, sku, name, category, quantity, unit_price_minor, amount_minor, \
                         points, cashback, returned_quantity) ",
                    );
                    b.push_values(chunk, |mut r, (p, l)| {
                        r.push_bind(p.to_string())
                            .push_bind(l.line_no)
                            .push_bind(l.sku.clone())
                            .push_bind(l.name.clone())
                            .push_bind(l.category.clone())
                            .push_bind(l.quantity)
                            .push_bind(l.unit_price_minor)
                            .push_bind(l.amount_minor)
                            .push_bind(l.points)
                            .push_bind(l.cashback)
                            .push_bind(l.returned_quantity);
                    });
                    b.build().execute(&mut *tx).await?;
                }
                // History has no checkout payments: a past return was paid back in money.
                for chunk in rows.returns.chunks(MAX_BINDS / 12) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO purchase_returns (id, program_id, purchase_id, amount_minor, points_reversed, cashback_reversed, entry_id, at, \
                         money_refund_minor, points_due, cashback_due, gift_points_reversed) ",
                    );
                    b.push_values(chunk, |mut r, x| {
                        r.push_bind(x.id.clone())
                            .push_bind(pid.clone())
                            .push_bind(x.purchase_id.clone())
                            .push_bind(x.amount_minor)
                            .push_bind(x.points_reversed)
                            .push_bind(x.cashback_reversed)
                            .push_bind(x.entry_id.clone())
                            .push_bind(micros(x.at))
                            .push_bind(x.amount_minor)
                            .push_bind(x.points_due)
                            .push_bind(x.cashback_due)
                            .push_bind(x.gift_points_reversed);
                    });
                    b.build().execute(&mut *tx).await?;
                }
                for chunk in rows.tiers.chunks(MAX_BINDS / 4) {
                    let mut b = sqlx::QueryBuilder::<$db>::new("INSERT INTO customer_tiers (program_id, customer_id, tier, since) ");
                    b.push_values(chunk, |mut r, (c, t, since)| {
                        r.push_bind(pid.clone()).push_bind(c.clone()).push_bind(t.clone()).push_bind(micros(*since));
                    });
                    b.build().execute(&mut *tx).await?;
                }
                for chunk in rows.tier_changes.chunks(MAX_BINDS / 14) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO tier_changes (id, program_id, customer_id, from_tier, to_tier, kind, reason, qualifying, gift_points, entry_id, actor, at, \
                         purchase_id, gift_lot_id) ",
                    );
                    b.push_values(chunk, |mut r, t| {
                        r.push_bind(t.id.clone())
                            .push_bind(pid.clone())
                            .push_bind(t.customer_id.clone())
                            .push_bind(t.from_tier.clone())
                            .push_bind(t.to_tier.clone())
                            .push_bind("upgrade")
                            .push_bind(None::<String>)
                            .push_bind(t.qualifying)
                            .push_bind(t.gift_points)
                            .push_bind(t.entry_id.clone())
                            .push_bind("history")
                            .push_bind(micros(t.at))
                            .push_bind(t.purchase_id.clone())
                            .push_bind(t.gift_lot_id.clone());
                    });
                    b.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(crate) async fn export_page_op(
                &self,
                program_id: &str,
                table: crate::history::ExportTable,
                after: &str,
                limit: u32,
            ) -> Result<crate::history::ExportRows> {
                use crate::history::ExportTable;
                let text = |cols: &[&str], prefix: &str| -> String {
                    cols.iter().map(|c| format!("CAST({prefix}{c} AS TEXT)")).collect::<Vec<_>>().join(", ")
                };
                let sql = match table {
                    ExportTable::Customers | ExportTable::Purchases => {
                        // Purchases have no (program_id, id) index: `program_id || ''` keeps
                        // SQLite from choosing a program_id index and sorting the whole program
                        // for every page; it walks the primary key instead, as PostgreSQL does.
                        let (name, program) = if table == ExportTable::Customers {
                            ("customers", "program_id")
                        } else {
                            ("purchases", "program_id || ''")
                        };
                        format!(
                            "SELECT {} FROM {name} WHERE {program} = $1 AND id > $2 ORDER BY id LIMIT $3",
                            text(table.columns(), "")
                        )
                    }
                    ExportTable::Ledger => format!(
                        "SELECT {} FROM postings p JOIN journal_entries e ON e.id = p.entry_id JOIN accounts a ON a.id = p.account_id \
                         WHERE p.program_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3",
                        [
                            "p.id", "e.id", "e.kind", "e.customer_id", "e.purchase_id", "e.at", "a.key", "p.unit", "p.amount",
                            "p.balance_after", "p.lot_id", "e.actor_kind",
                        ]
                        .iter()
                        .map(|c| format!("CAST({c} AS TEXT)"))
                        .collect::<Vec<_>>()
                        .join(", ")
                    ),
                };
                let mut conn = self.read.acquire().await?;
                let rows = sqlx::query(&sql)
                    .bind(program_id)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await?;
                let n = table.columns().len();
                rows.iter()
                    .map(|r| (0..n).map(|i| sqlx::Row::try_get::<Option<String>, _>(r, i).map_err(StoreError::from)).collect())
                    .collect()
            }

            pub(crate) async fn customer_refs_op(
                &self,
                program_id: &str,
                column: crate::history::RefColumn,
                values: &[String],
            ) -> Result<std::collections::HashMap<String, String>> {
                use crate::history::RefColumn;
                let (select, col) = match column {
                    // A merged record's purchases are its survivor's; an erased one takes none.
                    RefColumn::CustomerId => (
                        "SELECT id, COALESCE(merged_into, id) FROM customers WHERE status <> 'erased' AND program_id = ",
                        "id",
                    ),
                    RefColumn::CustomerExternalId => ("SELECT external_id, id FROM customers WHERE program_id = ", "external_id"),
                    RefColumn::CustomerNationalId => ("SELECT national_id, id FROM customers WHERE program_id = ", "national_id"),
                    RefColumn::CustomerMobile => ("SELECT mobile, id FROM customers WHERE program_id = ", "mobile"),
                    RefColumn::PurchaseExternalId => ("SELECT external_id, customer_id FROM purchases WHERE program_id = ", "external_id"),
                };
                let mut out = std::collections::HashMap::new();
                let mut conn = self.read.acquire().await?;
                for chunk in values.chunks(crate::sql::history::MAX_BINDS_READ) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(select);
                    b.push_bind(program_id.to_owned());
                    b.push(format!(" AND {col} IN ("));
                    let mut sep = b.separated(", ");
                    for v in chunk {
                        sep.push_bind(v.clone());
                    }
                    b.push(")");
                    let rows: Vec<(Option<String>, String)> = b.build_query_as().fetch_all(&mut *conn).await?;
                    out.extend(rows.into_iter().filter_map(|(k, v)| k.map(|k| (k, v))));
                }
                // What no live record has may be what a merged duplicate was known by:
                // it names the survivor (a record's own value always wins).
                let alias = match column {
                    RefColumn::CustomerExternalId => Some("external_id"),
                    RefColumn::CustomerNationalId => Some("national_id"),
                    RefColumn::CustomerMobile => Some("mobile"),
                    RefColumn::CustomerId | RefColumn::PurchaseExternalId => None,
                };
                let missing: Vec<&String> = values.iter().filter(|v| !out.contains_key(*v)).collect();
                if let Some(kind) = alias.filter(|_| !missing.is_empty()) {
                    for chunk in missing.chunks(crate::sql::history::MAX_BINDS_READ) {
                        let mut b = sqlx::QueryBuilder::<$db>::new(
                            "SELECT a.value, COALESCE(c.merged_into, c.id) FROM customer_aliases a JOIN customers c ON c.id = a.customer_id \
                             WHERE c.status <> 'erased' AND a.program_id = ",
                        );
                        b.push_bind(program_id.to_owned());
                        b.push(" AND a.kind = ").push_bind(kind);
                        b.push(" AND a.value IN (");
                        let mut sep = b.separated(", ");
                        for v in chunk {
                            sep.push_bind((*v).clone());
                        }
                        b.push(")");
                        let rows: Vec<(String, String)> = b.build_query_as().fetch_all(&mut *conn).await?;
                        out.extend(rows);
                    }
                }
                Ok(out)
            }
        }
    };
}

/// Values per lookup statement.
pub(crate) const MAX_BINDS_READ: usize = 5_000;
pub(crate) use history_ops;
