//! The checkout's arithmetic: how a cart's total becomes what the customer pays.
//!
//! The stacking order, always the same:
//!
//! 1. the tier's **free items**: one unit of each of its free SKUs that is in the cart,
//!    at that line's unit price;
//! 2. the **tier discount**: the tier's percent of what is left, rounded down;
//! 3. **coupons**, in the order presented, each computed on the cart after the tier's
//!    benefits and never more than what is left;
//! 4. **points** as payment, at the program's point value: at most what the customer has
//!    available and at most what is left (whole points, their value rounded down);
//! 5. **cashback** from the wallet, at most what is left;
//! 6. the rest is **paid** in money — and it is this money, not the discounts nor what
//!    points and cashback paid, that earns points and cashback.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How many points the customer wants to pay with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointsWanted {
    None,
    Points(i64),
    /// As many as the balance and the cart allow.
    Max,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuoteInput {
    pub total_minor: i64,
    /// The tier's free items found in the cart, with their unit prices (`free_items`).
    pub free_items: Vec<(String, i64)>,
    pub tier_discount_percent: Decimal,
    /// Each presented coupon's discount as its rules compute it (before capping).
    pub coupons: Vec<(String, i64)>,
    pub points_available: i64,
    pub point_value_minor: Decimal,
    pub points: PointsWanted,
    pub cashback_available_minor: i64,
    pub cashback_wanted_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub total_minor: i64,
    /// The tier's free items given, with what each took off.
    #[serde(default)]
    pub free_items: Vec<(String, i64)>,
    pub tier_discount_minor: i64,
    /// Each coupon with what it takes off after capping.
    pub coupons: Vec<(String, i64)>,
    /// The total after every discount.
    pub discounted_minor: i64,
    /// The most points this cart can take from this customer.
    pub max_points: i64,
    pub points_redeemed: i64,
    pub points_value_minor: i64,
    pub cashback_used_minor: i64,
    /// Paid in money: what earns.
    pub payable_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("at most {max} points can pay for this cart")]
    TooManyPoints { max: i64 },
    #[error("at most {max} of cashback can pay for this cart (minor units)")]
    TooMuchCashback { max: i64 },
}

fn floor(d: Decimal) -> i64 {
    d.floor().to_i64().unwrap_or(0)
}

/// The tier discount of a cart total: the percent, rounded down.
pub fn tier_discount(total_minor: i64, percent: Decimal) -> i64 {
    let total = total_minor.max(0);
    floor(Decimal::from(total) * percent / Decimal::from(100)).clamp(0, total)
}

/// The line a free unit of `sku` comes off: the cheapest line of that SKU (the first of
/// equals).
fn free_line(lines: &[crate::coupons::CartLine], sku: &str) -> Option<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.sku.as_deref() == Some(sku) && l.quantity > 0)
        .min_by_key(|(_, l)| l.unit_price_minor.max(0))
        .map(|(i, _)| i)
}

/// One unit of each of `skus` that is in the cart, at the cheapest such line's unit price.
pub fn free_items(lines: &[crate::coupons::CartLine], skus: &[String]) -> Vec<(String, i64)> {
    skus.iter()
        .filter_map(|sku| {
            free_line(lines, sku).map(|i| (sku.clone(), lines[i].unit_price_minor.max(0)))
        })
        .collect()
}

/// What each line is worth after the tier's benefits: quantity times price, less a unit
/// the tier gave free (`free`, as the quote took it), less its share of the tier's
/// percent off what the lines then come to (spread exactly, by largest remainder). This
/// is what a coupon for some lines is computed on.
pub fn line_values(
    lines: &[crate::coupons::CartLine],
    free: &[(String, i64)],
    percent: Decimal,
) -> Vec<i64> {
    let mut values: Vec<i64> = lines
        .iter()
        .map(|l| l.quantity.saturating_mul(l.unit_price_minor).max(0))
        .collect();
    for (sku, took) in free {
        if let Some(i) = free_line(lines, sku) {
            values[i] = (values[i] - took).max(0);
        }
    }
    let sum = values.iter().fold(0i64, |a, v| a.saturating_add(*v));
    let shares = crate::ledger::allocate(tier_discount(sum, percent), &values);
    for (v, share) in values.iter_mut().zip(shares) {
        *v = (*v - share).max(0);
    }
    values
}

/// Take a coupon's discount off the lines it applies to (`on`, as
/// [`crate::coupons::discounted_lines`] says), in proportion to what each is still worth;
/// lines already worth nothing (or no line named) are left as they are.
pub fn take_off(values: &mut [i64], took: i64, on: &[bool]) {
    let own: Vec<i64> = values
        .iter()
        .zip(on.iter().chain(std::iter::repeat(&false)))
        .map(|(v, on)| if *on { (*v).max(0) } else { 0 })
        .collect();
    if own.iter().all(|v| *v == 0) {
        return;
    }
    let shares = crate::ledger::allocate(took.max(0), &own);
    for (v, share) in values.iter_mut().zip(shares) {
        *v = (*v - share).max(0);
    }
}

/// What each line weighs when a sale is spread over its lines: what it is worth after the
/// tier's benefits ([`line_values`]), less each coupon's discount (`coupons`: what it
/// took, and the lines it applies to) off its own lines — a unit paid nothing is worth
/// nothing back, and a coupon for the shoes does not cheapen the shirt.
pub fn paid_weights(
    lines: &[crate::coupons::CartLine],
    free: &[(String, i64)],
    percent: Decimal,
    coupons: &[(i64, Vec<bool>)],
) -> Vec<i64> {
    let mut weights = line_values(lines, free, percent);
    for (took, on) in coupons {
        take_off(&mut weights, *took, on);
    }
    weights
}

/// What is left of the cart after the tier's benefits: the total coupons are checked on.
pub fn after_tier(total_minor: i64, free_items: &[(String, i64)], percent: Decimal) -> i64 {
    let total = total_minor.max(0);
    let free: i64 = free_items
        .iter()
        .fold(0i64, |a, f| a.saturating_add(f.1.max(0)))
        .clamp(0, total);
    let rest = total - free;
    rest - tier_discount(rest, percent)
}

pub fn quote(q: &QuoteInput) -> Result<Quote, QuoteError> {
    let total = q.total_minor.max(0);
    let mut left = total;
    let mut free_items = Vec::with_capacity(q.free_items.len());
    for (sku, price) in &q.free_items {
        let take = (*price).clamp(0, left);
        left -= take;
        free_items.push((sku.clone(), take));
    }
    let tier = tier_discount(left, q.tier_discount_percent);
    left -= tier;
    let mut coupons = Vec::with_capacity(q.coupons.len());
    for (code, raw) in &q.coupons {
        let take = (*raw).clamp(0, left);
        left -= take;
        coupons.push((code.clone(), take));
    }
    let discounted = left;
    let value = q.point_value_minor;
    let max_points = if value > Decimal::ZERO {
        q.points_available
            .max(0)
            .min(floor(Decimal::from(left) / value))
    } else {
        0
    };
    let points = match q.points {
        PointsWanted::None => 0,
        PointsWanted::Max => max_points,
        PointsWanted::Points(n) if n > max_points || n < 0 => {
            return Err(QuoteError::TooManyPoints { max: max_points })
        }
        PointsWanted::Points(n) => n,
    };
    let points_value = floor(Decimal::from(points) * value).min(left);
    left -= points_value;
    let max_cash = q.cashback_available_minor.max(0).min(left);
    if q.cashback_wanted_minor > max_cash || q.cashback_wanted_minor < 0 {
        return Err(QuoteError::TooMuchCashback { max: max_cash });
    }
    left -= q.cashback_wanted_minor;
    Ok(Quote {
        total_minor: total,
        free_items,
        tier_discount_minor: tier,
        coupons,
        discounted_minor: discounted,
        max_points,
        points_redeemed: points,
        points_value_minor: points_value,
        cashback_used_minor: q.cashback_wanted_minor,
        payable_minor: left,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(total: i64) -> QuoteInput {
        QuoteInput {
            total_minor: total,
            free_items: Vec::new(),
            tier_discount_percent: Decimal::from(10),
            coupons: vec![("A".into(), 50_000), ("B".into(), 1_000_000)],
            points_available: 1_000,
            point_value_minor: Decimal::from(100),
            points: PointsWanted::Max,
            cashback_available_minor: 5_000,
            cashback_wanted_minor: 0,
        }
    }

    #[test]
    fn the_stacking_order_on_a_worked_example() {
        let mut i = input(1_000_000);
        i.coupons = vec![("A".into(), 50_000)];
        i.cashback_wanted_minor = 5_000;
        let q = quote(&i).unwrap();
        // 10% of 1,000,000; then 50,000; then 1,000 points × 100 = 100,000; then 5,000.
        assert_eq!(q.tier_discount_minor, 100_000);
        assert_eq!(q.coupons, vec![("A".into(), 50_000)]);
        assert_eq!(q.discounted_minor, 850_000);
        assert_eq!(
            (q.max_points, q.points_redeemed, q.points_value_minor),
            (1_000, 1_000, 100_000)
        );
        assert_eq!((q.cashback_used_minor, q.payable_minor), (5_000, 745_000));
    }

    #[test]
    fn a_coupon_comes_off_the_lines_it_names() {
        use crate::coupons::{discounted_lines, CartLine, CouponRules};
        let line = |sku: &str, price: i64| CartLine {
            sku: Some(sku.into()),
            category: None,
            quantity: 1,
            unit_price_minor: price,
        };
        let lines = [line("SHOE", 500_000), line("SHIRT", 500_000)];
        let rules = |discount: serde_json::Value, skus: &[&str]| -> CouponRules {
            serde_json::from_value(serde_json::json!({"discount": discount, "skus": skus})).unwrap()
        };
        // 500,000 off the shoes: the shoe line is worth nothing, the shirt all it cost.
        let shoes = rules(
            serde_json::json!({"type": "amount", "amount_minor": 500_000}),
            &["SHOE"],
        );
        let on = discounted_lines(&shoes, &lines);
        assert_eq!(on, [true, false]);
        assert_eq!(
            paid_weights(&lines, &[], Decimal::ZERO, &[(500_000, on)]),
            [0, 500_000]
        );
        // Half off the shoes.
        assert_eq!(
            paid_weights(&lines, &[], Decimal::ZERO, &[(250_000, vec![true, false])]),
            [250_000, 500_000]
        );
        // A free shirt: its own line.
        let free = rules(
            serde_json::json!({"type": "free_item", "sku": "SHIRT"}),
            &[],
        );
        assert_eq!(discounted_lines(&free, &lines), [false, true]);
        // Unrestricted: spread over every line; more than the lines hold leaves them at 0.
        let all = rules(serde_json::json!({"type": "percent", "percent": "10"}), &[]);
        let on = discounted_lines(&all, &lines);
        assert_eq!(
            paid_weights(&lines, &[], Decimal::ZERO, &[(100_000, on.clone())]),
            [450_000, 450_000]
        );
        assert_eq!(
            paid_weights(&lines, &[], Decimal::ZERO, &[(2_000_000, on)]),
            [0, 0]
        );
    }

    /// A coupon for some lines is computed on what they are worth after the tier's
    /// percent, never takes more than that, and comes off them only (found by the third
    /// business review: 50% of the shoe's list price, and 100,000 off a shoe worth 70,000
    /// after a VIP's 30%, the rest coming off the shirt).
    #[test]
    fn a_coupon_for_some_lines_takes_what_is_left_of_them_after_the_tier() {
        use crate::coupons::{discount_for, discounted_lines, CartLine, CouponRules};
        let line = |sku: &str, price: i64| CartLine {
            sku: Some(sku.into()),
            category: Some(if sku == "COFFEE" { "coffee" } else { "other" }.into()),
            quantity: 1,
            unit_price_minor: price,
        };
        let lines = [line("SHOE", 100_000), line("SHIRT", 100_000)];
        let vip = Decimal::from(30);
        let values = line_values(&lines, &[], vip);
        assert_eq!(values, [70_000, 70_000]);
        let total = after_tier(200_000, &[], vip);
        let at = "2026-12-01T00:00:00Z".parse().unwrap();
        let rules = |discount: serde_json::Value| -> CouponRules {
            serde_json::from_value(serde_json::json!({"discount": discount, "skus": ["SHOE"]}))
                .unwrap()
        };
        let half = rules(serde_json::json!({"type": "percent", "percent": "50"}));
        assert_eq!(discount_for(&half, &lines, &values, total, at), Ok(35_000));
        let amount = rules(serde_json::json!({"type": "amount", "amount_minor": 100_000}));
        assert_eq!(
            discount_for(&amount, &lines, &values, total, at),
            Ok(70_000)
        );
        let free = rules(serde_json::json!({"type": "free_item", "sku": "SHOE"}));
        assert_eq!(discount_for(&free, &lines, &values, total, at), Ok(70_000));
        // The shirt keeps what the tier left of it.
        let on = discounted_lines(&amount, &lines);
        assert_eq!(
            paid_weights(&lines, &[], vip, &[(70_000, on.clone())]),
            [0, 70_000]
        );
        // A second coupon on the same line finds nothing left of it.
        let mut left = values.clone();
        take_off(&mut left, 70_000, &on);
        assert!(discount_for(&half, &lines, &left, total - 70_000, at).is_err());
        // 5% off, then 50,000 off the coffee: 45,000 and 95,000, not 46,667 and 93,333.
        let lines = [line("COFFEE", 100_000), line("CAKE", 100_000)];
        let coffee: CouponRules = serde_json::from_value(serde_json::json!(
            {"discount": {"type": "amount", "amount_minor": 50_000}, "categories": ["coffee"]}))
        .unwrap();
        let on = discounted_lines(&coffee, &lines);
        assert_eq!(
            paid_weights(&lines, &[], Decimal::from(5), &[(50_000, on)]),
            [45_000, 95_000]
        );
    }

    #[test]
    fn free_items_come_first_then_the_percent() {
        use crate::coupons::CartLine;
        let lines = [
            CartLine {
                sku: Some("LATTE".into()),
                category: None,
                quantity: 2,
                unit_price_minor: 90_000,
            },
            CartLine {
                sku: Some("CAKE".into()),
                category: None,
                quantity: 1,
                unit_price_minor: 120_000,
            },
        ];
        let free = free_items(&lines, &["LATTE".into(), "TEA".into()]);
        assert_eq!(
            free,
            vec![("LATTE".to_owned(), 90_000)],
            "one unit, and only what is in the cart"
        );
        assert_eq!(after_tier(300_000, &free, Decimal::from(10)), 189_000);
        // The free unit is off the latte line when the sale is spread over the lines.
        assert_eq!(
            paid_weights(&lines, &free, Decimal::ZERO, &[]),
            [90_000, 120_000]
        );
        // The tier's 10% off what is left, spread over the lines: they add up to the sale.
        assert_eq!(
            line_values(&lines, &free, Decimal::from(10)),
            [81_000, 108_000]
        );
        assert_eq!(
            paid_weights(&lines, &[], Decimal::ZERO, &[]),
            [180_000, 120_000]
        );
        let mut i = input(300_000);
        i.free_items = free;
        i.coupons.clear();
        i.points = PointsWanted::None;
        let q = quote(&i).unwrap();
        assert_eq!(
            (q.tier_discount_minor, q.discounted_minor, q.payable_minor),
            (21_000, 189_000, 189_000)
        );
    }

    #[test]
    fn discounts_never_exceed_the_cart_and_points_are_capped() {
        let q = quote(&input(100_000)).unwrap();
        // 10,000 tier; coupon A 50,000; coupon B only the 40,000 left; nothing for points.
        assert_eq!(q.coupons, vec![("A".into(), 50_000), ("B".into(), 40_000)]);
        assert_eq!(
            (q.discounted_minor, q.max_points, q.payable_minor),
            (0, 0, 0)
        );
        let mut i = input(100_000);
        i.coupons.clear();
        i.points = PointsWanted::Points(901);
        assert_eq!(quote(&i), Err(QuoteError::TooManyPoints { max: 900 }));
        i.points = PointsWanted::Points(900);
        i.cashback_wanted_minor = 1;
        assert_eq!(quote(&i), Err(QuoteError::TooMuchCashback { max: 0 }));
    }

    proptest! {
        #[test]
        fn the_parts_always_add_up(
            total in 0i64..10_000_000,
            pct in 0u32..=100,
            raws in proptest::collection::vec(0i64..5_000_000, 0..4),
            available in 0i64..100_000,
            value in 1u32..1_000,
            max in any::<bool>(),
            free in proptest::option::of(0i64..2_000_000),
        ) {
            let i = QuoteInput {
                total_minor: total,
                free_items: free.map(|f| vec![("F".to_owned(), f)]).unwrap_or_default(),
                tier_discount_percent: Decimal::from(pct),
                coupons: raws.iter().enumerate().map(|(k, r)| (k.to_string(), *r)).collect(),
                points_available: available,
                point_value_minor: Decimal::from(value),
                points: if max { PointsWanted::Max } else { PointsWanted::None },
                cashback_available_minor: 0,
                cashback_wanted_minor: 0,
            };
            let q = quote(&i).unwrap();
            let coupons: i64 = q.coupons.iter().map(|c| c.1).sum();
            let free: i64 = q.free_items.iter().map(|f| f.1).sum();
            prop_assert_eq!(free + q.tier_discount_minor + coupons + q.points_value_minor + q.cashback_used_minor + q.payable_minor, total);
            prop_assert!(q.payable_minor >= 0 && q.points_redeemed <= available);
            prop_assert!(q.points_value_minor <= q.discounted_minor);
        }
    }
}
