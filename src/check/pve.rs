//! `--check-api` for PVE: which probes run (in two rounds, the second built from the first's
//! answers), and what the answers say the credentials can see.
//!
//! [`PveFacts`] is everything the verdicts need, distilled from the probes; [`verdicts`] is a pure
//! function of it, so each rule is testable without a server.

use super::probe::{finish_all, start, Failure, Outcome, Pending};
use super::{
    capability, failure_of, unknown_privileges, unreadable, Capability, Probe, ServerCheck, Trap,
    Visibility,
};
use crate::api::access::Permissions;
use crate::api::pve::{PveApi, PveRequest};
use crate::api::pve_types as wire;
use crate::api::{Answer, ApiErrorKind};
use crate::model::permissions::{Need, WhenMissing};
use crate::model::PermissionMap;

/// The first round: lists that need no other answer to be asked.
struct First {
    version: Outcome<wire::Version>,
    permissions: Outcome<Permissions>,
    nodes: Outcome<Vec<wire::Node>>,
    guests: Outcome<Vec<wire::ClusterResource>>,
    storages: Outcome<Vec<wire::StorageConfig>>,
    jobs: Outcome<Vec<wire::BackupJob>>,
    pools: Outcome<Vec<wire::PoolListItem>>,
    not_backed_up: Outcome<Vec<wire::NotBackedUpItem>>,
}

impl First {
    async fn probe(api: &PveApi) -> First {
        let version = start(
            api,
            api.label(PveRequest::Version),
            "server version",
            |api| async move { api.version().await },
        );
        let permissions = start(
            api,
            api.label(PveRequest::Permissions),
            "the credentials' effective privileges",
            |api| async move { api.permissions().await },
        );
        let nodes = start(
            api,
            api.label(PveRequest::Nodes),
            "cluster nodes",
            |api| async move { api.nodes().await },
        );
        let guests = start(
            api,
            api.label(PveRequest::Guests),
            "guests (VMs and containers)",
            |api| async move { api.guests().await },
        );
        let storages = start(
            api,
            api.label(PveRequest::Storages),
            "storages and backup targets",
            |api| async move { api.storages().await },
        );
        let jobs = start(
            api,
            api.label(PveRequest::BackupJobs),
            "backup jobs",
            |api| async move { api.backup_jobs().await },
        );
        let pools = start(
            api,
            api.label(PveRequest::Pools),
            "resource pools",
            |api| async move { api.pools().await },
        );
        let not_backed_up = start(
            api,
            api.label(PveRequest::NotBackedUp),
            "PVE's own list of guests without a job",
            |api| async move { api.not_backed_up().await },
        );
        First {
            version: version.finish().await,
            permissions: permissions.finish().await,
            nodes: nodes.finish().await,
            guests: guests.finish().await,
            storages: storages.finish().await,
            jobs: jobs.finish().await,
            pools: pools.finish().await,
            not_backed_up: not_backed_up.finish().await,
        }
    }

    fn rows(&self) -> [&Probe; 8] {
        [
            &self.version.row,
            &self.permissions.row,
            &self.nodes.row,
            &self.guests.row,
            &self.storages.row,
            &self.jobs.row,
            &self.pools.row,
            &self.not_backed_up.row,
        ]
    }
}

/// The probes of one node.
struct NodeProbes {
    name: String,
    permissions: Outcome<Permissions>,
    time: Outcome<wire::NodeTime>,
    tasks: Outcome<Answer<Vec<wire::TaskListItem>>>,
}

/// The second round, planned from the first's answers.
struct Second {
    /// `/access/permissions?path=` of the subtrees whose lists are silently filtered.
    roots: Vec<(&'static str, Outcome<Permissions>)>,
    nodes: Vec<NodeProbes>,
    guest_config: Option<Outcome<wire::GuestConfig>>,
    pool_members: Option<Outcome<Option<wire::PoolDetail>>>,
    /// Backup content per enabled backup storage, by storage id.
    storage_backups: Vec<(String, Outcome<Vec<wire::StorageContentItem>>)>,
}

impl Second {
    async fn probe(api: &PveApi, first: &First, nodes: &[String], pools: &[String]) -> Second {
        const ROOT_PURPOSE: &str =
            "privileges on this path itself (a NoAccess there is not in the full map)";
        let mut roots = Vec::new();
        for need in [Need::Guests, Need::Pools, Need::Storages] {
            let path = need.requirement().acl_path;
            let probe = start(
                api,
                api.label(PveRequest::PermissionsOn(path)),
                ROOT_PURPOSE,
                move |api| async move { api.permissions_on(path).await },
            );
            roots.push((path, probe));
        }
        let mut node_probes = Vec::new();
        for node in nodes {
            let acl_path = Need::TaskHistory.requirement().acl_path_for(node);
            let permissions = start(
                api,
                api.label(PveRequest::PermissionsOn(&acl_path)),
                "privileges on this node (a NoAccess there is not in the full map)",
                move |api| async move { api.permissions_on(&acl_path).await },
            );
            let owned = node.clone();
            let time = start(
                api,
                api.label(PveRequest::NodeTime(node)),
                "node time zone (to read task-log times)",
                move |api| async move { api.node_time(&owned).await },
            );
            let owned = node.clone();
            let tasks = start(
                api,
                api.label(PveRequest::VzdumpTasksProbe(node)),
                "vzdump task history",
                move |api| async move { api.vzdump_tasks_probe(&owned).await },
            );
            node_probes.push((node.clone(), permissions, time, tasks));
        }
        let guest_config = first.guests.ok().and_then(|g| g.first()).and_then(|guest| {
            let kind = match guest.kind {
                wire::ClusterResourceKind::Qemu => wire::GuestConfigKind::Qemu,
                wire::ClusterResourceKind::Lxc => wire::GuestConfigKind::Lxc,
                _ => return None,
            };
            let (node, vmid) = (guest.node.clone()?, guest.vmid?);
            Some(start(
                api,
                api.label(PveRequest::GuestConfig {
                    node: &node,
                    kind,
                    vmid,
                }),
                "guest configuration (notes, disks excluded from backup)",
                move |api| async move { api.guest_config(&node, kind, vmid).await },
            ))
        });
        let pool_members = pools.first().map(|pool| {
            let owned = pool.clone();
            start(
                api,
                api.label(PveRequest::Pool(pool)),
                "pool members",
                move |api| async move { api.pool(&owned).await },
            )
        });
        let storage_backups = backup_storages(first, nodes)
            .into_iter()
            .map(|(storage, node)| {
                let probe = start(
                    api,
                    api.label(PveRequest::StorageBackups {
                        node: &node,
                        storage: &storage,
                    }),
                    "backup archives on this storage (second source of evidence)",
                    {
                        let storage = storage.clone();
                        move |api| async move { api.storage_backups(&node, &storage).await }
                    },
                );
                (storage, probe)
            })
            .collect::<Vec<(String, Pending<_>)>>();

        let roots = finish_all(roots).await;
        let mut nodes = Vec::new();
        for (name, permissions, time, tasks) in node_probes {
            nodes.push(NodeProbes {
                name,
                permissions: permissions.finish().await,
                time: time.finish().await,
                tasks: tasks.finish().await,
            });
        }
        let guest_config = match guest_config {
            Some(probe) => Some(probe.finish().await),
            None => None,
        };
        let pool_members = match pool_members {
            Some(probe) => Some(probe.finish().await),
            None => None,
        };
        Second {
            roots,
            nodes,
            guest_config,
            pool_members,
            storage_backups: finish_all(storage_backups).await,
        }
    }

    fn rows(&self) -> Vec<&Probe> {
        let mut rows: Vec<&Probe> = self.roots.iter().map(|(_, o)| &o.row).collect();
        for node in &self.nodes {
            rows.extend([&node.permissions.row, &node.time.row, &node.tasks.row]);
        }
        rows.extend(self.guest_config.iter().map(|o| &o.row));
        rows.extend(self.pool_members.iter().map(|o| &o.row));
        rows.extend(self.storage_backups.iter().map(|(_, o)| &o.row));
        rows
    }
}

/// Enabled storages that hold backups, each with the node to ask (one it is enabled on).
fn backup_storages(first: &First, nodes: &[String]) -> Vec<(String, String)> {
    let Some(storages) = first.storages.ok() else {
        return Vec::new();
    };
    storages
        .iter()
        // The same `disable`/content rules the collector reads storages with.
        .filter(|s| !s.is_disabled() && s.content.iter().flatten().any(|c| c == "backup"))
        .filter_map(|storage| {
            let node = storage
                .nodes
                .iter()
                .flatten()
                .find(|n| nodes.contains(n))
                .or_else(|| nodes.first())?;
            Some((storage.storage.clone(), node.clone()))
        })
        .collect()
}

fn sorted_names(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.collect();
    names.sort();
    names.dedup();
    names
}

/// Probe a PVE cluster and fill in `check`.
pub(super) async fn check(api: &PveApi, check: &mut ServerCheck, pbs_configured: bool) {
    let first = First::probe(api).await;
    check.version = first.version.ok().map(|v| v.version.clone());
    let nodes = sorted_names(
        first
            .nodes
            .ok()
            .into_iter()
            .flatten()
            .map(|n| n.node.clone()),
    );
    let pools = sorted_names(
        first
            .pools
            .ok()
            .into_iter()
            .flatten()
            .map(|p| p.poolid.clone()),
    );
    let second = Second::probe(api, &first, &nodes, &pools).await;
    check.probes = first
        .rows()
        .into_iter()
        .chain(second.rows())
        .cloned()
        .collect();

    // Only an answer that was read counts: a failed or garbled per-path answer is not "nothing
    // granted there", so the full map decides instead.
    let permissions = first.permissions.ok().map(|full| {
        let mut map = PermissionMap::from_pve_full_map(full.clone());
        for (root, outcome) in &second.roots {
            if let Some(answer) = outcome.ok() {
                map.set_path_permissions(root, answer.clone());
            }
        }
        map
    });
    let facts = PveFacts {
        identity: check.identity.clone(),
        pbs_configured,
        permissions_endpoint: first.permissions.row.endpoint.clone(),
        permissions,
        guests: first
            .guests
            .ok()
            .map(Vec::len)
            .ok_or_else(|| failure_of(&first.guests)),
        jobs_endpoint: api.backup_jobs_path(),
        jobs: first.jobs.failure().cloned(),
        nodes: second
            .nodes
            .iter()
            .map(|node| {
                let map = node.permissions.ok().cloned().map(PermissionMap::from_wire);
                (node.name.clone(), map)
            })
            .collect(),
        pools: first
            .pools
            .ok()
            .map(|_| pools.len())
            .ok_or_else(|| failure_of(&first.pools)),
        backup_storages: first
            .storages
            .ok()
            .map(|_| {
                second
                    .storage_backups
                    .iter()
                    .map(|(storage, _)| storage.clone())
                    .collect()
            })
            .ok_or_else(|| failure_of(&first.storages)),
    };
    let (capabilities, traps) = verdicts(&facts);
    check.capabilities = capabilities;
    check.traps = traps;
}

/// What the PVE verdicts are decided from.
#[derive(Debug, Clone)]
pub(crate) struct PveFacts {
    /// The token id or user.
    pub(crate) identity: String,
    /// Whether a PBS is configured (then PVE's storage content is not needed).
    pub(crate) pbs_configured: bool,
    /// The label of the permission query, for messages.
    pub(crate) permissions_endpoint: String,
    /// The effective privileges (with the per-root answers applied), when they could be read.
    pub(crate) permissions: Option<PermissionMap>,
    /// Guests listed by `/cluster/resources`, or why the list could not be read.
    pub(crate) guests: Result<usize, String>,
    /// The label of the backup-job list (honours `PVE_BACKUP_JOBS_ENDPOINT`).
    pub(crate) jobs_endpoint: String,
    /// Why the backup-job list has no answer, when it has none.
    pub(crate) jobs: Option<Failure>,
    /// Every node, with its own per-path privileges when they could be read.
    pub(crate) nodes: Vec<(String, Option<PermissionMap>)>,
    /// Pools listed, or why the list could not be read.
    pub(crate) pools: Result<usize, String>,
    /// Enabled backup storages whose content was probed, or why the storage list could not be read.
    pub(crate) backup_storages: Result<Vec<String>, String>,
}

/// What the credentials can see on PVE, and the traps recognised.
pub(crate) fn verdicts(facts: &PveFacts) -> (Vec<Capability>, Vec<Trap>) {
    let mut capabilities = Vec::new();
    let mut traps = Vec::new();
    let Some(perms) = &facts.permissions else {
        capabilities.push(unknown_privileges(&facts.permissions_endpoint));
        return (capabilities, traps);
    };
    let identity = facts.identity.as_str();
    if perms.is_empty() && identity.contains('!') {
        let visible = match &facts.guests {
            Ok(count) => count.to_string(),
            Err(_) => "no".to_string(),
        };
        traps.push(Trap {
            id: "privsep_without_acl".into(),
            message: format!(
                "the token '{identity}' has no privileges at all. With privilege separation (the default for new tokens) a token only gets \
                 what is granted to the token itself AND held by its user; every list then comes back empty instead of failing \
                 ({visible} guests visible). Grant the token a role, or recreate it with --privsep 0: {}",
                Need::Guests.requirement().fix(identity).unwrap_or_default()
            ),
        });
    }

    capabilities.push(guests(perms, identity, &facts.guests));
    let (jobs, trap) = backup_jobs(facts, perms);
    capabilities.push(jobs);
    traps.extend(trap);
    capabilities.push(task_history(facts, perms));
    capabilities.push(pools(facts, perms));
    capabilities.push(storage_content(facts, perms));
    (capabilities, traps)
}

fn guests(perms: &PermissionMap, identity: &str, listed: &Result<usize, String>) -> Capability {
    let need = Need::Guests.requirement();
    let (path, privilege) = (need.acl_path, need.privilege);
    let list = need.endpoint.trim_start_matches("GET ");
    // A list that could not be read says nothing about how many guests there are.
    let guest_count = match listed {
        Ok(count) => *count,
        Err(why) => return unreadable(Need::Guests, list, why),
    };
    if perms.has_everywhere_below(path, privilege) {
        return capability(
            Need::Guests,
            Visibility::Full,
            format!("{privilege} on {path}: all {guest_count} guests are listed"),
            None,
        );
    }
    let partial = perms.has_anywhere_below(path, privilege)
        || Need::Guests
            .also_granted_below()
            .is_some_and(|other| perms.has_anywhere_below(other, privilege));
    capability(
        Need::Guests,
        if partial { Visibility::Partial } else { Visibility::None },
        format!(
            "without {privilege} on {path}, guests are silently left out of {list} ({guest_count} listed); \
             a missing guest would look like a guest that does not exist"
        ),
        need.fix(identity),
    )
}

fn backup_jobs(facts: &PveFacts, perms: &PermissionMap) -> (Capability, Option<Trap>) {
    let need = Need::BackupJobs.requirement();
    let (path, privilege, endpoint) = (need.acl_path, need.privilege, &facts.jobs_endpoint);
    let forbidden = facts.jobs.as_ref().and_then(Failure::api).filter(|err| {
        need.when_missing == WhenMissing::Forbidden
            && matches!(err.kind, ApiErrorKind::Forbidden { .. })
    });
    match (&facts.jobs, forbidden) {
        (None, _) if perms.has(path, privilege) => (
            capability(
                Need::BackupJobs,
                Visibility::Full,
                format!("{privilege} on {path}: all backup jobs are listed"),
                None,
            ),
            None,
        ),
        (None, _) => (
            capability(
                Need::BackupJobs,
                Visibility::Unknown,
                format!(
                    "the jobs answered, but {privilege} on {path} is not in the permission list"
                ),
                None,
            ),
            None,
        ),
        (Some(_), Some(err)) => {
            let guests = Need::Guests.requirement().acl_path;
            let trap = Trap {
                id: "cluster_backup_forbidden".into(),
                message: format!(
                    "GET {endpoint} answered 403: reading backup jobs needs {privilege} on {path} (not only on {guests}). \
                     Without the jobs no guest can be called covered or not covered; the report would be all 'indeterminate'."
                ),
            };
            (
                capability(
                    Need::BackupJobs,
                    Visibility::None,
                    format!("403: {}", err.kind),
                    need.fix(&facts.identity),
                ),
                Some(trap),
            )
        }
        (Some(failure), None) => (
            capability(
                Need::BackupJobs,
                Visibility::Unknown,
                format!("GET {endpoint} failed: {}", failure.message()),
                failure.api().and_then(|err| err.hint()),
            ),
            None,
        ),
    }
}

fn task_history(facts: &PveFacts, perms: &PermissionMap) -> Capability {
    let need = Need::TaskHistory.requirement();
    let privilege = need.privilege;
    if facts.nodes.is_empty() {
        return capability(
            Need::TaskHistory,
            Visibility::Unknown,
            "no node list, so task history could not be checked".into(),
            None,
        );
    }
    let blind: Vec<&str> = facts
        .nodes
        .iter()
        .filter(|(node, own)| {
            let path = need.acl_path_for(node);
            // A node whose own answer is missing is judged by the full map.
            !own.as_ref().unwrap_or(perms).has(&path, privilege)
        })
        .map(|(node, _)| node.as_str())
        .collect();
    if blind.is_empty() {
        return capability(
            Need::TaskHistory,
            Visibility::Full,
            format!(
                "{privilege} on every node: all vzdump tasks of {} node(s) are listed",
                facts.nodes.len()
            ),
            None,
        );
    }
    capability(
        Need::TaskHistory,
        if blind.len() == facts.nodes.len() {
            Visibility::None
        } else {
            Visibility::Partial
        },
        format!(
            "without {privilege} on {} the task list silently shows only the token's own tasks \
             (scheduled backups run as root@pam and vanish); node time zones are unreadable too. Affected: {}",
            need.acl_path_for("<node>"),
            blind.join(", ")
        ),
        need.fix(&facts.identity),
    )
}

fn pools(facts: &PveFacts, perms: &PermissionMap) -> Capability {
    let need = Need::Pools.requirement();
    let (path, privilege) = (need.acl_path, need.privilege);
    let pool_count = match &facts.pools {
        Ok(count) => *count,
        Err(why) => return unreadable(Need::Pools, need.endpoint.trim_start_matches("GET "), why),
    };
    if perms.has_everywhere_below(path, privilege) {
        return capability(
            Need::Pools,
            Visibility::Full,
            format!("{privilege} on {path}: all {pool_count} pool(s) are listed"),
            None,
        );
    }
    capability(
        Need::Pools,
        if perms.has_anywhere_below(path, privilege) {
            Visibility::Partial
        } else {
            Visibility::None
        },
        format!(
            "without {privilege}, pools are silently left out, so a pool-based job's selection cannot be resolved"
        ),
        need.fix(&facts.identity),
    )
}

fn storage_content(facts: &PveFacts, perms: &PermissionMap) -> Capability {
    let need = Need::StorageContent.requirement();
    let privilege = need.privilege;
    let backup_storages = match &facts.backup_storages {
        Ok(storages) => storages,
        Err(why) => return unreadable(Need::StorageContent, "/storage", why),
    };
    if backup_storages.is_empty() {
        return capability(
            Need::StorageContent,
            Visibility::NotNeeded,
            "no enabled backup storage is visible".into(),
            None,
        );
    }
    let full = backup_storages
        .iter()
        .all(|id| perms.has(&need.acl_path_for(id), privilege));
    if full {
        return capability(
            Need::StorageContent,
            Visibility::Full,
            format!("{privilege} on every backup storage: all archives are listed"),
            None,
        );
    }
    if facts.pbs_configured {
        return capability(
            Need::StorageContent,
            Visibility::NotNeeded,
            format!(
                "archives are read from PBS directly; PVE lists backup volumes only with {privilege} (not read-only), so this source is skipped"
            ),
            None,
        );
    }
    // No read-only grant exists (the table has none): task logs still give per-guest results,
    // and a PBS token is the read-only second source.
    Capability {
        name: need.name.into(),
        required: false,
        visibility: Visibility::Partial,
        detail: format!(
            "PVE silently hides backup volumes unless the token has {privilege} on the storage (or AllocateSpace + VM.Backup); \
             archive evidence then comes from task logs only"
        ),
        fix: Some("configure a read-only PBS token (PBS_HOST, PBS_API_TOKEN_ID, PBS_API_TOKEN_SECRET with the Audit role on /) instead of granting write privileges".into()),
    }
}
