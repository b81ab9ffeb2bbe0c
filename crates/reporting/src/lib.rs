//! The programmes' figures, computed by the database by the definitions in the domain notes, for
//! any period (Asia/Shanghai dates, inclusive) and any part of the region tree. Each report is
//! a bounded number of queries, whatever the volume.

pub mod assessments;
pub mod compliance;
pub mod csv;
pub mod events;
pub mod exports;
pub mod reference;
pub mod scope;
pub mod summary;
pub mod suppression;
pub mod xlsx;
