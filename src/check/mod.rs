//! `--check-api`: try every endpoint the tool uses, independently, and explain what the credentials
//! can and cannot see.
//!
//! Each probe is one GET whose outcome (status, item count, latency) is recorded; one failure never
//! stops the others. The token's effective privileges (`GET /access/permissions`) are then compared
//! with what each capability needs (guests, backup jobs, task history, pools, storage content, PBS
//! datastores), naming the exact role and path to grant when something is missing, and the known
//! traps (privilege separation hiding data, 403 on /cluster/backup, PBS token separator) are
//! recognised and explained.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::{ApiClient, ApiError, ApiErrorKind};
use crate::api::{ServerConfig, ServerKind};
use crate::config::Config;
use crate::model::PermissionMap;

/// The outcome of one probe.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// `GET /path?query`.
    pub endpoint: String,
    /// What the report needs this endpoint for.
    pub purpose: String,
    /// `ok`, or a short failure label (`403`, `timeout`, `tls`, …).
    pub status: String,
    /// Items in the answer (list length, or members of an object), when it succeeded.
    pub items: Option<usize>,
    /// Milliseconds until the answer (including queueing under the concurrency limit).
    pub latency_ms: u64,
    /// The error message, when it failed.
    pub error: Option<String>,
    /// How to fix the failure, when there is something specific to say.
    pub hint: Option<String>,
}

impl Probe {
    /// Whether the endpoint answered successfully.
    pub fn ok(&self) -> bool {
        self.status == "ok"
    }
}

/// How much of one kind of data the credentials can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everything: lists are complete.
    Full,
    /// Some of it: lists may be silently shortened.
    Partial,
    /// Nothing (403, or silently empty).
    None,
    /// Could not be determined (the permission query or the probe failed).
    Unknown,
    /// Not needed in this configuration (e.g. storage content when a PBS token is configured).
    NotNeeded,
}

/// One capability the report relies on.
#[derive(Debug, Clone, Serialize)]
pub struct Capability {
    /// Short name, e.g. `guests`, `backup_jobs`.
    pub name: String,
    /// How much is visible.
    pub visibility: Visibility,
    /// Why, in a sentence.
    pub detail: String,
    /// What to grant, as a command, when it is not fully visible.
    pub fix: Option<String>,
    /// Whether the report needs it; an optional source that is not visible is not a problem.
    pub required: bool,
}

/// A known configuration trap that was recognised.
#[derive(Debug, Clone, Serialize)]
pub struct Trap {
    /// Stable identifier, e.g. `privsep_without_acl`.
    pub id: String,
    /// Explanation and fix.
    pub message: String,
}

/// The check of one server.
#[derive(Debug, Clone, Serialize)]
pub struct ServerCheck {
    /// `pve` or `pbs`.
    pub kind: ServerKind,
    /// Configured name.
    pub name: String,
    /// `host:port`.
    pub host: String,
    /// The token id or user (never the secret).
    pub identity: String,
    /// The server's version, when `/version` answered.
    pub version: Option<String>,
    /// Every probe, in a fixed order.
    pub probes: Vec<Probe>,
    /// What the credentials can see.
    pub capabilities: Vec<Capability>,
    /// Recognised traps.
    pub traps: Vec<Trap>,
}

impl ServerCheck {
    /// Failed probes plus capabilities that are not fully visible.
    pub fn problem_count(&self) -> usize {
        self.probes.iter().filter(|p| !p.ok()).count()
            + self
                .capabilities
                .iter()
                .filter(|c| {
                    c.required && !matches!(c.visibility, Visibility::Full | Visibility::NotNeeded)
                })
                .count()
    }
}

/// The whole `--check-api` result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// One entry per configured server: PVE first, then PBS by name.
    pub servers: Vec<ServerCheck>,
    /// Total problems; 0 means everything needed is reachable and visible.
    pub problems: usize,
}

/// Run every probe against every configured server.
pub async fn run(config: &Config) -> CheckReport {
    let limiter = Arc::new(Semaphore::new(config.max_concurrency));
    let mut servers = Vec::new();
    let pbs_configured = !config.pbs.is_empty();
    for server in ServerConfig::all(config) {
        servers.push(check_server(&server, &limiter, pbs_configured).await);
    }
    let problems = servers.iter().map(ServerCheck::problem_count).sum();
    CheckReport { servers, problems }
}

async fn check_server(
    server: &ServerConfig,
    limiter: &Arc<Semaphore>,
    pbs_configured: bool,
) -> ServerCheck {
    let mut check = ServerCheck {
        kind: server.kind,
        name: server.name.clone(),
        host: server.host_port(),
        identity: server.auth.identity(),
        version: None,
        probes: Vec::new(),
        capabilities: Vec::new(),
        traps: Vec::new(),
    };
    let client = match ApiClient::new(server, limiter.clone()) {
        Ok(client) => client,
        Err(err) => {
            check.probes.push(Probe {
                endpoint: "(client setup)".into(),
                purpose: "TLS and HTTP client configuration".into(),
                status: "setup".into(),
                items: None,
                latency_ms: 0,
                error: Some(err.to_string()),
                hint: Some(format!(
                    "check {}_CA_CERT / {}_FINGERPRINT",
                    server.env_prefix, server.env_prefix
                )),
            });
            return check;
        }
    };
    match server.kind {
        ServerKind::Pve => check_pve(&client, &mut check, pbs_configured).await,
        ServerKind::Pbs => check_pbs(&client, &mut check).await,
    }
    check
}

/// One planned GET.
#[derive(Clone)]
struct Request {
    path: Vec<String>,
    query: Vec<(&'static str, String)>,
    purpose: String,
}

fn request(path: &[&str], query: &[(&'static str, &str)], purpose: &str) -> Request {
    Request {
        path: path.iter().map(|s| s.to_string()).collect(),
        query: query.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        purpose: purpose.to_string(),
    }
}

/// Run requests concurrently (bounded by the client's shared limiter); results in request order.
async fn run_probes(
    client: &ApiClient,
    requests: Vec<Request>,
) -> Vec<(Probe, Result<serde_json::Value, ApiError>)> {
    let mut set = JoinSet::new();
    for (index, req) in requests.into_iter().enumerate() {
        let client = client.clone();
        set.spawn(async move {
            let started = Instant::now();
            let path: Vec<&str> = req.path.iter().map(String::as_str).collect();
            let query: Vec<(&str, String)> =
                req.query.iter().map(|(k, v)| (*k, v.clone())).collect();
            let result = client.get_json(&path, &query).await.map(|mut envelope| {
                envelope
                    .get_mut("data")
                    .map(serde_json::Value::take)
                    .unwrap_or_default()
            });
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let probe = Probe {
                endpoint: crate::api::client::endpoint_label(&path, &query),
                purpose: req.purpose.clone(),
                status: match &result {
                    Ok(_) => "ok".into(),
                    Err(err) => err.short(),
                },
                items: result.as_ref().ok().and_then(count_items),
                latency_ms,
                error: result.as_ref().err().map(|e| e.kind.to_string()),
                hint: result.as_ref().err().and_then(ApiError::hint),
            };
            (index, probe, result)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(item) = joined {
            results.push(item);
        }
    }
    results.sort_by_key(|(index, _, _)| *index);
    results
        .into_iter()
        .map(|(_, probe, result)| (probe, result))
        .collect()
}

fn count_items(data: &serde_json::Value) -> Option<usize> {
    match data {
        serde_json::Value::Array(items) => Some(items.len()),
        // `/pools/{id}` carries its list in a member; other objects are single records.
        serde_json::Value::Object(map) => {
            map.get("members").and_then(|m| m.as_array()).map(Vec::len)
        }
        _ => None,
    }
}

fn str_field<'a>(item: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    item.get(key).and_then(|v| v.as_str())
}

fn names(data: &serde_json::Value, key: &str) -> Vec<String> {
    let mut names: Vec<String> = data
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| match item.get(key) {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.dedup();
    names
}

/// The ACL grant commands for a PVE token (and, with privilege separation, its user).
fn pve_grant(check: &ServerCheck, path: &str, role: &str) -> String {
    if check.identity.contains('!') {
        let user = check.identity.split('!').next().unwrap_or_default();
        format!(
            "pveum acl modify {path} --roles {role} --tokens '{}'  (with privilege separation the user needs it too: pveum acl modify {path} --roles {role} --users '{user}')",
            check.identity
        )
    } else {
        format!(
            "pveum acl modify {path} --roles {role} --users '{}'",
            check.identity
        )
    }
}

fn pbs_grant(check: &ServerCheck, path: &str, role: &str) -> String {
    if check.identity.contains('!') {
        let user = check.identity.split('!').next().unwrap_or_default();
        format!(
            "proxmox-backup-manager acl update {path} {role} --auth-id '{}'  (the token's user needs it too: proxmox-backup-manager acl update {path} {role} --auth-id '{user}')",
            check.identity
        )
    } else {
        format!(
            "proxmox-backup-manager acl update {path} {role} --auth-id '{}'",
            check.identity
        )
    }
}

async fn check_pve(client: &ApiClient, check: &mut ServerCheck, pbs_configured: bool) {
    let first = vec![
        request(&["version"], &[], "server version"),
        request(
            &["access", "permissions"],
            &[],
            "the credentials' effective privileges",
        ),
        request(&["nodes"], &[], "cluster nodes"),
        request(
            &["cluster", "resources"],
            &[("type", "vm")],
            "guests (VMs and containers)",
        ),
        request(&["storage"], &[], "storages and backup targets"),
        request(&["cluster", "backup"], &[], "backup jobs"),
        request(&["pools"], &[], "resource pools"),
        request(
            &["cluster", "backup-info", "not-backed-up"],
            &[],
            "PVE's own list of guests without a job",
        ),
    ];
    let results = run_probes(client, first).await;
    let data = |i: usize| results.get(i).and_then(|(_, r)| r.as_ref().ok());
    let mut permissions = data(1).map(PermissionMap::from_json);
    check.version = data(0)
        .and_then(|v| str_field(v, "version"))
        .map(str::to_string);
    let nodes = data(2).map(|d| names(d, "node")).unwrap_or_default();
    let guests = data(3).cloned().unwrap_or_default();
    let storages = data(4).cloned().unwrap_or_default();
    let pools = data(6).map(|d| names(d, "poolid")).unwrap_or_default();
    let jobs_error = results.get(5).and_then(|(_, r)| r.as_ref().err()).cloned();

    let mut second = Vec::new();
    for root in ["/vms", "/pool", "/storage"] {
        second.push(request(
            &["access", "permissions"],
            &[("path", root)],
            "privileges on this path itself (a NoAccess there is not in the full map)",
        ));
    }
    for node in &nodes {
        let node_path = format!("/nodes/{node}");
        second.push(request(
            &["access", "permissions"],
            &[("path", node_path.as_str())],
            "privileges on this node (a NoAccess there is not in the full map)",
        ));
        second.push(request(
            &["nodes", node, "time"],
            &[],
            "node time zone (to read task-log times)",
        ));
        second.push(request(
            &["nodes", node, "tasks"],
            &[("typefilter", "vzdump"), ("limit", "1")],
            "vzdump task history",
        ));
    }
    if let Some(guest) = guests.as_array().and_then(|g| g.first()) {
        if let (Some(node), Some(kind), Some(vmid)) = (
            str_field(guest, "node"),
            str_field(guest, "type"),
            guest
                .get("vmid")
                .map(|v| v.to_string().trim_matches('"').to_string()),
        ) {
            second.push(request(
                &["nodes", node, kind, &vmid, "config"],
                &[],
                "guest configuration (notes, disks excluded from backup)",
            ));
        }
    }
    if let Some(pool) = pools.first() {
        second.push(request(&["pools"], &[("poolid", pool)], "pool members"));
    }
    // The same wire type (and its `disable`/content rules) the collector reads storages with.
    let storage_list: Vec<crate::api::pve_types::StorageConfig> =
        serde_json::from_value(storages).unwrap_or_default();
    for storage in storage_list
        .iter()
        .filter(|s| !s.is_disabled() && s.content.iter().flatten().any(|c| c == "backup"))
    {
        let node = storage
            .nodes
            .iter()
            .flatten()
            .find(|n| nodes.contains(n))
            .or_else(|| nodes.first())
            .cloned();
        if let Some(node) = node {
            second.push(request(
                &["nodes", &node, "storage", &storage.storage, "content"],
                &[("content", "backup")],
                "backup archives on this storage (second source of evidence)",
            ));
        }
    }
    let more = run_probes(client, second).await;
    check.probes = results
        .iter()
        .chain(more.iter())
        .map(|(p, _)| p.clone())
        .collect();
    // Per-node answers of `/access/permissions?path=/nodes/<node>`, in node order.
    let node_perms: Vec<Option<PermissionMap>> = more
        .iter()
        .filter(|(p, _)| p.endpoint.starts_with("/access/permissions?path=/nodes/"))
        .map(|(_, r)| r.as_ref().ok().map(PermissionMap::from_json))
        .collect();

    let any_probe = |prefix: &str| {
        check
            .probes
            .iter()
            .filter(|p| p.endpoint.starts_with(prefix))
            .cloned()
            .collect::<Vec<_>>()
    };
    if let Some(map) = permissions.as_mut() {
        for root in ["/vms", "/pool", "/storage"] {
            let label = format!("/access/permissions?path={root}");
            if let Some(Ok(data)) = more
                .iter()
                .find(|(p, _)| p.endpoint == label)
                .map(|(_, r)| r)
            {
                map.set_path_answer(root, data);
            }
        }
    }
    let Some(perms) = permissions else {
        check.capabilities.push(Capability {
            name: "privileges".into(),
            required: true,
            visibility: Visibility::Unknown,
            detail:
                "GET /access/permissions failed, so what the credentials can see cannot be told"
                    .into(),
            fix: None,
        });
        return;
    };

    let guest_count = guests.as_array().map(Vec::len).unwrap_or(0);
    if perms.is_empty() && check.identity.contains('!') {
        check.traps.push(Trap {
            id: "privsep_without_acl".into(),
            message: format!(
                "the token '{}' has no privileges at all. With privilege separation (the default for new tokens) a token only gets \
                 what is granted to the token itself AND held by its user; every list then comes back empty instead of failing \
                 ({guest_count} guests visible). Grant the token a role, or recreate it with --privsep 0: {}",
                check.identity,
                pve_grant(check, "/", "PVEAuditor")
            ),
        });
    }

    // Guests and their configuration.
    let guests_cap = if perms.has_everywhere_below("/vms", "VM.Audit") {
        Capability {
            name: "guests".into(),
            required: true,
            visibility: Visibility::Full,
            detail: format!("VM.Audit on /vms: all {guest_count} guests are listed"),
            fix: None,
        }
    } else {
        let partial = perms.has_anywhere_below("/vms", "VM.Audit")
            || perms.has_anywhere_below("/pool", "VM.Audit");
        Capability {
            name: "guests".into(),
            required: true,
            visibility: if partial { Visibility::Partial } else { Visibility::None },
            detail: format!(
                "without VM.Audit on /vms, guests are silently left out of /cluster/resources ({guest_count} listed); \
                 a missing guest would look like a guest that does not exist"
            ),
            fix: Some(pve_grant(check, "/", "PVEAuditor")),
        }
    };
    check.capabilities.push(guests_cap);

    // Backup jobs.
    let jobs_cap = match &jobs_error {
        None if perms.has("/", "Sys.Audit") => Capability {
            name: "backup_jobs".into(),
            required: true,
            visibility: Visibility::Full,
            detail: "Sys.Audit on /: all backup jobs are listed".into(),
            fix: None,
        },
        Some(err) if matches!(err.kind, ApiErrorKind::Forbidden { .. }) => {
            check.traps.push(Trap {
                id: "cluster_backup_forbidden".into(),
                message: "GET /cluster/backup answered 403: reading backup jobs needs Sys.Audit on / (not only on /vms). \
                          Without the jobs no guest can be called covered or not covered; the report would be all 'indeterminate'."
                    .into(),
            });
            Capability {
                name: "backup_jobs".into(),
                required: true,
                visibility: Visibility::None,
                detail: format!("403: {}", err.kind),
                fix: Some(pve_grant(check, "/", "PVEAuditor")),
            }
        }
        Some(err) => Capability {
            name: "backup_jobs".into(),
            required: true,
            visibility: Visibility::Unknown,
            detail: format!("GET /cluster/backup failed: {}", err.kind),
            fix: err.hint(),
        },
        None => Capability {
            name: "backup_jobs".into(),
            required: true,
            visibility: Visibility::Unknown,
            detail: "the jobs answered, but Sys.Audit on / is not in the permission list".into(),
            fix: None,
        },
    };
    check.capabilities.push(jobs_cap);

    // Task history and node time zones, per node.
    let blind_nodes: Vec<&String> = nodes
        .iter()
        .zip(node_perms.iter())
        .filter(|(node, node_map)| {
            let path = format!("/nodes/{node}");
            !node_map.as_ref().map_or_else(
                || perms.has(&path, "Sys.Audit"),
                |m| m.has(&path, "Sys.Audit"),
            )
        })
        .map(|(node, _)| node)
        .collect();
    check.capabilities.push(if nodes.is_empty() {
        Capability {
            name: "task_history".into(),
            required: true,
            visibility: Visibility::Unknown,
            detail: "no node list, so task history could not be checked".into(),
            fix: None,
        }
    } else if blind_nodes.is_empty() {
        Capability {
            name: "task_history".into(),
            required: true,
            visibility: Visibility::Full,
            detail: format!("Sys.Audit on every node: all vzdump tasks of {} node(s) are listed", nodes.len()),
            fix: None,
        }
    } else {
        let names: Vec<&str> = blind_nodes.iter().map(|s| s.as_str()).collect();
        Capability {
            name: "task_history".into(),
            required: true,
            visibility: if blind_nodes.len() == nodes.len() { Visibility::None } else { Visibility::Partial },
            detail: format!(
                "without Sys.Audit on /nodes/<node> the task list silently shows only the token's own tasks \
                 (scheduled backups run as root@pam and vanish); node time zones are unreadable too. Affected: {}",
                names.join(", ")
            ),
            fix: Some(pve_grant(check, "/nodes", "PVEAuditor")),
        }
    });

    // Pools.
    check.capabilities.push(if perms.has_everywhere_below("/pool", "Pool.Audit") {
        Capability {
            name: "pools".into(),
            required: true,
            visibility: Visibility::Full,
            detail: format!("Pool.Audit on /pool: all {} pool(s) are listed", pools.len()),
            fix: None,
        }
    } else {
        Capability {
            name: "pools".into(),
            required: true,
            visibility: if perms.has_anywhere_below("/pool", "Pool.Audit") { Visibility::Partial } else { Visibility::None },
            detail: "without Pool.Audit, pools are silently left out, so a pool-based job's selection cannot be resolved".into(),
            fix: Some(pve_grant(check, "/pool", "PVEAuditor")),
        }
    });

    // Storage backup content through PVE.
    let content_probes = any_probe("/nodes/")
        .into_iter()
        .filter(|p| p.endpoint.ends_with("content?content=backup"))
        .collect::<Vec<_>>();
    let backup_storages: Vec<String> = content_probes
        .iter()
        .filter_map(|p| p.endpoint.split('/').nth(4).map(str::to_string))
        .collect();
    let full_content = backup_storages
        .iter()
        .all(|id| perms.has(&format!("/storage/{id}"), "Datastore.Allocate"));
    check.capabilities.push(if backup_storages.is_empty() {
        Capability {
            name: "storage_content".into(),
            required: true,
            visibility: Visibility::NotNeeded,
            detail: "no enabled backup storage is visible".into(),
            fix: None,
        }
    } else if full_content {
        Capability {
            name: "storage_content".into(),
            required: true,
            visibility: Visibility::Full,
            detail: "Datastore.Allocate on every backup storage: all archives are listed".into(),
            fix: None,
        }
    } else if pbs_configured {
        Capability {
            name: "storage_content".into(),
            required: true,
            visibility: Visibility::NotNeeded,
            detail: "archives are read from PBS directly; PVE lists backup volumes only with Datastore.Allocate (not read-only), so this source is skipped".into(),
            fix: None,
        }
    } else {
        Capability {
            name: "storage_content".into(),
            required: false,
            visibility: Visibility::Partial,
            detail: "PVE silently hides backup volumes unless the token has Datastore.Allocate on the storage (or AllocateSpace + VM.Backup); \
                     archive evidence then comes from task logs only"
                .into(),
            fix: Some("configure a read-only PBS token (PBS_HOST, PBS_API_TOKEN_ID, PBS_API_TOKEN_SECRET with the Audit role on /) instead of granting write privileges".into()),
            // Task logs still give per-guest results; archives on PBS are a second source.
        }
    });
}

async fn check_pbs(client: &ApiClient, check: &mut ServerCheck) {
    let first = vec![
        request(&["version"], &[], "server version"),
        request(
            &["access", "permissions"],
            &[],
            "the credentials' effective privileges",
        ),
        request(&["admin", "datastore"], &[], "datastores"),
        request(
            &["status", "datastore-usage"],
            &[],
            "datastore usage and GC status",
        ),
        request(&["admin", "verify"], &[], "verify jobs"),
        request(&["admin", "prune"], &[], "prune jobs"),
        request(&["admin", "sync"], &[], "sync jobs"),
        request(
            &["nodes", "localhost", "tasks"],
            &[("limit", "1")],
            "PBS task history",
        ),
    ];
    let results = run_probes(client, first).await;
    let data = |i: usize| results.get(i).and_then(|(_, r)| r.as_ref().ok());
    check.version = data(0).and_then(|v| {
        let version = str_field(v, "version")?;
        Some(match str_field(v, "release") {
            Some(release) => format!("{version}.{release}"),
            None => version.to_string(),
        })
    });
    let permissions = data(1).map(PermissionMap::from_json);
    let stores = data(2).map(|d| names(d, "store")).unwrap_or_default();
    let auth_failed = results
        .iter()
        .any(|(_, r)| matches!(r, Err(e) if matches!(e.kind, ApiErrorKind::Unauthorized { .. })));

    let mut second = Vec::new();
    for store in &stores {
        second.push(request(
            &["admin", "datastore", store, "namespace"],
            &[],
            "namespaces",
        ));
        second.push(request(
            &["admin", "datastore", store, "groups"],
            &[],
            "backup groups (root namespace)",
        ));
        second.push(request(
            &["admin", "datastore", store, "gc"],
            &[],
            "garbage collection status",
        ));
    }
    let more = run_probes(client, second).await;
    let mut snapshot_probes = Vec::new();
    for (index, store) in stores.iter().enumerate() {
        let groups = more.get(index * 3 + 1).and_then(|(_, r)| r.as_ref().ok());
        let first_group = groups.and_then(|g| g.as_array()).and_then(|g| {
            g.iter()
                .filter_map(|item| {
                    Some((
                        str_field(item, "backup-type")?.to_string(),
                        str_field(item, "backup-id")?.to_string(),
                    ))
                })
                .min()
        });
        let query: Vec<(&'static str, String)> = match &first_group {
            Some((kind, id)) => vec![("backup-type", kind.clone()), ("backup-id", id.clone())],
            None => Vec::new(),
        };
        snapshot_probes.push(Request {
            path: vec![
                "admin".into(),
                "datastore".into(),
                store.clone(),
                "snapshots".into(),
            ],
            query,
            purpose: "snapshots (one group as a sample)".into(),
        });
    }
    let snapshots = run_probes(client, snapshot_probes).await;
    check.probes = results
        .iter()
        .chain(more.iter())
        .chain(snapshots.iter())
        .map(|(p, _)| p.clone())
        .collect();

    if auth_failed {
        check.traps.push(Trap {
            id: "pbs_auth_failed".into(),
            message: "PBS refused the credentials. PBS API tokens are sent as 'PBSAPIToken=user@realm!name:SECRET' with a COLON \
                      (PVE uses '='); the tool does this itself, so check that the token id and secret belong to this PBS \
                      (a token created on PVE does not exist on PBS), and that neither the token nor its user is disabled or expired."
                .into(),
        });
    }
    let Some(perms) = permissions else {
        check.capabilities.push(Capability {
            name: "privileges".into(),
            required: true,
            visibility: Visibility::Unknown,
            detail:
                "GET /access/permissions failed, so what the credentials can see cannot be told"
                    .into(),
            fix: None,
        });
        return;
    };
    if perms.is_empty() && check.identity.contains('!') {
        check.traps.push(Trap {
            id: "token_without_acl".into(),
            message: format!(
                "the PBS token '{}' has no privileges: PBS tokens start with none, and get (token ACL ∩ user ACL). Lists come back empty. {}",
                check.identity,
                pbs_grant(check, "/", "Audit")
            ),
        });
    }
    let blind: Vec<&String> = stores
        .iter()
        .filter(|s| !perms.has_everywhere_below(&format!("/datastore/{s}"), "Datastore.Audit"))
        .collect();
    let backup_only: Vec<&&String> = blind
        .iter()
        .filter(|s| perms.has(&format!("/datastore/{s}"), "Datastore.Backup"))
        .collect();
    check.capabilities.push(if stores.is_empty() {
        Capability {
            name: "datastores".into(),
            required: true,
            visibility: if perms.has_everywhere_below("/datastore", "Datastore.Audit") { Visibility::Full } else { Visibility::None },
            detail: "no datastore is visible; datastores the credentials have no privilege on are silently left out".into(),
            fix: Some(pbs_grant(check, "/", "Audit")),
        }
    } else if blind.is_empty() {
        Capability {
            name: "datastores".into(),
            required: true,
            visibility: Visibility::Full,
            detail: format!("Datastore.Audit on all {} datastore(s): every group and snapshot is listed", stores.len()),
            fix: None,
        }
    } else {
        let names: Vec<&str> = blind.iter().map(|s| s.as_str()).collect();
        Capability {
            name: "datastores".into(),
            required: true,
            visibility: Visibility::Partial,
            detail: format!(
                "without Datastore.Audit, snapshot lists are silently shortened{} on: {}",
                if backup_only.is_empty() { "" } else { " to the groups the token owns (Datastore.Backup only)" },
                names.join(", ")
            ),
            fix: Some(pbs_grant(check, "/datastore", "DatastoreAudit")),
        }
    });
    check.capabilities.push(if perms.has("/system/tasks", "Sys.Audit") {
        Capability {
            name: "task_history".into(),
            required: true,
            visibility: Visibility::Full,
            detail: "Sys.Audit on /system/tasks: verify, GC, prune and sync task results are visible".into(),
            fix: None,
        }
    } else {
        Capability {
            name: "task_history".into(),
            required: true,
            visibility: Visibility::Partial,
            detail: "without Sys.Audit on /system/tasks only the token's own tasks are listed".into(),
            fix: Some(pbs_grant(check, "/system/tasks", "Audit")),
        }
    });
}
