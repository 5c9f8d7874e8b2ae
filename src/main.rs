//! Command-line entry point: environment, logging, argument parsing, run, exit code.
//!
//! Every error line starts with [`ERROR_PREFIX`], whichever stage it comes from.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use pve_backup_report::cli::{env_file_from_args, Cli};
use pve_backup_report::config::Config;
use pve_backup_report::exit::ExitStatus;
use pve_backup_report::{RunError, ERROR_PREFIX};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // Existing environment variables win over the file; flags win over both (clap's env fallback).
    match env_file_from_args(&args) {
        Some(path) => {
            if let Err(err) = dotenvy::from_path(&path) {
                return fail(&format!("cannot read --env-file {}: {err}", path.display()));
            }
        }
        None => {
            let _ = dotenvy::dotenv();
        }
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(ExitStatus::Unknown.code()),
            };
        }
    };
    init_logging(&cli);
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let mut config = match Config::resolve(&cli, &env) {
        Ok(config) => config,
        Err(err) => return fail(&RunError::from(err)),
    };
    // A status line only where a person watches; cron gets nothing but what matters.
    config.show_progress = !cli.quiet && std::io::stderr().is_terminal();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    match runtime.block_on(pve_backup_report::run(config)) {
        Ok(outcome) => ExitCode::from(outcome.status.code()),
        Err(err) => {
            eprintln!("{ERROR_PREFIX} {err}");
            ExitCode::from(err.status().code())
        }
    }
}

/// Print an error that stops the run before it starts, and exit "unknown".
fn fail(message: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{ERROR_PREFIX} {message}");
    ExitCode::from(ExitStatus::Unknown.code())
}

fn init_logging(cli: &Cli) {
    let default = if cli.quiet {
        "error"
    } else {
        match cli.verbose {
            0 => "warn",
            1 => "pve_backup_report=debug,warn",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
