//! Segments over HTTP: conditions on profile and behaviour, set operations, preview,
//! CSV export, snapshots that stay as they were.

use crate::helpers::{each_app, TestApp};
use serde_json::{json, Value};
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

async fn preview(app: &TestApp, def: Value, at: Option<&str>) -> Value {
    let path = match at {
        Some(t) => format!("/api/v1/segments/preview?at={t}"),
        None => "/api/v1/segments/preview".into(),
    };
    app.post(&path, def).await.ok(200).clone()
}

async fn segment(app: &TestApp, def: Value) -> Value {
    app.post("/api/v1/segments", def).await.ok(201).clone()
}

#[tokio::test]
async fn segments_select_combine_export_and_snapshot() {
    each_app(|app| async move {
        let a = app.create_customer(json!({"first_name": "آرش", "last_name": "رضایی", "mobile": "09121111111", "city": "Tehran",
            "tags": ["vip"], "consent": {"sms": {"granted": true, "source": "pos"}}})).await;
        let b = app.create_customer(json!({"first_name": "Bita", "mobile": "09122222222", "city": "Shiraz"})).await;
        let c = app.create_customer(json!({"first_name": "Cyrus", "mobile": "09123333333", "city": "Shiraz", "tags": ["vip"],
            "birth_date": "1370/09/10"})).await;
        let (a, b, c) = (a["id"].as_str().unwrap().to_owned(), b["id"].as_str().unwrap().to_owned(), c["id"].as_str().unwrap().to_owned());
        for day in ["2026-10-01", "2026-10-15", "2026-11-01"] {
            buy(&app, &a, &format!("{day}T08:00:00Z"), 100_000).await;
        }
        buy(&app, &b, "2026-11-10T08:00:00Z", 50_000).await;

        let vip = segment(&app, json!({"name": "VIP", "condition": "'vip' in customer.tags"})).await;
        assert_eq!(vip["members"], 2, "{}: {vip}", app.backend);
        let buyers = segment(&app, json!({"name": "Buyers", "condition": "customer.purchase_count >= 1"})).await;
        assert_eq!(buyers["members"], 2);
        let shiraz = segment(&app, json!({"name": "Shiraz", "condition": "customer.city == 'Shiraz'"})).await;
        let (vip_id, buyers_id, shiraz_id) = (vip["id"].as_str().unwrap(), buyers["id"].as_str().unwrap(), shiraz["id"].as_str().unwrap());
        let union = segment(&app, json!({"name": "VIP or buyers, not Shiraz", "include": [vip_id, buyers_id], "combine": "union", "exclude": [shiraz_id]})).await;
        assert_eq!(union["members"], 1, "only Arash");
        let both = segment(&app, json!({"name": "VIP buyers", "include": [vip_id, buyers_id]})).await;
        assert_eq!(both["members"], 1);

        let p = preview(&app, json!({"name": "x", "condition": "customer.monetary >= 300000 && customer.consent_sms && customer.days_since_last_purchase <= 30"}), None).await;
        assert_eq!(p["members"], 1);
        assert_eq!(p["sample"], json!([a]));
        let azar = preview(&app, json!({"name": "x", "condition": "has(customer.birthday_month) && customer.birthday_month == 9"}), None).await;
        assert_eq!(azar["sample"], json!([c]), "born in Azar (Jalali month 9)");
        let before = preview(&app, json!({"name": "x", "include": [buyers_id]}), Some("2026-10-10T00:00:00Z")).await;
        assert_eq!(before["members"], 1, "on 10 October only Arash had bought");

        let csv = app.raw(reqwest::Method::GET, &format!("/api/v1/segments/{vip_id}/members?format=csv"), Some(&app.admin_key), None).await;
        assert_eq!(csv.status, 200);
        assert!(csv.content_type.starts_with("text/csv"), "{}", csv.content_type);
        let text = csv.body.as_str().unwrap().to_owned();
        assert!(text.starts_with('\u{feff}'), "a BOM for spreadsheets");
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("id,first_name,last_name,mobile"));
        assert!(text.contains("آرش,رضایی,+989121111111"), "{text}");
        let json_members = app.get(&format!("/api/v1/segments/{vip_id}/members")).await.ok(200).clone();
        assert_eq!(json_members.as_array().unwrap().len(), 2);

        let snap = app.post(&format!("/api/v1/segments/{buyers_id}/snapshots"), json!({})).await.ok(201).clone();
        assert_eq!(snap["members"], 2);
        buy(&app, &c, "2026-11-20T08:00:00Z", 10_000).await;
        assert_eq!(app.get(&format!("/api/v1/segments/{buyers_id}")).await.ok(200)["members"], 3, "live");
        let frozen = app.get(&format!("/api/v1/segments/{buyers_id}/snapshots/{}", snap["id"].as_str().unwrap())).await.ok(200).clone();
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(frozen["member_ids"], json!(want), "the snapshot stays as it was");

        app.post("/api/v1/segments", json!({"name": "bad", "include": ["seg_nope"]})).await.problem(422, "validation_failed");
        let bad = app.post("/api/v1/segments", json!({"name": "bad", "condition": "customer.monetry > 1"})).await;
        assert_eq!(bad.problem(422, "validation_failed")["errors"][0]["field"], "condition");
        assert_eq!(app.get("/api/v1/segments").await.ok(200).as_array().unwrap().len(), 5);
    })
    .await;
}
