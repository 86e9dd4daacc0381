//! `/api/v1/rewards`: the catalog; `/api/v1/customers/{id}/rewards`: claiming (points
//! spent through the journal) and the customer's claims; `/api/v1/reward-codes/{code}/use`
//! for the counter; cancelling and fulfilment. See `docs/rewards.md`.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Idempotent, Json};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::rewards::RewardDef;
use vafa_core::validate;
use vafa_store::{Reward, RewardClaim};

#[derive(Debug, Serialize, ToSchema)]
pub struct RewardView {
    pub id: String,
    #[schema(value_type = Object)]
    pub definition: RewardDef,
    pub stock_left: Option<i64>,
    /// `active` or `retired`.
    pub status: String,
    pub claimed: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

impl From<Reward> for RewardView {
    fn from(r: Reward) -> Self {
        RewardView {
            id: r.id,
            definition: r.def,
            stock_left: r.stock_left,
            status: r.status,
            claimed: r.claimed,
            created_at: r.created_at,
        }
    }
}

/// Add a reward to the catalog.
#[utoipa::path(post, path = "/api/v1/rewards", tag = "rewards", request_body = Object,
    responses((status = 201, body = RewardView), (status = 422)),
    security(("api_key" = ["rewards.manage"])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Json(def): Json<RewardDef>,
) -> ApiResult<(StatusCode, axum::Json<RewardView>)> {
    def.validate()?;
    validate::short_text(&def.name, 100).map_err(|e| ApiError::field("name", e))?;
    let ladder = state.store.tier_ladder(auth.program_id()).await?;
    let codes: Vec<&str> = ladder
        .iter()
        .flat_map(|l| l.tiers.iter().map(|t| t.code.as_str()))
        .collect();
    def.check_tiers(&codes)?;
    let r = state.store.create_reward(&auth.ctx(&state), &def).await?;
    Ok((StatusCode::CREATED, axum::Json(r.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RewardList {
    pub items: Vec<RewardView>,
}

/// The catalog, retired rewards included (their `status` says so).
#[utoipa::path(get, path = "/api/v1/rewards", tag = "rewards",
    responses((status = 200, body = RewardList)),
    security(("api_key" = ["program.read"])))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<axum::Json<RewardList>> {
    let items = state.store.list_rewards(auth.program_id()).await?;
    Ok(axum::Json(RewardList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/rewards/{id}", tag = "rewards",
    params(("id" = String, Path)),
    responses((status = 200, body = RewardView), (status = 404)),
    security(("api_key" = ["program.read"])))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RewardView>> {
    let r = state
        .store
        .get_reward(auth.program_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("reward"))?;
    Ok(axum::Json(r.into()))
}

/// Retire a reward: no new claims; claims already made stay valid.
#[utoipa::path(delete, path = "/api/v1/rewards/{id}", tag = "rewards",
    params(("id" = String, Path)),
    responses((status = 200, body = RewardView), (status = 404)),
    security(("api_key" = ["rewards.manage"])))]
pub async fn retire(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RewardView>> {
    Ok(axum::Json(
        state
            .store
            .retire_reward(&auth.ctx(&state), &id)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    pub reward_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimView {
    pub id: String,
    pub reward_id: String,
    pub reward_name: String,
    pub customer_id: String,
    /// The single-use code to show at the counter.
    pub code: String,
    pub points: i64,
    /// The journal entry that spent the points.
    pub entry_id: String,
    /// `issued`, `used`, `cancelled`, or `expired` (left unused past `expires_at`; the
    /// expiry job marks it and puts its unit back in stock).
    pub status: String,
    /// Physical gifts: `pending`, `packed`, `shipped`, `delivered`.
    pub fulfilment: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub used_at: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<jiff::Timestamp>,
    pub cancel_reason: Option<String>,
    pub refund_entry_id: Option<String>,
}

impl From<RewardClaim> for ClaimView {
    fn from(c: RewardClaim) -> Self {
        ClaimView {
            id: c.id,
            reward_id: c.reward_id,
            reward_name: c.reward_name,
            customer_id: c.customer_id,
            code: c.code,
            points: c.points,
            entry_id: c.entry_id,
            status: c.status,
            fulfilment: c.fulfilment,
            expires_at: c.expires_at,
            created_at: c.created_at,
            used_at: c.used_at,
            cancelled_at: c.cancelled_at,
            cancel_reason: c.cancel_reason,
            refund_entry_id: c.refund_entry_id,
        }
    }
}

/// Spend the customer's points on a reward: one journal entry, and a code to use.
#[utoipa::path(post, path = "/api/v1/customers/{id}/rewards", tag = "rewards", request_body = ClaimInput,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = ClaimView), (status = 404), (status = 409, description = "The customer is blocked, erased or merged"), (status = 422)),
    security(("api_key" = ["points.redeem"])))]
pub async fn claim(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    req: Idempotent<ClaimInput>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<ClaimView>)> {
    let idem = req.idempotency(None);
    let out = state
        .store
        .claim_reward(
            &auth.ctx(&state),
            req.body.reward_id.trim(),
            &id,
            idem.as_ref(),
        )
        .await?;
    let (status, headers) = crate::api::purchases::replay_headers(&out);
    Ok((status, headers, axum::Json(out.value.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimList {
    pub items: Vec<ClaimView>,
}

/// The customer's claims, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/rewards", tag = "rewards",
    params(("id" = String, Path)),
    responses((status = 200, body = ClaimList), (status = 404)),
    security(("api_key" = ["ledger.read"])))]
pub async fn claims(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ClaimList>> {
    if state
        .store
        .get_customer(auth.program_id(), &id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("customer"));
    }
    let items = state
        .store
        .customer_reward_claims(auth.program_id(), &id)
        .await?;
    Ok(axum::Json(ClaimList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// The counter consumes a reward code: once, before it expires.
#[utoipa::path(post, path = "/api/v1/reward-codes/{code}/use", tag = "rewards",
    params(("code" = String, Path)),
    responses((status = 200, body = ClaimView), (status = 404), (status = 409)),
    security(("api_key" = ["points.redeem"])))]
pub async fn use_code(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<ClaimView>> {
    let code = vafa_core::coupons::normalize(&code);
    Ok(axum::Json(
        state
            .store
            .use_reward_code(&auth.ctx(&state), &code)
            .await?
            .into(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeCheckView {
    /// True when the code can be used now.
    pub usable: bool,
    /// Why not, when it cannot.
    pub reason: Option<String>,
    pub claim: ClaimView,
}

/// Look a reward code up before using it: whose it is, what it is for, and whether it
/// can be used now. Nothing is written.
#[utoipa::path(get, path = "/api/v1/reward-codes/{code}", tag = "rewards",
    params(("code" = String, Path)),
    responses((status = 200, body = CodeCheckView), (status = 404)),
    security(("api_key" = ["points.redeem"])))]
pub async fn check_code(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<CodeCheckView>> {
    let code = vafa_core::coupons::normalize(&code);
    let claim = state
        .store
        .reward_claim_by_code(auth.program_id(), &code)
        .await?
        .ok_or_else(|| ApiError::not_found("reward code"))?;
    let mut reason = match claim.status.as_str() {
        "used" => Some("already used".to_owned()),
        "cancelled" => Some("the claim was cancelled".to_owned()),
        _ if claim.status == "expired" || claim.expires_at <= state.clock.now() => {
            Some(format!("expired at {}", claim.expires_at))
        }
        _ => None,
    };
    // Otherwise usable: using it would still be refused (`customer_closed`) for an erased
    // holder, so say so before the cashier tries.
    if reason.is_none() {
        let holder = state
            .store
            .get_customer(auth.program_id(), &claim.customer_id)
            .await?;
        if holder.is_some_and(|c| c.status == vafa_core::customer::CustomerStatus::Erased) {
            reason = Some("the customer's record was erased".to_owned());
        }
    }
    Ok(axum::Json(CodeCheckView {
        usable: reason.is_none(),
        reason,
        claim: claim.into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    pub reason: String,
}

/// Cancel an unused claim: its points come back as a new lot, with its unit of stock.
#[utoipa::path(post, path = "/api/v1/reward-claims/{id}/cancel", tag = "rewards", request_body = CancelInput,
    params(("id" = String, Path)),
    responses((status = 200, body = ClaimView), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["rewards.manage"])))]
pub async fn cancel(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<CancelInput>,
) -> ApiResult<axum::Json<ClaimView>> {
    let reason = match validate::short_text(&input.reason, 300) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(ApiError::field("reason", "cancelling needs a reason")),
        Err(e) => return Err(ApiError::field("reason", e)),
    };
    Ok(axum::Json(
        state
            .store
            .cancel_reward_claim(&auth.ctx(&state), &id, &reason)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilmentInput {
    /// `pending`, `packed`, `shipped` or `delivered`.
    pub fulfilment: String,
}

/// Move a physical gift along: pending, packed, shipped, delivered.
#[utoipa::path(put, path = "/api/v1/reward-claims/{id}/fulfilment", tag = "rewards", request_body = FulfilmentInput,
    params(("id" = String, Path)),
    responses((status = 200, body = ClaimView), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["rewards.manage"])))]
pub async fn fulfilment(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<FulfilmentInput>,
) -> ApiResult<axum::Json<ClaimView>> {
    if !vafa_core::rewards::FULFILMENT.contains(&input.fulfilment.as_str()) {
        return Err(ApiError::field(
            "fulfilment",
            "must be pending, packed, shipped or delivered",
        ));
    }
    Ok(axum::Json(
        state
            .store
            .set_reward_fulfilment(&auth.ctx(&state), &id, &input.fulfilment)
            .await?
            .into(),
    ))
}
