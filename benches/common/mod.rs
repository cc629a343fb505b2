//! Shared by the side-by-side benches (`benches/caldav.rs`, `benches/carddav.rs`,
//! `benches/feed.rs`): the peers (Radicale and Xandikos from PyPI, pinned, each in its own
//! virtualenv), starting Domus and the peers on a fresh storage folder, the one HTTP
//! client and the timed request, what an answer held, and the small helpers (seeded
//! generator, the benches' calendar of events, median).
//!
//! Each bench includes it with `#[path = "common/mod.rs"] mod common;` and uses a part of
//! it, hence the `dead_code` allowance.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate, NaiveDateTime};
use quick_xml::events::Event;
use reqwest::blocking::{Client, RequestBuilder};

/// The peers, pinned.
pub const RADICALE: &str = "3.9.0";
pub const XANDIKOS: &str = "0.4.10";

pub const PASSWORD: &str = "pw-benchmark-1";
/// Give up on a server that does not answer to its first request by then.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
}

/// `DOMUS_BENCH_PEERS=none` measures Domus alone (quick work on one row).
pub fn peers_wanted() -> bool {
    std::env::var("DOMUS_BENCH_PEERS").map_or(true, |v| v != "none")
}

/// `target/` (or `CARGO_TARGET_DIR`): the binary lives in `<target>/release/`.
pub fn target_dir(bin: &Path) -> PathBuf {
    bin.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast, and the same sequence on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

pub const WORDS: &[&str] = &[
    "budget",
    "review",
    "planning",
    "standup",
    "design",
    "roadmap",
    "customer",
    "release",
    "retro",
    "hiring",
    "training",
    "security",
    "audit",
    "migration",
    "backlog",
    "demo",
    "onboarding",
    "support",
    "quarterly",
    "weekly",
    "sync",
    "workshop",
    "lunch",
    "offsite",
];

/// The seed of the benches' calendar ([`generate`]).
pub const EVENT_SEED: u64 = 0x00D0_0005_CA1D_A5E5;

/// One event of the benches' calendar (`benches/caldav.rs` and `benches/feed.rs`).
pub struct Ev {
    /// The resource name inside the calendar, e.g. `ev-000042.ics`.
    pub name: String,
    pub ics: String,
    pub recurring: bool,
}

pub fn uid_name(i: usize) -> String {
    format!("ev-{i:06}")
}

pub fn ical_time(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// `n` events from the fixed seed; event `i` is the same whatever `n` is.
pub fn generate(n: usize) -> Vec<Ev> {
    let mut rng = Rng(EVENT_SEED);
    let year = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date");
    (0..n)
        .map(|i| {
            let day = year + Days::days(rng.below(365) as i64);
            let start = day
                .and_hms_opt(7 + rng.below(13) as u32, 15 * rng.below(4) as u32, 0)
                .expect("a time");
            let minutes = [30, 45, 60, 90, 120][rng.below(5) as usize];
            let end = start + Days::minutes(minutes);
            let summary = format!("{} {} #{i}", rng.pick(WORDS), rng.pick(WORDS));
            let location = format!("Room {}", 100 + rng.below(400));
            let description = (0..28)
                .map(|_| rng.pick(WORDS))
                .collect::<Vec<_>>()
                .join(" ");
            let recurring = i % 10 == 0;
            let rrule = if !recurring {
                String::new()
            } else if i % 20 == 0 {
                format!("RRULE:FREQ=WEEKLY;COUNT={}\r\n", 5 + rng.below(16))
            } else {
                let until = start + Days::weeks(8 + rng.below(19) as i64);
                format!("RRULE:FREQ=WEEKLY;UNTIL={}\r\n", ical_time(until))
            };
            let uid = uid_name(i);
            let ics = format!(
                "BEGIN:VCALENDAR\r\n\
                 VERSION:2.0\r\n\
                 PRODID:-//Domus//caldav bench//EN\r\n\
                 BEGIN:VEVENT\r\n\
                 UID:{uid}@bench.test\r\n\
                 DTSTAMP:20260101T000000Z\r\n\
                 DTSTART:{}\r\n\
                 DTEND:{}\r\n\
                 {rrule}\
                 SUMMARY:{summary}\r\n\
                 LOCATION:{location}\r\n\
                 DESCRIPTION:{description}\r\n\
                 END:VEVENT\r\n\
                 END:VCALENDAR\r\n",
                ical_time(start),
                ical_time(end),
            );
            Ev {
                name: format!("{uid}.ics"),
                ics,
                recurring,
            }
        })
        .collect()
}

/// Event `i` with its summary changed (row 4's one change).
pub fn changed(ev: &Ev, run: usize) -> String {
    let mut out = String::with_capacity(ev.ics.len() + 16);
    for line in ev.ics.split_inclusive("\r\n") {
        if let Some(rest) = line.strip_prefix("SUMMARY:") {
            out.push_str(&format!("SUMMARY:changed {run} {rest}"));
        } else {
            out.push_str(line);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Domus,
    Radicale,
    Xandikos,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Domus, Kind::Radicale, Kind::Xandikos];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Domus => "Domus",
            Kind::Radicale => "Radicale",
            Kind::Xandikos => "Xandikos",
        }
    }
}

/// Which collection a bench works on: the calendar or the address book.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dav {
    CalDav,
    CardDav,
}

/// A child process that is stopped when dropped.
pub struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Server {
    pub kind: Kind,
    pub version: String,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    /// The collection's path (the calendar or the address book), ending in `/`.
    pub collection: String,
    /// Basic auth, if the server wants it.
    pub login: Option<(String, String)>,
    pub client: Client,
    /// The peer's virtualenv (for the bulk load helper).
    pub venv: Option<PathBuf>,
    _proc: Proc,
    pub storage: tempfile::TempDir,
}

impl Server {
    pub fn request(&self, method: &str, path: &str) -> RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let rb = self
            .client
            .request(method, format!("{}{path}", self.origin));
        match &self.login {
            Some((user, pw)) => rb.basic_auth(user, Some(pw)),
            None => rb,
        }
    }

    /// The folder a peer keeps the collection at `path` in (Radicale: one file per item;
    /// Xandikos: a git working tree).
    pub fn folder_of(&self, path: &str) -> PathBuf {
        let rel = path.trim_matches('/');
        match self.kind {
            Kind::Radicale => self
                .storage
                .path()
                .join("collections/collection-root")
                .join(rel),
            Kind::Xandikos => self.storage.path().join("root").join(rel),
            Kind::Domus => unreachable!("Domus keeps SQLite files"),
        }
    }

    /// The last lines of a peer's log, for an error message.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.storage.path().join("log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(3).collect();
        tail.join(" / ")
    }
}

pub fn client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(3600))
        .build()
        .expect("an HTTP client")
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind a port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Starts a server (installing a peer first if needed) with its collection for `dav`
/// ready: Domus's default calendar or address book, Radicale's made by MKCALENDAR or
/// extended MKCOL, Xandikos's made by `--defaults`.
pub fn start(
    kind: Kind,
    dav: Dav,
    bin: &Path,
    target: &Path,
    work: &Path,
) -> Result<Server, String> {
    match kind {
        Kind::Domus => start_domus(bin, work, dav),
        Kind::Radicale => {
            let venv = install_peer(target, "radicale", RADICALE)?;
            start_radicale(&venv, work, dav)
        }
        Kind::Xandikos => {
            let venv = install_peer(target, "xandikos", XANDIKOS)?;
            start_xandikos(&venv, work, dav)
        }
    }
}

fn storage(work: &Path, prefix: &str) -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(work)
        .map_err(|e| format!("make a storage folder: {e}"))
}

pub fn run_ok(cmd: &mut Command, stdin: Option<&str>) -> Result<String, String> {
    use std::io::Write;
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(text.as_bytes())
            .map_err(|e| format!("{cmd:?}: stdin: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
        return Err(format!("{cmd:?} exited with {}: {tail}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn start_domus(bin: &Path, work: &Path, dav: Dav) -> Result<Server, String> {
    let dir = storage(work, "domus-")?;
    let data = dir.path().to_str().ok_or("non-UTF-8 path")?.to_string();
    let domus = || {
        let mut c = Command::new(bin);
        c.env_remove("DOMUS_CONFIG").env_remove("DOMUS_DATA");
        c
    };
    let version = run_ok(domus().arg("--version"), None).unwrap_or_else(|_| "?".into());
    let mut child = domus()
        .args(["serve", "--listen", "127.0.0.1:0", "--data", &data])
        .env("RUST_LOG", "warn")
        .env_remove("DOMUS_PUBLIC_URL")
        .env_remove("DOMUS_TLS_CERT")
        .env_remove("DOMUS_TLS_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("start domus: {e}"))?;
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let proc = Proc(child);
    // On an empty data folder the first start creates it (and prints a generated admin
    // password before the banner); the banner is the line that matters.
    let mut addr = None;
    for _ in 0..50 {
        let mut line = String::new();
        if stdout
            .read_line(&mut line)
            .map_err(|e| format!("read the banner: {e}"))?
            == 0
        {
            break;
        }
        if let Some(a) = line.trim().strip_prefix("domus: listening on http://") {
            addr = Some(a.to_string());
            break;
        }
    }
    let addr = addr.ok_or("domus serve printed no `domus: listening on` line")?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });
    // The admin commands are safe while the server runs; it sees them at once.
    run_ok(
        domus().args(["domain", "add", "bench.test", "--data", &data]),
        None,
    )?;
    run_ok(
        domus().args([
            "user",
            "add",
            "u@bench.test",
            "--password-stdin",
            "--data",
            &data,
        ]),
        Some(&format!("{PASSWORD}\n")),
    )?;
    let collection = match dav {
        Dav::CalDav => "/dav/calendars/u@bench.test/calendar/",
        Dav::CardDav => "/dav/addressbooks/u@bench.test/contacts/",
    };
    let server = Server {
        kind: Kind::Domus,
        version,
        origin: format!("http://{addr}"),
        collection: collection.into(),
        login: Some(("u@bench.test".into(), PASSWORD.into())),
        client: client(),
        venv: None,
        _proc: proc,
        storage: dir,
    };
    wait_ready(&server, &server.collection)?;
    Ok(server)
}

/// A virtualenv under `target/bench-peers/NAME-VERSION/` with `NAME==VERSION` installed.
fn install_peer(target: &Path, name: &str, version: &str) -> Result<PathBuf, String> {
    let venv = target.join("bench-peers").join(format!("{name}-{version}"));
    let marker = venv.join("installed");
    if marker.exists() {
        return Ok(venv);
    }
    let python = std::env::var("DOMUS_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    eprintln!("installing {name}=={version} into {}", venv.display());
    if venv.exists() {
        std::fs::remove_dir_all(&venv).map_err(|e| format!("remove {}: {e}", venv.display()))?;
    }
    run_ok(Command::new(&python).arg("-m").arg("venv").arg(&venv), None)
        .map_err(|e| format!("python venv: {e}"))?;
    run_ok(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("{name}=={version}")),
        None,
    )
    .map_err(|e| format!("pip install {name}=={version}: {e}"))?;
    std::fs::write(&marker, format!("{name}=={version}\n")).map_err(|e| e.to_string())?;
    Ok(venv)
}

fn spawn_peer(cmd: &mut Command, log: &Path) -> Result<Proc, String> {
    let log = std::fs::File::create(log).map_err(|e| format!("create a log: {e}"))?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .map(Proc)
        .map_err(|e| format!("start {cmd:?}: {e}"))
}

const MKCALENDAR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<D:displayname>bench</D:displayname>
<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>"#;

/// Extended MKCOL (RFC 5689) of an address book.
pub const MKCOL_ADDRESSBOOK: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>
<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>
<D:displayname>bench</D:displayname>
</D:prop></D:set></D:mkcol>"#;

/// Makes an address book at `path` by extended MKCOL.
pub fn mkcol_addressbook(server: &Server, path: &str) -> Result<(), String> {
    let r = server
        .request("MKCOL", path)
        .header("Content-Type", "application/xml; charset=utf-8")
        .body(MKCOL_ADDRESSBOOK)
        .send()
        .map_err(|e| format!("MKCOL {path}: {e}"))?;
    if r.status().as_u16() != 201 {
        return Err(format!("MKCOL {path} answered {}", r.status()));
    }
    Ok(())
}

fn start_radicale(venv: &Path, work: &Path, dav: Dav) -> Result<Server, String> {
    let venv_dir = venv.to_path_buf();
    let bin = venv.join("bin").join("radicale");
    let version = run_ok(Command::new(&bin).arg("--version"), None)?;
    let dir = storage(work, "radicale-")?;
    let port = free_port()?;
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[server]\nhosts = 127.0.0.1:{port}\n\n\
             [auth]\ntype = none\n\n\
             [rights]\ntype = owner_only\n\n\
             [storage]\ntype = multifilesystem\nfilesystem_folder = {}\n\n\
             [logging]\nlevel = warning\n",
            dir.path().join("collections").display()
        ),
    )
    .map_err(|e| format!("write the Radicale config: {e}"))?;
    let proc = spawn_peer(
        Command::new(&bin).arg("--config").arg(&config),
        &dir.path().join("log"),
    )?;
    let collection = match dav {
        Dav::CalDav => "/u/calendar/",
        Dav::CardDav => "/u/contacts/",
    };
    let server = Server {
        kind: Kind::Radicale,
        version,
        origin: format!("http://127.0.0.1:{port}"),
        collection: collection.into(),
        login: Some(("u".into(), PASSWORD.into())),
        client: client(),
        venv: Some(venv_dir.clone()),
        _proc: proc,
        storage: dir,
    };
    // Radicale makes the user's principal collection on the first request; the
    // calendar or address book comes after.
    wait_ready(&server, "/").map_err(|e| format!("{e}; log: {}", server.log_tail()))?;
    match dav {
        Dav::CalDav => {
            let r = server
                .request("MKCALENDAR", &server.collection)
                .header("Content-Type", "application/xml")
                .body(MKCALENDAR)
                .send()
                .map_err(|e| format!("MKCALENDAR: {e}"))?;
            if r.status().as_u16() != 201 {
                return Err(format!("MKCALENDAR answered {}", r.status()));
            }
        }
        Dav::CardDav => mkcol_addressbook(&server, &server.collection)?,
    }
    Ok(server)
}

fn start_xandikos(venv: &Path, work: &Path, dav: Dav) -> Result<Server, String> {
    let venv_dir = venv.to_path_buf();
    let bin = venv.join("bin").join("xandikos");
    let version = run_ok(Command::new(&bin).arg("--version"), None)?;
    let dir = storage(work, "xandikos-")?;
    let port = free_port()?;
    let proc = spawn_peer(
        Command::new(&bin)
            .arg("serve")
            .arg("--defaults")
            .arg("-d")
            .arg(dir.path().join("root"))
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(["--no-detect-systemd", "-l", "127.0.0.1", "-p"])
            .arg(port.to_string()),
        &dir.path().join("log"),
    )?;
    let collection = match dav {
        Dav::CalDav => "/user/calendars/calendar/",
        Dav::CardDav => "/user/contacts/addressbook/",
    };
    let server = Server {
        kind: Kind::Xandikos,
        version,
        origin: format!("http://127.0.0.1:{port}"),
        collection: collection.into(),
        login: None,
        client: client(),
        venv: Some(venv_dir.clone()),
        _proc: proc,
        storage: dir,
    };
    wait_ready(&server, &server.collection)
        .map_err(|e| format!("{e}; log: {}", server.log_tail()))?;
    Ok(server)
}

/// Polls `PROPFIND Depth 0` on `path` until the server answers at all.
fn wait_ready(server: &Server, path: &str) -> Result<(), String> {
    let t = Instant::now();
    loop {
        let outcome = server
            .request("PROPFIND", path)
            .header("Depth", "0")
            .timeout(Duration::from_secs(5))
            .send();
        match outcome {
            Ok(r) if r.status().as_u16() < 500 && r.status().as_u16() != 404 => return Ok(()),
            other if t.elapsed() > PATIENCE => {
                return Err(format!(
                    "{} did not answer within {PATIENCE:?}: {other:?}",
                    server.kind.name()
                ));
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Writes `(name, content)` files straight into the folder of the peer's collection at
/// `path`, as that peer stores them; for Xandikos (a git working tree) they are then
/// committed with `benches/peers/xandikos_commit.py` (dulwich, from its virtualenv).
pub fn write_into_storage<'a>(
    server: &Server,
    path: &str,
    files: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<usize, String> {
    let dir = server.folder_of(path);
    if !dir.is_dir() {
        return Err(format!("bulk load: no folder {}", dir.display()));
    }
    let mut n = 0;
    for (name, content) in files {
        std::fs::write(dir.join(name), content)
            .map_err(|e| format!("bulk load: write {name}: {e}"))?;
        n += 1;
    }
    if server.kind == Kind::Xandikos {
        let venv = server.venv.as_ref().ok_or("no virtualenv")?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/xandikos_commit.py");
        run_ok(
            Command::new(venv.join("bin/python")).arg(script).arg(&dir),
            None,
        )
        .map_err(|e| format!("bulk load: {e}"))?;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

pub const PROPFIND_ETAG: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#;

pub const XML: &str = "application/xml; charset=utf-8";

pub fn sync_body(token: &str) -> String {
    let token = if token.is_empty() {
        "<D:sync-token/>".to_string()
    } else {
        format!("<D:sync-token>{}</D:sync-token>", xml_escape(token))
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:">{token}<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#
    )
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What an answer held: `response` elements (0 when the answer is not XML), the
/// `sync-token` if any, the VEVENTs and VCARDs in it, its size.
#[derive(Default, Debug, Clone)]
pub struct Seen {
    pub responses: usize,
    pub token: Option<String>,
    pub vevents: usize,
    pub vcards: usize,
    pub bytes: usize,
}

pub fn inspect_xml(body: &[u8]) -> Seen {
    let mut seen = Seen {
        bytes: body.len(),
        ..Seen::default()
    };
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut in_token = false;
    let mut token = String::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"response" => seen.responses += 1,
                b"sync-token" => in_token = true,
                _ => {}
            },
            Ok(Event::End(e)) if e.local_name().as_ref() == b"sync-token" => {
                in_token = false;
                seen.token = Some(token.trim().to_string());
            }
            Ok(Event::Text(t)) if in_token => token.push_str(&String::from_utf8_lossy(&t)),
            Ok(Event::GeneralRef(r)) if in_token => {
                token.push_str(match r.as_ref() {
                    b"amp" => "&",
                    b"lt" => "<",
                    b"gt" => ">",
                    b"quot" => "\"",
                    b"apos" => "'",
                    _ => "",
                });
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    seen.vevents = count(body, b"BEGIN:VEVENT");
    seen.vcards = count(body, b"BEGIN:VCARD");
    seen
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Sends a request, reads the whole answer, checks the status; returns the time taken
/// (from sending to the last byte) and what the answer held.
pub fn timed(rb: RequestBuilder, expect: &[u16]) -> Result<(Duration, Seen), String> {
    timed_body(rb, expect).map(|(d, seen, _)| (d, seen))
}

/// [`timed`], also returning the answer's body.
pub fn timed_body(rb: RequestBuilder, expect: &[u16]) -> Result<(Duration, Seen, Vec<u8>), String> {
    let t = Instant::now();
    let r = rb.send().map_err(|e| format!("request failed: {e}"))?;
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut body = Vec::new();
    let mut r = r;
    r.read_to_end(&mut body)
        .map_err(|e| format!("read the answer: {e}"))?;
    let elapsed = t.elapsed();
    if !expect.contains(&status) {
        let head: String = String::from_utf8_lossy(&body).chars().take(160).collect();
        return Err(format!("answered {status} ({ctype}): {head}"));
    }
    let mut seen = inspect_xml(&body);
    if !ctype.contains("xml") {
        seen.responses = 0;
    }
    Ok((elapsed, seen, body))
}

/// One warm-up, then `runs` timed repetitions; the samples in ms and the last answer.
pub fn repeat(
    runs: usize,
    mut once: impl FnMut(usize) -> Result<(Duration, Seen), String>,
) -> Result<(Vec<f64>, Seen), String> {
    once(0)?;
    let mut samples = Vec::with_capacity(runs);
    let mut last = Seen::default();
    for run in 1..=runs {
        let (d, seen) = once(run)?;
        samples.push(ms(d));
        last = seen;
    }
    Ok((samples, last))
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn fmt_ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 1.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}
