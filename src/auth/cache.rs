//! A short-lived cache of verified credentials, so clients that send Basic auth on every
//! request (all CalDAV clients do) pay argon2 once per TTL, not once per request.
//!
//! Keys are a keyed SHA-256 of (login, password) with a per-process random key, so the
//! cache holds no password and its keys are useless outside this process. An entry also
//! remembers the account's credential serial: a password change or revocation (by the
//! server or by the CLI in another process) bumps the serial and the entry stops matching.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::store::{AccountId, DomainId};

const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone)]
pub struct Verified {
    pub domain_id: DomainId,
    pub account_id: AccountId,
    pub cred_serial: i64,
    /// Whether the secret was the account password or an app password.
    pub method: super::LoginMethod,
}

pub struct CredentialCache {
    key: [u8; 32],
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], (Verified, Instant)>>,
}

impl CredentialCache {
    pub fn new(ttl: Duration) -> Self {
        CredentialCache {
            key: rand::random(),
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn fingerprint(&self, login: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update((login.len() as u64).to_le_bytes());
        h.update(login.as_bytes());
        h.update(password.as_bytes());
        h.finalize().into()
    }

    pub fn get(&self, fp: &[u8; 32]) -> Option<Verified> {
        let entries = self.entries.lock().ok()?;
        let (v, at) = entries.get(fp)?;
        (at.elapsed() < self.ttl).then(|| v.clone())
    }

    pub fn insert(&self, fp: [u8; 32], v: Verified) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(fp, (v, Instant::now()));
    }

    pub fn remove(&self, fp: &[u8; 32]) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(fp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_fingerprints_separate_login_from_password() {
        let c = CredentialCache::new(Duration::from_millis(50));
        assert_ne!(c.fingerprint("ab", "c"), c.fingerprint("a", "bc"));
        let fp = c.fingerprint("a@b.c", "pw");
        c.insert(
            fp,
            Verified {
                domain_id: DomainId::generate(),
                account_id: AccountId::generate(),
                cred_serial: 1,
                method: crate::auth::LoginMethod::Password,
            },
        );
        assert!(c.get(&fp).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get(&fp).is_none());
    }
}
