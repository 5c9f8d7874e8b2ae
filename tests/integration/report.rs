//! Issues #4 and #5 end to end: verdicts guest by guest on a simulator scenario with every case,
//! report files, exit codes for each level (including a usage error).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::sim::{self, guest, vzdump, Fault, Kind, Scenario};
use super::support::{demo_now, run_tool, with, World};

fn set_job(scenario: &mut Scenario, id: &str, key: &str, value: Value) {
    let job = scenario
        .pve
        .backup_jobs
        .iter_mut()
        .find(|j| j.get("id") == Some(&json!(id)))
        .unwrap_or_else(|| panic!("no job {id}"));
    job.insert(key.to_string(), value);
}

/// The demo plus a guest covered only by a disabled job (400) and one selected only through a
/// pool (401).
pub(super) fn every_case() -> Scenario {
    let mut scenario = sim::demo_scenario();
    scenario
        .pve
        .guests
        .push(guest(400, "pve3", Kind::Qemu).name("legacy"));
    scenario
        .pve
        .guests
        .push(guest(401, "pve1", Kind::Lxc).name("poolonly").pool("prod"));
    set_job(
        &mut scenario,
        "backup-all-nightly",
        "exclude",
        json!("303,400,401"),
    );
    set_job(&mut scenario, "backup-node3", "exclude", json!("303,400"));
    set_job(&mut scenario, "backup-disabled", "vmid", json!("302,400"));
    scenario
}

fn verdicts(json: &Value) -> BTreeMap<u64, (String, String)> {
    json["guests"]
        .as_array()
        .expect("guests")
        .iter()
        .map(|g| {
            (
                g["vmid"].as_u64().expect("vmid"),
                (
                    g["coverage"].as_str().unwrap_or_default().to_string(),
                    g["freshness"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

fn guest_json(json: &Value, vmid: u64) -> &Value {
    json["guests"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["vmid"] == vmid))
        .expect("guest")
}

fn full_vars(world: &World) -> Vec<(String, String)> {
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    vars
}

#[tokio::test(flavor = "multi_thread")]
async fn every_verdict_end_to_end_guest_by_guest() {
    let world = World::start(every_case()).await;
    let run = run_tool(
        &full_vars(&world),
        &["--dump-coverage", "--json", "--now", &demo_now()],
    )
    .await;
    assert_eq!(run.code, 2, "a guest is not covered: {}", run.stderr);
    let json = run.json();
    assert_eq!(json["schema_version"], 3);
    assert_eq!(json["generated_at"], "2026-01-15T08:00:00Z");
    let expected: BTreeMap<u64, (&str, &str)> = [
        (100, ("partial", "ok")), // scsi1 backup=0
        (101, ("partial", "ok")), // mp0 without backup=1
        (102, ("covered", "ok")),
        (103, ("covered", "ok")),
        (200, ("covered", "ok")),     // nightly and the weekly pool job
        (201, ("covered", "failed")), // last night's run failed
        (202, ("partial", "ok")),     // bind mount
        (203, ("covered", "ok")),
        (300, ("covered", "ok")), // a template is a guest too
        (301, ("covered", "ok")),
        (302, ("covered", "ok")),
        (303, ("not_covered", "never")),
        (400, ("disabled_only", "never")),
        (401, ("covered", "never")), // only the pool job selects it, and none of its runs had it
    ]
    .into_iter()
    .collect();
    let actual = verdicts(&json);
    let actual_ref: BTreeMap<u64, (&str, &str)> = actual
        .iter()
        .map(|(k, (c, f))| (*k, (c.as_str(), f.as_str())))
        .collect();
    assert_eq!(actual_ref, expected);

    let g300 = guest_json(&json, 300);
    assert_eq!(g300["template"], true);
    let g201 = guest_json(&json, 201);
    assert_eq!(g201["last_backup"]["status"], "failed");
    assert_eq!(g201["last_backup"]["source"], "task_log");
    assert_eq!(g201["last_success"]["status"], "ok");
    let g102 = guest_json(&json, 102);
    assert!(
        g102["last_success"]["duration_s"].as_u64().is_some(),
        "{g102}"
    );
    assert_eq!(g102["archive"]["datastore"], "store1");
    assert_eq!(g102["archive"]["namespace"], "pve");
    let g100 = guest_json(&json, 100);
    assert!(
        g100["flags"]
            .as_array()
            .expect("flags")
            .contains(&json!("vmid_reuse")),
        "{}",
        g100["flags"]
    );
    let jobs_400: Vec<_> = guest_json(&json, 400)["jobs"]
        .as_array()
        .expect("jobs")
        .clone();
    assert_eq!(jobs_400, vec![json!("backup-disabled")]);
    assert!(guest_json(&json, 303)["coverage_reason"]
        .as_str()
        .unwrap_or_default()
        .contains("excluded"));

    let anomalies = json["anomalies"].as_array().expect("anomalies");
    let text = |a: &Value| {
        format!(
            "{} {}",
            a["message"].as_str().unwrap_or_default(),
            a["details"].as_str().unwrap_or_default()
        )
    };
    assert!(
        anomalies.iter().any(|a| text(a).contains("999")),
        "the deleted VMID of backup-vmlist is named"
    );
    assert!(
        anomalies
            .iter()
            .any(|a| a["severity"] == "info" && text(a).contains("400")),
        "PVE counts the disabled job as coverage for 400: the disagreement explains itself"
    );
    let orphans: Vec<_> = json["orphans"]
        .as_array()
        .expect("orphans")
        .iter()
        .map(|o| o["backup_id"].clone())
        .collect();
    assert!(orphans.contains(&json!("150")), "{orphans:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_hidden_by_privileges_makes_its_members_indeterminate_not_uncovered() {
    let mut scenario = every_case();
    scenario
        .pve
        .access
        .user("nopools@pve", None)
        .token(
            "nopools@pve!tok",
            "44444444-5555-4666-8777-888888888888",
            false,
        )
        .acl("/", "nopools@pve", "PVEAuditor", true)
        .acl("/pool", "nopools@pve", "NoAccess", true);
    let world = World::start(scenario).await;
    let vars = world.pve_token("nopools@pve!tok", "44444444-5555-4666-8777-888888888888");
    let run = run_tool(&vars, &["--dump-coverage", "--json", "--now", &demo_now()]).await;
    assert_eq!(run.code, 3, "evidence is incomplete: {}", run.stderr);
    let json = run.json();
    // Without Pool.Audit, PVE hides the pools and strips the guests' pool field: 401 may or may
    // not be in pool 'prod', so nothing can be said about it.
    assert_eq!(guest_json(&json, 401)["coverage"], "indeterminate");
    // Guests an enabled job covers anyway keep their verdict.
    assert_eq!(guest_json(&json, 102)["coverage"], "covered");
    let check = run_tool(&vars, &["--check-api", "--json"]).await.json();
    let pools = check["servers"][0]["capabilities"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "pools"))
        .cloned()
        .expect("pools");
    assert_eq!(pools["visibility"], "none", "{pools}");
}

#[tokio::test(flavor = "multi_thread")]
async fn three_nights_later_every_nightly_guest_is_stale() {
    let world = World::start(every_case()).await;
    let later = chrono::DateTime::from_timestamp(sim::demo::DEMO_NOW + 3 * 86_400, 0)
        .expect("t")
        .to_rfc3339();
    let json = run_tool(
        &full_vars(&world),
        &["--dump-coverage", "--json", "--now", &later],
    )
    .await
    .json();
    let g102 = guest_json(&json, 102);
    assert_eq!(g102["freshness"], "stale");
    assert!(g102["missed_runs"].as_u64().unwrap_or(0) >= 2, "{g102}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_exempts_a_guest_until_its_expiry() {
    let world = World::start(every_case()).await;
    let policy = world.path("policy.json");
    std::fs::write(&policy, r#"{"exemptions":[{"vmid":303,"reason":"scratch space, rebuilt from git","until":"2026-02-01"}]}"#).expect("write");
    let policy = policy.display().to_string();
    let json = run_tool(
        &full_vars(&world),
        &[
            "--dump-coverage",
            "--json",
            "--now",
            &demo_now(),
            "--policy",
            &policy,
        ],
    )
    .await
    .json();
    let g303 = guest_json(&json, 303);
    assert_eq!(g303["exempt"]["reason"], "scratch space, rebuilt from git");
    let after = run_tool(
        &full_vars(&world),
        &[
            "--dump-coverage",
            "--json",
            "--now",
            "2026-03-01T08:00:00Z",
            "--policy",
            &policy,
        ],
    )
    .await
    .json();
    assert!(
        guest_json(&after, 303)["exempt"].is_null(),
        "an expired exemption counts again"
    );
}

/// A one-node cluster with a daily job whose last three nights succeeded.
pub(super) fn healthy(extra_disk: bool) -> Scenario {
    let now = sim::demo::DEMO_NOW;
    let mut web = guest(100, "pve1", Kind::Qemu)
        .name("web")
        .cfg("scsi0", json!("local-lvm:vm-100-disk-0,size=8G"));
    if extra_disk {
        web = web.cfg("scsi1", json!("local-lvm:vm-100-disk-1,size=8G,backup=0"));
    }
    let mut scenario = Scenario::builder()
        .node("pve1", "UTC")
        .guest(web.clone())
        .storage(sim::raw(&[
            ("storage", json!("local")),
            ("type", json!("dir")),
            ("content", json!("backup,iso")),
            ("path", json!("/var/lib/vz")),
        ]))
        .job(sim::job(
            "daily",
            &[
                ("schedule", json!("02:00")),
                ("all", json!(1)),
                ("storage", json!("local")),
                ("enabled", json!(1)),
            ],
        ));
    scenario.pve.settings.now = Some(now);
    scenario.pve.access = sim::demo_scenario().pve.access;
    let midnight = now - now.rem_euclid(86_400);
    for night in 0..3 {
        let start = midnight - night * 86_400 + 2 * 3600;
        let run = vzdump::Run {
            node: "pve1".into(),
            utc_offset_secs: 0,
            start,
            job_args: "--all 1 --storage local --mode snapshot --quiet 1".into(),
            skip_external: vec![],
            guests: vec![vzdump::LogGuest::from_guest(&web, vzdump::Outcome::Ok)],
            target: vzdump::Target::Dir {
                storage: "local".into(),
                dumpdir: "/var/lib/vz/dump".into(),
            },
            seconds_per_guest: 60,
            compact: false,
        };
        let (task, _) = run.task("root@pam");
        scenario = scenario.task(task);
    }
    scenario
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_follow_the_monitoring_convention() {
    let now = demo_now();
    let ok = World::start(healthy(false)).await;
    let run = run_tool(&ok.pve_full(), &["--dump-coverage", "--now", &now]).await;
    assert_eq!(
        run.code, 0,
        "all covered and fresh:\n{}\n{}",
        run.stdout, run.stderr
    );

    let warn = World::start(healthy(true)).await;
    let run = run_tool(&warn.pve_full(), &["--dump-coverage", "--now", &now]).await;
    assert_eq!(run.code, 1, "partial is a warning:\n{}", run.stdout);
    let run = run_tool(
        &warn.pve_full(),
        &["--dump-coverage", "--now", &now, "--fail-on", "critical"],
    )
    .await;
    assert_eq!(run.code, 0, "--fail-on critical ignores warnings");

    let critical = World::start(every_case()).await;
    let run = run_tool(&critical.pve_full(), &["--dump-coverage", "--now", &now]).await;
    assert_eq!(run.code, 2, "not covered / failed / never is critical");
    let run = run_tool(
        &critical.pve_full(),
        &["--dump-coverage", "--now", &now, "--exit-zero"],
    )
    .await;
    assert_eq!(run.code, 0);

    critical.sim.set_fault(
        "pve",
        "/cluster/backup",
        Fault::Status {
            code: 403,
            message: "Permission check failed (/, Sys.Audit)".into(),
        },
    );
    let run = run_tool(&critical.pve_full(), &["--dump-coverage", "--now", &now]).await;
    assert_eq!(run.code, 3, "without jobs nothing can be decided");

    let usage = run_tool(&[], &["--no-such-flag"]).await;
    assert_eq!(usage.code, 3, "a usage error is unknown: {}", usage.stderr);
    let config = run_tool(
        &with(critical.pve_full(), &[("PVE_API_TOKEN_ID", "nobang@pve")]),
        &["--dump-coverage"],
    )
    .await;
    assert_eq!(config.code, 3);
    let help = run_tool(&[], &["--help"]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit codes"), "{}", help.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_run_writes_every_format_and_compares_with_the_previous_report() {
    let world = World::start(every_case()).await;
    let out = world.path("reports");
    let out_text = out.display().to_string();
    let first_now = chrono::DateTime::from_timestamp(sim::demo::DEMO_NOW - 86_400, 0)
        .expect("t")
        .to_rfc3339();
    let args = |now: &str| -> Vec<String> {
        vec![
            "--output".into(),
            out_text.clone(),
            "--format".into(),
            "html,md,json,prom".into(),
            "--now".into(),
            now.into(),
            "--keep".into(),
            "5".into(),
        ]
    };
    let first: Vec<String> = args(&first_now);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let run = run_tool(&full_vars(&world), &first).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("not covered"),
        "cron gets one line: {}",
        run.stderr
    );
    let second_args = args(&demo_now());
    let second: Vec<&str> = second_args.iter().map(String::as_str).collect();
    run_tool(&full_vars(&world), &second).await;
    for name in [
        "pve-backup-report-2026-01-14.html",
        "pve-backup-report-2026-01-15.html",
        "pve-backup-report-2026-01-15.md",
        "pve-backup-report-2026-01-15.json",
        "pve-backup-report-2026-01-15.prom",
        "pve-backup-report-latest.html",
        "pve-backup-report-latest.json",
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let latest: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("pve-backup-report-latest.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(latest["generated_at"], "2026-01-15T08:00:00Z");
    assert!(
        latest.get("drift").is_some(),
        "the second report compares with the first"
    );
    let html = std::fs::read_to_string(out.join("pve-backup-report-latest.html")).expect("read");
    assert!(
        html.contains("scratch") && html.contains("<style"),
        "a self-contained page"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network assets"
    );
}
