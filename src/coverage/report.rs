//! The coverage report: the one result type the engine produces and every renderer formats.
//!
//! Its JSON form is a documented contract (docs/report-schema.md): `schema_version`,
//! `generated_at`, `guests` (sorted by vmid), `jobs`, `anomalies`, plus the extra sections below.
//! Field names and enum spellings here ARE the contract: change them only with a schema version bump.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Anomaly, GuestKind, Vmid};

/// Version of the JSON contract. 2 added off-site copies, verification age, missed runs per
/// slot and node, locks and replication; 3 several clusters in one report: `clusters`, and a
/// `cluster` on every guest, job and node horizon (docs/report-schema.md).
pub const SCHEMA_VERSION: u32 = 3;

/// The oldest report version still read as a previous report for drift: every field added since
/// has a default, so the first night after an upgrade still compares with the last one before it.
pub const OLDEST_READABLE_SCHEMA_VERSION: u32 = 1;

/// Everything decided about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Version of this contract.
    pub schema_version: u32,
    /// The run's "now" (equals `--now` when given), RFC 3339.
    pub generated_at: DateTime<Utc>,
    /// The PVE clusters read, sorted by name, each with its own counts. Absent in reports of
    /// older versions: read as empty.
    #[serde(default)]
    pub clusters: Vec<ClusterReport>,
    /// The servers read and the version each reported, sorted by (kind, host). Absent in
    /// reports of older versions: read as empty.
    #[serde(default)]
    pub servers: Vec<ServerVersion>,
    /// Headline counts.
    pub summary: Summary,
    /// One entry per guest, sorted by (cluster, vmid).
    pub guests: Vec<GuestReport>,
    /// One entry per backup job, sorted by (cluster, id).
    pub jobs: Vec<JobReport>,
    /// PBS datastores with usage and job health, sorted by (server, datastore).
    pub datastores: Vec<DatastoreReport>,
    /// How far back the evidence reaches, per node, and which sources were incomplete.
    pub evidence: EvidenceReport,
    /// Snapshots on PBS whose VMID no longer exists, sorted by (server, datastore, namespace, type, id).
    pub orphans: Vec<OrphanSnapshot>,
    /// Copy jobs (pull/push sync, tape) of every PBS with how they treat the guests' groups,
    /// sorted by (server, id). Absent in reports of older versions: read as empty.
    #[serde(default)]
    pub copy_jobs: Vec<CopyJobReport>,
    /// Every anomaly (collection and assessment), worst first.
    pub anomalies: Vec<Anomaly>,
}

/// Which product a server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    /// Proxmox VE (the cluster the guests live on).
    Pve,
    /// Proxmox Backup Server.
    Pbs,
}

impl ServerKind {
    /// The product name shown to people: `PVE` or `PBS`.
    pub fn label(self) -> &'static str {
        match self {
            ServerKind::Pve => "PVE",
            ServerKind::Pbs => "PBS",
        }
    }
}

/// One PVE cluster the report read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
    /// Its name (`PVE_NAME` / `PVEnn_NAME`, else the host without its port); every guest and job
    /// of the cluster carries it as `cluster`.
    pub name: String,
    /// The host it was read from, without its port (like `servers[].host`).
    pub host: String,
    /// The pve-manager version it reported; None when `/version` could not be read.
    pub version: Option<String>,
    /// Its guests' counts, and its own anomalies' (collection and assessment).
    pub summary: Summary,
}

/// One server the report read, with the version it reported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServerVersion {
    /// PVE or PBS.
    pub kind: ServerKind,
    /// The host as configured, without its port (like `evidence.pve_host`): the port is
    /// transport detail, and a report must not change with it.
    pub host: String,
    /// The version the server reported (`9.1.8`, `4.2`); None when `/version` could not be read.
    pub version: Option<String>,
}

pub use super::offsite::{
    CopyJobKind, CopyJobReport, CopyKind, Offsite, OffsiteCopy, OffsiteStatus,
};

/// Headline counts. `coverage_percent` is covered+partial over guests whose coverage is known
/// (exempt guests excluded); None when no guest's coverage is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Guests in the report.
    pub guests: usize,
    /// Per coverage verdict.
    pub covered: usize,
    /// Covered but with volumes excluded from backup.
    pub partial: usize,
    /// Selected only by disabled jobs.
    pub disabled_only: usize,
    /// Selected by no job.
    pub not_covered: usize,
    /// Evidence incomplete.
    pub indeterminate: usize,
    /// Per freshness verdict.
    pub fresh: usize,
    /// Missed one or more scheduled runs.
    pub stale: usize,
    /// Latest attempt failed.
    pub failed: usize,
    /// No backup in the history window.
    pub never: usize,
    /// Freshness unknown.
    pub freshness_unknown: usize,
    /// Guests with a justified, unexpired exemption.
    pub exempt: usize,
    /// Latest snapshot not verified or failed verification.
    pub unverified: usize,
    /// Percentage (0–100, one decimal) of covered+partial among guests with known coverage.
    pub coverage_percent: Option<f64>,
    /// Anomalies by severity.
    pub critical_anomalies: usize,
    /// Anomalies of warning level.
    pub warning_anomalies: usize,
    /// Guests per off-site verdict (exempt guests excluded; `none`: no copy job reads them and
    /// the policy asks for none).
    #[serde(default)]
    pub offsite: OffsiteCounts,
}

/// Guests per off-site verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OffsiteCounts {
    /// `ok`.
    pub ok: usize,
    /// `stale`.
    pub stale: usize,
    /// `missing`.
    pub missing: usize,
    /// `not_selected`.
    pub not_selected: usize,
    /// `unknown`.
    pub unknown: usize,
    /// `null`: no copy job touches the guest's datastore and none is required.
    pub none: usize,
}

impl OffsiteCounts {
    /// The count of one verdict.
    pub fn of(&self, status: OffsiteStatus) -> usize {
        match status {
            OffsiteStatus::Ok => self.ok,
            OffsiteStatus::Stale => self.stale,
            OffsiteStatus::Missing => self.missing,
            OffsiteStatus::NotSelected => self.not_selected,
            OffsiteStatus::Unknown => self.unknown,
        }
    }
}

/// Coverage verdict for one guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// An enabled job selects it and every volume is backed up.
    Covered,
    /// An enabled job selects it, but volumes are excluded from backup.
    Partial,
    /// Only disabled jobs select it.
    DisabledOnly,
    /// No job selects it.
    NotCovered,
    /// The evidence needed to decide is incomplete.
    Indeterminate,
}

impl Coverage {
    /// Every verdict, in declaration order (the order counts and metrics list them in).
    pub const ALL: [Coverage; 5] = [
        Coverage::Covered,
        Coverage::Partial,
        Coverage::DisabledOnly,
        Coverage::NotCovered,
        Coverage::Indeterminate,
    ];

    /// The contract's spelling (as in the JSON report and the metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::Covered => "covered",
            Coverage::Partial => "partial",
            Coverage::DisabledOnly => "disabled_only",
            Coverage::NotCovered => "not_covered",
            Coverage::Indeterminate => "indeterminate",
        }
    }
}

/// Freshness verdict for one guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// The latest scheduled run that should have finished produced a successful backup (within grace).
    Ok,
    /// One or more scheduled runs were missed.
    Stale,
    /// The latest attempt failed.
    Failed,
    /// No backup in the history window.
    Never,
    /// Cannot be told.
    Unknown,
}

impl Freshness {
    /// Every verdict, in declaration order (the order counts and metrics list them in).
    pub const ALL: [Freshness; 5] = [
        Freshness::Ok,
        Freshness::Stale,
        Freshness::Failed,
        Freshness::Never,
        Freshness::Unknown,
    ];

    /// The contract's spelling (as in the JSON report and the metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Ok => "ok",
            Freshness::Stale => "stale",
            Freshness::Failed => "failed",
            Freshness::Never => "never",
            Freshness::Unknown => "unknown",
        }
    }
}

/// How a job selects a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectedBy {
    /// Listed in the job's `vmid`.
    Vmid,
    /// The job has `all=1` and the guest is not excluded.
    All,
    /// Member of the job's pool.
    Pool,
}

impl SelectedBy {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectedBy::Vmid => "vmid",
            SelectedBy::All => "all",
            SelectedBy::Pool => "pool",
        }
    }
}

/// Where a piece of backup evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSource {
    /// A vzdump task log.
    TaskLog,
    /// A PBS snapshot listing.
    Pbs,
    /// PVE storage content.
    Storage,
}

impl EvidenceSource {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceSource::TaskLog => "task_log",
            EvidenceSource::Pbs => "pbs",
            EvidenceSource::Storage => "storage",
        }
    }
}

/// Result of a backup attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Succeeded.
    Ok,
    /// Failed.
    Failed,
}

impl AttemptStatus {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Ok => "ok",
            AttemptStatus::Failed => "failed",
        }
    }
}

/// A short word on a guest that the verdicts do not carry by themselves. Spelled in snake_case in
/// the contract. Equality, ordering and hashing follow the spelling, so a list of flags sorts as
/// its JSON strings do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestFlag {
    /// The task log says the backup succeeded, but its archive is not where it should be.
    ArchiveMissing,
    /// The latest archive is encrypted.
    Encrypted,
    /// The guest's exemption expired and no other one holds.
    ExemptionExpired,
    /// The latest archive is not encrypted.
    NotEncrypted,
    /// The guest is a template.
    Template,
    /// The latest archive on PBS was never verified (or in a state this version does not know).
    Unverified,
    /// The latest archive on PBS failed verification.
    VerifyFailed,
    /// The latest archive's verification is older than the policy's `max_verify_age_days`.
    VerifyOutdated,
    /// The VMID was reused: older backups under it belong to another guest.
    VmidReuse,
    /// The guest is locked for backup while no vzdump task runs on its node: the stale lock
    /// makes every later backup of it fail.
    StaleLock,
    /// A fleecing image of the VM was left on a storage by a backup that crashed or was killed.
    FleecingLeftover,
    /// The VM's newest backup used fleecing and failed, and the fleecing storage's images cannot
    /// be listed read-only: an image may have been left there.
    FleecingMayRemain,
    /// A flag this version does not know, read back from a report another version wrote. Kept
    /// (rather than refused) so that an older or newer report stays readable for the drift; the
    /// engine never produces it.
    #[serde(untagged)]
    Other(String),
}

impl GuestFlag {
    /// The contract's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            GuestFlag::ArchiveMissing => "archive_missing",
            GuestFlag::Encrypted => "encrypted",
            GuestFlag::ExemptionExpired => "exemption_expired",
            GuestFlag::NotEncrypted => "not_encrypted",
            GuestFlag::Template => "template",
            GuestFlag::Unverified => "unverified",
            GuestFlag::VerifyFailed => "verify_failed",
            GuestFlag::VerifyOutdated => "verify_outdated",
            GuestFlag::VmidReuse => "vmid_reuse",
            GuestFlag::StaleLock => "stale_lock",
            GuestFlag::FleecingLeftover => "fleecing_leftover",
            GuestFlag::FleecingMayRemain => "fleecing_may_remain",
            GuestFlag::Other(other) => other,
        }
    }

    /// Whether the flag says the latest archive is not known to be sound (never verified, or
    /// verification failed): such a guest counts as unverified and warrants a warning.
    pub fn is_unverified(&self) -> bool {
        matches!(self, GuestFlag::Unverified | GuestFlag::VerifyFailed)
    }
}

impl PartialEq for GuestFlag {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for GuestFlag {}

impl PartialOrd for GuestFlag {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GuestFlag {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for GuestFlag {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// One backup attempt or archive, as shown in `last_backup` / `last_success`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupEvent {
    /// When the backup of this guest started (RFC 3339).
    pub time: DateTime<Utc>,
    /// ok or failed.
    pub status: AttemptStatus,
    /// Duration in whole seconds, when known.
    pub duration_s: Option<u64>,
    /// Where this evidence came from.
    pub source: EvidenceSource,
    /// The error line, for failures.
    pub error: Option<String>,
    /// The job id, when the run can be attributed to one. Shared, like storage, UPID and
    /// node: a report holds every run of the window (70 000 on a 5 000-guest cluster) and a
    /// multi-guest task names the same ones for each of its guests.
    pub job: Option<Arc<str>>,
    /// Target storage id, when known.
    pub storage: Option<Arc<str>>,
    /// Archive or snapshot name, when known.
    pub archive: Option<String>,
    /// Archive size in bytes, when known.
    pub size_bytes: Option<u64>,
    /// The task's UPID, for task-log evidence.
    pub upid: Option<Arc<str>>,
    /// When this guest's backup ended, when known (added in the engine; schema 1 addition).
    pub end: Option<DateTime<Utc>>,
    /// Node that ran the task (task-log evidence).
    pub node: Option<Arc<str>>,
    /// Volumes the run left out (`scsi1 (backup=no)`), from the task log.
    pub excluded_volumes: Vec<String>,
}

/// A job that selects a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoveringJob {
    /// Job id.
    pub id: String,
    /// Whether the job is enabled.
    pub enabled: bool,
    /// How it selects the guest.
    pub selected_by: SelectedBy,
    /// Target storage id (None: vzdump's default `local`).
    pub storage: Option<String>,
    /// Whether that storage is a PBS storage (None: storage unknown).
    pub storage_is_pbs: Option<bool>,
}

/// The latest PBS snapshot of a guest, through its job's storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveEvidence {
    /// PBS server name (or the PVE storage id for storage-content evidence).
    pub server: String,
    /// Datastore.
    pub datastore: String,
    /// Namespace ("" = root).
    pub namespace: String,
    /// Snapshot time.
    pub time: DateTime<Utc>,
    /// Size in bytes.
    pub size_bytes: Option<u64>,
    /// `ok`, `failed`, or None when never verified.
    pub verification: Option<String>,
    /// Start of the verification task named by the snapshot's verification UPID (None: never
    /// verified, not a PBS snapshot, or the UPID is unreadable).
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
    /// Backup time of the newest snapshot in that place whose verification is ok (None: none).
    #[serde(default)]
    pub last_verified_ok: Option<DateTime<Utc>>,
    /// Protected from pruning.
    pub protected: bool,
    /// Encrypted (None: unknown).
    pub encrypted: Option<bool>,
    /// Number of finished snapshots of this guest in that place.
    pub snapshot_count: usize,
    /// Where it came from.
    pub source: EvidenceSource,
    /// The PVE storage through which it was found.
    pub storage: String,
}

/// Where an exemption was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredIn {
    /// A guest tag listed in the exempt tags.
    Tag,
    /// A marked line in the guest's notes.
    Notes,
    /// The tool's configuration.
    Config,
}

impl DeclaredIn {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeclaredIn::Tag => "tag",
            DeclaredIn::Notes => "notes",
            DeclaredIn::Config => "config",
        }
    }
}

impl std::fmt::Display for DeclaredIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A justified exemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    /// Why the guest needs no backup.
    pub reason: String,
    /// Until when the exemption holds (None: no expiry).
    pub until: Option<DateTime<Utc>>,
    /// Where it was declared.
    pub declared_in: DeclaredIn,
    /// Why no backup by this cluster is needed. Absent in older reports: `not_needed`.
    #[serde(default)]
    pub kind: ExemptionKind,
}

/// Why a guest is exempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionKind {
    /// It needs no backup.
    #[default]
    NotNeeded,
    /// Other software backs it up (PVE replication is not that: it keeps no history).
    External,
}

/// Everything decided about one guest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestReport {
    /// The cluster it lives in (`clusters[].name`); a guest is known by cluster and VMID. Absent
    /// in reports of older versions (one cluster): read as empty.
    #[serde(default)]
    pub cluster: String,
    /// VMID.
    pub vmid: Vmid,
    /// `qemu` or `lxc`.
    #[serde(rename = "type")]
    pub kind: GuestKind,
    /// Name (None when PVE has none).
    pub name: Option<String>,
    /// Node.
    pub node: String,
    /// Template (false when PVE did not say).
    pub template: bool,
    /// Pool.
    pub pool: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Notes (guest description), when read.
    pub notes: Option<String>,
    /// Coverage verdict.
    pub coverage: Coverage,
    /// Why this coverage verdict, one sentence (e.g. "excluded from job 'nightly' (all, exclude 105)").
    pub coverage_reason: String,
    /// Ids of the jobs that select it, enabled or not, sorted.
    pub jobs: Vec<String>,
    /// Those jobs with how they select it.
    pub covering_jobs: Vec<CoveringJob>,
    /// Volumes excluded from backup (the reason for `partial`).
    pub excluded_volumes: Vec<String>,
    /// Freshness verdict.
    pub freshness: Freshness,
    /// Why this freshness verdict, one sentence (e.g. "missed 2 scheduled runs since 2026-11-21T01:00:00Z").
    pub freshness_reason: String,
    /// Scheduled runs of its jobs in the history window for which no vzdump task ran on the node
    /// the guest was on (0: none; None: no schedule applies, or the history cannot tell).
    pub missed_runs: Option<u32>,
    /// Those missed runs, newest first, at most [`MISSED_LIST_MAX`]. Absent in older reports.
    #[serde(default)]
    pub missed: Vec<MissedRun>,
    /// The guest's config lock (`backup`, `migrate`, …), None when unlocked. Absent in older
    /// reports: read as unlocked.
    #[serde(default)]
    pub lock: Option<String>,
    /// PVE storage replication of the guest (the worst job when it has several): shown as
    /// "replicated, not backed up", never counted as a backup. None: no replication job seen.
    #[serde(default)]
    pub replication: Option<ReplicationReport>,
    /// The newest restore of the guest in the history window (a `qmrestore`/`vzrestore` task):
    /// "last restore", never a verified restore test. None: none seen, or the restore lists
    /// could not be read (then an anomaly says so). Absent in older reports.
    #[serde(default)]
    pub last_restore: Option<RestoreReport>,
    /// The latest attempt (success or failure).
    pub last_backup: Option<BackupEvent>,
    /// The latest success.
    pub last_success: Option<BackupEvent>,
    /// The latest archive on PBS (or storage) for this guest through its jobs' storages.
    pub archive: Option<ArchiveEvidence>,
    /// Every backup attempt of this guest found in the task logs, newest first.
    pub runs: Vec<BackupEvent>,
    /// Exemption, when declared and not expired.
    pub exempt: Option<Exemption>,
    /// Short flags for the "needs attention" view, sorted by their spelling.
    pub flags: Vec<GuestFlag>,
    /// Off-site copies (3-2-1): `null` when no copy job reads the guest's datastore and the
    /// policy asks for none.
    #[serde(default)]
    pub offsite: Option<Offsite>,
}

/// A guest's storage replication job as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationReport {
    /// Job id `<vmid>-<jobnum>`.
    pub job: String,
    /// Target node.
    pub target: Option<String>,
    /// Start of the last successful sync (None: never).
    pub last_sync: Option<DateTime<Utc>>,
    /// Failed attempts since then.
    pub fail_count: u64,
    /// The last error, while failing.
    pub error: Option<String>,
    /// Whether the job is enabled.
    pub enabled: bool,
}

/// A restore of a guest as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// When the restore task started.
    pub time: DateTime<Utc>,
    /// The snapshot it read (`vm/100/2026-12-01T01:00:00Z`, or a container backup's volume
    /// below `backup/`); None when its log named none or could not be read.
    pub source_snapshot: Option<String>,
    /// The PBS repository or PVE storage the snapshot came from.
    pub source: Option<String>,
    /// The PBS namespace, when not the root.
    pub namespace: Option<String>,
    /// The task's UPID.
    pub task: String,
    /// `qmrestore` or `vzrestore`.
    pub kind: String,
    /// The node that ran it.
    pub node: String,
    /// The task's final status (`OK`, `WARNINGS: n`, an error); None while running.
    pub status: Option<String>,
}

/// At most this many missed runs are listed per guest.
pub const MISSED_LIST_MAX: usize = 10;

/// One scheduled run for which the guest's node started no vzdump task.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MissedRun {
    /// The scheduled time.
    pub slot: DateTime<Utc>,
    /// The node the guest was on at that time (several, comma-separated, when a migration in
    /// between cannot be placed).
    pub node: String,
    /// Why it counts as missed, and whether the node was up.
    pub reason: String,
}

/// Last run of a job on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobNodeRun {
    /// Node.
    pub node: String,
    /// Task start.
    pub start: DateTime<Utc>,
    /// Task status as PVE reports it (`OK`, `job errors`, …; None: running).
    pub status: Option<String>,
    /// The task UPID.
    pub upid: String,
}

/// Everything decided about one backup job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    /// The cluster it belongs to (`clusters[].name`). Absent in reports of older versions: empty.
    #[serde(default)]
    pub cluster: String,
    /// Job id.
    pub id: String,
    /// Enabled.
    pub enabled: bool,
    /// Schedule as written.
    pub schedule: Option<String>,
    /// Readable schedule ("daily at 02:00"), None when absent or malformed.
    pub schedule_readable: Option<String>,
    /// Next run (PVE's `next-run`, or computed).
    pub next_run: Option<DateTime<Utc>>,
    /// Latest scheduled occurrence at or before the report time, computed.
    pub previous_run: Option<DateTime<Utc>>,
    /// IANA zone the schedule was evaluated in (`UTC` when the node's zone is unknown).
    pub timezone: String,
    /// False when the zone was assumed (node time zone unknown or nodes disagree).
    pub timezone_known: bool,
    /// Why the schedule could not be used (malformed), None when fine.
    pub schedule_error: Option<String>,
    /// How it selects guests, readable ("all except 105, 106", "pool prod", "VMIDs 100, 101").
    pub selection: String,
    /// Node restriction.
    pub node: Option<String>,
    /// Target storage.
    pub storage: Option<String>,
    /// Whether the storage is PBS (None: unknown storage).
    pub storage_is_pbs: Option<bool>,
    /// Backup mode.
    pub mode: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// VMIDs it selects (resolved), sorted; None when the selection is indeterminate.
    pub selected_vmids: Option<Vec<Vmid>>,
    /// Last run per node, sorted by node.
    pub last_runs: Vec<JobNodeRun>,
}

/// A PBS datastore as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatastoreReport {
    /// PBS server name.
    pub server: String,
    /// Datastore.
    pub datastore: String,
    /// Total bytes.
    pub total_bytes: Option<u64>,
    /// Used bytes.
    pub used_bytes: Option<u64>,
    /// Used fraction in percent (one decimal).
    pub used_percent: Option<f64>,
    /// Estimated full date.
    pub estimated_full: Option<DateTime<Utc>>,
    /// Last GC state / end.
    pub gc_state: Option<String>,
    /// End of the last GC.
    pub gc_last_run: Option<DateTime<Utc>>,
    /// Verify jobs: "id: state" lines.
    pub verify_jobs: Vec<String>,
    /// Verify jobs of this datastore with their last run, sorted by id: what the report needs to
    /// tell "no verify job" from "the verify job failed". Absent in reports of older versions.
    #[serde(default)]
    pub verify_job_runs: Vec<PbsJobRun>,
    /// Prune jobs.
    pub prune_jobs: Vec<String>,
    /// Sync jobs.
    pub sync_jobs: Vec<String>,
    /// Snapshots seen (finished).
    pub snapshots: usize,
    /// Namespaces seen.
    pub namespaces: Vec<String>,
}

/// One PBS job (verify, prune, sync) of a datastore and its last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbsJobRun {
    /// Job id.
    pub id: String,
    /// Namespace the job is limited to (None: the whole datastore).
    pub namespace: Option<String>,
    /// Whether the job is disabled.
    pub disabled: bool,
    /// State of the last run as PBS words it (`OK`, `WARNINGS: n`, an error text); None: never
    /// run, or the state was not visible.
    pub last_run_state: Option<String>,
    /// End of the last run.
    pub last_run_end: Option<DateTime<Utc>>,
}

impl PbsJobRun {
    /// Whether the last run is known to have failed (a state other than `OK` / `WARNINGS: n`).
    pub fn last_run_failed(&self) -> bool {
        self.last_run_state
            .as_deref()
            .is_some_and(|state| state != "OK" && !state.starts_with("WARNINGS"))
    }
}

/// The evidence horizon and incomplete sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EvidenceReport {
    /// The first cluster's PVE host, without its port (None: no PVE configured, or a report of
    /// an older version). Kept for readers of schema 2; `clusters` names every cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pve_host: Option<String>,
    /// Per node: how far back the task history reaches.
    pub horizons: Vec<NodeHorizon>,
    /// Sources that were incomplete, one sentence each, sorted.
    pub incomplete: Vec<String>,
}

/// How far back one node's task history reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeHorizon {
    /// The node's cluster. Absent in reports of older versions: empty.
    #[serde(default)]
    pub cluster: String,
    /// Node.
    pub node: String,
    /// Asked-for start of the window.
    pub requested_since: DateTime<Utc>,
    /// Oldest task seen.
    pub oldest_seen: Option<DateTime<Utc>>,
    /// Whether all tasks in the window were seen.
    pub complete: bool,
    /// Vzdump tasks read.
    pub tasks: usize,
}

/// A PBS snapshot group whose VMID no longer exists in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrphanSnapshot {
    /// PBS server name.
    pub server: String,
    /// Datastore.
    pub datastore: String,
    /// Namespace.
    pub namespace: String,
    /// `vm` / `ct`.
    pub backup_type: String,
    /// Backup id.
    pub backup_id: String,
    /// Latest snapshot time.
    pub latest: DateTime<Utc>,
    /// Finished snapshots in the group.
    pub snapshots: usize,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn as_str_is_the_contract_spelling() {
        for v in Coverage::ALL {
            assert_eq!(json(&v), format!("\"{}\"", v.as_str()));
        }
        for v in Freshness::ALL {
            assert_eq!(json(&v), format!("\"{}\"", v.as_str()));
        }
        for v in [SelectedBy::Vmid, SelectedBy::All, SelectedBy::Pool] {
            assert_eq!(json(&v), format!("\"{}\"", v.as_str()));
        }
        for v in [
            EvidenceSource::TaskLog,
            EvidenceSource::Pbs,
            EvidenceSource::Storage,
        ] {
            assert_eq!(json(&v), format!("\"{}\"", v.as_str()));
        }
        for v in [DeclaredIn::Tag, DeclaredIn::Notes, DeclaredIn::Config] {
            assert_eq!(json(&v), format!("\"{}\"", v.as_str()));
        }
        for v in [AttemptStatus::Ok, AttemptStatus::Failed] {
            assert_eq!(json(&v), format!("\"{}\"", v.as_str()));
        }
    }

    #[test]
    fn flags_round_trip_and_an_unknown_flag_stays_readable() {
        let known = [
            GuestFlag::ArchiveMissing,
            GuestFlag::Encrypted,
            GuestFlag::ExemptionExpired,
            GuestFlag::NotEncrypted,
            GuestFlag::Template,
            GuestFlag::Unverified,
            GuestFlag::VerifyFailed,
            GuestFlag::VmidReuse,
        ];
        for flag in &known {
            let text = json(flag);
            assert_eq!(text, format!("\"{}\"", flag.as_str()));
            let back: GuestFlag = serde_json::from_str(&text).unwrap();
            assert!(!matches!(back, GuestFlag::Other(_)), "{text} read as Other");
            assert_eq!(&back, flag);
        }
        // The declaration order is the spelling order, so derived and spelled orders agree.
        let mut sorted = known.to_vec();
        sorted.sort();
        assert_eq!(sorted, known.to_vec());

        let old: Vec<GuestFlag> = serde_json::from_str(r#"["future_flag","unverified"]"#).unwrap();
        assert_eq!(
            old,
            vec![
                GuestFlag::Other("future_flag".into()),
                GuestFlag::Unverified
            ]
        );
        assert_eq!(json(&old), r#"["future_flag","unverified"]"#);
    }
}
