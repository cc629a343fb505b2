//! `DavError`: every way a DAV request fails, turned into a response in exactly one place
//! ([`DavError::into_response`]), with the RFC's precondition element where one exists,
//! and logged once with its reason.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::xml::{Name, XmlError, XmlOut};
use crate::http::ReasonLogged;
use crate::store::StoreError;

#[derive(Debug)]
pub enum DavError {
    /// A plain status with the reason for the log.
    Status(StatusCode, String),
    /// A failed precondition or postcondition (RFC 4918 §16): status, the condition's
    /// element, optional hrefs inside it, and the reason for the log.
    Condition {
        status: StatusCode,
        element: Name,
        hrefs: Vec<String>,
        reason: String,
    },
    /// 403 with RFC 3744 §7.1.1 `need-privileges`: the resource and the privilege missing.
    NeedPrivileges {
        href: String,
        privilege: Name,
        reason: String,
    },
    /// A malformed request body.
    Xml(XmlError),
    Store(StoreError),
}

impl DavError {
    pub fn status(status: StatusCode, reason: impl Into<String>) -> Self {
        DavError::Status(status, reason.into())
    }
    pub fn not_found(reason: impl Into<String>) -> Self {
        DavError::Status(StatusCode::NOT_FOUND, reason.into())
    }
    pub fn bad_request(reason: impl Into<String>) -> Self {
        DavError::Status(StatusCode::BAD_REQUEST, reason.into())
    }
    pub fn conflict(reason: impl Into<String>) -> Self {
        DavError::Status(StatusCode::CONFLICT, reason.into())
    }
    pub fn condition(status: StatusCode, element: &'static str, reason: impl Into<String>) -> Self {
        DavError::Condition {
            status,
            element: Name::dav(element),
            hrefs: Vec::new(),
            reason: reason.into(),
        }
    }
    /// 423 Locked: the lock rooted at `href` needs its token submitted.
    pub fn locked(href: String) -> Self {
        DavError::Condition {
            status: StatusCode::LOCKED,
            element: Name::dav("lock-token-submitted"),
            reason: format!("locked by a lock on {href}; its token was not submitted"),
            hrefs: vec![href],
        }
    }
}

impl DavError {
    /// Turns the space-relative paths a space put in a condition's hrefs (those not
    /// starting with `/`) into hrefs; spaces know paths, the engine knows URLs.
    pub fn resolve_hrefs(self, href: impl Fn(&str) -> String) -> DavError {
        match self {
            DavError::Condition {
                status,
                element,
                hrefs,
                reason,
            } => DavError::Condition {
                status,
                element,
                hrefs: hrefs
                    .into_iter()
                    .map(|h| if h.starts_with('/') { h } else { href(&h) })
                    .collect(),
                reason,
            },
            other => other,
        }
    }
}

impl From<XmlError> for DavError {
    fn from(e: XmlError) -> Self {
        DavError::Xml(e)
    }
}

impl From<StoreError> for DavError {
    fn from(e: StoreError) -> Self {
        DavError::Store(e)
    }
}

fn error_body(element: &Name, hrefs: &[String]) -> String {
    let mut out = XmlOut::new();
    out.open(&Name::dav("error"));
    if hrefs.is_empty() {
        out.empty(element);
    } else {
        out.open(element);
        for h in hrefs {
            out.text_element(&Name::dav("href"), h);
        }
        out.close();
    }
    out.finish()
}

impl IntoResponse for DavError {
    fn into_response(self) -> Response {
        let (status, body, reason) = match self {
            DavError::Status(status, reason) => (status, None, reason),
            DavError::Condition {
                status,
                element,
                hrefs,
                reason,
            } => (
                status,
                Some(error_body(&element, &hrefs)),
                format!("{}: {reason}", element.local),
            ),
            DavError::NeedPrivileges {
                href,
                privilege,
                reason,
            } => {
                let mut out = XmlOut::new();
                out.open(&Name::dav("error"))
                    .open(&Name::dav("need-privileges"))
                    .open(&Name::dav("resource"))
                    .text_element(&Name::dav("href"), &href)
                    .open(&Name::dav("privilege"))
                    .empty(&privilege)
                    .close()
                    .close()
                    .close()
                    .close();
                (
                    StatusCode::FORBIDDEN,
                    Some(out.finish()),
                    format!("need-privileges: {reason}"),
                )
            }
            DavError::Xml(e) => (StatusCode::BAD_REQUEST, None, e.to_string()),
            DavError::Store(e) => {
                tracing::error!(error = %e, "storage failure in a DAV request");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "storage failure".to_string(),
                )
            }
        };
        if status.is_client_error() {
            tracing::info!(status = status.as_u16(), %reason, "DAV request refused");
        }
        let mut resp = match body {
            Some(xml) => (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml; charset=utf-8"),
                )],
                xml,
            )
                .into_response(),
            None => (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                format!("{reason}\n"),
            )
                .into_response(),
        };
        resp.extensions_mut().insert(ReasonLogged);
        resp
    }
}
