//! The `domus` command line: `serve` runs the server; every other command administers a
//! data folder directly, safely while a server is running on it.

mod addressbook;
mod admin;
mod rights;
mod serve;
mod sharing;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{DEFAULT_DATA, LogFormat};

const ABOUT: &str = "Domus: calendars, contacts and mail for many fully partitioned domains, \
each in its own SQLite file.";

const AFTER_HELP: &str = "\
Getting started:
  domus serve                                   run with ./domus-data, on 127.0.0.1:8080
  domus domain add example.org --alias example.net
  domus user add alice@example.org             prints a generated password
  domus user address add alice@example.org alice@example.net
  curl -u alice@example.org:PASSWORD http://127.0.0.1:8080/api/v1/me

Every admin command works on the data folder (--data, or DOMUS_DATA) and is safe to run
while the server runs: the server sees the change on its next request.";

#[derive(Debug, Parser)]
#[command(name = "domus", version, about = ABOUT, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// The data folder: system.sqlite plus one folder per domain.
    #[arg(long, global = true, env = "DOMUS_DATA", value_name = "DIR")]
    data: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (HTTP, or HTTPS when a certificate and key are configured).
    Serve(serve::ServeArgs),
    /// Add, list and remove domains and their aliases.
    #[command(subcommand)]
    Domain(admin::DomainCmd),
    /// Add, list and remove users, set passwords, give users more addresses.
    #[command(subcommand)]
    User(admin::UserCmd),
    /// App passwords: one per client device, usable instead of the account password.
    #[command(subcommand, name = "app-password")]
    AppPassword(admin::CredentialCmd),
    /// API tokens, for `Authorization: Bearer` (scripts, JMAP clients).
    #[command(subcommand)]
    Token(admin::CredentialCmd),
    /// List, export and import a user's address books (vCard files).
    #[command(subcommand, name = "addressbook")]
    AddressBook(addressbook::AddressBookCmd),
    /// List a user's calendars.
    #[command(subcommand)]
    Calendar(sharing::CalendarCmd),
    /// Share links: a calendar opened to anyone with the link (public, private, free/busy).
    #[command(subcommand)]
    Share(sharing::ShareCmd),
    /// Subscriptions: calendars (and address books) that follow a feed URL.
    #[command(subcommand)]
    Subscription(sharing::SubscriptionCmd),
    /// Groups of a domain's users (grantees of calendars and address books).
    #[command(subcommand)]
    Group(rights::GroupCmd),
    /// Rights on a user's calendars and address books for users, groups or everyone in
    /// the domain.
    #[command(subcommand)]
    Grant(rights::GrantCmd),
}

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let data = cli.data.clone();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args, data),
        Command::Domain(cmd) => admin::domain(cmd, &data_dir(data)),
        Command::User(cmd) => admin::user(cmd, &data_dir(data)),
        Command::AppPassword(cmd) => admin::credential(
            cmd,
            &data_dir(data),
            crate::store::domain::CredentialKind::AppPassword,
        ),
        Command::AddressBook(cmd) => addressbook::run(cmd, &data_dir(data)),
        Command::Calendar(cmd) => sharing::calendar(cmd, &data_dir(data)),
        Command::Share(cmd) => sharing::share(cmd, &data_dir(data)),
        Command::Subscription(cmd) => sharing::subscription(cmd, &data_dir(data)),
        Command::Group(cmd) => rights::group(cmd, &data_dir(data)),
        Command::Grant(cmd) => rights::grant(cmd, &data_dir(data)),
        Command::Token(cmd) => admin::credential(
            cmd,
            &data_dir(data),
            crate::store::domain::CredentialKind::Token,
        ),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn data_dir(data: Option<PathBuf>) -> PathBuf {
    data.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA))
}

/// Log output for `serve`; admin commands log warnings only.
pub(crate) fn init_logging(format: LogFormat, level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
