//! Customer care: tickets with their SLA clocks (how long until a deadline, or how late),
//! a ticket's story with polite template replies and the status flow (goodwill when
//! resolving), tasks and promises with the overdue first, and what feedback says —
//! NPS, CSAT and the staff's performance.

use super::customer::{staff_names, urlencode, Item};
use super::{answer, charts, render, Chrome, Posted, Ui, UiError, View};
use crate::api;
use crate::extract::{Idempotent, Json, Query};
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
use vafa_core::crm::TicketStatus;
use vafa_store::{Feedback, Task, Ticket};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/crm", get(tickets))
        .route("/crm/tickets/{id}", get(ticket))
        .route("/crm/tickets/{id}/reply", post(reply))
        .route("/crm/tickets/{id}/status", post(status))
        .route("/crm/tasks", get(tasks))
        .route("/crm/tasks/{id}/close", post(close_task))
        .route("/crm/feedback", get(feedback))
}

/// How a deadline stands: `(text, tone)` — due in, late by, met, missed.
pub fn clock(
    v: &View,
    due: jiff::Timestamp,
    done: Option<jiff::Timestamp>,
    paused: bool,
    now: jiff::Timestamp,
) -> (String, &'static str) {
    match done {
        Some(at) if at <= due => (v.t("sla_met"), "ok"),
        Some(at) => (
            v.tf(
                "sla_missed_by",
                &[("span", v.span(&at.duration_since(due)))],
            ),
            "bad",
        ),
        None if paused => (v.t("sla_paused"), "muted"),
        None if now > due => (
            v.tf("sla_late_by", &[("span", v.span(&now.duration_since(due)))]),
            "bad",
        ),
        None => {
            let left = due.duration_since(now);
            let tone = if left.as_secs() < 3600 { "warn" } else { "ok" };
            (v.tf("sla_due_in", &[("span", v.span(&left))]), tone)
        }
    }
}

pub fn ticket_item(
    v: &View,
    t: &Ticket,
    now: jiff::Timestamp,
    staff: &HashMap<String, String>,
) -> Item {
    let (sla, tone) = sla_of(v, t, now);
    Item {
        at: v.at(&t.opened_at),
        kind: v.t(&format!("ticket_status_{}", t.status.as_str())),
        title: format!("{} • {}", v.digits(&format!("T-{}", t.number)), t.subject),
        text: sla,
        value: String::new(),
        who: t
            .assignee_id
            .as_ref()
            .and_then(|a| staff.get(a))
            .cloned()
            .unwrap_or_default(),
        href: Some(format!("/crm/tickets/{}", t.id)),
        tone,
    }
}

/// The clock that matters now: the first response until it comes, then the resolution.
fn sla_of(v: &View, t: &Ticket, now: jiff::Timestamp) -> (String, &'static str) {
    if t.first_response_at.is_none() && t.status.is_open() {
        let (s, tone) = clock(v, t.first_response_due, None, false, now);
        (format!("{}: {s}", v.t("sla_first_response")), tone)
    } else {
        let done = t.resolved_at.or(t.closed_at);
        let (s, tone) = clock(v, t.resolution_due, done, t.paused_at.is_some(), now);
        (format!("{}: {s}", v.t("sla_resolution")), tone)
    }
}

pub fn task_item(v: &View, t: &Task, staff: &HashMap<String, String>) -> Item {
    Item {
        at: v.at(&t.due_at),
        kind: v.t(&format!("task_kind_{}", t.kind.as_str())),
        title: t.title.clone(),
        text: t.notes.clone().unwrap_or_default(),
        value: if t.overdue {
            v.t("overdue")
        } else {
            v.t(&format!("task_status_{}", t.status.as_str()))
        },
        who: t
            .assignee_id
            .as_ref()
            .and_then(|a| staff.get(a))
            .cloned()
            .unwrap_or_default(),
        href: None,
        tone: if t.overdue { "bad" } else { "" },
    }
}

pub fn feedback_item(v: &View, f: &Feedback, staff: &HashMap<String, String>) -> Item {
    Item {
        at: v.at_opt(&f.answered_at.or(Some(f.created_at))),
        kind: f.kind.as_str().to_uppercase(),
        title: f
            .score
            .map(|s| v.n(&s))
            .unwrap_or_else(|| v.t("not_answered")),
        text: f.comment.clone().unwrap_or_default(),
        value: String::new(),
        who: f
            .staff_id
            .as_ref()
            .and_then(|a| staff.get(a))
            .cloned()
            .unwrap_or_default(),
        href: None,
        tone: "",
    }
}

pub struct TicketRow {
    pub id: String,
    pub number: String,
    pub subject: String,
    pub customer_id: String,
    pub priority: String,
    pub priority_tone: &'static str,
    pub status: String,
    pub first: (String, &'static str),
    pub resolution: (String, &'static str),
    pub assignee: String,
}

#[derive(Template)]
#[template(path = "crm_tickets.html")]
struct TicketsPage {
    c: Chrome,
    tabs: Vec<(String, String, bool)>,
    rows: Vec<TicketRow>,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
struct TicketsQuery {
    view: Option<String>,
    cursor: Option<String>,
}

fn crm_tabs(v: &View, active: &str) -> Vec<(String, String, bool)> {
    [
        ("/crm", "tab_open"),
        ("/crm?view=breached", "tab_breached"),
        ("/crm?view=all", "tab_all"),
        ("/crm/tasks", "tab_tasks"),
        ("/crm/feedback", "tab_feedback"),
    ]
    .iter()
    .map(|(href, key)| ((*href).to_owned(), v.t(key), *key == active))
    .collect()
}

async fn tickets(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::Query(q): axum::extract::Query<TicketsQuery>,
) -> Response {
    let r = async {
        ui.require(Permission::CrmRead)?;
        let v = &ui.v;
        let view = q.view.as_deref().unwrap_or("open");
        let query = api::crm::TicketListQuery {
            status: None,
            open: (view == "open").then_some(true),
            assignee_id: None,
            customer_id: None,
            breached: (view == "breached").then_some(true),
            cursor: q.cursor.clone(),
            limit: Some(50),
        };
        let page = api::crm::list_tickets(State(state.clone()), ui.auth(), Query(query))
            .await?
            .0;
        let staff = staff_names(&state, &ui).await;
        let now = state.clock.now();
        let rows = page
            .items
            .iter()
            .map(|t| TicketRow {
                id: t.id.clone(),
                number: v.digits(&format!("T-{}", t.number)),
                subject: t.subject.clone(),
                customer_id: t.customer_id.clone(),
                priority: v.t(&format!("priority_{}", t.priority.as_str())),
                priority_tone: match t.priority.as_str() {
                    "urgent" => "bad",
                    "high" => "warn",
                    _ => "muted",
                },
                status: v.t(&format!("ticket_status_{}", t.status.as_str())),
                first: clock(v, t.first_response_due, t.first_response_at, false, now),
                resolution: clock(
                    v,
                    t.resolution_due,
                    t.resolved_at.or(t.closed_at),
                    t.paused_at.is_some(),
                    now,
                ),
                assignee: t
                    .assignee_id
                    .as_ref()
                    .and_then(|a| staff.get(a))
                    .cloned()
                    .unwrap_or_else(|| v.t("unassigned")),
            })
            .collect();
        let next = page
            .next_cursor
            .map(|c| format!("/crm?view={view}&cursor={}", urlencode(&c)));
        let tab = match view {
            "breached" => "tab_breached",
            "all" => "tab_all",
            _ => "tab_open",
        };
        Ok(render(&TicketsPage {
            c: ui.chrome("nav_crm"),
            tabs: crm_tabs(v, tab),
            rows,
            next,
        }))
    }
    .await;
    answer(&ui, r)
}

pub struct EventRow {
    pub at: String,
    pub kind: String,
    pub who: String,
    pub body: String,
    pub note: bool,
}

#[derive(Template)]
#[template(path = "crm_ticket.html")]
struct TicketPage {
    c: Chrome,
    v: View,
    csrf: String,
    id: String,
    title: String,
    customer_id: String,
    facts: Vec<(String, String)>,
    first: (String, &'static str),
    resolution: (String, &'static str),
    events: Vec<EventRow>,
    templates: Vec<(String, String)>,
    moves: Vec<(String, String)>,
    can_write: bool,
    can_goodwill: bool,
    goodwill_label: String,
    /// The idempotency key of the status form (a resolve with goodwill, retried).
    key: String,
    /// What was typed into a refused form, with why.
    f: TicketForms,
}

/// The reply and status forms as typed, and the problems of the one refused: the page is
/// drawn again with them, so nothing typed is lost.
#[derive(Default)]
pub struct TicketForms {
    pub template: String,
    pub body: String,
    pub note: bool,
    pub reply_problems: Vec<String>,
    pub status: String,
    pub goodwill: String,
    pub status_note: String,
    pub status_problems: Vec<String>,
}

async fn ticket(State(state): State<AppState>, ui: Ui, Path(id): Path<String>) -> Response {
    let r = ticket_page(&state, &ui, &id, TicketForms::default()).await;
    answer(&ui, r)
}

/// The ticket page again with a refused form's problems and what was typed; the API's
/// status (422, 409) kept on the answer.
async fn refused_page(
    state: &AppState,
    ui: &Ui,
    id: &str,
    e: UiError,
    reply: bool,
    mut f: TicketForms,
) -> super::UiResult {
    let UiError::Api(err) = e else { return Err(e) };
    let lines = super::problem_lines(&ui.v, &err);
    if reply {
        f.reply_problems = lines;
    } else {
        f.status_problems = lines;
    }
    let page = ticket_page(state, ui, id, f).await?;
    Ok((err.code.status(), page).into_response())
}

async fn ticket_page(state: &AppState, ui: &Ui, id: &str, f: TicketForms) -> super::UiResult {
    let (state, ui, id) = (state.clone(), ui.clone(), id.to_owned());
    {
        ui.require(Permission::CrmRead)?;
        let v = &ui.v;
        let d = api::crm::get_ticket(State(state.clone()), ui.auth(), Path(id.clone()))
            .await?
            .0;
        let t = &d.ticket;
        let category = state
            .store
            .crm_settings(&ui.principal.program_id)
            .await?
            .category_label(&t.category, v.lang == super::Lang::Fa);
        let staff = staff_names(&state, &ui).await;
        let now = state.clock.now();
        let name = |s: &Option<String>| {
            s.as_ref()
                .and_then(|a| staff.get(a))
                .cloned()
                .unwrap_or_default()
        };
        let customer = state
            .store
            .get_customer(&ui.principal.program_id, &t.customer_id)
            .await?;
        let customer_name = customer
            .map(|c| {
                [c.first_name, c.last_name]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let facts = vec![
            (v.t("customer"), customer_name),
            (
                v.t("status"),
                v.t(&format!("ticket_status_{}", t.status.as_str())),
            ),
            (
                v.t("priority"),
                v.t(&format!("priority_{}", t.priority.as_str())),
            ),
            (v.t("category"), category),
            (
                v.t("channel"),
                v.t(&format!("channel_{}", t.channel.as_str())),
            ),
            (
                v.t("assignee"),
                t.assignee_id
                    .as_ref()
                    .and_then(|a| staff.get(a))
                    .cloned()
                    .unwrap_or_else(|| v.t("unassigned")),
            ),
            (v.t("opened"), v.at(&t.opened_at)),
            (v.t("goodwill"), v.n(&t.goodwill_points)),
        ];
        let events = d
            .events
            .iter()
            .map(|e| EventRow {
                at: v.at(&e.at),
                kind: match (e.kind.as_str(), &e.to_status) {
                    ("status", Some(to)) => v.tf(
                        "event_status_to",
                        &[("status", v.t(&format!("ticket_status_{to}")))],
                    ),
                    (k, _) => v.t(&format!("ticket_{k}")),
                },
                who: name(&e.staff_id),
                // An assignment's body is the new assignee's id: show their name.
                body: if e.kind == "assigned" {
                    e.body
                        .as_ref()
                        .and_then(|a| staff.get(a))
                        .cloned()
                        .unwrap_or_else(|| v.t("unassigned"))
                } else {
                    e.body.clone().unwrap_or_default()
                },
                note: e.kind == "note",
            })
            .collect();
        let templates = vafa_core::crm::TEMPLATE_KEYS
            .iter()
            .filter(|k| !matches!(**k, "csat_request" | "task_reminder" | "order_stage"))
            .map(|k| ((*k).to_owned(), v.t(&format!("template_{k}"))))
            .collect();
        let moves = [
            TicketStatus::InProgress,
            TicketStatus::WaitingOnCustomer,
            TicketStatus::Resolved,
            TicketStatus::Closed,
        ]
        .into_iter()
        .filter(|to| t.status.can_move_to(*to))
        .map(|to| {
            let reopen = matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed)
                && to == TicketStatus::InProgress;
            (
                to.as_str().to_owned(),
                if reopen {
                    v.t("reopen")
                } else {
                    v.t(&format!("move_{}", to.as_str()))
                },
            )
        })
        .collect();
        let settings = state.store.crm_settings(&ui.principal.program_id).await?;
        Ok(render(&TicketPage {
            c: ui.chrome("nav_crm"),
            v: v.clone(),
            csrf: ui.csrf.clone(),
            id: t.id.clone(),
            title: format!("{} • {}", v.digits(&format!("T-{}", t.number)), t.subject),
            customer_id: t.customer_id.clone(),
            facts,
            first: clock(v, t.first_response_due, t.first_response_at, false, now),
            resolution: clock(
                v,
                t.resolution_due,
                t.resolved_at.or(t.closed_at),
                t.paused_at.is_some(),
                now,
            ),
            events,
            templates,
            moves,
            can_write: ui.can(Permission::CrmWrite),
            can_goodwill: ui.can(Permission::TicketsGoodwill),
            goodwill_label: v.tf(
                "goodwill_label",
                &[("max", v.n(&settings.goodwill_max_points))],
            ),
            key: vafa_store::keys::random_token(),
            f,
        }))
    }
}

async fn reply(State(state): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/tickets/{id}/replies")?;
        let body = match (p.get("template"), p.get("body")) {
            (Some(t), _) => json!({"template": t, "note": p.checked("note"), "points": p.get("points").and_then(|x| vafa_core::digits::normalize_digits(x).parse::<i64>().ok())}),
            (None, body) => json!({"body": body, "note": p.checked("note")}),
        };
        let sent = match super::input(body) {
            Ok(b) => api::crm::reply(State(state.clone()), ui.auth(), Path(id.clone()), Json(b)).await.map(|_| ()).map_err(UiError::from),
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => Ok(Redirect::to(&format!("/crm/tickets/{id}")).into_response()),
            Err(e) => {
                let f = TicketForms {
                    template: p.get("template").unwrap_or_default().to_owned(),
                    body: p.get("body").unwrap_or_default().to_owned(),
                    note: p.checked("note"),
                    ..TicketForms::default()
                };
                refused_page(&state, ui, &id, e, true, f).await
            }
        }
    }
    .await;
    answer(ui, r)
}

async fn status(State(state): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/tickets/{id}/status")?;
        let set = async {
            let goodwill = match p.get("goodwill_points") {
                Some(g) => Some(super::i18n::parse_count(g).ok_or_else(|| UiError::Api(crate::error::ApiError::field("goodwill_points", ui.v.t("points_whole"))))?),
                None => None,
            };
            let body = json!({"status": p.get("status").unwrap_or(""), "note": p.get("note"), "goodwill_points": goodwill.filter(|g| *g != 0)});
            let path = format!("/api/v1/tickets/{id}/status");
            let key = p.get("key").map(|k| format!("ui-status:{k}"));
            let req = Idempotent::of("POST", &path, body, key)?;
            let _ = api::crm::set_status(State(state.clone()), ui.auth(), Path(id.clone()), req).await?;
            Ok::<(), UiError>(())
        };
        match set.await {
            Ok(()) => Ok(Redirect::to(&format!("/crm/tickets/{id}")).into_response()),
            Err(e) => {
                let f = TicketForms {
                    status: p.get("status").unwrap_or_default().to_owned(),
                    goodwill: p.get("goodwill_points").unwrap_or_default().to_owned(),
                    status_note: p.get("note").unwrap_or_default().to_owned(),
                    ..TicketForms::default()
                };
                refused_page(&state, ui, &id, e, false, f).await
            }
        }
    }
    .await;
    answer(ui, r)
}

pub struct TaskRow {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub promise: bool,
    pub due: String,
    pub overdue: bool,
    pub customer_id: Option<String>,
    pub assignee: String,
    pub notes: String,
}

#[derive(Template)]
#[template(path = "crm_tasks.html")]
struct TasksPage {
    c: Chrome,
    tabs: Vec<(String, String, bool)>,
    sections: Vec<(String, Vec<TaskRow>)>,
    can_write: bool,
}

async fn tasks(State(state): State<AppState>, ui: Ui) -> Response {
    let r = async {
        ui.require(Permission::CrmRead)?;
        let v = &ui.v;
        let staff = staff_names(&state, &ui).await;
        let q = |overdue: bool| api::crm::TaskListQuery {
            status: Some("open".into()),
            kind: None,
            assignee_id: None,
            customer_id: None,
            overdue: overdue.then_some(true),
            cursor: None,
            limit: Some(100),
        };
        let row = |t: &Task| TaskRow {
            id: t.id.clone(),
            title: t.title.clone(),
            kind: v.t(&format!("task_kind_{}", t.kind.as_str())),
            promise: t.kind.as_str() == "promise",
            due: v.at(&t.due_at),
            overdue: t.overdue,
            customer_id: t.customer_id.clone(),
            assignee: t
                .assignee_id
                .as_ref()
                .and_then(|a| staff.get(a))
                .cloned()
                .unwrap_or_default(),
            notes: t.notes.clone().unwrap_or_default(),
        };
        let overdue: Vec<TaskRow> =
            api::crm::list_tasks(State(state.clone()), ui.auth(), Query(q(true)))
                .await?
                .0
                .items
                .iter()
                .map(row)
                .collect();
        let open: Vec<TaskRow> =
            api::crm::list_tasks(State(state.clone()), ui.auth(), Query(q(false)))
                .await?
                .0
                .items
                .iter()
                .filter(|t| !t.overdue)
                .map(row)
                .collect();
        let sections = vec![(v.t("overdue_tasks"), overdue), (v.t("open_tasks"), open)];
        Ok(render(&TasksPage {
            c: ui.chrome("nav_crm"),
            tabs: crm_tabs(v, "tab_tasks"),
            sections,
            can_write: ui.can(Permission::CrmWrite),
        }))
    }
    .await;
    answer(&ui, r)
}

async fn close_task(State(state): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let ui = &p.ui;
    let r = async {
        ui.require_route(&state, Method::POST, "/api/v1/tasks/{id}/close")?;
        let body = json!({"status": p.get("status").unwrap_or(""), "note": p.get("note")});
        let _ = api::crm::close_task(
            State(state.clone()),
            ui.auth(),
            Path(id),
            Json(super::input(body)?),
        )
        .await?;
        Ok(Redirect::to("/crm/tasks").into_response())
    }
    .await;
    answer(ui, r)
}

#[derive(Template)]
#[template(path = "crm_feedback.html")]
struct FeedbackPage {
    c: Chrome,
    tabs: Vec<(String, String, bool)>,
    cards: Vec<(String, String)>,
    nps_chart: String,
    csat_chart: String,
    comments: Vec<Item>,
    staff: Vec<Vec<String>>,
    can_performance: bool,
    period: super::period::Period,
}

/// Answers read for the figures: the most recent ones, in pages.
const FEEDBACK_PAGES: usize = 10;

/// The feedback page's period unless one is chosen.
const FEEDBACK_DAYS: i16 = 90;

async fn feedback(
    State(state): State<AppState>,
    ui: Ui,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let r = async {
        ui.require(Permission::CrmRead)?;
        let v = &ui.v;
        let staff_map = staff_names(&state, &ui).await;
        let today = state.clock.now().to_zoned(v.tz.clone()).date();
        let period =
            super::period::Period::read(v, &ui.path, query.as_deref(), today, FEEDBACK_DAYS);
        // Local days: from the first's start to the start of the day after the last.
        let (from, _) = period.iso();
        let until = period.end_exclusive();
        let mut answers = Vec::new();
        let mut cursor = None;
        for _ in 0..FEEDBACK_PAGES {
            let q = api::crm::FeedbackListQuery {
                kind: None,
                staff_id: None,
                customer_id: None,
                from: Some(from.clone()),
                to: Some(until.clone()),
                cursor,
                limit: Some(200),
            };
            let page = api::crm::list_feedback(State(state.clone()), ui.auth(), Query(q))
                .await?
                .0;
            answers.extend(page.items);
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let scores = |kind: &str| {
            answers
                .iter()
                .filter(|f| f.kind.as_str() == kind)
                .filter_map(|f| f.score)
                .collect::<Vec<i64>>()
        };
        let nps_scores = scores("nps");
        let csat_scores = scores("csat");
        let nps = (!nps_scores.is_empty()).then(|| {
            let n = nps_scores.len() as f64;
            let promoters = nps_scores.iter().filter(|s| **s >= 9).count() as f64;
            let detractors = nps_scores.iter().filter(|s| **s <= 6).count() as f64;
            ((promoters - detractors) * 100.0 / n).round() as i64
        });
        let csat = (!csat_scores.is_empty())
            .then(|| csat_scores.iter().sum::<i64>() as f64 / csat_scores.len() as f64);
        let cards = vec![
            (
                v.t("nps"),
                nps.map(|n| v.n(&n)).unwrap_or_else(|| "—".into()),
            ),
            (v.t("nps_answers"), v.n(&(nps_scores.len() as i64))),
            (
                v.t("csat_average"),
                csat.map(|c| v.lang.decimal(c, 2))
                    .unwrap_or_else(|| "—".into()),
            ),
            (v.t("csat_answers"), v.n(&(csat_scores.len() as i64))),
        ];
        let dist = |range: std::ops::RangeInclusive<i64>, s: &[i64]| -> Vec<(String, i64)> {
            range
                .map(|k| (v.n(&k), s.iter().filter(|x| **x == k).count() as i64))
                .collect()
        };
        let nps_chart = charts::bars(v.lang, &dist(0..=10, &nps_scores), |x| v.n(&x), |x| v.n(&x));
        let csat_chart = charts::bars(v.lang, &dist(1..=5, &csat_scores), |x| v.n(&x), |x| v.n(&x));
        // The latest answers first (the list comes in the order requests were made).
        let mut with_comment: Vec<_> = answers.iter().filter(|f| f.comment.is_some()).collect();
        with_comment.sort_by(|a, b| b.answered_at.cmp(&a.answered_at).then(b.id.cmp(&a.id)));
        let comments = with_comment
            .into_iter()
            .take(30)
            .map(|f| feedback_item(v, f, &staff_map))
            .collect();
        let mut staff = Vec::new();
        let can_performance = ui.can(Permission::StaffPerformanceRead);
        if can_performance {
            let q = api::staff::PeriodQuery {
                from: Some(from.clone()),
                to: Some(until.clone()),
            };
            let report = api::staff::performance(State(state.clone()), ui.auth(), Query(q))
                .await?
                .0;
            for s in report.items {
                staff.push(vec![
                    s.name.clone(),
                    v.n(&s.interactions),
                    v.n(&s.replies),
                    v.n(&s.tickets_resolved),
                    v.n(&s.sla_breaches),
                    s.csat_average
                        .map(|c| v.lang.decimal(c, 2))
                        .unwrap_or_else(|| "—".into()),
                    s.promises_kept_percent
                        .map(|p| v.pct(&p))
                        .unwrap_or_else(|| "—".into()),
                ]);
            }
        }
        let refused = period.refused();
        let page = render(&FeedbackPage {
            c: ui.chrome("nav_crm"),
            tabs: crm_tabs(v, "tab_feedback"),
            cards,
            nps_chart,
            csat_chart,
            comments,
            staff,
            can_performance,
            period,
        });
        // A date that is not one: the page with what was typed and why (422).
        Ok(if refused {
            (axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
        } else {
            page
        })
    }
    .await;
    answer(&ui, r)
}
