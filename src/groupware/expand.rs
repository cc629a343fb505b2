//! RFC 4791 §9.6.5 and §9.6.6: calendar-data with `<C:expand>` (every instance in a range as
//! its own component, in UTC) and `<C:limit-recurrence-set>` (the master plus the overrides
//! that matter for a range).
//!
//! Pure: bytes in, iCalendar text out (CRLF, folded at 75 octets by calcard's writer). The
//! instances are `ical`'s (the same expansion, overrides, EXDATE/RDATE and bounds as
//! `ical::overlaps`), so what `expand` shows is what a time-range query matched.
//!
//! Decisions:
//! - An instance is in the range when it overlaps it under RFC 4791 §9.9.
//! - Each expanded instance copies its component (master or override, with its VALARMs),
//!   without RRULE/RDATE/EXDATE/EXRULE; DTSTART and DTEND (VEVENT) or DUE (VTODO) carry the
//!   instance's times in UTC (a DURATION becomes DTEND/DUE); RECURRENCE-ID is the original
//!   start in UTC. DATE values (all-day) stay DATE: they have no time to convert (their days
//!   are those of the floating zone). Every other date-time with a TZID, or floating, is
//!   written in UTC, floating ones read in the `FloatingZone` the caller passes (RFC 4791
//!   §9.6.5: the query's or the calendar's time zone); VTIMEZONEs are dropped.
//! - Master instances moved by a RANGE=THISANDFUTURE override take its times but keep the
//!   master's other properties; RANGE is dropped from the overrides.
//! - A non-recurring object is returned whole, times in UTC, whether or not it overlaps.
//! - Bounds: the expansion is `ical`'s (at most `max_instances` instances). When it stops at
//!   that budget the answer would be incomplete, so `expand` refuses with
//!   `IngestError::TooManyInstances` (CALDAV:max-instances); note that `ical` starts a query
//!   expansion two days before the range, so a FREQ=SECONDLY rule (172,800 instances in those
//!   two days) is refused for any range. When the copies would exceed 16 times `max_bytes` of
//!   text the request is refused the same way rather than building them.

use super::filter::TimeRange;
use super::ical::tz::{Zone, Zones};
use super::ical::{self, FloatingZone, IngestError, IngestLimits, Model, Origin, Window};
use calcard::common::PartialDateTime;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameter,
    ICalendarParameterName, ICalendarParameterValue, ICalendarPeriod, ICalendarProperty,
    ICalendarValue, ICalendarValueType,
};
use chrono::{DateTime, Datelike, TimeDelta, Timelike};
use std::sync::Arc;

/// The object with every instance overlapping [start, end) as its own component:
/// DTSTART/DTEND (or DUE) in UTC, a RECURRENCE-ID (UTC) on each, no RRULE/RDATE/EXDATE,
/// overrides applied, VTIMEZONE removed. Non-recurring objects come back with their times in
/// UTC. Floating times are read in `floating`. Output is valid iCalendar text (CRLF, folded
/// at 75 octets).
pub fn expand(
    text: &[u8],
    range: &TimeRange,
    limits: &IngestLimits,
    floating: &FloatingZone,
) -> Result<String, IngestError> {
    let calendar = ical::parse(text, limits)?;
    let mut zones = Zones::new(&calendar, floating);
    let days = zones.floating();
    let model = Model::build(&calendar, &mut zones, limits)?;
    let mut out = Output::new(&calendar, limits);
    if !model.recurring() {
        if let Some(master) = &model.master {
            out.copy(master.index, &mut zones, |_| {})?;
        }
        return Ok(out.finish());
    }
    let (start, end) = range.bounds();
    let expanded = model.expand(Window::Query { start, end }, limits.max_instances)?;
    if expanded.hit_budget {
        return Err(IngestError::TooManyInstances);
    }
    let mut instances: Vec<_> = expanded
        .spans
        .iter()
        .zip(&expanded.origins)
        .filter(|(span, _)| span.overlaps(start, end))
        .collect();
    instances.sort_by_key(|(span, _)| (span.start, span.end));
    for (span, origin) in instances {
        match origin {
            Origin::Master(original) => {
                let Some(master) = &model.master else {
                    continue;
                };
                let kind = calendar
                    .components
                    .get(master.index)
                    .map(|c| c.component_type.clone());
                out.copy(master.index, &mut zones, |component| {
                    retime(component, kind.as_ref(), span.start, span.end, &days);
                    let mut rid = new_entry(ICalendarProperty::RecurrenceId);
                    set_time(&mut rid, original.utc, original.date_only, &days);
                    let at = component
                        .entries
                        .iter()
                        .position(|e| e.name == ICalendarProperty::Dtstart)
                        .map_or(0, |i| i + 1);
                    component.entries.insert(at, rid);
                })?;
            }
            Origin::Override(i) => {
                if let Some(component) = model.overrides.get(*i) {
                    let kind = calendar
                        .components
                        .get(component.index)
                        .map(|c| c.component_type.clone());
                    out.copy(component.index, &mut zones, |component| {
                        retime(component, kind.as_ref(), span.start, span.end, &days);
                    })?;
                }
            }
            Origin::Fixed => {
                if let Some(master) = &model.master {
                    out.copy(master.index, &mut zones, |_| {})?;
                }
            }
        }
    }
    Ok(out.finish())
}

/// RFC 4791 §9.6.6 limit-recurrence-set: keep the master (with its rules) and only the
/// overrides whose instances overlap the range (floating times read in `floating`).
pub fn limit_recurrence_set(
    text: &[u8],
    range: &TimeRange,
    limits: &IngestLimits,
    floating: &FloatingZone,
) -> Result<String, IngestError> {
    let mut calendar = ical::parse(text, limits)?;
    let mut zones = Zones::new(&calendar, floating);
    let model = Model::build(&calendar, &mut zones, limits)?;
    let (start, end) = range.bounds();
    let expanded = model.expand(Window::Query { start, end }, limits.max_instances)?;
    let mut dropped = Vec::new();
    for (i, component) in model.overrides.iter().enumerate() {
        let keep = expanded
            .spans
            .iter()
            .zip(&expanded.origins)
            .any(|(span, origin)| {
                matches!(origin, Origin::Override(o) if *o == i) && span.overlaps(start, end)
            });
        // A THISANDFUTURE override also shapes the master instances after it.
        let shapes_later = component
            .recurrence_id
            .as_ref()
            .is_some_and(|rid| rid.utc < end)
            && calendar
                .components
                .get(component.index)
                .and_then(|c| c.property(&ICalendarProperty::RecurrenceId))
                .is_some_and(|e| e.has_parameter(&ICalendarParameterName::Range));
        if !keep && !shapes_later {
            dropped.push(component.index);
        }
    }
    drop(zones);
    if let Some(root) = calendar.components.first_mut() {
        root.component_ids
            .retain(|id| !dropped.contains(&(*id as usize)));
    }
    Ok(calendar.to_string())
}

/// The calendar being written.
struct Output<'a> {
    source: &'a ICalendar,
    calendar: ICalendar,
    /// Upper bound on the text written so far, and the most allowed.
    size: usize,
    max_size: usize,
}

impl<'a> Output<'a> {
    /// A VCALENDAR with the source's properties and its components other than VTIMEZONE and
    /// the main ones (X- components stay).
    fn new(source: &'a ICalendar, limits: &IngestLimits) -> Output<'a> {
        let mut calendar = ICalendar {
            components: Vec::new(),
        };
        let root = source.components.first();
        calendar.components.push(ICalendarComponent {
            component_type: ICalendarComponentType::VCalendar,
            entries: root.map(|r| r.entries.clone()).unwrap_or_default(),
            component_ids: Vec::new(),
        });
        let mut output = Output {
            source,
            calendar,
            size: 0,
            max_size: limits.max_bytes.saturating_mul(16),
        };
        if let Some(root) = root {
            for id in &root.component_ids {
                let index = *id as usize;
                let keep = source.components.get(index).is_some_and(|c| {
                    !matches!(
                        c.component_type,
                        ICalendarComponentType::VTimezone
                            | ICalendarComponentType::VEvent
                            | ICalendarComponentType::VTodo
                            | ICalendarComponentType::VJournal
                    )
                });
                if keep {
                    output.copy_raw(index, |_| {});
                }
            }
        }
        output
    }

    /// Copies component `index` with its sub-components under the root, times in UTC, then
    /// applies `edit` to the copy of `index` itself.
    fn copy(
        &mut self,
        index: usize,
        zones: &mut Zones<'_>,
        edit: impl FnOnce(&mut ICalendarComponent),
    ) -> Result<(), IngestError> {
        let first = self.calendar.components.len();
        let source = self.source;
        let home = source
            .components
            .get(index)
            .and_then(|c| c.property(&ICalendarProperty::Dtstart))
            .and_then(ICalendarEntry::tz_id)
            .map(|tzid| zones.get(tzid))
            .unwrap_or_else(|| zones.floating());
        self.copy_raw(index, |_| {});
        let copied = self.calendar.components.len();
        for i in first..copied {
            if let Some(component) = self.calendar.components.get_mut(i) {
                to_utc(component, &home, zones);
                if i == first {
                    strip_recurrence(component);
                }
            }
        }
        if let Some(component) = self.calendar.components.get_mut(first) {
            edit(component);
        }
        let added: usize = self.calendar.components[first..copied]
            .iter()
            .flat_map(|c| c.entries.iter())
            .map(|e| e.size().saturating_add(16))
            .sum();
        self.size = self.size.saturating_add(added);
        if self.size > self.max_size {
            return Err(IngestError::TooManyInstances);
        }
        Ok(())
    }

    /// Copies a subtree without any change (iteratively: nesting depth is the input's).
    fn copy_raw(&mut self, index: usize, mut edit: impl FnMut(&mut ICalendarComponent)) {
        let Some(root) = self.source.components.get(index) else {
            return;
        };
        let mut stack = vec![(index, self.calendar.components.len())];
        let mut copy = strip_children(root);
        edit(&mut copy);
        self.calendar.components.push(copy);
        if let Some(top) = self.calendar.components.first_mut() {
            top.component_ids.push(stack[0].1 as u32);
        }
        while let Some((from, to)) = stack.pop() {
            let Some(component) = self.source.components.get(from) else {
                continue;
            };
            for child in &component.component_ids {
                let child = *child as usize;
                let Some(raw) = self.source.components.get(child) else {
                    continue;
                };
                let at = self.calendar.components.len();
                let mut copy = strip_children(raw);
                edit(&mut copy);
                self.calendar.components.push(copy);
                if let Some(parent) = self.calendar.components.get_mut(to) {
                    parent.component_ids.push(at as u32);
                }
                stack.push((child, at));
            }
        }
    }

    fn finish(self) -> String {
        self.calendar.to_string()
    }
}

fn strip_children(component: &ICalendarComponent) -> ICalendarComponent {
    ICalendarComponent {
        component_type: component.component_type.clone(),
        entries: component.entries.clone(),
        component_ids: Vec::new(),
    }
}

fn strip_recurrence(component: &mut ICalendarComponent) {
    component.entries.retain(|entry| {
        !matches!(
            entry.name,
            ICalendarProperty::Rrule
                | ICalendarProperty::Rdate
                | ICalendarProperty::Exdate
                | ICalendarProperty::Exrule
        )
    });
    for entry in &mut component.entries {
        if entry.name == ICalendarProperty::RecurrenceId {
            entry
                .params
                .retain(|param| param.name != ICalendarParameterName::Range);
        }
    }
}

/// Puts one instance's times on a copy of the master (DATE values on the days of `days`,
/// the floating zone).
fn retime(
    component: &mut ICalendarComponent,
    kind: Option<&ICalendarComponentType>,
    start: i64,
    end: i64,
    days: &Zone,
) {
    let date_of = |name: ICalendarProperty, component: &ICalendarComponent| {
        component
            .property(&name)
            .and_then(|e| e.values.first())
            .is_some_and(|v| matches!(v, ICalendarValue::PartialDateTime(d) if !d.has_time()))
    };
    let has =
        |name: ICalendarProperty, component: &ICalendarComponent| component.has_property(&name);
    let start_is_date = date_of(ICalendarProperty::Dtstart, component);
    let has_start = has(ICalendarProperty::Dtstart, component);
    let end_name = match kind {
        Some(ICalendarComponentType::VEvent) => Some(ICalendarProperty::Dtend),
        Some(ICalendarComponentType::VTodo) => Some(ICalendarProperty::Due),
        _ => None,
    };
    let had_end = end_name
        .as_ref()
        .is_some_and(|name| has(name.clone(), component))
        || has(ICalendarProperty::Duration, component);
    let end_is_date = match &end_name {
        Some(name) if has(name.clone(), component) => date_of(name.clone(), component),
        _ => start_is_date,
    };
    let default_end = if start_is_date {
        days.to_local(start)
            .checked_add_signed(TimeDelta::days(1))
            .map(|next| days.to_utc(next))
            .unwrap_or(start.saturating_add(86_400))
    } else {
        start
    };
    // A DURATION of exactly the instance's length is still right in UTC (RFC 4791's own
    // expand example keeps it); otherwise the end is written out.
    let keep_duration = component
        .property(&ICalendarProperty::Duration)
        .and_then(|e| e.values.first())
        .is_some_and(|v| {
            matches!(v, ICalendarValue::Duration(d) if !d.neg && d.as_seconds() == end.saturating_sub(start))
        })
        && has_start;
    let write_end =
        end_name.is_some() && !keep_duration && (had_end || (has_start && end != default_end));
    component.entries.retain(|entry| {
        (keep_duration || entry.name != ICalendarProperty::Duration)
            && end_name.as_ref().is_none_or(|name| entry.name != *name)
    });
    if has_start {
        if let Some(entry) = component
            .entries
            .iter_mut()
            .find(|e| e.name == ICalendarProperty::Dtstart)
        {
            set_time(entry, start, start_is_date, days);
        }
    } else if let Some(ICalendarProperty::Due) = &end_name {
        // A VTODO without DTSTART: the instance is its DUE.
        let mut due = new_entry(ICalendarProperty::Due);
        set_time(&mut due, start, start_is_date, days);
        component.entries.push(due);
        return;
    }
    if let Some(name) = end_name
        && write_end
    {
        let mut entry = new_entry(name);
        set_time(&mut entry, end, end_is_date, days);
        let at = component
            .entries
            .iter()
            .position(|e| e.name == ICalendarProperty::Dtstart)
            .map_or(component.entries.len(), |i| i + 1);
        component.entries.insert(at, entry);
    }
}

fn new_entry(name: ICalendarProperty) -> ICalendarEntry {
    ICalendarEntry {
        name,
        params: Vec::new(),
        values: Vec::new(),
    }
}

/// Makes `entry` hold one UTC date-time, or the DATE of the day `utc` falls on in `days`.
fn set_time(entry: &mut ICalendarEntry, utc: i64, date_only: bool, days: &Zone) {
    entry.params.retain(|param| {
        !matches!(
            param.name,
            ICalendarParameterName::Tzid | ICalendarParameterName::Value
        )
    });
    if date_only {
        entry.params.push(ICalendarParameter {
            name: ICalendarParameterName::Value,
            value: ICalendarParameterValue::Value(ICalendarValueType::Date),
        });
    }
    let value = if date_only {
        // The wall clock's midnight, written as if UTC: `utc_value` keeps only the date.
        let local = days.to_local(utc);
        utc_value(local.and_utc().timestamp(), true)
    } else {
        utc_value(utc, false)
    };
    entry.values = vec![ICalendarValue::PartialDateTime(Box::new(value))];
}

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

fn utc_value(utc: i64, date_only: bool) -> PartialDateTime {
    let at = DateTime::from_timestamp(utc.clamp(FIRST_SECOND, LAST_SECOND), 0)
        .map(|at| at.naive_utc())
        .unwrap_or_default();
    let small = |v: u32| u8::try_from(v).ok();
    PartialDateTime {
        year: u16::try_from(at.year()).ok(),
        month: small(at.month()),
        day: small(at.day()),
        hour: if date_only { None } else { small(at.hour()) },
        minute: if date_only { None } else { small(at.minute()) },
        second: if date_only { None } else { small(at.second()) },
        tz_hour: if date_only { None } else { Some(0) },
        tz_minute: if date_only { None } else { Some(0) },
        tz_minus: false,
    }
}

/// Writes every zoned or floating date-time of `component` in UTC (DATE values stay, without
/// their TZID: the VTIMEZONEs are gone).
fn to_utc(component: &mut ICalendarComponent, home: &Arc<Zone>, zones: &mut Zones<'_>) {
    for entry in &mut component.entries {
        if matches!(
            entry.name,
            ICalendarProperty::Rrule | ICalendarProperty::Exrule
        ) {
            continue;
        }
        let tzid = entry.tz_id().map(str::to_string);
        let name = entry.name.clone();
        let mut dated = false;
        let mut convert = |value: &mut PartialDateTime| {
            dated = true;
            let utc = matches!((value.tz_hour, value.tz_minute), (Some(0), Some(0) | None))
                && !value.tz_minus;
            if !value.has_time() || utc {
                return;
            }
            if let Ok(at) = ical::read_time(value, tzid.as_deref(), home, zones, &name) {
                *value = utc_value(at.utc, false);
            }
        };
        for value in &mut entry.values {
            match value {
                ICalendarValue::PartialDateTime(time) => convert(time),
                ICalendarValue::Period(ICalendarPeriod::Range { start, end }) => {
                    convert(start);
                    convert(end);
                }
                ICalendarValue::Period(ICalendarPeriod::Duration { start, .. }) => convert(start),
                _ => {}
            }
        }
        if dated {
            entry
                .params
                .retain(|param| param.name != ICalendarParameterName::Tzid);
        }
    }
}

#[cfg(test)]
mod tests;
