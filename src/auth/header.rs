//! Parsing the `Authorization` header (RFC 7617 Basic, RFC 6750 Bearer). Input is
//! untrusted bytes: every malformed form is an error value, never a panic.

use base64::Engine;

use super::secret::MAX_PASSWORD_LEN;
use crate::names::MAX_ADDRESS_LEN;

/// Longest header value looked at; anything longer is malformed.
const MAX_HEADER_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Basic { user: String, password: String },
    Bearer(String),
}

/// Why a header could not be read; goes to the log, never to the client in detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the Authorization header is longer than {MAX_HEADER_LEN} bytes")]
    TooLong,
    #[error("the Authorization scheme is neither Basic nor Bearer")]
    UnknownScheme,
    #[error("the Basic credentials are not valid base64")]
    BadBase64,
    #[error("the Basic credentials are not valid UTF-8")]
    BadUtf8,
    #[error("the Basic credentials have no ':' between user and password")]
    NoColon,
    #[error("the user name is empty or longer than an address can be")]
    BadUser,
    #[error("the password is empty or too long")]
    BadPassword,
    #[error("the Bearer token is empty or has characters a token cannot have")]
    BadToken,
}

pub fn parse(value: &[u8]) -> Result<Presented, HeaderError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(HeaderError::TooLong);
    }
    let value = std::str::from_utf8(value)
        .map_err(|_| HeaderError::BadUtf8)?
        .trim();
    let (scheme, rest) = value.split_once(' ').ok_or(HeaderError::UnknownScheme)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| HeaderError::BadBase64)?;
        let text = String::from_utf8(raw).map_err(|_| HeaderError::BadUtf8)?;
        let (user, password) = text.split_once(':').ok_or(HeaderError::NoColon)?;
        if user.is_empty() || user.len() > MAX_ADDRESS_LEN {
            return Err(HeaderError::BadUser);
        }
        if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
            return Err(HeaderError::BadPassword);
        }
        Ok(Presented::Basic {
            user: user.to_string(),
            password: password.to_string(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        // RFC 6750 §2.1 b64token syntax.
        let ok = !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
        if !ok {
            return Err(HeaderError::BadToken);
        }
        Ok(Presented::Bearer(rest.to_string()))
    } else {
        Err(HeaderError::UnknownScheme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(s: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
        .into_bytes()
    }

    #[test]
    fn basic_and_bearer() {
        assert_eq!(
            parse(&basic("alice@a.test:pw:with:colons")).unwrap(),
            Presented::Basic {
                user: "alice@a.test".into(),
                password: "pw:with:colons".into()
            }
        );
        assert_eq!(
            parse(b"bearer abc.def").unwrap(),
            Presented::Bearer("abc.def".into())
        );
    }

    #[test]
    fn malformed_headers_are_typed_errors() {
        assert_eq!(parse(b"Basic !!!"), Err(HeaderError::BadBase64));
        assert_eq!(parse(b"Digest x"), Err(HeaderError::UnknownScheme));
        assert_eq!(parse(b"Basic"), Err(HeaderError::UnknownScheme));
        assert_eq!(parse(&basic("nocolon")), Err(HeaderError::NoColon));
        assert_eq!(parse(&basic(":pw")), Err(HeaderError::BadUser));
        assert_eq!(parse(&basic("a@b.c:")), Err(HeaderError::BadPassword));
        assert_eq!(
            parse(&basic(&format!("{}:pw", "a".repeat(300)))),
            Err(HeaderError::BadUser)
        );
        assert_eq!(parse(b"Bearer a b"), Err(HeaderError::BadToken));
        assert_eq!(parse(&[b'B', b'a', 0xff, 0xfe]), Err(HeaderError::BadUtf8));
        let mut invalid_utf8_inside = b"Basic ".to_vec();
        invalid_utf8_inside.extend(
            base64::engine::general_purpose::STANDARD
                .encode([0xffu8, b':', b'x'])
                .bytes(),
        );
        assert_eq!(parse(&invalid_utf8_inside), Err(HeaderError::BadUtf8));
        assert_eq!(parse(&vec![b'a'; 5000]), Err(HeaderError::TooLong));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn never_panics_on_any_basic_payload(payload in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let mut v = b"Basic ".to_vec();
            v.extend(base64::engine::general_purpose::STANDARD.encode(&payload).bytes());
            if let Ok(Presented::Basic { user, password }) = parse(&v) {
                proptest::prop_assert!(!user.is_empty() && !password.is_empty());
            }
        }
    }
}
