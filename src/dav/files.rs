//! The file space: `/dav/files/<address>/`, a plain WebDAV tree per user where MKCOL, PUT
//! of any content type, COPY/MOVE and LOCK work (where litmus exercises the engine).

use axum::http::StatusCode;

use super::DavError;
use super::props::LiveProp;
use super::space::{PropertyOp, Resource, Space};
use super::xml::Name;
use crate::store::domain::{DomainRead, DomainWrite};
use crate::store::files::{self, DeadProperty, FileNode};
use crate::store::{AccountId, StoreError};

pub struct FileSpace;

fn resource(n: FileNode, sync: Option<i64>) -> Resource {
    Resource {
        path: n.path,
        collection: n.is_collection.then(Vec::new),
        etag: n.etag,
        content_type: n.content_type.into(),
        size: n.size,
        created_at: n.created_at,
        modified_at: n.modified_at,
        sync,
        attrs: Vec::new(),
    }
}

/// A node as a resource; collections carry their space's sync state.
fn with_sync(r: &DomainRead<'_>, owner: &AccountId, n: FileNode) -> Result<Resource, DavError> {
    let sync = if n.is_collection {
        Some(r.scope_modseq(&files::scope(owner))?.0)
    } else {
        None
    };
    Ok(resource(n, sync))
}

/// A missing parent is 409 (RFC 4918 §9.7.1, §9.3.1); the rest passes through.
fn parent_conflict(e: StoreError) -> DavError {
    match e {
        StoreError::NotFound(what) => {
            DavError::conflict(format!("no {what}: create it with MKCOL first"))
        }
        e => e.into(),
    }
}

impl Space for FileSpace {
    fn name(&self) -> &'static str {
        "files"
    }

    fn live_properties(&self) -> &'static [LiveProp] {
        &[]
    }

    fn sync_scope(
        &self,
        _: &DomainRead<'_>,
        owner: &AccountId,
        _: &str,
    ) -> Result<Option<String>, DavError> {
        Ok(Some(files::scope(owner)))
    }

    fn resource(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<Resource>, DavError> {
        r.file_node(owner, path)?
            .map(|n| with_sync(r, owner, n))
            .transpose()
    }

    fn members(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Vec<Resource>, DavError> {
        r.file_members(owner, path)?
            .into_iter()
            .map(|n| with_sync(r, owner, n))
            .collect()
    }

    fn dead_properties(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Vec<DeadProperty>, DavError> {
        Ok(r.file_properties(owner, path)?)
    }

    fn content(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<Vec<u8>>, DavError> {
        Ok(r.file_body(owner, path)?)
    }

    fn put(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<(Resource, bool), DavError> {
        let (node, created) = w
            .file_put(owner, path, content_type, body)
            .map_err(|e| match e {
                // §9.7.2: PUT to an existing collection.
                StoreError::Conflict(what) => {
                    DavError::status(StatusCode::METHOD_NOT_ALLOWED, what)
                }
                e => parent_conflict(e),
            })?;
        Ok((resource(node, None), created))
    }

    fn mkcol(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        path: &str,
        types: &[Name],
        props: &[PropertyOp],
    ) -> Result<(), DavError> {
        if let Some(t) = types.first() {
            // RFC 5689 §3.3: the file space holds plain collections only.
            return Err(DavError::condition(
                StatusCode::FORBIDDEN,
                "valid-resourcetype",
                format!("no {t} collections in the file space"),
            ));
        }
        w.file_mkcol(owner, path).map_err(|e| match e {
            // §9.3.1: 405 when the URL is already mapped.
            StoreError::Conflict(what) => DavError::status(StatusCode::METHOD_NOT_ALLOWED, what),
            e => parent_conflict(e),
        })?;
        if !props.is_empty() {
            w.file_patch_properties(owner, path, props)?;
        }
        Ok(())
    }

    fn delete(&self, w: &DomainWrite<'_>, owner: &AccountId, path: &str) -> Result<(), DavError> {
        w.file_delete(owner, path).map_err(|e| match e {
            StoreError::NotFound(what) => DavError::not_found(format!("nothing at {what}")),
            e => e.into(),
        })
    }

    fn copy(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        from: &str,
        to: &str,
        deep: bool,
    ) -> Result<(), DavError> {
        w.file_copy(owner, from, to, deep).map_err(parent_conflict)
    }

    fn rename(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        from: &str,
        to: &str,
    ) -> Result<(), DavError> {
        w.file_move(owner, from, to).map_err(parent_conflict)
    }

    fn patch_properties(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        path: &str,
        ops: &[PropertyOp],
    ) -> Result<(), DavError> {
        w.file_patch_properties(owner, path, ops)
            .map_err(|e| match e {
                StoreError::NotFound(what) => DavError::not_found(format!("nothing at {what}")),
                e => e.into(),
            })
    }
}
