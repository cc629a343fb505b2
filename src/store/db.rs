//! One SQLite database file: one writer connection and a small free-list of readers.
//!
//! SQLite allows one writer at a time per file; keeping exactly one writer connection per
//! process makes writers queue on a `std::sync::Mutex` (held only on blocking threads,
//! never across an `.await`) instead of spinning on `SQLITE_BUSY`. Readers in WAL mode
//! never wait for the writer. Another process (the admin CLI) may write the same file:
//! `busy_timeout` covers that rare contention.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::migrate::{self, Migration};
use super::{Result, StoreConfig, StoreError};

/// The `synchronous` setting of every database file.
///
/// `Full` (the default) syncs the WAL on every commit: an acknowledged write survives a
/// process crash *and* a power loss. `Normal` syncs only at checkpoints: still safe
/// against a crash of the Domus process (the WAL is in the OS page cache), but the last
/// commits may be lost if the machine itself loses power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// A database file with its connections. [`super::SystemDb`] and [`super::DomainDb`] wrap
/// it and give it typed operations.
pub struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    max_idle_readers: usize,
    config: StoreConfig,
}

/// Column `i` of `row` as text borrowed from the statement (no copy): for listings, which
/// build their own values from it.
pub(crate) fn text<'a>(row: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a str> {
    row.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn open_connection(path: &Path, config: &StoreConfig, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(config.busy_timeout)?;
    // journal_mode is persistent in the file; setting it again is cheap and covers files
    // created by older versions.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", config.synchronous.pragma())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl Db {
    /// Opens the file (creating it when `create`), runs pending migrations, and returns it
    /// ready for use.
    pub(crate) fn open(
        path: &Path,
        config: &StoreConfig,
        migrations: &[Migration],
        create: bool,
    ) -> Result<Db> {
        let mut writer = open_connection(path, config, create)?;
        migrate::run(&mut writer, path, migrations)?;
        Ok(Db {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            max_idle_readers: config.readers_per_db,
            config: config.clone(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one read transaction (a consistent snapshot). Blocking.
    /// Generic over the error type so that a protocol can run its own checks inside the
    /// snapshot and fail with its own error.
    pub(crate) fn read_conn<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, E>,
    ) -> Result<R, E> {
        let pooled = self.readers.lock().map_err(poisoned)?.pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => open_connection(&self.path, &self.config, false)?,
        };
        let out = {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(StoreError::from)?;
            let out = f(&tx);
            // A read transaction has nothing to keep; ending it releases the snapshot.
            tx.finish().map_err(StoreError::from)?;
            out
        };
        let mut readers = self.readers.lock().map_err(poisoned)?;
        if readers.len() < self.max_idle_readers {
            readers.push(conn);
        }
        out
    }

    /// Runs `f` in one immediate write transaction, committed only if `f` returns `Ok`.
    /// Checks and the write they guard therefore share one transaction. Blocking.
    pub(crate) fn write_conn<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut conn = self.writer.lock().map_err(poisoned)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// `PRAGMA integrity_check` on this file; `Ok(())` when it answers `ok`.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.read_conn(|c| {
            let mut stmt = c.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok::<_, StoreError>(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // Fold the WAL back into the main file so an idle domain is one file on disk.
        if let Ok(conn) = self.writer.get_mut() {
            let _ = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE");
        }
    }
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> StoreError {
    StoreError::Task("a database connection lock was poisoned by an earlier panic".into())
}

/// Runs blocking database work on tokio's blocking pool.
pub async fn blocking<R: Send + 'static, E: From<StoreError> + Send + 'static>(
    f: impl FnOnce() -> std::result::Result<R, E> + Send + 'static,
) -> std::result::Result<R, E> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(StoreError::Task(e.to_string()).into()),
    }
}

/// Checks an SQLite error for a UNIQUE/PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
