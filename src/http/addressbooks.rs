//! `/api/v1/addressbooks`: the caller's address books, and their exchange between domains
//! (export as one multi-vCard file; import such a file, merging by UID). The caller needs
//! read rights on the source and write rights on the target: today, owning it. A book the
//! caller may not use is answered like one that does not exist.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Authenticated};
use crate::auth::Principal;
use crate::carddav::exchange::{self, ImportError, ImportOptions};
use crate::groupware::vcard::VcardVersion;
use crate::store::DomainDb;
use crate::store::contacts::AddressBook;

/// The caller's book `id`, or 404.
async fn own_book(
    state: &AppState,
    p: &Principal,
    id: &str,
) -> Result<(std::sync::Arc<DomainDb>, AddressBook), ApiError> {
    let not_found = || ApiError::not_found(format!("no address book {id}"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let db = state.store.domain_async(&p.domain_id).await?;
    let book = db
        .read_async(move |r| r.addressbook_by_id(id))
        .await?
        .ok_or_else(not_found)?;
    if book.account != p.account_id {
        tracing::info!(book = id, "404: address book of another account");
        return Err(not_found());
    }
    Ok((db, book))
}

/// `GET /api/v1/addressbooks`: id, name (its URL segment), display name, card count.
pub async fn list(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let db = state.store.domain_async(&p.domain_id).await?;
    let account = p.account_id.clone();
    let books = db
        .read_async(move |r| -> Result<Vec<Value>, crate::store::StoreError> {
            let mut out = Vec::new();
            for b in r.addressbooks(&account)? {
                let display = crate::carddav::display_name(r, &b)?;
                out.push(json!({
                    "id": b.id,
                    "name": b.name,
                    "displayName": display,
                    "cards": r.card_count(b.id)?,
                }));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(json!({ "addressBooks": books })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// 3 or 4 (or 3.0 / 4.0); 4 when absent.
    version: Option<String>,
}

/// Parses `3`, `3.0`, `4`, `4.0`.
pub fn parse_version(v: &str) -> Option<VcardVersion> {
    match v.trim() {
        "3" | "3.0" => Some(VcardVersion::V3),
        "4" | "4.0" => Some(VcardVersion::V4),
        _ => None,
    }
}

/// `GET /api/v1/addressbooks/{id}/export?version=3|4`: every card as one `text/vcard`.
pub async fn export(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let version = match q.version.as_deref() {
        None => VcardVersion::V4,
        Some(v) => parse_version(v).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalidArguments",
                format!("version {v} is not served; use 3 or 4"),
            )
        })?,
    };
    let (db, book) = own_book(&state, &p, &id).await?;
    let name = book.name.clone();
    let body = db
        .read_async(move |r| exchange::export(r, &book, version))
        .await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, version.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.vcf\"", name.replace('"', "")),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImportQuery {
    /// `merge` (the default) or `replace`.
    mode: Option<String>,
    #[serde(default)]
    skip_invalid: bool,
}

/// `POST /api/v1/addressbooks/{id}/import[?mode=replace][&skipInvalid=true]`: merges a
/// multi-vCard body by UID, atomically; answers the counts and the cards left out.
pub async fn import(
    State(state): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let replace = match q.mode.as_deref() {
        None | Some("merge") => false,
        Some("replace") => true,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalidArguments",
                format!("mode {other} is unknown; use merge or replace"),
            ));
        }
    };
    let (db, book) = own_book(&state, &p, &id).await?;
    let opts = ImportOptions {
        replace,
        skip_invalid: q.skip_invalid,
    };
    let result = db
        .write_async(move |w| -> Result<_, ImportErrorBox> {
            Ok(exchange::import(w, &book, &body, opts, &mut |_, _| {})?)
        })
        .await;
    match result {
        Ok(report) => Ok(Json(
            serde_json::to_value(report).map_err(ApiError::internal)?,
        )),
        Err(ImportErrorBox(ImportError::Invalid(errors))) => {
            tracing::info!(
                invalid = errors.len(),
                first_line = ?errors[0].line,
                "422: import refused, invalid cards"
            );
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalidCards",
                format!(
                    "{} card(s) are invalid, the first is card {} at line {}: {}; nothing was imported (use skipInvalid=true to import the others)",
                    errors.len(),
                    errors[0].card,
                    errors[0].line.map_or("?".to_string(), |l| l.to_string()),
                    errors[0].reason
                ),
            );
            err.details = Some(json!({ "invalid": errors }));
            Err(err)
        }
        Err(ImportErrorBox(ImportError::Empty)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalidArguments",
            "the body holds no vCard",
        )),
        Err(ImportErrorBox(ImportError::Store(e))) => Err(e.into()),
    }
}

/// [`ImportError`] as the error type of a store transaction.
struct ImportErrorBox(ImportError);

impl From<crate::store::StoreError> for ImportErrorBox {
    fn from(e: crate::store::StoreError) -> Self {
        ImportErrorBox(ImportError::Store(e))
    }
}

impl From<ImportError> for ImportErrorBox {
    fn from(e: ImportError) -> Self {
        ImportErrorBox(e)
    }
}
