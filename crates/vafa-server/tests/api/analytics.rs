//! Analytics over HTTP: Pareto on a hand-computed fixture, CLV models fitted on stored
//! purchases, churn-risk ordering.

use crate::helpers::{customer, each_app, TestApp};
use serde_json::json;
use vafa_store::{Actor, Ctx, CustomerRef, NewPurchase};

async fn buy(app: &TestApp, customer_id: &str, at: &str, total: i64) {
    let ctx = Ctx {
        program_id: app.program_id.clone(),
        actor: Actor::Cli,
        now: crate::helpers::start_time(),
    };
    let p = NewPurchase {
        customer: CustomerRef::Id(customer_id.into()),
        store: None,
        channel: None,
        external_id: None,
        lines: Vec::new(),
        total_minor: total,
        occurred_at: at.parse().unwrap(),
        coupons: Vec::new(),
        checkout: None,
    };
    app.store.post_purchase(&ctx, &p, None).await.unwrap();
}

#[tokio::test]
async fn pareto_of_a_small_shop() {
    each_app(|app| async move {
        let mut ids = Vec::new();
        for i in 0..5 {
            let c = app
                .create_customer(customer("P", &format!("0913000000{i}")))
                .await;
            ids.push(c["id"].as_str().unwrap().to_owned());
        }
        // Revenue 600, 200, 100, 60, 40 = 1000; the first two buy twice.
        buy(&app, &ids[0], "2026-10-01T08:00:00Z", 400).await;
        buy(&app, &ids[0], "2026-10-05T08:00:00Z", 200).await;
        buy(&app, &ids[1], "2026-10-02T08:00:00Z", 150).await;
        buy(&app, &ids[1], "2026-10-09T08:00:00Z", 50).await;
        buy(&app, &ids[2], "2026-10-03T08:00:00Z", 100).await;
        buy(&app, &ids[3], "2026-10-04T08:00:00Z", 60).await;
        buy(&app, &ids[4], "2026-10-04T09:00:00Z", 40).await;
        buy(&app, &ids[4], "2025-01-01T09:00:00Z", 9999).await; // before the period
        let p = app
            .get("/api/v1/analytics/pareto?from=2026-10-01&to=2026-10-31")
            .await
            .ok(200)
            .clone();
        assert_eq!(p["customers"], 5, "{}: {p}", app.backend);
        assert_eq!(p["revenue"], json!({"amount": "1000", "currency": "IRR"}));
        assert_eq!(
            p["top_20_revenue_percent"], 60.0,
            "one customer of five brings 600"
        );
        assert_eq!(p["customers_for_80_percent"], 40.0);
        assert_eq!(
            (
                p["repeat_customers"].as_i64(),
                p["repeat_revenue_percent"].as_f64()
            ),
            (Some(2), Some(80.0))
        );
        assert_eq!(p["curve"].as_array().unwrap().len(), 101);
        app.get("/api/v1/analytics/pareto?from=2026-11-01&to=2026-10-01")
            .await
            .problem(422, "validation_failed");
        // A day past the calendar's end names the parameter that gave it.
        let far = app.get("/api/v1/analytics/pareto?to=9999-12-31").await;
        assert_eq!(far.problem(422, "validation_failed")["field"], "to");
    })
    .await;
}

#[tokio::test]
async fn clv_models_are_fitted_on_stored_purchases() {
    each_app(|app| async move {
        app.get("/api/v1/analytics/clv/model").await.problem(422, "validation_failed");
        // 30 customers: 10 buy weekly all along, 10 bought weekly then stopped, 10 once.
        let mut ids = Vec::new();
        for i in 0..30 {
            let c = app.create_customer(customer("C", &format!("091400000{i:02}"))).await;
            ids.push(c["id"].as_str().unwrap().to_owned());
        }
        let day = |d: i64| (jiff::Timestamp::from_second(1_780_000_000).unwrap() + jiff::SignedDuration::from_hours(24 * d)).to_string();
        for (i, id) in ids.iter().enumerate() {
            match i / 10 {
                0 => for w in 0..10 { buy(&app, id, &day(w * 7 + i as i64), 100_000 + 1000 * i as i64).await },
                1 => for w in 0..5 { buy(&app, id, &day(w * 7 + i as i64), 80_000 + 1000 * i as i64).await },
                _ => buy(&app, id, &day(i as i64), 50_000).await,
            }
        }
        let model = app.get("/api/v1/analytics/clv/model?calibration_end=2026-08-31&time_unit=day").await.ok(200).clone();
        assert_eq!(model["customers"], 30, "{}: {model}", app.backend);
        assert_eq!(model["repeat_customers"], 20);
        for k in ["r", "alpha", "a", "b"] {
            let v = model["bgnbd"][k].as_f64().unwrap();
            assert!(v.is_finite() && v > 0.0, "{k} = {v}");
        }
        assert!(model["bgnbd"]["log_likelihood"].as_f64().unwrap() < 0.0);
        assert!(model["gamma_gamma"]["p"].as_f64().unwrap() > 0.0, "{model}");

        let risk = app.get("/api/v1/analytics/clv/customers?calibration_end=2026-08-31&order=churn_risk&limit=20").await.ok(200).clone();
        let list = risk["customers"].as_array().unwrap();
        assert_eq!(list.len(), 20, "repeat buyers only");
        let stopped: std::collections::HashSet<&str> = ids[10..20].iter().map(String::as_str).collect();
        for c in &list[..10] {
            assert!(stopped.contains(c["customer_id"].as_str().unwrap()), "those who stopped are at risk first: {risk}");
        }
        let p = |c: &serde_json::Value| c["p_alive"].as_f64().unwrap();
        assert!(p(&list[0]) < p(&list[19]));
        let value = app.get("/api/v1/analytics/clv/customers?calibration_end=2026-08-31&horizon_days=90&limit=5").await.ok(200).clone();
        let first = &value["customers"][0];
        assert!(ids[..10].contains(&first["customer_id"].as_str().unwrap().to_owned()), "a weekly buyer is worth most: {value}");
        let i = ids.iter().position(|x| x == first["customer_id"].as_str().unwrap()).unwrap() as i64;
        assert_eq!(first["historical_value"]["amount"], (10 * (100_000 + 1000 * i)).to_string(), "ten purchases");
        app.get("/api/v1/analytics/clv/customers?order=bogus").await.problem(422, "validation_failed");
    })
    .await;
}

#[tokio::test]
async fn rfm_segments_a_hand_computed_fixture() {
    each_app(|app| async move {
        // (name, purchases, revenue, days before as_of of the last purchase)
        let people = [
            ("best", 5, 9000, 1),
            ("loyal", 4, 7000, 30),
            ("new", 1, 100, 2),
            ("slipping", 3, 8000, 200),
            ("gone", 2, 200, 300),
        ];
        let as_of: jiff::Timestamp = "2026-11-20T08:00:00Z".parse().unwrap();
        let mut ids = std::collections::HashMap::new();
        for (i, (name, n, revenue, last)) in people.iter().enumerate() {
            let c = app
                .create_customer(customer(name, &format!("0915000000{i}")))
                .await;
            let id = c["id"].as_str().unwrap().to_owned();
            for k in 0..*n {
                let amount = revenue / n + if k == 0 { revenue % n } else { 0 };
                let at = as_of - jiff::SignedDuration::from_hours(24 * (last + 5 * k));
                buy(&app, &id, &at.to_string(), amount).await;
            }
            ids.insert(id, *name);
        }
        let r = app
            .get("/api/v1/analytics/rfm?as_of=2026-11-20&window_days=365")
            .await
            .ok(200)
            .clone();
        assert_eq!(r["customers"], 5, "{}: {r}", app.backend);
        let seg: std::collections::HashMap<&str, i64> = r["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["segment"].as_str().unwrap(),
                    s["customers"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(seg.len(), 11);
        for (name, want) in [
            ("champions", 1),
            ("loyal", 1),
            ("promising", 1),
            ("at_risk", 1),
            ("lost", 1),
            ("new", 0),
        ] {
            assert_eq!(seg[name], want, "{name}: {r}");
        }
        assert_eq!(r["grid"][0][4], 1, "R5 FM5: best");
        assert_eq!(r["grid"][4][1], 1, "R1 FM2: gone");
        let champions = r["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["segment"] == "champions")
            .unwrap();
        assert!(
            (champions["revenue_percent"].as_f64().unwrap() - 9000.0 * 100.0 / 24300.0).abs()
                < 1e-9
        );
        let risk = app
            .get("/api/v1/analytics/rfm?as_of=2026-11-20&segment=at_risk")
            .await
            .ok(200)
            .clone();
        let m = &risk["members"][0];
        assert_eq!(ids[m["customer_id"].as_str().unwrap()], "slipping");
        assert_eq!(
            (m["r"].as_i64(), m["f"].as_i64(), m["m"].as_i64()),
            (Some(2), Some(3), Some(4))
        );
        assert_eq!(m["recency_days"], 200);
        // A shorter window leaves out those who have not bought in it.
        let short = app
            .get("/api/v1/analytics/rfm?as_of=2026-11-20&window_days=100")
            .await
            .ok(200)
            .clone();
        assert_eq!(short["customers"], 3);
        app.get("/api/v1/analytics/rfm?segment=vip")
            .await
            .problem(422, "validation_failed");
    })
    .await;
}

#[tokio::test]
async fn kpis_and_cohorts_on_a_hand_computed_fixture() {
    each_app(|app| async move {
        // Day 0 is 2026-10-01. Previous period: days 0–9; the period: days 10–19.
        let sales = [
            ("a", 2, 100),
            ("a", 11, 300),
            ("a", 15, 100),
            ("b", 5, 50),
            ("c", 12, 200),
            ("d", 13, 90),
            ("d", 18, 110),
            ("e", 1, 10),
            ("e", 19, 40),
        ];
        let day0: jiff::Timestamp = "2026-10-01T08:00:00Z".parse().unwrap();
        let mut ids = std::collections::HashMap::new();
        for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let c = app
                .create_customer(customer(name, &format!("0916000000{i}")))
                .await;
            ids.insert(*name, c["id"].as_str().unwrap().to_owned());
        }
        for (who, day, amount) in sales {
            let at = day0 + jiff::SignedDuration::from_hours(24 * day);
            buy(&app, &ids[who], &at.to_string(), amount * 10_000).await;
        }
        let k = app
            .get("/api/v1/analytics/kpis?from=2026-10-11&to=2026-10-20")
            .await
            .ok(200)
            .clone();
        let n = |v: &serde_json::Value| v.as_f64().unwrap();
        assert_eq!(
            (
                k["active_customers"].as_i64(),
                k["new_customers"].as_i64(),
                k["returning_customers"].as_i64()
            ),
            (Some(4), Some(2), Some(2)),
            "{}: {k}",
            app.backend
        );
        assert_eq!(k["purchases"], 6);
        assert_eq!(k["revenue"]["amount"], "8400000");
        assert_eq!(n(&k["repeat_purchase_rate"]), 50.0);
        assert_eq!(n(&k["purchase_frequency"]), 1.5);
        assert_eq!(k["average_order_value"]["amount"], "1400000");
        assert_eq!(k["average_order_value_new"]["amount"], "1333333");
        assert_eq!(k["average_order_value_returning"]["amount"], "1466666");
        assert_eq!(k["previous_active_customers"], 3);
        assert!((n(&k["retention_rate"]) - 200.0 / 3.0).abs() < 1e-9);
        assert!((n(&k["churn_rate"]) - 100.0 / 3.0).abs() < 1e-9);

        // Points: the entries were recorded at the test clock's now (2026-11-23).
        buy(&app, &ids["c"], "2026-11-23T07:00:00Z", 100_000).await;
        app.post(
            &format!("/api/v1/customers/{}/redemptions", ids["a"]),
            json!({"points": 100}),
        )
        .await
        .ok(201);
        // An opening balance granted by hand is adjusted, not issued, and the rates count it.
        app.post(
            &format!("/api/v1/customers/{}/adjustments", ids["b"]),
            json!({"points": 500, "reason": "opening balance"}),
        )
        .await
        .ok(201);
        let nov = app
            .get("/api/v1/analytics/kpis?from=2026-11-01&to=2026-11-30")
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (
                nov["points"]["issued"].as_i64(),
                nov["points"]["redeemed"].as_i64(),
                nov["points"]["expired"].as_i64(),
                nov["points"]["adjusted"].as_i64(),
                nov["points"]["forfeited"].as_i64()
            ),
            (Some(1010), Some(100), Some(0), Some(500), Some(0)),
            "{nov}"
        );
        assert!((n(&nov["points"]["redemption_rate"]) - 100.0 * 100.0 / 1510.0).abs() < 1e-9);
        // The same month asked in Jalali days, in Persian digits: 10 Aban to 9 Azar 1405.
        let jalali = app
            .get("/api/v1/analytics/kpis?from=1405/08/10&to=%DB%B1%DB%B4%DB%B0%DB%B5/%DB%B0%DB%B9/%DB%B0%DB%B9")
            .await
            .ok(200)
            .clone();
        assert_eq!((&jalali["from"], &jalali["to"]), (&json!("2026-11-01"), &json!("2026-11-30")), "{jalali}");
        assert_eq!(jalali["points"], nov["points"]);
        let bad = app.get("/api/v1/analytics/kpis?from=1405/12/30").await;
        assert_eq!(bad.problem(422, "validation_failed")["errors"][0]["field"], "from", "{}", bad.body);
        assert_eq!(n(&nov["points"]["breakage_rate"]), 0.0);
        let buckets: i64 = nov["liability"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["points"].as_i64().unwrap())
            .sum();
        assert_eq!(buckets, 1410, "1010 + 500 − 100");
        assert_eq!(
            nov["liability_total"]["amount"], "141000",
            "1410 points at 100 rials"
        );
        assert_eq!(n(&nov["active_member_percent"]), 20.0, "c of five members");

        let co = app
            .get("/api/v1/analytics/cohorts?to=2026-11-23&months=3")
            .await
            .ok(200)
            .clone();
        assert_eq!(co["calendar"], "jalali");
        assert_eq!(co["cohorts"].as_array().unwrap().len(), 1, "{co}");
        let mehr = &co["cohorts"][0];
        assert_eq!(mehr["month"], "1405-07");
        assert_eq!(mehr["customers"], 5);
        assert_eq!(
            mehr["retention"],
            json!([100.0, 0.0, 20.0]),
            "c came back in Azar"
        );
        app.get("/api/v1/analytics/cohorts?months=0")
            .await
            .problem(422, "validation_failed");
    })
    .await;
}
