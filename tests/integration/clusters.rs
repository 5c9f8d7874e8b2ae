//! Several PVE clusters in one report (issue #11 item 3): two simulated clusters, each with its
//! own PBS, read in one run. Each cluster's verdicts equal those of a run over that cluster
//! alone; guests, jobs and anomalies say whose they are; one cluster that cannot be reached is an
//! anomaly of that cluster while the other still reports.

use std::collections::BTreeMap;

use super::sim;
use super::support::{demo_now, run_tool, with, Run, World};

/// `PVE_…` variables of `world`'s full token, as the numbered block `prefix` named `name`.
fn pve_block(world: &World, prefix: &str, name: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = world
        .pve_full()
        .into_iter()
        .map(|(k, v)| (k.replacen("PVE", prefix, 1), v))
        .collect();
    vars.push((format!("{prefix}_NAME"), name.to_string()));
    vars
}

/// `world`'s PBS as the numbered block `prefix` named `name`.
fn pbs_block(world: &World, prefix: &str, name: &str) -> Vec<(String, String)> {
    with(
        world.pbs_audit("pbs1", prefix),
        &[(&format!("{prefix}_NAME"), name)],
    )
}

/// (cluster, vmid) → (coverage, freshness, offsite, archive namespace) of a JSON report.
fn verdicts(run: &Run) -> BTreeMap<(String, u64), (String, String, String)> {
    run.json()["guests"]
        .as_array()
        .expect("guests")
        .iter()
        .map(|g| {
            (
                (
                    g["cluster"].as_str().unwrap_or_default().to_string(),
                    g["vmid"].as_u64().unwrap_or_default(),
                ),
                (
                    g["coverage"].as_str().unwrap_or_default().to_string(),
                    g["freshness"].as_str().unwrap_or_default().to_string(),
                    g["missed_runs"].to_string(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_clusters_report_together_as_each_does_alone() {
    let prod = World::start(sim::demo_scenario()).await;
    let lab = World::start(sim::healthy_scenario()).await;
    let now = demo_now();
    let args = ["--format", "json", "--output", "-", "--now", &now];

    let mut both = pve_block(&prod, "PVE01", "prod");
    both.extend(pve_block(&lab, "PVE02", "lab"));
    both.extend(pbs_block(&prod, "PBS01", "backup-prod"));
    both.extend(pbs_block(&lab, "PBS02", "backup-lab"));
    let together = run_tool(&both, &args).await;
    assert!(
        together.code >= 1,
        "the demo has problems: {}",
        together.stderr
    );

    let mut prod_alone = pve_block(&prod, "PVE01", "prod");
    prod_alone.extend(pbs_block(&prod, "PBS01", "backup-prod"));
    let mut lab_alone = pve_block(&lab, "PVE02", "lab");
    lab_alone.extend(pbs_block(&lab, "PBS02", "backup-lab"));
    let mut alone = verdicts(&run_tool(&prod_alone, &args).await);
    alone.extend(verdicts(&run_tool(&lab_alone, &args).await));
    assert_eq!(verdicts(&together), alone, "each cluster judged as alone");

    let json = together.json();
    assert_eq!(json["schema_version"], 3);
    let clusters: Vec<(&str, u64)> = json["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default(),
                c["summary"]["guests"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let count = |name: &str| alone.keys().filter(|(c, _)| c == name).count() as u64;
    assert_eq!(clusters, [("lab", count("lab")), ("prod", count("prod"))]);
    assert_eq!(
        json["summary"]["guests"].as_u64(),
        Some(count("lab") + count("prod"))
    );
    // The same VMID lives in both clusters and stays two guests.
    assert!(alone.contains_key(&("lab".into(), 100)) && alone.contains_key(&("prod".into(), 100)));
    let jobs: Vec<String> = json["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            format!(
                "{}/{}",
                j["cluster"].as_str().unwrap_or("?"),
                j["id"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert!(
        jobs.iter().any(|j| j == "prod/backup-all-nightly"),
        "{jobs:?}"
    );
    assert!(jobs.iter().any(|j| j.starts_with("lab/")), "{jobs:?}");
    // People read `cluster · node` (and `cluster · job`): node and job names repeat.
    let md = run_tool(&both, &["--format", "md", "--output", "-", "--now", &now]).await;
    for needle in [
        "Clusters: lab (PVE",
        "| lab · pve1 |",
        "| prod · pve1 |",
        "prod · backup-all-nightly",
    ] {
        assert!(
            md.stdout.contains(needle),
            "{needle} missing:\n{}",
            md.stdout
        );
    }
    // Each cluster's own anomalies carry its name.
    assert!(
        json["anomalies"]
            .as_array()
            .expect("anomalies")
            .iter()
            .any(|a| a["component"]
                .as_str()
                .is_some_and(|c| c.starts_with("prod/"))),
        "{}",
        json["anomalies"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_cluster_is_its_anomaly_and_the_other_still_reports() {
    let prod = World::start(sim::demo_scenario()).await;
    let lab = World::start(sim::healthy_scenario()).await;
    let now = demo_now();
    let out = prod.path("out");
    let prom = prod.path("metrics.prom");
    let out_arg = out.display().to_string();
    let prom_arg = prom.display().to_string();

    let mut vars = pve_block(&lab, "PVE02", "lab");
    vars.extend(pbs_block(&lab, "PBS02", "backup-lab"));
    let lab_alone =
        verdicts(&run_tool(&vars, &["--format", "json", "--output", "-", "--now", &now]).await);
    // prod: a port nothing listens on.
    vars.extend(with(
        pve_block(&prod, "PVE01", "prod"),
        &[("PVE01_HOST", "https://127.0.0.1:9")],
    ));
    let run = run_tool(
        &vars,
        &[
            "--now",
            &now,
            "--output",
            &out_arg,
            "--format",
            "json,html",
            "--prom-file",
            &prom_arg,
        ],
    )
    .await;
    assert_eq!(
        run.code, 3,
        "an unreadable cluster is unknown: {}",
        run.stderr
    );

    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("pve-backup-report-latest.json")).expect("report"),
    )
    .expect("JSON");
    let report = Run {
        code: 0,
        stdout: json.to_string(),
        stderr: String::new(),
    };
    assert_eq!(verdicts(&report), lab_alone, "lab reports as alone");
    let critical: Vec<&str> = json["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .filter(|a| a["severity"] == "critical")
        .filter_map(|a| a["component"].as_str())
        .collect();
    assert!(
        !critical.is_empty() && critical.iter().all(|c| c.starts_with("prod/")),
        "{critical:?}"
    );
    assert!(
        json["evidence"]["incomplete"]
            .as_array()
            .expect("incomplete")
            .iter()
            .any(|l| l
                .as_str()
                .is_some_and(|l| l.starts_with("prod: PVE nodes unavailable"))),
        "{}",
        json["evidence"]["incomplete"]
    );
    let html = std::fs::read_to_string(out.join("pve-backup-report-latest.html")).expect("html");
    assert!(
        html.contains("<strong>Collection was incomplete</strong>"),
        "one cluster still reports"
    );
    assert!(
        html.contains("Clusters: lab (PVE"),
        "the header names both clusters"
    );
    assert!(html.contains("prod (PVE version unknown, 0 guests)"));

    let metrics = std::fs::read_to_string(&prom).expect("prom file");
    let lab_guests = lab_alone.len();
    assert!(
        metrics.contains(&format!(
            "\npve_backup_report_guests{{cluster=\"lab\"}} {lab_guests}\n"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("\npve_backup_report_guests{cluster=\"prod\"} 0\n"),
        "{metrics}"
    );
    assert!(metrics.contains("pve_backup_report_collection_complete{cluster=\"lab,prod\"} 0"));
}
