//! Hand-built reports for the renderer tests: a scenario with every coverage and freshness
//! verdict, exemptions, partial guests, verification problems, orphans, anomalies of each
//! severity, incomplete evidence, datastores, every kind of job and a previous report for drift;
//! a hostile variant; and a generated report of any size.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use pve_backup_report::coverage::report::*;
use pve_backup_report::model::{Anomaly, GuestKind, Severity};

pub fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// The report's "now".
pub fn now() -> DateTime<Utc> {
    t(2026, 11, 21, 6, 0)
}

fn event(time: DateTime<Utc>, ok: bool, job: &str, storage: &str) -> BackupEvent {
    BackupEvent {
        time,
        status: if ok {
            AttemptStatus::Ok
        } else {
            AttemptStatus::Failed
        },
        duration_s: Some(if ok { 3725 } else { 61 }),
        source: EvidenceSource::TaskLog,
        error: if ok {
            None
        } else {
            Some(
                "ERROR: Backup of VM 103 failed - job failed with err -5 - Input/output error"
                    .into(),
            )
        },
        job: Some(job.into()),
        storage: Some(storage.into()),
        archive: Some(format!("vm/xxx/{}", time.format("%Y-%m-%dT%H:%M:%SZ"))),
        size_bytes: if ok { Some(13_207_024_435) } else { None },
        upid: Some("UPID:pve1:0000A1B2:0001C3D4:673E8A00:vzdump::root@pam:".into()),
        end: Some(time + chrono::Duration::seconds(if ok { 3725 } else { 61 })),
        node: Some("pve1".into()),
        excluded_volumes: vec![],
    }
}

fn archive(time: DateTime<Utc>, verification: Option<&str>) -> ArchiveEvidence {
    ArchiveEvidence {
        server: "pbs-main".into(),
        datastore: "store1".into(),
        namespace: String::new(),
        time,
        size_bytes: Some(13_207_024_435),
        verification: verification.map(str::to_string),
        verified_at: None,
        last_verified_ok: None,
        protected: false,
        encrypted: Some(false),
        snapshot_count: 14,
        source: EvidenceSource::Pbs,
        storage: "pbs-main".into(),
    }
}

fn covering(id: &str, enabled: bool, by: SelectedBy, storage: Option<&str>) -> CoveringJob {
    CoveringJob {
        id: id.into(),
        enabled,
        selected_by: by,
        storage: storage.map(str::to_string),
        storage_is_pbs: storage.map(|s| s.starts_with("pbs")),
    }
}

fn base_guest(vmid: u32, kind: GuestKind, name: &str, node: &str) -> GuestReport {
    GuestReport {
        cluster: CLUSTER.into(),
        vmid,
        kind,
        name: Some(name.into()),
        node: node.into(),
        template: false,
        pool: None,
        tags: vec![],
        notes: None,
        coverage: Coverage::Covered,
        coverage_reason: "selected by job 'nightly' (all)".into(),
        jobs: vec!["nightly".into()],
        covering_jobs: vec![covering("nightly", true, SelectedBy::All, Some("pbs-main"))],
        excluded_volumes: vec![],
        freshness: Freshness::Ok,
        freshness_reason: "backed up at the latest scheduled run (2026-11-21T02:00:00Z)".into(),
        missed_runs: None,
        missed: vec![],
        lock: None,
        replication: None,
        last_restore: None,
        last_backup: None,
        last_success: None,
        archive: None,
        exempt: None,
        flags: vec![],
        runs: vec![],
        offsite: None,
    }
}

fn ok_guest(vmid: u32, kind: GuestKind, name: &str, node: &str) -> GuestReport {
    let mut g = base_guest(vmid, kind, name, node);
    let e = event(t(2026, 11, 21, 2, 4), true, "nightly", "pbs-main");
    g.last_backup = Some(e.clone());
    g.last_success = Some(e);
    g.archive = Some(archive(t(2026, 11, 21, 2, 4), Some("ok")));
    g
}

pub fn guests() -> Vec<GuestReport> {
    let mut v = Vec::new();

    let mut g = ok_guest(100, GuestKind::Qemu, "web01", "pve1");
    g.tags = vec!["prod".into(), "web".into()];
    g.notes = Some("Public web server.\nOwner: web team".into());
    g.offsite = Some(Offsite {
        status: OffsiteStatus::Ok,
        reason: "copied by copy job pull-main on pbs-far to pbs-far/copy, newest copy 2026-11-21T02:00:00Z".into(),
        copies: vec![OffsiteCopy {
            kind: CopyKind::Pbs,
            server: "pbs-far".into(),
            datastore: Some("copy".into()),
            namespace: Some(String::new()),
            time: t(2026, 11, 21, 2, 0),
            via: "pull-main".into(),
            media_set: None,
        }],
        latest_copy: Some(t(2026, 11, 21, 2, 0)),
        required: false,
        missing_snapshots: None,
        missing_since: None,
    });
    v.push(g);

    let mut g = ok_guest(101, GuestKind::Qemu, "db01", "pve1");
    g.offsite = Some(Offsite {
        status: OffsiteStatus::Stale,
        reason: "copy job pull-main on pbs-far: 2 local snapshot(s) since 2026-11-19T02:00:00Z that its last run should have copied are not in pbs-far/copy".into(),
        copies: vec![OffsiteCopy {
            kind: CopyKind::Tape,
            server: "pbs-main".into(),
            datastore: None,
            namespace: None,
            time: t(2026, 11, 18, 2, 10),
            via: "tape-weekly".into(),
            media_set: Some("weekly 2026-11-18".into()),
        }],
        latest_copy: Some(t(2026, 11, 18, 2, 10)),
        required: false,
        missing_snapshots: Some(2),
        missing_since: Some(t(2026, 11, 19, 2, 0)),
    });

    g.pool = Some("prod".into());
    g.jobs = vec!["nightly".into(), "weekly-pool".into()];
    g.covering_jobs.push(covering(
        "weekly-pool",
        true,
        SelectedBy::Pool,
        Some("pbs-main"),
    ));
    g.coverage_reason = "selected by job 'nightly' (all) and job 'weekly-pool' (pool prod)".into();
    g.freshness = Freshness::Stale;
    g.freshness_reason = "missed 2 scheduled runs since 2026-11-19T02:00:00Z".into();
    g.missed_runs = Some(2);
    let e = event(t(2026, 11, 18, 2, 10), true, "nightly", "pbs-main");
    g.last_backup = Some(e.clone());
    g.last_success = Some(e);
    g.archive = Some(archive(t(2026, 11, 18, 2, 10), None));
    g.flags = vec![GuestFlag::Unverified];
    v.push(g);

    let mut g = ok_guest(102, GuestKind::Lxc, "mail", "pve2");
    g.coverage = Coverage::Partial;
    g.coverage_reason = "selected by job 'nightly' (all), but 1 volume is not backed up".into();
    g.excluded_volumes = vec!["mp0 (local-lvm:vm-102-disk-1, mount point without backup=1)".into()];
    v.push(g);

    let mut g = ok_guest(103, GuestKind::Qemu, "build", "pve2");
    g.freshness = Freshness::Failed;
    g.freshness_reason = "the latest attempt (2026-11-21T02:30:00Z) failed".into();
    g.last_backup = Some(event(t(2026, 11, 21, 2, 30), false, "nightly", "pbs-main"));
    g.last_success = Some(event(t(2026, 11, 20, 2, 31), true, "nightly", "pbs-main"));
    g.archive = Some(archive(t(2026, 11, 20, 2, 31), Some("failed")));
    g.flags = vec![GuestFlag::VerifyFailed];
    v.push(g);

    let mut g = base_guest(104, GuestKind::Qemu, "new-vm", "pve1");
    g.freshness = Freshness::Never;
    g.freshness_reason = "no backup in the history window (since 2026-10-22T06:00:00Z)".into();
    v.push(g);

    let mut g = base_guest(105, GuestKind::Qemu, "scratch", "pve1");
    g.coverage = Coverage::NotCovered;
    g.coverage_reason = "excluded from job 'nightly' (all, exclude 105, 106)".into();
    g.jobs = vec![];
    g.covering_jobs = vec![];
    g.freshness = Freshness::Never;
    g.freshness_reason = "no backup in the history window (since 2026-10-22T06:00:00Z)".into();
    v.push(g);

    let mut g = base_guest(106, GuestKind::Lxc, "tmp-ct", "pve2");
    g.coverage = Coverage::NotCovered;
    g.coverage_reason = "excluded from job 'nightly' (all, exclude 105, 106)".into();
    g.jobs = vec![];
    g.covering_jobs = vec![];
    g.freshness = Freshness::Never;
    g.freshness_reason = "no backup in the history window (since 2026-10-22T06:00:00Z)".into();
    g.tags = vec!["nobackup".into()];
    g.exempt = Some(Exemption {
        reason: "scratch container, rebuilt from Ansible".into(),
        until: Some(t(2027, 1, 1, 0, 0)),
        declared_in: DeclaredIn::Tag,
        kind: Default::default(),
    });
    v.push(g);

    let mut g = base_guest(110, GuestKind::Qemu, "legacy-app", "pve2");
    g.coverage = Coverage::DisabledOnly;
    g.coverage_reason = "selected only by disabled job 'legacy-disabled' (VMIDs 110)".into();
    g.jobs = vec!["legacy-disabled".into()];
    g.covering_jobs = vec![covering(
        "legacy-disabled",
        false,
        SelectedBy::Vmid,
        Some("nfs-backup"),
    )];
    g.freshness = Freshness::Stale;
    g.freshness_reason = "last backup 2026-11-01T01:00:00Z; the job is disabled".into();
    let e = BackupEvent {
        source: EvidenceSource::Storage,
        upid: None,
        ..event(t(2026, 11, 1, 1, 0), true, "legacy-disabled", "nfs-backup")
    };
    g.last_backup = Some(e.clone());
    g.last_success = Some(e);
    v.push(g);

    let mut g = base_guest(120, GuestKind::Qemu, "edge-fw", "pve3");
    g.coverage = Coverage::Indeterminate;
    g.coverage_reason =
        "job 'node-limited' selection unknown: pool members could not be read".into();
    g.jobs = vec!["node-limited".into()];
    g.covering_jobs = vec![covering("node-limited", true, SelectedBy::Vmid, None)];
    g.freshness = Freshness::Unknown;
    g.freshness_reason = "task history of pve3 is not readable (Sys.Audit missing)".into();
    v.push(g);

    let mut g = ok_guest(121, GuestKind::Qemu, "debian-12-template", "pve3");
    g.template = true;
    g.flags = vec![GuestFlag::Template];
    v.push(g);

    let mut g = ok_guest(130, GuestKind::Lxc, "vault", "pve1");
    g.flags = vec![GuestFlag::Encrypted];
    g.archive.as_mut().unwrap().encrypted = Some(true);
    g.archive.as_mut().unwrap().namespace = "secure".into();
    g.notes = Some(
        "Secrets store. Restore procedure: see wiki page Vault/Restore; the unseal keys are held by two people and must both be present."
            .into(),
    );
    v.push(g);

    let mut g = ok_guest(140, GuestKind::Qemu, "x", "pve1");
    g.name = None;
    g.flags = vec![GuestFlag::VmidReuse];
    v.push(g);

    let mut g = ok_guest(141, GuestKind::Qemu, "old-exempt", "pve1");
    g.coverage = Coverage::NotCovered;
    g.coverage_reason = "selected by no job".into();
    g.jobs = vec![];
    g.covering_jobs = vec![];
    g.freshness = Freshness::Stale;
    g.freshness_reason = "last backup 2026-09-30T02:00:00Z, no job selects it".into();
    let e = event(t(2026, 9, 30, 2, 0), true, "nightly", "pbs-main");
    g.last_backup = Some(e.clone());
    g.last_success = Some(e);
    g.archive = Some(archive(t(2026, 9, 30, 2, 0), Some("ok")));
    g.flags = vec![GuestFlag::ExemptionExpired];
    v.push(g);

    v
}

pub fn summary_of(guests: &[GuestReport], anomalies: &[Anomaly]) -> Summary {
    let count = |f: &dyn Fn(&GuestReport) -> bool| guests.iter().filter(|g| f(g)).count();
    let known = count(&|g| g.exempt.is_none() && g.coverage != Coverage::Indeterminate);
    let good = count(&|g| {
        g.exempt.is_none() && matches!(g.coverage, Coverage::Covered | Coverage::Partial)
    });
    Summary {
        guests: guests.len(),
        covered: count(&|g| g.coverage == Coverage::Covered),
        partial: count(&|g| g.coverage == Coverage::Partial),
        disabled_only: count(&|g| g.coverage == Coverage::DisabledOnly),
        not_covered: count(&|g| g.coverage == Coverage::NotCovered),
        indeterminate: count(&|g| g.coverage == Coverage::Indeterminate),
        fresh: count(&|g| g.freshness == Freshness::Ok),
        stale: count(&|g| g.freshness == Freshness::Stale),
        failed: count(&|g| g.freshness == Freshness::Failed),
        never: count(&|g| g.freshness == Freshness::Never),
        freshness_unknown: count(&|g| g.freshness == Freshness::Unknown),
        exempt: count(&|g| g.exempt.is_some()),
        unverified: count(&|g| g.flags.iter().any(GuestFlag::is_unverified)),
        coverage_percent: if known == 0 {
            None
        } else {
            Some((good as f64 * 1000.0 / known as f64).round() / 10.0)
        },
        critical_anomalies: anomalies
            .iter()
            .filter(|a| a.severity == Severity::Critical)
            .count(),
        warning_anomalies: anomalies
            .iter()
            .filter(|a| a.severity == Severity::Warning)
            .count(),
        offsite: {
            let of = |status: OffsiteStatus| {
                count(&|g| {
                    g.exempt.is_none() && g.offsite.as_ref().map(|o| o.status) == Some(status)
                })
            };
            OffsiteCounts {
                ok: of(OffsiteStatus::Ok),
                stale: of(OffsiteStatus::Stale),
                missing: of(OffsiteStatus::Missing),
                not_selected: of(OffsiteStatus::NotSelected),
                unknown: of(OffsiteStatus::Unknown),
                none: count(&|g| g.exempt.is_none() && g.offsite.is_none()),
            }
        },
    }
}

fn job(
    id: &str,
    enabled: bool,
    schedule: &str,
    readable: Option<&str>,
    selection: &str,
) -> JobReport {
    JobReport {
        cluster: CLUSTER.into(),
        id: id.into(),
        enabled,
        schedule: Some(schedule.into()),
        schedule_readable: readable.map(str::to_string),
        next_run: None,
        selection: selection.into(),
        node: None,
        storage: Some("pbs-main".into()),
        storage_is_pbs: Some(true),
        mode: Some("snapshot".into()),
        comment: None,
        selected_vmids: None,
        last_runs: vec![],
        previous_run: None,
        timezone: "Europe/Vienna".into(),
        timezone_known: true,
        schedule_error: None,
    }
}

pub fn jobs() -> Vec<JobReport> {
    let mut legacy = job(
        "legacy-disabled",
        false,
        "sun 01:00",
        Some("weekly on Sunday at 01:00"),
        "VMIDs 110",
    );
    legacy.node = Some("pve2".into());
    legacy.storage = Some("nfs-backup".into());
    legacy.storage_is_pbs = Some(false);
    legacy.mode = Some("stop".into());
    legacy.comment = Some("old app, to be retired".into());
    legacy.selected_vmids = Some(vec![110]);

    let mut nightly = job(
        "nightly",
        true,
        "02:00",
        Some("daily at 02:00"),
        "all except 105, 106",
    );
    nightly.next_run = Some(t(2026, 11, 22, 2, 0));
    nightly.comment = Some("Main nightly backup to PBS".into());
    nightly.selected_vmids = Some(vec![100, 101, 102, 103, 104, 110, 120, 121, 130, 140]);
    nightly.last_runs = vec![
        JobNodeRun {
            node: "pve1".into(),
            start: t(2026, 11, 21, 2, 0),
            status: Some("OK".into()),
            upid: "UPID:pve1:0000A1B2:0001C3D4:673E8A00:vzdump::root@pam:".into(),
        },
        JobNodeRun {
            node: "pve2".into(),
            start: t(2026, 11, 21, 2, 0),
            status: Some("job errors".into()),
            upid: "UPID:pve2:0000B1B2:0001C3D4:673E8A00:vzdump::root@pam:".into(),
        },
        JobNodeRun {
            node: "pve3".into(),
            start: t(2026, 11, 21, 5, 50),
            status: None,
            upid: "UPID:pve3:0000C1B2:0001C3D4:673E8A00:vzdump::root@pam:".into(),
        },
    ];

    let mut node_limited = job(
        "node-limited",
        true,
        "mon..fri 22:30",
        Some("Monday to Friday at 22:30"),
        "VMIDs 120, 121",
    );
    node_limited.node = Some("pve3".into());
    node_limited.storage = None;
    node_limited.storage_is_pbs = None;
    node_limited.mode = None;
    node_limited.next_run = Some(t(2026, 11, 23, 22, 30));

    let mut weekly = job(
        "weekly-pool",
        true,
        "sat 03:00",
        Some("weekly on Saturday at 03:00"),
        "pool prod",
    );
    weekly.next_run = Some(t(2026, 11, 21, 3, 0) + Duration::days(7));
    weekly.selected_vmids = Some(vec![101]);
    weekly.last_runs = vec![JobNodeRun {
        node: "pve1".into(),
        start: t(2026, 11, 14, 3, 0),
        status: Some("WARNINGS: 1".into()),
        upid: "UPID:pve1:0000D1B2:0001C3D4:6735A000:vzdump::root@pam:".into(),
    }];

    let mut broken = job("weird", true, "every full moon", None, "nothing selected");
    broken.storage = Some("gone-storage".into());
    broken.storage_is_pbs = None;
    broken.selected_vmids = Some(vec![]);

    vec![legacy, nightly, node_limited, weekly, broken]
}

pub fn datastores() -> Vec<DatastoreReport> {
    vec![
        DatastoreReport {
            server: "pbs-main".into(),
            datastore: "store1".into(),
            total_bytes: Some(8 * 1024u64.pow(4)),
            used_bytes: Some(6_443_624_169_472),
            used_percent: Some(73.2),
            estimated_full: Some(t(2027, 3, 14, 0, 0)),
            gc_state: Some("ok".into()),
            gc_last_run: Some(t(2026, 11, 20, 4, 12)),
            verify_jobs: vec!["v-weekly: ok (2026-11-16)".into()],
            verify_job_runs: vec![PbsJobRun {
                id: "v-weekly".into(),
                namespace: None,
                disabled: false,
                last_run_state: Some("OK".into()),
                last_run_end: Some(t(2026, 11, 16, 3, 0)),
            }],
            prune_jobs: vec!["keep-last 7, keep-weekly 4: ok".into()],
            sync_jobs: vec!["to-offsite: ok".into()],
            snapshots: 142,
            namespaces: vec!["".into(), "secure".into()],
        },
        DatastoreReport {
            server: "pbs-main".into(),
            datastore: "store2".into(),
            total_bytes: Some(2 * 1024u64.pow(4)),
            used_bytes: Some(2_034_049_163_264),
            used_percent: Some(92.5),
            estimated_full: Some(t(2026, 11, 29, 0, 0)),
            gc_state: Some("error: chunk store locked".into()),
            gc_last_run: Some(t(2026, 11, 19, 4, 0)),
            verify_jobs: vec![],
            verify_job_runs: vec![],
            prune_jobs: vec![],
            sync_jobs: vec![],
            snapshots: 12,
            namespaces: vec!["".into()],
        },
        DatastoreReport {
            server: "pbs-offsite".into(),
            datastore: "archive".into(),
            total_bytes: None,
            used_bytes: None,
            used_percent: None,
            estimated_full: None,
            gc_state: None,
            gc_last_run: None,
            verify_jobs: vec![],
            verify_job_runs: vec![],
            prune_jobs: vec![],
            sync_jobs: vec![],
            snapshots: 0,
            namespaces: vec![],
        },
    ]
}

pub fn anomalies() -> Vec<Anomaly> {
    vec![
        Anomaly::new(
            Severity::Critical,
            "pbs/pbs-offsite",
            "PBS server pbs-offsite is unreachable",
            "GET https://pbs-offsite:8007/api2/json/version: connection refused; check PBS_OFFSITE_URL and the firewall",
        ),
        Anomaly::new(
            Severity::Critical,
            "pve/tasks/pve3",
            "task history of pve3 is not readable",
            "GET /nodes/pve3/tasks: 403 Permission check failed (/nodes/pve3, Sys.Audit); grant Sys.Audit on /nodes",
        ),
        Anomaly::new(
            Severity::Warning,
            "job/weird",
            "job 'weird' has an unreadable schedule",
            "schedule 'every full moon' is not a calendar event",
        ),
        Anomaly::new(
            Severity::Warning,
            "pve/tasks/pve2",
            "task history of pve2 was capped at 5000 tasks",
            "raise PVE_TASK_HISTORY_LIMIT to see further back than 2026-11-02",
        ),
        Anomaly::new(
            Severity::Info,
            "guest/121",
            "guest 121 is a template and is backed up",
            "templates rarely change; a weekly job may be enough",
        ),
        Anomaly::new(
            Severity::Info,
            "pve",
            "PVE lists 105 as not backed up, as we do",
            "",
        ),
    ]
}

/// The fixtures' one cluster: named after its host, as when `PVE_NAME` is not set.
pub const CLUSTER: &str = "pve1.example.com";

/// `clusters` of a one-cluster report.
pub fn one_cluster(guests: &[GuestReport], anomalies: &[Anomaly]) -> Vec<ClusterReport> {
    vec![ClusterReport {
        name: CLUSTER.into(),
        host: "pve1.example.com".into(),
        version: Some("8.2.4".into()),
        summary: summary_of(guests, anomalies),
    }]
}

pub fn report() -> Report {
    let guests = guests();
    let anomalies = anomalies();
    Report {
        schema_version: SCHEMA_VERSION,
        generated_at: now(),
        clusters: one_cluster(&guests, &anomalies),
        servers: Vec::new(),
        summary: summary_of(&guests, &anomalies),
        guests,
        jobs: jobs(),
        datastores: datastores(),
        evidence: EvidenceReport {
            pve_host: Some("pve1.example.com".into()),
            horizons: vec![
                NodeHorizon {
                    cluster: CLUSTER.into(),
                    node: "pve1".into(),
                    requested_since: t(2026, 10, 22, 6, 0),
                    oldest_seen: Some(t(2026, 10, 22, 7, 0)),
                    complete: true,
                    tasks: 31,
                },
                NodeHorizon {
                    cluster: CLUSTER.into(),
                    node: "pve2".into(),
                    requested_since: t(2026, 10, 22, 6, 0),
                    oldest_seen: Some(t(2026, 11, 2, 2, 0)),
                    complete: false,
                    tasks: 5000,
                },
                NodeHorizon {
                    cluster: CLUSTER.into(),
                    node: "pve3".into(),
                    requested_since: t(2026, 10, 22, 6, 0),
                    oldest_seen: None,
                    complete: false,
                    tasks: 0,
                },
            ],
            incomplete: vec![
                "PBS pbs-offsite: unreachable; its snapshots are unknown".into(),
                "task history of pve2 reaches back only to 2026-11-02T02:00:00Z (capped at 5000 tasks)".into(),
                "task history of pve3 is not readable (Sys.Audit missing)".into(),
            ],
        },
        orphans: vec![
            OrphanSnapshot {
                server: "pbs-main".into(),
                datastore: "store1".into(),
                namespace: String::new(),
                backup_type: "vm".into(),
                backup_id: "199".into(),
                latest: t(2026, 10, 3, 2, 0),
                snapshots: 9,
            },
            OrphanSnapshot {
                server: "pbs-main".into(),
                datastore: "store2".into(),
                namespace: "other-cluster".into(),
                backup_type: "ct".into(),
                backup_id: "300".into(),
                latest: t(2026, 11, 20, 23, 0),
                snapshots: 30,
            },
        ],
        copy_jobs: vec![
            CopyJobReport {
                server: "pbs-far".into(),
                id: "pull-main".into(),
                kind: CopyJobKind::Pull,
                source: "pbs-main/store1".into(),
                target: "pbs-far/copy".into(),
                selection: "type:vm, exclude:group:vm/105; transfer-last 3".into(),
                schedule: Some("hourly".into()),
                last_run_state: Some("OK".into()),
                last_run: Some(t(2026, 11, 21, 5, 0)),
                groups_selected: 2,
                groups_copied: 2,
                groups_stale: 1,
                groups_missing: 0,
                groups_unknown: 0,
            },
            CopyJobReport {
                server: "pbs-main".into(),
                id: "tape-weekly".into(),
                kind: CopyJobKind::Tape,
                source: "pbs-main/store1".into(),
                target: "tape on pbs-main, pool weekly".into(),
                selection: "all groups; latest only".into(),
                schedule: Some("sat 05:00".into()),
                last_run_state: Some("media not online".into()),
                last_run: Some(t(2026, 11, 21, 5, 0)),
                groups_selected: 5,
                groups_copied: 1,
                groups_stale: 0,
                groups_missing: 4,
                groups_unknown: 0,
            },
        ],
        anomalies,
    }
}

/// Yesterday's report: differs from today's in every way drift knows.
pub fn previous_report() -> Report {
    let mut r = report();
    r.generated_at = t(2026, 11, 20, 6, 0);
    r.guests.retain(|g| g.vmid != 104);
    for g in &mut r.guests {
        match g.vmid {
            105 => {
                g.coverage = Coverage::Covered;
                g.freshness = Freshness::Ok;
            }
            102 => g.coverage = Coverage::NotCovered,
            103 => {
                g.freshness = Freshness::Ok;
                g.archive.as_mut().unwrap().verification = Some("ok".into());
            }
            120 => g.coverage = Coverage::Covered,
            _ => {}
        }
    }
    let mut old = ok_guest(199, GuestKind::Qemu, "decommissioned", "pve1");
    old.vmid = 199;
    r.guests.push(old);
    r.jobs.retain(|j| j.id != "node-limited");
    for j in &mut r.jobs {
        match j.id.as_str() {
            "legacy-disabled" => j.enabled = true,
            "weekly-pool" => j.enabled = false,
            "nightly" => j.schedule = Some("01:00".into()),
            _ => {}
        }
    }
    r.jobs.insert(
        0,
        job(
            "a-old-job",
            true,
            "daily",
            Some("daily at 00:00"),
            "VMIDs 199",
        ),
    );
    r.summary = summary_of(&r.guests, &r.anomalies);
    r
}

/// The scenario with hostile strings wherever the cluster can put text.
pub const HOSTILE_SCRIPT: &str = "<script>alert(\"pwned\")</script>";
pub const HOSTILE_ATTR: &str = "\" onmouseover=\"alert(1)";

pub fn hostile_report() -> Report {
    let mut r = report();
    let g = &mut r.guests[0];
    g.name = Some(format!("evil|name{HOSTILE_SCRIPT}"));
    g.notes = Some(format!(
        "line one | with pipe {HOSTILE_ATTR}\n{HOSTILE_SCRIPT}\n**bold** [x](javascript:alert(1))"
    ));
    g.pool = Some("pool|<b>x</b>".into());
    g.tags = vec![HOSTILE_SCRIPT.into()];
    g.coverage_reason = format!("reason {HOSTILE_ATTR}");
    let g = &mut r.guests[3];
    g.last_backup.as_mut().unwrap().error = Some(format!("ERROR: disk|full\n{HOSTILE_SCRIPT}"));
    g.node = "pve2<img src=x onerror=alert(1)>".into();
    r.jobs[1].comment = Some(format!("comment|{HOSTILE_SCRIPT}\nsecond line"));
    r.jobs[1].schedule = Some(format!("02:00{HOSTILE_ATTR}"));
    r.anomalies[0].message = format!("message|{HOSTILE_SCRIPT}");
    r.anomalies[0].details = format!("details\n{HOSTILE_ATTR}|x");
    r.datastores[0].datastore = format!("ds|{HOSTILE_SCRIPT}");
    r.evidence.incomplete[0] = format!("incomplete {HOSTILE_SCRIPT}");
    r.guests[6].exempt.as_mut().unwrap().reason = format!("because|{HOSTILE_SCRIPT}\nreally");
    r
}

/// A report of `count` guests on 20 nodes with a realistic mix of verdicts (deterministic).
pub fn generated_report(count: u32) -> Report {
    let template = guests();
    let mut guests = Vec::with_capacity(count as usize);
    for i in 0..count {
        // Mostly healthy guests, with a sprinkle of every problem.
        let pick = match i % 97 {
            0 => 5,     // not covered
            1 => 3,     // failed
            2 | 3 => 1, // stale
            4 => 2,     // partial
            5 => 7,     // disabled only
            6 => 8,     // indeterminate
            7 => 4,     // never
            _ => 0,
        };
        let mut g = template[pick].clone();
        g.vmid = 1000 + i;
        g.name = Some(format!("guest-{:05}", i));
        g.node = format!("pve{:02}", i % 20 + 1);
        g.kind = if i % 3 == 0 {
            GuestKind::Lxc
        } else {
            GuestKind::Qemu
        };
        if pick == 5 {
            // What the engine says on a real 5 000-guest cluster for a guest left out of the
            // "all" job by a 200-VMID exclude list, with 15 node-restricted jobs that select it
            // on other nodes: the long "why" texts the view must summarise.
            g.coverage_reason = long_not_covered_reason(&g.node);
        }
        if let Some(e) = g.last_success.as_mut() {
            e.time -= Duration::minutes(i64::from(i % 180));
            e.size_bytes = Some(1_000_000_000 + u64::from(i) * 7_919_000);
            e.duration_s = Some(60 + u64::from(i % 4000));
        }
        guests.push(g);
    }
    let anomalies = anomalies();
    Report {
        schema_version: SCHEMA_VERSION,
        generated_at: now(),
        clusters: one_cluster(&guests, &anomalies),
        servers: Vec::new(),
        summary: summary_of(&guests, &anomalies),
        guests,
        jobs: jobs(),
        datastores: datastores(),
        evidence: report().evidence,
        orphans: report().orphans,
        copy_jobs: Vec::new(),
        anomalies,
    }
}

/// The engine's reason for a guest excluded from an "all" job with a 200-VMID exclude list and
/// selected by 15 node-restricted jobs on other nodes.
pub fn long_not_covered_reason(node: &str) -> String {
    let exclude: Vec<String> = (0..200).map(|i| (1000 + i * 97 / 4).to_string()).collect();
    let mut why = vec![format!(
        "excluded from job 'nightly' (all except {})",
        exclude.join(", ")
    )];
    for n in 1..=15 {
        why.push(format!(
            "job 'local-{n:02}' selects it (all guests) but runs only on node pve{n:02}, and the guest is on {node}"
        ));
    }
    why.join("; ")
}

/// A night whose collection failed: the PVE host did not answer, so no guest, job or node was
/// read and every required list is unavailable.
pub fn failed_report() -> Report {
    let anomalies = vec![
        Anomaly::new(
            Severity::Critical,
            "pve",
            "PVE 'pve' is unreachable",
            "GET https://pve.example:8006/api2/json/version: connection refused; check PVE_URL and the firewall",
        ),
        Anomaly::new(
            Severity::Warning,
            "pbs/pbs-main",
            "PBS pbs-main answered slowly",
            "",
        ),
    ];
    Report {
        schema_version: SCHEMA_VERSION,
        generated_at: now(),
        clusters: one_cluster(&[], &anomalies),
        servers: Vec::new(),
        summary: summary_of(&[], &anomalies),
        guests: Vec::new(),
        jobs: Vec::new(),
        datastores: Vec::new(),
        evidence: EvidenceReport {
            pve_host: Some("pve1.example.com".into()),
            horizons: Vec::new(),
            incomplete: vec![
                "PVE backup jobs unavailable: /cluster/backup failed: connection refused".into(),
                "PVE guests unavailable: /cluster/resources failed: connection refused".into(),
                "PVE nodes unavailable: /nodes failed: connection refused".into(),
            ],
        },
        orphans: Vec::new(),
        copy_jobs: Vec::new(),
        anomalies,
    }
}

/// A night whose collection was incomplete: every guest that was read looks fine, but a PBS
/// server did not answer, so its evidence is missing.
pub fn incomplete_report() -> Report {
    let guests = vec![
        ok_guest(100, GuestKind::Qemu, "web01", "pve1"),
        ok_guest(101, GuestKind::Lxc, "dns01", "pve2"),
    ];
    let anomalies = vec![Anomaly::new(
        Severity::Critical,
        "pbs/pbs-offsite",
        "PBS server pbs-offsite is unreachable",
        "GET https://pbs-offsite:8007/api2/json/version: connection refused",
    )];
    Report {
        schema_version: SCHEMA_VERSION,
        generated_at: now(),
        clusters: one_cluster(&guests, &anomalies),
        servers: Vec::new(),
        summary: summary_of(&guests, &anomalies),
        guests,
        jobs: Vec::new(),
        datastores: Vec::new(),
        evidence: EvidenceReport::default(),
        orphans: Vec::new(),
        copy_jobs: Vec::new(),
        anomalies,
    }
}

/// The same guests as [`incomplete_report`], after a complete collection.
pub fn healthy_report() -> Report {
    let mut report = incomplete_report();
    report.anomalies.clear();
    report.summary = summary_of(&report.guests, &report.anomalies);
    report
}

/// The report's guests and jobs in two clusters, `pve1.example.com` and `lab`: the same VMIDs,
/// node names and job ids in both, as happens when two clusters are reported together.
pub fn two_cluster_report() -> Report {
    let mut report = report();
    let mut lab_guests = report.guests.clone();
    for guest in &mut lab_guests {
        guest.cluster = "lab".into();
    }
    let mut lab_jobs = report.jobs.clone();
    for job in &mut lab_jobs {
        job.cluster = "lab".into();
    }
    let lab = ClusterReport {
        name: "lab".into(),
        host: "pve-lab.example.com".into(),
        version: Some("9.1.2".into()),
        summary: summary_of(&lab_guests, &[]),
    };
    report.clusters.insert(0, lab);
    lab_guests.append(&mut report.guests);
    report.guests = lab_guests;
    lab_jobs.append(&mut report.jobs);
    report.jobs = lab_jobs;
    report.summary = summary_of(&report.guests, &report.anomalies);
    report
}
