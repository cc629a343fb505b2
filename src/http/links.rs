//! `/api/v1/calendars` and `/api/v1/share-links`: the caller's calendars, and the share
//! links that open them (created, listed, revoked and rotated by their owner). A link's
//! token is in the answer to its creation or rotation only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Authenticated};
use crate::auth::Principal;
use crate::sharing::{self, NewLink, ShareError};
use crate::store::shares::LinkKind;

fn share_error(e: ShareError) -> ApiError {
    match e {
        ShareError::NoSuchCalendar(_, c) => ApiError::not_found(format!("no calendar named {c}")),
        ShareError::NoSuchLink(_, l) => ApiError::not_found(format!("no share link {l}")),
        ShareError::NoSuchAddressBook(_, b) => {
            ApiError::not_found(format!("no address book named {b}"))
        }
        ShareError::BookKind => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalidArguments",
            "address books are shared by private links only: {\"kind\": \"private\"}",
        ),
        ShareError::Store(e) => e.into(),
    }
}

/// The base URL links are given under: the configured public URL, else what the client
/// used to reach this server.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| state.config.listen.to_string());
    let scheme = if state.config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

fn link_json(base: &str, link: &NewLink, calendar: &str) -> Value {
    let url = format!("{base}{}", link.path());
    let rest = url
        .split_once("://")
        .map_or(url.as_str(), |x| x.1)
        .to_string();
    json!({
        "id": link.link.id,
        "kind": link.link.kind,
        "calendar": calendar,
        "url": url,
        "webcalUrl": format!("webcal://{rest}"),
        "createdAt": link.link.created_at,
    })
}

/// `GET /api/v1/calendars`.
pub async fn calendars(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let db = state.store.domain_async(&p.domain_id).await?;
    let account = p.account_id.clone();
    let list = db
        .read_async(move |r| -> Result<Vec<Value>, crate::store::StoreError> {
            let mut out = Vec::new();
            for c in r.calendars(&account)? {
                out.push(json!({
                    "id": c.id,
                    "name": c.name,
                    "displayName": crate::caldav::display_name_of(r, &c)?,
                    "components": c.components,
                }));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(json!({ "calendars": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLinkRequest {
    kind: LinkKind,
}

/// The caller's primary address (what ownership messages name).
pub(super) async fn owner_address(state: &AppState, p: &Principal) -> Result<String, ApiError> {
    let db = state.store.domain_async(&p.domain_id).await?;
    let id = p.account_id.clone();
    let account = db
        .read_async(move |r| r.account(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("account removed"))?;
    Ok(account.primary_address)
}

/// `POST /api/v1/calendars/{name}/share-links` with `{"kind": "public|private|freebusy"}`.
pub async fn create(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    headers: HeaderMap,
    Path(calendar): Path<String>,
    Json(req): Json<NewLinkRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let owner = owner_address(&state, &p).await?;
    let store = state.store.clone();
    let db = store.domain_async(&p.domain_id).await?;
    let (domain, account, name) = (p.domain_id.clone(), p.account_id.clone(), calendar.clone());
    let link = crate::store::blocking(move || {
        sharing::create_calendar_link(&store, &domain, &db, &account, &owner, &name, req.kind)
    })
    .await
    .map_err(share_error)?;
    Ok((
        StatusCode::CREATED,
        Json(link_json(&base_url(&state, &headers), &link, &calendar)),
    ))
}

/// `POST /api/v1/addressbooks/{id}/share-links` with `{"kind": "private"}`: a vCard feed.
pub async fn create_for_book(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(req): Json<NewLinkRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let owner = owner_address(&state, &p).await?;
    let store = state.store.clone();
    let db = store.domain_async(&p.domain_id).await?;
    let not_found = || ApiError::not_found(format!("no address book {id}"));
    let book_id: i64 = id.parse().map_err(|_| not_found())?;
    let account = p.account_id.clone();
    let book = db
        .read_async(move |r| r.addressbook_by_id(book_id))
        .await?
        .filter(|b| b.account == account)
        .ok_or_else(not_found)?;
    let (domain, account, name) = (p.domain_id.clone(), p.account_id.clone(), book.name.clone());
    let link = crate::store::blocking(move || {
        sharing::create_link(
            &store,
            &domain,
            &db,
            &account,
            &owner,
            sharing::Target::AddressBook(&name),
            req.kind,
        )
    })
    .await
    .map_err(share_error)?;
    let mut body = link_json(&base_url(&state, &headers), &link, "");
    if let Some(map) = body.as_object_mut() {
        map.remove("calendar");
        map.remove("webcalUrl");
        map.insert("addressBook".into(), json!(book.name));
    }
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /api/v1/share-links`.
pub async fn list(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let db = state.store.domain_async(&p.domain_id).await?;
    let account = p.account_id.clone();
    let links = db
        .read_async(move |r| sharing::list_links(r, &account))
        .await?;
    Ok(Json(json!({ "shareLinks": links })))
}

/// `DELETE /api/v1/share-links/{id}`.
pub async fn revoke(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let owner = owner_address(&state, &p).await?;
    let store = state.store.clone();
    let db = store.domain_async(&p.domain_id).await?;
    let (domain, account) = (p.domain_id.clone(), p.account_id.clone());
    crate::store::blocking(move || {
        sharing::revoke_link(&store, &domain, &db, &account, &owner, &id)
    })
    .await
    .map_err(share_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/share-links/{id}/rotate`: a new token; the old one stops working.
pub async fn rotate(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let owner = owner_address(&state, &p).await?;
    let store = state.store.clone();
    let db = store.domain_async(&p.domain_id).await?;
    let (domain, account) = (p.domain_id.clone(), p.account_id.clone());
    let store2 = store.clone();
    let link = crate::store::blocking(move || {
        sharing::rotate_link(&store2, &domain, &db, &account, &owner, &id)
    })
    .await
    .map_err(share_error)?;
    let db = store.domain_async(&p.domain_id).await?;
    let account = p.account_id.clone();
    let link_id = link.link.id.clone();
    let name = db
        .read_async(move |r| sharing::list_links(r, &account))
        .await?
        .into_iter()
        .find(|l| l.id == link_id)
        .and_then(|l| l.name)
        .unwrap_or_default();
    Ok(Json(link_json(&base_url(&state, &headers), &link, &name)))
}
