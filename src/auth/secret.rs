//! Secrets: hashing people's passwords (argon2id), generating passwords, app passwords
//! and tokens, and hashing those machine-made secrets (SHA-256 suffices: they carry 120+
//! random bits, so no dictionary can reach them). Depends on nothing else in Domus.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use sha2::{Digest, Sha256};

/// Longest password accepted anywhere; argon2 would take more, but nobody needs it.
pub const MAX_PASSWORD_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the password is empty")]
    Empty,
    #[error("the password is longer than {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1: the OWASP baseline).
fn argon2() -> Argon2<'static> {
    Argon2::default()
}

pub fn hash_password(password: &str) -> Result<String, SecretError> {
    if password.is_empty() {
        return Err(SecretError::Empty);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(SecretError::TooLong);
    }
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| SecretError::Hash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// Checks a password against a stored PHC string; a malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Argon2's work area (19 MiB with the default parameters), kept between verifications.
///
/// Allocating and freeing it on every login makes glibc's allocator raise its mmap
/// threshold and then keep the freed space in the heap, pinned by the small allocations
/// made in between: a server that had verified 300 logins held 5 GB (docs/benchmarks.md).
/// The server keeps one work area per concurrent verification instead.
#[derive(Default)]
pub struct WorkArea(Vec<argon2::Block>);

/// [`verify_password`] in a reused work area, with a constant-time comparison.
pub fn verify_password_in(hash: &str, password: &str, area: &mut WorkArea) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    if area.0.len() < blocks {
        area.0.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(algorithm, version, params);
    if hasher
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut area.0[..blocks])
        .is_err()
    {
        return false;
    }
    subtle::ConstantTimeEq::ct_eq(out.as_slice(), expected.as_bytes()).into()
}

/// Letters and digits without look-alikes (no 0/o, 1/l/i).
const FRIENDLY: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

fn friendly(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| FRIENDLY[rng.random_range(0..FRIENDLY.len())] as char)
        .collect()
}

/// A generated password or app password: 25 characters (about 124 bits) in five groups,
/// easy to read aloud and to type on a phone.
pub fn generate_password() -> String {
    let raw = friendly(25);
    raw.as_bytes()
        .chunks(5)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
}

/// A random secret for tokens: 32 bytes, URL-safe base64 without padding.
pub fn generate_token_secret() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// SHA-256 of a machine-made secret, as stored.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horsE"));
        assert!(!verify_password("not a hash", "x"));
        let mut area = WorkArea::default();
        assert!(verify_password_in(&h, "correct horse", &mut area));
        assert!(!verify_password_in(&h, "correct horsE", &mut area));
        assert!(
            verify_password_in(&h, "correct horse", &mut area),
            "the area is reusable"
        );
        assert!(!verify_password_in(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$",
            "x",
            &mut area
        ));
        assert!(matches!(hash_password(""), Err(SecretError::Empty)));
        assert!(matches!(
            hash_password(&"x".repeat(2000)),
            Err(SecretError::TooLong)
        ));
    }

    #[test]
    fn generated_passwords_have_five_groups_and_differ() {
        let a = generate_password();
        assert_eq!(a.len(), 29);
        assert_eq!(a.split('-').count(), 5);
        assert_ne!(a, generate_password());
        assert_eq!(generate_token_secret().len(), 43);
    }
}
