//! A builder for test inventories: a two-node cluster (pve1, pve2, UTC) with a PBS storage
//! `pbs1` → PBS `backup` (`pbs.example.com:8007`, datastore `store1`, root namespace), a file
//! storage `local`, complete lists everywhere, and 14 days of complete task history.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::model::*;
use crate::tasklog::{self, ArchiveTarget, GuestOutcome, GuestRun, JobCommand, VzdumpLog};

/// Parse an RFC 3339 instant.
pub fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The default report time: Sunday 2026-11-22 12:00 UTC.
pub fn now() -> DateTime<Utc> {
    t("2026-11-22T12:00:00Z")
}

pub struct Fx {
    pub inv: Inventory,
}

fn node(name: &str, tz: Option<&str>) -> Node {
    Node {
        name: name.to_string(),
        status: "online".to_string(),
        timezone: tz.map(str::to_string),
        up_since: None,
    }
}

impl Fx {
    pub fn new() -> Fx {
        Fx::at(now())
    }

    pub fn at(now: DateTime<Utc>) -> Fx {
        let since = now - Duration::days(14);
        let history = |name: &str| NodeTaskHistory {
            node: name.to_string(),
            completeness: Completeness::Complete,
            oldest_seen: None,
            requested_since: since,
            capped: false,
            tasks: Vec::new(),
        };
        let pve = PveInventory {
            name: "pve1.example.com".to_string(),
            host: "pve1.example.com:8006".to_string(),
            version: Some("8.2.4".to_string()),
            nodes: Observed::complete(vec![node("pve1", Some("UTC")), node("pve2", Some("UTC"))]),
            guests: Observed::complete(Vec::new()),
            storages: Observed::complete(vec![
                Storage {
                    id: "local".to_string(),
                    kind: "dir".to_string(),
                    content: vec!["backup".to_string(), "iso".to_string()],
                    enabled: true,
                    nodes: None,
                    pbs: None,
                    max_protected_backups: None,
                },
                Storage {
                    id: "pbs1".to_string(),
                    kind: "pbs".to_string(),
                    content: vec!["backup".to_string()],
                    enabled: true,
                    nodes: None,
                    pbs: Some(PbsTarget {
                        server: "PBS.example.com".to_string(),
                        port: 8007,
                        datastore: "store1".to_string(),
                        namespace: None,
                        username: Some("pve@pbs!pve".to_string()),
                        fingerprint: None,
                        encrypted: false,
                    }),
                    max_protected_backups: None,
                },
            ]),
            jobs: Observed::complete(Vec::new()),
            pools: Observed::complete(Vec::new()),
            task_history: vec![history("pve1"), history("pve2")],
            storage_backups: Observed::complete(Vec::new()),
            not_backed_up: Observed::complete(Vec::new()),
            running_backups: Vec::new(),
            restores: Observed::complete(Vec::new()),
            fleecing: Default::default(),
            replication: Observed::complete(Vec::new()),
        };
        let pbs = PbsInventory {
            name: "backup".to_string(),
            host: "pbs.example.com:8007".to_string(),
            fingerprint: None,
            version: Some("3.2.4".to_string()),
            datastores: Observed::complete(vec![Datastore {
                name: "store1".to_string(),
                comment: None,
                maintenance: None,
                unmounted: false,
                s3: false,
                usage: Some(DatastoreUsage {
                    total: Some(1000),
                    used: Some(250),
                    avail: Some(750),
                    estimated_full: None,
                    never_full: false,
                    error: None,
                }),
                gc: None,
                namespaces: Observed::complete(vec![String::new()]),
                snapshots: Observed::complete(Vec::new()),
            }]),
            verify_jobs: Observed::complete(Vec::new()),
            prune_jobs: Observed::complete(Vec::new()),
            sync_jobs: Observed::complete(Vec::new()),
            copies: crate::model::CopyInventory::none(),
            reads: Observed::complete(Vec::new()),
        };
        Fx {
            inv: Inventory {
                collected_at: now,
                pve: vec![pve],
                pbs: vec![pbs],
                anomalies: Vec::new(),
            },
        }
    }

    pub fn pve(&mut self) -> &mut PveInventory {
        self.inv.pve.first_mut().unwrap()
    }

    pub fn store(&mut self) -> &mut Datastore {
        &mut self.inv.pbs[0].datastores.items[0]
    }

    fn add_guest(mut self, vmid: Vmid, kind: GuestKind, node: &str) -> Fx {
        self.pve().guests.items.push(Guest {
            vmid,
            kind,
            name: Some(format!("guest{vmid}")),
            node: node.to_string(),
            status: Some("running".to_string()),
            template: Some(false),
            pool: None,
            tags: Vec::new(),
            lock: None,
            config: GuestConfigFacts::Read {
                notes: None,
                notes_read: true,
                excluded_volumes: Vec::new(),
                included_volumes: 1,
            },
            created: None,
        });
        self
    }

    pub fn vm(self, vmid: Vmid, node: &str) -> Fx {
        self.add_guest(vmid, GuestKind::Qemu, node)
    }

    pub fn ct(self, vmid: Vmid, node: &str) -> Fx {
        self.add_guest(vmid, GuestKind::Lxc, node)
    }

    /// Change an existing guest.
    pub fn guest(mut self, vmid: Vmid, f: impl FnOnce(&mut Guest)) -> Fx {
        let guest = self
            .pve()
            .guests
            .items
            .iter_mut()
            .find(|g| g.vmid == vmid)
            .unwrap();
        f(guest);
        self
    }

    /// An enabled job writing to `pbs1`.
    pub fn job(self, id: &str, schedule: &str, selection: Selection) -> Fx {
        self.job_with(id, schedule, selection, |_| {})
    }

    pub fn job_with(
        mut self,
        id: &str,
        schedule: &str,
        selection: Selection,
        f: impl FnOnce(&mut BackupJob),
    ) -> Fx {
        let mut job = BackupJob {
            id: id.to_string(),
            enabled: true,
            schedule: Some(schedule.to_string()),
            storage: Some("pbs1".to_string()),
            node: None,
            selection,
            mode: Some("snapshot".to_string()),
            comment: None,
            next_run: None,
            legacy: false,
            repeat_missed: None,
            protected: false,
            fleecing: None,
            raw: BTreeMap::new(),
        };
        f(&mut job);
        self.pve().jobs.items.push(job);
        self
    }

    pub fn pool(mut self, id: &str, members: Option<Vec<Vmid>>) -> Fx {
        self.pve().pools.items.push(Pool {
            id: id.to_string(),
            comment: None,
            members,
        });
        self
    }

    /// A snapshot in `store1`.
    pub fn snapshot(
        mut self,
        namespace: &str,
        kind: BackupType,
        id: &str,
        time: &str,
        size: Option<u64>,
        f: impl FnOnce(&mut Snapshot),
    ) -> Fx {
        let mut snapshot = Snapshot {
            namespace: namespace.into(),
            backup_type: kind,
            backup_id: id.to_string().into(),
            time: t(time),
            size,
            verification: Some(VerifyState::Ok),
            verified_at: None,
            protected: false,
            encrypted: Some(false),
            owner: Some("pve@pbs!pve".into()),
            comment: None,
        };
        f(&mut snapshot);
        self.store().snapshots.items.push(snapshot);
        self
    }

    /// A finished, verified VM snapshot in the root namespace.
    pub fn vm_snapshot(self, vmid: Vmid, time: &str) -> Fx {
        self.snapshot(
            "",
            BackupType::Vm,
            &vmid.to_string(),
            time,
            Some(1 << 30),
            |_| {},
        )
    }

    /// A vzdump task on `node`; `id` is the VMID for single-guest tasks, "" otherwise.
    pub fn task(
        self,
        node: &str,
        start: &str,
        id: &str,
        status: Option<&str>,
        command: Option<JobCommand>,
        guests: Vec<GuestRun>,
    ) -> Fx {
        let start = t(start);
        let end = status.map(|_| {
            guests
                .iter()
                .filter_map(|g| g.finished_at)
                .max()
                .unwrap_or(start + Duration::minutes(5))
        });
        let upid = format!(
            "UPID:{node}:0000{:04X}:00000000:{:08X}:vzdump:{id}:root@pam:",
            guests.len(),
            start.timestamp()
        );
        let log = VzdumpLog {
            command,
            guests,
            ..VzdumpLog::default()
        };
        self.push_task(
            node,
            start,
            end,
            id,
            status,
            TaskLogEvidence::Parsed {
                log,
                truncated: false,
            },
            upid,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push_task(
        mut self,
        node: &str,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
        id: &str,
        status: Option<&str>,
        log: TaskLogEvidence,
        upid: String,
    ) -> Fx {
        let history = self
            .pve()
            .task_history
            .iter_mut()
            .find(|h| h.node == node)
            .unwrap();
        history.tasks.push(VzdumpTask {
            upid,
            node: node.to_string(),
            start,
            end,
            id: id.to_string(),
            user: "root@pam".to_string(),
            status: status.map(str::to_string),
            log,
        });
        self
    }

    pub fn build(self) -> Inventory {
        self.inv
    }
}

/// The command line of a job writing to `storage` with `--all 1`.
pub fn cmd_all(storage: &str, exclude: &str) -> JobCommand {
    let mut options = BTreeMap::new();
    options.insert("storage".to_string(), storage.to_string());
    options.insert("all".to_string(), "1".to_string());
    options.insert("mode".to_string(), "snapshot".to_string());
    if !exclude.is_empty() {
        options.insert("exclude".to_string(), exclude.to_string());
    }
    JobCommand {
        vmids: Vec::new(),
        options,
    }
}

/// The command line of a VMID-list job.
pub fn cmd_vmids(storage: &str, vmids: &[Vmid]) -> JobCommand {
    let mut options = BTreeMap::new();
    options.insert("storage".to_string(), storage.to_string());
    JobCommand {
        vmids: vmids.to_vec(),
        options,
    }
}

/// A successful run of a VM to PBS that started at `start` and took `secs`.
pub fn run_ok(vmid: Vmid, start: &str, secs: i64) -> GuestRun {
    let start = t(start);
    let mut run = GuestRun::new(vmid, Some(tasklog::GuestKind::Qemu));
    run.started_at = Some(start);
    run.finished_at = Some(start + Duration::seconds(secs));
    run.duration_s = Some(secs as u64);
    run.outcome = GuestOutcome::Ok;
    run.archive = Some(ArchiveTarget::Pbs {
        backup_type: "vm".into(),
        backup_id: vmid.to_string().into(),
        backup_time: start,
    });
    run
}

/// A failed run.
pub fn run_failed(vmid: Vmid, start: &str, error: &str) -> GuestRun {
    let start = t(start);
    let mut run = GuestRun::new(vmid, Some(tasklog::GuestKind::Qemu));
    run.started_at = Some(start);
    run.finished_at = Some(start + Duration::seconds(30));
    run.outcome = GuestOutcome::Failed {
        error: error.to_string(),
    };
    run
}
