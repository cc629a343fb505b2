//! RFC 4791 §9.7 calendar-query filters (comp-filter, prop-filter, param-filter,
//! time-range, text-match) evaluated on one calendar object resource, and the text-match
//! collations (RFC 4790) that CardDAV's RFC 6352 filters reuse.
//!
//! Pure: bytes in, a yes/no out. Parsing, time zones, recurrence expansion and the §9.9
//! overlap rules are `ical`'s; this module walks the component tree and asks `ical` for the
//! instances of each component. Expansions are cached per query window, so the work for one
//! object is a few bounded expansions (the same bound as `ical::overlaps`), whatever the
//! number of components or sub-filters.
//!
//! Semantics:
//! - A comp-filter matches when some component of its name (a child of the component that
//!   matched the level above) satisfies every sub-filter; is-not-defined when there is none.
//!   The master and each override of a recurring object are separate components: a time-range
//!   on the master looks at its own instances (those not overridden), on an override at its
//!   own span. When expansion stops at `max_instances` before reaching the range, a master
//!   counts as overlapping (a superset, like `ical::overlaps`).
//! - Time-range on VALARM (§9.9): each trigger time (relative triggers from the start, or with
//!   RELATED=END the end, of each instance of the parent; absolute triggers as written; REPEAT
//!   and DURATION add repetitions) in `[start, end)`.
//! - Time-range on VFREEBUSY (§9.9): DTSTART/DTEND, else the FREEBUSY periods.
//! - Time-range on a property: some date(-time) value in `[start, end)` (a DATE value is its
//!   whole day; a PERIOD must overlap).
//! - Floating date-times and DATE values, in component and property time ranges alike, are
//!   read in the `FloatingZone` the caller passes (the query's or the calendar's time zone).
//! - Text-match: against each value (TEXT values unescaped; a list such as CATEGORIES matches
//!   when any value does), negate-condition inverts the result for that property. Values that
//!   are not text are matched in their iCalendar form (`20060104T140000Z`).

use super::ical::tz::Zones;
use super::ical::{self, Expanded, FloatingZone, IngestError, IngestLimits, Model, Window};
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameter,
    ICalendarParameterName, ICalendarParameterValue, ICalendarProperty, ICalendarRelated,
    ICalendarValue,
};
use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

/// A half-open range `[start, end)` of unix seconds (UTC); None is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl TimeRange {
    /// The range with unbounded sides as `i64::MIN` / `i64::MAX`.
    pub fn bounds(&self) -> (i64, i64) {
        (self.start.unwrap_or(i64::MIN), self.end.unwrap_or(i64::MAX))
    }
}

/// RFC 4790 collations that CalDAV and CardDAV servers must support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Collation {
    /// `i;ascii-casemap`: ASCII letters compare case-insensitively, everything else exactly.
    #[default]
    AsciiCasemap,
    /// `i;unicode-casemap`: compared after Unicode lower-casing.
    UnicodeCasemap,
    /// `i;octet`: exact.
    Octet,
}

impl Collation {
    /// The collation of a CALDAV/CARDDAV `collation` attribute; None for one not supported
    /// (the caller answers with the supported-collation precondition).
    pub fn from_name(name: &str) -> Option<Collation> {
        match name {
            "i;ascii-casemap" => Some(Collation::AsciiCasemap),
            "i;unicode-casemap" => Some(Collation::UnicodeCasemap),
            "i;octet" => Some(Collation::Octet),
            _ => None,
        }
    }

    fn fold<'a>(self, text: &'a str) -> Cow<'a, str> {
        match self {
            Collation::AsciiCasemap => Cow::Owned(text.to_ascii_lowercase()),
            Collation::UnicodeCasemap => Cow::Owned(text.to_lowercase()),
            Collation::Octet => Cow::Borrowed(text),
        }
    }
}

/// How the text is compared: CalDAV has only `Contains`; the others are RFC 6352's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchType {
    #[default]
    Contains,
    Equals,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    pub text: String,
    pub collation: Collation,
    pub negate: bool,
    pub match_type: MatchType,
}

impl TextMatch {
    /// Whether `value` matches, ignoring `negate`.
    pub fn matches_value(&self, value: &str) -> bool {
        let value = self.collation.fold(value);
        let text = self.collation.fold(&self.text);
        match self.match_type {
            MatchType::Contains => value.contains(text.as_ref()),
            MatchType::Equals => value == text,
            MatchType::StartsWith => value.starts_with(text.as_ref()),
            MatchType::EndsWith => value.ends_with(text.as_ref()),
        }
    }

    /// The text-match on one property (or parameter) with these values: some value matches,
    /// inverted by `negate`.
    pub fn test<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> bool {
        values.into_iter().any(|value| self.matches_value(value)) != self.negate
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub text_match: Option<TextMatch>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub text_match: Option<TextMatch>,
    pub param_filters: Vec<ParamFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub prop_filters: Vec<PropFilter>,
    pub comp_filters: Vec<CompFilter>,
}

/// `filter` is the top comp-filter (name VCALENDAR). All conditions at one level are ANDed
/// (RFC 4791 has no anyof). Time ranges read floating date-times and DATE values in
/// `floating` (RFC 4791 §9.9: the query's or the calendar's time zone).
pub fn matches(
    text: &[u8],
    filter: &CompFilter,
    limits: &IngestLimits,
    floating: &FloatingZone,
) -> Result<bool, IngestError> {
    let calendar = ical::parse(text, limits)?;
    let mut ctx = Ctx::new(&calendar, limits, floating)?;
    let Some(root) = calendar.components.first() else {
        return Ok(filter.is_not_defined);
    };
    if !root
        .component_type
        .as_str()
        .eq_ignore_ascii_case(&filter.name)
    {
        return Ok(filter.is_not_defined);
    }
    if filter.is_not_defined {
        return Ok(false);
    }
    ctx.component_matches(0, None, filter)
}

/// One object under evaluation.
struct Ctx<'a> {
    calendar: &'a ICalendar,
    zones: Zones<'a>,
    limits: &'a IngestLimits,
    /// None for an object without VEVENT/VTODO/VJOURNAL (a VFREEBUSY, say).
    model: Option<Model>,
    expansions: HashMap<(i64, i64), Rc<Expanded>>,
    /// How far any alarm of the object triggers from its instance, at most.
    alarm_reach: Option<i64>,
}

impl<'a> Ctx<'a> {
    fn new(
        calendar: &'a ICalendar,
        limits: &'a IngestLimits,
        floating: &FloatingZone,
    ) -> Result<Ctx<'a>, IngestError> {
        let mut zones = Zones::new(calendar, floating);
        let model = match Model::build(calendar, &mut zones, limits) {
            Ok(model) => Some(model),
            Err(IngestError::UnsupportedComponent(_)) => None,
            Err(e) => return Err(e),
        };
        Ok(Ctx {
            calendar,
            zones,
            limits,
            model,
            expansions: HashMap::new(),
            alarm_reach: None,
        })
    }

    fn component(&self, index: usize) -> Option<&'a ICalendarComponent> {
        self.calendar.components.get(index)
    }

    fn component_matches(
        &mut self,
        index: usize,
        parent: Option<usize>,
        filter: &CompFilter,
    ) -> Result<bool, IngestError> {
        let Some(component) = self.component(index) else {
            return Ok(false);
        };
        if let Some(range) = &filter.time_range
            && !self.component_in_range(index, component, parent, range)?
        {
            return Ok(false);
        }
        for prop_filter in &filter.prop_filters {
            if !self.prop_matches(component, prop_filter)? {
                return Ok(false);
            }
        }
        for sub in &filter.comp_filters {
            let calendar = self.calendar;
            let mut children = component
                .component_ids
                .iter()
                .map(|id| *id as usize)
                .filter(|id| {
                    calendar.components.get(*id).is_some_and(|child| {
                        child
                            .component_type
                            .as_str()
                            .eq_ignore_ascii_case(&sub.name)
                    })
                });
            if sub.is_not_defined {
                if children.next().is_some() {
                    return Ok(false);
                }
                continue;
            }
            let mut found = false;
            for child in children {
                if self.component_matches(child, Some(index), sub)? {
                    found = true;
                    break;
                }
            }
            if !found {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The object's instances near `[start, end)`, expanded once per window.
    fn expansion(&mut self, start: i64, end: i64) -> Result<Option<Rc<Expanded>>, IngestError> {
        let Some(model) = &self.model else {
            return Ok(None);
        };
        if let Some(expanded) = self.expansions.get(&(start, end)) {
            return Ok(Some(expanded.clone()));
        }
        let expanded =
            Rc::new(model.expand(Window::Query { start, end }, self.limits.max_instances)?);
        self.expansions.insert((start, end), expanded.clone());
        Ok(Some(expanded))
    }

    fn is_master(&self, index: usize) -> bool {
        self.model
            .as_ref()
            .and_then(|model| model.master.as_ref())
            .is_some_and(|master| master.index == index)
    }

    fn component_in_range(
        &mut self,
        index: usize,
        component: &ICalendarComponent,
        parent: Option<usize>,
        range: &TimeRange,
    ) -> Result<bool, IngestError> {
        let (start, end) = range.bounds();
        match component.component_type {
            ICalendarComponentType::VEvent
            | ICalendarComponentType::VTodo
            | ICalendarComponentType::VJournal => {
                let Some(expanded) = self.expansion(start, end)? else {
                    return Ok(false);
                };
                if expanded.hit_budget && self.is_master(index) {
                    return Ok(true);
                }
                let Some(model) = &self.model else {
                    return Ok(false);
                };
                Ok(expanded
                    .spans
                    .iter()
                    .zip(&expanded.origins)
                    .any(|(span, origin)| {
                        origin.component(model) == Some(index) && span.overlaps(start, end)
                    }))
            }
            ICalendarComponentType::VFreebusy => self.freebusy_in_range(component, start, end),
            ICalendarComponentType::VAlarm => self.alarm_in_range(component, parent, start, end),
            _ => Ok(false),
        }
    }

    /// RFC 4791 §9.9 for VFREEBUSY.
    fn freebusy_in_range(
        &mut self,
        component: &ICalendarComponent,
        start: i64,
        end: i64,
    ) -> Result<bool, IngestError> {
        let floating = self.zones.floating();
        let instant = |property: ICalendarProperty, zones: &mut Zones<'_>| match component
            .property(&property)
            .and_then(|entry| Some((entry, entry.values.first()?)))
        {
            Some((entry, ICalendarValue::PartialDateTime(value))) => {
                ical::read_time(value, entry.tz_id(), &floating, zones, &entry.name)
                    .map(|t| Some(t.utc))
            }
            _ => Ok(None),
        };
        let dtstart = instant(ICalendarProperty::Dtstart, &mut self.zones)?;
        let dtend = instant(ICalendarProperty::Dtend, &mut self.zones)?;
        if let (Some(s), Some(e)) = (dtstart, dtend) {
            return Ok(start <= e && end > s);
        }
        for entry in &component.entries {
            if entry.name != ICalendarProperty::Freebusy {
                continue;
            }
            for (s, e) in ical::period_values(entry, &mut self.zones)? {
                if start < e && end > s {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// RFC 4791 §9.9 for VALARM: some trigger time in `[start, end)`.
    fn alarm_in_range(
        &mut self,
        alarm: &ICalendarComponent,
        parent: Option<usize>,
        start: i64,
        end: i64,
    ) -> Result<bool, IngestError> {
        let Some(trigger) = alarm.property(&ICalendarProperty::Trigger) else {
            return Ok(false);
        };
        let (repeat, every) = repetition(alarm);
        match trigger.values.first() {
            Some(ICalendarValue::PartialDateTime(value)) => {
                let floating = self.zones.floating();
                let at = ical::read_time(
                    value,
                    trigger.tz_id(),
                    &floating,
                    &mut self.zones,
                    &trigger.name,
                )?;
                Ok(fires_within(at.utc, repeat, every, start, end))
            }
            Some(ICalendarValue::Duration(duration)) => {
                let offset = duration.as_seconds();
                let from_end = trigger.params.iter().any(|param| {
                    param.name == ICalendarParameterName::Related
                        && match &param.value {
                            ICalendarParameterValue::Related(related) => {
                                *related == ICalendarRelated::End
                            }
                            other => other
                                .as_text()
                                .is_some_and(|t| t.eq_ignore_ascii_case("END")),
                        }
                });
                let Some(parent) = parent else {
                    return Ok(false);
                };
                // One expansion for all alarms: wide enough for the farthest-reaching one.
                let reach = self.alarm_reach();
                let window = (
                    start.saturating_sub(reach).saturating_sub(1),
                    end.saturating_add(reach).saturating_add(1),
                );
                let Some(expanded) = self.expansion(window.0, window.1)? else {
                    return Ok(false);
                };
                if expanded.hit_budget && self.is_master(parent) {
                    return Ok(true);
                }
                let Some(model) = &self.model else {
                    return Ok(false);
                };
                Ok(expanded
                    .spans
                    .iter()
                    .zip(&expanded.origins)
                    .filter(|(span, origin)| {
                        origin.component(model) == Some(parent)
                            && span.start != i64::MIN
                            && span.end != i64::MAX
                    })
                    .any(|(span, _)| {
                        let base = if from_end { span.end } else { span.start };
                        fires_within(base.saturating_add(offset), repeat, every, start, end)
                    }))
            }
            _ => Ok(false),
        }
    }

    /// The largest distance between an instance and any trigger of any alarm in the object.
    fn alarm_reach(&mut self) -> i64 {
        if let Some(reach) = self.alarm_reach {
            return reach;
        }
        let mut reach: i64 = 0;
        for component in &self.calendar.components {
            if component.component_type != ICalendarComponentType::VAlarm {
                continue;
            }
            let offset = match component
                .property(&ICalendarProperty::Trigger)
                .and_then(|entry| entry.values.first())
            {
                Some(ICalendarValue::Duration(duration)) => duration.as_seconds().saturating_abs(),
                _ => 0,
            };
            let (repeat, every) = repetition(component);
            let span = every.saturating_mul(repeat);
            reach = reach.max(offset.saturating_add(span));
        }
        self.alarm_reach = Some(reach);
        reach
    }

    fn prop_matches(
        &mut self,
        component: &ICalendarComponent,
        filter: &PropFilter,
    ) -> Result<bool, IngestError> {
        let mut entries = component
            .entries
            .iter()
            .filter(|entry| entry.name.as_str().eq_ignore_ascii_case(&filter.name))
            .peekable();
        if filter.is_not_defined {
            return Ok(entries.peek().is_none());
        }
        for entry in entries {
            if self.entry_matches(component, entry, filter)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn entry_matches(
        &mut self,
        component: &ICalendarComponent,
        entry: &ICalendarEntry,
        filter: &PropFilter,
    ) -> Result<bool, IngestError> {
        if let Some(range) = &filter.time_range
            && !self.entry_in_range(component, entry, range)?
        {
            return Ok(false);
        }
        if let Some(text_match) = &filter.text_match {
            let values = value_strings(entry);
            if !text_match.test(values.iter().map(String::as_str)) {
                return Ok(false);
            }
        }
        for param_filter in &filter.param_filters {
            let mut params = entry
                .params
                .iter()
                .filter(|param| param.name.as_str().eq_ignore_ascii_case(&param_filter.name))
                .peekable();
            let ok = if param_filter.is_not_defined {
                params.peek().is_none()
            } else if params.peek().is_none() {
                false
            } else {
                match &param_filter.text_match {
                    None => true,
                    Some(text_match) => {
                        let values: Vec<Cow<'_, str>> = params.map(param_string).collect();
                        text_match.test(values.iter().map(AsRef::as_ref))
                    }
                }
            };
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A property's date, date-time or period values against a time-range.
    fn entry_in_range(
        &mut self,
        component: &ICalendarComponent,
        entry: &ICalendarEntry,
        range: &TimeRange,
    ) -> Result<bool, IngestError> {
        let (start, end) = range.bounds();
        let home = match component
            .property(&ICalendarProperty::Dtstart)
            .and_then(ICalendarEntry::tz_id)
        {
            Some(tzid) => self.zones.get(tzid),
            None => self.zones.floating(),
        };
        for value in &entry.values {
            let hit = match value {
                ICalendarValue::PartialDateTime(value) => {
                    let at =
                        ical::read_time(value, entry.tz_id(), &home, &mut self.zones, &entry.name)?;
                    if at.date_only {
                        // The whole day on the floating zone's clock (23 or 25 hours at a
                        // DST change).
                        let day_end = at
                            .local
                            .checked_add_signed(chrono::TimeDelta::days(1))
                            .map(|next| at.zone.to_utc(next))
                            .unwrap_or(at.utc.saturating_add(86_400));
                        start < day_end && end > at.utc
                    } else {
                        start <= at.utc && end > at.utc
                    }
                }
                ICalendarValue::Period(period) => {
                    let (s, e) = ical::read_period(
                        period,
                        entry.tz_id(),
                        &home,
                        &mut self.zones,
                        &entry.name,
                    )?;
                    let s = s.utc;
                    if s == e {
                        start <= s && end > s
                    } else {
                        start < e && end > s
                    }
                }
                _ => false,
            };
            if hit {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// REPEAT and the DURATION between repetitions of an alarm (0, 0 when it does not repeat).
fn repetition(alarm: &ICalendarComponent) -> (i64, i64) {
    let repeat = match alarm
        .property(&ICalendarProperty::Repeat)
        .and_then(|entry| entry.values.first())
    {
        Some(ICalendarValue::Integer(n)) => (*n).max(0),
        _ => 0,
    };
    let every = match alarm
        .property(&ICalendarProperty::Duration)
        .and_then(|entry| entry.values.first())
    {
        Some(ICalendarValue::Duration(duration)) => duration.as_seconds().max(0),
        _ => 0,
    };
    if repeat == 0 || every == 0 {
        (0, 0)
    } else {
        (repeat, every)
    }
}

/// Whether `first`, or one of its `repeat` repetitions `every` seconds apart, is in
/// `[start, end)`. Constant time, whatever REPEAT says.
fn fires_within(first: i64, repeat: i64, every: i64, start: i64, end: i64) -> bool {
    if first >= end {
        return false;
    }
    if first >= start {
        return true;
    }
    if repeat <= 0 || every <= 0 {
        return false;
    }
    // The first repetition at or after `start`.
    let gap = i128::from(start) - i128::from(first);
    let k = (gap + i128::from(every) - 1) / i128::from(every);
    if k > i128::from(repeat) {
        return false;
    }
    let at = i128::from(first) + k * i128::from(every);
    at < i128::from(end)
}

/// The values of a property as text: TEXT values unescaped, others in iCalendar form.
fn value_strings(entry: &ICalendarEntry) -> Vec<String> {
    entry
        .values
        .iter()
        .map(|value| match value.as_text() {
            Some(text) => text.to_string(),
            None => {
                let single = ICalendarEntry {
                    name: entry.name.clone(),
                    params: entry
                        .params
                        .iter()
                        .filter(|param| param.name == ICalendarParameterName::Value)
                        .cloned()
                        .collect(),
                    values: vec![value.clone()],
                };
                let mut written = String::new();
                if single.write_to(&mut written).is_err() {
                    return String::new();
                }
                let unfolded = written.replace("\r\n ", "").replace("\r\n\t", "");
                let unfolded = unfolded.trim_end_matches(['\r', '\n']);
                match unfolded.split_once(':') {
                    Some((_, value)) => value.to_string(),
                    None => String::new(),
                }
            }
        })
        .collect()
}

/// A parameter's value as text.
fn param_string(param: &ICalendarParameter) -> Cow<'_, str> {
    match &param.value {
        ICalendarParameterValue::Integer(n) => Cow::Owned(n.to_string()),
        ICalendarParameterValue::Duration(d) => Cow::Owned(d.to_string()),
        ICalendarParameterValue::Null => Cow::Borrowed(""),
        other => Cow::Borrowed(other.as_text().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests;
