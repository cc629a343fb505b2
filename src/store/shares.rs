//! Share links: read-only doors from a calendar or address book to anyone holding the
//! link's token. The token is shown once; only its SHA-256 is stored, here and in the
//! control database's index (`share_token`, hash -> domain, link), written in that order
//! on creation and removed in the reverse order, so an index row never leads to a link
//! that the domain does not confirm (`share_link.token_hash` must match too).

use rusqlite::{OptionalExtension, params};

use super::domain::{DomainRead, DomainWrite};
use super::{AccountId, Result, StoreError, now_unix};

/// What a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Collection {
    Calendar,
    Addressbook,
}

impl Collection {
    fn as_str(self) -> &'static str {
        match self {
            Collection::Calendar => "calendar",
            Collection::Addressbook => "addressbook",
        }
    }
    fn parse(s: &str) -> Collection {
        match s {
            "addressbook" => Collection::Addressbook,
            _ => Collection::Calendar,
        }
    }
}

/// How much a link shows (see `groupware::feed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// Public events in full, private and confidential ones as busy blocks.
    Public,
    /// Everything.
    Private,
    /// A VFREEBUSY only.
    Freebusy,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Public => "public",
            LinkKind::Private => "private",
            LinkKind::Freebusy => "freebusy",
        }
    }
    pub fn parse(s: &str) -> Option<LinkKind> {
        match s {
            "public" => Some(LinkKind::Public),
            "private" => Some(LinkKind::Private),
            "freebusy" => Some(LinkKind::Freebusy),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    pub id: String,
    pub account: AccountId,
    pub collection: Collection,
    pub collection_id: i64,
    pub kind: LinkKind,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str =
    "id, account_id, collection, collection_id, kind, token_hash, created_at, last_used_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ShareLink> {
    let kind: String = r.get(4)?;
    Ok(ShareLink {
        id: r.get(0)?,
        account: AccountId::from_db(r.get(1)?),
        collection: Collection::parse(&r.get::<_, String>(2)?),
        collection_id: r.get(3)?,
        kind: LinkKind::parse(&kind).unwrap_or(LinkKind::Freebusy),
        token_hash: r.get(5)?,
        created_at: r.get(6)?,
        last_used_at: r.get(7)?,
    })
}

/// A new link id: `sl` and 16 random lower-case letters and digits.
pub fn new_link_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("sl{tail}")
}

impl DomainRead<'_> {
    pub fn share_link(&self, id: &str) -> Result<Option<ShareLink>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM share_link WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?)
    }

    /// An account's links, oldest first.
    pub fn share_links(&self, account: &AccountId) -> Result<Vec<ShareLink>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM share_link WHERE account_id = ?1 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([account.as_str()], from_row)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}

impl DomainWrite<'_> {
    pub fn create_share_link(
        &self,
        id: &str,
        account: &AccountId,
        collection: Collection,
        collection_id: i64,
        kind: LinkKind,
        token_hash: &[u8; 32],
    ) -> Result<ShareLink> {
        let now = now_unix();
        self.conn().execute(
            "INSERT INTO share_link (id, account_id, collection, collection_id, kind, token_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, account.as_str(), collection.as_str(), collection_id, kind.as_str(), &token_hash[..], now],
        )?;
        self.share_link(id)?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// Gives a link a new token (the old one stops working).
    pub fn set_share_token(&self, id: &str, token_hash: &[u8; 32]) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE share_link SET token_hash = ?2 WHERE id = ?1",
            params![id, &token_hash[..]],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        Ok(())
    }

    pub fn delete_share_link(&self, id: &str) -> Result<()> {
        let n = self
            .conn()
            .execute("DELETE FROM share_link WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        Ok(())
    }

    /// Records a use (at most once a minute per link, to keep feeds from writing).
    pub fn touch_share_link(&self, id: &str) -> Result<()> {
        let now = now_unix();
        self.conn().execute(
            "UPDATE share_link SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - 60)",
            params![id, now],
        )?;
        Ok(())
    }
}
