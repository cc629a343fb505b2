//! Paths and hrefs of the DAV URL space.
//!
//! Request paths are split into segments, each percent-decoded once; segments that could
//! escape their collection (`.`, `..`, an encoded `/`, NUL) are refused. Hrefs in
//! responses are built from decoded segments with one canonical encoding: unreserved
//! characters and `@` stay as they are (user ids are e-mail addresses; clients.md #15),
//! everything else is percent-encoded. Input with `%40` or `@` is accepted alike.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Characters encoded in an href segment: all but unreserved (RFC 3986 §2.3) and `@`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// Longest request path accepted.
pub const MAX_PATH_LEN: usize = 4096;
/// Most segments in a request path.
const MAX_SEGMENTS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is longer than {MAX_PATH_LEN} bytes or deeper than {MAX_SEGMENTS} segments")]
    TooLong,
    #[error("the path segment {0:?} is not allowed")]
    BadSegment(String),
    #[error("the path is not valid UTF-8 once decoded")]
    NotUtf8,
}

/// A decoded request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedPath {
    pub segments: Vec<String>,
    /// The request path ended with `/`.
    pub trailing_slash: bool,
}

pub fn decode(raw: &str) -> Result<DecodedPath, PathError> {
    Ok(DecodedPath {
        segments: segments(raw)?.into_iter().map(Cow::into_owned).collect(),
        trailing_slash: raw.ends_with('/'),
    })
}

/// The decoded segments of `raw`, borrowed where nothing was percent-encoded (hot: every
/// href of a multiget goes through here).
pub fn segments(raw: &str) -> Result<Vec<Cow<'_, str>>, PathError> {
    if raw.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    // Most hrefs hold no escape at all: their segments are borrowed as they are, and
    // cannot hold a `/`; a NUL is looked for once in the whole path.
    let escaped = memchr::memchr(b'%', raw.as_bytes()).is_some();
    if !escaped && memchr::memchr(0, raw.as_bytes()).is_some() {
        let bad = raw.split('/').find(|s| s.contains('\0')).unwrap_or(raw);
        return Err(PathError::BadSegment(bad.to_string()));
    }
    let mut segments = Vec::with_capacity(8);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'/', raw.as_bytes()).chain(std::iter::once(raw.len()));
    for end in ends {
        let seg = &raw[start..end];
        start = end + 1;
        if seg.is_empty() {
            continue;
        }
        let decoded = if escaped {
            let decoded = percent_decode_str(seg)
                .decode_utf8()
                .map_err(|_| PathError::NotUtf8)?;
            if decoded.contains(['/', '\0']) {
                return Err(PathError::BadSegment(decoded.into_owned()));
            }
            decoded
        } else {
            Cow::Borrowed(seg)
        };
        if decoded == "." || decoded == ".." {
            return Err(PathError::BadSegment(decoded.into_owned()));
        }
        segments.push(decoded);
        if segments.len() > MAX_SEGMENTS {
            return Err(PathError::TooLong);
        }
    }
    Ok(segments)
}

/// Encodes one segment for an href.
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Encodes a relative path (`a/b c`) segment by segment (`a/b%20c`).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    push_path(&mut out, path);
    out
}

/// Appends one encoded segment. The result holds only unreserved characters, `@` and
/// `%XX`: nothing XML would need escaped.
pub fn push_segment(out: &mut String, s: &str) {
    if s.bytes().all(|b| plain(&b) && b != b'/') {
        out.push_str(s);
    } else {
        out.extend(utf8_percent_encode(s, SEGMENT));
    }
}

/// A byte an href carries as it is (`/` only between segments).
fn plain(b: &u8) -> bool {
    PLAIN[*b as usize]
}

/// [`plain`] as a table: every href of a listing is checked byte by byte.
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'@' | b'/');
        b += 1;
    }
    table
};

/// Appends a relative path, encoded segment by segment (see [`push_segment`]).
pub fn push_path(out: &mut String, path: &str) {
    // Hot (every href of a listing): a path with nothing to encode is copied as it is.
    if path.as_bytes().iter().all(plain) {
        out.push_str(path);
        return;
    }
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        push_segment(out, seg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once_and_refuses_escapes() {
        let p = decode("/dav/files/alice%40a.test/My%20Docs/").unwrap();
        assert_eq!(p.segments, ["dav", "files", "alice@a.test", "My Docs"]);
        assert!(p.trailing_slash);
        assert_eq!(decode("/a/%252e").unwrap().segments, ["a", "%2e"]);
        for bad in [
            "/a/..",
            "/a/%2e%2e/b",
            "/a/x%2Fy",
            "/a/%00",
            "/a/.",
            "/a/x\0y",
        ] {
            assert!(
                matches!(decode(bad), Err(PathError::BadSegment(_))),
                "{bad}"
            );
        }
        assert_eq!(decode("/a/%ff"), Err(PathError::NotUtf8));
        assert_eq!(decode(&"/a".repeat(100)), Err(PathError::TooLong));
    }

    #[test]
    fn encodes_canonically() {
        assert_eq!(encode_segment("alice@a.test"), "alice@a.test");
        assert_eq!(
            encode_path("My Docs/r\u{e9}sum\u{e9}.txt"),
            "My%20Docs/r%C3%A9sum%C3%A9.txt"
        );
        let round = decode(&format!("/{}", encode_path("a b/c%d/e#f?"))).unwrap();
        assert_eq!(round.segments, ["a b", "c%d", "e#f?"]);
    }
}
