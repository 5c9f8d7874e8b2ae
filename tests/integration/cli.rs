//! Issue #11: running where admins run things. The binary's CLI conventions (the monitoring-plugin
//! line, `-q`, `--prom-file`, `--output -`, broken pipes, completions and man page), the env-file
//! search order, unknown-variable warnings, secrets from files and systemd credentials, and the
//! shipped systemd units and cron line (parsed against the real clap definition).

use std::path::Path;
use std::process::Stdio;

use clap::Parser;
use pve_backup_report::cli::Cli;

use super::report::healthy;
use super::sim;
use super::support::{demo_now, run_tool_in as run_in, with, without, Run, World};

const BIN: &str = env!("CARGO_BIN_EXE_pve-backup-report");

async fn run(vars: &[(String, String)], args: &[&str]) -> Run {
    let cwd = tempfile::tempdir().expect("cwd");
    run_in(cwd.path(), vars, args).await
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One perfdata item is `'label'=value[UOM];warn;crit;min;max`.
fn assert_perfdata(item: &str) {
    let (label, rest) = item.split_once('=').unwrap_or_else(|| panic!("{item}"));
    assert!(
        label.len() > 2 && label.starts_with('\'') && label.ends_with('\''),
        "{item}"
    );
    let fields: Vec<&str> = rest.split(';').collect();
    assert_eq!(fields.len(), 5, "{item}");
    let value = fields[0].trim_end_matches('%');
    assert!(value.parse::<f64>().is_ok(), "{item}");
    for field in &fields[1..] {
        assert!(
            field.is_empty() || field.parse::<f64>().is_ok(),
            "{item}: {field}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nagios_line_is_one_plugin_line_with_the_exit_status() {
    let out = run(&[], &["--demo", "--nagios"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let line = out.stdout.trim_end();
    let (head, perf) = line.split_once(" | ").expect("perfdata");
    assert!(head.starts_with("CRITICAL - 12 guests: "), "{head}");
    for item in perf.split(' ') {
        assert_perfdata(item);
    }
    for label in [
        "guests",
        "covered",
        "not_covered",
        "stale",
        "failed",
        "never",
        "indeterminate",
        "anomalies_critical",
    ] {
        assert!(perf.contains(&format!("'{label}'=")), "{label}: {perf}");
    }
    // The threshold moves the word and the code together.
    let out = run(&[], &["--demo", "--nagios", "--exit-zero"]).await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("OK - "), "{}", out.stdout);
    // A run that cannot start is UNKNOWN on stdout too, where the monitoring system looks.
    let out = run(&[], &["--nagios"]).await;
    assert_eq!(out.code, 3);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(
        out.stdout.starts_with("UNKNOWN - no server is configured"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prom_file_is_written_alone_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let textfile = dir.path().join("textfile");
    std::fs::create_dir(&textfile).unwrap();
    let prom = textfile.join("pve_backup.prom");
    let reports = dir.path().join("reports");
    let out = run(
        &[],
        &[
            "--demo",
            "--output",
            reports.to_str().unwrap(),
            "--prom-file",
            prom.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.contains("# TYPE "), "{text}");
    let names: Vec<String> = std::fs::read_dir(&textfile)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["pve_backup.prom"], "no dated copy, no temp file");
    assert!(reports.join("pve-backup-report-latest.html").exists());
    // The nagios mode writes it too (one collection feeds both), and no report files.
    std::fs::remove_file(&prom).unwrap();
    let out = run(
        &[],
        &["--demo", "--nagios", "--prom-file", prom.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(prom.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_is_silent_when_healthy_and_one_line_when_not() {
    let world = World::start(healthy(false)).await;
    let reports = world.path("reports");
    let now = demo_now();
    let args = [
        "-q",
        "--output",
        reports.to_str().unwrap(),
        "--now",
        now.as_str(),
    ];
    let out = run(&world.pve_full(), &args).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    assert!(reports.join("pve-backup-report-latest.html").exists());

    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &[],
        &["--demo", "-q", "--output", dir.path().to_str().unwrap()],
    )
    .await;
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("pve-backup-report: "),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_and_man_page_come_from_the_clap_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&[], &["--generate", &format!("completions={shell}")]).await;
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("pve-backup-report"), "{shell}");
        assert!(out.stdout.contains("nagios"), "{shell}");
        assert!(out.stdout.contains("prom-file"), "{shell}");
    }
    let man = run(&[], &["--generate", "man"]).await;
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH"),
        "{}",
        &man.stdout[..200]
    );
    assert!(
        man.stdout.contains("pve\\-backup\\-report"),
        "man page names the program"
    );
    let bad = run(&[], &["--generate", "completions=tcsh"]).await;
    assert_eq!(bad.code, 3);
    assert!(bad.stderr.contains("--generate"), "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn grouped_help_with_examples() {
    let out = run(&[], &["--help"]).await;
    assert_eq!(out.code, 0);
    for heading in [
        "Mode",
        "Connection:",
        "PVE:",
        "PBS",
        "Report:",
        "Output:",
        "Examples:",
    ] {
        assert!(out.stdout.contains(heading), "{heading}: {}", out.stdout);
    }
    assert!(out.stdout.contains("/etc/pve-backup-report/env"));
    // Plumbing is shown by example, not as an option.
    assert!(!out.stdout.contains("--generate <WHAT>"), "{}", out.stdout);
    assert!(out.stdout.contains("--generate completions=bash"));
}

#[tokio::test(flavor = "multi_thread")]
async fn output_dash_prints_one_format_to_stdout() {
    let cwd = tempfile::tempdir().unwrap();
    let out = run_in(
        cwd.path(),
        &[],
        &["--demo", "--output", "-", "--format", "json"],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(report["summary"]["guests"], 12);
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "no directory named '-'"
    );

    let out = run_in(
        cwd.path(),
        &[],
        &["--demo", "--output", "-", "--format", "json,html"],
    )
    .await;
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("--output"), "{}", out.stderr);
    assert!(out.stderr.contains("--format"), "{}", out.stderr);
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_closes_early_ends_the_run_quietly() {
    for args in [
        &["--demo", "--dump-inventory"][..],
        &["--demo", "--output", "-", "--format", "html"][..],
        &["--generate", "man"][..],
    ] {
        let mut child = tokio::process::Command::new(BIN)
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first byte, as `| head -0` would.
        drop(child.stdout.take());
        let output = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn misspelt_variables_are_named_with_the_closest_setting_but_never_shown() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join(".env"), "PVE_TIMEUOT=5\n").unwrap();
    let secret = "5ec2e7-do-not-print";
    let out = run_in(
        cwd.path(),
        &vars(&[
            ("PVE_HOSTT", "pve1.example.com"),
            ("PBS01_API_TOKEN_SECRT", secret),
            ("PBS_REPOSITORY", "backup@pbs@pbs1:store"),
            ("HOME", "/nonexistent"),
        ]),
        &["--demo", "--dump-coverage"],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let warnings: Vec<&str> = out.stderr.lines().collect();
    assert!(
        warnings
            .iter()
            .any(|l| l.contains("PVE_HOSTT") && l.ends_with("did you mean PVE_HOST?")),
        "{}",
        out.stderr
    );
    assert!(
        warnings.iter().any(|l| l.contains("PBS01_API_TOKEN_SECRT")
            && l.ends_with("did you mean PBS01_API_TOKEN_SECRET?")),
        "{}",
        out.stderr
    );
    assert!(
        warnings
            .iter()
            .any(|l| l.contains("PVE_TIMEUOT") && l.ends_with("did you mean PVE_TIMEOUT?")),
        "variables from the env file are checked too: {}",
        out.stderr
    );
    assert!(!out.stderr.contains(secret), "{}", out.stderr);
    assert!(
        !out.stderr.contains("PBS_REPOSITORY"),
        "proxmox-backup-client's own variable"
    );
    assert!(!out.stderr.contains("HOME"), "{}", out.stderr);
}

/// `--output -` prints the report in the format the env file chose: which file was read shows.
async fn format_read(cwd: &Path, vars: &[(String, String)], extra: &[&str]) -> Run {
    let mut args = vec!["--demo", "--output", "-"];
    args.extend_from_slice(extra);
    run_in(cwd, vars, &args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_env_file_is_searched_in_the_documented_order() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path();
    std::fs::write(dir.join(".env"), "PVE_REPORT_FORMAT=md\n").unwrap();
    std::fs::write(dir.join("named.env"), "PVE_REPORT_FORMAT=json\n").unwrap();
    std::fs::write(dir.join("flag.env"), "PVE_REPORT_FORMAT=prom\n").unwrap();
    let by_variable = vars(&[("PVE_BACKUP_REPORT_ENV", "named.env")]);

    let out = format_read(dir, &[], &[]).await;
    assert!(
        out.stdout.starts_with("# Proxmox"),
        "./.env: {}",
        out.stderr
    );
    let out = format_read(dir, &by_variable, &[]).await;
    assert!(
        out.stdout.starts_with('{'),
        "the variable beats ./.env: {}",
        out.stderr
    );
    let out = format_read(dir, &by_variable, &["--env-file", "flag.env"]).await;
    assert!(
        out.stdout.starts_with("# HELP"),
        "--env-file beats the variable: {}",
        out.stderr
    );
    // The environment beats the file; a flag beats both.
    let out = format_read(dir, &vars(&[("PVE_REPORT_FORMAT", "json")]), &[]).await;
    assert!(out.stdout.starts_with('{'), "{}", out.stderr);
    let out = format_read(dir, &by_variable, &["--format", "md"]).await;
    assert!(out.stdout.starts_with("# Proxmox"), "{}", out.stderr);

    // Named but missing: an error, never a silent fall-back to ./.env.
    let out = format_read(dir, &vars(&[("PVE_BACKUP_REPORT_ENV", "gone.env")]), &[]).await;
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("PVE_BACKUP_REPORT_ENV names gone.env"),
        "{}",
        out.stderr
    );
    let out = format_read(dir, &[], &["--env-file", "gone.env"]).await;
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("--env-file names gone.env"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

const SECRET: &str = sim::demo::PVE_FULL_SECRET;

#[tokio::test(flavor = "multi_thread")]
async fn secrets_come_from_files_and_systemd_credentials() {
    let world = World::start(sim::demo_scenario()).await;
    let now = demo_now();
    let args = ["--dump-coverage", "--now", now.as_str()];
    let plain = run(&world.pve_full(), &args).await;
    assert!(plain.code < 3, "{}", plain.stderr);

    let file = world.path("pve-secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let file_vars = with(
        without(world.pve_full(), &["PVE_API_TOKEN_SECRET"]),
        &[("PVE_API_TOKEN_SECRET_FILE", file.to_str().unwrap())],
    );
    let from_file = run(&file_vars, &args).await;
    assert_eq!(
        (from_file.code, &from_file.stdout),
        (plain.code, &plain.stdout),
        "{}",
        from_file.stderr
    );
    // The flag spelling of the same thing.
    let flag = run(
        &without(world.pve_full(), &["PVE_API_TOKEN_SECRET"]),
        &[
            &args[..],
            &["--pve-token-secret-file", file.to_str().unwrap()],
        ]
        .concat(),
    )
    .await;
    assert_eq!(flag.stdout, plain.stdout, "{}", flag.stderr);

    let credentials = world.path("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::write(credentials.join("PVE_API_TOKEN_SECRET"), SECRET).unwrap();
    let pbs_secret = credentials.join("PBS01_API_TOKEN_SECRET");
    std::fs::write(&pbs_secret, format!("{}\n", sim::demo::PBS_AUDIT_SECRET)).unwrap();
    let mut credential_vars = with(
        without(world.pve_full(), &["PVE_API_TOKEN_SECRET"]),
        &[("CREDENTIALS_DIRECTORY", credentials.to_str().unwrap())],
    );
    credential_vars.extend(without(
        world.pbs_audit("pbs1", "PBS01"),
        &["PBS01_API_TOKEN_SECRET"],
    ));
    let mut plain_vars = world.pve_full();
    plain_vars.extend(world.pbs_audit("pbs1", "PBS01"));
    let plain_pbs = run(&plain_vars, &args).await;
    let from_credentials = run(&credential_vars, &args).await;
    assert_eq!(
        (from_credentials.code, &from_credentials.stdout),
        (plain_pbs.code, &plain_pbs.stdout),
        "{}",
        from_credentials.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_file_is_checked_like_the_value_and_never_echoed() {
    let world = World::start(sim::demo_scenario()).await;
    let args = ["--dump-coverage"];
    let base = without(world.pve_full(), &["PVE_API_TOKEN_SECRET"]);
    let file = world.path("secret");

    // Only ONE trailing newline is forgiven: a second is a pasted line break, refused by name.
    std::fs::write(&file, format!("{SECRET}\n\n")).unwrap();
    let vars = with(
        base.clone(),
        &[("PVE_API_TOKEN_SECRET_FILE", file.to_str().unwrap())],
    );
    let out = run(&vars, &args).await;
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("PVE_API_TOKEN_SECRET_FILE: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("white space"), "{}", out.stderr);
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);

    // Given twice: both places are named, the secret is not.
    std::fs::write(&file, SECRET).unwrap();
    let twice = with(vars.clone(), &[("PVE_API_TOKEN_SECRET", SECRET)]);
    let out = run(&twice, &args).await;
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("PVE_API_TOKEN_SECRET and PVE_API_TOKEN_SECRET_FILE"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    let credentials = world.path("creds");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::write(credentials.join("PVE_API_TOKEN_SECRET"), SECRET).unwrap();
    let out = run(
        &with(
            vars.clone(),
            &[("CREDENTIALS_DIRECTORY", credentials.to_str().unwrap())],
        ),
        &args,
    )
    .await;
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("PVE_API_TOKEN_SECRET_FILE and the systemd credential"),
        "{}",
        out.stderr
    );

    // A missing or empty file names the variable and the path.
    let missing = with(
        base.clone(),
        &[("PVE_API_TOKEN_SECRET_FILE", "/nonexistent/secret")],
    );
    let out = run(&missing, &args).await;
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("PVE_API_TOKEN_SECRET_FILE: cannot read '/nonexistent/secret'"),
        "{}",
        out.stderr
    );
    std::fs::write(&file, "\n").unwrap();
    let out = run(&vars, &args).await;
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("is empty"), "{}", out.stderr);
    assert!(
        world.requests().is_empty(),
        "no request before the configuration is valid"
    );
}

/// The words of a command line, `%S` (systemd's state root) resolved.
fn words(command: &str) -> Vec<String> {
    command
        .split_whitespace()
        .map(|w| w.replace("%S", "/var/lib"))
        .collect()
}

/// Every `Key=value` of one section of a unit file, in order (comments skipped).
fn section(unit: &str, name: &str) -> Vec<(String, String)> {
    let mut current = String::new();
    let mut keys = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not Key=value: {line}"));
        if current == name {
            keys.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    keys
}

fn value<'a>(keys: &'a [(String, String)], key: &str) -> &'a str {
    keys.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{key} missing: {keys:?}"))
}

fn contrib(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("contrib")
            .join(path),
    )
    .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The installed binary and a command line the real CLI accepts.
fn assert_runs_the_real_cli(command: &[String]) {
    assert_eq!(
        command[0], "/usr/local/bin/pve-backup-report",
        "README installs it there"
    );
    if let Err(err) = Cli::try_parse_from(command) {
        panic!("{command:?} is not a valid command line: {err}");
    }
    for flag in ["--env-file", "--output", "--quiet"] {
        assert!(command.iter().any(|w| w == flag), "{flag} in {command:?}");
    }
}

#[test]
fn the_systemd_units_are_hardened_and_call_the_real_cli() {
    let service = contrib("systemd/pve-backup-report.service");
    let unit = section(&service, "Unit");
    assert!(value(&unit, "After").contains("network-online.target"));
    let keys = section(&service, "Service");
    assert_eq!(value(&keys, "Type"), "oneshot");
    for (key, expected) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("StateDirectory", "pve-backup-report"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(value(&keys, key), expected, "{key}");
    }
    let credential = value(&keys, "LoadCredential");
    assert!(
        credential.starts_with("PVE_API_TOKEN_SECRET:/etc/pve-backup-report/"),
        "the credential is named like the variable the program looks for: {credential}"
    );
    let command = words(value(&keys, "ExecStart"));
    assert_runs_the_real_cli(&command);
    let output = command.iter().position(|w| w == "--output").unwrap();
    assert_eq!(
        command[output + 1],
        "/var/lib/pve-backup-report",
        "the StateDirectory"
    );
    assert!(
        !service.contains("API_TOKEN_SECRET="),
        "no secret in the unit"
    );

    let timer = contrib("systemd/pve-backup-report.timer");
    let keys = section(&timer, "Timer");
    assert!(!value(&keys, "OnCalendar").is_empty());
    assert_eq!(value(&keys, "Persistent"), "true");
    assert_eq!(
        value(&section(&timer, "Install"), "WantedBy"),
        "timers.target"
    );
}

#[test]
fn the_cron_line_calls_the_real_cli() {
    let cron = contrib("cron.d/pve-backup-report");
    let jobs: Vec<&str> = cron
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.contains('='))
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let fields: Vec<String> = words(jobs[0]);
    // minute hour day month weekday user command…
    assert_eq!(fields[5], "pve-backup-report", "a dedicated user, not root");
    assert_runs_the_real_cli(&fields[6..]);
}

#[test]
fn the_example_env_file_holds_no_secret() {
    let env = contrib("etc/env");
    for line in env.lines().filter(|l| !l.starts_with('#')) {
        assert!(!line.contains("SECRET="), "{line}");
        assert!(!line.contains("PASSWORD="), "{line}");
    }
}

#[test]
fn systemd_analyze_accepts_the_units() {
    let Ok(analyze) = which("systemd-analyze") else {
        println!("note: systemd-analyze is not installed; the unit syntax check is skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // verify insists that ExecStart's binary exists: point it at the one just built.
    let service = contrib("systemd/pve-backup-report.service")
        .replace("/usr/local/bin/pve-backup-report", BIN);
    let service_path = dir.path().join("pve-backup-report.service");
    let timer_path = dir.path().join("pve-backup-report.timer");
    std::fs::write(&service_path, service).unwrap();
    std::fs::write(&timer_path, contrib("systemd/pve-backup-report.timer")).unwrap();
    let output = std::process::Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&service_path)
        .arg(&timer_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Unknown keys are only warned about (exit 0): any line about our units fails the test.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("pve-backup-report."))
        .collect();
    assert!(output.status.success() && ours.is_empty(), "{stderr}");
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or(())
}
