//! Parsing of one PVE vzdump (backup) task log into job-level facts and per-guest runs.
//!
//! Owns the output model ([`VzdumpLog`], [`GuestRun`], …) and the [`Parser`], fed line by line
//! as a log's pages arrive. The log lines are the `t` texts of `GET /nodes/{node}/tasks/{upid}/log`
//! (no timestamps). Formats follow pve-manager `PVE/VZDump.pm`, qemu-server
//! `PVE/VZDump/QemuServer.pm` and pve-container `PVE/VZDump/LXC.pm` from PVE 6 to 9.
//!
//! The parser never fails and never panics: a line it does not recognise is counted in
//! [`VzdumpLog::unknown_lines`] and skipped, and an inconsistent section (a guest that never
//! ends, an end without a start) only affects that guest.

mod command;
mod line;
mod parser;
mod restore;
mod size;
mod time;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Serialize, Serializer};

#[cfg(test)]
pub use parser::parse_vzdump_log;
pub use parser::Parser;
pub use restore::{parse_restore_log, ReaderId, RestoreSource};

/// Version of what the [`Parser`] makes of a log. Bump it whenever a change to the parser
/// can change its output for some log (a new field, a line read differently): results cached by
/// an older parser are then read again instead of trusted.
pub const PARSER_VERSION: u32 = 1;

/// Everything learned from one vzdump task log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VzdumpLog {
    /// The job's command line from `starting new backup job: vzdump …`; `None` if the job failed
    /// before printing it or the line is missing.
    pub command: Option<JobCommand>,
    /// Guests selected by the job that live on other nodes (`skip external VMs: 200, 201`).
    pub skipped_external: Vec<u32>,
    /// One entry per guest block, in log order (ascending VMID in practice).
    pub guests: Vec<GuestRun>,
    /// `Backup job finished successfully` / `… with errors` / `Backup job failed - <err>`.
    pub job_outcome: Option<JobOutcome>,
    /// The final `TASK …` line; `None` = log truncated, task killed or still running.
    pub task_end: Option<TaskEnd>,
    /// Job-level failure text: `Backup job failed - <err>`, a global-lock failure, or a
    /// `TASK ERROR:` message other than `job errors`. The first one seen wins.
    pub job_error: Option<String>,
    /// Lines recognised as nothing (hook script output, unknown client output, …); never an error.
    pub unknown_lines: usize,
    /// `WARN:` lines outside any guest block (prefix stripped, continuation lines joined by a space).
    pub warnings: Vec<String>,
}

impl VzdumpLog {
    /// The last run of guest `vmid` in this log, if any.
    #[cfg(test)] // the parser tests read the log through it
    pub fn guest(&self, vmid: u32) -> Option<&GuestRun> {
        self.guests.iter().rev().find(|g| g.vmid == vmid)
    }
}

/// The `vzdump` command line printed at job start: VMIDs first, then `--option value` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobCommand {
    /// Explicitly listed VMIDs (only for jobs that select guests by VMID).
    pub vmids: Vec<u32>,
    /// Options without the leading `--`, values shell-unquoted. Options printed more than once
    /// (`--mailto`, `--exclude-path`) have their values joined with `,` in log order.
    pub options: BTreeMap<String, String>,
}

impl JobCommand {
    /// A raw option value (`key` without `--`).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// Target storage (`--storage`).
    pub fn storage(&self) -> Option<&str> {
        self.option("storage")
    }

    /// The fleecing storage when the job used fleecing (`--fleecing 'enabled=1,storage=x'`;
    /// a bare first entry is `enabled`, whose default is off): `Some(None)` when enabled
    /// without a storage, `None` when off, absent or unreadable.
    pub fn fleecing(&self) -> Option<Option<String>> {
        let value = serde_json::Value::String(self.option("fleecing")?.to_string());
        let map = crate::api::de::fleecing_map_from_value(&value).ok()??;
        let enabled = matches!(
            map.get("enabled").map(String::as_str),
            Some("1" | "true" | "yes" | "on")
        );
        enabled.then(|| map.get("storage").filter(|s| !s.is_empty()).cloned())
    }

    /// Backup mode requested for the job (`--mode`: snapshot, suspend or stop).
    #[cfg(test)] // the parser tests read the log through it
    pub fn mode(&self) -> Option<&str> {
        self.option("mode")
    }

    /// Whether the job selects all guests (`--all 1`). vzdump's default is 0, so an absent
    /// option means `false`.
    pub fn all(&self) -> bool {
        matches!(self.option("all"), Some("1" | "true" | "yes" | "on"))
    }

    /// Pool selection (`--pool`).
    pub fn pool(&self) -> Option<&str> {
        self.option("pool")
    }

    /// Excluded VMIDs (`--exclude 101,102`); entries that are not VMIDs are skipped.
    pub fn exclude(&self) -> Vec<u32> {
        self.option("exclude")
            .map(|value| {
                value
                    .split([',', ';', ' ', '\t'])
                    .filter_map(|item| item.trim().parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Node restriction (`--node`).
    #[cfg(test)] // the parser tests read the log through it
    pub fn node(&self) -> Option<&str> {
        self.option("node")
    }

    /// Backup job id (`--job-id`). vzdump does not print it in the PVE versions documented so
    /// far, so this is normally `None`.
    #[cfg(test)] // the parser tests read the log through it
    pub fn job_id(&self) -> Option<&str> {
        self.option("job-id")
    }
}

/// Result of the job as a whole, from the job summary line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JobOutcome {
    /// `Backup job finished successfully` (also printed when there were no guests).
    Success,
    /// `Backup job finished with errors`: at least one guest failed.
    WithErrors,
    /// `Backup job failed - <err>`: the job died outside the per-guest handling.
    Failed {
        /// The error text (continuation `ERROR:` lines joined by a space).
        error: String,
    },
}

/// The final `TASK …` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskEnd {
    /// `TASK OK`.
    Ok,
    /// `TASK WARNINGS: <n>`.
    Warnings(u32),
    /// `TASK ERROR: <msg>` (`job errors` when at least one guest failed).
    Error(String),
}

/// Guest type from `Starting Backup of VM <vmid> (<qemu|lxc>)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestKind {
    /// A QEMU virtual machine.
    Qemu,
    /// An LXC container.
    Lxc,
}

/// One guest's backup within the task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestRun {
    /// The guest's VMID.
    pub vmid: u32,
    /// `None` when the block had no `Starting Backup` line (e.g. a deleted VMID).
    pub guest_type: Option<GuestKind>,
    /// From `VM Name: <name>` / `CT Name: <hostname>`.
    pub name: Option<CompactString>,
    /// From `Backup started at <node local time>`, converted to UTC.
    #[serde(serialize_with = "serialize_opt_utc")]
    pub started_at: Option<DateTime<Utc>>,
    /// From `Backup finished at …` (success) or `Failed at …` (failure), converted to UTC.
    #[serde(serialize_with = "serialize_opt_utc")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Elapsed seconds from `Finished Backup of VM <vmid> (HH:MM:SS)`.
    pub duration_s: Option<u64>,
    /// How the guest's backup ended.
    pub outcome: GuestOutcome,
    /// Effective backup mode from `backup mode: <snapshot|suspend|stop>`.
    pub mode: Option<CompactString>,
    /// Where the archive was written (`creating … archive '<target>'`).
    pub archive: Option<ArchiveTarget>,
    /// From `archive file size: <size>` (file storages only), bytes.
    pub archive_size_bytes: Option<u64>,
    /// Bytes the backup processed/sent: QEMU `transferred <size> in …`, tar
    /// `Total bytes written: <n>`, or else the sum of the PBS client's
    /// `<archive>: had to backup <size> of …` lines (data that had to be uploaded).
    pub transferred_bytes: Option<u64>,
    /// Disks and mount points left out of the backup.
    pub excluded_volumes: Vec<ExcludedVolume>,
    /// `WARN:` lines inside this guest's block (prefix stripped, continuation lines joined by a space).
    pub warnings: Vec<String>,
    /// Fleecing images of an earlier run that this one removed (`removing (old) fleecing image
    /// '<volid>'`). Absent in a cached log parsed by an older version: read as none; left out
    /// of the inventory when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fleecing_removed: Vec<String>,
}

impl GuestRun {
    /// An empty run for `vmid` whose outcome is not known yet.
    pub(crate) fn new(vmid: u32, guest_type: Option<GuestKind>) -> GuestRun {
        GuestRun {
            vmid,
            guest_type,
            name: None,
            started_at: None,
            finished_at: None,
            duration_s: None,
            outcome: GuestOutcome::Unknown,
            mode: None,
            archive: None,
            archive_size_bytes: None,
            transferred_bytes: None,
            excluded_volumes: Vec::new(),
            warnings: Vec::new(),
            fleecing_removed: Vec::new(),
        }
    }
}

/// How one guest's backup ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum GuestOutcome {
    /// `Finished Backup of VM <vmid> (…)`.
    Ok,
    /// `ERROR: Backup of VM <vmid> failed - <err>`.
    Failed {
        /// The error text: the rest of the failed line, continuation `ERROR:` lines appended
        /// with a single space.
        error: String,
    },
    /// Started but no end line: log truncated, task killed or still running.
    Unknown,
}

/// The archive target from `creating <kind> archive '<target>'`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ArchiveTarget {
    /// `creating Proxmox Backup Server archive '<vm|ct>/<id>/<UTC time>'`.
    Pbs {
        /// `vm` or `ct`.
        backup_type: CompactString,
        /// The backup id (the VMID).
        backup_id: CompactString,
        /// The snapshot's backup time (UTC).
        #[serde(serialize_with = "serialize_utc")]
        backup_time: DateTime<Utc>,
    },
    /// `creating vzdump archive '<path>'`, or before pve-manager 6.2-7 `creating archive '<path>'`.
    File {
        /// Full archive path on the node.
        path: String,
    },
    /// Any other kind (e.g. a PVE 9 backup provider), or a PBS target that does not parse.
    Other {
        /// The kind text between `creating ` and ` archive`.
        kind: String,
        /// The quoted target text.
        target: String,
    },
}

/// A disk or mount point that vzdump left out of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedVolume {
    /// Config key: `scsi1`, `efidisk0`, `mp0`, …
    pub key: String,
    /// Volume id for VM disks (`local-lvm:vm-100-disk-1`), path inside the container for
    /// mount points (`/data`).
    pub volume: String,
    /// Reason as printed: `backup=no`, `efidisk but no OVMF BIOS`, `disabled`, `not a volume`.
    pub reason: String,
    /// Mount point type for containers (`volume`, `bind`, `device`); `None` for VM disks.
    pub mount_type: Option<String>,
}

fn rfc3339(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// chrono's own serde support is a crate feature; RFC 3339 strings keep output identical either way.
fn serialize_utc<S: Serializer>(dt: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(dt))
}

fn serialize_opt_utc<S: Serializer>(
    dt: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match dt {
        Some(dt) => serializer.serialize_some(&rfc3339(dt)),
        None => serializer.serialize_none(),
    }
}
