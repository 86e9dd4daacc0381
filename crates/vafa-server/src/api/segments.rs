//! `/api/v1/segments`: dynamic segments (a CEL condition over the customer's profile and
//! behaviour, combined with other segments), their preview count, member export as CSV
//! or JSON, and snapshots of their members at a moment.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;
use vafa_core::analytics::segment::{combine, SegmentDef};
use vafa_core::rules::expr::EvalContext;
use vafa_store::{SegmentCandidate, SegmentRecord};

/// How deep segments may include segments.
const MAX_DEPTH: usize = 5;

struct Population {
    candidates: Vec<SegmentCandidate>,
    defs: HashMap<String, SegmentDef>,
    at: jiff::Timestamp,
    tz: jiff::tz::TimeZone,
    calendar: vafa_core::ledger::CalendarKind,
}

async fn population(
    state: &AppState,
    auth: &Auth,
    at: Option<jiff::Timestamp>,
) -> Result<Population, ApiError> {
    let program = state
        .store
        .get_program(auth.program_id())
        .await?
        .ok_or_else(|| ApiError::not_found("program"))?;
    let tz = jiff::tz::TimeZone::get(&program.timezone)
        .map_err(|e| ApiError::internal("program timezone", &e))?;
    let at = at.unwrap_or_else(|| state.clock.now());
    let candidates = state
        .store
        .segment_population(auth.program_id(), at)
        .await?;
    let defs = state
        .store
        .list_segments(auth.program_id(), None)
        .await?
        .into_iter()
        .map(|s| (s.id, s.def))
        .collect();
    Ok(Population {
        candidates,
        defs,
        at,
        tz,
        calendar: vafa_store::calendar_of(program.locale),
    })
}

impl Population {
    /// Members of `def`, resolving included and excluded segments (no cycles, bounded depth).
    fn members(
        &self,
        def: &SegmentDef,
        stack: &mut Vec<String>,
    ) -> Result<HashSet<String>, ApiError> {
        if stack.len() > MAX_DEPTH {
            return Err(ApiError::field(
                "include",
                format!("segments nest deeper than {MAX_DEPTH}"),
            ));
        }
        let condition = def.validate()?;
        let matched = condition.map(|c| {
            self.candidates
                .iter()
                .filter(|cand| {
                    let ctx =
                        EvalContext::new(None, None, &cand.facts, self.at, &self.tz, self.calendar);
                    c.eval(&ctx).unwrap_or(false)
                })
                .map(|cand| cand.customer.id.clone())
                .collect::<HashSet<String>>()
        });
        let part = |id: &String,
                    field: &str,
                    stack: &mut Vec<String>|
         -> Result<HashSet<String>, ApiError> {
            if stack.contains(id) {
                return Err(ApiError::field(
                    field,
                    format!("segment {id} includes itself"),
                ));
            }
            let d = self
                .defs
                .get(id)
                .ok_or_else(|| ApiError::field(field, format!("no segment {id}")))?;
            stack.push(id.clone());
            let m = self.members(d, stack);
            stack.pop();
            m
        };
        let included = def
            .include
            .iter()
            .map(|id| part(id, "include", stack))
            .collect::<Result<Vec<_>, _>>()?;
        let excluded = def
            .exclude
            .iter()
            .map(|id| part(id, "exclude", stack))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(combine(matched, included, &excluded, def.combine))
    }

    /// Members in a stable order (by id).
    fn sorted(&self, ids: &HashSet<String>) -> Vec<&SegmentCandidate> {
        let mut v: Vec<&SegmentCandidate> = self
            .candidates
            .iter()
            .filter(|c| ids.contains(&c.customer.id))
            .collect();
        v.sort_by(|a, b| a.customer.id.cmp(&b.customer.id));
        v
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// Evaluate as of this instant (default now): purchases after it do not count.
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<jiff::Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentView {
    pub id: String,
    /// `name`, `condition` (CEL), `include`, `combine` (`intersection` or `union`), `exclude`.
    #[schema(value_type = Object)]
    pub definition: SegmentDef,
    /// Members now (or at `at`).
    pub members: Option<usize>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

fn view(s: SegmentRecord, members: Option<usize>) -> SegmentView {
    SegmentView {
        id: s.id,
        definition: s.def,
        members,
        created_at: s.created_at,
    }
}

/// Save a segment; the answer carries its member count.
#[utoipa::path(post, path = "/api/v1/segments", tag = "segments",
    request_body(content = Object, description = "name, condition (CEL over customer and time), include, combine, exclude"),
    responses((status = 201, body = SegmentView), (status = 422)),
    security(("api_key" = ["segments.manage"])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Json(def): Json<SegmentDef>,
) -> ApiResult<(StatusCode, axum::Json<SegmentView>)> {
    def.validate()?;
    let pop = population(&state, &auth, None).await?;
    let n = pop.members(&def, &mut Vec::new())?.len();
    let rec = state.store.create_segment(&auth.ctx(&state), &def).await?;
    Ok((StatusCode::CREATED, axum::Json(view(rec, Some(n)))))
}

/// Every saved segment (definitions; ask one segment for its count).
#[utoipa::path(get, path = "/api/v1/segments", tag = "segments",
    responses((status = 200, body = Vec<SegmentView>)),
    security(("api_key" = ["analytics.read"])))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<Vec<SegmentView>>> {
    let list = state.store.list_segments(auth.program_id(), None).await?;
    Ok(axum::Json(
        list.into_iter().map(|s| view(s, None)).collect(),
    ))
}

async fn one(state: &AppState, auth: &Auth, id: &str) -> Result<SegmentRecord, ApiError> {
    state
        .store
        .list_segments(auth.program_id(), Some(id))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("segment"))
}

/// A segment with its member count now (or at `at`).
#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "segments",
    params(("id" = String, Path), AtQuery), responses((status = 200, body = SegmentView), (status = 404)),
    security(("api_key" = ["analytics.read"])))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<AtQuery>,
) -> ApiResult<axum::Json<SegmentView>> {
    let rec = one(&state, &auth, &id).await?;
    let pop = population(&state, &auth, q.at).await?;
    let n = pop.members(&rec.def, &mut vec![rec.id.clone()])?.len();
    Ok(axum::Json(view(rec, Some(n))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    pub members: usize,
    /// Up to 20 members (by id).
    pub sample: Vec<String>,
}

/// Count a definition's members without saving it: the live count of a segment builder.
#[utoipa::path(post, path = "/api/v1/segments/preview", tag = "segments",
    params(AtQuery), request_body(content = Object, description = "a segment definition"),
    responses((status = 200, body = PreviewView), (status = 422)),
    security(("api_key" = ["analytics.read"])))]
pub async fn preview(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AtQuery>,
    Json(def): Json<SegmentDef>,
) -> ApiResult<axum::Json<PreviewView>> {
    let pop = population(&state, &auth, q.at).await?;
    let ids = pop.members(&def, &mut Vec::new())?;
    let sample = pop
        .sorted(&ids)
        .into_iter()
        .take(20)
        .map(|c| c.customer.id.clone())
        .collect();
    Ok(axum::Json(PreviewView {
        members: ids.len(),
        sample,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<jiff::Timestamp>,
    /// `json` (default), `csv` (every member, for a spreadsheet or an SMS tool) or `jsonl`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub city: Option<String>,
    pub tags: Vec<String>,
    pub purchases: i64,
    pub monetary_minor: i64,
    pub points_balance: i64,
}

fn member(c: &SegmentCandidate) -> MemberView {
    MemberView {
        id: c.customer.id.clone(),
        first_name: c.customer.first_name.clone(),
        last_name: c.customer.last_name.clone(),
        mobile: c.customer.mobile.as_ref().map(|m| m.as_e164().to_owned()),
        email: c.customer.email.clone(),
        city: c.customer.city.clone(),
        tags: c
            .customer
            .tags
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        purchases: c.facts.purchase_count,
        monetary_minor: c.facts.monetary_minor,
        points_balance: c.facts.points_balance,
    }
}

/// A segment's members, as JSON or as a CSV download (UTF-8 with a byte-order mark, so
/// spreadsheet programs show Persian names right).
#[utoipa::path(get, path = "/api/v1/segments/{id}/members", tag = "segments",
    params(("id" = String, Path), MembersQuery),
    responses((status = 200, body = Vec<MemberView>, description = "JSON, or text/csv with format=csv"), (status = 404)),
    security(("api_key" = ["analytics.read"])))]
pub async fn members(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<MembersQuery>,
) -> ApiResult<Response> {
    let format = q.format.unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv" | "jsonl") {
        return Err(ApiError::field("format", "must be json, csv or jsonl"));
    }
    let rec = one(&state, &auth, &id).await?;
    let pop = population(&state, &auth, q.at).await?;
    let ids = pop.members(&rec.def, &mut vec![rec.id.clone()])?;
    let rows: Vec<MemberView> = pop.sorted(&ids).into_iter().map(member).collect();
    if format == "json" {
        return Ok(axum::Json(rows).into_response());
    }
    if format == "jsonl" {
        let mut out = Vec::new();
        for r in &rows {
            serde_json::to_writer(&mut out, r).map_err(|e| ApiError::internal("jsonl", &e))?;
            out.push(b'\n');
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/x-ndjson"),
        );
        return Ok((headers, out).into_response());
    }
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record([
        "id",
        "first_name",
        "last_name",
        "mobile",
        "email",
        "city",
        "tags",
        "purchases",
        "monetary_minor",
        "points_balance",
    ])
    .map_err(|e| ApiError::internal("csv", &e))?;
    for r in &rows {
        let safe = |v: Option<&str>| crate::export::spreadsheet_safe(v.unwrap_or("")).into_owned();
        w.write_record([
            r.id.as_str(),
            &safe(r.first_name.as_deref()),
            &safe(r.last_name.as_deref()),
            &safe(r.mobile.as_deref()),
            &safe(r.email.as_deref()),
            &safe(r.city.as_deref()),
            &safe(Some(&r.tags.join(";"))),
            &r.purchases.to_string(),
            &r.monetary_minor.to_string(),
            &r.points_balance.to_string(),
        ])
        .map_err(|e| ApiError::internal("csv", &e))?;
    }
    let body = w.into_inner().map_err(|e| ApiError::internal("csv", &e))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"segment-{}.csv\"", rec.id);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, body).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotInput {
    /// Evaluate as of this instant (default now).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<jiff::Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotView {
    pub id: String,
    pub segment_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub taken_at: jiff::Timestamp,
    pub members: i64,
    /// Member ids (on reading a snapshot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_ids: Option<Vec<String>>,
}

fn snapshot_view(s: vafa_store::SnapshotRecord, ids: Option<Vec<String>>) -> SnapshotView {
    SnapshotView {
        id: s.id,
        segment_id: s.segment_id,
        at: s.at,
        taken_at: s.taken_at,
        members: s.members,
        member_ids: ids,
    }
}

/// Freeze a segment's members as of `at` (default now): a campaign's audience as it was
/// when it was sent, for measuring it later.
#[utoipa::path(post, path = "/api/v1/segments/{id}/snapshots", tag = "segments",
    params(("id" = String, Path)), request_body = SnapshotInput,
    responses((status = 201, body = SnapshotView), (status = 404)),
    security(("api_key" = ["segments.manage"])))]
pub async fn snapshot(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<SnapshotInput>,
) -> ApiResult<(StatusCode, axum::Json<SnapshotView>)> {
    let rec = one(&state, &auth, &id).await?;
    let pop = population(&state, &auth, input.at).await?;
    let ids = pop.members(&rec.def, &mut vec![rec.id.clone()])?;
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    let snap = state
        .store
        .save_snapshot(&auth.ctx(&state), &rec.id, pop.at, &ids)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(snapshot_view(snap, None))))
}

/// A snapshot with its member ids.
#[utoipa::path(get, path = "/api/v1/segments/{id}/snapshots/{snapshot_id}", tag = "segments",
    params(("id" = String, Path), ("snapshot_id" = String, Path)),
    responses((status = 200, body = SnapshotView), (status = 404)),
    security(("api_key" = ["analytics.read"])))]
pub async fn get_snapshot(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, snapshot_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<SnapshotView>> {
    let (snap, ids) = state
        .store
        .snapshot_members(auth.program_id(), &snapshot_id)
        .await?
        .filter(|(s, _)| s.segment_id == id)
        .ok_or_else(|| ApiError::not_found("snapshot"))?;
    Ok(axum::Json(snapshot_view(snap, Some(ids))))
}
