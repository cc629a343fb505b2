//! `/api/v1/subscriptions`: the caller's subscriptions to feeds (external calendars, or
//! address books following an export link). Adding one fetches it at once and answers
//! with what that first fetch did.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Authenticated};
use crate::sharing::subscriptions::{self, SubscriptionError};
use crate::store::shares::Collection;

fn sub_error(e: SubscriptionError) -> ApiError {
    match e {
        SubscriptionError::NoSuchSubscription(_, id) => {
            ApiError::not_found(format!("no subscription {id}"))
        }
        SubscriptionError::Store(e) => e.into(),
        e => ApiError::new(StatusCode::BAD_REQUEST, "invalidArguments", e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewSubscription {
    url: String,
    /// The collection's name in its URL (made from the feed's URL when absent).
    name: Option<String>,
    display_name: Option<String>,
    /// `calendar` (the default) or `addressbook`.
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `POST /api/v1/subscriptions`.
pub async fn add(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Json(req): Json<NewSubscription>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let collection = match req.kind.as_deref() {
        None | Some("calendar") => Collection::Calendar,
        Some("addressbook") => Collection::Addressbook,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalidArguments",
                format!("type {other} is unknown; use calendar or addressbook"),
            ));
        }
    };
    let store = state.store.clone();
    let db = store.domain_async(&p.domain_id).await?;
    let (domain, account) = (p.domain_id.clone(), p.account_id.clone());
    let refresh = state.config.subscriptions.refresh_secs;
    let store2 = store.clone();
    let info = crate::store::blocking(move || {
        subscriptions::add(
            &store2,
            &domain,
            &db,
            &account,
            &req.url,
            req.name.as_deref(),
            req.display_name.as_deref(),
            collection,
            refresh,
        )
    })
    .await
    .map_err(sub_error)?;
    let first = subscriptions::refresh(
        &store,
        &p.domain_id,
        &info.subscription.id,
        &state.config.subscriptions.policy(),
    )
    .await?;
    let mut body = serde_json::to_value(&info).map_err(ApiError::internal)?;
    if let Some(map) = body.as_object_mut() {
        map.insert("firstFetch".into(), json!(first));
    }
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /api/v1/subscriptions`.
pub async fn list(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let db = state.store.domain_async(&p.domain_id).await?;
    let account = p.account_id.clone();
    let subs = crate::store::blocking(move || subscriptions::list(&db, &account)).await?;
    Ok(Json(json!({ "subscriptions": subs })))
}

/// `DELETE /api/v1/subscriptions/{id}`: the subscription and its collection.
pub async fn remove(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let owner = super::links::owner_address(&state, &p).await?;
    let store = state.store.clone();
    let db = store.domain_async(&p.domain_id).await?;
    let (domain, account) = (p.domain_id.clone(), p.account_id.clone());
    crate::store::blocking(move || {
        subscriptions::remove(&store, &domain, &db, &account, &owner, &id)
    })
    .await
    .map_err(sub_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/subscriptions/{id}/refresh`: fetch now.
pub async fn refresh(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let owner = super::links::owner_address(&state, &p).await?;
    let done = subscriptions::refresh_now(
        &state.store,
        &p.domain_id,
        &p.account_id,
        &owner,
        &id,
        &state.config.subscriptions.policy(),
    )
    .await
    .map_err(sub_error)?;
    Ok(Json(json!(done)))
}
