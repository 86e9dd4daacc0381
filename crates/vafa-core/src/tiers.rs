//! Tier ladders (Simple, Silver, Gold, VIP …): which tier a customer's qualifying value
//! earns, over which window, and when a customer moves.
//!
//! - The qualifying value is spend (net of returns, minor units) or points *earned* in
//!   the window — never the current balance, which spending would lower.
//! - Upgrades happen at once, on the purchase that crosses a threshold.
//! - Downgrades happen only at a periodic evaluation, and only after the customer has
//!   been below their tier for `grace_days` (counted from the first evaluation that
//!   found them below). A manual override pins a tier until a date: no downgrade
//!   before it, upgrades still happen.
//! - A customer with no tier record is in the first tier (threshold 0).

use crate::date::{from_jalali, to_jalali};
use crate::ledger::CalendarKind;
use crate::FieldErrors;
use jiff::{tz::TimeZone, Timestamp, ToSpan};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierMetric {
    /// Revenue net of returns, in minor units of the program currency.
    Spend,
    /// Points earned by purchases, net of those reversed by returns.
    EarnedPoints,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TierWindow {
    /// The last N months up to the moment of evaluation.
    RollingMonths {
        months: u32,
    },
    /// Since the start of the current calendar year (Jalali or Gregorian, per program).
    CalendarYear,
    Lifetime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Stable identifier: lower-case letters, digits and `_`.
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// The qualifying value from which this tier is earned; the first tier's is 0.
    pub threshold: i64,
    /// Points earned are multiplied by this (rounded down).
    #[serde(default = "one", with = "rust_decimal::serde::str")]
    pub earn_multiplier: Decimal,
    /// Automatic discount at checkout, in percent.
    #[serde(default, with = "rust_decimal::serde::str")]
    pub discount_percent: Decimal,
    /// Points given once when a customer enters the tier by an upgrade.
    #[serde(default)]
    pub entry_gift_points: i64,
    /// Free items (SKUs) the tier brings, for the checkout and the cashier.
    #[serde(default)]
    pub free_items: Vec<String>,
}

impl Tier {
    /// Points earned under this tier: `points × earn_multiplier`, rounded down.
    pub fn earn(&self, points: i64) -> i64 {
        multiply_points(points, self.earn_multiplier)
    }

    /// A purchase's points and what each line earned, under this tier: the whole is
    /// multiplied and rounded down once, then spread over the lines in proportion to
    /// what they earned, so the lines still add up to the whole (rounding each line
    /// down would lose points that a return by lines could never take back).
    pub fn earn_lines(&self, points: i64, lines: &[i64]) -> (i64, Vec<i64>) {
        let total = self.earn(points);
        if total == points {
            return (total, lines.to_vec());
        }
        (total, crate::ledger::allocate(total, lines))
    }
}

fn one() -> Decimal {
    Decimal::ONE
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierLadder {
    pub metric: TierMetric,
    pub window: TierWindow,
    #[serde(default)]
    pub grace_days: u32,
    pub tiers: Vec<Tier>,
}

/// What an evaluation does to a customer's tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierDecision {
    /// Stay; `below_since` is what to store (cleared when back at or above the tier).
    Stay {
        below_since: Option<Timestamp>,
    },
    Upgrade(usize),
    Downgrade(usize),
}

impl TierLadder {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if self.tiers.is_empty() || self.tiers.len() > 20 {
            e.push("tiers", "must hold 1 to 20 tiers");
        }
        if let TierWindow::RollingMonths { months } = self.window {
            if !(1..=120).contains(&months) {
                e.push("window.months", "must be between 1 and 120");
            }
        }
        if self.grace_days > 3650 {
            e.push("grace_days", "must be at most 3650");
        }
        let mut codes = std::collections::HashSet::new();
        for (i, t) in self.tiers.iter().enumerate() {
            let f = |name: &str| format!("tiers[{i}].{name}");
            let code_ok = !t.code.is_empty()
                && t.code.len() <= 32
                && t.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !code_ok {
                e.push(f("code"), "must be 1 to 32 of a-z, 0-9 and _");
            } else if !codes.insert(t.code.as_str()) {
                e.push(f("code"), "is used by another tier");
            }
            if t.name.trim().is_empty() || t.name.chars().count() > 64 {
                e.push(f("name"), "must be 1 to 64 characters");
            }
            if i == 0 && t.threshold != 0 {
                e.push(f("threshold"), "the first tier starts at 0");
            }
            if i > 0 && t.threshold <= self.tiers[i - 1].threshold {
                e.push(f("threshold"), "must be above the previous tier's");
            }
            if t.earn_multiplier < Decimal::ZERO || t.earn_multiplier > Decimal::from(100) {
                e.push(f("earn_multiplier"), "must be between 0 and 100");
            }
            if t.discount_percent < Decimal::ZERO || t.discount_percent > Decimal::from(100) {
                e.push(f("discount_percent"), "must be between 0 and 100");
            }
            // A gift no account could hold would refuse every purchase that reaches the tier.
            if !(0..=crate::ledger::MAX_EARN_POINTS).contains(&t.entry_gift_points) {
                e.push(
                    f("entry_gift_points"),
                    format!("must be between 0 and {}", crate::ledger::MAX_EARN_POINTS),
                );
            }
            let distinct: std::collections::HashSet<&str> =
                t.free_items.iter().map(|s| s.trim()).collect();
            if t.free_items.len() > 50 || t.free_items.iter().any(|s| s.trim().is_empty()) {
                e.push(f("free_items"), "at most 50 non-empty SKUs");
            } else if distinct.len() != t.free_items.len() {
                e.push(f("free_items"), "names an SKU twice");
            }
        }
        e.finish(|| ())
    }

    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t.code == code)
    }

    /// The highest tier whose threshold `value` reaches.
    pub fn qualifies_for(&self, value: i64) -> usize {
        self.tiers
            .iter()
            .rposition(|t| value >= t.threshold)
            .unwrap_or(0)
    }

    /// The first instant of the qualifying window that ends at `at`.
    pub fn window_start(&self, at: Timestamp, tz: &TimeZone, calendar: CalendarKind) -> Timestamp {
        match self.window {
            TierWindow::Lifetime => Timestamp::MIN,
            TierWindow::RollingMonths { months } => at
                .to_zoned(tz.clone())
                .checked_sub(i64::from(months).months())
                .map(|z| z.timestamp())
                .unwrap_or(Timestamp::MIN),
            TierWindow::CalendarYear => {
                let today = at.to_zoned(tz.clone()).date();
                let first = match calendar {
                    CalendarKind::Gregorian => today.first_of_year(),
                    CalendarKind::Jalali => {
                        from_jalali(to_jalali(today).year, 1, 1).unwrap_or(today.first_of_year())
                    }
                };
                first
                    .to_zoned(tz.clone())
                    .map(|z| z.timestamp())
                    .unwrap_or(Timestamp::MIN)
            }
        }
    }

    /// At a purchase: upgrade if the value reaches a higher tier, never downgrade.
    pub fn on_purchase(&self, current: usize, value: i64) -> Option<usize> {
        let target = self.qualifies_for(value);
        (target > current).then_some(target)
    }

    /// At a periodic evaluation at `now`.
    pub fn evaluate(
        &self,
        current: usize,
        value: i64,
        below_since: Option<Timestamp>,
        pinned_until: Option<Timestamp>,
        now: Timestamp,
    ) -> TierDecision {
        let target = self.qualifies_for(value);
        if target > current {
            return TierDecision::Upgrade(target);
        }
        if target == current || pinned_until.is_some_and(|p| now < p) {
            return TierDecision::Stay { below_since: None };
        }
        let since = below_since.unwrap_or(now);
        let grace = jiff::SignedDuration::from_hours(24 * i64::from(self.grace_days));
        match since.checked_add(grace) {
            Ok(end) if now < end => TierDecision::Stay {
                below_since: Some(since),
            },
            _ => TierDecision::Downgrade(target),
        }
    }

    /// The next tier above `current` and how much more qualifying value it needs.
    pub fn progress(&self, current: usize, value: i64) -> Option<(&Tier, i64)> {
        let next = self.tiers.get(current + 1)?;
        Some((next, (next.threshold - value).max(0)))
    }
}

/// Points under the multiplier a purchase recorded as text (its explanation's
/// `tier.earn_multiplier`); none, or one that does not read, changes nothing.
pub fn multiply_points_recorded(points: i64, multiplier: Option<&str>) -> i64 {
    match multiplier.and_then(|m| m.parse::<Decimal>().ok()) {
        Some(m) => multiply_points(points, m),
        None => points,
    }
}

/// `points × multiplier`, rounded down; a multiplier of 1 changes nothing.
pub fn multiply_points(points: i64, multiplier: Decimal) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    if multiplier == Decimal::ONE {
        return points;
    }
    (Decimal::from(points) * multiplier)
        .floor()
        .to_i64()
        .unwrap_or(points)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ladder(window: TierWindow, grace_days: u32) -> TierLadder {
        let t = |code: &str, threshold| Tier {
            code: code.into(),
            name: code.into(),
            name_en: None,
            threshold,
            earn_multiplier: Decimal::ONE,
            discount_percent: Decimal::ZERO,
            entry_gift_points: 0,
            free_items: Vec::new(),
        };
        TierLadder {
            metric: TierMetric::Spend,
            window,
            grace_days,
            tiers: vec![
                t("simple", 0),
                t("silver", 1000),
                t("gold", 5000),
                t("vip", 20000),
            ],
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn thresholds_pick_the_highest_tier_reached() {
        let l = ladder(TierWindow::Lifetime, 0);
        assert_eq!(l.qualifies_for(0), 0);
        assert_eq!(l.qualifies_for(999), 0);
        assert_eq!(l.qualifies_for(1000), 1);
        assert_eq!(l.qualifies_for(19_999), 2);
        assert_eq!(l.qualifies_for(1_000_000), 3);
        assert_eq!(l.qualifies_for(-50), 0, "returns can take spend below zero");
        assert_eq!(l.on_purchase(1, 5000), Some(2));
        assert_eq!(l.on_purchase(2, 10), None, "a purchase never downgrades");
        let (next, needed) = l.progress(1, 3200).unwrap();
        assert_eq!((next.code.as_str(), needed), ("gold", 1800));
        assert!(l.progress(3, 0).is_none());
    }

    #[test]
    fn a_multiplied_purchase_spreads_its_whole_over_the_lines() {
        let mut gold = ladder(TierWindow::Lifetime, 0).tiers[2].clone();
        gold.earn_multiplier = Decimal::new(15, 1);
        // 1.5 × 2 = 3; rounding each line (1.5 → 1) would give the lines 2 of the 3.
        assert_eq!(gold.earn_lines(2, &[1, 1]), (3, vec![2, 1]));
        assert_eq!(gold.earn_lines(7, &[3, 0, 4]), (10, vec![4, 0, 6]));
        assert_eq!(
            gold.earn_lines(5, &[]),
            (7, vec![]),
            "a purchase without lines"
        );
        gold.earn_multiplier = Decimal::ONE;
        assert_eq!(gold.earn_lines(5, &[2, 3]), (5, vec![2, 3]));
    }

    #[test]
    fn validation_names_each_bad_field() {
        let mut l = ladder(TierWindow::RollingMonths { months: 0 }, 0);
        l.tiers[0].threshold = 5;
        l.tiers[2].threshold = 1000;
        l.tiers[3].code = "VIP!".into();
        l.tiers[1].discount_percent = Decimal::from(101);
        l.tiers[1].entry_gift_points = i64::MAX;
        l.tiers[2].free_items = vec!["LATTE".into(), " LATTE".into()];
        let fields: Vec<String> = l
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "window.months",
                "tiers[0].threshold",
                "tiers[1].discount_percent",
                "tiers[1].entry_gift_points",
                "tiers[2].threshold",
                "tiers[2].free_items",
                "tiers[3].code"
            ]
        );
        assert!(ladder(TierWindow::CalendarYear, 30).validate().is_ok());
    }

    #[test]
    fn windows_rolling_jalali_and_gregorian_years() {
        let tz = TimeZone::get("Asia/Tehran").unwrap();
        let at = ts("2026-11-23T08:00:00Z"); // 1405/09/02 in Tehran
        let rolling = ladder(TierWindow::RollingMonths { months: 12 }, 0);
        assert_eq!(
            rolling.window_start(at, &tz, CalendarKind::Jalali),
            ts("2025-11-23T08:00:00Z")
        );
        let year = ladder(TierWindow::CalendarYear, 0);
        // 1 Farvardin 1405 = 2026-03-21, midnight in Tehran (+03:30).
        assert_eq!(
            year.window_start(at, &tz, CalendarKind::Jalali),
            ts("2026-03-20T20:30:00Z")
        );
        assert_eq!(
            year.window_start(at, &tz, CalendarKind::Gregorian),
            ts("2025-12-31T20:30:00Z")
        );
        // Just before Nowruz the Jalali year is still 1404.
        assert_eq!(
            year.window_start(ts("2026-03-20T12:00:00Z"), &tz, CalendarKind::Jalali),
            ts("2025-03-20T20:30:00Z")
        );
        assert_eq!(
            ladder(TierWindow::Lifetime, 0).window_start(at, &tz, CalendarKind::Jalali),
            Timestamp::MIN
        );
    }

    #[test]
    fn downgrades_wait_out_the_grace_period_and_pins() {
        let l = ladder(TierWindow::RollingMonths { months: 12 }, 30);
        let t0 = ts("2026-01-01T00:00:00Z");
        let day = |n: i64| {
            t0.checked_add(jiff::SignedDuration::from_hours(24 * n))
                .unwrap()
        };
        // Gold (2) falls to silver's value: grace starts, and holds for 30 days.
        assert_eq!(
            l.evaluate(2, 1500, None, None, t0),
            TierDecision::Stay {
                below_since: Some(t0)
            }
        );
        assert_eq!(
            l.evaluate(2, 1500, Some(t0), None, day(29)),
            TierDecision::Stay {
                below_since: Some(t0)
            }
        );
        assert_eq!(
            l.evaluate(2, 1500, Some(t0), None, day(30)),
            TierDecision::Downgrade(1)
        );
        // Back above the threshold inside the grace: the clock resets.
        assert_eq!(
            l.evaluate(2, 6000, Some(t0), None, day(10)),
            TierDecision::Stay { below_since: None }
        );
        // A pinned tier does not fall before its date.
        assert_eq!(
            l.evaluate(2, 0, Some(t0), Some(day(60)), day(45)),
            TierDecision::Stay { below_since: None }
        );
        assert_eq!(
            l.evaluate(2, 0, Some(day(45)), Some(day(60)), day(80)),
            TierDecision::Downgrade(0)
        );
        // No grace: down at the first evaluation; up at any evaluation.
        let strict = ladder(TierWindow::Lifetime, 0);
        assert_eq!(
            strict.evaluate(3, 10, None, None, t0),
            TierDecision::Downgrade(0)
        );
        assert_eq!(
            strict.evaluate(0, 20_000, None, None, t0),
            TierDecision::Upgrade(3)
        );
    }

    #[test]
    fn multipliers_round_down() {
        assert_eq!(multiply_points(15, "1.5".parse().unwrap()), 22);
        assert_eq!(multiply_points(15, Decimal::ONE), 15);
        assert_eq!(multiply_points(-15, "2".parse().unwrap()), -30);
        assert_eq!(multiply_points(7, Decimal::ZERO), 0);
    }
}
