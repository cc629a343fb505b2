//! Time zones by reference (RFC 7809) on stored iCalendar text: the VTIMEZONEs an object
//! lacks for the TZIDs it references are added (`with_timezones`, what a client gets by
//! default or with `CalDAV-Timezones: T`), or the VTIMEZONEs of standard zones are left out
//! (`without_standard_timezones`, `CalDAV-Timezones: F`). Both work on lines and return the
//! text unchanged (borrowed) when there is nothing to do, so the rest of an object is served
//! exactly as it was stored.
//!
//! Cost: an object whose text has no `TZID=` (the common all-UTC case) is only searched for
//! that string. An object with TZIDs is scanned line by line; it is parsed (calcard) only
//! when a referenced TZID has no VTIMEZONE, and calcard's `add_missing_timezones` then builds
//! the VTIMEZONE from the tz database over the years the object uses.
//!
//! A standard zone (`is_standard`) is one whose TZID is exactly an IANA name the tz database
//! knows (`Europe/Berlin`, `UTC`): a client can look it up by that name. Windows names, vendor
//! paths (`/mozilla.org/…/Europe/Berlin`) and custom zones are not standard, so their
//! VTIMEZONEs are always served.

use calcard::common::timezone::Tz;
use calcard::icalendar::{ICalendar, ICalendarComponent, ICalendarComponentType};
use calcard::{Entry, Parser};
use chrono::{Datelike, NaiveDate};
use std::borrow::Cow;
use std::ops::Range;
use std::str::FromStr;

/// The TZID is an IANA zone name, exactly as the tz database spells it.
pub fn is_standard(tzid: &str) -> bool {
    match Tz::from_str(tzid) {
        Ok(tz @ Tz::Tz(_)) => tzid == "UTC" || tz.name().is_some_and(|name| name == tzid),
        _ => false,
    }
}

/// `text` with a VTIMEZONE for every referenced TZID that has none and that the tz database
/// knows by name, inserted before the first component.
pub fn with_timezones(text: &str) -> Cow<'_, str> {
    if !contains_ignore_case(text, "TZID=") {
        return Cow::Borrowed(text);
    }
    let scan = scan(text);
    if scan.referenced.iter().all(|id| scan.defined.contains(id)) {
        return Cow::Borrowed(text);
    }
    let mut parser = Parser::new(text);
    let Entry::ICalendar(mut calendar) = parser.entry() else {
        return Cow::Borrowed(text);
    };
    let before = calendar.components.len();
    if calendar.add_missing_timezones() == 0 {
        return Cow::Borrowed(text);
    }
    let block = components_text(&calendar, before);
    let Some(at) = scan.first_component else {
        return Cow::Borrowed(text);
    };
    let block = if text.contains("\r\n") {
        block
    } else {
        block.replace("\r\n", "\n")
    };
    let mut out = String::with_capacity(text.len() + block.len());
    out.push_str(&text[..at]);
    out.push_str(&block);
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// `text` without the VTIMEZONE components of standard zones (`is_standard`).
pub fn without_standard_timezones(text: &str) -> Cow<'_, str> {
    if !contains_ignore_case(text, "BEGIN:VTIMEZONE") {
        return Cow::Borrowed(text);
    }
    let scan = scan(text);
    let dropped: Vec<&Range<usize>> = scan
        .vtimezones
        .iter()
        .filter(|(_, tzid)| tzid.as_deref().is_some_and(is_standard))
        .map(|(range, _)| range)
        .collect();
    if dropped.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for range in dropped {
        out.push_str(&text[from..range.start]);
        from = range.end;
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

/// A VCALENDAR holding the VTIMEZONE of `tzid` built from the tz database (1970 to five
/// years from now), as CALDAV:calendar-timezone holds it. None for a name the database does
/// not know.
pub fn vtimezone_calendar(tzid: &str) -> Option<String> {
    let mut calendar = ICalendar {
        components: vec![ICalendarComponent::new(ICalendarComponentType::VCalendar)],
    };
    let now = chrono::Utc::now();
    let from = NaiveDate::from_ymd_opt(1970, 1, 1)?
        .and_hms_opt(0, 0, 0)?
        .and_utc()
        .timestamp();
    let to = NaiveDate::from_ymd_opt(now.year().saturating_add(5), 1, 1)?
        .and_hms_opt(0, 0, 0)?
        .and_utc()
        .timestamp();
    calendar.add_timezone(tzid, from, to)?;
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Domus//Domus//EN\r\n");
    out.push_str(&components_text(&calendar, 1));
    out.push_str("END:VCALENDAR\r\n");
    Some(out)
}

/// The text of the top-level components of `calendar` from index `first` on (with their
/// sub-components), as calcard writes them.
fn components_text(calendar: &ICalendar, first: usize) -> String {
    let Some(root) = calendar.components.first() else {
        return String::new();
    };
    let keep: Vec<u32> = root
        .component_ids
        .iter()
        .copied()
        .filter(|id| *id as usize >= first)
        .collect();
    let mut only = ICalendar {
        components: calendar.components.clone(),
    };
    if let Some(root) = only.components.first_mut() {
        root.entries.clear();
        root.component_ids = keep;
    }
    let written = only.to_string();
    written
        .strip_prefix("BEGIN:VCALENDAR\r\n")
        .and_then(|rest| rest.strip_suffix("END:VCALENDAR\r\n"))
        .unwrap_or_default()
        .to_string()
}

/// What `with_timezones` and `without_standard_timezones` need to know about a text.
#[derive(Default)]
struct Scan {
    /// TZID parameters outside VTIMEZONEs, each once.
    referenced: Vec<String>,
    /// TZIDs of the VTIMEZONEs.
    defined: Vec<String>,
    /// Each top-level VTIMEZONE: its bytes (whole lines) and its TZID.
    vtimezones: Vec<(Range<usize>, Option<String>)>,
    /// Where the first component inside the VCALENDAR begins (or its END, if none).
    first_component: Option<usize>,
}

fn scan(text: &str) -> Scan {
    let mut scan = Scan::default();
    let mut depth = 0usize;
    // The open top-level VTIMEZONE: where it starts, its TZID.
    let mut vtimezone: Option<(usize, Option<String>)> = None;
    for (range, line) in logical_lines(text) {
        let (name, value) = split_line(&line);
        let name_only = name.split(';').next().unwrap_or_default();
        if name_only.eq_ignore_ascii_case("BEGIN") {
            if depth == 1 && scan.first_component.is_none() {
                scan.first_component = Some(range.start);
            }
            if depth == 1 && value.trim().eq_ignore_ascii_case("VTIMEZONE") {
                vtimezone = Some((range.start, None));
            }
            depth += 1;
            continue;
        }
        if name_only.eq_ignore_ascii_case("END") {
            depth = depth.saturating_sub(1);
            if depth == 1
                && value.trim().eq_ignore_ascii_case("VTIMEZONE")
                && let Some((start, tzid)) = vtimezone.take()
            {
                if let Some(tzid) = &tzid {
                    scan.defined.push(tzid.clone());
                }
                scan.vtimezones.push((start..range.end, tzid));
            }
            if depth == 0 && scan.first_component.is_none() {
                scan.first_component = Some(range.start);
            }
            continue;
        }
        if let Some((_, tzid)) = &mut vtimezone {
            if depth == 2 && name_only.eq_ignore_ascii_case("TZID") {
                *tzid = Some(value.to_string());
            }
            continue;
        }
        if let Some(tzid) = tzid_parameter(name)
            && !scan.referenced.iter().any(|known| known == tzid)
        {
            scan.referenced.push(tzid.to_string());
        }
    }
    scan
}

/// Content lines with their byte range in `text` (line end included), unfolded.
fn logical_lines(text: &str) -> impl Iterator<Item = (Range<usize>, Cow<'_, str>)> {
    let mut physical = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        physical.push((at..at + line.len(), line.trim_end_matches(['\r', '\n'])));
        at += line.len();
    }
    let mut out: Vec<(Range<usize>, Cow<'_, str>)> = Vec::new();
    for (range, line) in physical {
        let continued = line.starts_with([' ', '\t']);
        match out.last_mut() {
            Some((last, content)) if continued => {
                last.end = range.end;
                content.to_mut().push_str(&line[1..]);
            }
            _ => out.push((range, Cow::Borrowed(line))),
        }
    }
    out.into_iter()
}

/// A content line as its name with parameters, and its value (split at the first colon
/// outside quotes).
fn split_line(line: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return (&line[..i], &line[i + 1..]),
            _ => {}
        }
    }
    (line, "")
}

/// The value of the TZID parameter in a line's name-and-parameters part, unquoted.
fn tzid_parameter(name: &str) -> Option<&str> {
    let mut quoted = false;
    let mut start = 0;
    let mut params = Vec::new();
    for (i, c) in name.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                params.push(&name[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    params.push(&name[start..]);
    params.into_iter().skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("TZID")
            .then(|| value.trim_matches('"'))
    })
}

/// Whether `text` holds `needle` (ASCII case-insensitively). Hot: it runs over every
/// object of a multiget and over whole calendars, so it searches (SIMD) for the needle's
/// first byte that is not a letter (`=` of `TZID=`, `:` of `BEGIN:VTIMEZONE`) and compares
/// the rest only where that byte is.
fn contains_ignore_case(text: &str, needle: &str) -> bool {
    let (text, needle) = (text.as_bytes(), needle.as_bytes());
    if needle.is_empty() {
        return true;
    }
    // A byte that is not a letter matches only itself: search for it (SIMD), compare around.
    let Some(k) = needle.iter().position(|b| !b.is_ascii_alphabetic()) else {
        return text
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle));
    };
    let mut from = k;
    while from < text.len() {
        let Some(i) = memchr::memchr(needle[k], &text[from..]) else {
            return false;
        };
        let start = from + i - k;
        if text
            .get(start..start + needle.len())
            .is_some_and(|window| window.eq_ignore_ascii_case(needle))
        {
            return true;
        }
        from += i + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_needle_is_found_in_any_case_and_only_whole() {
        assert!(contains_ignore_case(
            "DTSTART;TZID=Europe/Berlin:x",
            "TZID="
        ));
        assert!(contains_ignore_case("dtstart;tzid=x", "TZID="));
        assert!(contains_ignore_case("TZID=", "TZID="));
        assert!(!contains_ignore_case("ZID=x;TZI=y;=TZID", "TZID="));
        assert!(!contains_ignore_case("", "TZID="));
        assert!(contains_ignore_case("abc", "B"));
        assert!(contains_ignore_case(
            "x\r\nbegin:vtimezone\r\n",
            "BEGIN:VTIMEZONE"
        ));
        assert!(!contains_ignore_case(
            "N:VTIMEZONE BEGIN;VTIMEZONE",
            "BEGIN:VTIMEZONE"
        ));
        assert!(!contains_ignore_case(":VTIMEZONE", "BEGIN:VTIMEZONE"));
    }

    const BERLIN_REF: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260301T100000\r\nDTEND;TZID=\"Europe/Berlin\":20260301T110000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn missing_vtimezones_are_added_before_the_first_component() {
        let out = with_timezones(BERLIN_REF);
        assert!(matches!(out, Cow::Owned(_)));
        assert_eq!(out.matches("BEGIN:VTIMEZONE").count(), 1, "{out}");
        assert!(out.contains("TZID:Europe/Berlin\r\n"), "{out}");
        assert!(
            out.find("BEGIN:VTIMEZONE").unwrap() < out.find("BEGIN:VEVENT").unwrap(),
            "{out}"
        );
        // The rest is the stored text, byte for byte.
        assert!(out.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"));
        assert!(out.ends_with(&BERLIN_REF[BERLIN_REF.find("BEGIN:VEVENT").unwrap()..]));
        // The result parses, and a second pass adds nothing.
        assert!(crate::groupware::ical::parse(out.as_bytes(), &Default::default()).is_ok());
        assert!(matches!(with_timezones(&out), Cow::Borrowed(_)));
        // Leaving standard zones out again gives back the stored text.
        assert_eq!(without_standard_timezones(&out), BERLIN_REF);
    }

    #[test]
    fn utc_objects_and_complete_objects_are_left_alone() {
        let utc = BERLIN_REF
            .replace(";TZID=Europe/Berlin", "")
            .replace(";TZID=\"Europe/Berlin\"", "");
        assert!(matches!(with_timezones(&utc), Cow::Borrowed(_)));
        // An unknown zone cannot be built: nothing to add.
        let unknown = BERLIN_REF.replace("Europe/Berlin", "Mars/Olympus");
        assert!(matches!(with_timezones(&unknown), Cow::Borrowed(_)));
        // A lower-case parameter name is a reference too, and LF line ends stay LF.
        let lf = BERLIN_REF.replace("\r\n", "\n").replace("TZID=", "tzid=");
        let out = with_timezones(&lf);
        assert!(
            out.contains("BEGIN:VTIMEZONE\n") && !out.contains('\r'),
            "{out}"
        );
    }

    #[test]
    fn only_standard_zones_are_left_out() {
        let custom = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:My Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/\r\n Paris\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=My Zone:20260101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let out = without_standard_timezones(custom);
        assert!(out.contains("TZID:My Zone"), "{out}");
        assert!(!out.contains("Paris"), "a folded TZID is read whole: {out}");
        assert_eq!(out.matches("BEGIN:VTIMEZONE").count(), 1, "{out}");
        assert!(is_standard("Europe/Berlin") && is_standard("UTC"));
        assert!(!is_standard("W. Europe Standard Time"));
        assert!(!is_standard("/mozilla.org/20050126_1/Europe/Berlin"));
        assert!(!is_standard("europe/berlin") && !is_standard("Mars/Olympus"));
    }

    #[test]
    fn a_calendar_timezone_is_built_by_name() {
        let text = vtimezone_calendar("America/Los_Angeles").unwrap();
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
        assert!(text.contains("TZID:America/Los_Angeles\r\n"), "{text}");
        assert!(text.contains("BEGIN:DAYLIGHT") && text.contains("TZOFFSETTO:-0700"));
        assert!(vtimezone_calendar("Mars/Olympus").is_none());
    }
}
