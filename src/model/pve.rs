//! Domain types for what PVE reports: nodes, guests, storages, backup jobs, pools, vzdump tasks.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Observed;
use crate::api::server::split_host_port;
use crate::tasklog::VzdumpLog;

/// A guest id (VMID).
pub type Vmid = u32;

/// Everything collected from the PVE cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PveInventory {
    /// The cluster's name in reports (`PVE_NAME`/`PVEnn_NAME`, else the host without its port).
    pub name: String,
    /// `host:port` the data came from.
    pub host: String,
    /// pve-manager version, e.g. `8.2.4`.
    pub version: Option<String>,
    /// Cluster nodes, sorted by name.
    pub nodes: Observed<Node>,
    /// Guests (VMs and containers), sorted by VMID.
    pub guests: Observed<Guest>,
    /// Storages, sorted by id.
    pub storages: Observed<Storage>,
    /// Backup jobs, sorted by id.
    pub jobs: Observed<BackupJob>,
    /// Pools with their direct members, sorted by id.
    pub pools: Observed<Pool>,
    /// vzdump task history per node, sorted by node.
    pub task_history: Vec<NodeTaskHistory>,
    /// Backup archives listed through PVE storage content, sorted by (storage, vmid, time).
    pub storage_backups: Observed<StorageBackup>,
    /// PVE's own `/cluster/backup-info/not-backed-up` list (VMIDs), for the cross-check.
    pub not_backed_up: Observed<Vmid>,
    /// Running vzdump tasks, read only on nodes that hold a guest locked for backup, sorted by
    /// node.
    pub running_backups: Vec<NodeRunningBackups>,
    /// Storage replication jobs of the guests, sorted by id: shown, never counted as backups.
    pub replication: Observed<Replication>,
    /// Finished restore tasks (`qmrestore`, `vzrestore`) in the history window, newest first:
    /// shown as "last restore", never as a tested restore.
    pub restores: Observed<Restore>,
    /// Leftover fleecing images on the storages enabled jobs fleece to (left out of the
    /// inventory when no job uses fleecing).
    #[serde(skip_serializing_if = "FleecingScan::is_empty")]
    pub fleecing: FleecingScan,
}

/// What the collector saw of fleecing images: the storages enabled jobs fleece to, per node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FleecingScan {
    /// `vm-<vmid>-fleece-<n>` images found, sorted by (node, storage, volid).
    pub images: Vec<FleecingImage>,
    /// Storage ids whose images were listed on every node asked, sorted.
    pub listed: Vec<String>,
    /// Storage ids whose images cannot be listed read-only (the content list shows VM images
    /// only with `Datastore.Allocate`) or whose listing failed, sorted.
    pub unseen: Vec<String>,
}

impl FleecingScan {
    /// Whether nothing was looked for (no enabled job fleeces to a named storage).
    pub fn is_empty(&self) -> bool {
        self.images.is_empty() && self.listed.is_empty() && self.unseen.is_empty()
    }
}

/// A fleecing image left on a storage: a crashed or killed backup did not remove it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FleecingImage {
    /// The node whose storage content listed it.
    pub node: String,
    /// The storage.
    pub storage: String,
    /// `<storage>:vm-<vmid>-fleece-<n>[.<format>]`.
    pub volid: String,
    /// The VM it belongs to.
    pub vmid: Vmid,
}

impl PveInventory {
    /// A cluster nothing could be read from: every list unavailable for `reason`.
    pub fn unavailable(name: String, host: String, reason: &str) -> PveInventory {
        PveInventory {
            name,
            host,
            version: None,
            nodes: Observed::unavailable(reason),
            guests: Observed::unavailable(reason),
            storages: Observed::unavailable(reason),
            jobs: Observed::unavailable(reason),
            pools: Observed::unavailable(reason),
            task_history: Vec::new(),
            storage_backups: Observed::unavailable(reason),
            not_backed_up: Observed::unavailable(reason),
            running_backups: Vec::new(),
            replication: Observed::unavailable(reason),
            restores: Observed::unavailable(reason),
            // No job is known, so no fleecing storage was looked at.
            fleecing: FleecingScan::default(),
        }
    }
}

/// A PVE task that restored a guest from a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restore {
    /// The guest restored (the task's id: the target VMID).
    pub guest: Vmid,
    /// `qmrestore` or `vzrestore`.
    pub kind: &'static str,
    /// The node that ran it.
    pub node: String,
    /// The task's UPID.
    pub upid: String,
    /// Start time.
    pub time: DateTime<Utc>,
    /// The task's final status (`OK`, `WARNINGS: 1`, an error), None while running.
    pub status: Option<String>,
    /// What it restored, from its log (None: the log named no backup, or could not be read).
    pub source: Option<crate::tasklog::RestoreSource>,
}

/// A PVE storage replication job: the newest state of a guest's disks on another node, no
/// history and no archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replication {
    /// Job id `<vmid>-<jobnum>`.
    pub id: String,
    /// The guest.
    pub guest: Vmid,
    /// Target node.
    pub target: Option<String>,
    /// Whether the job is enabled.
    pub enabled: bool,
    /// Start of the last successful run (None: never).
    pub last_sync: Option<DateTime<Utc>>,
    /// Failed attempts since then.
    pub fail_count: u64,
    /// The last error, while failing.
    pub error: Option<String>,
}

/// The vzdump tasks running on one node: whether a `lock: backup` there is a live backup's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeRunningBackups {
    /// Node name.
    pub node: String,
    /// Whether the list shows every user's tasks (Sys.Audit on the node, answer read).
    pub completeness: super::Completeness,
    /// The running tasks' (UPID, task id), sorted.
    pub tasks: Vec<(String, String)>,
}

/// A cluster node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Node name.
    pub name: String,
    /// `online`, `offline` or `unknown` as PVE reports it.
    pub status: String,
    /// IANA time zone from `/nodes/{node}/time` (None when not readable).
    pub timezone: Option<String>,
    /// When the node last booted: collection time minus `/nodes` `uptime` (None without
    /// `Sys.Audit` on the node, or while it is offline).
    pub up_since: Option<DateTime<Utc>>,
}

/// VM or container.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum GuestKind {
    /// QEMU virtual machine (`qemu`; PBS backup type `vm`).
    Qemu,
    /// LXC container (`lxc`; PBS backup type `ct`).
    Lxc,
}

impl GuestKind {
    /// `qemu` or `lxc`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestKind::Qemu => "qemu",
            GuestKind::Lxc => "lxc",
        }
    }

    /// The PBS backup type this guest kind is stored as (`vm` / `ct`).
    pub fn pbs_type(self) -> BackupType {
        match self {
            GuestKind::Qemu => BackupType::Vm,
            GuestKind::Lxc => BackupType::Ct,
        }
    }
}

/// PBS backup group type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupType {
    /// A VM (`vm`).
    Vm,
    /// A container (`ct`).
    Ct,
    /// A host backup (`host`).
    Host,
    /// A type this version does not know.
    Other(String),
}

impl BackupType {
    /// Parse the wire value.
    pub fn parse(text: &str) -> BackupType {
        match text {
            "vm" => BackupType::Vm,
            "ct" => BackupType::Ct,
            "host" => BackupType::Host,
            other => BackupType::Other(other.to_string()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            BackupType::Vm => "vm",
            BackupType::Ct => "ct",
            BackupType::Host => "host",
            BackupType::Other(other) => other,
        }
    }
}

/// A guest as `/cluster/resources` and its config show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guest {
    /// VMID.
    pub vmid: Vmid,
    /// VM or container.
    pub kind: GuestKind,
    /// Name (VM `name` / CT `hostname`); None when PVE has no data yet.
    pub name: Option<String>,
    /// Node that owns the guest config.
    pub node: String,
    /// `running`, `stopped`, … (None when absent).
    pub status: Option<String>,
    /// Whether it is a template (None when PVE did not say).
    pub template: Option<bool>,
    /// Pool the guest belongs to (None: no pool, or hidden without Pool.Audit).
    pub pool: Option<String>,
    /// Tags, in config order.
    pub tags: Vec<String>,
    /// The config lock as `/cluster/resources` shows it (`backup`, `migrate`, …; None: unlocked).
    pub lock: Option<String>,
    /// Facts from the guest config, when it could be read.
    pub config: GuestConfigFacts,
    /// When the guest was created (a VM config's `meta: …,ctime=<epoch>`), when its config was
    /// read and says so. No backup slot before it can have been missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
}

/// What the guest config says about backups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GuestConfigFacts {
    /// The volume facts are known: from the config, or from the jobs' `included_volumes` trees.
    Read {
        /// Notes (`description`), as written; always `None` when `notes_read` is false.
        notes: Option<String>,
        /// Whether the config itself was read, so `notes` is what it says. False when the volumes
        /// came from `included_volumes` and the guest's verdict did not call for its notes
        /// (`--notes on-demand`, docs/collection.md).
        #[serde(skip_serializing_if = "is_true")]
        notes_read: bool,
        /// Volumes that vzdump leaves out (`backup=0` disks, CT mount points without `backup=1`).
        excluded_volumes: Vec<ExcludedVolume>,
        /// Volumes that are backed up.
        included_volumes: usize,
    },
    /// Not read (privileges or error): disk exclusions are unknown.
    Unknown {
        /// Why.
        reason: String,
    },
}

fn is_true(value: &bool) -> bool {
    *value
}

/// A volume vzdump does not back up.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ExcludedVolume {
    /// Config key (`scsi1`, `mp0`, …).
    pub key: String,
    /// Volume id or path.
    pub volume: String,
    /// Why it is excluded (`backup=0`, `mount point without backup=1`, `bind mount`, …).
    pub reason: String,
}

/// A storage from `/storage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Storage {
    /// Storage id.
    pub id: String,
    /// Storage type (`pbs`, `dir`, `nfs`, `cifs`, …).
    pub kind: String,
    /// Content types (`backup`, `images`, …).
    pub content: Vec<String>,
    /// False when `disable` is set; PVE treats a missing `disable` as active.
    pub enabled: bool,
    /// Nodes the storage is restricted to (None: all nodes).
    pub nodes: Option<Vec<String>>,
    /// The PBS target, for `pbs` storages.
    pub pbs: Option<PbsTarget>,
    /// `max-protected-backups` per guest (None: not set; −1: unlimited).
    pub max_protected_backups: Option<i64>,
}

impl Storage {
    /// Whether the storage can hold backups.
    pub fn holds_backups(&self) -> bool {
        self.content.iter().any(|c| c == "backup")
    }
}

/// Where a PVE `pbs` storage writes. Never holds a password (PVE does not return it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PbsTarget {
    /// PBS host as configured (`server`).
    pub server: String,
    /// Port (8007 when not specified, as PVE does).
    pub port: u16,
    /// Datastore name.
    pub datastore: String,
    /// Namespace (None: root).
    pub namespace: Option<String>,
    /// PBS auth id PVE uses (None: not specified, PVE then uses root@pam).
    pub username: Option<String>,
    /// Pinned certificate fingerprint (None: not specified).
    pub fingerprint: Option<String>,
    /// Whether client-side encryption is configured (`encryption-key` present).
    pub encrypted: bool,
}

impl PbsTarget {
    /// Which of the configured PBS servers (given as `host:port` and the certificate fingerprint
    /// the configuration pins, if any) this target writes to: the one whose host and port equal
    /// `server` and `port`; else the one pinned to the certificate fingerprint the storage pins
    /// (PVE may reach the PBS by an address the tool does not use, and the other way round);
    /// else the first whose host equals `server` (hosts case-insensitive, IPv6 brackets ignored;
    /// fingerprints case- and colon-insensitive). Collection and coverage both decide it here.
    pub fn find_server<'a>(
        &self,
        servers: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Option<usize> {
        let (server, _) = split_host_port(&self.server);
        let parsed: Vec<_> = servers
            .into_iter()
            .map(|(host, pin)| (split_host_port(host), pin))
            .collect();
        let same_host = |host: &str| host.eq_ignore_ascii_case(server);
        let same_pin = |pin: Option<&str>| match (pin, self.fingerprint.as_deref()) {
            (Some(a), Some(b)) => hex_digits(a) == hex_digits(b) && !hex_digits(a).is_empty(),
            _ => false,
        };
        parsed
            .iter()
            .position(|((host, port), _)| same_host(host) && *port == Some(self.port))
            .or_else(|| parsed.iter().position(|(_, pin)| same_pin(*pin)))
            .or_else(|| parsed.iter().position(|((host, _), _)| same_host(host)))
    }
}

/// A fingerprint's hex digits, lower case: `AB:CD…` and `abcd…` are the same certificate.
fn hex_digits(fingerprint: &str) -> String {
    fingerprint
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// How a backup job selects guests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Selection {
    /// `vmid=100,101`: exactly these.
    Vmids {
        /// The listed VMIDs.
        vmids: Vec<Vmid>,
    },
    /// `all=1`, optionally with `exclude`.
    All {
        /// Excluded VMIDs.
        exclude: Vec<Vmid>,
    },
    /// `pool=X`: the pool's direct members.
    Pool {
        /// Pool id.
        pool: String,
    },
    /// None of the above (a job PVE would refuse to run).
    Nothing,
}

/// A backup job from `/cluster/backup`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupJob {
    /// Job id.
    pub id: String,
    /// Whether the scheduler runs it (PVE's default when absent: enabled).
    pub enabled: bool,
    /// Calendar-event schedule as written (legacy jobs: converted from starttime/dow).
    pub schedule: Option<String>,
    /// Target storage (None: vzdump falls back to `local`).
    pub storage: Option<String>,
    /// Only run on this node.
    pub node: Option<String>,
    /// Which guests.
    pub selection: Selection,
    /// Backup mode (`snapshot`, `suspend`, `stop`); None: PVE default (snapshot).
    pub mode: Option<String>,
    /// Free-text comment.
    pub comment: Option<String>,
    /// Next run as PVE computed it (list endpoint, jobs.cfg jobs only).
    pub next_run: Option<DateTime<Utc>>,
    /// Whether it comes from the legacy vzdump.cron.
    pub legacy: bool,
    /// `repeat-missed` as the job says it (None: not set).
    pub repeat_missed: Option<bool>,
    /// Whether the job marks its backups protected (`protected`).
    pub protected: bool,
    /// The fleecing setting when enabled (VMs only; None: off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleecing: Option<Fleecing>,
    /// Every field as PVE sent it (for the report's job details and debugging).
    pub raw: BTreeMap<String, serde_json::Value>,
}

/// An enabled fleecing setting of a backup job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fleecing {
    /// The storage the fleecing images go to (None: not named).
    pub storage: Option<String>,
}

/// A pool and its direct members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pool {
    /// Pool id (nested pools: `parent/child`).
    pub id: String,
    /// Comment.
    pub comment: Option<String>,
    /// Guest members (VMIDs), sorted; None when the members could not be read.
    pub members: Option<Vec<Vmid>>,
}

/// The vzdump task history of one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeTaskHistory {
    /// Node name.
    pub node: String,
    /// Whether the list holds every vzdump task in the window (Sys.Audit on the node, all pages read).
    pub completeness: super::Completeness,
    /// The oldest task start actually reached (None: no task seen).
    pub oldest_seen: Option<DateTime<Utc>>,
    /// The window that was asked for: tasks started at or after this time.
    pub requested_since: DateTime<Utc>,
    /// Whether the task cap (`PVE_TASK_HISTORY_LIMIT`) stopped the paging before `requested_since`.
    pub capped: bool,
    /// Tasks, newest first by start time, then UPID.
    pub tasks: Vec<VzdumpTask>,
}

/// One vzdump task (one node's run of a job, or a manual backup).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VzdumpTask {
    /// The task's UPID.
    pub upid: String,
    /// Node that ran it.
    pub node: String,
    /// Start time.
    pub start: DateTime<Utc>,
    /// End time (None: still running).
    pub end: Option<DateTime<Utc>>,
    /// The task id: the VMID for a single-guest run, empty for a multi-guest run.
    pub id: String,
    /// Who started it (`root@pam` for scheduled jobs; `user@realm!token` for token-started ones).
    pub user: String,
    /// The task's final status as PVE reports it (`OK`, `WARNINGS: 2`, `job errors`, …; None: running).
    pub status: Option<String>,
    /// The parsed log.
    pub log: TaskLogEvidence,
}

/// What is known from a task's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TaskLogEvidence {
    /// The log was read (possibly only its first `PVE_TASK_LOG_LIMIT` lines) and parsed.
    Parsed {
        /// Per-guest runs and job facts.
        log: VzdumpLog,
        /// Whether the log was cut at the line limit.
        truncated: bool,
    },
    /// The log could not be read.
    Unavailable {
        /// Why.
        reason: String,
    },
}

/// A backup archive listed through `/nodes/{node}/storage/{id}/content`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StorageBackup {
    /// Storage id.
    pub storage: String,
    /// Volume id.
    pub volid: String,
    /// Guest VMID.
    pub vmid: Vmid,
    /// `qemu`/`lxc` when known (`subtype`, or derived from `format`).
    pub kind: Option<GuestKind>,
    /// Creation time.
    pub time: DateTime<Utc>,
    /// Size in bytes (None when PVE reported the placeholder 1 for an unfinished PBS snapshot).
    pub size: Option<u64>,
    /// Verification state (`ok`/`failed`) for PBS-backed volumes.
    pub verification: Option<String>,
    /// Protected from pruning.
    pub protected: bool,
    /// Encrypted (None: not said).
    pub encrypted: Option<bool>,
    /// Notes (first line).
    pub notes: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_finds_its_server_by_host_and_port_first() {
        let target = PbsTarget {
            server: "PBS.example.com".into(),
            port: 8007,
            datastore: "store1".into(),
            namespace: None,
            username: None,
            fingerprint: None,
            encrypted: false,
        };
        let unpinned =
            |hosts: &[&'static str]| hosts.iter().map(|h| (*h, None)).collect::<Vec<_>>();
        let hosts = ["pbs.example.com:9007", "pbs.example.com:8007", "other:8007"];
        assert_eq!(target.find_server(unpinned(&hosts)), Some(1));
        assert_eq!(
            target.find_server(unpinned(&["pbs.example.com:9007"])),
            Some(0)
        );
        assert_eq!(
            target.find_server(unpinned(&["other:8007", "[fd00::1]:8007"])),
            None
        );
        let v6 = PbsTarget {
            server: "fd00::1".into(),
            ..target.clone()
        };
        assert_eq!(
            v6.find_server(unpinned(&["other:8007", "[fd00::1]:8007"])),
            Some(1)
        );

        // PVE reaches the PBS by IP, the tool by name: the pinned certificate tells.
        let by_ip = PbsTarget {
            server: "10.0.0.20".into(),
            fingerprint: Some("ab:cd:ef".into()),
            ..target
        };
        let servers = [
            ("pbs-other.example.com:8007", Some("11:22:33")),
            ("pbs.example.com:8007", Some("AB:CD:EF")),
        ];
        assert_eq!(by_ip.find_server(servers), Some(1));
        // Host and port still come first; no pin, no guess.
        assert_eq!(
            by_ip.find_server([
                ("pbs.example.com:8007", None),
                ("10.0.0.20:8007", Some("00"))
            ]),
            Some(1)
        );
        assert_eq!(by_ip.find_server([("pbs.example.com:8007", None)]), None);
    }
}
