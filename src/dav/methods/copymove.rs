//! COPY and MOVE (RFC 4918 §9.8, §9.9) within one file space, honouring `Destination`,
//! `Overwrite` and `Depth`. Checks, the overwrite and the copy share one transaction.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{Depth, depth, parent};
use crate::dav::locks::is_below;
use crate::dav::{Ctx, DavError};

pub async fn copy_or_move(ctx: Ctx, is_move: bool) -> Result<Response, DavError> {
    let dest_header = ctx
        .header("destination")
        .ok_or_else(|| DavError::bad_request("COPY and MOVE need a Destination header"))?;
    let dest = ctx.path_of_href(dest_header).ok_or_else(|| {
        DavError::status(
            StatusCode::BAD_GATEWAY,
            format!("the destination {dest_header} is outside this file space"),
        )
    })?;
    let overwrite = match ctx.header("overwrite").map(str::trim) {
        None | Some("T") | Some("t") => true,
        Some("F") | Some("f") => false,
        Some(v) => {
            return Err(DavError::bad_request(format!(
                "Overwrite: {v} is neither T nor F"
            )));
        }
    };
    let deep = match (is_move, depth(&ctx, Depth::Infinity)?) {
        (_, Depth::Infinity) => true,
        (false, Depth::Zero) => false,
        _ => {
            return Err(DavError::bad_request(
                "COPY takes Depth 0 or infinity, MOVE only infinity",
            ));
        }
    };
    let src = ctx.path.clone();
    if src.is_empty() && is_move {
        return Err(DavError::status(
            StatusCode::FORBIDDEN,
            "the root of a file space cannot move",
        ));
    }
    if dest.is_empty() {
        return Err(DavError::status(
            StatusCode::FORBIDDEN,
            "the destination is the root of the file space",
        ));
    }
    if dest == src || (deep && (src.is_empty() || is_below(&dest, &src))) {
        return Err(DavError::status(
            StatusCode::FORBIDDEN,
            "the destination is the source or inside it",
        ));
    }
    ctx.check_if().await?;
    if is_move {
        ctx.check_locks(&src, true)?;
        ctx.check_locks(parent(&src), false)?;
    }
    ctx.check_locks(&dest, true)?;
    ctx.check_locks(parent(&dest), false)?;

    let (account, space) = (ctx.account.clone(), ctx.space);
    let (s, d) = (src.clone(), dest.clone());
    let replaced = ctx
        .db
        .write_async(move |w| -> Result<bool, DavError> {
            if space.resource(w, &account, &s)?.is_none() {
                return Err(DavError::not_found(format!("nothing at /{s}")));
            }
            let existing = space.resource(w, &account, &d)?;
            if existing.is_some() {
                if !overwrite {
                    return Err(DavError::status(
                        StatusCode::PRECONDITION_FAILED,
                        format!("/{d} exists and Overwrite is F"),
                    ));
                }
                // §9.8.4: an overwrite first deletes the destination.
                space.delete(w, &account, &d)?;
            }
            if is_move {
                space.rename(w, &account, &s, &d)?;
            } else {
                space.copy(w, &account, &s, &d, deep)?;
                super::check_quota(w, &account)?;
            }
            Ok(existing.is_some())
        })
        .await
        .map_err(|e| e.resolve_hrefs(|p| ctx.href(p, false)))?;
    if is_move {
        ctx.state
            .locks
            .forget_tree(&ctx.domain, &ctx.lock_key(&src));
    }
    if replaced {
        ctx.state
            .locks
            .forget_tree(&ctx.domain, &ctx.lock_key(&dest));
    }
    Ok(if replaced {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    }
    .into_response())
}
