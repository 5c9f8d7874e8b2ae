//! Issue #10 item 2: no config request per guest by default. Disk exclusions come from one
//! `included_volumes` tree per job; a guest's config (for its notes) is read only when its verdict
//! is not healthy, or for every guest with `--notes all`. Either way the report is the same bytes,
//! and a tree that cannot be read never means "every disk included".

use std::collections::BTreeSet;

use super::sim::{self, Fault, FaultRule, RecordedRequest};
use super::support::{demo_now, run_tool, with, Run, World};

/// VMIDs whose config the client asked for, each as often as it was asked.
fn configs_read(requests: &[RecordedRequest]) -> Vec<u64> {
    let mut vmids: Vec<u64> = requests
        .iter()
        .filter(|r| r.server == "pve")
        .filter_map(|r| {
            let segs: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
            match segs.as_slice() {
                ["nodes", _, "qemu" | "lxc", vmid, "config"] => vmid.parse().ok(),
                _ => None,
            }
        })
        .collect();
    vmids.sort_unstable();
    vmids
}

fn trees_read(requests: &[RecordedRequest]) -> usize {
    requests
        .iter()
        .filter(|r| r.path.ends_with("/included_volumes"))
        .count()
}

/// `(vmid, coverage, freshness)` of every guest of a JSON report.
fn verdicts(run: &Run) -> Vec<(u64, String, String)> {
    run.json()["guests"]
        .as_array()
        .expect("guests")
        .iter()
        .map(|g| {
            (
                g["vmid"].as_u64().expect("vmid"),
                g["coverage"].as_str().expect("coverage").to_string(),
                g["freshness"].as_str().expect("freshness").to_string(),
            )
        })
        .collect()
}

fn unhealthy(run: &Run) -> Vec<u64> {
    verdicts(run)
        .into_iter()
        .filter(|(_, c, f)| c != "covered" || f != "ok")
        .map(|(vmid, _, _)| vmid)
        .collect()
}

fn anomalies(run: &Run) -> String {
    run.json()["anomalies"].to_string()
}

async fn report(world: &World, vars: &[(String, String)], extra: &[&str]) -> (Run, Vec<u64>) {
    world.sim.clear_requests();
    let now = demo_now();
    let mut args = vec!["--format", "json", "--output", "-", "--now", &now];
    args.extend_from_slice(extra);
    let run = run_tool(vars, &args).await;
    assert!(run.code <= 3, "{}", run.stderr);
    (run, configs_read(&world.requests()))
}

#[tokio::test(flavor = "multi_thread")]
async fn on_demand_reads_only_unhealthy_guests_configs_and_reports_the_same_bytes() {
    let world = World::start(sim::demo_scenario()).await;
    let vars = world.pve_full();
    let guests = sim::demo_scenario().pve.guests.len();

    let (all, all_configs) = report(&world, &vars, &["--notes", "all"]).await;
    assert_eq!(
        all_configs.len(),
        guests,
        "--notes all: one config per guest"
    );

    let (on_demand, configs) = report(&world, &vars, &[]).await;
    assert_eq!(on_demand.stdout, all.stdout, "same report bytes");
    let jobs = sim::demo_scenario().pve.backup_jobs.len();
    assert_eq!(trees_read(&world.requests()), jobs, "one tree per job");

    // Exactly the guests that are not covered and fresh, each once: the demo's uncovered guests
    // are in no tree (their first-pass read), the others are read in the second pass.
    let wanted = unhealthy(&on_demand);
    assert!(
        wanted.len() < guests,
        "the demo has healthy guests: {wanted:?}"
    );
    assert_eq!(configs, wanted, "no config request for a healthy guest");

    // The same with a token that sees less (PVEVMUser on /vms: configs, no Sys.Audit on /).
    let ops = world.pve_token("backup@pve!ops", sim::demo::PVE_OPS_SECRET);
    let (ops_all, _) = report(&world, &ops, &["--notes", "all"]).await;
    let (ops_on_demand, _) = report(&world, &ops, &[]).await;
    assert_eq!(
        ops_on_demand.stdout, ops_all.stdout,
        "restricted token: same bytes"
    );

    // PVE_NOTES is the same switch.
    let (env_all, env_configs) = report(&world, &with(vars, &[("PVE_NOTES", "all")]), &[]).await;
    assert_eq!(env_all.stdout, all.stdout);
    assert_eq!(env_configs.len(), guests);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_can_ask_for_every_guests_notes() {
    let world = World::start(sim::demo_scenario()).await;
    let policy = world.path("policy.json");
    std::fs::write(&policy, r#"{"read_all_notes": true}"#).expect("policy");
    let policy = policy.display().to_string();
    let (_, configs) = report(&world, &world.pve_full(), &["--policy", &policy]).await;
    assert_eq!(configs.len(), sim::demo_scenario().pve.guests.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tree_that_cannot_be_read_falls_back_to_the_configs_never_to_all_included() {
    let world = World::start(sim::demo_scenario()).await;
    let vars = world.pve_full();
    let (clean, clean_configs) = report(&world, &vars, &[]).await;

    for fault in [Fault::Forbidden, Fault::InvalidJson, Fault::WrongScalars] {
        world.sim.clear_faults();
        world.sim.add_fault(FaultRule::pattern(
            "pve",
            "/cluster/backup/*/included_volumes",
            fault.clone(),
        ));
        let (run, configs) = report(&world, &vars, &[]).await;
        assert_eq!(verdicts(&run), verdicts(&clean), "{fault:?}: same verdicts");
        assert!(
            configs.len() > clean_configs.len(),
            "{fault:?}: every guest's config is read instead: {configs:?}"
        );
        assert!(
            anomalies(&run).contains("included_volumes"),
            "{fault:?}: an anomaly names the endpoint: {}",
            anomalies(&run)
        );
    }

    // Neither a tree nor a config: the disks are unknown, so no guest is called covered (VM 100
    // has a backup=0 disk that only the config or the tree shows).
    world.sim.clear_faults();
    world.sim.add_fault(FaultRule::pattern(
        "pve",
        "/cluster/backup/*/included_volumes",
        Fault::Forbidden,
    ));
    world.sim.add_fault(FaultRule::pattern(
        "pve",
        "/nodes/*/qemu/*/config",
        Fault::Forbidden,
    ));
    world.sim.add_fault(FaultRule::pattern(
        "pve",
        "/nodes/*/lxc/*/config",
        Fault::Forbidden,
    ));
    let (run, _) = report(&world, &vars, &[]).await;
    let covered: BTreeSet<u64> = verdicts(&run)
        .into_iter()
        .filter(|(_, c, _)| c == "covered")
        .map(|(vmid, _, _)| vmid)
        .collect();
    assert!(
        covered.is_empty(),
        "covered without knowing the disks: {covered:?}"
    );
    // A task log can still show an exclusion (then `partial`); otherwise unknown disks make a
    // selected guest indeterminate.
    for ((vmid, before, _), (_, after, _)) in verdicts(&clean).iter().zip(verdicts(&run).iter()) {
        if before == "covered" || before == "partial" {
            assert!(
                after == "indeterminate" || after == "partial",
                "guest {vmid}: {before} -> {after}"
            );
        }
    }
}
