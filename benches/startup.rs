//! Startup and memory of the real server on a data folder with 10,000 domains.
//!
//! Run with `cargo bench --bench startup` (release build). The data folder is built once
//! through the library API and kept under `target/bench-data/startup-10000/`; delete that
//! folder to rebuild it. Each run starts `domus serve` on it and measures:
//!
//! - the time from spawn to the first `200` of `GET /healthz`;
//! - the time from spawn to the first `200` of an authenticated `GET /api/v1/me` (opens
//!   one domain file, runs argon2 once);
//! - the resident memory after ~2 s idle;
//! - the resident memory after one login in each of 300 domains and ~2 s idle (more
//!   domains than the pool keeps open by default, so the LRU cap is reached).
//!
//! It prints a markdown table (min / median / max over the runs), judges the targets on
//! the worst run, and exits non-zero when one fails. Under `cargo test --all-targets` (no
//! `--bench` argument) it does nothing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use domus::store::{Store, StoreConfig, Synchronous};

/// Domains in the data folder.
const DOMAINS: usize = 10_000;
/// Domains `d0.test` .. `d299.test` each get the user `user@dN.test`.
const USERS: usize = 300;
const PASSWORD: &str = "pw-benchmark-1";
/// Runs when `DOMUS_BENCH_RUNS` does not say otherwise.
const DEFAULT_RUNS: usize = 5;
const IDLE: Duration = Duration::from_secs(2);
/// Give up on a server that has not answered by then.
const PATIENCE: Duration = Duration::from_secs(60);

const START_TARGET: Duration = Duration::from_secs(1);
/// 100 MB (decimal), in bytes.
const IDLE_RSS_TARGET: u64 = 100_000_000;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("startup benchmark: skipped (run it with `cargo bench --bench startup`)");
        return;
    }
    let runs = std::env::var("DOMUS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_RUNS);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_domus"));
    let data = ensure_data(
        &target_dir(&bin)
            .join("bench-data")
            .join(format!("startup-{DOMAINS}")),
    );

    let mut results = Vec::with_capacity(runs);
    for i in 1..=runs {
        let r = run_once(&bin, &data);
        eprintln!(
            "run {i}/{runs}: listening {:.1} ms, healthz {:.1} ms, me {:.1} ms, idle RSS {:.1} MB, RSS after {USERS} domains {:.1} MB",
            ms(r.listening),
            ms(r.healthz),
            ms(r.me),
            mb(r.rss_idle),
            mb(r.rss_after_domains),
        );
        results.push(r);
    }
    let ok = report(&results, &data);
    if !ok {
        std::process::exit(1);
    }
}

/// `target/` (or `CARGO_TARGET_DIR`): the binary lives in `<target>/release/`.
fn target_dir(bin: &Path) -> PathBuf {
    bin.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn domain(i: usize) -> String {
    format!("d{i}.test")
}

fn user(i: usize) -> String {
    format!("user@{}", domain(i))
}

/// Builds the data folder unless a complete one is there (the `complete` marker is
/// written last, so an interrupted build is started over).
fn ensure_data(dir: &Path) -> PathBuf {
    let marker = dir.join("complete");
    if marker.exists() {
        eprintln!("reusing {} ({DOMAINS} domains)", dir.display());
        return dir.to_path_buf();
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).expect("remove the incomplete benchmark data folder");
    }
    eprintln!(
        "building {} with {DOMAINS} domains (once; kept for later runs)",
        dir.display()
    );
    let started = Instant::now();
    // `synchronous = NORMAL` only to build the folder faster; the server under test
    // runs with its defaults.
    let config = StoreConfig {
        synchronous: Synchronous::Normal,
        ..StoreConfig::default()
    };
    let store = Store::open(dir, config).expect("open the benchmark data folder");
    for i in 0..DOMAINS {
        domus::admin::add_domain(&store, &domain(i), &[]).expect("add a domain");
        if i < USERS {
            domus::admin::add_user(&store, &user(i), Some(PASSWORD)).expect("add a user");
        }
        if (i + 1) % 1000 == 0 {
            eprintln!(
                "  {:>6} domains ({:.0} s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    store.pool().close_all();
    drop(store);
    std::fs::write(
        &marker,
        format!("{DOMAINS} domains, users in d0..d{}\n", USERS - 1),
    )
    .expect("write the marker");
    eprintln!("built in {:.0} s", started.elapsed().as_secs_f64());
    dir.to_path_buf()
}

struct RunResult {
    listening: Duration,
    healthz: Duration,
    me: Duration,
    rss_idle: u64,
    logins: Duration,
    rss_after_domains: u64,
    shutdown: Duration,
}

fn run_once(bin: &Path, data: &Path) -> RunResult {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .arg("serve")
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .env_remove("DOMUS_CONFIG")
        .env_remove("DOMUS_PUBLIC_URL")
        .env_remove("DOMUS_TLS_CERT")
        .env_remove("DOMUS_TLS_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the domus binary");
    let pid = child.id();

    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read the banner");
    let listening = started.elapsed();
    let addr: SocketAddr = first
        .trim()
        .strip_prefix("domus: listening on http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            stop(&mut child);
            panic!("unexpected first line from domus serve: {first:?}")
        });
    // Keep reading so the server never blocks on a full pipe.
    let drain = std::thread::spawn(move || {
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });

    let healthz = until_ok(&started, || get(addr, "/healthz", None));
    let me = until_ok(&started, || get(addr, "/api/v1/me", Some(&user(0))));

    std::thread::sleep(IDLE);
    let rss_idle = rss_bytes(pid);

    let t = Instant::now();
    for i in 0..USERS {
        let (status, body) = get(addr, "/api/v1/me", Some(&user(i))).unwrap_or_else(|e| {
            stop(&mut child);
            panic!("GET /api/v1/me as {}: {e}", user(i))
        });
        if status != 200 || !body.contains(&domain(i)) {
            stop(&mut child);
            panic!("GET /api/v1/me as {} answered {status}: {body}", user(i));
        }
    }
    let logins = t.elapsed();
    std::thread::sleep(IDLE);
    let rss_after_domains = rss_bytes(pid);

    let shutdown = stop(&mut child);
    let _ = drain.join();
    RunResult {
        listening,
        healthz,
        me,
        rss_idle,
        logins,
        rss_after_domains,
        shutdown,
    }
}

/// Retries `request` until it answers 200; returns the time since `started`.
fn until_ok(
    started: &Instant,
    mut request: impl FnMut() -> std::io::Result<(u16, String)>,
) -> Duration {
    loop {
        let outcome = request();
        if let Ok((200, _)) = outcome {
            return started.elapsed();
        }
        if started.elapsed() > PATIENCE {
            panic!("no 200 within {PATIENCE:?}; last answer: {outcome:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A plain HTTP/1.1 GET, one connection per request; Basic auth as `login` when given.
fn get(addr: SocketAddr, path: &str, login: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(login) = login {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{PASSWORD}"));
        request.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text:?}")))?;
    Ok((status, text))
}

/// `VmRSS` of a process, in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .expect("VmRSS in /proc status")
}

/// SIGTERM, then waits for the exit (SIGKILL after 30 s); returns how long it took.
fn stop(child: &mut Child) -> Duration {
    let t = Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return t.elapsed(),
            Ok(None) if t.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => {
                eprintln!("domus did not stop within 30 s of SIGTERM; killing it");
                let _ = child.kill();
                let _ = child.wait();
                return t.elapsed();
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// min, median, max.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (v[0], median, v[n - 1])
}

/// One line of the table: a figure over all runs and, if it has one, its target (the
/// worst run must stay under `limit`).
struct Row {
    figure: String,
    unit: &'static str,
    values: Vec<f64>,
    limit: Option<f64>,
}

impl Row {
    fn new(figure: impl Into<String>, unit: &'static str, values: Vec<f64>) -> Self {
        Row {
            figure: figure.into(),
            unit,
            values,
            limit: None,
        }
    }

    fn target(mut self, limit: f64) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Prints the table; returns whether every target holds.
fn report(results: &[RunResult], data: &Path) -> bool {
    let start_ms = ms(START_TARGET);
    let rss_mb = mb(IDLE_RSS_TARGET);
    let each = |f: fn(&RunResult) -> f64| results.iter().map(f).collect::<Vec<f64>>();
    let rows = [
        Row::new(
            "spawn → `listening` line on stdout",
            "ms",
            each(|r| ms(r.listening)),
        ),
        Row::new(
            "spawn → first 200 of `GET /healthz`",
            "ms",
            each(|r| ms(r.healthz)),
        )
        .target(start_ms),
        Row::new(
            "spawn → first 200 of `GET /api/v1/me` (Basic auth)",
            "ms",
            each(|r| ms(r.me)),
        )
        .target(start_ms),
        Row::new("RSS after ~2 s idle", "MB", each(|r| mb(r.rss_idle))).target(rss_mb),
        Row::new(
            format!("{USERS} logins, one per domain (total)"),
            "ms",
            each(|r| ms(r.logins)),
        ),
        Row::new(
            format!("RSS after {USERS} domains + ~2 s idle"),
            "MB",
            each(|r| mb(r.rss_after_domains)),
        ),
        Row::new("SIGTERM → exit", "ms", each(|r| ms(r.shutdown))),
    ];

    println!();
    println!(
        "Startup with {DOMAINS} domains ({} runs; data folder {}):",
        results.len(),
        data.display()
    );
    println!();
    println!("| figure | min | median | max | target (worst run) | result |");
    println!("| --- | ---: | ---: | ---: | --- | --- |");
    let mut all_ok = true;
    for row in rows {
        let unit = row.unit;
        let (min, median, max) = spread(row.values);
        let (target, verdict) = match row.limit {
            Some(limit) => {
                let ok = max < limit;
                all_ok &= ok;
                (
                    format!("< {limit:.0} {unit}"),
                    if ok { "PASS" } else { "FAIL" },
                )
            }
            None => ("—".to_string(), "—"),
        };
        println!(
            "| {} | {min:.1} {unit} | {median:.1} {unit} | {max:.1} {unit} | {target} | {verdict} |",
            row.figure
        );
    }
    let (_, after_domains, _) = spread(each(|r| mb(r.rss_after_domains)));
    if after_domains >= rss_mb {
        println!();
        println!(
            "note: after {USERS} domains the server holds {after_domains:.0} MB (median), over the {rss_mb:.0} MB idle target"
        );
    }
    println!();
    println!(
        "{}",
        if all_ok {
            "all targets met"
        } else {
            "a target was missed"
        }
    );
    all_ok
}
