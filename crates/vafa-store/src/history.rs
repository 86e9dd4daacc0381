//! History written in bulk: the demo's months of trade and imported purchases.
//!
//! A [`Book`] keeps the ledger in memory for the customers it is given — their
//! accounts, lots, debts and tiers — and posts what a purchase, a return, a redemption,
//! an upgrade or an expiry would post, using the same pieces of `vafa_core` as the
//! live operations (earning, lots in spend order, reversals, tier ladders). Its rows are
//! then written with [`crate::Store::write_history`] in large multi-row statements, one
//! transaction per chunk; `vafa ledger verify` holds after every chunk.
//!
//! Live operations stay the only way to change an existing customer's value: a book
//! starts every customer empty, so it takes new customers only. Program accounts are
//! the exception, and the writer re-bases their postings on the stored balance under a
//! lock, so a live server may keep trading while history is written.
//!
//! What a book does not model: campaigns (history earns by the program's base rate and
//! the tier multiplier), cashback redemption and checkout discounts.

use crate::sql::ledger_support::{AccountSpec, POINTS};
use crate::ReturnRequest;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::collections::HashMap;
use vafa_core::customer::Customer;
use vafa_core::ledger::CalendarKind;
use vafa_core::ledger::{LedgerSettings, Lot};
use vafa_core::tiers::TierLadder;

/// An id of `prefix` whose UUIDv7 carries `at`, so history sorts among itself by time.
pub fn id_at(prefix: &str, at: Timestamp) -> String {
    let secs = at.as_second().max(0) as u64;
    let nanos = at.subsec_nanosecond().max(0) as u32;
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos);
    format!("{prefix}_{}", uuid::Uuid::new_v7(ts).simple())
}

#[derive(Debug, Clone)]
pub struct HistoryAccount {
    pub id: String,
    pub key: String,
    pub kind: String,
    pub customer_id: Option<String>,
    pub unit: String,
    pub balance: i64,
    pub debt: i64,
    pub seq: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub id: String,
    pub kind: &'static str,
    pub customer_id: String,
    pub purchase_id: Option<String>,
    pub at: Timestamp,
    pub explanation: serde_json::Value,
}

/// A posting. On the customer's points account (kept by the book) `seq` and
/// `balance_after` are final; on the accounts in `placed` — program accounts and the
/// cashback wallet — the writer assigns them on top of what is stored.
#[derive(Debug, Clone)]
pub struct HistoryPosting {
    pub id: String,
    pub entry_id: String,
    pub account_key: String,
    pub(crate) placed: Option<AccountSpec>,
    pub unit: String,
    pub amount: i64,
    pub seq: i64,
    pub balance_after: i64,
    pub lot_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HistoryLot {
    pub id: String,
    pub account_id: String,
    pub entry_id: String,
    pub purchase_id: Option<String>,
    pub initial: i64,
    pub remaining: i64,
    pub available_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct HistoryPurchase {
    pub id: String,
    pub customer_id: String,
    pub external_id: Option<String>,
    pub store: Option<String>,
    pub channel: Option<String>,
    pub total_minor: i64,
    pub returned_minor: i64,
    pub points_earned: i64,
    pub points_reversed: i64,
    pub cashback_earned: i64,
    pub cashback_reversed: i64,
    pub lot_id: Option<String>,
    pub entry_id: String,
    pub occurred_at: Timestamp,
    pub created_at: Timestamp,
    pub lines: Vec<crate::PurchaseLineDetail>,
}

#[derive(Debug, Clone)]
pub struct HistoryReturn {
    pub id: String,
    pub purchase_id: String,
    pub amount_minor: i64,
    pub points_reversed: i64,
    pub cashback_reversed: i64,
    /// What the return owed back before the return policy (see `within_earnings`).
    pub points_due: i64,
    pub cashback_due: i64,
    /// The tier gift it took back (see the live return).
    pub gift_points_reversed: i64,
    pub entry_id: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct HistoryTierChange {
    pub id: String,
    pub customer_id: String,
    pub from_tier: Option<String>,
    pub to_tier: String,
    pub qualifying: i64,
    pub gift_points: i64,
    pub entry_id: Option<String>,
    /// The purchase that crossed the threshold, and the gift's lot.
    pub purchase_id: Option<String>,
    pub gift_lot_id: Option<String>,
    pub at: Timestamp,
}

/// Everything a chunk of history writes. Rows are inserted; nothing existing changes
/// except program account balances (re-based by the writer).
#[derive(Debug, Default, Clone)]
pub struct HistoryRows {
    /// The program's currency (purchases carry it).
    pub currency: String,
    pub customers: Vec<Customer>,
    pub accounts: Vec<HistoryAccount>,
    pub entries: Vec<HistoryEntry>,
    pub postings: Vec<HistoryPosting>,
    pub lots: Vec<HistoryLot>,
    pub purchases: Vec<HistoryPurchase>,
    pub returns: Vec<HistoryReturn>,
    /// (customer, tier code, since)
    pub tiers: Vec<(String, String, Timestamp)>,
    pub tier_changes: Vec<HistoryTierChange>,
}

impl HistoryRows {
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty() && self.entries.is_empty() && self.purchases.is_empty()
    }
}

/// What [`crate::Store::refs`] looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefColumn {
    /// Answers customer id → the customer its purchases belong to: itself, or the
    /// survivor a merge brought it into; an erased customer is not answered.
    CustomerId,
    CustomerExternalId,
    CustomerNationalId,
    /// E.164, as stored.
    CustomerMobile,
    /// Answers purchase external id → its customer.
    PurchaseExternalId,
}

/// A purchase as history knows it: the sale, its lines, when and where.
#[derive(Debug, Clone)]
pub struct PastPurchase {
    pub customer_id: String,
    pub external_id: Option<String>,
    pub store: Option<String>,
    pub channel: Option<String>,
    pub lines: Vec<crate::PurchaseLine>,
    pub total_minor: i64,
    pub occurred_at: Timestamp,
    /// False for imported sales recorded without earning (their entry has no postings).
    pub earn: bool,
}

#[derive(Default)]
struct CustomerBook {
    points: Option<HistoryAccount>,
    lots: Vec<HistoryLot>,
    /// Points each lot lost to expiry, by lot id: a return does not take them again.
    expired: HashMap<String, i64>,
    tier: usize,
    /// (occurred_at, qualifying value, purchase id) of each purchase, for the tier window.
    sales: Vec<(Timestamp, i64, String)>,
}

/// A tier's entry gift a purchase brought, which its return may take back.
struct BookGift {
    level: usize,
    lot: String,
    points: i64,
    at: Timestamp,
    taken: i64,
}

/// An in-memory ledger for new customers; see the module documentation.
pub struct Book {
    settings: LedgerSettings,
    tz: TimeZone,
    currency: String,
    ladder: Option<(TierLadder, CalendarKind)>,
    customers: HashMap<String, CustomerBook>,
    /// Purchase id → (customer, index into `rows.purchases`).
    purchases: HashMap<String, (String, usize)>,
    /// Customer id → the tier gifts purchases brought them, oldest first.
    gifts: HashMap<String, Vec<BookGift>>,
    rows: HistoryRows,
    /// When the history is written (purchases' `created_at`).
    written_at: Timestamp,
}

/// Why a book refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("unknown customer {0}")]
    UnknownCustomer(String),
    #[error("unknown purchase {0}")]
    UnknownPurchase(String),
    #[error("{0}")]
    Return(String),
}

impl Book {
    pub fn new(
        program: &crate::Program,
        settings: LedgerSettings,
        ladder: Option<TierLadder>,
        written_at: Timestamp,
    ) -> Result<Book, crate::StoreError> {
        let tz = TimeZone::get(&program.timezone)
            .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        Ok(Book {
            settings,
            tz,
            currency: program.currency.code().to_owned(),
            ladder: ladder.map(|l| (l, crate::calendar_of(program.locale))),
            customers: HashMap::new(),
            purchases: HashMap::new(),
            gifts: HashMap::new(),
            rows: HistoryRows::default(),
            written_at,
        })
    }

    /// A new customer (its record is written with the chunk).
    pub fn add_customer(&mut self, customer: Customer) {
        self.customers
            .insert(customer.id.clone(), CustomerBook::default());
        self.rows.customers.push(customer);
    }

    /// An existing customer whose purchases are recorded without earning (imports).
    pub fn add_known_customer(&mut self, customer_id: &str) {
        self.customers.entry(customer_id.to_owned()).or_default();
    }

    fn customer(&mut self, id: &str) -> Result<&mut CustomerBook, BookError> {
        self.customers
            .get_mut(id)
            .ok_or_else(|| BookError::UnknownCustomer(id.to_owned()))
    }

    /// Post an entry: customer legs update the book's account and lots now; program
    /// legs are left for the writer to place.
    fn post(
        &mut self,
        kind: &'static str,
        customer_id: &str,
        purchase_id: Option<&str>,
        at: Timestamp,
        explanation: serde_json::Value,
        legs: Vec<BookLeg>,
    ) -> Result<String, BookError> {
        let entry_id = id_at("ent", at);
        for leg in legs {
            let posting_id = id_at("pst", at);
            match leg {
                BookLeg::Customer { amount, lot } => {
                    let c = self.customer(customer_id)?;
                    let acct = c
                        .points
                        .get_or_insert_with(|| points_account(customer_id, at));
                    acct.balance += amount;
                    acct.seq += 1;
                    if lot.is_none() {
                        acct.debt -= amount;
                    }
                    let (seq, balance_after, key) = (acct.seq, acct.balance, acct.key.clone());
                    if let Some(lot_id) = &lot {
                        if let Some(l) = c.lots.iter_mut().find(|l| &l.id == lot_id) {
                            l.remaining += amount;
                        }
                    }
                    self.rows.postings.push(HistoryPosting {
                        id: posting_id,
                        entry_id: entry_id.clone(),
                        account_key: key,
                        placed: None,
                        unit: POINTS.to_owned(),
                        amount,
                        seq,
                        balance_after,
                        lot_id: lot,
                    });
                }
                BookLeg::Placed { mut spec, amount } => {
                    if spec.key.is_empty() {
                        spec = AccountSpec::program(spec.kind, &spec.unit, customer_id);
                    }
                    self.rows.postings.push(HistoryPosting {
                        id: posting_id,
                        entry_id: entry_id.clone(),
                        account_key: spec.key.clone(),
                        unit: spec.unit.clone(),
                        placed: Some(spec),
                        amount,
                        seq: 0,
                        balance_after: 0,
                        lot_id: None,
                    });
                }
            }
        }
        self.rows.entries.push(HistoryEntry {
            id: entry_id.clone(),
            kind,
            customer_id: customer_id.to_owned(),
            purchase_id: purchase_id.map(str::to_owned),
            at,
            explanation,
        });
        Ok(entry_id)
    }

    fn account_id(&mut self, customer_id: &str, at: Timestamp) -> Result<String, BookError> {
        let c = self.customer(customer_id)?;
        Ok(c.points
            .get_or_insert_with(|| points_account(customer_id, at))
            .id
            .clone())
    }

    /// Lots with points left, in spend order, as the live operations see them.
    fn lots(&self, customer_id: &str) -> Vec<Lot> {
        let mut lots: Vec<Lot> = self
            .customers
            .get(customer_id)
            .map(|c| {
                c.lots
                    .iter()
                    .filter(|l| l.remaining > 0)
                    .map(|l| Lot {
                        id: l.id.clone(),
                        remaining: l.remaining,
                        available_at: l.available_at,
                        expires_at: l.expires_at,
                    })
                    .collect()
            })
            .unwrap_or_default();
        vafa_core::ledger::spend_order(&mut lots);
        lots
    }

    fn debt(&self, customer_id: &str) -> i64 {
        self.customers
            .get(customer_id)
            .and_then(|c| c.points.as_ref())
            .map_or(0, |a| a.debt)
    }

    /// A new lot of `points`, taken from the program account `source` (`issued`, or
    /// `adjustments` for a credit by hand), and the legs that fill it (paying any debt first).
    #[allow(clippy::too_many_arguments)]
    fn earn_legs(
        &mut self,
        source: &'static str,
        customer_id: &str,
        purchase_id: Option<&str>,
        points: i64,
        at: Timestamp,
        available_at: Timestamp,
    ) -> Result<(String, i64, Vec<BookLeg>), BookError> {
        let account_id = self.account_id(customer_id, at)?;
        // As live: the period starts when the points can be spent.
        let expires_at = self.settings.expiry.expires_at(available_at, &self.tz);
        let lot_id = id_at("lot", at);
        let debt_paid = points.min(self.debt(customer_id).max(0));
        self.customer(customer_id)?.lots.push(HistoryLot {
            id: lot_id.clone(),
            account_id,
            entry_id: String::new(),
            purchase_id: purchase_id.map(str::to_owned),
            initial: points,
            remaining: 0,
            available_at,
            expires_at,
        });
        let mut legs = vec![
            BookLeg::Customer {
                amount: points,
                lot: Some(lot_id.clone()),
            },
            BookLeg::program(source, POINTS, -points),
        ];
        if debt_paid > 0 {
            legs.push(BookLeg::Customer {
                amount: -debt_paid,
                lot: Some(lot_id.clone()),
            });
            legs.push(BookLeg::Customer {
                amount: debt_paid,
                lot: None,
            });
        }
        Ok((lot_id, debt_paid, legs))
    }

    fn set_lot_entry(&mut self, customer_id: &str, lot_id: &str, entry_id: &str) {
        if let Some(l) = self
            .customers
            .get_mut(customer_id)
            .and_then(|c| c.lots.iter_mut().find(|l| l.id == lot_id))
        {
            l.entry_id = entry_id.to_owned();
        }
    }

    /// Post the expiry of the customer's lots expired by `at`, one entry per instant
    /// of expiry, dated at it.
    pub fn expire(&mut self, customer_id: &str, at: Timestamp) -> Result<i64, BookError> {
        let mut due: Vec<(Timestamp, String, i64)> = self
            .customer(customer_id)?
            .lots
            .iter()
            .filter(|l| l.remaining > 0 && l.expires_at.is_some_and(|e| e <= at))
            .filter_map(|l| l.expires_at.map(|e| (e, l.id.clone(), l.remaining)))
            .collect();
        due.sort();
        let mut total = 0;
        let mut i = 0;
        while i < due.len() {
            let when = due[i].0;
            let group: Vec<_> = due[i..]
                .iter()
                .take_while(|d| d.0 == when)
                .cloned()
                .collect();
            i += group.len();
            let sum: i64 = group.iter().map(|g| g.2).sum();
            let mut legs: Vec<BookLeg> = group
                .iter()
                .map(|(_, id, n)| BookLeg::Customer {
                    amount: -n,
                    lot: Some(id.clone()),
                })
                .collect();
            legs.push(BookLeg::program("expired", POINTS, sum));
            let lot_ids: Vec<&String> = group.iter().map(|g| &g.1).collect();
            let explanation = serde_json::json!({"lots": lot_ids, "points": sum});
            self.post("expiry", customer_id, None, when, explanation, legs)?;
            let book = self.customer(customer_id)?;
            for (_, id, n) in &group {
                *book.expired.entry(id.clone()).or_default() += n;
            }
            total += sum;
        }
        Ok(total)
    }

    /// A sale and what it earns: the base rate times the customer's tier multiplier,
    /// pending for the program's pending days; an upgrade (with its gift) when it
    /// crosses a threshold. Returns the purchase id.
    pub fn purchase(&mut self, p: PastPurchase) -> Result<String, BookError> {
        let at = p.occurred_at;
        let purchase_id = id_at("pur", at);
        self.customer(&p.customer_id)?;
        let gross: Vec<i64> = p
            .lines
            .iter()
            .map(|l| l.quantity.saturating_mul(l.unit_price_minor))
            .collect();
        // Each line's share of what was paid, as a live purchase records it.
        let amounts = vafa_core::ledger::allocate(p.total_minor, &gross);
        let (mut points, mut cashback, mut tier_json) = (0, 0, serde_json::Value::Null);
        let mut lot_id = None;
        let mut debt_paid = 0;
        let mut legs = Vec::new();
        let available = vafa_core::ledger::available_at(at, self.settings.pending_days);
        if p.earn {
            self.expire(&p.customer_id, at)?;
            points = self.settings.points_for(p.total_minor);
            if let Some((ladder, _)) = &self.ladder {
                let level = self.customers.get(&p.customer_id).map_or(0, |c| c.tier);
                let tier = &ladder.tiers[level.min(ladder.tiers.len() - 1)];
                points = tier.earn(points);
                tier_json = serde_json::json!({"code": tier.code, "earn_multiplier": tier.earn_multiplier.to_string()});
            }
            cashback = self.settings.cashback_for(p.total_minor);
            if points > 0 {
                let (lot, paid, l) = self.earn_legs(
                    "issued",
                    &p.customer_id,
                    Some(&purchase_id),
                    points,
                    at,
                    available,
                )?;
                legs.extend(l);
                lot_id = Some(lot);
                debt_paid = paid;
            }
            if cashback > 0 {
                // The wallet is placed by the writer, like a program account: the book
                // never spends cashback, so it needs no balance of it.
                legs.push(BookLeg::program(
                    "issued",
                    &self.currency.clone(),
                    -cashback,
                ));
                legs.push(BookLeg::Placed {
                    spec: AccountSpec::customer_cashback(&p.customer_id, &self.currency),
                    amount: cashback,
                });
            }
        }
        let explanation = if p.earn {
            serde_json::json!({
                "total_minor": p.total_minor, "points": points, "cashback_minor": cashback, "debt_paid": debt_paid,
                "base": {"earn_points": self.settings.earn_points, "earn_per_minor": self.settings.earn_per_minor,
                         "cashback_percent": self.settings.cashback_percent.to_string()},
                "tier": tier_json, "rules": [], "history": true,
            })
        } else {
            serde_json::json!({"total_minor": p.total_minor, "points": 0, "imported": true})
        };
        let entry_id = self.post(
            "purchase",
            &p.customer_id,
            Some(&purchase_id),
            at,
            explanation,
            legs,
        )?;
        if let Some(lot) = &lot_id {
            self.set_lot_entry(&p.customer_id, lot, &entry_id);
        }
        let line_points = vafa_core::ledger::allocate(points, &amounts);
        let line_cash = vafa_core::ledger::allocate(cashback, &amounts);
        let lines = p
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| crate::PurchaseLineDetail {
                line_no: i as i64 + 1,
                sku: l.sku.clone(),
                name: l.name.clone(),
                category: l.category.clone(),
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
                amount_minor: amounts[i],
                points: line_points[i],
                cashback: line_cash[i],
                returned_quantity: 0,
            })
            .collect();
        self.rows.purchases.push(HistoryPurchase {
            id: purchase_id.clone(),
            customer_id: p.customer_id.clone(),
            external_id: p.external_id,
            store: p.store,
            channel: p.channel,
            total_minor: p.total_minor,
            returned_minor: 0,
            points_earned: points,
            points_reversed: 0,
            cashback_earned: cashback,
            cashback_reversed: 0,
            lot_id,
            entry_id,
            occurred_at: at,
            created_at: self.written_at,
            lines,
        });
        let index = self.rows.purchases.len() - 1;
        self.purchases
            .insert(purchase_id.clone(), (p.customer_id.clone(), index));
        if p.earn {
            self.after_sale(
                &p.customer_id,
                &purchase_id,
                at,
                available,
                p.total_minor,
                points,
            )?;
        }
        Ok(purchase_id)
    }

    /// Track the tier's qualifying value; upgrade at once on crossing a threshold.
    fn after_sale(
        &mut self,
        customer_id: &str,
        purchase_id: &str,
        at: Timestamp,
        available: Timestamp,
        total: i64,
        points: i64,
    ) -> Result<(), BookError> {
        let Some((ladder, calendar)) = self.ladder.clone() else {
            return Ok(());
        };
        let metric = match ladder.metric {
            vafa_core::tiers::TierMetric::Spend => total,
            vafa_core::tiers::TierMetric::EarnedPoints => points,
        };
        let start = ladder.window_start(at, &self.tz, calendar);
        let c = self.customer(customer_id)?;
        c.sales.push((at, metric, purchase_id.to_owned()));
        let value: i64 = c
            .sales
            .iter()
            .filter(|(t, _, _)| *t >= start && *t <= at)
            .map(|(_, v, _)| v)
            .sum();
        let current = c.tier;
        let Some(to) = ladder.on_purchase(current, value) else {
            return Ok(());
        };
        c.tier = to;
        let tier = &ladder.tiers[to];
        let gift = tier.entry_gift_points;
        let (mut entry_id, mut gift_lot) = (None, None);
        if gift > 0 {
            // As live: pending with the purchase's points, and its return's to take back.
            let (lot, _, legs) = self.earn_legs(
                "issued",
                customer_id,
                Some(purchase_id),
                gift,
                at,
                available,
            )?;
            let explanation = serde_json::json!({"tier": tier.code, "entry_gift_points": gift});
            let id = self.post(
                "tier_gift",
                customer_id,
                Some(purchase_id),
                at,
                explanation,
                legs,
            )?;
            self.set_lot_entry(customer_id, &lot, &id);
            self.gifts
                .entry(customer_id.to_owned())
                .or_default()
                .push(BookGift {
                    level: to,
                    lot: lot.clone(),
                    points: gift,
                    at,
                    taken: 0,
                });
            entry_id = Some(id);
            gift_lot = Some(lot);
        }
        self.rows.tier_changes.push(HistoryTierChange {
            id: id_at("tch", at),
            customer_id: customer_id.to_owned(),
            from_tier: Some(ladder.tiers[current].code.clone()),
            to_tier: tier.code.clone(),
            qualifying: value,
            gift_points: gift,
            entry_id,
            purchase_id: Some(purchase_id.to_owned()),
            gift_lot_id: gift_lot,
            at,
        });
        self.rows.tiers.retain(|(c, _, _)| c != customer_id);
        self.rows
            .tiers
            .push((customer_id.to_owned(), tier.code.clone(), at));
        Ok(())
    }

    /// Return the whole of what is left of a purchase at `at`: its points are reversed
    /// under the program's return policy, exactly as a live return by amount.
    pub fn return_all(&mut self, purchase_id: &str, at: Timestamp) -> Result<i64, BookError> {
        let (customer_id, index) = self
            .purchases
            .get(purchase_id)
            .cloned()
            .ok_or_else(|| BookError::UnknownPurchase(purchase_id.to_owned()))?;
        self.expire(&customer_id, at)?;
        let p = &self.rows.purchases[index];
        let left = p.total_minor - p.returned_minor;
        if left <= 0 {
            return Err(BookError::Return("nothing left to return".into()));
        }
        let row = crate::sql::ledger_support::PurchaseRow {
            entry_id: p.entry_id.clone(),
            occurred_at: crate::sql::micros(p.occurred_at),
            total_minor: p.total_minor,
            returned_minor: p.returned_minor,
            points_earned: p.points_earned,
            points_reversed: p.points_reversed,
            cashback_earned: p.cashback_earned,
            lot_id: p.lot_id.clone(),
            // Imported history has no checkout: nothing paid in points or cashback.
            points_redeemed: 0,
            redeemed_value_minor: 0,
            cashback_used_minor: 0,
            // So all of what was returned went back in money.
            money_refunded_minor: p.returned_minor,
            // What was taken back before stands for what was owed: the book never
            // spends, so its policy took back all that was owed.
            points_due_before: p.points_reversed,
            cashback_due_before: p.cashback_reversed,
        };
        let lines: Vec<crate::sql::ledger_support::LineRow> = p
            .lines
            .iter()
            .map(|l| crate::sql::ledger_support::LineRow {
                line_no: l.line_no,
                quantity: l.quantity,
                amount_minor: l.amount_minor,
                points: l.points,
                cashback: l.cashback,
                returned_quantity: l.returned_quantity,
            })
            .collect();
        let dues = crate::sql::ledger::return_dues(&row, &lines, &ReturnRequest::Amount(left))
            .map_err(|e| BookError::Return(e.to_string()))?;
        let lots = self.lots(&customer_id);
        let own = p
            .lot_id
            .as_ref()
            .and_then(|id| lots.iter().position(|l| &l.id == id));
        let policy = self.settings.return_policy;
        // As a live return: what expired of its own points is not taken again.
        let expired_own = match &p.lot_id {
            Some(id) => self
                .customers
                .get(&customer_id)
                .and_then(|c| c.expired.get(id))
                .copied()
                .unwrap_or(0),
            None => 0,
        };
        let p = &self.rows.purchases[index];
        let reversible = (p.points_earned - expired_own - p.points_reversed).max(0);
        let debt = self.debt(&customer_id);
        let own_reversed = vafa_core::ledger::plan_reversal(
            &lots,
            own,
            dues.points.min(reversible),
            policy,
            debt,
            at,
        )
        .reversed;
        let sold_at = self.rows.purchases[index].occurred_at;
        let gifts = self.gifts_to_take_back(&customer_id, sold_at, dues.amount, own_reversed, at);
        let gift_plan: Vec<(Option<usize>, i64)> = gifts
            .iter()
            .map(|(_, lot, due)| (lots.iter().position(|l| &l.id == lot), *due))
            .collect();
        let reversal = vafa_core::ledger::plan_return(
            &lots,
            own,
            dues.points.min(reversible),
            &gift_plan,
            policy,
            debt,
            at,
        );
        let gift_reversed = reversal.gift_reversed();
        let mut legs: Vec<BookLeg> = reversal
            .takes
            .iter()
            .map(|(i, take)| BookLeg::Customer {
                amount: -take,
                lot: Some(lots[*i].id.clone()),
            })
            .collect();
        if reversal.new_debt > 0 {
            legs.push(BookLeg::Customer {
                amount: -reversal.new_debt,
                lot: None,
            });
        }
        if reversal.reversed + gift_reversed > 0 {
            legs.push(BookLeg::program(
                "issued",
                POINTS,
                reversal.reversed + gift_reversed,
            ));
        }
        // The book never spends cashback, so all that was earned is still there.
        let cash = dues.cashback;
        if cash > 0 {
            legs.push(BookLeg::Placed {
                spec: AccountSpec::customer_cashback(&customer_id, &self.currency),
                amount: -cash,
            });
            legs.push(BookLeg::program("issued", &self.currency.clone(), cash));
        }
        let explanation = serde_json::json!({
            "policy": policy, "amount_minor": dues.amount, "points_due": dues.points,
            "points_reversed": reversal.reversed, "debt_added": reversal.new_debt,
            "tier_gift_points_reversed": gift_reversed,
            "cashback_due_minor": dues.cashback, "cashback_reversed_minor": cash,
        });
        let entry_id = self.post(
            "return",
            &customer_id,
            Some(purchase_id),
            at,
            explanation,
            legs,
        )?;
        let p = &mut self.rows.purchases[index];
        p.returned_minor += dues.amount;
        p.points_reversed += reversal.reversed;
        p.cashback_reversed += cash;
        for (line_no, qty) in &dues.lines {
            if let Some(l) = p.lines.get_mut((*line_no - 1) as usize) {
                l.returned_quantity += qty;
            }
        }
        // What the purchase now counts for in its customer's tier window.
        let net = match self.ladder.as_ref().map(|(l, _)| l.metric) {
            Some(vafa_core::tiers::TierMetric::EarnedPoints) => p.points_earned - p.points_reversed,
            _ => p.total_minor - p.returned_minor,
        };
        if let Some(sale) = self
            .customers
            .get_mut(&customer_id)
            .and_then(|c| c.sales.iter_mut().find(|s| s.2 == purchase_id))
        {
            sale.1 = net;
        }
        if let Some(list) = self.gifts.get_mut(&customer_id) {
            for ((i, _, _), took) in gifts.iter().zip(&reversal.gifts_reversed) {
                list[*i].taken += took;
            }
        }
        self.rows.returns.push(HistoryReturn {
            id: id_at("ret", at),
            purchase_id: purchase_id.to_owned(),
            amount_minor: dues.amount,
            points_reversed: reversal.reversed,
            cashback_reversed: cash,
            points_due: dues.points,
            cashback_due: dues.cashback,
            gift_points_reversed: gift_reversed,
            entry_id,
            at,
        });
        Ok(dues.amount)
    }

    /// As the live return's: every gift a purchase gave the customer that is not taken
    /// back whole and whose tier they no longer reach — what they qualify with since the
    /// start of the window that upgrade was judged in, net of this return (`amount`, or
    /// its own `points` reversed, when the sale at `sold_at` is in that window) — newest
    /// first, as (index into the customer's gifts, lot, points), less what expired.
    fn gifts_to_take_back(
        &self,
        customer_id: &str,
        sold_at: Timestamp,
        amount: i64,
        points: i64,
        at: Timestamp,
    ) -> Vec<(usize, String, i64)> {
        let (Some(list), Some(c), Some((ladder, calendar))) = (
            self.gifts.get(customer_id),
            self.customers.get(customer_id),
            self.ladder.as_ref(),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, g) in list.iter().enumerate().rev() {
            let start = ladder.window_start(g.at, &self.tz, *calendar);
            let end = at.max(g.at);
            let this_return = match ladder.metric {
                vafa_core::tiers::TierMetric::Spend => amount,
                vafa_core::tiers::TierMetric::EarnedPoints => points,
            };
            let in_window = sold_at >= start && sold_at <= end;
            let value: i64 = c
                .sales
                .iter()
                .filter(|(t, _, _)| *t >= start && *t <= end)
                .map(|(_, v, _)| v)
                .sum::<i64>()
                - if in_window { this_return } else { 0 };
            let expired = c.expired.get(&g.lot).copied().unwrap_or(0);
            let due = g.points - g.taken - expired;
            if due > 0 && value < ladder.tiers[g.level].threshold {
                out.push((i, g.lot.clone(), due));
            }
        }
        out
    }

    /// Credit `points` by hand (an opening balance carried over from another system): a
    /// lot that expires by the program's policy, from the program's adjustments account.
    pub fn credit(
        &mut self,
        customer_id: &str,
        points: i64,
        at: Timestamp,
        reason: &str,
    ) -> Result<(), BookError> {
        if points <= 0 {
            return Ok(());
        }
        let (lot, paid, legs) = self.earn_legs("adjustments", customer_id, None, points, at, at)?;
        let explanation =
            serde_json::json!({"points": points, "reason": reason, "debt_paid": paid});
        let id = self.post("adjustment", customer_id, None, at, explanation, legs)?;
        self.set_lot_entry(customer_id, &lot, &id);
        Ok(())
    }

    /// Points the customer could spend at `at` (spendable lots less debt).
    pub fn available(&self, customer_id: &str, at: Timestamp) -> i64 {
        let lots = self.lots(customer_id);
        let spendable: i64 = lots
            .iter()
            .filter(|l| l.spendable(at))
            .map(|l| l.remaining)
            .sum();
        spendable - self.debt(customer_id)
    }

    /// Spend `points` as payment at `at`, soonest-expiring lots first; `false` (and
    /// nothing posted) when the customer has fewer.
    pub fn redeem(
        &mut self,
        customer_id: &str,
        points: i64,
        at: Timestamp,
    ) -> Result<bool, BookError> {
        self.expire(customer_id, at)?;
        let lots = self.lots(customer_id);
        let Ok(plan) = vafa_core::ledger::plan_spend(&lots, self.debt(customer_id), points, at)
        else {
            return Ok(false);
        };
        let mut legs: Vec<BookLeg> = plan
            .iter()
            .map(|(i, take)| BookLeg::Customer {
                amount: -take,
                lot: Some(lots[*i].id.clone()),
            })
            .collect();
        legs.push(BookLeg::program("redeemed", POINTS, points));
        let explanation = serde_json::json!({
            "points": points, "cashback_minor": 0, "value_minor": self.settings.points_value_minor(points),
            "point_value_minor": self.settings.point_value_minor.to_string(),
        });
        self.post("redemption", customer_id, None, at, explanation, legs)?;
        Ok(true)
    }

    /// Post every expiry due by `now`, then hand over the rows gathered so far and
    /// forget the customers (a book's customers are complete when their chunk is taken).
    pub fn take(&mut self, now: Timestamp) -> Result<HistoryRows, BookError> {
        let ids: Vec<String> = self.customers.keys().cloned().collect();
        for id in &ids {
            self.expire(id, now)?;
        }
        let mut rows = std::mem::take(&mut self.rows);
        rows.currency = self.currency.clone();
        self.purchases.clear();
        for (_, c) in self.customers.drain() {
            rows.accounts.extend(c.points);
            rows.lots.extend(c.lots);
        }
        rows.entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(rows)
    }
}

/// The customer's points account, opened at `at` (its first posting).
fn points_account(customer_id: &str, at: Timestamp) -> HistoryAccount {
    let spec = AccountSpec::customer_points(customer_id);
    HistoryAccount {
        id: id_at("acc", at),
        key: spec.key,
        kind: spec.kind.to_owned(),
        customer_id: spec.customer_id,
        unit: spec.unit,
        balance: 0,
        debt: 0,
        seq: 0,
        created_at: at,
    }
}

/// One leg of a book entry.
enum BookLeg {
    /// The customer's points account (with the lot it draws on or fills).
    Customer { amount: i64, lot: Option<String> },
    /// An account the writer places: a program account in the customer's shard, or
    /// the customer's cashback wallet.
    Placed { spec: AccountSpec, amount: i64 },
}

impl BookLeg {
    /// A leg on the program account `kind` in the customer's shard — filled in by
    /// [`Book::post`], which knows the customer.
    fn program(kind: &'static str, unit: &str, amount: i64) -> BookLeg {
        BookLeg::Placed {
            spec: AccountSpec {
                key: String::new(),
                kind,
                customer_id: None,
                unit: unit.to_owned(),
            },
            amount,
        }
    }
}

/// What an export reads, a page at a time in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportTable {
    Customers,
    Purchases,
    /// Every posting with its entry and account.
    Ledger,
}

impl ExportTable {
    /// The columns of a page, in order. Those ending in `_at` are times, written RFC 3339.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ExportTable::Customers => &[
                "id",
                "status",
                "first_name",
                "last_name",
                "honorific",
                "mobile",
                "email",
                "birth_date",
                "marriage_date",
                "gender",
                "city",
                "occupation",
                "national_id",
                "external_id",
                "attributes",
                "created_at",
                "updated_at",
            ],
            ExportTable::Purchases => &[
                "id",
                "customer_id",
                "external_id",
                "store",
                "channel",
                "currency",
                "total_minor",
                "returned_minor",
                "gross_minor",
                "discount_minor",
                "points_earned",
                "points_reversed",
                "points_redeemed",
                "cashback_earned",
                "cashback_reversed",
                "occurred_at",
                "created_at",
            ],
            ExportTable::Ledger => &[
                "posting_id",
                "entry_id",
                "kind",
                "customer_id",
                "purchase_id",
                "entry_at",
                "account",
                "unit",
                "amount",
                "balance_after",
                "lot_id",
                "actor_kind",
            ],
        }
    }
}

impl std::str::FromStr for ExportTable {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "customers" => Ok(ExportTable::Customers),
            "purchases" => Ok(ExportTable::Purchases),
            "ledger" => Ok(ExportTable::Ledger),
            other => Err(format!(
                "unknown export {other:?}: customers, purchases or ledger"
            )),
        }
    }
}

/// A page of an export: each row's cells as text (`None` for SQL NULL), times still in
/// microseconds; the last row's id is the cursor of the next page.
pub type ExportRows = Vec<Vec<Option<String>>>;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// As a live return: points that expired unspent are not taken back a second time.
    #[test]
    fn a_return_after_expiry_takes_nothing_twice() {
        let program = crate::Program {
            id: "prg_t".into(),
            name: "T".into(),
            currency: vafa_core::program::Currency::Irr,
            timezone: "Asia/Tehran".into(),
            locale: vafa_core::program::Locale::Fa,
            created_at: at("2025-01-01T00:00:00Z"),
        };
        let settings = LedgerSettings {
            expiry: vafa_core::ledger::ExpiryPolicy::Days { days: 30 },
            ..Default::default()
        };
        let mut book = Book::new(&program, settings, None, at("2026-01-01T00:00:00Z")).unwrap();
        book.add_customer(Customer::new(
            "cus_t".into(),
            "prg_t".into(),
            at("2025-01-01T00:00:00Z"),
        ));
        let buy = |when: &str| PastPurchase {
            customer_id: "cus_t".into(),
            external_id: None,
            store: None,
            channel: None,
            lines: Vec::new(),
            total_minor: 100_000,
            occurred_at: at(when),
            earn: true,
        };
        // 10 points each; the first purchase's expire in March.
        let old = book.purchase(buy("2025-02-01T00:00:00Z")).unwrap();
        book.purchase(buy("2025-06-01T00:00:00Z")).unwrap();
        book.return_all(&old, at("2025-06-02T00:00:00Z")).unwrap();
        let left: i64 = book.lots("cus_t").iter().map(|l| l.remaining).sum();
        assert_eq!((left, book.debt("cus_t")), (10, 0));
    }
}
