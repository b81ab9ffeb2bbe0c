//! Authentication: users with roles, argon2id passwords, short-lived JWT access tokens and
//! rotating refresh tokens; partner organisations' API clients with client credentials.

pub mod clients;
pub mod extractor;
pub mod keys;
pub mod login;
pub mod password;
pub mod refresh;
pub mod throttle;
pub mod tokens;
pub mod users;

pub use extractor::Caller;
