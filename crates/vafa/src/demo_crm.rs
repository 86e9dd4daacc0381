//! The demo's customer care: staff who sign in, and two months of calls, complaints,
//! promises, feedback and catering orders for a few hundred of the café's customers.
//!
//! Everything goes through the ordinary CRM operations, each at the moment it happens
//! with the staff member who did it as the actor, so deadlines and breaches, goodwill
//! postings, CSAT requests, the timeline and staff performance come from the store's own
//! rules rather than being written in. The story is planned first — every record's steps
//! drawn from the seed, its deadlines counted on the same business calendar the store
//! uses — then played in time order across all records, so ticket numbers and ids follow
//! the calendar. Whatever was planned for after the demo's present is left undone:
//! tickets still open, promises still due, links not yet answered.
//!
//! The notifications those changes queue are history by the present, so the demo marks
//! them delivered when they fell due (a task's reminder before the task was closed, as
//! the worker would have); only reminders still ahead are left for `vafa serve`.

use anyhow::{Context, Result};
use jiff::{tz::TimeZone, SignedDuration, Timestamp};
use std::collections::HashMap;
use vafa_core::auth::Role;
use vafa_core::crm::{
    BusinessCalendar, BusinessWeek, Direction, FeedbackKind, InteractionKind, OpenHours, SlaPolicy,
    TaskKind, TaskStatus, TicketChannel, TicketPriority, TicketStatus,
};
use vafa_store::demo::{DemoOptions, DemoReport};
use vafa_store::{
    Actor, CrmSettings, Ctx, NewFeedback, NewInteraction, NewOrder, NewStaff, NewTask, NewTicket,
    PageRequest, Store, StoreError, TaskQuery, TicketChange, TicketQuery,
};

/// The one password of every demo login.
pub const DEMO_PASSWORD: &str = "vafa-demo-1405";
/// How far back the CRM history reaches.
const WINDOW_DAYS: i64 = 60;
/// Customers the CRM touches: one in twenty, within these bounds.
const MIN_TOUCHED: usize = 5;
const MAX_TOUCHED: usize = 400;
/// Pages read from any list, at most (200 rows each).
const MAX_PAGES: usize = 10_000;

/// A demo login. The password is [`DEMO_PASSWORD`].
#[derive(Debug, Clone)]
pub struct StaffLogin {
    pub username: String,
    pub name: String,
    pub role: Role,
    id: String,
}

/// What the CRM half of a demo made.
#[derive(Debug, Clone, Default)]
pub struct CrmReport {
    pub password: String,
    pub staff: Vec<StaffLogin>,
    pub customers: u64,
    pub interactions: u64,
    pub tickets: u64,
    /// Still new, in progress or waiting on the customer at the demo's present.
    pub tickets_open: u64,
    /// Past a first-response or resolution deadline at the demo's present.
    pub tickets_breached: u64,
    pub goodwill_points: i64,
    pub csat_requested: u64,
    pub csat_answered: u64,
    pub csat_average: Option<f64>,
    pub nps_answered: u64,
    pub nps: Option<f64>,
    pub tasks: u64,
    pub tasks_open: u64,
    pub tasks_overdue: u64,
    pub promises_kept: u64,
    pub promises_missed: u64,
    pub orders: u64,
    pub notifications_delivered: u64,
}

impl CrmReport {
    pub fn to_json(&self) -> serde_json::Value {
        let staff: Vec<_> = self
            .staff
            .iter()
            .map(|s| {
                serde_json::json!({"username": s.username, "name": s.name, "role": s.role.as_str()})
            })
            .collect();
        serde_json::json!({
            "password": self.password, "staff": staff, "customers": self.customers,
            "interactions": self.interactions, "tickets": self.tickets,
            "tickets_open": self.tickets_open, "tickets_breached": self.tickets_breached,
            "goodwill_points": self.goodwill_points, "csat_requested": self.csat_requested,
            "csat_answered": self.csat_answered, "csat_average": self.csat_average,
            "nps_answered": self.nps_answered, "nps": self.nps, "tasks": self.tasks,
            "tasks_open": self.tasks_open, "tasks_overdue": self.tasks_overdue,
            "promises_kept": self.promises_kept, "promises_missed": self.promises_missed,
            "orders": self.orders, "notifications_delivered": self.notifications_delivered,
        })
    }
}

/// Add staff and two months of customer care to the demo program in `report`.
pub async fn seed(
    store: &dyn Store,
    opts: &DemoOptions,
    report: &DemoReport,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<CrmReport> {
    let program_id = report.program_id.clone();
    let program = store
        .get_program(&program_id)
        .await?
        .context("the demo program is gone")?;
    let tz = TimeZone::get(&program.timezone)?;
    let start = opts.now - SignedDuration::from_hours(24 * WINDOW_DAYS);
    let staff = create_staff(store, &program_id, start - SignedDuration::from_hours(48)).await?;
    let settings = CrmSettings {
        week: cafe_week(),
        // The café's own stage, in its words (PICKUP_STAGES).
        stage_labels: std::collections::BTreeMap::from([(
            "ready_for_pickup".to_owned(),
            vafa_core::crm::StageLabel {
                fa: "آماده‌ی تحویل در شعبه".into(),
                en: "ready for pickup".into(),
            },
        )]),
        category_labels: CATEGORY_LABELS
            .iter()
            .map(|(code, fa, en)| {
                (
                    (*code).to_owned(),
                    vafa_core::crm::StageLabel {
                        fa: (*fa).into(),
                        en: (*en).into(),
                    },
                )
            })
            .collect(),
        ..CrmSettings::default()
    };
    let admin = Ctx {
        program_id: program_id.clone(),
        actor: staff_actor(&staff[ADMIN]),
        now: start - SignedDuration::from_hours(24),
    };
    store.set_crm_settings(&admin, &settings).await?;

    let customers = pick_customers(store, opts, &program_id, start).await?;
    let cal = BusinessCalendar::new(settings.week.clone(), [], tz.clone());
    let mut planner = Planner::new(opts, cal, &settings, tz, start);
    planner.plan(&customers);
    let mut steps = planner.steps;
    steps.retain(|s| s.at < opts.now);
    steps.sort_by_key(|s| s.at);

    let mut player = Player {
        store,
        program_id,
        program_name: program.name,
        staff,
        customers,
        names: HashMap::new(),
        tickets: vec![None; planner.tickets],
        csat: vec![None; planner.tickets],
        tasks: vec![None; planner.tasks],
        surveys: vec![None; planner.surveys],
        orders: vec![None; planner.orders],
        report: CrmReport::default(),
        csat_scores: Vec::new(),
        nps_scores: Vec::new(),
    };
    let total = steps.len() as u64;
    for (done, step) in steps.iter().enumerate() {
        player
            .play(step)
            .await
            .with_context(|| format!("demo CRM step at {}", step.at))?;
        if done % 50 == 0 {
            progress(done as u64, total);
        }
    }
    player.deliver_due(opts.now).await?;
    progress(total, total);
    player.tally(opts.now).await?;
    let mut out = player.report;
    out.password = DEMO_PASSWORD.to_owned();
    out.staff = player.staff;
    Ok(out)
}

/// The café's customer-care hours: every day, shorter on Fridays.
fn cafe_week() -> BusinessWeek {
    let day = Some(OpenHours::hm((9, 0), (21, 0)));
    BusinessWeek {
        saturday: day,
        sunday: day,
        monday: day,
        tuesday: day,
        wednesday: day,
        thursday: day,
        friday: Some(OpenHours::hm((12, 0), (20, 0))),
    }
}

fn staff_actor(s: &StaffLogin) -> Actor {
    Actor::Staff {
        staff_id: s.id.clone(),
        role: s.role,
    }
}

/// The demo's staff, in the order of the `ADMIN`… indices. A username already taken (a
/// second demo in the same database) gets the end of the program id.
async fn create_staff(
    store: &dyn Store,
    program_id: &str,
    at: Timestamp,
) -> Result<Vec<StaffLogin>> {
    // Each login has its own salt; the hashes run on the blocking pool side by side.
    let hashes: Vec<_> = STAFF
        .iter()
        .map(|_| {
            tokio::spawn(vafa_server::api::staff::hash_password(
                DEMO_PASSWORD.to_owned(),
            ))
        })
        .collect();
    let suffix: String = program_id
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let ctx = Ctx {
        program_id: program_id.to_owned(),
        actor: Actor::System,
        now: at,
    };
    let mut out = Vec::with_capacity(STAFF.len());
    for ((username, role, name), hash) in STAFF.iter().zip(hashes) {
        let password_hash = hash
            .await?
            .map_err(|e| anyhow::anyhow!("hashing the demo password: {}", e.detail))?;
        let mut new = NewStaff {
            username: (*username).to_owned(),
            name: (*name).to_owned(),
            role: *role,
            password_hash,
        };
        let member = match store.create_staff(&ctx, &new).await {
            Err(StoreError::DuplicateUsername) => {
                new.username = format!("{username}-{suffix}");
                store.create_staff(&ctx, &new).await?
            }
            other => other?,
        };
        out.push(StaffLogin {
            username: member.username,
            name: member.name,
            role: member.role,
            id: member.id,
        });
    }
    Ok(out)
}

/// A customer the CRM story is about: one who bought in the window.
#[derive(Debug, Clone)]
struct Active {
    id: String,
    first_at: Timestamp,
    last_at: Timestamp,
}

/// One in twenty of the demo's customers (within bounds), drawn from those who bought in
/// the window, oldest in the window first. Ids are random, so the draw orders by what the
/// seed decides: purchase times and amounts.
async fn pick_customers(
    store: &dyn Store,
    opts: &DemoOptions,
    program_id: &str,
    start: Timestamp,
) -> Result<Vec<Active>> {
    let mut rows = store
        .customer_aggregates(program_id, start, opts.now)
        .await?;
    rows.sort_by(|a, b| {
        (
            a.first_at,
            a.last_at,
            a.purchases,
            a.net_minor,
            &a.customer_id,
        )
            .cmp(&(
                b.first_at,
                b.last_at,
                b.purchases,
                b.net_minor,
                &b.customer_id,
            ))
    });
    let want = (opts.customers as usize / 20)
        .clamp(MIN_TOUCHED, MAX_TOUCHED)
        .min(rows.len());
    // A partial Fisher–Yates shuffle on its own stream of the seed.
    let mut rng = Rng::new(opts.seed ^ 0xC0FF_EE00);
    for i in 0..want {
        let j = i + rng.below(rows.len() - i);
        rows.swap(i, j);
    }
    rows.truncate(want);
    rows.sort_by_key(|a| (a.first_at, a.last_at));
    Ok(rows
        .into_iter()
        .map(|r| Active {
            id: r.customer_id,
            first_at: r.first_at,
            last_at: r.last_at,
        })
        .collect())
}

/// Who does a step: a demo staff member (by index), or the customer through Vafa.
#[derive(Debug, Clone, Copy)]
enum Who {
    Vafa,
    Staff(usize),
}

#[derive(Debug, Clone)]
enum Text {
    Plain(&'static str),
    /// A built-in reply template, with the points it mentions.
    Template(&'static str, i64),
}

#[derive(Debug, Clone)]
enum Op {
    Interaction {
        customer: usize,
        kind: InteractionKind,
        direction: Direction,
        outcome: Option<&'static str>,
        summary: String,
        ticket: Option<usize>,
        order: Option<usize>,
    },
    OpenTicket {
        ticket: usize,
        customer: usize,
        category: &'static Category,
        subject: &'static str,
        priority: TicketPriority,
        channel: TicketChannel,
        assignee: Option<usize>,
        purchase_at: Option<Timestamp>,
    },
    Reply {
        ticket: usize,
        text: Text,
        note: bool,
    },
    Assign {
        ticket: usize,
        to: usize,
    },
    Status {
        ticket: usize,
        to: TicketStatus,
        note: Option<&'static str>,
        goodwill: i64,
    },
    AnswerCsat {
        ticket: usize,
        score: i64,
        comment: Option<&'static str>,
    },
    Task {
        task: usize,
        customer: usize,
        kind: TaskKind,
        title: &'static str,
        assignee: usize,
        ticket: Option<usize>,
        due_at: Timestamp,
    },
    CloseTask {
        task: usize,
        status: TaskStatus,
        note: Option<&'static str>,
    },
    /// An NPS survey: answered on the spot with a score, else a link sent.
    Survey {
        survey: usize,
        customer: usize,
        answer: Option<(i64, Option<&'static str>)>,
    },
    AnswerSurvey {
        survey: usize,
        score: i64,
        comment: Option<&'static str>,
    },
    Order {
        order: usize,
        customer: usize,
        external_id: String,
        summary: &'static str,
        total_minor: i64,
    },
    OrderStage {
        order: usize,
        stage: &'static str,
        note: Option<&'static str>,
    },
    /// Mark the notifications due by now delivered.
    Deliver,
}

#[derive(Debug, Clone)]
struct Step {
    at: Timestamp,
    who: Who,
    op: Op,
}

/// Plays the planned steps through the store, keeping the ids they make.
struct Player<'a> {
    store: &'a dyn Store,
    program_id: String,
    program_name: String,
    staff: Vec<StaffLogin>,
    customers: Vec<Active>,
    names: HashMap<usize, String>,
    /// Per planned ticket once opened: its id, number and customer.
    tickets: Vec<Option<(String, i64, usize)>>,
    /// Per planned ticket: the token of the CSAT link its closing sent.
    csat: Vec<Option<String>>,
    tasks: Vec<Option<String>>,
    /// Per planned survey: the token of its link.
    surveys: Vec<Option<String>>,
    orders: Vec<Option<String>>,
    report: CrmReport,
    csat_scores: Vec<i64>,
    nps_scores: Vec<i64>,
}

fn made<'v>(v: &'v [Option<String>], i: usize, what: &str) -> Result<&'v str> {
    v.get(i)
        .and_then(|x| x.as_deref())
        .with_context(|| format!("{what} {i} was planned but not made"))
}

impl Player<'_> {
    fn ctx(&self, who: Who, at: Timestamp) -> Ctx {
        let actor = match who {
            Who::Vafa => Actor::System,
            Who::Staff(i) => self.staff.get(i).map_or(Actor::System, staff_actor),
        };
        Ctx {
            program_id: self.program_id.clone(),
            actor,
            now: at,
        }
    }

    fn staff_id(&self, i: usize) -> Option<String> {
        self.staff.get(i).map(|s| s.id.clone())
    }

    fn customer_id(&self, i: usize) -> Result<String> {
        self.customers
            .get(i)
            .map(|c| c.id.clone())
            .context("no such demo customer")
    }

    fn ticket(&self, k: usize) -> Result<(String, i64, usize)> {
        self.tickets
            .get(k)
            .and_then(Clone::clone)
            .with_context(|| format!("ticket {k} was planned but not opened"))
    }

    async fn play(&mut self, step: &Step) -> Result<()> {
        let ctx = self.ctx(step.who, step.at);
        match &step.op {
            Op::Interaction {
                customer,
                kind,
                direction,
                outcome,
                summary,
                ticket,
                order,
            } => {
                let i = NewInteraction {
                    customer_id: self.customer_id(*customer)?,
                    kind: *kind,
                    direction: *direction,
                    outcome: outcome.map(str::to_owned),
                    summary: Some(summary.clone()),
                    staff_id: None,
                    ticket_id: ticket.map(|k| self.ticket(k)).transpose()?.map(|t| t.0),
                    order_id: order
                        .map(|o| made(&self.orders, o, "order").map(str::to_owned))
                        .transpose()?,
                    campaign_id: None,
                    occurred_at: step.at,
                };
                self.store.record_interaction(&ctx, &i).await?;
                self.report.interactions += 1;
            }
            Op::OpenTicket { .. } | Op::Reply { .. } | Op::Assign { .. } | Op::Status { .. } => {
                self.play_ticket(&ctx, &step.op).await?;
            }
            Op::AnswerCsat {
                ticket,
                score,
                comment,
            } => {
                let token = made(&self.csat, *ticket, "CSAT link")?;
                self.store
                    .answer_feedback(token, *score, *comment, step.at)
                    .await?;
                self.report.csat_answered += 1;
                self.csat_scores.push(*score);
            }
            Op::Task { .. } | Op::CloseTask { .. } => self.play_task(&ctx, &step.op).await?,
            Op::Survey { .. } | Op::AnswerSurvey { .. } => {
                self.play_survey(&ctx, &step.op).await?;
            }
            Op::Order { .. } | Op::OrderStage { .. } => self.play_order(&ctx, &step.op).await?,
            Op::Deliver => self.deliver_due(step.at).await?,
        }
        Ok(())
    }

    async fn play_ticket(&mut self, ctx: &Ctx, op: &Op) -> Result<()> {
        let (k, change) = match op {
            Op::OpenTicket {
                ticket,
                customer,
                category,
                subject,
                priority,
                channel,
                assignee,
                purchase_at,
            } => {
                let customer_id = self.customer_id(*customer)?;
                let purchase_id = match purchase_at {
                    Some(at) => self.purchase_at(&customer_id, *at).await?,
                    None => None,
                };
                let t = NewTicket {
                    customer_id,
                    subject: (*subject).to_owned(),
                    category: category.code.to_owned(),
                    priority: *priority,
                    channel: *channel,
                    assignee_id: assignee.and_then(|a| self.staff_id(a)),
                    purchase_id,
                    description: Some(category.description.to_owned()),
                };
                let opened = self.store.open_ticket(ctx, &t).await?;
                if let Some(slot) = self.tickets.get_mut(*ticket) {
                    *slot = Some((opened.ticket.id, opened.ticket.number, *customer));
                }
                self.report.tickets += 1;
                return Ok(());
            }
            Op::Reply { ticket, text, note } => {
                let body = self.render(ctx, *ticket, text).await?;
                let template_key = match text {
                    Text::Template(key, _) => Some((*key).to_owned()),
                    Text::Plain(_) => None,
                };
                let change = TicketChange::Reply {
                    body,
                    template_key,
                    note: *note,
                };
                (*ticket, change)
            }
            Op::Assign { ticket, to } => (
                *ticket,
                TicketChange::Assign {
                    assignee_id: self.staff_id(*to),
                },
            ),
            Op::Status {
                ticket,
                to,
                note,
                goodwill,
            } => (
                *ticket,
                TicketChange::Status {
                    to: *to,
                    note: note.map(str::to_owned),
                    goodwill_points: *goodwill,
                },
            ),
            _ => return Ok(()),
        };
        let (id, _, _) = self.ticket(k)?;
        self.store.change_ticket(ctx, &id, &change, None).await?;
        if let TicketChange::Status {
            to: TicketStatus::Closed,
            ..
        } = change
        {
            let token = self.csat_token(&id).await?;
            if let Some(slot) = self.csat.get_mut(k) {
                *slot = Some(token);
            }
            self.report.csat_requested += 1;
        }
        Ok(())
    }

    /// The id of the customer's purchase at `at`, to link a complaint to its receipt.
    async fn purchase_at(&self, customer_id: &str, at: Timestamp) -> Result<Option<String>> {
        let page = self
            .store
            .customer_timeline(
                &self.program_id,
                customer_id,
                &PageRequest {
                    cursor: None,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        Ok(page
            .items
            .into_iter()
            .find(|i| i.kind == "purchase" && i.at == at)
            .map(|i| i.id))
    }

    /// A reply's words: plain, or a built-in template filled in as the API fills it.
    async fn render(&mut self, ctx: &Ctx, k: usize, text: &Text) -> Result<String> {
        let (key, points) = match text {
            Text::Plain(body) => return Ok((*body).to_owned()),
            Text::Template(key, points) => (*key, *points),
        };
        let template =
            vafa_core::crm::default_template(key).with_context(|| format!("no template {key}"))?;
        let (_, number, customer) = self.ticket(k)?;
        let name = self.customer_name(customer).await?;
        let staff_name = match &ctx.actor {
            Actor::Staff { staff_id, .. } => self
                .staff
                .iter()
                .find(|s| &s.id == staff_id)
                .map(|s| s.name.clone()),
            _ => None,
        };
        let digits = vafa_core::digits::to_persian_digits;
        let mut vars = std::collections::BTreeMap::new();
        vars.insert("customer_name", name);
        vars.insert("ticket_number", digits(&format!("T-{number}")));
        vars.insert("program_name", self.program_name.clone());
        vars.insert(
            "staff_name",
            staff_name.unwrap_or_else(|| self.program_name.clone()),
        );
        vars.insert("points", digits(&points.to_string()));
        Ok(vafa_core::crm::render(&template.fa, &vars)?)
    }

    async fn customer_name(&mut self, i: usize) -> Result<String> {
        if let Some(name) = self.names.get(&i) {
            return Ok(name.clone());
        }
        let id = self.customer_id(i)?;
        let c = self
            .store
            .get_customer(&self.program_id, &id)
            .await?
            .context("a demo customer is gone")?;
        let name = [c.first_name.as_deref(), c.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        self.names.insert(i, name.clone());
        Ok(name)
    }

    /// The token of the CSAT link closing `ticket_id` just sent: the newest pending
    /// `feedback.requested` notification about it (closing returns no feedback id).
    async fn csat_token(&self, ticket_id: &str) -> Result<String> {
        let page = self
            .store
            .list_outbox(
                &self.program_id,
                Some("pending"),
                &PageRequest {
                    cursor: None,
                    limit: 50,
                },
            )
            .await?;
        page.items
            .iter()
            .filter(|m| m.event == "feedback.requested")
            .map(|m| m.payload.get("data").unwrap_or(&m.payload))
            .find(|d| d.get("ticket_id").and_then(|v| v.as_str()) == Some(ticket_id))
            .and_then(|d| d.get("link")?.as_str()?.strip_prefix("/f/"))
            .map(str::to_owned)
            .with_context(|| format!("closing ticket {ticket_id} sent no CSAT link"))
    }

    async fn play_task(&mut self, ctx: &Ctx, op: &Op) -> Result<()> {
        match op {
            Op::Task {
                task,
                customer,
                kind,
                title,
                assignee,
                ticket,
                due_at,
            } => {
                let t = NewTask {
                    customer_id: Some(self.customer_id(*customer)?),
                    kind: *kind,
                    title: (*title).to_owned(),
                    notes: None,
                    assignee_id: self.staff_id(*assignee),
                    ticket_id: ticket.map(|k| self.ticket(k)).transpose()?.map(|t| t.0),
                    due_at: *due_at,
                    remind_before_minutes: None,
                };
                let made = self.store.create_task(ctx, &t).await?;
                if let Some(slot) = self.tasks.get_mut(*task) {
                    *slot = Some(made.id);
                }
                self.report.tasks += 1;
            }
            Op::CloseTask { task, status, note } => {
                let id = made(&self.tasks, *task, "task")?;
                self.store.close_task(ctx, id, *status, *note).await?;
                match status {
                    TaskStatus::Kept => self.report.promises_kept += 1,
                    TaskStatus::Missed => self.report.promises_missed += 1,
                    _ => {}
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn play_survey(&mut self, ctx: &Ctx, op: &Op) -> Result<()> {
        match op {
            Op::Survey {
                survey,
                customer,
                answer,
            } => {
                let on_the_spot = matches!(ctx.actor, Actor::Staff { .. });
                let f = NewFeedback {
                    kind: FeedbackKind::Nps,
                    score: answer.map(|a| a.0),
                    comment: answer.and_then(|a| a.1).map(str::to_owned),
                    customer_id: Some(self.customer_id(*customer)?),
                    purchase_id: None,
                    ticket_id: None,
                    staff_id: on_the_spot
                        .then(|| ctx.actor.staff_id().map(str::to_owned))
                        .flatten(),
                    locale: "fa".to_owned(),
                };
                let saved = self.store.record_feedback(ctx, &f).await?;
                if let Some((score, _)) = answer {
                    self.report.nps_answered += 1;
                    self.nps_scores.push(*score);
                }
                if let Some(slot) = self.surveys.get_mut(*survey) {
                    *slot = saved.token;
                }
            }
            Op::AnswerSurvey {
                survey,
                score,
                comment,
            } => {
                let token = made(&self.surveys, *survey, "NPS link")?;
                self.store
                    .answer_feedback(token, *score, *comment, ctx.now)
                    .await?;
                self.report.nps_answered += 1;
                self.nps_scores.push(*score);
            }
            _ => {}
        }
        Ok(())
    }

    async fn play_order(&mut self, ctx: &Ctx, op: &Op) -> Result<()> {
        match op {
            Op::Order {
                order,
                customer,
                external_id,
                summary,
                total_minor,
            } => {
                let o = NewOrder {
                    customer_id: self.customer_id(*customer)?,
                    external_id: Some(external_id.clone()),
                    stage: "received".to_owned(),
                    summary: Some((*summary).to_owned()),
                    total_minor: Some(*total_minor),
                };
                let made = self.store.create_order(ctx, &o).await?;
                if let Some(slot) = self.orders.get_mut(*order) {
                    *slot = Some(made.id);
                }
                self.report.orders += 1;
            }
            Op::OrderStage { order, stage, note } => {
                let id = made(&self.orders, *order, "order")?;
                self.store.set_order_stage(ctx, id, stage, *note).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Deliver every notification due by `at` (the demo has only the log), recorded a
    /// few seconds after it fell due: claimed and settled as the worker would.
    async fn deliver_due(&mut self, at: Timestamp) -> Result<()> {
        let lease = SignedDuration::from_secs(60);
        for _ in 0..MAX_PAGES {
            let claimed = self
                .store
                .claim_outbox(Some(&self.program_id), at, lease, 500)
                .await?;
            if claimed.is_empty() {
                break;
            }
            for m in claimed {
                let sent = (m.available_at + SignedDuration::from_secs(3)).min(at);
                let lease_id = m.lease_id.as_deref().unwrap_or_default();
                if self.store.outbox_delivered(&m.id, lease_id, sent).await? {
                    self.report.notifications_delivered += 1;
                }
            }
        }
        Ok(())
    }

    /// The figures that depend on the present: open and breached tickets, open and
    /// overdue tasks, goodwill, and the scores.
    async fn tally(&mut self, now: Timestamp) -> Result<()> {
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let q = TicketQuery {
                page: PageRequest {
                    cursor,
                    limit: PageRequest::MAX_LIMIT,
                },
                ..TicketQuery::default()
            };
            let page = self.store.list_tickets(&self.program_id, &q, now).await?;
            for t in &page.items {
                self.report.tickets_open += u64::from(t.status.is_open());
                self.report.tickets_breached +=
                    u64::from(t.first_response_breached || t.resolution_breached);
                self.report.goodwill_points += t.goodwill_points;
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let q = TaskQuery {
                status: Some(TaskStatus::Open),
                page: PageRequest {
                    cursor,
                    limit: PageRequest::MAX_LIMIT,
                },
                ..TaskQuery::default()
            };
            let page = self.store.list_tasks(&self.program_id, &q, now).await?;
            self.report.tasks_open += page.items.len() as u64;
            self.report.tasks_overdue += page.items.iter().filter(|t| t.overdue).count() as u64;
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        self.report.customers = self.customers.len() as u64;
        self.report.nps = vafa_core::crm::nps(&self.nps_scores);
        self.report.csat_average = (!self.csat_scores.is_empty())
            .then(|| self.csat_scores.iter().sum::<i64>() as f64 / self.csat_scores.len() as f64);
        Ok(())
    }
}

/// SplitMix64: a small, fast generator whose stream is fixed by its seed. (This crate
/// does not depend on `rand`; the demo only needs reproducible draws.)
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5EED_0000_1405_CAFE)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in [0, n); 0 when n is 0.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Uniform in [lo, hi); `lo` when the range is empty.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + (self.next_u64() % (hi - lo) as u64) as i64
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.below(items.len())).copied()
    }

    /// An index drawn by weight.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        0
    }
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

/// `t`, or a minute after `prev` when `t` is not later: a record's steps ascend.
fn after(prev: Timestamp, t: Timestamp) -> Timestamp {
    t.max(prev + mins(1))
}

/// A task or promise to plan.
struct FollowUp {
    customer: usize,
    kind: TaskKind,
    title: &'static str,
    assignee: usize,
    ticket: Option<usize>,
    created: Timestamp,
    due: Option<Timestamp>,
    /// Still open at the present, whatever its due time.
    open: bool,
}

/// Draws the story: every record's steps with their moments and actors.
struct Planner {
    rng: Rng,
    cal: BusinessCalendar,
    sla: SlaPolicy,
    reminder: SignedDuration,
    tz: TimeZone,
    start: Timestamp,
    now: Timestamp,
    steps: Vec<Step>,
    tickets: usize,
    tasks: usize,
    surveys: usize,
    orders: usize,
}

impl Planner {
    fn new(
        opts: &DemoOptions,
        cal: BusinessCalendar,
        settings: &CrmSettings,
        tz: TimeZone,
        start: Timestamp,
    ) -> Planner {
        Planner {
            rng: Rng::new(opts.seed),
            cal,
            sla: settings.sla.clone(),
            reminder: mins(i64::from(settings.reminder_minutes)),
            tz,
            start,
            now: opts.now,
            steps: Vec::new(),
            tickets: 0,
            tasks: 0,
            surveys: 0,
            orders: 0,
        }
    }

    fn push(&mut self, at: Timestamp, who: Who, op: Op) {
        self.steps.push(Step { at, who, op });
    }

    /// Each customer's story. The first few are the earliest in the window, so the
    /// stories every demo must show (a ticket answered in time with goodwill, one
    /// answered late, an order, a promise still ahead) have time to finish.
    fn plan(&mut self, customers: &[Active]) {
        for (i, c) in customers.iter().enumerate() {
            let contacts = self.rng.weighted(&[30, 40, 20, 10]);
            for _ in 0..contacts {
                self.contact(i, c);
            }
            match i {
                0 => self.ticket(i, c, Some(false)),
                1 => self.ticket(i, c, Some(true)),
                _ if self.rng.chance(0.42) => {
                    self.ticket(i, c, None);
                    if self.rng.chance(0.1) {
                        self.ticket(i, c, None);
                    }
                }
                _ => {}
            }
            if self.rng.chance(0.15) {
                self.callback(i, c);
            }
            if i == 3 || self.rng.chance(0.05) {
                self.upcoming(i);
            }
            if self.rng.chance(0.35) {
                self.survey(i, c);
            }
            if i == 2 || self.rng.chance(0.05) {
                self.order(i, c);
            }
        }
    }

    fn support(&mut self) -> usize {
        if self.rng.chance(0.55) {
            SARA
        } else {
            REZA
        }
    }

    /// Business time after `t`: between `lo` and `hi` minutes of open hours.
    fn work(&mut self, t: Timestamp, lo: i64, hi: i64) -> Timestamp {
        let m = self.rng.range(lo, hi);
        after(t, self.cal.add_minutes(t, m))
    }

    /// Wall-clock time after `t`: between `lo` and `hi` minutes.
    fn wall(&mut self, t: Timestamp, lo: i64, hi: i64) -> Timestamp {
        t + mins(self.rng.range(lo, hi))
    }

    /// `t`, or later when the café is shut (22:00–08:00): customers act by day.
    fn awake(&mut self, t: Timestamp) -> Timestamp {
        let z = t.to_zoned(self.tz.clone());
        if (8..22).contains(&z.hour()) {
            return t;
        }
        let day = if z.hour() >= 22 {
            z.date().tomorrow().unwrap_or(z.date())
        } else {
            z.date()
        };
        let (hour, minute) = (self.rng.range(9, 21) as i8, self.rng.range(0, 60) as i8);
        day.at(hour, minute, 0, 0)
            .to_zoned(self.tz.clone())
            .map(|z| z.timestamp())
            .unwrap_or(t)
    }

    /// A daytime moment in [a, b).
    fn moment(&mut self, a: Timestamp, b: Timestamp) -> Timestamp {
        let span = b.as_second() - a.as_second();
        if span <= 1 {
            return a;
        }
        let t = a + SignedDuration::from_secs(self.rng.range(0, span));
        self.awake(t).min(b - SignedDuration::from_secs(1))
    }

    fn contact(&mut self, customer: usize, c: &Active) {
        let weights: Vec<u32> = CONTACTS.iter().map(|k| k.weight).collect();
        let kind = &CONTACTS[self.rng.weighted(&weights)];
        let staff = match kind.by {
            By::Support => self.support(),
            By::Cashier => CASHIER,
            By::Manager => MANAGER,
        };
        let mut at = self.moment(c.first_at.max(self.start), self.now);
        if !matches!(kind.direction, Direction::Inbound) {
            // Staff call, text and write notes in working hours.
            at = self.cal.add_minutes(at, 0);
        }
        let summary = self.rng.pick(kind.summaries).unwrap_or_default();
        let outcome = self.rng.pick(kind.outcomes);
        self.push(
            at,
            Who::Staff(staff),
            Op::Interaction {
                customer,
                kind: kind.kind,
                direction: kind.direction,
                outcome,
                summary: summary.to_owned(),
                ticket: None,
                order: None,
            },
        );
    }

    fn priority(&mut self, base: TicketPriority) -> TicketPriority {
        use TicketPriority::*;
        let order = [Low, Normal, High, Urgent];
        let i = order.iter().position(|p| *p == base).unwrap_or(1);
        let j = match self.rng.weighted(&[12, 76, 12]) {
            0 => i.saturating_sub(1),
            2 => (i + 1).min(3),
            _ => i,
        };
        order[j]
    }

    /// A ticket's opening: by whom, about what, and who takes it; then its story goes on
    /// in [`Planner::answer`]. `forced` fixes whether the first answer is late and makes
    /// the story finish.
    fn ticket(&mut self, customer: usize, c: &Active, forced: Option<bool>) {
        let k = self.tickets;
        self.tickets += 1;
        let weights: Vec<u32> = CATEGORIES.iter().map(|c| c.weight).collect();
        let cat: &'static Category = match forced {
            Some(_) => &CATEGORIES[k % 2],
            None => &CATEGORIES[self.rng.weighted(&weights)],
        };
        let (opened, purchase_at) = if cat.after_purchase {
            let early = forced.is_some() || self.rng.chance(0.5);
            let p = if early { c.first_at } else { c.last_at };
            (self.wall(p, 10, 180), Some(p))
        } else {
            (self.moment(c.first_at.max(self.start), self.now), None)
        };
        let opened = self.awake(opened);
        let priority = self.priority(cat.priority);
        let weights: Vec<u32> = CHANNELS.iter().map(|c| c.1).collect();
        let channel = match forced {
            Some(_) => TicketChannel::Phone,
            None => CHANNELS[self.rng.weighted(&weights)].0,
        };
        let support = self.support();
        let (opener, assigned) = match channel {
            TicketChannel::Phone | TicketChannel::Sms => (Who::Staff(support), true),
            TicketChannel::InStore => (Who::Staff(CASHIER), false),
            TicketChannel::Social => (Who::Staff(MANAGER), false),
            _ => (Who::Vafa, false),
        };
        let subject = self.rng.pick(cat.subjects).unwrap_or(cat.code);
        let assignee = assigned.then_some(support);
        let op = Op::OpenTicket {
            ticket: k,
            customer,
            category: cat,
            subject,
            priority,
            channel,
            assignee,
            purchase_at,
        };
        self.push(opened, opener, op);
        let mut t = opened;
        if channel == TicketChannel::Phone {
            t = after(t, t);
            let summary = format!("تماس مشتری: {subject}");
            self.push(
                t,
                Who::Staff(support),
                call(customer, Direction::Inbound, summary, Some(k), None),
            );
        }
        if !assigned {
            t = self.work(t, 3, 40);
            self.push(
                t,
                Who::Staff(MANAGER),
                Op::Assign {
                    ticket: k,
                    to: support,
                },
            );
        }
        let late = forced.unwrap_or_else(|| self.rng.chance(0.2));
        let story = Story {
            k,
            customer,
            cat,
            support,
            late,
            forced: forced.is_some(),
            opened,
            priority,
        };
        self.answer(&story, t);
    }

    fn reply(&mut self, at: Timestamp, s: &Story, text: Text, note: bool) {
        self.push(
            at,
            Who::Staff(s.support),
            Op::Reply {
                ticket: s.k,
                text,
                note,
            },
        );
    }

    /// The first answer (in time or late), a note, and perhaps a wait on the customer.
    fn answer(&mut self, s: &Story, mut t: Timestamp) {
        let targets = self.sla.targets(s.priority);
        let first = i64::from(targets.first_response_minutes);
        let reply_in = if s.late {
            first + self.rng.range(first / 5 + 5, first * 2 + 30)
        } else {
            self.rng.range((first / 10).max(2), (first * 8 / 10).max(3))
        };
        t = after(t, self.cal.add_minutes(s.opened, reply_in));
        let text = match (self.rng.chance(0.45), s.cat.our_fault) {
            (true, true) => Text::Template("apology", 0),
            (true, false) => Text::Template("acknowledge", 0),
            (false, _) => Text::Plain(s.cat.reply),
        };
        self.reply(t, s, text, false);
        let mut due = self
            .cal
            .add_minutes(s.opened, i64::from(targets.resolution_minutes));
        if self.rng.chance(0.3) {
            t = self.work(t, 10, 90);
            self.reply(t, s, Text::Plain(s.cat.note), true);
        }
        if !s.forced && self.rng.chance(0.15) {
            t = self.work(t, 5, 60);
            self.reply(t, s, Text::Template("need_info", 0), false);
            let paused = after(t, t);
            let who = Who::Staff(s.support);
            self.push(
                paused,
                who,
                status(s.k, TicketStatus::WaitingOnCustomer, Some(WAITING_NOTE), 0),
            );
            let back = self.wall(paused, 120, 2400);
            t = self.work(back, 5, 60);
            self.push(
                t,
                who,
                status(s.k, TicketStatus::InProgress, Some(RESUMED_NOTE), 0),
            );
            // The store moves the deadline on by the business time spent waiting.
            let waited = self.cal.business_seconds(paused, t);
            due = self.cal.add_minutes(due, (waited + 59) / 60);
        }
        if s.forced || !self.rng.chance(0.06) {
            self.resolve(s, t, due);
        }
    }

    /// The resolution — late for some, with goodwill points for some — and a promise.
    fn resolve(&mut self, s: &Story, t: Timestamp, due: Timestamp) {
        let late_resolution = !s.forced && self.rng.chance(if s.late { 0.45 } else { 0.08 });
        let resolved = if late_resolution {
            self.work(due, 30, 600)
        } else {
            let room = self.cal.business_seconds(t, due) / 60;
            self.work(t, 10, (room - 5).max(11))
        };
        let late = s.late || late_resolution;
        let chance = s.cat.goodwill.0 + if late { 0.2 } else { 0.0 };
        let goodwill = if (s.forced && !s.late) || self.rng.chance(chance) {
            self.rng.pick(s.cat.goodwill.1).unwrap_or(0)
        } else {
            0
        };
        let key = if goodwill > 0 {
            "resolved"
        } else {
            "resolved_no_gift"
        };
        self.reply(resolved, s, Text::Template(key, goodwill), false);
        let t = after(resolved, resolved);
        let op = status(
            s.k,
            TicketStatus::Resolved,
            Some(s.cat.resolution),
            goodwill,
        );
        self.push(t, Who::Staff(s.support), op);
        if let Some(title) = s.cat.promise.filter(|_| s.forced || self.rng.chance(0.7)) {
            self.follow_up(FollowUp {
                customer: s.customer,
                kind: TaskKind::Promise,
                title,
                assignee: s.support,
                ticket: Some(s.k),
                created: after(t, t),
                due: None,
                open: false,
            });
        }
        if s.forced || !self.rng.chance(0.12) {
            self.close(s, t, late, goodwill > 0);
        }
    }

    /// The close a few days on, and the customer's answer to the CSAT link it sends.
    fn close(&mut self, s: &Story, resolved: Timestamp, late: bool, goodwill: bool) {
        let w = self.wall(resolved, 240, 4 * 1440);
        let t = self.work(w, 0, 30);
        self.push(
            t,
            Who::Staff(s.support),
            status(s.k, TicketStatus::Closed, None, 0),
        );
        if s.forced || self.rng.chance(0.75) {
            let w = self.wall(t, 20, 2 * 1440);
            let at = self.awake(w);
            let score = self.csat_score(late, goodwill);
            let comment = self.comment(match score {
                5 => CSAT_GREAT,
                4 => CSAT_GOOD,
                3 => CSAT_FAIR,
                _ => CSAT_POOR,
            });
            self.push(
                at,
                Who::Vafa,
                Op::AnswerCsat {
                    ticket: s.k,
                    score,
                    comment,
                },
            );
        }
    }

    fn csat_score(&mut self, late: bool, goodwill: bool) -> i64 {
        let weights = match (late, goodwill) {
            (false, _) => [2, 3, 8, 30, 57],
            (true, true) => [4, 8, 20, 35, 33],
            (true, false) => [10, 14, 28, 28, 20],
        };
        self.rng.weighted(&weights) as i64 + 1
    }

    /// Skewed to promoters: about 54% promoters and 18% detractors, an NPS near 36.
    fn nps_score(&mut self) -> i64 {
        self.rng.weighted(&[1, 1, 1, 2, 3, 4, 6, 11, 17, 21, 33]) as i64
    }

    /// A comment from `pool` for a bit over half of the answers.
    fn comment(&mut self, pool: &'static [&'static str]) -> Option<&'static str> {
        if self.rng.chance(0.55) {
            self.rng.pick(pool)
        } else {
            None
        }
    }

    /// A task or promise: created, reminded of, and kept, done, missed, cancelled — or
    /// still open, overdue or not.
    fn follow_up(&mut self, f: FollowUp) {
        let n = self.tasks;
        self.tasks += 1;
        let due = match f.due {
            Some(d) => d,
            None => self.work(f.created, 240, 1800),
        };
        let who = Who::Staff(f.assignee);
        let op = Op::Task {
            task: n,
            customer: f.customer,
            kind: f.kind,
            title: f.title,
            assignee: f.assignee,
            ticket: f.ticket,
            due_at: due,
        };
        self.push(f.created, who, op);
        let promise = f.kind == TaskKind::Promise;
        let end = if f.open {
            3
        } else {
            self.rng.weighted(&[72, 12, 4, 12])
        };
        let close = match end {
            0 => {
                let room = self.cal.business_seconds(f.created, due) / 60;
                let at = self.work(f.created, 20, room + 120);
                let done = if promise {
                    TaskStatus::Kept
                } else {
                    TaskStatus::Done
                };
                Some((at, done, None))
            }
            1 if promise => Some((
                self.work(due, 120, 1440),
                TaskStatus::Missed,
                Some(MISSED_NOTE),
            )),
            1 | 2 => Some((
                self.work(f.created, 30, 600),
                TaskStatus::Cancelled,
                Some(CANCELLED_NOTE),
            )),
            _ => None,
        };
        // The reminder went out before the close, as the worker would have sent it.
        let remind = (due - self.reminder).max(f.created);
        if due > f.created && close.is_none_or(|c| c.0 > remind) {
            self.push(
                remind + SignedDuration::from_secs(1),
                Who::Vafa,
                Op::Deliver,
            );
        }
        let Some((at, status, note)) = close else {
            return;
        };
        if status == TaskStatus::Done {
            let summary = format!("تماس پیگیری: {}", f.title);
            self.push(
                at,
                who,
                call(f.customer, Direction::Outbound, summary, None, None),
            );
        }
        self.push(
            after(at, at),
            who,
            Op::CloseTask {
                task: n,
                status,
                note,
            },
        );
    }

    fn callback(&mut self, customer: usize, c: &Active) {
        let assignee = self.support();
        let m = self.moment(c.first_at.max(self.start), self.now);
        let created = self.work(m, 0, 30);
        let title = self.rng.pick(CALLBACKS).unwrap_or_default();
        self.follow_up(FollowUp {
            customer,
            kind: TaskKind::Task,
            title,
            assignee,
            ticket: None,
            created,
            due: None,
            open: false,
        });
    }

    /// A promise made in the last days and due in the coming ones.
    fn upcoming(&mut self, customer: usize) {
        let assignee = self.support();
        let created = self.moment(self.now - mins(3 * 1440), self.now - mins(60));
        let w = self.wall(self.now, 1440, 6 * 1440);
        let due = self.awake(w);
        let title = self.rng.pick(UPCOMING).unwrap_or_default();
        self.follow_up(FollowUp {
            customer,
            kind: TaskKind::Promise,
            title,
            assignee,
            ticket: None,
            created,
            due: Some(due),
            open: true,
        });
    }

    /// An NPS score: on the in-store tablet, or by a link the day after a purchase.
    fn survey(&mut self, customer: usize, c: &Active) {
        let n = self.surveys;
        self.surveys += 1;
        let bought = if self.rng.chance(0.5) {
            c.last_at
        } else {
            c.first_at
        };
        let score = self.nps_score();
        let comment = self.comment(match score {
            9.. => NPS_PROMOTER,
            7 | 8 => NPS_PASSIVE,
            _ => NPS_DETRACTOR,
        });
        if self.rng.chance(0.3) {
            let at = self.wall(bought, 3, 15);
            let op = Op::Survey {
                survey: n,
                customer,
                answer: Some((score, comment)),
            };
            self.push(at, Who::Staff(CASHIER), op);
            return;
        }
        let w = self.wall(bought, 120, 1500);
        let sent = self.awake(w);
        self.push(
            sent,
            Who::Vafa,
            Op::Survey {
                survey: n,
                customer,
                answer: None,
            },
        );
        if self.rng.chance(0.72) {
            let w = self.wall(sent, 10, 3 * 1440);
            let at = self.awake(w);
            self.push(
                at,
                Who::Vafa,
                Op::AnswerSurvey {
                    survey: n,
                    score,
                    comment,
                },
            );
        }
    }

    /// A catering order taken by phone, or an online order picked up at the counter.
    fn order(&mut self, customer: usize, c: &Active) {
        let n = self.orders;
        self.orders += 1;
        let catering = self.rng.chance(0.4);
        let created = self.moment(c.first_at.max(self.start), self.now);
        let menu: &[(&str, i64)] = if catering { &CATERING } else { &ONLINE };
        let (summary, total_minor) = self.rng.pick(menu).unwrap_or(("", 0));
        let (external_id, who, staff) = if catering {
            (format!("CAT-{:04}", n + 1), Who::Staff(MANAGER), MANAGER)
        } else {
            (format!("WEB-{:05}", 1001 + n), Who::Vafa, CASHIER)
        };
        let op = Op::Order {
            order: n,
            customer,
            external_id,
            summary,
            total_minor,
        };
        self.push(created, who, op);
        let mut t = created;
        if catering {
            t = after(t, t);
            let text = format!("سفارش تلفنی پذیرایی: {summary}");
            self.push(
                t,
                who,
                call(customer, Direction::Inbound, text, None, Some(n)),
            );
        }
        let staff = Who::Staff(staff);
        if self.rng.chance(0.1) {
            t = self.work(t, 30, 300);
            let op = Op::OrderStage {
                order: n,
                stage: "cancelled",
                note: Some(ORDER_CANCELLED),
            };
            self.push(t, staff, op);
            return;
        }
        let stages: &[(&str, Option<&str>, i64, i64)] = if catering {
            &CATERING_STAGES
        } else {
            &PICKUP_STAGES
        };
        for &(stage, note, lo, hi) in stages {
            t = self.work(t, lo, hi);
            self.push(
                t,
                staff,
                Op::OrderStage {
                    order: n,
                    stage,
                    note,
                },
            );
        }
    }
}

/// What a ticket's story carries from its opening to its end.
struct Story {
    k: usize,
    customer: usize,
    cat: &'static Category,
    support: usize,
    /// The first answer comes after its deadline.
    late: bool,
    /// The story always finishes (closed and rated).
    forced: bool,
    opened: Timestamp,
    priority: TicketPriority,
}

/// A logged phone call.
fn call(
    customer: usize,
    direction: Direction,
    summary: String,
    ticket: Option<usize>,
    order: Option<usize>,
) -> Op {
    Op::Interaction {
        customer,
        kind: InteractionKind::Call,
        direction,
        outcome: Some("answered"),
        summary,
        ticket,
        order,
    }
}

fn status(ticket: usize, to: TicketStatus, note: Option<&'static str>, goodwill: i64) -> Op {
    Op::Status {
        ticket,
        to,
        note,
        goodwill,
    }
}

// ---------------------------------------------------------------- the script

const ADMIN: usize = 0;
const MANAGER: usize = 1;
const SARA: usize = 2;
const REZA: usize = 3;
const CASHIER: usize = 4;

/// Username, role and name; the indices above point into it.
const STAFF: [(&str, Role, &str); 6] = [
    ("admin", Role::Admin, "مدیر کافه"),
    ("manager", Role::Manager, "نگار افشار"),
    ("sara", Role::Support, "سارا محمدی"),
    ("reza", Role::Support, "رضا کریمی"),
    ("cashier", Role::Cashier, "مهدی رحیمی"),
    ("analyst", Role::Analyst, "الهام نوری"),
];

/// A kind of complaint or request, with what is said at each step.
#[derive(Debug)]
struct Category {
    code: &'static str,
    weight: u32,
    subjects: &'static [&'static str],
    description: &'static str,
    priority: TicketPriority,
    /// About one purchase: opened soon after it and linked to its receipt.
    after_purchase: bool,
    /// The café's own mistake: the first answer apologises.
    our_fault: bool,
    reply: &'static str,
    note: &'static str,
    resolution: &'static str,
    /// The chance of goodwill points on resolving, and the amounts.
    goodwill: (f64, &'static [i64]),
    /// What staff promise on resolving, if anything.
    promise: Option<&'static str>,
}

/// The café's ticket categories in its words (code, Persian, English).
const CATEGORY_LABELS: [(&str, &str, &str); 10] = [
    ("cold_coffee", "قهوه‌ی سرد", "cold coffee"),
    ("wrong_order", "سفارش اشتباه", "wrong order"),
    ("long_wait", "انتظار طولانی", "long wait"),
    ("points_missing", "امتیاز ثبت‌نشده", "missing points"),
    ("card_lost", "کارت گم‌شده", "lost card"),
    ("billing", "صورت‌حساب", "billing"),
    ("staff_behaviour", "برخورد کارکنان", "staff behaviour"),
    ("sms_code", "کد پیامکی", "SMS code"),
    ("suggestion", "پیشنهاد", "suggestion"),
    ("hygiene", "بهداشت", "hygiene"),
];

static CATEGORIES: [Category; 10] = [
    Category {
        code: "cold_coffee",
        weight: 18,
        subjects: &["قهوه سرد تحویل شد", "لاته ولرم و بی‌کیفیت بود", "کاپوچینو سرد بود و کف نداشت"],
        description: "سفارشم را که تحویل گرفتم قهوه کاملاً سرد بود. از کافه وفا انتظار بیشتری داشتم.",
        priority: TicketPriority::Normal,
        after_purchase: true,
        our_fault: true,
        reply: "سلام، بابت قهوه سرد واقعاً متأسفیم. موضوع را با سرپرست شعبه بررسی می‌کنیم و نتیجه را خبر می‌دهیم.",
        note: "با سرپرست شعبه صحبت شد؛ دستگاه بخار شیر آن روز تنظیم نبوده و سرویس شد.",
        resolution: "دستگاه بخار شیر سرویس شد و برای مشتری امتیاز جبرانی در نظر گرفته شد.",
        goodwill: (0.6, &[100, 200]),
        promise: None,
    },
    Category {
        code: "wrong_order",
        weight: 14,
        subjects: &["سفارش اشتباه تحویل شد", "به جای کاپوچینو آمریکانو دادند", "کیک سفارشی‌ام در بسته نبود"],
        description: "چیزی که تحویل گرفتم با سفارشم فرق داشت و تا به خانه رسیدم متوجه نشدم.",
        priority: TicketPriority::Normal,
        after_purchase: true,
        our_fault: true,
        reply: "سلام، بابت اشتباه در سفارش‌تان عذرخواهی می‌کنیم. رسید خرید را پیدا کردیم و در حال پیگیری هستیم.",
        note: "رسید با صندوق شعبه تطبیق داده شد؛ اشتباه از سمت بار بوده است.",
        resolution: "اشتباه سفارش تأیید شد و امتیاز جبرانی به حساب مشتری اضافه شد.",
        goodwill: (0.7, &[150, 200, 300]),
        promise: None,
    },
    Category {
        code: "long_wait",
        weight: 12,
        subjects: &["انتظار طولانی برای سفارش", "بیست دقیقه منتظر یک اسپرسو ماندم", "صف صندوق خیلی کند بود"],
        description: "ساعت شلوغی بود ولی بیش از بیست دقیقه منتظر ماندم و کسی پاسخ‌گو نبود.",
        priority: TicketPriority::Low,
        after_purchase: true,
        our_fault: true,
        reply: "سلام، از این‌که منتظر ماندید عذرخواهی می‌کنیم. برنامه شیفت‌های شعبه را بررسی می‌کنیم.",
        note: "شیفت عصر آن روز یک نفر کم داشته؛ به مدیر شعبه اطلاع داده شد.",
        resolution: "برای ساعت‌های شلوغ یک نفر به شیفت عصر اضافه شد.",
        goodwill: (0.3, &[100]),
        promise: None,
    },
    Category {
        code: "points_missing",
        weight: 16,
        subjects: &["امتیاز خریدم ثبت نشده", "امتیاز خرید دیروز به کارتم اضافه نشد", "موجودی امتیازم کمتر از انتظارم است"],
        description: "خرید کردم ولی امتیازش در باشگاه مشتریان دیده نمی‌شود.",
        priority: TicketPriority::Normal,
        after_purchase: true,
        our_fault: false,
        reply: "سلام، خریدتان را پیدا کردیم؛ امتیاز هر خرید پس از هفت روز قابل استفاده می‌شود. جزئیات را بررسی می‌کنیم.",
        note: "امتیاز خرید در دوره انتظار بوده؛ برای رضایت مشتری امتیاز هدیه ثبت می‌شود.",
        resolution: "دوره انتظار امتیاز برای مشتری توضیح داده شد و امتیاز هدیه ثبت شد.",
        goodwill: (0.85, &[30, 50, 80, 100]),
        promise: None,
    },
    Category {
        code: "card_lost",
        weight: 8,
        subjects: &["کارت باشگاه مشتریان گم شده", "درخواست کارت عضویت جدید", "کارتم شکسته و کار نمی‌کند"],
        description: "کارت عضویتم را گم کرده‌ام؛ امتیازهایم از بین نمی‌رود؟",
        priority: TicketPriority::Low,
        after_purchase: false,
        our_fault: false,
        reply: "سلام، نگران نباشید؛ امتیازها روی حساب شماست نه روی کارت. کارت قبلی را مسدود کردیم.",
        note: "کارت قبلی مسدود شد؛ کارت جدید باید برای مشتری ارسال شود.",
        resolution: "کارت قبلی مسدود و کارت جدید صادر شد.",
        goodwill: (0.0, &[]),
        promise: Some("ارسال کارت جدید باشگاه برای مشتری"),
    },
    Category {
        code: "billing",
        weight: 6,
        subjects: &["مبلغ دو بار از کارتم کسر شد", "مغایرت مبلغ فاکتور", "تخفیف سطح طلایی اعمال نشد"],
        description: "پس از پرداخت دو پیامک برداشت برایم آمد؛ لطفاً بررسی کنید.",
        priority: TicketPriority::High,
        after_purchase: true,
        our_fault: false,
        reply: "سلام، موضوع را با واحد مالی بررسی می‌کنیم؛ اگر مبلغ دو بار کسر شده باشد ظرف ۷۲ ساعت برمی‌گردد.",
        note: "گزارش پایانه فروش با واحد مالی تطبیق داده شد.",
        resolution: "برداشت دوم را بانک برگرداند و به مشتری اطلاع داده شد.",
        goodwill: (0.2, &[200]),
        promise: Some("پیگیری برگشت وجه و تماس با مشتری"),
    },
    Category {
        code: "staff_behaviour",
        weight: 5,
        subjects: &["برخورد نامناسب صندوق‌دار", "بی‌توجهی کارکنان شعبه"],
        description: "برخورد یکی از همکاران شما پشت صندوق اصلاً مناسب نبود.",
        priority: TicketPriority::High,
        after_purchase: true,
        our_fault: true,
        reply: "سلام، از این تجربه ناخوشایند متأسفیم. موضوع را با مدیر شعبه در میان گذاشتیم.",
        note: "با همکار شعبه و مدیر شعبه جلسه گذاشته شد.",
        resolution: "با همکار مربوط صحبت شد و از مشتری عذرخواهی شد.",
        goodwill: (0.5, &[150, 200]),
        promise: Some("تماس مدیر شعبه با مشتری برای عذرخواهی"),
    },
    Category {
        code: "sms_code",
        weight: 7,
        subjects: &["کد تخفیف پیامکی نرسید", "پیامک امتیاز برایم نمی‌آید", "کد تخفیف یلدا کار نمی‌کند"],
        description: "پیامک کد تخفیف را دریافت نکردم، در حالی که دوستانم گرفته‌اند.",
        priority: TicketPriority::Normal,
        after_purchase: false,
        our_fault: false,
        reply: "سلام، شماره همراه‌تان را بررسی کردیم؛ دریافت پیامک در پرونده شما غیرفعال بوده است.",
        note: "رضایت پیامک مشتری خاموش بوده؛ با تأیید خود مشتری فعال شد.",
        resolution: "دریافت پیامک فعال شد و کد تخفیف دوباره ارسال شد.",
        goodwill: (0.2, &[50]),
        promise: None,
    },
    Category {
        code: "suggestion",
        weight: 7,
        subjects: &["پیشنهاد: شیر گیاهی هم داشته باشید", "پیشنهاد کیک بدون شکر", "پریز برق بیشتر در شعبه تجریش"],
        description: "زیاد به کافه شما می‌آیم و پیشنهادی دارم که تجربه را بهتر می‌کند.",
        priority: TicketPriority::Low,
        after_purchase: false,
        our_fault: false,
        reply: "سلام، از پیشنهاد خوب‌تان سپاس‌گزاریم؛ آن را به تیم منو و شعبه‌ها منتقل کردیم.",
        note: "پیشنهاد در جلسه هفتگی منو مطرح می‌شود.",
        resolution: "پیشنهاد ثبت و به تیم منو فرستاده شد.",
        goodwill: (0.0, &[]),
        promise: None,
    },
    Category {
        code: "hygiene",
        weight: 5,
        subjects: &["تمیز نبودن میزها", "نظافت سرویس بهداشتی شعبه انقلاب"],
        description: "میزها تمیز نبود و سطل زباله پر شده بود.",
        priority: TicketPriority::Normal,
        after_purchase: true,
        our_fault: true,
        reply: "سلام، ممنون که اطلاع دادید. از مدیر شعبه خواستیم برنامه نظافت را بازبینی کند.",
        note: "چک‌لیست نظافت ساعتی برای شعبه گذاشته شد.",
        resolution: "برنامه نظافت شعبه بازبینی شد.",
        goodwill: (0.2, &[100]),
        promise: None,
    },
];

const CHANNELS: [(TicketChannel, u32); 6] = [
    (TicketChannel::InStore, 35),
    (TicketChannel::Phone, 30),
    (TicketChannel::App, 14),
    (TicketChannel::Sms, 8),
    (TicketChannel::Web, 7),
    (TicketChannel::Social, 6),
];

enum By {
    Support,
    Cashier,
    Manager,
}

/// A contact logged outside any ticket.
struct Contact {
    kind: InteractionKind,
    direction: Direction,
    by: By,
    weight: u32,
    summaries: &'static [&'static str],
    outcomes: &'static [&'static str],
}

const CONTACTS: [Contact; 5] = [
    Contact {
        kind: InteractionKind::Call,
        direction: Direction::Outbound,
        by: By::Support,
        weight: 30,
        summaries: &[
            "پیگیری رضایت از خرید اخیر",
            "اطلاع‌رسانی جشنواره صبح‌های قهوه",
            "یادآوری امتیازهایی که نوروز منقضی می‌شود",
            "دعوت به افتتاحیه شعبه تجریش",
        ],
        outcomes: &["answered", "answered", "no_answer", "call_back_later"],
    },
    Contact {
        kind: InteractionKind::Call,
        direction: Direction::Inbound,
        by: By::Support,
        weight: 20,
        summaries: &[
            "سؤال درباره ساعت کاری شعبه تجریش",
            "سؤال درباره نحوه استفاده از امتیاز",
            "سؤال درباره سطح طلایی و تخفیف آن",
            "رزرو میز برای جلسه کاری",
        ],
        outcomes: &["answered"],
    },
    Contact {
        kind: InteractionKind::Sms,
        direction: Direction::Outbound,
        by: By::Manager,
        weight: 20,
        summaries: &[
            "پیامک تبریک تولد و کد لاته رایگان",
            "پیامک یادآوری امتیاز در آستانه انقضا",
            "پیامک دعوت به جشن یلدا",
        ],
        outcomes: &["sent"],
    },
    Contact {
        kind: InteractionKind::Visit,
        direction: Direction::Inbound,
        by: By::Cashier,
        weight: 15,
        summaries: &[
            "مراجعه حضوری؛ درخواست فاکتور رسمی",
            "مراجعه حضوری؛ تغییر شماره همراه",
            "مراجعه حضوری؛ سؤال درباره کارت هدیه",
        ],
        outcomes: &["served"],
    },
    Contact {
        kind: InteractionKind::Note,
        direction: Direction::Internal,
        by: By::Support,
        weight: 15,
        summaries: &[
            "به لاکتوز حساسیت دارد؛ شیر بدون لاکتوز پیشنهاد شود",
            "مشتری ثابت صبح‌ها در شعبه ونک",
            "ترجیح می‌دهد فقط پیامکی با او تماس گرفته شود",
            "برای شرکتش سفارش سازمانی می‌گیرد",
        ],
        outcomes: &[],
    },
];

const WAITING_NOTE: &str = "منتظر پاسخ مشتری (عکس رسید یا شماره کارت)";
const RESUMED_NOTE: &str = "مشتری پاسخ داد؛ پیگیری ادامه دارد";
const MISSED_NOTE: &str = "به موقع انجام نشد؛ مدیر شعبه در جریان قرار گرفت";
const CANCELLED_NOTE: &str = "مشتری دیگر نیازی نداشت";
const ORDER_CANCELLED: &str = "مشتری سفارش را لغو کرد";

const CALLBACKS: &[&str] = &[
    "تماس دوباره درباره رزرو میز",
    "پیگیری درخواست فاکتور رسمی",
    "دعوت به برنامه مزه‌کردن قهوه",
    "پیگیری پیشنهاد سفارش سازمانی",
];
const UPCOMING: &[&str] = &[
    "ارسال هدیه تولد مشتری",
    "کنار گذاشتن جعبه هدیه نوروزی رزروشده",
    "تماس برای تأیید سفارش پذیرایی",
];

const CSAT_GREAT: &[&str] = &[
    "عالی بود، خیلی سریع پیگیری کردید",
    "از جبران‌تان ممنونم؛ باز هم می‌آیم",
    "برخوردتان بسیار محترمانه بود",
];
const CSAT_GOOD: &[&str] = &["خوب بود ولی کمی طول کشید", "راضی‌ام، ممنون", "مشکل حل شد"];
const CSAT_FAIR: &[&str] = &[
    "بد نبود ولی دیر جواب دادید",
    "حل شد ولی چند بار پیگیری کردم",
];
const CSAT_POOR: &[&str] = &[
    "خیلی دیر جواب دادید",
    "مشکل من واقعاً حل نشد",
    "انتظار بیشتری داشتم",
];
const NPS_PROMOTER: &[&str] = &[
    "بهترین لاته تهران!",
    "فضای کافه و برخورد کارکنان عالی است",
    "باشگاه مشتریان‌تان واقعاً به‌صرفه است",
    "کیک زعفرانی‌تان حرف ندارد",
    "همیشه به دوستانم معرفی می‌کنم",
];
const NPS_PASSIVE: &[&str] = &[
    "خوب است ولی قیمت‌ها کمی بالاست",
    "قهوه خوب است؛ کاش جای پارک داشت",
    "شعبه تجریش عصرها خیلی شلوغ است",
];
const NPS_DETRACTOR: &[&str] = &[
    "قیمت‌ها خیلی بالا رفته",
    "صف‌ها طولانی است",
    "کیفیت قهوه مثل قبل نیست",
    "امتیازها دیر ثبت می‌شود",
];

const CATERING: [(&str, i64); 3] = [
    ("پذیرایی جلسه: ۲۰ قهوه و ۲۰ کروسان", 62_000_000),
    ("پذیرایی همایش: ۵۰ نوشیدنی و کیک زعفرانی", 185_000_000),
    ("جشن تولد: کیک و ۱۵ هات چاکلت", 48_000_000),
];
const ONLINE: [(&str, i64); 3] = [
    ("سفارش آنلاین: ۲ لاته و چیزکیک", 5_800_000),
    ("سفارش آنلاین: دان قهوه ۲۵۰ گرمی", 9_500_000),
    ("سفارش آنلاین: جعبه هدیه نوروزی", 12_000_000),
];
/// (stage, note, business minutes after the last stage: from, to)
const CATERING_STAGES: [(&str, Option<&str>, i64, i64); 3] = [
    (
        "preparing",
        Some("آماده‌سازی در آشپزخانه شعبه ونک"),
        600,
        2400,
    ),
    ("shipped", Some("با پیک ارسال شد"), 60, 180),
    ("delivered", Some("به مشتری تحویل شد"), 30, 90),
];
const PICKUP_STAGES: [(&str, Option<&str>, i64, i64); 3] = [
    ("preparing", None, 5, 30),
    ("ready_for_pickup", Some("آماده تحویل در شعبه"), 10, 40),
    ("delivered", Some("مشتری تحویل گرفت"), 15, 240),
];
