//! Program settings: earning, cashback, the return window, expiry and return policies,
//! how money and dates show; the rewards catalog; coupon batches. Each
//! form goes through the API handler of its resource, so it validates exactly as the API
//! does, and each tab needs its resource's permission. Earning rules and campaigns are
//! in `settings_rules`, the tier ladder in `settings_tiers`.

use super::{answer, input, render, Chrome, Posted, Ui, UiError, View};
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

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(general))
        .route("/settings/ledger", post(save_ledger))
        .route("/settings/display", post(save_display))
        .route(
            "/settings/tiers",
            get(super::settings_tiers::tiers).post(super::settings_tiers::save_tiers),
        )
        .route(
            "/settings/tiers/json",
            post(super::settings_tiers::save_tiers_json),
        )
        .route("/settings/rewards", get(rewards).post(add_reward))
        .route("/settings/rewards/{id}/retire", post(retire_reward))
        .route("/settings/coupons", get(coupons).post(add_batch))
        .route("/settings/coupons/{id}/codes.csv", get(batch_codes))
        .merge(super::settings_rules::routes())
}

/// The settings tabs a role may open.
pub fn tabs(ui: &Ui, active: &str) -> Vec<(String, String, bool)> {
    [
        ("/settings", "tab_general", Permission::ProgramManage),
        ("/settings/rules", "tab_rules", Permission::RulesManage),
        ("/settings/tiers", "tab_tiers", Permission::TiersManage),
        (
            "/settings/rewards",
            "tab_rewards",
            Permission::RewardsManage,
        ),
        (
            "/settings/coupons",
            "tab_coupons",
            Permission::CouponsManage,
        ),
    ]
    .iter()
    .filter(|(_, _, p)| ui.can(*p))
    .map(|(href, key, _)| ((*href).to_owned(), ui.v.t(key), *key == active))
    .collect()
}

/// A notice after a save (`?saved=1`) or the problems of a refused form.
pub struct Notice {
    pub ok: Option<String>,
    pub problems: Vec<String>,
}

impl Notice {
    pub fn from(v: &View, saved: bool, err: Option<UiError>) -> Result<Notice, UiError> {
        match err {
            None => Ok(Notice {
                ok: saved.then(|| v.t("saved")),
                problems: Vec::new(),
            }),
            Some(UiError::Api(e)) => Ok(Notice {
                ok: None,
                problems: super::problem_lines(v, &e),
            }),
            Some(other) => Err(other),
        }
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct GeneralPage {
    c: Chrome,
    tabs: Vec<(String, String, bool)>,
    notice: Notice,
    f: LedgerForm,
    money_unit: String,
    calendar: String,
    irr: bool,
}

/// The ledger settings as the form shows them (money in the unit shown).
pub struct LedgerForm {
    pub earn_points: String,
    pub earn_per: String,
    pub cashback_percent: String,
    pub point_value: String,
    pub pending_days: String,
    pub expiry_kind: String,
    pub expiry_n: String,
    pub expiry_calendar: String,
    pub return_policy: String,
    pub transfers_enabled: bool,
    pub transfer_max_points: String,
}

#[derive(serde::Deserialize)]
pub struct SavedQuery {
    pub saved: Option<u8>,
}

async fn general(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Response {
    let r = general_page(&state, &ui, q.saved.is_some(), None, None).await;
    answer(&ui, r)
}

async fn general_page(
    state: &AppState,
    ui: &Ui,
    saved: bool,
    err: Option<UiError>,
    typed: Option<LedgerForm>,
) -> super::UiResult {
    ui.require(Permission::ProgramManage)?;
    let v = &ui.v;
    let s = api::program::get_ledger_settings(State(state.clone()), ui.auth())
        .await?
        .0;
    let (expiry_kind, expiry_n) = match s
        .expiry
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("never")
    {
        "days" => (
            "days",
            s.expiry.get("days").and_then(|d| d.as_i64()).unwrap_or(0),
        ),
        "months" => (
            "months",
            s.expiry.get("months").and_then(|d| d.as_i64()).unwrap_or(0),
        ),
        "end_of_year" => (
            "end_of_year",
            s.expiry
                .get("years_after")
                .and_then(|d| d.as_i64())
                .unwrap_or(0),
        ),
        "end_of_month" => ("end_of_month", 0),
        _ => ("never", 0),
    };
    let point_value = s
        .point_value_minor
        .parse::<rust_decimal::Decimal>()
        .unwrap_or_default();
    let f = LedgerForm {
        earn_points: s.earn_points.to_string(),
        earn_per: v.in_unit(&rust_decimal::Decimal::from(s.earn_per_minor)),
        cashback_percent: s.cashback_percent.clone(),
        point_value: v.in_unit(&point_value),
        expiry_calendar: s
            .expiry
            .get("calendar")
            .and_then(|c| c.as_str())
            .unwrap_or("jalali")
            .to_owned(),
        pending_days: s.pending_days.to_string(),
        expiry_kind: expiry_kind.to_owned(),
        expiry_n: expiry_n.to_string(),
        return_policy: s.return_policy.clone(),
        transfers_enabled: s.transfers_enabled,
        transfer_max_points: s.transfer_max_points.to_string(),
    };
    let f = typed.unwrap_or(f);
    let display = state
        .store
        .display_settings(&ui.principal.program_id)
        .await?;
    let notice = Notice::from(v, saved, err)?;
    Ok(render(&GeneralPage {
        c: ui.chrome("nav_settings"),
        tabs: tabs(ui, "tab_general"),
        notice,
        f,
        money_unit: serde_json::to_value(display.money_unit)
            .ok()
            .and_then(|x| x.as_str().map(str::to_owned))
            .unwrap_or_default(),
        calendar: match v.calendar {
            vafa_core::ledger::CalendarKind::Jalali => "jalali".into(),
            vafa_core::ledger::CalendarKind::Gregorian => "gregorian".into(),
        },
        irr: ui.program.currency == vafa_core::program::Currency::Irr,
    }))
}

/// The status a refused form's page answers with: the API's (422, 409).
fn status_of(e: &UiError) -> axum::http::StatusCode {
    match e {
        UiError::Api(a) => a.code.status(),
        _ => axum::http::StatusCode::OK,
    }
}

/// A refused form's page, with the refusal's status.
fn with_status(status: axum::http::StatusCode, page: super::UiResult) -> super::UiResult {
    page.map(|r| (status, r).into_response())
}

impl LedgerForm {
    /// The ledger form as typed, to draw it again when it is refused.
    fn posted(p: &Posted) -> LedgerForm {
        let s = |k: &str| p.get(k).unwrap_or_default().to_owned();
        LedgerForm {
            earn_points: s("earn_points"),
            earn_per: s("earn_per"),
            cashback_percent: s("cashback_percent"),
            point_value: s("point_value"),
            pending_days: s("pending_days"),
            expiry_kind: s("expiry_kind"),
            expiry_n: s("expiry_n"),
            expiry_calendar: p.get("expiry_calendar").unwrap_or("jalali").to_owned(),
            return_policy: s("return_policy"),
            transfers_enabled: p.checked("transfers_enabled"),
            transfer_max_points: s("transfer_max_points"),
        }
    }
}

/// A required whole number, or a field error naming it.
fn int(p: &Posted, name: &str) -> Result<i64, UiError> {
    p.count(name)?.ok_or_else(|| {
        UiError::Api(crate::error::ApiError::field(
            name,
            p.ui.v.t("must_be_whole"),
        ))
    })
}

/// A rate typed in the unit shown (a point's value, an amount per point), as minor
/// units; `whole` when it must be a whole number of minor units.
fn rate(p: &Posted, name: &str, whole: bool) -> Result<rust_decimal::Decimal, UiError> {
    let v = &p.ui.v;
    p.get(name)
        .and_then(|x| v.parse_in_unit(x))
        .filter(|d| !d.is_sign_negative() && (!whole || d.fract().is_zero()))
        .ok_or_else(|| {
            UiError::Api(crate::error::ApiError::field(
                name,
                v.with_unit("amount_in_unit"),
            ))
        })
}

/// The ledger settings the form describes, as the API takes them.
fn ledger_body(p: &Posted) -> Result<serde_json::Value, UiError> {
    let n = p.count("expiry_n")?.unwrap_or(0);
    // A year-end expiry keeps the calendar it was set in (the form does not choose it).
    let calendar = match p.get("expiry_calendar") {
        Some("gregorian") => "gregorian",
        _ => "jalali",
    };
    // What the form does not offer is refused, never read as "never" or 0%: a typo
    // must not switch expiry or cashback off for the whole program.
    let refused =
        |field: &str, key: &str| UiError::Api(crate::error::ApiError::field(field, p.ui.v.t(key)));
    let expiry = match p.get("expiry_kind").unwrap_or("never") {
        "days" => json!({"kind": "days", "days": n}),
        "months" => json!({"kind": "months", "months": n}),
        "end_of_month" => json!({"kind": "end_of_month"}),
        "end_of_year" => json!({"kind": "end_of_year", "calendar": calendar, "years_after": n}),
        "never" => json!({"kind": "never"}),
        _ => return Err(refused("expiry_kind", "choose_one")),
    };
    let cashback = match p
        .get("cashback_percent")
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        None => "0".to_owned(),
        Some(x) => super::i18n::parse_decimal(x)
            .ok_or_else(|| refused("cashback_percent", "must_be_number"))?
            .normalize()
            .to_string(),
    };
    let return_policy = match p.get("return_policy").unwrap_or("allow_negative") {
        x @ ("allow_negative" | "within_balance" | "only_pending") => x,
        _ => return Err(refused("return_policy", "choose_one")),
    };
    let earn_per = rate(p, "earn_per", true)?;
    Ok(json!({
        "earn_points": int(p, "earn_points")?,
        "earn_per_minor": rust_decimal::prelude::ToPrimitive::to_i64(&earn_per),
        "cashback_percent": cashback,
        "point_value_minor": rate(p, "point_value", false)?.normalize().to_string(),
        "pending_days": int(p, "pending_days")?,
        "expiry": expiry,
        "return_policy": return_policy,
        "transfers_enabled": p.checked("transfers_enabled"),
        "transfer_max_points": int(p, "transfer_max_points")?,
    }))
}

async fn save_ledger(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::PUT, "/api/v1/program/ledger-settings")?;
        let saved = match ledger_body(&p).and_then(input) {
            Ok(dto) => {
                api::program::put_ledger_settings(State(state.clone()), ui.auth(), Json(dto))
                    .await
                    .map(|_| ())
                    .map_err(UiError::from)
            }
            Err(e) => Err(e),
        };
        match saved {
            Ok(()) => Ok(Redirect::to("/settings?saved=1").into_response()),
            Err(e) => with_status(
                status_of(&e),
                general_page(&state, ui, false, Some(e), Some(LedgerForm::posted(&p))).await,
            ),
        }
    }
    .await;
    answer(ui, r)
}

async fn save_display(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::PUT, "/api/v1/program/display-settings")?;
        let body = json!({"money_unit": p.get("money_unit").unwrap_or("toman"), "calendar": p.get("calendar")});
        let saved = match input(body) {
            Ok(dto) => api::program::put_display_settings(State(state.clone()), ui.auth(), Json(dto)).await.map(|_| ()).map_err(UiError::from),
            Err(e) => Err(e),
        };
        match saved {
            Ok(()) => Ok(Redirect::to("/settings?saved=1").into_response()),
            Err(e) => general_page(&state, ui, false, Some(e), None).await,
        }
    }
    .await;
    answer(ui, r)
}

#[derive(Template)]
#[template(path = "settings_rewards.html")]
struct RewardsPage {
    c: Chrome,
    tabs: Vec<(String, String, bool)>,
    notice: Notice,
    /// (id, cells, still claimable)
    rows: Vec<(String, Vec<String>, bool)>,
    /// The new reward as typed when it was refused.
    typed: super::Typed,
}

async fn rewards(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Response {
    let r = rewards_page(
        &state,
        &ui,
        q.saved.is_some(),
        None,
        super::Typed::default(),
    )
    .await;
    answer(&ui, r)
}

async fn rewards_page(
    state: &AppState,
    ui: &Ui,
    saved: bool,
    err: Option<UiError>,
    typed: super::Typed,
) -> super::UiResult {
    ui.require(Permission::RewardsManage)?;
    let v = &ui.v;
    let list = api::rewards::list(State(state.clone()), ui.auth()).await?.0;
    let rows = list
        .items
        .iter()
        .map(|r| {
            let d = &r.definition;
            let what = match &d.kind {
                vafa_core::rewards::RewardKind::FixedDiscount { amount_minor } => {
                    v.tf("reward_fixed", &[("amount", v.money(amount_minor))])
                }
                vafa_core::rewards::RewardKind::PercentDiscount { percent } => v.tf(
                    "reward_percent",
                    &[("p", v.decimal_text(&percent.normalize().to_string()))],
                ),
                vafa_core::rewards::RewardKind::FreeProduct { sku } => {
                    v.tf("reward_product", &[("sku", super::ltr(sku))])
                }
                _ => v.t("reward_gift"),
            };
            let cells = vec![
                match (v.lang, &d.name_en) {
                    (super::Lang::En, Some(en)) => en.clone(),
                    _ => d.name.clone(),
                },
                what,
                v.n(&d.cost_points),
                r.stock_left.map(|s| v.n(&s)).unwrap_or_else(|| "∞".into()),
                v.n(&r.claimed),
                v.t(&format!("reward_status_{}", r.status)),
            ];
            (r.id.clone(), cells, r.status == "active")
        })
        .collect();
    let notice = Notice::from(v, saved, err)?;
    Ok(render(&RewardsPage {
        c: ui.chrome("nav_settings"),
        tabs: tabs(ui, "tab_rewards"),
        notice,
        rows,
        typed,
    }))
}

fn reward_body(p: &Posted) -> Result<serde_json::Value, UiError> {
    let value = p.get("value");
    let kind = match p.get("kind").unwrap_or("free_product") {
        "fixed_discount" => json!({"type": "fixed_discount", "amount_minor": p.money("value")?}),
        "percent_discount" => {
            json!({"type": "percent_discount", "percent": value.and_then(super::i18n::parse_decimal).map(|d| d.normalize().to_string())})
        }
        _ => json!({"type": "free_product", "sku": value}),
    };
    Ok(json!({
        "name": p.get("name").unwrap_or(""),
        "name_en": p.get("name_en"),
        "kind": kind,
        "cost_points": int(p, "cost_points")?,
        "stock": p.count("stock")?,
    }))
}

async fn add_reward(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/rewards")?;
        let saved = match reward_body(&p).and_then(input) {
            Ok(def) => api::rewards::create(State(state.clone()), ui.auth(), Json(def))
                .await
                .map(|_| ())
                .map_err(UiError::from),
            Err(e) => Err(e),
        };
        match saved {
            Ok(()) => Ok(Redirect::to("/settings/rewards?saved=1").into_response()),
            Err(e) => with_status(
                status_of(&e),
                rewards_page(&state, ui, false, Some(e), super::Typed::of(&p)).await,
            ),
        }
    }
    .await;
    answer(ui, r)
}

#[derive(Template)]
#[template(path = "settings_coupons.html")]
struct CouponsPage {
    c: Chrome,
    tabs: Vec<(String, String, bool)>,
    notice: Notice,
    rows: Vec<(String, Vec<String>, bool)>,
    /// The new batch as typed when it was refused.
    typed: super::Typed,
}

async fn coupons(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Response {
    let r = coupons_page(
        &state,
        &ui,
        q.saved.is_some(),
        None,
        super::Typed::default(),
    )
    .await;
    answer(&ui, r)
}

async fn coupons_page(
    state: &AppState,
    ui: &Ui,
    saved: bool,
    err: Option<UiError>,
    typed: super::Typed,
) -> super::UiResult {
    ui.require(Permission::CouponsManage)?;
    let v = &ui.v;
    let list = api::coupons::list_batches(State(state.clone()), ui.auth())
        .await?
        .0;
    let rows = list
        .items
        .iter()
        .map(|b| {
            let gives = match &b.rules.discount {
                vafa_core::coupons::CouponDiscount::Percent { percent, .. } => v.tf(
                    "reward_percent",
                    &[("p", v.decimal_text(&percent.normalize().to_string()))],
                ),
                vafa_core::coupons::CouponDiscount::Amount { amount_minor } => {
                    v.tf("reward_fixed", &[("amount", v.money(amount_minor))])
                }
                vafa_core::coupons::CouponDiscount::FreeItem { sku } => {
                    v.tf("reward_product", &[("sku", super::ltr(sku))])
                }
            };
            let cells = vec![
                b.name.clone(),
                v.t(&format!("batch_{}", b.kind)),
                b.pattern.as_deref().map(super::ltr).unwrap_or_default(),
                gives,
                // Of what may be used: a unique batch's codes (once each), a shared
                // code's limit over all customers (none: no end).
                match (b.kind.as_str(), b.rules.max_uses_total) {
                    ("unique", _) => format!("{} / {}", v.n(&b.used), v.n(&b.generated)),
                    (_, Some(max)) => format!("{} / {}", v.n(&b.used), v.n(&max)),
                    (_, None) => format!("{} / ∞", v.n(&b.used)),
                },
                v.day(&b.created_at.to_zoned(v.tz.clone()).date()),
            ];
            (b.id.clone(), cells, b.kind == "unique")
        })
        .collect();
    let notice = Notice::from(v, saved, err)?;
    Ok(render(&CouponsPage {
        c: ui.chrome("nav_settings"),
        tabs: tabs(ui, "tab_coupons"),
        notice,
        rows,
        typed,
    }))
}

fn batch_body(p: &Posted) -> Result<serde_json::Value, UiError> {
    let discount = match p.get("discount_kind").unwrap_or("percent") {
        "amount" => json!({"type": "amount", "amount_minor": p.money("discount")?}),
        _ => {
            json!({"type": "percent", "percent": p.get("discount").and_then(super::i18n::parse_decimal).map(|d| d.normalize().to_string())})
        }
    };
    let mut body = json!({
        "name": p.get("name").unwrap_or(""),
        "rules": {"discount": discount, "min_cart_minor": p.money("min_cart")?.unwrap_or(0)},
    });
    match p.get("code") {
        Some(code) => body["code"] = json!(code),
        None => {
            body["pattern"] = json!(p.get("pattern").unwrap_or("VAFA-####-####"));
            body["count"] = json!(int(p, "count")?);
        }
    }
    Ok(body)
}

async fn add_batch(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/coupon-batches")?;
        let saved = match batch_body(&p).and_then(input) {
            Ok(b) => api::coupons::create_batch(State(state.clone()), ui.auth(), Json(b))
                .await
                .map(|_| ())
                .map_err(UiError::from),
            Err(e) => Err(e),
        };
        match saved {
            Ok(()) => Ok(Redirect::to("/settings/coupons?saved=1").into_response()),
            Err(e) => with_status(
                status_of(&e),
                coupons_page(&state, ui, false, Some(e), super::Typed::of(&p)).await,
            ),
        }
    }
    .await;
    answer(ui, r)
}

/// A batch's codes as CSV, for printing or an SMS tool.
async fn batch_codes(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let r = async {
        ui.require_route(&state, Method::GET, "/api/v1/coupon-batches/{id}/codes")?;
        Ok(
            api::coupons::batch_codes(State(state.clone()), ui.auth(), axum::extract::Path(id))
                .await?,
        )
    }
    .await;
    answer(&ui, r)
}

/// Retire a reward: no new claims; the codes already issued stay valid.
async fn retire_reward(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    p: Posted,
) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::DELETE, "/api/v1/rewards/{id}")?;
        let _ =
            api::rewards::retire(State(state.clone()), ui.auth(), axum::extract::Path(id)).await?;
        Ok(Redirect::to("/settings/rewards?saved=1").into_response())
    }
    .await;
    answer(ui, r)
}
