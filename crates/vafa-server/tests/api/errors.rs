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
