//! The CRM as the store reports it: staff, interactions, tasks and promises, tickets,
//! feedback, orders, the outbox and the customer timeline (`docs/crm.md`).
//!
//! These types are also the API's answers (they derive `ToSchema`), so a field added
//! here is documented once.

use crate::{Ctx, Page, PageRequest, Result};
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::auth::Role;
use vafa_core::crm::{
    BusinessWeek, Direction, FeedbackKind, InteractionKind, SlaPolicy, TaskKind, TaskStatus,
    TicketChannel, TicketPriority, TicketStatus,
};

/// A person who signs in. The password hash never leaves the store except to the
/// login check ([`StaffCredentials`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StaffMember {
    pub id: String,
    pub username: String,
    pub name: String,
    #[schema(value_type = String)]
    pub role: Role,
    /// `active` or `disabled`.
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<Timestamp>,
    /// The admin UI's language for this member (`fa` or `en`); `null`: the program's.
    #[schema(value_type = Option<String>)]
    pub locale: Option<vafa_core::program::Locale>,
}

#[derive(Debug, Clone)]
pub struct NewStaff {
    pub username: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct StaffPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
    /// `Some(None)` goes back to the program's language.
    pub locale: Option<Option<vafa_core::program::Locale>>,
}

/// What the login check needs: the member (with their program) and the stored hash.
#[derive(Debug, Clone)]
pub struct StaffCredentials {
    pub program_id: String,
    pub staff: StaffMember,
    pub password_hash: String,
}

/// A session made by a login; `token` is shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedSession {
    pub token: String,
    /// Sent back by the admin UI's forms (`docs/crm.md#sessions`).
    pub csrf_token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub program_id: String,
    pub staff: StaffMember,
}

/// Per-program CRM settings: the working week the SLA clocks run on, the targets,
/// and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrmSettings {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub week: BusinessWeek,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub sla: SlaPolicy,
    /// The most goodwill points one ticket may grant.
    #[serde(default = "default_goodwill_max")]
    pub goodwill_max_points: i64,
    /// The most goodwill points one customer may be granted in any 30 days, across all
    /// their tickets (so opening more tickets does not get past the per-ticket limit).
    /// Unset: twice `goodwill_max_points`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodwill_customer_max_points: Option<i64>,
    /// How long before a task falls due its reminder is sent.
    #[serde(default = "default_reminder_minutes")]
    pub reminder_minutes: u32,
    /// How long a feedback link stays open.
    #[serde(default = "default_feedback_days")]
    pub feedback_valid_days: u32,
    /// Where customers reach this server, e.g. `https://club.example.ir`: feedback links
    /// in notifications are full URLs when it is set (otherwise a path, `/f/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The program's words for its own order stages, in Persian and English:
    /// `{"baking": {"fa": "در حال پخت", "en": "in the oven"}}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub stage_labels: std::collections::BTreeMap<String, vafa_core::crm::StageLabel>,
    /// The program's words for its ticket categories, in Persian and English:
    /// `{"long_wait": {"fa": "انتظار طولانی", "en": "long wait"}}`; a category without
    /// one reads as its code with spaces.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub category_labels: std::collections::BTreeMap<String, vafa_core::crm::StageLabel>,
}

fn default_goodwill_max() -> i64 {
    5_000
}
fn default_reminder_minutes() -> u32 {
    60
}
fn default_feedback_days() -> u32 {
    14
}

impl Default for CrmSettings {
    fn default() -> Self {
        CrmSettings {
            week: BusinessWeek::default(),
            sla: SlaPolicy::default(),
            goodwill_max_points: default_goodwill_max(),
            goodwill_customer_max_points: None,
            reminder_minutes: default_reminder_minutes(),
            feedback_valid_days: default_feedback_days(),
            public_url: None,
            stage_labels: Default::default(),
            category_labels: Default::default(),
        }
    }
}

impl CrmSettings {
    /// How many goodwill points one customer may be granted in any 30 days.
    pub fn goodwill_customer_limit(&self) -> i64 {
        self.goodwill_customer_max_points
            .unwrap_or(self.goodwill_max_points.saturating_mul(2))
    }

    pub fn validate(&self) -> Result<(), vafa_core::FieldErrors> {
        let mut errs = vafa_core::FieldErrors::default();
        if let Err(e) = self.week.validate() {
            errs.0.extend(e.0);
        }
        if let Err(e) = self.sla.validate() {
            errs.0.extend(e.0);
        }
        if !(0..=1_000_000).contains(&self.goodwill_max_points) {
            errs.push("goodwill_max_points", "must be between 0 and 1000000");
        }
        if self
            .goodwill_customer_max_points
            .is_some_and(|m| !(0..=2_000_000).contains(&m))
        {
            errs.push(
                "goodwill_customer_max_points",
                "must be between 0 and 2000000",
            );
        }
        if self.reminder_minutes > 10_080 {
            errs.push("reminder_minutes", "must be at most 10080 (a week)");
        }
        if !(1..=365).contains(&self.feedback_valid_days) {
            errs.push("feedback_valid_days", "must be between 1 and 365");
        }
        if let Some(u) = &self.public_url {
            let rest = u
                .strip_prefix("https://")
                .or_else(|| u.strip_prefix("http://"));
            let ok = rest.is_some_and(|r| {
                !r.is_empty() && !r.ends_with('/') && !r.contains(['?', '#', ' ']) && u.len() <= 200
            });
            if !ok {
                errs.push("public_url", "an http(s) URL without a trailing slash, query or fragment, e.g. https://club.example.ir");
            }
        }
        if let Err(e) = vafa_core::crm::check_stage_labels(&self.stage_labels) {
            for (stage, message) in e {
                let field = if stage.is_empty() {
                    "stage_labels".to_owned()
                } else {
                    format!("stage_labels.{stage}")
                };
                errs.push(field, message);
            }
        }
        if self.category_labels.len() > vafa_core::crm::MAX_STAGE_LABELS {
            errs.push("category_labels", "at most 50 categories");
        }
        for (code, label) in &self.category_labels {
            let fits = |s: &str, max: usize| !s.trim().is_empty() && s.chars().count() <= max;
            if !fits(code, 50) || !fits(&label.fa, 40) || !fits(&label.en, 40) {
                errs.push(
                    format!("category_labels.{code}"),
                    "a category of 1 to 50 characters; fa and en each 1 to 40 characters",
                );
            }
        }
        errs.finish(|| ())
    }

    /// How a ticket category reads in the UI's language.
    pub fn category_label(&self, code: &str, persian: bool) -> String {
        match self.category_labels.get(code) {
            Some(l) if persian => l.fa.clone(),
            Some(l) => l.en.clone(),
            None => code.replace('_', " "),
        }
    }
}

/// How money shows in the admin UI for a program in rials: people speak in toman
/// (a tenth of a rial), receipts often say rial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MoneyUnit {
    #[default]
    Toman,
    Rial,
}

/// How the admin UI shows a program's money and dates; the wire always carries minor
/// units and RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisplaySettings {
    /// For IRR programs: `toman` (default) or `rial`. Other currencies show as they are.
    #[serde(default)]
    pub money_unit: MoneyUnit,
    /// `jalali` or `gregorian`; default: Jalali for a Persian program, else Gregorian.
    #[schema(value_type = Option<String>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<vafa_core::ledger::CalendarKind>,
}

impl DisplaySettings {
    /// The calendar dates are shown in, for a program in `locale`.
    pub fn calendar_for(
        &self,
        locale: vafa_core::program::Locale,
    ) -> vafa_core::ledger::CalendarKind {
        self.calendar.unwrap_or_else(|| crate::calendar_of(locale))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Holiday {
    /// `YYYY-MM-DD` in the program's time zone.
    #[schema(value_type = String, format = Date)]
    pub day: jiff::civil::Date,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct NewInteraction {
    pub customer_id: String,
    pub kind: InteractionKind,
    pub direction: Direction,
    pub outcome: Option<String>,
    pub summary: Option<String>,
    pub staff_id: Option<String>,
    pub ticket_id: Option<String>,
    pub order_id: Option<String>,
    pub campaign_id: Option<String>,
    pub occurred_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Interaction {
    pub id: String,
    pub customer_id: String,
    #[schema(value_type = String)]
    pub kind: InteractionKind,
    #[schema(value_type = String)]
    pub direction: Direction,
    pub outcome: Option<String>,
    pub summary: Option<String>,
    pub staff_id: Option<String>,
    pub ticket_id: Option<String>,
    pub order_id: Option<String>,
    pub campaign_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub customer_id: Option<String>,
    pub kind: TaskKind,
    pub title: String,
    pub notes: Option<String>,
    pub assignee_id: Option<String>,
    pub ticket_id: Option<String>,
    pub due_at: Timestamp,
    /// Minutes before `due_at` the reminder goes out; the program's default when `None`.
    pub remind_before_minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Task {
    pub id: String,
    pub customer_id: Option<String>,
    #[schema(value_type = String)]
    pub kind: TaskKind,
    pub title: String,
    pub notes: Option<String>,
    pub assignee_id: Option<String>,
    pub ticket_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub remind_at: Option<Timestamp>,
    #[schema(value_type = String)]
    pub status: TaskStatus,
    /// Open and past its due time, at the moment of reading.
    pub overdue: bool,
    pub created_by: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<String>,
    pub close_note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub status: Option<TaskStatus>,
    pub kind: Option<TaskKind>,
    pub assignee_id: Option<String>,
    pub customer_id: Option<String>,
    /// Only open tasks due before this instant.
    pub overdue_at: Option<Timestamp>,
    pub page: PageRequest,
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub customer_id: String,
    pub subject: String,
    pub category: String,
    pub priority: TicketPriority,
    pub channel: TicketChannel,
    pub assignee_id: Option<String>,
    pub purchase_id: Option<String>,
    /// What the customer said, as the ticket's first event.
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    pub id: String,
    pub number: i64,
    pub customer_id: String,
    pub subject: String,
    pub category: String,
    #[schema(value_type = String)]
    pub priority: TicketPriority,
    #[schema(value_type = String)]
    pub channel: TicketChannel,
    #[schema(value_type = String)]
    pub status: TicketStatus,
    pub assignee_id: Option<String>,
    pub created_by: Option<String>,
    pub purchase_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub first_response_due: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub resolution_due: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_response_at: Option<Timestamp>,
    /// Set while waiting on the customer: the resolution clock is stopped.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub paused_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    pub goodwill_points: i64,
    pub goodwill_entry_id: Option<String>,
    /// The first answer came (or is still missing) after its deadline.
    pub first_response_breached: bool,
    /// Resolved (or still open) after its deadline.
    pub resolution_breached: bool,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TicketEvent {
    pub id: String,
    /// `opened`, `reply`, `note`, `status`, `assigned`.
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub body: Option<String>,
    pub template_key: Option<String>,
    pub staff_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub events: Vec<TicketEvent>,
}

#[derive(Debug, Clone, Default)]
pub struct TicketQuery {
    pub status: Option<TicketStatus>,
    /// Only tickets not yet resolved or closed.
    pub open: bool,
    pub assignee_id: Option<String>,
    pub customer_id: Option<String>,
    /// Only tickets past a deadline (at the moment of reading).
    pub breached: bool,
    pub page: PageRequest,
}

/// A change to a ticket, made by `ctx`'s staff member.
#[derive(Debug, Clone)]
pub enum TicketChange {
    /// A message to the customer (counts as the first response); `note` keeps it internal.
    Reply {
        body: String,
        template_key: Option<String>,
        note: bool,
    },
    Assign {
        assignee_id: Option<String>,
    },
    /// Move along the status flow; resolving may grant goodwill points.
    Status {
        to: TicketStatus,
        note: Option<String>,
        goodwill_points: i64,
    },
}

#[derive(Debug, Clone)]
pub struct NewFeedback {
    pub kind: FeedbackKind,
    /// `None`: a request — a token link the customer answers later.
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub customer_id: Option<String>,
    pub purchase_id: Option<String>,
    pub ticket_id: Option<String>,
    pub staff_id: Option<String>,
    pub locale: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Feedback {
    pub id: String,
    pub customer_id: Option<String>,
    #[schema(value_type = String)]
    pub kind: FeedbackKind,
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub purchase_id: Option<String>,
    pub ticket_id: Option<String>,
    pub staff_id: Option<String>,
    /// The secret of the answer link `/f/{token}` (requests only).
    pub token: Option<String>,
    pub locale: String,
    /// `requested` or `answered`.
    pub status: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct FeedbackQuery {
    pub kind: Option<FeedbackKind>,
    pub staff_id: Option<String>,
    pub customer_id: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub page: PageRequest,
}

/// What a token link shows: the request and the program's name.
#[derive(Debug, Clone)]
pub struct FeedbackForm {
    pub feedback: Feedback,
    pub program_name: String,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub customer_id: String,
    pub external_id: Option<String>,
    pub stage: String,
    pub summary: Option<String>,
    pub total_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderEvent {
    pub stage: String,
    pub note: Option<String>,
    pub staff_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Order {
    pub id: String,
    pub customer_id: String,
    pub external_id: Option<String>,
    pub stage: String,
    pub summary: Option<String>,
    pub total_minor: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Every stage it went through, oldest first.
    pub events: Vec<OrderEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// The HMAC-SHA256 key deliveries are signed with.
    pub secret: String,
    /// Event names it receives; empty: every event.
    pub events: Vec<String>,
    /// `active` or `disabled`.
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// One notification to one destination.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub program_id: String,
    pub event: String,
    pub customer_id: Option<String>,
    pub subject_type: String,
    pub subject_id: String,
    /// `log` or a webhook id.
    pub destination: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// `pending`, `delivered`, `dead` or `cancelled`.
    pub status: String,
    pub attempts: i64,
    #[schema(value_type = String, format = DateTime)]
    pub available_at: Timestamp,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    /// Where a webhook delivery goes (claimed messages only).
    #[serde(skip)]
    pub webhook: Option<(String, String)>,
    /// The lease this copy was claimed under; its outcome is recorded only while the
    /// lease is still the message's (a worker whose lease ran out is ignored).
    #[serde(skip)]
    pub lease_id: Option<String>,
}

/// One thing that happened with a customer, for the merged timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TimelineItem {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `interaction`, `purchase`, `ledger`, `ticket`, `task`, `task_closed`, `feedback`,
    /// `order`, `gift` (a reward a campaign gave free) or `coupon` (a code a campaign
    /// handed to the customer).
    pub kind: String,
    /// The id of the row it comes from (interaction, purchase, journal entry, ticket
    /// event, task, feedback, order event, reward claim, coupon code).
    pub id: String,
    /// A short label: the interaction kind, receipt number, entry kind, ticket event,
    /// task title, feedback kind, order stage, reward name, coupon batch name.
    pub title: Option<String>,
    /// Longer text: summary, explanation, reply, comment, note, the gift's or coupon's code.
    pub text: Option<String>,
    /// What it belongs to: a ticket, order, task, purchase, reward or coupon batch id.
    pub ref_id: Option<String>,
    pub staff_id: Option<String>,
    /// Money (purchases), points (ledger entries), or a score (feedback).
    pub value: Option<i64>,
    /// The state it names: the status a ticket moved to, the staff member a ticket was
    /// assigned to, an interaction's outcome, a task's kind, a gift's claim status
    /// (`issued`, `used`, `cancelled`) or a coupon code's (`issued`, `used`, `void`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StaffPerformance {
    pub staff_id: String,
    pub name: String,
    pub interactions: i64,
    pub replies: i64,
    pub tickets_resolved: i64,
    /// Tickets assigned to them and opened in the period that missed a deadline.
    pub sla_breaches: i64,
    pub csat_answers: i64,
    pub csat_average: Option<f64>,
    pub promises_kept: i64,
    pub promises_missed: i64,
    /// Promises due in the period, still open and past due: counted as not kept.
    pub promises_overdue: i64,
    pub promises_kept_percent: Option<f64>,
}

/// The CRM half of the store; every [`crate::Store`] is one.
#[async_trait]
pub trait CrmStore: Send + Sync {
    // ---- staff and sessions ----
    async fn create_staff(&self, ctx: &Ctx, staff: &NewStaff) -> Result<StaffMember>;
    async fn list_staff(&self, program_id: &str) -> Result<Vec<StaffMember>>;
    async fn get_staff(&self, program_id: &str, id: &str) -> Result<Option<StaffMember>>;
    async fn update_staff(&self, ctx: &Ctx, id: &str, patch: &StaffPatch) -> Result<StaffMember>;
    /// The member behind a username, for the login check.
    async fn staff_credentials(&self, username: &str) -> Result<Option<StaffCredentials>>;
    /// Open a session for a member whose password was checked.
    async fn start_session(
        &self,
        staff_id: &str,
        now: Timestamp,
        ttl: jiff::SignedDuration,
    ) -> Result<IssuedSession>;
    /// End the session behind a presented token (a no-op for anything else).
    async fn end_session(&self, presented: &str, now: Timestamp) -> Result<()>;
    /// The CSRF token of a live session.
    async fn session_csrf(&self, presented: &str, now: Timestamp) -> Result<Option<String>>;

    // ---- settings ----
    async fn crm_settings(&self, program_id: &str) -> Result<CrmSettings>;
    async fn set_crm_settings(&self, ctx: &Ctx, settings: &CrmSettings) -> Result<CrmSettings>;
    /// How the admin UI shows money and dates (defaults when never set).
    async fn display_settings(&self, program_id: &str) -> Result<DisplaySettings>;
    async fn set_display_settings(
        &self,
        ctx: &Ctx,
        settings: &DisplaySettings,
    ) -> Result<DisplaySettings>;
    async fn holidays(&self, program_id: &str) -> Result<Vec<Holiday>>;
    async fn set_holiday(&self, ctx: &Ctx, holiday: &Holiday) -> Result<()>;
    async fn delete_holiday(&self, ctx: &Ctx, day: jiff::civil::Date) -> Result<()>;
    /// The program's reply templates: its own wording over the built-in one.
    async fn reply_templates(&self, program_id: &str)
        -> Result<Vec<vafa_core::crm::ReplyTemplate>>;
    async fn set_reply_template(
        &self,
        ctx: &Ctx,
        template: &vafa_core::crm::ReplyTemplate,
    ) -> Result<()>;

    // ---- interactions, tasks ----
    async fn record_interaction(&self, ctx: &Ctx, i: &NewInteraction) -> Result<Interaction>;
    async fn customer_interactions(
        &self,
        program_id: &str,
        customer_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Interaction>>;
    async fn create_task(&self, ctx: &Ctx, task: &NewTask) -> Result<Task>;
    async fn get_task(&self, program_id: &str, id: &str, now: Timestamp) -> Result<Option<Task>>;
    async fn list_tasks(
        &self,
        program_id: &str,
        query: &TaskQuery,
        now: Timestamp,
    ) -> Result<Page<Task>>;
    /// Close an open task: done or cancelled; a promise kept, missed or cancelled.
    async fn close_task(
        &self,
        ctx: &Ctx,
        id: &str,
        status: TaskStatus,
        note: Option<&str>,
    ) -> Result<Task>;

    // ---- tickets ----
    async fn open_ticket(&self, ctx: &Ctx, ticket: &NewTicket) -> Result<TicketDetail>;
    async fn get_ticket(
        &self,
        program_id: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<TicketDetail>>;
    async fn list_tickets(
        &self,
        program_id: &str,
        query: &TicketQuery,
        now: Timestamp,
    ) -> Result<Page<Ticket>>;
    /// Apply a change; a reply to the customer and a close queue outbox messages in the
    /// same transaction, and closing asks for CSAT (a feedback request). With `idem`, a
    /// repeat answers the first result (a resolve that granted goodwill, retried).
    async fn change_ticket(
        &self,
        ctx: &Ctx,
        id: &str,
        change: &TicketChange,
        idem: Option<&crate::Idempotency>,
    ) -> Result<crate::Replayed<TicketDetail>>;

    // ---- feedback ----
    async fn record_feedback(&self, ctx: &Ctx, f: &NewFeedback) -> Result<Feedback>;
    async fn list_feedback(
        &self,
        program_id: &str,
        query: &FeedbackQuery,
    ) -> Result<Page<Feedback>>;
    async fn feedback_form(&self, token: &str) -> Result<Option<FeedbackForm>>;
    /// Answer a token link once; a second answer is refused.
    async fn answer_feedback(
        &self,
        token: &str,
        score: i64,
        comment: Option<&str>,
        now: Timestamp,
    ) -> Result<Feedback>;

    // ---- orders ----
    async fn create_order(&self, ctx: &Ctx, order: &NewOrder) -> Result<Order>;
    async fn get_order(&self, program_id: &str, id: &str) -> Result<Option<Order>>;
    async fn customer_orders(&self, program_id: &str, customer_id: &str) -> Result<Vec<Order>>;
    async fn set_order_stage(
        &self,
        ctx: &Ctx,
        id: &str,
        stage: &str,
        note: Option<&str>,
    ) -> Result<Order>;

    // ---- outbox and webhooks ----
    async fn create_webhook(&self, ctx: &Ctx, url: &str, events: &[String]) -> Result<Webhook>;
    async fn list_webhooks(&self, program_id: &str) -> Result<Vec<Webhook>>;
    async fn disable_webhook(&self, ctx: &Ctx, id: &str) -> Result<Webhook>;
    /// Lease up to `limit` due messages for `lease`, of every program or of one; a
    /// crashed worker's lease runs out and another delivers them (at least once).
    async fn claim_outbox(
        &self,
        program_id: Option<&str>,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>>;
    /// Record a delivery made under `lease_id` (from [`CrmStore::claim_outbox`]). False
    /// when the lease was no longer held: another worker has the message now.
    async fn outbox_delivered(&self, id: &str, lease_id: &str, now: Timestamp) -> Result<bool>;
    /// A failed attempt under `lease_id`: try again at `retry_at`, or dead-letter it when
    /// `None`. False when the lease was no longer held.
    async fn outbox_failed(
        &self,
        id: &str,
        lease_id: &str,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<bool>;
    async fn list_outbox(
        &self,
        program_id: &str,
        status: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<OutboxMessage>>;
    /// Send a dead-lettered message again.
    async fn retry_outbox(&self, ctx: &Ctx, id: &str) -> Result<OutboxMessage>;

    // ---- reads across the CRM ----
    /// Interactions, purchases, ledger entries, ticket events, tasks, feedback and
    /// order stages, newest first.
    async fn customer_timeline(
        &self,
        program_id: &str,
        customer_id: &str,
        page: &PageRequest,
    ) -> Result<Page<TimelineItem>>;
    async fn staff_performance(
        &self,
        program_id: &str,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<StaffPerformance>>;
}
