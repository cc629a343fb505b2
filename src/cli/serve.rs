//! `domus serve`: loads the configuration, opens the data folder (bootstrapping a first
//! domain on an empty one), and runs the HTTP server until SIGTERM or SIGINT.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::auth::Authenticator;
use crate::config::{Config, LogFormat, Overrides};
use crate::http::{self, AppState, server::ServeOptions};
use crate::store::Store;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on; port 0 picks a free port.
    #[arg(long, env = "DOMUS_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// A TOML configuration file (see docs/configuration.md); flags and environment win.
    #[arg(long, env = "DOMUS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The URL clients reach this server at, when behind a proxy (e.g. https://dav.example.org).
    #[arg(long, env = "DOMUS_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// PEM certificate chain: serve HTTPS (needs --tls-key too).
    #[arg(long, env = "DOMUS_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "DOMUS_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Log as plain text (default) or as one JSON object per line.
    #[arg(long, env = "DOMUS_LOG_FORMAT", value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

pub fn run(args: ServeArgs, data: Option<PathBuf>) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: args.listen,
        data,
        public_url: args.public_url,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        log_format: args.log_format,
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    super::init_logging(config.log.format, &config.log.level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("domus")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Checked before anything touches the data folder.
    let tls = config.tls.as_ref().map(http::tls::acceptor).transpose()?;
    let data = config.data.clone();
    let store_config = config.storage.store_config();
    let store = tokio::task::spawn_blocking(move || Store::open(&data, store_config))
        .await?
        .with_context(|| format!("cannot open the data folder {}", config.data.display()))?;
    let store = Arc::new(store);
    let first_password = if store.system().was_created() {
        let s = store.clone();
        tokio::task::spawn_blocking(move || crate::admin::bootstrap(&s)).await??
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another server using it? pick another with --listen",
                config.listen
            )
        })?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    print_banner(&base, &local, scheme, first_password.as_deref(), &config);

    let config = Arc::new(config);
    let auth = Arc::new(Authenticator::new(store.clone(), config.auth.clone()));
    let state = AppState {
        store: store.clone(),
        auth,
        config: config.clone(),
        locks: Default::default(),
        share_misses: std::sync::Arc::new(crate::auth::throttle::Throttle::new(
            config.sharing.misses_per_minute,
            Duration::from_secs(60),
        )),
        feeds: std::sync::Arc::new(crate::sharing::cache::FeedCache::new(
            (config.sharing.feed_cache_mb as usize).saturating_mul(1 << 20),
            Duration::from_secs(config.sharing.refresh_secs.max(60)),
        )),
    };
    let closer = tokio::spawn(close_idle_domains(store.clone()));
    let refresher = tokio::spawn(crate::sharing::subscriptions::run_refresher(
        store.clone(),
        config.subscriptions.policy(),
    ));
    tracing::info!(listen = %local, data = %config.data.display(), tls = tls.is_some(), "domus started");
    let opts = ServeOptions {
        tls,
        header_timeout: Duration::from_secs(config.http.header_timeout_secs),
        shutdown_grace: Duration::from_secs(config.http.shutdown_grace_secs),
    };
    http::server::serve(listener, http::router(state), opts, shutdown_signal()).await;
    closer.abort();
    refresher.abort();
    let closed = tokio::task::spawn_blocking(move || store.pool().close_all())
        .await
        .unwrap_or(0);
    tracing::info!(closed_domains = closed, "databases closed; bye");
    Ok(())
}

fn print_banner(
    base: &str,
    local: &SocketAddr,
    scheme: &str,
    password: Option<&str>,
    config: &Config,
) {
    let mut out = std::io::stdout().lock();
    // The first line is stable for scripts and tests: they read the port from it.
    let _ = writeln!(out, "domus: listening on {scheme}://{local}");
    let _ = writeln!(out, "  data folder: {}", config.data.display());
    let _ = writeln!(out, "  health:      {base}/healthz");
    let _ = writeln!(out, "  your account: {base}/api/v1/me");
    if let Some(pw) = password {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "First start: created the domain `localhost` and its administrator."
        );
        let _ = writeln!(out, "  user:     admin@localhost");
        let _ = writeln!(out, "  password: {pw}");
        let _ = writeln!(
            out,
            "  (shown only this once; change it with `domus user passwd admin@localhost --password-stdin`)"
        );
        let _ = writeln!(
            out,
            "  try it:   curl -u 'admin@localhost:{pw}' {base}/api/v1/me"
        );
    }
    if scheme == "http" && !local.ip().is_loopback() {
        let _ = writeln!(
            out,
            "warning: serving plain HTTP on a public address; iOS refuses Basic auth without TLS (see --tls-cert)"
        );
    }
    let _ = out.flush();
}

/// Closes domains nobody used for a while, so thousands of domains cost little when idle.
async fn close_idle_domains(store: Arc<Store>) {
    let every =
        (store.config().idle_close / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        tokio::time::sleep(every).await;
        let s = store.clone();
        if let Ok(n) = tokio::task::spawn_blocking(move || s.pool().close_idle()).await
            && n > 0
        {
            tracing::debug!(closed = n, "closed idle domains");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}
