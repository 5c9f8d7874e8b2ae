//! pve-backup-report: a read-only backup coverage report for Proxmox VE and Proxmox Backup Server.
//!
//! The program is a one-way pipeline, one module per stage:
//! `config` → `api` → `collect` → `model` → `coverage` → `render`.
//! Only [`api`] knows HTTP; the coverage engine is pure; only `render` formats output.

pub mod api;
pub mod cli;
pub mod config;
pub mod secret;
