//! Authentication: users with roles, argon2id passwords, short-lived JWT access tokens and
//! rotating refresh tokens; partner organisations' API clients with client credentials.

//!
//! The stores and policies live in `tongxing-accounts`; this module adds what HTTP needs: the
//! extractor that turns a bearer token into a caller, and the login flow run off the workers.

pub mod extractor;

pub use tongxing_accounts::{clients, keys, login, password, refresh, throttle, tokens, users};

pub use extractor::Caller;
