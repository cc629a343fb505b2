//! The seam between the generic engine and what it serves: a [`Space`] is one kind of URL
//! space under `/dav/<name>/<owner>/` (the file space now; calendars and address books
//! next). The methods in `methods/` speak only to this trait; a space decides what its
//! resources are, validates what is stored in it, and adds its own live properties.
//!
//! Every operation runs inside a transaction the engine opened, so a space's checks and
//! its write share it, and fails with a [`DavError`] carrying the RFC's precondition.

use axum::http::StatusCode;

use super::Ctx;
use super::DavError;
use super::props::LiveProp;
use super::xml::{Element, Name};
use crate::store::AccountId;
use crate::store::domain::{DomainRead, DomainWrite};
use crate::store::files::DeadProperty;

/// A resource as the engine sees it, whatever space it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The decoded path inside the space: '' for the owner's root, `a/b` below it.
    pub path: String,
    /// Collections have `DAV:collection` plus these in their `DAV:resourcetype`.
    pub collection: Option<Vec<Name>>,
    /// Strong, quoted.
    pub etag: String,
    pub content_type: std::borrow::Cow<'static, str>,
    pub size: i64,
    pub created_at: i64,
    pub modified_at: i64,
    /// For collections: the modseq of their newest change (the sync token and ctag).
    pub sync: Option<i64>,
    /// Space-specific facts its live properties read (e.g. a calendar's components).
    pub attrs: Vec<(&'static str, String)>,
}

impl Resource {
    pub fn is_collection(&self) -> bool {
        self.collection.is_some()
    }

    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A property change of PROPPATCH: namespace, name, and the verbatim element to store
/// (`None` removes it).
pub type PropertyOp = (String, String, Option<String>);

pub trait Space: Send + Sync + 'static {
    /// The path segment after `/dav/`.
    fn name(&self) -> &'static str;
    /// Methods beyond RFC 4918's that the space serves (for `Allow`).
    fn extra_methods(&self) -> &'static [&'static str] {
        &[]
    }
    /// Compliance classes it adds to the `DAV` header (only what it really implements).
    fn compliance_classes(&self) -> &'static [&'static str] {
        &[]
    }
    /// The space's own live properties, beside the engine's generic ones.
    fn live_properties(&self) -> &'static [LiveProp];
    /// The change-log scope that the collection at `path` syncs from (its changes name
    /// paths of the space), or None when it has no sync state.
    fn sync_scope(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<String>, DavError>;

    fn resource(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<Resource>, DavError>;
    /// The direct members of a collection.
    fn members(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Vec<Resource>, DavError>;
    fn dead_properties(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Vec<DeadProperty>, DavError>;
    fn content(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<Vec<u8>>, DavError>;

    /// The representation GET sends of `body` (a resource's content), chosen from the
    /// request (e.g. a card's vCard version from `Accept`): the bytes, and a content type
    /// when they are not the stored representation (GET then sends no ETag).
    fn represent(
        &self,
        _ctx: &Ctx,
        _node: &Resource,
        body: Vec<u8>,
    ) -> (Vec<u8>, Option<&'static str>) {
        (body, None)
    }

    /// Why a write is refused in a space that clients only read: the text of the 403
    /// (`DAV:need-privileges`) the default write methods below answer.
    fn read_only_reason(&self) -> &'static str {
        "this resource is read-only"
    }

    /// The 403 of a refused write (see [`Space::read_only_reason`]).
    fn read_only(&self) -> DavError {
        DavError::condition(
            StatusCode::FORBIDDEN,
            "need-privileges",
            self.read_only_reason(),
        )
    }

    /// Stores a resource; returns it and whether it was created. Read-only by default.
    fn put(
        &self,
        _w: &DomainWrite<'_>,
        _owner: &AccountId,
        _path: &str,
        _content_type: &str,
        _body: &[u8],
    ) -> Result<(Resource, bool), DavError> {
        Err(self.read_only())
    }
    /// Creates a collection with extra resource types (besides `DAV:collection`; empty
    /// for a plain one) and initial properties. Read-only by default.
    fn mkcol(
        &self,
        _w: &DomainWrite<'_>,
        _owner: &AccountId,
        _path: &str,
        _types: &[Name],
        _props: &[PropertyOp],
    ) -> Result<(), DavError> {
        Err(self.read_only())
    }
    /// Read-only by default.
    fn delete(
        &self,
        _w: &DomainWrite<'_>,
        _owner: &AccountId,
        _path: &str,
    ) -> Result<(), DavError> {
        Err(self.read_only())
    }
    /// Copies `from` to the free path `to` (with members when `deep`). Read-only by
    /// default.
    fn copy(
        &self,
        _w: &DomainWrite<'_>,
        _owner: &AccountId,
        _from: &str,
        _to: &str,
        _deep: bool,
    ) -> Result<(), DavError> {
        Err(self.read_only())
    }
    /// Moves `from` to the free path `to`. Read-only by default.
    fn rename(
        &self,
        _w: &DomainWrite<'_>,
        _owner: &AccountId,
        _from: &str,
        _to: &str,
    ) -> Result<(), DavError> {
        Err(self.read_only())
    }
    /// Read-only by default.
    fn patch_properties(
        &self,
        _w: &DomainWrite<'_>,
        _owner: &AccountId,
        _path: &str,
        _ops: &[PropertyOp],
    ) -> Result<(), DavError> {
        Err(self.read_only())
    }

    /// Whether the owner's collections of this space can be granted to others (the
    /// first path segment names the collection); a space without grants is its owner's
    /// alone.
    fn shareable(&self) -> bool {
        self.grant_kind().is_some()
    }

    /// The kind of collection grants name in this space (None: not shareable).
    fn grant_kind(&self) -> Option<crate::store::shares::Collection> {
        None
    }

    /// The collection a grant names for the first path segment `name`: its kind and id.
    fn grant_target(
        &self,
        _r: &DomainRead<'_>,
        _owner: &AccountId,
        _name: &str,
    ) -> Result<Option<(crate::store::shares::Collection, i64)>, DavError> {
        Ok(None)
    }

    /// Reports beyond sync-collection that the space answers on this collection (for
    /// `DAV:supported-report-set`).
    fn report_names(&self, _collection: &Resource) -> Vec<Name> {
        Vec::new()
    }

    /// Runs the report `root` names, if the space has it.
    fn report(&self, _ctx: Ctx, _root: Element) -> Option<ReportFuture> {
        None
    }

    /// Answers a POST whose XML body is `root` (CalendarServer sharing), if the space
    /// takes POSTs; None: 405.
    fn post(&self, _ctx: Ctx, _root: Element) -> Option<ReportFuture> {
        None
    }

    /// Whether resources that are not collections can hold dead properties. When they
    /// cannot (calendar objects, cards), listings do not ask for each member's.
    fn objects_have_dead_properties(&self) -> bool {
        true
    }

    /// Adds to `node` (in the snapshot of a PROPFIND or sync-collection answer) what the
    /// space's live properties among `wanted` need beyond index rows.
    fn decorate(
        &self,
        _r: &DomainRead<'_>,
        _owner: &AccountId,
        _node: &mut Resource,
        _wanted: &[Name],
    ) -> Result<(), DavError> {
        Ok(())
    }
}

/// A running report.
pub type ReportFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<axum::response::Response, DavError>> + Send>,
>;
