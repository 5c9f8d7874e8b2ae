//! `healthy_scenario()`: a small cluster with nothing to report — every guest covered by an
//! enabled nightly job, last night's run fine, every snapshot on the PBS verified — so a clean run
//! exits 0 and any fault injected into it must show as a non-zero exit. The paged variant has one
//! task log long enough to need a second page, so paging faults have a page to hit.
//!
//! Every list the tool reads carries at least one item (a pool, verify/prune/sync jobs, a host
//! backup in the PBS root namespace), so a fault that distorts items has something to distort.

use serde_json::json;

use super::demo::{DEMO_NOW, DEMO_PBS};
use super::scenario::{
    guest, job, raw, Datastore, Kind, Node, PbsScenario, Pool, Scenario, Snapshot,
};
use super::tasks::PbsTask;
use super::vzdump::{LogGuest, Outcome, Run, Target};

/// Lines per page the tool reads a task log with; the long log passes it.
const LOG_PAGE: usize = 5000;

/// The healthy cluster; credentials are the demo's (same constants in [`super::demo`]).
pub fn healthy_scenario() -> Scenario {
    build(false)
}

/// The healthy cluster whose last nightly log on `pve1` spans two pages of the tool's log reads.
pub fn healthy_paged_scenario() -> Scenario {
    build(true)
}

fn build(long_log: bool) -> Scenario {
    let demo = super::demo_scenario();
    let mut sc = Scenario::builder();
    sc.pve.cluster_name = Some("healthy".into());
    sc.pve.settings.now = Some(DEMO_NOW);
    for (i, n) in ["pve1", "pve2"].iter().enumerate() {
        let mut node = Node::new(n, "UTC");
        node.ip = Some(format!("10.0.1.{}", 11 + i));
        sc.pve.nodes.push(node);
    }
    sc.pve.guests = vec![
        guest(100, "pve1", Kind::Qemu).name("web01").pool("web"),
        guest(101, "pve1", Kind::Lxc).name("dns01"),
        guest(200, "pve2", Kind::Qemu).name("db01"),
    ];
    sc.pve.pools = vec![Pool {
        poolid: "web".into(),
        comment: Some("public web servers".into()),
        storages: Vec::new(),
    }];
    sc.pve.storages = vec![
        raw(&[
            ("storage", json!("local")),
            ("type", json!("dir")),
            ("path", json!("/var/lib/vz")),
            ("content", json!("iso,vztmpl")),
        ]),
        raw(&[
            ("storage", json!("local-lvm")),
            ("type", json!("lvmthin")),
            ("vgname", json!("pve")),
            ("thinpool", json!("data")),
            ("content", json!("images,rootdir")),
        ]),
        raw(&[
            ("storage", json!("pbs1")),
            ("type", json!("pbs")),
            ("server", json!(DEMO_PBS)),
            ("datastore", json!("store1")),
            ("namespace", json!("pve")),
            ("username", json!("pve@pbs!backup")),
            ("content", json!("backup")),
            ("prune-backups", json!("keep-daily=7")),
        ]),
    ];
    sc.pve.backup_jobs = vec![job(
        "nightly",
        &[
            ("all", json!(1)),
            ("storage", json!("pbs1")),
            ("schedule", json!("21:00")),
            ("mode", json!("snapshot")),
            ("enabled", json!(1)),
        ],
    )];
    sc.pve.access = demo.pve.access.clone();

    let mut pbs = PbsScenario::new(DEMO_PBS);
    pbs.access = demo.pbs[0].access.clone();
    let mut ds = Datastore::new("store1");
    ds.namespaces = vec!["pve".into()];
    ds.estimated_full_date = Some(DEMO_NOW + 400 * 86400);
    let verify_task = PbsTask::new(
        DEMO_PBS,
        "verificationjob",
        Some("store1:v-daily"),
        "root@pam",
        DEMO_NOW - 5 * 3600,
        Some(600),
        &["Starting datastore verify job 'store1:v-daily'", "TASK OK"],
        0,
    );
    let verify_upid = verify_task.upid.clone();
    pbs.tasks.push(verify_task);

    // Three nights of the nightly job, 21:00 UTC, every guest fine.
    let midnight = DEMO_NOW - DEMO_NOW.rem_euclid(86_400);
    let nights: Vec<i64> = (1..=3)
        .rev()
        .map(|d| midnight - d * 86_400 + 21 * 3600)
        .collect();
    let last_night = nights.last().copied().unwrap_or(DEMO_NOW);
    let guests = sc.pve.guests.clone();
    for &night in &nights {
        for node in ["pve1", "pve2"] {
            let run = Run {
                node: node.into(),
                utc_offset_secs: 0,
                start: night,
                job_args: "--all 1 --storage pbs1 --mode snapshot --quiet 1".into(),
                skip_external: guests
                    .iter()
                    .filter(|g| g.node != node)
                    .map(|g| g.vmid)
                    .collect(),
                guests: guests
                    .iter()
                    .filter(|g| g.node == node)
                    .map(|g| LogGuest::from_guest(g, Outcome::Ok))
                    .collect(),
                target: Target::Pbs {
                    storage: "pbs1".into(),
                    repo: "pve@pbs!backup@127.0.0.1:8007:store1".into(),
                    ns: "pve".into(),
                },
                seconds_per_guest: 90,
                compact: false,
            };
            let (mut task, rendered) = run.task("root@pam");
            if long_log && node == "pve1" && night == last_night {
                lengthen_progress(&mut task.log);
            }
            sc.pve.tasks.push(task);
            for (vmid, kind, time) in rendered.backups {
                ds.snapshots.push(
                    Snapshot::guest("pve", kind, vmid, time, 34_359_739_500, "pve@pbs!backup")
                        .verified("ok", &verify_upid),
                );
                // The local sync job `s-local` copies `pve` into the root namespace (it keeps
                // the source's verification state).
                ds.snapshots.push(
                    Snapshot::guest("", kind, vmid, time, 34_359_739_500, "root@pam")
                        .verified("ok", &verify_upid),
                );
            }
        }
    }
    // The PBS host backs up its own configuration into the root namespace.
    ds.snapshots.push(host_backup(last_night + 3 * 3600));
    pbs.datastores.push(ds);
    pbs.verify_jobs.push(raw(&[
        ("id", json!("v-daily")),
        ("store", json!("store1")),
        ("ns", json!("pve")),
        ("schedule", json!("daily")),
        ("next-run", json!(DEMO_NOW + 16 * 3600)),
        ("last-run-state", json!("OK")),
        ("last-run-upid", json!(verify_upid)),
        ("last-run-endtime", json!(DEMO_NOW - 5 * 3600 + 600)),
    ]));
    pbs.prune_jobs.push(raw(&[
        ("id", json!("p-store1")),
        ("store", json!("store1")),
        ("ns", json!("pve")),
        ("schedule", json!("daily")),
        ("keep-daily", json!(7)),
        ("next-run", json!(DEMO_NOW + 16 * 3600)),
        ("last-run-state", json!("OK")),
        ("last-run-endtime", json!(DEMO_NOW - 6 * 3600)),
    ]));
    pbs.sync_jobs.push(raw(&[
        // A local sync (no remote, PBS ≥ 3.3): the copy lands in the root namespace.
        ("id", json!("s-local")),
        ("store", json!("store1")),
        ("remote-store", json!("store1")),
        ("remote-ns", json!("pve")),
        ("schedule", json!("daily")),
        ("next-run", json!(DEMO_NOW + 16 * 3600)),
        ("last-run-state", json!("OK")),
        ("last-run-endtime", json!(DEMO_NOW - 4 * 3600)),
    ]));
    sc.pbs.push(pbs);
    sc
}

/// A `host/pbs1` backup of the PBS's own configuration (no guest, so never evidence for one).
fn host_backup(time: i64) -> Snapshot {
    let mut snapshot = Snapshot::guest("", Kind::Lxc, 0, time, 1_048_576, "root@pam");
    snapshot.backup_type = "host".into();
    snapshot.backup_id = DEMO_PBS.into();
    snapshot
}

/// A big disk backed up slowly: vzdump prints its progress line again while the percentage
/// creeps, which here makes the log longer than one page of the tool's log reads.
fn lengthen_progress(log: &mut Vec<String>) {
    let Some(at) = log.iter().position(|l| l.starts_with("INFO:  50% (")) else {
        return;
    };
    let steps = LOG_PAGE + 200;
    let total_mib = 4 * 1024 * 1024u64; // 4 TiB
    let progress: Vec<String> = (1..=steps)
        .map(|i| {
            let done = total_mib * i as u64 / steps as u64;
            let pct = done * 100 / total_mib;
            let secs = i as u64 * 10;
            format!(
                "INFO: {pct:>3}% ({:.1} GiB of 4.0 TiB) in {}h {}m {}s, read: 120.0 MiB/s, write: 118.5 MiB/s",
                done as f64 / 1024.0,
                secs / 3600,
                (secs / 60) % 60,
                secs % 60
            )
        })
        .collect();
    log.splice(at..at + 1, progress);
}
