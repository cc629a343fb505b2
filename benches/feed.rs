//! Share feeds side by side: the feed of one calendar of 10,000 events served by a Domus
//! share link (`GET /share/<token>.ics`), against Radicale's (and Xandikos's) GET of the
//! same calendar collection.
//!
//! Run with `cargo bench --bench feed` (release build). Under `cargo test --all-targets`
//! (no `--bench` argument) it does nothing.
//!
//! # Data
//!
//! The calendar of `benches/caldav.rs` (`common::generate`: same seed, same events,
//! `DOMUS_BENCH_EVENTS`, default 10,000), with `CLASS:PRIVATE` added to every fifth event
//! (index 3, 8, 13, ...), so the public link has busy blocks to make. No event is
//! cancelled or declined: every feed holds every event.
//!
//! # Servers
//!
//! Started as in the other side-by-side benches (`benches/common/mod.rs`), one after the
//! other, each stopped before the next starts. Domus gets every event by PUT, then a
//! private and a public share link through the HTTP API
//! (`POST /api/v1/calendars/calendar/share-links`; the token is in that answer only).
//! The peers get the events written straight into their storage (as the caldav bench
//! does for events past the timed PUTs); their "feed" is a GET of the calendar
//! collection with Basic auth (Radicale) or none (Xandikos). Xandikos answers such a GET
//! with an HTML page and no iCalendar: its column is then n/a with what it answered.
//!
//! # Client and rows
//!
//! A small HTTP/1.1 client over `TcpStream` (no reqwest in the timed path: on 2 cores the
//! client's own work competes with the server's), keep-alive where the server keeps the
//! connection, `identity` encoding unless a row asks for gzip. Rows 1-6 are timed from
//! sending the request to the last byte of the answer, once untimed (warm-up) and then
//! `DOMUS_BENCH_RUNS` (default 5) times, median reported. Rows 7-10 are batches of
//! `DOMUS_BENCH_POLLS` (default 1,000) requests, each batch timed whole, median of the runs.
//!
//! 1. full feed, private link, rendered: one event is changed by PUT (untimed) before each
//!    GET, so every GET finds a new version of the feed and Domus has to render it (its
//!    feed cache, `sharing::cache`, cannot answer);
//! 2. the same for the public link (private events become busy blocks); Domus only;
//! 3. the same with `Accept-Encoding: gzip` (rendered and compressed; bytes on the wire);
//! 4. full feed, private link, nothing changed since the last GET: what every subscriber
//!    after the first gets (Domus from its feed cache; a peer renders again);
//! 5. the same with gzip;
//! 6. conditional GET with `If-None-Match` of the current ETag: one request, client wall
//!    time (Domus answers 304 without rendering);
//! 7. the same conditional GET, `POLLS` of them one after the other on one keep-alive
//!    connection: wall time / `POLLS`;
//! 8. the same conditional GET, `POLLS` of them pipelined on one connection (all written
//!    at once by one thread, the answers read by another): wall time / `POLLS`. No
//!    round trip waits between requests, so this is the server's time per 304 (parsing,
//!    routing, token lookup, the calendar's change counter, writing the answer);
//! 9. `POLLS` subscribers polling: `POLLS` conditional GETs with the current ETag, spread
//!    over `DOMUS_BENCH_CONNECTIONS` (default 8; see [`DEFAULT_CONNECTIONS`]) threads with
//!    one keep-alive connection each, started together; total wall time (and requests per
//!    second). A server that closes every connection is polled over at most
//!    [`BACKLOG_SAFE`] connections (see row 9 in the code);
//! 10. the same `POLLS` polls right after one event changed (the PUT is not timed): every
//!     subscriber still holds the ETag from before the change, so every poll is a full
//!     200. This is what one change costs when all subscribers poll within one refresh
//!     period: Domus renders the new version once and serves it from its feed cache.
//!
//! A peer that answers 200 to conditional GETs (Radicale has no `If-None-Match` on GET)
//! makes rows 7, 9 and 10 as costly as `POLLS` full GETs (about 20 minutes each for
//! Radicale at 10,000 events): there they are measured once, over
//! `DOMUS_BENCH_PEER_POLLS` (default 50) requests, and rows 9-10 are scaled linearly to
//! `POLLS` and marked `~`. `DOMUS_BENCH_PEERS=none` measures Domus alone.

#[path = "common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::{
    Dav, Ev, Kind, Seen, Server, changed, env_usize, fmt_ms, generate, median, ms, peers_wanted,
    repeat, start, target_dir, timed, write_into_storage,
};

const DEFAULT_EVENTS: usize = 10_000;
const DEFAULT_RUNS: usize = 5;
const DEFAULT_POLLS: usize = 1_000;
/// Radicale's built-in server serves at most 8 connections at once (`max_connections`)
/// and keeps 5 more in its listen backlog: more concurrent connects wait for TCP's SYN
/// retransmission (1 s), which would measure TCP rather than the server.
const DEFAULT_CONNECTIONS: usize = 8;
const DEFAULT_PEER_POLLS: usize = 50;
/// Concurrent connections for a server that closes each one: fewer than Radicale's listen
/// backlog (5).
const BACKLOG_SAFE: usize = 4;
/// Every fifth event (index 3, 8, 13, ...) is `CLASS:PRIVATE`.
const PRIVATE_EVERY: usize = 5;

const ROWS: usize = 10;
/// Rows from here on are poll batches (shown with a rate).
const FIRST_POLL_ROW: usize = 8;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("feed benchmark: skipped (run it with `cargo bench --bench feed`)");
        return;
    }
    let settings = Settings {
        runs: env_usize("DOMUS_BENCH_RUNS").unwrap_or(DEFAULT_RUNS),
        events: env_usize("DOMUS_BENCH_EVENTS").unwrap_or(DEFAULT_EVENTS),
        polls: env_usize("DOMUS_BENCH_POLLS").unwrap_or(DEFAULT_POLLS),
        connections: env_usize("DOMUS_BENCH_CONNECTIONS").unwrap_or(DEFAULT_CONNECTIONS),
        peer_polls: env_usize("DOMUS_BENCH_PEER_POLLS").unwrap_or(DEFAULT_PEER_POLLS),
    };
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_domus"));
    let target = target_dir(&bin);
    let work = target.join("bench-data").join("feed");
    std::fs::create_dir_all(&work).expect("create target/bench-data/feed");

    let data = calendar(settings.events);
    eprintln!(
        "generated {} events ({} private, {:.1} MB of iCalendar)",
        data.len(),
        data.iter()
            .filter(|e| e.ics.contains("CLASS:PRIVATE"))
            .count(),
        data.iter().map(|e| e.ics.len()).sum::<usize>() as f64 / 1e6
    );

    let peers = peers_wanted();
    let mut columns = Vec::new();
    for kind in Kind::ALL.into_iter().filter(|k| peers || *k == Kind::Domus) {
        eprintln!("== {}", kind.name());
        let column = match start(kind, Dav::CalDav, &bin, &target, &work) {
            Ok(server) => measure(server, &data, &settings),
            Err(reason) => {
                eprintln!("{}: n/a: {reason}", kind.name());
                Column::unavailable(kind, "n/a".into(), reason)
            }
        };
        columns.push(column);
    }
    report(&columns, &settings);
}

struct Settings {
    runs: usize,
    events: usize,
    polls: usize,
    connections: usize,
    peer_polls: usize,
}

/// The caldav bench's calendar with every fifth event private.
fn calendar(n: usize) -> Vec<Ev> {
    let mut data = generate(n);
    for (i, ev) in data.iter_mut().enumerate() {
        if i % PRIVATE_EVERY == 3 {
            ev.ics = ev.ics.replacen("DTSTAMP:", "CLASS:PRIVATE\r\nDTSTAMP:", 1);
        }
    }
    data
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    memchr::memmem::find_iter(hay, needle).count()
}

// ---------------------------------------------------------------------------------------
// A small HTTP/1.1 client
// ---------------------------------------------------------------------------------------

/// One feed as a client reaches it: where, and the request head to send.
#[derive(Clone)]
struct Target {
    /// `127.0.0.1:PORT`
    addr: String,
    path: String,
    /// `Authorization` header value, if the server wants one.
    auth: Option<String>,
}

impl Target {
    /// A GET of the feed with extra header lines (`Name: value`).
    fn get(&self, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut head = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: domus-feed-bench\r\n",
            self.path, self.addr
        );
        if let Some(a) = &self.auth {
            head.push_str(&format!("Authorization: {a}\r\n"));
        }
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// What one answer held.
#[derive(Default, Clone, Debug)]
struct Answer {
    status: u16,
    etag: Option<String>,
    encoding: Option<String>,
    /// Body length as sent (compressed if it was).
    len: usize,
    /// The body, when it was kept.
    body: Vec<u8>,
    /// Whether the server kept the connection open after it.
    kept_alive: bool,
}

impl Answer {
    /// The body as iCalendar text (gunzipped if it came compressed).
    fn text(&self) -> Vec<u8> {
        if self.encoding.as_deref() == Some("gzip") {
            let mut out = Vec::new();
            let _ = flate2::read::GzDecoder::new(&self.body[..]).read_to_end(&mut out);
            out
        } else {
            self.body.clone()
        }
    }

    fn seen(&self) -> Seen {
        let text = self.text();
        Seen {
            bytes: self.len,
            vevents: count(&text, b"BEGIN:VEVENT"),
            ..Seen::default()
        }
    }
}

fn read_answer(r: &mut BufReader<TcpStream>, keep_body: bool) -> Result<Answer, String> {
    let mut line = String::new();
    if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
        return Err("connection closed before an answer".into());
    }
    let http10 = line.starts_with("HTTP/1.0");
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let mut a = Answer {
        status,
        ..Answer::default()
    };
    let (mut length, mut chunked, mut connection) = (None, false, String::new());
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("connection closed inside the header".into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "connection" => connection = value.to_ascii_lowercase(),
            "etag" => a.etag = Some(value.to_string()),
            "content-encoding" => a.encoding = Some(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    a.kept_alive = if http10 {
        connection == "keep-alive"
    } else {
        connection != "close"
    };
    let mut scratch = [0u8; 64 * 1024];
    let mut take = |r: &mut BufReader<TcpStream>, n: usize, a: &mut Answer| -> Result<(), String> {
        let mut left = n;
        while left > 0 {
            let k = left.min(scratch.len());
            r.read_exact(&mut scratch[..k])
                .map_err(|e| format!("read the body: {e}"))?;
            if keep_body {
                a.body.extend_from_slice(&scratch[..k]);
            }
            left -= k;
        }
        a.len += n;
        Ok(())
    };
    if status == 304 || status == 204 || status < 200 {
        // No body.
    } else if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).map_err(|e| e.to_string())?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("bad chunk size {line:?}"))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    line.clear();
                    if r.read_line(&mut line).map_err(|e| e.to_string())? == 0
                        || line.trim_end().is_empty()
                    {
                        break;
                    }
                }
                break;
            }
            take(r, size, &mut a)?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).map_err(|e| e.to_string())?;
        }
    } else if let Some(n) = length {
        take(r, n, &mut a)?;
    } else {
        // Delimited by the end of the connection.
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).map_err(|e| e.to_string())?;
        a.len = rest.len();
        if keep_body {
            a.body = rest;
        }
        a.kept_alive = false;
    }
    Ok(a)
}

/// One client connection, reopened when the server closes it (Radicale's built-in
/// server answers HTTP/1.0 and closes after every answer).
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
    /// Connections opened so far.
    opened: usize,
    /// The longest wait for a `connect` (a full listen backlog shows here).
    slowest_connect: Duration,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_string(),
            stream: None,
            opened: 0,
            slowest_connect: Duration::ZERO,
        }
    }

    fn send(&mut self, request: &[u8], keep_body: bool) -> Result<Answer, String> {
        for _ in 0..2 {
            let reused = self.stream.is_some();
            if self.stream.is_none() {
                let t = Instant::now();
                let s = TcpStream::connect(&self.addr)
                    .map_err(|e| format!("connect {}: {e}", self.addr))?;
                self.slowest_connect = self.slowest_connect.max(t.elapsed());
                s.set_nodelay(true).map_err(|e| e.to_string())?;
                self.stream = Some(BufReader::with_capacity(64 * 1024, s));
                self.opened += 1;
            }
            let s = self.stream.as_mut().expect("a stream");
            let outcome = s
                .get_mut()
                .write_all(request)
                .map_err(|e| format!("send: {e}"))
                .and_then(|_| read_answer(s, keep_body));
            match outcome {
                Ok(a) => {
                    if !a.kept_alive {
                        self.stream = None;
                    }
                    return Ok(a);
                }
                // A kept-alive connection the server closed meanwhile: once more, fresh.
                Err(_) if reused => self.stream = None,
                Err(e) => {
                    self.stream = None;
                    return Err(e);
                }
            }
        }
        Err("the server closed the connection twice".into())
    }

    /// Sends and times one request (to the last byte of the answer).
    fn timed(&mut self, request: &[u8]) -> Result<(Duration, Answer), String> {
        let t = Instant::now();
        let a = self.send(request, true)?;
        Ok((t.elapsed(), a))
    }
}

/// `n` copies of `request` pipelined on one connection: one thread writes them all, this
/// one reads the answers. Returns the wall time and the statuses seen.
fn pipelined(addr: &str, request: &[u8], n: usize) -> Result<(Duration, Vec<u16>), String> {
    let stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let all: Vec<u8> = request.repeat(n);
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let t = Instant::now();
    let sender = std::thread::spawn(move || writer.write_all(&all));
    let mut statuses = Vec::with_capacity(n);
    for _ in 0..n {
        let a = read_answer(&mut reader, false)?;
        statuses.push(a.status);
        if !a.kept_alive {
            return Err(format!(
                "the server closed the connection after {} pipelined answers",
                statuses.len()
            ));
        }
    }
    let elapsed = t.elapsed();
    sender
        .join()
        .map_err(|_| "the writer panicked".to_string())?
        .map_err(|e| format!("write the pipelined requests: {e}"))?;
    Ok((elapsed, statuses))
}

/// `n` requests spread over `connections` threads (one connection each), started
/// together; the wall time from the start to the last answer, every answer's status
/// and body length, and the longest wait for a `connect`.
/// Wall time, (status, body length) of every answer, the longest `connect`.
type Polled = (Duration, Vec<(u16, usize)>, Duration);

fn polls(addr: &str, request: &[u8], n: usize, connections: usize) -> Result<Polled, String> {
    let connections = connections.clamp(1, n.max(1));
    let barrier = Barrier::new(connections + 1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|c| {
                let share = n / connections + usize::from(c < n % connections);
                let barrier = &barrier;
                scope.spawn(move || -> Result<(Vec<(u16, usize)>, Duration), String> {
                    let mut conn = Conn::new(addr);
                    let mut seen = Vec::with_capacity(share);
                    barrier.wait();
                    for _ in 0..share {
                        let a = conn.send(request, false)?;
                        seen.push((a.status, a.len));
                    }
                    Ok((seen, conn.slowest_connect))
                })
            })
            .collect();
        barrier.wait();
        let t = Instant::now();
        let mut all = Vec::with_capacity(n);
        let mut error = None;
        let mut slowest = Duration::ZERO;
        for w in workers {
            match w.join() {
                Ok(Ok((seen, connect))) => {
                    all.extend(seen);
                    slowest = slowest.max(connect);
                }
                Ok(Err(e)) => error = Some(e),
                Err(_) => error = Some("a polling thread panicked".into()),
            }
        }
        let elapsed = t.elapsed();
        match error {
            Some(e) => Err(e),
            None => Ok((elapsed, all, slowest)),
        }
    })
}

/// "1000 × 304" or "950 × 304, 50 × 200" (and the body size of the 200s).
fn statuses(seen: &[(u16, usize)]) -> String {
    let mut by: std::collections::BTreeMap<u16, (usize, usize)> = Default::default();
    for &(s, len) in seen {
        let e = by.entry(s).or_default();
        e.0 += 1;
        e.1 = e.1.max(len);
    }
    by.iter()
        .map(|(s, (k, len))| {
            if *len > 0 {
                format!("{k} × {s} ({:.2} MB each)", *len as f64 / 1e6)
            } else {
                format!("{k} × {s}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A slow `connect` is named: it is time spent waiting in TCP (a full listen backlog
/// makes the client retransmit its SYN after 1 s), not in the server's work.
fn with_connect(answered: String, slowest_connect: Duration) -> String {
    if slowest_connect >= Duration::from_millis(100) {
        format!(
            "{answered}; slowest connect {}",
            fmt_ms(ms(slowest_connect))
        )
    } else {
        answered
    }
}

fn basic(user: &str, password: &str) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Loading and links
// ---------------------------------------------------------------------------------------

fn put(server: &Server, name: &str, ics: &str) -> Result<(), String> {
    let rb = server
        .request("PUT", &format!("{}{name}", server.collection))
        .header("Content-Type", "text/calendar; charset=utf-8")
        .body(ics.to_string());
    timed(rb, &[200, 201, 204])
        .map(|_| ())
        .map_err(|e| format!("PUT {name}: {e}"))
}

/// Domus by PUT (one after the other), the peers straight into their storage.
fn load(server: &Server, data: &[Ev]) -> Result<(), String> {
    let t = Instant::now();
    if server.kind == Kind::Domus {
        for ev in data {
            put(server, &ev.name, &ev.ics)?;
        }
        eprintln!(
            "  PUT {} events in {:.1} s ({:.0}/s)",
            data.len(),
            t.elapsed().as_secs_f64(),
            data.len() as f64 / t.elapsed().as_secs_f64()
        );
    } else {
        write_into_storage(
            server,
            &server.collection,
            data.iter().map(|ev| (ev.name.as_str(), ev.ics.as_str())),
        )?;
        eprintln!(
            "  wrote {} events into the storage in {:.1} s",
            data.len(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// A share link of Domus's default calendar, made through the HTTP API; its path.
fn create_link(server: &Server, kind: &str) -> Result<String, String> {
    let r = server
        .request("POST", "/api/v1/calendars/calendar/share-links")
        .header("Content-Type", "application/json")
        .body(format!(r#"{{"kind": "{kind}"}}"#))
        .send()
        .map_err(|e| format!("create a {kind} link: {e}"))?;
    let status = r.status().as_u16();
    let text = r.text().map_err(|e| e.to_string())?;
    if status != 201 {
        return Err(format!("creating a {kind} link answered {status}: {text}"));
    }
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let url = v["url"].as_str().ok_or("no url in the link")?;
    let at = url.find("/share/").ok_or("no /share/ in the link's url")?;
    Ok(url[at..].to_string())
}

// ---------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
struct Cell {
    /// ms: per request (rows 1-8) or the whole batch (rows 9-10).
    value: Result<f64, String>,
    /// Scaled from fewer requests (`~`).
    estimated: bool,
    /// What the server answered.
    answered: String,
}

impl Cell {
    fn na(reason: impl Into<String>) -> Cell {
        Cell {
            value: Err(reason.into()),
            estimated: false,
            answered: "n/a".into(),
        }
    }
}

struct Column {
    kind: Kind,
    version: String,
    cells: Vec<Cell>,
}

impl Column {
    fn unavailable(kind: Kind, version: String, reason: String) -> Column {
        Column {
            kind,
            version,
            cells: vec![Cell::na(reason); ROWS],
        }
    }
}

fn measure(server: Server, data: &[Ev], s: &Settings) -> Column {
    let kind = server.kind;
    let version = server.version.clone();
    let outcome = load(&server, data).and_then(|_| measure_loaded(&server, data, s));
    let cells = match outcome {
        Ok(cells) => cells,
        Err(e) => {
            eprintln!("  {}: n/a: {e}", kind.name());
            vec![Cell::na(e); ROWS]
        }
    };
    for (r, c) in cells.iter().enumerate() {
        match &c.value {
            Ok(v) => eprintln!("  {} row {}: {v:.3} ms; {}", kind.name(), r + 1, c.answered),
            Err(e) => eprintln!("  {} row {}: n/a: {e}", kind.name(), r + 1),
        }
    }
    Column {
        kind,
        version,
        cells,
    }
}

fn measure_loaded(server: &Server, data: &[Ev], s: &Settings) -> Result<Vec<Cell>, String> {
    let name = server.kind.name();
    let n = data.len();
    let addr = server
        .origin
        .strip_prefix("http://")
        .ok_or("origin without http://")?
        .to_string();
    let (private, public) = if server.kind == Kind::Domus {
        let private = Target {
            addr: addr.clone(),
            path: create_link(server, "private")?,
            auth: None,
        };
        let public = Target {
            addr: addr.clone(),
            path: create_link(server, "public")?,
            auth: None,
        };
        (private, Some(public))
    } else {
        let auth = server.login.as_ref().map(|(u, p)| basic(u, p));
        let t = Target {
            addr: addr.clone(),
            path: server.collection.clone(),
            auth,
        };
        (t, None)
    };
    let mut conn = Conn::new(&addr);
    let mut cells = Vec::new();

    // Rows 1-3 time the rendering: one event changes (untimed) before each GET, so the
    // feed has a new version every time and Domus's feed cache cannot answer it.
    let mut version = 0;
    let mut change = || -> Result<(), String> {
        version += 1;
        let ev = &data[(version * 104_729) % n];
        put(server, &ev.name, &changed(ev, 10_000 + version))
    };

    // 1. The full feed.
    eprintln!("  {name}: full feed");
    let full = private.get(&[]);
    let mut last = Answer::default();
    let (samples, seen) = repeat(s.runs, |_| {
        change()?;
        let (d, a) = conn.timed(&full)?;
        if a.status != 200 {
            return Err(format!("GET answered {}", a.status));
        }
        let seen = a.seen();
        last = a;
        Ok((d, seen))
    })?;
    if seen.vevents != n {
        let head: String = String::from_utf8_lossy(&last.body)
            .chars()
            .take(80)
            .collect();
        return Err(format!(
            "GET of the collection answered {} bytes with {} VEVENTs, not {n} ({head:?})",
            seen.bytes, seen.vevents
        ));
    }
    let text = last.text();
    cells.push(Cell {
        value: Ok(median(samples)),
        estimated: false,
        answered: format!(
            "200, {} VEVENTs ({} with SUMMARY), {:.2} MB, ETag {}",
            seen.vevents,
            count(&text, b"\r\nSUMMARY:"),
            seen.bytes as f64 / 1e6,
            if last.etag.is_some() { "yes" } else { "none" }
        ),
    });
    let keeps_alive = last.kept_alive;

    // 2. The public feed (Domus only).
    cells.push(match &public {
        Some(public) => {
            eprintln!("  {name}: public feed");
            let req = public.get(&[]);
            let mut text = Vec::new();
            let (samples, seen) = repeat(s.runs, |_| {
                change()?;
                let (d, a) = conn.timed(&req)?;
                if a.status != 200 {
                    return Err(format!("GET answered {}", a.status));
                }
                text = a.text();
                Ok((d, a.seen()))
            })?;
            // Every generated event has a description and a location; busy blocks have
            // neither, and `SUMMARY:Busy`.
            let private_events = (0..n).filter(|i| i % PRIVATE_EVERY == 3).count();
            let busy = count(&text, b"\r\nSUMMARY:Busy\r\n");
            let described = count(&text, b"\r\nDESCRIPTION:");
            let located = count(&text, b"\r\nLOCATION:");
            let open = n - private_events;
            if seen.vevents != n || busy != private_events || described != open || located != open
            {
                return Err(format!(
                    "the public feed holds {} VEVENTs, {busy} busy blocks, {described} \
                     descriptions and {located} locations, not {n}, {private_events}, {open} \
                     and {open}",
                    seen.vevents
                ));
            }
            Cell {
                value: Ok(median(samples)),
                estimated: false,
                answered: format!(
                    "200, {} VEVENTs ({busy} busy blocks without description or location), {:.2} MB",
                    seen.vevents,
                    seen.bytes as f64 / 1e6
                ),
            }
        }
        None => Cell::na("no public (busy-block) view of a calendar"),
    });

    // 3. The full feed, gzip.
    eprintln!("  {name}: full feed, gzip");
    let gz = private.get(&[("Accept-Encoding", "gzip")]);
    let mut encoding = None;
    let (samples, seen) = repeat(s.runs, |_| {
        change()?;
        let (d, a) = conn.timed(&gz)?;
        if a.status != 200 {
            return Err(format!("GET answered {}", a.status));
        }
        encoding = a.encoding.clone();
        Ok((d, a.seen()))
    })?;
    cells.push(Cell {
        value: Ok(median(samples)),
        estimated: false,
        answered: format!(
            "200, {} VEVENTs, {:.2} MB on the wire ({})",
            seen.vevents,
            seen.bytes as f64 / 1e6,
            encoding.as_deref().unwrap_or("not compressed")
        ),
    });

    // 4-5. The same GETs with nothing changed in between: what every subscriber after the
    // first one gets (Domus answers from its feed cache; a server without one renders).
    for (label, req) in [("full feed, unchanged", &full), ("gzip, unchanged", &gz)] {
        eprintln!("  {name}: {label}");
        let mut expected = None;
        let (samples, seen) = repeat(s.runs, |_| {
            let (d, a) = conn.timed(req)?;
            if a.status != 200 {
                return Err(format!("GET answered {}", a.status));
            }
            // Nothing changed: every answer is the same version.
            if *expected.get_or_insert_with(|| a.etag.clone()) != a.etag {
                return Err("the ETag moved without a change".into());
            }
            Ok((d, a.seen()))
        })?;
        cells.push(Cell {
            value: Ok(median(samples)),
            estimated: false,
            answered: format!(
                "200, {} VEVENTs, {:.2} MB on the wire",
                seen.vevents,
                seen.bytes as f64 / 1e6
            ),
        });
    }

    // 6. One conditional GET, with the current version's ETag.
    let (_, current) = conn.timed(&full)?;
    let Some(etag) = current.etag.clone() else {
        let reason = "no ETag on the full GET, nothing to send in If-None-Match".to_string();
        cells.extend(std::iter::repeat_n(Cell::na(reason), ROWS - cells.len()));
        return Ok(cells);
    };
    eprintln!("  {name}: conditional GET");
    let conditional = private.get(&[("If-None-Match", &etag)]);
    let mut status = 0;
    let (samples, seen) = repeat(s.runs, |_| {
        let (d, a) = conn.timed(&conditional)?;
        status = a.status;
        Ok((d, a.seen()))
    })?;
    let answers_304 = status == 304;
    cells.push(Cell {
        value: Ok(median(samples)),
        estimated: false,
        answered: if answers_304 {
            "304, no body".into()
        } else {
            format!(
                "{status} (no 304), {} VEVENTs, {:.2} MB",
                seen.vevents,
                seen.bytes as f64 / 1e6
            )
        },
    });
    // A peer without 304 pays a full GET per poll: fewer polls, one run.
    let (count_polls, runs) = if answers_304 {
        (s.polls, s.runs)
    } else {
        (s.polls.min(s.peer_polls), 1)
    };
    let scaled = count_polls < s.polls;
    let batch = |f: &mut dyn FnMut() -> Result<(Duration, String), String>| {
        let mut samples = Vec::new();
        let mut answered = String::new();
        if runs > 1 {
            f()?;
        }
        for _ in 0..runs {
            let (d, a) = f()?;
            samples.push(ms(d));
            answered = a;
        }
        Ok::<_, String>((median(samples), answered))
    };

    // 7. Conditional GETs one after the other on one connection.
    eprintln!("  {name}: {count_polls} sequential conditional GETs");
    let opened = conn.opened;
    let (v, answered) = batch(&mut || {
        let mut seen = Vec::with_capacity(count_polls);
        let t = Instant::now();
        for _ in 0..count_polls {
            let a = conn.send(&conditional, false)?;
            seen.push((a.status, a.len));
        }
        Ok((t.elapsed(), statuses(&seen)))
    })?;
    let reconnects = conn.opened - opened;
    cells.push(Cell {
        value: Ok(v / count_polls as f64),
        estimated: false,
        answered: format!(
            "{answered}; {}",
            if reconnects > 0 {
                format!("{reconnects} connections (closed after each answer)")
            } else {
                "one connection".into()
            }
        ),
    });

    // 8. Pipelined: the server's time per 304.
    cells.push(if !answers_304 {
        Cell::na("no 304 to measure")
    } else if !keeps_alive {
        Cell::na("closes the connection after each answer: no pipelining")
    } else {
        eprintln!("  {name}: {count_polls} pipelined conditional GETs");
        let (v, answered) = batch(&mut || {
            let (d, st) = pipelined(&addr, &conditional, count_polls)?;
            let seen: Vec<(u16, usize)> = st.into_iter().map(|s| (s, 0)).collect();
            Ok((d, statuses(&seen)))
        })?;
        Cell {
            value: Ok(v / count_polls as f64),
            estimated: false,
            answered,
        }
    });

    // 9. Subscribers polling, with the current ETag. A server that closes every
    // connection gets a new connect per poll: more concurrent connects than its listen
    // backlog holds (Radicale: 5) wait for TCP's SYN retransmission (1 s, 3 s, ...), which
    // would time TCP rather than the server, so such a server is polled over at most
    // `BACKLOG_SAFE` connections (its GIL serialises the work anyway).
    let connections = if keeps_alive {
        s.connections
    } else {
        s.connections.min(BACKLOG_SAFE)
    };
    eprintln!("  {name}: {count_polls} polls over {connections} connections");
    let with_connections = |answered: String| {
        if connections == s.connections {
            answered
        } else {
            format!("{answered}; over {connections} connections (closes each one)")
        }
    };
    let (v, answered) = batch(&mut || {
        let (d, seen, connect) = polls(&addr, &conditional, count_polls, connections)?;
        if answers_304 && seen.iter().any(|(st, _)| *st != 304) {
            return Err(format!("polls answered {}", statuses(&seen)));
        }
        Ok((d, with_connect(statuses(&seen), connect)))
    })?;
    cells.push(Cell {
        value: Ok(v * s.polls as f64 / count_polls as f64),
        estimated: scaled,
        answered: with_connections(if scaled {
            format!("{answered} (measured over {count_polls} polls)")
        } else {
            answered
        }),
    });

    // 10. The same polls right after one change: every subscriber's ETag is stale.
    eprintln!("  {name}: {count_polls} polls right after one change");
    let mut run = 0;
    let (v, answered) = batch(&mut || {
        run += 1;
        let (_, before) = conn.timed(&full)?;
        let old = before.etag.clone().ok_or("no ETag")?;
        let ev = &data[(run * 7919) % n];
        put(server, &ev.name, &changed(ev, run))?;
        let (_, after) = conn.timed(&full)?;
        if after.etag.as_deref() == Some(old.as_str()) {
            return Err("the ETag did not change with the calendar".into());
        }
        let stale = private.get(&[("If-None-Match", &old)]);
        let (d, seen, connect) = polls(&addr, &stale, count_polls, connections)?;
        if seen.iter().any(|&(st, len)| st != 200 || len != after.len) {
            return Err(format!(
                "polls after the change answered {} (expected 200 with {} bytes)",
                statuses(&seen),
                after.len
            ));
        }
        Ok((d, with_connect(statuses(&seen), connect)))
    })?;
    cells.push(Cell {
        value: Ok(v * s.polls as f64 / count_polls as f64),
        estimated: scaled,
        answered: with_connections(if scaled {
            format!("{answered} (measured over {count_polls} polls)")
        } else {
            answered
        }),
    });
    Ok(cells)
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

fn row_label(r: usize, s: &Settings) -> String {
    let p = s.polls;
    match r {
        0 => "full feed, private link, rendered (one event changed before each GET)".into(),
        1 => "full feed, public link (private events as busy blocks), rendered".into(),
        2 => "full feed, `Accept-Encoding: gzip`, rendered and compressed".into(),
        3 => "full feed, private link, unchanged since the last GET".into(),
        4 => "full feed, gzip, unchanged since the last GET".into(),
        5 => "conditional GET, `If-None-Match` current: one request (client wall)".into(),
        6 => format!("conditional GET, {p} in a row on one connection (per request)"),
        7 => format!("conditional GET, {p} pipelined on one connection (server time per request)"),
        8 => format!(
            "{p} subscribers polling, `If-None-Match`, {} connections (total)",
            s.connections
        ),
        _ => format!("{p} polls right after one change, stale ETag: each a full 200 (total)"),
    }
}

fn show(c: &Cell, r: usize, polls: usize) -> String {
    match &c.value {
        Ok(v) => {
            let tilde = if c.estimated { "~" } else { "" };
            if r >= FIRST_POLL_ROW {
                format!(
                    "{tilde}{} ({tilde}{:.0}/s)",
                    fmt_ms(*v),
                    polls as f64 / (v / 1000.0)
                )
            } else {
                format!("{tilde}{}", fmt_ms(*v))
            }
        }
        Err(_) => "n/a".into(),
    }
}

fn report(columns: &[Column], s: &Settings) {
    let domus = &columns[0];
    let peers = &columns[1..];
    println!();
    println!(
        "Share feed of one calendar of {} events (every fifth private), median of {} runs; \
         ratio = faster peer / Domus (higher is better for Domus); ~ = scaled from {} polls",
        s.events, s.runs, s.peer_polls
    );
    println!();
    let mut head = String::from("| row | Domus");
    let mut rule = String::from("| --- | ---:");
    for p in peers {
        head.push_str(&format!(" | {}", p.kind.name()));
        rule.push_str(" | ---:");
    }
    head.push_str(" | faster peer / Domus |");
    rule.push_str(" | ---: |");
    println!("{head}");
    println!("{rule}");
    let mut notes = Vec::new();
    for r in 0..ROWS {
        let mut line = format!(
            "| {}. {} | {}",
            r + 1,
            row_label(r, s),
            show(&domus.cells[r], r, s.polls)
        );
        if let Err(e) = &domus.cells[r].value {
            notes.push((r + 1, format!("Domus: {e}")));
        }
        let mut best: Option<(f64, bool)> = None;
        for p in peers {
            let c = &p.cells[r];
            line.push_str(&format!(" | {}", show(c, r, s.polls)));
            match &c.value {
                Ok(v) => {
                    if best.is_none_or(|(b, _)| *v < b) {
                        best = Some((*v, c.estimated));
                    }
                }
                Err(e) => notes.push((r + 1, format!("{}: {e}", p.kind.name()))),
            }
        }
        match (&domus.cells[r].value, best) {
            (Ok(d), Some((b, est))) => {
                line.push_str(&format!(" | {}{:.1}x |", if est { "~" } else { "" }, b / d))
            }
            _ => line.push_str(" | n/a |"),
        }
        println!("{line}");
    }

    println!();
    println!("What the servers answered (last run of each row):");
    println!();
    println!(
        "| row | {} |",
        columns
            .iter()
            .map(|c| c.kind.name())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("| --- |{}", " --- |".repeat(columns.len()));
    for r in 0..ROWS {
        let mut line = format!("| {}. |", r + 1);
        for c in columns {
            line.push_str(&format!(" {} |", c.cells[r].answered));
        }
        println!("{line}");
    }
    println!();
    println!("Versions:");
    for c in columns {
        println!("- {}: {}", c.kind.name(), c.version);
    }
    if !notes.is_empty() {
        println!();
        println!("Notes (why a cell is n/a):");
        // One line per server and reason, with the rows it applies to.
        let mut by: Vec<(String, Vec<usize>)> = Vec::new();
        for (row, note) in notes {
            match by.iter_mut().find(|(n, _)| *n == note) {
                Some((_, rows)) => rows.push(row),
                None => by.push((note, vec![row])),
            }
        }
        for (note, rows) in by {
            let rows: Vec<String> = rows.iter().map(usize::to_string).collect();
            println!("- rows {}: {note}", rows.join(", "));
        }
    }
}
