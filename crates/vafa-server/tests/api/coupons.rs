//! Coupons over HTTP: batch validation naming the field, the CSV of codes, check and
//! redeem with their problems, permissions, and a single-use code raced by 50 requests.

use crate::helpers::{customer, each_app};
use reqwest::Method;
use serde_json::json;
use vafa_core::auth::Role;

#[tokio::test]
async fn coupons_over_http() {
    each_app(|app| async move {
        let bad = app
            .post("/api/v1/coupon-batches", json!({"name": "X", "pattern": "AB-12", "count": 5,
                "rules": {"discount": {"type": "percent", "percent": "150"}}}))
            .await;
        let fields: Vec<&str> = bad.problem(422, "validation_failed")["errors"]
            .as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["pattern", "rules.discount.percent"], "{}", app.backend);
        // Money no cart can reach (10¹⁴ minor units at most) would never apply.
        let huge = app
            .post("/api/v1/coupon-batches", json!({"name": "H", "code": "HUGE1",
                "rules": {"discount": {"type": "percent", "percent": "10", "max_minor": i64::MAX},
                          "min_cart_minor": 1_000_000_000_000_000_i64}}))
            .await;
        let fields: Vec<&str> = huge.problem(422, "validation_failed")["errors"]
            .as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["rules.discount.max_minor", "rules.min_cart_minor"], "{}", app.backend);
        let cashier = app.key(&app.program_id, Role::Cashier).await;
        app.call(Method::POST, "/api/v1/coupon-batches", &cashier, Some(json!({})))
            .await
            .problem(403, "forbidden");

        let batch = app
            .post("/api/v1/coupon-batches", json!({"name": "Launch", "pattern": "LNCH-####-####", "count": 1200,
                "rules": {"discount": {"type": "percent", "percent": "10", "max_minor": 50000},
                          "min_cart_minor": 200000, "categories": ["coffee"]}}))
            .await
            .ok(201)
            .clone();
        assert_eq!((batch["generated"].as_i64(), batch["status"].as_str()), (Some(1200), Some("ready")));
        let id = batch["id"].as_str().unwrap();
        let csv = app
            .client
            .get(format!("{}/api/v1/coupon-batches/{id}/codes", app.base))
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let codes: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!((csv.lines().next(), codes.len()), (Some("code,uses"), 1200));

        let c = app.create_customer(customer("Nima", "09351234567")).await;
        let cid = c["id"].as_str().unwrap();
        let cart = |code: &str| json!({
            "code": code.to_lowercase(), "customer_id": cid,
            "total": {"amount": "300000", "currency": "IRR"},
            "items": [
                {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": {"amount": "90000", "currency": "IRR"}},
                {"sku": "CAKE", "category": "food", "quantity": 1, "unit_price": {"amount": "120000", "currency": "IRR"}}
            ]});
        // Typed in lower case, as a customer reads it out: still the code.
        let check = app.call(Method::POST, "/api/v1/coupons/check", &cashier, Some(cart(codes[0]))).await.ok(200).clone();
        assert_eq!(check["discount"]["amount"], "18000", "10% of the coffee lines only");
        assert_eq!(check["uses"], 0);
        let mut small = cart(codes[0]);
        small["total"]["amount"] = json!("150000");
        app.post("/api/v1/coupons/check", small).await.problem(422, "coupon_not_applicable");
        app.post("/api/v1/coupons/check", cart("LNCH-AAAA-AAAA")).await.problem(404, "not_found");
        // A line worth more than any amount of money is refused on the field, as at a purchase.
        let huge = json!({"code": codes[0], "total": {"amount": "1000", "currency": "IRR"},
            "items": [{"sku": "A", "quantity": 1_000_000, "unit_price": {"amount": "100000000000000", "currency": "IRR"}}]});
        let p = app.post("/api/v1/coupons/check", huge).await;
        assert_eq!(p.problem(422, "validation_failed")["field"], "items[0].unit_price", "{}", app.backend);

        // Fifty requests for one code: exactly one gets it.
        let tries = (0..50).map(|i| {
            let (client, base, key, body) = (app.client.clone(), app.base.clone(), cashier.clone(), cart(codes[1]));
            tokio::spawn(async move {
                client.post(format!("{base}/api/v1/coupons/redeem")).bearer_auth(key)
                    .header("Idempotency-Key", format!("race-{i}")).json(&body).send().await.unwrap().status().as_u16()
            })
        });
        let mut statuses = Vec::new();
        for t in tries {
            statuses.push(t.await.unwrap());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{}: {statuses:?}", app.backend);
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 49);
        let b = app.get(&format!("/api/v1/coupon-batches/{id}")).await.ok(200).clone();
        assert_eq!(b["used"], 1);

        // A shared code, and its name clash.
        let shared = json!({"name": "Yalda", "code": "yalda 1405",
            "rules": {"discount": {"type": "amount", "amount_minor": 30000}, "max_uses_total": 100}});
        assert_eq!(app.post("/api/v1/coupon-batches", shared.clone()).await.ok(201)["kind"], "shared");
        let dup = app.post("/api/v1/coupon-batches", shared).await;
        assert_eq!(dup.problem(409, "duplicate_coupon_code")["errors"][0]["field"], "code");
        let used = app.post("/api/v1/coupons/redeem", cart("YALDA1405")).await.ok(201).clone();
        assert_eq!((used["discount"]["amount"].as_str(), used["max_uses"].as_i64()), (Some("30000"), Some(100)));
    })
    .await;
}
