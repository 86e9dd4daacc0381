//! `/api/v1/audit`: who changed what, newest first.

use crate::api::customers::id_page_request;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Query;
use crate::AppState;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_store::AuditEntry;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    /// `api_key` or `cli`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    /// e.g. `customer.merged`, `card.blocked`, `api_key.revoked`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// What changed: field names, counts, reasons — not personal values.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
}

impl From<AuditEntry> for AuditView {
    fn from(a: AuditEntry) -> Self {
        AuditView {
            id: a.id,
            at: a.at,
            actor_kind: a.actor_kind,
            actor_id: a.actor_id,
            actor_role: a.actor_role,
            action: a.action,
            target_type: a.target_type,
            target_id: a.target_id,
            summary: a.summary,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditView>,
    pub next_cursor: Option<String>,
}

/// The audit log of the program.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage)),
    security(("api_key" = ["audit.read"])))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<AuditPage>> {
    let page = state
        .store
        .list_audit(
            auth.program_id(),
            &id_page_request(q.cursor, q.limit, vafa_store::ids::AUDIT)?,
        )
        .await?;
    Ok(axum::Json(AuditPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}
