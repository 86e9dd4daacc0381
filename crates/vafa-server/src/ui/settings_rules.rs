//! Earning rules and campaigns: the running campaigns with their rules in words and in
//! CEL, a CEL editor that checks the condition as it is typed (line, column and what is
//! wrong), a form for a new campaign with one rule, and simulate — what a basket would
//! earn and why, without writing anything.

use super::settings::tabs;
use super::{answer, input, money_json, render, Chrome, Posted, Ui, UiError, View};
use crate::api;
use crate::extract::Json;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use vafa_core::auth::Permission;
use vafa_core::rules::{Effect, RuleDef};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/rules", get(page).post(add_campaign))
        .route("/settings/rules/check", post(check))
        .route("/settings/rules/simulate", post(simulate))
        .route("/settings/rules/{id}/status", post(set_status))
}

/// An effect in words: "×2 points", "+50 points", "1 point per 1,000 toman".
pub fn effect_text(v: &View, e: &Effect) -> String {
    match e {
        Effect::PointsPerAmount {
            points, per_minor, ..
        } => v.tf(
            "effect_per_amount",
            &[("n", v.n(points)), ("amount", v.money(per_minor))],
        ),
        Effect::Multiplier { factor } => v.tf(
            "effect_multiplier",
            &[("x", v.decimal_text(&factor.normalize().to_string()))],
        ),
        Effect::FixedBonus { points } => v.tf("effect_fixed", &[("n", v.n(points))]),
        Effect::ItemBonus {
            points_per_unit, ..
        } => v.tf("effect_item", &[("n", v.n(points_per_unit))]),
        Effect::CashbackPercent { percent, .. } => v.tf(
            "effect_cashback",
            &[("p", v.decimal_text(&percent.normalize().to_string()))],
        ),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|j| j.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_default(),
    }
}

pub struct CampaignBox {
    pub id: String,
    pub name: String,
    pub status: String,
    pub active: bool,
    pub audience: Option<String>,
    pub budget: Option<String>,
    pub rules: Vec<RuleLine>,
}

pub struct RuleLine {
    pub name: String,
    pub condition: Option<String>,
    pub effects: String,
    pub version: String,
}

#[derive(Template)]
#[template(path = "settings_rules.html")]
struct RulesPage {
    c: Chrome,
    tabs: Vec<(String, String, bool)>,
    notice: super::settings::Notice,
    campaigns: Vec<CampaignBox>,
    /// The campaign form as typed when it was refused.
    typed: super::Typed,
}

#[derive(serde::Deserialize)]
struct SavedQuery {
    saved: Option<u8>,
}

async fn page(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Response {
    let r = rules_page(
        &state,
        &ui,
        q.saved.is_some(),
        Vec::new(),
        super::Typed::default(),
    )
    .await;
    answer(&ui, r)
}

async fn rules_page(
    state: &AppState,
    ui: &Ui,
    saved: bool,
    problems: Vec<String>,
    typed: super::Typed,
) -> super::UiResult {
    ui.require(Permission::RulesManage)?;
    let v = &ui.v;
    let list = api::rules::list_campaigns(State(state.clone()), ui.auth())
        .await?
        .0;
    let campaigns = list
        .iter()
        .map(|c| CampaignBox {
            id: c.id.clone(),
            name: c.definition.name.clone(),
            status: v.t(&format!("campaign_{}", c.definition.status.as_str())),
            active: c.definition.status.as_str() == "active",
            audience: c.definition.audience.clone(),
            budget: c.definition.budget_points.map(|b| {
                v.tf(
                    "budget_used",
                    &[("used", v.n(&c.budget_used)), ("budget", v.n(&b))],
                )
            }),
            rules: c
                .rules
                .iter()
                .map(|r| RuleLine {
                    name: r.definition.name.clone(),
                    condition: r.definition.condition.clone(),
                    effects: r
                        .definition
                        .effects
                        .iter()
                        .map(|e| effect_text(v, e))
                        .collect::<Vec<_>>()
                        .join(" • "),
                    version: v.tf("rule_version", &[("n", v.n(&r.version))]),
                })
                .collect(),
        })
        .collect();
    let notice = super::settings::Notice {
        ok: saved.then(|| v.t("saved")),
        problems,
    };
    Ok(render(&RulesPage {
        c: ui.chrome("nav_settings"),
        tabs: tabs(ui, "tab_rules"),
        notice,
        campaigns,
        typed,
    }))
}

/// The rule the form describes, as the API takes it.
/// The campaign and its one rule the form describes, as the API takes them.
fn campaign_of(p: &Posted) -> Result<serde_json::Value, UiError> {
    let decimal = |name: &str| {
        p.get(name)
            .and_then(super::i18n::parse_decimal)
            .map(|d| d.normalize().to_string())
    };
    let effect = match p.get("effect").unwrap_or("multiplier") {
        "fixed_bonus" => json!({"type": "fixed_bonus", "points": p.count("effect_value")?}),
        "cashback_percent" => {
            json!({"type": "cashback_percent", "percent": decimal("effect_value")})
        }
        "points_per_amount" => {
            json!({"type": "points_per_amount", "points": p.count("effect_value")?, "per_minor": p.money("effect_per")?})
        }
        _ => json!({"type": "multiplier", "factor": decimal("effect_value")}),
    };
    let mut campaign = json!({"name": p.get("name").unwrap_or(""), "audience": p.get("audience")});
    if let Some(b) = p.count("budget_points")? {
        campaign["budget_points"] = json!(b);
    }
    let rule = json!({"name": p.get("rule_name").unwrap_or(""), "condition": p.get("condition"), "effects": [effect]});
    Ok(json!({"campaign": campaign, "rules": [rule]}))
}

async fn add_campaign(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/campaigns")?;
        let v = &ui.v;
        let made = match campaign_of(&p).and_then(input) {
            Ok(i) => api::rules::create_campaign(State(state.clone()), ui.auth(), Json(i))
                .await
                .map(|_| ())
                .map_err(UiError::from),
            Err(e) => Err(e),
        };
        match made {
            Ok(()) => Ok(Redirect::to("/settings/rules?saved=1").into_response()),
            Err(UiError::Api(e)) => {
                let typed = super::Typed::of(&p);
                let page =
                    rules_page(&state, ui, false, super::problem_lines(v, &e), typed).await?;
                Ok((e.code.status(), page).into_response())
            }
            Err(e) => Err(e),
        }
    }
    .await;
    answer(ui, r)
}

#[derive(Template)]
#[template(path = "partials/cel_check.html")]
struct CheckFragment {
    ok: Option<String>,
    problems: Vec<String>,
}

/// Check a condition as it is typed: compiled exactly as a saved rule's is.
async fn check(p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require(Permission::RulesManage)?;
        let v = &ui.v;
        let Some(condition) = p.get("condition") else {
            return Ok(render(&CheckFragment {
                ok: Some(v.t("cel_always")),
                problems: Vec::new(),
            }));
        };
        let rule = RuleDef {
            name: "check".into(),
            trigger: Default::default(),
            condition: Some(condition.to_owned()),
            effects: vec![Effect::FixedBonus { points: 1 }],
        };
        Ok(match rule.validate("rule") {
            Ok(_) => render(&CheckFragment {
                ok: Some(v.t("cel_ok")),
                problems: Vec::new(),
            }),
            Err(e) => render(&CheckFragment {
                ok: None,
                problems: e.0.iter().map(|f| f.message.clone()).collect(),
            }),
        })
    }
    .await;
    answer(ui, r)
}

#[derive(Template)]
#[template(path = "partials/simulation.html")]
struct SimulationFragment {
    total: String,
    fired: Vec<(String, String, String)>,
    skipped: Vec<String>,
    tier: Option<String>,
}

async fn simulate(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/rules/simulate")?;
        let v = &ui.v;
        let amount = p
            .get("amount")
            .and_then(|a| v.parse_money(a))
            .ok_or_else(|| UiError::Api(crate::error::ApiError::field("amount", v.with_unit("amount_in_unit"))))?;
        let mut body = json!({"total": money_json(v, amount)});
        if let Some(m) = p.get("mobile") {
            body["mobile"] = json!(m);
        }
        if let Some(cat) = p.get("category") {
            body["items"] = json!([{"sku": p.get("sku").unwrap_or("ITEM"), "category": cat, "quantity": 1, "unit_price": money_json(v, amount)}]);
        }
        let sim = api::rules::simulate(State(state.clone()), ui.auth(), Json(input(body)?)).await?.0;
        // The base rule by the page's words; a rule named as its campaign, once.
        let campaign_name = |id: &str, name: &str| match id {
            vafa_core::rules::DEFAULT_CAMPAIGN_ID => v.t("base_earning"),
            _ => name.to_owned(),
        };
        let fired = sim
            .rules
            .iter()
            .map(|f| {
                let campaign = campaign_name(&f.campaign_id, &f.campaign_name);
                let name = if f.rule_name == f.campaign_name || f.campaign_id == vafa_core::rules::DEFAULT_CAMPAIGN_ID {
                    campaign
                } else {
                    format!("{campaign} • {}", f.rule_name)
                };
                // The engine's steps are in English and minor units: shown in English only.
                let why = match v.lang {
                    super::Lang::En => f.explanation.join(" • "),
                    super::Lang::Fa => String::new(),
                };
                (name, v.tf("n_points", &[("n", v.n(&f.points))]), why)
            })
            .collect();
        let names: std::collections::HashMap<String, String> = state
            .store
            .list_campaigns(&ui.principal.program_id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.def.name))
            .collect();
        let skipped = sim
            .skipped
            .iter()
            .map(|s| {
                let name = campaign_name(&s.campaign_id, names.get(&s.campaign_id).map_or(s.campaign_id.as_str(), String::as_str));
                format!("{name}: {}", skip_reason(v, &s.reason))
            })
            .collect();
        // The tier's multiplier explains a total above the rules' sum.
        let tier = match &sim.tier {
            Some(code) => {
                let ladder = state.store.tier_ladder(&ui.principal.program_id).await?;
                let t = ladder.as_ref().and_then(|l| l.tiers.iter().find(|t| &t.code == code));
                Some(match t {
                    Some(t) if t.earn_multiplier != rust_decimal::Decimal::ONE => {
                        format!("{} ×{}", t.name, v.decimal_text(&t.earn_multiplier.normalize().to_string()))
                    }
                    Some(t) => t.name.clone(),
                    None => code.clone(),
                })
            }
            None => None,
        };
        Ok(render(&SimulationFragment {
            total: v.tf("simulation_total", &[("n", v.n(&sim.points)), ("cashback", v.money_str(&sim.cashback.amount))]),
            fired,
            skipped,
            tier,
        }))
    }
    .await;
    answer(ui, r)
}

/// Why a campaign or rule did not fire, in the page's words (the engine's own when it
/// gives one this table does not know).
fn skip_reason(v: &View, reason: &str) -> String {
    const REASONS: [(&str, &str); 8] = [
        ("outside its schedule", "skip_schedule"),
        ("condition is false", "skip_condition"),
        ("customer not in the audience", "skip_audience"),
        ("cap reached", "skip_cap"),
        ("budget spent", "skip_budget"),
        ("not running", "skip_not_running"),
        ("gives nothing to this purchase", "skip_nothing"),
        ("excluded by exclusive campaign", "skip_excluded"),
    ];
    match REASONS.iter().find(|(start, _)| reason.starts_with(start)) {
        Some((_, key)) => v.t(key),
        None => reason.to_owned(),
    }
}

/// Pause a running campaign or run a paused one again: a new campaign version with the
/// other settings as they are.
async fn set_status(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    p: Posted,
) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::PUT, "/api/v1/campaigns/{id}")?;
        let status = match p.get("status") {
            Some("paused") => vafa_core::rules::CampaignStatus::Paused,
            Some("active") => vafa_core::rules::CampaignStatus::Active,
            _ => {
                return Err(UiError::Api(crate::error::ApiError::field(
                    "status",
                    "active or paused",
                )))
            }
        };
        let current = api::rules::get_campaign(
            State(state.clone()),
            ui.auth(),
            axum::extract::Path(id.clone()),
        )
        .await?
        .0;
        let mut def = current.definition;
        def.status = status;
        let _ = api::rules::update_campaign(
            State(state.clone()),
            ui.auth(),
            axum::extract::Path(id),
            Json(def),
        )
        .await?;
        Ok(Redirect::to("/settings/rules?saved=1").into_response())
    }
    .await;
    answer(ui, r)
}
