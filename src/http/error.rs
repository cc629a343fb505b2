//! The JSON API's one error type, turned into a response in exactly one place. Every
//! 4xx is logged once with its reason.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::admin::AdminError;
use crate::auth::AuthError;
use crate::store::StoreError;

/// Marks a response whose error was already logged with its reason, so
/// [`log_unexplained_errors`] does not log it again.
#[derive(Debug, Clone, Copy)]
pub struct ReasonLogged;

/// Logs every 4xx/5xx that no handler explained (405 from the router, 413 from the body
/// limit, ...), with method and path but never the query string, which may carry tokens.
pub async fn log_unexplained_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = req.method().clone();
    let path = super::share::redacted_path(req.uri().path()).into_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    if (status.is_client_error() || status.is_server_error())
        && resp.extensions().get::<ReasonLogged>().is_none()
    {
        let reason = status.canonical_reason().unwrap_or("error");
        tracing::info!(status = status.as_u16(), %method, %path, reason, "client error");
    }
    resp
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// A stable machine-readable code, e.g. `notFound`.
    pub code: &'static str,
    pub message: String,
    /// For 401: the realm of the `WWW-Authenticate` challenge. For 429: seconds to wait.
    pub challenge: Option<String>,
    pub retry_after: Option<u64>,
    /// Structured detail merged into the JSON body (e.g. the invalid cards of an import).
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            challenge: None,
            retry_after: None,
            details: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "notFound", message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!(error = %message, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "serverFail",
            "internal error; see the server log",
        )
    }

    /// The answer to a failed authentication. The reason goes to the log only: the
    /// client learns nothing about which part was wrong.
    pub fn from_auth(e: AuthError, realm: &str) -> Self {
        let unauthorized = |msg: &str| {
            let mut err = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", msg);
            err.challenge = Some(realm.to_string());
            err
        };
        match e {
            AuthError::Missing => {
                // Every client's first request: routine, so only at debug level.
                tracing::debug!("401: no credentials; challenge sent");
                unauthorized("authentication required")
            }
            AuthError::Malformed(reason) => {
                tracing::info!(%reason, "401: malformed credentials");
                unauthorized("malformed Authorization header")
            }
            AuthError::Rejected(who) => {
                tracing::info!(login = %who, "401: wrong credentials");
                unauthorized("wrong user name or password")
            }
            AuthError::Throttled { retry_after } => {
                tracing::warn!(retry_after = retry_after.as_secs(), "429: login throttled");
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "tooManyFailedLogins",
                    "too many failed logins; wait before trying again",
                );
                err.retry_after = Some(retry_after.as_secs().max(1));
                err
            }
            AuthError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Store(e) => ApiError::internal(e),
            AdminError::CredentialTaken(..) => {
                ApiError::new(StatusCode::CONFLICT, "alreadyExists", e.to_string())
            }
            AdminError::GroupTaken(..) => {
                ApiError::new(StatusCode::CONFLICT, "alreadyExists", e.to_string())
            }
            AdminError::NoSuchCredential(..)
            | AdminError::NoSuchUser(..)
            | AdminError::NoSuchGroup(..)
            | AdminError::NoSuchGrant(..)
            | AdminError::NoSuchCalendar(..)
            | AdminError::NoSuchAddressBook(..)
            | AdminError::NoSuchDomain(_) => ApiError::not_found(e.to_string()),
            e => ApiError::new(StatusCode::BAD_REQUEST, "invalidArguments", e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_client_error()
            && self.status != StatusCode::UNAUTHORIZED
            && self.status != StatusCode::TOO_MANY_REQUESTS
        {
            // 401 and 429 were logged with their reason where they were decided.
            tracing::info!(status = self.status.as_u16(), code = self.code, reason = %self.message, "client error");
        }
        let mut body = serde_json::json!({ "error": self.code, "message": self.message });
        if let (Some(serde_json::Value::Object(extra)), Some(map)) =
            (self.details, body.as_object_mut())
        {
            map.extend(extra);
        }
        let mut resp = (self.status, axum::Json(body)).into_response();
        resp.extensions_mut().insert(ReasonLogged);
        if let Some(realm) = &self.challenge {
            let value = format!(
                "Basic realm=\"{}\", charset=\"UTF-8\"",
                realm.replace('"', "")
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
