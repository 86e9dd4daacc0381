//! The CRM over HTTP on every backend: staff sign-in and roles, tickets with SLA clocks
//! across a Friday and a holiday, polite templates, goodwill through the ledger, CSAT on
//! close through the token form, tasks and promises, orders, the timeline, performance.

use crate::helpers::{customer, each_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use vafa_core::auth::Role;
use vafa_server::clock::Clock;

/// Create a staff member and sign in; returns (staff id, session token).
async fn staff(app: &TestApp, username: &str, name: &str, role: &str) -> (String, String) {
    let s = app
        .post(
            "/api/v1/staff",
            json!({"username": username, "name": name, "role": role, "password": "correct horse 1"}),
        )
        .await
        .ok(201)
        .clone();
    (
        s["id"].as_str().unwrap().to_owned(),
        sign_in(app, username).await,
    )
}

async fn sign_in(app: &TestApp, username: &str) -> String {
    let body =
        serde_json::to_vec(&json!({"username": username, "password": "correct horse 1"})).unwrap();
    let login = app
        .raw(
            Method::POST,
            "/auth/login",
            None,
            Some(("application/json", body)),
        )
        .await;
    login.ok(200)["token"].as_str().unwrap().to_owned()
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn staff_sign_in_with_passwords_and_act_under_their_role() {
    each_app(|app| async move {
        let bad = app
            .post("/api/v1/staff", json!({"username": "a b", "name": "", "role": "boss", "password": "short"}))
            .await;
        let fields: Vec<&str> = bad.problem(422, "validation_failed")["errors"]
            .as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["username", "name", "role", "password"], "{}", app.backend);
        let (sara, token) = staff(&app, "Sara", "سارا محمدی", "support").await;
        app.post("/api/v1/staff", json!({"username": "sara", "name": "x", "role": "cashier", "password": "12345678"}))
            .await
            .problem(409, "duplicate_username");

        let login = |u: &str, p: &str| {
            let body = serde_json::to_vec(&json!({"username": u, "password": p})).unwrap();
            app.raw(Method::POST, "/auth/login", None, Some(("application/json", body)))
        };
        login("sara", "wrong password").await.problem(401, "unauthorized");
        login("nobody", "correct horse 1").await.problem(401, "unauthorized");

        let me = app.call(Method::GET, "/api/v1/me", &token, None).await.ok(200).clone();
        assert_eq!((me["role"].as_str(), me["staff"]["id"].as_str()), (Some("support"), Some(sara.as_str())));
        assert_eq!(me["staff"]["name"], "سارا محمدی");
        // A support agent works with customers but does not manage staff or settings.
        app.call(Method::GET, "/api/v1/customers", &token, None).await.ok(200);
        app.call(Method::GET, "/api/v1/staff", &token, None).await.ok(200);
        app.call(Method::POST, "/api/v1/staff", &token, Some(json!({"username": "x1", "name": "x", "role": "admin", "password": "12345678"})))
            .await
            .problem(403, "forbidden");
        app.call(Method::PUT, "/api/v1/crm/settings", &token, Some(json!({}))).await.problem(403, "forbidden");

        // What a staff member writes is theirs in the audit log.
        let c = app.create_customer(customer("Leila", "09131234567")).await;
        let cid = c["id"].as_str().unwrap();
        let i = app
            .call(Method::POST, &format!("/api/v1/customers/{cid}/interactions"), &token,
                Some(json!({"kind": "call", "direction": "inbound", "summary": "پرسید امتیازش کی قابل استفاده می‌شود"})))
            .await
            .ok(201)
            .clone();
        assert_eq!(i["staff_id"].as_str(), Some(sara.as_str()));
        // Every interaction names its staff member: a key must say who; a support member
        // may not log a colleague's call.
        let path = format!("/api/v1/customers/{cid}/interactions");
        let keyed = app.post(&path, json!({"kind": "visit"})).await;
        assert_eq!(keyed.problem(422, "validation_failed")["field"], "staff_id");
        let (omid, _) = staff(&app, "omid", "امید", "support").await;
        let theirs = app.call(Method::POST, &path, &token, Some(json!({"kind": "call", "staff_id": omid}))).await;
        assert_eq!(theirs.problem(422, "validation_failed")["field"], "staff_id");
        let visit = app.post(&path, json!({"kind": "visit", "staff_id": omid})).await;
        assert_eq!(visit.ok(201)["staff_id"].as_str(), Some(omid.as_str()));

        // A new password ends every session; the old one no longer signs in.
        app.patch(&format!("/api/v1/staff/{sara}"), json!({"password": "another horse 2"})).await.ok(200);
        app.call(Method::GET, "/api/v1/me", &token, None).await.problem(401, "unauthorized");
        login("sara", "correct horse 1").await.problem(401, "unauthorized");
        let t2 = login("SARA", "another horse 2").await.ok(200)["token"].as_str().unwrap().to_owned();
        // Signing out ends the session.
        app.call(Method::POST, "/auth/logout", &t2, None).await.ok(204);
        app.call(Method::GET, "/api/v1/me", &t2, None).await.problem(401, "unauthorized");
        // A disabled member cannot sign in.
        app.patch(&format!("/api/v1/staff/{sara}"), json!({"disabled": true})).await.ok(200);
        login("sara", "another horse 2").await.problem(401, "unauthorized");
        // Sessions expire after 12 hours.
        let (_, t3) = staff(&app, "reza", "رضا", "cashier").await;
        app.call(Method::GET, "/api/v1/me", &t3, None).await.ok(200);
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_hours(13));
        app.call(Method::GET, "/api/v1/me", &t3, None).await.problem(401, "unauthorized");

        // Guessing is throttled: after 10 failures in 15 minutes even the right password
        // waits, and the answer says how long.
        staff(&app, "guess", "G", "cashier").await;
        for _ in 0..10 {
            login("guess", "not the password").await.problem(401, "unauthorized");
        }
        let locked = login("guess", "correct horse 1").await;
        locked.problem(429, "too_many_attempts");
        let wait: i64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
        login("reza", "correct horse 1").await.ok(200);
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_mins(16));
        login("guess", "correct horse 1").await.ok(200);
    })
    .await;
}

#[tokio::test]
async fn sla_deadlines_count_business_hours_across_a_friday_and_a_holiday() {
    each_app(|app| async move {
        let c = app.create_customer(customer("Leila", "09131234567")).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        // Thursday 2026-11-26 12:00 Tehran (08:30Z). The default week closes Thursday at
        // 13:00 and Friday; normal priority: 240 business minutes to a first response.
        app.clock.set(at("2026-11-26T08:30:00Z"));
        let t = app
            .post("/api/v1/tickets", json!({"customer_id": cid, "subject": "قهوه سرد بود", "description": "سفارشم دیر رسید و سرد بود"}))
            .await
            .ok(201)
            .clone();
        // 60 minutes on Thursday, Friday closed, 180 on Saturday from 09:00: 12:00.
        assert_eq!(t["first_response_due"], "2026-11-28T08:30:00Z", "{}", app.backend);
        assert_eq!(t["number"], 1);
        assert_eq!(t["status"], "new");
        assert_eq!(t["events"][0]["kind"], "opened");

        // Saturday a holiday (Jalali date accepted): the clock skips to Sunday.
        app.call(Method::PUT, "/api/v1/crm/holidays/1405-09-07", &app.admin_key, Some(json!({"name": "تعطیل رسمی"})))
            .await
            .ok(200);
        let hols = app.get("/api/v1/crm/holidays").await.ok(200).clone();
        assert_eq!(hols["items"][0]["day"], "2026-11-28");
        let t2 = app
            .post("/api/v1/tickets", json!({"customer_id": cid, "subject": "کارت گم شد", "priority": "urgent"}))
            .await
            .ok(201)
            .clone();
        assert_eq!(t2["number"], 2);
        // Urgent: 30 minutes first response (Thursday 12:30), 240 resolution
        // (60 Thursday, Friday closed, Saturday a holiday, 180 Sunday: 12:00).
        assert_eq!(t2["first_response_due"], "2026-11-26T09:00:00Z");
        assert_eq!(t2["resolution_due"], "2026-11-29T08:30:00Z");

        // Late answers are breaches; the list filters them.
        app.clock.set(at("2026-11-26T09:10:00Z"));
        let id2 = t2["id"].as_str().unwrap();
        let r = app.post(&format!("/api/v1/tickets/{id2}/replies"), json!({"body": "در حال پیگیری هستیم."})).await.ok(200).clone();
        assert_eq!((r["status"].as_str(), r["first_response_breached"].as_bool()), (Some("in_progress"), Some(true)));
        let breached = app.get("/api/v1/tickets?breached=true").await.ok(200).clone();
        let ids: Vec<&str> = breached["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [id2]);

        // Waiting on the customer stops the resolution clock: Sunday 09:00 to 11:00 Tehran
        // waiting moves the deadline by two business hours, to 14:00.
        app.clock.set(at("2026-11-29T05:30:00Z"));
        app.post(&format!("/api/v1/tickets/{id2}/status"), json!({"status": "waiting_on_customer"})).await.ok(200);
        app.clock.set(at("2026-11-29T07:30:00Z"));
        let back = app.post(&format!("/api/v1/tickets/{id2}/status"), json!({"status": "in_progress"})).await.ok(200).clone();
        assert_eq!(back["resolution_due"], "2026-11-29T10:30:00Z");
        assert_eq!(back["resolution_breached"], false);

        // A new week: Saturday off as well.
        let mut settings = app.get("/api/v1/crm/settings").await.ok(200).clone();
        assert_eq!(settings["week"]["friday"], Value::Null);
        settings["week"]["saturday"] = Value::Null;
        settings["sla"]["normal"]["first_response_minutes"] = json!(60);
        app.call(Method::PUT, "/api/v1/crm/settings", &app.admin_key, Some(settings.clone())).await.ok(200);
        settings["sla"]["low"]["first_response_minutes"] = json!(99999);
        let bad = app.call(Method::PUT, "/api/v1/crm/settings", &app.admin_key, Some(settings)).await;
        assert_eq!(bad.problem(422, "validation_failed")["field"], "sla.low.first_response_minutes");
        app.delete("/api/v1/crm/holidays/2026-11-28").await.ok(204);
        app.delete("/api/v1/crm/holidays/2026-11-28").await.problem(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn a_complaint_is_answered_politely_resolved_with_goodwill_and_rated() {
    each_app(|app| async move {
        let c = app.create_customer(json!({"first_name": "لیلا", "last_name": "احمدی", "mobile": "09131234567"})).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        let (sara, token) = staff(&app, "sara", "سارا", "support").await;
        let cashier = app.key(&app.program_id, Role::Cashier).await;
        let t = app
            .call(Method::POST, "/api/v1/tickets", &cashier,
                Some(json!({"customer_id": cid, "subject": "امتیاز خرید ثبت نشد", "category": "loyalty", "channel": "phone", "assignee_id": sara})))
            .await
            .ok(201)
            .clone();
        let id = t["id"].as_str().unwrap().to_owned();
        app.post("/api/v1/tickets", json!({"customer_id": cid, "subject": "x", "assignee_id": "stf_nobody"}))
            .await
            .problem(422, "validation_failed");

        // A polite template, filled for this customer, in Persian digits.
        let r = app
            .call(Method::POST, &format!("/api/v1/tickets/{id}/replies"), &token, Some(json!({"template": "apology"})))
            .await
            .ok(200)
            .clone();
        let reply = r["events"][1]["body"].as_str().unwrap();
        assert!(reply.starts_with("لیلا احمدی عزیز"), "{reply}");
        assert!(reply.contains("T-۱") && reply.contains("سارا"), "{reply}");
        assert_eq!(r["events"][1]["staff_id"].as_str(), Some(sara.as_str()));
        let en = app
            .call(Method::POST, &format!("/api/v1/tickets/{id}/replies"), &token, Some(json!({"template": "need_info", "locale": "en", "note": true})))
            .await
            .ok(200)
            .clone();
        assert!(en["events"][2]["body"].as_str().unwrap().contains("T-1"), "{}", en["events"][2]);
        app.call(Method::POST, &format!("/api/v1/tickets/{id}/replies"), &token, Some(json!({"template": "nope"})))
            .await
            .problem(422, "validation_failed");
        // The points a message tells the customer of stay within what a ticket may grant,
        // and a language is checked with or without a template; nothing is sent.
        let queued = app.get("/api/v1/outbox").await.ok(200)["items"].as_array().unwrap().len();
        for (body, field) in [
            (json!({"template": "resolved", "points": -5}), "points"),
            (json!({"template": "resolved", "points": 5001}), "points"),
            (json!({"body": "hi", "locale": "de"}), "locale"),
        ] {
            let r = app.call(Method::POST, &format!("/api/v1/tickets/{id}/replies"), &token, Some(body)).await;
            assert_eq!(r.problem(422, "validation_failed")["field"], field);
        }
        assert_eq!(app.get("/api/v1/outbox").await.ok(200)["items"].as_array().unwrap().len(), queued);
        // A program's own wording replaces the built-in one.
        app.call(Method::PUT, "/api/v1/crm/templates/acknowledge", &app.admin_key,
            Some(json!({"fa": "{{customer_name}} گرامی، پیام شما رسید.", "en": "Dear {{customer_name}}, we got your message."})))
            .await
            .ok(200);
        app.call(Method::PUT, "/api/v1/crm/templates/acknowledge", &app.admin_key, Some(json!({"fa": "{{nobody}}", "en": "x"})))
            .await
            .problem(422, "validation_failed");
        let own = app
            .call(Method::POST, &format!("/api/v1/tickets/{id}/replies"), &token, Some(json!({"template": "acknowledge"})))
            .await
            .ok(200)
            .clone();
        assert_eq!(own["events"][3]["body"], "لیلا احمدی گرامی، پیام شما رسید.");

        // The flow refuses a jump; goodwill needs the permission and stays under the limit.
        app.post(&format!("/api/v1/tickets/{id}/status"), json!({"status": "closed"})).await.problem(409, "invalid_state");
        app.call(Method::POST, &format!("/api/v1/tickets/{id}/status"), &cashier, Some(json!({"status": "resolved", "goodwill_points": 100})))
            .await
            .problem(403, "forbidden");
        let over = app.call(Method::POST, &format!("/api/v1/tickets/{id}/status"), &token, Some(json!({"status": "resolved", "goodwill_points": 9000}))).await;
        assert_eq!(over.problem(422, "validation_failed")["field"], "goodwill_points");
        let audits = app.audit_count().await;
        let resolve = json!({"status": "resolved", "goodwill_points": 500, "note": "اشتباه از ما بود"});
        let status_path = format!("/api/v1/tickets/{id}/status");
        let resolve_with = |key: &'static str, body: Value| {
            let body = serde_json::to_vec(&body).unwrap();
            app.raw_with(Method::POST, &status_path, Some(&token), Some(("application/json", body)), Some(key))
        };
        let first = resolve_with("resolve-1", resolve.clone()).await;
        let resolved = first.ok(200).clone();
        // A retry (the till lost the answer) gets the first result; no second grant.
        let retry = resolve_with("resolve-1", resolve.clone()).await;
        assert_eq!(retry.headers["idempotent-replayed"], "true");
        assert_eq!(retry.ok(200)["goodwill_entry_id"], resolved["goodwill_entry_id"]);
        resolve_with("resolve-1", json!({"status": "resolved", "goodwill_points": 501})).await.problem(409, "idempotency_conflict");
        assert_eq!((resolved["goodwill_points"].as_i64(), resolved["resolved_by"].as_str()), (Some(500), Some(sara.as_str())));
        assert!(resolved["goodwill_entry_id"].is_string());
        assert_eq!(app.audit_count().await, audits + 2, "goodwill and the status change are audited, once");
        let rows = app.audit_rows(2).await;
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["ticket.status_changed", "ledger.goodwill"]);
        for r in &rows {
            assert_eq!((r.actor_kind.as_str(), r.actor_id.as_deref()), ("staff", Some(sara.as_str())), "{r:?}");
        }
        assert_eq!((rows[1].target_type.as_str(), rows[1].target_id.as_str()), ("customer", cid.as_str()));
        assert_eq!(rows[1].summary["points"], 500, "{:?}", rows[1].summary);
        let bal = app.get(&format!("/api/v1/customers/{cid}/balance")).await.ok(200).clone();
        assert_eq!(bal["points"]["available"], 500);
        assert_eq!(app.store.verify_ledger(Some(&app.program_id)).await.unwrap().problems, Vec::<String>::new());
        // The timeline says which status the ticket moved to.
        let tl = app.get(&format!("/api/v1/customers/{cid}/timeline?limit=100")).await.ok(200).clone();
        let moved: Vec<&str> = tl["items"].as_array().unwrap().iter()
            .filter(|i| i["kind"] == "ticket" && i["title"] == "status")
            .map(|i| i["detail"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(moved.first(), Some(&"resolved"), "{tl}");

        // Goodwill is limited per customer too: another ticket cannot add the ticket's limit
        // again. 500 granted in the last 30 days, 800 allowed: 300 more, not 400.
        let mut settings = app.get("/api/v1/crm/settings").await.ok(200).clone();
        settings["goodwill_customer_max_points"] = json!(-1);
        let bad = app.call(Method::PUT, "/api/v1/crm/settings", &app.admin_key, Some(settings.clone())).await;
        assert_eq!(bad.problem(422, "validation_failed")["field"], "goodwill_customer_max_points");
        settings["goodwill_customer_max_points"] = json!(800);
        app.call(Method::PUT, "/api/v1/crm/settings", &app.admin_key, Some(settings)).await.ok(200);
        let again = app
            .call(Method::POST, "/api/v1/tickets", &token, Some(json!({"customer_id": cid, "subject": "باز هم دیر"})))
            .await
            .ok(201)
            .clone();
        let again_status = format!("/api/v1/tickets/{}/status", again["id"].as_str().unwrap());
        let too_much = app
            .call(Method::POST, &again_status, &token, Some(json!({"status": "resolved", "goodwill_points": 400})))
            .await;
        let p = too_much.problem(422, "validation_failed");
        assert_eq!(p["field"], "goodwill_points");
        assert!(p["detail"].as_str().unwrap().contains("at most 300 more"), "{p}");
        let still = app.get(&format!("/api/v1/tickets/{}", again["id"].as_str().unwrap())).await.ok(200).clone();
        assert_eq!((still["status"].as_str(), still["goodwill_points"].as_i64()), (Some("new"), Some(0)), "nothing changed");
        let issued = |k: Value| k["points"]["issued"].as_i64().unwrap();
        let kpis = "/api/v1/analytics/kpis?from=2026-01-01&to=2026-12-31";
        let before = issued(app.get(kpis).await.ok(200).clone());
        let ok = app
            .call(Method::POST, &again_status, &token, Some(json!({"status": "resolved", "goodwill_points": 300})))
            .await
            .ok(200)
            .clone();
        // Goodwill counts as issued in the KPIs (care gives points as purchases do).
        assert_eq!(issued(app.get(kpis).await.ok(200).clone()), before + 300, "{}", app.backend);
        assert_eq!(ok["goodwill_points"], 300);
        let bal = app.get(&format!("/api/v1/customers/{cid}/balance")).await.ok(200).clone();
        assert_eq!(bal["points"]["available"], 800);

        // Closing asks for CSAT: a link that needs no login, a full URL where the program
        // says where customers reach it, and the polite message to send with it.
        let mut settings = app.get("/api/v1/crm/settings").await.ok(200).clone();
        settings["public_url"] = json!("https://club.example.ir/");
        let bad = app.call(Method::PUT, "/api/v1/crm/settings", &app.admin_key, Some(settings.clone())).await;
        assert_eq!(bad.problem(422, "validation_failed")["field"], "public_url");
        settings["public_url"] = json!("https://club.example.ir");
        app.call(Method::PUT, "/api/v1/crm/settings", &app.admin_key, Some(settings)).await.ok(200);
        app.call(Method::POST, &format!("/api/v1/tickets/{id}/status"), &token, Some(json!({"status": "closed"})))
            .await
            .ok(200);
        let outbox = app.get("/api/v1/outbox?status=pending").await.ok(200).clone();
        let request = outbox["items"].as_array().unwrap().iter()
            .find(|m| m["event"] == "feedback.requested").expect("a feedback request is queued").clone();
        let data = &request["payload"]["data"];
        let link = data["link"].as_str().unwrap().to_owned();
        assert_eq!(data["url"].as_str(), Some(format!("https://club.example.ir{link}").as_str()));
        let text = data["message"]["text"].as_str().unwrap();
        assert!(text.starts_with("لیلا احمدی عزیز") && text.contains(&format!("https://club.example.ir{link}")), "{text}");
        assert_eq!(data["message"]["locale"], "fa");
        let form = app.raw(Method::GET, &link, None, None).await;
        assert_eq!(form.status.as_u16(), 200);
        let html = form.body.as_str().unwrap();
        assert!(html.contains("dir=\"rtl\"") && html.contains("Café Vafa"), "{html}");
        assert_eq!(html.matches("name=\"score\"").count(), 5, "CSAT has five answers");
        assert!(html.contains("خیلی راضی"));
        let post = |body: &str| {
            app.raw(Method::POST, &link, None, Some(("application/x-www-form-urlencoded", body.as_bytes().to_vec())))
        };
        // No score: the form again, with what was typed kept — escaped, never markup.
        let missing = post("comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
        assert_eq!(missing.status.as_u16(), 422);
        let again_html = missing.body.as_str().unwrap();
        assert!(again_html.contains("role=\"alert\""));
        assert!(again_html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !again_html.contains("<script>"), "{again_html}");
        // A comment too long is shown again to shorten, and nothing is recorded.
        let long = post(&format!("score=4&comment={}", "x".repeat(2001))).await;
        assert_eq!(long.status.as_u16(), 422);
        assert!(long.body.as_str().unwrap().contains("۲٬۰۰۰"));
        let thanks = post("score=%DB%B5&comment=%D9%85%D9%85%D9%86%D9%88%D9%86").await;
        assert_eq!(thanks.status.as_u16(), 200, "{}", thanks.body);
        assert!(thanks.body.as_str().unwrap().contains("سپاسگزاریم"));
        let again = post("score=1").await;
        assert_eq!(again.status.as_u16(), 409);
        let shown = app.raw(Method::GET, &link, None, None).await;
        assert!(shown.body.as_str().unwrap().contains("پیش‌تر پاسخ داده شده"));
        assert_eq!(app.raw(Method::GET, "/f/not-a-token", None, None).await.status.as_u16(), 404);

        let fb = app.get("/api/v1/feedback?kind=csat").await.ok(200).clone();
        assert_eq!(fb["items"][0]["score"], 5, "Persian digits are read");
        assert_eq!(fb["items"][0]["comment"], "ممنون");
        assert_eq!(fb["items"][0]["staff_id"].as_str(), Some(sara.as_str()));
        assert_eq!(fb["items"][0]["ticket_id"].as_str(), Some(id.as_str()));

        // An English request: the same form, left to right, in English, eleven answers.
        let en = app.post("/api/v1/feedback", json!({"kind": "nps", "customer_id": cid, "locale": "en"})).await.ok(201).clone();
        let en_link = format!("/f/{}", en["token"].as_str().unwrap());
        let en_form = app.raw(Method::GET, &en_link, None, None).await;
        assert_eq!(en_form.status.as_u16(), 200);
        let en_html = en_form.body.as_str().unwrap();
        assert!(en_html.contains("lang=\"en\"") && en_html.contains("dir=\"ltr\""), "{en_html}");
        assert_eq!(en_html.matches("name=\"score\"").count(), 11, "NPS runs 0 to 10");
        assert!(!en_html.contains("امتیاز") && en_html.contains("recommend"), "{en_html}");
        let en_thanks = app
            .raw(Method::POST, &en_link, None, Some(("application/x-www-form-urlencoded", b"score=9".to_vec())))
            .await;
        assert_eq!(en_thanks.status.as_u16(), 200);
        assert!(en_thanks.body.as_str().unwrap().contains("Thank you"), "{}", en_thanks.body);

        // Direct NPS answers and validation.
        app.post("/api/v1/feedback", json!({"kind": "nps", "score": 11, "customer_id": cid})).await.problem(422, "validation_failed");
        app.post("/api/v1/feedback", json!({"kind": "nps", "score": 9, "customer_id": cid, "staff_id": sara})).await.ok(201);
        let perf = app.get("/api/v1/staff/performance?from=2026-11-01").await.ok(200).clone();
        let me = perf["items"].as_array().unwrap().iter().find(|p| p["staff_id"] == sara.as_str()).unwrap();
        // Two resolved: the complaint and the second ticket of the goodwill limit.
        assert_eq!((me["tickets_resolved"].as_i64(), me["replies"].as_i64()), (Some(2), Some(2)), "{me}");
        assert_eq!((me["csat_answers"].as_i64(), me["csat_average"].as_f64()), (Some(1), Some(5.0)));
        // Feedback is about the same customer's ticket or purchase.
        let other = app.create_customer(customer("Omid", "09131234568")).await;
        let theirs = app.post("/api/v1/feedback", json!({"kind": "csat", "score": 2, "customer_id": other["id"], "ticket_id": id})).await;
        assert_eq!(theirs.problem(422, "validation_failed")["field"], "ticket_id");
        // Nobody rates themselves, and a ticket the customer rated takes no second CSAT.
        let sara_token = sign_in(&app, "sara").await;
        let own = app.call(Method::POST, "/api/v1/feedback", &sara_token,
            Some(json!({"kind": "csat", "score": 5, "customer_id": cid, "staff_id": sara}))).await;
        assert_eq!(own.problem(422, "validation_failed")["field"], "staff_id");
        // An NPS is about the business: whoever took it on the spot is named on it.
        app.call(Method::POST, "/api/v1/feedback", &sara_token,
            Some(json!({"kind": "nps", "score": 8, "customer_id": cid, "staff_id": sara}))).await.ok(201);
        app.post("/api/v1/feedback", json!({"kind": "csat", "score": 5, "customer_id": cid, "ticket_id": id, "staff_id": sara}))
            .await
            .problem(409, "feedback_answered");
        let perf = app.get("/api/v1/staff/performance?from=2026-11-01").await.ok(200).clone();
        let me = perf["items"].as_array().unwrap().iter().find(|p| p["staff_id"] == sara.as_str()).unwrap();
        assert_eq!((me["csat_answers"].as_i64(), me["csat_average"].as_f64()), (Some(1), Some(5.0)), "{me}");

        // Reopened ten days later: a fresh resolution clock, not breached at once.
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_hours(240));
        let token = sign_in(&app, "sara").await; // the first session has expired
        let reopened = app.post(&format!("/api/v1/tickets/{id}/status"), json!({"status": "in_progress"})).await.ok(200).clone();
        assert_eq!((reopened["resolved_at"].clone(), reopened["closed_at"].clone()), (Value::Null, Value::Null));
        assert_eq!(reopened["resolution_breached"], false, "{reopened}");
        let due: jiff::Timestamp = reopened["resolution_due"].as_str().unwrap().parse().unwrap();
        assert!(due > app.clock.now());
        // Goodwill beyond any limit is a validation error, not an overflow.
        let huge = app.call(Method::POST, &format!("/api/v1/tickets/{id}/status"), &token,
            Some(json!({"status": "resolved", "goodwill_points": i64::MAX}))).await;
        assert_eq!(huge.problem(422, "validation_failed")["field"], "goodwill_points");
        let kinds: Vec<&str> = reopened["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["opened", "reply", "note", "reply", "status", "status", "status"]);

        app.get("/api/v1/staff/performance?from=2026-12-01&to=2026-11-01").await.problem(422, "validation_failed");
    })
    .await;
}

#[tokio::test]
async fn tasks_promises_orders_and_the_timeline() {
    each_app(|app| async move {
        let c = app.create_customer(customer("Leila", "09131234567")).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        let (reza, token) = staff(&app, "reza", "رضا", "support").await;
        app.post("/api/v1/purchases", json!({"customer_id": cid, "external_id": "R-1", "total": {"amount": "500000", "currency": "IRR"}}))
            .await
            .ok(201);
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_mins(1));
        app.call(Method::POST, &format!("/api/v1/customers/{cid}/interactions"), &token,
            Some(json!({"kind": "call", "direction": "outbound", "outcome": "answered", "summary": "تماس برای پیگیری"})))
            .await
            .ok(201);
        app.call(Method::POST, &format!("/api/v1/customers/{cid}/interactions"), &token, Some(json!({"kind": "fax"})))
            .await
            .problem(422, "validation_failed");
        let linked = app
            .call(Method::POST, &format!("/api/v1/customers/{cid}/interactions"), &token, Some(json!({"kind": "call", "ticket_id": "tkt_nope"})))
            .await;
        assert_eq!(linked.problem(422, "validation_failed")["field"], "ticket_id");

        // A promise made to the customer, due in the program's time (a Jalali date).
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_mins(1));
        let p = app
            .call(Method::POST, "/api/v1/tasks", &token,
                Some(json!({"kind": "promise", "title": "ارسال هدیه", "customer_id": cid, "due_at": "1405/09/04 16:00"})))
            .await
            .ok(201)
            .clone();
        assert_eq!(p["due_at"], "2026-11-25T12:30:00Z");
        assert_eq!(p["remind_at"], "2026-11-25T11:30:00Z", "an hour before, by default");
        assert_eq!(p["assignee_id"].as_str(), Some(reza.as_str()));
        app.post("/api/v1/tasks", json!({"kind": "promise", "title": "x", "due_at": "2026-11-25T10:00:00Z"}))
            .await
            .problem(422, "validation_failed");
        let late = app
            .post("/api/v1/tasks", json!({"kind": "promise", "title": "تماس دوباره", "customer_id": cid, "due_at": "2026-11-24T10:00:00Z", "assignee_id": reza}))
            .await
            .ok(201)
            .clone();
        // The reminder waits in the outbox until it is due.
        let reminders = app.store.claim_outbox(None, app.clock.now(), jiff::SignedDuration::from_secs(1), 100).await.unwrap();
        assert!(reminders.iter().all(|m| m.event != "task.reminder"), "not due yet");
        let soon = app.store.claim_outbox(None, at("2026-11-24T09:00:01Z"), jiff::SignedDuration::from_secs(1), 100).await.unwrap();
        assert_eq!(soon.iter().filter(|m| m.event == "task.reminder").count(), 1);

        // The next day: one overdue promise.
        app.clock.set(at("2026-11-24T11:00:00Z"));
        let token = sign_in(&app, "reza").await;
        let overdue = app.get("/api/v1/tasks?overdue=true").await.ok(200).clone();
        let ids: Vec<&str> = overdue["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [late["id"].as_str().unwrap()]);
        assert_eq!(overdue["items"][0]["overdue"], true);
        let pid = p["id"].as_str().unwrap();
        app.post(&format!("/api/v1/tasks/{pid}/close"), json!({"status": "done"})).await.problem(409, "invalid_state");
        let kept = app
            .call(Method::POST, &format!("/api/v1/tasks/{pid}/close"), &token, Some(json!({"status": "kept", "note": "هدیه تحویل شد"})))
            .await
            .ok(200)
            .clone();
        assert_eq!((kept["status"].as_str(), kept["closed_by"].as_str()), (Some("kept"), Some(reza.as_str())));
        app.post(&format!("/api/v1/tasks/{pid}/close"), json!({"status": "missed"})).await.problem(409, "invalid_state");
        let lid = late["id"].as_str().unwrap();
        app.post(&format!("/api/v1/tasks/{lid}/close"), json!({"status": "missed"})).await.ok(200);

        // An order through its stages; every change is queued for the customer.
        let o = app.post("/api/v1/orders", json!({"customer_id": cid, "external_id": "W-77", "summary": "کیک تولد"})).await.ok(201).clone();
        let oid = o["id"].as_str().unwrap();
        app.post("/api/v1/orders", json!({"customer_id": cid, "external_id": "W-77"})).await.problem(422, "validation_failed");
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_mins(1));
        app.post(&format!("/api/v1/orders/{oid}/stage"), json!({"stage": "preparing"})).await.ok(200);
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_mins(1));
        app.post(&format!("/api/v1/orders/{oid}/stage"), json!({"stage": "received"})).await.problem(409, "invalid_state");
        app.post(&format!("/api/v1/orders/{oid}/stage"), json!({"stage": "Bad Stage"})).await.problem(422, "validation_failed");
        let done = app.post(&format!("/api/v1/orders/{oid}/stage"), json!({"stage": "delivered", "note": "تحویل شد"})).await.ok(200).clone();
        let stages: Vec<&str> = done["events"].as_array().unwrap().iter().map(|e| e["stage"].as_str().unwrap()).collect();
        assert_eq!(stages, ["received", "preparing", "delivered"]);
        app.post(&format!("/api/v1/orders/{oid}/stage"), json!({"stage": "cancelled"})).await.problem(409, "invalid_state");
        let queued = app.get("/api/v1/outbox").await.ok(200).clone();
        let order_msgs = queued["items"].as_array().unwrap().iter().filter(|m| m["event"] == "order.stage_changed").count();
        assert_eq!(order_msgs, 3, "one per stage, to the log (no webhooks yet)");
        // An order code with letters reads in the SMS as printed on the receipt.
        let text = queued["items"].as_array().unwrap().iter()
            .find(|m| m["event"] == "order.stage_changed")
            .and_then(|m| m["payload"]["data"]["message"]["text"].as_str()).unwrap_or_default().to_owned();
        assert!(text.contains("W-77") && !text.contains("W-۷۷"), "{text}");
        // Nor back by way of a custom stage; back to the stage it left is fine.
        let detour = app.post("/api/v1/orders", json!({"customer_id": cid, "external_id": "W-79"})).await.ok(201).clone();
        let stage = format!("/api/v1/orders/{}/stage", detour["id"].as_str().unwrap());
        app.post(&stage, json!({"stage": "shipped"})).await.ok(200);
        app.post(&stage, json!({"stage": "baking"})).await.ok(200);
        let back = app.post(&stage, json!({"stage": "preparing"})).await;
        assert!(back.problem(409, "invalid_state")["detail"].as_str().unwrap().contains("\"shipped\""), "{}", back.body);
        app.post(&stage, json!({"stage": "shipped"})).await.ok(200);
        let huge = app.post("/api/v1/orders", json!({"customer_id": cid, "external_id": "W-78", "total_minor": i64::MAX})).await;
        assert_eq!(huge.problem(422, "validation_failed")["field"], "total_minor");

        // A ledger entry, a ticket and an answered survey join the story; the ticket and the
        // survey at one instant, so the cursor's tie-break on kind and id is exercised.
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_mins(1));
        app.post(&format!("/api/v1/customers/{cid}/adjustments"), json!({"points": 20, "reason": "بابت تأخیر"})).await.ok(201);
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_mins(1));
        let ticket = app.call(Method::POST, "/api/v1/tickets", &token, Some(json!({"customer_id": cid, "subject": "سفارش دیر رسید", "priority": "urgent"})))
            .await.ok(201).clone();
        app.call(Method::POST, "/api/v1/feedback", &token, Some(json!({"kind": "nps", "score": 8, "customer_id": cid, "comment": "خوب"})))
            .await.ok(201);
        // Nobody answered the urgent ticket: past its 30 business minutes, a breach for its
        // assignee (the member who opened it is not its assignee; assign it first).
        let tid = ticket["id"].as_str().unwrap();
        app.post(&format!("/api/v1/tickets/{tid}/assign"), json!({"assignee_id": reza})).await.ok(200);
        // An open promise past due counts against promises kept.
        app.post("/api/v1/tasks", json!({"kind": "promise", "title": "بازپرداخت", "customer_id": cid, "due_at": "2026-11-24T12:00:00Z", "assignee_id": reza}))
            .await.ok(201);
        app.clock.set(at("2026-11-24T14:00:00Z"));

        // The timeline: everything, newest first, the same across pages.
        let all = app.get(&format!("/api/v1/customers/{cid}/timeline?limit=200")).await.ok(200).clone();
        let items = all["items"].as_array().unwrap().clone();
        let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
        for k in ["purchase", "interaction", "task", "task_closed", "order", "ledger", "ticket", "feedback"] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
        let times: Vec<jiff::Timestamp> = items.iter().map(|i| i["at"].as_str().unwrap().parse().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
        assert_eq!(items.last().unwrap()["kind"], "purchase", "the purchase came first");
        let closed: Vec<&str> = items.iter().filter(|i| i["kind"] == "task_closed").map(|i| i["title"].as_str().unwrap()).collect();
        assert_eq!(closed, ["missed", "kept"]);
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
            let page = app.get(&format!("/api/v1/customers/{cid}/timeline?limit=2{q}")).await.ok(200).clone();
            assert!(page["items"].as_array().unwrap().len() <= 2);
            paged.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(paged, items, "pages join up to the whole timeline");
        app.get(&format!("/api/v1/customers/{cid}/timeline?cursor=junk")).await.problem(422, "validation_failed");
        app.get("/api/v1/customers/cus_nobody/timeline").await.problem(404, "not_found");

        // Promises in performance: one kept of two judged.
        let perf = app.get("/api/v1/staff/performance?from=2026-11-01&to=2026-12-01").await.ok(200).clone();
        let me = perf["items"].as_array().unwrap().iter().find(|p| p["staff_id"] == reza.as_str()).unwrap();
        assert_eq!((me["promises_kept"].as_i64(), me["promises_missed"].as_i64()), (Some(1), Some(1)), "{me}");
        assert_eq!(me["promises_overdue"].as_i64(), Some(1), "{me}");
        assert_eq!(me["promises_kept_percent"].as_f64().map(|p| p.round()), Some(33.0), "one kept of three due");
        assert_eq!(me["sla_breaches"].as_i64(), Some(1), "{me}");
        assert_eq!(me["interactions"], 1);

        // Another program sees none of it.
        let (_, other) = app.new_program("Other").await;
        app.call(Method::GET, &format!("/api/v1/customers/{cid}/timeline"), &other, None).await.problem(404, "not_found");
        app.call(Method::GET, &format!("/api/v1/orders/{oid}"), &other, None).await.problem(404, "not_found");
        let none = app.call(Method::GET, "/api/v1/tasks", &other, None).await.ok(200).clone();
        assert_eq!(none["items"], json!([]));
        for (method, path, body) in [
            (Method::GET, format!("/api/v1/tickets/{tid}"), None),
            (Method::POST, format!("/api/v1/tickets/{tid}/status"), Some(json!({"status": "resolved"}))),
            (Method::POST, format!("/api/v1/tickets/{tid}/replies"), Some(json!({"body": "x"}))),
            (Method::POST, format!("/api/v1/tasks/{lid}/close"), Some(json!({"status": "kept"}))),
            (Method::POST, format!("/api/v1/orders/{oid}/stage"), Some(json!({"stage": "cancelled"}))),
        ] {
            app.call(method, &path, &other, body).await.problem(404, "not_found");
        }
        let theirs = app.call(Method::GET, "/api/v1/feedback", &other, None).await.ok(200).clone();
        assert_eq!(theirs["items"], json!([]));
        let outbox = app.call(Method::GET, "/api/v1/outbox", &other, None).await.ok(200).clone();
        assert_eq!(outbox["items"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn interactions_link_orders_and_campaigns_closing_cancels_reminders_custom_stages_notify() {
    each_app(|app| async move {
        let c = app.create_customer(customer("Leila", "09131234567")).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        let (_, token) = staff(&app, "reza", "رضا", "support").await;
        let order = app.post("/api/v1/orders", json!({"customer_id": cid, "external_id": "W-9", "summary": "کیک"})).await.ok(201).clone();
        let oid = order["id"].as_str().unwrap().to_owned();
        let campaign = app.post("/api/v1/campaigns", json!({"campaign": {"name": "Win-back"}})).await.ok(201).clone();
        let camp = campaign["id"].as_str().unwrap().to_owned();

        // A call about an order, made for a campaign: both links kept and shown.
        let path = format!("/api/v1/customers/{cid}/interactions");
        let call = app
            .call(Method::POST, &path, &token, Some(json!({"kind": "call", "summary": "پیگیری سفارش", "order_id": oid, "campaign_id": camp})))
            .await
            .ok(201)
            .clone();
        assert_eq!((call["order_id"].as_str(), call["campaign_id"].as_str()), (Some(oid.as_str()), Some(camp.as_str())));
        let listed = app.get(&path).await.ok(200).clone();
        assert_eq!(listed["items"][0]["campaign_id"].as_str(), Some(camp.as_str()), "{listed}");
        // A link to nothing (or to another program's order) is refused, naming the field.
        let (other_program, other) = app.new_program("Other").await;
        let oc = app.call(Method::POST, "/api/v1/customers", &other, Some(customer("Sam", "09121112233"))).await.ok(201).clone();
        let theirs = app
            .call(Method::POST, "/api/v1/orders", &other, Some(json!({"customer_id": oc["id"], "external_id": "X-1"})))
            .await
            .ok(201)
            .clone();
        assert_ne!(other_program, app.program_id);
        for (field, id) in [("order_id", "ord_nope"), ("order_id", theirs["id"].as_str().unwrap()), ("campaign_id", "cmp_nope")] {
            let before = app.audit_count().await;
            let refused = app.call(Method::POST, &path, &token, Some(json!({"kind": "call", field: id}))).await;
            assert_eq!(refused.problem(422, "validation_failed")["field"], field);
            assert_eq!(app.audit_count().await, before, "nothing written");
        }

        // Closing a task before its reminder is due cancels the reminder; it is never sent.
        let task = app
            .call(Method::POST, "/api/v1/tasks", &token, Some(json!({"title": "تماس", "customer_id": cid, "due_at": "2026-12-20T10:00:00Z"})))
            .await
            .ok(201)
            .clone();
        let tid = task["id"].as_str().unwrap();
        app.call(Method::POST, &format!("/api/v1/tasks/{tid}/close"), &token, Some(json!({"status": "done"}))).await.ok(200);
        let due = app.store.claim_outbox(None, at("2026-12-20T09:30:00Z"), jiff::SignedDuration::from_secs(1), 100).await.unwrap();
        assert!(due.iter().all(|m| m.subject_id != tid), "a closed task's reminder is not sent");
        let outbox = app.get("/api/v1/outbox").await.ok(200).clone();
        let reminder = outbox["items"].as_array().unwrap().iter().find(|m| m["subject_id"] == tid).unwrap().clone();
        assert_eq!((reminder["event"].as_str(), reminder["status"].as_str()), (Some("task.reminder"), Some("cancelled")));

        // A stage of the shop's own, named in its words: kept, shown on the timeline, and
        // the customer told in those words. A built-in stage keeps its own.
        let mut settings = app.get("/api/v1/crm/settings").await.ok(200).clone();
        settings["stage_labels"] = json!({"shipped": {"fa": "رفت", "en": "gone"}});
        let refused = app.call(Method::PUT, "/api/v1/crm/settings", &app.admin_key, Some(settings.clone())).await;
        assert_eq!(refused.problem(422, "validation_failed")["field"], "stage_labels.shipped");
        settings["stage_labels"] = json!({"baking": {"fa": "در حال پخت", "en": "in the oven"}});
        // Ticket categories in the shop's words too.
        settings["category_labels"] = json!({"long_wait": {"fa": "", "en": "long wait"}});
        let refused = app.call(Method::PUT, "/api/v1/crm/settings", &app.admin_key, Some(settings.clone())).await;
        assert_eq!(refused.problem(422, "validation_failed")["field"], "category_labels.long_wait");
        settings["category_labels"] = json!({"long_wait": {"fa": "انتظار طولانی", "en": "long wait"}});
        let saved = app.call(Method::PUT, "/api/v1/crm/settings", &app.admin_key, Some(settings)).await.ok(200).clone();
        assert_eq!(saved["stage_labels"]["baking"]["fa"], "در حال پخت");
        assert_eq!(saved["category_labels"]["long_wait"]["fa"], "انتظار طولانی");
        app.clock.set(app.clock.now() + jiff::SignedDuration::from_mins(1));
        let baking = app.post(&format!("/api/v1/orders/{oid}/stage"), json!({"stage": "baking", "note": "در فر"})).await.ok(200).clone();
        assert_eq!(baking["stage"], "baking");
        let outbox = app.get("/api/v1/outbox").await.ok(200).clone();
        let told: Vec<&Value> = outbox["items"].as_array().unwrap().iter()
            .filter(|m| m["event"] == "order.stage_changed" && m["payload"]["data"]["stage"] == "baking").collect();
        assert_eq!(told.len(), 1, "{outbox}");
        let data = &told[0]["payload"]["data"];
        assert_eq!((data["order_id"].as_str(), data["note"].as_str()), (Some(oid.as_str()), Some("در فر")));
        // The program is Persian: the stage in its words, in the polite text; the order's
        // code as the receipt prints it (letters and digits together are a code, not a number).
        assert!(data["message"]["text"].as_str().is_some_and(|t| t.contains("W-9") && t.contains("«در حال پخت»")), "{data}");
        let timeline = app.get(&format!("/api/v1/customers/{cid}/timeline")).await.ok(200).clone();
        assert!(timeline["items"].as_array().unwrap().iter().any(|i| i["kind"] == "order" && i["title"] == "baking"), "{timeline}");
        // Built-in stages still move forward only; a custom one may follow.
        app.post(&format!("/api/v1/orders/{oid}/stage"), json!({"stage": "delivered"})).await.ok(200);
        app.post(&format!("/api/v1/orders/{oid}/stage"), json!({"stage": "baking"})).await.problem(409, "invalid_state");
    })
    .await;
}
