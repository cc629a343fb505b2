//! The WebDAV file space over HTTP: isolation between accounts and domains, verbatim dead
//! properties, canonical hrefs, and hostile bodies. litmus (conformance/) covers RFC 4918
//! method by method; these tests cover what it does not.

mod common;

use common::*;
use reqwest::Method;
use reqwest::StatusCode;
use reqwest::blocking::{RequestBuilder, Response};

fn m(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

struct Dav<'s> {
    s: &'s Server,
    user: &'static str,
    pw: &'static str,
}

impl Dav<'_> {
    fn req(&self, method: &str, path: &str) -> RequestBuilder {
        client()
            .request(m(method), self.s.url(path))
            .basic_auth(self.user, Some(self.pw))
    }
    fn propfind(&self, path: &str, depth: &str, body: &str) -> Response {
        self.req("PROPFIND", path)
            .header("Depth", depth)
            .header("Content-Type", "application/xml")
            .body(body.to_string())
            .send()
            .unwrap()
    }
}

const ALICE: &str = "/dav/files/alice@a.test/";

/// a.test with alice and carol, b.test with bob.
fn setup() -> Server {
    let s = Server::start();
    s.domus_ok(&["domain", "add", "a.test"]);
    s.domus_ok(&["domain", "add", "b.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    add_user(&s.data, "carol@a.test", "carol-pw-1");
    add_user(&s.data, "bob@b.test", "bob-pw-1");
    s
}

#[test]
fn options_tells_the_classes_without_credentials() {
    let s = Server::start();
    let r = client()
        .request(Method::OPTIONS, s.url(ALICE))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let dav = r.headers()["dav"].to_str().unwrap().to_string();
    assert!(dav.starts_with("1, 2, 3"), "{dav}");
    assert!(r.headers()["allow"].to_str().unwrap().contains("PROPFIND"));
}

#[test]
fn nobody_else_reaches_a_file_space() {
    let s = setup();
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    let r = alice
        .req("PUT", &format!("{ALICE}secret.txt"))
        .body("alice's")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let lock = alice
        .req("LOCK", &format!("{ALICE}secret.txt"))
        .body(r#"<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#)
        .send()
        .unwrap();
    assert_eq!(lock.status(), StatusCode::OK);
    let token = lock.headers()["lock-token"].to_str().unwrap().to_string();

    // Bob, in another domain: alice's space does not exist for him, whatever he tries.
    let bob = Dav {
        s: &s,
        user: "bob@b.test",
        pw: "bob-pw-1",
    };
    for method in [
        "GET",
        "PUT",
        "DELETE",
        "PROPPATCH",
        "MKCOL",
        "MOVE",
        "COPY",
        "UNLOCK",
        "LOCK",
    ] {
        let r = bob
            .req(method, &format!("{ALICE}secret.txt"))
            .header("Destination", format!("{ALICE}stolen.txt"))
            .header("Lock-Token", token.clone())
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method}");
    }
    assert_eq!(bob.propfind(ALICE, "1", "").status(), StatusCode::NOT_FOUND);
    // His own space, with alice's lock token and her href as a destination, neither.
    let r = bob
        .req("PUT", "/dav/files/bob@b.test/x.txt")
        .body("bob's")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = bob
        .req("COPY", "/dav/files/bob@b.test/x.txt")
        .header(
            "Destination",
            format!("http://127.0.0.1:{}{ALICE}secret.txt", s.port),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);

    // Carol, in the same domain: refused with the need-privileges precondition.
    let carol = Dav {
        s: &s,
        user: "carol@a.test",
        pw: "carol-pw-1",
    };
    let r = carol
        .req("GET", &format!("{ALICE}secret.txt"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().unwrap().contains("need-privileges"));

    // Alice's file is untouched and still hers.
    let r = alice
        .req("GET", &format!("{ALICE}secret.txt"))
        .send()
        .unwrap();
    assert_eq!(r.text().unwrap(), "alice's");
}

#[test]
fn dead_properties_come_back_verbatim_with_their_namespaces() {
    let s = setup();
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    assert_eq!(
        alice
            .req("MKCOL", &format!("{ALICE}Docs"))
            .send()
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let body = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/" xmlns:Z="urn:example:z">
  <D:set><D:prop>
    <A:calendar-color symbolic-color="red">#FF0000FF</A:calendar-color>
    <Z:nested><Z:inner attr="1">x &amp; y</Z:inner><other xmlns="urn:example:other"/></Z:nested>
  </D:prop></D:set>
</D:propertyupdate>"#;
    let r = alice
        .req("PROPPATCH", &format!("{ALICE}Docs/"))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert!(r.text().unwrap().contains("HTTP/1.1 200 OK"));

    let r = alice.propfind(
        &format!("{ALICE}Docs/"),
        "0",
        r#"<D:propfind xmlns:D="DAV:"><D:prop><calendar-color xmlns="http://apple.com/ns/ical/"/><Q:nested xmlns:Q="urn:example:z"/><D:nope/></D:prop></D:propfind>"#,
    );
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let text = r.text().unwrap();
    assert!(text.contains(r##"<A:calendar-color xmlns:A="http://apple.com/ns/ical/" symbolic-color="red">#FF0000FF</A:calendar-color>"##), "{text}");
    assert!(
        text.contains(r#"<Z:inner attr="1">x &amp; y</Z:inner><other xmlns="urn:example:other"/>"#),
        "{text}"
    );
    assert!(
        text.contains("<D:nope/>") && text.contains("404 Not Found"),
        "{text}"
    );
    // Prefer: return-minimal leaves the 404 propstat out (RFC 8144).
    let r = alice
        .req("PROPFIND", &format!("{ALICE}Docs/"))
        .header("Depth", "0")
        .header("Prefer", "return-minimal")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:nope/></D:prop></D:propfind>"#)
        .send()
        .unwrap();
    let text = r.text().unwrap();
    assert!(!text.contains("404") && text.contains("getetag"), "{text}");
}

#[test]
fn hrefs_are_canonical_and_both_at_encodings_work() {
    let s = setup();
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    let r = alice
        .req("PUT", "/dav/files/alice%40a.test/r%C3%A9sum%C3%A9%20v1.txt")
        .body("x")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let text = alice.propfind(ALICE, "1", "").text().unwrap();
    assert!(
        text.contains("<D:href>/dav/files/alice@a.test/r%C3%A9sum%C3%A9%20v1.txt</D:href>"),
        "{text}"
    );
    assert!(
        text.contains("<D:href>/dav/files/alice@a.test/</D:href>"),
        "{text}"
    );
    let r = alice
        .req("GET", "/dav/files/Alice@A.test/r%c3%a9sum%c3%a9%20v1.txt")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for bad in [
        "/dav/files/alice@a.test/..%2F..%2Fsystem.sqlite",
        "/dav/files/alice@a.test/a%00b",
    ] {
        assert_eq!(
            alice.req("GET", bad).send().unwrap().status(),
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

#[test]
fn hostile_bodies_get_a_precise_4xx_and_change_nothing() {
    let s = Server::start_with_config("[http]\nmax_upload_bytes = 2000000\n");
    s.domus_ok(&["domain", "add", "a.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    assert_eq!(
        alice
            .req("PUT", &format!("{ALICE}f.txt"))
            .body("v1")
            .send()
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let before = alice
        .propfind(&format!("{ALICE}f.txt"), "0", "")
        .text()
        .unwrap();

    let laughs = r#"<?xml version="1.0"?><!DOCTYPE D:propertyupdate [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">&b;</x></D:prop></D:set></D:propertyupdate>"#;
    let deep = format!(
        r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">{}{}</x></D:prop></D:set></D:propertyupdate>"#,
        "<a>".repeat(1000),
        "</a>".repeat(1000)
    );
    let unclosed = r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">"#;
    let undeclared = r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><q:x/></D:prop></D:set></D:propertyupdate>"#;
    for (what, body) in [
        ("billion laughs", laughs.to_string()),
        ("1000-deep", deep),
        ("unclosed", unclosed.into()),
        ("undeclared prefix", undeclared.into()),
    ] {
        let r = alice
            .req("PROPPATCH", &format!("{ALICE}f.txt"))
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{what}");
    }
    // 50 MB of XML, 1.5 MB of XML (past the XML limit), and an upload past the configured
    // limit: refused on their announced length, before the client (waiting for 100
    // Continue) sends the body.
    for (method, len) in [
        ("PROPFIND", 50 << 20),
        ("PROPPATCH", 1_500_000),
        ("PUT", 3_000_000),
    ] {
        let (status, text) = raw(
            s.port,
            format!(
                "{method} {ALICE}f.txt HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nDepth: 0\r\nContent-Length: {len}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
                basic("alice@a.test", "alice-pw-1")
            )
            .as_bytes(),
        );
        assert_eq!(status, 413, "{method}: {text}");
    }
    // A protected property: the whole PROPPATCH fails, 403 for it and 424 for the rest.
    let r = alice
        .req("PROPPATCH", &format!("{ALICE}f.txt"))
        .body(r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>"x"</D:getetag><y xmlns="urn:y">1</y></D:prop></D:set></D:propertyupdate>"#)
        .send()
        .unwrap();
    let text = r.text().unwrap();
    assert!(
        text.contains("403 Forbidden")
            && text.contains("424 Failed Dependency")
            && text.contains("cannot-modify-protected-property"),
        "{text}"
    );

    // Nothing changed.
    assert_eq!(
        alice
            .propfind(&format!("{ALICE}f.txt"), "0", "")
            .text()
            .unwrap(),
        before
    );
    assert_eq!(
        alice
            .req("GET", &format!("{ALICE}f.txt"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "v1"
    );
}

#[test]
fn infinite_depth_is_refused_with_the_precondition() {
    let s = setup();
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    let r = alice.req("PROPFIND", ALICE).send().unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let text = r.text().unwrap();
    assert!(text.contains("<D:propfind-finite-depth/>"), "{text}");
    let r = alice.propfind(ALICE, "infinity", "");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = alice.propfind(ALICE, "2", "");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn conditional_put_is_atomic_with_the_write() {
    let s = setup();
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    let url = format!("{ALICE}c.txt");
    let r = alice
        .req("PUT", &url)
        .header("If-None-Match", "*")
        .body("one")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong, quoted: {etag}"
    );
    let r = alice
        .req("PUT", &url)
        .header("If-None-Match", "*")
        .body("two")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = alice
        .req("PUT", &url)
        .header("If-Match", "\"stale\"")
        .body("two")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = alice
        .req("PUT", &url)
        .header("If-Match", etag.as_str())
        .body("two")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
    let r = alice
        .req("GET", &url)
        .header("If-None-Match", r.headers()["etag"].to_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
}

fn sync(dav: &Dav<'_>, path: &str, token: &str, limit: Option<usize>) -> (StatusCode, String) {
    let limit = limit
        .map(|n| format!("<D:limit><D:nresults>{n}</D:nresults></D:limit>"))
        .unwrap_or_default();
    let body = format!(
        r#"<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>{limit}<D:prop><D:getetag/></D:prop></D:sync-collection>"#
    );
    // Thunderbird and macOS send Depth: 1 although RFC 6578 says 0: tolerated.
    let r = dav
        .req("REPORT", path)
        .header("Depth", "1")
        .header("Content-Type", "text/xml; charset=\"UTF-8\"")
        .body(body)
        .send()
        .unwrap();
    (r.status(), r.text().unwrap())
}

fn token_of(text: &str) -> String {
    let start = text.rfind("<D:sync-token>").expect("a sync token") + "<D:sync-token>".len();
    text[start..].split('<').next().unwrap().to_string()
}

#[test]
fn sync_collection_follows_changes_from_the_change_log() {
    let s = setup();
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    for name in ["a.txt", "b.txt"] {
        assert_eq!(
            alice
                .req("PUT", &format!("{ALICE}{name}"))
                .body(name)
                .send()
                .unwrap()
                .status(),
            StatusCode::CREATED
        );
    }
    let (status, text) = sync(&alice, ALICE, "", None);
    assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
    assert!(
        text.contains("/a.txt</D:href>")
            && text.contains("/b.txt</D:href>")
            && text.contains("getetag"),
        "{text}"
    );
    let t1 = token_of(&text);

    // Nothing changed: nothing reported, same token.
    let (_, text) = sync(&alice, ALICE, &t1, None);
    assert!(!text.contains("<D:response>"), "{text}");
    assert_eq!(token_of(&text), t1);

    // The ctag and the sync-token property moved with the change.
    let props = |d: &Dav<'_>| {
        d.propfind(ALICE, "0", r#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"#).text().unwrap()
    };
    let before = props(&alice);
    assert!(
        before.contains(&format!("<CS:getctag>{t1}</CS:getctag>")),
        "{before}"
    );
    assert_eq!(
        alice
            .req("PUT", &format!("{ALICE}c.txt"))
            .body("c")
            .send()
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        alice
            .req("DELETE", &format!("{ALICE}a.txt"))
            .send()
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_ne!(props(&alice), before);

    let (_, text) = sync(&alice, ALICE, &t1, None);
    assert!(text.contains("/c.txt</D:href><D:propstat>"), "{text}");
    assert!(
        text.contains("/a.txt</D:href><D:status>HTTP/1.1 404 Not Found</D:status>"),
        "{text}"
    );
    assert!(!text.contains("/b.txt"), "{text}");
    let t2 = token_of(&text);
    assert_ne!(t1, t2);

    // Tokens that are not ours, or from the future, are refused with the precondition.
    for bad in [
        "http://example.org/sync/1",
        "urn:x-domus:sync:999999",
        "urn:x-domus:sync:-1",
    ] {
        let (status, text) = sync(&alice, ALICE, bad, None);
        assert_eq!(status, StatusCode::FORBIDDEN, "{bad}");
        assert!(text.contains("<D:valid-sync-token/>"), "{text}");
    }
}

#[test]
fn sync_collection_truncates_at_the_limit_without_skipping() {
    let s = setup();
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    let (_, text) = sync(&alice, ALICE, "", None);
    let mut token = token_of(&text);
    for i in 0..5 {
        alice
            .req("PUT", &format!("{ALICE}f{i}.txt"))
            .body("x")
            .send()
            .unwrap();
    }
    let mut seen = Vec::new();
    for round in 0..5 {
        let (status, text) = sync(&alice, ALICE, &token, Some(2));
        assert_eq!(status, StatusCode::MULTI_STATUS);
        let got: Vec<String> = text
            .split("/dav/files/alice@a.test/f")
            .skip(1)
            .map(|r| r[..1].to_string())
            .collect();
        seen.extend(got.clone());
        token = token_of(&text);
        if text.contains("507 Insufficient Storage") {
            assert_eq!(got.len(), 2, "round {round}: {text}");
        } else {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["0", "1", "2", "3", "4"]);
}

#[test]
fn discovery_from_a_bare_host_name_finds_the_principal() {
    let s = setup();
    s.domus_ok(&["domain", "alias", "add", "a.test", "a-alias.test"]);
    s.domus_ok(&[
        "user",
        "address",
        "add",
        "alice@a.test",
        "alice@a-alias.test",
    ]);
    // Logged in with the alias address: the principal is still the account's one.
    let alice = Dav {
        s: &s,
        user: "alice@a-alias.test",
        pw: "alice-pw-1",
    };
    for root in ["/", "/dav/", "/dav/principals/"] {
        let r = alice.propfind(root, "0", r#"<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>"#);
        assert_eq!(r.status(), StatusCode::MULTI_STATUS, "{root}");
        let text = r.text().unwrap();
        assert!(
            text.contains(
                "<D:current-user-principal><D:href>/dav/principals/alice@a.test/</D:href>"
            ),
            "{root}: {text}"
        );
    }
    let r = alice.propfind(
        "/dav/principals/alice@a.test/",
        "0",
        r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:displayname/><D:principal-URL/><C:calendar-user-address-set/><D:resourcetype/></D:prop></D:propfind>"#,
    );
    let text = r.text().unwrap();
    assert!(text.contains("<D:principal/>"), "{text}");
    assert!(
        text.contains(
            "<D:href>mailto:alice@a.test</D:href><D:href>mailto:alice@a-alias.test</D:href>"
        ),
        "{text}"
    );
    assert!(
        text.contains("<D:principal-URL><D:href>/dav/principals/alice@a.test/</D:href>"),
        "{text}"
    );
    // Without credentials: a challenge, not an answer.
    let r = client().request(m("PROPFIND"), s.url("/")).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    // Principals are read-only; bob cannot see alice's.
    assert_eq!(
        alice
            .req("PUT", "/dav/principals/alice@a.test/x")
            .body("x")
            .send()
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let bob = Dav {
        s: &s,
        user: "bob@b.test",
        pw: "bob-pw-1",
    };
    assert_eq!(
        bob.propfind("/dav/principals/alice@a.test/", "0", "")
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn an_initial_sync_can_be_truncated_and_continued() {
    let s = setup();
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    for i in 0..5 {
        alice
            .req("PUT", &format!("{ALICE}n{i}.txt"))
            .body("x")
            .send()
            .unwrap();
    }
    let (_, text) = sync(&alice, ALICE, "", Some(2));
    assert!(text.contains("507 Insufficient Storage"), "{text}");
    let mut seen: Vec<String> = text
        .split("/dav/files/alice@a.test/n")
        .skip(1)
        .map(|r| r[..1].to_string())
        .collect();
    assert_eq!(seen, ["0", "1"], "listed in path order");
    let mut token = token_of(&text);
    let mut later = Vec::new();
    // A change to a member already listed, while the listing goes on, is not lost.
    alice
        .req("PUT", &format!("{ALICE}n0.txt"))
        .body("changed")
        .send()
        .unwrap();
    for _ in 0..5 {
        let (status, text) = sync(&alice, ALICE, &token, Some(2));
        assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
        later.extend(
            text.split("/dav/files/alice@a.test/n")
                .skip(1)
                .map(|r| r[..1].to_string()),
        );
        token = token_of(&text);
        if !text.contains("507") {
            break;
        }
    }
    assert!(
        later.contains(&"0".to_string()),
        "the change to n0 is reported: {later:?}"
    );
    seen.extend(later);
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["0", "1", "2", "3", "4"]);
    let (_, text) = sync(&alice, ALICE, &token, None);
    assert!(
        !text.contains("<D:response>"),
        "a complete sync leaves nothing behind: {text}"
    );
}

#[test]
fn quotas_count_files_and_calendars_and_refuse_with_507() {
    let s = setup();
    let alice = Dav {
        s: &s,
        user: "alice@a.test",
        pw: "alice-pw-1",
    };
    let out = s.domus_ok(&["user", "quota", "alice@a.test", "1K"]);
    assert!(
        out.contains("quota of alice@a.test set to 1024 bytes"),
        "{out}"
    );
    let err = domus_err(&s.data, &["user", "quota", "alice@a.test", "lots"], None);
    assert!(err.contains("is not a size"), "{err}");
    assert_eq!(
        alice
            .req("PUT", &format!("{ALICE}a.bin"))
            .body(vec![b'a'; 600])
            .send()
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let r = alice
        .req("PUT", &format!("{ALICE}b.bin"))
        .body(vec![b'b'; 600])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert!(r.text().unwrap().contains("<D:quota-not-exceeded/>"));
    assert_eq!(
        alice
            .req("GET", &format!("{ALICE}b.bin"))
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND,
        "nothing stored"
    );
    // Replacing a file counts its new size only; a copy counts again.
    assert_eq!(
        alice
            .req("PUT", &format!("{ALICE}a.bin"))
            .body(vec![b'a'; 900])
            .send()
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let r = alice
        .req("COPY", &format!("{ALICE}a.bin"))
        .header("Destination", format!("{ALICE}c.bin"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    let text = alice
        .propfind(ALICE, "0", r#"<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/><D:quota-available-bytes/></D:prop></D:propfind>"#)
        .text()
        .unwrap();
    assert!(
        text.contains("<D:quota-used-bytes>900</D:quota-used-bytes>")
            && text.contains("<D:quota-available-bytes>124</D:quota-available-bytes>"),
        "{text}"
    );
    s.domus_ok(&["user", "quota", "alice@a.test", "none"]);
    assert_eq!(
        alice
            .req("PUT", &format!("{ALICE}b.bin"))
            .body(vec![b'b'; 600])
            .send()
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
}
