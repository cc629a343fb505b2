//! The running server over HTTP: logging in with any address of an account, credentials,
//! throttling, and the isolation of domains. The admin CLI changes the data folder while
//! the server runs, as an operator would.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;

/// a.test (alias a-alias.test) with alice, b.test with bob.
fn two_domains() -> Server {
    let s = Server::start();
    s.domus_ok(&["domain", "add", "a.test", "--alias", "a-alias.test"]);
    s.domus_ok(&["domain", "add", "b.test"]);
    add_user(&s.data, "alice@a.test", "alice-pw-1");
    add_user(&s.data, "bob@b.test", "bob-pw-1");
    s
}

fn me(s: &Server, user: &str, pw: &str) -> reqwest::blocking::Response {
    client()
        .get(s.url("/api/v1/me"))
        .basic_auth(user, Some(pw))
        .send()
        .unwrap()
}

fn me_json(s: &Server, user: &str, pw: &str) -> Value {
    let r = me(s, user, pw);
    assert_eq!(r.status(), StatusCode::OK, "login of {user}");
    r.json().unwrap()
}

#[test]
fn first_start_creates_localhost_and_its_admin() {
    let s = Server::start();
    let pw = s.admin_password().expect("first start prints a password");
    let v = me_json(&s, "admin@localhost", &pw);
    assert_eq!(v["domain"], "localhost");
    assert_eq!(v["addresses"], serde_json::json!(["admin@localhost"]));
    let r = client().get(s.url("/healthz")).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A second start on the same folder creates nothing and prints no password.
    let data = s.data.clone();
    s.terminate();
    let s = Server::start_in(&data, &[]);
    assert!(s.admin_password().is_none(), "{:?}", s.banner);
    assert_eq!(me(&s, "admin@localhost", &pw).status(), StatusCode::OK);
}

#[test]
fn any_address_of_an_account_logs_into_it() {
    let s = two_domains();
    let alice = me_json(&s, "alice@a.test", "alice-pw-1");
    assert_eq!(alice["domain"], "a.test");
    let id = alice["id"].as_str().unwrap().to_string();
    assert!(id.starts_with('u'));

    // Added while the server runs: seen on the next request.
    assert_eq!(
        me(&s, "alice@a-alias.test", "alice-pw-1").status(),
        StatusCode::UNAUTHORIZED
    );
    s.domus_ok(&[
        "user",
        "address",
        "add",
        "alice@a.test",
        "alice@a-alias.test",
    ]);
    let via_alias = me_json(&s, "alice@a-alias.test", "alice-pw-1");
    assert_eq!(via_alias["id"], id.as_str());
    assert_eq!(via_alias["domain"], "a.test");
    assert_eq!(via_alias["login"], "alice@a-alias.test");
    assert_eq!(
        via_alias["addresses"],
        serde_json::json!(["alice@a.test", "alice@a-alias.test"])
    );
    // Case does not matter in addresses.
    assert_eq!(me_json(&s, "Alice@A.Test", "alice-pw-1")["id"], id.as_str());
}

#[test]
fn wrong_credentials_get_401_with_a_challenge() {
    let s = two_domains();
    for (user, pw) in [
        ("alice@a.test", "wrong"),
        ("nobody@a.test", "alice-pw-1"),
        ("alice@nowhere.test", "alice-pw-1"),
        ("not an address", "x"),
    ] {
        let r = me(&s, user, pw);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{user}");
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.starts_with("Basic realm=\"Domus\""),
            "{challenge}"
        );
        let body: Value = r.json().unwrap();
        // The same answer whether the domain, the user or the password was wrong.
        assert_eq!(body["message"], "wrong user name or password");
    }
    let r = client().get(s.url("/api/v1/me")).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    // Each refusal is explained in the log, and no password reaches it.
    let log = s.log();
    assert!(log.contains("401: wrong credentials"), "{log}");
    assert!(
        !log.contains("alice-pw-1") && !log.contains("wrong\""),
        "a password reached the log"
    );
}

#[test]
fn a_burst_of_wrong_passwords_is_throttled() {
    let s = two_domains();
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(me(&s, "alice@a.test", &format!("guess-{i}")).status());
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|st| *st == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[10..]
            .iter()
            .all(|st| *st == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // While throttled even the right password is refused, without being checked.
    let r = me(&s, "alice@a.test", "alice-pw-1");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait), "{wait}");
    assert!(s.log().contains("429: login throttled"));
}

#[test]
fn cli_password_changes_apply_at_once_despite_the_cache() {
    let s = two_domains();
    assert_eq!(
        me(&s, "alice@a.test", "alice-pw-1").status(),
        StatusCode::OK
    );
    domus_ok(
        &s.data,
        &["user", "passwd", "alice@a.test", "--password-stdin"],
        Some("alice-pw-2\n"),
    );
    assert_eq!(
        me(&s, "alice@a.test", "alice-pw-1").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me(&s, "alice@a.test", "alice-pw-2").status(),
        StatusCode::OK
    );
    s.domus_ok(&["user", "remove", "alice@a.test", "--yes"]);
    assert_eq!(
        me(&s, "alice@a.test", "alice-pw-2").status(),
        StatusCode::UNAUTHORIZED
    );
}

fn create(s: &Server, kind: &str, user: &str, pw: &str, name: &str) -> reqwest::blocking::Response {
    client()
        .post(s.url(&format!("/api/v1/me/{kind}")))
        .basic_auth(user, Some(pw))
        .json(&serde_json::json!({ "name": name }))
        .send()
        .unwrap()
}

#[test]
fn app_passwords_over_the_api() {
    let s = two_domains();
    let r = create(&s, "app-passwords", "alice@a.test", "alice-pw-1", "phone");
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().unwrap();
    let app_pw = v["secret"].as_str().unwrap().to_string();
    assert_eq!(me_json(&s, "alice@a.test", &app_pw)["domain"], "a.test");
    // An app password cannot mint more credentials.
    let r = create(&s, "app-passwords", "alice@a.test", &app_pw, "more");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        create(&s, "app-passwords", "alice@a.test", "alice-pw-1", "phone").status(),
        StatusCode::CONFLICT
    );
    let bad = client()
        .post(s.url("/api/v1/me/app-passwords"))
        .basic_auth("alice@a.test", Some("alice-pw-1"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let list: Value = client()
        .get(s.url("/api/v1/me/app-passwords"))
        .basic_auth("alice@a.test", Some("alice-pw-1"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0]["lastUsedAt"].is_i64(), "{list}");
    assert!(list[0].get("secret").is_none());
    // Revoked through the CLI while the server runs: refused at once, cache or not.
    s.domus_ok(&["app-password", "revoke", "alice@a.test", "phone"]);
    assert_eq!(
        me(&s, "alice@a.test", &app_pw).status(),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn bearer_tokens() {
    let s = two_domains();
    let v: Value = create(&s, "tokens", "alice@a.test", "alice-pw-1", "script")
        .json()
        .unwrap();
    let token = v["secret"].as_str().unwrap().to_string();
    let id = v["id"].as_str().unwrap().to_string();
    let r = client()
        .get(s.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().unwrap()["domain"], "a.test");
    let r = client()
        .delete(s.url(&format!("/api/v1/me/tokens/{id}")))
        .basic_auth("alice@a.test", Some("alice-pw-1"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = client()
        .get(s.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn bob_can_never_reach_alice() {
    let s = two_domains();
    let alice_token: Value = create(&s, "tokens", "alice@a.test", "alice-pw-1", "t")
        .json()
        .unwrap();
    let alice_token = alice_token["secret"].as_str().unwrap().to_string();
    let alice_app: Value = create(&s, "app-passwords", "alice@a.test", "alice-pw-1", "phone")
        .json()
        .unwrap();
    let alice_app_id = alice_app["id"].as_str().unwrap().to_string();
    let bob_token: Value = create(&s, "tokens", "bob@b.test", "bob-pw-1", "t")
        .json()
        .unwrap();
    let bob_token = bob_token["secret"].as_str().unwrap().to_string();

    // Bob's password, or his token, with any of alice's names.
    assert_eq!(
        me(&s, "alice@a.test", "bob-pw-1").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me(&s, "bob@a.test", "bob-pw-1").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me(&s, "alice@a.test", &bob_token).status(),
        StatusCode::UNAUTHORIZED
    );
    // Bob's token re-addressed to alice's domain: the secret does not exist there.
    let a_id = me_json(&s, "alice@a.test", "alice-pw-1")["domainId"]
        .as_str()
        .unwrap()
        .to_string();
    let b_id = me_json(&s, "bob@b.test", "bob-pw-1")["domainId"]
        .as_str()
        .unwrap()
        .to_string();
    let forged = bob_token.replacen(&b_id, &a_id, 1);
    assert_ne!(forged, bob_token);
    let r = client()
        .get(s.url("/api/v1/me"))
        .bearer_auth(&forged)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Alice's token re-addressed to bob's domain neither.
    let forged = alice_token.replacen(&a_id, &b_id, 1);
    let r = client()
        .get(s.url("/api/v1/me"))
        .bearer_auth(&forged)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Bob sees only his own credentials and cannot revoke alice's by id.
    let list: Value = client()
        .get(s.url("/api/v1/me/app-passwords"))
        .basic_auth("bob@b.test", Some("bob-pw-1"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list, serde_json::json!([]));
    let r = client()
        .delete(s.url(&format!("/api/v1/me/app-passwords/{alice_app_id}")))
        .basic_auth("bob@b.test", Some("bob-pw-1"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let still: Value = client()
        .get(s.url("/api/v1/me/app-passwords"))
        .basic_auth("alice@a.test", Some("alice-pw-1"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(still.as_array().unwrap().len(), 1);
    // And bob's /me is his.
    let bob = me_json(&s, "bob@b.test", "bob-pw-1");
    assert_eq!(bob["domain"], "b.test");
    assert_eq!(bob["addresses"], serde_json::json!(["bob@b.test"]));
}

#[test]
fn removing_a_domain_leaves_every_other_working() {
    let s = two_domains();
    let b_dir_id = me_json(&s, "bob@b.test", "bob-pw-1")["domainId"]
        .as_str()
        .unwrap()
        .to_string();
    let a_dir_id = me_json(&s, "alice@a.test", "alice-pw-1")["domainId"]
        .as_str()
        .unwrap()
        .to_string();
    s.domus_ok(&["domain", "remove", "b.test", "--yes"]);
    assert_eq!(
        me(&s, "bob@b.test", "bob-pw-1").status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(!s.data.join("domains").join(&b_dir_id).exists());
    assert!(
        s.data
            .join("domains")
            .join(&a_dir_id)
            .join("domain.sqlite")
            .is_file()
    );
    assert_eq!(
        me_json(&s, "alice@a.test", "alice-pw-1")["domain"],
        "a.test"
    );
    // A new b.test is a new partition: bob's old password means nothing there.
    s.domus_ok(&["domain", "add", "b.test"]);
    assert_eq!(
        me(&s, "bob@b.test", "bob-pw-1").status(),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn unknown_paths_get_a_json_404() {
    let s = Server::start();
    let r = client().get(s.url("/no/such/thing")).send().unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().unwrap()["error"], "notFound");
    let r = client().put(s.url("/api/v1/me")).body("x").send().unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Both refusals are explained in the log, once each.
    let log = s.log();
    assert_eq!(
        log.matches("nothing here: /no/such/thing").count(),
        1,
        "{log}"
    );
    assert_eq!(log.matches("status=405").count(), 1, "{log}");
}
