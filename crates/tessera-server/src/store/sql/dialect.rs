//! What differs between the two SQL engines, as a type: [`Dialect`], implemented for
//! `sqlx::Sqlite` (in `store/sqlite.rs`) and `sqlx::Postgres` (in `store/postgres.rs`).
//!
//! The shared SQL is written once, in functions generic over a `Dialect`. sqlx's own traits
//! cannot be named generically without repeating a dozen bounds on every function (Rust does
//! not carry a trait's `where` clauses to its users), so the few things the shared SQL does
//! with a database go through this trait, whose two implementations are concrete: binding a
//! [`Value`], running a statement, and decoding a [`Record`] or a [`Column`]. Each of those
//! three traits names exactly what both engines can encode or decode, so a type only one
//! engine takes is refused when the shared SQL is compiled.

use crate::store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Encode, FromRow, Postgres, Sqlite, Type};
use std::future::Future;

/// A statement with its parameters, for the database `DB`.
pub type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

/// A parameter both engines can bind.
pub trait Value<'q>:
    'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

impl<'q, T> Value<'q> for T where
    T: 'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

/// A column value both engines can decode.
pub trait Column:
    Send
    + Unpin
    + for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
{
}

impl<T> Column for T where
    T: Send
        + Unpin
        + for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
{
}

/// A row type (a `sqlx::FromRow` struct or a tuple) both engines can decode.
pub trait Record:
    Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{
}

impl<T> Record for T where
    T: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{
}

/// One SQL engine: its SQL fragments, how its errors read, and the typed calls into sqlx
/// that the shared SQL makes. Both engines take `$N` placeholders, `RETURNING` and
/// `ON CONFLICT`, so the statements themselves are shared.
pub trait Dialect: sqlx::Database {
    /// The condition matching `email` to the address bound as `$1`, case-insensitively,
    /// in the way the engine's unique index on it does.
    const EMAIL_MATCH: &'static str;
    /// Appended to a `SELECT` to lock the selected rows until the transaction ends; empty
    /// where a write transaction locks everything anyway (SQLite).
    const FOR_UPDATE: &'static str;
    /// Run after users were inserted with explicit ids, so the next generated id follows
    /// the largest.
    const RESET_USER_IDS: &'static str;

    /// Maps an engine error to a [`StoreError`]: unavailability (retry later, 503), a
    /// unique violation (naming the field), or anything else.
    fn classify(error: sqlx::Error) -> StoreError;

    /// `query` with `value` as its next parameter.
    fn bind<'q, T: Value<'q>>(query: Query<'q, Self>, value: T) -> Query<'q, Self>;

    /// Runs `query` on `conn`: how many rows it changed.
    fn execute<'q>(
        query: Query<'q, Self>,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

    /// Runs `query` on `conn`: every row it returns.
    fn fetch_all<'q>(
        query: Query<'q, Self>,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;

    /// Runs `query` on `conn`: its first row, if any.
    fn fetch_optional<'q>(
        query: Query<'q, Self>,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send;

    /// Decodes a whole row.
    ///
    /// # Errors
    /// sqlx's error when a column is missing or of another type.
    fn decode<T: Record>(row: &Self::Row) -> Result<T, sqlx::Error>;

    /// Decodes the column `name` of `row`.
    ///
    /// # Errors
    /// [`StoreError::Database`] when the column is missing or of another type.
    fn column<T: Column>(row: &Self::Row, name: &str) -> StoreResult<T>;

    /// A statement, to be given parameters with [`Statement::arg`] and run.
    fn query(sql: &str) -> Query<'_, Self> {
        sqlx::query(sql)
    }
}

/// Running a [`Query`]: parameters by [`Statement::arg`], then one of the ways to run it
/// on a connection (a transaction and a pooled connection deref to one), with the error
/// already classified.
pub trait Statement<'q, DB: Dialect>: Sized {
    /// This statement with `value` as its next parameter.
    fn arg<T: Value<'q>>(self, value: T) -> Self;

    /// Runs it: how many rows it changed.
    fn run(self, conn: &mut DB::Connection) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Runs it: the rows it returns, undecoded.
    fn rows(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<Vec<DB::Row>>> + Send;

    /// Runs it: its first row, undecoded.
    fn row(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<Option<DB::Row>>> + Send;

    /// Runs it: every row, decoded.
    fn all<T: Record>(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<Vec<T>>> + Send;

    /// Runs it: the first row, decoded, if any.
    fn optional<T: Record>(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<Option<T>>> + Send;

    /// Runs it: the first row, decoded; no row is an error.
    fn one<T: Record>(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<T>> + Send;

    /// Runs it: the first column of the first row; no row is an error.
    fn scalar<T: Column>(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<T>> + Send {
        let one = self.one::<(T,)>(conn);
        async move { Ok(one.await?.0) }
    }

    /// Runs it: the first column of the first row, if there is a row.
    fn optional_scalar<T: Column>(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<Option<T>>> + Send {
        let row = self.optional::<(T,)>(conn);
        async move { Ok(row.await?.map(|(value,)| value)) }
    }
}

impl<'q, DB: Dialect> Statement<'q, DB> for Query<'q, DB> {
    fn arg<T: Value<'q>>(self, value: T) -> Self {
        DB::bind(self, value)
    }

    fn run(self, conn: &mut DB::Connection) -> impl Future<Output = StoreResult<u64>> + Send {
        let run = DB::execute(self, conn);
        async move { run.await.map_err(DB::classify) }
    }

    fn rows(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<Vec<DB::Row>>> + Send {
        let fetch = DB::fetch_all(self, conn);
        async move { fetch.await.map_err(DB::classify) }
    }

    fn row(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<Option<DB::Row>>> + Send {
        let fetch = DB::fetch_optional(self, conn);
        async move { fetch.await.map_err(DB::classify) }
    }

    fn all<T: Record>(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<Vec<T>>> + Send {
        let fetch = DB::fetch_all(self, conn);
        async move {
            let rows = fetch.await.map_err(DB::classify)?;
            rows.iter()
                .map(|row| DB::decode(row).map_err(DB::classify))
                .collect()
        }
    }

    fn optional<T: Record>(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<Option<T>>> + Send {
        let fetch = DB::fetch_optional(self, conn);
        async move {
            let row = fetch.await.map_err(DB::classify)?;
            row.map(|row| DB::decode(&row).map_err(DB::classify))
                .transpose()
        }
    }

    fn one<T: Record>(
        self,
        conn: &mut DB::Connection,
    ) -> impl Future<Output = StoreResult<T>> + Send {
        let fetch = DB::fetch_optional(self, conn);
        async move {
            let row = fetch.await.map_err(DB::classify)?;
            let row = row.ok_or_else(|| DB::classify(sqlx::Error::RowNotFound))?;
            DB::decode(&row).map_err(DB::classify)
        }
    }
}
