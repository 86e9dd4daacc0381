//! Whole processes: a server killed with SIGKILL under load, and two servers on one database.

use crate::server::Server;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vafa_store::testing::backends;
use vafa_store::{Actor, Ctx, Store};

/// A program with one customer holding `points` available points.
struct Setup {
    program_id: String,
    key: String,
    customer: String,
}

async fn setup(db_url: &str, store: &Arc<dyn Store>, points: i64) -> Setup {
    let out = Command::new(env!("CARGO_BIN_EXE_vafa"))
        .args(["program", "create", "--name", "Processes", "--json"])
        .env("VAFA_DATABASE_URL", db_url)
        .output()
        .unwrap();
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ctx = Ctx {
        program_id: p["program_id"].as_str().unwrap().into(),
        actor: Actor::Cli,
        now: jiff::Timestamp::now(),
    };
    let profile = vafa_core::customer::ProfilePatch {
        first_name: vafa_core::patch::Patch::Value("Load".into()),
        ..Default::default()
    };
    let c = store.create_customer(&ctx, profile).await.unwrap();
    if points > 0 {
        store
            .adjust(&ctx, &c.id, points, "opening balance", None)
            .await
            .unwrap();
    }
    Setup {
        program_id: ctx.program_id,
        key: p["api_key"].as_str().unwrap().into(),
        customer: c.id,
    }
}

fn verify(db_url: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_vafa"))
        .args(["ledger", "verify"])
        .env("VAFA_DATABASE_URL", db_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_9_under_load_loses_no_acknowledged_purchase() {
    for db in backends().await {
        let store = db.open().await;
        let Setup {
            program_id,
            key,
            customer,
        } = setup(&db.url, &store, 0).await;
        let mut server = Server::start(&db.url, &[]);
        let client = reqwest::Client::new();
        // Load runs until the server dies; it is killed once enough purchases were
        // acknowledged, with requests still in flight.
        let deadline = Instant::now() + Duration::from_secs(60);
        let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for w in 0..16 {
            let (client, base, key, customer) = (
                client.clone(),
                server.base.clone(),
                key.clone(),
                customer.clone(),
            );
            let acked = acked.clone();
            tasks.push(tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    if Instant::now() > deadline {
                        break;
                    }
                    let receipt = format!("w{w}-{i}");
                    let body = json!({"customer_id": customer, "external_id": receipt, "total": {"amount": "20000", "currency": "IRR"}});
                    let res = client.post(format!("{base}/api/v1/purchases")).bearer_auth(&key).json(&body).send().await;
                    match res {
                        Ok(r) if r.status().as_u16() == 201 => {
                            acknowledged.push(receipt);
                            acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Ok(r) => panic!("unexpected {}", r.status()),
                        Err(_) => break, // the server is gone
                    }
                }
                acknowledged
            }));
        }
        while acked.load(std::sync::atomic::Ordering::SeqCst) < 40 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.signal("-KILL");
        let mut acknowledged = Vec::new();
        for t in tasks {
            acknowledged.extend(t.await.unwrap());
        }
        assert!(
            acknowledged.len() >= 40,
            "{:?}: only {} purchases before the kill",
            db.backend,
            acknowledged.len()
        );

        // Restart on the same database; everything acknowledged is there.
        drop(store);
        let _restarted = Server::start(&db.url, &[]);
        let store = db.open().await;
        let page = vafa_store::PageRequest {
            cursor: None,
            limit: 200,
        };
        let mut stored = std::collections::HashSet::new();
        let mut cursor = None;
        loop {
            let request = vafa_store::PageRequest {
                cursor,
                ..page.clone()
            };
            let p = store
                .customer_ledger(&program_id, &customer, &request)
                .await
                .unwrap();
            stored.extend(p.items.iter().filter_map(|l| l.purchase_id.clone()));
            cursor = p.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let receipts = receipts_of(&db.url, db.backend).await;
        for r in &acknowledged {
            assert!(
                receipts.contains(r),
                "{:?}: acknowledged purchase {r} was lost",
                db.backend
            );
        }
        assert_eq!(
            stored.len(),
            receipts.len(),
            "every stored purchase has its journal entry"
        );
        verify(&db.url);
    }
}

async fn receipts_of(url: &str, backend: vafa_store::Backend) -> std::collections::HashSet<String> {
    use sqlx::Connection;
    let sql = "SELECT external_id FROM purchases";
    let rows: Vec<(String,)> = match backend {
        vafa_store::Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
        vafa_store::Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
    };
    rows.into_iter().map(|(r,)| r).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_database_never_overdraw() {
    for db in backends().await {
        let store = db.open().await;
        let Setup { key, customer, .. } = setup(&db.url, &store, 1000).await;
        let servers = [Server::start(&db.url, &[]), Server::start(&db.url, &[])];
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let url = format!(
                "{}/api/v1/customers/{customer}/redemptions",
                servers[i % 2].base
            );
            let (client, key) = (client.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(key)
                    .json(&json!({"points": 10}))
                    .send()
                    .await
                    .unwrap();
                r.status().as_u16()
            }));
        }
        let mut statuses = std::collections::BTreeMap::new();
        for t in tasks {
            *statuses.entry(t.await.unwrap()).or_insert(0) += 1;
        }
        assert_eq!(
            statuses,
            [(201, 100), (422, 100)].into_iter().collect(),
            "{:?}",
            db.backend
        );
        let bal: Value = client
            .get(format!(
                "{}/api/v1/customers/{customer}/balance",
                servers[0].base
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(bal["points"]["available"], 0);
        verify(&db.url);
    }
}
