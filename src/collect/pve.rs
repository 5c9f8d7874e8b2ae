//! The PVE collector: version, privileges, nodes and their time zones, guests and their configs,
//! storages, backup jobs, pools, vzdump task history with logs, storage backup content, and PVE's own
//! not-backed-up list.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::cache::TaskLogCache;
use super::{
    answer, epoch, kept, observe, request_anomaly, unavailable, with_partial, CollectOptions,
    Failed, Progress, Readers,
};
use crate::api::de::LenientList;
use crate::api::pve::{PveApi, PveRequest, RestoreTaskType};
use crate::api::pve_types as wire;
use crate::api::source::Source;
use crate::api::ApiError;
use crate::config::NotesMode;
use crate::model::permissions::{Need, Requirement};
use crate::model::volumes::{tree_exclusion, volumes, VolumeKind};
use crate::model::{
    Anomaly, BackupJob, Completeness, ExcludedVolume, Fleecing, FleecingImage, FleecingScan, Guest,
    GuestConfigFacts, GuestKind, Node, NodeRunningBackups, NodeTaskHistory, Observed, PbsTarget,
    PermissionMap, Pool, PveInventory, Replication, Restore, Selection, Severity, Storage,
    StorageBackup, TaskLogEvidence, Vmid, VzdumpTask,
};
use crate::schedule::schedule_from_legacy;
use crate::tasklog::{parse_restore_log, Parser};
use crate::upid::PveUpid;

/// Collect the PVE side. `pbs_servers` are the `host:port` and pinned fingerprint of the PBS
/// servers read directly, whose storages need no second look through PVE.
pub async fn collect_pve(
    source: &Source,
    now: DateTime<Utc>,
    options: &CollectOptions,
    pbs_servers: &[(String, Option<String>)],
    progress: &Progress,
) -> (PveInventory, Vec<Anomaly>) {
    let mut anomalies = Vec::new();
    let api = &PveApi::new(source.clone(), options.jobs_endpoint.clone());
    let (version, permissions, nodes, resources, storages, jobs, pools, not_backed_up) = tokio::join!(
        api.version(),
        api.permissions(),
        api.nodes_listed(),
        api.guests_listed(),
        api.storages_listed(),
        api.backup_jobs_listed(),
        api.pools_listed(),
        api.not_backed_up_listed(),
    );

    let version = answer(
        version,
        Failed::new(Severity::Warning, "pve", "the PVE version"),
        &mut anomalies,
    )
    .map(|v| v.version);
    let perms = answer(
        permissions,
        Failed::new(
            Severity::Warning,
            "pve/permissions",
            "the token's own privileges",
        ),
        &mut anomalies,
    )
    .map(PermissionMap::from_pve_full_map);
    let visibility = Visibility {
        perms: perms.as_ref(),
    };

    let nodes = read_nodes(api, nodes, now, &mut anomalies).await;
    let mut guests = read_guests(resources, &visibility, &mut anomalies);
    let storages = observe(
        storages,
        Failed::new(Severity::Critical, "pve/storage", "the storage list"),
        |err| format!("{} failed: {}", err.endpoint, err.kind),
        &mut anomalies,
        |list, anomalies| {
            // A dropped storage hides where its jobs write: a verdict rests on it.
            let (items, bad) = kept(
                list,
                Severity::Critical,
                "pve/storage",
                "storages",
                anomalies,
            );
            let mut list: Vec<Storage> = items.into_iter().map(storage_from_wire).collect();
            list.sort_by(|a, b| a.id.cmp(&b.id));
            Observed {
                items: list,
                completeness: with_partial(visibility.below(Need::Storages), bad),
            }
        },
    );
    let jobs = observe(
        jobs,
        Failed::new(Severity::Critical, "pve/jobs", "the backup jobs"),
        |err| {
            format!(
                "{} failed ({}): no guest can be called covered or not covered",
                err.endpoint,
                err.short()
            )
        },
        &mut anomalies,
        |list, anomalies| {
            // A dropped job may be the one that covers a guest: with the list partial, no guest
            // that another job does not cover can be called not covered.
            let (items, bad) = kept(
                list,
                Severity::Critical,
                "pve/jobs",
                "backup jobs",
                anomalies,
            );
            let mut list: Vec<BackupJob> = items
                .into_iter()
                .map(|job| job_from_wire(job, anomalies))
                .collect();
            list.sort_by(|a, b| a.id.cmp(&b.id));
            Observed {
                items: list,
                completeness: with_partial(Completeness::Complete, bad),
            }
        },
    );
    let not_backed_up = observe(
        not_backed_up,
        // Only a cross-check hides behind it, so a warning: no verdict depends on it.
        Failed::new(
            Severity::Warning,
            "pve/not-backed-up",
            "PVE's own list of guests without a backup job",
        ),
        |err| format!("{} failed: {}", err.endpoint, err.kind),
        &mut anomalies,
        |list, anomalies| {
            let (items, bad) = kept(
                list,
                Severity::Warning,
                "pve/not-backed-up",
                "entries of PVE's not-backed-up list",
                anomalies,
            );
            let mut vmids: Vec<Vmid> = items.into_iter().map(|i| i.vmid).collect();
            vmids.sort_unstable();
            vmids.dedup();
            Observed {
                items: vmids,
                completeness: with_partial(visibility.below(Need::NotBackedUp), bad),
            }
        },
    );

    let since = now - Duration::days(i64::from(options.history_days));
    // Only a live run uses the cache: a recording must hold every answer, a replay stays offline.
    let cache = match (source, &options.task_log_cache) {
        (Source::Live(_), Some(root)) => Some(TaskLogCache::new(root, &source.server().host)),
        _ => None,
    };
    // The phases share nothing but the request limiter: none waits for another (issue #10 item 5).
    let (mut guest_found, mut pool_found, mut history_found, mut storage_found) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (_, pools, task_history, storage_backups) = tokio::join!(
        read_guest_facts(
            api,
            &mut guests.items,
            &jobs.items,
            options,
            &mut guest_found,
            progress
        ),
        read_pools(api, pools, version.as_deref(), &visibility, &mut pool_found),
        read_all_task_history(
            api,
            &nodes,
            since,
            options,
            cache.as_ref(),
            progress,
            &mut history_found,
        ),
        // Backup content of storages not read through a configured PBS.
        read_storage_backups(
            api,
            &storages.items,
            &nodes.names,
            pbs_servers,
            perms.as_ref(),
            &mut storage_found,
        ),
    );
    for mut found in [guest_found, pool_found, history_found, storage_found] {
        anomalies.append(&mut found);
    }

    let fleecing = read_fleecing_images(
        api,
        &jobs.items,
        &storages.items,
        &nodes,
        perms.as_ref(),
        &mut anomalies,
    )
    .await;
    // A leftover is told from a live run's image by the node's running backups, as a lock is.
    let fleecing_nodes: BTreeSet<&str> = fleecing.images.iter().map(|i| i.node.as_str()).collect();
    let running_backups =
        read_running_backups(api, &guests.items, &fleecing_nodes, &nodes, &mut anomalies).await;
    let replication = read_replication(api, &nodes, &visibility, &mut anomalies).await;
    let restores = read_restores(api, &nodes, since, options, &mut anomalies).await;

    let server = source.server();
    let inventory = PveInventory {
        name: server.name,
        host: server.host,
        version,
        nodes: nodes.observed,
        guests,
        storages,
        jobs,
        pools,
        task_history,
        storage_backups,
        not_backed_up,
        running_backups,
        replication,
        restores,
        fleecing,
    };
    (inventory, anomalies)
}

/// Every online node's storage replication jobs (each node answers for the guests it holds).
/// Shown next to the guests, never counted as a backup, so a failure costs only that display.
async fn read_replication(
    api: &PveApi,
    nodes: &Nodes,
    visibility: &Visibility<'_>,
    anomalies: &mut Vec<Anomaly>,
) -> Observed<Replication> {
    let mut completeness = visibility.below(Need::Replication);
    let mut readers = Readers::new();
    for node in &nodes.observed.items {
        if node.status != "online" {
            completeness = with_partial(
                completeness,
                Some(format!(
                    "node {} is not online: its replication jobs are unknown",
                    node.name
                )),
            );
            continue;
        }
        let api = api.clone();
        let name = node.name.clone();
        readers.spawn((), async move {
            let answer = api.replication(&name).await;
            (name, answer)
        });
    }
    let mut items = Vec::new();
    let joined = readers.join("the storage replication jobs").await;
    let answers = joined.results;
    completeness = with_partial(completeness, joined.gap);
    for (node, answer) in answers {
        let component = format!("pve/nodes/{node}");
        let what = format!("the storage replication jobs of node {node}");
        let observed = observe(
            answer,
            Failed::new(Severity::Warning, &component, &what),
            |err| format!("{} failed: {}", err.endpoint, err.kind),
            anomalies,
            |list, anomalies| {
                let (kept_items, bad) = kept(
                    list,
                    Severity::Warning,
                    &component,
                    "replication jobs",
                    anomalies,
                );
                Observed {
                    items: kept_items
                        .into_iter()
                        .filter_map(replication_from_wire)
                        .collect(),
                    completeness: with_partial(Completeness::Complete, bad),
                }
            },
        );
        completeness = with_partial(
            completeness,
            observed.completeness.reason().map(str::to_string),
        );
        items.extend(observed.items);
    }
    items.sort_by(|a, b| a.id.cmp(&b.id));
    Observed {
        items,
        completeness,
    }
}

/// The restore tasks (`qmrestore`, `vzrestore`) of every online node in the history window, and
/// the log of each guest's newest one for the snapshot it read. Two list requests per node (PVE's
/// `typefilter` is exact) and one log per restored guest; no request per guest. The task-log
/// cache is not used: it holds parsed vzdump logs only, and restores are rare.
async fn read_restores(
    api: &PveApi,
    nodes: &Nodes,
    since: DateTime<Utc>,
    options: &CollectOptions,
    anomalies: &mut Vec<Anomaly>,
) -> Observed<Restore> {
    let mut completeness = Completeness::Complete;
    let mut readers = Readers::new();
    for node in &nodes.observed.items {
        if node.status != "online" {
            completeness = with_partial(
                completeness,
                Some(format!(
                    "node {} is not online: its restore tasks are unknown",
                    node.name
                )),
            );
            continue;
        }
        // The same list as the vzdump history: silently filtered without Sys.Audit, whose
        // anomaly the task history already raises.
        match nodes.sees_all.get(&node.name).copied().flatten() {
            Some(true) => {}
            Some(false) => {
                completeness = with_partial(
                    completeness,
                    Some(format!(
                        "without Sys.Audit on /nodes/{} only the token's own restores are listed",
                        node.name
                    )),
                );
            }
            None => {
                completeness = with_partial(
                    completeness,
                    Some("the token's privileges could not be read".into()),
                );
            }
        }
        for kind in [RestoreTaskType::Qmrestore, RestoreTaskType::Vzrestore] {
            let api = api.clone();
            let name = node.name.clone();
            let (page_size, max_items) = (options.task_page_size, options.task_history_limit);
            readers.spawn((), async move {
                let paged = api
                    .restore_tasks(&name, kind, since.timestamp(), page_size, max_items)
                    .await;
                (name, kind, paged)
            });
        }
    }
    let mut newest: BTreeMap<Vmid, Restore> = BTreeMap::new();
    let joined = readers.join("the restore task lists").await;
    let lists = joined.results;
    completeness = with_partial(completeness, joined.gap);
    for (node, kind, paged) in lists {
        let component = format!("pve/tasks/{node}");
        let (items, bad) = kept(
            paged.items,
            Severity::Warning,
            &component,
            &format!("{} tasks of node {node}", kind.as_str()),
            anomalies,
        );
        completeness = with_partial(completeness, bad);
        if let Some(failure) = paged.failure {
            anomalies.push(request_anomaly(
                Severity::Warning,
                &component,
                &format!("the {} tasks of node {node}", kind.as_str()),
                &failure.error,
            ));
            completeness = with_partial(
                completeness,
                Some(format!(
                    "the {} task list of node {node} failed: {}",
                    kind.as_str(),
                    failure.error.kind
                )),
            );
        }
        if paged.capped {
            completeness = with_partial(
                completeness,
                Some(format!(
                    "the {} task list of node {node} was cut at PVE_TASK_HISTORY_LIMIT",
                    kind.as_str()
                )),
            );
        }
        for mut item in items {
            fill_from_upid(&mut item);
            if item.task_type != kind.as_str() {
                continue;
            }
            let (Some(guest), Some(time)) = (
                item.id.as_deref().and_then(|id| id.parse::<Vmid>().ok()),
                item.starttime.and_then(epoch),
            ) else {
                continue;
            };
            let restore = Restore {
                guest,
                kind: kind.as_str(),
                node: item.node.clone().unwrap_or_else(|| node.clone()),
                upid: item.upid,
                time,
                status: item.status.filter(|s| s != "RUNNING"),
                source: None,
            };
            let newer = newest
                .get(&guest)
                .is_none_or(|old| (restore.time, &restore.upid) > (old.time, &old.upid));
            if newer {
                newest.insert(guest, restore);
            }
        }
    }
    let mut logs = JoinSet::new();
    for restore in newest.values() {
        let api = api.clone();
        let (guest, node, upid) = (restore.guest, restore.node.clone(), restore.upid.clone());
        let (page_size, limit) = (options.log_page_size, options.task_log_limit);
        logs.spawn(async move {
            let paged = api.task_log(&node, &upid, page_size, limit).await;
            (guest, node, paged)
        });
    }
    while let Some(joined) = logs.join_next().await {
        let Ok((guest, node, paged)) = joined else {
            continue;
        };
        let Some(restore) = newest.get_mut(&guest) else {
            continue;
        };
        if let Some(failure) = paged.failure {
            // The restore happened all the same; only what it read is unknown.
            anomalies.push(request_anomaly(
                Severity::Info,
                &format!("pve/tasks/{node}"),
                &format!("the log of restore task {}", restore.upid),
                &failure.error,
            ));
            continue;
        }
        restore.source = parse_restore_log(paged.items.iter().map(String::as_str));
    }
    let mut items: Vec<Restore> = newest.into_values().collect();
    items.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.guest.cmp(&b.guest)));
    Observed {
        items,
        completeness,
    }
}

fn replication_from_wire(item: wire::ReplicationStatus) -> Option<Replication> {
    Some(Replication {
        guest: item.guest?,
        target: item.target.filter(|t| !t.is_empty()),
        enabled: !item.disable.unwrap_or(false),
        last_sync: item.last_sync.filter(|t| *t > 0).and_then(epoch),
        fail_count: item.fail_count.unwrap_or(0),
        error: item.error.filter(|e| !e.is_empty()),
        id: item.id,
    })
}

/// The running vzdump tasks of every node that holds a guest locked for backup or a fleecing
/// image (`also`): only they tell a live backup's lock or image from a leftover, and other
/// nodes need not be asked.
async fn read_running_backups(
    api: &PveApi,
    guests: &[Guest],
    also: &BTreeSet<&str>,
    nodes: &Nodes,
    anomalies: &mut Vec<Anomaly>,
) -> Vec<NodeRunningBackups> {
    let mut locked: BTreeSet<&str> = guests
        .iter()
        .filter(|g| g.lock.as_deref() == Some("backup"))
        .map(|g| g.node.as_str())
        .collect();
    locked.extend(also);
    let mut readers = Readers::new();
    for node in &locked {
        let api = api.clone();
        let node = node.to_string();
        readers.spawn(node.clone(), async move {
            let answer = api.running_vzdump_tasks(&node).await;
            (node, answer)
        });
    }
    let mut out = Vec::new();
    let joined = readers.join("the running backups").await;
    let answers = joined.results;
    if let Some(lost) = joined.gap {
        // A node without an answer has no running list: its locks and images claim nothing.
        for node in &joined.lost {
            anomalies.push(Anomaly::new(
                Severity::Warning,
                format!("pve/nodes/{node}"),
                format!("the running backups of node {node} are unknown (so whether a backup lock or fleecing image there is stale is unknown)"),
                format!("{lost}; run again"),
            ));
        }
    }
    for (node, answer) in answers {
        let component = format!("pve/nodes/{node}");
        let what = format!("the running backups of node {node} (so whether a backup lock or fleecing image there is stale is unknown)");
        let running = observe(
            answer,
            Failed::new(Severity::Warning, &component, &what),
            |err| format!("{} failed: {}", err.endpoint, err.kind),
            anomalies,
            |list, anomalies| {
                let (items, bad) = kept(
                    list,
                    Severity::Warning,
                    &component,
                    "running tasks",
                    anomalies,
                );
                let mut tasks: Vec<(String, String)> = items
                    .into_iter()
                    .filter(|t| t.task_type == "vzdump")
                    .map(|t| (t.upid, t.id.unwrap_or_default()))
                    .collect();
                tasks.sort();
                let sees = match nodes.sees_all.get(&node).copied().flatten() {
                    Some(true) => Completeness::Complete,
                    Some(false) => Completeness::Partial {
                        reason: format!(
                            "without Sys.Audit on /nodes/{node} only the token's own tasks are listed"
                        ),
                    },
                    None => Completeness::Partial {
                        reason: "the token's privileges could not be read".into(),
                    },
                };
                Observed {
                    items: tasks,
                    completeness: with_partial(sees, bad),
                }
            },
        );
        out.push(NodeRunningBackups {
            node,
            completeness: running.completeness,
            tasks: running.items,
        });
    }
    out.sort_by(|a, b| a.node.cmp(&b.node));
    out
}

/// The nodes with their time zones, and what each node's task history may show.
struct Nodes {
    observed: Observed<Node>,
    names: Vec<String>,
    time_zones: BTreeMap<String, Tz>,
    /// Whether the token sees every task of the node (`None`: its privileges could not be read).
    sees_all: BTreeMap<String, Option<bool>>,
}

async fn read_nodes(
    api: &PveApi,
    nodes: Result<LenientList<wire::Node>, ApiError>,
    now: DateTime<Utc>,
    anomalies: &mut Vec<Anomaly>,
) -> Nodes {
    let mut unavailable_reason = None;
    let mut partial_reason = None;
    let mut node_list = match nodes {
        Ok(list) => {
            // A dropped node's task history and storage content are not read: its guests'
            // freshness becomes unknown, so a verdict rests on the list.
            let (items, bad) = kept(list, Severity::Critical, "pve/nodes", "nodes", anomalies);
            partial_reason = bad;
            items
        }
        Err(err) => {
            // No node list hides every node's time zone, task history and storage content:
            // all of that is unknown, not absent.
            let reason = format!(
                "{} failed ({}): node time zones, task histories and storage contents are unknown",
                err.endpoint,
                err.short()
            );
            Failed::new(Severity::Critical, "pve/nodes", "the node list").report(&err, anomalies);
            unavailable_reason = Some(reason);
            Vec::new()
        }
    };
    node_list.sort_by(|a, b| a.node.cmp(&b.node));
    let mut readers = Readers::new();
    for node in &node_list {
        let api = api.clone();
        let name = node.node.clone();
        // PVE lists a node's statistics only to a caller with `Sys.Audit` on that node, the
        // privilege that shows its whole task history: the list already proves it.
        let audit_proven = node.shows_statistics();
        readers.spawn(name.clone(), async move {
            if audit_proven {
                let time = api.node_time(&name).await;
                return (name, time, Ok(true));
            }
            let needs = Need::TaskHistory.requirement();
            let node_path = needs.acl_path_for(&name);
            let (time, node_perms) = tokio::join!(
                api.node_time(&name),
                // No statistics: an offline node, or no `Sys.Audit` there. The full permission
                // map omits paths without privileges, so a NoAccess on one node only shows when
                // that path is asked for.
                api.permissions_on(&node_path),
            );
            let sees_all = node_perms
                .map(|answer| PermissionMap::from_wire(answer).has(&node_path, needs.privilege));
            (name, time, sees_all)
        });
    }
    let mut zones: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut sees_all: BTreeMap<String, Option<bool>> = BTreeMap::new();
    let joined = readers.join("the node time zones").await;
    let answers = joined.results;
    if let Some(lost) = joined.gap {
        // A lost node's time zone falls back to UTC and its history's completeness is
        // undecided, as when the requests themselves failed.
        for node in &joined.lost {
            anomalies.push(Anomaly::new(
                Severity::Warning,
                format!("pve/nodes/{node}"),
                format!(
                    "the time zone and privileges of node {node} are unknown (task-log times are read as UTC, its task history may be incomplete)"
                ),
                format!("{lost}; run again"),
            ));
        }
    }
    for (name, result, node_sees_all) in answers {
        let component = format!("pve/nodes/{name}");
        // Without the probe the history's completeness cannot be decided: the node's history
        // becomes partial (see read_task_history), and the failed request must show.
        let what = format!(
            "the token's privileges on node {name} (so whether its task history is complete is unknown)"
        );
        let node_sees_all = answer(
            node_sees_all,
            Failed::new(Severity::Warning, &component, &what),
            anomalies,
        );
        sees_all.insert(name.clone(), node_sees_all);
        let what = format!("the time zone of node {name} (task-log times are read as UTC instead)");
        let zone = answer(
            result,
            Failed::new(Severity::Warning, &component, &what),
            anomalies,
        );
        zones.insert(name, zone.map(|time| time.timezone));
    }
    let items: Vec<Node> = node_list
        .iter()
        .map(|n| Node {
            name: n.node.clone(),
            status: n.status.as_str().to_string(),
            timezone: zones.get(&n.node).cloned().flatten(),
            // An offline node's uptime is its last RRD value, not a boot time.
            up_since: n
                .uptime
                .filter(|_| n.status == wire::NodeStatus::Online)
                .and_then(|s| i64::try_from(s).ok())
                .and_then(Duration::try_seconds)
                .and_then(|s| now.checked_sub_signed(s)),
        })
        .collect();
    let observed = match unavailable_reason {
        Some(reason) => Observed::unavailable(reason),
        None => Observed {
            items,
            completeness: with_partial(Completeness::Complete, partial_reason),
        },
    };
    let time_zones = observed
        .items
        .iter()
        .map(|n| {
            let tz = n
                .timezone
                .as_deref()
                .and_then(|name| Tz::from_str(name).ok())
                .unwrap_or(Tz::UTC);
            (n.name.clone(), tz)
        })
        .collect();
    Nodes {
        names: node_list.into_iter().map(|n| n.node).collect(),
        observed,
        time_zones,
        sees_all,
    }
}

fn read_guests(
    resources: Result<LenientList<wire::ClusterResource>, ApiError>,
    visibility: &Visibility<'_>,
    anomalies: &mut Vec<Anomaly>,
) -> Observed<Guest> {
    let mut guests = observe(
        resources,
        Failed::new(Severity::Critical, "pve/guests", "the guest list"),
        |err| format!("{} failed: {}", err.endpoint, err.kind),
        anomalies,
        |list, anomalies| {
            // A dropped row is a guest missing from the report: the list must not look complete.
            let (items, bad) = kept(
                list,
                Severity::Critical,
                "pve/guests",
                "entries of the guest list",
                anomalies,
            );
            let items: Vec<Guest> = items
                .into_iter()
                .filter(wire::ClusterResource::is_guest)
                .filter_map(|item| guest_from_resource(item, anomalies))
                .collect();
            let visible = visibility.below(Need::Guests);
            if let Completeness::Partial { reason } = &visible {
                // Hidden guests cannot appear as "not backed up": the run must not look complete.
                anomalies.push(Anomaly::new(
                    Severity::Critical,
                    "pve/guests",
                    format!(
                        "the guest list may be incomplete ({} visible): guests the token cannot see are not in the report",
                        items.len()
                    ),
                    format!("{reason}. Check with --check-api"),
                ));
            }
            Observed {
                items,
                completeness: with_partial(visible, bad),
            }
        },
    );
    guests.items.sort_by_key(|g| g.vmid);
    guests
}

async fn read_pools(
    api: &PveApi,
    pools: Result<LenientList<wire::PoolListItem>, ApiError>,
    version: Option<&str>,
    visibility: &Visibility<'_>,
    anomalies: &mut Vec<Anomaly>,
) -> Observed<Pool> {
    let (list, bad) = match pools {
        Ok(list) => kept(list, Severity::Warning, "pve/pools", "pools", anomalies),
        Err(err) => {
            return unavailable(
                err,
                Failed::new(Severity::Warning, "pve/pools", "the pool list"),
                |err| format!("{} failed: {}", err.endpoint, err.kind),
                anomalies,
            )
        }
    };
    let members = read_pool_members(api, version, &list, anomalies).await;
    let mut pools: Vec<Pool> = list
        .into_iter()
        .map(|p| Pool {
            members: members.get(&p.poolid).cloned().flatten(),
            id: p.poolid,
            comment: p.comment.filter(|c| !c.is_empty()),
        })
        .collect();
    pools.sort_by(|a, b| a.id.cmp(&b.id));
    Observed {
        items: pools,
        completeness: with_partial(visibility.below(Need::Pools), bad),
    }
}

async fn read_all_task_history(
    api: &PveApi,
    nodes: &Nodes,
    since: DateTime<Utc>,
    options: &CollectOptions,
    cache: Option<&TaskLogCache>,
    progress: &Progress,
    anomalies: &mut Vec<Anomaly>,
) -> Vec<NodeTaskHistory> {
    let mut task_history = Vec::new();
    let mut readers = Readers::new();
    let log_reads = Arc::new(Semaphore::new(LOG_READS_IN_PROGRESS));
    for node in &nodes.names {
        let api = api.clone();
        let node = node.clone();
        let tz = nodes.time_zones.get(&node).copied().unwrap_or(Tz::UTC);
        let options = options.clone();
        let sees_all = nodes.sees_all.get(&node).copied().flatten();
        let progress = progress.clone();
        let cache = cache.cloned();
        let log_reads = log_reads.clone();
        readers.spawn(node.clone(), async move {
            let window = HistoryWindow {
                since,
                options: &options,
                cache: cache.as_ref(),
                log_reads,
            };
            read_task_history(&api, &node, tz, window, sees_all, &progress).await
        });
    }
    let joined = readers.join("the task histories").await;
    for (history, mut found) in joined.results {
        anomalies.append(&mut found);
        task_history.push(history);
    }
    if let Some(lost) = joined.gap {
        // A node whose reader was lost has an unknown history, not an empty one.
        for node in joined.lost {
            anomalies.push(Anomaly::new(
                Severity::Critical,
                format!("pve/tasks/{node}"),
                format!("the task history of node {node} was not read"),
                format!("{lost}; run again"),
            ));
            task_history.push(NodeTaskHistory {
                node,
                completeness: Completeness::Unavailable {
                    reason: lost.clone(),
                },
                oldest_seen: None,
                requested_since: since,
                capped: false,
                tasks: Vec::new(),
            });
        }
    }
    task_history.sort_by(|a, b| a.node.cmp(&b.node));
    task_history
}

/// Decides list completeness from the token's effective privileges.
struct Visibility<'a> {
    perms: Option<&'a PermissionMap>,
}

impl Visibility<'_> {
    fn below(&self, need: Need) -> Completeness {
        let Requirement {
            acl_path: path,
            privilege,
            effect: why,
            ..
        } = need.requirement();
        match self.perms {
            Some(perms) if perms.has_everywhere_below(path, privilege) => Completeness::Complete,
            Some(_) => Completeness::Partial {
                reason: format!("{why}; grant {privilege} on {path} (role PVEAuditor on /)"),
            },
            None => Completeness::Partial {
                reason: format!("the token's privileges could not be read, so the list may be shortened ({why})"),
            },
        }
    }
}

fn guest_from_resource(item: wire::ClusterResource, anomalies: &mut Vec<Anomaly>) -> Option<Guest> {
    let kind = match item.kind {
        wire::ClusterResourceKind::Qemu => GuestKind::Qemu,
        wire::ClusterResourceKind::Lxc => GuestKind::Lxc,
        _ => return None,
    };
    let (Some(vmid), Some(node)) = (item.vmid, item.node.clone()) else {
        anomalies.push(Anomaly::new(
            Severity::Warning,
            "pve/guests",
            format!(
                "a guest entry without vmid or node was skipped ({})",
                item.id
            ),
            "GET /cluster/resources returned an incomplete guest item",
        ));
        return None;
    };
    Some(Guest {
        vmid,
        kind,
        name: item.name.filter(|n| !n.is_empty()),
        node,
        status: item.status,
        template: item.template,
        pool: item.pool.filter(|p| !p.is_empty()),
        tags: item.tags.unwrap_or_default(),
        lock: item.lock.map(|lock| lock.as_str().to_string()),
        config: GuestConfigFacts::Unknown {
            reason: "guest configs were not read (disabled)".into(),
        },
        created: None,
    })
}

/// Each guest's volume facts: from the jobs' `included_volumes` trees (one request per job),
/// and from the guest's own config where no readable tree shows the guest (a job whose tree
/// failed, a guest without `VM.Audit`, one no job selects) or where `--notes all` asks for every
/// config. Never "all disks included" by default: a guest no tree or config describes stays
/// `Unknown`.
async fn read_guest_facts(
    api: &PveApi,
    guests: &mut [Guest],
    jobs: &[BackupJob],
    options: &CollectOptions,
    anomalies: &mut Vec<Anomaly>,
    progress: &Progress,
) {
    if !options.guest_configs {
        return;
    }
    // Read even when every config is (`--notes all`, a recording): one request per job keeps a
    // guest's volumes known if its config fails, and lets a recording answer either mode.
    let from_trees = read_volume_trees(api, jobs, anomalies).await;
    let mut unread = Vec::new();
    for (index, guest) in guests.iter_mut().enumerate() {
        match from_trees.get(&(guest.vmid, guest.kind)) {
            Some(facts) if options.notes == NotesMode::OnDemand => guest.config = facts.clone(),
            Some(facts) => {
                guest.config = facts.clone();
                unread.push(index);
            }
            None => unread.push(index),
        }
    }
    read_guest_configs(api, guests, &unread, anomalies, progress).await;
}

/// Read the configs of `wanted` guests (VMIDs whose facts lack their notes) for their notes: the
/// second pass of an on-demand run, once the verdicts show which guests are not healthy. A
/// config that cannot be read keeps the volume facts the trees gave.
pub(crate) async fn read_notes(
    source: &Source,
    options: &CollectOptions,
    guests: &mut [Guest],
    wanted: &std::collections::BTreeSet<Vmid>,
    progress: &Progress,
) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    let api = PveApi::new(source.clone(), options.jobs_endpoint.clone());
    let indices: Vec<usize> = guests
        .iter()
        .enumerate()
        .filter(|(_, g)| wanted.contains(&g.vmid))
        .filter(|(_, g)| {
            matches!(
                g.config,
                GuestConfigFacts::Read {
                    notes_read: false,
                    ..
                }
            )
        })
        .map(|(index, _)| index)
        .collect();
    read_guest_configs(&api, guests, &indices, &mut anomalies, progress).await;
    anomalies
}

/// Volume facts per guest from every job's `included_volumes` tree. A tree that cannot be read or
/// decoded is left out whole, with one anomaly for all such jobs: its guests then have their
/// configs read one by one instead.
async fn read_volume_trees(
    api: &PveApi,
    jobs: &[BackupJob],
    anomalies: &mut Vec<Anomaly>,
) -> BTreeMap<GuestKey, GuestConfigFacts> {
    let mut set = JoinSet::new();
    for job in jobs.iter().filter(|j| !j.id.is_empty()) {
        let api = api.clone();
        let id = job.id.clone();
        set.spawn(async move {
            let result = api.included_volumes(&id).await;
            (id, result)
        });
    }
    let mut answers = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(answer) => answers.push(answer),
            Err(err) => tracing::error!("an included_volumes reader ended abnormally: {err}"),
        }
    }
    // The first readable tree (by job id) that lists a guest describes it: every tree reads the
    // same guest config, so which one does not matter, but the choice stays deterministic.
    answers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut facts = BTreeMap::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for (id, result) in answers {
        let tree = match result {
            Ok(tree) => tree,
            Err(err) => {
                failed.push((id, format!("GET {}: {}", err.endpoint, err.kind)));
                continue;
            }
        };
        match tree_facts(&tree) {
            Ok(guests) => {
                for (key, value) in guests {
                    facts.entry(key).or_insert(value);
                }
            }
            Err(problem) => failed.push((
                id.clone(),
                format!(
                    "GET {}: {problem}",
                    api.label(PveRequest::IncludedVolumes(&id))
                ),
            )),
        }
    }
    if let Some((_, first)) = failed.first() {
        let ids: Vec<&str> = failed.iter().map(|(id, _)| id.as_str()).collect();
        // A warning although nothing is lost: the fallback costs a request per guest, and a
        // tree that fails where the job list did not is worth a look.
        anomalies.push(Anomaly::new(
            Severity::Warning,
            "pve/included-volumes",
            format!(
                "the volume list of {} backup job(s) ({}) could not be read; the configs of their guests were read one by one instead",
                failed.len(),
                ids.join(", ")
            ),
            format!(
                "{first}. Fix: grant Sys.Audit on / (PVEAuditor) so one request per job replaces one per guest"
            ),
        ));
    }
    facts
}

/// A guest as a tree names it: VMID and kind (a tree's VM 100 never describes CT 100).
type GuestKey = (Vmid, GuestKind);

/// The volume facts of every guest one tree lists, or why the tree cannot be trusted (a volume
/// whose `included` is missing): then none of it is used.
fn tree_facts(tree: &wire::IncludedVolumes) -> Result<Vec<(GuestKey, GuestConfigFacts)>, String> {
    let mut out = Vec::new();
    for guest in &tree.children {
        let kind = match guest.kind {
            wire::GuestType::Qemu => GuestKind::Qemu,
            wire::GuestType::Lxc => GuestKind::Lxc,
            // A VMID in the job whose guest no longer exists, or a type this version does not
            // know: nothing to learn about any guest's volumes.
            _ => continue,
        };
        let mut excluded = Vec::new();
        let mut included = 0usize;
        for volume in &guest.children {
            let Some(is_included) = volume.included else {
                return Err(format!(
                    "volume {} of guest {} has no 'included' value",
                    volume.id, guest.id
                ));
            };
            if is_included {
                included += 1;
                continue;
            }
            let name = volume.name.clone().unwrap_or_default();
            let reason = tree_exclusion(kind, volume.reason.as_deref(), &name);
            excluded.push(ExcludedVolume {
                key: volume.key().to_string(),
                volume: name,
                reason: reason.exclusion_text().to_string(),
            });
        }
        excluded.sort();
        out.push((
            (guest.id, kind),
            GuestConfigFacts::Read {
                notes: None,
                notes_read: false,
                excluded_volumes: excluded,
                included_volumes: included,
            },
        ));
    }
    Ok(out)
}

async fn read_guest_configs(
    api: &PveApi,
    guests: &mut [Guest],
    indices: &[usize],
    anomalies: &mut Vec<Anomaly>,
    progress: &Progress,
) {
    progress.add_configs(indices.len());
    let mut set = JoinSet::new();
    for (index, guest) in indices
        .iter()
        .filter_map(|&index| guests.get(index).map(|guest| (index, guest)))
    {
        let api = api.clone();
        let node = guest.node.clone();
        let kind = config_kind(guest.kind);
        let vmid = guest.vmid;
        set.spawn(async move {
            let result = api.guest_config(&node, kind, vmid).await;
            (index, result)
        });
    }
    let mut forbidden = 0usize;
    let mut first_forbidden: Option<ApiError> = None;
    while let Some(joined) = set.join_next().await {
        progress.config_done();
        let Ok((index, result)) = joined else {
            continue;
        };
        let Some(guest) = guests.get_mut(index) else {
            continue;
        };
        guest.config = match result {
            Ok(config) => {
                let endpoint = api.label(PveRequest::GuestConfig {
                    node: &guest.node,
                    kind: config_kind(guest.kind),
                    vmid: guest.vmid,
                });
                guest.created = config
                    .created()
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
                config_facts(guest.kind, &config, guest.vmid, &endpoint, anomalies)
            }
            Err(err) => {
                if err.status() == Some(403) {
                    forbidden += 1;
                    first_forbidden.get_or_insert(err.clone());
                } else {
                    anomalies.push(request_anomaly(
                        Severity::Warning,
                        &format!("guest/{}", guest.vmid),
                        &format!("the config of guest {}", guest.vmid),
                        &err,
                    ));
                }
                match &guest.config {
                    // The volumes a tree gave stay known; only the notes are missing.
                    GuestConfigFacts::Read {
                        notes_read: false, ..
                    } => guest.config.clone(),
                    _ => GuestConfigFacts::Unknown {
                        reason: format!("config not readable: {}", err.kind),
                    },
                }
            }
        };
    }
    if let Some(err) = first_forbidden {
        anomalies.push(request_anomaly(
            Severity::Warning,
            "pve/guest-configs",
            &format!("the configs of {forbidden} guest(s) (notes and disk exclusions unknown)"),
            &err,
        ));
    }
}

/// The backup facts of a guest config. A value of the wrong type in what they depend on (a volume
/// definition, `bios`, `description`) makes them unknown, with an anomaly naming the endpoint and
/// key: a partial reading could hide an excluded disk and call the guest covered.
fn config_facts(
    kind: GuestKind,
    config: &wire::GuestConfig,
    vmid: Vmid,
    endpoint: &str,
    anomalies: &mut Vec<Anomaly>,
) -> GuestConfigFacts {
    let mut excluded = Vec::new();
    let mut included = 0usize;
    let mut errors = Vec::new();
    for volume in volumes(config, kind) {
        match volume {
            Ok(volume) if volume.included() => included += 1,
            Ok(volume) => {
                // CD-ROMs and unused volumes are never data the admin expects in a backup.
                if matches!(volume.kind, VolumeKind::Cdrom | VolumeKind::Unused) {
                    continue;
                }
                excluded.push(ExcludedVolume {
                    key: volume.key.clone(),
                    volume: volume.volume.clone(),
                    reason: volume.reason.exclusion_text().to_string(),
                });
            }
            Err(err) => errors.push(err.to_string()),
        }
    }
    let notes = match config.description() {
        Ok(notes) => notes.filter(|n| !n.trim().is_empty()),
        Err(err) => {
            errors.push(err.to_string());
            None
        }
    };
    if !errors.is_empty() {
        errors.sort();
        errors.dedup();
        let detail = errors.join("; ");
        anomalies.push(Anomaly::new(
            Severity::Warning,
            format!("guest/{vmid}"),
            format!(
                "the config of guest {vmid} could not be read, so its volume exclusions and notes are unknown"
            ),
            format!("GET {endpoint}: {detail}"),
        ));
        return GuestConfigFacts::Unknown {
            reason: format!("config not readable: {detail}"),
        };
    }
    excluded.sort();
    GuestConfigFacts::Read {
        notes,
        notes_read: true,
        excluded_volumes: excluded,
        included_volumes: included,
    }
}

fn config_kind(kind: GuestKind) -> wire::GuestConfigKind {
    match kind {
        GuestKind::Qemu => wire::GuestConfigKind::Qemu,
        GuestKind::Lxc => wire::GuestConfigKind::Lxc,
    }
}

fn storage_from_wire(item: wire::StorageConfig) -> Storage {
    let pbs = (item.storage_type == wire::StorageType::Pbs).then(|| PbsTarget {
        server: item.server.clone().unwrap_or_default(),
        port: item.pbs_port(),
        datastore: item.datastore.clone().unwrap_or_default(),
        namespace: item.namespace.clone().filter(|n| !n.is_empty()),
        username: item.username.clone(),
        fingerprint: item.fingerprint.clone(),
        encrypted: item.encryption_configured(),
    });
    Storage {
        enabled: !item.is_disabled(),
        content: item.content.clone().unwrap_or_default(),
        nodes: item.nodes.clone(),
        kind: item.storage_type.as_str().to_string(),
        max_protected_backups: item.max_protected_backups,
        id: item.storage,
        pbs,
    }
}

fn job_from_wire(job: wire::BackupJob, anomalies: &mut Vec<Anomaly>) -> BackupJob {
    let legacy = job.is_legacy_cron_job();
    let schedule = match (&job.schedule, &job.starttime) {
        (Some(schedule), _) => Some(schedule.clone()),
        (None, Some(starttime)) => match schedule_from_legacy(starttime, job.dow.as_deref()) {
            Ok(schedule) => Some(schedule),
            Err(err) => {
                anomalies.push(Anomaly::new(
                    Severity::Warning,
                    format!("job/{}", job.id),
                    format!("the legacy schedule of job '{}' could not be read", job.id),
                    err.to_string(),
                ));
                None
            }
        },
        (None, None) => None,
    };
    // vzdump's precedence: pool, then vmid, then all (exclude implies all).
    let selection = if let Some(pool) = job.pool.clone().filter(|p| !p.is_empty()) {
        Selection::Pool { pool }
    } else if let Some(vmids) = job.vmid.clone().filter(|v| !v.is_empty()) {
        Selection::Vmids { vmids }
    } else if job.all_or_default() || job.exclude.as_ref().is_some_and(|e| !e.is_empty()) {
        Selection::All {
            exclude: job.exclude.clone().unwrap_or_default(),
        }
    } else {
        Selection::Nothing
    };
    let raw = serde_json::to_value(&job)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .map(|m| m.into_iter().collect())
        .unwrap_or_default();
    BackupJob {
        enabled: job.enabled_or_default(),
        schedule,
        storage: job.storage.clone(),
        node: job.node.clone().filter(|n| !n.is_empty()),
        selection,
        mode: job.mode.as_ref().map(|m| m.as_str().to_string()),
        comment: job.comment.clone().filter(|c| !c.is_empty()),
        next_run: job.next_run.and_then(epoch),
        legacy,
        repeat_missed: job.repeat_missed,
        protected: job.protected.unwrap_or(false),
        fleecing: fleecing_from_wire(job.fleecing.as_ref()),
        id: job.id,
        raw,
    }
}

/// Storage types whose content is the same from every node (network storages), so their images
/// are listed through one node only.
const SHARED_KINDS: &[&str] = &[
    "nfs",
    "cifs",
    "cephfs",
    "rbd",
    "glusterfs",
    "iscsi",
    "iscsidirect",
    "zfs",
];

/// The enabled fleecing setting of a job (the decoded map's `enabled` defaults to off).
fn fleecing_from_wire(map: Option<&BTreeMap<String, String>>) -> Option<Fleecing> {
    let map = map?;
    let enabled = matches!(
        map.get("enabled").map(String::as_str),
        Some("1" | "true" | "yes" | "on")
    );
    enabled.then(|| Fleecing {
        storage: map.get("storage").filter(|s| !s.is_empty()).cloned(),
    })
}

/// The VMID of a fleecing image volid (`<storage>:vm-<vmid>-fleece-<n>`, on path-based storages
/// `<storage>:<vmid>/vm-<vmid>-fleece-<n>.<format>`), None for any other volume.
fn fleecing_image_vmid(volid: &str) -> Option<Vmid> {
    let (_, volume) = volid.split_once(':')?;
    let name = volume.rsplit('/').next()?;
    let (vmid, rest) = name.strip_prefix("vm-")?.split_once("-fleece-")?;
    let number = rest.split_once('.').map_or(rest, |(n, _)| n);
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(number) || !all_digits(vmid) {
        return None;
    }
    vmid.parse().ok()
}

/// The fleecing images on every storage an enabled job fleeces to, on each node that runs such a
/// job. A VM image is listed only with `Datastore.Allocate` on the storage, which a read-only
/// token lacks: those storages are named once as not visible, never read as holding nothing.
async fn read_fleecing_images(
    api: &PveApi,
    jobs: &[BackupJob],
    storages: &[Storage],
    nodes: &Nodes,
    perms: Option<&PermissionMap>,
    anomalies: &mut Vec<Anomaly>,
) -> FleecingScan {
    let online: Vec<&str> = nodes
        .observed
        .items
        .iter()
        .filter(|n| n.status == "online")
        .map(|n| n.name.as_str())
        .collect();
    // storage → nodes on which some enabled job fleeces to it.
    let mut wanted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for job in jobs.iter().filter(|j| j.enabled) {
        let Some(storage) = job.fleecing.as_ref().and_then(|f| f.storage.as_deref()) else {
            continue;
        };
        let allowed = storages
            .iter()
            .find(|s| s.id == storage)
            .and_then(|s| s.nodes.as_ref());
        let runs_on = online.iter().copied().filter(|n| {
            job.node.as_deref().is_none_or(|only| only == *n)
                && allowed.is_none_or(|list| list.iter().any(|a| a == n))
        });
        wanted.entry(storage).or_default().extend(runs_on);
    }
    let mut scan = FleecingScan::default();
    let needs = Need::StorageContent.requirement();
    let mut readers = Readers::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    for (storage, on) in &wanted {
        let sees = perms.is_some_and(|p| p.has(&needs.acl_path_for(storage), needs.privilege));
        if !sees {
            scan.unseen.push((*storage).to_string());
            continue;
        }
        if on.is_empty() {
            // No online node runs the job: nothing to ask through, and nothing read-only about it.
            failed.insert((*storage).to_string());
            continue;
        }
        // A network storage shows the same images on every node: one node is enough.
        let shared = storages
            .iter()
            .find(|s| s.id == *storage)
            .is_some_and(|s| SHARED_KINDS.contains(&s.kind.as_str()));
        for node in on.iter().take(if shared { 1 } else { on.len() }) {
            let api = api.clone();
            let (node, storage) = ((*node).to_string(), (*storage).to_string());
            readers.spawn(storage.clone(), async move {
                let answer = api.storage_images_listed(&node, &storage).await;
                (node, storage, answer)
            });
        }
    }
    let joined = readers.join("the fleecing storages").await;
    let (mut answers, lost) = (joined.results, joined.gap);
    // Completion order is arbitrary; the scan is not.
    answers.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    // A storage some of whose nodes went unread is unseen there.
    failed.extend(joined.lost);
    for (node, storage, answer) in answers {
        let component = format!("storage/{storage}");
        let what = format!("the images on storage '{storage}' of node {node} (so whether fleecing images were left there is unknown)");
        match answer {
            Ok(list) => {
                let (items, bad) = kept(list, Severity::Warning, &component, &what, anomalies);
                if bad.is_some() {
                    failed.insert(storage.clone());
                }
                for item in items {
                    let Some(vmid) = fleecing_image_vmid(&item.volid) else {
                        continue;
                    };
                    scan.images.push(FleecingImage {
                        node: node.clone(),
                        storage: storage.clone(),
                        volid: item.volid,
                        vmid,
                    });
                }
            }
            Err(err) => {
                anomalies.push(request_anomaly(Severity::Warning, &component, &what, &err));
                failed.insert(storage);
            }
        }
    }
    if let Some(lost) = lost {
        anomalies.push(Anomaly::new(
            Severity::Warning,
            "pve/storage",
            "the images on some fleecing storages were not read",
            format!("{lost}; run again"),
        ));
    }
    for storage in wanted.keys() {
        let storage = (*storage).to_string();
        if failed.contains(&storage) {
            scan.unseen.push(storage);
        } else if !scan.unseen.contains(&storage) {
            scan.listed.push(storage);
        }
    }
    scan.images.sort();
    scan.images.dedup();
    scan.unseen.sort();
    scan.unseen.dedup();
    let hidden: Vec<&String> = scan
        .unseen
        .iter()
        .filter(|s| !failed.contains(*s))
        .collect();
    if !hidden.is_empty() {
        let names: Vec<&str> = hidden.iter().map(|s| s.as_str()).collect();
        let commands: Vec<String> = names
            .iter()
            .map(|s| format!("`pvesm list {s} --content images | grep fleece`"))
            .collect();
        anomalies.push(Anomaly::new(
            Severity::Info,
            "pve/fleecing",
            format!(
                "leftover fleecing images on storage(s) {} cannot be seen read-only",
                names.join(", ")
            ),
            format!(
                "PVE lists VM images only to a token with Datastore.Allocate on the storage, which is not a read-only privilege; \
                 an admin can look on the nodes that run the fleecing jobs: {}",
                commands.join(", ")
            ),
        ));
    }
    scan
}

/// PVE ≥ 8.1 answers `/pools?poolid=`; older versions only `/pools/{id}`.
fn supports_pool_query(version: Option<&str>) -> Option<bool> {
    let version = version?;
    let mut parts = version.split(['.', '-']);
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    Some(major > 8 || (major == 8 && minor >= 1))
}

async fn read_pool_members(
    api: &PveApi,
    version: Option<&str>,
    pools: &[wire::PoolListItem],
    anomalies: &mut Vec<Anomaly>,
) -> BTreeMap<String, Option<Vec<Vmid>>> {
    let new_form = supports_pool_query(version).unwrap_or(true);
    let mut readers = Readers::new();
    for pool in pools {
        let api = api.clone();
        let id = pool.poolid.clone();
        readers.spawn(id.clone(), async move {
            let result = if new_form {
                api.pool(&id).await
            } else {
                api.pool_legacy(&id).await.map(Some)
            };
            (id, result)
        });
    }
    let mut members = BTreeMap::new();
    let joined = readers.join("the pool members").await;
    let answers = joined.results;
    if let Some(lost) = joined.gap {
        // A pool without an answer has unknown members, never none.
        for pool in joined.lost {
            anomalies.push(Anomaly::new(
                Severity::Warning,
                format!("pool/{pool}"),
                format!("the members of pool '{pool}' are unknown"),
                format!("{lost}; run again"),
            ));
            members.insert(pool, None);
        }
    }
    for (id, result) in answers {
        let vmids = match result {
            Ok(Some(detail)) => {
                let mut vmids: Vec<Vmid> = detail
                    .members
                    .unwrap_or_default()
                    .iter()
                    .filter(|m| {
                        matches!(
                            m.kind,
                            wire::ClusterResourceKind::Qemu | wire::ClusterResourceKind::Lxc
                        )
                    })
                    .filter_map(|m| m.vmid)
                    .collect();
                vmids.sort_unstable();
                vmids.dedup();
                Some(vmids)
            }
            Ok(None) => {
                anomalies.push(Anomaly::new(
                    Severity::Warning,
                    format!("pool/{id}"),
                    format!("pool '{id}' answered without members"),
                    "GET /pools?poolid returned an empty list",
                ));
                None
            }
            Err(err) => {
                anomalies.push(request_anomaly(
                    Severity::Warning,
                    &format!("pool/{id}"),
                    &format!("the members of pool '{id}'"),
                    &err,
                ));
                None
            }
        };
        members.insert(id, vmids);
    }
    members
}

/// What every node's history read shares: how far back, how much, and where finished logs are kept.
struct HistoryWindow<'a> {
    since: DateTime<Utc>,
    options: &'a CollectOptions,
    cache: Option<&'a TaskLogCache>,
    /// Permits for task logs being read, shared by all nodes (see [`LOG_READS_IN_PROGRESS`]).
    log_reads: Arc<Semaphore>,
}

/// Task logs read at once, over all nodes. A log of several pages keeps its decoded pages until
/// the last one arrives, and each page waits for a request permit: started all at once, hundreds
/// of half-read logs were held (~45 MB of lines on 5 000 guests, issue #10). As many as the
/// default request concurrency keeps the requests as busy as before.
const LOG_READS_IN_PROGRESS: usize = 8;

async fn read_task_history(
    api: &PveApi,
    node: &str,
    tz: Tz,
    window: HistoryWindow<'_>,
    sees_all: Option<bool>,
    progress: &Progress,
) -> (NodeTaskHistory, Vec<Anomaly>) {
    let HistoryWindow {
        since,
        options,
        cache,
        log_reads,
    } = window;
    let mut anomalies = Vec::new();
    let component = format!("pve/tasks/{node}");
    let paged = api
        .vzdump_tasks(
            node,
            since.timestamp(),
            options.task_page_size,
            options.task_history_limit,
        )
        .await;
    // A malformed task may be the run that backed a guest up or failed it: the history becomes
    // partial, so no guest is called stale or never from it.
    let (mut items, bad) = kept(
        paged.items,
        Severity::Critical,
        &component,
        &format!("vzdump tasks of node {node}"),
        &mut anomalies,
    );
    items.iter_mut().for_each(fill_from_upid);
    let capped = paged.capped;
    let failure = paged.failure.map(|failure| {
        let start = failure.start;
        anomalies.push(request_anomaly(
            Severity::Critical,
            &component,
            &format!("the vzdump task history of node {node} (page at {start})"),
            &failure.error,
        ));
        format!(
            "the task list failed at item {start}: {}",
            failure.error.kind
        )
    });
    items.retain(|t| t.task_type == "vzdump");
    items.sort_by(|a, b| {
        b.starttime
            .cmp(&a.starttime)
            .then_with(|| a.upid.cmp(&b.upid))
    });
    items.dedup_by(|a, b| a.upid == b.upid);
    if capped {
        anomalies.push(Anomaly::new(
            Severity::Warning,
            &component,
            format!(
                "the task history of node {node} was cut at {} tasks",
                options.task_history_limit
            ),
            "raise PVE_TASK_HISTORY_LIMIT or shorten the history window to see every run in it",
        ));
    }
    let completeness = if let Some(reason) = failure {
        Completeness::Partial { reason }
    } else if capped {
        Completeness::Partial {
            reason: format!(
                "cut at PVE_TASK_HISTORY_LIMIT={}",
                options.task_history_limit
            ),
        }
    } else {
        match sees_all {
            Some(true) => Completeness::Complete,
            Some(false) => {
                let needs = Need::TaskHistory.requirement();
                let (privilege, path) = (needs.privilege, needs.acl_path_for(node));
                let fix = needs
                    .grant
                    .map(|grant| {
                        format!(
                            " Fix: pveum acl modify {} --roles {} for the token (and its user, with privilege separation)",
                            grant.path, grant.role
                        )
                    })
                    .unwrap_or_default();
                anomalies.push(Anomaly::new(
                    Severity::Critical,
                    &component,
                    format!("incomplete task history on node {node}: the token lacks {privilege} on {path}"),
                    format!("Without {privilege} {}.{fix}", needs.effect),
                ));
                Completeness::Partial {
                    reason: format!(
                        "without {privilege} on {path} only the token's own tasks are listed"
                    ),
                }
            }
            None => Completeness::Partial {
                reason: "the token's privileges could not be read".into(),
            },
        }
    };

    let completeness = with_partial(completeness, bad);

    progress.history_done();
    let mut node_cache = cache.map(|cache| {
        let (node_cache, warning) = cache.open(node, tz.name());
        anomalies.extend(warning);
        node_cache
    });
    let mut logs: BTreeMap<usize, TaskLogEvidence> = BTreeMap::new();
    let mut readers = Readers::new();
    for (index, item) in items.iter().enumerate() {
        if item.endtime.is_none() && item.status.is_none() {
            continue; // still running: no result yet
        }
        let cached = node_cache.as_ref();
        if let Some(hit) = cached.and_then(|c| c.get(&item.upid, item.status.as_deref())) {
            logs.insert(index, hit);
            continue;
        }
        progress.add_logs(1);
        let api = api.clone();
        let node = node.to_string();
        let upid = item.upid.clone();
        let options = options.clone();
        let log_reads = log_reads.clone();
        readers.spawn(index, async move {
            // Never closed; without a permit the read would only be less bounded, not wrong.
            let _permit = log_reads.acquire_owned().await.ok();
            (index, read_task_log(&api, &node, &upid, tz, &options).await)
        });
    }
    let mut log_failures = 0usize;
    let mut first_failure: Option<ApiError> = None;
    let joined = readers.join("the vzdump task logs").await;
    let answers = joined.results;
    if let Some(lost) = &joined.gap {
        // A log whose reader was lost is unreadable, not "still running" (the default below).
        for index in joined.lost {
            progress.log_done();
            logs.insert(
                index,
                TaskLogEvidence::Unavailable {
                    reason: format!("log not read: {lost}"),
                },
            );
        }
        anomalies.push(Anomaly::new(
            Severity::Critical,
            &component,
            format!("vzdump task log(s) on node {node} were not read"),
            format!("{lost}; run again"),
        ));
    }
    for (index, result) in answers {
        progress.log_done();
        let evidence = match result {
            Ok(evidence) => evidence,
            Err(err) => {
                log_failures += 1;
                let reason = format!("log not readable: {}", err.kind);
                first_failure.get_or_insert(err);
                TaskLogEvidence::Unavailable { reason }
            }
        };
        logs.insert(index, evidence);
    }
    if let Some(err) = first_failure {
        // An unreadable log hides the per-guest outcome of its run: a verdict, so critical.
        anomalies.push(request_anomaly(
            Severity::Critical,
            &component,
            &format!("{log_failures} vzdump task log(s) on node {node}"),
            &err,
        ));
    }
    if let Some(mut node_cache) = node_cache.take() {
        for (index, item) in items.iter().enumerate() {
            if let Some(evidence) = logs.get(&index) {
                let status = item.status.as_deref();
                node_cache.offer(&item.upid, item.starttime, item.endtime, status, evidence);
            }
        }
        anomalies.extend(node_cache.save(since));
    }
    let tasks: Vec<VzdumpTask> = items
        .into_iter()
        .enumerate()
        .filter_map(|(index, item)| {
            let start = epoch(item.starttime?)?;
            let user = match &item.tokenid {
                Some(token) => format!("{}!{token}", item.user),
                None => item.user.clone(),
            };
            Some(VzdumpTask {
                log: logs.remove(&index).unwrap_or(TaskLogEvidence::Unavailable {
                    reason: "the task is still running".into(),
                }),
                upid: item.upid,
                // The list is this node's, so a task without a node of its own ran here.
                node: item.node.unwrap_or_else(|| node.to_string()),
                start,
                end: item.endtime.and_then(epoch),
                id: item.id.unwrap_or_default(),
                user,
                status: item.status,
            })
        })
        .collect();
    let oldest_seen = tasks.iter().map(|t| t.start).min();
    let history = NodeTaskHistory {
        node: node.to_string(),
        completeness,
        oldest_seen,
        requested_since: since,
        capped,
        tasks,
    };
    (history, anomalies)
}

/// The task list may leave out `starttime` or `node`; the UPID carries both, so they are taken from
/// it (an unparsable UPID leaves them unknown, never invented).
fn fill_from_upid(item: &mut wire::TaskListItem) {
    if item.starttime.is_some() && item.node.is_some() {
        return;
    }
    let Ok(upid) = PveUpid::parse(&item.upid) else {
        return;
    };
    item.starttime.get_or_insert(upid.starttime);
    item.node.get_or_insert(upid.node);
}

async fn read_task_log(
    api: &PveApi,
    node: &str,
    upid: &str,
    tz: Tz,
    options: &CollectOptions,
) -> Result<TaskLogEvidence, ApiError> {
    // Each page is parsed as it arrives and dropped: a log's lines are never all held at once.
    let mut parser = Parser::new(tz);
    let end = api
        .task_log_pages(
            node,
            upid,
            options.log_page_size,
            options.task_log_limit,
            |page| page.lines().for_each(|line| parser.feed(line)),
        )
        .await;
    // A log that broke off part-way could hide the line that says a guest failed: all or nothing.
    if let Some(failure) = end.failure {
        return Err(failure.error);
    }
    Ok(TaskLogEvidence::Parsed {
        log: parser.finish(),
        truncated: end.capped,
    })
}

async fn read_storage_backups(
    api: &PveApi,
    storages: &[Storage],
    nodes: &[String],
    pbs_servers: &[(String, Option<String>)],
    perms: Option<&PermissionMap>,
    anomalies: &mut Vec<Anomaly>,
) -> Observed<StorageBackup> {
    let mut readers = Readers::new();
    let mut partial_reasons = Vec::new();
    let mut unasked = Vec::new();
    for storage in storages.iter().filter(|s| s.enabled && s.holds_backups()) {
        if let Some(target) = &storage.pbs {
            if target
                .find_server(
                    pbs_servers
                        .iter()
                        .map(|(h, pin)| (h.as_str(), pin.as_deref())),
                )
                .is_some()
            {
                continue; // read from PBS directly
            }
        }
        let Some(node) = storage
            .nodes
            .as_ref()
            .and_then(|allowed| allowed.iter().find(|n| nodes.contains(n)).cloned())
            .or_else(|| nodes.first().cloned())
        else {
            // Without a node to ask, the storage's backups are unknown, not absent.
            unasked.push(format!(
                "storage '{}': no node to list its content through (the node list is empty or unknown)",
                storage.id
            ));
            continue;
        };
        let sees_all = {
            let needs = Need::StorageContent.requirement();
            perms.is_some_and(|p| p.has(&needs.acl_path_for(&storage.id), needs.privilege))
        };
        if !sees_all {
            // A read-only PBS token only helps where the archives are on a PBS; a dir/NFS/CIFS
            // storage's archives are seen through PVE or through the vzdump task logs.
            let instead = if storage.pbs.is_some() {
                "configure a read-only PBS token to read PBS evidence directly"
            } else {
                "without it, the vzdump task logs remain the evidence for this storage"
            };
            partial_reasons.push(format!(
                "backups on storage '{}' are listed only with Datastore.Allocate on /storage/{} (or AllocateSpace + VM.Backup per guest); {instead}",
                storage.id, storage.id
            ));
        }
        let api = api.clone();
        let id = storage.id.clone();
        readers.spawn(id.clone(), async move {
            let result = api.storage_backups_listed(&node, &id).await;
            (id, result)
        });
    }
    let mut backups = Vec::new();
    let mut failed = std::mem::take(&mut unasked);
    let joined = readers.join("the storage backup lists").await;
    let answers = joined.results;
    if let Some(lost) = joined.gap {
        // A storage whose reader was lost is a gap in the backup list, named like a failed one.
        let unread = &joined.lost;
        anomalies.push(Anomaly::new(
            Severity::Warning,
            "pve/storage",
            format!(
                "the backups on storage(s) {} were not read",
                unread.join(", ")
            ),
            format!("{lost}; run again"),
        ));
        failed.extend(unread.iter().map(|id| format!("storage '{id}': {lost}")));
    }
    for (id, result) in answers {
        match result {
            Ok(list) => {
                let (items, bad) = kept(
                    list,
                    Severity::Critical,
                    &format!("storage/{id}"),
                    &format!("backups on storage '{id}'"),
                    anomalies,
                );
                failed.extend(bad);
                for item in items {
                    let (Some(vmid), Some(time)) = (item.vmid, item.ctime.and_then(epoch)) else {
                        continue;
                    };
                    let kind = match (&item.subtype, item.format.as_deref()) {
                        (Some(wire::GuestType::Qemu), _) => Some(GuestKind::Qemu),
                        (Some(wire::GuestType::Lxc), _) => Some(GuestKind::Lxc),
                        (_, Some(f))
                            if f.contains("vm") || f.starts_with("vma") || f.contains("qemu") =>
                        {
                            Some(GuestKind::Qemu)
                        }
                        (_, Some(f))
                            if f.contains("ct") || f.starts_with("tar") || f.contains("lxc") =>
                        {
                            Some(GuestKind::Lxc)
                        }
                        _ => None,
                    };
                    backups.push(StorageBackup {
                        storage: id.clone(),
                        kind,
                        vmid,
                        time,
                        size: if item.size_is_placeholder() {
                            None
                        } else {
                            item.size
                        },
                        verification: item
                            .verification
                            .as_ref()
                            .map(|v| v.state.as_str().to_string()),
                        protected: item.protected.unwrap_or(false),
                        encrypted: item.encrypted.as_ref().map(|_| item.is_encrypted()),
                        notes: item.notes.clone().filter(|n| !n.is_empty()),
                        volid: item.volid,
                    });
                }
            }
            Err(err) => {
                anomalies.push(request_anomaly(
                    Severity::Warning,
                    &format!("storage/{id}"),
                    &format!("the backups on storage '{id}'"),
                    &err,
                ));
                failed.push(format!("storage '{id}': {}", err.kind));
            }
        }
    }
    backups.sort();
    partial_reasons.extend(failed);
    partial_reasons.sort();
    if partial_reasons.is_empty() {
        Observed::complete(backups)
    } else {
        Observed::partial(backups, partial_reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// Fleecing images are named `vm-<vmid>-fleece-<n>`, with `.<format>` and the VMID directory
    /// on path-based storages (copies-and-evolution §B3); disks and backups are not them.
    #[test]
    fn fleecing_images_are_told_by_name() {
        assert_eq!(fleecing_image_vmid("local-lvm:vm-100-fleece-0"), Some(100));
        assert_eq!(
            fleecing_image_vmid("local:100/vm-100-fleece-12.qcow2"),
            Some(100)
        );
        for other in [
            "local-lvm:vm-100-disk-0",
            "local:100/vm-100-disk-0.qcow2",
            "local-lvm:vm-100-fleece-",
            "local-lvm:vm-x-fleece-0",
            "local-lvm:base-100-fleece-0",
            "vm-100-fleece-0",
            "pbs1:backup/vm/100/2024-05-24T14:22:44Z",
        ] {
            assert_eq!(fleecing_image_vmid(other), None, "{other}");
        }
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let on = map(&[("enabled", "1"), ("storage", "fast")]);
        assert_eq!(
            fleecing_from_wire(Some(&on)),
            Some(Fleecing {
                storage: Some("fast".into())
            })
        );
        assert_eq!(fleecing_from_wire(Some(&map(&[("storage", "fast")]))), None);
        assert_eq!(fleecing_from_wire(Some(&map(&[("enabled", "0")]))), None);
        assert_eq!(fleecing_from_wire(None), None);
    }

    /// A guest's volume facts from its job's `included_volumes` tree (as pve-api.md §3.7 shows
    /// it) equal those from its config: the same exclusions, reasons and count.
    #[test]
    fn a_tree_describes_the_volumes_as_the_config_does() {
        let facts_of_config = |kind, config: serde_json::Value| {
            let config: wire::GuestConfig = serde_json::from_value(config).unwrap();
            let mut anomalies = Vec::new();
            let facts = config_facts(kind, &config, 100, "/x", &mut anomalies);
            assert!(anomalies.is_empty(), "{anomalies:?}");
            match facts {
                GuestConfigFacts::Read {
                    excluded_volumes,
                    included_volumes,
                    ..
                } => (excluded_volumes, included_volumes),
                GuestConfigFacts::Unknown { reason } => panic!("{reason}"),
            }
        };
        let tree: wire::IncludedVolumes = serde_json::from_value(serde_json::json!({"children": [
            {"id": 100, "type": "qemu", "name": "web", "leaf": 0, "children": [
                {"id": "100:scsi0", "name": "local-lvm:vm-100-disk-0", "included": 1, "reason": "backup=yes", "leaf": 1},
                {"id": "100:scsi1", "name": "local-lvm:vm-100-disk-1", "included": 0, "reason": "backup=no", "leaf": 1},
                {"id": "100:scsi2", "name": "local-lvm:vm-100-disk-2", "included": 1, "reason": "backup=no", "leaf": 1},
                {"id": "100:efidisk0", "name": "local-lvm:vm-100-disk-3", "included": 0, "reason": "efidisk but no OVMF BIOS", "leaf": 1}]},
            {"id": 101, "type": "lxc", "name": "ct", "leaf": 0, "children": [
                {"id": "101:rootfs", "name": "local-lvm:vm-101-disk-0", "included": 1, "reason": "rootfs", "leaf": 1},
                {"id": "101:mp0", "name": "local-lvm:vm-101-disk-1", "included": 0, "reason": "disabled", "leaf": 1},
                {"id": "101:mp1", "name": "/srv/data", "included": 0, "reason": "not a volume", "leaf": 1},
                {"id": "101:mp2", "name": "local-lvm:vm-101-disk-2", "included": 1, "reason": "enabled", "leaf": 1}]},
            {"id": 999, "type": "unknown", "leaf": 1}
        ]}))
        .unwrap();
        let from_tree: BTreeMap<_, _> = tree_facts(&tree).unwrap().into_iter().collect();
        assert_eq!(from_tree.len(), 2, "the unknown guest describes nothing");

        let vm = facts_of_config(
            GuestKind::Qemu,
            serde_json::json!({
                "scsi0": "local-lvm:vm-100-disk-0,size=8G",
                "scsi1": "local-lvm:vm-100-disk-1,backup=0,size=8G",
                "scsi2": "local-lvm:vm-100-disk-2,backup=1,size=8G",
                "efidisk0": "local-lvm:vm-100-disk-3,size=4M",
                "ide2": "none,media=cdrom",
                "unused0": "local-lvm:vm-100-disk-9",
            }),
        );
        let ct = facts_of_config(
            GuestKind::Lxc,
            serde_json::json!({
                "rootfs": "local-lvm:vm-101-disk-0,size=8G",
                "mp0": "local-lvm:vm-101-disk-1,mp=/data",
                "mp1": "/srv/data,mp=/srv",
                "mp2": "local-lvm:vm-101-disk-2,mp=/keep,backup=1",
            }),
        );
        for ((vmid, kind), (excluded, included)) in
            [((100, GuestKind::Qemu), vm), ((101, GuestKind::Lxc), ct)]
        {
            assert_eq!(
                from_tree.get(&(vmid, kind)),
                Some(&GuestConfigFacts::Read {
                    notes: None,
                    notes_read: false,
                    excluded_volumes: excluded,
                    included_volumes: included,
                }),
                "guest {vmid}"
            );
        }
    }

    /// A volume whose `included` is missing makes the whole tree unusable: guessing could call a
    /// disk included.
    #[test]
    fn a_tree_with_an_unreadable_inclusion_is_not_used() {
        let tree: wire::IncludedVolumes = serde_json::from_value(serde_json::json!({"children": [
            {"id": 100, "type": "qemu", "children": [
                {"id": "100:scsi0", "name": "a", "included": 1},
                {"id": "100:scsi1", "name": "b", "included": null}]}
        ]}))
        .unwrap();
        assert!(tree_facts(&tree).is_err());
        let missing =
            serde_json::from_value::<wire::IncludedVolumes>(serde_json::json!({"children": [
                {"id": 100, "type": "qemu", "children": [{"id": "100:scsi0", "name": "a"}]}
            ]}));
        assert!(missing.is_err(), "{missing:?}");
    }

    /// The schedule each PVE version's shape of the same legacy job turns into.
    #[test]
    fn a_legacy_job_gets_its_schedule_from_every_version_shape() {
        let schedule_of = |value: serde_json::Value| {
            let job: wire::BackupJob = serde_json::from_value(value).unwrap();
            let mut anomalies = Vec::new();
            let job = job_from_wire(job, &mut anomalies);
            assert!(anomalies.is_empty(), "{anomalies:?}");
            job.schedule
        };
        // PVE ≤ 7.0: starttime/dow only.
        let old = schedule_of(serde_json::json!({"id": "c:1", "starttime": "02:30",
            "dow": "sat,sun", "all": 1}));
        // PVE 7.1 – 9.1.7: the converted schedule next to starttime/dow.
        let both = schedule_of(serde_json::json!({"id": "c:1", "schedule": "sat,sun 02:30",
            "starttime": "02:30", "dow": "sat,sun", "all": 1}));
        // PVE ≥ 9.1.8: schedule only.
        let new = schedule_of(serde_json::json!({"id": "c:1", "schedule": "sat,sun 02:30",
            "all": 1}));
        assert_eq!(both.as_deref(), Some("sat,sun 02:30"));
        assert_eq!(new, both);
        assert_eq!(old, schedule_from_legacy("02:30", Some("sat,sun")).ok());
        assert!(old.is_some());
    }

    #[test]
    fn a_task_without_start_or_node_takes_them_from_its_upid() {
        let mut item: wire::TaskListItem = serde_json::from_value(serde_json::json!({
            "upid": "UPID:pve2:000A1B2C:0098A1B2:65A0C3D4:vzdump:101:root@pam:",
            "pid": 1, "pstart": 1, "type": "vzdump", "user": "root@pam"
        }))
        .unwrap();
        fill_from_upid(&mut item);
        assert_eq!(item.starttime, Some(0x65A0_C3D4));
        assert_eq!(item.node.as_deref(), Some("pve2"));

        item.upid = "garbled".into();
        item.starttime = None;
        fill_from_upid(&mut item);
        assert_eq!(item.starttime, None);
    }

    #[test]
    fn pool_query_form_depends_on_the_version() {
        assert_eq!(supports_pool_query(Some("8.1.0")), Some(true));
        assert_eq!(supports_pool_query(Some("9.2.11")), Some(true));
        assert_eq!(supports_pool_query(Some("8.0.4")), Some(false));
        assert_eq!(supports_pool_query(Some("7.4-3")), Some(false));
        assert_eq!(supports_pool_query(Some("garbled")), None);
        assert_eq!(supports_pool_query(None), None);
    }
}
