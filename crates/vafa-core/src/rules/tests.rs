use super::*;
use crate::ledger::{CalendarKind, LedgerSettings};
use jiff::tz::TimeZone;
use serde_json::json;
use std::collections::HashMap;

fn tehran() -> TimeZone {
    TimeZone::get("Asia/Tehran").unwrap()
}

/// 2026-11-23 is a Monday; 14:30 Tehran time.
fn monday_afternoon() -> Timestamp {
    "2026-11-23T14:30:00+03:30".parse().unwrap()
}

fn campaign(id: &str, def: serde_json::Value, rules: Vec<serde_json::Value>) -> Campaign {
    let def: CampaignDef = serde_json::from_value(def).unwrap();
    let rules = rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            (
                format!("{id}_r{i}"),
                1,
                serde_json::from_value::<RuleDef>(r).unwrap(),
            )
        })
        .collect();
    Campaign::compile(id.into(), 1, def, rules).unwrap()
}

fn simple(id: &str, priority: i32, stacking: &str, effects: serde_json::Value) -> Campaign {
    campaign(
        id,
        json!({"name": id, "priority": priority, "stacking": stacking}),
        vec![json!({"name": format!("{id} rule"), "effects": effects})],
    )
}

fn item(sku: &str, category: &str, quantity: i64, unit: i64) -> ItemFacts {
    ItemFacts {
        sku: sku.into(),
        name: None,
        category: Some(category.into()),
        quantity,
        unit_price_minor: unit,
        amount_minor: quantity * unit,
    }
}

fn purchase() -> PurchaseFacts {
    PurchaseFacts {
        total_minor: 1_000_000,
        items: vec![
            item("latte", "coffee", 2, 150_000),
            item("cake", "pastry", 1, 700_000),
        ],
        store: Some("vanak".into()),
        channel: Some("pos".into()),
        coupons: vec![],
        external_id: None,
    }
}

fn customer() -> CustomerFacts {
    let mut c = CustomerFacts::new("cus_1", "2025-01-01T00:00:00Z".parse().unwrap());
    c.birth_date = Some(jiff::civil::date(1990, 11, 23));
    c.tags = vec!["vip".into()];
    c.purchase_count = 3;
    c.last_purchase_at = Some("2026-11-13T10:00:00Z".parse().unwrap());
    c
}

fn run_at(
    campaigns: &[Campaign],
    p: &PurchaseFacts,
    c: &CustomerFacts,
    at: Timestamp,
    usage: &HashMap<String, CampaignUsage>,
) -> Evaluation {
    let tz = tehran();
    evaluate(
        campaigns,
        &EvalInput {
            purchase: Some(p),
            event: None,
            customer: c,
            at,
            tz: &tz,
            calendar: CalendarKind::Jalali,
        },
        usage,
    )
}

fn run(campaigns: &[Campaign]) -> Evaluation {
    run_at(
        campaigns,
        &purchase(),
        &customer(),
        monday_afternoon(),
        &HashMap::new(),
    )
}

fn lines_add_up(e: &Evaluation) {
    assert_eq!(e.line_points.iter().sum::<i64>(), e.points, "{e:#?}");
    assert_eq!(e.line_cashback.iter().sum::<i64>(), e.cashback_minor);
}

// ---- every effect ----

#[test]
fn points_per_amount_rounds_as_told() {
    for (rounding, want) in [("down", 3), ("nearest", 3), ("up", 4)] {
        let c = simple(
            "c",
            0,
            "additive",
            json!([{"type": "points_per_amount", "points": 1, "per_minor": 300_000, "rounding": rounding}]),
        );
        let e = run(&[c]);
        assert_eq!(e.points, want, "{rounding}");
        lines_add_up(&e);
    }
    let nearest_up = simple(
        "c",
        0,
        "additive",
        json!([{"type": "points_per_amount", "points": 1, "per_minor": 400_000, "rounding": "nearest"}]),
    );
    assert_eq!(run(&[nearest_up]).points, 3, "2.5 rounds half up");
}

#[test]
fn points_per_amount_on_a_category_counts_only_those_lines() {
    let c = simple(
        "c",
        0,
        "additive",
        json!([{"type": "points_per_amount", "points": 1, "per_minor": 10_000, "categories": ["coffee"]}]),
    );
    let e = run(&[c]);
    assert_eq!(e.points, 30);
    assert_eq!(e.line_points, vec![30, 0]);
}

#[test]
fn multiplier_multiplies_points_per_amount_of_all_fired_rules() {
    let base = simple(
        "base",
        0,
        "additive",
        json!([{"type": "points_per_amount", "points": 1, "per_minor": 10_000}]),
    );
    let double = simple(
        "double",
        10,
        "additive",
        json!([{"type": "multiplier", "factor": "2"}]),
    );
    let e = run(&[base.clone(), double]);
    assert_eq!(e.points, 200);
    lines_add_up(&e);
    let half_again = simple(
        "half",
        5,
        "additive",
        json!([{"type": "multiplier", "factor": "1.5"}, {"type": "fixed_bonus", "points": 7}]),
    );
    // 100 base, +50 from ×1.5; the fixed bonus is not multiplied.
    let e = run(&[base, half_again]);
    assert_eq!(e.points, 157);
    lines_add_up(&e);
}

#[test]
fn fixed_bonus_is_spread_over_lines_by_amount() {
    let c = simple(
        "c",
        0,
        "additive",
        json!([{"type": "fixed_bonus", "points": 10}]),
    );
    let e = run(&[c]);
    assert_eq!(e.points, 10);
    assert_eq!(e.line_points, vec![3, 7]);
}

#[test]
fn item_bonus_by_sku_and_by_category() {
    let c = simple(
        "c",
        0,
        "additive",
        json!([{"type": "item_bonus", "points_per_unit": 5, "skus": ["latte"]},
               {"type": "item_bonus", "points_per_unit": 20, "categories": ["pastry"]}]),
    );
    let e = run(&[c]);
    assert_eq!(e.points, 2 * 5 + 20);
    assert_eq!(e.line_points, vec![10, 20]);
}

#[test]
fn cashback_percent_rounds_down_to_the_minor_unit() {
    let c = simple(
        "c",
        0,
        "additive",
        json!([{"type": "cashback_percent", "percent": "2.5", "categories": ["pastry"]}]),
    );
    let e = run(&[c]);
    assert_eq!(e.cashback_minor, 17_500);
    assert_eq!(e.line_cashback, vec![0, 17_500]);
    assert_eq!(e.points, 0);
}

#[test]
fn issue_reward_coupon_and_challenge_progress_are_awarded() {
    let c = simple(
        "c",
        0,
        "additive",
        json!([{"type": "issue_reward", "reward": "free-coffee"},
               {"type": "issue_coupon", "batch": "WELCOME"},
               {"type": "challenge_progress", "challenge": "ten-visits", "steps": 1}]),
    );
    let e = run(&[c]);
    let awards: Vec<&Award> = e.awards().collect();
    assert_eq!(
        awards,
        vec![
            &Award::Reward {
                reward: "free-coffee".into(),
                quantity: 1
            },
            &Award::Coupon {
                batch: "WELCOME".into()
            },
            &Award::ChallengeProgress {
                challenge: "ten-visits".into(),
                steps: 1
            },
        ]
    );
}

#[test]
fn the_default_rule_is_the_ledger_setting() {
    let s = LedgerSettings {
        earn_points: 3,
        earn_per_minor: 100_000,
        cashback_percent: Decimal::from(1),
        ..Default::default()
    };
    let e = run(&[default_campaign(&s)]);
    assert_eq!(e.points, 30);
    assert_eq!(e.cashback_minor, 10_000);
    assert_eq!(e.fired[0].rule_id, DEFAULT_CAMPAIGN_ID);
    lines_add_up(&e);
}

// ---- stacking and priority ----

#[test]
fn an_exclusive_campaign_stops_lower_priorities_only() {
    let low = simple(
        "low",
        0,
        "additive",
        json!([{"type": "fixed_bonus", "points": 1}]),
    );
    let same = simple(
        "same",
        5,
        "additive",
        json!([{"type": "fixed_bonus", "points": 10}]),
    );
    let excl = simple(
        "excl",
        5,
        "exclusive",
        json!([{"type": "fixed_bonus", "points": 100}]),
    );
    let high = simple(
        "high",
        9,
        "additive",
        json!([{"type": "fixed_bonus", "points": 1000}]),
    );
    let e = run(&[low, same, excl, high]);
    assert_eq!(e.points, 1110);
    assert!(e
        .skipped
        .iter()
        .any(|s| s.campaign_id == "low" && s.reason.contains("exclusive campaign excl")));
}

#[test]
fn an_exclusive_campaign_that_does_not_fire_stops_nothing() {
    let low = simple(
        "low",
        0,
        "additive",
        json!([{"type": "fixed_bonus", "points": 1}]),
    );
    let excl = campaign(
        "excl",
        json!({"name": "excl", "priority": 5, "stacking": "exclusive"}),
        vec![
            json!({"name": "big", "condition": "purchase.total > 5000000",
                     "effects": [{"type": "fixed_bonus", "points": 100}]}),
        ],
    );
    let e = run(&[low, excl]);
    assert_eq!(e.points, 1);
    assert_eq!(e.skipped[0].reason, "condition is false");
}

#[test]
fn higher_priority_is_evaluated_first_whatever_the_input_order() {
    let a = simple(
        "a",
        1,
        "exclusive",
        json!([{"type": "fixed_bonus", "points": 1}]),
    );
    let b = simple(
        "b",
        2,
        "exclusive",
        json!([{"type": "fixed_bonus", "points": 2}]),
    );
    assert_eq!(run(&[a.clone(), b.clone()]).points, 2);
    assert_eq!(run(&[b, a]).points, 2);
}

// ---- conditions, schedule, window, audience ----

#[test]
fn conditions_see_purchase_customer_and_time() {
    let cases = [
        ("purchase.total >= 1000000", true),
        (
            "purchase.items.exists(i, i.category == 'pastry' && i.quantity == 1)",
            true,
        ),
        (
            "purchase.store == 'vanak' && purchase.channel == 'pos'",
            true,
        ),
        ("'vip' in customer.tags", true),
        ("customer.age == 36", true),
        (
            "customer.birthday_today && customer.birthday_this_month",
            true,
        ),
        (
            "customer.purchase_count == 3 && !customer.first_purchase",
            true,
        ),
        ("customer.days_since_last_purchase == 10", true),
        ("time.weekday == 3 && time.weekday_name == 'monday'", true),
        (
            "time.hour == 14 && time.minute == 30 && time.time == '14:30'",
            true,
        ),
        (
            "time.jalali_year == 1405 && time.jalali_month == 9 && time.jalali_day == 2",
            true,
        ),
        ("time.date == '2026-11-23'", true),
        (
            "has(customer.attributes.pet) && customer.attributes.pet == 'cat'",
            false,
        ),
    ];
    for (cond, want) in cases {
        let c = campaign(
            "c",
            json!({"name": "c"}),
            vec![
                json!({"name": "r", "condition": cond, "effects": [{"type": "fixed_bonus", "points": 1}]}),
            ],
        );
        assert_eq!(run(&[c]).points == 1, want, "{cond}");
    }
}

#[test]
fn a_leap_day_birthday_falls_on_the_months_last_day_in_other_years() {
    let c = campaign(
        "c",
        json!({"name": "c"}),
        vec![json!({"name": "r", "condition": "customer.birthday_today",
            "effects": [{"type": "fixed_bonus", "points": 1}]})],
    );
    let mut who = customer();
    // Born 30 Esfand 1375 (1997-03-20), a leap year's last day.
    who.birth_date = Some(jiff::civil::date(1997, 3, 20));
    let on = |at: &str| {
        run_at(
            std::slice::from_ref(&c),
            &purchase(),
            &who,
            at.parse().unwrap(),
            &HashMap::new(),
        )
        .points
            == 1
    };
    // 1404 has no 30 Esfand: its 29th (2026-03-20) is the day; the 28th is not.
    assert!(on("2026-03-20T08:00:00Z"));
    assert!(!on("2026-03-19T08:00:00Z"));
    // 1403 has one (2025-03-20): that day, not the 29th before it.
    assert!(on("2025-03-20T08:00:00Z"));
    assert!(!on("2025-03-19T08:00:00Z"));
}

#[test]
fn a_condition_that_fails_on_the_data_does_not_fire() {
    let c = campaign(
        "c",
        json!({"name": "c"}),
        vec![
            json!({"name": "r", "condition": "customer.attributes.level > 2",
                     "effects": [{"type": "fixed_bonus", "points": 1}]}),
        ],
    );
    let e = run(&[c]);
    assert_eq!(e.points, 0);
    assert!(
        e.skipped[0].reason.contains("could not be evaluated"),
        "{:?}",
        e.skipped
    );
}

#[test]
fn schedule_weekdays_and_hours_in_the_program_timezone() {
    let mk = |sched: serde_json::Value| {
        campaign(
            "c",
            json!({"name": "c", "schedule": sched}),
            vec![json!({"name": "r", "effects": [{"type": "fixed_bonus", "points": 1}]})],
        )
    };
    assert_eq!(run(&[mk(json!({"weekdays": ["monday"]}))]).points, 1);
    assert_eq!(
        run(&[mk(json!({"weekdays": ["saturday", "friday"]}))]).points,
        0
    );
    assert_eq!(
        run(&[mk(json!({"hours": [{"from": "14:00", "to": "15:00"}]}))]).points,
        1
    );
    // 14:30 in Tehran is 11:00 UTC: a range read in UTC would fire.
    assert_eq!(
        run(&[mk(json!({"hours": [{"from": "10:30", "to": "11:30"}]}))]).points,
        0
    );
    assert_eq!(
        run(&[mk(json!({"hours": [{"from": "22:00", "to": "15:00"}]}))]).points,
        1
    );
}

/// "Thursday 22:00–02:00" is Thursday night: its hours after midnight are Friday's small
/// hours, not Thursday's (found by the third business review).
#[test]
fn a_range_past_midnight_belongs_to_the_day_it_starts() {
    let s: Schedule = serde_json::from_value(
        json!({"weekdays": ["thursday"], "hours": [{"from": "22:00", "to": "02:00"}]}),
    )
    .unwrap();
    let at = |d: &str| -> jiff::civil::DateTime { d.parse().unwrap() };
    assert!(s.contains(at("2026-11-26T23:00")), "Thursday night");
    assert!(
        s.contains(at("2026-11-27T00:30")),
        "Friday 00:30, still Thursday night"
    );
    assert!(
        !s.contains(at("2026-11-26T00:30")),
        "Wednesday night's small hours"
    );
    assert!(!s.contains(at("2026-11-27T22:30")), "Friday night");
    assert!(!s.contains(at("2026-11-27T02:00")), "the end is not in it");
}

#[test]
fn validity_window_and_status() {
    let mk = |def: serde_json::Value| {
        campaign(
            "c",
            def,
            vec![json!({"name": "r", "effects": [{"type": "fixed_bonus", "points": 1}]})],
        )
    };
    assert_eq!(
        run(&[mk(
            json!({"name": "c", "valid_from": "2026-11-23T11:00:00Z"})
        )])
        .points,
        1
    );
    assert_eq!(
        run(&[mk(json!({"name": "c", "valid_to": "2026-11-23T11:00:00Z"}))]).points,
        0,
        "the end is exclusive"
    );
    assert_eq!(
        run(&[mk(json!({"name": "c", "status": "paused"}))]).points,
        0
    );
}

#[test]
fn audience_selects_customers() {
    let mk = |aud: &str| {
        campaign(
            "c",
            json!({"name": "c", "audience": aud}),
            vec![json!({"name": "r", "effects": [{"type": "fixed_bonus", "points": 1}]})],
        )
    };
    assert_eq!(run(&[mk("'vip' in customer.tags")]).points, 1);
    assert_eq!(run(&[mk("customer.city == 'Shiraz'")]).points, 0);
}

// ---- caps and budget ----

fn capped(caps: serde_json::Value, budget: Option<i64>) -> Campaign {
    campaign(
        "c",
        json!({"name": "c", "caps": caps, "budget_points": budget}),
        vec![
            json!({"name": "r", "effects": [{"type": "points_per_amount", "points": 1, "per_minor": 10_000}]}),
        ],
    )
}

fn used(
    period: CapPeriod,
    uses: i64,
    points: i64,
    budget_used: i64,
) -> HashMap<String, CampaignUsage> {
    let mut u = CampaignUsage {
        budget_used,
        ..Default::default()
    };
    u.used.insert(period, (uses, points));
    HashMap::from([("c".to_owned(), u)])
}

#[test]
fn count_caps_per_day_week_month_year_and_lifetime() {
    for (period, name) in [
        (CapPeriod::Day, "day"),
        (CapPeriod::Week, "week"),
        (CapPeriod::Month, "month"),
        (CapPeriod::Year, "year"),
        (CapPeriod::Lifetime, "lifetime"),
    ] {
        let c = capped(json!([{"period": name, "count": 2}]), None);
        let at = monday_afternoon();
        let e = run_at(
            std::slice::from_ref(&c),
            &purchase(),
            &customer(),
            at,
            &used(period, 1, 100, 0),
        );
        assert_eq!(e.points, 100, "{name}: one use left");
        assert_eq!(e.campaigns[0].cap_periods, vec![period]);
        let e = run_at(&[c], &purchase(), &customer(), at, &used(period, 2, 200, 0));
        assert_eq!(e.points, 0, "{name}: used up");
        assert!(
            e.skipped[0].reason.starts_with("cap reached"),
            "{:?}",
            e.skipped
        );
    }
}

/// A rule that gives a purchase nothing has not fired: a once-a-day bonus on bread is not
/// used up by a purchase with no bread in it (found by the third business review: every
/// customer who bought anything that day was locked out of the bonus).
#[test]
fn a_rule_that_gives_nothing_does_not_use_a_count_cap() {
    let bread = campaign(
        "c",
        json!({"name": "c", "caps": [{"period": "day", "count": 1}]}),
        vec![json!({"name": "bread", "effects": [
            {"type": "points_per_amount", "points": 10, "per_minor": 10_000, "categories": ["bread"]}]})],
    );
    let at = monday_afternoon();
    let milk = run_at(
        std::slice::from_ref(&bread),
        &purchase(),
        &customer(),
        at,
        &HashMap::new(),
    );
    assert!(
        milk.fired.is_empty() && milk.campaigns.is_empty(),
        "{:?}",
        milk.fired
    );
    assert_eq!(milk.skipped[0].reason, "gives nothing to this purchase");
    let mut with_bread = purchase();
    with_bread.items.push(item("loaf", "bread", 1, 100_000));
    let e = run_at(&[bread], &with_bread, &customer(), at, &HashMap::new());
    assert_eq!((e.points, e.campaigns.len()), (100, 1));
}

#[test]
fn point_caps_cut_the_award_to_what_is_left() {
    let c = capped(json!([{"period": "day", "points": 150}]), None);
    let e = run_at(
        std::slice::from_ref(&c),
        &purchase(),
        &customer(),
        monday_afternoon(),
        &used(CapPeriod::Day, 1, 100, 0),
    );
    assert_eq!(e.points, 50);
    lines_add_up(&e);
    let e = run_at(
        &[c],
        &purchase(),
        &customer(),
        monday_afternoon(),
        &used(CapPeriod::Day, 2, 150, 0),
    );
    assert_eq!(e.points, 0);
}

#[test]
fn the_budget_cuts_and_then_stops_the_campaign() {
    let c = capped(json!([]), Some(1000));
    let e = run_at(
        std::slice::from_ref(&c),
        &purchase(),
        &customer(),
        monday_afternoon(),
        &used(CapPeriod::Day, 0, 0, 960),
    );
    assert_eq!(e.points, 40);
    assert!(e.campaigns[0].has_budget);
    let e = run_at(
        &[c],
        &purchase(),
        &customer(),
        monday_afternoon(),
        &used(CapPeriod::Day, 0, 0, 1000),
    );
    assert_eq!(e.points, 0);
    assert_eq!(e.skipped[0].reason, "budget spent");
}

#[test]
fn a_capped_out_exclusive_campaign_lets_lower_ones_fire() {
    let mut excl = capped(json!([{"period": "day", "count": 1}]), None);
    excl.def.stacking = Stacking::Exclusive;
    excl.def.priority = 10;
    let low = simple(
        "low",
        0,
        "additive",
        json!([{"type": "fixed_bonus", "points": 5}]),
    );
    let e = run_at(
        &[excl, low],
        &purchase(),
        &customer(),
        monday_afternoon(),
        &used(CapPeriod::Day, 1, 100, 0),
    );
    assert_eq!(e.points, 5);
}

#[test]
fn cap_period_keys_follow_the_program_calendar_and_a_saturday_week() {
    let monday = jiff::civil::date(2026, 11, 23);
    assert_eq!(
        CapPeriod::Day.key(monday, CalendarKind::Jalali),
        "d2026-11-23"
    );
    assert_eq!(
        CapPeriod::Week.key(monday, CalendarKind::Jalali),
        "w2026-11-21"
    );
    assert_eq!(
        CapPeriod::Week.key(jiff::civil::date(2026, 11, 27), CalendarKind::Jalali),
        "w2026-11-21",
        "Friday ends the week"
    );
    assert_eq!(
        CapPeriod::Week.key(jiff::civil::date(2026, 11, 28), CalendarKind::Jalali),
        "w2026-11-28",
        "Saturday starts one"
    );
    assert_eq!(
        CapPeriod::Month.key(monday, CalendarKind::Jalali),
        "jm1405-09"
    );
    assert_eq!(
        CapPeriod::Month.key(monday, CalendarKind::Gregorian),
        "m2026-11"
    );
    assert_eq!(CapPeriod::Year.key(monday, CalendarKind::Jalali), "jy1405");
    assert_eq!(
        CapPeriod::Year.key(jiff::civil::date(2027, 3, 21), CalendarKind::Jalali),
        "jy1406",
        "Nowruz"
    );
    assert_eq!(
        CapPeriod::Lifetime.key(monday, CalendarKind::Gregorian),
        "life"
    );
}

// ---- events ----

#[test]
fn event_rules_fire_on_their_event_only() {
    let c = campaign(
        "c",
        json!({"name": "activity"}),
        vec![
            json!({"name": "profile", "trigger": {"on": "event", "name": "profile_completed"},
                   "effects": [{"type": "fixed_bonus", "points": 10}]}),
            json!({"name": "birthday", "trigger": {"on": "event", "name": "birthday"},
                   "condition": "customer.birthday_today", "effects": [{"type": "fixed_bonus", "points": 20}]}),
        ],
    );
    let tz = tehran();
    let cust = customer();
    let ev = |name: &str| EventFacts {
        name: name.into(),
        attributes: Default::default(),
    };
    let eval = |name: &str| {
        let e = ev(name);
        evaluate(
            std::slice::from_ref(&c),
            &EvalInput {
                purchase: None,
                event: Some(&e),
                customer: &cust,
                at: monday_afternoon(),
                tz: &tz,
                calendar: CalendarKind::Jalali,
            },
            &HashMap::new(),
        )
        .points
    };
    assert_eq!(eval("profile_completed"), 10);
    assert_eq!(eval("birthday"), 20);
    assert_eq!(eval("review"), 0);
    assert_eq!(
        run(std::slice::from_ref(&c)).points,
        0,
        "a purchase fires no event rule"
    );
}

// ---- validation ----

fn compile_err(cond: &str) -> String {
    let r: RuleDef = serde_json::from_value(json!({"name": "r", "condition": cond,
        "effects": [{"type": "fixed_bonus", "points": 1}]}))
    .unwrap();
    let e = r.validate("").unwrap_err();
    assert_eq!(e.0[0].field, "condition");
    e.0[0].message.clone()
}

#[test]
fn cel_errors_name_line_column_and_problem() {
    let m = compile_err("purchase.total >");
    assert!(m.starts_with("line 1, column "), "{m}");
    // After Persian text the column still counts characters (the parser counts bytes).
    let m = compile_err("'تهران' == customer.cty");
    assert!(m.starts_with("line 1, column 20:"), "{m}");
    // A syntax error points at the character at fault.
    let m = compile_err("purchase.total > )");
    assert!(m.starts_with("line 1, column 18:"), "{m}");
    let m = compile_err("purchase.totl > 5");
    assert!(
        m.starts_with("line 1, column 9:") && m.contains("no field `totl`"),
        "{m}"
    );
    let m = compile_err("purchase.total > 5 &&\n  custmer.age > 3");
    assert!(
        m.starts_with("line 2, column 3:") && m.contains("unknown name `custmer`"),
        "{m}"
    );
    let m = compile_err("purchase.total + 1");
    assert!(m.contains("must be true or false"), "{m}");
    let m = compile_err("purchase.total > 'abc'");
    assert!(m.contains("type error"), "{m}");
    let m = compile_err("event.name == 'x'");
    assert!(m.contains("unknown name `event`"), "{m}");
    let m = compile_err(&format!("{}true{}", "(".repeat(40), ")".repeat(40)));
    assert!(m.contains("nest"), "{m}");
    // Work, not only size: loops three deep over written lists, or a loop over a long
    // written list, are refused; two levels over the purchase's items are fine.
    let list = format!(
        "[{}]",
        (0..50).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
    let short = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]";
    let m = compile_err(&format!(
        "{short}.all(a, {short}.all(b, {short}.all(c, true)))"
    ));
    assert!(m.contains("nest at most 2"), "{m}");
    let m = compile_err(&format!("{list}.exists(a, a == 3)"));
    assert!(m.contains("at most 20 values"), "{m}");
    // Nor by adding written lists, or wrapping one.
    let m = compile_err(&format!("({short} + {short} + {short}).exists(a, a == 3)"));
    assert!(m.contains("at most 20 values"), "{m}");
    let m = compile_err(&format!("[{list}][0].exists(a, a == 3)"));
    assert!(m.contains("at most 20 values"), "{m}");
    let ok: RuleDef = serde_json::from_value(json!({"name": "r",
        "condition": "purchase.items.exists(i, purchase.items.exists(j, i.sku == j.sku && i.category != j.category)) || purchase.store in ['a', 'b']",
        "effects": [{"type": "fixed_bonus", "points": 1}]}))
    .unwrap();
    assert!(ok.validate("").is_ok());
}

#[test]
fn effects_are_validated_with_field_names() {
    let r: RuleDef = serde_json::from_value(json!({"name": "r", "effects": [
        {"type": "points_per_amount", "points": 1, "per_minor": 0},
        {"type": "multiplier", "factor": "0.5"},
        {"type": "item_bonus", "points_per_unit": 3}
    ]}))
    .unwrap();
    let e = r.validate("").unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        vec!["effects[0].per_minor", "effects[1].factor", "effects[2]"]
    );
    assert!(serde_json::from_value::<RuleDef>(
        json!({"name": "r", "effects": [{"type": "teleport"}]})
    )
    .is_err());
}

#[test]
fn campaign_caps_need_exactly_one_limit() {
    let d: CampaignDef = serde_json::from_value(json!({"name": "c",
        "caps": [{"period": "day"}, {"period": "week", "count": 0}, {"period": "month", "count": 1, "points": 5}]}))
    .unwrap();
    let e = d.validate().unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, vec!["caps[0]", "caps[1].count", "caps[2]"]);
}
