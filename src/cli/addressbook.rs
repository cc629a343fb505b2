//! `domus addressbook`: list a user's address books, export one as a multi-vCard file,
//! import such a file (merging by UID), with a progress bar on a terminal.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use super::admin::{open, print_json};
use crate::admin::{self, ImportFailure};
use crate::carddav::exchange::{ImportError, ImportOptions};
use crate::http::parse_vcard_version;

#[derive(Debug, Subcommand)]
pub enum AddressBookCmd {
    /// Create a domain address book: owned by the domain, readable by everyone in it,
    /// shown in every user's home, writable by the writers named.
    #[command(name = "add-domain")]
    AddDomain {
        domain: String,
        /// The address book's name as in its URL.
        name: String,
        /// A user of the domain, `group:NAME`, or `everyone`, who may write. Repeatable.
        #[arg(long = "writer", value_name = "ADDRESS|group:NAME")]
        writers: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List a user's address books: name (as in its URL), id, display name, card count.
    List {
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Write every card of a book to standard output as one .vcf file.
    #[command(
        disable_version_flag = true,
        after_help = "Example:\n  domus addressbook export alice@example.org contacts --version 3 > contacts.vcf"
    )]
    Export {
        address: String,
        /// The book's name as it appears in its URL (see `domus addressbook list`).
        book: String,
        /// vCard version of the output: 3 (Apple) or 4.
        #[arg(long, default_value = "4", value_name = "3|4")]
        version: String,
    },
    /// Import a .vcf file (one or many cards) into a book, merging by UID: new cards are
    /// created, changed ones updated, unchanged ones left alone. All or nothing.
    #[command(
        after_help = "Example:\n  domus addressbook import bob@example.net contacts contacts.vcf --replace"
    )]
    Import {
        address: String,
        /// The book's name as it appears in its URL.
        book: String,
        /// The file to import (`-` for standard input).
        file: PathBuf,
        /// Also remove the book's cards that are not in the file.
        #[arg(long)]
        replace: bool,
        /// Import the valid cards and list the invalid ones, instead of refusing the file.
        #[arg(long)]
        skip_invalid: bool,
        #[arg(long)]
        json: bool,
    },
}

fn read_file(file: &Path) -> anyhow::Result<Vec<u8>> {
    if file == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        return Ok(bytes);
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

pub fn run(cmd: AddressBookCmd, data: &Path) -> anyhow::Result<()> {
    let store = open(data)?;
    match cmd {
        AddressBookCmd::AddDomain {
            domain,
            name,
            writers,
            json,
        } => {
            let (d, db) = admin::rights::domain_db(&store, &domain)?;
            let c = admin::rights::add_domain_collection(
                &d,
                &db,
                crate::sharing::Target::AddressBook(&name),
                &writers,
            )?;
            super::sharing::show_domain_collection(&c, json)?;
        }
        AddressBookCmd::List { address, json } => {
            let books = admin::addressbooks(&store, &address)?;
            if json {
                print_json(&serde_json::to_value(&books)?);
            } else {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "{:<20} {:>6} {:>7}  DISPLAY NAME",
                    "NAME", "ID", "CARDS"
                );
                for b in books {
                    let _ = writeln!(
                        out,
                        "{:<20} {:>6} {:>7}  {}",
                        b.name, b.id, b.cards, b.display_name
                    );
                }
            }
        }
        AddressBookCmd::Export {
            address,
            book,
            version,
        } => {
            let Some(version) = parse_vcard_version(&version) else {
                bail!("--version {version} is not served; use 3 or 4");
            };
            let text = admin::export_addressbook(&store, &address, &book, version)?;
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .is_err()
            {
                return Ok(());
            }
        }
        AddressBookCmd::Import {
            address,
            book,
            file,
            replace,
            skip_invalid,
            json,
        } => {
            let bytes = read_file(&file)?;
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("checking cards {bar:40} {pos}/{len}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            });
            let mut progress = |done: usize, total: usize| {
                if let Some(bar) = &bar {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                }
            };
            let opts = ImportOptions {
                replace,
                skip_invalid,
            };
            let result =
                admin::import_addressbook(&store, &address, &book, &bytes, opts, &mut progress);
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            match result {
                Ok(report) => {
                    if json {
                        print_json(&serde_json::to_value(&report)?);
                    } else {
                        println!(
                            "imported into {book}: {} created, {} updated, {} unchanged, {} removed",
                            report.created, report.updated, report.unchanged, report.removed
                        );
                        for e in &report.skipped {
                            println!(
                                "skipped card {} (line {}): {}",
                                e.card,
                                e.line.map_or("?".into(), |l| l.to_string()),
                                e.reason
                            );
                        }
                    }
                }
                Err(ImportFailure::Import(ImportError::Invalid(errors))) => {
                    for e in errors.iter().take(20) {
                        eprintln!(
                            "{}:{}: card {}: {}",
                            file.display(),
                            e.line.map_or("?".into(), |l| l.to_string()),
                            e.card,
                            e.reason
                        );
                    }
                    if errors.len() > 20 {
                        eprintln!("… and {} more", errors.len() - 20);
                    }
                    bail!(
                        "{} invalid card(s); nothing was imported. Fix them, or run again with --skip-invalid to import the others",
                        errors.len()
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
