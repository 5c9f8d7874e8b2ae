//! The source of a PVE restore task (`qmrestore`, `vzrestore`), read from its log, and the
//! snapshot a PBS `reader` task opened, read from its worker id.
//!
//! Formats (copies-and-evolution reference §B7): qemu-server `restore_proxmox_backup_archive`
//! logs one `restore proxmox backup image: /usr/bin/pbs-restore --repository <repo> [--ns <ns>]
//! <vm/<id>/<RFC3339Z>> drive-….img.fidx …` line per disk; a live-restore logs `repository:
//! '<repo>', snapshot: '<vm/…>'`; pve-container logs `recovering backed-up configuration from
//! '<storage>:backup/ct/<id>/<time>'` and `restoring '<volid>' now..`. A log without any of
//! these (a restore from a local archive file, a garbled log) gives no source, never a guess.

use serde::{Deserialize, Serialize};

/// Where a restore read its data from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RestoreSource {
    /// The snapshot path (`vm/100/2026-12-01T01:00:00Z`), or for a container restore the part of
    /// the volume id after `backup/`.
    pub snapshot: String,
    /// The PBS repository (`user@server:store`) or the PVE storage id the snapshot was read from.
    pub from: Option<String>,
    /// The PBS namespace (`--ns`), when not the root.
    pub namespace: Option<String>,
}

/// The source of a `qmrestore` or `vzrestore` task from its log lines; the first line that
/// names one wins (every disk of one restore names the same snapshot).
pub fn parse_restore_log<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<RestoreSource> {
    lines.into_iter().find_map(|line| {
        pbs_restore_line(line)
            .or_else(|| live_restore_line(line))
            .or_else(|| container_line(line))
    })
}

/// `restore proxmox backup image: /usr/bin/pbs-restore --repository R [--ns N] vm/ID/TIME …`.
fn pbs_restore_line(line: &str) -> Option<RestoreSource> {
    let (_, command) = line.split_once("restore proxmox backup image: ")?;
    let mut words = command.split_whitespace();
    let (mut from, mut namespace, mut snapshot) = (None, None, None);
    while let Some(word) = words.next() {
        match word {
            "--repository" => from = words.next().map(str::to_string),
            "--ns" => namespace = words.next().map(str::to_string),
            // Every other option of pbs-restore that takes a value.
            "--keyfile" | "--format" | "--master-keyfile" => {
                words.next();
            }
            _ if snapshot.is_none() && is_snapshot_path(word) => snapshot = Some(word.to_string()),
            _ => {}
        }
    }
    Some(RestoreSource {
        snapshot: snapshot?,
        from,
        namespace: namespace.filter(|ns| !ns.is_empty()),
    })
}

/// `repository: '<repo>', snapshot: '<vm/…>'` (live-restore).
fn live_restore_line(line: &str) -> Option<RestoreSource> {
    let (_, rest) = line.split_once("repository: '")?;
    let (repo, rest) = rest.split_once('\'')?;
    let (_, rest) = rest.split_once("snapshot: '")?;
    let (snapshot, _) = rest.split_once('\'')?;
    is_snapshot_path(snapshot).then(|| RestoreSource {
        snapshot: snapshot.to_string(),
        from: Some(repo.to_string()),
        namespace: None,
    })
}

/// `recovering backed-up configuration from '<storage>:backup/ct/<id>/<time>'` or
/// `restoring '<volid>' now..`.
fn container_line(line: &str) -> Option<RestoreSource> {
    let rest = line
        .split_once("recovering backed-up configuration from '")
        .or_else(|| line.split_once("restoring '"))
        .map(|(_, rest)| rest)?;
    let (volid, _) = rest.split_once('\'')?;
    let (storage, volume) = volid.split_once(':')?;
    let snapshot = volume.strip_prefix("backup/")?;
    (!storage.is_empty() && !snapshot.is_empty()).then(|| RestoreSource {
        snapshot: snapshot.to_string(),
        from: Some(storage.to_string()),
        namespace: None,
    })
}

/// `vm/<id>/<time>` or `ct/<id>/<time>`, the time an RFC 3339 instant.
fn is_snapshot_path(word: &str) -> bool {
    let mut parts = word.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("vm" | "ct"), Some(id), Some(time), None)
            if !id.is_empty() && chrono::DateTime::parse_from_rfc3339(time).is_ok()
    )
}

/// A PBS `reader` task's worker id `<store>:<type>/<id>/<backup-time %08X>`, split. The id
/// carries no namespace (reference §B7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderId {
    /// The datastore.
    pub store: String,
    /// `vm`, `ct` or `host`.
    pub backup_type: String,
    /// The group id (a VMID for `vm`/`ct`).
    pub backup_id: String,
    /// The snapshot's backup time, epoch.
    pub backup_time: i64,
}

impl ReaderId {
    /// Parses a worker id as PBS lists it (unescaped); None for anything else.
    pub fn parse(worker_id: &str) -> Option<ReaderId> {
        let (store, path) = worker_id.split_once(':')?;
        let mut parts = path.split('/');
        let (backup_type, backup_id, time) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || store.is_empty()
            || backup_type.is_empty()
            || backup_id.is_empty()
            || time.len() != 8
        {
            return None;
        }
        Some(ReaderId {
            store: store.to_string(),
            backup_type: backup_type.to_string(),
            backup_id: backup_id.to_string(),
            backup_time: i64::from_str_radix(time, 16).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vm_restore_from_pbs_names_the_snapshot_repository_and_namespace() {
        let log = [
            "new volume ID is 'local-lvm:vm-100-disk-0'",
            "restore proxmox backup image: /usr/bin/pbs-restore --repository root@pam@pbs.example:8007:store1 --ns prod/db vm/100/2026-12-01T01:00:03Z drive-scsi0.img.fidx /dev/pve/vm-100-disk-0 --verbose --format raw --skip-zero",
            "restore image complete (bytes=34359738368, duration=61.20s, speed=535.44MB/s)",
            "TASK OK",
        ];
        assert_eq!(
            parse_restore_log(log),
            Some(RestoreSource {
                snapshot: "vm/100/2026-12-01T01:00:03Z".into(),
                from: Some("root@pam@pbs.example:8007:store1".into()),
                namespace: Some("prod/db".into()),
            })
        );
    }

    #[test]
    fn options_with_values_are_never_taken_for_the_snapshot() {
        let log = ["restore proxmox backup image: /usr/bin/pbs-restore --repository a@pbs@h:s --keyfile /etc/pve/priv/storage/x.enc vm/7/2026-01-02T03:04:05Z drive-virtio0.img.fidx /dev/x --verbose"];
        let source = parse_restore_log(log).map(|s| (s.snapshot, s.namespace));
        assert_eq!(source, Some(("vm/7/2026-01-02T03:04:05Z".into(), None)));
    }

    #[test]
    fn a_live_restore_names_its_snapshot() {
        let log = [
            "starting VM for live-restore",
            "repository: 'root@pam@pbs:store1', snapshot: 'vm/101/2026-11-30T22:00:00Z'",
        ];
        assert_eq!(
            parse_restore_log(log).map(|s| s.snapshot),
            Some("vm/101/2026-11-30T22:00:00Z".into())
        );
    }

    #[test]
    fn a_container_restore_names_storage_and_snapshot() {
        let log = [
            "recovering backed-up configuration from 'pbs1:backup/ct/200/2026-12-02T02:00:00Z'",
            "restoring 'pbs1:backup/ct/200/2026-12-02T02:00:00Z' now..",
            "TASK OK",
        ];
        assert_eq!(
            parse_restore_log(log),
            Some(RestoreSource {
                snapshot: "ct/200/2026-12-02T02:00:00Z".into(),
                from: Some("pbs1".into()),
                namespace: None,
            })
        );
        // The second line alone is enough.
        assert_eq!(
            parse_restore_log(log[1..].iter().copied()).map(|s| s.from),
            Some(Some("pbs1".into()))
        );
    }

    #[test]
    fn garbage_and_local_archives_give_no_source() {
        for log in [
            vec![],
            vec!["TASK ERROR: unable to restore VM 100 - no such file"],
            vec!["restore proxmox backup image: /usr/bin/pbs-restore --repository r vm/x/notatime drive-scsi0.img.fidx"],
            vec!["restore proxmox backup image:"],
            vec!["recovering backed-up configuration from 'no-colon'"],
            vec!["restoring ':backup/' now.."],
            vec!["repository: 'r', snapshot: 'vm/1'"],
        ] {
            assert_eq!(parse_restore_log(log.clone()), None, "{log:?}");
        }
    }

    #[test]
    fn a_reader_worker_id_gives_store_group_and_time() {
        let id = ReaderId::parse("store1:vm/100/692CF6C3");
        assert_eq!(
            id,
            Some(ReaderId {
                store: "store1".into(),
                backup_type: "vm".into(),
                backup_id: "100".into(),
                backup_time: 0x692C_F6C3,
            })
        );
        for bad in [
            "store1:vm/100",
            "store1:vm/100/XYZ",
            ":vm/1/00000001",
            "vm/1/00000001",
            "s:vm/1/0000000G",
            "s:vm/1/00000001/x",
            "store1",
        ] {
            assert_eq!(ReaderId::parse(bad), None, "{bad}");
        }
    }
}
