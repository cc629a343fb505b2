//! `domus group …` and `domus grant …`: groups of a domain's users, and grants of a
//! user's calendars and address books to users, groups or the whole domain.

use std::io::Write;
use std::path::Path;

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::admin::{open, print_json};
use crate::admin::rights::{self, GrantInfo};
use crate::store::rights::{Group, Level};

#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// Create a group in a domain (lower-case letters, digits, '.', '-', '_').
    Add { domain: String, name: String },
    /// Remove a group; the grants made to it go with it.
    Remove { domain: String, name: String },
    /// Add or remove members.
    #[command(subcommand)]
    Member(MemberCmd),
    /// List a domain's groups with their members.
    List {
        domain: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    /// Add the user ADDRESS (of the same domain) to the group NAME.
    Add {
        domain: String,
        name: String,
        address: String,
    },
    /// Remove the user ADDRESS from the group NAME.
    Remove {
        domain: String,
        name: String,
        address: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GrantCmd {
    /// Give a user, a group or everyone in the domain rights on a calendar or address book.
    #[command(
        after_help = "Levels:\n  --freebusy  free/busy answers only\n  --read      read everything\n  --write     read and write\n  --manage    read, write, and share further\n\nExample:\n  domus grant add alice@example.org calendar calendar --to bob@example.org --read\n  domus grant add alice@example.org addressbook contacts --to group:sales --write"
    )]
    Add {
        /// The owner's address.
        address: String,
        /// `calendar` or `addressbook`.
        #[arg(value_parser = ["calendar", "addressbook"])]
        kind: String,
        /// The collection's name as in its URL (see `domus calendar list`).
        name: String,
        /// A user of the same domain, `group:NAME`, or `everyone`.
        #[arg(long, value_name = "ADDRESS|group:NAME|everyone")]
        to: String,
        #[arg(long)]
        freebusy: bool,
        #[arg(long)]
        read: bool,
        #[arg(long)]
        write: bool,
        #[arg(long)]
        manage: bool,
        #[arg(long)]
        json: bool,
    },
    /// List the grants a user gave.
    List {
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a grant by its id (see `domus grant list`).
    Remove { address: String, id: String },
}

fn group_json(g: &Group) -> serde_json::Value {
    json!({ "name": g.name, "members": g.members, "createdAt": g.created_at })
}

pub fn group(cmd: GroupCmd, data: &Path) -> anyhow::Result<()> {
    let store = open(data)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        GroupCmd::Add { domain, name } => {
            let (d, db) = rights::domain_db(&store, &domain)?;
            let g = rights::add_group(&db, &d.name, &name)?;
            let _ = writeln!(
                out,
                "created group {} in {}; add members with `domus group member add {} {} ADDRESS`",
                g.name, d.name, d.name, g.name
            );
        }
        GroupCmd::Remove { domain, name } => {
            let (d, db) = rights::domain_db(&store, &domain)?;
            let g = rights::remove_group(&db, &d.name, &name)?;
            let _ = writeln!(
                out,
                "removed group {} of {} and the grants made to it",
                g.name, d.name
            );
        }
        GroupCmd::Member(MemberCmd::Add {
            domain,
            name,
            address,
        }) => {
            let (d, db) = rights::domain_db(&store, &domain)?;
            let g = rights::group_member(&d, &db, &name, &address, true)?;
            let _ = writeln!(out, "{}: {}", g.name, g.members.join(", "));
        }
        GroupCmd::Member(MemberCmd::Remove {
            domain,
            name,
            address,
        }) => {
            let (d, db) = rights::domain_db(&store, &domain)?;
            let g = rights::group_member(&d, &db, &name, &address, false)?;
            let _ = writeln!(out, "{}: {}", g.name, g.members.join(", "));
        }
        GroupCmd::List { domain, json } => {
            let (_, db) = rights::domain_db(&store, &domain)?;
            let groups = rights::groups(&db)?;
            if json {
                drop(out);
                print_json(&serde_json::Value::Array(
                    groups.iter().map(group_json).collect(),
                ));
            } else {
                let _ = writeln!(out, "{:<24} MEMBERS", "NAME");
                for g in groups {
                    let _ = writeln!(out, "{:<24} {}", g.name, g.members.join(", "));
                }
            }
        }
    }
    Ok(())
}

fn show(out: &mut impl Write, g: &GrantInfo) {
    let _ = writeln!(
        out,
        "{:<20} {:<11} {:<16} {:<9} {}",
        g.id,
        match g.collection {
            crate::store::shares::Collection::Calendar => "calendar",
            crate::store::shares::Collection::Addressbook => "addressbook",
        },
        g.name,
        g.level.as_str(),
        g.to
    );
}

pub fn grant(cmd: GrantCmd, data: &Path) -> anyhow::Result<()> {
    let store = open(data)?;
    match cmd {
        GrantCmd::Add {
            address,
            kind,
            name,
            to,
            freebusy,
            read,
            write,
            manage,
            json,
        } => {
            let level = match (freebusy, read, write, manage) {
                (true, false, false, false) => Level::Freebusy,
                (false, true, false, false) => Level::Read,
                (false, false, true, false) => Level::Write,
                (false, false, false, true) => Level::Manage,
                _ => bail!("give exactly one level: --freebusy, --read, --write or --manage"),
            };
            let target = if kind == "addressbook" {
                crate::sharing::Target::AddressBook(&name)
            } else {
                crate::sharing::Target::Calendar(&name)
            };
            let g = rights::add_grant_for(&store, &address, target, &to, level)?;
            if json {
                print_json(&serde_json::to_value(&g)?);
            } else {
                println!(
                    "grant {}: {} may {} {} {} of {address}",
                    g.id,
                    g.to,
                    match g.level {
                        Level::Freebusy => "see the free/busy times of",
                        Level::Read => "read",
                        Level::Write => "read and write",
                        Level::Manage => "read, write and share",
                    },
                    kind,
                    g.name
                );
            }
        }
        GrantCmd::List { address, json } => {
            let grants = rights::list_grants_for(&store, &address)?;
            if json {
                print_json(&serde_json::to_value(&grants)?);
            } else {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "{:<20} {:<11} {:<16} {:<9} TO",
                    "ID", "KIND", "NAME", "LEVEL"
                );
                for g in &grants {
                    show(&mut out, g);
                }
            }
        }
        GrantCmd::Remove { address, id } => {
            let g = rights::remove_grant_for(&store, &address, &id)?;
            println!(
                "removed grant {} ({} of {} to {})",
                g.id,
                g.level.as_str(),
                g.name,
                g.to
            );
        }
    }
    Ok(())
}
