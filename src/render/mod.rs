//! Output: everything the user reads is formatted here, from values the earlier stages decided.

pub mod check;
pub mod inventory;
