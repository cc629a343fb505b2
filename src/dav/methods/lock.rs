//! LOCK and UNLOCK (RFC 4918 §9.10, §9.11): write locks, exclusive or shared, depth 0 or
//! infinity, refreshed by a bodiless LOCK with the token in `If`. Locking an unmapped URL
//! creates an empty resource (§7.3).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Depth, depth, parent, read_xml};
use crate::dav::locks::{LockError, Scope, parse_timeout};
use crate::dav::props::write_activelock;
use crate::dav::xml::{DAV, Name, XmlOut};
use crate::dav::{Ctx, DavError};

fn lock_response(ctx: &Ctx, lock: &crate::dav::locks::Lock, status: StatusCode) -> Response {
    let mut out = XmlOut::new();
    out.open(&Name::dav("prop"))
        .open(&Name::dav("lockdiscovery"));
    write_activelock(ctx, lock, &mut out);
    let body = out.finish();
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", lock.token)) {
        resp.headers_mut().insert("lock-token", v);
    }
    resp
}

pub async fn lock(ctx: Ctx, body: Body) -> Result<Response, DavError> {
    let timeout = parse_timeout(ctx.header("timeout"));
    let parsed = read_xml(&ctx, body).await?;
    let Some((bytes, root)) = parsed else {
        // §9.10.2: a refresh names its lock in the If header.
        let tokens = ctx.submitted_tokens();
        if tokens.is_empty() {
            return Err(DavError::bad_request(
                "a LOCK without a body refreshes a lock: send its token in an If header",
            ));
        }
        ctx.check_if().await?;
        let key = ctx.lock_key(&ctx.path);
        let refreshed = tokens
            .iter()
            .find_map(|t| ctx.state.locks.refresh(&ctx.domain, &key, t, timeout));
        return match refreshed {
            Some(lock) => Ok(lock_response(&ctx, &lock, StatusCode::OK)),
            None => Err(DavError::condition(
                StatusCode::PRECONDITION_FAILED,
                "lock-token-matches-request-uri",
                "no lock with that token covers this resource",
            )),
        };
    };
    if !root.name.is_dav("lockinfo") {
        return Err(DavError::bad_request(format!(
            "expected DAV:lockinfo, found {}",
            root.name
        )));
    }
    let scope = match root.child(DAV, "lockscope") {
        Some(s) if s.child(DAV, "exclusive").is_some() => Scope::Exclusive,
        Some(s) if s.child(DAV, "shared").is_some() => Scope::Shared,
        _ => {
            return Err(DavError::bad_request(
                "DAV:lockinfo needs a lockscope of exclusive or shared",
            ));
        }
    };
    if root
        .child(DAV, "locktype")
        .and_then(|t| t.child(DAV, "write"))
        .is_none()
    {
        return Err(DavError::bad_request(
            "only write locks exist (DAV:locktype/DAV:write)",
        ));
    }
    let owner = root.child(DAV, "owner").map(|o| o.verbatim(&bytes));
    let infinite = match depth(&ctx, Depth::Infinity)? {
        Depth::Infinity => true,
        Depth::Zero => false,
        Depth::One => return Err(DavError::bad_request("LOCK takes Depth 0 or infinity")),
    };
    ctx.check_if().await?;

    let (account, path, space) = (ctx.account.clone(), ctx.path.clone(), ctx.space);
    let exists = ctx
        .db
        .read_async(move |r| space.resource(r, &account, &path))
        .await?
        .is_some();
    if !exists {
        // The empty resource becomes a member of its collection: that needs its lock too.
        ctx.check_locks(parent(&ctx.path), false)?;
    }
    let key = ctx.lock_key(&ctx.path);
    let lock = ctx
        .state
        .locks
        .create(&ctx.domain, &key, scope, infinite, owner, timeout)
        .map_err(|e| match e {
            LockError::Conflict(root) => {
                let p = ctx.path_of_lock_key(&root).to_string();
                DavError::Condition {
                    status: StatusCode::LOCKED,
                    element: Name::dav("no-conflicting-lock"),
                    hrefs: vec![ctx.href(&p, false)],
                    reason: "an incompatible lock exists".into(),
                }
            }
            LockError::TooMany => DavError::status(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many locks in this domain",
            ),
        })?;
    let mut created = false;
    if !exists {
        // §7.3: locking an unmapped URL creates an empty resource in an existing collection.
        let (account, path) = (ctx.account.clone(), ctx.path.clone());
        let made = ctx
            .db
            .write_async(move |w| -> Result<bool, DavError> {
                if space.resource(w, &account, &path)?.is_some() {
                    return Ok(false);
                }
                space.put(w, &account, &path, "application/octet-stream", b"")?;
                Ok(true)
            })
            .await;
        match made {
            Ok(c) => created = c,
            Err(e) => {
                ctx.state.locks.remove(&ctx.domain, &key, &lock.token);
                return Err(e);
            }
        }
    }
    Ok(lock_response(
        &ctx,
        &lock,
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
    ))
}

pub async fn unlock(ctx: Ctx) -> Result<Response, DavError> {
    let token = ctx
        .header("lock-token")
        .map(|t| {
            t.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| DavError::bad_request("UNLOCK needs a Lock-Token header"))?;
    if ctx
        .state
        .locks
        .remove(&ctx.domain, &ctx.lock_key(&ctx.path), &token)
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(DavError::condition(
            StatusCode::CONFLICT,
            "lock-token-matches-request-uri",
            "no lock with that token covers this resource",
        ))
    }
}
