//! One entry point for fuzzing rules: compile and evaluate whatever bytes arrive. It must
//! never panic, overflow the stack or hang. `fuzz/` drives it with libFuzzer; the corpus
//! in `fuzz/corpus/rules` and random mutations of it run as a normal test in CI.

use super::expr::{Condition, Scope};
use super::{evaluate, CustomerFacts, EvalInput, EventFacts, ItemFacts, PurchaseFacts, RuleDef};
use crate::ledger::CalendarKind;
use std::collections::HashMap;

/// Input starting with `{` is a rule definition in JSON; anything else is a condition.
pub fn compile_and_evaluate(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let at = jiff::Timestamp::from_second(1_795_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let tz = jiff::tz::TimeZone::fixed(jiff::tz::offset(3));
    let mut customer = CustomerFacts::new("cus_fuzz", at);
    customer.birth_date = Some(jiff::civil::date(1990, 3, 21));
    customer.tags = vec!["vip".into()];
    customer
        .attributes
        .insert("level".into(), serde_json::json!(3));
    let purchase = PurchaseFacts {
        total_minor: i64::MAX,
        items: vec![ItemFacts {
            sku: "sku".into(),
            name: None,
            category: Some("c".into()),
            quantity: i64::MAX,
            unit_price_minor: i64::MAX,
            amount_minor: i64::MAX,
        }],
        coupons: vec!["X".into()],
        ..PurchaseFacts::default()
    };
    let event = EventFacts {
        name: "review".into(),
        attributes: Default::default(),
    };
    if text.trim_start().starts_with('{') {
        let Ok(def) = serde_json::from_str::<RuleDef>(&text) else {
            return;
        };
        let Ok(condition) = def.validate("") else {
            return;
        };
        let campaign = super::Campaign {
            id: "fuzz".into(),
            version: 1,
            def: super::CampaignDef {
                name: "fuzz".into(),
                description: None,
                status: super::CampaignStatus::Active,
                valid_from: None,
                valid_to: None,
                schedule: super::Schedule::default(),
                audience: None,
                priority: 0,
                stacking: super::Stacking::Additive,
                caps: Vec::new(),
                budget_points: Some(10),
            },
            audience: None,
            rules: vec![super::Rule {
                id: "r".into(),
                version: 1,
                def,
                condition,
            }],
        };
        for (p, e) in [(Some(&purchase), None), (None, Some(&event))] {
            let _ = evaluate(
                std::slice::from_ref(&campaign),
                &EvalInput {
                    purchase: p,
                    event: e,
                    customer: &customer,
                    at,
                    tz: &tz,
                    calendar: CalendarKind::Jalali,
                },
                &HashMap::new(),
            );
        }
        return;
    }
    for scope in [Scope::Purchase, Scope::Event, Scope::Audience] {
        if let Ok(c) = Condition::compile(&text, scope) {
            let ctx = super::expr::EvalContext::new(
                (scope == Scope::Purchase).then_some(&purchase),
                (scope == Scope::Event).then_some(&event),
                &customer,
                at,
                &tz,
                CalendarKind::Gregorian,
            );
            let _ = c.eval(&ctx);
        }
    }
}
