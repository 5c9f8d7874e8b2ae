//! `--check-api`: try every endpoint the tool uses, independently, and explain what the credentials
//! can and cannot see.
//!
//! Each probe is one GET whose outcome (status, item count, latency) is recorded; one failure never
//! stops the others. The token's effective privileges (`GET /access/permissions`) are then compared
//! with what each capability needs (guests, backup jobs, task history, pools, storage content, PBS
//! datastores), naming the exact role and path to grant when something is missing, and the known
//! traps (privilege separation hiding data, 403 on the backup-job list, PBS token separator) are
//! recognised and explained.
//!
//! Requests go through the typed endpoint layer (`api::pve`, `api::pbs`), so the check asks exactly
//! what the collector asks (including `PVE_BACKUP_JOBS_ENDPOINT`), and every privilege fact comes
//! from the one table in `model::permissions`. Probing lives in `pve`/`pbs`, the verdicts in pure
//! functions of typed facts.

mod pbs;
mod probe;
mod pve;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::api::pbs::PbsApi;
use crate::api::pve::PveApi;
use crate::api::source::Source;
use crate::api::ApiClient;
use crate::api::{ServerConfig, ServerKind};
use crate::config::Config;
use crate::model::permissions::Need;
use probe::{Failure, Outcome};

/// The outcome of one probe.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Probe {
    /// `GET /path?query`.
    pub(crate) endpoint: String,
    /// What the report needs this endpoint for.
    pub(crate) purpose: String,
    /// `ok`, or a short failure label (`403`, `timeout`, `tls`, …).
    pub(crate) status: String,
    /// Items in the answer (list length, or members of an object), when it succeeded.
    pub(crate) items: Option<usize>,
    /// Milliseconds until the answer (including queueing under the concurrency limit).
    pub(crate) latency_ms: u64,
    /// The error message, when it failed.
    pub(crate) error: Option<String>,
    /// How to fix the failure, when there is something specific to say.
    pub(crate) hint: Option<String>,
}

impl Probe {
    /// Whether the endpoint answered successfully.
    pub(crate) fn ok(&self) -> bool {
        self.status == "ok"
    }
}

/// How much of one kind of data the credentials can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Visibility {
    /// Everything: lists are complete.
    Full,
    /// Some of it: lists may be silently shortened.
    Partial,
    /// Nothing (403, or silently empty).
    None,
    /// Could not be determined (the permission query or the probe failed).
    Unknown,
    /// Not needed in this configuration (e.g. storage content when a PBS token is configured).
    NotNeeded,
}

/// One capability the report relies on.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Capability {
    /// Short name, e.g. `guests`, `backup_jobs`.
    pub(crate) name: String,
    /// How much is visible.
    pub(crate) visibility: Visibility,
    /// Why, in a sentence.
    pub(crate) detail: String,
    /// What to grant, as a command, when it is not fully visible.
    pub(crate) fix: Option<String>,
    /// Whether the report needs it; an optional source that is not visible is not a problem.
    pub(crate) required: bool,
}

/// A known configuration trap that was recognised.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Trap {
    /// Stable identifier, e.g. `privsep_without_acl`.
    pub(crate) id: String,
    /// Explanation and fix.
    pub(crate) message: String,
}

/// The check of one server.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ServerCheck {
    /// `pve` or `pbs`.
    pub(crate) kind: ServerKind,
    /// Configured name.
    pub(crate) name: String,
    /// `host:port`.
    pub(crate) host: String,
    /// The token id or user (never the secret).
    pub(crate) identity: String,
    /// The server's version, when `/version` answered.
    pub(crate) version: Option<String>,
    /// Every probe, in a fixed order.
    pub(crate) probes: Vec<Probe>,
    /// What the credentials can see.
    pub(crate) capabilities: Vec<Capability>,
    /// Recognised traps.
    pub(crate) traps: Vec<Trap>,
}

impl ServerCheck {
    /// Failed probes plus capabilities that are not fully visible.
    pub(crate) fn problem_count(&self) -> usize {
        self.probes.iter().filter(|p| !p.ok()).count()
            + self
                .capabilities
                .iter()
                .filter(|c| {
                    c.required && !matches!(c.visibility, Visibility::Full | Visibility::NotNeeded)
                })
                .count()
    }
}

/// The whole `--check-api` result.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckReport {
    /// One entry per configured server: PVE first, then PBS by name.
    pub(crate) servers: Vec<ServerCheck>,
    /// Total problems; 0 means everything needed is reachable and visible.
    pub(crate) problems: usize,
}

/// A required capability named after its row of the privilege table.
fn capability(
    need: Need,
    visibility: Visibility,
    detail: String,
    fix: Option<String>,
) -> Capability {
    Capability {
        name: need.requirement().name.into(),
        visibility,
        detail,
        fix,
        required: true,
    }
}

/// The only verdict when the permission query has no answer: nothing can be told, and a failed
/// or garbled answer is never read as "no privileges".
fn unknown_privileges(permissions_endpoint: &str) -> Capability {
    Capability {
        name: "privileges".into(),
        required: true,
        visibility: Visibility::Unknown,
        detail: format!(
            "GET {permissions_endpoint} failed, so what the credentials can see cannot be told"
        ),
        fix: None,
    }
}

/// Run every probe against every configured server.
pub(crate) async fn run(config: &Config) -> CheckReport {
    let limiter = Arc::new(Semaphore::new(config.max_concurrency));
    let mut servers = Vec::new();
    let pbs_configured = !config.pbs.is_empty();
    for server in ServerConfig::all(config) {
        servers.push(check_server(config, &server, &limiter, pbs_configured).await);
    }
    let problems = servers.iter().map(ServerCheck::problem_count).sum();
    CheckReport { servers, problems }
}

async fn check_server(
    config: &Config,
    server: &ServerConfig,
    limiter: &Arc<Semaphore>,
    pbs_configured: bool,
) -> ServerCheck {
    let mut check = ServerCheck {
        kind: server.kind,
        name: server.name.clone(),
        host: server.host_port(),
        identity: server.auth.identity(),
        version: None,
        probes: Vec::new(),
        capabilities: Vec::new(),
        traps: Vec::new(),
    };
    let client = match ApiClient::new(server, limiter.clone()) {
        Ok(client) => client,
        Err(err) => {
            check.probes.push(Probe {
                endpoint: "(client setup)".into(),
                purpose: "TLS and HTTP client configuration".into(),
                status: "setup".into(),
                items: None,
                latency_ms: 0,
                error: Some(err.to_string()),
                hint: Some(format!(
                    "check {}_CA_CERT / {}_FINGERPRINT",
                    server.env_prefix, server.env_prefix
                )),
            });
            return check;
        }
    };
    let source = Source::Live(client);
    match server.kind {
        ServerKind::Pve => {
            let api = PveApi::new(source, config.collect.jobs_endpoint.clone());
            pve::check(&api, &mut check, pbs_configured).await;
        }
        ServerKind::Pbs => pbs::check(&PbsApi::new(source), &mut check).await,
    }
    check
}

/// Why a probe has no answer, for a capability's detail.
pub(crate) fn failure_of<T>(outcome: &Outcome<T>) -> String {
    outcome
        .failure()
        .map_or_else(|| "no answer".to_string(), Failure::message)
}

/// A capability whose list could not be read: nothing can be said about what it would show.
pub(crate) fn unreadable(need: Need, list: &str, why: &str) -> Capability {
    capability(
        need,
        Visibility::Unknown,
        format!("{list} could not be read ({why}), so what it would show is unknown"),
        None,
    )
}
