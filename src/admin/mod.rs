//! Administration of domains, aliases, users, addresses and credentials: the operations
//! behind the admin CLI (and the admin HTTP API to come). Every refusal is an
//! [`AdminError`] whose message says what is wrong and how to fix it.
//!
//! Blocking: the CLI calls these directly; the server calls them on blocking threads.
//! They work on a data folder that a running server may be using at the same time; the
//! server sees every change on its next request (it routes through the control database
//! and checks credential serials, see `auth/cache.rs`).

pub mod rights;

use std::sync::Arc;

use crate::auth::{self, secret};
use crate::names::{self, NameError};
use crate::store::domain::{Account, Credential, CredentialKind};
use crate::store::system::NameRoute;
use crate::store::{DomainDb, DomainRecord, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Name(#[from] NameError),
    #[error("domain {0} does not exist; create it with `domus domain add {0}`")]
    NoSuchDomain(String),
    #[error(
        "{name} is an alias of {main}, not a domain of its own; use the main name {main}, or remove the alias with `domus domain alias remove {main} {name}`"
    )]
    IsAlias { name: String, main: String },
    #[error(
        "the name {name} is already used by domain {owner}; choose another name, or remove it there first"
    )]
    NameTaken { name: String, owner: String },
    #[error("{alias} is not an alias of {domain}; see its aliases with `domus domain list`")]
    NoSuchAlias { alias: String, domain: String },
    #[error(
        "{count} user(s) of {domain} have their main address in {alias} (e.g. {example}); remove those users first"
    )]
    AliasInUse {
        alias: String,
        domain: String,
        count: usize,
        example: String,
    },
    #[error("no user has the address {0}; see the users with `domus user list {1}`")]
    NoSuchUser(String, String),
    #[error("the address {0} is already taken; choose another address")]
    AddressTaken(String),
    #[error(
        "{address} is not in domain {domain} or one of its aliases ({names}); add the alias first with `domus domain alias add {domain} {wanted}`"
    )]
    OutsideDomain {
        address: String,
        domain: String,
        names: String,
        wanted: String,
    },
    #[error("{0} has no {1} named {2}; list them with `domus {1} list {0}`")]
    NoSuchCredential(String, &'static str, String),
    #[error("{0} already has an {1} named {2}; pick another name, or revoke the old one first")]
    CredentialTaken(String, &'static str, String),
    #[error("the name must be 1 to 64 characters without control characters")]
    BadCredentialName,
    #[error("{0}")]
    Password(#[from] secret::SecretError),
    #[error("{0} has no calendar named {1}; list them with `domus calendar list {0}`")]
    NoSuchCalendar(String, String),
    #[error("{0} has no share link {1}; list them with `domus share list {0}`")]
    NoSuchShareLink(String, String),
    #[error("{0} has no subscription {1}; list them with `domus subscription list {0}`")]
    NoSuchSubscription(String, String),
    #[error("{0}")]
    Subscription(String),
    #[error("address books are shared by private links only: use --private")]
    BookLinkKind,
    #[error("{0} has no address book named {1}; list them with `domus addressbook list {0}`")]
    NoSuchAddressBook(String, String),
    #[error(
        "a group name is 1 to 64 characters: lower-case letters, digits, '.', '-' and '_' (got {0:?})"
    )]
    BadGroupName(String),
    #[error("{1} has no group named {0}; list them with `domus group list {1}`")]
    NoSuchGroup(String, String),
    #[error("{1} already has a group named {0}; pick another name")]
    GroupTaken(String, String),
    #[error(
        "{grantee} is outside {domain}: grants stay inside the domain; share across domains with a share link (`domus share create`)"
    )]
    GrantOutsideDomain { grantee: String, domain: String },
    #[error("{0} has no grant {1}; list them with `domus grant list {0}`")]
    NoSuchGrant(String, String),
    #[error("{0}")]
    BadGrant(String),
    #[error("storage error: {0}")]
    Store(#[from] StoreError),
}

pub type Result<T, E = AdminError> = std::result::Result<T, E>;

/// Finds the domain a name routes to, insisting on its main name.
pub(crate) fn main_domain(store: &Store, name: &str) -> Result<DomainRecord> {
    let name = names::domain_name(name)?;
    let route = store.system().read(|r| r.route(&name))?;
    match route {
        None => Err(AdminError::NoSuchDomain(name)),
        Some(NameRoute {
            is_alias: true,
            domain_name,
            ..
        }) => Err(AdminError::IsAlias {
            name,
            main: domain_name,
        }),
        Some(route) => store
            .system()
            .read(|r| r.domain_by_id(&route.domain_id))?
            .ok_or(AdminError::NoSuchDomain(name)),
    }
}

fn name_taken(store: &Store, name: &str) -> AdminError {
    match store.system().read(|r| r.route(name)) {
        Ok(Some(route)) => AdminError::NameTaken {
            name: name.into(),
            owner: route.domain_name,
        },
        _ => AdminError::NameTaken {
            name: name.into(),
            owner: "another domain".into(),
        },
    }
}

pub fn add_domain(store: &Store, name: &str, aliases: &[String]) -> Result<DomainRecord> {
    let name = names::domain_name(name)?;
    let mut clean = Vec::new();
    for a in aliases {
        let a = names::domain_name(a)?;
        if a != name && !clean.contains(&a) {
            clean.push(a);
        }
    }
    for n in std::iter::once(&name).chain(&clean) {
        if store.system().read(|r| r.route(n))?.is_some() {
            return Err(name_taken(store, n));
        }
    }
    store.create_domain(&name, &clean).map_err(|e| match e {
        StoreError::Conflict(n) => name_taken(store, &n),
        e => e.into(),
    })
}

pub fn list_domains(store: &Store) -> Result<Vec<DomainRecord>> {
    Ok(store.system().read(|r| r.domains())?)
}

pub fn remove_domain(store: &Store, name: &str) -> Result<DomainRecord> {
    let domain = main_domain(store, name)?;
    store.remove_domain(&domain.id)?;
    Ok(domain)
}

pub fn add_alias(store: &Store, domain: &str, alias: &str) -> Result<DomainRecord> {
    let d = main_domain(store, domain)?;
    let alias = names::domain_name(alias)?;
    store
        .system()
        .write(|w| w.add_alias(&d.id, &alias))
        .map_err(|e| match e {
            StoreError::Conflict(n) => name_taken(store, &n),
            e => e.into(),
        })?;
    main_domain(store, &d.name)
}

/// Removes an alias. Secondary addresses in it go with it; a user whose main address is
/// in it blocks the removal (the account would be left without a way to log in).
pub fn remove_alias(store: &Store, domain: &str, alias: &str) -> Result<DomainRecord> {
    let d = main_domain(store, domain)?;
    let alias = names::domain_name(alias)?;
    if !d.aliases.contains(&alias) {
        return Err(AdminError::NoSuchAlias {
            alias,
            domain: d.name,
        });
    }
    let db = store.domain(&d.id)?;
    let in_alias = db.read(|r| r.addresses_in(&alias))?;
    let primaries: Vec<&String> = in_alias
        .iter()
        .filter(|(_, p)| *p)
        .map(|(a, _)| a)
        .collect();
    if let Some(example) = primaries.first() {
        return Err(AdminError::AliasInUse {
            alias,
            domain: d.name,
            count: primaries.len(),
            example: example.to_string(),
        });
    }
    store.system().write(|w| w.remove_alias(&d.id, &alias))?;
    db.write(|w| {
        for (address, _) in &in_alias {
            w.remove_address(address)?;
        }
        Ok::<_, StoreError>(())
    })?;
    main_domain(store, &d.name)
}

/// The domain and its database for an address, checking that the address's name part
/// is the domain or one of its aliases.
pub(crate) fn domain_of(
    store: &Store,
    address: &names::Address,
) -> Result<(DomainRecord, Arc<DomainDb>)> {
    let route = store.system().read(|r| r.route(&address.domain))?;
    let Some(route) = route else {
        return Err(AdminError::NoSuchDomain(address.domain.clone()));
    };
    let record = store
        .system()
        .read(|r| r.domain_by_id(&route.domain_id))?
        .ok_or_else(|| AdminError::NoSuchDomain(address.domain.clone()))?;
    let db = store.domain(&route.domain_id)?;
    Ok((record, db))
}

pub(crate) fn account_of(
    store: &Store,
    address: &str,
) -> Result<(DomainRecord, Arc<DomainDb>, Account)> {
    let address = names::address(address)?;
    let (record, db) = domain_of(store, &address)?;
    let account = db
        .read(|r| r.account_by_address(&address.full))?
        .ok_or_else(|| AdminError::NoSuchUser(address.full.clone(), record.name.clone()))?;
    Ok((record, db, account))
}

/// Creates a user. Returns the account and, when no password was given, the generated one.
pub fn add_user(
    store: &Store,
    address: &str,
    password: Option<&str>,
) -> Result<(Account, Option<String>)> {
    let address = names::address(address)?;
    if address.local == crate::store::rights::DOMAIN_OWNER {
        // Reserved for the domain's own account (domain calendars and address books).
        return Err(AdminError::AddressTaken(address.full));
    }
    let (record, db) = domain_of(store, &address)?;
    let generated = password.is_none().then(secret::generate_password);
    let hash = secret::hash_password(password.or(generated.as_deref()).unwrap_or_default())?;
    let id = db
        .write(|w| w.create_account(&address.full, "", &hash))
        .map_err(|e| match e {
            StoreError::Conflict(_) => AdminError::AddressTaken(address.full.clone()),
            e => e.into(),
        })?;
    let account = db
        .read(|r| r.account(&id))?
        .ok_or_else(|| AdminError::NoSuchUser(address.full.clone(), record.name.clone()))?;
    Ok((account, generated))
}

pub fn list_users(store: &Store, domain: &str) -> Result<Vec<Account>> {
    let d = main_domain(store, domain)?;
    Ok(store.domain(&d.id)?.read(|r| r.accounts())?)
}

pub fn set_password(store: &Store, address: &str, password: &str) -> Result<Account> {
    let (_, db, account) = account_of(store, address)?;
    let hash = secret::hash_password(password)?;
    db.write(|w| w.set_password_hash(&account.id, &hash))?;
    Ok(account)
}

/// Sets a user's storage quota in bytes (None: unlimited). Returns the account and what
/// it uses now.
pub fn set_quota(store: &Store, address: &str, bytes: Option<i64>) -> Result<(Account, i64)> {
    let (_, db, account) = account_of(store, address)?;
    let used = db.write(|w| {
        w.set_quota(&account.id, bytes)?;
        w.account_usage(&account.id)
    })?;
    let account = db.read(|r| r.account(&account.id))?.unwrap_or(account);
    Ok((account, used))
}

/// Parses a size for `domus user quota`: `none`, or a number of bytes with an optional
/// K, M, G or T suffix (powers of 1024).
pub fn parse_size(text: &str) -> Option<Option<i64>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unlimited") {
        return Some(None);
    }
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&t[..i], t[i..].trim().to_ascii_uppercase()),
        None => (t, String::new()),
    };
    let n: i64 = digits.parse().ok()?;
    let factor: i64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(factor).map(Some)
}

/// Removes an account with everything it owns. Its grants go first, in the same
/// transaction, so every sharee's home records that the shared collection went (the
/// foreign keys would drop them silently).
pub fn remove_user(store: &Store, address: &str) -> Result<Account> {
    let (_, db, account) = account_of(store, address)?;
    db.write(|w| {
        for g in w.grants_by_owner(&account.id)? {
            w.delete_grant(&g.id)?;
        }
        w.delete_account(&account.id)
    })?;
    Ok(account)
}

/// Gives an account one more address, in its domain or one of the domain's aliases.
pub fn add_address(store: &Store, address: &str, other: &str) -> Result<Account> {
    let (record, db, account) = account_of(store, address)?;
    let other = names::address(other)?;
    if other.local == crate::store::rights::DOMAIN_OWNER {
        // Reserved for the domain's own account (domain calendars and address books).
        return Err(AdminError::AddressTaken(other.full));
    }
    let in_domain = other.domain == record.name || record.aliases.contains(&other.domain);
    if !in_domain {
        let mut all = vec![record.name.clone()];
        all.extend(record.aliases.iter().cloned());
        return Err(AdminError::OutsideDomain {
            address: other.full,
            names: all.join(", "),
            domain: record.name,
            wanted: other.domain,
        });
    }
    db.write(|w| w.add_address(&account.id, &other.full))
        .map_err(|e| match e {
            StoreError::Conflict(_) => AdminError::AddressTaken(other.full.clone()),
            e => e.into(),
        })?;
    Ok(db.read(|r| r.account(&account.id))?.unwrap_or(account))
}

fn kind_word(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::AppPassword => "app-password",
        CredentialKind::Token => "token",
    }
}

/// Checks the name of an app password or token and trims it.
pub fn credential_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(AdminError::BadCredentialName);
    }
    Ok(name)
}

/// Creates an app password or token; the secret is returned once and stored only hashed.
pub fn create_credential(
    store: &Store,
    address: &str,
    kind: CredentialKind,
    name: &str,
) -> Result<(Credential, String)> {
    let (_, db, account) = account_of(store, address)?;
    let name = credential_name(name)?;
    auth::issue_credential(&db, &account.id, kind, name).map_err(|e| match e {
        StoreError::Conflict(_) => AdminError::CredentialTaken(
            account.primary_address.clone(),
            match kind {
                CredentialKind::AppPassword => "app password",
                CredentialKind::Token => "API token",
            },
            name.into(),
        ),
        e => e.into(),
    })
}

pub fn list_credentials(
    store: &Store,
    address: &str,
    kind: CredentialKind,
) -> Result<Vec<Credential>> {
    let (_, db, account) = account_of(store, address)?;
    Ok(db.read(|r| r.credentials(&account.id, kind))?)
}

pub fn revoke_credential(
    store: &Store,
    address: &str,
    kind: CredentialKind,
    name: &str,
) -> Result<()> {
    let (_, db, account) = account_of(store, address)?;
    db.write(|w| w.revoke_credential(&account.id, kind, name))
        .map_err(|e| match e {
            StoreError::NotFound(_) => AdminError::NoSuchCredential(
                account.primary_address.clone(),
                kind_word(kind),
                name.into(),
            ),
            e => e.into(),
        })
}

/// First start on an empty data folder: the domain `localhost` with the platform admin
/// `admin@localhost`. Returns the generated password, to be shown once.
pub fn bootstrap(store: &Store) -> Result<Option<String>> {
    if store.system().read(|r| r.domain_count())? > 0 {
        return Ok(None);
    }
    add_domain(store, "localhost", &[])?;
    let (account, password) = add_user(store, "admin@localhost", None)?;
    store
        .system()
        .write(|w| w.add_platform_admin(&account.primary_address))?;
    Ok(password)
}

/// An address book as `domus addressbook list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressBookInfo {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub cards: i64,
}

/// The address books of a user.
pub fn addressbooks(store: &Store, address: &str) -> Result<Vec<AddressBookInfo>> {
    let (_, db, account) = account_of(store, address)?;
    Ok(db.read(|r| -> std::result::Result<_, StoreError> {
        let mut out = Vec::new();
        for b in r.addressbooks(&account.id)? {
            out.push(AddressBookInfo {
                id: b.id,
                display_name: crate::carddav::display_name(r, &b)?,
                cards: r.card_count(b.id)?,
                name: b.name,
            });
        }
        Ok(out)
    })?)
}

fn addressbook_of(
    store: &Store,
    address: &str,
    book: &str,
) -> Result<(Arc<DomainDb>, crate::store::contacts::AddressBook)> {
    let (_, db, account) = account_of(store, address)?;
    let found = db.read(|r| r.addressbook(&account.id, book))?;
    let book = found.ok_or_else(|| {
        AdminError::NoSuchAddressBook(account.primary_address.clone(), book.to_string())
    })?;
    Ok((db, book))
}

/// Every card of a user's book as one multi-vCard text.
pub fn export_addressbook(
    store: &Store,
    address: &str,
    book: &str,
    version: crate::groupware::vcard::VcardVersion,
) -> Result<String> {
    let (db, book) = addressbook_of(store, address, book)?;
    Ok(db.read(|r| crate::carddav::exchange::export(r, &book, version))?)
}

/// Imports a multi-vCard file into a user's book (see `carddav::exchange::import`).
pub fn import_addressbook(
    store: &Store,
    address: &str,
    book: &str,
    bytes: &[u8],
    opts: crate::carddav::exchange::ImportOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> std::result::Result<crate::carddav::exchange::ImportReport, ImportFailure> {
    let (db, book) = addressbook_of(store, address, book)?;
    db.write(|w| -> std::result::Result<_, ImportFailure> {
        crate::carddav::exchange::import(w, &book, bytes, opts, progress)
            .map_err(ImportFailure::Import)
    })
}

/// Why an import failed: the file (with the invalid cards), or the command.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    #[error(transparent)]
    Import(crate::carddav::exchange::ImportError),
    #[error(transparent)]
    Admin(#[from] AdminError),
}

impl From<StoreError> for ImportFailure {
    fn from(e: StoreError) -> Self {
        ImportFailure::Admin(AdminError::Store(e))
    }
}

impl From<crate::sharing::ShareError> for AdminError {
    fn from(e: crate::sharing::ShareError) -> Self {
        match e {
            crate::sharing::ShareError::NoSuchCalendar(a, c) => AdminError::NoSuchCalendar(a, c),
            crate::sharing::ShareError::NoSuchLink(a, l) => AdminError::NoSuchShareLink(a, l),
            crate::sharing::ShareError::NoSuchAddressBook(a, b) => {
                AdminError::NoSuchAddressBook(a, b)
            }
            crate::sharing::ShareError::BookKind => AdminError::BookLinkKind,
            crate::sharing::ShareError::Store(e) => AdminError::Store(e),
        }
    }
}

/// A calendar as `domus calendar list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarInfo {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub components: Vec<String>,
}

/// The calendars of a user.
pub fn calendars(store: &Store, address: &str) -> Result<Vec<CalendarInfo>> {
    let (_, db, account) = account_of(store, address)?;
    Ok(db.read(|r| -> std::result::Result<_, StoreError> {
        let mut out = Vec::new();
        for c in r.calendars(&account.id)? {
            out.push(CalendarInfo {
                id: c.id,
                display_name: crate::caldav::display_name_of(r, &c)?,
                name: c.name,
                components: c.components,
            });
        }
        Ok(out)
    })?)
}

/// Creates a share link to one of a user's calendars or address books (its name as in
/// its URL).
pub fn create_share_link(
    store: &Store,
    address: &str,
    target: crate::sharing::Target<'_>,
    kind: crate::store::shares::LinkKind,
) -> Result<crate::sharing::NewLink> {
    let (record, db, account) = account_of(store, address)?;
    Ok(crate::sharing::create_link(
        store,
        &record.id,
        &db,
        &account.id,
        &account.primary_address,
        target,
        kind,
    )?)
}

pub fn list_share_links(store: &Store, address: &str) -> Result<Vec<crate::sharing::LinkInfo>> {
    let (_, db, account) = account_of(store, address)?;
    Ok(db.read(|r| crate::sharing::list_links(r, &account.id))?)
}

pub fn revoke_share_link(
    store: &Store,
    address: &str,
    id: &str,
) -> Result<crate::store::shares::ShareLink> {
    let (record, db, account) = account_of(store, address)?;
    Ok(crate::sharing::revoke_link(
        store,
        &record.id,
        &db,
        &account.id,
        &account.primary_address,
        id,
    )?)
}

pub fn rotate_share_link(
    store: &Store,
    address: &str,
    id: &str,
) -> Result<crate::sharing::NewLink> {
    let (record, db, account) = account_of(store, address)?;
    Ok(crate::sharing::rotate_link(
        store,
        &record.id,
        &db,
        &account.id,
        &account.primary_address,
        id,
    )?)
}

impl From<crate::sharing::subscriptions::SubscriptionError> for AdminError {
    fn from(e: crate::sharing::subscriptions::SubscriptionError) -> Self {
        match e {
            crate::sharing::subscriptions::SubscriptionError::Store(e) => AdminError::Store(e),
            crate::sharing::subscriptions::SubscriptionError::NoSuchSubscription(a, id) => {
                AdminError::NoSuchSubscription(a, id)
            }
            other => AdminError::Subscription(other.to_string()),
        }
    }
}

/// Subscribes a user to a feed URL; the running server fetches it within seconds.
pub fn add_subscription(
    store: &Store,
    address: &str,
    url: &str,
    name: Option<&str>,
    addressbook: bool,
) -> Result<crate::sharing::subscriptions::SubscriptionInfo> {
    let (record, db, account) = account_of(store, address)?;
    let collection = if addressbook {
        crate::store::shares::Collection::Addressbook
    } else {
        crate::store::shares::Collection::Calendar
    };
    Ok(crate::sharing::subscriptions::add(
        store,
        &record.id,
        &db,
        &account.id,
        url,
        name,
        None,
        collection,
        crate::sharing::DEFAULT_REFRESH_SECS as i64,
    )?)
}

pub fn list_subscriptions(
    store: &Store,
    address: &str,
) -> Result<Vec<crate::sharing::subscriptions::SubscriptionInfo>> {
    let (_, db, account) = account_of(store, address)?;
    Ok(crate::sharing::subscriptions::list(&db, &account.id)?)
}

pub fn remove_subscription(store: &Store, address: &str, id: &str) -> Result<()> {
    let (record, db, account) = account_of(store, address)?;
    Ok(crate::sharing::subscriptions::remove(
        store,
        &record.id,
        &db,
        &account.id,
        &account.primary_address,
        id,
    )?)
}

/// Makes a subscription due now: the running server fetches it within seconds.
pub fn refresh_subscription(store: &Store, address: &str, id: &str) -> Result<()> {
    let (record, db, account) = account_of(store, address)?;
    match db.read(|r| r.subscription(id))? {
        Some(s) if s.account == account.id => {}
        _ => {
            return Err(AdminError::NoSuchSubscription(
                account.primary_address.clone(),
                id.to_string(),
            ));
        }
    }
    store
        .system()
        .write(|w| w.set_subscription_due(&record.id, id, 0, false))?;
    Ok(())
}
