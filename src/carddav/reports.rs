//! CardDAV reports (RFC 6352 §8): `addressbook-multiget` and `addressbook-query`.
//!
//! addressbook-query narrows by the e-mail index when the filter requires an EMAIL text
//! (what autocompletion sends), and re-checks every candidate against the whole filter.
//! `address-data` answers in the version asked for (3.0 when the client names none, the
//! RFC's default), with property selection.

use axum::http::StatusCode;
use axum::response::Response;

use super::{CARDDAV, Loc, card_with_data, directory_cards, locate};
use crate::dav::methods::propfind::{Wanted, minimal, names_in, write_response_with};
use crate::dav::methods::{status_line, streamed_multistatus};
use crate::dav::space::{ReportFuture, Resource};
use crate::dav::xml::{DAV, Element, Name, XmlOut};
use crate::dav::{Ctx, DavError};
use crate::groupware::cardfilter::{Filter, ParamFilter, PropFilter, Test, text_match};
use crate::groupware::filter::{Collation, MatchType, TextMatch};
use crate::groupware::vcard::{self, ParsedCard, VcardVersion};
use crate::store::contacts::DIRECTORY;

/// Most hrefs in one addressbook-multiget.
const MAX_HREFS: usize = 10_000;

pub fn report(ctx: Ctx, root: Element) -> Option<ReportFuture> {
    if root.name.is(CARDDAV, "addressbook-multiget") {
        Some(Box::pin(multiget(ctx, root)))
    } else if root.name.is(CARDDAV, "addressbook-query") {
        Some(Box::pin(query(ctx, root)))
    } else {
        None
    }
}

fn wanted_of(root: &Element) -> Wanted {
    match root.child(DAV, "prop") {
        Some(p) => Wanted::Some(names_in(p)),
        None => Wanted::Some(vec![Name::dav("getetag")]),
    }
}

/// What `CARDDAV:address-data` asks for (RFC 6352 §10.4).
#[derive(Debug, Clone, Default)]
struct DataRequest {
    /// None: 3.0, the RFC's default.
    version: Option<VcardVersion>,
    /// Property names to return (all when empty).
    props: Vec<String>,
}

fn data_request(root: &Element) -> Result<DataRequest, DavError> {
    let Some(ad) = root
        .child(DAV, "prop")
        .and_then(|p| p.child(CARDDAV, "address-data"))
    else {
        return Ok(DataRequest::default());
    };
    let media = ad.attr("", "content-type").unwrap_or("text/vcard");
    let version = match ad.attr("", "version") {
        Some(v) => Some(VcardVersion::from_version(v).ok_or_else(|| {
            super::carddav_condition(
                StatusCode::FORBIDDEN,
                "supported-address-data-conversion",
                format!("vCard version {v} is not served (3.0 and 4.0 are)"),
            )
        })?),
        None => None,
    };
    if !media.eq_ignore_ascii_case("text/vcard") {
        return Err(super::carddav_condition(
            StatusCode::FORBIDDEN,
            "supported-address-data",
            format!("{media} is not served (text/vcard is)"),
        ));
    }
    let props = ad
        .elements()
        .filter(|e| e.name.is(CARDDAV, "prop"))
        .filter_map(|e| e.attr("", "name").map(|n| n.to_ascii_uppercase()))
        .collect();
    Ok(DataRequest { version, props })
}

/// A stored card as the request wants it. `stored` is the version the index says the
/// card is stored in: asked for as is, it is sent as is (nothing parsed).
fn shape(data: &str, stored: Option<VcardVersion>, req: &DataRequest) -> String {
    let version = req.version.unwrap_or(VcardVersion::V3);
    if req.props.is_empty() {
        if stored == Some(version) {
            return data.to_string();
        }
        vcard::render(data, version)
    } else {
        vcard::select(data, version, &req.props)
    }
}

/// Writes one card's response, answering `address-data` from its content.
fn write_card(
    ctx: &Ctx,
    out: &mut XmlOut,
    res: &Resource,
    data: &str,
    wanted: &Wanted,
    minimal: bool,
) {
    let extra = |name: &Name, out: &mut XmlOut| {
        if name.is(CARDDAV, "address-data") {
            out.text_element(&Name::fixed(CARDDAV, "address-data"), data);
            true
        } else {
            false
        }
    };
    write_response_with(ctx, out, res, &[], wanted, minimal, &extra);
}

fn wants_data(wanted: &Wanted) -> bool {
    matches!(wanted, Wanted::Some(names) if names.iter().any(|n| n.is(CARDDAV, "address-data")))
}

/// RFC 6352 §8.7.
async fn multiget(ctx: Ctx, root: Element) -> Result<Response, DavError> {
    let wanted = wanted_of(&root);
    let request = data_request(&root)?;
    let with_data = wants_data(&wanted);
    let hrefs: Vec<String> = root
        .elements()
        .filter(|e| e.name.is_dav("href"))
        .map(|e| e.text().trim().to_string())
        .collect();
    if hrefs.is_empty() || hrefs.len() > MAX_HREFS {
        return Err(DavError::bad_request(format!(
            "addressbook-multiget needs 1 to {MAX_HREFS} hrefs"
        )));
    }
    let paths: Vec<(String, Option<String>)> = hrefs
        .iter()
        .map(|h| (h.clone(), ctx.path_of_href(h)))
        .collect();
    let account = ctx.account.clone();
    let lookup = paths.clone();
    let found = ctx
        .db
        .read_async(
            move |r| -> Result<Vec<Option<(Resource, String)>>, DavError> {
                // Each book is looked up once; each card in one query with its data.
                let mut books: std::collections::HashMap<
                    String,
                    Option<crate::store::contacts::AddressBook>,
                > = std::collections::HashMap::new();
                let mut out = Vec::with_capacity(lookup.len());
                for (_, path) in &lookup {
                    out.push(match path.as_deref().and_then(locate) {
                        Some(Loc::Card(book, card)) if book != DIRECTORY => {
                            if !books.contains_key(book) {
                                books.insert(book.to_string(), r.addressbook(&account, book)?);
                            }
                            match books.get(book).and_then(Option::as_ref) {
                                Some(b) => r
                                    .card_with_data(b.id, card)?
                                    .map(|(meta, data)| (super::card_resource(book, meta), data)),
                                None => None,
                            }
                        }
                        Some(Loc::Card(book, card)) => card_with_data(r, &account, book, card)?,
                        _ => None,
                    });
                }
                Ok(out)
            },
        )
        .await?;
    let minimal = minimal(&ctx);
    let mut items = paths.into_iter().zip(found);
    Ok(streamed_multistatus(move |out| {
        let Some(((href, _), item)) = items.next() else {
            return false;
        };
        match item {
            Some((res, data)) => {
                let data = if with_data {
                    shape(&data, super::stored_version(&res), &request)
                } else {
                    String::new()
                };
                write_card(&ctx, out, &res, &data, &wanted, minimal)
            }
            None => {
                out.open(&Name::dav("response"));
                out.text_element(&Name::dav("href"), &href);
                out.text_element(&Name::dav("status"), &status_line(StatusCode::NOT_FOUND));
                out.close();
            }
        }
        true
    }))
}

fn invalid_filter(reason: impl Into<String>) -> DavError {
    DavError::Condition {
        status: StatusCode::BAD_REQUEST,
        element: Name::fixed(CARDDAV, "valid-filter"),
        hrefs: Vec::new(),
        reason: reason.into(),
    }
}

fn parse_test(el: &Element) -> Result<Test, DavError> {
    match el.attr("", "test") {
        None => Ok(Test::default()),
        Some(t) => Test::from_attr(t).ok_or_else(|| invalid_filter(format!("test={t} is unknown"))),
    }
}

/// RFC 6352 §10.5.4: `i;unicode-casemap` and `contains` unless said otherwise.
fn parse_text_match(el: &Element) -> Result<TextMatch, DavError> {
    let mut tm = text_match(el.text());
    if let Some(c) = el.attr("", "collation") {
        tm.collation = Collation::from_name(c).ok_or_else(|| DavError::Condition {
            status: StatusCode::FORBIDDEN,
            element: Name::fixed(CARDDAV, "supported-collation"),
            hrefs: Vec::new(),
            reason: format!("the collation {c} is not supported"),
        })?;
    }
    tm.match_type = match el.attr("", "match-type").unwrap_or("contains") {
        "contains" => MatchType::Contains,
        "equals" => MatchType::Equals,
        "starts-with" => MatchType::StartsWith,
        "ends-with" => MatchType::EndsWith,
        other => return Err(invalid_filter(format!("match-type {other} is unknown"))),
    };
    tm.negate = el.attr("", "negate-condition") == Some("yes");
    Ok(tm)
}

fn parse_filter(root: &Element) -> Result<Filter, DavError> {
    let Some(f) = root.child(CARDDAV, "filter") else {
        return Err(invalid_filter("addressbook-query needs a CARDDAV:filter"));
    };
    let mut filter = Filter {
        test: parse_test(f)?,
        props: Vec::new(),
    };
    for pf in f.elements() {
        if !pf.name.is(CARDDAV, "prop-filter") {
            return Err(invalid_filter(format!("{} in a filter", pf.name)));
        }
        let name = pf
            .attr("", "name")
            .ok_or_else(|| invalid_filter("prop-filter needs a name"))?;
        let mut prop = PropFilter {
            name: name.to_string(),
            test: parse_test(pf)?,
            ..PropFilter::default()
        };
        for c in pf.elements() {
            if c.name.is(CARDDAV, "is-not-defined") {
                prop.is_not_defined = true;
            } else if c.name.is(CARDDAV, "text-match") {
                prop.text_matches.push(parse_text_match(c)?);
            } else if c.name.is(CARDDAV, "param-filter") {
                let pname = c
                    .attr("", "name")
                    .ok_or_else(|| invalid_filter("param-filter needs a name"))?;
                let mut param = ParamFilter {
                    name: pname.to_string(),
                    ..ParamFilter::default()
                };
                for pc in c.elements() {
                    if pc.name.is(CARDDAV, "is-not-defined") {
                        param.is_not_defined = true;
                    } else if pc.name.is(CARDDAV, "text-match") {
                        param.text_match = Some(parse_text_match(pc)?);
                    }
                }
                prop.param_filters.push(param);
            } else {
                return Err(invalid_filter(format!("{} in a prop-filter", c.name)));
            }
        }
        filter.props.push(prop);
    }
    Ok(filter)
}

/// RFC 6352 §8.6.1: `CARDDAV:limit` / `nresults`.
fn parse_limit(root: &Element) -> Result<Option<usize>, DavError> {
    let Some(n) = root
        .child(CARDDAV, "limit")
        .and_then(|l| l.child(CARDDAV, "nresults"))
    else {
        return Ok(None);
    };
    n.text()
        .trim()
        .parse::<usize>()
        .map(Some)
        .map_err(|_| DavError::bad_request("CARDDAV:nresults must be a number"))
}

/// RFC 6352 §8.6: cards of the book the filter matches, at most `limit` (then 507 for the
/// request-URI says the answer is partial).
async fn query(ctx: Ctx, root: Element) -> Result<Response, DavError> {
    let wanted = wanted_of(&root);
    let request = data_request(&root)?;
    let with_data = wants_data(&wanted);
    let filter = parse_filter(&root)?;
    let limit = parse_limit(&root)?;
    let Some(Loc::Book(book)) = locate(&ctx.path) else {
        return Err(DavError::condition(
            StatusCode::FORBIDDEN,
            "supported-report",
            "addressbook-query runs on an address book",
        ));
    };
    let (account, book) = (ctx.account.clone(), book.to_string());
    let hint = filter.email_hint();
    let (matches, truncated) = ctx
        .db
        .read_async(move |r| -> Result<_, DavError> {
            let candidates: Vec<(Resource, String)> = if book == DIRECTORY {
                directory_cards(r)?
            } else {
                let Some(b) = r.addressbook(&account, &book)? else {
                    return Err(DavError::not_found(format!("no address book {book}")));
                };
                let rows = match &hint {
                    // The e-mail index finds a superset: addresses containing the text.
                    Some(h) => r.cards_by_email(b.id, &h.text)?,
                    None => r.cards_with_data(b.id)?,
                };
                rows.into_iter()
                    .map(|(meta, data)| (super::card_resource(&book, meta), data))
                    .collect()
            };
            let budget = limit.unwrap_or(usize::MAX);
            let mut out = Vec::new();
            let mut truncated = false;
            for (res, data) in candidates {
                if !filter.matches(&ParsedCard::parse(&data)) {
                    continue;
                }
                if out.len() == budget {
                    truncated = true;
                    break;
                }
                out.push((res, data));
            }
            Ok((out, truncated))
        })
        .await?;
    let minimal = minimal(&ctx);
    let mut matches = matches.into_iter();
    let mut tail = truncated;
    Ok(streamed_multistatus(move |out| {
        let Some((res, data)) = matches.next() else {
            if !std::mem::take(&mut tail) {
                return false;
            }
            out.open(&Name::dav("response"));
            out.text_element(&Name::dav("href"), &ctx.href(&ctx.path, true));
            out.text_element(
                &Name::dav("status"),
                &status_line(StatusCode::INSUFFICIENT_STORAGE),
            );
            out.open(&Name::dav("error"))
                .empty(&Name::dav("number-of-matches-within-limits"))
                .close();
            out.close();
            return true;
        };
        let data = if with_data {
            shape(&data, super::stored_version(&res), &request)
        } else {
            String::new()
        };
        write_card(&ctx, out, &res, &data, &wanted, minimal);
        true
    }))
}
