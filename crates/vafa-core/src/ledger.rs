//! The ledger's rules, without storage: what a purchase earns (and which line earned
//! what), when points expire, which lots a spend consumes, what a return reverses under
//! each policy, and what a customer's balance is at any instant.
//!
//! Points live in lots: each earning is a lot with the instant it becomes available
//! (after the return window) and the instant it expires. A balance is computed from
//! the lots at the instant asked, so it is right even before the expiry job has run.
//! A customer may owe points (a return after the points were spent, when the program
//! allows it); that debt is paid from later earnings.

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan, Zoned};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarKind {
    Gregorian,
    Jalali,
}

/// When earned points expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", from = "ExpiryWire")]
pub enum ExpiryPolicy {
    Never,
    Days {
        days: u32,
    },
    Months {
        months: u32,
    },
    /// At the end of the month of earning (program time zone), in the Gregorian or Jalali
    /// calendar (a Jalali month ends at the start of the next one's 1st). Saved without a
    /// calendar, the program's own is filled in; settings stored before there was a
    /// choice have none and keep Gregorian months.
    EndOfMonth {
        #[serde(skip_serializing_if = "Option::is_none")]
        calendar: Option<CalendarKind>,
    },
    /// At the end of the year of earning (`years_after: 0`) or of a later year, in the
    /// Gregorian or Jalali calendar (a Jalali year ends at the start of 1 Farvardin).
    EndOfYear {
        calendar: CalendarKind,
        years_after: u8,
    },
}

/// [`ExpiryPolicy`] as read: serde lets an internally tagged *unit* variant ignore any
/// other field, so `{"kind":"never","days":3}` would pass unnoticed; as empty struct
/// variants they refuse it like the rest.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum ExpiryWire {
    Never {},
    Days {
        days: u32,
    },
    Months {
        months: u32,
    },
    EndOfMonth {
        #[serde(default)]
        calendar: Option<CalendarKind>,
    },
    EndOfYear {
        calendar: CalendarKind,
        years_after: u8,
    },
}

impl From<ExpiryWire> for ExpiryPolicy {
    fn from(w: ExpiryWire) -> Self {
        match w {
            ExpiryWire::Never {} => ExpiryPolicy::Never,
            ExpiryWire::Days { days } => ExpiryPolicy::Days { days },
            ExpiryWire::Months { months } => ExpiryPolicy::Months { months },
            ExpiryWire::EndOfMonth { calendar } => ExpiryPolicy::EndOfMonth { calendar },
            ExpiryWire::EndOfYear {
                calendar,
                years_after,
            } => ExpiryPolicy::EndOfYear {
                calendar,
                years_after,
            },
        }
    }
}

/// What a return does when the points it should reverse were already spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnPolicy {
    /// Reverse only points that are still pending; spent or available points stay.
    OnlyPending,
    /// Reverse what the balance allows, never below zero.
    WithinBalance,
    /// Reverse in full; a shortfall becomes a visible debt paid by later earnings.
    AllowNegative,
}

/// Most points one entry may earn or move. A purchase past it is refused (`ledger_limit`)
/// rather than clamped: it means a runaway earn rate or campaign, and with it an account
/// takes millions of entries to reach what an integer balance holds.
pub const MAX_ENTRY_POINTS: i64 = 1_000_000_000_000;

/// Most points `earn_points` may give per `earn_per_minor`.
pub const MAX_EARN_POINTS: i64 = 1_000_000_000;

/// A program's ledger settings (before the rules engine, the base earning rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSettings {
    /// `earn_points` points for every `earn_per_minor` of money paid, rounded down.
    pub earn_points: i64,
    pub earn_per_minor: i64,
    /// Percent of each purchase credited to the cashback wallet, rounded down to the minor unit.
    #[serde(with = "rust_decimal::serde::str")]
    pub cashback_percent: Decimal,
    /// What one point is worth in minor units when spent as payment.
    #[serde(with = "rust_decimal::serde::str")]
    pub point_value_minor: Decimal,
    /// The return window: earned points are pending this many days.
    pub pending_days: u32,
    pub expiry: ExpiryPolicy,
    pub return_policy: ReturnPolicy,
    pub transfers_enabled: bool,
    /// Most points one transfer may move.
    pub transfer_max_points: i64,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        LedgerSettings {
            earn_points: 1,
            earn_per_minor: 10_000,
            cashback_percent: Decimal::ZERO,
            point_value_minor: Decimal::from(100),
            pending_days: 0,
            expiry: ExpiryPolicy::Months { months: 12 },
            return_policy: ReturnPolicy::AllowNegative,
            transfers_enabled: false,
            transfer_max_points: 100_000,
        }
    }
}

impl LedgerSettings {
    pub fn validate(&self) -> Result<(), crate::FieldErrors> {
        let mut e = crate::FieldErrors::default();
        if self.earn_points < 0 {
            e.push("earn_points", "must not be negative");
        } else if self.earn_points > MAX_EARN_POINTS {
            e.push("earn_points", "must be at most 1000000000");
        }
        if self.earn_per_minor <= 0 {
            e.push("earn_per_minor", "must be positive");
        }
        if self.cashback_percent < Decimal::ZERO || self.cashback_percent > Decimal::from(100) {
            e.push("cashback_percent", "must be between 0 and 100");
        }
        if self.point_value_minor < Decimal::ZERO {
            e.push("point_value_minor", "must not be negative");
        } else if self.point_value_minor > Decimal::from(crate::money::MAX_AMOUNT_MINOR) {
            e.push(
                "point_value_minor",
                "is more than any amount of money this program handles",
            );
        }
        if self.pending_days > 365 {
            e.push("pending_days", "must be at most 365");
        }
        match self.expiry {
            ExpiryPolicy::Days { days } if !(1..=36_500).contains(&days) => {
                e.push("expiry.days", "must be between 1 and 36500")
            }
            ExpiryPolicy::Months { months } if !(1..=1200).contains(&months) => {
                e.push("expiry.months", "must be between 1 and 1200")
            }
            ExpiryPolicy::EndOfYear { years_after, .. } if years_after > 10 => {
                e.push("expiry.years_after", "must be at most 10")
            }
            _ => {}
        }
        if self.transfer_max_points <= 0 {
            e.push("transfer_max_points", "must be positive");
        }
        e.finish(|| ())
    }

    /// Points earned on `paid_minor`, rounded down.
    pub fn points_for(&self, paid_minor: i64) -> i64 {
        let p = i128::from(paid_minor.max(0)) * i128::from(self.earn_points)
            / i128::from(self.earn_per_minor.max(1));
        i64::try_from(p).unwrap_or(i64::MAX)
    }

    /// Cashback on `paid_minor`, rounded down to the minor unit.
    pub fn cashback_for(&self, paid_minor: i64) -> i64 {
        (Decimal::from(paid_minor.max(0)) * self.cashback_percent / Decimal::from(100))
            .floor()
            .to_i64()
            .unwrap_or(0)
    }

    /// The money value of `points` in minor units, rounded down (in the program's favour).
    /// A value past what a sum of money can hold is held at the largest amount, so that
    /// adding it up (a liability report over every balance) cannot overflow either.
    pub fn points_value_minor(&self, points: i64) -> i64 {
        let max = crate::money::MAX_AMOUNT_MINOR;
        Decimal::from(points)
            .checked_mul(self.point_value_minor)
            .and_then(|v| v.floor().to_i64())
            .map_or(if points < 0 { -max } else { max }, |v| v.clamp(-max, max))
    }
}

/// Split `total` over `weights` in proportion, exactly (largest remainder; ties to the
/// earlier line), so per-line amounts always add up to the whole.
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if sum == 0 {
        let mut out = vec![0; weights.len()];
        out[0] = total;
        return out;
    }
    let mut out = Vec::with_capacity(weights.len());
    let mut rema: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let exact = i128::from(total) * i128::from((*w).max(0));
        let share = exact / sum;
        out.push(share as i64);
        given += share;
        rema.push((exact % sum, i));
    }
    rema.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rema.into_iter().take((i128::from(total) - given) as usize) {
        out[i] += 1;
    }
    out
}

impl ExpiryPolicy {
    /// When points earned at `earned_at` expire, in the program's time zone. A purchase's
    /// points count from when they become available (after `pending_days`), so a return
    /// window never leaves a point that expires before it can be spent.
    pub fn expires_at(&self, earned_at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if *self == ExpiryPolicy::Never {
            return None;
        }
        // A date the calendar cannot reach (a year before the Jalali era, past 9999)
        // expires at once: never would make points that outlive every policy.
        Some(self.expiry_in_calendar(earned_at, tz).unwrap_or(earned_at))
    }

    fn expiry_in_calendar(&self, earned_at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let local = earned_at.to_zoned(tz.clone());
        let at = match *self {
            ExpiryPolicy::Never => return None,
            ExpiryPolicy::Days { days } => {
                local.checked_add(Span::new().days(i64::from(days))).ok()?
            }
            ExpiryPolicy::Months { months } => local
                .checked_add(Span::new().months(i64::from(months)))
                .ok()?,
            ExpiryPolicy::EndOfMonth {
                calendar: None | Some(CalendarKind::Gregorian),
            } => start_of_day(
                &local,
                local.date().first_of_month().checked_add(1.month()).ok()?,
            )?,
            ExpiryPolicy::EndOfMonth {
                calendar: Some(CalendarKind::Jalali),
            } => {
                let j = crate::date::to_jalali(local.date());
                let (year, month) = if j.month == 12 {
                    (j.year + 1, 1)
                } else {
                    (j.year, j.month + 1)
                };
                let first =
                    crate::date::parse_calendar_date(&format!("{year:04}/{month:02}/01")).ok()?;
                start_of_day(&local, first)?
            }
            ExpiryPolicy::EndOfYear {
                calendar: CalendarKind::Gregorian,
                years_after,
            } => {
                let year = local.year() + 1 + i16::from(years_after);
                start_of_day(&local, jiff::civil::date(year, 1, 1))?
            }
            ExpiryPolicy::EndOfYear {
                calendar: CalendarKind::Jalali,
                years_after,
            } => {
                let jy = crate::date::to_jalali(local.date()).year + 1 + i32::from(years_after);
                let nowruz = crate::date::parse_calendar_date(&format!("{jy:04}/01/01")).ok()?;
                start_of_day(&local, nowruz)?
            }
        };
        Some(at.timestamp())
    }
}

fn start_of_day(like: &Zoned, date: jiff::civil::Date) -> Option<Zoned> {
    date.to_zoned(like.time_zone().clone()).ok()
}

/// A lot as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub id: String,
    pub remaining: i64,
    pub available_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

impl Lot {
    pub fn expired(&self, t: Timestamp) -> bool {
        self.expires_at.is_some_and(|e| e <= t)
    }
    pub fn spendable(&self, t: Timestamp) -> bool {
        self.remaining > 0 && self.available_at <= t && !self.expired(t)
    }
    pub fn pending(&self, t: Timestamp) -> bool {
        self.remaining > 0 && self.available_at > t && !self.expired(t)
    }
}

/// Soonest-expiring first; never-expiring last; then oldest, then by id.
pub fn spend_order(lots: &mut [Lot]) {
    lots.sort_by(|a, b| {
        let ka = (a.expires_at.is_none(), a.expires_at, a.available_at, &a.id);
        let kb = (b.expires_at.is_none(), b.expires_at, b.available_at, &b.id);
        ka.cmp(&kb)
    });
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Spendable now; negative when the customer owes points.
    pub available: i64,
    pub pending: i64,
    /// Points owed (a return reversed points already spent).
    pub debt: i64,
    /// Spendable points that expire within the horizon, by expiry instant.
    pub expiring_soon: Vec<(Timestamp, i64)>,
}

/// The balance at instant `t`: lots expired by then count for nothing, pending lots
/// are not spendable, and the debt is taken from what is.
pub fn balance_at(lots: &[Lot], debt: i64, t: Timestamp, horizon: jiff::SignedDuration) -> Balance {
    let spendable: i64 = lots
        .iter()
        .filter(|l| l.spendable(t))
        .map(|l| l.remaining)
        .sum();
    let pending: i64 = lots
        .iter()
        .filter(|l| l.pending(t))
        .map(|l| l.remaining)
        .sum();
    let until = t.saturating_add(horizon).unwrap_or(t);
    let mut soon: std::collections::BTreeMap<Timestamp, i64> = Default::default();
    for l in lots.iter().filter(|l| l.spendable(t)) {
        if let Some(e) = l.expires_at.filter(|e| *e <= until) {
            *soon.entry(e).or_default() += l.remaining;
        }
    }
    Balance {
        available: spendable - debt,
        pending,
        debt,
        expiring_soon: soon.into_iter().collect(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insufficient {
    pub available: i64,
}

/// Which lots a spend of `amount` consumes at `t`: soonest-expiring first. `lots` must
/// be in [`spend_order`]. Refuses if the spendable points, less any debt, fall short.
pub fn plan_spend(
    lots: &[Lot],
    debt: i64,
    amount: i64,
    t: Timestamp,
) -> Result<Vec<(usize, i64)>, Insufficient> {
    let spendable: i64 = lots
        .iter()
        .filter(|l| l.spendable(t))
        .map(|l| l.remaining)
        .sum();
    let available = spendable - debt;
    if amount <= 0 || amount > available {
        return Err(Insufficient { available });
    }
    let mut left = amount;
    let mut plan = Vec::new();
    for (i, lot) in lots.iter().enumerate().filter(|(_, l)| l.spendable(t)) {
        if left == 0 {
            break;
        }
        let take = lot.remaining.min(left);
        plan.push((i, take));
        left -= take;
    }
    Ok(plan)
}

/// What reversing `amount` points of a purchase does to the lots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reversal {
    /// (index into the lots, points taken)
    pub takes: Vec<(usize, i64)>,
    /// Added to the customer's debt.
    pub new_debt: i64,
    /// Points actually reversed (`takes` plus `new_debt`).
    pub reversed: i64,
}

/// Reverse `amount` points earned by the purchase whose lot is `own` (an index into
/// `lots`, which are in spend order), under `policy`, at `t`, for a customer who owes
/// `debt` points.
pub fn plan_reversal(
    lots: &[Lot],
    own: Option<usize>,
    amount: i64,
    policy: ReturnPolicy,
    debt: i64,
    t: Timestamp,
) -> Reversal {
    let mut r = Reversal::default();
    if amount <= 0 {
        return r;
    }
    let mut left = amount;
    // Under within_balance, spendable points are taken only as far as the balance
    // (spendable less any debt) stays at zero or above; the own lot's pending points
    // were never in the balance and are always taken back.
    let mut budget = match policy {
        ReturnPolicy::WithinBalance => {
            let spendable: i64 = lots
                .iter()
                .filter(|l| l.spendable(t))
                .map(|l| l.remaining)
                .sum();
            (spendable - debt.max(0)).max(0)
        }
        _ => i64::MAX,
    };
    // The purchase's own lot first: its points, pending or not, are the ones being returned.
    if let Some(i) = own.filter(|i| {
        lots.get(*i)
            .is_some_and(|l| l.remaining > 0 && !l.expired(t))
    }) {
        let lot = &lots[i];
        let usable = match policy {
            ReturnPolicy::OnlyPending if !lot.pending(t) => 0,
            ReturnPolicy::WithinBalance if !lot.pending(t) => lot.remaining.min(budget),
            _ => lot.remaining,
        };
        let take = usable.min(left);
        if take > 0 {
            r.takes.push((i, take));
            left -= take;
            if !lot.pending(t) {
                budget = budget.saturating_sub(take);
            }
        }
    }
    if matches!(
        policy,
        ReturnPolicy::WithinBalance | ReturnPolicy::AllowNegative
    ) {
        for (i, lot) in lots.iter().enumerate() {
            if left == 0 || budget == 0 {
                break;
            }
            if Some(i) == own || !lot.spendable(t) {
                continue;
            }
            let take = lot.remaining.min(left).min(budget);
            r.takes.push((i, take));
            left -= take;
            budget = budget.saturating_sub(take);
        }
    }
    if policy == ReturnPolicy::AllowNegative {
        // Other points still in their return window pay before a debt is left: an
        // earning pays a debt however new it is, and a debt beside points that later
        // become spendable would sit there while those points expire.
        for (i, lot) in lots.iter().enumerate() {
            if left == 0 {
                break;
            }
            if Some(i) == own || !lot.pending(t) {
                continue;
            }
            let take = lot.remaining.min(left);
            r.takes.push((i, take));
            left -= take;
        }
        r.new_debt = left;
        left = 0;
    }
    r.reversed = amount - left;
    r
}

/// A return's reversals: the purchase's own points, then each tier entry gift the return
/// leaves the customer without a claim to (below the tier it was given for), each from
/// its own lot first and under the same policy, each planned on what the ones before it
/// left (lots and debt). `takes` holds one take per lot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReturnReversal {
    pub takes: Vec<(usize, i64)>,
    pub new_debt: i64,
    /// Of the purchase's own points.
    pub reversed: i64,
    /// Of each gift, in the order given.
    pub gifts_reversed: Vec<i64>,
}

impl ReturnReversal {
    /// Of all the gifts.
    pub fn gift_reversed(&self) -> i64 {
        self.gifts_reversed.iter().sum()
    }
}

/// Plan [`ReturnReversal`]: `points` of the purchase whose lot is `own`, then each of
/// `gifts` — (its lot, the points to take back) — in order.
pub fn plan_return(
    lots: &[Lot],
    own: Option<usize>,
    points: i64,
    gifts: &[(Option<usize>, i64)],
    policy: ReturnPolicy,
    debt: i64,
    t: Timestamp,
) -> ReturnReversal {
    let mut left: Vec<Lot> = lots.to_vec();
    let mut out = ReturnReversal::default();
    let parts = std::iter::once((own, points)).chain(gifts.iter().copied());
    for (n, (lot, amount)) in parts.enumerate() {
        let r = plan_reversal(&left, lot, amount, policy, debt + out.new_debt, t);
        for (i, take) in &r.takes {
            left[*i].remaining -= take;
            match out.takes.iter_mut().find(|(j, _)| j == i) {
                Some((_, t)) => *t += take,
                None => out.takes.push((*i, *take)),
            }
        }
        out.new_debt += r.new_debt;
        if n == 0 {
            out.reversed = r.reversed;
        } else {
            out.gifts_reversed.push(r.reversed);
        }
    }
    out
}

/// When points earned at `earned_at` become spendable.
pub fn available_at(earned_at: Timestamp, pending_days: u32) -> Timestamp {
    earned_at
        .saturating_add(jiff::SignedDuration::from_hours(
            24 * i64::from(pending_days),
        ))
        .unwrap_or(earned_at)
}

#[cfg(test)]
mod tests;
