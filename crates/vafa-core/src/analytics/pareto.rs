//! The Pareto view: how much of the revenue the best customers bring (the "80/20" of the
//! seeds), the whole concentration curve, and big buyers against one-time ones.

use serde::Serialize;

/// One customer's revenue (minor units) and purchase count over the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerRevenue {
    pub revenue_minor: i64,
    pub purchases: i64,
}

/// A point of the curve: the top `customers_percent` of customers bring
/// `revenue_percent` of the revenue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    pub customers_percent: u32,
    pub revenue_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pareto {
    pub customers: i64,
    pub revenue_minor: i64,
    /// Revenue share of the top 20% of customers (by revenue), in percent.
    pub top_20_revenue_percent: f64,
    /// The fewest customers (as a percent of all) who bring 80% of the revenue.
    pub customers_for_80_percent: f64,
    /// 0%, 1%, …, 100% of customers.
    pub curve: Vec<CurvePoint>,
    /// Customers with one purchase in the period, and their revenue share.
    pub one_time_customers: i64,
    pub one_time_revenue_percent: f64,
    /// Customers with more than one purchase.
    pub repeat_customers: i64,
    pub repeat_revenue_percent: f64,
}

fn pct(part: i128, whole: i128) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Customers with no revenue count as customers (they dilute the top 20%).
pub fn pareto(customers: &[CustomerRevenue]) -> Pareto {
    let mut rev: Vec<i64> = customers.iter().map(|c| c.revenue_minor.max(0)).collect();
    rev.sort_unstable_by(|a, b| b.cmp(a));
    let n = rev.len();
    let total: i128 = rev.iter().map(|r| i128::from(*r)).sum();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0i128);
    for r in &rev {
        let last = prefix.last().copied().unwrap_or(0);
        prefix.push(last + i128::from(*r));
    }
    // The top k customers for a share s of customers: k = ceil(s·n), so a share is
    // never understated by rounding customers away.
    let top = |percent: u32| -> i128 {
        let k = (n * percent as usize).div_ceil(100);
        prefix[k.min(n)]
    };
    let curve = (0..=100)
        .map(|p| CurvePoint {
            customers_percent: p,
            revenue_percent: pct(top(p), total),
        })
        .collect();
    let need = (total * 8 + 9) / 10;
    let k80 = prefix.iter().position(|s| *s >= need).unwrap_or(n);
    let (mut one, mut one_rev, mut rep, mut rep_rev) = (0i64, 0i128, 0i64, 0i128);
    for c in customers {
        if c.purchases <= 1 {
            one += 1;
            one_rev += i128::from(c.revenue_minor.max(0));
        } else {
            rep += 1;
            rep_rev += i128::from(c.revenue_minor.max(0));
        }
    }
    Pareto {
        customers: n as i64,
        revenue_minor: i64::try_from(total).unwrap_or(i64::MAX),
        top_20_revenue_percent: pct(top(20), total),
        customers_for_80_percent: if n == 0 {
            0.0
        } else {
            k80 as f64 * 100.0 / n as f64
        },
        curve,
        one_time_customers: one,
        one_time_revenue_percent: pct(one_rev, total),
        repeat_customers: rep,
        repeat_revenue_percent: pct(rep_rev, total),
    }
}
