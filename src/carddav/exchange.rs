//! Address book exchange between domains: export a book as one multi-vCard file, import
//! such a file into another book. Importing merges by UID: new cards are created, changed
//! ones updated (at their existing href), unchanged ones left alone (same stored bytes, so
//! the book's sync token does not move); `replace` also removes cards missing from the
//! file. An import is one transaction: all of it, or nothing.
//!
//! Called by the HTTP API (`/api/v1/addressbooks/{id}/…`) and the CLI (`domus addressbook`).

use std::collections::HashMap;

use serde::Serialize;

use super::{options, store_index};
use crate::groupware::vcard::{self, IngestOptions, VcardError, VcardVersion};
use crate::store::StoreError;
use crate::store::contacts::AddressBook;
use crate::store::domain::{DomainRead, DomainWrite};

/// Every card of a book, in `version`, one after the other (RFC 6350 §3.1 allows many
/// vCards in one stream).
pub fn export(
    r: &DomainRead<'_>,
    book: &AddressBook,
    version: VcardVersion,
) -> Result<String, StoreError> {
    let mut out = String::new();
    for (meta, data) in r.cards_with_data(book.id)? {
        // Stored in the version asked for: copied as is, nothing parsed.
        if VcardVersion::from_version(&meta.version) == Some(version) {
            out.push_str(&data);
        } else {
            out.push_str(&vcard::render(&data, version));
        }
        if !out.ends_with('\n') {
            out.push_str("\r\n");
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Also remove the book's cards whose UID is not in the file.
    pub replace: bool,
    /// Import the valid cards and list the invalid ones, instead of refusing the file.
    pub skip_invalid: bool,
}

/// A card of the file that was refused.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CardError {
    /// 1-based position of the card in the file.
    pub card: usize,
    /// 1-based line of the problem (or of the card's BEGIN) in the file.
    pub line: Option<usize>,
    /// The RFC 6352 precondition the card fails.
    pub precondition: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    /// Invalid cards left out (with `skip_invalid`).
    pub skipped: Vec<CardError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} of the file's cards are invalid (the first: card {}, {}); nothing was imported. Fix them, or import the others with skipInvalid", .0.len(), .0[0].card, .0[0].reason)]
    Invalid(Vec<CardError>),
    #[error("the file holds no vCard")]
    Empty,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A file name for a new card: its UID when that is a safe path segment, else a hash.
fn card_name(uid: &str, taken: &HashMap<String, ()>) -> String {
    let safe = !uid.is_empty()
        && uid.len() <= 200
        && uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    let base = if safe {
        uid.to_string()
    } else {
        crate::store::contacts::etag_of(uid)
            .trim_matches('"')
            .to_string()
    };
    let mut name = format!("{base}.vcf");
    let mut n = 1;
    while taken.contains_key(&name) {
        n += 1;
        name = format!("{base}-{n}.vcf");
    }
    name
}

/// Checks every card of `bytes` (calling `progress(done, total)` as it goes), then
/// merges them into `book` within the caller's write transaction.
pub fn import(
    w: &DomainWrite<'_>,
    book: &AddressBook,
    bytes: &[u8],
    opts: ImportOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, ImportError> {
    let ingest = IngestOptions {
        repair_uid: true,
        ..options()
    };
    let chunks = vcard::split_multi(bytes);
    if chunks.is_empty() {
        return Err(ImportError::Empty);
    }
    let total = chunks.len();
    let mut cards = Vec::with_capacity(total);
    let mut errors = Vec::new();
    for (i, chunk) in chunks.into_iter().enumerate() {
        let checked = chunk.and_then(|c| {
            c.ingest(&ingest).map_err(|e| match e.line() {
                Some(_) => e,
                None => VcardError::Invalid {
                    line: Some(c.first_line),
                    reason: e.to_string(),
                },
            })
        });
        match checked {
            Ok(card) => cards.push(card),
            Err(e) => errors.push(CardError {
                card: i + 1,
                line: e.line(),
                precondition: e.precondition(),
                reason: e.to_string(),
            }),
        }
        if i % 256 == 0 || i + 1 == total {
            progress(i + 1, total);
        }
    }
    if !errors.is_empty() && !opts.skip_invalid {
        return Err(ImportError::Invalid(errors));
    }
    // The same UID twice in one file: the later card wins.
    let mut by_uid: HashMap<String, usize> = HashMap::new();
    for (i, c) in cards.iter().enumerate() {
        by_uid.insert(c.index.uid.clone(), i);
    }
    let existing = w.card_uids(book.id)?;
    let mut taken: HashMap<String, ()> = existing.iter().map(|(n, _, _)| (n.clone(), ())).collect();
    let mut current: HashMap<String, (String, String)> = existing
        .into_iter()
        .map(|(name, uid, etag)| (uid, (name, etag)))
        .collect();
    let mut report = ImportReport {
        skipped: errors,
        ..ImportReport::default()
    };
    for (i, card) in cards.iter().enumerate() {
        if by_uid.get(&card.index.uid) != Some(&i) {
            continue;
        }
        let index = store_index(card);
        match current.remove(&card.index.uid) {
            Some((_, etag)) if etag == crate::store::contacts::etag_of(&card.text) => {
                report.unchanged += 1;
            }
            Some((name, _)) => {
                w.put_card(book, &name, &index, &card.text)?;
                report.updated += 1;
            }
            None => {
                let name = card_name(&card.index.uid, &taken);
                taken.insert(name.clone(), ());
                w.put_card(book, &name, &index, &card.text)?;
                report.created += 1;
            }
        }
    }
    if opts.replace {
        for (_, (name, _)) in current {
            w.delete_card(book, &name)?;
            report.removed += 1;
        }
    }
    Ok(report)
}
