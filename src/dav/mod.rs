//! A generic WebDAV engine (RFC 4918 classes 1, 2 and 3) and the per-user WebDAV file space
//! at `/dav/files/<address>/`.
//!
//! The edge work happens once, in [`handle`]: authenticate, decode the path, resolve the
//! space's owner inside the caller's own domain (another domain's address is simply not
//! found there), parse the `If` header. Each method then lives in its own file under
//! `methods/`, reads like the RFC section it cites, and fails with a [`DavError`], which
//! becomes a response in one place. Properties are a table ([`props`]) rather than
//! branches. CalDAV and CardDAV will add their collection types, properties and reports
//! to these tables.

pub mod error;
pub mod files;
pub mod href;
pub mod ifheader;
pub mod locks;
pub(crate) mod methods;
pub mod principals;
pub mod props;
pub mod sharing;
pub mod space;
pub mod xml;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use crate::http::{ApiError, AppState};
use crate::store::{AccountId, DomainDb, DomainId};
pub use error::DavError;
use ifheader::IfHeader;
use space::Space;

/// Where the DAV URL space starts.
pub const ROOT: &str = "/dav/";

/// The spaces under `/dav/`, each `/dav/<name>/<owner address>/…`, as registered by the
/// layer that builds the router (the engine knows none but principals).
pub type Spaces = &'static [&'static dyn Space];

/// The methods the file space implements (the `Allow` header).
pub const ALLOW: &str =
    "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK, REPORT";
/// Compliance classes (RFC 4918 §18): 1, 2 (locks) and 3 (the RFC 4918 revision).
pub const DAV_CLASSES: &str = "1, 2, 3";

pub fn router(spaces: Spaces) -> Router<AppState> {
    Router::new()
        .route("/", any(handle_root))
        // RFC 6764 §5: bootstrapping from a bare host name.
        .route("/.well-known/caldav", any(well_known))
        .route("/.well-known/carddav", any(well_known))
        .route("/dav", any(handle))
        .route("/dav/", any(handle))
        .route("/dav/{*rest}", any(handle))
        .layer(axum::Extension(spaces))
        // iCal 4 and others send PUT bodies with `Content-Encoding: gzip`; the engine's
        // size limits apply to what the body inflates to.
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
}

/// `/.well-known/caldav` and `/.well-known/carddav` point at the DAV root, where PROPFIND finds the principal.
async fn well_known(req: Request) -> Response {
    crate::http::drain(req.into_body()).await;
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, ROOT)]).into_response()
}

/// `/` serves DAV discovery (PROPFIND, OPTIONS, principal searches) only; iOS starts there.
async fn handle_root(
    state: State<AppState>,
    spaces: axum::Extension<Spaces>,
    req: Request,
) -> Response {
    if req.method() == Method::OPTIONS || matches!(req.method().as_str(), "PROPFIND" | "REPORT") {
        handle(state, spaces, req).await
    } else {
        crate::http::drain(req.into_body()).await;
        ApiError::not_found("nothing here: /").into_response()
    }
}

/// What the caller may do in the space addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The caller owns the space.
    Owner,
    /// Another account of the domain, holding a grant on one collection of the owner's
    /// (`collection`, the first path segment): nothing else of the space is reachable.
    Granted {
        collection: String,
        level: crate::store::rights::Level,
    },
}

impl Access {
    /// The caller's level (owners can do everything).
    pub fn level(&self) -> crate::store::rights::Level {
        match self {
            Access::Owner => crate::store::rights::Level::Manage,
            Access::Granted { level, .. } => *level,
        }
    }
}

/// One DAV request, after the edge work.
pub struct Ctx {
    pub state: AppState,
    pub db: Arc<DomainDb>,
    pub domain: DomainId,
    /// The space addressed.
    pub space: &'static dyn Space,
    /// The owner of the space addressed.
    pub account: AccountId,
    /// The owner's primary address: hrefs always use it, whichever address the URL had.
    pub owner: String,
    /// All of the owner's addresses, the primary one first.
    pub owner_addresses: Vec<String>,
    /// The owner's display name (or primary address when none is set).
    pub owner_name: String,
    /// The decoded path inside the space: '' for its root, `a/b` below it.
    pub path: String,
    pub trailing_slash: bool,
    pub method: Method,
    pub headers: HeaderMap,
    pub if_header: Option<IfHeader>,
    /// The caller's primary address (the owner's, unless a grant let another in).
    pub caller: String,
    pub access: Access,
    /// Set when the URL addressed the collection through the caller's own home: hrefs
    /// are written (and read) under it.
    pub mount: Option<Mount>,
}

/// A shared collection seen in the sharee's home: `/dav/<space>/<home>/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The sharee's primary address.
    pub home: String,
    /// The member name in the sharee's home (see [`mount_name`]).
    pub name: String,
}

impl Ctx {
    /// The canonical href of a path of this space.
    pub fn href(&self, path: &str, collection: bool) -> String {
        let mut h = String::with_capacity(ROOT.len() + self.owner.len() + path.len() + 16);
        self.push_href(&mut h, path, collection);
        h
    }

    /// Appends [`Ctx::href`] to `out` (no escaping needed in XML text).
    pub fn push_href(&self, out: &mut String, path: &str, collection: bool) {
        if let (Some(m), Access::Granted { collection: c, .. }) = (&self.mount, &self.access)
            && let Some(rest) = path.strip_prefix(c.as_str())
        {
            out.push_str(ROOT);
            out.push_str(self.space.name());
            out.push('/');
            href::push_segment(out, &m.home);
            out.push('/');
            href::push_path(out, &format!("{}{rest}", m.name));
            if collection {
                out.push('/');
            }
            return;
        }
        out.push_str(ROOT);
        out.push_str(self.space.name());
        out.push('/');
        href::push_segment(out, &self.owner);
        out.push('/');
        if !path.is_empty() {
            href::push_path(out, path);
            if collection {
                out.push('/');
            }
        }
    }

    /// The href of the owner's principal (RFC 3744 §2).
    pub fn principal_href(&self) -> String {
        principal_href(&self.owner)
    }

    /// The href of the caller's principal (RFC 5397 `current-user-principal`).
    pub fn caller_href(&self) -> String {
        principal_href(&self.caller)
    }

    /// Whether a path of this space is within what the caller may reach: all of it for
    /// the owner, the granted collection and its members for a grantee.
    pub fn reachable(&self, path: &str) -> bool {
        match &self.access {
            Access::Owner => true,
            Access::Granted { collection, .. } => {
                path == collection
                    || path
                        .strip_prefix(collection.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }

    /// The key locks use for a path of this space (unique within the domain).
    pub fn lock_key(&self, path: &str) -> String {
        let space = self.space.name();
        if path.is_empty() {
            format!("{space}/{}", self.account)
        } else {
            format!("{space}/{}/{path}", self.account)
        }
    }

    /// The path of this space a lock key names.
    pub fn path_of_lock_key<'k>(&self, key: &'k str) -> &'k str {
        let prefix = format!("{}/{}", self.space.name(), self.account);
        key.strip_prefix(&prefix)
            .map(|r| r.trim_start_matches('/'))
            .unwrap_or(key)
    }

    /// The path of this space that an href or absolute URL names, if any.
    pub fn path_of_href(&self, href: &str) -> Option<String> {
        let path_part = match href.starts_with('/') {
            true => href,
            false => match href.find("://") {
                Some(i) => {
                    let after = &href[i + 3..];
                    &after[after.find('/').unwrap_or(after.len())..]
                }
                None => href,
            },
        };
        let end = memchr::memchr2(b'?', b'#', path_part.as_bytes()).unwrap_or(path_part.len());
        let path_part = &path_part[..end];
        let s = href::segments(path_part).ok()?;
        if let (Some(m), Access::Granted { collection, .. }) = (&self.mount, &self.access) {
            if s.len() < 4
                || s[0] != "dav"
                || s[1] != self.space.name()
                || !s[2].eq_ignore_ascii_case(&m.home)
                || s[3] != m.name
            {
                return None;
            }
            let mut path = collection.clone();
            for seg in &s[4..] {
                path.push('/');
                path.push_str(seg);
            }
            return Some(path);
        }
        if s.len() < 3
            || s[0] != "dav"
            || s[1] != self.space.name()
            || !s[2].eq_ignore_ascii_case(&self.owner)
        {
            return None;
        }
        let path = s[3..].join("/");
        self.reachable(&path).then_some(path)
    }

    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The lock tokens the client submitted in its `If` header.
    pub fn submitted_tokens(&self) -> Vec<String> {
        self.if_header
            .as_ref()
            .map(IfHeader::tokens)
            .unwrap_or_default()
    }

    /// Refuses a write to `path` (and, with `with_members`, below it) that a lock protects
    /// and whose token was not submitted: 423 with `lock-token-submitted`.
    pub fn check_locks(&self, path: &str, with_members: bool) -> Result<(), DavError> {
        let submitted = self.submitted_tokens();
        self.state
            .locks
            .check_write(&self.domain, &self.lock_key(path), with_members, &submitted)
            .map_err(|root| {
                let p = self.path_of_lock_key(&root).to_string();
                DavError::locked(self.href(&p, false))
            })
    }

    /// Evaluates the `If` header (RFC 4918 §10.4); 412 when no list holds.
    pub async fn check_if(&self) -> Result<(), DavError> {
        let Some(h) = &self.if_header else {
            return Ok(());
        };
        // Each resource the header names: the request URI (None) or a tagged href.
        let mut tags: Vec<Option<String>> = h.lists.iter().map(|l| l.resource.clone()).collect();
        tags.dedup();
        let paths: Vec<Option<String>> = tags
            .iter()
            .map(|t| match t {
                None => Some(self.path.clone()),
                Some(r) => self.path_of_href(r),
            })
            .collect();
        let (account, space) = (self.account.clone(), self.space);
        let lookup = paths.clone();
        // Their etags, read in one snapshot.
        let etags = self
            .db
            .read_async(move |r| -> Result<Vec<Option<String>>, DavError> {
                lookup
                    .iter()
                    .map(|p| match p {
                        Some(p) => Ok(space.resource(r, &account, p)?.map(|n| n.etag)),
                        None => Ok(None),
                    })
                    .collect()
            })
            .await?;
        let mut states = std::collections::HashMap::new();
        for ((tag, path), etag) in tags.into_iter().zip(paths).zip(etags) {
            let state = match (path, etag) {
                (Some(p), Some(etag)) => {
                    let tokens = self
                        .state
                        .locks
                        .covering(&self.domain, &self.lock_key(&p))
                        .into_iter()
                        .map(|l| l.token)
                        .collect();
                    Some((Some(etag), tokens))
                }
                _ => None,
            };
            states.insert(tag, state);
        }
        if h.holds(|res| states.get(&res.map(str::to_string)).cloned().flatten()) {
            Ok(())
        } else {
            Err(DavError::status(
                StatusCode::PRECONDITION_FAILED,
                "no list of the If header holds",
            ))
        }
    }
}

pub mod bytes_body {
    //! Reading request bodies with a size limit: 413 past it.
    pub use axum::body::Bytes;

    use super::DavError;
    use axum::http::StatusCode;

    pub async fn read(body: axum::body::Body, limit: usize) -> Result<Bytes, DavError> {
        // Refused on the announced length before anything is read, so a client waiting
        // on `Expect: 100-continue` never sends a body that would be refused anyway.
        if axum::body::HttpBody::size_hint(&body).lower() > limit as u64 {
            return Err(DavError::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {limit} bytes"),
            ));
        }
        axum::body::to_bytes(body, limit).await.map_err(|e| {
            let inner = e.into_inner();
            let too_large = inner.is::<http_body_util::LengthLimitError>()
                || std::error::Error::source(&*inner)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                DavError::status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {limit} bytes"),
                )
            } else {
                DavError::bad_request(format!("the body could not be read: {inner}"))
            }
        })
    }
}

/// OPTIONS answers without credentials: it tells what the server can do, nothing about
/// any resource (RFC 4918 §9.1 / §10.1).
fn options(spaces: Spaces) -> Response {
    let mut allow = ALLOW.to_string();
    let mut dav = DAV_CLASSES.to_string();
    for s in spaces {
        for m in s.extra_methods() {
            allow.push_str(", ");
            allow.push_str(m);
        }
        for c in s.compliance_classes() {
            dav.push_str(", ");
            dav.push_str(c);
        }
    }
    (
        StatusCode::OK,
        [
            (header::ALLOW, allow),
            (header::HeaderName::from_static("dav"), dav),
            (header::CONTENT_LENGTH, "0".into()),
        ],
    )
        .into_response()
}

/// The href of the principal of `address`.
pub fn principal_href(address: &str) -> String {
    format!(
        "{ROOT}{}/{}/",
        principals::PrincipalSpace.name(),
        href::encode_segment(address)
    )
}

async fn handle(
    State(state): State<AppState>,
    axum::Extension(spaces): axum::Extension<Spaces>,
    req: Request,
) -> Response {
    if req.method() == Method::OPTIONS {
        return options(spaces);
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let auth_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let (parts, body) = req.into_parts();
    let principal = match state.auth.authenticate(auth_header.as_deref(), peer).await {
        Ok(p) => p,
        Err(e) => {
            // Clients send a body, get the challenge, and retry on the same connection:
            // read a small body first so the connection stays usable (hyper closes one
            // whose request body was left unread).
            crate::http::drain(body).await;
            return ApiError::from_auth(e, state.auth.realm()).into_response();
        }
    };
    // The whole body is read before anything can refuse the request, for the same reason;
    // PUT may carry an upload, every other method XML (checked again where it is parsed).
    let limit = if parts.method == Method::PUT {
        state.config.http.max_upload_bytes
    } else {
        state.config.http.max_body_bytes
    };
    let body = match bytes_body::read(body, limit).await {
        Ok(bytes) => axum::body::Body::from(bytes),
        Err(e) => return e.into_response(),
    };
    let req = Request::from_parts(parts, body);
    match edge(state, spaces, principal, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

/// What the edge found for the owner named in the URL.
enum Found {
    Nobody,
    /// The caller's own space.
    Own(crate::store::domain::Account),
    /// A collection shared with the caller, addressed in the caller's own home.
    Mounted {
        owner: crate::store::domain::Account,
        home: String,
        collection: String,
        level: crate::store::rights::Level,
    },
    /// Someone else's space: the caller's level on the collection named, and the
    /// caller's primary address.
    Other {
        account: crate::store::domain::Account,
        level: Option<crate::store::rights::Level>,
        me: Option<String>,
    },
}

/// A resource found with its dead properties.
pub(crate) type FoundNode = (space::Resource, Vec<crate::store::files::DeadProperty>);

/// What others shared with `account` (read or more, in force) as members of its own home
/// in `space`: each under its mount name, with the sharer's dead properties and the
/// `grant-level`, `grant-owner` and `grant-name` attributes the properties read.
pub(crate) fn home_mounts(
    space: &dyn Space,
    r: &crate::store::domain::DomainRead<'_>,
    account: &AccountId,
) -> Result<Vec<FoundNode>, DavError> {
    let Some(kind) = space.grant_kind() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (sharer, address, name, level) in r.shared_with(account, kind)? {
        if level < crate::store::rights::Level::Read {
            continue;
        }
        let mount = mount_name(&address, &name);
        // The sharee's own collection wins a name clash; of two sharers' collections
        // under one name, the first (by primary address) does, as at the edge.
        if space.grant_target(r, account, &mount)?.is_some()
            || out.iter().any(|(n, _): &FoundNode| n.path == mount)
        {
            continue;
        }
        let Some(mut n) = space.resource(r, &sharer, &name)? else {
            continue;
        };
        let dead = space.dead_properties(r, &sharer, &name)?;
        n.path = mount;
        n.attrs.push(("grant-level", level.as_str().to_string()));
        n.attrs.push(("grant-owner", address));
        n.attrs.push(("grant-name", name));
        out.push((n, dead));
    }
    Ok(out)
}

/// The name under which a collection shared with someone appears in that one's own home:
/// `<owner's local part>-<collection name>`.
pub fn mount_name(owner_address: &str, collection: &str) -> String {
    crate::store::rights::mount_name(owner_address, collection)
}

async fn edge(
    state: AppState,
    spaces: Spaces,
    principal: crate::auth::Principal,
    req: Request,
) -> Result<Response, DavError> {
    let (parts, body) = req.into_parts();
    let decoded =
        href::decode(parts.uri.path()).map_err(|e| DavError::bad_request(e.to_string()))?;
    let segs = &decoded.segments;
    // `/`, `/dav/` and `/dav/principals/`: where clients start discovery (RFC 5397,
    // clients.md #1).
    if segs.len() < 3
        && (segs.is_empty() || segs[0] == "dav")
        && (segs.len() < 2 || segs[1] == principals::PrincipalSpace.name())
    {
        return principals::discovery_root(&state, &principal, &parts, body).await;
    }
    // segs[0] is "dav".
    let space = match spaces
        .iter()
        .find(|s| segs.len() >= 3 && segs[1] == s.name())
    {
        Some(space) => *space,
        None => {
            return Err(DavError::not_found(format!(
                "no DAV resource at {}",
                parts.uri.path()
            )));
        }
    };
    let owner = crate::names::address(&segs[2])
        .map_err(|_| DavError::not_found(format!("no DAV space of {}", segs[2])))?
        .full;
    let db = state.store.domain_async(&principal.domain_id).await?;
    let path = segs[3..].join("/");
    let first = segs.get(3).filter(|s| !s.is_empty()).cloned();
    // Resolved in the caller's own domain only: another domain's address is not found.
    // Someone else's space: the grant on the collection named, in the same snapshot. The
    // caller's own home: a member that is not its own may be a collection shared with it.
    let found = {
        let owner = owner.clone();
        let caller = principal.account_id.clone();
        let first = first.clone();
        db.read_async(move |r| -> Result<_, DavError> {
            let Some(account) = r.account_by_address(&owner)? else {
                return Ok(Found::Nobody);
            };
            if account.id == caller {
                if let (Some(kind), Some(name)) = (space.grant_kind(), &first)
                    && space.grant_target(r, &account.id, name)?.is_none()
                {
                    let shared = r.shared_with(&caller, kind)?;
                    let hit = shared.into_iter().find(|(_, address, cname, level)| {
                        *level >= crate::store::rights::Level::Read
                            && mount_name(address, cname) == *name
                    });
                    if let Some((owner_id, _, collection, level)) = hit
                        && let Some(owner) = r.account(&owner_id)?
                    {
                        return Ok(Found::Mounted {
                            owner,
                            home: account.primary_address,
                            collection,
                            level,
                        });
                    }
                }
                return Ok(Found::Own(account));
            }
            let mut level = None;
            if let (true, Some(name)) = (space.shareable(), &first)
                && let Some((collection, id)) = space.grant_target(r, &account.id, name)?
            {
                level = r.access_level(collection, id, &caller)?;
            }
            let me = r.account(&caller)?.map(|a| a.primary_address);
            Ok(Found::Other { account, level, me })
        })
        .await?
    };
    let mut path = path;
    // DELETE of a shared collection in the sharee's own home declines it (sharing.rs).
    let mut unmount = false;
    let (account, access, caller, mount) = match found {
        Found::Nobody => {
            return Err(DavError::not_found(format!("no DAV space of {owner}")));
        }
        Found::Own(account) => {
            let me = account.primary_address.clone();
            (account, Access::Owner, me, None)
        }
        Found::Mounted {
            owner,
            home,
            collection,
            level,
        } => {
            // The owner's collection under the sharee's own URL (clients.md #6).
            let name = first.unwrap_or_default();
            path = std::iter::once(collection.as_str())
                .chain(segs[4..].iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("/");
            let access = Access::Granted { collection, level };
            unmount = parts.method == Method::DELETE && segs.len() == 4;
            if !unmount {
                check_privilege(&parts.method, &access, &path, parts.uri.path())?;
            }
            let mount = Mount {
                home: home.clone(),
                name,
            };
            (owner, access, home, Some(mount))
        }
        Found::Other { me: None, .. } => {
            return Err(DavError::not_found("the caller's account is gone"));
        }
        Found::Other {
            account,
            level,
            me: Some(me),
        } => {
            if !space.shareable() {
                return Err(DavError::condition(
                    StatusCode::FORBIDDEN,
                    "need-privileges",
                    format!("{} may not use the spaces of {owner}", principal.login),
                ));
            }
            // No grant (or the home itself): not found, so nothing tells what exists.
            let (Some(level), Some(collection)) = (level, first) else {
                return Err(DavError::not_found(format!(
                    "{me} holds no grant on {}",
                    parts.uri.path()
                )));
            };
            let access = Access::Granted { collection, level };
            check_privilege(&parts.method, &access, &path, parts.uri.path())?;
            (account, access, me, None)
        }
    };
    let if_header = match parts.headers.get("if") {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| DavError::bad_request("the If header is not ASCII"))?;
            Some(IfHeader::parse(v).map_err(|e| DavError::bad_request(e.to_string()))?)
        }
    };
    let ctx = Ctx {
        state,
        db,
        domain: principal.domain_id.clone(),
        space,
        account: account.id,
        owner: account.primary_address.clone(),
        owner_name: if account.display_name.is_empty() {
            account.primary_address.clone()
        } else {
            account.display_name.clone()
        },
        owner_addresses: account.addresses.clone(),
        path,
        trailing_slash: decoded.trailing_slash,
        method: parts.method.clone(),
        headers: parts.headers,
        if_header,
        caller,
        access,
        mount,
    };
    if unmount {
        return sharing::unmount(ctx).await;
    }
    methods::dispatch(ctx, body).await
}

/// The privilege a grantee needs for a method on `path` (RFC 3744 §3, RFC 4791 §6.1.1),
/// checked before anything is read: 403 with `need-privileges` naming the resource and
/// the privilege when the grant's level is below it. A free/busy grant reaches REPORT
/// only, where anything but free-busy-query is refused (`methods/report.rs`).
fn check_privilege(
    method: &Method,
    access: &Access,
    path: &str,
    href: &str,
) -> Result<(), DavError> {
    use crate::store::rights::Level;
    let Access::Granted { collection, level } = access else {
        return Ok(());
    };
    let (needed, privilege) = match method.as_str() {
        "GET" | "HEAD" | "PROPFIND" => (Level::Read, "read"),
        "REPORT" => (Level::Freebusy, "read"),
        "PUT" | "LOCK" => (Level::Write, "write-content"),
        "PROPPATCH" => (Level::Write, "write-properties"),
        "UNLOCK" => (Level::Write, "unlock"),
        "MKCOL" | "MKCALENDAR" | "COPY" => (Level::Write, "bind"),
        "DELETE" | "MOVE" => (Level::Write, "unbind"),
        _ => return Ok(()),
    };
    // The collection itself goes or moves with its owner only.
    let whole = path == collection && matches!(method.as_str(), "DELETE" | "MOVE");
    if *level < needed || whole {
        return Err(DavError::NeedPrivileges {
            href: href.to_string(),
            privilege: xml::Name::dav(privilege),
            reason: format!(
                "{method} on {href} needs {privilege}; the grant gives {}",
                level.as_str()
            ),
        });
    }
    Ok(())
}
