//! Coupons: code patterns without look-alike characters, and what a coupon gives a cart.
//!
//! A batch is either N unique single-use codes drawn from a pattern (`CAFE-####-####`,
//! each `#` one of 32 characters with no 0/O or 1/I) or one shared public code
//! (`YALDA1405`) with limits in total. Either way its rules say what it gives (a percent,
//! an amount or a free item), on which lines (SKUs or categories), from what cart
//! minimum, in which validity window, and how often per customer.

use crate::FieldErrors;
use jiff::Timestamp;
use rand::Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Upper-case letters and digits without 0, O, 1 and I: 32 characters, 5 bits each.
pub const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Random positions a pattern needs at least: 32⁶ ≈ 10⁹ codes.
pub const MIN_RANDOM: usize = 6;

/// Check a pattern: `#` for a random character, and literal A–Z, 0–9 and `-`.
pub fn validate_pattern(pattern: &str) -> Result<(), String> {
    if pattern.len() > 32 {
        return Err("must be at most 32 characters".into());
    }
    if let Some(c) = pattern
        .chars()
        .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-' || *c == '#'))
    {
        return Err(format!(
            "{c:?} is not allowed: use # for a random character, and A-Z, 0-9 and -"
        ));
    }
    if pattern.matches('#').count() < MIN_RANDOM {
        return Err(format!("needs at least {MIN_RANDOM} # (random characters)"));
    }
    Ok(())
}

/// A code from a valid pattern.
pub fn generate(pattern: &str, rng: &mut impl Rng) -> String {
    pattern
        .chars()
        .map(|c| match c {
            '#' => char::from(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())]),
            c => c,
        })
        .collect()
}

/// A code as a person types it: trimmed, upper case, Persian and Arabic-Indic digits
/// read as ASCII, spaces dropped.
pub fn normalize(code: &str) -> String {
    crate::digits::normalize_digits(code)
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Check a shared code as typed by the business: 4–32 of A–Z, 0–9 and `-`.
pub fn validate_code(code: &str) -> Result<(), String> {
    if !(4..=32).contains(&code.len())
        || !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("must be 4 to 32 of A-Z, 0-9 and -".into());
    }
    Ok(())
}

/// A money field of a coupon: more than any cart can hold would never apply.
const MONEY_RANGE: &str = "must be between 1 and 100000000000000 (minor units)";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CouponDiscount {
    /// A percent of the eligible lines, optionally capped (minor units).
    Percent {
        #[serde(with = "rust_decimal::serde::str")]
        percent: Decimal,
        #[serde(default)]
        max_minor: Option<i64>,
    },
    /// A fixed amount off the eligible lines (never more than they cost).
    Amount { amount_minor: i64 },
    /// One unit of this SKU free, when it is in the cart.
    FreeItem { sku: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponRules {
    pub discount: CouponDiscount,
    /// The cart total it needs, in minor units.
    #[serde(default)]
    pub min_cart_minor: i64,
    /// Only these SKUs or categories count as eligible (empty: the whole cart).
    #[serde(default)]
    pub skus: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub valid_from: Option<Timestamp>,
    #[serde(default)]
    pub valid_until: Option<Timestamp>,
    /// Uses per customer (unique codes are single-use anyway).
    #[serde(default)]
    pub max_uses_per_customer: Option<i64>,
    /// A shared code's uses in total (unique codes: 1 each).
    #[serde(default)]
    pub max_uses_total: Option<i64>,
}

impl CouponRules {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        match &self.discount {
            CouponDiscount::Percent { percent, max_minor } => {
                if *percent <= Decimal::ZERO || *percent > Decimal::from(100) {
                    e.push("rules.discount.percent", "must be above 0 and at most 100");
                }
                if max_minor.is_some_and(|m| m <= 0 || m > crate::money::MAX_AMOUNT_MINOR) {
                    e.push("rules.discount.max_minor", MONEY_RANGE);
                }
            }
            CouponDiscount::Amount { amount_minor } => {
                if *amount_minor <= 0 || *amount_minor > crate::money::MAX_AMOUNT_MINOR {
                    e.push("rules.discount.amount_minor", MONEY_RANGE);
                }
            }
            CouponDiscount::FreeItem { sku } => {
                if sku.trim().is_empty() || sku.len() > 64 {
                    e.push("rules.discount.sku", "must be 1 to 64 characters");
                }
            }
        }
        if !(0..=crate::money::MAX_AMOUNT_MINOR).contains(&self.min_cart_minor) {
            e.push(
                "rules.min_cart_minor",
                "must be between 0 and 100000000000000",
            );
        }
        if self.skus.len() > 200 || self.categories.len() > 200 {
            e.push("rules.skus", "at most 200 SKUs and 200 categories");
        }
        if let (Some(f), Some(u)) = (self.valid_from, self.valid_until) {
            if u <= f {
                e.push("rules.valid_until", "must be after valid_from");
            }
        }
        if self.max_uses_per_customer.is_some_and(|m| m < 1) {
            e.push("rules.max_uses_per_customer", "must be at least 1");
        }
        if self.max_uses_total.is_some_and(|m| m < 1) {
            e.push("rules.max_uses_total", "must be at least 1");
        }
        e.finish(|| ())
    }
}

/// A cart line as coupons see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub sku: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

/// Why a coupon gives this cart nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouponRefusal {
    #[error("the coupon is not valid before {0}")]
    NotYet(Timestamp),
    #[error("the coupon expired at {0}")]
    Expired(Timestamp),
    #[error("the cart must come to at least {0} (minor units)")]
    BelowMinimum(i64),
    #[error("nothing in the cart is eligible for this coupon")]
    NothingEligible,
}

/// Whether a coupon's SKUs and categories take in `l` (every line when it names none).
fn eligible_line(rules: &CouponRules, l: &CartLine) -> bool {
    (rules.skus.is_empty() && rules.categories.is_empty())
        || l.sku.as_ref().is_some_and(|s| rules.skus.contains(s))
        || l.category
            .as_ref()
            .is_some_and(|c| rules.categories.contains(c))
}

/// Which lines a coupon's discount comes off, one flag per line: the lines its SKUs and
/// categories name (every line when it names none), and for a free item only the line
/// its unit is taken from. A discount is spread over these lines, so that a line the
/// coupon made free is worth nothing back on a return and earns nothing.
pub fn discounted_lines(rules: &CouponRules, lines: &[CartLine]) -> Vec<bool> {
    let eligible = |l: &CartLine| eligible_line(rules, l);
    match &rules.discount {
        CouponDiscount::FreeItem { sku } => {
            let free = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    l.sku.as_deref() == Some(sku.as_str()) && l.quantity > 0 && eligible(l)
                })
                .min_by_key(|(_, l)| l.unit_price_minor)
                .map(|(i, _)| i);
            (0..lines.len()).map(|i| Some(i) == free).collect()
        }
        _ => lines.iter().map(eligible).collect(),
    }
}

/// The discount (minor units) `rules` give a cart of `lines` totalling `total` at `at`.
/// `values` is what each line is still worth (after the tier's benefits and any coupon
/// before this one; its quantity times price when there are none): a coupon for some
/// lines is computed on, and never takes more than, what is left of them. Lines may be
/// empty (a total-only cart): then only unrestricted percent and amount coupons apply, to
/// the total.
pub fn discount_for(
    rules: &CouponRules,
    lines: &[CartLine],
    values: &[i64],
    total: i64,
    at: Timestamp,
) -> Result<i64, CouponRefusal> {
    let value = |i: usize, l: &CartLine| {
        values
            .get(i)
            .copied()
            .unwrap_or_else(|| l.quantity.saturating_mul(l.unit_price_minor))
            .max(0)
    };
    if let Some(f) = rules.valid_from.filter(|f| at < *f) {
        return Err(CouponRefusal::NotYet(f));
    }
    if let Some(u) = rules.valid_until.filter(|u| at >= *u) {
        return Err(CouponRefusal::Expired(u));
    }
    if total < rules.min_cart_minor {
        return Err(CouponRefusal::BelowMinimum(rules.min_cart_minor));
    }
    let restricted = !rules.skus.is_empty() || !rules.categories.is_empty();
    let eligible_line = |l: &CartLine| eligible_line(rules, l);
    let eligible: i64 = if restricted {
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| eligible_line(l))
            .map(|(i, l)| value(i, l))
            .fold(0i64, i64::saturating_add)
    } else {
        total
    };
    let eligible = eligible.min(total);
    let off = match &rules.discount {
        CouponDiscount::Percent { percent, max_minor } => {
            let raw = (Decimal::from(eligible) * percent / Decimal::from(100))
                .floor()
                .to_i64()
                .unwrap_or(0);
            max_minor.map_or(raw, |m| raw.min(m))
        }
        CouponDiscount::Amount { amount_minor } => (*amount_minor).min(eligible),
        // One unit of the cheapest such line, as much of it as the line is still worth
        // (a unit's share of the line: the tier's discount already took its part).
        CouponDiscount::FreeItem { sku } => lines
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                l.sku.as_deref() == Some(sku.as_str()) && l.quantity > 0 && eligible_line(l)
            })
            .min_by_key(|(_, l)| l.unit_price_minor)
            .map(|(i, l)| {
                let worth = value(i, l);
                let list = l.quantity.saturating_mul(l.unit_price_minor).max(1);
                let unit = (i128::from(l.unit_price_minor.max(0)) * i128::from(worth)
                    + i128::from(list - 1))
                    / i128::from(list);
                i64::try_from(unit).unwrap_or(i64::MAX).min(worth)
            })
            .unwrap_or(0)
            .min(total),
    };
    if off <= 0 {
        return Err(CouponRefusal::NothingEligible);
    }
    Ok(off)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn line(sku: &str, category: &str, quantity: i64, price: i64) -> CartLine {
        CartLine {
            sku: Some(sku.into()),
            category: Some(category.into()),
            quantity,
            unit_price_minor: price,
        }
    }

    fn rules(discount: CouponDiscount) -> CouponRules {
        CouponRules {
            discount,
            min_cart_minor: 0,
            skus: Vec::new(),
            categories: Vec::new(),
            valid_from: None,
            valid_until: None,
            max_uses_per_customer: None,
            max_uses_total: None,
        }
    }

    #[test]
    fn codes_avoid_look_alikes_and_follow_the_pattern() {
        assert_eq!(CODE_ALPHABET.len(), 32);
        assert!(!CODE_ALPHABET.iter().any(|c| b"0O1I".contains(c)));
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let c = generate("CAFE-####-####", &mut rng);
            assert_eq!(c.len(), 14);
            assert!(c.starts_with("CAFE-") && c.as_bytes()[9] == b'-');
            assert!(
                c[5..]
                    .bytes()
                    .all(|b| b == b'-' || CODE_ALPHABET.contains(&b)),
                "{c}"
            );
        }
        assert!(validate_pattern("CAFE-####-####").is_ok());
        assert!(validate_pattern("CAFE-#####")
            .unwrap_err()
            .contains("at least 6"));
        assert!(validate_pattern("cafe-######").unwrap_err().contains("'c'"));
        assert_eq!(normalize(" yalda ۱۴۰۵ "), "YALDA1405");
    }

    #[test]
    fn what_each_kind_gives() {
        let cart = [
            line("LATTE", "coffee", 2, 50_000),
            line("CAKE", "food", 1, 80_000),
        ];
        let at: Timestamp = "2026-11-23T08:00:00Z".parse().unwrap();
        let pct = |p: &str, max| {
            rules(CouponDiscount::Percent {
                percent: p.parse().unwrap(),
                max_minor: max,
            })
        };
        assert_eq!(
            discount_for(&pct("10", None), &cart, &[], 180_000, at),
            Ok(18_000)
        );
        assert_eq!(
            discount_for(&pct("10", Some(5_000)), &cart, &[], 180_000, at),
            Ok(5_000)
        );
        let mut coffee = pct("50", None);
        coffee.categories = vec!["coffee".into()];
        assert_eq!(discount_for(&coffee, &cart, &[], 180_000, at), Ok(50_000));
        let amount = rules(CouponDiscount::Amount {
            amount_minor: 500_000,
        });
        assert_eq!(
            discount_for(&amount, &cart, &[], 180_000, at),
            Ok(180_000),
            "never more than the cart"
        );
        let free = rules(CouponDiscount::FreeItem {
            sku: "LATTE".into(),
        });
        assert_eq!(discount_for(&free, &cart, &[], 180_000, at), Ok(50_000));
        let free_tea = rules(CouponDiscount::FreeItem { sku: "TEA".into() });
        assert_eq!(
            discount_for(&free_tea, &cart, &[], 180_000, at),
            Err(CouponRefusal::NothingEligible)
        );
        // A total-only cart: unrestricted coupons apply to the total.
        assert_eq!(
            discount_for(&pct("10", None), &[], &[], 70_000, at),
            Ok(7_000)
        );
        assert_eq!(
            discount_for(&coffee, &[], &[], 70_000, at),
            Err(CouponRefusal::NothingEligible)
        );
    }

    #[test]
    fn validity_and_minimum() {
        let mut r = rules(CouponDiscount::Amount {
            amount_minor: 10_000,
        });
        r.valid_from = Some("2026-12-01T00:00:00Z".parse().unwrap());
        r.valid_until = Some("2026-12-22T00:00:00Z".parse().unwrap());
        r.min_cart_minor = 100_000;
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert!(matches!(
            discount_for(&r, &[], &[], 200_000, t("2026-11-30T23:59:59Z")),
            Err(CouponRefusal::NotYet(_))
        ));
        assert_eq!(
            discount_for(&r, &[], &[], 200_000, t("2026-12-01T00:00:00Z")),
            Ok(10_000)
        );
        assert!(matches!(
            discount_for(&r, &[], &[], 200_000, t("2026-12-22T00:00:00Z")),
            Err(CouponRefusal::Expired(_))
        ));
        assert_eq!(
            discount_for(&r, &[], &[], 99_999, t("2026-12-10T00:00:00Z")),
            Err(CouponRefusal::BelowMinimum(100_000))
        );
        let mut bad = rules(CouponDiscount::Percent {
            percent: "0".parse().unwrap(),
            max_minor: Some(0),
        });
        bad.max_uses_total = Some(0);
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "rules.discount.percent",
                "rules.discount.max_minor",
                "rules.max_uses_total"
            ]
        );
    }
}
