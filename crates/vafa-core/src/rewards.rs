//! The rewards catalog: what customers can spend points on, at what cost, for whom.

use crate::FieldErrors;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RewardKind {
    /// A fixed amount off a later purchase (minor units).
    FixedDiscount { amount_minor: i64 },
    /// A percent off a later purchase.
    PercentDiscount {
        #[serde(with = "rust_decimal::serde::str")]
        percent: Decimal,
    },
    /// A product, handed over at the counter.
    FreeProduct { sku: String },
    /// A gift that is packed and sent: claims carry a fulfilment status.
    PhysicalGift,
    /// An offer honoured by a partner business (the coalition work builds on it).
    PartnerOffer { partner: String },
}

/// A physical gift's fulfilment steps, in the only order they may be taken (steps may
/// be skipped, never taken back).
pub const FULFILMENT: [&str; 4] = ["pending", "packed", "shipped", "delivered"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub kind: RewardKind,
    /// Points it costs.
    pub cost_points: i64,
    /// A different cost for some tiers (tier code → points).
    #[serde(default)]
    pub tier_costs: BTreeMap<String, i64>,
    /// Only customers in these tiers may claim it (empty: everyone).
    #[serde(default)]
    pub tiers: Vec<String>,
    /// Units available (none: unlimited).
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(default)]
    pub per_customer_limit: Option<i64>,
    #[serde(default)]
    pub valid_from: Option<Timestamp>,
    #[serde(default)]
    pub valid_until: Option<Timestamp>,
    /// Days the issued code stays usable.
    #[serde(default = "thirty")]
    pub code_valid_days: u32,
}

fn thirty() -> u32 {
    30
}

impl RewardDef {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            e.push("name", "must be 1 to 100 characters");
        }
        match &self.kind {
            RewardKind::FixedDiscount { amount_minor }
                if *amount_minor <= 0 || *amount_minor > crate::money::MAX_AMOUNT_MINOR =>
            {
                e.push(
                    "kind.amount_minor",
                    "must be between 1 and 100000000000000 (minor units)",
                )
            }
            RewardKind::PercentDiscount { percent }
                if *percent <= Decimal::ZERO || *percent > Decimal::from(100) =>
            {
                e.push("kind.percent", "must be above 0 and at most 100")
            }
            RewardKind::FreeProduct { sku } if sku.trim().is_empty() || sku.len() > 64 => {
                e.push("kind.sku", "must be 1 to 64 characters")
            }
            RewardKind::PartnerOffer { partner }
                if partner.trim().is_empty() || partner.len() > 100 =>
            {
                e.push("kind.partner", "must be 1 to 100 characters")
            }
            _ => {}
        }
        if !(1..=1_000_000_000).contains(&self.cost_points) {
            e.push("cost_points", "must be between 1 and 1000000000");
        }
        for (code, cost) in &self.tier_costs {
            if !(1..=1_000_000_000).contains(cost) {
                e.push(
                    format!("tier_costs.{code}"),
                    "must be between 1 and 1000000000",
                );
            }
        }
        if self.stock.is_some_and(|s| s < 0) {
            e.push("stock", "must not be negative");
        }
        if self.per_customer_limit.is_some_and(|l| l < 1) {
            e.push("per_customer_limit", "must be at least 1");
        }
        if let (Some(f), Some(u)) = (self.valid_from, self.valid_until) {
            if u <= f {
                e.push("valid_until", "must be after valid_from");
            }
        }
        if !(1..=3650).contains(&self.code_valid_days) {
            e.push("code_valid_days", "must be between 1 and 3650");
        }
        e.finish(|| ())
    }

    /// The tiers it names (`tiers`, `tier_costs`) that are not codes of the program's
    /// ladder (`codes`; none when the program has no ladder): a typo would make a reward
    /// nobody can claim, or a price nobody pays.
    pub fn check_tiers(&self, codes: &[&str]) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        let known = |c: &str| codes.contains(&c);
        for (i, t) in self.tiers.iter().enumerate() {
            if !known(t) {
                e.push(
                    format!("tiers[{i}]"),
                    format!("{t} is not a tier of the program's ladder"),
                );
            }
        }
        for code in self.tier_costs.keys() {
            if !known(code) {
                e.push(
                    format!("tier_costs.{code}"),
                    format!("{code} is not a tier of the program's ladder"),
                );
            }
        }
        e.finish(|| ())
    }

    /// What a customer in `tier` pays for it.
    pub fn cost_for(&self, tier: Option<&str>) -> i64 {
        tier.and_then(|t| self.tier_costs.get(t))
            .copied()
            .unwrap_or(self.cost_points)
    }

    /// Why it cannot be had at `at` by anyone, if it cannot (its validity window).
    pub fn unavailable(&self, at: Timestamp) -> Option<String> {
        if self.valid_from.is_some_and(|f| at < f) {
            return Some("the reward is not available yet".into());
        }
        if self.valid_until.is_some_and(|u| at >= u) {
            return Some("the reward is no longer available".into());
        }
        None
    }

    /// Why a customer in `tier` may not claim it at `at`, if they may not.
    pub fn refusal(&self, tier: Option<&str>, at: Timestamp) -> Option<String> {
        if let Some(why) = self.unavailable(at) {
            return Some(why);
        }
        if !self.tiers.is_empty() && !tier.is_some_and(|t| self.tiers.iter().any(|x| x == t)) {
            return Some(format!("the reward is for tiers {}", self.tiers.join(", ")));
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn def() -> RewardDef {
        serde_json::from_value(serde_json::json!({
            "name": "Free latte", "kind": {"type": "free_product", "sku": "LATTE"},
            "cost_points": 500, "tier_costs": {"gold": 300}, "tiers": ["silver", "gold"],
            "valid_until": "2027-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn costs_and_restrictions() {
        let d = def();
        assert!(d.validate().is_ok());
        assert_eq!(d.code_valid_days, 30);
        assert_eq!(
            (
                d.cost_for(Some("gold")),
                d.cost_for(Some("silver")),
                d.cost_for(None)
            ),
            (300, 500, 500)
        );
        let at = "2026-11-23T08:00:00Z".parse().unwrap();
        assert_eq!(d.refusal(Some("gold"), at), None);
        assert!(d
            .refusal(Some("simple"), at)
            .unwrap()
            .contains("silver, gold"));
        assert!(d.refusal(None, at).is_some());
        assert!(d
            .refusal(Some("gold"), "2027-01-01T00:00:00Z".parse().unwrap())
            .is_some());
    }

    #[test]
    fn validation_names_fields() {
        let mut d = def();
        d.cost_points = 0;
        d.kind = RewardKind::PercentDiscount {
            percent: Decimal::from(120),
        };
        d.tier_costs.insert("vip".into(), -1);
        d.code_valid_days = 0;
        let fields: Vec<String> = d
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "kind.percent",
                "cost_points",
                "tier_costs.vip",
                "code_valid_days"
            ]
        );
    }
}
