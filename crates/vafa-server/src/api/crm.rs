//! The CRM over HTTP: interactions and the customer timeline, tasks and promises,
//! tickets with SLA clocks and polite reply templates, feedback, orders, the CRM's
//! settings, webhooks and the outbox. See `docs/crm.md`.

use crate::api::customers::page_request;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Idempotent, Json, Query};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use vafa_core::auth::{Permission, Role};
use vafa_core::crm::{
    self, Direction, FeedbackKind, InteractionKind, ReplyTemplate, TaskKind, TaskStatus,
    TicketChannel, TicketPriority, TicketStatus,
};
use vafa_core::validate::short_text;
use vafa_core::FieldErrors;
use vafa_store::{
    CrmSettings, Feedback, FeedbackQuery, Holiday, Interaction, NewFeedback, NewInteraction,
    NewOrder, NewTask, NewTicket, Order, OutboxMessage, Page, Task, TaskQuery, Ticket,
    TicketChange, TicketDetail, TicketQuery, TimelineItem, Webhook,
};

/// A page of anything the CRM lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrmPage<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for CrmPage<T> {
    fn from(p: Page<T>) -> Self {
        CrmPage {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

async fn program_tz(state: &AppState, auth: &Auth) -> Result<jiff::tz::TimeZone, ApiError> {
    let program = state
        .store
        .get_program(auth.program_id())
        .await?
        .ok_or_else(|| ApiError::not_found("program"))?;
    jiff::tz::TimeZone::get(&program.timezone)
        .map_err(|e| ApiError::internal("program time zone", e))
}

/// A time given by a person: RFC 3339, or a local Gregorian or Jalali date and time in
/// the program's zone (`2026-11-25 16:00`, `1405/09/04 16:00`).
fn parse_when(field: &str, s: &str, tz: &jiff::tz::TimeZone) -> Result<jiff::Timestamp, ApiError> {
    crate::import::parse_time(s, tz).map_err(|e| ApiError::field(field, e))
}

fn text(errs: &mut FieldErrors, field: &str, value: Option<&str>, max: usize) -> Option<String> {
    value.and_then(|v| errs.take(field, short_text(v, max)).flatten())
}

fn required(errs: &mut FieldErrors, field: &str, value: &str, max: usize) -> String {
    match short_text(value, max) {
        Ok(Some(v)) => v,
        Ok(None) => {
            errs.push(field, "must not be empty");
            String::new()
        }
        Err(e) => {
            errs.push(field, e);
            String::new()
        }
    }
}

fn parse_enum<T: std::str::FromStr<Err = String>>(
    errs: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    default: T,
) -> T {
    match value {
        None => default,
        Some(v) => errs.take(field, v.parse::<T>()).unwrap_or(default),
    }
}

// ---------------------------------------------------------------- interactions

/// Who had the contact. Every interaction names a staff member, since staff performance
/// counts them: a signed-in member is the default and may name another only as a
/// manager or admin (logging a colleague's call); an API key (a POS, a call-centre
/// system) must name one.
fn interaction_staff(errs: &mut FieldErrors, auth: &Auth, named: Option<String>) -> Option<String> {
    let me = auth.0.staff_id.as_deref();
    match (me, named) {
        (Some(me), None) => Some(me.to_owned()),
        (Some(me), Some(other))
            if other != me && !matches!(auth.0.role, Role::Admin | Role::Manager) =>
        {
            errs.push(
                "staff_id",
                "only a manager or admin may record another member's interaction",
            );
            None
        }
        (_, Some(named)) => Some(named),
        (None, None) => {
            errs.push(
                "staff_id",
                "an API key must name the staff member who had the contact",
            );
            None
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    /// `call`, `sms`, `email`, `visit`, `meeting` or `note`.
    pub kind: String,
    /// `inbound`, `outbound` or `internal` (default: `outbound`; `internal` for notes).
    pub direction: Option<String>,
    /// How it went, in a few words (`answered`, `no_answer`, `promised_callback` …).
    pub outcome: Option<String>,
    pub summary: Option<String>,
    /// The staff member it was; default: the signed-in staff member.
    pub staff_id: Option<String>,
    pub ticket_id: Option<String>,
    pub order_id: Option<String>,
    pub campaign_id: Option<String>,
    /// When it happened (default: now).
    pub occurred_at: Option<String>,
}

/// Record a call, message, visit, meeting or note with the customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/interactions", tag = "crm",
    params(("id" = String, Path)), request_body = InteractionInput,
    responses((status = 201, body = Interaction), (status = 404, description = "No such customer, or a linked ticket, order or campaign"), (status = 409, description = "The customer is erased or merged (customer_closed)"), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn record_interaction(
    State(state): State<AppState>,
    auth: Auth,
    Path(customer_id): Path<String>,
    Json(input): Json<InteractionInput>,
) -> ApiResult<(StatusCode, axum::Json<Interaction>)> {
    let mut errs = FieldErrors::default();
    let kind = errs.take("kind", input.kind.parse::<InteractionKind>());
    let default_direction = if kind == Some(InteractionKind::Note) {
        Direction::Internal
    } else {
        Direction::Outbound
    };
    let direction = parse_enum(
        &mut errs,
        "direction",
        input.direction.as_deref(),
        default_direction,
    );
    let outcome = text(&mut errs, "outcome", input.outcome.as_deref(), 100);
    let summary = text(&mut errs, "summary", input.summary.as_deref(), 4000);
    let occurred_at = match &input.occurred_at {
        Some(s) => Some(parse_when(
            "occurred_at",
            s,
            &program_tz(&state, &auth).await?,
        )?),
        None => None,
    };
    let now = state.clock.now();
    if occurred_at.is_some_and(|t| t > now + jiff::SignedDuration::from_mins(5)) {
        errs.push("occurred_at", "must not be in the future");
    }
    let staff_id = interaction_staff(&mut errs, &auth, input.staff_id);
    let Some(kind) = kind.filter(|_| errs.is_empty()) else {
        return Err(errs.into());
    };
    let i = NewInteraction {
        customer_id,
        kind,
        direction,
        outcome,
        summary,
        staff_id,
        ticket_id: input.ticket_id,
        order_id: input.order_id,
        campaign_id: input.campaign_id,
        occurred_at: occurred_at.unwrap_or(now),
    };
    let saved = state
        .store
        .record_interaction(&auth.ctx(&state), &i)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(saved)))
}

/// The customer's interactions, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/interactions", tag = "crm",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = CrmPage<Interaction>)),
    security(("api_key" = ["crm.read"])))]
pub async fn list_interactions(
    State(state): State<AppState>,
    auth: Auth,
    Path(customer_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<CrmPage<Interaction>>> {
    let page =
        crate::api::customers::id_page_request(q.cursor, q.limit, vafa_store::ids::INTERACTION)?;
    let p = state
        .store
        .customer_interactions(auth.program_id(), &customer_id, &page)
        .await?;
    Ok(axum::Json(p.into()))
}

/// Everything that happened with the customer, newest first: interactions, purchases,
/// ledger entries, ticket events, tasks and promises, feedback and order stages.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "crm",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = CrmPage<TimelineItem>), (status = 404)),
    security(("api_key" = ["crm.read"])))]
pub async fn timeline(
    State(state): State<AppState>,
    auth: Auth,
    Path(customer_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<CrmPage<TimelineItem>>> {
    let page = page_request(q.cursor, q.limit)?;
    let p = state
        .store
        .customer_timeline(auth.program_id(), &customer_id, &page)
        .await?;
    Ok(axum::Json(p.into()))
}

// ---------------------------------------------------------------- tasks

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub title: String,
    /// `task` (default) or `promise`: a promise made to the customer, kept or missed.
    pub kind: Option<String>,
    pub customer_id: Option<String>,
    pub notes: Option<String>,
    /// The staff member who does it; default: the signed-in staff member.
    pub assignee_id: Option<String>,
    pub ticket_id: Option<String>,
    /// When it falls due: RFC 3339, or a local Gregorian or Jalali date and time in the
    /// program's zone (`1405/09/04 16:00`).
    pub due_at: String,
    /// Minutes before `due_at` the reminder is queued (default: the program's setting).
    pub remind_before_minutes: Option<u32>,
}

/// Create a task, or record a promise made to a customer. A reminder is queued in the
/// outbox before it falls due.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "crm", request_body = TaskInput,
    responses((status = 201, body = Task), (status = 404, description = "No such customer or ticket"), (status = 409, description = "The customer is erased or merged"), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn create_task(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<TaskInput>,
) -> ApiResult<(StatusCode, axum::Json<Task>)> {
    let mut errs = FieldErrors::default();
    let title = required(&mut errs, "title", &input.title, 200);
    let kind = parse_enum(&mut errs, "kind", input.kind.as_deref(), TaskKind::Task);
    let notes = text(&mut errs, "notes", input.notes.as_deref(), 4000);
    if kind == TaskKind::Promise && input.customer_id.is_none() {
        errs.push("customer_id", "a promise is made to a customer");
    }
    if input.remind_before_minutes.is_some_and(|m| m > 10_080) {
        errs.push("remind_before_minutes", "must be at most 10080 (a week)");
    }
    let tz = program_tz(&state, &auth).await?;
    let due_at = errs.take("due_at", crate::import::parse_time(&input.due_at, &tz));
    let Some(due_at) = due_at.filter(|_| errs.is_empty()) else {
        return Err(errs.into());
    };
    let task = NewTask {
        customer_id: input.customer_id,
        kind,
        title,
        notes,
        assignee_id: input.assignee_id,
        ticket_id: input.ticket_id,
        due_at,
        remind_before_minutes: input.remind_before_minutes,
    };
    let saved = state.store.create_task(&auth.ctx(&state), &task).await?;
    Ok((StatusCode::CREATED, axum::Json(saved)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskListQuery {
    /// `open`, `done`, `kept`, `missed` or `cancelled`.
    pub status: Option<String>,
    /// `task` or `promise`.
    pub kind: Option<String>,
    pub assignee_id: Option<String>,
    pub customer_id: Option<String>,
    /// `true`: only open tasks past their due time.
    pub overdue: Option<bool>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Tasks and promises, soonest due first; `overdue=true` is the overdue list.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "crm", params(TaskListQuery),
    responses((status = 200, body = CrmPage<Task>)),
    security(("api_key" = ["crm.read"])))]
pub async fn list_tasks(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<TaskListQuery>,
) -> ApiResult<axum::Json<CrmPage<Task>>> {
    let mut errs = FieldErrors::default();
    let status = q
        .status
        .as_deref()
        .and_then(|s| errs.take("status", s.parse::<TaskStatus>()));
    let kind = q
        .kind
        .as_deref()
        .and_then(|s| errs.take("kind", s.parse::<TaskKind>()));
    let page = page_request(q.cursor, q.limit)?;
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let now = state.clock.now();
    let query = TaskQuery {
        status,
        kind,
        assignee_id: q.assignee_id,
        customer_id: q.customer_id,
        overdue_at: q.overdue.unwrap_or(false).then_some(now),
        page,
    };
    let p = state
        .store
        .list_tasks(auth.program_id(), &query, now)
        .await?;
    Ok(axum::Json(p.into()))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "crm", params(("id" = String, Path)),
    responses((status = 200, body = Task), (status = 404)),
    security(("api_key" = ["crm.read"])))]
pub async fn get_task(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Task>> {
    let t = state
        .store
        .get_task(auth.program_id(), &id, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found("task"))?;
    Ok(axum::Json(t))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseTaskInput {
    /// A task: `done` or `cancelled`. A promise: `kept`, `missed` or `cancelled`.
    pub status: String,
    pub note: Option<String>,
}

/// Close a task; a promise kept or missed lands on the customer's timeline.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/close", tag = "crm", params(("id" = String, Path)),
    request_body = CloseTaskInput,
    responses((status = 200, body = Task), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn close_task(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<CloseTaskInput>,
) -> ApiResult<axum::Json<Task>> {
    let mut errs = FieldErrors::default();
    let status = errs.take("status", input.status.parse::<TaskStatus>());
    let note = text(&mut errs, "note", input.note.as_deref(), 2000);
    let Some(status) = status.filter(|_| errs.is_empty()) else {
        return Err(errs.into());
    };
    if status == TaskStatus::Open {
        return Err(ApiError::field("status", "closing needs a final status"));
    }
    let t = state
        .store
        .close_task(&auth.ctx(&state), &id, status, note.as_deref())
        .await?;
    Ok(axum::Json(t))
}

// ---------------------------------------------------------------- tickets

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketInput {
    pub customer_id: String,
    pub subject: String,
    /// Free, per program: `complaint`, `request`, `question`, `delivery` …
    pub category: Option<String>,
    /// `low`, `normal` (default), `high` or `urgent`: picks the SLA targets.
    pub priority: Option<String>,
    /// `phone`, `sms`, `email`, `in_store` (default), `web`, `app` or `social`.
    pub channel: Option<String>,
    pub assignee_id: Option<String>,
    pub purchase_id: Option<String>,
    /// What the customer said.
    pub description: Option<String>,
}

/// Open a ticket (a complaint or request). Its first-response and resolution deadlines
/// are counted in business hours from now.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "crm", request_body = TicketInput,
    responses((status = 201, body = TicketDetail), (status = 404, description = "No such customer"), (status = 409, description = "The customer is erased or merged"), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn open_ticket(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<TicketInput>,
) -> ApiResult<(StatusCode, axum::Json<TicketDetail>)> {
    let mut errs = FieldErrors::default();
    let subject = required(&mut errs, "subject", &input.subject, 200);
    let category = match input.category.as_deref() {
        Some(c) => {
            let c = required(&mut errs, "category", c, 50);
            if !c
                .chars()
                .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '-' || ch == ' ')
            {
                errs.push("category", "letters, digits, spaces, - and _ only");
            }
            c
        }
        None => "complaint".to_owned(),
    };
    let priority = parse_enum(
        &mut errs,
        "priority",
        input.priority.as_deref(),
        TicketPriority::Normal,
    );
    let channel = parse_enum(
        &mut errs,
        "channel",
        input.channel.as_deref(),
        TicketChannel::InStore,
    );
    let description = text(&mut errs, "description", input.description.as_deref(), 4000);
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let t = NewTicket {
        customer_id: input.customer_id,
        subject,
        category,
        priority,
        channel,
        assignee_id: input.assignee_id,
        purchase_id: input.purchase_id,
        description,
    };
    let saved = state.store.open_ticket(&auth.ctx(&state), &t).await?;
    Ok((StatusCode::CREATED, axum::Json(saved)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketListQuery {
    pub status: Option<String>,
    /// `true`: only tickets not yet resolved or closed.
    pub open: Option<bool>,
    pub assignee_id: Option<String>,
    pub customer_id: Option<String>,
    /// `true`: only tickets past a deadline.
    pub breached: Option<bool>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Tickets, newest first, with their SLA clocks.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "crm", params(TicketListQuery),
    responses((status = 200, body = CrmPage<Ticket>)),
    security(("api_key" = ["crm.read"])))]
pub async fn list_tickets(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<TicketListQuery>,
) -> ApiResult<axum::Json<CrmPage<Ticket>>> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<TicketStatus>()
                .map_err(|e| ApiError::field("status", e))
        })
        .transpose()?;
    let query = TicketQuery {
        status,
        open: q.open.unwrap_or(false),
        assignee_id: q.assignee_id,
        customer_id: q.customer_id,
        breached: q.breached.unwrap_or(false),
        page: crate::api::customers::id_page_request(q.cursor, q.limit, vafa_store::ids::TICKET)?,
    };
    let p = state
        .store
        .list_tickets(auth.program_id(), &query, state.clock.now())
        .await?;
    Ok(axum::Json(p.into()))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "crm", params(("id" = String, Path)),
    responses((status = 200, body = TicketDetail), (status = 404)),
    security(("api_key" = ["crm.read"])))]
pub async fn get_ticket(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<TicketDetail>> {
    let t = state
        .store
        .get_ticket(auth.program_id(), &id, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    Ok(axum::Json(t))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyInput {
    /// The message; or leave it out and name a `template`.
    pub body: Option<String>,
    /// A reply template key (`acknowledge`, `apology`, `need_info`, …), rendered with
    /// the customer's name, the ticket number, the staff member and `points`.
    pub template: Option<String>,
    /// `fa` or `en` (default: the program's language).
    pub locale: Option<String>,
    /// For templates that mention points: 0 to the program's `goodwill_max_points`.
    pub points: Option<i64>,
    /// `true`: an internal note, not sent to the customer and not a response.
    pub note: Option<bool>,
}

/// Answer the customer (the first answer stops the first-response clock), or add an
/// internal note. A reply is queued for the customer in the outbox.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/replies", tag = "crm", params(("id" = String, Path)),
    request_body = ReplyInput,
    responses((status = 200, body = TicketDetail), (status = 404), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn reply(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<ReplyInput>,
) -> ApiResult<axum::Json<TicketDetail>> {
    let now = state.clock.now();
    let ticket = state
        .store
        .get_ticket(auth.program_id(), &id, now)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    if input
        .locale
        .as_deref()
        .is_some_and(|l| !matches!(l, "fa" | "en"))
    {
        return Err(ApiError::field("locale", "must be fa or en"));
    }
    // The number a message tells the customer they were given: within what a ticket
    // may grant, never negative.
    if let Some(points) = input.points {
        let max = state
            .store
            .crm_settings(auth.program_id())
            .await?
            .goodwill_max_points;
        if !(0..=max).contains(&points) {
            return Err(ApiError::field(
                "points",
                format!("must be between 0 and {max}"),
            ));
        }
    }
    let body = match (&input.body, &input.template) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "template",
                "give a body or a template, not both",
            ))
        }
        (Some(b), None) => short_text(b, 4000)
            .map_err(|e| ApiError::field("body", e))?
            .ok_or_else(|| ApiError::field("body", "must not be empty"))?,
        (None, Some(key)) => {
            render_template(
                &state,
                &auth,
                key,
                input.locale.as_deref(),
                &ticket.ticket,
                input.points,
            )
            .await?
        }
        (None, None) => return Err(ApiError::field("body", "give a body or a template")),
    };
    let change = TicketChange::Reply {
        body,
        template_key: input.template,
        note: input.note.unwrap_or(false),
    };
    let t = state
        .store
        .change_ticket(&auth.ctx(&state), &id, &change, None)
        .await?;
    Ok(axum::Json(t.value))
}

/// Fill a reply template for this ticket.
async fn render_template(
    state: &AppState,
    auth: &Auth,
    key: &str,
    locale: Option<&str>,
    ticket: &Ticket,
    points: Option<i64>,
) -> Result<String, ApiError> {
    let program = state
        .store
        .get_program(auth.program_id())
        .await?
        .ok_or_else(|| ApiError::not_found("program"))?;
    let persian = match locale {
        Some("fa") => true,
        Some("en") => false,
        Some(_) => return Err(ApiError::field("locale", "expected fa or en")),
        None => program.locale.as_str() == "fa",
    };
    let templates = state.store.reply_templates(auth.program_id()).await?;
    let template = templates
        .iter()
        .find(|t| t.key == key)
        .ok_or_else(|| ApiError::field("template", format!("no reply template {key:?}")))?;
    let customer = state
        .store
        .get_customer(auth.program_id(), &ticket.customer_id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    let name = [
        customer.first_name.as_deref(),
        customer.last_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let staff_name = match &auth.0.staff_id {
        Some(s) => state
            .store
            .get_staff(auth.program_id(), s)
            .await?
            .map(|m| m.name),
        None => None,
    };
    let digits = |s: String| {
        if persian {
            vafa_core::digits::to_persian_digits(&s)
        } else {
            s
        }
    };
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("customer_name", name);
    vars.insert("ticket_number", digits(format!("T-{}", ticket.number)));
    vars.insert("program_name", program.name.clone());
    vars.insert(
        "staff_name",
        staff_name.unwrap_or_else(|| program.name.clone()),
    );
    if let Some(p) = points {
        vars.insert("points", digits(p.to_string()));
    }
    let body = if persian { &template.fa } else { &template.en };
    crm::render(body, &vars).map_err(|e| ApiError::field("template", e))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// A staff member; `null` leaves the ticket unassigned.
    pub assignee_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/assign", tag = "crm", params(("id" = String, Path)),
    request_body = AssignInput,
    responses((status = 200, body = TicketDetail), (status = 404), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn assign(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<AssignInput>,
) -> ApiResult<axum::Json<TicketDetail>> {
    let change = TicketChange::Assign {
        assignee_id: input.assignee_id,
    };
    let t = state
        .store
        .change_ticket(&auth.ctx(&state), &id, &change, None)
        .await?;
    Ok(axum::Json(t.value))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// `in_progress`, `waiting_on_customer` (stops the resolution clock), `resolved`,
    /// `closed` (asks the customer for CSAT), or `in_progress` again to reopen.
    pub status: String,
    pub note: Option<String>,
    /// When resolving: points credited to the customer through the ledger (audited), up
    /// to the program's `goodwill_max_points`, and within what one customer may be
    /// granted in 30 days (`goodwill_customer_max_points`). Needs `tickets.goodwill`.
    pub goodwill_points: Option<i64>,
}

/// Move a ticket along its flow. Resolving with goodwill moves value, so it takes an
/// `Idempotency-Key`: a retry answers the first result.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/status", tag = "crm",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = StatusInput,
    responses((status = 200, body = TicketDetail), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn set_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    req: Idempotent<StatusInput>,
) -> ApiResult<(axum::http::HeaderMap, axum::Json<TicketDetail>)> {
    let idem = req.idempotency(None);
    let input = req.body;
    let mut errs = FieldErrors::default();
    let to = errs.take("status", input.status.parse::<TicketStatus>());
    let note = text(&mut errs, "note", input.note.as_deref(), 2000);
    let Some(to) = to.filter(|_| errs.is_empty()) else {
        return Err(errs.into());
    };
    let goodwill = input.goodwill_points.unwrap_or(0);
    if goodwill != 0 && !auth.0.role.allows(Permission::TicketsGoodwill) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("role {} lacks permission tickets.goodwill", auth.0.role),
        ));
    }
    let change = TicketChange::Status {
        to,
        note,
        goodwill_points: goodwill,
    };
    let t = state
        .store
        .change_ticket(&auth.ctx(&state), &id, &change, idem.as_ref())
        .await?;
    let (_, headers) = crate::api::purchases::replay_headers(&t);
    Ok((headers, axum::Json(t.value)))
}

// ---------------------------------------------------------------- feedback

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    /// `nps` (0–10) or `csat` (1–5).
    pub kind: String,
    /// The answer; leave it out to make a link (`/f/{token}`) the customer answers.
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub customer_id: Option<String>,
    pub purchase_id: Option<String>,
    pub ticket_id: Option<String>,
    /// The staff member it is about.
    pub staff_id: Option<String>,
    /// The form's language: `fa` or `en` (default: the program's).
    pub locale: Option<String>,
}

/// Record an NPS or CSAT answer, or ask for one with a link that needs no login.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "crm", request_body = FeedbackInput,
    responses((status = 201, body = Feedback), (status = 404, description = "No such customer, purchase, ticket or staff member"), (status = 409, description = "The customer is erased or merged, or the ticket already has that rating"), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn record_feedback(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<FeedbackInput>,
) -> ApiResult<(StatusCode, axum::Json<Feedback>)> {
    let mut errs = FieldErrors::default();
    let kind = errs.take("kind", input.kind.parse::<FeedbackKind>());
    if let (Some(k), Some(s)) = (kind, input.score) {
        errs.take("score", k.check_score(s));
    }
    let comment = text(&mut errs, "comment", input.comment.as_deref(), 2000);
    if input.score.is_none() && input.customer_id.is_none() {
        errs.push("customer_id", "a feedback link is sent to a customer");
    }
    let locale = match input.locale.as_deref() {
        Some(l @ ("fa" | "en")) => l.to_owned(),
        Some(_) => {
            errs.push("locale", "expected fa or en");
            String::new()
        }
        None => state
            .store
            .get_program(auth.program_id())
            .await?
            .map(|p| p.locale.as_str().to_owned())
            .unwrap_or_else(|| "fa".to_owned()),
    };
    let Some(kind) = kind.filter(|_| errs.is_empty()) else {
        return Err(errs.into());
    };
    let f = NewFeedback {
        kind,
        score: input.score,
        comment,
        customer_id: input.customer_id,
        purchase_id: input.purchase_id,
        ticket_id: input.ticket_id,
        staff_id: input.staff_id,
        locale,
    };
    let saved = state.store.record_feedback(&auth.ctx(&state), &f).await?;
    Ok((StatusCode::CREATED, axum::Json(saved)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedbackListQuery {
    pub kind: Option<String>,
    pub staff_id: Option<String>,
    pub customer_id: Option<String>,
    /// Answered at or after (RFC 3339 or a local date).
    pub from: Option<String>,
    /// Answered before.
    pub to: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Answered feedback, newest first.
#[utoipa::path(get, path = "/api/v1/feedback", tag = "crm", params(FeedbackListQuery),
    responses((status = 200, body = CrmPage<Feedback>)),
    security(("api_key" = ["crm.read"])))]
pub async fn list_feedback(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<FeedbackListQuery>,
) -> ApiResult<axum::Json<CrmPage<Feedback>>> {
    let tz = program_tz(&state, &auth).await?;
    let query = FeedbackQuery {
        kind: q
            .kind
            .as_deref()
            .map(|k| {
                k.parse::<FeedbackKind>()
                    .map_err(|e| ApiError::field("kind", e))
            })
            .transpose()?,
        staff_id: q.staff_id,
        customer_id: q.customer_id,
        from: q
            .from
            .as_deref()
            .map(|s| parse_when("from", s, &tz))
            .transpose()?,
        to: q
            .to
            .as_deref()
            .map(|s| parse_when("to", s, &tz))
            .transpose()?,
        page: crate::api::customers::id_page_request(q.cursor, q.limit, vafa_store::ids::FEEDBACK)?,
    };
    let p = state.store.list_feedback(auth.program_id(), &query).await?;
    Ok(axum::Json(p.into()))
}

// ---------------------------------------------------------------- orders

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    pub customer_id: String,
    /// The shop's order number, unique per program.
    pub external_id: Option<String>,
    /// Default `received`.
    pub stage: Option<String>,
    pub summary: Option<String>,
    pub total_minor: Option<i64>,
}

/// Record an order; its stage is sent to the customer through the outbox.
#[utoipa::path(post, path = "/api/v1/orders", tag = "crm", request_body = OrderInput,
    responses((status = 201, body = Order), (status = 404, description = "No such customer"), (status = 409, description = "The customer is erased or merged"), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn create_order(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<OrderInput>,
) -> ApiResult<(StatusCode, axum::Json<Order>)> {
    let mut errs = FieldErrors::default();
    let stage = input.stage.unwrap_or_else(|| "received".to_owned());
    errs.take("stage", crm::check_stage_name(&stage));
    if stage == "cancelled" || stage == "delivered" {
        errs.push(
            "stage",
            "an order starts before it is delivered or cancelled",
        );
    }
    let external_id = text(&mut errs, "external_id", input.external_id.as_deref(), 64);
    let summary = text(&mut errs, "summary", input.summary.as_deref(), 500);
    if input
        .total_minor
        .is_some_and(|t| !(0..=vafa_core::money::MAX_AMOUNT_MINOR).contains(&t))
    {
        errs.push("total_minor", "must be between 0 and 100000000000000");
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let order = NewOrder {
        customer_id: input.customer_id,
        external_id,
        stage,
        summary,
        total_minor: input.total_minor,
    };
    let saved = state.store.create_order(&auth.ctx(&state), &order).await?;
    Ok((StatusCode::CREATED, axum::Json(saved)))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "crm", params(("id" = String, Path)),
    responses((status = 200, body = Order), (status = 404)),
    security(("api_key" = ["crm.read"])))]
pub async fn get_order(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Order>> {
    let o = state
        .store
        .get_order(auth.program_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    Ok(axum::Json(o))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<Order>,
}

/// The customer's orders, newest first (the last 200).
#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "crm", params(("id" = String, Path)),
    responses((status = 200, body = OrderList)),
    security(("api_key" = ["crm.read"])))]
pub async fn customer_orders(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<OrderList>> {
    let items = state.store.customer_orders(auth.program_id(), &id).await?;
    Ok(axum::Json(OrderList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    /// `received`, `preparing`, `shipped`, `delivered`, `cancelled`, or a custom stage
    /// (`[a-z][a-z0-9_]*`).
    pub stage: String,
    pub note: Option<String>,
}

/// Move an order to a stage; the customer's notification is queued in the same
/// transaction.
#[utoipa::path(post, path = "/api/v1/orders/{id}/stage", tag = "crm", params(("id" = String, Path)),
    request_body = StageInput,
    responses((status = 200, body = Order), (status = 404), (status = 409), (status = 422)),
    security(("api_key" = ["crm.write"])))]
pub async fn set_stage(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<StageInput>,
) -> ApiResult<axum::Json<Order>> {
    crm::check_stage_name(&input.stage).map_err(|e| ApiError::field("stage", e))?;
    let note = short_text(input.note.as_deref().unwrap_or(""), 500)
        .map_err(|e| ApiError::field("note", e))?;
    Ok(axum::Json(
        state
            .store
            .set_order_stage(&auth.ctx(&state), &id, &input.stage, note.as_deref())
            .await?,
    ))
}

// ---------------------------------------------------------------- settings

#[utoipa::path(get, path = "/api/v1/crm/settings", tag = "crm",
    responses((status = 200, body = CrmSettings)),
    security(("api_key" = ["crm.read"])))]
pub async fn get_settings(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<CrmSettings>> {
    Ok(axum::Json(
        state.store.crm_settings(auth.program_id()).await?,
    ))
}

/// The working week SLA clocks run on, SLA targets per priority (business minutes), the
/// goodwill limit, reminder lead and feedback link lifetime. Applies to new tickets.
#[utoipa::path(put, path = "/api/v1/crm/settings", tag = "crm", request_body = CrmSettings,
    responses((status = 200, body = CrmSettings), (status = 422)),
    security(("api_key" = ["crm.manage"])))]
pub async fn put_settings(
    State(state): State<AppState>,
    auth: Auth,
    Json(settings): Json<CrmSettings>,
) -> ApiResult<axum::Json<CrmSettings>> {
    settings.validate()?;
    Ok(axum::Json(
        state
            .store
            .set_crm_settings(&auth.ctx(&state), &settings)
            .await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HolidayList {
    pub items: Vec<Holiday>,
}

#[utoipa::path(get, path = "/api/v1/crm/holidays", tag = "crm",
    responses((status = 200, body = HolidayList)),
    security(("api_key" = ["crm.read"])))]
pub async fn list_holidays(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<HolidayList>> {
    Ok(axum::Json(HolidayList {
        items: state.store.holidays(auth.program_id()).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayInput {
    pub name: String,
}

fn parse_day(day: &str) -> Result<jiff::civil::Date, ApiError> {
    vafa_core::date::parse_calendar_date(&vafa_core::digits::normalize_digits(day))
        .map_err(|e| ApiError::field("day", e))
}

/// Mark a day closed (Gregorian `2026-03-21` or Jalali `1405/01/01`); SLA clocks skip it.
#[utoipa::path(put, path = "/api/v1/crm/holidays/{day}", tag = "crm", params(("day" = String, Path)),
    request_body = HolidayInput,
    responses((status = 200, body = Holiday), (status = 422)),
    security(("api_key" = ["crm.manage"])))]
pub async fn put_holiday(
    State(state): State<AppState>,
    auth: Auth,
    Path(day): Path<String>,
    Json(input): Json<HolidayInput>,
) -> ApiResult<axum::Json<Holiday>> {
    let day = parse_day(&day)?;
    let name = short_text(&input.name, 100)
        .map_err(|e| ApiError::field("name", e))?
        .ok_or_else(|| ApiError::field("name", "must not be empty"))?;
    let h = Holiday { day, name };
    state.store.set_holiday(&auth.ctx(&state), &h).await?;
    Ok(axum::Json(h))
}

#[utoipa::path(delete, path = "/api/v1/crm/holidays/{day}", tag = "crm", params(("day" = String, Path)),
    responses((status = 204), (status = 404)),
    security(("api_key" = ["crm.manage"])))]
pub async fn delete_holiday(
    State(state): State<AppState>,
    auth: Auth,
    Path(day): Path<String>,
) -> ApiResult<StatusCode> {
    let day = parse_day(&day)?;
    state.store.delete_holiday(&auth.ctx(&state), day).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ReplyTemplate>,
    /// Variables a template may use, as `{{name}}`.
    pub variables: Vec<&'static str>,
}

/// The reply templates: the program's own wording over the built-in polite ones.
#[utoipa::path(get, path = "/api/v1/crm/templates", tag = "crm",
    responses((status = 200, body = TemplateList)),
    security(("api_key" = ["crm.read"])))]
pub async fn list_templates(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<TemplateList>> {
    Ok(axum::Json(TemplateList {
        items: state.store.reply_templates(auth.program_id()).await?,
        variables: crm::TEMPLATE_VARIABLES.to_vec(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub fa: String,
    pub en: String,
}

/// Reword a built-in template, in Persian and English.
#[utoipa::path(put, path = "/api/v1/crm/templates/{key}", tag = "crm", params(("key" = String, Path)),
    request_body = TemplateInput,
    responses((status = 200), (status = 422)),
    security(("api_key" = ["crm.manage"])))]
pub async fn put_template(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    Json(input): Json<TemplateInput>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    if !crm::default_templates().iter().any(|t| t.key == key) {
        return Err(ApiError::not_found("reply template"));
    }
    let mut errs = FieldErrors::default();
    errs.take("fa", crm::check_template(&input.fa));
    errs.take("en", crm::check_template(&input.en));
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let t = ReplyTemplate {
        key,
        fa: input.fa,
        en: input.en,
    };
    state
        .store
        .set_reply_template(&auth.ctx(&state), &t)
        .await?;
    Ok(axum::Json(
        serde_json::json!({"key": t.key, "fa": t.fa, "en": t.en}),
    ))
}

// ---------------------------------------------------------------- webhooks and outbox

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// `https://…` (or `http://` for a receiver on this machine or network).
    pub url: String,
    /// Event names (`order.stage_changed`, `ticket.reply`, `ticket.opened`,
    /// `ticket.resolved`, `feedback.requested`, `task.reminder`); empty: all.
    #[serde(default)]
    pub events: Vec<String>,
}

/// The events the outbox carries.
pub const EVENTS: &[&str] = &[
    "order.stage_changed",
    "ticket.opened",
    "ticket.reply",
    "ticket.resolved",
    "feedback.requested",
    "task.reminder",
];

/// Subscribe a receiver; deliveries are signed with the returned `secret`.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "crm", request_body = WebhookInput,
    responses((status = 201, body = Webhook), (status = 422)),
    security(("api_key" = ["crm.manage"])))]
pub async fn create_webhook(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<WebhookInput>,
) -> ApiResult<(StatusCode, axum::Json<Webhook>)> {
    let mut errs = FieldErrors::default();
    let url = input.url.trim();
    let ok_url = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 500
        && reqwest::Url::parse(url).is_ok_and(|u| u.host_str().is_some());
    if !ok_url {
        errs.push("url", "must be an http(s) URL with a host");
    }
    for (i, e) in input.events.iter().enumerate() {
        if !EVENTS.contains(&e.as_str()) {
            errs.push(
                format!("events[{i}]"),
                format!("unknown event; expected one of {}", EVENTS.join(", ")),
            );
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let w = state
        .store
        .create_webhook(&auth.ctx(&state), url, &input.events)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(w)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "crm",
    responses((status = 200, body = WebhookList)),
    security(("api_key" = ["crm.manage"])))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<WebhookList>> {
    Ok(axum::Json(WebhookList {
        items: state.store.list_webhooks(auth.program_id()).await?,
    }))
}

/// Stop sending to a receiver; its undelivered messages are cancelled.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "crm", params(("id" = String, Path)),
    responses((status = 200, body = Webhook), (status = 404)),
    security(("api_key" = ["crm.manage"])))]
pub async fn disable_webhook(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Webhook>> {
    Ok(axum::Json(
        state.store.disable_webhook(&auth.ctx(&state), &id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `pending`, `delivered`, `dead` or `cancelled`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Notifications, newest first; `status=dead` is the dead-letter list.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "crm", params(OutboxQuery),
    responses((status = 200, body = CrmPage<OutboxMessage>)),
    security(("api_key" = ["crm.manage"])))]
pub async fn list_outbox(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<OutboxQuery>,
) -> ApiResult<axum::Json<CrmPage<OutboxMessage>>> {
    if let Some(s) = q.status.as_deref() {
        if !["pending", "delivered", "dead", "cancelled"].contains(&s) {
            return Err(ApiError::field(
                "status",
                "expected pending, delivered, dead or cancelled",
            ));
        }
    }
    let page = crate::api::customers::id_page_request(q.cursor, q.limit, vafa_store::ids::OUTBOX)?;
    let p = state
        .store
        .list_outbox(auth.program_id(), q.status.as_deref(), &page)
        .await?;
    Ok(axum::Json(p.into()))
}

/// Send a dead-lettered notification again (its attempts start over from here).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "crm", params(("id" = String, Path)),
    responses((status = 200, body = OutboxMessage), (status = 404), (status = 409)),
    security(("api_key" = ["crm.manage"])))]
pub async fn retry_outbox(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<OutboxMessage>> {
    Ok(axum::Json(
        state.store.retry_outbox(&auth.ctx(&state), &id).await?,
    ))
}
