//! PROPFIND (RFC 4918 §9.1): properties of a resource and, with `Depth: 1`, of its
//! members. Names and etags come from index rows; no resource body is read.
//! `Prefer: return-minimal` and `Brief: t` (RFC 8144) drop the 404 propstat.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;

use super::{Depth, depth, read_xml, status_line, streamed_multistatus};
use crate::dav::props::{self, PropEnv};
use crate::dav::space::Resource;
use crate::dav::xml::{DAV, Element, Name, XmlOut};
use crate::dav::{Ctx, DavError};
use crate::store::files::DeadProperty;

/// A resource found, with its dead properties.
type Found = (Resource, Vec<DeadProperty>);
/// The owner's quota (None: unlimited) and the bytes in use.
type QuotaState = (Option<i64>, i64);

pub(crate) enum Wanted {
    /// `allprop`, with the `include` element's extra names.
    All(Vec<Name>),
    Names,
    Some(Vec<Name>),
}

pub(crate) fn names_in(prop: &Element) -> Vec<Name> {
    prop.elements().map(|e| e.name.clone()).collect()
}

fn parse(root: Option<&Element>) -> Result<Wanted, DavError> {
    // §9.1: an empty body means allprop.
    let Some(root) = root else {
        return Ok(Wanted::All(Vec::new()));
    };
    if !root.name.is_dav("propfind") {
        return Err(DavError::bad_request(format!(
            "expected DAV:propfind, found {}",
            root.name
        )));
    }
    if root.child(DAV, "propname").is_some() {
        return Ok(Wanted::Names);
    }
    if root.child(DAV, "allprop").is_some() {
        let include = root.child(DAV, "include").map(names_in).unwrap_or_default();
        return Ok(Wanted::All(include));
    }
    match root.child(DAV, "prop") {
        Some(prop) => Ok(Wanted::Some(names_in(prop))),
        None => Err(DavError::bad_request(
            "DAV:propfind needs prop, allprop or propname",
        )),
    }
}

/// True when the client asked for a minimal answer (RFC 8144 §2.1, and Apple's `Brief`).
pub(crate) fn minimal(ctx: &Ctx) -> bool {
    ctx.headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            // RFC 8144 spells it `return=minimal`; Apple clients send `return-minimal`.
            v.split(',').any(|p| {
                let p = p.trim();
                p.eq_ignore_ascii_case("return=minimal") || p.eq_ignore_ascii_case("return-minimal")
            })
        })
        || ctx
            .header("brief")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("t"))
}

pub async fn propfind(ctx: Ctx, body: Body) -> Result<Response, DavError> {
    let depth = depth(&ctx, Depth::Infinity)?;
    if depth == Depth::Infinity {
        return Err(DavError::condition(
            StatusCode::FORBIDDEN,
            "propfind-finite-depth",
            "Depth: infinity is not served; use 0 or 1",
        ));
    }
    let parsed = read_xml(&ctx, body).await?;
    let wanted = parse(parsed.as_ref().map(|(_, root)| root))?;
    let (account, path, space) = (ctx.account.clone(), ctx.path.clone(), ctx.space);
    // RFC 4331 quota properties are computed (one sum) only when asked for by name.
    let wants_quota = matches!(&wanted, Wanted::Some(names) if names.iter().any(|n| n.is_dav("quota-used-bytes") || n.is_dav("quota-available-bytes")));
    // The grants behind DAV:acl (RFC 3744 §5.5) are read only when asked for by name,
    // and shown to the owner only.
    let wants_acl = ctx.access == crate::dav::Access::Owner
        && ctx.space.shareable()
        && matches!(&wanted, Wanted::Some(names) if names.iter().any(|n| n.is_dav("acl")));
    let collection_kind = if space.name() == "addressbooks" {
        crate::store::shares::Collection::Addressbook
    } else {
        crate::store::shares::Collection::Calendar
    };
    let own_home = ctx.access == crate::dav::Access::Owner && ctx.path.is_empty();
    let wanted_names = match &wanted {
        Wanted::Some(names) => Wanted::Some(names.clone()),
        _ => Wanted::Names,
    };
    let (nodes, quota): (Vec<Found>, Option<QuotaState>) = ctx
        .db
        .read_async(move |r| -> Result<_, DavError> {
            let aces = if wants_acl {
                r.grant_aces(&account, collection_kind)?
            } else {
                Vec::new()
            };
            let quota = if wants_quota {
                let used = r.account_usage(&account)?;
                Some((r.quota_state(&account)?.map(|(q, _)| q), used))
            } else {
                None
            };
            let Some(node) = space.resource(r, &account, &path)? else {
                return Ok((Vec::new(), quota));
            };
            let members = if depth == Depth::One && node.is_collection() {
                space.members(r, &account, &path)?
            } else {
                Vec::new()
            };
            let mut nodes = Vec::with_capacity(1 + members.len());
            // The owner's home also lists what others shared with the owner (read or
            // more), each under its mount name, with the sharer's dead properties.
            let mut mounted = if own_home && depth == Depth::One {
                crate::dav::home_mounts(space, r, &account)?
            } else {
                Vec::new()
            };
            for mut n in std::iter::once(node).chain(members) {
                if !aces.is_empty() {
                    let first = n.path.split('/').next().unwrap_or("");
                    for (name, who, level) in &aces {
                        if name == first {
                            n.attrs.push(("ace", format!("{}\t{who}", level.as_str())));
                        }
                    }
                }
                let dead = if n.is_collection() || space.objects_have_dead_properties() {
                    space.dead_properties(r, &account, &n.path)?
                } else {
                    Vec::new()
                };
                nodes.push((n, dead));
            }
            nodes.append(&mut mounted);
            if let Wanted::Some(names) = &wanted_names {
                for (n, _) in &mut nodes {
                    space.decorate(r, &account, n, names)?;
                }
            }
            Ok((nodes, quota))
        })
        .await?;
    if nodes.is_empty() {
        return Err(DavError::not_found(format!("nothing at /{}", ctx.path)));
    }
    let minimal = minimal(&ctx);
    let mut nodes = nodes.into_iter();
    Ok(streamed_multistatus(move |out| {
        let Some((node, dead)) = nodes.next() else {
            return false;
        };
        // RFC 4331 §3, §4: on collections; available only under a quota.
        let quota_props = |name: &Name, out: &mut XmlOut| match (quota, node.is_collection()) {
            (Some((_, used)), true) if name.is_dav("quota-used-bytes") => {
                out.text_element(name, &used.to_string());
                true
            }
            (Some((Some(q), used)), true) if name.is_dav("quota-available-bytes") => {
                out.text_element(name, &(q - used).max(0).to_string());
                true
            }
            _ => false,
        };
        write_response_with(&ctx, out, &node, &dead, &wanted, minimal, &quota_props);
        true
    }))
}

/// One `DAV:response` with the properties `wanted` of `node` (RFC 4918 §9.1): a 200
/// propstat for those it has, a 404 propstat for the others unless `minimal`.
pub(crate) fn write_response(
    ctx: &Ctx,
    out: &mut XmlOut,
    node: &Resource,
    dead: &[DeadProperty],
    wanted: &Wanted,
    minimal: bool,
) {
    write_response_with(ctx, out, node, dead, wanted, minimal, &|_, _| false)
}

/// [`write_response`] where `extra` answers some properties first (a report's
/// `calendar-data`, computed from the resource's content), writing them and returning true.
pub(crate) fn write_response_with(
    ctx: &Ctx,
    out: &mut XmlOut,
    node: &Resource,
    dead: &[DeadProperty],
    wanted: &Wanted,
    minimal: bool,
    extra: &dyn Fn(&Name, &mut XmlOut) -> bool,
) {
    // Lock discovery only when some lock exists in the domain: the usual PROPFIND of a
    // large calendar does no lock work per member.
    let locks = if ctx.state.locks.none_in(&ctx.domain) {
        Vec::new()
    } else {
        ctx.state
            .locks
            .covering(&ctx.domain, &ctx.lock_key(&node.path))
    };
    let env = PropEnv {
        ctx,
        node,
        locks: &locks,
    };
    const RESPONSE: Name = Name::dav("response");
    const HREF: Name = Name::dav("href");
    const PROPSTAT: Name = Name::dav("propstat");
    const PROP: Name = Name::dav("prop");
    const STATUS: Name = Name::dav("status");
    out.open(&RESPONSE).open(&HREF);
    out.text_with(|buf| ctx.push_href(buf, &node.path, node.is_collection()));
    out.close();
    // The 200 propstat is written in place and taken back when it stays empty while
    // some property is missing (RFC 4918 §9.1: no empty propstat beside a 404 one).
    let propstat = out.mark();
    out.open(&PROPSTAT).open(&PROP);
    let props_start = out.len();
    let mut missing: Vec<&Name> = Vec::new();
    match wanted {
        Wanted::Names => {
            let mut scratch = XmlOut::fragment();
            for p in props::all(ctx.space) {
                if (p.write)(&env, &mut scratch) {
                    out.empty(&p.name());
                }
            }
            for d in dead {
                out.empty(&Name::new(&d.ns, &d.name));
            }
        }
        Wanted::All(include) => {
            for p in props::all(ctx.space).filter(|p| p.allprop) {
                (p.write)(&env, out);
            }
            for d in dead {
                out.raw(&d.xml);
            }
            for name in include {
                if let Some(p) = props::find(ctx.space, name).filter(|p| !p.allprop) {
                    (p.write)(&env, out);
                }
            }
        }
        Wanted::Some(names) => {
            for name in names {
                let done = match props::find(ctx.space, name) {
                    _ if extra(name, out) => true,
                    Some(p) => (p.write)(&env, out),
                    None => match dead
                        .iter()
                        .find(|d| d.ns == name.ns && d.name == name.local)
                    {
                        Some(d) => {
                            out.raw(&d.xml);
                            true
                        }
                        None => false,
                    },
                };
                if !done {
                    missing.push(name);
                }
            }
        }
    }
    if out.len() == props_start && !missing.is_empty() {
        out.rollback(propstat);
    } else {
        out.close();
        out.text_element(&STATUS, &status_line(StatusCode::OK));
        out.close();
    }
    if !missing.is_empty() && !minimal {
        out.open(&PROPSTAT).open(&PROP);
        for name in missing {
            out.empty(name);
        }
        out.close();
        out.text_element(&STATUS, &status_line(StatusCode::NOT_FOUND));
        out.close();
    }
    out.close();
}
