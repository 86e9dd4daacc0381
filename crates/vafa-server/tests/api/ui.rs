//! The dashboard over HTTP: sign-in with a key, roles, Persian and English, the charts.

use crate::helpers::each_app;
use reqwest::Method;
use vafa_core::auth::Role;

#[tokio::test]
async fn dashboard_signs_in_draws_and_switches_language() {
    each_app(|app| async move {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let get = |path: &str, cookie: &str| {
            let req = client.get(format!("{}{path}", app.base));
            let req = if cookie.is_empty() {
                req
            } else {
                req.header("cookie", cookie)
            };
            req.send()
        };
        // Not signed in: to the sign-in page, Persian and right to left by default.
        let res = get("/", "").await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/login");
        let login = get("/login", "").await.unwrap().text().await.unwrap();
        assert!(login.contains(r#"<html lang="fa" dir="rtl">"#), "{login}");
        assert!(login.contains("کلید API"));

        let post = |key: &str| {
            client
                .post(format!("{}/login", app.base))
                .form(&[("api_key", key)])
                .send()
        };
        let bad = post("vk_nope").await.unwrap();
        assert_eq!(bad.status(), 401);
        assert!(bad.text().await.unwrap().contains("شناخته نشد"));

        // Some sales so the charts have something to draw.
        let c = app
            .create_customer(crate::helpers::customer("Ava", "09121110000"))
            .await;
        for (i, amount) in ["450000", "1200000"].iter().enumerate() {
            app.post_idem(
                "/api/v1/purchases",
                &format!("ui-{i}"),
                serde_json::json!({
                "customer_id": c["id"], "external_id": format!("UI-{i}"),
                "total": {"amount": amount, "currency": "IRR"}}),
            )
            .await
            .ok(201);
        }

        let analyst = app.key(&app.program_id, Role::Analyst).await;
        let ok = post(&analyst).await.unwrap();
        assert_eq!(ok.status(), 303);
        let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let page = get("/", &cookie).await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("<svg") && html.contains("<polyline"),
            "charts drawn"
        );
        assert!(html.contains("مشتریان فعال"), "Persian labels");
        assert!(
            html.contains("۱۶۵٬۰۰۰ تومان"),
            "revenue in toman with Persian digits: {html}"
        );
        assert!(!html.contains("<script"), "no scripts");

        // English, switched by a cookie the language link sets.
        let switch = get("/lang/en", &cookie).await.unwrap();
        assert_eq!(switch.status(), 303);
        let lang = switch.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let html = get("/", &format!("{cookie}; {lang}"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(r#"<html lang="en" dir="ltr">"#));
        assert!(
            html.contains("Active customers") && html.contains("165,000 toman"),
            "{html}"
        );

        // A cashier's key signs in but does not see the numbers.
        let cashier = app.key(&app.program_id, Role::Cashier).await;
        let res = post(&cashier).await.unwrap();
        let cc = res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let res = get("/", &cc).await.unwrap();
        assert_eq!(res.status(), 403);
        // Signing out clears the cookie.
        let out = client
            .post(format!("{}/logout", app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert!(out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
        let css = app.raw(Method::GET, "/ui.css", None, None).await;
        assert!(css.content_type.starts_with("text/css"));
    })
    .await;
}
