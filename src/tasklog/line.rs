//! Classification of single vzdump task-log lines.
//!
//! Each line is matched with `strip_prefix`/`split_once` against the formats printed by
//! pve-manager, qemu-server, pve-container and proxmox-backup-client (PVE 6 → 9). This module
//! only looks at one line at a time; context (which guest is open, continuations) is the
//! parser's job.

use super::command::parse_job_command;
use super::size::parse_size;
use super::time::{has_shape, parse_pbs_backup_time};
use super::{ArchiveTarget, ExcludedVolume, GuestKind, JobCommand};

/// What one line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// Empty or whitespace only.
    Blank,
    /// `TASK OK`.
    TaskOk,
    /// `TASK WARNINGS: <n>`.
    TaskWarnings(u32),
    /// `TASK ERROR: <msg>`.
    TaskError(&'a str),
    /// `starting new backup job: vzdump …`.
    JobStart(JobCommand),
    /// `skip external VMs: 200, 201`.
    SkipExternal(Vec<u32>),
    /// `Starting Backup of VM <vmid> (<kind>)`.
    GuestStart { vmid: u32, kind: Option<GuestKind> },
    /// `Backup started at <local time>`.
    StartedAt(&'a str),
    /// `Backup finished at <local time>` or `Failed at <local time>`.
    EndedAt(&'a str),
    /// `Finished Backup of VM <vmid> (HH:MM:SS)`.
    GuestFinished { vmid: u32, duration_s: Option<u64> },
    /// `ERROR: Backup of VM <vmid> failed - <err>`.
    GuestFailed { vmid: u32, error: &'a str },
    /// `Backup job finished successfully` / `… with errors`.
    JobFinished { with_errors: bool },
    /// `ERROR: Backup job failed - <err>`.
    JobFailed(&'a str),
    /// `ERROR: can't acquire lock '/var/run/vzdump.lock' …` (whole message).
    LockFailed(&'a str),
    /// `backup mode: <mode>`.
    Mode(&'a str),
    /// `VM Name: <name>` / `CT Name: <name>`.
    Name(&'a str),
    /// `creating [<kind> ]archive '<target>'`.
    Archive(ArchiveTarget),
    /// `archive file size: <size>`.
    ArchiveSize(Option<u64>),
    /// QEMU `transferred <size> in …` (current and pre-6.2 wording).
    Transferred(Option<u64>),
    /// PBS client `<archive>: had to backup <size> of <size> …` / `had to upload …`.
    PxarUploaded {
        archive: &'a str,
        bytes: Option<u64>,
    },
    /// GNU tar `Total bytes written: <n> (…)`.
    TarTotal(Option<u64>),
    /// `exclude disk …` / `excluding … mount point …`.
    Excluded(ExcludedVolume),
    /// `removing (old) fleecing image '<volid>'` (qemu-server ≥ 8.3.11: a leftover of an
    /// earlier run cleaned up by this one).
    FleecingRemoved(&'a str),
    /// `WARN: <text>`.
    Warn(&'a str),
    /// An `ERROR:` line that is none of the recognised ones (error detail or continuation).
    OtherError(&'a str),
    /// A recognised informational line that carries nothing the report needs.
    Info,
    /// A line without any `INFO:`/`WARN:`/`ERROR:`/`TASK` prefix.
    Unprefixed(&'a str),
    /// A prefixed line that matches no known format (e.g. hook script output).
    Unknown,
}

/// Classify one raw log line.
pub(crate) fn classify(raw: &str) -> Line<'_> {
    let line = strip_local_timestamp(raw.trim_end());
    if line.trim().is_empty() {
        return Line::Blank;
    }
    if let Some(rest) = line.strip_prefix("TASK") {
        if rest.is_empty() || rest.starts_with(' ') {
            return classify_task_end(rest.trim_start()).unwrap_or(Line::Unknown);
        }
    }
    if let Some(text) = strip_level(line, "INFO:") {
        return classify_info(text);
    }
    if let Some(text) = strip_level(line, "WARN:") {
        return Line::Warn(text);
    }
    if let Some(text) = strip_level(line, "ERROR:") {
        return classify_error(text);
    }
    Line::Unprefixed(line.trim())
}

/// `LEVEL: text` → `text` (trimmed); vzdump always writes exactly one space after the colon.
fn strip_level<'a>(line: &'a str, level: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(level)?;
    if rest.is_empty() || rest.starts_with(' ') {
        Some(rest.trim())
    } else {
        None
    }
}

/// Per-guest vzdump log files prefix each line with `YYYY-MM-DD HH:MM:SS `; accept those too.
fn strip_local_timestamp(line: &str) -> &str {
    const STAMP_SHAPE: &str = "dddd-dd-dd dd:dd:dd ";
    match (line.get(..STAMP_SHAPE.len()), line.get(STAMP_SHAPE.len()..)) {
        (Some(stamp), Some(rest))
            if has_shape(stamp, STAMP_SHAPE)
                && ["INFO:", "WARN:", "ERROR:"]
                    .iter()
                    .any(|level| rest.starts_with(level)) =>
        {
            rest
        }
        _ => line,
    }
}

fn classify_task_end(rest: &str) -> Option<Line<'_>> {
    if rest.trim() == "OK" {
        return Some(Line::TaskOk);
    }
    if let Some(count) = rest.strip_prefix("WARNINGS:") {
        return count.trim().parse().ok().map(Line::TaskWarnings);
    }
    rest.strip_prefix("ERROR:")
        .map(|msg| Line::TaskError(msg.trim()))
}

fn classify_error(text: &str) -> Line<'_> {
    if let Some(rest) = text.strip_prefix("Backup of VM ") {
        if let Some((vmid, error)) = rest.split_once(" failed - ") {
            if let Ok(vmid) = vmid.parse() {
                return Line::GuestFailed {
                    vmid,
                    error: error.trim(),
                };
            }
        }
        // "failed -" with an empty error text
        if let Some(vmid) = rest.strip_suffix(" failed -").and_then(|v| v.parse().ok()) {
            return Line::GuestFailed { vmid, error: "" };
        }
    }
    if let Some(error) = text.strip_prefix("Backup job failed - ") {
        return Line::JobFailed(error.trim());
    }
    if text.starts_with("can't acquire lock ") {
        return Line::LockFailed(text);
    }
    // proxmox-notify failure variants (their prefix in the task log is unverified).
    if text.starts_with("could not notify via target ") {
        return Line::Info;
    }
    Line::OtherError(text)
}

fn classify_info(text: &str) -> Line<'_> {
    if let Some(rest) = text.strip_prefix("starting new backup job: ") {
        return Line::JobStart(parse_job_command(rest));
    }
    if let Some(rest) = text.strip_prefix("skip external VMs: ") {
        return Line::SkipExternal(
            rest.split(',')
                .filter_map(|v| v.trim().parse().ok())
                .collect(),
        );
    }
    if let Some(rest) = text.strip_prefix("Starting Backup of VM ") {
        return guest_start(rest).unwrap_or(Line::Unknown);
    }
    if let Some(rest) = text.strip_prefix("Finished Backup of VM ") {
        return guest_finished(rest).unwrap_or(Line::Unknown);
    }
    if let Some(rest) = text.strip_prefix("Backup started at ") {
        return Line::StartedAt(rest);
    }
    if let Some(rest) = text
        .strip_prefix("Backup finished at ")
        .or_else(|| text.strip_prefix("Failed at "))
    {
        return Line::EndedAt(rest);
    }
    match text {
        "Backup job finished successfully" => return Line::JobFinished { with_errors: false },
        "Backup job finished with errors" => return Line::JobFinished { with_errors: true },
        _ => {}
    }
    if let Some(mode) = text.strip_prefix("backup mode: ") {
        return Line::Mode(mode);
    }
    if let Some(name) = text
        .strip_prefix("VM Name: ")
        .or_else(|| text.strip_prefix("CT Name: "))
    {
        return Line::Name(name);
    }
    if let Some(archive) = archive_target(text) {
        return Line::Archive(archive);
    }
    if let Some(size) = text.strip_prefix("archive file size: ") {
        return Line::ArchiveSize(parse_size(size));
    }
    if let Some(rest) = text.strip_prefix("transferred ") {
        return Line::Transferred(
            rest.split_once(" in ")
                .and_then(|(size, _)| parse_size(size)),
        );
    }
    if let Some(rest) = text.strip_prefix("Total bytes written: ") {
        let number = rest.split_once(' ').map_or(rest, |(n, _)| n);
        return Line::TarTotal(number.parse().ok());
    }
    if let Some(uploaded) = pxar_uploaded(text) {
        return uploaded;
    }
    if let Some(excluded) = excluded_disk(text).or_else(|| excluded_mount_point(text)) {
        return Line::Excluded(excluded);
    }
    if let Some(volid) = text
        .strip_prefix("removing (old) fleecing image '")
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return Line::FleecingRemoved(volid);
    }
    if is_known_info(text) {
        return Line::Info;
    }
    Line::Unknown
}

fn guest_start(rest: &str) -> Option<Line<'_>> {
    let (vmid, kind) = rest.split_once(" (")?;
    let kind = match kind.strip_suffix(')')? {
        "qemu" => Some(GuestKind::Qemu),
        "lxc" => Some(GuestKind::Lxc),
        _ => None,
    };
    Some(Line::GuestStart {
        vmid: vmid.parse().ok()?,
        kind,
    })
}

fn guest_finished(rest: &str) -> Option<Line<'_>> {
    let (vmid, elapsed) = rest.split_once(' ').unwrap_or((rest, ""));
    let duration_s = elapsed
        .strip_prefix('(')
        .and_then(|e| e.strip_suffix(')'))
        .and_then(parse_hms);
    Some(Line::GuestFinished {
        vmid: vmid.parse().ok()?,
        duration_s,
    })
}

/// `H+:MM:SS` → seconds (vzdump's `%02d:%02d:%02d`; hours can exceed two digits).
fn parse_hms(text: &str) -> Option<u64> {
    let mut parts = text.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() != 2 || s.len() != 2 || h.is_empty() {
        return None;
    }
    let all_digits = [h, m, s]
        .iter()
        .all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !all_digits {
        return None;
    }
    let hours: u64 = h.parse().ok()?;
    let minutes: u64 = m.parse().ok()?;
    let seconds: u64 = s.parse().ok()?;
    hours.checked_mul(3600)?.checked_add(minutes * 60 + seconds)
}

/// `creating <kind> archive '<target>'` (≥ 6.2-7) or `creating archive '<path>'` (older).
fn archive_target(text: &str) -> Option<ArchiveTarget> {
    let rest = text.strip_prefix("creating ")?;
    let rest = rest.strip_suffix('\'')?;
    if let Some(path) = rest.strip_prefix("archive '") {
        return Some(ArchiveTarget::File {
            path: path.to_string(),
        });
    }
    let (kind, target) = rest.split_once(" archive '")?;
    Some(match kind {
        "vzdump" => ArchiveTarget::File {
            path: target.to_string(),
        },
        "Proxmox Backup Server" => pbs_target(target).unwrap_or_else(|| ArchiveTarget::Other {
            kind: kind.to_string(),
            target: target.to_string(),
        }),
        _ => ArchiveTarget::Other {
            kind: kind.to_string(),
            target: target.to_string(),
        },
    })
}

/// `<vm|ct>/<id>/<YYYY-MM-DDTHH:MM:SSZ>`.
fn pbs_target(target: &str) -> Option<ArchiveTarget> {
    let mut parts = target.split('/');
    let (backup_type, backup_id, time) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || backup_id.is_empty() || !matches!(backup_type, "vm" | "ct") {
        return None;
    }
    Some(ArchiveTarget::Pbs {
        backup_type: backup_type.into(),
        backup_id: backup_id.into(),
        backup_time: parse_pbs_backup_time(time)?,
    })
}

/// `<archive>: had to backup <size> of <size> …` (client ≥ 1.0.12) or `had to upload …` (older).
fn pxar_uploaded(text: &str) -> Option<Line<'_>> {
    let (archive, rest) = split_at_colon(text, ": had to backup ")
        .or_else(|| split_at_colon(text, ": had to upload "))?;
    if archive.is_empty() || archive.contains(' ') {
        return None;
    }
    let bytes = rest
        .split_once(" of ")
        .and_then(|(size, _)| parse_size(size));
    Some(Line::PxarUploaded { archive, bytes })
}

/// `text.split_once(pattern)` for a `pattern` that starts with `:`, found by looking only at the
/// colons: every line is tried here, and a substring search sets up its searcher on each call.
fn split_at_colon<'t>(text: &'t str, pattern: &str) -> Option<(&'t str, &'t str)> {
    memchr::memchr_iter(b':', text.as_bytes())
        .find(|&at| text.as_bytes()[at..].starts_with(pattern.as_bytes()))
        .and_then(|at| Some((text.get(..at)?, text.get(at + pattern.len()..)?)))
}

/// `exclude disk '<key>' '<volid>' (<reason>)`.
fn excluded_disk(text: &str) -> Option<ExcludedVolume> {
    let rest = text.strip_prefix("exclude disk '")?;
    let (key, rest) = rest.split_once("' '")?;
    let (volume, reason) = rest.split_once("' (")?;
    Some(ExcludedVolume {
        key: key.to_string(),
        volume: volume.to_string(),
        reason: reason.strip_suffix(')')?.to_string(),
        mount_type: None,
    })
}

/// `excluding <type> mount point <key> ('<path>') from backup (<reason>)`.
fn excluded_mount_point(text: &str) -> Option<ExcludedVolume> {
    let rest = text.strip_prefix("excluding ")?;
    let (mount_type, rest) = rest.split_once(" mount point ")?;
    let (key, rest) = rest.split_once(" ('")?;
    let (path, reason) = rest.split_once("') from backup (")?;
    Some(ExcludedVolume {
        key: key.to_string(),
        volume: path.to_string(),
        reason: reason.strip_suffix(')')?.to_string(),
        mount_type: Some(mount_type.to_string()),
    })
}

/// Informational lines from the reference formats that carry nothing the report uses.
const KNOWN_INFO_PREFIXES: &[&str] = &[
    // job level (pve-manager VZDump.pm)
    "trying to get global lock - waiting...",
    "got global lock",
    "notified via target ",
    "skipping disabled target ",
    "could not notify via target ",
    // per guest, common part
    "status = ",
    "trying 'suspend' mode instead",
    "bandwidth limit: ",
    "ionice priority: ",
    "stopping virtual guest",
    "suspending guest",
    "resuming guest",
    "suspend vm to make snapshot",
    "resume vm",
    "guest is online again after ",
    "sending archive to stdout",
    "adding notes to backup",
    "marking backup as protected",
    "prune older backups with retention: ",
    "running 'proxmox-backup-client prune' for ",
    "removing backup ",
    "delete old backup ",
    "pruned ",
    // QEMU prepare / config
    "include disk ",
    "update VM ",
    "skip unused drive ",
    "special config section found",
    "snapshots found",
    "pending configuration changes found",
    // QEMU archive phase
    "enabling encryption",
    "backup contains no disks",
    "starting diskless backup",
    "/usr/bin/proxmox-backup-client ",
    "starting kvm to execute backup task",
    "attaching TPM drive to QEMU for backup",
    "issuing guest-agent ",
    "starting backup via QMP command",
    "started backup task ",
    "resuming VM again",
    "using fast incremental mode",
    "Waiting for server to finish backup validation",
    "backup is sparse: ",
    "Backup is sparse: ",
    "backup was done incrementally",
    "stopping kvm after backup task",
    "kvm status changed after backup",
    "aborting backup job",
    "status: ",
    // LXC
    "including mount point ",
    "mode failure - ",
    "found old vzdump snapshot",
    "create storage snapshot ",
    "starting first sync ",
    "starting final sync ",
    "first sync finished",
    "final sync finished",
    "set max number of entries in memory",
    "cleanup temporary 'vzdump' snapshot",
    // proxmox-backup-client output
    "Starting backup: ",
    "Client name: ",
    "Starting backup protocol: ",
    "Downloading previous manifest",
    "No previous manifest available.",
    "Upload config file ",
    "Upload directory ",
    "Uploaded backup catalog",
    "Duration: ",
    "End Time: ",
    "Start Time: ",
    "Using encryption key ",
    "Encryption key fingerprint: ",
];

fn is_known_info(text: &str) -> bool {
    // The first byte rules out most prefixes without a `memcmp` call: every INFO line of a
    // 5 000-guest cluster's first run passes here (~4 % of its CPU before).
    let first = text.as_bytes().first();
    KNOWN_INFO_PREFIXES
        .iter()
        .any(|p| p.as_bytes().first() == first && text.starts_with(p))
        || is_progress(text)
        || text.contains(": dirty-bitmap status: ")
        || is_pxar_stat(text)
}

/// `  1% (288.0 MiB of 20.0 GiB) in 3s, read: …` (the INFO text is already trimmed).
fn is_progress(text: &str) -> bool {
    text.split_once("% (")
        .is_some_and(|(pct, _)| !pct.is_empty() && pct.bytes().all(|b| b.is_ascii_digit()))
}

/// Other per-archive client statistics, e.g. `root.pxar: average backup speed: 1.2 GiB/s`.
fn is_pxar_stat(text: &str) -> bool {
    text.split_once(": ").is_some_and(|(archive, _)| {
        !archive.contains(' ')
            && [".pxar", ".mpxar", ".ppxar", ".img", ".pcat1"]
                .iter()
                .any(|ext| archive.ends_with(ext))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn split_at_colon_is_split_once() {
        for text in [
            "root.pxar: had to backup 1.0 GiB of 2.0 GiB",
            "a:b: had to backup 5 B of 6 B",
            "x: y: had to backup 1 B",
            ": had to backup ",
            "no colon here",
            "ends with:",
            "é: had to backup 1 B",
        ] {
            assert_eq!(
                split_at_colon(text, ": had to backup "),
                text.split_once(": had to backup "),
                "{text}"
            );
        }
    }

    #[test]
    fn task_end_lines() {
        assert_eq!(classify("TASK OK"), Line::TaskOk);
        assert_eq!(classify("TASK WARNINGS: 3"), Line::TaskWarnings(3));
        assert_eq!(
            classify("TASK ERROR: job errors"),
            Line::TaskError("job errors")
        );
        assert_eq!(classify("TASK WARNINGS: many"), Line::Unknown);
    }

    #[test]
    fn guest_lines() {
        assert_eq!(
            classify("INFO: Starting Backup of VM 100 (qemu)"),
            Line::GuestStart {
                vmid: 100,
                kind: Some(GuestKind::Qemu)
            }
        );
        assert_eq!(
            classify("INFO: Starting Backup of VM 101 (lxc)"),
            Line::GuestStart {
                vmid: 101,
                kind: Some(GuestKind::Lxc)
            }
        );
        assert_eq!(
            classify("INFO: Finished Backup of VM 100 (00:00:09)"),
            Line::GuestFinished {
                vmid: 100,
                duration_s: Some(9)
            }
        );
        assert_eq!(
            classify("INFO: Finished Backup of VM 100 (125:03:07)"),
            Line::GuestFinished {
                vmid: 100,
                duration_s: Some(125 * 3600 + 187)
            }
        );
        assert_eq!(
            classify("INFO: Finished Backup of VM 100 (0:3:7)"),
            Line::GuestFinished {
                vmid: 100,
                duration_s: None
            }
        );
        assert_eq!(
            classify("ERROR: Backup of VM 105 failed - unable to find VM '105'"),
            Line::GuestFailed {
                vmid: 105,
                error: "unable to find VM '105'"
            }
        );
        assert_eq!(
            classify("INFO: Starting Backup of VM x (qemu)"),
            Line::Unknown
        );
    }

    #[test]
    fn progress_and_statistics_lines_are_known() {
        for line in [
            "INFO:   1% (288.0 MiB of 20.0 GiB) in 3s, read: 96.0 MiB/s, write: 94.7 MiB/s",
            "INFO: 100% (20.0 GiB of 20.0 GiB) in 22s, read: 1.3 GiB/s, write: 0 B/s",
            "INFO: status: 12% (123456789/1073741824), sparse 3% (1234), duration 10, read/write 100/90 MB/s",
            "INFO: scsi0: dirty-bitmap status: OK (1.2 GiB of 32.0 GiB dirty)",
            "INFO: root.pxar: average backup speed: 310.2 MiB/s",
            "INFO: notified via target `mail-to-root`",
        ] {
            assert_eq!(classify(line), Line::Info, "{line}");
        }
        assert_eq!(classify("INFO: some hook output"), Line::Unknown);
        assert_eq!(classify("plain text"), Line::Unprefixed("plain text"));
        assert_eq!(classify("   "), Line::Blank);
        assert_eq!(
            classify("INFO:missing space"),
            Line::Unprefixed("INFO:missing space")
        );
    }

    #[test]
    fn timestamped_per_guest_log_lines() {
        assert_eq!(
            classify("2024-05-24 16:22:44 INFO: backup mode: snapshot"),
            Line::Mode("snapshot")
        );
        assert_eq!(
            classify("2024-05-24 16:22:44 something"),
            Line::Unprefixed("2024-05-24 16:22:44 something")
        );
    }

    #[test]
    fn archive_lines() {
        assert_eq!(
            classify("INFO: creating archive '/var/lib/vz/dump/vzdump-qemu-100-2020_01_05-01_00_02.vma.lzo'"),
            Line::Archive(ArchiveTarget::File {
                path: "/var/lib/vz/dump/vzdump-qemu-100-2020_01_05-01_00_02.vma.lzo".into()
            })
        );
        assert_eq!(
            classify("INFO: creating Proxmox Backup Server archive 'vm/100/not-a-time'"),
            Line::Archive(ArchiveTarget::Other {
                kind: "Proxmox Backup Server".into(),
                target: "vm/100/not-a-time".into()
            })
        );
        assert_eq!(
            classify("INFO: creating my-provider archive 'x/y'"),
            Line::Archive(ArchiveTarget::Other {
                kind: "my-provider".into(),
                target: "x/y".into()
            })
        );
    }

    #[test]
    fn excluded_lines() {
        assert_eq!(
            classify(
                "INFO: excluding bind mount point mp1 ('/mnt/host') from backup (not a volume)"
            ),
            Line::Excluded(ExcludedVolume {
                key: "mp1".into(),
                volume: "/mnt/host".into(),
                reason: "not a volume".into(),
                mount_type: Some("bind".into()),
            })
        );
        assert_eq!(
            classify("INFO: exclude disk 'efidisk0' 'local-lvm:vm-100-disk-2' (efidisk but no OVMF BIOS)"),
            Line::Excluded(ExcludedVolume {
                key: "efidisk0".into(),
                volume: "local-lvm:vm-100-disk-2".into(),
                reason: "efidisk but no OVMF BIOS".into(),
                mount_type: None,
            })
        );
    }

    #[test]
    fn transfer_lines() {
        assert_eq!(
            classify("INFO: transferred 1.20 GiB in 6 seconds (204.8 MiB/s)"),
            Line::Transferred(Some(1_288_490_189))
        );
        assert_eq!(
            classify("INFO: transferred 0 B in <1 seconds"),
            Line::Transferred(Some(0))
        );
        assert_eq!(
            classify("INFO: transferred 34359 MB in 120 seconds (286 MB/s)"),
            Line::Transferred(Some(34359 * 1024 * 1024))
        );
        assert_eq!(
            classify(
                "INFO: root.pxar: had to backup 35.2 MiB of 1.1 GiB (compressed 12.4 MiB) in 4.12s"
            ),
            Line::PxarUploaded {
                archive: "root.pxar",
                bytes: Some(36_909_875)
            }
        );
        assert_eq!(
            classify("INFO: root.pxar: had to upload 500.00 MiB of 2.00 GiB in 10.00s, average speed 50.00 MiB/s)."),
            Line::PxarUploaded { archive: "root.pxar", bytes: Some(524_288_000) }
        );
        assert_eq!(
            classify("INFO: Total bytes written: 1084651520 (1.1GiB, 95MiB/s)"),
            Line::TarTotal(Some(1_084_651_520))
        );
        assert_eq!(classify("INFO: transferred lots"), Line::Transferred(None));
    }
}
