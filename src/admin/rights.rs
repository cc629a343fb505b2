//! Rights inside a domain: domain admins, groups, and grants of calendars and address
//! books (the operations behind `domus user admin`, `domus group …`, `domus grant …` and
//! their HTTP API). A grantee is looked up in the owner's domain only: an address of
//! another domain is refused, so grants never leave the domain.

use super::{AdminError, Result, account_of, main_domain};
use crate::names;
use crate::store::domain::Account;
use crate::store::rights::{Grant, Grantee, Group, Level};
use crate::store::shares::Collection;
use crate::store::{AccountId, DomainDb, DomainRecord, Store, StoreError};

/// Checks and lower-cases a group name.
pub fn group_name(name: &str) -> Result<String> {
    let n = name.trim().to_ascii_lowercase();
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(n)
    } else {
        Err(AdminError::BadGroupName(name.to_string()))
    }
}

/// Makes a user a domain admin (manages groups and domain collections), or not.
pub fn set_domain_admin(store: &Store, address: &str, on: bool) -> Result<Account> {
    let (_, db, account) = account_of(store, address)?;
    db.write(|w| w.set_domain_admin(&account.id, on))?;
    Ok(account)
}

pub fn add_group(db: &DomainDb, domain: &str, name: &str) -> Result<Group> {
    let name = group_name(name)?;
    db.write(|w| -> std::result::Result<_, StoreError> {
        let id = w.create_group(&name)?;
        w.group_by_id(id)?
            .ok_or_else(|| StoreError::NotFound(name.clone()))
    })
    .map_err(|e| match e {
        StoreError::Conflict(_) => AdminError::GroupTaken(name.clone(), domain.to_string()),
        e => e.into(),
    })
}

fn group_of(db: &DomainDb, domain: &str, name: &str) -> Result<Group> {
    let name = group_name(name)?;
    db.read(|r| r.group_by_name(&name))?
        .ok_or_else(|| AdminError::NoSuchGroup(name, domain.to_string()))
}

pub fn remove_group(db: &DomainDb, domain: &str, name: &str) -> Result<Group> {
    let g = group_of(db, domain, name)?;
    db.write(|w| w.delete_group(g.id))?;
    Ok(g)
}

/// An account of the domain `record` by one of its addresses; an address of another
/// domain is refused as outside it.
fn member_account(record: &DomainRecord, db: &DomainDb, address: &str) -> Result<Account> {
    let a = names::address(address)?;
    if a.domain != record.name && !record.aliases.contains(&a.domain) {
        return Err(AdminError::GrantOutsideDomain {
            grantee: a.full,
            domain: record.name.clone(),
        });
    }
    db.read(|r| r.account_by_address(&a.full))?
        .ok_or_else(|| AdminError::NoSuchUser(a.full.clone(), record.name.clone()))
}

/// Adds (or, with `add` false, removes) a member; returns the group as it is now.
pub fn group_member(
    record: &DomainRecord,
    db: &DomainDb,
    name: &str,
    address: &str,
    add: bool,
) -> Result<Group> {
    let g = group_of(db, &record.name, name)?;
    let account = member_account(record, db, address)?;
    let changed = db.write(|w| {
        if add {
            w.add_group_member(g.id, &account.id)
        } else {
            w.remove_group_member(g.id, &account.id)
        }
    })?;
    if !add && !changed {
        return Err(AdminError::BadGrant(format!(
            "{} is not a member of {}; see the members with `domus group list {}`",
            account.primary_address, g.name, record.name
        )));
    }
    group_of(db, &record.name, &g.name)
}

pub fn groups(db: &DomainDb) -> Result<Vec<Group>> {
    Ok(db.read(|r| r.groups())?)
}

/// The CLI's view of a domain: its record and database, by main name.
pub fn domain_db(store: &Store, domain: &str) -> Result<(DomainRecord, std::sync::Arc<DomainDb>)> {
    let d = main_domain(store, domain)?;
    let db = store.domain(&d.id)?;
    Ok((d, db))
}

/// A grant as the CLI and the API show it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantInfo {
    pub id: String,
    /// `calendar` or `addressbook`.
    pub collection: Collection,
    /// The collection's name as in its URL.
    pub name: String,
    /// An address, `group:NAME`, or `everyone`.
    pub to: String,
    pub level: Level,
    pub created_at: i64,
    /// For a grant made by a CalendarServer invite (`CS:share`): `noresponse` (not in
    /// force yet), `accepted` or `declined` (not in force). Absent for grants made here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite: Option<crate::store::rights::InviteStatus>,
}

/// Parses `--to`: an address, `group:NAME`, or `everyone`.
pub fn parse_grantee(record: &DomainRecord, db: &DomainDb, to: &str) -> Result<Grantee> {
    let to = to.trim();
    if to.eq_ignore_ascii_case("everyone") {
        return Ok(Grantee::Domain);
    }
    if let Some(g) = to.strip_prefix("group:") {
        return Ok(Grantee::Group(group_of(db, &record.name, g)?.id));
    }
    Ok(Grantee::Account(member_account(record, db, to)?.id))
}

fn info(r: &crate::store::domain::DomainRead<'_>, g: &Grant) -> Result<GrantInfo, StoreError> {
    let name = match g.collection {
        Collection::Calendar => r
            .calendars(&g.owner)?
            .into_iter()
            .find(|c| c.id == g.collection_id)
            .map(|c| c.name),
        Collection::Addressbook => r.addressbook_by_id(g.collection_id)?.map(|b| b.name),
    }
    .unwrap_or_default();
    let to = match &g.grantee {
        Grantee::Domain => "everyone".to_string(),
        Grantee::Group(id) => format!(
            "group:{}",
            r.group_by_id(*id)?.map(|g| g.name).unwrap_or_default()
        ),
        Grantee::Account(a) => r.account(a)?.map(|a| a.primary_address).unwrap_or_default(),
    };
    Ok(GrantInfo {
        id: g.id.clone(),
        collection: g.collection,
        name,
        to,
        level: g.level,
        created_at: g.created_at,
        invite: g.invite,
    })
}

/// Grants the owner's calendar or address book (by its name as in its URL).
pub fn add_grant(
    record: &DomainRecord,
    db: &DomainDb,
    owner: &Account,
    target: crate::sharing::Target<'_>,
    to: &str,
    level: Level,
) -> Result<GrantInfo> {
    let grantee = parse_grantee(record, db, to)?;
    if grantee == Grantee::Account(owner.id.clone()) {
        return Err(AdminError::BadGrant(format!(
            "{} owns it already; grant it to someone else",
            owner.primary_address
        )));
    }
    let (collection, id) = match target {
        crate::sharing::Target::Calendar(name) => {
            let c = db.read(|r| r.calendar(&owner.id, name))?.ok_or_else(|| {
                AdminError::NoSuchCalendar(owner.primary_address.clone(), name.to_string())
            })?;
            (Collection::Calendar, c.id)
        }
        crate::sharing::Target::AddressBook(name) => {
            if level == Level::Freebusy {
                return Err(AdminError::BadGrant(
                    "address books have no free/busy times; grant read, write or manage".into(),
                ));
            }
            let b = db
                .read(|r| r.addressbook(&owner.id, name))?
                .ok_or_else(|| {
                    AdminError::NoSuchAddressBook(owner.primary_address.clone(), name.to_string())
                })?;
            (Collection::Addressbook, b.id)
        }
    };
    Ok(db.write(|w| -> std::result::Result<_, StoreError> {
        let g = w.put_grant(&owner.id, collection, id, &grantee, level)?;
        info(w, &g)
    })?)
}

pub fn list_grants(db: &DomainDb, owner: &AccountId) -> Result<Vec<GrantInfo>> {
    Ok(db.read(|r| -> std::result::Result<_, StoreError> {
        r.grants_by_owner(owner)?
            .iter()
            .map(|g| info(r, g))
            .collect()
    })?)
}

pub fn remove_grant(db: &DomainDb, owner: &Account, id: &str) -> Result<GrantInfo> {
    let found = db.read(|r| -> std::result::Result<_, StoreError> {
        match r.grant(id)? {
            Some(g) if g.owner == owner.id => Ok(Some(info(r, &g)?)),
            _ => Ok(None),
        }
    })?;
    let Some(g) = found else {
        return Err(AdminError::NoSuchGrant(
            owner.primary_address.clone(),
            id.to_string(),
        ));
    };
    db.write(|w| w.delete_grant(id))?;
    Ok(g)
}

/// `domus grant add`: by the owner's address.
pub fn add_grant_for(
    store: &Store,
    owner: &str,
    target: crate::sharing::Target<'_>,
    to: &str,
    level: Level,
) -> Result<GrantInfo> {
    let (record, db, account) = account_of(store, owner)?;
    add_grant(&record, &db, &account, target, to, level)
}

pub fn list_grants_for(store: &Store, owner: &str) -> Result<Vec<GrantInfo>> {
    let (_, db, account) = account_of(store, owner)?;
    list_grants(&db, &account.id)
}

pub fn remove_grant_for(store: &Store, owner: &str, id: &str) -> Result<GrantInfo> {
    let (_, db, account) = account_of(store, owner)?;
    remove_grant(&db, &account, id)
}

/// A domain calendar or address book as the CLI and the API show it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainCollection {
    pub collection: Collection,
    pub name: String,
    /// The name under which it appears in every user's home.
    pub member_name: String,
    /// The domain's own account, which owns it.
    pub owner: String,
    pub grants: Vec<GrantInfo>,
}

/// Creates a domain calendar or address book: owned by the domain's own account
/// (`_domain@<domain>`, made on first use), readable by everyone in the domain, writable
/// by `writers` (addresses of the domain or `group:NAME`). Everything in one transaction.
pub fn add_domain_collection(
    record: &DomainRecord,
    db: &DomainDb,
    target: crate::sharing::Target<'_>,
    writers: &[String],
) -> Result<DomainCollection> {
    let (name, collection) = match target {
        crate::sharing::Target::Calendar(n) => (n, Collection::Calendar),
        crate::sharing::Target::AddressBook(n) => (n, Collection::Addressbook),
    };
    let name = collection_name(name)?;
    let mut grantees = Vec::new();
    for w in writers {
        if w.trim().eq_ignore_ascii_case("everyone") {
            grantees.push(Grantee::Domain);
        } else {
            grantees.push(parse_grantee(record, db, w)?);
        }
    }
    let owner_address = format!("{}@{}", crate::store::rights::DOMAIN_OWNER, record.name);
    let display = format!(
        "<D:displayname xmlns:D=\"DAV:\">{}</D:displayname>",
        crate::dav::xml::escape_text(&name)
    );
    let props = vec![("DAV:".to_string(), "displayname".to_string(), Some(display))];
    let taken = || {
        AdminError::BadGrant(format!(
            "{} already has a domain {} named {name}; pick another name",
            record.name,
            match collection {
                Collection::Calendar => "calendar",
                Collection::Addressbook => "address book",
            }
        ))
    };
    let grants = db
        .write(|w| -> std::result::Result<_, StoreError> {
            let owner = w.ensure_domain_owner(&owner_address)?;
            let id = match collection {
                Collection::Calendar => {
                    w.create_calendar(&owner, &name, &["VEVENT".to_string()], &props)?
                        .id
                }
                Collection::Addressbook => w.create_addressbook(&owner, &name, &props)?.id,
            };
            let mut out =
                vec![w.put_grant(&owner, collection, id, &Grantee::Domain, Level::Read)?];
            for g in &grantees {
                out.push(w.put_grant(&owner, collection, id, g, Level::Write)?);
            }
            out.iter()
                .map(|g| info(w, g))
                .collect::<std::result::Result<Vec<_>, _>>()
        })
        .map_err(|e| match e {
            StoreError::Conflict(_) => taken(),
            e => e.into(),
        })?;
    Ok(DomainCollection {
        collection,
        member_name: crate::dav::mount_name(&owner_address, &name),
        name,
        owner: owner_address,
        grants,
    })
}

/// The domain's calendars and address books with their grants.
pub fn domain_collections(record: &DomainRecord, db: &DomainDb) -> Result<Vec<DomainCollection>> {
    let Some(owner) = db.read(|r| r.domain_owner())? else {
        return Ok(Vec::new());
    };
    let owner_address = format!("{}@{}", crate::store::rights::DOMAIN_OWNER, record.name);
    let grants = list_grants(db, &owner)?;
    let mut out: Vec<DomainCollection> = Vec::new();
    let (cals, books) = db.read(|r| -> std::result::Result<_, StoreError> {
        Ok((r.calendars(&owner)?, r.addressbooks(&owner)?))
    })?;
    let entries = cals
        .into_iter()
        .map(|c| (Collection::Calendar, c.name))
        .chain(books.into_iter().map(|b| (Collection::Addressbook, b.name)));
    for (collection, name) in entries {
        out.push(DomainCollection {
            collection,
            member_name: crate::dav::mount_name(&owner_address, &name),
            grants: grants
                .iter()
                .filter(|g| g.collection == collection && g.name == name)
                .cloned()
                .collect(),
            owner: owner_address.clone(),
            name,
        });
    }
    Ok(out)
}

/// Checks a collection name for its URL: 1 to 64 lower-case letters, digits, '.', '-'
/// and '_', not starting with '.'.
pub fn collection_name(name: &str) -> Result<String> {
    let n = name.trim().to_ascii_lowercase();
    let ok = !n.is_empty()
        && n.len() <= 64
        && !n.starts_with('.')
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(n)
    } else {
        Err(AdminError::BadGrant(format!(
            "a collection name is 1 to 64 characters: lower-case letters, digits, '.', '-' and '_' (got {name:?})"
        )))
    }
}

/// The collection whose grants `caller` manages under `key` (a calendar's name, an
/// address book's id), with its owner and its name: the caller's own, one shared with
/// the caller at `manage` (a calendar by its name in the caller's home), or, for a
/// domain admin, a domain collection. None when there is no such collection or the
/// caller may not manage it (the API answers both alike).
pub fn managed_target(
    db: &DomainDb,
    caller: &Account,
    collection: Collection,
    key: &str,
) -> Result<Option<(Account, String)>> {
    Ok(db.read(|r| -> std::result::Result<_, StoreError> {
        let is_admin = r.is_domain_admin(&caller.id)?;
        let domain_owner = r.domain_owner()?;
        let may_manage = |owner: &AccountId, level: Option<Level>| {
            *owner == caller.id
                || level >= Some(Level::Manage)
                || (is_admin && Some(owner) == domain_owner.as_ref())
        };
        match collection {
            Collection::Calendar => {
                if r.calendar(&caller.id, key)?.is_some() {
                    return Ok(Some((caller.clone(), key.to_string())));
                }
                for (owner, address, name, level) in r.shared_with(&caller.id, collection)? {
                    if crate::dav::mount_name(&address, &name) == key
                        && may_manage(&owner, Some(level))
                    {
                        return Ok(r.account(&owner)?.map(|a| (a, name)));
                    }
                }
                Ok(None)
            }
            Collection::Addressbook => {
                let Ok(id) = key.parse::<i64>() else {
                    return Ok(None);
                };
                let Some(book) = r.addressbook_by_id(id)? else {
                    return Ok(None);
                };
                let level = r.access_level(collection, id, &caller.id)?;
                if may_manage(&book.account, level) {
                    return Ok(r.account(&book.account)?.map(|a| (a, book.name)));
                }
                Ok(None)
            }
        }
    })?)
}
