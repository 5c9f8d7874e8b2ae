//! Resolved configuration: every check on user input, done once, before any request is sent.
//!
//! [`Config::resolve`] takes the raw command line ([`crate::cli::Cli`], which already merged flags and
//! environment variables) plus a snapshot of the environment (for the numbered `PBS01_…` blocks) and
//! either returns a fully validated [`Config`] or a [`ConfigError`] that names the variable and the fix.
//! Secrets are wrapped in [`Secret`] as soon as they are read.
//!
//! Config is the first stage of the pipeline and imports no later one: it owns plain option data
//! (server settings, collection limits, report formats, the fail-on level, the policy file's text),
//! and the later stages build their own types from it (`api` its transport types, `coverage` the
//! parsed policy, `exit` the threshold).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;

use crate::cli::Cli;
use crate::secret::Secret;

/// Default PVE API port.
pub const PVE_DEFAULT_PORT: u16 = 8006;
/// Default PBS API port.
pub const PBS_DEFAULT_PORT: u16 = 8007;
/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default number of requests in flight: a real pveproxy has only a few workers.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;
/// Default limit on one answer's size, in MiB: far above a 5 000-guest cluster's largest answer.
pub const DEFAULT_MAX_ANSWER_MB: u64 = 256;

/// Which product a server block configures: decides default port, token separator and messages.
/// Private: the transport's own kind (`api::ServerKind`) is built from where a setting sits in
/// [`Config`] (`pve` or `pbs`), so config needs no type from a later stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Product {
    Pve,
    Pbs,
}

impl Product {
    fn label(self) -> &'static str {
        match self {
            Product::Pve => "PVE",
            Product::Pbs => "PBS",
        }
    }
}

/// An API token id split into its parts: `user@realm!name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenId {
    /// `user@realm`.
    pub user: String,
    /// The token name after `!`.
    pub name: String,
}

impl TokenId {
    /// The full id, `user@realm!name`.
    pub fn full(&self) -> String {
        format!("{}!{}", self.user, self.name)
    }
}

/// How to authenticate against one server, as configured (plain data; `api::Auth` is built from it).
#[derive(Debug, Clone)]
pub enum Credentials {
    /// API token (recommended): sent as an `Authorization` header on every request.
    Token {
        /// The token id.
        id: TokenId,
        /// The token secret.
        secret: Secret,
    },
    /// User and password: one `POST /access/ticket`, then a ticket cookie, renewed before expiry.
    Password {
        /// `user@realm`.
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Credentials {
    /// A non-secret description: the token id or the user name.
    pub fn identity(&self) -> String {
        match self {
            Credentials::Token { id, .. } => id.full(),
            Credentials::Password { username, .. } => username.clone(),
        }
    }
}

/// How the server's TLS certificate is to be checked, as configured (`api::TlsMode` is built from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsChoice {
    /// Verify against the system's root certificates (the default).
    SystemRoots,
    /// Verify against the CA certificate(s) in this PEM file.
    CaFile(PathBuf),
    /// Accept exactly the certificate with this SHA-256 fingerprint, self-signed included.
    Fingerprint([u8; 32]),
    /// Accept any certificate. Only when explicitly asked for (`*_VERIFY_TLS=false`).
    Insecure,
}

/// One server block, fully validated: plain settings the API layer turns into its transport types.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Name used in reports: the `PVE_NAME`/`PVEnn_NAME` or `PBS_NAME`/`PBSnn_NAME`, else the host
    /// without its port.
    pub name: String,
    /// Base URL ending in `/api2/json/`.
    pub base_url: Url,
    /// Credentials.
    pub credentials: Credentials,
    /// Certificate check.
    pub tls: TlsChoice,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The largest answer read from this server, in bytes; a larger one is an error for its endpoint.
    pub max_answer_bytes: u64,
    /// The environment-variable prefix this server was configured with (`PVE`, `PBS`, `PBS01`, …),
    /// so messages can name the exact variable to change.
    pub env_prefix: String,
}

/// Where the API answers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Ask the configured servers.
    Live,
    /// Ask the servers and save every answer into a folder.
    Record {
        /// The folder.
        dir: PathBuf,
        /// Replace host, node and guest names by pseudonyms.
        redact_names: bool,
    },
    /// Answer from a recording folder.
    Replay(PathBuf),
    /// Answer from the recording built into the binary.
    Demo,
}

/// What the run should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--check-api`: endpoint and privilege diagnostics.
    CheckApi,
    /// `--dump-inventory`: print what was collected.
    DumpInventory,
    /// `--dump-coverage`: print the per-guest verdicts.
    DumpCoverage,
    /// `--dump-report-data`: print the report JSON.
    DumpReportData,
    /// `--nagios`: print one monitoring-plugin line; no report files.
    Nagios,
    /// No mode flag: the nightly report (not built yet: it needs the collectors and coverage engine).
    Report,
}

/// The resolved configuration of one run.
#[derive(Debug, Clone)]
pub struct Config {
    /// What to do.
    pub mode: Mode,
    /// Print JSON instead of text.
    pub json: bool,
    /// Zero or more PVE clusters (`PVE_…` and the numbered `PVEnn_…` blocks), sorted by name.
    pub pve: Vec<ServerSettings>,
    /// Zero or more PBS servers, sorted by name.
    pub pbs: Vec<ServerSettings>,
    /// Requests in flight at once over all servers.
    pub max_concurrency: usize,
    /// Live, recording, replay or demo.
    pub input: Input,
    /// The fixed "now" from `--now` (None: the clock, read once).
    pub now: Option<DateTime<Utc>>,
    /// History window and paging limits.
    pub collect: CollectOptions,
    /// Where and how the report is written, and how the run ends.
    pub report: ReportOptions,
    /// Draw a live status line on stderr while collecting (set by `main` for a terminal).
    pub show_progress: bool,
}

/// How far back and how much to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectOptions {
    /// Read vzdump tasks that started within this many days before `now`.
    pub history_days: u32,
    /// Stop paging a node's task list after this many tasks (`PVE_TASK_HISTORY_LIMIT`).
    pub task_history_limit: usize,
    /// Read at most this many lines of one task log (`PVE_TASK_LOG_LIMIT`).
    pub task_log_limit: usize,
    /// Items per page when paging task lists.
    pub task_page_size: usize,
    /// Lines per page when paging a task log.
    pub log_page_size: usize,
    /// Read each guest's config (notes, disks excluded from backup): one request per guest.
    pub guest_configs: bool,
    /// Which guests' configs are read for their notes (`--notes`).
    pub notes: NotesMode,
    /// Path segments of the backup-job list below `/api2/json` (`PVE_BACKUP_JOBS_ENDPOINT`).
    pub jobs_endpoint: Vec<String>,
    /// Root directory of the cache of finished task logs' parsed results; `None`: no cache
    /// (`--no-cache`, no directory to put it in, or an input that must not use it).
    pub task_log_cache: Option<PathBuf>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            history_days: 14,
            task_history_limit: 5000,
            task_log_limit: 100_000,
            task_page_size: 500,
            log_page_size: 5000,
            guest_configs: true,
            notes: NotesMode::OnDemand,
            jobs_endpoint: vec!["cluster".into(), "backup".into()],
            task_log_cache: None,
        }
    }
}

/// Which guest configs a run reads for their notes (`--notes`, `PVE_NOTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotesMode {
    /// Only guests whose verdict is not healthy (or whose volumes no job's `included_volumes`
    /// shows): a healthy guest's notes cannot change its verdict.
    OnDemand,
    /// Every guest: one config request per guest, so the report shows every guest's notes.
    All,
}

/// A report format, with its file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// `.html`
    Html,
    /// `.md`
    Markdown,
    /// `.json`
    Json,
    /// `.prom` (Prometheus textfile collector)
    Prometheus,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [
        Format::Html,
        Format::Markdown,
        Format::Json,
        Format::Prometheus,
    ];

    /// The file extension, without dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Markdown => "md",
            Format::Json => "json",
            Format::Prometheus => "prom",
        }
    }

    /// The format whose file extension this is.
    pub fn from_extension(extension: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|format| format.extension() == extension)
    }
}

/// The lowest level that gives a non-zero exit code (`--fail-on`); `exit` maps it to its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailOn {
    /// Warnings and above.
    Warning,
    /// Critical and unknown only.
    Critical,
    /// Unknown only.
    Unknown,
}

/// A policy file as read: its path (for messages) and its text, parsed by `coverage` at run start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The JSON text.
    pub text: String,
}

/// Report output and exit-code settings.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Directory for report files.
    pub output_dir: PathBuf,
    /// Formats to write, in a stable order, without duplicates.
    pub formats: Vec<Format>,
    /// Keep the reports of this many newest dates.
    pub keep: Option<usize>,
    /// An explicit previous report for the drift section.
    pub previous: Option<PathBuf>,
    /// The freshness policy file (None: the defaults).
    pub policy: Option<PolicyFile>,
    /// Lowest level that gives a non-zero exit code.
    pub fail_on: FailOn,
    /// Always exit 0.
    pub exit_zero: bool,
    /// `--output -`: print the one requested format to stdout instead of writing files.
    pub to_stdout: bool,
    /// Also write the Prometheus text to exactly this file (`--prom-file`).
    pub prom_file: Option<PathBuf>,
    /// `-q`: say nothing on a healthy run, one stderr line when the report needs attention.
    pub quiet: bool,
}

/// A configuration problem, named by variable, with the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value is malformed.
    #[error("{variable}: {problem}. Fix: {fix}")]
    Invalid {
        /// The variable (and flag) that holds the bad value.
        variable: String,
        /// What is wrong, without echoing secrets.
        problem: String,
        /// How to write it correctly.
        fix: String,
    },
    /// A required value is missing.
    #[error("{variable} is not set. Fix: {fix}")]
    Missing {
        /// The variable that is needed.
        variable: String,
        /// How to provide it.
        fix: String,
    },
    /// Two settings contradict each other.
    #[error("{first} and {second} are both set: {why}. Fix: {fix}")]
    Conflict {
        /// One variable.
        first: String,
        /// The other variable.
        second: String,
        /// Why they cannot be combined.
        why: String,
        /// What to do.
        fix: String,
    },
    /// Nothing to talk to.
    #[error("no server is configured. Fix: set PVE_HOST (and PVE_API_TOKEN_ID / PVE_API_TOKEN_SECRET), or PBS_HOST, in the environment or a .env file; see .env.example")]
    NothingConfigured,
}

impl ConfigError {
    /// The policy file named by `--policy` does not parse; found when `coverage` reads it.
    pub fn bad_policy(file: &PolicyFile, problem: impl std::fmt::Display) -> ConfigError {
        invalid(
            POLICY_VARIABLE,
            format!("'{}': {problem}", file.path.display()),
            "fix the JSON; every field is described in docs/coverage-model.md",
        )
    }
}

const POLICY_VARIABLE: &str = "PVE_REPORT_POLICY (--policy)";

fn invalid(variable: &str, problem: impl Into<String>, fix: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        variable: variable.to_string(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// The raw, still unvalidated settings of one server, with the names of the variables they came from.
#[derive(Debug, Default, Clone)]
struct RawServer {
    prefix: String,
    name: Option<String>,
    host: Option<String>,
    token_id: Option<String>,
    token_secret: Option<SecretInput>,
    user: Option<String>,
    password: Option<SecretInput>,
    verify_tls: Option<String>,
    ca_cert: Option<PathBuf>,
    fingerprint: Option<String>,
}

impl RawServer {
    fn var(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.prefix)
    }

    fn is_empty(&self) -> bool {
        self.host.is_none()
            && self.token_id.is_none()
            && self.token_secret.is_none()
            && self.user.is_none()
            && self.password.is_none()
    }

    fn from_env(prefix: &str, env: &BTreeMap<String, String>) -> Result<RawServer, ConfigError> {
        let get = |suffix: &str| non_empty(env.get(&format!("{prefix}_{suffix}")).cloned());
        let secret = |suffix: &str, value: Option<String>| {
            let file = get(&format!("{suffix}_FILE")).map(PathBuf::from);
            secret_input(&format!("{prefix}_{suffix}"), value, file, env)
        };
        Ok(RawServer {
            prefix: prefix.to_string(),
            name: get("NAME"),
            host: get("HOST"),
            token_id: get("API_TOKEN_ID"),
            token_secret: secret(
                "API_TOKEN_SECRET",
                present(env.get(&format!("{prefix}_API_TOKEN_SECRET")).cloned()),
            )?,
            user: get("USER"),
            password: secret("PASSWORD", get("PASSWORD"))?,
            verify_tls: get("VERIFY_TLS"),
            ca_cert: get("CA_CERT").map(PathBuf::from),
            fingerprint: get("FINGERPRINT"),
        })
    }
}

/// A secret as read, with the name of where it came from (`PVE_API_TOKEN_SECRET`,
/// `PVE_API_TOKEN_SECRET_FILE`, or the systemd credential), so a refusal names the right place.
#[derive(Debug, Clone)]
struct SecretInput {
    text: String,
    source: String,
}

/// The variable that points at systemd's credential folder (`LoadCredential=`).
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// One secret from its three possible places: the value (`variable`, from a flag or the
/// environment), a file named by `variable_FILE`, and the systemd credential named `variable` in
/// `$CREDENTIALS_DIRECTORY`. More than one is refused rather than ranked: two places disagreeing
/// is a deployment mistake that should be fixed where it is, not guessed at.
fn secret_input(
    variable: &str,
    value: Option<String>,
    file: Option<PathBuf>,
    env: &BTreeMap<String, String>,
) -> Result<Option<SecretInput>, ConfigError> {
    let file_var = format!("{variable}_FILE");
    let credential = env
        .get(CREDENTIALS_DIRECTORY)
        .filter(|dir| !dir.is_empty())
        .map(|dir| PathBuf::from(dir).join(variable))
        .filter(|path| path.is_file());
    let credential_label =
        format!("the systemd credential {variable} (${CREDENTIALS_DIRECTORY}/{variable})");
    let mut given: Vec<String> = Vec::new();
    if value.is_some() {
        given.push(variable.to_string());
    }
    if file.is_some() {
        given.push(file_var.clone());
    }
    if credential.is_some() {
        given.push(credential_label.clone());
    }
    if given.len() > 1 {
        return Err(ConfigError::Conflict {
            first: given[0].clone(),
            second: given[1].clone(),
            why: "the same secret is given twice".into(),
            fix: format!(
                "keep one: {file_var} or the systemd credential keep the secret out of `ps` and the environment"
            ),
        });
    }
    if let Some(text) = value {
        return Ok(Some(SecretInput {
            text,
            source: variable.to_string(),
        }));
    }
    let (path, source) = match (file, credential) {
        (Some(path), _) => (path, file_var),
        (None, Some(path)) => (path, credential_label),
        (None, None) => return Ok(None),
    };
    Ok(Some(SecretInput {
        text: read_secret_file(&source, &path)?,
        source,
    }))
}

/// A secret file's contents minus ONE trailing newline (`echo secret > file` adds one); any
/// other white space stays, so the value check refuses it by name instead of it being repaired
/// into a different secret. The error names the path, never the contents.
fn read_secret_file(source: &str, path: &std::path::Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|err| {
        invalid(
            source,
            format!("cannot read '{}': {err}", path.display()),
            "point it at a file the report's user can read (mode 0600 or 0640)",
        )
    })?;
    let mut text = String::from_utf8(bytes).map_err(|_| {
        invalid(
            source,
            format!("'{}' is not UTF-8 text", path.display()),
            "write the secret alone into the file, as plain text",
        )
    })?;
    if text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with('\n') {
        text.truncate(text.len() - 1);
    }
    if text.is_empty() {
        return Err(invalid(
            source,
            format!("'{}' is empty", path.display()),
            "write the secret into the file",
        ));
    }
    Ok(text)
}

/// A set value exactly as given: a secret is not trimmed, so a pasted space is refused by name
/// instead of being silently repaired into a different secret.
fn present(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Config {
    /// Validate the command line and the environment snapshot (used for numbered `PBSnn_…` blocks).
    pub fn resolve(cli: &Cli, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let timeout = match non_empty(cli.timeout.clone()) {
            None => DEFAULT_TIMEOUT,
            Some(text) => parse_seconds("PVE_TIMEOUT (--timeout)", &text)?,
        };
        let max_answer_mb = match non_empty(cli.max_answer_mb.clone()) {
            None => DEFAULT_MAX_ANSWER_MB,
            Some(text) => match text.parse::<u64>() {
                Ok(n) if (1..=65_536).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "PVE_MAX_ANSWER_MB (--max-answer-mb)",
                        format!("'{text}' is not a number of MiB from 1 to 65536"),
                        "leave it unset for the default of 256, or raise it when one answer really is larger",
                    ))
                }
            },
        };
        let bounds = RequestBounds {
            timeout,
            max_answer_bytes: max_answer_mb * 1024 * 1024,
        };
        let max_concurrency = match non_empty(cli.max_concurrency.clone()) {
            None => DEFAULT_MAX_CONCURRENCY,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=64).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "PVE_MAX_CONCURRENCY (--max-concurrency)",
                        format!("'{text}' is not a number from 1 to 64"),
                        "use a small number such as 4 or 8: pveproxy has only a few workers",
                    ))
                }
            },
        };

        let pve_raw = RawServer {
            prefix: "PVE".into(),
            name: non_empty(cli.pve_name.clone()),
            host: non_empty(cli.pve_host.clone()),
            token_id: non_empty(cli.pve_token_id.clone()),
            token_secret: secret_input(
                "PVE_API_TOKEN_SECRET",
                present(cli.pve_token_secret.clone()),
                cli.pve_token_secret_file.clone(),
                env,
            )?,
            user: non_empty(cli.pve_user.clone()),
            password: secret_input(
                "PVE_PASSWORD",
                cli.pve_password.clone().filter(|p| !p.is_empty()),
                cli.pve_password_file.clone(),
                env,
            )?,
            verify_tls: non_empty(cli.pve_verify_tls.clone()),
            ca_cert: cli.pve_ca_cert.clone(),
            fingerprint: non_empty(cli.pve_fingerprint.clone()),
        };
        let pve = server_blocks(Product::Pve, &pve_raw, env, bounds)?;

        let first_pbs = RawServer {
            prefix: "PBS".into(),
            name: non_empty(cli.pbs_name.clone()),
            host: non_empty(cli.pbs_host.clone()),
            token_id: non_empty(cli.pbs_token_id.clone()),
            token_secret: secret_input(
                "PBS_API_TOKEN_SECRET",
                present(cli.pbs_token_secret.clone()),
                cli.pbs_token_secret_file.clone(),
                env,
            )?,
            user: non_empty(cli.pbs_user.clone()),
            password: secret_input(
                "PBS_PASSWORD",
                cli.pbs_password.clone().filter(|p| !p.is_empty()),
                cli.pbs_password_file.clone(),
                env,
            )?,
            verify_tls: non_empty(cli.pbs_verify_tls.clone()),
            ca_cert: cli.pbs_ca_cert.clone(),
            fingerprint: non_empty(cli.pbs_fingerprint.clone()),
        };
        let pbs = server_blocks(Product::Pbs, &first_pbs, env, bounds)?;

        let input = if cli.demo {
            Input::Demo
        } else if let Some(dir) = &cli.replay {
            Input::Replay(dir.clone())
        } else if let Some(dir) = &cli.record {
            Input::Record {
                dir: dir.clone(),
                redact_names: cli.redact_names,
            }
        } else {
            Input::Live
        };
        let offline = matches!(input, Input::Demo | Input::Replay(_));
        if offline && cli.check_api {
            return Err(invalid(
                "--check-api",
                "it probes live servers and cannot run on a recording",
                "drop --replay/--demo, or drop --check-api",
            ));
        }
        if !offline && pve.is_empty() && pbs.is_empty() {
            return Err(ConfigError::NothingConfigured);
        }
        let now = match non_empty(cli.now.clone()) {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(&text)
                    .map_err(|err| {
                        invalid(
                            "--now",
                            format!("'{text}' is not an RFC 3339 time ({err})"),
                            "write it like 2026-11-23T06:00:00Z or 2026-11-23T07:00:00+01:00",
                        )
                    })?
                    .with_timezone(&Utc),
            ),
        };
        let defaults = CollectOptions::default();
        let history_days = parse_count(
            "PVE_TASK_HISTORY_DAYS (--history-days)",
            cli.history_days.as_deref(),
            defaults.history_days as usize,
            1..=3660,
            "a number of days such as 14 (a monthly job needs at least 31)",
        )?;
        let collect = CollectOptions {
            history_days: u32::try_from(history_days).unwrap_or(defaults.history_days),
            task_history_limit: parse_count(
                "PVE_TASK_HISTORY_LIMIT (--task-history-limit)",
                cli.task_history_limit.as_deref(),
                defaults.task_history_limit,
                1..=1_000_000,
                "a number of tasks per node such as 5000",
            )?,
            task_log_limit: parse_count(
                "PVE_TASK_LOG_LIMIT (--task-log-limit)",
                cli.task_log_limit.as_deref(),
                defaults.task_log_limit,
                100..=10_000_000,
                "a number of lines such as 100000",
            )?,
            jobs_endpoint: match non_empty(cli.backup_jobs_endpoint.clone()) {
                None => defaults.jobs_endpoint.clone(),
                Some(path) => parse_endpoint(&path)?,
            },
            // A recording is read again later, perhaps with another policy: it holds every
            // guest's config so a replay can answer whatever that run asks.
            notes: match (&input, non_empty(cli.notes.clone()).as_deref()) {
                (_, Some("all")) | (Input::Record { .. }, _) => NotesMode::All,
                (_, None | Some("on-demand")) => NotesMode::OnDemand,
                (_, Some(other)) => {
                    return Err(invalid(
                        "PVE_NOTES (--notes)",
                        format!("'{other}' is not a notes mode"),
                        "use on-demand or all",
                    ))
                }
            },
            // A recording must hold every answer, and replay and demo are offline and must stay
            // deterministic: only a plain live run reads or writes the cache.
            task_log_cache: match input {
                Input::Live => task_log_cache_dir(cli, env)?,
                Input::Record { .. } | Input::Replay(_) | Input::Demo => None,
            },
            ..defaults
        };
        let report = resolve_report_options(cli)?;
        Ok(Config {
            input,
            now,
            collect,
            report,
            show_progress: false,
            mode: if cli.check_api {
                Mode::CheckApi
            } else if cli.dump_inventory {
                Mode::DumpInventory
            } else if cli.dump_coverage {
                Mode::DumpCoverage
            } else if cli.dump_report_data {
                Mode::DumpReportData
            } else if cli.nagios {
                Mode::Nagios
            } else {
                Mode::Report
            },
            json: cli.json,
            pve,
            pbs,
            max_concurrency,
        })
    }
}

/// A `PVE_…` / `PBS…_…` variable that nothing reads, with the known name it most likely meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariable {
    /// The name as set (never its value, which may be a secret).
    pub name: String,
    /// The closest known name, when one is close enough to be a typo.
    pub suggestion: Option<String>,
}

/// Variables of `proxmox-backup-client`, which often shares a host's environment with this tool:
/// set on purpose, so not worth a warning every night.
const FOREIGN_VARIABLES: [&str; 8] = [
    "PBS_REPOSITORY",
    "PBS_ENCRYPTION_PASSWORD",
    "PBS_ENCRYPTION_PASSWORD_FILE",
    "PBS_ENCRYPTION_PASSWORD_FD",
    "PBS_ENCRYPTION_PASSWORD_CMD",
    "PBS_PASSWORD_FD",
    "PBS_PASSWORD_CMD",
    "PBS_LOG",
];

/// Every `PVE_…`, `PBS_…`, `PVEnn_…` and `PBSnn_…` variable in `env` that no setting reads,
/// sorted, each with the closest known name (`known` is [`crate::cli::known_variables`]). A
/// numbered block's name is compared with the server settings under its own prefix, so
/// `PBS02_HOSTT` suggests `PBS02_HOST` and `PVE02_NAM` suggests `PVE02_NAME`.
/// A misspelt variable would otherwise be ignored silently and the run would use a default.
pub fn unknown_variables(env: &BTreeMap<String, String>, known: &[String]) -> Vec<UnknownVariable> {
    let pbs_suffixes: Vec<&str> = known
        .iter()
        .filter_map(|k| k.strip_prefix("PBS_"))
        .collect();
    let mut unknown = Vec::new();
    for name in env.keys() {
        if FOREIGN_VARIABLES.contains(&name.as_str()) || known.contains(name) {
            continue;
        }
        let numbered = numbered_prefix(name);
        let candidates: Vec<String> = match &numbered {
            Some(prefix) => {
                let suffix = &name[prefix.len() + 1..];
                let suffixes: &[&str] = if prefix.starts_with("PVE") {
                    &PVE_SERVER_SUFFIXES
                } else {
                    &pbs_suffixes
                };
                if suffixes.contains(&suffix) {
                    continue;
                }
                suffixes.iter().map(|s| format!("{prefix}_{s}")).collect()
            }
            None if name.starts_with("PVE_") || name.starts_with("PBS_") => known.to_vec(),
            None => continue,
        };
        let suggestion = candidates
            .iter()
            .map(|candidate| (edit_distance(name, candidate), candidate))
            .filter(|(distance, _)| *distance <= 3)
            .min()
            .map(|(_, candidate)| candidate.clone());
        unknown.push(UnknownVariable {
            name: name.clone(),
            suggestion,
        });
    }
    unknown
}

/// Name of the tool's directory below the user's cache directory.
const CACHE_DIR_NAME: &str = "pve-backup-report";

/// Where the task-log cache lives: `--cache-dir`/`PVE_CACHE_DIR`, else `$XDG_CACHE_HOME`, else
/// `~/.cache` (each with the tool's own subdirectory); `None` with `--no-cache`/`PVE_NO_CACHE` or
/// when no home is known (a cron job without `HOME` simply runs without the cache).
fn task_log_cache_dir(
    cli: &Cli,
    env: &BTreeMap<String, String>,
) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(text) = non_empty(cli.no_cache.clone()) {
        if parse_bool("PVE_NO_CACHE (--no-cache)", &text)? {
            return Ok(None);
        }
    }
    if let Some(dir) = cli.cache_dir.as_ref().filter(|d| !d.as_os_str().is_empty()) {
        return Ok(Some(dir.clone()));
    }
    // The XDG spec says a relative XDG_CACHE_HOME is invalid and to be ignored.
    let xdg = env
        .get("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute());
    let base = xdg.or_else(|| {
        env.get("HOME")
            .map(PathBuf::from)
            .filter(|home| home.is_absolute())
            .map(|home| home.join(".cache"))
    });
    Ok(base.map(|base| base.join(CACHE_DIR_NAME)))
}

/// `PBS07` for `PBS07_ANYTHING`, `PVE02` for `PVE02_ANYTHING`; None for any other name.
fn numbered_prefix(name: &str) -> Option<String> {
    let product = ["PBS", "PVE"].into_iter().find(|p| name.starts_with(p))?;
    let rest = &name[product.len()..];
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    (digits > 0 && rest[digits..].starts_with('_')).then(|| format!("{product}{}", &rest[..digits]))
}

/// What a numbered `PVEnn_…` block may set: the settings of one server, not the run-wide
/// `PVE_…` ones (`PVE_TIMEOUT`, `PVE_NOTES`, …).
const PVE_SERVER_SUFFIXES: [&str; 11] = [
    "HOST",
    "NAME",
    "API_TOKEN_ID",
    "API_TOKEN_SECRET",
    "API_TOKEN_SECRET_FILE",
    "USER",
    "PASSWORD",
    "PASSWORD_FILE",
    "VERIFY_TLS",
    "CA_CERT",
    "FINGERPRINT",
];

/// Levenshtein distance over bytes (variable names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `PBS01`, `PBS02`, … (or `PVE01`, …) for every `PBSnn_HOST`-style variable present, sorted.
fn numbered_prefixes(env: &BTreeMap<String, String>, product: &str) -> Vec<String> {
    let mut prefixes: Vec<String> = env
        .keys()
        .filter_map(|key| numbered_prefix(key).filter(|p| p.starts_with(product)))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    prefixes
}

/// Every server block of a product: the first (flags and `PVE_…`/`PBS_…`, when given) and the
/// numbered `PVEnn_…`/`PBSnn_…` ones, sorted by name. Two with the same name are refused:
/// reports, recordings and the Prometheus `cluster` label tell servers apart by it.
fn server_blocks(
    product: Product,
    first: &RawServer,
    env: &BTreeMap<String, String>,
    bounds: RequestBounds,
) -> Result<Vec<ServerSettings>, ConfigError> {
    let label = product.label();
    let mut servers = Vec::new();
    if !first.is_empty() {
        servers.push(resolve_server(product, first, bounds)?);
    }
    for prefix in numbered_prefixes(env, label) {
        let raw = RawServer::from_env(&prefix, env)?;
        if !raw.is_empty() {
            servers.push(resolve_server(product, &raw, bounds)?);
        }
    }
    servers.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in servers.windows(2) {
        if pair[0].name == pair[1].name {
            let what = match product {
                Product::Pve => "clusters",
                Product::Pbs => "PBS servers",
            };
            return Err(invalid(
                &format!("{label}_NAME / {label}nn_NAME"),
                format!("two {what} are both named '{}'", pair[0].name),
                format!("give each {label} block its own {label}nn_NAME"),
            ));
        }
    }
    Ok(servers)
}

fn resolve_report_options(cli: &Cli) -> Result<ReportOptions, ConfigError> {
    let mut formats = Vec::new();
    for item in cli
        .format
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let format = match item.to_ascii_lowercase().as_str() {
            "html" => Format::Html,
            "md" | "markdown" => Format::Markdown,
            "json" => Format::Json,
            "prom" | "prometheus" => Format::Prometheus,
            other => {
                return Err(invalid(
                    "PVE_REPORT_FORMAT (--format)",
                    format!("'{other}' is not a report format"),
                    "list some of html, md, json, prom separated by commas, e.g. html,json",
                ))
            }
        };
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    if formats.is_empty() {
        return Err(invalid(
            "PVE_REPORT_FORMAT (--format)",
            "no format given",
            "list some of html, md, json, prom, e.g. html",
        ));
    }
    formats.sort();
    let to_stdout = cli.output.as_os_str() == "-";
    if to_stdout && formats.len() > 1 {
        return Err(invalid(
            "PVE_REPORT_OUTPUT (--output)",
            format!(
                "'-' (stdout) carries exactly one format, but PVE_REPORT_FORMAT (--format) lists '{}'",
                cli.format.trim()
            ),
            "ask for one format (e.g. --format json) with --output -, or give --output a directory",
        ));
    }
    let keep = match cli.keep.as_deref() {
        None => None,
        Some(text) => Some(parse_count(
            "PVE_REPORT_KEEP (--keep)",
            Some(text),
            1,
            1..=100_000,
            "the number of report dates to keep, e.g. 30",
        )?),
    };
    // Only read here, so a missing file is named before any request; `coverage` parses the text.
    let policy = match &cli.policy {
        None => None,
        Some(path) => Some(PolicyFile {
            path: path.clone(),
            text: std::fs::read_to_string(path).map_err(|err| {
                invalid(
                    POLICY_VARIABLE,
                    format!("cannot read '{}': {err}", path.display()),
                    "point it at a readable JSON policy file (docs/coverage-model.md)",
                )
            })?,
        }),
    };
    let fail_on = match cli.fail_on.to_ascii_lowercase().as_str() {
        "warning" | "warn" => FailOn::Warning,
        "critical" | "crit" => FailOn::Critical,
        "unknown" => FailOn::Unknown,
        other => {
            return Err(invalid(
                "--fail-on",
                format!("'{other}' is not a level"),
                "use warning, critical or unknown",
            ))
        }
    };
    Ok(ReportOptions {
        output_dir: cli.output.clone(),
        formats,
        keep,
        previous: cli.previous.clone(),
        policy,
        fail_on,
        exit_zero: cli.exit_zero,
        to_stdout,
        prom_file: cli.prom_file.clone(),
        quiet: cli.quiet,
    })
}

/// `/cluster/backup` → `["cluster", "backup"]`; `/api2/json` in front is accepted.
fn parse_endpoint(text: &str) -> Result<Vec<String>, ConfigError> {
    let path = text
        .trim()
        .strip_prefix("/api2/json")
        .unwrap_or(text.trim());
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let valid = path.starts_with('/')
        && !segments.is_empty()
        && segments.iter().all(|s| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if valid {
        Ok(segments)
    } else {
        Err(invalid(
            "PVE_BACKUP_JOBS_ENDPOINT (--backup-jobs-endpoint)",
            format!("'{text}' is not an API path"),
            "write the path below /api2/json, e.g. /cluster/backup",
        ))
    }
}

fn parse_count(
    variable: &str,
    text: Option<&str>,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
    fix: &str,
) -> Result<usize, ConfigError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(default);
    };
    match text.parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(invalid(
            variable,
            format!(
                "'{text}' is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
            format!("write {fix}"),
        )),
    }
}

fn parse_seconds(variable: &str, text: &str) -> Result<Duration, ConfigError> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 3600.0 => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(invalid(
            variable,
            format!("'{text}' is not a number of seconds between 0 and 3600"),
            "write the timeout in seconds, e.g. 30",
        )),
    }
}

fn parse_bool(variable: &str, text: &str) -> Result<bool, ConfigError> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(
            variable,
            format!("'{text}' is not a boolean"),
            "write true or false (1/0, yes/no also work)",
        )),
    }
}

/// What every server block shares: the per-request bounds.
#[derive(Debug, Clone, Copy)]
struct RequestBounds {
    timeout: Duration,
    max_answer_bytes: u64,
}

fn resolve_server(
    kind: Product,
    raw: &RawServer,
    bounds: RequestBounds,
) -> Result<ServerSettings, ConfigError> {
    let host_var = raw.var("HOST");
    let host = raw.host.as_deref().ok_or_else(|| ConfigError::Missing {
        variable: host_var.clone(),
        fix: format!(
            "set {host_var} to the {} host name, e.g. {}",
            kind.label(),
            match kind {
                Product::Pve => "pve1.example.com or https://pve1.example.com:8006",
                Product::Pbs => "pbs.example.com or https://pbs.example.com:8007",
            }
        ),
    })?;
    let default_port = match kind {
        Product::Pve => PVE_DEFAULT_PORT,
        Product::Pbs => PBS_DEFAULT_PORT,
    };
    let base_url = parse_base_url(&host_var, host, default_port)?;
    let credentials = resolve_auth(kind, raw)?;
    let tls = resolve_tls(raw)?;
    let name = match (&raw.name, kind) {
        (Some(name), _) => name.clone(),
        (None, Product::Pve) => base_url.host_str().unwrap_or("pve").to_string(),
        (None, Product::Pbs) => base_url.host_str().unwrap_or("pbs").to_string(),
    };
    Ok(ServerSettings {
        name,
        base_url,
        credentials,
        tls,
        timeout: bounds.timeout,
        max_answer_bytes: bounds.max_answer_bytes,
        env_prefix: raw.prefix.clone(),
    })
}

/// Accepts `host`, `host:port`, `[v6]:port`, `https://host[:port][/api2/json[/]]`.
pub fn parse_base_url(variable: &str, text: &str, default_port: u16) -> Result<Url, ConfigError> {
    let fix = format!(
        "write {variable} as host, host:port or https://host:port (default port {default_port})"
    );
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("http://") {
        return Err(invalid(
            variable,
            format!("'{text}' uses plain http"),
            format!("Proxmox APIs only speak HTTPS: {fix}"),
        ));
    }
    let with_scheme = if lower.starts_with("https://") {
        text.to_string()
    } else if text.contains("://") {
        return Err(invalid(
            variable,
            format!("'{text}' has an unsupported scheme"),
            fix,
        ));
    } else {
        format!("https://{text}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|err| {
        invalid(
            variable,
            format!("'{text}' is not a valid URL ({err})"),
            fix.clone(),
        )
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(variable, format!("'{text}' has no host"), fix));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid(
            variable,
            format!("'{text}' carries a query, fragment or user name"),
            fix,
        ));
    }
    let path = url.path().trim_end_matches('/');
    if !(path.is_empty() || path == "/api2/json") {
        return Err(invalid(
            variable,
            format!("'{text}' has the path '{}'", url.path()),
            format!("leave the path out (or use /api2/json): {fix}"),
        ));
    }
    if url.port().is_none() {
        // `set_port` only fails for URLs that cannot have a port; https URLs always can.
        let _ = url.set_port(Some(default_port));
    }
    url.set_path("/api2/json/");
    Ok(url)
}

fn resolve_auth(kind: Product, raw: &RawServer) -> Result<Credentials, ConfigError> {
    let id_var = raw.var("API_TOKEN_ID");
    let secret_var = raw.var("API_TOKEN_SECRET");
    let has_token = raw.token_id.is_some() || raw.token_secret.is_some();
    let has_password = raw.user.is_some() || raw.password.is_some();
    if has_token && has_password {
        return Err(ConfigError::Conflict {
            first: id_var,
            second: raw.var("USER"),
            why: "a server is reached either with an API token or with a user and password".into(),
            fix: "keep the token variables (recommended) and remove the user/password ones".into(),
        });
    }
    if has_password {
        let user_var = raw.var("USER");
        let username = raw.user.clone().ok_or_else(|| ConfigError::Missing {
            variable: user_var.clone(),
            fix: format!(
                "set {user_var}=user@realm (e.g. root@pam) next to {}",
                raw.var("PASSWORD")
            ),
        })?;
        if !username.contains('@') {
            return Err(invalid(
                &user_var,
                format!("'{username}' has no realm"),
                format!("write it as user@realm, e.g. {username}@pam or {username}@pve"),
            ));
        }
        let password = raw.password.clone().ok_or_else(|| ConfigError::Missing {
            variable: raw.var("PASSWORD"),
            fix: format!(
                "set {} (or {}_FILE) for {username}",
                raw.var("PASSWORD"),
                raw.var("PASSWORD")
            ),
        })?;
        return Ok(Credentials::Password {
            username,
            password: Secret::new(password.text),
        });
    }
    let id_text = raw.token_id.as_deref().ok_or_else(|| ConfigError::Missing {
        variable: id_var.clone(),
        fix: format!(
            "create a read-only API token and set {id_var}=user@realm!tokenname and {secret_var}=<secret>"
        ),
    })?;
    let id = parse_token_id(kind, &id_var, &secret_var, id_text)?;
    let secret_input = raw
        .token_secret
        .as_ref()
        .ok_or_else(|| ConfigError::Missing {
            variable: secret_var.clone(),
            fix: format!(
                "set {secret_var} (or {secret_var}_FILE) to the secret shown when the token {} was created",
                id.full()
            ),
        })?;
    let secret = parse_token_secret(kind, &secret_input.source, &secret_input.text)?;
    Ok(Credentials::Token { id, secret })
}

fn parse_token_id(
    kind: Product,
    id_var: &str,
    secret_var: &str,
    text: &str,
) -> Result<TokenId, ConfigError> {
    let header = match kind {
        Product::Pve => "PVEAPIToken=",
        Product::Pbs => "PBSAPIToken=",
    };
    let example = "monitor@pve!report";
    if text.starts_with("PVEAPIToken") || text.starts_with("PBSAPIToken") {
        return Err(invalid(
            id_var,
            format!("the value starts with a '{header}' header prefix"),
            format!("set only the token id, e.g. {example}; the tool builds the header itself"),
        ));
    }
    // A whole `id=secret` or `id:secret` pasted into the id variable. Never echo the part after it.
    for separator in ['=', ':'] {
        if let Some(idx) = text.find(separator) {
            let pbs_hint = if kind == Product::Pbs && separator == '=' {
                " (PBS separates id and secret with ':', PVE with '=' — but here they belong in two variables)"
            } else {
                ""
            };
            return Err(invalid(
                id_var,
                format!(
                    "'{}…' contains '{separator}': it looks like token id and secret pasted together{pbs_hint}",
                    &text[..idx]
                ),
                format!("set {id_var}={} and put the secret alone in {secret_var}", &text[..idx]),
            ));
        }
    }
    // A value without '@' may be a secret pasted into the wrong variable: do not echo it.
    let shown = if text.contains('@') {
        format!("'{text}'")
    } else {
        "the value".to_string()
    };
    let prefix = id_var.strip_suffix("_API_TOKEN_ID").unwrap_or(id_var);
    let Some((user, name)) = text.split_once('!') else {
        return Err(invalid(
            id_var,
            format!("{shown} has no '!tokenname' part"),
            format!("an API token id is user@realm!tokenname, e.g. {example}; a plain user logs in with {prefix}_USER and {prefix}_PASSWORD instead"),
        ));
    };
    let Some((user_part, realm)) = user.split_once('@') else {
        return Err(invalid(
            id_var,
            format!("{shown} has no '@realm' in the user part"),
            format!("write user@realm!tokenname, e.g. {example}"),
        ));
    };
    if user_part.is_empty() || realm.is_empty() {
        return Err(invalid(
            id_var,
            format!("'{text}' has an empty user or realm"),
            format!("write user@realm!tokenname, e.g. {example}"),
        ));
    }
    let mut chars = name.chars();
    let valid_name = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !valid_name {
        return Err(invalid(
            id_var,
            format!("the token name '{name}' is not valid"),
            "a token name starts with a letter and has at least 2 characters from A-Z a-z 0-9 . - _",
        ));
    }
    Ok(TokenId {
        user: user.to_string(),
        name: name.to_string(),
    })
}

fn parse_token_secret(kind: Product, secret_var: &str, text: &str) -> Result<Secret, ConfigError> {
    // Each shape below is a paste accident that would otherwise reach the server as a wrong
    // header (`PBSAPIToken=id:=…`) and come back as a bare 401. Messages never echo the value.
    let refuse = |problem: &str, fix: &str| Err(invalid(secret_var, problem, fix));
    let lower = text.trim().to_ascii_lowercase();
    if lower.starts_with("pveapitoken") || lower.starts_with("pbsapitoken") {
        return refuse(
            "the value starts with an 'API token' header prefix",
            "set only the secret (the UUID shown at token creation); the tool builds the header",
        );
    }
    if text != text.trim() {
        return refuse(
            "the value starts or ends with white space",
            "copy the secret again without leading or trailing spaces or line breaks",
        );
    }
    if text.starts_with(['"', '\'']) || text.ends_with(['"', '\'']) {
        return refuse(
            "the value starts or ends with a quote that is part of the value",
            "remove the inner quotes: in a .env file write NAME=secret or NAME=\"secret\", once",
        );
    }
    if let Some(first) = text.chars().next().filter(|c| matches!(c, '=' | ':')) {
        return refuse(
            &format!("the value starts with '{first}', the separator between token id and secret"),
            "set only the part after the separator (the UUID shown at token creation)",
        );
    }
    if text.contains('!') && text.contains('@') {
        let separator = match kind {
            Product::Pve => '=',
            Product::Pbs => ':',
        };
        return Err(invalid(
            secret_var,
            format!("the value contains a token id (user@realm!name{separator}…)"),
            format!("put the id in its own variable and only the secret in {secret_var}"),
        ));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(invalid(
            secret_var,
            "the secret contains white space",
            "copy the secret again without spaces or line breaks",
        ));
    }
    Ok(Secret::new(text))
}

fn resolve_tls(raw: &RawServer) -> Result<TlsChoice, ConfigError> {
    let verify = match &raw.verify_tls {
        None => true,
        Some(text) => parse_bool(&raw.var("VERIFY_TLS"), text)?,
    };
    let fingerprint = match &raw.fingerprint {
        None => None,
        Some(text) => Some(parse_fingerprint(&raw.var("FINGERPRINT"), text)?),
    };
    match (&raw.ca_cert, fingerprint) {
        (Some(_), Some(_)) => Err(ConfigError::Conflict {
            first: raw.var("CA_CERT"),
            second: raw.var("FINGERPRINT"),
            why: "a certificate is either checked against a CA or pinned by fingerprint".into(),
            fix: "keep one of the two".into(),
        }),
        (Some(path), None) => {
            if !path.is_file() {
                return Err(invalid(
                    &raw.var("CA_CERT"),
                    format!("'{}' is not a readable file", path.display()),
                    "point it at a PEM file, e.g. a copy of /etc/pve/pve-root-ca.pem",
                ));
            }
            Ok(TlsChoice::CaFile(path.clone()))
        }
        (None, Some(pin)) => Ok(TlsChoice::Fingerprint(pin)),
        (None, None) if verify => Ok(TlsChoice::SystemRoots),
        (None, None) => Ok(TlsChoice::Insecure),
    }
}

/// Parse a SHA-256 fingerprint as Proxmox shows it (`AB:CD:…`, 32 pairs); plain hex is accepted too.
pub fn parse_fingerprint(variable: &str, text: &str) -> Result<[u8; 32], ConfigError> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    let fix = "copy the SHA-256 fingerprint as shown by `pvenode cert info` or the PBS dashboard: 32 hex pairs separated by ':'";
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid(
            variable,
            format!("'{text}' is not a SHA-256 fingerprint"),
            fix,
        ));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| invalid(variable, format!("'{text}' is not hex"), fix))?;
    }
    Ok(out)
}

/// Render a fingerprint the way Proxmox shows it: uppercase hex pairs joined by `:`.
pub fn format_fingerprint(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        let mut full = vec!["pve-backup-report"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full).unwrap()
    }

    fn resolve(args: &[&str]) -> Result<Config, ConfigError> {
        Config::resolve(&cli(args), &BTreeMap::new())
    }

    const SECRET: &str = "0c1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8";

    fn pve_token_args(id: &str) -> Vec<String> {
        vec![
            "--pve-host".into(),
            "pve1.example.com".into(),
            "--pve-token-id".into(),
            id.into(),
            "--pve-token-secret".into(),
            SECRET.into(),
        ]
    }

    fn resolve_owned(args: &[String]) -> Result<Config, ConfigError> {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        resolve(&refs)
    }

    #[test]
    fn host_forms_all_resolve_to_the_api_base() {
        for (text, expected) in [
            ("pve1", "https://pve1:8006/api2/json/"),
            ("pve1:9006", "https://pve1:9006/api2/json/"),
            (
                "https://pve1.example.com",
                "https://pve1.example.com:8006/api2/json/",
            ),
            (
                "https://pve1:8006/api2/json",
                "https://pve1:8006/api2/json/",
            ),
            (
                "https://10.0.0.1:8006/api2/json/",
                "https://10.0.0.1:8006/api2/json/",
            ),
            ("[::1]:8006", "https://[::1]:8006/api2/json/"),
        ] {
            let url = parse_base_url("PVE_HOST", text, 8006).unwrap();
            assert_eq!(url.as_str(), expected, "{text}");
        }
        let v6 = parse_base_url("PVE_HOST", "[::1]", 8006).unwrap();
        assert_eq!((v6.host_str(), v6.port()), (Some("[::1]"), Some(8006)));
    }

    #[test]
    fn bad_hosts_name_the_variable_and_the_fix() {
        for text in [
            "http://pve1",
            "ftp://pve1",
            "https://",
            "https://pve1/foo",
            "pve1:notaport",
            "https://pve1?x=1",
        ] {
            let err = parse_base_url("PVE_HOST", text, 8006)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("PVE_HOST: "), "{text}: {err}");
            assert!(err.contains("Fix:"), "{text}: {err}");
        }
    }

    #[test]
    fn token_id_must_have_user_realm_and_name() {
        let config = resolve_owned(&pve_token_args("monitor@pve!report")).unwrap();
        let pve = config.pve.into_iter().next().unwrap();
        match &pve.credentials {
            Credentials::Token { id, secret } => {
                assert_eq!(id.user, "monitor@pve");
                assert_eq!(id.name, "report");
                assert_eq!(secret.expose(), SECRET);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(pve.tls, TlsChoice::SystemRoots);
        assert_eq!(pve.name, "pve1.example.com", "the host, without its port");
        for (bad, needle) in [
            ("monitor@pve", "'!tokenname'"),
            ("monitor!report", "'@realm'"),
            ("monitor@pve!1x", "token name"),
            ("PVEAPIToken=monitor@pve!report", "header prefix"),
        ] {
            let err = resolve_owned(&pve_token_args(bad)).unwrap_err().to_string();
            assert!(err.contains("PVE_API_TOKEN_ID"), "{bad}: {err}");
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn id_and_secret_pasted_together_is_explained_without_the_secret() {
        let err = resolve_owned(&pve_token_args(&format!("monitor@pve!report={SECRET}")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pasted together"), "{err}");
        assert!(!err.contains(SECRET), "{err}");
        let err = resolve(&[
            "--pbs-host",
            "pbs1",
            "--pbs-token-id",
            &format!("monitor@pbs!audit={SECRET}"),
            "--pbs-token-secret",
            SECRET,
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("PBS_API_TOKEN_ID"), "{err}");
        assert!(err.contains("':'"), "{err}");
        assert!(!err.contains(SECRET), "{err}");
    }

    #[test]
    fn the_cache_directory_follows_flags_then_xdg_then_home() {
        let args = pve_token_args("monitor@pve!report");
        let dir = |extra: &[&str], env: &[(&str, &str)]| {
            let mut all: Vec<&str> = vec!["x"];
            all.extend(args.iter().map(String::as_str));
            all.extend_from_slice(extra);
            let env = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::resolve(&Cli::parse_from(all), &env)
                .unwrap()
                .collect
                .task_log_cache
        };
        let home = [("HOME", "/home/u")];
        let xdg = [("HOME", "/home/u"), ("XDG_CACHE_HOME", "/var/cache/u")];
        let relative_xdg = [("HOME", "/home/u"), ("XDG_CACHE_HOME", "cache")];
        let some = |p: &str| Some(PathBuf::from(p));
        assert_eq!(dir(&[], &[]), None);
        assert_eq!(dir(&[], &home), some("/home/u/.cache/pve-backup-report"));
        assert_eq!(dir(&[], &xdg), some("/var/cache/u/pve-backup-report"));
        assert_eq!(
            dir(&[], &relative_xdg),
            some("/home/u/.cache/pve-backup-report")
        );
        assert_eq!(dir(&["--cache-dir", "/srv/c"], &xdg), some("/srv/c"));
        assert_eq!(dir(&["--cache-dir", "/srv/c", "--no-cache"], &xdg), None);
        assert_eq!(
            dir(&["--no-cache=false"], &home),
            some("/home/u/.cache/pve-backup-report")
        );
        assert_eq!(dir(&["--record", "/tmp/rec"], &xdg), None);
        assert_eq!(dir(&["--demo"], &xdg), None);
        assert_eq!(dir(&["--replay", "/tmp/rec"], &xdg), None);
    }

    #[test]
    fn a_secret_pasted_into_the_id_variable_is_not_echoed() {
        let err = resolve_owned(&pve_token_args(SECRET))
            .unwrap_err()
            .to_string();
        assert!(!err.contains(SECRET), "{err}");
    }

    #[test]
    fn secret_with_header_prefix_is_refused() {
        let mut args = pve_token_args("monitor@pve!report");
        args[5] = format!("PVEAPIToken=monitor@pve!report={SECRET}");
        let err = resolve_owned(&args).unwrap_err().to_string();
        assert!(err.starts_with("PVE_API_TOKEN_SECRET"), "{err}");
        assert!(!err.contains(SECRET), "{err}");
    }

    /// Resolve a PBS block given by environment variables only, with this token secret.
    fn resolve_pbs_secret(prefix: &str, secret: &str) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = [
            (format!("{prefix}_HOST"), "pbs1.example.com".to_string()),
            (
                format!("{prefix}_API_TOKEN_ID"),
                "monitor@pbs!audit".to_string(),
            ),
            (format!("{prefix}_API_TOKEN_SECRET"), secret.to_string()),
        ]
        .into_iter()
        .collect();
        // `PBS_…` reaches config through clap's env fallback, numbered blocks through `env`.
        if prefix == "PBS" {
            Config::resolve(
                &cli(&[
                    "--pbs-host",
                    "pbs1.example.com",
                    "--pbs-token-id",
                    "monitor@pbs!audit",
                    "--pbs-token-secret",
                    secret,
                ]),
                &BTreeMap::new(),
            )
        } else {
            Config::resolve(&cli(&[]), &env)
        }
    }

    #[test]
    fn pasted_secret_shapes_are_refused_by_variable_without_echo() {
        let shapes = [
            (format!("={SECRET}"), "starts with '='"),
            (format!(":{SECRET}"), "starts with ':'"),
            (format!("\"{SECRET}\""), "quote"),
            (format!("'{SECRET}'"), "quote"),
            (format!("\"{SECRET}"), "quote"),
            (format!(" {SECRET}"), "white space"),
            (format!("{SECRET} "), "white space"),
            (format!("{SECRET}\n"), "white space"),
            (format!("PVEAPIToken={SECRET}"), "header prefix"),
            (format!("PBSAPIToken={SECRET}"), "header prefix"),
            (format!("pbsapitoken={SECRET}"), "header prefix"),
        ];
        for (shape, needle) in &shapes {
            let mut args = pve_token_args("monitor@pve!report");
            args[5] = shape.clone();
            let err = resolve_owned(&args).unwrap_err().to_string();
            assert!(err.starts_with("PVE_API_TOKEN_SECRET"), "{shape:?}: {err}");
            assert!(err.contains(needle), "{shape:?}: {err}");
            assert!(!err.contains(SECRET), "{shape:?}: {err}");
            for prefix in ["PBS", "PBS01", "PBS07"] {
                let err = resolve_pbs_secret(prefix, shape).unwrap_err().to_string();
                assert!(
                    err.starts_with(&format!("{prefix}_API_TOKEN_SECRET")),
                    "{prefix} {shape:?}: {err}"
                );
                assert!(err.contains(needle), "{prefix} {shape:?}: {err}");
                assert!(!err.contains(SECRET), "{prefix} {shape:?}: {err}");
            }
        }
        // The plain secret is accepted for every block.
        for prefix in ["PBS", "PBS01"] {
            let config = resolve_pbs_secret(prefix, SECRET).unwrap();
            match &config.pbs[0].credentials {
                Credentials::Token { secret, .. } => assert_eq!(secret.expose(), SECRET),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn password_login_needs_user_with_realm() {
        let config = resolve(&[
            "--pve-host",
            "pve1",
            "--pve-user",
            "root@pam",
            "--pve-password",
            "pw",
        ])
        .unwrap();
        assert!(matches!(
            config.pve.into_iter().next().unwrap().credentials,
            Credentials::Password { .. }
        ));
        let err = resolve(&[
            "--pve-host",
            "pve1",
            "--pve-user",
            "root",
            "--pve-password",
            "pw",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("root@pam"), "{err}");
        let err = resolve(&["--pve-host", "pve1", "--pve-password", "pw"]).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }), "{err}");
        let mut args = pve_token_args("monitor@pve!report");
        args.extend(["--pve-user".into(), "root@pam".into()]);
        assert!(matches!(
            resolve_owned(&args),
            Err(ConfigError::Conflict { .. })
        ));
    }

    #[test]
    fn tls_modes() {
        let fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
        let mut args = pve_token_args("monitor@pve!report");
        args.extend(["--pve-fingerprint".into(), fp.into()]);
        let config = resolve_owned(&args).unwrap();
        match config.pve.into_iter().next().unwrap().tls {
            TlsChoice::Fingerprint(bytes) => assert_eq!(format_fingerprint(&bytes), fp),
            other => panic!("{other:?}"),
        }
        let mut args = pve_token_args("monitor@pve!report");
        args.extend(["--pve-verify-tls".into(), "false".into()]);
        assert_eq!(
            resolve_owned(&args)
                .unwrap()
                .pve
                .into_iter()
                .next()
                .unwrap()
                .tls,
            TlsChoice::Insecure
        );
        let mut args = pve_token_args("monitor@pve!report");
        args.extend(["--pve-verify-tls".into(), "maybe".into()]);
        assert!(resolve_owned(&args)
            .unwrap_err()
            .to_string()
            .starts_with("PVE_VERIFY_TLS"));
        let mut args = pve_token_args("monitor@pve!report");
        args.extend(["--pve-fingerprint".into(), "AB:CD".into()]);
        assert!(resolve_owned(&args)
            .unwrap_err()
            .to_string()
            .starts_with("PVE_FINGERPRINT"));
        let mut args = pve_token_args("monitor@pve!report");
        args.extend(["--pve-ca-cert".into(), "/nonexistent/ca.pem".into()]);
        assert!(resolve_owned(&args)
            .unwrap_err()
            .to_string()
            .starts_with("PVE_CA_CERT"));
        assert_eq!(
            parse_fingerprint("X", &fp.replace(':', "").to_lowercase()).unwrap(),
            parse_fingerprint("X", fp).unwrap()
        );
    }

    #[test]
    fn numbered_pbs_blocks_are_read_and_sorted_by_name() {
        let env: BTreeMap<String, String> = [
            ("PBS02_HOST", "pbs-b.example.com"),
            ("PBS02_API_TOKEN_ID", "monitor@pbs!audit"),
            ("PBS02_API_TOKEN_SECRET", SECRET),
            ("PBS01_HOST", "pbs-a.example.com:8107"),
            ("PBS01_NAME", "offsite"),
            ("PBS01_API_TOKEN_ID", "monitor@pbs!audit"),
            ("PBS01_API_TOKEN_SECRET", SECRET),
            ("PBS01_VERIFY_TLS", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = Config::resolve(
            &cli(&[
                "--pbs-host",
                "pbs-main",
                "--pbs-token-id",
                "m@pbs!a1",
                "--pbs-token-secret",
                SECRET,
            ]),
            &env,
        )
        .unwrap();
        let names: Vec<_> = config.pbs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["offsite", "pbs-b.example.com", "pbs-main"]);
        assert_eq!(
            config.pbs[0].base_url.as_str(),
            "https://pbs-a.example.com:8107/api2/json/"
        );
        assert_eq!(config.pbs[0].tls, TlsChoice::Insecure);
        assert_eq!(config.pbs[1].base_url.port(), Some(8007));
        assert!(config.pve.is_empty());

        let mut broken = env.clone();
        broken.insert("PBS02_API_TOKEN_ID".into(), "monitor@pbs".into());
        let err = Config::resolve(&cli(&[]), &broken).unwrap_err().to_string();
        assert!(err.starts_with("PBS02_API_TOKEN_ID"), "{err}");
    }

    #[test]
    fn numbered_pve_blocks_are_clusters_sorted_by_name_and_named_once() {
        let env: BTreeMap<String, String> = [
            ("PVE01_HOST", "pve-lab.example.com"),
            ("PVE01_API_TOKEN_ID", "monitor@pve!report"),
            ("PVE01_API_TOKEN_SECRET", SECRET),
            ("PVE02_HOST", "https://10.0.0.5:8443"),
            ("PVE02_NAME", "branch"),
            ("PVE02_USER", "monitor@pve"),
            ("PVE02_PASSWORD", "pw"),
            // Run-wide settings are not a block.
            ("PVE_TIMEOUT", "10"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut args = pve_token_args("monitor@pve!report");
        args.extend(["--pve-name".into(), "prod".into()]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let config = Config::resolve(&cli(&refs), &env).unwrap();
        let names: Vec<_> = config.pve.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["branch", "prod", "pve-lab.example.com"]);
        let prefixes: Vec<_> = config.pve.iter().map(|p| p.env_prefix.as_str()).collect();
        assert_eq!(prefixes, ["PVE02", "PVE", "PVE01"]);
        assert_eq!(config.pve[0].base_url.port(), Some(8443));

        let mut same = env.clone();
        same.insert("PVE01_NAME".into(), "branch".into());
        let err = Config::resolve(&cli(&[]), &same).unwrap_err().to_string();
        assert!(
            err.contains("two clusters are both named 'branch'"),
            "{err}"
        );
        assert!(err.contains("PVEnn_NAME"), "{err}");

        let mut typo = BTreeMap::new();
        typo.insert("PVE02_NAM".to_string(), "x".to_string());
        typo.insert("PVE02_TIMEOUT".to_string(), "x".to_string());
        let found = unknown_variables(&typo, &crate::cli::known_variables());
        let pairs: Vec<(&str, Option<&str>)> = found
            .iter()
            .map(|u| (u.name.as_str(), u.suggestion.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [("PVE02_NAM", Some("PVE02_NAME")), ("PVE02_TIMEOUT", None)]
        );
    }

    #[test]
    fn the_jobs_endpoint_can_be_moved() {
        assert_eq!(
            parse_endpoint("/cluster/backup").unwrap(),
            ["cluster", "backup"]
        );
        assert_eq!(
            parse_endpoint("/api2/json/cluster/backup/").unwrap(),
            ["cluster", "backup"]
        );
        assert!(parse_endpoint("cluster backup").is_err());
        assert!(parse_endpoint("/").is_err());
        let mut args = pve_token_args("monitor@pve!report");
        args.extend(["--backup-jobs-endpoint".into(), "/cluster/backup-v2".into()]);
        assert_eq!(
            resolve_owned(&args).unwrap().collect.jobs_endpoint,
            ["cluster", "backup-v2"]
        );
    }

    #[test]
    fn unknown_variables_get_the_closest_known_name() {
        let known = crate::cli::known_variables();
        let env: BTreeMap<String, String> = [
            "PVE_HOSTT",
            "PVE_HOST",
            "PBS03_FINGERPRNT",
            "PBS03_HOST",
            "PBS_REPOSITORY",
            "PVE_SOMETHING_ELSE_ENTIRELY",
            "PATH",
        ]
        .into_iter()
        .map(|k| (k.to_string(), "value".to_string()))
        .collect();
        let found = unknown_variables(&env, &known);
        let pairs: Vec<(&str, Option<&str>)> = found
            .iter()
            .map(|u| (u.name.as_str(), u.suggestion.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("PBS03_FINGERPRNT", Some("PBS03_FINGERPRINT")),
                ("PVE_HOSTT", Some("PVE_HOST")),
                ("PVE_SOMETHING_ELSE_ENTIRELY", None),
            ]
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn a_secret_file_loses_one_trailing_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        for (contents, expected) in [
            ("s3cret\n", Some("s3cret")),
            ("s3cret\r\n", Some("s3cret")),
            ("s3cret", Some("s3cret")),
            ("s3cret\n\n", Some("s3cret\n")),
            (" s3cret\n", Some(" s3cret")),
            ("\n", None),
        ] {
            std::fs::write(&path, contents).unwrap();
            let read = read_secret_file("X_FILE", &path).ok();
            assert_eq!(read.as_deref(), expected, "{contents:?}");
        }
    }

    #[test]
    fn stdout_takes_exactly_one_format() {
        let config = resolve(&["--demo", "--output", "-", "--format", "json"]).unwrap();
        assert!(config.report.to_stdout);
        let err = resolve(&["--demo", "--output", "-", "--format", "json,md"]).unwrap_err();
        assert!(
            err.to_string().starts_with("PVE_REPORT_OUTPUT (--output)"),
            "{err}"
        );
        assert!(!resolve(&["--demo"]).unwrap().report.to_stdout);
    }

    #[test]
    fn nothing_configured_is_an_error_with_a_fix() {
        let err = resolve(&[]).unwrap_err();
        assert_eq!(err, ConfigError::NothingConfigured);
        assert!(err.to_string().contains(".env.example"));
    }

    #[test]
    fn timeout_and_concurrency_are_checked() {
        let mut args = pve_token_args("monitor@pve!report");
        args.extend([
            "--timeout".into(),
            "2.5".into(),
            "--max-concurrency".into(),
            "4".into(),
        ]);
        let config = resolve_owned(&args).unwrap();
        assert_eq!(
            config.pve.into_iter().next().unwrap().timeout,
            Duration::from_millis(2500)
        );
        assert_eq!(config.max_concurrency, 4);
        for bad in [
            ["--timeout", "0"],
            ["--timeout", "soon"],
            ["--max-concurrency", "0"],
            ["--max-concurrency", "500"],
        ] {
            let mut args = pve_token_args("monitor@pve!report");
            args.extend(bad.iter().map(|s| s.to_string()));
            assert!(resolve_owned(&args).is_err(), "{bad:?}");
        }
    }
}
