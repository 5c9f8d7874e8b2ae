//! Lookups built once per assessment: guests by VMID, storages by id, node time zones, the link
//! from a PVE storage to a PBS datastore, PBS snapshot groups and PVE storage-content backups.
//! Everything is a `BTreeMap` so that iterating it gives a stable order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Scope;

use crate::model::{
    Anomaly, Completeness, Datastore, Guest, Node, PbsInventory, PbsTarget, Severity, Snapshot,
    Storage, StorageBackup, Vmid,
};

/// Key of one PBS snapshot group: (server index, datastore, namespace, type, id).
pub(crate) type GroupKey<'a> = (usize, &'a str, &'a str, &'a str, &'a str);

/// One PBS snapshot group.
#[derive(Debug, Default)]
pub(crate) struct Group<'a> {
    /// Finished snapshots (size known), oldest first.
    pub finished: Vec<&'a Snapshot>,
    /// Snapshots still being written (size None) — never a backup.
    pub in_progress: usize,
    /// Latest backup time of any snapshot in the group (finished or not).
    pub latest_any: Option<DateTime<Utc>>,
}

/// Where a PVE storage keeps its backups, as far as the inventory tells.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StorageLink<'a> {
    /// A `pbs` storage whose server is a configured PBS and whose datastore was listed.
    Pbs {
        /// Index into `inventory.pbs`.
        server: usize,
        /// The datastore.
        datastore: &'a Datastore,
        /// Namespace ("" = root).
        namespace: String,
    },
    /// A `pbs` storage whose server or datastore is not among the collected PBS inventories.
    PbsUnlinked(&'a PbsTarget),
    /// Any other storage (archives are files, listed through PVE storage content).
    Files,
    /// The storage id is not in the storage list.
    Unknown,
}

/// Shared lookups.
pub(crate) struct Index<'a> {
    /// The cluster's view of the inventory.
    pub scope: Scope<'a>,
    /// Guests by VMID.
    pub guests: BTreeMap<Vmid, &'a Guest>,
    /// Whether the guest list is complete.
    pub guests_complete: bool,
    /// Storages by id.
    pub storages: BTreeMap<&'a str, &'a Storage>,
    /// Whether the storage list is complete.
    pub storages_complete: bool,
    /// Nodes by name.
    pub nodes: BTreeMap<&'a str, &'a Node>,
    /// Storage id → where its backups are.
    pub links: BTreeMap<&'a str, StorageLink<'a>>,
    /// PBS snapshot groups. Hashed, not ordered: each guest looks its groups up several times,
    /// and an ordered map compared four strings per step of every lookup (~4 % of a 5 000-guest
    /// run's CPU, docs/performance.md); the one walk over all groups sorts what it finds.
    pub groups: HashMap<GroupKey<'a>, Group<'a>>,
    /// PVE storage-content backups by (storage, vmid), oldest first.
    pub storage_backups: BTreeMap<(&'a str, Vmid), Vec<&'a StorageBackup>>,
    /// Whether the storage-content list is complete.
    pub storage_backups_complete: bool,
    /// Anomalies found while indexing (unknown time zones, unlinked PBS storages).
    pub anomalies: Vec<Anomaly>,
}

/// The PBS inventory a PVE storage target writes to (see [`PbsTarget::find_server`]).
pub(crate) fn find_pbs(pbs: &[PbsInventory], target: &PbsTarget) -> Option<usize> {
    target.find_server(
        pbs.iter()
            .map(|p| (p.host.as_str(), p.fingerprint.as_deref())),
    )
}

impl<'a> Index<'a> {
    /// Adds a run of one group's snapshots to the group (a group split into several runs by an
    /// unsorted list is merged; the finished ones are sorted by time afterwards).
    fn merge_group(&mut self, key: GroupKey<'a>, run: Group<'a>) {
        let group = self.groups.entry(key).or_default();
        group.finished.extend(run.finished);
        group.in_progress += run.in_progress;
        group.latest_any = group.latest_any.max(run.latest_any);
    }
}

/// Parse a node's IANA zone.
pub(crate) fn parse_tz(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

impl<'a> Index<'a> {
    /// Build every lookup in one pass over one cluster's view of the inventory.
    pub fn build(scope: Scope<'a>) -> Index<'a> {
        let mut index = Index {
            scope,
            guests: BTreeMap::new(),
            guests_complete: false,
            storages: BTreeMap::new(),
            storages_complete: false,
            nodes: BTreeMap::new(),
            links: BTreeMap::new(),
            groups: HashMap::new(),
            storage_backups: BTreeMap::new(),
            storage_backups_complete: false,
            anomalies: Vec::new(),
        };
        for (server, pbs) in scope.pbs.iter().enumerate() {
            for datastore in &pbs.datastores.items {
                // A datastore's snapshots come sorted by group: a run of one group's snapshots is
                // gathered first and merged with one map lookup (70 000 string-keyed lookups were
                // ~6 % of a 5 000-guest run's CPU). Any order still gives the same groups.
                let mut run: Option<(GroupKey<'a>, Group<'a>)> = None;
                for snapshot in &datastore.snapshots.items {
                    let key = (
                        server,
                        datastore.name.as_str(),
                        &*snapshot.namespace,
                        snapshot.backup_type.as_str(),
                        snapshot.backup_id.as_str(),
                    );
                    if run.as_ref().is_some_and(|(current, _)| *current != key) {
                        if let Some((done, group)) = run.take() {
                            index.merge_group(done, group);
                        }
                    }
                    let (_, group) = run.get_or_insert_with(|| (key, Group::default()));
                    if snapshot.in_progress() {
                        group.in_progress += 1;
                    } else {
                        group.finished.push(snapshot);
                    }
                    group.latest_any = group.latest_any.max(Some(snapshot.time));
                }
                if let Some((done, group)) = run {
                    index.merge_group(done, group);
                }
            }
        }
        for group in index.groups.values_mut() {
            group.finished.sort_by_key(|s| s.time);
        }
        let Some(pve) = scope.pve else {
            return index;
        };
        index.guests = pve.guests.items.iter().map(|g| (g.vmid, g)).collect();
        index.guests_complete = pve.guests.completeness.is_complete();
        index.storages = pve
            .storages
            .items
            .iter()
            .map(|s| (s.id.as_str(), s))
            .collect();
        index.storages_complete = pve.storages.completeness.is_complete();
        index.nodes = pve
            .nodes
            .items
            .iter()
            .map(|n| (n.name.as_str(), n))
            .collect();
        for backup in &pve.storage_backups.items {
            index
                .storage_backups
                .entry((backup.storage.as_str(), backup.vmid))
                .or_default()
                .push(backup);
        }
        for list in index.storage_backups.values_mut() {
            list.sort_by_key(|b| b.time);
        }
        index.storage_backups_complete = pve.storage_backups.completeness.is_complete();

        for node in &pve.nodes.items {
            if let Some(zone) = &node.timezone {
                if parse_tz(zone).is_none() {
                    index.anomalies.push(Anomaly::new(
                        Severity::Warning,
                        format!("pve/nodes/{}", node.name),
                        format!("node {} reports an unknown time zone '{zone}'", node.name),
                        "schedules of jobs on this node are evaluated in UTC, so previous/next \
                         runs and freshness may be off by the zone's offset; check \
                         `timedatectl` on the node",
                    ));
                }
            }
        }

        let storages: Vec<&'a Storage> = pve.storages.items.iter().collect();
        for storage in storages {
            let link = match &storage.pbs {
                None => StorageLink::Files,
                Some(target) => match find_pbs(scope.pbs, target) {
                    None => StorageLink::PbsUnlinked(target),
                    Some(server) => match scope.pbs[server]
                        .datastores
                        .items
                        .iter()
                        .find(|d| d.name == target.datastore)
                    {
                        Some(datastore) => StorageLink::Pbs {
                            server,
                            datastore,
                            namespace: target.namespace.clone().unwrap_or_default(),
                        },
                        None => StorageLink::PbsUnlinked(target),
                    },
                },
            };
            index.links.insert(storage.id.as_str(), link);
        }
        index
    }

    /// Where a storage keeps its backups.
    pub fn link(&self, storage: &str) -> StorageLink<'a> {
        self.links
            .get(storage)
            .cloned()
            .unwrap_or(StorageLink::Unknown)
    }

    /// A node's time zone and whether it is known (UTC when not).
    pub fn node_tz(&self, node: &str) -> (Tz, bool) {
        match self
            .nodes
            .get(node)
            .and_then(|n| n.timezone.as_deref())
            .and_then(parse_tz)
        {
            Some(tz) => (tz, true),
            None => (Tz::UTC, false),
        }
    }

    /// The task history completeness of a node: (complete, requested_since).
    pub fn node_history(&self, node: &str) -> (bool, Option<DateTime<Utc>>) {
        let Some(pve) = self.scope.pve else {
            return (false, None);
        };
        match pve.task_history.iter().find(|h| h.node == node) {
            Some(history) => (
                history.completeness.is_complete() && !history.capped,
                Some(history.requested_since),
            ),
            None => (false, None),
        }
    }

    /// Why a storage's archives cannot be listed now, so that an archive not found there is
    /// unknown rather than missing: a PVE storage that is disabled (its content is not read), a
    /// PBS datastore in a maintenance mode that blocks reads, or a removable one not mounted.
    pub fn unreadable(&self, storage: &str) -> Option<String> {
        self.unusable(storage, false)
    }

    /// Why a job writing to `storage` fails now: as [`Index::unreadable`], and also read-only
    /// maintenance, which blocks writes.
    pub fn unwritable(&self, storage: &str) -> Option<String> {
        self.unusable(storage, true)
    }

    fn unusable(&self, storage: &str, writing: bool) -> Option<String> {
        if let Some(s) = self.storages.get(storage) {
            if !s.enabled {
                return Some(format!("storage '{storage}' is disabled in PVE"));
            }
        }
        let StorageLink::Pbs {
            server, datastore, ..
        } = self.link(storage)
        else {
            return None;
        };
        let pbs = self.scope.pbs[server].name.as_str();
        if datastore.unmounted {
            return Some(format!(
                "removable datastore '{}' on PBS {pbs} is not mounted",
                datastore.name
            ));
        }
        match datastore.maintenance.as_deref() {
            Some("read-only") if !writing => None,
            Some(mode) => Some(format!(
                "datastore '{}' on PBS {pbs} is in {mode} maintenance",
                datastore.name
            )),
            None => None,
        }
    }

    /// Places `(server, datastore, namespace)` that some PVE storage targets.
    pub fn targeted_places(&self) -> BTreeSet<(usize, &'a str, String)> {
        self.links
            .values()
            .filter_map(|link| match link {
                StorageLink::Pbs {
                    server,
                    datastore,
                    namespace,
                } => Some((*server, datastore.name.as_str(), namespace.clone())),
                _ => None,
            })
            .collect()
    }
}

/// The completeness of a storage's archive listing (PBS datastore snapshots or PVE content).
pub(crate) fn archive_completeness<'a>(
    index: &'a Index<'_>,
    link: &'a StorageLink<'_>,
) -> &'a Completeness {
    static COMPLETE: Completeness = Completeness::Complete;
    match link {
        StorageLink::Pbs { datastore, .. } => &datastore.snapshots.completeness,
        _ => match index.scope.pve {
            Some(pve) => &pve.storage_backups.completeness,
            None => &COMPLETE,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::coverage::fixtures::*;
    use crate::model::BackupType;

    /// Groups gathered run by run are the groups of a one-lookup-per-snapshot pass, whatever the
    /// order of the list: sorted (the collector's) or interleaved.
    #[test]
    fn snapshot_groups_do_not_depend_on_the_list_order() {
        let times = [
            "2026-01-03T01:00:00Z",
            "2026-01-01T01:00:00Z",
            "2026-01-02T01:00:00Z",
        ];
        let mut fx = Fx::new();
        for time in times {
            for id in ["100", "101"] {
                fx = fx.snapshot("", BackupType::Vm, id, time, Some(1), |_| {});
            }
        }
        fx = fx.snapshot(
            "",
            BackupType::Vm,
            "100",
            "2026-01-04T01:00:00Z",
            None,
            |_| {},
        );
        let interleaved = fx.build();
        let mut sorted = interleaved.clone();
        sorted.pbs[0].datastores.items[0].snapshots.items.sort();

        let describe = |inventory: &crate::model::Inventory| {
            let index = Index::build(Scope {
                pve: inventory.pve.first(),
                pbs: &inventory.pbs,
            });
            let mut groups = index
                .groups
                .iter()
                .map(|(key, group)| {
                    let times: Vec<_> = group.finished.iter().map(|s| s.time).collect();
                    (
                        key.4.to_string(),
                        times,
                        group.in_progress,
                        group.latest_any,
                    )
                })
                .collect::<Vec<_>>();
            groups.sort();
            groups
        };
        let groups = describe(&interleaved);
        assert_eq!(groups, describe(&sorted));
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].0, "100");
        assert_eq!(groups[0].1.len(), 3);
        assert!(groups[0].1.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(groups[0].2, 1);
        assert_eq!(groups[0].3, Some(t("2026-01-04T01:00:00Z")));
        assert_eq!((groups[1].1.len(), groups[1].2), (3, 0));
    }
}
