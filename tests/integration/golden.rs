//! Golden outputs: every mode's output on the demo and on simulator scenarios, pinned byte for byte
//! (after replacing what differs between runs: ports, temp paths, latencies, the run's duration).
//!
//! These snapshots are the proof that a refactor changed nothing a user sees. A change that is
//! meant to alter an output updates its snapshot in the same commit and says why.

use std::path::Path;

use super::sim::{self, Fault};
use super::support::{demo_now, run_tool, with, World};

/// The modes whose stdout is compared, plus the report files of a default run.
const MODES: &[(&str, &[&str])] = &[
    ("inventory", &["--dump-inventory"]),
    ("inventory_json", &["--dump-inventory", "--json"]),
    ("coverage", &["--dump-coverage"]),
    ("coverage_json", &["--dump-coverage", "--json"]),
    ("report_data", &["--dump-report-data"]),
    ("check", &["--check-api"]),
    ("check_json", &["--check-api", "--json"]),
];

/// Replace what legitimately differs between two runs of the same input.
fn normalize(text: &str, world: Option<&World>, out_dir: &Path) -> String {
    let mut text = text.replace(&out_dir.display().to_string(), "<OUT>");
    if let Some(world) = world {
        text = text.replace(&world.dir.path().display().to_string(), "<TMP>");
        text = text.replace(&world.sim.pve().host_port, "<PVE>");
        for name in &world.pbs_names {
            if let Some(pbs) = world.sim.pbs(name) {
                text = text.replace(&pbs.host_port, &format!("<PBS-{name}>"));
                text = text.replace(&pbs.fingerprint, &format!("<FP-{name}>"));
                text = text.replace(
                    &pbs.fingerprint.to_ascii_lowercase(),
                    &format!("<FP-{name}>"),
                );
                if let Some((_, port)) = pbs.host_port.rsplit_once(':') {
                    text = text.replace(&format!("\"port\": {port}"), "\"port\": <PORT>");
                }
            }
        }
    }
    text.lines().map(mask_timing).collect::<Vec<_>>().join("\n")
}

/// Latencies and the run's own duration vary from run to run.
fn mask_timing(line: &str) -> String {
    if let Some(index) = line.find("\"latency_ms\": ") {
        return format!("{}\"latency_ms\": <MS>,", &line[..index]);
    }
    if line.starts_with("pve_backup_report_duration_seconds") {
        if let Some((series, _)) = line.rsplit_once(' ') {
            return format!("{series} <S>");
        }
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    // The text check output prints latencies as "<n> ms".
    while let Some(index) = rest.find(" ms") {
        let head = &rest[..index];
        let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            // Right-aligned columns: the padding depends on the number's width.
            out.push_str(head[..head.len() - digits].trim_end());
            out.push_str(" <N>");
        } else {
            out.push_str(head);
        }
        out.push_str(" ms");
        rest = &rest[index + 3..];
    }
    out.push_str(rest);
    out
}

/// Run every mode plus a report into files, and pin each output.
async fn pin_all(case: &str, world: Option<&World>, vars: &[(String, String)], base: &[&str]) {
    let out = tempfile::tempdir().expect("out dir");
    for (mode, args) in MODES {
        if world.is_none() && mode.starts_with("check") {
            continue;
        }
        let mut all: Vec<&str> = base.to_vec();
        all.extend_from_slice(args);
        let run = run_tool(vars, &all).await;
        let text = format!(
            "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
            run.code,
            normalize(&run.stdout, world, out.path()),
            normalize(&run.stderr, world, out.path())
        );
        insta::assert_snapshot!(format!("{case}__{mode}"), text);
    }
    let dir = out.path().join("reports");
    let dir_arg = dir.display().to_string();
    let mut all: Vec<&str> = base.to_vec();
    all.extend_from_slice(&["--output", &dir_arg, "--format", "html,md,json,prom"]);
    let run = run_tool(vars, &all).await;
    insta::assert_snapshot!(
        format!("{case}__report_run"),
        format!(
            "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
            run.code,
            normalize(&run.stdout, world, out.path()),
            normalize(&run.stderr, world, out.path())
        )
    );
    for extension in ["html", "md", "json", "prom"] {
        let path = dir.join(format!("pve-backup-report-latest.{extension}"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| format!("(missing: {e})"));
        insta::assert_snapshot!(
            format!("{case}__file_{extension}"),
            normalize(&text, world, out.path())
        );
    }
}

fn full_vars(world: &World) -> Vec<(String, String)> {
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit(sim::demo::DEMO_PBS, "PBS"));
    vars
}

#[tokio::test(flavor = "multi_thread")]
async fn golden_demo_offline() {
    pin_all("demo", None, &[], &["--demo"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn golden_simulated_demo_full_token() {
    let world = World::start(sim::demo_scenario()).await;
    let now = demo_now();
    pin_all(
        "sim_full",
        Some(&world),
        &full_vars(&world),
        &["--now", &now],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn golden_simulated_demo_restricted_tokens() {
    let world = World::start(sim::demo_scenario()).await;
    let now = demo_now();
    let empty = world.pve_token("monitor@pve!empty", sim::demo::PVE_EMPTY_SECRET);
    pin_all("sim_empty", Some(&world), &empty, &["--now", &now]).await;
    let mut ops = world.pve_token("backup@pve!ops", sim::demo::PVE_OPS_SECRET);
    ops.extend(with(
        world.pbs_audit(sim::demo::DEMO_PBS, "PBS"),
        &[
            ("PBS_API_TOKEN_ID", "monitor@pbs!nothing"),
            ("PBS_API_TOKEN_SECRET", sim::demo::PBS_NOTHING_SECRET),
        ],
    ));
    pin_all("sim_ops", Some(&world), &ops, &["--now", &now]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn golden_simulated_demo_with_faults() {
    let world = World::start(sim::demo_scenario()).await;
    let now = demo_now();
    world.sim.set_fault(
        "pve",
        "/cluster/backup-info",
        Fault::Status {
            code: 500,
            message: "internal error".into(),
        },
    );
    world
        .sim
        .set_fault("pbs1", "/admin/datastore", Fault::InvalidJson);
    world.sim.set_fault(
        "pve",
        "/pools",
        Fault::Status {
            code: 403,
            message: "Permission check failed (/pool, Pool.Audit)".into(),
        },
    );
    pin_all(
        "sim_faults",
        Some(&world),
        &full_vars(&world),
        &["--now", &now],
    )
    .await;
}
