//! Requests and outcomes of campaigns, rules, events, simulate and backtest.

use crate::ledger_model::{BalanceSnapshot, CustomerRef, NewPurchase};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use vafa_core::ledger::CalendarKind;
use vafa_core::program::Locale;
use vafa_core::rules::{
    engine::CampaignGrant, CampaignDef, Evaluation, FiredRule, ItemFacts, PurchaseFacts, RuleDef,
};

/// A stored campaign with its rules (active and retired).
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRecord {
    pub id: String,
    pub version: i64,
    pub def: CampaignDef,
    pub budget_used: i64,
    pub rules: Vec<RuleRecord>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The current version of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRecord {
    pub id: String,
    pub campaign_id: String,
    pub version: i64,
    pub active: bool,
    pub def: RuleDef,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One version of a rule, as it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleVersion {
    pub version: i64,
    pub active: bool,
    pub def: RuleDef,
    pub created_at: Timestamp,
    pub actor_kind: String,
    pub actor_id: Option<String>,
}

/// A non-purchase event to earn on.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub customer: CustomerRef,
    pub name: String,
    pub external_id: Option<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub occurred_at: Timestamp,
}

/// What an event earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventOutcome {
    pub event_id: String,
    pub customer_id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub points_earned: i64,
    pub entry_id: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub rules: Vec<FiredRuleRecord>,
    /// Rewards the rules gave with this event (`issue_reward`).
    #[serde(default)]
    pub issued_rewards: Vec<crate::rewards_model::IssuedReward>,
    /// Coupons the rules gave with this event (`issue_coupon`).
    #[serde(default)]
    pub issued_coupons: Vec<crate::coupons_model::IssuedCoupon>,
    pub occurred_at: Timestamp,
    pub balance: BalanceSnapshot,
}

/// A fired rule as stored with an outcome (and replayed with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRuleRecord {
    pub campaign_id: String,
    pub campaign_name: String,
    pub rule_id: String,
    pub rule_version: i64,
    pub rule_name: String,
    pub points: i64,
    pub cashback_minor: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub awards: Vec<vafa_core::rules::Award>,
    pub explanation: Vec<String>,
}

impl From<&FiredRule> for FiredRuleRecord {
    fn from(f: &FiredRule) -> Self {
        FiredRuleRecord {
            campaign_id: f.campaign_id.clone(),
            campaign_name: f.campaign_name.clone(),
            rule_id: f.rule_id.clone(),
            rule_version: f.rule_version,
            rule_name: f.rule_name.clone(),
            points: f.points,
            cashback_minor: f.cashback_minor,
            awards: f.awards.clone(),
            explanation: f.explanation.clone(),
        }
    }
}

/// Simulate: a purchase for an existing customer (by any reference) or for a new one.
#[derive(Debug, Clone)]
pub struct SimulateRequest {
    pub customer: Option<CustomerRef>,
    pub purchase: NewPurchase,
    /// What each line weighs when the total is spread over the lines
    /// (`checkout::paid_weights`: a free unit or a coupon's lines paid less); none: their
    /// prices.
    pub weights: Option<Vec<i64>>,
}

/// What a purchase would earn, rule by rule; nothing is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub customer_id: Option<String>,
    pub evaluation: Evaluation,
    /// Of the points, how many would pay off the customer's debt first.
    pub debt_paid: i64,
    /// The customer's tier, whose earn multiplier `evaluation.points` includes.
    pub tier: Option<String>,
}

/// A campaign of a backtest's draft rule set. With the `id` of a stored campaign its
/// figures sit beside that campaign's actual ones.
#[derive(Debug, Clone)]
pub struct DraftCampaign {
    pub id: Option<String>,
    pub def: CampaignDef,
    pub rules: Vec<RuleDef>,
}

#[derive(Debug, Clone)]
pub struct BacktestRequest {
    pub campaigns: Vec<DraftCampaign>,
    /// Whether the program's base earning (ledger settings) stays in the draft.
    pub include_base_rule: bool,
    pub from: Timestamp,
    pub to: Timestamp,
}

/// Points and money for one campaign, or for a whole rule set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BacktestFigures {
    pub points: i64,
    pub cashback_minor: i64,
    /// `points` at the program's point value, rounded down.
    pub points_cost_minor: i64,
    /// Points cost plus cashback.
    pub cost_minor: i64,
    /// Purchases on which it gave something.
    pub purchases: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BacktestCampaign {
    pub campaign_id: String,
    pub name: String,
    pub draft: BacktestFigures,
    pub actual: BacktestFigures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BacktestReport {
    pub from: Timestamp,
    pub to: Timestamp,
    pub purchases: i64,
    pub customers: i64,
    pub draft: BacktestFigures,
    pub actual: BacktestFigures,
    /// Draft minus actual.
    pub points_difference: i64,
    pub cost_difference_minor: i64,
    pub campaigns: Vec<BacktestCampaign>,
}

/// The calendar a program counts months and years in.
pub fn calendar_of(locale: Locale) -> CalendarKind {
    match locale {
        Locale::Fa => CalendarKind::Jalali,
        Locale::En => CalendarKind::Gregorian,
    }
}

/// A purchase request as rule conditions see it.
pub fn purchase_facts(p: &NewPurchase) -> PurchaseFacts {
    // A line's amount is what was paid for it: its share of the total, as the purchase
    // records it (a discount given at the till lowers every line alike).
    let gross: Vec<i64> = p
        .lines
        .iter()
        .map(|l| l.quantity.saturating_mul(l.unit_price_minor))
        .collect();
    let paid = vafa_core::ledger::allocate(p.total_minor, &gross);
    PurchaseFacts {
        total_minor: p.total_minor,
        items: p
            .lines
            .iter()
            .zip(paid)
            .map(|(l, amount_minor)| ItemFacts {
                sku: l.sku.clone().unwrap_or_default(),
                name: l.name.clone(),
                category: l.category.clone(),
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
                amount_minor,
            })
            .collect(),
        store: p.store.clone(),
        channel: p.channel.clone(),
        coupons: p.coupons.clone(),
        external_id: p.external_id.clone(),
    }
}

/// Grants worth recording in usage counters or budgets.
pub(crate) fn counted(grants: &[CampaignGrant]) -> impl Iterator<Item = &CampaignGrant> {
    grants
        .iter()
        .filter(|g| !g.cap_periods.is_empty() || g.has_budget)
}

/// A purchase as analytics reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesRow {
    pub customer_id: String,
    pub occurred_at: Timestamp,
    /// Total minus what was returned, in minor units.
    pub net_minor: i64,
}

/// A customer's purchases in a range, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerAggregate {
    pub customer_id: String,
    pub purchases: i64,
    pub net_minor: i64,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
}

/// Points that flowed through the program's accounts in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PointsFlows {
    /// Issued net of reversals by returns.
    pub issued: i64,
    pub redeemed: i64,
    pub expired: i64,
    /// Granted (or, negative, taken) by staff adjustments and imported opening balances.
    pub adjusted: i64,
    /// Forfeited when customers were erased.
    pub forfeited: i64,
}

/// Unspent, unexpired points by when they expire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Liability {
    pub within_30_days: i64,
    pub within_90_days: i64,
    pub within_365_days: i64,
    pub later: i64,
    pub never: i64,
}

/// A stored segment definition.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRecord {
    pub id: String,
    pub def: vafa_core::analytics::segment::SegmentDef,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A customer as segments see them: the record and the facts conditions read.
#[derive(Debug, Clone)]
pub struct SegmentCandidate {
    pub customer: vafa_core::customer::Customer,
    pub facts: vafa_core::rules::CustomerFacts,
}

/// Members of a segment frozen at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    pub id: String,
    pub segment_id: String,
    /// The moment the membership was evaluated at.
    pub at: Timestamp,
    pub taken_at: Timestamp,
    pub members: i64,
}
