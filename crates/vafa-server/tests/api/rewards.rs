//! The rewards catalog over HTTP: validation, a claim that spends points and answers
//! with a code, the counter using it once, cancelling (manager only) returning points.

use crate::helpers::{customer, each_app};
use reqwest::Method;
use serde_json::json;
use vafa_core::auth::Role;
use vafa_server::clock::Clock;

#[tokio::test]
async fn rewards_over_http() {
    each_app(|app| async move {
        let bad = app
            .post("/api/v1/rewards", json!({"name": "", "kind": {"type": "fixed_discount", "amount_minor": 0}, "cost_points": 10}))
            .await;
        let fields: Vec<&str> = bad.problem(422, "validation_failed")["errors"]
            .as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name", "kind.amount_minor"], "{}", app.backend);
        // Tier codes must be the ladder's (this program has none yet), money at most 10¹⁴.
        let typo = app
            .post("/api/v1/rewards", json!({"name": "t", "kind": {"type": "free_product", "sku": "LATTE"},
                "cost_points": 10, "tiers": ["Gold"], "tier_costs": {"gold": 5}}))
            .await;
        let fields: Vec<&str> = typo.problem(422, "validation_failed")["errors"]
            .as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["tiers[0]", "tier_costs.gold"], "{}", app.backend);
        let huge = app
            .post("/api/v1/rewards", json!({"name": "h", "kind": {"type": "fixed_discount", "amount_minor": i64::MAX},
                "cost_points": 10}))
            .await;
        assert_eq!(huge.problem(422, "validation_failed")["field"], "kind.amount_minor");
        let r = app
            .post("/api/v1/rewards", json!({"name": "۵۰ هزار تومان تخفیف", "name_en": "500,000 rials off",
                "kind": {"type": "fixed_discount", "amount_minor": 500000}, "cost_points": 200, "stock": 10}))
            .await
            .ok(201)
            .clone();
        let rid = r["id"].as_str().unwrap();
        let c = app.create_customer(customer("Leila", "09131234567")).await;
        let cid = c["id"].as_str().unwrap();
        app.post(&format!("/api/v1/customers/{cid}/adjustments"), json!({"points": 250, "reason": "welcome"}))
            .await
            .ok(201);
        let cashier = app.key(&app.program_id, Role::Cashier).await;
        let path = format!("/api/v1/customers/{cid}/rewards");
        let claim = app.call(Method::POST, &path, &cashier, Some(json!({"reward_id": rid}))).await.ok(201).clone();
        assert_eq!((claim["points"].as_i64(), claim["status"].as_str()), (Some(200), Some("issued")));
        let bal = app.get(&format!("/api/v1/customers/{cid}/balance")).await.ok(200).clone();
        assert_eq!(bal["points"]["available"], 50);
        let again = app.call(Method::POST, &path, &cashier, Some(json!({"reward_id": rid}))).await;
        again.problem(422, "insufficient_points");

        let code = claim["code"].as_str().unwrap();
        let look = app
            .call(Method::GET, &format!("/api/v1/reward-codes/{code}"), &cashier, None)
            .await
            .ok(200)
            .clone();
        assert_eq!((look["usable"].as_bool(), look["claim"]["customer_id"].as_str()), (Some(true), Some(cid)));
        let use_path = format!("/api/v1/reward-codes/{}/use", code.to_lowercase());
        assert_eq!(app.call(Method::POST, &use_path, &cashier, None).await.ok(200)["status"], "used");
        app.call(Method::POST, &use_path, &cashier, None).await.problem(409, "reward_claim_not_usable");
        let look = app.get(&format!("/api/v1/reward-codes/{code}")).await.ok(200).clone();
        assert_eq!((look["usable"].as_bool(), look["reason"].as_str()), (Some(false), Some("already used")));

        // A second claim, cancelled by a manager: the points come back.
        app.post(&format!("/api/v1/customers/{cid}/adjustments"), json!({"points": 150, "reason": "goodwill"}))
            .await
            .ok(201);
        let second = app.post(&path, json!({"reward_id": rid})).await.ok(201).clone();
        let cancel = format!("/api/v1/reward-claims/{}/cancel", second["id"].as_str().unwrap());
        app.call(Method::POST, &cancel, &cashier, Some(json!({"reason": "x"}))).await.problem(403, "forbidden");
        let done = app.post(&cancel, json!({"reason": "customer changed their mind"})).await.ok(200).clone();
        assert_eq!(done["status"], "cancelled");
        let bal = app.get(&format!("/api/v1/customers/{cid}/balance")).await.ok(200).clone();
        assert_eq!(bal["points"]["available"], 200, "{}", app.backend);
        let list = app.get(&path).await.ok(200).clone();
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        let catalog = app.get(&format!("/api/v1/rewards/{rid}")).await.ok(200).clone();
        assert_eq!((catalog["stock_left"].as_i64(), catalog["claimed"].as_i64()), (Some(9), Some(1)));
        assert!(app.store.verify_ledger(Some(&app.program_id)).await.unwrap().problems.is_empty());

        // Erased: an unused claim dies with the record, its unit back in stock; a gift
        // already shipped stays, and its code says why it cannot be used.
        let gift = app
            .post("/api/v1/rewards", json!({"name": "ماگ", "kind": {"type": "physical_gift"}, "cost_points": 50, "stock": 5}))
            .await
            .ok(201)
            .clone();
        let gid = gift["id"].as_str().unwrap();
        app.post(&format!("/api/v1/customers/{cid}/adjustments"), json!({"points": 50, "reason": "for the mug"}))
            .await
            .ok(201);
        let open = app.post(&path, json!({"reward_id": rid})).await.ok(201).clone();
        let sent = app.post(&path, json!({"reward_id": gid})).await.ok(201).clone();
        app.call(Method::PUT, &format!("/api/v1/reward-claims/{}/fulfilment", sent["id"].as_str().unwrap()), &app.admin_key,
            Some(json!({"fulfilment": "shipped"})))
            .await
            .ok(200);
        app.delete(&format!("/api/v1/customers/{cid}")).await.ok(200);
        let look = app.get(&format!("/api/v1/reward-codes/{}", open["code"].as_str().unwrap())).await.ok(200).clone();
        assert_eq!((look["usable"].as_bool(), look["reason"].as_str()), (Some(false), Some("the claim was cancelled")), "{}: {look}", app.backend);
        let catalog = app.get(&format!("/api/v1/rewards/{rid}")).await.ok(200).clone();
        assert_eq!(catalog["stock_left"], 9, "the unit is back");
        let look = app.get(&format!("/api/v1/reward-codes/{}", sent["code"].as_str().unwrap())).await.ok(200).clone();
        assert_eq!((look["usable"].as_bool(), look["reason"].as_str()), (Some(false), Some("the customer's record was erased")), "{look}");
        assert!(app.store.verify_ledger(Some(&app.program_id)).await.unwrap().problems.is_empty());
    })
    .await;
}

/// Claiming a reward and cancelling the claim gives the points back as they were: expiring
/// when the lots they came from would have. It had renewed points five days from expiry
/// for a whole year, a way round expiry for anyone who may cancel a claim.
#[tokio::test]
async fn a_cancelled_claim_gives_points_back_no_longer_lived() {
    each_app(|app| async move {
        app.edit_ledger_settings(|s| s["expiry"] = json!({"kind": "days", "days": 30}))
            .await;
        let r = app
            .post("/api/v1/rewards", json!({"name": "Latte", "kind": {"type": "free_product", "sku": "LATTE"}, "cost_points": 100}))
            .await
            .ok(201)
            .clone();
        let c = app.create_customer(customer("Nima", "09131230009")).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        app.post(&format!("/api/v1/customers/{cid}/adjustments"), json!({"points": 100, "reason": "welcome"}))
            .await
            .ok(201);
        let expiring = |b: &serde_json::Value| b["points"]["expiring_soon"].clone();
        let before = app.get(&format!("/api/v1/customers/{cid}/balance")).await.ok(200).clone();
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_hours(24 * 25));
        let claim = app
            .post(&format!("/api/v1/customers/{cid}/rewards"), json!({"reward_id": r["id"]}))
            .await
            .ok(201)
            .clone();
        app.post(&format!("/api/v1/reward-claims/{}/cancel", claim["id"].as_str().unwrap()), json!({"reason": "changed mind"}))
            .await
            .ok(200);
        let after = app.get(&format!("/api/v1/customers/{cid}/balance")).await.ok(200).clone();
        assert_eq!(after["points"]["available"], 100);
        assert_eq!(expiring(&after), expiring(&before), "{}: {after}", app.backend);
        assert!(app.store.verify_ledger(Some(&app.program_id)).await.unwrap().problems.is_empty());
    })
    .await;
}

/// A claim left unused past its code's life is `expired` by the expiry job: its unit goes
/// back in stock and the customer's limit no longer counts it (the points stay spent, as
/// documented). It had stayed `issued` for ever, holding its unit and the limit.
#[tokio::test]
async fn an_unused_claim_expires_and_frees_its_unit() {
    each_app(|app| async move {
        let r = app
            .post(
                "/api/v1/rewards",
                json!({"name": "Cake", "kind": {"type": "free_product", "sku": "CAKE"},
                "cost_points": 10, "stock": 1, "per_customer_limit": 1, "code_valid_days": 1}),
            )
            .await
            .ok(201)
            .clone();
        let rid = r["id"].as_str().unwrap();
        let c = app.create_customer(customer("Mina", "09131230010")).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/api/v1/customers/{cid}/adjustments"),
            json!({"points": 30, "reason": "welcome"}),
        )
        .await
        .ok(201);
        let path = format!("/api/v1/customers/{cid}/rewards");
        let claim = app
            .post(&path, json!({"reward_id": rid}))
            .await
            .ok(201)
            .clone();
        app.post(&path, json!({"reward_id": rid}))
            .await
            .problem(422, "reward_unavailable");
        app.clock
            .set(app.clock.now() + jiff::SignedDuration::from_hours(49));
        let run = app
            .store
            .expire_lots("", app.clock.now(), 100, 10)
            .await
            .unwrap();
        assert_eq!(run.claims_expired, 1, "{}: {run:?}", app.backend);
        let again = app
            .store
            .expire_lots("", app.clock.now(), 100, 10)
            .await
            .unwrap();
        assert_eq!(again.claims_expired, 0, "idempotent");
        let mine = app.get(&path).await.ok(200).clone();
        assert_eq!(mine["items"][0]["status"], "expired", "{mine}");
        let catalog = app
            .get(&format!("/api/v1/rewards/{rid}"))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (catalog["stock_left"].as_i64(), catalog["claimed"].as_i64()),
            (Some(1), Some(0)),
            "{catalog}"
        );
        let look = app
            .get(&format!(
                "/api/v1/reward-codes/{}",
                claim["code"].as_str().unwrap()
            ))
            .await
            .ok(200)
            .clone();
        assert!(
            look["reason"].as_str().unwrap().starts_with("expired at"),
            "{look}"
        );
        app.post(
            &format!(
                "/api/v1/reward-claims/{}/cancel",
                claim["id"].as_str().unwrap()
            ),
            json!({"reason": "late"}),
        )
        .await
        .problem(409, "reward_claim_not_usable");
        // The unit and the limit are free again: a new claim, for 10 more points.
        app.post(&path, json!({"reward_id": rid})).await.ok(201);
        let bal = app
            .get(&format!("/api/v1/customers/{cid}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(bal["points"]["available"], 10);
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
