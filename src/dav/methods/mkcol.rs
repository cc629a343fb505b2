//! MKCOL (RFC 4918 §9.3), extended MKCOL (RFC 5689) and MKCALENDAR (RFC 4791 §5.3.1):
//! create a collection, optionally of a given resource type and with properties. The
//! space decides which kinds of collection may exist where.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::parent;
use crate::dav::space::PropertyOp;
use crate::dav::xml::{self, Element, Name};
use crate::dav::{Ctx, DavError, bytes_body};

const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";

/// The resource types and properties a request body asks for (`DAV:set/DAV:prop`).
fn requested(root: &Element, body: &[u8]) -> Result<(Vec<Name>, Vec<PropertyOp>), DavError> {
    let mut types = Vec::new();
    let mut props = Vec::new();
    for set in root.elements() {
        if !set.name.is_dav("set") {
            return Err(DavError::bad_request(format!(
                "unexpected {} in {}",
                set.name, root.name
            )));
        }
        for prop in set.elements().filter(|e| e.name.is_dav("prop")) {
            for p in prop.elements() {
                if p.name.is_dav("resourcetype") {
                    types.extend(
                        p.elements()
                            .map(|t| t.name.clone())
                            .filter(|n| !n.is_dav("collection")),
                    );
                } else {
                    props.push((
                        p.name.ns.to_string(),
                        p.name.local.to_string(),
                        Some(p.verbatim(body)),
                    ));
                }
            }
        }
    }
    Ok((types, props))
}

pub async fn mkcol(ctx: Ctx, body: Body, calendar: bool) -> Result<Response, DavError> {
    let bytes = bytes_body::read(body, ctx.state.config.http.max_body_bytes).await?;
    let (mut types, props) = if bytes.iter().all(u8::is_ascii_whitespace) {
        (Vec::new(), Vec::new())
    } else {
        // §9.3: a body of a type the server does not understand gets 415.
        let ctype = ctx
            .header(header::CONTENT_TYPE)
            .unwrap_or("")
            .to_ascii_lowercase();
        // A missing type is taken as XML when the body looks like it (some clients
        // send none); anything else that is not XML is refused.
        let looks_xml = ctype.is_empty()
            && bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'<');
        if !ctype.contains("xml") && !calendar && !looks_xml {
            return Err(DavError::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("MKCOL with a body of type {ctype:?}"),
            ));
        }
        let root = xml::parse(&bytes)?;
        let expected = if calendar {
            Name::fixed(CALDAV, "mkcalendar")
        } else {
            Name::dav("mkcol")
        };
        if root.name != expected {
            return Err(DavError::bad_request(format!(
                "expected {expected}, found {}",
                root.name
            )));
        }
        requested(&root, &bytes)?
    };
    if calendar && !types.iter().any(|t| t.is(CALDAV, "calendar")) {
        types.push(Name::fixed(CALDAV, "calendar"));
    }
    if ctx.path.is_empty() {
        return Err(DavError::status(
            StatusCode::METHOD_NOT_ALLOWED,
            "the root of the space exists",
        ));
    }
    ctx.check_if().await?;
    ctx.check_locks(parent(&ctx.path), false)?;
    let (account, path, space) = (ctx.account.clone(), ctx.path.clone(), ctx.space);
    ctx.db
        .write_async(move |w| space.mkcol(w, &account, &path, &types, &props))
        .await?;
    Ok(StatusCode::CREATED.into_response())
}
