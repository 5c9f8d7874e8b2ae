//! Realistic vzdump task logs (vzdump-log.md §3–§8) for multi-guest runs, built from the
//! guests, the target storage kind and an outcome per guest, plus the matching PBS snapshot
//! times so scenarios can keep PVE tasks and PBS snapshots consistent.

use serde_json::Value;

use super::scenario::{Guest, Kind, RawMap};
use super::tasks::PveTask;

/// What happens to one guest in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Backed up.
    Ok,
    /// Backed up with a `WARN:` line (counts as a task warning, PVE ≥ 8).
    Warn(String),
    /// Failed with this error text.
    Failed(String),
}

/// One guest of a run.
#[derive(Debug, Clone)]
pub struct LogGuest {
    /// VMID.
    pub vmid: u32,
    /// `None` = the VMID no longer exists (orphan in a `vmid` job).
    pub kind: Option<Kind>,
    /// Name / hostname.
    pub name: Option<String>,
    /// Guest running (snapshot mode) or stopped (stop mode).
    pub running: bool,
    /// Config (disks / mount points are listed from it).
    pub config: RawMap,
    /// Outcome.
    pub outcome: Outcome,
}

impl LogGuest {
    /// From a scenario guest.
    pub fn from_guest(g: &Guest, outcome: Outcome) -> LogGuest {
        LogGuest {
            vmid: g.vmid,
            kind: Some(g.kind),
            name: g.display_name().map(str::to_string),
            running: g.status == "running" && !g.is_template(),
            config: g.config.clone(),
            outcome,
        }
    }
    /// A deleted VMID listed in a `vmid` job.
    pub fn missing(vmid: u32) -> LogGuest {
        LogGuest {
            vmid,
            kind: None,
            name: None,
            running: false,
            config: RawMap::new(),
            outcome: Outcome::Failed(format!("unable to find VM '{vmid}'")),
        }
    }
}

/// Target of the run.
#[derive(Debug, Clone)]
pub enum Target {
    /// PBS storage (`storage` id, PBS `repo` like `root@pam@10.0.0.5:8007:store1`, namespace).
    Pbs {
        /// Storage id.
        storage: String,
        /// Repository string as the client prints it.
        repo: String,
        /// Namespace (`""` = root).
        ns: String,
    },
    /// File storage with a dump directory.
    Dir {
        /// Storage id.
        storage: String,
        /// Dump directory, e.g. `/var/lib/vz/dump`.
        dumpdir: String,
    },
}

/// A vzdump run on one node.
#[derive(Debug, Clone)]
pub struct Run {
    /// Node.
    pub node: String,
    /// Node UTC offset (seconds) for local timestamps.
    pub utc_offset_secs: i64,
    /// Start epoch.
    pub start: i64,
    /// `starting new backup job: vzdump …` arguments after `vzdump `.
    pub job_args: String,
    /// Guests of the job on other nodes (`skip external VMs`).
    pub skip_external: Vec<u32>,
    /// Local guests (rendered in ascending VMID order).
    pub guests: Vec<LogGuest>,
    /// Target.
    pub target: Target,
    /// Seconds each guest takes.
    pub seconds_per_guest: i64,
    /// Omit optional progress lines (for huge generated scenarios).
    pub compact: bool,
}

/// Result of rendering a run.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Log lines incl. the final `TASK …` line.
    pub lines: Vec<String>,
    /// End epoch.
    pub end: i64,
    /// (vmid, kind, backup time) of every guest that succeeded (PBS snapshot times).
    pub backups: Vec<(u32, Kind, i64)>,
}

fn local(epoch: i64, offset: i64, fmt: &str) -> String {
    chrono::DateTime::from_timestamp(epoch + offset, 0)
        .map(|t| t.format(fmt).to_string())
        .unwrap_or_default()
}

fn utc_stamp(epoch: i64) -> String {
    local(epoch, 0, "%Y-%m-%dT%H:%M:%SZ")
}

fn cfg_str<'a>(cfg: &'a RawMap, k: &str) -> Option<&'a str> {
    cfg.get(k).and_then(Value::as_str)
}

/// VM disk keys present in `config`, in the order vzdump/`get_backup_volumes` visits them
/// (ide, scsi, virtio, sata by index, then efidisk0, tpmstate0).
pub fn vm_disk_keys(config: &RawMap) -> Vec<String> {
    let order = ["ide", "scsi", "virtio", "sata"];
    let limits = [4u32, 31, 16, 6];
    let mut keyed: Vec<(usize, u32, String)> = Vec::new();
    for key in config.keys() {
        if key == "efidisk0" {
            keyed.push((4, 0, key.clone()));
        } else if key == "tpmstate0" {
            keyed.push((5, 0, key.clone()));
        } else if let Some(pos) = order.iter().position(|p| key.starts_with(p)) {
            let digits = &key[order[pos].len()..];
            if let Ok(i) = digits.parse::<u32>() {
                if i < limits[pos] && digits == i.to_string() {
                    keyed.push((pos, i, key.clone()));
                }
            }
        }
    }
    keyed.sort();
    keyed.into_iter().map(|(_, _, k)| k).collect()
}

/// CT mount point keys `mp0`…`mp255` present in `config`, by index.
pub fn mp_keys(config: &RawMap) -> Vec<String> {
    let mut keyed: Vec<(u32, String)> = config
        .keys()
        .filter_map(|k| {
            let digits = k.strip_prefix("mp")?;
            let i = digits.parse::<u32>().ok()?;
            (i < 256 && digits == i.to_string()).then(|| (i, k.clone()))
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, k)| k).collect()
}

fn hms(secs: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

impl Run {
    /// Render the task log.
    pub fn render(&self) -> Rendered {
        let off = self.utc_offset_secs;
        let mut lines = vec![format!(
            "INFO: starting new backup job: vzdump {}",
            self.job_args
        )];
        if !self.skip_external.is_empty() {
            let mut ids = self.skip_external.clone();
            ids.sort_unstable();
            let list: Vec<String> = ids.iter().map(u32::to_string).collect();
            lines.push(format!("INFO: skip external VMs: {}", list.join(", ")));
        }
        let mut guests = self.guests.clone();
        guests.sort_by_key(|g| g.vmid);
        let mut t = self.start + 1;
        let mut errors = 0;
        let mut warnings = 0;
        let mut backups = Vec::new();
        for g in &guests {
            let Some(kind) = g.kind else {
                lines.push(format!(
                    "ERROR: Backup of VM {} failed - unable to find VM '{}'",
                    g.vmid, g.vmid
                ));
                lines.push(format!(
                    "INFO: Failed at {}",
                    local(t, off, "%Y-%m-%d %H:%M:%S")
                ));
                errors += 1;
                continue;
            };
            let begin = t;
            let end = t + self.seconds_per_guest;
            lines.push(format!(
                "INFO: Starting Backup of VM {} ({})",
                g.vmid,
                kind.as_str()
            ));
            lines.push(format!(
                "INFO: Backup started at {}",
                local(begin, off, "%Y-%m-%d %H:%M:%S")
            ));
            lines.push(format!(
                "INFO: status = {}",
                if g.running { "running" } else { "stopped" }
            ));
            match kind {
                Kind::Qemu => self.qemu_prepare(g, &mut lines),
                Kind::Lxc => self.lxc_prepare(g, &mut lines),
            }
            lines.push(format!(
                "INFO: backup mode: {}",
                if g.running { "snapshot" } else { "stop" }
            ));
            lines.push("INFO: ionice priority: 7".into());
            if kind == Kind::Lxc && g.running {
                lines.push("INFO: create storage snapshot 'vzdump'".into());
            }
            let pbs_path = format!("{}/{}/{}", kind.pbs_type(), g.vmid, utc_stamp(begin));
            match &self.target {
                Target::Pbs { .. } => lines.push(format!(
                    "INFO: creating Proxmox Backup Server archive '{pbs_path}'"
                )),
                Target::Dir { dumpdir, .. } => {
                    let ext = if kind == Kind::Qemu {
                        "vma.zst"
                    } else {
                        "tar.zst"
                    };
                    lines.push(format!(
                        "INFO: creating vzdump archive '{dumpdir}/vzdump-{}-{}-{}.{ext}'",
                        kind.as_str(),
                        g.vmid,
                        local(begin, off, "%Y_%m_%d-%H_%M_%S")
                    ));
                }
            }
            if let Outcome::Failed(err) = &g.outcome {
                lines.push(format!("ERROR: {err}"));
                lines.push("INFO: aborting backup job".into());
                if kind == Kind::Qemu && g.running {
                    lines.push("INFO: resuming VM again".into());
                }
                lines.push(format!("ERROR: Backup of VM {} failed - {err}", g.vmid));
                lines.push(format!(
                    "INFO: Failed at {}",
                    local(end, off, "%Y-%m-%d %H:%M:%S")
                ));
                errors += 1;
                t = end;
                continue;
            }
            match kind {
                Kind::Qemu => self.qemu_archive(g, &mut lines),
                Kind::Lxc => self.lxc_archive(g, begin, &pbs_path, &mut lines),
            }
            if let Outcome::Warn(w) = &g.outcome {
                lines.push(format!("WARN: {w}"));
                warnings += 1;
            }
            if let Target::Dir { .. } = self.target {
                lines.push("INFO: archive file size: 1.20GB".into());
            }
            lines.push("INFO: adding notes to backup".into());
            lines
                .push("INFO: prune older backups with retention: keep-daily=7, keep-last=3".into());
            match &self.target {
                Target::Pbs { .. } => {
                    lines.push(format!(
                        "INFO: running 'proxmox-backup-client prune' for '{}/{}'",
                        kind.pbs_type(),
                        g.vmid
                    ));
                    lines.push("INFO: pruned 0 backup(s)".into());
                }
                Target::Dir { .. } => lines.push("INFO: pruned 0 backup(s)".into()),
            }
            lines.push(format!(
                "INFO: Finished Backup of VM {} ({})",
                g.vmid,
                hms(end - begin)
            ));
            lines.push(format!(
                "INFO: Backup finished at {}",
                local(end, off, "%Y-%m-%d %H:%M:%S")
            ));
            backups.push((g.vmid, kind, begin));
            t = end;
        }
        if errors > 0 {
            lines.push("INFO: Backup job finished with errors".into());
        } else {
            lines.push("INFO: Backup job finished successfully".into());
        }
        lines.push("INFO: notified via target `mail-to-root`".into());
        lines.push(if errors > 0 {
            "TASK ERROR: job errors".into()
        } else if warnings > 0 {
            format!("TASK WARNINGS: {warnings}")
        } else {
            "TASK OK".into()
        });
        Rendered {
            lines,
            end: t + 1,
            backups,
        }
    }

    fn qemu_prepare(&self, g: &LogGuest, lines: &mut Vec<String>) {
        if let Some(n) = &g.name {
            lines.push(format!("INFO: VM Name: {n}"));
        }
        let ovmf = cfg_str(&g.config, "bios") == Some("ovmf");
        let keys = vm_disk_keys(&g.config);
        for key in keys {
            let Some(val) = cfg_str(&g.config, &key) else {
                continue;
            };
            let mut parts = val.split(',');
            let volid = parts.next().unwrap_or("");
            let opts: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
            let opt = |k: &str| opts.iter().find(|(a, _)| *a == k).map(|(_, b)| *b);
            if opt("media") == Some("cdrom") {
                continue;
            }
            if key == "efidisk0" && !ovmf {
                lines.push(format!(
                    "INFO: exclude disk '{key}' '{volid}' (efidisk but no OVMF BIOS)"
                ));
            } else if opt("backup").is_some_and(|b| matches!(b, "0" | "no" | "off" | "false")) {
                lines.push(format!("INFO: exclude disk '{key}' '{volid}' (backup=no)"));
            } else {
                let size = opt("size").map(|s| format!(" {s}")).unwrap_or_default();
                lines.push(format!("INFO: include disk '{key}' '{volid}'{size}"));
            }
        }
    }

    fn qemu_archive(&self, g: &LogGuest, lines: &mut Vec<String>) {
        if !g.running {
            lines.push("INFO: starting kvm to execute backup task".into());
        }
        if g.running && !self.compact {
            lines.push("INFO: issuing guest-agent 'fs-freeze' command".into());
            lines.push("INFO: starting backup via QMP command".into());
            lines.push("INFO: issuing guest-agent 'fs-thaw' command".into());
        }
        lines.push(format!(
            "INFO: started backup task '{:08x}-0d6a-4c3e-9f0a-{:012x}'",
            g.vmid,
            u64::from(g.vmid) * 7919
        ));
        if g.running {
            lines.push("INFO: resuming VM again".into());
        }
        if let Target::Pbs { .. } = self.target {
            let bitmap = if g.running {
                "OK (1.2 GiB of 32.0 GiB dirty)"
            } else {
                "created new"
            };
            lines.push(format!("INFO: scsi0: dirty-bitmap status: {bitmap}"));
        }
        if !self.compact {
            lines.push(
                "INFO:  50% (616.0 MiB of 1.2 GiB) in 3s, read: 205.3 MiB/s, write: 198.7 MiB/s"
                    .into(),
            );
            lines.push(
                "INFO: 100% (1.2 GiB of 1.2 GiB) in 6s, read: 204.0 MiB/s, write: 201.3 MiB/s"
                    .into(),
            );
        }
        if let Target::Pbs { .. } = self.target {
            lines.push("INFO: Waiting for server to finish backup validation...".into());
            lines.push("INFO: backup was done incrementally, reused 30.80 GiB (96%)".into());
        }
        lines.push("INFO: transferred 1.20 GiB in 6 seconds (204.8 MiB/s)".into());
        if !g.running {
            lines.push("INFO: stopping kvm after backup task".into());
        }
    }

    fn lxc_prepare(&self, g: &LogGuest, lines: &mut Vec<String>) {
        if let Some(n) = &g.name {
            lines.push(format!("INFO: CT Name: {n}"));
        }
        lines.push("INFO: including mount point rootfs ('/') in backup".into());
        for key in mp_keys(&g.config) {
            let Some(val) = cfg_str(&g.config, &key) else {
                continue;
            };
            let mut parts = val.split(',');
            let src = parts.next().unwrap_or("");
            let opts: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
            let mp = opts
                .iter()
                .find(|(k, _)| *k == "mp")
                .map(|(_, v)| *v)
                .unwrap_or("");
            let backup = opts
                .iter()
                .any(|(k, v)| *k == "backup" && matches!(*v, "1" | "yes" | "on" | "true"));
            if src.starts_with("/dev/") {
                lines.push(format!(
                    "INFO: excluding device mount point {key} ('{mp}') from backup (not a volume)"
                ));
            } else if src.starts_with('/') {
                lines.push(format!(
                    "INFO: excluding bind mount point {key} ('{mp}') from backup (not a volume)"
                ));
            } else if backup {
                lines.push(format!(
                    "INFO: including mount point {key} ('{mp}') in backup"
                ));
            } else {
                lines.push(format!(
                    "INFO: excluding volume mount point {key} ('{mp}') from backup (disabled)"
                ));
            }
        }
    }

    fn lxc_archive(&self, g: &LogGuest, begin: i64, pbs_path: &str, lines: &mut Vec<String>) {
        match &self.target {
            Target::Pbs { repo, ns, .. } => {
                let shown = if ns.is_empty() {
                    pbs_path.to_string()
                } else {
                    format!("[{ns}]:{pbs_path}")
                };
                let ctime = local(begin, self.utc_offset_secs, "%a %b %e %H:%M:%S %Y");
                lines.push(format!("INFO: Starting backup: {shown}"));
                lines.push(format!("INFO: Client name: {}", self.node));
                lines.push(format!("INFO: Starting backup protocol: {ctime}"));
                lines.push(format!("INFO: Downloading previous manifest ({ctime})"));
                lines.push(format!(
                    "INFO: Upload config file '/var/tmp/vzdumptmp{0}_{0}/etc/vzdump/pct.conf' to '{repo}' as pct.conf.blob",
                    g.vmid
                ));
                lines.push(format!(
                    "INFO: Upload directory '/mnt/vzsnap0' to '{repo}' as root.pxar.didx"
                ));
                if !self.compact {
                    lines.push(
                        "INFO: root.pxar: had to backup 1.2 GiB of 8.0 GiB (compressed 400 MiB) in 12.34s"
                            .into(),
                    );
                    lines.push("INFO: root.pxar: average backup speed: 99.5 MiB/s".into());
                    lines.push("INFO: Uploaded backup catalog (1.1 MiB)".into());
                }
                lines.push("INFO: Duration: 13.00s".into());
                lines.push(format!("INFO: End Time: {ctime}"));
            }
            Target::Dir { .. } => {
                lines.push("INFO: Total bytes written: 1288490188 (1.2GiB, 99MiB/s)".into());
            }
        }
        if g.running {
            lines.push("INFO: cleanup temporary 'vzdump' snapshot".into());
        }
    }

    /// Render and wrap into a `vzdump` task (id = VMID when exactly one guest, else empty).
    pub fn task(&self, user: &str) -> (PveTask, Rendered) {
        let rendered = self.render();
        let vmid = if self.guests.len() == 1 {
            Some(self.guests[0].vmid)
        } else {
            None
        };
        let task = PveTask::vzdump(
            &self.node,
            self.start,
            Some(rendered.end - self.start),
            vmid,
            user,
            rendered.lines.clone(),
        );
        (task, rendered)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::scenario::guest;
    use super::*;

    #[test]
    fn multi_guest_with_failure_and_orphan() {
        let g1 = guest(100, "pve1", Kind::Qemu).name("web01").cfg(
            "scsi1",
            serde_json::json!("local-lvm:vm-100-disk-1,backup=0,size=8G"),
        );
        let g2 = guest(101, "pve1", Kind::Lxc).name("ct01");
        let run = Run {
            node: "pve1".into(),
            utc_offset_secs: 7200,
            start: 1716516000,
            job_args: "--all 1 --storage pbs1 --mode snapshot --quiet 1".into(),
            skip_external: vec![201, 200],
            guests: vec![
                LogGuest::from_guest(&g2, Outcome::Failed("broken pipe".into())),
                LogGuest::from_guest(&g1, Outcome::Ok),
                LogGuest::missing(999),
            ],
            target: Target::Pbs {
                storage: "pbs1".into(),
                repo: "root@pam@10.0.0.5:8007:store1".into(),
                ns: String::new(),
            },
            seconds_per_guest: 60,
            compact: false,
        };
        let (task, r) = run.task("root@pam");
        assert_eq!(r.lines[1], "INFO: skip external VMs: 200, 201");
        assert_eq!(r.lines[2], "INFO: Starting Backup of VM 100 (qemu)");
        assert_eq!(r.lines[3], "INFO: Backup started at 2024-05-24 04:00:01");
        assert!(r
            .lines
            .contains(&"INFO: exclude disk 'scsi1' 'local-lvm:vm-100-disk-1' (backup=no)".into()));
        assert!(r
            .lines
            .contains(&"ERROR: Backup of VM 101 failed - broken pipe".into()));
        assert!(r
            .lines
            .contains(&"ERROR: Backup of VM 999 failed - unable to find VM '999'".into()));
        assert_eq!(r.lines.last().unwrap(), "TASK ERROR: job errors");
        assert_eq!(r.backups, vec![(100, Kind::Qemu, 1716516001)]);
        assert!(task.upid.contains(":vzdump::root@pam:"));
        assert_eq!(task.index_status().unwrap(), "job errors");
    }
}
