//! Domus: a groupware sync server hosting many fully partitioned domains, each in its own
//! SQLite file. See `docs/ARCHITECTURE.md` for the map.
#![forbid(unsafe_code)]

pub mod admin;
pub mod auth;
pub mod caldav;
pub mod carddav;
pub mod cli;
pub mod config;
pub mod dav;
pub mod groupware;
pub mod http;
pub mod names;
pub mod sharing;
pub mod store;
pub mod timefmt;
