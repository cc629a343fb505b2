//! Rights inside a domain over HTTP and the CLI: groups (domain admins), grants of
//! calendars and address books to users, groups and everyone, refused outside the domain,
//! and what grants open in the DAV spaces.

mod common;

use common::*;
use reqwest::blocking::RequestBuilder;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ALICE: (&str, &str) = ("alice@a.test", "alice-pw-1");
const BOB: (&str, &str) = ("bob@a.test", "bob-pw-1");
const CAROL: (&str, &str) = ("carol@a.test", "carol-pw-1");
const DAVE: (&str, &str) = ("dave@b.test", "dave-pw-1");
const CAL: &str = "/dav/calendars/alice@a.test/calendar/";

fn setup() -> Server {
    let s = Server::start();
    s.domus_ok(&["domain", "add", "a.test"]);
    s.domus_ok(&["domain", "add", "b.test"]);
    for (u, p) in [ALICE, BOB, CAROL, DAVE] {
        add_user(&s.data, u, p);
    }
    s
}

fn as_user(s: &Server, method: &str, path: &str, user: (&str, &str)) -> RequestBuilder {
    client()
        .request(Method::from_bytes(method.as_bytes()).unwrap(), s.url(path))
        .basic_auth(user.0, Some(user.1))
}

fn grant(s: &Server, to: &str, level: &str) -> Value {
    let r = as_user(s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
        .json(&json!({ "to": to, "level": level }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().unwrap()
}

#[test]
fn groups_by_cli_and_by_domain_admins_over_the_api() {
    let s = setup();
    s.domus_ok(&["group", "add", "a.test", "sales"]);
    s.domus_ok(&["group", "member", "add", "a.test", "sales", "bob@a.test"]);
    s.domus_ok(&["group", "member", "add", "a.test", "sales", "carol@a.test"]);
    let out = s.domus_ok(&["group", "list", "a.test", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["name"], "sales");
    assert_eq!(v[0]["members"], json!(["bob@a.test", "carol@a.test"]));
    // A member of another domain is refused, with the reason.
    let err = domus_err(
        &s.data,
        &["group", "member", "add", "a.test", "sales", "dave@b.test"],
        None,
    );
    assert!(err.contains("outside a.test"), "{err}");
    let err = domus_err(&s.data, &["group", "add", "a.test", "sales"], None);
    assert!(err.contains("already has a group named sales"), "{err}");
    let err = domus_err(&s.data, &["group", "add", "a.test", "Bad Name!"], None);
    assert!(err.contains("group name"), "{err}");

    // The API is for domain admins only.
    let r = as_user(&s, "GET", "/api/v1/groups", BOB).send().unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .unwrap()
            .contains("domus user admin bob@a.test --on")
    );
    s.domus_ok(&["user", "admin", "bob@a.test", "--on"]);
    let r = as_user(&s, "POST", "/api/v1/groups", BOB)
        .json(&json!({ "name": "ops" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = as_user(&s, "POST", "/api/v1/groups/ops/members", BOB)
        .json(&json!({ "address": "alice@a.test" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().unwrap()["members"],
        json!(["alice@a.test"])
    );
    let r = as_user(&s, "POST", "/api/v1/groups/ops/members", BOB)
        .json(&json!({ "address": "dave@b.test" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = as_user(&s, "GET", "/api/v1/groups", BOB).send().unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(v["groups"].as_array().unwrap().len(), 2, "{v}");
    let r = as_user(&s, "DELETE", "/api/v1/groups/ops/members/alice@a.test", BOB)
        .send()
        .unwrap();
    assert_eq!(r.json::<Value>().unwrap()["members"], json!([]));
    let r = as_user(&s, "DELETE", "/api/v1/groups/ops", BOB)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    s.domus_ok(&["user", "admin", "bob@a.test", "--off"]);
    let r = as_user(&s, "GET", "/api/v1/groups", BOB).send().unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Dave, admin of b.test, sees b.test's groups only.
    s.domus_ok(&["user", "admin", "dave@b.test", "--on"]);
    let r = as_user(&s, "GET", "/api/v1/groups", DAVE).send().unwrap();
    assert_eq!(r.json::<Value>().unwrap()["groups"], json!([]));
    s.domus_ok(&["group", "remove", "a.test", "sales"]);
    let out = s.domus_ok(&["group", "list", "a.test", "--json"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!([]));
}

#[test]
fn grants_by_api_and_cli_stay_inside_the_domain() {
    let s = setup();
    let g = grant(&s, "bob@a.test", "read");
    assert_eq!(g["to"], "bob@a.test");
    assert_eq!(g["level"], "read");
    assert_eq!(g["collection"], "calendar");
    assert_eq!(g["name"], "calendar");
    // The same grantee again: the level changes, the grant stays one.
    let g2 = grant(&s, "bob@a.test", "write");
    assert_eq!(g2["id"], g["id"]);
    assert_eq!(g2["level"], "write");
    grant(&s, "everyone", "freebusy");
    let r = as_user(&s, "GET", "/api/v1/calendars/calendar/grants", ALICE)
        .send()
        .unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(v["grants"].as_array().unwrap().len(), 2, "{v}");

    // Outside the domain: refused, by the API and the CLI, with what to do instead.
    let r = as_user(&s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
        .json(&json!({ "to": "dave@b.test", "level": "read" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let text = r.text().unwrap();
    assert!(text.contains("grants stay inside the domain"), "{text}");
    let err = domus_err(
        &s.data,
        &[
            "grant",
            "add",
            "alice@a.test",
            "calendar",
            "calendar",
            "--to",
            "dave@b.test",
            "--read",
        ],
        None,
    );
    assert!(err.contains("grants stay inside the domain"), "{err}");
    // Unknown users, groups and calendars.
    for (to, code) in [
        ("nobody@a.test", StatusCode::NOT_FOUND),
        ("group:nope", StatusCode::NOT_FOUND),
    ] {
        let r = as_user(&s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
            .json(&json!({ "to": to, "level": "read" }))
            .send()
            .unwrap();
        assert_eq!(r.status(), code, "{to}");
    }
    let r = as_user(&s, "POST", "/api/v1/calendars/nope/grants", ALICE)
        .json(&json!({ "to": "bob@a.test", "level": "read" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // CLI: add on an address book, list, remove.
    s.domus_ok(&["group", "add", "a.test", "sales"]);
    let out = s.domus_ok(&[
        "grant",
        "add",
        "alice@a.test",
        "addressbook",
        "contacts",
        "--to",
        "group:sales",
        "--write",
        "--json",
    ]);
    let book: Value = serde_json::from_str(&out).unwrap();
    let err = domus_err(
        &s.data,
        &[
            "grant",
            "add",
            "alice@a.test",
            "addressbook",
            "contacts",
            "--to",
            "everyone",
            "--freebusy",
        ],
        None,
    );
    assert!(err.contains("no free/busy"), "{err}");
    assert_eq!(book["to"], "group:sales");
    assert_eq!(book["collection"], "addressbook");
    let out = s.domus_ok(&["grant", "list", "alice@a.test", "--json"]);
    let all: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    let id = book["id"].as_str().unwrap();
    s.domus_ok(&["grant", "remove", "alice@a.test", id]);
    let err = domus_err(&s.data, &["grant", "remove", "alice@a.test", id], None);
    assert!(err.contains("has no grant"), "{err}");
    // Bob cannot remove Alice's grant through his own calendar.
    let gid = g["id"].as_str().unwrap();
    let r = as_user(
        &s,
        "DELETE",
        &format!("/api/v1/calendars/calendar/grants/{gid}"),
        BOB,
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = as_user(
        &s,
        "DELETE",
        &format!("/api/v1/calendars/calendar/grants/{gid}"),
        ALICE,
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

fn event(uid: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T090000Z\r\nDTEND:20260310T100000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn put(s: &Server, user: (&str, &str), path: &str, body: &str) -> reqwest::blocking::Response {
    as_user(s, "PUT", path, user)
        .header("Content-Type", "text/calendar")
        .body(body.to_string())
        .send()
        .unwrap()
}

fn propfind(
    s: &Server,
    user: (&str, &str),
    path: &str,
    depth: &str,
    body: &str,
) -> (StatusCode, String) {
    let r = as_user(s, "PROPFIND", path, user)
        .header("Depth", depth)
        .header("Content-Type", "application/xml")
        .body(body.to_string())
        .send()
        .unwrap();
    (r.status(), r.text().unwrap())
}

const CUPS: &str = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-privilege-set/><D:current-user-principal/><D:acl/></D:prop></D:propfind>"#;
const FREEBUSY: &str = r#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260301T000000Z" end="20260401T000000Z"/></C:free-busy-query>"#;
const QUERY: &str = r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>"#;

fn report(s: &Server, user: (&str, &str), path: &str, body: &str) -> (StatusCode, String) {
    let r = as_user(s, "REPORT", path, user)
        .header("Depth", "1")
        .header("Content-Type", "application/xml")
        .body(body.to_string())
        .send()
        .unwrap();
    (r.status(), r.text().unwrap())
}

#[test]
fn a_read_grant_reads_and_refuses_writes_with_need_privileges() {
    let s = setup();
    assert_eq!(
        put(
            &s,
            ALICE,
            &format!("{CAL}one.ics"),
            &event("one", "Planning")
        )
        .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        put(
            &s,
            ALICE,
            "/dav/calendars/alice@a.test/tasks/secret.ics",
            &event("t", "Secret").replace("VEVENT", "VTODO")
        )
        .status(),
        StatusCode::CREATED
    );
    // Without a grant: not found, nothing leaks.
    for path in [
        CAL.to_string(),
        format!("{CAL}one.ics"),
        "/dav/calendars/alice@a.test/".into(),
    ] {
        let r = as_user(&s, "GET", &path, BOB).send().unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!r.text().unwrap().contains("Planning"));
    }
    grant(&s, "bob@a.test", "read");
    let r = as_user(&s, "GET", &format!("{CAL}one.ics"), BOB)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().unwrap().contains("SUMMARY:Planning"));
    let (status, text) = propfind(&s, BOB, CAL, "1", CUPS);
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(text.contains("one.ics"), "{text}");
    assert!(
        text.contains("<D:read/>") && !text.contains("<D:write/>"),
        "{text}"
    );
    assert!(text.contains("/dav/principals/bob@a.test/"), "{text}");
    let (status, text) = report(&s, BOB, CAL, QUERY);
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(text.contains("SUMMARY:Planning"), "{text}");
    // Writes: 403 with need-privileges naming the resource and the privilege.
    let r = put(&s, BOB, &format!("{CAL}two.ics"), &event("two", "Bob's"));
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let text = r.text().unwrap();
    assert!(
        text.contains("need-privileges") && text.contains("<D:resource>"),
        "{text}"
    );
    assert!(
        text.contains("/dav/calendars/alice@a.test/calendar/two.ics"),
        "{text}"
    );
    assert!(text.contains("<D:write-content/>"), "{text}");
    let r = as_user(&s, "DELETE", &format!("{CAL}one.ics"), BOB)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("<D:unbind/>"));
    let r = as_user(&s, "PROPPATCH", CAL, BOB)
        .body(r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Mine</D:displayname></D:prop></D:set></D:propertyupdate>"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("<D:write-properties/>"));
    // The grant opens that calendar only: not the tasks, not the home, not through hrefs.
    for path in [
        "/dav/calendars/alice@a.test/tasks/secret.ics",
        "/dav/calendars/alice@a.test/tasks/",
        "/dav/calendars/alice@a.test/",
    ] {
        let r = as_user(&s, "GET", path, BOB).send().unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let multiget = r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><D:href>/dav/calendars/alice@a.test/tasks/secret.ics</D:href><D:href>/dav/calendars/alice@a.test/calendar/one.ics</D:href></C:calendar-multiget>"#;
    let (status, text) = report(&s, BOB, CAL, multiget);
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        text.contains("Planning") && !text.contains("Secret"),
        "{text}"
    );
    // Carol holds no grant.
    assert_eq!(
        as_user(&s, "GET", &format!("{CAL}one.ics"), CAROL)
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // The owner's acl shows the grant; Bob's privileges are read only.
    let (_, text) = propfind(&s, ALICE, CAL, "0", CUPS);
    assert!(text.contains("/dav/principals/bob@a.test/"), "{text}");
    assert!(text.contains("<D:all/>"), "{text}");
}

#[test]
fn a_write_grant_writes_objects_but_not_the_collection_itself() {
    let s = setup();
    grant(&s, "bob@a.test", "write");
    assert_eq!(
        put(&s, BOB, &format!("{CAL}bob.ics"), &event("bob", "From Bob")).status(),
        StatusCode::CREATED
    );
    let r = as_user(&s, "GET", &format!("{CAL}bob.ics"), ALICE)
        .send()
        .unwrap();
    assert!(r.text().unwrap().contains("From Bob"));
    let (_, text) = propfind(&s, BOB, CAL, "0", CUPS);
    assert!(text.contains("<D:write-content/>"), "{text}");
    let r = as_user(&s, "DELETE", CAL, BOB).send().unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        as_user(&s, "GET", CAL, ALICE).send().unwrap().status(),
        StatusCode::OK
    );
    let r = as_user(&s, "DELETE", &format!("{CAL}bob.ics"), BOB)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Copies stay inside the granted calendar.
    put(&s, BOB, &format!("{CAL}c.ics"), &event("c", "C"));
    let r = as_user(&s, "COPY", &format!("{CAL}c.ics"), BOB)
        .header(
            "Destination",
            s.url("/dav/calendars/alice@a.test/tasks/c.ics"),
        )
        .send()
        .unwrap();
    assert!(
        r.status().is_client_error() || r.status().is_server_error(),
        "{}",
        r.status()
    );
    assert_eq!(
        as_user(&s, "GET", "/dav/calendars/alice@a.test/tasks/c.ics", ALICE)
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn a_freebusy_grant_answers_free_busy_query_only() {
    let s = setup();
    put(&s, ALICE, &format!("{CAL}one.ics"), &event("one", "Doctor"));
    grant(&s, "bob@a.test", "freebusy");
    let (_, text) = propfind(
        &s,
        ALICE,
        CAL,
        "0",
        r#"<D:propfind xmlns:D="DAV:"><D:prop><D:supported-privilege-set/></D:prop></D:propfind>"#,
    );
    assert!(text.contains("read-free-busy"), "{text}");
    let (status, text) = report(&s, BOB, CAL, FREEBUSY);
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        text.contains("FREEBUSY") && !text.contains("Doctor"),
        "{text}"
    );
    let (status, text) = report(&s, BOB, CAL, QUERY);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        text.contains("need-privileges") && !text.contains("Doctor"),
        "{text}"
    );
    for method in ["GET", "PROPFIND"] {
        let r = as_user(&s, method, &format!("{CAL}one.ics"), BOB)
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method}");
        assert!(!r.text().unwrap().contains("Doctor"));
    }
    assert_eq!(
        put(&s, BOB, &format!("{CAL}x.ics"), &event("x", "X")).status(),
        StatusCode::FORBIDDEN
    );
}

#[test]
fn group_and_everyone_grants_follow_membership() {
    let s = setup();
    put(&s, ALICE, &format!("{CAL}one.ics"), &event("one", "Team"));
    s.domus_ok(&["group", "add", "a.test", "team"]);
    s.domus_ok(&["group", "member", "add", "a.test", "team", "bob@a.test"]);
    grant(&s, "group:team", "write");
    assert_eq!(
        put(&s, BOB, &format!("{CAL}b.ics"), &event("b", "B")).status(),
        StatusCode::CREATED
    );
    assert_eq!(
        as_user(&s, "GET", &format!("{CAL}one.ics"), CAROL)
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    s.domus_ok(&["group", "member", "remove", "a.test", "team", "bob@a.test"]);
    assert_eq!(
        as_user(&s, "GET", &format!("{CAL}one.ics"), BOB)
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Everyone in the domain: Carol and Bob read; Dave, of b.test, still reaches nothing.
    grant(&s, "everyone", "read");
    for u in [BOB, CAROL] {
        let r = as_user(&s, "GET", &format!("{CAL}one.ics"), u)
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", u.0);
        assert_eq!(
            put(&s, u, &format!("{CAL}z.ics"), &event("z", "Z")).status(),
            StatusCode::FORBIDDEN
        );
    }
    let r = as_user(&s, "GET", &format!("{CAL}one.ics"), DAVE)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!r.text().unwrap().contains("Team"));
}

#[test]
fn nothing_of_a_domain_is_reachable_from_another_whatever_the_grants() {
    let s = setup();
    put(
        &s,
        ALICE,
        &format!("{CAL}one.ics"),
        &event("one", "Internal"),
    );
    grant(&s, "everyone", "manage");
    s.domus_ok(&[
        "grant",
        "add",
        "alice@a.test",
        "addressbook",
        "contacts",
        "--to",
        "everyone",
        "--write",
    ]);
    // Dave (b.test) even has an account named like Alice's domain's users would be.
    add_user(&s.data, "alice@b.test", "other-alice-1");
    for path in [
        CAL.to_string(),
        format!("{CAL}one.ics"),
        "/dav/calendars/alice@a.test/".into(),
        "/dav/addressbooks/alice@a.test/contacts/".into(),
    ] {
        for method in ["GET", "PROPFIND", "PUT", "DELETE", "REPORT"] {
            let r = as_user(&s, method, &path, DAVE)
                .header("Depth", "1")
                .body(if method == "REPORT" {
                    QUERY.to_string()
                } else {
                    String::new()
                })
                .send()
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} {path}");
            assert!(!r.text().unwrap().contains("Internal"));
        }
    }
    assert!(
        as_user(&s, "GET", &format!("{CAL}one.ics"), ALICE)
            .send()
            .unwrap()
            .text()
            .unwrap()
            .contains("Internal")
    );
}

#[test]
fn address_books_follow_their_grants() {
    let s = setup();
    let book = "/dav/addressbooks/alice@a.test/contacts/";
    let card = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:c1\r\nFN:Zed Zebra\r\nEND:VCARD\r\n";
    let r = as_user(&s, "PUT", &format!("{book}c1.vcf"), ALICE)
        .header("Content-Type", "text/vcard")
        .body(card)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        as_user(&s, "GET", &format!("{book}c1.vcf"), BOB)
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    s.domus_ok(&[
        "grant",
        "add",
        "alice@a.test",
        "addressbook",
        "contacts",
        "--to",
        "bob@a.test",
        "--read",
    ]);
    let r = as_user(&s, "GET", &format!("{book}c1.vcf"), BOB)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().unwrap().contains("Zed Zebra"));
    let r = as_user(&s, "PUT", &format!("{book}c2.vcf"), BOB)
        .header("Content-Type", "text/vcard")
        .body(card.replace("c1", "c2"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("need-privileges"));
}

const SYNC: &str = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
const HOME_PROPS: &str = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:current-user-privilege-set/><D:owner/><D:sync-token/><D:displayname/></D:prop></D:propfind>"#;

fn sync_token(text: &str) -> String {
    let start = text.find("<D:sync-token>").unwrap() + "<D:sync-token>".len();
    let end = start + text[start..].find("</D:sync-token>").unwrap();
    text[start..end].to_string()
}

#[test]
fn a_shared_calendar_is_listed_in_the_sharees_home_and_syncs_there() {
    let s = setup();
    put(&s, ALICE, &format!("{CAL}one.ics"), &event("one", "Shared"));
    let home = "/dav/calendars/bob@a.test/";
    let mounted = "/dav/calendars/bob@a.test/alice-calendar/";
    let (_, text) = propfind(&s, BOB, home, "1", HOME_PROPS);
    assert!(!text.contains("alice-calendar"), "{text}");
    assert_eq!(
        as_user(&s, "GET", &format!("{mounted}one.ics"), BOB)
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    grant(&s, "bob@a.test", "read");
    let (status, text) = propfind(&s, BOB, home, "1", HOME_PROPS);
    assert_eq!(status, StatusCode::MULTI_STATUS);
    let at = text
        .find(&format!("<D:href>{mounted}</D:href>"))
        .unwrap_or_else(|| panic!("{text}"));
    let entry = &text[at..at + text[at..].find("</D:response>").unwrap()];
    assert!(
        entry.contains("<C:calendar/>") || entry.contains("calendar xmlns"),
        "{entry}"
    );
    assert!(
        entry.contains("<D:read/>") && !entry.contains("<D:write/>"),
        "{entry}"
    );
    assert!(entry.contains("/dav/principals/alice@a.test/"), "{entry}");
    assert!(entry.contains("Calendar"), "{entry}");
    // Same objects, same sync token as the owner's calendar; hrefs under Bob's home.
    let r = as_user(&s, "GET", &format!("{mounted}one.ics"), BOB)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().unwrap().contains("Shared"));
    let (status, bobs) = report(&s, BOB, mounted, SYNC);
    assert_eq!(status, StatusCode::MULTI_STATUS, "{bobs}");
    assert!(bobs.contains(&format!("{mounted}one.ics")), "{bobs}");
    assert!(!bobs.contains("alice@a.test/calendar"), "{bobs}");
    let (_, alices) = report(&s, ALICE, CAL, SYNC);
    assert_eq!(sync_token(&bobs), sync_token(&alices));
    // A change by Alice shows in Bob's next sync.
    put(&s, ALICE, &format!("{CAL}two.ics"), &event("two", "Later"));
    let since = SYNC.replace(
        "<D:sync-token/>",
        &format!("<D:sync-token>{}</D:sync-token>", sync_token(&bobs)),
    );
    let (_, delta) = report(&s, BOB, mounted, &since);
    assert!(delta.contains(&format!("{mounted}two.ics")), "{delta}");
    assert!(!delta.contains("one.ics"), "{delta}");
    // Writes through the mount follow the grant.
    let r = put(&s, BOB, &format!("{mounted}bob.ics"), &event("bob", "Bob"));
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains(&format!("{mounted}bob.ics")));
    grant(&s, "bob@a.test", "write");
    let r = put(&s, BOB, &format!("{mounted}bob.ics"), &event("bob", "Bob"));
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = as_user(&s, "GET", &format!("{CAL}bob.ics"), ALICE)
        .send()
        .unwrap();
    assert!(r.text().unwrap().contains("SUMMARY:Bob"));
    // Carol's home shows nothing of it; a free/busy grant is not listed.
    let (_, text) = propfind(&s, CAROL, "/dav/calendars/carol@a.test/", "1", HOME_PROPS);
    assert!(!text.contains("alice-"), "{text}");
    let r = as_user(&s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
        .json(&json!({ "to": "carol@a.test", "level": "freebusy" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, text) = propfind(&s, CAROL, "/dav/calendars/carol@a.test/", "1", HOME_PROPS);
    assert!(!text.contains("alice-"), "{text}");
}

#[test]
fn domain_calendars_show_in_every_home_and_take_writes_from_the_named_only() {
    let s = setup();
    s.domus_ok(&["group", "add", "a.test", "hr"]);
    s.domus_ok(&["group", "member", "add", "a.test", "hr", "carol@a.test"]);
    let out = s.domus_ok(&[
        "calendar",
        "add-domain",
        "a.test",
        "holidays",
        "--writer",
        "group:hr",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["memberName"], "_domain-holidays", "{v}");
    let err = domus_err(
        &s.data,
        &["calendar", "add-domain", "a.test", "holidays"],
        None,
    );
    assert!(err.contains("already has a domain calendar"), "{err}");
    let err = domus_err(
        &s.data,
        &[
            "calendar",
            "add-domain",
            "a.test",
            "x",
            "--writer",
            "dave@b.test",
        ],
        None,
    );
    assert!(err.contains("grants stay inside the domain"), "{err}");

    // In every home of a.test.
    for u in [ALICE, BOB, CAROL] {
        let home = format!("/dav/calendars/{}/", u.0);
        let (_, text) = propfind(&s, u, &home, "1", HOME_PROPS);
        assert!(
            text.contains(&format!("{home}_domain-holidays/")),
            "{}: {text}",
            u.0
        );
    }
    // Carol (group hr) writes; Bob reads it and may not write.
    let carols = "/dav/calendars/carol@a.test/_domain-holidays/";
    let bobs = "/dav/calendars/bob@a.test/_domain-holidays/";
    assert_eq!(
        put(
            &s,
            CAROL,
            &format!("{carols}xmas.ics"),
            &event("xmas", "Christmas")
        )
        .status(),
        StatusCode::CREATED
    );
    let r = as_user(&s, "GET", &format!("{bobs}xmas.ics"), BOB)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().unwrap().contains("Christmas"));
    let r = put(&s, BOB, &format!("{bobs}mine.ics"), &event("mine", "Mine"));
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("need-privileges"));
    // Nothing of it reaches b.test; the domain's account neither logs in nor is a user.
    let (_, text) = propfind(&s, DAVE, "/dav/calendars/dave@b.test/", "1", HOME_PROPS);
    assert!(!text.contains("holidays"), "{text}");
    let r = as_user(
        &s,
        "GET",
        "/dav/calendars/_domain@a.test/holidays/xmas.ics",
        DAVE,
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = as_user(&s, "GET", "/api/v1/me", ("_domain@a.test", "!"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let err = domus_err(
        &s.data,
        &["user", "add", "_domain@a.test", "--password-stdin"],
        Some("pw-pw-pw-pw\n"),
    );
    assert!(err.contains("taken"), "{err}");
    let users = s.domus_ok(&["user", "list", "a.test", "--json"]);
    assert!(!users.contains("_domain"), "{users}");

    // Domain admins create them through the API too; others may not.
    let r = as_user(&s, "POST", "/api/v1/domain-calendars", BOB)
        .json(&json!({ "name": "marketing", "writers": ["bob@a.test"] }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    s.domus_ok(&["user", "admin", "bob@a.test", "--on"]);
    let r = as_user(&s, "POST", "/api/v1/domain-calendars", BOB)
        .json(&json!({ "name": "marketing", "writers": ["bob@a.test"] }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let mk = "/dav/calendars/alice@a.test/_domain-marketing/";
    assert_eq!(
        put(&s, ALICE, &format!("{mk}a.ics"), &event("a", "A")).status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(
            &s,
            BOB,
            "/dav/calendars/bob@a.test/_domain-marketing/b.ics",
            &event("b", "Launch")
        )
        .status(),
        StatusCode::CREATED
    );
    let r = as_user(&s, "GET", &format!("{mk}b.ics"), ALICE)
        .send()
        .unwrap();
    assert!(r.text().unwrap().contains("Launch"));
    let r = as_user(&s, "GET", "/api/v1/domain-collections", BOB)
        .send()
        .unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(v["collections"].as_array().unwrap().len(), 2, "{v}");

    // A domain address book, in every address book home.
    s.domus_ok(&[
        "addressbook",
        "add-domain",
        "a.test",
        "suppliers",
        "--writer",
        "bob@a.test",
    ]);
    let (_, text) = propfind(
        &s,
        ALICE,
        "/dav/addressbooks/alice@a.test/",
        "1",
        HOME_PROPS,
    );
    assert!(
        text.contains("/dav/addressbooks/alice@a.test/_domain-suppliers/"),
        "{text}"
    );
}

#[test]
fn manage_lets_a_sharee_share_further_and_admins_manage_domain_collections() {
    let s = setup();
    put(&s, ALICE, &format!("{CAL}one.ics"), &event("one", "Board"));
    grant(&s, "bob@a.test", "manage");
    // Bob shares it on, naming it as it appears in his home.
    let r = as_user(&s, "POST", "/api/v1/calendars/alice-calendar/grants", BOB)
        .json(&json!({ "to": "carol@a.test", "level": "read" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = as_user(&s, "GET", &format!("{CAL}one.ics"), CAROL)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = as_user(&s, "GET", "/api/v1/calendars/calendar/grants", ALICE)
        .send()
        .unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(v["grants"].as_array().unwrap().len(), 2, "{v}");
    // Carol (read) may not; outside the domain still refused.
    let r = as_user(&s, "POST", "/api/v1/calendars/alice-calendar/grants", CAROL)
        .json(&json!({ "to": "carol@a.test", "level": "write" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = as_user(&s, "POST", "/api/v1/calendars/alice-calendar/grants", BOB)
        .json(&json!({ "to": "dave@b.test", "level": "read" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A domain admin manages the grants of domain calendars.
    s.domus_ok(&["calendar", "add-domain", "a.test", "holidays"]);
    let hol = "/dav/calendars/carol@a.test/_domain-holidays/";
    assert_eq!(
        put(&s, CAROL, &format!("{hol}x.ics"), &event("x", "X")).status(),
        StatusCode::FORBIDDEN
    );
    let r = as_user(
        &s,
        "POST",
        "/api/v1/calendars/_domain-holidays/grants",
        CAROL,
    )
    .json(&json!({ "to": "carol@a.test", "level": "write" }))
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    s.domus_ok(&["user", "admin", "alice@a.test", "--on"]);
    let r = as_user(
        &s,
        "POST",
        "/api/v1/calendars/_domain-holidays/grants",
        ALICE,
    )
    .json(&json!({ "to": "carol@a.test", "level": "write" }))
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        put(&s, CAROL, &format!("{hol}x.ics"), &event("x", "X")).status(),
        StatusCode::CREATED
    );
}

#[test]
fn grants_go_with_their_collection_group_or_removal() {
    let s = setup();
    let r = as_user(
        &s,
        "MKCALENDAR",
        "/dav/calendars/alice@a.test/project/",
        ALICE,
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = as_user(&s, "POST", "/api/v1/calendars/project/grants", ALICE)
        .json(&json!({ "to": "bob@a.test", "level": "read" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    s.domus_ok(&["group", "add", "a.test", "team"]);
    s.domus_ok(&["group", "member", "add", "a.test", "team", "carol@a.test"]);
    let g = grant(&s, "group:team", "read");
    let count = |s: &Server| {
        let out = s.domus_ok(&["grant", "list", "alice@a.test", "--json"]);
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(&s), 2);
    let r = as_user(&s, "GET", "/dav/calendars/alice@a.test/project/", BOB)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The calendar goes: its grant too, and the URL is 404 for Bob.
    let r = as_user(&s, "DELETE", "/dav/calendars/alice@a.test/project/", ALICE)
        .send()
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(count(&s), 1);
    let r = as_user(&s, "GET", "/dav/calendars/alice@a.test/project/", BOB)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The group goes: its grant too.
    assert_eq!(
        as_user(&s, "GET", CAL, CAROL).send().unwrap().status(),
        StatusCode::OK
    );
    s.domus_ok(&["group", "remove", "a.test", "team"]);
    assert_eq!(count(&s), 0);
    assert_eq!(
        as_user(&s, "GET", CAL, CAROL).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let _ = g;
}
