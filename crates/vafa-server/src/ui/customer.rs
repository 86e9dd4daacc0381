//! Customers: the list with search, and the customer 360 — profile and consent, cards,
//! balance, tier progress, the ledger, the merged timeline, tickets, tasks and
//! feedback — with a form to log a call or a note. Each section is read through the
//! API handler it mirrors and shown only when the role may read it.

use super::cashier::{full_name, mobile_display};
use super::{answer, render, Chrome, Posted, Ui, UiError, View};
use crate::api;
use crate::extract::{Json, Query};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use std::collections::HashMap;
use vafa_core::auth::Permission;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list))
        .route("/customers/{id}", get(page))
        .route("/customers/{id}/timeline", get(timeline_more))
        .route("/customers/{id}/purchases", get(purchases_more))
        .route("/customers/{id}/interactions", post(log_interaction))
        .route("/customers/{id}/tickets", post(open_ticket))
        .route("/customers/{id}/tasks", post(make_task))
        .route("/customers/{id}/adjustments", post(adjust_points))
        .route("/customers/{id}/merge", post(merge_duplicate))
}

pub struct Row {
    pub id: String,
    pub name: String,
    pub mobile: String,
    pub city: String,
    pub status: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct ListPage {
    c: Chrome,
    q: String,
    rows: Vec<Row>,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    let r = async {
        ui.require(Permission::CustomersRead)?;
        let v = &ui.v;
        let query = api::customers::CustomerListQuery {
            mobile: None,
            card: None,
            tag: None,
            external_id: None,
            q: q.q.clone().filter(|s| !s.trim().is_empty()),
            status: None,
            cursor: q.cursor.clone(),
            limit: Some(50),
        };
        let page = api::customers::list(State(state.clone()), ui.auth(), Query(query))
            .await?
            .0;
        let rows = page
            .items
            .iter()
            .map(|c| Row {
                id: c.id.clone(),
                name: full_name(v, c),
                mobile: mobile_display(v, c.mobile.as_deref()),
                city: c.city.clone().unwrap_or_default(),
                status: v.t(&format!("status_{}", c.status)),
                since: v.day(&c.created_at.to_zoned(v.tz.clone()).date()),
            })
            .collect();
        let next = page.next_cursor.map(|c| {
            let mut url = format!("/customers?cursor={}", urlencode(&c));
            if let Some(q) = &q.q {
                url.push_str(&format!("&q={}", urlencode(q)));
            }
            url
        });
        Ok(render(&ListPage {
            c: ui.chrome("nav_customers"),
            q: q.q.unwrap_or_default(),
            rows,
            next,
        }))
    }
    .await;
    answer(&ui, r)
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// One line of a section: when, what, how much, and a note.
pub struct Item {
    pub at: String,
    pub kind: String,
    pub title: String,
    pub text: String,
    pub value: String,
    pub who: String,
    pub href: Option<String>,
    pub tone: &'static str,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    c: Chrome,
    v: View,
    csrf: String,
    id: String,
    name: String,
    profile: Vec<(String, String)>,
    consent: Vec<(String, String)>,
    tags: Vec<String>,
    cards: Vec<(String, String, String)>,
    facts: Vec<(String, String)>,
    expiring: Vec<String>,
    tier: Option<TierBox>,
    ledger: Vec<Item>,
    purchases: Vec<Item>,
    purchases_next: Option<String>,
    timeline: Vec<Item>,
    timeline_next: Option<String>,
    tickets: Vec<Item>,
    tasks: Vec<Item>,
    feedback: Vec<Item>,
    can_log: bool,
    can_sell: bool,
    /// The idempotency key of the adjustment form, when the role may adjust.
    adjust_key: Option<String>,
    /// Whether the role may merge a duplicate into this (open) customer.
    can_merge: bool,
    kinds: Vec<(String, String)>,
    /// The promise form as typed when it was refused, with why.
    task: TaskForm,
    /// The log-a-contact form as typed when it was refused, with why.
    contact: Refused,
    /// The open-a-ticket form as typed when it was refused, with why.
    ticket: Refused,
}

/// A form of the 360 as typed when it was refused, and why: the page is drawn again
/// with it open, so nothing typed is lost.
#[derive(Default)]
pub struct Refused {
    pub typed: super::Typed,
    pub problems: Vec<String>,
}

impl Refused {
    fn of(p: &Posted, e: &crate::error::ApiError) -> Refused {
        Refused {
            typed: super::Typed::of(p),
            problems: super::problem_lines(&p.ui.v, e),
        }
    }
}

/// The 360's forms, one of them perhaps refused.
#[derive(Default)]
struct Forms {
    task: TaskForm,
    contact: Refused,
    ticket: Refused,
}

/// The promise (task) form as typed, and why it was refused: the page is drawn again
/// with it open, so nothing typed is lost.
#[derive(Default)]
pub struct TaskForm {
    pub title: String,
    pub kind: String,
    pub due_at: String,
    pub notes: String,
    pub problems: Vec<String>,
}

pub struct TierBox {
    pub name: String,
    pub benefits: String,
    pub next: Option<String>,
    pub progress: Option<f64>,
    pub history: Vec<String>,
}

#[derive(Template)]
#[template(path = "partials/timeline_more.html")]
struct TimelineMore {
    v: View,
    items: Vec<Item>,
    next: Option<String>,
}

async fn page(State(state): State<AppState>, ui: Ui, Path(id): Path<String>) -> Response {
    let r = build(&state, &ui, &id, Forms::default()).await;
    answer(&ui, r)
}

fn tier_name(v: &View, t: &vafa_core::tiers::Tier) -> String {
    match (v.lang, &t.name_en) {
        (super::Lang::En, Some(en)) => en.clone(),
        _ => t.name.clone(),
    }
}

async fn build(state: &AppState, ui: &Ui, id: &str, forms: Forms) -> super::UiResult {
    ui.require(Permission::CustomersRead)?;
    let v = &ui.v;
    let st = || State(state.clone());
    let c = api::customers::get(st(), ui.auth(), Path(id.to_owned()))
        .await?
        .0;
    let open = !matches!(c.status.as_str(), "erased" | "merged");
    let staff = staff_names(state, ui).await;
    let dash = || "—".to_owned();
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(dash);
    let mut profile = vec![
        (v.t("mobile"), mobile_display(v, c.mobile.as_deref())),
        (v.t("email"), opt(&c.email)),
        (
            v.t("birth_date"),
            c.birth_date
                .as_deref()
                .and_then(|d| d.parse().ok())
                .map(|d| v.day(&d))
                .unwrap_or_else(dash),
        ),
        (v.t("city"), opt(&c.city)),
        (v.t("occupation"), opt(&c.occupation)),
        (
            v.t("gender"),
            c.gender
                .as_ref()
                .map(|g| v.t(&format!("gender_{g}")))
                .unwrap_or_else(dash),
        ),
        (v.t("status"), v.t(&format!("status_{}", c.status))),
        (
            v.t("member_since"),
            v.day(&c.created_at.to_zoned(v.tz.clone()).date()),
        ),
    ];
    if let Some(e) = &c.external_id {
        profile.push((v.t("external_id"), e.clone()));
    }
    let consent_of = |s: &Option<api::customers::ConsentState>| match s {
        Some(s) if s.granted => v.t("consent_yes"),
        Some(_) => v.t("consent_no"),
        None => v.t("consent_unknown"),
    };
    let consent = vec![
        (v.t("sms"), consent_of(&c.consent.sms)),
        (v.t("email"), consent_of(&c.consent.email)),
        (v.t("call"), consent_of(&c.consent.call)),
    ];
    let cards = if ui.can(Permission::CardsRead) {
        api::customers::cards(st(), ui.auth(), Path(id.to_owned()))
            .await?
            .0
            .cards
            .into_iter()
            .map(|k| {
                (
                    v.digits(&k.number_display),
                    v.t(&format!("card_{}", k.kind)),
                    v.t(&format!("card_status_{}", k.status)),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let (mut facts, mut expiring, mut ledger) = (Vec::new(), Vec::new(), Vec::new());
    if ui.can(Permission::LedgerRead) {
        let b = api::points::balance(
            st(),
            ui.auth(),
            Path(id.to_owned()),
            Query(api::points::BalanceQuery { at: None }),
        )
        .await?
        .0;
        facts.push((v.t("points_available"), v.n(&b.points.available)));
        facts.push((v.t("points_pending"), v.n(&b.points.pending)));
        if b.points.debt > 0 {
            facts.push((v.t("points_debt"), v.n(&b.points.debt)));
        }
        facts.push((v.t("cashback"), v.money_str(&b.cashback.amount)));
        if let Some(l) = &b.lifetime {
            facts.push((v.t("lifetime_earned"), v.n(&l.earned)));
            facts.push((v.t("lifetime_redeemed"), v.n(&l.redeemed)));
            facts.push((v.t("lifetime_expired"), v.n(&l.expired)));
        }
        expiring = b
            .points
            .expiring_soon
            .iter()
            .map(|e| {
                v.tf(
                    "expiring_on",
                    &[("n", v.n(&e.points)), ("day", v.at(&e.at))],
                )
            })
            .collect();
        let page = api::points::ledger(
            st(),
            ui.auth(),
            Path(id.to_owned()),
            Query(api::points::LedgerQuery {
                cursor: None,
                limit: Some(15),
            }),
        )
        .await?
        .0;
        ledger = page
            .items
            .iter()
            .map(|e| Item {
                at: v.at(&e.at),
                kind: v.t(&format!("entry_{}", e.kind)),
                title: String::new(),
                text: e
                    .explanation
                    .get("reason")
                    .and_then(|r| r.as_str())
                    .unwrap_or("")
                    .to_owned(),
                value: signed(v, e.points),
                who: e
                    .points_balance_after
                    .map(|b| v.tf("balance_after", &[("n", v.n(&b))]))
                    .unwrap_or_default(),
                href: None,
                tone: if e.points < 0 { "bad" } else { "ok" },
            })
            .collect();
    }
    let (purchases, purchases_next) = match ui.can(Permission::PurchasesRead) {
        true => purchases_page(state, ui, id, None).await?,
        false => (Vec::new(), None),
    };
    let tier = match state
        .store
        .customer_tier(&ui.principal.program_id, id, state.clock.now())
        .await?
    {
        None => None,
        Some(t) => {
            let standing = api::tiers::TierStanding::new(t);
            let names = super::tier_names(state, ui).await?;
            let history = state
                .store
                .tier_history(&ui.principal.program_id, id)
                .await?
                .iter()
                .take(5)
                .map(|h| {
                    format!(
                        "{} • {} {} {}",
                        v.at(&h.at),
                        h.from_tier
                            .as_deref()
                            .map(|t| super::tier_name_of(&names, t))
                            .unwrap_or_else(dash),
                        v.arrow(),
                        super::tier_name_of(&names, &h.to_tier)
                    )
                })
                .collect();
            let next = standing.next.as_ref().map(|n| {
                let needed = if standing.metric == "spend" {
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
            });
            Some(TierBox {
                name: tier_name(v, &standing.tier),
                benefits: v.tf(
                    "tier_benefits",
                    &[
                        (
                            "discount",
                            v.decimal_text(&standing.tier.discount_percent.normalize().to_string()),
                        ),
                        (
                            "multiplier",
                            v.decimal_text(&standing.tier.earn_multiplier.normalize().to_string()),
                        ),
                    ],
                ),
                progress: standing.next.as_ref().map(|n| n.progress_percent),
                next,
                history,
            })
        }
    };
    let (mut timeline, mut timeline_next, mut tickets, mut tasks, mut feedback) =
        (Vec::new(), None, Vec::new(), Vec::new(), Vec::new());
    if ui.can(Permission::CrmRead) {
        let (items, next) = timeline_page(state, ui, id, None, &staff).await?;
        timeline = items;
        timeline_next = next;
        let tq = api::crm::TicketListQuery {
            status: None,
            open: None,
            assignee_id: None,
            customer_id: Some(id.to_owned()),
            breached: None,
            cursor: None,
            limit: Some(20),
        };
        let now = state.clock.now();
        tickets = api::crm::list_tickets(st(), ui.auth(), Query(tq))
            .await?
            .0
            .items
            .iter()
            .map(|t| super::crm::ticket_item(v, t, now, &staff))
            .collect();
        let kq = api::crm::TaskListQuery {
            status: None,
            kind: None,
            assignee_id: None,
            customer_id: Some(id.to_owned()),
            overdue: None,
            cursor: None,
            limit: Some(20),
        };
        tasks = api::crm::list_tasks(st(), ui.auth(), Query(kq))
            .await?
            .0
            .items
            .iter()
            .map(|t| super::crm::task_item(v, t, &staff))
            .collect();
        let fq = api::crm::FeedbackListQuery {
            kind: None,
            staff_id: None,
            customer_id: Some(id.to_owned()),
            from: None,
            to: None,
            cursor: None,
            limit: Some(20),
        };
        feedback = api::crm::list_feedback(st(), ui.auth(), Query(fq))
            .await?
            .0
            .items
            .iter()
            .map(|f| super::crm::feedback_item(v, f, &staff))
            .collect();
    }
    let kinds = ["call", "sms", "email", "visit", "meeting", "note"]
        .iter()
        .map(|k| ((*k).to_owned(), v.t(&format!("interaction_{k}"))))
        .collect();
    Ok(render(&CustomerPage {
        c: ui.chrome("nav_customers"),
        v: v.clone(),
        csrf: ui.csrf.clone(),
        id: id.to_owned(),
        name: full_name(v, &c),
        profile,
        consent,
        tags: c.tags.clone(),
        cards,
        facts,
        expiring,
        tier,
        ledger,
        purchases,
        purchases_next,
        timeline,
        timeline_next,
        tickets,
        tasks,
        feedback,
        can_log: ui.can(Permission::CrmWrite),
        can_sell: ui.can(Permission::PurchasesWrite),
        adjust_key: ui
            .can(Permission::PointsAdjust)
            .then(vafa_store::keys::random_token),
        can_merge: ui.can(Permission::CustomersMerge) && open,
        kinds,
        task: forms.task,
        contact: forms.contact,
        ticket: forms.ticket,
    }))
}

/// A page of the customer's purchases, and the URL of the next.
async fn purchases_page(
    state: &AppState,
    ui: &Ui,
    id: &str,
    cursor: Option<String>,
) -> Result<(Vec<Item>, Option<String>), UiError> {
    let page = api::purchases::list_for_customer(
        State(state.clone()),
        ui.auth(),
        Path(id.to_owned()),
        Query(api::points::LedgerQuery {
            cursor,
            limit: Some(10),
        }),
    )
    .await?
    .0;
    let items = page.items.iter().map(|p| purchase_item(&ui.v, p)).collect();
    let next = page
        .next_cursor
        .map(|c| format!("/customers/{id}/purchases?cursor={}", urlencode(&c)));
    Ok((items, next))
}

async fn purchases_more(
    State(state): State<AppState>,
    ui: Ui,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<CursorQuery>,
) -> Response {
    let r = async {
        ui.require(Permission::PurchasesRead)?;
        let (items, next) = purchases_page(&state, &ui, &id, q.cursor).await?;
        Ok(render(&TimelineMore {
            v: ui.v.clone(),
            items,
            next,
        }))
    }
    .await;
    answer(&ui, r)
}

/// A purchase in the customer's list: its receipt, sale and what came back of it.
fn purchase_item(v: &View, p: &api::purchases::PurchaseSummaryView) -> Item {
    let returned = v.minor_of(&p.returned.amount);
    let total = v.minor_of(&p.total.amount);
    let mut notes = vec![v.tf("n_points", &[("n", v.n(&p.points_earned))])];
    if p.points_redeemed > 0 {
        notes.push(v.tf("points_paid", &[("n", v.n(&p.points_redeemed))]));
    }
    if returned > 0 {
        notes.push(v.tf("returned_amount", &[("amount", v.money(&returned))]));
    }
    Item {
        at: v.at(&p.occurred_at),
        kind: p.store.clone().unwrap_or_else(|| v.t("purchase")),
        title: match &p.external_id {
            Some(e) => v.tf("purchase_receipt", &[("receipt", e.clone())]),
            None => v.t("purchase"),
        },
        text: notes.join(" • "),
        value: v.money(&total),
        who: String::new(),
        href: Some(format!("/purchases/{}", p.id)),
        tone: if returned >= total && total > 0 {
            "bad"
        } else {
            "ok"
        },
    }
}

pub fn signed(v: &View, n: i64) -> String {
    if n > 0 {
        format!("+{}", v.n(&n))
    } else {
        v.n(&n)
    }
}

/// Staff names by id, for "who" columns (empty when the role may not list staff).
pub async fn staff_names(state: &AppState, ui: &Ui) -> HashMap<String, String> {
    if !ui.can(Permission::CrmRead) {
        return HashMap::new();
    }
    state
        .store
        .list_staff(&ui.principal.program_id)
        .await
        .map(|l| l.into_iter().map(|s| (s.id, s.name)).collect())
        .unwrap_or_default()
}

async fn timeline_page(
    state: &AppState,
    ui: &Ui,
    id: &str,
    cursor: Option<String>,
    staff: &HashMap<String, String>,
) -> Result<(Vec<Item>, Option<String>), UiError> {
    let v = &ui.v;
    let page = api::crm::timeline(
        State(state.clone()),
        ui.auth(),
        Path(id.to_owned()),
        Query(api::crm::PageQuery {
            cursor,
            limit: Some(25),
        }),
    )
    .await?
    .0;
    // The program's words for its own order stages.
    let stage_labels = match page.items.iter().any(|t| t.kind == "order") {
        true => {
            state
                .store
                .crm_settings(&ui.principal.program_id)
                .await?
                .stage_labels
        }
        false => Default::default(),
    };
    let items = page
        .items
        .iter()
        .map(|t| {
            let value = match (t.kind.as_str(), t.value) {
                ("purchase", Some(m)) => v.money(&m),
                ("ledger", Some(p)) => signed(v, p),
                ("feedback", Some(s)) => v.n(&s),
                _ => String::new(),
            };
            let title = match t.kind.as_str() {
                // A status change says which status; an assignment, to whom.
                "ticket" if t.detail.is_some() => {
                    let to = t.detail.clone().unwrap_or_default();
                    let to = match t.title.as_deref() {
                        Some("status") => v.t(&format!("ticket_status_{to}")),
                        _ => staff.get(&to).cloned().unwrap_or(to),
                    };
                    let event = v.t(&format!("ticket_{}", t.title.clone().unwrap_or_default()));
                    format!("{event} {} {to}", v.arrow())
                }
                "interaction" | "ledger" | "ticket" => {
                    let key = format!(
                        "{}_{}",
                        if t.kind == "ledger" {
                            "entry"
                        } else {
                            t.kind.as_str()
                        },
                        t.title.clone().unwrap_or_default()
                    );
                    v.t(&key)
                }
                "feedback" => t.title.clone().unwrap_or_default().to_uppercase(),
                "order" => {
                    // A custom stage reads as the program named it (or its code, spaced).
                    let stage = t.title.clone().unwrap_or_default();
                    let key = format!("stage_{stage}");
                    match v.t(&key) {
                        label if label != key => label,
                        _ => vafa_core::crm::stage_label(
                            &stage,
                            v.lang == super::Lang::Fa,
                            &stage_labels,
                        ),
                    }
                }
                "task_closed" => v.t(&format!(
                    "task_status_{}",
                    t.title.clone().unwrap_or_default()
                )),
                _ => t.title.clone().unwrap_or_default(),
            };
            // Ledger explanations are JSON: show the reason when there is one.
            let text = if t.kind == "ledger" {
                t.text
                    .as_deref()
                    .and_then(|x| serde_json::from_str::<serde_json::Value>(x).ok())
                    .and_then(|j| j.get("reason").and_then(|r| r.as_str()).map(str::to_owned))
                    .unwrap_or_default()
            } else if let ("gift" | "coupon", Some(d)) = (t.kind.as_str(), &t.detail) {
                // The code, and whether it is still good.
                format!(
                    "{} · {}",
                    t.text.clone().unwrap_or_default(),
                    v.t(&format!("{}_{d}", t.kind))
                )
            } else {
                t.text.clone().unwrap_or_default()
            };
            Item {
                at: v.at(&t.at),
                kind: v.t(&format!("tl_{}", t.kind)),
                title,
                text,
                value,
                who: t
                    .staff_id
                    .as_ref()
                    .and_then(|s| staff.get(s))
                    .cloned()
                    .unwrap_or_default(),
                href: match t.kind.as_str() {
                    "ticket" => t.ref_id.as_ref().map(|r| format!("/crm/tickets/{r}")),
                    _ => None,
                },
                tone: "",
            }
        })
        .collect();
    let next = page
        .next_cursor
        .map(|c| format!("/customers/{id}/timeline?cursor={}", urlencode(&c)));
    Ok((items, next))
}

#[derive(serde::Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

async fn timeline_more(
    State(state): State<AppState>,
    ui: Ui,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<CursorQuery>,
) -> Response {
    let r = async {
        ui.require(Permission::CrmRead)?;
        let staff = staff_names(&state, &ui).await;
        let (items, next) = timeline_page(&state, &ui, &id, q.cursor, &staff).await?;
        Ok(render(&TimelineMore {
            v: ui.v.clone(),
            items,
            next,
        }))
    }
    .await;
    answer(&ui, r)
}

async fn log_interaction(
    State(state): State<AppState>,
    Path(id): Path<String>,
    p: Posted,
) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/customers/{id}/interactions")?;
        let body = json!({
            "kind": p.get("kind").unwrap_or("note"),
            "direction": p.get("direction"),
            "outcome": p.get("outcome"),
            "summary": p.get("summary"),
        });
        let made = match super::input(body) {
            Ok(b) => api::crm::record_interaction(
                State(state.clone()),
                ui.auth(),
                Path(id.clone()),
                Json(b),
            )
            .await
            .map(|_| ())
            .map_err(UiError::from),
            Err(e) => Err(e),
        };
        let to = format!("/customers/{id}#timeline");
        go_on_or_redraw(&state, ui, &id, made.map(|()| to), |e| Forms {
            contact: Refused::of(&p, e),
            ..Forms::default()
        })
        .await
    }
    .await;
    answer(ui, r)
}

/// A 360 form's answer: written, on to `to`; refused by the API, the 360 again with the
/// forms `refused` draws from the refusal (what was typed, and why), under its status.
async fn go_on_or_redraw(
    state: &AppState,
    ui: &Ui,
    id: &str,
    made: Result<String, UiError>,
    refused: impl FnOnce(&crate::error::ApiError) -> Forms,
) -> super::UiResult {
    match made {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(UiError::Api(e)) => {
            let page = build(state, ui, id, refused(&e)).await?;
            Ok((e.code.status(), page).into_response())
        }
        Err(e) => Err(e),
    }
}

/// Open a ticket for the customer (a complaint taken at the counter or on the phone) and
/// go to it; refused, the 360 again with the form as typed and why.
async fn open_ticket(State(state): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/tickets")?;
        let body = json!({
            "customer_id": id,
            "subject": p.get("subject").unwrap_or(""),
            "category": p.get("category"),
            "priority": p.get("priority"),
            "channel": p.get("channel"),
            "description": p.get("description"),
        });
        let made = match super::input(body) {
            Ok(b) => api::crm::open_ticket(State(state.clone()), ui.auth(), Json(b))
                .await
                .map(|(_, made)| made.0.ticket.id)
                .map_err(UiError::from),
            Err(e) => Err(e),
        };
        let to = made.map(|ticket| format!("/crm/tickets/{ticket}"));
        go_on_or_redraw(&state, ui, &id, to, |e| Forms {
            ticket: Refused::of(&p, e),
            ..Forms::default()
        })
        .await
    }
    .await;
    answer(ui, r)
}

/// Record a promise made to the customer (or a task about them), due in the program's
/// time; its reminder is queued like any other.
async fn make_task(State(state): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/tasks")?;
        let body = json!({
            "customer_id": id,
            "title": p.get("title").unwrap_or(""),
            "kind": p.get("kind"),
            "due_at": p.get("due_at").unwrap_or(""),
            "notes": p.get("notes"),
        });
        let made = match super::input(body) {
            Ok(b) => api::crm::create_task(State(state.clone()), ui.auth(), Json(b))
                .await
                .map(|_| ())
                .map_err(UiError::from),
            Err(e) => Err(e),
        };
        let to = format!("/customers/{id}#timeline");
        go_on_or_redraw(&state, ui, &id, made.map(|()| to), |e| Forms {
            task: TaskForm {
                title: p.get("title").unwrap_or_default().to_owned(),
                kind: p.get("kind").unwrap_or_default().to_owned(),
                due_at: p.get("due_at").unwrap_or_default().to_owned(),
                notes: p.get("notes").unwrap_or_default().to_owned(),
                problems: super::problem_lines(&ui.v, e),
            },
            ..Forms::default()
        })
        .await
    }
    .await;
    answer(ui, r)
}

/// A manager's adjustment of the points (a goodwill credit, a correction), with its
/// reason; audited by the API, idempotent by the key drawn with the form.
async fn adjust_points(
    State(state): State<AppState>,
    Path(id): Path<String>,
    p: Posted,
) -> Response {
    let ui = &p.ui;
    let r = async {
        let path = "/api/v1/customers/{id}/adjustments";
        ui.require_route(&state, Method::POST, path)?;
        let points = p.count("points")?.unwrap_or(0);
        let body = json!({"points": points, "reason": p.get("reason").unwrap_or("")});
        let key = p.get("adjust_key").map(|k| format!("ui-adjust:{k}"));
        let req = crate::extract::Idempotent::of("POST", &path.replace("{id}", &id), body, key)?;
        let _ = api::points::adjust(State(state.clone()), ui.auth(), Path(id.clone()), req).await?;
        Ok(Redirect::to(&format!("/customers/{id}#balance")).into_response())
    }
    .await;
    answer(ui, r)
}

/// Merge a duplicate into this customer, found by its mobile, card number or id: its
/// points, cashback, purchases and cards move here (see the API's merge).
async fn merge_duplicate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    p: Posted,
) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/customers/{id}/merge")?;
        // Not undone: the box is ticked on purpose, not only in the browser's eyes.
        if p.get("confirm") != Some("yes") {
            return Err(crate::error::ApiError::field("confirm", "must be ticked").into());
        }
        let duplicate_id = find_one(&state, ui, p.get("duplicate").unwrap_or("")).await?;
        let input = api::customers::MergeInput { duplicate_id };
        let _ = api::customers::merge(
            State(state.clone()),
            ui.auth(),
            Path(id.clone()),
            Json(input),
        )
        .await?;
        Ok(Redirect::to(&format!("/customers/{id}#balance")).into_response())
    }
    .await;
    answer(ui, r)
}

/// The one customer a mobile, a card number or a customer id names.
async fn find_one(state: &AppState, ui: &Ui, raw: &str) -> Result<String, UiError> {
    let field = |m: &str| UiError::from(crate::error::ApiError::field("duplicate_id", m));
    let lookup = super::cashier::Lookup::of(raw);
    let q = lookup.compact.to_ascii_lowercase();
    if q.is_empty() {
        return Err(field("is empty"));
    }
    if q.starts_with("cus_") {
        return Ok(q);
    }
    if lookup.mobile.is_none() && lookup.card.is_none() {
        return Err(field(NO_MATCH));
    }
    ui.require_route(state, Method::GET, "/api/v1/customers")?;
    let query = lookup.query(false, 2);
    let page = api::customers::list(State(state.clone()), ui.auth(), Query(query))
        .await?
        .0;
    match page.items.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(field(NO_MATCH)),
        _ => Err(field("names more than one customer")),
    }
}

const NO_MATCH: &str = "names no customer (give a mobile, a card number or a customer id)";
