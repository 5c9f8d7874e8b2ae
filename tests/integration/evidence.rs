//! Issue #13 end to end: evidence that knows the server's state. Each scenario changes the demo in
//! one way a real cluster goes wrong (a node down at a slot, a late run with and without
//! `repeat-missed`, a stale backup lock) and checks the verdicts the real binary gives.

use serde_json::{json, Value};

use super::sim::{self, Fault, FaultRule, PveTask, Scenario};
use super::support::{demo_now, run_tool, World};

/// 2026-01-15T08:00:00Z, the demo's "now".
const NOW: i64 = 1_768_464_000;

fn at(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Take the vzdump task that `node` started at `start` out of the scenario.
fn take_task(scenario: &mut Scenario, node: &str, start: &str) -> PveTask {
    let start = at(start);
    let position = scenario
        .pve
        .tasks
        .iter()
        .position(|t| {
            t.parsed()
                .is_some_and(|u| u.node == node && u.starttime == start && u.task_type == "vzdump")
        })
        .unwrap_or_else(|| panic!("no vzdump task on {node} at {start}"));
    scenario.pve.tasks.remove(position)
}

fn set_uptime(scenario: &mut Scenario, node: &str, booted: &str) {
    let node = scenario
        .pve
        .nodes
        .iter_mut()
        .find(|n| n.name == node)
        .unwrap_or_else(|| panic!("no node {node}"));
    node.uptime_secs = Some(u64::try_from(NOW - at(booted)).unwrap_or_default());
}

async fn report(scenario: Scenario) -> Value {
    let world = World::start(scenario).await;
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    let run = run_tool(&vars, &["--dump-report-data", "--now", &demo_now()]).await;
    // 3 (unknown) is what an incomplete collection calls for; the report data is still written.
    assert!(run.code <= 3, "the run failed: {}", run.stderr);
    run.json()
}

fn guest(json: &Value, vmid: u64) -> &Value {
    json["guests"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["vmid"] == vmid))
        .unwrap_or_else(|| panic!("no guest {vmid}"))
}

fn missed_slots(g: &Value) -> Vec<(String, String)> {
    g["missed"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| {
                    (
                        m["slot"].as_str().unwrap_or_default().to_string(),
                        m["node"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_down_at_the_nightly_slot_misses_that_run_for_its_guests_only() {
    let mut scenario = sim::demo_scenario();
    // pve2 was down at the 2026-01-13 20:00 UTC slot and booted three hours later: no task, and
    // none of its guests' snapshots from that night.
    take_task(&mut scenario, "pve2", "2026-01-13T20:00:00Z");
    let (from, to) = (at("2026-01-13T20:00:00Z"), at("2026-01-13T21:00:00Z"));
    for store in scenario
        .pbs
        .iter_mut()
        .flat_map(|p| p.datastores.iter_mut())
    {
        store.snapshots.retain(|s| {
            !(["200", "201", "202", "203"].contains(&s.backup_id.as_str())
                && (from..to).contains(&s.backup_time))
        });
    }
    set_uptime(&mut scenario, "pve2", "2026-01-13T23:00:00Z");
    let json = report(scenario).await;
    for vmid in [200, 201, 203] {
        let g = guest(&json, vmid);
        assert_eq!(g["missed_runs"], 1, "{vmid}: {}", g["missed"]);
        assert_eq!(
            missed_slots(g),
            vec![("2026-01-13T20:00:00Z".to_string(), "pve2".to_string())]
        );
        let reason = g["missed"][0]["reason"].as_str().unwrap_or_default();
        for needle in [
            "no vzdump task of job 'backup-all-nightly' on pve2 at that slot",
            "pve2 booted at 2026-01-13T23:00:00Z, after the slot: it was probably down",
            "repeat-missed is off",
        ] {
            assert!(reason.contains(needle), "{needle}: {reason}");
        }
    }
    // pve1 ran that night: its guests missed nothing of that job.
    for vmid in [101, 102, 103] {
        assert_eq!(guest(&json, vmid)["missed_runs"], 0, "{vmid}");
    }
    // The nights after the outage ran, so pve2's guests are fresh (201 failed last night).
    assert_eq!(guest(&json, 200)["freshness"], "ok");
    assert_eq!(guest(&json, 201)["freshness"], "failed");
}

/// Move backup-node3's run of 2026-01-14 02:15 UTC to 05:00 (the node came back then).
fn late_node3_run(repeat_missed: bool) -> Scenario {
    let mut scenario = sim::demo_scenario();
    let task = take_task(&mut scenario, "pve3", "2026-01-14T02:15:00Z");
    let mut late = PveTask::vzdump(
        "pve3",
        at("2026-01-14T05:00:00Z"),
        Some(600),
        None,
        "root@pam",
        task.log.clone(),
    );
    late.status = task.status.clone();
    scenario.pve.tasks.push(late);
    set_uptime(&mut scenario, "pve3", "2026-01-14T04:58:00Z");
    let job = scenario
        .pve
        .backup_jobs
        .iter_mut()
        .find(|j| j.get("id") == Some(&json!("backup-node3")))
        .unwrap_or_else(|| panic!("no job backup-node3"));
    job.insert(
        "repeat-missed".into(),
        json!(if repeat_missed { 1 } else { 0 }),
    );
    scenario
}

#[tokio::test(flavor = "multi_thread")]
async fn repeat_missed_makes_the_late_run_after_boot_count_for_its_slot() {
    let json = report(late_node3_run(true)).await;
    for vmid in [300, 301, 302] {
        assert_eq!(guest(&json, vmid)["missed_runs"], 0, "{vmid}");
    }
    let json = report(late_node3_run(false)).await;
    for vmid in [300, 301, 302] {
        let g = guest(&json, vmid);
        assert_eq!(g["missed_runs"], 1, "{vmid}: {}", g["missed"]);
        assert_eq!(
            missed_slots(g),
            vec![("2026-01-14T02:15:00Z".to_string(), "pve3".to_string())]
        );
        let reason = g["missed"][0]["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("pve3 booted at 2026-01-14T04:58:00Z"),
            "{reason}"
        );
        assert!(
            reason.contains("repeat-missed is off, so the run was skipped"),
            "{reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_lock_without_a_running_backup_is_stale() {
    // The demo's CT 301 is locked while its backup runs: a live lock.
    let json = report(sim::demo_scenario()).await;
    let g = guest(&json, 301);
    assert_eq!(g["lock"], "backup");
    assert!(!g["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("stale_lock")));
    assert_eq!(guest(&json, 300)["lock"], Value::Null);
    // Without the running task the lock is stale: flagged, with the fix.
    let mut scenario = sim::demo_scenario();
    scenario.pve.tasks.retain(|t| t.endtime.is_some());
    let json = report(scenario).await;
    let g = guest(&json, 301);
    assert!(
        g["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("stale_lock")),
        "{g}"
    );
    let anomaly = json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["component"] == "guest/301")
        .unwrap_or_else(|| panic!("no anomaly for 301: {}", json["anomalies"]));
    assert_eq!(anomaly["severity"], "warning");
    assert!(anomaly["message"]
        .as_str()
        .unwrap()
        .contains("CT 301 is locked (backup) but no backup runs on node pve3"));
    assert!(anomaly["details"]
        .as_str()
        .unwrap()
        .contains("`pct unlock 301` on pve3"));
}

#[tokio::test(flavor = "multi_thread")]
async fn replication_is_shown_next_to_the_guest_and_never_counted() {
    let json = report(sim::demo_scenario()).await;
    // The scratch VM is replicated (and failing) but no job backs it up: still not covered.
    let g = guest(&json, 303);
    assert_eq!(g["coverage"], "not_covered");
    assert_eq!(g["freshness"], "never");
    assert_eq!(g["replication"]["job"], "303-0");
    assert_eq!(g["replication"]["target"], "pve1");
    assert_eq!(g["replication"]["fail_count"], 3);
    assert_eq!(g["replication"]["last_sync"], "2026-01-13T08:00:00Z");
    assert!(g["replication"]["error"]
        .as_str()
        .unwrap()
        .contains("dataset does not exist"));
    assert_eq!(guest(&json, 100)["replication"]["fail_count"], 0);
    assert_eq!(guest(&json, 101)["replication"], Value::Null);
    // The full token sees every replication job: the list is complete.
    let world = World::start(sim::demo_scenario()).await;
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    let run = run_tool(&vars, &["--dump-inventory", "--json", "--now", &demo_now()]).await;
    let inventory = run.json();
    assert_eq!(
        inventory["pve"][0]["replication"]["completeness"]["state"],
        "complete"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_datastore_in_maintenance_makes_absence_unknown_and_its_jobs_an_anomaly() {
    let clean = report(sim::demo_scenario()).await;
    let mut scenario = sim::demo_scenario();
    scenario.pbs[0].datastores[0].maintenance = Some("offline,message=disk swap".into());
    let json = report(scenario).await;
    let messages: Vec<&str> = json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["message"].as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains(
            "job backup-all-nightly cannot write its backups now: datastore 'store1' on PBS \
             pbs1 is in offline maintenance"
        )),
        "{messages:#?}"
    );
    // The listing fails with the maintenance text; no guest is called missing or stale for it.
    let text = json["anomalies"].to_string();
    assert!(
        text.contains("offline maintenance mode: disk swap"),
        "{text}"
    );
    for g in json["guests"].as_array().unwrap() {
        let vmid = g["vmid"].as_u64().unwrap();
        let flags = g["flags"].as_array().unwrap();
        assert!(!flags.contains(&json!("archive_missing")), "{vmid}");
        let before = guest(&clean, vmid)["freshness"].as_str().unwrap();
        let after = g["freshness"].as_str().unwrap();
        assert!(
            after == before || after == "unknown",
            "{vmid}: {before} → {after}"
        );
    }
}

/// VM 310 is created on pve3 and has no backup yet; pve3 was down at the 2026-01-14 02:15 UTC
/// slot of `backup-node3` (no task; `repeat-missed` off). `created` is the VM's `meta` ctime.
fn new_vm_on_pve3(created: Option<&str>) -> Scenario {
    let mut scenario = sim::demo_scenario();
    take_task(&mut scenario, "pve3", "2026-01-14T02:15:00Z");
    let job = scenario
        .pve
        .backup_jobs
        .iter_mut()
        .find(|j| j.get("id") == Some(&json!("backup-node3")))
        .unwrap_or_else(|| panic!("no job backup-node3"));
    job.insert("repeat-missed".into(), json!(0));
    let mut vm = sim::scenario::guest(310, "pve3", sim::scenario::Kind::Qemu).name("fresh01");
    if let Some(created) = created {
        vm = vm.created(at(created));
    }
    scenario.pve.guests.push(vm);
    scenario
}

#[tokio::test(flavor = "multi_thread")]
async fn missed_runs_of_a_new_vm_start_at_its_creation_time() {
    // (created, missed_runs of 310, its missed slots)
    type Case<'a> = (Option<&'a str>, Value, Vec<(String, String)>);
    let cases: [Case; 3] = [
        // No trace and no ctime: whether it existed at the skipped slot is unknown.
        (None, Value::Null, vec![]),
        // Created after the skipped slot: it missed nothing.
        (Some("2026-01-14T12:00:00Z"), json!(0), vec![]),
        // Created long before: the skipped slot is its miss too.
        (
            Some("2026-01-01T00:00:00Z"),
            json!(1),
            vec![("2026-01-14T02:15:00Z".to_string(), "pve3".to_string())],
        ),
    ];
    for (created, want, slots) in cases {
        let json = report(new_vm_on_pve3(created)).await;
        let g = guest(&json, 310);
        assert_eq!(g["missed_runs"], want, "{created:?}: {}", g["missed"]);
        assert_eq!(missed_slots(g), slots, "{created:?}");
        assert_eq!(
            g["freshness"], "never",
            "{created:?}: {}",
            g["freshness_reason"]
        );
        // The guests that existed all along missed that slot either way.
        assert_eq!(guest(&json, 300)["missed_runs"], 1, "{created:?}");
    }
}

fn flags(g: &Value) -> Vec<String> {
    g["flags"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn anomalies_with<'a>(json: &'a Value, needle: &str) -> Vec<&'a Value> {
    json["anomalies"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|a| a["message"].as_str().unwrap_or("").contains(needle))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_datastore_allocate_sees_leftover_fleecing_images() {
    let world = World::start(sim::fleecing_scenario()).await;
    let mut vars = world.pve_token("backup@pve!ops", sim::demo::PVE_OPS_SECRET);
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    let run = run_tool(&vars, &["--dump-report-data", "--now", &demo_now()]).await;
    assert!(run.code <= 3, "the run failed: {}", run.stderr);
    let json = run.json();
    // VM 200's leftover is seen; its ordinary disk is not one.
    assert!(flags(guest(&json, 200)).contains(&"fleecing_leftover".into()));
    let found = anomalies_with(&json, "leftover fleecing image");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["component"], "guest/200");
    assert_eq!(found[0]["severity"], "warning");
    assert!(found[0]["message"]
        .as_str()
        .unwrap()
        .contains("local-lvm:vm-200-fleece-0"));
    assert!(found[0]["details"]
        .as_str()
        .unwrap()
        .contains("`pvesm free local-lvm:vm-200-fleece-0` on pve2"));
    // VM 201's failed run used fleecing, but the listed storage holds none of its images.
    assert!(!flags(guest(&json, 201))
        .iter()
        .any(|f| f.starts_with("fleecing")));
    assert!(anomalies_with(&json, "cannot be seen read-only").is_empty());
    // One request per node that runs the fleecing job, for images only.
    let asked: Vec<String> = world
        .sim
        .requests()
        .iter()
        .filter(|r| r.server == "pve")
        .filter(|r| r.query.iter().any(|(k, v)| k == "content" && v == "images"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_is_told_fleecing_images_cannot_be_seen_and_gets_no_false_leftover() {
    let json = report(sim::fleecing_scenario()).await;
    // The auditor's image list is silently empty: never a leftover, never "none left".
    assert!(!flags(guest(&json, 200)).contains(&"fleecing_leftover".into()));
    assert!(anomalies_with(&json, "has leftover fleecing image").is_empty());
    let info = anomalies_with(&json, "cannot be seen read-only");
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0]["severity"], "info");
    assert!(info[0]["message"].as_str().unwrap().contains("local-lvm"));
    let details = info[0]["details"].as_str().unwrap();
    assert!(
        details.contains("`pvesm list local-lvm --content images | grep fleece`"),
        "{details}"
    );
    assert!(!details.contains("grant"), "{details}");
    // The task log is the evidence left: VM 201's newest run used fleecing and failed.
    assert!(
        flags(guest(&json, 201)).contains(&"fleecing_may_remain".into()),
        "{}",
        guest(&json, 201)
    );
    let maybe = anomalies_with(&json, "a fleecing image may be left on storage 'local-lvm'");
    assert_eq!(maybe.len(), 1, "{maybe:?}");
    assert_eq!(maybe[0]["component"], "guest/201");
    // Its neighbours whose runs succeeded are not suspected.
    assert!(!flags(guest(&json, 200))
        .iter()
        .any(|f| f.starts_with("fleecing")));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_image_list_is_no_leftover_and_no_all_clear() {
    for (name, fault) in [
        (
            "500",
            Fault::Status {
                code: 500,
                message: "simulated internal error".into(),
            },
        ),
        ("403", Fault::Forbidden),
        ("invalid-json", Fault::InvalidJson),
        ("wrong-container", Fault::WrongContainer),
    ] {
        let world = World::start(sim::fleecing_scenario()).await;
        world.sim.add_fault(
            FaultRule::pattern("pve", "/nodes/*/storage/*/content", fault)
                .param("content", "images"),
        );
        let mut vars = world.pve_token("backup@pve!ops", sim::demo::PVE_OPS_SECRET);
        vars.extend(world.pbs_audit("pbs1", "PBS"));
        let run = run_tool(&vars, &["--dump-report-data", "--now", &demo_now()]).await;
        assert!(run.code <= 3, "{name}: the run failed: {}", run.stderr);
        let json = run.json();
        // Not read is not "none left", and not a leftover either.
        assert!(
            !flags(guest(&json, 200)).contains(&"fleecing_leftover".into()),
            "{name}"
        );
        let named = json["anomalies"].as_array().unwrap().iter().any(|a| {
            a["component"] == "storage/local-lvm"
                && a["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("the images on storage 'local-lvm'")
        });
        assert!(named, "{name}: {}", json["anomalies"]);
        // With the list unread, the failed fleecing run is the evidence again.
        assert!(
            flags(guest(&json, 201)).contains(&"fleecing_may_remain".into()),
            "{name}"
        );
    }
}
