//! The outbox worker against a local HTTP receiver: signed deliveries, retries with
//! backoff, the dead letter and a manual retry, on every backend.

use crate::helpers::{customer, each_app};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use vafa_server::clock::Clock;
use vafa_server::outbox::{Policy, Worker};

#[derive(Default)]
struct Receiver {
    /// Answer 500 while this is above zero (counting down).
    failures: AtomicUsize,
    got: Mutex<Vec<(HeaderMap, String)>>,
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: String) -> StatusCode {
    r.got.lock().unwrap().push((headers, body));
    let failing = r
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn receiver() -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

/// A receiver's check, written from the documented scheme (not the crate's own signer):
/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, and `t` recent.
fn verify(secret: &str, headers: &HeaderMap, body: &str, now: jiff::Timestamp) -> bool {
    use hmac::{Hmac, Mac};
    let sig = headers["vafa-signature"].to_str().unwrap();
    let (mut t, mut v1) = (None, None);
    for part in sig.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now.as_second() - t).abs() > 300 {
        return false; // a replay of an old delivery
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&v1).is_ok()
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_dead_lettered() {
    each_app(|app| async move {
        let (rx, url) = receiver().await;
        app.post(
            "/api/v1/webhooks",
            json!({"url": "ftp://x", "events": ["nope"]}),
        )
        .await
        .problem(422, "validation_failed");
        let hook = app
            .post(
                "/api/v1/webhooks",
                json!({"url": url, "events": ["order.stage_changed"]}),
            )
            .await
            .ok(201)
            .clone();
        let secret = hook["secret"].as_str().unwrap().to_owned();
        let c = app.create_customer(customer("Leila", "09131234567")).await;
        let cid = c["id"].as_str().unwrap();
        // A ticket's event is not one the webhook takes: only the log gets it.
        app.post(
            "/api/v1/tickets",
            json!({"customer_id": cid, "subject": "x"}),
        )
        .await
        .ok(201);
        let order = app
            .post(
                "/api/v1/orders",
                json!({"customer_id": cid, "external_id": "W-1"}),
            )
            .await
            .ok(201)
            .clone();

        let policy = Policy {
            max_attempts: 3,
            ..Policy::default()
        };
        let worker = Worker::new(app.store.clone(), app.clock.clone(), policy);
        rx.failures.store(1, Ordering::SeqCst);
        let p = worker.pass().await.unwrap();
        assert_eq!(
            (p.delivered, p.retried, p.dead),
            (2, 1, 0),
            "{}",
            app.backend
        );
        let pending = app
            .get("/api/v1/outbox?status=pending")
            .await
            .ok(200)
            .clone();
        assert_eq!(pending["items"].as_array().unwrap().len(), 1);
        assert_eq!(pending["items"][0]["attempts"], 1);
        assert!(pending["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("500"));
        // Not due again until the backoff has passed.
        assert_eq!(worker.pass().await.unwrap().delivered, 0);
        app.clock
            .set(app.clock.now() + jiff::SignedDuration::from_secs(31));
        assert_eq!(worker.pass().await.unwrap().delivered, 1);

        let got = rx.got.lock().unwrap().clone();
        assert_eq!(got.len(), 2, "one failure, one success");
        let (headers, body) = &got[1];
        let now = app.clock.now();
        assert!(verify(&secret, headers, body, now), "signature checks out");
        assert!(!verify("whsec_wrong", headers, body, now));
        assert!(
            !verify(&secret, headers, &format!("{body} "), now),
            "the body is signed"
        );
        let hour = jiff::SignedDuration::from_hours(1);
        assert!(
            !verify(&secret, headers, body, now + hour),
            "t is the send time"
        );
        assert_eq!(headers["vafa-event"], "order.stage_changed");
        assert_eq!(
            headers["vafa-delivery"], got[0].0["vafa-delivery"],
            "retries keep their delivery id"
        );
        let payload: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(payload["event"], "order.stage_changed");
        assert_eq!(payload["data"]["order_id"], order["id"]);
        assert_eq!(payload["data"]["stage"], "received");

        // A receiver that keeps failing: the message goes to the dead letters.
        rx.failures.store(100, Ordering::SeqCst);
        let oid = order["id"].as_str().unwrap();
        app.post(
            &format!("/api/v1/orders/{oid}/stage"),
            json!({"stage": "preparing"}),
        )
        .await
        .ok(200);
        let mut dead = 0;
        for _ in 0..3 {
            dead += worker.pass().await.unwrap().dead;
            app.clock
                .set(app.clock.now() + jiff::SignedDuration::from_hours(1));
        }
        assert_eq!(dead, 1);
        let letters = app.get("/api/v1/outbox?status=dead").await.ok(200).clone();
        assert_eq!(letters["items"].as_array().unwrap().len(), 1);
        let letter = letters["items"][0].clone();
        assert_eq!(
            (letter["attempts"].as_i64(), letter["destination"].as_str()),
            (Some(3), hook["id"].as_str())
        );
        assert_eq!(
            worker.pass().await.unwrap(),
            Default::default(),
            "dead letters wait"
        );

        // Retried by hand once the receiver is fixed.
        rx.failures.store(0, Ordering::SeqCst);
        let lid = letter["id"].as_str().unwrap();
        app.post(&format!("/api/v1/outbox/{lid}/retry"), json!({}))
            .await
            .ok(200);
        app.post(&format!("/api/v1/outbox/{lid}/retry"), json!({}))
            .await
            .problem(409, "invalid_state");
        assert_eq!(worker.pass().await.unwrap().delivered, 1);
        let delivered = app
            .get("/api/v1/outbox?status=delivered")
            .await
            .ok(200)
            .clone();
        assert!(delivered["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == lid));

        // A disabled webhook gets nothing more: its waiting messages are cancelled and
        // its dead letters stay dead (nothing would receive them).
        rx.failures.store(100, Ordering::SeqCst);
        app.post(
            &format!("/api/v1/orders/{oid}/stage"),
            json!({"stage": "shipped"}),
        )
        .await
        .ok(200);
        let mut dead = 0;
        for _ in 0..3 {
            dead += worker.pass().await.unwrap().dead;
            app.clock
                .set(app.clock.now() + jiff::SignedDuration::from_hours(1));
        }
        assert_eq!(dead, 1);
        let shipped = app.get("/api/v1/outbox?status=dead").await.ok(200).clone();
        let shipped_id = shipped["items"][0]["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/api/v1/orders/{oid}/stage"),
            json!({"stage": "delivered"}),
        )
        .await
        .ok(200);
        let hid = hook["id"].as_str().unwrap();
        app.delete(&format!("/api/v1/webhooks/{hid}")).await.ok(200);
        let before = rx.got.lock().unwrap().len();
        worker.pass().await.unwrap();
        assert_eq!(rx.got.lock().unwrap().len(), before);
        let cancelled = app
            .get("/api/v1/outbox?status=cancelled")
            .await
            .ok(200)
            .clone();
        assert_eq!(cancelled["items"].as_array().unwrap().len(), 1);
        app.post(&format!("/api/v1/outbox/{shipped_id}/retry"), json!({}))
            .await
            .problem(409, "invalid_state");
    })
    .await;
}
