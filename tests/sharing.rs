//! Share links over HTTP: the public, private and free/busy feeds of a calendar, their
//! caching headers, revocation and rotation, misses throttled, tokens kept out of logs,
//! and owners only managing their own links.

mod common;

use common::*;
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CAL: &str = "/dav/calendars/alice@a.test/calendar/";
const ALICE: (&str, &str) = ("alice@a.test", "alice-pw-1");
const BOB: (&str, &str) = ("bob@b.test", "bob-pw-1");

fn setup() -> Server {
    let s = Server::start_with_config("[sharing]\nrefresh_secs = 1800\nmisses_per_minute = 10\n");
    s.domus_ok(&["domain", "add", "a.test"]);
    s.domus_ok(&["domain", "add", "b.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    add_user(&s.data, "bob@b.test", "bob-pw-1");
    s
}

fn as_user(s: &Server, method: Method, path: &str, user: (&str, &str)) -> RequestBuilder {
    client()
        .request(method, s.url(path))
        .basic_auth(user.0, Some(user.1))
}

fn put_event(s: &Server, name: &str, body: &str) {
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\nBEGIN:VEVENT\r\n{body}END:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let r = as_user(s, Method::PUT, &format!("{CAL}{name}.ics"), ALICE)
        .header("Content-Type", "text/calendar")
        .body(ics)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{name}: {}", r.text().unwrap());
}

fn events(s: &Server) {
    put_event(
        s,
        "open",
        "UID:open\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T090000Z\r\nDTEND:20260310T100000Z\r\nSUMMARY:Open day\r\nLOCATION:Town hall\r\n",
    );
    put_event(
        s,
        "doctor",
        "UID:doctor\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260311T140000Z\r\nDTEND:20260311T150000Z\r\nSUMMARY:Doctor\r\nLOCATION:Clinic\r\nDESCRIPTION:Check-up\r\nCLASS:PRIVATE\r\nATTENDEE;CN=Dr Who:mailto:who@clinic.test\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Go\r\nTRIGGER:-PT30M\r\nEND:VALARM\r\n",
    );
    put_event(
        s,
        "cancelled",
        "UID:cancelled\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260312T090000Z\r\nDTEND:20260312T100000Z\r\nSUMMARY:Called off\r\nSTATUS:CANCELLED\r\n",
    );
    put_event(
        s,
        "declined",
        "UID:declined\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260313T090000Z\r\nDTEND:20260313T100000Z\r\nSUMMARY:Not going\r\nORGANIZER:mailto:boss@a.test\r\nATTENDEE;PARTSTAT=DECLINED:mailto:alice@a.test\r\n",
    );
}

fn create_link(s: &Server, kind: &str) -> Value {
    let r = as_user(
        s,
        Method::POST,
        "/api/v1/calendars/calendar/share-links",
        ALICE,
    )
    .json(&json!({ "kind": kind }))
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().unwrap()
}

/// The feed at a link's URL, fetched without credentials.
fn fetch(s: &Server, link: &Value) -> Response {
    let url = link["url"].as_str().unwrap();
    let path = &url[url.find("/share/").unwrap()..];
    client().get(s.url(path)).send().unwrap()
}

#[test]
fn public_private_and_freebusy_feeds_show_what_they_should() {
    let s = setup();
    events(&s);
    let public = create_link(&s, "public");
    let url = public["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://") && url.ends_with(".ics"),
        "{public}"
    );
    let token = url.rsplit('/').next().unwrap().trim_end_matches(".ics");
    assert_eq!(token.len(), 43, "256 random bits, base64url");
    assert_eq!(
        public["webcalUrl"].as_str().unwrap(),
        url.replacen("http://", "webcal://", 1)
    );

    let r = fetch(&s, &public);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["cache-control"], "private, max-age=1800");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    assert!(r.headers().contains_key("last-modified"));
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let text = r.text().unwrap();
    assert!(
        text.contains("REFRESH-INTERVAL;VALUE=DURATION:PT30M\r\n"),
        "{text}"
    );
    assert!(text.contains("X-PUBLISHED-TTL:PT30M\r\n"), "{text}");
    assert!(
        text.contains("SUMMARY:Open day") && text.contains("LOCATION:Town hall"),
        "{text}"
    );
    assert!(
        text.contains("UID:doctor") && text.contains("SUMMARY:Busy"),
        "{text}"
    );
    for hidden in [
        "Doctor",
        "Clinic",
        "Check-up",
        "who@clinic",
        "VALARM",
        "Called off",
        "Not going",
    ] {
        assert!(
            !text.contains(hidden),
            "{hidden} shows in the public feed: {text}"
        );
    }

    let private = fetch(&s, &create_link(&s, "private")).text().unwrap();
    assert!(
        private.contains("SUMMARY:Doctor") && private.contains("LOCATION:Clinic"),
        "{private}"
    );
    assert!(
        !private.contains("Called off") && !private.contains("Not going"),
        "{private}"
    );
    assert!(!private.contains("VALARM"), "{private}");

    let freebusy = fetch(&s, &create_link(&s, "freebusy")).text().unwrap();
    assert!(freebusy.contains("BEGIN:VFREEBUSY"), "{freebusy}");
    assert!(freebusy.contains("FREEBUSY"), "{freebusy}");
    assert!(
        freebusy.contains("20260310T090000Z/20260310T100000Z"),
        "{freebusy}"
    );
    assert!(
        freebusy.contains("20260311T140000Z/20260311T150000Z"),
        "{freebusy}"
    );
    assert!(
        !freebusy.contains("20260312T090000Z/"),
        "cancelled: {freebusy}"
    );
    assert!(!freebusy.contains("SUMMARY"), "{freebusy}");

    // Caching: 304 on the same ETag or an unchanged date; a change makes a new ETag.
    let again = client()
        .get(s.url(&url[url.find("/share/").unwrap()..]))
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let last_modified = fetch(&s, &public).headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let since = client()
        .get(s.url(&url[url.find("/share/").unwrap()..]))
        .header("If-Modified-Since", &last_modified)
        .send()
        .unwrap();
    assert_eq!(since.status(), StatusCode::NOT_MODIFIED);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    put_event(
        &s,
        "later",
        "UID:later\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260320T090000Z\r\nDTEND:20260320T100000Z\r\nSUMMARY:Added later\r\n",
    );
    let changed = fetch(&s, &public);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert!(changed.text().unwrap().contains("Added later"));
    // reqwest (with its gzip feature on, for the subscription fetcher) would inflate the
    // body and drop the header: this client leaves both alone.
    let gz = reqwest::blocking::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(s.url(&url[url.find("/share/").unwrap()..]))
        .header("Accept-Encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(
        gz.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
}

#[test]
fn revoked_rotated_and_unknown_links_look_alike_and_misses_are_throttled() {
    let s = setup();
    events(&s);
    let link = create_link(&s, "private");
    let id = link["id"].as_str().unwrap().to_string();
    assert_eq!(fetch(&s, &link).status(), StatusCode::OK);
    let listed: Value = as_user(&s, Method::GET, "/api/v1/share-links", ALICE)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let entry = &listed["shareLinks"][0];
    assert_eq!(entry["id"], id.as_str());
    assert_eq!(entry["name"], "calendar");
    assert_eq!(entry["kind"], "private");
    assert!(entry["lastUsedAt"].is_i64(), "{listed}");
    assert!(
        !listed.to_string().contains(
            link["url"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".ics")
        )
    );

    // Bob, in another domain, can neither revoke nor rotate it.
    for (method, path) in [
        (Method::DELETE, format!("/api/v1/share-links/{id}")),
        (Method::POST, format!("/api/v1/share-links/{id}/rotate")),
    ] {
        assert_eq!(
            as_user(&s, method, &path, BOB).send().unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(fetch(&s, &link).status(), StatusCode::OK);

    let rotated: Value = as_user(
        &s,
        Method::POST,
        &format!("/api/v1/share-links/{id}/rotate"),
        ALICE,
    )
    .send()
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(rotated["id"], id.as_str());
    assert_ne!(rotated["url"], link["url"]);
    let old = fetch(&s, &link);
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
    let old_body = old.text().unwrap();
    assert_eq!(fetch(&s, &rotated).status(), StatusCode::OK);
    let r = as_user(
        &s,
        Method::DELETE,
        &format!("/api/v1/share-links/{id}"),
        ALICE,
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let revoked = fetch(&s, &rotated);
    assert_eq!(revoked.status(), StatusCode::NOT_FOUND);
    assert_eq!(revoked.text().unwrap(), old_body);
    let unknown = client()
        .get(s.url(&format!("/share/{}.ics", "A".repeat(43))))
        .send()
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.text().unwrap(),
        old_body,
        "unknown and revoked answer alike"
    );

    // Ten misses a minute are allowed from one source; then 429.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = client()
            .get(s.url(&format!("/share/{:B>43}.ics", i)))
            .send()
            .unwrap();
        statuses.push(r.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let log = std::fs::read_to_string(s.data.join("server.log")).unwrap();
    for l in [&link, &rotated] {
        let token = l["url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".ics");
        assert!(!log.contains(token), "a token reached the log");
    }
}

#[test]
fn the_cli_manages_links_with_full_urls() {
    let s = setup();
    events(&s);
    let cals: Value =
        serde_json::from_str(&s.domus_ok(&["calendar", "list", "alice@a.test", "--json"])).unwrap();
    assert!(
        cals.as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "calendar"),
        "{cals}"
    );
    let created: Value = serde_json::from_str(&s.domus_ok(&[
        "share",
        "create",
        "alice@a.test",
        "calendar",
        "--public",
        "--public-url",
        &s.url(""),
        "--json",
    ]))
    .unwrap();
    let url = created["url"].as_str().unwrap();
    assert!(url.starts_with(&s.url("/share/")), "{created}");
    assert_eq!(client().get(url).send().unwrap().status(), StatusCode::OK);
    let id = created["id"].as_str().unwrap();
    let list: Value =
        serde_json::from_str(&s.domus_ok(&["share", "list", "alice@a.test", "--json"])).unwrap();
    assert_eq!(list[0]["id"], id);
    let rotated: Value = serde_json::from_str(&s.domus_ok(&[
        "share",
        "rotate",
        "alice@a.test",
        id,
        "--public-url",
        &s.url(""),
        "--json",
    ]))
    .unwrap();
    assert_eq!(
        client().get(url).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let new_url = rotated["url"].as_str().unwrap();
    assert_eq!(
        client().get(new_url).send().unwrap().status(),
        StatusCode::OK
    );
    s.domus_ok(&["share", "revoke", "alice@a.test", id]);
    assert_eq!(
        client().get(new_url).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let err = domus_err(
        &s.data,
        &["share", "create", "alice@a.test", "nope", "--private"],
        None,
    );
    assert!(err.contains("domus calendar list alice@a.test"), "{err}");
    let err = domus_err(
        &s.data,
        &["share", "create", "alice@a.test", "calendar"],
        None,
    );
    assert!(err.contains("--public, --private or --freebusy"), "{err}");
}

#[test]
fn address_books_are_shared_by_private_vcard_feeds() {
    let s = setup();
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:mayor\r\nFN:The Mayor\r\nN:Mayor;The;;;\r\nEMAIL;TYPE=INTERNET:mayor@a.test\r\nEND:VCARD\r\n";
    let r = as_user(
        &s,
        Method::PUT,
        "/dav/addressbooks/alice@a.test/contacts/mayor.vcf",
        ALICE,
    )
    .header("Content-Type", "text/vcard")
    .body(card)
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let books: Value = as_user(&s, Method::GET, "/api/v1/addressbooks", ALICE)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = books["addressBooks"][0]["id"].as_i64().unwrap();
    let public = as_user(
        &s,
        Method::POST,
        &format!("/api/v1/addressbooks/{id}/share-links"),
        ALICE,
    )
    .json(&json!({ "kind": "public" }))
    .send()
    .unwrap();
    assert_eq!(public.status(), StatusCode::BAD_REQUEST);
    let link: Value = as_user(
        &s,
        Method::POST,
        &format!("/api/v1/addressbooks/{id}/share-links"),
        ALICE,
    )
    .json(&json!({ "kind": "private" }))
    .send()
    .unwrap()
    .json()
    .unwrap();
    let url = link["url"].as_str().unwrap();
    assert!(url.ends_with(".vcf"), "{link}");
    let path = &url[url.find("/share/").unwrap()..];
    let v4 = client().get(s.url(path)).send().unwrap();
    assert_eq!(v4.status(), StatusCode::OK);
    assert!(
        v4.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("version=4.0")
    );
    let etag = v4.headers()["etag"].to_str().unwrap().to_string();
    let text = v4.text().unwrap();
    assert!(
        text.contains("VERSION:4.0") && text.contains("FN:The Mayor"),
        "{text}"
    );
    let v3 = client()
        .get(s.url(path))
        .header("Accept", "text/vcard; version=3.0")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(v3.contains("VERSION:3.0"), "{v3}");
    let cached = client()
        .get(s.url(path))
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    // An .ics path with the book's token is not the book.
    let ics = path.replace(".vcf", ".ics");
    assert_eq!(
        client().get(s.url(&ics)).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Bob cannot make links to Alice's book, whatever id he names.
    let r = as_user(
        &s,
        Method::POST,
        &format!("/api/v1/addressbooks/{}/share-links", id + 1),
        BOB,
    )
    .json(&json!({ "kind": "private" }))
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Rendered feeds are cached under their ETag: two domains whose calendars are at the
/// same version (same ETag) must still each get their own feed, the gzip form must be
/// the same feed, and a change must show at once.
#[test]
fn cached_feeds_stay_per_domain_and_follow_changes() {
    let s = setup();
    let put = |user: (&str, &str), name: &str, summary: &str| {
        let ics = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\nBEGIN:VEVENT\r\nUID:{name}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T090000Z\r\nDTEND:20260310T100000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let cal = format!("/dav/calendars/{}/calendar/{name}.ics", user.0);
        let r = as_user(&s, Method::PUT, &cal, user)
            .header("Content-Type", "text/calendar")
            .body(ics)
            .send()
            .unwrap();
        assert!(r.status().is_success());
    };
    let link = |user: (&str, &str)| -> Value {
        let r = as_user(
            &s,
            Method::POST,
            "/api/v1/calendars/calendar/share-links",
            user,
        )
        .json(&json!({ "kind": "private" }))
        .send()
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().unwrap()
    };
    put(ALICE, "e1", "Alice's event");
    put(BOB, "e1", "Bob's event");
    let (a, b) = (link(ALICE), link(BOB));
    let first_a = fetch(&s, &a);
    let etag_a = first_a.headers()["etag"].to_str().unwrap().to_string();
    assert!(first_a.text().unwrap().contains("Alice's event"));
    let first_b = fetch(&s, &b);
    let etag_b = first_b.headers()["etag"].to_str().unwrap().to_string();
    // The two domains did the same writes: their feeds have the same version, so the same
    // ETag, which is what makes this a test of the cache key.
    assert_eq!(
        etag_a, etag_b,
        "the two feeds should be at the same version"
    );
    let text_b = first_b.text().unwrap();
    assert!(text_b.contains("Bob's event") && !text_b.contains("Alice's"));
    // Again (from the cache now), each its own.
    assert!(fetch(&s, &a).text().unwrap().contains("Alice's event"));
    let again_b = fetch(&s, &b).text().unwrap();
    assert_eq!(again_b, text_b);
    // The gzip form is the same feed.
    let url = b["url"].as_str().unwrap();
    let gz = reqwest::blocking::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(s.url(&url[url.find("/share/").unwrap()..]))
        .header("Accept-Encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["vary"], "Accept-Encoding");
    let mut inflated = String::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(&gz.bytes().unwrap()[..])
        .read_to_string(&mut inflated)
        .unwrap();
    assert_eq!(inflated, text_b);
    // A change shows at once, under a new ETag.
    put(ALICE, "e2", "Alice's second event");
    let changed = fetch(&s, &a);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag_a);
    let text = changed.text().unwrap();
    assert!(text.contains("Alice's second event") && text.contains("Alice's event"));
}
