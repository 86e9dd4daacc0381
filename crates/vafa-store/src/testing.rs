//! Fresh databases for tests: a SQLite file in the temp directory, and — when
//! `VAFA_TEST_POSTGRES_URL` is set — a PostgreSQL database created for the test and
//! dropped when it ends. If the variable is set and PostgreSQL cannot be reached, the
//! test fails: a silently skipped backend is a backend not tested.

use crate::{open, Backend, OpenOptions, Store, StoreError};
use sqlx::Connection;
use std::path::PathBuf;
use std::sync::Arc;

pub const POSTGRES_ENV: &str = "VAFA_TEST_POSTGRES_URL";

/// A database that exists for the life of this value.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Nothing,
    Files(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let path =
            std::env::temp_dir().join(format!("vafa-test-{}.db", uuid::Uuid::now_v7().simple()));
        TestDb {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", path.display()),
            cleanup: Cleanup::Files(path),
        }
    }

    /// A SQLite database at `path` (removed when dropped unless [`TestDb::keep`]).
    pub fn sqlite_at(path: &std::path::Path) -> TestDb {
        TestDb {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", path.display()),
            cleanup: Cleanup::Files(path.to_path_buf()),
        }
    }

    /// Leave the database in place when this value is dropped.
    pub fn keep(mut self) {
        self.cleanup = Cleanup::Nothing;
    }

    /// A new, empty database on the server of `admin_url`.
    pub async fn postgres(admin_url: &str) -> Result<TestDb, StoreError> {
        let name = format!("vafa_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        let _ = conn.close().await;
        Ok(TestDb {
            backend: Backend::Postgres,
            url: with_database(admin_url, &name),
            cleanup: Cleanup::PgDatabase {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// Open the store on this database (migrated).
    pub async fn open(&self) -> Arc<dyn Store> {
        match open(&self.url, &OpenOptions::default()).await {
            Ok(s) => s,
            Err(e) => panic!("opening test database {}: {e}", self.url),
        }
    }
}

/// Every backend this run must test: SQLite always, PostgreSQL when configured.
pub async fn backends() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite().await];
    if let Ok(url) = std::env::var(POSTGRES_ENV) {
        match TestDb::postgres(&url).await {
            Ok(db) => dbs.push(db),
            Err(e) => panic!("{POSTGRES_ENV} is set but PostgreSQL is not usable: {e}"),
        }
    }
    dbs
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Nothing => {}
            Cleanup::Files(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
            Cleanup::PgDatabase { admin_url, name } => {
                // Drop runs inside a test's runtime; use a thread with its own.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    rt.block_on(async {
                        let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn)
                            .await
                            .ok()
                    })
                })
                .join();
                if !matches!(dropped, Ok(Some(_))) {
                    eprintln!("warning: could not drop test database {}", self.url);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_replaces_the_path() {
        assert_eq!(
            super::with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
    }
}
