//! CEL conditions: compiling with limits, a static check of the names a condition uses,
//! a trial run that catches type errors, and the evaluation context.
//!
//! The `cel` crate parses and interprets but has no type checker, so a condition is
//! checked in two steps: every variable and field it names must exist in the context
//! schema below (reported at its line and column), and a run against a sample context
//! holding every field must give a boolean without a type error.

use super::period::Weekday;
use super::Trigger;
use crate::date::to_jalali;
use crate::ledger::CalendarKind;
use cel::common::ast::{EntryExpr, Expr};
use cel::objects::{Key, Map};
use cel::{Context, Env, ExecutionError, IdedExpr, Program, Value};
use jiff::civil::Date;
use jiff::Timestamp;
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, LazyLock, Mutex};

/// Longest condition accepted, in characters.
pub const MAX_SOURCE_CHARS: usize = 2000;
/// Deepest bracket nesting accepted: the parser recurses on it.
const MAX_BRACKET_DEPTH: usize = 24;
/// Deepest expression tree accepted: evaluation recurses on it.
const MAX_TREE_DEPTH: usize = 64;
/// Loops inside loops accepted, and the longest written list a loop may run over.
const MAX_LOOP_NESTING: usize = 2;
const MAX_LOOP_LITERAL: usize = 20;
/// Pushed among the bound names while checking a loop's body (no name can be it).
const LOOP_MARK: &str = "\0loop";

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// The fields each top-level variable has. `customer.attributes` and `event.attributes`
/// are free-form maps and not checked.
const PURCHASE_FIELDS: &[&str] = &[
    "total",
    "items",
    "item_count",
    "store",
    "channel",
    "coupons",
    "external_id",
];
const CUSTOMER_FIELDS: &[&str] = &[
    "id",
    "tier",
    "tags",
    "attributes",
    "age",
    "gender",
    "city",
    "occupation",
    "birthday_today",
    "birthday_this_month",
    "purchase_count",
    "days_since_last_purchase",
    "first_purchase",
    "points_balance",
    "member_days",
    "monetary",
    "birthday_month",
    "consent_sms",
    "consent_email",
    "consent_call",
    "last_campaign",
];
const TIME_FIELDS: &[&str] = &[
    "date",
    "time",
    "hour",
    "minute",
    "weekday",
    "weekday_name",
    "year",
    "month",
    "day",
    "jalali_year",
    "jalali_month",
    "jalali_day",
];
const EVENT_FIELDS: &[&str] = &["name", "attributes"];

/// Which variables a condition may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A purchase rule: `purchase`, `customer`, `time`.
    Purchase,
    /// An event rule: `event`, `customer`, `time`.
    Event,
    /// A campaign audience: `customer`, `time`.
    Audience,
}

impl Scope {
    pub fn for_trigger(t: &Trigger) -> Scope {
        match t {
            Trigger::Purchase => Scope::Purchase,
            Trigger::Event(_) => Scope::Event,
        }
    }

    fn roots(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Scope::Purchase => &[
                ("purchase", PURCHASE_FIELDS),
                ("customer", CUSTOMER_FIELDS),
                ("time", TIME_FIELDS),
            ],
            Scope::Event => &[
                ("event", EVENT_FIELDS),
                ("customer", CUSTOMER_FIELDS),
                ("time", TIME_FIELDS),
            ],
            Scope::Audience => &[("customer", CUSTOMER_FIELDS), ("time", TIME_FIELDS)],
        }
    }
}

/// Why a condition was refused: a message and where (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for CompileError {}

/// A compiled, checked condition.
#[derive(Clone)]
pub struct Condition {
    source: Arc<str>,
    program: Arc<Program>,
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Condition").field(&self.source).finish()
    }
}

fn err(line: u32, column: u32, message: impl Into<String>) -> CompileError {
    CompileError {
        line,
        column,
        message: message.into(),
    }
}

/// 1-based line and column of a character offset.
/// Line and column (in characters) of the byte `offset` the parser reports.
fn line_col(source: &str, offset: u32) -> (u32, u32) {
    let (mut line, mut col) = (1u32, 1u32);
    for (i, c) in source.char_indices() {
        if i as u32 >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

fn bracket_depth_ok(source: &str) -> Result<(), CompileError> {
    let (mut depth, mut line, mut col) = (0usize, 1u32, 0u32);
    for c in source.chars() {
        col += 1;
        match c {
            '\n' => {
                line += 1;
                col = 0;
            }
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_BRACKET_DEPTH {
                    return Err(err(
                        line,
                        col,
                        format!("brackets nest deeper than {MAX_BRACKET_DEPTH}"),
                    ));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Compiled conditions by source: a purchase loads its program's rules from the store
/// and would otherwise parse and trial-run every condition again.
static CACHE: LazyLock<Mutex<HashMap<(Scope, String), Condition>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_MAX: usize = 10_000;

impl Condition {
    /// [`Condition::compile`], remembered by source (errors are not remembered).
    pub fn compile_cached(source: &str, scope: Scope) -> Result<Condition, CompileError> {
        let key = (scope, source.to_owned());
        if let Some(c) = CACHE.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(c.clone());
        }
        let c = Condition::compile(source, scope)?;
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, c.clone());
        Ok(c)
    }

    /// Compile and check `source` for `scope`.
    pub fn compile(source: &str, scope: Scope) -> Result<Condition, CompileError> {
        if source.trim().is_empty() {
            return Err(err(1, 1, "the condition is empty"));
        }
        if source.chars().count() > MAX_SOURCE_CHARS {
            return Err(err(
                1,
                1,
                format!("longer than {MAX_SOURCE_CHARS} characters"),
            ));
        }
        bracket_depth_ok(source)?;
        let parsed = catch_unwind(AssertUnwindSafe(|| ENV.compile(source)))
            .map_err(|_| err(1, 1, "the expression could not be parsed"))?;
        let program = parsed.map_err(|e| {
            let first = e.errors.first();
            let (line, column) = first
                .map(|p| {
                    (
                        u32::try_from(p.pos.0).unwrap_or(1).max(1),
                        // The parser's columns count from 1 already.
                        u32::try_from(p.pos.1).unwrap_or(1).max(1),
                    )
                })
                .unwrap_or((1, 1));
            let message = first
                .map(|p| p.msg.clone())
                .unwrap_or_else(|| e.to_string());
            err(line, column, message)
        })?;
        let at = |id: u64| {
            program
                .source_info()
                .offset_for(id)
                .map(|(start, _)| line_col(source, start))
                .unwrap_or((1, 1))
        };
        let mut bound = Vec::new();
        check_names(program.expression(), scope, &mut bound, 0, &at)?;
        let condition = Condition {
            source: Arc::from(source),
            program: Arc::new(program),
        };
        condition.trial_run(scope)?;
        Ok(condition)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Run against a sample context with every field present: a type error or a
    /// non-boolean result is refused; a missing key (an attribute the sample lacks) or an
    /// arithmetic error is a matter of the data, not of the condition.
    fn trial_run(&self, scope: Scope) -> Result<(), CompileError> {
        let ctx = EvalContext::sample(scope);
        match self.eval(&ctx) {
            Ok(_) => Ok(()),
            Err(EvalError::NotBoolean(got)) => Err(err(
                1,
                1,
                format!("the condition must be true or false, but it gives {got}"),
            )),
            Err(EvalError::Execution(e)) => match e {
                ExecutionError::NoSuchKey(_)
                | ExecutionError::IndexOutOfBounds(_)
                | ExecutionError::DivisionByZero(_)
                | ExecutionError::RemainderByZero(_)
                | ExecutionError::Overflow(..) => Ok(()),
                other => Err(err(1, 1, format!("type error: {other}"))),
            },
            Err(EvalError::Panicked) => Err(err(1, 1, "the expression cannot be evaluated")),
        }
    }

    /// Evaluate to a boolean.
    pub fn eval(&self, ctx: &EvalContext) -> Result<bool, EvalError> {
        let result = catch_unwind(AssertUnwindSafe(|| self.program.execute(&ctx.cel)))
            .map_err(|_| EvalError::Panicked)?;
        match result {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(EvalError::NotBoolean(type_name(&other))),
            Err(e) => Err(EvalError::Execution(e)),
        }
    }
}

fn type_name(v: &Value) -> String {
    v.type_of().to_string()
}

/// Why a condition gave no answer for some data; the rule then does not fire.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    NotBoolean(String),
    Execution(ExecutionError),
    Panicked,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::NotBoolean(t) => write!(f, "gave {t}, not true or false"),
            EvalError::Execution(e) => write!(f, "{e}"),
            EvalError::Panicked => f.write_str("could not be evaluated"),
        }
    }
}

type Pos<'a> = &'a dyn Fn(u64) -> (u32, u32);

/// Walk the tree: depth limit, known variables, and known fields on them.
fn check_names(
    e: &IdedExpr,
    scope: Scope,
    bound: &mut Vec<String>,
    depth: usize,
    at: Pos<'_>,
) -> Result<(), CompileError> {
    if depth > MAX_TREE_DEPTH {
        let (l, c) = at(e.id);
        return Err(err(
            l,
            c,
            format!("the expression nests deeper than {MAX_TREE_DEPTH}"),
        ));
    }
    let d = depth + 1;
    match &e.expr {
        Expr::Ident(name) => {
            if bound.iter().any(|b| b == name) {
                return Ok(());
            }
            if !scope.roots().iter().any(|(root, _)| root == name) {
                let (l, c) = at(e.id);
                let names: Vec<&str> = scope.roots().iter().map(|(r, _)| *r).collect();
                return Err(err(
                    l,
                    c,
                    format!("unknown name `{name}`: use {}", names.join(", ")),
                ));
            }
            Ok(())
        }
        Expr::Select(sel) => {
            if let Expr::Ident(root) = &sel.operand.expr {
                if !bound.iter().any(|b| b == root) {
                    if let Some((_, fields)) = scope.roots().iter().find(|(r, _)| r == root) {
                        if !fields.contains(&sel.field.as_str()) {
                            let (l, c) = at(e.id);
                            return Err(err(
                                l,
                                c,
                                format!(
                                    "`{root}` has no field `{}`; it has {}",
                                    sel.field,
                                    fields.join(", ")
                                ),
                            ));
                        }
                    }
                }
            }
            check_names(&sel.operand, scope, bound, d, at)
        }
        Expr::Call(call) => {
            if let Some(t) = &call.target {
                check_names(t, scope, bound, d, at)?;
            }
            for a in &call.args {
                check_names(a, scope, bound, d, at)?;
            }
            Ok(())
        }
        Expr::Comprehension(c) => {
            // A loop's body runs once per element, and a loop inside it multiplies that:
            // three levels over written lists are minutes of work for one condition (a
            // segment preview runs it per customer). Two levels, and written lists of a
            // few values, keep every condition cheap; `in` tests membership in any list.
            let loops = bound.iter().filter(|b| *b == LOOP_MARK).count();
            if loops >= MAX_LOOP_NESTING {
                let (l, c) = at(e.id);
                return Err(err(
                    l,
                    c,
                    format!("loops (all, exists, exists_one, map, filter) nest at most {MAX_LOOP_NESTING} deep"),
                ));
            }
            // Written values anywhere in the range count: `[…] + […]` or `[[…]][0]` is a
            // written list too.
            if written_values(&c.iter_range) > MAX_LOOP_LITERAL {
                let (l, c) = at(e.id);
                return Err(err(
                    l,
                    c,
                    format!("a loop runs over a written list of at most {MAX_LOOP_LITERAL} values; test membership with `in`"),
                ));
            }
            check_names(&c.iter_range, scope, bound, d, at)?;
            check_names(&c.accu_init, scope, bound, d, at)?;
            let before = bound.len();
            bound.push(LOOP_MARK.to_owned());
            bound.push(c.iter_var.clone());
            if let Some(v) = &c.iter_var2 {
                bound.push(v.clone());
            }
            bound.push(c.accu_var.clone());
            let r = check_names(&c.loop_cond, scope, bound, d, at)
                .and_then(|_| check_names(&c.loop_step, scope, bound, d, at))
                .and_then(|_| check_names(&c.result, scope, bound, d, at));
            bound.truncate(before);
            r
        }
        Expr::List(l) => {
            for x in &l.elements {
                check_names(x, scope, bound, d, at)?;
            }
            Ok(())
        }
        Expr::Map(m) => {
            for entry in &m.entries {
                if let EntryExpr::MapEntry(me) = &entry.expr {
                    check_names(&me.key, scope, bound, d, at)?;
                    check_names(&me.value, scope, bound, d, at)?;
                }
            }
            Ok(())
        }
        Expr::Struct(_) => {
            let (l, c) = at(e.id);
            Err(err(l, c, "message construction is not supported"))
        }
        Expr::Literal(_) | Expr::Unspecified => Ok(()),
    }
}

/// The values written in list and map literals anywhere inside `e`.
fn written_values(e: &IdedExpr) -> usize {
    match &e.expr {
        Expr::List(l) => l.elements.len() + l.elements.iter().map(written_values).sum::<usize>(),
        Expr::Map(m) => m
            .entries
            .iter()
            .map(|entry| match &entry.expr {
                EntryExpr::MapEntry(me) => 1 + written_values(&me.key) + written_values(&me.value),
                _ => 1,
            })
            .sum(),
        Expr::Call(call) => {
            call.target.as_deref().map_or(0, written_values)
                + call.args.iter().map(written_values).sum::<usize>()
        }
        Expr::Select(sel) => written_values(&sel.operand),
        Expr::Comprehension(c) => {
            written_values(&c.iter_range) + written_values(&c.loop_step) + written_values(&c.result)
        }
        _ => 0,
    }
}

// ---- the facts a condition sees ----

/// One purchase line as conditions see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFacts {
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
}

/// A purchase as conditions see it; money in minor units of the program currency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PurchaseFacts {
    pub total_minor: i64,
    pub items: Vec<ItemFacts>,
    pub store: Option<String>,
    pub channel: Option<String>,
    pub coupons: Vec<String>,
    pub external_id: Option<String>,
}

/// A customer as conditions see it, as of just before the purchase or event.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerFacts {
    pub id: String,
    pub tier: Option<String>,
    pub tags: Vec<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub birth_date: Option<Date>,
    pub gender: Option<String>,
    pub city: Option<String>,
    pub occupation: Option<String>,
    /// Purchases before this one.
    pub purchase_count: i64,
    pub last_purchase_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub points_balance: i64,
    /// Revenue to date, net of returns (minor units).
    pub monetary_minor: i64,
    /// Consent per channel (granted and not withdrawn).
    pub consent_sms: bool,
    pub consent_email: bool,
    pub consent_call: bool,
    /// The last campaign (other than the base rule) that gave this customer something.
    pub last_campaign: Option<String>,
}

impl CustomerFacts {
    pub fn new(id: impl Into<String>, created_at: Timestamp) -> CustomerFacts {
        CustomerFacts {
            id: id.into(),
            tier: None,
            tags: Vec::new(),
            attributes: serde_json::Map::new(),
            birth_date: None,
            gender: None,
            city: None,
            occupation: None,
            purchase_count: 0,
            last_purchase_at: None,
            created_at,
            points_balance: 0,
            monetary_minor: 0,
            consent_sms: false,
            consent_email: false,
            consent_call: false,
            last_campaign: None,
        }
    }
}

/// A non-purchase event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFacts {
    pub name: String,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

fn s(v: &str) -> Value {
    Value::String(Arc::new(v.to_owned()))
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    let m: HashMap<Key, Value> = entries
        .into_iter()
        .map(|(k, v)| (Key::String(Arc::new(k.to_owned())), v))
        .collect();
    Value::Map(Map { map: Arc::new(m) })
}

fn json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::Int(i),
            (None, Some(u), _) => Value::UInt(u),
            (_, _, Some(f)) => Value::Float(f),
            _ => Value::Null,
        },
        serde_json::Value::String(x) => s(x),
        serde_json::Value::Array(a) => Value::List(Arc::new(a.iter().map(json).collect())),
        serde_json::Value::Object(o) => json_map(o),
    }
}

fn json_map(o: &serde_json::Map<String, serde_json::Value>) -> Value {
    let m: HashMap<Key, Value> = o
        .iter()
        .map(|(k, v)| (Key::String(Arc::new(k.clone())), json(v)))
        .collect();
    Value::Map(Map { map: Arc::new(m) })
}

fn opt(entries: &mut Vec<(&'static str, Value)>, key: &'static str, v: Option<&str>) {
    if let Some(v) = v {
        entries.push((key, s(v)));
    }
}

/// Whole years from `birth` to `today`.
pub fn age_on(birth: Date, today: Date) -> i64 {
    let mut years = i64::from(today.year()) - i64::from(birth.year());
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

/// The variables a condition is evaluated against, built once per purchase or event.
pub struct EvalContext {
    cel: Context<'static, 'static>,
}

impl EvalContext {
    pub fn new(
        purchase: Option<&PurchaseFacts>,
        event: Option<&EventFacts>,
        customer: &CustomerFacts,
        at: Timestamp,
        tz: &jiff::tz::TimeZone,
        calendar: CalendarKind,
    ) -> EvalContext {
        let local = at.to_zoned(tz.clone()).datetime();
        let today = local.date();
        let jtoday = to_jalali(today);
        let mut cel = Context::with_env(ENV.clone());
        if let Some(p) = purchase {
            let items: Vec<Value> = p
                .items
                .iter()
                .map(|i| {
                    let mut e = vec![
                        ("sku", s(&i.sku)),
                        ("quantity", Value::Int(i.quantity)),
                        ("unit_price", Value::Int(i.unit_price_minor)),
                        ("amount", Value::Int(i.amount_minor)),
                    ];
                    opt(&mut e, "name", i.name.as_deref());
                    opt(&mut e, "category", i.category.as_deref());
                    map(e)
                })
                .collect();
            let mut e = vec![
                ("total", Value::Int(p.total_minor)),
                ("item_count", Value::Int(p.items.len() as i64)),
                ("items", Value::List(Arc::new(items))),
                (
                    "coupons",
                    Value::List(Arc::new(p.coupons.iter().map(|c| s(c)).collect())),
                ),
                ("store", s(p.store.as_deref().unwrap_or(""))),
                ("channel", s(p.channel.as_deref().unwrap_or(""))),
            ];
            opt(&mut e, "external_id", p.external_id.as_deref());
            cel.add_variable_from_value("purchase", map(e));
        }
        if let Some(ev) = event {
            cel.add_variable_from_value(
                "event",
                map(vec![
                    ("name", s(&ev.name)),
                    ("attributes", json_map(&ev.attributes)),
                ]),
            );
        }
        let c = customer;
        let mut e = vec![
            ("id", s(&c.id)),
            ("tier", s(c.tier.as_deref().unwrap_or(""))),
            (
                "tags",
                Value::List(Arc::new(c.tags.iter().map(|t| s(t)).collect())),
            ),
            ("attributes", json_map(&c.attributes)),
            ("purchase_count", Value::Int(c.purchase_count)),
            ("first_purchase", Value::Bool(c.purchase_count == 0)),
            ("points_balance", Value::Int(c.points_balance)),
            (
                "member_days",
                Value::Int(days_between(c.created_at, at, tz)),
            ),
            ("gender", s(c.gender.as_deref().unwrap_or(""))),
            ("city", s(c.city.as_deref().unwrap_or(""))),
            ("occupation", s(c.occupation.as_deref().unwrap_or(""))),
        ];
        e.push(("monetary", Value::Int(c.monetary_minor)));
        e.push(("consent_sms", Value::Bool(c.consent_sms)));
        e.push(("consent_email", Value::Bool(c.consent_email)));
        e.push(("consent_call", Value::Bool(c.consent_call)));
        e.push(("last_campaign", s(c.last_campaign.as_deref().unwrap_or(""))));
        if let Some(b) = c.birth_date {
            let month = match calendar {
                CalendarKind::Jalali => i64::from(to_jalali(b).month),
                CalendarKind::Gregorian => i64::from(b.month()),
            };
            e.push(("birthday_month", Value::Int(month)));
        }
        let (bday_today, bday_month) = match c.birth_date {
            Some(b) => {
                e.push(("age", Value::Int(age_on(b, today))));
                // A birthday on a leap day (30 Esfand, 29 February) falls on the last day
                // of that month in the years without one.
                let last_of_month = today.tomorrow().is_ok_and(|t| match calendar {
                    CalendarKind::Jalali => to_jalali(t).month != jtoday.month,
                    CalendarKind::Gregorian => t.month() != today.month(),
                });
                match calendar {
                    CalendarKind::Jalali => {
                        let jb = to_jalali(b);
                        (
                            jb.month == jtoday.month
                                && (jb.day == jtoday.day || (last_of_month && jb.day > jtoday.day)),
                            jb.month == jtoday.month,
                        )
                    }
                    CalendarKind::Gregorian => (
                        b.month() == today.month()
                            && (b.day() == today.day() || (last_of_month && b.day() > today.day())),
                        b.month() == today.month(),
                    ),
                }
            }
            None => (false, false),
        };
        e.push(("birthday_today", Value::Bool(bday_today)));
        e.push(("birthday_this_month", Value::Bool(bday_month)));
        if let Some(last) = c.last_purchase_at {
            e.push((
                "days_since_last_purchase",
                Value::Int(days_between(last, at, tz)),
            ));
        }
        cel.add_variable_from_value("customer", map(e));
        let weekday = Weekday::of(today);
        cel.add_variable_from_value(
            "time",
            map(vec![
                ("date", s(&today.to_string())),
                (
                    "time",
                    s(&format!("{:02}:{:02}", local.hour(), local.minute())),
                ),
                ("hour", Value::Int(i64::from(local.hour()))),
                ("minute", Value::Int(i64::from(local.minute()))),
                ("weekday", Value::Int(weekday.number())),
                ("weekday_name", s(weekday.as_str())),
                ("year", Value::Int(i64::from(today.year()))),
                ("month", Value::Int(i64::from(today.month()))),
                ("day", Value::Int(i64::from(today.day()))),
                ("jalali_year", Value::Int(i64::from(jtoday.year))),
                ("jalali_month", Value::Int(i64::from(jtoday.month))),
                ("jalali_day", Value::Int(i64::from(jtoday.day))),
            ]),
        );
        EvalContext { cel }
    }

    /// A context holding every field, for the trial run of a new condition.
    fn sample(scope: Scope) -> EvalContext {
        let at = Timestamp::UNIX_EPOCH;
        let mut customer = CustomerFacts::new("cus_sample", at);
        customer.birth_date = Some(jiff::civil::date(1990, 1, 1));
        customer.last_purchase_at = Some(at);
        customer.tier = Some("gold".into());
        customer.tags = vec!["vip".into()];
        let purchase = PurchaseFacts {
            total_minor: 1000,
            items: vec![ItemFacts {
                sku: "sku".into(),
                name: Some("name".into()),
                category: Some("category".into()),
                quantity: 1,
                unit_price_minor: 1000,
                amount_minor: 1000,
            }],
            store: Some("store".into()),
            channel: Some("pos".into()),
            coupons: vec!["CODE".into()],
            external_id: Some("r-1".into()),
        };
        let event = EventFacts {
            name: "signup".into(),
            attributes: serde_json::Map::new(),
        };
        EvalContext::new(
            (scope == Scope::Purchase).then_some(&purchase),
            (scope == Scope::Event).then_some(&event),
            &customer,
            at,
            &jiff::tz::TimeZone::UTC,
            CalendarKind::Gregorian,
        )
    }
}

/// Whole local days from `from` to `to` (0 on the same day).
fn days_between(from: Timestamp, to: Timestamp, tz: &jiff::tz::TimeZone) -> i64 {
    let a = from.to_zoned(tz.clone()).date();
    let b = to.to_zoned(tz.clone()).date();
    a.until(b)
        .ok()
        .map(|span| i64::from(span.get_days()))
        .unwrap_or(0)
}
