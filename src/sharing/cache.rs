//! Rendered share feeds kept in memory, so that the subscribers of one feed who all ask
//! for it after a change (a calendar of 10,000 events is 4 MB of iCalendar and tens of
//! milliseconds to render, more to gzip) cost one rendering, not one each.
//!
//! An entry is keyed by the domain and the feed's ETag, which already names the link kind,
//! the collection and its change counter (and, for vCard feeds, the version): a change to
//! the collection makes a new ETag and so a new entry, and the old one ages out. Entries
//! are also dropped after `max_age` (the feed's refresh interval), because a few things a
//! feed shows move without the change counter: the free/busy window follows the clock,
//! and the owner's addresses decide which invitations are declined. The gzip form is a
//! separate entry, made on first request. The cache holds at most `budget` bytes (least
//! recently used out first); a body larger than a quarter of it is not kept.
//!
//! Only a request that resolved a share token reaches the cache, and the key holds the
//! domain: one domain's feed is never served for another's.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lru::LruCache;

use crate::store::DomainId;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub domain: DomainId,
    /// The feed's ETag (quoted, as sent).
    pub etag: String,
    pub gzip: bool,
}

struct Entry {
    body: Bytes,
    made: Instant,
}

struct Inner {
    entries: LruCache<Key, Entry>,
    bytes: usize,
}

pub struct FeedCache {
    inner: Mutex<Inner>,
    budget: usize,
    max_age: Duration,
}

impl FeedCache {
    /// A cache of at most `budget` bytes whose entries live at most `max_age`. A budget of
    /// 0 keeps nothing.
    pub fn new(budget: usize, max_age: Duration) -> FeedCache {
        FeedCache {
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
            budget,
            max_age,
        }
    }

    /// The body kept under `key`, if it is there and young enough.
    pub fn get(&self, key: &Key) -> Option<Bytes> {
        let mut inner = self.inner.lock().ok()?;
        let expired = match inner.entries.get(key) {
            None => return None,
            Some(e) if e.made.elapsed() <= self.max_age => return Some(e.body.clone()),
            Some(_) => true,
        };
        if expired && let Some(old) = inner.entries.pop(key) {
            inner.bytes -= old.body.len();
        }
        None
    }

    /// Keeps `body` under `key`, making room by dropping the least recently used.
    pub fn put(&self, key: Key, body: Bytes) {
        if body.len() > self.budget / 4 {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let len = body.len();
        if let Some(old) = inner.entries.put(
            key,
            Entry {
                body,
                made: Instant::now(),
            },
        ) {
            inner.bytes -= old.body.len();
        }
        inner.bytes += len;
        while inner.bytes > self.budget {
            match inner.entries.pop_lru() {
                Some((_, old)) => inner.bytes -= old.body.len(),
                None => break,
            }
        }
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().map(|i| i.bytes).unwrap_or(0)
    }
}

/// Whether an `Accept-Encoding` value accepts gzip (RFC 9110 §12.5.3: a `q=0` refuses it).
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if !coding.eq_ignore_ascii_case("gzip") && !coding.eq_ignore_ascii_case("x-gzip") {
            return false;
        }
        parts.all(|p| {
            let p = p.trim();
            match p.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("q") => {
                    v.trim().parse::<f32>().map(|q| q > 0.0).unwrap_or(false)
                }
                _ => true,
            }
        })
    })
}

/// `body` gzip-compressed (the default level: a feed is compressed once and sent many
/// times).
pub fn gzip(body: &[u8]) -> Bytes {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 6),
        flate2::Compression::default(),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(body);
    Bytes::from(enc.finish().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(domain: i64, etag: &str) -> Key {
        thread_local! {
            static DOMAINS: [DomainId; 2] = [DomainId::generate(), DomainId::generate()];
        }
        Key {
            domain: DOMAINS.with(|d| d[(domain - 1) as usize].clone()),
            etag: etag.into(),
            gzip: false,
        }
    }

    #[test]
    fn entries_are_per_domain_and_etag() {
        let c = FeedCache::new(1000, Duration::from_secs(60));
        c.put(key(1, "\"a\""), Bytes::from_static(b"one"));
        assert_eq!(c.get(&key(1, "\"a\"")).as_deref(), Some(&b"one"[..]));
        assert!(c.get(&key(2, "\"a\"")).is_none());
        assert!(c.get(&key(1, "\"b\"")).is_none());
        let mut gz = key(1, "\"a\"");
        gz.gzip = true;
        assert!(c.get(&gz).is_none());
    }

    #[test]
    fn the_budget_holds_and_the_least_recently_used_goes_first() {
        let c = FeedCache::new(400, Duration::from_secs(60));
        c.put(key(1, "a"), Bytes::from(vec![0; 100]));
        c.put(key(1, "b"), Bytes::from(vec![0; 100]));
        c.put(key(1, "c"), Bytes::from(vec![0; 100]));
        assert!(c.get(&key(1, "a")).is_some());
        c.put(key(1, "d"), Bytes::from(vec![0; 100]));
        c.put(key(1, "e"), Bytes::from(vec![0; 100]));
        assert!(c.bytes() <= 400);
        assert!(
            c.get(&key(1, "b")).is_none(),
            "b was the least recently used"
        );
        assert!(c.get(&key(1, "a")).is_some());
        // Larger than a quarter of the budget: not kept.
        c.put(key(1, "big"), Bytes::from(vec![0; 101]));
        assert!(c.get(&key(1, "big")).is_none());
        // Replacing an entry counts its bytes once.
        c.put(key(1, "a"), Bytes::from(vec![0; 50]));
        assert_eq!(c.bytes(), 350);
    }

    #[test]
    fn old_entries_are_not_served() {
        let c = FeedCache::new(1000, Duration::ZERO);
        c.put(key(1, "a"), Bytes::from_static(b"x"));
        std::thread::sleep(Duration::from_millis(2));
        assert!(c.get(&key(1, "a")).is_none());
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn gzip_acceptance_follows_q_values() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.5"));
        assert!(accepts_gzip("br, GZIP"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip; q=0.0"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("gzipx"));
        assert!(!accepts_gzip(""));
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let body = "BEGIN:VCALENDAR\r\n".repeat(100);
        let z = gzip(body.as_bytes());
        assert!(z.len() < body.len());
        let mut out = String::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }
}
