//! Tiers over HTTP: the ladder (validation names the field), an upgrade reported by
//! the purchase that causes it, the customer's JSON with progress, overrides guarded by
//! `tiers.manage`, and the evaluation endpoint with a controllable clock.

use crate::helpers::{customer, each_app};
use reqwest::Method;
use serde_json::json;
use vafa_core::auth::Role;

fn ladder() -> serde_json::Value {
    json!({
        "metric": "spend",
        "window": {"kind": "rolling_months", "months": 12},
        "grace_days": 14,
        "tiers": [
            {"code": "simple", "name": "ساده", "name_en": "Simple", "threshold": 0},
            {"code": "silver", "name": "نقره‌ای", "name_en": "Silver", "threshold": 1000000,
             "earn_multiplier": "1.5", "discount_percent": "10", "entry_gift_points": 20},
            {"code": "gold", "name": "طلایی", "name_en": "Gold", "threshold": 5000000,
             "earn_multiplier": "2", "discount_percent": "20"}
        ]
    })
}

#[tokio::test]
async fn tiers_over_http() {
    each_app(|app| async move {
        let admin = app.admin_key.clone();
        app.get("/api/v1/tiers").await.problem(404, "not_found");
        let mut bad = ladder();
        bad["tiers"][2]["threshold"] = json!(500);
        let p = app
            .call(Method::PUT, "/api/v1/tiers", &admin, Some(bad))
            .await;
        let p = p.problem(422, "validation_failed");
        assert_eq!(
            p["errors"][0]["field"], "tiers[2].threshold",
            "{}: {p}",
            app.backend
        );
        app.get("/api/v1/tiers").await.problem(404, "not_found");

        let cashier = app.key(&app.program_id, Role::Cashier).await;
        app.call(Method::PUT, "/api/v1/tiers", &cashier, Some(ladder()))
            .await
            .problem(403, "forbidden");
        app.call(Method::PUT, "/api/v1/tiers", &admin, Some(ladder()))
            .await
            .ok(200);
        assert_eq!(
            app.get("/api/v1/tiers").await.ok(200)["tiers"][1]["earn_multiplier"],
            "1.5"
        );

        let c = app.create_customer(customer("Maryam", "09121112233")).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let view = app
            .get(&format!("/api/v1/customers/{id}"))
            .await
            .ok(200)
            .clone();
        assert_eq!(view["tier"]["tier"]["code"], "simple");
        assert_eq!(view["tier"]["next"]["needed"], 1000000);

        // 1,200,000 rials crosses silver: the purchase says so and posts the gift.
        let buy = |total: i64, ext: &str| {
            json!({
                "customer_id": id, "external_id": ext,
                "total": {"amount": total.to_string(), "currency": "IRR"},
            })
        };
        let p = app
            .post("/api/v1/purchases", buy(1_200_000, "r1"))
            .await
            .ok(201)
            .clone();
        assert_eq!(
            p["tier"], "simple",
            "{}: earned under the old tier",
            app.backend
        );
        assert_eq!(p["points"]["earned"], 120);
        assert_eq!(p["tier_change"]["to_tier"], "silver");
        assert_eq!(p["tier_change"]["gift_points"], 20);
        assert_eq!(p["balance"]["points"]["available"], 140);
        let p = app
            .post("/api/v1/purchases", buy(100_000, "r2"))
            .await
            .ok(201)
            .clone();
        assert_eq!(
            (p["tier"].as_str(), p["points"]["earned"].as_i64()),
            (Some("silver"), Some(15))
        );

        // Simulate answers what the purchase then posts, the multiplier included.
        let sim = app
            .post("/api/v1/rules/simulate", buy(100_000, "r3"))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (sim["tier"].as_str(), sim["points"].as_i64()),
            (Some("silver"), Some(15))
        );
        let t = app
            .get(&format!("/api/v1/customers/{id}/tier"))
            .await
            .ok(200)
            .clone();
        assert_eq!(t["standing"]["qualifying"], 1300000);
        assert_eq!(t["standing"]["next"]["code"], "gold");
        assert_eq!(t["standing"]["next"]["needed"], 3700000);
        assert_eq!(t["standing"]["next"]["progress_percent"], 7.5);
        assert_eq!(t["history"][0]["kind"], "upgrade");

        // Overrides: a cashier may not; a bad tier or an empty reason names the field.
        let path = format!("/api/v1/customers/{id}/tier");
        app.call(
            Method::POST,
            &path,
            &cashier,
            Some(json!({"tier": "gold", "reason": "x"})),
        )
        .await
        .problem(403, "forbidden");
        let p = app
            .post(&path, json!({"tier": "platinum", "reason": "x"}))
            .await;
        assert_eq!(
            p.problem(422, "validation_failed")["errors"][0]["field"],
            "tier"
        );
        let p = app
            .post(&path, json!({"tier": "gold", "reason": " "}))
            .await;
        assert_eq!(
            p.problem(422, "validation_failed")["errors"][0]["field"],
            "reason"
        );
        let o = app
            .post(
                &path,
                json!({"tier": "gold", "reason": "VIP guest of the owner"}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(
            (o["kind"].as_str(), o["from_tier"].as_str()),
            (Some("override"), Some("silver"))
        );

        // Thirteen months on, the evaluation starts the grace and then downgrades.
        app.clock
            .advance(jiff::SignedDuration::from_hours(24 * 400));
        let run = app
            .post("/api/v1/tiers/evaluate", json!(null))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (run["in_grace"].as_i64(), run["downgraded"].as_i64()),
            (Some(1), Some(0)),
            "{}",
            app.backend
        );
        app.clock.advance(jiff::SignedDuration::from_hours(24 * 14));
        let run = app
            .post("/api/v1/tiers/evaluate", json!(null))
            .await
            .ok(200)
            .clone();
        assert_eq!(run["downgraded"], 1);
        let t = app
            .get(&format!("/api/v1/customers/{id}/tier"))
            .await
            .ok(200)
            .clone();
        assert_eq!(t["standing"]["tier"]["code"], "simple");
        assert_eq!(t["history"].as_array().unwrap().len(), 3);

        // Bought past silver and brought back: the gift goes back with the points.
        let other = app.create_customer(customer("Farid", "09121112244")).await;
        let buy_back = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": other["id"], "external_id": "g1",
                       "total": {"amount": "1200000", "currency": "IRR"}}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(buy_back["tier_change"]["gift_points"], 20);
        let path = format!(
            "/api/v1/purchases/{}/returns",
            buy_back["id"].as_str().unwrap()
        );
        let ret = app
            .post(
                &path,
                json!({"amount": {"amount": "1200000", "currency": "IRR"}}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(
            (
                ret["points_reversed"].as_i64(),
                ret["tier_gift_points_reversed"].as_i64()
            ),
            (Some(120), Some(20)),
            "{}: {ret}",
            app.backend
        );
        assert_eq!(ret["balance"]["points"]["available"], 0);

        // A gift the evaluation gave (the threshold lowered under a customer's spend) goes
        // back too when a return leaves the customer below the tier.
        let azar = app.create_customer(customer("Azar", "09121112255")).await;
        let sale = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": azar["id"], "external_id": "g2",
                       "total": {"amount": "900000", "currency": "IRR"}}),
            )
            .await
            .ok(201)
            .clone();
        assert!(sale["tier_change"].is_null(), "{sale}");
        let mut lower = ladder();
        lower["tiers"][1]["threshold"] = json!(800000);
        app.call(Method::PUT, "/api/v1/tiers", &admin, Some(lower))
            .await
            .ok(200);
        let run = app
            .post("/api/v1/tiers/evaluate", json!(null))
            .await
            .ok(200)
            .clone();
        assert_eq!(run["upgraded"], 1, "{}: {run}", app.backend);
        let ret = app
            .post(
                &format!("/api/v1/purchases/{}/returns", sale["id"].as_str().unwrap()),
                json!({"amount": {"amount": "900000", "currency": "IRR"}}),
            )
            .await
            .ok(201)
            .clone();
        assert_eq!(
            (
                ret["points_reversed"].as_i64(),
                ret["tier_gift_points_reversed"].as_i64()
            ),
            (Some(90), Some(20)),
            "{}: {ret}",
            app.backend
        );
        assert_eq!(ret["balance"]["points"]["available"], 0);

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
