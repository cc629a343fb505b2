//! The JSON API under `/api/v1`: the caller's own account and credentials.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Authenticated};
use crate::auth::{self, LoginMethod, Principal};
use crate::store::domain::{Credential, CredentialKind};

pub async fn healthz() -> &'static str {
    "ok\n"
}

pub async fn not_found(req: axum::extract::Request) -> ApiError {
    let path = req.uri().path().to_string();
    crate::http::drain(req.into_body()).await;
    ApiError::not_found(format!("nothing here: {path}"))
}

/// `GET /api/v1/me`: who the caller is.
pub async fn me(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let db = state.store.domain_async(&p.domain_id).await?;
    let id = p.account_id.clone();
    let account = db
        .read_async(move |r| r.account(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("account removed"))?;
    let domain_id = p.domain_id.clone();
    let domain = state
        .store
        .system()
        .read_async(move |r| r.domain_by_id(&domain_id))
        .await?
        .ok_or_else(|| ApiError::not_found("domain removed"))?;
    Ok(Json(json!({
        "id": account.id,
        "domain": domain.name,
        "domainId": domain.id,
        "login": p.login,
        "addresses": account.addresses,
        "displayName": account.display_name,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    name: String,
}

fn credential_json(c: &Credential) -> Value {
    json!({ "id": c.id, "name": c.name, "createdAt": c.created_at, "lastUsedAt": c.last_used_at })
}

/// Credentials are managed with the account password only: a leaked app password or
/// token must not be able to mint more of itself.
fn require_password(p: &Principal) -> Result<(), ApiError> {
    if p.method == LoginMethod::Password {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "app passwords and tokens are managed with the account password; log in with it",
        ))
    }
}

async fn list(
    state: AppState,
    p: Principal,
    kind: CredentialKind,
) -> Result<Json<Value>, ApiError> {
    let db = state.store.domain_async(&p.domain_id).await?;
    let creds = db
        .read_async(move |r| r.credentials(&p.account_id, kind))
        .await?;
    Ok(Json(Value::Array(
        creds.iter().map(credential_json).collect(),
    )))
}

async fn create(
    state: AppState,
    p: Principal,
    kind: CredentialKind,
    body: Result<Json<NewCredential>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_password(&p)?;
    let Json(body) = body
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalidArguments", e.body_text()))?;
    let name = crate::admin::credential_name(&body.name)?.to_string();
    let db = state.store.domain_async(&p.domain_id).await?;
    let issued = {
        let db = db.clone();
        let name = name.clone();
        tokio::task::spawn_blocking(move || auth::issue_credential(&db, &p.account_id, kind, &name))
            .await
            .map_err(ApiError::internal)?
    };
    let (cred, secret) = issued.map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => ApiError::new(
            StatusCode::CONFLICT,
            "alreadyExists",
            format!("a credential named {name} exists; revoke it first or pick another name"),
        ),
        e => e.into(),
    })?;
    let mut out = credential_json(&cred);
    out["secret"] = Value::String(secret);
    Ok((StatusCode::CREATED, Json(out)))
}

async fn revoke(
    state: AppState,
    p: Principal,
    kind: CredentialKind,
    name: String,
) -> Result<StatusCode, ApiError> {
    require_password(&p)?;
    let db = state.store.domain_async(&p.domain_id).await?;
    let n = name.clone();
    db.write_async(move |w| w.revoke_credential(&p.account_id, kind, &n))
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound(_) => {
                ApiError::not_found(format!("no credential named {name}"))
            }
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_app_passwords(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Value>, ApiError> {
    list(s, p, CredentialKind::AppPassword).await
}

pub async fn create_app_password(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    body: Result<Json<NewCredential>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    create(s, p, CredentialKind::AppPassword, body).await
}

pub async fn revoke_app_password(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    revoke(s, p, CredentialKind::AppPassword, name).await
}

pub async fn list_tokens(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Value>, ApiError> {
    list(s, p, CredentialKind::Token).await
}

pub async fn create_token(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    body: Result<Json<NewCredential>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    create(s, p, CredentialKind::Token, body).await
}

pub async fn revoke_token(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    revoke(s, p, CredentialKind::Token, name).await
}
