//! Requests and outcomes of the ledger's operations. Outcomes are serialisable because
//! they are also the idempotency record: a replay answers with the stored outcome.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use vafa_core::card::CardNumber;
use vafa_core::mobile::Mobile;

/// How a purchase names its customer.
#[derive(Debug, Clone)]
pub enum CustomerRef {
    Id(String),
    Mobile(Mobile),
    /// A personal card, or a bearer card (an unbound one gets an anonymous holder).
    Card(CardNumber),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseLine {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

#[derive(Debug, Clone)]
pub struct NewPurchase {
    pub customer: CustomerRef,
    pub store: Option<String>,
    pub channel: Option<String>,
    pub external_id: Option<String>,
    pub lines: Vec<PurchaseLine>,
    pub total_minor: i64,
    pub occurred_at: Timestamp,
    /// Coupon codes presented: rule conditions see them; with `checkout` they are also
    /// applied and used up.
    pub coupons: Vec<String>,
    /// Through the checkout: `total_minor` is the cart before discounts, and the purchase
    /// applies the tier discount, the coupons, and points and cashback as payment, in one
    /// journal entry (`docs/checkout.md`).
    pub checkout: Option<CheckoutRequest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutRequest {
    pub points: vafa_core::checkout::PointsWanted,
    pub cashback_minor: i64,
}

/// A client's idempotency key and a fingerprint of its request (method, route, body).
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

/// An outcome, and whether it is the stored answer to an earlier identical request.
#[derive(Debug, Clone)]
pub struct Replayed<T> {
    pub value: T,
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringPoints {
    pub at: Timestamp,
    pub points: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifetime {
    pub earned: i64,
    pub redeemed: i64,
    pub expired: i64,
    pub returned: i64,
    pub adjusted: i64,
    pub transferred: i64,
}

/// A customer's value at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceSnapshot {
    pub points_available: i64,
    pub points_pending: i64,
    pub points_debt: i64,
    pub expiring_soon: Vec<ExpiringPoints>,
    pub cashback_minor: i64,
    /// Lifetime totals: computed for balance reads, left out of write answers (they sum
    /// the customer's whole history, which a busy counter should not wait for).
    pub lifetime: Option<LifetimeTotals>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimeTotals {
    pub points: Lifetime,
    pub cashback_earned_minor: i64,
    pub cashback_redeemed_minor: i64,
    /// Cashback earned and taken back by returns.
    #[serde(default)]
    pub cashback_returned_minor: i64,
    /// Cashback moved in (or, on the duplicate, out) by a merge.
    #[serde(default)]
    pub cashback_transferred_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineOutcome {
    pub line_no: i64,
    pub sku: Option<String>,
    pub quantity: i64,
    pub amount_minor: i64,
    pub points: i64,
    pub cashback_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOutcome {
    pub purchase_id: String,
    pub customer_id: String,
    pub external_id: Option<String>,
    pub entry_id: String,
    pub total_minor: i64,
    pub points_earned: i64,
    /// Of `points_earned`, how many wait out the return window.
    pub points_pending: i64,
    pub available_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// Of `points_earned`, how many paid off an earlier debt.
    pub debt_paid: i64,
    /// Of `points_earned`, how many had expired before the purchase was recorded (a
    /// receipt entered late): neither pending nor available.
    #[serde(default)]
    pub points_expired: i64,
    pub cashback_minor: i64,
    pub lines: Vec<LineOutcome>,
    pub occurred_at: Timestamp,
    /// The rules that fired, with the version of each.
    #[serde(default)]
    pub rules: Vec<crate::rules_model::FiredRuleRecord>,
    /// Rewards the rules gave with this purchase (`issue_reward`).
    #[serde(default)]
    pub issued_rewards: Vec<crate::rewards_model::IssuedReward>,
    /// Coupons the rules gave with this purchase (`issue_coupon`).
    #[serde(default)]
    pub issued_coupons: Vec<crate::coupons_model::IssuedCoupon>,
    pub balance: BalanceSnapshot,
    /// The tier the purchase earned under (its multiplier applied), when there is a ladder.
    #[serde(default)]
    pub tier: Option<String>,
    /// The upgrade this purchase caused, with its entry gift.
    #[serde(default)]
    pub tier_change: Option<crate::tiers_model::TierChange>,
    /// Through the checkout: the breakdown, exactly as the quote computes it.
    #[serde(default)]
    pub checkout: Option<vafa_core::checkout::Quote>,
}

/// What to return: some quantity of lines, or an amount of money.
#[derive(Debug, Clone)]
pub enum ReturnRequest {
    Lines(Vec<(i64, i64)>),
    Amount(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnOutcome {
    pub return_id: String,
    pub purchase_id: String,
    pub customer_id: String,
    pub entry_id: String,
    pub amount_minor: i64,
    /// What the returned lines had earned.
    pub points_due: i64,
    /// What was taken back under the program's return policy.
    pub points_reversed: i64,
    /// Of `points_reversed` and `tier_gift_points_reversed`, how many became a debt.
    pub points_debt_added: i64,
    /// The entry gift of the tier this purchase upgraded the customer to, taken back
    /// because the return leaves them below that tier's threshold.
    #[serde(default)]
    pub tier_gift_points_reversed: i64,
    /// The purchase back whole: the unused reward claims its rules gave, cancelled, and
    /// the unused coupon codes they handed out, voided.
    #[serde(default)]
    pub withdrawn_claims: Vec<String>,
    #[serde(default)]
    pub withdrawn_coupons: Vec<String>,
    pub cashback_reversed_minor: i64,
    /// Of the points that paid for the purchase (checkout), those given back for the
    /// returned share.
    #[serde(default)]
    pub points_refunded: i64,
    /// Likewise the cashback that paid.
    #[serde(default)]
    pub cashback_refunded_minor: i64,
    /// What the store pays back in money: the returned amount less the value of the
    /// points and the cashback given back.
    #[serde(default)]
    pub money_refund_minor: i64,
    /// Cashback the return should have taken back but the customer had spent, under a
    /// policy that allows no debt: kept from the money refund instead.
    #[serde(default)]
    pub cashback_withheld_minor: i64,
    pub balance: BalanceSnapshot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    Points(i64),
    CashbackMinor(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionOutcome {
    pub redemption_id: String,
    pub customer_id: String,
    pub points: i64,
    pub cashback_minor: i64,
    /// What was spent is worth this much as payment.
    pub value_minor: i64,
    pub balance: BalanceSnapshot,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentOutcome {
    pub adjustment_id: String,
    pub customer_id: String,
    pub points: i64,
    pub reason: String,
    pub balance: BalanceSnapshot,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferOutcome {
    pub transfer_id: String,
    pub from_customer_id: String,
    pub to_customer_id: String,
    pub points: i64,
    pub from_balance: BalanceSnapshot,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerLine {
    pub entry_id: String,
    /// purchase, return, redemption, adjustment, transfer, expiry
    pub kind: String,
    pub at: Timestamp,
    pub points: i64,
    pub points_balance_after: Option<i64>,
    pub cashback_minor: i64,
    pub cashback_balance_after: Option<i64>,
    pub purchase_id: Option<String>,
    pub explanation: serde_json::Value,
}

/// Every kind of journal entry the ledger writes (`vafa ledger verify` reports any other).
pub const ENTRY_KINDS: &[&str] = &[
    "purchase",
    "return",
    "redemption",
    "adjustment",
    "transfer",
    "expiry",
    "goodwill",
    "tier_gift",
    "reward",
    "reward_cancel",
    "event",
    "merge",
    "forfeit",
];

/// What `vafa ledger verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub entries: i64,
    pub postings: i64,
    pub accounts: i64,
    pub lots: i64,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ExpiryRun {
    pub lots_expired: i64,
    pub points_expired: i64,
    pub batches: i64,
    /// Reward claims left unused past their code's life: now `expired`, their units
    /// back in stock (the points they cost stay spent).
    pub claims_expired: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PurchaseLineDetail {
    pub line_no: i64,
    pub sku: Option<String>,
    pub name: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub points: i64,
    pub cashback: i64,
    pub returned_quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnSummary {
    pub id: String,
    pub amount_minor: i64,
    pub points_reversed: i64,
    /// The tier entry gift it took back (see [`ReturnOutcome`]).
    pub tier_gift_points_reversed: i64,
    pub cashback_reversed_minor: i64,
    /// What it gave back of the points and cashback that paid (checkout purchases).
    pub points_refunded: i64,
    pub cashback_refunded_minor: i64,
    /// What the store paid back in money.
    pub money_refund_minor: i64,
    /// Spent cashback kept from the money refund (see [`ReturnOutcome`]).
    pub cashback_withheld_minor: i64,
    pub at: Timestamp,
}

/// A purchase in a customer's list: what it was, and what has happened to it since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseSummary {
    pub id: String,
    pub external_id: Option<String>,
    pub store: Option<String>,
    pub channel: Option<String>,
    pub total_minor: i64,
    pub returned_minor: i64,
    pub points_earned: i64,
    pub points_reversed: i64,
    /// Points spent as payment (checkout).
    pub points_redeemed: i64,
    pub occurred_at: Timestamp,
}

/// A stored purchase with its lines and the returns made against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseDetail {
    pub id: String,
    pub customer_id: String,
    pub card_number: Option<String>,
    pub external_id: Option<String>,
    pub store: Option<String>,
    pub channel: Option<String>,
    pub total_minor: i64,
    pub returned_minor: i64,
    pub points_earned: i64,
    pub points_reversed: i64,
    pub cashback_earned_minor: i64,
    pub cashback_reversed_minor: i64,
    pub occurred_at: Timestamp,
    pub created_at: Timestamp,
    pub lines: Vec<PurchaseLineDetail>,
    pub returns: Vec<ReturnSummary>,
    /// What the checkout did: the cart before discounts, the discounts (tier, free
    /// items, coupons), the codes used, and the points and cashback that paid.
    pub checkout: PurchaseCheckout,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurchaseCheckout {
    pub gross_minor: i64,
    pub discount_minor: i64,
    pub coupons: Vec<String>,
    pub points_redeemed: i64,
    /// The money the redeemed points and cashback stood for.
    pub redeemed_value_minor: i64,
}
