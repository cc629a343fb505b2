//! CardDAV (RFC 6352) on the DAV engine: the address book space `/dav/addressbooks/<address>/`.
//!
//! The home holds address books; a book holds cards. PUT validates a card with
//! `groupware::vcard::ingest` (RFC 6352 §6.3.2.1 preconditions) and stores it in the version
//! it came in, with its index (UID, version, kind, FN, e-mail addresses), so PROPFIND,
//! sync-collection and e-mail searches never parse vCards. A client reads a card in the
//! version it asks for (`address-data` attributes, `Accept`); see docs/vcard.md.
//!
//! Every home also holds `directory`: a read-only book generated from the domain's accounts
//! (names and every address, alias ones included), current as users come and go. Its sync
//! state is the domain's account changes.

pub mod exchange;
mod reports;

use axum::http::StatusCode;

use crate::dav::props::{LiveProp, PropEnv};
use crate::dav::space::{PropertyOp, ReportFuture, Resource, Space};
use crate::dav::xml::{Element, Name, XmlOut};
use crate::dav::{Ctx, DavError};
use crate::groupware::vcard::{self, CardKind, IngestOptions, VcardError, VcardVersion};
use crate::store::contacts::{
    AddressBook, CardIndex, CardListing, CardMeta, DIRECTORY, SCOPE_DIRECTORY, book_scope, etag_of,
    home_scope,
};
use crate::store::domain::{Account, DomainRead, DomainWrite};
use crate::store::files::DeadProperty;
use crate::store::{AccountId, StoreError};

pub const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";

pub struct AddressBookSpace;

/// Where a path of the space points.
enum Loc<'a> {
    Home,
    Book(&'a str),
    Card(&'a str, &'a str),
}

fn locate(path: &str) -> Option<Loc<'_>> {
    if path.is_empty() {
        return Some(Loc::Home);
    }
    let mut parts = path.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(b), None, None) => Some(Loc::Book(b)),
        (Some(b), Some(c), None) => Some(Loc::Card(b, c)),
        _ => None,
    }
}

pub fn options() -> IngestOptions {
    IngestOptions::default()
}

pub fn kind_name(kind: &CardKind) -> &str {
    match kind {
        CardKind::Individual => "individual",
        CardKind::Group => "group",
        CardKind::Org => "org",
        CardKind::Location => "location",
        CardKind::Other(other) => other,
    }
}

/// The store's index of an ingested card.
pub fn store_index(parsed: &vcard::Ingested) -> CardIndex {
    CardIndex {
        uid: parsed.index.uid.clone(),
        version: parsed.version.as_str().to_string(),
        kind: kind_name(&parsed.index.kind).to_string(),
        full_name: parsed.index.full_name.clone(),
        emails: parsed.index.emails.clone(),
    }
}

fn card_resource(book: &str, c: CardMeta) -> Resource {
    Resource {
        path: crate::caldav::member_path(book, &c.name),
        collection: None,
        etag: c.etag,
        content_type: card_content_type(&c.version),
        size: c.size,
        created_at: c.created_at,
        modified_at: c.modified_at,
        sync: None,
        attrs: Vec::new(),
    }
}

/// [`card_resource`] from a listing row (no intermediate strings).
fn listed_resource(book: &str, c: CardListing<'_>) -> Resource {
    Resource {
        path: crate::caldav::member_path(book, c.name),
        collection: None,
        etag: c.etag.to_string(),
        content_type: card_content_type(c.version),
        size: c.size,
        created_at: c.created_at,
        modified_at: c.modified_at,
        sync: None,
        attrs: Vec::new(),
    }
}

/// A card's media type, which names its stored version (see [`stored_version`]).
fn card_content_type(version: &str) -> std::borrow::Cow<'static, str> {
    match version {
        "4.0" => VcardVersion::V4.content_type().into(),
        _ => VcardVersion::V3.content_type().into(),
    }
}

/// The version a card resource is stored in, read from its media type.
pub(crate) fn stored_version(res: &Resource) -> Option<VcardVersion> {
    [VcardVersion::V3, VcardVersion::V4]
        .into_iter()
        .find(|v| res.content_type == v.content_type())
}

fn book_resource(r: &DomainRead<'_>, b: &AddressBook) -> Result<Resource, DavError> {
    let sync = r.scope_modseq(&book_scope(b.id))?.0;
    Ok(Resource {
        path: b.name.clone(),
        collection: Some(vec![Name::fixed(CARDDAV, "addressbook")]),
        etag: format!("\"book-{}-{sync}\"", b.id),
        content_type: "".into(),
        size: 0,
        created_at: b.created_at,
        modified_at: b.modified_at,
        sync: Some(sync),
        attrs: Vec::new(),
    })
}

fn directory_resource(r: &DomainRead<'_>) -> Result<Resource, DavError> {
    let sync = r.scope_modseq(SCOPE_DIRECTORY)?.0;
    Ok(Resource {
        path: DIRECTORY.to_string(),
        collection: Some(vec![Name::fixed(CARDDAV, "addressbook")]),
        etag: format!("\"directory-{sync}\""),
        content_type: "".into(),
        size: 0,
        created_at: 0,
        modified_at: 0,
        sync: Some(sync),
        attrs: vec![("read-only", "directory".into())],
    })
}

/// A book's display name (its `DAV:displayname`), or its URL name when it has none.
pub fn display_name(r: &DomainRead<'_>, b: &AddressBook) -> Result<String, StoreError> {
    Ok(r.addressbook_properties(b.id)?
        .into_iter()
        .find(|p| p.ns == "DAV:" && p.name == "displayname")
        .and_then(|p| crate::dav::xml::parse(p.xml.as_bytes()).ok())
        .map(|e| e.text())
        .unwrap_or_else(|| b.name.clone()))
}

/// Escapes a vCard text value (RFC 6350 §3.4).
fn vcard_text(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(';', "\\;")
        .replace('\n', "\\n")
}

/// An account's directory card (vCard 4.0): its name and every address, primary first.
pub fn directory_card(a: &Account) -> String {
    let name = if a.display_name.trim().is_empty() {
        a.primary_address.as_str()
    } else {
        a.display_name.trim()
    };
    let mut parts: Vec<&str> = name.split_whitespace().collect();
    let family = if parts.len() > 1 {
        parts.pop().unwrap_or_default()
    } else {
        ""
    };
    let given = parts.join(" ");
    let mut card = format!(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nPRODID:-//Domus//Directory//EN\r\nUID:urn:domus:directory:{}\r\nKIND:individual\r\nFN:{}\r\nN:{};{};;;\r\n",
        a.id.as_str(),
        vcard_text(name),
        vcard_text(family),
        vcard_text(&given),
    );
    for (i, address) in a.addresses.iter().enumerate() {
        if i == 0 {
            card.push_str(&format!("EMAIL;TYPE=work;PREF=1:{address}\r\n"));
        } else {
            card.push_str(&format!("EMAIL;TYPE=work:{address}\r\n"));
        }
    }
    card.push_str("END:VCARD\r\n");
    card
}

/// The directory's cards: (resource, data), in path order.
pub fn directory_cards(r: &DomainRead<'_>) -> Result<Vec<(Resource, String)>, DavError> {
    let mut out: Vec<(Resource, String)> = r.accounts()?.iter().map(directory_item).collect();
    out.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    Ok(out)
}

/// An account's directory card as a resource of the space, with its data.
fn directory_item(a: &Account) -> (Resource, String) {
    let data = directory_card(a);
    let res = Resource {
        path: crate::store::contacts::directory_path(&a.id),
        collection: None,
        etag: etag_of(&data),
        content_type: VcardVersion::V4.content_type().into(),
        size: data.len() as i64,
        created_at: a.created_at,
        modified_at: a.created_at,
        sync: None,
        attrs: Vec::new(),
    };
    (res, data)
}

/// One directory card by its file name (`<account>.vcf`).
fn directory_entry(r: &DomainRead<'_>, file: &str) -> Result<Option<(Resource, String)>, DavError> {
    let Some(id) = file.strip_suffix(".vcf") else {
        return Ok(None);
    };
    if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    // Only accounts the directory lists: the domain's own collection owner (the reserved
    // `_domain` local part) is not one.
    Ok(r.account(&AccountId::from_db(id.to_string()))?
        .filter(|a| !a.primary_address.starts_with("_domain@"))
        .map(|a| directory_item(&a)))
}

/// A card (resource and stored data) at `book/name`, the directory included.
pub(crate) fn card_with_data(
    r: &DomainRead<'_>,
    owner: &AccountId,
    book: &str,
    name: &str,
) -> Result<Option<(Resource, String)>, DavError> {
    if book == DIRECTORY {
        return directory_entry(r, name);
    }
    let Some(b) = r.addressbook(owner, book)? else {
        return Ok(None);
    };
    Ok(r.card_with_data(b.id, name)?
        .map(|(meta, data)| (card_resource(book, meta), data)))
}

/// RFC 6352 §6.3.2.1 `no-uid-conflict`, naming the resource that holds the UID.
fn uid_conflict(hrefs: Vec<String>, reason: String) -> DavError {
    DavError::Condition {
        status: StatusCode::CONFLICT,
        element: Name::fixed(CARDDAV, "no-uid-conflict"),
        hrefs,
        reason,
    }
}

pub(crate) fn carddav_condition(
    status: StatusCode,
    element: &str,
    reason: impl Into<String>,
) -> DavError {
    DavError::Condition {
        status,
        element: Name::new(CARDDAV, element),
        hrefs: Vec::new(),
        reason: reason.into(),
    }
}

/// RFC 6352 §6.3.2.1: each ingest error is a precondition of PUT.
pub fn vcard_error(e: VcardError) -> DavError {
    let status = if matches!(e, VcardError::TooLarge { .. }) {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::FORBIDDEN
    };
    carddav_condition(status, e.precondition(), e.to_string())
}

/// Writes to the directory are refused (RFC 3744 §7.1.1).
fn read_only() -> DavError {
    DavError::Condition {
        status: StatusCode::FORBIDDEN,
        element: Name::dav("need-privileges"),
        hrefs: Vec::new(),
        reason: "the directory is generated from the domain's users and is read-only".into(),
    }
}

fn need_book(r: &DomainRead<'_>, owner: &AccountId, name: &str) -> Result<AddressBook, DavError> {
    if name == DIRECTORY {
        return Err(read_only());
    }
    let book = r.addressbook(owner, name)?.ok_or_else(|| {
        DavError::conflict(format!(
            "no address book {name}: create it with an extended MKCOL first"
        ))
    })?;
    if book.subscription.is_some() {
        return Err(DavError::Condition {
            status: StatusCode::FORBIDDEN,
            element: Name::dav("need-privileges"),
            hrefs: Vec::new(),
            reason: format!("{name} follows a subscribed feed and is read-only"),
        });
    }
    Ok(book)
}

fn is_book(env: &PropEnv<'_>) -> bool {
    env.node
        .collection
        .as_ref()
        .is_some_and(|t| t.iter().any(|t| t.is(CARDDAV, "addressbook")))
}

/// RFC 6352 §6.2.2: vCard 3.0 and 4.0.
fn supported_address_data(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    if !is_book(env) {
        return false;
    }
    out.open(&Name::fixed(CARDDAV, "supported-address-data"));
    for version in ["3.0", "4.0"] {
        out.open_with(
            &Name::fixed(CARDDAV, "address-data-type"),
            &[("content-type", "text/vcard"), ("version", version)],
        )
        .close();
    }
    out.close();
    true
}

fn max_resource_size(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    if !is_book(env) {
        return false;
    }
    out.text_element(
        &Name::fixed(CARDDAV, "max-resource-size"),
        &options().max_bytes.to_string(),
    );
    true
}

#[rustfmt::skip]
static BOOK_PROPS: &[LiveProp] = &[
    LiveProp { ns: CARDDAV, name: "supported-address-data", protected: true, allprop: false, write: supported_address_data },
    LiveProp { ns: CARDDAV, name: "max-resource-size", protected: true, allprop: false, write: max_resource_size },
];

fn forbidden(reason: &str) -> DavError {
    DavError::status(StatusCode::FORBIDDEN, reason)
}

/// The directory's dead properties: a display name and a description, generated.
fn directory_properties() -> Vec<DeadProperty> {
    vec![
        DeadProperty {
            ns: "DAV:".into(),
            name: "displayname".into(),
            xml: "<D:displayname xmlns:D=\"DAV:\">Directory</D:displayname>".into(),
        },
        DeadProperty {
            ns: CARDDAV.into(),
            name: "addressbook-description".into(),
            xml: format!(
                "<CR:addressbook-description xmlns:CR=\"{CARDDAV}\">Everyone in this domain</CR:addressbook-description>"
            ),
        },
    ]
}

impl Space for AddressBookSpace {
    fn name(&self) -> &'static str {
        "addressbooks"
    }

    fn compliance_classes(&self) -> &'static [&'static str] {
        &["addressbook"]
    }

    fn live_properties(&self) -> &'static [LiveProp] {
        BOOK_PROPS
    }

    fn sync_scope(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<String>, DavError> {
        Ok(match locate(path) {
            Some(Loc::Home) => Some(home_scope(owner)),
            Some(Loc::Book(DIRECTORY)) => Some(SCOPE_DIRECTORY.to_string()),
            Some(Loc::Book(b)) => r.addressbook(owner, b)?.map(|b| book_scope(b.id)),
            _ => None,
        })
    }

    fn resource(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<Resource>, DavError> {
        match locate(path) {
            None => Ok(None),
            Some(Loc::Home) => {
                let sync = r.scope_modseq(&home_scope(owner))?.0;
                Ok(Some(Resource {
                    path: String::new(),
                    collection: Some(Vec::new()),
                    etag: format!("\"books-{sync}\""),
                    content_type: "".into(),
                    size: 0,
                    created_at: 0,
                    modified_at: 0,
                    sync: Some(sync),
                    attrs: Vec::new(),
                }))
            }
            Some(Loc::Book(DIRECTORY)) => Ok(Some(directory_resource(r)?)),
            Some(Loc::Book(name)) => match r.addressbook(owner, name)? {
                Some(b) => Ok(Some(book_resource(r, &b)?)),
                None => Ok(None),
            },
            Some(Loc::Card(DIRECTORY, file)) => Ok(directory_entry(r, file)?.map(|(res, _)| res)),
            Some(Loc::Card(book, card)) => {
                let Some(b) = r.addressbook(owner, book)? else {
                    return Ok(None);
                };
                Ok(r.card(b.id, card)?.map(|c| card_resource(book, c)))
            }
        }
    }

    fn members(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Vec<Resource>, DavError> {
        match locate(path) {
            Some(Loc::Home) => {
                let mut out = r
                    .addressbooks(owner)?
                    .iter()
                    .map(|b| book_resource(r, b))
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(directory_resource(r)?);
                out.sort_by(|a, b| a.path.cmp(&b.path));
                Ok(out)
            }
            Some(Loc::Book(DIRECTORY)) => Ok(directory_cards(r)?
                .into_iter()
                .map(|(res, _)| res)
                .collect()),
            Some(Loc::Book(name)) => {
                let Some(b) = r.addressbook(owner, name)? else {
                    return Ok(Vec::new());
                };
                Ok(r.card_listing(b.id, |c| listed_resource(name, c))?)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Objects and cards keep no dead properties (PROPPATCH on them is refused).
    fn objects_have_dead_properties(&self) -> bool {
        false
    }

    fn dead_properties(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Vec<DeadProperty>, DavError> {
        match locate(path) {
            Some(Loc::Book(DIRECTORY)) => Ok(directory_properties()),
            Some(Loc::Book(name)) => match r.addressbook(owner, name)? {
                Some(b) => Ok(r.addressbook_properties(b.id)?),
                None => Ok(Vec::new()),
            },
            _ => Ok(Vec::new()),
        }
    }

    fn content(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<Vec<u8>>, DavError> {
        match locate(path) {
            Some(Loc::Card(book, card)) => {
                Ok(card_with_data(r, owner, book, card)?.map(|(_, data)| data.into_bytes()))
            }
            _ => Ok(None),
        }
    }

    fn represent(
        &self,
        ctx: &Ctx,
        node: &Resource,
        body: Vec<u8>,
    ) -> (Vec<u8>, Option<&'static str>) {
        // A card in the version the client accepts (clients.md #8); as stored otherwise.
        let Some(stored) = stored_version(node) else {
            return (body, None);
        };
        let wanted = ctx
            .header(axum::http::header::ACCEPT)
            .and_then(VcardVersion::from_accept);
        match (wanted, String::from_utf8(body)) {
            (Some(v), Ok(text)) if v != stored => {
                (vcard::render(&text, v).into_bytes(), Some(v.content_type()))
            }
            (_, Ok(text)) => (text.into_bytes(), None),
            (_, Err(e)) => (e.into_bytes(), None),
        }
    }

    fn put(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<(Resource, bool), DavError> {
        let Some(Loc::Card(book, card)) = locate(path) else {
            return Err(DavError::status(
                StatusCode::METHOD_NOT_ALLOWED,
                "PUT creates cards inside an address book",
            ));
        };
        let b = need_book(w, owner, book)?;
        // A vCard media type, or none at all (some clients send none or octet-stream).
        if !content_type.is_empty()
            && !content_type.starts_with("application/octet-stream")
            && let Err(e) = VcardVersion::from_content_type(content_type)
        {
            return Err(vcard_error(e));
        }
        // A card sent without UID (exports dragged into a client, older Thunderbird
        // add-ons) is repaired, not refused: it keeps the UID of the card at this href,
        // or gets one made from the href, so its later updates stay the same card.
        let existing = w.card(b.id, card)?;
        let fallback = match &existing {
            Some(e) => e.uid.clone(),
            None => format!("urn:domus:href:{}", card.trim_end_matches(".vcf")),
        };
        let opts = IngestOptions {
            uid_fallback: Some(fallback),
            ..options()
        };
        let parsed = vcard::ingest(body, &opts).map_err(vcard_error)?;
        // The UID of a resource is its identity: another UID at the same href is refused.
        if let Some(existing) = existing
            && existing.uid != parsed.index.uid
        {
            return Err(uid_conflict(
                Vec::new(),
                format!(
                    "{card} holds UID {}; a PUT cannot change it to {}",
                    existing.uid, parsed.index.uid
                ),
            ));
        }
        let (meta, created) = w
            .put_card(&b, card, &store_index(&parsed), &parsed.text)
            .map_err(|e| match e {
                StoreError::Conflict(other) => uid_conflict(
                    vec![format!("{}/{}", b.name, other)],
                    format!("UID {} is already used by {other}", parsed.index.uid),
                ),
                e => e.into(),
            })?;
        let mut res = card_resource(book, meta);
        if parsed.text.as_bytes() != body {
            // RFC 6352 §6.3.2.3: the stored card differs from the request body.
            res.attrs.push(("altered", "true".into()));
        }
        Ok((res, created))
    }

    fn mkcol(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        path: &str,
        types: &[Name],
        props: &[PropertyOp],
    ) -> Result<(), DavError> {
        let Some(Loc::Book(name)) = locate(path) else {
            return Err(forbidden(
                "address books are created in the address book home",
            ));
        };
        if !types.iter().any(|t| t.is(CARDDAV, "addressbook")) || types.len() != 1 {
            return Err(DavError::condition(
                StatusCode::FORBIDDEN,
                "valid-resourcetype",
                "the address book home holds address books only (resourcetype CARDDAV:addressbook)",
            ));
        }
        if name == DIRECTORY || w.addressbook(owner, name)?.is_some() {
            return Err(DavError::condition(
                StatusCode::METHOD_NOT_ALLOWED,
                "resource-must-be-null",
                format!("{name} exists"),
            ));
        }
        let dead: Vec<PropertyOp> = props.to_vec();
        w.create_addressbook(owner, name, &dead)
            .map_err(|e| match e {
                StoreError::Conflict(n) => {
                    DavError::status(StatusCode::METHOD_NOT_ALLOWED, format!("{n} exists"))
                }
                e => e.into(),
            })?;
        Ok(())
    }

    fn delete(&self, w: &DomainWrite<'_>, owner: &AccountId, path: &str) -> Result<(), DavError> {
        match locate(path) {
            Some(Loc::Book(DIRECTORY)) | Some(Loc::Card(DIRECTORY, _)) => Err(read_only()),
            // Deleting a subscribed address book ends the subscription. Grants go first,
            // so the homes the book was listed in record it.
            Some(Loc::Book(name)) => match w.addressbook(owner, name)? {
                Some(b) if w.has_grants(crate::store::shares::Collection::Addressbook, b.id)? => {
                    w.unshare_collection(crate::store::shares::Collection::Addressbook, b.id)?;
                    self.delete(w, owner, path)
                }
                Some(AddressBook {
                    subscription: Some(id),
                    ..
                }) => Ok(w.delete_subscription(&id)?),
                _ => w
                    .delete_addressbook(owner, name)
                    .map_err(|_| DavError::not_found(format!("no address book {name}"))),
            },
            Some(Loc::Card(book, card)) => {
                let Some(b) = w.addressbook(owner, book)? else {
                    return Err(DavError::not_found(format!("no address book {book}")));
                };
                if b.subscription.is_some() {
                    return Err(read_only());
                }
                w.delete_card(&b, card)
                    .map_err(|_| DavError::not_found(format!("nothing at {path}")))
            }
            _ => Err(forbidden("the address book home cannot be deleted")),
        }
    }

    fn copy(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        from: &str,
        to: &str,
        _deep: bool,
    ) -> Result<(), DavError> {
        let (Some(Loc::Card(fb, fc)), Some(Loc::Card(tb, tc))) = (locate(from), locate(to)) else {
            return Err(forbidden("only cards are copied or moved"));
        };
        let target = need_book(w, owner, tb)?;
        if fb == DIRECTORY {
            // A directory card copied into a book of one's own becomes an ordinary card.
            let (_, data) = directory_entry(w, fc)?
                .ok_or_else(|| DavError::not_found(format!("nothing at {from}")))?;
            let parsed = vcard::ingest(data.as_bytes(), &options()).map_err(vcard_error)?;
            w.put_card(&target, tc, &store_index(&parsed), &parsed.text)
                .map_err(|e| conflict_in(e, tb))?;
            return Ok(());
        }
        let source = need_book(w, owner, fb)?;
        w.copy_card(&source, fc, &target, tc).map_err(|e| match e {
            StoreError::NotFound(_) => DavError::not_found(format!("nothing at {from}")),
            e => conflict_in(e, tb),
        })
    }

    fn rename(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        from: &str,
        to: &str,
    ) -> Result<(), DavError> {
        let (Some(Loc::Card(fb, fc)), Some(Loc::Card(tb, tc))) = (locate(from), locate(to)) else {
            return Err(forbidden("only cards are moved"));
        };
        let source = need_book(w, owner, fb)?;
        let target = need_book(w, owner, tb)?;
        // Moving within one book would trip over the card's own UID: free it first.
        let (_, data) = w
            .card_with_data(source.id, fc)?
            .ok_or_else(|| DavError::not_found(format!("nothing at {from}")))?;
        w.delete_card(&source, fc)?;
        let parsed = vcard::ingest(data.as_bytes(), &options()).map_err(vcard_error)?;
        w.put_card(&target, tc, &store_index(&parsed), &parsed.text)
            .map_err(|e| conflict_in(e, tb))?;
        Ok(())
    }

    fn patch_properties(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        path: &str,
        ops: &[PropertyOp],
    ) -> Result<(), DavError> {
        match locate(path) {
            Some(Loc::Book(DIRECTORY)) => Err(read_only()),
            Some(Loc::Book(name)) => {
                let Some(b) = w.addressbook(owner, name)? else {
                    return Err(DavError::not_found(format!("no address book {name}")));
                };
                Ok(w.patch_addressbook_properties(b.id, ops)?)
            }
            _ => Err(forbidden(
                "only address books have settable properties here",
            )),
        }
    }

    fn grant_kind(&self) -> Option<crate::store::shares::Collection> {
        Some(crate::store::shares::Collection::Addressbook)
    }

    /// Stored books only: the generated directory is everyone's already.
    fn grant_target(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        name: &str,
    ) -> Result<Option<(crate::store::shares::Collection, i64)>, DavError> {
        Ok(r.addressbook(owner, name)?
            .map(|b| (crate::store::shares::Collection::Addressbook, b.id)))
    }

    fn report_names(&self, collection: &Resource) -> Vec<Name> {
        if collection
            .collection
            .as_ref()
            .is_some_and(|t| t.iter().any(|t| t.is(CARDDAV, "addressbook")))
        {
            vec![
                Name::fixed(CARDDAV, "addressbook-query"),
                Name::fixed(CARDDAV, "addressbook-multiget"),
            ]
        } else {
            Vec::new()
        }
    }

    fn report(&self, ctx: Ctx, root: Element) -> Option<ReportFuture> {
        reports::report(ctx, root)
    }
}

/// A store conflict (UID in use) in book `book`, as CardDAV's precondition.
fn conflict_in(e: StoreError, book: &str) -> DavError {
    match e {
        StoreError::Conflict(other) => uid_conflict(
            vec![format!("{book}/{other}")],
            format!("the UID is already used by {other} in {book}"),
        ),
        e => e.into(),
    }
}
