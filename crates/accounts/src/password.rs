//! Password hashing with argon2id at OWASP's first recommended setting: 46 MiB, one pass, one
//! lane.
//!
//! The memory cost is chosen with the allocator in mind too. glibc keeps a freed block of up to
//! 32 MiB for reuse, in the arena of the thread that freed it; at the crate's default (19 MiB)
//! every blocking thread that had checked a password kept 20 MB, and the service's resident
//! memory grew with each login (measured: 44, 64, then 84 MB over three logins). A 46 MiB block
//! is mapped for the hash and returned to the system when it ends. Hashes made with other
//! parameters still verify (a hash names its own), and are replaced at the next login.
//!
//! At most one hash per core runs at a time; the others wait. Without the bound, a burst of
//! logins (or of guesses) needs 46 MiB each at once: six concurrent logins took the service to
//! 307 MB.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::{Condvar, Mutex};

use argon2::{Algorithm, Argon2, Params, Version};
use tongxing_core::{Error, FieldError, Result};

pub const MIN_LENGTH: usize = 10;

/// Memory per hash, in KiB (46 MiB).
const MEMORY_KIB: u32 = 47_104;
const PASSES: u32 = 1;
const LANES: u32 = 1;

/// A permit to run one hash: waits while one hash per core is running.
struct Permit(&'static (Mutex<usize>, Condvar));

impl Permit {
    fn take() -> Permit {
        static RUNNING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());
        let limit = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (running, freed) = &RUNNING;
        let mut n = running.lock().unwrap_or_else(|p| p.into_inner());
        while *n >= limit {
            n = freed.wait(n).unwrap_or_else(|p| p.into_inner());
        }
        *n += 1;
        Permit(&RUNNING)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let (running, freed) = self.0;
        *running.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        freed.notify_one();
    }
}

fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| Error::internal(format!("password hashing parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash(password: &str) -> Result<String> {
    if password.chars().count() < MIN_LENGTH {
        return Err(Error::of_field(
            FieldError::new(
                "password",
                "too_short",
                format!("a password has at least {MIN_LENGTH} characters"),
            )
            .with("min", MIN_LENGTH),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    let _permit = Permit::take();
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

/// Whether `password` is the one `stored` was made from, with whatever parameters it names.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        let _permit = Permit::take();
        Argon2::default().verify_password(password.as_bytes(), &h).is_ok()
    })
}

/// Whether `stored` was made with today's algorithm and parameters; if not, the caller hashes
/// the password again once it has been verified.
pub fn is_current(stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        h.algorithm == Algorithm::Argon2id.ident()
            && h.version == Some(Version::V0x13.into())
            && Params::try_from(&h)
                .is_ok_and(|p| (p.m_cost(), p.t_cost(), p.p_cost()) == (MEMORY_KIB, PASSES, LANES))
    })
}

/// A valid hash of no one's password: verifying against it when the user does not exist makes
/// an unknown username take as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy-password-never-used").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("x", "not a hash"));
        assert!(hash("short").is_err());
        assert!(is_current(&h));
    }

    #[test]
    fn hashes_with_other_parameters_verify_and_are_not_current() {
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default().hash_password(b"correct horse battery", &salt).unwrap().to_string();
        assert!(verify("correct horse battery", &old));
        assert!(!is_current(&old));
        assert!(!is_current("not a hash"));
    }
}
