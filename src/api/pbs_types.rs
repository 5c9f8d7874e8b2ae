//! Wire types of the Proxmox Backup Server API: one struct per JSON object the endpoints return.
//!
//! Owns the exact JSON shape (field names — kebab-case except the snake_case task list —,
//! optionality, tolerant typing via [`crate::api::de`]) and the wire-level rules attached to it:
//! `estimated-full-date` 0 meaning "never", an absent snapshot `size` meaning an unreadable
//! manifest (in progress), and how PVE derives "encrypted" from a snapshot. PBS is written in
//! Rust and types its JSON strictly, but the same tolerant helpers are used so a quirk of one
//! version cannot break parsing. Unknown fields of job and datastore items are kept in `extra`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::de::{self, wire_enum};

/// Unknown JSON members kept verbatim so that nothing the server sent is lost.
pub type ExtraFields = BTreeMap<String, Value>;

// ---------------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------------

wire_enum! {
    /// Backup group type.
    pub enum BackupType {
        /// Virtual machine (PVE qemu guests).
        Vm => "vm",
        /// Container (PVE lxc guests).
        Ct => "ct",
        /// Host backup (proxmox-backup-client); never a PVE guest.
        Host => "host",
    }
}

wire_enum! {
    /// `crypt-mode` of a snapshot file.
    pub enum CryptMode {
        /// Neither encrypted nor signed.
        None => "none",
        /// Encrypted (and signed).
        Encrypt => "encrypt",
        /// Signed only.
        SignOnly => "sign-only",
    }
}

wire_enum! {
    /// Verification `state` of a snapshot.
    pub enum VerifyState {
        /// Verified successfully.
        Ok => "ok",
        /// Verification failed.
        Failed => "failed",
    }
}

wire_enum! {
    /// `mount-status` of a datastore (PBS ≥ 3.3).
    pub enum MountStatus {
        /// Removable datastore, mounted.
        Mounted => "mounted",
        /// Removable datastore, not mounted.
        NotMounted => "notmounted",
        /// Not a removable datastore (the default).
        NonRemovable => "nonremovable",
    }
}

wire_enum! {
    /// `backend-type` of a datastore (PBS 4.x).
    pub enum BackendType {
        /// Local filesystem.
        Filesystem => "filesystem",
        /// S3 object store.
        S3 => "s3",
    }
}

wire_enum! {
    /// `sync-direction` of a sync job.
    pub enum SyncDirection {
        /// Pull from the remote into the local store.
        Pull => "pull",
        /// Push from the local store to the remote.
        Push => "push",
    }
}

// ---------------------------------------------------------------------------------------------
// /version, /admin/datastore, /status/datastore-usage
// ---------------------------------------------------------------------------------------------

/// `GET /version`: PBS 3.2.4 → `version: "3.2"`, `release: "4"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PbsVersion {
    /// `<major>.<minor>`.
    #[serde(with = "de::string")]
    pub version: String,
    /// Patch level.
    #[serde(with = "de::string")]
    pub release: String,
    /// Git commit hash.
    #[serde(with = "de::string")]
    pub repoid: String,
}

/// One item of `GET /admin/datastore` (listed if the caller has any privilege on the store or
/// a namespace below it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DatastoreListItem {
    /// Datastore name.
    #[serde(with = "de::string")]
    pub store: String,
    /// Comment; only with `Datastore.Audit` or `Datastore.Backup` on `/datastore/<store>`.
    #[serde(default)]
    pub comment: Option<String>,
    /// Maintenance mode property string, e.g. `type=read-only,message=…` (PBS ≥ 2.2).
    #[serde(default)]
    pub maintenance: Option<String>,
    /// Removable datastore state (PBS ≥ 3.3).
    #[serde(default)]
    pub mount_status: Option<MountStatus>,
    /// Storage backend (PBS 4.x).
    #[serde(default)]
    pub backend_type: Option<BackendType>,
    /// Members this version does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// When a datastore is expected to be full (`estimated-full-date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EstimatedFull {
    /// `0`: usage is flat, the store never fills up at the current rate.
    Never,
    /// Epoch seconds; a past value means usage is declining.
    At(i64),
}

/// One item of `GET /status/datastore-usage`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DatastoreUsage {
    /// Datastore name.
    #[serde(with = "de::string")]
    pub store: String,
    /// Filesystem size in bytes; absent on error/"empty" entries; `-1` on PBS ≤ 2.1 errors
    /// (see [`DatastoreUsage::total_bytes`]).
    #[serde(default, with = "de::opt_i64")]
    pub total: Option<i64>,
    /// Used bytes (same caveats as `total`).
    #[serde(default, with = "de::opt_i64")]
    pub used: Option<i64>,
    /// Available bytes (same caveats as `total`).
    #[serde(default, with = "de::opt_i64")]
    pub avail: Option<i64>,
    /// Usage fraction history over the last month (RRD averages); `null` points are gaps.
    #[serde(default)]
    pub history: Option<Vec<Option<f64>>>,
    /// Epoch of `history[0]`.
    #[serde(default, with = "de::opt_i64")]
    pub history_start: Option<i64>,
    /// Seconds between history points.
    #[serde(default, with = "de::opt_u64")]
    pub history_delta: Option<u64>,
    /// Linear-regression estimate of the full date; `0` = never (see
    /// [`DatastoreUsage::estimated_full`]); only with ≥ 7 data points.
    #[serde(default, with = "de::opt_i64")]
    pub estimated_full_date: Option<i64>,
    /// Error text, e.g. datastore lookup failed or not mounted.
    #[serde(default)]
    pub error: Option<String>,
    /// Status of the last garbage collection.
    #[serde(default)]
    pub gc_status: Option<GcStatus>,
    /// Removable datastore state (PBS ≥ 3.3).
    #[serde(default)]
    pub mount_status: Option<MountStatus>,
    /// Storage backend (PBS 4.x).
    #[serde(default)]
    pub backend_type: Option<BackendType>,
    /// Members this version does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A byte count that PBS ≤ 2.1 reported as `-1` on error becomes `None`.
fn non_negative(value: Option<i64>) -> Option<u64> {
    value.and_then(|bytes| u64::try_from(bytes).ok())
}

impl DatastoreUsage {
    /// `total` as bytes; `None` if absent or the old `-1` error marker.
    pub fn total_bytes(&self) -> Option<u64> {
        non_negative(self.total)
    }

    /// `used` as bytes; `None` if absent or `-1`.
    pub fn used_bytes(&self) -> Option<u64> {
        non_negative(self.used)
    }

    /// `avail` as bytes; `None` if absent or `-1`.
    pub fn avail_bytes(&self) -> Option<u64> {
        non_negative(self.avail)
    }

    /// `estimated-full-date` interpreted: `0` → [`EstimatedFull::Never`]; absent → `None`
    /// (not enough history, or no access).
    pub fn estimated_full(&self) -> Option<EstimatedFull> {
        self.estimated_full_date.map(|epoch| {
            if epoch == 0 {
                EstimatedFull::Never
            } else {
                EstimatedFull::At(epoch)
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Namespaces, groups, snapshots
// ---------------------------------------------------------------------------------------------

/// One item of `GET /admin/datastore/{store}/namespace` (silently filtered to namespaces with
/// Audit/Modify/Read/Backup; the root is `""`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct NamespaceItem {
    /// Namespace path `a/b/c`; `""` = root.
    #[serde(with = "de::string")]
    pub ns: String,
    /// Always unset in current versions.
    #[serde(default)]
    pub comment: Option<String>,
}

/// One item of `GET /admin/datastore/{store}/groups` (non-recursive; PBS ≥ 4.1.9 can move a
/// group to another namespace, so the same group may appear under a new namespace between runs; `Datastore.Audit` → all
/// groups, `Datastore.Backup` → own groups only, silently).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct GroupItem {
    /// `vm`, `ct` or `host`.
    pub backup_type: BackupType,
    /// Group id; the VMID for PVE guests.
    #[serde(with = "de::string")]
    pub backup_id: String,
    /// Time of the newest snapshot (may be an in-progress one). PBS ≥ 4.0.17 also lists empty
    /// groups (`backup-count: 0`, `last-backup: 0`): their `0` decodes to None, no backup.
    #[serde(default, with = "de::opt_epoch_nonzero")]
    pub last_backup: Option<i64>,
    /// Number of snapshots, including unfinished ones.
    #[serde(default, with = "de::opt_u64")]
    pub backup_count: Option<u64>,
    /// File names of the last snapshot.
    #[serde(default, with = "de::opt_string_list")]
    pub files: Option<Vec<String>>,
    /// Auth id owning the group.
    #[serde(default)]
    pub owner: Option<String>,
    /// First line of the group notes.
    #[serde(default)]
    pub comment: Option<String>,
}

/// One item of `GET /admin/datastore/{store}/snapshots` (non-recursive; same filtering as
/// groups). Order is not guaranteed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotItem {
    /// `vm`, `ct` or `host`.
    pub backup_type: BackupType,
    /// Group id; the VMID for PVE guests.
    #[serde(with = "de::string")]
    pub backup_id: String,
    /// Snapshot time, epoch (PVE shows it as `YYYY-MM-DDTHH:MM:SSZ`).
    #[serde(with = "de::req_i64")]
    pub backup_time: i64,
    /// First line of the snapshot notes (PVE's `notes`); absent if the manifest is unreadable.
    #[serde(default)]
    pub comment: Option<String>,
    /// Last verification; absent = never verified (or manifest unreadable).
    #[serde(default)]
    pub verification: Option<SnapshotVerification>,
    /// Encryption key fingerprint (`aa:bb:…`); absent if the manifest is unreadable.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Files: manifest entries, `index.json.blob`, and files only on disk (without crypt-mode
    /// and size).
    #[serde(default)]
    pub files: Option<Vec<SnapshotFile>>,
    /// Sum of file sizes; **absent when the manifest cannot be read** (backup in progress, or
    /// corrupt).
    #[serde(default, with = "de::opt_u64")]
    pub size: Option<u64>,
    /// Group owner auth id.
    #[serde(default)]
    pub owner: Option<String>,
    /// Protected from pruning (PBS ≥ 2.1).
    #[serde(default, with = "de::opt_bool")]
    pub protected: Option<bool>,
}

/// One entry of a snapshot's `files`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotFile {
    /// File name, e.g. `drive-scsi0.img.fidx`.
    pub filename: String,
    /// Encryption mode; absent for files not in the manifest.
    #[serde(default)]
    pub crypt_mode: Option<CryptMode>,
    /// Size in bytes; absent for files not in the manifest.
    #[serde(default, with = "de::opt_u64")]
    pub size: Option<u64>,
}

/// `verification` of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SnapshotVerification {
    /// `ok` or `failed`.
    pub state: VerifyState,
    /// UPID of the verify task.
    #[serde(default)]
    pub upid: Option<String>,
}

/// Files PVE ignores when deciding whether a snapshot is encrypted.
const NON_ARCHIVE_FILES: [&str; 2] = ["index.json.blob", "client.log.blob"];

/// What a snapshot's `files` say about encryption, folded file by file: all a verdict needs,
/// without keeping one file name (issue #10 item 3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveModes {
    /// Archive files seen (every file but `index.json.blob` and `client.log.blob`).
    pub archives: usize,
    /// An archive is `none`, `sign-only` or has no crypt-mode: not encrypted.
    pub plain: bool,
    /// An archive has a crypt-mode this version does not know.
    pub unknown: bool,
}

impl ArchiveModes {
    /// Count one file.
    pub fn add(&mut self, filename: &str, mode: Option<&CryptMode>) {
        if NON_ARCHIVE_FILES.contains(&filename) {
            return;
        }
        self.archives += 1;
        match mode {
            Some(CryptMode::Encrypt) => {}
            Some(CryptMode::None | CryptMode::SignOnly) | None => self.plain = true,
            Some(CryptMode::Other(_)) => self.unknown = true,
        }
    }

    /// Whether the snapshot is encrypted, decided as PVE does for its `encrypted` column:
    /// `Some(true)` if a key fingerprint is reported, else `Some(true)` if every archive file
    /// has crypt-mode `encrypt`, and `Some(false)` if one of them is `none`, `sign-only` or lacks
    /// a crypt-mode. `None` when it cannot be told: manifest unreadable (`in_progress`), no
    /// archive files, or a crypt-mode this version does not know. Like PVE, a reported
    /// fingerprint counts as encrypted even if the archives are only signed.
    pub fn encrypted(&self, fingerprint: bool, in_progress: bool) -> Option<bool> {
        if fingerprint {
            return Some(true);
        }
        if in_progress || self.archives == 0 {
            return None;
        }
        if self.plain {
            Some(false)
        } else if self.unknown {
            None
        } else {
            Some(true)
        }
    }
}

/// Decodes `files` straight into [`ArchiveModes`], one file at a time.
fn archive_modes<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ArchiveModes>, D::Error> {
    struct Files;
    impl<'de> serde::de::Visitor<'de> for Files {
        type Value = Option<ArchiveModes>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of files")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut modes = ArchiveModes::default();
            while let Some(file) = seq.next_element::<SnapshotFile>()? {
                modes.add(&file.filename, file.crypt_mode.as_ref());
            }
            Ok(Some(modes))
        }
    }
    deserializer.deserialize_option(Files)
}

/// [`SnapshotItem`] as the collector keeps it: the same fields a verdict reads, with `files`
/// folded into [`ArchiveModes`] while decoding, so 100 000 snapshots do not hold 400 000 file
/// names. The verification keeps its UPID.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotSummary {
    /// `vm`, `ct` or `host`.
    pub backup_type: BackupType,
    /// Group id; the VMID for PVE guests.
    #[serde(with = "de::string")]
    pub backup_id: String,
    /// Snapshot time, epoch.
    #[serde(with = "de::req_i64")]
    pub backup_time: i64,
    /// First line of the snapshot notes.
    #[serde(default)]
    pub comment: Option<String>,
    /// Last verification; absent = never verified (or manifest unreadable).
    #[serde(default)]
    pub verification: Option<SnapshotVerification>,
    /// Whether an encryption key fingerprint is reported (the fingerprint itself is not kept).
    #[serde(default, rename = "fingerprint", deserialize_with = "present")]
    pub has_fingerprint: bool,
    /// The files, folded.
    #[serde(default, deserialize_with = "archive_modes")]
    pub files: Option<ArchiveModes>,
    /// Sum of file sizes; absent when the manifest cannot be read.
    #[serde(default, with = "de::opt_u64")]
    pub size: Option<u64>,
    /// Group owner auth id.
    #[serde(default)]
    pub owner: Option<String>,
    /// Protected from pruning (PBS ≥ 2.1).
    #[serde(default, with = "de::opt_bool")]
    pub protected: Option<bool>,
}

/// A member that is present and not `null` (its value is not kept).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let value: Option<serde::de::IgnoredAny> = Option::deserialize(deserializer)?;
    Ok(value.is_some())
}

impl SnapshotSummary {
    /// The manifest could not be read, seen as an absent `size`: usually a backup still in
    /// progress, but a corrupt snapshot looks the same.
    pub fn in_progress(&self) -> bool {
        self.size.is_none()
    }

    /// Whether the snapshot is encrypted ([`ArchiveModes::encrypted`]).
    pub fn encrypted(&self) -> Option<bool> {
        self.files
            .unwrap_or_default()
            .encrypted(self.has_fingerprint, self.in_progress())
    }
}

// ---------------------------------------------------------------------------------------------
// Garbage collection and jobs
// ---------------------------------------------------------------------------------------------

/// Garbage collection status: the object of `GET /admin/datastore/{store}/gc` (PBS ≥ 3.2 adds
/// the job fields `store`, `schedule`, `next-run`, `last-run-*`, `duration`; older versions
/// return only the counters), an item of `GET /admin/gc`, and `gc-status` of usage/status.
/// All counters are zero and `upid` absent if GC never ran.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct GcStatus {
    /// Datastore (job status form).
    #[serde(default, with = "de::opt_string")]
    pub store: Option<String>,
    /// `gc-schedule` calendar event of the datastore.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Next scheduled run, epoch.
    #[serde(default, with = "de::opt_i64")]
    pub next_run: Option<i64>,
    /// End of the last run, epoch.
    #[serde(default, with = "de::opt_i64")]
    pub last_run_endtime: Option<i64>,
    /// `OK`, `WARNINGS: <n>`, error text, or `unknown`.
    #[serde(default)]
    pub last_run_state: Option<String>,
    /// Duration of the last run in seconds.
    #[serde(default, with = "de::opt_u64")]
    pub duration: Option<u64>,
    /// UPID of the last GC task.
    #[serde(default)]
    pub upid: Option<String>,
    /// Index files processed.
    #[serde(default, with = "de::opt_u64")]
    pub index_file_count: Option<u64>,
    /// Bytes referenced by indexes.
    #[serde(default, with = "de::opt_u64")]
    pub index_data_bytes: Option<u64>,
    /// Bytes used on disk.
    #[serde(default, with = "de::opt_u64")]
    pub disk_bytes: Option<u64>,
    /// Chunks on disk.
    #[serde(default, with = "de::opt_u64")]
    pub disk_chunks: Option<u64>,
    /// Bytes removed.
    #[serde(default, with = "de::opt_u64")]
    pub removed_bytes: Option<u64>,
    /// Chunks removed.
    #[serde(default, with = "de::opt_u64")]
    pub removed_chunks: Option<u64>,
    /// Bytes pending removal (kept for safety).
    #[serde(default, with = "de::opt_u64")]
    pub pending_bytes: Option<u64>,
    /// Chunks pending removal.
    #[serde(default, with = "de::opt_u64")]
    pub pending_chunks: Option<u64>,
    /// Bad chunks removed.
    #[serde(default, with = "de::opt_u64")]
    pub removed_bad: Option<u64>,
    /// Chunks still marked bad by verify.
    #[serde(default, with = "de::opt_u64")]
    pub still_bad: Option<u64>,
    /// Chunk cache statistics (PBS 4.x).
    #[serde(default)]
    pub cache_stats: Option<GcCacheStats>,
}

/// `cache-stats` of a GC status.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GcCacheStats {
    /// Cache hits.
    #[serde(default, with = "de::opt_u64")]
    pub hits: Option<u64>,
    /// Cache misses.
    #[serde(default, with = "de::opt_u64")]
    pub misses: Option<u64>,
}

/// Schedule status flattened into every verify/prune/sync job item (all optional).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobScheduleStatus {
    /// Next run, epoch (from the schedule and the last run's end, or job creation).
    #[serde(default, with = "de::opt_i64")]
    pub next_run: Option<i64>,
    /// `OK`, `WARNINGS: <n>`, error text, or `unknown`; absent while running or never run.
    #[serde(default)]
    pub last_run_state: Option<String>,
    /// UPID of the last run.
    #[serde(default)]
    pub last_run_upid: Option<String>,
    /// End of the last run, epoch.
    #[serde(default, with = "de::opt_i64")]
    pub last_run_endtime: Option<i64>,
}

/// One item of `GET /admin/verify` (silently filtered to jobs with `Datastore.Audit` or
/// `Datastore.Verify` on the job's store/namespace).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VerifyJobStatus {
    /// Job id.
    #[serde(with = "de::string")]
    pub id: String,
    /// Datastore.
    #[serde(with = "de::string")]
    pub store: String,
    /// Namespace; absent = root.
    #[serde(default)]
    pub ns: Option<String>,
    /// Recursion depth below `ns`; 0 = only that level; absent = full depth.
    #[serde(default, with = "de::opt_u64")]
    pub max_depth: Option<u64>,
    /// Skip snapshots already verified; absent means true.
    #[serde(default, with = "de::opt_bool")]
    pub ignore_verified: Option<bool>,
    /// Re-verify after this many days.
    #[serde(default, with = "de::opt_u64")]
    pub outdated_after: Option<u64>,
    /// Calendar event.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Reader threads (newer versions).
    #[serde(default, with = "de::opt_u64")]
    pub read_threads: Option<u64>,
    /// Verify threads (newer versions).
    #[serde(default, with = "de::opt_u64")]
    pub verify_threads: Option<u64>,
    /// Schedule status.
    #[serde(flatten)]
    pub status: JobScheduleStatus,
    /// Members this version does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One item of `GET /admin/prune` (filtered to jobs with `Datastore.Audit` or
/// `Datastore.Modify`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PruneJobStatus {
    /// Job id.
    #[serde(with = "de::string")]
    pub id: String,
    /// Datastore.
    #[serde(with = "de::string")]
    pub store: String,
    /// Disabled (only serialized when true).
    #[serde(default, with = "de::opt_bool")]
    pub disable: Option<bool>,
    /// Calendar event (required for prune jobs).
    #[serde(default)]
    pub schedule: Option<String>,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Namespace; absent = root.
    #[serde(default)]
    pub ns: Option<String>,
    /// Recursion depth below `ns`.
    #[serde(default, with = "de::opt_u64")]
    pub max_depth: Option<u64>,
    /// Keep the last n snapshots.
    #[serde(default, with = "de::opt_u64")]
    pub keep_last: Option<u64>,
    /// Keep hourly snapshots.
    #[serde(default, with = "de::opt_u64")]
    pub keep_hourly: Option<u64>,
    /// Keep daily snapshots.
    #[serde(default, with = "de::opt_u64")]
    pub keep_daily: Option<u64>,
    /// Keep weekly snapshots.
    #[serde(default, with = "de::opt_u64")]
    pub keep_weekly: Option<u64>,
    /// Keep monthly snapshots.
    #[serde(default, with = "de::opt_u64")]
    pub keep_monthly: Option<u64>,
    /// Keep yearly snapshots.
    #[serde(default, with = "de::opt_u64")]
    pub keep_yearly: Option<u64>,
    /// Schedule status.
    #[serde(flatten)]
    pub status: JobScheduleStatus,
    /// Members this version does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One item of `GET /admin/sync` (filtered: `Datastore.Audit` on the target and `Remote.Audit`
/// on the source).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SyncJobStatus {
    /// Job id.
    #[serde(with = "de::string")]
    pub id: String,
    /// Local datastore.
    #[serde(with = "de::string")]
    pub store: String,
    /// Local namespace.
    #[serde(default)]
    pub ns: Option<String>,
    /// Owner of synced groups.
    #[serde(default)]
    pub owner: Option<String>,
    /// Remote; absent = local sync.
    #[serde(default)]
    pub remote: Option<String>,
    /// Remote datastore.
    #[serde(default, with = "de::opt_string")]
    pub remote_store: Option<String>,
    /// Remote namespace.
    #[serde(default)]
    pub remote_ns: Option<String>,
    /// Remove groups/snapshots that vanished on the source.
    #[serde(default, with = "de::opt_bool")]
    pub remove_vanished: Option<bool>,
    /// Recursion depth.
    #[serde(default, with = "de::opt_u64")]
    pub max_depth: Option<u64>,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Calendar event.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Group filters, e.g. `type:vm`, `regex:…`.
    #[serde(default)]
    pub group_filter: Option<Vec<String>>,
    /// Inbound rate limit (human-readable bytes, e.g. `10 MiB`, or a number).
    #[serde(default, with = "de::opt_string_or_number")]
    pub rate_in: Option<String>,
    /// Inbound burst.
    #[serde(default, with = "de::opt_string_or_number")]
    pub burst_in: Option<String>,
    /// Outbound rate limit.
    #[serde(default, with = "de::opt_string_or_number")]
    pub rate_out: Option<String>,
    /// Outbound burst.
    #[serde(default, with = "de::opt_string_or_number")]
    pub burst_out: Option<String>,
    /// Only sync the last n snapshots.
    #[serde(default, with = "de::opt_u64")]
    pub transfer_last: Option<u64>,
    /// Re-sync corrupt snapshots (newer).
    #[serde(default, with = "de::opt_bool")]
    pub resync_corrupt: Option<bool>,
    /// Only encrypted snapshots (newer).
    #[serde(default, with = "de::opt_bool")]
    pub encrypted_only: Option<bool>,
    /// Only verified snapshots (newer).
    #[serde(default, with = "de::opt_bool")]
    pub verified_only: Option<bool>,
    /// Run when a removable datastore is mounted (newer).
    #[serde(default, with = "de::opt_bool")]
    pub run_on_mount: Option<bool>,
    /// Unmount when done (newer).
    #[serde(default, with = "de::opt_bool")]
    pub unmount_on_done: Option<bool>,
    /// `pull` or `push` (newer).
    #[serde(default)]
    pub sync_direction: Option<SyncDirection>,
    /// Worker threads (newer).
    #[serde(default, with = "de::opt_u64")]
    pub worker_threads: Option<u64>,
    /// Schedule status.
    #[serde(flatten)]
    pub status: JobScheduleStatus,
    /// Members this version does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One item of `GET /config/remote` (`RemoteWithoutPassword`). PBS never sends the password;
/// this type has no field that could hold one, and unknown members are dropped, not kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RemoteItem {
    /// Remote id, as sync jobs name it.
    #[serde(with = "de::string")]
    pub name: String,
    /// DNS name or IP address.
    #[serde(default, with = "de::opt_string")]
    pub host: Option<String>,
    /// Port; absent = 8007.
    #[serde(default, with = "de::opt_u64")]
    pub port: Option<u64>,
    /// Certificate fingerprint (SHA-256, colon hex), when pinned.
    #[serde(default, with = "de::opt_string")]
    pub fingerprint: Option<String>,
    /// The user or token the remote is read with.
    #[serde(default, with = "de::opt_string")]
    pub auth_id: Option<String>,
    /// Comment.
    #[serde(default, with = "de::opt_string")]
    pub comment: Option<String>,
}

/// One item of `GET /tape/backup` (`TapeBackupJobStatus`: setup + schedule status).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TapeBackupJobStatus {
    /// Job id.
    #[serde(with = "de::string")]
    pub id: String,
    /// Datastore written to tape.
    #[serde(with = "de::string")]
    pub store: String,
    /// Media pool.
    #[serde(default, with = "de::opt_string")]
    pub pool: Option<String>,
    /// Drive.
    #[serde(default, with = "de::opt_string")]
    pub drive: Option<String>,
    /// Namespace anchor; absent = root.
    #[serde(default, with = "de::opt_string")]
    pub ns: Option<String>,
    /// Recursion below the anchor; absent = all levels.
    #[serde(default, with = "de::opt_u64")]
    pub max_depth: Option<u64>,
    /// Group filters (same grammar as sync jobs).
    #[serde(default)]
    pub group_filter: Option<Vec<String>>,
    /// Only the newest finished snapshot per group.
    #[serde(default, with = "de::opt_bool")]
    pub latest_only: Option<bool>,
    /// Calendar event.
    #[serde(default, with = "de::opt_string")]
    pub schedule: Option<String>,
    /// Comment.
    #[serde(default, with = "de::opt_string")]
    pub comment: Option<String>,
    /// Schedule status.
    #[serde(flatten)]
    pub status: JobScheduleStatus,
    /// Members this version does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One item of `GET /tape/media/content` (`MediaContentEntry`): a snapshot found in one
/// medium's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct MediaContentEntry {
    /// Medium label.
    #[serde(default, with = "de::opt_string")]
    pub label_text: Option<String>,
    /// Media set name.
    #[serde(default, with = "de::opt_string")]
    pub media_set_name: Option<String>,
    /// Media set uuid.
    #[serde(default, with = "de::opt_string")]
    pub media_set_uuid: Option<String>,
    /// Media pool.
    #[serde(default, with = "de::opt_string")]
    pub pool: Option<String>,
    /// Datastore the snapshot came from.
    #[serde(with = "de::string")]
    pub store: String,
    /// `<type>/<id>/<RFC3339>`, or `ns/<a>/ns/<b>/<type>/<id>/<RFC3339>` below the root.
    #[serde(with = "de::string")]
    pub snapshot: String,
    /// Backup time, epoch.
    #[serde(with = "de::req_i64")]
    pub backup_time: i64,
}

impl MediaContentEntry {
    /// The snapshot path split into (namespace `a/b`, type, id); `None` when it has another shape.
    pub fn group(&self) -> Option<(String, String, String)> {
        let parts: Vec<&str> = self.snapshot.split('/').collect();
        if parts.len() < 3 || parts.len().is_multiple_of(2) {
            return None;
        }
        let (prefix, rest) = parts.split_at(parts.len() - 3);
        let mut ns = Vec::new();
        for pair in prefix.chunks(2) {
            match pair {
                ["ns", name] if !name.is_empty() => ns.push(*name),
                _ => return None,
            }
        }
        Some((ns.join("/"), rest[0].to_string(), rest[1].to_string()))
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

/// One item of `GET /nodes/localhost/tasks` — **snake_case** field names. Own tasks only unless
/// `Sys.Audit` on `/system/tasks` (plus job tasks the caller has job privileges for).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PbsTaskListItem {
    /// UPID (PBS layout, see upid.md).
    pub upid: String,
    /// Always `localhost` in the list.
    #[serde(default)]
    pub node: Option<String>,
    /// Worker pid.
    #[serde(default, with = "de::opt_i64")]
    pub pid: Option<i64>,
    /// Worker process start.
    #[serde(default, with = "de::opt_u64")]
    pub pstart: Option<u64>,
    /// Start time, epoch.
    #[serde(with = "de::req_i64")]
    pub starttime: i64,
    /// Worker type, e.g. `backup`, `verificationjob`, `garbage_collection`.
    pub worker_type: String,
    /// Worker id, **unescaped** (e.g. `store1:vm/100`); may be `null`.
    #[serde(default, with = "de::opt_string")]
    pub worker_id: Option<String>,
    /// Full auth id including `!token`.
    pub user: String,
    /// End time (finished tasks).
    #[serde(default, with = "de::opt_i64")]
    pub endtime: Option<i64>,
    /// `OK`, `WARNINGS: <n>`, error message, `unknown`; absent = running.
    #[serde(default)]
    pub status: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    /// The compact form the collector decodes, from the same answer.
    fn summary(item: &SnapshotItem) -> SnapshotSummary {
        parse(serde_json::to_value(item).unwrap())
    }

    fn enc(item: &SnapshotItem) -> Option<bool> {
        summary(item).encrypted()
    }

    fn reference_snapshot() -> Value {
        json!({"backup-type":"vm","backup-id":"100","backup-time":1716560564,"comment":"web01",
         "verification":{"state":"ok","upid":"UPID:pbs1:0000036B:00000B2A:0000001F:6650B0C0:verificationjob:store1\\x3av\\x2d1a2b:root@pam:"},
         "files":[{"filename":"qemu-server.conf.blob","crypt-mode":"none","size":512},
                  {"filename":"drive-scsi0.img.fidx","crypt-mode":"none","size":34359738368u64},
                  {"filename":"index.json.blob","crypt-mode":"none","size":620},
                  {"filename":"client.log.blob"}],
         "size":34359739500u64,"owner":"pve@pbs!pve1","protected":false})
    }

    #[test]
    fn version() {
        let v: PbsVersion = parse(
            json!({"version": "3.2", "release": "4", "repoid": "4940514b0f05d6cd6a5f711edfdd47c1fa41b537"}),
        );
        assert_eq!((v.version.as_str(), v.release.as_str()), ("3.2", "4"));
        let v: PbsVersion =
            parse(json!({"version": "3.2", "release": "4", "repoid": "abc", "new": 1}));
        assert_eq!((v.version.as_str(), v.release.as_str()), ("3.2", "4"));
        // PBS serializes these as strings: a number is a wrong type that must not become "3.2".
        let err = serde_json::from_value::<PbsVersion>(
            json!({"version": 3.2, "release": "4", "repoid": "abc"}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("expected a string, got 3.2"), "{err}");
    }

    #[test]
    fn datastore_list_items() {
        let items: Vec<DatastoreListItem> = parse(json!([
            {"store": "store1", "comment": "main", "maintenance": "type=read-only,message=moving",
             "mount-status": "nonremovable", "backend-type": "filesystem"},
            {"store": "usb1", "mount-status": "notmounted"},
            {"store": "cloud", "mount-status": "half-mounted", "backend-type": "tape", "future": 1}
        ]));
        assert_eq!(items[0].comment.as_deref(), Some("main"));
        assert_eq!(
            items[0].maintenance.as_deref(),
            Some("type=read-only,message=moving")
        );
        assert_eq!(items[0].mount_status, Some(MountStatus::NonRemovable));
        assert_eq!(items[0].backend_type, Some(BackendType::Filesystem));
        assert_eq!(items[1].comment, None);
        assert_eq!(items[1].mount_status, Some(MountStatus::NotMounted));
        assert_eq!(
            items[2].mount_status,
            Some(MountStatus::Other("half-mounted".to_owned()))
        );
        assert_eq!(
            items[2].backend_type,
            Some(BackendType::Other("tape".to_owned()))
        );
        assert_eq!(items[2].extra.get("future"), Some(&json!(1)));
    }

    #[test]
    fn datastore_usage_full_entry() {
        let u: DatastoreUsage = parse(
            json!({"store": "store1", "total": 1000, "used": 400, "avail": 600,
            "history": [0.1, null, 0.4], "history-start": 1714000000, "history-delta": 86400,
            "estimated-full-date": 1730000000, "mount-status": "nonremovable",
            "gc-status": {"upid": "UPID:pbs1:x", "index-file-count": 5, "index-data-bytes": 100,
                          "disk-bytes": 50, "disk-chunks": 4, "removed-bytes": 0, "removed-chunks": 0,
                          "pending-bytes": 0, "pending-chunks": 0, "removed-bad": 0, "still-bad": 0}}),
        );
        assert_eq!(
            (u.total_bytes(), u.used_bytes(), u.avail_bytes()),
            (Some(1000), Some(400), Some(600))
        );
        assert_eq!(u.history, Some(vec![Some(0.1), None, Some(0.4)]));
        assert_eq!(u.history_start, Some(1_714_000_000));
        assert_eq!(u.history_delta, Some(86400));
        assert_eq!(u.estimated_full(), Some(EstimatedFull::At(1_730_000_000)));
        let gc = u.gc_status.as_ref().unwrap();
        assert_eq!(gc.index_file_count, Some(5));
        assert_eq!(gc.disk_chunks, Some(4));
        assert_eq!(u.error, None);
    }

    #[test]
    fn datastore_usage_never_full_error_and_old_minus_one() {
        let never: DatastoreUsage = parse(
            json!({"store": "s", "total": "1000", "used": "1", "avail": "999", "estimated-full-date": 0}),
        );
        assert_eq!(never.estimated_full(), Some(EstimatedFull::Never));
        assert_eq!(never.total_bytes(), Some(1000));
        let old_error: DatastoreUsage =
            parse(json!({"store": "s", "total": -1, "used": -1, "avail": -1, "error": "ENOENT"}));
        assert_eq!(old_error.total, Some(-1));
        assert_eq!(old_error.total_bytes(), None);
        assert_eq!(old_error.error.as_deref(), Some("ENOENT"));
        assert_eq!(old_error.estimated_full(), None);
        let empty: DatastoreUsage =
            parse(json!({"store": "s", "mount-status": "nonremovable", "new": [1]}));
        assert_eq!(empty.total, None);
        assert_eq!(empty.extra.get("new"), Some(&json!([1])));
    }

    #[test]
    fn namespaces() {
        let items: Vec<NamespaceItem> = parse(
            json!([{"ns": ""}, {"ns": "cluster-a"}, {"ns": "cluster-a/prod", "comment": null, "x": 1}, {"ns": "2024"}]),
        );
        assert_eq!(
            items.iter().map(|n| n.ns.as_str()).collect::<Vec<_>>(),
            vec!["", "cluster-a", "cluster-a/prod", "2024"]
        );
        // A namespace is a string: a number is a wrong type, not another spelling.
        assert!(serde_json::from_value::<NamespaceItem>(json!({"ns": 2024})).is_err());
    }

    #[test]
    fn groups() {
        let items: Vec<GroupItem> = parse(json!([
            {"backup-type": "vm", "backup-id": "100", "last-backup": 1716560564, "backup-count": 12,
             "files": ["qemu-server.conf.blob", "drive-scsi0.img.fidx", "index.json.blob"], "owner": "pve@pbs!pve1", "comment": "web"},
            {"backup-type": "ct", "backup-id": "101", "last-backup": "1716560564", "backup-count": "3", "files": []},
            {"backup-type": "tape", "backup-id": "x", "future": 1}
        ]));
        assert_eq!(items[0].backup_type, BackupType::Vm);
        assert_eq!(items[0].backup_count, Some(12));
        assert_eq!(items[0].files.as_ref().unwrap().len(), 3);
        assert_eq!(items[0].owner.as_deref(), Some("pve@pbs!pve1"));
        assert_eq!(
            (
                items[1].backup_id.as_str(),
                items[1].last_backup,
                items[1].backup_count
            ),
            ("101", Some(1_716_560_564), Some(3))
        );
        assert_eq!(items[2].backup_type, BackupType::Other("tape".to_owned()));
        assert_eq!(items[2].last_backup, None);
    }

    #[test]
    fn groups_pbs_4_1_empty_group_has_no_latest_backup() {
        // PBS ≥ 4.0.17 keeps groups without snapshots: backup-count 0, last-backup 0.
        let items: Vec<GroupItem> = parse(json!([
            {"backup-type": "vm", "backup-id": "100", "last-backup": 0, "backup-count": 0,
             "files": [], "owner": "pve@pbs!pve1"},
            {"backup-type": "ct", "backup-id": "101", "last-backup": "0", "backup-count": "0", "files": []}
        ]));
        assert_eq!(
            (items[0].last_backup, items[0].backup_count),
            (None, Some(0))
        );
        assert_eq!(
            (items[1].last_backup, items[1].backup_count),
            (None, Some(0))
        );
    }

    #[test]
    fn groups_and_snapshots_pbs_4_2_metadata_mode_container() {
        // Change detection `data`/`metadata`: root.mpxar.didx + root.ppxar.didx, no catalog.
        let items: Vec<GroupItem> = parse(json!([
            {"backup-type": "ct", "backup-id": "101", "last-backup": 1768420896, "backup-count": 4,
             "files": ["pct.conf.blob", "root.mpxar.didx", "root.ppxar.didx", "index.json.blob"]}
        ]));
        assert_eq!(items[0].last_backup, Some(1_768_420_896));
        assert_eq!(items[0].files.as_ref().map(Vec::len), Some(4));
        let s: SnapshotItem = parse(json!({"backup-type": "ct", "backup-id": "101",
            "backup-time": 1768420896, "size": 300, "files": [
                {"filename": "index.json.blob", "crypt-mode": "none", "size": 100},
                {"filename": "pct.conf.blob", "crypt-mode": "encrypt", "size": 100},
                {"filename": "root.mpxar.didx", "crypt-mode": "encrypt", "size": 50},
                {"filename": "root.ppxar.didx", "crypt-mode": "encrypt", "size": 50}]}));
        // Both metadata-mode archives count as archives, like root.pxar.didx.
        assert_eq!(enc(&s), Some(true));
        assert!(!summary(&s).in_progress());
    }

    #[test]
    fn snapshot_reference_example() {
        let s: SnapshotItem = parse(reference_snapshot());
        assert_eq!(s.backup_type, BackupType::Vm);
        assert_eq!(s.backup_id, "100");
        assert_eq!(s.backup_time, 1_716_560_564);
        assert_eq!(s.comment.as_deref(), Some("web01"));
        let verification = s.verification.as_ref().unwrap();
        assert_eq!(verification.state, VerifyState::Ok);
        assert!(verification
            .upid
            .as_deref()
            .unwrap()
            .starts_with("UPID:pbs1:0000036B"));
        let files = s.files.as_ref().unwrap();
        assert_eq!(files.len(), 4);
        assert_eq!(files[1].crypt_mode, Some(CryptMode::None));
        assert_eq!(files[1].size, Some(34_359_738_368));
        assert_eq!(files[3].crypt_mode, None);
        assert_eq!(s.size, Some(34_359_739_500));
        assert_eq!(s.owner.as_deref(), Some("pve@pbs!pve1"));
        assert_eq!(s.protected, Some(false));
        assert!(!summary(&s).in_progress());
        assert_eq!(enc(&s), Some(false));
    }

    #[test]
    fn snapshot_in_progress_perl_typing_and_unknowns() {
        let running: SnapshotItem = parse(
            json!({"backup-type": "ct", "backup-id": "101", "backup-time": "1716560564",
            "files": [{"filename": "root.pxar.didx"}, {"filename": "index.json.blob"}], "owner": "root@pam",
            "protected": "0", "future": {"a": 1}}),
        );
        assert_eq!(running.backup_id, "101");
        assert_eq!(running.backup_time, 1_716_560_564);
        assert!(summary(&running).in_progress());
        assert_eq!(enc(&running), None);
        assert_eq!(running.protected, Some(false));
        assert_eq!(running.verification, None);

        let odd: SnapshotItem = parse(
            json!({"backup-type": "vm", "backup-id": "102", "backup-time": 1,
            "verification": {"state": "pending"}, "size": "10",
            "files": [{"filename": "drive-scsi0.img.fidx", "crypt-mode": "quantum", "size": "10"}]}),
        );
        assert_eq!(
            odd.verification.as_ref().unwrap().state,
            VerifyState::Other("pending".to_owned())
        );
        assert_eq!(
            odd.files.as_ref().unwrap()[0].crypt_mode,
            Some(CryptMode::Other("quantum".to_owned()))
        );
        assert_eq!(enc(&odd), None);
    }

    /// The collector's compact form keeps what a verdict reads (verification state and UPID,
    /// encryption, size, owner) and no file name.
    #[test]
    fn snapshot_summary_keeps_the_verdicts_facts_and_no_file_names() {
        let item: SnapshotItem = parse(reference_snapshot());
        let compact: SnapshotSummary = parse(reference_snapshot());
        assert_eq!(compact.verification, item.verification);
        assert_eq!(compact.size, item.size);
        assert_eq!(compact.owner, item.owner);
        assert_eq!(compact.encrypted(), Some(false));
        assert_eq!(
            compact.files,
            Some(ArchiveModes {
                archives: 2,
                plain: true,
                unknown: false
            })
        );
        let text = serde_json::to_string(&compact).unwrap();
        assert!(!text.contains(".fidx") && !text.contains(".blob"), "{text}");
    }

    #[test]
    fn snapshot_encryption_follows_pve_rule() {
        let encrypted_files = json!([
            {"filename": "qemu-server.conf.blob", "crypt-mode": "encrypt", "size": 512},
            {"filename": "drive-scsi0.img.fidx", "crypt-mode": "encrypt", "size": 100},
            {"filename": "index.json.blob", "crypt-mode": "sign-only", "size": 620},
            {"filename": "client.log.blob"}]);
        let all_encrypted: SnapshotItem = parse(
            json!({"backup-type": "vm", "backup-id": "100", "backup-time": 1, "size": 1232, "files": encrypted_files}),
        );
        assert_eq!(enc(&all_encrypted), Some(true));

        let with_fingerprint: SnapshotItem = parse(
            json!({"backup-type": "vm", "backup-id": "100", "backup-time": 1,
            "fingerprint": "aa:bb", "size": 1, "files": [{"filename": "drive-scsi0.img.fidx", "crypt-mode": "sign-only", "size": 1}]}),
        );
        assert_eq!(enc(&with_fingerprint), Some(true));

        let mixed: SnapshotItem = parse(
            json!({"backup-type": "vm", "backup-id": "100", "backup-time": 1, "size": 2, "files": [
            {"filename": "drive-scsi0.img.fidx", "crypt-mode": "encrypt", "size": 1},
            {"filename": "drive-scsi1.img.fidx", "crypt-mode": "none", "size": 1}]}),
        );
        assert_eq!(enc(&mixed), Some(false));

        let only_meta: SnapshotItem = parse(
            json!({"backup-type": "vm", "backup-id": "100", "backup-time": 1, "size": 620, "files": [
            {"filename": "index.json.blob", "crypt-mode": "none", "size": 620}]}),
        );
        assert_eq!(enc(&only_meta), None);
    }

    #[test]
    fn gc_status_job_form_old_form_and_never_ran() {
        let job: GcStatus = parse(
            json!({"store": "store1", "schedule": "daily", "next-run": 1716600000,
            "last-run-endtime": 1716513600, "last-run-state": "OK", "duration": 42,
            "upid": "UPID:pbs1:00000001:00000002:00000003:6650B0C0:garbage_collection:store1:root@pam:",
            "index-file-count": 10, "index-data-bytes": 2000, "disk-bytes": 1000, "disk-chunks": 20,
            "removed-bytes": 5, "removed-chunks": 1, "pending-bytes": 7, "pending-chunks": 2,
            "removed-bad": 0, "still-bad": 1, "cache-stats": {"hits": 9, "misses": 1}}),
        );
        assert_eq!(job.store.as_deref(), Some("store1"));
        assert_eq!(job.schedule.as_deref(), Some("daily"));
        assert_eq!(job.next_run, Some(1_716_600_000));
        assert_eq!(job.last_run_state.as_deref(), Some("OK"));
        assert_eq!(job.duration, Some(42));
        assert_eq!((job.pending_bytes, job.still_bad), (Some(7), Some(1)));
        assert_eq!(
            job.cache_stats,
            Some(GcCacheStats {
                hits: Some(9),
                misses: Some(1)
            })
        );

        let never: GcStatus = parse(
            json!({"index-file-count": "0", "index-data-bytes": "0", "disk-bytes": 0,
            "disk-chunks": 0, "removed-bytes": 0, "removed-chunks": 0, "pending-bytes": 0,
            "pending-chunks": 0, "removed-bad": 0, "still-bad": 0, "new-counter": 3}),
        );
        assert_eq!(never.upid, None);
        assert_eq!(never.index_file_count, Some(0));
        assert_eq!(never.store, None);
        let list: Vec<GcStatus> =
            parse(json!([{"store": "a"}, {"store": "b", "last-run-state": "WARNINGS: 1"}]));
        assert_eq!(list[1].last_run_state.as_deref(), Some("WARNINGS: 1"));
    }

    #[test]
    fn verify_jobs_with_flattened_status() {
        let jobs: Vec<VerifyJobStatus> = parse(json!([
            {"id": "v-1", "store": "store1", "ns": "cluster-a", "max-depth": 0, "ignore-verified": true,
             "outdated-after": 30, "schedule": "daily", "comment": "c", "read-threads": 1, "verify-threads": 4,
             "next-run": 1716600000, "last-run-state": "OK", "last-run-upid": "UPID:v", "last-run-endtime": 1716513600},
            {"id": "2", "store": "store1", "ignore-verified": "0", "max-depth": "7", "future-flag": "x"}
        ]));
        assert_eq!(jobs[0].ns.as_deref(), Some("cluster-a"));
        assert_eq!(jobs[0].max_depth, Some(0));
        assert_eq!(jobs[0].ignore_verified, Some(true));
        assert_eq!(jobs[0].outdated_after, Some(30));
        assert_eq!(jobs[0].verify_threads, Some(4));
        assert_eq!(
            jobs[0].status,
            JobScheduleStatus {
                next_run: Some(1_716_600_000),
                last_run_state: Some("OK".to_owned()),
                last_run_upid: Some("UPID:v".to_owned()),
                last_run_endtime: Some(1_716_513_600),
            }
        );
        assert!(
            jobs[0].extra.is_empty(),
            "status fields must not leak into extra: {:?}",
            jobs[0].extra
        );
        assert_eq!(jobs[1].id, "2");
        assert_eq!(jobs[1].ignore_verified, Some(false));
        assert_eq!(jobs[1].max_depth, Some(7));
        assert_eq!(jobs[1].status, JobScheduleStatus::default());
        assert_eq!(jobs[1].extra.get("future-flag"), Some(&json!("x")));
    }

    #[test]
    fn prune_jobs() {
        let jobs: Vec<PruneJobStatus> = parse(json!([
            {"id": "p-1", "store": "store1", "schedule": "daily", "ns": "a", "max-depth": 1,
             "keep-last": 3, "keep-hourly": 0, "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6, "keep-yearly": 1,
             "comment": "c", "last-run-state": "job errors", "next-run": "1716600000"},
            {"id": "p-2", "store": "store2", "disable": true, "schedule": "weekly", "keep-daily": "14", "keep-all": 1}
        ]));
        assert_eq!(
            (jobs[0].keep_last, jobs[0].keep_daily, jobs[0].keep_yearly),
            (Some(3), Some(7), Some(1))
        );
        assert_eq!(jobs[0].status.last_run_state.as_deref(), Some("job errors"));
        assert_eq!(jobs[0].status.next_run, Some(1_716_600_000));
        assert_eq!(jobs[0].disable, None);
        assert_eq!(jobs[1].disable, Some(true));
        assert_eq!(jobs[1].keep_daily, Some(14));
        assert_eq!(jobs[1].extra.get("keep-all"), Some(&json!(1)));
    }

    #[test]
    fn sync_jobs() {
        let jobs: Vec<SyncJobStatus> = parse(json!([
            {"id": "s-1", "store": "store1", "ns": "mirror", "owner": "sync@pbs", "remote": "pbs2",
             "remote-store": "store9", "remote-ns": "prod", "remove-vanished": false, "max-depth": 2,
             "comment": "offsite", "schedule": "hourly", "group-filter": ["type:vm", "regex:^vm/1\\d+,x"],
             "rate-in": "10 MiB", "burst-in": 20971520, "transfer-last": 5, "resync-corrupt": true,
             "encrypted-only": false, "verified-only": "1", "run-on-mount": 0, "unmount-on-done": 0,
             "sync-direction": "push", "worker-threads": 2,
             "next-run": 1716600000, "last-run-state": "OK", "last-run-upid": "UPID:s", "last-run-endtime": 1716513600},
            {"id": "s-2", "store": "store1", "sync-direction": "sideways", "brand-new": 1}
        ]));
        let s = &jobs[0];
        assert_eq!(s.remote.as_deref(), Some("pbs2"));
        assert_eq!(s.remote_store.as_deref(), Some("store9"));
        assert_eq!(
            s.group_filter,
            Some(vec!["type:vm".to_owned(), "regex:^vm/1\\d+,x".to_owned()])
        );
        assert_eq!(s.rate_in.as_deref(), Some("10 MiB"));
        assert_eq!(s.burst_in.as_deref(), Some("20971520"));
        assert_eq!(s.transfer_last, Some(5));
        assert_eq!(s.verified_only, Some(true));
        assert_eq!(s.run_on_mount, Some(false));
        assert_eq!(s.sync_direction, Some(SyncDirection::Push));
        assert_eq!(s.status.last_run_upid.as_deref(), Some("UPID:s"));
        assert!(s.extra.is_empty(), "{:?}", s.extra);
        assert_eq!(jobs[1].remote, None);
        assert_eq!(
            jobs[1].sync_direction,
            Some(SyncDirection::Other("sideways".to_owned()))
        );
        assert_eq!(jobs[1].extra.get("brand-new"), Some(&json!(1)));
    }

    #[test]
    fn task_list_snake_case() {
        let items: Vec<PbsTaskListItem> = parse(json!([
            {"upid": "UPID:pbs1:0000036B:00000B2A:0000001F:6650B0C0:backup:store1\\x3avm-100:pve@pbs!pve1:",
             "node": "localhost", "pid": 875, "pstart": 2858, "starttime": 1716563136,
             "worker_type": "backup", "worker_id": "store1:vm/100", "user": "pve@pbs!pve1",
             "endtime": 1716563200, "status": "OK"},
            {"upid": "UPID:pbs1:x", "node": "localhost", "pid": "1", "pstart": "2", "starttime": "1716563136",
             "worker_type": "garbage_collection", "worker_id": null, "user": "root@pam", "future": 1}
        ]));
        assert_eq!(items[0].worker_type, "backup");
        assert_eq!(items[0].worker_id.as_deref(), Some("store1:vm/100"));
        assert_eq!(items[0].user, "pve@pbs!pve1");
        assert_eq!(items[0].endtime, Some(1_716_563_200));
        assert_eq!(items[1].pid, Some(1));
        assert_eq!(items[1].worker_id, None);
        assert_eq!(items[1].status, None);
        // kebab-case names are not the PBS task list format.
        assert!(serde_json::from_value::<PbsTaskListItem>(
            json!({"upid": "u", "starttime": 1, "worker-type": "backup", "user": "u"})
        )
        .is_err());
    }
}
