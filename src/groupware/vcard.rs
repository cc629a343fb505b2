//! vCard for CardDAV (RFC 6352) and, later, JMAP contacts: `ingest` checks what a client
//! PUTs and extracts what the store indexes, `render` converts a stored card to the version a
//! client asks for (3.0 or 4.0), `select` keeps the properties an `address-data` request
//! names, `split_multi` cuts a multi-card file for import, and `ParsedCard` is what the
//! addressbook-query filters (`cardfilter`) look at.
//!
//! Pure: bytes in, values out; no I/O, SQL or HTTP types. calcard parses and writes each
//! property; this module adds what calcard does not do (docs/vcard.md has the full list):
//! line positions for errors, the byte-level UTF-8 repair, strict base64 checks, the one-card
//! rule, UID and FN repairs, and the semantic 3.0 <-> 4.0 conversion (calcard's writer changes
//! value syntax only: it keeps `TYPE=pref`, `PREF=1`, `KIND`, `MEMBER` and `VALUE=` as they
//! are, escapes the comma of a `data:` URI and adds `CHARSET=UTF-8` to 3.0 text).
//!
//! Stored form: the card as the client sent it, in its own version (3.0 or 4.0), with CRLF
//! line ends, no blank lines and its folding kept, plus a repaired UID or FN line when one was
//! missing. A client reading its own version gets its bytes back; conversion happens on read.
//! vCard 2.1 is converted on ingest (to 3.0 by default) because nothing reads 2.1 back.

mod convert;
mod lines;

#[cfg(test)]
mod tests;

use calcard::common::IanaString;
use calcard::vcard::{VCard, VCardEntry, VCardProperty, VCardValue};
use calcard::{Entry, Parser};
use lines::ContentLine;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The vCard versions this server stores and serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VcardVersion {
    V3,
    V4,
}

impl VcardVersion {
    /// The VERSION value (`3.0`, `4.0`).
    pub fn as_str(self) -> &'static str {
        match self {
            VcardVersion::V3 => "3.0",
            VcardVersion::V4 => "4.0",
        }
    }

    /// `3.0` or `4.0` (a VERSION value or the `version` attribute of CARDDAV:address-data).
    pub fn from_version(value: &str) -> Option<VcardVersion> {
        match value.trim().trim_matches('"') {
            "3.0" => Some(VcardVersion::V3),
            "4.0" => Some(VcardVersion::V4),
            _ => None,
        }
    }

    /// The version a `Content-Type` names: `Ok(None)` for a vCard type without a version
    /// parameter (the caller picks its default), an error (CARDDAV:supported-address-data)
    /// for another media type or another version.
    pub fn from_content_type(value: &str) -> Result<Option<VcardVersion>, VcardError> {
        let mut parts = value.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !is_vcard_media(media) {
            return Err(VcardError::Unsupported(format!(
                "media type {media:?} is not text/vcard"
            )));
        }
        for param in parts {
            let Some((name, version)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("version") {
                return VcardVersion::from_version(version)
                    .map(Some)
                    .ok_or_else(|| {
                        VcardError::Unsupported(format!(
                            "vCard version {} (this server serves 3.0 and 4.0)",
                            version.trim()
                        ))
                    });
            }
        }
        Ok(None)
    }

    /// The version an `Accept` header prefers among vCard types that name one (highest q,
    /// then the first); None when none does (the caller picks its default).
    pub fn from_accept(accept: &str) -> Option<VcardVersion> {
        let mut best: Option<(f32, VcardVersion)> = None;
        for range in accept.split(',') {
            let Ok(Some(version)) = VcardVersion::from_content_type(range) else {
                continue;
            };
            let q = quality(range);
            if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, version));
            }
        }
        best.map(|(_, version)| version)
    }

    /// The `Content-Type` of a card in this version.
    pub fn content_type(self) -> &'static str {
        match self {
            VcardVersion::V3 => "text/vcard; charset=utf-8; version=3.0",
            VcardVersion::V4 => "text/vcard; charset=utf-8; version=4.0",
        }
    }
}

fn is_vcard_media(media: &str) -> bool {
    ["text/vcard", "text/x-vcard", "text/directory"]
        .iter()
        .any(|known| media.eq_ignore_ascii_case(known))
}

/// The `q` parameter of one media range (1 when absent or unreadable).
fn quality(range: &str) -> f32 {
    range
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
        .and_then(|(_, q)| q.trim().parse::<f32>().ok())
        .unwrap_or(1.0)
}

/// What an address book accepts and repairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// CARDDAV:max-resource-size, in bytes, checked before anything else.
    pub max_bytes: usize,
    /// A card without UID gets one derived from its content (`derived_uid`) instead of being
    /// refused: for imports, where the same file imported twice must give the same UIDs.
    pub repair_uid: bool,
    /// The UID a card without one gets (before `repair_uid`): a PUT names the card at its
    /// href, so a client that sends no UID keeps one identity across its updates.
    pub uid_fallback: Option<String>,
    /// The version vCard 2.1 input is stored as.
    pub legacy_version: VcardVersion,
}

/// 4 MiB: a phone camera's JPEG (about 3 MB) grows by a third as base64.
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;

impl Default for IngestOptions {
    /// 4 MiB, UID required, 2.1 stored as 3.0.
    fn default() -> Self {
        IngestOptions {
            max_bytes: DEFAULT_MAX_BYTES,
            repair_uid: false,
            uid_fallback: None,
            legacy_version: VcardVersion::V3,
        }
    }
}

/// The vCard KIND (RFC 6350 §6.1.4; Apple's X-ADDRESSBOOKSERVER-KIND in 3.0).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum CardKind {
    #[default]
    Individual,
    Group,
    Org,
    Location,
    /// Another kind (`application`, `device`, an x-name), lower-cased.
    Other(String),
}

impl CardKind {
    fn parse(value: &str) -> CardKind {
        let value = value.trim().to_ascii_lowercase();
        match value.as_str() {
            "" | "individual" => CardKind::Individual,
            "group" => CardKind::Group,
            "org" => CardKind::Org,
            "location" => CardKind::Location,
            _ => CardKind::Other(value),
        }
    }
}

/// What the store indexes about one card.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardIndex {
    pub uid: String,
    pub kind: CardKind,
    /// The FN value (the first FN; after the FN repair, never absent).
    pub full_name: String,
    /// EMAIL values, lower-cased (`fold_email`), without `mailto:`, without duplicates.
    pub emails: Vec<String>,
    /// TEL values as written, without `tel:`.
    pub tels: Vec<String>,
    /// Group members (MEMBER, X-ADDRESSBOOKSERVER-MEMBER) without `urn:uuid:`, in order,
    /// without duplicates; other URIs (`mailto:`) as written.
    pub members: Vec<String>,
}

/// A change `ingest` made to what the client sent. When there is any, the stored bytes differ
/// from the request body (no strong ETag in the PUT response, RFC 6352 §6.3.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// A UTF-8 byte order mark was dropped.
    ByteOrderMark,
    /// A fold split a multi-byte character at this line; the fold now sits before it.
    SplitUtf8Fold { line: usize },
    /// Line ends became CRLF, blank lines were dropped or a final CRLF was added.
    LineEnds,
    /// The card had no UID; this one was derived from its content.
    Uid(String),
    /// The card had no FN (or an empty one); this one was derived (`derive_fn`).
    Fn(String),
    /// vCard 2.1, stored in this version.
    FromV21(VcardVersion),
}

/// One checked card, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The stored form (module documentation).
    pub text: String,
    pub version: VcardVersion,
    pub index: CardIndex,
    pub repairs: Vec<Repair>,
}

/// Why a card is refused; each maps to a RFC 6352 §6.3.2.1 precondition (`precondition()`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VcardError {
    /// Not one well-formed vCard: not UTF-8, broken lines, bad base64, no UID.
    #[error("not valid vCard data{}: {reason}", at_line(*line))]
    Invalid { line: Option<usize>, reason: String },
    /// Not a vCard media type, or a vCard version other than 2.1, 3.0 and 4.0.
    #[error("unsupported address data: {0}")]
    Unsupported(String),
    #[error("vCard of {size} bytes, larger than the maximum resource size of {max} bytes")]
    TooLarge { size: usize, max: usize },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|line| format!(" (line {line})"))
        .unwrap_or_default()
}

impl VcardError {
    /// The local name of the CARDDAV precondition element (RFC 6352 §6.3.2.1) to report.
    pub fn precondition(&self) -> &'static str {
        match self {
            VcardError::Invalid { .. } => "valid-address-data",
            VcardError::Unsupported(_) => "supported-address-data",
            VcardError::TooLarge { .. } => "max-resource-size",
        }
    }

    /// The 1-based line the problem is on, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            VcardError::Invalid { line, .. } => *line,
            _ => None,
        }
    }

    fn invalid(line: Option<usize>, reason: impl Into<String>) -> VcardError {
        VcardError::Invalid {
            line,
            reason: reason.into(),
        }
    }

    /// The same error with its line number moved down by `lines` (a card of a larger file).
    pub fn shifted(self, lines: usize) -> VcardError {
        match self {
            VcardError::Invalid { line, reason } => VcardError::Invalid {
                line: line.map(|line| line + lines),
                reason,
            },
            other => other,
        }
    }
}

/// Checks one vCard (a PUT body) and returns its stored form and index data.
pub fn ingest(bytes: &[u8], opts: &IngestOptions) -> Result<Ingested, VcardError> {
    if bytes.len() > opts.max_bytes {
        return Err(VcardError::TooLarge {
            size: bytes.len(),
            max: opts.max_bytes,
        });
    }
    let mut repairs = Vec::new();
    let text = lines::decode(bytes, &mut repairs)?;
    let physical = lines::physical(&text);
    let card = single_card(&physical)?;
    let content = lines::content_lines(card);
    let version = lines::version_value(&content)
        .ok_or_else(|| VcardError::invalid(card.first().map(|l| l.0), "no VERSION property"))?;
    match version {
        "2.1" => ingest_v21(&text, opts, repairs),
        other => match VcardVersion::from_version(other) {
            Some(version) => ingest_card(&text, &content, version, opts, repairs),
            None => Err(VcardError::Unsupported(format!(
                "vCard version {other} (this server accepts 2.1, 3.0 and 4.0)"
            ))),
        },
    }
}

/// The physical lines of the one card in a body; several cards, or content outside the card,
/// are refused.
fn single_card<'a, 'b>(
    physical: &'b [(usize, &'a str)],
) -> Result<&'b [(usize, &'a str)], VcardError> {
    let as_bytes: Vec<(usize, &[u8])> = physical.iter().map(|(n, l)| (*n, l.as_bytes())).collect();
    let mut cards = Vec::new();
    for card in lines::scan_cards(&as_bytes) {
        cards.push(card?);
    }
    match cards.as_slice() {
        [] => Err(VcardError::invalid(None, "no BEGIN:VCARD")),
        [one] => Ok(physical.get(one.clone()).unwrap_or_default()),
        [_, second, ..] => Err(VcardError::invalid(
            physical.get(second.start).map(|(number, _)| *number),
            "a second vCard starts here; an address object resource holds exactly one \
             (RFC 6352 §5.1)",
        )),
    }
}

/// vCard 3.0 or 4.0: checks every content line, repairs UID and FN, keeps the bytes.
fn ingest_card(
    text: &str,
    content: &[ContentLine<'_>],
    version: VcardVersion,
    opts: &IngestOptions,
    mut repairs: Vec<Repair>,
) -> Result<Ingested, VcardError> {
    for line in content {
        check_line(line)?;
    }
    let joined = lines::join(content);
    if joined != text {
        repairs.push(Repair::LineEnds);
    }
    let card = ParsedCard::parse(&joined);
    let new_fn = fn_repair(&card);
    let full_name = new_fn
        .clone()
        .or_else(|| card.first_text("FN"))
        .unwrap_or_default();
    let new_uid = match card.first_text("UID").filter(|uid| !uid.trim().is_empty()) {
        Some(_) => None,
        None if opts.uid_fallback.is_some() => opts.uid_fallback.clone(),
        None if opts.repair_uid => Some(derived_uid(&card, &full_name)),
        None => {
            return Err(VcardError::invalid(
                None,
                "no UID property (this server tells the cards of an address book apart by \
                 UID, RFC 6352 no-uid-conflict)",
            ));
        }
    };
    let mut index = CardIndex::of(&card);
    index.full_name = full_name;
    if let Some(uid) = &new_uid {
        index.uid = uid.clone();
        repairs.push(Repair::Uid(uid.clone()));
    }
    if let Some(name) = &new_fn {
        repairs.push(Repair::Fn(name.clone()));
    }
    let text = match (&new_uid, &new_fn) {
        (None, None) => joined,
        _ => with_repairs(content, new_uid.as_deref(), new_fn.as_deref()),
    };
    Ok(Ingested {
        text,
        version,
        index,
        repairs,
    })
}

/// The FN to add: derived (`derive_fn`), or empty when the card has no FN line and nothing
/// to derive one from (FN is required; an empty one keeps the card valid). None: keep FN.
fn fn_repair(card: &ParsedCard) -> Option<String> {
    match derive_fn(card) {
        Some(name) => Some(name),
        None if card.first("FN").is_none() => Some(String::new()),
        None => None,
    }
}

/// The content lines as stored with a new UID and FN after the VERSION line, and without the
/// blank UID and FN lines they replace.
fn with_repairs(content: &[ContentLine<'_>], uid: Option<&str>, full_name: Option<&str>) -> String {
    let replaced = |line: &ContentLine<'_>| {
        lines::split(&line.unfolded).is_ok_and(|parts| {
            let name = parts.name.to_ascii_uppercase();
            parts.value.trim().is_empty()
                && ((name == "UID" && uid.is_some()) || (name == "FN" && full_name.is_some()))
        })
    };
    let kept: Vec<ContentLine<'_>> = content.iter().filter(|l| !replaced(l)).cloned().collect();
    let mut extra = String::new();
    if let Some(uid) = uid {
        extra.push_str(&property_line(VCardProperty::Uid, uid));
    }
    if let Some(name) = full_name {
        extra.push_str(&property_line(VCardProperty::Fn, name));
    }
    insert_after_version(&kept, &extra)
}

/// A content line must split into name, parameters and value, and a base64 value must
/// decode (`ENCODING=b`, Apple's bare `BASE64`, or a `data:` URI with `;base64`).
fn check_line(line: &ContentLine<'_>) -> Result<(), VcardError> {
    let parts = lines::split(&line.unfolded)
        .map_err(|reason| VcardError::invalid(Some(line.line), reason))?;
    let valid = if parts.is_base64() {
        convert::decode_base64(parts.value).is_some()
    } else {
        convert::data_uri_base64(parts.value).is_none_or(|data| data.is_some())
    };
    if valid {
        Ok(())
    } else {
        Err(VcardError::invalid(
            Some(line.line),
            format!("{}: invalid base64 data", parts.name.to_ascii_uppercase()),
        ))
    }
}

/// One property line as calcard writes it (escaped, folded, CRLF), without 3.0's CHARSET.
fn property_line(name: VCardProperty, value: &str) -> String {
    let entry = VCardEntry {
        group: None,
        name,
        params: Vec::new(),
        values: vec![VCardValue::Text(value.to_string())],
    };
    let mut out = String::new();
    if entry.write_to(&mut out, true).is_err() {
        out.clear();
    }
    out
}

/// The content lines joined as stored, with `extra` (whole lines) after the VERSION line.
fn insert_after_version(content: &[ContentLine<'_>], extra: &str) -> String {
    let at = content
        .iter()
        .position(|line| {
            lines::split(&line.unfolded).is_ok_and(|parts| {
                parts.group.is_none() && parts.name.eq_ignore_ascii_case("VERSION")
            })
        })
        .map_or(1, |index| index + 1);
    let (before, after) = content.split_at(at.min(content.len()));
    let mut out = lines::join(before);
    out.push_str(extra);
    out.push_str(&lines::join(after));
    out
}

/// vCard 2.1: parsed by calcard as a whole (quoted-printable, charsets, bare types), converted
/// and written in `opts.legacy_version`, then checked like any other card. Line numbers in
/// later errors are those of the converted text, so they are left out.
fn ingest_v21(
    text: &str,
    opts: &IngestOptions,
    mut repairs: Vec<Repair>,
) -> Result<Ingested, VcardError> {
    let Entry::VCard(card) = Parser::new(text).entry() else {
        return Err(VcardError::invalid(None, "unreadable vCard 2.1"));
    };
    let entries = convert::from_v21(card.entries)?;
    let entries = match opts.legacy_version {
        VcardVersion::V3 => entries,
        VcardVersion::V4 => convert::to_v4(entries),
    };
    let converted = convert::write(&entries, opts.legacy_version);
    repairs.push(Repair::FromV21(opts.legacy_version));
    let physical = lines::physical(&converted);
    let content = lines::content_lines(&physical);
    ingest_card(&converted, &content, opts.legacy_version, opts, repairs).map_err(|e| match e {
        VcardError::Invalid { reason, .. } => VcardError::invalid(None, reason),
        other => other,
    })
}

/// The FN a card without one (or with an empty one) gets, from the first of N (prefix, given,
/// additional, family, suffix), ORG, NICKNAME, EMAIL and TEL that is not empty; None when the
/// card has an FN, or has nothing to derive one from. (SOGo Connector and other clients send
/// cards without FN, which RFC 6350 requires.)
pub fn derive_fn(card: &ParsedCard) -> Option<String> {
    if card
        .first_text("FN")
        .is_some_and(|name| !name.trim().is_empty())
    {
        return None;
    }
    let from_n = card.first("N").map(|n| {
        let part = |index: usize| n.components.get(index).map(|items| items.join(" "));
        [3, 1, 2, 0, 4]
            .iter()
            .filter_map(|index| part(*index))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let first_component = |name: &str| {
        card.first(name)
            .and_then(|p| p.components.first())
            .and_then(|c| c.first().cloned())
    };
    [
        from_n,
        first_component("ORG"),
        first_component("NICKNAME"),
        card.first_text("EMAIL"),
        card.first_text("TEL"),
    ]
    .into_iter()
    .flatten()
    .map(|name| collapse_spaces(&name))
    .find(|name| !name.is_empty())
}

fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A stable UID for a card without one: SHA-256 of its FN, N (its parts) and first EMAIL
/// (else first TEL, digits and `+` only), each lower-cased with spaces collapsed, written as
/// a RFC 9562 version 8 UUID. A card with none of these hashes its whole content instead.
/// The same card imported twice gets the same UID, also when REV, PRODID, the note or the
/// photo changed in between.
pub fn derived_uid(card: &ParsedCard, full_name: &str) -> String {
    let normal = |text: &str| fold_email(&collapse_spaces(text));
    let n = card
        .first("N")
        .map(|n| {
            n.components
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let contact = card
        .first_text("EMAIL")
        .map(|email| normal(&email))
        .or_else(|| {
            card.first_text("TEL").map(|tel| {
                tel.chars()
                    .filter(|c| c.is_ascii_digit() || *c == '+')
                    .collect()
            })
        })
        .unwrap_or_default();
    let key = [normal(full_name), normal(&n), contact];
    let mut hasher = Sha256::new();
    if key.iter().all(String::is_empty) {
        for prop in &card.props {
            hasher.update(prop.name.as_bytes());
            hasher.update(prop.value.as_bytes());
            hasher.update([0x1f]);
        }
    } else {
        hasher.update(key.join("\u{1f}").as_bytes());
    }
    uuid_v8(&hasher.finalize())
}

fn uuid_v8(hash: &[u8]) -> String {
    let mut bytes = [0u8; 16];
    for (slot, byte) in bytes.iter_mut().zip(hash) {
        *slot = *byte;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Lower-cases an address character by character (the same folding for the index and for
/// `cardfilter`'s email hint, so a hint always finds a superset).
pub fn fold_email(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// The stored card in `version`: the stored text itself when the versions agree (byte for
/// byte), else converted (docs/vcard.md has the rules). Text that is not a vCard is returned
/// unchanged.
pub fn render(stored: &str, version: VcardVersion) -> String {
    let content = lines::content_lines_of(stored);
    let Some(current) = lines::version_value(&content).and_then(VcardVersion::from_version) else {
        return stored.to_string();
    };
    if current == version {
        return stored.to_string();
    }
    let entries = convert::load(&content, current);
    let entries = match version {
        VcardVersion::V4 => convert::to_v4(entries),
        VcardVersion::V3 => convert::to_v3(entries),
    };
    convert::write(&entries, version)
}

/// CARDDAV:address-data with `prop` elements (RFC 6352 §10.4.2): the card in `version` with
/// only the named properties (any group; names case-insensitive), and always BEGIN, END,
/// VERSION and UID. No names means the whole card.
pub fn select(stored: &str, version: VcardVersion, props: &[String]) -> String {
    let rendered = render(stored, version);
    if props.is_empty() {
        return rendered;
    }
    let kept: Vec<ContentLine<'_>> = lines::content_lines_of(&rendered)
        .into_iter()
        .filter(|line| {
            let Ok(parts) = lines::split(&line.unfolded) else {
                return false;
            };
            ["BEGIN", "END", "VERSION", "UID"]
                .iter()
                .copied()
                .chain(props.iter().map(String::as_str))
                .any(|name| name.eq_ignore_ascii_case(parts.name))
        })
        .collect();
    lines::join(&kept)
}

/// One card of a multi-card file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// The 1-based line of its BEGIN:VCARD in the file.
    pub first_line: usize,
    pub bytes: &'a [u8],
}

impl Chunk<'_> {
    /// `ingest` on this card, with line numbers counted in the whole file.
    pub fn ingest(&self, opts: &IngestOptions) -> Result<Ingested, VcardError> {
        ingest(self.bytes, opts).map_err(|e| e.shifted(self.first_line.saturating_sub(1)))
    }
}

/// Cuts a file of many cards (an export) into cards, in order, for `Chunk::ingest` each.
/// Content between cards and a card without END are errors in the list, at their place; the
/// cards around them are still returned. Works on bytes, so one card that is not UTF-8 spoils
/// only itself.
pub fn split_multi(bytes: &[u8]) -> Vec<Result<Chunk<'_>, VcardError>> {
    let spans = lines::line_spans(bytes);
    let numbered: Vec<(usize, &[u8])> = spans
        .iter()
        .enumerate()
        .map(|(index, span)| (index + 1, bytes.get(span.clone()).unwrap_or_default()))
        .collect();
    lines::scan_cards(&numbered)
        .into_iter()
        .map(|card| {
            let card = card?;
            let start = spans.get(card.start).map_or(0, |span| span.start);
            let end = card
                .end
                .checked_sub(1)
                .and_then(|last| spans.get(last + 1).map(|next| next.start))
                .unwrap_or(bytes.len());
            Ok(Chunk {
                first_line: card.start + 1,
                bytes: bytes.get(start..end).unwrap_or_default(),
            })
        })
        .collect()
}

/// One property of a parsed card, values unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardProp {
    pub group: Option<String>,
    /// Upper-cased.
    pub name: String,
    /// (upper-cased name, value) per parameter value: `TYPE=work,home` gives two.
    pub params: Vec<(String, String)>,
    /// The value as one text: structured values joined with `;`, lists with `,`.
    pub value: String,
    /// The value's parts: one list per `;` component (structured values such as N and ADR)
    /// or per list item (CATEGORIES, NICKNAME), each a list of its `,` items.
    pub components: Vec<Vec<String>>,
}

/// A stored card as `cardfilter` and the index see it: every property with text values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedCard {
    pub props: Vec<CardProp>,
}

impl ParsedCard {
    /// Parses a stored card (any version calcard reads); a text that is not a vCard gives a
    /// card without properties.
    pub fn parse(text: &str) -> ParsedCard {
        let Entry::VCard(card) = Parser::new(text).entry() else {
            return ParsedCard::default();
        };
        ParsedCard::from_vcard(&card)
    }

    fn from_vcard(card: &VCard) -> ParsedCard {
        ParsedCard {
            props: card
                .entries
                .iter()
                .filter(|e| !matches!(e.name, VCardProperty::Begin | VCardProperty::End))
                .map(card_prop)
                .collect(),
        }
    }

    /// The properties named `name` (case-insensitive, any group).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a CardProp> + 'a {
        self.props
            .iter()
            .filter(move |prop| prop.name.eq_ignore_ascii_case(name))
    }

    /// The first property named `name`.
    pub fn first(&self, name: &str) -> Option<&CardProp> {
        self.props
            .iter()
            .find(|prop| prop.name.eq_ignore_ascii_case(name))
    }

    /// The whole value of the first property named `name`.
    pub fn first_text(&self, name: &str) -> Option<String> {
        self.first(name).map(|prop| prop.value.clone())
    }
}

fn card_prop(entry: &VCardEntry) -> CardProp {
    let components: Vec<Vec<String>> = entry.values.iter().map(value_items).collect();
    let structured = matches!(
        entry.name,
        VCardProperty::N
            | VCardProperty::Adr
            | VCardProperty::Org
            | VCardProperty::Gender
            | VCardProperty::Clientpidmap
    );
    let value = components
        .iter()
        .map(|items| items.join(","))
        .collect::<Vec<_>>()
        .join(if structured { ";" } else { "," });
    CardProp {
        group: entry.group.clone(),
        name: entry.name.as_str().to_ascii_uppercase(),
        params: entry
            .params
            .iter()
            .map(|param| {
                (
                    param.name.as_str().to_ascii_uppercase(),
                    param.value.clone().into_text().into_owned(),
                )
            })
            .collect(),
        value,
        components,
    }
}

/// One calcard value as text items (a component gives its `,` items).
fn value_items(value: &VCardValue) -> Vec<String> {
    match value {
        VCardValue::Text(text) => vec![text.clone()],
        VCardValue::Component(items) => items.clone(),
        VCardValue::Integer(n) => vec![n.to_string()],
        VCardValue::Float(f) => vec![f.to_string()],
        VCardValue::Boolean(b) => vec![if *b { "TRUE" } else { "FALSE" }.to_string()],
        VCardValue::PartialDateTime(date) => {
            let mut out = String::new();
            let kind = calcard::vcard::VCardValueType::DateAndOrTime;
            if date.format_as_vcard(&mut out, &kind).is_err() {
                out.clear();
            }
            vec![out]
        }
        VCardValue::Binary(data) => vec![data.to_unwrapped_string()],
        VCardValue::Sex(sex) => vec![sex.as_str().to_string()],
        VCardValue::GramGender(gender) => vec![gender.as_str().to_string()],
        VCardValue::Kind(kind) => vec![kind.as_str().to_ascii_lowercase()],
    }
}

impl CardIndex {
    /// The index data of a parsed card (UID and FN as written; `ingest` fills in repairs).
    pub fn of(card: &ParsedCard) -> CardIndex {
        let mut index = CardIndex {
            uid: card.first_text("UID").unwrap_or_default(),
            full_name: card.first_text("FN").unwrap_or_default(),
            ..CardIndex::default()
        };
        let kind = card
            .first("KIND")
            .or_else(|| card.first(convert::APPLE_KIND));
        index.kind = kind.map_or(CardKind::Individual, |prop| CardKind::parse(&prop.value));
        let mut seen = HashSet::new();
        for email in card.all("EMAIL") {
            let email = fold_email(strip_prefix_ci(email.value.trim(), "mailto:"));
            push_new(&mut index.emails, &mut seen, email);
        }
        for tel in card.all("TEL") {
            let tel = strip_prefix_ci(tel.value.trim(), "tel:").to_string();
            if !tel.is_empty() {
                index.tels.push(tel);
            }
        }
        let mut seen = HashSet::new();
        for member in card.all("MEMBER").chain(card.all(convert::APPLE_MEMBER)) {
            let member = strip_prefix_ci(member.value.trim(), "urn:uuid:").to_string();
            push_new(&mut index.members, &mut seen, member);
        }
        index
    }
}

/// Appends a non-empty value not seen before (constant time per value: a card may hold
/// thousands).
fn push_new(list: &mut Vec<String>, seen: &mut HashSet<String>, value: String) {
    if !value.is_empty() && seen.insert(value.clone()) {
        list.push(value);
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> &'a str {
    match text.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &text[prefix.len()..],
        _ => text,
    }
}
