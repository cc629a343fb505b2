//! CalDAV reports (RFC 4791 §7): `calendar-multiget` and `calendar-query`.
//!
//! calendar-query finds candidates from the index (component, UTC bounds, instances)
//! and re-checks only those against the time range in full; filters this server does
//! not evaluate yet are refused with `CALDAV:supported-filter`, never silently ignored.
//!
//! Floating times (RFC 4791 §9.9) are read in the query's CALDAV:timezone or RFC 7809
//! CALDAV:timezone-id, else the calendar's time zone (`super::calendar_zone`), else UTC:
//! in calendar-query filters, free-busy-query, and calendar-data's expand and
//! limit-recurrence-set (multiget: the calendar's). The index stores floating times as UTC,
//! so in another zone the candidate window is widened by `FloatingZone::reach` first.
//! calendar-data is served as RFC 7809's `CalDAV-Timezones` header asks
//! (`super::served`), before component selection.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{CALDAV, Loc, TimezonePreference, calendar_zone, limits, locate};
use crate::dav::methods::propfind::{Wanted, minimal, names_in, write_response_with};
use crate::dav::methods::{status_line, streamed_multistatus};
use crate::dav::space::{ReportFuture, Resource};
use crate::dav::xml::{DAV, Element, Name, XmlOut};
use crate::dav::{Ctx, DavError};
use crate::groupware::expand;
use crate::groupware::filter::{
    self, Collation, CompFilter, MatchType, ParamFilter, PropFilter, TextMatch, TimeRange,
};
use crate::groupware::freebusy;
use crate::groupware::ical::FloatingZone;

/// Most hrefs in one calendar-multiget.
const MAX_HREFS: usize = 10_000;

pub fn report(ctx: Ctx, root: Element) -> Option<ReportFuture> {
    if root.name.is(CALDAV, "calendar-multiget") {
        Some(Box::pin(multiget(ctx, root)))
    } else if root.name.is(CALDAV, "calendar-query") {
        Some(Box::pin(query(ctx, root)))
    } else if root.name.is(CALDAV, "free-busy-query") {
        Some(Box::pin(free_busy(ctx, root)))
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
            out.text_element(&Name::fixed(CALDAV, "calendar-data"), data);
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
    let data_request = calendar_data_request(&root)?;
    let preference = TimezonePreference::of(&ctx);
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
    let account = ctx.account.clone();
    let lookup = paths.clone();
    // Only expand and limit-recurrence-set read times: the calendar's zone is read for them.
    let needs_zone = data_request.reads_times();
    type Found = Option<(Resource, String, FloatingZone)>;
    let found = ctx
        .db
        .read_async(move |r| -> Result<Vec<Found>, DavError> {
            // Each calendar is looked up once; each object in one query with its data.
            let mut calendars: std::collections::HashMap<
                String,
                Option<(crate::store::calendars::Calendar, FloatingZone)>,
            > = std::collections::HashMap::new();
            let mut out = Vec::with_capacity(lookup.len());
            let mut objects = r.calendar_object_lookup()?;
            for (_, path) in &lookup {
                let item = match path.as_deref().and_then(locate) {
                    Some(Loc::Object(cal, obj)) => {
                        if !calendars.contains_key(cal) {
                            let found = match r.calendar(&account, cal)? {
                                Some(c) if needs_zone => {
                                    let zone = calendar_zone(r, c.id)?;
                                    Some((c, zone))
                                }
                                Some(c) => Some((c, FloatingZone::utc())),
                                None => None,
                            };
                            calendars.insert(cal.to_string(), found);
                        }
                        match calendars.get(cal).and_then(Option::as_ref) {
                            Some((c, zone)) => objects.get(c.id, obj)?.map(|(meta, data)| {
                                (super::object_resource(c, meta), data, zone.clone())
                            }),
                            None => None,
                        }
                    }
                    _ => None,
                };
                out.push(item);
            }
            Ok(out)
        })
        .await?;
    let minimal = minimal(&ctx);
    let mut items = paths.into_iter().zip(found);
    Ok(streamed_multistatus(move |out| {
        let Some(((href, _), item)) = items.next() else {
            return false;
        };
        match item {
            Some((res, data, zone)) => {
                let data = shape(data, &data_request, &zone, preference);
                write_object(&ctx, out, &res, &data, &wanted, minimal)
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

fn valid_filter(reason: &str) -> DavError {
    DavError::Condition {
        status: StatusCode::FORBIDDEN,
        element: Name::fixed(CALDAV, "valid-filter"),
        hrefs: Vec::new(),
        reason: reason.to_string(),
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

/// RFC 4791 §9.9: `start` and/or `end`, as UTC date-times.
pub(crate) fn parse_time_range(el: &Element) -> Result<TimeRange, DavError> {
    let side = |attr: &str| -> Result<Option<i64>, DavError> {
        match el.attr("", attr) {
            None => Ok(None),
            Some(v) => parse_utc(v).map(Some).ok_or_else(|| {
                valid_filter(&format!("time-range {attr}={v} is not a UTC date-time"))
            }),
        }
    };
    let range = TimeRange {
        start: side("start")?,
        end: side("end")?,
    };
    if range.start.is_none() && range.end.is_none() {
        return Err(valid_filter("time-range needs start or end"));
    }
    Ok(range)
}

/// RFC 4791 §9.7.5 (and RFC 6352 §10.5.4's match-type).
fn parse_text_match(el: &Element) -> Result<TextMatch, DavError> {
    let collation = match el.attr("", "collation") {
        None => Collation::AsciiCasemap,
        Some(c) => Collation::from_name(c).ok_or_else(|| DavError::Condition {
            status: StatusCode::FORBIDDEN,
            element: Name::fixed(CALDAV, "supported-collation"),
            hrefs: Vec::new(),
            reason: format!("the collation {c} is not supported"),
        })?,
    };
    let negate = el
        .attr("", "negate-condition")
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    let match_type = match el.attr("", "match-type").unwrap_or("contains") {
        "contains" => MatchType::Contains,
        "equals" => MatchType::Equals,
        "starts-with" => MatchType::StartsWith,
        "ends-with" => MatchType::EndsWith,
        other => return Err(valid_filter(&format!("match-type {other} is unknown"))),
    };
    Ok(TextMatch {
        text: el.text(),
        collation,
        negate,
        match_type,
    })
}

fn name_attr(el: &Element) -> Result<String, DavError> {
    el.attr("", "name")
        .map(str::to_ascii_uppercase)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| valid_filter(&format!("{} needs a name", el.name)))
}

fn parse_param_filter(el: &Element) -> Result<ParamFilter, DavError> {
    let mut f = ParamFilter {
        name: name_attr(el)?,
        is_not_defined: false,
        text_match: None,
    };
    for c in el.elements() {
        if c.name.is(CALDAV, "is-not-defined") {
            f.is_not_defined = true;
        } else if c.name.is(CALDAV, "text-match") {
            f.text_match = Some(parse_text_match(c)?);
        } else {
            return Err(valid_filter(&format!(
                "unexpected {} in param-filter",
                c.name
            )));
        }
    }
    Ok(f)
}

fn parse_prop_filter(el: &Element) -> Result<PropFilter, DavError> {
    let mut f = PropFilter {
        name: name_attr(el)?,
        is_not_defined: false,
        time_range: None,
        text_match: None,
        param_filters: Vec::new(),
    };
    for c in el.elements() {
        if c.name.is(CALDAV, "is-not-defined") {
            f.is_not_defined = true;
        } else if c.name.is(CALDAV, "time-range") {
            f.time_range = Some(parse_time_range(c)?);
        } else if c.name.is(CALDAV, "text-match") {
            f.text_match = Some(parse_text_match(c)?);
        } else if c.name.is(CALDAV, "param-filter") {
            f.param_filters.push(parse_param_filter(c)?);
        } else {
            return Err(valid_filter(&format!(
                "unexpected {} in prop-filter",
                c.name
            )));
        }
    }
    Ok(f)
}

/// Filters nest no deeper than iCalendar components do.
const MAX_FILTER_DEPTH: usize = 8;

fn parse_comp_filter(el: &Element, depth: usize) -> Result<CompFilter, DavError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(valid_filter("comp-filters nest too deep"));
    }
    let mut f = CompFilter {
        name: name_attr(el)?,
        is_not_defined: false,
        time_range: None,
        prop_filters: Vec::new(),
        comp_filters: Vec::new(),
    };
    for c in el.elements() {
        if c.name.is(CALDAV, "is-not-defined") {
            f.is_not_defined = true;
        } else if c.name.is(CALDAV, "time-range") {
            // §9.7.1: a time range applies to components with times, not to VCALENDAR.
            if depth == 0 {
                return Err(valid_filter("time-range directly under VCALENDAR"));
            }
            f.time_range = Some(parse_time_range(c)?);
        } else if c.name.is(CALDAV, "prop-filter") {
            f.prop_filters.push(parse_prop_filter(c)?);
        } else if c.name.is(CALDAV, "comp-filter") {
            f.comp_filters.push(parse_comp_filter(c, depth + 1)?);
        } else {
            return Err(valid_filter(&format!(
                "unexpected {} in comp-filter",
                c.name
            )));
        }
    }
    Ok(f)
}

/// The filter of a calendar-query: one comp-filter for VCALENDAR (RFC 4791 §9.7).
fn parse_filter(root: &Element) -> Result<CompFilter, DavError> {
    let filter = root
        .child(CALDAV, "filter")
        .ok_or_else(|| valid_filter("calendar-query needs a CALDAV:filter"))?;
    let top = filter
        .elements()
        .next()
        .ok_or_else(|| valid_filter("the filter needs a comp-filter"))?;
    if !top.name.is(CALDAV, "comp-filter") {
        return Err(valid_filter("the filter must hold a comp-filter"));
    }
    let f = parse_comp_filter(top, 0)?;
    if f.name != "VCALENDAR" {
        return Err(valid_filter(
            "the filter must start with comp-filter VCALENDAR",
        ));
    }
    Ok(f)
}

/// What a report's `calendar-data` element asks of the data (RFC 4791 §9.6): the
/// instances of a range as separate components, or the overrides of a range only.
#[derive(Default)]
struct DataRequest {
    /// `calendar-data` is among the properties asked for: the data is shaped at all.
    wanted: bool,
    expand: Option<TimeRange>,
    limit_recurrence_set: Option<TimeRange>,
    /// Component and property selection (RFC 4791 §9.6.1).
    select: Option<super::select::Selection>,
}

impl DataRequest {
    /// Shaping the data reads its times (and so the zone of floating ones).
    fn reads_times(&self) -> bool {
        self.wanted && (self.expand.is_some() || self.limit_recurrence_set.is_some())
    }
}

fn calendar_data_request(root: &Element) -> Result<DataRequest, DavError> {
    let Some(cd) = root
        .child(DAV, "prop")
        .and_then(|p| p.child(CALDAV, "calendar-data"))
    else {
        return Ok(DataRequest::default());
    };
    let mut req = DataRequest {
        wanted: true,
        ..DataRequest::default()
    };
    if let Some(e) = cd.child(CALDAV, "expand") {
        req.expand = Some(parse_time_range(e)?);
    }
    if let Some(l) = cd.child(CALDAV, "limit-recurrence-set") {
        req.limit_recurrence_set = Some(parse_time_range(l)?);
    }
    req.select = super::select::parse(cd);
    Ok(req)
}

/// The data as the request wants it; on any trouble, the data as stored. Floating times are
/// read in `zone`; VTIMEZONEs follow `preference`, before any component selection.
fn shape(
    data: String,
    req: &DataRequest,
    zone: &FloatingZone,
    preference: TimezonePreference,
) -> String {
    if !req.wanted {
        return data;
    }
    let shaped = super::served(shape_recurrences(data, req, zone), preference);
    match &req.select {
        Some(sel) => super::select::apply(&shaped, sel).unwrap_or(shaped),
        None => shaped,
    }
}

/// Expansion or recurrence-set limiting (§9.6.5, §9.6.6).
fn shape_recurrences(data: String, req: &DataRequest, zone: &FloatingZone) -> String {
    if let Some(range) = &req.expand {
        if let Ok(expanded) = expand::expand(data.as_bytes(), range, &limits(), zone) {
            return expanded;
        }
    } else if let Some(range) = &req.limit_recurrence_set
        && let Ok(limited) = expand::limit_recurrence_set(data.as_bytes(), range, &limits(), zone)
    {
        return limited;
    }
    data
}

/// RFC 4791 §9.8 CALDAV:timezone or RFC 7809 §5.2 CALDAV:timezone-id of a calendar-query:
/// the zone of floating times in the query, if it names one.
fn query_zone(root: &Element) -> Result<Option<FloatingZone>, DavError> {
    let timezone = root.child(CALDAV, "timezone");
    let timezone_id = root.child(CALDAV, "timezone-id");
    match (timezone, timezone_id) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(DavError::bad_request(
            "calendar-query takes CALDAV:timezone or CALDAV:timezone-id, not both",
        )),
        (Some(el), None) => {
            let text = el.text();
            FloatingZone::from_vtimezone(text.trim().as_bytes(), &limits())
                .map(|(zone, _)| Some(zone))
                .map_err(|e| DavError::Condition {
                    status: StatusCode::FORBIDDEN,
                    element: Name::fixed(CALDAV, "valid-calendar-data"),
                    hrefs: Vec::new(),
                    reason: format!("CALDAV:timezone: {e}"),
                })
        }
        (None, Some(el)) => {
            let id = el.text();
            let id = id.trim();
            FloatingZone::from_name(id)
                .map(Some)
                .ok_or_else(|| DavError::Condition {
                    status: StatusCode::FORBIDDEN,
                    element: Name::fixed(CALDAV, "valid-timezone"),
                    hrefs: Vec::new(),
                    reason: format!("{id:?} is not a time zone this server knows"),
                })
        }
    }
}

/// Some comp-filter or prop-filter of `filter` has a time-range.
fn has_time_range(filter: &CompFilter) -> bool {
    filter.time_range.is_some()
        || filter.prop_filters.iter().any(|p| p.time_range.is_some())
        || filter.comp_filters.iter().any(has_time_range)
}

/// The index window for a time range whose floating times are read in `zone`: the index
/// holds them as UTC, so the window grows by the zone's reach on both sides.
fn candidate_window(range: Option<TimeRange>, zone: &FloatingZone) -> (Option<i64>, Option<i64>) {
    let Some(range) = range else {
        return (None, None);
    };
    let reach = zone.reach();
    (
        range.start.map(|s| s.saturating_sub(reach)),
        range.end.map(|e| e.saturating_add(reach)),
    )
}

/// RFC 4791 §7.8: the index narrows to candidates (component, time range); the filter
/// is then evaluated on each candidate in full.
async fn query(ctx: Ctx, root: Element) -> Result<Response, DavError> {
    let wanted = wanted_of(&root);
    let data_request = calendar_data_request(&root)?;
    let filter = parse_filter(&root)?;
    let asked_zone = query_zone(&root)?;
    // The calendar's time zone is read only when something reads times.
    let reads_times = has_time_range(&filter) || data_request.reads_times();
    let preference = TimezonePreference::of(&ctx);
    let Some(Loc::Calendar(cal)) = locate(&ctx.path) else {
        return Err(DavError::condition(
            StatusCode::FORBIDDEN,
            "supported-report",
            "calendar-query runs on a calendar",
        ));
    };
    // Index narrowing: one component type, and its time range when it has one.
    let (component, range) = match (&filter.is_not_defined, filter.comp_filters.as_slice()) {
        (false, [only]) if !only.is_not_defined => (Some(only.name.clone()), only.time_range),
        _ => (None, None),
    };
    let (account, cal) = (ctx.account.clone(), cal.to_string());
    let (zone, matches) = ctx
        .db
        .read_async(
            move |r| -> Result<(FloatingZone, Vec<(Resource, String)>), DavError> {
                let Some(c) = r.calendar(&account, &cal)? else {
                    return Err(DavError::not_found(format!("no calendar {cal}")));
                };
                let zone = match asked_zone {
                    Some(zone) => zone,
                    None if reads_times => calendar_zone(r, c.id)?,
                    None => FloatingZone::utc(),
                };
                if filter.is_not_defined {
                    // A calendar object resource is a VCALENDAR: none lacks one.
                    return Ok((zone, Vec::new()));
                }
                let (start, end) = candidate_window(range, &zone);
                let candidates = r.calendar_candidates(c.id, component.as_deref(), start, end)?;
                let mut out = Vec::new();
                for meta in candidates {
                    let Some(data) = r.calendar_object_data(c.id, &meta.name)? else {
                        continue;
                    };
                    if !filter::matches(data.as_bytes(), &filter, &limits(), &zone).unwrap_or(false)
                    {
                        continue;
                    }
                    out.push((super::object_resource(&c, meta), data));
                }
                Ok((zone, out))
            },
        )
        .await?;
    let minimal = minimal(&ctx);
    let mut matches = matches.into_iter();
    Ok(streamed_multistatus(move |out| {
        let Some((res, data)) = matches.next() else {
            return false;
        };
        let data = shape(data, &data_request, &zone, preference);
        write_object(&ctx, out, &res, &data, &wanted, minimal);
        true
    }))
}

/// RFC 4791 §7.10: the busy time of a calendar in a range, as one VFREEBUSY; floating
/// times in the calendar's time zone.
async fn free_busy(ctx: Ctx, root: Element) -> Result<Response, DavError> {
    let range = root
        .child(CALDAV, "time-range")
        .ok_or_else(|| valid_filter("free-busy-query needs a time-range"))
        .and_then(parse_time_range)?;
    let Some(Loc::Calendar(cal)) = locate(&ctx.path) else {
        return Err(DavError::condition(
            StatusCode::FORBIDDEN,
            "supported-report",
            "free-busy-query runs on a calendar",
        ));
    };
    let (account, cal) = (ctx.account.clone(), cal.to_string());
    let (zone, datas) = ctx
        .db
        .read_async(move |r| -> Result<(FloatingZone, Vec<String>), DavError> {
            let Some(c) = r.calendar(&account, &cal)? else {
                return Err(DavError::not_found(format!("no calendar {cal}")));
            };
            let zone = calendar_zone(r, c.id)?;
            let (start, end) = candidate_window(Some(range), &zone);
            let mut out = Vec::new();
            for meta in r.calendar_candidates(c.id, None, start, end)? {
                if let Some(d) = r.calendar_object_data(c.id, &meta.name)? {
                    out.push(d);
                }
            }
            Ok((zone, out))
        })
        .await?;
    let objects: Vec<&[u8]> = datas.iter().map(|d| d.as_bytes()).collect();
    let periods = freebusy::busy_periods(&objects, &range, &limits(), &zone);
    let body = freebusy::vfreebusy(&periods, &range, crate::store::now_unix());
    Ok((
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/calendar; charset=utf-8",
        )],
        body,
    )
        .into_response())
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
