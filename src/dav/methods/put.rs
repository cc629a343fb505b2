//! PUT (RFC 4918 §9.7, RFC 9110 §9.3.4): stores a resource in an existing collection.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{check_quota, parent};
use crate::dav::{Ctx, DavError, bytes_body};

pub async fn put(ctx: Ctx, body: Body) -> Result<Response, DavError> {
    if ctx.path.is_empty() || ctx.trailing_slash {
        return Err(DavError::status(
            StatusCode::METHOD_NOT_ALLOWED,
            "PUT to a collection",
        ));
    }
    ctx.check_if().await?;
    // A new member changes its parent's membership: a lock on the parent protects it.
    ctx.check_locks(&ctx.path, false)?;
    ctx.check_locks(parent(&ctx.path), false)?;
    let bytes = bytes_body::read(body, ctx.state.config.http.max_upload_bytes).await?;
    let content_type = ctx
        .header(header::CONTENT_TYPE)
        .unwrap_or("application/octet-stream")
        .to_string();
    let if_match = ctx.header(header::IF_MATCH).map(str::to_string);
    let if_none_match = ctx.header(header::IF_NONE_MATCH).map(str::to_string);
    let (account, path, space) = (ctx.account.clone(), ctx.path.clone(), ctx.space);
    let (node, created) = ctx
        .db
        .write_async(move |w| {
            // Conditional headers are checked in the transaction that writes.
            let current = space.resource(w, &account, &path)?;
            if let Some(im) = &if_match {
                let ok = match &current {
                    Some(n) => im.trim() == "*" || im.split(',').any(|t| t.trim() == n.etag),
                    None => false,
                };
                if !ok {
                    return Err(DavError::status(
                        StatusCode::PRECONDITION_FAILED,
                        "If-Match does not match the current resource",
                    ));
                }
            }
            if let Some(inm) = &if_none_match
                && let Some(n) = &current
                && (inm.trim() == "*" || inm.split(',').any(|t| t.trim() == n.etag))
            {
                return Err(DavError::status(
                    StatusCode::PRECONDITION_FAILED,
                    "If-None-Match: the resource exists",
                ));
            }
            let stored = space.put(w, &account, &path, &content_type, &bytes)?;
            // Checked after the write, in its transaction: over quota rolls it back.
            check_quota(w, &account)?;
            Ok(stored)
        })
        .await
        .map_err(|e| e.resolve_hrefs(|p| ctx.href(p, false)))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    };
    // RFC 4791 §5.3.4, RFC 6352 §6.3.2.3: no ETag when the server stored something other
    // than the body it was sent (clients.md #11).
    if node.attr("altered").is_some() {
        return Ok(status.into_response());
    }
    Ok((status, [(header::ETAG, node.etag)]).into_response())
}
