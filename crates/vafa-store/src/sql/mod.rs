//! The SQL implementation of [`crate::Store`], shared by SQLite and PostgreSQL.
//!
//! Both backends accept the same SQL (`$1` parameters, `ON CONFLICT`, `RETURNING`),
//! so the statements are written once. The Rust around them is written once too, as
//! `macro_rules!` bodies instantiated per backend: sqlx's generic executor bounds do
//! not propagate through a trait, and its `Any` driver has too few types. What truly
//! differs (how a write transaction begins, row locks) is a per-backend method or
//! macro argument.

mod analytics;
mod bulk;
pub(crate) mod cache;
mod cards;
pub(crate) mod coupons;
pub(crate) mod crm;
mod customers;
pub(crate) mod db;
pub(crate) mod group_commit;
pub(crate) mod history;
mod keys;
pub(crate) mod ledger;
mod ledger_more;
mod ledger_read;
pub(crate) mod ledger_support;
pub(crate) mod lite_read;
pub(crate) mod lite_writer;
pub(crate) mod outbox;
pub(crate) mod postgres;
pub(crate) mod rewards;
mod rows;
mod rules;
pub(crate) mod sqlite;
mod store_impl;
pub(crate) mod tickets;
pub(crate) mod tiers;
pub(crate) mod timeline;

use crate::StoreError;
use jiff::Timestamp;

pub(crate) struct SqlStore<DB: sqlx::Database> {
    /// Transactions that write (PostgreSQL; SQLite uses it for migrations only).
    pub(crate) write: sqlx::Pool<DB>,
    pub(crate) read: sqlx::Pool<DB>,
    /// SQLite's one writer connection, shared by concurrent operations (group commit).
    pub(crate) group: Option<std::sync::Arc<group_commit::GroupCommit>>,
    /// SQLite's purchase writer: its own thread and connection (see `lite_writer`).
    pub(crate) lite: Option<std::sync::Arc<lite_writer::LiteWriter>>,
    /// SQLite's inline point readers (see `lite_read`).
    pub(crate) lite_read: Option<lite_read::LiteReaders>,
    /// Programs once read (see `cache`).
    pub(crate) programs: cache::ProgramCache,
    /// The SQLite file, for bulk reads that bypass sqlx (see `bulk`).
    pub(crate) sqlite_path: Option<std::path::PathBuf>,
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn from_micros(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|e| StoreError::Corrupt(format!("timestamp {us}: {e}")))
}

/// Unique indexes whose violation is a domain outcome, not a failure. PostgreSQL
/// names the index; SQLite names the columns in its message.
struct UniqueOutcome {
    index: &'static str,
    sqlite_columns: &'static str,
    error: fn() -> StoreError,
}

const fn unique(
    index: &'static str,
    sqlite_columns: &'static str,
    error: fn() -> StoreError,
) -> UniqueOutcome {
    UniqueOutcome {
        index,
        sqlite_columns,
        error,
    }
}

const UNIQUE_OUTCOMES: &[UniqueOutcome] = &[
    unique(
        "customers_mobile_uq",
        "customers.program_id, customers.mobile",
        || StoreError::DuplicateMobile,
    ),
    unique(
        "customers_external_id_uq",
        "customers.program_id, customers.external_id",
        || StoreError::DuplicateExternalId,
    ),
    unique(
        "customers_national_id_uq",
        "customers.program_id, customers.national_id",
        || StoreError::DuplicateNationalId,
    ),
];

/// Map a database error to a domain error where a constraint says what happened.
pub(crate) fn classify(err: sqlx::Error) -> StoreError {
    classify_error(StoreError::Database(err))
}

/// [`classify`] for an error of any connection.
pub(crate) fn classify_error(err: StoreError) -> StoreError {
    if let Some((constraint, message)) = db::unique_violation(&err) {
        for u in UNIQUE_OUTCOMES {
            if constraint == u.index || message.ends_with(u.sqlite_columns) {
                return (u.error)();
            }
        }
    }
    err
}

/// True when a unique violation came from the card number index (retry with new numbers).
pub(crate) fn is_card_number_clash(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            db.constraint() == Some("cards_number_uq")
                || db.message().ends_with("cards.program_id, cards.number")
        }
        _ => false,
    }
}

fn parse_col<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("column {column}: unexpected value {value:?}")))
}

fn parse_opt<T: std::str::FromStr>(
    column: &str,
    value: Option<String>,
) -> Result<Option<T>, StoreError> {
    value.map(|v| parse_col(column, &v)).transpose()
}

/// Escape `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
