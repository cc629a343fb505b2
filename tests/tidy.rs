//! Invariants of the source tree that a compiler cannot check (see docs/ARCHITECTURE.md).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn only_the_store_speaks_sql() {
    let store = src().join("store");
    let offenders: Vec<_> = rust_files(&src())
        .into_iter()
        .filter(|p| !p.starts_with(&store))
        .filter(|p| std::fs::read_to_string(p).unwrap().contains("rusqlite"))
        .collect();
    assert!(
        offenders.is_empty(),
        "rusqlite used outside src/store/: {offenders:?}"
    );
    // And the store does use it: the check above is not vacuous.
    assert!(
        rust_files(&store)
            .iter()
            .any(|p| std::fs::read_to_string(p).unwrap().contains("rusqlite"))
    );
}

#[test]
fn every_module_says_what_it_owns() {
    let missing: Vec<_> = rust_files(&src())
        .into_iter()
        .filter(|p| {
            !std::fs::read_to_string(p)
                .unwrap()
                .trim_start()
                .starts_with("//!")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! module comment: {missing:?}"
    );
}

#[test]
fn no_stubs_in_the_server() {
    let stubs: Vec<_> = rust_files(&src())
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.contains("todo!(") || text.contains("unimplemented!(")
        })
        .collect();
    assert!(stubs.is_empty(), "todo!/unimplemented! in {stubs:?}");
}
