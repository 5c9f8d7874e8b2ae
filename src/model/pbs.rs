//! Domain types for what PBS reports: datastores, usage, namespaces, snapshots, jobs.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::Serialize;

use super::{BackupType, CopyInventory, Observed};

/// Everything collected from one PBS server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PbsInventory {
    /// Configured name.
    pub name: String,
    /// `host:port`.
    pub host: String,
    /// The certificate fingerprint this server is pinned to in the configuration (`AB:CD:…`),
    /// when it is checked by pin; a remote naming it is this server whatever its address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Version (`3.2.4`).
    pub version: Option<String>,
    /// Datastores, sorted by name.
    pub datastores: Observed<Datastore>,
    /// Verify jobs, sorted by id.
    pub verify_jobs: Observed<PbsJob>,
    /// Prune jobs, sorted by id.
    pub prune_jobs: Observed<PbsJob>,
    /// Sync jobs, sorted by id.
    pub sync_jobs: Observed<PbsJob>,
    /// Copies elsewhere: sync jobs of both directions, remotes, tape jobs and tape content.
    pub copies: CopyInventory,
    /// Backup-reader sessions (`reader` tasks) in the history window, newest first: restores,
    /// client downloads and remotes' pull syncs alike, so shown as reads, never as restores.
    pub reads: Observed<PbsRead>,
}

impl PbsInventory {
    /// A server nothing could be read from: every list unavailable for `reason`.
    pub fn unavailable(
        name: String,
        host: String,
        fingerprint: Option<String>,
        reason: &str,
    ) -> PbsInventory {
        PbsInventory {
            name,
            host,
            fingerprint,
            version: None,
            datastores: Observed::unavailable(reason),
            verify_jobs: Observed::unavailable(reason),
            prune_jobs: Observed::unavailable(reason),
            sync_jobs: Observed::unavailable(reason),
            copies: CopyInventory::unavailable(reason),
            reads: Observed::unavailable(reason),
        }
    }
}

/// A PBS `reader` task: someone opened a snapshot for reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PbsRead {
    /// The datastore.
    pub store: String,
    /// `vm`, `ct`, `host`.
    pub backup_type: BackupType,
    /// Backup id (the VMID for PVE guests).
    pub backup_id: String,
    /// The snapshot read.
    pub snapshot_time: DateTime<Utc>,
    /// When the session started.
    pub time: DateTime<Utc>,
    /// The task's UPID.
    pub upid: String,
    /// The auth id that read.
    pub user: String,
    /// Final status (`OK`, an error); None while running.
    pub status: Option<String>,
}

/// One datastore with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datastore {
    /// Datastore name.
    pub name: String,
    /// Comment.
    pub comment: Option<String>,
    /// Usage, when readable.
    pub usage: Option<DatastoreUsage>,
    /// Last garbage collection, when readable.
    pub gc: Option<GcStatus>,
    /// Namespaces (root = ""), sorted.
    pub namespaces: Observed<String>,
    /// Snapshots over all namespaces, sorted by (namespace, type, id, time).
    pub snapshots: Observed<Snapshot>,
    /// Maintenance mode type (`read-only`, `offline`, `unmount`, `delete`, `s3-refresh`, …;
    /// None: none).
    pub maintenance: Option<String>,
    /// A removable datastore that is not mounted.
    pub unmounted: bool,
    /// S3-backed: its usage numbers describe the local cache disk, not the bucket.
    pub s3: bool,
}

/// Datastore usage from `/status/datastore-usage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatastoreUsage {
    /// Total bytes.
    pub total: Option<u64>,
    /// Used bytes.
    pub used: Option<u64>,
    /// Available bytes.
    pub avail: Option<u64>,
    /// Estimated full date (None: unknown or never — see `never_full`).
    pub estimated_full: Option<DateTime<Utc>>,
    /// PBS said "never" (`estimated-full-date` 0: usage is flat).
    pub never_full: bool,
    /// An error PBS reported for this datastore.
    pub error: Option<String>,
}

/// Garbage collection status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GcStatus {
    /// GC schedule.
    pub schedule: Option<String>,
    /// State of the last run (`OK`, error text, …).
    pub last_run_state: Option<String>,
    /// End of the last run.
    pub last_run_end: Option<DateTime<Utc>>,
    /// Next scheduled run.
    pub next_run: Option<DateTime<Utc>>,
    /// Bytes removed by the last run.
    pub removed_bytes: Option<u64>,
    /// Bytes pending removal.
    pub pending_bytes: Option<u64>,
}

/// Verification state of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyState {
    /// Verified successfully.
    Ok,
    /// Verification failed: the snapshot may be corrupt.
    Failed,
    /// A state this version does not know.
    Other(String),
}

/// One snapshot, keyed by (datastore, namespace, type, id, time) — never by id alone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Snapshot {
    /// Namespace ("" = root); one shared copy per namespace (~130 000 snapshots in one).
    pub namespace: Arc<str>,
    /// `vm`, `ct`, `host`.
    pub backup_type: BackupType,
    /// Backup id (the VMID for PVE guests).
    pub backup_id: CompactString,
    /// Backup time.
    pub time: DateTime<Utc>,
    /// Size in bytes; None while the backup is still in progress (or the manifest is unreadable).
    pub size: Option<u64>,
    /// Verification (None: never verified).
    pub verification: Option<VerifyState>,
    /// Start of the verification task named by the snapshot's verification UPID (PBS keeps no
    /// verification time; for a verify job it is the job's start; a synced snapshot carries the
    /// source server's UPID). None: never verified or the UPID is unreadable.
    pub verified_at: Option<DateTime<Utc>>,
    /// Protected from pruning.
    pub protected: bool,
    /// Whether the archives are encrypted (None: cannot be told).
    pub encrypted: Option<bool>,
    /// Group owner auth id; shared between the snapshots that name the same one.
    pub owner: Option<Arc<str>>,
    /// Snapshot comment (first line of notes; PVE writes the guest name by default, kept inline).
    pub comment: Option<CompactString>,
}

impl Snapshot {
    /// A snapshot without a size is still being written (or broken): not a finished backup.
    pub fn in_progress(&self) -> bool {
        self.size.is_none()
    }
}

/// A verify, prune or sync job with its last result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PbsJob {
    /// Job id.
    pub id: String,
    /// Datastore.
    pub store: String,
    /// Namespace, when set.
    pub namespace: Option<String>,
    /// Schedule.
    pub schedule: Option<String>,
    /// Whether the job is disabled (prune jobs).
    pub disabled: bool,
    /// State of the last run (`OK`, `WARNINGS: n`, error text).
    pub last_run_state: Option<String>,
    /// End of the last run.
    pub last_run_end: Option<DateTime<Utc>>,
    /// Next run.
    pub next_run: Option<DateTime<Utc>>,
    /// Remote (sync jobs).
    pub remote: Option<String>,
    /// Comment.
    pub comment: Option<String>,
}

/// The mode type of a `maintenance` property string: `type=offline,message=…` or, with the
/// type as the default key, `offline,message=…`.
pub(crate) fn maintenance_type(raw: &str) -> Option<String> {
    raw.split(',')
        .map(str::trim)
        .find_map(|part| match part.split_once('=') {
            Some(("type", value)) => Some(value),
            Some(_) => None,
            None => Some(part),
        })
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod maintenance_tests {
    use super::maintenance_type;

    #[test]
    fn the_mode_type_is_read_with_and_without_its_key() {
        assert_eq!(
            maintenance_type("type=read-only,message=moving").as_deref(),
            Some("read-only")
        );
        assert_eq!(
            maintenance_type("offline,message=foo").as_deref(),
            Some("offline")
        );
        assert_eq!(
            maintenance_type("message=x,type=s3-refresh").as_deref(),
            Some("s3-refresh")
        );
        assert_eq!(maintenance_type("message=x"), None);
        assert_eq!(maintenance_type(""), None);
    }
}
