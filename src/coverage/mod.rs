//! The coverage and evidence engine: the one place where verdicts are decided. Pure functions: no
//! I/O, no clock — `now` comes in as an argument.

pub mod drift;
pub mod report;
