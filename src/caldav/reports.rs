//! CalDAV reports (RFC 4791 §7): `calendar-multiget` and `calendar-query`.
//!
//! calendar-query finds candidates from the index (component, UTC bounds, instances)
//! and re-checks only those against the time range in full; filters this server does
//! not evaluate yet are refused with `CALDAV:supported-filter`, never silently ignored.

use axum::http::StatusCode;
use axum::response::Response;

use super::{CALDAV, CalendarSpace, Loc, limits, locate};
use crate::dav::methods::propfind::{Wanted, minimal, names_in, write_response_with};
use crate::dav::methods::{multistatus, status_line};
use crate::dav::space::{ReportFuture, Resource, Space};
use crate::dav::xml::{DAV, Element, Name, XmlOut};
use crate::dav::{Ctx, DavError};
use crate::groupware::ical;

/// Most hrefs in one calendar-multiget.
const MAX_HREFS: usize = 10_000;

pub fn report(ctx: Ctx, root: Element) -> Option<ReportFuture> {
    if root.name.is(CALDAV, "calendar-multiget") {
        Some(Box::pin(multiget(ctx, root)))
    } else if root.name.is(CALDAV, "calendar-query") {
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

/// Writes one object's response, answering `calendar-data` from its content.
fn write_object(
    ctx: &Ctx,
    out: &mut XmlOut,
    res: &Resource,
    data: &str,
    wanted: &Wanted,
    minimal: bool,
) {
    let extra = |name: &Name, out: &mut XmlOut| {
        if name.is(CALDAV, "calendar-data") {
            out.text_element(&Name::new(CALDAV, "calendar-data"), data);
            true
        } else {
            false
        }
    };
    write_response_with(ctx, out, res, &[], wanted, minimal, &extra);
}

/// RFC 4791 §7.9.
async fn multiget(ctx: Ctx, root: Element) -> Result<Response, DavError> {
    let wanted = wanted_of(&root);
    let hrefs: Vec<String> = root
        .elements()
        .filter(|e| e.name.is_dav("href"))
        .map(|e| e.text().trim().to_string())
        .collect();
    if hrefs.is_empty() || hrefs.len() > MAX_HREFS {
        return Err(DavError::bad_request(format!(
            "calendar-multiget needs 1 to {MAX_HREFS} hrefs"
        )));
    }
    let paths: Vec<(String, Option<String>)> = hrefs
        .iter()
        .map(|h| (h.clone(), ctx.path_of_href(h)))
        .collect();
    let (account, space) = (ctx.account.clone(), ctx.space);
    let lookup = paths.clone();
    let found = ctx
        .db
        .read_async(
            move |r| -> Result<Vec<Option<(Resource, String)>>, DavError> {
                let mut out = Vec::with_capacity(lookup.len());
                for (_, path) in &lookup {
                    let item = match path.as_deref().and_then(|p| locate(p).map(|l| (p, l))) {
                        Some((p, Loc::Object(_, _))) => match space.resource(r, &account, p)? {
                            Some(res) => space
                                .content(r, &account, p)?
                                .map(|d| (res, String::from_utf8_lossy(&d).into_owned())),
                            None => None,
                        },
                        _ => None,
                    };
                    out.push(item);
                }
                Ok(out)
            },
        )
        .await?;
    let minimal = minimal(&ctx);
    let mut out = XmlOut::new();
    out.open(&Name::dav("multistatus"));
    for ((href, _), item) in paths.iter().zip(found) {
        match item {
            Some((res, data)) => write_object(&ctx, &mut out, &res, &data, &wanted, minimal),
            None => {
                out.open(&Name::dav("response"));
                out.text_element(&Name::dav("href"), href);
                out.text_element(&Name::dav("status"), &status_line(StatusCode::NOT_FOUND));
                out.close();
            }
        }
    }
    Ok(multistatus(out.finish()))
}

/// The part of a calendar-query filter this server evaluates: one component type and an
/// optional time range on it.
struct Filter {
    component: Option<String>,
    start: Option<i64>,
    end: Option<i64>,
}

fn unsupported(what: &str) -> DavError {
    DavError::Condition {
        status: StatusCode::FORBIDDEN,
        element: Name::new(CALDAV, "supported-filter"),
        hrefs: Vec::new(),
        reason: format!("{what} is not evaluated by this server yet"),
    }
}

/// `20261125T000000Z` as unix seconds.
fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d, hh, mm, ss) = (
        num(0..4)?,
        num(4..6)?,
        num(6..8)?,
        num(9..11)?,
        num(11..13)?,
        num(13..15)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn parse_filter(root: &Element) -> Result<Filter, DavError> {
    let filter = root
        .child(CALDAV, "filter")
        .ok_or_else(|| caldav_valid_filter("calendar-query needs a CALDAV:filter"))?;
    let vcal = filter
        .elements()
        .next()
        .ok_or_else(|| caldav_valid_filter("the filter needs a comp-filter"))?;
    if !vcal.name.is(CALDAV, "comp-filter")
        || !vcal
            .attr("", "name")
            .is_some_and(|n| n.eq_ignore_ascii_case("VCALENDAR"))
    {
        return Err(caldav_valid_filter(
            "the filter must start with comp-filter VCALENDAR",
        ));
    }
    let mut f = Filter {
        component: None,
        start: None,
        end: None,
    };
    for child in vcal.elements() {
        if child.name.is(CALDAV, "is-not-defined") {
            return Ok(Filter {
                component: Some(String::new()),
                start: None,
                end: None,
            });
        }
        if !child.name.is(CALDAV, "comp-filter") || f.component.is_some() {
            return Err(unsupported(&format!("{} under VCALENDAR", child.name)));
        }
        let name = child.attr("", "name").unwrap_or("").to_ascii_uppercase();
        if !["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"].contains(&name.as_str()) {
            return Err(unsupported(&format!("comp-filter {name}")));
        }
        for inner in child.elements() {
            if inner.name.is(CALDAV, "time-range") {
                f.start = match inner.attr("", "start") {
                    Some(s) => Some(parse_utc(s).ok_or_else(|| {
                        caldav_valid_filter(&format!("bad time-range start {s}"))
                    })?),
                    None => None,
                };
                f.end =
                    match inner.attr("", "end") {
                        Some(s) => Some(parse_utc(s).ok_or_else(|| {
                            caldav_valid_filter(&format!("bad time-range end {s}"))
                        })?),
                        None => None,
                    };
                if f.start.is_none() && f.end.is_none() {
                    return Err(caldav_valid_filter("time-range needs start or end"));
                }
            } else {
                return Err(unsupported(&format!(
                    "{} inside comp-filter {name}",
                    inner.name
                )));
            }
        }
        f.component = Some(name);
    }
    Ok(f)
}

fn caldav_valid_filter(reason: &str) -> DavError {
    DavError::Condition {
        status: StatusCode::FORBIDDEN,
        element: Name::new(CALDAV, "valid-filter"),
        hrefs: Vec::new(),
        reason: reason.to_string(),
    }
}

/// RFC 4791 §7.8.
async fn query(ctx: Ctx, root: Element) -> Result<Response, DavError> {
    let wanted = wanted_of(&root);
    let filter = parse_filter(&root)?;
    let Some(Loc::Calendar(cal)) = locate(&ctx.path) else {
        return Err(DavError::condition(
            StatusCode::FORBIDDEN,
            "supported-report",
            "calendar-query runs on a calendar",
        ));
    };
    let (account, cal) = (ctx.account.clone(), cal.to_string());
    let space: &'static CalendarSpace = &CalendarSpace;
    let matches = ctx
        .db
        .read_async(move |r| -> Result<Vec<(Resource, String)>, DavError> {
            let Some(c) = r.calendar(&account, &cal)? else {
                return Err(DavError::not_found(format!("no calendar {cal}")));
            };
            if filter.component.as_deref() == Some("") {
                // VCALENDAR is-not-defined: nothing matches.
                return Ok(Vec::new());
            }
            let candidates =
                r.calendar_candidates(c.id, filter.component.as_deref(), filter.start, filter.end)?;
            let mut out = Vec::new();
            for meta in candidates {
                let path = format!("{cal}/{}", meta.name);
                let Some(data) = r.calendar_object_data(c.id, &meta.name)? else {
                    continue;
                };
                if filter.start.is_some() || filter.end.is_some() {
                    let (s, e) = (
                        filter.start.unwrap_or(i64::MIN / 2),
                        filter.end.unwrap_or(i64::MAX / 2),
                    );
                    if !ical::overlaps(data.as_bytes(), s, e, &limits()).unwrap_or(false) {
                        continue;
                    }
                }
                if let Some(res) = space.resource(r, &account, &path)? {
                    out.push((res, data));
                }
            }
            Ok(out)
        })
        .await?;
    let minimal = minimal(&ctx);
    let mut out = XmlOut::new();
    out.open(&Name::dav("multistatus"));
    for (res, data) in &matches {
        write_object(&ctx, &mut out, res, data, &wanted, minimal);
    }
    Ok(multistatus(out.finish()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_times() {
        assert_eq!(super::parse_utc("19700101T000000Z"), Some(0));
        assert_eq!(
            super::parse_utc("20261125T010203Z"),
            Some(1_795_564_800 + 3723)
        );
        assert_eq!(super::parse_utc("20261125T010203"), None);
        assert_eq!(super::parse_utc("2026112XT010203Z"), None);
    }
}
