//! A benchmark you can rerun (issue #10): a generated cluster in the simulator, every answer
//! delayed, the tool run twice as a child process — first with a cold task-log cache, then warm —
//! and for each run the wall time, the requests by kind, the peak RSS and the CPU time.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench-cluster
//! cargo run --release --example bench-cluster -- --nodes 20 --guests 5000 --latency-ms 20
//! cargo run --release --example bench-cluster -- --no-cache      # both runs without the cache
//! ```
//! The default size (10 nodes, 2 000 guests, 20 ms per answer) runs in well under a minute on two
//! cores; `--nodes 20 --guests 5000` is the issue's cluster size (with the generator's 14 nights of
//! history); add `--nights 60 --snapshots-per-guest 24 --jobs 40` for its history and jobs (60
//! nights of tasks, of which the report reads its 14-day window; ~134 000 PBS snapshots, as a
//! prune would keep; 40 jobs: the generator's 5, a weekly one per node, weekly VMID lists).
//! The tool is the `pve-backup-report` binary beside this example (`--bin PATH` to choose another);
//! `--keep DIR` leaves the reports and the cache in DIR to look at.
//! Peak RSS and CPU come from `/usr/bin/time -v` when it exists, else from polling
//! `/proc/<pid>/status` (VmHWM) and `/proc/<pid>/stat`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/support/sim/mod.rs"]
mod sim;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    nodes: usize,
    guests: usize,
    latency_ms: u64,
    history: sim::generator::History,
    no_cache: bool,
    bin: PathBuf,
    /// Keep reports and cache here instead of in a temporary directory.
    keep: Option<PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-cluster [--nodes N] [--guests N] [--latency-ms MS] [--nights N] [--snapshots-per-guest N] [--jobs N] [--no-cache] [--bin PATH] [--keep DIR]"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let exe = std::env::current_exe().expect("own path");
    // target/<profile>/examples/bench-cluster → target/<profile>/pve-backup-report
    let default_bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("pve-backup-report"))
        .unwrap_or_else(|| PathBuf::from("pve-backup-report"));
    let mut options = Options {
        nodes: 10,
        guests: 2000,
        latency_ms: 20,
        history: sim::generator::History {
            nights: sim::generator::NIGHTS,
            snapshots_kept: None,
            jobs: sim::generator::JOBS,
        },
        no_cache: false,
        bin: default_bin,
        keep: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--nodes" => options.nodes = value().parse().unwrap_or_else(|_| usage()),
            "--guests" => options.guests = value().parse().unwrap_or_else(|_| usage()),
            "--latency-ms" => options.latency_ms = value().parse().unwrap_or_else(|_| usage()),
            "--nights" => options.history.nights = value().parse().unwrap_or_else(|_| usage()),
            "--jobs" => options.history.jobs = value().parse().unwrap_or_else(|_| usage()),
            "--snapshots-per-guest" => {
                options.history.snapshots_kept = Some(value().parse().unwrap_or_else(|_| usage()))
            }
            "--bin" => options.bin = PathBuf::from(value()),
            "--no-cache" => options.no_cache = true,
            "--keep" => options.keep = Some(PathBuf::from(value())),
            _ => usage(),
        }
    }
    options
}

/// Connection settings: PVE with the full-visibility token, every PBS with the audit token.
fn settings(handle: &sim::SimHandle, pbs_names: &[String], dir: &Path) -> Vec<(String, String)> {
    let pve = handle.pve();
    let pve_ca = dir.join("pve-ca.pem");
    std::fs::write(&pve_ca, &pve.ca_pem).expect("write CA");
    let mut vars = vec![
        ("PVE_HOST".to_string(), pve.url.clone()),
        ("PVE_API_TOKEN_ID".into(), "monitor@pve!full".into()),
        (
            "PVE_API_TOKEN_SECRET".into(),
            sim::demo::PVE_FULL_SECRET.into(),
        ),
        ("PVE_CA_CERT".into(), pve_ca.display().to_string()),
    ];
    for (index, name) in pbs_names.iter().enumerate() {
        let endpoint = handle.pbs(name).expect("pbs endpoint");
        let ca = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&ca, &endpoint.ca_pem).expect("write CA");
        let prefix = if index == 0 {
            "PBS".to_string()
        } else {
            format!("PBS{index:02}")
        };
        vars.push((format!("{prefix}_HOST"), endpoint.url.clone()));
        vars.push((format!("{prefix}_NAME"), name.clone()));
        vars.push((format!("{prefix}_API_TOKEN_ID"), "monitor@pbs!audit".into()));
        vars.push((
            format!("{prefix}_API_TOKEN_SECRET"),
            sim::demo::PBS_AUDIT_SECRET.into(),
        ));
        vars.push((format!("{prefix}_CA_CERT"), ca.display().to_string()));
    }
    vars
}

/// A request's kind: server kind plus its path with names, ids and UPIDs replaced by `*`.
fn kind(request: &sim::RecordedRequest) -> String {
    const NAMED: [&str; 9] = [
        "nodes",
        "tasks",
        "qemu",
        "lxc",
        "storage",
        "pools",
        "datastore",
        "namespace",
        "backup-info",
    ];
    let mut out = Vec::new();
    let mut previous = "";
    for segment in request.path.split('/').filter(|s| !s.is_empty()) {
        let generic = NAMED.contains(&previous) && previous != "backup-info";
        out.push(if generic { "*" } else { segment });
        previous = segment;
    }
    let server = if request.server == "pve" {
        "pve"
    } else {
        "pbs"
    };
    format!("{server} {} /{}", request.method, out.join("/"))
}

/// What one run of the tool cost.
struct Measured {
    wall: Duration,
    code: Option<i32>,
    peak_rss_kib: Option<u64>,
    cpu: Option<Duration>,
    requests: BTreeMap<String, usize>,
}

fn run_tool(options: &Options, vars: &[(String, String)], out: &Path) -> Measured {
    let time_v = Path::new("/usr/bin/time");
    let use_time = time_v.exists();
    let mut command = if use_time {
        let mut c = Command::new(time_v);
        c.arg("-v").arg(&options.bin);
        c
    } else {
        Command::new(&options.bin)
    };
    let now = chrono::DateTime::from_timestamp(sim::demo::DEMO_NOW, 0).expect("now");
    command
        .args(["--format", "html,json", "--output"])
        .arg(out)
        .args(["--now", &now.to_rfc3339(), "--quiet", "--exit-zero"])
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().unwrap_or_else(|err| {
        panic!(
            "cannot start {} ({err}); build it first: cargo build --release",
            options.bin.display()
        )
    });
    let (mut hwm, mut cpu_ticks) = (None, None);
    let stderr_reader = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        })
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if !use_time {
            let pid = child.id();
            if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                hwm = status_kib(&text, "VmHWM:").or(hwm);
            }
            if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                cpu_ticks = stat_ticks(&text).or(cpu_ticks);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = started.elapsed();
    let stderr = stderr_reader
        .and_then(|t| t.join().ok())
        .unwrap_or_default();
    let (peak_rss_kib, cpu) = if use_time {
        let field = |name: &str| {
            stderr
                .lines()
                .find_map(|l| l.trim().strip_prefix(name).map(str::trim))
                .map(str::to_string)
        };
        let secs = |name: &str| field(name).and_then(|v| v.parse::<f64>().ok());
        let cpu = match (secs("User time (seconds):"), secs("System time (seconds):")) {
            (Some(user), Some(system)) => Some(Duration::from_secs_f64(user + system)),
            _ => None,
        };
        let rss = field("Maximum resident set size (kbytes):").and_then(|v| v.parse().ok());
        (rss, cpu)
    } else {
        // Clock ticks are 100 per second on Linux.
        (hwm, cpu_ticks.map(|t| Duration::from_millis(t * 10)))
    };
    let code = if use_time {
        field_code(&stderr).or(status.code())
    } else {
        status.code()
    };
    Measured {
        wall,
        code,
        peak_rss_kib,
        cpu,
        requests: BTreeMap::new(),
    }
}

/// The child's own exit status as `/usr/bin/time -v` reports it.
fn field_code(stderr: &str) -> Option<i32> {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Exit status:"))
        .and_then(|v| v.trim().parse().ok())
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// utime + stime from `/proc/<pid>/stat` (fields 14 and 15, after the parenthesised name).
fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn print_run(label: &str, m: &Measured) {
    let total: usize = m.requests.values().sum();
    println!("\n== {label}");
    println!("wall time      {:>10.2} s", m.wall.as_secs_f64());
    match m.cpu {
        Some(cpu) => println!("CPU (user+sys) {:>10.2} s", cpu.as_secs_f64()),
        None => println!("CPU (user+sys)        n/a"),
    }
    match m.peak_rss_kib {
        Some(kib) => println!("peak RSS       {:>10.1} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS              n/a"),
    }
    println!(
        "exit code      {:>10}",
        m.code.map_or("?".into(), |c| c.to_string())
    );
    println!("requests       {total:>10}");
    for (kind, count) in &m.requests {
        println!("  {count:>8}  {kind}");
    }
}

#[tokio::main]
async fn main() {
    let options = options();
    let generated = Instant::now();
    let scenario =
        sim::generator::large_cluster_with(options.history, options.nodes, options.guests, 42);
    let pbs_names: Vec<String> = scenario.pbs.iter().map(|p| p.name.clone()).collect();
    let handle = sim::start(scenario).await.expect("simulator starts");
    handle.set_latency("pve", Duration::from_millis(options.latency_ms));
    for name in &pbs_names {
        handle.set_latency(name, Duration::from_millis(options.latency_ms));
    }
    println!(
        "cluster: {} nodes, {} guests, {} jobs, {} nights, {} snapshots per guest, {} PBS, {} ms per answer (generated and started in {:.1?})",
        options.nodes,
        options.guests,
        options.history.jobs.max(sim::generator::JOBS),
        options.history.nights,
        options
            .history
            .snapshots_kept
            .map_or("all".to_string(), |kept| kept.to_string()),
        pbs_names.len(),
        options.latency_ms,
        generated.elapsed()
    );
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = options
        .keep
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("output dir");
    let mut vars = settings(&handle, &pbs_names, &dir);
    if options.no_cache {
        vars.push(("PVE_NO_CACHE".into(), "true".into()));
    } else {
        vars.push((
            "PVE_CACHE_DIR".into(),
            dir.join("cache").display().to_string(),
        ));
    }
    let labels = if options.no_cache {
        ["first run (no cache)", "second run (no cache)"]
    } else {
        ["first run (cold cache)", "second run (warm cache)"]
    };
    for (index, label) in labels.iter().enumerate() {
        handle.clear_requests();
        let out = dir.join(format!("out{index}"));
        std::fs::create_dir_all(&out).expect("output dir");
        let run = {
            let (options, vars) = (&options, &vars);
            tokio::task::block_in_place(|| run_tool(options, vars, &out))
        };
        let mut requests = BTreeMap::new();
        for request in handle.requests() {
            *requests.entry(kind(&request)).or_insert(0) += 1;
        }
        print_run(label, &Measured { requests, ..run });
    }
    handle.shutdown().await;
}
