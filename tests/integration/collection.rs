//! Issue #3: collection against the simulator — paging, multi-guest tasks, silent filtering,
//! PBS keys and namespaces, a PBS that is down, record/replay, the built-in demo.

use super::sim::{self, guest, Fault, Kind, PveTask};
use super::support::{demo_now, run_tool, with, without, World};

fn tiny_log(vmid: u32, kind: &str) -> Vec<String> {
    vec![
        format!("INFO: starting new backup job: vzdump {vmid} --storage local --mode snapshot"),
        format!("INFO: Starting Backup of VM {vmid} ({kind})"),
        "INFO: Backup started at 2026-01-01 00:00:00".to_string(),
        format!("INFO: Finished Backup of VM {vmid} (00:00:05)"),
        "INFO: Backup finished at 2026-01-01 00:00:05".to_string(),
        "INFO: Backup job finished successfully".to_string(),
        "TASK OK".to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn task_history_spanning_several_pages_is_read_completely() {
    let mut scenario = sim::demo_scenario();
    scenario.pve.tasks.clear();
    let per_node = 1200i64;
    for (index, node) in ["pve1", "pve2", "pve3"].iter().enumerate() {
        let vmid = [100u32, 200, 301][index];
        let kind = if vmid == 301 { "lxc" } else { "qemu" };
        for i in 0..per_node {
            let start = sim::demo::DEMO_NOW - 3600 - i * 900;
            scenario.pve.tasks.push(PveTask::vzdump(
                node,
                start,
                Some(5),
                Some(vmid),
                "root@pam",
                tiny_log(vmid, kind),
            ));
        }
    }
    let world = World::start(scenario).await;
    let run = run_tool(
        &world.pve_full(),
        &["--dump-inventory", "--json", "--now", &demo_now()],
    )
    .await;
    assert!(run.code <= 1, "{}", run.stderr);
    let json = run.json();
    let histories = json["pve"][0]["task_history"]
        .as_array()
        .expect("histories");
    assert_eq!(histories.len(), 3);
    for history in histories {
        assert_eq!(
            history["tasks"].as_array().map(Vec::len),
            Some(per_node as usize),
            "{}",
            history["node"]
        );
        assert_eq!(history["completeness"]["state"], "complete");
        let oldest =
            chrono::DateTime::from_timestamp(sim::demo::DEMO_NOW - 3600 - (per_node - 1) * 900, 0)
                .expect("t");
        assert_eq!(history["oldest_seen"], serde_json::json!(oldest));
        let parsed = history["tasks"][0]["log"]["log"]["guests"][0]["outcome"]["status"].clone();
        assert_eq!(parsed, "ok", "logs are read and parsed");
    }
    let pages: Vec<String> = world
        .requests()
        .iter()
        .filter(|r| r.path == "/nodes/pve1/tasks")
        // The restore lists share the path; this test is about the vzdump history's pages.
        .filter(|r| {
            r.query
                .iter()
                .any(|(k, v)| k == "typefilter" && v == "vzdump")
        })
        .filter_map(|r| {
            r.query
                .iter()
                .find(|(k, _)| k == "start")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(pages, ["0", "500", "1000"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_guest_task_yields_a_run_for_every_guest_in_it() {
    let world = World::start(sim::demo_scenario()).await;
    let run = run_tool(
        &world.pve_full(),
        &["--dump-inventory", "--json", "--now", &demo_now()],
    )
    .await;
    let json = run.json();
    let multi = json["pve"][0]["task_history"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|h| h["tasks"].as_array().cloned().unwrap_or_default())
        .find(|t| t["id"] == "" && t["node"] == "pve1")
        .expect("a multi-guest task on pve1");
    let vmids: Vec<u64> = multi["log"]["log"]["guests"]
        .as_array()
        .expect("guests")
        .iter()
        .filter_map(|g| g["vmid"].as_u64())
        .collect();
    // The nightly all-job backs up every local guest of pve1 (100, 101, 102, 103).
    for vmid in [100, 101, 102, 103] {
        assert!(vmids.contains(&vmid), "{vmid} missing from {vmids:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_sys_audit_on_a_node_gets_an_incomplete_history_anomaly() {
    let mut scenario = sim::demo_scenario();
    scenario
        .pve
        .access
        .user("partial@pve", None)
        .token(
            "partial@pve!tok",
            "22222222-3333-4444-8555-666666666666",
            false,
        )
        .acl("/", "partial@pve", "PVEAuditor", true)
        .acl("/nodes/pve2", "partial@pve", "NoAccess", true);
    let world = World::start(scenario).await;
    let vars = world.pve_token("partial@pve!tok", "22222222-3333-4444-8555-666666666666");
    let run = run_tool(&vars, &["--dump-inventory", "--json", "--now", &demo_now()]).await;
    assert_eq!(
        run.code, 3,
        "a critical collection anomaly makes the result unknown"
    );
    let json = run.json();
    let pve2 = json["pve"][0]["task_history"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["node"] == "pve2"))
        .expect("pve2 history");
    assert_eq!(pve2["completeness"]["state"], "partial");
    assert_eq!(
        pve2["tasks"].as_array().map(Vec::len),
        Some(0),
        "the server filtered them silently"
    );
    let anomaly = json["anomalies"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["component"] == "pve/tasks/pve2"))
        .expect("an anomaly for pve2");
    assert_eq!(anomaly["severity"], "critical");
    assert!(anomaly["message"]
        .as_str()
        .unwrap_or_default()
        .contains("incomplete task history"));
    let pve1 = json["pve"][0]["task_history"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["node"] == "pve1"))
        .expect("pve1");
    assert_eq!(pve1["completeness"]["state"], "complete");
}

#[tokio::test(flavor = "multi_thread")]
async fn pbs_evidence_is_keyed_by_namespace_type_and_id() {
    let world = World::start(sim::demo_scenario()).await;
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    let run = run_tool(&vars, &["--dump-inventory", "--json", "--now", &demo_now()]).await;
    assert!(run.code <= 1, "{}", run.stderr);
    let json = run.json();
    let store = &json["pbs"][0]["datastores"]["items"][0];
    assert_eq!(
        store["namespaces"]["items"],
        serde_json::json!(["", "lab", "pve"])
    );
    let snapshots = store["snapshots"]["items"].as_array().expect("snapshots");
    let groups: std::collections::BTreeSet<(String, String, String)> = snapshots
        .iter()
        .filter(|s| s["backup_id"] == "100")
        .map(|s| {
            (
                s["namespace"].as_str().unwrap_or_default().into(),
                s["backup_type"].as_str().unwrap_or_default().into(),
                s["backup_id"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert!(
        groups.contains(&("pve".into(), "vm".into(), "100".into())),
        "{groups:?}"
    );
    assert!(
        groups.contains(&("pve".into(), "ct".into(), "100".into())),
        "VM 100 and CT 100 stay distinct: {groups:?}"
    );
    assert!(
        groups.contains(&("lab".into(), "vm".into(), "100".into())),
        "namespaces are walked: {groups:?}"
    );
    let in_progress: Vec<_> = snapshots.iter().filter(|s| s["size"].is_null()).collect();
    assert_eq!(in_progress.len(), 1, "the in-progress snapshot has no size");
    assert_eq!(in_progress[0]["backup_id"], "301");
    let rank = |t: &serde_json::Value| match t.as_str() {
        Some("vm") => 0,
        Some("ct") => 1,
        Some("host") => 2,
        _ => 3,
    };
    let sorted: Vec<_> = snapshots
        .iter()
        .map(|s| {
            (
                s["namespace"].to_string(),
                rank(&s["backup_type"]),
                s["backup_id"].to_string(),
                s["time"].to_string(),
            )
        })
        .collect();
    let mut expected = sorted.clone();
    expected.sort();
    assert_eq!(
        sorted, expected,
        "snapshots are sorted whatever order PBS sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_pbs_down_leaves_the_rest_complete() {
    let mut scenario = sim::demo_scenario();
    scenario.pbs.push(sim::PbsScenario::new("offsite"));
    let offsite_access = scenario.pbs[0].access.clone();
    scenario.pbs[1].access = offsite_access;
    let world = World::start(scenario).await;
    world.sim.set_fault("offsite", "/", Fault::Reset);
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    vars.extend(world.pbs_audit("offsite", "PBS01"));
    let run = run_tool(&vars, &["--dump-inventory", "--json", "--now", &demo_now()]).await;
    assert_eq!(run.code, 3, "collection was incomplete");
    let json = run.json();
    assert_eq!(
        json["pve"][0]["guests"]["completeness"]["state"],
        "complete"
    );
    let by_name = |name: &str| {
        json["pbs"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == name))
            .cloned()
            .expect(name)
    };
    assert_eq!(
        by_name("pbs1")["datastores"]["completeness"]["state"],
        "complete"
    );
    assert_eq!(
        by_name("offsite")["datastores"]["completeness"]["state"],
        "unavailable"
    );
    let anomalies = json["anomalies"].as_array().expect("anomalies");
    assert!(
        anomalies
            .iter()
            .any(|a| a["component"] == "pbs/offsite" && a["severity"] == "critical"),
        "{anomalies:?}"
    );
    assert!(!anomalies.iter().any(|a| a["component"]
        .as_str()
        .unwrap_or_default()
        .starts_with("pbs/pbs1")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recording_replays_to_the_identical_inventory() {
    let world = World::start(sim::demo_scenario()).await;
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    let dir = world.path("rec");
    let dir_text = dir.display().to_string();
    let live = run_tool(
        &vars,
        &["--dump-inventory", "--json", "--record", &dir_text],
    )
    .await;
    assert!(live.code <= 1, "{}", live.stderr);
    let live_requests = world.requests().len();
    let replayed = run_tool(&[], &["--dump-inventory", "--json", "--replay", &dir_text]).await;
    assert_eq!(replayed.code, live.code, "{}", replayed.stderr);
    assert_eq!(replayed.stdout, live.stdout);
    assert_eq!(
        world.requests().len(),
        live_requests,
        "replay sends nothing"
    );
    assert!(dir.join("manifest.json").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redacted_recording_hides_names_and_still_replays() {
    let world = World::start(sim::demo_scenario()).await;
    let dir = world.path("redacted");
    let dir_text = dir.display().to_string();
    let live = run_tool(
        &world.pve_full(),
        &[
            "--dump-inventory",
            "--json",
            "--record",
            &dir_text,
            "--redact-names",
        ],
    )
    .await;
    assert!(live.code <= 1, "{}", live.stderr);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest JSON");
    let pve = manifest["servers"]
        .as_array()
        .and_then(|servers| servers.iter().find(|s| s["kind"] == "pve"))
        .expect("the PVE server in the manifest");
    let file = pve["file"].as_str().expect("answers file");
    // The cluster is named after its host, so the name and the file are hidden too.
    for value in [file, pve["name"].as_str().unwrap_or_default()] {
        assert!(!value.contains("127.0.0.1"), "{value} names the host");
    }
    let text = std::fs::read_to_string(dir.join(file)).expect("answers");
    for name in ["web01", "\"pve1\"", "/nodes/pve2/"] {
        assert!(!text.contains(name), "{name} is still in the recording");
    }
    let replayed = run_tool(&[], &["--dump-inventory", "--json", "--replay", &dir_text]).await;
    let json = replayed.json();
    assert_eq!(
        json["pve"][0]["guests"]["items"].as_array().map(Vec::len),
        Some(12)
    );
    assert_eq!(json["pve"][0]["nodes"]["items"][0]["name"], "node1");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_runs_with_no_configuration_at_all() {
    let run = run_tool(&[], &["--demo", "--dump-inventory"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("guests: 12 (complete)"),
        "{}",
        run.stdout
    );
    let json = run_tool(&[], &["--demo", "--dump-inventory", "--json"])
        .await
        .json();
    assert_eq!(json["collected_at"], "2026-01-15T08:00:00Z");
    // A request the collector makes but the recording lacks would show up here: regenerate the
    // demo with `cargo run --example pve-sim -- record-demo src/demo/recording`.
    assert_eq!(
        json["anomalies"],
        serde_json::json!([]),
        "the built-in demo is out of date"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn perl_typed_answers_give_the_same_inventory() {
    let plain = World::start(sim::demo_scenario()).await;
    let mut perl_scenario = sim::demo_scenario();
    perl_scenario.pve.settings.perl_strings = true;
    let perl = World::start(perl_scenario).await;
    let a = run_tool(
        &plain.pve_full(),
        &["--dump-inventory", "--json", "--now", &demo_now()],
    )
    .await
    .json();
    let b = run_tool(
        &perl.pve_full(),
        &["--dump-inventory", "--json", "--now", &demo_now()],
    )
    .await
    .json();
    for key in ["guests", "jobs", "pools", "task_history"] {
        assert_eq!(a["pve"][0][key], b["pve"][0][key], "{key}");
    }
    // Storages differ only in the simulators' loopback ports and certificates.
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        for item in v["items"].as_array_mut().into_iter().flatten() {
            if let Some(pbs) = item["pbs"].as_object_mut() {
                pbs.remove("port");
                pbs.remove("fingerprint");
            }
        }
        v
    };
    assert_eq!(
        strip(&a["pve"][0]["storages"]),
        strip(&b["pve"][0]["storages"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guests_hidden_by_missing_vm_audit_make_the_list_partial() {
    let mut scenario = sim::demo_scenario();
    scenario
        .pve
        .guests
        .push(guest(999, "pve1", Kind::Qemu).name("hidden"));
    scenario
        .pve
        .access
        .user("someguests@pve", None)
        .token(
            "someguests@pve!tok",
            "33333333-4444-4555-8666-777777777777",
            false,
        )
        .acl("/nodes", "someguests@pve", "PVEAuditor", true)
        .acl("/vms/100", "someguests@pve", "PVEAuditor", false)
        .acl("/vms/101", "someguests@pve", "PVEAuditor", false);
    let world = World::start(scenario).await;
    let vars = world.pve_token("someguests@pve!tok", "33333333-4444-4555-8666-777777777777");
    let json = run_tool(&vars, &["--dump-inventory", "--json", "--now", &demo_now()])
        .await
        .json();
    let vmids: Vec<u64> = json["pve"][0]["guests"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["vmid"].as_u64())
        .collect();
    assert_eq!(vmids, [100, 101], "the server filtered the rest silently");
    assert_eq!(json["pve"][0]["guests"]["completeness"]["state"], "partial");
    assert!(json["pve"][0]["guests"]["completeness"]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("VM.Audit"));
    let anomaly = json["anomalies"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["component"] == "pve/guests"))
        .expect("anomaly");
    assert_eq!(anomaly["severity"], "critical");
    // The two visible guests are fine, but the run must not claim "all covered": exit 3.
    let run = run_tool(&vars, &["--dump-coverage", "--now", &demo_now()]).await;
    assert_eq!(run.code, 3, "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recording_that_cannot_be_written_does_not_cost_the_output() {
    let world = World::start(sim::demo_scenario()).await;
    let blocker = world.path("not-a-directory");
    std::fs::write(&blocker, "a file where the recording folder should go").expect("write");
    let target = blocker.join("rec").display().to_string();
    let run = run_tool(
        &world.pve_full(),
        &[
            "--dump-inventory",
            "--json",
            "--now",
            &demo_now(),
            "--record",
            &target,
        ],
    )
    .await;
    assert_eq!(run.code, 1, "a warning, not a failure: {}", run.stderr);
    let json = run.json();
    assert_eq!(
        json["pve"][0]["guests"]["items"].as_array().map(Vec::len),
        Some(12)
    );
    assert!(json["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .any(|a| a["component"] == "recording"));
}

/// PVE's storage names the PBS by one address (`127.0.0.1`), the tool reaches it by another
/// (`localhost`): the certificate fingerprint both pin says it is the same server, so its
/// snapshots are the storage's evidence, exactly as when the addresses agree.
#[tokio::test(flavor = "multi_thread")]
async fn a_pbs_reached_by_another_address_is_matched_by_its_pinned_certificate() {
    let world = World::start(sim::demo_scenario()).await;
    let now = demo_now();
    let args = ["--dump-coverage", "--json", "--now", &now];
    let mut same_address = world.pve_full();
    same_address.extend(world.pbs_audit("pbs1", "PBS"));
    let expected = run_tool(&same_address, &args).await.json();

    let endpoint = world.sim.pbs("pbs1").expect("pbs1");
    let port = endpoint.host_port.rsplit(':').next().expect("port");
    let mut other_address = world.pve_full();
    other_address.extend(without(
        with(
            world.pbs_audit("pbs1", "PBS"),
            &[
                ("PBS_HOST", &format!("https://localhost:{port}")),
                ("PBS_FINGERPRINT", &endpoint.fingerprint),
            ],
        ),
        &["PBS_CA_CERT"],
    ));
    let pinned = run_tool(&other_address, &args).await.json();
    let archives = |json: &serde_json::Value| -> Vec<serde_json::Value> {
        json["guests"]
            .as_array()
            .expect("guests")
            .iter()
            .map(|g| serde_json::json!([g["vmid"], g["coverage"], g["freshness"], g["archive"]]))
            .collect()
    };
    assert!(
        archives(&expected).iter().any(|a| !a[3].is_null()),
        "the demo has PBS evidence"
    );
    assert_eq!(archives(&pinned), archives(&expected));
}
