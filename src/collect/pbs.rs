//! The PBS collector: version, privileges, datastores, usage and GC, namespaces (walked fully),
//! snapshots per namespace, and verify / prune / sync jobs with their last results.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::{
    answer, epoch, kept, request_anomaly, unavailable, with_partial, CollectOptions, Failed,
    Progress, Readers,
};
use crate::api::pbs::PbsApi;
use crate::api::pbs_types as wire;
use crate::api::source::Source;
use crate::model::permissions::Need;
use crate::model::{
    maintenance_type, Anomaly, BackupType, Completeness, Datastore, DatastoreUsage, GcStatus,
    Observed, PbsInventory, PbsJob, PbsRead, PermissionMap, Severity, Snapshot, VerifyState,
};
use crate::tasklog::ReaderId;

/// Collect one PBS server; `since` starts the window of its reader tasks.
pub async fn collect_pbs(
    source: &Source,
    since: DateTime<Utc>,
    options: &CollectOptions,
    progress: &Progress,
) -> (PbsInventory, Vec<Anomaly>) {
    let server = source.server();
    let name = server.name.clone();
    let mut anomalies = Vec::new();
    let component = format!("pbs/{name}");
    let api = PbsApi::new(source.clone());
    let (version, permissions, stores, usage, verify, prune, sync) = tokio::join!(
        api.version(),
        api.permissions(),
        api.datastores_listed(),
        api.datastore_usage_listed(),
        api.verify_jobs_listed(),
        api.prune_jobs_listed(),
        api.copy_jobs_listed(),
    );
    let version = answer(
        version,
        Failed::new(Severity::Warning, &component, "the PBS version"),
        &mut anomalies,
    )
    .map(|v| format!("{}.{}", v.version, v.release));
    let perms = answer(
        permissions,
        Failed::new(Severity::Warning, &component, "the token's own privileges"),
        &mut anomalies,
    )
    .map(PermissionMap::from_wire);
    let audit = |path: &str| -> Completeness {
        match &perms {
            Some(p) if p.has_everywhere_below(path, Need::PbsSnapshots.requirement().privilege) => {
                Completeness::Complete
            }
            Some(p) if p.has(path, "Datastore.Backup") => Completeness::Partial {
                reason: format!("with Datastore.Backup but no Datastore.Audit on {path}, PBS silently lists only the groups this token owns"),
            },
            Some(_) => Completeness::Partial {
                reason: format!("without Datastore.Audit on {path} the list may be silently shortened; grant the Audit role on /"),
            },
            None => Completeness::Partial { reason: "the token's privileges could not be read".into() },
        }
    };

    // Usage is a nicety (no verdict rests on it): a malformed entry is a warning, and its
    // datastore is shown without numbers.
    let mut usage_by_store: BTreeMap<String, wire::DatastoreUsage> = answer(
        usage,
        Failed::new(Severity::Warning, &component, "datastore usage"),
        &mut anomalies,
    )
    .map(|list| {
        kept(
            list,
            Severity::Warning,
            &component,
            "datastore usage entries",
            &mut anomalies,
        )
        .0
    })
    .unwrap_or_default()
    .into_iter()
    .map(|item| (item.store.clone(), item))
    .collect();

    let datastores = match stores {
        Ok(list) => {
            // A dropped datastore hides its snapshots: archive evidence rests on the list.
            let (list, bad) = kept(
                list,
                Severity::Critical,
                &component,
                "datastores",
                &mut anomalies,
            );
            let mut readers = Readers::new();
            for store in list {
                let api = api.clone();
                let usage = usage_by_store.remove(&store.store);
                let completeness_root = audit(&format!("/datastore/{}", store.store));
                let perms = perms.clone();
                let component = format!("pbs/{name}/{}", store.store);
                let progress = progress.clone();
                readers.spawn(store.store.clone(), async move {
                    read_datastore(
                        &api,
                        store,
                        usage,
                        completeness_root,
                        perms,
                        &component,
                        &progress,
                    )
                    .await
                });
            }
            let mut datastores = Vec::new();
            let joined = readers.join("the datastores").await;
            for (datastore, mut found) in joined.results {
                anomalies.append(&mut found);
                datastores.push(datastore);
            }
            // A datastore whose reader was lost is left out: the list says it may be short.
            for store in &joined.lost {
                anomalies.push(Anomaly::new(
                    Severity::Critical,
                    format!("{component}/{store}"),
                    format!("datastore {store} was not read"),
                    format!("{}; run again", joined.gap.as_deref().unwrap_or_default()),
                ));
            }
            datastores.sort_by(|a, b| a.name.cmp(&b.name));
            let needs = Need::PbsDatastores.requirement();
            let visible = match &perms {
                Some(p) if p.has_everywhere_below(needs.acl_path, needs.privilege) => {
                    Completeness::Complete
                }
                _ => Completeness::Partial {
                    reason: needs.effect.to_string(),
                },
            };
            if let Completeness::Partial { reason } = &visible {
                // A shortened list must not look complete: say so once.
                anomalies.push(Anomaly::new(
                    Severity::Warning,
                    &component,
                    "the datastore list may be incomplete",
                    format!("{reason}. Check with --check-api"),
                ));
            }
            Observed {
                items: datastores,
                completeness: with_partial(with_partial(visible, bad), joined.gap),
            }
        }
        Err(err) => unavailable(
            err,
            Failed::new(Severity::Critical, &component, "the datastore list"),
            |err| format!("{} failed: {}", err.endpoint, err.kind),
            &mut anomalies,
        ),
    };

    let job_list = |result: Result<(Vec<PbsJob>, Option<String>), crate::api::ApiError>,
                    what: &str,
                    anomalies: &mut Vec<Anomaly>| match result {
        Ok((mut jobs, bad)) => {
            jobs.sort_by(|a, b| a.id.cmp(&b.id));
            let visible = match &perms {
                Some(p) if has_everywhere(p, Need::PbsJobs) => Completeness::Complete,
                _ => Completeness::Partial {
                    reason: format!(
                        "{what} on datastores without Datastore.Audit are silently left out"
                    ),
                },
            };
            Observed {
                items: jobs,
                completeness: with_partial(visible, bad),
            }
        }
        Err(err) => unavailable(
            err,
            Failed::new(Severity::Warning, &component, what),
            |err| format!("{what} could not be read: {}", err.kind),
            anomalies,
        ),
    };
    let verify_jobs = job_list(
        verify.map(|list| {
            let (jobs, bad) = kept(
                list,
                Severity::Warning,
                &component,
                "verify jobs",
                &mut anomalies,
            );
            let jobs = jobs
                .into_iter()
                .map(|j| {
                    job(
                        j.id, j.store, j.ns, j.schedule, false, &j.status, None, j.comment,
                    )
                })
                .collect();
            (jobs, bad)
        }),
        "verify jobs",
        &mut anomalies,
    );
    let prune_jobs = job_list(
        prune.map(|list| {
            let (jobs, bad) = kept(
                list,
                Severity::Warning,
                &component,
                "prune jobs",
                &mut anomalies,
            );
            let jobs = jobs
                .into_iter()
                .map(|j| {
                    job(
                        j.id,
                        j.store,
                        j.ns,
                        j.schedule,
                        j.disable.unwrap_or(false),
                        &j.status,
                        None,
                        j.comment,
                    )
                })
                .collect();
            (jobs, bad)
        }),
        "prune jobs",
        &mut anomalies,
    );
    let mut sync_wire: Vec<wire::SyncJobStatus> = Vec::new();
    let sync_failed = sync.as_ref().err().map(|err| err.kind.to_string());
    let sync_jobs = job_list(
        sync.map(|list| {
            let (jobs, bad) = kept(
                list,
                Severity::Warning,
                &component,
                "sync jobs",
                &mut anomalies,
            );
            sync_wire = jobs.clone();
            let jobs = jobs
                .into_iter()
                .map(|j| {
                    job(
                        j.id, j.store, j.ns, j.schedule, false, &j.status, j.remote, j.comment,
                    )
                })
                .collect();
            (jobs, bad)
        }),
        "sync jobs",
        &mut anomalies,
    );
    let copies = super::offsite::read_copies(
        &api,
        perms.as_ref(),
        sync_wire,
        &sync_jobs.completeness,
        sync_failed,
        &component,
        &mut anomalies,
    )
    .await;

    for store in &datastores.items {
        if let Completeness::Partial { reason } = &store.snapshots.completeness {
            anomalies.push(Anomaly::new(
                Severity::Warning,
                format!("{component}/{}", store.name),
                format!(
                    "the snapshot list of datastore {} may be incomplete",
                    store.name
                ),
                format!("{reason}. Archives missing from it are not reported as missing"),
            ));
        }
    }
    let reads = read_reads(
        &api,
        since,
        options,
        perms.as_ref(),
        &component,
        &mut anomalies,
    )
    .await;
    let inventory = PbsInventory {
        reads,
        name,
        host: server.host,
        fingerprint: server.fingerprint,
        version,
        datastores,
        verify_jobs,
        prune_jobs,
        sync_jobs,
        copies,
    };
    (inventory, anomalies)
}

/// The `reader` tasks of the window: which snapshots were opened for reading, by a restore, a
/// client download or a remote's pull sync alike. Shown only, so a failure is a warning.
async fn read_reads(
    api: &PbsApi,
    since: DateTime<Utc>,
    options: &CollectOptions,
    perms: Option<&PermissionMap>,
    component: &str,
    anomalies: &mut Vec<Anomaly>,
) -> Observed<PbsRead> {
    let paged = api
        .reader_tasks(
            since.timestamp(),
            options.task_page_size,
            options.task_history_limit,
        )
        .await;
    let (items, bad) = kept(
        paged.items,
        Severity::Warning,
        component,
        "reader tasks",
        anomalies,
    );
    // Readers run as the PVE storage's user: without Sys.Audit on /system/tasks they vanish.
    let mut completeness = match perms {
        Some(p) if has_everywhere(p, Need::PbsTaskHistory) => Completeness::Complete,
        Some(_) => Completeness::Partial {
            reason:
                "without Sys.Audit on /system/tasks only the token's own reader tasks are listed"
                    .into(),
        },
        None => Completeness::Partial {
            reason: "the token's privileges could not be read".into(),
        },
    };
    completeness = with_partial(completeness, bad);
    if let Some(failure) = paged.failure {
        anomalies.push(request_anomaly(
            Severity::Warning,
            component,
            "the reader tasks",
            &failure.error,
        ));
        completeness = with_partial(
            completeness,
            Some(format!(
                "the reader task list failed at item {}: {}",
                failure.start, failure.error.kind
            )),
        );
    }
    if paged.capped {
        completeness = with_partial(
            completeness,
            Some("the reader task list was cut at PVE_TASK_HISTORY_LIMIT".into()),
        );
    }
    let mut reads: Vec<PbsRead> = items
        .into_iter()
        .filter(|t| t.worker_type == "reader")
        .filter_map(|t| {
            let id = ReaderId::parse(t.worker_id.as_deref()?)?;
            Some(PbsRead {
                backup_type: BackupType::parse(&id.backup_type),
                snapshot_time: epoch(id.backup_time)?,
                time: epoch(t.starttime)?,
                store: id.store,
                backup_id: id.backup_id,
                upid: t.upid,
                user: t.user,
                status: t.status,
            })
        })
        .collect();
    reads.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.upid.cmp(&b.upid)));
    Observed {
        items: reads,
        completeness,
    }
}

/// Sort into the model's order (`Snapshot`'s `Ord`), its leading fields compared first and the
/// namespace by its shared copy where it can be: 130 000 snapshots take two million comparisons
/// (docs/performance.md). Unstable is the same order: equal snapshots are equal in every field.
fn sort_snapshots(snapshots: &mut [Snapshot]) {
    snapshots.sort_unstable_by(|a, b| {
        let namespace = if Arc::ptr_eq(&a.namespace, &b.namespace) {
            std::cmp::Ordering::Equal
        } else {
            a.namespace.cmp(&b.namespace)
        };
        namespace
            .then_with(|| a.backup_type.cmp(&b.backup_type))
            .then_with(|| a.backup_id.cmp(&b.backup_id))
            .then_with(|| a.time.cmp(&b.time))
            .then_with(|| a.cmp(b))
    });
}

fn has_everywhere(perms: &PermissionMap, need: Need) -> bool {
    let needs = need.requirement();
    perms.has_everywhere_below(needs.acl_path, needs.privilege)
}

#[allow(clippy::too_many_arguments)]
fn job(
    id: String,
    store: String,
    ns: Option<String>,
    schedule: Option<String>,
    disabled: bool,
    status: &wire::JobScheduleStatus,
    remote: Option<String>,
    comment: Option<String>,
) -> PbsJob {
    PbsJob {
        id,
        store,
        namespace: ns.filter(|n| !n.is_empty()),
        schedule,
        disabled,
        last_run_state: status.last_run_state.clone(),
        last_run_end: status.last_run_endtime.and_then(epoch),
        next_run: status.next_run.and_then(epoch),
        remote,
        comment: comment.filter(|c| !c.is_empty()),
    }
}

async fn read_datastore(
    api: &PbsApi,
    store: wire::DatastoreListItem,
    usage: Option<wire::DatastoreUsage>,
    root_completeness: Completeness,
    perms: Option<PermissionMap>,
    component: &str,
    progress: &Progress,
) -> (Datastore, Vec<Anomaly>) {
    let mut anomalies = Vec::new();
    let name = store.store.clone();
    let (namespaces, gc) = tokio::join!(api.namespaces_listed(&name), api.gc(&name));
    let namespaces: Observed<String> = match namespaces {
        Ok(list) => {
            let (items, bad) = kept(
                list,
                Severity::Critical,
                component,
                &format!("namespaces of {component}"),
                &mut anomalies,
            );
            let mut list: Vec<String> = items.into_iter().map(|n| n.ns).collect();
            if !list.iter().any(String::is_empty) {
                list.push(String::new());
            }
            list.sort();
            list.dedup();
            Observed {
                items: list,
                completeness: with_partial(root_completeness.clone(), bad),
            }
        }
        Err(err) if err.status() == Some(403) => unavailable(
            err,
            Failed::new(Severity::Critical, component, "the namespaces"),
            |err| format!("namespaces not readable: {}", err.kind),
            &mut anomalies,
        ),
        Err(err) => {
            // PBS before 2.2 has no namespaces: the root is all there is.
            anomalies.push(request_anomaly(
                Severity::Info,
                component,
                "the namespace list (reading the root namespace only)",
                &err,
            ));
            Observed::partial(
                vec![String::new()],
                format!(
                    "namespace list failed ({}); only the root namespace was read",
                    err.short()
                ),
            )
        }
    };
    let gc = answer(
        gc,
        Failed::new(
            Severity::Warning,
            component,
            "the garbage collection status",
        ),
        &mut anomalies,
    )
    .map(|status| GcStatus {
        schedule: status.schedule,
        last_run_state: status.last_run_state,
        last_run_end: status.last_run_endtime.and_then(epoch),
        next_run: status.next_run.and_then(epoch),
        removed_bytes: status.removed_bytes,
        pending_bytes: status.pending_bytes,
    });

    let mut snapshots = Vec::new();
    let mut reasons: Vec<String> = namespaces
        .completeness
        .reason()
        .map(str::to_string)
        .into_iter()
        .collect();
    // One namespace at a time: a namespace's answer (116 596 snapshots, 72 MB in the issue's
    // cluster) is decoded as it arrives, never held whole, and the next one is asked for after.
    for ns in &namespaces.items {
        let namespace: Arc<str> = Arc::from(ns.as_str());
        // A group's owner is repeated on each of its snapshots: keep one copy while it repeats.
        let mut owner: Option<Arc<str>> = None;
        let result = api
            .snapshots_mapped(&name, ns, move |item| {
                snapshot_from_wire(&namespace, &mut owner, item)
            })
            .await;
        match result {
            Ok(list) => {
                let place = if ns.is_empty() {
                    component.to_string()
                } else {
                    format!("{component} namespace '{ns}'")
                };
                let (items, bad) = kept(
                    list,
                    Severity::Critical,
                    component,
                    &format!("snapshots of {place}"),
                    &mut anomalies,
                );
                reasons.extend(bad);
                if let Some(perms) = &perms {
                    let path = if ns.is_empty() {
                        format!("/datastore/{name}")
                    } else {
                        format!("/datastore/{name}/{ns}")
                    };
                    if !perms.has_everywhere_below(&path, "Datastore.Audit")
                        && !perms.has(&path, "Datastore.Audit")
                    {
                        reasons.push(format!("snapshots in {path} may be limited to the token's own groups (no Datastore.Audit)"));
                    }
                }
                progress.add_snapshots(items.len());
                // The list of one namespace comes sized exactly; appending the next would grow
                // it by doubling, holding up to as much again as spare room until the run ends.
                if snapshots.is_empty() {
                    snapshots = items;
                } else {
                    snapshots.reserve_exact(items.len());
                    snapshots.extend(items);
                }
            }
            Err(err) => {
                anomalies.push(request_anomaly(
                    Severity::Critical,
                    component,
                    &format!(
                        "the snapshots of namespace '{}'",
                        if ns.is_empty() { "(root)" } else { ns }
                    ),
                    &err,
                ));
                reasons.push(format!("namespace '{ns}': {}", err.kind));
            }
        }
    }
    sort_snapshots(&mut snapshots);
    // The model lives until the report is written; spare capacity would too.
    snapshots.shrink_to_fit();
    reasons.sort();
    reasons.dedup();
    let snapshots = if reasons.is_empty() {
        Observed::complete(snapshots)
    } else {
        Observed::partial(snapshots, reasons.join("; "))
    };

    let usage = usage.map(|u| {
        let estimated = u.estimated_full();
        DatastoreUsage {
            total: u.total_bytes(),
            used: u.used_bytes(),
            avail: u.avail_bytes(),
            estimated_full: match estimated {
                Some(wire::EstimatedFull::At(at)) => epoch(at),
                _ => None,
            },
            never_full: matches!(estimated, Some(wire::EstimatedFull::Never)),
            error: u.error.clone(),
        }
    });
    let datastore = Datastore {
        name,
        comment: store.comment.filter(|c| !c.is_empty()),
        maintenance: store.maintenance.as_deref().and_then(maintenance_type),
        unmounted: store.mount_status == Some(wire::MountStatus::NotMounted),
        s3: store.backend_type == Some(wire::BackendType::S3),
        usage,
        gc,
        namespaces,
        snapshots,
    };
    (datastore, anomalies)
}

fn snapshot_from_wire(
    ns: &Arc<str>,
    last_owner: &mut Option<Arc<str>>,
    item: wire::SnapshotSummary,
) -> Option<Snapshot> {
    let encrypted = item.encrypted();
    Some(Snapshot {
        namespace: ns.clone(),
        backup_type: BackupType::parse(item.backup_type.as_str()),
        time: epoch(item.backup_time)?,
        size: item.size,
        verification: item.verification.as_ref().map(|v| match &v.state {
            wire::VerifyState::Ok => VerifyState::Ok,
            wire::VerifyState::Failed => VerifyState::Failed,
            other => VerifyState::Other(other.as_str().to_string()),
        }),
        verified_at: item
            .verification
            .as_ref()
            .and_then(|v| v.upid.as_deref())
            .and_then(crate::upid::pbs_start)
            .and_then(epoch),
        protected: item.protected.unwrap_or(false),
        encrypted,
        owner: item.owner.map(|owner| match last_owner {
            Some(shared) if **shared == *owner => Arc::clone(shared),
            _ => last_owner.insert(Arc::from(owner)).clone(),
        }),
        comment: item
            .comment
            .filter(|c| !c.is_empty())
            .map(CompactString::from),
        backup_id: item.backup_id.into(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::BackupType;

    /// The quick comparison gives exactly `Ord`'s order, with namespaces shared or in separate
    /// copies, and snapshots that differ only in their last fields.
    #[test]
    fn snapshots_sort_in_the_models_order() {
        let root: Arc<str> = Arc::from("");
        let (ns, ns_copy): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("a"));
        let namespaces = [root, ns, ns_copy, Arc::from("b")];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |modulo: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % modulo
        };
        let mut snapshots: Vec<Snapshot> = (0..2000)
            .map(|_| Snapshot {
                namespace: namespaces[next(4) as usize].clone(),
                backup_type: [BackupType::Vm, BackupType::Ct][next(2) as usize].clone(),
                backup_id: CompactString::from(["100", "1000", "99", "101"][next(4) as usize]),
                time: DateTime::from_timestamp(1_700_000_000 + 3600 * next(3) as i64, 0).unwrap(),
                size: [None, Some(1), Some(2)][next(3) as usize],
                verification: [None, Some(VerifyState::Ok), Some(VerifyState::Failed)]
                    [next(3) as usize]
                    .clone(),
                verified_at: None,
                protected: next(2) == 0,
                encrypted: None,
                owner: None,
                comment: [None, Some(CompactString::from("x"))][next(2) as usize].clone(),
            })
            .collect();
        let mut expected = snapshots.clone();
        expected.sort();
        sort_snapshots(&mut snapshots);
        assert_eq!(snapshots, expected);
    }
}
