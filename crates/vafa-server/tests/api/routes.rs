//! Tests generated over the route table (the OpenAPI document), not hand-picked routes:
//! tenant isolation, the role × route matrix, and the permission docs.

use crate::helpers::{customer, each_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use vafa_core::auth::{Permission, Role};
use vafa_server::auth::{operations, RoutePermissions};

fn doc() -> Value {
    vafa_server::openapi()
}

/// Unless the document lists `status` among the operation's responses (an error's
/// answer then being `Problem`, application/problem+json): what is missing.
fn undocumented(doc: &Value, method: &Method, template: &str, status: u16) -> Option<String> {
    let op = &doc["paths"][template][method.as_str().to_lowercase()];
    let response = &op["responses"][status.to_string()];
    if !response.is_object() {
        return Some(format!(
            "{method} {template} answered {status}, which its document does not list"
        ));
    }
    (status >= 400
        && response["content"]["application/problem+json"]["schema"]["$ref"]
            != "#/components/schemas/Problem")
        .then(|| format!("{method} {template} {status} is not documented as a Problem"))
}

/// Resources of program A that the generated requests point at.
struct Fixture {
    customer_id: String,
    card_number: String,
    key_id: String,
    other_customer_id: String,
    purchase_id: String,
    campaign_id: String,
    rule_id: String,
    segment_id: String,
    snapshot_id: String,
    coupon_batch_id: String,
    reward_id: String,
    claim_id: String,
    claim_code: String,
    staff_id: String,
    ticket_id: String,
    task_id: String,
    order_id: String,
    webhook_id: String,
    outbox_id: String,
}

fn sample_ladder() -> Value {
    json!({"metric": "spend", "window": {"kind": "lifetime"},
           "tiers": [{"code": "simple", "name": "Simple", "threshold": 0}]})
}

static FIXTURES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

async fn fixture(app: &TestApp) -> Fixture {
    let n = FIXTURES.fetch_add(2, std::sync::atomic::Ordering::Relaxed);
    let c = app
        .create_customer(customer("Ava", &format!("0912123{n:04}")))
        .await;
    let o = app
        .create_customer(customer("Bob", &format!("0912123{:04}", n + 1)))
        .await;
    let cards = app.post("/api/v1/cards", json!({"count": 1})).await;
    let key = app
        .post(
            "/api/v1/api-keys",
            json!({"role": "analyst", "name": "victim"}),
        )
        .await;
    let bought = app
        .post(
            "/api/v1/purchases",
            json!({"customer_id": c["id"], "total": {"amount": "500000", "currency": "IRR"}}),
        )
        .await;
    let campaign = app
        .post(
            "/api/v1/campaigns",
            json!({"campaign": {"name": "Fixture"}, "rules": [{"name": "r", "effects": [{"type": "fixed_bonus", "points": 1}]}]}),
        )
        .await;
    let campaign = campaign.ok(201);
    app.call(
        reqwest::Method::PUT,
        "/api/v1/tiers",
        &app.admin_key,
        Some(sample_ladder()),
    )
    .await
    .ok(200);
    let segment = app
        .post(
            "/api/v1/segments",
            json!({"name": "All", "condition": "true"}),
        )
        .await;
    let segment_id: String = segment.ok(201)["id"].as_str().unwrap().into();
    let snapshot = app
        .post(
            &format!("/api/v1/segments/{segment_id}/snapshots"),
            json!({}),
        )
        .await;
    let batch = app
        .post(
            "/api/v1/coupon-batches",
            json!({"name": "Fixture", "pattern": "FIX-######", "count": 3,
                   "rules": {"discount": {"type": "amount", "amount_minor": 1000}}}),
        )
        .await;
    let reward = app
        .post(
            "/api/v1/rewards",
            json!({"name": "Tea", "kind": {"type": "physical_gift"}, "cost_points": 10}),
        )
        .await;
    let reward_id: String = reward.ok(201)["id"].as_str().unwrap().into();
    let claim = app
        .post(
            &format!("/api/v1/customers/{}/rewards", c["id"].as_str().unwrap()),
            json!({"reward_id": reward_id}),
        )
        .await;
    let claim = claim.ok(201);
    let cid = c["id"].as_str().unwrap();
    let staff = app
        .post(
            "/api/v1/staff",
            json!({"username": format!("agent{n}"), "name": "Agent", "role": "support", "password": "fixture-pass"}),
        )
        .await;
    let ticket = app
        .post(
            "/api/v1/tickets",
            json!({"customer_id": cid, "subject": "Fixture"}),
        )
        .await;
    let task = app
        .post(
            "/api/v1/tasks",
            json!({"customer_id": cid, "title": "Call back", "due_at": "2026-12-01T10:00:00Z"}),
        )
        .await;
    let order = app
        .post("/api/v1/orders", json!({"customer_id": cid}))
        .await;
    let webhook = app
        .post(
            "/api/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let outbox = app.get("/api/v1/outbox?limit=1").await;
    Fixture {
        staff_id: staff.ok(201)["id"].as_str().unwrap().into(),
        ticket_id: ticket.ok(201)["id"].as_str().unwrap().into(),
        task_id: task.ok(201)["id"].as_str().unwrap().into(),
        order_id: order.ok(201)["id"].as_str().unwrap().into(),
        webhook_id: webhook.ok(201)["id"].as_str().unwrap().into(),
        outbox_id: outbox.ok(200)["items"][0]["id"].as_str().unwrap().into(),
        claim_id: claim["id"].as_str().unwrap().into(),
        claim_code: claim["code"].as_str().unwrap().into(),
        reward_id,
        coupon_batch_id: batch.ok(201)["id"].as_str().unwrap().into(),
        snapshot_id: snapshot.ok(201)["id"].as_str().unwrap().into(),
        segment_id,
        campaign_id: campaign["id"].as_str().unwrap().into(),
        rule_id: campaign["rules"][0]["id"].as_str().unwrap().into(),
        customer_id: c["id"].as_str().unwrap().into(),
        other_customer_id: o["id"].as_str().unwrap().into(),
        card_number: cards.ok(201)["cards"][0]["number"].as_str().unwrap().into(),
        key_id: key.ok(201)["key_id"].as_str().unwrap().into(),
        purchase_id: bought.ok(201)["id"].as_str().unwrap().into(),
    }
}

/// A concrete path and a valid body for an operation. A new route with a body or an
/// unknown parameter fails here until it gets a sample: no route escapes the tests.
fn request_for(method: &Method, template: &str, f: &Fixture) -> (String, Option<Value>) {
    let path = template
        .replace("{number}", &f.card_number)
        .replace("/api-keys/{id}", &format!("/api-keys/{}", f.key_id))
        .replace("/purchases/{id}", &format!("/purchases/{}", f.purchase_id))
        .replace("/campaigns/{id}", &format!("/campaigns/{}", f.campaign_id))
        .replace("/rules/{id}", &format!("/rules/{}", f.rule_id))
        .replace("/segments/{id}", &format!("/segments/{}", f.segment_id))
        .replace("{snapshot_id}", &f.snapshot_id)
        .replace(
            "/coupon-batches/{id}",
            &format!("/coupon-batches/{}", f.coupon_batch_id),
        )
        .replace("/rewards/{id}", &format!("/rewards/{}", f.reward_id))
        .replace(
            "/reward-claims/{id}",
            &format!("/reward-claims/{}", f.claim_id),
        )
        .replace("{code}", &f.claim_code)
        .replace("/staff/{id}", &format!("/staff/{}", f.staff_id))
        .replace("/tickets/{id}", &format!("/tickets/{}", f.ticket_id))
        .replace("/tasks/{id}", &format!("/tasks/{}", f.task_id))
        .replace("/orders/{id}", &format!("/orders/{}", f.order_id))
        .replace("/webhooks/{id}", &format!("/webhooks/{}", f.webhook_id))
        .replace("/outbox/{id}", &format!("/outbox/{}", f.outbox_id))
        .replace("{day}", "2026-12-25")
        .replace("{key}", "apology")
        .replace("{kind}", "customers")
        .replace("{table}", "customers")
        .replace("{id}", &f.customer_id);
    assert!(
        !path.contains('{'),
        "no sample for a parameter of {template}"
    );
    let body = match (method.as_str(), template) {
        ("GET" | "DELETE", _) => None,
        ("POST", "/api/v1/customers") => Some(customer("New", "09120009999")),
        ("PATCH", "/api/v1/customers/{id}") => Some(json!({"city": "Yazd"})),
        ("POST", "/api/v1/customers/{id}/merge") => {
            Some(json!({"duplicate_id": f.other_customer_id}))
        }
        ("POST", "/api/v1/cards") => Some(json!({"customer_id": f.customer_id})),
        ("POST", "/api/v1/cards/{number}/bind") => Some(json!({"customer_id": f.customer_id})),
        ("POST", "/api/v1/cards/{number}/block" | "/api/v1/cards/{number}/replace") => {
            Some(json!({"reason": "test"}))
        }
        ("POST", "/api/v1/api-keys") => Some(json!({"role": "analyst"})),
        ("PUT", "/api/v1/program/display-settings") => {
            Some(json!({"money_unit": "rial", "calendar": "jalali"}))
        }
        ("PUT", "/api/v1/program/ledger-settings") => {
            Some(serde_json::to_value(vafa_core::ledger::LedgerSettings::default()).unwrap())
        }
        ("POST", "/api/v1/purchases") => Some(
            json!({"customer_id": f.customer_id, "total": {"amount": "10000", "currency": "IRR"}}),
        ),
        ("POST", "/api/v1/purchases/{id}/returns") => {
            Some(json!({"amount": {"amount": "1", "currency": "IRR"}}))
        }
        ("POST", "/api/v1/customers/{id}/redemptions") => Some(json!({"points": 1})),
        ("POST", "/api/v1/customers/{id}/adjustments") => {
            Some(json!({"points": 5, "reason": "test"}))
        }
        ("POST", "/api/v1/customers/{id}/transfers") => {
            Some(json!({"to_customer_id": f.other_customer_id, "points": 1}))
        }
        ("POST", "/api/v1/campaigns") => Some(json!({"campaign": {"name": "Sample"}})),
        ("PUT", "/api/v1/campaigns/{id}") => Some(json!({"name": "Renamed"})),
        ("POST", "/api/v1/campaigns/{id}/rules") | ("PUT", "/api/v1/rules/{id}") => {
            Some(json!({"name": "r", "effects": [{"type": "fixed_bonus", "points": 2}]}))
        }
        ("POST", "/api/v1/rules/simulate") => Some(
            json!({"customer_id": f.customer_id, "total": {"amount": "10000", "currency": "IRR"}}),
        ),
        ("POST", "/api/v1/rules/backtest") => Some(
            json!({"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z", "campaigns": []}),
        ),
        ("POST", "/api/v1/segments" | "/api/v1/segments/preview") => {
            Some(json!({"name": "Sample", "condition": "customer.purchase_count > 0"}))
        }
        ("POST", "/api/v1/segments/{id}/snapshots") => Some(json!({})),
        ("POST", "/api/v1/events") => Some(json!({"customer_id": f.customer_id, "name": "review"})),
        ("PUT", "/api/v1/tiers") => Some(sample_ladder()),
        ("POST", "/api/v1/checkout/quote") => Some(json!({"customer_id": f.customer_id,
            "total": {"amount": "100000", "currency": "IRR"}, "redeem_points": "max"})),
        ("POST", "/api/v1/rewards") => {
            Some(json!({"name": "Mug", "kind": {"type": "physical_gift"}, "cost_points": 5}))
        }
        ("POST", "/api/v1/customers/{id}/rewards") => Some(json!({"reward_id": f.reward_id})),
        ("POST", "/api/v1/reward-codes/{code}/use") => None,
        ("POST", "/api/v1/reward-claims/{id}/cancel") => Some(json!({"reason": "test"})),
        ("PUT", "/api/v1/reward-claims/{id}/fulfilment") => Some(json!({"fulfilment": "packed"})),
        ("POST", "/api/v1/coupon-batches") => Some(json!({"name": "S", "code": "SAMPLE-CODE",
            "rules": {"discount": {"type": "percent", "percent": "5"}}})),
        ("POST", "/api/v1/coupons/check" | "/api/v1/coupons/redeem") => Some(json!({
            "code": "NO-SUCH-CODE", "customer_id": f.customer_id,
            "total": {"amount": "100000", "currency": "IRR"}})),
        ("POST", "/api/v1/tiers/evaluate") => None,
        // A JSON string is a one-column CSV to the import: a header and nothing else.
        ("POST", "/api/v1/imports/{kind}") => Some(json!("first_name")),
        ("POST", "/api/v1/customers/{id}/tier") => {
            Some(json!({"tier": "simple", "reason": "test"}))
        }
        ("POST", "/api/v1/staff") => Some(json!({"username": format!("new{}", &f.ticket_id[4..]),
            "name": "New", "role": "cashier", "password": "fixture-pass"})),
        ("PATCH", "/api/v1/staff/{id}") => Some(json!({"name": "Renamed"})),
        ("POST", "/api/v1/customers/{id}/interactions") => {
            Some(json!({"kind": "call", "summary": "test", "staff_id": f.staff_id}))
        }
        ("POST", "/api/v1/tasks") => Some(json!({"customer_id": f.customer_id, "title": "t",
            "due_at": "2026-12-01T10:00:00Z"})),
        ("POST", "/api/v1/tasks/{id}/close") => Some(json!({"status": "done"})),
        ("POST", "/api/v1/tickets") => Some(json!({"customer_id": f.customer_id, "subject": "s"})),
        ("POST", "/api/v1/tickets/{id}/replies") => Some(json!({"body": "hello"})),
        ("POST", "/api/v1/tickets/{id}/assign") => Some(json!({"assignee_id": null})),
        ("POST", "/api/v1/tickets/{id}/status") => Some(json!({"status": "in_progress"})),
        ("POST", "/api/v1/feedback") => {
            Some(json!({"kind": "csat", "score": 5, "customer_id": f.customer_id}))
        }
        ("POST", "/api/v1/orders") => Some(json!({"customer_id": f.customer_id})),
        ("POST", "/api/v1/orders/{id}/stage") => Some(json!({"stage": "packing"})),
        ("PUT", "/api/v1/crm/settings") => Some(json!({})),
        ("PUT", "/api/v1/crm/holidays/{day}") => Some(json!({"name": "Holiday"})),
        ("PUT", "/api/v1/crm/templates/{key}") => {
            Some(json!({"fa": "{{customer_name}} عزیز", "en": "Dear {{customer_name}}"}))
        }
        ("POST", "/api/v1/webhooks") => Some(json!({"url": "http://127.0.0.1:9/other"})),
        ("POST", "/api/v1/outbox/{id}/retry") => None,
        ("POST", "/auth/login") => Some(json!({"username": "nobody", "password": "nothing"})),
        ("POST", "/auth/logout") => None,
        _ => panic!("no sample body for {method} {template}"),
    };
    (path, body)
}

fn api_operations() -> Vec<(Method, String)> {
    let doc = doc();
    let mut ops: Vec<_> = operations(&doc)
        .into_iter()
        .filter(|(p, ..)| p.starts_with("/api/"))
        .map(|(p, _, m, _)| (m, p.to_owned()))
        .collect();
    ops.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    ops
}

#[test]
fn the_design_routes_are_in_the_document() {
    let ops: Vec<String> = api_operations()
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    for want in [
        "POST /api/v1/customers",
        "GET /api/v1/customers",
        "GET /api/v1/customers/{id}",
        "PATCH /api/v1/customers/{id}",
        "DELETE /api/v1/customers/{id}",
        "POST /api/v1/cards",
        "GET /api/v1/cards/{number}",
    ] {
        assert!(
            ops.contains(&want.to_owned()),
            "{want} missing from {ops:?}"
        );
    }
    let table = RoutePermissions::from_openapi(&doc()).unwrap();
    assert_eq!(
        table.iter().count(),
        ops.len(),
        "every /api/ operation names one permission"
    );
}

#[tokio::test]
async fn every_documented_route_is_served() {
    each_app(|app| async move {
        let f = fixture(&app).await;
        let doc = doc();
        let mut missing = Vec::new();
        for (path, _, method, _) in operations(&doc) {
            let (concrete, body) = request_for(&method, path, &f);
            let res = app
                .call(method.clone(), &concrete, &app.admin_key, body)
                .await;
            assert_ne!(
                res.body["detail"], "no such route",
                "{method} {path} is documented but not routed"
            );
            missing.extend(undocumented(&doc, &method, path, res.status.as_u16()));
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    })
    .await;
}

#[tokio::test]
async fn a_key_of_another_program_sees_nothing() {
    each_app(|app| async move {
        let f = fixture(&app).await;
        let (_, b_admin) = app.new_program("Program B").await;
        let before = app.audit_count().await;
        let mut checked = 0;
        let mut missing = Vec::new();
        for (method, template) in api_operations() {
            let (path, body) = request_for(&method, &template, &f);
            // A's resources are only ever named in the path or in the body.
            // `{kind}` and `{table}` name a kind of data, not one of A's resources.
            // `{day}` and `{key}` name a date and a template, the same in every program.
            let names_a_resource = (template.contains('{')
                && !template.contains("{kind}")
                && !template.contains("{table}")
                && !template.contains("{day}")
                && !template.contains("{key}"))
                || body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains("cus_"));
            if !names_a_resource {
                continue;
            }
            let res = app.call(method.clone(), &path, &b_admin, body).await;
            missing.extend(undocumented(
                &doc(),
                &method,
                &template,
                res.status.as_u16(),
            ));
            assert_eq!(
                res.status.as_u16(),
                404,
                "{method} {template}: {}",
                res.body
            );
            res.problem(404, "not_found");
            checked += 1;
        }
        assert!(checked >= 11, "only {checked} routes checked");
        assert!(missing.is_empty(), "{}", missing.join("\n"));
        assert_eq!(
            app.audit_count().await,
            before,
            "program B changed nothing of A"
        );
        // B's exports hold none of A's data.
        for table in ["customers", "purchases", "ledger"] {
            let res = app
                .call(
                    Method::GET,
                    &format!("/api/v1/exports/{table}?format=jsonl"),
                    &b_admin,
                    None,
                )
                .await;
            assert_eq!(res.ok(200), "", "{table}");
        }
        // Listing and searching from B finds none of A's customers.
        let list = app
            .call(Method::GET, "/api/v1/customers?q=Ava", &b_admin, None)
            .await;
        assert!(list.ok(200)["items"].as_array().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn each_role_gets_exactly_its_permissions() {
    each_app(|app| async move {
        let doc = doc();
        let table = RoutePermissions::from_openapi(&doc).unwrap();
        let mut missing = Vec::new();
        for role in Role::ALL {
            // Fresh resources per role: the allowed roles' writes (erase, merge) consume them.
            let f = fixture(&app).await;
            let key = app.key(&app.program_id, role).await;
            for (method, template) in api_operations() {
                let permission = table.get(&method, &template).unwrap();
                let (path, body) = request_for(&method, &template, &f);
                let res = app.call(method.clone(), &path, &key, body).await;
                missing.extend(undocumented(&doc, &method, &template, res.status.as_u16()));
                let forbidden = res.status.as_u16() == 403;
                assert_eq!(
                    forbidden,
                    !role.allows(permission),
                    "{role} {method} {template}: {}",
                    res.body
                );
            }
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    })
    .await;
}

fn render_permissions_doc() -> String {
    let table = RoutePermissions::from_openapi(&doc()).unwrap();
    let header: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let mut out = format!(
        "| permission | {} |\n|---|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for p in Permission::ALL {
        let marks: Vec<&str> = Role::ALL
            .iter()
            .map(|r| if r.allows(p) { "✓" } else { "–" })
            .collect();
        out.push_str(&format!("| `{}` | {} |\n", p.as_str(), marks.join(" | ")));
    }
    out.push_str("\n| method | route | permission |\n|---|---|---|\n");
    for (method, template) in api_operations() {
        let p = table.get(&method, &template).unwrap();
        out.push_str(&format!("| {method} | `{template}` | `{}` |\n", p.as_str()));
    }
    out
}

/// docs/permissions.md holds the table the code enforces. `VAFA_UPDATE_DOCS=1` rewrites it.
#[test]
fn permission_docs_match_the_enforced_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/permissions.md");
    let docs = std::fs::read_to_string(path).unwrap_or_default();
    let (begin, end) = ("<!-- permissions:begin -->\n", "<!-- permissions:end -->");
    let rendered = render_permissions_doc();
    let current = docs
        .split(begin)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .unwrap_or("");
    if std::env::var("VAFA_UPDATE_DOCS").is_ok() && current != rendered {
        let head = docs.split(begin).next().unwrap_or("");
        let tail = docs.split(end).nth(1).unwrap_or("\n");
        std::fs::write(path, format!("{head}{begin}{rendered}{end}{tail}")).unwrap();
        return;
    }
    assert_eq!(
        current, rendered,
        "docs/permissions.md is stale: run with VAFA_UPDATE_DOCS=1"
    );
}

/// The document says what the server takes: a day in ISO or Jalali (in any digits, not
/// only `format: date`), the real ranges, and errors as `Problem` on every operation.
#[test]
fn the_document_states_ranges_days_and_errors() {
    let doc = doc();
    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]
            .clone()
    };
    let limit = param("/api/v1/analytics/clv/customers", "limit");
    assert_eq!(
        (limit["minimum"].as_u64(), limit["maximum"].as_u64()),
        (Some(1), Some(1000)),
        "{limit}"
    );
    let day = param("/api/v1/analytics/kpis", "from");
    assert!(day.get("format").is_none(), "{day}");
    assert!(
        day["pattern"].as_str().unwrap().contains("۰-۹"),
        "Persian digits too: {day}"
    );
    assert!(doc["components"]["schemas"]["Problem"]["properties"]["code"].is_object());
    let login = &doc["paths"]["/auth/login"]["post"]["responses"];
    assert!(
        login["429"]["content"]["application/problem+json"].is_object(),
        "{login}"
    );
    let list = &doc["paths"]["/api/v1/audit"]["get"]["responses"];
    for status in ["401", "403", "422", "503"] {
        assert!(
            list[status]["content"]["application/problem+json"].is_object(),
            "{status}: {list}"
        );
    }
}
