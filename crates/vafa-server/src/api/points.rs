//! A customer's points and cashback: balance, ledger, redemptions, adjustments, transfers.

use crate::api::customers::id_page_request;
use crate::api::money::{BalanceView, MoneyDto};
use crate::api::purchases::{program_currency, replay_headers};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Idempotent, Query};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::validate;
use vafa_store::Spend;

/// The most points one request may move: far above any real basket, far below overflow.
const MAX_POINTS: i64 = 1_000_000_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BalanceQuery {
    /// The instant to compute the balance at (default: now), e.g. to see what will have
    /// become available or expired by then. Now or later: today's lots are projected
    /// forward, so an earlier instant is refused rather than answered wrongly.
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<jiff::Timestamp>,
}

/// Points (available, pending, owed, expiring soon), cashback, and lifetime totals.
#[utoipa::path(get, path = "/api/v1/customers/{id}/balance", tag = "ledger",
    params(("id" = String, Path), BalanceQuery),
    responses((status = 200, body = BalanceView), (status = 404), (status = 422, description = "`at` is invalid or in the past; the problem names it")),
    security(("api_key" = ["ledger.read"])))]
pub async fn balance(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<BalanceQuery>,
) -> ApiResult<axum::Json<BalanceView>> {
    let currency = program_currency(&state, &auth).await?;
    let now = state.clock.now();
    let at = q.at.unwrap_or(now);
    // A minute's grace for a client whose clock runs a little behind ours.
    if at
        < now
            .saturating_sub(jiff::SignedDuration::from_mins(1))
            .unwrap_or(now)
    {
        return Err(ApiError::field("at", "must not be in the past"));
    }
    let b = state.store.balance(auth.program_id(), &id, at).await?;
    Ok(axum::Json(BalanceView::new(b, currency)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    pub id: String,
    /// `purchase`, `return`, `redemption`, `adjustment`, `transfer`, `expiry`, `event`,
    /// `tier_gift`, `goodwill`, `reward`, `reward_cancel` or `merge` (a duplicate's value
    /// moved to the customer it was merged into).
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    /// Change of the customer's points (pending included).
    pub points: i64,
    pub points_balance_after: Option<i64>,
    pub cashback: MoneyDto,
    pub cashback_balance_after: Option<MoneyDto>,
    /// The purchase it belongs to, if any.
    pub reference: Option<String>,
    /// Why: the rule, the reason given, the policy applied.
    #[schema(value_type = Object)]
    pub explanation: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPage {
    pub items: Vec<LedgerEntryView>,
    pub next_cursor: Option<String>,
}

/// The customer's journal entries, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/ledger", tag = "ledger",
    params(("id" = String, Path), LedgerQuery),
    responses((status = 200, body = LedgerPage), (status = 404), (status = 422, description = "`limit` or `cursor` is invalid; the problem names it")),
    security(("api_key" = ["ledger.read"])))]
pub async fn ledger(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<LedgerQuery>,
) -> ApiResult<axum::Json<LedgerPage>> {
    let currency = program_currency(&state, &auth).await?;
    let page = state
        .store
        .customer_ledger(
            auth.program_id(),
            &id,
            &id_page_request(q.cursor, q.limit, "ent")?,
        )
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|l| LedgerEntryView {
            id: l.entry_id,
            kind: l.kind,
            at: l.at,
            points: l.points,
            points_balance_after: l.points_balance_after,
            cashback: MoneyDto::of(l.cashback_minor, currency),
            cashback_balance_after: l.cashback_balance_after.map(|b| MoneyDto::of(b, currency)),
            reference: l.purchase_id,
            explanation: l.explanation,
        })
        .collect();
    Ok(axum::Json(LedgerPage {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// Spend points (`points`) or cashback (`cashback`) — exactly one — as payment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionInput {
    pub points: Option<i64>,
    pub cashback: Option<MoneyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionView {
    pub id: String,
    pub customer_id: String,
    pub points: i64,
    pub cashback: MoneyDto,
    /// What was spent is worth this much off the bill.
    pub value: MoneyDto,
    pub balance: BalanceView,
}

/// Spend points or cashback as payment, at the program's point value. Not enough is
/// `insufficient_points` (or `insufficient_cashback`), and nothing is written.
#[utoipa::path(post, path = "/api/v1/customers/{id}/redemptions", tag = "ledger", request_body = RedemptionInput,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = RedemptionView), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["points.redeem"])))]
pub async fn redeem(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    req: Idempotent<RedemptionInput>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<RedemptionView>)> {
    let currency = program_currency(&state, &auth).await?;
    let idem = req.idempotency(None);
    let spend = match (req.body.points, &req.body.cashback) {
        (Some(p), None) if (1..=MAX_POINTS).contains(&p) => Spend::Points(p),
        (Some(_), None) => {
            return Err(ApiError::field(
                "points",
                "must be between 1 and 1000000000",
            ))
        }
        (None, Some(m)) => match m.minor("cashback", currency)? {
            0 => return Err(ApiError::field("cashback.amount", "must be more than zero")),
            minor => Spend::CashbackMinor(minor),
        },
        _ => return Err(ApiError::field("points", "give either points or cashback")),
    };
    let out = state
        .store
        .redeem(&auth.ctx(&state), &id, spend, idem.as_ref())
        .await
        .map_err(|e| ApiError::short_of(e, "points", "cashback.amount"))?;
    let (status, headers) = replay_headers(&out);
    let o = out.value;
    Ok((
        status,
        headers,
        axum::Json(RedemptionView {
            id: o.redemption_id,
            customer_id: o.customer_id,
            points: o.points,
            cashback: MoneyDto::of(o.cashback_minor, currency),
            value: MoneyDto::of(o.value_minor, currency),
            balance: BalanceView::new(o.balance, currency),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// Positive credits, negative debits (never below the available balance).
    pub points: i64,
    /// Why, for the audit log and the customer's ledger.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentView {
    pub id: String,
    pub customer_id: String,
    pub points: i64,
    pub reason: String,
    pub balance: BalanceView,
}

/// Credit or debit points by hand, with a reason. Audited.
#[utoipa::path(post, path = "/api/v1/customers/{id}/adjustments", tag = "ledger", request_body = AdjustmentInput,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = AdjustmentView), (status = 404),
        (status = 409, description = "idempotency_conflict, customer_blocked, customer_closed"), (status = 422)),
    security(("api_key" = ["points.adjust"])))]
pub async fn adjust(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    req: Idempotent<AdjustmentInput>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<AdjustmentView>)> {
    let currency = program_currency(&state, &auth).await?;
    let idem = req.idempotency(None);
    let points = req.body.points;
    if points == 0 || points.unsigned_abs() > MAX_POINTS as u64 {
        return Err(ApiError::field(
            "points",
            "must be non-zero and at most 1000000000 either way",
        ));
    }
    let reason = match validate::short_text(&req.body.reason, 300) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(ApiError::field("reason", "an adjustment needs a reason")),
        Err(e) => return Err(ApiError::field("reason", e)),
    };
    let out = state
        .store
        .adjust(&auth.ctx(&state), &id, points, &reason, idem.as_ref())
        .await
        .map_err(|e| ApiError::short_of(e, "points", "points"))?;
    let (status, headers) = replay_headers(&out);
    let o = out.value;
    Ok((
        status,
        headers,
        axum::Json(AdjustmentView {
            id: o.adjustment_id,
            customer_id: o.customer_id,
            points: o.points,
            reason: o.reason,
            balance: BalanceView::new(o.balance, currency),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    pub to_customer_id: String,
    pub points: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferView {
    pub id: String,
    pub from_customer_id: String,
    pub to_customer_id: String,
    pub points: i64,
    /// The sender's balance after the transfer.
    pub balance: BalanceView,
}

/// Give points to another customer of the program (when the program allows it, up to
/// its limit). The receiver's points keep their original expiry.
#[utoipa::path(post, path = "/api/v1/customers/{id}/transfers", tag = "ledger", request_body = TransferInput,
    params(("id" = String, Path, description = "the sender"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = TransferView), (status = 404),
        (status = 409, description = "idempotency_conflict, customer_blocked, customer_closed"), (status = 422)),
    security(("api_key" = ["points.transfer"])))]
pub async fn transfer(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    req: Idempotent<TransferInput>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<TransferView>)> {
    let currency = program_currency(&state, &auth).await?;
    let idem = req.idempotency(None);
    if !(1..=MAX_POINTS).contains(&req.body.points) {
        return Err(ApiError::field(
            "points",
            "must be between 1 and 1000000000",
        ));
    }
    let to = req.body.to_customer_id.trim();
    let out = state
        .store
        .transfer(&auth.ctx(&state), &id, to, req.body.points, idem.as_ref())
        .await
        .map_err(|e| ApiError::short_of(e, "points", "points"))?;
    let (status, headers) = replay_headers(&out);
    let o = out.value;
    Ok((
        status,
        headers,
        axum::Json(TransferView {
            id: o.transfer_id,
            from_customer_id: o.from_customer_id,
            to_customer_id: o.to_customer_id,
            points: o.points,
            balance: BalanceView::new(o.from_balance, currency),
        }),
    ))
}
