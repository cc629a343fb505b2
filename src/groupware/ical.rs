//! iCalendar ingest: what CalDAV PUT (and later JMAP) calls to check a calendar object
//! resource against RFC 4791 §4.1 and §5.3.2.1, and to extract what the store indexes: the
//! UID, the component type, the UTC bounds and, for recurring objects, the instances up to a
//! horizon. `overlaps` re-checks one object against a time range (RFC 4791 §9.9) for the
//! candidates an index query found.
//!
//! Pure: bytes in, values out; no I/O, SQL or HTTP types. Parsing and RRULE iteration are
//! calcard's; this module does the rest itself because calcard's `expand_dates` does not fit
//! (see `rrule`): EXDATE (also of RDATE instances), RECURRENCE-ID overrides (matched on the
//! instance, whatever their SEQUENCE; RANGE=THISANDFUTURE shifts the later instances), DTSTART
//! as the first instance, durations (DTEND/DUE exact, DURATION nominal days, the RFC 5545
//! defaults), the horizon and the bounds on work, and VTIMEZONE evaluation (see `tz`).
//!
//! Time rules:
//! - Floating times (no TZID, no `Z`) and DATE values (all-day) are read in a `FloatingZone`
//!   (RFC 4791 §9.9, §7.3). `ingest` reads them as UTC: the index stores a floating event as
//!   if it happened in UTC, whatever calendar it is in. The query functions (`overlaps`,
//!   `filter::matches`, `expand`, `freebusy`) take the zone of the query: its
//!   CALDAV:timezone or CALDAV:timezone-id (RFC 7809), else the calendar's
//!   CALDAV:calendar-timezone(-id), else UTC; CalDAV resolves it once per query. So that the
//!   index still finds every candidate, a query in another zone widens its index window by
//!   `FloatingZone::reach` (14 hours for IANA zones) and re-checks each candidate in the
//!   zone. Objects without floating values cost nothing extra: the zone is only consulted
//!   when a value has neither TZID nor `Z`.
//! - A floating DTEND, DUE, RDATE, EXDATE or RECURRENCE-ID in a component whose DTSTART has a
//!   TZID is read in DTSTART's zone (what the clients that write them mean).
//! - A UTC UNTIL is compared in UTC (calcard compares it with the wall clock, which drops the
//!   last instance east of Greenwich).
//!
//! Bounds: input larger than `max_bytes` is refused before parsing; a COUNT, or explicit
//! RDATEs and overrides, above `max_instances` are refused (CALDAV:max-instances); any other
//! rule is expanded only up to `horizon_end` and at most `max_instances` occurrences, with
//! `truncated` set, and an open-ended rule gets `last_end = None`. One expansion does at most
//! `max_instances + 1` iterator steps, and calcard's iterator gives up after 100,000 empty
//! periods, so a FREQ=SECONDLY rule, COUNT=10000000 or long BYxxx lists finish in bounded time
//! and memory: 2-30 ms each on the 2-core development machine, also in test builds, where
//! calcard is compiled with opt-level 3 (Cargo.toml); impossible rules such as
//! FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 are the slow end, spending calcard's empty periods.

mod rrule;
pub(super) mod tz;
pub mod vtimezones;

#[cfg(test)]
mod tests;

use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarDuration, ICalendarEntry,
    ICalendarParameterName, ICalendarPeriod, ICalendarProperty, ICalendarRecurrenceRule,
    ICalendarValue,
};
use calcard::{Entry, Parser};
use chrono::{NaiveDateTime, TimeDelta};
use std::collections::HashSet;
use std::sync::Arc;
pub use tz::FloatingZone;
use tz::{Zone, Zones};

/// The main component type of a calendar object resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    Event,
    Todo,
    Journal,
}

impl ComponentKind {
    /// The iCalendar name (`VEVENT`, `VTODO`, `VJOURNAL`), as in
    /// CALDAV:supported-calendar-component-set.
    pub fn name(self) -> &'static str {
        match self {
            ComponentKind::Event => "VEVENT",
            ComponentKind::Todo => "VTODO",
            ComponentKind::Journal => "VJOURNAL",
        }
    }
}

/// What a calendar collection accepts (RFC 4791 §5.2.5-§5.2.8) and how far recurrences are
/// expanded for the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestLimits {
    /// CALDAV:max-resource-size, in bytes.
    pub max_bytes: usize,
    /// CALDAV:max-instances; also the most occurrences one expansion produces.
    pub max_instances: usize,
    /// Unix seconds: recurrences are expanded for the index up to here.
    pub horizon_end: i64,
    /// CALDAV:min-date-time, unix seconds.
    pub min_date: i64,
    /// CALDAV:max-date-time, unix seconds.
    pub max_date: i64,
}

/// 1900-01-01T00:00:00Z.
const DEFAULT_MIN_DATE: i64 = -2_208_988_800;
/// 2100-12-31T23:59:59Z.
const DEFAULT_MAX_DATE: i64 = 4_133_980_799;
const FIVE_YEARS: i64 = 5 * 366 * 86_400;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the instants iCalendar can write.
const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

impl Default for IngestLimits {
    /// 1 MiB, 5,000 instances, horizon five years from now (reads the clock), dates from
    /// 1900-01-01 to 2100-12-31 UTC.
    fn default() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        IngestLimits {
            max_bytes: 1024 * 1024,
            max_instances: 5_000,
            horizon_end: now.saturating_add(FIVE_YEARS),
            min_date: DEFAULT_MIN_DATE,
            max_date: DEFAULT_MAX_DATE,
        }
    }
}

/// What the store indexes about one calendar object resource.
///
/// For an index filter, `(first_start is None or first_start <= q_end) and (last_end is None
/// or last_end >= q_start)` finds a superset of the objects that `overlaps` a query range
/// `[q_start, q_end)`; re-check the candidates with `overlaps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarObject {
    pub uid: String,
    pub kind: ComponentKind,
    /// UTC start of the earliest instance; None when unbounded below (a VTODO without any
    /// date, which matches every range) or when there is no instance at all (a VJOURNAL
    /// without DTSTART, a recurrence whose every instance is excluded).
    pub first_start: Option<i64>,
    /// UTC end of the last instance; None when the recurrence never ends (open-ended RRULE,
    /// or more instances than were expanded) or there is no bound (see `first_start`). For a
    /// rule with an UNTIL past the horizon, an upper bound derived from UNTIL.
    pub last_end: Option<i64>,
    /// The object has RRULE, RDATE or RECURRENCE-ID components.
    pub recurring: bool,
    /// (start, end) in UTC of each instance starting up to the horizon, ascending; empty when
    /// not recurring. An instance with no duration has start == end.
    pub instances: Vec<(i64, i64)>,
    /// `instances` is not the whole recurrence set: expansion stopped at the horizon or at
    /// `max_instances`, or an explicit instance lies past the horizon.
    pub truncated: bool,
}

/// Which of CALDAV:min-date-time and CALDAV:max-date-time a date broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateBound {
    Min,
    Max,
}

/// Why a calendar object resource is refused; each maps to a RFC 4791 §5.3.2.1 precondition
/// (`precondition()`), and the message says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// Unparsable, not UTF-8, not one VCALENDAR, broken dates or rules.
    #[error("not valid iCalendar data: {0}")]
    NotCalendarData(String),
    /// Parsable, but not what a calendar collection may hold (METHOD, several UIDs, no UID,
    /// several component types, duplicate instances).
    #[error("not a valid calendar object resource: {0}")]
    NotCalendarObject(String),
    /// Only components a calendar collection does not store (VFREEBUSY, VAVAILABILITY).
    #[error("unsupported calendar component: {0}")]
    UnsupportedComponent(String),
    #[error("calendar object larger than the maximum resource size")]
    TooLarge,
    #[error("a date is outside the range this server accepts")]
    DateOutOfRange(DateBound),
    #[error("the recurrence has more instances than this server accepts")]
    TooManyInstances,
}

impl IngestError {
    /// The local name of the CALDAV precondition element (RFC 4791 §5.3.2.1) to report.
    pub fn precondition(&self) -> &'static str {
        match self {
            IngestError::NotCalendarData(_) => "valid-calendar-data",
            IngestError::NotCalendarObject(_) => "valid-calendar-object-resource",
            IngestError::UnsupportedComponent(_) => "supported-calendar-component",
            IngestError::TooLarge => "max-resource-size",
            IngestError::DateOutOfRange(DateBound::Min) => "min-date-time",
            IngestError::DateOutOfRange(DateBound::Max) => "max-date-time",
            IngestError::TooManyInstances => "max-instances",
        }
    }
}

pub(super) fn bad_data(message: impl Into<String>) -> IngestError {
    IngestError::NotCalendarData(message.into())
}

fn bad_object(message: impl Into<String>) -> IngestError {
    IngestError::NotCalendarObject(message.into())
}

/// Checks one calendar object resource and extracts its index data.
pub fn ingest(text: &[u8], limits: &IngestLimits) -> Result<CalendarObject, IngestError> {
    let calendar = parse(text, limits)?;
    // The index reads floating times as UTC; queries widen their window (`FloatingZone`).
    let zones = &mut Zones::new(&calendar, &FloatingZone::utc());
    let model = Model::build(&calendar, zones, limits)?;
    let expanded = model.expand(
        Window::Ingest {
            horizon: limits.horizon_end,
        },
        limits.max_instances,
    )?;
    let mut spans = expanded.spans;
    spans.sort_by_key(|span| (span.start, span.end));
    for span in &spans {
        if span.start != i64::MIN && span.start < limits.min_date {
            return Err(IngestError::DateOutOfRange(DateBound::Min));
        }
        if span.end != i64::MAX && span.end > limits.max_date {
            return Err(IngestError::DateOutOfRange(DateBound::Max));
        }
    }
    let first_start = spans
        .iter()
        .map(|span| span.start)
        .min()
        .filter(|start| *start != i64::MIN);
    let max_end = spans.iter().map(|span| span.end).max();
    let last_end = match (expanded.complete, expanded.until_bound) {
        (true, _) => max_end,
        (false, Some(bound)) => max_end.map(|end| end.max(bound)).or(Some(bound)),
        (false, None) => None,
    }
    .filter(|end| *end != i64::MAX);
    let recurring = model.recurring();
    let beyond = spans
        .iter()
        .any(|span| span.start > limits.horizon_end && span.start != i64::MAX);
    let (instances, truncated) = if recurring {
        let instances = spans
            .iter()
            .filter(|span| span.start <= limits.horizon_end)
            .map(|span| (span.start, span.end))
            .collect();
        (instances, !expanded.complete || beyond)
    } else {
        (Vec::new(), false)
    };
    Ok(CalendarObject {
        uid: model.uid,
        kind: model.kind,
        first_start,
        last_end,
        recurring,
        instances,
        truncated,
    })
}

/// True when the object has an instance overlapping `[start, end)` under RFC 4791 §9.9:
/// VEVENT with DTEND, DURATION or neither (DATE: one day; DATE-TIME: an instant), VTODO by
/// its DTSTART/DURATION/DUE/COMPLETED/CREATED table, VJOURNAL by its DTSTART. Recurring
/// objects are expanded near the range only (whole rule periods are skipped), with the same
/// bound on work as `ingest`; when that bound is hit first, the answer is true (a superset).
/// Floating date-times and DATE values are read in `floating`.
pub fn overlaps(
    text: &[u8],
    start: i64,
    end: i64,
    limits: &IngestLimits,
    floating: &FloatingZone,
) -> Result<bool, IngestError> {
    let calendar = parse(text, limits)?;
    let zones = &mut Zones::new(&calendar, floating);
    let model = Model::build(&calendar, zones, limits)?;
    let expanded = model.expand(Window::Query { start, end }, limits.max_instances)?;
    Ok(expanded.hit_budget || expanded.spans.iter().any(|span| span.overlaps(start, end)))
}

/// Parses `text` as exactly one VCALENDAR.
pub(super) fn parse(text: &[u8], limits: &IngestLimits) -> Result<ICalendar, IngestError> {
    if text.len() > limits.max_bytes {
        return Err(IngestError::TooLarge);
    }
    let text = std::str::from_utf8(text).map_err(|_| bad_data("not UTF-8"))?;
    let mut parser = Parser::new(text);
    let calendar = match parser.entry() {
        Entry::ICalendar(calendar) => calendar,
        Entry::Eof => return Err(bad_data("empty")),
        Entry::VCard(_) => return Err(bad_data("a vCard, not an iCalendar object")),
        other => return Err(bad_data(entry_problem(&other))),
    };
    match parser.entry() {
        Entry::Eof => {}
        Entry::ICalendar(_) | Entry::VCard(_) => {
            return Err(bad_data("more than one object in the body"));
        }
        other => return Err(bad_data(entry_problem(&other))),
    }
    if calendar
        .components
        .first()
        .is_none_or(|root| root.component_type != ICalendarComponentType::VCalendar)
    {
        return Err(bad_data("the object is not a VCALENDAR"));
    }
    Ok(calendar)
}

fn entry_problem(entry: &Entry) -> String {
    match entry {
        Entry::InvalidLine(line) => {
            let line: String = line.chars().take(60).collect();
            format!("unexpected line outside VCALENDAR: {line:?}")
        }
        Entry::UnexpectedComponentEnd { expected, found } => {
            format!(
                "END:{} where END:{} was expected",
                found.as_str(),
                expected.as_str()
            )
        }
        Entry::UnterminatedComponent(name) => format!("BEGIN:{name} without END"),
        Entry::TooManyComponents => "too many components".to_string(),
        _ => "unexpected content".to_string(),
    }
}

/// A date or date-time read in its zone.
#[derive(Debug, Clone)]
pub(super) struct Time {
    pub(super) local: NaiveDateTime,
    pub(super) date_only: bool,
    pub(super) zone: Arc<Zone>,
    pub(super) utc: i64,
}

/// How an instance's end follows from its start.
#[derive(Debug, Clone, Copy)]
enum EndSpec {
    /// A fixed number of seconds (DTEND or DUE minus DTSTART: "exact duration", RFC 5545).
    Exact(i64),
    /// DURATION: whole days on the wall clock, then seconds.
    Nominal { days: i64, seconds: i64 },
}

/// The shape of the instances of one component: end and the RFC 4791 §9.9 comparison.
#[derive(Debug, Clone, Copy)]
struct Template {
    end: EndSpec,
    /// The range's end may equal the instance start (`end >= s` rather than `end > s`).
    incl_start: bool,
    /// The range's start may equal the instance end (`start <= e` rather than `start < e`).
    incl_end: bool,
}

impl Template {
    fn span(&self, at: &Time) -> Span {
        let end = match self.end {
            EndSpec::Exact(seconds) => at.utc.saturating_add(seconds),
            EndSpec::Nominal { days, seconds } => {
                let day_end = TimeDelta::try_days(days)
                    .and_then(|days| at.local.checked_add_signed(days))
                    .map(|local| at.zone.to_utc(local))
                    .unwrap_or(at.utc.saturating_add(days.saturating_mul(86_400)));
                day_end.saturating_add(seconds)
            }
        };
        Span {
            start: at.utc,
            end,
            incl_start: self.incl_start,
            incl_end: self.incl_end,
        }
    }

    /// At least as long as any instance (for bounds).
    fn max_length(&self) -> i64 {
        match self.end {
            EndSpec::Exact(seconds) => seconds.max(0),
            EndSpec::Nominal { days, seconds } => days
                .saturating_mul(86_400)
                .saturating_add(seconds)
                .saturating_add(3_600)
                .max(0),
        }
    }
}

/// One instance in UTC with its §9.9 comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) incl_start: bool,
    pub(super) incl_end: bool,
}

impl Span {
    const ALWAYS: Span = Span {
        start: i64::MIN,
        end: i64::MAX,
        incl_start: true,
        incl_end: true,
    };

    pub(super) fn overlaps(&self, start: i64, end: i64) -> bool {
        let before_end = if self.incl_end {
            start <= self.end
        } else {
            start < self.end
        };
        let after_start = if self.incl_start {
            end >= self.start
        } else {
            end > self.start
        };
        before_end && after_start
    }
}

/// An RDATE: an instance start (the master's duration applies), or a PERIOD (its own).
#[derive(Debug)]
struct Rdate {
    start: Time,
    period: Option<Span>,
}

/// One VEVENT/VTODO/VJOURNAL, reduced to what the index needs.
#[derive(Debug)]
pub(super) struct Component {
    /// Index of the raw component in `ICalendar::components`.
    pub(super) index: usize,
    /// Where instances start: DTSTART; DUE for a VTODO without DTSTART; RECURRENCE-ID for an
    /// override without either.
    anchor: Option<Time>,
    template: Option<Template>,
    /// The span of a component without anchor (VTODO with only COMPLETED/CREATED, or none).
    fixed: Option<Span>,
    rule: Option<ICalendarRecurrenceRule>,
    /// The rule's UNTIL on the anchor's wall clock.
    until: Option<NaiveDateTime>,
    rdates: Vec<Rdate>,
    exdates: Vec<Time>,
    pub(super) recurrence_id: Option<Time>,
    this_and_future: bool,
}

impl Component {
    fn span(&self) -> Option<Span> {
        match (&self.anchor, &self.template) {
            (Some(anchor), Some(template)) => Some(template.span(anchor)),
            _ => self.fixed,
        }
    }
}

/// The object: one UID, one component type, at most one master and its overrides.
#[derive(Debug)]
pub(super) struct Model {
    pub(super) uid: String,
    pub(super) kind: ComponentKind,
    pub(super) master: Option<Component>,
    pub(super) overrides: Vec<Component>,
}

pub(super) enum Window {
    Ingest { horizon: i64 },
    Query { start: i64, end: i64 },
}

pub(super) struct Expanded {
    pub(super) spans: Vec<Span>,
    /// Where each of `spans` comes from (same length and order).
    pub(super) origins: Vec<Origin>,
    /// Every instance is in `spans`.
    complete: bool,
    /// Expansion stopped at the budget rather than at the window's end.
    pub(super) hit_budget: bool,
    /// When not complete but the rule has an UNTIL: no instance ends after this.
    until_bound: Option<i64>,
}

/// The component an instance comes from.
#[derive(Debug, Clone)]
pub(super) enum Origin {
    /// An occurrence of the master (DTSTART, RRULE or RDATE; moved by a THISANDFUTURE
    /// override if one applies): its original start, the RECURRENCE-ID it would have.
    Master(Time),
    /// `Model::overrides[i]`.
    Override(usize),
    /// The master's fixed span (a VTODO without dates).
    Fixed,
}

impl Origin {
    /// Index in `ICalendar::components` of the component the instance belongs to.
    pub(super) fn component(&self, model: &Model) -> Option<usize> {
        match self {
            Origin::Master(_) | Origin::Fixed => model.master.as_ref().map(|m| m.index),
            Origin::Override(i) => model.overrides.get(*i).map(|o| o.index),
        }
    }
}

impl Model {
    pub(super) fn build(
        calendar: &ICalendar,
        zones: &mut Zones<'_>,
        limits: &IngestLimits,
    ) -> Result<Model, IngestError> {
        let root = calendar
            .components
            .first()
            .ok_or_else(|| bad_data("the object is not a VCALENDAR"))?;
        if root.has_property(&ICalendarProperty::Method) {
            return Err(bad_object(
                "METHOD is not allowed in a calendar collection (RFC 4791 §4.1)",
            ));
        }
        let mut main = Vec::new();
        let mut unsupported = Vec::new();
        for id in &root.component_ids {
            let Some(component) = calendar.components.get(*id as usize) else {
                continue;
            };
            let index = *id as usize;
            match &component.component_type {
                ICalendarComponentType::VEvent => {
                    main.push((ComponentKind::Event, component, index))
                }
                ICalendarComponentType::VTodo => main.push((ComponentKind::Todo, component, index)),
                ICalendarComponentType::VJournal => {
                    main.push((ComponentKind::Journal, component, index))
                }
                ICalendarComponentType::VFreebusy => unsupported.push("VFREEBUSY"),
                ICalendarComponentType::VAvailability => unsupported.push("VAVAILABILITY"),
                // VTIMEZONE is read through `Zones`; X- and unknown components are kept as
                // data but do not count.
                _ => {}
            }
        }
        let Some((kind, _, _)) = main.first().copied() else {
            return Err(match unsupported.first() {
                Some(name) => IngestError::UnsupportedComponent(format!(
                    "{name} cannot be stored in a calendar collection"
                )),
                None => bad_object("no VEVENT, VTODO or VJOURNAL"),
            });
        };
        if let Some(name) = unsupported.first() {
            return Err(bad_object(format!(
                "{name} mixed with {} in one object",
                kind.name()
            )));
        }
        if let Some((other, _, _)) = main.iter().find(|(other, _, _)| *other != kind) {
            return Err(bad_object(format!(
                "{} and {} in one object",
                kind.name(),
                other.name()
            )));
        }
        let explicit: usize = main.len().saturating_sub(1);
        if explicit > limits.max_instances {
            return Err(IngestError::TooManyInstances);
        }
        let mut uid: Option<&str> = None;
        let mut master = None;
        let mut overrides: Vec<Component> = Vec::new();
        for (_, raw, index) in &main {
            let this_uid = raw
                .uid()
                .map(str::trim)
                .filter(|uid| !uid.is_empty())
                .ok_or_else(|| bad_object(format!("a {} has no UID", kind.name())))?;
            match uid {
                None => uid = Some(this_uid),
                Some(uid) if uid != this_uid => {
                    return Err(bad_object(format!(
                        "components with different UIDs ({uid:?}, {this_uid:?})"
                    )));
                }
                Some(_) => {}
            }
            let mut component = read_component(raw, kind, zones)?;
            component.index = *index;
            if component.recurrence_id.is_some() {
                overrides.push(component);
            } else if master.is_some() {
                return Err(bad_object(format!(
                    "two {} without RECURRENCE-ID share the UID",
                    kind.name()
                )));
            } else {
                master = Some(component);
            }
        }
        let mut seen = HashSet::new();
        for component in &overrides {
            if let Some(rid) = &component.recurrence_id
                && !seen.insert((rid.utc, rid.date_only))
            {
                return Err(bad_object("two overrides with the same RECURRENCE-ID"));
            }
        }
        if let Some(master) = &master {
            if let Some(rule) = &master.rule
                && rule
                    .count
                    .is_some_and(|count| count as usize > limits.max_instances)
            {
                return Err(IngestError::TooManyInstances);
            }
            if master.rdates.len().saturating_add(explicit) > limits.max_instances {
                return Err(IngestError::TooManyInstances);
            }
            if master.rule.is_some() && master.anchor.is_none() {
                return Err(bad_data("RRULE without DTSTART"));
            }
        }
        Ok(Model {
            uid: uid.unwrap_or_default().to_string(),
            kind,
            master,
            overrides,
        })
    }

    pub(super) fn recurring(&self) -> bool {
        !self.overrides.is_empty()
            || self
                .master
                .as_ref()
                .is_some_and(|master| master.rule.is_some() || !master.rdates.is_empty())
    }

    pub(super) fn expand(&self, window: Window, budget: usize) -> Result<Expanded, IngestError> {
        let mut spans: Vec<Span> = Vec::new();
        let mut origins: Vec<Origin> = Vec::new();
        for (i, component) in self.overrides.iter().enumerate() {
            if let Some(span) = component.span() {
                spans.push(span);
                origins.push(Origin::Override(i));
            }
        }
        let Some(master) = &self.master else {
            return Ok(Expanded {
                spans,
                origins,
                complete: true,
                hit_budget: false,
                until_bound: None,
            });
        };
        let (Some(anchor), Some(template)) = (&master.anchor, &master.template) else {
            if let Some(fixed) = master.fixed {
                spans.push(fixed);
                origins.push(Origin::Fixed);
            }
            return Ok(Expanded {
                spans,
                origins,
                complete: true,
                hit_budget: false,
                until_bound: None,
            });
        };

        // THISANDFUTURE overrides: from their RECURRENCE-ID on, instances move by the
        // override's shift and take its length.
        let mut futures: Vec<(i64, i64, Span)> = self
            .overrides
            .iter()
            .filter(|o| o.this_and_future)
            .filter_map(|o| Some((o.recurrence_id.as_ref()?.utc, o.span()?)))
            .map(|(rid, span)| (rid, span.start.saturating_sub(rid), span))
            .collect();
        futures.sort_by_key(|(rid, _, _)| *rid);
        let max_shift = futures
            .iter()
            .map(|(_, shift, _)| *shift)
            .max()
            .unwrap_or(0);
        let min_shift = futures
            .iter()
            .map(|(_, shift, _)| *shift)
            .min()
            .unwrap_or(0);
        let max_length = futures
            .iter()
            .map(|(_, _, span)| span.end.saturating_sub(span.start))
            .chain([template.max_length()])
            .max()
            .unwrap_or(0)
            .max(0);

        // Occurrences of the master: DTSTART, the RRULE, RDATEs.
        let mut occurrences: Vec<Time> = vec![anchor.clone()];
        let mut complete = true;
        let mut hit_budget = false;
        let mut until_bound = None;
        if let Some(rule) = &master.rule {
            let (cut, target) = match window {
                Window::Ingest { horizon } => (horizon, None),
                Window::Query { start, end } => (
                    end.saturating_add(min_shift.saturating_neg().max(0)),
                    Some(
                        start
                            .saturating_sub(max_length)
                            .saturating_sub(max_shift.max(0))
                            .saturating_sub(2 * 86_400),
                    ),
                ),
            };
            let zone = &anchor.zone;
            // Years 1 to 9999, which iCalendar can write and calcard can iterate.
            let cut = cut.clamp(FIRST_SECOND, LAST_SECOND);
            let cut_local = zone
                .to_local(cut)
                .checked_add_signed(TimeDelta::days(1))
                .unwrap_or(NaiveDateTime::MAX);
            let r = rrule::Rule {
                rule,
                dtstart: anchor.local,
                date_only: anchor.date_only,
                until: master.until,
            };
            let skipped = target.and_then(|target| {
                let target = target.clamp(FIRST_SECOND, LAST_SECOND);
                rrule::skip_ahead(&r, zone.to_local(target))
            });
            let expansion = rrule::expand(
                &r,
                skipped.as_ref().map(|(start, rule)| (*start, rule)),
                cut_local,
                budget,
            )
            .map_err(bad_data)?;
            complete = expansion.complete;
            hit_budget = expansion.hit_budget;
            if !complete && let Some(until) = master.until {
                until_bound = Some(
                    zone.to_utc(until)
                        .saturating_add(max_length)
                        .saturating_add(max_shift.max(0))
                        .saturating_add(86_400),
                );
            }
            occurrences.extend(expansion.starts.into_iter().map(|local| Time {
                local,
                date_only: anchor.date_only,
                zone: zone.clone(),
                utc: zone.to_utc(local),
            }));
        }
        let mut occurrences: Vec<(Time, Option<Span>)> =
            occurrences.into_iter().map(|time| (time, None)).collect();
        occurrences.extend(
            master
                .rdates
                .iter()
                .map(|rdate| (rdate.start.clone(), rdate.period)),
        );

        // EXDATE and overrides, matched by instant, or by day when either side is a DATE.
        let by_day = |time: &Time| anchor.date_only || time.date_only;
        let mut ex_instants = HashSet::new();
        let mut ex_days = HashSet::new();
        for exdate in &master.exdates {
            if by_day(exdate) {
                ex_days.insert(exdate.local.date());
            } else {
                ex_instants.insert(exdate.utc);
            }
        }
        let mut rid_instants = HashSet::new();
        let mut rid_days = HashSet::new();
        for component in &self.overrides {
            if let Some(rid) = &component.recurrence_id {
                if by_day(rid) {
                    rid_days.insert(rid.local.date());
                } else {
                    rid_instants.insert(rid.utc);
                }
            }
        }
        let mut seen = HashSet::new();
        for (occurrence, period) in &occurrences {
            if !seen.insert(occurrence.utc) {
                continue;
            }
            let day = occurrence.local.date();
            if ex_instants.contains(&occurrence.utc) || ex_days.contains(&day) {
                continue;
            }
            if rid_instants.contains(&occurrence.utc) || rid_days.contains(&day) {
                continue;
            }
            let span = match period {
                Some(span) => *span,
                None => template.span(occurrence),
            };
            // The last THISANDFUTURE override before this instance, if any.
            origins.push(Origin::Master(occurrence.clone()));
            let after = futures.partition_point(|(rid, _, _)| *rid < occurrence.utc);
            let future = after.checked_sub(1).and_then(|i| futures.get(i));
            spans.push(match future {
                Some((_, shift, shape)) => Span {
                    start: span.start.saturating_add(*shift),
                    end: span
                        .start
                        .saturating_add(*shift)
                        .saturating_add(shape.end.saturating_sub(shape.start)),
                    incl_start: shape.incl_start,
                    incl_end: shape.incl_end,
                },
                None => span,
            });
        }
        Ok(Expanded {
            spans,
            origins,
            complete,
            hit_budget,
            until_bound,
        })
    }
}

/// Reads one main component's dates, rule and overrides into a `Component`.
fn read_component(
    raw: &ICalendarComponent,
    kind: ComponentKind,
    zones: &mut Zones<'_>,
) -> Result<Component, IngestError> {
    let find = |property: ICalendarProperty| raw.property(&property);
    let dtstart_entry = find(ICalendarProperty::Dtstart);
    // The zone floating values of this component are read in (see the module doc).
    let home = match dtstart_entry.and_then(ICalendarEntry::tz_id) {
        Some(tzid) => zones.get(tzid),
        None => zones.floating(),
    };
    let read = |entry: &ICalendarEntry, zones: &mut Zones<'_>| -> Result<Time, IngestError> {
        match entry.values.first() {
            Some(ICalendarValue::PartialDateTime(value)) => {
                read_time(value, entry.tz_id(), &home, zones, &entry.name)
            }
            _ => Err(bad_data(format!("{} is not a date", entry.name.as_str()))),
        }
    };
    let dtstart = dtstart_entry.map(|e| read(e, zones)).transpose()?;
    let dtend = find(ICalendarProperty::Dtend)
        .map(|e| read(e, zones))
        .transpose()?;
    let due = find(ICalendarProperty::Due)
        .map(|e| read(e, zones))
        .transpose()?;
    let recurrence_id_entry = find(ICalendarProperty::RecurrenceId);
    let recurrence_id = recurrence_id_entry.map(|e| read(e, zones)).transpose()?;
    // RANGE has one legal value, THISANDFUTURE (RFC 5545 §3.2.13).
    let this_and_future = recurrence_id_entry
        .is_some_and(|entry| entry.has_parameter(&ICalendarParameterName::Range));
    let duration = match find(ICalendarProperty::Duration) {
        None => None,
        Some(entry) => match entry.values.first() {
            Some(ICalendarValue::Duration(duration)) => Some(duration.clone()),
            _ => return Err(bad_data("DURATION is not a duration")),
        },
    };
    if duration.as_ref().is_some_and(|d| d.neg && !d.is_empty()) {
        return Err(bad_data("negative DURATION"));
    }
    let utc_of = |property: ICalendarProperty, zones: &mut Zones<'_>| {
        find(property)
            .map(|e| read(e, zones).map(|t| t.utc))
            .transpose()
    };

    // RFC 4791 §9.9, per component type.
    let mut fixed = None;
    let (anchor, template) = match kind {
        ComponentKind::Event => {
            let anchor = dtstart.or_else(|| recurrence_id.clone());
            let template = match &anchor {
                None => None,
                Some(start) => Some(if let Some(end) = &dtend {
                    let seconds = end.utc.saturating_sub(start.utc);
                    if seconds < 0 {
                        return Err(bad_data("DTEND before DTSTART"));
                    }
                    Template {
                        end: EndSpec::Exact(seconds),
                        incl_start: false,
                        incl_end: false,
                    }
                } else if let Some(duration) = &duration {
                    let end = nominal(duration);
                    let zero = duration.is_empty();
                    Template {
                        end,
                        incl_start: false,
                        incl_end: zero,
                    }
                } else if start.date_only {
                    Template {
                        end: EndSpec::Nominal {
                            days: 1,
                            seconds: 0,
                        },
                        incl_start: false,
                        incl_end: false,
                    }
                } else {
                    Template {
                        end: EndSpec::Exact(0),
                        incl_start: false,
                        incl_end: true,
                    }
                }),
            };
            if anchor.is_none() {
                return Err(bad_data("VEVENT without DTSTART"));
            }
            (anchor, template)
        }
        ComponentKind::Todo => match (dtstart, &due) {
            (Some(start), _) => {
                let template = if let Some(duration) = &duration {
                    Template {
                        end: nominal(duration),
                        incl_start: duration.is_empty(),
                        incl_end: true,
                    }
                } else if let Some(due) = &due {
                    let seconds = due.utc.saturating_sub(start.utc);
                    if seconds < 0 {
                        return Err(bad_data("DUE before DTSTART"));
                    }
                    Template {
                        end: EndSpec::Exact(seconds),
                        incl_start: seconds == 0,
                        incl_end: seconds == 0,
                    }
                } else {
                    Template {
                        end: EndSpec::Exact(0),
                        incl_start: false,
                        incl_end: true,
                    }
                };
                (Some(start), Some(template))
            }
            (None, Some(due)) => (
                Some(due.clone()),
                Some(Template {
                    end: EndSpec::Exact(0),
                    incl_start: true,
                    incl_end: false,
                }),
            ),
            (None, None) => {
                let completed = utc_of(ICalendarProperty::Completed, zones)?;
                let created = utc_of(ICalendarProperty::Created, zones)?;
                fixed = Some(match (completed, created) {
                    (Some(a), Some(b)) => Span {
                        start: a.min(b),
                        end: a.max(b),
                        incl_start: true,
                        incl_end: true,
                    },
                    (Some(at), None) => Span {
                        start: at,
                        end: at,
                        incl_start: true,
                        incl_end: true,
                    },
                    (None, Some(created)) => Span {
                        start: created,
                        end: i64::MAX,
                        incl_start: false,
                        incl_end: true,
                    },
                    (None, None) => Span::ALWAYS,
                });
                match &recurrence_id {
                    // An override without dates stands at its RECURRENCE-ID.
                    Some(rid) => (
                        Some(rid.clone()),
                        Some(Template {
                            end: EndSpec::Exact(0),
                            incl_start: false,
                            incl_end: true,
                        }),
                    ),
                    None => (None, None),
                }
            }
        },
        ComponentKind::Journal => {
            let anchor = dtstart.or_else(|| recurrence_id.clone());
            let template = anchor.as_ref().map(|start| {
                if start.date_only {
                    Template {
                        end: EndSpec::Nominal {
                            days: 1,
                            seconds: 0,
                        },
                        incl_start: false,
                        incl_end: false,
                    }
                } else {
                    Template {
                        end: EndSpec::Exact(0),
                        incl_start: false,
                        incl_end: true,
                    }
                }
            });
            (anchor, template)
        }
    };

    let mut rule = None;
    if let Some(entry) = find(ICalendarProperty::Rrule) {
        match entry.values.first() {
            Some(ICalendarValue::RecurrenceRule(value)) => rule = Some(value.as_ref().clone()),
            _ => return Err(bad_data("RRULE is not a recurrence rule")),
        }
    }
    let until = match (&rule, &anchor) {
        (Some(rule), Some(anchor)) => match &rule.until {
            None => None,
            Some(until) => {
                let value = until
                    .to_date_time()
                    .ok_or_else(|| bad_data("invalid UNTIL in RRULE"))?;
                Some(if until.has_time() {
                    match value.offset {
                        Some(offset) => anchor.zone.to_local(
                            value.date_time.and_utc().timestamp()
                                - i64::from(offset.local_minus_utc()),
                        ),
                        None => value.date_time,
                    }
                } else if anchor.date_only {
                    value.date_time
                } else {
                    // A DATE UNTIL with a DATE-TIME DTSTART: the whole day.
                    value
                        .date_time
                        .checked_add_signed(TimeDelta::seconds(86_399))
                        .unwrap_or(value.date_time)
                })
            }
        },
        _ => None,
    };
    if let Some(rule) = &rule
        && rule.interval == Some(0)
    {
        return Err(bad_data("RRULE with INTERVAL=0"));
    }

    let mut rdates = Vec::new();
    let mut exdates = Vec::new();
    for entry in &raw.entries {
        let is_rdate = match entry.name {
            ICalendarProperty::Rdate => true,
            ICalendarProperty::Exdate => false,
            _ => continue,
        };
        for value in &entry.values {
            match value {
                ICalendarValue::PartialDateTime(value) => {
                    let time = read_time(value, entry.tz_id(), &home, zones, &entry.name)?;
                    if is_rdate {
                        rdates.push(Rdate {
                            start: time,
                            period: None,
                        });
                    } else {
                        exdates.push(time);
                    }
                }
                ICalendarValue::Period(period) if is_rdate => {
                    let (start, end) =
                        read_period(period, entry.tz_id(), &home, zones, &entry.name)?;
                    let span = Span {
                        start: start.utc,
                        end,
                        incl_start: false,
                        incl_end: start.utc == end,
                    };
                    rdates.push(Rdate {
                        start,
                        period: Some(span),
                    });
                }
                _ => {
                    return Err(bad_data(format!(
                        "{} is not a list of dates",
                        entry.name.as_str()
                    )));
                }
            }
        }
    }

    Ok(Component {
        index: 0,
        anchor,
        template,
        fixed,
        rule,
        until,
        rdates,
        exdates,
        recurrence_id,
        this_and_future,
    })
}

/// A DURATION as whole wall-clock days plus seconds (RFC 5545 §3.3.6: "P1D" is a calendar
/// day, which is 23 or 25 hours across a DST change).
fn nominal(duration: &ICalendarDuration) -> EndSpec {
    let days = i64::from(duration.weeks) * 7 + i64::from(duration.days);
    let seconds = i64::from(duration.hours) * 3_600
        + i64::from(duration.minutes) * 60
        + i64::from(duration.seconds);
    if duration.neg {
        EndSpec::Exact(0)
    } else if days == 0 {
        EndSpec::Exact(seconds)
    } else {
        EndSpec::Nominal { days, seconds }
    }
}

/// Reads a date or date-time with its TZID (or `home` when floating, see the module doc;
/// DATE values in the floating zone).
pub(super) fn read_time(
    value: &calcard::common::PartialDateTime,
    tzid: Option<&str>,
    home: &Arc<Zone>,
    zones: &mut Zones<'_>,
    property: &ICalendarProperty,
) -> Result<Time, IngestError> {
    let parsed = value
        .to_date_time()
        .ok_or_else(|| bad_data(format!("{} is not a valid date", property.as_str())))?;
    let date_only = !value.has_time();
    let (local, zone) = if date_only {
        (parsed.date_time, zones.floating())
    } else if let Some(offset) = parsed.offset {
        let utc = parsed
            .date_time
            .checked_sub_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))
            .unwrap_or(parsed.date_time);
        (utc, zones.utc())
    } else if let Some(tzid) = tzid {
        (parsed.date_time, zones.get(tzid))
    } else {
        (parsed.date_time, home.clone())
    };
    let utc = zone.to_utc(local);
    Ok(Time {
        local,
        date_only,
        zone,
        utc,
    })
}

/// A PERIOD (start/end or start/duration) as its start and its UTC end; refused when it ends
/// before it starts.
pub(super) fn read_period(
    period: &ICalendarPeriod,
    tzid: Option<&str>,
    home: &Arc<Zone>,
    zones: &mut Zones<'_>,
    property: &ICalendarProperty,
) -> Result<(Time, i64), IngestError> {
    let (start, end) = match period {
        ICalendarPeriod::Range { start, end } => {
            let start = read_time(start, tzid, home, zones, property)?;
            let end = read_time(end, tzid, home, zones, property)?;
            (start, end.utc)
        }
        ICalendarPeriod::Duration { start, duration } => {
            let start = read_time(start, tzid, home, zones, property)?;
            let end = start.utc.saturating_add(duration.as_seconds());
            (start, end)
        }
    };
    if end < start.utc {
        return Err(bad_data(format!(
            "{} period ends before it starts",
            property.as_str()
        )));
    }
    Ok((start, end))
}

/// The PERIOD values of a property (FREEBUSY, RDATE) as UTC `(start, end)`; floating
/// times are read in the floating zone.
pub(super) fn period_values(
    entry: &ICalendarEntry,
    zones: &mut Zones<'_>,
) -> Result<Vec<(i64, i64)>, IngestError> {
    let floating = zones.floating();
    let mut out = Vec::new();
    for value in &entry.values {
        if let ICalendarValue::Period(period) = value {
            let (start, end) = read_period(period, entry.tz_id(), &floating, zones, &entry.name)?;
            out.push((start.utc, end));
        }
    }
    Ok(out)
}
