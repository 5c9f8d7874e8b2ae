//! Collection: read everything a verdict needs from PVE and every PBS, and turn it into the
//! normalized [`Inventory`].
//!
//! Independent requests run concurrently; the shared limiter inside each client keeps the number in
//! flight modest. Every failed or incomplete source becomes an [`Anomaly`] plus a
//! [`Completeness`] on the list it shortened, and the run goes on. Results are sorted by stable keys,
//! so the inventory never depends on timing.

mod cache;
mod offsite;
mod pbs;
mod progress;
mod pve;
mod sources;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::api::de::LenientList;
use crate::api::source::Source;
use crate::api::ApiError;
use crate::model::{Anomaly, Completeness, Inventory, Observed, PveInventory, Severity, Vmid};

pub use crate::config::CollectOptions;
pub use pbs::collect_pbs;
pub use progress::Progress;
pub use pve::collect_pve;
pub use sources::{gather, SourceError};

/// The servers to read.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The PVE clusters, in the config's (name) order.
    pub pve: Vec<Source>,
    /// PBS servers.
    pub pbs: Vec<Source>,
}

/// Which guests' notes a run needs, given the inventory collected so far, as (cluster name, VMID):
/// the caller's judgement (the coverage engine's verdicts), handed in so collection never depends
/// on a later stage.
pub type NotesWanted<'a> = &'a (dyn Fn(&Inventory) -> BTreeSet<(String, Vmid)> + Sync);

/// Collect from every configured server. Never fails: problems become anomalies.
///
/// On demand (`--notes on-demand`), guests whose volumes came from the jobs' `included_volumes`
/// trees have no notes yet; `notes_wanted` then names the guests whose notes could change their
/// verdict, and only their configs are read, in a second pass over the finished inventory.
pub async fn collect(
    sources: &Sources,
    now: DateTime<Utc>,
    options: &CollectOptions,
    progress: &Progress,
    notes_wanted: NotesWanted<'_>,
) -> Inventory {
    let pbs_servers: Vec<(String, Option<String>)> = sources
        .pbs
        .iter()
        .map(|s| {
            let server = s.server();
            (server.host, server.fingerprint)
        })
        .collect();
    // Clusters are read side by side; the shared limiter keeps the total in flight modest.
    let pve_future = async {
        let mut set = tokio::task::JoinSet::new();
        for (index, source) in sources.pve.iter().enumerate() {
            let (source, options, progress) = (source.clone(), options.clone(), progress.clone());
            let pbs_servers = pbs_servers.clone();
            set.spawn(async move {
                (
                    index,
                    collect_pve(&source, now, &options, &pbs_servers, &progress).await,
                )
            });
        }
        let mut results: Vec<Option<(PveInventory, Vec<Anomaly>)>> =
            sources.pve.iter().map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((index, result)) => results[index] = Some(result),
                Err(err) => tracing::error!("a PVE collector task ended abnormally: {err}"),
            }
        }
        // A cluster whose collector died is unknown, not empty.
        results
            .into_iter()
            .zip(&sources.pve)
            .map(|(result, source)| {
                result.unwrap_or_else(|| {
                    let server = source.server();
                    let reason = format!(
                        "the collection of cluster {} ended abnormally (a bug: please report it)",
                        server.name
                    );
                    let anomaly = Anomaly::new(
                        Severity::Critical,
                        "pve",
                        "nothing could be read from this cluster",
                        reason.clone(),
                    );
                    (
                        PveInventory::unavailable(server.name, server.host, &reason),
                        vec![anomaly],
                    )
                })
            })
            .collect::<Vec<_>>()
    };
    let pbs_future = async {
        let mut results = Vec::new();
        let mut set = tokio::task::JoinSet::new();
        for (index, source) in sources.pbs.iter().enumerate() {
            let source = source.clone();
            let progress = progress.clone();
            let options = options.clone();
            let since = now - chrono::Duration::days(i64::from(options.history_days));
            set.spawn(async move {
                (
                    index,
                    collect_pbs(&source, since, &options, &progress).await,
                )
            });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(item) => results.push(item),
                Err(err) => tracing::error!("a PBS collector task ended abnormally: {err}"),
            }
        }
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, r)| r).collect::<Vec<_>>()
    };
    let (pve, pbs) = tokio::join!(pve_future, pbs_future);
    let mut anomalies = Vec::new();
    let several_clusters = pve.len() > 1;
    let mut clusters = Vec::new();
    for (inventory, found) in pve {
        if several_clusters {
            anomalies.extend(found.into_iter().map(|a| a.of_cluster(&inventory.name)));
        } else {
            anomalies.extend(found);
        }
        clusters.push(inventory);
    }
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    let mut pbs_inventories = Vec::new();
    for (inventory, mut found) in pbs {
        anomalies.append(&mut found);
        pbs_inventories.push(inventory);
    }
    pbs_inventories.sort_by(|a, b| a.name.cmp(&b.name));
    let mut inventory = Inventory {
        collected_at: now,
        pve: clusters,
        pbs: pbs_inventories,
        anomalies,
    };
    inventory.normalize();
    if sources.pve.is_empty() {
        return inventory;
    }
    let wanted = notes_wanted(&inventory);
    for source in &sources.pve {
        let name = source.server().name;
        let of_this: BTreeSet<Vmid> = wanted
            .iter()
            .filter(|(cluster, _)| *cluster == name)
            .map(|(_, vmid)| *vmid)
            .collect();
        let Some(pve) = inventory
            .pve
            .iter_mut()
            .find(|c| c.name == name)
            .filter(|_| !of_this.is_empty())
        else {
            continue;
        };
        let found =
            pve::read_notes(source, options, &mut pve.guests.items, &of_this, progress).await;
        if several_clusters {
            inventory
                .anomalies
                .extend(found.into_iter().map(|a| a.of_cluster(&name)));
        } else {
            inventory.anomalies.extend(found);
        }
    }
    inventory.normalize();
    inventory
}

/// An anomaly for a failed request: what could not be read, the error, and the fix.
pub fn request_anomaly(severity: Severity, component: &str, what: &str, err: &ApiError) -> Anomaly {
    let mut details = err.to_string();
    if let Some(hint) = err.hint() {
        details.push_str(". Fix: ");
        details.push_str(&hint);
    }
    Anomaly::new(
        severity,
        component,
        format!("{what} could not be read ({})", err.short()),
        details,
    )
}

/// How a failed request is reported: severity, component, and what could not be read.
pub(crate) struct Failed<'a> {
    severity: Severity,
    component: &'a str,
    what: &'a str,
}

impl<'a> Failed<'a> {
    /// A failure of `what` (e.g. "the node list"), reported on `component` with `severity`.
    pub(crate) fn new(severity: Severity, component: &'a str, what: &'a str) -> Failed<'a> {
        Failed {
            severity,
            component,
            what,
        }
    }

    fn report(&self, err: &ApiError, anomalies: &mut Vec<Anomaly>) {
        anomalies.push(request_anomaly(
            self.severity,
            self.component,
            self.what,
            err,
        ));
    }
}

/// The answer, or `None` with an anomaly saying what could not be read and how to fix it.
pub(crate) fn answer<T>(
    result: Result<T, ApiError>,
    failed: Failed<'_>,
    anomalies: &mut Vec<Anomaly>,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(err) => {
            failed.report(&err, anomalies);
            None
        }
    }
}

/// A list answer turned into an [`Observed`] by `read`; a failed request becomes an anomaly and an
/// `Unavailable` list (see [`unavailable`]).
pub(crate) fn observe<T, U>(
    result: Result<T, ApiError>,
    failed: Failed<'_>,
    reason: impl FnOnce(&ApiError) -> String,
    anomalies: &mut Vec<Anomaly>,
    read: impl FnOnce(T, &mut Vec<Anomaly>) -> Observed<U>,
) -> Observed<U> {
    match result {
        Ok(value) => read(value, anomalies),
        Err(err) => unavailable(err, failed, reason, anomalies),
    }
}

/// A list whose request failed: an anomaly, and an `Unavailable` list whose `reason` says why, so
/// it never reads as an empty list that is complete.
pub(crate) fn unavailable<U>(
    err: ApiError,
    failed: Failed<'_>,
    reason: impl FnOnce(&ApiError) -> String,
    anomalies: &mut Vec<Anomaly>,
) -> Observed<U> {
    failed.report(&err, anomalies);
    Observed::unavailable(reason(&err))
}

/// The items of a list answer decoded item by item. Items that did not decode cost themselves
/// only: one anomaly per list quotes them (`what` names the items, e.g. "snapshots of pbs1/store1"),
/// and the returned reason marks the list incomplete (see [`with_partial`]).
pub(crate) fn kept<T>(
    list: LenientList<T>,
    severity: Severity,
    component: &str,
    what: &str,
    anomalies: &mut Vec<Anomaly>,
) -> (Vec<T>, Option<String>) {
    if list.bad_count == 0 {
        return (list.items, None);
    }
    let summary = format!(
        "{} of {} {what} could not be read",
        list.bad_count,
        list.sent()
    );
    anomalies.push(Anomaly::new(
        severity,
        component,
        summary.clone(),
        format!(
            "GET {}: {}. The other items were kept and the list is marked incomplete. Fix: the \
             server sent values of an unexpected type; check that its version is supported",
            list.endpoint,
            list.describe_bad()
        ),
    ));
    (list.items, Some(format!("{summary} ({})", list.endpoint)))
}

/// `completeness`, made partial by `reason` when there is one (reasons of an already partial
/// list are joined; an unavailable list stays unavailable).
pub(crate) fn with_partial(completeness: Completeness, reason: Option<String>) -> Completeness {
    let Some(reason) = reason else {
        return completeness;
    };
    match completeness {
        Completeness::Complete => Completeness::Partial { reason },
        Completeness::Partial { reason: first } => Completeness::Partial {
            reason: format!("{first}; {reason}"),
        },
        unavailable @ Completeness::Unavailable { .. } => unavailable,
    }
}

/// Every result of a set of reader tasks, and why the set came back short when one of them
/// ended abnormally: a lost reader is a gap in the list it was reading, never a shorter list
/// that looks complete.
pub(crate) async fn join_readers<T: 'static>(
    set: &mut tokio::task::JoinSet<T>,
    what: &str,
) -> (Vec<T>, Option<String>) {
    let mut results = Vec::new();
    let mut lost = 0usize;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(err) => {
                lost += 1;
                tracing::error!("a reader of {what} ended abnormally: {err}");
            }
        }
    }
    let gap = (lost > 0).then(|| format!("{lost} reader(s) of {what} ended abnormally"));
    (results, gap)
}

/// Epoch seconds to UTC, None when out of range.
pub fn epoch(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    /// A reader that panics leaves a named gap, and the readers after it are still collected.
    #[tokio::test]
    async fn a_lost_reader_is_a_gap_and_the_rest_still_count() {
        let mut set = tokio::task::JoinSet::new();
        for id in 0..4u32 {
            set.spawn(async move {
                if id == 1 {
                    panic!("reader {id} broke");
                }
                id
            });
        }
        let (mut results, gap) = join_readers(&mut set, "the test lists").await;
        results.sort_unstable();
        assert_eq!(results, vec![0, 2, 3]);
        assert_eq!(
            gap.as_deref(),
            Some("1 reader(s) of the test lists ended abnormally")
        );

        let mut set = tokio::task::JoinSet::new();
        set.spawn(async { 7u32 });
        assert_eq!(join_readers(&mut set, "x").await, (vec![7], None));
    }
}
