//! The coverage and evidence engine: the one place where verdicts are decided. Pure functions: no
//! I/O, no clock — `now` comes in as an argument.
//!
//! [`assess`] resolves every job's selection like vzdump ([`selection`]), extracts per-guest runs
//! from the parsed task logs and attributes tasks to jobs ([`runs`]), matches guests to PBS
//! snapshots or PVE storage content ([`evidence`]), decides freshness against each job's schedule
//! in the node's time zone ([`freshness`]), applies exemptions ([`exemptions`]), cross-checks
//! PVE's own not-backed-up list ([`crosscheck`]) and counts ([`summary`]). The rules are defined
//! in docs/coverage-model.md. Unknown is not zero: an incomplete list never turns into a negative
//! verdict by absence.

mod crosscheck;
pub mod drift;
mod evidence;
mod exemptions;
mod freshness;
mod index;
mod jobs;
mod offsite;
pub(crate) mod policy;
pub mod report;
mod runs;
mod schedule_memo;
mod selection;
pub(crate) mod summary;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::model::{
    Anomaly, Completeness, Guest, Inventory, PbsInventory, Pool, PveInventory, Selection, Severity,
    Vmid,
};

pub use policy::{ConfigExemption, Policy, PolicyError};
pub use report::Report;

use evidence::guest_archives;
use exemptions::exemption_for;
use freshness::{assess_freshness, FreshnessInput, NodeFacts, ScheduledJob};
use index::Index;
use jobs::{job_report, parse_schedule, JobCtx};
use report::{AttemptStatus, BackupEvent, GuestFlag, GuestReport, JobNodeRun, SCHEMA_VERSION};
use runs::{collect_runs, job_task_starts, RunRecord, RunStatus, TakenRuns, TaskSpan};
use schedule_memo::ScheduleMemo;
use selection::{decide, membership, resolve, storage_is_pbs, JobAnswer, Membership, Resolved};

/// Assess an inventory: every verdict, reason, evidence item and anomaly, as a [`Report`].
/// Deterministic: the same inventory, policy and `now` always give the same report.
pub fn assess(inventory: &Inventory, policy: &Policy, now: DateTime<Utc>) -> Report {
    assess_with(inventory, policy, now, Runs::Kept, Vec::new())
}

/// [`assess`] for a caller done with the inventory: the same report, but the parsed vzdump
/// runs are taken out of the inventory's logs first, so each guest's runs are freed as its
/// report events are made instead of living on beside them (the run's memory peak, issue #10).
pub fn assess_owned(mut inventory: Inventory, policy: &Policy, now: DateTime<Utc>) -> Report {
    let taken: Vec<TakenRuns> = inventory.pve.iter_mut().map(TakenRuns::take).collect();
    assess_with(&inventory, policy, now, Runs::Kept, taken)
}

/// [`assess`] for a caller that wants only the verdicts (which guests' notes to read): the same
/// report, but every guest's `runs` is left empty as soon as the guest is judged. On 5 000 guests
/// that list is ~70 000 owned run copies, held while collection is still running (issue #10).
pub(crate) fn assess_verdicts(
    inventory: &Inventory,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Report {
    assess_with(inventory, policy, now, Runs::Dropped, Vec::new())
}

/// Whether [`assess_with`] keeps each guest's list of runs. Nothing after a guest's own
/// judgement reads that list back into a verdict, so dropping it changes no verdict.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Runs {
    Kept,
    Dropped,
}

/// One cluster's view of the inventory: its PVE side (None when no cluster is configured) and
/// every PBS. The engine judges each cluster on its own; PBS servers are shared by all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// The cluster.
    pub(crate) pve: Option<&'a PveInventory>,
    /// Every configured PBS, in the inventory's order.
    pub(crate) pbs: &'a [PbsInventory],
}

/// `taken`: per cluster (in `inventory.pve` order), the runs taken out of its logs, or empty
/// to read them from the logs.
fn assess_with(
    inventory: &Inventory,
    policy: &Policy,
    now: DateTime<Utc>,
    runs_kept: Runs,
    taken: Vec<TakenRuns>,
) -> Report {
    let mut anomalies: Vec<Anomaly> = inventory.anomalies.clone();
    let (copy_routes, route_anomalies) = offsite::routes(inventory);
    anomalies.extend(route_anomalies);
    let mut copy_tally = vec![offsite::GroupTally::default(); copy_routes.len()];
    let scopes: Vec<Scope<'_>> = if inventory.pve.is_empty() {
        vec![Scope {
            pve: None,
            pbs: &inventory.pbs,
        }]
    } else {
        inventory
            .pve
            .iter()
            .map(|pve| Scope {
                pve: Some(pve),
                pbs: &inventory.pbs,
            })
            .collect()
    };
    let several = scopes.len() > 1;
    let mut guests = Vec::new();
    let mut jobs = Vec::new();
    let mut clusters = Vec::new();
    let mut parts = Vec::new();
    let mut taken = taken.into_iter();
    for scope in &scopes {
        let mut part = assess_cluster(
            *scope,
            policy,
            now,
            runs_kept,
            taken.next(),
            &copy_routes,
            &mut copy_tally,
        );
        let name = scope.pve.map(|pve| pve.name.clone()).unwrap_or_default();
        if several {
            part.anomalies = part
                .anomalies
                .into_iter()
                .map(|a| a.of_cluster(&name))
                .collect();
        }
        if let Some(pve) = scope.pve {
            let own = own_anomalies(&part.anomalies, &inventory.anomalies, &name, several);
            clusters.push(report::ClusterReport {
                name: name.clone(),
                host: crate::api::server::host_of(&pve.host).to_string(),
                version: pve.version.clone(),
                summary: summary::summarize(&part.guests, &own),
            });
        }
        anomalies.append(&mut part.anomalies);
        // Moved, not copied: 5 000 guest reports are megabytes, and `part` lives on below.
        concat(&mut guests, std::mem::take(&mut part.guests));
        concat(&mut jobs, std::mem::take(&mut part.jobs));
        parts.push((name, part));
    }
    if several {
        guests.sort_by(|a: &GuestReport, b: &GuestReport| {
            (&a.cluster, a.vmid).cmp(&(&b.cluster, b.vmid))
        });
        jobs.sort_by(|a: &report::JobReport, b: &report::JobReport| {
            (&a.cluster, &a.id).cmp(&(&b.cluster, &b.id))
        });
        let places: Vec<(String, Places)> = parts
            .iter()
            .map(|(name, part)| (name.clone(), part.places.clone()))
            .collect();
        anomalies.extend(shared_places(&places));
    }
    let orphans = merge_orphans(parts.into_iter().map(|(_, part)| part).collect());
    let (servers, server_anomalies) = summary::servers(inventory);
    anomalies.extend(server_anomalies);
    anomalies.sort();
    anomalies.dedup();
    let summary = summary::summarize(&guests, &anomalies);
    Report {
        schema_version: SCHEMA_VERSION,
        generated_at: now,
        clusters,
        servers,
        summary,
        guests,
        jobs,
        datastores: summary::datastores(inventory),
        evidence: summary::evidence(inventory),
        orphans,
        copy_jobs: offsite::copy_job_reports(inventory, &copy_routes, &copy_tally),
        anomalies,
    }
}

/// A cluster's own anomalies, for its counts: those its assessment found, and those its
/// collection found: named after it in a run over several clusters, else every one that is not
/// about a PBS server (PBS servers serve every cluster).
fn own_anomalies(
    assessed: &[Anomaly],
    collected: &[Anomaly],
    cluster: &str,
    several: bool,
) -> Vec<Anomaly> {
    let prefix = format!("{cluster}/");
    let mut own: Vec<Anomaly> = assessed.to_vec();
    own.extend(
        collected
            .iter()
            .filter(|a| {
                if several {
                    a.component.starts_with(&prefix)
                } else {
                    !a.is_about_pbs()
                }
            })
            .cloned(),
    );
    own.sort();
    own.dedup();
    own
}

/// PBS places (server name, datastore, namespace) a cluster's storages write to.
type Places = BTreeSet<(String, String, String)>;

/// `all` followed by `more`; the first list is taken over whole, not copied.
fn concat<T>(all: &mut Vec<T>, more: Vec<T>) {
    if all.is_empty() {
        *all = more;
    } else {
        all.extend(more);
    }
}

/// What one cluster's assessment adds to the report.
struct ClusterPart {
    guests: Vec<GuestReport>,
    jobs: Vec<report::JobReport>,
    anomalies: Vec<Anomaly>,
    /// Snapshot groups at the cluster's places whose VMID is none of its guests.
    orphans: Vec<report::OrphanSnapshot>,
    /// Where the cluster's storages write.
    places: Places,
    /// The cluster's VMIDs; None when its guest list is incomplete.
    vmids: Option<BTreeSet<Vmid>>,
}

/// Two clusters that write into the same PBS namespace: PBS keys groups by type and VMID only, so
/// the clusters' guests with the same VMID share one backup group and each other's snapshots.
fn shared_places(parts: &[(String, Places)]) -> Vec<Anomaly> {
    let mut writers: BTreeMap<&(String, String, String), Vec<&str>> = BTreeMap::new();
    for (cluster, places) in parts {
        for place in places {
            writers.entry(place).or_default().push(cluster);
        }
    }
    writers
        .into_iter()
        .filter(|(_, clusters)| clusters.len() > 1)
        .map(|((server, datastore, namespace), clusters)| {
            let place = if namespace.is_empty() {
                format!("{server}:{datastore} (root namespace)")
            } else {
                format!("{server}:{datastore} namespace {namespace}")
            };
            Anomaly::new(
                Severity::Warning,
                format!("pbs/{server}/{datastore}"),
                format!(
                    "clusters {} back up into the same place, {place}",
                    clusters.join(" and ")
                ),
                "PBS names a backup group by type and VMID only, so guests with the same VMID in \
                 these clusters share one group: each one's snapshots can pass for the other's \
                 and pruning removes both. Give each cluster its own namespace (the storage's \
                 `namespace` option in Datacenter → Storage)",
            )
        })
        .collect()
}

/// Snapshot groups that look orphaned to one cluster may belong to another that writes to the
/// same place: a group stays an orphan only if no other cluster writing there has (or may have,
/// its guest list being incomplete) a guest with that VMID.
fn merge_orphans(parts: Vec<ClusterPart>) -> Vec<report::OrphanSnapshot> {
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        for orphan in &part.orphans {
            let place = (
                orphan.server.clone(),
                orphan.datastore.clone(),
                orphan.namespace.clone(),
            );
            let vmid = orphan.backup_id.parse::<Vmid>().ok();
            let claimed = parts.iter().enumerate().any(|(j, other)| {
                j != i
                    && other.places.contains(&place)
                    && other
                        .vmids
                        .as_ref()
                        .is_none_or(|vmids| vmid.is_none_or(|v| vmids.contains(&v)))
            });
            if !claimed {
                out.push(orphan.clone());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn assess_cluster(
    scope: Scope<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
    runs_kept: Runs,
    taken: Option<TakenRuns>,
    copy_routes: &[offsite::Route<'_>],
    copy_tally: &mut [offsite::GroupTally],
) -> ClusterPart {
    let index = Index::build(scope);
    let mut anomalies: Vec<Anomaly> = index.anomalies.clone();

    let no_pve = Completeness::Unavailable {
        reason: "no PVE cluster configured".to_string(),
    };
    let (job_list, jobs_completeness, pools, pools_completeness): (
        Vec<_>,
        &Completeness,
        &[Pool],
        &Completeness,
    ) = match scope.pve {
        Some(pve) => (
            pve.jobs.items.iter().collect(),
            &pve.jobs.completeness,
            &pve.pools.items,
            &pve.pools.completeness,
        ),
        None => (Vec::new(), &no_pve, &[], &no_pve),
    };

    // Jobs, sorted by id.
    let mut job_ctxs: Vec<JobCtx<'_>> = Vec::new();
    for job in job_list {
        let (event, schedule_error, schedule_anomalies) = parse_schedule(job);
        anomalies.extend(schedule_anomalies);
        let (resolved, selection_anomalies) = resolve(job, pools, pools_completeness, &index);
        anomalies.extend(selection_anomalies);
        if let Resolved::PoolUnknown { reason, .. } = &resolved {
            anomalies.push(Anomaly::new(
                Severity::Warning,
                format!("job/{}", job.id),
                format!(
                    "the guests job {} selects cannot be fully determined",
                    job.id
                ),
                format!(
                    "{reason}; guests without a visible pool are indeterminate unless another \
                     enabled job covers them"
                ),
            ));
        }
        if let Some(storage) = &job.storage {
            if index.storages_complete && !index.storages.contains_key(storage.as_str()) {
                anomalies.push(Anomaly::new(
                    Severity::Warning,
                    format!("job/{}", job.id),
                    format!(
                        "job {} writes to storage '{storage}', which does not exist",
                        job.id
                    ),
                    "every run fails; choose an existing storage in Datacenter → Backup",
                ));
            }
        }
        if let Some(why) = job
            .enabled
            .then(|| index.unwritable(job.storage.as_deref().unwrap_or("local")))
            .flatten()
        {
            anomalies.push(Anomaly::new(
                Severity::Warning,
                format!("job/{}", job.id),
                format!("job {} cannot write its backups now: {why}", job.id),
                "its runs fail until the storage is usable again: end the maintenance, mount \
                 the datastore or enable the storage, or point the job elsewhere",
            ));
        }
        if let (Some(node), Some(pve)) = (&job.node, scope.pve) {
            if pve.nodes.completeness.is_complete() && !index.nodes.contains_key(node.as_str()) {
                anomalies.push(Anomaly::new(
                    Severity::Warning,
                    format!("job/{}", job.id),
                    format!(
                        "job {} runs only on node '{node}', which is not in the cluster",
                        job.id
                    ),
                    "the job never runs; fix or remove its node restriction",
                ));
            }
        }
        job_ctxs.push(JobCtx {
            job,
            event,
            schedule_error,
            resolved,
        });
    }
    job_ctxs.sort_by(|a, b| a.job.id.cmp(&b.job.id));
    let unknown_zones: BTreeSet<&str> = index
        .nodes
        .keys()
        .copied()
        .filter(|n| !index.node_tz(n).1)
        .collect();
    if !unknown_zones.is_empty() && !job_ctxs.is_empty() {
        anomalies.push(Anomaly::new(
            Severity::Info,
            "pve/nodes",
            format!(
                "time zone unknown for node {}: schedules there are evaluated in UTC",
                unknown_zones.iter().copied().collect::<Vec<_>>().join(", ")
            ),
            "grant Sys.Audit on /nodes/<node> so GET /nodes/<node>/time can be read; until then \
             previous/next runs may be off by the zone's offset",
        ));
    }

    let tolerance = Duration::minutes(i64::from(policy.attribution_tolerance_minutes));
    let mut runs = collect_runs(&index, &job_ctxs, tolerance, taken);
    let grace = Duration::hours(i64::from(policy.grace_hours));
    let task_starts = job_task_starts(&index, &job_ctxs);
    let node_facts = node_facts(&index);
    let default_repeat = repeat_missed_default(&index);
    let memo = ScheduleMemo::default();
    let sched = Sched {
        memo: &memo,
        task_starts: &task_starts,
        nodes: &node_facts,
        default_repeat,
        tolerance,
    };

    let mut selected: Vec<BTreeSet<Vmid>> = vec![BTreeSet::new(); job_ctxs.len()];
    // Per-job facts every guest's answer repeats, computed once.
    let job_facts: Vec<(String, Option<bool>)> = job_ctxs
        .iter()
        .map(|ctx| {
            (
                selection::describe_selection(&ctx.job.selection),
                storage_is_pbs(&index, ctx.job.storage.as_deref()),
            )
        })
        .collect();
    let mut guests: Vec<GuestReport> = Vec::with_capacity(index.guests.len());
    for guest in index.guests.values().copied() {
        // Taken, not borrowed: each guest's run records are freed as its report events are made,
        // so the two never both exist whole (70 000 of each on a 5 000-guest cluster).
        let guest_runs = runs.by_vmid.remove(&guest.vmid).unwrap_or_default();
        let answers: Vec<JobAnswer> = job_ctxs
            .iter()
            .enumerate()
            .map(|(i, ctx)| {
                let m = membership(ctx.job, &ctx.resolved, guest);
                if matches!(m, Membership::Selected(_)) {
                    selected[i].insert(guest.vmid);
                }
                JobAnswer {
                    id: ctx.job.id.as_str(),
                    enabled: ctx.job.enabled,
                    membership: m,
                    storage: ctx.job.storage.as_deref(),
                    storage_is_pbs: job_facts[i].1,
                    selection: job_facts[i].0.as_str(),
                }
            })
            .collect();
        let run_excluded: Vec<String> = guest_runs
            .iter()
            .find(|r| r.status != RunStatus::Unknown)
            .map(RunRecord::excluded_volumes)
            .unwrap_or_default();
        let verdict = decide(guest, &answers, jobs_completeness, &run_excluded);
        let (mut report, guest_anomalies) = guest_report(
            &index,
            &job_ctxs,
            &sched,
            guest,
            &answers,
            verdict,
            &guest_runs,
            copy_routes,
            copy_tally,
            policy,
            grace,
            now,
        );
        anomalies.extend(guest_anomalies);
        if runs_kept == Runs::Dropped {
            report.runs = Vec::new();
        }
        guests.push(report);
    }

    // A fleecing image of a VMID no VM has: its VM was destroyed before the cleanup existed.
    if let Some(pve) = scope.pve {
        for image in pve.fleecing.images.iter().filter(|i| {
            index
                .guests
                .get(&i.vmid)
                .is_none_or(|g| g.kind != crate::model::GuestKind::Qemu)
        }) {
            anomalies.push(Anomaly::new(
                Severity::Warning,
                format!("storage/{}", image.storage),
                format!(
                    "leftover fleecing image {} belongs to no VM the token sees (VMID {})",
                    image.volid, image.vmid
                ),
                format!(
                    "if VM {} no longer exists, run `pvesm free {}` on {}",
                    image.vmid, image.volid, image.node
                ),
            ));
        }
    }

    // A storage restricted to some nodes cannot take the backups of guests on the others.
    for (ctx, chosen) in job_ctxs.iter().zip(&selected) {
        let storage_id = ctx.storage_or_default();
        let Some(allowed) = index
            .storages
            .get(storage_id)
            .and_then(|s| s.nodes.as_ref())
        else {
            continue;
        };
        let outside: BTreeSet<&str> = chosen
            .iter()
            .filter_map(|vmid| index.guests.get(vmid))
            .map(|g| g.node.as_str())
            .filter(|node| !allowed.iter().any(|a| a == node))
            .collect();
        if ctx.job.enabled && !outside.is_empty() {
            anomalies.push(Anomaly::new(
                Severity::Warning,
                format!("job/{}", ctx.job.id),
                format!(
                    "job {} writes to storage '{storage_id}', which is not available on node {}",
                    ctx.job.id,
                    outside.iter().copied().collect::<Vec<_>>().join(", ")
                ),
                format!(
                    "the storage is restricted to {}: backups of the job's guests there fail; \
                     add the node to the storage (Datacenter → Storage) or use another storage",
                    allowed.join(", ")
                ),
            ));
        }
    }

    // Job section.
    let mut last_runs: Vec<BTreeMap<String, JobNodeRun>> = vec![BTreeMap::new(); job_ctxs.len()];
    if let Some(pve) = scope.pve {
        let position: BTreeMap<&str, usize> = job_ctxs
            .iter()
            .enumerate()
            .map(|(i, c)| (c.job.id.as_str(), i))
            .collect();
        for task in pve.task_history.iter().flat_map(|h| h.tasks.iter()) {
            let Some(Some(job)) = runs.task_jobs.get(task.upid.as_str()) else {
                continue;
            };
            let Some(&i) = position.get(job) else {
                continue;
            };
            let newer = last_runs[i]
                .get(&task.node)
                .is_none_or(|r| (task.start, &task.upid) > (r.start, &r.upid));
            if newer {
                last_runs[i].insert(
                    task.node.clone(),
                    JobNodeRun {
                        node: task.node.clone(),
                        start: task.start,
                        status: task.status.clone(),
                        upid: task.upid.clone(),
                    },
                );
            }
        }
    }
    let jobs = job_ctxs
        .iter()
        .zip(selected)
        .zip(last_runs)
        .map(|((ctx, mut chosen), last)| {
            let vmids = match (&ctx.resolved, &ctx.job.selection) {
                (Resolved::PoolUnknown { .. }, _) => None,
                (Resolved::Vmids(listed), Selection::Vmids { .. }) => {
                    // vzdump also tries listed VMIDs that no longer exist.
                    chosen.extend(listed.iter().filter(|v| !index.guests.contains_key(v)));
                    Some(chosen.into_iter().collect())
                }
                _ => Some(chosen.into_iter().collect()),
            };
            job_report(&index, ctx, vmids, last, now)
        })
        .collect();

    if let Some(pve) = scope.pve {
        anomalies.extend(crosscheck::cross_check(
            &guests,
            &pve.not_backed_up.items,
            &pve.not_backed_up.completeness,
            index.guests_complete,
        ));
    }
    let orphans = evidence::orphans(&index);
    let places = index
        .targeted_places()
        .into_iter()
        .map(|(server, datastore, namespace)| {
            (
                scope.pbs[server].name.clone(),
                datastore.to_string(),
                namespace,
            )
        })
        .collect();
    let vmids = index
        .guests_complete
        .then(|| index.guests.keys().copied().collect());
    ClusterPart {
        guests,
        jobs,
        anomalies,
        orphans,
        places,
        vmids,
    }
}

#[allow(clippy::too_many_arguments)]
fn guest_report(
    index: &Index<'_>,
    job_ctxs: &[JobCtx<'_>],
    sched: &Sched<'_>,
    guest: &Guest,
    answers: &[JobAnswer<'_>],
    verdict: selection::CoverageVerdict,
    guest_runs: &[RunRecord<'_>],
    copy_routes: &[offsite::Route<'_>],
    copy_tally: &mut [offsite::GroupTally],
    policy: &Policy,
    grace: Duration,
    now: DateTime<Utc>,
) -> (GuestReport, Vec<Anomaly>) {
    let mut anomalies = Vec::new();
    // Storages whose archives may hold this guest: its jobs' and its runs'.
    let mut storages: BTreeSet<String> = BTreeSet::new();
    for (ctx, answer) in job_ctxs.iter().zip(answers) {
        if matches!(answer.membership, Membership::Selected(_)) {
            storages.insert(ctx.storage_or_default().to_string());
        }
    }
    storages.extend(
        guest_runs
            .iter()
            .filter_map(|r| r.storage.map(str::to_string)),
    );
    let archives = guest_archives(index, guest, &storages, guest_runs);
    let places: Vec<offsite::Place> = storages
        .iter()
        .filter_map(|storage| match index.link(storage) {
            index::StorageLink::Pbs {
                server,
                datastore,
                namespace,
            } => Some(offsite::Place {
                server,
                store: datastore.name.clone(),
                namespace,
            }),
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let offsite = offsite::assess_guest(
        index,
        copy_routes,
        &places,
        guest.kind.pbs_type().as_str(),
        &guest.vmid.to_string(),
        policy.require_offsite_for(&guest.tags, guest.pool.as_deref()),
        copy_tally,
    );
    anomalies.extend(archives.anomalies.iter().cloned());

    let exemption = exemption_for(guest, index.scope.pve.map(|p| p.name.as_str()), policy, now);
    anomalies.extend(exemption.anomalies.iter().cloned());

    let (tz, tz_known) = index.node_tz(&guest.node);
    let (mut history_complete, history_since) = index.node_history(&guest.node);
    let mut history_reason = history_reason(index, &guest.node);
    let unread = unreadable_logs(index, guest.vmid);
    if unread > 0 {
        // A finished run whose log could not be read may be this guest's success or failure:
        // the history cannot prove an absence for it (issue #9 rule 1).
        history_complete = false;
        let note =
            format!("{unread} vzdump task log(s) that may concern this guest could not be read");
        history_reason = Some(match history_reason {
            Some(reason) => format!("{reason}; {note}"),
            None => note,
        });
    }
    let scheduled: Vec<ScheduledJob<'_>> = job_ctxs
        .iter()
        .zip(answers)
        .zip(sched.task_starts)
        .filter(|((ctx, answer), _)| {
            ctx.job.enabled && matches!(answer.membership, Membership::Selected(_))
        })
        .map(|((ctx, _), tasks)| ScheduledJob {
            id: ctx.job.id.as_str(),
            repeat_missed: ctx.job.repeat_missed.unwrap_or(sched.default_repeat),
            tasks,
            storage: ctx.storage_or_default(),
            event: match (&ctx.event, &ctx.schedule_error) {
                (Some(event), _) => Ok(event),
                (None, Some(error)) => Err(error.as_str()),
                (None, None) => Err("no schedule"),
            },
        })
        .collect();
    let input = FreshnessInput {
        jobs: scheduled,
        runs: guest_runs,
        places: &archives.places,
        history_complete,
        history_since,
        history_reason,
        tz,
        memo: sched.memo,
        tz_known,
        max_age: policy.max_age_for(&guest.tags, guest.pool.as_deref()),
        grace,
        history_days: policy.history_days,
        now,
        node: guest.node.as_str(),
        placements: {
            let mut placed: Vec<(DateTime<Utc>, &str)> = guest_runs
                .iter()
                .map(|r| (r.task.start, r.task.node.as_str()))
                .collect();
            placed.sort_unstable();
            placed
        },
        nodes: sched.nodes,
        tolerance: sched.tolerance,
        created: guest.created,
    };
    let fresh = assess_freshness(&input);

    let run_events: Vec<BackupEvent> = guest_runs.iter().filter_map(RunRecord::event).collect();
    let archive_event = archives.latest.as_ref().map(|a| BackupEvent {
        time: a.time,
        status: AttemptStatus::Ok,
        duration_s: None,
        source: a.source,
        error: None,
        job: None,
        storage: Some(Arc::from(a.storage.as_str())),
        archive: None,
        size_bytes: a.size_bytes,
        upid: None,
        end: None,
        node: None,
        excluded_volumes: Vec::new(),
    });
    // Newest first; at equal times the task log (richer) wins over the archive listing.
    let pick = |events: Vec<&BackupEvent>| -> Option<BackupEvent> {
        events
            .into_iter()
            .max_by(|a, b| a.time.cmp(&b.time).then_with(|| b.source.cmp(&a.source)))
            .cloned()
    };
    let last_backup = pick(run_events.iter().chain(archive_event.iter()).collect());
    let last_success = pick(
        run_events
            .iter()
            .filter(|e| e.status == AttemptStatus::Ok)
            .chain(archive_event.iter())
            .collect(),
    );

    for (ctx, answer) in job_ctxs.iter().zip(answers) {
        if ctx.job.enabled && matches!(answer.membership, Membership::Selected(_)) {
            anomalies.extend(protected_limit(index, guest, ctx));
        }
    }
    let mut flags: BTreeSet<GuestFlag> = archives.flags.clone();
    if let (Some(days), Some(latest)) = (policy.max_verify_age_days, &archives.latest) {
        let outdated = latest.verification.as_deref() == Some("ok")
            && latest
                .verified_at
                .is_some_and(|at| now - at > Duration::days(i64::from(days)));
        if outdated {
            flags.insert(GuestFlag::VerifyOutdated);
        }
    }
    if let Some(anomaly) = stale_lock(index, guest) {
        flags.insert(GuestFlag::StaleLock);
        anomalies.push(anomaly);
    }
    let (fleecing_flag, fleecing_anomalies) = fleecing_leftovers(index, guest, guest_runs);
    flags.extend(fleecing_flag);
    anomalies.extend(fleecing_anomalies);
    if guest.template == Some(true) {
        flags.insert(GuestFlag::Template);
    }
    if !exemption.expired.is_empty() && exemption.active.is_none() {
        flags.insert(GuestFlag::ExemptionExpired);
    }
    let mut coverage_reason = verdict.reason;
    if let Some(active) = &exemption.active {
        coverage_reason.push_str(&format!(
            "; exempt ({}: {})",
            active.declared_in, active.reason
        ));
    } else if let Some(expired) = exemption.expired.first() {
        coverage_reason.push_str(&format!(
            "; its exemption ({}: {}) expired{}",
            expired.declared_in,
            expired.reason,
            expired
                .until
                .map(|u| format!(" on {}", u.format("%Y-%m-%d")))
                .unwrap_or_default()
        ));
    }
    let notes = match &guest.config {
        crate::model::GuestConfigFacts::Read { notes, .. } => notes.clone(),
        crate::model::GuestConfigFacts::Unknown { .. } => None,
    };
    let report = GuestReport {
        cluster: index.scope.pve.map(|p| p.name.clone()).unwrap_or_default(),
        vmid: guest.vmid,
        kind: guest.kind,
        name: guest.name.clone(),
        node: guest.node.clone(),
        template: guest.template.unwrap_or(false),
        pool: guest.pool.clone(),
        tags: guest.tags.clone(),
        notes,
        coverage: verdict.coverage,
        coverage_reason,
        jobs: verdict.covering.iter().map(|c| c.id.clone()).collect(),
        covering_jobs: verdict.covering,
        excluded_volumes: verdict.excluded_volumes,
        freshness: fresh.freshness,
        freshness_reason: fresh.reason,
        missed_runs: fresh.missed_runs,
        missed: fresh.missed,
        lock: guest.lock.clone(),
        replication: replication_of(index, guest.vmid),
        last_restore: restore_of(index, guest),
        last_backup,
        last_success,
        archive: archives.latest,
        runs: run_events,
        exempt: exemption.active,
        flags: flags.into_iter().collect(),
        offsite,
    };
    (report, anomalies)
}

/// The guest's newest restore (the collector keeps one per guest), or a newer PBS read of one of
/// its snapshots on a datastore its cluster's storages point at. A read no later than a restore
/// of the same snapshot is taken for that restore's own reading.
fn restore_of(index: &Index<'_>, guest: &Guest) -> Option<report::RestoreReport> {
    let restore = pve_restore_of(index, guest.vmid);
    let read = pbs_read_of(index, guest);
    match (restore, read) {
        (Some(restore), Some(read)) => {
            let own = restore.source_snapshot == read.source_snapshot && read.time >= restore.time;
            Some(if own || restore.time >= read.time {
                restore
            } else {
                read
            })
        }
        (restore, read) => restore.or(read),
    }
}

/// The newest `reader` task on a PBS datastore that a PVE storage points at, for the guest's
/// backup group. The worker id has no namespace: two clusters sharing a store and a VMID in
/// different namespaces are not told apart.
fn pbs_read_of(index: &Index<'_>, guest: &Guest) -> Option<report::RestoreReport> {
    let stores: std::collections::BTreeSet<(usize, &str)> = index
        .links
        .values()
        .filter_map(|link| match link {
            index::StorageLink::Pbs {
                server, datastore, ..
            } => Some((*server, datastore.name.as_str())),
            _ => None,
        })
        .collect();
    let id = guest.vmid.to_string();
    let kind = guest.kind.pbs_type();
    index
        .scope
        .pbs
        .iter()
        .enumerate()
        .flat_map(|(server, pbs)| pbs.reads.items.iter().map(move |r| (server, pbs, r)))
        .filter(|(server, _, r)| {
            stores.contains(&(*server, r.store.as_str()))
                && r.backup_type == kind
                && r.backup_id == id
        })
        .max_by(|(_, _, a), (_, _, b)| (a.time, &a.upid).cmp(&(b.time, &b.upid)))
        .map(|(_, pbs, r)| report::RestoreReport {
            time: r.time,
            source_snapshot: Some(format!(
                "{}/{}/{}",
                r.backup_type.as_str(),
                r.backup_id,
                r.snapshot_time
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
            source: Some(format!("{}:{}", pbs.name, r.store)),
            namespace: None,
            task: r.upid.clone(),
            kind: "pbs_reader".to_string(),
            node: pbs.name.clone(),
            status: r.status.clone(),
        })
}

fn pve_restore_of(index: &Index<'_>, vmid: Vmid) -> Option<report::RestoreReport> {
    index
        .scope
        .pve?
        .restores
        .items
        .iter()
        .filter(|r| r.guest == vmid)
        .max_by(|a, b| (a.time, &a.upid).cmp(&(b.time, &b.upid)))
        .map(|r| report::RestoreReport {
            time: r.time,
            source_snapshot: r.source.as_ref().map(|s| s.snapshot.clone()),
            source: r.source.as_ref().and_then(|s| s.from.clone()),
            namespace: r.source.as_ref().and_then(|s| s.namespace.clone()),
            task: r.upid.clone(),
            kind: r.kind.to_string(),
            node: r.node.clone(),
            status: r.status.clone(),
        })
}

/// The guest's replication job, the worst first: failing longest, then synced longest ago.
fn replication_of(index: &Index<'_>, vmid: Vmid) -> Option<report::ReplicationReport> {
    index
        .scope
        .pve?
        .replication
        .items
        .iter()
        .filter(|r| r.guest == vmid)
        .max_by(|a, b| {
            (a.fail_count, std::cmp::Reverse(a.last_sync), &b.id).cmp(&(
                b.fail_count,
                std::cmp::Reverse(b.last_sync),
                &a.id,
            ))
        })
        .map(|r| report::ReplicationReport {
            job: r.id.clone(),
            target: r.target.clone(),
            last_sync: r.last_sync,
            fail_count: r.fail_count,
            error: r.error.clone(),
            enabled: r.enabled,
        })
}

/// A job that marks backups protected fails for a guest, before backing it up, once the guest's
/// protected backups visible on the storage reach its `max-protected-backups` (pve-manager
/// VZDump.pm); one below the limit, the next run is the last that works.
fn protected_limit(index: &Index<'_>, guest: &Guest, ctx: &JobCtx<'_>) -> Option<Anomaly> {
    if !ctx.job.protected {
        return None;
    }
    let storage = ctx.storage_or_default();
    let limit = index.storages.get(storage)?.max_protected_backups?;
    let limit = usize::try_from(limit).ok()?;
    let count = match index.link(storage) {
        index::StorageLink::Pbs {
            server,
            datastore,
            namespace,
        } => {
            let id = guest.vmid.to_string();
            let kind = guest.kind.pbs_type();
            let key = (
                server,
                datastore.name.as_str(),
                namespace.as_str(),
                kind.as_str(),
                id.as_str(),
            );
            index
                .groups
                .get(&key)
                .map_or(0, |g| g.finished.iter().filter(|s| s.protected).count())
        }
        _ => index
            .storage_backups
            .get(&(storage, guest.vmid))
            .map_or(0, |list| list.iter().filter(|b| b.protected).count()),
    };
    let (severity, what) = if count >= limit {
        (
            Severity::Warning,
            "every backup of it by this job fails now",
        )
    } else if count + 1 == limit {
        (
            Severity::Info,
            "the next backup of it by this job is the last that works",
        )
    } else {
        return None;
    };
    Some(Anomaly::new(
        severity,
        format!("guest/{}", guest.vmid),
        format!(
            "guest {} has {count} protected backups on storage '{storage}', whose limit is \
             {limit}: {what}",
            guest.vmid
        ),
        format!(
            "job {} marks its backups protected, and vzdump refuses a guest at the storage's \
             max-protected-backups; remove the protection from old backups or raise the limit",
            ctx.job.id
        ),
    ))
}

/// A `lock: backup` with no vzdump task running on the guest's node (the complete list of its
/// running tasks): vzdump was killed or the node crashed, and every later backup of the guest
/// fails with "locked (backup)" until the lock is removed. Unknown running tasks decide nothing.
fn stale_lock(index: &Index<'_>, guest: &Guest) -> Option<Anomaly> {
    if guest.lock.as_deref() != Some("backup") {
        return None;
    }
    let running = index
        .scope
        .pve?
        .running_backups
        .iter()
        .find(|r| r.node == guest.node)?;
    if !running.completeness.is_complete() || !running.tasks.is_empty() {
        return None;
    }
    let (word, tool) = match guest.kind {
        crate::model::GuestKind::Qemu => ("VM", "qm"),
        crate::model::GuestKind::Lxc => ("CT", "pct"),
    };
    Some(Anomaly::new(
        Severity::Warning,
        format!("guest/{}", guest.vmid),
        format!(
            "{word} {} is locked (backup) but no backup runs on node {}",
            guest.vmid, guest.node
        ),
        format!(
            "a stale backup lock (vzdump killed or the node crashed) makes every later backup, \
             snapshot and migration of it fail; make sure no backup of it is running, then run \
             `{tool} unlock {}` on {}",
            guest.vmid, guest.node
        ),
    ))
}

/// The fleecing images a crashed or killed backup left for a VM: seen on the storage (when the
/// token may list its images) unless a backup runs on that node now; otherwise, where the images
/// could not be listed, suspected from a newest run that used fleecing and failed.
fn fleecing_leftovers(
    index: &Index<'_>,
    guest: &Guest,
    guest_runs: &[RunRecord<'_>],
) -> (Option<GuestFlag>, Vec<Anomaly>) {
    let Some(pve) = index.scope.pve else {
        return (None, Vec::new());
    };
    if guest.kind != crate::model::GuestKind::Qemu {
        return (None, Vec::new());
    }
    // A VM locked for backup is being backed up (its images are in use) or has a stale lock,
    // which stale_lock reports: its images are no finding of their own yet.
    let locked = guest.lock.as_deref() == Some("backup");
    let component = format!("guest/{}", guest.vmid);
    let images: Vec<&crate::model::FleecingImage> = pve
        .fleecing
        .images
        .iter()
        .filter(|i| i.vmid == guest.vmid)
        .collect();
    if locked && !images.is_empty() {
        return (None, Vec::new());
    }
    if !images.is_empty() {
        let mut anomalies = Vec::new();
        let nodes: BTreeSet<&str> = images.iter().map(|i| i.node.as_str()).collect();
        for node in nodes {
            let volids: Vec<&str> = images
                .iter()
                .filter(|i| i.node == node)
                .map(|i| i.volid.as_str())
                .collect();
            let running = pve.running_backups.iter().find(|r| r.node == node);
            // A running backup's images are its own; an unknown running list moves the finding
            // to "may be", never to a leftover for sure.
            let severity = match running {
                Some(r) if !r.tasks.is_empty() => continue,
                Some(r) if r.completeness.is_complete() => Severity::Warning,
                _ => Severity::Info,
            };
            let hedge = if severity == Severity::Warning {
                ""
            } else {
                " (whether a backup uses them right now is unknown: the running tasks of the node could not all be seen)"
            };
            anomalies.push(Anomaly::new(
                severity,
                component.clone(),
                format!(
                    "VM {} has leftover fleecing image(s) {}{hedge}",
                    guest.vmid,
                    volids.join(", ")
                ),
                format!(
                    "a backup that crashed or was killed left them; they take space and the next backup of the VM only removes them on qemu-server ≥ 8.3.11; \
                     make sure no backup of VM {} is running, then run {} on {node}",
                    guest.vmid,
                    volids
                        .iter()
                        .map(|v| format!("`pvesm free {v}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let flag = (!anomalies.is_empty()).then_some(GuestFlag::FleecingLeftover);
        return (flag, anomalies);
    }
    // The newest run with a result: a failure after fleecing began may leave its images.
    let Some(newest) = guest_runs.iter().find(|r| r.status != RunStatus::Unknown) else {
        return (None, Vec::new());
    };
    let RunStatus::Failed(_) = newest.status else {
        return (None, Vec::new());
    };
    let crate::model::TaskLogEvidence::Parsed { log, .. } = &newest.task.log else {
        return (None, Vec::new());
    };
    let Some(storage) = log.command.as_ref().and_then(|c| c.fleecing()) else {
        return (None, Vec::new());
    };
    // A storage whose images were listed showed no leftover of this VM: nothing to suspect.
    if storage
        .as_ref()
        .is_some_and(|s| pve.fleecing.listed.contains(s))
    {
        return (None, Vec::new());
    }
    let place = storage
        .as_deref()
        .map_or("on its fleecing storage".to_string(), |s| {
            format!("on storage '{s}'")
        });
    let anomaly = Anomaly::new(
        Severity::Info,
        component,
        format!(
            "VM {}: a fleecing image may be left {place} by its failed backup of {}",
            guest.vmid,
            newest.start.format("%Y-%m-%d %H:%M UTC")
        ),
        format!(
            "the run used fleecing and did not finish cleanly ({}); the token cannot list VM images read-only. \
             An admin can check with `pvesm list {} --content images | grep vm-{}-fleece` on {} and remove a leftover with `pvesm free <volid>` once no backup of the VM runs",
            newest.task.upid,
            storage.as_deref().unwrap_or("<storage>"),
            guest.vmid,
            newest.task.node
        ),
    );
    (Some(GuestFlag::FleecingMayRemain), vec![anomaly])
}

/// What every guest's freshness shares: the tasks that fit each job, the nodes' facts, the
/// cluster's `repeat-missed` default and the schedule answers computed so far.
struct Sched<'a> {
    memo: &'a ScheduleMemo,
    task_starts: &'a [BTreeMap<String, Vec<TaskSpan>>],
    tolerance: Duration,
    nodes: &'a BTreeMap<&'a str, NodeFacts>,
    default_repeat: bool,
}

/// Per node: its task history's reach and whether it is (and since when it was) up.
fn node_facts<'a>(index: &Index<'a>) -> BTreeMap<&'a str, NodeFacts> {
    index
        .nodes
        .iter()
        .map(|(name, node)| {
            let (history_complete, history_since) = index.node_history(name);
            let online = match node.status.as_str() {
                "online" => Some(true),
                "offline" => Some(false),
                _ => None,
            };
            let facts = NodeFacts {
                history_complete,
                history_since,
                online,
                up_since: node.up_since,
            };
            (*name, facts)
        })
        .collect()
}

/// What an unset `repeat-missed` means: pvescheduler (pve-manager 7.0-15) caught missed runs up
/// after it started until 7.2-5 reversed the default; cron before it never did. An unknown
/// version is taken as current.
fn repeat_missed_default(index: &Index<'_>) -> bool {
    let Some(version) = index.scope.pve.and_then(|p| p.version.as_deref()) else {
        return false;
    };
    let parts: Vec<u32> = version
        .split(['.', '-'])
        .map_while(|p| p.parse().ok())
        .collect();
    match parts.as_slice() {
        [7, 0, patch, ..] => *patch >= 15,
        [7, 1, ..] => true,
        [7, 2, patch, ..] => *patch < 5,
        _ => false,
    }
}

/// Finished vzdump tasks, on any node, whose log could not be read and which may have backed up
/// `vmid` (a multi-guest task has no id of its own).
fn unreadable_logs(index: &Index<'_>, vmid: Vmid) -> usize {
    let Some(pve) = index.scope.pve else {
        return 0;
    };
    pve.task_history
        .iter()
        .flat_map(|h| h.tasks.iter())
        .filter(|t| matches!(t.log, crate::model::TaskLogEvidence::Unavailable { .. }))
        .filter(|t| t.end.is_some() || t.status.is_some())
        .filter(|t| t.id.is_empty() || t.id.parse::<Vmid>().ok() == Some(vmid))
        .count()
}

fn history_reason(index: &Index<'_>, node: &str) -> Option<String> {
    let pve = index.scope.pve?;
    match pve.task_history.iter().find(|h| h.node == node) {
        None => Some(format!("no task history was collected for node {node}")),
        Some(h) => match h.completeness.reason() {
            Some(reason) => Some(reason.to_string()),
            None if h.capped => Some(format!(
                "the task cap stopped paging on node {node}; raise PVE_TASK_HISTORY_LIMIT"
            )),
            None => None,
        },
    }
}
