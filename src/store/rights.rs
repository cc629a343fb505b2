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
//! the domain's modseq like any other. A grant also changes what the sharees' homes list
//! (a shared collection appears there as [`mount_name`]): every write that gives, changes
//! or takes a collection records the mount name in the calendar or address book home scope
//! of each account it reaches (the account, the group's members, or everyone), and the
//! collection's name in its owner's home scope, so home sync tokens and ctags move.
//!
//! CalendarServer sharing (`caldav/sharing.rs`): a grant made by a `CS:share` POST carries
//! an invite status and waits for the sharee's reply (`noresponse`, then `accepted` or
//! `declined`); only grants without a status (made through the API or the CLI) or accepted
//! ones are in force. Notifications (`notification`, scope `notifications:<account>`,
//! object `<uid>.xml`) hold the invites and replies as opaque XML documents.

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

/// Where a CalendarServer sharing invite stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteStatus {
    /// Sent, not answered: the grant gives nothing yet.
    NoResponse,
    /// In force.
    Accepted,
    /// Declined by the sharee: the grant gives nothing.
    Declined,
}

impl InviteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InviteStatus::NoResponse => "noresponse",
            InviteStatus::Accepted => "accepted",
            InviteStatus::Declined => "declined",
        }
    }
    fn from_db(s: Option<String>) -> Option<InviteStatus> {
        match s.as_deref() {
            Some("noresponse") => Some(InviteStatus::NoResponse),
            Some("accepted") => Some(InviteStatus::Accepted),
            Some("declined") => Some(InviteStatus::Declined),
            _ => None,
        }
    }
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
    /// None: made through the API or the CLI, in force at once.
    pub invite: Option<InviteStatus>,
    /// The sharer's `CS:summary` of the invite.
    pub summary: Option<String>,
}

impl Grant {
    /// Whether the grant gives its level (not an invite waiting or declined).
    pub fn in_force(&self) -> bool {
        matches!(self.invite, None | Some(InviteStatus::Accepted))
    }
}

/// SQL condition: the grant `g` is in force.
const IN_FORCE: &str = "(g.invite_status IS NULL OR g.invite_status = 'accepted')";

const GRANT_COLUMNS: &str = "id, owner_id, collection, collection_id, grantee_account, grantee_group, level, created_at, invite_status, invite_summary";

/// The name under which a collection shared with someone appears in that one's own home:
/// `<owner's local part>-<collection name>`.
pub fn mount_name(owner_address: &str, collection: &str) -> String {
    let local = owner_address.split('@').next().unwrap_or(owner_address);
    format!("{local}-{collection}")
}

/// The home scope (the home's members) of an account for one kind of collection.
fn home_scope(collection: Collection, account: &AccountId) -> String {
    match collection {
        Collection::Calendar => super::calendars::home_scope(account),
        Collection::Addressbook => super::contacts::home_scope(account),
    }
}

/// The change scope of an account's notification collection (objects: `<uid>.xml`).
pub fn notifications_scope(account: &AccountId) -> String {
    format!("notifications:{account}")
}

/// One notification resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub uid: String,
    /// The notification element's name: `invite-notification` or `invite-reply`.
    pub kind: String,
    pub xml: String,
    pub created_at: i64,
}

/// A sharee of a collection as `CS:invite` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    pub grant_id: String,
    pub address: String,
    pub display_name: String,
    pub level: Level,
    /// None: granted through the API or the CLI (in force).
    pub invite: Option<InviteStatus>,
    pub summary: Option<String>,
}

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
        invite: InviteStatus::from_db(r.get(8)?),
        summary: r.get(9)?,
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

    /// Whether the account is the domain's own (owner of domain collections).
    pub fn is_domain_account(&self, account: &AccountId) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT is_domain FROM account WHERE id = ?1")?
            .query_row([account.as_str()], |r| r.get::<_, i64>(0))
            .optional()?
            .is_some_and(|v| v != 0))
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
             WHERE g.owner_id = ?1 AND g.collection = ?2 AND {IN_FORCE}
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
             WHERE g.collection = ?2 AND g.owner_id != ?1 AND {IN_FORCE}
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
            .prepare_cached(&format!(
                "SELECT max(g.level) FROM collection_grant g
                 WHERE g.collection = ?1 AND g.collection_id = ?2 AND {IN_FORCE}
                   AND (g.grantee_account = ?3
                        OR (g.grantee_account IS NULL AND g.grantee_group IS NULL)
                        OR g.grantee_group IN (SELECT group_id FROM group_member WHERE account_id = ?3))"
            ))?
            .query_row(params![collection_str(collection), id, account.as_str()], |r| {
                r.get(0)
            })?;
        Ok(level.and_then(Level::from_db))
    }
    /// Whether any grant (in force or not) names the collection: it is shared.
    pub fn has_grants(&self, collection: Collection, id: i64) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM collection_grant WHERE collection = ?1 AND collection_id = ?2)",
            )?
            .query_row(params![collection_str(collection), id], |r| r.get(0))?)
    }

    /// The grant of a collection to one account (not through a group or everyone).
    pub fn grant_to_account(
        &self,
        collection: Collection,
        id: i64,
        account: &AccountId,
    ) -> Result<Option<Grant>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {GRANT_COLUMNS} FROM collection_grant
                 WHERE collection = ?1 AND collection_id = ?2 AND grantee_account = ?3"
            ))?
            .query_row(
                params![collection_str(collection), id, account.as_str()],
                grant_from_row,
            )
            .optional()?)
    }

    /// The accounts a collection is granted to one by one (`CS:invite`), by address.
    pub fn invitees(&self, collection: Collection, id: i64) -> Result<Vec<Invitee>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT g.id, a.primary_address, a.display_name, g.level, g.invite_status, g.invite_summary
             FROM collection_grant g JOIN account a ON a.id = g.grantee_account
             WHERE g.collection = ?1 AND g.collection_id = ?2
             ORDER BY a.primary_address",
        )?;
        let rows = stmt.query_map(params![collection_str(collection), id], |r| {
            Ok(Invitee {
                grant_id: r.get(0)?,
                address: r.get(1)?,
                display_name: r.get(2)?,
                level: Level::from_db(r.get(3)?).unwrap_or(Level::Freebusy),
                invite: InviteStatus::from_db(r.get(4)?),
                summary: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// An account's notifications, oldest first.
    pub fn notifications(&self, account: &AccountId) -> Result<Vec<Notification>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT uid, kind, xml, created_at FROM notification WHERE account_id = ?1
             ORDER BY created_at, uid",
        )?;
        let rows = stmt.query_map([account.as_str()], notification_from_row)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn notification(&self, account: &AccountId, uid: &str) -> Result<Option<Notification>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT uid, kind, xml, created_at FROM notification WHERE account_id = ?1 AND uid = ?2",
            )?
            .query_row(params![account.as_str(), uid], notification_from_row)
            .optional()?)
    }

    /// The accounts a grantee stands for (members of a group, every user for everyone),
    /// without the owner and the domain's own account.
    fn grantee_accounts(&self, grantee: &Grantee, owner: &AccountId) -> Result<Vec<AccountId>> {
        let ids: Vec<String> = match grantee {
            Grantee::Account(a) => vec![a.as_str().to_string()],
            Grantee::Group(g) => self
                .conn()
                .prepare_cached("SELECT account_id FROM group_member WHERE group_id = ?1")?
                .query_map([g], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?,
            Grantee::Domain => self
                .conn()
                .prepare_cached("SELECT id FROM account WHERE is_domain = 0")?
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?,
        };
        Ok(ids
            .into_iter()
            .filter(|id| id != owner.as_str())
            .map(AccountId::from_db)
            .collect())
    }

    /// The owner's primary address and the collection's name, while both exist.
    fn collection_names(&self, g: &Grant) -> Result<Option<(String, String)>> {
        let table = match g.collection {
            Collection::Calendar => "calendar",
            Collection::Addressbook => "addressbook",
        };
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT a.primary_address, c.name FROM account a, {table} c
                 WHERE a.id = ?1 AND c.id = ?2"
            ))?
            .query_row(params![g.owner.as_str(), g.collection_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }
}

fn notification_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        uid: r.get(0)?,
        kind: r.get(1)?,
        xml: r.get(2)?,
        created_at: r.get(3)?,
    })
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
        self.touch_group_grants(id, None, ChangeKind::Destroyed)?;
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
            self.touch_group_grants(group, Some(account), ChangeKind::Created)?;
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
            self.touch_group_grants(group, Some(account), ChangeKind::Destroyed)?;
        }
        Ok(n > 0)
    }

    /// Grants a collection through the API or the CLI: in force at once. A grant to the
    /// same grantee is replaced (its level changes, its id stays); an invite still waiting
    /// or declined becomes a grant in force.
    pub fn put_grant(
        &self,
        owner: &AccountId,
        collection: Collection,
        collection_id: i64,
        grantee: &Grantee,
        level: Level,
    ) -> Result<Grant> {
        let existing = self.existing_grant(collection, collection_id, grantee)?;
        let g = match existing {
            Some(g) => {
                self.conn().execute(
                    "UPDATE collection_grant SET level = ?2,
                        invite_status = CASE WHEN invite_status = 'accepted' THEN 'accepted' END
                     WHERE id = ?1",
                    params![g.id, level as i64],
                )?;
                // An invite still waiting is answered by the grant itself.
                if let (Grantee::Account(a), Some(InviteStatus::NoResponse)) =
                    (&g.grantee, g.invite)
                {
                    self.delete_notification(a, &g.id)?;
                }
                self.grant_changed(&g.id, ChangeKind::Updated)?
            }
            None => {
                let id = self.insert_grant(
                    owner,
                    collection,
                    collection_id,
                    grantee,
                    level,
                    None,
                    None,
                )?;
                self.grant_changed(&id, ChangeKind::Created)?
            }
        };
        Ok(g)
    }

    /// A CalendarServer invite (`CS:set` of a `CS:share` POST) of one account: a new
    /// grant waits for the reply; an existing one keeps its status (a declined one is
    /// invited again) and takes the new level and summary. Returns the grant as it is now
    /// and as it was.
    pub fn put_invite(
        &self,
        owner: &AccountId,
        collection: Collection,
        collection_id: i64,
        account: &AccountId,
        level: Level,
        summary: Option<&str>,
    ) -> Result<(Grant, Option<Grant>)> {
        let grantee = Grantee::Account(account.clone());
        let before = self.existing_grant(collection, collection_id, &grantee)?;
        let now = match &before {
            Some(g) => {
                self.conn().execute(
                    "UPDATE collection_grant SET level = ?2, invite_summary = coalesce(?3, invite_summary),
                        invite_status = CASE WHEN invite_status = 'declined' THEN 'noresponse' ELSE invite_status END
                     WHERE id = ?1",
                    params![g.id, level as i64, summary],
                )?;
                self.grant_changed(&g.id, ChangeKind::Updated)?
            }
            None => {
                let id = self.insert_grant(
                    owner,
                    collection,
                    collection_id,
                    &grantee,
                    level,
                    Some(InviteStatus::NoResponse),
                    summary,
                )?;
                self.grant_changed(&id, ChangeKind::Created)?
            }
        };
        Ok((now, before))
    }

    /// The sharee's reply to an invite (or its removal of the shared collection):
    /// accepted puts the grant in force, declined takes it out of the sharee's home.
    pub fn set_invite_status(&self, id: &str, status: InviteStatus) -> Result<Grant> {
        let n = self.conn().execute(
            "UPDATE collection_grant SET invite_status = ?2 WHERE id = ?1",
            params![id, status.as_str()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        self.grant_changed(id, ChangeKind::Updated)
    }

    pub fn delete_grant(&self, id: &str) -> Result<()> {
        let Some(g) = self.grant(id)? else {
            return Err(StoreError::NotFound(id.to_string()));
        };
        self.touch_homes(&g, None, ChangeKind::Destroyed)?;
        self.conn()
            .execute("DELETE FROM collection_grant WHERE id = ?1", [id])?;
        // An invite nobody answered goes with its grant.
        if let Grantee::Account(a) = &g.grantee
            && g.invite == Some(InviteStatus::NoResponse)
        {
            self.delete_notification(a, id)?;
        }
        self.record_change(SCOPE_RIGHTS, id, ChangeKind::Destroyed)?;
        Ok(())
    }

    /// Before a collection goes: its grants go, and every home that listed it records
    /// the change (the triggers would remove the grants silently).
    pub fn unshare_collection(&self, collection: Collection, id: i64) -> Result<()> {
        for g in self.grants_of(collection, id)? {
            self.delete_grant(&g.id)?;
        }
        Ok(())
    }

    /// Stores (or replaces) a notification of `account`.
    pub fn put_notification(
        &self,
        account: &AccountId,
        uid: &str,
        kind: &str,
        xml: &str,
    ) -> Result<()> {
        let n = self.conn().execute(
            "INSERT INTO notification (account_id, uid, kind, xml, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (account_id, uid) DO UPDATE SET kind = excluded.kind, xml = excluded.xml,
                created_at = excluded.created_at",
            params![account.as_str(), uid, kind, xml, now_unix()],
        )?;
        if n > 0 {
            self.record_change(
                &notifications_scope(account),
                &format!("{uid}.xml"),
                ChangeKind::Updated,
            )?;
        }
        Ok(())
    }

    /// Removes a notification; false when there was none.
    pub fn delete_notification(&self, account: &AccountId, uid: &str) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM notification WHERE account_id = ?1 AND uid = ?2",
            params![account.as_str(), uid],
        )?;
        if n > 0 {
            self.record_change(
                &notifications_scope(account),
                &format!("{uid}.xml"),
                ChangeKind::Destroyed,
            )?;
        }
        Ok(n > 0)
    }

    fn existing_grant(
        &self,
        collection: Collection,
        collection_id: i64,
        grantee: &Grantee,
    ) -> Result<Option<Grant>> {
        let (account, group) = match grantee {
            Grantee::Account(a) => (Some(a.as_str()), None),
            Grantee::Group(g) => (None, Some(*g)),
            Grantee::Domain => (None, None),
        };
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {GRANT_COLUMNS} FROM collection_grant WHERE collection = ?1 AND collection_id = ?2
                 AND coalesce(grantee_account, '') = coalesce(?3, '')
                 AND coalesce(grantee_group, 0) = coalesce(?4, 0)"
            ))?
            .query_row(
                params![collection_str(collection), collection_id, account, group],
                grant_from_row,
            )
            .optional()?)
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_grant(
        &self,
        owner: &AccountId,
        collection: Collection,
        collection_id: i64,
        grantee: &Grantee,
        level: Level,
        invite: Option<InviteStatus>,
        summary: Option<&str>,
    ) -> Result<String> {
        let (account, group) = match grantee {
            Grantee::Account(a) => (Some(a.as_str()), None),
            Grantee::Group(g) => (None, Some(*g)),
            Grantee::Domain => (None, None),
        };
        let id = new_grant_id();
        self.conn().execute(
            "INSERT INTO collection_grant (id, owner_id, collection, collection_id, grantee_account, grantee_group, level, created_at, invite_status, invite_summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                id,
                owner.as_str(),
                collection_str(collection),
                collection_id,
                account,
                group,
                level as i64,
                now_unix(),
                invite.map(InviteStatus::as_str),
                summary
            ],
        )?;
        Ok(id)
    }

    /// A grant was made or changed: the rights scope and every home concerned record it.
    fn grant_changed(&self, id: &str, kind: ChangeKind) -> Result<Grant> {
        self.record_change(SCOPE_RIGHTS, id, kind)?;
        let g = self
            .grant(id)?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        self.touch_homes(&g, None, kind)?;
        Ok(g)
    }

    /// Records `kind` for the collection of `g` in its owner's home (under its name) and
    /// in the home of every account the grant reaches (under its mount name), or only in
    /// `only`'s: what lets home sync tokens, ctags and sync-collection see it.
    fn touch_homes(&self, g: &Grant, only: Option<&AccountId>, kind: ChangeKind) -> Result<()> {
        let Some((owner_address, name)) = self.collection_names(g)? else {
            return Ok(());
        };
        let mount = mount_name(&owner_address, &name);
        let sharees = match only {
            Some(a) if *a != g.owner => vec![a.clone()],
            Some(_) => Vec::new(),
            None => {
                self.record_change(
                    &home_scope(g.collection, &g.owner),
                    &name,
                    ChangeKind::Updated,
                )?;
                self.grantee_accounts(&g.grantee, &g.owner)?
            }
        };
        for a in sharees {
            self.record_change(&home_scope(g.collection, &a), &mount, kind)?;
        }
        Ok(())
    }

    /// The grants to a group reach `member` (or every member) differently now.
    fn touch_group_grants(
        &self,
        group: i64,
        member: Option<&AccountId>,
        kind: ChangeKind,
    ) -> Result<()> {
        let grants: Vec<Grant> = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {GRANT_COLUMNS} FROM collection_grant WHERE grantee_group = ?1"
            ))?
            .query_map([group], grant_from_row)?
            .collect::<std::result::Result<_, _>>()?;
        for g in grants {
            self.touch_homes(&g, member, kind)?;
        }
        Ok(())
    }
}
