//! Apple CalendarServer sharing (the "caldav-sharing" draft) on top of the rights store:
//! how Apple Calendar shares a calendar inside the domain and how the sharee answers.
//!
//! - `POST` of `CS:share` on a calendar (by its owner or a sharee at `manage`): each
//!   `CS:set` invites one account of the domain (`mailto:` or principal href; `CS:read` is
//!   a read grant, `CS:read-write` a write grant, a `manage` grant stays `manage`), each
//!   `CS:remove` takes its grant away. All or nothing, in one transaction: an address of
//!   another domain refuses the whole request (403, domains stay sealed); an unknown user
//!   answers 207 with 403 for that href and 424 for the others (the draft's reference
//!   server does the same); at most [`MAX_SHAREES`] per request.
//! - An invite waits for the reply (`CS:invite-noresponse`): it gives nothing and does not
//!   show in the sharee's home until accepted, as Apple clients expect (they list the
//!   invite from the notification and put the calendar in place when the user accepts).
//!   Grants made through the API or the CLI are in force at once (`clients.md` #6) and
//!   show as accepted.
//! - The sharee's notification collection (`/dav/notifications/<address>/`, the
//!   principal's `CS:notification-URL`, [`NotificationSpace`]) holds one
//!   `CS:invite-notification` per invite (and `CS:invite-reply` documents for sharers);
//!   GET returns the document, PROPFIND lists `CS:notificationtype`, DELETE removes it.
//! - `POST` of `CS:invite-reply` on the sharee's calendar home accepts (200 with
//!   `CS:shared-as`, the calendar's URL in the sharee's home) or declines (204); DELETE of
//!   the shared calendar in the sharee's home declines it too.
//! - Properties: `CS:invite` (organizer and every account sharee with its status and
//!   access), `CS:shared-url` (the owner's URL, on the sharee's view),
//!   `CS:allowed-sharing-modes` (`can-be-shared` where the caller may share), and
//!   `CS:shared-owner`/`CS:shared` in the resource type (`dav::props`).
//!
//! Grants to groups and to everyone are made through the API and the CLI only; they are
//! not listed in `CS:invite` (the draft names users one by one) and cannot be declined.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::props::{LiveProp, PropEnv};
use super::space::{ReportFuture, Resource, Space};
use super::xml::{DAV, Element, Name, XmlOut};
use super::{Access, Ctx, DavError, ROOT};
use crate::caldav::CALDAV;
use crate::store::AccountId;
use crate::store::domain::{DomainRead, DomainWrite};
use crate::store::files::DeadProperty;
use crate::store::rights::{Grant, InviteStatus, Level, notifications_scope};
use crate::store::shares::Collection;

pub const CS: &str = "http://calendarserver.org/ns/";

/// Most sharees one `CS:share` POST may set or remove.
pub const MAX_SHAREES: usize = 100;

fn cs(local: &'static str) -> Name {
    Name::fixed(CS, local)
}

/// The URL of a calendar of `owner`.
fn calendar_url(owner: &str, name: &str) -> String {
    let mut h = format!("{ROOT}calendars/");
    super::href::push_segment(&mut h, owner);
    h.push('/');
    super::href::push_segment(&mut h, name);
    h.push('/');
    h
}

/// The principal's notification collection.
pub fn notification_url(address: &str) -> String {
    let mut h = format!("{ROOT}{}/", NotificationSpace.name());
    super::href::push_segment(&mut h, address);
    h.push('/');
    h
}

fn ical_stamp(unix: i64) -> String {
    crate::timefmt::rfc3339(unix).replace(['-', ':'], "")
}

fn valid_request(reason: impl Into<String>) -> DavError {
    DavError::Condition {
        status: StatusCode::FORBIDDEN,
        element: cs("valid-request"),
        hrefs: Vec::new(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------
// POST

/// A POST on the calendar space: `CS:share` on a calendar, `CS:invite-reply` on the home.
pub fn post(ctx: Ctx, root: Element) -> Option<ReportFuture> {
    Some(Box::pin(async move {
        if root.name.is(CS, "share") {
            share(ctx, &root).await
        } else if root.name.is(CS, "invite-reply") {
            reply(ctx, &root).await
        } else {
            Err(valid_request(format!(
                "POST takes CS:share (on a calendar) or CS:invite-reply (on the calendar home), not {}",
                root.name
            )))
        }
    }))
}

/// One `CS:set` or `CS:remove` as sent.
struct Change {
    href: String,
    /// None: remove.
    set: Option<SetAccess>,
}

struct SetAccess {
    write: bool,
    summary: Option<String>,
}

fn parse_share(root: &Element) -> Result<Vec<Change>, DavError> {
    let mut out = Vec::new();
    for el in root.elements() {
        let set = el.name.is(CS, "set");
        if !set && !el.name.is(CS, "remove") {
            return Err(DavError::bad_request(format!(
                "CS:share holds CS:set and CS:remove elements, not {}",
                el.name
            )));
        }
        if out.len() == MAX_SHAREES {
            return Err(DavError::bad_request(format!(
                "one CS:share changes at most {MAX_SHAREES} sharees; send several"
            )));
        }
        let href = el
            .child(DAV, "href")
            .map(|h| h.text().trim().to_string())
            .filter(|h| !h.is_empty())
            .ok_or_else(|| DavError::bad_request(format!("{} needs a DAV:href", el.name)))?;
        let set = if set {
            let read = el.child(CS, "read").is_some();
            let write = el.child(CS, "read-write").is_some();
            if read == write {
                return Err(DavError::bad_request(format!(
                    "CS:set for {href} needs exactly one of CS:read and CS:read-write"
                )));
            }
            let summary = el
                .child(CS, "summary")
                .map(|s| s.text().trim().chars().take(1000).collect());
            Some(SetAccess { write, summary })
        } else {
            None
        };
        out.push(Change { href, set });
    }
    if out.is_empty() {
        return Err(DavError::bad_request(
            "CS:share needs at least one CS:set or CS:remove",
        ));
    }
    Ok(out)
}

/// The address an href names: `mailto:` or this server's principal URL.
fn href_address(href: &str) -> Option<String> {
    let raw = if let Some(m) = href.get(..7).filter(|p| p.eq_ignore_ascii_case("mailto:")) {
        href[m.len()..].to_string()
    } else {
        let path = match href.find("://") {
            Some(i) => {
                let after = &href[i + 3..];
                &after[after.find('/').unwrap_or(after.len())..]
            }
            None => href,
        };
        let d = super::href::decode(path).ok()?;
        match d.segments.as_slice() {
            [dav, principals, address] if dav == "dav" && principals == "principals" => {
                address.clone()
            }
            _ => return None,
        }
    };
    crate::names::address(&raw).ok().map(|a| a.full)
}

/// How a sharee of a `CS:share` resolved.
enum Sharee {
    Account(AccountId, String),
    /// Not a user of the domain (or the owner itself): this href fails.
    Unknown,
}

async fn share(ctx: Ctx, root: &Element) -> Result<Response, DavError> {
    // The calendar: the owner's, or one granted at manage (by its own or its mounted URL).
    let name = match &ctx.access {
        Access::Owner if !ctx.path.is_empty() && !ctx.path.contains('/') => ctx.path.clone(),
        Access::Granted { collection, level } if ctx.path == *collection => {
            if *level < Level::Manage {
                let href = ctx.href(&ctx.path, true);
                return Err(DavError::NeedPrivileges {
                    reason: format!(
                        "sharing {href} needs the manage right; the grant gives {}",
                        level.as_str()
                    ),
                    href,
                    privilege: Name::dav("write-acl"),
                });
            }
            collection.clone()
        }
        _ => {
            return Err(valid_request(
                "CS:share is POSTed to a calendar (not its home or an object)",
            ));
        }
    };
    let changes = parse_share(root)?;
    // Domains stay sealed: an address whose domain is not the caller's refuses it all.
    let mut addresses = Vec::with_capacity(changes.len());
    for c in &changes {
        let address = href_address(&c.href);
        if let Some(a) = &address {
            let domain = a
                .rsplit_once('@')
                .map(|(_, d)| d.to_string())
                .unwrap_or_default();
            let route = ctx
                .state
                .store
                .system()
                .read_async(move |r| r.route(&domain))
                .await?;
            if route.is_none_or(|r| r.domain_id != ctx.domain) {
                return Err(DavError::status(
                    StatusCode::FORBIDDEN,
                    format!(
                        "{a} is outside this domain: calendars are shared inside the domain only \
                         (use a share link to reach another one)"
                    ),
                ));
            }
        }
        addresses.push(address);
    }
    let owner = ctx.account.clone();
    let owner_address = ctx.owner.clone();
    let owner_name = ctx.owner_name.clone();
    let outcome = ctx
        .db
        .write_async(
            move |w| -> Result<Result<(), Vec<(String, bool)>>, DavError> {
                let calendar = w
                    .calendar(&owner, &name)?
                    .filter(|c| !c.components.is_empty() && c.subscription.is_none())
                    .ok_or_else(|| {
                        valid_request(format!("{name} is not a calendar that can be shared"))
                    })?;
                let mut sharees = Vec::with_capacity(changes.len());
                for a in &addresses {
                    let found = match a {
                        Some(a) => w.account_by_address(a)?,
                        None => None,
                    };
                    sharees.push(match found {
                        Some(acc) if acc.id != owner && !w.is_domain_account(&acc.id)? => {
                            Sharee::Account(acc.id, acc.primary_address)
                        }
                        _ => Sharee::Unknown,
                    });
                }
                if sharees.iter().any(|s| matches!(s, Sharee::Unknown)) {
                    let per_href = changes
                        .iter()
                        .zip(&sharees)
                        .map(|(c, s)| (c.href.clone(), matches!(s, Sharee::Unknown)))
                        .collect();
                    return Ok(Err(per_href));
                }
                let invite = InviteDoc {
                    owner_address: &owner_address,
                    owner_name: &owner_name,
                    calendar_name: &name,
                    components: &calendar.components,
                };
                for (c, s) in changes.iter().zip(&sharees) {
                    let Sharee::Account(account, address) = s else {
                        continue;
                    };
                    match &c.set {
                        Some(set) => {
                            let existing =
                                w.grant_to_account(Collection::Calendar, calendar.id, account)?;
                            let level = match (set.write, existing.map(|g| g.level)) {
                                (true, Some(Level::Manage)) => Level::Manage,
                                (true, _) => Level::Write,
                                (false, _) => Level::Read,
                            };
                            let (g, _) = w.put_invite(
                                &owner,
                                Collection::Calendar,
                                calendar.id,
                                account,
                                level,
                                set.summary.as_deref(),
                            )?;
                            let status = g.invite.unwrap_or(InviteStatus::Accepted);
                            let xml = invite.document(&g, address, status_name(status));
                            w.put_notification(account, &g.id, "invite-notification", &xml)?;
                        }
                        None => {
                            let Some(g) =
                                w.grant_to_account(Collection::Calendar, calendar.id, account)?
                            else {
                                continue;
                            };
                            w.delete_grant(&g.id)?;
                            if g.in_force() {
                                let xml = invite.document(&g, address, "invite-deleted");
                                w.put_notification(account, &g.id, "invite-notification", &xml)?;
                            }
                        }
                    }
                }
                Ok(Ok(()))
            },
        )
        .await?;
    match outcome {
        Ok(()) => Ok((StatusCode::OK, [("cache-control", "no-cache")]).into_response()),
        Err(per_href) => {
            // RFC 4918 §9.1-style per-href answers: nothing was changed.
            let mut out = XmlOut::new();
            out.open(&Name::dav("multistatus"));
            for (href, bad) in per_href {
                let status = if bad {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::FAILED_DEPENDENCY
                };
                out.open(&Name::dav("response"));
                out.text_element(&Name::dav("href"), &href);
                out.text_element(&Name::dav("status"), &super::methods::status_line(status));
                if bad {
                    out.text_element(
                        &Name::dav("responsedescription"),
                        "not a user of this domain",
                    );
                }
                out.close();
            }
            tracing::info!("CS:share refused: a sharee is not a user of the domain");
            Ok(super::methods::multistatus(out.finish()))
        }
    }
}

fn status_name(s: InviteStatus) -> &'static str {
    match s {
        InviteStatus::NoResponse => "invite-noresponse",
        InviteStatus::Accepted => "invite-accepted",
        InviteStatus::Declined => "invite-declined",
    }
}

/// What a `CS:invite-notification` document says of a calendar.
struct InviteDoc<'a> {
    owner_address: &'a str,
    owner_name: &'a str,
    calendar_name: &'a str,
    components: &'a [String],
}

impl InviteDoc<'_> {
    fn document(&self, g: &Grant, sharee: &str, status: &'static str) -> String {
        let mut out = XmlOut::new();
        out.open(&cs("notification"));
        out.text_element(&cs("dtstamp"), &ical_stamp(crate::store::now_unix()));
        out.open_with(&cs("invite-notification"), &[("shared-type", "calendar")]);
        out.text_element(&cs("uid"), &g.id);
        out.text_element(&Name::dav("href"), &format!("mailto:{sharee}"));
        out.empty(&Name::fixed(CS, status));
        out.open(&cs("access"))
            .empty(&cs(if g.level >= Level::Write {
                "read-write"
            } else {
                "read"
            }))
            .close();
        out.open(&cs("hosturl"))
            .text_element(
                &Name::dav("href"),
                &calendar_url(self.owner_address, self.calendar_name),
            )
            .close();
        out.open(&cs("organizer"))
            .text_element(
                &Name::dav("href"),
                &format!("mailto:{}", self.owner_address),
            )
            .text_element(&cs("common-name"), self.owner_name)
            .close();
        out.text_element(
            &cs("summary"),
            g.summary.as_deref().unwrap_or(self.calendar_name),
        );
        out.open(&Name::fixed(CALDAV, "supported-calendar-component-set"));
        for c in self.components {
            out.open_with(&Name::fixed(CALDAV, "comp"), &[("name", c)])
                .close();
        }
        out.close();
        out.close().close();
        out.finish()
    }
}

/// `CS:invite-reply` on the sharee's own calendar home.
async fn reply(ctx: Ctx, root: &Element) -> Result<Response, DavError> {
    if ctx.access != Access::Owner || !ctx.path.is_empty() {
        return Err(valid_request(
            "CS:invite-reply is POSTed to your own calendar home",
        ));
    }
    let accepted = match (
        root.child(CS, "invite-accepted").is_some(),
        root.child(CS, "invite-declined").is_some(),
    ) {
        (true, false) => true,
        (false, true) => false,
        _ => {
            return Err(DavError::bad_request(
                "CS:invite-reply needs exactly one of CS:invite-accepted and CS:invite-declined",
            ));
        }
    };
    let uid = root
        .child(CS, "in-reply-to")
        .map(|e| e.text().trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| DavError::bad_request("CS:invite-reply needs CS:in-reply-to"))?;
    let hosturl = root
        .child(CS, "hosturl")
        .and_then(|h| h.child(DAV, "href"))
        .map(|h| h.text().trim().to_string());
    let me = ctx.account.clone();
    let my_address = ctx.owner.clone();
    let my_name = ctx.owner_name.clone();
    let shared_as = ctx
        .db
        .write_async(move |w| -> Result<Option<String>, DavError> {
            let g = w
                .grant(&uid)?
                .filter(|g| {
                    g.grantee == crate::store::rights::Grantee::Account(me.clone())
                        && g.collection == Collection::Calendar
                        && g.invite.is_some()
                })
                .ok_or_else(|| valid_request(format!("no invite {uid} for {my_address}")))?;
            let (owner, calendar) = w
                .calendar_by_id(g.collection_id)?
                .ok_or_else(|| valid_request("the shared calendar is gone"))?;
            let owner = w
                .account(&owner)?
                .ok_or_else(|| valid_request("the sharer is gone"))?;
            let url = calendar_url(&owner.primary_address, &calendar.name);
            if let Some(h) = &hosturl
                && !h.ends_with(&url)
                && !h.ends_with(url.trim_end_matches('/'))
            {
                return Err(valid_request(format!("invite {uid} is for {url}, not {h}")));
            }
            let status = if accepted {
                InviteStatus::Accepted
            } else {
                InviteStatus::Declined
            };
            w.set_invite_status(&g.id, status)?;
            // Answered: the invite leaves the sharee's notifications; the sharer hears.
            w.delete_notification(&me, &g.id)?;
            let doc = reply_document(&ReplyDoc {
                sharee: &my_address,
                sharee_name: &my_name,
                status,
                hosturl: &url,
                uid: &g.id,
            });
            w.put_notification(&owner.id, &format!("{}-reply", g.id), "invite-reply", &doc)?;
            Ok(accepted.then(|| {
                let mut h = format!("{ROOT}calendars/");
                super::href::push_segment(&mut h, &my_address);
                h.push('/');
                super::href::push_segment(
                    &mut h,
                    &super::mount_name(&owner.primary_address, &calendar.name),
                );
                h.push('/');
                h
            }))
        })
        .await?;
    Ok(match shared_as {
        Some(href) => {
            let mut out = XmlOut::new();
            out.open(&cs("shared-as"))
                .text_element(&Name::dav("href"), &href)
                .close();
            (
                StatusCode::OK,
                [(
                    axum::http::header::CONTENT_TYPE,
                    "application/xml; charset=utf-8",
                )],
                out.finish(),
            )
                .into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

struct ReplyDoc<'a> {
    sharee: &'a str,
    sharee_name: &'a str,
    status: InviteStatus,
    hosturl: &'a str,
    uid: &'a str,
}

/// The `CS:invite-reply` notification a sharer receives.
fn reply_document(d: &ReplyDoc<'_>) -> String {
    let mut out = XmlOut::new();
    out.open(&cs("notification"));
    out.text_element(&cs("dtstamp"), &ical_stamp(crate::store::now_unix()));
    out.open(&cs("invite-reply"));
    out.text_element(&Name::dav("href"), &format!("mailto:{}", d.sharee));
    out.empty(&Name::fixed(CS, status_name(d.status)));
    out.open(&cs("hosturl"))
        .text_element(&Name::dav("href"), d.hosturl)
        .close();
    out.text_element(&cs("in-reply-to"), d.uid);
    out.text_element(&cs("common-name"), d.sharee_name);
    out.close().close();
    out.finish()
}

/// DELETE of a shared collection in the sharee's own home (the draft's "Removing a Shared
/// Calendar"): the sharee's own grant is declined, so it leaves the home; the data stays.
/// A collection that reaches the sharee through a group or everyone cannot be declined.
pub async fn unmount(ctx: Ctx) -> Result<Response, DavError> {
    let (Some(mount), Access::Granted { collection, .. }) = (&ctx.mount, &ctx.access) else {
        return Err(DavError::status(
            StatusCode::FORBIDDEN,
            "not a shared collection",
        ));
    };
    let kind = ctx
        .space
        .grant_kind()
        .ok_or_else(|| DavError::status(StatusCode::FORBIDDEN, "not shareable"))?;
    let (space, owner, name) = (ctx.space, ctx.account.clone(), collection.clone());
    let href = ctx.href(&ctx.path, true);
    let (home, owner_address) = (mount.home.clone(), ctx.owner.clone());
    ctx.db
        .write_async(move |w| -> Result<(), DavError> {
            let me = w
                .account_by_address(&home)?
                .ok_or_else(|| DavError::not_found("the caller's account is gone"))?;
            let (_, id) = space
                .grant_target(w, &owner, &name)?
                .ok_or_else(|| DavError::not_found(format!("nothing at {href}")))?;
            let Some(g) = w
                .grant_to_account(kind, id, &me.id)?
                .filter(Grant::in_force)
            else {
                return Err(DavError::NeedPrivileges {
                    reason: format!(
                        "{href} is shared with a group or everyone; its manager removes the grant"
                    ),
                    href,
                    privilege: Name::dav("unbind"),
                });
            };
            w.set_invite_status(&g.id, InviteStatus::Declined)?;
            if kind == Collection::Calendar {
                let doc = reply_document(&ReplyDoc {
                    sharee: &me.primary_address,
                    sharee_name: &me.display_name,
                    status: InviteStatus::Declined,
                    hosturl: &calendar_url(&owner_address, &name),
                    uid: &g.id,
                });
                w.put_notification(&owner, &format!("{}-reply", g.id), "invite-reply", &doc)?;
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------
// Properties of calendars

/// Loads what `CS:invite` shows of a calendar node (its organizer and account sharees)
/// into its attributes, when asked for by name.
pub fn decorate(
    r: &DomainRead<'_>,
    owner: &AccountId,
    node: &mut Resource,
    wanted: &[Name],
) -> Result<(), DavError> {
    if !wanted.iter().any(|n| n.is(CS, "invite")) || !is_calendar(node) {
        return Ok(());
    }
    let (owner, name) = match (node.attr("grant-owner"), node.attr("grant-name")) {
        (Some(address), Some(name)) => match r.account_by_address(address)? {
            Some(a) => (a.id, name.to_string()),
            None => return Ok(()),
        },
        _ => (owner.clone(), node.path.clone()),
    };
    let Some(calendar) = r.calendar(&owner, &name)? else {
        return Ok(());
    };
    let invitees = r.invitees(Collection::Calendar, calendar.id)?;
    if invitees.is_empty() && !r.has_grants(Collection::Calendar, calendar.id)? {
        return Ok(());
    }
    let Some(owner) = r.account(&owner)? else {
        return Ok(());
    };
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    let display = |address: &str, name: &str| {
        if name.is_empty() {
            address.to_string()
        } else {
            clean(name)
        }
    };
    node.attrs.push((
        "invite-organizer",
        format!(
            "{}\t{}",
            owner.primary_address,
            display(&owner.primary_address, &owner.display_name)
        ),
    ));
    for i in invitees {
        let status = i.invite.unwrap_or(InviteStatus::Accepted);
        node.attrs.push((
            "invite-user",
            format!(
                "{}\t{}\t{}\t{}\t{}",
                i.address,
                display(&i.address, &i.display_name),
                status_name(status),
                if i.level >= Level::Write {
                    "read-write"
                } else {
                    "read"
                },
                clean(i.summary.as_deref().unwrap_or(""))
            ),
        ));
    }
    Ok(())
}

fn is_calendar(node: &Resource) -> bool {
    node.collection
        .as_ref()
        .is_some_and(|t| t.iter().any(|t| t.is(CALDAV, "calendar")))
}

/// The node is the shared collection as a sharee sees it: its owner's address and name.
fn sharee_view<'a>(env: &'a PropEnv<'_>) -> Option<(&'a str, &'a str)> {
    if let (Some(owner), Some(name)) = (env.node.attr("grant-owner"), env.node.attr("grant-name")) {
        return Some((owner, name));
    }
    match &env.ctx.access {
        Access::Granted { collection, .. } if env.node.path == *collection => {
            Some((env.ctx.owner.as_str(), collection.as_str()))
        }
        _ => None,
    }
}

/// `CS:invite`: the organizer and each account sharee (href, common name, status,
/// access, summary), on a shared calendar, for the owner and the sharees alike.
pub fn invite(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    let Some(organizer) = env.node.attr("invite-organizer") else {
        return false;
    };
    out.open(&cs("invite"));
    let (address, name) = organizer.split_once('\t').unwrap_or((organizer, organizer));
    out.open(&cs("organizer"))
        .text_element(&Name::dav("href"), &format!("mailto:{address}"))
        .text_element(&cs("common-name"), name)
        .close();
    for (key, value) in &env.node.attrs {
        if *key != "invite-user" {
            continue;
        }
        let f: Vec<&str> = value.split('\t').collect();
        let [address, name, status, access, summary] = f[..] else {
            continue;
        };
        out.open(&cs("user"));
        out.text_element(&Name::dav("href"), &format!("mailto:{address}"));
        out.text_element(&cs("common-name"), name);
        out.empty(&Name::new(CS, status));
        out.open(&cs("access"))
            .empty(&Name::new(CS, access))
            .close();
        if !summary.is_empty() {
            out.text_element(&cs("summary"), summary);
        }
        out.close();
    }
    out.close();
    true
}

/// `CS:shared-url`: the owner's URL of a calendar a sharee sees.
pub fn shared_url(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    if !is_calendar(env.node) {
        return false;
    }
    let Some((owner, name)) = sharee_view(env) else {
        return false;
    };
    out.open(&cs("shared-url"))
        .text_element(&Name::dav("href"), &calendar_url(owner, name))
        .close();
    true
}

/// `CS:allowed-sharing-modes`: `can-be-shared` on the calendars the caller may share (its
/// own, or granted at manage).
pub fn allowed_sharing_modes(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    if !is_calendar(env.node) {
        return false;
    }
    let may = match sharee_view(env) {
        None => env.ctx.access == Access::Owner,
        Some(_) => {
            let level = env
                .node
                .attr("grant-level")
                .and_then(Level::parse)
                .unwrap_or_else(|| env.ctx.access.level());
            level >= Level::Manage
        }
    };
    out.open(&cs("allowed-sharing-modes"));
    if may {
        out.empty(&cs("can-be-shared"));
    }
    out.close();
    true
}

// ---------------------------------------------------------------------------------------
// The notification collection

/// `/dav/notifications/<address>/`: the account's CalendarServer notifications, one XML
/// document per resource (`<uid>.xml`), readable and deletable by the account only.
pub struct NotificationSpace;

fn notification_resource(n: &crate::store::rights::Notification) -> Resource {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(n.xml.as_bytes());
    let etag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Resource {
        path: format!("{}.xml", n.uid),
        collection: None,
        etag: format!("\"{etag}\""),
        content_type: "application/xml; charset=utf-8".into(),
        size: n.xml.len() as i64,
        created_at: n.created_at,
        modified_at: n.created_at,
        sync: None,
        attrs: vec![("notificationtype", n.kind.clone())],
    }
}

/// `CS:notificationtype`: the notification's element, empty (with its `shared-type`).
fn notificationtype(env: &PropEnv<'_>, out: &mut XmlOut) -> bool {
    let Some(kind) = env.node.attr("notificationtype") else {
        return false;
    };
    out.open(&cs("notificationtype"));
    if kind == "invite-notification" {
        out.open_with(&cs("invite-notification"), &[("shared-type", "calendar")])
            .close();
    } else {
        out.empty(&Name::new(CS, kind));
    }
    out.close();
    true
}

#[rustfmt::skip]
static NOTIFICATION_PROPS: &[LiveProp] = &[
    LiveProp { ns: CS, name: "notificationtype", protected: true, allprop: false, write: notificationtype },
];

fn uid_of(path: &str) -> Option<&str> {
    path.strip_suffix(".xml").filter(|u| !u.contains('/'))
}

impl Space for NotificationSpace {
    fn read_only_reason(&self) -> &'static str {
        "notifications are written by the server; clients read and delete them"
    }

    fn name(&self) -> &'static str {
        "notifications"
    }

    fn live_properties(&self) -> &'static [LiveProp] {
        NOTIFICATION_PROPS
    }

    fn sync_scope(
        &self,
        _: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<String>, DavError> {
        Ok(path.is_empty().then(|| notifications_scope(owner)))
    }

    fn resource(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<Resource>, DavError> {
        if path.is_empty() {
            let sync = r.scope_modseq(&notifications_scope(owner))?.0;
            return Ok(Some(Resource {
                path: String::new(),
                collection: Some(vec![cs("notification")]),
                etag: format!("\"notifications-{sync}\""),
                content_type: "".into(),
                size: 0,
                created_at: 0,
                modified_at: 0,
                sync: Some(sync),
                attrs: Vec::new(),
            }));
        }
        let Some(uid) = uid_of(path) else {
            return Ok(None);
        };
        Ok(r.notification(owner, uid)?
            .map(|n| notification_resource(&n)))
    }

    fn members(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Vec<Resource>, DavError> {
        if !path.is_empty() {
            return Ok(Vec::new());
        }
        Ok(r.notifications(owner)?
            .iter()
            .map(notification_resource)
            .collect())
    }

    fn dead_properties(
        &self,
        _: &DomainRead<'_>,
        _: &AccountId,
        _: &str,
    ) -> Result<Vec<DeadProperty>, DavError> {
        Ok(Vec::new())
    }

    fn content(
        &self,
        r: &DomainRead<'_>,
        owner: &AccountId,
        path: &str,
    ) -> Result<Option<Vec<u8>>, DavError> {
        let Some(uid) = uid_of(path) else {
            return Ok(None);
        };
        Ok(r.notification(owner, uid)?.map(|n| n.xml.into_bytes()))
    }

    fn delete(&self, w: &DomainWrite<'_>, owner: &AccountId, path: &str) -> Result<(), DavError> {
        let Some(uid) = uid_of(path) else {
            return Err(self.read_only());
        };
        if w.delete_notification(owner, uid)? {
            Ok(())
        } else {
            Err(DavError::not_found(format!("no notification {path}")))
        }
    }
}
