//! Domain names and e-mail addresses as Domus accepts them: validated and normalised
//! (lower case) once, at the edge, so the store only ever sees canonical forms.

/// The longest address RFC 5321 §4.5.3.1.3 allows in a path (254 octets without brackets).
pub const MAX_ADDRESS_LEN: usize = 254;

/// Why a name or address was refused; the message says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "`{0}` is not a valid domain name: use letters, digits and hyphens in dot-separated labels of at most 63 characters (253 in all), e.g. example.org"
    )]
    BadDomain(String),
    #[error(
        "`{0}` is not a valid address: use local@domain, where local has at most 64 letters, digits, dots, hyphens, underscores or plus signs"
    )]
    BadAddress(String),
}

/// Normalises and checks a domain name (RFC 1123 host name syntax). Internationalised
/// names must be given in their ASCII (punycode) form.
pub fn domain_name(input: &str) -> Result<String, NameError> {
    let name = input.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(NameError::BadDomain(input.to_string()));
    }
    Ok(name)
}

/// An address split into its canonical whole and its domain part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub full: String,
    pub local: String,
    pub domain: String,
}

/// Normalises and checks an address. The local part is restricted to the characters that
/// real mailboxes use and that need no escaping in URLs and file names.
pub fn address(input: &str) -> Result<Address, NameError> {
    let bad = || NameError::BadAddress(input.chars().take(300).collect());
    let trimmed = input.trim();
    if trimmed.len() > MAX_ADDRESS_LEN {
        return Err(bad());
    }
    let (local, domain) = trimmed.rsplit_once('@').ok_or_else(bad)?;
    let local = local.to_ascii_lowercase();
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
    if !local_ok {
        return Err(bad());
    }
    let domain = domain_name(domain).map_err(|_| bad())?;
    Ok(Address {
        full: format!("{local}@{domain}"),
        local,
        domain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lower_cased_and_checked() {
        assert_eq!(domain_name("Example.ORG.").unwrap(), "example.org");
        assert_eq!(domain_name("localhost").unwrap(), "localhost");
        for bad in [
            "",
            "a..b",
            "-a.b",
            "a-.b",
            "a b",
            "a/b",
            "ä.de",
            &"a".repeat(64),
        ] {
            assert!(domain_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_are_lower_cased_and_checked() {
        let a = address("Alice.B+cal@A.Test").unwrap();
        assert_eq!(
            (a.full.as_str(), a.domain.as_str()),
            ("alice.b+cal@a.test", "a.test")
        );
        for bad in [
            "alice", "@a.test", "a@", "a@@b", ".a@b.c", "a..b@c.d", "a/b@c.d", "a%b@c.d",
        ] {
            assert!(address(bad).is_err(), "{bad}");
        }
        assert!(address(&format!("{}@a.test", "a".repeat(65))).is_err());
        assert!(address(&format!("a@{}.test", "b".repeat(300))).is_err());
    }

    proptest::proptest! {
        #[test]
        fn address_never_panics_and_output_is_a_fixpoint(s in "\\PC{0,300}") {
            if let Ok(a) = address(&s) {
                proptest::prop_assert_eq!(address(&a.full).unwrap(), a);
            }
        }
    }
}
