//! Newtypes for the identifiers the store hands out, so a domain id can never be passed
//! where an account id belongs.

use rand::Rng;

/// Lower-case letters and digits without look-alikes; every generated id starts with a
/// letter (JMAP clients break on ids that look like numbers).
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

fn random_id(prefix: char, len: usize) -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(len + 1);
    s.push(prefix);
    for _ in 0..len {
        s.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    s
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $len:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                $name(random_id($prefix, $len))
            }
            /// Accepts only the shape that [`Self::generate`] produces, so an id taken
            /// from a URL or a token can never name a path outside the data folder.
            pub fn parse(s: &str) -> Option<Self> {
                let mut chars = s.chars();
                let ok = s.len() == $len + 1
                    && chars.next() == Some($prefix)
                    && chars.all(|c| ALPHABET.contains(&(c as u8)) && c.is_ascii());
                ok.then(|| $name(s.to_string()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub(crate) fn from_db(s: String) -> Self {
                $name(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A domain's permanent id: the name of its folder under `DATA/domains/`. It never
    /// changes when names or aliases do, and a removed domain's id is never reused.
    DomainId, 'd', 12
);
string_id!(
    /// An account's id, unique within its domain and stable across address changes.
    AccountId, 'u', 12
);
string_id!(
    /// An app password's or API token's id.
    CredentialId, 'c', 12
);

/// Seconds since the Unix epoch, the unit of every timestamp the store keeps.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_start_with_their_letter() {
        for _ in 0..100 {
            let id = DomainId::generate();
            assert!(id.as_str().starts_with('d'));
            assert_eq!(DomainId::parse(id.as_str()), Some(id));
        }
    }

    #[test]
    fn parse_refuses_paths_and_other_kinds() {
        assert_eq!(DomainId::parse("../../etc/pa"), None);
        assert_eq!(DomainId::parse("d"), None);
        assert_eq!(DomainId::parse(AccountId::generate().as_str()), None);
        assert_eq!(DomainId::parse("dABCDEFGHIJKL"), None);
        assert_eq!(DomainId::parse("dé2345678901"), None);
    }
}
