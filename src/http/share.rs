//! `GET /share/<token>.ics`: a calendar share link's feed, for anyone holding the token.
//!
//! Unknown, revoked and deleted tokens get the same 404; misses are throttled per source
//! address (429 once a source guesses too much); tokens never reach the logs (the request
//! path is logged as `/share/<token>`). The feed carries a strong ETag derived from the
//! calendar's change counter, Last-Modified, `Cache-Control` with the refresh interval as
//! max-age, and answers 304 to `If-None-Match` / `If-Modified-Since`; gzip when asked.
//! A rendered feed (and its gzip form) is kept in `sharing::cache` under its ETag, so the
//! subscribers who fetch a feed after a change share one rendering.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::peer_ip;
use crate::auth::throttle::source_key;
use crate::sharing::cache::{self, Key};
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
    let gzip = parts
        .headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(cache::accepts_gzip);
    let store = state.store.clone();
    let feeds = state.feeds.clone();
    let refresh = state.config.sharing.refresh_secs.max(60);
    let found = crate::store::blocking(
        move || -> Result<Option<Served>, crate::store::StoreError> {
            let Some((db, link)) = sharing::resolve(&store, &token)? else {
                return Ok(None);
            };
            if link.collection != wanted {
                return Ok(None);
            }
            let now = crate::store::now_unix();
            let key = |etag: &str| Key {
                domain: db.id().clone(),
                etag: etag.to_string(),
                gzip,
            };
            // The validators come from the index: a current copy is answered 304, and a
            // feed rendered before under the same ETag is taken from the cache, both
            // without rendering.
            let cached = std::cell::RefCell::new(None);
            let fresh = |etag: &str, last_modified: i64| {
                if conditional.fresh(etag, last_modified) {
                    return true;
                }
                let hit = feeds.get(&key(etag));
                let found = hit.is_some();
                *cached.borrow_mut() = hit;
                found
            };
            let feed = db.read(|r| match wanted {
                Collection::Calendar => sharing::calendar_feed(r, &link, refresh, now, &fresh),
                Collection::Addressbook => sharing::addressbook_feed(r, &link, version, &fresh),
            })?;
            // Last use is recorded at most once a minute: polling stays read-only.
            if feed.is_some() && link.last_used_at.is_none_or(|at| at < now - 60) {
                let _ = db.write(|w| sharing::touch(w, &link));
            }
            let Some(mut feed) = feed else {
                return Ok(None);
            };
            let body = match (feed.body.take(), cached.into_inner()) {
                (_, Some(hit)) => Some(hit),
                (Some(text), None) => {
                    let plain = bytes::Bytes::from(text);
                    let mut identity = key(&feed.etag);
                    identity.gzip = false;
                    feeds.put(identity, plain.clone());
                    if gzip {
                        let packed = cache::gzip(&plain);
                        feeds.put(key(&feed.etag), packed.clone());
                        Some(packed)
                    } else {
                        Some(plain)
                    }
                }
                (None, None) => None,
            };
            Ok(Some(Served { feed, body, gzip }))
        },
    )
    .await;
    let served = match found {
        Ok(Some(served)) => served,
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
    respond(parts.method == axum::http::Method::HEAD, served, refresh)
}

/// A feed's validators and the body to send: None for a 304 (the client's copy is
/// current), gzip-compressed when `gzip`.
struct Served {
    feed: Feed,
    body: Option<bytes::Bytes>,
    gzip: bool,
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

/// The 200, or the 304 when there is no body (the client's copy is current).
fn respond(head: bool, served: Served, refresh: u64) -> Response {
    let Served { feed, body, gzip } = served;
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
    put(header::VARY, "Accept-Encoding".into());
    let Some(body) = body else {
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
    if gzip {
        put(header::CONTENT_ENCODING, "gzip".into());
    }
    let body = if head {
        Body::empty()
    } else {
        Body::from(body)
    };
    (StatusCode::OK, common, body).into_response()
}
