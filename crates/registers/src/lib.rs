//! Registers in: the bureau's and partners' spreadsheets of households, guardians and
//! children, read (`sheet`), their columns recognised (`columns`) and cells checked (`cells`),
//! planned row by row in a dry run and committed all or nothing (`imports`); and the template
//! workbook that makes a register easy to fill (`template`).

#[macro_use]
extern crate tongxing_core;

pub mod cells;
pub mod columns;
pub mod imports;
pub mod sheet;
pub mod template;
