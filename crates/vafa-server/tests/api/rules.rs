//! Campaigns and rules over HTTP: validation with positions, versions, simulate equal to
//! the purchase, events with per-period caps, budgets under concurrency, backtest.

use crate::helpers::{customer, each_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

fn irr(amount: &str) -> Value {
    json!({"amount": amount, "currency": "IRR"})
}

async fn put(app: &TestApp, path: &str, body: Value) -> crate::helpers::Resp {
    app.call(Method::PUT, path, &app.admin_key, Some(body))
        .await
}

fn cafe_purchase(customer_id: &str) -> Value {
    json!({
        "customer_id": customer_id, "store": "vanak", "channel": "pos",
        "items": [
            {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": irr("30000")},
            {"sku": "CAKE", "category": "pastry", "quantity": 1, "unit_price": irr("40000")}
        ],
        "total": irr("100000")
    })
}

#[tokio::test]
async fn simulate_says_what_the_purchase_then_posts_with_rule_versions() {
    each_app(|app| async move {
        let c = app.create_customer(customer("Sara", "09121234567")).await;
        let id = c["id"].as_str().unwrap();
        let campaign = app
            .post(
                "/api/v1/campaigns",
                json!({
                    "campaign": {"name": "Coffee week", "priority": 10, "caps": [{"period": "day", "count": 5}]},
                    "rules": [
                        {"name": "double coffee", "condition": "purchase.items.exists(i, i.category == 'coffee')",
                         "effects": [{"type": "multiplier", "factor": "2"}]},
                        {"name": "cake bonus", "effects": [{"type": "item_bonus", "points_per_unit": 3, "categories": ["pastry"]},
                                                          {"type": "cashback_percent", "percent": "1"}]},
                        {"name": "big basket", "condition": "purchase.total >= 5000000", "effects": [{"type": "fixed_bonus", "points": 100}]}
                    ]
                }),
            )
            .await;
        let campaign = campaign.ok(201).clone();
        assert_eq!(campaign["rules"].as_array().unwrap().len(), 3, "{}", app.backend);

        let sim = app.post("/api/v1/rules/simulate", cafe_purchase(id)).await.ok(200).clone();
        // Base 10 points (1 per 10,000), ×2 adds 10, cake +3; cashback 1% of 100,000.
        assert_eq!(sim["points"], 23, "{sim}");
        assert_eq!(sim["cashback"], irr("1000"));
        let fired: Vec<&str> = sim["rules"].as_array().unwrap().iter().map(|r| r["rule_name"].as_str().unwrap()).collect();
        assert_eq!(fired, vec!["double coffee", "cake bonus", "Base earning"]);
        assert!(sim["skipped"].as_array().unwrap().iter().any(|s| s["reason"] == "condition is false"));

        let posted = app.post("/api/v1/purchases", cafe_purchase(id)).await.ok(201).clone();
        assert_eq!(posted["points"]["earned"], sim["points"]);
        assert_eq!(posted["cashback"], sim["cashback"]);
        assert_eq!(posted["rules"], sim["rules"], "simulate equals what was posted");
        assert_eq!(posted["lines"][0]["points"].as_i64().unwrap() + posted["lines"][1]["points"].as_i64().unwrap(), 23);
        assert!(posted["rules"].as_array().unwrap().iter().all(|r| r["rule_version"].as_i64().unwrap() >= 1));

        // Editing a rule makes a new version; the next purchase records it.
        let rule_id = campaign["rules"][1]["id"].as_str().unwrap();
        let edited = put(&app, &format!("/api/v1/rules/{rule_id}"),
            json!({"name": "cake bonus", "effects": [{"type": "item_bonus", "points_per_unit": 5, "categories": ["pastry"]}]})).await;
        assert_eq!(edited.ok(200)["version"], 2);
        let history = app.get(&format!("/api/v1/rules/{rule_id}")).await.ok(200).clone();
        let versions: Vec<i64> = history["versions"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
        assert_eq!(versions, vec![2, 1]);
        assert_eq!(history["versions"][1]["definition"]["effects"][0]["points_per_unit"], 3, "the old version is kept");
        let again = app.post("/api/v1/purchases", cafe_purchase(id)).await.ok(201).clone();
        let cake = again["rules"].as_array().unwrap().iter().find(|r| r["rule_id"] == rule_id).unwrap();
        assert_eq!((cake["rule_version"].as_i64(), cake["points"].as_i64()), (Some(2), Some(5)));

        // Retiring a rule stops it.
        app.delete(&format!("/api/v1/rules/{rule_id}")).await.ok(200);
        let after = app.post("/api/v1/rules/simulate", cafe_purchase(id)).await.ok(200).clone();
        assert_eq!(after["points"], 20);

        // Pausing the campaign leaves only the base rule.
        let mut def = campaign["definition"].clone();
        def["status"] = json!("paused");
        assert_eq!(put(&app, &format!("/api/v1/campaigns/{}", campaign["id"].as_str().unwrap()), def).await.ok(200)["version"], 2);
        assert_eq!(app.post("/api/v1/rules/simulate", cafe_purchase(id)).await.ok(200)["points"], 10);
    })
    .await;
}

#[tokio::test]
async fn a_bad_condition_is_refused_with_its_position_and_nothing_is_written() {
    each_app(|app| async move {
        let cases = [
            ("purchase.totl > 5", "rules[0].condition", "line 1, column 9"),
            ("purchase.total >", "rules[0].condition", "line 1, column"),
            ("purchase.total > 'x'", "rules[0].condition", "type error"),
            ("purchase.total", "rules[0].condition", "must be true or false"),
        ];
        for (cond, field, message) in cases {
            let r = app
                .post("/api/v1/campaigns", json!({"campaign": {"name": "x"}, "rules": [{"name": "r", "condition": cond, "effects": [{"type": "fixed_bonus", "points": 1}]}]}))
                .await;
            let body = r.problem(422, "validation_failed");
            assert_eq!(body["errors"][0]["field"], field, "{body}");
            assert!(body["errors"][0]["message"].as_str().unwrap().contains(message), "{cond}: {body}");
        }
        let r = app.post("/api/v1/campaigns", json!({"campaign": {"name": "x", "audience": "customer.agee > 3"}})).await;
        assert_eq!(r.problem(422, "validation_failed")["errors"][0]["field"], "campaign.audience");
        let r = app.post("/api/v1/campaigns", json!({"campaign": {"name": "x"}, "rules": [{"name": "r", "effects": [{"type": "teleport"}]}]})).await;
        let body = r.problem(422, "validation_failed");
        assert!(body["errors"][0]["field"].as_str().unwrap().starts_with("rules[0].effects"), "{body}");
        assert_eq!(app.get("/api/v1/campaigns").await.ok(200).as_array().unwrap().len(), 0);
    })
    .await;
}

#[tokio::test]
async fn events_earn_activity_points_within_their_caps() {
    each_app(|app| async move {
        // Born on 2 Azar (23 November): the start time is the birthday in Tehran.
        let mut body = customer("Reza", "09351112233");
        body["birth_date"] = json!("1370/09/02");
        let c = app.create_customer(body).await;
        let id = c["id"].as_str().unwrap();
        app.post(
            "/api/v1/campaigns",
            json!({"campaign": {"name": "Birthday", "caps": [{"period": "year", "count": 1}]},
                   "rules": [{"name": "birthday gift", "trigger": {"on": "event", "name": "birthday"},
                              "condition": "customer.birthday_today", "effects": [{"type": "fixed_bonus", "points": 10}]}]}),
        )
        .await
        .ok(201);
        app.post(
            "/api/v1/campaigns",
            json!({"campaign": {"name": "Profile", "caps": [{"period": "lifetime", "count": 1}]},
                   "rules": [{"name": "profile completed", "trigger": {"on": "event", "name": "profile_completed"},
                              "effects": [{"type": "fixed_bonus", "points": 10}]}]}),
        )
        .await
        .ok(201);
        let first = app.post_idem("/api/v1/events", "bday-1", json!({"customer_id": id, "name": "birthday"})).await;
        let e = first.ok(201).clone();
        assert_eq!(e["points"], 10, "{e}");
        assert_eq!(e["balance"]["points"]["available"], 10);
        let replay = app.post_idem("/api/v1/events", "bday-1", json!({"customer_id": id, "name": "birthday"})).await;
        assert_eq!(replay.ok(201), &e);
        assert_eq!(replay.headers["idempotent-replayed"], "true");
        let second = app.post("/api/v1/events", json!({"customer_id": id, "name": "birthday"})).await.ok(201).clone();
        assert_eq!(second["points"], 0, "once a year");
        assert!(second["entry_id"].is_null());

        let p = app.post("/api/v1/events", json!({"mobile": "09351112233", "name": "profile_completed", "external_id": "crm-1"})).await;
        assert_eq!(p.ok(201)["points"], 10);
        let dup = app.post("/api/v1/events", json!({"customer_id": id, "name": "profile_completed", "external_id": "crm-1"})).await;
        assert_eq!(dup.problem(409, "duplicate_event")["field"], "external_id");
        // Before 2000 is refused, as for a purchase: a made-up year is no fresh yearly cap.
        let forged = app.post("/api/v1/events", json!({"customer_id": id, "name": "birthday", "occurred_at": "0001-06-01T00:00:00Z"})).await;
        assert_eq!(forged.problem(422, "validation_failed")["field"], "occurred_at");
        let custom = app.post("/api/v1/events", json!({"customer_id": id, "name": "visited_stand"})).await;
        assert_eq!(custom.ok(201)["points"], 0, "no rule for a custom event");
        app.post("/api/v1/events", json!({"customer_id": id, "name": "Not Snake"}))
            .await
            .problem(422, "validation_failed");
        let bal = app.get(&format!("/api/v1/customers/{id}/balance")).await.ok(200).clone();
        assert_eq!(bal["points"]["available"], 20);
    })
    .await;
}

#[tokio::test]
async fn a_campaign_budget_is_never_overspent_by_concurrent_purchases() {
    each_app(|app| async move {
        let campaign = app
            .post(
                "/api/v1/campaigns",
                json!({"campaign": {"name": "Launch", "budget_points": 100},
                       "rules": [{"name": "launch bonus", "effects": [{"type": "fixed_bonus", "points": 7}]}]}),
            )
            .await
            .ok(201)
            .clone();
        let cid = campaign["id"].as_str().unwrap().to_owned();
        let mut ids = Vec::new();
        for i in 0..30 {
            let c = app.create_customer(customer("C", &format!("0912000{i:04}"))).await;
            ids.push(c["id"].as_str().unwrap().to_owned());
        }
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for id in ids {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                app.post("/api/v1/purchases", json!({"customer_id": id, "total": irr("1000")})).await
            }));
        }
        let mut given = 0;
        for t in tasks {
            let r = t.await.unwrap();
            let body = r.ok(201);
            given += body["rules"].as_array().unwrap().iter().filter(|f| f["campaign_id"] == cid.as_str()).map(|f| f["points"].as_i64().unwrap()).sum::<i64>();
        }
        assert_eq!(given, 100, "14 purchases of 7 and one of 2, on {}", app.backend);
        assert_eq!(app.get(&format!("/api/v1/campaigns/{cid}")).await.ok(200)["budget_used"], 100);
        assert!(app.store.verify_ledger(Some(&app.program_id)).await.unwrap().problems.is_empty());
    })
    .await;
}

#[tokio::test]
async fn backtest_matches_a_hand_computed_fixture() {
    each_app(|app| async move {
        let a = app.create_customer(customer("A", "09120000001")).await;
        let b = app.create_customer(customer("B", "09120000002")).await;
        let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        let buy = |who: &str, at: &str, total: &str, items: Value| json!({"customer_id": who, "total": irr(total), "items": items, "occurred_at": at});
        let coffee = |n: i64, price: &str| json!({"sku": "LATTE", "category": "coffee", "quantity": n, "unit_price": irr(price)});
        let pastry = |price: &str| json!({"sku": "CAKE", "category": "pastry", "quantity": 1, "unit_price": irr(price)});
        for body in [
            buy(a, "2026-11-20T08:00:00Z", "100000", json!([coffee(2, "30000"), pastry("40000")])),
            buy(a, "2026-11-21T08:00:00Z", "50000", json!([coffee(1, "50000")])),
            buy(b, "2026-11-22T08:00:00Z", "200000", json!([pastry("200000")])),
            buy(a, "2026-11-23T07:00:00Z", "10000", json!([])),
        ] {
            app.post("/api/v1/purchases", body).await.ok(201);
        }
        let draft = json!({
            "from": "2026-11-20T00:00:00Z", "to": "2026-11-23T00:00:00Z",
            "campaigns": [
                {"id": "coffee", "campaign": {"name": "Coffee lovers", "priority": 10},
                 "rules": [{"name": "coffee points", "effects": [{"type": "points_per_amount", "points": 1, "per_minor": 5000, "categories": ["coffee"]}]}]},
                {"campaign": {"name": "Welcome", "caps": [{"period": "lifetime", "count": 1}]},
                 "rules": [{"name": "welcome", "effects": [{"type": "fixed_bonus", "points": 5}]}]}
            ]
        });
        let r = app.post("/api/v1/rules/backtest", draft).await.ok(200).clone();
        // Base: 10 + 5 + 20 = 35 issued. Draft: base 35, coffee 60,000/5,000 = 12 and
        // 50,000/5,000 = 10, welcome 5 for each of the two customers once: 67.
        assert_eq!(r["purchases"], 3, "{r}");
        assert_eq!(r["customers"], 2);
        assert_eq!(r["actual"]["points"], 35);
        assert_eq!(r["actual"]["points_cost"], irr("3500"));
        assert_eq!(r["draft"]["points"], 67);
        assert_eq!(r["draft"]["cost"], irr("6700"));
        assert_eq!(r["points_difference"], 32);
        assert_eq!(r["cost_difference"], irr("3200"));
        let by: std::collections::HashMap<&str, (i64, i64, i64)> = r["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["campaign_id"].as_str().unwrap(), (c["draft"]["points"].as_i64().unwrap(), c["draft"]["purchases"].as_i64().unwrap(), c["actual"]["points"].as_i64().unwrap())))
            .collect();
        assert_eq!(by["default"], (35, 3, 35));
        assert_eq!(by["coffee"], (22, 2, 0));
        assert_eq!(by["draft-2"], (10, 2, 0));
        let bad = app.post("/api/v1/rules/backtest", json!({"from": "2026-11-23T00:00:00Z", "to": "2026-11-20T00:00:00Z", "campaigns": []})).await;
        assert_eq!(bad.problem(422, "validation_failed")["errors"][0]["field"], "to");

        // A draft that earns absurdly is what a backtest is for: its totals stop at the
        // largest number (no overflow). Made live, the simulation refuses the purchase as
        // the purchase itself would (ledger_limit).
        let huge = json!({"campaign": {"name": "Typo"},
            "rules": [{"name": "r", "effects": [{"type": "points_per_amount", "points": 1_000_000_000, "per_minor": 1},
                                                 {"type": "multiplier", "factor": "100"}]}]});
        let r = app
            .post("/api/v1/rules/backtest", json!({"from": "2026-11-20T00:00:00Z", "to": "2026-11-23T00:00:00Z", "campaigns": [huge]}))
            .await
            .ok(200)
            .clone();
        assert!(r["draft"]["points"].as_i64().unwrap() > 1_000_000_000_000, "{}: {r}", app.backend);
        app.post("/api/v1/campaigns", huge).await.ok(201);
        let sim = app.post("/api/v1/rules/simulate", buy(a, "2026-11-23T08:00:00Z", "10000", json!([]))).await;
        sim.problem(422, "ledger_limit");
    })
    .await;
}

/// The rules as they are, backtested, give what was given: the draft total is earned
/// under the tier each purchase was made in, and judged on the money paid (it had left
/// out a gold customer's ×2, and earned on points that paid).
#[tokio::test]
async fn an_unchanged_rule_set_backtests_to_no_difference() {
    each_app(|app| async move {
        let ladder = json!({"metric": "spend", "window": {"kind": "lifetime"}, "tiers": [
            {"code": "simple", "name": "Simple", "threshold": 0},
            {"code": "gold", "name": "Gold", "threshold": 1000000, "earn_multiplier": "2"}]});
        app.call(reqwest::Method::PUT, "/api/v1/tiers", &app.admin_key, Some(ladder)).await.ok(200);
        let c = app.create_customer(customer("Golnar", "09120000031")).await;
        let id = c["id"].as_str().unwrap();
        for (total, pay) in [("1000000", false), ("1000000", false), ("500000", true)] {
            let mut body = json!({"customer_id": id, "total": irr(total), "occurred_at": "2026-11-21T08:00:00Z"});
            if pay {
                body["checkout"] = json!({"redeem_points": 50});
            }
            app.post("/api/v1/purchases", body).await.ok(201);
        }
        let r = app
            .post("/api/v1/rules/backtest", json!({"from": "2026-11-20T00:00:00Z", "to": "2026-11-23T00:00:00Z", "campaigns": [], "include_base_rule": true}))
            .await
            .ok(200)
            .clone();
        // 100, then 200 as gold, then (500,000 − 5,000 paid in points) / 10,000 = 49 × 2.
        assert_eq!(r["actual"]["points"], 398, "{}: {r}", app.backend);
        assert_eq!((r["draft"]["points"].as_i64(), r["points_difference"].as_i64()), (Some(398), Some(0)), "{r}");
    })
    .await;
}

#[tokio::test]
async fn a_free_line_keeps_its_own_bonus_until_it_comes_back() {
    each_app(|app| async move {
        let c = app.create_customer(customer("Reza", "09121234500")).await;
        let id = c["id"].as_str().unwrap();
        app.post(
            "/api/v1/campaigns",
            json!({"campaign": {"name": "Gifts"},
                   "rules": [{"name": "gift bonus", "effects": [{"type": "item_bonus", "points_per_unit": 7, "categories": ["gift"]}]}]}),
        )
        .await
        .ok(201);
        let bought = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "total": irr("100000"), "items": [
                    {"sku": "C1", "category": "coffee", "quantity": 1, "unit_price": irr("100000")},
                    {"sku": "G1", "category": "gift", "quantity": 1, "unit_price": irr("0")}]}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(bought["points"]["earned"], 17, "{bought}");
        let pid = bought["id"].as_str().unwrap();
        let returns = format!("/api/v1/purchases/{pid}/returns");
        // All the money back, but the gift is still with the customer: its bonus stays.
        let coffee = app.post(&returns, json!({"items": [{"line": 1, "quantity": 1}]})).await.ok(201).clone();
        assert_eq!(coffee["points_due"], 10, "{coffee}");
        let gift = app.post(&returns, json!({"items": [{"line": 2, "quantity": 1}]})).await.ok(201).clone();
        assert_eq!(gift["points_due"], 7, "{gift}");
        assert_eq!(gift["balance"]["points"]["available"], 0);
    })
    .await;
}

#[tokio::test]
async fn a_survivor_is_one_person_to_campaign_caps_and_last_campaign() {
    each_app(|app| async move {
        let keep = app.create_customer(customer("Keep", "09121230001")).await;
        let dup = app.create_customer(customer("Dup", "09121230002")).await;
        let (keep, dup) = (keep["id"].as_str().unwrap(), dup["id"].as_str().unwrap());
        let welcome = app
            .post(
                "/api/v1/campaigns",
                json!({"campaign": {"name": "Welcome", "caps": [{"period": "lifetime", "count": 1}]},
                       "rules": [{"name": "welcome", "effects": [{"type": "fixed_bonus", "points": 5}]}]}),
            )
            .await
            .ok(201)
            .clone();
        let welcome_id = welcome["id"].as_str().unwrap();
        app.post(
            "/api/v1/campaigns",
            json!({"campaign": {"name": "Comeback"},
                   "rules": [{"name": "after the welcome", "condition": format!("customer.last_campaign == '{welcome_id}'"),
                              "effects": [{"type": "fixed_bonus", "points": 3}]}]}),
        )
        .await
        .ok(201);
        let buy = |id: &str| json!({"customer_id": id, "total": irr("100000")});
        // The duplicate had the welcome: base 10 and 5.
        let mut earlier = buy(dup);
        earlier["occurred_at"] = json!("2026-11-22T08:00:00Z");
        let first = app.post("/api/v1/purchases", earlier).await.ok(201).clone();
        assert_eq!(first["points"]["earned"], 15, "{first}");
        app.post(&format!("/api/v1/customers/{keep}/merge"), json!({"duplicate_id": dup})).await.ok(200);
        // The survivor is the same person: no second welcome, and its last campaign is
        // the duplicate's.
        let next = app.post("/api/v1/purchases", buy(keep)).await.ok(201).clone();
        assert_eq!(next["points"]["earned"], 13, "{}: {next}", app.backend);
        let fired: Vec<&str> = next["rules"].as_array().unwrap().iter().map(|r| r["rule_name"].as_str().unwrap()).collect();
        assert!(fired.contains(&"after the welcome") && !fired.contains(&"welcome"), "{fired:?}");
    })
    .await;
}

/// A rule that gives a reward and coupons: the purchase answers with the claims (free of
/// points, while the stock lasts) and the codes (the next of a unique batch, now the
/// customer's; a shared batch's code); ids the program lacks are refused up front.
#[tokio::test]
async fn rules_give_rewards_and_coupons() {
    each_app(|app| async move {
        let reward = app
            .post(
                "/api/v1/rewards",
                json!({"name": "Free latte", "kind": {"type": "free_product", "sku": "LATTE"},
                "cost_points": 500, "stock": 2}),
            )
            .await
            .ok(201)
            .clone();
        let rid = reward["id"].as_str().unwrap().to_owned();
        let unique = app
            .post(
                "/api/v1/coupon-batches",
                json!({"name": "Thanks", "pattern": "TNX-######", "count": 2,
                "rules": {"discount": {"type": "percent", "percent": "10"}}}),
            )
            .await
            .ok(201)
            .clone();
        let shared = app
            .post(
                "/api/v1/coupon-batches",
                json!({"name": "All", "code": "WELCOME",
                "rules": {"discount": {"type": "percent", "percent": "5"}}}),
            )
            .await
            .ok(201)
            .clone();
        let (uid, sid) = (
            unique["id"].as_str().unwrap().to_owned(),
            shared["id"].as_str().unwrap().to_owned(),
        );
        let campaign = |reward: &str, batch: &str| {
            json!({"campaign": {"name": "Thank you"}, "rules": [{"name": "gifts", "effects": [
                {"type": "issue_reward", "reward": reward, "quantity": 1},
                {"type": "issue_coupon", "batch": batch},
                {"type": "issue_coupon", "batch": sid}]}]})
        };
        let bad = app
            .post("/api/v1/campaigns", campaign("rwd_nope", "cpb_nope"))
            .await;
        let fields: Vec<&str> = bad.problem(422, "validation_failed")["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["rules[0].effects[0].reward", "rules[0].effects[1].batch"],
            "{}",
            app.backend
        );
        app.post("/api/v1/campaigns", campaign(&rid, &uid))
            .await
            .ok(201);

        let c = app.create_customer(customer("Gifted", "09120000077")).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let mut codes = Vec::new();
        let mut claims = Vec::new();
        let mut sales = Vec::new();
        for _ in 0..2 {
            let p = app
                .post(
                    "/api/v1/purchases",
                    json!({"customer_id": id, "total": irr("100000")}),
                )
                .await
                .ok(201)
                .clone();
            sales.push(p["id"].as_str().unwrap().to_owned());
            let r = &p["issued_rewards"][0];
            assert_eq!(
                (
                    r["reward_id"].as_str(),
                    r["claims"].as_array().map(Vec::len)
                ),
                (Some(rid.as_str()), Some(1)),
                "{}: {p}",
                app.backend
            );
            claims.push(r["claims"][0]["claim_id"].as_str().unwrap().to_owned());
            codes.push(p["issued_coupons"][0]["code"].as_str().unwrap().to_owned());
            assert_eq!(p["issued_coupons"][1]["code"], "WELCOME");
        }
        assert!(
            codes[0].starts_with("TNX-") && codes[0] != codes[1],
            "{codes:?}"
        );
        // The third: stock and batch are spent, and the answer says so.
        let p = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "total": irr("100000")}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(p["issued_rewards"][0]["claims"], json!([]), "{p}");
        assert_eq!(
            p["issued_rewards"][0]["short"],
            "the reward is out of stock"
        );
        assert_eq!(
            p["issued_coupons"][0]["short"],
            "the batch has no codes left to give"
        );
        // The claims cost nothing, are the customer's, and cancelling one returns no points.
        let mine = app
            .get(&format!("/api/v1/customers/{id}/rewards"))
            .await
            .ok(200)
            .clone();
        let items = mine["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(
            items
                .iter()
                .all(|c| c["points"] == 0 && c["status"] == "issued"),
            "{mine}"
        );
        let before = app
            .get(&format!("/api/v1/customers/{id}/balance"))
            .await
            .ok(200)["points"]["available"]
            .clone();
        app.post(
            &format!("/api/v1/reward-claims/{}/cancel", claims[0]),
            json!({"reason": "unwanted"}),
        )
        .await
        .ok(200);
        let after = app
            .get(&format!("/api/v1/customers/{id}/balance"))
            .await
            .ok(200)["points"]["available"]
            .clone();
        assert_eq!(before, after);
        // The second purchase back whole: its unused claim is cancelled and its code voided.
        let back = app
            .post(
                &format!("/api/v1/purchases/{}/returns", sales[1]),
                json!({"amount": irr("100000")}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(
            back["withdrawn_claims"],
            json!([claims[1]]),
            "{}: {back}",
            app.backend
        );
        assert_eq!(back["withdrawn_coupons"], json!([codes[1]]));
        let void = app
            .post(
                "/api/v1/coupons/check",
                json!({"code": codes[1], "customer_id": id, "total": irr("100000")}),
            )
            .await;
        void.problem(409, "coupon_used_up");
        // A handed-out code is its customer's: another cannot check it, pay with it at a
        // checkout or redeem it, and nothing is written; its owner still can.
        let other = app
            .create_customer(customer("Stranger", "09120000078"))
            .await;
        let oid = other["id"].as_str().unwrap().to_owned();
        let theirs = app
            .post(
                "/api/v1/coupons/check",
                json!({"code": codes[0], "customer_id": oid, "total": irr("100000")}),
            )
            .await;
        let p = theirs.problem(422, "coupon_not_applicable");
        assert!(
            p["detail"].as_str().unwrap().contains("another customer"),
            "{}: {p}",
            app.backend
        );
        app.post(
            "/api/v1/purchases",
            json!({"customer_id": oid, "external_id": "stranger-1", "total": irr("100000"),
                "coupons": [codes[0]], "checkout": {}}),
        )
        .await
        .problem(422, "coupon_not_applicable");
        app.post(
            "/api/v1/coupons/redeem",
            json!({"code": codes[0], "customer_id": oid, "total": irr("100000")}),
        )
        .await
        .problem(422, "coupon_not_applicable");
        let none = app
            .get(&format!("/api/v1/customers/{oid}/ledger"))
            .await
            .ok(200)
            .clone();
        assert_eq!(none["items"], json!([]), "{none}");
        let mine = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "external_id": "owner-1", "total": irr("100000"),
                    "coupons": [codes[0]], "checkout": {}}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(
            mine["checkout"]["coupons"][0]["discount"]["amount"], "10000",
            "{mine}"
        );
        // The customer's timeline shows what the campaign gave, and what became of it.
        let timeline = app
            .get(&format!("/api/v1/customers/{id}/timeline?limit=100"))
            .await
            .ok(200)
            .clone();
        let given: Vec<(String, String, String, String)> = timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "gift" || i["kind"] == "coupon")
            .map(|i| {
                let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
                (s("kind"), s("title"), s("text"), s("detail"))
            })
            .collect();
        // A claim's code is on its item (claims are listed by id, codes are drawn).
        let code_of = |claim: &str| {
            timeline["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["id"] == claim)
                .and_then(|i| i["text"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        // The owner's sale found stock again (the cancelled and withdrawn claims put it
        // back): a new gift, not used yet.
        let again = mine["issued_rewards"][0]["claims"][0]["claim_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut expect = vec![
            (
                "gift".to_owned(),
                "Free latte".to_owned(),
                code_of(&again),
                "issued".to_owned(),
            ),
            (
                "coupon".to_owned(),
                "Thanks".to_owned(),
                codes[1].clone(),
                "void".to_owned(),
            ),
            (
                "gift".to_owned(),
                "Free latte".to_owned(),
                code_of(&claims[1]),
                "cancelled".to_owned(),
            ),
            (
                "coupon".to_owned(),
                "Thanks".to_owned(),
                codes[0].clone(),
                "used".to_owned(),
            ),
            (
                "gift".to_owned(),
                "Free latte".to_owned(),
                code_of(&claims[0]),
                "cancelled".to_owned(),
            ),
        ];
        let mut got = given.clone();
        got.sort();
        expect.sort();
        assert_eq!(got, expect, "{}: {timeline}", app.backend);
        assert!(given.iter().all(|g| !g.2.is_empty()), "{given:?}");
        assert!(app
            .store
            .verify_ledger(Some(&app.program_id))
            .await
            .unwrap()
            .problems
            .is_empty());
    })
    .await;
}
