//! Storage: the only module that speaks SQL and the only one that imports `rusqlite`
//! (`tests/tidy.rs` enforces it).
//!
//! Layout of a data folder:
//!
//! ```text
//! DATA/system.sqlite                     control database: domains, names, platform admins
//! DATA/domains/<domain-id>/domain.sqlite everything of one domain
//! ```
//!
//! Every file runs in WAL mode with foreign keys on and `synchronous` as configured
//! ([`Synchronous`]). Migrations are keyed on `PRAGMA user_version` and run inside an
//! immediate transaction when a file is opened, so the server and the admin CLI can open
//! the same file at the same time. Callers never see SQL: they get typed operations on
//! [`system::SystemRead`]/[`system::SystemWrite`] and [`domain::DomainRead`]/
//! [`domain::DomainWrite`], run through [`Db::read`] and [`Db::write`] (or their async
//! twins, which move the blocking work off the async runtime).

pub mod calendars;
pub mod contacts;
mod db;
pub mod domain;
pub mod files;
mod ids;
mod migrate;
mod pool;
pub mod rights;
pub mod shares;
pub mod subscriptions;
pub mod system;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use db::{Db, Synchronous, blocking};
pub use domain::{DomainDb, Modseq};
pub use ids::{AccountId, CredentialId, DomainId, now_unix};
pub use pool::DomainPool;
pub use system::{DomainRecord, SystemDb};

/// Errors of the storage layer. They know nothing of HTTP; each protocol maps them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the string names the value that is taken.
    #[error("already exists: {0}")]
    Conflict(String),
    /// The row a write depends on is not there (any more).
    #[error("not found: {0}")]
    NotFound(String),
    /// The database file was written by a newer Domus than this one.
    #[error(
        "{path} has schema version {found}, newer than this Domus knows ({known}); upgrade Domus"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The blocking task running a database call panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Tunables of the storage layer (the `[storage]` section of the configuration).
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Domains kept open at once; the least recently used one closes past this.
    pub max_open_domains: usize,
    /// A domain untouched this long is closed by [`DomainPool::close_idle`].
    pub idle_close: std::time::Duration,
    /// Idle reader connections kept per open database.
    pub readers_per_db: usize,
    pub synchronous: Synchronous,
    /// How long a writer waits for another process (the CLI) to release the write lock.
    pub busy_timeout: std::time::Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_open_domains: 256,
            idle_close: std::time::Duration::from_secs(300),
            readers_per_db: 4,
            synchronous: Synchronous::Full,
            busy_timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// A data folder: the control database plus the pool of domain databases.
pub struct Store {
    root: PathBuf,
    system: Arc<SystemDb>,
    domains: DomainPool,
    config: StoreConfig,
}

impl Store {
    /// Opens (creating if needed) the data folder at `root`.
    pub fn open(root: &Path, config: StoreConfig) -> Result<Store> {
        let domains_dir = root.join("domains");
        std::fs::create_dir_all(&domains_dir).map_err(|e| StoreError::io(&domains_dir, e))?;
        let system = Arc::new(SystemDb::open(&root.join("system.sqlite"), &config)?);
        Ok(Store {
            root: root.to_path_buf(),
            system,
            domains: DomainPool::new(domains_dir, config.clone()),
            config,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub fn system(&self) -> &Arc<SystemDb> {
        &self.system
    }

    pub fn pool(&self) -> &DomainPool {
        &self.domains
    }

    /// The folder that holds everything of one domain.
    pub fn domain_dir(&self, id: &DomainId) -> PathBuf {
        self.domains.dir_of(id)
    }

    /// Opens (or finds open) the database of a domain that exists in the control database.
    /// Blocking: call from a blocking context, or use [`Store::domain_async`].
    pub fn domain(&self, id: &DomainId) -> Result<Arc<DomainDb>> {
        self.domains.get(id)
    }

    pub async fn domain_async(self: &Arc<Self>, id: &DomainId) -> Result<Arc<DomainDb>> {
        if let Some(db) = self.domains.get_open(id) {
            return Ok(db);
        }
        let store = self.clone();
        let id = id.clone();
        db::blocking(move || store.domains.get(&id)).await
    }

    /// Creates a domain: first its file (migrated), then its rows in the control database,
    /// so a domain that the control database names always has a usable file. If the names
    /// are taken the new folder is removed again.
    pub fn create_domain(&self, name: &str, aliases: &[String]) -> Result<DomainRecord> {
        let id = DomainId::generate();
        let db = self.domains.create(&id)?;
        drop(db);
        let created = self.system.write(|w| w.insert_domain(&id, name, aliases));
        match created {
            Ok(record) => Ok(record),
            Err(e) => {
                self.domains.evict(&id);
                let dir = self.domain_dir(&id);
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// Removes a domain: its rows leave the control database first (from then on nothing
    /// routes to it, in this process or in a running server), then its folder goes.
    pub fn remove_domain(&self, id: &DomainId) -> Result<()> {
        self.system.write(|w| w.delete_domain(id))?;
        self.domains.evict(id);
        let dir = self.domain_dir(id);
        // Rename first so a half-finished removal never leaves a folder that looks live.
        let trash = self
            .root
            .join("domains")
            .join(format!(".removed-{}", id.as_str()));
        match std::fs::rename(&dir, &trash) {
            Ok(()) => std::fs::remove_dir_all(&trash).map_err(|e| StoreError::io(&trash, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&dir, e)),
        }
    }
}
