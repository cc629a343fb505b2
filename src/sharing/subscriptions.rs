//! Subscriptions: a calendar (or address book) of a user that follows a feed URL. The
//! refresher fetches it on a schedule (one hour by default; the feed's REFRESH-INTERVAL
//! honoured within bounds; ETag / If-Modified-Since; exponential back-off on errors up to a
//! day) and replaces the collection's content with what the feed says, in one transaction,
//! touching only what changed (so clients' sync tokens move only then). A URL naming a
//! share link of this same server is resolved in-process: no HTTP, checked every few
//! seconds, so it looks current. The collection is read-only to clients.

use std::collections::HashMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::fetch::{self, FetchError, FetchPolicy, Fetched};
use crate::groupware::{feed, ical};
use crate::store::calendars::Calendar;
use crate::store::domain::DomainWrite;
use crate::store::shares::Collection;
use crate::store::subscriptions::{FetchRecord, Subscription};
use crate::store::{AccountId, DomainDb, DomainId, Store, StoreError, now_unix};

/// Refresh bounds: a feed may not ask for less than 5 minutes or more than a week.
const MIN_REFRESH: i64 = 300;
const MAX_REFRESH: i64 = 7 * 86_400;
/// Back-off after failures doubles up to a day.
const MAX_BACKOFF: i64 = 86_400;
/// How often subscriptions of this server's own share links are checked.
pub const LOCAL_CHECK: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error(transparent)]
    Url(#[from] FetchError),
    #[error("{0} has no subscription {1}")]
    NoSuchSubscription(String, String),
    #[error("the name {0} is taken; choose another with --name")]
    NameTaken(String),
    #[error("the name {0:?} cannot be used in a URL; use letters, digits, '-' and '_'")]
    BadName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A subscription with the name of the collection it fills, for listings.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionInfo {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// The calendar's (or book's) name as in its URL.
    pub name: Option<String>,
}

/// A URL segment made of the feed's last path part or host: `holidays`, `example-org`.
fn name_from_url(url: &str) -> String {
    let parsed = url::Url::parse(url).ok();
    let last = parsed
        .as_ref()
        .and_then(|u| u.path_segments())
        .and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_string))
        .map(|p| {
            p.trim_end_matches(".ics")
                .trim_end_matches(".vcf")
                .to_string()
        })
        .filter(|p| p.len() >= 3 && p.len() <= 40 && !p.contains('.'));
    let base = last
        .or_else(|| {
            parsed
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_string))
        })
        .unwrap_or_else(|| "subscribed".into());
    let slug: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    if slug.is_empty() || slug.len() > 40 {
        "subscribed".into()
    } else {
        slug
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The share token a URL of this server's form names (`…/share/<token>.ics|.vcf`).
fn share_token(url: &str) -> Option<(String, Collection)> {
    let path = url::Url::parse(url).ok()?.path().to_string();
    let file = path.strip_prefix("/share/")?;
    let (token, collection) = match (file.strip_suffix(".ics"), file.strip_suffix(".vcf")) {
        (Some(t), _) => (t, Collection::Calendar),
        (_, Some(t)) => (t, Collection::Addressbook),
        _ => return None,
    };
    (token.len() == 43).then(|| (token.to_string(), collection))
}

/// Whether `url` is one of this server's live share links.
fn is_local(store: &Store, url: &str) -> bool {
    share_token(url).is_some_and(|(t, _)| matches!(super::resolve(store, &t), Ok(Some(_))))
}

/// Subscribes `account` to `url`: creates the collection (named `name`, or after the URL)
/// and schedules the first fetch now.
#[allow(clippy::too_many_arguments)]
pub fn add(
    store: &Store,
    domain: &DomainId,
    db: &DomainDb,
    account: &AccountId,
    url: &str,
    name: Option<&str>,
    display: Option<&str>,
    collection: Collection,
    default_refresh: i64,
) -> Result<SubscriptionInfo, SubscriptionError> {
    fetch::candidates(url)?;
    let url = url.trim().to_string();
    if let Some(n) = name
        && !valid_name(n)
    {
        return Err(SubscriptionError::BadName(n.to_string()));
    }
    let id = format!("sub{}", &crate::store::shares::new_link_id()[2..]);
    let local = is_local(store, &url);
    let created = db.write(|w| -> Result<String, SubscriptionError> {
        let base = name
            .map(str::to_string)
            .unwrap_or_else(|| name_from_url(&url));
        let mut chosen = base.clone();
        let taken = |n: &str| -> Result<bool, StoreError> {
            Ok(match collection {
                Collection::Calendar => w.calendar(account, n)?.is_some(),
                Collection::Addressbook => {
                    n == crate::store::contacts::DIRECTORY || w.addressbook(account, n)?.is_some()
                }
            })
        };
        let mut i = 1;
        while taken(&chosen)? {
            if name.is_some() {
                return Err(SubscriptionError::NameTaken(chosen));
            }
            i += 1;
            chosen = format!("{base}-{i}");
        }
        let title = display.map(str::to_string).unwrap_or_else(|| {
            url::Url::parse(&url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| chosen.clone())
        });
        let escaped = crate::dav::xml::escape_text(&title);
        let prop = vec![(
            "DAV:".to_string(),
            "displayname".to_string(),
            Some(format!(
                "<D:displayname xmlns:D=\"DAV:\">{escaped}</D:displayname>"
            )),
        )];
        w.create_subscription(&id, account, collection, &url, default_refresh)?;
        let cid = match collection {
            Collection::Calendar => {
                let comps: Vec<String> = ["VEVENT", "VTODO", "VJOURNAL"]
                    .iter()
                    .map(|c| c.to_string())
                    .collect();
                w.create_calendar(account, &chosen, &comps, &prop)?.id
            }
            Collection::Addressbook => w.create_addressbook(account, &chosen, &prop)?.id,
        };
        w.attach_subscription(collection, cid, &id)?;
        Ok(chosen)
    })?;
    store
        .system()
        .write(|w| w.set_subscription_due(domain, &id, now_unix(), local))?;
    let subscription = db
        .read(|r| r.subscription(&id))?
        .ok_or_else(|| StoreError::NotFound(id.clone()))?;
    Ok(SubscriptionInfo {
        subscription,
        name: Some(created),
    })
}

pub fn list(db: &DomainDb, account: &AccountId) -> Result<Vec<SubscriptionInfo>, StoreError> {
    db.read(|r| {
        let mut out = Vec::new();
        for s in r.subscriptions(account)? {
            let name = r.subscription_collection(&s.id)?.map(|(_, _, n)| n);
            out.push(SubscriptionInfo {
                subscription: s,
                name,
            });
        }
        Ok(out)
    })
}

fn own(
    db: &DomainDb,
    account: &AccountId,
    owner: &str,
    id: &str,
) -> Result<Subscription, SubscriptionError> {
    match db.read(|r| r.subscription(id))? {
        Some(s) if &s.account == account => Ok(s),
        _ => Err(SubscriptionError::NoSuchSubscription(
            owner.to_string(),
            id.to_string(),
        )),
    }
}

/// Removes a subscription and the collection it fills.
pub fn remove(
    store: &Store,
    domain: &DomainId,
    db: &DomainDb,
    account: &AccountId,
    owner: &str,
    id: &str,
) -> Result<(), SubscriptionError> {
    own(db, account, owner, id)?;
    db.write(|w| w.delete_subscription(id))?;
    store
        .system()
        .write(|w| w.delete_subscription_due(domain, id))?;
    Ok(())
}

/// What one refresh did.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Refreshed {
    /// The feed was unchanged (304, or the same share link state).
    pub not_modified: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    /// Items of the feed that were not valid and were left out.
    pub invalid: usize,
    /// Set when the fetch failed; the collection kept what it had.
    pub error: Option<String>,
}

/// Fetches a subscription now (owner check included) and records the outcome.
pub async fn refresh_now(
    store: &std::sync::Arc<Store>,
    domain: &DomainId,
    account: &AccountId,
    owner: &str,
    id: &str,
    policy: &FetchPolicy,
) -> Result<Refreshed, SubscriptionError> {
    let db = store.domain_async(domain).await?;
    let (db2, account, owner2, id2) = (
        db.clone(),
        account.clone(),
        owner.to_string(),
        id.to_string(),
    );
    crate::store::blocking(move || own(&db2, &account, &owner2, &id2).map(|_| ())).await?;
    Ok(refresh(store, domain, id, policy).await?)
}

/// Fetches one subscription, applies what it brought, records the outcome and the next
/// due time. A missing subscription (removed meanwhile) is dropped from the schedule.
pub async fn refresh(
    store: &std::sync::Arc<Store>,
    domain: &DomainId,
    id: &str,
    policy: &FetchPolicy,
) -> Result<Refreshed, StoreError> {
    let db = store.domain_async(domain).await?;
    let id_owned = id.to_string();
    let db2 = db.clone();
    let Some(sub) = crate::store::blocking(move || db2.read(|r| r.subscription(&id_owned))).await?
    else {
        let (store2, domain2, id2) = (store.clone(), domain.clone(), id.to_string());
        crate::store::blocking(move || {
            store2
                .system()
                .write(|w| w.delete_subscription_due(&domain2, &id2))
        })
        .await?;
        return Ok(Refreshed::default());
    };
    // A share link of this server: rendered in-process.
    let local = match share_token(&sub.url) {
        Some((token, collection)) => {
            let store2 = store.clone();
            let known = sub.etag.clone();
            crate::store::blocking(move || render_local(&store2, &token, collection, known)).await?
        }
        None => None,
    };
    // Still a live share link of this server: checked often (see `run_refresher`).
    let is_local = local.is_some();
    let fetched: Result<Fetched, FetchError> = match local {
        // Unchanged share link of this server: nothing to do, nothing to write.
        Some((_, None)) => {
            return Ok(Refreshed {
                not_modified: true,
                ..Refreshed::default()
            });
        }
        Some((etag, Some(text))) => Ok(Fetched::Body {
            text,
            etag: Some(etag),
            last_modified: None,
        }),
        None => {
            fetch::fetch(
                &sub.url,
                sub.etag.as_deref(),
                sub.last_modified.as_deref(),
                policy,
            )
            .await
        }
    };
    let now = now_unix();
    let (outcome, record) = match fetched {
        Ok(Fetched::NotModified) => (
            Refreshed {
                not_modified: true,
                ..Refreshed::default()
            },
            FetchRecord {
                ok: true,
                etag: sub.etag.clone(),
                last_modified: sub.last_modified.clone(),
                refresh_secs: None,
                error: None,
                next_fetch_at: now + sub.refresh_secs,
            },
        ),
        Ok(Fetched::Body {
            text,
            etag,
            last_modified,
        }) => {
            let refresh_secs = match sub.collection {
                Collection::Calendar => {
                    feed::refresh_interval(&text).map(|s| s.clamp(MIN_REFRESH, MAX_REFRESH))
                }
                Collection::Addressbook => None,
            };
            let next = now + refresh_secs.unwrap_or(sub.refresh_secs);
            let (db2, id2) = (db.clone(), sub.id.clone());
            let collection = sub.collection;
            let applied = crate::store::blocking(move || {
                db2.write(|w| -> Result<Refreshed, StoreError> {
                    let Some((_, cid, _)) = w.subscription_collection(&id2)? else {
                        return Ok(Refreshed::default());
                    };
                    match collection {
                        Collection::Calendar => apply_calendar(w, cid, &text),
                        Collection::Addressbook => apply_book(w, cid, &text),
                    }
                })
            })
            .await?;
            let record = FetchRecord {
                ok: applied.error.is_none(),
                etag,
                last_modified,
                refresh_secs,
                error: applied.error.clone(),
                next_fetch_at: if applied.error.is_none() {
                    next
                } else {
                    now + backoff(sub.refresh_secs, sub.failures + 1)
                },
            };
            (applied, record)
        }
        Err(e) => {
            let message = e.to_string();
            tracing::info!(subscription = %sub.id, error = %message, "subscription fetch failed");
            (
                Refreshed {
                    error: Some(message.clone()),
                    ..Refreshed::default()
                },
                FetchRecord {
                    ok: false,
                    error: Some(message),
                    next_fetch_at: now + backoff(sub.refresh_secs, sub.failures + 1),
                    ..FetchRecord::default()
                },
            )
        }
    };
    let (db2, id2, store2, domain2) = (db.clone(), sub.id.clone(), store.clone(), domain.clone());
    let next = record.next_fetch_at;
    crate::store::blocking(move || {
        db2.write(|w| w.record_fetch(&id2, &record))?;
        store2
            .system()
            .write(|w| w.set_subscription_due(&domain2, &id2, next, is_local))
    })
    .await?;
    Ok(outcome)
}

/// The refresher: every couple of seconds, subscriptions of this server's own share links
/// are checked (cheap: one lookup when nothing changed), and remote ones that are due are
/// fetched, a few at a time, each leased for five minutes so a slow one is not started
/// twice. Runs until the task is dropped.
pub async fn run_refresher(store: std::sync::Arc<Store>, policy: FetchPolicy) {
    let running = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut tick = tokio::time::interval(LOCAL_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let store2 = store.clone();
        let listed = crate::store::blocking(move || {
            let now = now_unix();
            let local = store2.system().read(|r| r.local_subscriptions())?;
            let due = store2.system().read(|r| r.due_subscriptions(now, 16))?;
            // Lease the remote ones before starting them.
            store2.system().write(|w| {
                for (d, id) in &due {
                    w.set_subscription_due(d, id, now + 300, false)?;
                }
                Ok(())
            })?;
            Ok::<_, StoreError>((local, due))
        })
        .await;
        let (local, due) = match listed {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "subscription schedule unreadable");
                continue;
            }
        };
        for (domain, id) in local {
            if let Err(e) = refresh(&store, &domain, &id, &policy).await {
                tracing::warn!(subscription = %id, error = %e, "local subscription refresh failed");
            }
        }
        for (domain, id) in due {
            let Ok(permit) = running.clone().acquire_owned().await else {
                return;
            };
            let (store, policy) = (store.clone(), policy.clone());
            tokio::spawn(async move {
                if let Err(e) = refresh(&store, &domain, &id, &policy).await {
                    tracing::warn!(subscription = %id, error = %e, "subscription refresh failed");
                }
                drop(permit);
            });
        }
    }
}

/// The wait after `failures` failed fetches in a row: doubling from the refresh interval
/// (at least a minute), at most a day.
fn backoff(refresh: i64, failures: i64) -> i64 {
    let base = refresh.clamp(60, MAX_BACKOFF);
    let factor = 1i64 << failures.clamp(0, 16);
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

/// A share link of this server rendered as its feed: (etag, text), the text None when
/// the feed still has the `known` ETag (nothing rendered: the check every 2 s is an index
/// read); None when the token is not live here.
fn render_local(
    store: &Store,
    token: &str,
    collection: Collection,
    known: Option<String>,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let Some((db, link)) = super::resolve(store, token)? else {
        return Ok(None);
    };
    if link.collection != collection {
        return Ok(None);
    }
    let fresh = |etag: &str, _: i64| known.as_deref() == Some(etag);
    let feed = db.read(|r| match collection {
        Collection::Calendar => {
            super::calendar_feed(r, &link, super::DEFAULT_REFRESH_SECS, now_unix(), &fresh)
        }
        Collection::Addressbook => {
            super::addressbook_feed(r, &link, crate::groupware::vcard::VcardVersion::V4, &fresh)
        }
    })?;
    Ok(feed.map(|f| (f.etag, f.body)))
}

/// The object name a feed item with this UID is stored under (stable across fetches).
fn item_name(uid: &str) -> String {
    format!("{}.ics", hex::encode(&Sha256::digest(uid.as_bytes())[..10]))
}

/// Replaces a subscribed calendar's objects with the feed's, touching only what changed.
fn apply_calendar(
    w: &DomainWrite<'_>,
    calendar_id: i64,
    text: &str,
) -> Result<Refreshed, StoreError> {
    let mut out = Refreshed::default();
    let objects = match feed::split_calendar(text) {
        Ok(o) => o,
        Err(e) => {
            out.error = Some(format!("the feed is not iCalendar data: {e}"));
            return Ok(out);
        }
    };
    let Some(calendar) = calendar_row(w, calendar_id)? else {
        return Ok(out);
    };
    let mut existing: HashMap<String, String> = w
        .calendar_objects(calendar.id)?
        .into_iter()
        .map(|o| (o.name, o.etag))
        .collect();
    let limits = crate::caldav::limits();
    for (uid, object) in objects {
        let parsed = match ical::ingest(object.as_bytes(), &limits) {
            Ok(p) => p,
            Err(_) => {
                out.invalid += 1;
                continue;
            }
        };
        let name = item_name(&uid);
        let etag = crate::store::contacts::etag_of(&object);
        match existing.remove(&name) {
            Some(old) if old == etag => out.unchanged += 1,
            Some(_) => {
                w.put_calendar_object(
                    &calendar,
                    &name,
                    &crate::caldav::object_index(&parsed),
                    &object,
                )?;
                out.updated += 1;
            }
            None => {
                match w.put_calendar_object(
                    &calendar,
                    &name,
                    &crate::caldav::object_index(&parsed),
                    &object,
                ) {
                    Ok(_) => out.created += 1,
                    Err(StoreError::Conflict(_)) => out.invalid += 1,
                    Err(e) => return Err(e),
                }
            }
        }
    }
    for name in existing.into_keys() {
        w.delete_calendar_object(&calendar, &name)?;
        out.removed += 1;
    }
    Ok(out)
}

fn calendar_row(w: &DomainWrite<'_>, id: i64) -> Result<Option<Calendar>, StoreError> {
    Ok(w.calendar_by_id(id)?.map(|(_, c)| c))
}

/// Replaces a subscribed address book's cards with the feed's (merge by UID, replace).
fn apply_book(w: &DomainWrite<'_>, book_id: i64, text: &str) -> Result<Refreshed, StoreError> {
    let mut out = Refreshed::default();
    let Some(book) = w.addressbook_by_id(book_id)? else {
        return Ok(out);
    };
    let opts = crate::carddav::exchange::ImportOptions {
        replace: true,
        skip_invalid: true,
    };
    match crate::carddav::exchange::import(w, &book, text.as_bytes(), opts, &mut |_, _| {}) {
        Ok(report) => {
            out.created = report.created;
            out.updated = report.updated;
            out.unchanged = report.unchanged;
            out.removed = report.removed;
            out.invalid = report.skipped.len();
        }
        Err(crate::carddav::exchange::ImportError::Store(e)) => return Err(e),
        Err(e) => out.error = Some(e.to_string()),
    }
    Ok(out)
}
