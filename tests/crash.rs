//! Durability: SIGKILL the server in the middle of many acknowledged writes, restart it,
//! and check that every write it acknowledged is there and every file passes
//! `PRAGMA integrity_check`. Later issues add their own writes (DAV, JMAP, LMTP) to
//! `WRITERS`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;
use serde_json::Value;

/// One kind of acknowledged write: `write` performs write `i` and returns its key when
/// the server acknowledged it; `keys_present` lists the keys found after the restart.
struct Writer {
    name: &'static str,
    write: fn(&str, usize) -> Option<String>,
    keys_present: fn(&str) -> Vec<String>,
}

fn create_credential(base: &str, kind: &str, user: &str, pw: &str, i: usize) -> Option<String> {
    let name = format!("{kind}-{i}");
    let r = client()
        .post(format!("{base}/api/v1/me/{kind}"))
        .basic_auth(user, Some(pw))
        .json(&serde_json::json!({ "name": name }))
        .send()
        .ok()?;
    (r.status() == StatusCode::CREATED).then_some(name)
}

fn list_credentials(base: &str, kind: &str, user: &str, pw: &str) -> Vec<String> {
    let v: Value = client()
        .get(format!("{base}/api/v1/me/{kind}"))
        .basic_auth(user, Some(pw))
        .send()
        .expect("list after restart")
        .json()
        .expect("json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn dav_put(base: &str, i: usize) -> Option<String> {
    let name = format!("crash-{i}.txt");
    let r = client()
        .put(format!("{base}/dav/files/alice@a.test/{name}"))
        .basic_auth("alice@a.test", Some("alice-pw-1"))
        .body(format!("content {i}"))
        .send()
        .ok()?;
    (r.status() == StatusCode::CREATED).then_some(name)
}

fn dav_listing(base: &str) -> Vec<String> {
    let text = client()
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            format!("{base}/dav/files/alice@a.test/"),
        )
        .basic_auth("alice@a.test", Some("alice-pw-1"))
        .header("Depth", "1")
        .send()
        .expect("PROPFIND after restart")
        .text()
        .expect("body");
    text.split("<D:href>/dav/files/alice@a.test/")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

const WRITERS: &[Writer] = &[
    Writer {
        name: "WebDAV PUTs in a.test",
        write: dav_put,
        keys_present: dav_listing,
    },
    Writer {
        name: "API tokens in a.test",
        write: |base, i| create_credential(base, "tokens", "alice@a.test", "alice-pw-1", i),
        keys_present: |base| list_credentials(base, "tokens", "alice@a.test", "alice-pw-1"),
    },
    Writer {
        name: "app passwords in b.test",
        write: |base, i| create_credential(base, "app-passwords", "bob@b.test", "bob-pw-1", i),
        keys_present: |base| list_credentials(base, "app-passwords", "bob@b.test", "bob-pw-1"),
    },
];

/// Acknowledged writes to wait for before the kill.
const ACKED_BEFORE_KILL: usize = 300;

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_in(&data, &[]);
    server.domus_ok(&["domain", "add", "a.test"]);
    server.domus_ok(&["domain", "add", "b.test"]);
    add_user(&data, "alice@a.test", "alice-pw-1");
    add_user(&data, "bob@b.test", "bob-pw-1");

    let acked: Arc<Vec<Mutex<Vec<String>>>> =
        Arc::new(WRITERS.iter().map(|_| Mutex::new(Vec::new())).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    // Two threads per kind of write, so writes queue on each domain's writer.
    for (w, writer) in WRITERS.iter().enumerate() {
        for t in 0..2 {
            let (acked, stop, base) = (acked.clone(), stop.clone(), server.base.clone());
            threads.push(std::thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(key) = (writer.write)(&base, i) {
                        acked[w].lock().unwrap().push(key);
                    }
                    i += 2;
                }
            }));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.iter().map(|a| a.lock().unwrap().len()).sum::<usize>() < ACKED_BEFORE_KILL {
        assert!(
            Instant::now() < deadline,
            "the server acknowledged too few writes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Writes are still in flight: kill now, then stop the writers.
    let data = server.kill9();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }

    let server = Server::start_in(&data, &[]);
    for (w, writer) in WRITERS.iter().enumerate() {
        let present = (writer.keys_present)(&server.base);
        let acked = acked[w].lock().unwrap();
        assert!(
            !acked.is_empty(),
            "{}: nothing was acknowledged",
            writer.name
        );
        let lost: Vec<&String> = acked.iter().filter(|k| !present.contains(k)).collect();
        assert!(
            lost.is_empty(),
            "{}: acknowledged but lost after SIGKILL: {lost:?}",
            writer.name
        );
    }
    assert!(server.terminate().success());

    // Every file of the data folder passes PRAGMA integrity_check.
    let store = domus::store::Store::open(&data, domus::store::StoreConfig::default()).unwrap();
    assert_eq!(store.system().db().integrity_check().unwrap(), ["ok"]);
    let domains = store.system().read(|r| r.domains()).unwrap();
    assert_eq!(domains.len(), 3, "localhost, a.test, b.test");
    for d in domains {
        let db = store.domain(&d.id).unwrap();
        assert_eq!(db.db().integrity_check().unwrap(), ["ok"], "{}", d.name);
    }
}
