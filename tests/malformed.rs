//! Hostile and broken requests: each gets a clean 4xx, never a 5xx or a dead server.

mod common;

use common::*;
use proptest::prelude::*;

fn get_with_auth(port: u16, auth: &[u8]) -> (u16, String) {
    let mut req =
        b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: ".to_vec();
    req.extend_from_slice(auth);
    req.extend_from_slice(b"\r\n\r\n");
    raw(port, &req)
}

fn assert_alive(s: &Server) {
    let (status, _) = raw(
        s.port,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200, "the server must still answer");
}

#[test]
fn malformed_authorization_headers_get_401() {
    let s = Server::start();
    let long_user = basic(&"a".repeat(10_000), "pw");
    let long_domain = basic(&format!("a@{}.test", "b".repeat(250)), "pw");
    let cases: Vec<Vec<u8>> = vec![
        b"Basic".to_vec(),
        b"Basic !!!notbase64".to_vec(),
        b"Basic Zm9v".to_vec(), // "foo": no colon
        b"Basic //79".to_vec(), // invalid UTF-8 after decoding
        b"Basic \xff\xfe\xfd".to_vec(),
        b"Negotiate abc".to_vec(),
        b"Bearer".to_vec(),
        b"Bearer not a token".to_vec(),
        b"Bearer dt_dxxxxxxxxxxxx_abc".to_vec(),
        b"Bearer dt_../../etc_abc".to_vec(),
        long_user.into_bytes(),
        long_domain.into_bytes(),
        basic("alice@a.test", &"p".repeat(5000)).into_bytes(),
    ];
    for (i, auth) in cases.iter().enumerate() {
        let (status, text) = get_with_auth(s.port, auth);
        let shown = String::from_utf8_lossy(&auth[..auth.len().min(80)]).into_owned();
        let head = text.to_ascii_lowercase();
        // Every malformed header counts as a failed login from this source: after ten,
        // the source is throttled (429 with Retry-After) instead.
        if i < 10 {
            assert_eq!(status, 401, "{shown}: {text}");
            assert!(head.contains("www-authenticate: basic realm="), "{text}");
        } else {
            assert_eq!(status, 429, "{shown}: {text}");
            assert!(head.contains("retry-after: "), "{text}");
        }
    }
    assert_alive(&s);
}

#[test]
fn broken_requests_get_4xx() {
    let s = Server::start();
    let long_path = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(60_000)
    );
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(1_000_000)
    );
    let cases: Vec<(Vec<u8>, &[u16])> = vec![
        (b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(), &[400, 404]),
        (b"GET /api/v1/%ff%fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(), &[404]),
        (b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(), &[400, 404]),
        (b"\x00\x01\x02 garbage\r\n\r\n".to_vec(), &[400]),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Bin: \xff\xfe\r\nConnection: close\r\n\r\n".to_vec(), &[404]),
        (long_path.into_bytes(), &[404, 414, 431]),
        (huge_header.into_bytes(), &[431, 400, 0]),
        (
            b"POST /api/v1/me/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n".to_vec(),
            &[401, 413],
        ),
    ];
    for (req, allowed) in &cases {
        let (status, text) = raw(s.port, req);
        assert!(
            allowed.contains(&status),
            "{status} for {:?}: {}",
            String::from_utf8_lossy(&req[..req.len().min(60)]),
            &text[..text.len().min(300)]
        );
    }
    assert_alive(&s);
}

#[test]
fn oversized_json_bodies_are_refused_before_parsing() {
    let s = Server::start();
    let pw = s.admin_password().unwrap();
    let body = format!("{{\"name\": \"{}\"}}", "x".repeat(2 << 20));
    let r = client()
        .post(s.url("/api/v1/me/tokens"))
        .basic_auth("admin@localhost", Some(&pw))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    let r = client()
        .post(s.url("/api/v1/me/tokens"))
        .basic_auth("admin@localhost", Some(&pw))
        .header("content-type", "application/json")
        .body("{\"name\": \"\\u0000bad\"}")
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    assert_alive(&s);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary bytes in the Authorization header: always a 4xx (400 when they are not a
    /// legal header value at all, 401 otherwise), never a 5xx, never a dead server.
    #[test]
    fn any_authorization_bytes_get_a_4xx(value in proptest::collection::vec(0x20u8..=0xff, 0..400)) {
        // Throttling off, so every case reaches the parser and the login path.
        thread_local!(static SERVER: Server = Server::start_with_config(
            "[auth]\nmax_failures_per_source = 1000000\nmax_failures_per_account = 1000000\n"
        ));
        SERVER.with(|s| {
            let (status, text) = get_with_auth(s.port, &value);
            prop_assert!([400, 401].contains(&status), "{} -> {}", String::from_utf8_lossy(&value), text);
            Ok(())
        })?;
    }
}
