//! The transport's view of a server: which product it is, how to authenticate, how to check its
//! certificate, and its `host:port`, built from the plain [`crate::config::ServerSettings`].
//!
//! Config only validates and holds plain data; these types exist so that everything the HTTP layer
//! needs to know about a server is defined by the layer that speaks HTTP, and config never imports
//! a later stage.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use crate::config::{Config, Credentials, ServerSettings, TlsChoice, TokenId};
use crate::secret::Secret;

/// Which kind of Proxmox server an endpoint is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ServerKind {
    /// Proxmox VE (port 8006, `PVEAPIToken=id=secret`).
    Pve,
    /// Proxmox Backup Server (port 8007, `PBSAPIToken=id:secret`).
    Pbs,
}

impl ServerKind {
    /// `PVE` or `PBS`, for messages.
    pub(crate) fn label(self) -> &'static str {
        match self {
            ServerKind::Pve => "PVE",
            ServerKind::Pbs => "PBS",
        }
    }
}

/// How to authenticate against one server.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
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

impl Auth {
    /// A non-secret description: the token id or the user name.
    pub(crate) fn identity(&self) -> String {
        match self {
            Auth::Token { id, .. } => id.full(),
            Auth::Password { username, .. } => username.clone(),
        }
    }
}

impl From<&Credentials> for Auth {
    fn from(credentials: &Credentials) -> Auth {
        match credentials {
            Credentials::Token { id, secret } => Auth::Token {
                id: id.clone(),
                secret: secret.clone(),
            },
            Credentials::Password { username, password } => Auth::Password {
                username: username.clone(),
                password: password.clone(),
            },
        }
    }
}

/// How the server's TLS certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// Verify against the system's root certificates (the default).
    SystemRoots,
    /// Verify against the CA certificate(s) in this PEM file.
    CaFile(PathBuf),
    /// Accept exactly the certificate with this SHA-256 fingerprint, self-signed included.
    Fingerprint([u8; 32]),
    /// Accept any certificate. Only when explicitly asked for (`*_VERIFY_TLS=false`).
    Insecure,
}

impl From<&TlsChoice> for TlsMode {
    fn from(choice: &TlsChoice) -> TlsMode {
        match choice {
            TlsChoice::SystemRoots => TlsMode::SystemRoots,
            TlsChoice::CaFile(path) => TlsMode::CaFile(path.clone()),
            TlsChoice::Fingerprint(pin) => TlsMode::Fingerprint(*pin),
            TlsChoice::Insecure => TlsMode::Insecure,
        }
    }
}

/// One server to talk to, fully validated.
#[derive(Debug, Clone)]
pub(crate) struct ServerConfig {
    /// PVE or PBS.
    pub(crate) kind: ServerKind,
    /// Name used in reports: `pve` for the cluster, the `PBS_NAME`/`PBSnn_NAME` or host for a PBS.
    pub(crate) name: String,
    /// Base URL ending in `/api2/json/`.
    pub(crate) base_url: Url,
    /// Credentials.
    pub(crate) auth: Auth,
    /// Certificate check.
    pub(crate) tls: TlsMode,
    /// Per-request timeout.
    pub(crate) timeout: Duration,
    /// The largest answer read, in bytes.
    pub(crate) max_answer_bytes: u64,
    /// The environment-variable prefix this server was configured with (`PVE`, `PBS`, `PBS01`, …),
    /// so messages can name the exact variable to change.
    pub(crate) env_prefix: String,
}

impl ServerConfig {
    /// The transport settings of one configured server block of this kind.
    pub(crate) fn new(kind: ServerKind, settings: &ServerSettings) -> ServerConfig {
        ServerConfig {
            kind,
            name: settings.name.clone(),
            base_url: settings.base_url.clone(),
            auth: Auth::from(&settings.credentials),
            tls: TlsMode::from(&settings.tls),
            timeout: settings.timeout,
            max_answer_bytes: settings.max_answer_bytes,
            env_prefix: settings.env_prefix.clone(),
        }
    }

    /// Every configured server: the PVE cluster first, then each PBS in the config's (name) order.
    pub(crate) fn all(config: &Config) -> Vec<ServerConfig> {
        let pve = config
            .pve
            .iter()
            .map(|settings| ServerConfig::new(ServerKind::Pve, settings));
        let pbs = config
            .pbs
            .iter()
            .map(|settings| ServerConfig::new(ServerKind::Pbs, settings));
        pve.chain(pbs).collect()
    }

    /// `host:port` of the server, for messages.
    pub(crate) fn host_port(&self) -> String {
        host_port(&self.base_url)
    }

    /// The pinned certificate fingerprint (`AB:CD:…`), when the certificate is checked by pin:
    /// a remote on another PBS that names the same fingerprint is this server under another name.
    pub(crate) fn pinned_fingerprint(&self) -> Option<String> {
        match &self.tls {
            TlsMode::Fingerprint(pin) => Some(crate::config::format_fingerprint(pin)),
            _ => None,
        }
    }
}

/// `host:port` of a URL (`host_str` keeps IPv6 brackets). The one way the program names a server's
/// address; [`host_of`] reads it back.
pub(crate) fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// Split `host:port`, `[v6]:port`, `host` or a bare IPv6 address into the host (without
/// brackets, case kept) and the port, when a numeric one is given. The one parser of the
/// `host:port` strings [`host_port`] writes and users configure.
pub(crate) fn split_host_port(text: &str) -> (&str, Option<u16>) {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            return (host, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    // A bare IPv6 address has several colons and no port: its last group only looks like one.
    if text.matches(':').count() == 1 {
        if let Some((host, port)) = text.rsplit_once(':') {
            if let Ok(port) = port.parse() {
                return (host, Some(port));
            }
        }
    }
    (text, None)
}

/// The host of a [`host_port`] string, without the port and without IPv6 brackets; the text as
/// given when it carries no numeric port.
pub(crate) fn host_of(host_port: &str) -> &str {
    split_host_port(host_port).0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn host_port_round_trips() {
        for (url, text, host) in [
            ("https://pve1:8006/api2/json/", "pve1:8006", "pve1"),
            ("https://[::1]:8007/api2/json/", "[::1]:8007", "::1"),
            (
                "https://pbs.example.com/",
                "pbs.example.com:443",
                "pbs.example.com",
            ),
        ] {
            let url = Url::parse(url).unwrap();
            assert_eq!(host_port(&url), text);
            assert_eq!(host_of(text), host);
        }
        assert_eq!(host_of("pbs1"), "pbs1");
        assert_eq!(host_of("pbs1:x"), "pbs1:x");
        assert_eq!(host_of("fe80::1"), "fe80::1");
    }

    #[test]
    fn host_port_forms() {
        let cases = [
            ("pbs.example.com:8007", ("pbs.example.com", Some(8007))),
            ("PBS.Example.com", ("PBS.Example.com", None)),
            ("[fd00::1]:8007", ("fd00::1", Some(8007))),
            ("fd00::1", ("fd00::1", None)),
            ("10.0.0.5:8443", ("10.0.0.5", Some(8443))),
        ];
        for (text, expected) in cases {
            assert_eq!(split_host_port(text), expected, "{text}");
        }
    }
}
