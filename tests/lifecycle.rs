//! Server lifecycle: graceful shutdown that lets in-flight requests finish and closes
//! the databases cleanly, and HTTPS through rustls.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;

#[test]
fn sigterm_lets_in_flight_requests_finish_and_closes_databases() {
    let s = Server::start();
    let pw = s.admin_password().unwrap();
    // Log in once so the slow request below does not wait on argon2.
    assert_eq!(
        client()
            .get(s.url("/api/v1/me"))
            .basic_auth("admin@localhost", Some(&pw))
            .send()
            .unwrap()
            .status(),
        200
    );

    let body = br#"{"name": "made-during-shutdown"}"#;
    let mut conn = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        conn,
        "POST /api/v1/me/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        basic("admin@localhost", &pw),
        body.len()
    )
    .unwrap();
    conn.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(s.child.id().to_string())
        .status();
    std::thread::sleep(Duration::from_millis(300));
    // No new connections once shutdown began.
    assert!(
        TcpStream::connect(("127.0.0.1", s.port)).is_err(),
        "still accepting after SIGTERM"
    );

    conn.write_all(&body[10..]).unwrap();
    let mut response = String::new();
    let _ = conn.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("made-during-shutdown"), "{response}");

    let data = s.data.clone();
    let status = s.terminate();
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(data.join("server.log")).unwrap();
    assert!(
        log.contains("SIGTERM received") && log.contains("databases closed"),
        "{log}"
    );
    // Closed cleanly: every WAL was folded back into its database.
    let wal_files: Vec<_> = walk(&data)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with("-wal"))
        .collect();
    assert!(wal_files.is_empty(), "{wal_files:?}");
    // And the token made during shutdown is there after a restart.
    let s = Server::start_in(&data, &[]);
    let list: serde_json::Value = client()
        .get(s.url("/api/v1/me/tokens"))
        .basic_auth("admin@localhost", Some(&pw))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list[0]["name"], "made-during-shutdown");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn https_with_a_pem_certificate_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();

    let s = Server::start_in(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(s.base.starts_with("https://"), "{}", s.base);
    let pw = s.admin_password().unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/api/v1/me", s.port);
    let r = client
        .get(&url)
        .basic_auth("admin@localhost", Some(&pw))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["domain"],
        "localhost"
    );
    // Plain HTTP on the TLS port is not served.
    let (status, _) = raw(
        s.port,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_ne!(status, 200);
    assert_eq!(
        client
            .get(format!("https://localhost:{}/healthz", s.port))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn a_bad_certificate_path_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
            "--data",
        ])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read the TLS certificate /nonexistent/cert.pem"),
        "{err}"
    );
    let out = std::process::Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/x.pem",
            "--data",
        ])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TLS needs both a certificate and a key")
    );
}

/// A refused request with a body leaves the connection usable: clients send a body, get
/// the 401 challenge, and retry on the same connection.
#[test]
fn refusals_keep_the_connection_alive() {
    let s = Server::start();
    for first in [
        "POST /api/v1/me/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"name\": \"tok\"}\n",
        "PUT /dav/files/admin@localhost/x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "PROPFIND /.well-known/caldav HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "POST /no/such/thing HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    ] {
        let mut conn = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        conn.write_all(first.as_bytes()).unwrap();
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        assert_eq!(answer.matches("HTTP/1.1 ").count(), 2, "{first}: {answer}");
        assert!(answer.contains("HTTP/1.1 200 OK"), "{first}: {answer}");
    }
}
