//! Configuration: built-in defaults, overridden by a TOML file, overridden by environment
//! variables and command-line flags (clap reads both; the flag wins). `docs/configuration.md`
//! documents every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::auth::AuthConfig;
use crate::store::{StoreConfig, Synchronous};

pub const DEFAULT_DATA: &str = "./domus-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The configuration file, as written (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub public_url: Option<String>,
    pub tls: Option<TlsConfig>,
    pub storage: StorageSection,
    pub auth: AuthConfig,
    pub http: HttpSection,
    pub log: LogSection,
    pub sharing: SharingSection,
    pub subscriptions: SubscriptionsSection,
}

/// Subscriptions to feeds (external calendars, subscribed address books).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubscriptionsSection {
    /// Let fetches reach private, loopback and link-local addresses (an intranet feed).
    /// Off by default: a user could otherwise make the server read internal services.
    pub allow_private: bool,
    /// Private addresses or networks fetches may reach anyway (`["10.1.0.0/16"]`): an
    /// intranet feed server, without opening every private address.
    pub allow_networks: Vec<String>,
    /// Largest feed accepted, in bytes.
    pub max_bytes: usize,
    /// Time one fetch may take, in seconds.
    pub timeout_secs: u64,
    /// How often a feed is fetched when it does not say (REFRESH-INTERVAL), in seconds.
    pub refresh_secs: i64,
}

impl Default for SubscriptionsSection {
    fn default() -> Self {
        SubscriptionsSection {
            allow_private: false,
            allow_networks: Vec::new(),
            max_bytes: 20 << 20,
            timeout_secs: 30,
            refresh_secs: 3600,
        }
    }
}

impl SubscriptionsSection {
    pub fn policy(&self) -> crate::sharing::fetch::FetchPolicy {
        crate::sharing::fetch::FetchPolicy {
            allow_private: self.allow_private,
            // Checked at load (`Config::load`): every entry parses.
            allowed: self
                .allow_networks
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
            max_bytes: self.max_bytes,
            timeout: std::time::Duration::from_secs(self.timeout_secs.max(1)),
        }
    }
}

/// Share links.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharingSection {
    /// How often subscribers should refresh a calendar feed, in seconds: the feed's
    /// REFRESH-INTERVAL and X-PUBLISHED-TTL and the HTTP max-age.
    pub refresh_secs: u64,
    /// Unknown share tokens one source address may try per minute before getting 429.
    pub misses_per_minute: u32,
    /// Memory for rendered feeds, in MB (0 keeps none): the subscribers of a feed who
    /// fetch it after a change share one rendering (and one gzip).
    pub feed_cache_mb: u64,
}

impl Default for SharingSection {
    fn default() -> Self {
        SharingSection {
            refresh_secs: crate::sharing::DEFAULT_REFRESH_SECS,
            misses_per_minute: 30,
            feed_cache_mb: 64,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSection {
    pub max_open_domains: usize,
    pub idle_close_secs: u64,
    pub readers_per_domain: usize,
    pub synchronous: Synchronous,
    pub busy_timeout_ms: u64,
}

impl Default for StorageSection {
    fn default() -> Self {
        let d = StoreConfig::default();
        StorageSection {
            max_open_domains: d.max_open_domains,
            idle_close_secs: d.idle_close.as_secs(),
            readers_per_domain: d.readers_per_db,
            synchronous: d.synchronous,
            busy_timeout_ms: d.busy_timeout.as_millis() as u64,
        }
    }
}

impl StorageSection {
    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            max_open_domains: self.max_open_domains.max(1),
            idle_close: Duration::from_secs(self.idle_close_secs),
            readers_per_db: self.readers_per_domain,
            synchronous: self.synchronous,
            busy_timeout: Duration::from_millis(self.busy_timeout_ms),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    /// Largest request body accepted by the JSON API and for XML in WebDAV, in bytes.
    pub max_body_bytes: usize,
    /// Largest file a WebDAV PUT may upload, in bytes.
    pub max_upload_bytes: usize,
    /// Time a client has to send its request headers, in seconds.
    pub header_timeout_secs: u64,
    /// Time in-flight requests get to finish at shutdown, in seconds.
    pub shutdown_grace_secs: u64,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            max_body_bytes: 1 << 20,
            max_upload_bytes: 100 << 20,
            header_timeout_secs: 30,
            shutdown_grace_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `domus=debug,tower_http=info`. `RUST_LOG` wins.
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// What flags and environment variables said (None when neither did).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub public_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
}

/// The configuration in force.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data: PathBuf,
    /// The URL clients reach this server at, if it differs from the listen address
    /// (behind a proxy). Used in printed and returned URLs.
    pub public_url: Option<String>,
    pub tls: Option<TlsConfig>,
    pub storage: StorageSection,
    pub auth: AuthConfig,
    pub http: HttpSection,
    pub log: LogSection,
    pub sharing: SharingSection,
    pub subscriptions: SubscriptionsSection,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "TLS needs both a certificate and a key: give --tls-cert and --tls-key (or [tls] cert and key)"
    )]
    HalfTls,
    #[error("public_url must start with http:// or https://, got {0}")]
    BadPublicUrl(String),
    #[error("[subscriptions] allow_networks: {0}")]
    BadNetwork(String),
}

impl Config {
    pub fn load(file: Option<&Path>, o: Overrides) -> Result<Config, ConfigError> {
        let f = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Parse {
                    path: path.into(),
                    message: e.to_string(),
                })?
            }
            None => FileConfig::default(),
        };
        let tls = match (o.tls_cert, o.tls_key, f.tls) {
            (Some(cert), Some(key), _) => Some(TlsConfig { cert, key }),
            (None, None, file_tls) => file_tls,
            _ => return Err(ConfigError::HalfTls),
        };
        let public_url = o
            .public_url
            .or(f.public_url)
            .map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = &public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(ConfigError::BadPublicUrl(u.clone()));
        }
        for n in &f.subscriptions.allow_networks {
            n.parse::<crate::sharing::fetch::Network>()
                .map_err(ConfigError::BadNetwork)?;
        }
        let mut log = f.log;
        if let Some(format) = o.log_format {
            log.format = format;
        }
        Ok(Config {
            listen: o.listen.or(f.listen).unwrap_or_else(|| {
                DEFAULT_LISTEN
                    .parse()
                    .expect("the default listen address parses")
            }),
            data: o
                .data
                .or(f.data)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)),
            public_url,
            tls,
            storage: f.storage,
            auth: f.auth,
            http: f.http,
            log,
            sharing: f.sharing,
            subscriptions: f.subscriptions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_then_flags() {
        let c = Config::load(None, Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data, PathBuf::from(DEFAULT_DATA));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("domus.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ndata = \"/srv/domus\"\n[storage]\nsynchronous = \"normal\"\n[auth]\nrealm = \"Example\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.storage.synchronous, Synchronous::Normal);
        assert_eq!(c.auth.realm, "Example");
        let o = Overrides {
            listen: Some("127.0.0.1:1".parse().unwrap()),
            ..Overrides::default()
        };
        assert_eq!(
            Config::load(Some(&file), o).unwrap().listen.to_string(),
            "127.0.0.1:1"
        );
    }

    #[test]
    fn unknown_keys_and_half_tls_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("domus.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let err = Config::load(Some(&file), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        let o = Overrides {
            tls_cert: Some("c.pem".into()),
            ..Overrides::default()
        };
        assert!(matches!(Config::load(None, o), Err(ConfigError::HalfTls)));
    }
}
