//! Tests of vCard ingest, conversion, selection and splitting: real client cards from
//! `fixtures/vcard/` (see its MANIFEST.md), round trips 3.0 -> 4.0 -> 3.0 and back, each
//! repair and refusal, and a no-panic sweep over mutated fixtures.

use super::*;
use base64::Engine;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/vcard/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_names() -> Vec<String> {
    let dir = format!("{}/fixtures/vcard", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("fixtures/vcard: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".vcf"))
        .collect();
    names.sort();
    names
}

/// Import options: UIDs derived, as for a file import.
fn import() -> IngestOptions {
    IngestOptions {
        repair_uid: true,
        ..IngestOptions::default()
    }
}

fn ok_with(bytes: &[u8], opts: &IngestOptions) -> Ingested {
    match ingest(bytes, opts) {
        Ok(card) => card,
        Err(e) => panic!("refused: {e}\n{}", String::from_utf8_lossy(bytes)),
    }
}

fn ok(bytes: &[u8]) -> Ingested {
    ok_with(bytes, &import())
}

fn err_with(bytes: &[u8], opts: &IngestOptions) -> VcardError {
    match ingest(bytes, opts) {
        Ok(card) => panic!("accepted: {card:?}"),
        Err(e) => e,
    }
}

fn err(bytes: &[u8]) -> VcardError {
    err_with(bytes, &IngestOptions::default())
}

/// A card from LF-separated lines, with CRLF line ends.
fn card(body: &str) -> Vec<u8> {
    let body = body.trim().replace('\n', "\r\n");
    format!("BEGIN:VCARD\r\n{body}\r\nEND:VCARD\r\n").into_bytes()
}

/// Every single card of the fixtures (multi-card files split), ingested as for an import.
fn fixture_cards() -> Vec<(String, Ingested)> {
    let mut out = Vec::new();
    for name in fixture_names() {
        let bytes = fixture(&name);
        for (index, chunk) in split_multi(&bytes).into_iter().enumerate() {
            let chunk = chunk.unwrap_or_else(|e| panic!("{name}: {e}"));
            let card = chunk
                .ingest(&import())
                .unwrap_or_else(|e| panic!("{name} card {index}: {e}"));
            out.push((format!("{name}#{index}"), card));
        }
    }
    out
}

/// A property as the round-trip tests compare it: names upper-cased, parameter values
/// lower-cased and sorted, binary values as their media type and bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Canon {
    group: String,
    name: String,
    params: Vec<(String, String)>,
    values: Vec<String>,
}

fn canon(stored: &str) -> Vec<Canon> {
    let content = lines::content_lines_of(stored);
    let version = lines::version_value(&content)
        .and_then(VcardVersion::from_version)
        .unwrap_or_else(|| panic!("no version in\n{stored}"));
    convert::load(&content, version)
        .into_iter()
        .map(|entry| {
            let mut params: Vec<(String, String)> = entry
                .params
                .iter()
                .map(|p| {
                    (
                        p.name.as_str().to_ascii_uppercase(),
                        p.value.clone().into_text().to_lowercase(),
                    )
                })
                .collect();
            params.sort();
            Canon {
                group: entry.group.clone().unwrap_or_default().to_lowercase(),
                name: entry.name.as_str().to_ascii_uppercase(),
                params,
                values: entry.values.iter().map(canon_value).collect(),
            }
        })
        .collect()
}

fn canon_value(value: &VCardValue) -> String {
    match value {
        VCardValue::Binary(data) => format!(
            "binary {} {}",
            // Media types compare case-insensitively (RFC 6838 §4.2).
            data.content_type
                .as_deref()
                .unwrap_or("?")
                .to_ascii_lowercase(),
            convert::standard_base64(&data.data)
        ),
        VCardValue::Text(text) => text.clone(),
        VCardValue::Component(items) => items.join(","),
        other => format!("{other:?}"),
    }
}

/// The decoded bytes of every PHOTO of a stored card, whatever its version.
fn photos(stored: &str) -> Vec<Vec<u8>> {
    let content = lines::content_lines_of(stored);
    let version = lines::version_value(&content)
        .and_then(VcardVersion::from_version)
        .unwrap_or_else(|| panic!("no version in\n{stored}"));
    convert::load(&content, version)
        .into_iter()
        .filter(|e| e.name == VCardProperty::Photo)
        .flat_map(|e| e.values)
        .filter_map(|v| match v {
            VCardValue::Binary(data) => Some(data.data),
            VCardValue::Text(text) => convert::data_uri_base64(&text).flatten(),
            _ => None,
        })
        .collect()
}

/// The unfolded content lines of a text.
fn unfolded(text: &str) -> Vec<String> {
    lines::content_lines_of(text)
        .into_iter()
        .map(|line| line.unfolded)
        .collect()
}

fn has_line(text: &str, line: &str) -> bool {
    unfolded(text).iter().any(|l| l == line)
}

// --- stored form ------------------------------------------------------------------------

#[test]
fn a_card_with_crlf_and_a_uid_is_stored_byte_for_byte() {
    let bytes = fixture("apple-addressbook-group-x-addressbookserver-members.vcf");
    let crlf = String::from_utf8_lossy(&bytes).replace('\n', "\r\n");
    let stored = ok_with(crlf.as_bytes(), &IngestOptions::default());
    assert_eq!(stored.text, crlf);
    assert!(stored.repairs.is_empty(), "{:?}", stored.repairs);
    assert_eq!(stored.version, VcardVersion::V3);
    assert_eq!(render(&stored.text, VcardVersion::V3), crlf);
}

#[test]
fn line_ends_become_crlf_and_blank_lines_go() {
    // The fixture uses LF; Thunderbird's ends with a blank line; iOS 5 wrote CR CR LF.
    for name in [
        "apple-addressbook-group-x-addressbookserver-members.vcf",
        "thunderbird-morefunctions-vcard30-photo-charset.vcf",
        "apple-ios5-photo-encoding-b-items.vcf",
    ] {
        let stored = ok(&fixture(name));
        assert!(stored.repairs.contains(&Repair::LineEnds), "{name}");
        let text = stored.text.as_str();
        assert!(
            !text.contains("\r\r") && !text.contains("\r\n\r\n"),
            "{name}"
        );
        assert_eq!(
            text.matches('\n').count(),
            text.matches("\r\n").count(),
            "{name}"
        );
        assert!(text.ends_with("END:VCARD\r\n"), "{name}");
    }
}

#[test]
fn the_stored_card_keeps_the_clients_folding_and_order() {
    let bytes = fixture("apple-ios5-photo-encoding-b-items.vcf");
    let stored = ok(&bytes);
    let sent = String::from_utf8_lossy(&bytes).replace("\r\r\n", "\r\n");
    let without_uid: String = stored
        .text
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with("UID:"))
        .collect();
    assert_eq!(without_uid, sent);
    // The derived UID sits right after VERSION.
    let lines: Vec<&str> = stored.text.split("\r\n").collect();
    assert_eq!(lines[1], "VERSION:3.0");
    assert_eq!(lines[2], format!("UID:{}", stored.index.uid));
}

#[test]
fn a_byte_order_mark_is_dropped() {
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(card("VERSION:4.0\nUID:u1\nFN:A"));
    let stored = ok(&bytes);
    assert!(stored.text.starts_with("BEGIN:VCARD\r\n"));
    assert_eq!(stored.repairs, vec![Repair::ByteOrderMark]);
}

// --- index ------------------------------------------------------------------------------

#[test]
fn apple_groups_index_their_members() {
    let stored = ok(&fixture(
        "apple-addressbook-group-x-addressbookserver-members.vcf",
    ));
    assert_eq!(stored.index.kind, CardKind::Group);
    assert_eq!(stored.index.uid, "uid3");
    assert_eq!(stored.index.full_name, "Shared Group");
    assert_eq!(stored.index.members, ["uid4", "uid6"]);
}

#[test]
fn duplicate_group_members_are_indexed_once() {
    let stored = ok(&fixture("calendarserver-group-duplicate-members.vcf"));
    assert_eq!(stored.index.kind, CardKind::Group);
    assert_eq!(
        stored.index.members,
        [
            "user01-uid02",
            "FCBA0FA3-00B2-4C95-B4EC-4CCC4843F8B1",
            "3765A955-1B96-41EA-994D-335192BEDCCD",
            "44745975-AE6D-4FB0-80A6-A298427E047A",
            "user01-uid01",
            "934731C6-1C95-4C40-BE1F-FA4215B2307B",
            "ED7A5AEC-AB19-4CE0-AD6A-2923A3E5C4E1",
        ]
    );
}

#[test]
fn vcard4_groups_index_their_members() {
    let stored = ok(&fixture("davx5-vcard40-kind-group-member.vcf"));
    assert_eq!(stored.version, VcardVersion::V4);
    assert_eq!(stored.index.kind, CardKind::Group);
    assert_eq!(stored.index.uid, "ae2640cc-234a-4dd9-95cc-3106258445b9");
    assert_eq!(stored.index.members, ["x", "y"]);
}

#[test]
fn emails_are_lower_cased_and_tels_kept_as_written() {
    let stored = ok(&card(
        "VERSION:4.0\nUID:u1\nFN:A\nEMAIL;TYPE=work:Jane.Doe@Example.COM\n\
         EMAIL:mailto:JANE@example.com\nEMAIL:jane.doe@example.com\n\
         TEL;VALUE=uri:tel:+1-555-0100\nTEL:(905) 555-1234",
    ));
    assert_eq!(
        stored.index.emails,
        ["jane.doe@example.com", "jane@example.com"]
    );
    assert_eq!(stored.index.tels, ["+1-555-0100", "(905) 555-1234"]);
    assert_eq!(stored.index.kind, CardKind::Individual);
}

#[test]
fn google_export_index() {
    let stored = ok(&fixture("google-contacts-custom-labels-im.vcf"));
    assert_eq!(stored.index.full_name, "VCard Test");
    assert_eq!(
        stored.index.emails,
        [
            "email@example.com",
            "homeemail@example.com",
            "workemail@example.com",
            "otheremail@example.com",
            "customcategory@example.com",
        ]
    );
    assert_eq!(stored.index.tels.len(), 11);
    assert_eq!(stored.index.tels[0], "5555551111");
}

#[test]
fn every_fixture_card_is_accepted_with_a_uid_and_an_fn_line() {
    let cards = fixture_cards();
    assert!(cards.len() >= 20, "{}", cards.len());
    for (name, card) in &cards {
        assert!(!card.index.uid.is_empty(), "{name}");
        let parsed = ParsedCard::parse(&card.text);
        assert!(parsed.first("FN").is_some(), "{name}: no FN\n{}", card.text);
        assert_eq!(
            parsed.first_text("UID").as_deref(),
            Some(card.index.uid.as_str())
        );
        // The stored card reads back unchanged in its own version.
        assert_eq!(render(&card.text, card.version), card.text, "{name}");
    }
}

// --- UID and FN repairs -----------------------------------------------------------------

#[test]
fn a_card_without_uid_is_refused_unless_repairs_are_asked_for() {
    let bytes = fixture("google-contacts-export-single.vcf");
    let e = err(&bytes);
    assert_eq!(e.precondition(), "valid-address-data");
    assert!(e.to_string().contains("no UID"), "{e}");
    let stored = ok(&bytes);
    assert!(matches!(stored.repairs.as_slice(), [.., Repair::Uid(_)]));
}

#[test]
fn derived_uids_are_stable_uuids() {
    let bytes = fixture("google-contacts-export-single.vcf");
    let first = ok(&bytes).index.uid;
    assert_eq!(ok(&bytes).index.uid, first, "same file, same UID");
    // A UUID of RFC 9562 version 8.
    let parts: Vec<&str> = first.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('8'), "{first}");
    assert!(
        matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
        "{first}"
    );
    // Re-exported with another note and REV: the same contact, the same UID.
    let text = String::from_utf8_lossy(&bytes).replace(
        "TITLE:TheJobTitle",
        "TITLE:Another title\r\nREV:20240101T000000Z",
    );
    assert_eq!(ok(text.as_bytes()).index.uid, first);
    // Another address: another contact.
    let other = String::from_utf8_lossy(&bytes).replace("gdartmouth@", "greg@");
    assert_ne!(ok(other.as_bytes()).index.uid, first);
}

#[test]
fn a_uid_fallback_comes_before_a_derived_uid() {
    let opts = IngestOptions {
        uid_fallback: Some("urn:domus:href:card-1".into()),
        ..import()
    };
    let bytes = fixture("google-contacts-export-single.vcf");
    let stored = ok_with(&bytes, &opts);
    assert_eq!(stored.index.uid, "urn:domus:href:card-1");
    assert!(
        has_line(&stored.text, "UID:urn:domus:href:card-1"),
        "{}",
        stored.text
    );
    assert!(
        stored
            .repairs
            .contains(&Repair::Uid("urn:domus:href:card-1".into()))
    );
    // A card with its own UID keeps it.
    let own = ok_with(&card("VERSION:4.0\nUID:mine\nFN:A"), &opts);
    assert_eq!(own.index.uid, "mine");
    assert!(own.repairs.is_empty());
}

#[test]
fn cards_without_name_or_contact_get_uids_from_their_content() {
    let a = ok(&card("VERSION:3.0\nN:;;;;\nFN:\nNOTE:first"));
    let b = ok(&card("VERSION:3.0\nN:;;;;\nFN:\nNOTE:second"));
    assert_ne!(a.index.uid, b.index.uid);
    assert_eq!(
        a.index.uid,
        ok(&card("VERSION:3.0\nN:;;;;\nFN:\nNOTE:first")).index.uid
    );
}

/// Stands in for `sogo-connector-missing-n-fn.vcf` (GPL, not copied): SOGo Connector's
/// card without N and FN.
fn sogo_card() -> Vec<u8> {
    "BEGIN:VCARD\nVERSION:3.0\nPRODID:-//Inverse inc.//SOGo Connector 1.0//EN\n\
     UID:A1B2C3D4-1111-0001-2222-333333333333.vcf\nX-MOZILLA-HTML:FALSE\n\
     EMAIL;TYPE=work:Someone.Else@example.org\nEND:VCARD\n"
        .as_bytes()
        .to_vec()
}

#[test]
fn a_card_without_fn_gets_one_from_its_email() {
    let stored = ok_with(&sogo_card(), &IngestOptions::default());
    assert_eq!(stored.index.full_name, "Someone.Else@example.org");
    assert!(
        stored
            .repairs
            .contains(&Repair::Fn("Someone.Else@example.org".into()))
    );
    let lines: Vec<&str> = stored.text.split("\r\n").collect();
    assert_eq!(
        lines[..3],
        ["BEGIN:VCARD", "VERSION:3.0", "FN:Someone.Else@example.org"]
    );
    assert_eq!(stored.index.uid, "A1B2C3D4-1111-0001-2222-333333333333.vcf");
}

#[test]
fn fn_is_derived_from_n_then_org_nickname_email_tel() {
    let fn_of = |body: &str| {
        ok(&card(&format!("VERSION:3.0\nUID:u\n{body}")))
            .index
            .full_name
    };
    assert_eq!(
        fn_of("N:Doe;John;Richter,James;Mr.;Sr.\nORG:IBM"),
        "Mr. John Richter James Doe Sr."
    );
    assert_eq!(
        fn_of("N:;;;;\nORG:Factor Design AG;Web\nNICKNAME:J"),
        "Factor Design AG"
    );
    assert_eq!(fn_of("NICKNAME:Johnny,JD\nTEL:555"), "Johnny");
    assert_eq!(fn_of("TEL;TYPE=CELL:+49 170 0000"), "+49 170 0000");
    // An FN line without value is replaced, not duplicated.
    let stored = ok(&card("VERSION:3.0\nUID:u\nFN:\nEMAIL:a@example.org"));
    assert_eq!(stored.text.matches("FN:").count(), 1, "{}", stored.text);
    assert!(has_line(&stored.text, "FN:a@example.org"));
    // Nothing to derive from: an empty FN, since FN is required.
    let stored = ok(&card("VERSION:4.0\nUID:u\nNOTE:only a note"));
    assert!(has_line(&stored.text, "FN:"), "{}", stored.text);
    assert_eq!(stored.repairs, vec![Repair::Fn(String::new())]);
}

#[test]
fn repaired_fn_is_escaped() {
    let stored = ok(&card("VERSION:3.0\nUID:u\nN:Müller\\, Jr.;Jörg;;;"));
    assert_eq!(stored.index.full_name, "Jörg Müller, Jr.");
    assert!(
        has_line(&stored.text, "FN:Jörg Müller\\, Jr."),
        "{}",
        stored.text
    );
    assert!(!stored.text.contains("CHARSET"), "{}", stored.text);
}

// --- refusals ---------------------------------------------------------------------------

#[test]
fn a_fold_splitting_a_utf8_character_is_moved_before_it() {
    // "Jörg" with the fold between the two bytes of "ö" (0xC3 0xB6).
    let mut bytes = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:J\xC3\r\n \xB6rg\r\n".to_vec();
    bytes.extend_from_slice(b"NOTE:caf\xC3\r\n\t\xA9 ok\r\nEND:VCARD\r\n");
    let stored = ok_with(&bytes, &IngestOptions::default());
    assert_eq!(stored.index.full_name, "Jörg");
    assert_eq!(stored.repairs, vec![Repair::SplitUtf8Fold { line: 5 }]);
    assert!(stored.text.contains("FN:J\r\n örg\r\n"), "{}", stored.text);
    assert_eq!(
        ParsedCard::parse(&stored.text)
            .first_text("NOTE")
            .as_deref(),
        Some("café ok")
    );
}

#[test]
fn bytes_that_are_not_utf8_are_refused_with_their_line() {
    let bytes = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:J\xF6rg\r\nEND:VCARD\r\n";
    let e = err(bytes);
    assert_eq!(e.precondition(), "valid-address-data");
    assert_eq!(e.line(), Some(4));
    assert!(e.to_string().contains("(line 4)"), "{e}");
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}

#[test]
fn invalid_base64_photos_are_refused_with_their_line() {
    let v3 = card("VERSION:3.0\nUID:u1\nFN:A\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ\n !!!not*base64");
    let e = err(&v3);
    assert_eq!(
        (e.precondition(), e.line()),
        ("valid-address-data", Some(5))
    );
    assert!(e.to_string().contains("PHOTO: invalid base64"), "{e}");
    let v4 = card("VERSION:4.0\nUID:u1\nFN:A\nNOTE:x\nPHOTO:data:image/png;base64,iVBOR*w0K");
    assert_eq!(err(&v4).line(), Some(6));
    // Apple's bare BASE64 parameter counts too.
    let apple = card("VERSION:3.0\nUID:u1\nFN:A\nPHOTO;BASE64:\n  #####");
    assert_eq!(err(&apple).line(), Some(5));
    // The same cards with valid data pass.
    ok(&card(
        "VERSION:3.0\nUID:u1\nFN:A\nPHOTO;BASE64:\n  /9j/4AAQ",
    ));
    ok(&card(
        "VERSION:4.0\nUID:u1\nFN:A\nPHOTO:data:image/png;base64\\,iVBORw0K",
    ));
}

#[test]
fn a_20_mb_photo_is_over_the_size_limit() {
    let photo = base64::engine::general_purpose::STANDARD.encode(vec![0xFFu8; 15 * 1024 * 1024]);
    let bytes = card(&format!(
        "VERSION:3.0\nUID:u1\nFN:A\nPHOTO;ENCODING=b;TYPE=JPEG:{photo}"
    ));
    assert!(bytes.len() > 20_000_000);
    let e = err(&bytes);
    assert_eq!(e.precondition(), "max-resource-size");
    assert!(matches!(
        e,
        VcardError::TooLarge {
            max: DEFAULT_MAX_BYTES,
            ..
        }
    ));
    // Under a limit large enough, the same card is accepted and its photo kept whole.
    let big = IngestOptions {
        max_bytes: 32 * 1024 * 1024,
        ..IngestOptions::default()
    };
    let stored = ok_with(&bytes, &big);
    assert_eq!(photos(&stored.text), [vec![0xFFu8; 15 * 1024 * 1024]]);
}

#[test]
fn two_vcards_in_one_put_body_are_refused() {
    let e = err(&fixture("google-contacts-export-list.vcf"));
    assert_eq!(e.precondition(), "valid-address-data");
    assert_eq!(e.line(), Some(7));
    assert!(e.to_string().contains("second vCard"), "{e}");
}

#[test]
fn broken_structure_is_refused() {
    let cases: [(&[u8], Option<usize>); 5] = [
        (b"", None),
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:A\r\n", Some(1)),
        (
            b"hello\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:A\r\nEND:VCARD\r\n",
            Some(1),
        ),
        (
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN A\r\nEND:VCARD\r\n",
            Some(4),
        ),
        (b"BEGIN:VCARD\r\nUID:u\r\nFN:A\r\nEND:VCARD\r\n", Some(1)),
    ];
    for (bytes, line) in cases {
        let e = err(bytes);
        assert_eq!(
            (e.precondition(), e.line()),
            ("valid-address-data", line),
            "{e}"
        );
    }
    let e = err(&card("VERSION:3.0\nUID:u\nFN:A\nbad name!:x"));
    assert!(e.to_string().contains("property name"), "{e}");
    ok(&card(
        "VERSION:3.0\nUID:u\nFN:A\nX-MS_ODD:x\nitem_1.X-ABLabel:y",
    ));
}

#[test]
fn unknown_versions_are_unsupported() {
    let e = err(&card("VERSION:5.0\nUID:u\nFN:A"));
    assert_eq!(e.precondition(), "supported-address-data");
}

#[test]
fn content_types_and_accept_headers() {
    use VcardVersion::*;
    assert_eq!(
        VcardVersion::from_content_type("text/vcard; version=4.0"),
        Ok(Some(V4))
    );
    assert_eq!(
        VcardVersion::from_content_type("text/vcard;charset=utf-8;version=\"3.0\""),
        Ok(Some(V3))
    );
    assert_eq!(VcardVersion::from_content_type("TEXT/VCARD"), Ok(None));
    assert_eq!(
        VcardVersion::from_content_type("text/x-vcard; version=3.0"),
        Ok(Some(V3))
    );
    let e = VcardVersion::from_content_type("text/calendar").unwrap_err();
    assert_eq!(e.precondition(), "supported-address-data");
    let e = VcardVersion::from_content_type("text/vcard; version=2.1").unwrap_err();
    assert_eq!(e.precondition(), "supported-address-data");
    assert_eq!(
        VcardVersion::from_accept("text/vcard; version=4.0"),
        Some(V4)
    );
    assert_eq!(
        VcardVersion::from_accept("text/vcard;version=3.0;q=0.5, text/vcard;version=4.0"),
        Some(V4)
    );
    assert_eq!(
        VcardVersion::from_accept("text/vcard;version=4.0;q=0.2, text/vcard;version=3.0;q=0.9"),
        Some(V3)
    );
    assert_eq!(VcardVersion::from_accept("text/vcard, */*"), None);
    assert_eq!(VcardVersion::from_version(" 4.0 "), Some(V4));
    assert_eq!(V3.content_type(), "text/vcard; charset=utf-8; version=3.0");
}

#[test]
fn error_lines_shift_for_cards_of_a_file() {
    let e = VcardError::invalid(Some(3), "x").shifted(10);
    assert_eq!(e.line(), Some(13));
    assert_eq!(VcardError::Unsupported("x".into()).shifted(10).line(), None);
}

// --- conversion -------------------------------------------------------------------------

fn other(version: VcardVersion) -> VcardVersion {
    match version {
        VcardVersion::V3 => VcardVersion::V4,
        VcardVersion::V4 => VcardVersion::V3,
    }
}

/// What a card in `version` should look like after a trip through the other version: the
/// same, less what the other version cannot say (docs/vcard.md): 3.0's `TYPE=internet` (the
/// default for EMAIL), 4.0's `VALUE=date-and-or-time` (the default); plus the empty N that
/// a card without N gets in 3.0, which requires N.
fn after_round_trip(mut props: Vec<Canon>) -> Vec<Canon> {
    for prop in &mut props {
        let email = prop.name == "EMAIL";
        prop.params.retain(|(name, value)| {
            let internet = email && name == "TYPE" && value == "internet";
            let default_value = name == "VALUE" && value == "date-and-or-time";
            !internet && !default_value
        });
    }
    if !props.iter().any(|p| p.name == "N") {
        let at = props
            .iter()
            .position(|p| p.name == "FN")
            .map_or(0, |index| index + 1);
        props.insert(
            at,
            Canon {
                group: String::new(),
                name: "N".into(),
                params: Vec::new(),
                values: vec![String::new(); 5],
            },
        );
    }
    props
}

/// Stands in for `vcard40-photo-data-uri.vcf` (GPL, not copied): a 4.0 card whose PHOTO is
/// an unfolded `data:` URI (a 1x1 PNG).
fn data_uri_card() -> Vec<u8> {
    card(
        "VERSION:4.0\nUID:photo-card\nN:Photo;Paula;;;\nFN:Paula Photo\n\
         PHOTO:data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    )
}

#[test]
fn every_fixture_comes_back_from_the_other_version() {
    let mut cards = fixture_cards();
    cards.push(("data-uri".into(), ok(&data_uri_card())));
    for (name, card) in cards {
        let there = render(&card.text, other(card.version));
        let back = render(&there, card.version);
        assert_eq!(
            canon(&back),
            after_round_trip(canon(&card.text)),
            "{name}: {:?} -> {:?} -> back\n{there}\n{back}",
            card.version,
            other(card.version)
        );
        // And the other way round, starting from the converted card.
        let again = render(&back, other(card.version));
        assert_eq!(
            canon(&again),
            after_round_trip(canon(&there)),
            "{name}\n{there}\n{again}"
        );
        // Photos are the same bytes in every form.
        assert_eq!(photos(&there), photos(&card.text), "{name}");
        assert_eq!(photos(&back), photos(&card.text), "{name}");
    }
}

#[test]
fn ios_photo_becomes_a_data_uri_and_back() {
    let stored = ok(&fixture("apple-ios5-photo-encoding-b-items.vcf"));
    let original = photos(&stored.text);
    assert_eq!(original.len(), 1);
    assert!(original[0].starts_with(&[0xFF, 0xD8, 0xFF]));
    assert!(original[0].len() > 30_000, "{}", original[0].len());
    let v4 = render(&stored.text, VcardVersion::V4);
    let photo_line = unfolded(&v4)
        .into_iter()
        .find(|l| l.starts_with("PHOTO"))
        .unwrap_or_default();
    assert!(
        photo_line.starts_with("PHOTO:data:image/jpeg;base64,/9j/"),
        "{}",
        &photo_line[..60]
    );
    assert_eq!(photos(&v4), original);
    let v3 = render(&v4, VcardVersion::V3);
    let photo_line = unfolded(&v3)
        .into_iter()
        .find(|l| l.starts_with("PHOTO"))
        .unwrap_or_default();
    assert!(
        photo_line.starts_with("PHOTO;ENCODING=b;TYPE=JPEG:/9j/"),
        "{}",
        &photo_line[..60]
    );
    assert_eq!(photos(&v3), original);
    // Lines stay within 75 octets.
    assert!(v4.split("\r\n").all(|l| l.len() <= 75));
}

#[test]
fn a_png_labelled_jpeg_keeps_its_label_and_bytes() {
    let stored = ok(&fixture("apple-macos15-photo-png-labelled-jpeg.vcf"));
    let v4 = render(&stored.text, VcardVersion::V4);
    assert!(
        v4.contains("PHOTO:data:image/jpeg;base64,iVBORw0KGgo"),
        "{v4}"
    );
    assert_eq!(photos(&v4), photos(&stored.text));
    assert!(photos(&v4)[0].starts_with(b"\x89PNG"));
}

#[test]
fn pref_and_internet_types_become_pref_parameters() {
    let v4 = render(
        &ok(&fixture("apple-ios5-photo-encoding-b-items.vcf")).text,
        VcardVersion::V4,
    );
    assert!(has_line(&v4, "item1.EMAIL;PREF=1:john.doe@ibm.com"), "{v4}");
    assert!(
        has_line(&v4, "TEL;TYPE=CELL,VOICE;PREF=1:905-555-1234"),
        "{v4}"
    );
    assert!(has_line(&v4, "item5.URL;PREF=1:http://www.ibm.com"), "{v4}");
    assert!(!v4.to_ascii_lowercase().contains("internet"), "{v4}");
}

#[test]
fn the_lowest_pref_becomes_type_pref() {
    let v3 = render(
        &ok(&card(
            "VERSION:4.0\nUID:u\nFN:A\nEMAIL;PREF=2:a@example.org\nEMAIL;PREF=1:b@example.org\n\
             EMAIL:c@example.org\nTEL;PREF=3:555",
        ))
        .text,
        VcardVersion::V3,
    );
    assert!(has_line(&v3, "EMAIL:a@example.org"), "{v3}");
    assert!(has_line(&v3, "EMAIL;TYPE=pref:b@example.org"), "{v3}");
    assert!(has_line(&v3, "EMAIL:c@example.org"), "{v3}");
    assert!(has_line(&v3, "TEL;TYPE=pref:555"), "{v3}");
    assert!(has_line(&v3, "N:;;;;"), "3.0 requires N\n{v3}");
    assert!(!v3.contains("PREF="), "{v3}");
}

#[test]
fn apple_groups_and_vcard4_groups_convert() {
    let apple = ok(&fixture(
        "apple-addressbook-group-x-addressbookserver-members.vcf",
    ));
    let v4 = render(&apple.text, VcardVersion::V4);
    assert!(has_line(&v4, "KIND:GROUP"), "{v4}");
    assert!(has_line(&v4, "MEMBER:urn:uuid:uid4"), "{v4}");
    assert!(has_line(&v4, "MEMBER:urn:uuid:uid6"), "{v4}");
    assert!(!v4.contains("X-ADDRESSBOOKSERVER"), "{v4}");
    assert_eq!(ok(v4.as_bytes()).index, apple.index);

    let davx5 = ok(&fixture("davx5-vcard40-kind-group-member.vcf"));
    let v3 = render(&davx5.text, VcardVersion::V3);
    assert!(has_line(&v3, "X-ADDRESSBOOKSERVER-KIND:group"), "{v3}");
    assert!(
        has_line(&v3, "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:x"),
        "{v3}"
    );
    assert!(
        !v3.contains("\r\nKIND") && !v3.contains("\r\nMEMBER"),
        "{v3}"
    );
    assert_eq!(ok(v3.as_bytes()).index, davx5.index);
}

#[test]
fn dates_without_year_use_apples_placeholder_in_3_0() {
    let v4 = ok(&card(
        "VERSION:4.0\nUID:u\nFN:A\nBDAY:--0415\nANNIVERSARY:20010203",
    ));
    let v3 = render(&v4.text, VcardVersion::V3);
    assert!(
        has_line(&v3, "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15"),
        "{v3}"
    );
    assert!(has_line(&v3, "ANNIVERSARY:2001-02-03"), "{v3}");
    let back = render(&v3, VcardVersion::V4);
    assert!(has_line(&back, "BDAY:--0415"), "{back}");
    assert!(has_line(&back, "ANNIVERSARY:20010203"), "{back}");
    // 3.0 cards written by other clients: `--04-15` and `--0415`.
    for written in ["BDAY:--04-15", "BDAY:--0415"] {
        let v3 = ok(&card(&format!("VERSION:3.0\nUID:u\nFN:A\n{written}")));
        let v4 = render(&v3.text, VcardVersion::V4);
        assert!(has_line(&v4, "BDAY:--0415"), "{written}\n{v4}");
    }
    // A real year 1604 without Apple's parameter stays a year.
    let v3 = ok(&card("VERSION:3.0\nUID:u\nFN:A\nBDAY:1604-04-15"));
    assert!(has_line(
        &render(&v3.text, VcardVersion::V4),
        "BDAY:16040415"
    ));
}

#[test]
fn uris_media_types_geo_and_tel_convert() {
    let v4 = ok(&card(
        "VERSION:4.0\nUID:u\nFN:A\nPHOTO;MEDIATYPE=image/png:https://example.org/a.png\n\
         LOGO:https://example.org/logo\nGEO:geo:37.386013,-122.082932\n\
         TEL;VALUE=uri;TYPE=cell:tel:+1-555-555-0100\nKEY:data:application/pgp-keys;base64,AAAA",
    ));
    let v3 = render(&v4.text, VcardVersion::V3);
    assert!(
        has_line(&v3, "PHOTO;TYPE=PNG;VALUE=URI:https://example.org/a.png"),
        "{v3}"
    );
    assert!(
        has_line(&v3, "LOGO;VALUE=URI:https://example.org/logo"),
        "{v3}"
    );
    assert!(has_line(&v3, "GEO:37.386013;-122.082932"), "{v3}");
    assert!(has_line(&v3, "TEL;TYPE=CELL:+1-555-555-0100"), "{v3}");
    assert!(has_line(&v3, "KEY;ENCODING=b;TYPE=PGP:AAAA"), "{v3}");
    let back = render(&v3, VcardVersion::V4);
    assert!(
        has_line(&back, "PHOTO;MEDIATYPE=image/png:https://example.org/a.png"),
        "{back}"
    );
    assert!(has_line(&back, "LOGO:https://example.org/logo"), "{back}");
    assert!(has_line(&back, "GEO:geo:37.386013,-122.082932"), "{back}");
    // Three zero bytes are valid UTF-8; they stay binary all the same.
    assert!(
        has_line(&back, "KEY:data:application/pgp-keys;base64,AAAA"),
        "{back}"
    );
}

#[test]
fn x_properties_groups_and_labels_are_kept() {
    let stored = ok(&fixture("google-contacts-export-single.vcf"));
    let v4 = render(&stored.text, VcardVersion::V4);
    for line in [
        "X-PHONETIC-FIRST-NAME:Grregg",
        "item1.TEL:555 555 2222",
        "item1.X-ABLabel:GRAND_CENTRAL",
        "item4.X-ABDATE:1970-06-02",
        "item4.X-ABLabel:_$!<Anniversary>!$_",
        "item6.X-ABRELATEDNAMES:MyCustom",
        "item3.URL:http://TheProfile.com",
        "ADR;TYPE=HOME:;;123 Home St\\nHome City\\, HM 12345;;;;",
    ] {
        assert!(has_line(&v4, line), "{line}\n{v4}");
    }
}

#[test]
fn non_ascii_3_0_text_gets_no_charset() {
    let v4 = ok(&card(
        "VERSION:4.0\nUID:u\nFN:Jörg Roßdeutscher\nN:Roßdeutscher;Jörg;;;\nNOTE:€ 5",
    ));
    let v3 = render(&v4.text, VcardVersion::V3);
    assert!(has_line(&v3, "FN:Jörg Roßdeutscher"), "{v3}");
    assert!(has_line(&v3, "N:Roßdeutscher;Jörg;;;"), "{v3}");
    assert!(!v3.contains("CHARSET"), "{v3}");
}

#[test]
fn rendering_the_stored_version_returns_the_stored_bytes() {
    for (name, card) in fixture_cards() {
        assert_eq!(render(&card.text, card.version), card.text, "{name}");
    }
    assert_eq!(render("not a vcard", VcardVersion::V4), "not a vcard");
}

// --- vCard 2.1 ----------------------------------------------------------------------------

fn v21_card(file: &str, index: usize) -> Vec<u8> {
    let bytes = fixture(file);
    let chunks = split_multi(&bytes);
    match chunks.get(index) {
        Some(Ok(chunk)) => chunk.bytes.to_vec(),
        other => panic!("{file} card {index}: {other:?}"),
    }
}

#[test]
fn android_2_1_is_stored_as_3_0() {
    let stored = ok(&v21_card("android-vcard21-qp-utf8-multi.vcf", 4));
    assert_eq!(stored.version, VcardVersion::V3);
    assert!(stored.repairs.contains(&Repair::FromV21(VcardVersion::V3)));
    let text = &stored.text;
    assert!(text.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"), "{text}");
    assert!(has_line(text, "N:Ñ Ñ ;Ñ Ñ Ñ ;;;"), "{text}");
    assert!(has_line(text, "TEL;TYPE=CELL,pref:123456"), "{text}");
    assert!(
        has_line(text, "EMAIL;TYPE=pref,WORK:bob@company.com"),
        "{text}"
    );
    assert!(
        !text.contains("QUOTED-PRINTABLE") && !text.contains("CHARSET"),
        "{text}"
    );
    assert_eq!(stored.index.full_name, "Ñ Ñ Ñ Ñ ");
    assert!(photos(text)[0].starts_with(&[0xFF, 0xD8]));
    assert!(
        unfolded(text)
            .iter()
            .any(|l| l.starts_with("PHOTO;ENCODING=b;TYPE=JPEG:"))
    );
}

#[test]
fn outlook_2_1_quoted_printable_and_key() {
    let stored = ok(&fixture("outlook-2003-vcard21-qp-key-fburl.vcf"));
    let text = &stored.text;
    assert!(
        has_line(
            text,
            "NOTE:This is the note field!!\\nSecond line\\n\\nThird line is empty\\n"
        ),
        "{text}"
    );
    assert!(
        has_line(text, "EMAIL;TYPE=pref,INTERNET:jdoe@hotmail.com"),
        "{text}"
    );
    let key = unfolded(text)
        .into_iter()
        .find(|l| l.starts_with("KEY"))
        .unwrap_or_default();
    assert!(
        key.starts_with("KEY;ENCODING=b;TYPE=X509:MIIDITCC"),
        "{key}"
    );
    let outlook = ok(&fixture("ms-outlook-vcard21-x-ms-photo.vcf"));
    assert!(
        has_line(
            &outlook.text,
            "LABEL;TYPE=WORK,pref:Cresent moon drive\\nAlbaney\\, New York  12345"
        ),
        "{}",
        outlook.text
    );
    assert_eq!(photos(&outlook.text).len(), 1);
}

#[test]
fn legacy_2_1_can_be_stored_as_4_0() {
    let opts = IngestOptions {
        legacy_version: VcardVersion::V4,
        ..import()
    };
    let stored = ok_with(&fixture("ms-outlook-vcard21-x-ms-photo.vcf"), &opts);
    assert_eq!(stored.version, VcardVersion::V4);
    assert!(
        has_line(&stored.text, "EMAIL;PREF=1:john.doe@ibm.cm"),
        "{}",
        stored.text
    );
    assert!(photos(&stored.text)[0].starts_with(&[0xFF, 0xD8]));
}

#[test]
fn broken_2_1_is_refused() {
    let e = err(&card(
        "VERSION:2.1\nUID:u\nFN:A\nPHOTO;ENCODING=BASE64;JPEG:!!!not*base64",
    ));
    assert_eq!(e.precondition(), "valid-address-data");
    assert!(e.to_string().contains("PHOTO"), "{e}");
    let e = err(b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:J\xF6rg\r\nEND:VCARD\r\n");
    assert_eq!(e.line(), Some(3));
}

// --- address-data selection -------------------------------------------------------------

#[test]
fn select_keeps_the_named_properties_and_the_frame() {
    let stored = ok(&fixture("apple-ios5-photo-encoding-b-items.vcf"));
    let emails = select(&stored.text, VcardVersion::V4, &["EMAIL".to_string()]);
    assert_eq!(
        emails,
        format!(
            "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:{}\r\n\
             item1.EMAIL;PREF=1:john.doe@ibm.com\r\nEND:VCARD\r\n",
            stored.index.uid
        )
    );
    let names = ["fn".to_string(), "Tel".to_string()];
    let selected = select(&stored.text, VcardVersion::V3, &names);
    let lines = unfolded(&selected);
    assert_eq!(lines.len(), 4 + 1 + 7, "{selected}");
    assert!(lines.iter().all(|l| !l.contains("X-ABLabel")));
    // Folded lines come whole.
    let photo = select(&stored.text, VcardVersion::V3, &["PHOTO".to_string()]);
    assert_eq!(photos(&photo), photos(&stored.text));
    assert_eq!(select(&stored.text, VcardVersion::V3, &[]), stored.text);
}

// --- multi-card files ---------------------------------------------------------------------

#[test]
fn a_google_export_splits_into_its_cards() {
    let bytes = fixture("google-contacts-export-list.vcf");
    let chunks: Vec<Chunk<'_>> = split_multi(&bytes)
        .into_iter()
        .map(|c| c.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(
        chunks.iter().map(|c| c.first_line).collect::<Vec<_>>(),
        [1, 7, 13]
    );
    let names: Vec<String> = chunks.iter().map(|c| ok(c.bytes).index.full_name).collect();
    assert_eq!(names, ["Arnold Smith", "Chris Beatle", "Doug White"]);
    let total: usize = chunks.iter().map(|c| c.bytes.len()).sum();
    assert_eq!(total, bytes.len());
}

#[test]
fn an_android_2_1_export_splits_and_imports() {
    let bytes = fixture("android-vcard21-qp-utf8-multi.vcf");
    let cards: Vec<Ingested> = split_multi(&bytes)
        .into_iter()
        .map(|c| {
            c.and_then(|c| c.ingest(&import()))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    assert_eq!(cards.len(), 6);
    assert!(cards.iter().all(|c| c.version == VcardVersion::V3));
    // Cards without N and FN get their FN from the e-mail address.
    assert_eq!(cards[0].index.full_name, "john.doe@company.com");
    assert_eq!(cards[2].index.full_name, "Ñ Ñ Ñ Ñ Ñ ");
    let mut uids: Vec<&str> = cards.iter().map(|c| c.index.uid.as_str()).collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 6);
}

#[test]
fn split_reports_stray_content_and_unfinished_cards_in_place() {
    let file = "BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\nstray\n\nBEGIN:VCARD\nVERSION:3.0\n\
                FN:B\nPHOTO;ENCODING=b:@@@\nEND:VCARD\nBEGIN:VCARD\nVERSION:3.0\nFN:C\n";
    let results = split_multi(file.as_bytes());
    assert_eq!(results.len(), 4, "{results:?}");
    assert!(matches!(&results[0], Ok(Chunk { first_line: 1, .. })));
    assert_eq!(
        results[1].as_ref().err().and_then(VcardError::line),
        Some(5)
    );
    let second = results[2].as_ref().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.first_line, 7);
    // Errors inside a card name the line of the file.
    assert_eq!(
        second.ingest(&import()).err().and_then(|e| e.line()),
        Some(10)
    );
    assert_eq!(
        results[3].as_ref().err().and_then(VcardError::line),
        Some(12)
    );
}

#[test]
fn thousands_of_cards_import_quickly() {
    let mut file = String::new();
    for n in 0..3000 {
        file.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Person{n};Test;;;\r\nFN:Test Person{n}\r\n\
             EMAIL;TYPE=INTERNET:p{n}@example.org\r\nTEL;TYPE=CELL:+49 170 {n:07}\r\nEND:VCARD\r\n"
        ));
    }
    let start = std::time::Instant::now();
    let cards: Vec<Ingested> = split_multi(file.as_bytes())
        .into_iter()
        .map(|c| {
            c.and_then(|c| c.ingest(&import()))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let elapsed = start.elapsed();
    assert_eq!(cards.len(), 3000);
    assert_eq!(cards[2999].index.emails, ["p2999@example.org"]);
    let mut uids: Vec<&str> = cards.iter().map(|c| c.index.uid.as_str()).collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 3000);
    assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
}

// --- robustness ---------------------------------------------------------------------------

/// Truncations and byte substitutions of every fixture: ingest, render, select and split
/// answer (accept or refuse) without panicking.
#[test]
fn mutated_fixtures_never_panic() {
    let probes: [&[u8]; 7] = [b":", b";", b"\r\n", b"\r\n ", b"=", b"\xC3", b"\""];
    let mut accepted = 0;
    for name in fixture_names() {
        let bytes = fixture(&name);
        let step = (bytes.len() / 40).max(1);
        for at in (0..bytes.len()).step_by(step) {
            let mut variants = vec![bytes[..at].to_vec()];
            for probe in probes {
                let mut changed = bytes.clone();
                changed.splice(at..(at + 1).min(bytes.len()), probe.iter().copied());
                variants.push(changed);
            }
            for variant in variants {
                for chunk in split_multi(&variant).into_iter().flatten() {
                    if let Ok(card) = chunk.ingest(&import()) {
                        accepted += 1;
                        let there = render(&card.text, other(card.version));
                        let _ = render(&there, card.version);
                        let _ = select(&card.text, other(card.version), &["EMAIL".into()]);
                        let _ = ParsedCard::parse(&there);
                    }
                }
            }
        }
    }
    assert!(accepted > 1000, "{accepted}");
}

/// Work stays linear in the number of properties: 40,000 preferred addresses in one card
/// (1.3 MB, under the size limit) are ingested, indexed and converted both ways quickly.
#[test]
fn many_properties_stay_linear() {
    let mut body = String::from("VERSION:4.0\nUID:many\nFN:Many");
    for n in 0..40_000 {
        body.push_str(&format!(
            "\nEMAIL;PREF=1:a{n}@example.org\nMEMBER:urn:uuid:m{n}"
        ));
    }
    let start = std::time::Instant::now();
    let stored = ok(&card(&body));
    assert_eq!(stored.index.emails.len(), 40_000);
    assert_eq!(stored.index.members.len(), 40_000);
    let v3 = render(&stored.text, VcardVersion::V3);
    assert_eq!(v3.matches("EMAIL;TYPE=pref:").count(), 40_000);
    let back = render(&v3, VcardVersion::V4);
    assert_eq!(back.matches("\r\nMEMBER:").count(), 40_000);
    let elapsed = start.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
}
