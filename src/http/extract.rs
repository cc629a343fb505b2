//! The `Authenticated` extractor: every handler that takes it runs only for a caller the
//! [`Authenticator`](crate::auth::Authenticator) accepted.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{ApiError, AppState};
use crate::auth::Principal;

pub struct Authenticated(pub Principal);

/// The peer address the connection loop recorded (see `server.rs`).
pub fn peer_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).map(|v| v.as_bytes());
        match state.auth.authenticate(header, peer_ip(parts)).await {
            Ok(p) => Ok(Authenticated(p)),
            Err(e) => Err(ApiError::from_auth(e, state.auth.realm())),
        }
    }
}
