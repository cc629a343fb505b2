//! The HTTP edge: routing, authentication (once, before handlers), body limits, tracing,
//! and the JSON API. Protocol modules (DAV, JMAP) will mount their routers here.

mod api;
mod error;
mod extract;
pub mod server;
pub mod tls;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::store::Store;

pub use error::{ApiError, ReasonLogged};
pub use extract::Authenticated;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub auth: Arc<Authenticator>,
    pub config: Arc<Config>,
    /// WebDAV locks (in memory, per process).
    pub locks: Arc<crate::dav::locks::LockTable>,
}

/// The DAV spaces this server serves, registered with the engine.
static DAV_SPACES: crate::dav::Spaces = &[
    &crate::dav::files::FileSpace,
    &crate::dav::principals::PrincipalSpace,
    &crate::caldav::CalendarSpace,
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
        .layer(RequestBodyLimitLayer::new(max_body));
    Router::new()
        .merge(api)
        .merge(dav)
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn(error::log_unexplained_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
