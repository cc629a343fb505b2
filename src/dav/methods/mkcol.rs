//! MKCOL (RFC 4918 §9.3): creates a collection. A body asks for extended MKCOL (RFC
//! 5689), which the file space does not offer: 415.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::parent;
use crate::dav::{Ctx, DavError, bytes_body};

pub async fn mkcol(ctx: Ctx, body: Body) -> Result<Response, DavError> {
    let bytes = bytes_body::read(body, ctx.state.config.http.max_body_bytes).await?;
    if !bytes.is_empty() {
        return Err(DavError::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "MKCOL with a body is not supported here",
        ));
    }
    if ctx.path.is_empty() {
        return Err(DavError::status(
            StatusCode::METHOD_NOT_ALLOWED,
            "the root of the file space exists",
        ));
    }
    ctx.check_if().await?;
    ctx.check_locks(parent(&ctx.path), false)?;
    let (account, path, space) = (ctx.account.clone(), ctx.path.clone(), ctx.space);
    ctx.db
        .write_async(move |w| space.mkcol(w, &account, &path))
        .await?;
    Ok(StatusCode::CREATED.into_response())
}
