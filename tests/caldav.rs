//! CalDAV over HTTP: discovery from a bare host name, calendars, validated objects,
//! reports, sync, and isolation. The external suites (conformance/) check the rest.

mod common;

use common::*;
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::{Method, StatusCode};

const HOME: &str = "/dav/calendars/alice@a.test/";
const CAL: &str = "/dav/calendars/alice@a.test/calendar/";

fn req(s: &Server, method: &str, path: &str) -> RequestBuilder {
    client()
        .request(Method::from_bytes(method.as_bytes()).unwrap(), s.url(path))
        .basic_auth("alice@a.test", Some("alice-pw-1"))
}

fn setup() -> Server {
    let s = Server::start();
    s.domus_ok(&["domain", "add", "a.test"]);
    s.domus_ok(&["domain", "add", "b.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    add_user(&s.data, "bob@b.test", "bob-pw-1");
    s
}

fn event(uid: &str, start: &str, end: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:Event {uid}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn put(s: &Server, path: &str, body: &str) -> Response {
    req(s, "PUT", path)
        .header("Content-Type", "text/calendar; charset=utf-8")
        .body(body.to_string())
        .send()
        .unwrap()
}

fn report(s: &Server, path: &str, body: &str) -> (StatusCode, String) {
    let r = req(s, "REPORT", path)
        .header("Depth", "1")
        .header("Content-Type", "application/xml")
        .body(body.to_string())
        .send()
        .unwrap();
    (r.status(), r.text().unwrap())
}

#[test]
fn discovery_leads_from_the_host_to_the_calendars() {
    let s = setup();
    let r = client()
        .request(Method::OPTIONS, s.url("/dav/"))
        .send()
        .unwrap();
    let dav = r.headers()["dav"].to_str().unwrap().to_string();
    assert!(dav.contains("calendar-access"), "{dav}");
    assert!(
        !dav.contains("calendar-auto-schedule"),
        "scheduling is not built: {dav}"
    );
    assert!(
        r.headers()["allow"]
            .to_str()
            .unwrap()
            .contains("MKCALENDAR")
    );

    let r = client()
        .get(s.url("/.well-known/caldav"))
        .basic_auth("alice@a.test", Some("alice-pw-1"))
        .send()
        .unwrap();
    assert_eq!(
        r.url().path(),
        "/dav/",
        "well-known redirects to the DAV root"
    );

    let text = req(&s, "PROPFIND", "/dav/principals/alice@a.test/")
        .header("Depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-home-set/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains(&format!("<C:calendar-home-set><D:href>{HOME}</D:href>")),
        "{text}"
    );

    let text = req(&s, "PROPFIND", HOME)
        .header("Depth", "1")
        .body(r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:resourcetype/><D:displayname/><C:supported-calendar-component-set/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    // The home is a plain collection holding the default calendar and task list.
    assert!(text.contains(&format!("<D:href>{HOME}</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype>")), "{text}");
    assert!(
        text.contains("<D:href>/dav/calendars/alice@a.test/calendar/</D:href>")
            && text.contains("<C:calendar/>"),
        "{text}"
    );
    assert!(
        text.contains(r#"<C:comp name="VEVENT"></C:comp>"#)
            && text.contains(r#"<C:comp name="VTODO"></C:comp>"#),
        "{text}"
    );
    assert!(text.contains(">Tasks</D:displayname>"), "{text}");

    // RFC 3744 read side: the owner holds every privilege.
    let text = req(&s, "PROPFIND", CAL)
        .header("Depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:acl/><D:current-user-privilege-set/><D:owner/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(text.contains("<D:ace><D:principal><D:href>/dav/principals/alice@a.test/</D:href></D:principal><D:grant><D:privilege><D:all/></D:privilege></D:grant><D:protected/></D:ace>"), "{text}");
    assert!(
        text.contains("<D:privilege><D:write-content/></D:privilege>")
            && text.contains("<D:owner><D:href>/dav/principals/alice@a.test/</D:href></D:owner>"),
        "{text}"
    );
}

#[test]
fn mkcalendar_keeps_apple_properties_verbatim() {
    let s = setup();
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/">
  <D:set><D:prop>
    <D:displayname>Work</D:displayname>
    <A:calendar-color symbolic-color="blue">#0000FFFF</A:calendar-color>
    <A:calendar-order>3</A:calendar-order>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"#;
    let r = req(&s, "MKCALENDAR", &format!("{HOME}work/"))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = req(&s, "MKCALENDAR", &format!("{HOME}work/"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let text = req(&s, "PROPFIND", &format!("{HOME}work/"))
        .header("Depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:displayname/><A:calendar-color/><A:calendar-order/><C:supported-calendar-component-set/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(text.contains(r#"<A:calendar-color xmlns:A="http://apple.com/ns/ical/" symbolic-color="blue">#0000FFFF</A:calendar-color>"#), "{text}");
    assert!(
        text.contains(">Work</D:displayname>") && text.contains(">3</A:calendar-order>"),
        "{text}"
    );
    assert!(
        text.contains(r#"<C:comp name="VEVENT"></C:comp></C:supported-calendar-component-set>"#),
        "{text}"
    );
    // The component set is fixed once the calendar exists.
    let r = req(&s, "PROPPATCH", &format!("{HOME}work/"))
        .body(r#"<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set></D:propertyupdate>"#)
        .send()
        .unwrap();
    assert!(r.text().unwrap().contains("403 Forbidden"));
    // A plain MKCOL in the home is not a calendar.
    assert_eq!(
        req(&s, "MKCOL", &format!("{HOME}plain/"))
            .send()
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[test]
fn put_validates_objects_with_the_rfc_preconditions() {
    let s = setup();
    let ok = event("u1", "20261201T100000Z", "20261201T110000Z", "");
    let r = put(&s, &format!("{CAL}u1.ics"), &ok);
    assert_eq!(r.status(), StatusCode::CREATED);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = req(&s, "GET", &format!("{CAL}u1.ics")).send().unwrap();
    assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    assert_eq!(r.text().unwrap(), ok);

    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("same UID elsewhere", ok.clone(), StatusCode::CONFLICT, "no-uid-conflict"),
        ("not iCalendar", "hello".to_string(), StatusCode::FORBIDDEN, "valid-calendar-data"),
        ("METHOD", ok.replace("VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:REQUEST\r\n"), StatusCode::FORBIDDEN, "valid-calendar-object-resource"),
        (
            "a task in an event calendar",
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//EN\r\nBEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n".to_string(),
            StatusCode::FORBIDDEN,
            "supported-calendar-component",
        ),
    ];
    // The conflict names the resource holding the UID, as an href.
    let r = put(&s, &format!("{CAL}dup.ics"), &ok);
    assert!(r.text().unwrap().contains("<C:no-uid-conflict><D:href>/dav/calendars/alice@a.test/calendar/u1.ics</D:href></C:no-uid-conflict>"));
    for (what, body, status, element) in cases {
        let r = put(&s, &format!("{CAL}other.ics"), &body);
        assert_eq!(r.status(), status, "{what}");
        let text = r.text().unwrap();
        assert!(text.contains(element), "{what}: {text}");
    }
    // A PUT that changes the UID of an existing resource.
    let r = put(
        &s,
        &format!("{CAL}u1.ics"),
        &event("changed", "20261201T100000Z", "20261201T110000Z", ""),
    );
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Nothing of that was stored.
    let r = req(&s, "GET", &format!("{CAL}other.ics")).send().unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        req(&s, "GET", &format!("{CAL}u1.ics"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        ok
    );
}

#[test]
fn reports_find_objects_by_href_and_by_time() {
    let s = setup();
    put(
        &s,
        &format!("{CAL}in.ics"),
        &event("in", "20261201T100000Z", "20261201T110000Z", ""),
    );
    put(
        &s,
        &format!("{CAL}out.ics"),
        &event("out", "20270101T100000Z", "20270101T110000Z", ""),
    );
    // Weekly from November 2026: one instance falls into the range.
    put(
        &s,
        &format!("{CAL}weekly.ics"),
        &event(
            "weekly",
            "20261102T090000Z",
            "20261102T093000Z",
            "RRULE:FREQ=WEEKLY;COUNT=10\r\n",
        ),
    );

    let (status, text) = report(
        &s,
        CAL,
        r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>/dav/calendars/alice@a.test/calendar/in.ics</D:href><D:href>/dav/calendars/alice@a.test/calendar/missing.ics</D:href></C:calendar-multiget>"#,
    );
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        text.contains("UID:in") && text.contains("<D:getetag>"),
        "{text}"
    );
    assert!(
        text.contains("missing.ics</D:href><D:status>HTTP/1.1 404 Not Found"),
        "{text}"
    );
    // Component and property selection (RFC 4791 §9.6.1).
    let (_, text) = report(
        &s,
        CAL,
        r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:comp name="VCALENDAR"><C:comp name="VEVENT"><C:prop name="UID"/></C:comp></C:comp></C:calendar-data></D:prop><D:href>/dav/calendars/alice@a.test/calendar/in.ics</D:href></C:calendar-multiget>"#,
    );
    assert!(
        text.contains("UID:in") && !text.contains("SUMMARY") && !text.contains("PRODID"),
        "{text}"
    );

    let (status, text) = report(
        &s,
        CAL,
        r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20261130T000000Z" end="20261208T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
    );
    assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
    assert!(
        text.contains("/calendar/in.ics") && text.contains("/calendar/weekly.ics"),
        "{text}"
    );
    assert!(!text.contains("/calendar/out.ics"), "{text}");
    // A filter on a property no object has matches nothing (it is evaluated, not ignored).
    let (status, text) = report(
        &s,
        CAL,
        r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="X-UNKNOWN-THING"><C:param-filter name="X"/></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
    );
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(!text.contains("<D:response>"), "{text}");
}

#[test]
fn sync_and_whole_calendar_get() {
    let s = setup();
    let body = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
    let (_, text) = report(&s, CAL, body);
    let token = text
        .rsplit("<D:sync-token>")
        .next()
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    put(
        &s,
        &format!("{CAL}a.ics"),
        &event("a", "20261201T100000Z", "20261201T110000Z", ""),
    );
    put(
        &s,
        &format!("{CAL}b.ics"),
        &event("b", "20261202T100000Z", "20261202T110000Z", ""),
    );
    assert_eq!(
        req(&s, "DELETE", &format!("{CAL}b.ics"))
            .send()
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let (_, text) = report(
        &s,
        CAL,
        &body.replace(
            "<D:sync-token/>",
            &format!("<D:sync-token>{token}</D:sync-token>"),
        ),
    );
    assert!(
        text.contains("/calendar/a.ics</D:href><D:propstat>"),
        "{text}"
    );
    assert!(
        text.contains("/calendar/b.ics</D:href><D:status>HTTP/1.1 404"),
        "{text}"
    );

    put(
        &s,
        &format!("{CAL}c.ics"),
        &event("c", "20261203T100000Z", "20261203T110000Z", ""),
    );
    let ics = req(&s, "GET", CAL).send().unwrap().text().unwrap();
    assert!(
        ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"),
        "{ics}"
    );
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2, "{ics}");
    assert_eq!(ics.matches("BEGIN:VCALENDAR").count(), 1, "{ics}");
}

#[test]
fn bob_never_reaches_alices_calendars() {
    let s = setup();
    put(
        &s,
        &format!("{CAL}a.ics"),
        &event("a", "20261201T100000Z", "20261201T110000Z", ""),
    );
    let bob = |method: &str, path: &str| {
        client()
            .request(Method::from_bytes(method.as_bytes()).unwrap(), s.url(path))
            .basic_auth("bob@b.test", Some("bob-pw-1"))
            .send()
            .unwrap()
            .status()
    };
    for (method, path) in [
        ("GET", format!("{CAL}a.ics")),
        ("PROPFIND", HOME.to_string()),
        ("DELETE", format!("{CAL}a.ics")),
        ("REPORT", CAL.to_string()),
        ("MKCALENDAR", format!("{HOME}x/")),
    ] {
        assert_eq!(bob(method, &path), StatusCode::NOT_FOUND, "{method} {path}");
    }
    assert_eq!(
        req(&s, "GET", &format!("{CAL}a.ics"))
            .send()
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[test]
fn principal_searches_stay_inside_the_domain() {
    let s = setup();
    add_user(&s.data, "alicia@a.test", "alicia-pw-1");
    let body = r#"<?xml version="1.0" encoding="utf-8"?>
<D:principal-property-search xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:property-search><D:prop><C:calendar-user-address-set/></D:prop><D:match>ali</D:match></D:property-search>
  <D:prop><D:displayname/><C:calendar-user-address-set/></D:prop>
</D:principal-property-search>"#;
    let r = req(&s, "REPORT", "/dav/principals/")
        .header("Depth", "0")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let text = r.text().unwrap();
    assert!(
        text.contains("/dav/principals/alice@a.test/")
            && text.contains("/dav/principals/alicia@a.test/"),
        "{text}"
    );
    // bob's domain has a user matching too; he is never found from a.test.
    add_user(&s.data, "alibaba@b.test", "ali-pw-1");
    let text = req(&s, "REPORT", "/dav/principals/")
        .body(body)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(!text.contains("b.test"), "{text}");
    let r = req(&s, "REPORT", "/dav/principals/")
        .body(r#"<D:principal-search-property-set xmlns:D="DAV:"/>"#)
        .send()
        .unwrap();
    assert!(r.text().unwrap().contains("<D:principal-search-property>"));
}

#[test]
fn text_filters_expansion_and_free_busy() {
    let s = setup();
    put(
        &s,
        &format!("{CAL}a.ics"),
        &event(
            "a",
            "20261201T100000Z",
            "20261201T110000Z",
            "CATEGORIES:Work,Urgent\r\n",
        ),
    );
    put(
        &s,
        &format!("{CAL}b.ics"),
        &event(
            "b",
            "20261202T100000Z",
            "20261202T110000Z",
            "TRANSP:TRANSPARENT\r\n",
        ),
    );
    put(
        &s,
        &format!("{CAL}w.ics"),
        &event(
            "w",
            "20261102T090000Z",
            "20261102T093000Z",
            "RRULE:FREQ=WEEKLY;COUNT=10\r\n",
        ),
    );

    // text-match (case-insensitive by default) on a property; UID lookups work the same way.
    let q = |inner: &str| {
        format!(
            r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">{inner}</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
        )
    };
    let (status, text) = report(
        &s,
        CAL,
        &q(r#"<C:prop-filter name="SUMMARY"><C:text-match>EVENT A</C:text-match></C:prop-filter>"#),
    );
    assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
    assert!(
        text.contains("/calendar/a.ics") && !text.contains("/calendar/b.ics"),
        "{text}"
    );
    let (_, text) = report(
        &s,
        CAL,
        &q(
            r#"<C:prop-filter name="CATEGORIES"><C:text-match collation="i;octet">Urgent</C:text-match></C:prop-filter>"#,
        ),
    );
    assert!(
        text.contains("/calendar/a.ics") && !text.contains("/calendar/w.ics"),
        "{text}"
    );
    let (_, text) = report(
        &s,
        CAL,
        &q(r#"<C:prop-filter name="CATEGORIES"><C:is-not-defined/></C:prop-filter>"#),
    );
    assert!(
        !text.contains("/calendar/a.ics")
            && text.contains("/calendar/b.ics")
            && text.contains("/calendar/w.ics"),
        "{text}"
    );
    let (status, text) = report(
        &s,
        CAL,
        &q(
            r#"<C:prop-filter name="SUMMARY"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter>"#,
        ),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text.contains("supported-collation"), "{text}");

    // calendar-data with expand: each instance in the range is its own VEVENT in UTC.
    let (_, text) = report(
        &s,
        CAL,
        r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand start="20261101T000000Z" end="20261201T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20261101T000000Z" end="20261201T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
    );
    assert_eq!(text.matches("RECURRENCE-ID").count(), 5, "{text}");
    assert!(!text.contains("RRULE"), "{text}");

    // free-busy-query: opaque events are busy, transparent ones are not.
    let r = req(&s, "REPORT", CAL)
        .header("Depth", "1")
        .body(r#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20261201T000000Z" end="20261203T000000Z"/></C:free-busy-query>"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let fb = r.text().unwrap();
    assert!(
        fb.contains("BEGIN:VFREEBUSY") && fb.contains("20261201T100000Z/20261201T110000Z"),
        "{fb}"
    );
    assert!(!fb.contains("20261202T100000Z"), "{fb}");
}

#[test]
fn pathological_recurrences_are_bounded_and_answered_precisely() {
    let s = setup();
    let t = std::time::Instant::now();
    // No end, every second: accepted, indexed up to the horizon, queries stay bounded.
    let r = put(
        &s,
        &format!("{CAL}secondly.ics"),
        &event(
            "secondly",
            "20261201T000000Z",
            "20261201T000001Z",
            "RRULE:FREQ=SECONDLY\r\n",
        ),
    );
    assert_eq!(r.status(), StatusCode::CREATED);
    // Ten million instances: refused with the max-instances precondition, nothing stored.
    let r = put(
        &s,
        &format!("{CAL}count.ics"),
        &event(
            "count",
            "20261201T000000Z",
            "20261201T010000Z",
            "RRULE:FREQ=DAILY;COUNT=10000000\r\n",
        ),
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("max-instances"));
    assert_eq!(
        req(&s, "GET", &format!("{CAL}count.ics"))
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let (status, _) = report(
        &s,
        CAL,
        r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20270101T000000Z" end="20280101T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
    );
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn macos_default_alarms_are_kept_on_the_home() {
    let s = setup();
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/dav-requests/macos-10.11-proppatch-default-alarm-datetime.xml"
    ))
    .unwrap();
    let r = req(&s, "PROPPATCH", HOME)
        .header("Content-Type", "text/xml")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let text = r.text().unwrap();
    assert!(text.contains("200 OK") && !text.contains("403"), "{text}");
    let text = req(&s, "PROPFIND", HOME)
        .header("Depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:default-alarm-vevent-datetime/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(text.contains("BEGIN:VALARM"), "{text}");
}

#[test]
fn gzip_encoded_puts_are_inflated_within_the_limits() {
    use std::io::Write;
    let s = setup();
    let gz = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    // iCal 4 sends its PUT bodies gzip-encoded.
    let body = event("gz", "20261201T100000Z", "20261201T110000Z", "");
    let r = req(&s, "PUT", &format!("{CAL}gz.ics"))
        .header("Content-Encoding", "gzip")
        .body(gz(body.as_bytes()))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        req(&s, "GET", &format!("{CAL}gz.ics"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        body
    );
    // A small body that inflates past the limit is refused, not inflated without end.
    let bomb = gz(&vec![b'a'; 120 << 20]);
    assert!(bomb.len() < 1 << 20);
    let r = req(&s, "PUT", &format!("{CAL}bomb.ics"))
        .header("Content-Encoding", "gzip")
        .body(bomb)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// Listings larger than one chunk are sent while they are written (chunked, no
/// Content-Length) and still arrive as one well-formed multistatus.
#[test]
fn large_listings_are_streamed_whole() {
    let s = setup();
    let n = 600;
    for i in 0..n {
        let r = put(
            &s,
            &format!("{CAL}e{i:04}.ics"),
            &event(&format!("e{i}"), "20261201T100000Z", "20261201T110000Z", ""),
        );
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let propfind = req(&s, "PROPFIND", CAL)
        .header("Depth", "1")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:x-missing/></D:prop></D:propfind>"#)
        .send()
        .unwrap();
    assert_eq!(propfind.status(), StatusCode::MULTI_STATUS);
    assert!(propfind.headers().get("content-length").is_none());
    let text = propfind.text().unwrap();
    assert!(text.len() > 2 * 64 * 1024, "{}", text.len());
    let sync = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
    let (status, synced) = report(&s, CAL, sync);
    assert_eq!(status, StatusCode::MULTI_STATUS);
    for (body, responses) in [(&text, n + 1), (&synced, n)] {
        assert_eq!(body.matches("<D:response>").count(), responses);
        assert_eq!(body.matches("</D:response>").count(), responses);
        assert_eq!(body.matches("<D:multistatus").count(), 1);
        assert!(body.trim_end().ends_with("</D:multistatus>"));
    }
    // Every member answered getetag (200) and the unknown property (404), in order.
    assert_eq!(text.matches("HTTP/1.1 404 Not Found").count(), n + 1);
    let first = text.find("/calendar/e0000.ics").unwrap();
    let last = text.find(&format!("/calendar/e{:04}.ics", n - 1)).unwrap();
    assert!(first < last);
    assert!(synced.contains("<D:sync-token>urn:x-domus:sync:"));
}

/// Pacific/Auckland as Apple clients write it (NZDT +13 until April).
const AUCKLAND_VTIMEZONE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\nBEGIN:VTIMEZONE\r\nTZID:Pacific/Auckland\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+1200\r\nRRULE:FREQ=YEARLY;BYMONTH=9;BYDAY=-1SU\r\nDTSTART:20070930T020000\r\nTZNAME:NZDT\r\nTZOFFSETTO:+1300\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+1300\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU\r\nDTSTART:20080406T030000\r\nTZNAME:NZST\r\nTZOFFSETTO:+1200\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";

/// A zone of the client's own, UTC-8 all year: its rules are what counts.
const MINUS_EIGHT_VTIMEZONE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\nBEGIN:VTIMEZONE\r\nTZID:Custom Minus Eight\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:-0800\r\nTZOFFSETTO:-0800\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";

/// The hrefs' last segments in a multistatus, sorted.
fn names_in(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split("<D:href>")
        .skip(1)
        .filter_map(|h| h.split("</D:href>").next())
        .map(|h| h.rsplit('/').next().unwrap_or(h).to_string())
        .collect();
    names.sort();
    names
}

/// A calendar-query on `cal` for VEVENTs in [start, end), with `extra` after the filter.
fn events_between(
    s: &Server,
    cal: &str,
    start: &str,
    end: &str,
    extra: &str,
) -> (StatusCode, String) {
    report(
        s,
        cal,
        &format!(
            r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter>{extra}</C:calendar-query>"#
        ),
    )
}

fn floating_event(uid: &str, dates: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{dates}SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn propfind_calendar(s: &Server, path: &str, props: &str) -> String {
    req(s, "PROPFIND", path)
        .header("Depth", "0")
        .body(format!(
            r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>{props}</D:prop></D:propfind>"#
        ))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

#[test]
fn floating_times_are_read_in_the_calendar_or_query_time_zone() {
    let s = setup();
    let nz = format!("{HOME}nz/");
    let la = format!("{HOME}la/");
    // MKCALENDAR with CALDAV:calendar-timezone (a VTIMEZONE) and with RFC 7809's id.
    let r = req(&s, "MKCALENDAR", &nz)
        .body(format!(
            r#"<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>{AUCKLAND_VTIMEZONE}</C:calendar-timezone></D:prop></D:set></C:mkcalendar>"#
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = req(&s, "MKCALENDAR", &la)
        .body(r#"<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone-id>America/Los_Angeles</C:calendar-timezone-id></D:prop></D:set></C:mkcalendar>"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Each property brings the other along.
    let text = propfind_calendar(&s, &nz, "<C:calendar-timezone-id/>");
    assert!(
        text.contains(">Pacific/Auckland</C:calendar-timezone-id>"),
        "{text}"
    );
    let text = propfind_calendar(&s, &la, "<C:calendar-timezone/>");
    assert!(
        text.contains("TZID:America/Los_Angeles") && text.contains("BEGIN:DAYLIGHT"),
        "{text}"
    );

    // The same floating hour from 23:30 on 2026-03-01, and an all-day event on March 1.
    let late = floating_event(
        "late",
        "DTSTART:20260301T233000\r\nDTEND:20260302T003000\r\n",
    );
    let day = floating_event("day", "DTSTART;VALUE=DATE:20260301\r\n");
    for cal in [&nz, &la, &CAL.to_string()] {
        for (name, body) in [("late.ics", &late), ("day.ics", &day)] {
            let status = put(&s, &format!("{cal}{name}"), body).status();
            assert_eq!(status, StatusCode::CREATED, "{cal}{name}");
        }
    }
    let hits = |cal: &str, start: &str, end: &str| {
        let (status, text) = events_between(&s, cal, start, end, "");
        assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
        names_in(&text)
    };
    // Auckland: the hour is 10:30Z-11:30Z, March 1 is 2026-02-28T11:00Z-2026-03-01T11:00Z.
    assert_eq!(
        hits(&nz, "20260301T100000Z", "20260301T110000Z"),
        ["day.ics", "late.ics"]
    );
    assert_eq!(
        hits(&nz, "20260301T113000Z", "20260302T090000Z"),
        Vec::<String>::new()
    );
    assert_eq!(
        hits(&nz, "20260228T120000Z", "20260228T130000Z"),
        ["day.ics"]
    );
    // Los Angeles (PST): the hour is 07:30Z-08:30Z on March 2, March 1 is 08:00Z-08:00Z.
    assert_eq!(
        hits(&la, "20260301T100000Z", "20260301T110000Z"),
        ["day.ics"]
    );
    assert_eq!(
        hits(&la, "20260302T070000Z", "20260302T073000Z"),
        ["day.ics"]
    );
    assert_eq!(
        hits(&la, "20260302T080000Z", "20260302T090000Z"),
        ["late.ics"]
    );
    // A calendar without a time zone reads them as UTC.
    assert_eq!(
        hits(CAL, "20260301T233000Z", "20260301T233100Z"),
        ["day.ics", "late.ics"]
    );
    assert_eq!(
        hits(CAL, "20260301T100000Z", "20260301T110000Z"),
        ["day.ics"]
    );
    assert_eq!(
        hits(CAL, "20260302T080000Z", "20260302T090000Z"),
        Vec::<String>::new()
    );

    // The query's CALDAV:timezone, or RFC 7809's CALDAV:timezone-id, overrides the calendar's.
    let in_query = |extra: &str| {
        let (status, text) = events_between(&s, &nz, "20260302T080000Z", "20260302T090000Z", extra);
        assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
        names_in(&text)
    };
    assert_eq!(
        in_query(&format!("<C:timezone>{MINUS_EIGHT_VTIMEZONE}</C:timezone>")),
        ["late.ics"]
    );
    assert_eq!(
        in_query("<C:timezone-id>America/Los_Angeles</C:timezone-id>"),
        ["late.ics"]
    );
    assert_eq!(in_query(""), Vec::<String>::new());
    let (status, text) = events_between(
        &s,
        &nz,
        "20260302T080000Z",
        "20260302T090000Z",
        "<C:timezone-id>Mars/Olympus</C:timezone-id>",
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text.contains("valid-timezone"), "{text}");
    let (status, text) = events_between(
        &s,
        &nz,
        "20260302T080000Z",
        "20260302T090000Z",
        "<C:timezone>BEGIN:VCALENDAR</C:timezone>",
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text.contains("valid-calendar-data"), "{text}");

    // calendar-data with expand writes the floating times in UTC, read in the zone.
    let (_, text) = report(
        &s,
        &nz,
        r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand start="20260301T000000Z" end="20260303T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match>late</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
    );
    assert!(text.contains("DTSTART:20260301T103000Z"), "{text}");

    // free-busy-query reads them in the calendar's zone.
    let fb = req(&s, "REPORT", &la)
        .header("Depth", "1")
        .body(r#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260302T000000Z" end="20260303T000000Z"/></C:free-busy-query>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        fb.contains("FBTYPE=BUSY:20260302T000000Z/20260302T083000Z"),
        "{fb}"
    );

    // PROPPATCH: a new id moves the calendar's zone (and its VTIMEZONE); bad values are refused.
    let patch = |body: &str| {
        req(&s, "PROPPATCH", &nz)
            .body(format!(
                r#"<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">{body}</D:propertyupdate>"#
            ))
            .send()
            .unwrap()
    };
    let r = patch(
        "<D:set><D:prop><C:calendar-timezone-id>America/Los_Angeles</C:calendar-timezone-id></D:prop></D:set>",
    );
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert_eq!(
        hits(&nz, "20260302T080000Z", "20260302T090000Z"),
        ["late.ics"]
    );
    let text = propfind_calendar(&s, &nz, "<C:calendar-timezone/>");
    assert!(
        text.contains("TZID:America/Los_Angeles") && !text.contains("NZDT"),
        "{text}"
    );
    let r = patch(
        "<D:set><D:prop><C:calendar-timezone-id>Mars/Olympus</C:calendar-timezone-id></D:prop></D:set>",
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("valid-timezone"));
    let r = patch(
        "<D:set><D:prop><C:calendar-timezone>no time zone</C:calendar-timezone></D:prop></D:set>",
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("valid-calendar-data"));
    // A zone of the client's own: no id (it is not a standard name), its rules are used.
    let r = patch(&format!(
        "<D:set><D:prop><C:calendar-timezone>{MINUS_EIGHT_VTIMEZONE}</C:calendar-timezone></D:prop></D:set>"
    ));
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let text = propfind_calendar(&s, &nz, "<C:calendar-timezone-id/>");
    assert!(
        !text.contains("</C:calendar-timezone-id>") && text.contains("404"),
        "{text}"
    );
    assert_eq!(
        hits(&nz, "20260302T080000Z", "20260302T090000Z"),
        ["late.ics"]
    );
    // Removing the time zone makes floating times UTC again.
    let r = patch("<D:remove><D:prop><C:calendar-timezone/></D:prop></D:remove>");
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert_eq!(
        hits(&nz, "20260301T233000Z", "20260301T233100Z"),
        ["day.ics", "late.ics"]
    );
    // MKCALENDAR checks the same way.
    let r = req(&s, "MKCALENDAR", &format!("{HOME}bad/"))
        .body(r#"<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>BEGIN:VCALENDAR</C:calendar-timezone></D:prop></D:set></C:mkcalendar>"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[test]
fn time_zones_by_reference_rfc_7809() {
    let s = setup();
    let dav = client()
        .request(Method::OPTIONS, s.url(HOME))
        .send()
        .unwrap()
        .headers()["dav"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(dav.contains("calendar-no-timezone"), "{dav}");

    // A standard zone referenced by TZID alone is accepted and read in that zone.
    let berlin = floating_event(
        "berlin",
        "DTSTART;TZID=Europe/Berlin:20260301T100000\r\nDTEND;TZID=Europe/Berlin:20260301T110000\r\n",
    );
    let r = put(&s, &format!("{CAL}berlin.ics"), &berlin);
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, text) = events_between(&s, CAL, "20260301T090000Z", "20260301T091500Z", "");
    assert_eq!(names_in(&text), ["berlin.ics"]);
    let (_, text) = events_between(&s, CAL, "20260301T100000Z", "20260301T110000Z", "");
    assert_eq!(names_in(&text), Vec::<String>::new());
    // One with its VTIMEZONE (a standard name), and one with a zone of its own.
    let with_vtimezone = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\n{}BEGIN:VEVENT\r\nUID:nz\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Pacific/Auckland:20260301T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        &AUCKLAND_VTIMEZONE[AUCKLAND_VTIMEZONE.find("BEGIN:VTIMEZONE").unwrap()
            ..AUCKLAND_VTIMEZONE.find("END:VCALENDAR").unwrap()]
    );
    assert_eq!(
        put(&s, &format!("{CAL}nz.ics"), &with_vtimezone).status(),
        StatusCode::CREATED
    );
    let custom = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\n{}BEGIN:VEVENT\r\nUID:custom\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Custom Minus Eight:20260301T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        &MINUS_EIGHT_VTIMEZONE[MINUS_EIGHT_VTIMEZONE.find("BEGIN:VTIMEZONE").unwrap()
            ..MINUS_EIGHT_VTIMEZONE.find("END:VCALENDAR").unwrap()]
    );
    assert_eq!(
        put(&s, &format!("{CAL}custom.ics"), &custom).status(),
        StatusCode::CREATED
    );

    // GET (CalDAV-Timezones absent, so T): the missing VTIMEZONE is there, the ETag too.
    let r = req(&s, "GET", &format!("{CAL}berlin.ics")).send().unwrap();
    assert!(r.headers().get("etag").is_some());
    let ics = r.text().unwrap();
    assert_eq!(ics.matches("BEGIN:VTIMEZONE").count(), 1, "{ics}");
    assert!(ics.contains("TZID:Europe/Berlin\r\n"), "{ics}");
    assert!(
        ics.find("BEGIN:VTIMEZONE").unwrap() < ics.find("BEGIN:VEVENT").unwrap(),
        "{ics}"
    );
    // CalDAV-Timezones: F leaves out standard zones, whether stored or not; same ETag.
    let r = req(&s, "GET", &format!("{CAL}berlin.ics"))
        .header("CalDAV-Timezones", "F")
        .send()
        .unwrap();
    assert!(r.headers().get("etag").is_some());
    assert_eq!(r.text().unwrap(), berlin, "served as stored");
    let text = req(&s, "GET", &format!("{CAL}nz.ics"))
        .header("CalDAV-Timezones", "F")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !text.contains("BEGIN:VTIMEZONE") && text.contains("UID:nz"),
        "{text}"
    );
    let text = req(&s, "GET", &format!("{CAL}custom.ics"))
        .header("CalDAV-Timezones", "F")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(text, custom, "a zone of its own stays");
    // HEAD announces the length GET sends.
    let head = req(&s, "HEAD", &format!("{CAL}berlin.ics")).send().unwrap();
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        ics.len().to_string()
    );
    // The whole calendar: each zone once; with F only the zone of its own.
    let whole = req(&s, "GET", CAL).send().unwrap().text().unwrap();
    assert_eq!(whole.matches("BEGIN:VTIMEZONE").count(), 3, "{whole}");
    assert_eq!(
        whole.matches("TZID:Europe/Berlin\r\n").count(),
        1,
        "{whole}"
    );
    let whole = req(&s, "GET", CAL)
        .header("CalDAV-Timezones", "F")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(whole.matches("BEGIN:VTIMEZONE").count(), 1, "{whole}");
    assert!(whole.contains("TZID:Custom Minus Eight\r\n"), "{whole}");

    // calendar-data in reports follows CalDAV-Timezones.
    let multiget = |header: Option<&str>| {
        let mut r = req(&s, "REPORT", CAL)
            .header("Depth", "1")
            .body(r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><D:href>/dav/calendars/alice@a.test/calendar/berlin.ics</D:href><D:href>/dav/calendars/alice@a.test/calendar/nz.ics</D:href><D:href>/dav/calendars/alice@a.test/calendar/custom.ics</D:href></C:calendar-multiget>"#);
        if let Some(value) = header {
            r = r.header("CalDAV-Timezones", value);
        }
        let r = r.send().unwrap();
        assert_eq!(r.status(), StatusCode::MULTI_STATUS);
        r.text().unwrap()
    };
    for header in [None, Some("T")] {
        let text = multiget(header);
        assert_eq!(
            text.matches("BEGIN:VTIMEZONE").count(),
            3,
            "{header:?}: {text}"
        );
        assert!(text.contains("TZID:Europe/Berlin"), "{text}");
    }
    let text = multiget(Some("F"));
    assert_eq!(text.matches("BEGIN:VTIMEZONE").count(), 1, "{text}");
    assert!(text.contains("TZID:Custom Minus Eight"), "{text}");
    assert!(
        !text.contains("TZID:Pacific/Auckland") && !text.contains("NZDT"),
        "{text}"
    );
    assert!(
        text.contains("DTSTART;TZID=Pacific/Auckland:20260301T100000"),
        "{text}"
    );
    let r = req(&s, "REPORT", CAL)
        .header("Depth", "1")
        .header("CalDAV-Timezones", "F")
        .body(r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="UID"><C:text-match>nz</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#)
        .send()
        .unwrap();
    let text = r.text().unwrap();
    assert!(
        text.contains("UID:nz") && !text.contains("BEGIN:VTIMEZONE"),
        "{text}"
    );
}

/// Apple Calendar keeps its own subscriptions on the server (a CalendarServer `subscribed`
/// collection with its source), so every device of the user sees them.
#[test]
fn apple_client_side_subscriptions_are_stored_and_listed() {
    let s = setup();
    let body = r#"<D:mkcol xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/" xmlns:ICAL="http://apple.com/ns/ical/"><D:set><D:prop><D:resourcetype><D:collection/><CS:subscribed/></D:resourcetype><D:displayname>US Holidays</D:displayname><CS:source><D:href>webcal://example.org/holidays.ics</D:href></CS:source><CS:refreshrate>P1W</CS:refreshrate><ICAL:calendar-color>#FF2968</ICAL:calendar-color></D:prop></D:set></D:mkcol>"#;
    let r = req(&s, "MKCOL", &format!("{HOME}holidays/"))
        .header("Content-Type", "application/xml")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let listing = req(&s, "PROPFIND", HOME)
        .header("Depth", "1")
        .body(r#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:displayname/><CS:source/><CS:refreshrate/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let entry = listing
        .split("<D:response>")
        .find(|r| r.contains("/holidays/</D:href>"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(entry.contains("<CS:subscribed/>"), "{entry}");
    assert!(
        entry.contains("webcal://example.org/holidays.ics"),
        "{entry}"
    );
    assert!(
        entry.contains("P1W") && entry.contains("US Holidays"),
        "{entry}"
    );
    assert!(!entry.contains("<C:calendar/>"), "{entry}");
    let r = put(
        &s,
        &format!("{HOME}holidays/x.ics"),
        &event("x", "20261201T100000Z", "20261201T110000Z", ""),
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let no_source = body.replace(
        "<CS:source><D:href>webcal://example.org/holidays.ics</D:href></CS:source>",
        "",
    );
    let r = req(&s, "MKCOL", &format!("{HOME}other/"))
        .header("Content-Type", "application/xml")
        .body(no_source)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = req(&s, "DELETE", &format!("{HOME}holidays/"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}
