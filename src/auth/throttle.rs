//! Failed-login throttling: a leaky bucket per key (a source network, an account).
//! Each failure adds one; the level drains at `limit / window`. A key whose level has
//! reached `limit` is refused without checking its password, which also spares the CPU
//! that argon2 would spend on a guessing attack.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before idle ones are swept out.
const SWEEP_AT: usize = 50_000;

pub struct Throttle {
    limit: f64,
    /// Drain per second.
    rate: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Throttle {
    pub fn new(limit: u32, window: Duration) -> Self {
        let limit = f64::from(limit.max(1));
        Throttle {
            limit,
            rate: limit / window.as_secs_f64().max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn level(&self, level: f64, since: Instant, now: Instant) -> f64 {
        (level - now.duration_since(since).as_secs_f64() * self.rate).max(0.0)
    }

    /// `Some(wait)` while `key` is blocked.
    pub fn blocked(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        let buckets = self.buckets.lock().ok()?;
        let &(level, since) = buckets.get(key)?;
        let level = self.level(level, since, now);
        // Blocked once `limit` failures are in the bucket (the hair drained since then
        // must not let the next guess through), until one failure's worth has drained.
        let threshold = self.limit - 1.0;
        (level > threshold).then(|| {
            Duration::from_secs_f64((level - threshold) / self.rate).max(Duration::from_secs(1))
        })
    }

    pub fn fail(&self, key: &str) {
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, (level, since)| self.level(*level, *since, now) > 0.0);
        }
        let entry = buckets.entry(key.to_string()).or_insert((0.0, now));
        *entry = (self.level(entry.0, entry.1, now) + 1.0, now);
    }

    pub fn forget(&self, key: &str) {
        if let Ok(mut buckets) = self.buckets.lock() {
            buckets.remove(key);
        }
    }
}

/// The throttle key of a source address: the address itself for IPv4, its /64 for IPv6
/// (one host usually owns a whole /64).
pub fn source_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_forgets_on_request() {
        let t = Throttle::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            t.fail("k");
            assert!(t.blocked("k").is_none());
        }
        t.fail("k");
        let wait = t.blocked("k").expect("blocked after 3 failures");
        assert!(
            wait >= Duration::from_secs(1) && wait <= Duration::from_secs(21),
            "{wait:?}"
        );
        assert!(t.blocked("other").is_none());
        t.forget("k");
        assert!(t.blocked("k").is_none());
    }

    #[test]
    fn ipv6_hosts_share_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_eq!(
            source_key("::ffff:10.0.0.1".parse().unwrap()),
            "ip:10.0.0.1"
        );
    }
}
