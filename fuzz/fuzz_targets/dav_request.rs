//! DAV request parsing: XML bodies, the `If` header and request paths.
//!
//! The first byte selects the parser (mod 4); the rest is its input. Selector 3 feeds
//! the same bytes to all three.
#![no_main]

use domus::dav::{href, ifheader::IfHeader, xml};
use libfuzzer_sys::fuzz_target;

fn check_xml(body: &[u8]) {
    let Ok(root) = xml::parse(body) else {
        return;
    };
    let mut stack = vec![&root];
    while let Some(el) = stack.pop() {
        let v = el.verbatim(body);
        match xml::parse(v.as_bytes()) {
            Ok(again) => assert_eq!(
                again.name,
                el.name,
                "verbatim changed the element's name\nbody: {:?}\nverbatim: {v:?}",
                String::from_utf8_lossy(body)
            ),
            Err(e) => panic!(
                "verbatim output does not re-parse: {e}\nbody: {:?}\nverbatim: {v:?}",
                String::from_utf8_lossy(body)
            ),
        }
        stack.extend(el.elements());
    }
}

fn check_if(s: &str) {
    if let Ok(h) = IfHeader::parse(s) {
        let _ = h.tokens();
    }
}

fn check_href(s: &str) {
    let Ok(p) = href::decode(s) else {
        return;
    };
    let mut encoded = String::from("/");
    encoded.push_str(
        &p.segments
            .iter()
            .map(|s| href::encode_segment(s))
            .collect::<Vec<_>>()
            .join("/"),
    );
    // Percent-encoding can triple a path's length; one that the encoding pushes past the
    // limit is refused by design (a client never sends it raw: HTTP carries it encoded).
    if encoded.len() > href::MAX_PATH_LEN {
        return;
    }
    match href::decode(&encoded) {
        Ok(again) => assert_eq!(
            again.segments, p.segments,
            "encode(decode(x)) decodes differently\ninput: {s:?}\nencoded: {encoded:?}"
        ),
        Err(e) => {
            panic!("encode(decode(x)) does not decode: {e}\ninput: {s:?}\nencoded: {encoded:?}")
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        0 => check_xml(rest),
        1 => {
            if let Ok(s) = std::str::from_utf8(rest) {
                check_if(s);
            }
        }
        2 => {
            if let Ok(s) = std::str::from_utf8(rest) {
                check_href(s);
            }
        }
        _ => {
            check_xml(rest);
            if let Ok(s) = std::str::from_utf8(rest) {
                check_if(s);
                check_href(s);
            }
        }
    }
});
