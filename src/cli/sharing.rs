//! `domus calendar list` and `domus share …`: a user's calendars, and the share links that
//! open them to anyone holding the link (public, private or free/busy feeds).

use std::io::Write;
use std::path::Path;

use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::json;

use super::admin::{open, print_json};
use crate::admin;
use crate::sharing::NewLink;
use crate::store::shares::LinkKind;

#[derive(Debug, Subcommand)]
pub enum CalendarCmd {
    /// List a user's calendars: name (as in its URL), display name, components.
    List {
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Create a domain calendar: owned by the domain, readable by everyone in it, shown
    /// in every user's home, writable by the writers named.
    #[command(
        name = "add-domain",
        after_help = "Example:\n  domus calendar add-domain example.org holidays --writer group:hr --writer alice@example.org"
    )]
    AddDomain {
        domain: String,
        /// The calendar's name as in its URL.
        name: String,
        /// A user of the domain, `group:NAME`, or `everyone`, who may write. Repeatable.
        #[arg(long = "writer", value_name = "ADDRESS|group:NAME")]
        writers: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List a domain's calendars and address books with their grants.
    #[command(name = "list-domain")]
    ListDomain {
        domain: String,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn show_domain_collection(
    d: &crate::admin::rights::DomainCollection,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        print_json(&serde_json::to_value(d)?);
    } else {
        let writers: Vec<&str> = d
            .grants
            .iter()
            .filter(|g| g.level >= crate::store::rights::Level::Write)
            .map(|g| g.to.as_str())
            .collect();
        println!(
            "domain {} {} (in every home as {}); readers: everyone; writers: {}",
            match d.collection {
                crate::store::shares::Collection::Calendar => "calendar",
                crate::store::shares::Collection::Addressbook => "address book",
            },
            d.name,
            d.member_name,
            if writers.is_empty() {
                "none".to_string()
            } else {
                writers.join(", ")
            }
        );
    }
    Ok(())
}

/// Where the server is reached, for the full URLs of links.
#[derive(Debug, Args)]
pub struct BaseUrl {
    /// The server's public URL (as clients reach it), for the printed links.
    #[arg(
        long,
        env = "DOMUS_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    public_url: String,
}

#[derive(Debug, Subcommand)]
pub enum ShareCmd {
    /// Create a share link to a calendar. The link is shown once: keep it.
    #[command(
        after_help = "Kinds:\n  --public    events in full; private and confidential ones as busy blocks\n  --private   every event in full\n  --freebusy  busy times only (VFREEBUSY)\n\nExample:\n  domus share create alice@example.org calendar --public"
    )]
    Create {
        address: String,
        /// The calendar's name as it appears in its URL (see `domus calendar list`), or
        /// with --addressbook an address book's (see `domus addressbook list`).
        calendar: String,
        /// Share an address book (a vCard feed; --private only) instead of a calendar.
        #[arg(long)]
        addressbook: bool,
        #[arg(long, group = "kind")]
        public: bool,
        #[arg(long, group = "kind")]
        private: bool,
        #[arg(long, group = "kind")]
        freebusy: bool,
        #[command(flatten)]
        base: BaseUrl,
        #[arg(long)]
        json: bool,
    },
    /// List a user's share links (kind, what they open, creation, last use).
    List {
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a link: it stops working at once.
    Revoke { address: String, link_id: String },
    /// Give a link a new URL; the old one stops working at once.
    Rotate {
        address: String,
        link_id: String,
        #[command(flatten)]
        base: BaseUrl,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscriptionCmd {
    /// Subscribe a user to a calendar feed (https://, http:// or webcal://) or, with
    /// --addressbook, to a vCard feed. The running server fetches it within seconds and
    /// then on the feed's schedule (one hour unless it says otherwise).
    #[command(
        after_help = "Example:\n  domus subscription add alice@example.org webcal://example.org/holidays.ics --name holidays"
    )]
    Add {
        address: String,
        url: String,
        /// The collection's name in its URL (made from the feed's URL when absent).
        #[arg(long)]
        name: Option<String>,
        /// Follow a vCard feed (an address book export link) instead of a calendar.
        #[arg(long)]
        addressbook: bool,
        #[arg(long)]
        json: bool,
    },
    /// List a user's subscriptions with their state (last fetch, failures, next fetch).
    List {
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a subscription and the calendar (or address book) it fills.
    Remove { address: String, id: String },
    /// Fetch a subscription now (the running server does it within seconds).
    Refresh { address: String, id: String },
}

pub fn subscription(cmd: SubscriptionCmd, data: &Path) -> anyhow::Result<()> {
    let store = open(data)?;
    match cmd {
        SubscriptionCmd::Add {
            address,
            url,
            name,
            addressbook,
            json,
        } => {
            let info =
                admin::add_subscription(&store, &address, &url, name.as_deref(), addressbook)?;
            if json {
                print_json(&serde_json::to_value(&info)?);
            } else {
                println!(
                    "subscription {} fills {}; the running server fetches it within seconds",
                    info.subscription.id,
                    info.name.as_deref().unwrap_or("?")
                );
            }
        }
        SubscriptionCmd::List { address, json } => {
            let subs = admin::list_subscriptions(&store, &address)?;
            if json {
                print_json(&serde_json::to_value(&subs)?);
            } else {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "{:<20} {:<16} {:<9} {:<11} URL",
                    "ID", "NAME", "FAILURES", "LAST OK"
                );
                for s in subs {
                    let _ = writeln!(
                        out,
                        "{:<20} {:<16} {:<9} {:<11} {}{}",
                        s.subscription.id,
                        s.name.as_deref().unwrap_or("(gone)"),
                        s.subscription.failures,
                        s.subscription
                            .last_ok_at
                            .map_or("never".into(), crate::timefmt::date),
                        s.subscription.url,
                        s.subscription
                            .last_error
                            .as_deref()
                            .map(|e| format!("  ({e})"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        SubscriptionCmd::Remove { address, id } => {
            admin::remove_subscription(&store, &address, &id)?;
            println!("removed subscription {id} and its collection");
        }
        SubscriptionCmd::Refresh { address, id } => {
            admin::refresh_subscription(&store, &address, &id)?;
            println!("subscription {id} is due now; the running server fetches it within seconds");
        }
    }
    Ok(())
}

fn urls(base: &str, link: &NewLink) -> (String, String) {
    let base = base.trim_end_matches('/');
    let url = format!("{base}{}", link.path());
    let rest = url.split_once("://").map_or(url.as_str(), |x| x.1);
    (url.clone(), format!("webcal://{rest}"))
}

fn show(link: &NewLink, base: &BaseUrl, json: bool) {
    let (url, webcal) = urls(&base.public_url, link);
    if json {
        print_json(&json!({
            "id": link.link.id,
            "kind": link.link.kind,
            "url": url,
            "webcalUrl": webcal,
            "createdAt": link.link.created_at,
        }));
    } else {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "link {} ({})", link.link.id, link.link.kind.as_str());
        let _ = writeln!(out, "  {url}");
        let _ = writeln!(out, "  {webcal}");
        let _ = writeln!(out, "This is the only time the link is shown; keep it.");
    }
}

pub fn calendar(cmd: CalendarCmd, data: &Path) -> anyhow::Result<()> {
    let store = open(data)?;
    match cmd {
        CalendarCmd::AddDomain {
            domain,
            name,
            writers,
            json,
        } => {
            let (d, db) = admin::rights::domain_db(&store, &domain)?;
            let c = admin::rights::add_domain_collection(
                &d,
                &db,
                crate::sharing::Target::Calendar(&name),
                &writers,
            )?;
            show_domain_collection(&c, json)?;
        }
        CalendarCmd::ListDomain { domain, json } => {
            let (d, db) = admin::rights::domain_db(&store, &domain)?;
            let all = admin::rights::domain_collections(&d, &db)?;
            if json {
                print_json(&serde_json::to_value(&all)?);
            } else {
                for c in &all {
                    show_domain_collection(c, false)?;
                }
            }
        }
        CalendarCmd::List { address, json } => {
            let cals = admin::calendars(&store, &address)?;
            if json {
                print_json(&serde_json::to_value(&cals)?);
            } else {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{:<20} {:<18} DISPLAY NAME", "NAME", "COMPONENTS");
                for c in cals {
                    let _ = writeln!(
                        out,
                        "{:<20} {:<18} {}",
                        c.name,
                        c.components.join(","),
                        c.display_name
                    );
                }
            }
        }
    }
    Ok(())
}

pub fn share(cmd: ShareCmd, data: &Path) -> anyhow::Result<()> {
    let store = open(data)?;
    match cmd {
        ShareCmd::Create {
            address,
            calendar,
            addressbook,
            public,
            private,
            freebusy,
            base,
            json,
        } => {
            let kind = match (public, private, freebusy) {
                (true, _, _) => LinkKind::Public,
                (_, true, _) => LinkKind::Private,
                (_, _, true) => LinkKind::Freebusy,
                _ => bail!("say what the link shows: --public, --private or --freebusy"),
            };
            let target = if addressbook {
                crate::sharing::Target::AddressBook(&calendar)
            } else {
                crate::sharing::Target::Calendar(&calendar)
            };
            let link = admin::create_share_link(&store, &address, target, kind)?;
            show(&link, &base, json);
        }
        ShareCmd::List { address, json } => {
            let links = admin::list_share_links(&store, &address)?;
            if json {
                print_json(&serde_json::to_value(&links)?);
            } else {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "{:<20} {:<9} {:<20} {:<11} LAST USED",
                    "ID", "KIND", "OPENS", "CREATED"
                );
                for l in links {
                    let _ = writeln!(
                        out,
                        "{:<20} {:<9} {:<20} {:<11} {}",
                        l.id,
                        l.kind.as_str(),
                        l.name.as_deref().unwrap_or("(gone)"),
                        crate::timefmt::date(l.created_at),
                        l.last_used_at.map_or("never".into(), crate::timefmt::date)
                    );
                }
            }
        }
        ShareCmd::Revoke { address, link_id } => {
            let link = admin::revoke_share_link(&store, &address, &link_id)?;
            println!(
                "revoked link {} ({}); its URL no longer works",
                link.id,
                link.kind.as_str()
            );
        }
        ShareCmd::Rotate {
            address,
            link_id,
            base,
            json,
        } => {
            let link = admin::rotate_share_link(&store, &address, &link_id)?;
            show(&link, &base, json);
        }
    }
    Ok(())
}
