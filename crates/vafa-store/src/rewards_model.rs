//! Rewards and claims as the store reports them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use vafa_core::rewards::RewardDef;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reward {
    pub id: String,
    pub def: RewardDef,
    /// Units left (none: unlimited).
    pub stock_left: Option<i64>,
    /// `active` or `retired`.
    pub status: String,
    /// Claims not cancelled.
    pub claimed: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardClaim {
    pub id: String,
    pub reward_id: String,
    pub reward_name: String,
    pub customer_id: String,
    /// The single-use code the counter consumes.
    pub code: String,
    pub points: i64,
    pub entry_id: String,
    /// `issued`, `used`, `cancelled`, or `expired` (left unused past `expires_at`; the
    /// expiry job marks it and puts its unit back in stock).
    pub status: String,
    /// Physical gifts: `pending`, `packed`, `shipped`, `delivered`.
    pub fulfilment: Option<String>,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub cancel_reason: Option<String>,
    pub refund_entry_id: Option<String>,
}

/// What an `issue_reward` effect of a rule gave: claims of the reward, free of points
/// (the campaign pays), as many as asked while its stock lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedReward {
    pub reward_id: String,
    pub requested: i64,
    /// The claims issued, each with its single-use code.
    pub claims: Vec<IssuedClaim>,
    /// Why fewer than requested were issued (retired, not available now, out of stock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedClaim {
    pub claim_id: String,
    pub code: String,
}
