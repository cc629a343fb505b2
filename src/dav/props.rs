//! Live properties, as a table: each entry names a property, says whether clients may
//! change it and whether `allprop` includes it, and writes its value. PROPFIND and
//! PROPPATCH consult the table; nothing else knows a property by name.

use super::Ctx;
use super::locks::{Lock, Scope};
use super::space::{Resource, Space};
use super::xml::{DAV, Name, XmlOut};
use crate::timefmt;

/// What a property value is computed from.
pub struct PropEnv<'a> {
    pub ctx: &'a Ctx,
    pub node: &'a Resource,
    /// The locks that cover the node.
    pub locks: &'a [Lock],
}

pub struct LiveProp {
    pub ns: &'static str,
    pub name: &'static str,
    /// Clients may not set or remove it (RFC 4918 §16 `cannot-modify-protected-property`).
    pub protected: bool,
    /// Included in `allprop` answers (RFC 4918 §9.1 leaves some out).
    pub allprop: bool,
    /// Writes the whole property element; false when the node has no such value.
    pub write: fn(&PropEnv<'_>, &mut XmlOut) -> bool,
}

impl LiveProp {
    pub fn name(&self) -> Name {
        Name::new(self.ns, self.name)
    }
}

fn resourcetype(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::dav("resourcetype"));
    if let Some(types) = &env.node.collection {
        out.empty(&Name::dav("collection"));
        // CalendarServer sharing: where the owner sees CS:shared-owner (a collection it
        // shares), a sharee sees CS:shared.
        let sharee =
            env.node.attr("grant-owner").is_some() || env.ctx.access != super::Access::Owner;
        for t in types {
            if sharee && t.is(CS, "shared-owner") {
                out.empty(&Name::fixed(CS, "shared"));
            } else {
                out.empty(t);
            }
        }
    }
    out.close();
    true
}

fn getetag(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.text_element(&Name::dav("getetag"), &env.node.etag);
    true
}

fn getcontentlength(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    if env.node.is_collection() {
        return false;
    }
    out.text_element(&Name::dav("getcontentlength"), &env.node.size.to_string());
    true
}

fn getcontenttype(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    if env.node.is_collection() {
        return false;
    }
    out.text_element(&Name::dav("getcontenttype"), &env.node.content_type);
    true
}

fn getlastmodified(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.text_element(
        &Name::dav("getlastmodified"),
        &timefmt::http_date(env.node.modified_at),
    );
    true
}

fn creationdate(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.text_element(
        &Name::dav("creationdate"),
        &timefmt::rfc3339(env.node.created_at),
    );
    true
}

fn supportedlock(_: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::dav("supportedlock"));
    for scope in ["exclusive", "shared"] {
        out.open(&Name::dav("lockentry"));
        out.open(&Name::dav("lockscope"))
            .empty(&Name::dav(scope))
            .close();
        out.open(&Name::dav("locktype"))
            .empty(&Name::dav("write"))
            .close();
        out.close();
    }
    out.close();
    true
}

/// One `DAV:activelock` element (RFC 4918 §14.1).
pub fn write_activelock(ctx: &Ctx, lock: &Lock, out: &mut XmlOut) {
    out.open(&Name::dav("activelock"));
    out.open(&Name::dav("locktype"))
        .empty(&Name::dav("write"))
        .close();
    let scope = if lock.scope == Scope::Exclusive {
        "exclusive"
    } else {
        "shared"
    };
    out.open(&Name::dav("lockscope"))
        .empty(&Name::dav(scope))
        .close();
    out.text_element(
        &Name::dav("depth"),
        if lock.infinite { "infinity" } else { "0" },
    );
    if let Some(owner) = &lock.owner {
        out.raw(owner);
    }
    out.text_element(
        &Name::dav("timeout"),
        &format!("Second-{}", lock.remaining().as_secs().max(1)),
    );
    out.open(&Name::dav("locktoken"))
        .text_element(&Name::dav("href"), &lock.token)
        .close();
    let root = ctx.path_of_lock_key(&lock.root).to_string();
    out.open(&Name::dav("lockroot"))
        .text_element(&Name::dav("href"), &ctx.href(&root, false))
        .close();
    out.close();
}

fn lockdiscovery(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::dav("lockdiscovery"));
    for lock in env.locks {
        write_activelock(env.ctx, lock, out);
    }
    out.close();
    true
}

/// A sync token (RFC 6578 §3.2: a URI) for a modseq.
pub fn sync_token(modseq: i64) -> String {
    format!("{SYNC_TOKEN_PREFIX}{modseq}")
}

/// The modseq a sync token of ours names.
pub fn parse_sync_token(token: &str) -> Option<i64> {
    token
        .trim()
        .strip_prefix(SYNC_TOKEN_PREFIX)?
        .parse()
        .ok()
        .filter(|m: &i64| *m >= 0)
}

const SYNC_TOKEN_PREFIX: &str = "urn:x-domus:sync:";

fn sync_token_prop(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    let Some(m) = env.node.sync else { return false };
    out.text_element(&Name::dav("sync-token"), &sync_token(m));
    true
}

/// CalendarServer's `getctag`: changes whenever the collection's sync token does.
fn getctag(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    let Some(m) = env.node.sync else { return false };
    out.text_element(&Name::fixed(CS, "getctag"), &sync_token(m));
    true
}

/// RFC 3253 §3.1.5: the reports a collection answers.
fn supported_report_set(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    if !env.node.is_collection() {
        return false;
    }
    out.open(&Name::dav("supported-report-set"));
    let mut reports = vec![Name::dav("sync-collection")];
    reports.extend(env.ctx.space.report_names(env.node));
    for r in &reports {
        out.open(&Name::dav("supported-report"))
            .open(&Name::dav("report"))
            .empty(r)
            .close()
            .close();
    }
    out.close();
    true
}

const CS: &str = "http://calendarserver.org/ns/";

/// RFC 5397: who is asking.
fn current_user_principal(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    out.open(&Name::dav("current-user-principal"))
        .text_element(&Name::dav("href"), &env.ctx.caller_href())
        .close();
    true
}

/// RFC 3744 §5.1: the owner's principal (the sharer's, for a shared collection listed
/// in the caller's home).
fn owner(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    let href = match env.node.attr("grant-owner") {
        Some(address) => super::principal_href(address),
        None => env.ctx.principal_href(),
    };
    out.open(&Name::dav("owner"))
        .text_element(&Name::dav("href"), &href)
        .close();
    true
}

/// RFC 3744 §5.5, read side: the owner holds every privilege; each grant on the
/// collection (read by PROPFIND into the node's `ace` attributes, for the owner only) is
/// one more ACE. Protected: ACLs are changed through the grants API, not WebDAV.
fn acl(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    if env.ctx.access != super::Access::Owner || env.node.attr("grant-owner").is_some() {
        return false;
    }
    out.open(&Name::dav("acl")).open(&Name::dav("ace"));
    out.open(&Name::dav("principal"))
        .text_element(&Name::dav("href"), &env.ctx.principal_href())
        .close();
    out.open(&Name::dav("grant"))
        .open(&Name::dav("privilege"))
        .empty(&Name::dav("all"))
        .close()
        .close();
    out.empty(&Name::dav("protected"));
    out.close();
    for (key, value) in &env.node.attrs {
        if *key != "ace" {
            continue;
        }
        let Some((level, who)) = value.split_once('\t') else {
            continue;
        };
        out.open(&Name::dav("ace")).open(&Name::dav("principal"));
        if let Some(address) = who.strip_prefix("address:") {
            out.text_element(&Name::dav("href"), &super::principal_href(address));
        } else if let Some(group) = who.strip_prefix("group:") {
            out.text_element(&Name::dav("href"), &format!("urn:x-domus:group:{group}"));
        } else {
            out.empty(&Name::dav("authenticated"));
        }
        out.close().open(&Name::dav("grant"));
        let privileges: &[(&'static str, &'static str)] = match level {
            "freebusy" => &[(crate::caldav::CALDAV, "read-free-busy")],
            "read" => &[(super::xml::DAV, "read")],
            _ => &[(super::xml::DAV, "read"), (super::xml::DAV, "write")],
        };
        for (ns, p) in privileges {
            out.open(&Name::dav("privilege"))
                .empty(&Name::new(ns, p))
                .close();
        }
        out.close().close();
    }
    out.close();
    true
}

/// RFC 3744 §5.3: the privileges this server knows, as a tree under `all`.
fn supported_privilege_set(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    let leaf = |out: &mut XmlOut, name: &'static str| {
        out.open(&Name::dav("supported-privilege"))
            .open(&Name::dav("privilege"))
            .empty(&Name::dav(name))
            .close()
            .close();
    };
    out.open(&Name::dav("supported-privilege-set"))
        .open(&Name::dav("supported-privilege"));
    out.open(&Name::dav("privilege"))
        .empty(&Name::dav("all"))
        .close();
    if env.ctx.space.name() == "calendars" {
        // RFC 4791 §6.1.1: read-free-busy, aggregated under read.
        out.open(&Name::dav("supported-privilege"));
        out.open(&Name::dav("privilege"))
            .empty(&Name::dav("read"))
            .close();
        out.open(&Name::dav("supported-privilege"))
            .open(&Name::dav("privilege"))
            .empty(&Name::new(crate::caldav::CALDAV, "read-free-busy"))
            .close()
            .close();
        out.close();
    } else {
        leaf(out, "read");
    }
    out.open(&Name::dav("supported-privilege"));
    out.open(&Name::dav("privilege"))
        .empty(&Name::dav("write"))
        .close();
    for p in ["write-properties", "write-content", "bind", "unbind"] {
        leaf(out, p);
    }
    out.close();
    for p in [
        "unlock",
        "read-acl",
        "write-acl",
        "read-current-user-privilege-set",
    ] {
        leaf(out, p);
    }
    out.close().close();
    true
}

/// RFC 3744 §5.4: what the caller may do here: everything for the owner, what the
/// grant's level gives for a grantee (RFC 4791 §6.1.1 `read-free-busy` for free/busy).
fn current_user_privilege_set(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    use crate::store::rights::Level;
    out.open(&Name::dav("current-user-privilege-set"));
    let mounted = env
        .node
        .attr("grant-level")
        .and_then(crate::store::rights::Level::parse);
    let level = mounted.unwrap_or_else(|| env.ctx.access.level());
    let owner = env.ctx.access == super::Access::Owner && mounted.is_none();
    let mut names: Vec<&'static str> = Vec::new();
    if level >= Level::Read {
        names.push("read");
    }
    if level >= Level::Write {
        names.extend(["write", "write-properties", "write-content", "unlock"]);
        names.extend(["bind", "unbind"]);
    }
    if owner || level >= Level::Manage {
        // Managing a collection's grants (CalendarServer sharing) is changing its ACL.
        names.extend(["read-acl", "write-acl"]);
    }
    names.push("read-current-user-privilege-set");
    for p in names {
        out.open(&Name::dav("privilege"))
            .empty(&Name::dav(p))
            .close();
    }
    if env.ctx.space.name() == "calendars" {
        out.open(&Name::dav("privilege"))
            .empty(&Name::new(crate::caldav::CALDAV, "read-free-busy"))
            .close();
    }
    out.close();
    true
}

/// The live properties of every space (RFC 4918 §15, RFC 6578 §4, RFC 3253 §3.1.5).
#[rustfmt::skip]
pub static DAV_PROPS: &[LiveProp] = &[
    LiveProp { ns: DAV, name: "resourcetype", protected: true, allprop: true, write: resourcetype },
    LiveProp { ns: DAV, name: "getetag", protected: true, allprop: true, write: getetag },
    LiveProp { ns: DAV, name: "getcontentlength", protected: true, allprop: true, write: getcontentlength },
    LiveProp { ns: DAV, name: "getcontenttype", protected: true, allprop: true, write: getcontenttype },
    LiveProp { ns: DAV, name: "getlastmodified", protected: true, allprop: true, write: getlastmodified },
    LiveProp { ns: DAV, name: "creationdate", protected: true, allprop: true, write: creationdate },
    LiveProp { ns: DAV, name: "supportedlock", protected: true, allprop: true, write: supportedlock },
    LiveProp { ns: DAV, name: "lockdiscovery", protected: true, allprop: true, write: lockdiscovery },
    // Not in allprop answers (RFC 6578 §4, RFC 3253 §3.1.5).
    LiveProp { ns: DAV, name: "sync-token", protected: true, allprop: false, write: sync_token_prop },
    LiveProp { ns: DAV, name: "supported-report-set", protected: true, allprop: false, write: supported_report_set },
    LiveProp { ns: CS, name: "getctag", protected: true, allprop: false, write: getctag },
    LiveProp { ns: DAV, name: "current-user-principal", protected: true, allprop: false, write: current_user_principal },
    LiveProp { ns: DAV, name: "owner", protected: true, allprop: false, write: owner },
    LiveProp { ns: DAV, name: "current-user-privilege-set", protected: true, allprop: false, write: current_user_privilege_set },
    LiveProp { ns: DAV, name: "acl", protected: true, allprop: false, write: acl },
    LiveProp { ns: DAV, name: "supported-privilege-set", protected: true, allprop: false, write: supported_privilege_set },
];

/// The live properties of a space: the generic ones, then the space's own.
pub fn all(space: &dyn Space) -> impl Iterator<Item = &'static LiveProp> {
    DAV_PROPS.iter().chain(space.live_properties().iter())
}

pub fn find(space: &dyn Space, name: &Name) -> Option<&'static LiveProp> {
    all(space).find(|p| name.is(p.ns, p.name))
}
