//! The HTTP edge: routing, authentication (once, before handlers), body limits, tracing,
//! and the JSON API. Protocol modules (DAV, JMAP) will mount their routers here.

mod addressbooks;
mod links;
mod rights;
mod share;
mod subscriptions;
pub use addressbooks::parse_version as parse_vcard_version;
mod api;
mod error;
mod extract;
pub mod server;
pub mod tls;

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::store::Store;

pub use error::{ApiError, ReasonLogged};
pub use extract::Authenticated;

/// Reads (and drops) a small request body that a handler refuses without reading:
/// hyper closes a keep-alive connection whose request body was left unread, and clients
/// that retry on the same connection then see it closed under them.
pub async fn drain(body: axum::body::Body) {
    let _ = axum::body::to_bytes(body, 64 * 1024).await;
}

/// Reads a JSON API request's (small, limited) body before any handler or extractor can
/// refuse the request, so a refusal never leaves an unread body behind (see [`drain`]).
async fn buffer_body(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        // The body limit layer outside this one turned an oversized body into an error.
        Err(_) => ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "requestTooLarge",
            "the request body is too large",
        )
        .into_response(),
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub auth: Arc<Authenticator>,
    pub config: Arc<Config>,
    /// WebDAV locks (in memory, per process).
    pub locks: Arc<crate::dav::locks::LockTable>,
    /// Unknown share tokens per source address (see `share.rs`).
    pub share_misses: Arc<crate::auth::throttle::Throttle>,
    /// Rendered share feeds (see `sharing::cache`).
    pub feeds: Arc<crate::sharing::cache::FeedCache>,
}

/// The DAV spaces this server serves, registered with the engine.
static DAV_SPACES: crate::dav::Spaces = &[
    &crate::dav::files::FileSpace,
    &crate::dav::principals::PrincipalSpace,
    &crate::caldav::CalendarSpace,
    &crate::carddav::AddressBookSpace,
    &crate::dav::sharing::NotificationSpace,
];

pub fn router(state: AppState) -> Router {
    let max_body = state.config.http.max_body_bytes;
    let max_upload = state.config.http.max_upload_bytes.max(max_body);
    // DAV carries file uploads: its own, larger body limit; XML bodies are held to
    // `max_body_bytes` inside the engine.
    let dav = crate::dav::router(DAV_SPACES).layer(RequestBodyLimitLayer::new(max_upload));
    let api = Router::new()
        .route("/healthz", get(api::healthz))
        .route("/api/v1/me", get(api::me))
        .route(
            "/api/v1/me/app-passwords",
            get(api::list_app_passwords).post(api::create_app_password),
        )
        .route(
            "/api/v1/me/app-passwords/{name}",
            delete(api::revoke_app_password),
        )
        .route(
            "/api/v1/me/tokens",
            get(api::list_tokens).post(api::create_token),
        )
        .route("/api/v1/me/tokens/{name}", delete(api::revoke_token))
        .route("/api/v1/calendars", get(links::calendars))
        .route(
            "/api/v1/calendars/{name}/share-links",
            axum::routing::post(links::create),
        )
        .route(
            "/api/v1/subscriptions",
            get(subscriptions::list).post(subscriptions::add),
        )
        .route("/api/v1/subscriptions/{id}", delete(subscriptions::remove))
        .route(
            "/api/v1/subscriptions/{id}/refresh",
            axum::routing::post(subscriptions::refresh),
        )
        .route("/api/v1/share-links", get(links::list))
        .route("/api/v1/share-links/{id}", delete(links::revoke))
        .route(
            "/api/v1/share-links/{id}/rotate",
            axum::routing::post(links::rotate),
        )
        .route(
            "/api/v1/groups",
            get(rights::list_groups).post(rights::add_group),
        )
        .route("/api/v1/groups/{name}", delete(rights::remove_group))
        .route(
            "/api/v1/groups/{name}/members",
            axum::routing::post(rights::add_member),
        )
        .route(
            "/api/v1/groups/{name}/members/{address}",
            delete(rights::remove_member),
        )
        .route(
            "/api/v1/domain-calendars",
            axum::routing::post(rights::add_domain_calendar),
        )
        .route(
            "/api/v1/domain-addressbooks",
            axum::routing::post(rights::add_domain_book),
        )
        .route(
            "/api/v1/domain-collections",
            get(rights::domain_collections),
        )
        .route(
            "/api/v1/calendars/{name}/grants",
            get(rights::calendar_list).post(rights::calendar_add),
        )
        .route(
            "/api/v1/calendars/{name}/grants/{id}",
            delete(rights::calendar_remove),
        )
        .route(
            "/api/v1/addressbooks/{id}/grants",
            get(rights::book_list).post(rights::book_add),
        )
        .route(
            "/api/v1/addressbooks/{id}/grants/{grant}",
            delete(rights::book_remove),
        )
        .route("/api/v1/addressbooks", get(addressbooks::list))
        .route(
            "/api/v1/addressbooks/{id}/share-links",
            axum::routing::post(links::create_for_book),
        )
        .route(
            "/api/v1/addressbooks/{id}/export",
            get(addressbooks::export),
        )
        .layer(axum::middleware::from_fn(buffer_body))
        .layer(RequestBodyLimitLayer::new(max_body));
    // Imports carry whole address books: the upload limit, not the JSON one.
    let uploads = Router::new()
        .route(
            "/api/v1/addressbooks/{id}/import",
            axum::routing::post(addressbooks::import),
        )
        // The body extractor's own 2 MiB default would refuse a book with photos.
        .layer(axum::extract::DefaultBodyLimit::max(max_upload))
        .layer(axum::middleware::from_fn(buffer_body))
        .layer(RequestBodyLimitLayer::new(max_upload));
    // Share feeds: no authentication (the token is the key); gzip when asked, compressed
    // once per feed version by the handler (`sharing::cache`).
    let shares = Router::new().route("/share/{file}", get(share::feed));
    Router::new()
        .merge(api)
        .merge(uploads)
        .merge(shares)
        .merge(dav)
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn(error::log_unexplained_errors))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // Share tokens never reach the logs, at any level.
                tracing::debug_span!(
                    "request",
                    method = %req.method(),
                    path = %share::redacted_path(req.uri().path()),
                )
            }),
        )
        .with_state(state)
}
