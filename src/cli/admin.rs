//! The admin commands: thin wrappers over `crate::admin` that read arguments and print
//! tables for people or JSON for scripts.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;

use crate::admin;
use crate::store::domain::{Account, Credential, CredentialKind};
use crate::store::{DomainRecord, Store, StoreConfig};

#[derive(Debug, Subcommand)]
pub enum DomainCmd {
    /// Create a domain (its own SQLite file), optionally with aliases.
    Add {
        /// The main name, e.g. example.org.
        name: String,
        /// Another name of the same domain; users may hold addresses in it. Repeatable.
        #[arg(long = "alias", value_name = "ALIAS")]
        aliases: Vec<String>,
    },
    /// List domains with their aliases.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a domain and everything in it. There is no undo.
    Remove {
        name: String,
        /// Confirm that the domain's data is to be deleted.
        #[arg(long)]
        yes: bool,
    },
    /// Add or remove aliases of a domain.
    #[command(subcommand)]
    Alias(AliasCmd),
}

#[derive(Debug, Subcommand)]
pub enum AliasCmd {
    /// Give the domain NAME another name ALIAS.
    Add { name: String, alias: String },
    /// Remove ALIAS from the domain NAME (addresses in it go too).
    Remove { name: String, alias: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user. Without --password-stdin a password is generated and printed once.
    Add {
        address: String,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List the users of a domain.
    List {
        domain: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password, read from standard input.
    Passwd {
        address: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set a user's storage quota (files and calendars): e.g. 500M, 2G, or none.
    Quota {
        address: String,
        /// Bytes, with an optional K/M/G/T suffix (powers of 1024), or `none` for unlimited.
        size: String,
    },
    /// Remove a user and everything the user owns. There is no undo.
    Remove {
        address: String,
        #[arg(long)]
        yes: bool,
    },
    /// Manage a user's extra addresses (in the domain or its aliases).
    #[command(subcommand)]
    Address(AddressCmd),
    /// Make a user a domain admin (manages the domain's groups through the API), or not.
    Admin {
        address: String,
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AddressCmd {
    /// Give the account of ADDRESS one more address, OTHER_ADDRESS.
    Add {
        address: String,
        other_address: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CredentialCmd {
    /// Create one for the user; the secret is printed once and stored only hashed.
    Create {
        address: String,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List the user's (names and dates, never secrets).
    List {
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke one by name; clients using it are refused from their next request.
    Revoke { address: String, name: String },
}

/// `println!` that ends the process quietly when the reader went away (`domus domain list
/// | head`), instead of panicking on the broken pipe.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

pub(crate) fn open(data: &Path) -> anyhow::Result<Store> {
    if !data.join("system.sqlite").exists() {
        bail!(
            "no Domus data folder at {}; start the server once with `domus serve --data {}`, \
             or point --data (or DOMUS_DATA) at an existing one",
            data.display(),
            data.display()
        );
    }
    Store::open(data, StoreConfig::default())
        .with_context(|| format!("cannot open the data folder {}", data.display()))
}

fn read_password() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut s)
        .context("cannot read the password from standard input")?;
    let pw = s.lines().next().unwrap_or("").to_string();
    if pw.is_empty() {
        bail!(
            "no password on standard input; pipe one in, e.g. `echo 'secret' | domus user passwd ADDRESS --password-stdin`"
        );
    }
    Ok(pw)
}

pub(crate) fn print_json(v: &serde_json::Value) {
    say!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn domain_json(d: &DomainRecord) -> serde_json::Value {
    json!({ "id": d.id, "name": d.name, "aliases": d.aliases, "createdAt": d.created_at })
}

fn account_json(a: &Account) -> serde_json::Value {
    json!({ "id": a.id, "address": a.primary_address, "addresses": a.addresses, "displayName": a.display_name, "createdAt": a.created_at, "quotaBytes": a.quota_bytes })
}

fn credential_json(c: &Credential) -> serde_json::Value {
    json!({ "id": c.id, "name": c.name, "createdAt": c.created_at, "lastUsedAt": c.last_used_at })
}

fn date(unix: i64) -> String {
    crate::timefmt::date(unix)
}

pub fn domain(cmd: DomainCmd, data: &Path) -> anyhow::Result<()> {
    let store = open(data)?;
    match cmd {
        DomainCmd::Add { name, aliases } => {
            let d = admin::add_domain(&store, &name, &aliases)?;
            say!(
                "created domain {} (id {}){}",
                d.name,
                d.id,
                aliases_suffix(&d)
            );
            say!("next: add a user with `domus user add someone@{}`", d.name);
        }
        DomainCmd::List { json } => {
            let domains = admin::list_domains(&store)?;
            if json {
                print_json(&serde_json::Value::Array(
                    domains.iter().map(domain_json).collect(),
                ));
            } else if domains.is_empty() {
                say!("no domains; add one with `domus domain add example.org`");
            } else {
                say!("{:<32} {:<14} ALIASES", "NAME", "ID");
                for d in &domains {
                    say!("{:<32} {:<14} {}", d.name, d.id, d.aliases.join(", "));
                }
            }
        }
        DomainCmd::Remove { name, yes } => {
            if !yes {
                bail!(
                    "removing a domain deletes all of its data; run again with --yes to confirm: `domus domain remove {name} --yes`"
                );
            }
            let d = admin::remove_domain(&store, &name)?;
            say!(
                "removed domain {} (id {}) and all of its data",
                d.name,
                d.id
            );
        }
        DomainCmd::Alias(AliasCmd::Add { name, alias }) => {
            let d = admin::add_alias(&store, &name, &alias)?;
            say!("{} now has the aliases: {}", d.name, d.aliases.join(", "));
        }
        DomainCmd::Alias(AliasCmd::Remove { name, alias }) => {
            let d = admin::remove_alias(&store, &name, &alias)?;
            say!("removed alias {alias} from {}", d.name);
        }
    }
    Ok(())
}

fn aliases_suffix(d: &DomainRecord) -> String {
    if d.aliases.is_empty() {
        String::new()
    } else {
        format!(" with aliases {}", d.aliases.join(", "))
    }
}

pub fn user(cmd: UserCmd, data: &Path) -> anyhow::Result<()> {
    let store = open(data)?;
    match cmd {
        UserCmd::Add {
            address,
            password_stdin,
            json,
        } => {
            let given = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let (account, generated) = admin::add_user(&store, &address, given.as_deref())?;
            if json {
                let mut v = account_json(&account);
                if let Some(pw) = &generated {
                    v["password"] = json!(pw);
                }
                print_json(&v);
            } else {
                say!(
                    "created user {} (id {})",
                    account.primary_address,
                    account.id
                );
                if let Some(pw) = generated {
                    say!("password: {pw}");
                    say!(
                        "(shown only now; change it with `domus user passwd {} --password-stdin`)",
                        account.primary_address
                    );
                }
            }
        }
        UserCmd::List { domain, json } => {
            let users = admin::list_users(&store, &domain)?;
            if json {
                print_json(&serde_json::Value::Array(
                    users.iter().map(account_json).collect(),
                ));
            } else if users.is_empty() {
                say!("no users in {domain}; add one with `domus user add someone@{domain}`");
            } else {
                say!(
                    "{:<40} {:<14} {:<10} OTHER ADDRESSES",
                    "ADDRESS",
                    "ID",
                    "CREATED"
                );
                for u in &users {
                    say!(
                        "{:<40} {:<14} {:<10} {}",
                        u.primary_address,
                        u.id,
                        date(u.created_at),
                        u.addresses[1..].join(", ")
                    );
                }
            }
        }
        UserCmd::Passwd {
            address,
            password_stdin: _,
        } => {
            let pw = read_password()?;
            let a = admin::set_password(&store, &address, &pw)?;
            say!(
                "password of {} changed; cached logins with the old one stop working now",
                a.primary_address
            );
        }
        UserCmd::Quota { address, size } => {
            let Some(bytes) = admin::parse_size(&size) else {
                bail!(
                    "{size:?} is not a size; give bytes with an optional K, M, G or T suffix (e.g. 500M, 2G), or none"
                );
            };
            let (a, used) = admin::set_quota(&store, &address, bytes)?;
            match bytes {
                Some(b) => say!(
                    "quota of {} set to {b} bytes; {used} bytes in use",
                    a.primary_address
                ),
                None => say!(
                    "{} has no quota now; {used} bytes in use",
                    a.primary_address
                ),
            }
        }
        UserCmd::Remove { address, yes } => {
            if !yes {
                bail!(
                    "removing a user deletes all of the user's data; run again with --yes to confirm: `domus user remove {address} --yes`"
                );
            }
            let a = admin::remove_user(&store, &address)?;
            say!("removed user {} (id {})", a.primary_address, a.id);
        }
        UserCmd::Admin {
            address,
            on,
            off: _,
        } => {
            let a = admin::rights::set_domain_admin(&store, &address, on)?;
            if on {
                say!("{} is a domain admin now", a.primary_address);
            } else {
                say!("{} is no longer a domain admin", a.primary_address);
            }
        }
        UserCmd::Address(AddressCmd::Add {
            address,
            other_address,
        }) => {
            let a = admin::add_address(&store, &address, &other_address)?;
            say!(
                "{} now logs in with: {}",
                a.primary_address,
                a.addresses.join(", ")
            );
        }
    }
    Ok(())
}

pub fn credential(cmd: CredentialCmd, data: &Path, kind: CredentialKind) -> anyhow::Result<()> {
    let store = open(data)?;
    let word = match kind {
        CredentialKind::AppPassword => "app password",
        CredentialKind::Token => "token",
    };
    match cmd {
        CredentialCmd::Create {
            address,
            name,
            json,
        } => {
            let (cred, secret) = admin::create_credential(&store, &address, kind, &name)?;
            if json {
                let mut v = credential_json(&cred);
                v["secret"] = json!(secret);
                print_json(&v);
            } else {
                say!("created {word} {:?} for {address}:", cred.name);
                say!("{secret}");
                say!("(shown only now; it is stored hashed and cannot be shown again)");
            }
        }
        CredentialCmd::List { address, json } => {
            let creds = admin::list_credentials(&store, &address, kind)?;
            if json {
                print_json(&serde_json::Value::Array(
                    creds.iter().map(credential_json).collect(),
                ));
            } else if creds.is_empty() {
                say!("{address} has no {word}s");
            } else {
                say!("{:<32} {:<14} {:<10} LAST USED", "NAME", "ID", "CREATED");
                for c in &creds {
                    let used = c.last_used_at.map(date).unwrap_or_else(|| "never".into());
                    say!(
                        "{:<32} {:<14} {:<10} {}",
                        c.name,
                        c.id,
                        date(c.created_at),
                        used
                    );
                }
            }
        }
        CredentialCmd::Revoke { address, name } => {
            admin::revoke_credential(&store, &address, kind, &name)?;
            say!("revoked {word} {name:?} of {address}");
        }
    }
    Ok(())
}
