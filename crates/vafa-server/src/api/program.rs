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
    let role: Role = input.role.parse().map_err(|e| ApiError::field("role", e))?;
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
