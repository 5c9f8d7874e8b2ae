//! Scenario model: everything the simulated PVE cluster and PBS servers know, as serde types
//! (storable as JSON) with small builder helpers for tests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::tasks::{PbsTask, PveTask};

/// A raw JSON object (config maps are kept exactly as the API would return them).
pub type RawMap = Map<String, Value>;

/// The whole simulated world: one PVE cluster and any number of PBS servers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Scenario {
    /// The PVE cluster.
    pub pve: PveScenario,
    /// The PBS servers, addressed by `PbsScenario::name`.
    #[serde(default)]
    pub pbs: Vec<PbsScenario>,
}

impl Scenario {
    /// Start building a scenario with defaults (PVE 9.2.11, no nodes).
    pub fn builder() -> Scenario {
        Scenario::default()
    }

    /// Load a scenario from a JSON file.
    pub fn from_json_file(path: &std::path::Path) -> std::io::Result<Scenario> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }

    /// Serialize to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Add a node.
    pub fn node(mut self, name: &str, timezone: &str) -> Self {
        self.pve.nodes.push(Node::new(name, timezone));
        self
    }

    /// Add a guest.
    pub fn guest(mut self, guest: Guest) -> Self {
        self.pve.guests.push(guest);
        self
    }

    /// Add a jobs.cfg backup job.
    pub fn job(mut self, job: RawMap) -> Self {
        self.pve.backup_jobs.push(job);
        self
    }

    /// Add a storage.
    pub fn storage(mut self, storage: RawMap) -> Self {
        self.pve.storages.push(storage);
        self
    }

    /// Add a PVE task.
    pub fn task(mut self, task: PveTask) -> Self {
        self.pve.tasks.push(task);
        self
    }

    /// Add a PBS server.
    pub fn pbs_server(mut self, pbs: PbsScenario) -> Self {
        self.pbs.push(pbs);
        self
    }
}

/// Behaviour switches of the simulated PVE.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PveSettings {
    /// Delay before a 401 answer (real PVE: 3000 ms; tests: 0).
    #[serde(default)]
    pub auth_failure_delay_ms: u64,
    /// Ticket lifetime in seconds (real: 7200).
    #[serde(default = "default_ticket_lifetime")]
    pub ticket_lifetime_secs: i64,
    /// Send config-derived booleans/integers as strings ("1"/"0") like some Perl versions.
    #[serde(default)]
    pub perl_strings: bool,
    /// Archived tasks per node visible in `/nodes/{node}/tasks` (real: index + index.1, about
    /// 1000-2000 entries); `None` = unlimited.
    #[serde(default)]
    pub task_history_limit: Option<usize>,
    /// Fixed "now" (epoch) used for `next-run` and `/nodes/{node}/time`; `None` = real clock.
    #[serde(default)]
    pub now: Option<i64>,
}

fn default_ticket_lifetime() -> i64 {
    7200
}

impl Default for PveSettings {
    fn default() -> Self {
        PveSettings {
            auth_failure_delay_ms: 0,
            ticket_lifetime_secs: default_ticket_lifetime(),
            perl_strings: false,
            task_history_limit: None,
            now: None,
        }
    }
}

/// The simulated PVE cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PveScenario {
    /// `version` of `/version`, e.g. `9.2.11`.
    pub version: String,
    /// `release` of `/version`, e.g. `9.2`.
    pub release: String,
    /// `repoid` of `/version`.
    pub repoid: String,
    /// Cluster name (`None` = standalone node, no cluster entry in `/cluster/status`).
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// Cluster nodes.
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// All guests.
    #[serde(default)]
    pub guests: Vec<Guest>,
    /// Resource pools (guest membership comes from `Guest::pool`).
    #[serde(default)]
    pub pools: Vec<Pool>,
    /// Storage configs, raw maps as `/storage` returns them (must contain `storage` and
    /// `type`). A `pbs` storage whose `server` equals a simulated PBS name is rewritten at start
    /// to that PBS's `127.0.0.1`, port and fingerprint.
    #[serde(default)]
    pub storages: Vec<RawMap>,
    /// jobs.cfg vzdump jobs, raw maps as `/cluster/backup` returns them (with `"type":"vzdump"`).
    #[serde(default)]
    pub backup_jobs: Vec<RawMap>,
    /// Legacy vzdump.cron jobs (no `type`, never a `next-run`), listed first.
    #[serde(default)]
    pub legacy_jobs: Vec<RawMap>,
    /// Storage replication jobs with their state, raw maps as `GET /nodes/{node}/replication`
    /// returns them (snake_case; `guest` decides which node lists the job).
    #[serde(default)]
    pub replication: Vec<RawMap>,
    /// Task history of all nodes.
    #[serde(default)]
    pub tasks: Vec<PveTask>,
    /// Backup volumes on non-PBS storages.
    #[serde(default)]
    pub backup_volumes: Vec<FileVolume>,
    /// Guest disk images (`content: images`), e.g. fleecing leftovers.
    #[serde(default)]
    pub image_volumes: Vec<FileVolume>,
    /// Users, tokens and ACLs.
    #[serde(default)]
    pub access: Access,
    /// Behaviour switches.
    #[serde(default)]
    pub settings: PveSettings,
}

impl Default for PveScenario {
    fn default() -> Self {
        PveScenario {
            version: "9.2.11".into(),
            release: "9.2".into(),
            repoid: "14a22df35955d97d".into(),
            cluster_name: None,
            nodes: Vec::new(),
            guests: Vec::new(),
            pools: Vec::new(),
            storages: Vec::new(),
            backup_jobs: Vec::new(),
            legacy_jobs: Vec::new(),
            replication: Vec::new(),
            tasks: Vec::new(),
            backup_volumes: Vec::new(),
            image_volumes: Vec::new(),
            access: Access::default(),
            settings: PveSettings::default(),
        }
    }
}

/// A cluster node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    /// Node name.
    pub name: String,
    /// Cluster member online.
    #[serde(default = "default_true")]
    pub online: bool,
    /// Time zone name (`/nodes/{node}/time` `timezone`).
    pub timezone: String,
    /// Offset of local time to UTC in seconds (for `localtime`).
    #[serde(default)]
    pub utc_offset_secs: i64,
    /// Node IP shown in `/cluster/status`.
    #[serde(default)]
    pub ip: Option<String>,
    /// Seconds since boot (`/nodes` `uptime`); None: ten days.
    #[serde(default)]
    pub uptime_secs: Option<u64>,
}

impl Node {
    /// A node in the given time zone (Europe/Vienna gets +3600).
    pub fn new(name: &str, timezone: &str) -> Node {
        let offset = if timezone == "Europe/Vienna" || timezone == "Europe/Berlin" {
            3600
        } else {
            0
        };
        Node {
            name: name.into(),
            online: true,
            timezone: timezone.into(),
            utc_offset_secs: offset,
            ip: None,
            uptime_secs: None,
        }
    }
}

fn default_true() -> bool {
    true
}

/// Guest type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// QEMU VM.
    Qemu,
    /// LXC container.
    Lxc,
}

impl Kind {
    /// `qemu` / `lxc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Qemu => "qemu",
            Kind::Lxc => "lxc",
        }
    }
    /// PBS backup type `vm` / `ct`.
    pub fn pbs_type(self) -> &'static str {
        match self {
            Kind::Qemu => "vm",
            Kind::Lxc => "ct",
        }
    }
}

/// A guest. Name, tags, template, lock and description live in `config` (like the real config
/// file); `/cluster/resources` derives its fields from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Guest {
    /// VMID.
    pub vmid: u32,
    /// qemu or lxc.
    pub kind: Kind,
    /// Node owning the config.
    pub node: String,
    /// `running`, `stopped`, …
    pub status: String,
    /// Pool id (full id, nested pools `parent/child`).
    #[serde(default)]
    pub pool: Option<String>,
    /// HA state for `/cluster/resources` `hastate`.
    #[serde(default)]
    pub hastate: Option<String>,
    /// RRD data present (name/template/stats in `/cluster/resources`).
    #[serde(default = "default_true")]
    pub has_rrd: bool,
    /// Raw config as `/nodes/{node}/{qemu|lxc}/{vmid}/config` returns it.
    #[serde(default)]
    pub config: RawMap,
}

/// Create a guest with a minimal config (one 32G disk for VMs, an 8G rootfs for CTs).
pub fn guest(vmid: u32, node: &str, kind: Kind) -> Guest {
    let mut config = Map::new();
    match kind {
        Kind::Qemu => {
            config.insert("name".into(), json!(format!("vm{vmid}")));
            config.insert(
                "scsi0".into(),
                json!(format!("local-lvm:vm-{vmid}-disk-0,size=32G")),
            );
            config.insert("memory".into(), json!("4096"));
            config.insert("cores".into(), json!(2));
        }
        Kind::Lxc => {
            config.insert("hostname".into(), json!(format!("ct{vmid}")));
            config.insert(
                "rootfs".into(),
                json!(format!("local-lvm:vm-{vmid}-disk-0,size=8G")),
            );
            config.insert("memory".into(), json!(512));
        }
    }
    Guest {
        vmid,
        kind,
        node: node.into(),
        status: "running".into(),
        pool: None,
        hastate: None,
        has_rrd: true,
        config,
    }
}

impl Guest {
    /// Set the VM name / CT hostname.
    pub fn name(mut self, name: &str) -> Self {
        let key = match self.kind {
            Kind::Qemu => "name",
            Kind::Lxc => "hostname",
        };
        self.config.insert(key.into(), json!(name));
        self
    }
    /// Give a VM the read-only `meta` line PVE writes when it creates one (`creation-qemu`,
    /// `ctime` in epoch seconds); containers have none.
    pub fn created(mut self, ctime: i64) -> Self {
        if self.kind == Kind::Qemu {
            self.config.insert(
                "meta".into(),
                json!(format!("creation-qemu=9.2.0,ctime={ctime}")),
            );
        }
        self
    }
    /// Set status (`running`/`stopped`).
    pub fn status(mut self, status: &str) -> Self {
        self.status = status.into();
        self
    }
    /// Mark as template (stopped, `template: 1`).
    pub fn template(mut self) -> Self {
        self.config.insert("template".into(), json!(1));
        self.status = "stopped".into();
        self
    }
    /// Put into a pool.
    pub fn pool(mut self, pool: &str) -> Self {
        self.pool = Some(pool.into());
        self
    }
    /// Set tags (`;`-separated).
    pub fn tags(mut self, tags: &str) -> Self {
        self.config.insert("tags".into(), json!(tags));
        self
    }
    /// Set a lock.
    pub fn lock(mut self, lock: &str) -> Self {
        self.config.insert("lock".into(), json!(lock));
        self
    }
    /// Set/overwrite a raw config key.
    pub fn cfg(mut self, key: &str, value: Value) -> Self {
        self.config.insert(key.into(), value);
        self
    }
    /// Display name (VM `name` / CT `hostname`).
    pub fn display_name(&self) -> Option<&str> {
        let key = match self.kind {
            Kind::Qemu => "name",
            Kind::Lxc => "hostname",
        };
        self.config.get(key).and_then(Value::as_str)
    }
    /// `template` set in config (accepts 1/"1"/true).
    pub fn is_template(&self) -> bool {
        self.config.get("template").is_some_and(truthy)
    }
}

/// Lenient boolean reading of a config value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
        Value::String(s) => matches!(s.as_str(), "1" | "yes" | "on" | "true"),
        _ => false,
    }
}

/// A resource pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pool {
    /// Pool id (`parent/child` for nested pools).
    pub poolid: String,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Storage members.
    #[serde(default)]
    pub storages: Vec<String>,
}

/// A backup volume on a file-based storage, served by `/nodes/{node}/storage/{id}/content`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileVolume {
    /// Storage id.
    pub storage: String,
    /// For non-shared storages: the node holding the file (`None` = visible from every node).
    #[serde(default)]
    pub node: Option<String>,
    /// The item exactly as PVE lists it (`volid`, `content`, `format`, `subtype`, `vmid`, `ctime`,
    /// `size`, `notes`, `protected`, …).
    pub item: RawMap,
}

impl FileVolume {
    /// A vzdump archive on a dir storage.
    pub fn vzdump(storage: &str, kind: Kind, vmid: u32, ctime: i64, size: u64) -> FileVolume {
        let stamp = chrono::DateTime::from_timestamp(ctime, 0)
            .map(|t| t.format("%Y_%m_%d-%H_%M_%S").to_string())
            .unwrap_or_default();
        let (ext, format) = match kind {
            Kind::Qemu => ("vma.zst", "vma.zst"),
            Kind::Lxc => ("tar.zst", "tar.zst"),
        };
        let mut item = Map::new();
        item.insert(
            "volid".into(),
            json!(format!(
                "{storage}:backup/vzdump-{}-{vmid}-{stamp}.{ext}",
                kind.as_str()
            )),
        );
        item.insert("content".into(), json!("backup"));
        item.insert("format".into(), json!(format));
        item.insert("subtype".into(), json!(kind.as_str()));
        item.insert("vmid".into(), json!(vmid));
        item.insert("ctime".into(), json!(ctime));
        item.insert("size".into(), json!(size));
        FileVolume {
            storage: storage.into(),
            node: None,
            item,
        }
    }
}

impl FileVolume {
    /// A raw disk image `vm-<vmid>-<name>` on a block storage (lvmthin, zfs) of `node`, as the
    /// content list shows it; `fleece-<n>` is a fleecing image (copies-and-evolution §B3).
    pub fn image(storage: &str, node: &str, vmid: u32, name: &str, size: u64) -> FileVolume {
        let mut item = Map::new();
        item.insert("volid".into(), json!(format!("{storage}:vm-{vmid}-{name}")));
        item.insert("content".into(), json!("images"));
        item.insert("format".into(), json!("raw"));
        item.insert("vmid".into(), json!(vmid));
        item.insert("size".into(), json!(size));
        FileVolume {
            storage: storage.into(),
            node: Some(node.into()),
            item,
        }
    }
}

/// A user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// `user@realm`.
    pub userid: String,
    /// Enabled.
    #[serde(default = "default_true")]
    pub enable: bool,
    /// Expiry epoch (0 = never).
    #[serde(default)]
    pub expire: i64,
    /// Password for ticket login (`None` = cannot log in).
    #[serde(default)]
    pub password: Option<String>,
}

/// An API token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    /// Full id `user@realm!name`.
    pub tokenid: String,
    /// Secret (UUID).
    pub secret: String,
    /// PVE privilege separation (default 1). Ignored by PBS (always separated).
    #[serde(default = "default_true")]
    pub privsep: bool,
    /// Expiry epoch (0 = never).
    #[serde(default)]
    pub expire: i64,
}

/// One ACL entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Acl {
    /// ACL path, e.g. `/`, `/vms/100`, `/datastore/store1/ns1`.
    pub path: String,
    /// User or token id.
    pub ugid: String,
    /// Role names (expanded per the product's role table) or single privilege names.
    pub roles: Vec<String>,
    /// Propagate to child paths.
    #[serde(default = "default_true")]
    pub propagate: bool,
}

/// Users, tokens and ACLs of one product.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Access {
    /// Users.
    #[serde(default)]
    pub users: Vec<User>,
    /// Tokens.
    #[serde(default)]
    pub tokens: Vec<Token>,
    /// ACLs.
    #[serde(default)]
    pub acls: Vec<Acl>,
}

impl Access {
    /// Add an enabled user with an optional password.
    pub fn user(&mut self, userid: &str, password: Option<&str>) -> &mut Self {
        self.users.push(User {
            userid: userid.into(),
            enable: true,
            expire: 0,
            password: password.map(str::to_string),
        });
        self
    }
    /// Add a token.
    pub fn token(&mut self, tokenid: &str, secret: &str, privsep: bool) -> &mut Self {
        self.tokens.push(Token {
            tokenid: tokenid.into(),
            secret: secret.into(),
            privsep,
            expire: 0,
        });
        self
    }
    /// Add an ACL entry.
    pub fn acl(&mut self, path: &str, ugid: &str, role: &str, propagate: bool) -> &mut Self {
        self.acls.push(Acl {
            path: path.into(),
            ugid: ugid.into(),
            roles: vec![role.into()],
            propagate,
        });
        self
    }
}

/// Behaviour switches of a simulated PBS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PbsSettings {
    /// Delay before a 401 answer (real: 3000 ms; tests: 0).
    #[serde(default)]
    pub auth_failure_delay_ms: u64,
    /// Ticket lifetime in seconds (real: 7200).
    #[serde(default = "default_ticket_lifetime")]
    pub ticket_lifetime_secs: i64,
    /// Local UTC offset for task log timestamps.
    #[serde(default)]
    pub utc_offset_secs: i64,
    /// The server's clock (epoch); None: the wall clock. Computed answers (GC `next-run`, usage
    /// history) depend on it, so a frozen scenario must set it, as the PVE side does.
    #[serde(default)]
    pub now: Option<i64>,
}

impl Default for PbsSettings {
    fn default() -> Self {
        PbsSettings {
            auth_failure_delay_ms: 0,
            ticket_lifetime_secs: default_ticket_lifetime(),
            utc_offset_secs: 0,
            now: None,
        }
    }
}

/// One simulated PBS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PbsScenario {
    /// Name used by `SimHandle::pbs` and as UPID node.
    pub name: String,
    /// `version` (`major.minor`).
    pub version: String,
    /// `release` (patch).
    pub release: String,
    /// `repoid`.
    pub repoid: String,
    /// Datastores.
    #[serde(default)]
    pub datastores: Vec<Datastore>,
    /// Verify jobs (raw `VerificationJobStatus` maps incl. status fields).
    #[serde(default)]
    pub verify_jobs: Vec<RawMap>,
    /// Prune jobs (raw `PruneJobStatus` maps).
    #[serde(default)]
    pub prune_jobs: Vec<RawMap>,
    /// Sync jobs (raw `SyncJobStatus` maps; `sync-direction` absent = pull).
    #[serde(default)]
    pub sync_jobs: Vec<RawMap>,
    /// Remotes (raw `RemoteConfig` maps; a `password` member is never answered; a `host` naming
    /// another simulated PBS is rewritten to its address, port and fingerprint at start).
    #[serde(default)]
    pub remotes: Vec<RawMap>,
    /// Tape backup jobs (raw `TapeBackupJobStatus` maps).
    #[serde(default)]
    pub tape_jobs: Vec<RawMap>,
    /// Tape catalog entries (raw `MediaContentEntry` maps).
    #[serde(default)]
    pub tape_content: Vec<RawMap>,
    /// Tasks.
    #[serde(default)]
    pub tasks: Vec<PbsTask>,
    /// Users, tokens, ACLs.
    #[serde(default)]
    pub access: Access,
    /// Behaviour switches.
    #[serde(default)]
    pub settings: PbsSettings,
}

impl PbsScenario {
    /// A PBS 3.2.4 with no datastores.
    pub fn new(name: &str) -> PbsScenario {
        PbsScenario {
            name: name.into(),
            version: "3.2".into(),
            release: "4".into(),
            repoid: "4940514b0f05d6cd6a5f711edfdd47c1fa41b537".into(),
            datastores: Vec::new(),
            verify_jobs: Vec::new(),
            prune_jobs: Vec::new(),
            sync_jobs: Vec::new(),
            remotes: Vec::new(),
            tape_jobs: Vec::new(),
            tape_content: Vec::new(),
            tasks: Vec::new(),
            access: Access::default(),
            settings: PbsSettings::default(),
        }
    }
}

/// A PBS datastore.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Datastore {
    /// Name.
    pub store: String,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Filesystem total bytes (`None` = error entry).
    #[serde(default)]
    pub total: Option<u64>,
    /// Used bytes.
    #[serde(default)]
    pub used: Option<u64>,
    /// Available bytes.
    #[serde(default)]
    pub avail: Option<u64>,
    /// `estimated-full-date` (0 = never).
    #[serde(default)]
    pub estimated_full_date: Option<i64>,
    /// `error` of `/status/datastore-usage`.
    #[serde(default)]
    pub error: Option<String>,
    /// `gc-schedule`.
    #[serde(default)]
    pub gc_schedule: Option<String>,
    /// Last GC status (`GarbageCollectionStatus` fields + `upid`, `last-run-state`, …).
    #[serde(default)]
    pub gc_status: RawMap,
    /// Namespaces (without the root `""`), e.g. `["pve", "pve/prod"]`.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// All snapshots (of all namespaces).
    #[serde(default)]
    pub snapshots: Vec<Snapshot>,
    /// Group owners keyed `"<ns>|<type>/<id>"`; missing = owner of the group's first snapshot.
    #[serde(default)]
    pub group_owners: BTreeMap<String, String>,
    /// `maintenance` property string (`type=offline,message=…`); None: none.
    #[serde(default)]
    pub maintenance: Option<String>,
    /// `mount-status` of a removable datastore (`mounted`, `notmounted`); None: not removable.
    #[serde(default)]
    pub mount_status: Option<String>,
}

impl Datastore {
    /// Why a lookup of the store fails (pbs-datastore `lookup_datastore`): a maintenance mode
    /// that blocks reads, or a removable store that is not mounted; read-only blocks writes only.
    pub fn unavailable(&self) -> Option<String> {
        if self.mount_status.as_deref() == Some("notmounted") {
            return Some(format!("datastore '{}' is not mounted", self.store));
        }
        let raw = self.maintenance.as_deref()?;
        let mut kind = None;
        let mut message = String::new();
        for part in raw.split(',') {
            match part.split_once('=') {
                Some(("type", t)) => kind = Some(t.to_string()),
                Some(("message", m)) => message = m.trim_matches('"').to_string(),
                Some(_) => {}
                None => kind = Some(part.to_string()),
            }
        }
        let why = match kind.as_deref()? {
            "offline" => format!("offline maintenance mode: {message}"),
            "delete" => "datastore is being deleted".to_string(),
            "unmount" => "datastore is being unmounted".to_string(),
            "s3-refresh" => format!("S3 refresh maintenance mode: {message}"),
            _ => return None,
        };
        Some(format!("datastore '{}' is unavailable: {why}", self.store))
    }
}

impl Datastore {
    /// An empty datastore with 1 TiB, 40 % used.
    pub fn new(store: &str) -> Datastore {
        let total = 1u64 << 40;
        Datastore {
            store: store.into(),
            comment: None,
            total: Some(total),
            used: Some(total / 10 * 4),
            avail: Some(total - total / 10 * 4),
            estimated_full_date: Some(0),
            error: None,
            gc_schedule: Some("daily".into()),
            gc_status: Map::new(),
            namespaces: Vec::new(),
            snapshots: Vec::new(),
            group_owners: BTreeMap::new(),
            maintenance: None,
            mount_status: None,
        }
    }
}

/// Verification state of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    /// `ok` or `failed`.
    pub state: String,
    /// UPID of the verify task.
    pub upid: String,
}

/// One file of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotFile {
    /// File name.
    pub filename: String,
    /// `none` / `encrypt` / `sign-only`.
    #[serde(
        default,
        rename = "crypt-mode",
        skip_serializing_if = "Option::is_none"
    )]
    pub crypt_mode: Option<String>,
    /// Size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A PBS snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// Namespace (`""` = root).
    #[serde(default)]
    pub ns: String,
    /// `vm`, `ct`, `host`.
    pub backup_type: String,
    /// Backup id.
    pub backup_id: String,
    /// Epoch.
    pub backup_time: i64,
    /// Sum of file sizes; `None` for in-progress/broken snapshots (then also no comment,
    /// verification, fingerprint, and files have no sizes).
    #[serde(default)]
    pub size: Option<u64>,
    /// First notes line.
    #[serde(default)]
    pub comment: Option<String>,
    /// Verification.
    #[serde(default)]
    pub verification: Option<Verification>,
    /// Encryption key fingerprint.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Files.
    #[serde(default)]
    pub files: Vec<SnapshotFile>,
    /// Protected.
    #[serde(default)]
    pub protected: bool,
    /// Owner of the group (used when `Datastore::group_owners` has no entry).
    #[serde(default)]
    pub owner: Option<String>,
}

impl Snapshot {
    /// A finished, unencrypted guest snapshot with typical files.
    pub fn guest(ns: &str, kind: Kind, vmid: u32, time: i64, size: u64, owner: &str) -> Snapshot {
        let mut files = Vec::new();
        match kind {
            Kind::Qemu => {
                files.push(file("qemu-server.conf.blob", Some(512)));
                files.push(file(
                    "drive-scsi0.img.fidx",
                    Some(size.saturating_sub(1132)),
                ));
            }
            Kind::Lxc => {
                files.push(file("pct.conf.blob", Some(400)));
                files.push(file("root.pxar.didx", Some(size.saturating_sub(1020))));
                files.push(file("catalog.pcat1.didx", Some(0)));
            }
        }
        files.push(file("index.json.blob", Some(620)));
        files.push(SnapshotFile {
            filename: "client.log.blob".into(),
            crypt_mode: None,
            size: None,
        });
        Snapshot {
            ns: ns.into(),
            backup_type: kind.pbs_type().into(),
            backup_id: vmid.to_string(),
            backup_time: time,
            size: Some(size),
            comment: None,
            verification: None,
            fingerprint: None,
            files,
            protected: false,
            owner: Some(owner.into()),
        }
    }

    /// Turn into an in-progress snapshot (no manifest: no sizes, comment, verification).
    pub fn in_progress(mut self) -> Self {
        self.size = None;
        self.comment = None;
        self.verification = None;
        self.fingerprint = None;
        for f in &mut self.files {
            f.size = None;
            f.crypt_mode = None;
        }
        self.files.retain(|f| f.filename != "index.json.blob");
        self
    }

    /// Set verification state with a UPID.
    pub fn verified(mut self, state: &str, upid: &str) -> Self {
        self.verification = Some(Verification {
            state: state.into(),
            upid: upid.into(),
        });
        self
    }
}

fn file(name: &str, size: Option<u64>) -> SnapshotFile {
    SnapshotFile {
        filename: name.into(),
        crypt_mode: Some("none".into()),
        size,
    }
}

/// Build a jobs.cfg vzdump job map from `(key, value)` pairs; adds `id` and `type`.
pub fn job(id: &str, fields: &[(&str, Value)]) -> RawMap {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("type".into(), json!("vzdump"));
    for (k, v) in fields {
        m.insert((*k).to_string(), v.clone());
    }
    m
}

/// Build a raw map from `(key, value)` pairs.
pub fn raw(fields: &[(&str, Value)]) -> RawMap {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}
