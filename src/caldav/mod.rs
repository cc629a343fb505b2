//! CalDAV (RFC 4791) on the DAV engine: the calendar space `/dav/calendars/<address>/`.
//!
//! The home holds calendars; a calendar holds calendar object resources. PUT validates an
//! object with `groupware::ical::ingest` (RFC 4791 §5.3.2.1 preconditions) and stores it
//! with its index (UID, component, UTC bounds, instances), so PROPFIND, sync-collection
//! and the candidate step of time-range queries never parse iCalendar. Calendar
//! properties a client sets (displayname, color, order, description, timezone) are dead
//! properties kept verbatim; the component set is live and fixed at creation.
//!
//! Time zones:
//! - CALDAV:calendar-timezone (RFC 4791 §5.2.2) and RFC 7809's CALDAV:calendar-timezone-id
//!   are dead properties too, but checked when set (MKCALENDAR, PROPPATCH: one VTIMEZONE,
//!   CALDAV:valid-calendar-data; a name the tz database knows, CALDAV:valid-timezone) and
//!   kept consistent: setting the id also sets calendar-timezone to the zone's VTIMEZONE;
//!   setting calendar-timezone sets the id when its TZID is a standard (IANA) name, else
//!   removes it; removing either removes both. `calendar_zone` reads them (the id first) as
//!   the zone of floating times in this calendar's queries (RFC 4791 §9.9); a value that
//!   cannot be read counts as UTC.
//! - RFC 7809 (time zones by reference): `calendar-no-timezone` is in the DAV header; a PUT
//!   may reference standard zones by TZID without VTIMEZONE; the data served (GET of an
//!   object or a whole calendar, calendar-data in reports) gets the VTIMEZONE of every
//!   referenced zone it lacks, or, asked with `CalDAV-Timezones: F`, loses those
//!   of standard zones (`ical::vtimezones`; GET through `Space::represent`, keeping the
//!   ETag). No time zone service is run, so CALDAV:timezone-service-set is not offered.

mod reports;
mod select;

use axum::http::StatusCode;

use crate::dav::props::{LiveProp, PropEnv};
use crate::dav::space::{PropertyOp, ReportFuture, Resource, Space};
use crate::dav::xml::{self, Element, Name, XmlOut};
use crate::dav::{Ctx, DavError};
use crate::groupware::ical::vtimezones;
use crate::groupware::ical::{self, ComponentKind, FloatingZone, IngestError, IngestLimits};
use crate::store::calendars::{
    Calendar, ObjectIndex, ObjectListing, ObjectMeta, calendar_scope, home_scope,
};
use crate::store::domain::{DomainRead, DomainWrite};
use crate::store::files::DeadProperty;
use crate::store::{AccountId, StoreError};

pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
const CS: &str = "http://calendarserver.org/ns/";

/// Components a calendar may hold.
const COMPONENTS: &[&str] = &["VEVENT", "VTODO", "VJOURNAL"];

pub struct CalendarSpace;

/// Where a path of the space points.
enum Loc<'a> {
    Home,
    Calendar(&'a str),
    Object(&'a str, &'a str),
}

fn locate(path: &str) -> Option<Loc<'_>> {
    if path.is_empty() {
        return Some(Loc::Home);
    }
    let mut parts = path.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(c), None, None) => Some(Loc::Calendar(c)),
        (Some(c), Some(o), None) => Some(Loc::Object(c, o)),
        _ => None,
    }
}

fn kind_name(k: ComponentKind) -> &'static str {
    match k {
        ComponentKind::Event => "VEVENT",
        ComponentKind::Todo => "VTODO",
        ComponentKind::Journal => "VJOURNAL",
    }
}

pub fn limits() -> IngestLimits {
    IngestLimits::default()
}

fn calendar_resource(r: &DomainRead<'_>, c: &Calendar) -> Result<Resource, DavError> {
    let sync = r.scope_modseq(&calendar_scope(c.id))?.0;
    if c.components.is_empty() {
        // Apple's client-side subscription (CalendarServer `subscribed`): a collection that
        // only keeps its CS:source and settings; the clients fetch the feed themselves.
        return Ok(Resource {
            path: c.name.clone(),
            collection: Some(vec![Name::fixed(CS, "subscribed")]),
            etag: format!("\"sub-{sync}\""),
            content_type: "".into(),
            size: 0,
            created_at: c.created_at,
            modified_at: c.modified_at,
            sync: Some(sync),
            attrs: Vec::new(),
        });
    }
    // CalendarServer sharing: a calendar with grants is shared (a sharee sees CS:shared).
    let mut types = vec![Name::fixed(CALDAV, "calendar")];
    if r.has_grants(crate::store::shares::Collection::Calendar, c.id)? {
        types.push(Name::fixed(CS, "shared-owner"));
    }
    Ok(Resource {
        path: c.name.clone(),
        collection: Some(types),
        etag: format!("\"cal-{sync}\""),
        content_type: "text/calendar; charset=utf-8".into(),
        size: 0,
        created_at: c.created_at,
        modified_at: c.modified_at,
        sync: Some(sync),
        attrs: vec![("components", c.components.join(","))],
    })
}

pub(super) fn object_resource(c: &Calendar, o: ObjectMeta) -> Resource {
    Resource {
        path: member_path(&c.name, &o.name),
        collection: None,
        etag: o.etag,
        content_type: object_content_type(&o.component),
        size: o.size,
        created_at: o.created_at,
        modified_at: o.modified_at,
        sync: None,
        attrs: Vec::new(),
    }
}

/// [`object_resource`] from a listing row (no intermediate strings).
fn listed_resource(c: &Calendar, o: ObjectListing<'_>) -> Resource {
    Resource {
        path: member_path(&c.name, o.name),
        collection: None,
        etag: o.etag.to_string(),
        content_type: object_content_type(o.component),
        size: o.size,
        created_at: o.created_at,
        modified_at: o.modified_at,
        sync: None,
        attrs: Vec::new(),
    }
}

/// `collection/name`, in one allocation.
pub(crate) fn member_path(collection: &str, name: &str) -> String {
    let mut path = String::with_capacity(collection.len() + 1 + name.len());
    path.push_str(collection);
    path.push('/');
    path.push_str(name);
    path
}

fn object_content_type(component: &str) -> std::borrow::Cow<'static, str> {
    match component {
        "VEVENT" => "text/calendar; charset=utf-8; component=vevent".into(),
        "VTODO" => "text/calendar; charset=utf-8; component=vtodo".into(),
        "VJOURNAL" => "text/calendar; charset=utf-8; component=vjournal".into(),
        other => format!(
            "text/calendar; charset=utf-8; component={}",
            other.to_ascii_lowercase()
        )
        .into(),
    }
}

/// RFC 4791 §5.3.2.1 `no-uid-conflict`, naming the resource that holds the UID.
fn uid_conflict(hrefs: Vec<String>, reason: String) -> DavError {
    DavError::Condition {
        status: StatusCode::CONFLICT,
        element: Name::fixed(CALDAV, "no-uid-conflict"),
        hrefs,
        reason,
    }
}

fn need_calendar(r: &DomainRead<'_>, owner: &AccountId, name: &str) -> Result<Calendar, DavError> {
    r.calendar(owner, name)?.ok_or_else(|| {
        DavError::conflict(format!(
            "no calendar {name}: create it with MKCALENDAR first"
        ))
    })
}

/// A calendar clients may write: not one a subscription fills (RFC 3744 §7.1.1).
fn need_writable_calendar(
    r: &DomainRead<'_>,
    owner: &AccountId,
    name: &str,
) -> Result<Calendar, DavError> {
    let c = need_calendar(r, owner, name)?;
    if c.components.is_empty() {
        return Err(forbidden(
            "an Apple subscription holds no objects: the clients fetch its CS:source",
        ));
    }
    if c.subscription.is_some() {
        return Err(DavError::Condition {
            status: StatusCode::FORBIDDEN,
            element: Name::dav("need-privileges"),
            hrefs: Vec::new(),
            reason: format!("{name} follows a subscribed feed and is read-only"),
        });
    }
    Ok(c)
}

fn caldav_condition(status: StatusCode, element: &str, reason: impl Into<String>) -> DavError {
    DavError::Condition {
        status,
        element: Name::new(CALDAV, element),
        hrefs: Vec::new(),
        reason: reason.into(),
    }
}

/// RFC 4791 §5.3.2.1: each ingest error is a precondition of PUT.
fn ingest_error(e: IngestError) -> DavError {
    let status = if matches!(e, IngestError::TooLarge) {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::FORBIDDEN
    };
    caldav_condition(status, e.precondition(), e.to_string())
}

/// The component names of a `supported-calendar-component-set` element.
fn components_of(xml_text: &str) -> Result<Vec<String>, DavError> {
    let el = xml::parse(xml_text.as_bytes())?;
    let mut out = Vec::new();
    for comp in el.elements().filter(|e| e.name.is(CALDAV, "comp")) {
        let name = comp.attr("", "name").unwrap_or("").to_ascii_uppercase();
        if !COMPONENTS.contains(&name.as_str()) {
            return Err(caldav_condition(
                StatusCode::FORBIDDEN,
                "supported-calendar-component",
                format!("calendars cannot hold {name}"),
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    if out.is_empty() {
        return Err(caldav_condition(
            StatusCode::FORBIDDEN,
            "supported-calendar-component",
            "a calendar needs at least one component",
        ));
    }
    Ok(out)
}

fn supported_calendar_component_set(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    // RFC 4791 §5.2.3; reported on every calendar (clients.md #16).
    let Some(comps) = env.node.attr("components") else {
        return false;
    };
    out.open(&Name::fixed(CALDAV, "supported-calendar-component-set"));
    for c in comps.split(',') {
        out.open_with(&Name::fixed(CALDAV, "comp"), &[("name", c)])
            .close();
    }
    out.close();
    true
}

fn is_calendar(env: &PropEnv<'_>) -> bool {
    env.node
        .collection
        .as_ref()
        .is_some_and(|t| t.iter().any(|t| t.is(CALDAV, "calendar")))
}

fn supported_calendar_data(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    if !is_calendar(env) {
        return false;
    }
    out.open(&Name::fixed(CALDAV, "supported-calendar-data"));
    out.open_with(
        &Name::fixed(CALDAV, "calendar-data"),
        &[("content-type", "text/calendar"), ("version", "2.0")],
    )
    .close();
    out.close();
    true
}

/// A calendar's text-valued limit property (RFC 4791 §5.2.5-§5.2.8).
fn calendar_limit(env: &PropEnv<'_>, out: &mut XmlOut, name: &str, value: String) -> bool {
    if !is_calendar(env) {
        return false;
    }
    out.text_element(&Name::new(CALDAV, name), &value);
    true
}

fn ical_utc(unix: i64) -> String {
    crate::timefmt::rfc3339(unix).replace(['-', ':'], "")
}

fn max_resource_size(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    calendar_limit(
        env,
        out,
        "max-resource-size",
        limits().max_bytes.to_string(),
    )
}

fn max_instances(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    calendar_limit(
        env,
        out,
        "max-instances",
        limits().max_instances.to_string(),
    )
}

fn min_date_time(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    calendar_limit(env, out, "min-date-time", ical_utc(limits().min_date))
}

fn max_date_time(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    calendar_limit(env, out, "max-date-time", ical_utc(limits().max_date))
}

#[rustfmt::skip]
static CALENDAR_PROPS: &[LiveProp] = &[
    LiveProp { ns: CALDAV, name: "supported-calendar-component-set", protected: true, allprop: false, write: supported_calendar_component_set },
    LiveProp { ns: CALDAV, name: "supported-calendar-data", protected: true, allprop: false, write: supported_calendar_data },
    LiveProp { ns: CALDAV, name: "max-resource-size", protected: true, allprop: false, write: max_resource_size },
    LiveProp { ns: CALDAV, name: "max-instances", protected: true, allprop: false, write: max_instances },
    LiveProp { ns: CALDAV, name: "min-date-time", protected: true, allprop: false, write: min_date_time },
    LiveProp { ns: CALDAV, name: "max-date-time", protected: true, allprop: false, write: max_date_time },
    // CalendarServer sharing (dav/sharing.rs).
    LiveProp { ns: CS, name: "invite", protected: true, allprop: false, write: crate::dav::sharing::invite },
    LiveProp { ns: CS, name: "shared-url", protected: true, allprop: false, write: crate::dav::sharing::shared_url },
    LiveProp { ns: CS, name: "allowed-sharing-modes", protected: true, allprop: false, write: crate::dav::sharing::allowed_sharing_modes },
];

/// A whole calendar as one iCalendar stream (GET on a calendar, subscriptions): one
/// VCALENDAR holding every object's components, each VTIMEZONE once per TZID. Works on
/// lines: BEGIN/END lines are never folded, and everything else is copied as it was.
pub fn merge(objects: &[String], name: Option<&str>) -> String {
    let mut out = String::with_capacity(objects.iter().map(String::len).sum::<usize>() + 256);
    out.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Domus//Domus//EN\r\n");
    if let Some(n) = name {
        let escaped = n
            .replace('\\', "\\\\")
            .replace(';', "\\;")
            .replace(',', "\\,")
            .replace('\n', "\\n");
        out.push_str(&format!("X-WR-CALNAME:{escaped}\r\n"));
    }
    let mut timezones: Vec<String> = Vec::new();
    for obj in objects {
        let mut depth = 0usize;
        let mut block: Vec<&str> = Vec::new();
        let mut tzid: Option<String> = None;
        for line in crate::groupware::lines(obj) {
            // Names compared in place: a whole calendar is hundreds of thousands of lines.
            let named = |prefix: &str| {
                line.as_bytes()
                    .get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
            };
            if named("BEGIN:") {
                depth += 1;
            }
            if depth >= 2 {
                block.push(line);
                if depth == 2 && named("TZID:") {
                    tzid = Some(line[5..].to_string());
                }
            }
            if named("END:") {
                if depth == 2 {
                    let is_tz = block
                        .first()
                        .is_some_and(|b| b.eq_ignore_ascii_case("BEGIN:VTIMEZONE"));
                    let dup = is_tz && tzid.as_ref().is_some_and(|t| timezones.contains(t));
                    if !dup {
                        if let (true, Some(t)) = (is_tz, &tzid) {
                            timezones.push(t.clone());
                        }
                        for l in &block {
                            out.push_str(l);
                            out.push_str("\r\n");
                        }
                    }
                    block.clear();
                    tzid = None;
                }
                depth = depth.saturating_sub(1);
            }
        }
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// What RFC 7809's `CalDAV-Timezones` request header asks of served calendar data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimezonePreference {
    /// `T` or no header: every referenced TZID has its VTIMEZONE.
    Include,
    /// `F`: VTIMEZONEs of standard zones are left out.
    OmitStandard,
}

impl TimezonePreference {
    pub(super) fn of(ctx: &Ctx) -> TimezonePreference {
        match ctx.header("CalDAV-Timezones") {
            Some(value) if value.trim().eq_ignore_ascii_case("F") => {
                TimezonePreference::OmitStandard
            }
            _ => TimezonePreference::Include,
        }
    }
}

/// Stored calendar data as served under `preference` (see the module doc).
pub(super) fn served(data: String, preference: TimezonePreference) -> String {
    let changed = match preference {
        TimezonePreference::Include => vtimezones::with_timezones(&data),
        TimezonePreference::OmitStandard => vtimezones::without_standard_timezones(&data),
    };
    match changed {
        std::borrow::Cow::Owned(changed) => changed,
        std::borrow::Cow::Borrowed(_) => data,
    }
}

/// The text content of a verbatim property element.
fn element_text(verbatim: &str) -> Result<String, DavError> {
    Ok(xml::parse(verbatim.as_bytes())?.text())
}

/// A CALDAV property element holding `text`, self-contained as dead properties are stored.
fn caldav_element(local: &str, text: &str) -> String {
    let mut out = format!("<C:{local} xmlns:C=\"{CALDAV}\">");
    xml::push_escaped(&mut out, text);
    out.push_str(&format!("</C:{local}>"));
    out
}

/// Checks CALDAV:calendar-timezone and CALDAV:calendar-timezone-id among the properties set
/// by MKCALENDAR or PROPPATCH and keeps the two consistent (see the module doc); other
/// properties pass unchanged, in order.
fn timezone_ops(ops: &[PropertyOp]) -> Result<Vec<PropertyOp>, DavError> {
    const TZ: &str = "calendar-timezone";
    const TZ_ID: &str = "calendar-timezone-id";
    let op = |local: &str, value: Option<String>| (CALDAV.to_string(), local.to_string(), value);
    let mut out = Vec::with_capacity(ops.len());
    for (ns, local, value) in ops {
        if ns != CALDAV || (local != TZ && local != TZ_ID) {
            out.push((ns.clone(), local.clone(), value.clone()));
            continue;
        }
        match (local.as_str(), value) {
            (_, None) => {
                out.push(op(TZ, None));
                out.push(op(TZ_ID, None));
            }
            (TZ, Some(verbatim)) => {
                let text = element_text(verbatim)?;
                let (_, tzid) = FloatingZone::from_vtimezone(text.trim().as_bytes(), &limits())
                    .map_err(|e| {
                        caldav_condition(
                            StatusCode::FORBIDDEN,
                            "valid-calendar-data",
                            format!("CALDAV:calendar-timezone: {e}"),
                        )
                    })?;
                out.push(op(TZ, Some(verbatim.clone())));
                if vtimezones::is_standard(&tzid) {
                    out.push(op(TZ_ID, Some(caldav_element(TZ_ID, &tzid))));
                } else {
                    out.push(op(TZ_ID, None));
                }
            }
            (_, Some(verbatim)) => {
                let text = element_text(verbatim)?;
                let id = text.trim();
                let vtimezone = FloatingZone::from_name(id)
                    .and_then(|_| vtimezones::vtimezone_calendar(id))
                    .ok_or_else(|| {
                        caldav_condition(
                            StatusCode::FORBIDDEN,
                            "valid-timezone",
                            format!("{id:?} is not a time zone this server knows"),
                        )
                    })?;
                out.push(op(TZ_ID, Some(caldav_element(TZ_ID, id))));
                out.push(op(TZ, Some(caldav_element(TZ, &vtimezone))));
            }
        }
    }
    Ok(out)
}

/// The zone floating times of a calendar are read in (RFC 4791 §9.9): its
/// CALDAV:calendar-timezone-id, else its CALDAV:calendar-timezone, else UTC. One read of
/// the calendar's dead properties; a VTIMEZONE is parsed only without an id.
pub(super) fn calendar_zone(
    r: &DomainRead<'_>,
    calendar_id: i64,
) -> Result<FloatingZone, DavError> {
    let props = r.calendar_properties(calendar_id)?;
    let text_of = |local: &str| {
        props
            .iter()
            .find(|p| p.ns == CALDAV && p.name == local)
            .and_then(|p| element_text(&p.xml).ok())
    };
    if let Some(zone) = text_of("calendar-timezone-id").and_then(|id| FloatingZone::from_name(&id))
    {
        return Ok(zone);
    }
    if let Some(text) = text_of("calendar-timezone")
        && let Ok((zone, _)) = FloatingZone::from_vtimezone(text.trim().as_bytes(), &limits())
    {
        return Ok(zone);
    }
    Ok(FloatingZone::utc())
}

/// What the store indexes of an ingested object.
pub fn object_index(parsed: &ical::CalendarObject) -> ObjectIndex {
    ObjectIndex {
        uid: parsed.uid.clone(),
        component: kind_name(parsed.kind).to_string(),
        first_start: parsed.first_start,
        last_end: parsed.last_end,
        recurring: parsed.recurring,
        instances: parsed.instances.clone(),
    }
}

/// A calendar's display name (its `DAV:displayname`), or its URL name when it has none.
pub fn display_name_of(r: &DomainRead<'_>, c: &Calendar) -> Result<String, StoreError> {
    Ok(r.calendar_properties(c.id)?
        .into_iter()
        .find(|p| p.ns == "DAV:" && p.name == "displayname")
        .and_then(|p| xml::parse(p.xml.as_bytes()).ok())
        .map(|e| e.text())
        .unwrap_or_else(|| c.name.clone()))
}

fn forbidden(reason: &str) -> DavError {
    DavError::status(StatusCode::FORBIDDEN, reason)
}

impl Space for CalendarSpace {
    fn name(&self) -> &'static str {
        "calendars"
    }

    fn extra_methods(&self) -> &'static [&'static str] {
        &["MKCALENDAR", "POST"]
    }

    fn compliance_classes(&self) -> &'static [&'static str] {
        // RFC 7809 §3.1.1: VTIMEZONEs of standard zones may be left out of PUTs.
        // CalendarServer sharing: CS:share, invites and notifications (dav/sharing.rs).
        &[
            "calendar-access",
            "calendar-no-timezone",
            "calendarserver-sharing",
        ]
    }

    fn live_properties(&self) -> &'static [LiveProp] {
        CALENDAR_PROPS
    }

    fn sync_scope(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<String>, DavError> {
        Ok(match locate(path) {
            Some(Loc::Home) => Some(home_scope(owner)),
            Some(Loc::Calendar(c)) => r.calendar(owner, c)?.map(|c| calendar_scope(c.id)),
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
                    etag: format!("\"home-{sync}\""),
                    content_type: "".into(),
                    size: 0,
                    created_at: 0,
                    modified_at: 0,
                    sync: Some(sync),
                    attrs: Vec::new(),
                }))
            }
            Some(Loc::Calendar(name)) => match r.calendar(owner, name)? {
                Some(c) => Ok(Some(calendar_resource(r, &c)?)),
                None => Ok(None),
            },
            Some(Loc::Object(cal, obj)) => {
                let Some(c) = r.calendar(owner, cal)? else {
                    return Ok(None);
                };
                Ok(r.calendar_object(c.id, obj)?
                    .map(|o| object_resource(&c, o)))
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
            Some(Loc::Home) => r
                .calendars(owner)?
                .iter()
                .map(|c| calendar_resource(r, c))
                .collect(),
            Some(Loc::Calendar(name)) => {
                let Some(c) = r.calendar(owner, name)? else {
                    return Ok(Vec::new());
                };
                Ok(r.calendar_listing(c.id, |o| listed_resource(&c, o))?)
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
            Some(Loc::Home) => Ok(r.calendar_home_properties(owner)?),
            Some(Loc::Calendar(name)) => match r.calendar(owner, name)? {
                Some(c) => Ok(r.calendar_properties(c.id)?),
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
            Some(Loc::Object(cal, obj)) => {
                let Some(c) = r.calendar(owner, cal)? else {
                    return Ok(None);
                };
                Ok(r.calendar_object_data(c.id, obj)?.map(String::into_bytes))
            }
            // GET on a calendar: the whole calendar as one iCalendar stream.
            Some(Loc::Calendar(name)) => {
                let Some(c) = r.calendar(owner, name)? else {
                    return Ok(None);
                };
                let name = display_name_of(r, &c)?;
                Ok(Some(
                    merge(&r.calendar_all_data(c.id)?, Some(&name)).into_bytes(),
                ))
            }
            _ => Ok(None),
        }
    }

    /// GET of an object or a whole calendar: VTIMEZONEs as `CalDAV-Timezones` asks (RFC
    /// 7809). The ETag stays: with or without the VTIMEZONEs of standard zones it is the
    /// same calendar data, as calendar-data in reports (whose getetag is the stored one).
    fn represent(
        &self,
        ctx: &Ctx,
        _node: &Resource,
        body: Vec<u8>,
    ) -> (Vec<u8>, Option<&'static str>) {
        match String::from_utf8(body) {
            Ok(text) => (served(text, TimezonePreference::of(ctx)).into_bytes(), None),
            Err(e) => (e.into_bytes(), None),
        }
    }

    fn put(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        path: &str,
        _content_type: &str,
        body: &[u8],
    ) -> Result<(Resource, bool), DavError> {
        let Some(Loc::Object(cal, obj)) = locate(path) else {
            return Err(DavError::status(
                StatusCode::METHOD_NOT_ALLOWED,
                "PUT creates calendar object resources inside a calendar",
            ));
        };
        let calendar = need_writable_calendar(w, owner, cal)?;
        let parsed = ical::ingest(body, &limits()).map_err(ingest_error)?;
        let component = kind_name(parsed.kind);
        if !calendar.components.iter().any(|c| c == component) {
            return Err(caldav_condition(
                StatusCode::FORBIDDEN,
                "supported-calendar-component",
                format!("the calendar {cal} does not hold {component}"),
            ));
        }
        // The UID of a resource is its identity: another UID at the same href is refused.
        if let Some(existing) = w.calendar_object(calendar.id, obj)?
            && existing.uid != parsed.uid
        {
            return Err(uid_conflict(
                Vec::new(),
                format!(
                    "{obj} holds UID {}; a PUT cannot change it to {}",
                    existing.uid, parsed.uid
                ),
            ));
        }
        let index = ObjectIndex {
            uid: parsed.uid.clone(),
            component: component.to_string(),
            first_start: parsed.first_start,
            last_end: parsed.last_end,
            recurring: parsed.recurring,
            instances: parsed.instances.clone(),
        };
        let text = String::from_utf8_lossy(body).into_owned();
        let (meta, created) = w
            .put_calendar_object(&calendar, obj, &index, &text)
            .map_err(|e| match e {
                StoreError::Conflict(other) => uid_conflict(
                    vec![format!("{}/{}", calendar.name, other)],
                    format!("UID {} is already used by {other}", parsed.uid),
                ),
                e => e.into(),
            })?;
        Ok((object_resource(&calendar, meta), created))
    }

    fn mkcol(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        path: &str,
        types: &[Name],
        props: &[PropertyOp],
    ) -> Result<(), DavError> {
        let Some(Loc::Calendar(name)) = locate(path) else {
            return Err(forbidden("calendars are created in the calendar home"));
        };
        // Apple's client-side subscriptions: stored (with CS:source) and listed, so every
        // device of the user sees them; the clients fetch the feed.
        if types.len() == 1 && types[0].is(CS, "subscribed") {
            if !props
                .iter()
                .any(|(ns, local, v)| ns == CS && local == "source" && v.is_some())
            {
                return Err(DavError::condition(
                    StatusCode::FORBIDDEN,
                    "valid-resourcetype",
                    "a subscribed collection needs its CS:source",
                ));
            }
            if w.calendar(owner, name)?.is_some() {
                return Err(DavError::condition(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "resource-must-be-null",
                    format!("{name} exists"),
                ));
            }
            w.create_calendar(owner, name, &[], props)?;
            return Ok(());
        }
        if !types.iter().any(|t| t.is(CALDAV, "calendar")) || types.len() != 1 {
            return Err(DavError::condition(
                StatusCode::FORBIDDEN,
                "valid-resourcetype",
                "the calendar home holds calendars only",
            ));
        }
        if w.calendar(owner, name)?.is_some() {
            return Err(DavError::condition(
                StatusCode::METHOD_NOT_ALLOWED,
                "resource-must-be-null",
                format!("{name} exists"),
            ));
        }
        // RFC 4791 §5.2.3: without a component set, a calendar takes every kind.
        let mut components: Vec<String> = COMPONENTS.iter().map(|c| c.to_string()).collect();
        let mut dead = Vec::new();
        for (ns, local, value) in props {
            if ns == CALDAV && local == "supported-calendar-component-set" {
                components = components_of(value.as_deref().unwrap_or(""))?;
            } else {
                dead.push((ns.clone(), local.clone(), value.clone()));
            }
        }
        let dead = timezone_ops(&dead)?;
        w.create_calendar(owner, name, &components, &dead)
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
            // Deleting a subscribed calendar ends the subscription. Its grants go first, so
            // the homes it was listed in record it.
            Some(Loc::Calendar(name)) => match w.calendar(owner, name)? {
                Some(c) if w.has_grants(crate::store::shares::Collection::Calendar, c.id)? => {
                    w.unshare_collection(crate::store::shares::Collection::Calendar, c.id)?;
                    self.delete(w, owner, path)
                }
                Some(Calendar {
                    subscription: Some(id),
                    ..
                }) => Ok(w.delete_subscription(&id)?),
                _ => w
                    .delete_calendar(owner, name)
                    .map_err(|_| DavError::not_found(format!("no calendar {name}"))),
            },
            Some(Loc::Object(cal, obj)) => {
                let c = need_writable_calendar(w, owner, cal).map_err(|e| match e {
                    DavError::Status(StatusCode::CONFLICT, _) => {
                        DavError::not_found(format!("no calendar {cal}"))
                    }
                    e => e,
                })?;
                w.delete_calendar_object(&c, obj)
                    .map_err(|_| DavError::not_found(format!("nothing at {path}")))
            }
            _ => Err(forbidden("the calendar home cannot be deleted")),
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
        let (Some(Loc::Object(fc, fo)), Some(Loc::Object(tc, to_name))) =
            (locate(from), locate(to))
        else {
            return Err(forbidden("only calendar objects are copied or moved"));
        };
        let source = need_calendar(w, owner, fc)?;
        let target = need_writable_calendar(w, owner, tc)?;
        w.copy_calendar_object(&source, fo, &target, to_name)
            .map_err(|e| match e {
                StoreError::Conflict(other) => uid_conflict(
                    vec![format!("{tc}/{other}")],
                    format!("the UID is already used by {other} in {tc}"),
                ),
                StoreError::NotFound(_) => DavError::not_found(format!("nothing at {from}")),
                e => e.into(),
            })
    }

    fn rename(
        &self,
        w: &DomainWrite<'_>,
        owner: &AccountId,
        from: &str,
        to: &str,
    ) -> Result<(), DavError> {
        let Some(Loc::Object(fc, fo)) = locate(from) else {
            return Err(forbidden("only calendar objects are moved"));
        };
        // Moving within one calendar would trip over the object's own UID: free it first.
        let source = need_writable_calendar(w, owner, fc)?;
        let data = w
            .calendar_object_data(source.id, fo)?
            .ok_or_else(|| DavError::not_found(format!("nothing at {from}")))?;
        w.delete_calendar_object(&source, fo)?;
        let Some(Loc::Object(tc, to_name)) = locate(to) else {
            return Err(forbidden("calendar objects move into calendars"));
        };
        let target = need_writable_calendar(w, owner, tc)?;
        let parsed = ical::ingest(data.as_bytes(), &limits()).map_err(ingest_error)?;
        let component = kind_name(parsed.kind);
        if !target.components.iter().any(|c| c == component) {
            return Err(caldav_condition(
                StatusCode::FORBIDDEN,
                "supported-calendar-component",
                format!("the calendar {tc} does not hold {component}"),
            ));
        }
        let index = ObjectIndex {
            uid: parsed.uid.clone(),
            component: component.to_string(),
            first_start: parsed.first_start,
            last_end: parsed.last_end,
            recurring: parsed.recurring,
            instances: parsed.instances,
        };
        w.put_calendar_object(&target, to_name, &index, &data)
            .map_err(|e| match e {
                StoreError::Conflict(other) => uid_conflict(
                    vec![format!("{tc}/{other}")],
                    format!("the UID is already used by {other} in {tc}"),
                ),
                e => e.into(),
            })?;
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
            // Apple clients keep their default alarms on the home (CalendarServer).
            Some(Loc::Home) => Ok(w.patch_calendar_home_properties(owner, ops)?),
            Some(Loc::Calendar(name)) => {
                let Some(c) = w.calendar(owner, name)? else {
                    return Err(DavError::not_found(format!("no calendar {name}")));
                };
                Ok(w.patch_calendar_properties(c.id, &timezone_ops(ops)?)?)
            }
            _ => Err(forbidden("only calendars have settable properties here")),
        }
    }

    fn report_names(&self, collection: &Resource) -> Vec<Name> {
        if collection
            .collection
            .as_ref()
            .is_some_and(|t| t.iter().any(|t| t.is(CALDAV, "calendar")))
        {
            vec![
                Name::fixed(CALDAV, "calendar-query"),
                Name::fixed(CALDAV, "calendar-multiget"),
                Name::fixed(CALDAV, "free-busy-query"),
            ]
        } else {
            Vec::new()
        }
    }

    fn grant_kind(&self) -> Option<crate::store::shares::Collection> {
        Some(crate::store::shares::Collection::Calendar)
    }

    fn grant_target(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        name: &str,
    ) -> Result<Option<(crate::store::shares::Collection, i64)>, DavError> {
        Ok(r.calendar(owner, name)?
            .map(|c| (crate::store::shares::Collection::Calendar, c.id)))
    }

    fn report(&self, ctx: Ctx, root: Element) -> Option<ReportFuture> {
        reports::report(ctx, root)
    }

    fn post(&self, ctx: Ctx, root: Element) -> Option<ReportFuture> {
        crate::dav::sharing::post(ctx, root)
    }

    fn decorate(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        node: &mut Resource,
        wanted: &[Name],
    ) -> Result<(), DavError> {
        crate::dav::sharing::decorate(r, owner, node, wanted)
    }
}
