//! Sharing across domains through explicit doors: share links. A link opens one calendar
//! (as a `public`, `private` or `freebusy` iCalendar feed) to anyone holding its token, at
//! `/share/<token>.ics`. Tokens carry 256 random bits, are shown once, and are stored only
//! as SHA-256 (the domain's `share_link` and the control database's `share_token` index).
//!
//! Blocking: the CLI calls these directly, the server on blocking threads.

use std::sync::Arc;

use crate::auth::secret::{generate_token_secret, secret_hash};
use crate::groupware::feed::{self, Visibility};
use crate::groupware::filter::TimeRange;
use crate::groupware::freebusy;
use crate::groupware::ical::FloatingZone;
use crate::store::calendars::{Calendar, calendar_scope};
use crate::store::domain::{DomainRead, DomainWrite};
use crate::store::shares::{Collection, LinkKind, ShareLink, new_link_id};
use crate::store::{AccountId, DomainDb, DomainId, Store, StoreError};

pub mod cache;
pub mod fetch;
pub mod subscriptions;

/// How often subscribers should refresh a feed (RFC 7986 REFRESH-INTERVAL, X-PUBLISHED-TTL,
/// and the HTTP max-age), unless configured otherwise.
pub const DEFAULT_REFRESH_SECS: u64 = 3600;

/// A link just made (or rotated): the only time its token is known.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub link: ShareLink,
    pub token: String,
}

impl NewLink {
    /// The feed's path: `/share/<token>.ics` (`.vcf` for address books).
    pub fn path(&self) -> String {
        feed_path(&self.token, self.link.collection)
    }
}

pub fn feed_path(token: &str, collection: Collection) -> String {
    let ext = match collection {
        Collection::Calendar => "ics",
        Collection::Addressbook => "vcf",
    };
    format!("/share/{token}.{ext}")
}

/// What a new link opens: a calendar or an address book, by its name as in its URL.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Calendar(&'a str),
    AddressBook(&'a str),
}

#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("{0} has no calendar named {1}")]
    NoSuchCalendar(String, String),
    #[error("{0} has no address book named {1}")]
    NoSuchAddressBook(String, String),
    #[error("address books are shared by private links only (a vCard feed of every card)")]
    BookKind,
    #[error("{0} has no share link {1}")]
    NoSuchLink(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a link to `calendar` of `account`.
pub fn create_calendar_link(
    store: &Store,
    domain: &DomainId,
    db: &DomainDb,
    account: &AccountId,
    owner: &str,
    calendar: &str,
    kind: LinkKind,
) -> Result<NewLink, ShareError> {
    create_link(
        store,
        domain,
        db,
        account,
        owner,
        Target::Calendar(calendar),
        kind,
    )
}

/// Creates a link: the domain's row first, then the index.
pub fn create_link(
    store: &Store,
    domain: &DomainId,
    db: &DomainDb,
    account: &AccountId,
    owner: &str,
    target: Target<'_>,
    kind: LinkKind,
) -> Result<NewLink, ShareError> {
    let token = generate_token_secret();
    let hash = secret_hash(&token);
    let id = new_link_id();
    let link = db.write(|w| -> Result<ShareLink, ShareError> {
        let (collection, collection_id) = match target {
            Target::Calendar(name) => {
                let c = w.calendar(account, name)?.ok_or_else(|| {
                    ShareError::NoSuchCalendar(owner.to_string(), name.to_string())
                })?;
                (Collection::Calendar, c.id)
            }
            Target::AddressBook(name) => {
                if kind != LinkKind::Private {
                    return Err(ShareError::BookKind);
                }
                let b = w.addressbook(account, name)?.ok_or_else(|| {
                    ShareError::NoSuchAddressBook(owner.to_string(), name.to_string())
                })?;
                (Collection::Addressbook, b.id)
            }
        };
        Ok(w.create_share_link(&id, account, collection, collection_id, kind, &hash)?)
    })?;
    if let Err(e) = store
        .system()
        .write(|w| w.insert_share_token(&hash, domain, &id))
    {
        let _ = db.write(|w| w.delete_share_link(&id));
        return Err(e.into());
    }
    Ok(NewLink { link, token })
}

fn own_link(
    w: &DomainRead<'_>,
    account: &AccountId,
    owner: &str,
    id: &str,
) -> Result<ShareLink, ShareError> {
    match w.share_link(id)? {
        Some(l) if &l.account == account => Ok(l),
        _ => Err(ShareError::NoSuchLink(owner.to_string(), id.to_string())),
    }
}

/// Revokes a link: the index first (the token stops working at once), then the row.
pub fn revoke_link(
    store: &Store,
    domain: &DomainId,
    db: &DomainDb,
    account: &AccountId,
    owner: &str,
    id: &str,
) -> Result<ShareLink, ShareError> {
    let link = db.read(|r| own_link(r, account, owner, id))?;
    store
        .system()
        .write(|w| w.delete_share_tokens(domain, id))?;
    db.write(|w| w.delete_share_link(id))?;
    Ok(link)
}

/// Gives a link a new token; the old one stops working.
pub fn rotate_link(
    store: &Store,
    domain: &DomainId,
    db: &DomainDb,
    account: &AccountId,
    owner: &str,
    id: &str,
) -> Result<NewLink, ShareError> {
    db.read(|r| own_link(r, account, owner, id))?;
    let token = generate_token_secret();
    let hash = secret_hash(&token);
    store.system().write(|w| {
        w.delete_share_tokens(domain, id)?;
        w.insert_share_token(&hash, domain, id)
    })?;
    let link = db.write(|w| -> Result<ShareLink, ShareError> {
        w.set_share_token(id, &hash)?;
        own_link(w, account, owner, id)
    })?;
    Ok(NewLink { link, token })
}

/// A link with the name of what it opens, for listings.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkInfo {
    pub id: String,
    pub collection: Collection,
    /// The calendar's (or book's) name as in its URL; None when it is gone.
    pub name: Option<String>,
    pub kind: LinkKind,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub fn list_links(r: &DomainRead<'_>, account: &AccountId) -> Result<Vec<LinkInfo>, StoreError> {
    let calendars = r.calendars(account)?;
    let books = r.addressbooks(account)?;
    Ok(r.share_links(account)?
        .into_iter()
        .map(|l| {
            let name = match l.collection {
                Collection::Calendar => calendars
                    .iter()
                    .find(|c| c.id == l.collection_id)
                    .map(|c| c.name.clone()),
                Collection::Addressbook => books
                    .iter()
                    .find(|b| b.id == l.collection_id)
                    .map(|b| b.name.clone()),
            };
            LinkInfo {
                id: l.id,
                collection: l.collection,
                name,
                kind: l.kind,
                created_at: l.created_at,
                last_used_at: l.last_used_at,
            }
        })
        .collect())
}

/// What a token opens, if it is live: the domain, and the link as the domain confirms it.
pub fn resolve(
    store: &Store,
    token: &str,
) -> Result<Option<(Arc<DomainDb>, ShareLink)>, StoreError> {
    let hash = secret_hash(token);
    let Some((domain, id)) = store.system().read(|r| r.share_route(&hash))? else {
        return Ok(None);
    };
    let db = match store.domain(&domain) {
        Ok(db) => db,
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let link = db.read(|r| r.share_link(&id))?;
    Ok(link
        .filter(|l| l.token_hash.as_slice() == hash.as_slice())
        .map(|l| (db, l)))
}

/// A rendered feed with what its caching headers need.
#[derive(Debug, Clone)]
pub struct Feed {
    /// None when the caller's copy is current (its `fresh` check held): nothing rendered.
    pub body: Option<String>,
    /// Strong, quoted: changes whenever what the feed shows may change.
    pub etag: String,
    /// Unix seconds of the collection's last change (creation when none).
    pub last_modified: i64,
    pub content_type: &'static str,
}

/// A feed's validators are known from the index before anything is rendered: `fresh`
/// says whether the caller's copy (ETag, Last-Modified) is current.
pub type Fresh<'a> = &'a dyn Fn(&str, i64) -> bool;

/// The calendar feed of a link (a calendar link, its calendar present), rendered from
/// what the index and the stored objects say now, unless `fresh` says the caller's copy is
/// current. `refresh_secs` goes into the feed.
pub fn calendar_feed(
    r: &DomainRead<'_>,
    link: &ShareLink,
    refresh_secs: u64,
    now: i64,
    fresh: Fresh<'_>,
) -> Result<Option<Feed>, StoreError> {
    let Some(calendar) = calendar_by_id(r, link)? else {
        return Ok(None);
    };
    let Some(owner) = r.account(&link.account)? else {
        return Ok(None);
    };
    let (modseq, changed_at) = r.scope_state(&calendar_scope(calendar.id))?;
    let etag = format!("\"{}-{}-{}\"", link.kind.as_str(), calendar.id, modseq.0);
    let last_modified = changed_at
        .unwrap_or(calendar.modified_at)
        .max(calendar.modified_at);
    let content_type = "text/calendar; charset=utf-8";
    if fresh(&etag, last_modified) {
        return Ok(Some(Feed {
            body: None,
            etag,
            last_modified,
            content_type,
        }));
    }
    let name = crate::caldav::display_name_of(r, &calendar)?;
    let objects = r.calendar_all_data(calendar.id)?;
    let body = match link.kind {
        LinkKind::Freebusy => {
            // A year back and two ahead: what a free/busy subscriber plans with.
            let range = TimeRange {
                start: Some(now - 366 * 86_400),
                end: Some(now + 2 * 366 * 86_400),
            };
            let shown: Vec<String> = objects
                .iter()
                .filter_map(|o| {
                    feed::filter_object(o, Visibility::Private, &lower(&owner.addresses))
                })
                .collect();
            let bytes: Vec<&[u8]> = shown.iter().map(|s| s.as_bytes()).collect();
            let periods = freebusy::busy_periods(
                &bytes,
                &range,
                &crate::caldav::limits(),
                &FloatingZone::utc(),
            );
            freebusy::vfreebusy(&periods, &range, now)
        }
        kind => {
            let visibility = if kind == LinkKind::Public {
                Visibility::Public
            } else {
                Visibility::Private
            };
            let addresses = lower(&owner.addresses);
            let shown: Vec<String> = objects
                .iter()
                .filter_map(|o| feed::filter_object(o, visibility, &addresses))
                .collect();
            crate::caldav::merge(&shown, Some(&name))
        }
    };
    Ok(Some(Feed {
        body: Some(with_refresh(body, refresh_secs)),
        etag,
        last_modified,
        content_type,
    }))
}

/// The vCard feed of an address book link: every card in `version`.
pub fn addressbook_feed(
    r: &DomainRead<'_>,
    link: &ShareLink,
    version: crate::groupware::vcard::VcardVersion,
    fresh: Fresh<'_>,
) -> Result<Option<Feed>, StoreError> {
    if link.collection != Collection::Addressbook {
        return Ok(None);
    }
    let Some(book) = r.addressbook_by_id(link.collection_id)? else {
        return Ok(None);
    };
    if book.account != link.account {
        return Ok(None);
    }
    let (modseq, changed_at) = r.scope_state(&crate::store::contacts::book_scope(book.id))?;
    let etag = format!("\"book-{}-{}-{}\"", book.id, modseq.0, version.as_str());
    let last_modified = changed_at.unwrap_or(book.modified_at).max(book.modified_at);
    let body = if fresh(&etag, last_modified) {
        None
    } else {
        Some(crate::carddav::exchange::export(r, &book, version)?)
    };
    Ok(Some(Feed {
        body,
        etag,
        last_modified,
        content_type: version.content_type(),
    }))
}

fn lower(addresses: &[String]) -> Vec<String> {
    addresses.iter().map(|a| a.to_ascii_lowercase()).collect()
}

fn calendar_by_id(r: &DomainRead<'_>, link: &ShareLink) -> Result<Option<Calendar>, StoreError> {
    if link.collection != Collection::Calendar {
        return Ok(None);
    }
    Ok(r.calendar_by_id(link.collection_id)?
        .filter(|(owner, _)| *owner == link.account)
        .map(|(_, c)| c))
}

/// Adds RFC 7986 REFRESH-INTERVAL and X-PUBLISHED-TTL after the calendar's PRODID.
fn with_refresh(body: String, secs: u64) -> String {
    let duration = if secs.is_multiple_of(3600) {
        format!("PT{}H", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("PT{}M", secs / 60)
    } else {
        format!("PT{secs}S")
    };
    let lines =
        format!("REFRESH-INTERVAL;VALUE=DURATION:{duration}\r\nX-PUBLISHED-TTL:{duration}\r\n");
    match body
        .find("PRODID:")
        .and_then(|at| body[at..].find("\r\n").map(|e| at + e + 2))
    {
        Some(at) => format!("{}{}{}", &body[..at], lines, &body[at..]),
        None => body,
    }
}

/// Records a feed's use (at most once a minute).
pub fn touch(w: &DomainWrite<'_>, link: &ShareLink) -> Result<(), StoreError> {
    w.touch_share_link(&link.id)
}
