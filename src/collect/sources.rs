//! Where the answers come from: build the [`Sources`] for the configured input (live servers, a
//! live run that records, a recording folder, or the built-in demo), run the collection with a
//! status line for a watching person, and save a recording as a by-product.
//!
//! Everything here happens around [`super::collect`]; collection itself never knows which input
//! feeds it.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use super::{collect, NotesWanted, Progress, Sources};
use crate::api::client::ClientSetupError;
use crate::api::redact::{NamesToHide, Pseudonyms};
use crate::api::source::{
    self, Manifest, RecordedServer, Recorder, RecordingError, Replay, Source, RECORDING_FORMAT,
};
use crate::api::{ApiClient, ServerConfig, ServerKind};
use crate::config::{Config, Input};
use crate::model::{self, Inventory, Severity};

/// Why no collection could start. Every other problem becomes an anomaly in the inventory.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A server's HTTP client could not be built (TLS material, credentials).
    #[error("{0}")]
    Client(#[from] ClientSetupError),
    /// The `--replay` folder could not be read.
    #[error("cannot read the recording: {0}")]
    Recording(#[source] RecordingError),
    /// The built-in demo recording is damaged (a build problem, not a user one).
    #[error("cannot read the built-in demo: {0}")]
    Demo(#[source] RecordingError),
}

/// A recording run's servers with the recorder of each.
type Recorders = Vec<(RecordedServer, Arc<Recorder>)>;

/// Collect the inventory from the configured input (live, recording, replay or demo).
pub async fn gather(
    config: &Config,
    notes_wanted: NotesWanted<'_>,
) -> Result<Inventory, SourceError> {
    let (sources, recorders, now) = match &config.input {
        Input::Live | Input::Record { .. } => {
            let record = matches!(config.input, Input::Record { .. });
            let (sources, recorders) = live_sources(config, record)?;
            (sources, recorders, config.now.unwrap_or_else(Utc::now))
        }
        Input::Replay(dir) => {
            let (manifest, replays) =
                source::read_recording(dir).map_err(SourceError::Recording)?;
            let now = config.now.unwrap_or(manifest.recorded_at);
            (replay_sources(replays), Vec::new(), now)
        }
        Input::Demo => {
            let (manifest, replays) = crate::demo::recording().map_err(SourceError::Demo)?;
            let now = config.now.unwrap_or(manifest.recorded_at);
            (replay_sources(replays), Vec::new(), now)
        }
    };
    let progress = Progress::default();
    let status_line = config
        .show_progress
        .then(|| spawn_status_line(progress.clone()));
    let mut inventory = collect(&sources, now, &config.collect, &progress, notes_wanted).await;
    if let Some(handle) = status_line {
        handle.abort();
        // Erase the status line so the next output starts on a clean line.
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

fn live_sources(config: &Config, record: bool) -> Result<(Sources, Recorders), SourceError> {
    let limiter = Arc::new(Semaphore::new(config.max_concurrency));
    let mut recorders = Vec::new();
    let mut sources = Sources::default();
    for server in ServerConfig::all(config) {
        let client = ApiClient::new(&server, limiter.clone())?;
        let source = if record {
            let recorder = Arc::new(Recorder::default());
            recorders.push((
                RecordedServer {
                    kind: server.kind,
                    name: server.name.clone(),
                    host: server.host_port(),
                    file: source::answers_file(server.kind, &server.name),
                    fingerprint: server.pinned_fingerprint(),
                },
                recorder.clone(),
            ));
            Source::Recording(client, recorder)
        } else {
            Source::Live(client)
        };
        match server.kind {
            ServerKind::Pve => sources.pve.push(source),
            ServerKind::Pbs => sources.pbs.push(source),
        }
    }
    Ok((sources, recorders))
}

fn replay_sources(replays: Vec<Arc<Replay>>) -> Sources {
    let mut sources = Sources::default();
    for replay in replays {
        match replay.server().kind {
            ServerKind::Pve => sources.pve.push(Source::Replay(replay)),
            ServerKind::Pbs => sources.pbs.push(Source::Replay(replay)),
        }
    }
    sources
}

/// Redraw one status line on stderr (a terminal) until aborted.
fn spawn_status_line(progress: Progress) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
        loop {
            tick.tick().await;
            // Carriage return plus "erase line": one line redrawn in place, not a scrolling log.
            eprint!("\r\x1b[2K{}", progress.snapshot().line());
        }
    })
}

/// The names `--redact-names` hides: those the inventory holds. Only a run that reached PVE has
/// them (node and guest names, PBS storages' servers, every configured server's host).
fn names_to_hide(inventory: &Inventory) -> NamesToHide {
    if inventory.pve.is_empty() {
        return NamesToHide::default();
    }
    let mut names = NamesToHide::default();
    for pve in &inventory.pve {
        names.hosts.extend(
            pve.storages
                .items
                .iter()
                .filter_map(|s| s.pbs.as_ref().map(|p| p.server.clone())),
        );
        names.hosts.push(pve.host.clone());
        names
            .nodes
            .extend(pve.nodes.items.iter().map(|n| n.name.clone()));
        names
            .guests
            .extend(pve.guests.items.iter().filter_map(|g| g.name.clone()));
    }
    names
        .hosts
        .extend(inventory.pbs.iter().map(|p| p.host.clone()));
    names
}

fn write_recording(
    dir: &Path,
    now: DateTime<Utc>,
    recorders: &[(RecordedServer, Arc<Recorder>)],
    inventory: &Inventory,
    redact_names: bool,
) -> Result<(), RecordingError> {
    let pseudonyms = if redact_names {
        Pseudonyms::for_names(&names_to_hide(inventory))
    } else {
        Pseudonyms::default()
    };
    // Names default to hosts, and files are named after names: both hidden like the hosts.
    let renamed: Vec<(RecordedServer, Arc<Recorder>)> = recorders
        .iter()
        .map(|(server, recorder)| {
            let name = pseudonyms.apply(&server.name);
            let server = RecordedServer {
                host: pseudonyms.apply(&server.host),
                file: source::answers_file(server.kind, &name),
                name,
                ..server.clone()
            };
            (server, recorder.clone())
        })
        .collect();
    let manifest = Manifest {
        format: RECORDING_FORMAT,
        recorded_at: now,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        names_redacted: redact_names,
        servers: renamed.iter().map(|(server, _)| server.clone()).collect(),
    };
    source::write_recording(dir, &manifest, &renamed, &|text| pseudonyms.apply(text))
}
