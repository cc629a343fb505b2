//! Fetching a subscribed feed: bounded in size and time, conditional (ETag,
//! If-Modified-Since), and never reaching private, loopback or link-local addresses
//! (names that resolve there, literal addresses, and redirects that lead there included)
//! unless the configuration allows them. `webcal://` is tried as https, then http.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// How a fetch may reach the network.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Every private, loopback and link-local address is allowed.
    pub allow_private: bool,
    /// These networks are allowed although private (an intranet feed server).
    pub allowed: Vec<Network>,
    pub max_bytes: usize,
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            allow_private: false,
            allowed: Vec::new(),
            max_bytes: 20 << 20,
            timeout: Duration::from_secs(30),
        }
    }
}

impl FetchPolicy {
    /// Whether a fetch may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private || !forbidden_ip(ip) || self.allowed.iter().any(|n| n.contains(ip))
    }
}

/// An address or a network in CIDR form (`10.1.0.0/16`, `127.0.0.2`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Network, String> {
        let bad = || format!("{s:?} is not an address or a network like 10.1.0.0/16");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Network { addr, prefix })
    }
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> u128 {
            match ip {
                IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
                IpAddr::V6(v6) => u128::from(v6),
            }
        };
        if self.addr.is_ipv4() != ip.is_ipv4() {
            return false;
        }
        let mask = if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix))
        };
        bits(self.addr) & mask == bits(ip) & mask
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("the URL {0:?} is not an http, https or webcal URL")]
    BadUrl(String),
    #[error(
        "{0} leads to a private, loopback or link-local address, which subscriptions may not reach"
    )]
    Forbidden(String),
    #[error("the feed is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("{0}")]
    Network(String),
}

/// What a fetch brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: what we have is current.
    NotModified,
    Body {
        text: String,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// Addresses a subscription may not reach: loopback, private (RFC 1918, ULA), link-local,
/// CGNAT, unspecified, multicast, broadcast, documentation ranges, and IPv4-mapped forms.
pub fn forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_ip(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

/// A resolver that drops forbidden addresses (and fails when none is left).
struct GuardedResolver {
    policy: FetchPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(FetchError::Forbidden(host))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Refuses a URL whose host is a forbidden literal address (names go through the resolver).
fn check_literal(url: &reqwest::Url, policy: &FetchPolicy) -> Result<(), FetchError> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(d)) => match d.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return Ok(()),
        },
        None => return Err(FetchError::BadUrl(url.to_string())),
    };
    if !policy.permits(ip) {
        return Err(FetchError::Forbidden(
            url.host_str().unwrap_or("").to_string(),
        ));
    }
    Ok(())
}

/// The URLs to try for a subscription URL, in order (`webcal://` as https, then http).
pub fn candidates(url: &str) -> Result<Vec<reqwest::Url>, FetchError> {
    let bad = || FetchError::BadUrl(url.to_string());
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| bad())?;
    let with_scheme = |scheme: &str| -> Result<reqwest::Url, FetchError> {
        let rest = url.trim().split_once("://").map(|x| x.1).ok_or_else(bad)?;
        reqwest::Url::parse(&format!("{scheme}://{rest}")).map_err(|_| bad())
    };
    match parsed.scheme() {
        "http" | "https" => Ok(vec![parsed]),
        "webcal" | "webcals" => Ok(vec![with_scheme("https")?, with_scheme("http")?]),
        _ => Err(bad()),
    }
}

fn client(policy: &FetchPolicy) -> Result<reqwest::Client, FetchError> {
    let guard = policy.clone();
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver {
            policy: policy.clone(),
        }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if let Err(e) = check_literal(attempt.url(), &guard) {
                attempt.error(e)
            } else {
                attempt.follow()
            }
        }))
        .timeout(policy.timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!(
            "Domus/",
            env!("CARGO_PKG_VERSION"),
            " (calendar subscription)"
        ))
        .build()
        .map_err(|e| FetchError::Network(e.to_string()))
}

/// The innermost cause of a reqwest error, in words (a forbidden address stays one).
fn explain(e: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(f) = s.downcast_ref::<FetchError>() {
            return f.clone();
        }
        source = s.source();
    }
    if e.is_timeout() {
        return FetchError::Network("the server did not answer in time".into());
    }
    FetchError::Network(e.to_string())
}

impl Clone for FetchError {
    fn clone(&self) -> Self {
        match self {
            FetchError::BadUrl(s) => FetchError::BadUrl(s.clone()),
            FetchError::Forbidden(s) => FetchError::Forbidden(s.clone()),
            FetchError::TooLarge(n) => FetchError::TooLarge(*n),
            FetchError::Status(s) => FetchError::Status(*s),
            FetchError::Network(s) => FetchError::Network(s.clone()),
        }
    }
}

/// Fetches `url` with the validators of the last good fetch.
pub async fn fetch(
    url: &str,
    etag: Option<&str>,
    last_modified: Option<&str>,
    policy: &FetchPolicy,
) -> Result<Fetched, FetchError> {
    let client = client(policy)?;
    let mut last = FetchError::BadUrl(url.to_string());
    for candidate in candidates(url)? {
        check_literal(&candidate, policy)?;
        let mut req = client.get(candidate.clone());
        if let Some(e) = etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, e);
        }
        if let Some(m) = last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, m);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                last = explain(&e);
                if matches!(last, FetchError::Forbidden(_)) {
                    return Err(last);
                }
                continue;
            }
        };
        if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        if resp
            .content_length()
            .is_some_and(|n| n as usize > policy.max_bytes)
        {
            return Err(FetchError::TooLarge(policy.max_bytes));
        }
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (etag, last_modified) = (
            header(reqwest::header::ETAG),
            header(reqwest::header::LAST_MODIFIED),
        );
        let mut body = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp.chunk().await.map_err(|e| explain(&e))? {
            if body.len() + chunk.len() > policy.max_bytes {
                return Err(FetchError::TooLarge(policy.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body)
            .map_err(|_| FetchError::Network("the feed is not UTF-8 text".into()))?;
        return Ok(Fetched::Body {
            text,
            etag,
            last_modified,
        });
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::",
        ] {
            assert!(forbidden_ip(bad.parse().unwrap()), "{bad}");
        }
        for good in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!forbidden_ip(good.parse().unwrap()), "{good}");
        }
    }

    #[test]
    fn allowed_networks_open_private_addresses_one_by_one() {
        let policy = FetchPolicy {
            allowed: vec!["127.0.0.2".parse().unwrap(), "10.1.0.0/16".parse().unwrap()],
            ..FetchPolicy::default()
        };
        assert!(policy.permits("127.0.0.2".parse().unwrap()));
        assert!(policy.permits("10.1.200.3".parse().unwrap()));
        assert!(!policy.permits("127.0.0.1".parse().unwrap()));
        assert!(!policy.permits("10.2.0.1".parse().unwrap()));
        assert!(policy.permits("93.184.216.34".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nonsense".parse::<Network>().is_err());
        let v6: Network = "fd00::/8".parse().unwrap();
        assert!(
            v6.contains("fd12::1".parse().unwrap()) && !v6.contains("10.0.0.1".parse().unwrap())
        );
    }

    #[test]
    fn webcal_is_tried_as_https_then_http() {
        let c = candidates("webcal://example.org/cal.ics").unwrap();
        assert_eq!(c[0].as_str(), "https://example.org/cal.ics");
        assert_eq!(c[1].as_str(), "http://example.org/cal.ics");
        assert!(candidates("ftp://example.org/x").is_err());
        assert!(candidates("not a url").is_err());
    }

    #[tokio::test]
    async fn literal_private_addresses_are_refused_before_connecting() {
        let e = fetch(
            "http://127.0.0.1:9/x.ics",
            None,
            None,
            &FetchPolicy::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, FetchError::Forbidden(_)), "{e}");
        let e = fetch("http://[::1]:9/x.ics", None, None, &FetchPolicy::default())
            .await
            .unwrap_err();
        assert!(matches!(e, FetchError::Forbidden(_)), "{e}");
        // A name that resolves to loopback is refused by the resolver.
        let e = fetch(
            "http://localhost:9/x.ics",
            None,
            None,
            &FetchPolicy::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, FetchError::Forbidden(_)), "{e}");
    }
}
