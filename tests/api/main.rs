//! End-to-end tests: the real service over HTTP, on SQLite and on PostgreSQL.
#![expect(clippy::unwrap_used, reason = "a test should fail loudly at the first surprise")]

mod audit_scan;
mod contract;
mod helpers;

mod access;
mod accounts;
mod archive;
mod auth;
mod bad_input;
mod case_records;
mod corpus;
mod counselling;
mod duplicates;
mod edge;
mod events;
mod exports;
mod home_visits;
mod idempotency;
mod imports;
mod instances;
mod languages;
mod nodes;
mod oauth;
mod operations;
mod pairings;
mod property;
mod protection;
mod regions;
mod replica;
mod reports;
mod review;
mod round_trips;
mod rules;
mod scope;
