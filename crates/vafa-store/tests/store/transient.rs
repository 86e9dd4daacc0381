//! PostgreSQL giving up a transaction so that a concurrent one can go on is a refusal
//! the client may retry, not a failure of the service.

use sqlx::Connection;
use vafa_store::testing::{TestDb, POSTGRES_ENV};
use vafa_store::StoreError;

#[tokio::test]
async fn a_deadlock_victim_is_a_transient_conflict() {
    // PostgreSQL only: SQLite has one writer and cannot deadlock.
    let Ok(admin) = std::env::var(POSTGRES_ENV) else {
        return;
    };
    let db = TestDb::postgres(&admin).await.unwrap();
    let mut setup = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("CREATE TABLE pair (id INT PRIMARY KEY, n INT NOT NULL)")
        .execute(&mut setup)
        .await
        .unwrap();
    sqlx::query("INSERT INTO pair VALUES (1, 0), (2, 0)")
        .execute(&mut setup)
        .await
        .unwrap();
    let unique = sqlx::query("INSERT INTO pair VALUES (1, 0)")
        .execute(&mut setup)
        .await
        .unwrap_err();
    assert!(!StoreError::from(unique).is_transient_conflict());

    let mut a = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut b = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut ta = a.begin().await.unwrap();
    let mut tb = b.begin().await.unwrap();
    let bump = "UPDATE pair SET n = n + 1 WHERE id = $1";
    sqlx::query(bump).bind(1).execute(&mut *ta).await.unwrap();
    sqlx::query(bump).bind(2).execute(&mut *tb).await.unwrap();
    // Each now waits for the row the other holds; PostgreSQL aborts one of them.
    let (ra, rb) = tokio::join!(
        sqlx::query(bump).bind(2).execute(&mut *ta),
        sqlx::query(bump).bind(1).execute(&mut *tb),
    );
    let victim = match (ra, rb) {
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => StoreError::from(e),
        other => panic!("expected exactly one deadlock victim, got {other:?}"),
    };
    assert!(victim.is_transient_conflict(), "{victim}");
    assert!(victim.is_unavailable(), "{victim}");
    drop((ta, tb));
}
