//! The demo recording built into the binary (`--demo`): a small cluster with every interesting
//! case, recorded from the project's simulator (`cargo run --example pve-sim -- record-demo`), so a
//! new user sees a full run with no server and no configuration.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use crate::api::source::{replay_from_lines, Manifest, RecordingError, Replay, RECORDING_FORMAT};

const MANIFEST: &str = include_str!("recording/manifest.json");

/// Answer files of the demo, by the names the manifest uses.
const FILES: &[(&str, &str)] = &[
    (
        "pve-pve1.example.com.jsonl",
        include_str!("recording/pve-pve1.example.com.jsonl"),
    ),
    (
        "pbs-backup.jsonl",
        include_str!("recording/pbs-backup.jsonl"),
    ),
];

/// The demo's manifest and one replay per recorded server.
pub(crate) fn recording() -> Result<(Manifest, Vec<Arc<Replay>>), RecordingError> {
    let origin = Path::new("(built-in demo)");
    let manifest: Manifest =
        serde_json::from_str(MANIFEST).map_err(|e| RecordingError::Format {
            path: origin.to_path_buf(),
            detail: e.to_string(),
        })?;
    if manifest.format != RECORDING_FORMAT {
        return Err(RecordingError::Format {
            path: origin.to_path_buf(),
            detail: format!("format {}", manifest.format),
        });
    }
    let mut replays = Vec::new();
    for server in &manifest.servers {
        let Some((_, text)) = FILES.iter().find(|(name, _)| *name == server.file) else {
            return Err(RecordingError::Format {
                path: origin.to_path_buf(),
                detail: format!("{} is not built in", server.file),
            });
        };
        replays.push(Arc::new(replay_from_lines(
            server.clone(),
            Cursor::new(*text),
            origin,
        )?));
    }
    Ok((manifest, replays))
}
