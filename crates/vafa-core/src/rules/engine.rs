//! Evaluating campaigns against one purchase or event.
//!
//! Order of work, which `docs/rules.md` states for managers:
//! 1. Campaigns run from the highest priority down (ties by id). A campaign is skipped
//!    when it is not running (status, validity window), outside its schedule, the
//!    customer is not in its audience, a cap or the budget is already used up, or an
//!    exclusive campaign of higher priority has fired.
//! 2. In a campaign every rule whose trigger matches and whose condition holds fires;
//!    a campaign fires when one of its rules does. An exclusive campaign that fires stops
//!    every campaign of lower priority.
//! 3. Multipliers then multiply the points-per-amount points of all fired rules.
//! 4. Each campaign's points are cut to what its point caps and budget still allow.
//!
//! Points are attributed to purchase lines so a return of some lines reverses exactly
//! what those lines earned.

use super::expr::{EvalContext, EvalError};
use super::period::CapPeriod;
use super::{Campaign, CustomerFacts, Effect, EventFacts, PurchaseFacts, Stacking, Trigger};
use crate::ledger::{allocate, CalendarKind};
use jiff::Timestamp;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;

/// What the engine is asked about.
pub struct EvalInput<'a> {
    pub purchase: Option<&'a PurchaseFacts>,
    pub event: Option<&'a EventFacts>,
    pub customer: &'a CustomerFacts,
    pub at: Timestamp,
    pub tz: &'a jiff::tz::TimeZone,
    pub calendar: CalendarKind,
}

/// What a customer has already used of a campaign in the current periods, and what the
/// campaign has spent of its budget.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignUsage {
    /// Per cap period: times fired and points given in the period holding `at`.
    pub used: HashMap<CapPeriod, (i64, i64)>,
    pub budget_used: i64,
}

/// Something a rule hands out besides points and cashback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Award {
    Reward { reward: String, quantity: i64 },
    Coupon { batch: String },
    ChallengeProgress { challenge: String, steps: i64 },
}

/// A rule that fired, with what it gave and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiredRule {
    pub campaign_id: String,
    pub campaign_name: String,
    pub rule_id: String,
    pub rule_version: i64,
    pub rule_name: String,
    pub points: i64,
    pub cashback_minor: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub awards: Vec<Award>,
    pub explanation: Vec<String>,
    #[serde(skip)]
    pub line_points: Vec<i64>,
    #[serde(skip)]
    pub line_cashback: Vec<i64>,
}

/// A campaign or rule that did not fire, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub campaign_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    pub reason: String,
}

/// What a campaign gave in total, for its usage counters and budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignGrant {
    pub campaign_id: String,
    pub points: i64,
    pub cashback_minor: i64,
    #[serde(skip)]
    pub cap_periods: Vec<CapPeriod>,
    #[serde(skip)]
    pub has_budget: bool,
}

/// The answer: what fires, what it gives in total and per line, and what did not fire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub points: i64,
    pub cashback_minor: i64,
    pub fired: Vec<FiredRule>,
    pub skipped: Vec<Skipped>,
    #[serde(skip)]
    pub campaigns: Vec<CampaignGrant>,
    #[serde(skip)]
    pub line_points: Vec<i64>,
    #[serde(skip)]
    pub line_cashback: Vec<i64>,
}

impl Evaluation {
    /// Awards of every fired rule.
    pub fn awards(&self) -> impl Iterator<Item = &Award> {
        self.fired.iter().flat_map(|f| f.awards.iter())
    }
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v.max(0)).unwrap_or(i64::MAX)
}

fn add(a: &mut [i64], b: &[i64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = x.saturating_add(*y);
    }
}

/// Per-line amounts of the lines an effect looks at (zero for the others).
fn weights(p: &PurchaseFacts, e: &Effect) -> Vec<i64> {
    let f = e.lines();
    p.items
        .iter()
        .map(|i| {
            if f.matches(&i.sku, i.category.as_deref()) {
                i.amount_minor.max(0)
            } else {
                0
            }
        })
        .collect()
}

/// The amount an amount-based effect applies to: the total for all lines, else the
/// matching lines.
fn base_amount(p: &PurchaseFacts, e: &Effect, w: &[i64]) -> i64 {
    if e.lines().is_all() {
        p.total_minor.max(0)
    } else {
        w.iter().fold(0i64, |a, b| a.saturating_add(*b))
    }
}

fn spread(total: i64, w: &[i64]) -> Vec<i64> {
    if w.is_empty() {
        return Vec::new();
    }
    allocate(total, w)
}

struct Pending {
    fired: FiredRule,
    /// Points from points-per-amount effects, and their lines (what multipliers multiply).
    base: i64,
    base_lines: Vec<i64>,
    multipliers: Vec<Decimal>,
}

/// Apply one rule's effects (multipliers are only noted here).
fn apply_effects(
    c: &Campaign,
    rule: &super::Rule,
    purchase: Option<&PurchaseFacts>,
    lines: usize,
) -> Pending {
    let mut fired = FiredRule {
        campaign_id: c.id.clone(),
        campaign_name: c.def.name.clone(),
        rule_id: rule.id.clone(),
        rule_version: rule.version,
        rule_name: rule.def.name.clone(),
        points: 0,
        cashback_minor: 0,
        awards: Vec::new(),
        explanation: Vec::new(),
        line_points: vec![0; lines],
        line_cashback: vec![0; lines],
    };
    let mut base = 0i64;
    let mut base_lines = vec![0; lines];
    let mut multipliers = Vec::new();
    let empty = PurchaseFacts::default();
    let p = purchase.unwrap_or(&empty);
    let all_amounts: Vec<i64> = p.items.iter().map(|i| i.amount_minor.max(0)).collect();
    for effect in &rule.def.effects {
        match effect {
            Effect::PointsPerAmount {
                points,
                per_minor,
                rounding,
                ..
            } => {
                let w = weights(p, effect);
                let amount = base_amount(p, effect, &w);
                let got = clamp(rounding.divide(
                    i128::from(amount) * i128::from(*points),
                    i128::from((*per_minor).max(1)),
                ));
                let l = spread(got, &w);
                add(&mut fired.line_points, &l);
                add(&mut base_lines, &l);
                base = base.saturating_add(got);
                fired.points = fired.points.saturating_add(got);
                fired.explanation.push(format!(
                    "{points} points per {per_minor} on {amount}: {got} points"
                ));
            }
            Effect::Multiplier { factor } => {
                multipliers.push(*factor);
            }
            Effect::FixedBonus { points } => {
                add(&mut fired.line_points, &spread(*points, &all_amounts));
                fired.points = fired.points.saturating_add(*points);
                fired
                    .explanation
                    .push(format!("fixed bonus: {points} points"));
            }
            Effect::ItemBonus {
                points_per_unit, ..
            } => {
                let f = effect.lines();
                let mut got = 0i64;
                for (i, item) in p.items.iter().enumerate() {
                    if !f.is_all() && f.matches(&item.sku, item.category.as_deref()) {
                        let x =
                            clamp(i128::from(item.quantity.max(0)) * i128::from(*points_per_unit));
                        fired.line_points[i] = fired.line_points[i].saturating_add(x);
                        got = got.saturating_add(x);
                    }
                }
                fired.points = fired.points.saturating_add(got);
                fired.explanation.push(format!(
                    "{points_per_unit} points per matching item: {got} points"
                ));
            }
            Effect::CashbackPercent { percent, .. } => {
                let w = weights(p, effect);
                let amount = base_amount(p, effect, &w);
                let got = (Decimal::from(amount) * percent / Decimal::from(100))
                    .floor()
                    .to_i64()
                    .unwrap_or(0)
                    .max(0);
                add(&mut fired.line_cashback, &spread(got, &w));
                fired.cashback_minor = fired.cashback_minor.saturating_add(got);
                fired
                    .explanation
                    .push(format!("{percent}% cashback on {amount}: {got}"));
            }
            Effect::IssueReward { reward, quantity } => {
                fired.awards.push(Award::Reward {
                    reward: reward.clone(),
                    quantity: *quantity,
                });
                fired
                    .explanation
                    .push(format!("reward {reward} × {quantity}"));
            }
            Effect::IssueCoupon { batch } => {
                fired.awards.push(Award::Coupon {
                    batch: batch.clone(),
                });
                fired.explanation.push(format!("coupon from batch {batch}"));
            }
            Effect::ChallengeProgress { challenge, steps } => {
                fired.awards.push(Award::ChallengeProgress {
                    challenge: challenge.clone(),
                    steps: *steps,
                });
                fired
                    .explanation
                    .push(format!("challenge {challenge} +{steps}"));
            }
        }
    }
    Pending {
        fired,
        base,
        base_lines,
        multipliers,
    }
}

fn skip(c: &Campaign, rule: Option<&str>, reason: impl Into<String>) -> Skipped {
    Skipped {
        campaign_id: c.id.clone(),
        rule_id: rule.map(str::to_owned),
        reason: reason.into(),
    }
}

/// What is left of a campaign's point caps and budget (None: unlimited), or why it is
/// used up.
fn room(c: &Campaign, usage: &CampaignUsage) -> Result<Option<i64>, String> {
    let mut left: Option<i64> = None;
    for cap in &c.def.caps {
        let (uses, points) = usage.used.get(&cap.period).copied().unwrap_or((0, 0));
        let period = format!("{:?}", cap.period).to_lowercase();
        if let Some(n) = cap.count {
            if uses >= n {
                return Err(format!("cap reached: {n} per {period}"));
            }
        }
        if let Some(p) = cap.points {
            let l = p - points;
            if l <= 0 {
                return Err(format!("cap reached: {p} points per {period}"));
            }
            left = Some(left.map_or(l, |x: i64| x.min(l)));
        }
    }
    if let Some(b) = c.def.budget_points {
        let l = b - usage.budget_used;
        if l <= 0 {
            return Err("budget spent".to_owned());
        }
        left = Some(left.map_or(l, |x: i64| x.min(l)));
    }
    Ok(left)
}

/// Evaluate `campaigns` (any order) for one purchase or event.
pub fn evaluate(
    campaigns: &[Campaign],
    input: &EvalInput<'_>,
    usage: &HashMap<String, CampaignUsage>,
) -> Evaluation {
    // Built only when a condition is read: rules without one (the base rule) need no
    // CEL values, which cost more than the rest of the evaluation.
    let ctx = std::cell::LazyCell::new(|| {
        EvalContext::new(
            input.purchase,
            input.event,
            input.customer,
            input.at,
            input.tz,
            input.calendar,
        )
    });
    let local = input.at.to_zoned(input.tz.clone()).datetime();
    let lines = input.purchase.map_or(0, |p| p.items.len());
    let mut order: Vec<&Campaign> = campaigns.iter().collect();
    order.sort_by(|a, b| b.def.priority.cmp(&a.def.priority).then(a.id.cmp(&b.id)));

    let mut skipped = Vec::new();
    // Fired rules grouped by campaign, with what is left of the campaign's caps.
    let mut groups: Vec<(&Campaign, Option<i64>, Vec<Pending>)> = Vec::new();
    let mut stop_below: Option<(i32, &str)> = None;
    let no_usage = CampaignUsage::default();
    for c in order {
        if let Some((p, by)) = stop_below {
            if c.def.priority < p {
                skipped.push(skip(
                    c,
                    None,
                    format!("excluded by exclusive campaign {by}"),
                ));
                continue;
            }
        }
        let wants = |t: &Trigger| match (t, input.event) {
            (Trigger::Purchase, None) => input.purchase.is_some(),
            (Trigger::Event(n), Some(e)) => *n == e.name,
            _ => false,
        };
        if !c.rules.iter().any(|r| wants(&r.def.trigger)) {
            continue;
        }
        if !c.def.runs_at(input.at) {
            skipped.push(skip(
                c,
                None,
                format!(
                    "not running ({}, or outside its dates)",
                    c.def.status.as_str()
                ),
            ));
            continue;
        }
        if !c.def.schedule.contains(local) {
            skipped.push(skip(c, None, "outside its schedule"));
            continue;
        }
        if let Some(a) = &c.audience {
            match a.eval(&ctx) {
                Ok(true) => {}
                Ok(false) => {
                    skipped.push(skip(c, None, "customer not in the audience"));
                    continue;
                }
                Err(e) => {
                    skipped.push(skip(c, None, format!("audience: {e}")));
                    continue;
                }
            }
        }
        let left = match room(c, usage.get(&c.id).unwrap_or(&no_usage)) {
            Ok(l) => l,
            Err(reason) => {
                skipped.push(skip(c, None, reason));
                continue;
            }
        };
        let mut pending = Vec::new();
        for rule in c.rules.iter().filter(|r| wants(&r.def.trigger)) {
            let holds = match &rule.condition {
                None => Ok(true),
                Some(cond) => cond.eval(&ctx),
            };
            match holds {
                Ok(true) => {
                    // A rule that gives this purchase nothing (a bonus on bread when no
                    // bread was bought, points that round to none) has not fired: it
                    // must not use up the campaign's count caps, or exclude others.
                    let p = apply_effects(c, rule, input.purchase, lines);
                    let gives = p.fired.points != 0
                        || p.fired.cashback_minor != 0
                        || !p.fired.awards.is_empty()
                        || !p.multipliers.is_empty();
                    if gives {
                        pending.push(p);
                    } else {
                        skipped.push(skip(c, Some(&rule.id), "gives nothing to this purchase"));
                    }
                }
                Ok(false) => skipped.push(skip(c, Some(&rule.id), "condition is false")),
                Err(EvalError::Execution(e)) => skipped.push(skip(
                    c,
                    Some(&rule.id),
                    format!("condition could not be evaluated: {e}"),
                )),
                Err(e) => skipped.push(skip(c, Some(&rule.id), format!("condition {e}"))),
            }
        }
        if !pending.is_empty() {
            if c.def.stacking == Stacking::Exclusive {
                stop_below = Some((c.def.priority, &c.id));
            }
            groups.push((c, left, pending));
        }
    }

    // Multipliers multiply the points-per-amount points of everything that fired.
    let base: i64 = groups
        .iter()
        .flat_map(|g| g.2.iter())
        .fold(0i64, |a, p| a.saturating_add(p.base));
    let mut base_lines = vec![0i64; lines];
    for p in groups.iter().flat_map(|g| g.2.iter()) {
        add(&mut base_lines, &p.base_lines);
    }
    for p in groups.iter_mut().flat_map(|g| g.2.iter_mut()) {
        for factor in std::mem::take(&mut p.multipliers) {
            let extra = ((Decimal::from(base) * (factor - Decimal::ONE)).floor())
                .to_i64()
                .unwrap_or(0)
                .max(0);
            add(&mut p.fired.line_points, &spread(extra, &base_lines));
            p.fired.points = p.fired.points.saturating_add(extra);
            p.fired.explanation.push(format!(
                "×{factor} on {base} points-per-amount points: {extra} points"
            ));
        }
    }

    // Caps and budgets cut each campaign's points.
    let mut fired = Vec::new();
    let mut grants = Vec::new();
    for (c, left, pending) in groups {
        let mut rules: Vec<FiredRule> = pending.into_iter().map(|p| p.fired).collect();
        let total = rules.iter().fold(0i64, |a, r| a.saturating_add(r.points));
        if let Some(l) = left {
            if total > l {
                let shares = allocate(l, &rules.iter().map(|r| r.points).collect::<Vec<_>>());
                for (r, share) in rules.iter_mut().zip(shares) {
                    if share != r.points {
                        r.line_points = if r.line_points.iter().any(|x| *x > 0) {
                            spread(share, &r.line_points)
                        } else {
                            r.line_points.clone()
                        };
                        r.explanation.push(format!(
                            "cut from {} to {share} points by the campaign's caps or budget",
                            r.points
                        ));
                        r.points = share;
                    }
                }
            }
        }
        let points = rules.iter().fold(0i64, |a, r| a.saturating_add(r.points));
        let cashback = rules
            .iter()
            .fold(0i64, |a, r| a.saturating_add(r.cashback_minor));
        grants.push(CampaignGrant {
            campaign_id: c.id.clone(),
            points,
            cashback_minor: cashback,
            cap_periods: c.def.caps.iter().map(|cap| cap.period).collect(),
            has_budget: c.def.budget_points.is_some(),
        });
        fired.extend(rules);
    }

    let mut line_points = vec![0i64; lines];
    let mut line_cashback = vec![0i64; lines];
    for f in &fired {
        add(&mut line_points, &f.line_points);
        add(&mut line_cashback, &f.line_cashback);
    }
    Evaluation {
        points: fired.iter().fold(0i64, |a, f| a.saturating_add(f.points)),
        cashback_minor: fired
            .iter()
            .fold(0i64, |a, f| a.saturating_add(f.cashback_minor)),
        fired,
        skipped,
        campaigns: grants,
        line_points,
        line_cashback,
    }
}
