//! pve-backup-report: a read-only backup coverage report for Proxmox VE and Proxmox Backup Server.
//!
//! The program is a one-way pipeline, one module per stage:
//! `config` → `api` → `collect` → `model` → `coverage` → `render` → `output`.
//! Only [`api`] knows HTTP; the coverage engine is pure; only [`render`] formats output and only
//! [`output`] writes report files. [`run`] wires the stages for the mode the user chose and says
//! how the run ended; `main` turns that into an exit code.

pub(crate) mod api;
pub(crate) mod check;
pub mod cli;
pub(crate) mod collect;
pub mod config;
pub mod coverage;
pub(crate) mod demo;
pub mod exit;
pub mod model;
pub(crate) mod output;
pub mod render;
pub mod schedule;
pub(crate) mod secret;
pub(crate) mod tasklog;
pub(crate) mod upid;

use std::io::Write as _;

use config::{Config, ConfigError, FailOn, Mode, NotesMode};
use coverage::Policy;
use exit::ExitStatus;
use model::Inventory;

/// The one prefix of every error line the program prints, so cron mail and logs can be grepped.
pub const ERROR_PREFIX: &str = "pve-backup-report: error:";

/// How a run that went to its end turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The exit status the verdicts, anomalies and `--fail-on` / `--exit-zero` call for.
    pub status: ExitStatus,
}

/// What stopped a run before it could say anything about backups. Every variant ends the run
/// with [`ExitStatus::Unknown`].
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration (flags, environment, `.env`, policy file) is invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// No input could be opened: a server's client, the recording folder or the demo.
    #[error("{0}")]
    Sources(#[from] collect::SourceError),
    /// Rendering, writing or reading report files failed.
    #[error("{0}")]
    Output(#[from] output::OutputError),
    /// The report data could not be serialized for `--dump-report-data`.
    #[error("cannot serialize the report: {0}")]
    Serialize(#[source] serde_json::Error),
    /// Printing to stdout failed (a closed pipe, a full disk).
    #[error("cannot write the output: {0}")]
    Stdout(#[source] std::io::Error),
}

impl RunError {
    /// The exit status of a run that ended with this error.
    pub fn status(&self) -> ExitStatus {
        ExitStatus::Unknown
    }

    /// Whether the reader of stdout went away (`| head`): not a failure worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, RunError::Stdout(err) if err.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<FailOn> for ExitStatus {
    fn from(level: FailOn) -> ExitStatus {
        match level {
            FailOn::Warning => ExitStatus::Warning,
            FailOn::Critical => ExitStatus::Critical,
            FailOn::Unknown => ExitStatus::Unknown,
        }
    }
}

/// Run the configured mode, print its output to stdout, and say how it ended.
pub async fn run(config: Config) -> Result<Outcome, RunError> {
    let started = std::time::Instant::now();
    // Parsed first, for every mode, so a broken policy is named before any request is sent.
    let policy = policy(&config)?;
    let status = match config.mode {
        Mode::CheckApi => run_check(&config).await?,
        Mode::DumpInventory => {
            let inventory = gather_with(&config, &policy).await?;
            if config.json {
                print_json(&inventory)?;
            } else {
                print_text(&render::inventory::text(&inventory))?;
            }
            exit::collection_status(&inventory)
        }
        Mode::DumpCoverage | Mode::DumpReportData | Mode::Report | Mode::Nagios => {
            let inventory = gather_with(&config, &policy).await?;
            let collected = exit::collection_status(&inventory);
            // The report holds all the outputs need: the inventory is consumed by the
            // assessment, each guest's parsed runs freed as its events are made, and the rest
            // given back before rendering (the run's peak, docs/performance.md).
            let collected_at = inventory.collected_at;
            let report = coverage::assess_owned(inventory, &policy, collected_at);
            let status = collected.max(exit::report_status(&report));
            let status = exit::with_threshold(
                status,
                config.report.fail_on.into(),
                config.report.exit_zero,
            );
            match config.mode {
                Mode::DumpCoverage if !config.json => {
                    print_text(&render::coverage_text::text(&report))?
                }
                Mode::DumpCoverage => print_json(&report)?,
                Mode::DumpReportData => {
                    let drift = output::drift_since_previous(&config.report, &report);
                    let json = render::json::render(&report, drift.as_ref())
                        .map_err(RunError::Serialize)?;
                    print_text(&format!("{json}\n"))?;
                }
                Mode::Nagios => {
                    write_prom_file(&config, &report, started)?;
                    print_text(&format!("{}\n", render::nagios::line(&report, status)))?;
                }
                _ => write_report(&config, &report, started)?,
            }
            status
        }
    };
    Ok(Outcome { status })
}

/// The report run's output: the files (or the one format on stdout for `--output -`), the
/// `--prom-file`, then what a terminal or cron is told about them.
fn write_report(
    config: &Config,
    report: &coverage::report::Report,
    started: std::time::Instant,
) -> Result<(), RunError> {
    let options = &config.report;
    if options.to_stdout {
        // Config allows exactly one format with `--output -`.
        if let Some(format) = options.formats.first() {
            let drift = output::drift_since_previous(options, report);
            let text = output::render_format(*format, report, drift.as_ref(), started.elapsed())?;
            print_text(&text)?;
            if !text.ends_with('\n') {
                print_text("\n")?;
            }
        }
        return write_prom_file(config, report, started);
    }
    let written = output::write_report_files(options, report, started.elapsed())?;
    write_prom_file(config, report, started)?;
    use std::io::IsTerminal;
    // `-q` makes a terminal behave like cron: nothing when all is well.
    let terminal = std::io::stdout().is_terminal() && !options.quiet;
    let said = output::announce(report, &written, terminal);
    for line in &said.stdout {
        print_text(&format!("{line}\n"))?;
    }
    if let Some(line) = said.stderr {
        eprintln!("{line}");
    }
    Ok(())
}

fn write_prom_file(
    config: &Config,
    report: &coverage::report::Report,
    started: std::time::Instant,
) -> Result<(), RunError> {
    if let Some(path) = &config.report.prom_file {
        output::write_prom_file(path, report, started.elapsed())?;
    }
    Ok(())
}

/// The assessment policy: the `--policy` file's, else the defaults; told the history window the
/// collector uses, to say "window shorter than the period".
fn policy(config: &Config) -> Result<Policy, RunError> {
    let mut policy = match &config.report.policy {
        None => Policy::default(),
        Some(file) => {
            Policy::from_json(&file.text).map_err(|err| ConfigError::bad_policy(file, err))?
        }
    };
    policy.history_days = Some(config.collect.history_days);
    Ok(policy)
}

/// Collect the inventory from the configured input (live, recording, replay or demo).
pub async fn gather(config: &Config) -> Result<Inventory, RunError> {
    gather_with(config, &policy(config)?).await
}

/// Collect with the policy that judges the result: it may ask for every guest's notes, and on
/// demand its verdicts decide whose notes are read (a second pass, docs/collection.md).
async fn gather_with(config: &Config, policy: &Policy) -> Result<Inventory, RunError> {
    let wanted = |inventory: &Inventory| notes_wanted(inventory, policy);
    if policy.read_all_notes && config.collect.notes != NotesMode::All {
        let mut config = config.clone();
        config.collect.notes = NotesMode::All;
        return Ok(collect::gather(&config, &wanted).await?);
    }
    Ok(collect::gather(config, &wanted).await?)
}

/// The guests whose notes could change what the report says about them: every guest whose
/// verdict is not covered and fresh. A healthy guest's notes can only annotate it (an exemption
/// it does not need), so they are not worth a request per guest.
fn notes_wanted(
    inventory: &Inventory,
    policy: &Policy,
) -> std::collections::BTreeSet<(String, model::Vmid)> {
    let report = coverage::assess_verdicts(inventory, policy, inventory.collected_at);
    report
        .guests
        .iter()
        .filter(|g| {
            g.coverage != coverage::report::Coverage::Covered
                || g.freshness != coverage::report::Freshness::Ok
        })
        .map(|g| (g.cluster.clone(), g.vmid))
        .collect()
}

fn print_text(text: &str) -> Result<(), RunError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(RunError::Stdout)
}

/// Write pretty JSON to stdout as it is serialized (a 5 000-guest inventory is ~90 MB: no string copy).
fn print_json<T: serde::Serialize>(value: &T) -> Result<(), RunError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out).and_then(|()| out.flush()))
        .map_err(RunError::Stdout)
}

async fn run_check(config: &Config) -> Result<ExitStatus, RunError> {
    let report = check::run(config).await;
    if config.json {
        print_json(&report)?;
    } else {
        print_text(&render::check::text(&report))?;
    }
    Ok(if report.problems == 0 {
        ExitStatus::Ok
    } else {
        ExitStatus::Critical
    })
}
