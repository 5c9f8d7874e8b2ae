//! PVE/PBS simulator: an HTTPS server on loopback that answers like Proxmox VE and Proxmox
//! Backup Server as the reference fact sheets describe them, for integration tests of the CLI.
//! Refer to items only through `super::`/`self::` paths: this tree is included via `#[path]`.
#![allow(dead_code, unused_imports)]

pub mod access;
pub mod demo;
pub mod generator;
pub mod healthy;
pub mod pbs;
pub mod pve;
pub mod scenario;
pub mod server;
pub mod tasks;
pub mod tls;
pub mod vzdump;

pub use self::demo::{demo_scenario, fleecing_scenario};
pub use self::healthy::{healthy_paged_scenario, healthy_scenario};
pub use self::scenario::{
    guest, job, raw, Access, Acl, Datastore, FileVolume, Guest, Kind, Node, PbsScenario,
    PbsSettings, Pool, PveScenario, PveSettings, RawMap, Scenario, Snapshot, SnapshotFile, Token,
    User, Verification,
};
pub use self::server::{
    start, Endpoint, Fault, FaultEffect, FaultRule, PathMatch, RecordedRequest, SimHandle,
};
pub use self::tasks::{PbsTask, PveTask};
