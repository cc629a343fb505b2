//! CardDAV side by side: Domus, Radicale and Xandikos on one address book of 20,000 cards.
//!
//! Run with `cargo bench --bench carddav` (release build). Under `cargo test --all-targets`
//! (no `--bench` argument) it does nothing. The servers, the client and the timing are
//! those of `benches/caldav.rs` (shared in `benches/common/mod.rs`).
//!
//! # Data
//!
//! One address book of `DOMUS_BENCH_CARDS` (default 20,000) vCard 3.0 cards generated from
//! a fixed seed, so every run and every server gets byte-identical cards. Card `i` has a
//! UUID-shaped UID (the same whatever the size) and is stored as `UID.vcf`. A person has
//! FN, N, ORG, one to three EMAILs, one or two TELs, and some have TITLE, ADR, BDAY, NOTE,
//! CATEGORIES; about 10% have a small base64 JPEG PHOTO (1.2-2.4 KB). Some names are not
//! ASCII. Every 1,000th card (from the 500th) is an Apple-style group
//! (`X-ADDRESSBOOKSERVER-KIND:group`, 10-40 `X-ADDRESSBOOKSERVER-MEMBER`s). Every 4,000th
//! card (from the 1,717th) also has an address at `Zephyr-Quokka.example`, in mixed case:
//! the cards row 3 finds.
//!
//! # Servers and loading
//!
//! As in the CalDAV bench (Domus release binary; Radicale and Xandikos from PyPI, pinned,
//! in their own virtualenvs under `target/bench-peers/`; `DOMUS_BENCH_PEERS=none` measures
//! Domus alone). The address book is Domus's default `/dav/addressbooks/u@bench.test/contacts/`,
//! Radicale's `/u/contacts/` (made by extended MKCOL) and Xandikos's
//! `/user/contacts/addressbook/` (made by `--defaults`). It is loaded through each server's
//! fastest way in:
//!
//! - Domus: `POST /api/v1/addressbooks/{id}/import` of the whole file (one transaction;
//!   when Domus refuses the file as too large, in pieces of at most 2 MB cut between
//!   cards, see [`DOMUS_IMPORT_PIECE`]);
//! - Radicale: one `PUT` of the whole file on the address book (Radicale replaces a
//!   collection with the items of a multi-vCard body);
//! - Xandikos: the `.vcf` files written into its git working tree and committed with
//!   `benches/peers/xandikos_commit.py` (it has no bulk import, and a PUT per card costs a
//!   git commit of the whole tree).
//!
//! # Client and rows
//!
//! One blocking `reqwest` client per server, one keep-alive connection, one request after
//! the other; the same bodies everywhere (only the paths differ). Each row is sent once
//! untimed (warm-up) and then `DOMUS_BENCH_RUNS` (default 5) times; the median is shown,
//! timed from sending the request to the last byte of the answer.
//!
//! 1. PROPFIND Depth 1 on the address book for `getetag`;
//! 2. sync-collection (RFC 6578) with an empty token for `getetag`;
//! 3. addressbook-query: EMAIL contains `zephyr-quokka` (`i;unicode-casemap`), for
//!    `getetag` and `address-data` (5 cards of 20,000);
//! 4. addressbook-multiget of 500 hrefs (every 40th card) for `getetag` and `address-data`;
//! 5. export of the whole book: Domus `GET /api/v1/addressbooks/{id}/export?version=3`
//!    (the stored version, no conversion), the peers `GET` on the collection (n/a when a
//!    peer does not serve the cards there);
//! 6. import of the whole book into a new, empty one: Domus `POST …/import` (in pieces
//!    when it must, the time being their sum), Radicale `PUT`
//!    of the whole file on a new collection (each run in a new book, removed afterwards,
//!    untimed). Xandikos has no import, only a PUT per card; that would take hours, so it
//!    is estimated, and said so: the first `DOMUS_BENCH_XANDIKOS_SAMPLE` (default 500)
//!    cards are PUT into a new book and 50 more into the full book, and the total is the
//!    straight line between the two per-PUT costs summed over the book.
//!
//! Target: Domus at least 20x faster than the faster peer on every row (judged on measured
//! figures; an estimate is shown but judges only when nothing was measured). The bench
//! prints markdown tables and PASS/FAIL per row; a missed target does not make it fail.

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;

use common::{
    Dav, Kind, PROPFIND_ETAG, Rng, Seen, Server, WORDS, XML, env_usize, fmt_ms, median,
    mkcol_addressbook, ms, peers_wanted, repeat, start, sync_body, target_dir, timed, timed_body,
    write_into_storage,
};

const DEFAULT_CARDS: usize = 20_000;
const DEFAULT_RUNS: usize = 5;
const SEED: u64 = 0x00D0_0005_CA2D_DA55;
const MULTIGET: usize = 500;
/// Xandikos's import: cards PUT into a new book, and into the full one.
const DEFAULT_XANDIKOS_SAMPLE: usize = 500;
const XANDIKOS_LATE_SAMPLE: usize = 50;
const SAMPLE_BATCHES: usize = 5;
/// A group every `GROUP_EVERY` cards, at `GROUP_AT`.
const GROUP_EVERY: usize = 1_000;
const GROUP_AT: usize = 500;
/// The cards row 3 finds: every `RARE_EVERY`th, at `RARE_AT`.
const RARE_EVERY: usize = 4_000;
const RARE_AT: usize = 1_717;
const RARE_DOMAIN: &str = "Zephyr-Quokka.example";
const QUERY_TEXT: &str = "zephyr-quokka";

const ROWS: [&str; 6] = [
    "PROPFIND Depth 1, getetag",
    "sync-collection, initial (empty token)",
    "addressbook-query, EMAIL contains, address-data",
    "addressbook-multiget, 500 hrefs, address-data",
    "export the whole book (.vcf)",
    "import the whole book",
];
const IMPORT: usize = 5;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("carddav benchmark: skipped (run it with `cargo bench --bench carddav`)");
        return;
    }
    let runs = env_usize("DOMUS_BENCH_RUNS").unwrap_or(DEFAULT_RUNS);
    let n = env_usize("DOMUS_BENCH_CARDS").unwrap_or(DEFAULT_CARDS);
    let sample = env_usize("DOMUS_BENCH_XANDIKOS_SAMPLE").unwrap_or(DEFAULT_XANDIKOS_SAMPLE);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_domus"));
    let target = target_dir(&bin);
    let work = target.join("bench-data").join("carddav");
    std::fs::create_dir_all(&work).expect("create target/bench-data/carddav");

    let book = generate(n);
    eprintln!(
        "generated {n} cards ({} groups, {} with a photo, {} with {RARE_DOMAIN}, {:.1} MB of vCard)",
        book.cards.iter().filter(|c| c.group).count(),
        book.cards.iter().filter(|c| c.photo).count(),
        book.cards.iter().filter(|c| c.rare).count(),
        book.file.len() as f64 / 1e6
    );
    // For profiling a server by hand: the book as one file, and nothing else.
    if let Some(path) = std::env::var_os("DOMUS_BENCH_WRITE_VCF") {
        std::fs::write(&path, &book.file).expect("write DOMUS_BENCH_WRITE_VCF");
        eprintln!("wrote {}", PathBuf::from(path).display());
        return;
    }

    let mut columns: Vec<Column> = Vec::new();
    let peers = peers_wanted();
    for kind in Kind::ALL.into_iter().filter(|k| peers || *k == Kind::Domus) {
        eprintln!("== {}", kind.name());
        let column = match start(kind, Dav::CardDav, &bin, &target, &work) {
            Ok(server) => measure(server, &book, runs, sample),
            Err(reason) => {
                eprintln!("{}: n/a: {reason}", kind.name());
                Column::unavailable(kind, reason)
            }
        };
        columns.push(column);
    }
    report(&columns, &book, runs);
}

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

/// (as written, as in an e-mail address)
const GIVEN: &[(&str, &str)] = &[
    ("Anna", "anna"),
    ("Ben", "ben"),
    ("Clara", "clara"),
    ("David", "david"),
    ("Emma", "emma"),
    ("Felix", "felix"),
    ("Grace", "grace"),
    ("Hannah", "hannah"),
    ("Isaac", "isaac"),
    ("Julia", "julia"),
    ("Karl", "karl"),
    ("Laura", "laura"),
    ("Martin", "martin"),
    ("Nina", "nina"),
    ("Oscar", "oscar"),
    ("Paula", "paula"),
    ("Quentin", "quentin"),
    ("Rosa", "rosa"),
    ("Samuel", "samuel"),
    ("Theresa", "theresa"),
    ("Victor", "victor"),
    ("Wendy", "wendy"),
    ("Yusuf", "yusuf"),
    ("Zoë", "zoe"),
    ("Jürgen", "juergen"),
    ("José", "jose"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("Chloé", "chloe"),
    ("Aiko", "aiko"),
    ("Mei", "mei"),
    ("Priya", "priya"),
];

const FAMILY: &[(&str, &str)] = &[
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Brown", "brown"),
    ("Taylor", "taylor"),
    ("Wilson", "wilson"),
    ("Martin", "martin"),
    ("Schmidt", "schmidt"),
    ("Müller", "mueller"),
    ("Weber", "weber"),
    ("Fischer", "fischer"),
    ("García", "garcia"),
    ("Rodríguez", "rodriguez"),
    ("Rossi", "rossi"),
    ("Bianchi", "bianchi"),
    ("Dubois", "dubois"),
    ("Lefèvre", "lefevre"),
    ("Nowak", "nowak"),
    ("Kowalski", "kowalski"),
    ("Jensen", "jensen"),
    ("Nielsen", "nielsen"),
    ("Tanaka", "tanaka"),
    ("Suzuki", "suzuki"),
    ("Chen", "chen"),
    ("Wang", "wang"),
    ("Patel", "patel"),
    ("Singh", "singh"),
    ("Okafor", "okafor"),
    ("Silva", "silva"),
    ("Van Dijk", "vandijk"),
    ("O'Neill", "oneill"),
];

/// (organisation, its mail domain)
const COMPANIES: &[(&str, &str)] = &[
    ("Acme Corporation", "acme.example"),
    ("Globex", "globex.example"),
    ("Initech", "initech.example"),
    ("Umbrella Health", "umbrella.example"),
    ("Stark Industries", "stark.example"),
    ("Wayne Enterprises", "wayne.example"),
    ("Hooli", "hooli.example"),
    ("Vandelay Industries", "vandelay.example"),
    ("Soylent", "soylent.example"),
    ("Tyrell", "tyrell.example"),
    ("Cyberdyne Systems", "cyberdyne.example"),
    ("Oceanic Airlines", "oceanic.example"),
    ("Wonka Industries", "wonka.example"),
    ("Gringotts", "gringotts.example"),
    ("Pied Piper", "piedpiper.example"),
    ("Aperture Science", "aperture.example"),
];

const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Engineering",
    "Finance",
    "Legal",
    "Marketing",
    "Operations",
    "Research",
    "Support",
];

const TITLES: &[&str] = &[
    "Account Manager",
    "Software Engineer",
    "Controller",
    "Counsel",
    "Head of Marketing",
    "Operations Lead",
    "Researcher",
    "Support Specialist",
    "Director",
];

const PROVIDERS: &[&str] = &[
    "mail.example",
    "post.example",
    "inbox.example",
    "web.example",
];

const STREETS: &[&str] = &[
    "Main Street",
    "Hauptstraße",
    "Rue de la Paix",
    "High Street",
    "Calle Mayor",
    "Via Roma",
    "Market Square",
    "Station Road",
];

/// (city, postal code prefix, country)
const CITIES: &[(&str, &str, &str)] = &[
    ("Berlin", "10", "Germany"),
    ("München", "80", "Germany"),
    ("Paris", "75", "France"),
    ("Madrid", "28", "Spain"),
    ("Roma", "00", "Italy"),
    ("London", "EC", "United Kingdom"),
    ("Kraków", "30", "Poland"),
    ("København", "1", "Denmark"),
];

const CATEGORIES: &[&str] = &[
    "Friends",
    "Family",
    "Work",
    "Clients",
    "Suppliers",
    "Sports",
];

struct Card {
    /// The resource name inside the book: `UID.vcf`.
    name: String,
    text: String,
    group: bool,
    photo: bool,
    /// Has an address at [`RARE_DOMAIN`].
    rare: bool,
}

struct Book {
    cards: Vec<Card>,
    /// Every card, one after the other: the import file.
    file: String,
}

/// Card `i`'s UID, UUID-shaped, the same whatever the size of the book.
fn uid_of(i: usize) -> String {
    let mut r = Rng(SEED ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let (a, b) = (r.next(), r.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b & 0xfff,
        i
    )
}

/// Folds a content line at 75 octets (RFC 6350 §3.2; 2426 §5.8.1), never inside a
/// character, and ends it with CRLF.
fn push_folded(out: &mut String, line: &str) {
    let mut rest = line;
    let mut width = 75;
    loop {
        if rest.len() <= width {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = width;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        width = 74;
    }
}

/// A small JPEG-looking picture: a JFIF header, random bytes, the end marker.
fn photo(rng: &mut Rng) -> String {
    let len = 1200 + rng.below(1200) as usize;
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x48, 0x00, 0x48, 0x00, 0x00,
    ];
    while bytes.len() < len {
        bytes.extend_from_slice(&rng.next().to_le_bytes());
    }
    bytes.truncate(len);
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn person(i: usize, uid: &str, rng: &mut Rng) -> (String, bool, bool) {
    let (given, g) = GIVEN[rng.below(GIVEN.len() as u64) as usize];
    let (family, f) = FAMILY[rng.below(FAMILY.len() as u64) as usize];
    let (company, domain) = COMPANIES[rng.below(COMPANIES.len() as u64) as usize];
    let mut lines = vec![
        "BEGIN:VCARD".to_string(),
        "VERSION:3.0".to_string(),
        "PRODID:-//Domus//carddav bench//EN".to_string(),
        format!("UID:{uid}"),
        format!("FN:{given} {family}"),
        format!("N:{family};{given};;;"),
        format!("ORG:{company};{}", rng.pick(DEPARTMENTS)),
    ];
    if rng.chance(40) {
        lines.push(format!("TITLE:{}", rng.pick(TITLES)));
    }
    lines.push(format!("EMAIL;TYPE=INTERNET,WORK:{g}.{f}@{domain}"));
    if rng.chance(50) {
        lines.push(format!(
            "EMAIL;TYPE=INTERNET,HOME:{g}{f}{}@{}",
            rng.below(100),
            rng.pick(PROVIDERS)
        ));
        if rng.chance(30) {
            lines.push(format!(
                "EMAIL;TYPE=INTERNET:{}{f}@{}",
                &g[..1],
                rng.pick(PROVIDERS)
            ));
        }
    }
    let rare = i % RARE_EVERY == RARE_AT;
    if rare {
        let cap = |s: &str| s[..1].to_ascii_uppercase() + &s[1..];
        lines.push(format!(
            "EMAIL;TYPE=INTERNET,WORK:{}.{}@{RARE_DOMAIN}",
            cap(g),
            cap(f)
        ));
    }
    lines.push(format!(
        "TEL;TYPE=CELL:+49 15{} {:07}",
        rng.below(10),
        rng.below(10_000_000)
    ));
    if rng.chance(40) {
        lines.push(format!(
            "TEL;TYPE=WORK,VOICE:+49 {} {:06}",
            30 + rng.below(70),
            rng.below(1_000_000)
        ));
    }
    if rng.chance(30) {
        let (city, zip, country) = CITIES[rng.below(CITIES.len() as u64) as usize];
        lines.push(format!(
            "ADR;TYPE=HOME:;;{} {};{city};;{zip}{:03};{country}",
            1 + rng.below(200),
            rng.pick(STREETS),
            rng.below(1000)
        ));
    }
    if rng.chance(20) {
        lines.push(format!(
            "BDAY:{}-{:02}-{:02}",
            1950 + rng.below(55),
            1 + rng.below(12),
            1 + rng.below(28)
        ));
    }
    if rng.chance(20) {
        let words: Vec<&str> = (0..8 + rng.below(20)).map(|_| rng.pick(WORDS)).collect();
        lines.push(format!("NOTE:Met at the {} meeting.", words.join(" ")));
    }
    if rng.chance(25) {
        lines.push(format!("CATEGORIES:{}", rng.pick(CATEGORIES)));
    }
    let has_photo = rng.chance(10);
    if has_photo {
        lines.push(format!("PHOTO;ENCODING=b;TYPE=JPEG:{}", photo(rng)));
    }
    lines.push("REV:20260101T000000Z".to_string());
    lines.push("END:VCARD".to_string());
    let mut text = String::new();
    for l in &lines {
        push_folded(&mut text, l);
    }
    (text, has_photo, rare)
}

fn group(i: usize, uid: &str, rng: &mut Rng) -> String {
    let mut lines = vec![
        "BEGIN:VCARD".to_string(),
        "VERSION:3.0".to_string(),
        "PRODID:-//Domus//carddav bench//EN".to_string(),
        format!("UID:{uid}"),
        format!("FN:{} team {}", rng.pick(WORDS), i / GROUP_EVERY),
        format!("N:{} team {};;;;", rng.pick(WORDS), i / GROUP_EVERY),
        "X-ADDRESSBOOKSERVER-KIND:group".to_string(),
    ];
    for _ in 0..10 + rng.below(31) {
        let mut m = rng.below(i as u64) as usize;
        if m % GROUP_EVERY == GROUP_AT {
            m -= 1;
        }
        lines.push(format!("X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{}", uid_of(m)));
    }
    lines.push("REV:20260101T000000Z".to_string());
    lines.push("END:VCARD".to_string());
    let mut text = String::new();
    for l in &lines {
        push_folded(&mut text, l);
    }
    text
}

/// The book of `n` cards from the fixed seed; card `i` is the same whatever `n` is.
fn generate(n: usize) -> Book {
    let cards: Vec<Card> = (0..n).map(card).collect();
    let file = cards.iter().map(|c| c.text.as_str()).collect();
    Book { cards, file }
}

/// Card `i` (also those past the book, for Xandikos's late PUTs).
fn card(i: usize) -> Card {
    let mut rng = Rng(SEED.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9)));
    let uid = uid_of(i);
    let (text, photo, rare, group_card) = if i % GROUP_EVERY == GROUP_AT {
        (group(i, &uid, &mut rng), false, false, true)
    } else {
        let (t, p, r) = person(i, &uid, &mut rng);
        (t, p, r, false)
    };
    Card {
        name: format!("{uid}.vcf"),
        text,
        group: group_card,
        photo,
        rare,
    }
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

fn query_body() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
<D:prop><D:getetag/><C:address-data/></D:prop>
<C:filter test="anyof"><C:prop-filter name="EMAIL" test="anyof">
<C:text-match collation="i;unicode-casemap" match-type="contains">{QUERY_TEXT}</C:text-match>
</C:prop-filter></C:filter></C:addressbook-query>"#
    )
}

fn multiget_body(book: &str, cards: &[Card]) -> String {
    let step = (cards.len() / MULTIGET).max(1);
    let hrefs: String = cards
        .iter()
        .step_by(step)
        .take(MULTIGET)
        .map(|c| format!("<D:href>{book}{}</D:href>\n", c.name))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
<D:prop><D:getetag/><C:address-data/></D:prop>
{hrefs}</C:addressbook-multiget>"#
    )
}

fn put(server: &Server, path: &str, text: &str) -> Result<Duration, String> {
    let rb = server
        .request("PUT", path)
        .header("Content-Type", "text/vcard; charset=utf-8")
        .body(text.to_string());
    timed(rb, &[200, 201, 204])
        .map(|(d, _)| d)
        .map_err(|e| format!("PUT {path}: {e}"))
}

fn delete(server: &Server, path: &str) -> Result<(), String> {
    timed(server.request("DELETE", path), &[200, 204])
        .map(|_| ())
        .map_err(|e| format!("DELETE {path}: {e}"))
}

/// The home the server keeps address books in (the parent of the default book).
fn home(server: &Server) -> String {
    let trimmed = server.collection.trim_end_matches('/');
    let cut = trimmed.rfind('/').map_or(0, |i| i + 1);
    trimmed[..cut].to_string()
}

/// Domus: the id of the caller's book `name` (`GET /api/v1/addressbooks`).
fn domus_book_id(server: &Server, name: &str) -> Result<i64, String> {
    let (_, _, body) = timed_body(server.request("GET", "/api/v1/addressbooks"), &[200])?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("/api/v1/addressbooks: {e}"))?;
    v["addressBooks"]
        .as_array()
        .and_then(|books| books.iter().find(|b| b["name"] == name))
        .and_then(|b| b["id"].as_i64())
        .ok_or_else(|| format!("/api/v1/addressbooks lists no book {name}"))
}

/// Domus at the time of writing refuses an import body over 2 MiB with 413 (axum's
/// default body limit on the handler's `Bytes`, under the configured upload limit). When
/// the whole file is refused so, it goes in as consecutive POSTs of at most this many
/// bytes, cut between cards: merging by UID makes that the same book, in several
/// transactions instead of one. The time is then the sum of the POSTs.
const DOMUS_IMPORT_PIECE: usize = 2_000_000;
static DOMUS_SPLIT: AtomicBool = AtomicBool::new(false);

/// The file in pieces of at most [`DOMUS_IMPORT_PIECE`] bytes, cut between cards.
fn pieces(book: &Book) -> Vec<String> {
    let mut out = vec![String::new()];
    for c in &book.cards {
        let last = out.last_mut().expect("a piece");
        if !last.is_empty() && last.len() + c.text.len() > DOMUS_IMPORT_PIECE {
            out.push(String::new());
        }
        out.last_mut().expect("a piece").push_str(&c.text);
    }
    out
}

/// Domus: one POST of `body` into book `id`; the time and the number of cards created.
fn domus_post(server: &Server, id: i64, body: &str) -> Result<(Duration, usize), String> {
    let rb = server
        .request("POST", &format!("/api/v1/addressbooks/{id}/import"))
        .header("Content-Type", "text/vcard; charset=utf-8")
        .body(body.to_string());
    let (d, _, answer) = timed_body(rb, &[200]).map_err(|e| format!("import: {e}"))?;
    let v: serde_json::Value =
        serde_json::from_slice(&answer).map_err(|e| format!("import answer: {e}"))?;
    let created = v["created"].as_u64().unwrap_or(0) as usize;
    Ok((d, created))
}

/// Domus: imports the whole book into book `id` (in pieces if it must, see
/// [`DOMUS_IMPORT_PIECE`]); the time and the number of cards created.
fn domus_import(server: &Server, id: i64, book: &Book) -> Result<(Duration, usize), String> {
    if !DOMUS_SPLIT.load(Ordering::Relaxed) {
        match domus_post(server, id, &book.file) {
            Err(e) if e.contains("answered 413") => {
                eprintln!("  Domus refuses the whole file ({e}); importing it in pieces");
                DOMUS_SPLIT.store(true, Ordering::Relaxed);
            }
            other => return other,
        }
    }
    let mut took = Duration::ZERO;
    let mut created = 0;
    for piece in pieces(book) {
        let (d, c) = domus_post(server, id, &piece)?;
        took += d;
        created += c;
    }
    Ok((took, created))
}

/// Radicale: one PUT of the whole file at `path` (a new or replaced collection).
fn radicale_put_collection(server: &Server, path: &str, file: &str) -> Result<Duration, String> {
    let rb = server
        .request("PUT", path)
        .header("Content-Type", "text/vcard; charset=utf-8")
        .body(file.to_string());
    timed(rb, &[200, 201, 204])
        .map(|(d, _)| d)
        .map_err(|e| format!("PUT of the whole book on {path}: {e}"))
}

/// The cards in the book at `path`, by PROPFIND Depth 1 (untimed checks).
fn count_cards(server: &Server, path: &str) -> Result<usize, String> {
    let (_, seen) = timed(
        server
            .request("PROPFIND", path)
            .header("Depth", "1")
            .header("Content-Type", XML)
            .body(PROPFIND_ETAG),
        &[207],
    )?;
    Ok(seen.responses.saturating_sub(1))
}

// ---------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------

struct Cell {
    /// Median in ms.
    median: Result<f64, String>,
    /// What the last answer held, for the record.
    seen: Option<Seen>,
    /// Set when the figure is an estimate: how it was made.
    estimate: Option<String>,
}

impl Cell {
    fn failed(reason: String) -> Self {
        Cell {
            median: Err(reason),
            seen: None,
            estimate: None,
        }
    }
}

struct Column {
    kind: Kind,
    version: String,
    cells: Vec<Cell>,
    /// How the book was loaded for the read rows, and how long it took.
    load: Result<(String, Duration), String>,
    /// Domus only: export converted to vCard 4.0 (median ms).
    export_v4: Option<Result<(f64, Seen), String>>,
}

impl Column {
    fn unavailable(kind: Kind, reason: String) -> Self {
        Column {
            kind,
            version: "n/a".into(),
            cells: ROWS.iter().map(|_| Cell::failed(reason.clone())).collect(),
            load: Err(reason),
            export_v4: None,
        }
    }
}

fn cell(outcome: Result<(Vec<f64>, Seen), String>) -> Cell {
    match outcome {
        Ok((samples, seen)) => Cell {
            median: Ok(median(samples)),
            seen: Some(seen),
            estimate: None,
        },
        Err(e) => Cell::failed(e),
    }
}

/// Puts the whole book into the server, each its fastest way (see the module docs).
fn load(server: &Server, book: &Book) -> Result<(String, Duration), String> {
    let t = Instant::now();
    let how = match server.kind {
        Kind::Domus => {
            let id = domus_book_id(server, "contacts")?;
            let (_, created) = domus_import(server, id, book)?;
            if created != book.cards.len() {
                return Err(format!("import created {created} cards"));
            }
            if DOMUS_SPLIT.load(Ordering::Relaxed) {
                "`POST /api/v1/addressbooks/{id}/import` of the file in pieces of at most 2 MB"
            } else {
                "one `POST /api/v1/addressbooks/{id}/import` of the whole file"
            }
        }
        Kind::Radicale => {
            radicale_put_collection(server, &server.collection, &book.file)?;
            "one `PUT` of the whole file on the address book"
        }
        Kind::Xandikos => {
            write_into_storage(
                server,
                &server.collection,
                book.cards
                    .iter()
                    .map(|c| (c.name.as_str(), c.text.as_str())),
            )?;
            "files written into the git working tree, one commit (dulwich)"
        }
    };
    let took = t.elapsed();
    let found = count_cards(server, &server.collection)?;
    if found != book.cards.len() {
        return Err(format!(
            "after loading, PROPFIND lists {found} cards, not {}",
            book.cards.len()
        ));
    }
    eprintln!(
        "  loaded {} cards in {:.1} s: {how}",
        book.cards.len(),
        took.as_secs_f64()
    );
    Ok((how.to_string(), took))
}

fn measure(server: Server, book: &Book, runs: usize, sample: usize) -> Column {
    let name = server.kind.name();
    let mut cells = Vec::new();
    let load = load(&server, book);
    if let Err(e) = &load {
        eprintln!("  {name}: loading failed: {e}");
        let reason = format!("the address book could not be loaded: {e}");
        while cells.len() < ROWS.len() {
            cells.push(Cell::failed(reason.clone()));
        }
        return finish(server, cells, load, None);
    }
    let ab = server.collection.clone();

    eprintln!("  {name}: PROPFIND");
    cells.push(cell(repeat(runs, |_| {
        timed(
            server
                .request("PROPFIND", &ab)
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
                .request("REPORT", &ab)
                .header("Depth", "0")
                .header("Content-Type", XML)
                .body(sync_body("")),
            &[207],
        )
    })));
    eprintln!("  {name}: addressbook-query");
    let query = query_body();
    cells.push(cell(repeat(runs, |_| {
        timed(
            server
                .request("REPORT", &ab)
                .header("Depth", "1")
                .header("Content-Type", XML)
                .body(query.clone()),
            &[207],
        )
    })));
    eprintln!("  {name}: addressbook-multiget");
    let multiget = multiget_body(&ab, &book.cards);
    cells.push(cell(repeat(runs, |_| {
        timed(
            server
                .request("REPORT", &ab)
                .header("Depth", "0")
                .header("Content-Type", XML)
                .body(multiget.clone()),
            &[207],
        )
    })));

    eprintln!("  {name}: export");
    let mut export_v4 = None;
    let export_path = match server.kind {
        Kind::Domus => domus_book_id(&server, "contacts")
            .map(|id| format!("/api/v1/addressbooks/{id}/export?version=3")),
        _ => Ok(ab.clone()),
    };
    cells.push(cell(export_path.and_then(|path| {
        repeat(runs, |_| timed(server.request("GET", &path), &[200])).and_then(|(s, seen)| {
            if seen.vcards == 0 {
                Err(format!(
                    "GET on the address book gives no vCard ({} bytes, no BEGIN:VCARD)",
                    seen.bytes
                ))
            } else {
                Ok((s, seen))
            }
        })
    })));
    if server.kind == Kind::Domus {
        export_v4 = Some(
            domus_book_id(&server, "contacts")
                .and_then(|id| {
                    let path = format!("/api/v1/addressbooks/{id}/export?version=4");
                    repeat(runs, |_| timed(server.request("GET", &path), &[200]))
                })
                .map(|(s, seen)| (median(s), seen)),
        );
    }

    eprintln!("  {name}: import");
    cells.push(match server.kind {
        Kind::Xandikos => xandikos_import(&server, book, sample),
        _ => cell(repeat(runs, |run| import_once(&server, book, run))),
    });
    finish(server, cells, load, export_v4)
}

/// Row 6, one run: the whole file into a new book (made before, removed after, untimed).
fn import_once(server: &Server, book: &Book, run: usize) -> Result<(Duration, Seen), String> {
    let name = format!("import-{run}");
    let path = format!("{}{name}/", home(server));
    let n = book.cards.len();
    let (took, created) = match server.kind {
        Kind::Domus => {
            mkcol_addressbook(server, &path)?;
            let id = domus_book_id(server, &name)?;
            domus_import(server, id, book)?
        }
        Kind::Radicale => {
            let took = radicale_put_collection(server, &path, &book.file)?;
            // Check the first run only: a PROPFIND of the new book costs Radicale seconds.
            let created = if run == 0 {
                count_cards(server, &path)?
            } else {
                n
            };
            (took, created)
        }
        Kind::Xandikos => unreachable!("Xandikos is sampled"),
    };
    if created != n {
        return Err(format!("import into {path} made {created} cards, not {n}"));
    }
    delete(server, &path)?;
    Ok((
        took,
        Seen {
            vcards: created,
            ..Seen::default()
        },
    ))
}

/// Row 6 for Xandikos: it has no import and a PUT per card costs a git commit of the
/// book's whole tree, so the cost per PUT grows with the book. PUTs `sample` cards into a
/// new book (in batches), then `XANDIKOS_LATE_SAMPLE` new cards into the full book, and
/// sums the straight line between the two per-PUT costs over the whole book.
fn xandikos_import(server: &Server, book: &Book, sample: usize) -> Cell {
    let n = book.cards.len();
    let sample = sample.min(n);
    let path = format!("{}import-sample/", home(server));
    let outcome = (|| -> Result<(f64, String, Seen), String> {
        mkcol_addressbook(server, &path)?;
        let batch = sample.div_ceil(SAMPLE_BATCHES).max(1);
        let mut early = Vec::new();
        let t0 = Instant::now();
        for chunk in book.cards[..sample].chunks(batch) {
            let t = Instant::now();
            for c in chunk {
                put(server, &format!("{path}{}", c.name), &c.text)?;
            }
            early.push(ms(t.elapsed()) / chunk.len() as f64);
            eprintln!(
                "  PUT {} cards into a new book: {:.1} ms per card ({:.1} s)",
                (early.len() * batch).min(sample),
                early.last().copied().unwrap_or_default(),
                t0.elapsed().as_secs_f64()
            );
        }
        let late_cards: Vec<Card> = (n..n + XANDIKOS_LATE_SAMPLE).map(card).collect();
        let t = Instant::now();
        for c in &late_cards {
            put(server, &format!("{}{}", server.collection, c.name), &c.text)?;
        }
        let late = ms(t.elapsed()) / late_cards.len() as f64;
        eprintln!(
            "  PUT {} cards into the full book: {late:.1} ms per card",
            late_cards.len()
        );
        // Per-PUT cost at book size k: the line through (sample / 2, a) and (n, late).
        let a = early.iter().sum::<f64>() / early.len() as f64;
        let x0 = sample as f64 / 2.0;
        let slope = if (n as f64) > x0 {
            (late - a) / (n as f64 - x0)
        } else {
            0.0
        };
        let total: f64 = (0..n).map(|k| (a + slope * (k as f64 - x0)).max(0.0)).sum();
        let how = format!(
            "estimated: {sample} PUTs into an empty book took {a:.1} ms each ({}), \
             {} PUTs into the full book of {n} took {late:.1} ms each; the estimate sums \
             the straight line between the two over {n} PUTs",
            early
                .iter()
                .map(|v| format!("{v:.1}"))
                .collect::<Vec<_>>()
                .join(" / "),
            late_cards.len()
        );
        let seen = Seen {
            vcards: sample + late_cards.len(),
            ..Seen::default()
        };
        Ok((total, how, seen))
    })();
    match outcome {
        Ok((total, how, seen)) => Cell {
            median: Ok(total),
            seen: Some(seen),
            estimate: Some(how),
        },
        Err(e) => Cell::failed(e),
    }
}

fn finish(
    server: Server,
    cells: Vec<Cell>,
    load: Result<(String, Duration), String>,
    export_v4: Option<Result<(f64, Seen), String>>,
) -> Column {
    for (row, c) in ROWS.iter().zip(&cells) {
        match (&c.median, &c.seen) {
            (Ok(m), Some(s)) => eprintln!(
                "  {}: {row}: {} ({} responses, {} VCARDs, {} bytes){}",
                server.kind.name(),
                fmt_ms(*m),
                s.responses,
                s.vcards,
                s.bytes,
                if c.estimate.is_some() {
                    " (estimated)"
                } else {
                    ""
                }
            ),
            (Ok(m), None) => eprintln!("  {}: {row}: {}", server.kind.name(), fmt_ms(*m)),
            (Err(e), _) => eprintln!("  {}: {row}: n/a: {e}", server.kind.name()),
        }
    }
    Column {
        kind: server.kind,
        version: server.version.clone(),
        cells,
        load,
        export_v4,
    }
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

fn report(columns: &[Column], book: &Book, runs: usize) {
    let n = book.cards.len();
    let domus = &columns[0];
    let peers = &columns[1..];
    println!();
    println!(
        "CardDAV, one address book of {n} vCard 3.0 cards ({:.1} MB), median of {runs} runs; \
         ratio = peer / Domus (higher is better for Domus); ~ marks an estimate",
        book.file.len() as f64 / 1e6
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
    let target = 20.0;
    let mut all = true;
    let mut judged = 0;
    for (r, row) in ROWS.iter().enumerate() {
        let d = &domus.cells[r].median;
        let value = |v: f64, estimate: bool| {
            let mark = if estimate { "~" } else { "" };
            if r == IMPORT {
                format!("{mark}{} ({:.0}/s)", fmt_ms(v), n as f64 * 1000.0 / v)
            } else {
                format!("{mark}{}", fmt_ms(v))
            }
        };
        let mut line = format!("| {}. {row} | ", r + 1);
        line.push_str(&match d {
            Ok(v) => value(*v, false),
            Err(e) => {
                notes.push(format!("row {} Domus: {e}", r + 1));
                "n/a".into()
            }
        });
        for p in peers {
            let c = &p.cells[r];
            line.push_str(" | ");
            line.push_str(&match &c.median {
                Ok(v) => value(*v, c.estimate.is_some()),
                Err(e) => {
                    if p.version != "n/a" || r == 0 {
                        notes.push(format!("row {} {}: {e}", r + 1, p.kind.name()));
                    }
                    "n/a".into()
                }
            });
            if let Some(how) = &c.estimate {
                notes.push(format!("row {} {}: {how}", r + 1, p.kind.name()));
            }
        }
        // The verdict: the faster measured peer; an estimate only when nothing was measured.
        let mut measured: Option<f64> = None;
        let mut estimated: Option<f64> = None;
        for p in peers {
            line.push_str(" | ");
            let c = &p.cells[r];
            match (d, &c.median) {
                (Ok(dv), Ok(pv)) => {
                    let ratio = pv / dv;
                    let slot = if c.estimate.is_some() {
                        line.push('~');
                        &mut estimated
                    } else {
                        &mut measured
                    };
                    *slot = Some(slot.map_or(ratio, |b: f64| b.min(ratio)));
                    line.push_str(&format!("{ratio:.1}x"));
                }
                _ => line.push_str("n/a"),
            }
        }
        let (best, est) = match (measured, estimated) {
            (Some(m), _) => (Some(m), ""),
            (None, Some(e)) => (Some(e), " (estimate)"),
            (None, None) => (None, ""),
        };
        let verdict = match best {
            Some(b) if b >= target => format!("PASS{est}"),
            Some(b) => {
                all = false;
                format!("FAIL ({b:.1}x){est}")
            }
            None => "n/a".to_string(),
        };
        judged += usize::from(best.is_some());
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
    for (r, row) in ROWS.iter().enumerate() {
        let mut line = format!("| {}. {row} |", r + 1);
        for c in columns {
            let cell = &c.cells[r];
            line.push_str(&match &cell.seen {
                Some(s) if r == IMPORT && cell.estimate.is_some() => {
                    format!(" {} cards PUT (sample) |", s.vcards)
                }
                Some(s) if r == IMPORT => format!(" {} cards made |", s.vcards),
                Some(s) if s.responses > 0 => format!(
                    " {} responses, {} VCARDs, {:.2} MB |",
                    s.responses,
                    s.vcards,
                    s.bytes as f64 / 1e6
                ),
                Some(s) => format!(" {} VCARDs, {:.2} MB |", s.vcards, s.bytes as f64 / 1e6),
                None => " n/a |".into(),
            });
        }
        println!("{line}");
    }

    println!();
    println!("Loading the address book for rows 1-5 (untimed for the table):");
    println!();
    println!("| server | how | took |");
    println!("| --- | --- | ---: |");
    for c in columns {
        match &c.load {
            Ok((how, took)) => println!(
                "| {} | {how} | {:.1} s |",
                c.kind.name(),
                took.as_secs_f64()
            ),
            Err(e) => println!("| {} | n/a: {e} | |", c.kind.name()),
        }
    }
    if let Some(v4) = &domus.export_v4 {
        println!();
        match v4 {
            Ok((v, s)) => println!(
                "Domus alone: export converted to vCard 4.0 (`?version=4`, every card \
                 converted on the way out): {} ({} VCARDs, {:.2} MB)",
                fmt_ms(*v),
                s.vcards,
                s.bytes as f64 / 1e6
            ),
            Err(e) => println!("Domus alone: export as vCard 4.0: n/a: {e}"),
        }
    }

    if DOMUS_SPLIT.load(Ordering::Relaxed) {
        notes.push(format!(
            "Domus refused the whole file in one import POST (413: over 2 MiB); it was \
             imported in {} POSTs of at most {DOMUS_IMPORT_PIECE} bytes, cut between cards, \
             for loading and for row 6 (the time is their sum)",
            pieces(book).len()
        ));
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
        if !all {
            "a target was missed (this is a measurement; the bench does not fail)"
        } else if judged < ROWS.len() {
            "no target was missed, but some rows have no verdict (n/a)"
        } else {
            "all targets met"
        }
    );
}
