//! Wire types of the Proxmox VE API: one struct per JSON object the endpoints return.
//!
//! Owns the exact JSON shape (field names, optionality, Perl-tolerant typing via
//! [`crate::api::de`]) and the wire-format rules that are part of that shape: the property
//! strings of guest disks/mount points and which of them vzdump includes in a backup
//! (pve-api.md §3.13–§3.15). The `/access/permissions` map is read by `model::permissions`. It does not decide
//! coverage; that is the domain model's job.
//!
//! Conventions: a field the server may omit is an `Option` and stays `None` when absent (never a
//! default); documented server defaults are offered as separate `*_or_default` methods. Enums
//! have an `Other(String)` variant so a newer server cannot break parsing. Types whose unknown
//! fields matter keep them in `extra`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::de::{self, wire_enum, WireValueError};

/// Unknown JSON members kept verbatim so that nothing the server sent is lost.
pub type ExtraFields = BTreeMap<String, Value>;

// ---------------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------------

wire_enum! {
    /// Node state in `/nodes` (`status`).
    pub enum NodeStatus {
        /// Online cluster member with RRD data.
        Online => "online",
        /// Offline cluster member.
        Offline => "offline",
        /// Neither (e.g. no RRD data yet); the server's own `unknown`.
        Unknown => "unknown",
    }
}

wire_enum! {
    /// The `type` of a `/cluster/resources` item or a pool member.
    pub enum ClusterResourceKind {
        /// A cluster node.
        Node => "node",
        /// A storage, one entry per node on which it is enabled.
        Storage => "storage",
        /// A resource pool.
        Pool => "pool",
        /// A QEMU virtual machine.
        Qemu => "qemu",
        /// An LXC container.
        Lxc => "lxc",
        /// An OpenVZ container (listed in the schema enum; not used by current PVE).
        Openvz => "openvz",
        /// An SDN zone or fabric.
        Sdn => "sdn",
        /// An SDN network.
        Network => "network",
    }
}

wire_enum! {
    /// Guest type `qemu`/`lxc` (e.g. `not-backed-up` items, storage content `subtype`).
    pub enum GuestType {
        /// A QEMU virtual machine.
        Qemu => "qemu",
        /// An LXC container.
        Lxc => "lxc",
    }
}

wire_enum! {
    /// Storage plugin type (`type` of a `/storage` item).
    pub enum StorageType {
        /// BTRFS.
        Btrfs => "btrfs",
        /// CephFS.
        Cephfs => "cephfs",
        /// CIFS/SMB.
        Cifs => "cifs",
        /// Directory.
        Dir => "dir",
        /// ESXi import source.
        Esxi => "esxi",
        /// iSCSI (kernel).
        Iscsi => "iscsi",
        /// iSCSI (user mode).
        Iscsidirect => "iscsidirect",
        /// LVM.
        Lvm => "lvm",
        /// LVM thin.
        Lvmthin => "lvmthin",
        /// NFS.
        Nfs => "nfs",
        /// Proxmox Backup Server.
        Pbs => "pbs",
        /// Ceph RBD.
        Rbd => "rbd",
        /// ZFS over iSCSI.
        Zfs => "zfs",
        /// Local ZFS pool.
        Zfspool => "zfspool",
    }
}

wire_enum! {
    /// vzdump backup `mode`.
    pub enum BackupMode {
        /// Live snapshot (default).
        Snapshot => "snapshot",
        /// Suspend the guest during the backup.
        Suspend => "suspend",
        /// Stop the guest during the backup.
        Stop => "stop",
    }
}

wire_enum! {
    /// vzdump `compress` (irrelevant for PBS targets; may arrive as number `0`/`1`).
    pub enum Compress {
        /// No compression (`0`).
        Disabled => "0",
        /// Default compression (`1`).
        Enabled => "1",
        /// gzip.
        Gzip => "gzip",
        /// LZO.
        Lzo => "lzo",
        /// Zstandard.
        Zstd => "zstd",
    }
}

wire_enum! {
    /// Deprecated `mailnotification` of a backup job.
    pub enum MailNotification {
        /// Mail on every run (default).
        Always => "always",
        /// Mail on failure only.
        Failure => "failure",
    }
}

wire_enum! {
    /// `notification-mode` of a backup job.
    pub enum NotificationMode {
        /// Let PVE decide (default).
        Auto => "auto",
        /// Legacy sendmail to `mailto`.
        LegacySendmail => "legacy-sendmail",
        /// The notification system.
        NotificationSystem => "notification-system",
    }
}

wire_enum! {
    /// `pbs-change-detection-mode` (containers backed up to PBS only).
    pub enum PbsChangeDetectionMode {
        /// Single archive, full read.
        Legacy => "legacy",
        /// Split archive, full read.
        Data => "data",
        /// Split archive, metadata-based change detection.
        Metadata => "metadata",
    }
}

wire_enum! {
    /// A guest config `lock` (union of the VM and CT lock names).
    pub enum GuestLock {
        /// A backup is running.
        Backup => "backup",
        /// Being cloned (VM).
        Clone => "clone",
        /// Being created.
        Create => "create",
        /// Being destroyed (CT).
        Destroyed => "destroyed",
        /// Disk operation (CT).
        Disk => "disk",
        /// fstrim running (CT).
        Fstrim => "fstrim",
        /// Being migrated.
        Migrate => "migrate",
        /// Mounted on the host (CT).
        Mounted => "mounted",
        /// Snapshot rollback.
        Rollback => "rollback",
        /// Snapshot being taken.
        Snapshot => "snapshot",
        /// Snapshot being deleted.
        SnapshotDelete => "snapshot-delete",
        /// Being suspended to disk (VM).
        Suspending => "suspending",
        /// Suspended to disk (VM).
        Suspended => "suspended",
    }
}

wire_enum! {
    /// VM firmware (`bios`); absent means SeaBIOS.
    pub enum Bios {
        /// Legacy BIOS (default).
        Seabios => "seabios",
        /// UEFI; only then is `efidisk0` backed up.
        Ovmf => "ovmf",
    }
}

wire_enum! {
    /// Last verification result of a PBS snapshot as PVE reports it.
    pub enum VerificationState {
        /// Verified successfully.
        Ok => "ok",
        /// Verification found a problem.
        Failed => "failed",
    }
}

// ---------------------------------------------------------------------------------------------
// /version, /nodes, /nodes/{node}/time
// ---------------------------------------------------------------------------------------------

/// `GET /version` (any authenticated caller).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Version {
    /// pve-manager package version, e.g. `9.2.11`; PVE ≤ 7 used `x.y-z` such as `7.4-3`.
    #[serde(with = "de::string")]
    pub version: String,
    /// Point release `x.y`, e.g. `8.2` (may arrive as a number).
    #[serde(with = "de::string")]
    pub release: String,
    /// Git short id (8 or 16 hex characters).
    #[serde(with = "de::string")]
    pub repoid: String,
    /// Datacenter default console (`applet`, `vv`, `html5`, `xtermjs`); only when configured.
    #[serde(default)]
    pub console: Option<String>,
}

/// One item of `GET /nodes` (any authenticated caller; every node listed).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Node {
    /// Node name.
    #[serde(with = "de::string")]
    pub node: String,
    /// `online` only if RRD data exists and the node is an online member.
    pub status: NodeStatus,
    /// CPU usage fraction 0..1; absent without `Sys.Audit` on `/nodes/<node>`.
    #[serde(default, with = "de::opt_f64")]
    pub cpu: Option<f64>,
    /// Number of CPUs; absent without `Sys.Audit`.
    #[serde(default, with = "de::opt_u64")]
    pub maxcpu: Option<u64>,
    /// Used memory in bytes; absent without `Sys.Audit`.
    #[serde(default, with = "de::opt_u64")]
    pub mem: Option<u64>,
    /// Total memory in bytes; absent without `Sys.Audit`.
    #[serde(default, with = "de::opt_u64")]
    pub maxmem: Option<u64>,
    /// Used root disk in bytes; absent without `Sys.Audit`.
    #[serde(default, with = "de::opt_u64")]
    pub disk: Option<u64>,
    /// Root disk size in bytes; absent without `Sys.Audit`.
    #[serde(default, with = "de::opt_u64")]
    pub maxdisk: Option<u64>,
    /// Uptime in seconds; absent without `Sys.Audit`.
    #[serde(default, with = "de::opt_u64")]
    pub uptime: Option<u64>,
    /// Subscription level string.
    #[serde(default)]
    pub level: Option<String>,
    /// SHA-256 fingerprint of the node's TLS certificate.
    #[serde(default)]
    pub ssl_fingerprint: Option<String>,
    /// `node/<name>`.
    #[serde(default)]
    pub id: Option<String>,
    /// Always `node`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl Node {
    /// Whether the row carries the node's statistics. PVE adds them only for a caller with
    /// `Sys.Audit` on `/nodes/<node>` (and only when the node has RRD data), so a row with them
    /// proves that privilege; a row without them proves nothing (pve-manager `extract_node_stats`).
    pub(crate) fn shows_statistics(&self) -> bool {
        self.cpu.is_some()
            || [
                self.maxcpu,
                self.mem,
                self.maxmem,
                self.disk,
                self.maxdisk,
                self.uptime,
            ]
            .iter()
            .any(Option::is_some)
    }
}

/// `GET /nodes/{node}/time`: the node's clock and time zone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct NodeTime {
    /// Time zone name, e.g. `Europe/Vienna` (schedules are evaluated in it).
    #[serde(with = "de::string")]
    pub timezone: String,
    /// Current time, Unix epoch seconds (UTC).
    #[serde(with = "de::req_i64")]
    pub time: i64,
    /// Current local time expressed as seconds (epoch shifted by the UTC offset).
    #[serde(with = "de::req_i64")]
    pub localtime: i64,
}

// ---------------------------------------------------------------------------------------------
// /cluster/resources
// ---------------------------------------------------------------------------------------------

/// One item of `GET /cluster/resources`, for every `type` (guest, storage, pool, node, sdn…).
///
/// Any authenticated caller; items are **silently filtered**: guests need `VM.Audit`, storages
/// `Datastore.Audit`, pools `Pool.Audit`; a guest's `pool` is removed without `Pool.Audit` on
/// it; node statistics need `Sys.Audit` on the node. Guest statistics come from RRD and are
/// absent when there is no RRD data yet.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClusterResource {
    /// `qemu/<vmid>`, `lxc/<vmid>`, `storage/<node>/<id>`, `node/<name>`, `/pool/<name>`, …
    pub id: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub kind: ClusterResourceKind,
    /// VMID (guests).
    #[serde(default, with = "de::opt_u32")]
    pub vmid: Option<u32>,
    /// Node the guest config lives on / the storage entry is for / the node itself.
    #[serde(default)]
    pub node: Option<String>,
    /// Guests: `running`, `stopped`, `unknown` (no RRD data); storages: `available`/`unknown`;
    /// nodes: `online`/`offline`/`unknown`.
    #[serde(default)]
    pub status: Option<String>,
    /// Guest name (from RRD; absent without RRD data).
    #[serde(default, with = "de::opt_string")]
    pub name: Option<String>,
    /// Guest is a template (from RRD; absent without RRD data).
    #[serde(default, with = "de::opt_bool")]
    pub template: Option<bool>,
    /// Pool of the guest, or the pool's name for pool items; nested pools as `parent/child`.
    /// Removed if the caller lacks `Pool.Audit` on `/pool/<pool>`.
    #[serde(default, with = "de::opt_string")]
    pub pool: Option<String>,
    /// Guest tags, from the `;`-separated config value (PVE ≥ 7.3).
    #[serde(default, with = "de::opt_string_list")]
    pub tags: Option<Vec<String>>,
    /// Current config lock; present only while locked.
    #[serde(default)]
    pub lock: Option<GuestLock>,
    /// HA state (HA-managed guests; node HA status for nodes).
    #[serde(default)]
    pub hastate: Option<String>,
    /// Uptime in seconds.
    #[serde(default, with = "de::opt_u64")]
    pub uptime: Option<u64>,
    /// CPU usage fraction.
    #[serde(default, with = "de::opt_f64")]
    pub cpu: Option<f64>,
    /// Number of CPUs (the schema says number).
    #[serde(default, with = "de::opt_f64")]
    pub maxcpu: Option<f64>,
    /// Used memory in bytes.
    #[serde(default, with = "de::opt_u64")]
    pub mem: Option<u64>,
    /// Host memory used by a VM in bytes (newer versions, qemu only).
    #[serde(default, with = "de::opt_u64")]
    pub memhost: Option<u64>,
    /// Memory size in bytes.
    #[serde(default, with = "de::opt_u64")]
    pub maxmem: Option<u64>,
    /// Used disk/storage in bytes.
    #[serde(default, with = "de::opt_u64")]
    pub disk: Option<u64>,
    /// Disk/storage size in bytes.
    #[serde(default, with = "de::opt_u64")]
    pub maxdisk: Option<u64>,
    /// Network bytes received.
    #[serde(default, with = "de::opt_u64")]
    pub netin: Option<u64>,
    /// Network bytes sent.
    #[serde(default, with = "de::opt_u64")]
    pub netout: Option<u64>,
    /// Disk bytes read.
    #[serde(default, with = "de::opt_u64")]
    pub diskread: Option<u64>,
    /// Disk bytes written.
    #[serde(default, with = "de::opt_u64")]
    pub diskwrite: Option<u64>,
    /// Storage id (storage items).
    #[serde(default, with = "de::opt_string")]
    pub storage: Option<String>,
    /// Storage plugin type, e.g. `pbs` (storage items).
    #[serde(default)]
    pub plugintype: Option<StorageType>,
    /// Storage is shared (storage items).
    #[serde(default, with = "de::opt_bool")]
    pub shared: Option<bool>,
    /// Allowed content types (storage items), e.g. `["backup"]`.
    #[serde(default, with = "de::opt_string_list")]
    pub content: Option<Vec<String>>,
    /// Subscription level (node items).
    #[serde(default)]
    pub level: Option<String>,
    /// cgroup mode (node items).
    #[serde(default, with = "de::opt_i64")]
    pub cgroup_mode: Option<i64>,
    /// CPU architecture (node items), e.g. `x86_64`.
    #[serde(default)]
    pub host_arch: Option<String>,
    /// SDN zone id (sdn items).
    #[serde(default)]
    pub sdn: Option<String>,
    /// SDN network id (network items).
    #[serde(default)]
    pub network: Option<String>,
    /// SDN network type `fabric`/`zone` (network items).
    #[serde(default)]
    pub network_type: Option<String>,
    /// SDN zone type (sdn items).
    #[serde(default)]
    pub zone_type: Option<String>,
    /// SDN fabric protocol.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Members this version does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ClusterResource {
    /// True for `qemu` and `lxc` items.
    pub fn is_guest(&self) -> bool {
        matches!(
            self.kind,
            ClusterResourceKind::Qemu | ClusterResourceKind::Lxc
        )
    }
}

// ---------------------------------------------------------------------------------------------
// /storage
// ---------------------------------------------------------------------------------------------

/// One item of `GET /storage` (or the object of `GET /storage/{storage}`): the full storage
/// config. The list is silently filtered to storages with `Datastore.Audit` or
/// `Datastore.AllocateSpace` on `/storage/<id>`; the single-item endpoint needs
/// `Datastore.Allocate` (403 otherwise). The password is never returned.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StorageConfig {
    /// Storage id.
    #[serde(with = "de::string")]
    pub storage: String,
    /// Plugin type, e.g. `pbs`.
    #[serde(rename = "type")]
    pub storage_type: StorageType,
    /// PBS host/IP.
    #[serde(default)]
    pub server: Option<String>,
    /// PBS port; absent means 8007 (see [`StorageConfig::pbs_port`]).
    #[serde(default, with = "de::opt_u16")]
    pub port: Option<u16>,
    /// PBS datastore name.
    #[serde(default, with = "de::opt_string")]
    pub datastore: Option<String>,
    /// PBS namespace (`/`-separated); absent means the root namespace (PVE ≥ 7.2).
    #[serde(default)]
    pub namespace: Option<String>,
    /// PBS auth id PVE uses (`user@realm` or token `user@realm!name`); absent means `root@pam`.
    #[serde(default)]
    pub username: Option<String>,
    /// PBS TLS certificate SHA-256 fingerprint (`aa:bb:…`).
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Content types, re-encoded by the API as a comma list (`backup` for PBS).
    #[serde(default, with = "de::opt_string_list")]
    pub content: Option<Vec<String>>,
    /// Storage disabled (present and 1 when disabled).
    #[serde(default, with = "de::opt_bool")]
    pub disable: Option<bool>,
    /// Nodes the storage is restricted to; absent means all nodes.
    #[serde(default, with = "de::opt_string_list")]
    pub nodes: Option<Vec<String>>,
    /// Shared storage flag.
    #[serde(default, with = "de::opt_bool")]
    pub shared: Option<bool>,
    /// Retention (`keep-*` keys), from a property string or an object.
    #[serde(default, with = "de::opt_property_string")]
    pub prune_backups: Option<BTreeMap<String, String>>,
    /// Maximum protected backups per guest; -1 = unlimited.
    #[serde(default, with = "de::opt_i64")]
    pub max_protected_backups: Option<i64>,
    /// Presence means client-side encryption is configured; the value is the key fingerprint or
    /// `1` when the key has none. The key itself is never returned.
    #[serde(default, with = "de::opt_string_or_number")]
    pub encryption_key: Option<String>,
    /// Presence (value `1`) means a master public key is configured.
    #[serde(default, with = "de::opt_string_or_number")]
    pub master_pubkey: Option<String>,
    /// SHA-1 of storage.cfg.
    #[serde(default)]
    pub digest: Option<String>,
    /// Every other config key (path, pool, export, … of other storage types).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl StorageConfig {
    /// Default PBS port when `port` is absent (PBSPlugin `port // 8007`).
    pub const DEFAULT_PBS_PORT: u16 = 8007;

    /// The PBS port PVE connects to: `port`, or 8007 when absent.
    pub fn pbs_port(&self) -> u16 {
        self.port.unwrap_or(Self::DEFAULT_PBS_PORT)
    }

    /// Client-side encryption configured (`encryption-key` present).
    pub fn encryption_configured(&self) -> bool {
        self.encryption_key.is_some()
    }

    /// Storage is disabled (`disable` = 1); absent means enabled.
    pub fn is_disabled(&self) -> bool {
        self.disable.unwrap_or(false)
    }
}

// ---------------------------------------------------------------------------------------------
// /cluster/backup
// ---------------------------------------------------------------------------------------------

/// One item of `GET /cluster/backup` (or the object of `GET /cluster/backup/{id}`); needs
/// `Sys.Audit` on `/` (403 otherwise). Legacy vzdump.cron jobs come first and have no `type`;
/// PVE ≤ 7.0 returned `starttime`/`dow` instead of `schedule`, PVE 7.1 – 9.1.7 returned them
/// next to `schedule`, and PVE ≥ 9.1.8 returns `schedule` only (the collector prefers
/// `schedule` and converts `starttime`/`dow` only when it is absent). `maxfiles` is gone from
/// PVE 9; `prune-backups`, `fleecing`, `performance` are objects (property strings on very old
/// servers): every one of these shapes decodes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BackupJob {
    /// Job id (arbitrary string, e.g. a UUID; legacy: `<sha1 of vzdump.cron>:<n>`).
    #[serde(with = "de::string")]
    pub id: String,
    /// `vzdump` for jobs.cfg jobs; absent for legacy vzdump.cron jobs.
    #[serde(default, rename = "type")]
    pub job_type: Option<String>,
    /// Scheduler runs the job; absent means enabled. Disabled jobs still count as coverage in
    /// `not-backed-up`.
    #[serde(default, with = "de::opt_bool")]
    pub enabled: Option<bool>,
    /// Calendar event.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Legacy (PVE ≤ 7.0) start time `HH:MM`.
    #[serde(default, with = "de::opt_string")]
    pub starttime: Option<String>,
    /// Legacy (PVE ≤ 7.0) days of week, e.g. `mon,tue,wed`.
    #[serde(default)]
    pub dow: Option<String>,
    /// Free-text comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Run as soon as possible if a run was missed; absent means 0.
    #[serde(default, with = "de::opt_bool")]
    pub repeat_missed: Option<bool>,
    /// Next run (epoch) after now, in the answering node's time zone; list endpoint and
    /// jobs.cfg jobs only.
    #[serde(default, with = "de::opt_i64")]
    pub next_run: Option<i64>,
    /// The job only runs on this node.
    #[serde(default)]
    pub node: Option<String>,
    /// Explicit VMIDs (conflicts with `all`, `exclude`, `pool`).
    #[serde(default, with = "de::opt_vmid_list")]
    pub vmid: Option<Vec<u32>>,
    /// All guests; absent means 0.
    #[serde(default, with = "de::opt_bool")]
    pub all: Option<bool>,
    /// Excluded VMIDs (implies `all`).
    #[serde(default, with = "de::opt_vmid_list")]
    pub exclude: Option<Vec<u32>>,
    /// All direct members of this pool (not sub-pools).
    #[serde(default, with = "de::opt_string")]
    pub pool: Option<String>,
    /// Target storage id; absent means vzdump falls back to `local`.
    #[serde(default, with = "de::opt_string")]
    pub storage: Option<String>,
    /// Backup mode; absent means `snapshot`.
    #[serde(default)]
    pub mode: Option<BackupMode>,
    /// Compression (irrelevant for PBS).
    #[serde(default)]
    pub compress: Option<Compress>,
    /// Deprecated mail recipients.
    #[serde(default)]
    pub mailto: Option<String>,
    /// Deprecated mail policy.
    #[serde(default)]
    pub mailnotification: Option<MailNotification>,
    /// Notification mode; absent means `auto`.
    #[serde(default)]
    pub notification_mode: Option<NotificationMode>,
    /// Template for backup notes.
    #[serde(default)]
    pub notes_template: Option<String>,
    /// Mark backups protected.
    #[serde(default, with = "de::opt_bool")]
    pub protected: Option<bool>,
    /// Job retention (`keep-*`), object in GET responses, property string in older ones.
    #[serde(default, with = "de::opt_property_string")]
    pub prune_backups: Option<BTreeMap<String, String>>,
    /// Prune after backup; absent means 1.
    #[serde(default, with = "de::opt_bool")]
    pub remove: Option<bool>,
    /// Fleecing settings (`enabled`, `storage`), object or property string (`1,storage=x`:
    /// the bare entry is `enabled`).
    #[serde(default, with = "de::opt_fleecing")]
    pub fleecing: Option<BTreeMap<String, String>>,
    /// Performance settings (`max-workers`, `pbs-entries-max`), object or property string.
    #[serde(default, with = "de::opt_property_string")]
    pub performance: Option<BTreeMap<String, String>>,
    /// Container change detection mode for PBS.
    #[serde(default)]
    pub pbs_change_detection_mode: Option<PbsChangeDetectionMode>,
    /// Bandwidth limit in KiB/s.
    #[serde(default, with = "de::opt_u64")]
    pub bwlimit: Option<u64>,
    /// I/O priority 0..8.
    #[serde(default, with = "de::opt_u64")]
    pub ionice: Option<u64>,
    /// Minutes to wait for the guest lock.
    #[serde(default, with = "de::opt_u64")]
    pub lockwait: Option<u64>,
    /// Minutes to wait for a guest to stop.
    #[serde(default, with = "de::opt_u64")]
    pub stopwait: Option<u64>,
    /// pigz threads.
    #[serde(default, with = "de::opt_u64")]
    pub pigz: Option<u64>,
    /// zstd threads.
    #[serde(default, with = "de::opt_u64")]
    pub zstd: Option<u64>,
    /// Temporary directory.
    #[serde(default)]
    pub tmpdir: Option<String>,
    /// Dump directory (overrides storage).
    #[serde(default)]
    pub dumpdir: Option<String>,
    /// Hook script path.
    #[serde(default)]
    pub script: Option<String>,
    /// Excluded paths (containers), normally a JSON array; a plain string is split like other
    /// PVE lists (on `\0`, or else on `,`/`;`/whitespace — paths with spaces would be cut).
    #[serde(default, with = "de::opt_string_list")]
    pub exclude_path: Option<Vec<String>>,
    /// Exclude temporary files and logs; absent means 1.
    #[serde(default, with = "de::opt_bool")]
    pub stdexcludes: Option<bool>,
    /// Quiet mode.
    #[serde(default, with = "de::opt_bool")]
    pub quiet: Option<bool>,
    /// Stop running backup jobs on this host.
    #[serde(default, with = "de::opt_bool")]
    pub stop: Option<bool>,
    /// Deprecated retention count.
    #[serde(default, with = "de::opt_u64")]
    pub maxfiles: Option<u64>,
    /// Every other job key.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl BackupJob {
    /// `enabled`, or the server default `true` when absent.
    pub fn enabled_or_default(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// `all`, or the server default `false` when absent.
    pub fn all_or_default(&self) -> bool {
        self.all.unwrap_or(false)
    }

    /// A legacy `/etc/pve/vzdump.cron` job: jobs.cfg jobs carry `type: vzdump`, legacy ones no
    /// `type` at all.
    pub fn is_legacy_cron_job(&self) -> bool {
        self.job_type.is_none()
    }
}

// ---------------------------------------------------------------------------------------------
// /cluster/backup/{id}/included_volumes
// ---------------------------------------------------------------------------------------------

/// `GET /cluster/backup/{id}/included_volumes`: the guests a job selects, each with its volumes
/// and whether vzdump backs them up (pve-api.md §3.7). Decoded strictly: a tree with one bad node
/// is not used at all, so a misread volume can never pass for an included one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct IncludedVolumes {
    /// One node per guest the job selects (guests without `VM.Audit` are silently left out).
    #[serde(default)]
    pub children: Vec<IncludedGuest>,
}

/// A guest node of [`IncludedVolumes`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct IncludedGuest {
    /// VMID.
    #[serde(with = "de::req_u32")]
    pub id: u32,
    /// `qemu`, `lxc`, or `unknown` for a VMID in the job whose guest no longer exists.
    #[serde(rename = "type")]
    pub kind: GuestType,
    /// The guest's volumes (absent for an `unknown` guest or one without volumes).
    #[serde(default)]
    pub children: Vec<IncludedVolume>,
}

/// A volume node of [`IncludedGuest`]: CD-ROM drives and `unusedN` are never listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct IncludedVolume {
    /// `<vmid>:<config key>`, e.g. `100:scsi1`.
    #[serde(with = "de::string")]
    pub id: String,
    /// Volume id or path as the config writes it.
    #[serde(default, with = "de::opt_string")]
    pub name: Option<String>,
    /// Whether vzdump backs it up (trust this, not `reason`: `backup=1` says `backup=no`).
    /// Required; `null` decodes to `None`, which makes the whole tree unusable.
    #[serde(with = "de::opt_bool")]
    pub included: Option<bool>,
    /// PVE's reason text (`backup=no`, `efidisk but no OVMF BIOS`, `disabled`, `not a volume`…).
    #[serde(default, with = "de::opt_string")]
    pub reason: Option<String>,
}

impl IncludedVolume {
    /// The config key (`scsi1`): `id` after the `<vmid>:` prefix.
    pub fn key(&self) -> &str {
        self.id
            .split_once(':')
            .map_or(self.id.as_str(), |(_, key)| key)
    }
}

// ---------------------------------------------------------------------------------------------
// /cluster/backup-info/not-backed-up
// ---------------------------------------------------------------------------------------------

/// One item of `GET /cluster/backup-info/not-backed-up` (`Sys.Audit` on `/`): a guest no
/// backup job selects (disabled jobs count as selecting; guests without `VM.Audit` are
/// silently omitted and so look covered).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct NotBackedUpItem {
    /// VMID.
    #[serde(with = "de::req_u32")]
    pub vmid: u32,
    /// Guest type.
    #[serde(rename = "type")]
    pub kind: GuestType,
    /// VM name / CT hostname; only if set.
    #[serde(default, with = "de::opt_string")]
    pub name: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// /pools
// ---------------------------------------------------------------------------------------------

/// One item of `GET /pools` without `poolid` (silently filtered to pools with `Pool.Audit`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PoolListItem {
    /// Pool id; nested pools contain `/` (e.g. `prod/web`).
    #[serde(with = "de::string")]
    pub poolid: String,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A pool with members: the single element of `GET /pools?poolid=<id>` (PVE ≥ 8.1, has
/// `poolid`) or the object of the deprecated `GET /pools/{poolid}` (no `poolid`; needs
/// `Pool.Audit`, 403 otherwise). Only direct members are listed.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PoolDetail {
    /// Pool id; absent in the `/pools/{poolid}` form.
    #[serde(default, with = "de::opt_string")]
    pub poolid: Option<String>,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Direct members (guests and storages); sub-pools are not expanded.
    #[serde(default)]
    pub members: Option<Vec<PoolMember>>,
}

/// A pool member (guest or storage).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PoolMember {
    /// `qemu/<vmid>`, `lxc/<vmid>` or `storage/<node>/<storeid>`.
    pub id: String,
    /// `qemu`, `lxc` or `storage`.
    #[serde(rename = "type")]
    pub kind: ClusterResourceKind,
    /// VMID (guests).
    #[serde(default, with = "de::opt_u32")]
    pub vmid: Option<u32>,
    /// Node of the guest / storage entry.
    #[serde(default)]
    pub node: Option<String>,
    /// Storage id (storages).
    #[serde(default, with = "de::opt_string")]
    pub storage: Option<String>,
    /// Guest name (only with RRD data).
    #[serde(default, with = "de::opt_string")]
    pub name: Option<String>,
    /// Guest/storage status.
    #[serde(default)]
    pub status: Option<String>,
    /// Guest is a template (only with RRD data).
    #[serde(default, with = "de::opt_bool")]
    pub template: Option<bool>,
    /// Statistics and any other member data (`additionalProperties` allowed).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

/// One item of `GET /nodes/{node}/tasks` (own tasks only unless `Sys.Audit` on
/// `/nodes/{node}`; silently filtered).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TaskListItem {
    /// UPID (see upid.md).
    pub upid: String,
    /// Node that ran the task (also in the UPID).
    #[serde(default, with = "de::opt_string")]
    pub node: Option<String>,
    /// Worker pid.
    #[serde(with = "de::req_u64")]
    pub pid: u64,
    /// Worker process start (clock ticks since boot).
    #[serde(with = "de::req_u64")]
    pub pstart: u64,
    /// Start time, epoch (also in the UPID).
    #[serde(default, with = "de::opt_i64")]
    pub starttime: Option<i64>,
    /// Task type, e.g. `vzdump`.
    #[serde(rename = "type")]
    pub task_type: String,
    /// Task object id, e.g. a VMID, or `""` (multi-guest vzdump).
    #[serde(default, with = "de::opt_string")]
    pub id: Option<String>,
    /// `user@realm`; for token tasks the user part only.
    pub user: String,
    /// Token name for token-started tasks.
    #[serde(default)]
    pub tokenid: Option<String>,
    /// End time, epoch (archived tasks).
    #[serde(default, with = "de::opt_i64")]
    pub endtime: Option<i64>,
    /// `OK`, `WARNINGS: <n>`, an error message, `unexpected status`, or `RUNNING`.
    #[serde(default)]
    pub status: Option<String>,
}

/// One item of `GET /nodes/{node}/replication`: a storage replication job of a guest currently on
/// that node, with its state (snake_case, undocumented in the schema; code-derived).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ReplicationStatus {
    /// Job id `<vmid>-<jobnum>`.
    #[serde(with = "de::string")]
    pub id: String,
    /// The guest.
    #[serde(default, with = "de::opt_u32")]
    pub guest: Option<u32>,
    /// Target node.
    #[serde(default, with = "de::opt_string")]
    pub target: Option<String>,
    /// Disabled.
    #[serde(default, with = "de::opt_bool")]
    pub disable: Option<bool>,
    /// Start of the last successful run, epoch; 0 = never.
    #[serde(default, with = "de::opt_i64")]
    pub last_sync: Option<i64>,
    /// Start of the last attempt, epoch.
    #[serde(default, with = "de::opt_i64")]
    pub last_try: Option<i64>,
    /// Failed attempts since the last success.
    #[serde(default, with = "de::opt_u64")]
    pub fail_count: Option<u64>,
    /// The last error, only while failing.
    #[serde(default, with = "de::opt_string")]
    pub error: Option<String>,
    /// Everything else (`schedule`, `duration`, `next_sync`, `pid`, …).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// One line of `GET /nodes/{node}/tasks/{upid}/log` (PBS uses the same shape).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TaskLogLine {
    /// 1-based line number.
    #[serde(with = "de::req_u64")]
    pub n: u64,
    /// Line text without newline.
    #[serde(with = "de::string")]
    pub t: String,
}

// ---------------------------------------------------------------------------------------------
// /nodes/{node}/storage/{storage}/content
// ---------------------------------------------------------------------------------------------

/// One item of `GET /nodes/{node}/storage/{storage}/content` (PBS backups: §3.16).
///
/// Needs `Datastore.Audit` or `Datastore.AllocateSpace` on the storage; each backup is then
/// **silently filtered**: visible only with `Datastore.Allocate` on the storage, or
/// `Datastore.AllocateSpace` plus `VM.Backup` on the guest (PVEAuditor sees none).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StorageContentItem {
    /// `<storeid>:backup/<vm|ct>/<vmid>/<YYYY-MM-DDTHH:MM:SSZ>` for PBS.
    pub volid: String,
    /// `backup` (not in the documented schema, returned by the implementation).
    #[serde(default)]
    pub content: Option<String>,
    /// `pbs-vm` / `pbs-ct` for PBS; file formats for other storages.
    #[serde(default)]
    pub format: Option<String>,
    /// `qemu`/`lxc` (libpve-storage-perl ≥ 7.1-2).
    #[serde(default)]
    pub subtype: Option<GuestType>,
    /// Owner VMID.
    #[serde(default, with = "de::opt_u32")]
    pub vmid: Option<u32>,
    /// Creation time, epoch (PBS `backup-time`).
    #[serde(default, with = "de::opt_i64")]
    pub ctime: Option<i64>,
    /// Size in bytes; **1** when PBS reported none (in-progress or broken snapshot).
    #[serde(default, with = "de::opt_u64")]
    pub size: Option<u64>,
    /// First line of the snapshot notes.
    #[serde(default, with = "de::opt_string")]
    pub notes: Option<String>,
    /// Protected from pruning (present only when protected).
    #[serde(default, with = "de::opt_bool")]
    pub protected: Option<bool>,
    /// Last verification; absent = never verified.
    #[serde(default)]
    pub verification: Option<ContentVerification>,
    /// Key fingerprint, or `"1"` when all archives are encrypted without a reported fingerprint;
    /// absent = not encrypted (as far as PVE can tell).
    #[serde(default, with = "de::opt_string_or_number")]
    pub encrypted: Option<String>,
    /// Parent volume (linked clones; not PBS).
    #[serde(default)]
    pub parent: Option<String>,
    /// Used bytes (not PBS).
    #[serde(default, with = "de::opt_u64")]
    pub used: Option<u64>,
    /// Approximate size (newer versions).
    #[serde(default, with = "de::opt_u64")]
    pub approximate_size: Option<u64>,
}

/// `verification` object of a storage content item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ContentVerification {
    /// `ok` or `failed`.
    pub state: VerificationState,
    /// PBS UPID of the verify task.
    #[serde(default)]
    pub upid: Option<String>,
}

impl StorageContentItem {
    /// PVE's placeholder size for a snapshot PBS reported no size for.
    pub const PLACEHOLDER_SIZE: u64 = 1;

    /// `encrypted` is present.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted.is_some()
    }

    /// `size` is PVE's placeholder `1`: PBS reported no size (in progress or broken).
    pub fn size_is_placeholder(&self) -> bool {
        self.size == Some(Self::PLACEHOLDER_SIZE)
    }
}

// ---------------------------------------------------------------------------------------------
// Guest config
// ---------------------------------------------------------------------------------------------

/// Which kind of guest a config belongs to (decides which keys are disks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GuestConfigKind {
    /// `GET /nodes/{node}/qemu/{vmid}/config`.
    Qemu,
    /// `GET /nodes/{node}/lxc/{vmid}/config`.
    Lxc,
}

/// A config value could not be interpreted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestConfigError {
    /// The value of `key` has the wrong type or content.
    #[error("guest config key '{key}': {source}")]
    InvalidValue {
        /// Config key.
        key: String,
        /// What is wrong.
        source: WireValueError,
    },
    /// A disk or mount point definition names no volume.
    #[error("guest config key '{key}' = '{value}' names no volume or path")]
    MissingVolume {
        /// Config key.
        key: String,
        /// The whole definition.
        value: String,
    },
}

/// `GET /nodes/{node}/{qemu|lxc}/{vmid}/config` (needs `VM.Audit` on `/vms/{vmid}`, 403
/// otherwise; `proxyto: node`, so call the guest's current node). A flat map of config keys;
/// the typed accessors below read the keys a backup report needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct GuestConfig {
    /// Every config key as returned (pending values merged unless `current=1`).
    pub entries: BTreeMap<String, Value>,
}

impl GuestConfig {
    /// `key` as text, `None` if absent or null; any other JSON type is an error naming the key.
    pub fn text(&self, key: &str) -> Result<Option<String>, GuestConfigError> {
        match self.entries.get(key) {
            None => Ok(None),
            Some(value) => de::string_from_value(value).map_err(|source| invalid(key, source)),
        }
    }

    /// Free-text description (may be multi-line).
    pub fn description(&self) -> Result<Option<String>, GuestConfigError> {
        self.text("description")
    }

    /// When the guest was created: `ctime` (epoch seconds) of the VM's read-only `meta` property
    /// string (`creation-qemu=9.0.2,ctime=1716560564`). Containers and VMs created before PVE
    /// wrote `meta` have none; a malformed one reads as `None`, which only keeps the judgement
    /// conservative (docs/coverage-model.md, missed runs).
    pub fn created(&self) -> Option<i64> {
        let meta = self.entries.get("meta")?;
        let entries = de::property_map_from_value(meta).ok()??;
        entries
            .get("ctime")
            .and_then(|t| t.trim().parse::<i64>().ok())
            .filter(|t| *t > 0)
    }

    /// VM firmware; absent means SeaBIOS.
    pub fn bios(&self) -> Result<Option<Bios>, GuestConfigError> {
        Ok(self
            .text("bios")?
            .filter(|text| !text.is_empty())
            .map(|text| Bios::from_wire(&text)))
    }
}

/// Wraps a value error with its key.
fn invalid(key: &str, source: WireValueError) -> GuestConfigError {
    GuestConfigError::InvalidValue {
        key: key.to_owned(),
        source,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn creation_time_from_meta_table() {
        let cases: &[(Value, Option<i64>)] = &[
            (
                json!({"meta": "creation-qemu=9.0.2,ctime=1716560564"}),
                Some(1_716_560_564),
            ),
            (
                json!({"meta": "ctime=1716560564,creation-qemu=8.1.5"}),
                Some(1_716_560_564),
            ),
            (
                json!({"meta": {"creation-qemu": "9.0.2", "ctime": 1716560564}}),
                Some(1_716_560_564),
            ),
            (json!({"meta": "creation-qemu=6.1.0"}), None),
            (json!({"meta": "creation-qemu=9.0.2,ctime=soon"}), None),
            (json!({"meta": "ctime=0"}), None),
            (json!({"meta": "garbled"}), None),
            (json!({"meta": 17}), None),
            (json!({"meta": null}), None),
            (json!({"hostname": "ct1"}), None),
        ];
        for (config, want) in cases {
            let parsed: GuestConfig = parse(config.clone());
            assert_eq!(parsed.created(), *want, "{config}");
        }
    }

    #[test]
    fn version_reference_and_perl_variants() {
        let v: Version =
            parse(json!({"version": "9.2.11", "release": "9.2", "repoid": "14a22df35955d97d"}));
        assert_eq!(v.version, "9.2.11");
        assert_eq!(v.release, "9.2");
        assert_eq!(v.repoid, "14a22df35955d97d");
        assert_eq!(v.console, None);
        let old: Version = parse(
            json!({"version": "7.4-3", "release": "7.4", "repoid": "9002ab8a", "console": "xtermjs", "new": 1}),
        );
        assert_eq!(old.release, "7.4");
        assert_eq!(old.console.as_deref(), Some("xtermjs"));
    }

    #[test]
    fn node_with_and_without_sys_audit() {
        let full: Node = parse(
            json!({"node": "pve1", "status": "online", "cpu": 0.05, "maxcpu": 8,
            "mem": 1073741824u64, "maxmem": 17179869184u64, "disk": 1, "maxdisk": 2, "uptime": 86400,
            "level": "c", "ssl_fingerprint": "AB:CD", "id": "node/pve1", "type": "node"}),
        );
        assert_eq!(full.status, NodeStatus::Online);
        assert_eq!(full.maxcpu, Some(8));
        assert_eq!(full.ssl_fingerprint.as_deref(), Some("AB:CD"));
        assert_eq!(full.kind.as_deref(), Some("node"));
        // Without Sys.Audit the stats are omitted; Perl strings and unknown status still parse.
        let bare: Node = parse(json!({"node": "pve2", "status": "fenced", "uptime": "12", "x": 1}));
        assert_eq!(bare.status, NodeStatus::Other("fenced".to_owned()));
        assert_eq!(bare.cpu, None);
        assert_eq!(bare.uptime, Some(12));
        let unknown: Node = parse(json!({"node": "pve3", "status": "unknown"}));
        assert_eq!(unknown.status, NodeStatus::Unknown);
    }

    #[test]
    fn node_time_parses_strings_too() {
        let t: NodeTime = parse(
            json!({"timezone": "Europe/Vienna", "time": 1716560564, "localtime": 1716567764}),
        );
        assert_eq!(
            (t.timezone.as_str(), t.time, t.localtime),
            ("Europe/Vienna", 1_716_560_564, 1_716_567_764)
        );
        let t: NodeTime = parse(
            json!({"timezone": "UTC", "time": "1716560564", "localtime": "1716560564", "extra": true}),
        );
        assert_eq!(t.time, 1_716_560_564);
    }

    #[test]
    fn cluster_resource_reference_guest_item() {
        let r: ClusterResource = parse(
            json!({"id":"qemu/100","type":"qemu","vmid":100,"node":"pve1","name":"web01","status":"running",
            "template":0,"pool":"prod","tags":"critical;web","hastate":"started","uptime":86400,
            "maxdisk":34359738368u64,"disk":0,"maxmem":4294967296u64,"mem":1073741824u64,"maxcpu":2,"cpu":0.01}),
        );
        assert_eq!(r.kind, ClusterResourceKind::Qemu);
        assert!(r.is_guest());
        assert_eq!(r.vmid, Some(100));
        assert_eq!(r.node.as_deref(), Some("pve1"));
        assert_eq!(r.name.as_deref(), Some("web01"));
        assert_eq!(r.template, Some(false));
        assert_eq!(r.pool.as_deref(), Some("prod"));
        assert_eq!(r.tags, Some(vec!["critical".to_owned(), "web".to_owned()]));
        assert_eq!(r.hastate.as_deref(), Some("started"));
        assert_eq!(r.maxdisk, Some(34_359_738_368));
        assert_eq!(r.maxcpu, Some(2.0));
        assert_eq!(r.cpu, Some(0.01));
        assert!(r.extra.is_empty());
    }

    #[test]
    fn cluster_resource_other_kinds_perl_typing_and_unknowns() {
        let items: Vec<ClusterResource> = parse(json!([
            {"id": "/pool/prod", "type": "pool", "pool": "prod", "mem": "1024"},
            {"id": "storage/pve1/pbs1", "type": "storage", "storage": "pbs1", "node": "pve1",
             "plugintype": "pbs", "status": "available", "shared": "1", "content": "backup",
             "disk": "100", "maxdisk": 1000},
            {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online",
             "cgroup-mode": "2", "host-arch": "x86_64", "level": ""},
            {"id": "sdn/pve1/localnetwork", "type": "sdn", "sdn": "localnetwork", "zone-type": "simple"},
            {"id": "lxc/101", "type": "lxc", "vmid": "101", "status": "unknown", "lock": "backup"},
            {"id": "future/1", "type": "quantum", "brand-new": [1, 2], "template": "1", "lock": "frozen"}
        ]));
        assert_eq!(items[0].kind, ClusterResourceKind::Pool);
        assert_eq!(items[0].mem, Some(1024));
        assert_eq!(items[1].plugintype, Some(StorageType::Pbs));
        assert_eq!(items[1].shared, Some(true));
        assert_eq!(items[1].content, Some(vec!["backup".to_owned()]));
        assert_eq!(items[1].disk, Some(100));
        assert_eq!(items[2].cgroup_mode, Some(2));
        assert_eq!(items[2].host_arch.as_deref(), Some("x86_64"));
        assert_eq!(items[3].zone_type.as_deref(), Some("simple"));
        assert_eq!(items[4].vmid, Some(101));
        assert_eq!(items[4].lock, Some(GuestLock::Backup));
        assert_eq!(items[4].name, None);
        assert_eq!(
            items[5].kind,
            ClusterResourceKind::Other("quantum".to_owned())
        );
        assert_eq!(items[5].template, Some(true));
        assert_eq!(items[5].lock, Some(GuestLock::Other("frozen".to_owned())));
        assert_eq!(items[5].extra.get("brand-new"), Some(&json!([1, 2])));
        assert!(!items[5].is_guest());
    }

    #[test]
    fn storage_config_reference_example() {
        let s: StorageConfig = parse(
            json!({"storage":"pbs1","type":"pbs","server":"10.0.0.5","datastore":"store1","namespace":"cluster-a",
            "username":"pve@pbs!backup","fingerprint":"ab:cd:...:ef","content":"backup",
            "prune-backups":"keep-daily=7,keep-last=3","encryption-key":"12:34:...:9a","digest":"6f1c..."}),
        );
        assert_eq!(s.storage, "pbs1");
        assert_eq!(s.storage_type, StorageType::Pbs);
        assert_eq!(s.server.as_deref(), Some("10.0.0.5"));
        assert_eq!(s.datastore.as_deref(), Some("store1"));
        assert_eq!(s.namespace.as_deref(), Some("cluster-a"));
        assert_eq!(s.username.as_deref(), Some("pve@pbs!backup"));
        assert_eq!(s.port, None);
        assert_eq!(s.pbs_port(), 8007);
        assert_eq!(s.content, Some(vec!["backup".to_owned()]));
        let prune = s.prune_backups.as_ref().unwrap();
        assert_eq!(prune.get("keep-daily").map(String::as_str), Some("7"));
        assert_eq!(prune.get("keep-last").map(String::as_str), Some("3"));
        assert!(s.encryption_configured());
        assert_eq!(s.master_pubkey, None);
        assert!(!s.is_disabled());
        assert_eq!(s.digest.as_deref(), Some("6f1c..."));
        assert!(s.extra.is_empty());
    }

    #[test]
    fn storage_config_perl_typing_and_unknown_fields() {
        let s: StorageConfig = parse(
            json!({"storage": "pbs2", "type": "pbs", "server": "pbs.example",
            "port": "8008", "datastore": "s2", "disable": "1", "nodes": "pve1,pve2",
            "prune-backups": {"keep-all": 1}, "encryption-key": 1, "master-pubkey": 1,
            "max-protected-backups": "-1", "future-option": "x"}),
        );
        assert_eq!(s.pbs_port(), 8008);
        assert!(s.is_disabled());
        assert_eq!(s.nodes, Some(vec!["pve1".to_owned(), "pve2".to_owned()]));
        assert_eq!(
            s.prune_backups
                .as_ref()
                .unwrap()
                .get("keep-all")
                .map(String::as_str),
            Some("1")
        );
        assert_eq!(s.encryption_key.as_deref(), Some("1"));
        assert_eq!(s.master_pubkey.as_deref(), Some("1"));
        assert_eq!(s.max_protected_backups, Some(-1));
        assert_eq!(s.extra.get("future-option"), Some(&json!("x")));

        let dir: StorageConfig = parse(
            json!({"storage": "local", "type": "dir", "path": "/var/lib/vz",
            "content": "iso,vztmpl,backup", "shared": 0}),
        );
        assert_eq!(dir.storage_type, StorageType::Dir);
        assert_eq!(dir.extra.get("path"), Some(&json!("/var/lib/vz")));
        assert_eq!(dir.content.unwrap().len(), 3);
        let odd: StorageConfig = parse(json!({"storage": "7", "type": "s3fs"}));
        assert_eq!(odd.storage, "7");
        assert!(
            serde_json::from_value::<StorageConfig>(json!({"storage": 7, "type": "dir"})).is_err()
        );
        assert_eq!(odd.storage_type, StorageType::Other("s3fs".to_owned()));
    }

    #[test]
    fn backup_job_modern_with_every_field() {
        let j: BackupJob = parse(json!({
            "id": "backup-6f0a6c1b-1c4e", "type": "vzdump", "enabled": 1, "schedule": "sat 02:00",
            "comment": "weekly", "repeat-missed": 0, "next-run": 1716600000, "node": "pve1",
            "all": 0, "pool": "prod", "storage": "pbs1", "mode": "snapshot", "compress": "zstd",
            "mailto": "root@example.com", "mailnotification": "failure",
            "notification-mode": "notification-system", "notes-template": "{{guestname}}",
            "protected": 1, "prune-backups": {"keep-daily": 7, "keep-last": 3}, "remove": 1,
            "fleecing": {"enabled": 1, "storage": "local-lvm"},
            "performance": {"max-workers": 16, "pbs-entries-max": 1048576},
            "pbs-change-detection-mode": "metadata", "bwlimit": 0, "ionice": 7, "lockwait": 180,
            "stopwait": 10, "pigz": 0, "zstd": 1, "tmpdir": "/tmp", "dumpdir": "/dump",
            "script": "/hook.pl", "exclude-path": ["/tmp/?*", "/var/cache"], "stdexcludes": 1,
            "quiet": 1, "stop": 0, "maxfiles": 3
        }));
        assert_eq!(j.id, "backup-6f0a6c1b-1c4e");
        assert_eq!(j.job_type.as_deref(), Some("vzdump"));
        assert!(!j.is_legacy_cron_job());
        assert_eq!(j.enabled, Some(true));
        assert_eq!(j.schedule.as_deref(), Some("sat 02:00"));
        assert_eq!(j.repeat_missed, Some(false));
        assert_eq!(j.next_run, Some(1_716_600_000));
        assert_eq!(j.pool.as_deref(), Some("prod"));
        assert_eq!(j.mode, Some(BackupMode::Snapshot));
        assert_eq!(j.compress, Some(Compress::Zstd));
        assert_eq!(j.mailnotification, Some(MailNotification::Failure));
        assert_eq!(
            j.notification_mode,
            Some(NotificationMode::NotificationSystem)
        );
        assert_eq!(
            j.pbs_change_detection_mode,
            Some(PbsChangeDetectionMode::Metadata)
        );
        assert_eq!(j.protected, Some(true));
        assert_eq!(
            j.prune_backups
                .as_ref()
                .unwrap()
                .get("keep-daily")
                .map(String::as_str),
            Some("7")
        );
        assert_eq!(
            j.fleecing
                .as_ref()
                .unwrap()
                .get("storage")
                .map(String::as_str),
            Some("local-lvm")
        );
        assert_eq!(
            j.performance
                .as_ref()
                .unwrap()
                .get("max-workers")
                .map(String::as_str),
            Some("16")
        );
        assert_eq!(
            j.exclude_path,
            Some(vec!["/tmp/?*".to_owned(), "/var/cache".to_owned()])
        );
        assert_eq!(
            (j.ionice, j.lockwait, j.stopwait, j.maxfiles),
            (Some(7), Some(180), Some(10), Some(3))
        );
        assert_eq!(j.tmpdir.as_deref(), Some("/tmp"));
        assert_eq!(j.stop, Some(false));
        assert!(j.extra.is_empty());
    }

    #[test]
    fn backup_job_legacy_and_perl_typing() {
        // PVE ≤ 7.0 vzdump.cron item: starttime/dow, no type, no schedule, numbers as strings.
        let old: BackupJob = parse(json!({"id": "3f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c:1",
            "starttime": "02:30", "dow": "mon,tue,wed,thu,fri", "vmid": "100,101 102",
            "storage": "pbs1", "mode": "stop", "compress": 0, "enabled": "1", "quiet": "1",
            "prune-backups": "keep-last=3", "mailnotification": "always"}));
        assert!(old.is_legacy_cron_job());
        assert_eq!(old.starttime.as_deref(), Some("02:30"));
        assert_eq!(old.dow.as_deref(), Some("mon,tue,wed,thu,fri"));
        assert_eq!(old.vmid, Some(vec![100, 101, 102]));
        assert_eq!(old.compress, Some(Compress::Disabled));
        assert_eq!(old.enabled, Some(true));
        assert_eq!(
            old.prune_backups
                .as_ref()
                .unwrap()
                .get("keep-last")
                .map(String::as_str),
            Some("3")
        );
        assert_eq!(old.next_run, None);
        assert!(old.enabled_or_default());
        assert!(!old.all_or_default());

        let minimal: BackupJob = parse(json!({"id": "42", "all": "1", "exclude": "100;101",
            "fleecing": "enabled=1,storage=local", "mode": "hibernate",
            "notification-mode": "carrier-pigeon", "new-key": {"a": 1}}));
        assert_eq!(minimal.id, "42");
        assert_eq!(minimal.enabled, None);
        assert!(minimal.enabled_or_default());
        assert!(minimal.all_or_default());
        assert_eq!(minimal.exclude, Some(vec![100, 101]));
        assert_eq!(
            minimal.fleecing.unwrap().get("enabled").map(String::as_str),
            Some("1")
        );
        assert_eq!(
            minimal.mode,
            Some(BackupMode::Other("hibernate".to_owned()))
        );
        assert_eq!(
            minimal.notification_mode,
            Some(NotificationMode::Other("carrier-pigeon".to_owned()))
        );
        assert_eq!(minimal.extra.get("new-key"), Some(&json!({"a": 1})));
    }

    #[test]
    fn backup_job_rejects_a_bad_vmid_list_with_a_clear_error() {
        let err = serde_json::from_value::<BackupJob>(json!({"id": "x", "vmid": "100,web"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("'web' in a VMID list is not a VMID"), "{err}");
    }

    #[test]
    fn not_backed_up_items() {
        let items: Vec<NotBackedUpItem> = parse(json!([
            {"vmid": 100, "type": "qemu", "name": "web01"},
            {"vmid": "101", "type": "lxc"},
            {"vmid": 102, "type": "vz", "name": "1234", "new": true}
        ]));
        assert_eq!(
            (items[0].vmid, &items[0].kind, items[0].name.as_deref()),
            (100, &GuestType::Qemu, Some("web01"))
        );
        assert_eq!(
            (items[1].vmid, &items[1].kind, items[1].name.as_deref()),
            (101, &GuestType::Lxc, None)
        );
        assert_eq!(items[2].kind, GuestType::Other("vz".to_owned()));
        assert_eq!(items[2].name.as_deref(), Some("1234"));
    }

    #[test]
    fn pools_list_and_both_detail_forms() {
        let list: Vec<PoolListItem> = parse(
            json!([{"poolid": "prod", "comment": "Production"}, {"poolid": "prod/web"}, {"poolid": "123", "x": 1}]),
        );
        assert_eq!(list[0].comment.as_deref(), Some("Production"));
        assert_eq!(list[1].poolid, "prod/web");
        assert_eq!(list[2].poolid, "123");

        let by_query: Vec<PoolDetail> = parse(
            json!([{"poolid": "prod", "comment": "Production", "members": [
                {"id": "qemu/100", "vmid": 100, "node": "pve1", "type": "qemu", "status": "running",
                 "name": "web01", "template": 0, "uptime": 10, "maxmem": 4294967296u64},
                {"id": "lxc/101", "vmid": "101", "node": "pve2", "type": "lxc", "status": "stopped"},
                {"id": "storage/pve1/pbs1", "storage": "pbs1", "node": "pve1", "type": "storage",
                 "plugintype": "pbs", "status": "available", "shared": 1, "content": "backup", "disk": 1, "maxdisk": 2}
            ]}]),
        );
        let pool = &by_query[0];
        assert_eq!(pool.poolid.as_deref(), Some("prod"));
        let members = pool.members.as_ref().unwrap();
        assert_eq!(
            (
                members[0].kind.clone(),
                members[0].vmid,
                members[0].template
            ),
            (ClusterResourceKind::Qemu, Some(100), Some(false))
        );
        assert_eq!(members[0].extra.get("uptime"), Some(&json!(10)));
        assert_eq!(members[1].vmid, Some(101));
        assert_eq!(members[2].kind, ClusterResourceKind::Storage);
        assert_eq!(members[2].storage.as_deref(), Some("pbs1"));
        assert_eq!(members[2].extra.get("plugintype"), Some(&json!("pbs")));

        let deprecated: PoolDetail = parse(
            json!({"comment": "Production", "members": [{"id": "qemu/100", "vmid": 100, "node": "pve1", "type": "qemu"}]}),
        );
        assert_eq!(deprecated.poolid, None);
        assert_eq!(deprecated.members.unwrap().len(), 1);
        let unknown_member: PoolDetail =
            parse(json!({"poolid": "p", "members": [{"id": "x/1", "type": "widget"}]}));
        assert_eq!(
            unknown_member.members.unwrap()[0].kind,
            ClusterResourceKind::Other("widget".to_owned())
        );
    }

    #[test]
    fn task_list_items_archived_running_and_token() {
        let items: Vec<TaskListItem> = parse(json!([
            {"upid": "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:", "node": "pve1",
             "pid": 2976319, "pstart": 169552957, "starttime": 1716560564, "type": "vzdump",
             "id": "100", "user": "root@pam", "endtime": 1716560700, "status": "OK"},
            {"upid": "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump::user@pve!mon:", "node": "pve1",
             "pid": "2976319", "pstart": "169552957", "starttime": "1716560564", "type": "vzdump",
             "id": "", "user": "user@pve", "tokenid": "mon", "status": "RUNNING", "saved": "0"},
            {"upid": "UPID:pve1:0000C346:165A0CE4:68D7279C:hastart:100:root@pam:", "node": "pve1",
             "pid": 49990, "pstart": 375000292, "starttime": 1758930844, "type": "hastart",
             "id": "100", "user": "root@pam", "status": "job errors"}
        ]));
        assert_eq!(items[0].task_type, "vzdump");
        assert_eq!(items[0].id.as_deref(), Some("100"));
        assert_eq!(items[0].endtime, Some(1_716_560_700));
        assert_eq!(items[0].status.as_deref(), Some("OK"));
        assert_eq!(items[1].pid, 2_976_319);
        assert_eq!(items[1].starttime, Some(1_716_560_564));
        assert_eq!(items[1].id.as_deref(), Some(""));
        assert_eq!(items[1].tokenid.as_deref(), Some("mon"));
        assert_eq!(items[1].endtime, None);
        assert_eq!(items[2].id.as_deref(), Some("100"));
    }

    #[test]
    fn task_log_lines() {
        let lines: Vec<TaskLogLine> = parse(
            json!([{"n": 1, "t": "INFO: starting new backup job: vzdump 100"}, {"n": "2", "t": "100"}, {"n": 3, "t": "TASK OK", "x": 0}]),
        );
        assert_eq!(lines[0].n, 1);
        assert_eq!(lines[0].t, "INFO: starting new backup job: vzdump 100");
        assert_eq!((lines[1].n, lines[1].t.as_str()), (2, "100"));
        assert_eq!(lines[2].t, "TASK OK");
    }

    #[test]
    fn storage_content_reference_example() {
        let item: StorageContentItem = parse(
            json!({"volid":"pbs1:backup/vm/100/2024-05-24T14:22:44Z","content":"backup","format":"pbs-vm",
            "subtype":"qemu","vmid":100,"ctime":1716560564,"size":34359738368u64,"notes":"web01",
            "verification":{"state":"ok","upid":"UPID:pbs:0000036B:00000B2A:0000001F:6650B0C0:verificationjob:store1\\x3av\\x2d1a2b:root@pam:"}}),
        );
        assert_eq!(item.volid, "pbs1:backup/vm/100/2024-05-24T14:22:44Z");
        assert_eq!(item.content.as_deref(), Some("backup"));
        assert_eq!(item.format.as_deref(), Some("pbs-vm"));
        assert_eq!(item.subtype, Some(GuestType::Qemu));
        assert_eq!(item.vmid, Some(100));
        assert_eq!(item.ctime, Some(1_716_560_564));
        assert_eq!(item.size, Some(34_359_738_368));
        assert!(!item.size_is_placeholder());
        assert_eq!(item.notes.as_deref(), Some("web01"));
        let verification = item.verification.as_ref().unwrap();
        assert_eq!(verification.state, VerificationState::Ok);
        assert!(verification
            .upid
            .as_deref()
            .unwrap()
            .contains("verificationjob:store1\\x3av\\x2d1a2b"));
        assert_eq!(item.protected, None);
        assert!(!item.is_encrypted());
    }

    #[test]
    fn storage_content_perl_typing_encryption_and_unknown_state() {
        let items: Vec<StorageContentItem> = parse(json!([
            {"volid": "pbs1:backup/ct/101/2024-05-24T14:22:44Z", "format": "pbs-ct", "subtype": "lxc",
             "vmid": "101", "ctime": "1716560564", "size": "1", "protected": 1, "encrypted": "1",
             "verification": {"state": "failed", "upid": "UPID:x"}},
            {"volid": "pbs1:backup/vm/102/2024-05-24T14:22:44Z", "format": "pbs-vm", "vmid": 102,
             "encrypted": "aa:bb:cc", "verification": {"state": "corrupt-ish"}, "new-field": 1},
            {"volid": "pbs1:backup/vm/103/2024-05-24T14:22:44Z", "format": "pbs-vm", "encrypted": 1, "subtype": "vm"}
        ]));
        assert_eq!(items[0].vmid, Some(101));
        assert!(items[0].size_is_placeholder());
        assert_eq!(items[0].protected, Some(true));
        assert!(items[0].is_encrypted());
        assert_eq!(items[0].encrypted.as_deref(), Some("1"));
        assert_eq!(
            items[0].verification.as_ref().unwrap().state,
            VerificationState::Failed
        );
        assert_eq!(items[1].encrypted.as_deref(), Some("aa:bb:cc"));
        assert_eq!(
            items[1].verification.as_ref().unwrap().state,
            VerificationState::Other("corrupt-ish".to_owned())
        );
        assert_eq!(items[1].verification.as_ref().unwrap().upid, None);
        assert_eq!(items[2].encrypted.as_deref(), Some("1"));
        assert_eq!(items[2].subtype, Some(GuestType::Other("vm".to_owned())));
    }

    #[test]
    fn guest_config_typed_accessors() {
        let vm: GuestConfig = parse(
            json!({"name": "web01", "description": "line1\nline2", "bios": "ovmf", "future": {"x": 1}}),
        );
        assert_eq!(vm.description().unwrap().as_deref(), Some("line1\nline2"));
        assert_eq!(vm.bios().unwrap(), Some(Bios::Ovmf));
        let ct: GuestConfig = parse(json!({"hostname": "1234", "bios": ""}));
        assert_eq!(ct.bios().unwrap(), None);
        assert_eq!(ct.description().unwrap(), None);

        // Config text is a string: a number is a wrong type, never rendered into a value.
        let broken: GuestConfig = parse(json!({"description": 12345, "bios": ["x"]}));
        let err = broken.description().unwrap_err().to_string();
        assert!(
            err.contains("guest config key 'description'")
                && err.contains("expected a string, got 12345"),
            "{err}"
        );
        assert!(broken.bios().is_err());
    }

    fn job(value: serde_json::Value) -> BackupJob {
        serde_json::from_value(value).unwrap()
    }

    fn get<'a>(map: &'a Option<BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
        map.as_ref()?.get(key).map(String::as_str)
    }

    #[test]
    fn backup_job_pve_7_0_legacy_cron_job() {
        // vzdump.cron job before jobs.cfg: starttime/dow, no schedule, property strings, maxfiles.
        let j = job(
            json!({"id": "3f4a:1", "starttime": "02:30", "dow": "mon,tue,wed,thu,fri",
            "all": 1, "storage": "pbs1", "mode": "snapshot", "maxfiles": 3,
            "prune-backups": "keep-daily=7,keep-last=3"}),
        );
        assert_eq!(j.schedule, None);
        assert_eq!(j.starttime.as_deref(), Some("02:30"));
        assert_eq!(j.dow.as_deref(), Some("mon,tue,wed,thu,fri"));
        assert_eq!(j.maxfiles, Some(3));
        assert_eq!(get(&j.prune_backups, "keep-daily"), Some("7"));
        assert!(j.is_legacy_cron_job());
    }

    #[test]
    fn backup_job_pve_8_legacy_cron_job_with_schedule_and_starttime() {
        // PVE 7.1 – 9.1.7: the converted schedule next to the legacy starttime/dow.
        let j = job(
            json!({"id": "3f4a:1", "schedule": "mon..fri 02:30", "starttime": "02:30",
            "dow": "mon,tue,wed,thu,fri", "all": 1, "storage": "pbs1",
            "prune-backups": {"keep-daily": "7"}, "maxfiles": 0}),
        );
        assert_eq!(j.schedule.as_deref(), Some("mon..fri 02:30"));
        assert_eq!(j.starttime.as_deref(), Some("02:30"));
        assert_eq!(j.maxfiles, Some(0));
        assert_eq!(get(&j.prune_backups, "keep-daily"), Some("7"));
    }

    #[test]
    fn backup_job_pve_8_2_jobs_cfg_job() {
        // jobs.cfg job with every option object-shaped and maxfiles still in the schema.
        let j = job(
            json!({"id": "backup-8f2c", "type": "vzdump", "schedule": "21:00",
            "enabled": 1, "next-run": 1768420800, "all": 1, "storage": "pbs1",
            "fleecing": {"enabled": 1, "storage": "local-lvm"},
            "performance": {"max-workers": 16},
            "prune-backups": {"keep-last": 3}, "maxfiles": 1,
            "pbs-change-detection-mode": "metadata"}),
        );
        assert_eq!(get(&j.fleecing, "enabled"), Some("1"));
        assert_eq!(get(&j.performance, "max-workers"), Some("16"));
        assert_eq!(get(&j.prune_backups, "keep-last"), Some("3"));
        assert_eq!(j.maxfiles, Some(1));
        assert!(j.extra.is_empty());
    }

    #[test]
    fn backup_job_pve_9_0_without_maxfiles() {
        let j = job(
            json!({"id": "backup-8f2c", "type": "vzdump", "schedule": "sat 03:00",
            "enabled": 0, "vmid": "100,101", "storage": "pbs1",
            "prune-backups": {"keep-weekly": 4}}),
        );
        assert_eq!(j.maxfiles, None);
        assert_eq!(j.vmid, Some(vec![100, 101]));
        assert!(!j.enabled_or_default());
        assert_eq!(get(&j.prune_backups, "keep-weekly"), Some("4"));
    }

    #[test]
    fn backup_job_pve_9_1_objects_and_no_starttime() {
        // pve-manager ≥ 9.1.8: formal object schema, legacy jobs keep schedule only.
        let j = job(
            json!({"id": "3f4a:1", "schedule": "mon..fri 02:30", "all": 1,
            "storage": "pbs1",
            "fleecing": {"enabled": true, "storage": "local-zfs"},
            "performance": {"max-workers": 8, "pbs-entries-max": 1048576},
            "prune-backups": {"keep-all": 1}}),
        );
        assert_eq!((j.starttime.as_deref(), j.dow.as_deref()), (None, None));
        assert_eq!(j.schedule.as_deref(), Some("mon..fri 02:30"));
        assert_eq!(get(&j.fleecing, "enabled"), Some("1"));
        assert_eq!(get(&j.fleecing, "storage"), Some("local-zfs"));
        assert_eq!(get(&j.performance, "pbs-entries-max"), Some("1048576"));
        assert_eq!(get(&j.prune_backups, "keep-all"), Some("1"));
        assert!(j.extra.is_empty());
    }

    #[test]
    fn backup_job_old_property_strings_decode_like_objects() {
        // Very old servers (and the config file) write property strings; fleecing's bare entry
        // is its default key `enabled`.
        let short = job(json!({"id": "j", "fleecing": "1,storage=local-lvm",
            "performance": "max-workers=4", "prune-backups": "keep-all=1"}));
        let long = job(
            json!({"id": "j", "fleecing": {"enabled": 1, "storage": "local-lvm"},
            "performance": {"max-workers": 4}, "prune-backups": {"keep-all": 1}}),
        );
        assert_eq!(short, long);
        let named = job(json!({"id": "j", "fleecing": "enabled=0"}));
        assert_eq!(get(&named.fleecing, "enabled"), Some("0"));
        assert!(serde_json::from_value::<BackupJob>(json!({"id": "j",
            "fleecing": "1,enabled=0"}))
        .is_err());
    }
}

#[cfg(test)]
mod replication_tests {
    #![allow(clippy::unwrap_used)]
    use super::ReplicationStatus;

    #[test]
    fn a_replication_status_decodes_failing_and_never_synced_jobs() {
        let items: Vec<ReplicationStatus> = serde_json::from_value(serde_json::json!([
            {"id": "100-0", "type": "local", "guest": 100, "jobnum": 0, "target": "pve2",
             "schedule": "*/15", "vmtype": "qemu", "last_sync": 1768460400, "last_try": 1768463100,
             "fail_count": 3, "error": "no tunnel IP received", "duration": 1.25, "next_sync": 0},
            {"id": "101-1", "guest": "101", "target": "pve3", "last_sync": 0, "fail_count": 0,
             "disable": 1}
        ]))
        .unwrap();
        assert_eq!(items[0].guest, Some(100));
        assert_eq!(items[0].fail_count, Some(3));
        assert_eq!(items[0].error.as_deref(), Some("no tunnel IP received"));
        assert_eq!(items[1].guest, Some(101));
        assert_eq!(items[1].last_sync, Some(0));
        assert_eq!(items[1].disable, Some(true));
    }
}
