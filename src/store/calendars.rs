//! Calendars and calendar objects of each account, with the index columns that let
//! PROPFIND, sync-collection and time-range queries run without parsing iCalendar:
//! href name, etag, UID, component, UTC bounds, and the instances of recurring objects.
//!
//! Change scopes: `calendars:<account>` names calendars (the home's members);
//! `calendar:<id>` names `<calendar>/<object>` paths (a calendar's members).

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::domain::{ChangeKind, DomainRead, DomainWrite};
use super::files::DeadProperty;
use super::{AccountId, Result, StoreError, now_unix};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub id: i64,
    pub name: String,
    /// Supported component names, e.g. `["VEVENT", "VTODO"]`.
    pub components: Vec<String>,
    pub created_at: i64,
    pub modified_at: i64,
    /// Set when the calendar follows a feed (a subscription): read-only to clients.
    pub subscription: Option<String>,
}

/// A calendar object's index row (everything but its data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub name: String,
    pub uid: String,
    pub component: String,
    pub etag: String,
    pub size: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

/// What the store indexes of an object it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectIndex {
    pub uid: String,
    pub component: String,
    pub first_start: Option<i64>,
    pub last_end: Option<i64>,
    pub recurring: bool,
    pub instances: Vec<(i64, i64)>,
}

pub fn home_scope(account: &AccountId) -> String {
    format!("calendars:{account}")
}

pub fn calendar_scope(calendar_id: i64) -> String {
    format!("calendar:{calendar_id}")
}

/// The index columns of a row (a macro, so that queries are `concat!`ed at compile time:
/// no SQL string is built per lookup).
macro_rules! object_columns {
    () => {
        "name, uid, component, etag, size, created_at, modified_at"
    };
}

fn object_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectMeta> {
    Ok(ObjectMeta {
        name: r.get(0)?,
        uid: r.get(1)?,
        component: r.get(2)?,
        etag: r.get(3)?,
        size: r.get(4)?,
        created_at: r.get(5)?,
        modified_at: r.get(6)?,
    })
}

fn calendar_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Calendar> {
    let components: String = r.get(2)?;
    Ok(Calendar {
        id: r.get(0)?,
        name: r.get(1)?,
        components: components
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        created_at: r.get(3)?,
        modified_at: r.get(4)?,
        subscription: r.get(5)?,
    })
}

impl DomainRead<'_> {
    pub fn calendars(&self, account: &AccountId) -> Result<Vec<Calendar>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, name, components, created_at, modified_at, subscription_id FROM calendar WHERE account_id = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([account.as_str()], calendar_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn calendar(&self, account: &AccountId, name: &str) -> Result<Option<Calendar>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT id, name, components, created_at, modified_at, subscription_id FROM calendar WHERE account_id = ?1 AND name = ?2")?
            .query_row(params![account.as_str(), name], calendar_from_row)
            .optional()?)
    }

    /// A calendar by its id, with the account it belongs to.
    pub fn calendar_by_id(&self, calendar_id: i64) -> Result<Option<(AccountId, Calendar)>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT id, name, components, created_at, modified_at, subscription_id, account_id FROM calendar WHERE id = ?1")?
            .query_row([calendar_id], |r| {
                Ok((AccountId::from_db(r.get(6)?), calendar_from_row(r)?))
            })
            .optional()?)
    }

    pub fn calendar_properties(&self, calendar_id: i64) -> Result<Vec<DeadProperty>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT ns, name, xml FROM calendar_property WHERE calendar_id = ?1 ORDER BY ns, name",
        )?;
        let rows = stmt.query_map([calendar_id], |r| {
            Ok(DeadProperty {
                ns: r.get(0)?,
                name: r.get(1)?,
                xml: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn calendar_home_properties(&self, account: &AccountId) -> Result<Vec<DeadProperty>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT ns, name, xml FROM calendar_home_property WHERE account_id = ?1 ORDER BY ns, name",
        )?;
        let rows = stmt.query_map([account.as_str()], |r| {
            Ok(DeadProperty {
                ns: r.get(0)?,
                name: r.get(1)?,
                xml: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn calendar_objects(&self, calendar_id: i64) -> Result<Vec<ObjectMeta>> {
        self.calendar_objects_map(calendar_id, |o| o)
    }

    /// The objects of a calendar in name order, each mapped as it is read from the
    /// covering index, its strings borrowed: a listing of 100,000 objects builds one
    /// vector and no intermediate strings (PROPFIND Depth 1, sync-collection).
    pub fn calendar_listing<T>(
        &self,
        calendar_id: i64,
        mut map: impl FnMut(ObjectListing<'_>) -> T,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT name, component, etag, size, created_at, modified_at
             FROM calendar_object WHERE calendar_id = ?1 ORDER BY name",
        )?;
        let mut rows = stmt.query([calendar_id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(map(ObjectListing {
                name: super::db::text(row, 0)?,
                component: super::db::text(row, 1)?,
                etag: super::db::text(row, 2)?,
                size: row.get(3)?,
                created_at: row.get(4)?,
                modified_at: row.get(5)?,
            }));
        }
        Ok(out)
    }

    /// The objects of a calendar in name order, each mapped as it is read.
    pub fn calendar_objects_map<T>(
        &self,
        calendar_id: i64,
        mut map: impl FnMut(ObjectMeta) -> T,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn().prepare_cached(concat!(
            "SELECT ",
            object_columns!(),
            " FROM calendar_object WHERE calendar_id = ?1 ORDER BY name"
        ))?;
        let mut rows = stmt.query([calendar_id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(map(object_from_row(row)?));
        }
        Ok(out)
    }

    pub fn calendar_object(&self, calendar_id: i64, name: &str) -> Result<Option<ObjectMeta>> {
        Ok(self
            .conn()
            .prepare_cached(concat!(
                "SELECT ",
                object_columns!(),
                " FROM calendar_object WHERE calendar_id = ?1 AND name = ?2"
            ))?
            .query_row(params![calendar_id, name], object_from_row)
            .optional()?)
    }

    /// Looks objects up (index row and data) with one prepared statement: a multiget asks
    /// for hundreds.
    pub fn calendar_object_lookup(&self) -> Result<ObjectLookup<'_>> {
        Ok(ObjectLookup {
            stmt: self.conn().prepare_cached(concat!(
                "SELECT ",
                object_columns!(),
                ", data FROM calendar_object WHERE calendar_id = ?1 AND name = ?2"
            ))?,
        })
    }

    pub fn calendar_object_data(&self, calendar_id: i64, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT data FROM calendar_object WHERE calendar_id = ?1 AND name = ?2",
            )?
            .query_row(params![calendar_id, name], |r| r.get(0))
            .optional()?)
    }

    /// Every object's data, in name order (GET of a whole calendar).
    pub fn calendar_all_data(&self, calendar_id: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT data FROM calendar_object WHERE calendar_id = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([calendar_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Objects of `component` (any when None) that may have an instance overlapping
    /// `[start, end)`, from the index alone: the caller re-checks these few in full. The
    /// bounds are inclusive so that zero-length instances are never missed (RFC 4791 §9.9).
    pub fn calendar_candidates(
        &self,
        calendar_id: i64,
        component: Option<&str>,
        start: Option<i64>,
        end: Option<i64>,
    ) -> Result<Vec<ObjectMeta>> {
        let (start, end) = (start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX));
        let sql = concat!(
            "SELECT ",
            object_columns!(),
            " FROM calendar_object o
             WHERE calendar_id = ?1 AND (?2 IS NULL OR component = ?2)
               AND (first_start IS NULL OR first_start <= ?4)
               AND (last_end IS NULL OR last_end >= ?3)
               AND (recurring = 0 OR last_end IS NULL
                    OR EXISTS (SELECT 1 FROM calendar_instance i WHERE i.object_id = o.id AND i.start <= ?4 AND i.end >= ?3)
                    OR NOT EXISTS (SELECT 1 FROM calendar_instance i WHERE i.object_id = o.id))
             ORDER BY name"
        );
        let mut stmt = self.conn().prepare_cached(sql)?;
        let rows = stmt.query_map(params![calendar_id, component, start, end], object_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// An object's listing columns, borrowed from the index (see
/// [`DomainRead::calendar_listing`]).
pub struct ObjectListing<'a> {
    pub name: &'a str,
    pub component: &'a str,
    pub etag: &'a str,
    pub size: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

/// See [`DomainRead::calendar_object_lookup`].
pub struct ObjectLookup<'a> {
    stmt: rusqlite::CachedStatement<'a>,
}

impl ObjectLookup<'_> {
    pub fn get(&mut self, calendar_id: i64, name: &str) -> Result<Option<(ObjectMeta, String)>> {
        Ok(self
            .stmt
            .query_row(params![calendar_id, name], |r| {
                Ok((object_from_row(r)?, r.get::<_, String>(7)?))
            })
            .optional()?)
    }
}

impl DomainWrite<'_> {
    /// The default calendar and task list every account starts with.
    pub(crate) fn create_default_calendars(&self, account: &AccountId) -> Result<()> {
        for (name, components, display) in [
            ("calendar", "VEVENT", "Calendar"),
            ("tasks", "VTODO", "Tasks"),
        ] {
            let display = format!("<D:displayname xmlns:D=\"DAV:\">{display}</D:displayname>");
            self.create_calendar(
                account,
                name,
                &[components.to_string()],
                &[("DAV:".into(), "displayname".into(), Some(display))],
            )?;
        }
        Ok(())
    }

    /// Creates a calendar; a name already used is a conflict.
    pub fn create_calendar(
        &self,
        account: &AccountId,
        name: &str,
        components: &[String],
        props: &[(String, String, Option<String>)],
    ) -> Result<Calendar> {
        let now = now_unix();
        self.conn()
            .execute(
                "INSERT INTO calendar (account_id, name, components, created_at, modified_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![account.as_str(), name, components.join(","), now],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => StoreError::Conflict(name.to_string()),
                e => e.into(),
            })?;
        let id = self.conn().last_insert_rowid();
        self.patch_calendar_properties(id, props)?;
        self.record_change(&home_scope(account), name, ChangeKind::Created)?;
        Ok(Calendar {
            id,
            name: name.to_string(),
            components: components.to_vec(),
            created_at: now,
            modified_at: now,
            subscription: None,
        })
    }

    /// Sets (`Some`) and removes (`None`) dead properties of a calendar home.
    pub fn patch_calendar_home_properties(
        &self,
        account: &AccountId,
        ops: &[(String, String, Option<String>)],
    ) -> Result<()> {
        self.patch_dead_properties(
            "calendar_home_property",
            "account_id",
            &account.as_str(),
            ops,
        )?;
        Ok(())
    }

    pub fn delete_calendar(&self, account: &AccountId, name: &str) -> Result<()> {
        let n = self.conn().execute(
            "DELETE FROM calendar WHERE account_id = ?1 AND name = ?2",
            params![account.as_str(), name],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(name.to_string()));
        }
        self.record_change(&home_scope(account), name, ChangeKind::Destroyed)?;
        Ok(())
    }

    /// Sets (`Some`) and removes (`None`) dead properties of a calendar.
    pub fn patch_calendar_properties(
        &self,
        calendar_id: i64,
        ops: &[(String, String, Option<String>)],
    ) -> Result<()> {
        self.patch_dead_properties("calendar_property", "calendar_id", &calendar_id, ops)?;
        self.conn().execute(
            "UPDATE calendar SET modified_at = ?2 WHERE id = ?1",
            params![calendar_id, now_unix()],
        )?;
        Ok(())
    }

    /// Stores an object under `name`. Its UID must not be used by another object of the
    /// calendar: [`StoreError::Conflict`] carries that object's name. Returns the stored
    /// meta and whether it was created.
    pub fn put_calendar_object(
        &self,
        calendar: &Calendar,
        name: &str,
        index: &ObjectIndex,
        data: &str,
    ) -> Result<(ObjectMeta, bool)> {
        let other: Option<String> = self
            .conn()
            .prepare_cached("SELECT name FROM calendar_object WHERE calendar_id = ?1 AND uid = ?2 AND name != ?3")?
            .query_row(params![calendar.id, index.uid, name], |r| r.get(0))
            .optional()?;
        if let Some(other) = other {
            return Err(StoreError::Conflict(other));
        }
        let existing: Option<i64> = self
            .conn()
            .prepare_cached("SELECT id FROM calendar_object WHERE calendar_id = ?1 AND name = ?2")?
            .query_row(params![calendar.id, name], |r| r.get(0))
            .optional()?;
        let now = now_unix();
        let etag = format!(
            "\"{}\"",
            hex::encode(&Sha256::digest(data.as_bytes())[..12])
        );
        let id = match existing {
            Some(id) => {
                self.conn().execute(
                    "UPDATE calendar_object SET uid = ?2, component = ?3, etag = ?4, size = ?5, data = ?6,
                        first_start = ?7, last_end = ?8, recurring = ?9, modified_at = ?10 WHERE id = ?1",
                    params![id, index.uid, index.component, etag, data.len() as i64, data, index.first_start, index.last_end, index.recurring, now],
                )?;
                self.conn()
                    .execute("DELETE FROM calendar_instance WHERE object_id = ?1", [id])?;
                id
            }
            None => {
                self.conn().execute(
                    "INSERT INTO calendar_object (calendar_id, name, uid, component, etag, size, data, first_start, last_end, recurring, created_at, modified_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
                    params![calendar.id, name, index.uid, index.component, etag, data.len() as i64, data, index.first_start, index.last_end, index.recurring, now],
                )?;
                self.conn().last_insert_rowid()
            }
        };
        let mut insert = self.conn().prepare_cached(
            "INSERT INTO calendar_instance (object_id, start, end) VALUES (?1, ?2, ?3)",
        )?;
        for (s, e) in &index.instances {
            insert.execute(params![id, s, e])?;
        }
        let kind = if existing.is_some() {
            ChangeKind::Updated
        } else {
            ChangeKind::Created
        };
        self.record_change(
            &calendar_scope(calendar.id),
            &format!("{}/{name}", calendar.name),
            kind,
        )?;
        let meta = self
            .calendar_object(calendar.id, name)?
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        Ok((meta, existing.is_none()))
    }

    pub fn delete_calendar_object(&self, calendar: &Calendar, name: &str) -> Result<()> {
        let n = self.conn().execute(
            "DELETE FROM calendar_object WHERE calendar_id = ?1 AND name = ?2",
            params![calendar.id, name],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(name.to_string()));
        }
        self.record_change(
            &calendar_scope(calendar.id),
            &format!("{}/{name}", calendar.name),
            ChangeKind::Destroyed,
        )?;
        Ok(())
    }

    /// Copies an object's data and index into another (or the same) calendar.
    pub fn copy_calendar_object(
        &self,
        from: &Calendar,
        name: &str,
        to: &Calendar,
        to_name: &str,
    ) -> Result<()> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, data, uid, component, first_start, last_end, recurring FROM calendar_object WHERE calendar_id = ?1 AND name = ?2",
                params![from.id, name],
                |r| {
                    let index = ObjectIndex {
                        uid: r.get(2)?,
                        component: r.get(3)?,
                        first_start: r.get(4)?,
                        last_end: r.get(5)?,
                        recurring: r.get(6)?,
                        instances: Vec::new(),
                    };
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, index))
                },
            )
            .optional()?;
        let Some((id, data, mut index)) = row else {
            return Err(StoreError::NotFound(name.to_string()));
        };
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT start, end FROM calendar_instance WHERE object_id = ?1")?;
        index.instances = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        self.put_calendar_object(to, to_name, &index, &data)?;
        Ok(())
    }
}
