//! iCalendar ingest and the calendar queries run on ingested objects.
//!
//! The whole input is the calendar object (so `.ics` seeds work unchanged); the query
//! range is derived from the object's own bounds and a hash of the input.
#![no_main]

use domus::groupware::filter::{
    Collation, CompFilter, MatchType, PropFilter, TextMatch, TimeRange,
};
use domus::groupware::ical::{FloatingZone, IngestLimits, ingest, overlaps, vtimezones};
use domus::groupware::{expand, filter, freebusy};
use libfuzzer_sys::fuzz_target;

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

fuzz_target!(|data: &[u8]| {
    let limits = IngestLimits::default();
    let Ok(object) = ingest(data, &limits) else {
        return;
    };
    if let (Some(first), Some(last)) = (object.first_start, object.last_end) {
        assert!(
            first <= last,
            "first_start {first} > last_end {last}: {object:?}"
        );
    }
    for w in object.instances.windows(2) {
        assert!(w[0] <= w[1], "instances not ascending: {object:?}");
    }

    let h = fnv(data);
    // A range near the object's start (or near 2024 for objects without one), from an
    // hour to about a year long; sometimes open at one side.
    let anchor = object.first_start.unwrap_or(1_704_067_200);
    let offset = ((h & 0xffff) as i64 - 0x8000) * 600;
    let len = 3_600 + ((h >> 16) & 0xffff) as i64 * 480;
    let start = anchor.saturating_add(offset);
    let end = start.saturating_add(len);
    let range = match (h >> 32) % 8 {
        0 => TimeRange {
            start: None,
            end: Some(end),
        },
        1 => TimeRange {
            start: Some(start),
            end: None,
        },
        _ => TimeRange {
            start: Some(start),
            end: Some(end),
        },
    };
    let (qs, qe) = range.bounds();
    // Floating times read as UTC, east or west of it (the query's or calendar's zone).
    let floating = match (h >> 44) % 3 {
        0 => FloatingZone::utc(),
        1 => FloatingZone::from_name("Pacific/Auckland").unwrap_or_default(),
        _ => FloatingZone::from_name("America/Los_Angeles").unwrap_or_default(),
    };

    let _ = overlaps(data, qs, qe, &limits, &floating);
    let _ = expand::expand(data, &range, &limits, &floating);
    let _ = expand::limit_recurrence_set(data, &range, &limits, &floating);
    // RFC 7809 on the stored text: adding the missing VTIMEZONEs, then leaving out the
    // standard ones.
    if let Ok(text) = std::str::from_utf8(data) {
        let with = vtimezones::with_timezones(text);
        let _ = vtimezones::without_standard_timezones(&with);
    }

    let kind = object.kind.name().to_string();
    let simple = CompFilter {
        name: "VCALENDAR".into(),
        is_not_defined: false,
        time_range: None,
        prop_filters: Vec::new(),
        comp_filters: vec![CompFilter {
            name: kind,
            is_not_defined: false,
            time_range: Some(range),
            prop_filters: vec![PropFilter {
                name: "SUMMARY".into(),
                is_not_defined: false,
                time_range: None,
                text_match: Some(TextMatch {
                    text: "e".into(),
                    collation: Collation::AsciiCasemap,
                    negate: (h >> 40) & 1 == 1,
                    match_type: MatchType::Contains,
                }),
                param_filters: Vec::new(),
            }],
            comp_filters: Vec::new(),
        }],
    };
    let _ = filter::matches(data, &simple, &limits, &floating);

    let periods = freebusy::busy_periods(&[data], &range, &limits, &floating);
    for (s, e, _) in &periods {
        assert!(
            s < e && *s >= qs && *e <= qe,
            "busy period ({s}, {e}) outside {range:?}"
        );
    }
});
