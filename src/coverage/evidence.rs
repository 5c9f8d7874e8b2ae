//! Archive evidence: each guest's backups found on PBS (through its storages' server, datastore
//! and namespace, and its type `vm`/`ct`) or, as a fallback, in PVE storage content; the flags
//! that follow (unverified, verification failed, archive missing, VMID reuse); and orphans.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Anomaly, BackupType, Guest, Severity, Snapshot, StorageBackup, VerifyState};
use crate::tasklog::ArchiveTarget;

use super::index::{archive_completeness, Index, StorageLink};
use super::report::{ArchiveEvidence, EvidenceSource, GuestFlag, OrphanSnapshot};
use super::runs::{RunRecord, RunStatus};

/// What one storage tells about one guest's archives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlaceEvidence {
    /// The latest finished archive.
    pub latest: Option<ArchiveEvidence>,
    /// Whether the listing is complete, so that an absence means absence.
    pub complete: bool,
    /// Why not, when not complete.
    pub incomplete_reason: Option<String>,
}

/// Everything the archives tell about one guest.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GuestArchives {
    /// Per storage id.
    pub places: BTreeMap<String, PlaceEvidence>,
    /// The latest archive over all places.
    pub latest: Option<ArchiveEvidence>,
    /// Flags (`unverified`, `verify_failed`, `archive_missing`, `vmid_reuse`, `encrypted`, …).
    pub flags: BTreeSet<GuestFlag>,
    /// Anomalies about this guest's archives.
    pub anomalies: Vec<Anomaly>,
}

fn verification_text(state: &Option<VerifyState>) -> Option<String> {
    match state {
        None => None,
        Some(VerifyState::Ok) => Some("ok".to_string()),
        Some(VerifyState::Failed) => Some("failed".to_string()),
        Some(VerifyState::Other(other)) => Some(other.clone()),
    }
}

fn from_snapshot(
    server: &str,
    datastore: &str,
    storage: &str,
    snapshot: &Snapshot,
    count: usize,
    last_verified_ok: Option<chrono::DateTime<chrono::Utc>>,
) -> ArchiveEvidence {
    ArchiveEvidence {
        server: server.to_string(),
        datastore: datastore.to_string(),
        namespace: snapshot.namespace.to_string(),
        time: snapshot.time,
        size_bytes: snapshot.size,
        verification: verification_text(&snapshot.verification),
        verified_at: snapshot.verified_at,
        last_verified_ok,
        protected: snapshot.protected,
        encrypted: snapshot.encrypted,
        snapshot_count: count,
        source: EvidenceSource::Pbs,
        storage: storage.to_string(),
    }
}

fn from_content(
    index: &Index<'_>,
    storage: &str,
    backup: &StorageBackup,
    count: usize,
) -> ArchiveEvidence {
    let target = index.storages.get(storage).and_then(|s| s.pbs.as_ref());
    ArchiveEvidence {
        server: storage.to_string(),
        datastore: target.map(|t| t.datastore.clone()).unwrap_or_default(),
        namespace: target.and_then(|t| t.namespace.clone()).unwrap_or_default(),
        time: backup.time,
        size_bytes: backup.size,
        verification: backup.verification.clone(),
        verified_at: None,
        last_verified_ok: None,
        protected: backup.protected,
        encrypted: backup.encrypted,
        snapshot_count: count,
        source: EvidenceSource::Storage,
        storage: storage.to_string(),
    }
}

fn other_type(kind: &BackupType) -> &'static str {
    match kind {
        BackupType::Vm => "ct",
        _ => "vm",
    }
}

/// Gather a guest's archive evidence from `storages` (its jobs' and runs' storages).
pub(crate) fn guest_archives(
    index: &Index<'_>,
    guest: &Guest,
    storages: &BTreeSet<String>,
    runs: &[RunRecord<'_>],
) -> GuestArchives {
    let mut out = GuestArchives::default();
    let component = format!("guest/{}", guest.vmid);
    let vmid_text = guest.vmid.to_string();
    let own_type = guest.kind.pbs_type();
    for storage in storages {
        let link = index.link(storage);
        let completeness = archive_completeness(index, &link);
        let mut place = PlaceEvidence {
            latest: None,
            complete: completeness.is_complete(),
            incomplete_reason: completeness
                .reason()
                .map(|r| format!("archive listing for storage '{storage}' is incomplete: {r}")),
        };
        // A store that cannot be read now may hold archives no listing shows.
        if let Some(why) = index.unreadable(storage) {
            place.complete = false;
            place.incomplete_reason = Some(format!(
                "archives on storage '{storage}' cannot be listed: {why}"
            ));
        }
        match &link {
            StorageLink::Pbs {
                server,
                datastore,
                namespace,
            } => {
                let server_name = index.scope.pbs[*server].name.as_str();
                let key = (
                    *server,
                    datastore.name.as_str(),
                    namespace.as_str(),
                    own_type.as_str(),
                    vmid_text.as_str(),
                );
                if let Some(group) = index.groups.get(&key) {
                    if let Some(latest) = group.finished.last() {
                        let last_ok = group
                            .finished
                            .iter()
                            .rev()
                            .find(|s| s.verification == Some(VerifyState::Ok))
                            .map(|s| s.time);
                        place.latest = Some(from_snapshot(
                            server_name,
                            &datastore.name,
                            storage,
                            latest,
                            group.finished.len(),
                            last_ok,
                        ));
                        if let (Some(comment), Some(name)) = (&latest.comment, &guest.name) {
                            let comment = comment.trim();
                            if !comment.is_empty()
                                && !comment.to_lowercase().contains(&name.to_lowercase())
                            {
                                out.flags.insert(GuestFlag::VmidReuse);
                                out.anomalies.push(Anomaly::new(
                                    Severity::Info,
                                    component.clone(),
                                    format!(
                                        "the latest snapshot of {}/{} on {server_name}:{} has \
                                         comment '{comment}', which does not name the guest \
                                         '{name}'",
                                        own_type.as_str(),
                                        guest.vmid,
                                        datastore.name
                                    ),
                                    "the guest was renamed, or the VMID was reused and older \
                                     snapshots belong to a deleted guest; check before restoring",
                                ));
                            }
                        }
                    }
                    // Check the missing-archive rule below with the group at hand.
                }
                let other = (
                    *server,
                    datastore.name.as_str(),
                    namespace.as_str(),
                    other_type(&own_type),
                    vmid_text.as_str(),
                );
                if index
                    .groups
                    .get(&other)
                    .is_some_and(|g| !g.finished.is_empty())
                {
                    out.flags.insert(GuestFlag::VmidReuse);
                    out.anomalies.push(Anomaly::new(
                        Severity::Info,
                        component.clone(),
                        format!(
                            "{server_name}:{} namespace '{namespace}' also holds group {}/{} \
                             although guest {} is a {}",
                            datastore.name,
                            other_type(&own_type),
                            guest.vmid,
                            guest.vmid,
                            guest.kind.as_str()
                        ),
                        "the VMID was reused: those snapshots belong to a deleted guest of the \
                         other type; they are not backups of this guest",
                    ));
                }
                if let Some(missing) = missing_pbs_archive(index, storage, &link, runs) {
                    out.flags.insert(GuestFlag::ArchiveMissing);
                    out.anomalies.push(Anomaly::new(
                        Severity::Warning,
                        component.clone(),
                        format!(
                            "the backup task reported success but snapshot {missing} is not on \
                             {server_name}:{} namespace '{namespace}'",
                            datastore.name
                        ),
                        "it was pruned or deleted, or the storage points elsewhere; run a \
                         backup and check the datastore",
                    ));
                }
            }
            _ => {
                let entries: Vec<&StorageBackup> = index
                    .storage_backups
                    .get(&(storage.as_str(), guest.vmid))
                    .map(|list| {
                        list.iter()
                            .copied()
                            .filter(|b| b.size.is_some())
                            .filter(|b| b.kind.is_none_or(|k| k == guest.kind))
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(latest) = entries.last() {
                    place.latest = Some(from_content(index, storage, latest, entries.len()));
                }
                if let Some(missing) = missing_file_archive(index, storage, runs, guest.vmid) {
                    out.flags.insert(GuestFlag::ArchiveMissing);
                    out.anomalies.push(Anomaly::new(
                        Severity::Warning,
                        component.clone(),
                        format!(
                            "the backup task reported success but archive {missing} is not in \
                             the content of storage '{storage}'"
                        ),
                        "it was pruned or deleted; run a backup and check the storage",
                    ));
                }
            }
        }
        out.places.insert(storage.clone(), place);
    }
    out.latest = out
        .places
        .values()
        .filter_map(|p| p.latest.clone())
        .max_by(|a, b| a.time.cmp(&b.time).then_with(|| b.storage.cmp(&a.storage)));
    if let Some(latest) = &out.latest {
        let verifiable = latest.source == EvidenceSource::Pbs
            || index
                .storages
                .get(latest.storage.as_str())
                .is_some_and(|s| s.pbs.is_some());
        if verifiable {
            match latest.verification.as_deref() {
                None => {
                    out.flags.insert(GuestFlag::Unverified);
                }
                Some("ok") => {}
                Some("failed") => {
                    out.flags.insert(GuestFlag::VerifyFailed);
                    let at = |t: chrono::DateTime<chrono::Utc>| {
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    };
                    out.anomalies.push(Anomaly::new(
                        Severity::Warning,
                        format!("guest/{}", guest.vmid),
                        format!(
                            "the latest snapshot of guest {} ({}) failed verification",
                            guest.vmid,
                            at(latest.time)
                        ),
                        match latest.last_verified_ok {
                            Some(ok) => format!(
                                "restore from {} (the newest snapshot verified ok); run a new backup \
                                 and re-verify — PBS does not re-verify a failed snapshot by default",
                                at(ok)
                            ),
                            None => "no snapshot of it verified ok: none is known to be restorable; \
                                     run a new backup and verify it"
                                .to_string(),
                        },
                    ));
                }
                Some(_) => {
                    out.flags.insert(GuestFlag::Unverified);
                }
            }
        }
        match latest.encrypted {
            Some(true) => out.flags.insert(GuestFlag::Encrypted),
            Some(false) => out.flags.insert(GuestFlag::NotEncrypted),
            None => false,
        };
    }
    out
}

/// The latest successful run to `storage` with a PBS archive, when that snapshot is absent
/// from a complete listing.
fn missing_pbs_archive(
    index: &Index<'_>,
    storage: &str,
    link: &StorageLink<'_>,
    runs: &[RunRecord<'_>],
) -> Option<String> {
    let StorageLink::Pbs {
        server,
        datastore,
        namespace,
    } = link
    else {
        return None;
    };
    if !datastore.snapshots.completeness.is_complete() || index.unreadable(storage).is_some() {
        return None;
    }
    let run = runs
        .iter()
        .find(|r| r.status == RunStatus::Ok && r.storage == Some(storage))?;
    let Some(ArchiveTarget::Pbs {
        backup_type,
        backup_id,
        backup_time,
    }) = run.archive.as_deref()
    else {
        return None;
    };
    let key = (
        *server,
        datastore.name.as_str(),
        namespace.as_str(),
        backup_type.as_str(),
        backup_id.as_str(),
    );
    let present = index
        .groups
        .get(&key)
        .is_some_and(|g| g.finished.iter().any(|s| s.time == *backup_time));
    if present {
        None
    } else {
        Some(super::runs::archive_name(run.archive.as_deref()?))
    }
}

/// The latest successful run to a file `storage`, when its archive is absent from a complete
/// storage-content listing.
fn missing_file_archive(
    index: &Index<'_>,
    storage: &str,
    runs: &[RunRecord<'_>],
    vmid: u32,
) -> Option<String> {
    if !index.storage_backups_complete
        || !index.storages.contains_key(storage)
        || index.unreadable(storage).is_some()
    {
        return None;
    }
    let run = runs
        .iter()
        .find(|r| r.status == RunStatus::Ok && r.storage == Some(storage))?;
    let Some(ArchiveTarget::File { path }) = run.archive.as_deref() else {
        return None;
    };
    let file = path.rsplit('/').next().unwrap_or(path);
    let present = index
        .storage_backups
        .get(&(storage, vmid))
        .is_some_and(|list| list.iter().any(|b| b.volid.ends_with(file)));
    if present {
        None
    } else {
        Some(file.to_string())
    }
}

/// Snapshot groups in places some PVE storage targets whose VMID is not an existing guest.
/// Empty (and not claimed) when the guest list is incomplete.
pub(crate) fn orphans(index: &Index<'_>) -> Vec<OrphanSnapshot> {
    if !index.guests_complete || index.scope.pve.is_none() {
        return Vec::new();
    }
    let places = index.targeted_places();
    let mut out = Vec::new();
    for ((server, datastore, namespace, kind, id), group) in &index.groups {
        if !matches!(*kind, "vm" | "ct") {
            continue;
        }
        let Ok(vmid) = id.parse::<u32>() else {
            continue;
        };
        if index.guests.contains_key(&vmid)
            || !places.contains(&(*server, *datastore, namespace.to_string()))
        {
            continue;
        }
        let latest = group.finished.last().map(|s| s.time).or(group.latest_any);
        let Some(latest) = latest else { continue };
        out.push(OrphanSnapshot {
            server: index.scope.pbs[*server].name.clone(),
            datastore: datastore.to_string(),
            namespace: namespace.to_string(),
            backup_type: kind.to_string(),
            backup_id: id.to_string(),
            latest,
            snapshots: group.finished.len(),
        });
    }
    out.sort();
    out
}
