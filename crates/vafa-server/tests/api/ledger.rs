//! The ledger over HTTP: purchases, idempotency, redemptions, returns, balances.

use crate::helpers::{customer, each_app, TestApp};
use serde_json::{json, Value};

fn irr(amount: &str) -> Value {
    json!({"amount": amount, "currency": "IRR"})
}

async fn entries(app: &TestApp, customer_id: &str) -> usize {
    let page = app
        .get(&format!("/api/v1/customers/{customer_id}/ledger?limit=200"))
        .await;
    page.ok(200)["items"].as_array().unwrap().len()
}

async fn assert_verified(app: &TestApp) {
    let report = app.store.verify_ledger(None).await.unwrap();
    assert!(
        report.problems.is_empty(),
        "{}: {:?}",
        app.backend,
        report.problems
    );
}

#[tokio::test]
async fn purchases_earn_and_replay_by_key_or_receipt() {
    each_app(|app| async move {
        let c = app.create_customer(customer("Ali", "09121110000")).await;
        let id = c["id"].as_str().unwrap();
        let body = json!({
            "mobile": "۰۹۱۲۱۱۱۰۰۰۰", "store": "Tajrish", "channel": "pos",
            "items": [{"sku": "LATTE", "quantity": 2, "unit_price": irr("50000")}, {"sku": "CAKE", "quantity": 1, "unit_price": irr("25000")}],
            "total": irr("125000")
        });
        let first = app.post_idem("/api/v1/purchases", "till-1-0001", body.clone()).await;
        let p = first.ok(201).clone();
        assert_eq!(p["customer_id"], id, "{}", app.backend);
        assert_eq!(p["points"]["earned"], 12);
        assert_eq!((p["points"]["available"].as_i64(), p["points"]["pending"].as_i64()), (Some(12), Some(0)));
        assert_eq!(p["lines"][0]["points"], 10);
        assert_eq!(p["balance"]["points"]["available"], 12);
        assert_eq!(p["total"], irr("125000"));
        assert!(first.headers.get("idempotent-replayed").is_none());

        let replay = app.post_idem("/api/v1/purchases", "till-1-0001", body.clone()).await;
        assert_eq!(replay.ok(201), &p, "the same answer");
        assert_eq!(replay.headers["idempotent-replayed"], "true");
        let mut other = body.clone();
        other["total"] = irr("1");
        app.post_idem("/api/v1/purchases", "till-1-0001", other).await.problem(409, "idempotency_conflict");
        // Two keys on one request: neither is guessed at.
        let doubled = app
            .client
            .post(format!("{}/api/v1/purchases", app.base))
            .bearer_auth(&app.admin_key)
            .header("idempotency-key", "till-1-0002")
            .header("idempotency-key", "till-1-0003")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(doubled.status().as_u16(), 422);
        let problem: Value = doubled.json().await.unwrap();
        assert_eq!(problem["field"], "Idempotency-Key", "{problem}");
        assert_eq!(entries(&app, id).await, 1, "one entry for three requests");

        // Without a key, the receipt number makes a retry safe.
        let receipt = json!({"customer_id": id, "external_id": "R-77", "total": irr("30000")});
        let a = app.post("/api/v1/purchases", receipt.clone()).await.ok(201).clone();
        let b = app.post("/api/v1/purchases", receipt).await;
        assert_eq!(b.ok(201), &a);
        let clash = json!({"customer_id": id, "external_id": "R-77", "total": irr("99000")});
        let clash = app.post("/api/v1/purchases", clash).await;
        assert_eq!(clash.problem(409, "duplicate_purchase")["field"], "external_id");

        // An unbound bearer card earns for an anonymous holder.
        let cards = app.post("/api/v1/cards", json!({"count": 1})).await;
        let number = cards.ok(201)["cards"][0]["number"].as_str().unwrap().to_owned();
        let anon = app.post("/api/v1/purchases", json!({"card_number": number, "total": irr("40000")})).await;
        let holder = anon.ok(201)["customer_id"].as_str().unwrap().to_owned();
        assert_eq!(app.get(&format!("/api/v1/cards/{number}")).await.ok(200)["customer_id"], holder.as_str());

        let bad = app.post("/api/v1/purchases", json!({"customer_id": id, "mobile": "09121110000", "total": irr("1")})).await;
        assert_eq!(bad.problem(422, "validation_failed")["field"], "customer_id");
        let usd = app.post("/api/v1/purchases", json!({"customer_id": id, "total": {"amount": "1.50", "currency": "USD"}})).await;
        assert_eq!(usd.problem(422, "validation_failed")["field"], "total.currency");
        let future = app.post("/api/v1/purchases", json!({"customer_id": id, "total": irr("1"), "occurred_at": "2030-01-01T00:00:00Z"})).await;
        assert_eq!(future.problem(422, "validation_failed")["field"], "occurred_at");
        let ancient = app.post("/api/v1/purchases", json!({"customer_id": id, "total": irr("1"), "occurred_at": "0001-01-01T00:00:00Z"})).await;
        assert_eq!(ancient.problem(422, "validation_failed")["field"], "occurred_at");
        app.post("/api/v1/purchases", json!({"customer_id": "cus_nope", "total": irr("1")})).await.problem(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn redemptions_returns_and_balance_over_time() {
    each_app(|app| async move {
        app.edit_ledger_settings(|s| {
            s["pending_days"] = json!(3);
            s["cashback_percent"] = json!("1");
        })
        .await;
        let c = app.create_customer(customer("Sara", "09351112222")).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let bought = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "items": [{"sku": "A", "quantity": 3, "unit_price": irr("100000")}], "total": irr("300000")}),
            )
            .await;
        let purchase = bought.ok(201)["id"].as_str().unwrap().to_owned();
        assert_eq!(bought.body["points"]["pending"], 30);
        assert_eq!(bought.body["points"]["available"], 0);
        assert_eq!(bought.body["cashback"], irr("3000"));

        let before = entries(&app, &id).await;
        let broke = app.post(&format!("/api/v1/customers/{id}/redemptions"), json!({"points": 10})).await;
        assert_eq!(broke.problem(422, "insufficient_points")["field"], "points");
        let nobody = app.post("/api/v1/customers/cus_nope/redemptions", json!({"points": 10})).await;
        assert!(nobody.problem(404, "not_found").get("field").is_none(), "{}", nobody.body);
        assert_eq!(entries(&app, &id).await, before, "{}: nothing written", app.backend);

        app.clock.advance(jiff::SignedDuration::from_hours(72));
        let bal = app.get(&format!("/api/v1/customers/{id}/balance")).await;
        assert_eq!(bal.ok(200)["points"]["available"], 30);
        assert_eq!(bal.body["points"]["pending"], 0);
        assert_eq!(bal.body["cashback"], irr("3000"));
        assert_eq!(bal.body["lifetime"]["earned"], 30);
        assert!(bal.body["points"]["expiring_soon"].is_array());

        let spent = app.post_idem(&format!("/api/v1/customers/{id}/redemptions"), "r-1", json!({"points": 25})).await;
        assert_eq!(spent.ok(201)["value"], irr("2500"), "a point is worth 100 rials by default");
        assert_eq!(spent.body["balance"]["points"]["available"], 5);
        let cash = app.post(&format!("/api/v1/customers/{id}/redemptions"), json!({"cashback": irr("5000")})).await;
        assert_eq!(cash.problem(422, "insufficient_cashback")["field"], "cashback.amount");

        let ret = app.post(&format!("/api/v1/purchases/{purchase}/returns"), json!({"items": [{"line": 1, "quantity": 1}]})).await;
        assert_eq!(ret.ok(201)["points_due"], 10);
        assert_eq!(ret.body["points_reversed"], 10);
        assert_eq!(ret.body["points_debt_added"], 5);
        assert_eq!(ret.body["balance"]["points"]["available"], -5);
        let more = app.post(&format!("/api/v1/purchases/{purchase}/returns"), json!({"items": [{"line": 1, "quantity": 3}]})).await;
        assert_eq!(more.problem(422, "return_too_large")["field"], "items[0].quantity");
        let nowhere = app.post(&format!("/api/v1/purchases/{purchase}/returns"), json!({"items": [{"line": 1, "quantity": 1}, {"line": 9, "quantity": 1}]})).await;
        assert_eq!(nowhere.problem(422, "validation_failed")["field"], "items[1].line");
        let too_much = app.post(&format!("/api/v1/purchases/{purchase}/returns"), json!({"amount": irr("300000")})).await;
        assert_eq!(too_much.problem(422, "return_too_large")["field"], "amount.amount");
        let stored = app.get(&format!("/api/v1/purchases/{purchase}")).await;
        assert_eq!(stored.ok(200)["lines"][0]["returned_quantity"], 1);
        assert_eq!(stored.body["lines"][0]["points"], 30);
        assert_eq!(stored.body["returned"], irr("100000"));
        assert_eq!(stored.body["returns"].as_array().unwrap().len(), 1);
        assert_eq!(stored.body["points_reversed"], 10);
        app.get("/api/v1/purchases/pur_nope").await.problem(404, "not_found");

        let adj = app.post(&format!("/api/v1/customers/{id}/adjustments"), json!({"points": 20, "reason": "sorry for the wait"})).await;
        assert_eq!(adj.ok(201)["balance"]["points"]["available"], 15, "the debt is paid first");
        let ledger = app.get(&format!("/api/v1/customers/{id}/ledger")).await;
        let kinds: Vec<_> = ledger.ok(200)["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
        assert_eq!(kinds, ["adjustment", "return", "redemption", "purchase"]);
        assert_eq!(ledger.body["items"][0]["points_balance_after"], 15);
        assert_eq!(ledger.body["items"][0]["explanation"]["reason"], "sorry for the wait");
        let overdrawn = app.post(&format!("/api/v1/customers/{id}/adjustments"), json!({"points": -16, "reason": "correction"})).await;
        assert_eq!(overdrawn.problem(422, "insufficient_points")["field"], "points", "{}", app.backend);

        let selfish = app.post(&format!("/api/v1/customers/{id}/transfers"), json!({"to_customer_id": id, "points": 1})).await;
        assert_eq!(selfish.problem(422, "transfer_refused")["field"], "to_customer_id");
        // Unknown customers are not found before any transfer rule speaks.
        app.post("/api/v1/customers/cus_nope/transfers", json!({"to_customer_id": "cus_nope", "points": 1})).await.problem(404, "not_found");
        assert_verified(&app).await;
    })
    .await;
}

/// "End of month" in a Persian program is the end of the Jalali month: points earned on
/// 2 Azar 1405 expire when 1 Dey begins in Tehran, not on 1 December.
#[tokio::test]
async fn month_ends_are_the_programs_months() {
    each_app(|app| async move {
        app.edit_ledger_settings(|s| {
            s["pending_days"] = json!(0);
            s["expiry"] = json!({"kind": "end_of_month"});
        })
        .await;
        let saved = app
            .get("/api/v1/program/ledger-settings")
            .await
            .ok(200)
            .clone();
        assert_eq!(
            saved["expiry"],
            json!({"kind": "end_of_month", "calendar": "jalali"}),
            "{}",
            app.backend
        );
        let c = app.create_customer(customer("Dena", "09121113344")).await;
        let id = c["id"].as_str().unwrap().to_owned();
        app.post(
            "/api/v1/purchases",
            json!({"customer_id": id, "total": irr("200000")}),
        )
        .await
        .ok(201);
        let bal = app
            .get(&format!("/api/v1/customers/{id}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            bal["points"]["expiring_soon"][0]["at"], "2026-12-21T20:30:00Z",
            "{}: {bal}",
            app.backend
        );
        // A program may still choose Gregorian months.
        app.edit_ledger_settings(|s| {
            s["expiry"] = json!({"kind": "end_of_month", "calendar": "gregorian"});
        })
        .await;
        app.post(
            "/api/v1/purchases",
            json!({"customer_id": id, "total": irr("100000")}),
        )
        .await
        .ok(201);
        let bal = app
            .get(&format!("/api/v1/customers/{id}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            bal["points"]["expiring_soon"][0]["at"], "2026-11-30T20:30:00Z",
            "{bal}"
        );
        assert_verified(&app).await;
    })
    .await;
}

/// Under a return policy that allows no debt, cashback already spent cannot be taken back
/// from the wallet: the store keeps it from the money refund, once, across returns by
/// line (found by the business review: buy, spend the cashback, return, repeat paid out
/// 50,000 rials a round).
#[tokio::test]
async fn spent_cashback_is_kept_from_the_refund_when_no_debt_is_allowed() {
    each_app(|app| async move {
        app.edit_ledger_settings(|s| {
            s["pending_days"] = json!(14);
            s["cashback_percent"] = json!("5");
            s["return_policy"] = json!("within_balance");
        })
        .await;
        let c = app.create_customer(customer("Shirin", "09121113355")).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let p = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "total": irr("1000000"),
                    "items": [{"sku": "A", "quantity": 1, "unit_price": irr("500000")},
                              {"sku": "B", "quantity": 1, "unit_price": irr("500000")}]}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(p["cashback"], irr("50000"), "{}: {p}", app.backend);
        app.post(
            &format!("/api/v1/customers/{id}/redemptions"),
            json!({"cashback": irr("50000")}),
        )
        .await
        .ok(201);
        let path = format!("/api/v1/purchases/{}/returns", p["id"].as_str().unwrap());
        let mut refunds = Vec::new();
        for line in [1, 2] {
            let r = app
                .post(&path, json!({"items": [{"line": line, "quantity": 1}]}))
                .await
                .ok(201)
                .clone();
            assert_eq!(
                (&r["cashback_reversed"], &r["cashback_withheld"]),
                (&irr("0"), &irr("25000")),
                "{}: {r}",
                app.backend
            );
            refunds.push(r["money_refund"].clone());
        }
        assert_eq!(refunds, [irr("475000"), irr("475000")]);
        let detail = app
            .get(&format!("/api/v1/purchases/{}", p["id"].as_str().unwrap()))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            detail["returns"][1]["cashback_withheld"],
            irr("25000"),
            "{detail}"
        );
        let b = app
            .get(&format!("/api/v1/customers/{id}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(b["cashback"], irr("0"), "{b}");
        assert_verified(&app).await;
    })
    .await;
}

/// A sale backdated a week earns points that wait out the whole return window from when
/// it is recorded: a return the next minute takes them back, even under `only_pending`
/// (found by the second business review: they were available at once and kept).
#[tokio::test]
async fn a_backdated_sale_waits_out_the_window_from_its_entry() {
    each_app(|app| async move {
        app.edit_ledger_settings(|s| {
            s["pending_days"] = json!(7);
            s["return_policy"] = json!("only_pending");
        })
        .await;
        let c = app.create_customer(customer("Yasna", "09121113366")).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let p = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "external_id": "BK-2", "total": irr("1000000"),
                    "occurred_at": "2026-11-17T08:00:00Z"}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(
            (&p["points"]["available"], &p["points"]["pending"]),
            (&json!(0), &json!(100)),
            "{}: {p}",
            app.backend
        );
        assert_eq!(p["points"]["available_at"], "2026-11-30T08:00:00Z");
        let r = app
            .post(
                &format!("/api/v1/purchases/{}/returns", p["id"].as_str().unwrap()),
                json!({"amount": irr("1000000")}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(r["points_reversed"], 100, "{r}");
        assert_eq!(r["balance"]["points"]["pending"], 0);
        assert_verified(&app).await;
    })
    .await;
}

/// A cashier records today's and yesterday's sales and events; one dated further back
/// would be judged by the campaigns and caps of its date (a campaign since ended), so it
/// is a manager's correction (found by the second business review).
#[tokio::test]
async fn a_cashier_dates_a_sale_at_most_a_day_back() {
    each_app(|app| async move {
        let cashier = app
            .key(&app.program_id, vafa_core::auth::Role::Cashier)
            .await;
        let c = app.create_customer(customer("Aram", "09121113377")).await;
        let id = c["id"].as_str().unwrap().to_owned();
        // The test clock stands at 2026-11-23T08:00Z.
        let sale = |ext: &str, at: &str| {
            json!({"customer_id": id, "external_id": ext, "total": irr("100000"), "occurred_at": at})
        };
        let old = app
            .call(
                reqwest::Method::POST,
                "/api/v1/purchases",
                &cashier,
                Some(sale("L-1", "2026-11-20T08:00:00Z")),
            )
            .await;
        assert_eq!(
            old.problem(422, "validation_failed")["errors"][0]["field"],
            "occurred_at",
            "{}",
            app.backend
        );
        let event = app
            .call(
                reqwest::Method::POST,
                "/api/v1/events",
                &cashier,
                Some(json!({"customer_id": id, "name": "birthday", "occurred_at": "2026-03-19T08:00:00Z"})),
            )
            .await;
        assert_eq!(
            event.problem(422, "validation_failed")["errors"][0]["field"],
            "occurred_at"
        );
        assert_eq!(entries(&app, &id).await, 0, "nothing written");
        app.call(
            reqwest::Method::POST,
            "/api/v1/purchases",
            &cashier,
            Some(sale("L-2", "2026-11-22T12:00:00Z")),
        )
        .await
        .ok(201);
        // The manager's correction (here the admin's key).
        app.post("/api/v1/purchases", sale("L-1", "2026-11-20T08:00:00Z"))
            .await
            .ok(201);
        assert_verified(&app).await;
    })
    .await;
}

#[tokio::test]
async fn a_return_window_never_outlives_a_point() {
    each_app(|app| async move {
        // Pending for 30 days, expiring 10 days after: counted from the sale, these points
        // would expire before anyone could spend them.
        app.edit_ledger_settings(|s| {
            s["pending_days"] = json!(30);
            s["expiry"] = json!({"kind": "days", "days": 10});
        })
        .await;
        let c = app.create_customer(customer("Nika", "09121113333")).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let sold_at = vafa_server::clock::Clock::now(&*app.clock);
        let bought = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "total": irr("200000")}),
            )
            .await;
        assert_eq!(bought.ok(201)["points"]["pending"], 20, "{}", app.backend);

        let day = jiff::SignedDuration::from_hours(24);
        app.clock.advance(day * 30);
        let bal = app.get(&format!("/api/v1/customers/{id}/balance")).await;
        assert_eq!(
            bal.ok(200)["points"]["available"],
            20,
            "{}: spendable once the window closes",
            app.backend
        );
        let soon = &bal.body["points"]["expiring_soon"][0];
        assert_eq!(soon["points"], 20, "{}", bal.body);
        let expires: jiff::Timestamp = soon["at"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            expires,
            sold_at + day * 40,
            "ten days of life after the thirty pending"
        );

        app.clock.advance(day * 9);
        let bal = app.get(&format!("/api/v1/customers/{id}/balance")).await;
        assert_eq!(bal.ok(200)["points"]["available"], 20);
        app.clock.advance(day * 2);
        let bal = app.get(&format!("/api/v1/customers/{id}/balance")).await;
        assert_eq!(bal.ok(200)["points"]["available"], 0, "{}", bal.body);
        assert_verified(&app).await;
    })
    .await;
}

#[tokio::test]
async fn a_runaway_earn_rate_is_refused_not_a_server_error() {
    each_app(|app| async move {
        let path = "/api/v1/program/ledger-settings";
        let mut settings = app.get(path).await.ok(200).clone();
        settings["earn_points"] = json!(2_000_000_000i64);
        let bad = app
            .call(
                axum::http::Method::PUT,
                path,
                &app.admin_key,
                Some(settings),
            )
            .await;
        assert_eq!(
            bad.problem(422, "validation_failed")["field"],
            "earn_points"
        );

        // The most the setting allows, on the smallest unit of money: a large sale would
        // earn 10^22 points, past what one entry may hold. Refused, and nothing written.
        app.edit_ledger_settings(|s| {
            s["earn_points"] = json!(1_000_000_000i64);
            s["earn_per_minor"] = json!(1);
        })
        .await;
        let c = app.create_customer(customer("Omid", "09121114444")).await;
        let id = c["id"].as_str().unwrap().to_owned();
        for _ in 0..2 {
            let huge = app
                .post(
                    "/api/v1/purchases",
                    json!({"customer_id": id, "total": irr("10000000000000")}),
                )
                .await;
            let problem = huge.problem(422, "ledger_limit");
            assert!(
                problem["detail"].as_str().unwrap().contains("earn rate"),
                "{problem}"
            );
        }
        assert_eq!(
            entries(&app, &id).await,
            0,
            "{}: nothing written",
            app.backend
        );
        let fine = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "total": irr("1000")}),
            )
            .await;
        assert_eq!(fine.ok(201)["points"]["earned"], 1_000_000_000_000i64);

        // A reason of joiners and direction marks alone says nothing.
        let silent = app
            .post(
                &format!("/api/v1/customers/{id}/adjustments"),
                json!({"points": 5, "reason": "\u{200C}\u{200F} \u{200E}"}),
            )
            .await;
        assert_eq!(silent.problem(422, "validation_failed")["field"], "reason");
        assert_eq!(entries(&app, &id).await, 1);
        assert_verified(&app).await;
    })
    .await;
}

#[tokio::test]
async fn a_refused_transfer_names_the_field_at_fault() {
    each_app(|app| async move {
        app.edit_ledger_settings(|s| {
            s["transfers_enabled"] = json!(true);
            s["transfer_max_points"] = json!(50);
        })
        .await;
        let a = app.create_customer(customer("Arash", "09121115555")).await;
        let b = app.create_customer(customer("Bita", "09121116666")).await;
        let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        app.post(
            "/api/v1/purchases",
            json!({"customer_id": a, "total": irr("300000")}),
        )
        .await
        .ok(201);
        let path = format!("/api/v1/customers/{a}/transfers");
        let over = app
            .post(&path, json!({"to_customer_id": b, "points": 60}))
            .await;
        assert_eq!(
            over.problem(422, "transfer_refused")["field"],
            "points",
            "{}",
            app.backend
        );
        let short = app
            .post(&path, json!({"to_customer_id": b, "points": 40}))
            .await;
        assert_eq!(short.problem(422, "insufficient_points")["field"], "points");
        let sent = app
            .post(&path, json!({"to_customer_id": b, "points": 20}))
            .await;
        assert_eq!(sent.ok(201)["balance"]["points"]["available"], 10);
        assert_verified(&app).await;
    })
    .await;
}

async fn november_points(app: &TestApp) -> Value {
    app.get("/api/v1/analytics/kpis?from=2026-11-01&to=2026-11-30")
        .await
        .ok(200)["points"]
        .clone()
}

/// Erasure forfeits what a record holds, once: a later return of its purchase gives the
/// money back but takes nothing more from the record (it had put the record 500 points in
/// debt and 100,000 rials below zero, with the KPIs counting the points as forfeited and
/// reversed both); and a debt written off on erasure is not counted as forfeited value.
#[tokio::test]
async fn an_erased_record_forfeits_once_and_its_returns_take_nothing_more() {
    each_app(|app| async move {
        app.edit_ledger_settings(|s| {
            s["pending_days"] = json!(7);
            s["cashback_percent"] = json!("2");
        })
        .await;
        let a = app.create_customer(customer("Erased", "09351110001")).await;
        let a = a["id"].as_str().unwrap().to_owned();
        let sale = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": a, "total": irr("5000000")}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(
            (
                sale["points"]["pending"].as_i64(),
                sale["cashback"]["amount"].as_str()
            ),
            (Some(500), Some("100000")),
            "{sale}"
        );
        app.delete(&format!("/api/v1/customers/{a}")).await.ok(200);
        assert_eq!(november_points(&app).await["forfeited"], 500);
        let back = app
            .post(
                &format!("/api/v1/purchases/{}/returns", sale["id"].as_str().unwrap()),
                json!({"amount": irr("5000000")}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(
            (
                back["points_reversed"].as_i64(),
                back["points_debt_added"].as_i64(),
                back["cashback_reversed"]["amount"].as_str(),
                back["money_refund"]["amount"].as_str()
            ),
            (Some(0), Some(0), Some("0"), Some("5000000")),
            "{}: {back}",
            app.backend
        );
        let bal = app
            .get(&format!("/api/v1/customers/{a}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (
                bal["points"]["debt"].as_i64(),
                bal["cashback"]["amount"].as_str()
            ),
            (Some(0), Some("0")),
            "{bal}"
        );
        // Whole: the return is recorded all the same; a second one is too large.
        app.post(
            &format!("/api/v1/purchases/{}/returns", sale["id"].as_str().unwrap()),
            json!({"amount": irr("1")}),
        )
        .await
        .problem(422, "return_too_large");

        // A customer in debt (spent, then returned) erased: the debt is written off, not
        // counted as forfeited, and their lifetime figures stay whole numbers of the past.
        let b = app.create_customer(customer("Owing", "09351110002")).await;
        let b = b["id"].as_str().unwrap().to_owned();
        app.edit_ledger_settings(|s| s["pending_days"] = json!(0))
            .await;
        let sale = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": b, "total": irr("1000000")}),
            )
            .await
            .ok(201)
            .clone();
        app.post(
            &format!("/api/v1/customers/{b}/redemptions"),
            json!({"points": 100}),
        )
        .await
        .ok(201);
        let back = app
            .post(
                &format!("/api/v1/purchases/{}/returns", sale["id"].as_str().unwrap()),
                json!({"amount": irr("1000000")}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(back["points_debt_added"], 100, "{back}");
        app.delete(&format!("/api/v1/customers/{b}")).await.ok(200);
        assert_eq!(
            november_points(&app).await["forfeited"],
            500,
            "only what was taken from the first"
        );
        let bal = app
            .get(&format!("/api/v1/customers/{b}/balance"))
            .await
            .ok(200)
            .clone();
        let life = &bal["lifetime"];
        assert_eq!(
            (
                bal["points"]["debt"].as_i64(),
                life["expired"].as_i64(),
                life["returned"].as_i64()
            ),
            (Some(0), Some(0), Some(0)),
            "{}: {bal}",
            app.backend
        );
        assert_verified(&app).await;
    })
    .await;
}
