//! Domain types for the copies a PBS makes of its snapshots elsewhere: sync jobs (pull and push),
//! the remotes they name, tape backup jobs and the snapshots the tape catalog holds
//! (copies-and-evolution.md A1–A5). Each list carries its completeness: a token without
//! `Remote.Audit` / `Tape.Audit` gets empty lists without an error.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{BackupType, Observed};

/// What one PBS server says about copies of backups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopyInventory {
    /// Sync jobs of both directions, sorted by id.
    pub sync_jobs: Observed<SyncJob>,
    /// Remotes, sorted by name.
    pub remotes: Observed<Remote>,
    /// Tape backup jobs, sorted by id.
    pub tape_jobs: Observed<TapeJob>,
    /// Snapshots on tape, sorted by (store, namespace, type, id, time, media set).
    pub tape_content: Observed<TapeCopy>,
}

impl CopyInventory {
    /// Nothing read (no server answer to build on).
    pub fn unavailable(reason: &str) -> CopyInventory {
        CopyInventory {
            sync_jobs: Observed::unavailable(reason),
            remotes: Observed::unavailable(reason),
            tape_jobs: Observed::unavailable(reason),
            tape_content: Observed::unavailable(reason),
        }
    }

    /// Nothing there, and the lists are known to be complete (tests and servers without copies).
    pub fn none() -> CopyInventory {
        CopyInventory {
            sync_jobs: Observed::complete(Vec::new()),
            remotes: Observed::complete(Vec::new()),
            tape_jobs: Observed::complete(Vec::new()),
            tape_content: Observed::complete(Vec::new()),
        }
    }
}

/// Direction of a sync job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncDirection {
    /// Configured on the target: reads the remote (or another local store) into `store`.
    Pull,
    /// Configured on the source: writes `store` to the remote.
    Push,
}

/// A sync job as PBS configures it; `store`/`ns` are always the local side (the target of a
/// pull, the source of a push).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncJob {
    /// Job id.
    pub id: String,
    /// Pull or push (absent on the wire = pull).
    pub direction: SyncDirection,
    /// A direction this version does not know: the job is shown but selects nothing.
    pub unknown_direction: Option<String>,
    /// Local datastore.
    pub store: String,
    /// Local namespace anchor ("" = root).
    pub ns: String,
    /// Remote id; `None` = a local sync between two datastores of this server.
    pub remote: Option<String>,
    /// The other datastore (on the remote, or local for a local sync).
    pub remote_store: Option<String>,
    /// Namespace anchor on the other side ("" = root).
    pub remote_ns: String,
    /// Levels below the source anchor; `None` = all.
    pub max_depth: Option<u64>,
    /// Group filters, verbatim.
    pub group_filter: Vec<String>,
    /// Only the newest N snapshots per group.
    pub transfer_last: Option<u64>,
    /// Only snapshots verified ok on the source.
    pub verified_only: bool,
    /// Only fully encrypted snapshots.
    pub encrypted_only: bool,
    /// Schedule (None: manual or mount-triggered only).
    pub schedule: Option<String>,
    /// State of the last run (`OK`, `WARNINGS: n`, error text).
    pub last_run_state: Option<String>,
    /// Start of the last run (from its UPID).
    pub last_run_start: Option<DateTime<Utc>>,
    /// End of the last run.
    pub last_run_end: Option<DateTime<Utc>>,
    /// Next run.
    pub next_run: Option<DateTime<Utc>>,
    /// Comment.
    pub comment: Option<String>,
}

/// A remote PBS as one server knows it (never its password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remote {
    /// Remote id.
    pub name: String,
    /// Host name or address.
    pub host: Option<String>,
    /// Port (8007 when not set).
    pub port: u16,
    /// Pinned certificate fingerprint.
    pub fingerprint: Option<String>,
    /// The auth id the remote is read or written with.
    pub auth_id: Option<String>,
}

/// A tape backup job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TapeJob {
    /// Job id.
    pub id: String,
    /// Datastore written to tape.
    pub store: String,
    /// Media pool.
    pub pool: Option<String>,
    /// Namespace anchor ("" = root).
    pub ns: String,
    /// Levels below the anchor; `None` = all.
    pub max_depth: Option<u64>,
    /// Group filters, verbatim.
    pub group_filter: Vec<String>,
    /// Only the newest finished snapshot per group.
    pub latest_only: bool,
    /// Schedule.
    pub schedule: Option<String>,
    /// State of the last run.
    pub last_run_state: Option<String>,
    /// Start of the last run (from its UPID).
    pub last_run_start: Option<DateTime<Utc>>,
    /// End of the last run.
    pub last_run_end: Option<DateTime<Utc>>,
    /// Next run.
    pub next_run: Option<DateTime<Utc>>,
}

/// A snapshot found in the tape catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TapeCopy {
    /// Datastore the snapshot was read from.
    pub store: String,
    /// Namespace ("" = root).
    pub namespace: String,
    /// `vm`, `ct`, `host`.
    pub backup_type: BackupType,
    /// Backup id.
    pub backup_id: String,
    /// Backup time.
    pub time: DateTime<Utc>,
    /// Media set name (or uuid when unnamed).
    pub media_set: Option<String>,
    /// Media pool.
    pub pool: Option<String>,
    /// Label of the medium.
    pub label: Option<String>,
}
