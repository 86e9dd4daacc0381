//! One way to run a statement on every connection the store has: sqlx's SQLite and
//! PostgreSQL connections, and the plain synchronous SQLite connection of the purchase
//! writer (`lite_writer`).
//!
//! sqlx's SQLite driver runs each statement on a worker thread and hands the answer
//! back, two thread wake-ups a statement; a purchase is some twenty statements, all
//! under SQLite's one write lock, so those wake-ups — not SQLite — set how many
//! purchases a second one file can take. The operations on the hot path are written
//! once against [`Db`], so the same code runs on PostgreSQL through sqlx and on SQLite
//! inside the writer thread with no hand-off per statement. The statements, their
//! parameters and the Rust types rows decode into are exactly as they were with sqlx.

use super::group_commit::GroupTx;
use crate::StoreError;
use rusqlite::types::{FromSql, Value, ValueRef};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection};
use std::future::Future;
use std::sync::Arc;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A bound parameter. Nulls keep their type: PostgreSQL wants to know it.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Int32(Option<i32>),
    Text(Option<String>),
    Bool(Option<bool>),
    Real(Option<f64>),
}

pub(crate) trait IntoArg {
    fn into_arg(self) -> Arg;
    /// The typed null of `Option<Self>::None`.
    fn null() -> Arg
    where
        Self: Sized;
}

macro_rules! into_arg {
    ($t:ty, $variant:ident, $conv:expr) => {
        impl IntoArg for $t {
            fn into_arg(self) -> Arg {
                #[allow(clippy::redundant_closure_call)]
                Arg::$variant(Some(($conv)(self)))
            }
            fn null() -> Arg {
                Arg::$variant(None)
            }
        }
    };
}

into_arg!(i64, Int, |v| v);
into_arg!(i32, Int32, |v| v);
into_arg!(bool, Bool, |v| v);
into_arg!(f64, Real, |v| v);
into_arg!(String, Text, |v| v);
into_arg!(&str, Text, |v: &str| v.to_owned());

impl<T: IntoArg> IntoArg for Option<T> {
    fn into_arg(self) -> Arg {
        match self {
            Some(v) => v.into_arg(),
            None => T::null(),
        }
    }
    fn null() -> Arg {
        T::null()
    }
}

impl<T: IntoArg + Clone> IntoArg for &T {
    fn into_arg(self) -> Arg {
        self.clone().into_arg()
    }
    fn null() -> Arg {
        T::null()
    }
}

/// A statement and its parameters (`$1`, `$2`, … on both backends).
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub sql: String,
    pub args: Vec<Arg>,
}

pub(crate) fn query(sql: impl Into<String>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

impl Query {
    pub(crate) fn bind(mut self, value: impl IntoArg) -> Self {
        self.args.push(value.into_arg());
        self
    }

    /// Rows changed.
    pub(crate) async fn execute<C: Db>(self, conn: &mut C) -> Result<u64> {
        conn.execute_query(self).await
    }

    pub(crate) async fn fetch_all<R: FromDbRow, C: Db>(self, conn: &mut C) -> Result<Vec<R>> {
        conn.fetch_rows(self)
            .await?
            .into_iter()
            .map(R::from_db)
            .collect()
    }

    pub(crate) async fn fetch_optional<R: FromDbRow, C: Db>(
        self,
        conn: &mut C,
    ) -> Result<Option<R>> {
        conn.fetch_rows(self)
            .await?
            .into_iter()
            .next()
            .map(R::from_db)
            .transpose()
    }

    pub(crate) async fn fetch_one<R: FromDbRow, C: Db>(self, conn: &mut C) -> Result<R> {
        self.fetch_optional(conn)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }
}

/// A row as the connection gave it; decoded on request by [`FromDbRow`].
pub(crate) enum DbRow {
    Sqlite(SqliteRow),
    Pg(PgRow),
    Lite(LiteRow),
}

/// A row of the synchronous SQLite connection: its values, and the statement's column
/// names (shared by every row of one answer).
pub(crate) struct LiteRow {
    pub columns: Arc<[String]>,
    pub values: Vec<Value>,
}

impl LiteRow {
    pub(crate) fn get<T: FromSql>(&self, index: usize) -> Result<T> {
        let value = self
            .values
            .get(index)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {index} in the row")))?;
        T::column_result(ValueRef::from(value))
            .map_err(|e| StoreError::Corrupt(format!("column {index}: {e}")))
    }

    pub(crate) fn get_named<T: FromSql>(&self, name: &str) -> Result<T> {
        let index = self
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {name} in the row")))?;
        self.get(index)
            .map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
    }
}

/// Decoding a row of any connection. Types that sqlx decodes (tuples, `FromRow`
/// structs) decode the same way from the synchronous connection through [`FromLite`].
pub(crate) trait FromDbRow: Sized {
    fn from_db(row: DbRow) -> Result<Self>;
}

pub(crate) trait FromLite: Sized {
    fn from_lite(row: &LiteRow) -> Result<Self>;
}

impl<T> FromDbRow for T
where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + FromLite,
{
    fn from_db(row: DbRow) -> Result<Self> {
        match row {
            DbRow::Sqlite(r) => Ok(T::from_row(&r)?),
            DbRow::Pg(r) => Ok(T::from_row(&r)?),
            DbRow::Lite(r) => T::from_lite(&r),
        }
    }
}

macro_rules! tuple_from_lite {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromSql),+> FromLite for ($($t,)+) {
            fn from_lite(row: &LiteRow) -> Result<Self> {
                Ok(($(row.get::<$t>($i)?,)+))
            }
        }
    };
}

tuple_from_lite!(A 0);
tuple_from_lite!(A 0, B 1);
tuple_from_lite!(A 0, B 1, C 2);
tuple_from_lite!(A 0, B 1, C 2, D 3);
tuple_from_lite!(A 0, B 1, C 2, D 3, E 4);
tuple_from_lite!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_lite!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_lite!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// `FromLite` for a `sqlx::FromRow` struct: each field from the column of its name.
macro_rules! from_lite_by_name {
    ($name:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::sql::db::FromLite for $name {
            fn from_lite(row: &$crate::sql::db::LiteRow) -> std::result::Result<Self, $crate::StoreError> {
                Ok($name { $($field: row.get_named(stringify!($field))?),+ })
            }
        }
    };
}
pub(crate) use from_lite_by_name;

/// A connection the shared statements run on.
pub(crate) trait Db: Send {
    fn fetch_rows(&mut self, q: Query) -> impl Future<Output = Result<Vec<DbRow>>> + Send;
    fn execute_query(&mut self, q: Query) -> impl Future<Output = Result<u64>> + Send;
}

macro_rules! sqlx_db {
    ($conn:ty, $database:ty, $row:ident, $bound:ident) => {
        /// The statement with its values bound, for this backend.
        fn $bound(
            q: &Query,
        ) -> sqlx::query::Query<'_, $database, <$database as sqlx::Database>::Arguments<'_>> {
            let mut query = sqlx::query::<$database>(&q.sql);
            for a in &q.args {
                query = match a {
                    Arg::Int(v) => query.bind(*v),
                    Arg::Int32(v) => query.bind(*v),
                    Arg::Text(v) => query.bind(v.as_deref()),
                    Arg::Bool(v) => query.bind(*v),
                    Arg::Real(v) => query.bind(*v),
                };
            }
            query
        }

        impl Db for $conn {
            async fn fetch_rows(&mut self, q: Query) -> Result<Vec<DbRow>> {
                let rows = $bound(&q).fetch_all(&mut *self).await?;
                Ok(rows.into_iter().map(DbRow::$row).collect())
            }

            async fn execute_query(&mut self, q: Query) -> Result<u64> {
                Ok($bound(&q).execute(&mut *self).await?.rows_affected())
            }
        }
    };
}

sqlx_db!(SqliteConnection, Sqlite, Sqlite, bound_sqlite);
sqlx_db!(PgConnection, Postgres, Pg, bound_pg);

/// The wrappers the operations hold (a transaction, a pooled connection) run on the
/// connection inside.
macro_rules! deref_db {
    ($($t:ty),+) => {$(
        impl Db for $t {
            fn fetch_rows(&mut self, q: Query) -> impl Future<Output = Result<Vec<DbRow>>> + Send {
                (**self).fetch_rows(q)
            }
            fn execute_query(&mut self, q: Query) -> impl Future<Output = Result<u64>> + Send {
                (**self).execute_query(q)
            }
        }
    )+};
}

deref_db!(
    GroupTx,
    sqlx::Transaction<'_, Postgres>,
    sqlx::Transaction<'_, Sqlite>,
    sqlx::pool::PoolConnection<Sqlite>,
    sqlx::pool::PoolConnection<Postgres>
);

/// The writer thread's synchronous SQLite connection.
pub(crate) struct LiteConn {
    pub conn: rusqlite::Connection,
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        let value = match self {
            Arg::Int(v) => v.map_or(ValueRef::Null, ValueRef::Integer),
            Arg::Int32(v) => v.map_or(ValueRef::Null, |v| ValueRef::Integer(i64::from(v))),
            Arg::Text(v) => v
                .as_deref()
                .map_or(ValueRef::Null, |s| ValueRef::Text(s.as_bytes())),
            Arg::Bool(v) => v.map_or(ValueRef::Null, |b| ValueRef::Integer(i64::from(b))),
            Arg::Real(v) => v.map_or(ValueRef::Null, ValueRef::Real),
        };
        Ok(rusqlite::types::ToSqlOutput::Borrowed(value))
    }
}

impl LiteConn {
    /// Bind `args` by the number in each `$N`, as sqlx does: SQLite itself numbers
    /// `$`-parameters in order of first appearance, so `$3 … $1` would bind wrongly.
    fn bind(stmt: &mut rusqlite::CachedStatement<'_>, values: &[Arg]) -> Result<()> {
        for i in 1..=stmt.parameter_count() {
            let n = stmt
                .parameter_name(i)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(i);
            let value = values.get(n.wrapping_sub(1)).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "no value for ${n} in {}",
                    stmt.expanded_sql().unwrap_or_default()
                ))
            })?;
            stmt.raw_bind_parameter(i, value)?;
        }
        Ok(())
    }

    pub(crate) fn fetch_sync(&mut self, q: &Query) -> Result<Vec<DbRow>> {
        let mut stmt = self.conn.prepare_cached(&q.sql)?;
        let columns: Arc<[String]> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let width = columns.len();
        Self::bind(&mut stmt, &q.args)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(r.get::<_, Value>(i)?);
            }
            out.push(DbRow::Lite(LiteRow {
                columns: columns.clone(),
                values,
            }));
        }
        Ok(out)
    }

    pub(crate) fn execute_sync(&mut self, q: &Query) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(&q.sql)?;
        Self::bind(&mut stmt, &q.args)?;
        let n = stmt.raw_execute()?;
        Ok(n as u64)
    }
}

impl Db for LiteConn {
    fn fetch_rows(&mut self, q: Query) -> impl Future<Output = Result<Vec<DbRow>>> + Send {
        std::future::ready(self.fetch_sync(&q))
    }
    fn execute_query(&mut self, q: Query) -> impl Future<Output = Result<u64>> + Send {
        std::future::ready(self.execute_sync(&q))
    }
}

/// Run a future that never waits — an operation on [`LiteConn`], whose statements
/// answer at once — to its end, on this thread.
pub(crate) fn run_now<F: Future>(f: F) -> Result<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Ok(v),
        std::task::Poll::Pending => Err(StoreError::Corrupt(
            "an operation on the SQLite writer waited for something other than SQLite".into(),
        )),
    }
}

/// The index or columns of a unique constraint the error broke, if it is one:
/// PostgreSQL names the index, SQLite the columns in its message.
pub(crate) fn unique_violation(err: &StoreError) -> Option<(String, String)> {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => Some((
            db.constraint().unwrap_or_default().to_owned(),
            db.message().to_owned(),
        )),
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, message))
            if e.code == rusqlite::ErrorCode::ConstraintViolation
                && matches!(
                    e.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            Some((String::new(), message.clone().unwrap_or_default()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `$N` binds the N-th value wherever it stands in the statement, as with sqlx.
    #[test]
    fn numbered_parameters_bind_by_number() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory database");
        let mut lite = LiteConn { conn };
        lite.conn
            .execute_batch("CREATE TABLE t (a INTEGER, b TEXT, c INTEGER)")
            .expect("table");
        let insert = query("INSERT INTO t (c, b, a) VALUES ($3, $2, $1)")
            .bind(1_i64)
            .bind("two")
            .bind(3_i64);
        assert_eq!(lite.execute_sync(&insert).ok(), Some(1));
        let update = query("UPDATE t SET b = $2 WHERE c = $3 AND a = $1")
            .bind(1_i64)
            .bind(Option::<String>::None)
            .bind(3_i64);
        assert_eq!(lite.execute_sync(&update).ok(), Some(1));
        let rows = lite
            .fetch_sync(&query("SELECT a, b, c FROM t WHERE a = $1").bind(1_i64))
            .expect("rows");
        let row = match rows.into_iter().next() {
            Some(DbRow::Lite(r)) => r,
            _ => panic!("one row from the synchronous connection"),
        };
        let got: (i64, Option<String>, i64) = FromLite::from_lite(&row).expect("decoded");
        assert_eq!(got, (1, None, 3));
        let missing = query("SELECT $2").bind(1_i64);
        assert!(
            lite.fetch_sync(&missing).is_err(),
            "a number without a value is an error"
        );
    }
}
