//! Authentication: users with roles, argon2id passwords, short-lived JWT access tokens and
//! rotating refresh tokens.

pub mod extractor;
pub mod password;
pub mod refresh;
pub mod tokens;
pub mod users;

pub use extractor::Caller;
