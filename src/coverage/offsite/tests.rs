//! Table-driven tests of the copy-job selection rules (namespace depth, each group-filter form,
//! include/exclude order, transfer-last, verified-only, encrypted-only) and of every off-site
//! verdict, pull and push, sync and tape.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};

use super::super::fixtures::*;
use super::super::report::{GuestReport, Report};
use super::super::{assess, Policy};
use super::*;
use crate::model::*;

// ---------------------------------------------------------------------------------------------
// Selection rules.

#[test]
fn namespace_anchor_and_max_depth_table() {
    // (anchor, max-depth, namespace, expected relative path or None = not selected)
    let cases: &[(&str, Option<u64>, &str, Option<&str>)] = &[
        ("", None, "", Some("")),
        ("", None, "a/b/c", Some("a/b/c")),
        ("", Some(0), "", Some("")),
        ("", Some(0), "a", None),
        ("", Some(1), "a", Some("a")),
        ("", Some(1), "a/b", None),
        ("a", None, "a", Some("")),
        ("a", None, "a/b", Some("b")),
        ("a", Some(0), "a/b", None),
        ("a", Some(2), "a/b/c", Some("b/c")),
        ("a", None, "ab", None),
        ("a", None, "", None),
        ("a/b", Some(1), "a/b/c", Some("c")),
        ("a/b", None, "a", None),
    ];
    for (anchor, depth, ns, want) in cases {
        let got = relative_ns(anchor, *depth, ns).ok();
        assert_eq!(
            got.as_deref(),
            *want,
            "anchor '{anchor}' depth {depth:?} ns '{ns}'"
        );
    }
    assert!(relative_ns("a", Some(0), "a/b")
        .unwrap_err()
        .contains("max-depth 0"));
}

#[test]
fn namespace_mapping_reroots_below_the_target_anchor() {
    let cases = [
        ("", "", ""),
        ("", "team", "team"),
        ("copy", "", "copy"),
        ("location_a_dep_x", "team_one", "location_a_dep_x/team_one"),
    ];
    for (anchor, relative, want) in cases {
        assert_eq!(map_ns(anchor, relative), want);
    }
}

#[test]
fn group_filter_table() {
    // (filters, type, id, expected: Some(true) taken, Some(false) not taken, None unknown)
    let cases: &[(&[&str], &str, &str, Option<bool>)] = &[
        (&[], "vm", "100", Some(true)),
        (&["type:vm"], "vm", "100", Some(true)),
        (&["type:vm"], "ct", "100", Some(false)),
        (&["include:type:ct"], "ct", "200", Some(true)),
        (&["group:vm/100"], "vm", "100", Some(true)),
        (&["group:vm/100"], "vm", "1000", Some(false)),
        (&["group:vm/100"], "ct", "100", Some(false)),
        // regex is unanchored and sees `<type>/<id>` only.
        (&["regex:^vm/1\\d\\d$"], "vm", "150", Some(true)),
        (&["regex:^vm/1\\d\\d$"], "vm", "1500", Some(false)),
        (&["regex:00"], "ct", "200", Some(true)),
        (&["regex:^pve/"], "vm", "100", Some(false)),
        // any include matches → included
        (&["type:ct", "group:vm/100"], "vm", "100", Some(true)),
        (&["type:ct", "group:vm/100"], "vm", "101", Some(false)),
        // exclude only: everything else is included
        (&["exclude:group:vm/105"], "vm", "100", Some(true)),
        (&["exclude:group:vm/105"], "vm", "105", Some(false)),
        // exclude beats include, whatever the order
        (
            &["type:vm", "exclude:group:vm/105"],
            "vm",
            "105",
            Some(false),
        ),
        (
            &["exclude:group:vm/105", "type:vm"],
            "vm",
            "105",
            Some(false),
        ),
        (&["exclude:regex:^vm/1", "type:vm"], "vm", "200", Some(true)),
        (&["exclude:type:ct", "regex:5$"], "ct", "105", Some(false)),
        // what PBS would reject makes the selection unknown
        (&["type:lxc"], "ct", "100", None),
        (&["vmid:100"], "vm", "100", None),
        (&["group:100"], "vm", "100", None),
        (&["regex:("], "vm", "100", None),
    ];
    for (filters, t, id, want) in cases {
        let filters: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        let got = match filter_group(&filters, t, id) {
            Take::Yes => Some(true),
            Take::No(_) => Some(false),
            Take::Unknown(_) => None,
        };
        assert_eq!(got, *want, "{filters:?} on {t}/{id}");
    }
    match filter_group(
        &["type:vm".into(), "exclude:group:vm/105".into()],
        "vm",
        "105",
    ) {
        Take::No(why) => assert!(why.contains("exclude:group:vm/105"), "{why}"),
        other => panic!("{other:?}"),
    }
    match filter_group(&["type:ct".into()], "vm", "105") {
        Take::No(why) => assert!(why.contains("none of the include filters type:ct"), "{why}"),
        other => panic!("{other:?}"),
    }
}

fn snap(
    time: &str,
    verified: Option<VerifyState>,
    encrypted: Option<bool>,
    size: Option<u64>,
) -> Snapshot {
    Snapshot {
        namespace: Default::default(),
        backup_type: BackupType::Vm,
        backup_id: "100".into(),
        time: t(time),
        size,
        verification: verified,
        verified_at: None,
        protected: false,
        encrypted,
        owner: None,
        comment: None,
    }
}

#[test]
fn snapshot_rules_table() {
    let ok = Some(VerifyState::Ok);
    let failed = Some(VerifyState::Failed);
    let list = [
        snap("2026-11-18T01:00:00Z", ok.clone(), Some(true), Some(1)),
        snap("2026-11-19T01:00:00Z", failed, Some(true), Some(1)),
        snap("2026-11-20T01:00:00Z", None, Some(false), Some(1)),
        snap("2026-11-21T01:00:00Z", ok, Some(true), Some(1)),
        snap("2026-11-22T01:00:00Z", None, Some(true), None), // in progress
    ];
    let refs: Vec<&Snapshot> = list.iter().collect();
    let days = |rules: SnapshotRules| -> Vec<u32> {
        use chrono::Datelike;
        eligible(&refs, rules)
            .iter()
            .map(|s| s.time.day())
            .collect()
    };
    let cases: &[(SnapshotRules, &[u32])] = &[
        (SnapshotRules::default(), &[18, 19, 20, 21]),
        (
            SnapshotRules {
                verified_only: true,
                ..SnapshotRules::default()
            },
            &[18, 21],
        ),
        (
            SnapshotRules {
                encrypted_only: true,
                ..SnapshotRules::default()
            },
            &[18, 19, 21],
        ),
        (
            SnapshotRules {
                transfer_last: Some(2),
                ..SnapshotRules::default()
            },
            &[20, 21],
        ),
        // transfer-last applies to what the other filters left
        (
            SnapshotRules {
                verified_only: true,
                transfer_last: Some(1),
                ..SnapshotRules::default()
            },
            &[21],
        ),
        (
            SnapshotRules {
                transfer_last: Some(10),
                ..SnapshotRules::default()
            },
            &[18, 19, 20, 21],
        ),
    ];
    for (rules, want) in cases {
        assert_eq!(days(*rules), *want, "{rules:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Verdicts end to end through `assess`.

const LAST_RUN: &str = "2026-11-22T03:00:00Z";

/// A guest vm/100 backed up nightly to `backup`/store1 (root), with snapshots on the 20th, 21st
/// and 22nd at 01:00, and a second PBS `offsite` (`pbs2.example.com:8007`, datastore `copy`)
/// that knows `backup` as remote `main`, and `backup` knowing `offsite` as remote `far`.
fn world() -> Fx {
    let mut fx = Fx::new()
        .vm(100, "pve1")
        .job("nightly", "01:00", Selection::All { exclude: vec![] })
        .vm_snapshot(100, "2026-11-20T01:00:00Z")
        .vm_snapshot(100, "2026-11-21T01:00:00Z")
        .vm_snapshot(100, "2026-11-22T01:00:00Z");
    let mut second = fx.inv.pbs[0].clone();
    second.name = "offsite".into();
    second.host = "pbs2.example.com:8007".into();
    second.datastores.items[0].name = "copy".into();
    second.datastores.items[0].snapshots = Observed::complete(Vec::new());
    second.copies.remotes = Observed::complete(vec![remote("main", "PBS.example.com", 8007)]);
    fx.inv.pbs[0].copies.remotes = Observed::complete(vec![
        remote("far", "pbs2.example.com", 8007),
        remote("elsewhere", "pbs9.example.com", 8007),
    ]);
    fx.inv.pbs.push(second);
    fx
}

fn remote(name: &str, host: &str, port: u16) -> Remote {
    Remote {
        name: name.into(),
        host: Some(host.into()),
        port,
        fingerprint: None,
        auth_id: Some("sync@pbs".into()),
    }
}

fn pull(id: &str) -> SyncJob {
    SyncJob {
        id: id.into(),
        direction: SyncDirection::Pull,
        unknown_direction: None,
        store: "copy".into(),
        ns: String::new(),
        remote: Some("main".into()),
        remote_store: Some("store1".into()),
        remote_ns: String::new(),
        max_depth: None,
        group_filter: Vec::new(),
        transfer_last: None,
        verified_only: false,
        encrypted_only: false,
        schedule: Some("03:00".into()),
        last_run_state: Some("OK".into()),
        last_run_start: Some(t(LAST_RUN)),
        last_run_end: Some(t("2026-11-22T03:10:00Z")),
        next_run: None,
        comment: None,
    }
}

fn push(id: &str) -> SyncJob {
    SyncJob {
        direction: SyncDirection::Push,
        store: "store1".into(),
        remote: Some("far".into()),
        remote_store: Some("copy".into()),
        ..pull(id)
    }
}

fn copy(fx: &mut Fx, ns: &str, time: &str) {
    let mut s = snap(time, Some(VerifyState::Ok), Some(false), Some(1));
    s.namespace = ns.into();
    fx.inv.pbs[1].datastores.items[0].snapshots.items.push(s);
}

fn verdict_of(inv: &Inventory, policy: &Policy) -> (Report, Option<Offsite>) {
    let report = assess(inv, policy, now());
    let g: &GuestReport = report.guests.iter().find(|g| g.vmid == 100).unwrap();
    let offsite = g.offsite.clone();
    (report, offsite)
}

fn status(inv: &Inventory) -> Option<OffsiteStatus> {
    verdict_of(inv, &Policy::default()).1.map(|o| o.status)
}

#[test]
fn every_verdict_table() {
    use OffsiteStatus::*;
    type Setup = fn(&mut Fx);
    let cases: &[(&str, Setup, Option<OffsiteStatus>)] = &[
        ("no copy job: null", |_| {}, None),
        (
            "pull, copy of the newest snapshot: ok",
            |fx| {
                fx.inv.pbs[1].copies.sync_jobs.items.push(pull("p"));
                copy(fx, "", "2026-11-22T01:00:00Z");
            },
            Some(Ok),
        ),
        (
            "pull, newest snapshot before the last run not copied: stale",
            |fx| {
                fx.inv.pbs[1].copies.sync_jobs.items.push(pull("p"));
                copy(fx, "", "2026-11-20T01:00:00Z");
            },
            Some(Stale),
        ),
        (
            "pull, snapshot after the last run not copied yet: ok",
            |fx| {
                let mut job = pull("p");
                job.last_run_start = Some(t("2026-11-21T12:00:00Z"));
                fx.inv.pbs[1].copies.sync_jobs.items.push(job);
                copy(fx, "", "2026-11-21T01:00:00Z");
            },
            Some(Ok),
        ),
        (
            "pull selects, no copy: missing",
            |fx| {
                fx.inv.pbs[1].copies.sync_jobs.items.push(pull("p"));
            },
            Some(Missing),
        ),
        (
            "pull filtered out: not_selected",
            |fx| {
                let mut job = pull("p");
                job.group_filter = vec!["type:ct".into()];
                fx.inv.pbs[1].copies.sync_jobs.items.push(job);
            },
            Some(NotSelected),
        ),
        (
            "pull anchored elsewhere: not_selected",
            |fx| {
                let mut job = pull("p");
                job.remote_ns = "other".into();
                fx.inv.pbs[1].copies.sync_jobs.items.push(job);
            },
            Some(NotSelected),
        ),
        (
            "pull from another datastore: null",
            |fx| {
                let mut job = pull("p");
                job.remote_store = Some("store9".into());
                fx.inv.pbs[1].copies.sync_jobs.items.push(job);
            },
            None,
        ),
        (
            "pull with a filter PBS would reject: unknown",
            |fx| {
                let mut job = pull("p");
                job.group_filter = vec!["vmid:100".into()];
                fx.inv.pbs[1].copies.sync_jobs.items.push(job);
            },
            Some(Unknown),
        ),
        (
            "pull whose remote is not listed: unknown",
            |fx| {
                let mut job = pull("p");
                job.remote = Some("gone".into());
                fx.inv.pbs[1].copies.sync_jobs.items.push(job);
            },
            Some(Unknown),
        ),
        (
            "pull target datastore unreadable, no copy seen: unknown",
            |fx| {
                fx.inv.pbs[1].copies.sync_jobs.items.push(pull("p"));
                fx.inv.pbs[1].datastores.items[0].snapshots = Observed::unavailable("403");
            },
            Some(Unknown),
        ),
        (
            "push to a configured PBS with a copy: ok",
            |fx| {
                fx.inv.pbs[0].copies.sync_jobs.items.push(push("out"));
                copy(fx, "", "2026-11-22T01:00:00Z");
            },
            Some(Ok),
        ),
        (
            "push into a target namespace: copy found there",
            |fx| {
                let mut job = push("out");
                job.remote_ns = "site-a".into();
                fx.inv.pbs[0].copies.sync_jobs.items.push(job);
                copy(fx, "site-a", "2026-11-22T01:00:00Z");
            },
            Some(Ok),
        ),
        (
            "push to a remote that is not configured here: unknown",
            |fx| {
                let mut job = push("out");
                job.remote = Some("elsewhere".into());
                fx.inv.pbs[0].copies.sync_jobs.items.push(job);
            },
            Some(Unknown),
        ),
        (
            "local sync to another datastore, copy there: ok",
            |fx| {
                let mut job = pull("local");
                job.remote = None;
                job.store = "store1".into();
                job.ns = "mirror".into();
                fx.inv.pbs[0].copies.sync_jobs.items.push(job);
                let mut s = snap("2026-11-22T01:00:00Z", None, Some(false), Some(1));
                s.namespace = "mirror".into();
                fx.inv.pbs[0].datastores.items[0].snapshots.items.push(s);
            },
            Some(Ok),
        ),
        (
            "verified-only: the unverified newest is not due: ok",
            |fx| {
                let mut job = pull("p");
                job.verified_only = true;
                fx.inv.pbs[1].copies.sync_jobs.items.push(job);
                for s in &mut fx.inv.pbs[0].datastores.items[0].snapshots.items {
                    if s.time == t("2026-11-22T01:00:00Z") {
                        s.verification = None;
                    }
                }
                copy(fx, "", "2026-11-21T01:00:00Z");
            },
            Some(Ok),
        ),
        (
            "encrypted-only: nothing encrypted, nothing copied: missing",
            |fx| {
                let mut job = pull("p");
                job.encrypted_only = true;
                fx.inv.pbs[1].copies.sync_jobs.items.push(job);
            },
            Some(Missing),
        ),
        (
            "one ok job beats one stale job",
            |fx| {
                fx.inv.pbs[1].copies.sync_jobs.items.push(pull("p"));
                copy(fx, "", "2026-11-20T01:00:00Z");
                let mut job = push("out");
                job.remote_ns = "b".into();
                fx.inv.pbs[0].copies.sync_jobs.items.push(job);
                copy(fx, "b", "2026-11-22T01:00:00Z");
            },
            Some(Ok),
        ),
        (
            "tape job with the newest snapshot on tape: ok",
            |fx| {
                fx.inv.pbs[0].copies.tape_jobs.items.push(tape_job(false));
                fx.inv.pbs[0]
                    .copies
                    .tape_content
                    .items
                    .push(on_tape("2026-11-22T01:00:00Z"));
            },
            Some(Ok),
        ),
        (
            "tape job, tape older than the last run's newest: stale",
            |fx| {
                fx.inv.pbs[0].copies.tape_jobs.items.push(tape_job(true));
                fx.inv.pbs[0]
                    .copies
                    .tape_content
                    .items
                    .push(on_tape("2026-11-20T01:00:00Z"));
            },
            Some(Stale),
        ),
        (
            "tape job, nothing on tape: missing",
            |fx| {
                fx.inv.pbs[0].copies.tape_jobs.items.push(tape_job(false));
            },
            Some(Missing),
        ),
    ];
    for (name, setup, want) in cases {
        let mut fx = world();
        setup(&mut fx);
        assert_eq!(status(&fx.inv), *want, "{name}");
    }
}

fn tape_job(latest_only: bool) -> TapeJob {
    TapeJob {
        id: "weekly".into(),
        store: "store1".into(),
        pool: Some("weekly".into()),
        ns: String::new(),
        max_depth: None,
        group_filter: Vec::new(),
        latest_only,
        schedule: Some("sat 05:00".into()),
        last_run_state: Some("OK".into()),
        last_run_start: Some(t(LAST_RUN)),
        last_run_end: None,
        next_run: None,
    }
}

fn on_tape(time: &str) -> TapeCopy {
    TapeCopy {
        store: "store1".into(),
        namespace: String::new(),
        backup_type: BackupType::Vm,
        backup_id: "100".into(),
        time: t(time),
        media_set: Some("weekly 2026-11-22".into()),
        pool: Some("weekly".into()),
        label: Some("TAPE01".into()),
    }
}

#[test]
fn stale_says_how_many_and_since_when() {
    let mut fx = world();
    fx.inv.pbs[1].copies.sync_jobs.items.push(pull("p"));
    copy(&mut fx, "", "2026-11-20T01:00:00Z");
    let (_, offsite) = verdict_of(&fx.inv, &Policy::default());
    let offsite = offsite.unwrap();
    assert_eq!(offsite.status, OffsiteStatus::Stale);
    assert_eq!(offsite.missing_snapshots, Some(2));
    assert_eq!(offsite.missing_since, Some(t("2026-11-21T01:00:00Z")));
    assert!(
        offsite
            .reason
            .contains("2 local snapshot(s) since 2026-11-21T01:00:00Z"),
        "{}",
        offsite.reason
    );
    assert_eq!(offsite.latest_copy, Some(t("2026-11-20T01:00:00Z")));
    assert_eq!(offsite.copies.len(), 1);
    assert_eq!(offsite.copies[0].via, "p");
    assert_eq!(offsite.copies[0].server, "offsite");
    assert_eq!(offsite.copies[0].datastore.as_deref(), Some("copy"));
}

#[test]
fn copies_are_listed_newest_first_with_tape_media_sets() {
    let mut fx = world();
    fx.inv.pbs[1].copies.sync_jobs.items.push(pull("p"));
    copy(&mut fx, "", "2026-11-21T01:00:00Z");
    fx.inv.pbs[0].copies.tape_jobs.items.push(tape_job(false));
    fx.inv.pbs[0]
        .copies
        .tape_content
        .items
        .push(on_tape("2026-11-22T01:00:00Z"));
    let offsite = verdict_of(&fx.inv, &Policy::default()).1.unwrap();
    let kinds: Vec<(CopyKind, DateTime<Utc>)> =
        offsite.copies.iter().map(|c| (c.kind, c.time)).collect();
    assert_eq!(
        kinds,
        vec![
            (CopyKind::Tape, t("2026-11-22T01:00:00Z")),
            (CopyKind::Pbs, t("2026-11-21T01:00:00Z")),
        ]
    );
    assert_eq!(
        offsite.copies[0].media_set.as_deref(),
        Some("weekly 2026-11-22")
    );
    assert_eq!(offsite.copies[0].datastore, None);
    assert_eq!(offsite.latest_copy, Some(t("2026-11-22T01:00:00Z")));
}

#[test]
fn not_selected_names_the_rule_that_excludes() {
    let mut fx = world();
    let mut job = pull("p");
    job.group_filter = vec!["exclude:group:vm/100".into()];
    fx.inv.pbs[1].copies.sync_jobs.items.push(job);
    let offsite = verdict_of(&fx.inv, &Policy::default()).1.unwrap();
    assert_eq!(offsite.status, OffsiteStatus::NotSelected);
    assert!(
        offsite
            .reason
            .contains("excluded by filter 'exclude:group:vm/100'"),
        "{}",
        offsite.reason
    );
    assert!(
        offsite.reason.contains("copy job p on offsite"),
        "{}",
        offsite.reason
    );
}

#[test]
fn policy_turns_null_into_missing_and_hidden_jobs_into_unknown() {
    let fx = world();
    let required = Policy {
        require_offsite: true,
        ..Policy::default()
    };
    let offsite = verdict_of(&fx.inv, &required).1.unwrap();
    assert_eq!(offsite.status, OffsiteStatus::Missing);
    assert!(offsite.required);
    // By tag and by pool.
    let by_tag = Policy {
        require_offsite_tags: vec!["prod".into()],
        ..Policy::default()
    };
    assert_eq!(verdict_of(&fx.inv, &by_tag).1, None);
    let tagged = fx.guest(100, |g| g.tags = vec!["prod".into()]);
    assert_eq!(
        verdict_of(&tagged.inv, &by_tag).1.map(|o| o.status),
        Some(OffsiteStatus::Missing)
    );
    let pooled = world().guest(100, |g| g.pool = Some("gold".into()));
    let by_pool = Policy {
        require_offsite_pools: vec!["gold".into()],
        ..Policy::default()
    };
    assert_eq!(
        verdict_of(&pooled.inv, &by_pool).1.map(|o| o.status),
        Some(OffsiteStatus::Missing)
    );
    // A token that cannot see remotes: the copy may exist, unknown rather than missing.
    let mut hidden = world();
    hidden.inv.pbs[1].copies.sync_jobs.completeness = Completeness::Partial {
        reason: "without Remote.Audit on /remote".into(),
    };
    let offsite = verdict_of(&hidden.inv, &required).1.unwrap();
    assert_eq!(offsite.status, OffsiteStatus::Unknown);
    assert!(
        offsite.reason.contains("Remote.Audit"),
        "{}",
        offsite.reason
    );
    // Without the policy the same guest stays null.
    assert_eq!(verdict_of(&hidden.inv, &Policy::default()).1, None);
}

#[test]
fn an_unconfigured_remote_is_named_in_an_info_anomaly() {
    let mut fx = world();
    let mut job = push("out");
    job.remote = Some("elsewhere".into());
    fx.inv.pbs[0].copies.sync_jobs.items.push(job);
    let (report, _) = verdict_of(&fx.inv, &Policy::default());
    let found = report
        .anomalies
        .iter()
        .find(|a| a.message.contains("remote 'elsewhere'"))
        .unwrap();
    assert_eq!(found.severity, Severity::Info);
    assert!(
        found.message.contains("pbs9.example.com:8007"),
        "{}",
        found.message
    );
}

#[test]
fn summary_counts_per_offsite_status() {
    let mut fx = world().vm(101, "pve1");
    let mut job = pull("p");
    job.group_filter = vec!["group:vm/100".into()];
    fx.inv.pbs[1].copies.sync_jobs.items.push(job);
    copy(&mut fx, "", "2026-11-22T01:00:00Z");
    let report = assess(&fx.inv, &Policy::default(), now());
    assert_eq!(report.summary.offsite.ok, 1);
    assert_eq!(report.summary.offsite.not_selected, 1);
    assert_eq!(report.summary.offsite.none, 0);
}

#[test]
fn offsite_problems_are_warnings_unless_the_policy_requires_copies() {
    use crate::exit::{report_status, ExitStatus};
    let level = |fx: &Fx, policy: &Policy| report_status(&assess(&fx.inv, policy, now()));
    let base = world().task(
        "pve1",
        "2026-11-22T01:00:00Z",
        "100",
        Some("OK"),
        Some(cmd_vmids("pbs1", &[100])),
        vec![run_ok(100, "2026-11-22T01:00:00Z", 60)],
    );
    assert_eq!(level(&base, &Policy::default()), ExitStatus::Ok);
    let mut stale = base;
    stale.inv.pbs[1].copies.sync_jobs.items.push(pull("p"));
    copy(&mut stale, "", "2026-11-20T01:00:00Z");
    assert_eq!(level(&stale, &Policy::default()), ExitStatus::Warning);
    let required = Policy {
        require_offsite: true,
        ..Policy::default()
    };
    assert_eq!(level(&stale, &required), ExitStatus::Critical);
    let mut hidden = stale;
    hidden.inv.pbs[1].copies.sync_jobs = Observed::partial(Vec::new(), "no Remote.Audit");
    assert_eq!(level(&hidden, &required), ExitStatus::Unknown);
}

// ---------------------------------------------------------------------------------------------
// Mapping a remote to a configured server.

#[test]
fn fingerprint_normalisation_table() {
    let cases: &[(&str, Option<&str>)] = &[
        ("AB:CD:EF", Some("abcdef")),
        ("ab:cd:ef", Some("abcdef")),
        ("abcdef", Some("abcdef")),
        (" AB CD-ef ", Some("abcdef")),
        ("", None),
        (":::", None),
        ("not-a-fingerprint", None),
    ];
    for (text, want) in cases {
        assert_eq!(normalize_fingerprint(text).as_deref(), *want, "{text:?}");
    }
}

#[test]
fn remote_matching_by_host_or_fingerprint_table() {
    const FP: &str = "AB:CD:EF:01";
    const OTHER_FP: &str = "11:22:33:44";
    // (case, remote host, remote fingerprint, pin of `offsite`, pin of `backup`, expected)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<(usize, MatchedBy)>,
    );
    let cases: &[Case] = &[
        (
            "host, no pins",
            Some("pbs2.example.com"),
            None,
            None,
            None,
            Some((1, MatchedBy::HostPort)),
        ),
        (
            "host in another case",
            Some("PBS2.Example.com"),
            None,
            None,
            None,
            Some((1, MatchedBy::HostPort)),
        ),
        (
            "host and pin",
            Some("pbs2.example.com"),
            Some("ab:cd:ef:01"),
            Some(FP),
            None,
            Some((1, MatchedBy::HostPortAndFingerprint)),
        ),
        (
            "IP address, same pin (lowercase, colons)",
            Some("192.0.2.7"),
            Some("ab:cd:ef:01"),
            Some(FP),
            None,
            Some((1, MatchedBy::Fingerprint)),
        ),
        (
            "alias, same pin without colons",
            Some("backup2.lan"),
            Some("abcdef01"),
            Some(FP),
            None,
            Some((1, MatchedBy::Fingerprint)),
        ),
        (
            "no host, same pin",
            None,
            Some(FP),
            Some(FP),
            None,
            Some((1, MatchedBy::Fingerprint)),
        ),
        (
            "alias, other pin",
            Some("backup2.lan"),
            Some(OTHER_FP),
            Some(FP),
            None,
            None,
        ),
        (
            "alias, remote pins nothing",
            Some("backup2.lan"),
            None,
            Some(FP),
            None,
            None,
        ),
        (
            "alias, server not pinned",
            Some("backup2.lan"),
            Some(FP),
            None,
            None,
            None,
        ),
        (
            "host, pins differ: the address still decides",
            Some("pbs2.example.com"),
            Some(OTHER_FP),
            Some(FP),
            None,
            Some((1, MatchedBy::HostPort)),
        ),
        (
            "host of one, pin of the other: the address wins",
            Some("pbs2.example.com"),
            Some(FP),
            None,
            Some(FP),
            Some((1, MatchedBy::HostPort)),
        ),
        (
            "pin shared by both: the first configured",
            Some("backup2.lan"),
            Some(FP),
            Some(FP),
            Some(FP),
            Some((0, MatchedBy::Fingerprint)),
        ),
    ];
    for (case, host, fp, offsite_pin, backup_pin, want) in cases {
        let mut fx = world();
        fx.inv.pbs[0].fingerprint = backup_pin.map(str::to_string);
        fx.inv.pbs[1].fingerprint = offsite_pin.map(str::to_string);
        let r = &mut fx.inv.pbs[0].copies.remotes.items[0];
        r.host = host.map(str::to_string);
        r.fingerprint = fp.map(str::to_string);
        let got = match resolve_remote(&fx.inv, &fx.inv.pbs[0], "far") {
            Resolved::Server(i, how) => Some((i, how)),
            Resolved::Unconfigured { .. } => None,
            Resolved::Unknown(_) => panic!("{case}: the remote is in the list"),
        };
        assert_eq!(got, *want, "{case}");
    }
}

#[test]
fn remote_with_neither_host_nor_fingerprint_is_unknown() {
    let mut fx = world();
    let r = &mut fx.inv.pbs[0].copies.remotes.items[0];
    r.host = None;
    r.fingerprint = None;
    assert!(matches!(
        resolve_remote(&fx.inv, &fx.inv.pbs[0], "far"),
        Resolved::Unknown(_)
    ));
}

#[test]
fn copy_job_text_says_how_the_remote_was_matched() {
    // A push job to `far`, which names `offsite` by IP address; the pin is the same.
    let mut fx = world();
    fx.inv.pbs[1].fingerprint = Some("AB:CD:EF:01".into());
    let r = &mut fx.inv.pbs[0].copies.remotes.items[0];
    r.host = Some("192.0.2.7".into());
    r.fingerprint = Some("ab:cd:ef:01".into());
    fx.inv.pbs[0].copies.sync_jobs.items.push(push("to-far"));
    // A pull job on `offsite` from `main`, matched by address.
    fx.inv.pbs[1].copies.sync_jobs.items.push(pull("from-main"));
    copy(&mut fx, "", "2026-11-22T01:00:00Z");
    let (report, offsite) = verdict_of(&fx.inv, &Policy::default());
    assert_eq!(offsite.map(|o| o.status), Some(OffsiteStatus::Ok));
    let job = |id: &str| report.copy_jobs.iter().find(|j| j.id == id).unwrap();
    assert_eq!(
        job("to-far").target,
        "offsite/copy (remote 'far', matched by certificate fingerprint)"
    );
    assert_eq!(job("to-far").source, "backup/store1");
    assert_eq!(
        job("from-main").source,
        "backup/store1 (remote 'main', matched by host:port)"
    );
    assert_eq!(job("from-main").target, "offsite/copy");
    assert!(report.anomalies.iter().all(
        |a| !a.message.contains("matches no configured PBS") || a.message.contains("elsewhere")
    ));
}

#[test]
fn unmatched_alias_stays_unconfigured_without_the_pin() {
    // Same push job, but `offsite` is not pinned: an IP address alone cannot be mapped.
    let mut fx = world();
    let r = &mut fx.inv.pbs[0].copies.remotes.items[0];
    r.host = Some("192.0.2.7".into());
    r.fingerprint = Some("ab:cd:ef:01".into());
    fx.inv.pbs[0].copies.sync_jobs.items.push(push("to-far"));
    let (report, offsite) = verdict_of(&fx.inv, &Policy::default());
    assert_eq!(offsite.map(|o| o.status), Some(OffsiteStatus::Unknown));
    assert!(report
        .anomalies
        .iter()
        .any(|a| a.message.contains("remote 'far' (192.0.2.7:8007)")));
}
