//! Errors of the API layer: which server, which endpoint, what kind of failure, and how to fix it.
//!
//! Messages never contain a secret: the auth header and ticket cookie are never formatted, and the
//! server's own error text (which cannot contain our secret) is quoted as it came.

use std::time::Duration;

use super::server::ServerKind;

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiErrorKind {
    /// TCP connection could not be made (refused, unreachable, DNS).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The TLS handshake failed, usually certificate verification.
    #[error("TLS handshake failed: {detail}")]
    Tls {
        /// The TLS library's reason.
        detail: String,
        /// SHA-256 fingerprint of the certificate the server presented, when one was seen.
        presented_fingerprint: Option<String>,
    },
    /// No answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection broke while sending or receiving.
    #[error("connection failed: {0}")]
    Transport(String),
    /// 401: the credentials were refused.
    #[error("authentication failed (401): {message}")]
    Unauthorized {
        /// The server's message.
        message: String,
    },
    /// 403: the credentials lack a privilege.
    #[error("forbidden (403): {message}")]
    Forbidden {
        /// The server's message, e.g. `Permission check failed (/, Sys.Audit)`.
        message: String,
    },
    /// Another 4xx status.
    #[error("request refused ({status}): {message}")]
    ClientError {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// A 5xx status.
    #[error("server error ({status}): {message}")]
    ServerError {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// 2xx, but the body is not JSON.
    #[error("the answer is not JSON: {0}")]
    NotJson(String),
    /// 2xx JSON without the `data` member every Proxmox answer has.
    #[error("the JSON answer has no 'data' member")]
    MissingData,
    /// JSON with `data`, but not in the shape the tool expects.
    #[error("unexpected answer shape: {0}")]
    Decode(String),
    /// The answer is bigger than the client accepts; reading stopped at the limit.
    #[error("the answer is larger than the limit of {} ({limit} bytes); reading stopped there", mib(*limit))]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The connection broke after the answer had started: the body is incomplete.
    #[error("the answer was cut off after {received} bytes{}: {detail}", expected.map(|e| format!(" of {e}")).unwrap_or_default())]
    Truncated {
        /// Bytes received before the break.
        received: u64,
        /// Bytes announced by `Content-Length`, when it was sent.
        expected: Option<u64>,
        /// The transport's reason.
        detail: String,
    },
}

impl ApiErrorKind {
    /// Whether asking again may help: the connection failed (refused, reset, cut off mid-answer).
    /// Statuses are judged by the caller (502/503/504); a timeout is not retried, so a hanging
    /// server costs one timeout, not three.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiErrorKind::Connect(_) | ApiErrorKind::Transport(_) | ApiErrorKind::Truncated { .. }
        )
    }
}

/// The setting that raises the per-answer size limit, named in the hint of
/// [`ApiErrorKind::TooLarge`].
pub(crate) const ANSWER_LIMIT_SETTING: &str = "PVE_MAX_ANSWER_MB (--max-answer-mb)";

/// `bytes` in MiB for messages (limits are set in whole MiB).
fn mib(bytes: u64) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// A failed request, with the server, host and endpoint it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} '{server_name}' ({host}) GET {endpoint}: {kind}", server_kind.label())]
pub(crate) struct ApiError {
    /// PVE or PBS.
    pub(crate) server_kind: ServerKind,
    /// The configured server name.
    pub(crate) server_name: String,
    /// `host:port`.
    pub(crate) host: String,
    /// The path below `/api2/json`, with its query, e.g. `/cluster/backup`.
    pub(crate) endpoint: String,
    /// The environment prefix of this server (`PVE`, `PBS01`, …) for fix hints.
    pub(crate) env_prefix: String,
    /// What went wrong.
    pub(crate) kind: ApiErrorKind,
}

impl ApiError {
    /// The HTTP status, when the server answered with one.
    pub(crate) fn status(&self) -> Option<u16> {
        match &self.kind {
            ApiErrorKind::Unauthorized { .. } => Some(401),
            ApiErrorKind::Forbidden { .. } => Some(403),
            ApiErrorKind::ClientError { status, .. } | ApiErrorKind::ServerError { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// A short label for tables: `403`, `timeout`, `tls`, …
    pub(crate) fn short(&self) -> String {
        match &self.kind {
            ApiErrorKind::Connect(_) => "connect".into(),
            ApiErrorKind::Tls { .. } => "tls".into(),
            ApiErrorKind::Timeout(_) => "timeout".into(),
            ApiErrorKind::Transport(_) => "transport".into(),
            ApiErrorKind::NotJson(_) => "not-json".into(),
            ApiErrorKind::MissingData => "no-data".into(),
            ApiErrorKind::Decode(_) => "bad-shape".into(),
            ApiErrorKind::TooLarge { .. } => "too-large".into(),
            ApiErrorKind::Truncated { .. } => "truncated".into(),
            _ => self.status().map(|s| s.to_string()).unwrap_or_default(),
        }
    }

    /// How to fix it, when there is something specific to say.
    pub(crate) fn hint(&self) -> Option<String> {
        let prefix = &self.env_prefix;
        match &self.kind {
            ApiErrorKind::Connect(_) => Some(format!(
                "check {prefix}_HOST (host and port; PVE listens on 8006, PBS on 8007) and that this machine can reach it"
            )),
            ApiErrorKind::Tls {
                presented_fingerprint: Some(fp),
                detail,
            } if !detail.contains("fingerprint mismatch") => Some(format!(
                "the server's certificate is not trusted. If {fp} is the fingerprint shown by the server \
                 (PVE: `pvenode cert info`, PBS: dashboard → Show Fingerprint), pin it with {prefix}_FINGERPRINT={fp}, \
                 or give its CA with {prefix}_CA_CERT=/path/to/ca.pem"
            )),
            ApiErrorKind::Tls { .. } => Some(format!(
                "the certificate changed or the pin is wrong: compare {prefix}_FINGERPRINT with the server's certificate"
            )),
            ApiErrorKind::Timeout(_) => Some(format!(
                "the server is slow or unreachable; raise PVE_TIMEOUT or lower PVE_MAX_CONCURRENCY ({prefix})"
            )),
            ApiErrorKind::Unauthorized { .. } => Some(match self.server_kind {
                ServerKind::Pve => format!(
                    "check {prefix}_API_TOKEN_ID (user@realm!tokenname) and {prefix}_API_TOKEN_SECRET, and that the token and its user are enabled and not expired"
                ),
                ServerKind::Pbs => format!(
                    "check {prefix}_API_TOKEN_ID (user@realm!tokenname) and {prefix}_API_TOKEN_SECRET; PBS tokens are sent as 'id:secret' (a colon), and the token must exist on this PBS, not on PVE"
                ),
            }),
            ApiErrorKind::TooLarge { limit } => Some(format!(
                "the answer passed the size limit of {}; if the cluster really is that large, raise it with {ANSWER_LIMIT_SETTING}, \
                 otherwise check what sits between this machine and {} (a proxy answering instead of the server)",
                mib(*limit),
                self.host
            )),
            ApiErrorKind::Truncated { .. } => Some(
                "the connection broke in the middle of the answer (after retries): check the network path and the server's load; \
                 the data of this request is unknown, not empty"
                    .into(),
            ),
            ApiErrorKind::Forbidden { message } => Some(format!(
                "the token lacks a privilege ({}); see docs/permissions.md for the role to grant",
                message.trim()
            )),
            _ => None,
        }
    }
}
