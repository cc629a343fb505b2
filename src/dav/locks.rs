//! WebDAV locks (RFC 4918 §6, §9.10): an in-memory table per process.
//!
//! Locks are advisory coordination between clients and are allowed to vanish when the
//! server restarts (clients refresh or re-lock); keeping them in memory avoids a write per
//! LOCK/refresh. A lock is keyed by its domain and the decoded path of its root, so a
//! token from one domain can never unlock anything in another.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::DomainId;

/// The longest lock a client gets, whatever it asks for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);
/// A lock without a Timeout header lasts this long.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);
/// Most locks held at once in one domain.
const MAX_LOCKS_PER_DOMAIN: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Exclusive,
    Shared,
}

#[derive(Debug, Clone)]
pub struct Lock {
    pub token: String,
    /// Decoded path of the locked resource, without trailing slash.
    pub root: String,
    pub scope: Scope,
    pub infinite: bool,
    /// The `DAV:owner` element as the client sent it (verbatim XML).
    pub owner: Option<String>,
    pub timeout: Duration,
    expires: Instant,
}

impl Lock {
    pub fn covers(&self, path: &str) -> bool {
        self.root == path || (self.infinite && is_below(path, &self.root))
    }
    pub fn remaining(&self) -> Duration {
        self.expires.saturating_duration_since(Instant::now())
    }
}

/// True when `path` is strictly inside the collection `root`.
pub fn is_below(path: &str, root: &str) -> bool {
    path.len() > root.len() + 1 && path.starts_with(root) && path.as_bytes()[root.len()] == b'/'
}

#[derive(Debug, PartialEq, Eq)]
pub enum LockError {
    /// An incompatible lock exists; its root path.
    Conflict(String),
    TooMany,
}

#[derive(Default)]
pub struct LockTable {
    locks: Mutex<HashMap<DomainId, Vec<Lock>>>,
}

impl LockTable {
    fn with<R>(&self, domain: &DomainId, f: impl FnOnce(&mut Vec<Lock>) -> R) -> R {
        let mut all = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        let list = all.entry(domain.clone()).or_default();
        let now = Instant::now();
        list.retain(|l| l.expires > now);
        let out = f(list);
        if list.is_empty() {
            all.remove(domain);
        }
        out
    }

    /// True when the domain holds no lock at all (the common case: answers skip lock work).
    pub fn none_in(&self, domain: &DomainId) -> bool {
        let all = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        !all.contains_key(domain)
    }

    /// The locks that cover `path`.
    pub fn covering(&self, domain: &DomainId, path: &str) -> Vec<Lock> {
        if self.none_in(domain) {
            return Vec::new();
        }
        self.with(domain, |list| {
            list.iter().filter(|l| l.covers(path)).cloned().collect()
        })
    }

    /// Creates a lock, refusing one that conflicts with an existing lock on the path, an
    /// ancestor (with depth infinity) or, for a depth-infinity request, a descendant.
    pub fn create(
        &self,
        domain: &DomainId,
        root: &str,
        scope: Scope,
        infinite: bool,
        owner: Option<String>,
        timeout: Duration,
    ) -> Result<Lock, LockError> {
        self.with(domain, |list| {
            if list.len() >= MAX_LOCKS_PER_DOMAIN {
                return Err(LockError::TooMany);
            }
            let clash = list.iter().find(|l| {
                let overlaps =
                    l.covers(root) || (infinite && (l.root == root || is_below(&l.root, root)));
                overlaps && (scope == Scope::Exclusive || l.scope == Scope::Exclusive)
            });
            if let Some(l) = clash {
                return Err(LockError::Conflict(l.root.clone()));
            }
            let timeout = timeout.min(MAX_TIMEOUT);
            let lock = Lock {
                token: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
                root: root.to_string(),
                scope,
                infinite,
                owner,
                timeout,
                expires: Instant::now() + timeout,
            };
            list.push(lock.clone());
            Ok(lock)
        })
    }

    /// Refreshes the lock `token` if it covers `path`.
    pub fn refresh(
        &self,
        domain: &DomainId,
        path: &str,
        token: &str,
        timeout: Duration,
    ) -> Option<Lock> {
        self.with(domain, |list| {
            let l = list
                .iter_mut()
                .find(|l| l.token == token && l.covers(path))?;
            l.timeout = timeout.min(MAX_TIMEOUT);
            l.expires = Instant::now() + l.timeout;
            Some(l.clone())
        })
    }

    /// Removes the lock `token` if it covers `path` (UNLOCK may name any resource in the
    /// lock's scope, RFC 4918 §9.11).
    pub fn remove(&self, domain: &DomainId, path: &str, token: &str) -> bool {
        self.with(domain, |list| {
            let before = list.len();
            list.retain(|l| !(l.token == token && l.covers(path)));
            list.len() != before
        })
    }

    /// Drops every lock rooted at or below `path` (the resource was deleted or moved).
    pub fn forget_tree(&self, domain: &DomainId, path: &str) {
        self.with(domain, |list| {
            list.retain(|l| !(l.root == path || is_below(&l.root, path)))
        });
    }

    /// Checks that a write to `path` may proceed: every lock covering it, and with
    /// `with_members` every lock inside it too, must have its token among `submitted`.
    /// On refusal returns the root of a lock whose token is missing.
    pub fn check_write(
        &self,
        domain: &DomainId,
        path: &str,
        with_members: bool,
        submitted: &[String],
    ) -> Result<(), String> {
        self.with(domain, |list| {
            for l in list.iter() {
                let affects = l.covers(path) || (with_members && is_below(&l.root, path));
                if affects && !submitted.iter().any(|t| t == &l.token) {
                    return Err(l.root.clone());
                }
            }
            Ok(())
        })
    }
}

/// Parses a `Timeout` header (RFC 4918 §10.7): the first value we understand wins.
pub fn parse_timeout(value: Option<&str>) -> Duration {
    let Some(v) = value else {
        return DEFAULT_TIMEOUT;
    };
    for part in v.split(',') {
        let part = part.trim();
        if part.eq_ignore_ascii_case("infinite") {
            return MAX_TIMEOUT;
        }
        if let Some(secs) = part
            .strip_prefix("Second-")
            .and_then(|s| s.parse::<u64>().ok())
        {
            return Duration::from_secs(secs.max(1)).min(MAX_TIMEOUT);
        }
    }
    DEFAULT_TIMEOUT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> DomainId {
        DomainId::parse("daaaaaaaaaaaa").unwrap()
    }

    #[test]
    fn exclusive_and_shared_conflicts() {
        let t = LockTable::default();
        let a = t
            .create(&d(), "/f/a", Scope::Shared, false, None, DEFAULT_TIMEOUT)
            .unwrap();
        t.create(&d(), "/f/a", Scope::Shared, false, None, DEFAULT_TIMEOUT)
            .unwrap();
        assert_eq!(
            t.create(&d(), "/f/a", Scope::Exclusive, false, None, DEFAULT_TIMEOUT)
                .unwrap_err(),
            LockError::Conflict("/f/a".into())
        );
        // A depth-infinity lock on the parent conflicts with the lock inside it.
        assert!(
            t.create(&d(), "/f", Scope::Exclusive, true, None, DEFAULT_TIMEOUT)
                .is_err()
        );
        assert!(
            t.create(&d(), "/f", Scope::Exclusive, false, None, DEFAULT_TIMEOUT)
                .is_ok()
        );
        // Another domain is another table.
        let other = DomainId::parse("dbbbbbbbbbbbb").unwrap();
        assert!(
            t.create(
                &other,
                "/f/a",
                Scope::Exclusive,
                false,
                None,
                DEFAULT_TIMEOUT
            )
            .is_ok()
        );
        assert!(!t.remove(&other, "/f/a", &a.token));
        assert!(t.remove(&d(), "/f/a", &a.token));
    }

    #[test]
    fn writes_need_the_tokens_of_covering_locks() {
        let t = LockTable::default();
        let l = t
            .create(&d(), "/f/c", Scope::Exclusive, true, None, DEFAULT_TIMEOUT)
            .unwrap();
        assert_eq!(
            t.check_write(&d(), "/f/c/x", false, &[]),
            Err("/f/c".into())
        );
        assert_eq!(
            t.check_write(&d(), "/f/c/x", false, std::slice::from_ref(&l.token)),
            Ok(())
        );
        assert_eq!(t.check_write(&d(), "/f/cx", false, &[]), Ok(()));
        assert_eq!(t.check_write(&d(), "/f", true, &[]), Err("/f/c".into()));
        assert_eq!(t.check_write(&d(), "/f", false, &[]), Ok(()));
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout(None), DEFAULT_TIMEOUT);
        assert_eq!(
            parse_timeout(Some("Second-60, Infinite")),
            Duration::from_secs(60)
        );
        assert_eq!(parse_timeout(Some("Infinite")), MAX_TIMEOUT);
        assert_eq!(parse_timeout(Some("Second-999999999999")), MAX_TIMEOUT);
        assert_eq!(parse_timeout(Some("bogus")), DEFAULT_TIMEOUT);
    }
}
