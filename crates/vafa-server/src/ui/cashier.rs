//! The cashier screen, for a busy counter: one field finds the customer by mobile or
//! card (or registers them in seconds), the panel shows balance, tier and discount, and
//! a sale goes through the checkout quote before it is recorded — the same quote and
//! purchase the POS API makes, so the counter and the API cannot disagree. Every write
//! carries an idempotency key made when its form was drawn: a double click or a retried
//! request records one purchase.

use super::{answer, input, money_json, render, Chrome, Posted, Ui, UiError, View};
use crate::api;
use crate::extract::{Idempotent, Json, Query};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use vafa_core::auth::Permission;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cashier", get(page))
        .route("/cashier/find", get(find))
        .route("/cashier/customer/{id}", get(customer_fragment))
        .route("/cashier/register", post(register))
        .route("/cashier/quote", post(quote))
        .route("/cashier/purchase", post(purchase))
        .route("/cashier/redeem", post(redeem))
        .route("/cashier/code", post(use_code))
}

/// What the panel shows of a customer, ready to print.
pub struct Panel {
    pub id: String,
    pub name: String,
    pub mobile: String,
    pub status: String,
    pub blocked: bool,
    pub tier: Option<String>,
    pub discount: Option<String>,
    pub next_tier: Option<String>,
    pub progress: Option<f64>,
    pub points: String,
    pub pending: String,
    pub debt: Option<String>,
    pub cashback: String,
    pub expiring: Vec<String>,
    /// Idempotency keys for the forms drawn with this panel.
    pub sale_key: String,
    pub redeem_key: String,
}

#[derive(Template)]
#[template(path = "cashier.html")]
struct CashierPage {
    c: Chrome,
    v: View,
    csrf: String,
    q: String,
    found: Found,
}

/// What a search found.
pub enum Found {
    Nothing,
    One(Box<Panel>),
    Many(Vec<(String, String, String)>),
    New {
        mobile: String,
        problems: Vec<String>,
    },
}

#[derive(Template)]
#[template(path = "partials/cashier_found.html")]
struct FoundFragment {
    v: View,
    csrf: String,
    found: Found,
}

#[derive(serde::Deserialize)]
struct FindQuery {
    q: Option<String>,
    /// Open the panel of this customer (a link from the customer 360).
    customer: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<FindQuery>,
) -> Response {
    let r = async {
        ui.require(Permission::PurchasesWrite)?;
        let found = match (&q.customer, q.q.as_deref().map(str::trim)) {
            (Some(id), _) => Found::One(Box::new(panel(&state, &ui, id).await?)),
            (None, Some(text)) if !text.is_empty() => search(&state, &ui, text).await?,
            _ => Found::Nothing,
        };
        let q = q.q.unwrap_or_default();
        Ok(render(&CashierPage {
            c: ui.chrome("nav_cashier"),
            v: ui.v.clone(),
            csrf: ui.csrf.clone(),
            q,
            found,
        }))
    }
    .await;
    answer(&ui, r)
}

async fn find(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<FindQuery>,
) -> Response {
    let r = async {
        ui.require(Permission::PurchasesWrite)?;
        let found = search(&state, &ui, q.q.as_deref().unwrap_or("")).await?;
        Ok(fragment(&ui, found))
    }
    .await;
    answer(&ui, r)
}

async fn customer_fragment(
    State(state): State<AppState>,
    ui: Ui,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        ui.require(Permission::PurchasesWrite)?;
        let p = panel(&state, &ui, &id).await?;
        Ok(fragment(&ui, Found::One(Box::new(p))))
    }
    .await;
    answer(&ui, r)
}

fn fragment(ui: &Ui, found: Found) -> Response {
    render(&FoundFragment {
        v: ui.v.clone(),
        csrf: ui.csrf.clone(),
        found,
    })
}

/// What a person typed to name a customer: Persian digits made ASCII; spaces and dashes
/// dropped (`compact`) to read it as a mobile or, failing that, a card number.
pub struct Lookup {
    pub text: String,
    pub compact: String,
    pub mobile: Option<vafa_core::mobile::Mobile>,
    pub card: Option<vafa_core::card::CardNumber>,
}

impl Lookup {
    pub fn of(raw: &str) -> Lookup {
        let text = vafa_core::digits::normalize_digits(raw.trim());
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let mobile = vafa_core::mobile::Mobile::parse(&compact).ok();
        let card = match mobile {
            None => vafa_core::card::CardNumber::parse(&compact).ok(),
            Some(_) => None,
        };
        Lookup {
            text,
            compact,
            mobile,
            card,
        }
    }

    /// The customer list by the mobile, else by the card, else by the text as a name
    /// (when `by_name`).
    pub fn query(&self, by_name: bool, limit: u32) -> api::customers::CustomerListQuery {
        let named = self.mobile.is_none() && self.card.is_none();
        api::customers::CustomerListQuery {
            mobile: self.mobile.as_ref().map(|m| m.as_e164().to_owned()),
            card: self.card.as_ref().map(|c| c.as_str().to_owned()),
            tag: None,
            external_id: None,
            q: (by_name && named).then(|| self.text.clone()),
            status: None,
            cursor: None,
            limit: Some(limit),
        }
    }
}

/// A mobile finds by mobile, a card number by card, anything else by name.
async fn search(state: &AppState, ui: &Ui, q: &str) -> Result<Found, UiError> {
    let lookup = Lookup::of(q);
    if lookup.text.is_empty() {
        return Ok(Found::Nothing);
    }
    let query = lookup.query(true, 10);
    let mobile = lookup.mobile;
    ui.require_route(state, Method::GET, "/api/v1/customers")?;
    let page = api::customers::list(State(state.clone()), ui.auth(), Query(query))
        .await?
        .0;
    match page.items.as_slice() {
        [] => Ok(match mobile {
            Some(m) => Found::New {
                mobile: m.as_e164().to_owned(),
                problems: Vec::new(),
            },
            None => Found::New {
                mobile: String::new(),
                problems: vec![ui.v.t("cashier_nobody")],
            },
        }),
        [one] => Ok(Found::One(Box::new(panel(state, ui, &one.id).await?))),
        many => Ok(Found::Many(
            many.iter()
                .map(|c| {
                    (
                        c.id.clone(),
                        full_name(&ui.v, c),
                        mobile_display(&ui.v, c.mobile.as_deref()),
                    )
                })
                .collect(),
        )),
    }
}

pub fn full_name(v: &View, c: &api::customers::CustomerView) -> String {
    let name = [c.first_name.as_deref(), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        v.t("no_name")
    } else {
        name
    }
}

/// `+989121234567` as Iranians write it: `0912 123 4567`.
pub fn mobile_display(v: &View, e164: Option<&str>) -> String {
    let Some(m) = e164 else { return String::new() };
    let local = m
        .strip_prefix("+98")
        .map(|r| format!("0{r}"))
        .unwrap_or_else(|| m.to_owned());
    let spaced = if local.len() == 11 {
        format!("{} {} {}", &local[..4], &local[4..7], &local[7..])
    } else {
        local
    };
    // Isolated left to right, so a number reads the same inside Persian text.
    format!("\u{2066}{}\u{2069}", v.digits(&spaced))
}

pub async fn panel(state: &AppState, ui: &Ui, id: &str) -> Result<Panel, UiError> {
    let v = &ui.v;
    ui.require_route(state, Method::GET, "/api/v1/customers/{id}")?;
    let c = api::customers::get(State(state.clone()), ui.auth(), Path(id.to_owned()))
        .await?
        .0;
    ui.require_route(state, Method::GET, "/api/v1/customers/{id}/balance")?;
    let b = api::points::balance(
        State(state.clone()),
        ui.auth(),
        Path(id.to_owned()),
        Query(api::points::BalanceQuery { at: None }),
    )
    .await?
    .0;
    let tier_name = |t: &vafa_core::tiers::Tier| match (v.lang, &t.name_en) {
        (super::Lang::En, Some(en)) => en.clone(),
        _ => t.name.clone(),
    };
    let names = super::tier_names(state, ui).await?;
    let amount = |m: &api::money::MoneyDto| v.money_str(&m.amount);
    Ok(Panel {
        name: full_name(v, &c),
        mobile: mobile_display(v, c.mobile.as_deref()),
        status: v.t(&format!("status_{}", c.status)),
        blocked: c.status != "active",
        tier: c.tier.as_ref().map(|t| tier_name(&t.tier)),
        discount: c
            .tier
            .as_ref()
            .filter(|t| !t.tier.discount_percent.is_zero())
            .map(|t| {
                v.tf(
                    "tier_discount_pct",
                    &[(
                        "p",
                        v.decimal_text(&t.tier.discount_percent.normalize().to_string()),
                    )],
                )
            }),
        next_tier: c.tier.as_ref().and_then(|t| t.next.as_ref()).map(|n| {
            let needed = if c.tier.as_ref().is_some_and(|t| t.metric == "spend") {
                v.money(&n.needed)
            } else {
                v.tf("n_points", &[("n", v.n(&n.needed))])
            };
            v.tf(
                "next_tier_needs",
                &[
                    ("tier", super::tier_name_of(&names, &n.code)),
                    ("needed", needed),
                ],
            )
        }),
        progress: c
            .tier
            .as_ref()
            .and_then(|t| t.next.as_ref())
            .map(|n| n.progress_percent),
        points: v.n(&b.points.available),
        pending: v.n(&b.points.pending),
        debt: (b.points.debt > 0).then(|| v.tf("points_owed", &[("n", v.n(&b.points.debt))])),
        cashback: amount(&b.cashback),
        expiring: b
            .points
            .expiring_soon
            .iter()
            .map(|e| {
                v.tf(
                    "expiring_on",
                    &[("n", v.n(&e.points)), ("day", v.at(&e.at))],
                )
            })
            .collect(),
        id: c.id,
        sale_key: vafa_store::keys::random_token(),
        redeem_key: vafa_store::keys::random_token(),
    })
}

async fn register(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/customers")?;
        let body = json!({
            "mobile": p.get("mobile"),
            "first_name": p.get("first_name"),
            "last_name": p.get("last_name"),
            "consent": p.checked("sms").then(|| json!({"sms": {"granted": true, "source": "counter"}})),
        });
        let made = match input(body) {
            Ok(i) => api::customers::create(State(state.clone()), ui.auth(), Json(i)).await.map_err(UiError::from),
            Err(e) => Err(e),
        };
        match made {
            Ok((_, c)) => Ok(fragment(ui, Found::One(Box::new(panel(&state, ui, &c.0.id).await?)))),
            Err(UiError::Api(e)) => Ok(fragment(
                ui,
                Found::New { mobile: p.get("mobile").unwrap_or_default().to_owned(), problems: super::problem_lines(&ui.v, &e) },
            )),
            Err(e) => Err(e),
        }
    }
    .await;
    answer(ui, r)
}

/// The sale as the checkout API takes it, from the form.
fn cart(v: &View, p: &Posted) -> Result<serde_json::Value, UiError> {
    let amount = p.get("amount").ok_or_else(|| {
        UiError::Api(crate::error::ApiError::field(
            "amount",
            v.t("amount_needed"),
        ))
    })?;
    let total = v.parse_money(amount).filter(|m| *m > 0).ok_or_else(|| {
        UiError::Api(crate::error::ApiError::field(
            "amount",
            v.tf("amount_in_unit", &[("unit", v.unit_name())]),
        ))
    })?;
    let mut items = Vec::new();
    for ((sku, qty), price) in p
        .all("item_sku")
        .into_iter()
        .zip(p.all("item_qty"))
        .zip(p.all("item_price"))
    {
        if sku.is_empty() {
            continue;
        }
        let bad = |field: &str, key: &str| {
            UiError::Api(crate::error::ApiError::field(field, v.with_unit(key)))
        };
        let quantity = match qty.trim() {
            "" => 1,
            q => super::i18n::parse_count(q).ok_or_else(|| bad("quantity", "must_be_whole"))?,
        };
        let unit_price = v
            .parse_money(price)
            .ok_or_else(|| bad("unit_price", "amount_in_unit"))?;
        items.push(
            json!({"sku": sku, "quantity": quantity, "unit_price": money_json(v, unit_price)}),
        );
    }
    let points = if p.checked("use_all_points") {
        Some(json!("max"))
    } else {
        match p.get("points") {
            Some(n) => Some(json!(super::i18n::parse_count(n).ok_or_else(|| {
                UiError::Api(crate::error::ApiError::field(
                    "redeem_points",
                    v.t("points_whole"),
                ))
            })?)),
            None => None,
        }
    };
    let coupons: Vec<&str> = p.get("coupon").into_iter().collect();
    Ok(json!({
        "customer_id": p.get("customer_id"),
        "items": items,
        "total": money_json(v, total),
        "coupons": coupons,
        "redeem_points": points,
    }))
}

/// One line of a quote or receipt.
pub struct Line {
    pub label: String,
    pub value: String,
    pub strong: bool,
}

#[derive(Template)]
#[template(path = "partials/cashier_quote.html")]
struct QuoteFragment {
    v: View,
    csrf: String,
    lines: Vec<Line>,
    earns: String,
    refused: Vec<String>,
    /// What the quote was made of ([`sale_fields`]): the purchase is refused when the
    /// form it is sent with now says something else.
    quoted: String,
}

/// The sale form's fields as typed, in one string. The confirm button sends the form
/// as it is on screen with this string of what was quoted; a purchase whose form no
/// longer matches its quote is refused rather than recorded at the old values.
fn sale_fields(p: &Posted) -> String {
    let mut fields: Vec<(&str, Vec<&str>)> = [
        "customer_id",
        "amount",
        "coupon",
        "points",
        "receipt",
        "sale_key",
    ]
    .iter()
    .map(|k| (*k, p.get(k).into_iter().collect()))
    .collect();
    let all = if p.checked("use_all_points") {
        "on"
    } else {
        ""
    };
    fields.push(("use_all_points", vec![all]));
    for k in ["item_sku", "item_qty", "item_price"] {
        fields.push((k, p.all(k)));
    }
    serde_json::to_string(&fields).unwrap_or_default()
}

/// A refusal shown inside the panel (`target`, a box under the form that was sent), so
/// the customer, the balance and what was typed stay on screen. Without htmx, the page.
fn problem_at(ui: &Ui, target: &str, e: UiError, extra: Vec<String>) -> Response {
    let UiError::Api(api_err) = &e else {
        return e.respond(ui);
    };
    if !ui.htmx {
        return e.respond(ui);
    }
    let mut lines = super::problem_lines(&ui.v, api_err);
    lines.extend(extra);
    let mut r = render(&super::ProblemBox { lines });
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(api_err.code.status().as_str()) {
        h.insert("vafa-status", v);
    }
    if let Ok(t) = HeaderValue::from_str(target) {
        h.insert("hx-retarget", t);
    }
    h.insert("hx-reswap", HeaderValue::from_static("innerHTML"));
    r
}

/// The customer's points available, said when a spend was short of them.
async fn available_line(state: &AppState, ui: &Ui, id: &str, e: &UiError) -> Vec<String> {
    let short =
        matches!(e, UiError::Api(a) if a.code == crate::error::ErrorCode::InsufficientPoints);
    if !short {
        return Vec::new();
    }
    match api::points::balance(
        State(state.clone()),
        ui.auth(),
        Path(id.to_owned()),
        Query(api::points::BalanceQuery { at: None }),
    )
    .await
    {
        Ok(b) => vec![ui.v.tf(
            "points_available_n",
            &[("n", ui.v.n(&b.0.points.available))],
        )],
        Err(_) => Vec::new(),
    }
}

async fn quote(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/checkout/quote")?;
        let v = &ui.v;
        let body = cart(v, &p)?;
        let q = api::checkout::quote_view(State(state.clone()), ui.auth(), Json(input(body)?))
            .await?
            .0;
        let m = |d: &api::money::MoneyDto| v.money_str(&d.amount);
        let mut lines = vec![Line {
            label: v.t("cart_total"),
            value: m(&q.total),
            strong: false,
        }];
        for f in &q.free_items {
            lines.push(Line {
                label: v.tf("free_item", &[("sku", super::ltr(&f.sku))]),
                value: format!("− {}", m(&f.discount)),
                strong: false,
            });
        }
        if v.minor_of(&q.tier_discount.amount) != 0 {
            let names = super::tier_names(&state, ui).await?;
            let tier = q
                .tier
                .as_deref()
                .map(|t| super::tier_name_of(&names, t))
                .unwrap_or_default();
            let label = v.tf(
                "tier_discount_line",
                &[("tier", tier), ("p", v.digits(&q.tier_discount_percent))],
            );
            lines.push(Line {
                label,
                value: format!("− {}", m(&q.tier_discount)),
                strong: false,
            });
        }
        let mut refused = Vec::new();
        for c in &q.coupons {
            match &c.refused {
                Some(why) => refused.push(v.tf(
                    "coupon_refused",
                    &[("code", super::ltr(&c.code)), ("why", why.clone())],
                )),
                None => lines.push(Line {
                    label: v.tf("coupon_line", &[("code", super::ltr(&c.code))]),
                    value: format!("− {}", m(&c.discount)),
                    strong: false,
                }),
            }
        }
        if q.points_redeemed > 0 {
            lines.push(Line {
                label: v.tf("points_paid", &[("n", v.n(&q.points_redeemed))]),
                value: format!("− {}", m(&q.points_value)),
                strong: false,
            });
        }
        lines.push(Line {
            label: v.t("payable"),
            value: m(&q.payable),
            strong: true,
        });
        let earns = v.tf(
            "earns",
            &[
                ("n", v.n(&q.points_earned)),
                ("cashback", m(&q.cashback_earned)),
            ],
        );
        Ok(render(&QuoteFragment {
            v: v.clone(),
            csrf: ui.csrf.clone(),
            lines,
            earns,
            refused,
            quoted: sale_fields(&p),
        }))
    }
    .await;
    answer(ui, r)
}

#[derive(Template)]
#[template(path = "partials/cashier_receipt.html")]
struct ReceiptFragment {
    v: View,
    csrf: String,
    title: String,
    lines: Vec<Line>,
    p: Panel,
}

async fn purchase(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/purchases")?;
        let v = &ui.v;
        if p.get("quoted").is_some_and(|q| q != sale_fields(&p)) {
            return Err(UiError::Api(crate::error::ApiError::new(
                crate::error::ErrorCode::ValidationFailed,
                v.t("quote_stale"),
            )));
        }
        let cart = cart(v, &p)?;
        let mut body = json!({
            "customer_id": cart["customer_id"],
            "items": cart["items"],
            "total": cart["total"],
            "coupons": cart["coupons"],
            "channel": "counter",
            "checkout": {"redeem_points": cart["redeem_points"]},
        });
        if let Some(receipt) = p.get("receipt") {
            body["external_id"] = json!(receipt);
        }
        let key = p.get("sale_key").map(|k| format!("ui-sale:{k}"));
        let req = Idempotent::of("POST", "/api/v1/purchases", body, key)?;
        let (_, _, out) = api::purchases::create(State(state.clone()), ui.auth(), req).await?;
        let out = out.0;
        let m = |d: &api::money::MoneyDto| v.money_str(&d.amount);
        let mut lines = Vec::new();
        if let Some(c) = &out.checkout {
            lines.push(Line {
                label: v.t("cart_total"),
                value: m(&c.cart_total),
                strong: false,
            });
            if v.minor_of(&c.tier_discount.amount) != 0 {
                lines.push(Line {
                    label: v.t("tier_discount"),
                    value: format!("− {}", m(&c.tier_discount)),
                    strong: false,
                });
            }
            for cp in &c.coupons {
                lines.push(Line {
                    label: v.tf("coupon_line", &[("code", super::ltr(&cp.code))]),
                    value: format!("− {}", m(&cp.discount)),
                    strong: false,
                });
            }
            if c.points_redeemed > 0 {
                lines.push(Line {
                    label: v.tf("points_paid", &[("n", v.n(&c.points_redeemed))]),
                    value: format!("− {}", m(&c.points_value)),
                    strong: false,
                });
            }
            lines.push(Line {
                label: v.t("paid"),
                value: m(&c.paid),
                strong: true,
            });
        }
        let earned = if out.points.pending > 0 {
            v.tf(
                "earned_pending",
                &[
                    ("n", v.n(&out.points.earned)),
                    ("pending", v.n(&out.points.pending)),
                ],
            )
        } else {
            v.tf("earned_now", &[("n", v.n(&out.points.earned))])
        };
        lines.push(Line {
            label: v.t("points_earned"),
            value: earned,
            strong: false,
        });
        if let Some(change) = &out.tier_change {
            let tier = super::tier_name_of(&super::tier_names(&state, ui).await?, &change.to_tier);
            // A gift given again (`regift`) is no move up: it says the gift.
            let (label, value) = match change.kind.as_str() {
                "regift" => (
                    v.t("tier_gift_again"),
                    v.tf("n_points", &[("n", v.n(&change.gift_points))]),
                ),
                _ => (v.t("tier_up"), tier),
            };
            lines.push(Line {
                label,
                value,
                strong: true,
            });
        }
        let panel = panel(&state, ui, &out.customer_id).await?;
        Ok(render(&ReceiptFragment {
            v: v.clone(),
            csrf: ui.csrf.clone(),
            title: v.t("sale_recorded"),
            lines,
            p: panel,
        }))
    }
    .await;
    match r {
        Ok(res) => res,
        Err(e) => problem_at(ui, "#quote", e, Vec::new()),
    }
}

async fn redeem(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/customers/{id}/redemptions")?;
        let v = &ui.v;
        let id = p.get("customer_id").ok_or(UiError::NotFound)?.to_owned();
        let points = p
            .get("points")
            .and_then(super::i18n::parse_count)
            .ok_or_else(|| {
                UiError::Api(crate::error::ApiError::field("points", v.t("points_whole")))
            })?;
        let key = p.get("redeem_key").map(|k| format!("ui-redeem:{k}"));
        let path = format!("/api/v1/customers/{id}/redemptions");
        let req = Idempotent::of("POST", &path, json!({"points": points}), key)?;
        let (_, _, out) =
            api::points::redeem(State(state.clone()), ui.auth(), Path(id.clone()), req).await?;
        let out = out.0;
        let lines = vec![Line {
            label: v.tf("points_paid", &[("n", v.n(&out.points))]),
            value: v.money_str(&out.value.amount),
            strong: true,
        }];
        let panel = panel(&state, ui, &id).await?;
        Ok(render(&ReceiptFragment {
            v: v.clone(),
            csrf: ui.csrf.clone(),
            title: v.t("redeemed_title"),
            lines,
            p: panel,
        }))
    }
    .await;
    match r {
        Ok(res) => res,
        Err(e) => {
            let id = p.get("customer_id").unwrap_or_default();
            let extra = available_line(&state, ui, id, &e).await;
            problem_at(ui, "#redeem-problem", e, extra)
        }
    }
}

async fn use_code(State(state): State<AppState>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/reward-codes/{code}/use")?;
        let v = &ui.v;
        let code = p.get("code").ok_or_else(|| {
            UiError::Api(crate::error::ApiError::field("code", v.t("code_needed")))
        })?;
        let claim = api::rewards::use_code(State(state.clone()), ui.auth(), Path(code.to_owned()))
            .await?
            .0;
        let lines = vec![
            Line {
                label: v.t("reward"),
                value: claim.reward_name.clone(),
                strong: true,
            },
            Line {
                label: v.t("reward_code"),
                value: super::ltr(&claim.code),
                strong: false,
            },
        ];
        let panel = panel(&state, ui, &claim.customer_id).await?;
        Ok(render(&ReceiptFragment {
            v: v.clone(),
            csrf: ui.csrf.clone(),
            title: v.t("code_used"),
            lines,
            p: panel,
        }))
    }
    .await;
    match r {
        Ok(res) => res,
        // A code that names nothing is a mistyped code, said of the field.
        Err(UiError::Api(e)) if e.code == crate::error::ErrorCode::NotFound => problem_at(
            ui,
            "#code-problem",
            UiError::Api(crate::error::ApiError::field(
                "code",
                ui.v.t("code_unknown"),
            )),
            Vec::new(),
        ),
        Err(e) => problem_at(ui, "#code-problem", e, Vec::new()),
    }
}
