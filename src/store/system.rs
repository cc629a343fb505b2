//! The control database `DATA/system.sqlite`: what must be known before a domain is:
//! which domain a host or address name routes to, and who administers the platform.
//! Later issues add the share-token index here (token hash -> domain, collection).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::db::{Db, blocking, is_unique_violation};
use super::migrate::Migration;
use super::{DomainId, Result, StoreConfig, StoreError, now_unix};

const MIGRATIONS: &[Migration] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- A domain is a partition: its folder under domains/ is named by its id.
CREATE TABLE domain (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,   -- the main name
    created_at INTEGER NOT NULL
) STRICT;

-- Every name that routes to a domain: its main name and its aliases. One table, so a
-- name can never be both one domain's main name and another's alias.
CREATE TABLE domain_name (
    name      TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
    is_alias  INTEGER NOT NULL
) STRICT;
CREATE INDEX domain_name_by_domain ON domain_name(domain_id);

CREATE TABLE platform_admin (
    address    TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
) STRICT;
"#,
    r#"
-- Share links: the SHA-256 of each live token and where it leads. The token itself is
-- never stored; the link's details live in its domain's file.
CREATE TABLE share_token (
    token_hash BLOB PRIMARY KEY,
    domain_id  TEXT NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
    link_id    TEXT NOT NULL
) STRICT;
CREATE INDEX share_token_by_link ON share_token(domain_id, link_id);
"#,
    r#"
-- When each domain's subscriptions are due, so the refresher never scans domain files.
CREATE TABLE subscription_due (
    domain_id       TEXT NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    next_fetch_at   INTEGER NOT NULL,
    local           INTEGER NOT NULL,   -- follows a share link of this server
    PRIMARY KEY (domain_id, subscription_id)
) STRICT;
CREATE INDEX subscription_due_by_time ON subscription_due(next_fetch_at);
"#,
];

/// A domain as the control database knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DomainRecord {
    pub id: DomainId,
    pub name: String,
    pub aliases: Vec<String>,
    pub created_at: i64,
}

/// Where a name routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRoute {
    pub domain_id: DomainId,
    /// The domain's main name.
    pub domain_name: String,
    pub is_alias: bool,
}

pub struct SystemDb {
    db: Db,
    /// True when this open created the file: the server bootstraps a first domain then.
    created: bool,
}

impl SystemDb {
    pub(crate) fn open(path: &Path, config: &StoreConfig) -> Result<SystemDb> {
        let created = !path.exists();
        let db = Db::open(path, config, MIGRATIONS, true)?;
        Ok(SystemDb { db, created })
    }

    /// True when the control database did not exist before this process opened it.
    pub fn was_created(&self) -> bool {
        self.created
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn read<R>(&self, f: impl FnOnce(&SystemRead<'_>) -> Result<R>) -> Result<R> {
        self.db.read_conn(|c| f(&SystemRead { c }))
    }

    pub fn write<R>(&self, f: impl FnOnce(&SystemWrite<'_>) -> Result<R>) -> Result<R> {
        self.db.write_conn(|c| {
            f(&SystemWrite {
                r: SystemRead { c },
            })
        })
    }

    /// [`Self::read`] off the async runtime.
    pub async fn read_async<R: Send + 'static>(
        self: &std::sync::Arc<Self>,
        f: impl FnOnce(&SystemRead<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let this = self.clone();
        blocking(move || this.read(f)).await
    }
}

/// Read operations, inside one snapshot.
pub struct SystemRead<'c> {
    c: &'c Connection,
}

/// Write operations, inside one immediate transaction. Reads are available through deref.
pub struct SystemWrite<'c> {
    r: SystemRead<'c>,
}

impl<'c> std::ops::Deref for SystemWrite<'c> {
    type Target = SystemRead<'c>;
    fn deref(&self) -> &SystemRead<'c> {
        &self.r
    }
}

impl SystemRead<'_> {
    pub fn route(&self, name: &str) -> Result<Option<NameRoute>> {
        Ok(self
            .c
            .query_row(
                "SELECT n.domain_id, d.name, n.is_alias FROM domain_name n
                 JOIN domain d ON d.id = n.domain_id WHERE n.name = ?1",
                [name],
                |r| {
                    Ok(NameRoute {
                        domain_id: DomainId::from_db(r.get(0)?),
                        domain_name: r.get(1)?,
                        is_alias: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn domain_by_id(&self, id: &DomainId) -> Result<Option<DomainRecord>> {
        let row = self
            .c
            .query_row(
                "SELECT name, created_at FROM domain WHERE id = ?1",
                [id.as_str()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()?;
        let Some((name, created_at)) = row else {
            return Ok(None);
        };
        Ok(Some(DomainRecord {
            id: id.clone(),
            name,
            aliases: self.aliases_of(id)?,
            created_at,
        }))
    }

    fn aliases_of(&self, id: &DomainId) -> Result<Vec<String>> {
        let mut stmt = self.c.prepare_cached(
            "SELECT name FROM domain_name WHERE domain_id = ?1 AND is_alias = 1 ORDER BY name",
        )?;
        let rows = stmt.query_map([id.as_str()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every domain, ordered by main name.
    pub fn domains(&self) -> Result<Vec<DomainRecord>> {
        let mut stmt = self
            .c
            .prepare("SELECT id, name, created_at FROM domain ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    DomainId::from_db(r.get(0)?),
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, name, created_at)| {
                let aliases = self.aliases_of(&id)?;
                Ok(DomainRecord {
                    id,
                    name,
                    aliases,
                    created_at,
                })
            })
            .collect()
    }

    pub fn domain_count(&self) -> Result<i64> {
        Ok(self
            .c
            .query_row("SELECT count(*) FROM domain", [], |r| r.get(0))?)
    }

    pub fn is_platform_admin(&self, address: &str) -> Result<bool> {
        Ok(self
            .c
            .query_row(
                "SELECT 1 FROM platform_admin WHERE address = ?1",
                [address],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

impl SystemRead<'_> {
    /// Subscriptions due at `now`, the most overdue first.
    pub fn due_subscriptions(&self, now: i64, limit: usize) -> Result<Vec<(DomainId, String)>> {
        let mut stmt = self.c.prepare_cached(
            "SELECT domain_id, subscription_id FROM subscription_due WHERE next_fetch_at <= ?1 AND local = 0
             ORDER BY next_fetch_at LIMIT ?2",
        )?;
        let rows = stmt.query_map(rusqlite::params![now, limit as i64], |r| {
            Ok((DomainId::from_db(r.get(0)?), r.get(1)?))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Subscriptions that follow a share link of this server (checked often: they are
    /// cheap to check and should look current).
    pub fn local_subscriptions(&self) -> Result<Vec<(DomainId, String)>> {
        let mut stmt = self.c.prepare_cached(
            "SELECT domain_id, subscription_id FROM subscription_due WHERE local = 1",
        )?;
        let rows = stmt.query_map([], |r| Ok((DomainId::from_db(r.get(0)?), r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Where a share token (by its hash) leads: the domain and the link id.
    pub fn share_route(&self, token_hash: &[u8; 32]) -> Result<Option<(DomainId, String)>> {
        Ok(self
            .c
            .prepare_cached("SELECT domain_id, link_id FROM share_token WHERE token_hash = ?1")?
            .query_row([&token_hash[..]], |r| {
                Ok((DomainId::from_db(r.get(0)?), r.get(1)?))
            })
            .optional()?)
    }
}

impl SystemWrite<'_> {
    /// Indexes a share token's hash (a new link, or a rotated one's new token).
    pub fn insert_share_token(
        &self,
        token_hash: &[u8; 32],
        domain: &DomainId,
        link_id: &str,
    ) -> Result<()> {
        self.r.c.execute(
            "INSERT INTO share_token (token_hash, domain_id, link_id) VALUES (?1, ?2, ?3)",
            rusqlite::params![&token_hash[..], domain.as_str(), link_id],
        )?;
        Ok(())
    }

    /// Sets when a subscription is due next (inserting it when new).
    pub fn set_subscription_due(
        &self,
        domain: &DomainId,
        id: &str,
        at: i64,
        local: bool,
    ) -> Result<()> {
        self.r.c.execute(
            "INSERT INTO subscription_due (domain_id, subscription_id, next_fetch_at, local) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (domain_id, subscription_id) DO UPDATE SET next_fetch_at = excluded.next_fetch_at, local = excluded.local",
            rusqlite::params![domain.as_str(), id, at, local],
        )?;
        Ok(())
    }

    pub fn delete_subscription_due(&self, domain: &DomainId, id: &str) -> Result<()> {
        self.r.c.execute(
            "DELETE FROM subscription_due WHERE domain_id = ?1 AND subscription_id = ?2",
            rusqlite::params![domain.as_str(), id],
        )?;
        Ok(())
    }

    /// Forgets every token of a link (revoked, rotated, or its collection gone).
    pub fn delete_share_tokens(&self, domain: &DomainId, link_id: &str) -> Result<()> {
        self.r.c.execute(
            "DELETE FROM share_token WHERE domain_id = ?1 AND link_id = ?2",
            rusqlite::params![domain.as_str(), link_id],
        )?;
        Ok(())
    }

    fn insert_name(&self, name: &str, id: &DomainId, is_alias: bool) -> Result<()> {
        self.r
            .c
            .execute(
                "INSERT INTO domain_name (name, domain_id, is_alias) VALUES (?1, ?2, ?3)",
                params![name, id.as_str(), is_alias],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(name.to_string())
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    /// Registers a domain and its names. A name already routed anywhere is a
    /// [`StoreError::Conflict`] naming it.
    pub(crate) fn insert_domain(
        &self,
        id: &DomainId,
        name: &str,
        aliases: &[String],
    ) -> Result<DomainRecord> {
        let now = now_unix();
        self.r
            .c
            .execute(
                "INSERT INTO domain (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![id.as_str(), name, now],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(name.to_string())
                } else {
                    e.into()
                }
            })?;
        self.insert_name(name, id, false)?;
        for alias in aliases {
            self.insert_name(alias, id, true)?;
        }
        let mut aliases = aliases.to_vec();
        aliases.sort();
        Ok(DomainRecord {
            id: id.clone(),
            name: name.to_string(),
            aliases,
            created_at: now,
        })
    }

    pub(crate) fn delete_domain(&self, id: &DomainId) -> Result<()> {
        let n = self
            .r
            .c
            .execute("DELETE FROM domain WHERE id = ?1", [id.as_str()])?;
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        Ok(())
    }

    pub fn add_alias(&self, id: &DomainId, alias: &str) -> Result<()> {
        self.insert_name(alias, id, true)
    }

    /// Removes an alias (never a main name) of the domain.
    pub fn remove_alias(&self, id: &DomainId, alias: &str) -> Result<()> {
        let n = self.r.c.execute(
            "DELETE FROM domain_name WHERE name = ?1 AND domain_id = ?2 AND is_alias = 1",
            [alias, id.as_str()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(alias.to_string()));
        }
        Ok(())
    }

    pub fn add_platform_admin(&self, address: &str) -> Result<()> {
        self.r.c.execute(
            "INSERT OR IGNORE INTO platform_admin (address, created_at) VALUES (?1, ?2)",
            params![address, now_unix()],
        )?;
        Ok(())
    }
}
