//! Address books and cards of each account, with the index columns that let PROPFIND,
//! sync-collection and e-mail searches run without parsing vCards: href name, etag, UID,
//! version, kind, FN and the card's e-mail addresses.
//!
//! Change scopes: `addressbooks:<account>` names address books (the home's members);
//! `addressbook:<id>` names `<book>/<card>` paths (a book's members); [`SCOPE_DIRECTORY`]
//! names `directory/<account>.vcf` paths: the domain directory, generated from accounts.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::domain::{ChangeKind, DomainRead, DomainWrite};
use super::files::DeadProperty;
use super::{AccountId, Result, StoreError, now_unix};

/// The change scope of the domain directory (every account's card).
pub const SCOPE_DIRECTORY: &str = "directory";
/// The name of the directory address book in every address book home (reserved).
pub const DIRECTORY: &str = "directory";
/// The name of the address book every account starts with.
pub const DEFAULT_BOOK: &str = "contacts";

/// The path (in the address book space) of an account's directory card.
pub fn directory_path(account: &AccountId) -> String {
    format!("{DIRECTORY}/{}.vcf", account.as_str())
}

pub fn home_scope(account: &AccountId) -> String {
    format!("addressbooks:{}", account.as_str())
}

pub fn book_scope(id: i64) -> String {
    format!("addressbook:{id}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressBook {
    pub id: i64,
    pub account: AccountId,
    pub name: String,
    pub created_at: i64,
    pub modified_at: i64,
    /// Set when the book follows a feed (a subscription): read-only to clients.
    pub subscription: Option<String>,
}

/// A card's index row (everything but its data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardMeta {
    pub name: String,
    pub uid: String,
    /// `3.0` or `4.0`: the version the data is stored in.
    pub version: String,
    pub kind: String,
    pub etag: String,
    pub size: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

/// What the store indexes of a card it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardIndex {
    pub uid: String,
    pub version: String,
    pub kind: String,
    pub full_name: String,
    /// Lowercased.
    pub emails: Vec<String>,
}

/// The index columns of a row (a macro, so that queries are `concat!`ed at compile time:
/// no SQL string is built per lookup).
macro_rules! card_columns {
    () => {
        "name, uid, version, kind, etag, size, created_at, modified_at"
    };
}

/// A card's listing columns, borrowed from the index (see [`DomainRead::card_listing`]).
pub struct CardListing<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub etag: &'a str,
    pub size: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

fn card_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CardMeta> {
    Ok(CardMeta {
        name: r.get(0)?,
        uid: r.get(1)?,
        version: r.get(2)?,
        kind: r.get(3)?,
        etag: r.get(4)?,
        size: r.get(5)?,
        created_at: r.get(6)?,
        modified_at: r.get(7)?,
    })
}

fn book_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AddressBook> {
    Ok(AddressBook {
        id: r.get(0)?,
        account: AccountId::from_db(r.get(1)?),
        name: r.get(2)?,
        created_at: r.get(3)?,
        modified_at: r.get(4)?,
        subscription: r.get(5)?,
    })
}

/// The strong etag of stored data.
pub fn etag_of(data: &str) -> String {
    format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(data.as_bytes())[..12])
    )
}

const BOOK_COLUMNS: &str = "id, account_id, name, created_at, modified_at, subscription_id";

impl DomainRead<'_> {
    pub fn addressbooks(&self, account: &AccountId) -> Result<Vec<AddressBook>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {BOOK_COLUMNS} FROM addressbook WHERE account_id = ?1 ORDER BY name"
        ))?;
        let rows = stmt.query_map([account.as_str()], book_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn addressbook(&self, account: &AccountId, name: &str) -> Result<Option<AddressBook>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {BOOK_COLUMNS} FROM addressbook WHERE account_id = ?1 AND name = ?2"
            ))?
            .query_row(params![account.as_str(), name], book_from_row)
            .optional()?)
    }

    /// An address book by its id (the HTTP API names books this way).
    pub fn addressbook_by_id(&self, id: i64) -> Result<Option<AddressBook>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {BOOK_COLUMNS} FROM addressbook WHERE id = ?1"
            ))?
            .query_row([id], book_from_row)
            .optional()?)
    }

    /// How many cards a book holds.
    pub fn card_count(&self, book_id: i64) -> Result<i64> {
        Ok(self
            .conn()
            .prepare_cached("SELECT count(*) FROM card WHERE addressbook_id = ?1")?
            .query_row([book_id], |r| r.get(0))?)
    }

    pub fn addressbook_properties(&self, book_id: i64) -> Result<Vec<DeadProperty>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT ns, name, xml FROM addressbook_property WHERE addressbook_id = ?1 ORDER BY ns, name",
        )?;
        let rows = stmt.query_map([book_id], |r| {
            Ok(DeadProperty {
                ns: r.get(0)?,
                name: r.get(1)?,
                xml: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The cards of a book in name order, each mapped as it is read (from the covering
    /// index alone).
    /// The cards of a book in name order, each mapped as it is read from the covering
    /// index, its strings borrowed (PROPFIND Depth 1, sync-collection).
    pub fn card_listing<T>(
        &self,
        book_id: i64,
        mut map: impl FnMut(CardListing<'_>) -> T,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT name, version, etag, size, created_at, modified_at
             FROM card WHERE addressbook_id = ?1 ORDER BY name",
        )?;
        let mut rows = stmt.query([book_id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(map(CardListing {
                name: super::db::text(row, 0)?,
                version: super::db::text(row, 1)?,
                etag: super::db::text(row, 2)?,
                size: row.get(3)?,
                created_at: row.get(4)?,
                modified_at: row.get(5)?,
            }));
        }
        Ok(out)
    }

    pub fn card(&self, book_id: i64, name: &str) -> Result<Option<CardMeta>> {
        Ok(self
            .conn()
            .prepare_cached(concat!(
                "SELECT ",
                card_columns!(),
                " FROM card WHERE addressbook_id = ?1 AND name = ?2"
            ))?
            .query_row(params![book_id, name], card_from_row)
            .optional()?)
    }

    /// A card's index row and data in one lookup (multiget).
    pub fn card_with_data(&self, book_id: i64, name: &str) -> Result<Option<(CardMeta, String)>> {
        Ok(self
            .conn()
            .prepare_cached(concat!(
                "SELECT ",
                card_columns!(),
                ", data FROM card WHERE addressbook_id = ?1 AND name = ?2"
            ))?
            .query_row(params![book_id, name], |r| {
                Ok((card_from_row(r)?, r.get::<_, String>(8)?))
            })
            .optional()?)
    }

    /// Every card with its data, in name order (queries, export).
    pub fn cards_with_data(&self, book_id: i64) -> Result<Vec<(CardMeta, String)>> {
        let mut stmt = self.conn().prepare_cached(concat!(
            "SELECT ",
            card_columns!(),
            ", data FROM card WHERE addressbook_id = ?1 ORDER BY name"
        ))?;
        let rows = stmt.query_map([book_id], |r| {
            Ok((card_from_row(r)?, r.get::<_, String>(8)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cards with an e-mail address containing `needle` (lowercase), with their data:
    /// the candidates of an e-mail text-match, from the e-mail index.
    pub fn cards_by_email(&self, book_id: i64, needle: &str) -> Result<Vec<(CardMeta, String)>> {
        let pattern = format!(
            "%{}%",
            needle
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut stmt = self.conn().prepare_cached(concat!(
            // CROSS JOIN keeps card_email the outer loop: one scan of the (short) addresses,
            // then a lookup of each matching card; the other order seeks every card.
            "SELECT ",
            card_columns!(),
            ", data FROM card WHERE id IN (
                 SELECT e.card_id FROM card_email e CROSS JOIN card c ON c.id = e.card_id
                 WHERE e.email LIKE ?2 ESCAPE '\\' AND c.addressbook_id = ?1)
             ORDER BY name"
        ))?;
        let rows = stmt.query_map(params![book_id, pattern], |r| {
            Ok((card_from_row(r)?, r.get::<_, String>(8)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The (name, uid, etag) of every card of a book: what an import compares against.
    pub fn card_uids(&self, book_id: i64) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT name, uid, etag FROM card WHERE addressbook_id = ?1")?;
        let rows = stmt.query_map([book_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl DomainWrite<'_> {
    /// The address book every account starts with.
    pub(crate) fn create_default_addressbook(&self, account: &AccountId) -> Result<()> {
        let display = "<D:displayname xmlns:D=\"DAV:\">Contacts</D:displayname>".to_string();
        self.create_addressbook(
            account,
            DEFAULT_BOOK,
            &[("DAV:".into(), "displayname".into(), Some(display))],
        )?;
        Ok(())
    }

    /// Creates an address book; a name already used (or the directory's) is a conflict.
    pub fn create_addressbook(
        &self,
        account: &AccountId,
        name: &str,
        props: &[(String, String, Option<String>)],
    ) -> Result<AddressBook> {
        if name == DIRECTORY {
            return Err(StoreError::Conflict(name.to_string()));
        }
        let now = now_unix();
        self.conn()
            .execute(
                "INSERT INTO addressbook (account_id, name, created_at, modified_at) VALUES (?1, ?2, ?3, ?3)",
                params![account.as_str(), name, now],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Conflict(name.to_string())
                }
                e => e.into(),
            })?;
        let id = self.conn().last_insert_rowid();
        self.patch_addressbook_properties(id, props)?;
        self.record_change(&home_scope(account), name, ChangeKind::Created)?;
        Ok(AddressBook {
            id,
            account: account.clone(),
            name: name.to_string(),
            created_at: now,
            modified_at: now,
            subscription: None,
        })
    }

    pub fn delete_addressbook(&self, account: &AccountId, name: &str) -> Result<()> {
        let n = self.conn().execute(
            "DELETE FROM addressbook WHERE account_id = ?1 AND name = ?2",
            params![account.as_str(), name],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(name.to_string()));
        }
        self.record_change(&home_scope(account), name, ChangeKind::Destroyed)?;
        Ok(())
    }

    /// Sets (`Some`) and removes (`None`) dead properties of an address book.
    pub fn patch_addressbook_properties(
        &self,
        book_id: i64,
        ops: &[(String, String, Option<String>)],
    ) -> Result<()> {
        self.patch_dead_properties("addressbook_property", "addressbook_id", &book_id, ops)?;
        self.conn().execute(
            "UPDATE addressbook SET modified_at = ?2 WHERE id = ?1",
            params![book_id, now_unix()],
        )?;
        Ok(())
    }

    /// Stores a card under `name`. Its UID must not be used by another card of the book:
    /// [`StoreError::Conflict`] carries that card's name. Returns the stored meta and
    /// whether it was created.
    pub fn put_card(
        &self,
        book: &AddressBook,
        name: &str,
        index: &CardIndex,
        data: &str,
    ) -> Result<(CardMeta, bool)> {
        let other: Option<String> = self
            .conn()
            .prepare_cached(
                "SELECT name FROM card WHERE addressbook_id = ?1 AND uid = ?2 AND name != ?3",
            )?
            .query_row(params![book.id, index.uid, name], |r| r.get(0))
            .optional()?;
        if let Some(other) = other {
            return Err(StoreError::Conflict(other));
        }
        let existing: Option<i64> = self
            .conn()
            .prepare_cached("SELECT id FROM card WHERE addressbook_id = ?1 AND name = ?2")?
            .query_row(params![book.id, name], |r| r.get(0))
            .optional()?;
        let now = now_unix();
        let etag = etag_of(data);
        let id = match existing {
            Some(id) => {
                self.conn()
                    .prepare_cached(
                        "UPDATE card SET uid = ?2, version = ?3, kind = ?4, etag = ?5, size = ?6, fn = ?7,
                            data = ?8, modified_at = ?9 WHERE id = ?1",
                    )?
                    .execute(params![
                        id,
                        index.uid,
                        index.version,
                        index.kind,
                        etag,
                        data.len() as i64,
                        index.full_name,
                        data,
                        now
                    ])?;
                self.conn()
                    .prepare_cached("DELETE FROM card_email WHERE card_id = ?1")?
                    .execute([id])?;
                id
            }
            None => {
                self.conn()
                    .prepare_cached(
                        "INSERT INTO card (addressbook_id, name, uid, version, kind, etag, size, fn, data, created_at, modified_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                    )?
                    .execute(params![
                        book.id,
                        name,
                        index.uid,
                        index.version,
                        index.kind,
                        etag,
                        data.len() as i64,
                        index.full_name,
                        data,
                        now
                    ])?;
                self.conn().last_insert_rowid()
            }
        };
        let mut insert = self
            .conn()
            .prepare_cached("INSERT INTO card_email (card_id, email) VALUES (?1, ?2)")?;
        for email in &index.emails {
            insert.execute(params![id, email])?;
        }
        let kind = if existing.is_some() {
            ChangeKind::Updated
        } else {
            ChangeKind::Created
        };
        self.record_change(&book_scope(book.id), &format!("{}/{name}", book.name), kind)?;
        let meta = CardMeta {
            name: name.to_string(),
            uid: index.uid.clone(),
            version: index.version.clone(),
            kind: index.kind.clone(),
            etag,
            size: data.len() as i64,
            created_at: now,
            modified_at: now,
        };
        Ok((meta, existing.is_none()))
    }

    pub fn delete_card(&self, book: &AddressBook, name: &str) -> Result<()> {
        let n = self.conn().execute(
            "DELETE FROM card WHERE addressbook_id = ?1 AND name = ?2",
            params![book.id, name],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(name.to_string()));
        }
        self.record_change(
            &book_scope(book.id),
            &format!("{}/{name}", book.name),
            ChangeKind::Destroyed,
        )?;
        Ok(())
    }

    /// Copies a card's data and index into another (or the same) book.
    pub fn copy_card(
        &self,
        from: &AddressBook,
        name: &str,
        to: &AddressBook,
        to_name: &str,
    ) -> Result<()> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, data, uid, version, kind, fn FROM card WHERE addressbook_id = ?1 AND name = ?2",
                params![from.id, name],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        CardIndex {
                            uid: r.get(2)?,
                            version: r.get(3)?,
                            kind: r.get(4)?,
                            full_name: r.get(5)?,
                            emails: Vec::new(),
                        },
                    ))
                },
            )
            .optional()?;
        let Some((id, data, mut index)) = row else {
            return Err(StoreError::NotFound(name.to_string()));
        };
        index.emails = self
            .conn()
            .prepare_cached("SELECT email FROM card_email WHERE card_id = ?1")?
            .query_map([id], |r| r.get(0))?
            .collect::<std::result::Result<Vec<String>, _>>()?;
        self.put_card(to, to_name, &index, &data)?;
        Ok(())
    }
}
