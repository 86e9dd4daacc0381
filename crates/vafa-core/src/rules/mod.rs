//! Earning rules and campaigns: data a store manager edits, evaluated here without I/O.
//!
//! A *campaign* groups rules and says when they apply (validity window, weekly schedule,
//! audience), how they combine with other campaigns (priority and stacking) and how much
//! they may give (caps per customer per period, a total budget). A *rule* is an optional
//! CEL condition and a list of typed effects. The store feeds [`engine::evaluate`] the
//! facts and the usage so far; the engine answers what fires and why, and the store posts
//! exactly that (simulate calls the same function and writes nothing).

pub mod engine;
pub mod expr;
pub mod fuzz;
pub mod period;

#[cfg(test)]
mod tests;

use crate::FieldErrors;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use engine::{evaluate, Award, CampaignUsage, EvalInput, Evaluation, FiredRule, Skipped};
pub use expr::{CompileError, Condition, CustomerFacts, EventFacts, ItemFacts, PurchaseFacts};
pub use period::{CapPeriod, Weekday};

/// How fractional points round. The default, `down`, never gives more than promised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    #[default]
    Down,
    Nearest,
    Up,
}

impl Rounding {
    /// `num / den` rounded this way; `den` is positive.
    pub fn divide(self, num: i128, den: i128) -> i128 {
        let (q, r) = (num.div_euclid(den), num.rem_euclid(den));
        match self {
            Rounding::Down => q,
            Rounding::Up if r > 0 => q + 1,
            Rounding::Up => q,
            Rounding::Nearest if 2 * r >= den => q + 1,
            Rounding::Nearest => q,
        }
    }
}

/// Which purchase lines an effect looks at: all of them when both lists are empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFilter<'a> {
    pub skus: &'a [String],
    pub categories: &'a [String],
}

impl LineFilter<'_> {
    pub fn is_all(&self) -> bool {
        self.skus.is_empty() && self.categories.is_empty()
    }

    pub fn matches(&self, sku: &str, category: Option<&str>) -> bool {
        self.is_all()
            || self.skus.iter().any(|s| s == sku)
            || category.is_some_and(|c| self.categories.iter().any(|x| x == c))
    }
}

/// What a rule does when it fires. Money is in the program currency's minor units;
/// decimals are written as strings (`"2"`, `"5.5"`) so no value passes through a float.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// `points` for every `per_minor` paid (on the matching lines, or the whole total).
    PointsPerAmount {
        points: i64,
        per_minor: i64,
        #[serde(default)]
        rounding: Rounding,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skus: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        categories: Vec<String>,
    },
    /// Multiplies the points-per-amount points of every rule that fires on the purchase:
    /// a factor of 2 adds once more what they earn. Several multipliers add up.
    Multiplier {
        #[serde(with = "rust_decimal::serde::str")]
        factor: Decimal,
    },
    /// A fixed number of points (the usual effect of a non-purchase event).
    FixedBonus { points: i64 },
    /// Points per unit bought of the matching items.
    ItemBonus {
        points_per_unit: i64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skus: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        categories: Vec<String>,
    },
    /// A percent of the amount paid (matching lines, or the total) into the cashback wallet.
    CashbackPercent {
        #[serde(with = "rust_decimal::serde::str")]
        percent: Decimal,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skus: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        categories: Vec<String>,
    },
    /// Issue a reward from the catalog (fulfilled by the rewards module).
    IssueReward {
        reward: String,
        #[serde(default = "one")]
        quantity: i64,
    },
    /// Issue a coupon from a batch (fulfilled by the coupons module).
    IssueCoupon { batch: String },
    /// Advance a challenge (fulfilled by gamification).
    ChallengeProgress {
        challenge: String,
        #[serde(default = "one")]
        steps: i64,
    },
}

impl Effect {
    /// The lines an amount- or item-based effect looks at.
    pub fn lines(&self) -> LineFilter<'_> {
        match self {
            Effect::PointsPerAmount {
                skus, categories, ..
            }
            | Effect::ItemBonus {
                skus, categories, ..
            }
            | Effect::CashbackPercent {
                skus, categories, ..
            } => LineFilter { skus, categories },
            _ => LineFilter::default(),
        }
    }
}

fn one() -> i64 {
    1
}

const MAX_POINTS: i64 = 1_000_000_000;

impl Effect {
    fn validate(&self, field: &str, e: &mut FieldErrors) {
        let filter_ok = |skus: &[String], categories: &[String], e: &mut FieldErrors| {
            if skus.len() + categories.len() > 500 {
                e.push(field, "at most 500 skus and categories");
            }
        };
        match self {
            Effect::PointsPerAmount {
                points,
                per_minor,
                skus,
                categories,
                ..
            } => {
                if !(0..=MAX_POINTS).contains(points) {
                    e.push(
                        format!("{field}.points"),
                        "must be between 0 and 1000000000",
                    );
                }
                if *per_minor <= 0 {
                    e.push(format!("{field}.per_minor"), "must be positive");
                }
                filter_ok(skus, categories, e);
            }
            Effect::Multiplier { factor } => {
                if *factor < Decimal::ONE || *factor > Decimal::from(100) {
                    e.push(format!("{field}.factor"), "must be between 1 and 100");
                }
            }
            Effect::FixedBonus { points } => {
                if !(0..=MAX_POINTS).contains(points) {
                    e.push(
                        format!("{field}.points"),
                        "must be between 0 and 1000000000",
                    );
                }
            }
            Effect::ItemBonus {
                points_per_unit,
                skus,
                categories,
            } => {
                if !(0..=MAX_POINTS).contains(points_per_unit) {
                    e.push(
                        format!("{field}.points_per_unit"),
                        "must be between 0 and 1000000000",
                    );
                }
                if skus.is_empty() && categories.is_empty() {
                    e.push(field, "an item bonus names skus or categories");
                }
                filter_ok(skus, categories, e);
            }
            Effect::CashbackPercent {
                percent,
                skus,
                categories,
            } => {
                if *percent < Decimal::ZERO || *percent > Decimal::from(100) {
                    e.push(format!("{field}.percent"), "must be between 0 and 100");
                }
                filter_ok(skus, categories, e);
            }
            Effect::IssueReward { reward, quantity } => {
                if reward.trim().is_empty() || reward.len() > 100 {
                    e.push(
                        format!("{field}.reward"),
                        "must name a reward (1–100 characters)",
                    );
                }
                if !(1..=100).contains(quantity) {
                    e.push(format!("{field}.quantity"), "must be between 1 and 100");
                }
            }
            Effect::IssueCoupon { batch } => {
                if batch.trim().is_empty() || batch.len() > 100 {
                    e.push(
                        format!("{field}.batch"),
                        "must name a coupon batch (1–100 characters)",
                    );
                }
            }
            Effect::ChallengeProgress { challenge, steps } => {
                if challenge.trim().is_empty() || challenge.len() > 100 {
                    e.push(
                        format!("{field}.challenge"),
                        "must name a challenge (1–100 characters)",
                    );
                }
                if !(1..=1000).contains(steps) {
                    e.push(format!("{field}.steps"), "must be between 1 and 1000");
                }
            }
        }
    }
}

/// What a rule reacts to: purchases, or one named event (signup, birthday, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "on", content = "name")]
pub enum Trigger {
    #[default]
    Purchase,
    Event(String),
}

/// The definition of a rule as a manager writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub name: String,
    #[serde(default)]
    pub trigger: Trigger,
    /// A CEL expression over `purchase`, `customer`, `time` and `event`; none means always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub effects: Vec<Effect>,
}

/// Event names: the well-known ones and custom names in the same shape.
pub const KNOWN_EVENTS: [&str; 5] = [
    "signup",
    "birthday",
    "profile_completed",
    "survey_answered",
    "review",
];

/// `snake_case` ASCII, 1–64 characters.
pub fn valid_event_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.as_bytes()[0].is_ascii_lowercase()
}

impl RuleDef {
    /// Check the definition and compile its condition; errors name the field, and a CEL
    /// error names the line and column.
    pub fn validate(&self, prefix: &str) -> Result<Option<Condition>, FieldErrors> {
        let mut e = FieldErrors::default();
        let f = |s: &str| {
            if prefix.is_empty() {
                s.to_owned()
            } else {
                format!("{prefix}.{s}")
            }
        };
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            e.push(f("name"), "must be 1–200 characters");
        }
        if let Trigger::Event(name) = &self.trigger {
            if !valid_event_name(name) {
                e.push(
                    f("trigger.name"),
                    "must be snake_case ASCII, 1–64 characters",
                );
            }
        }
        if self.effects.is_empty() {
            e.push(f("effects"), "a rule needs at least one effect");
        }
        if self.effects.len() > 20 {
            e.push(f("effects"), "at most 20 effects");
        }
        for (i, effect) in self.effects.iter().enumerate() {
            effect.validate(&f(&format!("effects[{i}]")), &mut e);
        }
        let condition = match &self.condition {
            None => None,
            Some(src) => {
                match Condition::compile_cached(src, expr::Scope::for_trigger(&self.trigger)) {
                    Ok(c) => Some(c),
                    Err(err) => {
                        e.push(f("condition"), err);
                        None
                    }
                }
            }
        };
        e.finish(|| condition)
    }
}

/// How a campaign combines with campaigns of lower priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stacking {
    /// Adds to whatever else fires.
    #[default]
    Additive,
    /// When it fires, campaigns of lower priority do not.
    Exclusive,
}

/// A limit per customer per period: a number of times, or a number of points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    pub period: CapPeriod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

/// An hour range in local time, `from` inclusive, `to` exclusive; `to` before `from`
/// wraps past midnight (a late-night happy hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HourRange {
    pub from: jiff::civil::Time,
    pub to: jiff::civil::Time,
}

impl HourRange {
    pub fn contains(&self, t: jiff::civil::Time) -> bool {
        if self.from <= self.to {
            self.from <= t && t < self.to
        } else {
            t >= self.from || t < self.to
        }
    }
}

/// When in the week a campaign runs, in the program's timezone. Empty lists mean always.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<Weekday>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hours: Vec<HourRange>,
}

impl Schedule {
    /// A range that wraps past midnight belongs to the day it starts on: "Thursday
    /// 22:00–02:00" runs Thursday night into Friday 02:00, not in the small hours of
    /// Thursday.
    pub fn contains(&self, local: jiff::civil::DateTime) -> bool {
        let on = |day: jiff::civil::Date| {
            self.weekdays.is_empty() || self.weekdays.contains(&Weekday::of(day))
        };
        let t = local.time();
        if self.hours.is_empty() {
            return on(local.date());
        }
        self.hours.iter().any(|h| {
            if h.from <= h.to {
                on(local.date()) && h.from <= t && t < h.to
            } else if t >= h.from {
                on(local.date())
            } else {
                t < h.to && local.date().yesterday().is_ok_and(on)
            }
        })
    }
}

/// Whether a campaign is running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    #[default]
    Active,
    Paused,
    Archived,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Archived => "archived",
        }
    }
}

/// The settings of a campaign as a manager writes them (its rules are separate resources).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub status: CampaignStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    #[serde(default)]
    pub schedule: Schedule,
    /// A CEL expression over `customer` (and `time`): who the campaign is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Higher runs first.
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub stacking: Stacking,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<Cap>,
    /// Most points the campaign may ever give, across all customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_points: Option<i64>,
}

impl CampaignDef {
    pub fn validate(&self) -> Result<Option<Condition>, FieldErrors> {
        let mut e = FieldErrors::default();
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            e.push("name", "must be 1–200 characters");
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 2000)
        {
            e.push("description", "at most 2000 characters");
        }
        if let (Some(from), Some(to)) = (self.valid_from, self.valid_to) {
            if to <= from {
                e.push("valid_to", "must be after valid_from");
            }
        }
        if self.schedule.hours.len() > 24 {
            e.push("schedule.hours", "at most 24 ranges");
        }
        for (i, h) in self.schedule.hours.iter().enumerate() {
            if h.from == h.to {
                e.push(format!("schedule.hours[{i}]"), "from and to must differ");
            }
        }
        if !(-1_000_000..=1_000_000).contains(&self.priority) {
            e.push("priority", "must be between -1000000 and 1000000");
        }
        if self.caps.len() > 10 {
            e.push("caps", "at most 10 caps");
        }
        for (i, cap) in self.caps.iter().enumerate() {
            match (cap.count, cap.points) {
                (Some(n), None) if n >= 1 => {}
                (None, Some(p)) if p >= 1 => {}
                (Some(_), None) => e.push(format!("caps[{i}].count"), "must be at least 1"),
                (None, Some(_)) => e.push(format!("caps[{i}].points"), "must be at least 1"),
                _ => e.push(format!("caps[{i}]"), "give exactly one of count or points"),
            }
        }
        if self
            .budget_points
            .is_some_and(|b| !(1..=MAX_POINTS * 1000).contains(&b))
        {
            e.push(
                "budget_points",
                format!("must be between 1 and {}", MAX_POINTS * 1000),
            );
        }
        let audience = match &self.audience {
            None => None,
            Some(src) => match Condition::compile_cached(src, expr::Scope::Audience) {
                Ok(c) => Some(c),
                Err(err) => {
                    e.push("audience", err);
                    None
                }
            },
        };
        e.finish(|| audience)
    }

    pub fn runs_at(&self, at: Timestamp) -> bool {
        self.status == CampaignStatus::Active
            && self.valid_from.is_none_or(|f| f <= at)
            && self.valid_to.is_none_or(|t| at < t)
    }
}

/// A rule ready to evaluate: its identity, the version that is current, and its
/// compiled condition.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub version: i64,
    pub def: RuleDef,
    pub condition: Option<Condition>,
}

/// A campaign ready to evaluate.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: String,
    pub version: i64,
    pub def: CampaignDef,
    pub audience: Option<Condition>,
    pub rules: Vec<Rule>,
}

impl Campaign {
    /// Compile a stored campaign and its rules. Stored definitions were validated when
    /// written, so an error here means the store holds something it should not.
    pub fn compile(
        id: String,
        version: i64,
        def: CampaignDef,
        rules: Vec<(String, i64, RuleDef)>,
    ) -> Result<Campaign, FieldErrors> {
        let audience = def.validate()?;
        let rules = rules
            .into_iter()
            .map(|(id, version, def)| {
                let condition = def.validate("")?;
                Ok(Rule {
                    id,
                    version,
                    def,
                    condition,
                })
            })
            .collect::<Result<Vec<_>, FieldErrors>>()?;
        Ok(Campaign {
            id,
            version,
            def,
            audience,
            rules,
        })
    }
}

/// The id under which the program's base earning setting runs as a rule.
pub const DEFAULT_CAMPAIGN_ID: &str = "default";

/// The base earning setting of the ledger as a rule: lowest priority, additive, so an
/// exclusive campaign replaces it and multipliers multiply it.
pub fn default_campaign(settings: &crate::ledger::LedgerSettings) -> Campaign {
    let mut effects = Vec::new();
    if settings.earn_points > 0 {
        effects.push(Effect::PointsPerAmount {
            points: settings.earn_points,
            per_minor: settings.earn_per_minor.max(1),
            rounding: Rounding::Down,
            skus: Vec::new(),
            categories: Vec::new(),
        });
    }
    if settings.cashback_percent > Decimal::ZERO {
        effects.push(Effect::CashbackPercent {
            percent: settings.cashback_percent,
            skus: Vec::new(),
            categories: Vec::new(),
        });
    }
    Campaign {
        id: DEFAULT_CAMPAIGN_ID.to_owned(),
        version: 1,
        def: CampaignDef {
            name: "Base earning".to_owned(),
            description: Some("The program's ledger settings: earn_points per earn_per_minor, and cashback_percent".to_owned()),
            status: CampaignStatus::Active,
            valid_from: None,
            valid_to: None,
            schedule: Schedule::default(),
            audience: None,
            priority: i32::MIN,
            stacking: Stacking::Additive,
            caps: Vec::new(),
            budget_points: None,
        },
        audience: None,
        rules: vec![Rule {
            id: DEFAULT_CAMPAIGN_ID.to_owned(),
            version: 1,
            def: RuleDef {
                name: "Base earning".to_owned(),
                trigger: Trigger::Purchase,
                condition: None,
                effects,
            },
            condition: None,
        }],
    }
}
