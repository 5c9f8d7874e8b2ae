//! Issue #9 rule 4: every endpoint the tool calls × every way an answer can fail, end to end.
//!
//! The endpoints are not a hand list: they come from the simulator's request log of a clean
//! default report run (paths with ids collapsed, plus the query keys), so a new endpoint joins the
//! matrix by itself. Each cell starts its own simulator, injects one fault, runs the real binary and
//! checks that the run neither panics nor hangs, writes its report, signals trouble in its exit
//! code, names the endpoint in an anomaly, and never turns what it could not read into a verdict:
//! every guest keeps the clean verdict or becomes indeterminate/unknown. A transient fault must
//! give the clean result exactly.
//!
//! A cell whose fault changed no answer the client received (wrong scalars in an empty list: there
//! is nothing to distort) is not applicable: counted and printed as such, never judged and never a
//! pass. Only a fault that distorts the real answer may be inapplicable; any other fault that
//! reached no answer is a broken cell. Every applicable cell must pass: there is no list of known
//! failures.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::sim::{self, Fault, FaultEffect, FaultRule, RecordedRequest, Scenario};
use super::support::{demo_now, World};

/// Client timeout for every cell (`PVE_TIMEOUT`, seconds): short, so hangs cost little.
const CLIENT_TIMEOUT: &str = "2";
/// A run that takes longer than this is a hang of the tool itself.
const RUN_DEADLINE: Duration = Duration::from_secs(40);
/// Cells in flight at once (most of a cell's time is spent waiting on timeouts).
const PARALLEL: usize = 6;
/// The answer limit the cells ask for, and the size an oversized answer is padded to.
/// `PVE_MAX_ANSWER_MB` bounds every answer (`ServerConfig::max_answer_bytes`).
const ANSWER_LIMIT_MB: &str = "1";
const OVERSIZED_BYTES: usize = 2 * 1024 * 1024;

/// The fault kinds of the matrix, each applied to every request of one endpoint.
fn fault_kinds() -> Vec<(&'static str, Fault)> {
    vec![
        ("hang", Fault::Hang),
        (
            "500",
            Fault::Status {
                code: 500,
                message: "simulated internal error".into(),
            },
        ),
        ("401", Fault::Unauthorized),
        ("403", Fault::Forbidden),
        ("invalid-json", Fault::InvalidJson),
        ("empty-object", Fault::EmptyObject),
        ("null-data", Fault::NullData),
        ("wrong-container", Fault::WrongContainer),
        ("wrong-scalars", Fault::WrongScalars),
        ("truncated", Fault::Truncated),
        ("truncated-chunked", Fault::TruncatedChunked),
        ("reset", Fault::Reset),
        (
            "oversized",
            Fault::Oversized {
                bytes: OVERSIZED_BYTES,
            },
        ),
        (
            "slow-drip",
            Fault::SlowDrip {
                total: Duration::from_secs(4),
            },
        ),
    ]
}

/// The scenarios: a clean run that exits 0, and one with every verdict kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Healthy,
    EveryVerdict,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Healthy => "healthy",
            Case::EveryVerdict => "every-verdict",
        }
    }
    fn scenario(self) -> Scenario {
        match self {
            // The paged variant: one task log spans two pages, so a page fault has a page to hit.
            Case::Healthy => sim::healthy_paged_scenario(),
            Case::EveryVerdict => super::report::every_case(),
        }
    }
}

/// One endpoint: server, path pattern (`*` for ids), exact query keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Endpoint {
    server: String,
    pattern: String,
    keys: Vec<String>,
}

impl Endpoint {
    fn label(&self) -> String {
        if self.keys.is_empty() {
            format!("{} {}", self.server, self.pattern)
        } else {
            format!("{} {}?{}", self.server, self.pattern, self.keys.join(","))
        }
    }
    fn rule(&self, fault: Fault) -> FaultRule {
        FaultRule::pattern(&self.server, &self.pattern, fault).query_keys(&self.keys)
    }
    fn matches(&self, request: &RecordedRequest) -> bool {
        endpoint_of(request) == *self
    }
}

/// Segments after these name an object (node, guest, storage, datastore, task), not an endpoint.
const ID_AFTER: &[&str] = &["nodes", "qemu", "lxc", "storage", "tasks", "datastore"];

fn endpoint_of(request: &RecordedRequest) -> Endpoint {
    let segments: Vec<&str> = request.path.split('/').collect();
    let pattern: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, seg)| {
            let after_collection = i > 0 && ID_AFTER.contains(&segments[i - 1]) && i >= 2;
            let is_id = !seg.is_empty()
                && (seg.chars().all(|c| c.is_ascii_digit()) || seg.starts_with("UPID:"));
            if is_id || after_collection {
                "*"
            } else {
                seg
            }
        })
        .collect();
    let mut keys: Vec<String> = request.query.iter().map(|(k, _)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    Endpoint {
        server: request.server.clone(),
        pattern: pattern.join("/"),
        keys,
    }
}

/// What one cell does.
#[derive(Debug, Clone)]
struct Cell {
    case: Case,
    endpoint: Endpoint,
    fault_name: String,
    rule: FaultRule,
    /// A transient fault: the result must equal the clean run's exactly.
    transient: bool,
    /// The fault distorts the real answer, so it may leave it unchanged (then the cell is not
    /// applicable).
    distorts: bool,
}

impl Cell {
    fn key(&self) -> String {
        format!(
            "{} | {} | {}",
            self.case.name(),
            self.endpoint.label(),
            self.fault_name
        )
    }
}

/// Output of one run.
struct Outcome {
    code: Option<i32>,
    stderr: String,
    report: Option<Value>,
    html_written: bool,
    requests: Vec<RecordedRequest>,
}

fn vars(world: &World) -> Vec<(String, String)> {
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit(sim::demo::DEMO_PBS, "PBS"));
    vars.push(("PVE_TIMEOUT".into(), CLIENT_TIMEOUT.into()));
    vars.push(("PVE_MAX_ANSWER_MB".into(), ANSWER_LIMIT_MB.into()));
    vars
}

/// Start a simulator with `rule` (if any), run the default report into files, collect everything.
async fn run_once(case: Case, rule: Option<FaultRule>) -> Outcome {
    run_scenario(case.scenario(), rule).await
}

/// [`run_once`] on any scenario.
async fn run_scenario(scenario: Scenario, rule: Option<FaultRule>) -> Outcome {
    let world = World::start(scenario).await;
    if let Some(rule) = rule {
        world.sim.add_fault(rule);
    }
    let out = world.path("reports");
    let out_arg = out.display().to_string();
    let now = demo_now();
    let args = [
        "--now",
        now.as_str(),
        "--output",
        out_arg.as_str(),
        "--format",
        "html,md,json,prom",
    ];
    let cwd = tempfile::tempdir().expect("cwd");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pve-backup-report"))
        .args(args)
        .env_clear()
        .envs(vars(&world))
        .current_dir(cwd.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let (code, stderr) = match tokio::time::timeout(RUN_DEADLINE, child).await {
        Ok(Ok(output)) => (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ),
        Ok(Err(e)) => (None, format!("cannot run the binary: {e}")),
        Err(_) => (None, format!("no exit within {RUN_DEADLINE:?}")),
    };
    let report = std::fs::read_to_string(out.join("pve-backup-report-latest.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let html_written = out.join("pve-backup-report-latest.html").is_file();
    let requests = world.requests();
    world.sim.shutdown().await;
    Outcome {
        code,
        stderr,
        report,
        html_written,
        requests,
    }
}

fn verdicts(report: &Value) -> BTreeMap<u64, (String, String)> {
    report["guests"]
        .as_array()
        .map(|guests| {
            guests
                .iter()
                .map(|g| {
                    (
                        g["vmid"].as_u64().unwrap_or_default(),
                        (
                            g["coverage"].as_str().unwrap_or_default().to_string(),
                            g["freshness"].as_str().unwrap_or_default().to_string(),
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn anomaly_texts(report: &Value) -> Vec<String> {
    report["anomalies"]
        .as_array()
        .map(|list| list.iter().map(Value::to_string).collect())
        .unwrap_or_default()
}

/// Every assertion a cell breaks (empty = the cell passes).
fn judge(cell: &Cell, clean: &Outcome, run: &Outcome) -> Vec<String> {
    let mut failures = Vec::new();
    if run.stderr.contains("panicked") {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains("panicked"))
            .unwrap_or_default();
        failures.push(format!("panic: {line}"));
    }
    let Some(code) = run.code else {
        failures.push(format!("no exit code: {}", run.stderr.trim()));
        return failures;
    };
    let Some(report) = &run.report else {
        failures.push(format!("no JSON report written (exit {code})"));
        return failures;
    };
    if !run.html_written {
        failures.push("no HTML report written".into());
    }
    let clean_code = clean.code.unwrap_or(-1);
    let clean_report = clean.report.as_ref().expect("clean report");
    if cell.transient {
        if code != clean_code {
            failures.push(format!("exit {code}, the clean run exits {clean_code}"));
        }
        if report != clean_report {
            let diff: Vec<String> = verdicts(report)
                .into_iter()
                .filter(|(vmid, v)| verdicts(clean_report).get(vmid) != Some(v))
                .map(|(vmid, (c, f))| format!("{vmid}={c}/{f}"))
                .collect();
            failures.push(format!(
                "report differs from the clean one (verdicts: {}; anomalies: {})",
                if diff.is_empty() {
                    "same".to_string()
                } else {
                    diff.join(" ")
                },
                anomaly_texts(report).len()
            ));
        }
        return failures;
    }
    if code < clean_code.max(1) {
        failures.push(format!(
            "exit {code} (clean run: {clean_code}): the fault does not show in the exit code"
        ));
    }
    let faulted: BTreeSet<&str> = run
        .requests
        .iter()
        .filter(|r| cell.endpoint.matches(r))
        .map(|r| r.path.as_str())
        .collect();
    let texts = anomaly_texts(report);
    if !texts
        .iter()
        .any(|t| faulted.iter().any(|path| t.contains(path)))
    {
        failures.push("no anomaly names the endpoint".into());
    }
    let clean_verdicts = verdicts(clean_report);
    let verdicts = verdicts(report);
    for (vmid, (coverage, freshness)) in &clean_verdicts {
        match verdicts.get(vmid) {
            None if code == 3 => {}
            None => failures.push(format!("guest {vmid} missing (exit {code})")),
            Some((c, f)) => {
                if c != coverage && c != "indeterminate" {
                    failures.push(format!("guest {vmid} coverage {coverage} -> {c}"));
                }
                if f != freshness && f != "unknown" {
                    failures.push(format!("guest {vmid} freshness {freshness} -> {f}"));
                }
            }
        }
    }
    failures
}

fn cells_of(case: Case, clean: &Outcome) -> Vec<Cell> {
    let endpoints: BTreeSet<Endpoint> = clean.requests.iter().map(endpoint_of).collect();
    let mut cells = Vec::new();
    for endpoint in &endpoints {
        for (name, fault) in fault_kinds() {
            let distorts = matches!(
                fault,
                Fault::WrongContainer | Fault::WrongScalars | Fault::Oversized { .. }
            );
            cells.push(Cell {
                case,
                endpoint: endpoint.clone(),
                fault_name: name.into(),
                rule: endpoint.rule(fault),
                transient: false,
                distorts,
            });
        }
        let busy = Fault::Status {
            code: 503,
            message: "simulated: service busy".into(),
        };
        // Two 503 in a row still fit in the client's two retries.
        for (name, fault, times) in [
            ("transient-503x2", busy, 2),
            ("transient-reset", Fault::Reset, 1),
        ] {
            cells.push(Cell {
                case,
                endpoint: endpoint.clone(),
                fault_name: name.into(),
                rule: endpoint.rule(fault).times(times),
                transient: true,
                distorts: false,
            });
        }
    }
    // One page of a paged list: every later page the clean run asked for.
    let pages: BTreeSet<(Endpoint, String)> = clean
        .requests
        .iter()
        .filter_map(|r| {
            let start = r.query.iter().find(|(k, _)| k == "start")?;
            (start.1 != "0").then(|| (endpoint_of(r), start.1.clone()))
        })
        .collect();
    for (endpoint, start) in pages {
        cells.push(Cell {
            case,
            endpoint: endpoint.clone(),
            fault_name: format!("page-start={start}-500"),
            rule: endpoint
                .rule(Fault::Status {
                    code: 500,
                    message: "simulated internal error".into(),
                })
                .param("start", &start),
            transient: false,
            distorts: false,
        });
    }
    cells
}

/// What one cell came to.
enum Verdict {
    /// Every assertion held.
    Pass,
    /// The fault changed no answer: nothing to judge.
    NotApplicable,
    /// What broke.
    Fail(Vec<String>),
}

/// Judge `run` unless its fault changed no answer the client received.
fn verdict_of(cell: &Cell, clean: &Outcome, run: &Outcome) -> Verdict {
    let changed = run.requests.iter().any(|r| r.fault == FaultEffect::Changed);
    if !changed {
        if cell.distorts {
            return Verdict::NotApplicable;
        }
        return Verdict::Fail(vec![
            "the fault reached no answer: the cell's rule matches no request".into(),
        ]);
    }
    let failures = judge(cell, clean, run);
    if failures.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(failures)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_under_every_fault() {
    let mut cells = Vec::new();
    let mut cleans = BTreeMap::new();
    for case in [Case::Healthy, Case::EveryVerdict] {
        let clean = run_once(case, None).await;
        assert!(
            !clean.stderr.contains("panicked") && clean.report.is_some(),
            "{}: the clean run works: {}",
            case.name(),
            clean.stderr
        );
        if case == Case::Healthy {
            assert_eq!(
                clean.code,
                Some(0),
                "the healthy scenario is clean: {}",
                clean.stderr
            );
        }
        cells.extend(cells_of(case, &clean));
        cleans.insert(case.name(), Arc::new(clean));
    }
    let only = std::env::var("FAULT_CELLS").unwrap_or_default();
    cells.retain(|c| only.is_empty() || c.key().contains(&only));

    let limiter = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut set = tokio::task::JoinSet::new();
    for cell in cells.clone() {
        let limiter = limiter.clone();
        let clean = cleans[cell.case.name()].clone();
        set.spawn(async move {
            let _permit = limiter.acquire_owned().await.expect("semaphore");
            let run = run_once(cell.case, Some(cell.rule.clone())).await;
            let verdict = verdict_of(&cell, &clean, &run);
            (cell.key(), verdict)
        });
    }
    let mut results: BTreeMap<String, Verdict> = BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        let (key, verdict) = joined.expect("cell task");
        results.insert(key, verdict);
    }

    let mut failing = Vec::new();
    let mut not_applicable = 0;
    for cell in &cells {
        match &results[&cell.key()] {
            Verdict::Pass => {}
            Verdict::NotApplicable => {
                not_applicable += 1;
                println!("N/A  {}: the fault changed no answer", cell.key());
            }
            Verdict::Fail(failures) => {
                println!("FAIL {}: {}", cell.key(), failures.join("; "));
                failing.push(format!("{}: {}", cell.key(), failures.join("; ")));
            }
        }
    }
    println!(
        "{} cells: {} passing, {} not applicable (the fault changed no answer), {} failing",
        cells.len(),
        cells.len() - not_applicable - failing.len(),
        not_applicable,
        failing.len()
    );
    assert!(failing.is_empty(), "failing cells:\n{}", failing.join("\n"));
}

/// Issue #9 rule 1, item by item: one malformed backup job costs that job only. The other job
/// still covers what it selects, the list is partial, an anomaly quotes the item and field, and a
/// guest that the remaining job does not select becomes indeterminate, never "not covered" (the
/// malformed job might have been the one selecting it).
#[tokio::test(flavor = "multi_thread")]
async fn one_malformed_job_costs_that_job_only() {
    use serde_json::json;
    let mut scenario = sim::healthy_scenario();
    scenario
        .pve
        .guests
        .push(sim::scenario::guest(300, "pve2", sim::scenario::Kind::Qemu).name("new01"));
    let nightly = scenario
        .pve
        .backup_jobs
        .first_mut()
        .expect("the nightly job");
    nightly.insert("exclude".into(), json!("300"));
    scenario.pve.backup_jobs.push(sim::scenario::job(
        "broken",
        &[
            ("vmid", json!("300")),
            ("storage", json!("pbs1")),
            // A string field sent as a number: this item does not decode.
            ("schedule", json!(2100)),
        ],
    ));
    let run = run_scenario(scenario, None).await;
    let report = run.report.as_ref().expect("a JSON report");
    assert_eq!(
        run.code,
        Some(3),
        "a verdict rests on the job list: {}",
        run.stderr
    );
    let verdicts = verdicts(report);
    for vmid in [100, 101, 200] {
        assert_eq!(verdicts[&vmid].0, "covered", "guest {vmid}");
    }
    assert_eq!(verdicts[&300].0, "indeterminate");
    let texts = anomaly_texts(report);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("1 of 2 backup jobs could not be read")
                && t.contains("/cluster/backup")
                && t.contains("item 1")
                && t.contains("`schedule`")),
        "{texts:#?}"
    );
}
