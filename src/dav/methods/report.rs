//! REPORT (RFC 3253 §3.6). The engine answers `DAV:sync-collection` (RFC 6578) for every
//! space; a report nobody answers gets 403 with `DAV:supported-report`.
//!
//! sync-collection, exactly as clients need it (clients.md #9, #10): an empty token is a
//! full listing; an unknown, foreign or expired token fails with `DAV:valid-sync-token`;
//! `DAV:limit` truncation answers 507 for the request-URI with a token from which nothing
//! is skipped; `Depth: 1` (Thunderbird, macOS) is tolerated. Everything is read from the
//! change log and index rows in one snapshot: no resource body is parsed.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;

use super::propfind::{Wanted, minimal, names_in, write_response};
use super::{read_xml, status_line, streamed_multistatus};
use crate::dav::locks::is_below;
use crate::dav::props::{parse_sync_token, sync_token};
use crate::dav::space::Resource;
use crate::dav::xml::{DAV, Element, Name};
use crate::dav::{Ctx, DavError};
use crate::store::Modseq;
use crate::store::domain::{ChangeKind, ChangesSince};
use crate::store::files::DeadProperty;

pub async fn report(ctx: Ctx, body: Body) -> Result<Response, DavError> {
    let Some((_, root)) = read_xml(&ctx, body).await? else {
        return Err(DavError::bad_request(
            "REPORT needs a body naming the report",
        ));
    };
    // A free/busy grant answers free-busy-query (RFC 4791 §7.10) and nothing else.
    if ctx.access.level() < crate::store::rights::Level::Read
        && !(root.name.ns == crate::caldav::CALDAV && root.name.local == "free-busy-query")
    {
        let href = ctx.href(&ctx.path, ctx.trailing_slash);
        return Err(DavError::NeedPrivileges {
            reason: format!(
                "the report {} on {href} needs read; the grant gives free/busy only",
                root.name
            ),
            href,
            privilege: Name::dav("read"),
        });
    }
    if root.name.is_dav("sync-collection") {
        return sync_collection(ctx, &root).await;
    }
    let name = root.name.clone();
    if let Some(run) = ctx.space.report(ctx, root) {
        return run.await;
    }
    Err(DavError::condition(
        StatusCode::FORBIDDEN,
        "supported-report",
        format!("the report {name} is not supported here"),
    ))
}

/// One entry of the answer: a member that changed (with its properties) or went away.
enum Entry {
    Present(Resource, Vec<DeadProperty>),
    Gone(String),
}

struct SyncAnswer {
    entries: Vec<Entry>,
    token: String,
    truncated: bool,
}

/// Where a client stands: it knows every change up to `modseq`, and, in the middle of a
/// truncated initial listing, the members up to `listed_up_to` (in path order) only.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    modseq: i64,
    listed_up_to: Option<String>,
}

impl Position {
    fn token(&self) -> String {
        match &self.listed_up_to {
            None => sync_token(self.modseq),
            Some(after) => format!(
                "{}:{}",
                sync_token(self.modseq),
                crate::dav::href::encode_path(after)
            ),
        }
    }

    fn parse(token: &str) -> Option<Position> {
        let (head, after) = match token.trim().rsplit_once(':') {
            Some((head, after)) if parse_sync_token(head).is_some() => (head, Some(after)),
            _ => (token.trim(), None),
        };
        let modseq = parse_sync_token(head)?;
        let listed_up_to = match after {
            None => None,
            Some(a) => Some(
                crate::dav::href::decode(&format!("/{a}"))
                    .ok()?
                    .segments
                    .join("/"),
            ),
        };
        Some(Position {
            modseq,
            listed_up_to,
        })
    }
}

async fn sync_collection(ctx: Ctx, root: &Element) -> Result<Response, DavError> {
    let token = root
        .child(DAV, "sync-token")
        .map(|t| t.text().trim().to_string())
        .unwrap_or_default();
    let since = if token.is_empty() {
        None
    } else {
        Some(Position::parse(&token).ok_or_else(|| {
            DavError::condition(
                StatusCode::FORBIDDEN,
                "valid-sync-token",
                format!("{token} is not a sync token of this server"),
            )
        })?)
    };
    let infinite = match root
        .child(DAV, "sync-level")
        .map(|l| l.text().trim().to_string())
    {
        None => false,
        Some(l) if l == "1" => false,
        Some(l) if l.eq_ignore_ascii_case("infinite") => true,
        Some(l) => {
            return Err(DavError::bad_request(format!(
                "sync-level {l} is neither 1 nor infinite"
            )));
        }
    };
    let limit = match root
        .child(DAV, "limit")
        .and_then(|l| l.child(DAV, "nresults"))
    {
        None => None,
        Some(n) => Some(
            n.text()
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| DavError::bad_request("DAV:nresults must be a positive number"))?,
        ),
    };
    let wanted = match root.child(DAV, "prop") {
        Some(p) => Wanted::Some(names_in(p)),
        None => Wanted::Some(vec![Name::dav("getetag")]),
    };
    let (account, path, space) = (ctx.account.clone(), ctx.path.clone(), ctx.space);
    // The owner's home also lists the collections shared with the owner (clients.md #6):
    // grants record their mount names in the home's scope, so they sync like members.
    let own_home = ctx.access == crate::dav::Access::Owner && path.is_empty();
    let wanted_names = match &wanted {
        Wanted::Some(names) => names.clone(),
        _ => Vec::new(),
    };
    let answer = ctx
        .db
        .read_async(move |r| -> Result<SyncAnswer, DavError> {
            let Some(me) = space.resource(r, &account, &path)? else {
                return Err(DavError::not_found(format!("nothing at /{path}")));
            };
            if !me.is_collection() {
                return Err(DavError::condition(StatusCode::FORBIDDEN, "supported-report", "sync-collection needs a collection"));
            }
            let Some(scope) = space.sync_scope(r, &account, &path)? else {
                return Err(DavError::condition(StatusCode::FORBIDDEN, "supported-report", "this collection has no sync state"));
            };
            let now = r.scope_modseq(&scope)?.0;
            let mounts = if own_home {
                crate::dav::home_mounts(space, r, &account)?
            } else {
                Vec::new()
            };
            let present_or_gone = |p: String| -> Result<Entry, DavError> {
                if let Some((m, dead)) = mounts.iter().find(|(m, _)| m.path == p) {
                    return Ok(Entry::Present(m.clone(), dead.clone()));
                }
                present_or_gone(space, r, &account, p)
            };
            let in_scope = |p: &str| {
                if infinite {
                    is_below(p, &path) || (path.is_empty() && !p.is_empty())
                } else {
                    crate::store::files::parent_of(p) == path && !p.is_empty()
                }
            };
            let budget = limit.unwrap_or(usize::MAX);
            let mut entries = Vec::new();
            let mut after = since.as_ref().and_then(|s| s.listed_up_to.clone());

            // 1. What changed since the client's position, among the paths it knows.
            if let Some(pos) = &since {
                let changes = match r.changes_since(&scope, Modseq(pos.modseq))? {
                    ChangesSince::TooOld => {
                        return Err(DavError::condition(
                            StatusCode::FORBIDDEN,
                            "valid-sync-token",
                            format!("sync token {} is older than the change log or not of this collection", pos.modseq),
                        ));
                    }
                    ChangesSince::Changes { changes, .. } => changes,
                };
                let known = |p: &str| after.as_deref().is_none_or(|a| p <= a);
                let mut newest: HashMap<String, (i64, ChangeKind)> = HashMap::new();
                for c in changes.into_iter().filter(|c| in_scope(&c.object) && known(&c.object)) {
                    newest.insert(c.object, (c.modseq.0, c.kind));
                }
                let mut order: Vec<(String, i64)> = newest.into_iter().map(|(p, (m, _))| (p, m)).collect();
                order.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                if order.len() > budget {
                    // Cut between two modseqs so that the token skips nothing.
                    let first_left_out = order[budget].1;
                    let kept: Vec<(String, i64)> = order.iter().take(budget).filter(|(_, m)| *m < first_left_out).cloned().collect();
                    if !kept.is_empty() {
                        for (p, _) in kept {
                            entries.push(present_or_gone(p)?);
                        }
                        let token = Position { modseq: first_left_out - 1, listed_up_to: after }.token();
                        decorate(space, r, &account, &mut entries, &wanted_names)?;
                        return Ok(SyncAnswer { entries, token, truncated: true });
                    }
                }
                for (p, _) in order {
                    entries.push(present_or_gone(p)?);
                }
            }

            // 2. The listing: every member on an initial sync, or what a truncated
            // listing has not shown yet, in path order.
            if since.is_none() || after.is_some() {
                let mut members: Vec<(Resource, Option<Vec<DeadProperty>>)> = Vec::new();
                let mut queue = vec![path.clone()];
                while let Some(dir) = queue.pop() {
                    let listed = space.members(r, &account, &dir)?;
                    members.reserve(listed.len());
                    for m in listed {
                        if infinite && m.is_collection() {
                            queue.push(m.path.clone());
                        }
                        if after.as_deref().is_none_or(|a| m.path.as_str() > a) {
                            members.push((m, None));
                        }
                    }
                }
                for (m, dead) in &mounts {
                    if after.as_deref().is_none_or(|a| m.path.as_str() > a) {
                        members.push((m.clone(), Some(dead.clone())));
                    }
                }
                members.sort_by(|a, b| a.0.path.cmp(&b.0.path));
                let room = budget.saturating_sub(entries.len()).max(1);
                let truncated = members.len() > room;
                members.truncate(room);
                if let Some((last, _)) = members.last() {
                    after = Some(last.path.clone());
                }
                entries.reserve(members.len());
                for (m, dead) in members {
                    let dead = match dead {
                        Some(d) => d,
                        None if m.is_collection() || space.objects_have_dead_properties() => {
                            space.dead_properties(r, &account, &m.path)?
                        }
                        None => Vec::new(),
                    };
                    entries.push(Entry::Present(m, dead));
                }
                if truncated {
                    let token = Position { modseq: now, listed_up_to: after }.token();
                    decorate(space, r, &account, &mut entries, &wanted_names)?;
                    return Ok(SyncAnswer { entries, token, truncated: true });
                }
            }
            decorate(space, r, &account, &mut entries, &wanted_names)?;
            Ok(SyncAnswer { entries, token: sync_token(now), truncated: false })
        })
        .await?;

    let minimal = minimal(&ctx);
    let SyncAnswer {
        entries,
        token,
        truncated,
    } = answer;
    let mut entries = entries.into_iter();
    let mut tail = Some((truncated, token));
    Ok(streamed_multistatus(move |out| {
        match entries.next() {
            Some(Entry::Present(res, dead)) => {
                write_response(&ctx, out, &res, &dead, &wanted, minimal)
            }
            Some(Entry::Gone(p)) => {
                out.open(&Name::dav("response")).open(&Name::dav("href"));
                out.text_with(|buf| ctx.push_href(buf, &p, false));
                out.close();
                out.text_element(&Name::dav("status"), &status_line(StatusCode::NOT_FOUND));
                out.close();
            }
            None => {
                let Some((truncated, token)) = tail.take() else {
                    return false;
                };
                if truncated {
                    // RFC 6578 §3.6: the request-URI with 507 says the answer is partial.
                    out.open(&Name::dav("response"));
                    out.text_element(&Name::dav("href"), &ctx.href(&ctx.path, true));
                    out.text_element(
                        &Name::dav("status"),
                        &status_line(StatusCode::INSUFFICIENT_STORAGE),
                    );
                    out.open(&Name::dav("error"))
                        .empty(&Name::dav("number-of-matches-within-limits"))
                        .close();
                    out.close();
                }
                out.text_element(&Name::dav("sync-token"), &token);
            }
        }
        true
    }))
}

/// What the space's live properties among `wanted` need of the entries present.
fn decorate(
    space: &dyn crate::dav::space::Space,
    r: &crate::store::domain::DomainRead<'_>,
    account: &crate::store::AccountId,
    entries: &mut [Entry],
    wanted: &[Name],
) -> Result<(), DavError> {
    for e in entries {
        if let Entry::Present(res, _) = e {
            space.decorate(r, account, res, wanted)?;
        }
    }
    Ok(())
}

/// A changed path as it is now: present with its properties, or gone.
fn present_or_gone(
    space: &dyn crate::dav::space::Space,
    r: &crate::store::domain::DomainRead<'_>,
    account: &crate::store::AccountId,
    p: String,
) -> Result<Entry, DavError> {
    Ok(match space.resource(r, account, &p)? {
        Some(res) => {
            let dead = space.dead_properties(r, account, &p)?;
            Entry::Present(res, dead)
        }
        None => Entry::Gone(p),
    })
}

#[cfg(test)]
mod tests {
    use super::Position;

    #[test]
    fn positions_round_trip_through_tokens() {
        for p in [
            Position {
                modseq: 7,
                listed_up_to: None,
            },
            Position {
                modseq: 7,
                listed_up_to: Some("cal/a b:c.ics".into()),
            },
        ] {
            assert_eq!(
                Position::parse(&p.token()),
                Some(p.clone()),
                "{}",
                p.token()
            );
        }
        assert_eq!(Position::parse("urn:x-domus:sync:x"), None);
        assert_eq!(Position::parse("http://example.org/1"), None);
    }
}
