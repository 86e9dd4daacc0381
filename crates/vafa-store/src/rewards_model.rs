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
    /// `issued`, `used` or `cancelled`.
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
