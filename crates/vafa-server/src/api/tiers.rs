//! `/api/v1/tiers`: the program's tier ladder and its periodic evaluation;
//! `/api/v1/customers/{id}/tier`: where a customer stands, the history, and manual
//! overrides. The ladder's semantics are in `vafa_core::tiers` and `docs/tiers.md`.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::tiers::TierLadder;
use vafa_core::validate;
use vafa_store::{CustomerTier, TierChange, TierOverride, TierRun};

/// The program's ladder.
#[utoipa::path(get, path = "/api/v1/tiers", tag = "tiers",
    responses((status = 200, body = Object, description = "the ladder: metric, window, grace_days, tiers"), (status = 404)),
    security(("api_key" = ["program.read"])))]
pub async fn get_ladder(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<TierLadder>> {
    let ladder = state.store.tier_ladder(auth.program_id()).await?;
    Ok(axum::Json(
        ladder.ok_or_else(|| ApiError::not_found("tier ladder"))?,
    ))
}

/// Set the program's ladder. Thresholds rise from 0; codes are stable identifiers.
#[utoipa::path(put, path = "/api/v1/tiers", tag = "tiers", request_body = Object,
    responses((status = 200, body = Object), (status = 422)),
    security(("api_key" = ["tiers.manage"])))]
pub async fn put_ladder(
    State(state): State<AppState>,
    auth: Auth,
    Json(ladder): Json<TierLadder>,
) -> ApiResult<axum::Json<TierLadder>> {
    ladder.validate()?;
    for (i, t) in ladder.tiers.iter().enumerate() {
        validate::short_text(&t.name, 64)
            .map_err(|e| ApiError::field(&format!("tiers[{i}].name"), e))?;
    }
    Ok(axum::Json(
        state
            .store
            .set_tier_ladder(&auth.ctx(&state), &ladder)
            .await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierStanding {
    /// The tier now: code, names, threshold and benefits.
    #[schema(value_type = Object)]
    pub tier: vafa_core::tiers::Tier,
    pub level: usize,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<jiff::Timestamp>,
    /// Below this tier since then: a downgrade follows when the grace period ends.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub below_since: Option<jiff::Timestamp>,
    /// A manual override holds the tier until then.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub pinned_until: Option<jiff::Timestamp>,
    /// `spend` (minor units) or `earned_points`.
    pub metric: String,
    /// The qualifying window's start (none for lifetime), and the value in it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub window_start: Option<jiff::Timestamp>,
    pub qualifying: i64,
    /// The next tier and how much more qualifying value it needs (none at the top).
    pub next: Option<NextTierView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextTierView {
    pub code: String,
    pub name: String,
    pub threshold: i64,
    pub needed: i64,
    /// Percent of the way from this tier's threshold to the next one's.
    pub progress_percent: f64,
}

impl TierStanding {
    pub fn new(t: CustomerTier) -> Self {
        let next = t.next.map(|n| {
            let span = (n.threshold - t.tier.threshold).max(1) as f64;
            let done =
                (t.qualifying - t.tier.threshold).clamp(0, n.threshold - t.tier.threshold) as f64;
            NextTierView {
                progress_percent: (done * 1000.0 / span).round() / 10.0,
                code: n.code,
                name: n.name,
                threshold: n.threshold,
                needed: n.needed,
            }
        });
        TierStanding {
            tier: t.tier,
            level: t.level,
            since: t.since,
            below_since: t.below_since,
            pinned_until: t.pinned_until,
            metric: match t.metric {
                vafa_core::tiers::TierMetric::Spend => "spend".into(),
                vafa_core::tiers::TierMetric::EarnedPoints => "earned_points".into(),
            },
            window_start: t.window_start,
            qualifying: t.qualifying,
            next,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerTierView {
    pub customer_id: String,
    pub standing: TierStanding,
    /// Every change, newest first.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<TierChange>,
}

/// Where the customer stands: tier, progress to the next, grace, history.
#[utoipa::path(get, path = "/api/v1/customers/{id}/tier", tag = "tiers",
    params(("id" = String, Path)),
    responses((status = 200, body = CustomerTierView), (status = 404)),
    security(("api_key" = ["customers.read"])))]
pub async fn customer_tier(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CustomerTierView>> {
    let standing = state
        .store
        .customer_tier(auth.program_id(), &id, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found("tier ladder"))?;
    let history = state.store.tier_history(auth.program_id(), &id).await?;
    Ok(axum::Json(CustomerTierView {
        customer_id: id,
        standing: TierStanding::new(standing),
        history,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierOverrideInput {
    /// The tier's code.
    pub tier: String,
    /// Why, for the history and the audit log.
    pub reason: String,
    /// Hold the tier until then (no downgrade before it).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<jiff::Timestamp>,
}

/// Put a customer on a tier by hand, with a reason. Audited; no entry gift.
#[utoipa::path(post, path = "/api/v1/customers/{id}/tier", tag = "tiers", request_body = TierOverrideInput,
    params(("id" = String, Path)),
    responses((status = 201, body = Object), (status = 404), (status = 409, description = "The customer is erased or merged"), (status = 422)),
    security(("api_key" = ["tiers.manage"])))]
pub async fn override_tier(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<TierOverrideInput>,
) -> ApiResult<(StatusCode, axum::Json<TierChange>)> {
    let reason = match validate::short_text(&input.reason, 300) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(ApiError::field("reason", "an override needs a reason")),
        Err(e) => return Err(ApiError::field("reason", e)),
    };
    let ladder = state
        .store
        .tier_ladder(auth.program_id())
        .await?
        .ok_or_else(|| ApiError::not_found("tier ladder"))?;
    if ladder.index_of(&input.tier).is_none() {
        return Err(ApiError::field(
            "tier",
            "not a tier of this program's ladder",
        ));
    }
    let now = state.clock.now();
    if input.until.is_some_and(|u| u <= now) {
        return Err(ApiError::field("until", "must be in the future"));
    }
    let change = state
        .store
        .override_tier(
            &auth.ctx(&state),
            &id,
            &TierOverride {
                tier: input.tier,
                reason,
                until: input.until,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(change)))
}

/// Run the periodic evaluation now (the server also runs it every hour).
#[utoipa::path(post, path = "/api/v1/tiers/evaluate", tag = "tiers",
    responses((status = 200, body = Object, description = "evaluated, upgraded, downgraded, in_grace")),
    security(("api_key" = ["tiers.manage"])))]
pub async fn evaluate(State(state): State<AppState>, auth: Auth) -> ApiResult<axum::Json<TierRun>> {
    Ok(axum::Json(
        state.store.evaluate_tiers(&auth.ctx(&state)).await?,
    ))
}
