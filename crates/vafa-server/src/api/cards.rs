//! `/api/v1/cards`: issue personal or bearer cards, look them up, bind, block, replace.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::card::CardNumber;
use vafa_core::validate;
use vafa_store::{Card, CardDetail, CardEvent, IssueCards};

#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    pub id: String,
    /// 16 digits, the last a Luhn check digit.
    pub number: String,
    /// Grouped for print: `7012 3456 7890 1238`.
    pub number_display: String,
    /// `personal` (bound at issue) or `bearer` (whoever holds it).
    pub kind: String,
    /// `active`, `blocked` or `replaced`.
    pub status: String,
    pub customer_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub issued_at: jiff::Timestamp,
    pub status_reason: Option<String>,
    /// Number of the card that replaced this one.
    pub replaced_by: Option<String>,
}

impl From<Card> for CardView {
    fn from(c: Card) -> Self {
        CardView {
            number_display: c.number.display(),
            number: c.number.as_str().to_owned(),
            kind: c.kind.as_str().to_owned(),
            status: c.status.as_str().to_owned(),
            id: c.id,
            customer_id: c.customer_id,
            issued_at: c.issued_at,
            status_reason: c.status_reason,
            replaced_by: c.replaced_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardEventView {
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    /// `issued`, `bound`, `blocked`, `replaced` or `moved` (by a merge).
    pub event: String,
    pub customer_id: Option<String>,
    pub detail: Option<String>,
    /// The API key that did it.
    pub actor_id: Option<String>,
}

impl From<CardEvent> for CardEventView {
    fn from(e: CardEvent) -> Self {
        CardEventView {
            at: e.at,
            event: e.event,
            customer_id: e.customer_id,
            detail: e.detail,
            actor_id: e.actor_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardDetailView {
    #[serde(flatten)]
    pub card: CardView,
    pub history: Vec<CardEventView>,
}

impl From<CardDetail> for CardDetailView {
    fn from(d: CardDetail) -> Self {
        CardDetailView {
            card: d.card.into(),
            history: d.history.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardList {
    pub cards: Vec<CardView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCardsInput {
    /// Issue one personal card bound to this customer.
    pub customer_id: Option<String>,
    /// Without `customer_id`: how many bearer cards to issue (1–10000, default 1).
    #[schema(minimum = 1, maximum = 10000)]
    pub count: Option<u32>,
}

fn card_number(raw: &str) -> Result<CardNumber, ApiError> {
    CardNumber::parse(raw).map_err(|e| ApiError::field("number", e))
}

fn reason(raw: &str) -> Result<String, ApiError> {
    match validate::short_text(raw, 200) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(ApiError::field("reason", "must not be empty")),
        Err(e) => Err(ApiError::field("reason", e)),
    }
}

/// Issue cards: one personal card for a customer, or a batch of bearer cards.
#[utoipa::path(post, path = "/api/v1/cards", tag = "cards", request_body = IssueCardsInput,
    responses((status = 201, body = CardList), (status = 404, description = "no such customer"), (status = 422)),
    security(("api_key" = ["cards.issue"])))]
pub async fn issue(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<IssueCardsInput>,
) -> ApiResult<(StatusCode, axum::Json<CardList>)> {
    let count = input.count.unwrap_or(1);
    if input.customer_id.is_some() && count != 1 {
        return Err(ApiError::field(
            "count",
            "a personal card is issued one at a time; leave count out",
        ));
    }
    if !(1..=IssueCards::MAX_BATCH).contains(&count) {
        return Err(ApiError::field(
            "count",
            format!("must be between 1 and {}", IssueCards::MAX_BATCH),
        ));
    }
    let request = IssueCards {
        customer_id: input.customer_id,
        count,
    };
    let cards = state.store.issue_cards(&auth.ctx(&state), &request).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CardList {
            cards: cards.into_iter().map(Into::into).collect(),
        }),
    ))
}

/// Look a card up by its number, with its history.
#[utoipa::path(get, path = "/api/v1/cards/{number}", tag = "cards",
    params(("number" = String, Path)),
    responses((status = 200, body = CardDetailView), (status = 404), (status = 422, description = "not a card number")),
    security(("api_key" = ["cards.read"])))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(number): Path<String>,
) -> ApiResult<axum::Json<CardDetailView>> {
    let number = card_number(&number)?;
    let detail = state
        .store
        .get_card(auth.program_id(), &number)
        .await?
        .ok_or_else(|| ApiError::not_found("card"))?;
    Ok(axum::Json(detail.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindInput {
    pub customer_id: String,
}

/// Bind a bearer card to a customer.
#[utoipa::path(post, path = "/api/v1/cards/{number}/bind", tag = "cards",
    params(("number" = String, Path)), request_body = BindInput,
    responses((status = 200, body = CardView), (status = 404), (status = 409)),
    security(("api_key" = ["cards.issue"])))]
pub async fn bind(
    State(state): State<AppState>,
    auth: Auth,
    Path(number): Path<String>,
    Json(input): Json<BindInput>,
) -> ApiResult<axum::Json<CardView>> {
    let number = card_number(&number)?;
    let card = state
        .store
        .bind_card(&auth.ctx(&state), &number, input.customer_id.trim())
        .await?;
    Ok(axum::Json(card.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    /// Why, e.g. "lost" or "stolen".
    pub reason: String,
}

/// Block a card (lost, stolen, misused).
#[utoipa::path(post, path = "/api/v1/cards/{number}/block", tag = "cards",
    params(("number" = String, Path)), request_body = ReasonInput,
    responses((status = 200, body = CardView), (status = 404), (status = 409)),
    security(("api_key" = ["cards.manage"])))]
pub async fn block(
    State(state): State<AppState>,
    auth: Auth,
    Path(number): Path<String>,
    Json(input): Json<ReasonInput>,
) -> ApiResult<axum::Json<CardView>> {
    let number = card_number(&number)?;
    let reason = reason(&input.reason)?;
    let card = state
        .store
        .block_card(&auth.ctx(&state), &number, &reason)
        .await?;
    Ok(axum::Json(card.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplacementView {
    pub old: CardView,
    pub new: CardView,
}

/// Replace a card: the old one becomes `replaced`, a new one goes to the same holder.
#[utoipa::path(post, path = "/api/v1/cards/{number}/replace", tag = "cards",
    params(("number" = String, Path)), request_body = ReasonInput,
    responses((status = 201, body = ReplacementView), (status = 404), (status = 409)),
    security(("api_key" = ["cards.manage"])))]
pub async fn replace(
    State(state): State<AppState>,
    auth: Auth,
    Path(number): Path<String>,
    Json(input): Json<ReasonInput>,
) -> ApiResult<(StatusCode, axum::Json<ReplacementView>)> {
    let number = card_number(&number)?;
    let reason = reason(&input.reason)?;
    let r = state
        .store
        .replace_card(&auth.ctx(&state), &number, &reason)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ReplacementView {
            old: r.old.into(),
            new: r.new.into(),
        }),
    ))
}
