//! DELETE (RFC 4918 §9.6): removes a resource, or a collection with all its members.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::parent;
use crate::dav::{Ctx, DavError};

pub async fn delete(ctx: Ctx) -> Result<Response, DavError> {
    if ctx.path.is_empty() {
        return Err(DavError::status(
            StatusCode::FORBIDDEN,
            "the root of a file space cannot be deleted",
        ));
    }
    ctx.check_if().await?;
    ctx.check_locks(&ctx.path, true)?;
    ctx.check_locks(parent(&ctx.path), false)?;
    let (account, path, space) = (ctx.account.clone(), ctx.path.clone(), ctx.space);
    ctx.db
        .write_async(move |w| space.delete(w, &account, &path))
        .await?;
    // A deleted resource's locks go with it (RFC 4918 §9.6.1).
    ctx.state
        .locks
        .forget_tree(&ctx.domain, &ctx.lock_key(&ctx.path));
    Ok(StatusCode::NO_CONTENT.into_response())
}
