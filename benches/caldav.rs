//! CalDAV side by side: Domus, Radicale and Xandikos on one calendar of 10,000 events.
//!
//! Run with `cargo bench --bench caldav` (release build). Under `cargo test --all-targets`
//! (no `--bench` argument) it does nothing.
//!
//! # Data
//!
//! One calendar of `DOMUS_BENCH_EVENTS` (default 10,000) events, generated from a fixed
//! seed by a small SplitMix64 generator, so every run and every server gets byte-identical
//! objects. Event `i` is `ev-NNNNNN.ics` with UID `ev-NNNNNN@bench.test`, all times in UTC
//! (no VTIMEZONE), a start somewhere in 2026 between 07:00 and 19:45, 30 to 120 minutes
//! long, a summary, a location and a ~200-byte description. Every tenth event (10%)
//! recurs weekly: half of them with `COUNT` (5..=20), half with `UNTIL` (8..=26 weeks on).
//!
//! # Servers
//!
//! Each server starts on `127.0.0.1` (a free port) with a fresh storage folder under
//! `target/bench-data/`:
//!
//! - Domus: the release binary of this crate, `domus domain add bench.test`, a user
//!   `u@bench.test` with a password, the default calendar
//!   `/dav/calendars/u@bench.test/calendar/`; Basic auth on every request.
//! - Radicale (PyPI, pinned [`common::RADICALE`]): `auth type = none` (the Basic user name is
//!   taken as is), `rights type = owner_only`, filesystem storage; the calendar
//!   `/u/calendar/` is made with MKCALENDAR.
//! - Xandikos (PyPI, pinned [`common::XANDIKOS`]): `xandikos serve --defaults`, which creates
//!   `/user/calendars/calendar/`; no authentication.
//!
//! The peers are installed by this bench into their own virtualenvs under
//! `target/bench-peers/` (`python3 -m venv`, `pip install NAME==VERSION`; the
//! interpreter is `DOMUS_BENCH_PYTHON` or `python3`); an install is reused when its
//! marker file is there. A peer that fails to install or start is reported as n/a with
//! the reason; Domus is measured regardless. `DOMUS_BENCH_PEERS=none` measures Domus
//! alone (quick work on one row; the ratios are then n/a). The servers, the client and
//! the timing are shared with `benches/carddav.rs` (`benches/common/mod.rs`).
//!
//! # Client and rows
//!
//! One blocking `reqwest` client per server, one keep-alive connection, requests one after
//! the other; the same request bodies for every server (only the collection path
//! differs). Each row is timed from sending the request to the last byte of the answer,
//! once untimed (warm-up) and then `DOMUS_BENCH_RUNS` (default 5) times; the median is
//! reported. The rows:
//!
//! 1. PUT of every event, sequential; the load is split in 5 equal batches and the
//!    median batch gives ms per event (and events/s);
//! 2. PROPFIND Depth 1 on the calendar asking for `getetag`;
//! 3. sync-collection (RFC 6578) with an empty token asking for `getetag`;
//! 4. sync-collection with the previous token after one PUT that changes one event (the
//!    PUT is not timed);
//! 5. calendar-query for March 2026 (a one-month time range) with `calendar-data`;
//! 6. calendar-multiget of 500 hrefs with `calendar-data`;
//! 7. GET of the calendar collection (the whole calendar as one iCalendar stream).
//!
//! Row 4 is also measured for Domus alone with 1,000 and 100,000 events (each in its own
//! fresh server), to see whether a sync after one change depends on the calendar's size.
//!
//! Targets (from the issue): Domus at least 20x faster than the faster peer on rows 2-7,
//! at least 5x on row 1; row 4 with 100,000 events within 2x of row 4 with 1,000. The
//! bench prints markdown tables and PASS/FAIL per target; a missed target does not make
//! it fail (it is a measurement).

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{
    Dav, Ev, Kind, PROPFIND_ETAG, Seen, Server, XML, changed, env_usize, fmt_ms, generate, median,
    ms, peers_wanted, repeat, start, start_domus, sync_body, target_dir, timed, uid_name,
    write_into_storage,
};

const DEFAULT_EVENTS: usize = 10_000;
const DEFAULT_RUNS: usize = 5;
/// Events whose PUT is timed (row 1), the same first ones on every server.
const DEFAULT_TIMED_PUTS: usize = 2_000;
const MULTIGET: usize = 500;
const PUT_BATCHES: usize = 5;

/// The one-month window of row 5.
const MONTH_START: &str = "20260301T000000Z";
const MONTH_END: &str = "20260401T000000Z";

/// The sizes row 4 is measured at for Domus alone.
const SCALE_SMALL: usize = 1_000;
const SCALE_LARGE: usize = 100_000;

const ROWS: [&str; 7] = [
    "PUT, sequential (ms per event)",
    "PROPFIND Depth 1, getetag",
    "sync-collection, initial (empty token)",
    "sync-collection after one change",
    "calendar-query, one month, calendar-data",
    "calendar-multiget, 500 hrefs, calendar-data",
    "GET the whole calendar (.ics)",
];

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("caldav benchmark: skipped (run it with `cargo bench --bench caldav`)");
        return;
    }
    let runs = env_usize("DOMUS_BENCH_RUNS").unwrap_or(DEFAULT_RUNS);
    let events = env_usize("DOMUS_BENCH_EVENTS").unwrap_or(DEFAULT_EVENTS);
    let timed_puts = env_usize("DOMUS_BENCH_TIMED_PUTS").unwrap_or(DEFAULT_TIMED_PUTS);
    let skip_scale = std::env::var_os("DOMUS_BENCH_SKIP_SCALE").is_some();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_domus"));
    let target = target_dir(&bin);
    let work = target.join("bench-data").join("caldav");
    std::fs::create_dir_all(&work).expect("create target/bench-data/caldav");

    let data = generate(events);
    eprintln!(
        "generated {events} events ({} recurring, {:.1} MB of iCalendar)",
        data.iter().filter(|e| e.recurring).count(),
        data.iter().map(|e| e.ics.len()).sum::<usize>() as f64 / 1e6
    );

    let mut columns: Vec<Column> = Vec::new();
    // `DOMUS_BENCH_PEERS=none` measures Domus alone (for quick work on one row).
    let peers = peers_wanted();
    for kind in Kind::ALL.into_iter().filter(|k| peers || *k == Kind::Domus) {
        eprintln!("== {}", kind.name());
        let column = match start(kind, Dav::CalDav, &bin, &target, &work) {
            Ok(server) => measure(server, &data, runs, timed_puts),
            Err(reason) => {
                eprintln!("{}: n/a: {reason}", kind.name());
                Column::unavailable(kind, reason)
            }
        };
        columns.push(column);
    }

    let mut scale = Vec::new();
    if !skip_scale {
        for n in [SCALE_SMALL, SCALE_LARGE] {
            eprintln!("== Domus, row 4 with {n} events");
            scale.push(scale_run(&bin, &work, n, runs));
        }
    }

    report(&columns, &scale, events, runs, timed_puts);
}

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

// The calendar (`Ev`, `generate`, `changed`) is `common::generate`, shared with the
// share-feed bench.

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

fn query_body() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
<C:time-range start="{MONTH_START}" end="{MONTH_END}"/>
</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
    )
}

fn multiget_body(calendar: &str, events: usize) -> String {
    let step = (events / MULTIGET).max(1);
    let hrefs: String = (0..MULTIGET.min(events))
        .map(|k| format!("<D:href>{calendar}{}.ics</D:href>\n", uid_name(k * step)))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data/></D:prop>
{hrefs}</C:calendar-multiget>"#
    )
}

fn put(server: &Server, ev_name: &str, ics: &str) -> Result<Duration, String> {
    let rb = server
        .request("PUT", &format!("{}{ev_name}", server.collection))
        .header("Content-Type", "text/calendar; charset=utf-8")
        .body(ics.to_string());
    timed(rb, &[200, 201, 204])
        .map(|(d, _)| d)
        .map_err(|e| format!("PUT {ev_name}: {e}"))
}

/// Loads the calendar. The first `timed` events go in by PUT, in `PUT_BATCHES` timed
/// batches (ms per event of each batch is returned); the rest goes in by PUT for Domus and
/// straight into the storage for the peers (see [`bulk_load`]).
fn load(server: &Server, data: &[Ev], timed: usize) -> Result<Vec<f64>, String> {
    let timed = timed.min(data.len());
    let batch = timed.div_ceil(PUT_BATCHES).max(1);
    let mut per_event = Vec::new();
    let started = Instant::now();
    for chunk in data[..timed].chunks(batch) {
        let t = Instant::now();
        for ev in chunk {
            put(server, &ev.name, &ev.ics)?;
        }
        per_event.push(ms(t.elapsed()) / chunk.len() as f64);
        eprintln!(
            "  PUT {} events, timed ({:.1} s)",
            (per_event.len() * batch).min(timed),
            started.elapsed().as_secs_f64()
        );
    }
    let rest = &data[timed..];
    if rest.is_empty() {
        return Ok(per_event);
    }
    let t = Instant::now();
    if server.kind == Kind::Domus {
        for ev in rest {
            put(server, &ev.name, &ev.ics)?;
        }
        eprintln!(
            "  PUT the other {} events in {:.1} s ({:.0}/s)",
            rest.len(),
            t.elapsed().as_secs_f64(),
            rest.len() as f64 / t.elapsed().as_secs_f64()
        );
    } else {
        bulk_load(server, rest)?;
        eprintln!(
            "  wrote the other {} events into the storage in {:.1} s",
            rest.len(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(per_event)
}

/// Writes events straight into a peer's storage, as that peer stores them: both peers
/// cost O(calendar size) per PUT (Radicale checks the new UID against every item and
/// fsyncs; Xandikos makes a git commit of the whole calendar tree), so loading 10,000
/// events by PUT alone takes most of an hour each. Radicale keeps one file per item in
/// `collection-root/USER/CALENDAR/` and reads the folder on each request; Xandikos keeps
/// a git working tree, so the files are written and then committed with
/// `benches/peers/xandikos_commit.py` (dulwich, from the Xandikos virtualenv).
fn bulk_load(server: &Server, events: &[Ev]) -> Result<(), String> {
    write_into_storage(
        server,
        &server.collection,
        events.iter().map(|ev| (ev.name.as_str(), ev.ics.as_str())),
    )
    .map(|_| ())
}

/// Row 4: PUT a change to one event (untimed), then a timed sync with the previous token.
fn sync_after_change(
    server: &Server,
    data: &[Ev],
    runs: usize,
) -> Result<(Vec<f64>, Seen), String> {
    let report = |token: &str| {
        server
            .request("REPORT", &server.collection)
            .header("Depth", "0")
            .header("Content-Type", XML)
            .body(sync_body(token))
    };
    let (_, first) = timed(report(""), &[207])?;
    let mut token = first
        .token
        .ok_or("no sync-token in the answer to the initial sync")?;
    repeat(runs, |run| {
        let ev = &data[(run * 7919) % data.len()];
        put(server, &ev.name, &changed(ev, run))?;
        let (d, seen) = timed(report(&token), &[207])?;
        token = seen
            .token
            .clone()
            .ok_or("no sync-token in the answer to a sync")?;
        Ok((d, seen))
    })
}

// ---------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------

struct Cell {
    /// Median in ms (row 1: ms per event).
    median: Result<f64, String>,
    /// What the last answer held, for the record.
    seen: Option<Seen>,
}

struct Column {
    kind: Kind,
    version: String,
    cells: Vec<Cell>,
}

impl Column {
    fn unavailable(kind: Kind, reason: String) -> Self {
        Column {
            kind,
            version: "n/a".into(),
            cells: ROWS
                .iter()
                .map(|_| Cell {
                    median: Err(reason.clone()),
                    seen: None,
                })
                .collect(),
        }
    }
}

fn cell(outcome: Result<(Vec<f64>, Seen), String>) -> Cell {
    match outcome {
        Ok((samples, seen)) => Cell {
            median: Ok(median(samples)),
            seen: Some(seen),
        },
        Err(e) => Cell {
            median: Err(e),
            seen: None,
        },
    }
}

fn measure(server: Server, data: &[Ev], runs: usize, timed_puts: usize) -> Column {
    let name = server.kind.name();
    let mut cells = Vec::new();
    let loaded = load(&server, data, timed_puts);
    let loaded_ok = loaded.is_ok();
    cells.push(match loaded {
        Ok(batches) => Cell {
            median: Ok(median(batches)),
            seen: None,
        },
        Err(e) => Cell {
            median: Err(e),
            seen: None,
        },
    });
    if !loaded_ok {
        let reason = "the calendar could not be loaded".to_string();
        while cells.len() < ROWS.len() {
            cells.push(Cell {
                median: Err(reason.clone()),
                seen: None,
            });
        }
        return finish(server, cells);
    }
    let cal = server.collection.clone();

    eprintln!("  {name}: PROPFIND");
    cells.push(cell(repeat(runs, |_| {
        timed(
            server
                .request("PROPFIND", &cal)
                .header("Depth", "1")
                .header("Content-Type", XML)
                .body(PROPFIND_ETAG),
            &[207],
        )
    })));
    eprintln!("  {name}: initial sync");
    cells.push(cell(repeat(runs, |_| {
        timed(
            server
                .request("REPORT", &cal)
                .header("Depth", "0")
                .header("Content-Type", XML)
                .body(sync_body("")),
            &[207],
        )
    })));
    eprintln!("  {name}: sync after one change");
    cells.push(cell(sync_after_change(&server, data, runs)));
    eprintln!("  {name}: calendar-query");
    let query = query_body();
    cells.push(cell(repeat(runs, |_| {
        timed(
            server
                .request("REPORT", &cal)
                .header("Depth", "1")
                .header("Content-Type", XML)
                .body(query.clone()),
            &[207],
        )
    })));
    eprintln!("  {name}: calendar-multiget");
    let multiget = multiget_body(&cal, data.len());
    cells.push(cell(repeat(runs, |_| {
        timed(
            server
                .request("REPORT", &cal)
                .header("Depth", "0")
                .header("Content-Type", XML)
                .body(multiget.clone()),
            &[207],
        )
    })));
    eprintln!("  {name}: GET the calendar");
    cells.push(cell(
        repeat(runs, |_| timed(server.request("GET", &cal), &[200])).and_then(|(s, seen)| {
            if seen.vevents == 0 {
                Err(format!(
                    "GET on the collection gives no iCalendar ({} bytes, no VEVENT)",
                    seen.bytes
                ))
            } else {
                Ok((s, seen))
            }
        }),
    ));
    finish(server, cells)
}

fn finish(server: Server, cells: Vec<Cell>) -> Column {
    for (row, c) in ROWS.iter().zip(&cells) {
        match (&c.median, &c.seen) {
            (Ok(m), Some(s)) => eprintln!(
                "  {}: {row}: {m:.2} ms ({} responses, {} VEVENTs, {} bytes)",
                server.kind.name(),
                s.responses,
                s.vevents,
                s.bytes
            ),
            (Ok(m), None) => eprintln!("  {}: {row}: {m:.3} ms", server.kind.name()),
            (Err(e), _) => eprintln!("  {}: {row}: n/a: {e}", server.kind.name()),
        }
    }
    Column {
        kind: server.kind,
        version: server.version.clone(),
        cells,
    }
}

struct Scale {
    events: usize,
    load: Result<Duration, String>,
    sync: Result<(f64, Seen), String>,
}

fn scale_run(bin: &Path, work: &Path, n: usize, runs: usize) -> Scale {
    let server = match start_domus(bin, work, Dav::CalDav) {
        Ok(s) => s,
        Err(e) => {
            return Scale {
                events: n,
                load: Err(e.clone()),
                sync: Err(e),
            };
        }
    };
    let data = generate(n);
    let t = Instant::now();
    let mut loaded = Ok(());
    for (i, ev) in data.iter().enumerate() {
        if let Err(e) = put(&server, &ev.name, &ev.ics) {
            loaded = Err(e);
            break;
        }
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "  PUT {} events ({:.1} s)",
                i + 1,
                t.elapsed().as_secs_f64()
            );
        }
    }
    let load = loaded.map(|_| t.elapsed());
    let sync = match &load {
        Ok(_) => sync_after_change(&server, &data, runs).map(|(s, seen)| (median(s), seen)),
        Err(e) => Err(e.clone()),
    };
    Scale {
        events: n,
        load,
        sync,
    }
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

fn report(columns: &[Column], scale: &[Scale], events: usize, runs: usize, timed_puts: usize) {
    let domus = &columns[0];
    let peers = &columns[1..];
    println!();
    println!(
        "CalDAV, one calendar of {events} events (10% recurring), median of {runs} runs; \
         ratio = peer / Domus (higher is better for Domus)"
    );
    println!();
    let mut head = String::from("| row | Domus");
    let mut rule = String::from("| --- | ---:");
    for p in peers {
        head.push_str(&format!(" | {}", p.kind.name()));
        rule.push_str(" | ---:");
    }
    for p in peers {
        head.push_str(&format!(" | {} / Domus", p.kind.name()));
        rule.push_str(" | ---:");
    }
    head.push_str(" | target | result |");
    rule.push_str(" | --- | --- |");
    println!("{head}");
    println!("{rule}");
    let mut notes = Vec::new();
    let mut all = true;
    for (r, row) in ROWS.iter().enumerate() {
        let target = if r == 0 { 5.0 } else { 20.0 };
        let d = &domus.cells[r].median;
        let label = if r == 0 {
            format!(
                "PUT, sequential, first {} events (ms per event)",
                timed_puts.min(events)
            )
        } else {
            row.to_string()
        };
        let mut line = format!("| {}. {label} | ", r + 1);
        line.push_str(&match d {
            Ok(v) if r == 0 => format!("{} ({:.0}/s)", fmt_ms(*v), 1000.0 / v),
            Ok(v) => fmt_ms(*v),
            Err(e) => {
                notes.push(format!("row {} Domus: {e}", r + 1));
                "n/a".into()
            }
        });
        for p in peers {
            line.push_str(" | ");
            line.push_str(&match &p.cells[r].median {
                Ok(v) if r == 0 => format!("{} ({:.0}/s)", fmt_ms(*v), 1000.0 / v),
                Ok(v) => fmt_ms(*v),
                Err(e) => {
                    if p.version != "n/a" || r == 0 {
                        notes.push(format!("row {} {}: {e}", r + 1, p.kind.name()));
                    }
                    "n/a".into()
                }
            });
        }
        let mut best: Option<f64> = None;
        for p in peers {
            line.push_str(" | ");
            match (d, &p.cells[r].median) {
                (Ok(dv), Ok(pv)) => {
                    let ratio = pv / dv;
                    best = Some(best.map_or(ratio, |b: f64| b.min(ratio)));
                    line.push_str(&format!("{ratio:.1}x"));
                }
                _ => line.push_str("n/a"),
            }
        }
        let verdict = match best {
            Some(b) if b >= target => "PASS".to_string(),
            Some(b) => {
                all = false;
                format!("FAIL ({b:.1}x)")
            }
            None => "n/a".to_string(),
        };
        line.push_str(&format!(" | ≥ {target:.0}x faster peer | {verdict} |"));
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
    for (r, row) in ROWS.iter().enumerate().skip(1) {
        let mut line = format!("| {}. {row} |", r + 1);
        for c in columns {
            line.push_str(&match &c.cells[r].seen {
                Some(s) if s.responses > 0 => {
                    format!(
                        " {} responses, {} VEVENTs, {:.2} MB |",
                        s.responses,
                        s.vevents,
                        s.bytes as f64 / 1e6
                    )
                }
                Some(s) => format!(" {} VEVENTs, {:.2} MB |", s.vevents, s.bytes as f64 / 1e6),
                None => " n/a |".into(),
            });
        }
        println!("{line}");
    }

    if !scale.is_empty() {
        println!();
        println!("Domus, row 4 (sync-collection after one change) by calendar size:");
        println!();
        println!("| events | loading by sequential PUT | sync after one change (median) |");
        println!("| ---: | ---: | ---: |");
        let mut sync_at = BTreeMap::new();
        let d10 = domus.cells[3].median.as_ref().ok().copied();
        for s in scale {
            let load = match &s.load {
                Ok(d) => format!(
                    "{:.1} s ({:.0}/s)",
                    d.as_secs_f64(),
                    s.events as f64 / d.as_secs_f64()
                ),
                Err(e) => {
                    notes.push(format!("{} events: {e}", s.events));
                    "n/a".into()
                }
            };
            let sync = match &s.sync {
                Ok((v, _)) => {
                    sync_at.insert(s.events, *v);
                    fmt_ms(*v)
                }
                Err(e) => {
                    notes.push(format!("{} events, sync: {e}", s.events));
                    "n/a".into()
                }
            };
            println!("| {} | {load} | {sync} |", s.events);
            if s.events == SCALE_SMALL
                && let Some(v) = d10
            {
                println!("| {events} | (above) | {} |", fmt_ms(v));
            }
        }
        println!();
        match (sync_at.get(&SCALE_SMALL), sync_at.get(&SCALE_LARGE)) {
            (Some(a), Some(b)) => {
                let ratio = b / a;
                let ok = ratio <= 2.0;
                all &= ok;
                println!(
                    "sync after one change, {SCALE_LARGE} vs {SCALE_SMALL} events: {ratio:.2}x (target ≤ 2x): {}",
                    if ok { "PASS" } else { "FAIL" }
                );
            }
            _ => println!("sync after one change, {SCALE_LARGE} vs {SCALE_SMALL} events: n/a"),
        }
    }

    println!();
    println!("Versions:");
    for c in columns {
        println!("- {}: {}", c.kind.name(), c.version);
    }
    if !notes.is_empty() {
        println!();
        println!("Notes:");
        for n in &notes {
            println!("- {n}");
        }
    }
    println!();
    println!(
        "{}",
        if all {
            "all targets met"
        } else {
            "a target was missed (this is a measurement; the bench does not fail)"
        }
    );
}
