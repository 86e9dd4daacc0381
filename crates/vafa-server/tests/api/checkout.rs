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
            {"code": "silver", "name": "Silver", "threshold": 1000000, "discount_percent": "10", "earn_multiplier": "2"}]});
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
    })
    .await;
}
