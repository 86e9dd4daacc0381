//! `/api/v1/purchases`: record purchases (earning points and cashback) and returns.

use crate::api::money::{take_minor, BalanceView, MoneyDto};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Idempotent;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::card::CardNumber;
use vafa_core::mobile::Mobile;
use vafa_core::program::Currency;
use vafa_core::{validate, FieldErrors};
use vafa_store::{
    CustomerRef, NewPurchase, PurchaseLine, PurchaseOutcome, Replayed, ReturnOutcome, ReturnRequest,
};

pub const MAX_ITEMS: usize = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub category: Option<String>,
    /// Whole units, 1 to 1,000,000.
    pub quantity: i64,
    pub unit_price: MoneyDto,
}

/// A purchase names its customer by exactly one of `customer_id`, `mobile` or `card_number`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseInput {
    pub customer_id: Option<String>,
    pub mobile: Option<String>,
    /// A personal card, or a bearer card: an unbound bearer card gets an anonymous holder.
    pub card_number: Option<String>,
    /// Store or branch.
    pub store: Option<String>,
    /// e.g. `pos`, `web`, `app`.
    pub channel: Option<String>,
    /// The receipt number, unique per program. Without an `Idempotency-Key`, a retry with
    /// the same receipt number and body answers with the first result.
    pub external_id: Option<String>,
    #[serde(default)]
    pub items: Vec<ItemInput>,
    /// What the customer paid.
    pub total: MoneyDto,
    /// Coupon codes presented; rule conditions see them as `purchase.coupons`.
    #[serde(default)]
    pub coupons: Vec<String>,
    /// When it happened (default: now); from 2000-01-01, and at most five minutes ahead of
    /// the server's clock (a till whose clock runs a little fast).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<jiff::Timestamp>,
    /// Through the checkout: `total` is then the cart before discounts, and the purchase
    /// applies the tier discount, uses up `coupons`, and takes points and cashback as
    /// payment, exactly as `POST /api/v1/checkout/quote` computes (`docs/checkout.md`).
    pub checkout: Option<CheckoutOptions>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutOptions {
    /// Points to pay with: a number, or `"max"`.
    #[schema(value_type = Option<crate::api::checkout::RedeemPoints>)]
    pub redeem_points: Option<serde_json::Value>,
    /// Cashback to pay with.
    pub redeem_cashback: Option<MoneyDto>,
}

impl CheckoutOptions {
    pub fn parse(&self, currency: Currency) -> Result<vafa_store::CheckoutRequest, ApiError> {
        use vafa_core::checkout::PointsWanted;
        let points = match &self.redeem_points {
            None => PointsWanted::None,
            Some(serde_json::Value::String(s)) if s == "max" => PointsWanted::Max,
            Some(v) => match v.as_i64() {
                Some(n) if n >= 0 => PointsWanted::Points(n),
                _ => {
                    return Err(ApiError::field(
                        "checkout.redeem_points",
                        "a whole number of points, or \"max\"",
                    ))
                }
            },
        };
        let cashback_minor = match &self.redeem_cashback {
            Some(m) => m.minor("checkout.redeem_cashback", currency)?,
            None => 0,
        };
        if cashback_minor < 0 {
            return Err(ApiError::field(
                "checkout.redeem_cashback",
                "must not be negative",
            ));
        }
        Ok(vafa_store::CheckoutRequest {
            points,
            cashback_minor,
        })
    }
}

/// The earliest `occurred_at` a purchase may carry: 2000-01-01T00:00:00Z.
pub(crate) const EARLIEST_SALE: jiff::Timestamp = jiff::Timestamp::constant(946_684_800, 0);

fn text(errs: &mut FieldErrors, field: &str, v: Option<String>, max: usize) -> Option<String> {
    v.and_then(|s| errs.take(field, validate::short_text(&s, max)).flatten())
}

impl PurchaseInput {
    fn into_purchase(
        self,
        currency: Currency,
        now: jiff::Timestamp,
    ) -> Result<NewPurchase, ApiError> {
        match self.parse(currency, now, true)? {
            (Some(customer), mut p) => {
                p.customer = customer;
                Ok(p)
            }
            (None, _) => Err(ApiError::field("customer_id", "missing")),
        }
    }

    /// Parse and validate; the customer may be absent only when `need_customer` is false
    /// (simulate for someone not yet registered), and then the purchase's own `customer`
    /// is a placeholder the caller must not use.
    pub(crate) fn parse(
        self,
        currency: Currency,
        now: jiff::Timestamp,
        need_customer: bool,
    ) -> Result<(Option<CustomerRef>, NewPurchase), ApiError> {
        let mut errs = FieldErrors::default();
        let customer = match (self.customer_id, self.mobile, self.card_number) {
            (None, None, None) if !need_customer => None,
            (Some(id), None, None) => Some(CustomerRef::Id(id.trim().to_owned())),
            (None, Some(m), None) => errs
                .take("mobile", Mobile::parse(&m))
                .map(CustomerRef::Mobile),
            (None, None, Some(c)) => errs
                .take("card_number", CardNumber::parse(&c))
                .map(CustomerRef::Card),
            _ => {
                errs.push(
                    "customer_id",
                    "give exactly one of customer_id, mobile or card_number",
                );
                None
            }
        };
        // Money names its part, `total.amount` or `total.currency`, as everywhere else.
        let total_minor = take_minor(&mut errs, &self.total, "total", currency);
        if self.items.len() > MAX_ITEMS {
            errs.push("items", format!("at most {MAX_ITEMS} items"));
        }
        let mut lines = Vec::with_capacity(self.items.len());
        for (i, item) in self.items.into_iter().enumerate() {
            if !(1..=1_000_000).contains(&item.quantity) {
                errs.push(
                    format!("items[{i}].quantity"),
                    "must be between 1 and 1000000",
                );
            }
            let price = take_minor(
                &mut errs,
                &item.unit_price,
                &format!("items[{i}].unit_price"),
                currency,
            );
            if let Some(p) = price {
                crate::api::money::check_line_amount(&mut errs, i, item.quantity, p);
            }
            lines.push(PurchaseLine {
                sku: text(&mut errs, &format!("items[{i}].sku"), item.sku, 64),
                name: text(&mut errs, &format!("items[{i}].name"), item.name, 200),
                category: text(
                    &mut errs,
                    &format!("items[{i}].category"),
                    item.category,
                    64,
                ),
                quantity: item.quantity,
                unit_price_minor: price.unwrap_or(0),
            });
        }
        let occurred_at = self.occurred_at.unwrap_or(now);
        // Before 2000 is a typo or a zeroed clock, not a sale: it would skew every
        // recency and cohort. Older history comes in by `vafa import`.
        if occurred_at < EARLIEST_SALE {
            errs.push("occurred_at", "must not be before 2000-01-01");
        }
        if occurred_at
            > now
                .saturating_add(jiff::SignedDuration::from_mins(5))
                .unwrap_or(now)
        {
            errs.push("occurred_at", "must not be in the future");
        }
        let store = text(&mut errs, "store", self.store, 100);
        let channel = text(&mut errs, "channel", self.channel, 40);
        let external_id = text(&mut errs, "external_id", self.external_id, 100);
        if self.coupons.len() > 20 {
            errs.push("coupons", "at most 20 codes");
        }
        let mut coupons: Vec<String> = self
            .coupons
            .iter()
            .enumerate()
            .filter_map(|(i, c)| text(&mut errs, &format!("coupons[{i}]"), Some(c.clone()), 64))
            .collect();
        let checkout = match &self.checkout {
            Some(c) => match c.parse(currency) {
                Ok(c) => Some(c),
                Err(e) => {
                    errs.0.extend(e.errors);
                    None
                }
            },
            None => None,
        };
        if self.checkout.is_some() {
            // Codes are used up: read them as people type them, each once.
            coupons = coupons
                .iter()
                .map(|c| vafa_core::coupons::normalize(c))
                .collect();
            let mut seen = std::collections::HashSet::new();
            if let Some(i) = coupons.iter().position(|c| !seen.insert(c.clone())) {
                errs.push(format!("coupons[{i}]"), "the same code twice");
            }
        }
        if !errs.is_empty() {
            return Err(errs.into());
        }
        match total_minor {
            Some(total_minor) => Ok((
                customer.clone(),
                NewPurchase {
                    customer: customer.unwrap_or(CustomerRef::Id(String::new())),
                    store,
                    channel,
                    external_id,
                    lines,
                    total_minor,
                    occurred_at,
                    coupons,
                    checkout,
                },
            )),
            None => Err(ApiError::field("total", "missing")),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    pub line: i64,
    pub sku: Option<String>,
    pub quantity: i64,
    pub amount: MoneyDto,
    /// Points this line earned (what returning it reverses).
    pub points: i64,
    pub cashback: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EarnedPoints {
    pub earned: i64,
    /// Of `earned`, how many are spendable now.
    pub available: i64,
    /// Of `earned`, how many are pending until `available_at`.
    pub pending: i64,
    /// Of `earned`, how many paid off an earlier debt.
    pub debt_paid: i64,
    /// Of `earned`, how many had already expired when the purchase was recorded (a
    /// receipt entered after its points' expiry).
    pub expired: i64,
    #[schema(value_type = String, format = DateTime)]
    pub available_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseView {
    pub id: String,
    pub customer_id: String,
    pub external_id: Option<String>,
    pub total: MoneyDto,
    pub points: EarnedPoints,
    pub cashback: MoneyDto,
    pub lines: Vec<LineView>,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: jiff::Timestamp,
    /// The rules that fired, each with its version and what it gave.
    pub rules: Vec<FiredRuleView>,
    /// Rewards the rules gave (`issue_reward`): per award, the claims issued free of
    /// points with their codes, and why fewer than requested when the stock ran out.
    #[schema(value_type = Vec<Object>)]
    pub issued_rewards: Vec<vafa_store::IssuedReward>,
    /// Coupons the rules gave (`issue_coupon`): the code handed to the customer (the
    /// next of a unique batch, now theirs; a shared batch's code), or why none.
    #[schema(value_type = Vec<Object>)]
    pub issued_coupons: Vec<vafa_store::IssuedCoupon>,
    /// The customer's balance right after this purchase.
    pub balance: BalanceView,
    /// The tier the points were earned under (its multiplier applied), with a ladder.
    pub tier: Option<String>,
    /// The upgrade this purchase caused, with its entry gift (`kind: upgrade`), or the
    /// entry gift of the tier held given again after a return took it back (`regift`).
    #[schema(value_type = Option<Object>)]
    pub tier_change: Option<vafa_store::TierChange>,
    /// Through the checkout: the breakdown, as the quote computed it.
    pub checkout: Option<CheckoutView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutView {
    /// The cart before discounts; `total` above is the sale after them.
    pub cart_total: MoneyDto,
    /// The tier's free items, one unit each, with what they took off.
    pub free_items: Vec<CheckoutCouponView>,
    pub tier_discount: MoneyDto,
    /// Each coupon used, with what it took off.
    pub coupons: Vec<CheckoutCouponView>,
    pub points_redeemed: i64,
    pub points_value: MoneyDto,
    pub cashback_used: MoneyDto,
    /// Paid in money: what earned.
    pub paid: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutCouponView {
    /// The coupon code, or the free item's SKU.
    pub code: String,
    pub discount: MoneyDto,
}

impl CheckoutView {
    fn new(q: vafa_core::checkout::Quote, c: Currency) -> Self {
        CheckoutView {
            cart_total: MoneyDto::of(q.total_minor, c),
            free_items: q
                .free_items
                .into_iter()
                .map(|(code, off)| CheckoutCouponView {
                    code,
                    discount: MoneyDto::of(off, c),
                })
                .collect(),
            tier_discount: MoneyDto::of(q.tier_discount_minor, c),
            coupons: q
                .coupons
                .into_iter()
                .map(|(code, off)| CheckoutCouponView {
                    code,
                    discount: MoneyDto::of(off, c),
                })
                .collect(),
            points_redeemed: q.points_redeemed,
            points_value: MoneyDto::of(q.points_value_minor, c),
            cashback_used: MoneyDto::of(q.cashback_used_minor, c),
            paid: MoneyDto::of(q.payable_minor, c),
        }
    }
}

/// A rule that fired: which version, what it gave and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiredRuleView {
    pub campaign_id: String,
    pub campaign_name: String,
    pub rule_id: String,
    pub rule_version: i64,
    pub rule_name: String,
    pub points: i64,
    pub cashback: MoneyDto,
    /// Rewards, coupons and challenge progress the rule hands out.
    #[schema(value_type = Vec<Object>)]
    pub awards: Vec<vafa_core::rules::Award>,
    pub explanation: Vec<String>,
}

impl FiredRuleView {
    pub fn new(f: &vafa_store::FiredRuleRecord, c: Currency) -> Self {
        FiredRuleView {
            campaign_id: f.campaign_id.clone(),
            campaign_name: f.campaign_name.clone(),
            rule_id: f.rule_id.clone(),
            rule_version: f.rule_version,
            rule_name: f.rule_name.clone(),
            points: f.points,
            cashback: MoneyDto::of(f.cashback_minor, c),
            awards: f.awards.clone(),
            explanation: f.explanation.clone(),
        }
    }
}

impl PurchaseView {
    fn new(o: PurchaseOutcome, c: Currency) -> Self {
        PurchaseView {
            id: o.purchase_id,
            customer_id: o.customer_id,
            external_id: o.external_id,
            total: MoneyDto::of(o.total_minor, c),
            points: EarnedPoints {
                earned: o.points_earned,
                available: o.points_earned - o.points_pending - o.debt_paid - o.points_expired,
                pending: o.points_pending,
                debt_paid: o.debt_paid,
                expired: o.points_expired,
                available_at: o.available_at,
                expires_at: o.expires_at,
            },
            cashback: MoneyDto::of(o.cashback_minor, c),
            lines: o
                .lines
                .into_iter()
                .map(|l| LineView {
                    line: l.line_no,
                    sku: l.sku,
                    quantity: l.quantity,
                    amount: MoneyDto::of(l.amount_minor, c),
                    points: l.points,
                    cashback: MoneyDto::of(l.cashback_minor, c),
                })
                .collect(),
            occurred_at: o.occurred_at,
            rules: o.rules.iter().map(|f| FiredRuleView::new(f, c)).collect(),
            issued_rewards: o.issued_rewards,
            issued_coupons: o.issued_coupons,
            balance: BalanceView::new(o.balance, c),
            tier: o.tier,
            tier_change: o.tier_change,
            checkout: o.checkout.map(|q| CheckoutView::new(q, c)),
        }
    }
}

pub async fn program_currency(state: &AppState, auth: &Auth) -> Result<Currency, ApiError> {
    let p = state
        .store
        .get_program(auth.program_id())
        .await?
        .ok_or_else(|| ApiError::not_found("program"))?;
    Ok(p.currency)
}

/// The status and headers of a value-moving write: `Idempotent-Replayed: true` on a replay.
pub fn replay_headers<T>(r: &Replayed<T>) -> (StatusCode, HeaderMap) {
    let mut h = HeaderMap::new();
    if r.replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    (StatusCode::CREATED, h)
}

/// Record a purchase: it earns points and cashback by the program's settings, in the
/// same transaction, and the answer carries the balance after it.
#[utoipa::path(post, path = "/api/v1/purchases", tag = "ledger", request_body = PurchaseInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key and body answer with the first result")),
    responses((status = 201, body = PurchaseView), (status = 404, description = "no such customer or card"),
        (status = 409, description = "idempotency_conflict, duplicate_purchase, customer_blocked, card_not_active"), (status = 422)),
    security(("api_key" = ["purchases.write"])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    req: Idempotent<PurchaseInput>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<PurchaseView>)> {
    let currency = program_currency(&state, &auth).await?;
    let ctx = auth.ctx(&state);
    let implicit = req
        .body
        .external_id
        .as_ref()
        .map(|e| format!("purchase-external:{}", e.trim()));
    let idem = req.idempotency(implicit);
    let by_receipt = req.key.is_none() && idem.is_some();
    let purchase = req.body.into_purchase(currency, ctx.now)?;
    late_entry_allowed(&auth, purchase.occurred_at, ctx.now)?;
    let out = match state
        .store
        .post_purchase(&ctx, &purchase, idem.as_ref())
        .await
    {
        // Without a key, the receipt number is the key; a different body is a clash of receipts.
        Err(vafa_store::StoreError::IdempotencyConflict) if by_receipt => {
            Err(vafa_store::StoreError::DuplicatePurchase)
        }
        other => other,
    }
    // What the checkout was asked to take as payment is not there.
    .map_err(|e| ApiError::short_of(e, "checkout.redeem_points", "checkout.redeem_cashback"))?;
    let (status, headers) = replay_headers(&out);
    Ok((
        status,
        headers,
        axum::Json(PurchaseView::new(out.value, currency)),
    ))
}

/// How far back a role without `points.adjust` (a cashier) may date a sale or an event.
pub const LATE_ENTRY_HOURS: i64 = 24;

/// A sale or event dated further back than [`LATE_ENTRY_HOURS`] is judged by the
/// campaigns and caps of its date — a campaign since ended, last year's birthday cap — so
/// it is a correction, for a role that may adjust points by hand (manager, admin); older
/// history comes in by import.
pub fn late_entry_allowed(
    auth: &Auth,
    occurred_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<(), ApiError> {
    let window = jiff::SignedDuration::from_hours(LATE_ENTRY_HOURS);
    let late = now
        .saturating_sub(window)
        .is_ok_and(|limit| occurred_at < limit);
    if late
        && !auth
            .0
            .role
            .allows(vafa_core::auth::Permission::PointsAdjust)
    {
        return Err(ApiError::field(
            "occurred_at",
            format!(
                "is more than {LATE_ENTRY_HOURS} hours ago; a sale or event that old is recorded by a manager (points.adjust), or imported"
            ),
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnItem {
    /// The line number in the purchase (1-based, as in its `lines`).
    pub line: i64,
    pub quantity: i64,
}

/// Return some lines (`items`) or an amount of money — exactly one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnInput {
    pub items: Option<Vec<ReturnItem>>,
    pub amount: Option<MoneyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnView {
    pub id: String,
    pub purchase_id: String,
    pub customer_id: String,
    pub amount: MoneyDto,
    /// What the returned lines had earned.
    pub points_due: i64,
    /// What was taken back, by the program's return policy.
    pub points_reversed: i64,
    /// Of `points_reversed` and `tier_gift_points_reversed`, what became a debt because
    /// the points were already spent.
    pub points_debt_added: i64,
    /// The entry gift of the tier this purchase upgraded the customer to, taken back
    /// because the return leaves them below that tier's threshold (under the same
    /// return policy as the purchase's own points).
    pub tier_gift_points_reversed: i64,
    /// The purchase back whole: the unused reward claims its rules gave, cancelled (their
    /// stock returns), and the unused coupon codes they handed out, voided.
    pub withdrawn_claims: Vec<String>,
    pub withdrawn_coupons: Vec<String>,
    pub cashback_reversed: MoneyDto,
    /// Of the points that paid for a checkout purchase, those given back for the returned
    /// share (in a lot available at once, expiring when the latest lot they came from
    /// would have).
    pub points_refunded: i64,
    /// Of the cashback that paid, what is given back.
    pub cashback_refunded: MoneyDto,
    /// What the store pays back in money: `amount` less the value of the points and the
    /// cashback given back, and less `cashback_withheld`.
    pub money_refund: MoneyDto,
    /// Cashback this return should have taken back but the customer had already spent,
    /// under a return policy that allows no debt (`within_balance`, `only_pending`): kept
    /// from the money refund instead.
    pub cashback_withheld: MoneyDto,
    pub balance: BalanceView,
}

impl ReturnView {
    fn new(o: ReturnOutcome, c: Currency) -> Self {
        ReturnView {
            id: o.return_id,
            purchase_id: o.purchase_id,
            customer_id: o.customer_id,
            amount: MoneyDto::of(o.amount_minor, c),
            points_due: o.points_due,
            points_reversed: o.points_reversed,
            points_debt_added: o.points_debt_added,
            tier_gift_points_reversed: o.tier_gift_points_reversed,
            withdrawn_claims: o.withdrawn_claims,
            withdrawn_coupons: o.withdrawn_coupons,
            cashback_reversed: MoneyDto::of(o.cashback_reversed_minor, c),
            points_refunded: o.points_refunded,
            cashback_refunded: MoneyDto::of(o.cashback_refunded_minor, c),
            money_refund: MoneyDto::of(o.money_refund_minor, c),
            cashback_withheld: MoneyDto::of(o.cashback_withheld_minor, c),
            balance: BalanceView::new(o.balance, c),
        }
    }
}

/// Return lines of a purchase (their own points are reversed) or an amount (points
/// reversed in proportion). A checkout purchase's points and cashback that paid come back
/// in the returned share (`points_refunded`, `cashback_refunded`; `money_refund` is the
/// rest). Returning more than was bought is `return_too_large`.
#[utoipa::path(post, path = "/api/v1/purchases/{id}/returns", tag = "ledger", request_body = ReturnInput,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = ReturnView), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["purchases.return"])))]
pub async fn create_return(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    req: Idempotent<ReturnInput>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<ReturnView>)> {
    let currency = program_currency(&state, &auth).await?;
    let idem = req.idempotency(None);
    let request = match (req.body.items, req.body.amount) {
        (Some(items), None) if !items.is_empty() && items.len() <= MAX_ITEMS => {
            let mut errs = FieldErrors::default();
            for (i, item) in items.iter().enumerate() {
                if item.line < 1 {
                    errs.push(format!("items[{i}].line"), "must be a line number, from 1");
                }
                if !(1..=1_000_000).contains(&item.quantity) {
                    errs.push(
                        format!("items[{i}].quantity"),
                        "must be between 1 and 1000000",
                    );
                }
            }
            if !errs.is_empty() {
                return Err(errs.into());
            }
            ReturnRequest::Lines(items.into_iter().map(|i| (i.line, i.quantity)).collect())
        }
        (None, Some(amount)) => match amount.minor("amount", currency)? {
            0 => return Err(ApiError::field("amount.amount", "must be more than zero")),
            a => ReturnRequest::Amount(a),
        },
        _ => {
            return Err(ApiError::field(
                "items",
                "give either items (1 to 500 lines) or amount",
            ))
        }
    };
    let out = state
        .store
        .return_purchase(&auth.ctx(&state), &id, &request, idem.as_ref())
        .await?;
    let (status, headers) = replay_headers(&out);
    Ok((
        status,
        headers,
        axum::Json(ReturnView::new(out.value, currency)),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoredLineView {
    pub line: i64,
    pub sku: Option<String>,
    pub name: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price: MoneyDto,
    pub amount: MoneyDto,
    pub points: i64,
    pub cashback: MoneyDto,
    /// How many of `quantity` were returned already.
    pub returned_quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnSummaryView {
    pub id: String,
    pub amount: MoneyDto,
    pub points_reversed: i64,
    /// The tier entry gift this return took back with the points.
    pub tier_gift_points_reversed: i64,
    pub cashback_reversed: MoneyDto,
    /// Of the points and cashback that paid (checkout), what this return gave back.
    pub points_refunded: i64,
    pub cashback_refunded: MoneyDto,
    /// What was paid back in money.
    pub money_refund: MoneyDto,
    /// Spent cashback kept from the money refund.
    pub cashback_withheld: MoneyDto,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseDetailView {
    pub id: String,
    pub customer_id: String,
    pub card_number: Option<String>,
    pub external_id: Option<String>,
    pub store: Option<String>,
    pub channel: Option<String>,
    pub total: MoneyDto,
    pub returned: MoneyDto,
    pub points_earned: i64,
    pub points_reversed: i64,
    pub cashback_earned: MoneyDto,
    pub cashback_reversed: MoneyDto,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: jiff::Timestamp,
    pub lines: Vec<StoredLineView>,
    pub returns: Vec<ReturnSummaryView>,
    /// The cart before discounts; `total` is the sale after them.
    pub cart_total: MoneyDto,
    /// Tier, free items and coupons together.
    pub discount: MoneyDto,
    /// The coupon codes used up by this purchase.
    pub coupons: Vec<String>,
    /// Points spent as payment, and what they and any cashback used were worth.
    pub points_redeemed: i64,
    pub redeemed_value: MoneyDto,
}

/// A purchase as stored: its lines (with what each earned and how much was returned) and
/// its returns. What a POS needs before posting a return.
#[utoipa::path(get, path = "/api/v1/purchases/{id}", tag = "ledger",
    params(("id" = String, Path)),
    responses((status = 200, body = PurchaseDetailView), (status = 404)),
    security(("api_key" = ["purchases.read"])))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PurchaseDetailView>> {
    let c = program_currency(&state, &auth).await?;
    let p = state
        .store
        .get_purchase(auth.program_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("purchase"))?;
    Ok(axum::Json(PurchaseDetailView {
        cart_total: MoneyDto::of(p.checkout.gross_minor, c),
        discount: MoneyDto::of(p.checkout.discount_minor, c),
        coupons: p.checkout.coupons,
        points_redeemed: p.checkout.points_redeemed,
        redeemed_value: MoneyDto::of(p.checkout.redeemed_value_minor, c),
        total: MoneyDto::of(p.total_minor, c),
        returned: MoneyDto::of(p.returned_minor, c),
        cashback_earned: MoneyDto::of(p.cashback_earned_minor, c),
        cashback_reversed: MoneyDto::of(p.cashback_reversed_minor, c),
        lines: p
            .lines
            .into_iter()
            .map(|l| StoredLineView {
                line: l.line_no,
                unit_price: MoneyDto::of(l.unit_price_minor, c),
                amount: MoneyDto::of(l.amount_minor, c),
                cashback: MoneyDto::of(l.cashback, c),
                sku: l.sku,
                name: l.name,
                category: l.category,
                quantity: l.quantity,
                points: l.points,
                returned_quantity: l.returned_quantity,
            })
            .collect(),
        returns: p
            .returns
            .into_iter()
            .map(|r| ReturnSummaryView {
                amount: MoneyDto::of(r.amount_minor, c),
                cashback_reversed: MoneyDto::of(r.cashback_reversed_minor, c),
                cashback_refunded: MoneyDto::of(r.cashback_refunded_minor, c),
                money_refund: MoneyDto::of(r.money_refund_minor, c),
                cashback_withheld: MoneyDto::of(r.cashback_withheld_minor, c),
                id: r.id,
                points_reversed: r.points_reversed,
                tier_gift_points_reversed: r.tier_gift_points_reversed,
                points_refunded: r.points_refunded,
                at: r.at,
            })
            .collect(),
        id: p.id,
        customer_id: p.customer_id,
        card_number: p.card_number,
        external_id: p.external_id,
        store: p.store,
        channel: p.channel,
        points_earned: p.points_earned,
        points_reversed: p.points_reversed,
        occurred_at: p.occurred_at,
        recorded_at: p.created_at,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseSummaryView {
    pub id: String,
    pub external_id: Option<String>,
    pub store: Option<String>,
    pub channel: Option<String>,
    /// The sale (after any checkout discounts).
    pub total: MoneyDto,
    pub returned: MoneyDto,
    pub points_earned: i64,
    pub points_reversed: i64,
    /// Points spent as payment at the checkout.
    pub points_redeemed: i64,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: jiff::Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchasePage {
    pub items: Vec<PurchaseSummaryView>,
    pub next_cursor: Option<String>,
}

/// The customer's purchases, newest recorded first: what a counter needs to find the one
/// being brought back (`GET /api/v1/purchases/{id}` then has its lines).
#[utoipa::path(get, path = "/api/v1/customers/{id}/purchases", tag = "ledger",
    params(("id" = String, Path), crate::api::points::LedgerQuery),
    responses((status = 200, body = PurchasePage), (status = 404)),
    security(("api_key" = ["purchases.read"])))]
pub async fn list_for_customer(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    crate::extract::Query(q): crate::extract::Query<crate::api::points::LedgerQuery>,
) -> ApiResult<axum::Json<PurchasePage>> {
    let c = program_currency(&state, &auth).await?;
    let page = state
        .store
        .customer_purchases(
            auth.program_id(),
            &id,
            &crate::api::customers::id_page_request(q.cursor, q.limit, "pur")?,
        )
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|p| PurchaseSummaryView {
            total: MoneyDto::of(p.total_minor, c),
            returned: MoneyDto::of(p.returned_minor, c),
            id: p.id,
            external_id: p.external_id,
            store: p.store,
            channel: p.channel,
            points_earned: p.points_earned,
            points_reversed: p.points_reversed,
            points_redeemed: p.points_redeemed,
            occurred_at: p.occurred_at,
        })
        .collect();
    Ok(axum::Json(PurchasePage {
        items,
        next_cursor: page.next_cursor,
    }))
}
