//! Table-driven tests of the engine: selection rules, coverage and freshness outcomes, archive
//! evidence, exemptions, cross-check, summary, determinism and speed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, NaiveDate};

use super::fixtures::*;
use super::report::{
    Coverage, ExemptionKind, Freshness, GuestFlag, GuestReport, Report, SelectedBy,
};
use super::selection::{membership, resolve, Membership, Resolved};
use super::*;
use crate::model::*;

/// The report of `inv`, after checking that the run's own assessment (runs taken out of the
/// logs) gives exactly the same one: every test here also tests [`assess_owned`].
fn run(inv: &Inventory) -> Report {
    let borrowed = assess(inv, &Policy::default(), now());
    let owned = assess_owned(inv.clone(), &Policy::default(), now());
    assert_eq!(borrowed, owned, "assess and assess_owned differ");
    borrowed
}

fn guest(report: &Report, vmid: Vmid) -> &GuestReport {
    report.guests.iter().find(|g| g.vmid == vmid).unwrap()
}

fn vmids(v: &[Vmid]) -> Selection {
    Selection::Vmids { vmids: v.to_vec() }
}

fn all_except(v: &[Vmid]) -> Selection {
    Selection::All {
        exclude: v.to_vec(),
    }
}

fn pool(p: &str) -> Selection {
    Selection::Pool {
        pool: p.to_string(),
    }
}

fn has_anomaly(report: &Report, needle: &str) -> bool {
    report.anomalies.iter().any(|a| a.message.contains(needle))
}

// ---------------------------------------------------------------------------------------------
// Selection rules (membership of one guest in one job).

#[test]
fn selection_rules_table() {
    let base = Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve2")
        .ct(102, "pve1")
        .pool("prod", Some(vec![100, 102]))
        .pool("hidden", None)
        .guest(100, |g| g.pool = Some("prod".into()))
        .guest(102, |g| g.pool = Some("prod".into()));
    let inv = base.build();
    let index = index::Index::build(Scope {
        pve: inv.pve.first(),
        pbs: &inv.pbs,
    });
    let pve = inv.pve.first().unwrap();
    let g = |vmid| index.guests[&vmid];
    let job = |selection: Selection, node: Option<&str>| BackupJob {
        id: "j".into(),
        enabled: true,
        schedule: Some("01:00".into()),
        storage: Some("pbs1".into()),
        node: node.map(str::to_string),
        selection,
        mode: None,
        comment: None,
        next_run: None,
        legacy: false,
        repeat_missed: None,
        protected: false,
        fleecing: None,
        raw: Default::default(),
    };
    let other = |by, node: &str| Membership::OtherNode {
        by,
        job_node: node.to_string(),
    };
    use Membership::*;
    let cases: Vec<(&str, Selection, Option<&str>, Vmid, Membership)> = vec![
        (
            "vmid listed",
            vmids(&[100, 999]),
            None,
            100,
            Selected(SelectedBy::Vmid),
        ),
        ("vmid not listed", vmids(&[100]), None, 101, No),
        (
            "vmid + node other",
            vmids(&[101]),
            Some("pve1"),
            101,
            other(SelectedBy::Vmid, "pve1"),
        ),
        (
            "vmid + node same",
            vmids(&[100]),
            Some("pve1"),
            100,
            Selected(SelectedBy::Vmid),
        ),
        ("all", all_except(&[]), None, 101, Selected(SelectedBy::All)),
        ("all + exclude hit", all_except(&[101]), None, 101, Excluded),
        (
            "all + exclude miss",
            all_except(&[101]),
            None,
            100,
            Selected(SelectedBy::All),
        ),
        (
            "all + node",
            all_except(&[]),
            Some("pve2"),
            100,
            other(SelectedBy::All, "pve2"),
        ),
        (
            "all + exclude + node",
            all_except(&[100]),
            Some("pve2"),
            100,
            Excluded,
        ),
        (
            "pool member",
            pool("prod"),
            None,
            102,
            Selected(SelectedBy::Pool),
        ),
        ("pool non-member", pool("prod"), None, 101, No),
        (
            "pool + node",
            pool("prod"),
            Some("pve2"),
            100,
            other(SelectedBy::Pool, "pve2"),
        ),
        ("unknown pool", pool("ghost"), None, 100, No),
        (
            "template is a guest",
            vmids(&[102]),
            None,
            102,
            Selected(SelectedBy::Vmid),
        ),
        ("nothing", Selection::Nothing, None, 100, No),
    ];
    for (name, selection, node, vmid, expected) in cases {
        let j = job(selection, node);
        let (resolved, _) = resolve(&j, &pve.pools.items, &pve.pools.completeness, &index);
        assert_eq!(membership(&j, &resolved, g(vmid)), expected, "{name}");
    }
}

#[test]
fn unreadable_pool_is_indeterminate_not_empty() {
    let inv = Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .vm(102, "pve1")
        .pool("hidden", None)
        .guest(100, |g| g.pool = Some("hidden".into()))
        .guest(101, |g| g.pool = Some("other".into()))
        .build();
    let index = index::Index::build(Scope {
        pve: inv.pve.first(),
        pbs: &inv.pbs,
    });
    let pve = inv.pve.first().unwrap();
    let j = &pve.jobs.items;
    assert!(j.is_empty());
    let job = BackupJob {
        id: "p".into(),
        enabled: true,
        schedule: None,
        storage: None,
        node: None,
        selection: pool("hidden"),
        mode: None,
        comment: None,
        next_run: None,
        legacy: false,
        repeat_missed: None,
        protected: false,
        fleecing: None,
        raw: Default::default(),
    };
    let (resolved, _) = resolve(&job, &pve.pools.items, &pve.pools.completeness, &index);
    assert!(matches!(resolved, Resolved::PoolUnknown { .. }));
    // Own pool field names it: member; another pool: not; no pool field: maybe.
    assert_eq!(
        membership(&job, &resolved, index.guests[&100]),
        Membership::Selected(SelectedBy::Pool)
    );
    assert_eq!(
        membership(&job, &resolved, index.guests[&101]),
        Membership::No
    );
    assert!(matches!(
        membership(&job, &resolved, index.guests[&102]),
        Membership::Maybe(_)
    ));
}

// ---------------------------------------------------------------------------------------------
// Coverage outcomes through assess.

#[test]
fn coverage_outcomes_table() {
    let inv = Fx::new()
        .vm(100, "pve1") // in vmid job
        .vm(101, "pve1") // excluded from the all-job
        .vm(102, "pve2") // all-job restricted to pve1
        .vm(103, "pve1") // only a disabled job
        .vm(104, "pve1") // partial: a disk with backup=0
        .vm(105, "pve1") // template
        .vm(106, "pve1") // pool member with the pool job
        .vm(107, "pve2") // in no job
        .pool("prod", Some(vec![106]))
        .guest(104, |g| {
            g.config = GuestConfigFacts::Read {
                notes: None,
                notes_read: true,
                excluded_volumes: vec![ExcludedVolume {
                    key: "scsi1".into(),
                    volume: "local-lvm:vm-104-disk-1".into(),
                    reason: "backup=0".into(),
                }],
                included_volumes: 1,
            }
        })
        .guest(105, |g| g.template = Some(true))
        .job("by-vmid", "01:00", vmids(&[100, 104, 105]))
        .job_with("all-pve1", "02:00", all_except(&[101]), |j| {
            j.node = Some("pve1".into());
            j.enabled = true;
        })
        .job_with("off", "03:00", vmids(&[103, 107]), |j| j.enabled = false)
        .job("by-pool", "04:00", pool("prod"))
        .build();
    // all-pve1 selects 100, 103..106 too; make 103 only disabled-covered by restricting.
    let mut inv = inv;
    inv.pve.first_mut().unwrap().jobs.items[1].selection = all_except(&[101, 103, 107]);
    let report = run(&inv);
    let cases: &[(Vmid, Coverage, &str, &[&str])] = &[
        (
            100,
            Coverage::Covered,
            "selected by enabled job",
            &["all-pve1", "by-vmid"],
        ),
        (
            101,
            Coverage::NotCovered,
            "excluded from job 'all-pve1' (all except 101, 103, 107)",
            &[],
        ),
        (
            102,
            Coverage::NotCovered,
            "runs only on node pve1, and the guest is on pve2",
            &[],
        ),
        (
            103,
            Coverage::DisabledOnly,
            "selected only by disabled job 'off'",
            &["off"],
        ),
        (
            104,
            Coverage::Partial,
            "scsi1 (backup=0)",
            &["all-pve1", "by-vmid"],
        ),
        (
            105,
            Coverage::Covered,
            "selected by enabled job",
            &["all-pve1", "by-vmid"],
        ),
        (
            106,
            Coverage::Covered,
            "'by-pool' (by pool)",
            &["all-pve1", "by-pool"],
        ),
        (107, Coverage::DisabledOnly, "disabled job 'off'", &["off"]),
    ];
    for (vmid, coverage, reason, jobs) in cases {
        let g = guest(&report, *vmid);
        assert_eq!(g.coverage, *coverage, "{vmid}: {}", g.coverage_reason);
        assert!(
            g.coverage_reason.contains(reason),
            "{vmid}: {}",
            g.coverage_reason
        );
        assert_eq!(&g.jobs, jobs, "{vmid}");
    }
    let g105 = guest(&report, 105);
    assert!(g105.template && g105.flags.contains(&GuestFlag::Template));
    let g106 = guest(&report, 106);
    let pool_job = g106
        .covering_jobs
        .iter()
        .find(|c| c.id == "by-pool")
        .unwrap();
    assert_eq!(pool_job.selected_by, SelectedBy::Pool);
    assert_eq!(pool_job.storage.as_deref(), Some("pbs1"));
    assert_eq!(pool_job.storage_is_pbs, Some(true));
}

#[test]
fn not_covered_in_no_job() {
    let report = run(&Fx::new().vm(100, "pve1").build());
    let g = guest(&report, 100);
    assert_eq!(g.coverage, Coverage::NotCovered);
    assert_eq!(g.coverage_reason, "in no backup job");
}

#[test]
fn precedence_pool_over_vmid_over_all() {
    // The model keeps one selection; pool jobs ignore listed VMIDs, so a pool job whose pool
    // lacks 100 does not cover 100 even if its raw config had vmid=100.
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .pool("prod", Some(vec![101]))
        .job_with("p", "01:00", pool("prod"), |j| {
            j.raw.insert("vmid".into(), serde_json::json!("100"));
        })
        .build());
    assert_eq!(guest(&report, 100).coverage, Coverage::NotCovered);
    assert_eq!(guest(&report, 101).coverage, Coverage::Covered);
}

#[test]
fn indeterminate_cases() {
    // Jobs unavailable → every guest indeterminate.
    let mut fx = Fx::new().vm(100, "pve1").vm(101, "pve2");
    fx.pve().jobs = Observed::unavailable("GET /cluster/backup: 403 (Sys.Audit on / missing)");
    let report = run(&fx.build());
    for vmid in [100, 101] {
        let g = guest(&report, vmid);
        assert_eq!(g.coverage, Coverage::Indeterminate);
        assert!(
            g.coverage_reason.contains("Sys.Audit"),
            "{}",
            g.coverage_reason
        );
    }
    assert_eq!(report.summary.indeterminate, 2);
    assert_eq!(report.summary.coverage_percent, None);

    // Jobs partial: a visibly covered guest stays covered.
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .job("j", "01:00", vmids(&[100]));
    fx.pve().jobs.completeness = Completeness::Partial {
        reason: "1 of 2 backup jobs could not be read".into(),
    };
    let report = run(&fx.build());
    assert_eq!(guest(&report, 100).coverage, Coverage::Covered);
    let g = guest(&report, 101);
    assert_eq!(g.coverage, Coverage::Indeterminate);
    // The reason names the malformed job; privileges are not the fix for it.
    assert!(
        g.coverage_reason.contains("1 of 2 backup jobs")
            && !g.coverage_reason.contains("Sys.Audit"),
        "{}",
        g.coverage_reason
    );

    // Unreadable pool: a guest without a pool field is indeterminate, unless another enabled job
    // covers it; a guest in another pool is not covered.
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .vm(102, "pve1")
        .pool("hidden", None)
        .guest(102, |g| g.pool = Some("other".into()))
        .job("p", "01:00", pool("hidden"))
        .job("v", "01:00", vmids(&[101]))
        .build());
    let g = guest(&report, 100);
    assert_eq!(g.coverage, Coverage::Indeterminate);
    assert!(
        g.coverage_reason.contains("Pool.Audit"),
        "{}",
        g.coverage_reason
    );
    assert_eq!(guest(&report, 101).coverage, Coverage::Covered);
    assert_eq!(guest(&report, 102).coverage, Coverage::NotCovered);
    let job = report.jobs.iter().find(|j| j.id == "p").unwrap();
    assert_eq!(job.selected_vmids, None);
    assert!(has_anomaly(&report, "cannot be fully determined"));

    // Pool list incomplete and pool missing from it: indeterminate, no "unknown pool".
    let mut fx = Fx::new().vm(100, "pve1").job("p", "01:00", pool("prod"));
    fx.pve().pools = Observed::partial(Vec::new(), "Pool.Audit missing");
    let report = run(&fx.build());
    assert_eq!(guest(&report, 100).coverage, Coverage::Indeterminate);
    assert!(!has_anomaly(&report, "does not exist"));
}

#[test]
fn job_anomalies() {
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .job("ghost-vmid", "01:00", vmids(&[100, 999]))
        .job("ghost-pool", "01:00", pool("nope"))
        .job_with("ghost-storage", "01:00", vmids(&[100]), |j| {
            j.storage = Some("nas".into())
        })
        .job_with("ghost-node", "01:00", vmids(&[100]), |j| {
            j.node = Some("pve9".into())
        })
        .job("bad-schedule", "sometimes at noon", vmids(&[100]))
        .job("none", "01:00", Selection::Nothing)
        .build());
    for needle in [
        "job ghost-vmid names VMID 999 that does not exist",
        "job ghost-pool selects pool 'nope', which does not exist",
        "job ghost-storage writes to storage 'nas', which does not exist",
        "job ghost-node runs only on node 'pve9'",
        "job bad-schedule has a schedule that cannot be parsed",
        "job none selects no guests",
    ] {
        assert!(
            has_anomaly(&report, needle),
            "{needle}: {:#?}",
            report.anomalies
        );
    }
    let bad = report.jobs.iter().find(|j| j.id == "bad-schedule").unwrap();
    assert!(bad.schedule_error.is_some());
    assert_eq!(bad.schedule_readable, None);
    assert_eq!(bad.next_run, None);
    let ghost = report.jobs.iter().find(|j| j.id == "ghost-vmid").unwrap();
    assert_eq!(ghost.selected_vmids, Some(vec![100, 999]));
    // A VMID missing from an incomplete guest list is no anomaly.
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .job("j", "01:00", vmids(&[100, 999]));
    fx.pve().guests.completeness = Completeness::Partial {
        reason: "VM.Audit".into(),
    };
    assert!(!has_anomaly(&run(&fx.build()), "does not exist"));
}

// ---------------------------------------------------------------------------------------------
// Schedules.

#[test]
fn job_schedule_previous_next_and_zone() {
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .job("nightly", "21:00", vmids(&[100]));
    for node in &mut fx.pve().nodes.items {
        node.timezone = Some("Europe/Vienna".into());
    }
    let report = run(&fx.build());
    let job = &report.jobs[0];
    assert_eq!(job.schedule_readable.as_deref(), Some("daily at 21:00"));
    assert_eq!(job.timezone, "Europe/Vienna");
    assert!(job.timezone_known);
    assert_eq!(job.previous_run, Some(t("2026-11-21T20:00:00Z")));
    assert_eq!(job.next_run, Some(t("2026-11-22T20:00:00Z")));

    // Unknown zone: UTC, and said so.
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .job("nightly", "21:00", vmids(&[100]));
    fx.pve().nodes.items[0].timezone = None;
    let report = run(&fx.build());
    let job = &report.jobs[0];
    assert_eq!(job.timezone, "UTC");
    assert!(!job.timezone_known);
    assert_eq!(job.next_run, Some(t("2026-11-22T21:00:00Z")));
    assert!(has_anomaly(&report, "time zone unknown for node pve1"));
}

// ---------------------------------------------------------------------------------------------
// Runs.

#[test]
fn runs_are_extracted_with_duration_archive_and_job() {
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .job("nightly", "01:00", all_except(&[]))
        .task(
            "pve1",
            "2026-11-22T01:00:05Z",
            "",
            Some("job errors"),
            Some(cmd_all("pbs1", "")),
            vec![
                run_ok(100, "2026-11-22T01:00:06Z", 125),
                run_failed(101, "2026-11-22T01:02:20Z", "unable to find VM '101'"),
            ],
        )
        .vm_snapshot(100, "2026-11-22T01:00:06Z")
        .build());
    let g = guest(&report, 100);
    let last = g.last_backup.as_ref().unwrap();
    assert_eq!(last.time, t("2026-11-22T01:00:06Z"));
    assert_eq!(last.duration_s, Some(125));
    assert_eq!(last.end, Some(t("2026-11-22T01:02:11Z")));
    assert_eq!(last.job.as_deref(), Some("nightly"));
    assert_eq!(last.storage.as_deref(), Some("pbs1"));
    assert_eq!(last.archive.as_deref(), Some("vm/100/2026-11-22T01:00:06Z"));
    assert_eq!(last.source, report::EvidenceSource::TaskLog);
    assert_eq!(g.runs.len(), 1);
    let f = guest(&report, 101);
    let failed = f.last_backup.as_ref().unwrap();
    assert_eq!(failed.status, report::AttemptStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("unable to find VM '101'"));
    assert_eq!(f.freshness, Freshness::Failed);
    let job = &report.jobs[0];
    assert_eq!(job.last_runs.len(), 1);
    assert_eq!(job.last_runs[0].status.as_deref(), Some("job errors"));
}

#[test]
fn attribution_rules_table() {
    // (task start, command storage, expected job)
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("2026-11-22T01:00:05Z", "pbs1", Some("nightly")),
        ("2026-11-22T01:29:00Z", "pbs1", Some("nightly")),
        ("2026-11-22T01:45:00Z", "pbs1", None), // outside tolerance: manual
        ("2026-11-22T01:00:05Z", "local", None), // other storage
        ("2026-11-22T03:00:10Z", "local", Some("local-3am")),
    ];
    for (start, storage, expected) in cases {
        let report = run(&Fx::new()
            .vm(100, "pve1")
            .job("nightly", "01:00", all_except(&[]))
            .job_with("local-3am", "03:00", all_except(&[]), |j| {
                j.storage = Some("local".into())
            })
            .task(
                "pve1",
                start,
                "100",
                Some("OK"),
                Some(cmd_all(storage, "")),
                vec![run_ok(100, start, 60)],
            )
            .build());
        let run = &guest(&report, 100).runs[0];
        assert_eq!(run.job.as_deref(), *expected, "{start} {storage}");
    }
    // Selection must match too: a vmid command does not fit an all-job.
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .job("nightly", "01:00", all_except(&[]))
        .task(
            "pve1",
            "2026-11-22T01:00:05Z",
            "100",
            Some("OK"),
            Some(cmd_vmids("pbs1", &[100])),
            vec![run_ok(100, "2026-11-22T01:00:05Z", 60)],
        )
        .build());
    assert_eq!(guest(&report, 100).runs[0].job, None);
}

#[test]
fn unavailable_log_falls_back_to_task_id_and_status() {
    let start = t("2026-11-22T01:00:05Z");
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .job("nightly", "01:00", vmids(&[100, 101]))
        .push_task(
            "pve1",
            start,
            Some(start + Duration::seconds(300)),
            "100",
            Some("OK"),
            TaskLogEvidence::Unavailable {
                reason: "403".into(),
            },
            "UPID:a".into(),
        )
        .push_task(
            "pve1",
            start,
            Some(start + Duration::seconds(30)),
            "",
            Some("OK"),
            TaskLogEvidence::Unavailable {
                reason: "403".into(),
            },
            "UPID:b".into(),
        )
        .build());
    let g = guest(&report, 100);
    let last = g.runs.first().unwrap();
    assert_eq!(last.status, report::AttemptStatus::Ok);
    assert_eq!(last.duration_s, Some(300));
    assert_eq!(last.job.as_deref(), Some("nightly"));
    assert_eq!(g.freshness, Freshness::Ok);
    // A multi-guest task with no log says nothing about guest 101.
    assert!(guest(&report, 101).runs.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Freshness.

fn daily(fx: Fx) -> Fx {
    fx.vm(100, "pve1").job("nightly", "01:00", vmids(&[100]))
}

fn ok_task(fx: Fx, day: &str) -> Fx {
    let start = format!("{day}T01:00:05Z");
    fx.task(
        "pve1",
        &start,
        "100",
        Some("OK"),
        Some(cmd_vmids("pbs1", &[100])),
        vec![run_ok(100, &start, 60)],
    )
    .vm_snapshot(100, &start)
}

#[test]
fn freshness_outcomes_table() {
    struct Case {
        name: &'static str,
        fx: Fx,
        expected: Freshness,
        missed: Option<u32>,
        reason: &'static str,
    }
    let partial = |mut fx: Fx| {
        fx.pve().task_history[0].completeness = Completeness::Partial {
            reason: "Sys.Audit missing on /nodes/pve1".into(),
        };
        fx.store().snapshots = Observed::unavailable("403");
        fx
    };
    let cases = vec![
        Case {
            name: "ok last night",
            fx: ok_task(daily(Fx::new()), "2026-11-22"),
            expected: Freshness::Ok,
            missed: Some(0),
            reason: "after the run due at 2026-11-22T01:00:00Z",
        },
        Case {
            name: "stale two nights",
            fx: ok_task(daily(Fx::new()), "2026-11-20"),
            expected: Freshness::Stale,
            missed: Some(2),
            reason: "missed 2 scheduled runs of job 'nightly' since 2026-11-21T01:00:00Z",
        },
        Case {
            name: "failed last night",
            fx: ok_task(daily(Fx::new()), "2026-11-21").task(
                "pve1",
                "2026-11-22T01:00:05Z",
                "100",
                Some("ERROR: job errors"),
                Some(cmd_vmids("pbs1", &[100])),
                vec![run_failed(
                    100,
                    "2026-11-22T01:00:06Z",
                    "VM is locked (backup)",
                )],
            ),
            expected: Freshness::Failed,
            missed: Some(0),
            reason: "failed: VM is locked (backup)",
        },
        Case {
            // No trace and no creation time: nothing shows the guest existed at any slot.
            name: "never",
            fx: daily(Fx::new()),
            expected: Freshness::Never,
            missed: None,
            reason: "no backup of this guest by job 'nightly'",
        },
        Case {
            name: "never, created 1.5 nights ago",
            fx: {
                let mut fx = daily(Fx::new());
                fx.pve().guests.items[0].created = Some(t("2026-11-20T12:00:00Z"));
                fx
            },
            expected: Freshness::Never,
            missed: Some(2),
            reason: "no backup of this guest by job 'nightly'",
        },
        Case {
            name: "never, created before the history window",
            fx: {
                let mut fx = daily(Fx::new());
                fx.pve().guests.items[0].created = Some(t("2026-01-01T00:00:00Z"));
                fx
            },
            expected: Freshness::Never,
            missed: Some(14),
            reason: "no backup of this guest by job 'nightly'",
        },
        Case {
            name: "unknown: partial history, no archive listing",
            fx: partial(daily(Fx::new())),
            expected: Freshness::Unknown,
            missed: None,
            reason: "Sys.Audit missing on /nodes/pve1",
        },
        Case {
            name: "partial history but a snapshot after the due run",
            fx: {
                let mut fx = partial(daily(Fx::new()));
                fx.store().snapshots = Observed::complete(Vec::new());
                fx.vm_snapshot(100, "2026-11-22T01:03:00Z")
            },
            expected: Freshness::Ok,
            missed: Some(0),
            reason: "backed up at 2026-11-22T01:03:00Z",
        },
        Case {
            name: "partial history, old success only: unknown, not stale",
            fx: partial(ok_task(daily(Fx::new()), "2026-11-19")),
            expected: Freshness::Unknown,
            missed: None,
            reason: "cannot be ruled out",
        },
        Case {
            name: "stale by one night",
            // At 12:00 the 01:00 run is 11 h old, past the 6 h grace, so it is due.
            fx: ok_task(daily(Fx::new()), "2026-11-21"),
            expected: Freshness::Stale,
            missed: Some(1),
            reason: "missed 1 scheduled run",
        },
        Case {
            name: "not covered, no backups",
            fx: Fx::new().vm(100, "pve1"),
            expected: Freshness::Never,
            missed: None,
            reason: "no enabled job schedules one",
        },
    ];
    for case in cases {
        let report = run(&case.fx.build());
        let g = guest(&report, 100);
        assert_eq!(
            g.freshness, case.expected,
            "{}: {}",
            case.name, g.freshness_reason
        );
        assert_eq!(g.missed_runs, case.missed, "{}", case.name);
        assert!(
            g.freshness_reason.contains(case.reason),
            "{}: {}",
            case.name,
            g.freshness_reason
        );
    }
}

#[test]
fn grace_keeps_a_recent_run_from_being_due() {
    // At 03:00 the 01:00 run is within the 6 h grace: the run due is the previous night's.
    let fx = ok_task(daily(Fx::at(t("2026-11-22T03:00:00Z"))), "2026-11-21");
    let report = assess(&fx.build(), &Policy::default(), t("2026-11-22T03:00:00Z"));
    assert_eq!(guest(&report, 100).freshness, Freshness::Ok);
}

#[test]
fn weekly_job_not_stale_on_day_three() {
    let wed = t("2026-11-25T12:00:00Z");
    let fx = Fx::at(wed)
        .vm(100, "pve1")
        .job("weekly", "sun 01:00", vmids(&[100]))
        .task(
            "pve1",
            "2026-11-22T01:00:05Z",
            "100",
            Some("OK"),
            Some(cmd_vmids("pbs1", &[100])),
            vec![run_ok(100, "2026-11-22T01:00:05Z", 60)],
        );
    let report = assess(&fx.build(), &Policy::default(), wed);
    let g = guest(&report, 100);
    assert_eq!(g.freshness, Freshness::Ok, "{}", g.freshness_reason);
    // One week later without a new run it is stale by one run.
    let later = t("2026-11-30T12:00:00Z");
    let fx = Fx::at(later)
        .vm(100, "pve1")
        .job("weekly", "sun 01:00", vmids(&[100]))
        .task(
            "pve1",
            "2026-11-22T01:00:05Z",
            "100",
            Some("OK"),
            Some(cmd_vmids("pbs1", &[100])),
            vec![run_ok(100, "2026-11-22T01:00:05Z", 60)],
        );
    let report = assess(&fx.build(), &Policy::default(), later);
    let g = guest(&report, 100);
    assert_eq!(g.freshness, Freshness::Stale);
    assert_eq!(g.missed_runs, Some(1));
}

#[test]
fn never_says_when_the_window_is_shorter_than_the_period() {
    let fx = Fx::new()
        .vm(100, "pve1")
        .job("monthly", "*-*-01 01:00", vmids(&[100]));
    let policy = Policy {
        history_days: Some(14),
        ..Policy::default()
    };
    let report = assess(&fx.build(), &policy, now());
    let g = guest(&report, 100);
    // The PBS listing is complete, so the absence is real; the window note is given.
    assert_eq!(g.freshness, Freshness::Never);
    assert!(
        g.freshness_reason.contains(
            "the history window (14 days) is shorter than the schedule's period (31 days)"
        ),
        "{}",
        g.freshness_reason
    );
    // Without the PBS listing, the short window makes it unknown.
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .job("monthly", "*-*-01 01:00", vmids(&[100]));
    fx.store().snapshots = Observed::unavailable("403");
    let report = assess(&fx.build(), &policy, now());
    let g = guest(&report, 100);
    assert_eq!(g.freshness, Freshness::Unknown, "{}", g.freshness_reason);
    assert!(g
        .freshness_reason
        .contains("shorter than the schedule's period"));
}

#[test]
fn schedule_in_vienna_across_dst() {
    // DST ended 2026-10-25. `02:30` Vienna on 2026-10-26 is 01:30 UTC (CET, +1).
    let at = t("2026-10-26T10:00:00Z");
    let build = |zone: Option<&str>, start: &str| {
        let mut fx = Fx::at(at)
            .vm(100, "pve1")
            .job("nightly", "02:30", vmids(&[100]))
            .task(
                "pve1",
                start,
                "100",
                Some("OK"),
                Some(cmd_vmids("pbs1", &[100])),
                vec![run_ok(100, start, 60)],
            );
        fx.pve().nodes.items[0].timezone = zone.map(str::to_string);
        fx.build()
    };
    let report = assess(
        &build(Some("Europe/Vienna"), "2026-10-26T01:30:05Z"),
        &Policy::default(),
        at,
    );
    let g = guest(&report, 100);
    assert_eq!(g.freshness, Freshness::Ok, "{}", g.freshness_reason);
    assert!(g.freshness_reason.contains("due at 2026-10-26T01:30:00Z"));
    assert_eq!(g.runs[0].job.as_deref(), Some("nightly"));
    // Before the change (CEST, +2): 2026-10-24 02:30 local = 00:30 UTC. On the change day 02:30
    // occurs twice; the earlier (CEST) instant counts, so two runs were missed since 00:30 UTC.
    let report = assess(
        &build(Some("Europe/Vienna"), "2026-10-24T00:30:05Z"),
        &Policy::default(),
        at,
    );
    let g = guest(&report, 100);
    assert_eq!(g.freshness, Freshness::Stale);
    assert_eq!(g.missed_runs, Some(2));
    assert!(
        g.freshness_reason.contains("since 2026-10-25T00:30:00Z"),
        "{}",
        g.freshness_reason
    );
    // Zone unknown: the run is due at 02:30 in some zone between UTC-12 and UTC+14, so 01:30 UTC
    // is in time for some zones and late for others: unknown, never stale (issue #9 rule 1).
    let report = assess(&build(None, "2026-10-26T01:30:05Z"), &Policy::default(), at);
    let g = guest(&report, 100);
    assert_eq!(g.freshness, Freshness::Unknown, "{}", g.freshness_reason);
    assert!(
        g.freshness_reason.contains("time zone is unknown"),
        "{}",
        g.freshness_reason
    );
}

#[test]
fn policy_max_age_by_tag_and_pool() {
    let policy = Policy {
        max_age_hours: Some(24 * 7),
        max_age_hours_by_tag: [("db".to_string(), 12)].into(),
        max_age_hours_by_pool: [("prod".to_string(), 48)].into(),
        ..Policy::default()
    };
    // Last success 20 h before now (2026-11-21T16:00Z), from a snapshot.
    let fx = Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .vm(102, "pve1")
        .guest(100, |g| g.tags = vec!["db".into()])
        .guest(101, |g| g.pool = Some("prod".into()))
        .job("weekly", "sun 01:00", vmids(&[100, 101, 102]))
        .vm_snapshot(100, "2026-11-21T16:00:00Z")
        .vm_snapshot(101, "2026-11-21T16:00:00Z")
        .vm_snapshot(102, "2026-11-10T16:00:00Z");
    let report = assess(&fx.build(), &policy, now());
    let cases: &[(Vmid, Freshness, &str)] = &[
        (100, Freshness::Stale, "maximum age of 12 h (tag 'db')"),
        (101, Freshness::Ok, "maximum age of 48 h (pool 'prod')"),
        (
            102,
            Freshness::Stale,
            "maximum age of 168 h (global policy)",
        ),
    ];
    for (vmid, expected, reason) in cases {
        let g = guest(&report, *vmid);
        assert_eq!(g.freshness, *expected, "{vmid}: {}", g.freshness_reason);
        assert!(
            g.freshness_reason.contains(reason),
            "{vmid}: {}",
            g.freshness_reason
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Exemptions.

#[test]
fn exemptions_table() {
    let policy = Policy {
        exemptions: vec![
            ConfigExemption {
                cluster: None,
                vmid: 102,
                reason: "lab machine".into(),
                until: NaiveDate::from_ymd_opt(2026, 12, 31),
                kind: ExemptionKind::NotNeeded,
                system: None,
            },
            ConfigExemption {
                cluster: None,
                vmid: 103,
                reason: "was temporary".into(),
                until: NaiveDate::from_ymd_opt(2026, 11, 1),
                kind: ExemptionKind::NotNeeded,
                system: None,
            },
        ],
        ..Policy::default()
    };
    let notes = |text: &str| GuestConfigFacts::Read {
        notes: Some(text.to_string()),
        notes_read: true,
        excluded_volumes: Vec::new(),
        included_volumes: 1,
    };
    let fx = Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .vm(102, "pve1")
        .vm(103, "pve1")
        .vm(104, "pve1")
        .vm(105, "pve1")
        .guest(100, |g| g.tags = vec!["nobackup".into()])
        .guest(101, |g| {
            g.config = notes("Web\nbackup-exempt: rebuilt by ansible")
        })
        .guest(104, |g| {
            g.config = notes("backup-exempt: old until 2026-10-01")
        });
    let report = assess(&fx.build(), &policy, now());
    type Case = (Vmid, Option<(&'static str, &'static str)>, bool);
    let cases: &[Case] = &[
        (100, Some(("tag", "tagged 'nobackup'")), false),
        (101, Some(("notes", "rebuilt by ansible")), false),
        (102, Some(("config", "lab machine")), false),
        (103, None, true),
        (104, None, true),
        (105, None, false),
    ];
    for (vmid, expected, expired) in cases {
        let g = guest(&report, *vmid);
        let got = g
            .exempt
            .as_ref()
            .map(|e| (e.declared_in.as_str(), e.reason.as_str()));
        assert_eq!(got, *expected, "{vmid}");
        assert_eq!(
            g.flags.contains(&GuestFlag::ExemptionExpired),
            *expired,
            "{vmid}"
        );
        assert_eq!(g.coverage, Coverage::NotCovered, "{vmid}");
    }
    assert_eq!(
        guest(&report, 102).exempt.as_ref().unwrap().until,
        Some(t("2026-12-31T23:59:59Z"))
    );
    assert!(guest(&report, 103)
        .coverage_reason
        .contains("expired on 2026-11-01"));
    assert_eq!(report.summary.exempt, 3);
    assert_eq!(report.summary.not_covered, 3);
}

// ---------------------------------------------------------------------------------------------
// Archive evidence.

#[test]
fn vm_and_ct_with_the_same_id_stay_distinct() {
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .job("nightly", "01:00", vmids(&[100]))
        .vm_snapshot(100, "2026-11-20T01:00:00Z")
        .snapshot(
            "",
            BackupType::Ct,
            "100",
            "2026-11-22T01:00:00Z",
            Some(5),
            |_| {},
        )
        .build());
    let g = guest(&report, 100);
    let archive = g.archive.as_ref().unwrap();
    assert_eq!(archive.time, t("2026-11-20T01:00:00Z"));
    assert_eq!(archive.snapshot_count, 1);
    assert_eq!(g.freshness, Freshness::Stale);
    assert!(g.flags.contains(&GuestFlag::VmidReuse));
    assert!(has_anomaly(&report, "also holds group ct/100"));
}

#[test]
fn namespace_matters_and_in_progress_is_no_backup() {
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .job("nightly", "01:00", vmids(&[100]));
    fx.pve().storages.items[1].pbs.as_mut().unwrap().namespace = Some("prod".into());
    let fx = fx
        .vm_snapshot(100, "2026-11-22T01:00:00Z") // root namespace: not this storage's
        .snapshot(
            "prod",
            BackupType::Vm,
            "100",
            "2026-11-21T01:00:00Z",
            Some(10),
            |_| {},
        )
        .snapshot(
            "prod",
            BackupType::Vm,
            "100",
            "2026-11-22T01:00:00Z",
            None,
            |_| {},
        );
    let report = run(&fx.build());
    let g = guest(&report, 100);
    let archive = g.archive.as_ref().unwrap();
    assert_eq!(archive.namespace, "prod");
    assert_eq!(archive.time, t("2026-11-21T01:00:00Z"));
    assert_eq!(archive.snapshot_count, 1);
    assert_eq!(archive.server, "backup");
    assert_eq!(archive.datastore, "store1");
    assert_eq!(g.freshness, Freshness::Stale);
    assert_eq!(g.missed_runs, Some(1));
}

#[test]
fn verification_states_table() {
    let cases: &[(Option<VerifyState>, &[&str])] = &[
        (Some(VerifyState::Ok), &[]),
        (None, &["unverified"]),
        (Some(VerifyState::Failed), &["verify_failed"]),
        (Some(VerifyState::Other("running".into())), &["unverified"]),
    ];
    for (state, flags) in cases {
        let state = state.clone();
        let report = run(&Fx::new()
            .vm(100, "pve1")
            .job("nightly", "01:00", vmids(&[100]))
            .snapshot(
                "",
                BackupType::Vm,
                "100",
                "2026-11-22T01:00:00Z",
                Some(9),
                |s| {
                    s.verification = state;
                    s.encrypted = Some(true);
                    s.protected = true;
                },
            )
            .build());
        let g = guest(&report, 100);
        let mut expected: Vec<&str> = flags.to_vec();
        expected.push("encrypted");
        expected.sort();
        let got: Vec<&str> = g.flags.iter().map(GuestFlag::as_str).collect();
        assert_eq!(got, expected);
        assert!(g.archive.as_ref().unwrap().protected);
        let unverified = usize::from(!flags.is_empty());
        assert_eq!(report.summary.unverified, unverified);
    }
}

#[test]
fn missing_archive_after_successful_task_is_flagged() {
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .job("nightly", "01:00", vmids(&[100]))
        .task(
            "pve1",
            "2026-11-22T01:00:05Z",
            "100",
            Some("OK"),
            Some(cmd_vmids("pbs1", &[100])),
            vec![run_ok(100, "2026-11-22T01:00:05Z", 60)],
        )
        .build());
    let g = guest(&report, 100);
    assert!(
        g.flags.contains(&GuestFlag::ArchiveMissing),
        "{:?}",
        g.flags
    );
    assert!(has_anomaly(
        &report,
        "snapshot vm/100/2026-11-22T01:00:05Z is not on backup:store1"
    ));
    // The task still counts as a backup.
    assert_eq!(g.freshness, Freshness::Ok);
}

#[test]
fn orphans_only_with_a_complete_guest_list() {
    let fx = Fx::new()
        .vm(100, "pve1")
        .vm_snapshot(100, "2026-11-22T01:00:00Z")
        .snapshot(
            "",
            BackupType::Ct,
            "999",
            "2026-11-01T01:00:00Z",
            Some(5),
            |_| {},
        )
        .snapshot(
            "",
            BackupType::Ct,
            "999",
            "2026-11-02T01:00:00Z",
            Some(5),
            |_| {},
        )
        .snapshot(
            "",
            BackupType::Host,
            "backup-server",
            "2026-11-02T01:00:00Z",
            Some(5),
            |_| {},
        )
        .snapshot(
            "other",
            BackupType::Vm,
            "555",
            "2026-11-02T01:00:00Z",
            Some(5),
            |_| {},
        );
    let report = run(&fx.build());
    assert_eq!(report.orphans.len(), 1);
    let orphan = &report.orphans[0];
    assert_eq!(
        (
            orphan.backup_type.as_str(),
            orphan.backup_id.as_str(),
            orphan.snapshots
        ),
        ("ct", "999", 2)
    );
    assert_eq!(orphan.latest, t("2026-11-02T01:00:00Z"));
    let mut fx = Fx::new().vm(100, "pve1").snapshot(
        "",
        BackupType::Ct,
        "999",
        "2026-11-01T01:00:00Z",
        Some(5),
        |_| {},
    );
    fx.pve().guests.completeness = Completeness::Partial {
        reason: "VM.Audit".into(),
    };
    assert!(run(&fx.build()).orphans.is_empty());
}

#[test]
fn vmid_reuse_by_snapshot_comment() {
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .job("nightly", "01:00", vmids(&[100]))
        .snapshot(
            "",
            BackupType::Vm,
            "100",
            "2026-11-22T01:00:00Z",
            Some(9),
            |s| s.comment = Some("old-db".into()),
        )
        .build());
    assert!(guest(&report, 100).flags.contains(&GuestFlag::VmidReuse));
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .job("nightly", "01:00", vmids(&[100]))
        .snapshot(
            "",
            BackupType::Vm,
            "100",
            "2026-11-22T01:00:00Z",
            Some(9),
            |s| s.comment = Some("guest100".into()),
        )
        .build());
    assert!(!guest(&report, 100).flags.contains(&GuestFlag::VmidReuse));
}

#[test]
fn storage_content_is_the_fallback() {
    let backup = |time: &str, size: Option<u64>| StorageBackup {
        storage: "local".into(),
        volid: format!("local:backup/vzdump-qemu-100-{time}.vma.zst"),
        vmid: 100,
        kind: Some(GuestKind::Qemu),
        time: t(time),
        size,
        verification: None,
        protected: false,
        encrypted: None,
        notes: None,
    };
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .job_with("local", "01:00", vmids(&[100]), |j| {
            j.storage = Some("local".into())
        });
    fx.pve().storage_backups.items = vec![
        backup("2026-11-22T01:00:10Z", Some(100)),
        backup("2026-11-22T11:00:10Z", None),
    ];
    let report = run(&fx.build());
    let g = guest(&report, 100);
    let archive = g.archive.as_ref().unwrap();
    assert_eq!(archive.source, report::EvidenceSource::Storage);
    assert_eq!(archive.time, t("2026-11-22T01:00:10Z"));
    assert_eq!(g.freshness, Freshness::Ok);
    assert!(!g.flags.contains(&GuestFlag::Unverified));
    // An unlinked PBS storage with incomplete content: no verdict by absence.
    let mut fx = daily(Fx::new());
    fx.inv.pbs.clear();
    fx.pve().storage_backups = Observed::partial(Vec::new(), "Datastore.Audit only");
    fx.pve().task_history[0].completeness = Completeness::Partial {
        reason: "Sys.Audit".into(),
    };
    let report = run(&fx.build());
    let g = guest(&report, 100);
    assert_eq!(g.freshness, Freshness::Unknown);
    assert!(
        g.freshness_reason.contains("Datastore.Audit only"),
        "{}",
        g.freshness_reason
    );
}

// ---------------------------------------------------------------------------------------------
// Cross-check, summary, determinism, speed.

#[test]
fn cross_check_disagreements() {
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .vm(102, "pve1")
        .job_with("off", "01:00", vmids(&[100]), |j| j.enabled = false)
        .job("on", "01:00", vmids(&[102]));
    // PVE: 101 not backed up (agrees), 102 not backed up (disagrees), 100 covered (disagrees).
    fx.pve().not_backed_up = Observed::complete(vec![101, 102]);
    let report = run(&fx.build());
    let info: Vec<&Anomaly> = report
        .anomalies
        .iter()
        .filter(|a| a.severity == Severity::Info && a.component.starts_with("guest/"))
        .collect();
    assert_eq!(info.len(), 2, "{info:#?}");
    assert!(has_anomaly(&report, "covered only by a disabled job (off)"));
    assert!(has_anomaly(&report, "PVE lists guest 102 as not backed up"));
}

#[test]
fn summary_counts() {
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .vm(102, "pve1")
        .vm(103, "pve1")
        .guest(103, |g| g.tags = vec!["nobackup".into()])
        .job("j", "01:00", vmids(&[100, 101]))
        .job_with("off", "01:00", vmids(&[102]), |j| j.enabled = false)
        .vm_snapshot(100, "2026-11-22T01:00:00Z")
        .build());
    let s = &report.summary;
    assert_eq!(
        (
            s.guests,
            s.covered,
            s.partial,
            s.disabled_only,
            s.not_covered,
            s.indeterminate,
            s.exempt
        ),
        (4, 2, 0, 1, 0, 0, 1)
    );
    assert_eq!(
        (s.fresh, s.never, s.stale, s.failed, s.freshness_unknown),
        (1, 2, 0, 0, 0)
    );
    assert_eq!(s.coverage_percent, Some(66.7));
    assert_eq!(report.datastores.len(), 1);
    assert_eq!(report.datastores[0].used_percent, Some(25.0));
    assert_eq!(report.datastores[0].snapshots, 1);
    assert_eq!(report.evidence.horizons.len(), 2);
}

fn busy_fixture() -> Fx {
    Fx::new()
        .vm(100, "pve1")
        .ct(101, "pve2")
        .vm(102, "pve1")
        .pool("prod", Some(vec![101, 102]))
        .job("nightly", "01:00", all_except(&[102]))
        .job("pool", "sat 03:00", pool("prod"))
        .task(
            "pve1",
            "2026-11-22T01:00:05Z",
            "",
            Some("OK"),
            Some(cmd_all("pbs1", "102")),
            vec![run_ok(100, "2026-11-22T01:00:06Z", 60)],
        )
        .task(
            "pve1",
            "2026-11-21T01:00:05Z",
            "",
            Some("OK"),
            Some(cmd_all("pbs1", "102")),
            vec![run_ok(100, "2026-11-21T01:00:06Z", 60)],
        )
        .vm_snapshot(100, "2026-11-22T01:00:06Z")
        .vm_snapshot(100, "2026-11-21T01:00:06Z")
        .snapshot(
            "",
            BackupType::Ct,
            "101",
            "2026-11-21T03:00:00Z",
            Some(3),
            |_| {},
        )
        .snapshot(
            "",
            BackupType::Vm,
            "777",
            "2026-11-21T03:00:00Z",
            Some(3),
            |_| {},
        )
}

#[test]
fn determinism_twice_and_shuffled() {
    let inv = busy_fixture().build();
    let a = serde_json::to_string(&run(&inv)).unwrap();
    let b = serde_json::to_string(&run(&inv)).unwrap();
    assert_eq!(a, b);
    let mut shuffled = inv.clone();
    let pve = shuffled.pve.first_mut().unwrap();
    pve.guests.items.reverse();
    pve.jobs.items.reverse();
    pve.pools.items.reverse();
    pve.storages.items.reverse();
    pve.nodes.items.reverse();
    pve.task_history.reverse();
    for h in &mut pve.task_history {
        h.tasks.reverse();
    }
    shuffled.pbs[0].datastores.items[0]
        .snapshots
        .items
        .reverse();
    let c = serde_json::to_string(&run(&shuffled)).unwrap();
    assert_eq!(a, c);
}

#[test]
fn a_5000_guest_inventory_is_assessed_completely() {
    let mut fx = Fx::new();
    let guests: Vec<Vmid> = (1000..6000).collect();
    for vmid in &guests {
        let node = if vmid % 2 == 0 { "pve1" } else { "pve2" };
        fx = fx.vm(*vmid, node);
    }
    for j in 0..30 {
        let chunk: Vec<Vmid> = guests.iter().copied().skip(j * 166).take(166).collect();
        fx = fx.job(
            &format!("job{j:02}"),
            &format!("{:02}:00", j % 24),
            vmids(&chunk),
        );
    }
    // 140 tasks × 500 guest runs = 70 000 runs; 70 000 snapshots.
    for task in 0..140usize {
        let day = 1 + task / 10;
        let start = t(&format!("2026-11-{day:02}T01:00:00Z"));
        let runs: Vec<_> = (0..500)
            .map(|i| {
                let vmid = guests[(task * 500 + i) % guests.len()];
                run_ok(vmid, &start.to_rfc3339(), 30)
            })
            .collect();
        let node = if task % 2 == 0 { "pve1" } else { "pve2" };
        fx = fx.task(node, &start.to_rfc3339(), "", Some("OK"), None, runs);
    }
    let mut snapshots = Vec::with_capacity(70_000);
    for (i, vmid) in guests.iter().cycle().take(70_000).enumerate() {
        snapshots.push(Snapshot {
            namespace: Default::default(),
            backup_type: BackupType::Vm,
            backup_id: vmid.to_string().into(),
            time: now() - Duration::hours((i / guests.len()) as i64 * 24 + 11),
            size: Some(1),
            verification: Some(VerifyState::Ok),
            verified_at: None,
            protected: false,
            encrypted: None,
            owner: None,
            comment: None,
        });
    }
    fx.store().snapshots.items = snapshots;
    let inv = fx.build();
    let started = std::time::Instant::now();
    let report = run(&inv);
    let took = started.elapsed();
    assert_eq!(report.guests.len(), 5000);
    assert!(report
        .guests
        .iter()
        .all(|g| g.last_success.is_some() || g.coverage != Coverage::Covered));
    // Timing is printed, not asserted (docs/performance.md):
    // cargo test --release a_5000_guest_inventory -- --nocapture
    eprintln!("assess of 5000 guests took {took:?}");
}

#[test]
fn unreadable_config_uses_the_latest_log_for_exclusions() {
    let mut excluded = run_ok(100, "2026-11-22T01:00:06Z", 60);
    excluded.excluded_volumes = vec![crate::tasklog::ExcludedVolume {
        key: "scsi1".into(),
        volume: "local-lvm:vm-100-disk-1".into(),
        reason: "backup=no".into(),
        mount_type: None,
    }];
    let unknown = |g: &mut Guest| {
        g.config = GuestConfigFacts::Unknown {
            reason: "VM.Audit missing".into(),
        }
    };
    let report = run(&Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .guest(100, unknown)
        .guest(101, unknown)
        .job("j", "01:00", vmids(&[100, 101]))
        .task(
            "pve1",
            "2026-11-22T01:00:05Z",
            "100",
            Some("OK"),
            Some(cmd_vmids("pbs1", &[100, 101])),
            vec![excluded],
        )
        .build());
    let g = guest(&report, 100);
    assert_eq!(g.coverage, Coverage::Partial);
    assert_eq!(g.excluded_volumes, vec!["scsi1 (backup=no)"]);
    assert!(g.coverage_reason.contains("latest task log"));
    // No config and no exclusion seen: a bind mount would not show in a log, so not `covered`
    // but indeterminate (issue #9 rule 1).
    let g = guest(&report, 101);
    assert_eq!(g.coverage, Coverage::Indeterminate, "{}", g.coverage_reason);
    assert!(g.coverage_reason.contains("excluded is unknown"));
}

// ---------------------------------------------------------------------------------------------
// Verification age (issue #12 item 4).

fn verified_world(states: &[(&str, Option<VerifyState>, Option<&str>)]) -> Inventory {
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .job("nightly", "01:00", all_except(&[]));
    for (time, state, verified_at) in states {
        let state = state.clone();
        let verified_at = verified_at.map(t);
        fx = fx.snapshot("", BackupType::Vm, "100", time, Some(1 << 30), move |s| {
            s.verification = state;
            s.verified_at = verified_at;
        });
    }
    fx.build()
}

#[test]
fn a_failed_latest_snapshot_says_which_older_one_to_restore_from() {
    let inv = verified_world(&[
        (
            "2026-11-20T01:00:00Z",
            Some(VerifyState::Ok),
            Some("2026-11-20T05:00:00Z"),
        ),
        (
            "2026-11-21T01:00:00Z",
            Some(VerifyState::Failed),
            Some("2026-11-21T05:00:00Z"),
        ),
        (
            "2026-11-22T01:00:00Z",
            Some(VerifyState::Failed),
            Some("2026-11-22T05:00:00Z"),
        ),
    ]);
    let report = run(&inv);
    let g = guest(&report, 100);
    let archive = g.archive.as_ref().unwrap();
    assert_eq!(archive.verified_at, Some(t("2026-11-22T05:00:00Z")));
    assert_eq!(archive.last_verified_ok, Some(t("2026-11-20T01:00:00Z")));
    assert!(g.flags.contains(&GuestFlag::VerifyFailed));
    let found = report
        .anomalies
        .iter()
        .find(|a| a.message.contains("failed verification"))
        .unwrap();
    assert!(
        found.details.contains("restore from 2026-11-20T01:00:00Z"),
        "{}",
        found.details
    );
    // Nothing verified ok: no restore point is named.
    let none_ok = verified_world(&[("2026-11-22T01:00:00Z", Some(VerifyState::Failed), None)]);
    let report = run(&none_ok);
    assert_eq!(
        guest(&report, 100)
            .archive
            .as_ref()
            .unwrap()
            .last_verified_ok,
        None
    );
    assert!(report
        .anomalies
        .iter()
        .any(|a| a.details.contains("no snapshot of it verified ok")));
}

#[test]
fn max_verify_age_days_flags_an_old_verification() {
    let inv = verified_world(&[(
        "2026-11-22T01:00:00Z",
        Some(VerifyState::Ok),
        Some("2026-11-10T05:00:00Z"),
    )]);
    let cases = [(None, false), (Some(7), true), (Some(30), false)];
    for (days, flagged) in cases {
        let policy = Policy {
            max_verify_age_days: days,
            ..Policy::default()
        };
        let report = assess(&inv, &policy, now());
        assert_eq!(
            guest(&report, 100)
                .flags
                .contains(&GuestFlag::VerifyOutdated),
            flagged,
            "{days:?}"
        );
    }
    // A verification time that cannot be told is never called outdated.
    let unknown_time = verified_world(&[("2026-11-22T01:00:00Z", Some(VerifyState::Ok), None)]);
    let policy = Policy {
        max_verify_age_days: Some(1),
        ..Policy::default()
    };
    let report = assess(&unknown_time, &policy, now());
    assert!(!guest(&report, 100)
        .flags
        .contains(&GuestFlag::VerifyOutdated));
}

/// A nightly `all` job; `nights` says per node which nights (day of November) it ran, and which
/// guests each task backed up.
fn nightly_all(mut fx: Fx, nights: &[(&str, u32, &[Vmid])]) -> Fx {
    fx = fx.job("nightly", "01:00", all_except(&[]));
    for (node, day, guests) in nights {
        let start = format!("2026-11-{day:02}T01:00:05Z");
        fx = fx.task(
            node,
            &start,
            "",
            Some("OK"),
            Some(cmd_all("pbs1", "")),
            guests.iter().map(|v| run_ok(*v, &start, 60)).collect(),
        );
    }
    fx
}

#[test]
fn a_node_down_at_a_slot_misses_that_run_for_its_guests_only() {
    let mut nights: Vec<(&str, u32, &[Vmid])> = Vec::new();
    for day in 16..=22 {
        nights.push(("pve1", day, &[100]));
        if day != 21 {
            nights.push(("pve2", day, &[200]));
        }
    }
    let mut fx = nightly_all(Fx::new().vm(100, "pve1").vm(200, "pve2"), &nights);
    fx.pve().nodes.items[1].up_since = Some(t("2026-11-21T04:00:00Z"));
    let report = run(&fx.build());
    let g = guest(&report, 100);
    assert_eq!(g.missed_runs, Some(0), "{:?}", g.missed);
    let g = guest(&report, 200);
    assert_eq!(g.missed_runs, Some(1), "{:?}", g.missed);
    let missed = &g.missed[0];
    assert_eq!(missed.slot, t("2026-11-21T01:00:00Z"));
    assert_eq!(missed.node, "pve2");
    for needle in [
        "no vzdump task of job 'nightly' on pve2 at that slot",
        "pve2 booted at 2026-11-21T04:00:00Z, after the slot: it was probably down",
        "repeat-missed is off, so the run was skipped",
    ] {
        assert!(
            missed.reason.contains(needle),
            "{needle}: {}",
            missed.reason
        );
    }
    // The last night ran: fresh, with the earlier miss listed.
    assert_eq!(g.freshness, Freshness::Ok);
}

#[test]
fn up_since_before_the_slot_blames_the_scheduler_and_offline_is_said() {
    let fx = |up: Option<&str>, status: &str| {
        let mut fx = nightly_all(
            Fx::new().vm(200, "pve2"),
            &[("pve1", 20, &[]), ("pve2", 20, &[200])],
        );
        fx.pve().nodes.items[1].up_since = up.map(t);
        fx.pve().nodes.items[1].status = status.to_string();
        fx.build()
    };
    let report = run(&fx(Some("2026-11-01T00:00:00Z"), "online"));
    let g = guest(&report, 200);
    assert_eq!(g.missed_runs, Some(2));
    assert_eq!(g.freshness, Freshness::Stale);
    assert_eq!(g.missed[0].slot, t("2026-11-22T01:00:00Z"));
    assert!(g.missed[0]
        .reason
        .contains("so it was up then and its scheduler did not start"));
    assert!(
        g.freshness_reason.contains(
            "missed the run of 2026-11-22T01:00:00Z: no vzdump task of job 'nightly' on pve2"
        ),
        "{}",
        g.freshness_reason
    );
    let report = run(&fx(None, "offline"));
    let g = guest(&report, 200);
    assert!(
        g.missed[0].reason.contains("pve2 is offline now"),
        "{}",
        g.missed[0].reason
    );
}

#[test]
fn repeat_missed_lets_a_late_run_after_boot_count_for_its_slot() {
    let build = |repeat: Option<bool>| {
        let mut fx = nightly_all(
            Fx::new().vm(200, "pve2"),
            &[("pve2", 20, &[200]), ("pve2", 22, &[200])],
        )
        .task(
            "pve2",
            "2026-11-21T04:05:00Z",
            "",
            Some("OK"),
            Some(cmd_all("pbs1", "")),
            vec![run_ok(200, "2026-11-21T04:05:00Z", 60)],
        );
        fx.pve().jobs.items[0].repeat_missed = repeat;
        fx.pve().nodes.items[1].up_since = Some(t("2026-11-21T04:00:00Z"));
        fx.build()
    };
    // The 04:05 run is the guest's own backup in that night, so the night is not missed either
    // way; without the guest in it, only repeat-missed makes it count.
    let report = run(&build(Some(true)));
    assert_eq!(guest(&report, 200).missed_runs, Some(0));
    let late_without_guest = |repeat: Option<bool>| {
        let mut fx = nightly_all(
            Fx::new().vm(200, "pve2").vm(201, "pve2"),
            &[("pve2", 20, &[200, 201]), ("pve2", 22, &[200, 201])],
        )
        .task(
            "pve2",
            "2026-11-21T04:05:00Z",
            "",
            Some("OK"),
            Some(cmd_all("pbs1", "")),
            vec![run_failed(
                201,
                "2026-11-21T04:05:00Z",
                "VM is locked (backup)",
            )],
        );
        fx.pve().jobs.items[0].repeat_missed = repeat;
        fx.build()
    };
    let report = run(&late_without_guest(Some(true)));
    assert_eq!(guest(&report, 200).missed_runs, Some(0));
    let report = run(&late_without_guest(None));
    let g = guest(&report, 200);
    assert_eq!(g.missed_runs, Some(1), "{:?}", g.missed);
    assert_eq!(g.missed[0].slot, t("2026-11-21T01:00:00Z"));
    // PVE 7.1 caught missed runs up by default.
    let mut inv = late_without_guest(None);
    inv.pve.first_mut().unwrap().version = Some("7.1-10".into());
    assert_eq!(guest(&run(&inv), 200).missed_runs, Some(0));
}

#[test]
fn incomplete_history_leaves_missed_runs_unknown() {
    let mut fx = nightly_all(Fx::new().vm(200, "pve2"), &[("pve2", 20, &[200])]);
    fx.pve().task_history[1].completeness = Completeness::Partial {
        reason: "Sys.Audit missing on /nodes/pve2".into(),
    };
    let report = run(&fx.build());
    let g = guest(&report, 200);
    assert_eq!(g.missed_runs, None);
    assert!(g.missed.is_empty());
    // No schedule at all: null as well.
    let report = run(&Fx::new().vm(300, "pve1").build());
    assert_eq!(guest(&report, 300).missed_runs, None);
}

#[test]
fn a_migrated_guest_is_judged_by_the_node_it_was_on_at_each_slot() {
    // Guest 300 ran on pve1 on the 16th and 18th, then on pve2 from the 21st. pve1 skipped the
    // 17th (pve2 ran, but the guest was on pve1); the 19th and 20th lie between the nodes and
    // pve2 ran them.
    let nights: Vec<(&str, u32, &[Vmid])> = vec![
        ("pve1", 16, &[300]),
        ("pve1", 18, &[300]),
        ("pve2", 17, &[]),
        ("pve2", 19, &[]),
        ("pve2", 20, &[]),
        ("pve2", 21, &[300]),
        ("pve2", 22, &[300]),
    ];
    let report = run(&nightly_all(Fx::new().vm(300, "pve2"), &nights).build());
    let g = guest(&report, 300);
    assert_eq!(g.missed_runs, Some(1), "{:?}", g.missed);
    assert_eq!(g.missed[0].slot, t("2026-11-17T01:00:00Z"));
    assert_eq!(g.missed[0].node, "pve1");
}

#[test]
fn a_backup_lock_without_a_running_backup_is_stale() {
    let build = |running: Option<(Completeness, Vec<(String, String)>)>, lock: &str| {
        let mut fx = daily(Fx::new())
            .ct(101, "pve1")
            .guest(100, |g| g.lock = Some(lock.into()));
        fx = fx.guest(101, |g| g.lock = Some("backup".into()));
        if let Some((completeness, tasks)) = running {
            fx.pve().running_backups = vec![NodeRunningBackups {
                node: "pve1".into(),
                completeness,
                tasks,
            }];
        }
        run(&fx.build())
    };
    let report = build(Some((Completeness::Complete, Vec::new())), "backup");
    let g = guest(&report, 100);
    assert_eq!(g.lock.as_deref(), Some("backup"));
    assert!(g.flags.contains(&GuestFlag::StaleLock));
    assert!(has_anomaly(
        &report,
        "VM 100 is locked (backup) but no backup runs on node pve1"
    ));
    assert!(report
        .anomalies
        .iter()
        .any(|a| a.details.contains("`pct unlock 101` on pve1")));
    // A running vzdump task, a list that may be shortened, or none read: nothing is claimed.
    let upid = (
        "UPID:pve1:1:2:3:vzdump::root@pam:".to_string(),
        String::new(),
    );
    for running in [
        Some((Completeness::Complete, vec![upid])),
        Some((
            Completeness::Partial {
                reason: "Sys.Audit".into(),
            },
            Vec::new(),
        )),
        None,
    ] {
        let report = build(running, "backup");
        assert!(!guest(&report, 100).flags.contains(&GuestFlag::StaleLock));
        assert!(!has_anomaly(&report, "is locked (backup)"));
    }
    // Another lock is shown, never called stale.
    let report = build(Some((Completeness::Complete, Vec::new())), "migrate");
    let g = guest(&report, 100);
    assert_eq!(g.lock.as_deref(), Some("migrate"));
    assert!(!g.flags.contains(&GuestFlag::StaleLock));
}

#[test]
fn an_unusable_store_makes_absence_unknown_and_its_jobs_an_anomaly() {
    // The task says OK, the complete listing lacks the snapshot: archive missing. A store that
    // cannot be read now (offline maintenance, not mounted) proves no absence.
    let base = || {
        daily(Fx::new()).task(
            "pve1",
            "2026-11-22T01:00:05Z",
            "100",
            Some("OK"),
            Some(cmd_vmids("pbs1", &[100])),
            vec![run_ok(100, "2026-11-22T01:00:05Z", 60)],
        )
    };
    let report = run(&base().build());
    assert!(guest(&report, 100)
        .flags
        .contains(&GuestFlag::ArchiveMissing));
    type Change = fn(&mut Datastore);
    let changes: [(Change, &str); 2] = [
        (
            |d| d.maintenance = Some("offline".into()),
            "datastore 'store1' on PBS backup is in offline maintenance",
        ),
        (
            |d| d.unmounted = true,
            "removable datastore 'store1' on PBS backup is not mounted",
        ),
    ];
    for (change, needle) in changes {
        let mut fx = base();
        change(fx.store());
        let report = run(&fx.build());
        let g = guest(&report, 100);
        assert!(!g.flags.contains(&GuestFlag::ArchiveMissing), "{needle}");
        assert!(has_anomaly(
            &report,
            &format!("job nightly cannot write its backups now: {needle}")
        ));
    }
    // Read-only maintenance: listings work, so a missing archive stays missing; writes fail.
    let mut fx = base();
    fx.store().maintenance = Some("read-only".into());
    let report = run(&fx.build());
    assert!(guest(&report, 100)
        .flags
        .contains(&GuestFlag::ArchiveMissing));
    assert!(has_anomaly(
        &report,
        "job nightly cannot write its backups now: datastore 'store1' on PBS backup is in \
         read-only maintenance"
    ));
    // A disabled file storage: its content is not read, and its jobs cannot write.
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .job_with("nightly", "01:00", vmids(&[100]), |j| {
            j.storage = Some("local".into())
        });
    fx.pve().storages.items[0].enabled = false;
    let report = run(&fx.build());
    assert!(has_anomaly(
        &report,
        "job nightly cannot write its backups now: storage 'local' is disabled in PVE"
    ));
}

#[test]
fn a_storage_not_available_on_a_guests_node_is_an_anomaly() {
    let mut fx = daily(Fx::new())
        .vm(200, "pve2")
        .job("second", "02:00", vmids(&[200]));
    fx.pve().storages.items[1].nodes = Some(vec!["pve1".into()]);
    let report = run(&fx.build());
    assert!(has_anomaly(
        &report,
        "job second writes to storage 'pbs1', which is not available on node pve2"
    ));
    assert!(!has_anomaly(&report, "job nightly writes to storage"));
}

#[test]
fn an_external_exemption_names_the_other_system_and_justifies_the_guest() {
    let policy = Policy::from_json(
        r#"{"exemptions": [{"vmid": 100, "reason": "image-level nightly", "kind": "external",
            "system": "Veeam"}]}"#,
    )
    .unwrap();
    let report = assess(&Fx::new().vm(100, "pve1").build(), &policy, now());
    let g = guest(&report, 100);
    let exempt = g.exempt.as_ref().unwrap();
    assert_eq!(exempt.kind, ExemptionKind::External);
    assert_eq!(exempt.reason, "backed up by Veeam: image-level nightly");
    assert_eq!(report.summary.not_covered, 0, "{:?}", report.summary);
    // Without the exemption the same guest is not covered.
    let report = run(&Fx::new().vm(100, "pve1").build());
    assert_eq!(report.summary.not_covered, 1);
    // `external` needs the system, and a system needs `external`.
    for bad in [
        r#"{"exemptions": [{"vmid": 1, "reason": "x", "kind": "external"}]}"#,
        r#"{"exemptions": [{"vmid": 1, "reason": "x", "system": "Veeam"}]}"#,
    ] {
        let err = Policy::from_json(bad).unwrap_err().to_string();
        assert!(err.contains("\"kind\": \"external\""), "{err}");
    }
}

#[test]
fn protected_backups_at_the_storage_limit_block_a_protecting_job() {
    let build = |protected: usize, job_protects: bool| {
        let mut fx = Fx::new()
            .vm(100, "pve1")
            .job_with("nightly", "01:00", vmids(&[100]), |j| {
                j.protected = job_protects
            });
        fx.pve().storages.items[1].max_protected_backups = Some(2);
        for day in 0..3 {
            let time = format!("2026-11-{:02}T01:00:00Z", 18 + day);
            fx = fx.snapshot("", BackupType::Vm, "100", &time, Some(10), |s| {
                s.protected = day < protected
            });
        }
        run(&fx.build())
    };
    let report = build(2, true);
    assert!(has_anomaly(
        &report,
        "guest 100 has 2 protected backups on storage 'pbs1', whose limit is 2: every backup of it by this job fails now"
    ));
    let report = build(1, true);
    assert!(has_anomaly(
        &report,
        "the next backup of it by this job is the last that works"
    ));
    for (protected, job_protects) in [(0, true), (2, false)] {
        let report = build(protected, job_protects);
        assert!(!has_anomaly(&report, "protected backups on storage"));
    }
}

/// Guest 300 on pve2, never backed up; the nightly job ran on pve1 every night from the 16th to
/// the 22nd (so the job existed), pve2 never ran it. `created` is the VM's `meta` ctime.
fn created_case(created: Option<&str>) -> Report {
    let nights: Vec<(&str, u32, &[Vmid])> = (16..=22).map(|d| ("pve1", d, &[][..])).collect();
    let mut fx = nightly_all(Fx::new().vm(300, "pve2"), &nights);
    fx.pve().guests.items[0].created = created.map(t);
    run(&fx.build())
}

#[test]
fn missed_runs_start_at_the_guest_creation_time_table() {
    // (case, created, missed_runs, newest missed slot)
    type Case<'a> = (&'a str, Option<&'a str>, Option<u32>, Option<&'a str>);
    let cases: &[Case] = &[
        (
            "no trace, no ctime: nothing shows it existed, unknown rather than 7",
            None,
            None,
            None,
        ),
        (
            "created on the 20th at noon: only the 21st and 22nd",
            Some("2026-11-20T12:00:00Z"),
            Some(2),
            Some("2026-11-22T01:00:00Z"),
        ),
        (
            "created at the very second of the 21st's slot: that slot was not its to miss",
            Some("2026-11-21T01:00:00Z"),
            Some(1),
            Some("2026-11-22T01:00:00Z"),
        ),
        (
            "created long before: every slot after the job's first task (the 16th, 01:00:05)",
            Some("2026-01-01T00:00:00Z"),
            Some(6),
            Some("2026-11-22T01:00:00Z"),
        ),
        (
            "created after the last due slot: nothing could be missed",
            Some("2026-11-22T06:00:00Z"),
            Some(0),
            None,
        ),
    ];
    for (case, created, want, newest) in cases {
        let report = created_case(*created);
        let g = guest(&report, 300);
        assert_eq!(g.missed_runs, *want, "{case}: {:?}", g.missed);
        assert_eq!(
            g.missed.first().map(|m| m.slot),
            newest.map(t),
            "{case}: {:?}",
            g.missed
        );
        if want.is_none() {
            assert!(g.missed.is_empty(), "{case}: no proven miss is listed");
        }
    }
}

#[test]
fn without_ctime_a_guest_with_no_trace_still_gets_its_freshness_verdict() {
    // Missed runs unknown does not soften the verdict: no backup exists, the evidence is complete.
    let report = created_case(None);
    let g = guest(&report, 300);
    assert_eq!(g.freshness, Freshness::Never, "{}", g.freshness_reason);
    assert_eq!(g.missed_runs, None);
    let report = created_case(Some("2026-11-20T12:00:00Z"));
    assert_eq!(guest(&report, 300).freshness, Freshness::Never);
}

#[test]
fn ctime_beats_older_traces_of_a_reused_vmid() {
    // VMID 300 was backed up on pve2 on the 16th and 17th, then destroyed; the VM now called 300
    // was created on the 20th at noon. pve2 ran nothing after the 17th.
    let build = |created: Option<&str>| {
        let nights: Vec<(&str, u32, &[Vmid])> = vec![
            ("pve2", 16, &[300]),
            ("pve2", 17, &[300]),
            ("pve1", 18, &[]),
            ("pve1", 19, &[]),
            ("pve1", 20, &[]),
            ("pve1", 21, &[]),
            ("pve1", 22, &[]),
        ];
        let mut fx = nightly_all(Fx::new().vm(300, "pve2"), &nights);
        fx.pve().guests.items[0].created = created.map(t);
        run(&fx.build())
    };
    let g_traces = build(None);
    let g = guest(&g_traces, 300);
    assert_eq!(g.missed_runs, Some(5), "by its first trace: {:?}", g.missed);
    let g_created = build(Some("2026-11-20T12:00:00Z"));
    let g = guest(&g_created, 300);
    assert_eq!(g.missed_runs, Some(2), "by its creation: {:?}", g.missed);
    assert_eq!(
        g.missed.last().map(|m| m.slot),
        Some(t("2026-11-21T01:00:00Z"))
    );
}

#[test]
fn verdicts_only_differ_from_the_full_report_by_the_dropped_runs() {
    let inv = Fx::new()
        .vm(100, "pve1")
        .vm(101, "pve1")
        .vm(102, "pve2")
        .job("nightly", "01:00", vmids(&[100, 101]))
        .task(
            "pve1",
            "2026-11-22T01:00:00Z",
            "",
            Some("job errors"),
            None,
            vec![
                run_ok(100, "2026-11-22T01:00:06Z", 60),
                run_failed(101, "2026-11-22T01:01:06Z", "no space left"),
            ],
        )
        .build();
    let mut full = run(&inv);
    assert!(full.guests.iter().any(|g| !g.runs.is_empty()));
    let verdicts = assess_verdicts(&inv, &Policy::default(), now());
    assert!(verdicts.guests.iter().all(|g| g.runs.is_empty()));
    for guest in &mut full.guests {
        guest.runs.clear();
    }
    assert_eq!(
        serde_json::to_string(&full).unwrap(),
        serde_json::to_string(&verdicts).unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Several clusters in one report.

/// Cluster `name` writing to PBS `backup` / `store1` in `namespace`, with its guests and the
/// snapshots of its namespace, as a one-cluster inventory.
fn cluster(name: &str, namespace: &str, fx: Fx) -> Inventory {
    let mut fx = fx.job("daily", "21:00", all_except(&[]));
    fx.pve().name = name.to_string();
    fx.pve().host = format!("{name}.example.com:8006");
    if let Some(target) = fx.pve().storages.items[1].pbs.as_mut() {
        target.namespace = (!namespace.is_empty()).then(|| namespace.to_string());
    }
    fx.build()
}

/// Both clusters' PVE sides and one PBS holding both clusters' snapshots.
fn merged(mut first: Inventory, second: Inventory) -> Inventory {
    let snapshots = second.pbs[0].datastores.items[0].snapshots.items.clone();
    first.pbs[0].datastores.items[0]
        .snapshots
        .items
        .extend(snapshots);
    first.pve.extend(second.pve);
    first.pbs[0].datastores.items[0].namespaces =
        Observed::complete(vec![String::new(), "a".into(), "b".into()]);
    first
}

#[test]
fn two_clusters_are_judged_apart_and_their_vmids_never_mix() {
    let snap = |fx: Fx, ns: &str, id: &str| {
        fx.snapshot(
            ns,
            BackupType::Vm,
            id,
            "2026-11-21T21:00:00Z",
            Some(1),
            |_| {},
        )
    };
    let a = Fx::new().vm(100, "pve1");
    let a = cluster("a", "a", snap(snap(a, "a", "100"), "a", "300"));
    let b = cluster(
        "b",
        "b",
        Fx::new()
            .vm(100, "pve1")
            .vm(200, "pve2")
            .job_with("broken", "21:00", vmids(&[200]), |j| {
                j.storage = Some("nowhere".into())
            }),
    );
    let report = assess(&merged(a, b), &Policy::default(), now());

    let names: Vec<&str> = report.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(report.clusters[0].host, "a.example.com");
    assert_eq!(report.clusters[0].summary.guests, 1);
    assert_eq!(report.clusters[1].summary.guests, 2);
    let keys: Vec<(&str, Vmid)> = report
        .guests
        .iter()
        .map(|g| (g.cluster.as_str(), g.vmid))
        .collect();
    assert_eq!(keys, [("a", 100), ("b", 100), ("b", 200)]);
    // Each VM 100 is judged by its own cluster's namespace: b's has no snapshot there.
    let archive = report.guests[0]
        .archive
        .as_ref()
        .expect("a/100 has a snapshot");
    assert_eq!(archive.namespace, "a");
    assert!(report.guests[1].archive.is_none(), "{:?}", report.guests[1]);
    let jobs: Vec<(&str, &str)> = report
        .jobs
        .iter()
        .map(|j| (j.cluster.as_str(), j.id.as_str()))
        .collect();
    assert_eq!(jobs, [("a", "daily"), ("b", "broken"), ("b", "daily")]);
    // A cluster's anomaly says whose it is.
    assert!(
        report
            .anomalies
            .iter()
            .any(|a| a.component == "b/job/broken" && a.message.contains("does not exist")),
        "{:#?}",
        report.anomalies
    );
    assert!(!has_anomaly(&report, "back up into the same place"));
    // vm/300 in a's namespace belongs to no cluster; vm/100 in a's namespace is a's.
    let orphans: Vec<(&str, &str)> = report
        .orphans
        .iter()
        .map(|o| (o.namespace.as_str(), o.backup_id.as_str()))
        .collect();
    assert_eq!(orphans, [("a", "300")]);
}

#[test]
fn two_clusters_in_one_namespace_are_warned_and_claim_each_others_groups() {
    let a = cluster(
        "a",
        "",
        Fx::new()
            .vm(100, "pve1")
            .vm_snapshot(200, "2026-11-21T21:00:00Z"),
    );
    let b = cluster("b", "", Fx::new().vm(200, "pve1"));
    let report = assess(&merged(a, b), &Policy::default(), now());
    let shared: Vec<&Anomaly> = report
        .anomalies
        .iter()
        .filter(|a| a.message.contains("back up into the same place"))
        .collect();
    assert_eq!(shared.len(), 1, "{:#?}", report.anomalies);
    assert!(shared[0].message.contains("clusters a and b"), "{shared:?}");
    assert!(shared[0].details.contains("namespace"), "{shared:?}");
    // vm/200 is not a's, but b has a guest 200 writing there: not an orphan.
    assert!(report.orphans.is_empty(), "{:?}", report.orphans);
}

#[test]
fn one_cluster_keeps_its_components_and_names_its_cluster() {
    let inv = cluster("solo", "", Fx::new().vm(100, "pve1"));
    let report = assess(&inv, &Policy::default(), now());
    assert_eq!(report.clusters.len(), 1);
    assert_eq!(report.guests[0].cluster, "solo");
    assert!(report
        .anomalies
        .iter()
        .all(|a| !a.component.starts_with("solo/")));
}

#[test]
fn a_seen_fleecing_image_is_a_leftover_unless_a_backup_runs() {
    let build = |running: Option<(Completeness, Vec<(String, String)>)>| {
        let mut fx = ok_task(daily(Fx::new()), "2026-11-22");
        let image = |vmid: Vmid| FleecingImage {
            node: "pve1".into(),
            storage: "fast".into(),
            volid: format!("fast:vm-{vmid}-fleece-0"),
            vmid,
        };
        fx.pve().fleecing = FleecingScan {
            images: vec![image(100), image(999)],
            listed: vec!["fast".into()],
            unseen: Vec::new(),
        };
        if let Some((completeness, tasks)) = running {
            fx.pve().running_backups = vec![NodeRunningBackups {
                node: "pve1".into(),
                completeness,
                tasks,
            }];
        }
        run(&fx.build())
    };
    let report = build(Some((Completeness::Complete, Vec::new())));
    assert!(guest(&report, 100)
        .flags
        .contains(&GuestFlag::FleecingLeftover));
    let leftover = report
        .anomalies
        .iter()
        .find(|a| {
            a.message
                .contains("VM 100 has leftover fleecing image(s) fast:vm-100-fleece-0")
        })
        .unwrap();
    assert_eq!(leftover.severity, Severity::Warning);
    assert!(leftover
        .details
        .contains("`pvesm free fast:vm-100-fleece-0` on pve1"));
    // The image of a VMID no guest has is named on its storage.
    assert!(has_anomaly(
        &report,
        "leftover fleecing image fast:vm-999-fleece-0 belongs to no VM"
    ));
    // A running backup's image is its own: nothing on the guest.
    let upid = (
        "UPID:pve1:1:2:3:vzdump::root@pam:".to_string(),
        String::new(),
    );
    let report = build(Some((Completeness::Complete, vec![upid])));
    assert!(!guest(&report, 100)
        .flags
        .contains(&GuestFlag::FleecingLeftover));
    assert!(!has_anomaly(&report, "VM 100 has leftover fleecing"));
    // A VM locked for backup owns its images (or has a stale lock, reported as such).
    let mut fx =
        ok_task(daily(Fx::new()), "2026-11-22").guest(100, |g| g.lock = Some("backup".into()));
    fx.pve().fleecing.images = vec![FleecingImage {
        node: "pve1".into(),
        storage: "fast".into(),
        volid: "fast:vm-100-fleece-0".into(),
        vmid: 100,
    }];
    let report = run(&fx.build());
    assert!(!guest(&report, 100)
        .flags
        .contains(&GuestFlag::FleecingLeftover));
    assert!(!has_anomaly(&report, "leftover fleecing"));
    // Running tasks not all visible (or not read): only "may", as info.
    for running in [
        Some((
            Completeness::Partial {
                reason: "Sys.Audit".into(),
            },
            Vec::new(),
        )),
        None,
    ] {
        let report = build(running);
        let a = report
            .anomalies
            .iter()
            .find(|a| a.message.contains("VM 100 has leftover fleecing"))
            .unwrap();
        assert_eq!(a.severity, Severity::Info);
        assert!(a
            .message
            .contains("whether a backup uses them right now is unknown"));
    }
}

#[test]
fn a_failed_fleecing_run_suspects_a_leftover_only_where_images_are_unseen() {
    let with_fleecing = |mut cmd: crate::tasklog::JobCommand| {
        cmd.options
            .insert("fleecing".into(), "enabled=1,storage=fast".into());
        cmd
    };
    let failed = |fx: Fx, day: &str, fleecing: bool| {
        let start = format!("{day}T01:00:05Z");
        let cmd = cmd_vmids("pbs1", &[100]);
        fx.task(
            "pve1",
            &start,
            "100",
            Some("job errors"),
            Some(if fleecing { with_fleecing(cmd) } else { cmd }),
            vec![run_failed(100, &start, "interrupted by signal")],
        )
    };
    let flagged = |report: &Report| {
        guest(report, 100)
            .flags
            .contains(&GuestFlag::FleecingMayRemain)
    };
    let report = run(&failed(daily(Fx::new()), "2026-11-22", true).build());
    assert!(flagged(&report));
    let a = report
        .anomalies
        .iter()
        .find(|a| {
            a.message
                .contains("a fleecing image may be left on storage 'fast'")
        })
        .unwrap();
    assert_eq!(a.severity, Severity::Info);
    assert!(a
        .details
        .contains("`pvesm list fast --content images | grep vm-100-fleece` on pve1"));

    // Without fleecing, or with a newer successful run, nothing is suspected.
    assert!(!flagged(&run(&failed(
        daily(Fx::new()),
        "2026-11-22",
        false
    )
    .build())));
    let later_ok = ok_task(failed(daily(Fx::new()), "2026-11-21", true), "2026-11-22");
    assert!(!flagged(&run(&later_ok.build())));

    // The storage's images were listed and showed none of this VM: nothing to suspect.
    let mut fx = failed(daily(Fx::new()), "2026-11-22", true);
    fx.pve().fleecing.listed = vec!["fast".into()];
    let report = run(&fx.build());
    assert!(!flagged(&report));
    assert!(!has_anomaly(&report, "fleecing image may be left"));
}
