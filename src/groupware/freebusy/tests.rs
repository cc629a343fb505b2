//! Tests of free-busy: the RFC 4791 §7.10 example (objects modelled on its Appendix B),
//! transparency and status per component, clipping and merging, VFREEBUSY fixtures, the
//! answer's form and the bounds on pathological input.

use super::*;
use std::time::{Duration, Instant};

use crate::groupware::testkit::{ics, limits, range, t};

fn busy(objects: &[Vec<u8>], r: &TimeRange) -> Vec<(i64, i64, BusyType)> {
    let refs: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
    busy_periods(&refs, r, &limits(), &FloatingZone::utc())
}

fn appendix_b() -> Vec<Vec<u8>> {
    vec![
        ics("BEGIN:VEVENT
DTSTAMP:20060206T001102Z
DTSTART;TZID=America/New_York:20060102T100000
DURATION:PT1H
SUMMARY:Event #1
UID:74855313FA803DA593CD579A@example.com
END:VEVENT"),
        ics("BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=America/New_York:20060102T120000
DURATION:PT1H
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Event #2
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=America/New_York:20060104T140000
DURATION:PT1H
RECURRENCE-ID;TZID=America/New_York:20060104T120000
SUMMARY:Event #2 bis
UID:00959BC664CA650E933C892C@example.com
END:VEVENT"),
        ics("BEGIN:VEVENT
DTSTAMP:20060206T001220Z
DTSTART;TZID=America/New_York:20060104T100000
DURATION:PT1H
STATUS:TENTATIVE
SUMMARY:Event #3
UID:DC6C50A017428C5216A2F1CD@example.com
END:VEVENT"),
        ics("BEGIN:VTODO
DTSTAMP:20060205T235335Z
DTSTART:20060104T160000Z
DUE:20060104T170000Z
STATUS:NEEDS-ACTION
SUMMARY:Task #1
UID:DDDEEB7915FA61233B861457@example.com
END:VTODO"),
        ics("BEGIN:VFREEBUSY
ORGANIZER;CN=\"Bernard Desruisseaux\":mailto:bernard@example.com
UID:76ef34-54a3d2@example.com
DTSTAMP:20050530T123421Z
DTSTART:20060101T000000Z
DTEND:20060108T000000Z
FREEBUSY:20050531T230000Z/20050601T010000Z
FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z
FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20060104T200000Z/PT2H
FREEBUSY;FBTYPE=FREE:20060104T210000Z/PT2H
END:VFREEBUSY"),
    ]
}

#[test]
fn rfc4791_7_10_free_busy_query() {
    let r = range("2006-01-04T14:00:00Z", "2006-01-05T00:00:00Z");
    let periods = busy(&appendix_b(), &r);
    assert_eq!(
        periods,
        [
            // Event #3, tentative, 10:00 EST.
            (
                t("2006-01-04T15:00:00Z"),
                t("2006-01-04T16:00:00Z"),
                BusyType::Tentative
            ),
            // Event #2's moved instance (the 17:00Z one was overridden); the VTODO does not
            // count.
            (
                t("2006-01-04T19:00:00Z"),
                t("2006-01-04T20:00:00Z"),
                BusyType::Busy
            ),
            (
                t("2006-01-04T20:00:00Z"),
                t("2006-01-04T22:00:00Z"),
                BusyType::Unavailable
            ),
        ]
    );
    let answer = vfreebusy(&periods, &r, t("2006-02-06T00:00:00Z"));
    assert_eq!(
        answer,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//domus//CalDAV free-busy//EN\r\n\
         CALSCALE:GREGORIAN\r\nBEGIN:VFREEBUSY\r\nDTSTAMP:20060206T000000Z\r\n\
         DTSTART:20060104T140000Z\r\nDTEND:20060105T000000Z\r\n\
         FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060104T150000Z/20060104T160000Z\r\n\
         FREEBUSY;FBTYPE=BUSY:20060104T190000Z/20060104T200000Z\r\n\
         FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20060104T200000Z/20060104T220000Z\r\n\
         END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    );
}

#[test]
fn transparent_and_cancelled_per_component() {
    let objects = vec![
        ics("BEGIN:VEVENT
UID:a
DTSTART:20300101T090000Z
DTEND:20300101T100000Z
TRANSP:TRANSPARENT
END:VEVENT"),
        ics("BEGIN:VEVENT
UID:b
DTSTART:20300101T120000Z
DTEND:20300101T130000Z
STATUS:CANCELLED
END:VEVENT"),
        // A daily series with one instance cancelled by its override.
        ics("BEGIN:VEVENT
UID:c
DTSTART:20300101T140000Z
DTEND:20300101T150000Z
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:c
RECURRENCE-ID:20300102T140000Z
DTSTART:20300102T140000Z
DTEND:20300102T150000Z
STATUS:CANCELLED
END:VEVENT"),
    ];
    let periods = busy(
        &objects,
        &range("2030-01-01T00:00:00Z", "2030-01-04T00:00:00Z"),
    );
    assert_eq!(
        periods,
        [
            (
                t("2030-01-01T14:00:00Z"),
                t("2030-01-01T15:00:00Z"),
                BusyType::Busy
            ),
            (
                t("2030-01-03T14:00:00Z"),
                t("2030-01-03T15:00:00Z"),
                BusyType::Busy
            ),
        ]
    );
}

#[test]
fn clipped_merged_and_sorted() {
    let objects = vec![
        ics("BEGIN:VEVENT
UID:a
DTSTART:20300101T080000Z
DTEND:20300101T100000Z
END:VEVENT"),
        ics("BEGIN:VEVENT
UID:b
DTSTART:20300101T095000Z
DTEND:20300101T110000Z
END:VEVENT"),
        // Touching: merged.
        ics("BEGIN:VEVENT
UID:c
DTSTART:20300101T110000Z
DTEND:20300101T113000Z
END:VEVENT"),
        // Zero length: nothing.
        ics("BEGIN:VEVENT
UID:d
DTSTART:20300101T150000Z
END:VEVENT"),
        // All day: the UTC day, clipped.
        ics("BEGIN:VEVENT
UID:e
DTSTART;VALUE=DATE:20300101
STATUS:TENTATIVE
END:VEVENT"),
        b"not a calendar".to_vec(),
    ];
    let periods = busy(
        &objects,
        &range("2030-01-01T09:00:00Z", "2030-01-01T18:00:00Z"),
    );
    assert_eq!(
        periods,
        [
            (
                t("2030-01-01T09:00:00Z"),
                t("2030-01-01T11:30:00Z"),
                BusyType::Busy
            ),
            (
                t("2030-01-01T09:00:00Z"),
                t("2030-01-01T18:00:00Z"),
                BusyType::Tentative
            ),
        ]
    );
}

#[test]
fn vfreebusy_fixtures() {
    let read = |name: &str| {
        let path = format!("{}/fixtures/ical/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).expect("fixture")
    };
    let zimbra = read("zimbra-vfreebusy-publish.ics");
    let all = TimeRange {
        start: None,
        end: None,
    };
    let periods = busy(&[zimbra], &all);
    assert!(!periods.is_empty() && periods.len() <= 29, "{periods:?}");
    assert!(periods.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(periods.iter().all(|p| p.2 == BusyType::Busy && p.0 < p.1));
    // Broken dates: no panic, whatever is readable.
    let _ = busy(
        &[read("outlook2003-vfreebusy-malformed-7digit-dates.ics")],
        &all,
    );
    let _ = busy(
        &[read("apple-ical1-mixed-components-vjournal-vfreebusy.ics")],
        &all,
    );
    // Unbounded range: DTSTART/DTEND are left out.
    let answer = vfreebusy(&periods, &all, 0);
    assert!(!answer.contains("DTSTART") && !answer.contains("DTEND"));
    assert!(answer.contains("DTSTAMP:19700101T000000Z"));
}

#[test]
fn every_fixture_is_handled() {
    let dir = format!("{}/fixtures/ical", env!("CARGO_MANIFEST_DIR"));
    let objects: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read(e.path()).unwrap_or_default())
        .collect();
    let refs: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
    let periods = busy_periods(
        &refs,
        &range("1990-01-01T00:00:00Z", "2040-01-01T00:00:00Z"),
        &limits(),
        &FloatingZone::utc(),
    );
    assert!(!periods.is_empty());
}

#[test]
fn secondly_rule_over_a_year_is_bounded() {
    let object = ics("BEGIN:VEVENT
UID:s
DTSTART:20300101T000000Z
DTEND:20300101T000001Z
RRULE:FREQ=SECONDLY
END:VEVENT");
    let objects = vec![object; 20];
    let started = Instant::now();
    let periods = busy(
        &objects,
        &range("2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z"),
    );
    // At most max_instances instances per object, merged: the result is small.
    assert!(periods.len() <= limits().max_instances);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn hourly_rule_merges_per_type() {
    let object = ics("BEGIN:VEVENT
UID:h
DTSTART:20300101T000000Z
DTEND:20300101T010000Z
RRULE:FREQ=HOURLY
END:VEVENT");
    let periods = busy(
        &[object],
        &range("2030-03-01T00:00:00Z", "2030-03-02T00:00:00Z"),
    );
    assert_eq!(
        periods,
        [(
            t("2030-03-01T00:00:00Z"),
            t("2030-03-02T00:00:00Z"),
            BusyType::Busy
        )]
    );
}

#[test]
fn floating_events_are_busy_in_the_calendar_zone() {
    let late = ics(
        "BEGIN:VEVENT\nUID:late\nDTSTAMP:20260101T000000Z\nDTSTART:20260301T233000\nDTEND:20260302T003000\nEND:VEVENT",
    );
    let days = range("2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z");
    let periods = |zone: &FloatingZone| busy_periods(&[&late], &days, &limits(), zone);
    assert_eq!(
        periods(&crate::groupware::testkit::zone("Pacific/Auckland")),
        [(
            t("2026-03-01T10:30:00Z"),
            t("2026-03-01T11:30:00Z"),
            BusyType::Busy
        )]
    );
    assert_eq!(
        periods(&crate::groupware::testkit::zone("America/Los_Angeles")),
        [(
            t("2026-03-02T07:30:00Z"),
            t("2026-03-02T08:30:00Z"),
            BusyType::Busy
        )]
    );
    assert_eq!(
        periods(&FloatingZone::utc()),
        [(
            t("2026-03-01T23:30:00Z"),
            t("2026-03-02T00:30:00Z"),
            BusyType::Busy
        )]
    );
}
