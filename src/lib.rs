//! pve-backup-report: a read-only backup coverage report for Proxmox VE and Proxmox Backup Server.
//!
//! The program is a one-way pipeline, one module per stage:
//! `config` → `api` → `collect` → `model` → `coverage` → `render`.
//! Only [`api`] knows HTTP; the coverage engine is pure; only [`render`] formats output.

pub mod api;
pub mod check;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod exit;
pub mod model;
pub mod render;
pub mod schedule;
pub mod secret;
pub mod tasklog;
pub mod upid;

use config::{Config, Mode};
use exit::ExitStatus;

/// Run the configured mode, print its output to stdout, and say how it ended.
pub async fn run(config: Config) -> ExitStatus {
    match config.mode {
        Mode::Report => {
            eprintln!(
                "error: the coverage report is not implemented yet in this version; run with --check-api to diagnose the API access"
            );
            ExitStatus::Unknown
        }
        Mode::CheckApi => {
            let report = check::run(&config).await;
            if config.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(err) => {
                        eprintln!("error: cannot serialize the check result: {err}");
                        return ExitStatus::Unknown;
                    }
                }
            } else {
                print!("{}", render::check::text(&report));
            }
            if report.problems == 0 {
                ExitStatus::Ok
            } else {
                ExitStatus::Critical
            }
        }
    }
}
