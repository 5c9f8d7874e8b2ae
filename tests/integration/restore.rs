//! Issue #13 item 6 end to end: the last restore of each guest, from the `qmrestore` and
//! `vzrestore` tasks of its node and their logs, and the PBS `reader` tasks (shown as reads),
//! never counted.

use serde_json::Value;

use super::sim::{self, PbsTask, PveTask, Scenario};
use super::support::{demo_now, run_tool, World};

fn at(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A PBS reader session of `group`'s snapshot taken at `snapshot`, started at `start`.
fn reader(store: &str, group: &str, snapshot: &str, start: &str) -> PbsTask {
    let id = format!("{store}:{group}/{:08X}", at(snapshot));
    PbsTask::new(
        sim::demo::DEMO_PBS,
        "reader",
        Some(&id),
        "pve@pbs!backup",
        at(start),
        Some(20),
        &[
            &format!("starting new backup reader datastore '{store}': /{group}"),
            "reader finished successfully",
            "TASK OK",
        ],
        3600,
    )
}

fn restore(node: &str, kind: &str, vmid: u32, start: &str, log: &[&str]) -> PveTask {
    PveTask::new(
        node,
        kind,
        &vmid.to_string(),
        "root@pam",
        at(start),
        Some(95),
        log.iter().map(|l| l.to_string()).collect(),
    )
}

/// The demo with restores: VM 100 twice (the newer from a namespace), CT 202 once, and a VM 302
/// restore that failed before naming any backup.
fn scenario() -> Scenario {
    let mut scenario = sim::demo_scenario();
    scenario.pve.tasks.extend([
        restore(
            "pve1",
            "qmrestore",
            100,
            "2026-01-08T10:00:00Z",
            &[
                "restore proxmox backup image: /usr/bin/pbs-restore --repository pve@pbs!backup@pbs.example.com:store1 vm/100/2026-01-07T01:00:00Z drive-scsi0.img.fidx /dev/pve/vm-100-disk-0 --verbose --format raw --skip-zero",
                "TASK OK",
            ],
        ),
        restore(
            "pve1",
            "qmrestore",
            100,
            "2026-01-12T10:00:00Z",
            &[
                "new volume ID is 'local-lvm:vm-100-disk-0'",
                "restore proxmox backup image: /usr/bin/pbs-restore --repository pve@pbs!backup@pbs.example.com:store1 --ns prod vm/100/2026-01-11T01:00:00Z drive-scsi0.img.fidx /dev/pve/vm-100-disk-0 --verbose --format raw --skip-zero",
                "restore image complete (bytes=34359738368, duration=61.20s, speed=535.44MB/s)",
                "TASK OK",
            ],
        ),
        restore(
            "pve2",
            "vzrestore",
            202,
            "2026-01-13T09:30:00Z",
            &[
                "recovering backed-up configuration from 'pbs1:backup/ct/202/2026-01-13T01:00:00Z'",
                "restoring 'pbs1:backup/ct/202/2026-01-13T01:00:00Z' now..",
                "TASK WARNINGS: 1",
            ],
        ),
        restore(
            "pve3",
            "qmrestore",
            302,
            "2026-01-14T11:00:00Z",
            &["TASK ERROR: unable to restore VM 302 - VM 302 is running"],
        ),
    ]);
    scenario.pbs[0].tasks.extend([
        // VM 100's own restore reads its snapshot: still the qmrestore.
        reader(
            "store1",
            "vm/100",
            "2026-01-11T01:00:00Z",
            "2026-01-12T10:00:05Z",
        ),
        // VM 201 was read and never restored through PVE: a read, not a restore.
        reader(
            "store1",
            "vm/201",
            "2026-01-10T01:00:00Z",
            "2026-01-13T15:00:00Z",
        ),
        // A store no PVE storage points at says nothing about this cluster's guests.
        reader(
            "elsewhere",
            "vm/101",
            "2026-01-10T01:00:00Z",
            "2026-01-13T15:00:00Z",
        ),
    ]);
    scenario
}

async fn report(world: &World, vars: Vec<(String, String)>) -> Value {
    let mut vars = vars;
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    let run = run_tool(&vars, &["--dump-report-data", "--now", &demo_now()]).await;
    assert!(run.code <= 3, "the run failed: {}", run.stderr);
    run.json()
}

fn last_restore(json: &Value, vmid: u64) -> &Value {
    json["guests"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["vmid"] == vmid))
        .map(|g| &g["last_restore"])
        .unwrap_or_else(|| panic!("no guest {vmid}"))
}

#[tokio::test]
async fn each_guest_shows_its_newest_restore_and_the_snapshot_it_read() {
    let world = World::start(scenario()).await;
    let json = report(&world, world.pve_full()).await;

    let vm = last_restore(&json, 100);
    assert_eq!(vm["time"], "2026-01-12T10:00:00Z");
    assert_eq!(vm["source_snapshot"], "vm/100/2026-01-11T01:00:00Z");
    assert_eq!(vm["namespace"], "prod");
    assert_eq!(vm["kind"], "qmrestore");
    assert_eq!(vm["status"], "OK");
    assert!(
        vm["task"]
            .as_str()
            .is_some_and(|t| t.starts_with("UPID:pve1:") && t.contains(":qmrestore:100:")),
        "{vm}"
    );

    let ct = last_restore(&json, 202);
    assert_eq!(ct["source_snapshot"], "ct/202/2026-01-13T01:00:00Z");
    assert_eq!(ct["source"], "pbs1");
    assert_eq!(ct["kind"], "vzrestore");
    assert_eq!(ct["status"], "WARNINGS: 1");

    // A restore that never named a backup is still the last restore, with no source.
    let failed = last_restore(&json, 302);
    assert_eq!(failed["time"], "2026-01-14T11:00:00Z");
    assert!(failed["source_snapshot"].is_null(), "{failed}");
    assert_eq!(failed["node"], "pve3");

    let read = last_restore(&json, 201);
    assert_eq!(read["kind"], "pbs_reader");
    assert_eq!(read["source_snapshot"], "vm/201/2026-01-10T01:00:00Z");
    assert_eq!(read["source"], "pbs1:store1");
    assert_eq!(read["time"], "2026-01-13T15:00:00Z");

    // Never restored in the window: null, and no verdict moves.
    assert!(last_restore(&json, 101).is_null());
    let plain = World::start(sim::demo_scenario()).await;
    let before = report(&plain, plain.pve_full()).await;
    for (a, b) in before["guests"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(json["guests"].as_array().into_iter().flatten())
    {
        assert_eq!(a["vmid"], b["vmid"]);
        assert_eq!(a["coverage"], b["coverage"], "guest {}", a["vmid"]);
        assert_eq!(a["freshness"], b["freshness"], "guest {}", a["vmid"]);
        assert!(a["last_restore"].is_null());
    }
}

#[tokio::test]
async fn restore_lists_are_asked_per_node_never_per_guest() {
    let world = World::start(scenario()).await;
    let _ = report(&world, world.pve_full()).await;
    let requests: Vec<_> = world
        .requests()
        .into_iter()
        .filter(|r| r.server == "pve")
        .collect();
    let lists: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.path.ends_with("/tasks")
                && r.query
                    .iter()
                    .any(|(k, v)| k == "typefilter" && (v == "qmrestore" || v == "vzrestore"))
        })
        .collect();
    // Two kinds on each of the demo's three nodes, one page each.
    assert_eq!(
        lists.len(),
        6,
        "{:#?}",
        lists.iter().map(|r| &r.query).collect::<Vec<_>>()
    );
    // One log per restored guest (100, 202, 302), not one per restore task.
    let logs = requests
        .iter()
        .filter(|r| r.path.contains("restore") && r.path.ends_with("/log"))
        .count();
    assert_eq!(logs, 3);
    let readers = world
        .requests()
        .into_iter()
        .filter(|r| {
            r.server != "pve"
                && r.path == "/nodes/localhost/tasks"
                && r.query
                    .iter()
                    .any(|(k, v)| k == "typefilter" && v == "reader")
        })
        .count();
    assert_eq!(readers, 1, "one page of reader tasks per PBS");
}
