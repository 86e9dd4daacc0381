//! Coupon batches, codes and uses as the store reports them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use vafa_core::coupons::{CartLine, CouponRules};

/// Where a batch's codes come from.
#[derive(Debug, Clone)]
pub enum CouponSource {
    /// `count` unique single-use codes drawn from `pattern`.
    Pattern { pattern: String, count: u32 },
    /// One public code, its uses limited by `max_uses_total`.
    Shared { code: String },
}

#[derive(Debug, Clone)]
pub struct NewCouponBatch {
    pub name: String,
    pub source: CouponSource,
    pub rules: CouponRules,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CouponBatch {
    pub id: String,
    pub name: String,
    /// `unique` or `shared`.
    pub kind: String,
    pub pattern: Option<String>,
    pub rules: CouponRules,
    pub requested: i64,
    pub generated: i64,
    /// `generating` or `ready`.
    pub status: String,
    /// Uses so far, over all its codes.
    pub used: i64,
    pub created_at: Timestamp,
}

/// A cart as coupons see it.
#[derive(Debug, Clone, Default)]
pub struct CouponCart {
    pub lines: Vec<CartLine>,
    pub total_minor: i64,
    /// What each line is still worth: after the tier's benefits
    /// ([`vafa_core::checkout::line_values`]) and the coupons before this one. Empty:
    /// quantity times price (a cart without a tier or other coupons).
    pub values: Vec<i64>,
}

impl CouponCart {
    /// A checkout's cart: `total_minor` and its lines after the tier's free units
    /// (`free`) and percent, as coupons are computed on them.
    pub fn after_tier(
        lines: Vec<CartLine>,
        total_minor: i64,
        free: &[(String, i64)],
        percent: rust_decimal::Decimal,
    ) -> Self {
        CouponCart {
            total_minor: vafa_core::checkout::after_tier(total_minor, free, percent),
            values: vafa_core::checkout::line_values(&lines, free, percent),
            lines,
        }
    }

    /// A coupon has taken its discount: the next one sees what it left of its lines.
    pub fn take(&mut self, used: &CouponUse) {
        vafa_core::checkout::take_off(&mut self.values, used.discount_minor, &used.lines);
    }
}

/// What a code would give (check) or gave (use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponUse {
    /// Empty for a check, which writes nothing.
    pub id: String,
    pub code: String,
    pub batch_id: String,
    pub customer_id: Option<String>,
    pub purchase_id: Option<String>,
    pub discount_minor: i64,
    /// Uses of this code after this one, and its limit (none: unlimited).
    pub uses: i64,
    pub max_uses: Option<i64>,
    pub at: Timestamp,
    /// The cart's lines the discount comes off (`coupons::discounted_lines`): the
    /// checkout spreads it over these. Not part of any answer.
    #[serde(skip)]
    pub lines: Vec<bool>,
}

/// What an `issue_coupon` effect of a rule gave: a code of the batch — the next code of a
/// unique batch not yet handed out or used (it is the customer's from then on), or a
/// shared batch's one code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCoupon {
    pub batch_id: String,
    pub code: Option<String>,
    /// Why no code was given (no such batch, none left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
}
