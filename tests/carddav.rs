//! CardDAV over HTTP: discovery, address books, cards from real clients in both vCard
//! versions, reports, the domain directory, and isolation.

mod common;

use common::*;
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::{Method, StatusCode};

const HOME: &str = "/dav/addressbooks/alice@a.test/";
const BOOK: &str = "/dav/addressbooks/alice@a.test/contacts/";

fn req(s: &Server, method: &str, path: &str) -> RequestBuilder {
    client()
        .request(Method::from_bytes(method.as_bytes()).unwrap(), s.url(path))
        .basic_auth("alice@a.test", Some("alice-pw-1"))
}

fn setup() -> Server {
    let s = Server::start();
    s.domus_ok(&["domain", "add", "a.test", "--alias", "a-alias.test"]);
    s.domus_ok(&["domain", "add", "b.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    add_user(&s.data, "carol@a.test", "carol-pw-1");
    add_user(&s.data, "bob@b.test", "bob-pw-1");
    s
}

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/vcard")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn put(s: &Server, path: &str, body: &str, ctype: &str) -> Response {
    req(s, "PUT", path)
        .header("Content-Type", ctype)
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

fn get(s: &Server, path: &str, accept: Option<&str>) -> (StatusCode, String, String) {
    let mut r = req(s, "GET", path);
    if let Some(a) = accept {
        r = r.header("Accept", a);
    }
    let r = r.send().unwrap();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status(), ctype, r.text().unwrap())
}

/// The values of property `name` (before the first ':' after the name and parameters).
fn values(card: &str, name: &str) -> Vec<String> {
    let unfolded = card
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "");
    unfolded
        .lines()
        .filter(|l| {
            let head = l.split(':').next().unwrap_or("");
            let prop = head.split(';').next().unwrap_or("");
            let prop = prop.rsplit('.').next().unwrap_or(prop);
            prop.eq_ignore_ascii_case(name)
        })
        .map(|l| {
            l.split_once(':')
                .map(|x| x.1)
                .unwrap_or("")
                .trim_end_matches('\r')
                .to_string()
        })
        .collect()
}

#[test]
fn discovery_finds_the_address_book_home() {
    let s = setup();
    let r = client().get(s.url("/.well-known/carddav")).send().unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK.max(r.status()),
        "redirect followed"
    );
    let body = r#"<D:propfind xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><CR:addressbook-home-set/></D:prop></D:propfind>"#;
    let text = req(&s, "PROPFIND", "/dav/principals/alice@a.test/")
        .header("Depth", "0")
        .body(body)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(text.contains(&format!("<D:href>{HOME}</D:href>")), "{text}");
    let listing = req(&s, "PROPFIND", HOME)
        .header("Depth", "1")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:displayname/><D:sync-token/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(listing.contains(&format!("{BOOK}</D:href>")), "{listing}");
    assert!(listing.contains("/directory/</D:href>"), "{listing}");
    assert_eq!(listing.matches("<CR:addressbook/>").count(), 2, "{listing}");
    let options = req(&s, "OPTIONS", BOOK).send().unwrap();
    let dav = options.headers().get("dav").unwrap().to_str().unwrap();
    assert!(dav.contains("addressbook"), "{dav}");
}

#[test]
fn apple_v3_card_with_photo_and_group_round_trips_in_both_versions() {
    let s = setup();
    let ios = fixture("apple-ios5-photo-encoding-b-items.vcf");
    let r = put(
        &s,
        &format!("{BOOK}ios.vcf"),
        &ios,
        "text/vcard; charset=utf-8",
    );
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
    // v3 back as v3: what the client sent (its own version, bytes kept).
    let (status, ctype, v3) = get(&s, &format!("{BOOK}ios.vcf"), None);
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.contains("version=3.0"), "{ctype}");
    assert_eq!(values(&v3, "FN"), values(&ios, "FN"));
    // v4 for a vCard 4 client: the photo becomes a data: URI with the same bytes.
    let (_, ctype, v4) = get(
        &s,
        &format!("{BOOK}ios.vcf"),
        Some("text/vcard; version=4.0"),
    );
    assert!(ctype.contains("version=4.0"), "{ctype}");
    assert_eq!(values(&v4, "VERSION"), ["4.0"]);
    let photo = values(&v4, "PHOTO");
    assert_eq!(photo.len(), 1, "{v4}");
    assert!(
        photo[0].starts_with("data:image/jpeg;base64,"),
        "{}",
        &photo[0][..40]
    );
    // The fixture folds its base64 with stray CRs: compare the base64 text alone.
    let b64 = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let v3_photo = b64(&values(&ios, "PHOTO")[0]);
    assert!(v3_photo.len() > 40_000, "{}", v3_photo.len());
    assert_eq!(
        b64(photo[0].trim_start_matches("data:image/jpeg;base64,")),
        v3_photo,
        "photo bytes kept"
    );
    assert_eq!(values(&v4, "EMAIL").len(), values(&ios, "EMAIL").len());
    assert_eq!(values(&v4, "X-ABLabel"), values(&ios, "X-ABLabel"));

    // An Apple group (3.0) reads as KIND:group + MEMBER in 4.0.
    let group = fixture("apple-addressbook-group-x-addressbookserver-members.vcf");
    assert_eq!(
        put(&s, &format!("{BOOK}group.vcf"), &group, "text/vcard").status(),
        StatusCode::CREATED
    );
    let (_, _, g4) = get(
        &s,
        &format!("{BOOK}group.vcf"),
        Some("text/vcard;version=4.0"),
    );
    assert!(values(&g4, "KIND")[0].eq_ignore_ascii_case("group"), "{g4}");
    assert_eq!(
        values(&g4, "MEMBER"),
        values(&group, "X-ADDRESSBOOKSERVER-MEMBER"),
        "{g4}"
    );
}

#[test]
fn v4_cards_serve_v3_clients_and_reports_honour_the_version() {
    let s = setup();
    let group = fixture("davx5-vcard40-kind-group-member.vcf");
    assert_eq!(
        put(
            &s,
            &format!("{BOOK}g4.vcf"),
            &group,
            "text/vcard; version=4.0"
        )
        .status(),
        StatusCode::CREATED
    );
    let (_, _, as_stored) = get(&s, &format!("{BOOK}g4.vcf"), None);
    assert_eq!(
        as_stored.replace("\r\n", "\n").trim(),
        group.replace("\r\n", "\n").trim()
    );
    let multiget = |version: &str| {
        format!(
            r#"<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data{version}/></D:prop><D:href>{BOOK}g4.vcf</D:href><D:href>{BOOK}missing.vcf</D:href></CR:addressbook-multiget>"#
        )
    };
    // No version asked: 3.0, the RFC's default; an Apple group comes out.
    let (status, text) = report(&s, BOOK, &multiget(""));
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(text.contains("VERSION:3.0"), "{text}");
    assert!(text.contains("X-ADDRESSBOOKSERVER-KIND:group"), "{text}");
    assert!(
        text.contains("missing.vcf</D:href><D:status>HTTP/1.1 404"),
        "{text}"
    );
    let (_, text) = report(
        &s,
        BOOK,
        &multiget(r#" content-type="text/vcard" version="4.0""#),
    );
    assert!(text.contains("VERSION:4.0"), "{text}");
    assert!(text.to_ascii_lowercase().contains("kind:group"), "{text}");
}

#[test]
fn put_refuses_bad_cards_with_the_rfc_preconditions() {
    let s = setup();
    // No UID: repaired from the href (no ETag: the stored card differs), and an update
    // without UID keeps it.
    let no_uid = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Uid\r\nN:Uid;No;;;\r\nEND:VCARD\r\n";
    let r = put(&s, &format!("{BOOK}nouid.vcf"), no_uid, "text/vcard");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("etag").is_none());
    let (_, _, stored) = get(&s, &format!("{BOOK}nouid.vcf"), None);
    assert_eq!(values(&stored, "UID"), ["urn:domus:href:nouid"], "{stored}");
    let r = put(
        &s,
        &format!("{BOOK}nouid.vcf"),
        &no_uid.replace("No Uid", "Still No Uid"),
        "text/vcard",
    );
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Not a vCard at all, and a broken line: valid-address-data.
    let r = put(
        &s,
        &format!("{BOOK}x.vcf"),
        "BEGIN:VCARD\r\nVERSION:3.0\r\nthis is no property\r\nEND:VCARD\r\n",
        "text/vcard",
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("valid-address-data"));
    let two = format!(
        "{}{}",
        fixture("davx5-vcard40-kind-group-member.vcf"),
        fixture("apple-addressbook-group-x-addressbookserver-members.vcf")
    );
    let r = put(&s, &format!("{BOOK}two.vcf"), &two, "text/vcard");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = put(
        &s,
        &format!("{BOOK}cal.vcf"),
        "BEGIN:VCARD\r\n",
        "text/calendar",
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("supported-address-data"));
    // Same UID at a second href: no-uid-conflict naming the first.
    let card = fixture("davx5-vcard40-kind-group-member.vcf");
    assert_eq!(
        put(&s, &format!("{BOOK}a.vcf"), &card, "text/vcard").status(),
        StatusCode::CREATED
    );
    let r = put(&s, &format!("{BOOK}b.vcf"), &card, "text/vcard");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let text = r.text().unwrap();
    assert!(
        text.contains("no-uid-conflict") && text.contains("contacts/a.vcf"),
        "{text}"
    );
    // A 5 MB photo is past max-resource-size.
    let big = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big\r\nFN:Big\r\nN:Big;;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:{}\r\nEND:VCARD\r\n",
        "A".repeat(5 * 1024 * 1024)
    );
    let r = put(&s, &format!("{BOOK}big.vcf"), &big, "text/vcard");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing of the refused ones is there.
    for name in ["x", "two", "cal", "b", "big"] {
        assert_eq!(
            get(&s, &format!("{BOOK}{name}.vcf"), None).0,
            StatusCode::NOT_FOUND
        );
    }
}

#[test]
fn queries_find_cards_by_email_and_respect_limits() {
    let s = setup();
    for i in 0..5 {
        let card = format!(
            "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u{i}\r\nFN:Person {i}\r\nEMAIL;TYPE=work:person{i}@Example.org\r\nEND:VCARD\r\n"
        );
        assert_eq!(
            put(&s, &format!("{BOOK}p{i}.vcf"), &card, "text/vcard").status(),
            StatusCode::CREATED
        );
    }
    let query = |text: &str, match_type: &str, limit: &str| {
        format!(
            r#"<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><CR:filter><CR:prop-filter name="EMAIL"><CR:text-match match-type="{match_type}">{text}</CR:text-match></CR:prop-filter></CR:filter>{limit}</CR:addressbook-query>"#
        )
    };
    let (status, text) = report(&s, BOOK, &query("PERSON3@", "contains", ""));
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(text.matches("<D:response>").count(), 1, "{text}");
    assert!(text.contains("p3.vcf"), "{text}");
    let (_, text) = report(&s, BOOK, &query("person", "starts-with", ""));
    assert_eq!(text.matches("<D:response>").count(), 5, "{text}");
    let (_, text) = report(&s, BOOK, &query("person", "ends-with", ""));
    assert_eq!(text.matches("<D:response>").count(), 0, "{text}");
    let (_, text) = report(
        &s,
        BOOK,
        &query(
            "example",
            "contains",
            "<CR:limit><CR:nresults>2</CR:nresults></CR:limit>",
        ),
    );
    assert_eq!(text.matches("<D:response>").count(), 3, "{text}");
    assert!(
        text.contains("507") && text.contains("number-of-matches-within-limits"),
        "{text}"
    );
    let bad = r#"<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><CR:filter><CR:prop-filter name="FN"><CR:text-match collation="i;klingon">x</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>"#;
    let (status, text) = report(&s, BOOK, bad);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text.contains("supported-collation"), "{text}");
}

#[test]
fn the_directory_lists_the_domain_and_follows_its_users() {
    let s = setup();
    s.domus_ok(&[
        "user",
        "address",
        "add",
        "carol@a.test",
        "carol@a-alias.test",
    ]);
    let dir = "/dav/addressbooks/alice@a.test/directory/";
    let sync = r#"<D:sync-collection xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
    let (status, text) = report(&s, dir, sync);
    assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
    assert_eq!(text.matches("<D:response>").count(), 2, "{text}");
    let hrefs: String = text
        .split("<D:href>")
        .skip(1)
        .map(|h| format!("<D:href>{}</D:href>", h.split('<').next().unwrap()))
        .collect();
    let multiget = format!(
        r#"<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><CR:address-data version="4.0"/></D:prop>{hrefs}</CR:addressbook-multiget>"#
    );
    let (_, cards) = report(&s, dir, &multiget);
    assert!(
        cards.contains("EMAIL;TYPE=work:carol@a-alias.test"),
        "{cards}"
    );
    assert!(
        cards.contains("FN:alice@a.test") || cards.contains("FN:"),
        "{cards}"
    );
    assert!(
        !cards.contains("bob@b.test"),
        "another domain's user: {cards}"
    );
    let token = text
        .rsplit("<D:sync-token>")
        .next()
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    // A new colleague shows up in the next sync; the directory is read-only.
    add_user(&s.data, "dave@a.test", "dave-pw-1");
    let (_, text) = report(
        &s,
        dir,
        &sync.replace(
            "<D:sync-token/>",
            &format!("<D:sync-token>{token}</D:sync-token>"),
        ),
    );
    assert_eq!(text.matches("<D:response>").count(), 1, "{text}");
    let dave = text
        .split("<D:href>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    let (status, _, card) = get(&s, dave, None);
    assert_eq!(status, StatusCode::OK);
    assert!(
        card.contains("EMAIL;TYPE=work;PREF=1:dave@a.test"),
        "{card}"
    );
    let r = put(
        &s,
        &format!("{dir}x.vcf"),
        &fixture("davx5-vcard40-kind-group-member.vcf"),
        "text/vcard",
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("need-privileges"));
    // Autocomplete: a query on the directory by e-mail.
    let q = r#"<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><CR:address-data/></D:prop><CR:filter><CR:prop-filter name="EMAIL"><CR:text-match>car</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>"#;
    let (_, text) = report(&s, dir, q);
    assert_eq!(text.matches("<D:response>").count(), 1, "{text}");
    assert!(text.contains("VERSION:3.0"), "{text}");
}

#[test]
fn bob_never_reaches_alices_address_books() {
    let s = setup();
    let card = fixture("davx5-vcard40-kind-group-member.vcf");
    assert_eq!(
        put(&s, &format!("{BOOK}a.vcf"), &card, "text/vcard").status(),
        StatusCode::CREATED
    );
    for (method, path) in [
        ("GET", format!("{BOOK}a.vcf")),
        ("PROPFIND", BOOK.to_string()),
        ("DELETE", format!("{BOOK}a.vcf")),
        (
            "PROPFIND",
            "/dav/addressbooks/alice@a.test/directory/".to_string(),
        ),
    ] {
        let r = client()
            .request(Method::from_bytes(method.as_bytes()).unwrap(), s.url(&path))
            .basic_auth("bob@b.test", Some("bob-pw-1"))
            .header("Depth", "1")
            .send()
            .unwrap();
        assert!(
            r.status() == StatusCode::NOT_FOUND || r.status() == StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.status()
        );
        let text = r.text().unwrap();
        assert!(!text.contains("ae2640cc"), "{text}");
    }
    assert_eq!(get(&s, &format!("{BOOK}a.vcf"), None).0, StatusCode::OK);
}

#[test]
fn extended_mkcol_creates_address_books() {
    let s = setup();
    let body = r#"<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype><D:displayname>Work</D:displayname><CR:addressbook-description>Colleagues</CR:addressbook-description></D:prop></D:set></D:mkcol>"#;
    let r = req(&s, "MKCOL", &format!("{HOME}work/"))
        .header("Content-Type", "application/xml; charset=utf-8")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = req(&s, "MKCOL", &format!("{HOME}directory/"))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let text = req(&s, "PROPFIND", &format!("{HOME}work/"))
        .header("Depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:displayname/><CR:addressbook-description/><CR:supported-address-data/><D:supported-report-set/><CR:max-resource-size/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(text.contains("Work</D:displayname>"), "{text}");
    assert!(text.contains("Colleagues"), "{text}");
    assert!(text.contains(r#"version="4.0""#), "{text}");
    assert!(
        text.contains("addressbook-query") && text.contains("addressbook-multiget"),
        "{text}"
    );
    assert!(!text.contains("404 Not Found"), "{text}");
}

fn api(s: &Server, method: Method, path: &str, user: (&str, &str)) -> RequestBuilder {
    client()
        .request(method, s.url(path))
        .basic_auth(user.0, Some(user.1))
}

fn book_id(s: &Server, user: (&str, &str), name: &str) -> i64 {
    let list: serde_json::Value = api(s, Method::GET, "/api/v1/addressbooks", user)
        .send()
        .unwrap()
        .json()
        .unwrap();
    list["addressBooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("{list}"))["id"]
        .as_i64()
        .unwrap()
}

fn sync_token(s: &Server, path: &str, user: (&str, &str)) -> String {
    let text = client()
        .request(Method::from_bytes(b"PROPFIND").unwrap(), s.url(path))
        .basic_auth(user.0, Some(user.1))
        .header("Depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.split("<D:sync-token>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn export_from_one_domain_and_import_into_another() {
    let s = setup();
    let alice = ("alice@a.test", "alice-pw-1");
    let bob = ("bob@b.test", "bob-pw-1");
    for (i, name) in [
        "apple-ios5-photo-encoding-b-items.vcf",
        "davx5-vcard40-kind-group-member.vcf",
        "google-contacts-export-single.vcf",
        "thunderbird-morefunctions-vcard30-photo-charset.vcf",
    ]
    .iter()
    .enumerate()
    {
        let r = put(&s, &format!("{BOOK}c{i}.vcf"), &fixture(name), "text/vcard");
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{name}: {}",
            r.text().unwrap()
        );
    }
    let a_book = book_id(&s, alice, "contacts");
    let export = api(
        &s,
        Method::GET,
        &format!("/api/v1/addressbooks/{a_book}/export?version=4"),
        alice,
    )
    .send()
    .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/vcard")
    );
    let file = export.text().unwrap();
    assert_eq!(file.matches("BEGIN:VCARD").count(), 4);
    assert_eq!(file.matches("VERSION:4.0").count(), 4);

    // Carol (same domain) cannot read Alice's book; Bob, in his own domain, reaches at
    // most a book of his own under the same number: never Alice's cards.
    let carol = ("carol@a.test", "carol-pw-1");
    let r = api(
        &s,
        Method::GET,
        &format!("/api/v1/addressbooks/{a_book}/export"),
        carol,
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = api(
        &s,
        Method::GET,
        &format!("/api/v1/addressbooks/{a_book}/export"),
        bob,
    )
    .send()
    .unwrap();
    let seen = r.text().unwrap();
    assert!(!seen.contains("BEGIN:VCARD"), "{seen}");

    let b_book = book_id(&s, bob, "contacts");
    let b_path = "/dav/addressbooks/bob@b.test/contacts/";
    let import = |body: &str, query: &str| -> (StatusCode, serde_json::Value) {
        let r = api(
            &s,
            Method::POST,
            &format!("/api/v1/addressbooks/{b_book}/import{query}"),
            bob,
        )
        .header("Content-Type", "text/vcard")
        .body(body.to_string())
        .send()
        .unwrap();
        (r.status(), r.json().unwrap())
    };
    let before = sync_token(&s, b_path, bob);
    let (status, report) = import(&file, "");
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(4), Some(0)),
        "{report}"
    );
    let after_first = sync_token(&s, b_path, bob);
    assert_ne!(before, after_first);
    // The same file again: nothing changes, not even the sync token.
    let (_, report) = import(&file, "");
    assert_eq!(
        (
            report["created"].as_u64(),
            report["updated"].as_u64(),
            report["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(4)),
        "{report}"
    );
    assert_eq!(sync_token(&s, b_path, bob), after_first);
    // A changed card updates; replace removes what the file lacks.
    let changed = file.replacen("FN:My Group", "FN:Our Group", 1);
    assert_ne!(changed, file);
    let first_card_end = changed.find("END:VCARD").unwrap() + "END:VCARD\r\n".len();
    let (_, report) = import(&changed, "");
    assert_eq!(report["updated"].as_u64(), Some(1), "{report}");
    let (_, report) = import(&changed[..first_card_end], "?mode=replace");
    assert_eq!(report["removed"].as_u64(), Some(3), "{report}");
    // Bob's clients see the cards over CardDAV.
    let listing = client()
        .request(Method::from_bytes(b"PROPFIND").unwrap(), s.url(b_path))
        .basic_auth(bob.0, Some(bob.1))
        .header("Depth", "1")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(listing.matches("<D:response>").count(), 2, "{listing}");
}

#[test]
fn an_import_with_one_bad_card_among_a_thousand_changes_nothing() {
    let s = setup();
    let alice = ("alice@a.test", "alice-pw-1");
    let id = book_id(&s, alice, "contacts");
    let mut file = String::new();
    for i in 0..1000 {
        if i == 637 {
            // Invalid base64 in a photo.
            file.push_str("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bad\r\nFN:Bad Photo\r\nN:Photo;Bad;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:!!!not base64!!!\r\nEND:VCARD\r\n");
        } else {
            file.push_str(&format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-{i}\r\nFN:Person {i}\r\nN:{i};Person;;;\r\nEMAIL;TYPE=INTERNET:p{i}@example.org\r\nEND:VCARD\r\n"
            ));
        }
    }
    let post = |query: &str| {
        let r = api(
            &s,
            Method::POST,
            &format!("/api/v1/addressbooks/{id}/import{query}"),
            alice,
        )
        .body(file.clone())
        .send()
        .unwrap();
        (r.status(), r.json::<serde_json::Value>().unwrap())
    };
    let (status, body) = post("");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let invalid = &body["invalid"][0];
    assert_eq!(invalid["card"].as_u64(), Some(638), "{body}");
    // Card 638 starts on line 637 * 7 + 1; its PHOTO is the 6th line.
    let line = invalid["line"].as_u64().unwrap();
    assert!((637 * 7 + 1..=637 * 7 + 7).contains(&line), "{body}");
    assert_eq!(book_id(&s, alice, "contacts"), id);
    let list: serde_json::Value = api(&s, Method::GET, "/api/v1/addressbooks", alice)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list["addressBooks"][0]["cards"].as_i64(), Some(0), "{list}");
    let (status, body) = post("?skipInvalid=true");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"].as_u64(), Some(999), "{body}");
    assert_eq!(body["skipped"][0]["card"].as_u64(), Some(638), "{body}");
}

#[test]
fn cli_lists_exports_and_imports() {
    let s = setup();
    let r = put(
        &s,
        &format!("{BOOK}g.vcf"),
        &fixture("google-contacts-export-single.vcf"),
        "text/vcard",
    );
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
    let list: serde_json::Value =
        serde_json::from_str(&s.domus_ok(&["addressbook", "list", "alice@a.test", "--json"]))
            .unwrap();
    assert_eq!(list[0]["name"], "contacts");
    assert_eq!(list[0]["cards"], 1);
    let v3 = s.domus_ok(&[
        "addressbook",
        "export",
        "alice@a.test",
        "contacts",
        "--version",
        "3",
    ]);
    assert!(v3.contains("VERSION:3.0"), "{v3}");
    let file = s.data.join("export.vcf");
    std::fs::write(&file, &v3).unwrap();
    let out = s.domus_ok(&[
        "addressbook",
        "import",
        "bob@b.test",
        "contacts",
        file.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["created"], 1, "{out}");
    let err = domus_err(
        &s.data,
        &["addressbook", "export", "alice@a.test", "nope"],
        None,
    );
    assert!(err.contains("domus addressbook list alice@a.test"), "{err}");
}

/// A Thunderbird (CardBook) vCard 4.0 contact and a Google Contacts export round-trip
/// through PUT and GET in both versions: what the other version can express survives.
#[test]
fn thunderbird_v4_and_google_v3_cards_round_trip_through_both_versions() {
    let s = setup();
    let b64 = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    // Thunderbird 4.0: the data: URI photo becomes ENCODING=b in 3.0 and comes back.
    let tb = fixture("thunderbird-cardbook-vcard40-photo-data-uri.vcf");
    let r = put(
        &s,
        &format!("{BOOK}tb.vcf"),
        &tb,
        "text/vcard; charset=utf-8",
    );
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
    let (_, ctype, v3) = get(
        &s,
        &format!("{BOOK}tb.vcf"),
        Some("text/vcard; version=3.0"),
    );
    assert!(ctype.contains("version=3.0"), "{ctype}");
    assert_eq!(values(&v3, "VERSION"), ["3.0"]);
    let photo3 = values(&v3, "PHOTO");
    assert_eq!(photo3.len(), 1, "{v3}");
    assert!(
        v3.contains("ENCODING=b") || v3.contains("ENCODING=B"),
        "{v3}"
    );
    assert!(v3.contains("TYPE=JPEG"), "the media type survives: {v3}");
    let original = b64(&values(&tb, "PHOTO")[0]);
    let original = original.split("base64\\,").nth(1).unwrap().to_string();
    assert_eq!(b64(&photo3[0]), original, "{v3}");
    assert_eq!(values(&v3, "UID"), values(&tb, "UID"));
    assert_eq!(values(&v3, "EMAIL"), values(&tb, "EMAIL"));
    assert_eq!(values(&v3, "X-ABLabel").len(), 1, "{v3}");
    // ...and back to 4.0 from the 3.0 form, as a 3.0 client would have written it.
    let r = put(
        &s,
        &format!("{BOOK}tb3.vcf"),
        &v3.replace(&values(&tb, "UID")[0], "tb3-uid"),
        "text/vcard",
    );
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
    let (_, _, v4) = get(
        &s,
        &format!("{BOOK}tb3.vcf"),
        Some("text/vcard; version=4.0"),
    );
    assert!(
        values(&v4, "PHOTO")[0].starts_with("data:image/jpeg;base64,"),
        "{v4}"
    );
    assert_eq!(
        b64(values(&v4, "PHOTO")[0].trim_start_matches("data:image/jpeg;base64,")),
        original
    );

    // Google 3.0 export: labelled items, X-AB* and phonetic names survive 4.0 and back.
    let google = fixture("google-contacts-export-single.vcf");
    let r = put(&s, &format!("{BOOK}g.vcf"), &google, "text/vcard");
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
    let (_, _, g4) = get(&s, &format!("{BOOK}g.vcf"), Some("text/vcard; version=4.0"));
    assert_eq!(values(&g4, "VERSION"), ["4.0"]);
    for prop in [
        "FN",
        "X-ABLabel",
        "X-ABDATE",
        "X-PHONETIC-FIRST-NAME",
        "NOTE",
    ] {
        assert_eq!(
            values(&g4, prop).len(),
            values(&google, prop).len(),
            "{prop}: {g4}"
        );
    }
    assert_eq!(
        values(&g4, "EMAIL").len(),
        values(&google, "EMAIL").len(),
        "{g4}"
    );
    assert_eq!(
        values(&g4, "TEL").len(),
        values(&google, "TEL").len(),
        "{g4}"
    );
}

/// A book with photos is larger than axum's default body limit: the import takes it.
#[test]
fn an_import_of_several_megabytes_goes_through() {
    let s = setup();
    let alice = ("alice@a.test", "alice-pw-1");
    let id = book_id(&s, alice, "contacts");
    let photo = "A".repeat(40_000);
    let mut file = String::new();
    for i in 0..100 {
        file.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p{i}\r\nFN:Person {i}\r\nN:{i};Person;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:{photo}\r\nEND:VCARD\r\n"
        ));
    }
    assert!(file.len() > 3 << 20);
    let r = api(
        &s,
        Method::POST,
        &format!("/api/v1/addressbooks/{id}/import"),
        alice,
    )
    .body(file)
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let report: serde_json::Value = r.json().unwrap();
    assert_eq!(report["created"], 100, "{report}");
}
