//! PROPPATCH (RFC 4918 §9.2): sets and removes properties in document order, all or
//! nothing. Dead properties are stored verbatim; live ones are protected here, so asking
//! to change one fails the whole request (403 for it, 424 for the others).

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;

use super::{multistatus, read_xml, status_line};
use crate::dav::props;
use crate::dav::space::PropertyOp;
use crate::dav::xml::{DAV, Name, XmlOut};
use crate::dav::{Ctx, DavError};

/// Most properties changed by one PROPPATCH.
const MAX_OPS: usize = 1000;
/// Largest value of one dead property, in bytes.
const MAX_VALUE: usize = 64 * 1024;

pub async fn proppatch(ctx: Ctx, body: Body) -> Result<Response, DavError> {
    let Some((bytes, root)) = read_xml(&ctx, body).await? else {
        return Err(DavError::bad_request(
            "PROPPATCH needs a DAV:propertyupdate body",
        ));
    };
    if !root.name.is_dav("propertyupdate") {
        return Err(DavError::bad_request(format!(
            "expected DAV:propertyupdate, found {}",
            root.name
        )));
    }
    // (name, Some(verbatim xml) to set / None to remove), in document order.
    let mut ops: Vec<(Name, Option<String>)> = Vec::new();
    for action in root.elements() {
        let set = if action.name.is_dav("set") {
            true
        } else if action.name.is_dav("remove") {
            false
        } else {
            return Err(DavError::bad_request(format!(
                "unexpected {} in DAV:propertyupdate",
                action.name
            )));
        };
        for prop in action.elements().filter(|e| e.name.is(DAV, "prop")) {
            for p in prop.elements() {
                let value = if set { Some(p.verbatim(&bytes)) } else { None };
                if value.as_ref().is_some_and(|v| v.len() > MAX_VALUE) {
                    return Err(DavError::status(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the value of {} is larger than {MAX_VALUE} bytes", p.name),
                    ));
                }
                ops.push((p.name.clone(), value));
            }
        }
    }
    if ops.is_empty() || ops.len() > MAX_OPS {
        return Err(DavError::bad_request(format!(
            "PROPPATCH needs 1 to {MAX_OPS} properties"
        )));
    }
    ctx.check_if().await?;
    ctx.check_locks(&ctx.path, false)?;

    let protected: Vec<&Name> = ops
        .iter()
        .map(|(n, _)| n)
        .filter(|n| props::find(ctx.space, n).is_some_and(|p| p.protected))
        .collect();
    let mut out = XmlOut::new();
    out.open(&Name::dav("multistatus"))
        .open(&Name::dav("response"));
    out.text_element(
        &Name::dav("href"),
        &ctx.href(&ctx.path, ctx.trailing_slash || ctx.path.is_empty()),
    );
    if !protected.is_empty() {
        tracing::info!(
            count = protected.len(),
            "PROPPATCH refused: protected properties"
        );
        let mut seen = Vec::new();
        for (name, _) in &ops {
            if seen.contains(name) {
                continue;
            }
            seen.push(name.clone());
            let is_protected = protected.contains(&name);
            out.open(&Name::dav("propstat"));
            out.open(&Name::dav("prop")).empty(name).close();
            let status = if is_protected {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::FAILED_DEPENDENCY
            };
            out.text_element(&Name::dav("status"), &status_line(status));
            if is_protected {
                out.open(&Name::dav("error"))
                    .empty(&Name::dav("cannot-modify-protected-property"))
                    .close();
            }
            out.close();
        }
        return Ok(multistatus(out.finish()));
    }
    let (account, path, space) = (ctx.account.clone(), ctx.path.clone(), ctx.space);
    let store_ops: Vec<PropertyOp> = ops
        .iter()
        .map(|(n, v)| (n.ns.to_string(), n.local.to_string(), v.clone()))
        .collect();
    ctx.db
        .write_async(move |w| space.patch_properties(w, &account, &path, &store_ops))
        .await?;
    let mut seen = Vec::new();
    out.open(&Name::dav("propstat")).open(&Name::dav("prop"));
    for (name, _) in &ops {
        if !seen.contains(name) {
            out.empty(name);
            seen.push(name.clone());
        }
    }
    out.close();
    out.text_element(&Name::dav("status"), &status_line(StatusCode::OK));
    Ok(multistatus(out.finish()))
}
