//! One domain's database `DATA/domains/<id>/domain.sqlite`: its accounts, their addresses
//! and credentials, and the change counter every protocol's sync state derives from.
//!
//! The change counter (`modseq`) is bumped once per write transaction that changes
//! anything, and each change is recorded as `(modseq, scope, object, kind)`. DAV sync
//! tokens, `getctag` and JMAP state strings are all read from it. Change rows older than
//! the retention are pruned; [`DomainRead::changes_since`] then answers
//! [`ChangesSince::TooOld`] so the protocol can say `valid-sync-token` /
//! `cannotCalculateChanges`.

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OptionalExtension, params};

use super::db::{Db, is_unique_violation};
use super::migrate::Migration;
use super::{AccountId, CredentialId, DomainId, Result, StoreConfig, StoreError, now_unix};

const MIGRATIONS: &[Migration] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Named counters: 'modseq' (the domain's change counter) and 'pruned_below' (change rows
-- with a smaller modseq were pruned: a sync state older than that cannot be answered).
CREATE TABLE counter (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counter (name, value) VALUES ('modseq', 0), ('pruned_below', 0);

CREATE TABLE change_log (
    modseq INTEGER NOT NULL,
    scope  TEXT NOT NULL,      -- what changed belongs to: 'accounts', a collection id, ...
    object TEXT NOT NULL,      -- the changed object's id within the scope
    kind   TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'destroyed')),
    at     INTEGER NOT NULL
) STRICT;
CREATE INDEX change_log_by_scope ON change_log (scope, modseq);
CREATE INDEX change_log_by_modseq ON change_log (modseq);

CREATE TABLE account (
    id              TEXT PRIMARY KEY,
    primary_address TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL,          -- argon2id, PHC string
    -- Bumped whenever a password or credential changes, so verified-credential caches
    -- (in any process) notice at once.
    cred_serial     INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL
) STRICT;

-- Every address of every account, the primary one included: any of them logs in.
CREATE TABLE address (
    address    TEXT PRIMARY KEY,            -- lower-case local@name
    account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX address_by_account ON address (account_id);

-- App passwords (Basic auth) and API tokens (Bearer). Their secrets are 120+ random
-- bits, so a SHA-256 of the secret is enough; passwords chosen by people get argon2id.
CREATE TABLE credential (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('app-password', 'token')),
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    UNIQUE (account_id, kind, name)
) STRICT;
"#,
    r#"
-- The WebDAV file space of each account (`/dav/files/<address>/`): collections and
-- resources addressed by their decoded path relative to the space's root ('' is the
-- root itself, 'a/b' a member of 'a').
CREATE TABLE dav_file (
    id            INTEGER PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    path          TEXT NOT NULL,
    parent        TEXT NOT NULL,       -- the parent's path ('' for top-level members)
    is_collection INTEGER NOT NULL,
    content_type  TEXT NOT NULL DEFAULT '',
    body          BLOB,                -- NULL for collections
    size          INTEGER NOT NULL DEFAULT 0,
    etag          TEXT NOT NULL,       -- strong, quoted
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    UNIQUE (account_id, path)
) STRICT;
CREATE INDEX dav_file_members ON dav_file (account_id, parent);

-- Dead properties (RFC 4918 §4), stored as the element the client sent, made
-- self-contained (its namespace declarations included), so it is returned verbatim.
CREATE TABLE dav_file_property (
    file_id INTEGER NOT NULL REFERENCES dav_file(id) ON DELETE CASCADE,
    ns      TEXT NOT NULL,
    name    TEXT NOT NULL,
    xml     TEXT NOT NULL,
    PRIMARY KEY (file_id, ns, name)
) STRICT;
"#,
    r#"
-- Calendars (`/dav/calendars/<address>/<name>/`) and their objects. Index columns answer
-- PROPFIND, sync and time-range candidates without parsing iCalendar.
CREATE TABLE calendar (
    id          INTEGER PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,          -- the URL segment
    components  TEXT NOT NULL,          -- supported components, e.g. 'VEVENT,VTODO'
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
) STRICT;

-- Dead properties of calendars (displayname, calendar-color, ...), verbatim.
CREATE TABLE calendar_property (
    calendar_id INTEGER NOT NULL REFERENCES calendar(id) ON DELETE CASCADE,
    ns          TEXT NOT NULL,
    name        TEXT NOT NULL,
    xml         TEXT NOT NULL,
    PRIMARY KEY (calendar_id, ns, name)
) STRICT;

CREATE TABLE calendar_object (
    id          INTEGER PRIMARY KEY,
    calendar_id INTEGER NOT NULL REFERENCES calendar(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,          -- the URL segment, e.g. 'abc.ics'
    uid         TEXT NOT NULL,
    component   TEXT NOT NULL,          -- VEVENT, VTODO or VJOURNAL
    etag        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    data        TEXT NOT NULL,          -- the iCalendar object as stored
    first_start INTEGER,                -- UTC bounds of all instances; NULL: unbounded
    last_end    INTEGER,
    recurring   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    UNIQUE (calendar_id, name),
    UNIQUE (calendar_id, uid)
) STRICT;
CREATE INDEX calendar_object_start ON calendar_object (calendar_id, first_start);

-- Instances of recurring objects up to the expansion horizon.
CREATE TABLE calendar_instance (
    object_id INTEGER NOT NULL REFERENCES calendar_object(id) ON DELETE CASCADE,
    start     INTEGER NOT NULL,
    end       INTEGER NOT NULL
) STRICT;
CREATE INDEX calendar_instance_by_object ON calendar_instance (object_id);
CREATE INDEX calendar_instance_start ON calendar_instance (start);

-- Every account has a default calendar and a default task list.
INSERT INTO calendar (account_id, name, components, created_at, modified_at)
    SELECT id, 'calendar', 'VEVENT', created_at, created_at FROM account;
INSERT INTO calendar (account_id, name, components, created_at, modified_at)
    SELECT id, 'tasks', 'VTODO', created_at, created_at FROM account;
INSERT INTO calendar_property (calendar_id, ns, name, xml)
    SELECT id, 'DAV:', 'displayname',
           CASE name WHEN 'calendar' THEN '<D:displayname xmlns:D="DAV:">Calendar</D:displayname>'
                     ELSE '<D:displayname xmlns:D="DAV:">Tasks</D:displayname>' END
    FROM calendar;
"#,
    r#"
-- A storage quota per account (bytes; NULL: unlimited), counted over its files and
-- calendar objects (RFC 4331).
ALTER TABLE account ADD COLUMN quota_bytes INTEGER;
"#,
    r#"
-- Dead properties of an account's calendar home (Apple clients keep their default alarms
-- there), verbatim.
CREATE TABLE calendar_home_property (
    account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    ns         TEXT NOT NULL,
    name       TEXT NOT NULL,
    xml        TEXT NOT NULL,
    PRIMARY KEY (account_id, ns, name)
) STRICT;
"#,
    r#"
-- A covering index for listings (PROPFIND Depth 1, sync-collection): the columns of
-- `ObjectMeta` in name order, so a listing never reads the rows that hold the data.
CREATE INDEX calendar_object_listing
    ON calendar_object (calendar_id, name, uid, component, etag, size, created_at, modified_at);
"#,
    r#"
-- Address books (`/dav/addressbooks/<address>/<name>/`) and their cards. Index columns
-- answer PROPFIND, sync and e-mail searches without parsing vCards.
CREATE TABLE addressbook (
    id          INTEGER PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,          -- the URL segment
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
) STRICT;

-- Dead properties of address books (displayname, description, ...), verbatim.
CREATE TABLE addressbook_property (
    addressbook_id INTEGER NOT NULL REFERENCES addressbook(id) ON DELETE CASCADE,
    ns             TEXT NOT NULL,
    name           TEXT NOT NULL,
    xml            TEXT NOT NULL,
    PRIMARY KEY (addressbook_id, ns, name)
) STRICT;

CREATE TABLE card (
    id             INTEGER PRIMARY KEY,
    addressbook_id INTEGER NOT NULL REFERENCES addressbook(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,       -- the URL segment, e.g. 'abc.vcf'
    uid            TEXT NOT NULL,
    version        TEXT NOT NULL,       -- '3.0' or '4.0': the form the data is stored in
    kind           TEXT NOT NULL,       -- individual, group, org or location
    etag           TEXT NOT NULL,
    size           INTEGER NOT NULL,
    fn             TEXT NOT NULL,
    data           TEXT NOT NULL,       -- the vCard as stored
    created_at     INTEGER NOT NULL,
    modified_at    INTEGER NOT NULL,
    UNIQUE (addressbook_id, name),
    UNIQUE (addressbook_id, uid)
) STRICT;
-- Listings read this index alone.
CREATE INDEX card_listing
    ON card (addressbook_id, name, uid, version, kind, etag, size, created_at, modified_at);

-- The e-mail addresses of each card, lowercased: candidates of e-mail text-matches.
CREATE TABLE card_email (
    card_id INTEGER NOT NULL REFERENCES card(id) ON DELETE CASCADE,
    email   TEXT NOT NULL
) STRICT;
CREATE INDEX card_email_by_card ON card_email (card_id);
CREATE INDEX card_email_by_email ON card_email (email);

-- Every account has a default address book.
INSERT INTO addressbook (account_id, name, created_at, modified_at)
    SELECT id, 'contacts', created_at, created_at FROM account;
INSERT INTO addressbook_property (addressbook_id, ns, name, xml)
    SELECT id, 'DAV:', 'displayname', '<D:displayname xmlns:D="DAV:">Contacts</D:displayname>'
    FROM addressbook;
"#,
    r#"
-- Share links of calendars (and address books): read-only doors out of the domain. Only
-- the SHA-256 of the token is kept (here, and in the control database's index).
CREATE TABLE share_link (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    collection    TEXT NOT NULL,        -- 'calendar' or 'addressbook'
    collection_id INTEGER NOT NULL,
    kind          TEXT NOT NULL,        -- 'public', 'private' or 'freebusy'
    token_hash    BLOB NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) STRICT;
CREATE INDEX share_link_by_account ON share_link (account_id);
"#,
    r#"
-- Subscriptions: a calendar (or address book) of the account that follows a feed URL,
-- refreshed on a schedule (the control database's subscription_due says when). The
-- collection it fills is read-only to clients.
CREATE TABLE subscription (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    collection     TEXT NOT NULL,       -- 'calendar' or 'addressbook'
    url            TEXT NOT NULL,
    refresh_secs   INTEGER NOT NULL,    -- the feed's REFRESH-INTERVAL, or the default
    etag           TEXT,
    last_modified  TEXT,
    last_fetch_at  INTEGER,
    last_ok_at     INTEGER,
    failures       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    next_fetch_at  INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;
ALTER TABLE calendar ADD COLUMN subscription_id TEXT;
ALTER TABLE addressbook ADD COLUMN subscription_id TEXT;
"#,
    r#"
-- Rights inside the domain (see store/rights.rs): domain admins, groups of accounts, and
-- grants of a calendar or address book to an account, a group or the whole domain.
ALTER TABLE account ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
CREATE TABLE user_group (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE group_member (
    group_id   INTEGER NOT NULL REFERENCES user_group(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, account_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX group_member_by_account ON group_member (account_id);
CREATE TABLE collection_grant (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    collection      TEXT NOT NULL CHECK (collection IN ('calendar', 'addressbook')),
    collection_id   INTEGER NOT NULL,
    -- Exactly one grantee: an account, a group, or (both NULL) everyone in the domain.
    grantee_account TEXT REFERENCES account(id) ON DELETE CASCADE,
    grantee_group   INTEGER REFERENCES user_group(id) ON DELETE CASCADE,
    level           INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4), -- freebusy, read, write, manage
    created_at      INTEGER NOT NULL,
    CHECK (grantee_account IS NULL OR grantee_group IS NULL)
) STRICT;
CREATE UNIQUE INDEX collection_grant_unique ON collection_grant
    (collection, collection_id, coalesce(grantee_account, ''), coalesce(grantee_group, 0));
CREATE INDEX collection_grant_by_owner ON collection_grant (owner_id);
CREATE INDEX collection_grant_by_account ON collection_grant (grantee_account);
CREATE INDEX collection_grant_by_group ON collection_grant (grantee_group);
CREATE TRIGGER calendar_grants_go AFTER DELETE ON calendar BEGIN
    DELETE FROM collection_grant WHERE collection = 'calendar' AND collection_id = OLD.id;
END;
CREATE TRIGGER addressbook_grants_go AFTER DELETE ON addressbook BEGIN
    DELETE FROM collection_grant WHERE collection = 'addressbook' AND collection_id = OLD.id;
END;
"#,
    r#"
-- The domain's own account (one at most, `_domain@<domain>`): owns the domain calendars
-- and address books; never logs in, never listed as a user or in the directory.
ALTER TABLE account ADD COLUMN is_domain INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- CalendarServer sharing invites (see store/rights.rs): a grant made by a CS:share POST
-- waits for the sharee's reply. NULL: a grant made through the API or the CLI, in force
-- at once; 'noresponse' and 'declined' give nothing; 'accepted' is in force.
ALTER TABLE collection_grant ADD COLUMN invite_status TEXT
    CHECK (invite_status IN ('noresponse', 'accepted', 'declined'));
ALTER TABLE collection_grant ADD COLUMN invite_summary TEXT;
-- CalendarServer notifications (invites to sharees, replies to sharers), one XML
-- document each, in the account's notification collection.
CREATE TABLE notification (
    account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    uid        TEXT NOT NULL,
    kind       TEXT NOT NULL,           -- 'invite-notification' or 'invite-reply'
    xml        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, uid)
) STRICT, WITHOUT ROWID;
"#,
];

/// The domain's change counter value: the base of DAV sync tokens and JMAP states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Modseq(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Created,
    Updated,
    Destroyed,
}

impl ChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Destroyed => "destroyed",
        }
    }
    fn parse(s: &str) -> ChangeKind {
        match s {
            "created" => ChangeKind::Created,
            "destroyed" => ChangeKind::Destroyed,
            _ => ChangeKind::Updated,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub modseq: Modseq,
    pub object: String,
    pub kind: ChangeKind,
}

/// Answer to "what changed in this scope since modseq N".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangesSince {
    /// The changes, oldest first, and the modseq they bring the caller to.
    Changes { changes: Vec<Change>, now: Modseq },
    /// The state is older than the retained change log (or from the future).
    TooOld,
}

/// The change scope of account rows (the future domain directory follows it).
pub const SCOPE_ACCOUNTS: &str = "accounts";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub id: AccountId,
    pub primary_address: String,
    pub display_name: String,
    /// Every address, the primary one first.
    pub addresses: Vec<String>,
    pub created_at: i64,
    /// Storage quota in bytes; None: unlimited.
    pub quota_bytes: Option<i64>,
}

/// What authentication needs of an account, read in one query by any of its addresses.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub account_id: AccountId,
    pub password_hash: String,
    pub cred_serial: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CredentialKind {
    #[serde(rename = "app-password")]
    AppPassword,
    #[serde(rename = "token")]
    Token,
}

impl CredentialKind {
    fn as_str(self) -> &'static str {
        match self {
            CredentialKind::AppPassword => "app-password",
            CredentialKind::Token => "token",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Credential {
    pub id: CredentialId,
    pub name: String,
    pub kind: CredentialKind,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub struct DomainDb {
    id: DomainId,
    db: Db,
    /// Pool clock tick of the last use, for idle closing and LRU.
    last_used: AtomicU64,
}

impl DomainDb {
    pub(crate) fn open(
        id: DomainId,
        path: &Path,
        config: &StoreConfig,
        create: bool,
    ) -> Result<Self> {
        let db = Db::open(path, config, MIGRATIONS, create)?;
        let this = DomainDb {
            id,
            db,
            last_used: AtomicU64::new(0),
        };
        if create {
            let id = this.id.clone();
            this.db.write_conn(|c| {
                c.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('domain_id', ?1)",
                    [id.as_str()],
                )?;
                Ok::<_, StoreError>(())
            })?;
        }
        Ok(this)
    }

    pub fn id(&self) -> &DomainId {
        &self.id
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) fn touch(&self, tick: u64) {
        self.last_used.store(tick, Ordering::Relaxed);
    }

    pub(crate) fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    /// Runs `f` on one read snapshot. Blocking. `E` lets protocol code fail with its own
    /// error type from inside the snapshot.
    pub fn read<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&DomainRead<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        self.db.read_conn(|c| f(&DomainRead { c }))
    }

    /// Runs `f` in one write transaction, committed only if it returns `Ok`. Blocking.
    pub fn write<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&DomainWrite<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        self.db.write_conn(|c| {
            f(&DomainWrite {
                r: DomainRead { c },
                modseq: Cell::new(None),
            })
        })
    }

    /// [`Self::read`] off the async runtime.
    pub async fn read_async<R: Send + 'static, E: From<StoreError> + Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&DomainRead<'_>) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E> {
        let this = self.clone();
        run_blocking(move || this.read(f)).await
    }

    /// [`Self::write`] off the async runtime.
    pub async fn write_async<R: Send + 'static, E: From<StoreError> + Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&DomainWrite<'_>) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E> {
        let this = self.clone();
        run_blocking(move || this.write(f)).await
    }
}

/// Runs blocking work on tokio's blocking pool, with the caller's error type.
async fn run_blocking<R: Send + 'static, E: From<StoreError> + Send + 'static>(
    f: impl FnOnce() -> Result<R, E> + Send + 'static,
) -> Result<R, E> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(StoreError::Task(e.to_string()).into()),
    }
}

pub struct DomainRead<'c> {
    c: &'c Connection,
}

pub struct DomainWrite<'c> {
    r: DomainRead<'c>,
    /// The modseq this transaction allocated, once it recorded its first change.
    modseq: Cell<Option<Modseq>>,
}

impl<'c> std::ops::Deref for DomainWrite<'c> {
    type Target = DomainRead<'c>;
    fn deref(&self) -> &DomainRead<'c> {
        &self.r
    }
}

fn conflict_on_unique(what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(what.to_string())
        } else {
            e.into()
        }
    }
}

impl DomainRead<'_> {
    /// The connection, for sibling modules of the store that add their own operations.
    pub(super) fn conn(&self) -> &Connection {
        self.c
    }

    pub fn modseq(&self) -> Result<Modseq> {
        Ok(Modseq(self.c.query_row(
            "SELECT value FROM counter WHERE name = 'modseq'",
            [],
            |r| r.get(0),
        )?))
    }

    /// The newest modseq of any change recorded in `scope` (or the pruning horizon when
    /// none is left): the state that sync tokens and ctags of the scope report.
    pub fn scope_modseq(&self, scope: &str) -> Result<Modseq> {
        Ok(Modseq(self.c.query_row(
            "SELECT coalesce((SELECT max(modseq) FROM change_log WHERE scope = ?1),
                             (SELECT value FROM counter WHERE name = 'pruned_below'))",
            [scope],
            |r| r.get(0),
        )?))
    }

    /// The modseq of a scope's newest change and when it happened (None: no change logged).
    pub fn scope_state(&self, scope: &str) -> Result<(Modseq, Option<i64>)> {
        let last: Option<(i64, i64)> = self
            .c
            .prepare_cached(
                "SELECT modseq, at FROM change_log WHERE scope = ?1 ORDER BY modseq DESC LIMIT 1",
            )?
            .query_row([scope], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match last {
            Some((m, at)) => Ok((Modseq(m), Some(at))),
            None => Ok((self.scope_modseq(scope)?, None)),
        }
    }

    /// The changes recorded in `scope` after `since`, or `TooOld` when the change log no
    /// longer reaches back that far.
    pub fn changes_since(&self, scope: &str, since: Modseq) -> Result<ChangesSince> {
        let now = self.modseq()?;
        let pruned_below: i64 = self.c.query_row(
            "SELECT value FROM counter WHERE name = 'pruned_below'",
            [],
            |r| r.get(0),
        )?;
        if since.0 < pruned_below || since > now {
            return Ok(ChangesSince::TooOld);
        }
        let mut stmt = self.c.prepare_cached(
            "SELECT modseq, object, kind FROM change_log
             WHERE scope = ?1 AND modseq > ?2 ORDER BY modseq",
        )?;
        let changes = stmt
            .query_map(params![scope, since.0], |r| {
                Ok(Change {
                    modseq: Modseq(r.get(0)?),
                    object: r.get(1)?,
                    kind: ChangeKind::parse(&r.get::<_, String>(2)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ChangesSince::Changes { changes, now })
    }

    /// The login data of the account holding `address`.
    pub fn login_by_address(&self, address: &str) -> Result<Option<LoginRecord>> {
        Ok(self
            .c
            .prepare_cached(
                "SELECT a.id, a.password_hash, a.cred_serial FROM address x
                 JOIN account a ON a.id = x.account_id WHERE x.address = ?1 AND a.is_domain = 0",
            )?
            .query_row([address], |r| {
                Ok(LoginRecord {
                    account_id: AccountId::from_db(r.get(0)?),
                    password_hash: r.get(1)?,
                    cred_serial: r.get(2)?,
                })
            })
            .optional()?)
    }

    /// The current credential serial of an account (see the `cred_serial` column).
    pub fn cred_serial(&self, account: &AccountId) -> Result<Option<i64>> {
        Ok(self
            .c
            .prepare_cached("SELECT cred_serial FROM account WHERE id = ?1")?
            .query_row([account.as_str()], |r| r.get(0))
            .optional()?)
    }

    /// The account that owns an app password or token with this secret hash.
    pub fn credential_owner(
        &self,
        kind: CredentialKind,
        secret_hash: &[u8],
    ) -> Result<Option<(AccountId, CredentialId)>> {
        Ok(self
            .c
            .prepare_cached(
                "SELECT account_id, id FROM credential WHERE secret_hash = ?1 AND kind = ?2",
            )?
            .query_row(params![secret_hash, kind.as_str()], |r| {
                Ok((
                    AccountId::from_db(r.get(0)?),
                    CredentialId::from_db(r.get(1)?),
                ))
            })
            .optional()?)
    }

    fn addresses_of(&self, id: &AccountId, primary: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .c
            .prepare_cached("SELECT address FROM address WHERE account_id = ?1 ORDER BY address")?;
        let mut others: Vec<String> = stmt
            .query_map([id.as_str()], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        others.retain(|a| a != primary);
        let mut all = vec![primary.to_string()];
        all.extend(others);
        Ok(all)
    }

    pub fn account(&self, id: &AccountId) -> Result<Option<Account>> {
        let row = self
            .c
            .prepare_cached(
                "SELECT primary_address, display_name, created_at, quota_bytes FROM account WHERE id = ?1",
            )?
            .query_row([id.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<i64>>(3)?))
            })
            .optional()?;
        let Some((primary_address, display_name, created_at, quota_bytes)) = row else {
            return Ok(None);
        };
        let addresses = self.addresses_of(id, &primary_address)?;
        Ok(Some(Account {
            id: id.clone(),
            primary_address,
            display_name,
            addresses,
            created_at,
            quota_bytes,
        }))
    }

    /// Bytes an account stores: its files, calendar objects and cards (RFC 4331 quota use).
    pub fn account_usage(&self, id: &AccountId) -> Result<i64> {
        Ok(self.c.query_row(
            "SELECT (SELECT coalesce(sum(size), 0) FROM dav_file WHERE account_id = ?1)
                  + (SELECT coalesce(sum(o.size), 0) FROM calendar_object o JOIN calendar c ON c.id = o.calendar_id WHERE c.account_id = ?1)
                  + (SELECT coalesce(sum(k.size), 0) FROM card k JOIN addressbook b ON b.id = k.addressbook_id WHERE b.account_id = ?1)",
            [id.as_str()],
            |r| r.get(0),
        )?)
    }

    /// The account's quota and what it uses, when it has a quota.
    pub fn quota_state(&self, id: &AccountId) -> Result<Option<(i64, i64)>> {
        let quota: Option<i64> = self
            .c
            .prepare_cached("SELECT quota_bytes FROM account WHERE id = ?1")?
            .query_row([id.as_str()], |r| r.get(0))
            .optional()?
            .flatten();
        match quota {
            Some(q) => Ok(Some((q, self.account_usage(id)?))),
            None => Ok(None),
        }
    }

    pub fn account_by_address(&self, address: &str) -> Result<Option<Account>> {
        let id: Option<String> = self
            .c
            .prepare_cached("SELECT account_id FROM address WHERE address = ?1")?
            .query_row([address], |r| r.get(0))
            .optional()?;
        match id {
            Some(id) => self.account(&AccountId::from_db(id)),
            None => Ok(None),
        }
    }

    /// Every user account (not the domain's own), ordered by primary address.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        let ids: Vec<String> = self
            .c
            .prepare("SELECT id FROM account WHERE is_domain = 0 ORDER BY primary_address")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(a) = self.account(&AccountId::from_db(id))? {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Addresses whose name part is `name` (an alias being removed, say), each with
    /// whether it is its account's primary address. A full scan: used by admin only.
    pub fn addresses_in(&self, name: &str) -> Result<Vec<(String, bool)>> {
        let mut stmt = self.c.prepare(
            "SELECT x.address, x.address = a.primary_address FROM address x
             JOIN account a ON a.id = x.account_id
             WHERE substr(x.address, instr(x.address, '@') + 1) = ?1",
        )?;
        let rows = stmt
            .query_map([name], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn credentials(
        &self,
        account: &AccountId,
        kind: CredentialKind,
    ) -> Result<Vec<Credential>> {
        let mut stmt = self.c.prepare_cached(
            "SELECT id, name, created_at, last_used_at FROM credential
             WHERE account_id = ?1 AND kind = ?2 ORDER BY name",
        )?;
        let rows = stmt
            .query_map(params![account.as_str(), kind.as_str()], |r| {
                Ok(Credential {
                    id: CredentialId::from_db(r.get(0)?),
                    name: r.get(1)?,
                    kind,
                    created_at: r.get(2)?,
                    last_used_at: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

impl DomainWrite<'_> {
    /// Records one change, allocating this transaction's modseq on the first call.
    pub fn record_change(&self, scope: &str, object: &str, kind: ChangeKind) -> Result<Modseq> {
        let modseq = match self.modseq.get() {
            Some(m) => m,
            None => {
                let m = Modseq(self.r.c.query_row(
                    "UPDATE counter SET value = value + 1 WHERE name = 'modseq' RETURNING value",
                    [],
                    |r| r.get(0),
                )?);
                self.modseq.set(Some(m));
                m
            }
        };
        self.r.c.prepare_cached(
            "INSERT INTO change_log (modseq, scope, object, kind, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![modseq.0, scope, object, kind.as_str(), now_unix()])?;
        Ok(modseq)
    }

    /// Drops change rows older than `before` (a unix time); states older than what is
    /// left become `TooOld`.
    pub fn prune_changes(&self, before: i64) -> Result<usize> {
        let newest_pruned: Option<i64> = self.r.c.query_row(
            "SELECT max(modseq) FROM change_log WHERE at < ?1",
            [before],
            |r| r.get(0),
        )?;
        let Some(newest) = newest_pruned else {
            return Ok(0);
        };
        let n = self
            .r
            .c
            .execute("DELETE FROM change_log WHERE modseq <= ?1", [newest])?;
        self.r.c.execute(
            "UPDATE counter SET value = max(value, ?1) WHERE name = 'pruned_below'",
            [newest],
        )?;
        Ok(n)
    }

    /// Creates an account with its primary address. The address must be free.
    pub fn create_account(
        &self,
        primary_address: &str,
        display_name: &str,
        password_hash: &str,
    ) -> Result<AccountId> {
        let id = AccountId::generate();
        let now = now_unix();
        self.r
            .c
            .execute(
                "INSERT INTO account (id, primary_address, display_name, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.as_str(),
                    primary_address,
                    display_name,
                    password_hash,
                    now
                ],
            )
            .map_err(conflict_on_unique(primary_address))?;
        self.insert_address(&id, primary_address, now)?;
        self.record_account_change(&id, ChangeKind::Created)?;
        self.create_default_calendars(&id)?;
        self.create_default_addressbook(&id)?;
        Ok(id)
    }

    fn insert_address(&self, id: &AccountId, address: &str, now: i64) -> Result<()> {
        self.r
            .c
            .execute(
                "INSERT INTO address (address, account_id, created_at) VALUES (?1, ?2, ?3)",
                params![address, id.as_str(), now],
            )
            .map_err(conflict_on_unique(address))?;
        Ok(())
    }

    pub fn add_address(&self, id: &AccountId, address: &str) -> Result<()> {
        self.insert_address(id, address, now_unix())?;
        self.record_account_change(id, ChangeKind::Updated)?;
        Ok(())
    }

    /// Removes a secondary address. The primary one stays with its account.
    pub fn remove_address(&self, address: &str) -> Result<()> {
        let owner: Option<(String, bool)> = self
            .r
            .c
            .query_row(
                "SELECT a.id, a.primary_address = x.address FROM address x
                 JOIN account a ON a.id = x.account_id WHERE x.address = ?1",
                [address],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match owner {
            None => Err(StoreError::NotFound(address.to_string())),
            Some((_, true)) => Err(StoreError::Conflict(address.to_string())),
            Some((id, false)) => {
                self.r
                    .c
                    .execute("DELETE FROM address WHERE address = ?1", [address])?;
                self.record_account_change(&AccountId::from_db(id), ChangeKind::Updated)?;
                Ok(())
            }
        }
    }

    pub fn set_password_hash(&self, id: &AccountId, hash: &str) -> Result<()> {
        let n = self.r.c.execute(
            "UPDATE account SET password_hash = ?1, cred_serial = cred_serial + 1 WHERE id = ?2",
            params![hash, id.as_str()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        Ok(())
    }

    /// Sets (or, with None, lifts) an account's storage quota.
    pub fn set_quota(&self, id: &AccountId, bytes: Option<i64>) -> Result<()> {
        let n = self.r.c.execute(
            "UPDATE account SET quota_bytes = ?2 WHERE id = ?1",
            params![id.as_str(), bytes],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        Ok(())
    }

    pub fn delete_account(&self, id: &AccountId) -> Result<()> {
        let n = self
            .r
            .c
            .execute("DELETE FROM account WHERE id = ?1", [id.as_str()])?;
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        self.record_account_change(id, ChangeKind::Destroyed)?;
        Ok(())
    }

    /// An account came, changed its addresses or name, or went: the accounts scope and
    /// the domain directory (whose cards are generated from accounts) both change.
    fn record_account_change(&self, id: &AccountId, kind: ChangeKind) -> Result<()> {
        self.record_change(SCOPE_ACCOUNTS, id.as_str(), kind)?;
        self.record_change(
            super::contacts::SCOPE_DIRECTORY,
            &super::contacts::directory_path(id),
            kind,
        )?;
        Ok(())
    }

    fn bump_cred_serial(&self, id: &AccountId) -> Result<()> {
        self.r.c.execute(
            "UPDATE account SET cred_serial = cred_serial + 1 WHERE id = ?1",
            [id.as_str()],
        )?;
        Ok(())
    }

    /// Stores a new app password or token by the hash of its secret. A name already used
    /// by the account for this kind is a conflict.
    pub fn create_credential(
        &self,
        account: &AccountId,
        kind: CredentialKind,
        name: &str,
        secret_hash: &[u8],
    ) -> Result<Credential> {
        let id = CredentialId::generate();
        let now = now_unix();
        self.r
            .c
            .execute(
                "INSERT INTO credential (id, account_id, kind, name, secret_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id.as_str(),
                    account.as_str(),
                    kind.as_str(),
                    name,
                    secret_hash,
                    now
                ],
            )
            .map_err(conflict_on_unique(name))?;
        Ok(Credential {
            id,
            name: name.to_string(),
            kind,
            created_at: now,
            last_used_at: None,
        })
    }

    /// Revokes a credential by name or id; revocation is seen by every cache at once.
    pub fn revoke_credential(
        &self,
        account: &AccountId,
        kind: CredentialKind,
        name_or_id: &str,
    ) -> Result<()> {
        let n = self.r.c.execute(
            "DELETE FROM credential WHERE account_id = ?1 AND kind = ?2 AND (name = ?3 OR id = ?3)",
            params![account.as_str(), kind.as_str(), name_or_id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(name_or_id.to_string()));
        }
        self.bump_cred_serial(account)
    }

    pub fn mark_credential_used(&self, id: &CredentialId) -> Result<()> {
        self.r.c.execute(
            "UPDATE credential SET last_used_at = ?1 WHERE id = ?2",
            params![now_unix(), id.as_str()],
        )?;
        Ok(())
    }
}

impl DomainWrite<'_> {
    /// Sets (`Some`) and removes (`None`) dead properties in one of the verbatim property
    /// tables (`dav_file_property`, `calendar_property`, `calendar_home_property`), keyed by
    /// `key_column = key`. The table and column names are this module's constants.
    pub(super) fn patch_dead_properties(
        &self,
        table: &'static str,
        key_column: &'static str,
        key: &dyn rusqlite::ToSql,
        ops: &[(String, String, Option<String>)],
    ) -> Result<()> {
        for (ns, name, xml) in ops {
            match xml {
                Some(xml) => self
                    .conn()
                    .prepare_cached(&format!(
                        "INSERT INTO {table} ({key_column}, ns, name, xml) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT ({key_column}, ns, name) DO UPDATE SET xml = excluded.xml"
                    ))?
                    .execute(rusqlite::params![key, ns, name, xml])?,
                None => self
                    .conn()
                    .prepare_cached(&format!(
                        "DELETE FROM {table} WHERE {key_column} = ?1 AND ns = ?2 AND name = ?3"
                    ))?
                    .execute(rusqlite::params![key, ns, name])?,
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, DomainDb) {
        let dir = tempfile::tempdir().unwrap();
        let db = DomainDb::open(
            DomainId::generate(),
            &dir.path().join("domain.sqlite"),
            &StoreConfig::default(),
            true,
        )
        .unwrap();
        (dir, db)
    }

    #[test]
    fn one_modseq_per_transaction_and_changes_since() {
        let (_d, db) = open();
        let before = db.read(|r| r.modseq()).unwrap();
        let id = db
            .write(|w| {
                let id = w.create_account("a@x.test", "A", "h")?;
                w.add_address(&id, "a@y.test")?;
                Ok::<_, StoreError>(id)
            })
            .unwrap();
        let after = db.read(|r| r.modseq()).unwrap();
        assert_eq!(after.0, before.0 + 1);
        let ChangesSince::Changes { changes, now } = db
            .read(|r| r.changes_since(SCOPE_ACCOUNTS, before))
            .unwrap()
        else {
            panic!("expected changes")
        };
        assert_eq!(now, after);
        assert_eq!(changes.len(), 2);
        assert!(
            changes
                .iter()
                .all(|c| c.object == id.as_str() && c.modseq == after)
        );
        assert_eq!(changes[0].kind, ChangeKind::Created);
    }

    #[test]
    fn pruned_states_are_too_old_and_future_ones_too() {
        let (_d, db) = open();
        db.write(|w| w.create_account("a@x.test", "", "h").map(|_| ()))
            .unwrap();
        db.write(|w| w.create_account("b@x.test", "", "h").map(|_| ()))
            .unwrap();
        let pruned = db.write(|w| w.prune_changes(now_unix() + 10)).unwrap();
        // Each account: its own change, its directory card, its two default calendars and
        // its default address book.
        assert_eq!(pruned, 10);
        assert_eq!(
            db.read(|r| r.changes_since(SCOPE_ACCOUNTS, Modseq(0)))
                .unwrap(),
            ChangesSince::TooOld
        );
        assert!(matches!(
            db.read(|r| r.changes_since(SCOPE_ACCOUNTS, Modseq(2))).unwrap(),
            ChangesSince::Changes { ref changes, .. } if changes.is_empty()
        ));
        assert_eq!(
            db.read(|r| r.changes_since(SCOPE_ACCOUNTS, Modseq(99)))
                .unwrap(),
            ChangesSince::TooOld
        );
    }

    #[test]
    fn addresses_are_unique_and_any_one_finds_the_account() {
        let (_d, db) = open();
        let id = db.write(|w| w.create_account("a@x.test", "", "h")).unwrap();
        db.write(|w| w.add_address(&id, "alias@y.test")).unwrap();
        let other = db.write(|w| w.create_account("b@x.test", "", "h")).unwrap();
        let err = db
            .write(|w| w.add_address(&other, "alias@y.test"))
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(ref a) if a == "alias@y.test"));
        let acc = db
            .read(|r| r.account_by_address("alias@y.test"))
            .unwrap()
            .unwrap();
        assert_eq!(acc.id, id);
        assert_eq!(acc.addresses, vec!["a@x.test", "alias@y.test"]);
        assert_eq!(
            db.read(|r| r.addresses_in("y.test")).unwrap(),
            vec![("alias@y.test".to_string(), false)]
        );
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let (_d, db) = open();
        db.write(|w| w.create_account("a@x.test", "", "h").map(|_| ()))
            .unwrap();
        let before = db.read(|r| r.modseq()).unwrap();
        let err = db.write(|w| {
            w.create_account("b@x.test", "", "h")?;
            w.create_account("a@x.test", "", "h")
        });
        assert!(err.is_err());
        assert!(
            db.read(|r| r.account_by_address("b@x.test"))
                .unwrap()
                .is_none()
        );
        assert_eq!(db.read(|r| r.modseq()).unwrap(), before);
    }

    #[test]
    fn revoking_a_credential_bumps_the_serial() {
        let (_d, db) = open();
        let id = db.write(|w| w.create_account("a@x.test", "", "h")).unwrap();
        let s0 = db.read(|r| r.cred_serial(&id)).unwrap().unwrap();
        db.write(|w| w.create_credential(&id, CredentialKind::AppPassword, "phone", b"h1"))
            .unwrap();
        let owner = db
            .read(|r| r.credential_owner(CredentialKind::AppPassword, b"h1"))
            .unwrap();
        assert_eq!(owner.map(|o| o.0), Some(id.clone()));
        assert!(
            db.read(|r| r.credential_owner(CredentialKind::Token, b"h1"))
                .unwrap()
                .is_none()
        );
        db.write(|w| w.revoke_credential(&id, CredentialKind::AppPassword, "phone"))
            .unwrap();
        assert!(db.read(|r| r.cred_serial(&id)).unwrap().unwrap() > s0);
        assert!(
            db.read(|r| r.credential_owner(CredentialKind::AppPassword, b"h1"))
                .unwrap()
                .is_none()
        );
    }
}
