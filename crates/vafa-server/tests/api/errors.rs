//! Bad input is problem+json with a field, never a 500, and writes nothing.

use crate::helpers::each_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn bad_requests_are_problems_and_change_nothing() {
    each_app(|app| async move {
        let before = app.audit_count().await;
        let key = app.admin_key.clone();
        let post = |ct: &'static str, body: &'static [u8]| {
            let app = &app;
            let key = key.clone();
            async move {
                app.raw(
                    Method::POST,
                    "/api/v1/customers",
                    Some(&key),
                    Some((ct, body.to_vec())),
                )
                .await
            }
        };
        post("application/json", b"{\"first_name\": ")
            .await
            .problem(400, "malformed_json");
        post("application/json", b"{\"first_name\": \"a\"} trailing")
            .await
            .problem(400, "malformed_json");
        // Cut short after an unknown member: not JSON, whatever serde met first.
        post("application/json", b"{\"favourite\": ")
            .await
            .problem(400, "malformed_json");
        post("text/plain", b"{}")
            .await
            .problem(415, "unsupported_media_type");
        post("application/json", b"")
            .await
            .problem(400, "malformed_json");
        let wrong_type = post("application/json", b"{\"first_name\": 12}").await;
        assert_eq!(
            wrong_type.problem(422, "validation_failed")["field"],
            "first_name"
        );
        let unknown = post(
            "application/json",
            b"{\"first_name\": \"a\", \"favourite\": 1}",
        )
        .await;
        assert_eq!(
            unknown.problem(422, "validation_failed")["field"],
            "favourite"
        );
        let nested = post(
            "application/json",
            b"{\"first_name\": \"a\", \"consent\": {\"sms\": {\"granted\": \"yes\"}}}",
        )
        .await;
        assert_eq!(
            nested.problem(422, "validation_failed")["field"],
            "consent.sms.granted"
        );
        let twice = post(
            "application/json",
            b"{\"first_name\": \"a\", \"first_name\": \"b\"}",
        )
        .await;
        assert_eq!(
            twice.problem(422, "validation_failed")["field"],
            "first_name"
        );
        let array = post("application/json", b"[1, 2]").await;
        assert_eq!(array.problem(422, "validation_failed")["field"], "body");

        let huge = format!(
            "{{\"first_name\": \"{}\"}}",
            "x".repeat(vafa_server::BODY_LIMIT_BYTES)
        );
        let too_big = app
            .raw(
                Method::POST,
                "/api/v1/customers",
                Some(&key),
                Some(("application/json", huge.into_bytes())),
            )
            .await;
        too_big.problem(413, "payload_too_large");
        let big_attrs = json!({"first_name": "a", "attributes": {"notes": "x".repeat(9000)}});
        let attrs = app.post("/api/v1/customers", big_attrs).await;
        assert_eq!(
            attrs.problem(422, "validation_failed")["field"],
            "attributes"
        );

        app.raw(Method::GET, "/api/v1/customers", None, None)
            .await
            .problem(401, "unauthorized");
        app.raw(Method::GET, "/api/v1/customers", Some("vk_forged"), None)
            .await
            .problem(401, "unauthorized");
        app.raw(
            Method::POST,
            "/api/v1/customers",
            None,
            Some(("application/json", b"{}".to_vec())),
        )
        .await
        .problem(401, "unauthorized");
        app.get("/api/v1/customers?limit=0")
            .await
            .problem(422, "validation_failed");
        let q = app.get("/api/v1/customers?limit=abc").await;
        assert_eq!(q.problem(422, "validation_failed")["field"], "limit");
        let q = app.get("/api/v1/customers?limit=1&limit=2").await;
        assert_eq!(q.problem(422, "validation_failed")["field"], "limit");
        let q = app.get("/api/v1/customers?colour=red").await;
        assert_eq!(q.problem(422, "validation_failed")["field"], "colour");
        let q = app.get("/api/v1/customers?mobile=12").await;
        assert_eq!(q.problem(422, "validation_failed")["field"], "mobile");
        app.get("/api/v1/nowhere").await.problem(404, "not_found");
        app.get("/api/v1/customers/cus_nope")
            .await
            .problem(404, "not_found");
        app.call(Method::PUT, "/api/v1/customers", &key, Some(json!({})))
            .await
            .problem(405, "method_not_allowed");
        app.patch("/api/v1/customers/cus_nope", json!({"city": "x"}))
            .await
            .problem(404, "not_found");
        app.post("/api/v1/api-keys", json!({"role": "owner"}))
            .await
            .problem(422, "validation_failed");
        // Support is a person's role: a key for it would grant goodwill under no name.
        let support = app
            .post("/api/v1/api-keys", json!({"role": "support"}))
            .await;
        assert_eq!(support.problem(422, "validation_failed")["field"], "role");
        app.patch("/api/v1/customers/x", json!({"status": "erased"}))
            .await
            .problem(422, "validation_failed");

        assert_eq!(
            app.audit_count().await,
            before,
            "{}: nothing was written",
            app.backend
        );
        let list = app.get("/api/v1/customers").await;
        assert!(list.ok(200)["items"].as_array().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn revoked_keys_stop_at_once() {
    each_app(|app| async move {
        let made = app
            .post(
                "/api/v1/api-keys",
                json!({"role": "cashier", "name": "till 2"}),
            )
            .await;
        let key = made.ok(201)["api_key"].as_str().unwrap().to_owned();
        let key_id = made.body["key_id"].as_str().unwrap().to_owned();
        app.call(Method::GET, "/api/v1/program", &key, None)
            .await
            .ok(200);
        app.delete(&format!("/api/v1/api-keys/{key_id}"))
            .await
            .ok(200);
        app.call(Method::GET, "/api/v1/program", &key, None)
            .await
            .problem(401, "unauthorized");
        app.delete(&format!("/api/v1/api-keys/{key_id}"))
            .await
            .problem(409, "api_key_revoked");
    })
    .await;
}

#[tokio::test]
async fn system_routes_answer_without_a_key() {
    each_app(|app| async move {
        let health = app.raw(Method::GET, "/healthz", None, None).await;
        assert_eq!(health.ok(200), &json!({"status": "ok"}));
        let metrics = app.raw(Method::GET, "/metrics", None, None).await;
        let text = metrics.body.as_str().unwrap();
        assert!(text.contains("vafa_http_requests_total"), "{text}");
        assert!(text.contains("route=\"/healthz\""), "{text}");
        let doc = app.raw(Method::GET, "/openapi.json", None, None).await;
        assert_eq!(doc.ok(200)["openapi"], "3.1.0");
    })
    .await;
}

/// docs/errors.md lists exactly the codes of the code table, with their statuses.
#[test]
fn error_docs_match_the_code_table() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
            .unwrap();
    let documented: Vec<(String, String)> = docs
        .lines()
        .filter_map(|l| {
            let cells: Vec<_> = l.split('|').map(str::trim).collect();
            (cells.len() > 3 && cells[1].starts_with('`'))
                .then(|| (cells[1].trim_matches('`').to_owned(), cells[2].to_owned()))
        })
        .collect();
    let table: Vec<(String, String)> = vafa_server::error::ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), c.status().as_u16().to_string()))
        .collect();
    assert_eq!(documented, table);
}

/// Value-moving requests out of range are named by field and write nothing: amounts past
/// the cap (and lines whose quantity times price would be), cursors no page gave out,
/// return lines of nothing, a balance asked of the past, the smallest integer as points.
#[tokio::test]
async fn ledger_inputs_out_of_range_are_named_fields() {
    each_app(|app| async move {
        let irr = |a: &str| json!({"amount": a, "currency": "IRR"});
        let c = app
            .create_customer(crate::helpers::customer("Range", "09121230001"))
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let p = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "total": irr("200000"),
                    "items": [{"sku": "A", "quantity": 2, "unit_price": irr("100000")}]}),
            )
            .await
            .ok(201)
            .clone();
        let pid = p["id"].as_str().unwrap().to_owned();
        let balance_path = format!("/api/v1/customers/{id}/balance");
        let before = app.get(&balance_path).await.ok(200).clone();

        let field = |r: &crate::helpers::Resp| {
            r.problem(422, "validation_failed")["field"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let huge = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "total": irr("100000000000001")}),
            )
            .await;
        assert_eq!(field(&huge), "total.amount", "{}", app.backend);
        let product = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": id, "total": irr("1000"),
                    "items": [{"quantity": 1000000, "unit_price": irr("10000000000000")}]}),
            )
            .await;
        assert_eq!(field(&product), "items[0].unit_price");
        for path in [
            format!("/api/v1/customers/{id}/ledger?cursor=abc"),
            format!("/api/v1/customers/{id}/ledger?cursor=%F0%9F%98%80"),
            format!("/api/v1/customers/{id}/purchases?cursor=pur_zzzz"),
            format!("/api/v1/customers/{id}/purchases?cursor=ent_0190a7b2c3d4e5f60718293a4b5c6d7e"),
            format!("/api/v1/customers/{id}/interactions?cursor=abc"),
            "/api/v1/tickets?cursor=zzzz".to_owned(),
            "/api/v1/audit?cursor=2026-02-30".to_owned(),
            "/api/v1/outbox?cursor=-1".to_owned(),
            "/api/v1/feedback?cursor=0".to_owned(),
        ] {
            assert_eq!(field(&app.get(&path).await), "cursor", "{path}");
        }
        let invisible = app
            .post(
                "/api/v1/customers",
                json!({"first_name": "\u{200b}\u{200c}", "mobile": "09129990011"}),
            )
            .await;
        let p = invisible.problem(422, "validation_failed");
        assert_eq!(p["errors"][0]["field"], "first_name");
        assert_eq!(p["errors"][0]["message"], "has no visible characters");
        // The model's route takes only the fit's parameters; the list's are refused by name.
        let model = app.get("/api/v1/analytics/clv/model?order=abc").await;
        assert_eq!(field(&model), "order", "{}", app.backend);
        // An empty cursor is the first page, on every list alike.
        for list in ["ledger", "purchases"] {
            let first = app
                .get(&format!("/api/v1/customers/{id}/{list}?cursor="))
                .await
                .ok(200)
                .clone();
            assert!(
                !first["items"].as_array().unwrap().is_empty(),
                "{list}: {first}"
            );
        }
        for (item, want) in [
            (json!({"line": 1, "quantity": 0}), "items[0].quantity"),
            (json!({"line": 1, "quantity": -1}), "items[0].quantity"),
            (json!({"line": 0, "quantity": 1}), "items[0].line"),
        ] {
            let r = app
                .post(
                    &format!("/api/v1/purchases/{pid}/returns"),
                    json!({"items": [item]}),
                )
                .await;
            assert_eq!(field(&r), want);
        }
        let zero = app
            .post(
                &format!("/api/v1/purchases/{pid}/returns"),
                json!({"amount": irr("0")}),
            )
            .await;
        assert_eq!(field(&zero), "amount.amount");
        let past = app
            .get(&format!(
                "/api/v1/customers/{id}/balance?at=2000-01-01T00:00:00Z"
            ))
            .await;
        assert_eq!(field(&past), "at");
        let min = app
            .post(
                &format!("/api/v1/customers/{id}/adjustments"),
                json!({"points": i64::MIN, "reason": "x"}),
            )
            .await;
        assert_eq!(field(&min), "points");

        assert_eq!(
            app.get(&balance_path).await.ok(200),
            &before,
            "{}",
            app.backend
        );
    })
    .await;
}

/// A wrong value inside a tagged object (`{"type": …}`) is named at its own field, not
/// at the object, when the value it quotes is in exactly one member.
#[tokio::test]
async fn type_errors_inside_tagged_objects_name_their_field() {
    each_app(|app| async move {
        let cases = [
            (
                "/api/v1/rewards",
                json!({"name": "x", "kind": {"type": "percent_discount", "percent": 10}, "cost_points": 10}),
                "kind.percent",
            ),
            (
                "/api/v1/coupon-batches",
                json!({"name": "x", "code": "TYPED1", "rules": {"discount": {"type": "amount", "amount_minor": "1000"}}}),
                "rules.discount.amount_minor",
            ),
            (
                "/api/v1/campaigns",
                json!({"campaign": {"name": "x"}, "rules": [{"name": "r", "effects": [{"type": "multiplier", "factor": 2}]}]}),
                "rules[0].effects[0].factor",
            ),
        ];
        for (path, body, field) in cases {
            let r = app.post(path, body).await;
            assert_eq!(r.problem(422, "validation_failed")["field"], field, "{}: {path}: {}", app.backend, r.body);
        }
    })
    .await;
}

/// PostgreSQL's text cannot hold a NUL character and SQLite's LIKE stops at one: a NUL in
/// a path id, a query parameter or any string of a body is refused by name on both
/// backends (it was a 500 on PostgreSQL, and a search for `%00` listed everyone on
/// SQLite), and nothing is written.
#[tokio::test]
async fn a_nul_character_is_refused_by_name() {
    each_app(|app| async move {
        let before = app.audit_count().await;
        let field = |r: &crate::helpers::Resp| r.problem(422, "validation_failed")["field"].clone();
        let backend = app.backend;
        assert_eq!(field(&app.get("/api/v1/customers/%00").await), "path", "{backend}");
        assert_eq!(field(&app.get("/api/v1/customers/cus_x%00/balance").await), "path");
        assert_eq!(field(&app.get("/api/v1/customers?q=a%00b").await), "q", "{backend}");
        assert_eq!(field(&app.get("/api/v1/tickets?customer_id=%00").await), "customer_id");
        let sale = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": "cus_\u{0}", "total": {"amount": "1000", "currency": "IRR"}}),
            )
            .await;
        assert_eq!(field(&sale), "customer_id", "{backend}");
        let line = app
            .post(
                "/api/v1/rules/simulate",
                json!({"mobile": "09120000000", "total": {"amount": "1000", "currency": "IRR"},
                    "items": [{"sku": "A\u{0}", "quantity": 1, "unit_price": {"amount": "1000", "currency": "IRR"}}]}),
            )
            .await;
        assert_eq!(field(&line), "items[0].sku", "{backend}");
        // Before signing in, too.
        let login = app
            .raw(
                Method::POST,
                "/auth/login",
                None,
                Some(("application/json", br#"{"username": "\u0000", "password": "x"}"#.to_vec())),
            )
            .await;
        assert_eq!(field(&login), "username", "{backend}");
        // An escaped backslash before "u0000" is text, not a NUL: the name is kept as sent.
        let c = app
            .post("/api/v1/customers", json!({"first_name": "a\\u0000b"}))
            .await
            .ok(201)
            .clone();
        assert_eq!(c["first_name"], "a\\u0000b");
        assert_eq!(app.audit_count().await, before + 1, "only the customer was written");
    })
    .await;
}
