//! The admin UI over HTTP on every backend: staff sign-in and sessions, CSRF, roles, the
//! cashier's quote and purchase (tier discount and points), every page in Persian and
//! English, and the settings, CRM and segment forms writing through the API.

use crate::browser::{value_after, Browser};
use crate::helpers::{customer, each_app, TestApp};
use serde_json::{json, Value};
use vafa_server::clock::Clock;

const PASSWORD: &str = "correct horse 1";

async fn staff(app: &TestApp, username: &str, role: &str) -> String {
    let s = app
        .post(
            "/api/v1/staff",
            json!({"username": username, "name": format!("{username} کارمند"), "role": role, "password": PASSWORD}),
        )
        .await
        .ok(201)
        .clone();
    s["id"].as_str().unwrap().to_owned()
}

/// A ladder whose first tier already gives 10% off, and a customer with 500 points.
async fn counter_setup(app: &TestApp) -> Value {
    app.call(
        reqwest::Method::PUT,
        "/api/v1/tiers",
        &app.admin_key,
        Some(json!({"metric": "spend", "window": {"kind": "lifetime"}, "tiers": [
            {"code": "regular", "name": "عادی", "name_en": "Regular", "threshold": 0, "discount_percent": "10"},
            {"code": "gold", "name": "طلایی", "name_en": "Gold", "threshold": 100000000, "discount_percent": "20"}]})),
    )
    .await
    .ok(200);
    let c = app
        .create_customer(
            json!({"first_name": "لیلا", "last_name": "کریمی", "mobile": "09121234567"}),
        )
        .await;
    let id = c["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/customers/{id}/adjustments"),
        json!({"points": 500, "reason": "opening"}),
    )
    .await
    .ok(201);
    c
}

#[tokio::test]
async fn staff_sign_in_roles_and_csrf() {
    each_app(|app| async move {
        staff(&app, "till", "cashier").await;
        let b = Browser::new(&app);
        // Not signed in: the login page, Persian and right to left.
        let home = b.get("/").await;
        assert_eq!((home.status, home.location()), (303, "/login"));
        let login = b.get("/login").await;
        assert!(login.html.contains(r#"<html lang="fa" dir="rtl">"#));
        let token = value_after(&login.html, "name=\"token\" value=\"");
        let wrong = b
            .post_raw(
                "/login",
                &[
                    ("username", "till"),
                    ("password", "nope nope"),
                    ("token", &token),
                ],
                false,
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert!(
            wrong.html.contains("نام کاربری یا رمز عبور درست نیست"),
            "{}",
            wrong.html
        );
        // Without the form's token (a forged cross-site login) nothing is checked.
        let forged = b
            .post_raw(
                "/login",
                &[("username", "till"), ("password", PASSWORD), ("token", "x")],
                false,
            )
            .await;
        assert_eq!(forged.status, 403);

        // A cashier starts at the counter and sees no settings.
        let page = b.login("till", PASSWORD).await;
        assert_eq!(page.status, 200);
        assert!(page.html.contains("صندوق") && !page.html.contains("href=\"/settings\""));
        let session = b.cookie("vafa_session").unwrap();
        assert_eq!(b.get("/settings").await.status, 403);
        assert_eq!(b.get("/dashboard").await.status, 403);
        assert_eq!(b.get("/segments").await.status, 403);

        // A write without the session's CSRF token is refused before anything happens.
        let c = app.create_customer(customer("Ava", "09121110000")).await;
        let id = c["id"].as_str().unwrap();
        let forged = b
            .post_raw(
                "/cashier/purchase",
                &[("customer_id", id), ("amount", "100000"), ("csrf", "wrong")],
                true,
            )
            .await;
        assert_eq!(forged.headers["vafa-status"], "403");
        let ledger = app
            .get(&format!("/api/v1/customers/{id}/ledger"))
            .await
            .ok(200)
            .clone();
        assert_eq!(ledger["items"], json!([]), "nothing was written");

        // An API key is not a UI session.
        let key_browser = Browser::new(&app);
        key_browser.set_cookie("vafa_session", &app.admin_key);
        assert_eq!(key_browser.get("/cashier").await.location(), "/login");

        // Signing out ends the session: the old cookie no longer opens a page.
        let out = b.post("/logout", &[]).await;
        assert_eq!(out.status, 303);
        let stale = Browser::new(&app);
        stale.set_cookie("vafa_session", &session);
        assert_eq!(stale.get("/cashier").await.location(), "/login");

        // Customer care starts at its own work, the CRM.
        staff(&app, "care", "support").await;
        let care = Browser::new(&app);
        care.login("care", PASSWORD).await;
        assert_eq!(care.get("/").await.location(), "/crm");
    })
    .await;
}

#[tokio::test]
async fn cashier_sells_with_the_tier_discount_and_points_once() {
    each_app(|app| async move {
        let c = counter_setup(&app).await;
        let id = c["id"].as_str().unwrap().to_owned();
        staff(&app, "till", "cashier").await;
        let b = Browser::new(&app);
        b.login("till", PASSWORD).await;

        // One field finds the customer, even with Persian digits.
        let panel = b.hx_get("/cashier/find?q=%DB%B0%DB%B9%DB%B1%DB%B2%DB%B1%DB%B2%DB%B3%DB%B4%DB%B5%DB%B6%DB%B7").await;
        assert_eq!(panel.status, 200);
        assert!(panel.html.contains("لیلا کریمی"), "{}", panel.html);
        assert!(panel.html.contains("۱۰٪ تخفیف") && panel.html.contains("عادی"));
        assert!(panel.html.contains(">۵۰۰<"), "500 points available");
        let sale_key = value_after(&panel.html, "name=\"sale_key\" value=\"");

        // The quote: 200,000 toman, 10% off, 100 points (1,000 toman at 10 toman each).
        let sale = [
            ("customer_id", id.as_str()),
            ("amount", "۲۰۰٬۰۰۰"),
            ("points", "100"),
            ("sale_key", sale_key.as_str()),
        ];
        let quote = b.post("/cashier/quote", &sale).await;
        assert!(quote.html.contains("تخفیف سطح عادی"), "{}", quote.html);
        assert!(quote.html.contains("۲۰٬۰۰۰ تومان"), "the tier discount");
        assert!(quote.html.contains("پرداخت با ۱۰۰ امتیاز"));
        assert!(quote.html.contains("۱۷۹٬۰۰۰ تومان"), "to pay: 200,000 − 20,000 − 1,000");

        // Recorded once, however often the button is pressed.
        let receipt = b.post("/cashier/purchase", &sale).await;
        assert!(receipt.html.contains("خرید ثبت شد"), "{}", receipt.html);
        let again = b.post("/cashier/purchase", &sale).await;
        assert!(again.html.contains("خرید ثبت شد"));
        let ledger = app.get(&format!("/api/v1/customers/{id}/ledger")).await.ok(200).clone();
        let purchases: Vec<&Value> = ledger["items"].as_array().unwrap().iter().filter(|e| e["type"] == "purchase").collect();
        assert_eq!(purchases.len(), 1, "{ledger}");
        let bal = app.get(&format!("/api/v1/customers/{id}/balance")).await.ok(200).clone();
        // 500 − 100 spent + 179 earned (1 per 10,000 rials of 1,790,000 paid).
        assert_eq!(bal["points"]["available"], 579, "{bal}");

        // Bad input: the field is named, nothing is written.
        let bad = b.post("/cashier/quote", &[("customer_id", id.as_str()), ("amount", "ده")]).await;
        assert_eq!(bad.headers["vafa-status"], "422");
        assert!(bad.html.contains("مبلغ"), "{}", bad.html);
        let broke = b.post("/cashier/redeem", &[("customer_id", id.as_str()), ("points", "100000"), ("redeem_key", "r1")]).await;
        assert!(broke.html.contains("امتیاز کافی نیست"), "{}", broke.html);

        // A new customer registered at the counter, then their mobile is taken.
        let fresh = b.hx_get("/cashier/find?q=09351112233").await;
        assert!(fresh.html.contains("ثبت مشتری تازه") && fresh.html.contains("+989351112233"));
        let made = b.post("/cashier/register", &[("mobile", "09351112233"), ("first_name", "سارا"), ("sms", "on")]).await;
        assert!(made.html.contains("data-test=\"customer-panel\"") && made.html.contains("سارا"), "{}", made.html);
        let twice = b.post("/cashier/register", &[("mobile", "09351112233"), ("first_name", "سارا")]).await;
        assert!(twice.html.contains("این موبایل قبلاً ثبت شده است"), "{}", twice.html);
    })
    .await;
}

#[tokio::test]
async fn cashier_finds_by_card_takes_a_coupon_and_spends_points() {
    each_app(|app| async move {
        let c = counter_setup(&app).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let card = app
            .post("/api/v1/cards", json!({"customer_id": id}))
            .await
            .ok(201)
            .clone();
        let number = card["cards"][0]["number"].as_str().unwrap().to_owned();
        app.post(
            "/api/v1/coupon-batches",
            json!({"name": "Yalda", "code": "YALDA",
            "rules": {"discount": {"type": "amount", "amount_minor": 200000}}}),
        )
        .await
        .ok(201);
        staff(&app, "till", "cashier").await;
        let b = Browser::new(&app);
        b.login("till", PASSWORD).await;

        // The card number, typed with Persian digits, finds its holder.
        let typed = vafa_core::digits::to_persian_digits(&number);
        let panel = b
            .hx_get(&format!("/cashier/find?q={}", urlencode(&typed)))
            .await;
        assert!(panel.html.contains("لیلا کریمی"), "{}", panel.html);
        let sale_key = value_after(&panel.html, "name=\"sale_key\" value=\"");
        let unknown = b.hx_get("/cashier/find?q=7000000000000002").await;
        assert!(!unknown.html.contains("لیلا کریمی"));

        // 100,000 toman, 10% off for the tier, then the YALDA code takes 20,000 toman.
        let sale = [
            ("customer_id", id.as_str()),
            ("amount", "100000"),
            ("coupon", "YALDA"),
            ("sale_key", sale_key.as_str()),
        ];
        let quote = b.post("/cashier/quote", &sale).await;
        // The code isolated left to right inside the Persian line.
        assert!(
            quote.html.contains("کد تخفیف \u{2066}YALDA\u{2069}"),
            "{}",
            quote.html
        );
        assert!(
            quote.html.contains("۷۰٬۰۰۰ تومان"),
            "to pay: 100,000 − 10,000 − 20,000: {}",
            quote.html
        );
        let wrong = b
            .post(
                "/cashier/quote",
                &[
                    ("customer_id", id.as_str()),
                    ("amount", "100000"),
                    ("coupon", "NOPE"),
                ],
            )
            .await;
        assert!(wrong.html.contains("NOPE"), "{}", wrong.html);
        let receipt = b.post("/cashier/purchase", &sale).await;
        assert!(receipt.html.contains("خرید ثبت شد"), "{}", receipt.html);
        let ledger = app
            .get(&format!("/api/v1/customers/{id}/ledger"))
            .await
            .ok(200)
            .clone();
        let sold = ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "purchase")
            .unwrap()
            .clone();
        let purchase = app
            .get(&format!(
                "/api/v1/purchases/{}",
                sold["reference"].as_str().unwrap()
            ))
            .await
            .ok(200)
            .clone();
        assert_eq!(purchase["coupons"], json!(["YALDA"]), "{purchase}");
        assert_eq!(
            (
                purchase["cart_total"]["amount"].as_str(),
                purchase["discount"]["amount"].as_str(),
                purchase["total"]["amount"].as_str()
            ),
            (Some("1000000"), Some("300000"), Some("700000")),
            "1,000,000 rials less 10% and the coupon's 200,000: {purchase}"
        );
        let bal = app
            .get(&format!("/api/v1/customers/{id}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            bal["points"]["available"], 570,
            "500 + 70 earned on 700,000 rials: {bal}"
        );

        // Points spent alone, once however often the button is pressed.
        let spend = [
            ("customer_id", id.as_str()),
            ("points", "۱۲۰"),
            ("redeem_key", "counter-1"),
        ];
        let spent = b.post("/cashier/redeem", &spend).await;
        assert!(
            spent.html.contains("امتیاز خرج شد") && spent.html.contains("پرداخت با ۱۲۰ امتیاز"),
            "{}",
            spent.html
        );
        assert!(
            spent.html.contains("۱٬۲۰۰ تومان"),
            "120 points at 10 toman each: {}",
            spent.html
        );
        b.post("/cashier/redeem", &spend).await;
        let bal = app
            .get(&format!("/api/v1/customers/{id}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(bal["points"]["available"], 450, "{bal}");
        let redemptions = app
            .get(&format!("/api/v1/customers/{id}/ledger"))
            .await
            .ok(200)
            .clone();
        let n = redemptions["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "redemption")
            .count();
        assert_eq!(n, 1, "recorded once");
    })
    .await;
}

/// What askama escaped in an attribute, as the browser reads it back.
fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A quote is for the sale as typed: the record button sends the form as it is on screen
/// with what was quoted, and a form changed since is refused (nothing recorded). A
/// refused spend or reward code is shown under its field, the panel kept.
#[tokio::test]
async fn cashier_refuses_a_stale_quote_and_keeps_the_panel_on_a_refusal() {
    each_app(|app| async move {
        let c = counter_setup(&app).await;
        let id = c["id"].as_str().unwrap().to_owned();
        staff(&app, "till", "cashier").await;
        let b = Browser::new(&app);
        b.login("till", PASSWORD).await;
        let panel = b.hx_get(&format!("/cashier/customer/{id}")).await;
        assert!(panel.html.contains("id=\"sale-form\""), "{}", panel.html);
        assert!(
            panel.html.contains("id=\"redeem-problem\"")
                && panel.html.contains("id=\"code-problem\"")
        );
        let sale_key = value_after(&panel.html, "name=\"sale_key\" value=\"");

        // Spending alone: too many, a word, zero, negative; a reward code that is none.
        for (typed, says) in [
            ("99999", "امتیاز کافی نیست"),
            ("abc", "امتیاز"),
            ("0", "امتیاز"),
            ("-5", "امتیاز"),
        ] {
            let r = b
                .post(
                    "/cashier/redeem",
                    &[
                        ("customer_id", id.as_str()),
                        ("points", typed),
                        ("redeem_key", "spend-1"),
                    ],
                )
                .await;
            assert_eq!(
                r.headers["hx-retarget"], "#redeem-problem",
                "{typed}: {}",
                r.html
            );
            assert_eq!(r.headers["vafa-status"], "422", "{typed}: {}", r.html);
            assert!(
                r.html.contains(says) && !r.html.contains("customer-panel"),
                "{typed}: {}",
                r.html
            );
        }
        let short = b
            .post(
                "/cashier/redeem",
                &[
                    ("customer_id", id.as_str()),
                    ("points", "99999"),
                    ("redeem_key", "spend-2"),
                ],
            )
            .await;
        assert!(
            short.html.contains("امتیاز قابل استفاده‌ی این مشتری: ۵۰۰"),
            "the balance is said: {}",
            short.html
        );
        let code = b.post("/cashier/code", &[("code", "NOPE-123")]).await;
        assert_eq!(
            code.headers["hx-retarget"], "#code-problem",
            "{}",
            code.html
        );
        assert!(
            !code.html.contains("customer-panel")
                && code.html.contains("کد جایزه‌ای با این شماره نیست"),
            "{}",
            code.html
        );

        // Quoted at 1,250,000 toman with 500 points; the amount then changed to 200,000.
        let quoted_sale = [
            ("customer_id", id.as_str()),
            ("amount", "۱٬۲۵۰٬۰۰۰"),
            ("points", "500"),
            ("sale_key", sale_key.as_str()),
        ];
        let quote = b.post("/cashier/quote", &quoted_sale).await;
        assert!(
            quote.html.contains("hx-include=\"#sale-form\""),
            "{}",
            quote.html
        );
        assert!(
            !quote.html.contains("name=\"amount\""),
            "no copy of the old amount: {}",
            quote.html
        );
        let quoted = unescape(&value_after(&quote.html, "name=\"quoted\" value=\""));
        let stale = b
            .post(
                "/cashier/purchase",
                &[
                    ("quoted", quoted.as_str()),
                    ("customer_id", id.as_str()),
                    ("amount", "۲۰۰٬۰۰۰"),
                    ("points", "500"),
                    ("sale_key", sale_key.as_str()),
                ],
            )
            .await;
        assert_eq!(stale.headers["hx-retarget"], "#quote", "{}", stale.html);
        assert!(
            stale.html.contains("دوباره «محاسبه» را بزنید"),
            "{}",
            stale.html
        );
        let ledger = app
            .get(&format!("/api/v1/customers/{id}/ledger"))
            .await
            .ok(200)
            .clone();
        assert!(
            !ledger["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["type"] == "purchase"),
            "nothing recorded: {ledger}"
        );

        // The form as quoted is recorded, at what the form says.
        let mut sent = vec![("quoted", quoted.as_str())];
        sent.extend_from_slice(&quoted_sale);
        let receipt = b.post("/cashier/purchase", &sent).await;
        assert!(receipt.html.contains("خرید ثبت شد"), "{}", receipt.html);
        let ledger = app
            .get(&format!("/api/v1/customers/{id}/ledger"))
            .await
            .ok(200)
            .clone();
        let sold = ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "purchase")
            .unwrap()
            .clone();
        let purchase = app
            .get(&format!(
                "/api/v1/purchases/{}",
                sold["reference"].as_str().unwrap()
            ))
            .await
            .ok(200)
            .clone();
        assert_eq!(purchase["cart_total"]["amount"], "12500000", "{purchase}");
    })
    .await;
}

/// The dashboard draws the program's own numbers: two customers, one of them back for a
/// second month, sales in Mehr and Azar 1405 (the test clock is 2 Azar).
#[tokio::test]
async fn the_dashboard_draws_the_programs_numbers() {
    each_app(|app| async move {
        let a = app.create_customer(customer("Ava", "09121110001")).await;
        let b_ = app.create_customer(customer("Bita", "09121110002")).await;
        let sale = |id: &Value, receipt: &str, rials: &str, at: &str| {
            json!({"customer_id": id["id"], "external_id": receipt, "occurred_at": at,
                   "total": {"amount": rials, "currency": "IRR"}})
        };
        for body in [
            sale(&a, "R-1", "300000", "2026-10-01T09:00:00Z"),
            sale(&a, "R-2", "200000", "2026-11-22T09:00:00Z"),
            sale(&b_, "R-3", "100000", "2026-11-22T10:00:00Z"),
        ] {
            app.post("/api/v1/purchases", body).await.ok(201);
        }
        staff(&app, "eli", "analyst").await;
        let b = Browser::new(&app);
        b.login("eli", PASSWORD).await;
        let dash = b.get("/dashboard").await.html;
        for title in [
            "درآمد ماهانه (تومان)",
            "خریداران بازگشتی در هر ماه (٪)",
            "منحنی پارتو",
            "ماندگاری گروه‌های ماهانه",
            "امتیازهای این بازه",
            "بدهی امتیاز بر اساس زمان انقضا",
            "مشتریان در هر سطح",
        ] {
            assert!(dash.contains(title), "{title} missing: {dash}");
        }
        // Revenue by Jalali month, in toman: Mehr 30,000; Azar 20,000 + 10,000.
        assert!(dash.contains("<title>مهر: ۳۰٬۰۰۰ تومان</title>"), "{dash}");
        assert!(dash.contains("<title>آذر: ۳۰٬۰۰۰ تومان</title>"), "{dash}");
        assert!(dash.contains("<title>آبان: ۰ تومان</title>"), "{dash}");
        // Azar's buyers: one back from Mehr, one new — half of them repeat.
        assert!(dash.contains("<title>آذر: ۵۰"), "{dash}");
        // The last 30 days: two active customers and 30,000 toman.
        let kpis = &dash[dash.find("data-test=\"kpis\"").unwrap()..];
        assert!(
            kpis.contains("<span>درآمد</span><b>۳۰٬۰۰۰ تومان</b>"),
            "{kpis}"
        );
        assert!(kpis.contains("<b>۲</b>"), "{kpis}");
        // Retention is against the period of the same length before: its note says so.
        assert!(kpis.contains("از مشتریان ۳۰ روز پیش از آن"), "{kpis}");
        let week = b.get("/dashboard?from=1405/09/01&to=1405/09/07").await.html;
        assert!(week.contains("از مشتریان ۷ روز پیش از آن"), "{week}");
        // In English: the same figures, Latin digits, the Jalali months by their names.
        b.post("/lang", &[("lang", "en")]).await;
        let en = b.get("/dashboard").await.html;
        assert!(en.contains("<title>Azar: 30,000 toman</title>"), "{en}");
    })
    .await;
}

/// The analyst chooses the period in the address (`?from=…&to=…`, Jalali or ISO, any
/// digits) or by a quick choice; the figures follow it, the range reads in the page's
/// calendar, and a date that is not one (or a start after the end) draws the page again
/// with what was typed and why beside the field, 422. The feedback and RFM pages too.
#[tokio::test]
async fn reports_take_a_chosen_period() {
    each_app(|app| async move {
        let a = app.create_customer(customer("Ava", "09121110001")).await;
        let b_ = app.create_customer(customer("Bita", "09121110002")).await;
        let sale = |id: &Value, receipt: &str, rials: &str, at: &str| {
            json!({"customer_id": id["id"], "external_id": receipt, "occurred_at": at,
                   "total": {"amount": rials, "currency": "IRR"}})
        };
        for body in [
            sale(&a, "R-1", "300000", "2026-10-01T09:00:00Z"),
            sale(&a, "R-2", "200000", "2026-11-22T09:00:00Z"),
            sale(&b_, "R-3", "100000", "2026-11-22T10:00:00Z"),
        ] {
            app.post("/api/v1/purchases", body).await.ok(201);
        }
        app.post(
            "/api/v1/feedback",
            json!({"kind": "nps", "score": 9, "customer_id": a["id"]}),
        )
        .await
        .ok(201);
        staff(&app, "boss", "admin").await;
        let b = Browser::new(&app);
        b.login("boss", PASSWORD).await;
        let kpis = |html: &str| html[html.find("data-test=\"kpis\"").unwrap()..].to_owned();

        // Default: the last 30 days (R-2 and R-3), with the form and quick choices.
        let dash = b.get("/dashboard").await;
        assert_eq!(dash.status, 200, "{}", dash.html);
        assert!(
            dash.html.contains("data-test=\"period-form\"")
                && dash.html.contains("۳ آبان ۱۴۰۵ تا ۲ آذر ۱۴۰۵"),
            "{}",
            dash.html
        );
        assert!(
            dash.html.contains("value=\"۱۴۰۵/۰۸/۰۳\"")
                && dash.html.contains("value=\"۱۴۰۵/۰۹/۰۲\""),
            "{}",
            dash.html
        );
        for quick in [
            "۷ روز گذشته",
            "۹۰ روز گذشته",
            "این ماه (آذر)",
            "امسال (۱۴۰۵)",
        ] {
            assert!(dash.html.contains(quick), "{quick}: {}", dash.html);
        }
        assert!(
            dash.html
                .contains("href=\"/dashboard?from=2026-10-25&#38;to=2026-11-23\" class=\"active\""),
            "30 days is the choice shown: {}",
            dash.html
        );
        assert!(
            kpis(&dash.html).contains("<span>درآمد</span><b>۳۰٬۰۰۰ تومان</b>"),
            "{}",
            dash.html
        );

        // Mehr 1405, typed in Jalali with Persian digits: R-1 alone, one customer.
        let mehr = b
            .get(&format!(
                "/dashboard?from={}&to={}",
                urlencode("۱۴۰۵/۰۷/۰۱"),
                urlencode("1405/7/30")
            ))
            .await;
        assert_eq!(mehr.status, 200, "{}", mehr.html);
        assert!(
            mehr.html.contains("۱ مهر ۱۴۰۵ تا ۳۰ مهر ۱۴۰۵"),
            "{}",
            mehr.html
        );
        let k = kpis(&mehr.html);
        assert!(
            k.contains("<span>درآمد</span><b>۳۰٬۰۰۰ تومان</b>")
                && k.contains("<span>مشتریان فعال</span><b>۱</b>"),
            "{k}"
        );
        // ISO: September through today, all three sales.
        let iso = b.get("/dashboard?from=2026-09-01&to=2026-11-23").await;
        assert!(
            kpis(&iso.html).contains("<span>درآمد</span><b>۶۰٬۰۰۰ تومان</b>"),
            "{}",
            iso.html
        );
        assert!(
            iso.html.contains("value=\"۱۴۰۵/۰۶/۱۰\""),
            "shown in Jalali: {}",
            iso.html
        );

        // Not a date, no such day, a start after the end: 422, typed kept, why by the field.
        let bad = b
            .get(&format!(
                "/dashboard?from={}&to=1405/09/01",
                urlencode("فردا")
            ))
            .await;
        assert_eq!(bad.status, 422, "{}", bad.html);
        assert!(
            bad.html
                .contains("id=\"period-from-problem\">از: تاریخ نیست؛ مثلاً ۱۴۰۵/۰۹/۰۲<")
                && bad.html.contains("value=\"فردا\"")
                && bad.html.contains("value=\"1405/09/01\""),
            "{}",
            bad.html
        );
        assert!(
            bad.html.contains("data-test=\"kpis\"") && bad.html.contains("<svg"),
            "no dead end: {}",
            bad.html
        );
        let no_day = b.get("/dashboard?from=1405/01/01&to=1405/12/31").await;
        assert_eq!(no_day.status, 422, "Esfand has no 31st: {}", no_day.html);
        assert!(
            no_day
                .html
                .contains("id=\"period-to-problem\">تا: چنین روزی در تقویم نیست<"),
            "{}",
            no_day.html
        );
        let backwards = b.get("/dashboard?from=1405/09/01&to=1405/08/01").await;
        assert_eq!(backwards.status, 422, "{}", backwards.html);
        assert!(
            backwards
                .html
                .contains("id=\"period-from-problem\">از: بعد از پایان بازه است<"),
            "{}",
            backwards.html
        );

        // Feedback: the answer is on 2 Azar; Mehr has none, 2 Azar alone has it.
        let none = b.get("/crm/feedback?from=1405/07/01&to=1405/07/30").await;
        assert_eq!(none.status, 200, "{}", none.html);
        assert!(
            none.html.contains("<span>پاسخ‌های NPS</span><b>۰</b>")
                && none.html.contains("data-test=\"period-form\""),
            "{}",
            none.html
        );
        let day = b.get("/crm/feedback?from=1405/09/02&to=2026-11-23").await;
        assert!(
            day.html.contains("<span>پاسخ‌های NPS</span><b>۱</b>")
                && day.html.contains("۲ آذر ۱۴۰۵ تا ۲ آذر ۱۴۰۵"),
            "{}",
            day.html
        );
        let bad = b.get("/crm/feedback?to=31/02/2026").await;
        assert_eq!(bad.status, 422, "{}", bad.html);
        assert!(
            bad.html.contains("id=\"period-to-problem\"")
                && bad.html.contains("value=\"31/02/2026\""),
            "{}",
            bad.html
        );
        // RFM: the window is the period (Mehr: one customer).
        let rfm = b.get("/segments?from=1405/07/01&to=1405/07/30").await;
        assert_eq!(rfm.status, 200, "{}", rfm.html);
        assert!(
            rfm.html.contains("۱ مهر ۱۴۰۵ تا ۳۰ مهر ۱۴۰۵") && rfm.html.contains("۳۰ روز"),
            "{}",
            rfm.html
        );

        // English: ISO in the fields, the range in the program's (Jalali) calendar.
        b.post("/lang", &[("lang", "en")]).await;
        let en = b.get("/dashboard?from=1405/07/01&to=1405/07/30").await;
        assert!(
            en.html.contains("value=\"2026-09-23\"") && en.html.contains("value=\"2026-10-22\""),
            "{}",
            en.html
        );
        assert!(
            en.html.contains("1 Mehr 1405 – 30 Mehr 1405") && en.html.contains("Last 7 days"),
            "{}",
            en.html
        );
        let bad = b.get("/dashboard?from=2026-02-30").await;
        assert_eq!(bad.status, 422, "{}", bad.html);
        assert!(
            bad.html.contains(">From: is not a day in the calendar<"),
            "{}",
            bad.html
        );
    })
    .await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every page an admin opens, with what identifies it.
const PAGES: [(&str, &str); 13] = [
    ("/dashboard", "<svg"),
    ("/cashier", "data-test=\"find\""),
    ("/customers", "<table"),
    ("/crm", "data-test=\"tickets\""),
    ("/crm?view=breached", "data-test=\"tickets\""),
    ("/crm/tasks", "<table"),
    ("/crm/feedback", "data-test=\"performance\""),
    ("/segments", "data-test=\"rfm\""),
    ("/settings", "data-test=\"ledger-form\""),
    ("/settings/rules", "data-test=\"campaign-form\""),
    ("/settings/tiers", "data-test=\"tier-form\""),
    ("/settings/rewards", "<table"),
    ("/settings/coupons", "<table"),
];

#[tokio::test]
async fn every_page_renders_in_both_languages_and_the_forms_write_through_the_api() {
    each_app(|app| async move {
        let c = counter_setup(&app).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        app.post("/api/v1/purchases", json!({"customer_id": cid, "external_id": "R-1", "total": {"amount": "900000", "currency": "IRR"}}))
            .await
            .ok(201);
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_mins(5));
        let ticket = app.post("/api/v1/tickets", json!({"customer_id": cid, "subject": "قهوه سرد بود", "priority": "high"})).await.ok(201).clone();
        let tid = ticket["id"].as_str().unwrap().to_owned();
        app.post("/api/v1/feedback", json!({"kind": "nps", "score": 9, "customer_id": cid, "comment": "عالی"})).await.ok(201);
        staff(&app, "boss", "admin").await;
        let b = Browser::new(&app);
        b.login("boss", PASSWORD).await;

        for lang in ["fa", "en"] {
            if lang == "en" {
                let switched = b.post("/lang", &[("lang", "en"), ("back", "/dashboard")]).await;
                assert_eq!((switched.status, switched.location()), (303, "/dashboard"));
            }
            let dir = if lang == "fa" { "rtl" } else { "ltr" };
            for (path, marker) in PAGES.iter().copied().chain([
                (format!("/customers/{cid}").as_str(), "data-test=\"customer-360\""),
                (format!("/crm/tickets/{tid}").as_str(), "T-"),
            ]) {
                let page = b.get(path).await;
                assert_eq!(page.status, 200, "{lang} {path}: {}", page.html);
                assert!(page.html.contains(&format!("<html lang=\"{lang}\" dir=\"{dir}\">")), "{lang} {path}");
                assert!(page.html.contains(marker), "{lang} {path} lacks {marker}");
                // Scripts come from the server's own files only; nothing inline.
                assert_eq!(page.html.matches("<script").count(), page.html.matches("<script src=\"/assets/").count(), "{path}");
                let csp = page.headers["content-security-policy"].to_str().unwrap();
                assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"));
            }
        }
        // The language is the member's: a new session keeps it.
        let again = Browser::new(&app);
        let page = again.login("boss", PASSWORD).await;
        assert!(page.html.contains("<html lang=\"en\" dir=\"ltr\">"));
        b.post("/lang", &[("lang", "fa")]).await;

        // The dashboard counts customers per tier (one, in the first tier) and the sale.
        let dash = b.get("/dashboard").await.html;
        assert!(dash.contains("<title>عادی: ۱</title>") && dash.contains("<title>طلایی: ۰</title>"), "{dash}");

        // The customer 360 shows the purchase, the ticket and the feedback.
        let c360 = b.get(&format!("/customers/{cid}")).await.html;
        assert!(c360.contains("لیلا کریمی") && c360.contains("قهوه سرد بود") && c360.contains("عالی"), "{c360}");
        assert!(c360.contains("۹۰٬۰۰۰ تومان"), "the purchase on the timeline");

        // Settings: the return window, then rials instead of toman.
        let saved = b.post("/settings/ledger", &[("earn_points", "1"), ("earn_per", "1000"), ("cashback_percent", "0"), ("point_value", "10"), ("pending_days", "3"), ("expiry_kind", "months"), ("expiry_n", "6"), ("return_policy", "within_balance"), ("transfer_max_points", "1000")]).await;
        assert_eq!((saved.status, saved.location()), (303, "/settings?saved=1"), "{}", saved.html);
        let s = app.get("/api/v1/program/ledger-settings").await.ok(200).clone();
        assert_eq!((s["pending_days"].as_i64(), s["earn_per_minor"].as_i64(), s["point_value_minor"].as_str()), (Some(3), Some(10000), Some("100")), "{s}");
        assert_eq!(s["expiry"], json!({"kind": "months", "months": 6}));
        let refused = b.post("/settings/ledger", &[("earn_points", "1"), ("earn_per", "0"), ("cashback_percent", "300"), ("point_value", "10"), ("pending_days", "3"), ("expiry_kind", "never"), ("return_policy", "within_balance"), ("transfer_max_points", "1000")]).await;
        assert_eq!(refused.status, 422, "a refused form answers with the refusal's status");
        assert!(refused.html.contains("class=\"problem\""), "{}", refused.html);
        // A cashback or an expiry the form cannot read is refused, not saved as 0% or "never".
        for (field, junk) in [("cashback_percent", "abc"), ("expiry_kind", "zzz"), ("return_policy", "maybe")] {
            let mut form = vec![("earn_points", "1"), ("earn_per", "1000"), ("cashback_percent", "0"), ("point_value", "10"), ("pending_days", "3"), ("expiry_kind", "months"), ("expiry_n", "6"), ("return_policy", "within_balance"), ("transfer_max_points", "1000")];
            form.retain(|(k, _)| *k != field);
            form.push((field, junk));
            let junked = b.post("/settings/ledger", &form).await;
            assert_eq!(junked.status, 422, "{field}: {}", junked.html);
            assert!(junked.html.contains("class=\"problem\""), "{field}: {}", junked.html);
        }
        let s = app.get("/api/v1/program/ledger-settings").await.ok(200).clone();
        assert_eq!(s["expiry"], json!({"kind": "months", "months": 6}), "nothing was saved");
        b.post("/settings/display", &[("money_unit", "rial"), ("calendar", "jalali")]).await;
        assert!(b.get(&format!("/customers/{cid}")).await.html.contains("۹۰۰٬۰۰۰ ریال"));

        // The CEL editor checks as it is typed; a campaign is saved through the API.
        let wrong = b.post("/settings/rules/check", &[("condition", "customer.tier ==")]).await;
        assert!(wrong.html.contains("data-test=\"cel-problem\""), "{}", wrong.html);
        let right = b.post("/settings/rules/check", &[("condition", "customer.tier == 'gold'")]).await;
        assert!(right.html.contains("data-test=\"cel-ok\""));
        let made = b.post("/settings/rules", &[("name", "Gold mornings"), ("rule_name", "double"), ("condition", "time.hour < 11"), ("effect", "multiplier"), ("effect_value", "2")]).await;
        assert_eq!(made.location(), "/settings/rules?saved=1", "{}", made.html);
        let campaigns = app.get("/api/v1/campaigns").await.ok(200).clone();
        assert!(campaigns.as_array().unwrap().iter().any(|c| c["definition"]["name"] == "Gold mornings"));
        let sim = b.post("/settings/rules/simulate", &[("mobile", "09121234567"), ("amount", "500000")]).await;
        assert!(sim.html.contains("data-test=\"simulation\""), "{}", sim.html);
        // In the page's words: the base rule by its Persian name, once; no engine English.
        assert!(sim.html.contains("امتیاز پایه") && !sim.html.contains("Base earning"), "{}", sim.html);
        assert!(!sim.html.contains("points per"), "{}", sim.html);

        // A segment counted live, saved, and exported.
        let count = b.post("/segments/preview", &[("min_purchases", "1")]).await;
        assert!(count.html.contains("۱ مشتری") && count.html.contains("customer.purchase_count &#62;= 1"), "{}", count.html);
        let token = b.csrf.lock().unwrap().clone();
        let seg = b.post_raw("/segments", &[("csrf", &token), ("name", "buyers"), ("min_purchases", "1")], false).await;
        assert_eq!(seg.location(), "/segments?saved=1", "{}", seg.html);
        let list = app.get("/api/v1/segments").await.ok(200).clone();
        let sid = list[0]["id"].as_str().unwrap();
        let csv = b.get(&format!("/segments/{sid}/members.csv")).await;
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(csv.html.contains(&cid));

        // Customer care: a polite template reply and a resolve with goodwill.
        b.post(&format!("/crm/tickets/{tid}/reply"), &[("template", "apology")]).await;
        let resolved = b.post(&format!("/crm/tickets/{tid}/status"), &[("status", "resolved"), ("goodwill_points", "50"), ("key", "k1")]).await;
        assert_eq!(resolved.status, 303, "{}", resolved.html);
        let t = b.get(&format!("/crm/tickets/{tid}")).await.html;
        assert!(t.contains("لیلا کریمی عزیز") && t.contains("حل‌شده"), "{t}");
        let bal = app.get(&format!("/api/v1/customers/{cid}/balance")).await.ok(200).clone();
        assert_eq!(bal["points"]["available"].as_i64().unwrap() + bal["points"]["pending"].as_i64().unwrap(), 500 + 90 + 50, "{bal}");
        assert_eq!(app.store.verify_ledger(Some(&app.program_id)).await.unwrap().problems, Vec::<String>::new());
    })
    .await;
}
