//! The open domain databases: opened lazily on first use, closed when idle or when the
//! least recently used one must make room (LRU with a cap), so 10,000 domains on disk
//! cost nothing until they are used.
//!
//! Closing a domain only drops the pool's handle; a request still holding an
//! `Arc<DomainDb>` keeps it open until it finishes.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::domain::DomainDb;
use super::{DomainId, Result, StoreConfig, StoreError};

pub struct DomainPool {
    dir: PathBuf,
    config: StoreConfig,
    open: Mutex<LruCache<DomainId, Arc<DomainDb>>>,
    /// A coarse clock (seconds since the pool started) for idle closing.
    started: std::time::Instant,
    opened_total: AtomicU64,
}

impl DomainPool {
    pub(crate) fn new(dir: PathBuf, config: StoreConfig) -> Self {
        let cap = NonZeroUsize::new(config.max_open_domains.max(1)).unwrap_or(NonZeroUsize::MIN);
        DomainPool {
            dir,
            config,
            open: Mutex::new(LruCache::new(cap)),
            started: std::time::Instant::now(),
            opened_total: AtomicU64::new(0),
        }
    }

    fn tick(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    pub(crate) fn dir_of(&self, id: &DomainId) -> PathBuf {
        self.dir.join(id.as_str())
    }

    fn file_of(&self, id: &DomainId) -> PathBuf {
        self.dir_of(id).join("domain.sqlite")
    }

    /// The handle if the domain is open now, without touching the disk.
    pub fn get_open(&self, id: &DomainId) -> Option<Arc<DomainDb>> {
        let mut open = self.open.lock().ok()?;
        let db = open.get(id)?.clone();
        db.touch(self.tick());
        Some(db)
    }

    /// Opens the domain's existing file (or returns it if open). Blocking.
    pub fn get(&self, id: &DomainId) -> Result<Arc<DomainDb>> {
        if let Some(db) = self.get_open(id) {
            return Ok(db);
        }
        let path = self.file_of(id);
        if !path.exists() {
            return Err(StoreError::NotFound(format!(
                "database file {}",
                path.display()
            )));
        }
        // Opened outside the lock so one slow open never stalls every other domain; if two
        // threads race, both handles are valid and the later insert wins.
        let db = Arc::new(DomainDb::open(id.clone(), &path, &self.config, false)?);
        Ok(self.insert(id, db))
    }

    /// Creates the domain's folder and file. Blocking.
    pub(crate) fn create(&self, id: &DomainId) -> Result<Arc<DomainDb>> {
        let dir = self.dir_of(id);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let db = Arc::new(DomainDb::open(
            id.clone(),
            &self.file_of(id),
            &self.config,
            true,
        )?);
        Ok(self.insert(id, db))
    }

    fn insert(&self, id: &DomainId, db: Arc<DomainDb>) -> Arc<DomainDb> {
        db.touch(self.tick());
        self.opened_total.fetch_add(1, Ordering::Relaxed);
        let evicted = match self.open.lock() {
            Ok(mut open) => open.push(id.clone(), db.clone()),
            Err(_) => None,
        };
        // Dropped outside the lock: closing a database checkpoints its WAL.
        drop(evicted);
        db
    }

    /// Forgets an open handle (the domain was removed).
    pub(crate) fn evict(&self, id: &DomainId) {
        let removed = self.open.lock().ok().and_then(|mut open| open.pop(id));
        drop(removed);
    }

    /// Closes every domain idle for longer than the configured time; returns how many.
    pub fn close_idle(&self) -> usize {
        let limit = self.config.idle_close.as_secs();
        let now = self.tick();
        let closed: Vec<Arc<DomainDb>> = match self.open.lock() {
            Ok(mut open) => {
                let idle: Vec<DomainId> = open
                    .iter()
                    .filter(|(_, db)| now.saturating_sub(db.last_used()) >= limit)
                    .map(|(id, _)| id.clone())
                    .collect();
                idle.iter().filter_map(|id| open.pop(id)).collect()
            }
            Err(_) => Vec::new(),
        };
        closed.len()
    }

    /// Closes every open domain (at shutdown).
    pub fn close_all(&self) -> usize {
        let all: Vec<Arc<DomainDb>> = match self.open.lock() {
            Ok(mut open) => {
                let mut v = Vec::with_capacity(open.len());
                while let Some((_, db)) = open.pop_lru() {
                    v.push(db);
                }
                v
            }
            Err(_) => Vec::new(),
        };
        all.len()
    }

    pub fn open_count(&self) -> usize {
        self.open.lock().map(|o| o.len()).unwrap_or(0)
    }

    /// How many times a domain file was opened since start (a measure of pool churn).
    pub fn opened_total(&self) -> u64 {
        self.opened_total.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_domain_closes_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            max_open_domains: 2,
            ..StoreConfig::default()
        };
        let pool = DomainPool::new(dir.path().to_path_buf(), config);
        let ids: Vec<DomainId> = (0..3).map(|_| DomainId::generate()).collect();
        for id in &ids {
            pool.create(id).unwrap();
        }
        assert_eq!(pool.open_count(), 2);
        assert!(pool.get_open(&ids[0]).is_none());
        // Reopening from disk works and evicts the next least recently used.
        pool.get(&ids[0]).unwrap();
        assert!(pool.get_open(&ids[1]).is_none());
        assert!(pool.get(&DomainId::generate()).is_err());
    }

    #[test]
    fn idle_domains_close() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            idle_close: std::time::Duration::ZERO,
            ..StoreConfig::default()
        };
        let pool = DomainPool::new(dir.path().to_path_buf(), config);
        pool.create(&DomainId::generate()).unwrap();
        assert_eq!(pool.close_idle(), 1);
        assert_eq!(pool.open_count(), 0);
    }
}
