//! One file per method. Each reads like the RFC 4918 section it cites.

mod copymove;
mod delete;
mod get;
mod lock;
mod mkcol;
pub(crate) mod propfind;
mod proppatch;
mod put;
mod report;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use std::borrow::Cow;

use super::xml::{self, Element, Name, XmlOut};
use super::{ALLOW, Ctx, DavError, bytes_body};

pub async fn dispatch(ctx: Ctx, body: Body) -> Result<Response, DavError> {
    match ctx.method.as_str() {
        "GET" => get::get(ctx, false).await,
        "HEAD" => get::get(ctx, true).await,
        "PUT" => put::put(ctx, body).await,
        "DELETE" => delete::delete(ctx).await,
        "MKCOL" => mkcol::mkcol(ctx, body, false).await,
        "MKCALENDAR" => mkcol::mkcol(ctx, body, true).await,
        "PROPFIND" => propfind::propfind(ctx, body).await,
        "PROPPATCH" => proppatch::proppatch(ctx, body).await,
        "COPY" => copymove::copy_or_move(ctx, false).await,
        "MOVE" => copymove::copy_or_move(ctx, true).await,
        "LOCK" => lock::lock(ctx, body).await,
        "UNLOCK" => lock::unlock(ctx).await,
        "REPORT" => report::report(ctx, body).await,
        "POST" => post(ctx, body).await,
        other => {
            tracing::info!(
                method = other,
                "405: method not supported by the DAV engine"
            );
            let mut resp =
                (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, ALLOW)]).into_response();
            resp.extensions_mut().insert(crate::http::ReasonLogged);
            Ok(resp)
        }
    }
}

/// POST with an XML body, for the spaces that take one (CalendarServer sharing).
async fn post(ctx: Ctx, body: Body) -> Result<Response, DavError> {
    let Some((_, root)) = read_xml(&ctx, body).await? else {
        return Err(DavError::bad_request("POST needs an XML body"));
    };
    let space = ctx.space;
    match space.post(ctx, root) {
        Some(run) => run.await,
        None => {
            let mut resp =
                (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, ALLOW)]).into_response();
            resp.extensions_mut().insert(crate::http::ReasonLogged);
            Ok(resp)
        }
    }
}

/// `HTTP/1.1 200 OK`, as `DAV:status` wants it.
pub(crate) fn status_line(s: StatusCode) -> Cow<'static, str> {
    match s {
        StatusCode::OK => Cow::Borrowed("HTTP/1.1 200 OK"),
        StatusCode::NOT_FOUND => Cow::Borrowed("HTTP/1.1 404 Not Found"),
        _ => Cow::Owned(format!(
            "HTTP/1.1 {} {}",
            s.as_u16(),
            s.canonical_reason().unwrap_or("")
        )),
    }
}

/// Bytes of XML gathered before a streamed multistatus sends a chunk.
const CHUNK_BYTES: usize = 64 * 1024;

/// A 207 Multi-Status whose body is written while it is sent: `next` writes the next
/// part of the answer inside the open `DAV:multistatus` (usually one `DAV:response`) and
/// returns false when nothing is left. About 64 KB are written per chunk, so a listing
/// of 100,000 members never sits in memory as one document.
pub(crate) fn streamed_multistatus(
    next: impl FnMut(&mut XmlOut) -> bool + Send + 'static,
) -> Response {
    let mut out = XmlOut::new();
    out.open(&Name::dav("multistatus"));
    let body = Streamed {
        out: Some(out),
        next: Box::new(next),
    };
    (
        StatusCode::MULTI_STATUS,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        Body::new(body),
    )
        .into_response()
}

struct Streamed {
    /// None once the document is finished.
    out: Option<XmlOut>,
    next: Box<dyn FnMut(&mut XmlOut) -> bool + Send>,
}

impl http_body::Body for Streamed {
    type Data = bytes_body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let Some(out) = this.out.as_mut() else {
            return std::task::Poll::Ready(None);
        };
        while out.len() < CHUNK_BYTES {
            if !(this.next)(out) {
                let last = this.out.take().map(XmlOut::finish).unwrap_or_default();
                return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(last.into()))));
            }
        }
        let chunk = out.take_chunk();
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk.into()))))
    }

    fn is_end_stream(&self) -> bool {
        self.out.is_none()
    }
}

/// A 207 Multi-Status response.
pub(crate) fn multistatus(xml: String) -> Response {
    (
        StatusCode::MULTI_STATUS,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

/// Reads an XML request body; `None` when the body is empty.
pub async fn read_xml(
    ctx: &Ctx,
    body: Body,
) -> Result<Option<(bytes_body::Bytes, Element)>, DavError> {
    let limit = ctx.state.config.http.max_body_bytes;
    // Refused on the announced length, before a client waiting on `Expect: 100-continue`
    // sends anything.
    let announced = ctx
        .header(header::CONTENT_LENGTH)
        .and_then(|l| l.trim().parse::<u64>().ok());
    if announced.is_some_and(|l| l > limit as u64) {
        return Err(DavError::status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("XML bodies are limited to {limit} bytes"),
        ));
    }
    let bytes = bytes_body::read(body, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let root = xml::parse(&bytes)?;
    Ok(Some((bytes, root)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Zero,
    One,
    Infinity,
}

/// The `Depth` header (RFC 4918 §10.2), with the method's default when absent.
pub fn depth(ctx: &Ctx, default: Depth) -> Result<Depth, DavError> {
    match ctx.header("depth").map(str::trim) {
        None => Ok(default),
        Some("0") => Ok(Depth::Zero),
        Some("1") => Ok(Depth::One),
        Some(v) if v.eq_ignore_ascii_case("infinity") => Ok(Depth::Infinity),
        Some(v) => Err(DavError::bad_request(format!(
            "Depth: {v} is not 0, 1 or infinity"
        ))),
    }
}

/// RFC 4331 §6: refuses (507 with `DAV:quota-not-exceeded`) a write that left the owner
/// over quota. Called inside the write's transaction, so the refusal undoes it.
pub fn check_quota(
    w: &crate::store::domain::DomainWrite<'_>,
    owner: &crate::store::AccountId,
) -> Result<(), DavError> {
    if let Some((quota, used)) = w.quota_state(owner)?
        && used > quota
    {
        return Err(DavError::condition(
            StatusCode::INSUFFICIENT_STORAGE,
            "quota-not-exceeded",
            format!("the write needs {used} bytes of a {quota}-byte quota"),
        ));
    }
    Ok(())
}

/// The parent path of a space path.
pub fn parent(path: &str) -> &str {
    crate::store::files::parent_of(path)
}
