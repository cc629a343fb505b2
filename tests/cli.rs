//! The admin CLI, exactly in the forms the README and `--help` give, on a data folder.

mod common;

use common::*;

fn fresh() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The CLI refuses a folder that no server created; create it the way an admin would.
    std::fs::create_dir_all(&data).unwrap();
    domus::store::Store::open(&data, domus::store::StoreConfig::default()).unwrap();
    (dir, data)
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn domains_and_aliases() {
    let (_d, data) = fresh();
    let out = domus_ok(
        &data,
        &[
            "domain",
            "add",
            "a.test",
            "--alias",
            "a-alias.test",
            "--alias",
            "A-Two.test",
        ],
        None,
    );
    assert!(out.contains("created domain a.test"), "{out}");
    domus_ok(&data, &["domain", "add", "b.test"], None);

    let list = json(&domus_ok(&data, &["domain", "list", "--json"], None));
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.test", "b.test"]);
    assert_eq!(
        list[0]["aliases"],
        serde_json::json!(["a-alias.test", "a-two.test"])
    );
    // Each domain is its own file under DATA/domains/<id>/.
    for d in list.as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        assert!(
            data.join("domains")
                .join(id)
                .join("domain.sqlite")
                .is_file()
        );
    }

    let err = domus_err(&data, &["domain", "add", "b.test"], None);
    assert!(
        err.contains("b.test is already used by domain b.test"),
        "{err}"
    );
    let err = domus_err(
        &data,
        &["domain", "add", "c.test", "--alias", "a-alias.test"],
        None,
    );
    assert!(
        err.contains("a-alias.test is already used by domain a.test"),
        "{err}"
    );
    let err = domus_err(
        &data,
        &["domain", "alias", "add", "b.test", "a-two.test"],
        None,
    );
    assert!(err.contains("already used by domain a.test"), "{err}");
    // Nothing half-created: c.test has no folder and no row.
    assert_eq!(std::fs::read_dir(data.join("domains")).unwrap().count(), 2);

    domus_ok(
        &data,
        &["domain", "alias", "add", "b.test", "b-alias.test"],
        None,
    );
    domus_ok(
        &data,
        &["domain", "alias", "remove", "a.test", "a-two.test"],
        None,
    );
    let text = domus_ok(&data, &["domain", "list"], None);
    assert!(
        text.contains("b-alias.test") && !text.contains("a-two.test"),
        "{text}"
    );
    let err = domus_err(
        &data,
        &["domain", "alias", "remove", "a.test", "nope.test"],
        None,
    );
    assert!(err.contains("nope.test is not an alias of a.test"), "{err}");
    let err = domus_err(&data, &["domain", "add", "bad_name!"], None);
    assert!(err.contains("not a valid domain name"), "{err}");
}

#[test]
fn removing_a_domain_needs_yes_and_leaves_the_others() {
    let (_d, data) = fresh();
    domus_ok(&data, &["domain", "add", "a.test"], None);
    domus_ok(
        &data,
        &["domain", "add", "b.test", "--alias", "b2.test"],
        None,
    );
    add_user(&data, "bob@b.test", "pw-bob-1");
    let err = domus_err(&data, &["domain", "remove", "b.test"], None);
    assert!(err.contains("--yes"), "{err}");
    let err = domus_err(&data, &["domain", "remove", "b2.test", "--yes"], None);
    assert!(err.contains("b2.test is an alias of b.test"), "{err}");
    domus_ok(&data, &["domain", "remove", "b.test", "--yes"], None);
    let list = json(&domus_ok(&data, &["domain", "list", "--json"], None));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(std::fs::read_dir(data.join("domains")).unwrap().count(), 1);
    // The alias went with it and can be reused.
    domus_ok(&data, &["domain", "add", "b2.test"], None);
    let err = domus_err(&data, &["user", "list", "b.test"], None);
    assert!(
        err.contains("domain b.test does not exist; create it with `domus domain add b.test`"),
        "{err}"
    );
}

#[test]
fn users_addresses_and_passwords() {
    let (_d, data) = fresh();
    domus_ok(
        &data,
        &["domain", "add", "a.test", "--alias", "a-alias.test"],
        None,
    );
    domus_ok(&data, &["domain", "add", "b.test"], None);

    // A generated password is printed once.
    let out = domus_ok(&data, &["user", "add", "Alice@A.test"], None);
    assert!(out.contains("created user alice@a.test"), "{out}");
    let pw = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("password line");
    assert_eq!(pw.len(), 29);

    let err = domus_err(&data, &["user", "add", "carol@nowhere.test"], None);
    assert!(
        err.contains(
            "domain nowhere.test does not exist; create it with `domus domain add nowhere.test`"
        ),
        "{err}"
    );
    let err = domus_err(&data, &["user", "add", "alice@a.test"], None);
    assert!(err.contains("alice@a.test is already taken"), "{err}");
    let err = domus_err(&data, &["user", "add", "not-an-address"], None);
    assert!(err.contains("not a valid address"), "{err}");

    domus_ok(
        &data,
        &[
            "user",
            "address",
            "add",
            "alice@a.test",
            "alice@a-alias.test",
        ],
        None,
    );
    domus_ok(
        &data,
        &["user", "address", "add", "alice@a.test", "ally@a.test"],
        None,
    );
    let err = domus_err(
        &data,
        &["user", "address", "add", "alice@a.test", "alice@b.test"],
        None,
    );
    assert!(
        err.contains("not in domain a.test or one of its aliases"),
        "{err}"
    );
    add_user(&data, "bob@a.test", "pw-bob-1");
    let err = domus_err(
        &data,
        &["user", "address", "add", "bob@a.test", "ally@a.test"],
        None,
    );
    assert!(err.contains("ally@a.test is already taken"), "{err}");
    // An address in an alias names the same account.
    let err = domus_err(&data, &["user", "add", "alice@a-alias.test"], None);
    assert!(err.contains("already taken"), "{err}");

    let users = json(&domus_ok(
        &data,
        &["user", "list", "a.test", "--json"],
        None,
    ));
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert_eq!(users[0]["address"], "alice@a.test");
    assert_eq!(
        users[0]["addresses"],
        serde_json::json!(["alice@a.test", "alice@a-alias.test", "ally@a.test"])
    );
    let err = domus_err(&data, &["user", "list", "a-alias.test"], None);
    assert!(err.contains("a-alias.test is an alias of a.test"), "{err}");

    // The main address of a user blocks removing its alias; secondary ones go with it.
    add_user(&data, "dave@a-alias.test", "pw-dave-1");
    let err = domus_err(
        &data,
        &["domain", "alias", "remove", "a.test", "a-alias.test"],
        None,
    );
    assert!(
        err.contains("1 user(s) of a.test have their main address in a-alias.test"),
        "{err}"
    );
    domus_ok(
        &data,
        &["user", "remove", "dave@a-alias.test", "--yes"],
        None,
    );
    domus_ok(
        &data,
        &["domain", "alias", "remove", "a.test", "a-alias.test"],
        None,
    );
    let users = json(&domus_ok(
        &data,
        &["user", "list", "a.test", "--json"],
        None,
    ));
    assert_eq!(
        users[0]["addresses"],
        serde_json::json!(["alice@a.test", "ally@a.test"])
    );

    domus_ok(
        &data,
        &["user", "passwd", "alice@a.test", "--password-stdin"],
        Some("new secret\n"),
    );
    let err = domus_err(
        &data,
        &["user", "passwd", "alice@a.test", "--password-stdin"],
        Some(""),
    );
    assert!(err.contains("no password on standard input"), "{err}");
    let err = domus_err(&data, &["user", "remove", "bob@a.test"], None);
    assert!(err.contains("--yes"), "{err}");
    domus_ok(&data, &["user", "remove", "bob@a.test", "--yes"], None);
    let err = domus_err(&data, &["user", "remove", "bob@a.test", "--yes"], None);
    assert!(err.contains("no user has the address bob@a.test"), "{err}");
}

#[test]
fn app_passwords() {
    let (_d, data) = fresh();
    domus_ok(&data, &["domain", "add", "a.test"], None);
    add_user(&data, "alice@a.test", "pw-alice-1");
    let out = json(&domus_ok(
        &data,
        &["app-password", "create", "alice@a.test", "iPhone", "--json"],
        None,
    ));
    assert_eq!(out["name"], "iPhone");
    assert_eq!(out["secret"].as_str().unwrap().len(), 29);
    let out = domus_ok(
        &data,
        &["app-password", "create", "alice@a.test", "Thunderbird"],
        None,
    );
    assert!(out.contains("shown only now"), "{out}");
    let err = domus_err(
        &data,
        &["app-password", "create", "alice@a.test", "iPhone"],
        None,
    );
    assert!(
        err.contains("already has an app password named iPhone"),
        "{err}"
    );

    let list = json(&domus_ok(
        &data,
        &["app-password", "list", "alice@a.test", "--json"],
        None,
    ));
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Thunderbird", "iPhone"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("secret").is_none())
    );

    domus_ok(
        &data,
        &["app-password", "revoke", "alice@a.test", "iPhone"],
        None,
    );
    let err = domus_err(
        &data,
        &["app-password", "revoke", "alice@a.test", "iPhone"],
        None,
    );
    assert!(err.contains("no app-password named iPhone"), "{err}");
    let text = domus_ok(&data, &["app-password", "list", "alice@a.test"], None);
    assert!(
        text.contains("Thunderbird") && text.contains("never") && !text.contains("iPhone"),
        "{text}"
    );
}

#[test]
fn a_missing_data_folder_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let err = domus_err(&dir.path().join("nope"), &["domain", "list"], None);
    assert!(
        err.contains("no Domus data folder at") && err.contains("domus serve --data"),
        "{err}"
    );
}

#[test]
fn help_teaches() {
    let out = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Getting started") && text.contains("domus domain add"),
        "{text}"
    );
    let out = std::process::Command::new(BIN)
        .args(["domain", "add"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}
