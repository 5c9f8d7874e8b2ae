//! The command line as typed: raw flags with their environment-variable fallbacks.
//!
//! Nothing here validates beyond "is it a string / a number": every check that can name a variable
//! and a fix lives in [`crate::config`], which turns this raw struct into a resolved configuration.
//! Secret-bearing flags hide their environment values from `--help`.

use std::path::PathBuf;

use clap::Parser;

/// Exit codes, as documented in `--help` and the README.
const EXIT_CODES_HELP: &str = "\
Exit codes (the highest that applies; --fail-on raises the threshold, --exit-zero always gives 0):
  0  every guest covered and fresh (--check-api: everything reachable and visible)
  1  warnings: stale, partial, covered only by disabled jobs, unverified, warning anomalies
  2  critical: a guest not covered, failed or never backed up (--check-api: a problem found)
  3  unknown: collection incomplete or evidence indeterminate, configuration or usage error";

/// Read-only backup coverage report for Proxmox VE and Proxmox Backup Server.
///
/// Configuration comes from flags, then environment variables, then a `.env` file (flags win).
/// PBS servers beyond the first are configured as numbered blocks `PBS01_HOST`, `PBS01_API_TOKEN_ID`, …
// No `Debug`: the raw secrets live here until `config` wraps them, so nothing may print this struct.
#[derive(Parser)]
#[command(name = "pve-backup-report", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Read variables from this file instead of `./.env` (existing environment variables win).
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// Probe every API endpoint the tool uses and report status, item counts, latency and what the
    /// token's privileges let it see.
    #[arg(long)]
    pub check_api: bool,

    /// Print the collected inventory (nodes, guests, storages, jobs, pools, task history, PBS
    /// evidence) and exit.
    #[arg(long, conflicts_with = "check_api")]
    pub dump_inventory: bool,

    /// Print the per-guest verdicts (one line per guest; the report JSON with --json) and exit.
    #[arg(long, conflicts_with_all = ["check_api", "dump_inventory"])]
    pub dump_coverage: bool,

    /// Print the complete report data as JSON (the documented contract) and exit.
    #[arg(long, conflicts_with_all = ["check_api", "dump_inventory", "dump_coverage"])]
    pub dump_report_data: bool,

    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Directory the report files are written to.
    #[arg(
        long,
        env = "PVE_REPORT_OUTPUT",
        value_name = "DIR",
        default_value = "."
    )]
    pub output: PathBuf,

    /// Report formats to write, comma-separated: html, md, json, prom.
    #[arg(
        long,
        env = "PVE_REPORT_FORMAT",
        value_name = "LIST",
        default_value = "html"
    )]
    pub format: String,

    /// Keep only the reports of the N newest dates in the output directory.
    #[arg(long, env = "PVE_REPORT_KEEP", value_name = "N")]
    pub keep: Option<String>,

    /// Compare with this earlier report JSON (default: the newest earlier JSON in the output dir).
    #[arg(long, value_name = "FILE")]
    pub previous: Option<PathBuf>,

    /// Freshness policy and exemptions (JSON; see docs/coverage-model.md).
    #[arg(long, env = "PVE_REPORT_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Lowest level that gives a non-zero exit code: warning, critical or unknown.
    #[arg(long, value_name = "LEVEL", default_value = "warning")]
    pub fail_on: String,

    /// Always exit 0 after writing the files (usage errors still exit 3).
    #[arg(long)]
    pub exit_zero: bool,

    /// Use this instant as "now" (RFC 3339, e.g. 2026-11-23T06:00:00Z): reports are reproducible.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,

    /// Save every API answer of this run (secrets removed) into DIR, for --replay and bug reports.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["replay", "demo"])]
    pub record: Option<PathBuf>,

    /// With --record: replace host, node and guest names by stable pseudonyms.
    #[arg(long, requires = "record")]
    pub redact_names: bool,

    /// Run offline from a folder written by --record (no server is contacted).
    #[arg(long, value_name = "DIR", conflicts_with = "demo")]
    pub replay: Option<PathBuf>,

    /// Run offline on the built-in demo recording (a small cluster with every interesting case).
    #[arg(long)]
    pub demo: bool,

    /// API path of the backup-job list (default /cluster/backup), for proxies that move it.
    #[arg(long, env = "PVE_BACKUP_JOBS_ENDPOINT", value_name = "PATH")]
    pub backup_jobs_endpoint: Option<String>,

    /// Read vzdump task history this many days back (default 14).
    #[arg(long, env = "PVE_TASK_HISTORY_DAYS", value_name = "DAYS")]
    pub history_days: Option<String>,

    /// Stop paging a node's task list after this many vzdump tasks (default 5000).
    #[arg(long, env = "PVE_TASK_HISTORY_LIMIT", value_name = "N")]
    pub task_history_limit: Option<String>,

    /// Read at most this many lines of one task log (default 100000).
    #[arg(long, env = "PVE_TASK_LOG_LIMIT", value_name = "LINES")]
    pub task_log_limit: Option<String>,

    /// PVE host: `host`, `host:port` or `https://host:port[/api2/json]` (default port 8006).
    #[arg(long, env = "PVE_HOST", value_name = "HOST")]
    pub pve_host: Option<String>,

    /// PVE API token id, `user@realm!tokenname`.
    #[arg(long, env = "PVE_API_TOKEN_ID", value_name = "ID")]
    pub pve_token_id: Option<String>,

    /// PVE API token secret (the UUID shown once when the token was created).
    #[arg(
        long,
        env = "PVE_API_TOKEN_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub pve_token_secret: Option<String>,

    /// PVE user for ticket login, `user@realm` (instead of a token).
    #[arg(long, env = "PVE_USER", value_name = "USER")]
    pub pve_user: Option<String>,

    /// Password for `--pve-user`.
    #[arg(
        long,
        env = "PVE_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub pve_password: Option<String>,

    /// Verify the PVE TLS certificate against the system roots (default true).
    #[arg(long, env = "PVE_VERIFY_TLS", value_name = "BOOL")]
    pub pve_verify_tls: Option<String>,

    /// PEM file with the CA that signed the PVE certificate (e.g. /etc/pve/pve-root-ca.pem).
    #[arg(long, env = "PVE_CA_CERT", value_name = "PATH")]
    pub pve_ca_cert: Option<PathBuf>,

    /// Accept exactly the PVE certificate with this SHA-256 fingerprint (`AA:BB:…`, 32 pairs).
    #[arg(long, env = "PVE_FINGERPRINT", value_name = "SHA256")]
    pub pve_fingerprint: Option<String>,

    /// Per-request timeout in seconds, for PVE and PBS (default 30).
    #[arg(long, env = "PVE_TIMEOUT", value_name = "SECONDS")]
    pub timeout: Option<String>,

    /// Maximum number of API requests in flight at once, over all servers (default 8).
    #[arg(long, env = "PVE_MAX_CONCURRENCY", value_name = "N")]
    pub max_concurrency: Option<String>,

    /// PBS host: `host`, `host:port` or `https://host:port` (default port 8007).
    #[arg(long, env = "PBS_HOST", value_name = "HOST")]
    pub pbs_host: Option<String>,

    /// Display name of the PBS server in reports (default: its host).
    #[arg(long, env = "PBS_NAME", value_name = "NAME")]
    pub pbs_name: Option<String>,

    /// PBS API token id, `user@realm!tokenname`.
    #[arg(long, env = "PBS_API_TOKEN_ID", value_name = "ID")]
    pub pbs_token_id: Option<String>,

    /// PBS API token secret.
    #[arg(
        long,
        env = "PBS_API_TOKEN_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub pbs_token_secret: Option<String>,

    /// PBS user for ticket login, `user@realm`.
    #[arg(long, env = "PBS_USER", value_name = "USER")]
    pub pbs_user: Option<String>,

    /// Password for `--pbs-user`.
    #[arg(
        long,
        env = "PBS_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub pbs_password: Option<String>,

    /// Verify the PBS TLS certificate against the system roots (default true).
    #[arg(long, env = "PBS_VERIFY_TLS", value_name = "BOOL")]
    pub pbs_verify_tls: Option<String>,

    /// PEM file with the CA that signed the PBS certificate.
    #[arg(long, env = "PBS_CA_CERT", value_name = "PATH")]
    pub pbs_ca_cert: Option<PathBuf>,

    /// Accept exactly the PBS certificate with this SHA-256 fingerprint.
    #[arg(long, env = "PBS_FINGERPRINT", value_name = "SHA256")]
    pub pbs_fingerprint: Option<String>,

    /// More log output on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// The `--env-file` value, found before clap runs so the file can feed clap's env fallbacks.
pub fn env_file_from_args(args: &[String]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--env-file" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--env-file=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_is_found_in_both_spellings() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
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
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
