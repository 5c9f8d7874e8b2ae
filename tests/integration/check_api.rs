//! Issue #2: `--check-api` on a full token, on a privilege-separated token that sees nothing, on a
//! token without Sys.Audit on /, and with one endpoint failing.

use super::sim::{self, Fault};
use super::support::{run_tool, World};

fn capability<'a>(json: &'a serde_json::Value, server: usize, name: &str) -> &'a serde_json::Value {
    json["servers"][server]["capabilities"]
        .as_array()
        .and_then(|caps| caps.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no capability {name}: {json}"))
}

fn trap_ids(json: &serde_json::Value, server: usize) -> Vec<String> {
    json["servers"][server]["traps"]
        .as_array()
        .map(|traps| {
            traps
                .iter()
                .filter_map(|t| t["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_privilege_token_sees_everything() {
    let world = World::start(sim::demo_scenario()).await;
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    assert_eq!(json["problems"], 0);
    for name in ["guests", "backup_jobs", "task_history", "pools"] {
        assert_eq!(capability(&json, 0, name)["visibility"], "full", "{name}");
    }
    assert_eq!(capability(&json, 1, "datastores")["visibility"], "full");
    assert_eq!(json["servers"][0]["version"], "9.2.11");
    let text = run_tool(&vars, &["--check-api"]).await;
    assert!(
        text.stdout.contains("OK: every endpoint answered"),
        "{}",
        text.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_privilege_separated_token_without_acls_is_flagged_not_reported_as_empty() {
    let world = World::start(sim::demo_scenario()).await;
    let vars = world.pve_token("monitor@pve!empty", sim::demo::PVE_EMPTY_SECRET);
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    let json = run.json();
    // The server answers 200 with an empty guest list: the check must not call that fine.
    let resources = json["servers"][0]["probes"]
        .as_array()
        .and_then(|p| {
            p.iter()
                .find(|p| p["endpoint"] == "/cluster/resources?type=vm")
        })
        .expect("probe");
    assert_eq!(resources["status"], "ok");
    assert_eq!(resources["items"], 0);
    assert_eq!(capability(&json, 0, "guests")["visibility"], "none");
    assert!(trap_ids(&json, 0).contains(&"privsep_without_acl".to_string()));
    let text = run_tool(&vars, &["--check-api"]).await;
    assert!(text.stdout.contains("NOT VISIBLE"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("pveum acl modify / --roles PVEAuditor --tokens 'monitor@pve!empty'"),
        "{}",
        text.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_sys_audit_on_root_gets_the_backup_job_trap() {
    let mut scenario = sim::demo_scenario();
    scenario
        .pve
        .access
        .user("vmonly@pve", None)
        .token(
            "vmonly@pve!tok",
            "11111111-2222-4333-8444-555555555555",
            false,
        )
        .acl("/vms", "vmonly@pve", "PVEAuditor", true);
    let world = World::start(scenario).await;
    let vars = world.pve_token("vmonly@pve!tok", "11111111-2222-4333-8444-555555555555");
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2);
    let json = run.json();
    assert_eq!(capability(&json, 0, "guests")["visibility"], "full");
    assert_eq!(capability(&json, 0, "backup_jobs")["visibility"], "none");
    assert!(trap_ids(&json, 0).contains(&"cluster_backup_forbidden".to_string()));
    let jobs = json["servers"][0]["probes"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["endpoint"] == "/cluster/backup"))
        .expect("probe");
    assert_eq!(jobs["status"], "403");
    assert!(jobs["error"]
        .as_str()
        .unwrap_or_default()
        .contains("Permission check failed (/, Sys.Audit)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failing_endpoint_does_not_hide_the_others() {
    let world = World::start(sim::demo_scenario()).await;
    world.sim.set_fault(
        "pve",
        "/cluster/backup-info",
        Fault::Status {
            code: 500,
            message: "internal error".into(),
        },
    );
    let run = run_tool(&world.pve_full(), &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2);
    let json = run.json();
    let probes = json["servers"][0]["probes"].as_array().expect("probes");
    let failed: Vec<_> = probes
        .iter()
        .filter(|p| p["status"] != "ok")
        .map(|p| p["endpoint"].clone())
        .collect();
    assert_eq!(
        failed,
        vec![serde_json::json!("/cluster/backup-info/not-backed-up")]
    );
    assert!(probes.len() >= 15, "every other endpoint was still tried");
    assert_eq!(json["problems"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pbs_token_with_only_backup_privileges_is_partial() {
    let world = World::start(sim::demo_scenario()).await;
    let vars = vec![
        (
            "PBS_HOST".to_string(),
            world.sim.pbs("pbs1").expect("pbs").url.clone(),
        ),
        ("PBS_API_TOKEN_ID".to_string(), "pve@pbs!backup".to_string()),
        (
            "PBS_API_TOKEN_SECRET".to_string(),
            sim::demo::PBS_BACKUP_SECRET.to_string(),
        ),
        ("PBS_CA_CERT".to_string(), world.pbs_ca("pbs1")),
    ];
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    let json = run.json();
    assert_eq!(capability(&json, 0, "datastores")["visibility"], "partial");
    assert!(capability(&json, 0, "datastores")["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("owns"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_probe_asks_the_backup_job_list_where_pve_backup_jobs_endpoint_points() {
    let world = World::start(sim::demo_scenario()).await;
    let mut vars = world.pve_full();
    vars.push((
        "PVE_BACKUP_JOBS_ENDPOINT".to_string(),
        "/api2/json/cluster/backup-moved/".to_string(),
    ));
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    let json = run.json();
    let probes = json["servers"][0]["probes"].as_array().expect("probes");
    let endpoints: Vec<&str> = probes
        .iter()
        .filter_map(|p| p["endpoint"].as_str())
        .collect();
    assert!(
        !endpoints.contains(&"/cluster/backup"),
        "the default list must not be asked: {endpoints:?}"
    );
    let jobs = probes
        .iter()
        .find(|p| p["endpoint"] == "/cluster/backup-moved")
        .unwrap_or_else(|| panic!("no probe of the moved list: {endpoints:?}"));
    // The simulator does not serve the moved path: a failure that says nothing about privileges.
    assert_eq!(jobs["status"], "501");
    assert_eq!(jobs["purpose"], "backup jobs");
    let cap = capability(&json, 0, "backup_jobs");
    assert_eq!(cap["visibility"], "unknown");
    assert!(cap["detail"]
        .as_str()
        .unwrap_or_default()
        .starts_with("GET /cluster/backup-moved failed"));
    assert!(!trap_ids(&json, 0).contains(&"cluster_backup_forbidden".to_string()));
    let text = run_tool(&vars, &["--check-api"]).await;
    assert!(
        text.stdout.contains("GET /cluster/backup-moved "),
        "{}",
        text.stdout
    );
}

/// The sync-job probe row names the request that was answered: `?sync-direction=all` on PBS 3.3+,
/// the parameterless list on an older PBS that answers 400 to the parameter.
#[tokio::test(flavor = "multi_thread")]
async fn the_sync_probe_names_the_request_that_was_answered() {
    for (version, want) in [
        ("3.2", "/admin/sync"),
        ("3.3", "/admin/sync?sync-direction=all"),
    ] {
        let mut scenario = sim::demo_scenario();
        scenario.pbs[0].version = version.into();
        let world = World::start(scenario).await;
        let mut vars = world.pve_full();
        vars.extend(world.pbs_audit("pbs1", "PBS"));
        let run = run_tool(&vars, &["--check-api", "--json"]).await;
        let json = run.json();
        let probes = json["servers"][1]["probes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let sync: Vec<&serde_json::Value> = probes
            .iter()
            .filter(|p| {
                p["endpoint"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("/admin/sync"))
            })
            .collect();
        assert_eq!(sync.len(), 1, "PBS {version}: {probes:?}");
        assert_eq!(sync[0]["endpoint"], want, "PBS {version}: {:?}", sync[0]);
        assert_eq!(sync[0]["status"], "ok", "PBS {version}: {:?}", sync[0]);
        // The simulator saw the 400 and the second request on the old version only.
        let asked: Vec<Vec<(String, String)>> = world
            .requests()
            .into_iter()
            .filter(|r| r.server == "pbs1" && r.path == "/admin/sync")
            .map(|r| r.query)
            .collect();
        let want_asked = if version == "3.2" { 2 } else { 1 };
        assert_eq!(asked.len(), want_asked, "PBS {version}: {asked:?}");
    }
}
