//! Who is asking: turns an `Authorization` header and a source address into a
//! [`Principal`] (domain, account, login address), or a typed refusal.
//!
//! Computed once, at the edge, before any handler runs. Unknown domains, unknown
//! addresses and wrong passwords are indistinguishable to the client (same 401, and an
//! argon2 verification is spent on unknown addresses too), so a login never reveals
//! whether a domain or an account exists.

pub mod cache;
pub mod header;
pub mod secret;
pub mod throttle;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::names;
use crate::store::domain::{Credential, CredentialKind};
use crate::store::{AccountId, DomainDb, DomainId, Store, StoreError};
use cache::{CredentialCache, Verified};
use header::{HeaderError, Presented};
use throttle::{Throttle, source_key};

/// The `[auth]` section of the configuration.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The realm in `WWW-Authenticate: Basic realm="…"`.
    pub realm: String,
    /// How long a verified password is remembered (seconds). 0 disables the cache.
    pub credential_cache_secs: u64,
    /// Failed logins from one source address (IPv6: one /64) before it is refused.
    pub max_failures_per_source: u32,
    /// Failed logins against one account, from anywhere, before it is refused.
    pub max_failures_per_account: u32,
    /// The window (seconds) over which those failures drain away.
    pub failure_window_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            realm: "Domus".into(),
            credential_cache_secs: 300,
            max_failures_per_source: 10,
            max_failures_per_account: 20,
            failure_window_secs: 300,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub domain_id: DomainId,
    pub account_id: AccountId,
    /// The address the caller logged in with (any address of the account), or the
    /// account's primary address for tokens.
    pub login: String,
    pub method: LoginMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    Password,
    AppPassword,
    Token,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials")]
    Missing,
    #[error("malformed credentials: {0}")]
    Malformed(#[from] HeaderError),
    /// Wrong password, unknown address or domain, revoked token: one error for all.
    #[error("wrong credentials for {0}")]
    Rejected(String),
    #[error("too many failed logins; retry in {}s", .retry_after.as_secs())]
    Throttled { retry_after: Duration },
    #[error("storage failure during login: {0}")]
    Store(#[from] StoreError),
}

/// Prefix of API tokens. A token carries its domain's id so it can be routed without
/// searching every domain: `dt_<domain-id>_<secret>`.
const TOKEN_PREFIX: &str = "dt_";

pub struct Authenticator {
    store: Arc<Store>,
    config: AuthConfig,
    cache: CredentialCache,
    by_source: Throttle,
    by_account: Throttle,
    /// Bounds concurrent argon2 runs (19 MiB each) to the number of cores.
    hashing: tokio::sync::Semaphore,
    /// Their work areas, reused (see [`secret::WorkArea`]).
    work_areas: std::sync::Mutex<Vec<secret::WorkArea>>,
}

/// A hash to verify against when the address is unknown, so that case costs the same.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| secret::hash_password(&secret::generate_password()).unwrap_or_default())
}

impl Authenticator {
    pub fn new(store: Arc<Store>, config: AuthConfig) -> Self {
        let window = Duration::from_secs(config.failure_window_secs);
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Authenticator {
            store,
            cache: CredentialCache::new(Duration::from_secs(config.credential_cache_secs)),
            by_source: Throttle::new(config.max_failures_per_source, window),
            by_account: Throttle::new(config.max_failures_per_account, window),
            hashing: tokio::sync::Semaphore::new(cores),
            work_areas: std::sync::Mutex::new(Vec::new()),
            config,
        }
    }

    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// Authenticates a request from its `Authorization` header value.
    pub async fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        peer: IpAddr,
    ) -> Result<Principal, AuthError> {
        let source = source_key(peer);
        if let Some(retry_after) = self.by_source.blocked(&source) {
            return Err(AuthError::Throttled { retry_after });
        }
        let presented = match authorization {
            None => return Err(AuthError::Missing),
            Some(v) => header::parse(v).inspect_err(|_| self.by_source.fail(&source))?,
        };
        let outcome = match presented {
            Presented::Basic { user, password } => self.basic(&user, &password, &source).await,
            Presented::Bearer(token) => self.bearer(&token).await,
        };
        if let Err(AuthError::Rejected(_)) = &outcome {
            self.by_source.fail(&source);
        }
        outcome
    }

    async fn basic(
        &self,
        user: &str,
        password: &str,
        source: &str,
    ) -> Result<Principal, AuthError> {
        let rejected = || AuthError::Rejected(user.chars().take(64).collect());
        let Ok(address) = names::address(user) else {
            return Err(rejected());
        };
        let account_key = format!("acct:{}", address.full);
        if let Some(retry_after) = self.by_account.blocked(&account_key) {
            return Err(AuthError::Throttled { retry_after });
        }
        let fp = self.cache.fingerprint(&address.full, password);
        let route = {
            let name = address.domain.clone();
            self.store
                .system()
                .read_async(move |r| r.route(&name))
                .await?
        };
        let Some(route) = route else {
            self.spend_decoy(password).await;
            self.by_account.fail(&account_key);
            return Err(rejected());
        };
        let db = self.store.domain_async(&route.domain_id).await?;
        let login = {
            let address = address.full.clone();
            db.read_async(move |r| r.login_by_address(&address)).await?
        };
        let Some(login) = login else {
            self.spend_decoy(password).await;
            self.by_account.fail(&account_key);
            return Err(rejected());
        };
        let principal = |method| Principal {
            domain_id: route.domain_id.clone(),
            account_id: login.account_id.clone(),
            login: address.full.clone(),
            method,
        };
        if let Some(hit) = self.cache.get(&fp) {
            if hit.domain_id == route.domain_id
                && hit.account_id == login.account_id
                && hit.cred_serial == login.cred_serial
            {
                return Ok(principal(hit.method));
            }
            self.cache.remove(&fp);
        }
        // App passwords first: one indexed lookup, no argon2.
        let app = {
            let hash = secret::secret_hash(password);
            db.read_async(move |r| r.credential_owner(CredentialKind::AppPassword, &hash))
                .await?
        };
        let method = match app {
            Some((owner, cred)) if owner == login.account_id => {
                let _ = db.write_async(move |w| w.mark_credential_used(&cred)).await;
                LoginMethod::AppPassword
            }
            _ => {
                if !self.verify(&login.password_hash, password).await {
                    self.by_account.fail(&account_key);
                    return Err(rejected());
                }
                LoginMethod::Password
            }
        };
        self.by_account.forget(&account_key);
        self.by_source.forget(source);
        self.cache.insert(
            fp,
            Verified {
                domain_id: route.domain_id.clone(),
                account_id: login.account_id.clone(),
                cred_serial: login.cred_serial,
                method,
            },
        );
        Ok(principal(method))
    }

    async fn bearer(&self, token: &str) -> Result<Principal, AuthError> {
        let rejected = || AuthError::Rejected("a bearer token".into());
        let domain_id = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(id, _)| DomainId::parse(id))
            .ok_or_else(rejected)?;
        // The domain must still exist in the control database, not only on disk.
        let exists = {
            let id = domain_id.clone();
            self.store
                .system()
                .read_async(move |r| r.domain_by_id(&id))
                .await?
        };
        if exists.is_none() {
            return Err(rejected());
        }
        let db = self.store.domain_async(&domain_id).await?;
        let hash = secret::secret_hash(token);
        let found = db
            .read_async(move |r| -> Result<_, StoreError> {
                let Some((account, cred)) = r.credential_owner(CredentialKind::Token, &hash)?
                else {
                    return Ok(None);
                };
                Ok(r.account(&account)?.map(|a| (a, cred)))
            })
            .await?;
        let Some((account, cred)) = found else {
            return Err(rejected());
        };
        let _ = db.write_async(move |w| w.mark_credential_used(&cred)).await;
        Ok(Principal {
            domain_id,
            account_id: account.id,
            login: account.primary_address,
            method: LoginMethod::Token,
        })
    }

    async fn verify(&self, hash: &str, password: &str) -> bool {
        let Ok(_permit) = self.hashing.acquire().await else {
            return false;
        };
        let mut area = self
            .work_areas
            .lock()
            .ok()
            .and_then(|mut a| a.pop())
            .unwrap_or_default();
        let (hash, password) = (hash.to_string(), password.to_string());
        let verified = tokio::task::spawn_blocking(move || {
            let ok = secret::verify_password_in(&hash, &password, &mut area);
            (ok, area)
        })
        .await;
        match verified {
            Ok((ok, area)) => {
                if let Ok(mut areas) = self.work_areas.lock() {
                    areas.push(area);
                }
                ok
            }
            Err(_) => false,
        }
    }

    async fn spend_decoy(&self, password: &str) {
        let _ = self.verify(decoy_hash(), password).await;
    }
}

/// Creates an app password or API token for an account and returns it with the secret,
/// which exists nowhere else: it is shown once. Blocking.
pub fn issue_credential(
    db: &DomainDb,
    account: &AccountId,
    kind: CredentialKind,
    name: &str,
) -> Result<(Credential, String), StoreError> {
    let secret = match kind {
        CredentialKind::AppPassword => secret::generate_password(),
        CredentialKind::Token => {
            format!(
                "{TOKEN_PREFIX}{}_{}",
                db.id(),
                secret::generate_token_secret()
            )
        }
    };
    let hash = secret::secret_hash(&secret);
    let cred = db.write(|w| w.create_credential(account, kind, name, &hash))?;
    Ok((cred, secret))
}
