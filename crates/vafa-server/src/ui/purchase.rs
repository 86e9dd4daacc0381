//! A purchase's page: its lines (what each earned, how many came back already), its
//! returns, and the return form — by lines or by an amount. A return is taken through
//! the same API handler a POS calls, with an idempotency key made when the form was
//! drawn (a double click records one return), and the page it leads to tells the cashier
//! what to hand back in money and what went back to the customer's points and cashback.

use super::customer::signed;
use super::{answer, money_json, render, Chrome, Posted, Ui, UiError, View};
use crate::api;
use crate::error::ApiError;
use crate::extract::Idempotent;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use vafa_core::auth::Permission;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/purchases/{id}", get(page))
        .route("/purchases/{id}/returns", post(take_return))
}

pub struct LineRow {
    pub no: i64,
    pub item: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
    pub points: String,
    pub returned: String,
    /// How many may still come back (0: none).
    pub left: i64,
    /// The quantity typed into a refused return form.
    pub typed: String,
}

pub struct ReturnRow {
    pub id: String,
    pub at: String,
    pub amount: String,
    pub points_reversed: String,
    pub refunded: String,
    pub money_refund: String,
}

/// What the cashier hands back, shown once after a return.
pub struct HandBack {
    pub money: String,
    pub details: Vec<String>,
}

#[derive(Template)]
#[template(path = "purchase.html")]
struct PurchasePage {
    c: Chrome,
    v: View,
    csrf: String,
    id: String,
    heading: String,
    customer_id: String,
    customer_name: String,
    facts: Vec<(String, String)>,
    lines: Vec<LineRow>,
    returns: Vec<ReturnRow>,
    hand_back: Option<HandBack>,
    /// Money still returnable, shown in the amount field's hint.
    left: String,
    can_return: bool,
    return_key: String,
    /// The return form as typed when it was refused, with why.
    refused: ReturnForm,
}

/// The return form as typed, and why it was refused: the page is drawn again with it,
/// so nothing typed is lost.
#[derive(Default)]
pub struct ReturnForm {
    /// The quantity typed for each line, by the line's number.
    pub quantities: Vec<(i64, String)>,
    pub amount: String,
    pub problems: Vec<String>,
}

#[derive(serde::Deserialize)]
struct PageQuery {
    returned: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    ui: Ui,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Response {
    let r = build(
        &state,
        &ui,
        &id,
        q.returned.as_deref(),
        ReturnForm::default(),
    )
    .await;
    answer(&ui, r)
}

async fn build(
    state: &AppState,
    ui: &Ui,
    id: &str,
    returned: Option<&str>,
    refused: ReturnForm,
) -> super::UiResult {
    ui.require(Permission::PurchasesRead)?;
    let v = &ui.v;
    let st = || State(state.clone());
    let p = api::purchases::get(st(), ui.auth(), Path(id.to_owned()))
        .await?
        .0;
    let customer_name = if ui.can(Permission::CustomersRead) {
        let c = api::customers::get(st(), ui.auth(), Path(p.customer_id.clone()))
            .await?
            .0;
        super::cashier::full_name(v, &c)
    } else {
        String::new()
    };
    let m = |x: &api::money::MoneyDto| v.money_str(&x.amount);
    let minor = |x: &api::money::MoneyDto| v.minor_of(&x.amount);
    let mut facts = vec![
        (v.t("purchase_when"), v.at(&p.occurred_at)),
        (v.t("purchase_total"), m(&p.total)),
    ];
    if minor(&p.discount) > 0 {
        facts.push((v.t("cart_total"), m(&p.cart_total)));
        facts.push((v.t("discount"), m(&p.discount)));
    }
    if p.points_redeemed > 0 || minor(&p.redeemed_value) > 0 {
        facts.push((
            v.t("paid_with_points_cashback"),
            v.tf(
                "points_worth",
                &[
                    ("n", v.n(&p.points_redeemed)),
                    ("value", m(&p.redeemed_value)),
                ],
            ),
        ));
    }
    facts.push((v.t("points_earned"), v.n(&p.points_earned)));
    if minor(&p.cashback_earned) > 0 {
        facts.push((v.t("cashback_earned"), m(&p.cashback_earned)));
    }
    if minor(&p.returned) > 0 {
        facts.push((v.t("purchase_returned"), m(&p.returned)));
        facts.push((v.t("points_reversed"), v.n(&p.points_reversed)));
    }
    if let Some(x) = &p.store {
        facts.push((v.t("store"), x.clone()));
    }
    // The channels the counter and POS send, in words; any other as sent, left to right.
    if let Some(x) = &p.channel {
        let key = format!("purchase_channel_{x}");
        let said = v.t(&key);
        facts.push((
            v.t("channel"),
            if said == key { super::ltr(x) } else { said },
        ));
    }
    let lines = p
        .lines
        .iter()
        .map(|l| LineRow {
            no: l.line,
            item: match (&l.name, &l.sku) {
                (Some(n), Some(s)) => format!("{n} ({s})"),
                (Some(x), None) | (None, Some(x)) => x.clone(),
                (None, None) => "—".to_owned(),
            },
            quantity: v.n(&l.quantity),
            unit_price: m(&l.unit_price),
            amount: m(&l.amount),
            points: v.n(&l.points),
            returned: v.n(&l.returned_quantity),
            left: l.quantity - l.returned_quantity,
            typed: refused
                .quantities
                .iter()
                .find(|(n, _)| *n == l.line)
                .map(|(_, q)| q.clone())
                .unwrap_or_default(),
        })
        .collect();
    let mut hand_back = None;
    let returns = p
        .returns
        .iter()
        .map(|r| {
            let mut refunded = Vec::new();
            if r.points_refunded > 0 {
                refunded.push(v.tf("n_points", &[("n", v.n(&r.points_refunded))]));
            }
            if minor(&r.cashback_refunded) > 0 {
                refunded.push(v.tf("cashback_amount", &[("amount", m(&r.cashback_refunded))]));
            }
            if Some(r.id.as_str()) == returned {
                let mut details =
                    vec![v.tf("points_taken_back", &[("n", v.n(&r.points_reversed))])];
                if r.tier_gift_points_reversed > 0 {
                    details.push(v.tf(
                        "tier_gift_taken_back",
                        &[("n", v.n(&r.tier_gift_points_reversed))],
                    ));
                }
                if r.points_refunded > 0 {
                    details.push(v.tf("points_given_back", &[("n", v.n(&r.points_refunded))]));
                }
                if minor(&r.cashback_refunded) > 0 {
                    details.push(v.tf(
                        "cashback_given_back",
                        &[("amount", m(&r.cashback_refunded))],
                    ));
                }
                if minor(&r.cashback_reversed) > 0 {
                    details.push(v.tf(
                        "cashback_taken_back",
                        &[("amount", m(&r.cashback_reversed))],
                    ));
                }
                hand_back = Some(HandBack {
                    money: m(&r.money_refund),
                    details,
                });
            }
            ReturnRow {
                id: r.id.clone(),
                at: v.at(&r.at),
                amount: m(&r.amount),
                points_reversed: signed(v, -(r.points_reversed + r.tier_gift_points_reversed)),
                refunded: refunded.join(" • "),
                money_refund: m(&r.money_refund),
            }
        })
        .collect();
    let left_minor = minor(&p.total) - minor(&p.returned);
    let heading = match &p.external_id {
        Some(e) => v.tf("purchase_receipt", &[("receipt", e.clone())]),
        None => v.t("purchase"),
    };
    Ok(render(&PurchasePage {
        c: ui.chrome("purchase"),
        v: v.clone(),
        csrf: ui.csrf.clone(),
        id: p.id.clone(),
        heading,
        customer_id: p.customer_id.clone(),
        customer_name,
        facts,
        lines,
        returns,
        hand_back,
        left: v.money(&left_minor),
        can_return: ui.can(Permission::PurchasesReturn) && left_minor > 0,
        return_key: vafa_store::keys::random_token(),
        refused,
    }))
}

/// The return the form describes: the lines with a quantity typed, or else the amount.
fn return_body(p: &Posted) -> Result<serde_json::Value, UiError> {
    let v = &p.ui.v;
    let mut items = Vec::new();
    for (line, qty) in p.all("line").into_iter().zip(p.all("qty")) {
        if qty.is_empty() {
            continue;
        }
        let line: i64 = line
            .parse()
            .map_err(|_| UiError::Api(ApiError::field("items", v.t("return_nothing_chosen"))))?;
        // Named by the purchase's line: the API would count only the lines sent.
        let field = format!("items[{}].quantity", line.saturating_sub(1));
        let qty = super::i18n::parse_count(qty)
            .ok_or_else(|| UiError::Api(ApiError::field(&field, v.t("must_be_whole"))))?;
        if qty < 0 {
            return Err(UiError::Api(ApiError::field(
                &field,
                v.t("apimsg_negative"),
            )));
        }
        if qty > 1_000_000 {
            return Err(UiError::Api(ApiError::field(
                &field,
                v.t("apimsg_too_large"),
            )));
        }
        // Zero is "not this line"; more than was bought is the store's to refuse.
        if qty != 0 {
            items.push(json!({"line": line, "quantity": qty}));
        }
    }
    match (items.is_empty(), p.money("amount")?) {
        (false, None) => Ok(json!({"items": items})),
        (true, Some(a)) if a > 0 => Ok(json!({"amount": money_json(v, a)})),
        (false, Some(_)) => Err(UiError::Api(ApiError::field(
            "amount",
            v.t("return_lines_or_amount"),
        ))),
        (true, _) => Err(UiError::Api(ApiError::field(
            "items",
            v.t("return_nothing_chosen"),
        ))),
    }
}

async fn take_return(State(state): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/purchases/{id}/returns")?;
        let taken = async {
            let body = return_body(&p)?;
            let key = p.get("return_key").map(|k| format!("ui-return:{k}"));
            let path = format!("/api/v1/purchases/{id}/returns");
            let req = Idempotent::of("POST", &path, body, key)?;
            let (_, _, out) = api::purchases::create_return(
                State(state.clone()),
                ui.auth(),
                Path(id.clone()),
                req,
            )
            .await?;
            Ok::<String, UiError>(out.0.id)
        };
        let return_id = match taken.await {
            Ok(r) => r,
            // On the page (no htmx), refused: the page again with what was typed and why,
            // under a new key (nothing was recorded). htmx keeps the form on screen and
            // shows the problem beside it.
            Err(UiError::Api(e)) if !ui.htmx => {
                let refused = ReturnForm {
                    quantities: p
                        .all("line")
                        .into_iter()
                        .zip(p.all("qty"))
                        .filter_map(|(n, q)| Some((n.parse().ok()?, q.to_owned())))
                        .collect(),
                    amount: p.get("amount").unwrap_or_default().to_owned(),
                    problems: super::problem_lines(&ui.v, &e),
                };
                let page = build(&state, ui, &id, None, refused).await?;
                return Ok((e.code.status(), page).into_response());
            }
            Err(e) => return Err(e),
        };
        let to = format!("/purchases/{id}?returned={return_id}");
        if ui.htmx {
            // The whole page changes (lines, returns, what to hand back): htmx loads it.
            let mut r = StatusCode::OK.into_response();
            if let Ok(h) = HeaderValue::from_str(&to) {
                r.headers_mut().insert("hx-redirect", h);
            }
            return Ok(r);
        }
        Ok(Redirect::to(&to).into_response())
    }
    .await;
    answer(ui, r)
}
