//! The command line as typed: raw flags with their environment-variable fallbacks, grouped for
//! `--help`, plus what must be known before clap runs (which env file to load) and what is
//! generated from the definition itself (shell completions, the man page, the list of known
//! variable names).
//!
//! Nothing here validates beyond "is it a string / a number": every check that can name a variable
//! and a fix lives in [`crate::config`], which turns this raw struct into a resolved configuration.
//! Secret-bearing flags hide their environment values from `--help`.

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};

/// Where the env file is looked for when neither `--env-file` nor the variable names one.
pub const SYSTEM_ENV_FILE: &str = "/etc/pve-backup-report/env";

/// The variable that names the env file (after `--env-file`, before `./.env`).
pub const ENV_FILE_VARIABLE: &str = "PVE_BACKUP_REPORT_ENV";

/// Exit codes, configuration sources and examples, as shown after the flags in `--help`.
const AFTER_HELP: &str = "\
Configuration is read from flags, then environment variables, then ONE env file (flags win, then
the environment, then the file). The env file is the first of:
  --env-file PATH, $PVE_BACKUP_REPORT_ENV (both must exist), ./.env, /etc/pve-backup-report/env
Secrets can also come from files: PVE_API_TOKEN_SECRET_FILE, PVE_PASSWORD_FILE, PBS_…_FILE,
PBSnn_…_FILE, or a systemd credential of the variable's name ($CREDENTIALS_DIRECTORY/PVE_API_TOKEN_SECRET).

Exit codes (the highest that applies; --fail-on raises the threshold, --exit-zero always gives 0):
  0  every guest covered and fresh (--check-api: everything reachable and visible)
  1  warnings: stale, partial, covered only by disabled jobs, unverified, warning anomalies
  2  critical: a guest not covered, failed or never backed up (--check-api: a problem found)
  3  unknown: collection incomplete or evidence indeterminate, configuration or usage error
  141  stdout was closed early (e.g. piped into head); nothing else is printed

Examples:
  pve-backup-report --demo --output /tmp/demo          try it without a server
  pve-backup-report --check-api                        can the token see everything it needs?
  pve-backup-report --output /var/lib/pve-backup-report --format html,json --keep 30 -q
  pve-backup-report --nagios                           one monitoring-plugin line (Nagios, Icinga, Checkmk)
  pve-backup-report --output - --format json | jq .summary
  pve-backup-report --prom-file /var/lib/prometheus/node-exporter/pve_backup.prom -q
  pve-backup-report --generate completions=bash > /etc/bash_completion.d/pve-backup-report
  pve-backup-report --generate man > pve-backup-report.1";

const MODE: &str = "Mode (default: write the report files)";
const CONNECTION: &str = "Connection";
const PVE: &str = "PVE";
const PBS: &str = "PBS (more servers: PBS01_HOST, PBS01_API_TOKEN_ID, …)";
const REPORT: &str = "Report";
const OUTPUT: &str = "Output";
const COLLECTION: &str = "Collection";
const DEBUGGING: &str = "Debugging and offline runs";

/// Read-only backup coverage report for Proxmox VE and Proxmox Backup Server.
///
/// Configuration comes from flags, then environment variables, then an env file (flags win).
/// PBS servers beyond the first are configured as numbered blocks `PBS01_HOST`, `PBS01_API_TOKEN_ID`, …
// No `Debug`: the raw secrets live here until `config` wraps them, so nothing may print this struct.
#[derive(Parser)]
#[command(name = "pve-backup-report", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Probe every API endpoint the tool uses and report status, item counts, latency and what the
    /// token's privileges let it see.
    #[arg(long, help_heading = MODE)]
    pub check_api: bool,

    /// Print the collected inventory (nodes, guests, storages, jobs, pools, task history, PBS
    /// evidence) and exit.
    #[arg(long, conflicts_with = "check_api", help_heading = MODE)]
    pub dump_inventory: bool,

    /// Print the per-guest verdicts (one line per guest; the report JSON with --json) and exit.
    #[arg(long, conflicts_with_all = ["check_api", "dump_inventory"], help_heading = MODE)]
    pub dump_coverage: bool,

    /// Print the complete report data as JSON (the documented contract) and exit.
    #[arg(long, conflicts_with_all = ["check_api", "dump_inventory", "dump_coverage"], help_heading = MODE)]
    pub dump_report_data: bool,

    /// Print one monitoring-plugin line (`OK|WARNING|CRITICAL|UNKNOWN - summary | perfdata`) and
    /// exit with its status; no report files are written.
    #[arg(
        long,
        conflicts_with_all = ["check_api", "dump_inventory", "dump_coverage", "dump_report_data"],
        help_heading = MODE
    )]
    pub nagios: bool,

    /// Read variables from this file instead of searching $PVE_BACKUP_REPORT_ENV, ./.env and
    /// /etc/pve-backup-report/env (existing environment variables win).
    #[arg(long, value_name = "PATH", help_heading = CONNECTION)]
    pub env_file: Option<PathBuf>,

    /// Per-request timeout in seconds, for PVE and PBS (default 30).
    #[arg(long, env = "PVE_TIMEOUT", value_name = "SECONDS", help_heading = CONNECTION)]
    pub timeout: Option<String>,

    /// Largest API answer read, in MiB (default 256); a larger one is an error for that endpoint.
    #[arg(long, env = "PVE_MAX_ANSWER_MB", value_name = "MIB", help_heading = CONNECTION)]
    pub max_answer_mb: Option<String>,

    /// Maximum number of API requests in flight at once, over all servers (default 8).
    #[arg(long, env = "PVE_MAX_CONCURRENCY", value_name = "N", help_heading = CONNECTION)]
    pub max_concurrency: Option<String>,

    /// PVE host: `host`, `host:port` or `https://host:port[/api2/json]` (default port 8006).
    #[arg(long, env = "PVE_HOST", value_name = "HOST", help_heading = PVE)]
    pub pve_host: Option<String>,

    /// Name of the PVE cluster in reports (default: its host without the port). More clusters:
    /// `PVE01_HOST`, `PVE01_NAME`, … blocks in the environment, like the numbered PBS blocks.
    #[arg(long, env = "PVE_NAME", value_name = "NAME", help_heading = PVE)]
    pub pve_name: Option<String>,

    /// PVE API token id, `user@realm!tokenname`.
    #[arg(long, env = "PVE_API_TOKEN_ID", value_name = "ID", help_heading = PVE)]
    pub pve_token_id: Option<String>,

    /// PVE API token secret (the UUID shown once when the token was created). Prefer
    /// --pve-token-secret-file: a flag's value is visible in `ps`.
    #[arg(
        long,
        env = "PVE_API_TOKEN_SECRET",
        hide_env_values = true,
        value_name = "SECRET",
        help_heading = PVE
    )]
    pub pve_token_secret: Option<String>,

    /// File holding the PVE API token secret (one trailing newline is ignored).
    #[arg(long, env = "PVE_API_TOKEN_SECRET_FILE", value_name = "PATH", help_heading = PVE)]
    pub pve_token_secret_file: Option<PathBuf>,

    /// PVE user for ticket login, `user@realm` (instead of a token).
    #[arg(long, env = "PVE_USER", value_name = "USER", help_heading = PVE)]
    pub pve_user: Option<String>,

    /// Password for `--pve-user`.
    #[arg(
        long,
        env = "PVE_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD",
        help_heading = PVE
    )]
    pub pve_password: Option<String>,

    /// File holding the password for `--pve-user` (one trailing newline is ignored).
    #[arg(long, env = "PVE_PASSWORD_FILE", value_name = "PATH", help_heading = PVE)]
    pub pve_password_file: Option<PathBuf>,

    /// Verify the PVE TLS certificate against the system roots (default true).
    #[arg(long, env = "PVE_VERIFY_TLS", value_name = "BOOL", help_heading = PVE)]
    pub pve_verify_tls: Option<String>,

    /// PEM file with the CA that signed the PVE certificate (e.g. /etc/pve/pve-root-ca.pem).
    #[arg(long, env = "PVE_CA_CERT", value_name = "PATH", help_heading = PVE)]
    pub pve_ca_cert: Option<PathBuf>,

    /// Accept exactly the PVE certificate with this SHA-256 fingerprint (`AA:BB:…`, 32 pairs).
    #[arg(long, env = "PVE_FINGERPRINT", value_name = "SHA256", help_heading = PVE)]
    pub pve_fingerprint: Option<String>,

    /// PBS host: `host`, `host:port` or `https://host:port` (default port 8007).
    #[arg(long, env = "PBS_HOST", value_name = "HOST", help_heading = PBS)]
    pub pbs_host: Option<String>,

    /// Display name of the PBS server in reports (default: its host).
    #[arg(long, env = "PBS_NAME", value_name = "NAME", help_heading = PBS)]
    pub pbs_name: Option<String>,

    /// PBS API token id, `user@realm!tokenname`.
    #[arg(long, env = "PBS_API_TOKEN_ID", value_name = "ID", help_heading = PBS)]
    pub pbs_token_id: Option<String>,

    /// PBS API token secret. Prefer --pbs-token-secret-file: a flag's value is visible in `ps`.
    #[arg(
        long,
        env = "PBS_API_TOKEN_SECRET",
        hide_env_values = true,
        value_name = "SECRET",
        help_heading = PBS
    )]
    pub pbs_token_secret: Option<String>,

    /// File holding the PBS API token secret (one trailing newline is ignored).
    #[arg(long, env = "PBS_API_TOKEN_SECRET_FILE", value_name = "PATH", help_heading = PBS)]
    pub pbs_token_secret_file: Option<PathBuf>,

    /// PBS user for ticket login, `user@realm`.
    #[arg(long, env = "PBS_USER", value_name = "USER", help_heading = PBS)]
    pub pbs_user: Option<String>,

    /// Password for `--pbs-user`.
    #[arg(
        long,
        env = "PBS_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD",
        help_heading = PBS
    )]
    pub pbs_password: Option<String>,

    /// File holding the password for `--pbs-user` (one trailing newline is ignored).
    #[arg(long, env = "PBS_PASSWORD_FILE", value_name = "PATH", help_heading = PBS)]
    pub pbs_password_file: Option<PathBuf>,

    /// Verify the PBS TLS certificate against the system roots (default true).
    #[arg(long, env = "PBS_VERIFY_TLS", value_name = "BOOL", help_heading = PBS)]
    pub pbs_verify_tls: Option<String>,

    /// PEM file with the CA that signed the PBS certificate.
    #[arg(long, env = "PBS_CA_CERT", value_name = "PATH", help_heading = PBS)]
    pub pbs_ca_cert: Option<PathBuf>,

    /// Accept exactly the PBS certificate with this SHA-256 fingerprint.
    #[arg(long, env = "PBS_FINGERPRINT", value_name = "SHA256", help_heading = PBS)]
    pub pbs_fingerprint: Option<String>,

    /// API path of the backup-job list (default /cluster/backup), for proxies that move it.
    #[arg(long, env = "PVE_BACKUP_JOBS_ENDPOINT", value_name = "PATH", help_heading = COLLECTION)]
    pub backup_jobs_endpoint: Option<String>,

    /// Read vzdump task history this many days back (default 14).
    #[arg(long, env = "PVE_TASK_HISTORY_DAYS", value_name = "DAYS", help_heading = COLLECTION)]
    pub history_days: Option<String>,

    /// Stop paging a node's task list after this many vzdump tasks (default 5000).
    #[arg(long, env = "PVE_TASK_HISTORY_LIMIT", value_name = "N", help_heading = COLLECTION)]
    pub task_history_limit: Option<String>,

    /// Read at most this many lines of one task log (default 100000).
    #[arg(long, env = "PVE_TASK_LOG_LIMIT", value_name = "LINES", help_heading = COLLECTION)]
    pub task_log_limit: Option<String>,

    /// Which guest configs to read for their notes: `on-demand` (default: only guests whose
    /// verdict is not healthy, plus those no job's volume list shows) or `all` (one request per
    /// guest).
    #[arg(long, env = "PVE_NOTES", value_name = "on-demand|all", help_heading = COLLECTION)]
    pub notes: Option<String>,

    /// Directory of the cache of finished task logs (default $XDG_CACHE_HOME/pve-backup-report,
    /// else ~/.cache/pve-backup-report).
    #[arg(long, env = "PVE_CACHE_DIR", value_name = "DIR", help_heading = COLLECTION)]
    pub cache_dir: Option<PathBuf>,

    /// Read every task log again instead of using the cache (nothing is read from or written to
    /// it). `PVE_NO_CACHE=true|false`; the flag alone means true.
    #[arg(
        long,
        env = "PVE_NO_CACHE",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        help_heading = COLLECTION
    )]
    pub no_cache: Option<String>,

    /// Compare with this earlier report JSON (default: the newest earlier JSON in the output dir).
    #[arg(long, value_name = "FILE", help_heading = REPORT)]
    pub previous: Option<PathBuf>,

    /// Freshness policy and exemptions (JSON; see docs/coverage-model.md).
    #[arg(long, env = "PVE_REPORT_POLICY", value_name = "FILE", help_heading = REPORT)]
    pub policy: Option<PathBuf>,

    /// Lowest level that gives a non-zero exit code: warning, critical or unknown.
    #[arg(long, value_name = "LEVEL", default_value = "warning", help_heading = REPORT)]
    pub fail_on: String,

    /// Always exit 0 after writing the files (usage errors still exit 3).
    #[arg(long, help_heading = REPORT)]
    pub exit_zero: bool,

    /// Use this instant as "now" (RFC 3339, e.g. 2026-11-23T06:00:00Z): reports are reproducible.
    #[arg(long, value_name = "RFC3339", help_heading = REPORT)]
    pub now: Option<String>,

    /// Print machine-readable JSON instead of text.
    #[arg(long, help_heading = OUTPUT)]
    pub json: bool,

    /// Directory the report files are written to; `-` prints the one --format to stdout.
    #[arg(
        long,
        env = "PVE_REPORT_OUTPUT",
        value_name = "DIR",
        default_value = ".",
        help_heading = OUTPUT
    )]
    pub output: PathBuf,

    /// Report formats to write, comma-separated: html, md, json, prom.
    #[arg(
        long,
        env = "PVE_REPORT_FORMAT",
        value_name = "LIST",
        default_value = "html",
        help_heading = OUTPUT
    )]
    pub format: String,

    /// Keep only the reports of the N newest dates in the output directory.
    #[arg(long, env = "PVE_REPORT_KEEP", value_name = "N", help_heading = OUTPUT)]
    pub keep: Option<String>,

    /// Also write the Prometheus metrics to exactly this file, atomically (for node_exporter's
    /// textfile collector: no dated copies beside it).
    #[arg(long, env = "PVE_REPORT_PROM_FILE", value_name = "PATH", help_heading = OUTPUT)]
    pub prom_file: Option<PathBuf>,

    /// Silent when all is well: no summary, only errors and one line on stderr when the report
    /// needs attention (for cron, which mails whatever is printed).
    #[arg(short, long, conflicts_with = "verbose", help_heading = OUTPUT)]
    pub quiet: bool,

    /// Save every API answer of this run (secrets removed) into DIR, for --replay and bug reports.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["replay", "demo"], help_heading = DEBUGGING)]
    pub record: Option<PathBuf>,

    /// With --record: replace host, node and guest names by stable pseudonyms.
    #[arg(long, requires = "record", help_heading = DEBUGGING)]
    pub redact_names: bool,

    /// Run offline from a folder written by --record (no server is contacted).
    #[arg(long, value_name = "DIR", conflicts_with = "demo", help_heading = DEBUGGING)]
    pub replay: Option<PathBuf>,

    /// Run offline on the built-in demo recording (a small cluster with every interesting case).
    #[arg(long, help_heading = DEBUGGING)]
    pub demo: bool,

    /// More log output on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, help_heading = DEBUGGING)]
    pub verbose: u8,

    /// Print shell completions (`completions=bash`, `zsh`, `fish`, `elvish`, `powershell`) or the
    /// man page (`man`) and exit.
    #[arg(long, value_name = "WHAT", hide = true)]
    pub generate: Option<String>,
}

/// Where the env file of a run was found, for messages and the debug log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvFileOrigin {
    /// `--env-file PATH`.
    Flag,
    /// `$PVE_BACKUP_REPORT_ENV`.
    Variable,
    /// `./.env` in the working directory.
    WorkingDirectory,
    /// `/etc/pve-backup-report/env`.
    System,
}

impl EnvFileOrigin {
    /// How a message names this origin.
    pub fn label(self) -> &'static str {
        match self {
            EnvFileOrigin::Flag => "--env-file",
            EnvFileOrigin::Variable => ENV_FILE_VARIABLE,
            EnvFileOrigin::WorkingDirectory => "./.env",
            EnvFileOrigin::System => SYSTEM_ENV_FILE,
        }
    }
}

/// Why the env file could not be chosen, generated or read.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `--env-file` or `$PVE_BACKUP_REPORT_ENV` names a file that does not exist.
    #[error("{origin} names {path}, which does not exist. Fix: point it at an existing env file (see .env.example), or unset it to search ./.env and {SYSTEM_ENV_FILE}")]
    MissingEnvFile {
        /// `--env-file` or the variable.
        origin: &'static str,
        /// The path it names.
        path: PathBuf,
    },
    /// `--generate` got something it cannot generate.
    #[error(
        "--generate {0}: unknown. Fix: use man, or completions=bash|zsh|fish|elvish|powershell"
    )]
    UnknownGenerate(String),
    /// Writing the generated text failed.
    #[error("cannot write the generated {what}: {source}")]
    Write {
        /// `man` or the shell.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The `--env-file` value, found before clap runs so the file can feed clap's env fallbacks.
pub fn env_file_from_args(args: &[String]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            return None;
        }
        if arg == "--env-file" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--env-file=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

/// The env file to load: `--env-file`, then `$PVE_BACKUP_REPORT_ENV` (`from_variable`), then
/// `./.env`, then [`SYSTEM_ENV_FILE`]; the first that exists. An explicitly named file that does
/// not exist is an error rather than a silent fall-through, since the run would otherwise go on
/// with settings the admin did not mean. `exists` is injected so the order can be tested without
/// touching `/etc`.
pub fn find_env_file(
    args: &[String],
    from_variable: Option<&str>,
    exists: impl Fn(&Path) -> bool,
) -> Result<Option<(PathBuf, EnvFileOrigin)>, CliError> {
    let explicit = env_file_from_args(args)
        .map(|path| (path, EnvFileOrigin::Flag))
        .or_else(|| {
            from_variable
                .filter(|v| !v.is_empty())
                .map(|v| (PathBuf::from(v), EnvFileOrigin::Variable))
        });
    if let Some((path, origin)) = explicit {
        if !exists(&path) {
            return Err(CliError::MissingEnvFile {
                origin: origin.label(),
                path,
            });
        }
        return Ok(Some((path, origin)));
    }
    for (path, origin) in [
        (PathBuf::from(".env"), EnvFileOrigin::WorkingDirectory),
        (PathBuf::from(SYSTEM_ENV_FILE), EnvFileOrigin::System),
    ] {
        if exists(&path) {
            return Ok(Some((path, origin)));
        }
    }
    Ok(None)
}

/// Write what `--generate` asks for: `man` (a roff man page) or `completions=<shell>` (a bare
/// shell name is accepted too), both from the clap definition so they never drift from `--help`.
pub fn generate(what: &str, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    let mut command = Cli::command();
    if what == "man" {
        return clap_mangen::Man::new(command)
            .render(out)
            .map_err(|source| CliError::Write {
                what: "man page".into(),
                source,
            });
    }
    let shell_name = what.strip_prefix("completions=").unwrap_or(what);
    let shell: clap_complete::Shell = shell_name
        .parse()
        .map_err(|_| CliError::UnknownGenerate(what.to_string()))?;
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut command, "pve-backup-report", &mut buffer);
    out.write_all(&buffer)
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Write {
            what: format!("{shell} completions"),
            source,
        })
}

/// Every environment variable the command line reads, plus [`ENV_FILE_VARIABLE`], sorted: the
/// reference for "did you mean" warnings, taken from the clap definition so a new flag's variable
/// is known without a second list to maintain.
pub fn known_variables() -> Vec<String> {
    let command = Cli::command();
    let mut names: Vec<String> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .filter_map(|name| name.to_str().map(str::to_string))
        .collect();
    names.push(ENV_FILE_VARIABLE.to_string());
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn env_file_is_found_in_both_spellings() {
        assert_eq!(
            env_file_from_args(&args(&["x", "--env-file", "a.env"])),
            Some(PathBuf::from("a.env"))
        );
        assert_eq!(
            env_file_from_args(&args(&["x", "--env-file=b.env", "--check-api"])),
            Some(PathBuf::from("b.env"))
        );
        assert_eq!(env_file_from_args(&args(&["x", "--check-api"])), None);
    }

    #[test]
    fn env_file_search_order() {
        let all = |_: &Path| true;
        let none = |_: &Path| false;
        let flag = args(&["x", "--env-file", "a.env"]);
        let bare = args(&["x"]);
        assert_eq!(
            find_env_file(&flag, Some("b.env"), all).unwrap(),
            Some((PathBuf::from("a.env"), EnvFileOrigin::Flag))
        );
        assert_eq!(
            find_env_file(&bare, Some("b.env"), all).unwrap(),
            Some((PathBuf::from("b.env"), EnvFileOrigin::Variable))
        );
        assert_eq!(
            find_env_file(&bare, Some(""), all).unwrap(),
            Some((PathBuf::from(".env"), EnvFileOrigin::WorkingDirectory))
        );
        let only_system = |p: &Path| p == Path::new(SYSTEM_ENV_FILE);
        assert_eq!(
            find_env_file(&bare, None, only_system).unwrap(),
            Some((PathBuf::from(SYSTEM_ENV_FILE), EnvFileOrigin::System))
        );
        assert_eq!(find_env_file(&bare, None, none).unwrap(), None);
        // An explicit file that is missing never falls through to ./.env or /etc.
        let err = find_env_file(&flag, None, only_system).unwrap_err();
        assert!(
            err.to_string().starts_with("--env-file names a.env"),
            "{err}"
        );
        let err = find_env_file(&bare, Some("b.env"), only_system).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("PVE_BACKUP_REPORT_ENV names b.env"),
            "{err}"
        );
    }

    #[test]
    fn known_variables_come_from_the_definition() {
        let known = known_variables();
        for name in [
            "PVE_HOST",
            "PVE_API_TOKEN_SECRET_FILE",
            "PBS_PASSWORD_FILE",
            "PVE_REPORT_PROM_FILE",
            ENV_FILE_VARIABLE,
        ] {
            assert!(known.iter().any(|k| k == name), "{name}: {known:?}");
        }
    }

    #[test]
    fn generate_knows_man_and_shells() {
        for what in ["man", "completions=bash", "zsh", "completions=fish"] {
            let mut out = Vec::new();
            generate(what, &mut out).unwrap();
            assert!(out.len() > 1000, "{what}");
        }
        assert!(generate("completions=tcsh", &mut Vec::new()).is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
