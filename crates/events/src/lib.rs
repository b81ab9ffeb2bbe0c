//! The "5+N" escort action: organisations (the "N": agencies, enterprises, charities, media,
//! schools, village committees) and the contracts through which government buys services,
//! volunteers with their safeguarding clearance, teams, and events with their roster of
//! volunteers and the children who attended, in one ledger.

#[macro_use]
extern crate tongxing_core;

pub mod events;
pub mod organisations;
pub mod roster;
pub mod service_forms;
pub mod volunteers;
