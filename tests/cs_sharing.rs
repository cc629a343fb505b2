//! Apple CalendarServer sharing over HTTP against the real server: `CS:share` POSTs,
//! invite notifications, `CS:invite-reply`, `CS:invite` and the sharing resource types,
//! refusals (another domain, unknown users, no manage right, bad bodies), and the
//! sharee's home sync token following grants however they are made.

mod common;

use common::*;
use reqwest::blocking::RequestBuilder;
use reqwest::{Method, StatusCode};
use serde_json::json;

const ALICE: (&str, &str) = ("alice@a.test", "alice-pw-1");
const BOB: (&str, &str) = ("bob@a.test", "bob-pw-1");
const CAROL: (&str, &str) = ("carol@a.test", "carol-pw-1");
const DAVE: (&str, &str) = ("dave@b.test", "dave-pw-1");
const CAL: &str = "/dav/calendars/alice@a.test/calendar/";
const BOB_HOME: &str = "/dav/calendars/bob@a.test/";
const BOB_MOUNT: &str = "/dav/calendars/bob@a.test/alice-calendar/";
const CAROL_HOME: &str = "/dav/calendars/carol@a.test/";
const CAROL_MOUNT: &str = "/dav/calendars/carol@a.test/alice-calendar/";

fn setup() -> Server {
    let s = Server::start();
    s.domus_ok(&["domain", "add", "a.test"]);
    s.domus_ok(&["domain", "add", "b.test"]);
    for (u, p) in [ALICE, BOB, CAROL, DAVE] {
        add_user(&s.data, u, p);
    }
    s
}

fn as_user(s: &Server, method: &str, path: &str, user: (&str, &str)) -> RequestBuilder {
    client()
        .request(Method::from_bytes(method.as_bytes()).unwrap(), s.url(path))
        .basic_auth(user.0, Some(user.1))
}

fn send(
    s: &Server,
    user: (&str, &str),
    method: &str,
    path: &str,
    depth: Option<&str>,
    body: &str,
) -> (StatusCode, String) {
    let mut req = as_user(s, method, path, user).header("Content-Type", "text/xml; charset=utf-8");
    if let Some(d) = depth {
        req = req.header("Depth", d);
    }
    let r = req.body(body.to_string()).send().unwrap();
    (r.status(), r.text().unwrap())
}

/// Apple's CS:share body (as in the fixture `cs-share-post-set-read-write.xml`).
fn share_body(href: &str, access: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?>
<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
    <CS:set>
        <D:href>{href}</D:href>
        <CS:summary>My Shared Calendar</CS:summary>
        <CS:{access}/>
    </CS:set>
</CS:share>"#
    )
}

fn remove_body(href: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?>
<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:remove><D:href>{href}</D:href></CS:remove></CS:share>"#
    )
}

/// Apple's CS:invite-reply body (as in the fixture `cs-invite-reply-accept-post.xml`).
fn reply_body(sharee: &str, answer: &str, uid: &str) -> String {
    format!(
        r#"<?xml version='1.0' encoding='UTF-8'?>
<invite-reply xmlns='http://calendarserver.org/ns/'>
  <href xmlns='DAV:'>mailto:{sharee}</href>
  <{answer}/>
  <hosturl>
    <href xmlns='DAV:'>/dav/calendars/alice@a.test/calendar</href>
  </hosturl>
  <in-reply-to>{uid}</in-reply-to>
  <summary>The Shared Calendar</summary>
  <common-name>Sharee</common-name>
</invite-reply>"#
    )
}

const CAL_PROPS: &str = r#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><CS:invite/><CS:allowed-sharing-modes/><CS:shared-url/><D:current-user-privilege-set/><D:owner/><D:sync-token/></D:prop></D:propfind>"#;
const HOME_SYNC: &str = r#"<D:sync-collection xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:resourcetype/><CS:invite/><CS:allowed-sharing-modes/><D:current-user-privilege-set/></D:prop></D:sync-collection>"#;
const NOTIFICATIONS: &str = r#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><CS:notificationtype/><D:getetag/></D:prop></D:propfind>"#;

fn sync_token(text: &str) -> String {
    let start = text.rfind("<D:sync-token>").unwrap() + "<D:sync-token>".len();
    let end = start + text[start..].find("</D:sync-token>").unwrap();
    text[start..end].to_string()
}

fn home_sync(s: &Server, user: (&str, &str), home: &str, token: &str) -> String {
    let body = HOME_SYNC.replace(
        "<D:sync-token/>",
        &format!("<D:sync-token>{token}</D:sync-token>"),
    );
    let (status, text) = send(s, user, "REPORT", home, Some("1"), &body);
    assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
    text
}

/// The `DAV:response` of `href` in a multistatus.
/// (A collection gone is named without its trailing slash.)
fn entry<'a>(text: &'a str, href: &str) -> Option<&'a str> {
    let at = text
        .find(&format!("<D:href>{href}</D:href>"))
        .or_else(|| text.find(&format!("<D:href>{}</D:href>", href.trim_end_matches('/'))))?;
    let end = at + text[at..].find("</D:response>")?;
    Some(&text[at..end])
}

/// The text of the first `<CS:{name}>` element.
fn element_text(text: &str, name: &str) -> String {
    let open = format!("<CS:{name}>");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        + open.len();
    let end = start + text[start..].find('<').unwrap();
    text[start..end].to_string()
}

/// The invite uid in the sharee's only invite notification, read through PROPFIND + GET.
fn invite_of(s: &Server, user: (&str, &str)) -> (String, String) {
    let coll = format!("/dav/notifications/{}/", user.0);
    let (status, text) = send(s, user, "PROPFIND", &coll, Some("1"), NOTIFICATIONS);
    assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
    assert!(text.contains("<CS:notification/>"), "{text}");
    let at = text
        .find("<CS:notificationtype><CS:invite-notification")
        .unwrap_or_else(|| panic!("no invite for {}: {text}", user.0));
    let href_start = text[..at].rfind("<D:href>").unwrap() + "<D:href>".len();
    let href_end = href_start + text[href_start..].find('<').unwrap();
    let href = text[href_start..href_end].to_string();
    let r = as_user(s, "GET", &href, user).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc = r.text().unwrap();
    (element_text(&doc, "uid"), doc)
}

#[test]
fn apple_share_invite_accept_and_the_sharee_home_follows() {
    let s = setup();
    // Feature discovery, the notification collection, and who may share what.
    let r = client()
        .request(Method::OPTIONS, s.url(CAL))
        .send()
        .unwrap();
    let dav = r.headers()["dav"].to_str().unwrap().to_string();
    assert!(dav.contains("calendarserver-sharing"), "{dav}");
    assert!(r.headers()["allow"].to_str().unwrap().contains("POST"));
    let (_, text) = send(
        &s,
        BOB,
        "PROPFIND",
        "/dav/principals/bob@a.test/",
        Some("0"),
        r#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:notification-URL/></D:prop></D:propfind>"#,
    );
    assert!(
        text.contains("<CS:notification-URL><D:href>/dav/notifications/bob@a.test/</D:href>"),
        "{text}"
    );
    let (_, text) = send(&s, ALICE, "PROPFIND", CAL, Some("0"), CAL_PROPS);
    assert!(text.contains("<CS:can-be-shared/>"), "{text}");
    assert!(!text.contains("shared-owner"), "not shared yet: {text}");
    let bobs_first = home_sync(&s, BOB, BOB_HOME, "");
    let bob_token = sync_token(&bobs_first);
    assert!(!bobs_first.contains("alice-"), "{bobs_first}");

    // Alice shares with Apple's body: 200, an invite waits for Bob.
    let (status, text) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        &share_body("mailto:bob@a.test", "read"),
    );
    assert_eq!(status, StatusCode::OK, "{text}");
    let (_, text) = send(&s, ALICE, "PROPFIND", CAL, Some("0"), CAL_PROPS);
    assert!(text.contains("<CS:shared-owner/>"), "{text}");
    assert!(
        text.contains("<CS:organizer><D:href>mailto:alice@a.test</D:href>"),
        "{text}"
    );
    let user = &text[text.find("<CS:user>").unwrap_or_else(|| panic!("{text}"))..];
    assert!(
        user.contains("<D:href>mailto:bob@a.test</D:href>"),
        "{user}"
    );
    assert!(user.contains("<CS:invite-noresponse/>"), "{user}");
    assert!(user.contains("<CS:access><CS:read/></CS:access>"), "{user}");
    assert!(
        user.contains("<CS:summary>My Shared Calendar</CS:summary>"),
        "{user}"
    );
    // Pending: nothing in Bob's home, nothing reachable.
    let (_, text) = send(&s, BOB, "PROPFIND", BOB_HOME, Some("1"), CAL_PROPS);
    assert!(!text.contains("alice-calendar"), "{text}");
    assert_eq!(
        as_user(&s, "GET", CAL, BOB).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (uid, doc) = invite_of(&s, BOB);
    assert!(doc.contains("<CS:invite-noresponse/>"), "{doc}");
    assert!(
        doc.contains("<CS:hosturl><D:href>/dav/calendars/alice@a.test/calendar/</D:href>"),
        "{doc}"
    );
    assert!(doc.contains(r#"<C:comp name="VEVENT">"#), "{doc}");

    // Bob accepts on his home: the calendar is in his home, read-only, and his home's
    // sync token moved with it.
    let (status, text) = send(
        &s,
        BOB,
        "POST",
        BOB_HOME,
        None,
        &reply_body("bob@a.test", "invite-accepted", &uid),
    );
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        text.contains("<CS:shared-as") && text.contains(&format!("<D:href>{BOB_MOUNT}</D:href>")),
        "{text}"
    );
    let (_, text) = send(&s, BOB, "PROPFIND", BOB_HOME, Some("1"), CAL_PROPS);
    let mine = entry(&text, BOB_MOUNT).unwrap_or_else(|| panic!("{text}"));
    assert!(
        mine.contains("<CS:shared/>") && !mine.contains("shared-owner"),
        "{mine}"
    );
    assert!(
        mine.contains("<D:read/>") && !mine.contains("<D:write/>"),
        "{mine}"
    );
    assert!(
        mine.contains("<CS:shared-url><D:href>/dav/calendars/alice@a.test/calendar/</D:href>"),
        "{mine}"
    );
    assert!(mine.contains("<CS:invite-accepted/>"), "{mine}");
    assert!(
        mine.contains("<CS:allowed-sharing-modes>") && !mine.contains("can-be-shared"),
        "{mine}"
    );
    let delta = home_sync(&s, BOB, BOB_HOME, &bob_token);
    assert_ne!(sync_token(&delta), bob_token);
    let listed = entry(&delta, BOB_MOUNT).unwrap_or_else(|| panic!("{delta}"));
    assert!(
        listed.contains("200 OK") && listed.contains("<CS:shared/>"),
        "{listed}"
    );
    // A full sync lists it too.
    let full = home_sync(&s, BOB, BOB_HOME, "");
    assert!(entry(&full, BOB_MOUNT).is_some(), "{full}");
    // The invite is answered: gone from Bob's notifications; Alice has the reply.
    let (_, text) = send(
        &s,
        BOB,
        "PROPFIND",
        "/dav/notifications/bob@a.test/",
        Some("1"),
        NOTIFICATIONS,
    );
    assert!(!text.contains("invite-notification"), "{text}");
    let reply = format!("/dav/notifications/alice@a.test/{uid}-reply.xml");
    let r = as_user(&s, "GET", &reply, ALICE).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc = r.text().unwrap();
    assert!(
        doc.contains("<CS:invite-reply>") && doc.contains("<CS:invite-accepted/>"),
        "{doc}"
    );
    assert_eq!(
        as_user(&s, "GET", &reply, BOB).send().unwrap().status(),
        StatusCode::FORBIDDEN,
        "nobody reads another's notifications"
    );
    assert_eq!(
        as_user(&s, "DELETE", &reply, ALICE)
            .send()
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_user(&s, "GET", &reply, ALICE).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (_, text) = send(&s, ALICE, "PROPFIND", CAL, Some("0"), CAL_PROPS);
    assert!(text.contains("<CS:invite-accepted/>"), "{text}");

    // Read-only: a PUT through the mount is refused with need-privileges.
    let event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//EN\r\nBEGIN:VEVENT\r\nUID:b1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T090000Z\r\nDTEND:20260310T100000Z\r\nSUMMARY:Bob\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let r = as_user(&s, "PUT", &format!("{BOB_MOUNT}b1.ics"), BOB)
        .header("Content-Type", "text/calendar")
        .body(event)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let text = r.text().unwrap();
    assert!(
        text.contains("need-privileges") && text.contains("write-content"),
        "{text}"
    );
    // Read-write: Alice changes the access, Bob's PUT goes through.
    let (status, _) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        &share_body("/dav/principals/bob@a.test/", "read-write"),
    );
    assert_eq!(status, StatusCode::OK);
    let r = as_user(&s, "PUT", &format!("{BOB_MOUNT}b1.ics"), BOB)
        .header("Content-Type", "text/calendar")
        .body(event)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[test]
fn decline_hides_delete_declines_and_remove_revokes() {
    let s = setup();
    for who in ["mailto:bob@a.test", "mailto:CAROL@a.test"] {
        let (status, text) = send(&s, ALICE, "POST", CAL, None, &share_body(who, "read-write"));
        assert_eq!(status, StatusCode::OK, "{text}");
    }
    // Bob declines: 204, nothing in his home; Alice sees the decline.
    let (uid, _) = invite_of(&s, BOB);
    let token = sync_token(&home_sync(&s, BOB, BOB_HOME, ""));
    let (status, text) = send(
        &s,
        BOB,
        "POST",
        BOB_HOME,
        None,
        &reply_body("bob@a.test", "invite-declined", &uid),
    );
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let (_, text) = send(&s, BOB, "PROPFIND", BOB_HOME, Some("1"), CAL_PROPS);
    assert!(!text.contains("alice-calendar"), "{text}");
    assert_eq!(
        as_user(&s, "GET", CAL, BOB).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_ne!(sync_token(&home_sync(&s, BOB, BOB_HOME, &token)), token);
    let (_, text) = send(&s, ALICE, "PROPFIND", CAL, Some("0"), CAL_PROPS);
    assert!(text.contains("<CS:invite-declined/>"), "{text}");
    // A reply to someone else's invite is refused.
    let (carol_uid, _) = invite_of(&s, CAROL);
    let (status, _) = send(
        &s,
        BOB,
        "POST",
        BOB_HOME,
        None,
        &reply_body("bob@a.test", "invite-accepted", &carol_uid),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Carol accepts, then removes the calendar from her home: declined, data kept.
    let (status, _) = send(
        &s,
        CAROL,
        "POST",
        CAROL_HOME,
        None,
        &reply_body("carol@a.test", "invite-accepted", &carol_uid),
    );
    assert_eq!(status, StatusCode::OK);
    let (_, text) = send(&s, CAROL, "PROPFIND", CAROL_HOME, Some("1"), CAL_PROPS);
    assert!(entry(&text, CAROL_MOUNT).is_some(), "{text}");
    let r = as_user(&s, "DELETE", CAROL_MOUNT, CAROL).send().unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, text) = send(&s, CAROL, "PROPFIND", CAROL_HOME, Some("1"), CAL_PROPS);
    assert!(entry(&text, CAROL_MOUNT).is_none(), "{text}");
    assert_eq!(
        as_user(&s, "GET", CAL, ALICE).send().unwrap().status(),
        StatusCode::OK
    );
    // Invited again, she accepts again; then Alice removes her: revoked, her home's sync
    // reports it gone, and she is told.
    let (status, _) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        &share_body("mailto:carol@a.test", "read"),
    );
    assert_eq!(status, StatusCode::OK);
    let (uid, doc) = invite_of(&s, CAROL);
    assert!(doc.contains("<CS:invite-noresponse/>"), "{doc}");
    let (status, _) = send(
        &s,
        CAROL,
        "POST",
        CAROL_HOME,
        None,
        &reply_body("carol@a.test", "invite-accepted", &uid),
    );
    assert_eq!(status, StatusCode::OK);
    let token = sync_token(&home_sync(&s, CAROL, CAROL_HOME, ""));
    let (status, _) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        &remove_body("mailto:carol@a.test"),
    );
    assert_eq!(status, StatusCode::OK);
    let delta = home_sync(&s, CAROL, CAROL_HOME, &token);
    let gone = entry(&delta, CAROL_MOUNT).unwrap_or_else(|| panic!("{delta}"));
    assert!(gone.contains("404"), "{gone}");
    assert_eq!(
        as_user(&s, "GET", CAROL_MOUNT, CAROL)
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let (_, doc) = invite_of(&s, CAROL);
    assert!(doc.contains("<CS:invite-deleted/>"), "{doc}");
    let (_, text) = send(&s, ALICE, "PROPFIND", CAL, Some("0"), CAL_PROPS);
    assert!(!text.contains("mailto:carol@a.test"), "{text}");
    // Removing the last sharee unshares the calendar.
    let (status, _) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        &remove_body("mailto:bob@a.test"),
    );
    assert_eq!(status, StatusCode::OK);
    let (_, text) = send(&s, ALICE, "PROPFIND", CAL, Some("0"), CAL_PROPS);
    assert!(!text.contains("shared-owner"), "{text}");
}

#[test]
fn shares_outside_the_domain_unknown_users_bad_bodies_and_non_managers_are_refused() {
    let s = setup();
    let invite_text = |s: &Server| send(s, ALICE, "PROPFIND", CAL, Some("0"), CAL_PROPS).1;
    // Another domain: refused as a whole, with the reason.
    let (status, text) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        &share_body("mailto:dave@b.test", "read"),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text.contains("outside this domain"), "{text}");
    let (status, _) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        &share_body("mailto:someone@elsewhere.example", "read"),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An unknown user: 207, 403 for it, 424 for the others, nothing changed.
    let body = r#"<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
  <CS:set><D:href>mailto:bob@a.test</D:href><CS:common-name>Bob</CS:common-name><CS:read/></CS:set>
  <CS:set><D:href>mailto:nobody@a.test</D:href><CS:read-write/></CS:set>
</CS:share>"#;
    let (status, text) = send(&s, ALICE, "POST", CAL, None, body);
    assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
    let bad = entry(&text, "mailto:nobody@a.test").unwrap_or_else(|| panic!("{text}"));
    assert!(bad.contains("403"), "{bad}");
    let ok = entry(&text, "mailto:bob@a.test").unwrap_or_else(|| panic!("{text}"));
    assert!(ok.contains("424"), "{ok}");
    assert!(!invite_text(&s).contains("bob@a.test"));
    let (_, text) = send(
        &s,
        BOB,
        "PROPFIND",
        "/dav/notifications/bob@a.test/",
        Some("1"),
        NOTIFICATIONS,
    );
    assert!(!text.contains("invite-notification"), "{text}");
    // Malformed bodies: 4xx, nothing changed.
    for body in [
        r#"<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:set><D:href>mailto:bob@a.test</D:href></CS:set></CS:share>"#.to_string(),
        r#"<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:set><CS:read/></CS:set></CS:share>"#.to_string(),
        r#"<CS:share xmlns:CS="http://calendarserver.org/ns/"/>"#.to_string(),
        r#"<CS:share xmlns:CS="http://calendarserver.org/ns/"><CS:set>"#.to_string(),
        format!(
            r#"<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">{}</CS:share>"#,
            "<CS:set><D:href>mailto:bob@a.test</D:href><CS:read/></CS:set>".repeat(101)
        ),
    ] {
        let (status, text) = send(&s, ALICE, "POST", CAL, None, &body);
        assert!(status.is_client_error(), "{status} {text}");
        assert!(!invite_text(&s).contains("bob@a.test"));
    }
    let (status, _) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        r#"<D:propfind xmlns:D="DAV:"/>"#,
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Sharing with oneself is refused like an unknown user.
    let (status, _) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        &share_body("mailto:alice@a.test", "read"),
    );
    assert_eq!(status, StatusCode::MULTI_STATUS);

    // Bob, granted read through the API, may not share it further: 403 need-privileges.
    let r = as_user(&s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
        .json(&json!({ "to": "bob@a.test", "level": "read" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, text) = send(&s, BOB, "PROPFIND", CAL, Some("0"), CAL_PROPS);
    assert!(
        text.contains("<CS:allowed-sharing-modes>") && !text.contains("can-be-shared"),
        "{text}"
    );
    assert!(text.contains("<CS:shared/>"), "{text}");
    let (status, text) = send(
        &s,
        BOB,
        "POST",
        BOB_MOUNT,
        None,
        &share_body("mailto:carol@a.test", "read"),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        text.contains("need-privileges") && text.contains("write-acl"),
        "{text}"
    );
    // Someone without any grant does not even find it.
    let (status, _) = send(
        &s,
        CAROL,
        "POST",
        CAL,
        None,
        &share_body("mailto:carol@a.test", "read"),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    // At manage, Bob shares it further (through his own home's URL).
    let r = as_user(&s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
        .json(&json!({ "to": "bob@a.test", "level": "manage" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, text) = send(&s, BOB, "PROPFIND", BOB_HOME, Some("1"), CAL_PROPS);
    let mine = entry(&text, BOB_MOUNT).unwrap_or_else(|| panic!("{text}"));
    assert!(mine.contains("<CS:can-be-shared/>"), "{mine}");
    let (status, text) = send(
        &s,
        BOB,
        "POST",
        BOB_MOUNT,
        None,
        &share_body("mailto:carol@a.test", "read-write"),
    );
    assert_eq!(status, StatusCode::OK, "{text}");
    let text = invite_text(&s);
    assert!(text.contains("mailto:carol@a.test"), "{text}");
    // Bob's API grant shows as accepted; a read-write set keeps his manage right.
    let (status, _) = send(
        &s,
        ALICE,
        "POST",
        CAL,
        None,
        &share_body("mailto:bob@a.test", "read-write"),
    );
    assert_eq!(status, StatusCode::OK);
    let r = as_user(&s, "GET", "/api/v1/calendars/calendar/grants", ALICE)
        .send()
        .unwrap();
    let v: serde_json::Value = r.json().unwrap();
    let grants = v["grants"].as_array().unwrap_or_else(|| panic!("{v}"));
    let bob = grants.iter().find(|g| g["to"] == "bob@a.test").unwrap();
    assert_eq!(bob["level"], "manage", "{v}");
    let carol = grants.iter().find(|g| g["to"] == "carol@a.test").unwrap();
    assert_eq!(carol["invite"], "noresponse", "{v}");
}

#[test]
fn the_sharee_home_sync_token_follows_api_grants_groups_and_everyone() {
    let s = setup();
    s.domus_ok(&["group", "add", "a.test", "team"]);
    s.domus_ok(&["group", "member", "add", "a.test", "team", "bob@a.test"]);
    let bob0 = sync_token(&home_sync(&s, BOB, BOB_HOME, ""));
    let carol0 = sync_token(&home_sync(&s, CAROL, CAROL_HOME, ""));
    // A grant to a group moves its members' home tokens (and lists the calendar there).
    let r = as_user(&s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
        .json(&json!({ "to": "group:team", "level": "read" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let team_grant = r.json::<serde_json::Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let delta = home_sync(&s, BOB, BOB_HOME, &bob0);
    let bob1 = sync_token(&delta);
    assert_ne!(bob1, bob0);
    let listed = entry(&delta, BOB_MOUNT).unwrap_or_else(|| panic!("{delta}"));
    assert!(listed.contains("200 OK"), "{listed}");
    assert_eq!(
        sync_token(&home_sync(&s, CAROL, CAROL_HOME, &carol0)),
        carol0
    );
    // The ctag (the home's getctag) moves with it.
    // Joining the group moves Carol's; leaving it moves Bob's (and reports it gone).
    s.domus_ok(&["group", "member", "add", "a.test", "team", "carol@a.test"]);
    let delta = home_sync(&s, CAROL, CAROL_HOME, &carol0);
    let carol1 = sync_token(&delta);
    assert_ne!(carol1, carol0);
    assert!(entry(&delta, CAROL_MOUNT).is_some(), "{delta}");
    s.domus_ok(&["group", "member", "remove", "a.test", "team", "bob@a.test"]);
    let delta = home_sync(&s, BOB, BOB_HOME, &bob1);
    let bob2 = sync_token(&delta);
    assert_ne!(bob2, bob1);
    assert!(entry(&delta, BOB_MOUNT).unwrap().contains("404"), "{delta}");
    // A grant to everyone reaches Bob again; its level change is seen; its removal too.
    let r = as_user(&s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
        .json(&json!({ "to": "everyone", "level": "read" }))
        .send()
        .unwrap();
    let everyone = r.json::<serde_json::Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let delta = home_sync(&s, BOB, BOB_HOME, &bob2);
    let bob3 = sync_token(&delta);
    assert_ne!(bob3, bob2);
    assert!(
        entry(&delta, BOB_MOUNT).unwrap().contains("200 OK"),
        "{delta}"
    );
    let r = as_user(&s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
        .json(&json!({ "to": "everyone", "level": "write" }))
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let delta = home_sync(&s, BOB, BOB_HOME, &bob3);
    let bob4 = sync_token(&delta);
    assert_ne!(bob4, bob3);
    assert!(
        entry(&delta, BOB_MOUNT).unwrap().contains("<D:write/>"),
        "{delta}"
    );
    let r = as_user(
        &s,
        "DELETE",
        &format!("/api/v1/calendars/calendar/grants/{everyone}"),
        ALICE,
    )
    .send()
    .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let delta = home_sync(&s, BOB, BOB_HOME, &bob4);
    assert_ne!(sync_token(&delta), bob4);
    assert!(entry(&delta, BOB_MOUNT).unwrap().contains("404"), "{delta}");
    // Removing the group and deleting the calendar move Carol's token as well.
    s.domus_ok(&["group", "remove", "a.test", "team"]);
    let delta = home_sync(&s, CAROL, CAROL_HOME, &carol1);
    let carol2 = sync_token(&delta);
    assert_ne!(carol2, carol1);
    assert!(
        entry(&delta, CAROL_MOUNT).unwrap().contains("404"),
        "{delta}"
    );
    let _ = team_grant;
    let r = as_user(&s, "POST", "/api/v1/calendars/calendar/grants", ALICE)
        .json(&json!({ "to": "carol@a.test", "level": "read" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let carol3 = sync_token(&home_sync(&s, CAROL, CAROL_HOME, &carol2));
    assert_ne!(carol3, carol2);
    assert_eq!(
        as_user(&s, "DELETE", CAL, ALICE).send().unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let delta = home_sync(&s, CAROL, CAROL_HOME, &carol3);
    assert_ne!(sync_token(&delta), carol3);
    assert!(
        entry(&delta, CAROL_MOUNT).unwrap().contains("404"),
        "{delta}"
    );
}

const CONTACTS: &str = "/dav/addressbooks/alice@a.test/contacts/";
const BOB_BOOKS: &str = "/dav/addressbooks/bob@a.test/";
const BOB_BOOK_MOUNT: &str = "/dav/addressbooks/bob@a.test/alice-contacts/";

/// Alice's default address book id (for the grants API).
fn alice_book_id(s: &Server) -> i64 {
    let books: serde_json::Value = as_user(s, "GET", "/api/v1/addressbooks", ALICE)
        .send()
        .unwrap()
        .json()
        .unwrap();
    books["addressBooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "contacts")
        .unwrap_or_else(|| panic!("{books}"))["id"]
        .as_i64()
        .unwrap()
}

fn grant(s: &Server, path: &str, to: &str) {
    let r = as_user(s, "POST", path, ALICE)
        .json(&json!({ "to": to, "level": "read" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
}

fn status_of(s: &Server, user: (&str, &str), path: &str) -> StatusCode {
    as_user(s, "PROPFIND", path, user)
        .header("Depth", "0")
        .send()
        .unwrap()
        .status()
}

/// `delta` (a home sync since an older token) moved the token and reports `mount` gone.
fn reports_gone(delta: &str, old: &str, mount: &str) {
    assert_ne!(sync_token(delta), old, "{delta}");
    let listed = entry(delta, mount).unwrap_or_else(|| panic!("{mount} not in {delta}"));
    assert!(listed.contains("404"), "{listed}");
}

#[test]
fn removing_the_owner_account_moves_the_sharee_home_tokens() {
    let s = setup();
    s.domus_ok(&["group", "add", "a.test", "team"]);
    s.domus_ok(&["group", "member", "add", "a.test", "team", "bob@a.test"]);
    // The calendar reaches Bob as an account, the address book through a group.
    grant(&s, "/api/v1/calendars/calendar/grants", "bob@a.test");
    let book = alice_book_id(&s);
    grant(
        &s,
        &format!("/api/v1/addressbooks/{book}/grants"),
        "group:team",
    );
    let cal0 = sync_token(&home_sync(&s, BOB, BOB_HOME, ""));
    let books0 = sync_token(&home_sync(&s, BOB, BOB_BOOKS, ""));
    assert_eq!(status_of(&s, BOB, BOB_MOUNT), StatusCode::MULTI_STATUS);
    assert_eq!(status_of(&s, BOB, BOB_BOOK_MOUNT), StatusCode::MULTI_STATUS);

    s.domus_ok(&["user", "remove", "alice@a.test", "--yes"]);

    reports_gone(&home_sync(&s, BOB, BOB_HOME, &cal0), &cal0, BOB_MOUNT);
    reports_gone(
        &home_sync(&s, BOB, BOB_BOOKS, &books0),
        &books0,
        BOB_BOOK_MOUNT,
    );
    assert_eq!(status_of(&s, BOB, BOB_MOUNT), StatusCode::NOT_FOUND);
    assert_eq!(status_of(&s, BOB, BOB_BOOK_MOUNT), StatusCode::NOT_FOUND);
    // Carol, who was never reached, sees no change.
    let carol0 = sync_token(&home_sync(&s, CAROL, CAROL_HOME, ""));
    assert_eq!(
        sync_token(&home_sync(&s, CAROL, CAROL_HOME, &carol0)),
        carol0
    );
}

#[test]
fn deleting_a_shared_address_book_through_carddav_moves_the_sharee_home_token() {
    let s = setup();
    let book = alice_book_id(&s);
    grant(
        &s,
        &format!("/api/v1/addressbooks/{book}/grants"),
        "bob@a.test",
    );
    let before = home_sync(&s, BOB, BOB_BOOKS, "");
    assert!(entry(&before, BOB_BOOK_MOUNT).is_some(), "{before}");
    let t0 = sync_token(&before);

    let r = as_user(&s, "DELETE", CONTACTS, ALICE).send().unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    reports_gone(&home_sync(&s, BOB, BOB_BOOKS, &t0), &t0, BOB_BOOK_MOUNT);
    assert_eq!(status_of(&s, BOB, BOB_BOOK_MOUNT), StatusCode::NOT_FOUND);
    // The grant went with the book.
    let grants = as_user(
        &s,
        "GET",
        &format!("/api/v1/addressbooks/{book}/grants"),
        ALICE,
    )
    .send()
    .unwrap();
    assert_eq!(grants.status(), StatusCode::NOT_FOUND);
}

#[test]
fn removing_a_shared_subscription_moves_the_sharee_home_token() {
    let s = setup();
    // Alice subscribes to a share link of her own calendar (resolved in-process), then
    // shares the subscribed calendar with Bob.
    let r = as_user(&s, "POST", "/api/v1/calendars/calendar/share-links", ALICE)
        .json(&json!({ "kind": "private" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let link: serde_json::Value = r.json().unwrap();
    let r = as_user(&s, "POST", "/api/v1/subscriptions", ALICE)
        .json(&json!({ "url": link["url"], "name": "mirror" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
    let sub: serde_json::Value = r.json().unwrap();
    let id = sub["id"].as_str().unwrap().to_string();
    grant(&s, "/api/v1/calendars/mirror/grants", "bob@a.test");
    let mount = "/dav/calendars/bob@a.test/alice-mirror/";
    let before = home_sync(&s, BOB, BOB_HOME, "");
    assert!(entry(&before, mount).is_some(), "{before}");
    let t0 = sync_token(&before);

    let r = as_user(&s, "DELETE", &format!("/api/v1/subscriptions/{id}"), ALICE)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    reports_gone(&home_sync(&s, BOB, BOB_HOME, &t0), &t0, mount);
    assert_eq!(status_of(&s, BOB, mount), StatusCode::NOT_FOUND);
    assert_eq!(
        status_of(&s, ALICE, "/dav/calendars/alice@a.test/mirror/"),
        StatusCode::NOT_FOUND
    );
}
