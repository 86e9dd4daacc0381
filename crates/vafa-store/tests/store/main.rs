//! The store conformance suite: the same stories on SQLite (a temp file) and on
//! PostgreSQL (a fresh database) when `VAFA_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod analytics;
mod cards;
mod coupons;
mod crm;
mod customers;
mod demo;
mod ledger;
mod model;
mod programs;
mod rewards;
mod tiers;
mod transient;
mod writer;

use std::sync::Arc;
use vafa_core::program::NewProgram;
use vafa_store::testing::{backends, TestDb};
use vafa_store::{Actor, Ctx, Store, SystemCtx};

pub fn now() -> jiff::Timestamp {
    "2026-03-20T10:00:00Z".parse().unwrap()
}

/// A new program on `store`, with a write context acting as its admin key.
pub async fn program(store: &Arc<dyn Store>, name: &str) -> Ctx {
    let np = NewProgram::parse(name, "IRR", "Asia/Tehran", "fa").unwrap();
    let sys = SystemCtx {
        actor: Actor::Cli,
        now: now(),
    };
    let (p, key) = store.create_program(&np, &sys).await.unwrap();
    Ctx {
        program_id: p.id,
        actor: Actor::ApiKey {
            key_id: key.key_id,
            role: key.role,
        },
        now: now(),
    }
}

/// Run `story` once per backend, each on its own fresh database.
pub async fn each_backend<F, Fut>(story: F)
where
    F: Fn(Arc<dyn Store>, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in backends().await {
        let store = db.open().await;
        let name = match db.backend {
            vafa_store::Backend::Sqlite => "sqlite",
            vafa_store::Backend::Postgres => "postgres",
        };
        story(store, name).await;
        drop(db);
    }
}

#[test]
fn both_migration_trees_hold_the_same_versions() {
    let (sqlite, postgres) = vafa_store::migration_versions();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

#[tokio::test]
async fn opening_migrates_to_the_latest_version() {
    let (expected, _) = vafa_store::migration_versions();
    each_backend(|store, name| {
        let expected = expected.clone();
        async move {
            assert_eq!(
                store.applied_migrations().await.unwrap(),
                expected,
                "{name}"
            );
            store.health().await.unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn postgres_runs_when_configured() {
    // CI sets the variable; this makes a run without PostgreSQL visible rather than green.
    if std::env::var("CI").is_ok() {
        assert!(
            std::env::var(vafa_store::testing::POSTGRES_ENV).is_ok(),
            "CI must set VAFA_TEST_POSTGRES_URL"
        );
        assert_eq!(backends().await.len(), 2);
    }
}

#[tokio::test]
async fn a_sqlite_file_keeps_its_data_across_reopen() {
    let db = TestDb::sqlite().await;
    let ctx = {
        let store = db.open().await;
        program(&store, "Reopen").await
    };
    let store = db.open().await;
    assert!(store.get_program(&ctx.program_id).await.unwrap().is_some());
}

#[tokio::test]
async fn no_create_refuses_a_missing_sqlite_file() {
    let path = std::env::temp_dir().join(format!("vafa-missing-{}.db", uuid_like()));
    let options = vafa_store::OpenOptions {
        create: false,
        ..Default::default()
    };
    let err = vafa_store::open(&format!("sqlite://{}", path.display()), &options)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!path.exists(), "must not create the file");
    let err = vafa_store::open("mysql://x/y", &Default::default())
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("unsupported database URL scheme"),
        "{err}"
    );
}

fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), now().as_nanosecond())
}

/// Migration 0016 on data left by merges made before 0015: a chain a → b → c points at c,
/// and the usage of capped campaigns by a and b is c's.
#[tokio::test]
async fn merges_made_before_re_pointing_are_brought_together() {
    for db in backends().await {
        let store = db.open().await;
        let ctx = program(&store, "Old merges").await;
        let mut ids = Vec::new();
        for name in ["A", "B", "C", "D"] {
            ids.push(ledger::customer(&store, &ctx, name).await);
        }
        let (a, b, c, d) = (&ids[0], &ids[1], &ids[2], &ids[3]);
        let setup = [
            format!("INSERT INTO campaigns (id, program_id, version, status, definition, budget_points, budget_used, created_at, updated_at) VALUES ('cmp_old', '{}', 1, 'active', '{{}}', NULL, 0, 0, 0)", ctx.program_id),
            format!("UPDATE customers SET merged_into = '{b}' WHERE id = '{a}'"),
            format!("UPDATE customers SET merged_into = '{c}' WHERE id = '{b}'"),
            format!("INSERT INTO campaign_usage VALUES ('cmp_old', '{a}', '2026-11', 1, 10), ('cmp_old', '{b}', '2026-11', 2, 20), ('cmp_old', '{c}', '2026-11', 4, 40), ('cmp_old', '{b}', '2026-12', 1, 5), ('cmp_old', '{d}', '2026-11', 9, 90)"),
        ];
        let check = "SELECT customer_id || ' ' || period_key || ' ' || CAST(uses AS TEXT) || ' ' || CAST(points AS TEXT) FROM campaign_usage ORDER BY customer_id, period_key";
        let chain = format!("SELECT id || '>' || COALESCE(merged_into, '-') FROM customers WHERE id IN ('{a}', '{b}', '{c}') ORDER BY id");
        // The same steps on either backend's own connection and migration tree.
        macro_rules! migrate_over_old_data {
            ($conn:ty, $tree:literal) => {{
                use sqlx::Connection;
                let mut conn = <$conn>::connect(&db.url).await.unwrap();
                for s in &setup {
                    sqlx::query(s).execute(&mut conn).await.unwrap();
                }
                let migration = include_str!(concat!(
                    "../../migrations/",
                    $tree,
                    "/0016_earlier_merges.sql"
                ));
                sqlx::raw_sql(migration).execute(&mut conn).await.unwrap();
                let usage: Vec<String> = sqlx::query_scalar(check)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                let merged: Vec<String> = sqlx::query_scalar(&chain)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                (usage, merged)
            }};
        }
        let (usage, merged) = match db.backend {
            vafa_store::Backend::Sqlite => migrate_over_old_data!(sqlx::SqliteConnection, "sqlite"),
            vafa_store::Backend::Postgres => migrate_over_old_data!(sqlx::PgConnection, "postgres"),
        };
        // Sorted here, not by the database's collation.
        let (mut usage, mut merged) = (usage, merged);
        usage.sort();
        merged.sort();
        let mut want_chain = vec![format!("{a}>{c}"), format!("{b}>{c}"), format!("{c}>-")];
        want_chain.sort();
        assert_eq!(merged, want_chain, "{:?}", db.backend);
        let mut want_usage = vec![
            format!("{c} 2026-11 7 70"),
            format!("{c} 2026-12 1 5"),
            format!("{d} 2026-11 9 90"),
        ];
        want_usage.sort();
        assert_eq!(usage, want_usage, "{:?}", db.backend);
    }
}
