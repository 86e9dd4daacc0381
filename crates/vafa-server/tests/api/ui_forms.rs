//! The admin UI's remaining forms and refusals on every backend: roles refused on POSTs,
//! rewards, coupon batches and their codes, the tier ladder, a logged call, a promise
//! closed, a reward code at the counter, a hostile return path, and a program in dollars.

use crate::browser::{Browser, Page};
use crate::helpers::{customer, each_app, TestApp};
use reqwest::Method;
use serde_json::json;

const PASSWORD: &str = "correct horse 1";

async fn staff_in(app: &TestApp, key: &str, username: &str, role: &str) {
    app.call(
        Method::POST,
        "/api/v1/staff",
        key,
        Some(json!({"username": username, "name": username, "role": role, "password": PASSWORD})),
    )
    .await
    .ok(201);
}

/// Who posts where, with what.
type Refusal<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

/// Refused with 403, as a page or (htmx) in the status header.
fn refused(p: &Page) -> bool {
    p.status == 403 || p.headers.get("vafa-status").is_some_and(|s| s == "403")
}

#[tokio::test]
async fn roles_are_refused_on_writes_they_may_not_make() {
    each_app(|app| async move {
        let c = app.create_customer(customer("Ava", "09121110000")).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        let t = app
            .post(
                "/api/v1/tickets",
                json!({"customer_id": cid, "subject": "x"}),
            )
            .await
            .ok(201)
            .clone();
        let tid = t["id"].as_str().unwrap().to_owned();
        for (user, role) in [
            ("numbers", "analyst"),
            ("care", "support"),
            ("till", "cashier"),
            ("friend", "partner"),
        ] {
            staff_in(&app, &app.admin_key, user, role).await;
        }
        let reply = format!("/crm/tickets/{tid}/reply");
        let cases: [Refusal; 8] = [
            (
                "numbers",
                "/cashier/purchase",
                vec![("customer_id", &cid), ("amount", "1000")],
            ),
            ("numbers", reply.as_str(), vec![("body", "hello")]),
            ("care", "/settings/ledger", vec![("earn_points", "5")]),
            (
                "care",
                "/cashier/quote",
                vec![("customer_id", &cid), ("amount", "1000")],
            ),
            (
                "till",
                "/settings/tiers",
                vec![("metric", "spend"), ("tier_code", "x")],
            ),
            ("till", "/settings/tiers/json", vec![("ladder", "{}")]),
            ("till", "/segments/preview", vec![("city", "x")]),
            (
                "friend",
                "/cashier/register",
                vec![("mobile", "09351112233")],
            ),
        ];
        for (user, path, fields) in cases {
            let b = Browser::new(&app);
            b.login(user, PASSWORD).await;
            let page = b.post(path, &fields).await;
            assert!(
                refused(&page),
                "{user} {path}: {} {}",
                page.status,
                page.html
            );
        }
        // Nothing was written by any of them.
        let ledger = app
            .get(&format!("/api/v1/customers/{cid}/ledger"))
            .await
            .ok(200)
            .clone();
        assert_eq!(ledger["items"], json!([]));
        let s = app
            .get("/api/v1/program/ledger-settings")
            .await
            .ok(200)
            .clone();
        assert_eq!(s["earn_points"], 1);
    })
    .await;
}

#[tokio::test]
async fn catalog_ladder_care_and_counter_forms() {
    each_app(|app| async move {
        staff_in(&app, &app.admin_key, "boss", "admin").await;
        let b = Browser::new(&app);
        b.login("boss", PASSWORD).await;

        // A reward, then one with a cost that is not a number: named, nothing added.
        b.get("/settings/rewards").await;
        let made = b.post("/settings/rewards", &[("name", "قهوه رایگان"), ("kind", "free_product"), ("value", "LATTE"), ("cost_points", "۱۵۰"), ("stock", "۱۰")]).await;
        assert_eq!(made.location(), "/settings/rewards?saved=1", "{}", made.html);
        let bad = b.post("/settings/rewards", &[("name", "x"), ("kind", "free_product"), ("value", "X"), ("cost_points", "ten")]).await;
        assert!(bad.html.contains("class=\"problem\""), "{}", bad.html);
        let rewards = app.get("/api/v1/rewards").await.ok(200).clone();
        let items = rewards["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!((items[0]["definition"]["cost_points"].as_i64(), items[0]["stock_left"].as_i64()), (Some(150), Some(10)));
        let stale = app.post("/api/v1/rewards", json!({"name": "old", "kind": {"type": "free_product", "sku": "OLD"}, "cost_points": 10})).await.ok(201).clone();
        let sid = stale["id"].as_str().unwrap();
        let gone = b.post_raw(&format!("/settings/rewards/{sid}/retire"), &[("csrf", &bad.csrf())], false).await;
        assert_eq!(gone.status, 303);
        assert_eq!(app.get(&format!("/api/v1/rewards/{sid}")).await.ok(200)["status"], "retired");

        // A campaign paused and run again from the rules page.
        let camp = app.post("/api/v1/campaigns", json!({"campaign": {"name": "Nowruz"}, "rules": [{"name": "x2", "effects": [{"type": "multiplier", "factor": "2"}]}]})).await.ok(201).clone();
        let camp_id = camp["id"].as_str().unwrap();
        let rules_page = b.get("/settings/rules").await;
        assert!(rules_page.html.contains("data-test=\"pause\""));
        b.post_raw(&format!("/settings/rules/{camp_id}/status"), &[("csrf", &rules_page.csrf()), ("status", "paused")], false).await;
        assert_eq!(app.get(&format!("/api/v1/campaigns/{camp_id}")).await.ok(200)["definition"]["status"], "paused");

        // A coupon batch, its codes as CSV; a minimum cart that is not an amount refuses.
        let batch = b.post("/settings/coupons", &[("name", "Yalda"), ("pattern", "YALDA-######"), ("count", "5"), ("discount_kind", "percent"), ("discount", "10"), ("min_cart", "۱۰۰٬۰۰۰")]).await;
        assert_eq!(batch.location(), "/settings/coupons?saved=1", "{}", batch.html);
        let batches = app.get("/api/v1/coupon-batches").await.ok(200).clone();
        let bid = batches["items"][0]["id"].as_str().unwrap();
        assert_eq!(batches["items"][0]["rules"]["min_cart_minor"], 1_000_000, "100,000 toman");
        let csv = b.get(&format!("/settings/coupons/{bid}/codes.csv")).await;
        assert_eq!(csv.html.matches("YALDA-").count(), 5, "{}", csv.html);
        let nope = b.post("/settings/coupons", &[("name", "x"), ("count", "5"), ("discount", "10"), ("min_cart", "lots")]).await;
        assert!(nope.html.contains("class=\"problem\""));
        assert_eq!(app.get("/api/v1/coupon-batches").await.ok(200)["items"].as_array().unwrap().len(), 1);

        // The ladder as JSON: refused when malformed (and what was typed is kept), saved when not.
        let broken = b.post("/settings/tiers/json", &[("ladder", "{\"tiers\": [")]).await;
        assert!(broken.html.contains("class=\"problem\"") && broken.html.contains("{&#34;tiers&#34;: ["), "{}", broken.html);
        let ladder = json!({"metric": "spend", "window": {"kind": "lifetime"}, "tiers": [{"code": "base", "name": "پایه", "threshold": 0}]}).to_string();
        let saved = b.post("/settings/tiers/json", &[("ladder", &ladder)]).await;
        assert_eq!(saved.location(), "/settings/tiers?saved=1", "{}", saved.html);
        assert_eq!(app.get("/api/v1/tiers").await.ok(200)["tiers"][0]["code"], "base");

        // The ladder as a form: a row per tier, thresholds in toman with Persian digits, a
        // blank row left out, free items split on the Persian comma.
        let rows: Vec<(&str, &str)> = vec![
            ("metric", "spend"), ("window", "rolling_months"), ("months", "۶"), ("grace_days", "۳۰"),
            ("tier_code", "base"), ("tier_name", "پایه"), ("tier_name_en", "Base"), ("tier_threshold", "0"),
            ("tier_multiplier", ""), ("tier_discount", ""), ("tier_gift", ""), ("tier_free", ""),
            ("tier_code", "gold"), ("tier_name", "طلایی"), ("tier_name_en", "Gold"), ("tier_threshold", "۲٬۰۰۰٬۰۰۰"),
            ("tier_multiplier", "۱٫۵"), ("tier_discount", "10"), ("tier_gift", "۵۰۰"), ("tier_free", "COOKIE، LATTE"),
            ("tier_code", ""), ("tier_name", ""), ("tier_name_en", ""), ("tier_threshold", ""),
            ("tier_multiplier", ""), ("tier_discount", ""), ("tier_gift", ""), ("tier_free", ""),
        ];
        let page = b.get("/settings/tiers").await;
        assert!(page.html.contains("data-test=\"tier-form\"") && page.html.contains("value=\"base\""), "{}", page.html);
        let saved = b.post("/settings/tiers", &rows).await;
        assert_eq!(saved.location(), "/settings/tiers?saved=1", "{}", saved.html);
        let ladder = app.get("/api/v1/tiers").await.ok(200).clone();
        assert_eq!(ladder["window"], json!({"kind": "rolling_months", "months": 6}), "{ladder}");
        assert_eq!(ladder["grace_days"], 30);
        let gold = &ladder["tiers"][1];
        assert_eq!((gold["code"].as_str(), gold["threshold"].as_i64()), (Some("gold"), Some(20_000_000)), "2,000,000 toman in rials: {ladder}");
        assert_eq!((gold["earn_multiplier"].as_str(), gold["discount_percent"].as_str()), (Some("1.5"), Some("10")));
        assert_eq!((gold["entry_gift_points"].as_i64(), gold["free_items"].clone()), (Some(500), json!(["COOKIE", "LATTE"])));
        assert_eq!(ladder["tiers"].as_array().unwrap().len(), 2, "the blank row is left out");
        // The page shows the ladder back in toman, ready to edit.
        assert!(b.get("/settings/tiers").await.html.contains("value=\"2000000\""));
        // A threshold not above the one before: refused, the row named in Persian, what was
        // typed kept, nothing changed.
        let mut wrong = rows.clone();
        wrong[15] = ("tier_threshold", "0");
        let refused = b.post("/settings/tiers", &wrong).await;
        assert!(refused.html.contains("ردیف ۲ — آستانه") && refused.html.contains("از آستانه‌ی سطح پیشین بیشتر"), "{}", refused.html);
        assert!(refused.html.contains("value=\"طلایی\""), "what was typed is kept");
        assert_eq!(app.get("/api/v1/tiers").await.ok(200)["tiers"][1]["threshold"], 20_000_000);

        // A call logged on the 360 lands on the timeline; a promise is closed as kept.
        let c = app.create_customer(customer("Leila", "09131234567")).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        b.get(&format!("/customers/{cid}")).await;
        let token = b.csrf.lock().unwrap().clone();
        let logged = b.post_raw(&format!("/customers/{cid}/interactions"), &[("csrf", &token), ("kind", "call"), ("direction", "outbound"), ("summary", "پیگیری سفارش")], false).await;
        assert_eq!(logged.status, 303, "{}", logged.html);
        assert!(b.get(&format!("/customers/{cid}")).await.html.contains("پیگیری سفارش"));
        // A ticket opened and a promise made from the 360.
        let page = b.get(&format!("/customers/{cid}")).await;
        let opened = b.post_raw(&format!("/customers/{cid}/tickets"), &[("csrf", &page.csrf()), ("subject", "کیک دیر رسید"), ("priority", "high"), ("channel", "phone")], false).await;
        assert!(opened.location().starts_with("/crm/tickets/tkt_"), "{}", opened.html);
        assert!(b.get(opened.location()).await.html.contains("کیک دیر رسید"));
        let made = b.post_raw(&format!("/customers/{cid}/tasks"), &[("csrf", &page.csrf()), ("title", "ارسال کیک تازه"), ("kind", "promise"), ("due_at", "۱۴۰۵/۰۹/۱۰ ۱۶:۰۰")], false).await;
        assert_eq!(made.status, 303, "{}", made.html);
        let open = app.get(&format!("/api/v1/tasks?customer_id={cid}")).await.ok(200).clone();
        let p = open["items"].as_array().unwrap().iter().find(|t| t["title"] == "ارسال کیک تازه").unwrap();
        assert_eq!((p["kind"].as_str(), p["due_at"].as_str()), (Some("promise"), Some("2026-12-01T12:30:00Z")));
        let bad_due = b.post_raw(&format!("/customers/{cid}/tasks"), &[("csrf", &page.csrf()), ("title", "x"), ("due_at", "soon")], false).await;
        assert_eq!(bad_due.status, 422);
        assert!(bad_due.html.contains("role=\"alert\""));
        // The API's reason, in the reader's words: Persian, no English left over.
        assert!(bad_due.html.contains("تاریخ نیست") && !bad_due.html.contains("not a date"), "{}", bad_due.html);

        let promise = app.post("/api/v1/tasks", json!({"kind": "promise", "title": "تماس دوباره", "customer_id": cid, "due_at": "2026-11-30T10:00:00Z", "assignee_id": null})).await;
        let pid = promise.ok(201)["id"].as_str().unwrap().to_owned();
        let tasks = b.get("/crm/tasks").await;
        assert!(tasks.html.contains("تماس دوباره"));
        let closed = b.post_raw(&format!("/crm/tasks/{pid}/close"), &[("csrf", &tasks.csrf()), ("status", "kept")], false).await;
        assert_eq!(closed.status, 303);
        assert_eq!(app.get(&format!("/api/v1/tasks/{pid}")).await.ok(200)["status"], "kept");

        // A reward code used at the counter, once.
        let rid = items[0]["id"].as_str().unwrap();
        app.post(&format!("/api/v1/customers/{cid}/adjustments"), json!({"points": 200, "reason": "gift"})).await.ok(201);
        let claim = app.post(&format!("/api/v1/customers/{cid}/rewards"), json!({"reward_id": rid})).await.ok(201).clone();
        let code = claim["code"].as_str().unwrap();
        let used = b.post("/cashier/code", &[("code", code)]).await;
        assert!(used.html.contains("کد جایزه استفاده شد") && used.html.contains("قهوه رایگان"), "{}", used.html);
        let twice = b.post("/cashier/code", &[("code", code)]).await;
        assert!(twice.html.contains("این کد جایزه استفاده شده"), "{}", twice.html);

        // The language switch returns only to a path on this site.
        for hostile in ["//evil.example/x", "/\\evil.example", "https://evil.example"] {
            let back = b.post("/lang", &[("lang", "fa"), ("back", hostile)]).await;
            assert_eq!(back.location(), "/", "{hostile}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_program_in_dollars_shows_cents_and_no_phantom_discount() {
    each_app(|app| async move {
        let np = vafa_core::program::NewProgram::parse("Corner Shop", "USD", "Europe/Istanbul", "en").unwrap();
        let sys = vafa_store::SystemCtx { actor: vafa_store::Actor::Cli, now: crate::helpers::start_time() };
        let (_, key) = app.store.create_program(&np, &sys).await.unwrap();
        let key = key.api_key;
        staff_in(&app, &key, "shop", "admin").await;
        let c = app.call(Method::POST, "/api/v1/customers", &key, Some(customer("Ann", "09121112233"))).await.ok(201).clone();
        let cid = c["id"].as_str().unwrap().to_owned();
        app.call(Method::POST, "/api/v1/purchases", &key, Some(json!({"customer_id": cid, "external_id": "S-1", "total": {"amount": "12.50", "currency": "USD"}})))
            .await
            .ok(201);
        let b = Browser::new(&app);
        let dash = b.login("shop", PASSWORD).await;
        assert!(dash.html.contains("<html lang=\"en\" dir=\"ltr\">"));
        let dash = b.get("/dashboard").await.html;
        assert!(dash.contains("12.50 USD"), "revenue in dollars and cents: {dash}");
        b.get("/cashier").await;
        let quote = b.post("/cashier/quote", &[("customer_id", &cid), ("amount", "20.5")]).await;
        assert!(quote.html.contains("20.50 USD"), "{}", quote.html);
        assert!(!quote.html.contains("tier discount") && !quote.html.contains("Tier discount"), "{}", quote.html);
    })
    .await;
}

/// A return at the counter from the purchase's page: one item back, the page then says
/// what to pay back; a double click records one return; a form with both items and an
/// amount, or with neither, is refused with nothing written. A manager adjusts points
/// from the customer page; a cashier is not offered the form and is refused it.
#[tokio::test]
async fn a_return_and_an_adjustment_from_the_pages() {
    each_app(|app| async move {
        app.edit_ledger_settings(|s| s["pending_days"] = json!(0))
            .await;
        let c = app.create_customer(customer("Mina", "09121110055")).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        let irr = |a: &str| json!({"amount": a, "currency": "IRR"});
        app.post(
            "/api/v1/purchases",
            json!({"customer_id": cid, "total": irr("1000000")}),
        )
        .await
        .ok(201);
        // 300,000 of goods: 100 points (10,000) pay part of it.
        let p = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": cid, "external_id": "R-77",
                "items": [{"sku": "TEA", "name": "Tea", "quantity": 2, "unit_price": irr("50000")},
                          {"sku": "POT", "name": "Pot", "quantity": 1, "unit_price": irr("200000")}],
                "total": irr("300000"), "checkout": {"redeem_points": 100}}),
            )
            .await
            .ok(201)
            .clone();
        let pid = p["id"].as_str().unwrap().to_owned();
        staff_in(&app, &app.admin_key, "till", "cashier").await;
        staff_in(&app, &app.admin_key, "boss", "manager").await;

        let b = Browser::new(&app);
        b.login("till", PASSWORD).await;
        let profile = b.get(&format!("/customers/{cid}")).await;
        assert_eq!(profile.status, 200, "{}", profile.html);
        assert!(
            profile.html.contains(&format!("/purchases/{pid}"))
                && profile.html.contains("فاکتور R-77"),
            "{}: the purchase is listed: {}",
            app.backend,
            profile.html
        );
        assert!(!profile.html.contains("adjust-form"), "a cashier may not adjust");
        let page = b.get(&format!("/purchases/{pid}")).await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(page.html.contains("Pot (POT)") && page.html.contains("return-form"));
        let key = crate::browser::value_after(&page.html, "name=\"return_key\" value=\"");
        assert!(!key.is_empty());
        let path = format!("/purchases/{pid}/returns");

        // Both, or neither: refused by field, nothing written.
        let both = b
            .post(&path, &[("return_key", &key), ("line", "1"), ("qty", "1"), ("line", "2"), ("qty", ""), ("amount", "5000")])
            .await;
        assert_eq!(both.headers.get("vafa-status").map(|s| s.to_str().unwrap()), Some("422"), "{}", both.html);
        let neither = b.post(&path, &[("return_key", &key), ("line", "1"), ("qty", ""), ("amount", "")]).await;
        assert_eq!(neither.headers.get("vafa-status").map(|s| s.to_str().unwrap()), Some("422"), "{}", neither.html);
        let too_many = b.post(&path, &[("return_key", "other"), ("line", "2"), ("qty", "۲")]).await;
        assert_eq!(too_many.headers.get("vafa-status").map(|s| s.to_str().unwrap()), Some("422"), "{}", too_many.html);
        let stored = app.get(&format!("/api/v1/purchases/{pid}")).await.ok(200).clone();
        assert_eq!(stored["returns"], json!([]), "nothing written");

        // The pot comes back (Persian digits typed), twice by a double click: one return.
        let fields = [("return_key", key.as_str()), ("line", "1"), ("qty", ""), ("line", "2"), ("qty", "۱")];
        let done = b.post(&path, &fields).await;
        let to = done.headers.get("hx-redirect").map(|h| h.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(to.starts_with(&format!("/purchases/{pid}?returned=ret_")), "{}: {}", done.status, done.html);
        let again = b.post(&path, &fields).await;
        assert_eq!(again.headers.get("hx-redirect").map(|h| h.to_str().unwrap()), Some(to.as_str()));
        let stored = app.get(&format!("/api/v1/purchases/{pid}")).await.ok(200).clone();
        assert_eq!(stored["returns"].as_array().unwrap().len(), 1, "{stored}");
        // Two thirds of the sale, 200,000: two thirds of the 100 points (66, rounded down:
        // the last return gives back the rest), worth 6,600 at 100 a point.
        let r = &stored["returns"][0];
        assert_eq!((r["points_refunded"].as_i64(), &r["money_refund"]), (Some(66), &irr("193400")), "{stored}");
        let shown = b.get(&to).await;
        assert!(shown.html.contains("data-test=\"hand-back\""), "{}", shown.html);
        // 193,400 rials shows as 19,340 toman, in Persian digits.
        assert!(shown.html.contains("۱۹٬۳۴۰"), "{}", shown.html);
        // Without htmx the form answers with a redirect to the same page.
        let csrf = b.csrf.lock().unwrap().clone();
        let plain = b
            .post_raw(&path, &[("csrf", &csrf), ("return_key", "plain-1"), ("amount", "1000")], false)
            .await;
        assert_eq!(plain.status, 303, "{}", plain.html);
        assert!(plain.location().starts_with(&format!("/purchases/{pid}?returned=")));
        // The cashier may not adjust, even by posting the form.
        let refused_adjust = b.post(&format!("/customers/{cid}/adjustments"), &[("points", "10"), ("reason", "x")]).await;
        assert!(refused(&refused_adjust), "{}", refused_adjust.status);

        // The manager adjusts: a typed minus and Persian digits; a blank reason is refused.
        let m = Browser::new(&app);
        m.login("boss", PASSWORD).await;
        let profile = m.get(&format!("/customers/{cid}")).await;
        let key = crate::browser::value_after(&profile.html, "name=\"adjust_key\" value=\"");
        assert!(!key.is_empty(), "{}", profile.html);
        let before = app.get(&format!("/api/v1/customers/{cid}/balance")).await.ok(200)["points"]["available"].as_i64().unwrap();
        let adjust = format!("/customers/{cid}/adjustments");
        let blank = m.post(&adjust, &[("adjust_key", &key), ("points", "5"), ("reason", " ")]).await;
        assert_eq!(blank.headers.get("vafa-status").map(|s| s.to_str().unwrap()), Some("422"), "{}", blank.html);
        let audit = app.audit_count().await;
        let made = m.post(&adjust, &[("adjust_key", &key), ("points", "\u{2212}۵"), ("reason", "broken cup")]).await;
        assert_eq!(made.status, 303, "{}", made.html);
        m.post(&adjust, &[("adjust_key", &key), ("points", "\u{2212}۵"), ("reason", "broken cup")]).await;
        let after = app.get(&format!("/api/v1/customers/{cid}/balance")).await.ok(200)["points"]["available"].as_i64().unwrap();
        assert_eq!(after, before - 5, "once, though posted twice");
        assert_eq!(app.audit_count().await, audit + 1);
        let report = app.store.verify_ledger(Some(&app.program_id)).await.unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    })
    .await;
}

/// A manager merges a duplicate from the customer page, naming it by its mobile (typed in
/// Persian digits): its points come along. A cashier is neither offered the form nor
/// allowed to post it; a mobile that names nobody is refused by field, nothing written.
#[tokio::test]
async fn a_duplicate_merged_from_the_customer_page() {
    each_app(|app| async move {
        app.edit_ledger_settings(|s| s["pending_days"] = json!(0))
            .await;
        let keep = app.create_customer(customer("Mina", "09121110066")).await;
        let dup = app.create_customer(customer("Mina K", "09351110066")).await;
        let (kid, did) = (
            keep["id"].as_str().unwrap().to_owned(),
            dup["id"].as_str().unwrap().to_owned(),
        );
        app.post(
            "/api/v1/purchases",
            json!({"customer_id": did, "total": {"amount": "250000", "currency": "IRR"}}),
        )
        .await
        .ok(201);
        staff_in(&app, &app.admin_key, "till", "cashier").await;
        staff_in(&app, &app.admin_key, "boss", "manager").await;
        let path = format!("/customers/{kid}/merge");

        let b = Browser::new(&app);
        b.login("till", PASSWORD).await;
        let page = b.get(&format!("/customers/{kid}")).await;
        assert!(
            !page.html.contains("merge-form"),
            "a cashier is not offered the merge"
        );
        let posted = b
            .post(&path, &[("duplicate", "09351110066"), ("confirm", "yes")])
            .await;
        assert!(refused(&posted), "{}", posted.status);

        let m = Browser::new(&app);
        m.login("boss", PASSWORD).await;
        let page = m.get(&format!("/customers/{kid}")).await;
        assert!(page.html.contains("merge-form"), "{}", page.html);
        let unconfirmed = m.post(&path, &[("duplicate", "09351110066")]).await;
        assert_eq!(
            unconfirmed
                .headers
                .get("vafa-status")
                .map(|s| s.to_str().unwrap()),
            Some("422"),
            "{}",
            unconfirmed.html
        );
        assert!(
            unconfirmed.html.contains("باید تیک بخورد"),
            "{}",
            unconfirmed.html
        );
        let nobody = m
            .post(&path, &[("duplicate", "09130000000"), ("confirm", "yes")])
            .await;
        assert_eq!(
            nobody
                .headers
                .get("vafa-status")
                .map(|s| s.to_str().unwrap()),
            Some("422"),
            "{}",
            nobody.html
        );
        assert!(
            nobody.html.contains("رکورد تکراری"),
            "named by its field: {}",
            nobody.html
        );
        let merged = m
            .post(&path, &[("duplicate", "۰۹۳۵ ۱۱۱ ۰۰۶۶"), ("confirm", "yes")])
            .await;
        assert_eq!(merged.status, 303, "{}", merged.html);
        let balance = app
            .get(&format!("/api/v1/customers/{kid}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(balance["points"]["available"], 25, "{balance}");
        assert_eq!(
            app.get(&format!("/api/v1/customers/{did}")).await.ok(200)["status"],
            "merged"
        );
        let page = m.get(&format!("/customers/{did}")).await;
        assert!(
            !page.html.contains("merge-form"),
            "a merged record takes no merge"
        );
        let report = app
            .store
            .verify_ledger(Some(&app.program_id))
            .await
            .unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    })
    .await;
}

/// A refused form is drawn again with what was typed and why, the field named by its
/// label in the page's language: the ticket's status and reply, the 360's promise,
/// contact and new ticket, a purchase's return, and the settings forms (ledger,
/// campaign, coupons, rewards).
#[tokio::test]
async fn refused_forms_keep_what_was_typed() {
    each_app(|app| async move {
        staff_in(&app, &app.admin_key, "boss", "admin").await;
        let b = Browser::new(&app);
        b.login("boss", PASSWORD).await;
        let cid = app.create_customer(customer("مریم", "09121112233")).await["id"].as_str().unwrap().to_owned();
        let t = app.post("/api/v1/tickets", json!({"customer_id": cid, "subject": "دیر رسید"})).await.ok(201).clone();
        let tid = t["id"].as_str().unwrap().to_owned();
        let page = b.get(&format!("/crm/tickets/{tid}")).await;
        let token = page.csrf();
        for (goodwill, says) in [("۹۹۹۹۹", "۹۹۹۹۹"), ("abc", "abc")] {
            let r = b.post_raw(&format!("/crm/tickets/{tid}/status"), &[("csrf", &token), ("status", "resolved"), ("goodwill_points", goodwill), ("note", "پوزش")], false).await;
            assert_eq!(r.status, 422, "{goodwill}: {}", r.html);
            assert!(r.html.contains("id=\"status-problem\"") && r.html.contains("data-test=\"status-form\""), "{}", r.html);
            assert!(r.html.contains(&format!("value=\"{says}\"")) && r.html.contains("value=\"پوزش\""), "typed kept: {}", r.html);
            assert!(r.html.contains("امتیاز"), "{}", r.html);
            assert!(!r.html.contains("goodwill_points:"), "no internal key: {}", r.html);
        }
        let empty = b.post_raw(&format!("/crm/tickets/{tid}/reply"), &[("csrf", &token), ("body", "  "), ("note", "on")], false).await;
        assert_eq!(empty.status, 422, "{}", empty.html);
        assert!(empty.html.contains("id=\"reply-problem\"") && empty.html.contains("data-test=\"reply-form\""), "{}", empty.html);
        assert!(empty.html.contains("name=\"note\" checked"), "{}", empty.html);

        let bad_due = b.post_raw(&format!("/customers/{cid}/tasks"), &[("csrf", &token), ("title", "تماس دوباره"), ("kind", "task"), ("due_at", "فردا")], false).await;
        assert_eq!(bad_due.status, 422);
        assert!(bad_due.html.contains("id=\"task-problem\"") && bad_due.html.contains("value=\"تماس دوباره\"") && bad_due.html.contains("value=\"فردا\""), "{}", bad_due.html);
        assert!(bad_due.html.contains("<details id=\"task\" open>"), "{}", bad_due.html);

        // The 360's log-a-contact and open-a-ticket forms, refused: the 360 again with them
        // open, as typed, the field named in Persian; nothing written.
        let long = "خ".repeat(101);
        let contact = b.post_raw(&format!("/customers/{cid}/interactions"), &[("csrf", &token), ("kind", "visit"), ("direction", "inbound"), ("outcome", &long), ("summary", "آمد و رفت")], false).await;
        assert_eq!(contact.status, 422, "{}", contact.html);
        assert!(contact.html.contains("<details id=\"contact\" open>") && contact.html.contains("id=\"contact-problem\"><p>نتیجه: "), "{}", contact.html);
        assert!(contact.html.contains(&format!("value=\"{long}\"")) && contact.html.contains(">آمد و رفت</textarea>"), "{}", contact.html);
        assert!(contact.html.contains("value=\"visit\" selected") && contact.html.contains("value=\"inbound\" selected"), "{}", contact.html);
        let ticket = b.post_raw(&format!("/customers/{cid}/tickets"), &[("csrf", &token), ("subject", "  "), ("category", "شکایت"), ("priority", "urgent"), ("channel", "phone"), ("description", "کیف پاره بود")], false).await;
        assert_eq!(ticket.status, 422, "{}", ticket.html);
        assert!(ticket.html.contains("<details id=\"open-ticket\" open>") && ticket.html.contains("id=\"ticket-problem\"><p>موضوع: "), "{}", ticket.html);
        assert!(ticket.html.contains("value=\"شکایت\"") && ticket.html.contains(">کیف پاره بود</textarea>"), "{}", ticket.html);
        assert!(ticket.html.contains("value=\"urgent\" selected") && ticket.html.contains("value=\"phone\" selected"), "{}", ticket.html);
        assert!(!contact.html.contains("<details id=\"open-ticket\" open>") && !ticket.html.contains("<details id=\"contact\" open>"), "only the refused form opens");
        let tickets = app.get(&format!("/api/v1/tickets?customer_id={cid}")).await.ok(200).clone();
        assert_eq!(tickets["items"].as_array().map(Vec::len), Some(1), "no ticket opened: {tickets}");
        let fine = b.post_raw(&format!("/customers/{cid}/tickets"), &[("csrf", &token), ("subject", "کیف"), ("priority", "urgent"), ("channel", "phone")], false).await;
        assert_eq!(fine.status, 303, "{}", fine.html);
        assert!(fine.location().starts_with("/crm/tickets/"), "{}", fine.location());

        // A purchase's return form, posted without htmx and refused: the purchase page
        // again with the quantities and amount as typed, why, and 422; nothing returned.
        let irr = |a: &str| json!({"amount": a, "currency": "IRR"});
        let bought = app.post("/api/v1/purchases", json!({"customer_id": cid, "total": irr("300000"),
            "items": [{"sku": "TEA", "name": "Tea", "quantity": 2, "unit_price": irr("50000")},
                      {"sku": "POT", "name": "Pot", "quantity": 1, "unit_price": irr("200000")}]})).await.ok(201).clone();
        let pid = bought["id"].as_str().unwrap().to_owned();
        let both = b.post_raw(&format!("/purchases/{pid}/returns"), &[("csrf", &token), ("return_key", "k1"), ("line", "1"), ("qty", "۲"), ("line", "2"), ("qty", ""), ("amount", "۵٬۰۰۰")], false).await;
        assert_eq!(both.status, 422, "{}", both.html);
        assert!(both.html.contains("id=\"return-problem\"><p>مبلغ: ") && both.html.contains("data-test=\"return-form\""), "{}", both.html);
        assert!(both.html.contains("value=\"۲\" data-test=\"return-qty\"") && both.html.contains("value=\"\" data-test=\"return-qty\"") && both.html.contains("value=\"۵٬۰۰۰\" data-test=\"return-amount\""), "{}", both.html);
        let too_many = b.post_raw(&format!("/purchases/{pid}/returns"), &[("csrf", &token), ("return_key", "k2"), ("line", "2"), ("qty", "3")], false).await;
        assert_eq!(too_many.status, 422, "{}", too_many.html);
        assert!(too_many.html.contains("id=\"return-problem\"") && too_many.html.contains("value=\"3\" data-test=\"return-qty\""), "{}", too_many.html);
        let stored = app.get(&format!("/api/v1/purchases/{pid}")).await.ok(200).clone();
        assert_eq!(stored["returns"], json!([]), "nothing written");

        let ledger = b.get("/settings").await;
        let ledger = b.post_raw("/settings/ledger", &[("csrf", &ledger.csrf()), ("earn_points", "7"), ("earn_per", "۱۰٬۰۰۰"), ("point_value", "10"), ("pending_days", "-3"), ("expiry_kind", "never"), ("transfer_max_points", "0")], false).await;
        assert_eq!(ledger.status, 422, "{}", ledger.html);
        assert!(ledger.html.contains("value=\"-3\"") && ledger.html.contains("name=\"earn_points\" value=\"7\""), "{}", ledger.html);
        assert!(!ledger.html.contains("pending_days:") && !ledger.html.contains("expected u32"), "{}", ledger.html);
        assert!(ledger.html.contains("روزهای انتظار") || ledger.html.contains("انتظار"), "{}", ledger.html);

        let rules = b.get("/settings/rules").await;
        let cel = b.post_raw("/settings/rules", &[("csrf", &rules.csrf()), ("name", "یلدا"), ("rule_name", "دوبرابر"), ("condition", "purchase.total >"), ("effect", "fixed_bonus"), ("effect_value", "50")], false).await;
        assert_eq!(cel.status, 422, "{}", cel.html);
        assert!(cel.html.contains("value=\"یلدا\"") && cel.html.contains("data-test=\"cel\">purchase.total &#62;</textarea>") && cel.html.contains("خط ۱، ستون ۱۷"), "{}", cel.html);
        assert!(cel.html.contains("value=\"fixed_bonus\" selected"), "{}", cel.html);

        let coupons = b.get("/settings/coupons").await;
        let nope = b.post_raw("/settings/coupons", &[("csrf", &coupons.csrf()), ("name", "یلدا"), ("pattern", "TAJRISH-####-####"), ("count", "5"), ("discount", "10"), ("min_cart", "lots")], false).await;
        assert_eq!(nope.status, 422, "{}", nope.html);
        assert!(nope.html.contains("value=\"TAJRISH-####-####\"") && nope.html.contains("value=\"lots\""), "{}", nope.html);

        // A pattern reads left to right on the Persian page; placeholders in Persian digits.
        app.post("/api/v1/coupon-batches", json!({"name": "تجریش", "pattern": "TAJRISH-####-####", "count": 2, "rules": {"discount": {"type": "percent", "percent": "10"}}})).await.ok(201);
        let listed = b.get("/settings/coupons").await;
        assert!(listed.html.contains("\u{2066}TAJRISH-####-####\u{2069}"), "{}", listed.html);
        let c360 = b.get(&format!("/customers/{cid}")).await;
        for typed in ["placeholder=\"مثلاً شکایت\"", "placeholder=\"۱۴۰۵/۰۹/۲۰ ۱۶:۰۰\""] {
            assert!(c360.html.contains(typed), "{typed}: {}", c360.html);
        }
        assert!(!c360.html.contains("placeholder=\"complaint\""));

        let rewards = b.get("/settings/rewards").await;
        let bad = b.post_raw("/settings/rewards", &[("csrf", &rewards.csrf()), ("name", "قهوه"), ("kind", "fixed_discount"), ("value", "5000"), ("cost_points", "ten")], false).await;
        assert_eq!(bad.status, 422, "{}", bad.html);
        assert!(bad.html.contains("value=\"قهوه\"") && bad.html.contains("value=\"fixed_discount\" selected") && bad.html.contains("value=\"ten\""), "{}", bad.html);
    })
    .await;
}
