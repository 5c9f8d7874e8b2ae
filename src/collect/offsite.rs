//! Copies elsewhere, read from one PBS: sync jobs of both directions (already fetched with the
//! other job lists), remotes, tape backup jobs and, when a tape job is visible, the tape catalog.
//!
//! `Remote.Audit` and `Tape.Audit` are not in the `Audit` role, and PBS answers a token without
//! them with empty lists and no error: that is "cannot see", never "no copies", so each list is
//! marked partial and one warning names the grant that fixes it.

use super::{epoch, kept, unavailable, with_partial, Failed};
use crate::api::pbs::PbsApi;
use crate::api::pbs_types as wire;
use crate::model::permissions::Need;
use crate::model::{
    Anomaly, BackupType, Completeness, CopyInventory, Observed, PermissionMap, Remote, Severity,
    SyncDirection, SyncJob, TapeCopy, TapeJob,
};
use crate::upid::pbs_start;

/// Whether `need` is met everywhere below its ACL path; `Err` names what is missing and its fix.
fn visibility(perms: Option<&PermissionMap>, need: Need) -> Result<(), String> {
    let req = need.requirement();
    match perms {
        Some(p) if p.has_everywhere_below(req.acl_path, req.privilege) => Ok(()),
        Some(_) => Err(format!(
            "the token lacks {} on {}: {}",
            req.privilege, req.acl_path, req.effect
        )),
        None => Err("the token's privileges could not be read".to_string()),
    }
}

/// What a list shows, given whether the token may see all of it.
fn seen(gap: Option<&String>) -> Completeness {
    gap.map_or(Completeness::Complete, |gap| Completeness::Partial {
        reason: gap.clone(),
    })
}

fn fix_text(need: Need) -> String {
    need.requirement()
        .fix("<auth-id>")
        .map(|fix| format!("Fix: {fix}"))
        .unwrap_or_default()
}

/// Read remotes, tape jobs and tape content, and turn the sync-job answer into [`SyncJob`]s.
pub(crate) async fn read_copies(
    api: &PbsApi,
    perms: Option<&PermissionMap>,
    sync: Vec<wire::SyncJobStatus>,
    sync_completeness: &Completeness,
    sync_failed: Option<String>,
    component: &str,
    anomalies: &mut Vec<Anomaly>,
) -> CopyInventory {
    let (remotes, tape_jobs) = tokio::join!(api.remotes_listed(), api.tape_jobs_listed());
    let remote_gap = visibility(perms, Need::PbsRemotes).err();
    let tape_gap = visibility(perms, Need::PbsTape).err();
    if let Some(gap) = &remote_gap {
        anomalies.push(Anomaly::new(
            Severity::Warning,
            component,
            "sync jobs and remotes may be hidden: off-site copies cannot be fully seen",
            format!(
                "{gap}; PBS answers with a shorter or empty list and no error. {}",
                fix_text(Need::PbsRemotes)
            ),
        ));
    }
    if let Some(gap) = &tape_gap {
        anomalies.push(Anomaly::new(
            Severity::Warning,
            component,
            "tape backup jobs and tape content may be hidden: copies on tape cannot be fully seen",
            format!(
                "{gap}; PBS answers with a shorter or empty list and no error. {}",
                fix_text(Need::PbsTape)
            ),
        ));
    }

    let mut jobs: Vec<SyncJob> = sync.into_iter().map(sync_job).collect();
    jobs.sort_by(|a, b| a.id.cmp(&b.id));
    let sync_jobs = match sync_failed {
        Some(reason) => Observed::unavailable(format!("the sync jobs could not be read: {reason}")),
        None => Observed {
            items: jobs,
            completeness: with_partial(sync_completeness.clone(), remote_gap.clone()),
        },
    };

    let remotes = match remotes {
        Ok(list) => {
            let (items, bad) = kept(list, Severity::Warning, component, "remotes", anomalies);
            let mut items: Vec<Remote> = items.into_iter().map(remote).collect();
            items.sort_by(|a, b| a.name.cmp(&b.name));
            let visible = seen(remote_gap.as_ref());
            Observed {
                items,
                completeness: with_partial(visible, bad),
            }
        }
        Err(err) => unavailable(
            err,
            Failed::new(Severity::Warning, component, "the remotes"),
            |err| format!("the remotes could not be read: {}", err.kind),
            anomalies,
        ),
    };

    let tape_jobs = match tape_jobs {
        Ok(list) => {
            let (items, bad) = kept(
                list,
                Severity::Warning,
                component,
                "tape backup jobs",
                anomalies,
            );
            let mut items: Vec<TapeJob> = items.into_iter().map(tape_job).collect();
            items.sort_by(|a, b| a.id.cmp(&b.id));
            let visible = seen(tape_gap.as_ref());
            Observed {
                items,
                completeness: with_partial(visible, bad),
            }
        }
        Err(err) => unavailable(
            err,
            Failed::new(Severity::Warning, component, "the tape backup jobs"),
            |err| format!("the tape backup jobs could not be read: {}", err.kind),
            anomalies,
        ),
    };

    // The catalog is read only when a tape job is visible: a server without tape has nothing
    // there, and the question is only asked of copies a job makes.
    let tape_content = if tape_jobs.items.is_empty() {
        Observed {
            items: Vec::new(),
            completeness: tape_jobs.completeness.clone(),
        }
    } else {
        match api.tape_content_listed().await {
            Ok(list) => {
                let (items, bad) = kept(
                    list,
                    Severity::Warning,
                    component,
                    "tape content entries",
                    anomalies,
                );
                let mut unreadable = 0usize;
                let mut copies: Vec<TapeCopy> = items
                    .into_iter()
                    .filter_map(|entry| {
                        let copy = tape_copy(entry);
                        if copy.is_none() {
                            unreadable += 1;
                        }
                        copy
                    })
                    .collect();
                copies.sort();
                copies.dedup();
                // Both gaps are kept: a malformed row and an unreadable snapshot name are
                // different reasons why the catalog shows less than it holds.
                let unknown_form = (unreadable > 0).then(|| {
                    format!("{unreadable} tape content entries name a snapshot in an unknown form")
                });
                let visible = seen(tape_gap.as_ref());
                Observed {
                    items: copies,
                    completeness: with_partial(with_partial(visible, bad), unknown_form),
                }
            }
            Err(err) => unavailable(
                err,
                Failed::new(Severity::Warning, component, "the tape content"),
                |err| format!("the tape content could not be read: {}", err.kind),
                anomalies,
            ),
        }
    };

    CopyInventory {
        sync_jobs,
        remotes,
        tape_jobs,
        tape_content,
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

fn run_start(status: &wire::JobScheduleStatus) -> Option<chrono::DateTime<chrono::Utc>> {
    status
        .last_run_upid
        .as_deref()
        .and_then(pbs_start)
        .and_then(epoch)
}

fn sync_job(j: wire::SyncJobStatus) -> SyncJob {
    let (direction, unknown_direction) = match &j.sync_direction {
        None | Some(wire::SyncDirection::Pull) => (SyncDirection::Pull, None),
        Some(wire::SyncDirection::Push) => (SyncDirection::Push, None),
        Some(other) => (SyncDirection::Pull, Some(other.as_str().to_string())),
    };
    SyncJob {
        last_run_start: run_start(&j.status),
        last_run_state: j.status.last_run_state.clone(),
        last_run_end: j.status.last_run_endtime.and_then(epoch),
        next_run: j.status.next_run.and_then(epoch),
        id: j.id,
        direction,
        unknown_direction,
        store: j.store,
        ns: j.ns.unwrap_or_default(),
        remote: non_empty(j.remote),
        remote_store: non_empty(j.remote_store),
        remote_ns: j.remote_ns.unwrap_or_default(),
        max_depth: j.max_depth,
        group_filter: j.group_filter.unwrap_or_default(),
        transfer_last: j.transfer_last,
        verified_only: j.verified_only.unwrap_or(false),
        encrypted_only: j.encrypted_only.unwrap_or(false),
        schedule: non_empty(j.schedule),
        comment: non_empty(j.comment),
    }
}

fn remote(r: wire::RemoteItem) -> Remote {
    Remote {
        name: r.name,
        host: non_empty(r.host),
        port: r.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(8007),
        fingerprint: non_empty(r.fingerprint),
        auth_id: non_empty(r.auth_id),
    }
}

fn tape_job(j: wire::TapeBackupJobStatus) -> TapeJob {
    TapeJob {
        last_run_start: run_start(&j.status),
        last_run_state: j.status.last_run_state.clone(),
        last_run_end: j.status.last_run_endtime.and_then(epoch),
        next_run: j.status.next_run.and_then(epoch),
        id: j.id,
        store: j.store,
        pool: non_empty(j.pool),
        ns: j.ns.unwrap_or_default(),
        max_depth: j.max_depth,
        group_filter: j.group_filter.unwrap_or_default(),
        latest_only: j.latest_only.unwrap_or(false),
        schedule: non_empty(j.schedule),
    }
}

fn tape_copy(entry: wire::MediaContentEntry) -> Option<TapeCopy> {
    let (namespace, backup_type, backup_id) = entry.group()?;
    Some(TapeCopy {
        store: entry.store,
        namespace,
        backup_type: BackupType::parse(&backup_type),
        backup_id,
        time: epoch(entry.backup_time)?,
        media_set: non_empty(entry.media_set_name).or(non_empty(entry.media_set_uuid)),
        pool: non_empty(entry.pool),
        label: non_empty(entry.label_text),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn sync_jobs_keep_direction_anchors_and_filters() {
        let wire: wire::SyncJobStatus = serde_json::from_value(json!({
            "id": "push-1", "store": "store1", "ns": "pve", "remote": "offsite",
            "remote-store": "copy", "remote-ns": "site-a", "max-depth": 1,
            "group-filter": ["type:vm", "exclude:group:vm/105"], "transfer-last": 3,
            "verified-only": "1", "sync-direction": "push",
            "last-run-upid": "UPID:pbs1:000004D2:0000ABCD:00000003:6650A2B4:syncjob:x:root@pam:",
            "last-run-state": "OK", "last-run-endtime": 1716560600
        }))
        .unwrap();
        let job = sync_job(wire);
        assert_eq!(job.direction, SyncDirection::Push);
        assert_eq!(job.ns, "pve");
        assert_eq!(job.remote_ns, "site-a");
        assert_eq!(job.max_depth, Some(1));
        assert_eq!(job.transfer_last, Some(3));
        assert!(job.verified_only && !job.encrypted_only);
        assert_eq!(job.last_run_start.map(|t| t.timestamp()), Some(0x6650_A2B4));
        let pull: wire::SyncJobStatus =
            serde_json::from_value(json!({"id": "p", "store": "s", "sync-direction": "sideways"}))
                .unwrap();
        let pull = sync_job(pull);
        assert_eq!(pull.direction, SyncDirection::Pull);
        assert_eq!(pull.unknown_direction.as_deref(), Some("sideways"));
        assert_eq!(pull.remote, None);
    }

    #[test]
    fn tape_content_paths_give_namespace_type_and_id() {
        let entry = |snapshot: &str| -> Option<TapeCopy> {
            tape_copy(
                serde_json::from_value(json!({
                    "store": "store1", "snapshot": snapshot, "backup-time": 1716560564,
                    "media-set-name": "weekly 2024-05-24", "pool": "weekly", "label-text": "TAPE01"
                }))
                .unwrap(),
            )
        };
        let root = entry("vm/100/2024-05-24T14:22:44Z").unwrap();
        assert_eq!(
            (root.namespace.as_str(), root.backup_id.as_str()),
            ("", "100")
        );
        assert_eq!(root.backup_type, BackupType::Vm);
        let nested = entry("ns/pve/ns/prod/ct/200/2024-05-24T14:22:44Z").unwrap();
        assert_eq!(nested.namespace, "pve/prod");
        assert_eq!(nested.backup_type, BackupType::Ct);
        assert_eq!(nested.media_set.as_deref(), Some("weekly 2024-05-24"));
        assert!(entry("pve/vm/100/2024-05-24T14:22:44Z").is_none());
        assert!(entry("vm/100").is_none());
    }

    #[test]
    fn remotes_default_to_port_8007_and_never_hold_a_password() {
        let r: wire::RemoteItem = serde_json::from_value(json!({
            "name": "offsite", "host": "pbs2.example.com", "auth-id": "sync@pbs",
            "password": "secret-never-kept"
        }))
        .unwrap();
        assert!(!format!("{r:?}").contains("secret-never-kept"));
        let r = remote(r);
        assert_eq!(r.port, 8007);
        assert_eq!(r.host.as_deref(), Some("pbs2.example.com"));
    }
}
