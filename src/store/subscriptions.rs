//! Subscriptions: a collection of an account that follows a feed URL. The row keeps what
//! the refresher needs (validators, schedule, failures); the collection (a calendar or
//! address book with `subscription_id` set) holds what the feed said last.

use rusqlite::{OptionalExtension, params};

use super::domain::{DomainRead, DomainWrite};
use super::shares::Collection;
use super::{AccountId, Result, StoreError, now_unix};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    #[serde(skip)]
    pub account: AccountId,
    pub collection: Collection,
    pub url: String,
    pub refresh_secs: i64,
    #[serde(skip)]
    pub etag: Option<String>,
    #[serde(skip)]
    pub last_modified: Option<String>,
    pub last_fetch_at: Option<i64>,
    pub last_ok_at: Option<i64>,
    pub failures: i64,
    pub last_error: Option<String>,
    pub next_fetch_at: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, account_id, collection, url, refresh_secs, etag, last_modified, last_fetch_at, last_ok_at, failures, last_error, next_fetch_at, created_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Subscription> {
    let collection: String = r.get(2)?;
    Ok(Subscription {
        id: r.get(0)?,
        account: AccountId::from_db(r.get(1)?),
        collection: if collection == "addressbook" {
            Collection::Addressbook
        } else {
            Collection::Calendar
        },
        url: r.get(3)?,
        refresh_secs: r.get(4)?,
        etag: r.get(5)?,
        last_modified: r.get(6)?,
        last_fetch_at: r.get(7)?,
        last_ok_at: r.get(8)?,
        failures: r.get(9)?,
        last_error: r.get(10)?,
        next_fetch_at: r.get(11)?,
        created_at: r.get(12)?,
    })
}

/// The outcome of one fetch, as the row records it.
#[derive(Debug, Clone, Default)]
pub struct FetchRecord {
    pub ok: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub refresh_secs: Option<i64>,
    pub error: Option<String>,
    pub next_fetch_at: i64,
}

impl DomainRead<'_> {
    pub fn subscription(&self, id: &str) -> Result<Option<Subscription>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM subscription WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?)
    }

    pub fn subscriptions(&self, account: &AccountId) -> Result<Vec<Subscription>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM subscription WHERE account_id = ?1 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([account.as_str()], from_row)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The name (as in its URL) of the collection a subscription fills.
    pub fn subscription_collection(&self, id: &str) -> Result<Option<(Collection, i64, String)>> {
        let cal: Option<(i64, String)> = self
            .conn()
            .prepare_cached("SELECT id, name FROM calendar WHERE subscription_id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((cid, name)) = cal {
            return Ok(Some((Collection::Calendar, cid, name)));
        }
        Ok(self
            .conn()
            .prepare_cached("SELECT id, name FROM addressbook WHERE subscription_id = ?1")?
            .query_row([id], |r| {
                Ok((Collection::Addressbook, r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }
}

impl DomainWrite<'_> {
    pub fn create_subscription(
        &self,
        id: &str,
        account: &AccountId,
        collection: Collection,
        url: &str,
        refresh_secs: i64,
    ) -> Result<()> {
        let now = now_unix();
        let kind = match collection {
            Collection::Calendar => "calendar",
            Collection::Addressbook => "addressbook",
        };
        self.conn().execute(
            "INSERT INTO subscription (id, account_id, collection, url, refresh_secs, next_fetch_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![id, account.as_str(), kind, url, refresh_secs, now],
        )?;
        Ok(())
    }

    /// Marks a collection as filled by a subscription (read-only to clients).
    pub fn attach_subscription(
        &self,
        collection: Collection,
        collection_id: i64,
        id: &str,
    ) -> Result<()> {
        let table = match collection {
            Collection::Calendar => "calendar",
            Collection::Addressbook => "addressbook",
        };
        self.conn().execute(
            &format!("UPDATE {table} SET subscription_id = ?2 WHERE id = ?1"),
            params![collection_id, id],
        )?;
        Ok(())
    }

    pub fn record_fetch(&self, id: &str, f: &FetchRecord) -> Result<()> {
        let now = now_unix();
        let n = if f.ok {
            self.conn().execute(
                "UPDATE subscription SET etag = ?2, last_modified = ?3, last_fetch_at = ?4, last_ok_at = ?4,
                    failures = 0, last_error = NULL, next_fetch_at = ?5,
                    refresh_secs = coalesce(?6, refresh_secs) WHERE id = ?1",
                params![id, f.etag, f.last_modified, now, f.next_fetch_at, f.refresh_secs],
            )?
        } else {
            self.conn().execute(
                "UPDATE subscription SET last_fetch_at = ?2, failures = failures + 1, last_error = ?3,
                    next_fetch_at = ?4 WHERE id = ?1",
                params![id, now, f.error, f.next_fetch_at],
            )?
        };
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        Ok(())
    }

    /// Deletes a subscription and the collection it fills.
    pub fn delete_subscription(&self, id: &str) -> Result<()> {
        if let Some((collection, cid, name)) = self.subscription_collection(id)? {
            let account = self
                .subscription(id)?
                .map(|s| s.account)
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            // Its grants go first, so every home that listed it records the change.
            self.unshare_collection(collection, cid)?;
            match collection {
                Collection::Calendar => self.delete_calendar(&account, &name)?,
                Collection::Addressbook => self.delete_addressbook(&account, &name)?,
            }
        }
        let n = self
            .conn()
            .execute("DELETE FROM subscription WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        Ok(())
    }
}
