//! Segments and analytics: the RFM grid and its eleven named segments, a segment
//! builder whose member count updates as the criteria change (the same preview the API
//! answers), saved segments with their counts, and member export as CSV.

use super::{answer, charts, input, render, Chrome, Posted, Ui, UiError};
use crate::api;
use crate::api::analytics::{rfm_report, ReportCtx, RfmQuery};
use crate::extract::{Json, Query};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use vafa_core::auth::Permission;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/segments", get(page).post(save))
        .route("/segments/preview", post(preview))
        .route("/segments/{id}/members.csv", get(export))
}

/// A CEL string literal.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The condition the builder's fields describe, or the CEL typed by hand when there is;
/// a criterion that is not a number is a field error, never silently dropped.
fn condition_of(p: &Posted) -> Result<Option<String>, UiError> {
    if let Some(cel) = p.get("condition") {
        return Ok(Some(cel.to_owned()));
    }
    let mut parts = Vec::new();
    if let Some(city) = p.get("city") {
        parts.push(format!("customer.city == {}", quoted(city)));
    }
    if let Some(tier) = p.get("tier") {
        parts.push(format!("customer.tier == {}", quoted(tier)));
    }
    if let Some(tag) = p.get("tag") {
        parts.push(format!("{} in customer.tags", quoted(tag)));
    }
    if let Some(n) = p.count("min_purchases")? {
        parts.push(format!("customer.purchase_count >= {n}"));
    }
    if let Some(d) = p.count("bought_within_days")? {
        parts.push(format!("customer.days_since_last_purchase <= {d}"));
    }
    if let Some(d) = p.count("lapsed_days")? {
        parts.push(format!("customer.days_since_last_purchase >= {d}"));
    }
    if let Some(m) = p.money("min_monetary")? {
        parts.push(format!("customer.monetary >= {m}"));
    }
    if p.checked("consent_sms") {
        parts.push("customer.consent_sms".to_owned());
    }
    Ok((!parts.is_empty()).then(|| parts.join(" && ")))
}

pub struct SegmentRow {
    pub id: String,
    pub name: String,
    pub condition: String,
    pub members: String,
}

#[derive(Template)]
#[template(path = "segments.html")]
struct SegmentsPage {
    c: Chrome,
    rfm_grid: String,
    rfm_rows: Vec<Vec<String>>,
    rfm_customers: String,
    saved: Vec<SegmentRow>,
    tiers: Vec<(String, String)>,
    can_save: bool,
    notice: super::settings::Notice,
    period: super::period::Period,
}

/// The RFM window unless a period is chosen: a year through today.
const RFM_DAYS: i16 = 365;

#[derive(serde::Deserialize)]
struct SavedQuery {
    saved: Option<u8>,
}

async fn page(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    let r = build(&state, &ui, q.saved.is_some(), Vec::new(), raw.as_deref()).await;
    answer(&ui, r)
}

async fn build(
    state: &AppState,
    ui: &Ui,
    saved_now: bool,
    problems: Vec<String>,
    query: Option<&str>,
) -> super::UiResult {
    ui.require(Permission::AnalyticsRead)?;
    let v = &ui.v;
    let rc = ReportCtx {
        store: state.store.as_ref(),
        program_id: &ui.principal.program_id,
        now: state.clock.now(),
    };
    let today = rc.now.to_zoned(v.tz.clone()).date();
    // The RFM window is the period: recency measured at its last day.
    let period = super::period::Period::read(v, "/segments", query, today, RFM_DAYS);
    let rfm = rfm_report(
        &rc,
        &RfmQuery {
            as_of: Some(period.to),
            window_days: Some(period.days()),
            segment: None,
            limit: None,
        },
    )
    .await?;
    let total = rfm.customers.max(1) as f64;
    let max = rfm.grid.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let rows: Vec<(String, Vec<charts::Cell>)> = rfm
        .grid
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let r = 5 - i;
            let label = v.tf("rfm_r", &[("r", v.n(&(r as i64)))]);
            let cells = row
                .iter()
                .map(|n| {
                    Some((
                        *n as f64 * 100.0 / max,
                        format!(
                            "{} ({})",
                            v.n(&(*n as i64)),
                            v.lang.decimal(*n as f64 * 100.0 / total, 0)
                        ),
                    ))
                })
                .collect();
            (label, cells)
        })
        .collect();
    let cols: Vec<String> = (1..=5).map(|f| v.tf("rfm_fm", &[("f", v.n(&f))])).collect();
    let rfm_grid = charts::heatmap(v.lang, &rows, &cols);
    let rfm_rows = rfm
        .segments
        .iter()
        .map(|s| {
            vec![
                v.t(&format!("rfm_{}", s.segment)),
                v.n(&(s.customers as i64)),
                v.pct(&s.customers_percent),
                v.money_str(&s.revenue.amount),
                v.pct(&s.revenue_percent),
            ]
        })
        .collect();
    let list = api::segments::list(State(state.clone()), ui.auth())
        .await?
        .0;
    let mut saved = Vec::new();
    // Counting evaluates every customer: only the most recent few are counted here.
    for s in list.iter().rev().take(10) {
        let one = api::segments::get(
            State(state.clone()),
            ui.auth(),
            Path(s.id.clone()),
            Query(api::segments::AtQuery { at: None }),
        )
        .await?
        .0;
        saved.push(SegmentRow {
            id: s.id.clone(),
            name: s.definition.name.clone(),
            condition: s.definition.condition.clone().unwrap_or_default(),
            members: one.members.map(|m| v.n(&(m as i64))).unwrap_or_default(),
        });
    }
    let tiers = state
        .store
        .tier_ladder(&ui.principal.program_id)
        .await?
        .map(|l| {
            l.tiers
                .iter()
                .map(|t| {
                    let name = match (v.lang, &t.name_en) {
                        (super::Lang::En, Some(en)) => en.clone(),
                        _ => t.name.clone(),
                    };
                    (t.code.clone(), name)
                })
                .collect()
        })
        .unwrap_or_default();
    let refused = period.refused();
    let page = render(&SegmentsPage {
        c: ui.chrome("nav_segments"),
        rfm_grid,
        rfm_rows,
        rfm_customers: v.tf(
            "rfm_customers",
            &[
                ("n", v.n(&(rfm.customers as i64))),
                ("days", v.n(&i64::from(rfm.window_days))),
            ],
        ),
        saved,
        tiers,
        can_save: ui.can(Permission::SegmentsManage),
        notice: super::settings::Notice {
            ok: saved_now.then(|| v.t("saved")),
            problems,
        },
        period,
    });
    // A date that is not one: the page with what was typed and why (422).
    Ok(if refused {
        (axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    } else {
        page
    })
}

#[derive(Template)]
#[template(path = "partials/segment_count.html")]
struct CountFragment {
    count: Option<String>,
    condition: String,
    problems: Vec<String>,
    /// What to do next, before anything is wrong (the form drawn, nothing chosen yet).
    hint: Option<String>,
}

async fn preview(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/segments/preview")?;
        let v = &ui.v;
        let condition = match condition_of(&p) {
            Ok(c) => c,
            Err(UiError::Api(e)) => {
                return Ok(render(&CountFragment {
                    count: None,
                    condition: String::new(),
                    problems: super::problem_lines(v, &e),
                    hint: None,
                }));
            }
            Err(e) => return Err(e),
        };
        let Some(condition) = condition else {
            return Ok(render(&CountFragment {
                count: None,
                condition: String::new(),
                problems: Vec::new(),
                hint: Some(v.t("segment_pick")),
            }));
        };
        let def = json!({"name": p.get("name").unwrap_or("preview"), "condition": condition});
        let counted = match input(def) {
            Ok(d) => api::segments::preview(
                State(state.clone()),
                ui.auth(),
                Query(api::segments::AtQuery { at: None }),
                Json(d),
            )
            .await
            .map_err(UiError::from),
            Err(e) => Err(e),
        };
        Ok(match counted {
            Ok(pv) => render(&CountFragment {
                count: Some(v.tf("segment_count", &[("n", v.n(&(pv.0.members as i64)))])),
                condition,
                problems: Vec::new(),
                hint: None,
            }),
            Err(UiError::Api(e)) => render(&CountFragment {
                count: None,
                condition,
                problems: super::problem_lines(v, &e),
                hint: None,
            }),
            Err(e) => return Err(e),
        })
    }
    .await;
    answer(ui, r)
}

async fn save(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/segments")?;
        let v = &ui.v;
        let made = match condition_of(&p)
            .and_then(|c| input(json!({"name": p.get("name").unwrap_or(""), "condition": c})))
        {
            Ok(d) => api::segments::create(State(state.clone()), ui.auth(), Json(d))
                .await
                .map(|_| ())
                .map_err(UiError::from),
            Err(e) => Err(e),
        };
        match made {
            Ok(()) => Ok(Redirect::to("/segments?saved=1").into_response()),
            Err(UiError::Api(e)) => {
                build(&state, ui, false, super::problem_lines(v, &e), None).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    answer(ui, r)
}

/// Members as CSV (UTF-8 with a byte-order mark, for spreadsheets and SMS tools).
async fn export(State(state): State<AppState>, ui: Ui, Path(id): Path<String>) -> Response {
    let r = async {
        ui.require_route(&state, Method::GET, "/api/v1/segments/{id}/members")?;
        let q = api::segments::MembersQuery {
            at: None,
            format: Some("csv".into()),
        };
        Ok(api::segments::members(State(state.clone()), ui.auth(), Path(id), Query(q)).await?)
    }
    .await;
    answer(&ui, r)
}
