//! Tests of expand and limit-recurrence-set: the RFC 4791 §7.8.3/§7.8.4 examples (objects
//! modelled on its Appendix B), time zones, all-day and EXDATE, output form, fixtures and the
//! bounds on pathological input.

use super::*;
use std::time::{Duration, Instant};

use crate::groupware::testkit::{ics, limits, range, t};

const EASTERN: &str = "BEGIN:VTIMEZONE
LAST-MODIFIED:20040110T032845Z
TZID:US/Eastern
BEGIN:DAYLIGHT
DTSTART:20000404T020000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4
TZNAME:EDT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20001026T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZNAME:EST
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
END:VTIMEZONE";

fn abcd2() -> Vec<u8> {
    ics(&format!(
        "{EASTERN}
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=US/Eastern:20060102T120000
DURATION:PT1H
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Event #2
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=US/Eastern:20060104T140000
DURATION:PT1H
RECURRENCE-ID;TZID=US/Eastern:20060104T120000
SUMMARY:Event #2 bis
UID:00959BC664CA650E933C892C@example.com
END:VEVENT"
    ))
}

/// Unfolded content lines, checking CRLF and the 75-octet limit on the way.
fn lines(text: &str) -> Vec<String> {
    assert!(text.ends_with("\r\n"), "{text}");
    let mut out: Vec<String> = Vec::new();
    for raw in text.trim_end_matches("\r\n").split("\r\n") {
        assert!(!raw.contains('\n'), "bare LF in {raw:?}");
        assert!(raw.len() <= 75, "line longer than 75 octets: {raw:?}");
        match (raw.strip_prefix(' '), out.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => out.push(raw.to_string()),
        }
    }
    out
}

/// The unfolded lines of each VEVENT/VTODO (without BEGIN/END).
fn components(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    let mut depth = 0;
    for line in lines(text) {
        if line == "BEGIN:VEVENT" || line == "BEGIN:VTODO" {
            current = Some(Vec::new());
            depth = 0;
            continue;
        }
        if line == "END:VEVENT" || line == "END:VTODO" {
            out.extend(current.take());
            continue;
        }
        if line.starts_with("BEGIN:") {
            depth += 1;
        }
        if let Some(current) = current.as_mut()
            && depth == 0
        {
            current.push(line.clone());
        }
        if line.starts_with("END:") {
            depth -= 1;
        }
    }
    out
}

fn has(component: &[String], line: &str) -> bool {
    component.iter().any(|l| l == line)
}

#[test]
fn rfc4791_7_8_3_expanded_instances() {
    let out = expand(
        &abcd2(),
        &range("2006-01-03T00:00:00Z", "2006-01-05T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("expand");
    assert!(!out.contains("VTIMEZONE"), "{out}");
    assert!(!out.contains("RRULE") && !out.contains("TZID"), "{out}");
    let found = components(&out);
    assert_eq!(found.len(), 2, "{out}");
    let first = &found[0];
    assert!(has(first, "DTSTART:20060103T170000Z"), "{first:?}");
    assert!(has(first, "DURATION:PT1H"), "{first:?}");
    assert!(has(first, "RECURRENCE-ID:20060103T170000Z"), "{first:?}");
    assert!(has(first, "SUMMARY:Event #2"), "{first:?}");
    let second = &found[1];
    assert!(has(second, "DTSTART:20060104T190000Z"), "{second:?}");
    assert!(has(second, "RECURRENCE-ID:20060104T170000Z"), "{second:?}");
    assert!(has(second, "SUMMARY:Event #2 bis"), "{second:?}");
    // The answer is itself a valid object whose instances are the ones shown.
    let object = ical::ingest(out.as_bytes(), &limits()).expect("ingest");
    assert_eq!(
        object.instances,
        [
            (t("2006-01-03T17:00:00Z"), t("2006-01-03T18:00:00Z")),
            (t("2006-01-04T19:00:00Z"), t("2006-01-04T20:00:00Z")),
        ]
    );
}

#[test]
fn rfc4791_7_8_4_limit_recurrence_set() {
    let jan3 = limit_recurrence_set(
        &abcd2(),
        &range("2006-01-03T00:00:00Z", "2006-01-04T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("limit");
    let found = components(&jan3);
    assert_eq!(found.len(), 1, "{jan3}");
    assert!(has(&found[0], "RRULE:FREQ=DAILY;COUNT=5"), "{jan3}");
    assert!(jan3.contains("BEGIN:VTIMEZONE"), "{jan3}");
    let jan4 = limit_recurrence_set(
        &abcd2(),
        &range("2006-01-04T18:00:00Z", "2006-01-05T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("limit");
    assert_eq!(components(&jan4).len(), 2, "{jan4}");
}

#[test]
fn non_recurring_comes_back_in_utc() {
    let object = ics(&format!(
        "{EASTERN}
BEGIN:VEVENT
UID:one
DTSTAMP:20060206T001102Z
DTSTART;TZID=US/Eastern:20060702T100000
DTEND;TZID=US/Eastern:20060702T113000
SUMMARY:Summer
END:VEVENT"
    ));
    // Outside the range: still returned (the query chose the object).
    let out = expand(
        &object,
        &range("2007-01-01T00:00:00Z", "2007-01-02T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("expand");
    let found = components(&out);
    assert_eq!(found.len(), 1);
    assert!(has(&found[0], "DTSTART:20060702T140000Z"), "{out}");
    assert!(has(&found[0], "DTEND:20060702T153000Z"), "{out}");
    assert!(!found[0].iter().any(|l| l.starts_with("RECURRENCE-ID")));
    assert!(!out.contains("VTIMEZONE") && !out.contains("TZID"));
}

#[test]
fn all_day_exdate_and_dst() {
    let object = ics("BEGIN:VEVENT
UID:d
DTSTART;VALUE=DATE:20300101
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;VALUE=DATE:20300115
SUMMARY:all day
END:VEVENT");
    let out = expand(
        &object,
        &range("2029-12-01T00:00:00Z", "2030-02-01T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("expand");
    let found = components(&out);
    assert_eq!(found.len(), 3, "{out}");
    assert!(has(&found[0], "DTSTART;VALUE=DATE:20300101"), "{out}");
    assert!(has(&found[0], "RECURRENCE-ID;VALUE=DATE:20300101"), "{out}");
    assert!(has(&found[1], "DTSTART;VALUE=DATE:20300108"), "{out}");
    assert!(has(&found[2], "DTSTART;VALUE=DATE:20300122"), "{out}");
    assert!(!out.contains("EXDATE") && !out.contains("DTEND"), "{out}");

    // Wall-clock 09:00 Berlin across the March change: 08:00Z, then 07:00Z.
    let zoned = ics("BEGIN:VEVENT
UID:z
DTSTART;TZID=Europe/Berlin:20300324T090000
DTEND;TZID=Europe/Berlin:20300324T100000
RRULE:FREQ=WEEKLY
END:VEVENT");
    let out = expand(
        &zoned,
        &range("2030-03-20T00:00:00Z", "2030-04-05T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("expand");
    let found = components(&out);
    assert_eq!(found.len(), 2, "{out}");
    assert!(has(&found[0], "DTSTART:20300324T080000Z"), "{out}");
    assert!(has(&found[0], "DTEND:20300324T090000Z"), "{out}");
    assert!(has(&found[1], "DTSTART:20300331T070000Z"), "{out}");
    assert!(has(&found[1], "RECURRENCE-ID:20300331T070000Z"), "{out}");
}

#[test]
fn todo_due_and_alarms_are_kept() {
    let object = ics("BEGIN:VTODO
UID:t
DTSTART:20300101T090000Z
DUE:20300101T100000Z
RRULE:FREQ=DAILY;COUNT=3
SUMMARY:daily task
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:reminder
TRIGGER:-PT15M
END:VALARM
END:VTODO");
    let out = expand(
        &object,
        &range("2030-01-02T00:00:00Z", "2030-01-03T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("expand");
    let found = components(&out);
    assert_eq!(found.len(), 1, "{out}");
    assert!(has(&found[0], "DTSTART:20300102T090000Z"), "{out}");
    assert!(has(&found[0], "DUE:20300102T100000Z"), "{out}");
    assert_eq!(out.matches("BEGIN:VALARM").count(), 1, "{out}");
}

#[test]
fn long_lines_are_folded() {
    let long = "x".repeat(300);
    let object = ics(&format!(
        "BEGIN:VEVENT
UID:l
DTSTART:20300101T090000Z
RRULE:FREQ=DAILY;COUNT=2
DESCRIPTION:{long} ü ü ü
END:VEVENT"
    ));
    let out = expand(
        &object,
        &range("2030-01-01T00:00:00Z", "2030-01-03T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("expand");
    let found = components(&out);
    assert_eq!(found.len(), 2);
    assert!(has(&found[1], &format!("DESCRIPTION:{long} ü ü ü")));
}

#[test]
fn secondly_rule_over_a_year_is_bounded() {
    let object = ics("BEGIN:VEVENT
UID:s
DTSTART:20300101T000000Z
RRULE:FREQ=SECONDLY
SUMMARY:tick
END:VEVENT");
    let started = Instant::now();
    // More instances than CALDAV:max-instances: refused, quickly.
    let out = expand(
        &object,
        &range("2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    );
    assert_eq!(out, Err(IngestError::TooManyInstances));
    let limited = limit_recurrence_set(
        &object,
        &range("2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("limit");
    assert_eq!(components(&limited).len(), 1);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn minutely_rule_over_an_hour() {
    let object = ics("BEGIN:VEVENT
UID:m
DTSTART:20300101T000000Z
RRULE:FREQ=MINUTELY
END:VEVENT");
    let out = expand(
        &object,
        &range("2030-06-01T10:00:00Z", "2030-06-01T11:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    )
    .expect("expand");
    let found = components(&out);
    assert_eq!(found.len(), 60);
    assert!(has(&found[0], "DTSTART:20300601T100000Z"));
    assert!(has(&found[59], "RECURRENCE-ID:20300601T105900Z"));
}

#[test]
fn large_instances_are_refused_not_built() {
    let big = "y".repeat(200_000);
    let object = ics(&format!(
        "BEGIN:VEVENT
UID:b
DTSTART:20300101T000000Z
RRULE:FREQ=HOURLY
DESCRIPTION:{big}
END:VEVENT"
    ));
    let started = Instant::now();
    let result = expand(
        &object,
        &range("2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    );
    assert_eq!(result, Err(IngestError::TooManyInstances));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn fixtures_expand_to_valid_calendars() {
    let dir = format!("{}/fixtures/ical", env!("CARGO_MANIFEST_DIR"));
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ics"))
        .collect();
    paths.sort();
    let mut expanded = 0;
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        // What a client PUTs: no METHOD.
        let text: String = text
            .split_inclusive('\n')
            .filter(|line| !line.starts_with("METHOD:"))
            .collect();
        let all = TimeRange {
            start: Some(t("1990-01-01T00:00:00Z")),
            end: Some(t("2040-01-01T00:00:00Z")),
        };
        if let Ok(out) = expand(text.as_bytes(), &all, &limits(), &FloatingZone::utc()) {
            expanded += 1;
            lines(&out);
            assert!(!out.contains("BEGIN:VTIMEZONE"), "{path:?}");
            assert!(
                ical::parse(out.as_bytes(), &limits()).is_ok(),
                "{path:?}\n{out}"
            );
        }
        let _ = limit_recurrence_set(text.as_bytes(), &all, &limits(), &FloatingZone::utc());
    }
    assert!(expanded >= 10, "{expanded}");
}

#[test]
fn expansion_reads_floating_times_in_the_given_zone() {
    let daily = ics(
        "BEGIN:VEVENT\nUID:late\nDTSTAMP:20260101T000000Z\nDTSTART:20260301T233000\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT",
    );
    let week = range("2026-02-27T00:00:00Z", "2026-03-06T00:00:00Z");
    let auckland = crate::groupware::testkit::zone("Pacific/Auckland");
    let los_angeles = crate::groupware::testkit::zone("America/Los_Angeles");
    let out = lines(&expand(&daily, &week, &limits(), &auckland).unwrap());
    let starts: Vec<&String> = out.iter().filter(|l| l.starts_with("DTSTART")).collect();
    assert_eq!(
        starts,
        [
            "DTSTART:20260301T103000Z",
            "DTSTART:20260302T103000Z",
            "DTSTART:20260303T103000Z"
        ],
        "{out:?}"
    );
    assert!(
        out.contains(&"RECURRENCE-ID:20260301T103000Z".to_string()),
        "{out:?}"
    );
    let out = lines(&expand(&daily, &week, &limits(), &los_angeles).unwrap());
    assert!(
        out.contains(&"DTSTART:20260302T073000Z".to_string()),
        "{out:?}"
    );
    // The range is matched in the zone too: Auckland's first instance ends at 11:30Z.
    let first_only = range("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
    let out = expand(&daily, &first_only, &limits(), &auckland).unwrap();
    assert_eq!(out.matches("BEGIN:VEVENT").count(), 1, "{out}");
    assert!(
        expand(&daily, &first_only, &limits(), &los_angeles)
            .unwrap()
            .matches("BEGIN:VEVENT")
            .count()
            == 0
    );

    // All-day instances stay on their dates, found by the zone's days.
    let days = ics(
        "BEGIN:VEVENT\nUID:days\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260301\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT",
    );
    let nz_march_2 = range("2026-03-01T11:00:00Z", "2026-03-01T12:00:00Z");
    let out = lines(&expand(&days, &nz_march_2, &limits(), &auckland).unwrap());
    assert!(
        out.contains(&"DTSTART;VALUE=DATE:20260302".to_string()),
        "{out:?}"
    );
    assert!(
        out.contains(&"RECURRENCE-ID;VALUE=DATE:20260302".to_string()),
        "{out:?}"
    );
    assert_eq!(
        out.iter().filter(|l| l.starts_with("DTSTART")).count(),
        1,
        "{out:?}"
    );
    assert!(!out.iter().any(|l| l.starts_with("DTEND")), "{out:?}");

    // limit-recurrence-set keeps the override that falls in the range in the zone.
    let overridden = ics(
        "BEGIN:VEVENT\nUID:o\nDTSTAMP:20260101T000000Z\nDTSTART:20260301T233000\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\nBEGIN:VEVENT\nUID:o\nDTSTAMP:20260101T000000Z\nRECURRENCE-ID:20260302T233000\nDTSTART:20260302T220000\nDURATION:PT1H\nSUMMARY:moved\nEND:VEVENT",
    );
    let nz_march_2_evening = range("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z");
    let kept =
        limit_recurrence_set(&overridden, &nz_march_2_evening, &limits(), &auckland).unwrap();
    assert!(kept.contains("SUMMARY:moved"), "{kept}");
    let dropped = limit_recurrence_set(
        &overridden,
        &nz_march_2_evening,
        &limits(),
        &FloatingZone::utc(),
    )
    .unwrap();
    assert!(!dropped.contains("SUMMARY:moved"), "{dropped}");
}
