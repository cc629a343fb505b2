//! Tests of iCalendar ingest: real client files from `fixtures/ical/` (see its MANIFEST.md),
//! small hand-written objects for each RFC 4791 §9.9 rule and recurrence feature, bounds on
//! pathological rules, and a no-panic sweep over mutated fixtures.

use super::*;
use chrono::DateTime;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/ical/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_names() -> Vec<String> {
    let dir = format!("{}/fixtures/ical", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures/ical")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".ics"))
        .collect();
    names.sort();
    names
}

/// Unix seconds of an RFC 3339 instant.
fn t(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .timestamp()
}

/// Fixed limits so results do not depend on today's date.
fn limits() -> IngestLimits {
    IngestLimits {
        horizon_end: t("2035-01-01T00:00:00Z"),
        ..IngestLimits::default()
    }
}

fn ok(text: &[u8]) -> CalendarObject {
    match ingest(text, &limits()) {
        Ok(object) => object,
        Err(e) => panic!("refused: {e}\n{}", String::from_utf8_lossy(text)),
    }
}

fn err(text: &[u8]) -> IngestError {
    match ingest(text, &limits()) {
        Ok(object) => panic!("accepted: {object:?}\n{}", String::from_utf8_lossy(text)),
        Err(e) => e,
    }
}

/// Unfolded content lines.
fn lines(text: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(text).split('\n') {
        let line = line.trim_end_matches('\r');
        match (line.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => out.push(line.to_string()),
        }
    }
    out
}

/// The object without its METHOD line: what a client PUTs after receiving an invitation.
fn without_method(text: &[u8]) -> Vec<u8> {
    let kept: Vec<String> = lines(text)
        .into_iter()
        .filter(|line| !line.starts_with("METHOD:"))
        .collect();
    kept.join("\r\n").into_bytes()
}

/// The part of a multi-object export holding one UID (and the VTIMEZONEs): what an importer
/// PUTs as one calendar object resource.
fn only_uid(text: &[u8], uid: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut block: Option<Vec<String>> = None;
    let mut depth = 0;
    for line in lines(without_method(text).as_slice()) {
        let main_begin = [
            "BEGIN:VEVENT",
            "BEGIN:VTODO",
            "BEGIN:VJOURNAL",
            "BEGIN:VFREEBUSY",
        ]
        .contains(&line.as_str());
        if let Some(current) = block.as_mut() {
            current.push(line.clone());
            if line.starts_with("BEGIN:") {
                depth += 1;
            } else if line.starts_with("END:") {
                depth -= 1;
                if depth == 0 {
                    let done = block.take().unwrap_or_default();
                    if done.iter().any(|l| l.strip_prefix("UID:") == Some(uid)) {
                        out.extend(done);
                    }
                }
            }
        } else if main_begin {
            depth = 1;
            block = Some(vec![line]);
        } else {
            out.push(line);
        }
    }
    out.join("\r\n").into_bytes()
}

fn uids(text: &[u8]) -> Vec<String> {
    let mut uids: Vec<String> = lines(text)
        .into_iter()
        .filter_map(|line| line.strip_prefix("UID:").map(str::to_string))
        .collect();
    uids.sort();
    uids.dedup();
    uids
}

fn ics(body: &str) -> Vec<u8> {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//domus//tests//EN\r\n{body}END:VCALENDAR\r\n"
    )
    .into_bytes()
}

fn event(props: &str) -> Vec<u8> {
    ics(&format!(
        "BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20240101T000000Z\r\n{props}END:VEVENT\r\n"
    ))
}

fn todo(props: &str) -> Vec<u8> {
    ics(&format!(
        "BEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20240101T000000Z\r\n{props}END:VTODO\r\n"
    ))
}

fn over(text: &[u8], start: &str, end: &str) -> bool {
    overlaps(text, t(start), t(end), &limits(), &FloatingZone::utc()).expect("overlaps")
}

// ---------------------------------------------------------------- real client files

#[test]
fn outlook_windows_tzid_with_vtimezone() {
    let raw = fixture("outlook16-windows-tzid-tab-folding.ics");
    let e = err(&raw);
    assert!(matches!(e, IngestError::NotCalendarObject(_)), "{e}");
    assert_eq!(e.precondition(), "valid-calendar-object-resource");
    let object = ok(&without_method(&raw));
    assert_eq!(object.kind, ComponentKind::Event);
    assert!(object.uid.starts_with("040000008200E000"));
    // "W. Europe Standard Time" is Europe/Berlin: 10:30 CEST.
    assert_eq!(object.first_start, Some(t("2021-05-27T08:30:00Z")));
    assert_eq!(object.last_end, Some(t("2021-05-27T10:00:00Z")));
    assert!(!object.recurring && object.instances.is_empty() && !object.truncated);
}

#[test]
fn exchange_utc_until_keeps_the_last_instance_east_of_utc() {
    // DAILY;INTERVAL=2 from 11:00 W. Europe with UNTIL=20201126T100000Z, which is exactly the
    // last instance; comparing UNTIL with the wall clock (calcard) would drop it.
    let object = ok(&without_method(&fixture(
        "exchange2010-request-teams-daily-interval.ics",
    )));
    assert!(object.recurring && !object.truncated);
    assert_eq!(
        object.instances,
        vec![
            (t("2020-11-24T10:00:00Z"), t("2020-11-24T10:30:00Z")),
            (t("2020-11-26T10:00:00Z"), t("2020-11-26T10:30:00Z")),
        ]
    );
    assert_eq!(object.last_end, Some(t("2020-11-26T10:30:00Z")));
}

#[test]
fn exchange_custom_tzid_is_read_from_its_vtimezone() {
    let raw = without_method(&fixture(
        "exchange-cdo-request-custom-tzid-byday-spaces-no-uid.ics",
    ));
    let e = err(&raw);
    assert!(
        matches!(&e, IngestError::NotCalendarObject(m) if m.contains("UID")),
        "{e}"
    );
    let with_uid = String::from_utf8_lossy(&raw).replace("BEGIN:VEVENT", "BEGIN:VEVENT\r\nUID:cdo");
    let object = ok(with_uid.as_bytes());
    // "GMT +0100 (Standard) / GMT +0200 (Daylight)": summer time in July, so 10:00 is 08:00Z.
    assert_eq!(object.first_start, Some(t("2015-07-03T08:00:00Z")));
    // RRULE:FREQ=DAILY;UNTIL=20150722T080000Z;BYDAY=MO, TU, WE, TH, FR: Jul 3, 6-10, 13-17, 20-22.
    assert_eq!(object.instances.len(), 14, "{:?}", object.instances);
    assert!(!object.truncated);
    assert_eq!(object.last_end, Some(t("2015-07-22T08:30:00Z")));
}

#[test]
fn custom_vtimezone_rules_switch_offsets_and_handle_gap_and_fold() {
    let vtimezone = "BEGIN:VTIMEZONE\r\nTZID:My Own Zone\r\n\
        BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
        TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n\
        BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
        TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";
    let start_of = |local: &str| {
        let text = ics(&format!(
            "{vtimezone}BEGIN:VEVENT\r\nUID:z\r\nDTSTART;TZID=My Own Zone:{local}\r\nEND:VEVENT\r\n"
        ));
        ok(&text).first_start
    };
    assert_eq!(start_of("20240115T100000"), Some(t("2024-01-15T09:00:00Z")));
    assert_eq!(start_of("20240715T100000"), Some(t("2024-07-15T08:00:00Z")));
    // 02:30 on 31 March 2024 does not exist: read with the offset before the gap.
    assert_eq!(start_of("20240331T023000"), Some(t("2024-03-31T01:30:00Z")));
    // 02:30 on 27 October 2024 happens twice: the first one.
    assert_eq!(start_of("20241027T023000"), Some(t("2024-10-27T00:30:00Z")));
}

#[test]
fn outlook_utc_label_tzid_resolves() {
    let object = ok(&without_method(&fixture(
        "exchange2010-utc-label-tzid-escaped-comma.ics",
    )));
    assert_eq!(object.first_start, Some(t("2019-04-30T02:00:00Z")));
    assert_eq!(object.last_end, Some(t("2019-04-30T05:00:00Z")));
}

#[test]
fn exchange_export_splits_into_objects_and_a_broken_tzid_quote_is_refused() {
    let raw = fixture("exchange2010-publish-multiple-windows-vtimezones.ics");
    assert!(matches!(
        err(&without_method(&raw)),
        IngestError::NotCalendarObject(_)
    ));
    let mut accepted = 0;
    for uid in uids(&raw) {
        match ingest(&only_uid(&raw, &uid), &limits()) {
            Ok(object) => {
                accepted += 1;
                assert_eq!(object.uid, uid);
                assert!(object.first_start.is_some());
            }
            // DTSTART;TZID="W. Europe Standard Time:20200609T090000" has no value.
            Err(IngestError::NotCalendarData(message)) => {
                assert!(uid.contains("8001F1896B63D3"), "{uid}: {message}")
            }
            Err(e) => panic!("{uid}: {e}"),
        }
    }
    assert_eq!(accepted, 3);
    // Pacific Standard Time, weekly TU,TH,FR,SU with an EXDATE list.
    let all = uids(&raw);
    let uid = all
        .iter()
        .find(|uid| uid.contains("C8CF296B9654D6"))
        .expect("the Pacific series");
    let object = ok(&only_uid(&raw, uid));
    assert_eq!(object.first_start, Some(t("2020-07-07T19:00:00Z")));
    let starts: Vec<i64> = object.instances.iter().map(|(s, _)| *s).collect();
    assert!(
        !starts.contains(&t("2020-07-21T19:00:00Z")),
        "EXDATE applied"
    );
    assert!(starts.contains(&t("2020-07-24T19:00:00Z")));
    // UNTIL=20210309T200000Z is itself an instance (Tuesday 9 March 2021, 12:00 PST).
    assert_eq!(starts.last(), Some(&t("2021-03-09T20:00:00Z")));
    assert!(!object.truncated);
}

#[test]
fn google_export_with_exdate_lists() {
    let raw = fixture("google-busymac-exdate-list-rrule-quirks.ics");
    assert!(matches!(err(&raw), IngestError::NotCalendarObject(_)));
    let e = err(&without_method(&raw));
    assert!(
        matches!(&e, IngestError::NotCalendarObject(m) if m.contains("UID")),
        "{e}"
    );
    for uid in uids(&raw) {
        let object = ok(&only_uid(&raw, &uid));
        // Open-ended weekly rules.
        assert!(object.recurring && object.truncated, "{uid}");
        assert_eq!(object.last_end, None);
    }
    let object = ok(&only_uid(&raw, "*Masked away*"));
    // MO-FR 07:20 Europe/Budapest from 2 November 2020, Christmas weeks excluded.
    assert_eq!(object.first_start, Some(t("2020-11-02T06:20:00Z")));
    let starts: Vec<i64> = object.instances.iter().map(|(s, _)| *s).collect();
    assert!(starts.contains(&t("2020-12-18T06:20:00Z")));
    for excluded in ["2020-12-21", "2020-12-24", "2020-12-31", "2021-01-01"] {
        assert!(
            !starts.contains(&t(&format!("{excluded}T06:20:00Z"))),
            "{excluded}"
        );
    }
    assert!(starts.contains(&t("2021-01-04T06:20:00Z")));
    // Summer time: 07:20 CEST.
    assert!(starts.contains(&t("2021-06-01T05:20:00Z")));
    // DTEND == DTSTART: instants.
    assert!(object.instances.iter().all(|(s, e)| s == e));
    assert!(starts.iter().all(|s| *s <= limits().horizon_end));
    assert!(starts.len() <= limits().max_instances);
}

#[test]
fn google_birthdays_rdate_and_overrides_all_day() {
    let raw = fixture("google-birthdays-rdate-recurrence-id-allday.ics");
    assert!(matches!(err(&raw), IngestError::NotCalendarObject(_)));
    // RRULE COUNT=1 plus RDATEs (written as "20131210Z", a DATE with a Z).
    let object = ok(&only_uid(&raw, "2014_BIRTHDAY_79d389868f96182e@google.com"));
    let day = 86_400;
    assert_eq!(
        object.instances,
        vec![
            (t("2012-12-10T00:00:00Z"), t("2012-12-10T00:00:00Z") + day),
            (t("2013-12-10T00:00:00Z"), t("2013-12-10T00:00:00Z") + day),
            (t("2014-12-10T00:00:00Z"), t("2014-12-10T00:00:00Z") + day),
        ]
    );
    assert!(!object.truncated);
    assert_eq!(object.last_end, Some(t("2014-12-11T00:00:00Z")));
    // Only overrides, no master: still one object, recurring.
    let object = ok(&only_uid(&raw, "BIRTHDAY_79d389868f96182e@google.com"));
    assert!(object.recurring);
    assert_eq!(object.instances.len(), 3);
    assert_eq!(object.first_start, Some(t("2012-12-10T00:00:00Z")));
}

#[test]
fn google_event_with_alarms() {
    let object = ok(&without_method(&fixture(
        "google-multiple-valarms-email-action.ics",
    )));
    assert_eq!(object.uid, "79fs7pkqvht9m5igs0vjv1sfra@google.com");
    assert_eq!(object.first_start, Some(t("2024-10-04T18:15:00Z")));
    assert_eq!(object.last_end, Some(t("2024-10-04T19:00:00Z")));
}

#[test]
fn google_holiday_feed_every_object_ingests() {
    let raw = fixture("google-2006-holidays-date-value-with-tzid.ics");
    let all = uids(&raw);
    // 96 components; overrides share their master's UID.
    assert_eq!(all.len(), 53);
    for uid in &all {
        let object = ok(&only_uid(&raw, uid));
        assert!(object.first_start.is_some(), "{uid}");
    }
}

#[test]
fn apple_windows_tzid_without_vtimezone() {
    let object = ok(&fixture("apple-event-windows-tzid-without-vtimezone.ics"));
    // "Eastern Standard Time" is America/New_York, in daylight time in September.
    assert_eq!(object.first_start, Some(t("2016-09-28T17:00:00Z")));
    assert_eq!(object.last_end, Some(t("2016-09-28T19:00:00Z")));
}

#[test]
fn apple_override_moves_an_all_day_instance() {
    let object = ok(&fixture("apple-override-mixed-date-types-rscale.ics"));
    assert!(object.recurring && object.truncated);
    assert_eq!(object.last_end, None, "open-ended");
    assert_eq!(object.first_start, Some(t("2016-01-01T00:00:00Z")));
    let day = 86_400;
    assert!(
        object
            .instances
            .contains(&(t("2018-04-01T00:00:00Z"), t("2018-04-01T00:00:00Z") + day))
    );
    // RECURRENCE-ID:20180501 (a DATE) moved to 2 May 17:00 Europe/Vienna for an hour.
    assert!(
        !object
            .instances
            .iter()
            .any(|(s, _)| *s == t("2018-05-01T00:00:00Z"))
    );
    assert!(
        object
            .instances
            .contains(&(t("2018-05-02T15:00:00Z"), t("2018-05-02T16:00:00Z")))
    );
    assert!(
        object
            .instances
            .contains(&(t("2018-06-01T00:00:00Z"), t("2018-06-01T00:00:00Z") + day))
    );
    let text = fixture("apple-override-mixed-date-types-rscale.ics");
    assert!(!over(&text, "2018-05-01T06:00:00Z", "2018-05-01T07:00:00Z"));
    assert!(over(&text, "2018-05-02T15:30:00Z", "2018-05-02T15:45:00Z"));
    assert!(over(&text, "2034-03-01T12:00:00Z", "2034-03-01T13:00:00Z"));
}

#[test]
fn floating_start_is_utc_and_zoned_end_is_zoned() {
    let object = ok(&fixture("apple-floating-dtstart-tzid-dtend.ics"));
    assert_eq!(object.first_start, Some(t("2019-03-10T11:15:00Z")));
    assert_eq!(object.last_end, Some(t("2019-03-10T12:00:00Z")));
}

#[test]
fn utc_value_with_tzid_is_utc() {
    let object = ok(&fixture("utc-time-with-tzid-malformed.ics"));
    assert_eq!(object.first_start, Some(t("2019-12-19T18:00:00Z")));
    assert_eq!(object.last_end, Some(t("2019-12-19T20:20:00Z")));
}

#[test]
fn thisandfuture_override_shifts_later_instances() {
    let object = ok(&fixture("caldavtester-thisandfuture-override.ics"));
    // DAILY;COUNT=5 at 16:00 US/Eastern from 2 January 2031; from the 4th on at 17:00.
    let hour = 3_600;
    let starts = [
        "2031-01-02T21:00:00Z",
        "2031-01-03T21:00:00Z",
        "2031-01-04T22:00:00Z",
        "2031-01-05T22:00:00Z",
        "2031-01-06T22:00:00Z",
    ];
    let expected: Vec<(i64, i64)> = starts.iter().map(|s| (t(s), t(s) + hour)).collect();
    assert_eq!(object.instances, expected);
    assert!(!object.truncated);
    assert_eq!(object.last_end, Some(t("2031-01-06T23:00:00Z")));
}

#[test]
fn lotus_override_without_master_and_rdate_period() {
    let object = ok(&fixture("lotus-notes-thisandfuture-rdate-period.ics"));
    assert!(object.recurring);
    assert_eq!(
        object.instances,
        vec![(t("2021-11-01T15:00:00Z"), t("2021-11-01T15:30:00Z"))]
    );
}

#[test]
fn blackberry_all_day_event() {
    let object = ok(&without_method(&fixture(
        "rim-blackberry-request-allday.ics",
    )));
    assert_eq!(object.first_start, Some(t("2012-08-14T00:00:00Z")));
    assert_eq!(object.last_end, Some(t("2012-08-15T00:00:00Z")));
    let text = without_method(&fixture("rim-blackberry-request-allday.ics"));
    assert!(over(&text, "2012-08-14T23:00:00Z", "2012-08-15T01:00:00Z"));
    assert!(!over(&text, "2012-08-15T00:00:00Z", "2012-08-15T01:00:00Z"));
}

#[test]
fn thunderbird_event_with_long_vtimezone_history() {
    let object = ok(&fixture("thunderbird-alarm-snoozed-x-moz.ics"));
    assert_eq!(object.first_start, Some(t("2024-10-23T14:00:00Z")));
    assert_eq!(object.last_end, Some(t("2024-10-23T15:00:00Z")));
}

#[test]
fn ical1_todo_extracted_from_a_mixed_export() {
    let raw = fixture("apple-ical1-mixed-components-vjournal-vfreebusy.ics");
    assert!(matches!(err(&raw), IngestError::NotCalendarObject(_)));
    let object = ok(&only_uid(&raw, "uid4@host1.com"));
    assert_eq!(object.kind, ComponentKind::Todo);
    // DUE only: an instant at the (floating, so UTC) due time.
    assert_eq!(object.first_start, Some(t("1998-04-15T23:59:59Z")));
    assert_eq!(object.last_end, Some(t("1998-04-15T23:59:59Z")));
}

#[test]
fn refused_fixtures_name_their_precondition() {
    let cases: &[(&str, &str)] = &[
        (
            "caldavtester-vavailability-available-override.ics",
            "supported-calendar-component",
        ),
        (
            "outlook2003-vfreebusy-malformed-7digit-dates.ics",
            "supported-calendar-component",
        ),
        (
            "mozilla-calendar-1.0-blank-line-folding.ics",
            "valid-calendar-data",
        ),
        (
            "bom-prefixed-empty-calendar.ics",
            "valid-calendar-object-resource",
        ),
        (
            "zimbra-vfreebusy-publish.ics",
            "valid-calendar-object-resource",
        ),
    ];
    for (name, precondition) in cases {
        let e = err(&fixture(name));
        assert_eq!(e.precondition(), *precondition, "{name}: {e}");
    }
    let e = err(&without_method(&fixture("zimbra-vfreebusy-publish.ics")));
    assert!(matches!(e, IngestError::UnsupportedComponent(_)), "{e}");
}

#[test]
fn lenient_with_an_empty_parameter() {
    let object = ok(&fixture("malformed-double-semicolon-param.ics"));
    assert_eq!(object.uid, "abc");
    assert_eq!(object.first_start, Some(t("2014-04-09T09:30:00Z")));
}

// ---------------------------------------------------------------- structure

#[test]
fn calendar_object_rules() {
    let cases: &[(&str, &str)] = &[
        (
            "METHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n",
            "METHOD",
        ),
        (
            "BEGIN:VEVENT\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n",
            "UID",
        ),
        (
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20240102T100000Z\r\nEND:VEVENT\r\n",
            "different UIDs",
        ),
        (
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:a\r\nEND:VTODO\r\n",
            "VTODO",
        ),
        (
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240102T100000Z\r\nEND:VEVENT\r\n",
            "without RECURRENCE-ID",
        ),
        (
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nRECURRENCE-ID:20240102T100000Z\r\nDTSTART:20240102T110000Z\r\nEND:VEVENT\r\n",
            "different UIDs",
        ),
        (
            "BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20240102T100000Z\r\nDTSTART:20240102T110000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20240102T100000Z\r\nDTSTART:20240102T120000Z\r\nEND:VEVENT\r\n",
            "same RECURRENCE-ID",
        ),
        (
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\nBEGIN:VFREEBUSY\r\nUID:a\r\nEND:VFREEBUSY\r\n",
            "VFREEBUSY",
        ),
        (
            "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nEND:VTIMEZONE\r\n",
            "no VEVENT",
        ),
    ];
    for (body, needle) in cases {
        match err(&ics(body)) {
            IngestError::NotCalendarObject(message) => {
                assert!(message.contains(needle), "{needle}: {message}")
            }
            other => panic!("{needle}: {other}"),
        }
    }
}

#[test]
fn malformed_data_is_refused_as_invalid_calendar_data() {
    let cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"hello".to_vec(),
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nEND:VCARD\r\n".to_vec(),
        b"BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n".to_vec(),
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n".to_vec(),
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VTODO\r\nEND:VCALENDAR\r\n".to_vec(),
        [
            ics("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n"),
            b"garbage\r\n".to_vec(),
        ]
        .concat(),
        vec![0xff, 0xfe, 0x00],
        event("DTSTART:20230231T100000Z\r\n"),
        event("DTSTART:tomorrow\r\n"),
        event("DTSTART:20240101T100000Z\r\nDTEND:20240101T090000Z\r\n"),
        event("SUMMARY:no start\r\n"),
        event("DTSTART:20240101T100000Z\r\nDURATION:-PT1H\r\n"),
        event("DTSTART:20240101T100000Z\r\nEXDATE:soon\r\n"),
        event("DTSTART:20240101T100000Z\r\nRRULE:FREQ=FORTNIGHTLY\r\n"),
        todo("DTSTART:20240102T100000Z\r\nDUE:20240101T100000Z\r\n"),
    ];
    for text in cases {
        let e = err(&text);
        assert_eq!(
            e.precondition(),
            "valid-calendar-data",
            "{e}: {}",
            String::from_utf8_lossy(&text)
        );
    }
}

#[test]
fn size_and_date_limits() {
    let text = event("DTSTART:20240101T100000Z\r\n");
    let small = IngestLimits {
        max_bytes: text.len() - 1,
        ..limits()
    };
    assert_eq!(ingest(&text, &small), Err(IngestError::TooLarge));
    assert_eq!(IngestError::TooLarge.precondition(), "max-resource-size");
    let e = err(&event("DTSTART:18991231T100000Z\r\n"));
    assert_eq!(e, IngestError::DateOutOfRange(DateBound::Min));
    assert_eq!(e.precondition(), "min-date-time");
    let e = err(&event("DTSTART:21010101T100000Z\r\n"));
    assert_eq!(e.precondition(), "max-date-time");
    let e = err(&event(
        "DTSTART:21001231T100000Z\r\nDTEND:21010102T100000Z\r\n",
    ));
    assert_eq!(e, IngestError::DateOutOfRange(DateBound::Max));
    // Open-ended rules are not refused for running past max-date-time.
    ok(&event("DTSTART:20240101T100000Z\r\nRRULE:FREQ=YEARLY\r\n"));
}

#[test]
fn default_limits() {
    let defaults = IngestLimits::default();
    assert_eq!(defaults.max_bytes, 1 << 20);
    assert_eq!(defaults.max_instances, 5_000);
    assert_eq!(defaults.min_date, t("1900-01-01T00:00:00Z"));
    assert_eq!(defaults.max_date, t("2100-12-31T23:59:59Z"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let years = (defaults.horizon_end - now) as f64 / (365.25 * 86_400.0);
    assert!((4.9..5.1).contains(&years), "{years}");
}

// ---------------------------------------------------------------- time rules

#[test]
fn vevent_ends_and_section_9_9() {
    // DTEND: [start, end).
    let text = event("DTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\n");
    let object = ok(&text);
    assert_eq!(
        (object.first_start, object.last_end),
        (
            Some(t("2024-01-01T10:00:00Z")),
            Some(t("2024-01-01T11:00:00Z"))
        )
    );
    assert!(over(&text, "2024-01-01T10:59:59Z", "2024-01-01T12:00:00Z"));
    assert!(!over(&text, "2024-01-01T11:00:00Z", "2024-01-01T12:00:00Z"));
    assert!(!over(&text, "2024-01-01T09:00:00Z", "2024-01-01T10:00:00Z"));
    // DURATION.
    let text = event("DTSTART:20240101T100000Z\r\nDURATION:PT90M\r\n");
    assert_eq!(ok(&text).last_end, Some(t("2024-01-01T11:30:00Z")));
    // Neither, DATE-TIME: an instant, matched by start <= DTSTART < end.
    let text = event("DTSTART:20240101T100000Z\r\n");
    assert_eq!(ok(&text).last_end, Some(t("2024-01-01T10:00:00Z")));
    assert!(over(&text, "2024-01-01T10:00:00Z", "2024-01-01T10:00:01Z"));
    assert!(!over(&text, "2024-01-01T09:00:00Z", "2024-01-01T10:00:00Z"));
    // DURATION:PT0S is the same instant.
    let text = event("DTSTART:20240101T100000Z\r\nDURATION:PT0S\r\n");
    assert!(over(&text, "2024-01-01T10:00:00Z", "2024-01-01T10:00:01Z"));
    // Neither, DATE: one day.
    let text = event("DTSTART;VALUE=DATE:20240101\r\n");
    assert_eq!(ok(&text).last_end, Some(t("2024-01-02T00:00:00Z")));
    assert!(over(&text, "2024-01-01T23:00:00Z", "2024-01-02T01:00:00Z"));
    assert!(!over(&text, "2024-01-02T00:00:00Z", "2024-01-02T01:00:00Z"));
    // All-day over several days.
    let text = event("DTSTART;VALUE=DATE:20240101\r\nDTEND;VALUE=DATE:20240104\r\n");
    assert_eq!(ok(&text).last_end, Some(t("2024-01-04T00:00:00Z")));
}

#[test]
fn vtodo_section_9_9_table() {
    let day = |d: &str| format!("2024-01-{d}T00:00:00Z");
    // DTSTART + DURATION: start <= DTSTART+DURATION and end > DTSTART.
    let text = todo("DTSTART:20240110T000000Z\r\nDURATION:P1D\r\n");
    assert!(
        over(&text, &day("11"), &day("12")),
        "start == DTSTART+DURATION matches"
    );
    assert!(!over(&text, &day("09"), &day("10")));
    // DTSTART + DUE.
    let text = todo("DTSTART:20240110T000000Z\r\nDUE:20240111T000000Z\r\n");
    assert!(!over(&text, &day("11"), &day("12")));
    assert!(over(&text, &day("09"), "2024-01-10T00:00:01Z"));
    assert!(!over(&text, &day("09"), &day("10")));
    // DTSTART only: start <= DTSTART and end > DTSTART.
    let text = todo("DTSTART:20240110T000000Z\r\n");
    assert!(over(&text, &day("10"), &day("11")));
    assert!(!over(&text, &day("09"), &day("10")));
    // DUE only: start < DUE and end >= DUE.
    let text = todo("DUE:20240110T000000Z\r\n");
    assert!(over(&text, &day("09"), &day("10")));
    assert!(!over(&text, &day("10"), &day("11")));
    // COMPLETED + CREATED.
    let text = todo("CREATED:20240105T000000Z\r\nCOMPLETED:20240110T000000Z\r\n");
    assert!(over(&text, &day("10"), &day("11")));
    assert!(over(&text, &day("01"), &day("05")));
    assert!(!over(&text, &day("11"), &day("12")));
    let object = ok(&text);
    assert_eq!(
        (object.first_start, object.last_end),
        (Some(t(&day("05"))), Some(t(&day("10"))))
    );
    // COMPLETED only.
    let text = todo("COMPLETED:20240110T000000Z\r\n");
    assert!(over(&text, &day("10"), &day("11")) && over(&text, &day("09"), &day("10")));
    assert!(!over(&text, &day("11"), &day("12")));
    // CREATED only: end > CREATED.
    let text = todo("CREATED:20240110T000000Z\r\n");
    assert!(over(&text, &day("20"), &day("21")));
    assert!(!over(&text, &day("09"), &day("10")));
    assert_eq!(ok(&text).last_end, None);
    // No date at all: matches everything, unbounded.
    let text = todo("SUMMARY:someday\r\n");
    assert!(over(&text, "1990-01-01T00:00:00Z", "1990-01-02T00:00:00Z"));
    let object = ok(&text);
    assert_eq!((object.first_start, object.last_end), (None, None));
    assert_eq!(object.kind, ComponentKind::Todo);
}

#[test]
fn vjournal() {
    let journal = |props: &str| {
        ics(&format!(
            "BEGIN:VJOURNAL\r\nUID:j\r\n{props}END:VJOURNAL\r\n"
        ))
    };
    let text = journal("DTSTART;VALUE=DATE:20240110\r\n");
    assert_eq!(ok(&text).kind, ComponentKind::Journal);
    assert!(over(&text, "2024-01-10T12:00:00Z", "2024-01-10T13:00:00Z"));
    let text = journal("SUMMARY:undated\r\n");
    let object = ok(&text);
    assert_eq!((object.first_start, object.last_end), (None, None));
    assert!(!over(&text, "1990-01-01T00:00:00Z", "2090-01-01T00:00:00Z"));
}

#[test]
fn iana_tzid_without_vtimezone_and_nominal_duration_across_dst() {
    let text = event("DTSTART;TZID=Europe/Berlin:20240330T120000\r\nDURATION:P1D\r\n");
    let object = ok(&text);
    assert_eq!(object.first_start, Some(t("2024-03-30T11:00:00Z")));
    // P1D is a calendar day: noon to noon, 23 hours across the change to summer time.
    assert_eq!(object.last_end, Some(t("2024-03-31T10:00:00Z")));
    // Unknown TZID without VTIMEZONE: read as UTC.
    let object = ok(&event("DTSTART;TZID=Mars/Olympus_Mons:20240330T120000\r\n"));
    assert_eq!(object.first_start, Some(t("2024-03-30T12:00:00Z")));
}

// ---------------------------------------------------------------- recurrence

#[test]
fn exdate_and_overrides_whatever_their_sequence() {
    let text = ics("BEGIN:VEVENT\r\nUID:r\r\nSEQUENCE:0\r\n\
        DTSTART;TZID=Europe/Berlin:20240101T100000\r\nDTEND;TZID=Europe/Berlin:20240101T110000\r\n\
        RRULE:FREQ=DAILY;COUNT=5\r\nEXDATE;TZID=Europe/Berlin:20240102T100000\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:r\r\nSEQUENCE:3\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240103T100000\r\n\
        DTSTART;TZID=Europe/Berlin:20240103T150000\r\nDTEND;TZID=Europe/Berlin:20240103T170000\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:r\r\nRECURRENCE-ID:20240104T090000Z\r\n\
        DTSTART:20240110T090000Z\r\nDURATION:PT30M\r\nEND:VEVENT\r\n");
    let object = ok(&text);
    assert_eq!(
        object.instances,
        vec![
            (t("2024-01-01T09:00:00Z"), t("2024-01-01T10:00:00Z")),
            (t("2024-01-03T14:00:00Z"), t("2024-01-03T16:00:00Z")),
            (t("2024-01-05T09:00:00Z"), t("2024-01-05T10:00:00Z")),
            (t("2024-01-10T09:00:00Z"), t("2024-01-10T09:30:00Z")),
        ]
    );
    assert_eq!(object.last_end, Some(t("2024-01-10T09:30:00Z")));
    assert!(!object.truncated);
    assert!(
        !over(&text, "2024-01-03T09:00:00Z", "2024-01-03T10:00:00Z"),
        "moved away"
    );
    assert!(
        !over(&text, "2024-01-02T09:00:00Z", "2024-01-02T10:00:00Z"),
        "excluded"
    );
    assert!(
        over(&text, "2024-01-10T09:10:00Z", "2024-01-10T09:20:00Z"),
        "moved here"
    );
}

#[test]
fn wall_clock_kept_across_dst_and_utc_exdate_matches_zoned_instance() {
    let object = ok(&event(
        "DTSTART;TZID=Europe/Berlin:20240325T100000\r\nDURATION:PT1H\r\n\
         RRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE:20240408T080000Z\r\n",
    ));
    let starts: Vec<i64> = object.instances.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        starts,
        vec![
            t("2024-03-25T09:00:00Z"),
            t("2024-04-01T08:00:00Z"),
            t("2024-04-15T08:00:00Z"),
        ]
    );
}

#[test]
fn rdate_named_by_exdate_is_removed() {
    let text = event(
        "DTSTART:20240101T100000Z\r\nDURATION:PT1H\r\n\
         RDATE:20240201T100000Z,20240301T100000Z\r\nEXDATE:20240201T100000Z\r\n\
         RDATE;VALUE=PERIOD:20240401T080000Z/20240401T120000Z\r\n",
    );
    let object = ok(&text);
    assert!(object.recurring && !object.truncated);
    assert_eq!(
        object.instances,
        vec![
            (t("2024-01-01T10:00:00Z"), t("2024-01-01T11:00:00Z")),
            (t("2024-03-01T10:00:00Z"), t("2024-03-01T11:00:00Z")),
            (t("2024-04-01T08:00:00Z"), t("2024-04-01T12:00:00Z")),
        ]
    );
}

#[test]
fn date_exdate_excludes_the_day_of_a_timed_instance() {
    let object = ok(&event(
        "DTSTART:20240101T100000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEXDATE;VALUE=DATE:20240102\r\n",
    ));
    let starts: Vec<i64> = object.instances.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        starts,
        vec![t("2024-01-01T10:00:00Z"), t("2024-01-03T10:00:00Z")]
    );
}

#[test]
fn dtstart_counts_as_first_instance_and_until_forms() {
    // DTSTART on a Monday, rule on Wednesdays: Monday plus one Wednesday for COUNT=2.
    let object = ok(&event(
        "DTSTART:20240101T100000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=2\r\n",
    ));
    let starts: Vec<i64> = object.instances.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        starts,
        vec![t("2024-01-01T10:00:00Z"), t("2024-01-03T10:00:00Z")]
    );
    // A DATE UNTIL with a DATE-TIME DTSTART includes that day.
    let object = ok(&event(
        "DTSTART:20240101T100000Z\r\nRRULE:FREQ=DAILY;UNTIL=20240103\r\n",
    ));
    assert_eq!(object.instances.len(), 3);
    // All-day yearly with UNTIL.
    let object = ok(&event(
        "DTSTART;VALUE=DATE:20240229\r\nRRULE:FREQ=YEARLY;UNTIL=20330101\r\n",
    ));
    let starts: Vec<i64> = object.instances.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        starts,
        vec![
            t("2024-02-29T00:00:00Z"),
            t("2028-02-29T00:00:00Z"),
            t("2032-02-29T00:00:00Z")
        ]
    );
    assert_eq!(object.last_end, Some(t("2032-03-01T00:00:00Z")));
}

#[test]
fn open_ended_rule_stops_at_the_horizon() {
    let object = ok(&event(
        "DTSTART;TZID=Europe/Berlin:20300101T090000\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY\r\n",
    ));
    assert!(object.recurring && object.truncated);
    assert_eq!(object.last_end, None);
    assert_eq!(object.first_start, Some(t("2030-01-01T08:00:00Z")));
    let last = object.instances.last().map(|(s, _)| *s).unwrap_or_default();
    assert!(last <= limits().horizon_end && last > limits().horizon_end - 7 * 86_400);
    assert_eq!(object.instances.len(), 261);
    // UNTIL past the horizon: truncated, with an upper bound from UNTIL.
    let object = ok(&event(
        "DTSTART:20300101T090000Z\r\nRRULE:FREQ=WEEKLY;UNTIL=20400101T000000Z\r\n",
    ));
    assert!(object.truncated);
    let bound = object.last_end.unwrap_or_default();
    assert!(
        bound >= t("2039-12-25T09:00:00Z") && bound <= t("2040-01-03T00:00:00Z"),
        "{bound}"
    );
    // A start past the horizon still gives first_start.
    let object = ok(&event("DTSTART:20400101T090000Z\r\nRRULE:FREQ=DAILY\r\n"));
    assert_eq!(object.first_start, Some(t("2040-01-01T09:00:00Z")));
    assert!(object.instances.is_empty() && object.truncated);
}

#[test]
fn many_instances_are_truncated_at_max_instances() {
    let object = ok(&event("DTSTART:20000101T090000Z\r\nRRULE:FREQ=DAILY\r\n"));
    assert_eq!(object.instances.len(), limits().max_instances);
    assert!(object.truncated && object.last_end.is_none());
    // overlaps skips ahead: exact answers far past the expanded instances.
    let text = event("DTSTART:20000101T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY\r\n");
    assert!(over(&text, "2033-06-15T09:30:00Z", "2033-06-15T09:31:00Z"));
    assert!(!over(&text, "2033-06-15T10:00:00Z", "2033-06-16T09:00:00Z"));
}

#[test]
fn extreme_horizons_and_ranges() {
    let text = event("DTSTART:20240101T100000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY\r\n");
    let everything = IngestLimits {
        horizon_end: i64::MAX,
        ..limits()
    };
    let object = ingest(&text, &everything).expect("ingest");
    assert_eq!(object.instances.len(), everything.max_instances);
    let nothing = IngestLimits {
        horizon_end: i64::MIN,
        ..limits()
    };
    let object = ingest(&text, &nothing).expect("ingest");
    assert!(object.instances.is_empty() && object.truncated);
    assert_eq!(object.first_start, Some(t("2024-01-01T10:00:00Z")));
    assert_eq!(
        overlaps(&text, i64::MIN, i64::MAX, &limits(), &FloatingZone::utc()),
        Ok(true)
    );
    assert_eq!(
        overlaps(
            &text,
            i64::MAX - 10,
            i64::MAX,
            &limits(),
            &FloatingZone::utc()
        ),
        Ok(false)
    );
    assert_eq!(
        overlaps(
            &text,
            i64::MIN,
            i64::MIN + 10,
            &limits(),
            &FloatingZone::utc()
        ),
        Ok(false)
    );
}

#[test]
fn explicit_counts_above_max_instances_are_refused() {
    let e = err(&event(
        "DTSTART:20240101T100000Z\r\nRRULE:FREQ=SECONDLY;COUNT=10000000\r\n",
    ));
    assert_eq!(e, IngestError::TooManyInstances);
    assert_eq!(e.precondition(), "max-instances");
    let few = IngestLimits {
        max_instances: 2,
        ..limits()
    };
    let text = event(
        "DTSTART:20240101T100000Z\r\nRDATE:20240102T100000Z,20240103T100000Z,20240104T100000Z\r\n",
    );
    assert_eq!(ingest(&text, &few), Err(IngestError::TooManyInstances));
}

/// Skipping ahead must give the same answers as expanding from DTSTART.
#[test]
fn skip_ahead_agrees_with_full_expansion() {
    let rules = [
        "DTSTART;TZID=Europe/Berlin:20240131T093000\r\nDURATION:PT45M\r\nRRULE:FREQ=MONTHLY\r\n",
        "DTSTART;TZID=America/New_York:20240229T233000\r\nDURATION:PT2H\r\nRRULE:FREQ=YEARLY\r\n",
        "DTSTART:20240102T080000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA\r\n",
        "DTSTART:20240101T000000Z\r\nDURATION:PT10M\r\nRRULE:FREQ=HOURLY;INTERVAL=7\r\n",
        "DTSTART:20240105T170000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1\r\n",
        "DTSTART:20240101T060000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=DAILY;INTERVAL=5;BYHOUR=6,18\r\n",
        "DTSTART;VALUE=DATE:20240315\r\nRRULE:FREQ=YEARLY;INTERVAL=2;BYMONTH=3,9\r\n",
        "DTSTART:20240101T101010Z\r\nRRULE:FREQ=MINUTELY;INTERVAL=97\r\n",
        "DTSTART;TZID=Europe/Berlin:20240101T090000\r\nDTEND;TZID=Europe/Berlin:20240101T100000\r\nRRULE:FREQ=WEEKLY;UNTIL=20300101T000000Z\r\n",
    ];
    let wide = IngestLimits {
        max_instances: 200_000,
        ..limits()
    };
    for rule in rules {
        let text = event(rule);
        let object = ingest(&text, &wide).unwrap_or_else(|e| panic!("{rule}: {e}"));
        let spans: Vec<Span> = object
            .instances
            .iter()
            .map(|(s, e)| Span {
                start: *s,
                end: *e,
                incl_start: false,
                incl_end: s == e,
            })
            .collect();
        let mut start = t("2025-03-01T00:00:00Z");
        let step = 86_400 * 7 + 3_607;
        while start < t("2033-01-01T00:00:00Z") {
            for length in [600, 3_600 * 5, 86_400 * 3] {
                let expected = spans
                    .iter()
                    .any(|span| span.overlaps(start, start + length));
                let got = overlaps(
                    &text,
                    start,
                    start + length,
                    &limits(),
                    &FloatingZone::utc(),
                )
                .expect("overlaps");
                assert_eq!(got, expected, "{rule} at {start}+{length}");
            }
            start += step;
        }
    }
}

// ---------------------------------------------------------------- bounds

/// The fastest of three runs, so a busy test machine does not fail the bound.
fn timed(text: &[u8]) -> (Result<CalendarObject, IngestError>, Duration) {
    let mut best = Duration::MAX;
    let mut result = Err(IngestError::TooLarge);
    for _ in 0..3 {
        let started = Instant::now();
        result = ingest(text, &limits());
        best = best.min(started.elapsed());
    }
    (result, best)
}

fn timed_overlaps(text: &[u8]) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let _ = overlaps(
            text,
            t("2030-01-01T00:00:00Z"),
            t("2030-01-02T00:00:00Z"),
            &limits(),
            &FloatingZone::utc(),
        );
        best = best.min(started.elapsed());
    }
    best
}

/// calcard is built with opt-level 3 in the dev profile too (Cargo.toml), so test builds
/// measure about what release does: 2-30 ms for each of these on the 2-core dev machine.
/// The budget is generous so that a loaded CI machine does not flake, yet far below what
/// unbounded expansion would take (minutes for an endless SECONDLY rule).
const PATHOLOGICAL_BUDGET: Duration = Duration::from_secs(1);

#[test]
fn pathological_rules_finish_in_bounded_time() {
    let every = |n: u32| (0..n).map(|v| v.to_string()).collect::<Vec<_>>().join(",");
    let cases = [
        "RRULE:FREQ=SECONDLY\r\n".to_string(),
        "RRULE:FREQ=SECONDLY;UNTIL=20991231T000000Z\r\n".to_string(),
        format!(
            "RRULE:FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR={};BYMINUTE={};BYSECOND={}\r\n",
            every(24),
            every(60),
            every(60)
        ),
        format!(
            "RRULE:FREQ=YEARLY;BYHOUR={};BYMINUTE={};BYSECOND={};BYSETPOS=-1,1,100000\r\n",
            every(24),
            every(60),
            every(60)
        ),
        "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\r\n".to_string(),
        "RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30\r\n".to_string(),
        "RRULE:FREQ=MINUTELY;BYYEARDAY=366;BYMONTH=1\r\n".to_string(),
        "RRULE:FREQ=DAILY;BYMONTHDAY=31;BYMONTH=4\r\n".to_string(),
        "RRULE:FREQ=SECONDLY;INTERVAL=1;BYSECOND=0,59;BYMINUTE=0;BYHOUR=0;BYDAY=1MO;BYMONTH=1\r\n"
            .to_string(),
    ];
    for rule in &cases {
        let text = event(&format!("DTSTART:20240101T000000Z\r\n{rule}"));
        let (result, elapsed) = timed(&text);
        assert!(elapsed < PATHOLOGICAL_BUDGET, "{rule}: {elapsed:?}");
        if let Ok(object) = &result {
            assert!(object.instances.len() <= limits().max_instances, "{rule}");
        }
        let elapsed = timed_overlaps(&text);
        assert!(
            elapsed < PATHOLOGICAL_BUDGET,
            "overlaps {rule}: {elapsed:?}"
        );
    }
    // COUNT=10000000 is refused before expanding.
    let text = event("DTSTART:20240101T000000Z\r\nRRULE:FREQ=SECONDLY;COUNT=10000000\r\n");
    let (result, elapsed) = timed(&text);
    assert_eq!(result, Err(IngestError::TooManyInstances));
    assert!(elapsed < PATHOLOGICAL_BUDGET, "{elapsed:?}");
}

#[test]
fn hostile_vtimezone_is_bounded() {
    let mut body = String::new();
    let rules = [
        "FREQ=SECONDLY",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=YEARLY;BYMONTH=2;BYDAY=5SU;BYMONTHDAY=30,31",
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    ];
    for i in 0..200 {
        let rule = rules[i % rules.len()];
        body.push_str(&format!(
            "BEGIN:VTIMEZONE\r\nTZID:Zone {i}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n\
             RRULE:{rule}\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        ));
    }
    body.push_str("BEGIN:VEVENT\r\nUID:h\r\nDTSTART;TZID=Zone 0:20240101T000000\r\n");
    for i in 1..200 {
        body.push_str(&format!("RDATE;TZID=Zone {i}:20240102T000000\r\n"));
    }
    body.push_str("END:VEVENT\r\n");
    let (result, elapsed) = timed(&ics(&body));
    assert!(result.is_ok(), "{result:?}");
    assert!(elapsed < PATHOLOGICAL_BUDGET, "{elapsed:?}");
}

// ---------------------------------------------------------------- no panics

/// Mutations of every fixture (truncations, dropped and doubled lines, flipped bytes, spliced
/// values) must come back as Ok or a typed error, never a panic.
#[test]
fn mutated_fixtures_never_panic() {
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let splices: &[&[u8]] = &[
        b"RRULE:FREQ=SECONDLY\r\n",
        b"RRULE:FREQ=YEARLY;BYSETPOS=-367;BYDAY=-53MO\r\n",
        b"EXDATE:99999999T999999Z\r\n",
        b"DTSTART;TZID=:20240101T100000\r\n",
        b"RDATE;VALUE=PERIOD:20240101T100000Z/PT\r\n",
        b"DURATION:P99999999W\r\n",
        b"RECURRENCE-ID;RANGE=THISANDFUTURE:20240101\r\n",
        b"END:VCALENDAR\r\n",
        b"BEGIN:VEVENT\r\n",
        b"\r\n \r\n",
    ];
    for name in fixture_names() {
        let original = fixture(&name);
        let variants = [original.clone(), without_method(&original)];
        for base in variants {
            let _ = ingest(&base, &limits());
            let _ = overlaps(&base, 0, i64::MAX, &limits(), &FloatingZone::utc());
            for _ in 0..60 {
                let mut text = base.clone();
                match next() % 5 {
                    0 => text.truncate((next() as usize) % (text.len() + 1)),
                    1 => {
                        if !text.is_empty() {
                            let at = (next() as usize) % text.len();
                            text[at] = (next() % 256) as u8;
                        }
                    }
                    2 => {
                        let mut all = lines(&text);
                        if !all.is_empty() {
                            let at = (next() as usize) % all.len();
                            all.remove(at);
                        }
                        text = all.join("\r\n").into_bytes();
                    }
                    3 => {
                        let mut all = lines(&text);
                        if !all.is_empty() {
                            let at = (next() as usize) % all.len();
                            let line = all[at].clone();
                            all.insert(at, line);
                        }
                        text = all.join("\r\n").into_bytes();
                    }
                    _ => {
                        let at = (next() as usize) % (text.len() + 1);
                        let splice = splices[(next() as usize) % splices.len()];
                        text.splice(at..at, splice.iter().copied());
                    }
                }
                let _ = ingest(&text, &limits());
                let _ = overlaps(
                    &text,
                    (next() % (1 << 32)) as i64,
                    i64::MAX,
                    &limits(),
                    &FloatingZone::utc(),
                );
            }
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn property_line() -> impl Strategy<Value = String> {
        let names = prop_oneof![
            Just("DTSTART"),
            Just("DTEND"),
            Just("DUE"),
            Just("DURATION"),
            Just("RRULE"),
            Just("RDATE"),
            Just("EXDATE"),
            Just("RECURRENCE-ID"),
            Just("UID"),
            Just("COMPLETED"),
            Just("CREATED"),
        ];
        let params = prop_oneof![
            Just(""),
            Just(";VALUE=DATE"),
            Just(";TZID=Europe/Berlin"),
            Just(";TZID=W. Europe Standard Time"),
            Just(";RANGE=THISANDFUTURE"),
            Just(";VALUE=PERIOD"),
        ];
        let values = prop_oneof![
            "[0-9]{8}(T[0-9]{6}Z?)?",
            "(19|20|21)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])(T[0-2][0-9][0-5][0-9]00Z?)?",
            "-?P([0-9]{1,3}W|[0-9]{1,2}D)?(T[0-9]{1,2}H)?",
            "FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)(;INTERVAL=[0-9]{1,2})?(;COUNT=[0-9]{1,8})?(;BYDAY=-?[0-9]?(MO|SU))?(;BYMONTHDAY=-?[0-9]{1,2})?(;BYSETPOS=-?[0-9]{1,3})?(;UNTIL=20[0-9]{2}0101T000000Z)?",
            "[ -~]{0,20}",
        ];
        (names, params, values).prop_map(|(n, p, v)| format!("{n}{p}:{v}\r\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn generated_objects_never_panic(
            kind in prop_oneof![Just("VEVENT"), Just("VTODO"), Just("VJOURNAL")],
            master in proptest::collection::vec(property_line(), 0..8),
            override_props in proptest::collection::vec(property_line(), 0..4),
            query_start in 0i64..5_000_000_000,
        ) {
            let mut body = format!("BEGIN:{kind}\r\nUID:p\r\n{}END:{kind}\r\n", master.concat());
            if !override_props.is_empty() {
                body.push_str(&format!(
                    "BEGIN:{kind}\r\nUID:p\r\nRECURRENCE-ID:20240101T100000Z\r\n{}END:{kind}\r\n",
                    override_props.concat()
                ));
            }
            let text = ics(&body);
            let started = Instant::now();
            let result = ingest(&text, &limits());
            if let Ok(object) = &result {
                prop_assert!(object.instances.len() <= limits().max_instances);
            }
            let _ = overlaps(&text, query_start, query_start + 86_400, &limits(), &FloatingZone::utc());
            prop_assert!(started.elapsed() < PATHOLOGICAL_BUDGET * 10);
        }
    }
}

// Floating times in the zone of a query or calendar (RFC 4791 §9.9, §7.3).

fn zone(name: &str) -> FloatingZone {
    FloatingZone::from_name(name).unwrap_or_else(|| panic!("unknown zone {name}"))
}

fn in_range(text: &[u8], start: &str, end: &str, floating: &FloatingZone) -> bool {
    overlaps(text, t(start), t(end), &limits(), floating)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(text)))
}

/// A floating hour from 23:30 on 2026-03-01 (NZDT +13 in Auckland, PST -8 in Los Angeles).
fn floating_late_evening() -> Vec<u8> {
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:late\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260301T233000\r\nDTEND:20260302T003000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".to_vec()
}

#[test]
fn a_floating_event_happens_in_the_zone_it_is_read_in() {
    let event = floating_late_evening();
    let (auckland, los_angeles, utc) = (
        zone("Pacific/Auckland"),
        zone("America/Los_Angeles"),
        FloatingZone::utc(),
    );
    // Auckland: 10:30Z-11:30Z on March 1; Los Angeles: 07:30Z-08:30Z on March 2.
    let nz = ("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
    let la = ("2026-03-02T07:00:00Z", "2026-03-02T08:00:00Z");
    let as_utc = ("2026-03-01T23:00:00Z", "2026-03-02T00:00:00Z");
    for (floating, expected) in [
        (&auckland, [true, false, false]),
        (&los_angeles, [false, true, false]),
        (&utc, [false, false, true]),
    ] {
        let got = [nz, la, as_utc].map(|(s, e)| in_range(&event, s, e, floating));
        assert_eq!(got, expected, "{floating:?}");
    }
    // Exact ends in Auckland: [10:30Z, 11:30Z).
    assert!(!in_range(
        &event,
        "2026-03-01T09:00:00Z",
        "2026-03-01T10:30:00Z",
        &auckland
    ));
    assert!(in_range(
        &event,
        "2026-03-01T11:29:59Z",
        "2026-03-01T12:00:00Z",
        &auckland
    ));
    assert!(!in_range(
        &event,
        "2026-03-01T11:30:00Z",
        "2026-03-01T12:00:00Z",
        &auckland
    ));
    // The index keeps the floating time as UTC, within the zone's reach of the real instant.
    let indexed = ok(&event);
    assert_eq!(indexed.first_start, Some(t("2026-03-01T23:30:00Z")));
    for floating in [&auckland, &los_angeles] {
        let real = floating.to_utc(
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                .unwrap()
                .and_hms_opt(23, 30, 0)
                .unwrap(),
        );
        assert!((real - t("2026-03-01T23:30:00Z")).abs() <= floating.reach());
    }
    // Times with a TZID or in UTC do not move with the floating zone.
    let zoned = String::from_utf8(event.clone())
        .unwrap()
        .replace("DTSTART:", "DTSTART;TZID=Europe/Berlin:")
        .replace("DTEND:20260302T003000", "DTEND:20260301T233000Z");
    for floating in [&auckland, &los_angeles, &utc] {
        assert!(in_range(
            zoned.as_bytes(),
            "2026-03-01T22:30:00Z",
            "2026-03-01T22:31:00Z",
            floating
        ));
    }
}

#[test]
fn all_day_events_cover_the_day_of_the_zone() {
    let day = ics(
        "BEGIN:VEVENT\nUID:day\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260301\nEND:VEVENT",
    );
    let auckland = zone("Pacific/Auckland");
    // In Auckland, March 1 is 2026-02-28T11:00Z to 2026-03-01T11:00Z.
    assert!(in_range(
        &day,
        "2026-02-28T12:00:00Z",
        "2026-02-28T13:00:00Z",
        &auckland
    ));
    assert!(!in_range(
        &day,
        "2026-03-01T12:00:00Z",
        "2026-03-01T13:00:00Z",
        &auckland
    ));
    assert!(!in_range(
        &day,
        "2026-03-01T11:00:00Z",
        "2026-03-01T12:00:00Z",
        &auckland
    ));
    let utc = FloatingZone::utc();
    assert!(!in_range(
        &day,
        "2026-02-28T12:00:00Z",
        "2026-02-28T13:00:00Z",
        &utc
    ));
    assert!(in_range(
        &day,
        "2026-03-01T12:00:00Z",
        "2026-03-01T13:00:00Z",
        &utc
    ));

    // 2026-03-08 has 23 hours in Los Angeles (DST starts): 08:00Z to 07:00Z the next day.
    let short = ics(
        "BEGIN:VEVENT\nUID:short\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260308\nDTEND;VALUE=DATE:20260309\nEND:VEVENT",
    );
    let la = zone("America/Los_Angeles");
    assert!(in_range(
        &short,
        "2026-03-09T06:30:00Z",
        "2026-03-09T07:00:00Z",
        &la
    ));
    assert!(!in_range(
        &short,
        "2026-03-09T07:00:00Z",
        "2026-03-09T07:30:00Z",
        &la
    ));
    assert!(!in_range(
        &short,
        "2026-03-08T07:00:00Z",
        "2026-03-08T08:00:00Z",
        &la
    ));

    // A daily all-day rule with an excluded day: the instances are Auckland's days.
    let daily = ics(
        "BEGIN:VEVENT\nUID:daily\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260301\nRRULE:FREQ=DAILY;COUNT=3\nEXDATE;VALUE=DATE:20260302\nEND:VEVENT",
    );
    assert!(in_range(
        &daily,
        "2026-02-28T11:00:00Z",
        "2026-02-28T11:01:00Z",
        &auckland
    ));
    assert!(!in_range(
        &daily,
        "2026-03-01T11:00:00Z",
        "2026-03-02T11:00:00Z",
        &auckland
    ));
    assert!(in_range(
        &daily,
        "2026-03-02T11:00:00Z",
        "2026-03-02T11:01:00Z",
        &auckland
    ));
    assert!(!in_range(
        &daily,
        "2026-03-03T11:00:00Z",
        "2026-03-04T11:00:00Z",
        &auckland
    ));
}

#[test]
fn floating_zones_come_from_names_and_vtimezones() {
    assert!(FloatingZone::utc().is_utc() && FloatingZone::utc().reach() == 0);
    assert_eq!(zone("Pacific/Auckland").reach(), 14 * 3_600);
    assert!(!zone("Pacific/Auckland").is_utc());
    assert!(zone("UTC").is_utc() && zone("Etc/UTC").is_utc());
    assert!(FloatingZone::from_name("New Zealand Standard Time").is_some());
    assert!(FloatingZone::from_name("Mars/Olympus").is_none());

    let vcalendar = |vtimezones: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{vtimezones}END:VCALENDAR\r\n"
        )
    };
    // A zone of its own: its rules are evaluated (+05:30 all year).
    let custom = "BEGIN:VTIMEZONE\r\nTZID:Custom Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
    let (zone_of, tzid) = FloatingZone::from_vtimezone(vcalendar(custom).as_bytes(), &limits())
        .expect("one VTIMEZONE");
    assert_eq!(tzid, "Custom Zone");
    assert_eq!(zone_of.reach(), 19_800);
    let noon = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    assert_eq!(zone_of.to_utc(noon), t("2026-03-01T06:30:00Z"));
    // A well-known name wins over the VTIMEZONE's rules (see `tz`).
    let named = custom.replace("Custom Zone", "Pacific/Auckland");
    let (zone_of, _) =
        FloatingZone::from_vtimezone(vcalendar(&named).as_bytes(), &limits()).unwrap();
    assert_eq!(zone_of.to_utc(noon), t("2026-02-28T23:00:00Z"));
    // What CALDAV:calendar-timezone-id generates reads back as the same zone.
    let built = vtimezones::vtimezone_calendar("America/Los_Angeles").unwrap();
    let (zone_of, tzid) = FloatingZone::from_vtimezone(built.as_bytes(), &limits()).unwrap();
    assert_eq!(tzid, "America/Los_Angeles");
    assert_eq!(zone_of.to_utc(noon), t("2026-03-01T20:00:00Z"));

    for bad in [
        vcalendar(""),
        vcalendar(&format!("{custom}{named}")),
        vcalendar(&custom.replace("TZID:Custom Zone\r\n", "")),
        "not iCalendar".to_string(),
    ] {
        assert!(
            matches!(
                FloatingZone::from_vtimezone(bad.as_bytes(), &limits()),
                Err(IngestError::NotCalendarData(_))
            ),
            "{bad}"
        );
    }
}
