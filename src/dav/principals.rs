//! Principals (RFC 3744 §2, RFC 5397) and the discovery root.
//!
//! `/dav/principals/<address>/` is the principal of an account: who it is
//! (`displayname`, `principal-URL`, every address of the account as `mailto:` in
//! `calendar-user-address-set`, Apple's `email-address-set`) and, as the calendar and
//! address book spaces arrive, where its homes are. `PROPFIND` on `/`, `/dav/` and
//! `/dav/principals/` answers `current-user-principal`, which is how every client finds
//! the rest from a bare host name.

use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use super::methods::{multistatus, status_line};
use super::props::{LiveProp, PropEnv};
use super::space::{Resource, Space};
use super::xml::{DAV, Element, Name, XmlOut};
use super::{DavError, ROOT, principal_href};
use crate::auth::Principal;
use crate::http::AppState;
use crate::store::AccountId;
use crate::store::domain::DomainRead;
use crate::store::files::DeadProperty;

pub struct PrincipalSpace;

const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
const CS: &str = "http://calendarserver.org/ns/";
const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";

fn displayname(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.text_element(&Name::dav("displayname"), &env.ctx.owner_name);
    true
}

fn principal_url(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::dav("principal-URL"))
        .text_element(&Name::dav("href"), &env.ctx.principal_href())
        .close();
    true
}

fn principal_collection_set(_: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::dav("principal-collection-set"))
        .text_element(&Name::dav("href"), &format!("{ROOT}principals/"))
        .close();
    true
}

fn alternate_uri_set(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::dav("alternate-URI-set"));
    for a in &env.ctx.owner_addresses {
        out.text_element(&Name::dav("href"), &format!("mailto:{a}"));
    }
    out.close();
    true
}

fn group_membership(_: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.empty(&Name::dav("group-membership"));
    true
}

/// RFC 6638 §2.4.1: every address of the account, alias ones too, then the principal.
fn calendar_user_address_set(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::fixed(CALDAV, "calendar-user-address-set"));
    for a in &env.ctx.owner_addresses {
        out.text_element(&Name::dav("href"), &format!("mailto:{a}"));
    }
    out.text_element(&Name::dav("href"), &env.ctx.principal_href());
    out.close();
    true
}

fn calendar_user_type(_: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.text_element(&Name::fixed(CALDAV, "calendar-user-type"), "INDIVIDUAL");
    true
}

/// Apple's address list, which macOS and iOS show and match invitations against.
fn email_address_set(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::fixed(CS, "email-address-set"));
    for a in &env.ctx.owner_addresses {
        out.text_element(&Name::fixed(CS, "email-address"), a);
    }
    out.close();
    true
}

/// The calendar home of an address.
fn home_of(address: &str) -> String {
    format!("{ROOT}calendars/{}/", super::href::encode_segment(address))
}

/// RFC 4791 §6.2.1: where the principal's calendars are (a container of calendars,
/// clients.md #2).
fn calendar_home_set(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    let home = home_of(&env.ctx.owner);
    out.open(&Name::fixed(CALDAV, "calendar-home-set"))
        .text_element(&Name::dav("href"), &home)
        .close();
    true
}

/// The address book home of an address.
fn addressbook_home_of(address: &str) -> String {
    format!(
        "{ROOT}addressbooks/{}/",
        super::href::encode_segment(address)
    )
}

/// RFC 6352 §7.1.1: where the principal's address books are.
fn addressbook_home_set(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::fixed(CARDDAV, "addressbook-home-set"))
        .text_element(&Name::dav("href"), &addressbook_home_of(&env.ctx.owner))
        .close();
    true
}

/// CalendarServer sharing: where the principal's notifications (sharing invites) are.
fn notification_url(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::fixed(CS, "notification-URL"))
        .text_element(
            &Name::dav("href"),
            &super::sharing::notification_url(&env.ctx.owner),
        )
        .close();
    true
}

#[rustfmt::skip]
static PRINCIPAL_PROPS: &[LiveProp] = &[
    LiveProp { ns: DAV, name: "displayname", protected: true, allprop: true, write: displayname },
    LiveProp { ns: DAV, name: "principal-URL", protected: true, allprop: true, write: principal_url },
    LiveProp { ns: DAV, name: "principal-collection-set", protected: true, allprop: false, write: principal_collection_set },
    LiveProp { ns: DAV, name: "alternate-URI-set", protected: true, allprop: false, write: alternate_uri_set },
    LiveProp { ns: DAV, name: "group-membership", protected: true, allprop: false, write: group_membership },
    LiveProp { ns: CALDAV, name: "calendar-user-address-set", protected: true, allprop: false, write: calendar_user_address_set },
    LiveProp { ns: CALDAV, name: "calendar-user-type", protected: true, allprop: false, write: calendar_user_type },
    LiveProp { ns: CALDAV, name: "calendar-home-set", protected: true, allprop: false, write: calendar_home_set },
    LiveProp { ns: CARDDAV, name: "addressbook-home-set", protected: true, allprop: false, write: addressbook_home_set },
    LiveProp { ns: CS, name: "email-address-set", protected: true, allprop: false, write: email_address_set },
    LiveProp { ns: CS, name: "notification-URL", protected: true, allprop: false, write: notification_url },
];

impl Space for PrincipalSpace {
    fn read_only_reason(&self) -> &'static str {
        "principals are read-only"
    }

    fn name(&self) -> &'static str {
        "principals"
    }

    fn live_properties(&self) -> &'static [LiveProp] {
        PRINCIPAL_PROPS
    }

    fn sync_scope(
        &self,
        _: &DomainRead<'_>,
        _: &AccountId,
        _: &str,
    ) -> Result<Option<String>, DavError> {
        Ok(None)
    }

    fn resource(
        &self,
        _: &DomainRead<'_>,
        _: &AccountId,
        path: &str,
    ) -> Result<Option<Resource>, DavError> {
        if !path.is_empty() {
            return Ok(None);
        }
        Ok(Some(Resource {
            path: String::new(),
            collection: Some(vec![Name::dav("principal")]),
            etag: "\"principal\"".into(),
            content_type: "".into(),
            size: 0,
            created_at: 0,
            modified_at: 0,
            sync: None,
            attrs: Vec::new(),
        }))
    }

    fn members(
        &self,
        _: &DomainRead<'_>,
        _: &AccountId,
        _: &str,
    ) -> Result<Vec<Resource>, DavError> {
        Ok(Vec::new())
    }

    fn dead_properties(
        &self,
        _: &DomainRead<'_>,
        _: &AccountId,
        _: &str,
    ) -> Result<Vec<DeadProperty>, DavError> {
        Ok(Vec::new())
    }

    fn content(
        &self,
        _: &DomainRead<'_>,
        _: &AccountId,
        _: &str,
    ) -> Result<Option<Vec<u8>>, DavError> {
        Ok(None)
    }
}

/// PROPFIND on a discovery root: a collection that names the caller's principal. Any
/// other method there is refused.
pub async fn discovery_root(
    state: &AppState,
    principal: &Principal,
    parts: &Parts,
    body: axum::body::Body,
) -> Result<Response, DavError> {
    if parts.method.as_str() == "REPORT" {
        return search(state, principal, body).await;
    }
    if parts.method.as_str() != "PROPFIND" {
        return Err(DavError::status(
            StatusCode::METHOD_NOT_ALLOWED,
            "only PROPFIND and OPTIONS are served here",
        ));
    }
    let db = state.store.domain_async(&principal.domain_id).await?;
    let id = principal.account_id.clone();
    let account = db
        .read_async(move |r| r.account(&id))
        .await?
        .ok_or_else(|| DavError::not_found("account removed"))?;
    let me = principal_href(&account.primary_address);
    let mut out = XmlOut::new();
    out.open(&Name::dav("multistatus"))
        .open(&Name::dav("response"));
    out.text_element(&Name::dav("href"), parts.uri.path());
    out.open(&Name::dav("propstat")).open(&Name::dav("prop"));
    out.open(&Name::dav("resourcetype"))
        .empty(&Name::dav("collection"))
        .close();
    out.open(&Name::dav("current-user-principal"))
        .text_element(&Name::dav("href"), &me)
        .close();
    out.open(&Name::dav("principal-collection-set"))
        .text_element(&Name::dav("href"), &format!("{ROOT}principals/"))
        .close();
    out.close();
    out.text_element(&Name::dav("status"), &status_line(StatusCode::OK));
    Ok(multistatus(out.finish()))
}

/// The properties principal searches match against (RFC 3744 §9.5).
const SEARCHABLE: &[(&str, &str)] = &[
    (DAV, "displayname"),
    (CALDAV, "calendar-user-address-set"),
    (CS, "email-address-set"),
];

/// What a principal search asks for.
struct Search {
    /// (property names, text) pairs; a principal matches one when any named property
    /// contains the text, case-insensitively.
    terms: Vec<(Vec<Name>, String)>,
    any_of: bool,
    wanted: Vec<Name>,
    limit: usize,
}

fn parse_search(root: &Element) -> Result<Option<Search>, DavError> {
    let mut wanted: Vec<Name> = root
        .child(DAV, "prop")
        .map(|p| p.elements().map(|e| e.name.clone()).collect())
        .unwrap_or_default();
    // python caldav 3.x puts the wanted properties beside an empty DAV:prop: read those too.
    let structural = [
        "prop",
        "property-search",
        "apply-to-principal-collection-set",
    ];
    wanted.extend(
        root.elements()
            .filter(|e| {
                let is_structural = (e.name.ns == DAV
                    && structural.contains(&e.name.local.as_ref()))
                    || e.name.is(CS, "search-token")
                    || e.name.is(CS, "limit");
                !is_structural
            })
            .map(|e| e.name.clone()),
    );
    if wanted.is_empty() {
        wanted = vec![
            Name::dav("displayname"),
            Name::fixed(CALDAV, "calendar-home-set"),
        ];
    }
    if root.name.is_dav("principal-property-search") {
        // RFC 3744 §9.4.
        let mut terms = Vec::new();
        for ps in root.elements().filter(|e| e.name.is_dav("property-search")) {
            let names = ps
                .child(DAV, "prop")
                .map(|p| p.elements().map(|e| e.name.clone()).collect())
                .unwrap_or_default();
            let text = ps.child(DAV, "match").map(|m| m.text()).unwrap_or_default();
            terms.push((names, text));
        }
        let any_of = root
            .attr("", "test")
            .is_some_and(|t| t.eq_ignore_ascii_case("anyof"));
        return Ok(Some(Search {
            terms,
            any_of,
            wanted,
            limit: 200,
        }));
    }
    if root.name.is(CS, "calendarserver-principal-search") {
        // CalendarServer's search (macOS): every token must match some property.
        let all: Vec<Name> = SEARCHABLE.iter().map(|(ns, n)| Name::new(ns, n)).collect();
        let terms = root
            .elements()
            .filter(|e| e.name.is(CS, "search-token"))
            .map(|t| (all.clone(), t.text()))
            .collect();
        let limit = root
            .child(CS, "limit")
            .and_then(|l| l.child(CS, "nresults"))
            .and_then(|n| n.text().trim().parse().ok())
            .unwrap_or(200usize);
        return Ok(Some(Search {
            terms,
            any_of: false,
            wanted,
            limit,
        }));
    }
    Ok(None)
}

/// REPORT on the principal collection: principal-search-property-set, principal-property-
/// search and CalendarServer's principal search, always within the caller's own domain.
async fn search(
    state: &AppState,
    principal: &Principal,
    body: axum::body::Body,
) -> Result<Response, DavError> {
    let bytes = super::bytes_body::read(body, state.config.http.max_body_bytes).await?;
    let root = super::xml::parse(&bytes)?;
    if root.name.is_dav("principal-search-property-set") {
        let mut out = XmlOut::new();
        out.open(&Name::dav("principal-search-property-set"));
        for (ns, name) in SEARCHABLE {
            out.open(&Name::dav("principal-search-property"));
            out.open(&Name::dav("prop"))
                .empty(&Name::new(ns, name))
                .close();
            out.close();
        }
        let xml = out.finish();
        return Ok(axum::response::IntoResponse::into_response((
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "application/xml; charset=utf-8",
            )],
            xml,
        )));
    }
    let Some(search) = parse_search(&root)? else {
        return Err(DavError::condition(
            StatusCode::FORBIDDEN,
            "supported-report",
            format!("the report {} is not supported here", root.name),
        ));
    };
    let db = state.store.domain_async(&principal.domain_id).await?;
    let accounts = db.read_async(|r| r.accounts()).await?;
    let mut out = XmlOut::new();
    out.open(&Name::dav("multistatus"));
    let mut shown = 0;
    for a in &accounts {
        let name = if a.display_name.is_empty() {
            a.primary_address.clone()
        } else {
            a.display_name.clone()
        };
        let holds = |(names, text): &(Vec<Name>, String)| {
            let text = text.to_lowercase();
            names.iter().any(|n| {
                if n.is_dav("displayname") {
                    name.to_lowercase().contains(&text)
                } else if n.is(CALDAV, "calendar-user-address-set") || n.is(CS, "email-address-set")
                {
                    a.addresses.iter().any(|x| x.contains(&text))
                } else if n.is(CALDAV, "calendar-home-set") {
                    home_of(&a.primary_address).to_lowercase().contains(&text)
                } else {
                    false
                }
            })
        };
        // No term lists every principal of the domain.
        let matched = search.terms.is_empty()
            || if search.any_of {
                search.terms.iter().any(holds)
            } else {
                search.terms.iter().all(holds)
            };
        if !matched || shown >= search.limit {
            continue;
        }
        shown += 1;
        let href = principal_href(&a.primary_address);
        out.open(&Name::dav("response"));
        out.text_element(&Name::dav("href"), &href);
        let mut found = XmlOut::fragment();
        let mut missing = XmlOut::fragment();
        for w in &search.wanted {
            if w.is_dav("displayname") {
                found.text_element(w, &name);
            } else if w.is_dav("principal-URL") {
                found
                    .open(w)
                    .text_element(&Name::dav("href"), &href)
                    .close();
            } else if w.is(CALDAV, "calendar-user-address-set") {
                found.open(w);
                for x in &a.addresses {
                    found.text_element(&Name::dav("href"), &format!("mailto:{x}"));
                }
                found.close();
            } else if w.is(CS, "email-address-set") {
                found.open(w);
                for x in &a.addresses {
                    found.text_element(&Name::fixed(CS, "email-address"), x);
                }
                found.close();
            } else if w.is(CALDAV, "calendar-home-set") {
                found
                    .open(w)
                    .text_element(&Name::dav("href"), &home_of(&a.primary_address))
                    .close();
            } else if w.is(CARDDAV, "addressbook-home-set") {
                found
                    .open(w)
                    .text_element(&Name::dav("href"), &addressbook_home_of(&a.primary_address))
                    .close();
            } else if w.is(CALDAV, "calendar-user-type") {
                found.text_element(w, "INDIVIDUAL");
            } else if w.is_dav("resourcetype") {
                found.open(w).empty(&Name::dav("principal")).close();
            } else {
                missing.empty(w);
            }
        }
        if !found.is_empty() {
            out.open(&Name::dav("propstat"))
                .open(&Name::dav("prop"))
                .raw(&found.finish())
                .close();
            out.text_element(&Name::dav("status"), &status_line(StatusCode::OK))
                .close();
        }
        if !missing.is_empty() {
            out.open(&Name::dav("propstat"))
                .open(&Name::dav("prop"))
                .raw(&missing.finish())
                .close();
            out.text_element(&Name::dav("status"), &status_line(StatusCode::NOT_FOUND))
                .close();
        }
        out.close();
    }
    Ok(multistatus(out.finish()))
}
