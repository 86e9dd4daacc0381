//! The checkout quote over HTTP: tier discount, coupons in order (one refused), points
//! as payment up to the most redeemable, and what the money paid would earn.

use crate::helpers::{customer, each_app};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_quote_stacks_tier_coupons_and_points() {
    each_app(|app| async move {
        let admin = app.admin_key.clone();
        let ladder = json!({"metric": "spend", "window": {"kind": "lifetime"}, "tiers": [
            {"code": "simple", "name": "Simple", "threshold": 0},
            {"code": "silver", "name": "Silver", "threshold": 1000000, "discount_percent": "10", "earn_multiplier": "2", "free_items": ["LATTE"]}]});
        app.call(Method::PUT, "/api/v1/tiers", &admin, Some(ladder)).await.ok(200);
        app.post("/api/v1/coupon-batches", json!({"name": "Y", "code": "YALDA",
            "rules": {"discount": {"type": "amount", "amount_minor": 20000}}})).await.ok(201);
        let c = app.create_customer(customer("Sima", "09361234567")).await;
        let id = c["id"].as_str().unwrap();
        // 1,000,000 makes silver and earns 100 points (1 per 10,000).
        app.post("/api/v1/purchases", json!({"customer_id": id, "total": {"amount": "1000000", "currency": "IRR"}}))
            .await
            .ok(201);

        let q = app
            .post("/api/v1/checkout/quote", json!({"customer_id": id,
                "total": {"amount": "300000", "currency": "IRR"},
                "coupons": ["yalda", "NOPE-1234"], "redeem_points": "max"}))
            .await
            .ok(200)
            .clone();
        assert_eq!(q["tier"], "silver", "{}: {q}", app.backend);
        // 10% of 300,000 = 30,000; YALDA 20,000; 250,000 left; 100 points × 100 = 10,000.
        assert_eq!(q["tier_discount"]["amount"], "30000");
        assert_eq!(q["coupons"][0]["discount"]["amount"], "20000");
        assert_eq!(q["coupons"][1]["refused"], "no such coupon");
        assert_eq!(q["discounted"]["amount"], "250000");
        assert_eq!((q["points_available"].as_i64(), q["max_points_redeemable"].as_i64()), (Some(100), Some(100)));
        assert_eq!(q["points_value"]["amount"], "10000");
        assert_eq!(q["payable"]["amount"], "240000");
        // 240,000 paid earns 24 points, doubled by silver.
        assert_eq!(q["points_earned"], 48);

        let too_many = app
            .post("/api/v1/checkout/quote", json!({"customer_id": id,
                "total": {"amount": "300000", "currency": "IRR"}, "redeem_points": 101}))
            .await;
        assert_eq!(too_many.problem(422, "validation_failed")["errors"][0]["field"], "redeem_points");
        // Nothing was written: the balance and the coupon are as they were.
        let b = app.get(&format!("/api/v1/customers/{id}/balance")).await.ok(200).clone();
        assert_eq!(b["points"]["available"], 100);

        // The purchase with the same cart and options posts exactly the quote.
        let body = json!({"customer_id": id, "external_id": "co-1",
            "total": {"amount": "300000", "currency": "IRR"},
            "coupons": ["yalda"], "checkout": {"redeem_points": "max"}});
        let p = app.post("/api/v1/purchases", body).await.ok(201).clone();
        let co = &p["checkout"];
        assert_eq!(co["tier_discount"], q["tier_discount"], "{}: {p}", app.backend);
        assert_eq!(co["coupons"][0]["discount"], q["coupons"][0]["discount"]);
        assert_eq!(co["points_redeemed"], q["points_redeemed"]);
        assert_eq!(co["points_value"], q["points_value"]);
        assert_eq!(co["paid"], q["payable"]);
        assert_eq!(p["points"]["earned"], q["points_earned"]);
        assert_eq!(p["total"]["amount"], "250000", "the sale after discounts");
        // 100 points spent, 48 earned, in one journal entry.
        assert_eq!(p["balance"]["points"]["available"], 48);
        let ledger = app.get(&format!("/api/v1/customers/{id}/ledger")).await.ok(200).clone();
        let purchases = ledger["items"].as_array().unwrap().iter().filter(|e| e["type"] == "purchase").count();
        assert_eq!(purchases, 2, "{ledger}");
        assert!(app.store.verify_ledger(Some(&app.program_id)).await.unwrap().problems.is_empty());

        // A single-use code already used: the whole purchase is refused, nothing written.
        let batch = app.post("/api/v1/coupon-batches", json!({"name": "One", "pattern": "ONE-######", "count": 1,
            "rules": {"discount": {"type": "percent", "percent": "50"}}})).await.ok(201).clone();
        let csv = app.client.get(format!("{}/api/v1/coupon-batches/{}/codes", app.base, batch["id"].as_str().unwrap()))
            .bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
        let code = csv.lines().nth(1).unwrap().split(',').next().unwrap().to_owned();
        let buy = |ext: &str| json!({"customer_id": id, "external_id": ext,
            "total": {"amount": "100000", "currency": "IRR"}, "coupons": [code], "checkout": {}});
        let first = app.post("/api/v1/purchases", buy("co-2")).await.ok(201).clone();
        assert_eq!(first["checkout"]["coupons"][0]["discount"]["amount"], "45000", "50% after silver's 10%");
        let before = app.get(&format!("/api/v1/customers/{id}/balance")).await.ok(200).clone();
        app.post("/api/v1/purchases", buy("co-3")).await.problem(409, "coupon_used_up");
        let after = app.get(&format!("/api/v1/customers/{id}/balance")).await.ok(200).clone();
        assert_eq!(before["points"], after["points"]);

        // Silver's free latte: one unit off first, then the 10% on what is left.
        let cart = json!({"customer_id": id, "external_id": "co-free",
            "items": [
                {"sku": "LATTE", "quantity": 2, "unit_price": {"amount": "90000", "currency": "IRR"}},
                {"sku": "CAKE", "quantity": 1, "unit_price": {"amount": "120000", "currency": "IRR"}}],
            "total": {"amount": "300000", "currency": "IRR"}});
        let mut quote_body = cart.clone();
        quote_body.as_object_mut().unwrap().remove("external_id");
        let q = app.post("/api/v1/checkout/quote", quote_body).await.ok(200).clone();
        assert_eq!(q["free_items"][0]["discount"]["amount"], "90000", "{q}");
        assert_eq!(q["tier_discount"]["amount"], "21000");
        assert_eq!(q["payable"]["amount"], "189000");
        let mut buy_body = cart;
        buy_body["checkout"] = json!({});
        let p = app.post("/api/v1/purchases", buy_body).await.ok(201).clone();
        assert_eq!(p["checkout"]["free_items"][0]["discount"], q["free_items"][0]["discount"]);
        assert_eq!(p["checkout"]["paid"], q["payable"]);
        assert_eq!(p["points"]["earned"], q["points_earned"]);

        // Every line of a discounted purchase can be returned: the lines carry the sale.
        let ret = app
            .post(&format!("/api/v1/purchases/{}/returns", p["id"].as_str().unwrap()),
                json!({"items": [{"line": 1, "quantity": 2}, {"line": 2, "quantity": 1}]}))
            .await;
        assert_eq!(ret.ok(201)["amount"]["amount"], p["total"]["amount"], "{}", ret.body);

        // Two codes of a batch allowed once per customer, in one purchase: refused whole.
        let batch = app.post("/api/v1/coupon-batches", json!({"name": "Once", "pattern": "ONCE-######", "count": 2,
            "rules": {"discount": {"type": "amount", "amount_minor": 1000}, "max_uses_per_customer": 1}})).await.ok(201).clone();
        let csv = app.client.get(format!("{}/api/v1/coupon-batches/{}/codes", app.base, batch["id"].as_str().unwrap()))
            .bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
        let two: Vec<String> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap().to_owned()).collect();
        app.post("/api/v1/purchases", json!({"customer_id": id, "external_id": "once",
            "total": {"amount": "100000", "currency": "IRR"}, "coupons": two, "checkout": {}}))
            .await
            .problem(422, "coupon_not_applicable");
        let b = app.get(&format!("/api/v1/coupon-batches/{}", batch["id"].as_str().unwrap())).await.ok(200).clone();
        assert_eq!(b["used"], 0, "nothing written");

        // Twenty counters race one fresh single-use code through the purchase: one wins.
        let batch = app.post("/api/v1/coupon-batches", json!({"name": "Race", "pattern": "RACE-######", "count": 1,
            "rules": {"discount": {"type": "amount", "amount_minor": 1000}}})).await.ok(201).clone();
        let csv = app.client.get(format!("{}/api/v1/coupon-batches/{}/codes", app.base, batch["id"].as_str().unwrap()))
            .bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
        let code = csv.lines().nth(1).unwrap().split(',').next().unwrap().to_owned();
        let tries = (0..20).map(|i| {
            let (client, base, key) = (app.client.clone(), app.base.clone(), admin.clone());
            let body = json!({"customer_id": id, "external_id": format!("race-{i}"),
                "total": {"amount": "100000", "currency": "IRR"}, "coupons": [code], "checkout": {}});
            tokio::spawn(async move {
                client.post(format!("{base}/api/v1/purchases")).bearer_auth(key).json(&body).send().await.unwrap().status().as_u16()
            })
        });
        let mut won = 0;
        for t in tries {
            let s = t.await.unwrap();
            assert!(s == 201 || s == 409, "{s}");
            won += usize::from(s == 201);
        }
        assert_eq!(won, 1, "{}", app.backend);
        assert!(app.store.verify_ledger(Some(&app.program_id)).await.unwrap().problems.is_empty());
    })
    .await;
}
