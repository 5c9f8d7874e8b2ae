//! Issue #10: the cache of finished task logs. A second run asks PVE for no finished log again,
//! and the report is the same bytes with the cache cold, warm or off; a damaged cache file costs a
//! warning and a re-read, never a verdict.

use std::collections::BTreeSet;
use std::path::Path;

use super::sim;
use super::support::{demo_now, run_tool, with, Run, World};

/// The UPIDs whose log the simulator was asked for since the last `clear_requests`.
fn logs_read(world: &World) -> BTreeSet<String> {
    world
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/nodes/") && r.path.ends_with("/log"))
        .map(|r| r.path.clone())
        .collect()
}

/// The cache files of the run (one per server and node), as `(path, bytes)`.
fn cache_files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for server in std::fs::read_dir(dir).expect("cache dir").flatten() {
        for file in std::fs::read_dir(server.path())
            .expect("server dir")
            .flatten()
        {
            files.push((file.path(), std::fs::read(file.path()).expect("read")));
        }
    }
    files.sort();
    files
}

/// The report JSON without its anomalies, for comparing verdicts across runs that differ only
/// in a cache warning.
fn verdicts(run: &Run) -> serde_json::Value {
    let mut json = run.json();
    if let Some(map) = json.as_object_mut() {
        map.remove("anomalies");
        map.remove("summary");
        if let Some(clusters) = map.get_mut("clusters").and_then(|c| c.as_array_mut()) {
            for cluster in clusters.iter_mut().filter_map(|c| c.as_object_mut()) {
                cluster.remove("summary");
            }
        }
    }
    json
}

#[tokio::test(flavor = "multi_thread")]
async fn the_second_run_reads_no_finished_log_again_and_reports_the_same_bytes() {
    let world = World::start(sim::demo_scenario()).await;
    let cache = world.path("cache");
    let cache_dir = cache.display().to_string();
    let now = demo_now();
    let args = ["--format", "json", "--output", "-", "--now", &now];
    let cached = with(world.pve_full(), &[("PVE_CACHE_DIR", &cache_dir)]);

    let cold = run_tool(&cached, &args).await;
    assert!(cold.code <= 2, "{}", cold.stderr);
    let cold_logs = logs_read(&world);
    assert!(!cold_logs.is_empty(), "the demo has task logs");
    let files = cache_files(&cache);
    assert!(!files.is_empty(), "the cold run fills the cache");

    world.sim.clear_requests();
    let warm = run_tool(&cached, &args).await;
    let warm_logs = logs_read(&world);
    assert_eq!(warm.stdout, cold.stdout, "warm cache, same report bytes");
    assert_eq!(warm.code, cold.code);
    // Only logs that can still change (a running task, a log without its final line, or one
    // that could not be read) are asked for again.
    let inventory = run_tool(
        &cached,
        &["--dump-inventory", "--json", "--now", &now, "--no-cache"],
    )
    .await
    .json();
    let mut may_change = BTreeSet::new();
    for history in inventory["pve"][0]["task_history"]
        .as_array()
        .expect("histories")
    {
        for task in history["tasks"].as_array().expect("tasks") {
            let finished = !task["end"].is_null() && !task["status"].is_null();
            let whole = task["log"]["state"] == "parsed"
                && task["log"]["truncated"] == false
                && !task["log"]["log"]["task_end"].is_null();
            if !(finished && whole) {
                may_change.insert(task["upid"].as_str().expect("upid").to_string());
            }
        }
    }
    for path in &warm_logs {
        assert!(
            may_change.iter().any(|upid| path.contains(upid.as_str())),
            "a finished log was read again: {path}"
        );
    }
    assert!(
        warm_logs.len() < cold_logs.len(),
        "{warm_logs:?} vs {cold_logs:?}"
    );
    // Nothing new was read, so nothing was written.
    assert_eq!(cache_files(&cache), files);

    let off = run_tool(&with(world.pve_full(), &[("PVE_NO_CACHE", "1")]), &args).await;
    assert_eq!(off.stdout, cold.stdout, "no cache, same report bytes");
    let without_dir = run_tool(&world.pve_full(), &args).await;
    assert_eq!(without_dir.stdout, cold.stdout, "no HOME, no cache");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_cache_file_warns_is_rebuilt_and_changes_no_verdict() {
    let world = World::start(sim::demo_scenario()).await;
    let cache = world.path("cache");
    let cache_dir = cache.display().to_string();
    let now = demo_now();
    let args = ["--format", "json", "--output", "-", "--now", &now];
    let cached = with(world.pve_full(), &[("PVE_CACHE_DIR", &cache_dir)]);
    let cold = run_tool(&cached, &args).await;
    let good = cache_files(&cache);
    assert!(!good.is_empty());

    // One file cut in half, one overwritten with garbage, the rest left alone.
    for (index, (path, bytes)) in good.iter().enumerate() {
        match index % 2 {
            0 => std::fs::write(path, &bytes[..bytes.len() / 2]).expect("truncate"),
            _ => std::fs::write(path, b"\x00not json").expect("garble"),
        }
    }
    world.sim.clear_requests();
    let damaged = run_tool(&cached, &args).await;
    assert_eq!(verdicts(&damaged), verdicts(&cold), "same verdicts");
    let json = damaged.json();
    let warnings: Vec<&serde_json::Value> = json["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .filter(|a| a["component"] == "cache")
        .collect();
    assert_eq!(warnings.len(), good.len(), "{warnings:#?}");
    for warning in warnings {
        assert_eq!(warning["severity"], "warning");
    }
    assert!(!logs_read(&world).is_empty(), "the logs are read again");
    // Rebuilt: the files are whole again, and the next run is warm and quiet.
    assert_eq!(cache_files(&cache), good);
    let again = run_tool(&cached, &args).await;
    assert_eq!(again.stdout, cold.stdout);
}
