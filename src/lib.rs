//! pve-backup-report: a read-only backup coverage report for Proxmox VE and Proxmox Backup Server.
//!
//! The program is a one-way pipeline, one module per stage:
//! `config` → `api` → `collect` → `model` → `coverage` → `render`.
//! Only [`api`] knows HTTP; the coverage engine is pure; only [`render`] formats output.
//! [`run`] wires the stages for the mode the user chose.

pub mod api;
pub mod check;
pub mod cli;
pub mod collect;
pub mod config;
pub mod coverage;
pub mod demo;
pub mod exit;
pub mod model;
pub mod output;
pub mod render;
pub mod schedule;
pub mod secret;
pub mod tasklog;
pub mod upid;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use api::redact::Pseudonyms;
use api::source::{self, Manifest, RecordedServer, Recorder, Source, RECORDING_FORMAT};
use api::ApiClient;
use collect::Sources;
use config::{Config, Input, Mode, ServerConfig};
use exit::ExitStatus;
use model::{Inventory, Severity};

/// Run the configured mode, print its output to stdout, and say how it ended.
pub async fn run(config: Config) -> ExitStatus {
    let started = std::time::Instant::now();
    match config.mode {
        Mode::CheckApi => run_check(&config).await,
        Mode::DumpInventory => match gather(&config).await {
            Ok(inventory) => if config.json {
                print_json(&inventory)
            } else {
                print!("{}", render::inventory::text(&inventory));
                ExitStatus::Ok
            }
            .max(exit::collection_status(&inventory)),
            Err(message) => fail(&message),
        },
        Mode::DumpCoverage | Mode::DumpReportData | Mode::Report => {
            let inventory = match gather(&config).await {
                Ok(inventory) => inventory,
                Err(message) => return fail(&message),
            };
            let report =
                coverage::assess(&inventory, &config.report.policy, inventory.collected_at);
            let status = exit::collection_status(&inventory).max(exit::report_status(&report));
            let printed = match config.mode {
                Mode::DumpCoverage if !config.json => {
                    print!("{}", render::coverage_text::text(&report));
                    ExitStatus::Ok
                }
                Mode::DumpCoverage => print_json(&report),
                Mode::DumpReportData => {
                    let drift = previous_report(&config, &report)
                        .map(|previous| coverage::drift::drift(&previous, &report));
                    match render::json::render(&report, drift.as_ref()) {
                        Ok(json) => {
                            println!("{json}");
                            ExitStatus::Ok
                        }
                        Err(err) => fail(&format!("cannot serialize the report: {err}")),
                    }
                }
                _ => write_report_files(&config, &report, started.elapsed()),
            };
            if printed == ExitStatus::Unknown {
                return printed;
            }
            exit::with_threshold(status, config.report.fail_on, config.report.exit_zero)
        }
    }
}

/// The previous report for the drift section: `--previous`, else the newest earlier JSON report in
/// the output directory. An unreadable one is reported and skipped: drift is a nicety.
fn previous_report(config: &Config, report: &coverage::Report) -> Option<coverage::Report> {
    let path = match &config.report.previous {
        Some(path) => path.clone(),
        None => {
            output::find_previous_json(&config.report.output_dir, report.generated_at.date_naive())?
        }
    };
    match output::read_report_json(&path) {
        Ok(previous) => Some(previous),
        Err(err) => {
            tracing::warn!("no comparison with the previous report: {err}");
            None
        }
    }
}

/// Render every requested format and write the files atomically; say where they are.
fn write_report_files(
    config: &Config,
    report: &coverage::Report,
    elapsed: std::time::Duration,
) -> ExitStatus {
    use std::io::IsTerminal;
    let drift =
        previous_report(config, report).map(|previous| coverage::drift::drift(&previous, report));
    let mut rendered: Vec<(output::Format, String)> = Vec::new();
    for format in &config.report.formats {
        let text = match format {
            output::Format::Html => {
                render::html::render(report, drift.as_ref()).map_err(|e| e.to_string())
            }
            output::Format::Markdown => {
                render::markdown::render(report, drift.as_ref()).map_err(|e| e.to_string())
            }
            output::Format::Json => {
                render::json::render(report, drift.as_ref()).map_err(|e| e.to_string())
            }
            output::Format::Prometheus => Ok(render::prometheus::render(report, Some(elapsed))),
        };
        match text {
            Ok(text) => rendered.push((*format, text)),
            Err(err) => {
                return fail(&format!(
                    "cannot render the {} report: {err}",
                    format.extension()
                ))
            }
        }
    }
    let borrowed: Vec<(output::Format, &str)> =
        rendered.iter().map(|(f, t)| (*f, t.as_str())).collect();
    let written = match output::write_reports(
        &config.report.output_dir,
        report.generated_at,
        &borrowed,
        config.report.keep,
    ) {
        Ok(written) => written,
        Err(err) => return fail(&err.to_string()),
    };
    let s = &report.summary;
    let headline = format!(
        "{} guests: {} covered, {} partial, {} disabled-only, {} not covered, {} indeterminate; {} stale, {} failed, {} never",
        s.guests, s.covered, s.partial, s.disabled_only, s.not_covered, s.indeterminate, s.stale, s.failed, s.never
    );
    if std::io::stdout().is_terminal() {
        println!("{headline}");
        for path in &written {
            println!("wrote {}", path.display());
        }
    } else if exit::report_status(report) > ExitStatus::Ok {
        // Under cron only what matters reaches the mail: a line when something needs attention.
        eprintln!(
            "pve-backup-report: {headline}; see {}",
            written
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    ExitStatus::Ok
}

fn fail(message: &str) -> ExitStatus {
    eprintln!("error: {message}");
    ExitStatus::Unknown
}

/// Write pretty JSON to stdout as it is serialized (a 5 000-guest inventory is ~90 MB: no string copy).
fn print_json<T: serde::Serialize>(value: &T) -> ExitStatus {
    use std::io::Write as _;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(|err| err.to_string())
        .and_then(|()| {
            writeln!(out)
                .and_then(|()| out.flush())
                .map_err(|err| err.to_string())
        });
    match written {
        Ok(()) => ExitStatus::Ok,
        Err(err) => fail(&format!("cannot write the output: {err}")),
    }
}

async fn run_check(config: &Config) -> ExitStatus {
    let report = check::run(config).await;
    let status = if config.json {
        print_json(&report)
    } else {
        print!("{}", render::check::text(&report));
        ExitStatus::Ok
    };
    if report.problems == 0 {
        status
    } else {
        ExitStatus::Critical.max(status)
    }
}

/// A recording run's servers with the recorder of each.
type Recorders = Vec<(RecordedServer, Arc<Recorder>)>;

fn live_sources(config: &Config, record: bool) -> Result<(Sources, Recorders), String> {
    let limiter = Arc::new(Semaphore::new(config.max_concurrency));
    let mut recorders = Vec::new();
    let mut make = |server: &ServerConfig| -> Result<Source, String> {
        let client = ApiClient::new(server, limiter.clone()).map_err(|e| e.to_string())?;
        if record {
            let recorder = Arc::new(Recorder::default());
            recorders.push((
                RecordedServer {
                    kind: server.kind,
                    name: server.name.clone(),
                    host: server.host_port(),
                    file: source::answers_file(server.kind, &server.name),
                },
                recorder.clone(),
            ));
            Ok(Source::Recording(client, recorder))
        } else {
            Ok(Source::Live(client))
        }
    };
    let pve = config.pve.as_ref().map(&mut make).transpose()?;
    let pbs = config
        .pbs
        .iter()
        .map(&mut make)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Sources { pve, pbs }, recorders))
}

fn replay_sources(manifest: &Manifest, replays: Vec<Arc<source::Replay>>) -> Sources {
    let mut sources = Sources::default();
    for replay in replays {
        match replay.server().kind {
            config::ServerKind::Pve if sources.pve.is_none() => {
                sources.pve = Some(Source::Replay(replay))
            }
            config::ServerKind::Pve => {
                tracing::warn!(
                    "recording {} holds more than one PVE server; using the first",
                    manifest.recorded_at
                )
            }
            config::ServerKind::Pbs => sources.pbs.push(Source::Replay(replay)),
        }
    }
    sources
}

/// Collect the inventory from the configured input (live, recording, replay or demo).
pub async fn gather(config: &Config) -> Result<Inventory, String> {
    let (sources, recorders, now) = match &config.input {
        Input::Live | Input::Record { .. } => {
            let record = matches!(config.input, Input::Record { .. });
            let (sources, recorders) = live_sources(config, record)?;
            (sources, recorders, config.now.unwrap_or_else(Utc::now))
        }
        Input::Replay(dir) => {
            let (manifest, replays) = source::read_recording(dir).map_err(|e| e.to_string())?;
            let now = config.now.unwrap_or(manifest.recorded_at);
            (replay_sources(&manifest, replays), Vec::new(), now)
        }
        Input::Demo => {
            let (manifest, replays) = demo::recording().map_err(|e| e.to_string())?;
            let now = config.now.unwrap_or(manifest.recorded_at);
            (replay_sources(&manifest, replays), Vec::new(), now)
        }
    };
    let progress = collect::Progress::default();
    let status_line = config
        .show_progress
        .then(|| spawn_status_line(progress.clone()));
    let mut inventory = collect::collect(&sources, now, &config.collect, &progress).await;
    if let Some(handle) = status_line {
        handle.abort();
        eprint!("\r\x1b[2K");
    }
    if let Input::Record { dir, redact_names } = &config.input {
        // The recording is a by-product: failing to save it must not cost the report.
        match write_recording(dir, now, &recorders, &inventory, *redact_names) {
            Ok(()) => eprintln!(
                "recorded {} server(s) into {}",
                recorders.len(),
                dir.display()
            ),
            Err(err) => {
                inventory.anomalies.push(model::Anomaly::new(
                    Severity::Warning,
                    "recording",
                    "the recording could not be written",
                    format!("{err}. Fix: give --record a writable directory"),
                ));
                inventory.normalize();
            }
        }
    }
    Ok(inventory)
}

/// Redraw one status line on stderr (a terminal) until aborted.
fn spawn_status_line(progress: collect::Progress) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
        loop {
            tick.tick().await;
            eprint!("\r\x1b[2K{}", progress.snapshot().line());
        }
    })
}

fn write_recording(
    dir: &Path,
    now: DateTime<Utc>,
    recorders: &[(RecordedServer, Arc<Recorder>)],
    inventory: &Inventory,
    redact_names: bool,
) -> Result<(), source::RecordingError> {
    let pseudonyms = if redact_names {
        let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(pve) = &inventory.pve {
            names.insert(
                "node".into(),
                pve.nodes.items.iter().map(|n| n.name.clone()).collect(),
            );
            names.insert(
                "guest".into(),
                pve.guests
                    .items
                    .iter()
                    .filter_map(|g| g.name.clone())
                    .collect(),
            );
            let mut hosts: Vec<String> = pve
                .storages
                .items
                .iter()
                .filter_map(|s| s.pbs.as_ref().map(|p| p.server.clone()))
                .collect();
            hosts.push(host_only(&pve.host));
            hosts.extend(inventory.pbs.iter().map(|p| host_only(&p.host)));
            names.insert("host".into(), hosts);
        }
        Pseudonyms::new(&names)
    } else {
        Pseudonyms::default()
    };
    let servers: Vec<RecordedServer> = recorders
        .iter()
        .map(|(server, _)| RecordedServer {
            host: pseudonyms.apply(&server.host),
            ..server.clone()
        })
        .collect();
    let manifest = Manifest {
        format: RECORDING_FORMAT,
        recorded_at: now,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        names_redacted: redact_names,
        servers,
    };
    source::write_recording(dir, &manifest, recorders, &|text| pseudonyms.apply(text))
}

fn host_only(host_port: &str) -> String {
    match host_port.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
            host.trim_matches(['[', ']']).to_string()
        }
        _ => host_port.to_string(),
    }
}
