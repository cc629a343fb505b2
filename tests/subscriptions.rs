//! Subscriptions over HTTP: external calendars fetched from a feed server (validators,
//! updates, removals, read-only), private addresses refused, and the director's case:
//! one person with accounts in two domains following a.test's calendar from b.test
//! through a share link, resolved in-process and current within seconds.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use reqwest::blocking::RequestBuilder;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A feed server: serves `body` with an ETag derived from it, 304 on a matching
/// If-None-Match; counts requests.
struct Feed {
    port: u16,
    body: Arc<Mutex<String>>,
    hits: Arc<Mutex<usize>>,
}

impl Feed {
    fn start(body: &str) -> Feed {
        Feed::start_on("127.0.0.1", body)
    }

    fn start_on(host: &str, body: &str) -> Feed {
        let listener = TcpListener::bind((host, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let body = Arc::new(Mutex::new(body.to_string()));
        let hits = Arc::new(Mutex::new(0));
        let (b, h) = (body.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut inm = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("if-none-match:") {
                        inm = Some(v.trim().to_string());
                    }
                }
                *h.lock().unwrap() += 1;
                let text = b.lock().unwrap().clone();
                let etag = format!("\"{}\"", text.len());
                let reply = if inm.as_deref() == Some(etag.as_str()) {
                    format!(
                        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n"
                    )
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                        text.len()
                    )
                };
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Feed { port, body, hits }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/feeds/holidays.ics", self.port)
    }
}

/// A server on 127.0.0.2 that redirects every request to `to`.
fn redirector(to: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.2:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let _ = stream.write_all(
                format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
            );
        }
    });
    port
}

fn ics(events: &[(&str, &str, &str)]) -> String {
    let mut s = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Feed//Feed//EN\r\nREFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n",
    );
    for (uid, start, summary) in events {
        s.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{start}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"
        ));
    }
    s.push_str("END:VCALENDAR\r\n");
    s
}

fn user(s: &Server, method: Method, path: &str, who: (&str, &str)) -> RequestBuilder {
    client()
        .request(method, s.url(path))
        .basic_auth(who.0, Some(who.1))
}

fn listing(s: &Server, path: &str, who: (&str, &str)) -> String {
    user(s, Method::from_bytes(b"REPORT").unwrap(), path, who)
        .header("Depth", "1")
        .body(r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>"#)
        .send()
        .unwrap()
        .text()
        .unwrap()
}

const ALICE: (&str, &str) = ("alice@a.test", "alice-pw-1");

#[test]
fn external_calendars_follow_their_feed_and_stay_read_only() {
    let s = Server::start_with_config("[subscriptions]\nallow_private = true\n");
    s.domus_ok(&["domain", "add", "a.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    let feed = Feed::start(&ics(&[
        ("ny", "20260101", "New Year"),
        ("may", "20260501", "Labour Day"),
    ]));
    let r = user(&s, Method::POST, "/api/v1/subscriptions", ALICE)
        .json(&json!({ "url": feed.url() }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let sub: Value = r.json().unwrap();
    assert_eq!(sub["name"], "holidays", "{sub}");
    assert_eq!(sub["firstFetch"]["created"], 2, "{sub}");
    let id = sub["id"].as_str().unwrap().to_string();
    let cal = "/dav/calendars/alice@a.test/holidays/";
    let text = listing(&s, cal, ALICE);
    assert!(
        text.contains("New Year") && text.contains("Labour Day"),
        "{text}"
    );

    // Read-only to clients.
    let put = user(&s, Method::PUT, &format!("{cal}x.ics"), ALICE)
        .header("Content-Type", "text/calendar")
        .body(
            ics(&[("x", "20260601", "Mine")])
                .replace("REFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n", ""),
        )
        .send()
        .unwrap();
    assert_eq!(put.status(), StatusCode::FORBIDDEN);
    assert!(put.text().unwrap().contains("need-privileges"));

    // Unchanged feed: 304, nothing touched; the feed's REFRESH-INTERVAL was honoured.
    let again: Value = user(
        &s,
        Method::POST,
        &format!("/api/v1/subscriptions/{id}/refresh"),
        ALICE,
    )
    .send()
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(again["notModified"], true, "{again}");
    let list: Value = user(&s, Method::GET, "/api/v1/subscriptions", ALICE)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list["subscriptions"][0]["refreshSecs"], 21600, "{list}");
    assert_eq!(list["subscriptions"][0]["failures"], 0, "{list}");

    // A changed feed: one updated, one removed, one added.
    *feed.body.lock().unwrap() = ics(&[
        ("ny", "20260101", "New Year's Day"),
        ("xmas", "20261225", "Christmas"),
    ]);
    let changed: Value = user(
        &s,
        Method::POST,
        &format!("/api/v1/subscriptions/{id}/refresh"),
        ALICE,
    )
    .send()
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(
        (
            changed["created"].as_u64(),
            changed["updated"].as_u64(),
            changed["removed"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{changed}"
    );
    let text = listing(&s, cal, ALICE);
    assert!(
        text.contains("Christmas")
            && text.contains("New Year's Day")
            && !text.contains("Labour Day"),
        "{text}"
    );
    assert!(*feed.hits.lock().unwrap() >= 3);

    // Removing the subscription removes its calendar.
    let r = user(
        &s,
        Method::DELETE,
        &format!("/api/v1/subscriptions/{id}"),
        ALICE,
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let gone = user(&s, Method::from_bytes(b"PROPFIND").unwrap(), cal, ALICE)
        .header("Depth", "0")
        .send()
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

/// Every way to a private address is refused with a clear error, and the target never
/// hears of it; an address the configuration allows explicitly works.
#[test]
fn ssrf_every_way_to_a_private_address_is_refused() {
    let s = Server::start_with_config("[subscriptions]\nallow_networks = [\"127.0.0.2\"]\n");
    s.domus_ok(&["domain", "add", "a.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    let target = Feed::start(&ics(&[("ny", "20260101", "New Year")]));
    let redirect = redirector(target.url());
    let allowed = Feed::start_on("127.0.0.2", &ics(&[("ok", "20260101", "Allowed feed")]));
    let subscribe = |url: &str| -> Value {
        user(&s, Method::POST, "/api/v1/subscriptions", ALICE)
            .json(&json!({ "url": url }))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    for url in [
        target.url(),
        format!("http://[::1]:{}/x.ics", target.port),
        "http://10.0.0.1/calendar.ics".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        format!("http://localhost:{}/x.ics", target.port),
        format!("http://127.0.0.2:{redirect}/moved.ics"),
    ] {
        let sub = subscribe(&url);
        let error = sub["firstFetch"]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("private, loopback or link-local") || error.contains("redirect"),
            "{url}: {sub}"
        );
        assert_eq!(sub["firstFetch"]["created"], 0, "{url}: {sub}");
    }
    assert_eq!(
        *target.hits.lock().unwrap(),
        0,
        "the loopback target was never reached"
    );
    let ok = subscribe(&format!(
        "http://127.0.0.2:{}/feeds/allowed.ics",
        allowed.port
    ));
    assert_eq!(ok["firstFetch"]["created"], 1, "{ok}");
    let list: Value = user(&s, Method::GET, "/api/v1/subscriptions", ALICE)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let failing = list["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["failures"].as_i64() == Some(1) && s["lastError"].is_string())
        .count();
    assert_eq!(failing, 6, "{list}");
}

#[test]
fn private_addresses_are_refused_unless_allowed() {
    let s = Server::start();
    s.domus_ok(&["domain", "add", "a.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    let feed = Feed::start(&ics(&[("ny", "20260101", "New Year")]));
    for url in [
        feed.url(),
        feed.url().replace("127.0.0.1", "localhost"),
        format!("webcal://127.0.0.1:{}/x.ics", feed.port),
    ] {
        let sub: Value = user(&s, Method::POST, "/api/v1/subscriptions", ALICE)
            .json(&json!({ "url": url }))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let error = sub["firstFetch"]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("private, loopback or link-local"),
            "{url}: {sub}"
        );
    }
    assert_eq!(
        *feed.hits.lock().unwrap(),
        0,
        "the feed server was never reached"
    );
    let bad = user(&s, Method::POST, "/api/v1/subscriptions", ALICE)
        .json(&json!({ "url": "ftp://example.org/x.ics" }))
        .send()
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

/// Waits until `check` holds (the refresher runs every two seconds).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{what} did not happen within 15 s");
}

#[test]
fn the_director_follows_his_a_test_calendar_from_b_test() {
    // Private addresses stay forbidden: the share link is resolved in-process.
    let s = Server::start();
    s.domus_ok(&["domain", "add", "a.test"]);
    s.domus_ok(&["domain", "add", "b.test"]);
    add_user(&s.data, "director@a.test", "dir-a-pw-1");
    add_user(&s.data, "director@b.test", "dir-b-pw-1");
    add_user(&s.data, "marketing@a.test", "mkt-pw-1");
    add_user(&s.data, "bob@b.test", "bob-pw-1");
    let in_a = ("director@a.test", "dir-a-pw-1");
    let in_b = ("director@b.test", "dir-b-pw-1");
    let put = |who: (&str, &str), owner: &str, name: &str, body: &str| {
        let r = user(&s, Method::PUT, &format!("/dav/calendars/{owner}/calendar/{name}.ics"), who)
            .header("Content-Type", "text/calendar")
            .body(format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//EN\r\nBEGIN:VEVENT\r\n{body}END:VEVENT\r\nEND:VCALENDAR\r\n"))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().unwrap());
    };
    put(
        in_a,
        "director@a.test",
        "board",
        "UID:board\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260401T090000Z\r\nDTEND:20260401T110000Z\r\nSUMMARY:Board meeting\r\nCLASS:PRIVATE\r\n",
    );
    let link: Value = user(
        &s,
        Method::POST,
        "/api/v1/calendars/calendar/share-links",
        in_a,
    )
    .json(&json!({ "kind": "private" }))
    .send()
    .unwrap()
    .json()
    .unwrap();
    let sub: Value = user(&s, Method::POST, "/api/v1/subscriptions", in_b)
        .json(&json!({ "url": link["url"], "name": "company-a", "displayName": "Company A" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sub["firstFetch"]["created"], 1, "{sub}");
    let mirror = "/dav/calendars/director@b.test/company-a/";
    assert!(listing(&s, mirror, in_b).contains("SUMMARY:Board meeting"));
    // Added in a.test, seen in b.test within seconds, without any HTTP fetch.
    put(
        in_a,
        "director@a.test",
        "lunch",
        "UID:lunch\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260402T120000Z\r\nDTEND:20260402T130000Z\r\nSUMMARY:Lunch with investors\r\n",
    );
    eventually("the new event in b.test", || {
        listing(&s, mirror, in_b).contains("Lunch with investors")
    });

    // a.test's marketing calendar, by a public link, shows to bob@b.test with private
    // events as busy blocks.
    let mkt = ("marketing@a.test", "mkt-pw-1");
    put(
        mkt,
        "marketing@a.test",
        "launch",
        "UID:launch\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260501T090000Z\r\nDTEND:20260501T100000Z\r\nSUMMARY:Product launch\r\n",
    );
    put(
        mkt,
        "marketing@a.test",
        "offsite",
        "UID:offsite\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260502T090000Z\r\nDTEND:20260502T170000Z\r\nSUMMARY:Secret offsite\r\nCLASS:CONFIDENTIAL\r\n",
    );
    let public: Value = user(
        &s,
        Method::POST,
        "/api/v1/calendars/calendar/share-links",
        mkt,
    )
    .json(&json!({ "kind": "public" }))
    .send()
    .unwrap()
    .json()
    .unwrap();
    let bob = ("bob@b.test", "bob-pw-1");
    let sub: Value = user(&s, Method::POST, "/api/v1/subscriptions", bob)
        .json(&json!({ "url": public["webcalUrl"], "name": "marketing" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sub["firstFetch"]["created"], 2, "{sub}");
    let seen = listing(&s, "/dav/calendars/bob@b.test/marketing/", bob);
    assert!(seen.contains("Product launch"), "{seen}");
    assert!(
        seen.contains("UID:offsite") && seen.contains("SUMMARY:Busy"),
        "{seen}"
    );
    assert!(!seen.contains("Secret offsite"), "{seen}");
    // Bob sees nothing of a.test otherwise.
    let r = user(
        &s,
        Method::from_bytes(b"PROPFIND").unwrap(),
        "/dav/calendars/marketing@a.test/calendar/",
        bob,
    )
    .header("Depth", "1")
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[test]
fn a_subscribed_address_book_follows_an_export_link_of_another_domain() {
    let s = Server::start();
    s.domus_ok(&["domain", "add", "city.test"]);
    s.domus_ok(&["domain", "add", "metro.test"]);
    add_user(&s.data, "clerk@city.test", "clerk-pw-1");
    add_user(&s.data, "ana@metro.test", "ana-pw-1");
    let clerk = ("clerk@city.test", "clerk-pw-1");
    let ana = ("ana@metro.test", "ana-pw-1");
    let card = |uid: &str, name: &str| {
        format!(
            "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:{uid}\r\nFN:{name}\r\nEMAIL:{uid}@city.test\r\nEND:VCARD\r\n"
        )
    };
    let put = |uid: &str, name: &str| {
        let r = user(
            &s,
            Method::PUT,
            &format!("/dav/addressbooks/clerk@city.test/contacts/{uid}.vcf"),
            clerk,
        )
        .header("Content-Type", "text/vcard")
        .body(card(uid, name))
        .send()
        .unwrap();
        assert!(r.status().is_success());
    };
    put("mayor", "The Mayor");
    let books: Value = user(&s, Method::GET, "/api/v1/addressbooks", clerk)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = books["addressBooks"][0]["id"].as_i64().unwrap();
    let link: Value = user(
        &s,
        Method::POST,
        &format!("/api/v1/addressbooks/{id}/share-links"),
        clerk,
    )
    .json(&json!({ "kind": "private" }))
    .send()
    .unwrap()
    .json()
    .unwrap();
    let sub: Value = user(&s, Method::POST, "/api/v1/subscriptions", ana)
        .json(&json!({ "url": link["url"], "type": "addressbook", "name": "city-officials" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sub["firstFetch"]["created"], 1, "{sub}");
    let book = "/dav/addressbooks/ana@metro.test/city-officials/";
    let cards = || {
        user(&s, Method::from_bytes(b"REPORT").unwrap(), book, ana)
            .header("Depth", "1")
            .body(r#"<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><CR:address-data version="4.0"/></D:prop><CR:filter/></CR:addressbook-query>"#)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    assert!(cards().contains("FN:The Mayor"));
    put("clerk2", "Deputy Clerk");
    eventually("the new card in metro.test", || {
        cards().contains("FN:Deputy Clerk")
    });
    let r = user(&s, Method::PUT, &format!("{book}x.vcf"), ana)
        .header("Content-Type", "text/vcard")
        .body(card("x", "Mine"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[test]
fn the_cli_adds_lists_refreshes_and_removes_subscriptions() {
    let s = Server::start_with_config("[subscriptions]\nallow_private = true\n");
    s.domus_ok(&["domain", "add", "a.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    let feed = Feed::start(&ics(&[("ny", "20260101", "New Year")]));
    let added: Value = serde_json::from_str(&s.domus_ok(&[
        "subscription",
        "add",
        "alice@a.test",
        &feed.url(),
        "--name",
        "holidays",
        "--json",
    ]))
    .unwrap();
    let id = added["id"].as_str().unwrap().to_string();
    // The running server picks it up within seconds.
    eventually("the first fetch", || {
        listing(&s, "/dav/calendars/alice@a.test/holidays/", ALICE).contains("New Year")
    });
    let list: Value =
        serde_json::from_str(&s.domus_ok(&["subscription", "list", "alice@a.test", "--json"]))
            .unwrap();
    assert_eq!(list[0]["name"], "holidays", "{list}");
    assert!(list[0]["lastOkAt"].is_i64(), "{list}");
    *feed.body.lock().unwrap() = ics(&[
        ("ny", "20260101", "New Year"),
        ("xmas", "20261225", "Christmas"),
    ]);
    s.domus_ok(&["subscription", "refresh", "alice@a.test", &id]);
    eventually("the refresh", || {
        listing(&s, "/dav/calendars/alice@a.test/holidays/", ALICE).contains("Christmas")
    });
    s.domus_ok(&["subscription", "remove", "alice@a.test", &id]);
    let err = domus_err(
        &s.data,
        &["subscription", "remove", "alice@a.test", &id],
        None,
    );
    assert!(
        err.contains("domus subscription list alice@a.test"),
        "{err}"
    );
}
