//! The PVE/PBS simulator as a program, for demos, benchmarks and regenerating the built-in demo.
//!
//! ```text
//! cargo run --example pve-sim                      # serve the demo scenario until killed
//! cargo run --example pve-sim -- --dir /tmp/sim    # ... writing its settings into /tmp/sim
//! cargo run --example pve-sim -- --frozen          # ... frozen at the tests' DEMO_NOW
//! cargo run --example pve-sim -- large 10 5000     # serve a generated cluster
//! cargo run --example pve-sim -- scenario.json     # serve a scenario file
//! cargo run --example pve-sim -- run demo -- --check-api          # start, run the tool in-process, stop
//! cargo run --release --example pve-sim -- run large 10 5000 -- --dump-inventory --json
//! cargo run --example pve-sim -- record-demo src/demo/recording   # regenerate the --demo data
//! ```
//! The demo scenario is served as of the wall clock (its times and schedules shifted so "now" is
//! now: guests come out fresh); `--frozen` serves it at the fixed `DEMO_NOW` the tests and the
//! built-in recording use (then run the tool with `--now 2026-01-15T08:00:00Z`). While serving,
//! the connection settings (`pve-sim.env`) and CA files are written into the directory given with
//! `--dir`, by default `$TMPDIR/pve-sim-<pid>`: a second simulator never overwrites the first's.

#[path = "../tests/support/sim/mod.rs"]
mod sim;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use pve_backup_report::cli::Cli;
use pve_backup_report::config::Config;

/// Simulator options taken out of the arguments: `--frozen` and `--dir DIR`.
struct Options {
    frozen: bool,
    dir: Option<PathBuf>,
}

fn take_options(args: &mut Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        frozen: false,
        dir: None,
    };
    // Only before a `--`: what follows belongs to the tool.
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let mut i = 0;
    let mut kept = Vec::new();
    while i < end {
        match args[i].as_str() {
            "--frozen" => options.frozen = true,
            "--dir" => {
                i += 1;
                let dir = args
                    .get(i)
                    .filter(|_| i < end)
                    .ok_or("--dir needs a directory")?;
                options.dir = Some(PathBuf::from(dir));
            }
            _ => kept.push(args[i].clone()),
        }
        i += 1;
    }
    kept.extend(args.drain(end..));
    *args = kept;
    Ok(options)
}

fn demo(frozen: bool) -> sim::Scenario {
    if frozen {
        sim::demo_scenario()
    } else {
        sim::demo::demo_scenario_live(chrono::Utc::now().timestamp())
    }
}

fn scenario_from(args: &[String], frozen: bool) -> std::io::Result<(sim::Scenario, usize)> {
    Ok(match args.first().map(String::as_str) {
        None | Some("demo") => (demo(frozen), 1),
        Some("large") => {
            let nodes = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
            let guests = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5000);
            (sim::generator::large_cluster(nodes, guests, 42), 3)
        }
        Some(path) => (sim::Scenario::from_json_file(Path::new(path))?, 1),
    })
}

/// Connection settings for the tool: PVE with the full-visibility token, every PBS with the audit token.
fn settings(
    handle: &sim::SimHandle,
    pbs_names: &[String],
    dir: &Path,
) -> std::io::Result<Vec<(String, String)>> {
    let pve = handle.pve();
    let pve_ca = dir.join("pve-sim-pve-ca.pem");
    std::fs::write(&pve_ca, &pve.ca_pem)?;
    let mut vars = vec![
        ("PVE_HOST".to_string(), pve.url.clone()),
        (
            "PVE_API_TOKEN_ID".to_string(),
            "monitor@pve!full".to_string(),
        ),
        (
            "PVE_API_TOKEN_SECRET".to_string(),
            sim::demo::PVE_FULL_SECRET.to_string(),
        ),
        ("PVE_CA_CERT".to_string(), pve_ca.display().to_string()),
    ];
    for (index, name) in pbs_names.iter().enumerate() {
        let Some(endpoint) = handle.pbs(name) else {
            continue;
        };
        let ca = dir.join(format!("pve-sim-{name}-ca.pem"));
        std::fs::write(&ca, &endpoint.ca_pem)?;
        let prefix = if index == 0 {
            "PBS".to_string()
        } else {
            format!("PBS{index:02}")
        };
        // The demo's PBS is called "backup" in reports (file pbs-backup.jsonl of the built-in demo).
        let display = if index == 0 {
            "backup".to_string()
        } else {
            name.clone()
        };
        vars.push((format!("{prefix}_HOST"), endpoint.url.clone()));
        vars.push((format!("{prefix}_NAME"), display));
        vars.push((
            format!("{prefix}_API_TOKEN_ID"),
            "monitor@pbs!audit".to_string(),
        ));
        vars.push((
            format!("{prefix}_API_TOKEN_SECRET"),
            sim::demo::PBS_AUDIT_SECRET.to_string(),
        ));
        vars.push((format!("{prefix}_CA_CERT"), ca.display().to_string()));
    }
    Ok(vars)
}

/// Build the tool's configuration from the settings plus user arguments, without touching the
/// process environment.
fn tool_config(vars: &[(String, String)], user_args: &[String]) -> Result<Config, String> {
    let mut args = vec!["pve-backup-report".to_string()];
    let mut env = BTreeMap::new();
    for (key, value) in vars {
        let flag = match key.as_str() {
            "PVE_HOST" => Some("--pve-host"),
            "PVE_NAME" => Some("--pve-name"),
            "PVE_API_TOKEN_ID" => Some("--pve-token-id"),
            "PVE_API_TOKEN_SECRET" => Some("--pve-token-secret"),
            "PVE_CA_CERT" => Some("--pve-ca-cert"),
            "PBS_HOST" => Some("--pbs-host"),
            "PBS_NAME" => Some("--pbs-name"),
            "PBS_API_TOKEN_ID" => Some("--pbs-token-id"),
            "PBS_API_TOKEN_SECRET" => Some("--pbs-token-secret"),
            "PBS_CA_CERT" => Some("--pbs-ca-cert"),
            _ => None,
        };
        match flag {
            Some(flag) => {
                args.push(flag.to_string());
                args.push(value.clone());
            }
            None => {
                env.insert(key.clone(), value.clone());
            }
        }
    }
    args.extend(user_args.iter().cloned());
    let cli = Cli::try_parse_from(&args).map_err(|e| e.to_string())?;
    Config::resolve(&cli, &env).map_err(|e| e.to_string())
}

/// Give the recorded demo stable, realistic host names instead of loopback ports.
fn tidy_demo_recording(
    dir: &Path,
    handle: &sim::SimHandle,
    pbs_names: &[String],
) -> std::io::Result<()> {
    let mut replacements = vec![(
        handle.pve().host_port.clone(),
        "pve1.example.com:8006".to_string(),
    )];
    for name in pbs_names {
        if let Some(endpoint) = handle.pbs(name) {
            let port = endpoint
                .host_port
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string();
            replacements.push((
                endpoint.host_port.clone(),
                "pbs.example.com:8007".to_string(),
            ));
            replacements.push((format!("\"port\":{port}"), "\"port\":8007".to_string()));
        }
    }
    replacements.push(("127.0.0.1".to_string(), "pbs.example.com".to_string()));
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let mut text = std::fs::read_to_string(&path)?;
        for (from, to) in &replacements {
            text = text.replace(from.as_str(), to);
        }
        std::fs::write(&path, text)?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let options = take_options(&mut args)?;
    let dir = match &options.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("pve-sim-{}", std::process::id())),
    };
    match args.first().map(String::as_str) {
        Some("record-demo") => {
            let dir = PathBuf::from(args.get(1).ok_or("usage: pve-sim record-demo DIR")?);
            let scenario = sim::demo_scenario();
            let pbs_names: Vec<String> = scenario.pbs.iter().map(|p| p.name.clone()).collect();
            let handle = sim::start(scenario).await?;
            let ca_dir = tempfile::tempdir()?;
            let mut vars = settings(&handle, &pbs_names, ca_dir.path())?;
            // What the cluster would be called on a real host: its host name, not the loopback.
            vars.push(("PVE_NAME".to_string(), "pve1.example.com".to_string()));
            let now =
                chrono::DateTime::from_timestamp(sim::demo::DEMO_NOW, 0).ok_or("bad DEMO_NOW")?;
            let user_args = vec![
                "--dump-inventory".into(),
                "--record".into(),
                dir.display().to_string(),
                "--now".into(),
                now.to_rfc3339(),
            ];
            let config = tool_config(&vars, &user_args)?;
            let inventory = pve_backup_report::gather(&config).await?;
            tidy_demo_recording(&dir, &handle, &pbs_names)?;
            eprintln!(
                "demo recorded into {} ({} anomalies)",
                dir.display(),
                inventory.anomalies.len()
            );
            handle.shutdown().await;
        }
        Some("run") => {
            let split = args.iter().position(|a| a == "--").unwrap_or(args.len());
            let (scenario, _) = scenario_from(&args[1..split], options.frozen)?;
            let user_args: Vec<String> = args
                .get(split + 1..)
                .map(<[String]>::to_vec)
                .unwrap_or_default();
            let pbs_names: Vec<String> = scenario.pbs.iter().map(|p| p.name.clone()).collect();
            let started = Instant::now();
            let handle = sim::start(scenario).await?;
            eprintln!("simulator ready in {:.2?}", started.elapsed());
            std::fs::create_dir_all(&dir)?;
            let vars = settings(&handle, &pbs_names, &dir)?;
            let config = tool_config(&vars, &user_args)?;
            let started = Instant::now();
            let status = match pve_backup_report::run(config).await {
                Ok(outcome) => outcome.status,
                Err(err) => {
                    eprintln!("{} {err}", pve_backup_report::ERROR_PREFIX);
                    err.status()
                }
            };
            eprintln!(
                "pve-backup-report finished in {:.2?} with exit code {}",
                started.elapsed(),
                status.code()
            );
            let requests = handle.requests().len();
            eprintln!("the simulator answered {requests} requests");
            handle.shutdown().await;
            std::process::exit(i32::from(status.code()));
        }
        _ => {
            let (scenario, _) = scenario_from(&args, options.frozen)?;
            let pbs_names: Vec<String> = scenario.pbs.iter().map(|p| p.name.clone()).collect();
            let handle = sim::start(scenario).await?;
            std::fs::create_dir_all(&dir)?;
            let vars = settings(&handle, &pbs_names, &dir)?;
            let env_path = dir.join("pve-sim.env");
            let text: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
            std::fs::write(&env_path, text)?;
            println!(
                "PVE  {}  fingerprint {}",
                handle.pve().url,
                handle.pve().fingerprint
            );
            for name in &pbs_names {
                if let Some(endpoint) = handle.pbs(name) {
                    println!(
                        "PBS {name}  {}  fingerprint {}",
                        endpoint.url, endpoint.fingerprint
                    );
                }
            }
            println!(
                "settings written to {}: pve-backup-report --env-file {} --check-api",
                env_path.display(),
                env_path.display()
            );
            std::future::pending::<()>().await;
        }
    }
    Ok(())
}
