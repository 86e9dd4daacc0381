//! Pieces of the ledger shared by every backend: account keys, rows, idempotency.

use crate::StoreError;
use serde::de::DeserializeOwned;

/// Program accounts are split into shards by customer, so concurrent purchases of
/// different customers on PostgreSQL do not queue on one hot row.
pub(crate) const PROGRAM_SHARDS: u64 = 8;

pub(crate) const POINTS: &str = "points";

pub(crate) fn shard(customer_id: &str) -> u64 {
    // FNV-1a: stable across processes and releases, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in customer_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % PROGRAM_SHARDS
}

/// Which account a posting goes to; created on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountSpec {
    pub key: String,
    pub kind: &'static str,
    pub customer_id: Option<String>,
    pub unit: String,
}

impl AccountSpec {
    pub fn customer_points(customer_id: &str) -> Self {
        AccountSpec {
            key: format!("customer:{customer_id}:points"),
            kind: "customer_points",
            customer_id: Some(customer_id.to_owned()),
            unit: POINTS.into(),
        }
    }

    pub fn customer_cashback(customer_id: &str, currency: &str) -> Self {
        AccountSpec {
            key: format!("customer:{customer_id}:cashback"),
            kind: "customer_cashback",
            customer_id: Some(customer_id.to_owned()),
            unit: currency.to_owned(),
        }
    }

    /// A program account (`issued`, `redeemed`, `expired`, `adjustments`) of one unit,
    /// in the shard of the customer concerned.
    pub fn program(kind: &'static str, unit: &str, customer_id: &str) -> Self {
        AccountSpec {
            key: format!("program:{kind}:{unit}:{}", shard(customer_id)),
            kind,
            customer_id: None,
            unit: unit.to_owned(),
        }
    }
}

/// One line of a journal entry.
#[derive(Debug, Clone)]
pub(crate) struct Leg {
    pub account: AccountSpec,
    pub amount: i64,
    pub lot_id: Option<String>,
}

impl Leg {
    pub fn new(account: AccountSpec, amount: i64) -> Self {
        Leg {
            account,
            amount,
            lot_id: None,
        }
    }
    pub fn lot(account: AccountSpec, amount: i64, lot_id: &str) -> Self {
        Leg {
            account,
            amount,
            lot_id: Some(lot_id.to_owned()),
        }
    }
}

/// Postings of an entry must sum to zero in every unit.
pub(crate) fn check_zero_sum(legs: &[Leg]) -> Result<(), StoreError> {
    let mut sums: std::collections::BTreeMap<&str, i128> = Default::default();
    for l in legs {
        *sums.entry(l.account.unit.as_str()).or_default() += i128::from(l.amount);
    }
    match sums.iter().find(|(_, s)| **s != 0) {
        Some((unit, s)) => Err(StoreError::Corrupt(format!(
            "unbalanced entry: {unit} sums to {s}"
        ))),
        None => Ok(()),
    }
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub(crate) struct AccountRow {
    pub id: String,
    pub kind: String,
    pub balance: i64,
    pub debt: i64,
    pub seq: i64,
}

super::db::from_lite_by_name!(AccountRow {
    id,
    kind,
    balance,
    debt,
    seq
});
super::db::from_lite_by_name!(LotRow {
    id,
    remaining,
    available_at,
    expires_at
});

#[derive(sqlx::FromRow, Debug, Clone)]
pub(crate) struct LotRow {
    pub id: String,
    pub remaining: i64,
    pub available_at: i64,
    pub expires_at: Option<i64>,
}

impl LotRow {
    pub fn to_lot(&self) -> Result<vafa_core::ledger::Lot, StoreError> {
        Ok(vafa_core::ledger::Lot {
            id: self.id.clone(),
            remaining: self.remaining,
            available_at: super::from_micros(self.available_at)?,
            expires_at: self.expires_at.map(super::from_micros).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub(crate) struct PurchaseRow {
    /// Its journal entry (what its rules gave came with it) and when it was sold.
    pub entry_id: String,
    pub occurred_at: i64,
    pub total_minor: i64,
    pub returned_minor: i64,
    pub points_earned: i64,
    /// Taken back by its returns so far (after the return policy).
    pub points_reversed: i64,
    pub cashback_earned: i64,
    pub lot_id: Option<String>,
    /// What paid for part of it through the checkout: points, their value and cashback.
    pub points_redeemed: i64,
    pub redeemed_value_minor: i64,
    pub cashback_used_minor: i64,
    /// Paid back in money by its returns so far.
    pub money_refunded_minor: i64,
    /// What its returns so far owed back of its points and cashback (before the return
    /// policy): no later return owes more than what is left of the earnings.
    pub points_due_before: i64,
    pub cashback_due_before: i64,
}

impl PurchaseRow {
    /// What a return owes back, given what its lines or its share of the amount say
    /// (`points`, `cashback`): never more than the earnings its earlier returns left —
    /// returns by lines and by amount count each other's dues — and all of what is left
    /// when it brings back the rest of the purchase (`rest`).
    pub fn within_earnings(&self, rest: bool, points: i64, cashback: i64) -> (i64, i64) {
        let points_left = (self.points_earned - self.points_due_before).max(0);
        let cashback_left = (self.cashback_earned - self.cashback_due_before).max(0);
        if rest {
            return (points_left, cashback_left);
        }
        (
            points.clamp(0, points_left),
            cashback.clamp(0, cashback_left),
        )
    }
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub(crate) struct LineRow {
    pub line_no: i64,
    pub quantity: i64,
    pub amount_minor: i64,
    pub points: i64,
    pub cashback: i64,
    pub returned_quantity: i64,
}

/// The part of `part_after` of `whole` not yet given at `part_before`, for cumulative
/// pro-rata reversal: repeated partial returns add up to exactly the whole.
/// A purchase may earn at most 10¹² points and the largest amount of money in cashback:
/// past that an earn rate or a campaign is wrong, and the entry is refused (the
/// simulation says so too, as the purchase would).
pub(crate) fn within_earn_limit(points: i64, cashback: i64) -> Result<(), StoreError> {
    if points > vafa_core::ledger::MAX_ENTRY_POINTS || cashback > vafa_core::money::MAX_AMOUNT_MINOR
    {
        return Err(StoreError::LedgerLimit(format!(
            "this purchase would earn {points} points and {cashback} (minor units) of cashback, more than one purchase may \
             (1000000000000 points, or the largest amount of money); check the program's earn rate and campaigns"
        )));
    }
    Ok(())
}

pub(crate) fn pro_rata(whole: i64, of: i64, before: i64, after: i64) -> i64 {
    if of <= 0 {
        return 0;
    }
    let f = |x: i64| (i128::from(whole) * i128::from(x) / i128::from(of)) as i64;
    f(after) - f(before)
}

pub(crate) fn decode<T: DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("idempotency record: {e}")))
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// True when a concurrent request with the same idempotency key (or external id)
/// committed first: the caller re-runs and replays that request's outcome.
pub(crate) fn is_idempotency_race(err: &StoreError) -> bool {
    super::db::unique_violation(err).is_some_and(|(c, m)| {
        c == "idempotency_keys_pkey" || m.contains("idempotency_keys.program_id")
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn pro_rata_parts_add_up() {
        let parts: Vec<i64> = [(0, 1), (1, 2), (2, 3)]
            .iter()
            .map(|(b, a)| super::pro_rata(10, 3, *b, *a))
            .collect();
        assert_eq!(parts.iter().sum::<i64>(), 10);
        assert_eq!(super::pro_rata(7, 0, 0, 1), 0);
    }

    #[test]
    fn shards_are_stable() {
        assert_eq!(super::shard("cus_a"), super::shard("cus_a"));
        assert!(super::shard("cus_b") < super::PROGRAM_SHARDS);
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProgramSettingsRow {
    #[sqlx(flatten)]
    pub program: super::rows::ProgramRow,
    pub ledger: Option<String>,
}

impl super::db::FromLite for ProgramSettingsRow {
    fn from_lite(row: &super::db::LiteRow) -> Result<Self, StoreError> {
        Ok(ProgramSettingsRow {
            program: super::db::FromLite::from_lite(row)?,
            ledger: row.get_named("ledger")?,
        })
    }
}
