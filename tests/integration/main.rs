//! Integration tests: the real binary against the project's PVE/PBS simulator on loopback.

// Tests may panic on a broken fixture: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/sim/mod.rs"]
mod sim;

mod support;

mod cache;
mod check_api;
mod cli;
mod clusters;
mod collection;
mod evidence;
mod faults;
mod foundation;
mod golden;
mod notes;
mod offsite;
mod report;
mod restore;
mod simulator;
mod try_it;
