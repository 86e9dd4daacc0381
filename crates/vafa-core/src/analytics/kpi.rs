//! Loyalty KPIs over a period and monthly retention cohorts, from sales as local days.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One purchase: its customer, local day (any day numbering), month index (any month
/// numbering, consecutive: year × 12 + month) and amount net of returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    pub customer_id: String,
    pub day: i64,
    pub month: i64,
    pub net_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodKpis {
    /// Customers with a purchase in the period.
    pub active_customers: i64,
    /// Of them, whose first purchase ever is in the period.
    pub new_customers: i64,
    pub returning_customers: i64,
    pub purchases: i64,
    pub revenue_minor: i64,
    /// Percent of active customers with two or more purchases in the period.
    pub repeat_purchase_rate: f64,
    /// Purchases per active customer.
    pub purchase_frequency: f64,
    /// Average order value (rounded down), all, new and returning customers.
    pub aov_minor: i64,
    pub aov_new_minor: i64,
    pub aov_returning_minor: i64,
    /// Active customers of the previous period of the same length.
    pub previous_active_customers: i64,
    /// Percent of those who bought again in this period; churn is the rest.
    pub retention_rate: f64,
    pub churn_rate: f64,
}

fn pct(a: i64, b: i64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

fn div(a: i64, b: i64) -> i64 {
    if b == 0 {
        0
    } else {
        a.div_euclid(b)
    }
}

/// KPIs of the days `from..=to`, with every sale up to `to` (earlier ones tell new from
/// returning customers and give the previous period).
pub fn period_kpis(sales: &[Sale], from: i64, to: i64) -> PeriodKpis {
    let len = to - from + 1;
    let mut first: HashMap<&str, i64> = HashMap::new();
    for s in sales {
        let e = first.entry(&s.customer_id).or_insert(s.day);
        *e = (*e).min(s.day);
    }
    let mut count: HashMap<&str, i64> = HashMap::new();
    let mut previous: HashSet<&str> = HashSet::new();
    let (mut purchases, mut revenue) = (0i64, 0i64);
    let (mut new_p, mut new_rev, mut ret_p, mut ret_rev) = (0i64, 0i64, 0i64, 0i64);
    for s in sales {
        if (from..=to).contains(&s.day) {
            *count.entry(&s.customer_id).or_insert(0) += 1;
            purchases += 1;
            revenue = revenue.saturating_add(s.net_minor);
            if first.get(s.customer_id.as_str()).copied().unwrap_or(s.day) >= from {
                new_p += 1;
                new_rev = new_rev.saturating_add(s.net_minor);
            } else {
                ret_p += 1;
                ret_rev = ret_rev.saturating_add(s.net_minor);
            }
        } else if (from - len..from).contains(&s.day) {
            previous.insert(&s.customer_id);
        }
    }
    let active = count.len() as i64;
    let new = count
        .keys()
        .filter(|c| first.get(*c).copied().unwrap_or(from) >= from)
        .count() as i64;
    let repeat = count.values().filter(|n| **n >= 2).count() as i64;
    let retained = previous.iter().filter(|c| count.contains_key(*c)).count() as i64;
    let prev = previous.len() as i64;
    let retention = pct(retained, prev);
    PeriodKpis {
        active_customers: active,
        new_customers: new,
        returning_customers: active - new,
        purchases,
        revenue_minor: revenue,
        repeat_purchase_rate: pct(repeat, active),
        purchase_frequency: if active == 0 {
            0.0
        } else {
            purchases as f64 / active as f64
        },
        aov_minor: div(revenue, purchases),
        aov_new_minor: div(new_rev, new_p),
        aov_returning_minor: div(ret_rev, ret_p),
        previous_active_customers: prev,
        retention_rate: retention,
        churn_rate: if prev == 0 { 0.0 } else { 100.0 - retention },
    }
}

/// Customers whose first purchase is in a month, and the percent of them who bought in
/// each month after (offset 0 is the first month itself: always 100%).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cohort {
    pub month: i64,
    pub customers: i64,
    pub retention: Vec<f64>,
}

/// Monthly cohorts whose first month is in `from_month..=to_month`, followed up to
/// `to_month` (sales after it are ignored).
pub fn cohorts(sales: &[Sale], from_month: i64, to_month: i64) -> Vec<Cohort> {
    let mut months: HashMap<&str, HashSet<i64>> = HashMap::new();
    for s in sales.iter().filter(|s| s.month <= to_month) {
        months.entry(&s.customer_id).or_default().insert(s.month);
    }
    let mut by_cohort: BTreeMap<i64, Vec<&HashSet<i64>>> = BTreeMap::new();
    for set in months.values() {
        if let Some(first) = set.iter().min().copied() {
            if (from_month..=to_month).contains(&first) {
                by_cohort.entry(first).or_default().push(set);
            }
        }
    }
    by_cohort
        .into_iter()
        .map(|(month, members)| {
            let n = members.len() as i64;
            let retention = (0..=(to_month - month))
                .map(|k| {
                    pct(
                        members.iter().filter(|m| m.contains(&(month + k))).count() as i64,
                        n,
                    )
                })
                .collect();
            Cohort {
                month,
                customers: n,
                retention,
            }
        })
        .collect()
}
