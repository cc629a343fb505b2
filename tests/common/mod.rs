//! Test harness: starts the real `domus` binary on port 0 with a temporary data folder,
//! runs admin CLI commands against the same folder, and speaks HTTP to the server.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_domus");

/// A running server. Killed (SIGKILL) on drop if still running.
pub struct Server {
    pub child: Child,
    /// e.g. `http://127.0.0.1:40123`
    pub base: String,
    pub port: u16,
    pub data: PathBuf,
    /// The banner lines printed on stdout.
    pub banner: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A server on a fresh, empty data folder.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let mut s = Server::start_in(&data, &[]);
        s._dir = Some(dir);
        s
    }

    /// A server on a fresh data folder with this configuration file.
    pub fn start_with_config(toml: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let config = dir.path().join("domus.toml");
        std::fs::write(&config, toml).expect("write config");
        let mut s = Server::start_in(&data, &["--config", config.to_str().expect("utf-8 path")]);
        s._dir = Some(dir);
        s
    }

    /// A server on `data` (created if missing), with extra `serve` arguments.
    pub fn start_in(data: &Path, extra: &[&str]) -> Server {
        std::fs::create_dir_all(data).expect("data dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.join("server.log"))
            .expect("log file");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn domus serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut banner = Vec::new();
        let mut base = None;
        // The banner is printed in one go; collect it until a short quiet period.
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(if base.is_some() {
                200
            } else {
                100
            })) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("domus: listening on ") {
                        base = Some(url.trim().to_string());
                    }
                    banner.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) if base.is_some() => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        let log =
                            std::fs::read_to_string(data.join("server.log")).unwrap_or_default();
                        panic!("domus serve exited early with {status}; log:\n{log}");
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let base = base.unwrap_or_else(|| panic!("no listening line; banner: {banner:?}"));
        let port = base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        Server {
            child,
            base,
            port,
            data: data.to_path_buf(),
            banner,
            _dir: None,
        }
    }

    /// The generated admin password printed on first start.
    pub fn admin_password(&self) -> Option<String> {
        self.banner.iter().find_map(|l| {
            l.trim()
                .strip_prefix("password: ")
                .map(|p| p.trim().to_string())
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Runs an admin command on this server's data folder.
    pub fn domus(&self, args: &[&str]) -> Output {
        domus(&self.data, args, None)
    }

    pub fn domus_ok(&self, args: &[&str]) -> String {
        domus_ok(&self.data, args, None)
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = wait_timeout(&mut self.child, Duration::from_secs(30))
            .expect("server exits after SIGTERM");
        std::mem::forget(self._dir.take());
        status
    }

    pub fn kill9(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.data.clone()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Runs `domus ARGS --data DATA`, feeding `stdin` if given.
pub fn domus(data: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("DOMUS_DATA")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn domus");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("domus output")
}

/// Runs a command that must succeed; returns its stdout.
pub fn domus_ok(data: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = domus(data, args, stdin);
    assert!(
        out.status.success(),
        "`domus {}` failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail; returns its stderr.
pub fn domus_err(data: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = domus(data, args, stdin);
    assert!(
        !out.status.success(),
        "`domus {}` should have failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Adds a user with a known password.
pub fn add_user(data: &Path, address: &str, password: &str) {
    domus_ok(
        data,
        &["user", "add", address, "--password-stdin"],
        Some(&format!("{password}\n")),
    );
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A raw HTTP/1.1 exchange over TCP, for requests no well-behaved client would send.
/// Returns the status code (0 if the server closed without answering) and the response.
pub fn raw(port: u16, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let _ = s.write_all(request);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}
