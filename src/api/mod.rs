//! The API layer: the only part of the program that knows HTTP.
//!
//! One read-only transport ([`client::ApiClient`]) for PVE and PBS, its TLS setup and its errors.

pub mod client;
pub mod error;
pub mod tls;

pub use client::{Answer, ApiClient};
pub use error::{ApiError, ApiErrorKind};
