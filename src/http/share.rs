//! `GET /share/<token>.ics`: a calendar share link's feed, for anyone holding the token.
//!
//! Unknown, revoked and deleted tokens get the same 404; misses are throttled per source
//! address (429 once a source guesses too much); tokens never reach the logs (the request
//! path is logged as `/share/<token>`). The feed carries a strong ETag derived from the
//! calendar's change counter, Last-Modified, `Cache-Control` with the refresh interval as
//! max-age, and answers 304 to `If-None-Match` / `If-Modified-Since`; gzip when asked.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::peer_ip;
use crate::auth::throttle::source_key;
use crate::sharing::{self, Feed};
use crate::store::shares::Collection;

/// The path as logs show it: share tokens replaced.
pub fn redacted_path(path: &str) -> std::borrow::Cow<'_, str> {
    if path.starts_with("/share/") {
        std::borrow::Cow::Borrowed("/share/<token>")
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        "no such share link: it may have been revoked or rotated; ask its owner for the current link\n",
    )
        .into_response()
}

pub async fn feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    super::drain(body).await;
    let source = source_key(peer_ip(&parts));
    if let Some(wait) = state.share_misses.blocked(&source) {
        tracing::warn!(
            retry_after = wait.as_secs(),
            "429: too many unknown share links from one source"
        );
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
            "too many unknown share links; wait before trying again\n",
        )
            .into_response();
    }
    let (token, wanted) = match (file.strip_suffix(".ics"), file.strip_suffix(".vcf")) {
        (Some(t), _) => (t, Collection::Calendar),
        (_, Some(t)) => (t, Collection::Addressbook),
        _ => {
            state.share_misses.fail(&source);
            tracing::info!("404: share link path without .ics or .vcf");
            return not_found();
        }
    };
    // A vCard feed in the version the client accepts (4.0 unless it asks for 3.0).
    let version = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::groupware::vcard::VcardVersion::from_accept)
        .unwrap_or(crate::groupware::vcard::VcardVersion::V4);
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        state.share_misses.fail(&source);
        tracing::info!("404: malformed share token");
        return not_found();
    }
    let token = token.to_string();
    let conditional = Conditional::of(&parts.headers);
    let store = state.store.clone();
    let refresh = state.config.sharing.refresh_secs.max(60);
    let found =
        crate::store::blocking(move || -> Result<Option<Feed>, crate::store::StoreError> {
            let Some((db, link)) = sharing::resolve(&store, &token)? else {
                return Ok(None);
            };
            if link.collection != wanted {
                return Ok(None);
            }
            let now = crate::store::now_unix();
            // The validators come from the index: a current copy is answered 304 unrendered.
            let fresh = |etag: &str, last_modified: i64| conditional.fresh(etag, last_modified);
            let feed = db.read(|r| match wanted {
                Collection::Calendar => sharing::calendar_feed(r, &link, refresh, now, &fresh),
                Collection::Addressbook => sharing::addressbook_feed(r, &link, version, &fresh),
            })?;
            // Last use is recorded at most once a minute: polling stays read-only.
            if feed.is_some() && link.last_used_at.is_none_or(|at| at < now - 60) {
                let _ = db.write(|w| sharing::touch(w, &link));
            }
            Ok(feed)
        })
        .await;
    let feed = match found {
        Ok(Some(feed)) => feed,
        Ok(None) => {
            state.share_misses.fail(&source);
            tracing::info!("404: unknown, revoked or orphaned share token");
            return not_found();
        }
        Err(e) => {
            tracing::error!(error = %e, "share feed failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    respond(parts.method == axum::http::Method::HEAD, feed, refresh)
}

/// A request's `If-None-Match` / `If-Modified-Since`.
struct Conditional {
    if_none_match: Option<String>,
    if_modified_since: Option<i64>,
}

impl Conditional {
    fn of(headers: &HeaderMap) -> Conditional {
        Conditional {
            if_none_match: headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            if_modified_since: headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())
                .and_then(|since| since.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|since| since.as_secs() as i64),
        }
    }

    /// Whether the client's copy is current (RFC 9110 §13.1.1-2: If-None-Match wins).
    fn fresh(&self, etag: &str, last_modified: i64) -> bool {
        match (&self.if_none_match, self.if_modified_since) {
            (Some(inm), _) => inm.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
            (None, Some(since)) => last_modified <= since,
            (None, None) => false,
        }
    }
}

/// The 200, or the 304 when the feed was not rendered (the client's copy is current).
fn respond(head: bool, feed: Feed, refresh: u64) -> Response {
    let last_modified = crate::timefmt::http_date(feed.last_modified);
    let mut common = HeaderMap::new();
    let mut put = |name: header::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            common.insert(name, v);
        }
    };
    put(header::ETAG, feed.etag.clone());
    put(header::LAST_MODIFIED, last_modified);
    put(header::CACHE_CONTROL, format!("private, max-age={refresh}"));
    put(header::REFERRER_POLICY, "no-referrer".into());
    let Some(body) = feed.body else {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    };
    put(header::CONTENT_TYPE, feed.content_type.into());
    let file = if feed.content_type.starts_with("text/vcard") {
        "contacts.vcf"
    } else {
        "calendar.ics"
    };
    put(
        header::CONTENT_DISPOSITION,
        format!("inline; filename=\"{file}\""),
    );
    let body = if head {
        Body::empty()
    } else {
        Body::from(body)
    };
    (StatusCode::OK, common, body).into_response()
}
