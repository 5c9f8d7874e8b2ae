//! Issue #12 end to end: two PBS servers and a tape library in the simulator, the real binary,
//! the expected off-site verdict for every guest.
//!
//! `pbs1` (the healthy scenario's PBS, upgraded to 4.1 so it knows push jobs) holds every guest's
//! backups in `store1`/`pve`. `offsite` (PBS 4.1) pulls from it through remote `main` into
//! `copy`/`main` (vm only, not vm/302, transfer-last 2; its last run failed). `pbs1` pushes
//! vm/303 to remote `far`, a PBS not configured here, and writes ct/101 to tape (latest-only).

use serde_json::{json, Value};

use super::sim::scenario::{guest, raw, Datastore, Kind, PbsScenario, Snapshot};
use super::sim::tasks::PbsTask;
use super::sim::{self, Scenario};
use super::support::{demo_now, run_tool, World};

const NOW: i64 = sim::demo::DEMO_NOW;
const OK_UPID: &str =
    "UPID:pbs1:0000036B:00000B2A:0000001F:6650B0C0:verificationjob:store1\\x3av:root@pam:";

/// The snapshot times of a guest in `pbs1`'s `store1`/`pve`, oldest first.
fn times(scenario: &Scenario, vmid: u32) -> Vec<i64> {
    let mut t: Vec<i64> = scenario.pbs[0].datastores[0]
        .snapshots
        .iter()
        .filter(|s| s.ns == "pve" && s.backup_id == vmid.to_string())
        .map(|s| s.backup_time)
        .collect();
    t.sort();
    t
}

fn scenario() -> Scenario {
    let mut sc = sim::healthy_scenario();
    // Two more VMs the nightly job selects, with three nights of snapshots each.
    let nights = times(&sc, 100);
    for vmid in [301u32, 302, 303] {
        sc.pve
            .guests
            .push(guest(vmid, "pve2", Kind::Qemu).name(&format!("vm{vmid}")));
        for &time in &nights {
            sc.pbs[0].datastores[0].snapshots.push(
                Snapshot::guest("pve", Kind::Qemu, vmid, time, 1 << 30, "pve@pbs!backup")
                    .verified("ok", OK_UPID),
            );
        }
    }
    let pbs1 = &mut sc.pbs[0];
    pbs1.version = "4.1".into();
    pbs1.release = "2".into();
    // Replace the healthy scenario's local sync: this scenario is about the other server.
    pbs1.sync_jobs = vec![raw(&[
        ("id", json!("push-far")),
        ("sync-direction", json!("push")),
        ("store", json!("store1")),
        ("ns", json!("pve")),
        ("remote", json!("far")),
        ("remote-store", json!("vault")),
        ("group-filter", json!(["group:vm/303"])),
        ("schedule", json!("daily")),
        ("last-run-state", json!("OK")),
        ("last-run-endtime", json!(NOW - 3600)),
    ])];
    pbs1.remotes = vec![raw(&[
        ("name", json!("far")),
        ("host", json!("pbs9.example.com")),
        ("auth-id", json!("push@pbs")),
        ("password", json!("never-shown")),
    ])];
    let tape_run = PbsTask::new(
        "pbs1",
        "tape-backup-job",
        Some("store1:weekly:drive0:tape-weekly"),
        "root@pam",
        NOW - 2 * 3600,
        Some(1200),
        &[
            "Starting tape backup job 'store1:weekly:drive0:tape-weekly'",
            "TASK OK",
        ],
        0,
    );
    pbs1.tape_jobs = vec![raw(&[
        ("id", json!("tape-weekly")),
        ("store", json!("store1")),
        ("pool", json!("weekly")),
        ("drive", json!("drive0")),
        ("ns", json!("pve")),
        ("group-filter", json!(["group:ct/101"])),
        ("latest-only", json!(true)),
        ("schedule", json!("sat 05:00")),
        ("last-run-upid", json!(tape_run.upid)),
        ("last-run-state", json!("OK")),
        ("last-run-endtime", json!(NOW - 2 * 3600 + 1200)),
    ])];
    pbs1.tasks.push(tape_run);
    let ct_newest = *times(&sc, 101).last().expect("ct 101 has snapshots");
    let when = chrono::DateTime::from_timestamp(ct_newest, 0)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let pbs1 = &mut sc.pbs[0];
    pbs1.tape_content = vec![raw(&[
        ("label-text", json!("TAPE01")),
        ("uuid", json!("0f3c9a2e-0000-4000-8000-000000000001")),
        ("media-set-name", json!("weekly 2026-01-15")),
        (
            "media-set-uuid",
            json!("7d1e0c55-0000-4000-8000-000000000002"),
        ),
        ("media-set-ctime", json!(NOW - 2 * 3600)),
        ("seq-nr", json!(0)),
        ("pool", json!("weekly")),
        ("store", json!("store1")),
        ("snapshot", json!(format!("ns/pve/ct/101/{when}"))),
        ("backup-time", json!(ct_newest)),
    ])];

    // The second PBS: pulls vm groups from pbs1 (not vm/302), keeps the newest two; last run failed.
    let mut offsite = PbsScenario::new("offsite");
    offsite.version = "4.1".into();
    offsite.release = "2".into();
    offsite.access = sc.pbs[0].access.clone();
    let mut copy = Datastore::new("copy");
    copy.namespaces = vec!["main".into()];
    let newest = |sc: &Scenario, vmid: u32| *times(sc, vmid).last().expect("snapshots");
    let oldest = |sc: &Scenario, vmid: u32| times(sc, vmid)[0];
    for (vmid, time) in [(100, newest(&sc, 100)), (200, oldest(&sc, 200))] {
        copy.snapshots.push(
            Snapshot::guest("main", Kind::Qemu, vmid, time, 1 << 30, "root@pam")
                .verified("ok", OK_UPID),
        );
    }
    offsite.datastores.push(copy);
    let sync_run = PbsTask::new(
        "offsite",
        "syncjob",
        Some("main:store1:copy:main:pull-main"),
        "root@pam",
        NOW - 3 * 3600,
        Some(300),
        &[
            "Starting datastore sync job 'main:store1:copy:main:pull-main'",
            "sync group vm/301 failed - connection reset",
            "TASK ERROR: sync failed with some errors.",
        ],
        0,
    );
    offsite.sync_jobs = vec![raw(&[
        ("id", json!("pull-main")),
        ("store", json!("copy")),
        ("ns", json!("main")),
        ("remote", json!("main")),
        ("remote-store", json!("store1")),
        ("remote-ns", json!("pve")),
        ("group-filter", json!(["type:vm", "exclude:group:vm/302"])),
        ("transfer-last", json!(2)),
        ("schedule", json!("hourly")),
        ("last-run-upid", json!(sync_run.upid)),
        ("last-run-state", json!("sync failed with some errors.")),
        ("last-run-endtime", json!(NOW - 3 * 3600 + 300)),
    ])];
    offsite.tasks.push(sync_run);
    offsite.remotes = vec![raw(&[
        ("name", json!("main")),
        ("host", json!("pbs1")),
        ("auth-id", json!("sync@pbs")),
        ("password", json!("never-shown")),
    ])];
    sc.pbs.push(offsite);
    sc
}

fn offsite_of(report: &Value, vmid: u64) -> Value {
    report["guests"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["vmid"] == vmid))
        .map(|g| g["offsite"].clone())
        .unwrap_or_else(|| panic!("guest {vmid} missing"))
}

async fn report(world: &World, extra: &[&str]) -> (i32, Value, String) {
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    vars.extend(world.pbs_audit("offsite", "PBS01"));
    let now = demo_now();
    let mut args = vec!["--dump-coverage", "--json", "--now", now.as_str()];
    args.extend_from_slice(extra);
    let run = run_tool(&vars, &args).await;
    (run.code, run.json(), run.stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_and_tape_give_the_expected_verdict_for_every_guest() {
    let world = World::start(scenario()).await;
    let (_, json, stdout) = report(&world, &[]).await;
    let expected = [
        (100, "ok"),
        (101, "ok"),
        (200, "stale"),
        (301, "missing"),
        (302, "not_selected"),
        (303, "unknown"),
    ];
    for (vmid, status) in expected {
        let offsite = offsite_of(&json, vmid);
        assert_eq!(offsite["status"], status, "guest {vmid}: {offsite}");
    }
    let vm100 = offsite_of(&json, 100);
    assert_eq!(vm100["copies"][0]["kind"], "pbs");
    assert_eq!(vm100["copies"][0]["server"], "offsite");
    assert_eq!(vm100["copies"][0]["datastore"], "copy");
    assert_eq!(vm100["copies"][0]["namespace"], "main");
    assert_eq!(vm100["copies"][0]["via"], "pull-main");
    assert_eq!(vm100["latest_copy"], vm100["copies"][0]["time"]);
    let ct101 = offsite_of(&json, 101);
    assert_eq!(ct101["copies"][0]["kind"], "tape");
    assert_eq!(ct101["copies"][0]["media_set"], "weekly 2026-01-15");
    assert_eq!(ct101["copies"][0]["datastore"], Value::Null);
    let vm200 = offsite_of(&json, 200);
    assert_eq!(vm200["missing_snapshots"], 2, "{vm200}");
    let vm301 = offsite_of(&json, 301);
    assert_eq!(
        vm301["missing_snapshots"], 2,
        "transfer-last 2 of 3: {vm301}"
    );
    assert!(
        vm200["reason"]
            .as_str()
            .is_some_and(|r| r.contains("sync failed with some errors")),
        "{vm200}"
    );
    assert!(
        offsite_of(&json, 302)["reason"]
            .as_str()
            .is_some_and(|r| r.contains("exclude:group:vm/302")),
        "{json}"
    );
    assert!(
        offsite_of(&json, 303)["reason"]
            .as_str()
            .is_some_and(|r| r.contains("pbs9.example.com:8007")),
        "{json}"
    );
    let summary = &json["summary"]["offsite"];
    assert_eq!(summary["ok"], 2);
    assert_eq!(summary["stale"], 1);
    assert_eq!(summary["missing"], 1);
    assert_eq!(summary["not_selected"], 1);
    assert_eq!(summary["unknown"], 1);
    assert!(
        json["anomalies"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| {
                a["severity"] == "info"
                    && a["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("remote 'far'"))
            })),
        "{json}"
    );
    assert!(
        !stdout.contains("never-shown"),
        "a remote's password leaked"
    );
    // Every request was a GET, and sync jobs were asked for in both directions.
    let requests = world.requests();
    assert!(requests.iter().any(|r| r.path == "/admin/sync"
        && r.query
            .iter()
            .any(|(k, v)| k == "sync-direction" && v == "all")));
    assert!(requests
        .iter()
        .all(|r| r.method == "GET" || r.path == "/access/ticket"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_remote_audit_sees_no_copy_jobs_and_says_so() {
    let mut sc = scenario();
    // The offsite server's token has only the Audit role: PBS hides the pull job silently.
    let mut access = sim::scenario::Access::default();
    access
        .user("monitor@pbs", None)
        .token("monitor@pbs!audit", sim::demo::PBS_AUDIT_SECRET, true)
        .acl("/", "monitor@pbs", "Audit", true)
        .acl("/", "monitor@pbs!audit", "Audit", true);
    sc.pbs[1].access = access;
    let world = World::start(sc).await;
    let policy = tempfile::NamedTempFile::new().expect("policy");
    std::fs::write(policy.path(), r#"{"require_offsite": true}"#).expect("write policy");
    let policy_path = policy.path().to_string_lossy().into_owned();

    let (_, plain, _) = report(&world, &[]).await;
    // Only pbs1's own jobs are visible, and they do not take vm/100; the reason says what
    // could not be seen.
    let vm100 = offsite_of(&plain, 100);
    assert_eq!(vm100["status"], "not_selected", "{vm100}");
    assert!(
        vm100["reason"]
            .as_str()
            .is_some_and(|r| r.contains("sync jobs and remotes of offsite may be incomplete")),
        "{vm100}"
    );
    assert!(
        plain["anomalies"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| {
                a["component"] == "pbs/offsite"
                    && a["severity"] == "warning"
                    && a["details"]
                        .as_str()
                        .is_some_and(|d| d.contains("acl update /remote RemoteAudit"))
            })),
        "{plain}"
    );
    let (_, required, _) = report(&world, &["--policy", &policy_path]).await;
    let vm100 = offsite_of(&required, 100);
    assert_eq!(vm100["status"], "unknown", "{vm100}");
    assert_eq!(vm100["required"], true);
    // The tape copy on pbs1 is still visible.
    assert_eq!(offsite_of(&required, 101)["status"], "ok");
}

/// `offsite` configured by another name (`localhost`) and pinned by certificate, and `pbs1`'s
/// push job `push-far` retargeted at it: the remote names it by IP address, so only the
/// fingerprint ties them together, live and from a recording (the pin travels in the manifest).
/// vm/303 then has a job that should copy it and no copy (`missing`, not `unknown`).
#[tokio::test(flavor = "multi_thread")]
async fn a_remote_naming_a_server_by_another_address_is_matched_by_its_pinned_fingerprint() {
    let mut sc = scenario();
    sc.pbs[0].remotes[0].insert("host".into(), json!("offsite"));
    sc.pbs[0].sync_jobs[0].insert("remote-store".into(), json!("copy"));
    sc.pbs[0].sync_jobs[0].insert("remote-ns".into(), json!("main"));
    let world = World::start(sc).await;
    let offsite = world.sim.pbs("offsite").expect("offsite");
    let alias = offsite.url.replace("127.0.0.1", "localhost");
    assert_ne!(alias, offsite.url, "the simulator listens on 127.0.0.1");
    let fingerprint = offsite.fingerprint.clone();
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    vars.extend(super::support::with(
        super::support::without(
            world.pbs_audit("offsite", "PBS01"),
            &["PBS01_CA_CERT", "PBS01_HOST"],
        ),
        &[("PBS01_HOST", &alias), ("PBS01_FINGERPRINT", &fingerprint)],
    ));
    let dir = world.path("pinned");
    let dir_text = dir.display().to_string();
    let now = demo_now();
    let run = run_tool(
        &vars,
        &[
            "--dump-coverage",
            "--json",
            "--now",
            now.as_str(),
            "--record",
            &dir_text,
        ],
    )
    .await;
    let replayed = run_tool(&[], &["--dump-coverage", "--json", "--replay", &dir_text]).await;
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest json");
    let recorded = manifest["servers"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "offsite"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(recorded["fingerprint"], fingerprint.as_str(), "{manifest}");
    for json in [run.json(), replayed.json()] {
        assert_eq!(offsite_of(&json, 100)["status"], "ok", "{json}");
        assert_eq!(offsite_of(&json, 303)["status"], "missing", "{json}");
        let job = json["copy_jobs"]
            .as_array()
            .and_then(|j| j.iter().find(|j| j["id"] == "push-far"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            job["target"],
            "offsite/copy namespace 'main' (remote 'far', matched by certificate fingerprint)",
            "{job}"
        );
        assert!(
            !json.to_string().contains(sim::demo::PBS_AUDIT_SECRET),
            "no secret in the report"
        );
    }
}
