//! GET and HEAD (RFC 4918 §9.4, RFC 9110 §9.3.1): a resource's body, or a plain listing
//! of a collection.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::dav::{Ctx, DavError};
use crate::timefmt;

pub async fn get(ctx: Ctx, head: bool) -> Result<Response, DavError> {
    let (account, path, space) = (ctx.account.clone(), ctx.path.clone(), ctx.space);
    let found = ctx
        .db
        .read_async(move |r| -> Result<_, DavError> {
            let Some(node) = space.resource(r, &account, &path)? else {
                return Ok(None);
            };
            // A collection with content of its own (a whole calendar) serves it; other
            // collections get a listing.
            let body = match space.content(r, &account, &path)? {
                Some(bytes) => Ok(bytes),
                None if node.is_collection() => Err(space.members(r, &account, &path)?),
                None => Ok(Vec::new()),
            };
            Ok(Some((node, body)))
        })
        .await?;
    let Some((node, body)) = found else {
        return Err(DavError::not_found(format!("nothing at /{}", ctx.path)));
    };
    if let Some(inm) = ctx.header(header::IF_NONE_MATCH)
        && (inm.trim() == "*" || inm.split(',').any(|t| t.trim() == node.etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, node.etag)]).into_response());
    }
    if let Some(im) = ctx.header(header::IF_MATCH)
        && im.trim() != "*"
        && !im.split(',').any(|t| t.trim() == node.etag)
    {
        return Err(DavError::status(
            StatusCode::PRECONDITION_FAILED,
            "If-Match does not match",
        ));
    }
    match body {
        Ok(bytes) => {
            let (bytes, converted) = ctx.space.represent(&ctx, &node, bytes);
            let len = bytes.len().to_string();
            let ctype = match converted {
                Some(ctype) => ctype.to_string(),
                None if node.content_type.is_empty() => "application/octet-stream".to_string(),
                None => node.content_type.to_string(),
            };
            let body = if head {
                Body::empty()
            } else {
                Body::from(bytes)
            };
            let mut response = (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, ctype),
                    (header::LAST_MODIFIED, timefmt::http_date(node.modified_at)),
                    (header::CONTENT_LENGTH, len),
                ],
                body,
            )
                .into_response();
            // The ETag names the stored representation; a converted one gets none.
            if converted.is_none()
                && let Ok(etag) = header::HeaderValue::from_str(&node.etag)
            {
                response.headers_mut().insert(header::ETAG, etag);
            }
            Ok(response)
        }
        Err(members) => {
            let mut html = String::from(
                "<!DOCTYPE html>\n<meta charset=\"utf-8\"><title>Index</title>\n<ul>\n",
            );
            for m in &members {
                let name = m.path.rsplit('/').next().unwrap_or(&m.path);
                let href = ctx.href(&m.path, m.is_collection());
                let shown = quick_xml::escape::escape(name);
                html.push_str(&format!(
                    "<li><a href=\"{href}\">{shown}{}</a></li>\n",
                    if m.is_collection() { "/" } else { "" }
                ));
            }
            html.push_str("</ul>\n");
            let body = if head { String::new() } else { html };
            Ok((
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
                    (header::ETAG, node.etag),
                ],
                body,
            )
                .into_response())
        }
    }
}
