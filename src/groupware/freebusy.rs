//! RFC 4791 §7.10 free-busy-query: the busy time of calendar objects in a range, and the
//! VFREEBUSY answer.
//!
//! Pure. The instances are `ical`'s (the same expansion, overrides, EXDATE/RDATE and bounds as
//! `ical::overlaps`: at most `max_instances` per object). Decisions:
//! - VEVENTs count unless TRANSP:TRANSPARENT or STATUS:CANCELLED, judged per component (an
//!   override can cancel one instance, or confirm one of a cancelled series); STATUS:TENTATIVE
//!   is BUSY-TENTATIVE, anything else BUSY. VTODO and VJOURNAL do not count.
//! - VFREEBUSY components contribute their FREEBUSY periods with their FBTYPE (default BUSY,
//!   unknown types BUSY as RFC 5545 §3.2.9 says, FREE ignored).
//! - Each period is clipped to the range; empty ones (zero-length events) are dropped.
//!   Periods of one type are merged when they overlap or touch; the result is sorted by
//!   start, then type.
//! - An object that cannot be read contributes nothing.
//! - Floating times are read in the `FloatingZone` the caller passes (RFC 4791 §7.10 has no
//!   time zone element: CalDAV passes the calendar's CALDAV:calendar-timezone).

use super::filter::TimeRange;
use super::ical::tz::Zones;
use super::ical::{self, FloatingZone, IngestLimits, Model, Origin, Window};
use calcard::icalendar::{
    ICalendarComponent, ICalendarComponentType, ICalendarFreeBusyType, ICalendarParameterName,
    ICalendarParameterValue, ICalendarProperty,
};
use chrono::DateTime;

/// The FBTYPE of a busy period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BusyType {
    Busy,
    Tentative,
    Unavailable,
}

impl BusyType {
    /// The FBTYPE parameter value.
    pub fn fbtype(self) -> &'static str {
        match self {
            BusyType::Busy => "BUSY",
            BusyType::Tentative => "BUSY-TENTATIVE",
            BusyType::Unavailable => "BUSY-UNAVAILABLE",
        }
    }
}

/// Busy periods of the objects within [start, end): VEVENTs that are not TRANSP:TRANSPARENT
/// and not STATUS:CANCELLED (STATUS:TENTATIVE -> Tentative), each instance clipped to the
/// range; also VFREEBUSY components' FREEBUSY periods. Merged and sorted per type.
/// Floating times are read in `floating` (the calendar's time zone).
pub fn busy_periods(
    objects: &[&[u8]],
    range: &TimeRange,
    limits: &IngestLimits,
    floating: &FloatingZone,
) -> Vec<(i64, i64, BusyType)> {
    let (start, end) = range.bounds();
    let mut periods = Vec::new();
    for object in objects {
        object_periods(object, start, end, limits, floating, &mut periods);
    }
    let mut clipped: Vec<(i64, i64, BusyType)> = periods
        .into_iter()
        .map(|(s, e, kind)| (s.max(start), e.min(end), kind))
        .filter(|(s, e, _)| s < e)
        .collect();
    clipped.sort_by_key(|(s, e, kind)| (*kind, *s, *e));
    let mut merged: Vec<(i64, i64, BusyType)> = Vec::with_capacity(clipped.len());
    for (s, e, kind) in clipped {
        match merged.last_mut() {
            Some(last) if last.2 == kind && s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e, kind)),
        }
    }
    merged.sort_by_key(|(s, e, kind)| (*s, *kind, *e));
    merged
}

fn object_periods(
    text: &[u8],
    start: i64,
    end: i64,
    limits: &IngestLimits,
    floating: &FloatingZone,
    out: &mut Vec<(i64, i64, BusyType)>,
) {
    let Ok(calendar) = ical::parse(text, limits) else {
        return;
    };
    let mut zones = Zones::new(&calendar, floating);
    let Some(root) = calendar.components.first() else {
        return;
    };
    let mut has_events = false;
    for id in &root.component_ids {
        let Some(component) = calendar.components.get(*id as usize) else {
            continue;
        };
        match component.component_type {
            ICalendarComponentType::VFreebusy => freebusy_periods(component, &mut zones, out),
            ICalendarComponentType::VEvent => has_events = true,
            _ => {}
        }
    }
    if !has_events {
        return;
    }
    let Ok(model) = Model::build(&calendar, &mut zones, limits) else {
        return;
    };
    let Ok(expanded) = model.expand(Window::Query { start, end }, limits.max_instances) else {
        return;
    };
    for (span, origin) in expanded.spans.iter().zip(&expanded.origins) {
        if !span.overlaps(start, end) || matches!(origin, Origin::Fixed) {
            continue;
        }
        let Some(component) = origin
            .component(&model)
            .and_then(|index| calendar.components.get(index))
        else {
            continue;
        };
        if let Some(kind) = event_busy_type(component) {
            out.push((span.start, span.end, kind));
        }
    }
}

/// How a VEVENT blocks time: None when transparent or cancelled.
fn event_busy_type(component: &ICalendarComponent) -> Option<BusyType> {
    if component.component_type != ICalendarComponentType::VEvent {
        return None;
    }
    let text_of = |property: ICalendarProperty| {
        component
            .property(&property)
            .and_then(|entry| entry.values.first())
            .and_then(|value| value.as_text())
    };
    if text_of(ICalendarProperty::Transp).is_some_and(|t| t.eq_ignore_ascii_case("TRANSPARENT")) {
        return None;
    }
    match text_of(ICalendarProperty::Status) {
        Some(status) if status.eq_ignore_ascii_case("CANCELLED") => None,
        Some(status) if status.eq_ignore_ascii_case("TENTATIVE") => Some(BusyType::Tentative),
        _ => Some(BusyType::Busy),
    }
}

/// The FREEBUSY periods of a VFREEBUSY with their FBTYPE (FREE ones left out).
fn freebusy_periods(
    component: &ICalendarComponent,
    zones: &mut Zones<'_>,
    out: &mut Vec<(i64, i64, BusyType)>,
) {
    for entry in &component.entries {
        if entry.name != ICalendarProperty::Freebusy {
            continue;
        }
        let kind = match entry
            .params
            .iter()
            .find(|param| param.name == ICalendarParameterName::Fbtype)
            .map(|param| &param.value)
        {
            None => Some(BusyType::Busy),
            Some(ICalendarParameterValue::Fbtype(fbtype)) => match fbtype {
                ICalendarFreeBusyType::Free => None,
                ICalendarFreeBusyType::Busy => Some(BusyType::Busy),
                ICalendarFreeBusyType::BusyUnavailable => Some(BusyType::Unavailable),
                ICalendarFreeBusyType::BusyTentative => Some(BusyType::Tentative),
            },
            Some(other) => match other.as_text() {
                Some(text) if text.eq_ignore_ascii_case("FREE") => None,
                Some(text) if text.eq_ignore_ascii_case("BUSY-TENTATIVE") => {
                    Some(BusyType::Tentative)
                }
                Some(text) if text.eq_ignore_ascii_case("BUSY-UNAVAILABLE") => {
                    Some(BusyType::Unavailable)
                }
                // RFC 5545 §3.2.9: unknown types are BUSY.
                _ => Some(BusyType::Busy),
            },
        };
        let Some(kind) = kind else {
            continue;
        };
        // A broken value loses that property only.
        if let Ok(periods) = ical::period_values(entry, zones) {
            out.extend(periods.into_iter().map(|(s, e)| (s, e, kind)));
        }
    }
}

/// A VCALENDAR with one VFREEBUSY (DTSTAMP now, DTSTART/DTEND = range, FREEBUSY lines with
/// FBTYPE) as RFC 4791 §7.10 answers. One period per FREEBUSY line, so no line needs folding;
/// an unbounded side of the range leaves DTSTART or DTEND out.
pub fn vfreebusy(periods: &[(i64, i64, BusyType)], range: &TimeRange, now: i64) -> String {
    let mut out = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//domus//CalDAV free-busy//EN\r\nCALSCALE:GREGORIAN\r\nBEGIN:VFREEBUSY\r\n",
    );
    out.push_str(&format!("DTSTAMP:{}\r\n", utc(now)));
    if let Some(start) = range.start {
        out.push_str(&format!("DTSTART:{}\r\n", utc(start)));
    }
    if let Some(end) = range.end {
        out.push_str(&format!("DTEND:{}\r\n", utc(end)));
    }
    for (start, end, kind) in periods {
        if start >= end {
            continue;
        }
        out.push_str(&format!(
            "FREEBUSY;FBTYPE={}:{}/{}\r\n",
            kind.fbtype(),
            utc(*start),
            utc(*end)
        ));
    }
    out.push_str("END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    out
}

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

/// A UTC date-time in iCalendar form (`20060104T140000Z`).
fn utc(at: i64) -> String {
    DateTime::from_timestamp(at.clamp(FIRST_SECOND, LAST_SECOND), 0)
        .map(|at| at.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
