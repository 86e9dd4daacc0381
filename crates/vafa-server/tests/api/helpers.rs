//! Start the real server on port 0 over a fresh database; typed request helpers.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use vafa_core::auth::Role;
use vafa_core::program::NewProgram;
use vafa_server::clock::ManualClock;
use vafa_store::testing::{backends, TestDb};
use vafa_store::{Actor, Ctx, Store, SystemCtx};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    /// Program A and its admin key.
    pub program_id: String,
    pub admin_key: String,
    pub backend: &'static str,
    _server: tokio::task::JoinHandle<()>,
    _db: TestDb,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub content_type: String,
    pub body: Value,
}

impl Resp {
    /// Assert a problem+json answer with this status and code; returns the body.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.body["code"], code, "{}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].as_str().unwrap().ends_with(code));
        &self.body
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        &self.body
    }
}

pub fn start_time() -> jiff::Timestamp {
    "2026-11-23T08:00:00Z".parse().unwrap()
}

impl TestApp {
    pub async fn spawn(db: TestDb) -> TestApp {
        let store = db.open().await;
        let clock = Arc::new(ManualClock::new(start_time()));
        let app = vafa_server::app(store.clone(), clock.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            vafa_server::serve(listener, app, std::future::pending())
                .await
                .unwrap();
        });
        let (program_id, admin_key) = new_program(&store, "Café Vafa").await;
        let backend = match db.backend {
            vafa_store::Backend::Sqlite => "sqlite",
            vafa_store::Backend::Postgres => "postgres",
        };
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            store,
            clock,
            program_id,
            admin_key,
            backend,
            _server: server,
            _db: db,
        }
    }

    pub async fn new_program(&self, name: &str) -> (String, String) {
        new_program(&self.store, name).await
    }

    pub async fn key(&self, program_id: &str, role: Role) -> String {
        let ctx = Ctx {
            program_id: program_id.into(),
            actor: Actor::Cli,
            now: start_time(),
        };
        self.store
            .create_api_key(&ctx, role, None)
            .await
            .unwrap()
            .api_key
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        self.raw_with(method, path, key, body, None).await
    }

    pub async fn raw_with(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
        idempotency_key: Option<&str>,
    ) -> Resp {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = idempotency_key {
            req = req.header("idempotency-key", k);
        }
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some((ct, bytes)) = body {
            req = req.header("content-type", ct).body(bytes);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = res.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        assert_ne!(status.as_u16(), 500, "500 for {path}: {body}");
        Resp {
            status,
            headers,
            content_type,
            body,
        }
    }

    pub async fn call(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Resp {
        let body = body.map(|b| ("application/json", serde_json::to_vec(&b).unwrap()));
        self.raw(method, path, Some(key), body).await
    }

    /// POST with an `Idempotency-Key`.
    pub async fn post_idem(&self, path: &str, idem: &str, body: Value) -> Resp {
        let bytes = serde_json::to_vec(&body).unwrap();
        self.raw_with(
            Method::POST,
            path,
            Some(&self.admin_key),
            Some(("application/json", bytes)),
            Some(idem),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, &self.admin_key, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, &self.admin_key, Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, &self.admin_key, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, &self.admin_key, None).await
    }

    /// Reads the program's ledger settings, changes them with `edit` and puts them back.
    pub async fn edit_ledger_settings(&self, edit: impl FnOnce(&mut Value)) {
        let path = "/api/v1/program/ledger-settings";
        let mut settings = self.get(path).await.ok(200).clone();
        edit(&mut settings);
        self.call(Method::PUT, path, &self.admin_key, Some(settings))
            .await
            .ok(200);
    }

    pub async fn create_customer(&self, body: Value) -> Value {
        self.post("/api/v1/customers", body).await.ok(201).clone()
    }

    /// Program A's newest audit rows, newest first.
    pub async fn audit_rows(&self, limit: u32) -> Vec<vafa_store::AuditEntry> {
        let page = vafa_store::PageRequest {
            cursor: None,
            limit,
        };
        self.store
            .list_audit(&self.program_id, &page)
            .await
            .unwrap()
            .items
    }

    /// How many audit rows program A has: a proxy for "nothing was written".
    pub async fn audit_count(&self) -> usize {
        let page = vafa_store::PageRequest {
            cursor: None,
            limit: 200,
        };
        self.store
            .list_audit(&self.program_id, &page)
            .await
            .unwrap()
            .items
            .len()
    }
}

async fn new_program(store: &Arc<dyn Store>, name: &str) -> (String, String) {
    let np = NewProgram::parse(name, "IRR", "Asia/Tehran", "fa").unwrap();
    let sys = SystemCtx {
        actor: Actor::Cli,
        now: start_time(),
    };
    let (p, key) = store.create_program(&np, &sys).await.unwrap();
    (p.id, key.api_key)
}

/// Run `story` against a fresh server on every backend.
pub async fn each_app<F, Fut>(story: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in backends().await {
        story(TestApp::spawn(db).await).await;
    }
}

pub fn customer(first: &str, mobile: &str) -> Value {
    json!({ "first_name": first, "last_name": "Test", "mobile": mobile })
}
