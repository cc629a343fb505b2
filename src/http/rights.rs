//! `/api/v1/groups` (domain admins: the caller's domain's groups) and
//! `/api/v1/calendars/{name}/grants`, `/api/v1/addressbooks/{id}/grants` (who may use a
//! collection: managed by its owner, by those it is shared with at `manage` — a calendar
//! by its name in their own home — and, for domain collections, by domain admins).
//! Grantees are resolved in the caller's domain only.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Authenticated};
use crate::admin::AdminError;
use crate::admin::rights::{self, GrantInfo};
use crate::auth::Principal;
use crate::store::domain::Account;
use crate::store::rights::{Group, Level};
use crate::store::shares::Collection;
use crate::store::{DomainDb, DomainRecord};

/// The caller's domain, its database and account.
async fn caller(
    state: &AppState,
    p: &Principal,
) -> Result<(DomainRecord, Arc<DomainDb>, Account), ApiError> {
    let db = state.store.domain_async(&p.domain_id).await?;
    let id = p.account_id.clone();
    let account = db
        .read_async(move |r| r.account(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("account removed"))?;
    let domain_id = p.domain_id.clone();
    let record = state
        .store
        .system()
        .read_async(move |r| r.domain_by_id(&domain_id))
        .await?
        .ok_or_else(|| ApiError::not_found("domain removed"))?;
    Ok((record, db, account))
}

/// Refuses callers that are not domain admins (`domus user admin ADDRESS --on`).
async fn require_admin(
    state: &AppState,
    p: &Principal,
) -> Result<(DomainRecord, Arc<DomainDb>), ApiError> {
    let (record, db, account) = caller(state, p).await?;
    let id = account.id.clone();
    if !db.read_async(move |r| r.is_domain_admin(&id)).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} is not an admin of {}; a platform operator can make it one with `domus user admin {} --on`",
                account.primary_address, record.name, account.primary_address
            ),
        ));
    }
    Ok((record, db))
}

fn group_json(g: &Group) -> Value {
    json!({ "name": g.name, "members": g.members, "createdAt": g.created_at })
}

async fn run<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, AdminError> + Send + 'static,
) -> Result<R, ApiError> {
    Ok(crate::store::blocking(f).await?)
}

/// `GET /api/v1/groups`.
pub async fn list_groups(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let (_, db) = require_admin(&state, &p).await?;
    let groups = run(move || rights::groups(&db)).await?;
    Ok(Json(
        json!({ "groups": groups.iter().map(group_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    name: String,
}

/// `POST /api/v1/groups` with `{"name": …}`.
pub async fn add_group(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Json(req): Json<NewGroup>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (record, db) = require_admin(&state, &p).await?;
    let g = run(move || rights::add_group(&db, &record.name, &req.name)).await?;
    Ok((StatusCode::CREATED, Json(group_json(&g))))
}

/// `DELETE /api/v1/groups/{name}`.
pub async fn remove_group(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (record, db) = require_admin(&state, &p).await?;
    run(move || rights::remove_group(&db, &record.name, &name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    address: String,
}

/// `POST /api/v1/groups/{name}/members` with `{"address": …}`.
pub async fn add_member(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Path(name): Path<String>,
    Json(req): Json<NewMember>,
) -> Result<Json<Value>, ApiError> {
    let (record, db) = require_admin(&state, &p).await?;
    let g = run(move || rights::group_member(&record, &db, &name, &req.address, true)).await?;
    Ok(Json(group_json(&g)))
}

/// `DELETE /api/v1/groups/{name}/members/{address}`.
pub async fn remove_member(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Path((name, address)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (record, db) = require_admin(&state, &p).await?;
    let g = run(move || rights::group_member(&record, &db, &name, &address, false)).await?;
    Ok(Json(group_json(&g)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// An address of the domain, `group:NAME`, or `everyone`.
    to: String,
    level: Level,
}

/// The collection a path names whose grants the caller manages (see
/// `admin::rights::managed_target`), with its owner: 404 for anything else.
async fn target(
    db: &Arc<DomainDb>,
    account: &Account,
    collection: Collection,
    key: &str,
) -> Result<(Account, String), ApiError> {
    let (db, caller, k) = (db.clone(), account.clone(), key.to_string());
    run(move || rights::managed_target(&db, &caller, collection, &k))
        .await?
        .ok_or_else(|| match collection {
            Collection::Calendar => {
                ApiError::not_found(format!("no calendar named {key} whose grants you manage"))
            }
            Collection::Addressbook => {
                ApiError::not_found(format!("no address book {key} whose grants you manage"))
            }
        })
}

fn of_collection(grants: Vec<GrantInfo>, collection: Collection, name: &str) -> Vec<GrantInfo> {
    grants
        .into_iter()
        .filter(|g| g.collection == collection && g.name == name)
        .collect()
}

async fn list(
    state: AppState,
    p: Principal,
    collection: Collection,
    key: String,
) -> Result<Json<Value>, ApiError> {
    let (_, db, me) = caller(&state, &p).await?;
    let (account, name) = target(&db, &me, collection, &key).await?;
    let grants = run(move || rights::list_grants(&db, &account.id)).await?;
    Ok(Json(
        json!({ "grants": of_collection(grants, collection, &name) }),
    ))
}

async fn add(
    state: AppState,
    p: Principal,
    collection: Collection,
    key: String,
    req: NewGrant,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (record, db, me) = caller(&state, &p).await?;
    let (account, name) = target(&db, &me, collection, &key).await?;
    let g = run(move || {
        let target = match collection {
            Collection::Calendar => crate::sharing::Target::Calendar(&name),
            Collection::Addressbook => crate::sharing::Target::AddressBook(&name),
        };
        rights::add_grant(&record, &db, &account, target, &req.to, req.level)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(&g).unwrap_or_default()),
    ))
}

async fn remove(
    state: AppState,
    p: Principal,
    collection: Collection,
    key: String,
    id: String,
) -> Result<StatusCode, ApiError> {
    let (_, db, me) = caller(&state, &p).await?;
    let (account, name) = target(&db, &me, collection, &key).await?;
    let found = {
        let (db, owner) = (db.clone(), account.id.clone());
        run(move || rights::list_grants(&db, &owner)).await?
    };
    if !of_collection(found, collection, &name)
        .iter()
        .any(|g| g.id == id)
    {
        return Err(ApiError::not_found(format!("no grant {id} on {name}")));
    }
    run(move || rights::remove_grant(&db, &account, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/calendars/{name}/grants`.
pub async fn calendar_list(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list(s, p, Collection::Calendar, name).await
}

/// `POST /api/v1/calendars/{name}/grants` with `{"to": …, "level": …}`.
pub async fn calendar_add(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(name): Path<String>,
    Json(req): Json<NewGrant>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    add(s, p, Collection::Calendar, name, req).await
}

/// `DELETE /api/v1/calendars/{name}/grants/{id}`.
pub async fn calendar_remove(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove(s, p, Collection::Calendar, name, id).await
}

/// `GET /api/v1/addressbooks/{id}/grants`.
pub async fn book_list(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list(s, p, Collection::Addressbook, id).await
}

/// `POST /api/v1/addressbooks/{id}/grants`.
pub async fn book_add(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
    Json(req): Json<NewGrant>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    add(s, p, Collection::Addressbook, id, req).await
}

/// `DELETE /api/v1/addressbooks/{id}/grants/{grant}`.
pub async fn book_remove(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path((id, grant)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove(s, p, Collection::Addressbook, id, grant).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDomainCollection {
    name: String,
    /// Addresses of the domain, `group:NAME` or `everyone`: who may write.
    #[serde(default)]
    writers: Vec<String>,
}

async fn add_domain_collection(
    state: AppState,
    p: Principal,
    collection: Collection,
    req: NewDomainCollection,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (record, db) = require_admin(&state, &p).await?;
    let c = run(move || {
        let target = match collection {
            Collection::Calendar => crate::sharing::Target::Calendar(&req.name),
            Collection::Addressbook => crate::sharing::Target::AddressBook(&req.name),
        };
        rights::add_domain_collection(&record, &db, target, &req.writers)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(&c).unwrap_or_default()),
    ))
}

/// `POST /api/v1/domain-calendars` with `{"name": …, "writers": […]}` (domain admins).
pub async fn add_domain_calendar(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Json(req): Json<NewDomainCollection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    add_domain_collection(s, p, Collection::Calendar, req).await
}

/// `POST /api/v1/domain-addressbooks` with `{"name": …, "writers": […]}` (domain admins).
pub async fn add_domain_book(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Json(req): Json<NewDomainCollection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    add_domain_collection(s, p, Collection::Addressbook, req).await
}

/// `GET /api/v1/domain-collections` (domain admins): the domain's calendars and address
/// books with their grants.
pub async fn domain_collections(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let (record, db) = require_admin(&state, &p).await?;
    let all = run(move || rights::domain_collections(&record, &db)).await?;
    Ok(Json(json!({ "collections": all })))
}
