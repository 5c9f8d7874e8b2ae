//! Whole-log tests: realistic vzdump task logs composed from the documented line formats
//! (pve-manager VZDump.pm, qemu-server, pve-container, proxmox-backup-client; PVE 6 → 9).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::*;

const VIENNA: Tz = chrono_tz::Europe::Vienna;

fn parse(log: &str, tz: Tz) -> VzdumpLog {
    parse_vzdump_log(log.lines(), tz)
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn failed(error: &str) -> GuestOutcome {
    GuestOutcome::Failed {
        error: error.to_string(),
    }
}

/// Reference §8, "Single VM, PBS, success", verbatim.
const SINGLE_VM_PBS: &str = "\
INFO: starting new backup job: vzdump 100 --storage pbs1 --mode snapshot --notes-template '{{guestname}}' --remove 1
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2024-05-24 16:22:44
INFO: status = running
INFO: VM Name: web01
INFO: include disk 'scsi0' 'local-lvm:vm-100-disk-0' 32G
INFO: exclude disk 'scsi1' 'local-lvm:vm-100-disk-1' (backup=no)
INFO: backup mode: snapshot
INFO: ionice priority: 7
INFO: creating Proxmox Backup Server archive 'vm/100/2024-05-24T14:22:44Z'
INFO: issuing guest-agent 'fs-freeze' command
INFO: starting backup via QMP command
INFO: issuing guest-agent 'fs-thaw' command
INFO: started backup task '2f7e1c7e-0d6a-4c3e-9f0a-6c1e2b3a4d5e'
INFO: resuming VM again
INFO: scsi0: dirty-bitmap status: OK (1.2 GiB of 32.0 GiB dirty)
INFO: using fast incremental mode (dirty-bitmap), 1.2 GiB dirty of 32.0 GiB total
INFO:  50% (616.0 MiB of 1.2 GiB) in 3s, read: 205.3 MiB/s, write: 198.7 MiB/s
INFO: 100% (1.2 GiB of 1.2 GiB) in 6s, read: 204.0 MiB/s, write: 201.3 MiB/s
INFO: backup was done incrementally, reused 30.80 GiB (96%)
INFO: transferred 1.20 GiB in 6 seconds (204.8 MiB/s)
INFO: adding notes to backup
INFO: prune older backups with retention: keep-daily=7, keep-last=3
INFO: running 'proxmox-backup-client prune' for 'vm/100'
INFO: pruned 1 backup(s) not covered by keep-retention policy
INFO: Finished Backup of VM 100 (00:00:09)
INFO: Backup finished at 2024-05-24 16:22:53
INFO: Backup job finished successfully
TASK OK";

#[test]
fn single_vm_to_pbs_reference_example() {
    let log = parse(SINGLE_VM_PBS, VIENNA);

    let command = log.command.clone().unwrap();
    assert_eq!(command.vmids, vec![100]);
    assert_eq!(command.storage(), Some("pbs1"));
    assert_eq!(command.mode(), Some("snapshot"));
    assert_eq!(command.option("notes-template"), Some("{{guestname}}"));
    assert_eq!(command.option("remove"), Some("1"));
    assert!(!command.all());

    assert_eq!(
        log.guests,
        vec![GuestRun {
            vmid: 100,
            guest_type: Some(GuestKind::Qemu),
            name: Some("web01".into()),
            started_at: Some(utc("2024-05-24T14:22:44Z")),
            finished_at: Some(utc("2024-05-24T14:22:53Z")),
            duration_s: Some(9),
            outcome: GuestOutcome::Ok,
            mode: Some("snapshot".into()),
            archive: Some(ArchiveTarget::Pbs {
                backup_type: "vm".into(),
                backup_id: "100".into(),
                backup_time: utc("2024-05-24T14:22:44Z"),
            }),
            archive_size_bytes: None,
            transferred_bytes: Some(1_288_490_189),
            excluded_volumes: vec![ExcludedVolume {
                key: "scsi1".into(),
                volume: "local-lvm:vm-100-disk-1".into(),
                reason: "backup=no".into(),
                mount_type: None,
            }],
            warnings: vec![],
            fleecing_removed: vec![],
        }]
    );
    assert_eq!(log.job_outcome, Some(JobOutcome::Success));
    assert_eq!(log.task_end, Some(TaskEnd::Ok));
    assert_eq!(log.job_error, None);
    assert_eq!(log.unknown_lines, 0);
    assert!(log.warnings.is_empty());
    assert!(log.skipped_external.is_empty());
    assert_eq!(log.guest(100).unwrap().outcome, GuestOutcome::Ok);
    assert_eq!(log.guest(101), None);
}

/// Reference §8 multi-guest example with the elided parts filled in from §5/§6 formats.
const MULTI_GUEST_ONE_FAILURE: &str = "\
INFO: starting new backup job: vzdump --all 1 --storage pbs1 --mode snapshot --quiet 1
INFO: skip external VMs: 200, 201
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2024-05-24 02:00:01
INFO: status = running
INFO: VM Name: web01
INFO: include disk 'scsi0' 'local-lvm:vm-100-disk-0' 32G
INFO: backup mode: snapshot
INFO: ionice priority: 7
INFO: creating Proxmox Backup Server archive 'vm/100/2024-05-24T00:00:01Z'
INFO: issuing guest-agent 'fs-freeze' command
INFO: issuing guest-agent 'fs-thaw' command
INFO: started backup task '9b0f2a4e-5d1c-4b7e-8a3f-1c2d3e4f5a6b'
INFO: resuming VM again
INFO: scsi0: dirty-bitmap status: created new
INFO:   3% (1.0 GiB of 32.0 GiB) in 3s, read: 341.3 MiB/s, write: 330.1 MiB/s
INFO: 100% (32.0 GiB of 32.0 GiB) in 2m 1s, read: 270.8 MiB/s, write: 102.4 MiB/s
INFO: backup is sparse: 18.95 GiB (59%) total zero data
INFO: transferred 32.00 GiB in 121 seconds (270.8 MiB/s)
INFO: Finished Backup of VM 100 (00:02:05)
INFO: Backup finished at 2024-05-24 02:02:06
INFO: Starting Backup of VM 101 (lxc)
INFO: Backup started at 2024-05-24 02:02:06
INFO: status = running
INFO: CT Name: ct01
INFO: including mount point rootfs ('/') in backup
INFO: excluding volume mount point mp0 ('/data') from backup (disabled)
INFO: backup mode: snapshot
INFO: ionice priority: 7
INFO: create storage snapshot 'vzdump'
INFO: creating Proxmox Backup Server archive 'ct/101/2024-05-24T00:02:06Z'
INFO: Starting backup: ct/101/2024-05-24T00:02:06Z
INFO: Client name: pve1
INFO: Starting backup protocol: Fri May 24 02:02:07 2024
INFO: Downloading previous manifest (Thu May 23 02:02:05 2024)
INFO: Upload config file '/var/tmp/vzdumptmp4242_101/etc/vzdump/pct.conf' to 'root@pam@10.0.0.5:8007:store1' as pct.conf.blob
INFO: Upload directory '/mnt/vzsnap0' to 'root@pam@10.0.0.5:8007:store1' as root.pxar.didx
INFO: cleanup temporary 'vzdump' snapshot
ERROR: Backup of VM 101 failed - command '/usr/bin/proxmox-backup-client backup --crypt-mode=none pct.conf:/var/tmp/vzdumptmp4242_101/etc/vzdump/pct.conf root.pxar:/mnt/vzsnap0 --backup-type ct --backup-id 101 --backup-time 1716508926 --repository root@pam@10.0.0.5:store1' failed: exit code 255
INFO: Failed at 2024-05-24 02:02:30
INFO: Backup job finished with errors
INFO: notified via target `mail-to-root`
TASK ERROR: job errors";

#[test]
fn multi_guest_qemu_and_lxc_with_one_failure() {
    let log = parse(MULTI_GUEST_ONE_FAILURE, VIENNA);
    let command = log.command.as_ref().unwrap();
    assert!(command.all());
    assert!(command.vmids.is_empty());
    assert_eq!(command.option("quiet"), Some("1"));
    assert_eq!(log.skipped_external, vec![200, 201]);
    assert_eq!(log.guests.len(), 2);

    let vm = &log.guests[0];
    assert_eq!(vm.vmid, 100);
    assert_eq!(vm.outcome, GuestOutcome::Ok);
    assert_eq!(vm.duration_s, Some(125));
    assert_eq!(vm.started_at, Some(utc("2024-05-24T00:00:01Z")));
    assert_eq!(vm.finished_at, Some(utc("2024-05-24T00:02:06Z")));
    assert_eq!(vm.transferred_bytes, Some(34_359_738_368));

    let ct = &log.guests[1];
    assert_eq!(ct.vmid, 101);
    assert_eq!(ct.guest_type, Some(GuestKind::Lxc));
    assert_eq!(ct.name.as_deref(), Some("ct01"));
    assert_eq!(ct.mode.as_deref(), Some("snapshot"));
    assert_eq!(
        ct.outcome,
        failed("command '/usr/bin/proxmox-backup-client backup --crypt-mode=none pct.conf:/var/tmp/vzdumptmp4242_101/etc/vzdump/pct.conf root.pxar:/mnt/vzsnap0 --backup-type ct --backup-id 101 --backup-time 1716508926 --repository root@pam@10.0.0.5:store1' failed: exit code 255")
    );
    assert_eq!(ct.started_at, Some(utc("2024-05-24T00:02:06Z")));
    assert_eq!(ct.finished_at, Some(utc("2024-05-24T00:02:30Z")));
    assert_eq!(ct.duration_s, None);
    assert_eq!(ct.transferred_bytes, None);
    assert_eq!(
        ct.archive,
        Some(ArchiveTarget::Pbs {
            backup_type: "ct".into(),
            backup_id: "101".into(),
            backup_time: utc("2024-05-24T00:02:06Z"),
        })
    );
    assert_eq!(
        ct.excluded_volumes,
        vec![ExcludedVolume {
            key: "mp0".into(),
            volume: "/data".into(),
            reason: "disabled".into(),
            mount_type: Some("volume".into()),
        }]
    );

    assert_eq!(log.job_outcome, Some(JobOutcome::WithErrors));
    assert_eq!(log.task_end, Some(TaskEnd::Error("job errors".into())));
    assert_eq!(
        log.job_error, None,
        "'job errors' is a guest failure summary"
    );
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn file_target_with_archive_size_and_prune() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump 102 --compress zstd --mode stop --storage local --prune-backups 'keep-last=2' --node pve2
INFO: Starting Backup of VM 102 (qemu)
INFO: Backup started at 2023-11-02 23:30:00
INFO: status = stopped
INFO: backup mode: stop
INFO: ionice priority: 7
INFO: VM Name: db01
INFO: include disk 'virtio0' 'local-zfs:vm-102-disk-0' 20G
INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-qemu-102-2023_11_02-23_30_00.vma.zst'
INFO: starting kvm to execute backup task
INFO: started backup task 'c1a8e3b2-7f6d-4e5c-9b8a-0d1e2f3a4b5c'
INFO:   5% (1.0 GiB of 20.0 GiB) in 3s, read: 341.3 MiB/s, write: 301.2 MiB/s
INFO: 100% (20.0 GiB of 20.0 GiB) in 1m 5s, read: 315.1 MiB/s, write: 120.7 MiB/s
INFO: backup is sparse: 12.14 GiB (60%) total zero data
INFO: transferred 20.00 GiB in 65 seconds (315.1 MiB/s)
INFO: stopping kvm after backup task
INFO: archive file size: 2.14GB
INFO: prune older backups with retention: keep-last=2
INFO: removing backup 'local:backup/vzdump-qemu-102-2023_10_31-23_30_00.vma.zst'
INFO: pruned 1 backup(s) not covered by keep-retention policy
INFO: Finished Backup of VM 102 (00:01:09)
INFO: Backup finished at 2023-11-02 23:31:09
INFO: Backup job finished successfully
TASK OK",
        VIENNA,
    );
    let command = log.command.as_ref().unwrap();
    assert_eq!(command.vmids, vec![102]);
    assert_eq!(command.node(), Some("pve2"));
    assert_eq!(command.option("prune-backups"), Some("keep-last=2"));
    let guest = &log.guests[0];
    assert_eq!(guest.mode.as_deref(), Some("stop"));
    assert_eq!(
        guest.archive,
        Some(ArchiveTarget::File {
            path: "/var/lib/vz/dump/vzdump-qemu-102-2023_11_02-23_30_00.vma.zst".into()
        })
    );
    assert_eq!(guest.archive_size_bytes, Some(2_297_807_503));
    assert_eq!(guest.transferred_bytes, Some(21_474_836_480));
    // November: CET (UTC+1).
    assert_eq!(guest.started_at, Some(utc("2023-11-02T22:30:00Z")));
    assert_eq!(guest.finished_at, Some(utc("2023-11-02T22:31:09Z")));
    assert_eq!(guest.duration_s, Some(69));
    assert_eq!(guest.outcome, GuestOutcome::Ok);
    assert_eq!(log.task_end, Some(TaskEnd::Ok));
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn failure_mid_job_with_multi_line_error() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump 100 101 102 --mode snapshot --storage nfs-backup
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2024-02-01 01:00:00
INFO: status = running
INFO: backup mode: snapshot
INFO: creating vzdump archive '/mnt/pve/nfs-backup/dump/vzdump-qemu-100-2024_02_01-01_00_00.vma.zst'
INFO: transferred 8.00 GiB in 40 seconds (204.8 MiB/s)
INFO: archive file size: 1.20GB
INFO: Finished Backup of VM 100 (00:00:42)
INFO: Backup finished at 2024-02-01 01:00:42
INFO: Starting Backup of VM 101 (qemu)
INFO: Backup started at 2024-02-01 01:00:42
INFO: status = running
INFO: backup mode: snapshot
INFO: creating vzdump archive '/mnt/pve/nfs-backup/dump/vzdump-qemu-101-2024_02_01-01_00_42.vma.zst'
INFO:  12% (3.8 GiB of 32.0 GiB) in 30s, read: 130.1 MiB/s, write: 128.0 MiB/s
ERROR: job failed with err -5 - Input/output error
INFO: aborting backup job
INFO: resuming VM again
ERROR: Backup of VM 101 failed - job failed with err -5 - Input/output error
ERROR: vma_queue_write: write error - Broken pipe
INFO: Failed at 2024-02-01 01:01:20
INFO: Starting Backup of VM 102 (lxc)
INFO: Backup started at 2024-02-01 01:01:20
INFO: status = stopped
INFO: backup mode: stop
INFO: creating vzdump archive '/mnt/pve/nfs-backup/dump/vzdump-lxc-102-2024_02_01-01_01_20.tar.zst'
INFO: Total bytes written: 1084651520 (1.1GiB, 95MiB/s)
INFO: archive file size: 412MB
INFO: Finished Backup of VM 102 (00:00:15)
INFO: Backup finished at 2024-02-01 01:01:35
INFO: Backup job finished with errors
TASK ERROR: job errors",
        VIENNA,
    );
    assert_eq!(log.command.as_ref().unwrap().vmids, vec![100, 101, 102]);
    let outcomes: Vec<_> = log
        .guests
        .iter()
        .map(|g| (g.vmid, g.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (100, GuestOutcome::Ok),
            (
                101,
                failed("job failed with err -5 - Input/output error vma_queue_write: write error - Broken pipe")
            ),
            (102, GuestOutcome::Ok),
        ]
    );
    assert_eq!(log.guests[0].archive_size_bytes, Some(1_288_490_189));
    assert_eq!(log.guests[1].finished_at, Some(utc("2024-02-01T00:01:20Z")));
    assert_eq!(log.guests[2].transferred_bytes, Some(1_084_651_520));
    assert_eq!(log.guests[2].archive_size_bytes, Some(412 * 1024 * 1024));
    assert_eq!(log.guests[2].guest_type, Some(GuestKind::Lxc));
    assert_eq!(log.job_outcome, Some(JobOutcome::WithErrors));
    assert_eq!(log.task_end, Some(TaskEnd::Error("job errors".into())));
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn failure_without_starting_line_creates_failed_run_for_deleted_vmid() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump 100 105 --storage pbs1 --mode snapshot
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2024-05-24 03:00:00
INFO: backup mode: snapshot
INFO: creating Proxmox Backup Server archive 'vm/100/2024-05-24T01:00:00Z'
INFO: Finished Backup of VM 100 (00:00:30)
INFO: Backup finished at 2024-05-24 03:00:30
ERROR: Backup of VM 105 failed - unable to find VM '105'
INFO: Failed at 2024-05-24 03:00:30
INFO: Backup job finished with errors
TASK ERROR: job errors",
        VIENNA,
    );
    assert_eq!(log.guests.len(), 2);
    assert_eq!(log.guests[0].outcome, GuestOutcome::Ok);
    let orphan = &log.guests[1];
    assert_eq!(orphan.vmid, 105);
    assert_eq!(orphan.guest_type, None);
    assert_eq!(orphan.started_at, None);
    assert_eq!(orphan.finished_at, Some(utc("2024-05-24T01:00:30Z")));
    assert_eq!(orphan.outcome, failed("unable to find VM '105'"));
    assert_eq!(orphan.archive, None);
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn excluded_disks_and_container_mount_points() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump 110 111 --storage local --mode snapshot
INFO: Starting Backup of VM 110 (qemu)
INFO: status = running
INFO: include disk 'scsi0' 'local-lvm:vm-110-disk-1' 64G
INFO: exclude disk 'scsi1' 'local-lvm:vm-110-disk-2' (backup=no)
INFO: exclude disk 'efidisk0' 'local-lvm:vm-110-disk-0' (efidisk but no OVMF BIOS)
INFO: backup mode: snapshot
INFO: Finished Backup of VM 110 (00:03:00)
INFO: Starting Backup of VM 111 (lxc)
INFO: status = running
INFO: including mount point rootfs ('/') in backup
INFO: excluding volume mount point mp0 ('/srv/data') from backup (disabled)
INFO: excluding bind mount point mp1 ('/mnt/media') from backup (not a volume)
INFO: excluding device mount point mp2 ('/dev/sdb1') from backup (not a volume)
INFO: mode failure - some volumes do not support snapshots
INFO: trying 'suspend' mode instead
INFO: backup mode: suspend
INFO: starting first sync /proc/4242/root/ to /var/tmp/vzdumptmp777_111/
INFO: first sync finished - transferred 2.50 GiB in 31s
INFO: suspending guest
INFO: starting final sync /proc/4242/root/ to /var/tmp/vzdumptmp777_111/
INFO: final sync finished - transferred 1.10 MiB in 1s
INFO: resuming guest
INFO: guest is online again after 1 seconds
INFO: Finished Backup of VM 111 (00:00:40)
INFO: Backup job finished successfully
TASK OK",
        VIENNA,
    );
    let vm = &log.guests[0];
    assert_eq!(
        vm.excluded_volumes,
        vec![
            ExcludedVolume {
                key: "scsi1".into(),
                volume: "local-lvm:vm-110-disk-2".into(),
                reason: "backup=no".into(),
                mount_type: None,
            },
            ExcludedVolume {
                key: "efidisk0".into(),
                volume: "local-lvm:vm-110-disk-0".into(),
                reason: "efidisk but no OVMF BIOS".into(),
                mount_type: None,
            },
        ]
    );
    let ct = &log.guests[1];
    assert_eq!(ct.mode.as_deref(), Some("suspend"));
    let keys: Vec<_> = ct
        .excluded_volumes
        .iter()
        .map(|v| {
            (
                v.key.as_str(),
                v.volume.as_str(),
                v.mount_type.as_deref(),
                v.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            ("mp0", "/srv/data", Some("volume"), "disabled"),
            ("mp1", "/mnt/media", Some("bind"), "not a volume"),
            ("mp2", "/dev/sdb1", Some("device"), "not a volume"),
        ]
    );
    // rsync phase sizes are not the archive's transfer.
    assert_eq!(ct.transferred_bytes, None);
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn truncated_log_leaves_open_guest_unknown() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump --all 1 --storage pbs1 --mode snapshot
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2024-05-24 02:00:01
INFO: backup mode: snapshot
INFO: Finished Backup of VM 100 (00:01:00)
INFO: Backup finished at 2024-05-24 02:01:01
INFO: Starting Backup of VM 101 (qemu)
INFO: Backup started at 2024-05-24 02:01:01
INFO: status = running
INFO: backup mode: snapshot
INFO: creating Proxmox Backup Server archive 'vm/101/2024-05-24T00:01:01Z'
INFO:  42% (13.4 GiB of 32.0 GiB) in 1m 30s, read: 152.5 MiB/s, write: 150.1 MiB/s",
        VIENNA,
    );
    assert_eq!(log.guests.len(), 2);
    assert_eq!(log.guests[0].outcome, GuestOutcome::Ok);
    let open = &log.guests[1];
    assert_eq!(open.outcome, GuestOutcome::Unknown);
    assert_eq!(open.started_at, Some(utc("2024-05-24T00:01:01Z")));
    assert_eq!(open.finished_at, None);
    assert_eq!(open.duration_s, None);
    assert!(matches!(open.archive, Some(ArchiveTarget::Pbs { .. })));
    assert_eq!(log.job_outcome, None);
    assert_eq!(log.task_end, None);
    assert_eq!(log.job_error, None);
}

#[test]
fn job_failure_before_any_guest_could_not_activate_storage() {
    let log = parse(
        "TASK ERROR: could not activate storage 'pbs1': pbs1: error fetching datastores - 500 Can't connect to 10.0.0.5:8007 (Connection refused)",
        VIENNA,
    );
    let message = "could not activate storage 'pbs1': pbs1: error fetching datastores - 500 Can't connect to 10.0.0.5:8007 (Connection refused)";
    assert_eq!(log.command, None);
    assert!(log.guests.is_empty());
    assert_eq!(log.job_outcome, None);
    assert_eq!(log.job_error.as_deref(), Some(message));
    assert_eq!(log.task_end, Some(TaskEnd::Error(message.into())));
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn job_failed_line_with_continuation_and_hook_output() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump --all 1 --storage pbs1 --mode snapshot --script /usr/local/bin/vzdump-hook.sh
INFO: HOOK: job-start
ERROR: Backup job failed - command '/usr/local/bin/vzdump-hook.sh job-start' failed: exit code 1
ERROR: hook script complained
TASK ERROR: command '/usr/local/bin/vzdump-hook.sh job-start' failed: exit code 1 hook script complained",
        VIENNA,
    );
    let error = "command '/usr/local/bin/vzdump-hook.sh job-start' failed: exit code 1 hook script complained";
    assert_eq!(
        log.job_outcome,
        Some(JobOutcome::Failed {
            error: error.into()
        })
    );
    assert_eq!(log.job_error.as_deref(), Some(error));
    assert_eq!(log.task_end, Some(TaskEnd::Error(error.into())));
    assert_eq!(
        log.command.as_ref().unwrap().option("script"),
        Some("/usr/local/bin/vzdump-hook.sh")
    );
    assert!(log.guests.is_empty());
    assert_eq!(log.unknown_lines, 1, "the hook output line");
}

#[test]
fn global_lock_failure_has_no_task_line() {
    let log = parse(
        "\
INFO: trying to get global lock - waiting...
ERROR: can't acquire lock '/var/run/vzdump.lock' - got timeout",
        VIENNA,
    );
    assert_eq!(
        log.job_error.as_deref(),
        Some("can't acquire lock '/var/run/vzdump.lock' - got timeout")
    );
    assert_eq!(log.task_end, None);
    assert!(log.guests.is_empty());
    assert_eq!(log.command, None);
    assert_eq!(log.unknown_lines, 0);

    let no_wait = parse(
        "ERROR: can't acquire lock '/var/run/vzdump.lock' (wait = 0)",
        VIENNA,
    );
    assert_eq!(
        no_wait.job_error.as_deref(),
        Some("can't acquire lock '/var/run/vzdump.lock' (wait = 0)")
    );
}

#[test]
fn waited_for_global_lock_then_ran() {
    let log = parse(
        "\
INFO: trying to get global lock - waiting...
INFO: got global lock
INFO: starting new backup job: vzdump 100 --storage local
INFO: Starting Backup of VM 100 (qemu)
INFO: Finished Backup of VM 100 (00:00:10)
INFO: Backup job finished successfully
TASK OK",
        VIENNA,
    );
    assert_eq!(log.job_error, None);
    assert_eq!(log.guests[0].outcome, GuestOutcome::Ok);
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn pve_6_0_wording_lock_line_old_archive_and_old_progress() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump 100 --compress lzo --mode snapshot --node pve --storage local --remove 0
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2020-01-05 01:00:02
INFO: status = running
INFO: update VM 100: -lock backup
INFO: VM Name: web01
INFO: include disk 'scsi0' 'local-lvm:vm-100-disk-0' 32G
INFO: snapshots found (not included into backup)
INFO: backup mode: snapshot
INFO: ionice priority: 7
INFO: creating archive '/var/lib/vz/dump/vzdump-qemu-100-2020_01_05-01_00_02.vma.lzo'
INFO: started backup task '0d3c1f0a-2b4e-4c6d-8e0f-1a2b3c4d5e6f'
INFO: status: 0% (88080384/34359738368), sparse 0% (4096), duration 3, read/write 29/28 MB/s
INFO: status: 51% (17523466240/34359738368), sparse 40% (13743895347), duration 60, read/write 290/60 MB/s
INFO: status: 100% (34359738368/34359738368), sparse 71% (24396137267), duration 120, read/write 286/81 MB/s
INFO: transferred 34359 MB in 120 seconds (286 MB/s)
WARN: old-style warning that PVE 6 did not count
INFO: archive file size: 3.01GB
INFO: delete old backup '/var/lib/vz/dump/vzdump-qemu-100-2020_01_03-01_00_02.vma.lzo'
INFO: Finished Backup of VM 100 (00:02:05)
INFO: Backup finished at 2020-01-05 01:02:07
INFO: Backup job finished successfully
TASK OK",
        VIENNA,
    );
    let guest = &log.guests[0];
    assert_eq!(
        guest.archive,
        Some(ArchiveTarget::File {
            path: "/var/lib/vz/dump/vzdump-qemu-100-2020_01_05-01_00_02.vma.lzo".into()
        })
    );
    assert_eq!(guest.transferred_bytes, Some(34359 * 1024 * 1024));
    assert_eq!(guest.archive_size_bytes, Some(3_231_962_890));
    assert_eq!(guest.started_at, Some(utc("2020-01-05T00:00:02Z")));
    assert_eq!(guest.duration_s, Some(125));
    assert_eq!(guest.outcome, GuestOutcome::Ok);
    assert_eq!(
        guest.warnings,
        vec!["old-style warning that PVE 6 did not count"]
    );
    // PVE 6 did not count vzdump's own WARN lines.
    assert_eq!(log.task_end, Some(TaskEnd::Ok));
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn pve_6_2_intermediate_progress_wording() {
    let log = parse(
        "\
INFO: Starting Backup of VM 100 (qemu)
INFO: creating Proxmox Backup Server archive 'vm/100/2020-07-20T10:00:00Z'
INFO: status: 10% (3.2 GiB of 32.0 GiB), duration 10, read: 327.7 MiB/s, write: 300.0 MiB/s
INFO: Backup is sparse: 71% (22.7 GiB) zero data
INFO: backup was done incrementally, reused 30.00 GiB (93%) from last backup
INFO: transferred 32.00 GiB in 98 seconds (334.4 MiB/s)
INFO:  10% (3.2 GiB of 32.0 GiB) in  3s, read: 1.1 GiB/s, write: 0 B/s
INFO: Finished Backup of VM 100 (00:01:40)
TASK OK",
        VIENNA,
    );
    assert_eq!(log.guests[0].transferred_bytes, Some(34_359_738_368));
    assert_eq!(log.guests[0].outcome, GuestOutcome::Ok);
    assert_eq!(log.unknown_lines, 0);
}

/// PVE 9.1 stopped VM → PBS (observed wording, reference §5) with the multi-line EFI
/// certificate warning, notifications, and `TASK WARNINGS`.
#[test]
fn pve_9_wording_qmp_efi_warning_notifications_and_task_warnings() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump 109 --storage pbs1 --mode snapshot --notes-template '{{guestname}}' --prune-backups 'keep-weekly=6'
INFO: Starting Backup of VM 109 (qemu)
INFO: Backup started at 2026-09-06 16:27:07
INFO: status = stopped
INFO: backup mode: stop
INFO: ionice priority: 7
INFO: VM Name: win11
INFO: include disk 'ide0' 'local-lvm:vm-109-disk-1' 20G
INFO: include disk 'efidisk0' 'local-lvm:vm-109-disk-0' 4M
INFO: creating Proxmox Backup Server archive 'vm/109/2026-09-06T14:27:07Z'
INFO: starting kvm to execute backup task
WARN: EFI disk without 'ms-cert=2023k' option, suggesting that not all UEFI 2023 certificates from Microsoft are enrolled yet.
The UEFI 2011 certificates expire in June 2026!
Use 'Disk Action > Enroll Updated Certificates' in the UI or, while the VM is shut down, run 'qm enroll-efi-keys 109' to enroll the new certificates.
INFO: starting backup via QMP command
INFO: started backup task '5ea3b85e-6c1d-4f0a-9b2e-3d4c5b6a7f80'
INFO: ide0: dirty-bitmap status: created new
INFO:   1% (288.0 MiB of 20.0 GiB) in 3s, read: 96.0 MiB/s, write: 94.7 MiB/s
INFO: 100% (20.0 GiB of 20.0 GiB) in 22s, read: 1.3 GiB/s, write: 0 B/s
INFO: Waiting for server to finish backup validation...
INFO: backup is sparse: 18.95 GiB (94%) total zero data
INFO: backup was done incrementally, reused 18.95 GiB (94%)
INFO: transferred 20.00 GiB in 23 seconds (890.4 MiB/s)
INFO: stopping kvm after backup task
INFO: adding notes to backup
INFO: prune older backups with retention: keep-weekly=6
INFO: running 'proxmox-backup-client prune' for 'vm/109'
INFO: pruned 0 backup(s)
INFO: Finished Backup of VM 109 (00:00:31)
INFO: Backup finished at 2026-09-06 16:27:38
INFO: Backup job finished successfully
INFO: notified via target `mail-to-root`
INFO: notified via target `gotify`
TASK WARNINGS: 1",
        VIENNA,
    );
    let guest = &log.guests[0];
    assert_eq!(guest.outcome, GuestOutcome::Ok);
    assert_eq!(guest.mode.as_deref(), Some("stop"));
    assert_eq!(guest.name.as_deref(), Some("win11"));
    assert_eq!(guest.transferred_bytes, Some(21_474_836_480));
    assert_eq!(guest.started_at, Some(utc("2026-09-06T14:27:07Z")));
    assert_eq!(guest.finished_at, Some(utc("2026-09-06T14:27:38Z")));
    assert_eq!(
        guest.warnings,
        vec!["EFI disk without 'ms-cert=2023k' option, suggesting that not all UEFI 2023 certificates from Microsoft are enrolled yet. The UEFI 2011 certificates expire in June 2026! Use 'Disk Action > Enroll Updated Certificates' in the UI or, while the VM is shut down, run 'qm enroll-efi-keys 109' to enroll the new certificates."]
    );
    assert!(log.warnings.is_empty());
    assert_eq!(log.job_outcome, Some(JobOutcome::Success));
    assert_eq!(log.task_end, Some(TaskEnd::Warnings(1)));
    assert_eq!(log.job_error, None);
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn pbs_log_upload_warning_after_guest_end_belongs_to_guest() {
    let log = parse(
        "\
INFO: Starting Backup of VM 100 (qemu)
INFO: Finished Backup of VM 100 (00:00:09)
INFO: Backup finished at 2024-05-24 16:22:53
WARN: uploading backup task log failed: 400 Bad Request
INFO: Backup job finished successfully
WARN: something at job level
TASK WARNINGS: 2",
        VIENNA,
    );
    assert_eq!(
        log.guests[0].warnings,
        vec!["uploading backup task log failed: 400 Bad Request"]
    );
    assert_eq!(log.warnings, vec!["something at job level"]);
    assert_eq!(log.task_end, Some(TaskEnd::Warnings(2)));
}

#[test]
fn container_to_pbs_uses_client_upload_size() {
    let log = parse(
        "\
INFO: Starting Backup of VM 120 (lxc)
INFO: CT Name: dns
INFO: backup mode: snapshot
INFO: creating Proxmox Backup Server archive 'ct/120/2024-05-24T00:10:00Z'
INFO: set max number of entries in memory for file-based backups to 1048576
INFO: Starting backup: ct/120/2024-05-24T00:10:00Z
INFO: No previous manifest available.
INFO: root.pxar: had to backup 812.4 MiB of 1.1 GiB (compressed 301.0 MiB) in 4.12s
INFO: root.pxar: average backup speed: 197.2 MiB/s
INFO: root.pxar: backup was done incrementally, reused 310.0 MiB (27.5%)
INFO: Uploaded backup catalog (120.5 KiB)
INFO: Duration: 4.50s
INFO: End Time: Fri May 24 02:10:05 2024
INFO: Finished Backup of VM 120 (00:00:06)
TASK OK",
        VIENNA,
    );
    let ct = &log.guests[0];
    assert_eq!(ct.transferred_bytes, Some(851_863_142));
    assert_eq!(ct.name.as_deref(), Some("dns"));
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn inconsistent_start_while_previous_guest_open() {
    let log = parse(
        "\
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2024-05-24 02:00:00
INFO: backup mode: snapshot
INFO: Starting Backup of VM 101 (lxc)
INFO: Backup started at 2024-05-24 02:05:00
INFO: backup mode: suspend
INFO: Finished Backup of VM 100 (00:01:00)
INFO: Finished Backup of VM 101 (00:00:20)
INFO: Backup finished at 2024-05-24 02:05:20
TASK OK",
        VIENNA,
    );
    let summary: Vec<_> = log
        .guests
        .iter()
        .map(|g| {
            (
                g.vmid,
                g.outcome.clone(),
                g.mode.as_deref().map(str::to_string),
                g.duration_s,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                100,
                GuestOutcome::Unknown,
                Some("snapshot".to_string()),
                None
            ),
            (
                101,
                GuestOutcome::Unknown,
                Some("suspend".to_string()),
                None
            ),
            // The stray end line for 100 becomes its own run; it closes 101's block.
            (100, GuestOutcome::Ok, None, Some(60)),
            (101, GuestOutcome::Ok, None, Some(20)),
        ]
    );
    assert_eq!(log.task_end, Some(TaskEnd::Ok));
}

#[test]
fn timestamps_across_dst_changes_in_vienna() {
    // Spring forward (2024-03-31, 02:00 CET → 03:00 CEST) and fall back (2024-10-27,
    // 03:00 CEST → 02:00 CET).
    let log = parse(
        "\
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2024-03-31 01:59:30
INFO: Finished Backup of VM 100 (00:00:50)
INFO: Backup finished at 2024-03-31 03:00:20
INFO: Starting Backup of VM 101 (qemu)
INFO: Backup started at 2024-03-31 02:30:00
INFO: Finished Backup of VM 101 (00:00:01)
INFO: Backup finished at 2024-10-27 02:30:00
TASK OK",
        VIENNA,
    );
    let first = &log.guests[0];
    assert_eq!(first.started_at, Some(utc("2024-03-31T00:59:30Z")));
    assert_eq!(first.finished_at, Some(utc("2024-03-31T01:00:20Z")));
    let second = &log.guests[1];
    // 02:30 does not exist that night: the first instant after the gap.
    assert_eq!(second.started_at, Some(utc("2024-03-31T01:00:00Z")));
    // 02:30 exists twice that night: the earlier (CEST) instant.
    assert_eq!(second.finished_at, Some(utc("2024-10-27T00:30:00Z")));

    // The same log read with a UTC node time zone.
    let log = parse(
        "INFO: Starting Backup of VM 100 (qemu)\nINFO: Backup started at 2024-03-31 02:30:00",
        chrono_tz::UTC,
    );
    assert_eq!(log.guests[0].started_at, Some(utc("2024-03-31T02:30:00Z")));
}

#[test]
fn empty_and_garbage_input_never_fail() {
    let empty = parse_vzdump_log(std::iter::empty(), VIENNA);
    assert_eq!(empty, VzdumpLog::default());

    let blank = parse("\n\n   \n", VIENNA);
    assert_eq!(blank, VzdumpLog::default());

    let garbage = parse(
        "\
no content
\u{0}\u{1}binary\u{7f}
INFO:
INFO: Starting Backup of VM  (qemu)
INFO: Starting Backup of VM 99999999999 (qemu)
INFO: Finished Backup of VM x
ERROR: Backup of VM abc failed - nope
ERROR: random error outside a guest
WARN:
TASK
TASK WARNINGS: lots
INFO: Backup started at yesterday
INFO: archive file size: huge
INFO: creating archive '
ÄÖÜ 日本語 🙂
INFO: transferred NaN GiB in 1 seconds",
        VIENNA,
    );
    assert!(garbage.guests.is_empty());
    assert_eq!(garbage.task_end, None);
    assert_eq!(garbage.command, None);
    assert_eq!(garbage.warnings, vec![String::new()]);
    assert_eq!(garbage.unknown_lines, 12);

    let long_line = "x".repeat(1_000_000);
    let log = parse_vzdump_log([long_line.as_str(), "TASK OK"], VIENNA);
    assert_eq!(log.unknown_lines, 1);
    assert_eq!(log.task_end, Some(TaskEnd::Ok));
}

#[test]
fn lines_with_garbage_values_inside_a_guest_keep_the_rest() {
    let log = parse(
        "\
INFO: Starting Backup of VM 100 (openvz)
INFO: Backup started at 2024-99-99 99:99:99
INFO: archive file size: 12 XB
INFO: transferred lots in 5 seconds
INFO: creating Proxmox Backup Server archive 'vm/100/yesterday'
INFO: Finished Backup of VM 100 (soon)
TASK OK",
        VIENNA,
    );
    let guest = &log.guests[0];
    assert_eq!(guest.guest_type, None);
    assert_eq!(guest.started_at, None);
    assert_eq!(guest.archive_size_bytes, None);
    assert_eq!(guest.transferred_bytes, None);
    assert_eq!(
        guest.archive,
        Some(ArchiveTarget::Other {
            kind: "Proxmox Backup Server".into(),
            target: "vm/100/yesterday".into()
        })
    );
    assert_eq!(guest.outcome, GuestOutcome::Ok);
    assert_eq!(guest.duration_s, None);
}

#[test]
fn per_guest_log_file_with_timestamps_parses_too() {
    let log = parse(
        "\
2024-05-24 16:22:44 INFO: Starting Backup of VM 100 (qemu)
2024-05-24 16:22:44 INFO: status = running
2024-05-24 16:22:44 INFO: backup mode: snapshot
2024-05-24 16:22:50 INFO: transferred 1.20 GiB in 6 seconds (204.8 MiB/s)
2024-05-24 16:22:53 INFO: Finished Backup of VM 100 (00:00:09)",
        VIENNA,
    );
    assert_eq!(log.guests[0].outcome, GuestOutcome::Ok);
    assert_eq!(log.guests[0].transferred_bytes, Some(1_288_490_189));
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn carriage_returns_and_trailing_spaces_are_ignored() {
    let text = SINGLE_VM_PBS.replace('\n', " \r\n");
    let log = parse(&text, VIENNA);
    assert_eq!(log.guests[0].outcome, GuestOutcome::Ok);
    assert_eq!(log.task_end, Some(TaskEnd::Ok));
    assert_eq!(log.unknown_lines, 0);
    assert_eq!(log, parse(SINGLE_VM_PBS, VIENNA));
}

#[test]
fn job_without_local_guests() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump --all 1 --exclude 300,301 --storage pbs1 --mode snapshot --quiet 1
INFO: skip external VMs: 100, 101, 102
INFO: Backup job finished successfully
TASK OK",
        VIENNA,
    );
    assert!(log.guests.is_empty());
    assert_eq!(log.skipped_external, vec![100, 101, 102]);
    assert_eq!(log.command.as_ref().unwrap().exclude(), vec![300, 301]);
    assert_eq!(log.job_outcome, Some(JobOutcome::Success));
    assert_eq!(log.task_end, Some(TaskEnd::Ok));
    assert_eq!(log.unknown_lines, 0);
}

#[test]
fn serializes_to_stable_json() {
    let log = parse(SINGLE_VM_PBS, VIENNA);
    let json = serde_json::to_value(&log).unwrap();
    let guest = &json["guests"][0];
    assert_eq!(guest["vmid"], 100);
    assert_eq!(guest["guest_type"], "qemu");
    assert_eq!(guest["started_at"], "2024-05-24T14:22:44Z");
    assert_eq!(guest["finished_at"], "2024-05-24T14:22:53Z");
    assert_eq!(guest["outcome"], serde_json::json!({"status": "ok"}));
    assert_eq!(
        guest["archive"],
        serde_json::json!({
            "type": "pbs",
            "backup_type": "vm",
            "backup_id": "100",
            "backup_time": "2024-05-24T14:22:44Z"
        })
    );
    assert_eq!(guest["archive_size_bytes"], serde_json::Value::Null);
    assert_eq!(json["task_end"], "ok");
    assert_eq!(
        json["job_outcome"],
        serde_json::json!({"status": "success"})
    );
    assert_eq!(
        json["command"]["options"]["notes-template"],
        "{{guestname}}"
    );

    let failed = parse(
        "ERROR: Backup of VM 105 failed - unable to find VM '105'\nTASK ERROR: job errors",
        VIENNA,
    );
    let json = serde_json::to_value(&failed).unwrap();
    assert_eq!(
        json["guests"][0]["outcome"],
        serde_json::json!({"status": "failed", "error": "unable to find VM '105'"})
    );
    assert_eq!(json["guests"][0]["started_at"], serde_json::Value::Null);
    assert_eq!(json["task_end"], serde_json::json!({"error": "job errors"}));
}

#[test]
fn blank_line_inside_multi_line_warning_keeps_continuation() {
    let log = parse(
        "INFO: Starting Backup of VM 100 (qemu)\nWARN: first line\n\nsecond paragraph\nINFO: Finished Backup of VM 100 (00:00:01)",
        VIENNA,
    );
    assert_eq!(log.guests[0].warnings, vec!["first line second paragraph"]);
    assert_eq!(log.unknown_lines, 0);
}

/// A run with fleecing (reference vzdump-log §3 line 4: property strings printed `k=v,k=v`)
/// that removes an earlier run's leftover (copies-and-evolution §B3), and one that was killed.
#[test]
fn fleecing_use_and_old_image_removal_are_read() {
    let log = parse(
        "\
INFO: starting new backup job: vzdump 100 --storage pbs1 --mode snapshot --fleecing 'enabled=1,storage=local-lvm'
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2024-05-24 16:22:44
INFO: status = running
INFO: removing (old) fleecing image 'local-lvm:vm-100-fleece-0'
INFO: removing (old) fleecing image 'local-lvm:vm-100-fleece-1'
INFO: backup mode: snapshot
INFO: Finished Backup of VM 100 (00:00:09)
INFO: Backup finished at 2024-05-24 16:22:53
INFO: Backup job finished successfully
TASK OK
",
        VIENNA,
    );
    let command = log.command.clone().unwrap();
    assert_eq!(command.fleecing(), Some(Some("local-lvm".to_string())));
    assert_eq!(
        log.guest(100).unwrap().fleecing_removed,
        vec!["local-lvm:vm-100-fleece-0", "local-lvm:vm-100-fleece-1"]
    );

    let cmd = |text: &str| super::command::parse_job_command(text);
    // The bare first entry is `enabled`; its default is off.
    assert_eq!(
        cmd("vzdump 100 --fleecing 1,storage=fast").fleecing(),
        Some(Some("fast".to_string()))
    );
    assert_eq!(
        cmd("vzdump 100 --fleecing enabled=1").fleecing(),
        Some(None)
    );
    assert_eq!(cmd("vzdump 100 --fleecing storage=fast").fleecing(), None);
    assert_eq!(
        cmd("vzdump 100 --fleecing 'enabled=0,storage=fast'").fleecing(),
        None
    );
    assert_eq!(cmd("vzdump 100 --storage pbs1").fleecing(), None);
    assert_eq!(cmd("vzdump 100 --fleecing '1,enabled=1'").fleecing(), None);

    // A line that only resembles the removal is not taken for it.
    let other = parse(
        "INFO: Starting Backup of VM 100 (qemu)\nINFO: removing (old) fleecing image local-lvm:x\n",
        VIENNA,
    );
    assert!(other.guest(100).unwrap().fleecing_removed.is_empty());
}

/// The collector feeds a log page by page into one [`Parser`]: wherever the pages split it (in a
/// multi-line error, a warning and its continuation, a guest block), the result is the whole
/// log's.
#[test]
fn a_log_fed_in_pages_reads_as_the_whole_log() {
    for log in [SINGLE_VM_PBS, MULTI_GUEST_ONE_FAILURE] {
        let lines: Vec<&str> = log.lines().collect();
        let whole = parse(log, VIENNA);
        for page in 1..=lines.len() {
            let mut parser = Parser::new(VIENNA);
            for chunk in lines.chunks(page) {
                chunk.iter().for_each(|line| parser.feed(line));
            }
            assert_eq!(parser.finish(), whole, "pages of {page} lines");
        }
    }
}
