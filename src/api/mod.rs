//! The API layer: the only part of the program that knows HTTP.
//!
//! One read-only transport ([`client::ApiClient`]) for PVE and PBS, its TLS setup and its errors,
//! the wire types of every answer (`pve_types`, `pbs_types`, tolerant helpers in `de`), and the
//! live / recording / replay [`source::Source`] the collectors read through.

pub mod client;
pub mod de;
pub mod error;
pub mod pbs_types;
pub mod pve_types;
pub mod redact;
pub mod server;
pub mod source;
pub mod tls;

pub use client::{Answer, ApiClient};
pub use error::{ApiError, ApiErrorKind};
pub use server::{Auth, ServerConfig, ServerKind, TlsMode};
