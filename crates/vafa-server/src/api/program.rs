//! `/api/v1/program` and `/api/v1/api-keys`: the caller's program and its keys.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::auth::Role;
use vafa_core::validate;
use vafa_store::ApiKeyInfo;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramView {
    pub id: String,
    pub name: String,
    /// ISO 4217 code; money amounts are strings in its minor unit scale.
    pub currency: String,
    /// IANA zone, e.g. `Asia/Tehran`.
    pub timezone: String,
    /// `fa` or `en`.
    pub locale: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    /// The role of the key that asked.
    pub role: String,
}

/// The caller's program, and the role its key acts with.
#[utoipa::path(get, path = "/api/v1/program", tag = "program",
    responses((status = 200, body = ProgramView)),
    security(("api_key" = ["program.read"])))]
pub async fn get(State(state): State<AppState>, auth: Auth) -> ApiResult<axum::Json<ProgramView>> {
    let p = state
        .store
        .get_program(auth.program_id())
        .await?
        .ok_or_else(|| ApiError::not_found("program"))?;
    Ok(axum::Json(ProgramView {
        id: p.id,
        name: p.name,
        currency: p.currency.code().to_owned(),
        timezone: p.timezone,
        locale: p.locale.as_str().to_owned(),
        created_at: p.created_at,
        role: auth.0.role.as_str().to_owned(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: Option<String>,
    pub role: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<jiff::Timestamp>,
}

impl From<ApiKeyInfo> for ApiKeyView {
    fn from(k: ApiKeyInfo) -> Self {
        ApiKeyView {
            id: k.id,
            name: k.name,
            role: k.role.as_str().to_owned(),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKeyView>,
}

/// The program's API keys (never their secrets).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "program",
    responses((status = 200, body = ApiKeyList)),
    security(("api_key" = ["apikeys.manage"])))]
pub async fn list_keys(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<ApiKeyList>> {
    let keys = state.store.list_api_keys(auth.program_id()).await?;
    Ok(axum::Json(ApiKeyList {
        keys: keys.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyInput {
    /// `admin`, `manager`, `cashier`, `partner` or `analyst`.
    pub role: String,
    /// A label, e.g. the till it lives on.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewKeyView {
    pub key_id: String,
    /// The secret, shown this once.
    pub api_key: String,
    pub role: String,
}

/// Create an API key; its secret is in this response only.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "program", request_body = NewKeyInput,
    responses((status = 201, body = NewKeyView), (status = 422)),
    security(("api_key" = ["apikeys.manage"])))]
pub async fn create_key(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<NewKeyInput>,
) -> ApiResult<(StatusCode, axum::Json<NewKeyView>)> {
    let role = Role::for_api_key(&input.role).map_err(|e| ApiError::field("role", e))?;
    let name = match input.name.as_deref().map(|n| validate::short_text(n, 80)) {
        None => None,
        Some(Ok(n)) => n,
        Some(Err(e)) => return Err(ApiError::field("name", e)),
    };
    let key = state
        .store
        .create_api_key(&auth.ctx(&state), role, name.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(NewKeyView {
            key_id: key.key_id,
            api_key: key.api_key,
            role: key.role.as_str().to_owned(),
        }),
    ))
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "program",
    params(("id" = String, Path)),
    responses((status = 200, body = ApiKeyView), (status = 404), (status = 409)),
    security(("api_key" = ["apikeys.manage"])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ApiKeyView>> {
    let key = state.store.revoke_api_key(&auth.ctx(&state), &id).await?;
    Ok(axum::Json(key.into()))
}

/// The program's ledger settings: the base earning rule, cashback, the value of a point,
/// the return window, expiry, the return policy and transfers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerSettingsDto {
    /// `earn_points` points for every `earn_per_minor` paid (minor units), rounded down.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub earn_points: i64,
    #[schema(minimum = 1)]
    pub earn_per_minor: i64,
    /// Percent, as a decimal string, e.g. "2.5".
    pub cashback_percent: String,
    /// What one point is worth when spent, in minor units, as a decimal string
    /// (0 to 10^14, the largest amount of money the ledger takes).
    pub point_value_minor: String,
    /// Days earned points stay pending (the return window). A purchase's expiry period
    /// starts when its points become available.
    #[schema(maximum = 365)]
    pub pending_days: u32,
    /// `{"kind":"never"}`, `{"kind":"days","days":N}`, `{"kind":"months","months":N}`,
    /// `{"kind":"end_of_month","calendar":"jalali"|"gregorian"}` (calendar left out: the program's own, by its locale), `{"kind":"end_of_year","calendar":"jalali"|"gregorian","years_after":N}`.
    #[schema(value_type = Object)]
    pub expiry: serde_json::Value,
    /// `only_pending`, `within_balance` or `allow_negative`.
    pub return_policy: String,
    pub transfers_enabled: bool,
    pub transfer_max_points: i64,
}

fn settings_view(s: &vafa_core::ledger::LedgerSettings) -> Result<LedgerSettingsDto, ApiError> {
    serde_json::to_value(s)
        .and_then(serde_json::from_value)
        .map_err(|e| ApiError::internal("settings view", e))
}

/// The program's ledger settings.
#[utoipa::path(get, path = "/api/v1/program/ledger-settings", tag = "program",
    responses((status = 200, body = LedgerSettingsDto)),
    security(("api_key" = ["program.read"])))]
pub async fn get_ledger_settings(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<LedgerSettingsDto>> {
    let s = state.store.ledger_settings(auth.program_id()).await?;
    Ok(axum::Json(settings_view(&s)?))
}

/// Replace the program's ledger settings. They apply to what happens from now on; points
/// already earned keep their dates.
#[utoipa::path(put, path = "/api/v1/program/ledger-settings", tag = "program", request_body = LedgerSettingsDto,
    responses((status = 200, body = LedgerSettingsDto), (status = 422)),
    security(("api_key" = ["program.manage"])))]
pub async fn put_ledger_settings(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<LedgerSettingsDto>,
) -> ApiResult<axum::Json<LedgerSettingsDto>> {
    let raw = serde_json::to_vec(&input).map_err(|e| ApiError::internal("settings", e))?;
    let settings: vafa_core::ledger::LedgerSettings = crate::extract::parse_json(&raw)?;
    settings.validate()?;
    let saved = state
        .store
        .set_ledger_settings(&auth.ctx(&state), &settings)
        .await?;
    Ok(axum::Json(settings_view(&saved)?))
}

/// How the admin UI shows the program's money (toman or rial) and dates (Jalali or
/// Gregorian).
#[utoipa::path(get, path = "/api/v1/program/display-settings", tag = "program",
    responses((status = 200, body = vafa_store::DisplaySettings)),
    security(("api_key" = ["program.read"])))]
pub async fn get_display_settings(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<vafa_store::DisplaySettings>> {
    Ok(axum::Json(
        state.store.display_settings(auth.program_id()).await?,
    ))
}

/// Replace how the admin UI shows the program's money and dates.
#[utoipa::path(put, path = "/api/v1/program/display-settings", tag = "program",
    request_body = vafa_store::DisplaySettings,
    responses((status = 200, body = vafa_store::DisplaySettings), (status = 422)),
    security(("api_key" = ["program.manage"])))]
pub async fn put_display_settings(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<vafa_store::DisplaySettings>,
) -> ApiResult<axum::Json<vafa_store::DisplaySettings>> {
    Ok(axum::Json(
        state
            .store
            .set_display_settings(&auth.ctx(&state), &input)
            .await?,
    ))
}
