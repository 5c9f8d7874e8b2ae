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
    match config.mode {
        Mode::CheckApi => run_check(&config).await,
        Mode::DumpInventory => match gather(&config).await {
            Ok(inventory) => {
                if config.json {
                    print_json(&inventory)
                } else {
                    print!("{}", render::inventory::text(&inventory));
                    ExitStatus::Ok
                }
                .max(collection_status(&inventory))
            }
            Err(message) => fail(&message),
        },
        Mode::Report => fail(
            "the coverage report is not implemented yet in this version; use --dump-inventory or --check-api",
        ),
    }
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

/// Unknown when collection met a critical problem, warning for warnings.
fn collection_status(inventory: &Inventory) -> ExitStatus {
    let worst = inventory.anomalies.iter().map(|a| a.severity).min();
    match worst {
        Some(Severity::Critical) => ExitStatus::Unknown,
        Some(Severity::Warning) => ExitStatus::Warning,
        _ => ExitStatus::Ok,
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
    match &config.input {
        Input::Live => {
            let (sources, _) = live_sources(config, false)?;
            let now = config.now.unwrap_or_else(Utc::now);
            Ok(collect::collect(&sources, now, &config.collect).await)
        }
        Input::Record { dir, redact_names } => {
            let (sources, recorders) = live_sources(config, true)?;
            let now = config.now.unwrap_or_else(Utc::now);
            let inventory = collect::collect(&sources, now, &config.collect).await;
            write_recording(dir, now, &recorders, &inventory, *redact_names)
                .map_err(|e| e.to_string())?;
            eprintln!(
                "recorded {} server(s) into {}",
                recorders.len(),
                dir.display()
            );
            Ok(inventory)
        }
        Input::Replay(dir) => {
            let (manifest, replays) = source::read_recording(dir).map_err(|e| e.to_string())?;
            let now = config.now.unwrap_or(manifest.recorded_at);
            let sources = replay_sources(&manifest, replays);
            Ok(collect::collect(&sources, now, &config.collect).await)
        }
        Input::Demo => {
            let (manifest, replays) = demo::recording().map_err(|e| e.to_string())?;
            let now = config.now.unwrap_or(manifest.recorded_at);
            let sources = replay_sources(&manifest, replays);
            Ok(collect::collect(&sources, now, &config.collect).await)
        }
    }
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
