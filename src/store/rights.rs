//! Rights inside a domain: domain admins (`account.is_admin`), groups of accounts
//! (`user_group`, `group_member`), and grants (`collection_grant`) of a calendar or address
//! book to an account, a group, or everyone in the domain, at one of four levels.
//!
//! A grantee is always a row of this domain's file, so a grant cannot leave the domain.
//! [`DomainRead::access_level`] answers "what may this account do with that collection" in
//! one indexed query (the DAV hot path); grants go with their collection (triggers), their
//! owner, their grantee account or their group (foreign keys).
//!
//! Change scope: `rights` (object: a grant id, or `group:<id>`), so every write here bumps
//! the domain's modseq like any other.

use rusqlite::{OptionalExtension, params};

use super::domain::{ChangeKind, DomainRead, DomainWrite};
use super::shares::Collection;
use super::{AccountId, Result, StoreError, now_unix};

/// The change scope of groups and grants.
pub const SCOPE_RIGHTS: &str = "rights";

/// The local part of the domain's own account (owner of domain collections).
pub const DOMAIN_OWNER: &str = "_domain";

/// What a grant allows, each level including the ones before it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// CALDAV:read-free-busy only: free-busy-query answers, nothing else.
    Freebusy = 1,
    /// Read everything.
    Read = 2,
    /// Read and write objects and properties.
    Write = 3,
    /// Write, and share further.
    Manage = 4,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Freebusy => "freebusy",
            Level::Read => "read",
            Level::Write => "write",
            Level::Manage => "manage",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "freebusy" => Some(Level::Freebusy),
            "read" => Some(Level::Read),
            "write" => Some(Level::Write),
            "manage" => Some(Level::Manage),
            _ => None,
        }
    }
    fn from_db(n: i64) -> Option<Level> {
        match n {
            1 => Some(Level::Freebusy),
            2 => Some(Level::Read),
            3 => Some(Level::Write),
            4 => Some(Level::Manage),
            _ => None,
        }
    }
}

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    Account(AccountId),
    Group(i64),
    Domain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    /// Primary addresses of the members, sorted.
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub owner: AccountId,
    pub collection: Collection,
    pub collection_id: i64,
    pub grantee: Grantee,
    pub level: Level,
    pub created_at: i64,
}

const GRANT_COLUMNS: &str =
    "id, owner_id, collection, collection_id, grantee_account, grantee_group, level, created_at";

fn grant_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Grant> {
    let account: Option<String> = r.get(4)?;
    let group: Option<i64> = r.get(5)?;
    let grantee = match (account, group) {
        (Some(a), _) => Grantee::Account(AccountId::from_db(a)),
        (None, Some(g)) => Grantee::Group(g),
        (None, None) => Grantee::Domain,
    };
    Ok(Grant {
        id: r.get(0)?,
        owner: AccountId::from_db(r.get(1)?),
        collection: if r.get::<_, String>(2)? == "addressbook" {
            Collection::Addressbook
        } else {
            Collection::Calendar
        },
        collection_id: r.get(3)?,
        grantee,
        level: Level::from_db(r.get(6)?).unwrap_or(Level::Freebusy),
        created_at: r.get(7)?,
    })
}

fn collection_str(c: Collection) -> &'static str {
    match c {
        Collection::Calendar => "calendar",
        Collection::Addressbook => "addressbook",
    }
}

/// A new grant id: `gr` and 16 random lower-case letters and digits.
pub fn new_grant_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("gr{tail}")
}

impl DomainRead<'_> {
    /// The domain's own account, once a domain collection made it.
    pub fn domain_owner(&self) -> Result<Option<AccountId>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT id FROM account WHERE is_domain = 1 LIMIT 1")?
            .query_row([], |r| Ok(AccountId::from_db(r.get(0)?)))
            .optional()?)
    }

    pub fn is_domain_admin(&self, account: &AccountId) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT is_admin FROM account WHERE id = ?1")?
            .query_row([account.as_str()], |r| r.get::<_, i64>(0))
            .optional()?
            .is_some_and(|v| v != 0))
    }

    pub fn group_by_name(&self, name: &str) -> Result<Option<Group>> {
        let row = self
            .conn()
            .prepare_cached("SELECT id, name, created_at FROM user_group WHERE name = ?1")?
            .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        match row {
            None => Ok(None),
            Some((id, name, created_at)) => Ok(Some(Group {
                members: self.group_members(id)?,
                id,
                name,
                created_at,
            })),
        }
    }

    pub fn group_by_id(&self, id: i64) -> Result<Option<Group>> {
        let name: Option<String> = self
            .conn()
            .prepare_cached("SELECT name FROM user_group WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        match name {
            None => Ok(None),
            Some(n) => self.group_by_name(&n),
        }
    }

    fn group_members(&self, id: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT a.primary_address FROM group_member m JOIN account a ON a.id = m.account_id
             WHERE m.group_id = ?1 ORDER BY a.primary_address",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Every group with its members, by name.
    pub fn groups(&self) -> Result<Vec<Group>> {
        let names: Vec<String> = self
            .conn()
            .prepare("SELECT name FROM user_group ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if let Some(g) = self.group_by_name(&n)? {
                out.push(g);
            }
        }
        Ok(out)
    }

    pub fn grant(&self, id: &str) -> Result<Option<Grant>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {GRANT_COLUMNS} FROM collection_grant WHERE id = ?1"
            ))?
            .query_row([id], grant_from_row)
            .optional()?)
    }

    /// The grants an owner gave, oldest first.
    pub fn grants_by_owner(&self, owner: &AccountId) -> Result<Vec<Grant>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {GRANT_COLUMNS} FROM collection_grant WHERE owner_id = ?1 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([owner.as_str()], grant_from_row)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The grants of one collection, oldest first.
    pub fn grants_of(&self, collection: Collection, id: i64) -> Result<Vec<Grant>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {GRANT_COLUMNS} FROM collection_grant WHERE collection = ?1 AND collection_id = ?2 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(params![collection_str(collection), id], grant_from_row)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Every grant an owner gave on collections of one kind, for `DAV:acl`: the
    /// collection's name, the grantee (`address:<primary address>`, `group:<name>` or
    /// `everyone`) and the level.
    pub fn grant_aces(
        &self,
        owner: &AccountId,
        collection: Collection,
    ) -> Result<Vec<(String, String, Level)>> {
        let table = match collection {
            Collection::Calendar => "calendar",
            Collection::Addressbook => "addressbook",
        };
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT c.name,
                    CASE WHEN g.grantee_account IS NOT NULL THEN 'address:' || a.primary_address
                         WHEN g.grantee_group IS NOT NULL THEN 'group:' || ug.name
                         ELSE 'everyone' END,
                    g.level
             FROM collection_grant g
             JOIN {table} c ON c.id = g.collection_id
             LEFT JOIN account a ON a.id = g.grantee_account
             LEFT JOIN user_group ug ON ug.id = g.grantee_group
             WHERE g.owner_id = ?1 AND g.collection = ?2
             ORDER BY c.name, g.created_at, g.id"
        ))?;
        let rows = stmt.query_map(params![owner.as_str(), table], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, who, level) = row?;
            if let Some(level) = Level::from_db(level) {
                out.push((name, who, level));
            }
        }
        Ok(out)
    }

    /// The collections of one kind that others granted `account` (directly, through a
    /// group, or to everyone), with the owner's id and primary address, the collection's
    /// name and the highest level: what the account's own home shows beside its own.
    pub fn shared_with(
        &self,
        account: &AccountId,
        collection: Collection,
    ) -> Result<Vec<(AccountId, String, String, Level)>> {
        let table = match collection {
            Collection::Calendar => "calendar",
            Collection::Addressbook => "addressbook",
        };
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT g.owner_id, a.primary_address, c.name, max(g.level)
             FROM collection_grant g
             JOIN {table} c ON c.id = g.collection_id
             JOIN account a ON a.id = g.owner_id
             WHERE g.collection = ?2 AND g.owner_id != ?1
               AND (g.grantee_account = ?1
                    OR (g.grantee_account IS NULL AND g.grantee_group IS NULL)
                    OR g.grantee_group IN (SELECT group_id FROM group_member WHERE account_id = ?1))
             GROUP BY g.collection_id
             ORDER BY a.primary_address, c.name"
        ))?;
        let rows = stmt.query_map(params![account.as_str(), table], |r| {
            Ok((
                AccountId::from_db(r.get(0)?),
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (owner, address, name, level) = row?;
            if let Some(level) = Level::from_db(level) {
                out.push((owner, address, name, level));
            }
        }
        Ok(out)
    }

    /// The highest level any grant of the collection gives `account` (directly, through
    /// one of its groups, or to the whole domain): one indexed query.
    pub fn access_level(
        &self,
        collection: Collection,
        id: i64,
        account: &AccountId,
    ) -> Result<Option<Level>> {
        let level: Option<i64> = self
            .conn()
            .prepare_cached(
                "SELECT max(level) FROM collection_grant
                 WHERE collection = ?1 AND collection_id = ?2
                   AND (grantee_account = ?3
                        OR (grantee_account IS NULL AND grantee_group IS NULL)
                        OR grantee_group IN (SELECT group_id FROM group_member WHERE account_id = ?3))",
            )?
            .query_row(params![collection_str(collection), id, account.as_str()], |r| {
                r.get(0)
            })?;
        Ok(level.and_then(Level::from_db))
    }
}

impl DomainWrite<'_> {
    /// The domain's own account, made on first use with the address `address` (which
    /// must be `_domain@<domain>`): no password, no default collections.
    pub fn ensure_domain_owner(&self, address: &str) -> Result<AccountId> {
        if let Some(id) = self.domain_owner()? {
            return Ok(id);
        }
        let id = AccountId::generate();
        let now = now_unix();
        self.conn()
            .execute(
                "INSERT INTO account (id, primary_address, display_name, password_hash, created_at, is_domain)
                 VALUES (?1, ?2, 'Domain', '!', ?3, 1)",
                params![id.as_str(), address, now],
            )
            .map_err(|e| {
                if super::db::is_unique_violation(&e) {
                    StoreError::Conflict(address.to_string())
                } else {
                    e.into()
                }
            })?;
        self.conn()
            .execute(
                "INSERT INTO address (address, account_id, created_at) VALUES (?1, ?2, ?3)",
                params![address, id.as_str(), now],
            )
            .map_err(|e| {
                if super::db::is_unique_violation(&e) {
                    StoreError::Conflict(address.to_string())
                } else {
                    e.into()
                }
            })?;
        self.record_change(SCOPE_RIGHTS, id.as_str(), ChangeKind::Created)?;
        Ok(id)
    }

    /// Makes an account a domain admin, or not.
    pub fn set_domain_admin(&self, account: &AccountId, on: bool) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE account SET is_admin = ?2 WHERE id = ?1",
            params![account.as_str(), on as i64],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(account.to_string()));
        }
        self.record_change(SCOPE_RIGHTS, account.as_str(), ChangeKind::Updated)?;
        Ok(())
    }

    /// A new group; a name taken is a conflict.
    pub fn create_group(&self, name: &str) -> Result<i64> {
        self.conn()
            .execute(
                "INSERT INTO user_group (name, created_at) VALUES (?1, ?2)",
                params![name, now_unix()],
            )
            .map_err(|e| {
                if super::db::is_unique_violation(&e) {
                    StoreError::Conflict(name.to_string())
                } else {
                    e.into()
                }
            })?;
        let id = self.conn().last_insert_rowid();
        self.record_change(SCOPE_RIGHTS, &format!("group:{id}"), ChangeKind::Created)?;
        Ok(id)
    }

    /// Removes a group; its memberships and the grants to it go with it.
    pub fn delete_group(&self, id: i64) -> Result<()> {
        let n = self
            .conn()
            .execute("DELETE FROM user_group WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("group {id}")));
        }
        self.record_change(SCOPE_RIGHTS, &format!("group:{id}"), ChangeKind::Destroyed)?;
        Ok(())
    }

    /// Adds a member; returns false when it was one already.
    pub fn add_group_member(&self, group: i64, account: &AccountId) -> Result<bool> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO group_member (group_id, account_id) VALUES (?1, ?2)",
            params![group, account.as_str()],
        )?;
        if n > 0 {
            self.record_change(SCOPE_RIGHTS, &format!("group:{group}"), ChangeKind::Updated)?;
        }
        Ok(n > 0)
    }

    /// Removes a member; returns false when it was not one.
    pub fn remove_group_member(&self, group: i64, account: &AccountId) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM group_member WHERE group_id = ?1 AND account_id = ?2",
            params![group, account.as_str()],
        )?;
        if n > 0 {
            self.record_change(SCOPE_RIGHTS, &format!("group:{group}"), ChangeKind::Updated)?;
        }
        Ok(n > 0)
    }

    /// Grants a collection; a grant to the same grantee is replaced (its level changes,
    /// its id stays).
    pub fn put_grant(
        &self,
        owner: &AccountId,
        collection: Collection,
        collection_id: i64,
        grantee: &Grantee,
        level: Level,
    ) -> Result<Grant> {
        let (account, group) = match grantee {
            Grantee::Account(a) => (Some(a.as_str()), None),
            Grantee::Group(g) => (None, Some(*g)),
            Grantee::Domain => (None, None),
        };
        let existing: Option<String> = self
            .conn()
            .prepare_cached(
                "SELECT id FROM collection_grant WHERE collection = ?1 AND collection_id = ?2
                 AND coalesce(grantee_account, '') = coalesce(?3, '')
                 AND coalesce(grantee_group, 0) = coalesce(?4, 0)",
            )?
            .query_row(
                params![collection_str(collection), collection_id, account, group],
                |r| r.get(0),
            )
            .optional()?;
        let (id, kind) = match existing {
            Some(id) => {
                self.conn().execute(
                    "UPDATE collection_grant SET level = ?2 WHERE id = ?1",
                    params![id, level as i64],
                )?;
                (id, ChangeKind::Updated)
            }
            None => {
                let id = new_grant_id();
                self.conn().execute(
                    "INSERT INTO collection_grant (id, owner_id, collection, collection_id, grantee_account, grantee_group, level, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![id, owner.as_str(), collection_str(collection), collection_id, account, group, level as i64, now_unix()],
                )?;
                (id, ChangeKind::Created)
            }
        };
        self.record_change(SCOPE_RIGHTS, &id, kind)?;
        self.grant(&id)?.ok_or_else(|| StoreError::NotFound(id))
    }

    pub fn delete_grant(&self, id: &str) -> Result<()> {
        let n = self
            .conn()
            .execute("DELETE FROM collection_grant WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        self.record_change(SCOPE_RIGHTS, id, ChangeKind::Destroyed)?;
        Ok(())
    }
}
