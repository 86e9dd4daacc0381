//! Tier state as the store reports it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use vafa_core::tiers::{Tier, TierMetric};

/// Where a customer stands on the program's ladder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerTier {
    pub customer_id: String,
    pub tier: Tier,
    /// Position on the ladder, 0 for the first tier.
    pub level: usize,
    /// When the customer entered this tier (none for the first tier by default).
    pub since: Option<Timestamp>,
    /// Below this tier since this evaluation; the downgrade waits for the grace period.
    pub below_since: Option<Timestamp>,
    /// A manual override holds the tier until then.
    pub pinned_until: Option<Timestamp>,
    pub metric: TierMetric,
    /// The qualifying window, and the customer's value in it.
    pub window_start: Option<Timestamp>,
    pub qualifying: i64,
    pub next: Option<NextTier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextTier {
    pub code: String,
    pub name: String,
    pub threshold: i64,
    /// Qualifying value still needed to reach it.
    pub needed: i64,
}

/// One change of a customer's tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierChange {
    pub id: String,
    pub customer_id: String,
    pub from_tier: Option<String>,
    pub to_tier: String,
    /// `upgrade`, `downgrade`, `override`, `merge`, or `regift` (the entry gift of the
    /// tier held, given again after a return took it back; the tier is unchanged).
    pub kind: String,
    pub reason: Option<String>,
    pub qualifying: i64,
    /// Entry gift posted with an upgrade (0 when none), and its journal entry.
    pub gift_points: i64,
    pub entry_id: Option<String>,
    /// The purchase that crossed the threshold (an upgrade by a purchase): returning it
    /// below the tier takes the gift back.
    #[serde(default)]
    pub purchase_id: Option<String>,
    pub actor: String,
    pub at: Timestamp,
}

/// What one periodic evaluation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TierRun {
    pub evaluated: i64,
    pub upgraded: i64,
    pub downgraded: i64,
    /// Below their tier and still inside the grace period.
    pub in_grace: i64,
}

/// A manual tier change.
#[derive(Debug, Clone)]
pub struct TierOverride {
    pub tier: String,
    pub reason: String,
    /// Hold the tier until then (no downgrade before it).
    pub until: Option<Timestamp>,
}
