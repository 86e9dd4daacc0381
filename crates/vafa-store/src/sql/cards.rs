//! Card operations: issue (singly or in bulk), bind, block, replace, and the history of each.

use rand::Rng;
use vafa_core::card::CardNumber;

pub(crate) const CARD_COLUMNS: &str =
    "id, number, kind, status, customer_id, issued_at, status_reason, replaced_by";

/// Rows per multi-row INSERT: far below both backends' bound-parameter limits.
pub(crate) const INSERT_CHUNK: usize = 500;
/// Attempts at a batch whose random numbers clashed with existing cards.
pub(crate) const ISSUE_ATTEMPTS: usize = 3;

/// A fresh card number: the digit 7 (our loyalty range), 14 random digits, a Luhn check digit.
pub(crate) fn random_card_number(rng: &mut impl Rng) -> CardNumber {
    loop {
        let body: String = std::iter::once('7')
            .chain((0..14).map(|_| char::from(b'0' + rng.gen_range(0..10u8))))
            .collect();
        if let Some(n) = CardNumber::from_body(&body) {
            return n;
        }
    }
}

macro_rules! card_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            async fn card_event<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                card_id: &str,
                event: &str,
                customer_id: Option<&str>,
                detail: Option<&str>,
            ) -> Result<()> {
                db::query(
                    "INSERT INTO card_events (id, program_id, card_id, at, event, customer_id, detail, actor_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(new_id(ids::CARD_EVENT))
                .bind(&ctx.program_id)
                .bind(card_id)
                .bind(micros(ctx.now))
                .bind(event)
                .bind(customer_id)
                .bind(detail)
                .bind(ctx.actor.id())
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn load_card<C: Db>(
                conn: &mut C,
                program_id: &str,
                number: &str,
                for_write: bool,
            ) -> Result<Option<Card>> {
                let sql = format!(
                    "SELECT {CARD_COLUMNS} FROM cards WHERE program_id = $1 AND number = $2{}",
                    if for_write { $lock } else { "" }
                );
                let row: Option<CardRow> = db::query(&sql).bind(program_id).bind(number).fetch_optional(&mut *conn).await?;
                row.map(Card::try_from).transpose()
            }

            async fn active_card<C: Db>(conn: &mut C, program_id: &str, number: &CardNumber) -> Result<Card> {
                let card = Self::load_card(conn, program_id, number.as_str(), true)
                    .await?
                    .ok_or(StoreError::NotFound("card"))?;
                if card.status != CardStatus::Active {
                    return Err(StoreError::CardNotActive(card.status.as_str()));
                }
                Ok(card)
            }

            async fn set_card_status<C: Db>(
                conn: &mut C,
                card: &Card,
            ) -> Result<()> {
                db::query(
                    "UPDATE cards SET status = $1, status_reason = $2, replaced_by = $3, customer_id = $4 WHERE id = $5",
                )
                .bind(card.status.as_str())
                .bind(&card.status_reason)
                .bind(&card.replaced_by)
                .bind(&card.customer_id)
                .bind(&card.id)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Insert fresh cards; `Ok(None)` when a random number clashed (the caller retries).
            async fn insert_cards(
                conn: &mut <$db as sqlx::Database>::Connection,
                ctx: &Ctx,
                kind: CardKind,
                customer_id: Option<&str>,
                count: usize,
            ) -> Result<Option<Vec<Card>>> {
                let mut numbers = std::collections::BTreeSet::new();
                {
                    let mut rng = rand::thread_rng();
                    while numbers.len() < count {
                        numbers.insert(random_card_number(&mut rng));
                    }
                }
                let cards: Vec<Card> = numbers
                    .into_iter()
                    .map(|number| Card {
                        id: new_id(ids::CARD),
                        number,
                        kind,
                        status: CardStatus::Active,
                        customer_id: customer_id.map(str::to_owned),
                        issued_at: ctx.now,
                        status_reason: None,
                        replaced_by: None,
                    })
                    .collect();
                for chunk in cards.chunks(INSERT_CHUNK) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO cards (id, program_id, number, kind, status, customer_id, issued_at) ",
                    );
                    b.push_values(chunk, |mut row, c| {
                        row.push_bind(c.id.clone())
                            .push_bind(ctx.program_id.clone())
                            .push_bind(c.number.as_str().to_owned())
                            .push_bind(c.kind.as_str())
                            .push_bind(c.status.as_str())
                            .push_bind(c.customer_id.clone())
                            .push_bind(micros(c.issued_at));
                    });
                    if let Err(e) = b.build().execute(&mut *conn).await {
                        if is_card_number_clash(&e) {
                            return Ok(None);
                        }
                        return Err(e.into());
                    }
                    let mut ev = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO card_events (id, program_id, card_id, at, event, customer_id, actor_id) ",
                    );
                    ev.push_values(chunk, |mut row, c| {
                        row.push_bind(new_id(ids::CARD_EVENT))
                            .push_bind(ctx.program_id.clone())
                            .push_bind(c.id.clone())
                            .push_bind(micros(ctx.now))
                            .push_bind("issued")
                            .push_bind(c.customer_id.clone())
                            .push_bind(ctx.actor.id().map(str::to_owned));
                    });
                    ev.build().execute(&mut *conn).await?;
                }
                Ok(Some(cards))
            }

            pub(crate) async fn issue_cards_op(&self, ctx: &Ctx, req: &IssueCards) -> Result<Vec<Card>> {
                let (kind, count) = match &req.customer_id {
                    Some(_) => (CardKind::Personal, 1),
                    None => (CardKind::Bearer, req.count.clamp(1, IssueCards::MAX_BATCH) as usize),
                };
                for _ in 0..ISSUE_ATTEMPTS {
                    let mut tx = self.begin_write().await?;
                    if let Some(customer_id) = &req.customer_id {
                        Self::open_customer(&mut tx, &ctx.program_id, customer_id).await?;
                    }
                    let Some(cards) = Self::insert_cards(&mut tx, ctx, kind, req.customer_id.as_deref(), count).await? else {
                        tx.rollback().await?;
                        continue;
                    };
                    let summary = serde_json::json!({
                        "kind": kind.as_str(),
                        "count": cards.len(),
                        "customer_id": req.customer_id,
                        "first_number": cards.first().map(|c| c.number.as_str()),
                    });
                    let target = cards.first().map(|c| c.id.clone()).unwrap_or_default();
                    Self::audit(&mut tx, ctx, "cards.issued", "card", &target, summary).await?;
                    tx.commit().await?;
                    return Ok(cards);
                }
                Err(StoreError::CardNumberExhausted)
            }

            pub(crate) async fn get_card_op(&self, program_id: &str, number: &CardNumber) -> Result<Option<CardDetail>> {
                let mut conn = self.read.acquire().await?;
                let Some(card) = Self::load_card(&mut conn, program_id, number.as_str(), false).await? else {
                    return Ok(None);
                };
                let rows: Vec<CardEventRow> = sqlx::query_as(
                    "SELECT at, event, customer_id, detail, actor_id FROM card_events \
                     WHERE program_id = $1 AND card_id = $2 ORDER BY id",
                )
                .bind(program_id)
                .bind(&card.id)
                .fetch_all(&mut *conn)
                .await?;
                let history = rows.into_iter().map(CardEvent::try_from).collect::<Result<_>>()?;
                Ok(Some(CardDetail { card, history }))
            }

            pub(crate) async fn customer_cards_op(&self, program_id: &str, customer_id: &str) -> Result<Vec<Card>> {
                let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE program_id = $1 AND customer_id = $2 ORDER BY id");
                let rows: Vec<CardRow> = sqlx::query_as(&sql).bind(program_id).bind(customer_id).fetch_all(&self.read).await?;
                rows.into_iter().map(Card::try_from).collect()
            }

            pub(crate) async fn bind_card_op(&self, ctx: &Ctx, number: &CardNumber, customer_id: &str) -> Result<Card> {
                let mut tx = self.begin_write().await?;
                let mut card = Self::active_card(&mut tx, &ctx.program_id, number).await?;
                if card.customer_id.is_some() {
                    return Err(StoreError::CardAlreadyBound);
                }
                Self::open_customer(&mut tx, &ctx.program_id, customer_id).await?;
                card.customer_id = Some(customer_id.to_owned());
                Self::set_card_status(&mut tx, &card).await?;
                Self::card_event(&mut tx, ctx, &card.id, "bound", Some(customer_id), None).await?;
                let summary = serde_json::json!({ "number": number.as_str(), "customer_id": customer_id });
                Self::audit(&mut tx, ctx, "card.bound", "card", &card.id, summary).await?;
                tx.commit().await?;
                Ok(card)
            }

            pub(crate) async fn block_card_op(&self, ctx: &Ctx, number: &CardNumber, reason: &str) -> Result<Card> {
                let mut tx = self.begin_write().await?;
                let mut card = Self::active_card(&mut tx, &ctx.program_id, number).await?;
                card.status = CardStatus::Blocked;
                card.status_reason = Some(reason.to_owned());
                Self::set_card_status(&mut tx, &card).await?;
                Self::card_event(&mut tx, ctx, &card.id, "blocked", card.customer_id.as_deref(), Some(reason)).await?;
                let summary = serde_json::json!({ "number": number.as_str(), "reason": reason });
                Self::audit(&mut tx, ctx, "card.blocked", "card", &card.id, summary).await?;
                tx.commit().await?;
                Ok(card)
            }

            pub(crate) async fn replace_card_op(&self, ctx: &Ctx, number: &CardNumber, reason: &str) -> Result<CardReplacement> {
                for _ in 0..ISSUE_ATTEMPTS {
                    let mut tx = self.begin_write().await?;
                    let mut old = Self::load_card(&mut tx, &ctx.program_id, number.as_str(), true)
                        .await?
                        .ok_or(StoreError::NotFound("card"))?;
                    if old.status == CardStatus::Replaced {
                        return Err(StoreError::CardNotActive(old.status.as_str()));
                    }
                    let Some(mut fresh) = Self::insert_cards(&mut tx, ctx, old.kind, old.customer_id.as_deref(), 1).await? else {
                        tx.rollback().await?;
                        continue;
                    };
                    let new = fresh.pop().ok_or(StoreError::CardNumberExhausted)?;
                    old.status = CardStatus::Replaced;
                    old.status_reason = Some(reason.to_owned());
                    old.replaced_by = Some(new.number.as_str().to_owned());
                    Self::set_card_status(&mut tx, &old).await?;
                    let detail = format!("{reason} → {}", new.number.as_str());
                    Self::card_event(&mut tx, ctx, &old.id, "replaced", old.customer_id.as_deref(), Some(&detail)).await?;
                    let summary = serde_json::json!({
                        "number": number.as_str(), "new_number": new.number.as_str(), "reason": reason,
                    });
                    Self::audit(&mut tx, ctx, "card.replaced", "card", &old.id, summary).await?;
                    tx.commit().await?;
                    return Ok(CardReplacement { old, new });
                }
                Err(StoreError::CardNumberExhausted)
            }

            /// Move every card of one customer to another (merge); returns their numbers.
            pub(crate) async fn move_cards(
                conn: &mut <$db as sqlx::Database>::Connection,
                ctx: &Ctx,
                from: &str,
                to: &str,
            ) -> Result<Vec<String>> {
                let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE program_id = $1 AND customer_id = $2 ORDER BY id");
                let rows: Vec<CardRow> = sqlx::query_as(&sql).bind(&ctx.program_id).bind(from).fetch_all(&mut *conn).await?;
                let mut numbers = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut card = Card::try_from(row)?;
                    card.customer_id = Some(to.to_owned());
                    Self::set_card_status(&mut *conn, &card).await?;
                    let detail = format!("merged from {from}");
                    Self::card_event(&mut *conn, ctx, &card.id, "moved", Some(to), Some(&detail)).await?;
                    numbers.push(card.number.as_str().to_owned());
                }
                Ok(numbers)
            }
        }
    };
}
pub(crate) use card_ops;
