//! The WebDAV file space of each account: a tree of collections and resources addressed by
//! decoded relative paths, with dead properties. Paths are `''` for the root and
//! `a/b/c` below it; callers validate segments (no `.`/`..`, no `/` inside a segment).
//!
//! Every change is recorded in the domain's change log under the scope
//! `files:<account-id>`, so the space has a sync token like every collection will.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::domain::{ChangeKind, DomainRead, DomainWrite};
use super::{AccountId, Result, StoreError, now_unix};

/// A collection or resource of a file space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNode {
    pub path: String,
    pub is_collection: bool,
    pub content_type: String,
    pub size: i64,
    pub etag: String,
    pub created_at: i64,
    pub modified_at: i64,
}

/// A dead property: namespace, local name, and the element as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadProperty {
    pub ns: String,
    pub name: String,
    pub xml: String,
}

/// The parent path of `path` ('' for top-level members and for the root itself).
pub fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(p, _)| p).unwrap_or("")
}

/// The change-log scope of an account's file space; changes name paths.
pub fn scope(account: &AccountId) -> String {
    format!("files:{account}")
}

fn content_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..12]))
}

const NODE_COLUMNS: &str = "path, is_collection, content_type, size, etag, created_at, modified_at";

fn node_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileNode> {
    Ok(FileNode {
        path: r.get(0)?,
        is_collection: r.get(1)?,
        content_type: r.get(2)?,
        size: r.get(3)?,
        etag: r.get(4)?,
        created_at: r.get(5)?,
        modified_at: r.get(6)?,
    })
}

/// The root of a space exists implicitly until something is stored in it.
fn virtual_root() -> FileNode {
    FileNode {
        path: String::new(),
        is_collection: true,
        content_type: String::new(),
        size: 0,
        etag: "\"root-0\"".into(),
        created_at: 0,
        modified_at: 0,
    }
}

/// `LIKE`-free range bounds for the members of `path` at any depth.
fn subtree_bounds(path: &str) -> (String, String) {
    // '/' is 0x2F and '0' is 0x30: every "path/…" string sorts in ["path/", "path0").
    (format!("{path}/"), format!("{path}0"))
}

impl DomainRead<'_> {
    fn file_id(&self, account: &AccountId, path: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT id FROM dav_file WHERE account_id = ?1 AND path = ?2")?
            .query_row(params![account.as_str(), path], |r| r.get(0))
            .optional()?)
    }

    pub fn file_node(&self, account: &AccountId, path: &str) -> Result<Option<FileNode>> {
        let node = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {NODE_COLUMNS} FROM dav_file WHERE account_id = ?1 AND path = ?2"
            ))?
            .query_row(params![account.as_str(), path], node_from_row)
            .optional()?;
        Ok(node.or_else(|| path.is_empty().then(virtual_root)))
    }

    /// The direct members of a collection, ordered by path.
    pub fn file_members(&self, account: &AccountId, path: &str) -> Result<Vec<FileNode>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {NODE_COLUMNS} FROM dav_file WHERE account_id = ?1 AND parent = ?2 AND path != '' ORDER BY path"
        ))?;
        let rows = stmt.query_map(params![account.as_str(), path], node_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A collection and everything below it (or the one resource), parents first.
    pub fn file_tree(&self, account: &AccountId, path: &str) -> Result<Vec<FileNode>> {
        let Some(top) = self.file_node(account, path)? else {
            return Ok(Vec::new());
        };
        let mut out = vec![top];
        if path.is_empty() {
            let mut stmt = self.conn().prepare_cached(&format!(
                "SELECT {NODE_COLUMNS} FROM dav_file WHERE account_id = ?1 AND path != '' ORDER BY path"
            ))?;
            let rows = stmt.query_map(params![account.as_str()], node_from_row)?;
            out.extend(rows.collect::<Result<Vec<_>, _>>()?);
        } else {
            let (lo, hi) = subtree_bounds(path);
            let mut stmt = self.conn().prepare_cached(&format!(
                "SELECT {NODE_COLUMNS} FROM dav_file WHERE account_id = ?1 AND path >= ?2 AND path < ?3 ORDER BY path"
            ))?;
            let rows = stmt.query_map(params![account.as_str(), lo, hi], node_from_row)?;
            out.extend(rows.collect::<Result<Vec<_>, _>>()?);
        }
        Ok(out)
    }

    pub fn file_body(&self, account: &AccountId, path: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT body FROM dav_file WHERE account_id = ?1 AND path = ?2 AND is_collection = 0")?
            .query_row(params![account.as_str(), path], |r| r.get::<_, Option<Vec<u8>>>(0))
            .optional()?
            .flatten())
    }

    pub fn file_properties(&self, account: &AccountId, path: &str) -> Result<Vec<DeadProperty>> {
        let Some(id) = self.file_id(account, path)? else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT ns, name, xml FROM dav_file_property WHERE file_id = ?1 ORDER BY ns, name",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(DeadProperty {
                ns: r.get(0)?,
                name: r.get(1)?,
                xml: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Bytes stored in an account's file space (for quotas).
    pub fn file_usage(&self, account: &AccountId) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT coalesce(sum(size), 0) FROM dav_file WHERE account_id = ?1",
            [account.as_str()],
            |r| r.get(0),
        )?)
    }
}

impl DomainWrite<'_> {
    /// Makes the root row exist (it is virtual until something needs it).
    fn ensure_root(&self, account: &AccountId) -> Result<i64> {
        if let Some(id) = self.file_id(account, "")? {
            return Ok(id);
        }
        let now = now_unix();
        self.conn().execute(
            "INSERT INTO dav_file (account_id, path, parent, is_collection, etag, created_at, modified_at)
             VALUES (?1, '', '', 1, '\"root-0\"', ?2, ?2)",
            params![account.as_str(), now],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    fn require_parent(&self, account: &AccountId, path: &str) -> Result<()> {
        let parent = parent_of(path);
        match self.file_node(account, parent)? {
            Some(n) if n.is_collection => {
                if parent.is_empty() {
                    self.ensure_root(account)?;
                }
                Ok(())
            }
            _ => Err(StoreError::NotFound(format!("parent collection /{parent}"))),
        }
    }

    /// Stores a resource, creating or replacing it. The parent must be a collection
    /// ([`StoreError::NotFound`] otherwise); a collection at `path` is a conflict.
    /// Returns the stored node and whether it was created.
    pub fn file_put(
        &self,
        account: &AccountId,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<(FileNode, bool)> {
        self.require_parent(account, path)?;
        let existing = self.file_node(account, path)?;
        if existing.as_ref().is_some_and(|n| n.is_collection) {
            return Err(StoreError::Conflict(format!("/{path} is a collection")));
        }
        let now = now_unix();
        let etag = content_etag(body);
        self.conn().execute(
            "INSERT INTO dav_file (account_id, path, parent, is_collection, content_type, body, size, etag, created_at, modified_at)
             VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (account_id, path) DO UPDATE SET
                content_type = excluded.content_type, body = excluded.body, size = excluded.size,
                etag = excluded.etag, modified_at = excluded.modified_at",
            params![account.as_str(), path, parent_of(path), content_type, body, body.len() as i64, etag, now],
        )?;
        let created = existing.is_none();
        let kind = if created {
            ChangeKind::Created
        } else {
            ChangeKind::Updated
        };
        self.record_change(&scope(account), path, kind)?;
        let node = self
            .file_node(account, path)?
            .ok_or_else(|| StoreError::NotFound(path.to_string()))?;
        Ok((node, created))
    }

    /// Creates a collection. Its parent must be a collection; the path must be free
    /// ([`StoreError::Conflict`] otherwise).
    pub fn file_mkcol(&self, account: &AccountId, path: &str) -> Result<FileNode> {
        if path.is_empty() || self.file_node(account, path)?.is_some() {
            return Err(StoreError::Conflict(format!("/{path} exists")));
        }
        self.require_parent(account, path)?;
        let now = now_unix();
        let etag = format!("\"c{}-{now}\"", self.modseq()?.0 + 1);
        self.conn().execute(
            "INSERT INTO dav_file (account_id, path, parent, is_collection, etag, created_at, modified_at)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?5)",
            params![account.as_str(), path, parent_of(path), etag, now],
        )?;
        self.record_change(&scope(account), path, ChangeKind::Created)?;
        self.file_node(account, path)?
            .ok_or_else(|| StoreError::NotFound(path.to_string()))
    }

    /// Deletes a resource, or a collection with everything in it. The root cannot go.
    pub fn file_delete(&self, account: &AccountId, path: &str) -> Result<()> {
        if path.is_empty() {
            return Err(StoreError::Conflict("the root of a file space".into()));
        }
        let (lo, hi) = subtree_bounds(path);
        let n = self.conn().execute(
            "DELETE FROM dav_file WHERE account_id = ?1 AND (path = ?2 OR (path >= ?3 AND path < ?4))",
            params![account.as_str(), path, lo, hi],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("/{path}")));
        }
        self.record_change(&scope(account), path, ChangeKind::Destroyed)?;
        Ok(())
    }

    /// Copies `from` (with its members when `deep`) to `to`, with dead properties. The
    /// destination must be free (delete it first to overwrite) and its parent a collection.
    pub fn file_copy(&self, account: &AccountId, from: &str, to: &str, deep: bool) -> Result<()> {
        if to.is_empty() || self.file_node(account, to)?.is_some() {
            return Err(StoreError::Conflict(format!("/{to} exists")));
        }
        self.require_parent(account, to)?;
        let tree = self.file_tree(account, from)?;
        if tree.is_empty() {
            return Err(StoreError::NotFound(format!("/{from}")));
        }
        let now = now_unix();
        for node in tree.iter().take(if deep { usize::MAX } else { 1 }) {
            let rel = &node.path[from.len()..];
            let target = format!("{to}{rel}");
            let src_id = self.file_id(account, &node.path)?;
            self.conn().execute(
                "INSERT INTO dav_file (account_id, path, parent, is_collection, content_type, body, size, etag, created_at, modified_at)
                 SELECT account_id, ?3, ?4, is_collection, content_type, body, size,
                        CASE WHEN is_collection THEN '\"c' || ?5 || '-' || ?6 || '\"' ELSE etag END, ?6, ?6
                 FROM dav_file WHERE account_id = ?1 AND path = ?2",
                params![account.as_str(), node.path, target, parent_of(&target), self.modseq()?.0 + 1, now],
            )?;
            if node.path.is_empty() {
                // The virtual root has no row: the copy is a fresh collection.
                self.conn().execute(
                    "INSERT OR IGNORE INTO dav_file (account_id, path, parent, is_collection, etag, created_at, modified_at)
                     VALUES (?1, ?2, ?3, 1, '\"c0\"', ?4, ?4)",
                    params![account.as_str(), target, parent_of(&target), now],
                )?;
            }
            let new_id = self.conn().last_insert_rowid();
            if let Some(src) = src_id {
                self.conn().execute(
                    "INSERT INTO dav_file_property (file_id, ns, name, xml) SELECT ?1, ns, name, xml FROM dav_file_property WHERE file_id = ?2",
                    params![new_id, src],
                )?;
            }
        }
        self.record_change(&scope(account), to, ChangeKind::Created)?;
        Ok(())
    }

    /// Moves `from` and everything below it to `to` (which must be free), keeping ids and
    /// so dead properties.
    pub fn file_move(&self, account: &AccountId, from: &str, to: &str) -> Result<()> {
        if from.is_empty() || to.is_empty() || self.file_node(account, to)?.is_some() {
            return Err(StoreError::Conflict(format!("/{to} exists")));
        }
        self.require_parent(account, to)?;
        let (lo, hi) = subtree_bounds(from);
        let n = self.conn().execute(
            "UPDATE dav_file SET path = ?3 || substr(path, length(?2) + 1),
                                 parent = CASE WHEN path = ?2 THEN ?6 ELSE ?3 || substr(parent, length(?2) + 1) END
             WHERE account_id = ?1 AND (path = ?2 OR (path >= ?4 AND path < ?5))",
            params![account.as_str(), from, to, lo, hi, parent_of(to)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("/{from}")));
        }
        self.record_change(&scope(account), from, ChangeKind::Destroyed)?;
        self.record_change(&scope(account), to, ChangeKind::Created)?;
        Ok(())
    }

    /// Sets (`Some(xml)`) and removes (`None`) dead properties, all or nothing.
    pub fn file_patch_properties(
        &self,
        account: &AccountId,
        path: &str,
        ops: &[(String, String, Option<String>)],
    ) -> Result<()> {
        if self.file_node(account, path)?.is_none() {
            return Err(StoreError::NotFound(format!("/{path}")));
        }
        let id = match self.file_id(account, path)? {
            Some(id) => id,
            None => self.ensure_root(account)?,
        };
        self.patch_dead_properties("dav_file_property", "file_id", &id, ops)?;
        self.record_change(&scope(account), path, ChangeKind::Updated)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DomainDb, DomainId, StoreConfig};

    fn open() -> (tempfile::TempDir, DomainDb, AccountId) {
        let dir = tempfile::tempdir().unwrap();
        let db = DomainDb::open(
            DomainId::generate(),
            &dir.path().join("d.sqlite"),
            &StoreConfig::default(),
            true,
        )
        .unwrap();
        let id = db.write(|w| w.create_account("a@x.test", "", "h")).unwrap();
        (dir, db, id)
    }

    #[test]
    fn put_mkcol_copy_move_delete() {
        let (_d, db, a) = open();
        let w = |f: &dyn Fn(&DomainWrite<'_>) -> Result<()>| db.write(|w| f(w));
        w(&|w| w.file_mkcol(&a, "docs").map(|_| ())).unwrap();
        w(&|w| {
            w.file_put(&a, "docs/x.txt", "text/plain", b"hello")
                .map(|_| ())
        })
        .unwrap();
        w(&|w| {
            w.file_patch_properties(
                &a,
                "docs/x.txt",
                &[(
                    "urn:z".into(),
                    "p".into(),
                    Some("<p xmlns=\"urn:z\">1</p>".into()),
                )],
            )
        })
        .unwrap();
        assert!(matches!(
            w(&|w| w.file_put(&a, "nope/x", "", b"").map(|_| ())),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            w(&|w| w.file_mkcol(&a, "docs").map(|_| ())),
            Err(StoreError::Conflict(_))
        ));

        w(&|w| w.file_copy(&a, "docs", "copy", true)).unwrap();
        assert_eq!(
            db.read(|r| r.file_body(&a, "copy/x.txt")).unwrap().unwrap(),
            b"hello"
        );
        assert_eq!(
            db.read(|r| r.file_properties(&a, "copy/x.txt"))
                .unwrap()
                .len(),
            1
        );
        w(&|w| w.file_move(&a, "copy", "docs/moved")).unwrap();
        assert!(db.read(|r| r.file_node(&a, "copy")).unwrap().is_none());
        let moved = db.read(|r| r.file_members(&a, "docs/moved")).unwrap();
        assert_eq!(
            moved.iter().map(|n| n.path.as_str()).collect::<Vec<_>>(),
            ["docs/moved/x.txt"]
        );
        assert_eq!(
            db.read(|r| r.file_properties(&a, "docs/moved/x.txt"))
                .unwrap()
                .len(),
            1
        );
        // A sibling whose name extends the deleted one survives.
        w(&|w| w.file_put(&a, "docsx", "", b"keep").map(|_| ())).unwrap();
        w(&|w| w.file_delete(&a, "docs")).unwrap();
        let left = db.read(|r| r.file_tree(&a, "")).unwrap();
        assert_eq!(
            left.iter().map(|n| n.path.as_str()).collect::<Vec<_>>(),
            ["", "docsx"]
        );
    }
}
