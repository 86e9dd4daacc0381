//! `/api/v1/campaigns`, `/api/v1/rules`, `/api/v1/events`: earning rules as data, the
//! simulate and backtest tools, and non-purchase events. The definitions are the
//! `vafa-core` types themselves (see `docs/rules.md`), so what is validated here is what
//! the engine runs.

use crate::api::money::{BalanceView, MoneyDto};
use crate::api::purchases::{program_currency, replay_headers, FiredRuleView, PurchaseInput};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Idempotent, Json};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vafa_core::card::CardNumber;
use vafa_core::mobile::Mobile;
use vafa_core::program::Currency;
use vafa_core::rules::{CampaignDef, RuleDef};
use vafa_core::FieldErrors;
use vafa_store::{CampaignRecord, CustomerRef, RuleRecord};

/// Most rules per campaign and campaigns per backtest: far above real programs.
const MAX_RULES: usize = 200;

/// Prefix every field error with where the definition sits in the request.
fn prefixed(errs: FieldErrors, prefix: &str) -> FieldErrors {
    FieldErrors(
        errs.0
            .into_iter()
            .map(|mut e| {
                e.field = if prefix.is_empty() {
                    e.field
                } else {
                    format!("{prefix}.{}", e.field)
                };
                e
            })
            .collect(),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: String,
    pub campaign_id: String,
    /// Every edit makes a new version; journal entries record the version that fired.
    pub version: i64,
    pub active: bool,
    /// The rule as written: `name`, `trigger`, `condition` (CEL), `effects`.
    #[schema(value_type = Object)]
    pub definition: RuleDef,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
}

impl From<RuleRecord> for RuleView {
    fn from(r: RuleRecord) -> Self {
        RuleView {
            id: r.id,
            campaign_id: r.campaign_id,
            version: r.version,
            active: r.active,
            definition: r.def,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    pub version: i64,
    /// The campaign's settings as written (see `docs/rules.md`).
    #[schema(value_type = Object)]
    pub definition: CampaignDef,
    /// Points given so far against `budget_points`.
    pub budget_used: i64,
    pub rules: Vec<RuleView>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
}

impl From<CampaignRecord> for CampaignView {
    fn from(c: CampaignRecord) -> Self {
        CampaignView {
            id: c.id,
            version: c.version,
            definition: c.def,
            budget_used: c.budget_used,
            rules: c.rules.into_iter().map(RuleView::from).collect(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A campaign's settings, and optionally its first rules.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    #[schema(value_type = Object)]
    pub campaign: CampaignDef,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<RuleDef>,
}

fn check_campaign(def: &CampaignDef, prefix: &str) -> Result<(), ApiError> {
    def.validate().map_err(|e| prefixed(e, prefix))?;
    Ok(())
}

fn check_rules(rules: &[RuleDef], prefix: &str) -> Result<(), ApiError> {
    if rules.len() > MAX_RULES {
        return Err(ApiError::field(
            prefix,
            format!("at most {MAX_RULES} rules"),
        ));
    }
    let mut all = FieldErrors::default();
    for (i, r) in rules.iter().enumerate() {
        if let Err(e) = r.validate(&format!("{prefix}[{i}]")) {
            all.0.extend(e.0);
        }
    }
    all.finish(|| ())?;
    Ok(())
}

/// The rewards and coupon batches the rules give must be the program's (and a reward
/// not retired): an unknown id would fire and give nothing. Named as `check_rules` names.
async fn check_awards(
    state: &AppState,
    program_id: &str,
    rules: &[RuleDef],
    prefix: &str,
) -> Result<(), ApiError> {
    let mut errs = FieldErrors::default();
    for (i, r) in rules.iter().enumerate() {
        for (j, effect) in r.effects.iter().enumerate() {
            let field = |name: &str| format!("{prefix}[{i}].effects[{j}].{name}");
            match effect {
                vafa_core::rules::Effect::IssueReward { reward, .. } => {
                    match state.store.get_reward(program_id, reward).await? {
                        Some(r) if r.status == "active" => {}
                        Some(_) => errs.push(field("reward"), "the reward is retired"),
                        None => errs.push(field("reward"), "no such reward in this program"),
                    }
                }
                vafa_core::rules::Effect::IssueCoupon { batch } => {
                    let found = state.store.get_coupon_batch(program_id, batch).await?;
                    if found.is_none() {
                        errs.push(field("batch"), "no such coupon batch in this program");
                    }
                }
                _ => {}
            }
        }
    }
    errs.finish(|| ())?;
    Ok(())
}

/// Create a campaign with its rules. Conditions are CEL; a condition that does not
/// compile or type-check is refused with 422 naming its line and column.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "rules", request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 422)),
    security(("api_key" = ["rules.manage"])))]
pub async fn create_campaign(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<CampaignInput>,
) -> ApiResult<(StatusCode, axum::Json<CampaignView>)> {
    check_campaign(&input.campaign, "campaign")?;
    check_rules(&input.rules, "rules")?;
    check_awards(&state, auth.program_id(), &input.rules, "rules").await?;
    let ctx = auth.ctx(&state);
    let c = state
        .store
        .create_campaign(&ctx, &input.campaign, &input.rules)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(c.into())))
}

/// Every campaign of the program with its rules (retired rules included, `active: false`).
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "rules",
    responses((status = 200, body = Vec<CampaignView>)),
    security(("api_key" = ["rules.read"])))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<Vec<CampaignView>>> {
    let list = state.store.list_campaigns(auth.program_id()).await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "rules",
    params(("id" = String, Path)),
    responses((status = 200, body = CampaignView), (status = 404)),
    security(("api_key" = ["rules.read"])))]
pub async fn get_campaign(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CampaignView>> {
    let c = state
        .store
        .get_campaign(auth.program_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("campaign"))?;
    Ok(axum::Json(c.into()))
}

/// Replace a campaign's settings (status, window, schedule, audience, priority,
/// stacking, caps, budget): a new campaign version, audited with before and after.
#[utoipa::path(put, path = "/api/v1/campaigns/{id}", tag = "rules",
    params(("id" = String, Path)), request_body(content = Object, description = "the campaign settings"),
    responses((status = 200, body = CampaignView), (status = 404), (status = 422)),
    security(("api_key" = ["rules.manage"])))]
pub async fn update_campaign(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(def): Json<CampaignDef>,
) -> ApiResult<axum::Json<CampaignView>> {
    check_campaign(&def, "")?;
    let ctx = auth.ctx(&state);
    let c = state.store.update_campaign(&ctx, &id, &def).await?;
    Ok(axum::Json(c.into()))
}

/// Add a rule to a campaign.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/rules", tag = "rules",
    params(("id" = String, Path)), request_body(content = Object, description = "the rule: name, trigger, condition, effects"),
    responses((status = 201, body = RuleView), (status = 404), (status = 422)),
    security(("api_key" = ["rules.manage"])))]
pub async fn add_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(def): Json<RuleDef>,
) -> ApiResult<(StatusCode, axum::Json<RuleView>)> {
    check_rules(std::slice::from_ref(&def), "")?;
    check_awards(&state, auth.program_id(), std::slice::from_ref(&def), "").await?;
    let ctx = auth.ctx(&state);
    let r = state.store.add_rule(&ctx, &id, &def).await?;
    Ok((StatusCode::CREATED, axum::Json(r.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleVersionView {
    pub version: i64,
    pub active: bool,
    #[schema(value_type = Object)]
    pub definition: RuleDef,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    /// `api_key`, `cli` or `system`, and the key's id.
    pub actor_kind: String,
    pub actor_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleWithVersions {
    pub rule: RuleView,
    /// Newest first.
    pub versions: Vec<RuleVersionView>,
}

/// A rule with every version it has had.
#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path)),
    responses((status = 200, body = RuleWithVersions), (status = 404)),
    security(("api_key" = ["rules.read"])))]
pub async fn get_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RuleWithVersions>> {
    let (rule, versions) = state
        .store
        .rule_versions(auth.program_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("rule"))?;
    Ok(axum::Json(RuleWithVersions {
        rule: rule.into(),
        versions: versions
            .into_iter()
            .map(|v| RuleVersionView {
                version: v.version,
                active: v.active,
                definition: v.def,
                created_at: v.created_at,
                actor_kind: v.actor_kind,
                actor_id: v.actor_id,
            })
            .collect(),
    }))
}

/// Edit a rule: a new version; purchases from now on record it.
#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path)), request_body(content = Object, description = "the rule: name, trigger, condition, effects"),
    responses((status = 200, body = RuleView), (status = 404), (status = 422)),
    security(("api_key" = ["rules.manage"])))]
pub async fn update_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(def): Json<RuleDef>,
) -> ApiResult<axum::Json<RuleView>> {
    check_rules(std::slice::from_ref(&def), "")?;
    check_awards(&state, auth.program_id(), std::slice::from_ref(&def), "").await?;
    let ctx = auth.ctx(&state);
    let r = state.store.update_rule(&ctx, &id, Some(&def), true).await?;
    Ok(axum::Json(r.into()))
}

/// Retire a rule: a new, inactive version (history and journal references stay).
#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path)),
    responses((status = 200, body = RuleView), (status = 404)),
    security(("api_key" = ["rules.manage"])))]
pub async fn retire_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RuleView>> {
    let ctx = auth.ctx(&state);
    let r = state.store.update_rule(&ctx, &id, None, false).await?;
    Ok(axum::Json(r.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedView {
    pub campaign_id: String,
    pub rule_id: Option<String>,
    pub reason: String,
}

/// What a purchase would earn, rule by rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationView {
    /// The customer named, if any (none: a new or anonymous customer).
    pub customer_id: Option<String>,
    /// All the points, the tier's earn multiplier included.
    pub points: i64,
    /// The customer's tier, when the program has a ladder.
    pub tier: Option<String>,
    /// Of `points`, what would first pay off the customer's debt.
    pub debt_paid: i64,
    pub cashback: MoneyDto,
    pub rules: Vec<FiredRuleView>,
    /// Campaigns and rules that did not fire, and why.
    pub skipped: Vec<SkippedView>,
}

/// Simulate a purchase: the same body as `POST /api/v1/purchases` (the customer is
/// optional here). Answers what the rules would give, with a per-rule explanation and
/// the rules that did not fire; nothing is written. The purchase then posts exactly this,
/// unless caps, budgets or the rules change in between.
#[utoipa::path(post, path = "/api/v1/rules/simulate", tag = "rules", request_body = PurchaseInput,
    responses((status = 200, body = SimulationView), (status = 404), (status = 422)),
    security(("api_key" = ["rules.read"])))]
pub async fn simulate(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<PurchaseInput>,
) -> ApiResult<axum::Json<SimulationView>> {
    let currency = program_currency(&state, &auth).await?;
    let now = state.clock.now();
    let (customer, purchase) = input.parse(currency, now, false)?;
    // With `checkout`, what the money paid earns — after the tier's benefits, coupons,
    // points and cashback as payment — exactly as the purchase would.
    let sim = match purchase.checkout {
        Some(co) => {
            let codes = purchase.coupons.clone();
            crate::api::checkout::price(
                &state,
                auth.program_id(),
                customer,
                purchase,
                &codes,
                co.points,
                co.cashback_minor,
                now,
            )
            .await?
            .earn
        }
        None => {
            state
                .store
                .simulate(
                    auth.program_id(),
                    &vafa_store::SimulateRequest {
                        customer,
                        purchase,
                        weights: None,
                    },
                )
                .await?
        }
    };
    Ok(axum::Json(simulation_view(sim, currency)))
}

fn simulation_view(sim: vafa_store::Simulation, c: Currency) -> SimulationView {
    let e = sim.evaluation;
    SimulationView {
        customer_id: sim.customer_id,
        points: e.points,
        tier: sim.tier,
        debt_paid: sim.debt_paid,
        cashback: MoneyDto::of(e.cashback_minor, c),
        rules: e
            .fired
            .iter()
            .map(|f| FiredRuleView::new(&f.into(), c))
            .collect(),
        skipped: e
            .skipped
            .into_iter()
            .map(|s| SkippedView {
                campaign_id: s.campaign_id,
                rule_id: s.rule_id,
                reason: s.reason,
            })
            .collect(),
    }
}

/// A campaign of a draft rule set. With the `id` of a stored campaign its figures sit
/// beside that campaign's actual ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftCampaignInput {
    pub id: Option<String>,
    #[schema(value_type = Object)]
    pub campaign: CampaignDef,
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<RuleDef>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestInput {
    /// The draft rule set: what would have been active over the whole range.
    pub campaigns: Vec<DraftCampaignInput>,
    /// Keep the base earning of the ledger settings in the draft (default true).
    #[serde(default = "yes")]
    pub include_base_rule: bool,
    /// Start of the range (inclusive).
    #[schema(value_type = String, format = DateTime)]
    pub from: jiff::Timestamp,
    /// End of the range (exclusive).
    #[schema(value_type = String, format = DateTime)]
    pub to: jiff::Timestamp,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresView {
    pub points: i64,
    /// The points at the program's point value.
    pub points_cost: MoneyDto,
    pub cashback: MoneyDto,
    /// Points cost plus cashback.
    pub cost: MoneyDto,
    /// Purchases on which it gave something.
    pub purchases: i64,
}

impl FiguresView {
    fn new(f: &vafa_store::BacktestFigures, c: Currency) -> Self {
        FiguresView {
            points: f.points,
            points_cost: MoneyDto::of(f.points_cost_minor, c),
            cashback: MoneyDto::of(f.cashback_minor, c),
            cost: MoneyDto::of(f.cost_minor, c),
            purchases: f.purchases,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestCampaignView {
    pub campaign_id: String,
    pub name: String,
    /// What the draft would have given.
    pub draft: FiguresView,
    /// What was given (from the rule awards recorded on each purchase).
    pub actual: FiguresView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestView {
    #[schema(value_type = String, format = DateTime)]
    pub from: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: jiff::Timestamp,
    pub purchases: i64,
    pub customers: i64,
    pub draft: FiguresView,
    pub actual: FiguresView,
    /// Draft minus actual.
    pub points_difference: i64,
    pub cost_difference: MoneyDto,
    pub campaigns: Vec<BacktestCampaignView>,
}

/// Backtest a draft rule set: replay it over the stored purchases of `[from, to)` and
/// compare the points it would have issued with what was issued, per campaign, with
/// their cost at the program's point value. Nothing is written.
#[utoipa::path(post, path = "/api/v1/rules/backtest", tag = "rules", request_body = BacktestInput,
    responses((status = 200, body = BacktestView), (status = 422)),
    security(("api_key" = ["rules.read"])))]
pub async fn backtest(
    State(state): State<AppState>,
    auth: Auth,
    Json(input): Json<BacktestInput>,
) -> ApiResult<axum::Json<BacktestView>> {
    let currency = program_currency(&state, &auth).await?;
    if input.to <= input.from {
        return Err(ApiError::field("to", "must be after from"));
    }
    if input.campaigns.len() > MAX_RULES {
        return Err(ApiError::field(
            "campaigns",
            format!("at most {MAX_RULES} campaigns"),
        ));
    }
    for (i, c) in input.campaigns.iter().enumerate() {
        check_campaign(&c.campaign, &format!("campaigns[{i}].campaign"))?;
        check_rules(&c.rules, &format!("campaigns[{i}].rules"))?;
    }
    let req = vafa_store::BacktestRequest {
        campaigns: input
            .campaigns
            .into_iter()
            .map(|c| vafa_store::DraftCampaign {
                id: c.id,
                def: c.campaign,
                rules: c.rules,
            })
            .collect(),
        include_base_rule: input.include_base_rule,
        from: input.from,
        to: input.to,
    };
    let r = state.store.backtest(auth.program_id(), &req).await?;
    Ok(axum::Json(BacktestView {
        from: r.from,
        to: r.to,
        purchases: r.purchases,
        customers: r.customers,
        draft: FiguresView::new(&r.draft, currency),
        actual: FiguresView::new(&r.actual, currency),
        points_difference: r.points_difference,
        cost_difference: MoneyDto::of(r.cost_difference_minor, currency),
        campaigns: r
            .campaigns
            .iter()
            .map(|c| BacktestCampaignView {
                campaign_id: c.campaign_id.clone(),
                name: c.name.clone(),
                draft: FiguresView::new(&c.draft, currency),
                actual: FiguresView::new(&c.actual, currency),
            })
            .collect(),
    }))
}

/// A non-purchase event. Names its customer by exactly one of `customer_id`, `mobile`
/// or `card_number`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub customer_id: Option<String>,
    pub mobile: Option<String>,
    pub card_number: Option<String>,
    /// `signup`, `birthday`, `profile_completed`, `survey_answered`, `review`, or a
    /// custom snake_case name.
    pub name: String,
    /// The sender's id for the event, unique per program.
    pub external_id: Option<String>,
    /// Free-form details rule conditions see as `event.attributes`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    pub customer_id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub points: i64,
    /// The journal entry that credited the points (none when nothing was earned).
    pub entry_id: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<jiff::Timestamp>,
    pub rules: Vec<FiredRuleView>,
    /// Rewards the rules gave (`issue_reward`): per award, the claims issued free of
    /// points with their codes, and why fewer than requested when the stock ran out.
    #[schema(value_type = Vec<Object>)]
    pub issued_rewards: Vec<vafa_store::IssuedReward>,
    /// Coupons the rules gave (`issue_coupon`): the code handed to the customer (the
    /// next of a unique batch, now theirs; a shared batch's code), or why none.
    #[schema(value_type = Vec<Object>)]
    pub issued_coupons: Vec<vafa_store::IssuedCoupon>,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: jiff::Timestamp,
    pub balance: BalanceView,
}

/// Record an event; rules triggered by its name earn points (activity points), limited
/// per period by their campaigns' caps (e.g. a birthday once a year).
#[utoipa::path(post, path = "/api/v1/events", tag = "rules", request_body = EventInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key and body answer with the first result")),
    responses((status = 201, body = EventView), (status = 404), (status = 409, description = "duplicate_event, idempotency_conflict, customer_blocked"), (status = 422)),
    security(("api_key" = ["events.write"])))]
pub async fn create_event(
    State(state): State<AppState>,
    auth: Auth,
    req: Idempotent<EventInput>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<EventView>)> {
    let currency = program_currency(&state, &auth).await?;
    let ctx = auth.ctx(&state);
    let idem = req.idempotency(None);
    let input = req.body;
    let mut errs = FieldErrors::default();
    let customer = match (input.customer_id, input.mobile, input.card_number) {
        (Some(id), None, None) => Some(CustomerRef::Id(id.trim().to_owned())),
        (None, Some(m), None) => errs
            .take("mobile", Mobile::parse(&m))
            .map(CustomerRef::Mobile),
        (None, None, Some(c)) => errs
            .take("card_number", CardNumber::parse(&c))
            .map(CustomerRef::Card),
        _ => {
            errs.push(
                "customer_id",
                "give exactly one of customer_id, mobile or card_number",
            );
            None
        }
    };
    let name = input.name.trim().to_owned();
    if !vafa_core::rules::valid_event_name(&name) {
        errs.push("name", "must be snake_case ASCII, 1–64 characters");
    }
    let external_id = input.external_id.and_then(|e| {
        errs.take("external_id", vafa_core::validate::short_text(&e, 100))
            .flatten()
    });
    if serde_json::to_string(&input.attributes).map_or(0, |s| s.len()) > 8 * 1024 {
        errs.push("attributes", "at most 8 KiB of JSON");
    }
    let occurred_at = input.occurred_at.unwrap_or(ctx.now);
    // As a purchase: before 2000 is a typo or a forged date, and each made-up year
    // would bring a fresh yearly cap.
    if occurred_at < crate::api::purchases::EARLIEST_SALE {
        errs.push("occurred_at", "must not be before 2000-01-01");
    }
    if occurred_at
        > ctx
            .now
            .saturating_add(jiff::SignedDuration::from_mins(5))
            .unwrap_or(ctx.now)
    {
        errs.push("occurred_at", "must not be in the future");
    }
    errs.finish(|| ())?;
    crate::api::purchases::late_entry_allowed(&auth, occurred_at, ctx.now)?;
    let customer = customer.ok_or_else(|| ApiError::field("customer_id", "missing"))?;
    let event = vafa_store::NewEvent {
        customer,
        name,
        external_id,
        attributes: input.attributes,
        occurred_at,
    };
    let out = state.store.post_event(&ctx, &event, idem.as_ref()).await?;
    let (status, headers) = replay_headers(&out);
    let o = out.value;
    Ok((
        status,
        headers,
        axum::Json(EventView {
            id: o.event_id,
            customer_id: o.customer_id,
            name: o.name,
            external_id: o.external_id,
            points: o.points_earned,
            entry_id: o.entry_id,
            expires_at: o.expires_at,
            rules: o
                .rules
                .iter()
                .map(|f| FiredRuleView::new(f, currency))
                .collect(),
            issued_rewards: o.issued_rewards,
            issued_coupons: o.issued_coupons,
            occurred_at: o.occurred_at,
            balance: BalanceView::new(o.balance, currency),
        }),
    ))
}
