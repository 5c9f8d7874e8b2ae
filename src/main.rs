//! Command-line entry point: env file, logging, argument parsing, run, exit code.
//!
//! Every error line starts with [`ERROR_PREFIX`], whichever stage it comes from. With `--nagios`
//! an error that stops the run also becomes an `UNKNOWN - …` plugin line on stdout, since a
//! monitoring system reads only stdout. A reader that closes stdout early (`| head`) ends the run
//! quietly with [`BROKEN_PIPE_EXIT`].

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use pve_backup_report::cli::{self, Cli, CliError};
use pve_backup_report::config::{self, Config};
use pve_backup_report::exit::ExitStatus;
use pve_backup_report::render::nagios;
use pve_backup_report::{RunError, ERROR_PREFIX};

/// What a shell reports for a process killed by SIGPIPE (128 + 13): the exit code scripts with
/// `set -o pipefail` already expect when a reader stops early.
const BROKEN_PIPE_EXIT: u8 = 141;

/// Async worker threads (and the cap on blocking threads: name lookups, file writes).
const WORKER_THREADS: usize = 2;

/// jemalloc, built to purge freed pages at once (`.cargo/config.toml`): the run's memory peaks
/// come and go in phases (PBS snapshot lists, then the report), and glibc kept what one phase freed.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // Before clap: a flag anywhere on the line decides how errors must look on stdout.
    let nagios = args.iter().any(|a| a == "--nagios");
    // Existing environment variables win over the file; flags win over both (clap's env fallback).
    let from_variable = std::env::var(cli::ENV_FILE_VARIABLE).ok();
    let env_file = match cli::find_env_file(&args, from_variable.as_deref(), Path::exists) {
        Ok(found) => found,
        Err(err) => return fail(nagios, &err),
    };
    if let Some((path, origin)) = &env_file {
        if let Err(err) = dotenvy::from_path(path) {
            return fail(
                nagios,
                &format!(
                    "cannot read the env file {} ({}): {err}",
                    path.display(),
                    origin.label()
                ),
            );
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
    if let Some(what) = &cli.generate {
        return match cli::generate(what, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(CliError::Write { source, .. })
                if source.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                ExitCode::from(BROKEN_PIPE_EXIT)
            }
            Err(err) => fail(false, &err),
        };
    }
    init_logging(&cli);
    if let Some((path, origin)) = &env_file {
        tracing::debug!("read settings from {} ({})", path.display(), origin.label());
    }
    let env: BTreeMap<String, String> = std::env::vars().collect();
    for unknown in config::unknown_variables(&env, &cli::known_variables()) {
        // The name only: the value may be a secret.
        match unknown.suggestion {
            Some(known) => tracing::warn!(
                "{} is not a setting and is ignored; did you mean {known}?",
                unknown.name
            ),
            None => tracing::warn!("{} is not a setting and is ignored", unknown.name),
        }
    }
    let mut config = match Config::resolve(&cli, &env) {
        Ok(config) => config,
        Err(err) => return fail(nagios, &RunError::from(err)),
    };
    // A status line only where a person watches; cron gets nothing but what matters.
    config.show_progress = !cli.quiet && std::io::stderr().is_terminal();
    // Two workers whatever the core count: the work is waiting on answers (at most a handful in
    // flight) plus some parsing, and every extra thread that allocates gets its own glibc malloc
    // arena, which keeps freed answer bodies and log pages resident (peak RSS, issue #10).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .max_blocking_threads(WORKER_THREADS)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(nagios, &format!("cannot start the async runtime: {err}")),
    };
    match runtime.block_on(pve_backup_report::run(config)) {
        Ok(outcome) => ExitCode::from(outcome.status.code()),
        Err(err) if err.is_broken_pipe() => ExitCode::from(BROKEN_PIPE_EXIT),
        Err(err) => {
            if nagios {
                print_plugin_line(&format!("{err}"));
            }
            eprintln!("{ERROR_PREFIX} {err}");
            ExitCode::from(err.status().code())
        }
    }
}

/// Print an error that stops the run before it starts, and exit "unknown".
fn fail(nagios: bool, message: &dyn std::fmt::Display) -> ExitCode {
    if nagios {
        print_plugin_line(&message.to_string());
    }
    eprintln!("{ERROR_PREFIX} {message}");
    ExitCode::from(ExitStatus::Unknown.code())
}

/// The `UNKNOWN - …` line; a closed stdout leaves only the stderr line, which is all there is left.
fn print_plugin_line(message: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", nagios::error_line(message)).and_then(|()| out.flush());
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
