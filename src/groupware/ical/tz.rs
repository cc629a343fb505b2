//! Time zones for iCalendar ingest: turns a TZID, with the object's own VTIMEZONEs, into a
//! `Zone` that converts wall-clock times to UTC and back.
//!
//! Resolution order for a TZID (CalConnect's advice, which calcard follows, is to trust a
//! well-known name over the VTIMEZONE text, whose rules are often a one-rule summary that is
//! wrong for past years):
//! 1. calcard's name guess: an IANA name, a Windows name ("W. Europe Standard Time"), an
//!    Outlook label, a `/vendor/…/Area/City` path, the VTIMEZONE's X-LIC-LOCATION or
//!    X-MICROSOFT-CDO-TZID. calcard's fixed `Etc/GMT±N` guesses from "(UTC+01:00) …" labels
//!    are used only when the object has no VTIMEZONE for the TZID.
//! 2. The VTIMEZONE's own STANDARD/DAYLIGHT observances, evaluated here (calcard does not
//!    evaluate them): each onset from DTSTART, RDATE and the RRULE, up to 2100. Observance
//!    rules are always of the shape FREQ=YEARLY;BYMONTH=m;BYDAY=±nDD (optionally with a
//!    BYMONTHDAY window, BYHOUR/BYMINUTE, UNTIL, COUNT); `yearly_onsets` computes exactly
//!    that, year by year, in constant time per year. A rule of another shape contributes
//!    no onsets: calcard's general iterator can spend 100,000 empty periods on an
//!    impossible rule, and an object may carry many VTIMEZONEs.
//! 3. Otherwise UTC: an unknown TZID without a VTIMEZONE is accepted and read as UTC (RFC
//!    4791 §4.1 wants the VTIMEZONE; refusing would lose real data). A known name without a
//!    VTIMEZONE is step 1: RFC 7809 lets clients leave out the VTIMEZONEs of standard zones.
//!
//! Floating times (no TZID, no `Z`) and DATE values are read in a `FloatingZone` that the
//! caller chooses: UTC for ingest (the index), the query's or the calendar's time zone for
//! queries (RFC 4791 §9.9). `FloatingZone::from_name` resolves a name the same way as a TZID
//! without VTIMEZONE, `FloatingZone::from_vtimezone` an iCalendar object holding one VTIMEZONE
//! the same way as a TZID with one (CALDAV:timezone, CALDAV:calendar-timezone).
//!
//! Wall-clock to UTC follows RFC 5545 §3.3.5: a time that occurs twice (the hour after a
//! fall-back) means the first one; a time in a spring-forward gap is read with the offset from
//! before the gap.

use calcard::common::timezone::Tz;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarProperty, ICalendarValue,
};
use calcard::icalendar::{ICalendarFrequency, ICalendarRecurrenceRule, ICalendarWeekday};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Weekday};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

/// Onsets one VTIMEZONE may contribute, and all VTIMEZONEs of one object together: bounds the
/// work a hostile VTIMEZONE (FREQ=SECONDLY observances, thousands of zones) can cause.
const MAX_TRANSITIONS_PER_ZONE: usize = 2_000;
const MAX_TRANSITIONS_PER_OBJECT: usize = 20_000;

/// A time zone in which wall-clock times are read.
#[derive(Debug)]
pub(in crate::groupware) enum Zone {
    /// UTC; also unknown TZIDs, and floating times unless a `FloatingZone` says otherwise.
    Utc,
    /// A zone calcard knows by name (chrono-tz data).
    Named(Tz),
    /// A VTIMEZONE's own rules: UTC instants at which the offset changes, ascending, with the
    /// offset from then on; `initial` before the first one.
    Rules {
        initial: i32,
        transitions: Vec<(i64, i32)>,
    },
}

impl Zone {
    /// The offset (seconds east of UTC) in force at the UTC instant `utc`.
    pub(in crate::groupware) fn offset_at(&self, utc: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Named(tz) => match DateTime::from_timestamp(utc, 0) {
                Some(at) => tz
                    .offset_from_utc_datetime(&at.naive_utc())
                    .fix()
                    .local_minus_utc(),
                None => 0,
            },
            Zone::Rules {
                initial,
                transitions,
            } => {
                let after = transitions.partition_point(|(at, _)| *at <= utc);
                match after.checked_sub(1).and_then(|i| transitions.get(i)) {
                    Some((_, offset)) => *offset,
                    None => *initial,
                }
            }
        }
    }

    /// The UTC instant of a wall-clock time in this zone.
    pub(in crate::groupware) fn to_utc(&self, local: NaiveDateTime) -> i64 {
        let wall = local.and_utc().timestamp();
        if matches!(self, Zone::Utc) {
            return wall;
        }
        let before = self.offset_at(wall.saturating_sub(86_400));
        let after = self.offset_at(wall.saturating_add(86_400));
        for offset in [before, after] {
            let utc = wall.saturating_sub(i64::from(offset));
            if self.offset_at(utc) == offset {
                return utc;
            }
        }
        wall.saturating_sub(i64::from(before))
    }

    /// The wall-clock time in this zone at the UTC instant `utc`.
    pub(in crate::groupware) fn to_local(&self, utc: i64) -> NaiveDateTime {
        let wall = utc.saturating_add(i64::from(self.offset_at(utc)));
        DateTime::from_timestamp(wall, 0)
            .map(|at| at.naive_utc())
            .unwrap_or_default()
    }

    /// The largest distance, in seconds, between a wall-clock time read in this zone and the
    /// same wall-clock time read as UTC.
    fn reach(&self) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Named(Tz::Fixed(offset)) => i64::from(offset.local_minus_utc()).abs(),
            // Every IANA zone since 1900 (CALDAV:min-date-time) lies within UTC-12..UTC+14.
            Zone::Named(_) => IANA_REACH,
            Zone::Rules {
                initial,
                transitions,
            } => transitions
                .iter()
                .map(|(_, offset)| *offset)
                .chain([*initial])
                .map(|offset| i64::from(offset).abs())
                .max()
                .unwrap_or(0),
        }
    }
}

/// UTC-12..UTC+14, with margin to spare on the west side.
const IANA_REACH: i64 = 14 * 3_600;

/// The time zone in which floating date-times and DATE values are read (RFC 4791 §9.9,
/// §7.3): UTC by default, or the time zone of a calendar-query (CALDAV:timezone, RFC 7809's
/// CALDAV:timezone-id) or of the calendar (CALDAV:calendar-timezone, -timezone-id).
/// Resolved once per query, not per object; cheap to clone and `Send`.
#[derive(Debug, Clone)]
pub struct FloatingZone(Arc<Zone>);

impl Default for FloatingZone {
    fn default() -> Self {
        FloatingZone::utc()
    }
}

impl FloatingZone {
    pub fn utc() -> FloatingZone {
        FloatingZone(Arc::new(Zone::Utc))
    }

    /// A zone by name, as a TZID without VTIMEZONE is resolved: an IANA name, a Windows or
    /// Outlook name, a `/vendor/…/Area/City` path. None when the name is not known.
    pub fn from_name(name: &str) -> Option<FloatingZone> {
        match Tz::from_str(name.trim()) {
            Ok(tz) if !tz.is_floating() => Some(FloatingZone(Arc::new(named(tz)))),
            _ => None,
        }
    }

    /// The zone of an iCalendar object holding exactly one VTIMEZONE (the value of
    /// CALDAV:timezone or CALDAV:calendar-timezone), resolved like a TZID with its VTIMEZONE:
    /// a well-known name (TZID, X-LIC-LOCATION, …) first, else the VTIMEZONE's own rules.
    /// Returns the zone and the VTIMEZONE's TZID. Refused (`NotCalendarData`,
    /// CALDAV:valid-calendar-data) when it is not iCalendar, has no VTIMEZONE or several, or
    /// the VTIMEZONE has no TZID.
    pub fn from_vtimezone(
        text: &[u8],
        limits: &super::IngestLimits,
    ) -> Result<(FloatingZone, String), super::IngestError> {
        let calendar = super::parse(text, limits)?;
        let mut vtimezones = calendar
            .components
            .iter()
            .filter(|c| c.component_type == ICalendarComponentType::VTimezone);
        let (Some(vtimezone), None) = (vtimezones.next(), vtimezones.next()) else {
            return Err(super::bad_data("a time zone needs exactly one VTIMEZONE"));
        };
        let tzid = vtimezone
            .property(&ICalendarProperty::Tzid)
            .and_then(|entry| entry.values.first())
            .and_then(|value| value.as_text())
            .ok_or_else(|| super::bad_data("VTIMEZONE without TZID"))?;
        let mut zones = Zones::new(&calendar, &FloatingZone::utc());
        Ok((FloatingZone(zones.get(tzid)), tzid.to_string()))
    }

    /// Floating times read in this zone are UTC instants.
    pub fn is_utc(&self) -> bool {
        matches!(*self.0, Zone::Utc)
    }

    /// How far (seconds) the instant of a floating time in this zone can lie from the same
    /// wall clock read as UTC, which is how the index stores it: a query widens its
    /// candidate window by this much before the exact re-check.
    pub fn reach(&self) -> i64 {
        self.0.reach()
    }

    /// The UTC instant of a floating wall-clock time (tests and callers outside `ical`).
    pub fn to_utc(&self, local: NaiveDateTime) -> i64 {
        self.0.to_utc(local)
    }

    pub(in crate::groupware) fn zone(&self) -> &Arc<Zone> {
        &self.0
    }
}

/// Resolves TZIDs for one object, each once.
pub(in crate::groupware) struct Zones<'a> {
    vtimezones: HashMap<&'a str, &'a ICalendarComponent>,
    calendar: &'a ICalendar,
    cache: HashMap<String, Arc<Zone>>,
    utc: Arc<Zone>,
    floating: Arc<Zone>,
    transition_budget: usize,
}

impl<'a> Zones<'a> {
    /// The zones of `calendar`; floating times and DATE values are read in `floating`.
    pub(in crate::groupware) fn new(calendar: &'a ICalendar, floating: &FloatingZone) -> Self {
        let mut vtimezones = HashMap::new();
        for component in &calendar.components {
            if component.component_type != ICalendarComponentType::VTimezone {
                continue;
            }
            let tzid = component
                .property(&ICalendarProperty::Tzid)
                .and_then(|entry| entry.values.first())
                .and_then(|value| value.as_text());
            if let Some(tzid) = tzid {
                vtimezones.entry(tzid).or_insert(component);
            }
        }
        Zones {
            vtimezones,
            calendar,
            cache: HashMap::new(),
            utc: Arc::new(Zone::Utc),
            floating: floating.zone().clone(),
            transition_budget: MAX_TRANSITIONS_PER_OBJECT,
        }
    }

    pub(in crate::groupware) fn utc(&self) -> Arc<Zone> {
        self.utc.clone()
    }

    /// The zone of floating date-times and DATE values.
    pub(in crate::groupware) fn floating(&self) -> Arc<Zone> {
        self.floating.clone()
    }

    /// The zone a TZID parameter names.
    pub(in crate::groupware) fn get(&mut self, tzid: &str) -> Arc<Zone> {
        if let Some(zone) = self.cache.get(tzid) {
            return zone.clone();
        }
        let zone = Arc::new(self.resolve(tzid));
        self.cache.insert(tzid.to_string(), zone.clone());
        zone
    }

    fn resolve(&mut self, tzid: &str) -> Zone {
        let Some(vtimezone) = self.vtimezones.get(tzid).copied() else {
            return match Tz::from_str(tzid) {
                Ok(tz) if !tz.is_floating() => named(tz),
                _ => Zone::Utc,
            };
        };
        let guess = vtimezone
            .timezone()
            .map(|(_, tz)| tz)
            .or_else(|| Tz::from_str(tzid.trim()).ok());
        if let Some(tz) = guess
            && is_geographic(&tz)
        {
            return named(tz);
        }
        if let Some(rules) = self.evaluate(vtimezone) {
            return rules;
        }
        match guess {
            Some(tz) if !tz.is_floating() => named(tz),
            _ => Zone::Utc,
        }
    }

    /// A VTIMEZONE's observances as a transition table (None when it has none usable).
    fn evaluate(&mut self, vtimezone: &ICalendarComponent) -> Option<Zone> {
        let mut transitions: Vec<(i64, i32, i32)> = Vec::new();
        let mut zone_budget = MAX_TRANSITIONS_PER_ZONE.min(self.transition_budget);
        for id in &vtimezone.component_ids {
            let Some(observance) = self.calendar.components.get(*id as usize) else {
                continue;
            };
            if !matches!(
                observance.component_type,
                ICalendarComponentType::Standard | ICalendarComponentType::Daylight
            ) {
                continue;
            }
            let mut dtstart = None;
            let mut from = None;
            let mut to = None;
            let mut rule = None;
            let mut rdates = Vec::new();
            for entry in &observance.entries {
                let first = entry.values.first();
                match (&entry.name, first) {
                    (ICalendarProperty::Dtstart, Some(ICalendarValue::PartialDateTime(dt))) => {
                        dtstart = dt.to_date_time().map(|dt| dt.date_time);
                    }
                    (ICalendarProperty::Tzoffsetfrom, Some(ICalendarValue::PartialDateTime(o))) => {
                        from = offset_seconds(o);
                    }
                    (ICalendarProperty::Tzoffsetto, Some(ICalendarValue::PartialDateTime(o))) => {
                        to = offset_seconds(o);
                    }
                    (ICalendarProperty::Rrule, Some(ICalendarValue::RecurrenceRule(r))) => {
                        rule = Some(r.as_ref());
                    }
                    (ICalendarProperty::Rdate, _) => {
                        for value in &entry.values {
                            if let ICalendarValue::PartialDateTime(dt) = value
                                && let Some(dt) = dt.to_date_time()
                            {
                                rdates.push(dt.date_time);
                            }
                        }
                    }
                    _ => {}
                }
            }
            let (Some(dtstart), Some(to)) = (dtstart, to) else {
                continue;
            };
            let from = from.unwrap_or(to);
            let mut onsets = vec![dtstart];
            onsets.extend(rdates);
            if let Some(rule) = rule {
                let until = rule
                    .until
                    .as_ref()
                    .and_then(|until| until.to_date_time())
                    .map(|until| match until.offset {
                        // A UTC UNTIL in an observance is in UTC; its wall clock is before the
                        // change, in TZOFFSETFROM.
                        Some(_) => until
                            .date_time
                            .checked_add_signed(chrono::TimeDelta::seconds(i64::from(from)))
                            .unwrap_or(until.date_time),
                        None => until.date_time,
                    });
                onsets.extend(yearly_onsets(rule, dtstart, until, zone_budget));
            }
            onsets.sort_unstable();
            onsets.dedup();
            onsets.truncate(zone_budget);
            zone_budget -= onsets.len();
            for onset in onsets {
                let utc = onset.and_utc().timestamp() - i64::from(from);
                transitions.push((utc, from, to));
            }
        }
        self.transition_budget = self.transition_budget.saturating_sub(transitions.len());
        if transitions.is_empty() {
            return None;
        }
        transitions.sort_by_key(|(at, _, _)| *at);
        // Before the first onset the zone is at that observance's TZOFFSETFROM.
        let initial = transitions.first().map(|(_, from, _)| *from).unwrap_or(0);
        Some(Zone::Rules {
            initial,
            transitions: transitions
                .into_iter()
                .map(|(at, _, to)| (at, to))
                .collect(),
        })
    }
}

fn named(tz: Tz) -> Zone {
    if tz.is_utc() {
        Zone::Utc
    } else {
        Zone::Named(tz)
    }
}

/// A real place's zone, as opposed to calcard's `Etc/GMT±N` fallbacks for labels like
/// "(UTC+01:00) Amsterdam, Berlin" whose VTIMEZONE (with its DST rules) is better.
fn is_geographic(tz: &Tz) -> bool {
    match tz {
        Tz::Tz(_) => tz
            .name()
            .is_some_and(|name| !name.starts_with("Etc/") && name != "UTC"),
        _ => false,
    }
}

/// TZOFFSETFROM/TZOFFSETTO as seconds east of UTC.
fn offset_seconds(value: &calcard::common::PartialDateTime) -> Option<i32> {
    let hours = i32::from(value.tz_hour?);
    let minutes = i32::from(value.tz_minute.unwrap_or(0));
    let seconds = hours * 3600 + minutes * 60;
    if seconds > 86_400 {
        return None;
    }
    Some(if value.tz_minus { -seconds } else { seconds })
}

/// The onsets of a yearly observance rule (see the module doc), at most `budget`, from
/// DTSTART's year to 2100. Not of that shape: none.
fn yearly_onsets(
    rule: &ICalendarRecurrenceRule,
    dtstart: NaiveDateTime,
    until: Option<NaiveDateTime>,
    budget: usize,
) -> Vec<NaiveDateTime> {
    let mut onsets = Vec::new();
    let simple = rule.freq == ICalendarFrequency::Yearly
        && rule.interval.unwrap_or(1) == 1
        && rule.bymonth.len() == 1
        && rule.byday.len() == 1
        && rule.byyearday.is_empty()
        && rule.byweekno.is_empty()
        && rule.bysetpos.is_empty()
        && rule.bysecond.len() <= 1
        && rule.byminute.len() <= 1
        && rule.byhour.len() <= 1
        && rule.rscale.is_none();
    let (Some(month), Some(day)) = (rule.bymonth.first(), rule.byday.first()) else {
        return onsets;
    };
    if !simple || month.is_leap() {
        return onsets;
    }
    let month = u32::from(month.month());
    let weekday = chrono_weekday(day.weekday);
    let time = dtstart.time();
    let hour = rule.byhour.first().map_or(time.hour(), |h| u32::from(*h));
    let minute = rule
        .byminute
        .first()
        .map_or(time.minute(), |m| u32::from(*m));
    let second = rule
        .bysecond
        .first()
        .map_or(time.second(), |s| u32::from(*s));
    let limit = rule
        .count
        .map_or(budget, |count| (count as usize).min(budget));
    for year in dtstart.year()..=2100 {
        if onsets.len() >= limit {
            break;
        }
        let Some(date) = nth_weekday(year, month, weekday, day.ordwk, &rule.bymonthday) else {
            continue;
        };
        let Some(onset) = date.and_hms_opt(hour, minute, second) else {
            continue;
        };
        if onset < dtstart {
            continue;
        }
        if until.is_some_and(|until| onset > until) {
            break;
        }
        onsets.push(onset);
    }
    onsets
}

/// The day of `month` that is the `ordinal`-th `weekday` (negative: from the end; none: the
/// first), restricted to `monthdays` when given.
fn nth_weekday(
    year: i32,
    month: u32,
    weekday: Weekday,
    ordinal: Option<i16>,
    monthdays: &[i8],
) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let last = first
        .checked_add_months(chrono::Months::new(1))?
        .pred_opt()?;
    let days_in_month = last.day();
    let candidates: Vec<NaiveDate> = first
        .iter_days()
        .take(days_in_month as usize)
        .filter(|date| date.weekday() == weekday)
        .filter(|date| {
            monthdays.is_empty()
                || monthdays.iter().any(|d| {
                    let d = i64::from(*d);
                    let day = i64::from(date.day());
                    d == day || d == day - i64::from(days_in_month) - 1
                })
        })
        .collect();
    match ordinal {
        None | Some(0) => candidates.first().copied(),
        Some(n) if n > 0 => candidates.get(usize::try_from(n - 1).ok()?).copied(),
        Some(n) => {
            let back = usize::try_from(-i32::from(n)).ok()?;
            candidates
                .len()
                .checked_sub(back)
                .and_then(|i| candidates.get(i))
                .copied()
        }
    }
}

fn chrono_weekday(day: ICalendarWeekday) -> Weekday {
    match day {
        ICalendarWeekday::Monday => Weekday::Mon,
        ICalendarWeekday::Tuesday => Weekday::Tue,
        ICalendarWeekday::Wednesday => Weekday::Wed,
        ICalendarWeekday::Thursday => Weekday::Thu,
        ICalendarWeekday::Friday => Weekday::Fri,
        ICalendarWeekday::Saturday => Weekday::Sat,
        ICalendarWeekday::Sunday => Weekday::Sun,
    }
}
