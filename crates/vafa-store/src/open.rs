//! Opening a store from a URL: `sqlite://PATH` (the default) or `postgres://…`.

use crate::{Result, Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Create the SQLite file when it does not exist. Off for commands that must not
    /// conjure an empty database out of a mistyped path.
    pub create: bool,
    /// Apply pending migrations on open.
    pub migrate: bool,
    pub max_connections: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            create: true,
            migrate: true,
            max_connections: 8,
        }
    }
}

enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

fn parse_url(url: &str) -> Result<Target> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::Open(
                "sqlite URL needs a file path, e.g. sqlite://vafa.db (in-memory databases lose every purchase on exit)".into(),
            ));
        }
        return Ok(Target::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or(url);
    Err(StoreError::Open(format!(
        "unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DB"
    )))
}

/// Open (and by default migrate) the store behind `url`.
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    match parse_url(url)? {
        Target::Sqlite(path) => {
            if !options.create && !path.exists() {
                return Err(StoreError::Open(format!(
                    "database file {} does not exist (and creating it was not asked for)",
                    path.display()
                )));
            }
            Ok(Arc::new(crate::sql::sqlite::connect(&path, options).await?))
        }
        Target::Postgres(url) => Ok(Arc::new(
            crate::sql::postgres::connect(&url, options).await?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(
            matches!(parse_url("sqlite://vafa.db"), Ok(Target::Sqlite(p)) if p.as_os_str() == "vafa.db")
        );
        assert!(
            matches!(parse_url("sqlite:///tmp/x.db?mode=rwc"), Ok(Target::Sqlite(p)) if p.as_os_str() == "/tmp/x.db")
        );
        assert!(matches!(
            parse_url("postgres://u@h/db"),
            Ok(Target::Postgres(_))
        ));
        assert!(parse_url("mysql://x").is_err());
        assert!(parse_url("sqlite://:memory:").is_err());
        assert!(parse_url("vafa.db").is_err());
    }
}
