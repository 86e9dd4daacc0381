//! The tier ladder tab: the ladder as a table, edited as a form — what the ladder counts
//! (spend or earned points), over which window, the grace before a downgrade, and a row
//! per tier (threshold in the money unit shown, earn multiplier, discount, entry gift,
//! free items). The JSON editor stays below it for what the form does not show. Both go
//! through `PUT /api/v1/tiers`, so they validate exactly as the API does.

use super::settings::{tabs, Notice, SavedQuery};
use super::{answer, render, Chrome, Posted, Ui, UiError, View};
use crate::api;
use crate::error::ApiError;
use crate::extract::Json;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use rust_decimal::Decimal;
use vafa_core::auth::Permission;
use vafa_core::tiers::{Tier, TierLadder, TierMetric, TierWindow};

/// Blank rows offered below the ladder's own, for new tiers.
const BLANK_ROWS: usize = 2;
/// Rows a posted form may hold (the ladder's limit is 20 tiers).
const MAX_ROWS: usize = 30;

/// A tier as the form shows and takes it: every field as typed.
#[derive(Debug, Clone, Default)]
pub struct TierRow {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub threshold: String,
    pub multiplier: String,
    pub discount: String,
    pub gift: String,
    pub free_items: String,
}

/// The ladder's own settings as the form shows and takes them.
#[derive(Debug, Clone)]
pub struct LadderForm {
    pub metric: String,
    pub window: String,
    pub months: String,
    pub grace_days: String,
    pub rows: Vec<TierRow>,
}

#[derive(Template)]
#[template(path = "settings_tiers.html")]
struct TiersPage {
    c: Chrome,
    tabs: Vec<(String, String, bool)>,
    notice: Notice,
    metric: String,
    rows: Vec<Vec<String>>,
    f: LadderForm,
    json: String,
    threshold_label: String,
}

pub async fn tiers(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Response {
    let r = page(&state, &ui, q.saved.is_some(), None, None, None).await;
    answer(&ui, r)
}

fn form_of(v: &View, ladder: Option<&TierLadder>) -> LadderForm {
    let Some(l) = ladder else {
        return LadderForm {
            metric: "spend".into(),
            window: "rolling_months".into(),
            months: "12".into(),
            grace_days: "0".into(),
            rows: vec![TierRow::default(); BLANK_ROWS + 1],
        };
    };
    let spend = l.metric == TierMetric::Spend;
    let (window, months) = match l.window {
        TierWindow::RollingMonths { months } => ("rolling_months", months.to_string()),
        TierWindow::CalendarYear => ("calendar_year", String::new()),
        TierWindow::Lifetime => ("lifetime", String::new()),
    };
    let mut rows: Vec<TierRow> = l
        .tiers
        .iter()
        .map(|t| TierRow {
            code: t.code.clone(),
            name: t.name.clone(),
            name_en: t.name_en.clone().unwrap_or_default(),
            threshold: if spend {
                v.in_unit(&Decimal::from(t.threshold))
            } else {
                t.threshold.to_string()
            },
            multiplier: t.earn_multiplier.normalize().to_string(),
            discount: t.discount_percent.normalize().to_string(),
            gift: t.entry_gift_points.to_string(),
            free_items: t.free_items.join(", "),
        })
        .collect();
    rows.extend(std::iter::repeat_n(TierRow::default(), BLANK_ROWS));
    LadderForm {
        metric: if spend { "spend" } else { "earned_points" }.into(),
        window: window.into(),
        months,
        grace_days: l.grace_days.to_string(),
        rows,
    }
}

fn table_of(v: &View, l: &TierLadder) -> Vec<Vec<String>> {
    let spend = l.metric == TierMetric::Spend;
    l.tiers
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.name_en.clone().unwrap_or_default(),
                if spend {
                    v.money(&t.threshold)
                } else {
                    v.n(&t.threshold)
                },
                v.decimal_text(&format!("×{}", t.earn_multiplier.normalize())),
                v.tf(
                    "percent_of",
                    &[(
                        "p",
                        v.decimal_text(&t.discount_percent.normalize().to_string()),
                    )],
                ),
                v.n(&t.entry_gift_points),
                t.free_items.join(", "),
            ]
        })
        .collect()
}

async fn page(
    state: &AppState,
    ui: &Ui,
    saved: bool,
    err: Option<UiError>,
    typed_form: Option<LadderForm>,
    typed_json: Option<String>,
) -> super::UiResult {
    ui.require(Permission::TiersManage)?;
    let v = &ui.v;
    let ladder = state.store.tier_ladder(&ui.principal.program_id).await?;
    let metric = match &ladder {
        None => v.t("no_ladder"),
        Some(l) if l.metric == TierMetric::Spend => v.t("tier_metric_spend"),
        Some(_) => v.t("tier_metric_points"),
    };
    let f = typed_form.unwrap_or_else(|| form_of(v, ladder.as_ref()));
    let threshold_label = if f.metric == "spend" {
        v.with_unit("threshold_in_unit")
    } else {
        v.t("threshold_in_points")
    };
    Ok(render(&TiersPage {
        c: ui.chrome("nav_settings"),
        tabs: tabs(ui, "tab_tiers"),
        notice: Notice::from(v, saved, err)?,
        metric,
        rows: ladder.as_ref().map(|l| table_of(v, l)).unwrap_or_default(),
        json: typed_json.unwrap_or_else(|| {
            ladder
                .as_ref()
                .and_then(|l| serde_json::to_string_pretty(l).ok())
                .unwrap_or_default()
        }),
        f,
        threshold_label,
    }))
}

/// The form as posted: every field kept as typed, to show again when it is refused.
fn posted_form(p: &Posted) -> LadderForm {
    let col = |name: &str| -> Vec<String> {
        p.all(name)
            .into_iter()
            .take(MAX_ROWS)
            .map(str::to_owned)
            .collect()
    };
    let (codes, names, names_en) = (col("tier_code"), col("tier_name"), col("tier_name_en"));
    let (thresholds, multipliers) = (col("tier_threshold"), col("tier_multiplier"));
    let (discounts, gifts, frees) = (col("tier_discount"), col("tier_gift"), col("tier_free"));
    let at = |c: &[String], i: usize| c.get(i).cloned().unwrap_or_default();
    let rows = (0..codes.len())
        .map(|i| TierRow {
            code: at(&codes, i),
            name: at(&names, i),
            name_en: at(&names_en, i),
            threshold: at(&thresholds, i),
            multiplier: at(&multipliers, i),
            discount: at(&discounts, i),
            gift: at(&gifts, i),
            free_items: at(&frees, i),
        })
        .collect();
    LadderForm {
        metric: p.get("metric").unwrap_or("spend").to_owned(),
        window: p.get("window").unwrap_or("lifetime").to_owned(),
        months: p.get("months").unwrap_or("").to_owned(),
        grace_days: p.get("grace_days").unwrap_or("").to_owned(),
        rows,
    }
}

/// The ladder the form describes; a row with neither code nor name is left out. What
/// does not even parse (a word where a number goes) is named by its row and field.
fn ladder_of(v: &View, f: &LadderForm) -> Result<TierLadder, UiError> {
    let bad = |field: String, key: &str| UiError::Api(ApiError::field(&field, v.t(key)));
    let metric = match f.metric.as_str() {
        "spend" => TierMetric::Spend,
        "earned_points" => TierMetric::EarnedPoints,
        _ => return Err(bad("metric".into(), "choose_one")),
    };
    let count = |field: String, typed: &str, blank: i64| -> Result<i64, UiError> {
        match typed.trim() {
            "" => Ok(blank),
            s => super::i18n::parse_count(s).ok_or_else(|| bad(field, "must_be_whole")),
        }
    };
    let window = match f.window.as_str() {
        "lifetime" => TierWindow::Lifetime,
        "calendar_year" => TierWindow::CalendarYear,
        "rolling_months" => TierWindow::RollingMonths {
            months: u32::try_from(count("window.months".into(), &f.months, 12)?)
                .map_err(|_| bad("window.months".into(), "must_be_whole"))?,
        },
        _ => return Err(bad("window".into(), "choose_one")),
    };
    let grace_days = u32::try_from(count("grace_days".into(), &f.grace_days, 0)?)
        .map_err(|_| bad("grace_days".into(), "must_be_whole"))?;
    let mut tiers = Vec::new();
    for r in f
        .rows
        .iter()
        .filter(|r| !(r.code.trim().is_empty() && r.name.trim().is_empty()))
    {
        let i = tiers.len();
        let field = |name: &str| format!("tiers[{i}].{name}");
        let threshold = match (metric, r.threshold.trim()) {
            (_, "") => 0,
            (TierMetric::Spend, s) => v.parse_money(s).ok_or_else(|| {
                UiError::Api(ApiError::field(
                    &field("threshold"),
                    v.with_unit("amount_in_unit"),
                ))
            })?,
            (TierMetric::EarnedPoints, s) => count(field("threshold"), s, 0)?,
        };
        let decimal = |name: &str, typed: &str, blank: Decimal| -> Result<Decimal, UiError> {
            match typed.trim() {
                "" => Ok(blank),
                s => {
                    super::i18n::parse_decimal(s).ok_or_else(|| bad(field(name), "must_be_number"))
                }
            }
        };
        tiers.push(Tier {
            code: r.code.trim().to_owned(),
            name: r.name.trim().to_owned(),
            name_en: Some(r.name_en.trim().to_owned()).filter(|n| !n.is_empty()),
            threshold,
            earn_multiplier: decimal("earn_multiplier", &r.multiplier, Decimal::ONE)?,
            discount_percent: decimal("discount_percent", &r.discount, Decimal::ZERO)?,
            entry_gift_points: count(field("entry_gift_points"), &r.gift, 0)?,
            free_items: r
                .free_items
                .split([',', '،'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        });
    }
    Ok(TierLadder {
        metric,
        window,
        grace_days,
        tiers,
    })
}

async fn put(state: &AppState, ui: &Ui, ladder: TierLadder) -> Result<(), UiError> {
    api::tiers::put_ladder(State(state.clone()), ui.auth(), Json(ladder))
        .await
        .map(|_| ())
        .map_err(UiError::from)
}

pub async fn save_tiers(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::PUT, "/api/v1/tiers")?;
        let form = posted_form(&p);
        let saved = match ladder_of(&ui.v, &form) {
            Ok(l) => put(&state, ui, l).await,
            Err(e) => Err(e),
        };
        match saved {
            Ok(()) => Ok(Redirect::to("/settings/tiers?saved=1").into_response()),
            Err(e) => page(&state, ui, false, Some(e), Some(form), None).await,
        }
    }
    .await;
    answer(ui, r)
}

/// The ladder as JSON, for what the form does not show.
pub async fn save_tiers_json(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::PUT, "/api/v1/tiers")?;
        let typed = p.get("ladder").unwrap_or("").to_owned();
        let saved = match crate::extract::parse_json::<TierLadder>(typed.as_bytes()) {
            Ok(l) => put(&state, ui, l).await,
            Err(e) => Err(UiError::from(e)),
        };
        match saved {
            Ok(()) => Ok(Redirect::to("/settings/tiers?saved=1").into_response()),
            Err(e) => page(&state, ui, false, Some(e), None, Some(typed)).await,
        }
    }
    .await;
    answer(ui, r)
}
