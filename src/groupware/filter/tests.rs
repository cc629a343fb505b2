//! Tests of calendar-query filters: the RFC 4791 §7.8 examples on objects modelled on its
//! Appendix B, each filter element, collations, alarms, recurring objects, the fixtures and
//! the bounds on pathological input.

use super::*;
use std::time::{Duration, Instant};

use crate::groupware::testkit::{ics, limits, range, t};

fn comp(name: &str) -> CompFilter {
    CompFilter {
        name: name.to_string(),
        is_not_defined: false,
        time_range: None,
        prop_filters: Vec::new(),
        comp_filters: Vec::new(),
    }
}

fn prop(name: &str) -> PropFilter {
    PropFilter {
        name: name.to_string(),
        is_not_defined: false,
        time_range: None,
        text_match: None,
        param_filters: Vec::new(),
    }
}

fn text(value: &str) -> TextMatch {
    TextMatch {
        text: value.to_string(),
        collation: Collation::AsciiCasemap,
        negate: false,
        match_type: MatchType::Contains,
    }
}

/// VCALENDAR > `inner`.
fn top(inner: CompFilter) -> CompFilter {
    CompFilter {
        comp_filters: vec![inner],
        ..comp("VCALENDAR")
    }
}

fn check(object: &[u8], filter: &CompFilter) -> bool {
    match matches(object, filter, &limits(), &FloatingZone::utc()) {
        Ok(result) => result,
        Err(e) => panic!("{e}\n{}", String::from_utf8_lossy(object)),
    }
}

// Objects modelled on RFC 4791 Appendix B (US/Eastern written as America/New_York).

fn abcd1() -> Vec<u8> {
    ics("BEGIN:VEVENT
DTSTAMP:20060206T001102Z
DTSTART;TZID=America/New_York:20060102T100000
DURATION:PT1H
SUMMARY:Event #1
Description:Go Steelers!
UID:74855313FA803DA593CD579A@example.com
END:VEVENT")
}

fn abcd2() -> Vec<u8> {
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
END:VEVENT")
}

fn abcd3() -> Vec<u8> {
    ics("BEGIN:VEVENT
ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:cyrus@example.com
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:lisa@example.com
DTSTAMP:20060206T001220Z
DTSTART;TZID=America/New_York:20060104T100000
DURATION:PT1H
LAST-MODIFIED:20060206T001330Z
ORGANIZER:mailto:cyrus@example.com
SEQUENCE:1
STATUS:TENTATIVE
SUMMARY:Event #3
UID:DC6C50A017428C5216A2F1CD@example.com
X-ABC-GUID:E1CX5Dr-0007ym-Hz@example.com
END:VEVENT")
}

fn abcd4() -> Vec<u8> {
    ics("BEGIN:VTODO
DTSTAMP:20060205T235335Z
DUE;VALUE=DATE:20060104
STATUS:NEEDS-ACTION
SUMMARY:Task #1
UID:DDDEEB7915FA61233B861457@example.com
BEGIN:VALARM
ACTION:AUDIO
TRIGGER;RELATED=START:-PT10M
END:VALARM
END:VTODO")
}

fn abcd5() -> Vec<u8> {
    ics("BEGIN:VTODO
DTSTAMP:20060205T235300Z
DTSTART:20060106T120000Z
DUE:20060106T130000Z
LAST-MODIFIED:20060205T235308Z
SEQUENCE:1
STATUS:NEEDS-ACTION
SUMMARY:Task #2
UID:E10BA47467C5C69BB74E8720@example.com
BEGIN:VALARM
ACTION:AUDIO
TRIGGER;RELATED=START:-PT10M
END:VALARM
END:VTODO")
}

fn abcd6() -> Vec<u8> {
    ics("BEGIN:VTODO
COMPLETED:20051223T122322Z
DTSTAMP:20060205T235400Z
DUE;VALUE=DATE:20060102
LAST-MODIFIED:20060205T235308Z
SEQUENCE:1
STATUS:COMPLETED
SUMMARY:Task #3
UID:E10BA47467C5C69BB74E8722@example.com
END:VTODO")
}

fn abcd7() -> Vec<u8> {
    ics("BEGIN:VTODO
DTSTAMP:20060205T235600Z
DUE;VALUE=DATE:20060103
LAST-MODIFIED:20060205T235308Z
SEQUENCE:1
STATUS:CANCELLED
SUMMARY:Task #4
UID:E10BA47467C5C69BB74E8725@example.com
END:VTODO")
}

fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("abcd1", abcd1()),
        ("abcd2", abcd2()),
        ("abcd3", abcd3()),
        ("abcd4", abcd4()),
        ("abcd5", abcd5()),
        ("abcd6", abcd6()),
        ("abcd7", abcd7()),
    ]
}

fn matching(filter: &CompFilter) -> Vec<&'static str> {
    all()
        .into_iter()
        .filter(|(_, object)| check(object, filter))
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn rfc4791_7_8_1_events_in_a_time_range() {
    let filter = top(CompFilter {
        time_range: Some(range("2006-01-04T00:00:00Z", "2006-01-05T00:00:00Z")),
        ..comp("VEVENT")
    });
    assert_eq!(matching(&filter), ["abcd2", "abcd3"]);
}

#[test]
fn rfc4791_7_8_5_todos_by_alarm_time_range() {
    let filter = top(CompFilter {
        comp_filters: vec![CompFilter {
            time_range: Some(range("2006-01-06T11:00:00Z", "2006-01-06T12:00:00Z")),
            ..comp("VALARM")
        }],
        ..comp("VTODO")
    });
    // abcd5's alarm fires at 11:50Z; abcd4 has no DTSTART, so a RELATED=START alarm on it
    // is read from DUE (the span's start).
    assert_eq!(matching(&filter), ["abcd5"]);
}

#[test]
fn rfc4791_7_8_6_uid_text_match() {
    let filter = top(CompFilter {
        prop_filters: vec![PropFilter {
            text_match: Some(text("DC6C50A017428C5216A2F1CD@example.com")),
            ..prop("UID")
        }],
        ..comp("VEVENT")
    });
    assert_eq!(matching(&filter), ["abcd3"]);
}

#[test]
fn rfc4791_7_8_7_attendee_with_partstat() {
    let filter = |partstat: &str| {
        top(CompFilter {
            prop_filters: vec![PropFilter {
                text_match: Some(TextMatch {
                    match_type: MatchType::Equals,
                    ..text("mailto:lisa@example.com")
                }),
                param_filters: vec![ParamFilter {
                    name: "PARTSTAT".to_string(),
                    is_not_defined: false,
                    text_match: Some(text(partstat)),
                }],
                ..prop("ATTENDEE")
            }],
            ..comp("VEVENT")
        })
    };
    assert_eq!(matching(&filter("NEEDS-ACTION")), ["abcd3"]);
    // cyrus accepted, lisa did not: the same property must satisfy both.
    assert!(matching(&filter("ACCEPTED")).is_empty());
}

#[test]
fn rfc4791_7_8_8_todos_not_completed_or_cancelled() {
    let filter = top(CompFilter {
        prop_filters: vec![
            PropFilter {
                is_not_defined: true,
                ..prop("COMPLETED")
            },
            PropFilter {
                text_match: Some(TextMatch {
                    negate: true,
                    ..text("CANCELLED")
                }),
                ..prop("STATUS")
            },
        ],
        ..comp("VTODO")
    });
    assert_eq!(matching(&filter), ["abcd4", "abcd5"]);
}

#[test]
fn rfc4791_7_8_9_recurring_master_and_override() {
    let tr = |start: &str, end: &str| {
        top(CompFilter {
            time_range: Some(range(start, end)),
            ..comp("VEVENT")
        })
    };
    let object = abcd2();
    // Third instance (master): 2006-01-03 17:00Z.
    assert!(check(
        &object,
        &tr("2006-01-03T17:30:00Z", "2006-01-03T18:00:00Z")
    ));
    // The fourth instance was moved from 17:00Z to 19:00Z.
    assert!(!check(
        &object,
        &tr("2006-01-04T17:00:00Z", "2006-01-04T18:00:00Z")
    ));
    assert!(check(
        &object,
        &tr("2006-01-04T19:00:00Z", "2006-01-04T19:30:00Z")
    ));
    // After COUNT=5.
    assert!(!check(
        &object,
        &tr("2006-01-07T00:00:00Z", "2006-02-01T00:00:00Z")
    ));
}

#[test]
fn override_is_its_own_component_for_prop_filters() {
    let bis = |tr: TimeRange| {
        top(CompFilter {
            time_range: Some(tr),
            prop_filters: vec![PropFilter {
                text_match: Some(text("bis")),
                ..prop("SUMMARY")
            }],
            ..comp("VEVENT")
        })
    };
    let object = abcd2();
    assert!(check(
        &object,
        &bis(range("2006-01-04T19:00:00Z", "2006-01-04T20:00:00Z"))
    ));
    // A master instance is in this range, but the master's SUMMARY is not "bis".
    assert!(!check(
        &object,
        &bis(range("2006-01-03T17:00:00Z", "2006-01-03T18:00:00Z"))
    ));
}

#[test]
fn top_filter_and_is_not_defined() {
    let object = abcd1();
    assert!(check(&object, &comp("VCALENDAR")));
    assert!(!check(&object, &comp("VCARD")));
    assert!(check(
        &object,
        &CompFilter {
            is_not_defined: true,
            ..comp("VCARD")
        }
    ));
    assert!(check(&object, &top(comp("VEVENT"))));
    assert!(!check(&object, &top(comp("VTODO"))));
    assert!(check(
        &object,
        &top(CompFilter {
            is_not_defined: true,
            ..comp("VTODO")
        })
    ));
    let no_alarm = top(CompFilter {
        comp_filters: vec![CompFilter {
            is_not_defined: true,
            ..comp("VALARM")
        }],
        ..comp("VTODO")
    });
    assert!(!check(&abcd4(), &no_alarm));
    assert!(check(&abcd6(), &no_alarm));
    // Names compare case-insensitively.
    assert!(check(&object, &top(comp("vevent"))));
    let with_x = top(CompFilter {
        prop_filters: vec![prop("X-ABC-GUID")],
        ..comp("VEVENT")
    });
    assert_eq!(matching(&with_x), ["abcd3"]);
}

#[test]
fn text_match_collations_and_match_types() {
    let object = ics("BEGIN:VEVENT
UID:x
DTSTART:20060104T100000Z
SUMMARY:Äpfel und Birnen\\, frisch
CATEGORIES:Work,Ärger
END:VEVENT");
    let summary = |tm: TextMatch| {
        top(CompFilter {
            prop_filters: vec![PropFilter {
                text_match: Some(tm),
                ..prop("SUMMARY")
            }],
            ..comp("VEVENT")
        })
    };
    // Unescaped text.
    assert!(check(&object, &summary(text("birnen, FRISCH"))));
    // ascii-casemap folds ASCII only.
    assert!(!check(&object, &summary(text("äpfel"))));
    let unicode = |value: &str| TextMatch {
        collation: Collation::UnicodeCasemap,
        ..text(value)
    };
    assert!(check(&object, &summary(unicode("äPFEL"))));
    let octet = |value: &str| TextMatch {
        collation: Collation::Octet,
        ..text(value)
    };
    assert!(check(&object, &summary(octet("Äpfel"))));
    assert!(!check(&object, &summary(octet("äpfel"))));
    let typed = |value: &str, match_type| TextMatch {
        match_type,
        ..text(value)
    };
    assert!(check(
        &object,
        &summary(typed("Äpfel UND", MatchType::StartsWith))
    ));
    assert!(!check(
        &object,
        &summary(typed("und", MatchType::StartsWith))
    ));
    assert!(check(
        &object,
        &summary(typed("FRISCH", MatchType::EndsWith))
    ));
    assert!(!check(
        &object,
        &summary(typed("frisch", MatchType::Equals))
    ));
    assert!(check(
        &object,
        &summary(typed("Äpfel und Birnen, frisch", MatchType::Equals))
    ));
    assert!(!check(
        &object,
        &summary(TextMatch {
            negate: true,
            ..text("birnen")
        })
    ));
    let category = |tm: TextMatch| {
        top(CompFilter {
            prop_filters: vec![PropFilter {
                text_match: Some(tm),
                ..prop("CATEGORIES")
            }],
            ..comp("VEVENT")
        })
    };
    // Any value of a list.
    assert!(!check(
        &object,
        &category(typed("ärger", MatchType::Equals))
    ));
    assert!(check(
        &object,
        &category(TextMatch {
            collation: Collation::UnicodeCasemap,
            ..typed("ärger", MatchType::Equals)
        })
    ));
    assert!(check(&object, &category(typed("work", MatchType::Equals))));
    // A missing property never matches a text-match, negated or not.
    let location = top(CompFilter {
        prop_filters: vec![PropFilter {
            text_match: Some(TextMatch {
                negate: true,
                ..text("x")
            }),
            ..prop("LOCATION")
        }],
        ..comp("VEVENT")
    });
    assert!(!check(&object, &location));
    // Non-text values are matched in their iCalendar form.
    let dtstart = top(CompFilter {
        prop_filters: vec![PropFilter {
            text_match: Some(text("20060104T10")),
            ..prop("DTSTART")
        }],
        ..comp("VEVENT")
    });
    assert!(check(&object, &dtstart));
}

#[test]
fn text_match_api_for_carddav() {
    let tm = TextMatch {
        match_type: MatchType::EndsWith,
        ..text("@EXAMPLE.com")
    };
    assert!(tm.test(["a@example.org", "b@example.COM"]));
    assert!(!tm.test(["a@example.org"]));
    assert!(
        TextMatch {
            negate: true,
            ..tm.clone()
        }
        .test(["a@example.org"])
    );
    assert_eq!(
        Collation::from_name("i;unicode-casemap"),
        Some(Collation::UnicodeCasemap)
    );
    assert_eq!(Collation::from_name("i;nope"), None);
}

#[test]
fn param_filter_is_not_defined_and_presence() {
    let filter = |pf: ParamFilter| {
        top(CompFilter {
            prop_filters: vec![PropFilter {
                param_filters: vec![pf],
                ..prop("ATTENDEE")
            }],
            ..comp("VEVENT")
        })
    };
    let role = |is_not_defined| ParamFilter {
        name: "ROLE".to_string(),
        is_not_defined,
        text_match: None,
    };
    // lisa has no ROLE, cyrus has one.
    assert!(check(&abcd3(), &filter(role(true))));
    assert!(check(&abcd3(), &filter(role(false))));
    let rsvp = ParamFilter {
        name: "RSVP".to_string(),
        is_not_defined: false,
        text_match: None,
    };
    assert!(!check(&abcd3(), &filter(rsvp)));
}

#[test]
fn prop_filter_time_range() {
    let filter = |name: &str, tr: TimeRange| {
        top(CompFilter {
            prop_filters: vec![PropFilter {
                time_range: Some(tr),
                ..prop(name)
            }],
            ..comp("VTODO")
        })
    };
    let completed = filter(
        "COMPLETED",
        range("2005-12-23T00:00:00Z", "2005-12-24T00:00:00Z"),
    );
    assert_eq!(matching(&completed), ["abcd6"]);
    // Half-open: the end is excluded, the start included.
    let at = filter(
        "DTSTAMP",
        range("2006-02-05T23:53:00Z", "2006-02-05T23:53:35Z"),
    );
    assert_eq!(matching(&at), ["abcd5"]);
    // A DATE value is its whole day.
    let due = filter("DUE", range("2006-01-04T12:00:00Z", "2006-01-04T13:00:00Z"));
    assert_eq!(matching(&due), ["abcd4"]);
    let open = filter(
        "DTSTAMP",
        TimeRange {
            start: Some(t("2006-02-05T23:55:00Z")),
            end: None,
        },
    );
    assert_eq!(matching(&open), ["abcd7"]);
}

fn alarm_filter(parent: &str, tr: TimeRange) -> CompFilter {
    top(CompFilter {
        comp_filters: vec![CompFilter {
            time_range: Some(tr),
            ..comp("VALARM")
        }],
        ..comp(parent)
    })
}

#[test]
fn alarm_triggers_related_end_absolute_and_repeat() {
    let object = ics("BEGIN:VEVENT
UID:a
DTSTART:20300110T100000Z
DTEND:20300110T110000Z
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:end
TRIGGER;RELATED=END:PT5M
END:VALARM
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:abs
TRIGGER;VALUE=DATE-TIME:20300101T080000Z
REPEAT:3
DURATION:PT1H
END:VALARM
END:VEVENT");
    let f = |s, e| alarm_filter("VEVENT", range(s, e));
    assert!(check(
        &object,
        &f("2030-01-10T11:05:00Z", "2030-01-10T11:06:00Z")
    ));
    assert!(!check(
        &object,
        &f("2030-01-10T11:00:00Z", "2030-01-10T11:05:00Z")
    ));
    // Absolute trigger 08:00, repeated at 09:00, 10:00, 11:00.
    assert!(check(
        &object,
        &f("2030-01-01T10:30:00Z", "2030-01-01T11:00:01Z")
    ));
    assert!(!check(
        &object,
        &f("2030-01-01T11:00:01Z", "2030-01-01T12:00:00Z")
    ));
    assert!(!check(
        &object,
        &f("2030-01-01T07:00:00Z", "2030-01-01T08:00:00Z")
    ));
}

#[test]
fn alarm_on_recurring_event_uses_each_instance() {
    let object = ics("BEGIN:VEVENT
UID:r
DTSTART;TZID=Europe/Berlin:20300101T090000
DTEND;TZID=Europe/Berlin:20300101T100000
RRULE:FREQ=WEEKLY
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:soon
TRIGGER:-P1D
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:r
RECURRENCE-ID;TZID=Europe/Berlin:20300115T090000
DTSTART;TZID=Europe/Berlin:20300115T150000
DTEND;TZID=Europe/Berlin:20300115T160000
END:VEVENT");
    let f = |s, e| alarm_filter("VEVENT", range(s, e));
    // 2030-07-02 09:00 CEST = 07:00Z; the alarm fires a day before.
    assert!(check(
        &object,
        &f("2030-07-01T07:00:00Z", "2030-07-01T07:01:00Z")
    ));
    assert!(!check(
        &object,
        &f("2030-07-01T08:00:00Z", "2030-07-01T09:00:00Z")
    ));
    // The overridden instance has no alarm of its own.
    assert!(!check(
        &object,
        &f("2030-01-14T14:00:00Z", "2030-01-14T15:00:00Z")
    ));
    // ... and the master's alarm does not fire for the instance it replaced.
    assert!(!check(
        &object,
        &f("2030-01-14T08:00:00Z", "2030-01-14T08:01:00Z")
    ));
}

#[test]
fn alarm_with_huge_repeat_is_constant_time() {
    let object = ics("BEGIN:VEVENT
UID:a
DTSTART:20300110T100000Z
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:x
TRIGGER:-PT1S
REPEAT:2000000000
DURATION:PT1S
END:VALARM
END:VEVENT");
    let started = Instant::now();
    let f = |s, e| alarm_filter("VEVENT", range(s, e));
    assert!(check(
        &object,
        &f("2060-01-01T00:00:00Z", "2060-01-01T00:00:01Z")
    ));
    assert!(!check(
        &object,
        &f("2100-01-01T00:00:00Z", "2100-01-02T00:00:00Z")
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn vfreebusy_time_range() {
    let object = ics("BEGIN:VFREEBUSY
UID:fb
DTSTAMP:20060206T001102Z
FREEBUSY;FBTYPE=BUSY:20060105T140000Z/PT1H,20060105T170000Z/20060105T180000Z
END:VFREEBUSY");
    let f = |s, e| {
        top(CompFilter {
            time_range: Some(range(s, e)),
            ..comp("VFREEBUSY")
        })
    };
    assert!(check(
        &object,
        &f("2006-01-05T14:30:00Z", "2006-01-05T14:40:00Z")
    ));
    assert!(check(
        &object,
        &f("2006-01-05T17:59:00Z", "2006-01-05T20:00:00Z")
    ));
    assert!(!check(
        &object,
        &f("2006-01-05T15:00:00Z", "2006-01-05T17:00:00Z")
    ));
    let bounded = ics("BEGIN:VFREEBUSY
UID:fb
DTSTART:20060105T000000Z
DTEND:20060106T000000Z
END:VFREEBUSY");
    assert!(check(
        &bounded,
        &f("2006-01-05T23:00:00Z", "2006-01-07T00:00:00Z")
    ));
    assert!(!check(
        &bounded,
        &f("2006-01-06T00:00:01Z", "2006-01-07T00:00:00Z")
    ));
}

#[test]
fn secondly_rule_without_end_is_bounded() {
    let object = ics("BEGIN:VEVENT
UID:s
DTSTART:20300101T000000Z
RRULE:FREQ=SECONDLY
SUMMARY:tick
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:x
TRIGGER:-PT1S
END:VALARM
END:VEVENT");
    let started = Instant::now();
    let year = top(CompFilter {
        time_range: Some(range("2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z")),
        prop_filters: vec![PropFilter {
            text_match: Some(text("tick")),
            ..prop("SUMMARY")
        }],
        ..comp("VEVENT")
    });
    assert!(check(&object, &year));
    let alarm = alarm_filter(
        "VEVENT",
        range("2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z"),
    );
    assert!(check(&object, &alarm));
    let before = top(CompFilter {
        time_range: Some(range("2029-01-01T00:00:00Z", "2029-12-31T00:00:00Z")),
        ..comp("VEVENT")
    });
    assert!(!check(&object, &before));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn many_overrides_with_many_filters_stay_bounded() {
    let mut body = String::from(
        "BEGIN:VEVENT\nUID:m\nDTSTART:20300101T000000Z\nRRULE:FREQ=HOURLY\nBEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:x\nTRIGGER:-PT30M\nEND:VALARM\nEND:VEVENT\n",
    );
    for i in 0..2000 {
        body.push_str(&format!(
            "BEGIN:VEVENT\nUID:m\nRECURRENCE-ID:2030{:02}{:02}T{:02}0000Z\nDTSTART:20300101T000000Z\nBEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:x\nTRIGGER:-PT{}M\nEND:VALARM\nEND:VEVENT\n",
            1 + i / 600,
            1 + (i / 24) % 25,
            i % 24,
            i + 1
        ));
    }
    let object = ics(body.trim_end());
    let started = Instant::now();
    let filter = alarm_filter(
        "VEVENT",
        range("2040-01-01T00:00:00Z", "2040-01-02T00:00:00Z"),
    );
    assert!(check(&object, &filter));
    // The overrides start at 2030-01-01T00:00Z; their alarms fire just before.
    let overrides_only = top(CompFilter {
        comp_filters: vec![CompFilter {
            time_range: Some(range("2029-12-01T00:00:00Z", "2030-01-01T00:00:00Z")),
            ..comp("VALARM")
        }],
        prop_filters: vec![prop("RECURRENCE-ID")],
        ..comp("VEVENT")
    });
    assert!(check(&object, &overrides_only));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn fixtures_do_not_panic() {
    let dir = format!("{}/fixtures/ical", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ics"))
        .collect();
    names.sort();
    let filters = [
        top(CompFilter {
            time_range: Some(range("2000-01-01T00:00:00Z", "2040-01-01T00:00:00Z")),
            comp_filters: vec![CompFilter {
                time_range: Some(range("2000-01-01T00:00:00Z", "2040-01-01T00:00:00Z")),
                ..comp("VALARM")
            }],
            prop_filters: vec![PropFilter {
                text_match: Some(text("e")),
                ..prop("SUMMARY")
            }],
            ..comp("VEVENT")
        }),
        top(CompFilter {
            prop_filters: vec![PropFilter {
                time_range: Some(range("2000-01-01T00:00:00Z", "2040-01-01T00:00:00Z")),
                ..prop("DTSTAMP")
            }],
            ..comp("VTODO")
        }),
    ];
    for path in names {
        let bytes = std::fs::read(&path).expect("fixture");
        for filter in &filters {
            let _ = matches(&bytes, filter, &limits(), &FloatingZone::utc());
        }
    }
}

#[test]
fn google_fixture_alarms() {
    let path = format!(
        "{}/fixtures/ical/google-multiple-valarms-email-action.ics",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(path).expect("fixture");
    // What a client PUTs: the object without its METHOD.
    let bytes: Vec<u8> = String::from_utf8_lossy(&bytes)
        .replace("METHOD:PUBLISH\r\n", "")
        .into_bytes();
    let any_alarm = alarm_filter(
        "VEVENT",
        TimeRange {
            start: None,
            end: None,
        },
    );
    assert!(check(&bytes, &any_alarm));
    let never = alarm_filter(
        "VEVENT",
        range("1990-01-01T00:00:00Z", "1990-01-02T00:00:00Z"),
    );
    assert!(!check(&bytes, &never));
}

#[test]
fn refuses_what_ingest_refuses() {
    assert!(
        matches(
            b"nonsense",
            &comp("VCALENDAR"),
            &limits(),
            &FloatingZone::utc()
        )
        .is_err()
    );
    let big = IngestLimits {
        max_bytes: 10,
        ..limits()
    };
    assert_eq!(
        matches(&abcd1(), &comp("VCALENDAR"), &big, &FloatingZone::utc()),
        Err(IngestError::TooLarge)
    );
}

#[test]
fn time_ranges_read_floating_times_in_the_given_zone() {
    let floating = ics(
        "BEGIN:VEVENT\nUID:late\nDTSTAMP:20260101T000000Z\nDTSTART:20260301T233000\nDTEND:20260302T003000\nEND:VEVENT",
    );
    let auckland = crate::groupware::testkit::zone("Pacific/Auckland");
    let los_angeles = crate::groupware::testkit::zone("America/Los_Angeles");
    let utc = FloatingZone::utc();
    let evaluate = |filter: &CompFilter, zone: &FloatingZone| {
        matches(&floating, filter, &limits(), zone).expect("valid object")
    };
    // Component time range: 10:30Z-11:30Z in Auckland, 07:30Z-08:30Z next day in LA.
    let nz_hour = top(CompFilter {
        time_range: Some(range("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")),
        ..comp("VEVENT")
    });
    assert!(evaluate(&nz_hour, &auckland));
    assert!(!evaluate(&nz_hour, &los_angeles));
    assert!(!evaluate(&nz_hour, &utc));
    // Property time range on DTSTART: an instant, in the same zone.
    let dtstart_at = |start: &str, end: &str| {
        top(CompFilter {
            prop_filters: vec![PropFilter {
                time_range: Some(range(start, end)),
                ..prop("DTSTART")
            }],
            ..comp("VEVENT")
        })
    };
    let la_start = dtstart_at("2026-03-02T07:30:00Z", "2026-03-02T07:31:00Z");
    assert!(evaluate(&la_start, &los_angeles));
    assert!(!evaluate(&la_start, &auckland));
    assert!(!evaluate(&la_start, &utc));

    // A DATE property is the zone's whole day.
    let all_day = ics(
        "BEGIN:VEVENT\nUID:day\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260301\nEND:VEVENT",
    );
    let day_start = top(CompFilter {
        prop_filters: vec![PropFilter {
            time_range: Some(range("2026-02-28T11:00:00Z", "2026-02-28T11:01:00Z")),
            ..prop("DTSTART")
        }],
        ..comp("VEVENT")
    });
    assert!(matches(&all_day, &day_start, &limits(), &auckland).unwrap());
    assert!(!matches(&all_day, &day_start, &limits(), &utc).unwrap());
}
