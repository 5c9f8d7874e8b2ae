//! The normalized inventory: everything collected from PVE and PBS, as domain types.
//!
//! Built by `collect` from the wire types, consumed by the pure coverage engine. Three rules hold
//! everywhere in here:
//! - **Unknown is not zero.** Every list that a server may have shortened or failed to send is an
//!   [`Observed`] that says how complete it is; a missing field stays `None`.
//! - **Stable order.** Every list is sorted by a stable key, so the same input gives the same bytes.
//! - **No secrets.** Nothing here ever holds a token, password or ticket.

mod anomaly;
mod offsite;
mod pbs;
pub(crate) mod permissions;
mod pve;
pub mod volumes;

pub use anomaly::{Anomaly, Severity};
pub use offsite::*;
pub use pbs::*;
pub use permissions::PermissionMap;
pub use pve::*;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How complete an observed list is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Completeness {
    /// The server sent everything there is (the credentials can see it all).
    Complete,
    /// The list may be shortened: privileges filter it silently, or a part failed.
    Partial {
        /// Why, in a sentence (names the missing privilege or failed request).
        reason: String,
    },
    /// Nothing could be read: the list is empty because it is unknown, not because it is empty.
    Unavailable {
        /// Why, in a sentence.
        reason: String,
    },
}

impl Completeness {
    /// Whether every item is known to be present.
    pub fn is_complete(&self) -> bool {
        matches!(self, Completeness::Complete)
    }

    /// The reason, when not complete.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Completeness::Complete => None,
            Completeness::Partial { reason } | Completeness::Unavailable { reason } => Some(reason),
        }
    }
}

/// A list together with how complete it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed<T> {
    /// The items that were seen (sorted).
    pub items: Vec<T>,
    /// Whether that is all of them.
    pub completeness: Completeness,
}

impl<T> Observed<T> {
    /// A complete list.
    pub fn complete(items: Vec<T>) -> Self {
        Observed {
            items,
            completeness: Completeness::Complete,
        }
    }

    /// A list that may be missing items.
    pub fn partial(items: Vec<T>, reason: impl Into<String>) -> Self {
        Observed {
            items,
            completeness: Completeness::Partial {
                reason: reason.into(),
            },
        }
    }

    /// Nothing could be read.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Observed {
            items: Vec::new(),
            completeness: Completeness::Unavailable {
                reason: reason.into(),
            },
        }
    }
}

/// Everything one run collected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    /// The run's "now" (from `--now` or the clock, taken once).
    pub collected_at: DateTime<Utc>,
    /// Each configured PVE cluster, sorted by name.
    pub pve: Vec<PveInventory>,
    /// Each configured PBS server, sorted by name.
    pub pbs: Vec<PbsInventory>,
    /// Every problem met while collecting, sorted by severity (worst first), component, message.
    pub anomalies: Vec<Anomaly>,
}

impl Inventory {
    /// Sort anomalies into their stable order (and drop exact duplicates).
    pub fn normalize(&mut self) {
        self.anomalies.sort();
        self.anomalies.dedup();
    }
}
