//! `POST /api/v1/checkout/quote`: what a cart would get — the tier discount, each
//! coupon, the most points redeemable and their value, what is left to pay, and what
//! that payment would earn. Nothing is written. The stacking order is in
//! `vafa_core::checkout` and `docs/checkout.md`.

use crate::api::money::MoneyDto;
use crate::api::purchases::{program_currency, ItemInput, PurchaseInput};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::AppState;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::checkout::{free_items, quote, PointsWanted, QuoteError, QuoteInput};
use vafa_core::coupons::{normalize, CartLine};
use vafa_store::{CouponCart, StoreError};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    pub customer_id: Option<String>,
    pub mobile: Option<String>,
    pub card_number: Option<String>,
    #[serde(default)]
    pub items: Vec<ItemInput>,
    /// The cart's total before any discount.
    pub total: MoneyDto,
    /// Coupon codes to apply, in this order.
    #[serde(default)]
    pub coupons: Vec<String>,
    /// Points to pay with: a number, or `"max"`.
    #[schema(value_type = Option<RedeemPoints>)]
    pub redeem_points: Option<serde_json::Value>,
    /// Cashback to pay with.
    pub redeem_cashback: Option<MoneyDto>,
}

/// `redeem_points` as the document shows it: a whole number of points, or `"max"` for as
/// many as the sale and the balance allow. (The field is read by hand, to name it in the
/// error; these types only describe it.)
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RedeemPoints {
    Points(u64),
    Max(MaxPoints),
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum MaxPoints {
    Max,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponLineView {
    pub code: String,
    pub discount: MoneyDto,
    /// Why the coupon gives nothing, when it does not apply.
    pub refused: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FreeItemView {
    pub sku: String,
    pub discount: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteView {
    pub customer_id: Option<String>,
    pub tier: Option<String>,
    pub total: MoneyDto,
    /// The tier's free items in the cart, one unit each, with what they took off.
    pub free_items: Vec<FreeItemView>,
    pub tier_discount_percent: String,
    pub tier_discount: MoneyDto,
    pub coupons: Vec<CouponLineView>,
    /// After every discount.
    pub discounted: MoneyDto,
    pub points_available: i64,
    pub max_points_redeemable: i64,
    pub points_redeemed: i64,
    pub points_value: MoneyDto,
    pub cashback_used: MoneyDto,
    /// Paid in money: what earns.
    pub payable: MoneyDto,
    /// What paying `payable` would earn (the tier's multiplier included).
    pub points_earned: i64,
    pub cashback_earned: MoneyDto,
    /// The steps in the order they were applied.
    pub explanation: Vec<String>,
}

/// Quote a cart: tier discount, coupons, points and cashback as payment, and what the
/// rest would earn. Nothing is written.
#[utoipa::path(post, path = "/api/v1/checkout/quote", tag = "checkout", request_body = CheckoutInput,
    responses((status = 200, body = QuoteView), (status = 404), (status = 422)),
    security(("api_key" = ["purchases.write"])))]
pub async fn quote_view(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<CheckoutInput>,
) -> ApiResult<axum::Json<QuoteView>> {
    let currency = program_currency(&state, &auth).await?;
    let now = state.clock.now();
    let program_id = auth.program_id();
    let wanted = match &input.redeem_points {
        None => PointsWanted::None,
        Some(serde_json::Value::String(s)) if s == "max" => PointsWanted::Max,
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => PointsWanted::Points(n),
            _ => {
                return Err(ApiError::field(
                    "redeem_points",
                    "a whole number of points, or \"max\"",
                ))
            }
        },
    };
    let cash_wanted = match &input.redeem_cashback {
        Some(m) => m.minor("redeem_cashback", currency)?,
        None => 0,
    };
    if input.coupons.len() > 20 {
        return Err(ApiError::field("coupons", "at most 20 codes"));
    }
    let purchase_input = PurchaseInput {
        customer_id: input.customer_id,
        mobile: input.mobile,
        card_number: input.card_number,
        store: None,
        channel: None,
        external_id: None,
        items: input.items,
        total: input.total,
        coupons: input.coupons.clone(),
        occurred_at: None,
        checkout: None,
    };
    let (who, purchase) = purchase_input.parse(currency, now, false)?;
    let priced = price(
        &state,
        program_id,
        who,
        purchase,
        &input.coupons,
        wanted,
        cash_wanted,
        now,
    )
    .await?;
    let Priced {
        customer_id,
        tier,
        q,
        refused,
        balance,
        settings,
        earn,
    } = priced;
    let tier_pct = tier
        .as_ref()
        .map_or(Default::default(), |t| t.discount_percent);
    let gross = q.total_minor;
    let m = |v| MoneyDto::of(v, currency);
    // The tier's percent is of what its free units left.
    let free_total: i64 = q.free_items.iter().map(|f| f.1).sum();
    let mut explanation = Vec::new();
    if !q.free_items.is_empty() {
        explanation.push(format!(
            "tier free items: {}",
            q.free_items
                .iter()
                .map(|(sku, off)| format!("{sku} {off}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    explanation.extend([
        format!(
            "tier discount {tier_pct}% of {}: {}",
            gross - free_total,
            q.tier_discount_minor
        ),
        format!(
            "coupons, in order, on what is left: {}",
            q.coupons
                .iter()
                .map(|c| format!("{} {}", c.0, c.1))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "{} points at {} each pay {}",
            q.points_redeemed, settings.point_value_minor, q.points_value_minor
        ),
        format!("cashback pays {}", q.cashback_used_minor),
        format!("{} is paid in money and earns", q.payable_minor),
    ]);
    Ok(axum::Json(QuoteView {
        customer_id,
        tier: tier.map(|t| t.code),
        total: m(gross),
        free_items: q
            .free_items
            .iter()
            .map(|(sku, off)| FreeItemView {
                sku: sku.clone(),
                discount: m(*off),
            })
            .collect(),
        tier_discount_percent: tier_pct.to_string(),
        tier_discount: m(q.tier_discount_minor),
        coupons: q
            .coupons
            .iter()
            .zip(refused)
            .map(|((code, off), refused)| CouponLineView {
                code: code.clone(),
                discount: m(*off),
                refused,
            })
            .collect(),
        discounted: m(q.discounted_minor),
        points_available: balance.as_ref().map_or(0, |b| b.points_available),
        max_points_redeemable: q.max_points,
        points_redeemed: q.points_redeemed,
        points_value: m(q.points_value_minor),
        cashback_used: m(q.cashback_used_minor),
        payable: m(q.payable_minor),
        points_earned: earn.evaluation.points,
        cashback_earned: m(earn.evaluation.cashback_minor),
        explanation,
    }))
}

/// A cart priced as the checkout prices it: the customer and tier, the quote, why each
/// coupon gave nothing, and what the money paid earns — evaluated with each line weighing
/// what was paid for it, exactly as the purchase does. Nothing is written.
pub(crate) struct Priced {
    pub customer_id: Option<String>,
    pub tier: Option<vafa_core::tiers::Tier>,
    pub q: vafa_core::checkout::Quote,
    pub refused: Vec<Option<String>>,
    pub balance: Option<vafa_store::BalanceSnapshot>,
    pub settings: vafa_core::ledger::LedgerSettings,
    pub earn: vafa_store::Simulation,
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn price(
    state: &AppState,
    program_id: &str,
    who: Option<vafa_store::CustomerRef>,
    mut purchase: vafa_store::NewPurchase,
    codes: &[String],
    wanted: PointsWanted,
    cash_wanted: i64,
    now: jiff::Timestamp,
) -> ApiResult<Priced> {
    // The customer, found as the purchase and simulate find them.
    let customer_id = match &who {
        Some(w) => state.store.resolve_customer(program_id, w).await?,
        None => None,
    };
    // A merged or erased record is answered as the purchase would be: its points are
    // the survivor's now, and a quote of zero would mislead the cashier.
    if let Some(id) = &customer_id {
        if let Some(c) = state.store.get_customer(program_id, id).await? {
            if !c.is_open() {
                return Err(vafa_store::StoreError::CustomerClosed(c.status.as_str()).into());
            }
        }
    }
    let standing = match &customer_id {
        Some(id) => state.store.customer_tier(program_id, id, now).await?,
        None => None,
    };
    let tier_pct = standing
        .as_ref()
        .map_or(Default::default(), |s| s.tier.discount_percent);
    let gross = purchase.total_minor;
    let lines: Vec<CartLine> = purchase
        .lines
        .iter()
        .map(|l| CartLine {
            sku: l.sku.clone(),
            category: l.category.clone(),
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
        })
        .collect();
    let free = free_items(
        &lines,
        standing
            .as_ref()
            .map_or(&[][..], |s| &s.tier.free_items[..]),
    );
    let mut cart = CouponCart::after_tier(lines, gross, &free, tier_pct);
    let mut coupons = Vec::new();
    let mut coupon_lines = Vec::new();
    let mut refused = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for raw in codes {
        let code = normalize(raw);
        // A code is used once: its repeat takes nothing (the purchase refuses it).
        if !seen.insert(code.clone()) {
            coupons.push((code, 0));
            coupon_lines.push(Vec::new());
            refused.push(Some("the same code twice".to_owned()));
            continue;
        }
        match state
            .store
            .check_coupon(program_id, &code, customer_id.as_deref(), &cart, now)
            .await
        {
            Ok(u) => {
                cart.take(&u);
                coupons.push((code, u.discount_minor));
                coupon_lines.push(u.lines);
                refused.push(None);
            }
            Err(
                e @ (StoreError::NotFound(_)
                | StoreError::CouponUsedUp
                | StoreError::CouponNotApplicable(_)),
            ) => {
                let why = match e {
                    StoreError::NotFound(_) => "no such coupon".to_owned(),
                    other => other.to_string(),
                };
                coupons.push((code, 0));
                coupon_lines.push(Vec::new());
                refused.push(Some(why));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let balance = match &customer_id {
        Some(id) => Some(state.store.balance(program_id, id, now).await?),
        None => None,
    };
    let settings = state.store.ledger_settings(program_id).await?;
    let q = quote(&QuoteInput {
        total_minor: gross,
        free_items: free,
        tier_discount_percent: tier_pct,
        coupons,
        points_available: balance.as_ref().map_or(0, |b| b.points_available),
        point_value_minor: settings.point_value_minor,
        points: wanted,
        cashback_available_minor: balance.as_ref().map_or(0, |b| b.cashback_minor),
        cashback_wanted_minor: cash_wanted,
    })
    .map_err(|e| match e {
        QuoteError::TooManyPoints { .. } => ApiError::field("redeem_points", e),
        QuoteError::TooMuchCashback { .. } => ApiError::field("redeem_cashback", e),
    })?;
    // What the money paid would earn, each line weighing what was paid for it.
    let taken: Vec<(i64, Vec<bool>)> = q.coupons.iter().map(|c| c.1).zip(coupon_lines).collect();
    let weights = vafa_core::checkout::paid_weights(&cart.lines, &q.free_items, tier_pct, &taken);
    purchase.total_minor = q.payable_minor;
    let earn = state
        .store
        .simulate(
            program_id,
            &vafa_store::SimulateRequest {
                customer: who,
                purchase,
                weights: Some(weights),
            },
        )
        .await?;
    Ok(Priced {
        customer_id,
        tier: standing.map(|s| s.tier),
        q,
        refused,
        balance,
        settings,
        earn,
    })
}
