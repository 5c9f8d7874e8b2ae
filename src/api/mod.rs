//! The API layer: the only part of the program that knows HTTP.
//!
//! One read-only transport ([`client::ApiClient`]) for PVE and PBS, its TLS setup and its errors,
//! the wire types of every answer (`pve_types`, `pbs_types`, `access`, tolerant helpers in `de`),
//! the live / recording / replay [`source::Source`], and one typed method per endpoint the tool
//! reads (`pve::PveApi`, `pbs::PbsApi`, paged through `paging`): no path is spelled out elsewhere.

pub(crate) mod access;
pub mod client;
pub mod de;
pub mod error;
pub(crate) mod log_page;
pub(crate) mod paging;
pub(crate) mod pbs;
pub mod pbs_types;
pub(crate) mod pve;
pub mod pve_types;
pub mod redact;
pub mod server;
pub mod source;
pub(crate) mod stream;
pub mod tls;

pub(crate) use client::{Answer, ApiClient};
pub(crate) use error::{ApiError, ApiErrorKind};
pub(crate) use server::{ServerConfig, ServerKind};
