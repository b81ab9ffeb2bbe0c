//! The "1+1" care-and-comfort programme: mentors, their one-to-one pairings with children, the
//! contacts between each pair, and the cadence rules (one contact a month, one commemorative
//! outing a year) checked per pair and per period.
//!
//! The rule logic is the pure function in [`cadence`]; [`compliance`] feeds it from storage and
//! computes the alert list in the database.

#[macro_use]
extern crate tongxing_core;

pub mod cadence;
pub mod compliance;
pub mod contacts;
pub mod counselling;
pub mod holidays;
pub mod home_visits;
pub mod kinds;
pub mod mentors;
pub mod pairings;
pub mod rules;
pub mod tallies;
