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
use crate::model::{
    Anomaly, Completeness, Inventory, Observed, PbsInventory, PveInventory, Severity, Vmid,
};

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
        let mut readers = Readers::new();
        for source in &sources.pve {
            let (source, options, progress) = (source.clone(), options.clone(), progress.clone());
            let pbs_servers = pbs_servers.clone();
            readers.spawn(source.server(), async move {
                collect_pve(&source, now, &options, &pbs_servers, &progress).await
            });
        }
        let joined = readers.join("the PVE clusters").await;
        let mut clusters = joined.results;
        // A cluster whose collector died is unknown, not empty.
        for server in joined.lost {
            let reason = lost_server(&server.name);
            let anomaly = Anomaly::new(
                Severity::Critical,
                "pve",
                "nothing could be read from this cluster",
                reason.clone(),
            );
            clusters.push((
                PveInventory::unavailable(server.name, server.host, &reason),
                vec![anomaly],
            ));
        }
        clusters
    };
    let pbs_future = async {
        let mut readers = Readers::new();
        for source in &sources.pbs {
            let source = source.clone();
            let progress = progress.clone();
            let options = options.clone();
            let since = now - chrono::Duration::days(i64::from(options.history_days));
            readers.spawn(source.server(), async move {
                collect_pbs(&source, since, &options, &progress).await
            });
        }
        let joined = readers.join("the PBS servers").await;
        let mut servers = joined.results;
        // A server whose collector died is unknown, not absent: absent, its storages would
        // look like ones the report was not given.
        for server in joined.lost {
            let reason = lost_server(&server.name);
            let anomaly = Anomaly::new(
                Severity::Critical,
                format!("pbs/{}", server.name),
                "nothing could be read from this PBS server",
                reason.clone(),
            );
            servers.push((
                PbsInventory::unavailable(server.name, server.host, server.fingerprint, &reason),
                vec![anomaly],
            ));
        }
        servers
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

/// Why a server's whole collection is missing: its collector ended abnormally.
fn lost_server(name: &str) -> String {
    format!("the collection of {name} ended abnormally (a bug: please report it)")
}

/// Reader tasks, each spawned for one key (a node, a pool, a storage): when one ends abnormally
/// its key comes back as lost, so the caller names exactly what is missing instead of working it
/// out from the answers.
pub(crate) struct Readers<K, T> {
    set: tokio::task::JoinSet<T>,
    keys: std::collections::HashMap<tokio::task::Id, K>,
}

/// What a set of readers brought back.
pub(crate) struct Joined<K, T> {
    /// Every reader's result, in completion order.
    pub(crate) results: Vec<T>,
    /// The keys of the readers that ended abnormally, in spawn order.
    pub(crate) lost: Vec<K>,
    /// Why the results are short (`N reader(s) of <what> ended abnormally`); None when whole.
    pub(crate) gap: Option<String>,
}

impl<K, T: Send + 'static> Readers<K, T> {
    /// No reader yet.
    pub(crate) fn new() -> Self {
        Readers {
            set: tokio::task::JoinSet::new(),
            keys: std::collections::HashMap::new(),
        }
    }

    /// Start `reader` for `key`.
    pub(crate) fn spawn(
        &mut self,
        key: K,
        reader: impl std::future::Future<Output = T> + Send + 'static,
    ) {
        let handle = self.set.spawn(reader);
        self.keys.insert(handle.id(), key);
    }

    /// Every result, and the readers lost on the way: a lost reader is a gap in the list it was
    /// reading, never a shorter list that looks complete.
    pub(crate) async fn join(mut self, what: &str) -> Joined<K, T> {
        let mut results = Vec::new();
        let mut lost_ids = Vec::new();
        while let Some(joined) = self.set.join_next_with_id().await {
            match joined {
                Ok((_, result)) => results.push(result),
                Err(err) => {
                    tracing::error!("a reader of {what} ended abnormally: {err}");
                    lost_ids.push(err.id());
                }
            }
        }
        let gap = (!lost_ids.is_empty())
            .then(|| format!("{} reader(s) of {what} ended abnormally", lost_ids.len()));
        let lost = lost_ids
            .iter()
            .filter_map(|id| self.keys.remove(id))
            .collect();
        Joined { results, lost, gap }
    }
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
        let mut readers = Readers::new();
        for id in 0..4u32 {
            readers.spawn(format!("node{id}"), async move {
                if id == 1 {
                    panic!("reader {id} broke");
                }
                id
            });
        }
        let joined = readers.join("the test lists").await;
        let mut results = joined.results;
        results.sort_unstable();
        assert_eq!(results, vec![0, 2, 3]);
        assert_eq!(
            joined.gap.as_deref(),
            Some("1 reader(s) of the test lists ended abnormally")
        );
        assert_eq!(joined.lost, ["node1"], "the lost reader is named");

        let mut readers = Readers::new();
        readers.spawn("x", async { 7u32 });
        let joined = readers.join("x").await;
        assert_eq!((joined.results, joined.gap), (vec![7], None));
        assert!(joined.lost.is_empty());
    }
}
