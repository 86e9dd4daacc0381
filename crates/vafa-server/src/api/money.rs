//! Money and balances on the wire.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::money::Money;
use vafa_core::program::Currency;
use vafa_store::BalanceSnapshot;

/// An amount as a decimal string in the currency's unit (IRR has no decimals). Persian
/// digits, `٫` as the decimal point and `,` or `٬` between groups of three digits of the
/// whole part are accepted; a separator anywhere else (`12,50`) is refused.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyDto {
    #[schema(example = "125000")]
    pub amount: String,
    #[schema(example = "IRR")]
    pub currency: String,
}

impl MoneyDto {
    pub fn of(minor: i64, currency: Currency) -> Self {
        MoneyDto {
            amount: Money::new(minor, currency).amount_string(),
            currency: currency.code().to_owned(),
        }
    }

    /// The amount in minor units, which must be in the program's currency.
    pub fn minor(&self, field: &str, program: Currency) -> Result<i64, ApiError> {
        let currency: Currency = self
            .currency
            .parse()
            .map_err(|e| ApiError::field(&format!("{field}.currency"), e))?;
        let money = Money::parse(&self.amount, currency)
            .map_err(|e| ApiError::field(&format!("{field}.amount"), e))?
            .expect_currency(program)
            .map_err(|e| ApiError::field(&format!("{field}.currency"), e))?;
        Ok(money.amount_minor)
    }
}

/// [`MoneyDto::minor`] among other fields' errors: a bad amount or currency is named by
/// its part (`total.amount`, `total.currency`) beside the rest.
pub fn take_minor(
    errs: &mut vafa_core::FieldErrors,
    money: &MoneyDto,
    field: &str,
    program: Currency,
) -> Option<i64> {
    match money.minor(field, program) {
        Ok(v) => Some(v),
        Err(e) => {
            errs.0.extend(e.errors);
            None
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringView {
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    pub points: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointsBalance {
    /// Spendable now; negative when the customer owes points.
    pub available: i64,
    /// Earned but still in the return window.
    pub pending: i64,
    /// Points owed after a return of points already spent; paid from later earnings.
    pub debt: i64,
    /// Spendable points expiring in the next 30 days.
    pub expiring_soon: Vec<ExpiringView>,
}

/// Everything that ever moved a customer's value, by kind. The points add up to the
/// balance: `earned − redeemed − expired − returned + adjusted + transferred` is
/// `available + pending` (available is already less any debt) once the expiries due are
/// posted; the cashback likewise: `cashback_earned − cashback_redeemed −
/// cashback_returned + cashback_transferred` is the wallet. A survivor's totals take in
/// the history of every record merged into it (the merge itself nets to nothing); a
/// merged record's show what left it as `transferred` and `cashback_transferred`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LifetimeView {
    /// By purchases, events, tier gifts and goodwill.
    pub earned: i64,
    /// Spent: redemptions, checkouts and rewards (less what returns and cancellations gave back).
    pub redeemed: i64,
    pub expired: i64,
    pub returned: i64,
    pub adjusted: i64,
    pub transferred: i64,
    pub cashback_earned: MoneyDto,
    pub cashback_redeemed: MoneyDto,
    /// Cashback earned and taken back by returns.
    pub cashback_returned: MoneyDto,
    /// Cashback moved out of a merged record (negative), or 0.
    pub cashback_transferred: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    pub points: PointsBalance,
    pub cashback: MoneyDto,
    /// Lifetime totals; in `GET …/balance` only, not in the answers of writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<LifetimeView>,
}

impl BalanceView {
    pub fn new(b: BalanceSnapshot, currency: Currency) -> Self {
        BalanceView {
            points: PointsBalance {
                available: b.points_available,
                pending: b.points_pending,
                debt: b.points_debt,
                expiring_soon: b
                    .expiring_soon
                    .into_iter()
                    .map(|e| ExpiringView {
                        at: e.at,
                        points: e.points,
                    })
                    .collect(),
            },
            cashback: MoneyDto::of(b.cashback_minor, currency),
            lifetime: b.lifetime.map(|l| LifetimeView {
                earned: l.points.earned,
                redeemed: l.points.redeemed,
                expired: l.points.expired,
                returned: l.points.returned,
                adjusted: l.points.adjusted,
                transferred: l.points.transferred,
                cashback_earned: MoneyDto::of(l.cashback_earned_minor, currency),
                cashback_redeemed: MoneyDto::of(l.cashback_redeemed_minor, currency),
                cashback_returned: MoneyDto::of(l.cashback_returned_minor, currency),
                cashback_transferred: MoneyDto::of(l.cashback_transferred_minor, currency),
            }),
        }
    }
}

/// A cart line's quantity times its unit price, which must fit an amount of money:
/// each factor is bounded, their product need not be.
pub fn check_line_amount(
    errs: &mut vafa_core::FieldErrors,
    i: usize,
    quantity: i64,
    unit_price_minor: i64,
) {
    if quantity
        .checked_mul(unit_price_minor)
        .is_none_or(|a| a > vafa_core::money::MAX_AMOUNT_MINOR)
    {
        errs.push(
            format!("items[{i}].unit_price"),
            "quantity times unit price is too large",
        );
    }
}
