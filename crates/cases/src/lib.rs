//! Case records: the region tree, households and guardians, children and the case-file
//! lifecycle, assessments over four dimensions, case-work contacts and guardian consents.
//!
//! Each module owns its types (with their OpenAPI schemas), its rules as pure functions tested
//! beside them, and its queries. Every function that touches storage takes a connection, so
//! that the caller decides the transaction.

#[macro_use]
extern crate tongxing_core;

pub mod assessments;
pub mod children;
pub mod consents;
pub mod contacts;
pub mod duplicates;
pub mod households;
pub mod lifecycle;
pub mod merges;
pub mod regions;
pub mod scope;
pub mod similarity;
pub mod util;

pub use tongxing_core::record::Versioned;
