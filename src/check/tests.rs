//! The verdicts of `--check-api` from typed facts, without a server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::pbs::{self, PbsFacts};
use super::probe::Failure;
use super::pve::{self, PveFacts};
use super::{Capability, Probe, ServerCheck, Visibility};
use crate::api::access::Permissions;
use crate::api::ServerKind;
use crate::api::{ApiError, ApiErrorKind};
use crate::model::PermissionMap;

fn perms(value: serde_json::Value) -> PermissionMap {
    PermissionMap::from_wire(serde_json::from_value::<Permissions>(value).unwrap())
}

fn full_pve() -> PermissionMap {
    perms(json!({
        "/": {"Sys.Audit": 1, "VM.Audit": 1, "Pool.Audit": 1, "Datastore.Audit": 1},
    }))
}

fn failure(kind: ApiErrorKind) -> Failure {
    Failure::Api(ApiError {
        server_kind: ServerKind::Pve,
        server_name: "pve".into(),
        host: "pve.example:8006".into(),
        endpoint: "/cluster/backup".into(),
        env_prefix: "PVE".into(),
        kind,
    })
}

fn pve_facts(permissions: Option<PermissionMap>) -> PveFacts {
    PveFacts {
        identity: "monitor@pve!full".into(),
        pbs_configured: true,
        permissions_endpoint: "/access/permissions".into(),
        permissions,
        guests: Ok(12),
        jobs_endpoint: "/cluster/backup".into(),
        jobs: None,
        nodes: vec![("pve1".into(), None), ("pve2".into(), None)],
        pools: Ok(2),
        backup_storages: Ok(vec!["pbs1".into()]),
    }
}

fn find<'a>(caps: &'a [Capability], name: &str) -> &'a Capability {
    caps.iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no capability {name}: {caps:?}"))
}

fn visibilities(caps: &[Capability]) -> Vec<(&str, Visibility)> {
    caps.iter()
        .map(|c| (c.name.as_str(), c.visibility))
        .collect()
}

#[test]
fn full_privileges_see_everything_pve_needs() {
    let (caps, traps) = pve::verdicts(&pve_facts(Some(full_pve())));
    assert_eq!(
        visibilities(&caps),
        vec![
            ("guests", Visibility::Full),
            ("backup_jobs", Visibility::Full),
            ("task_history", Visibility::Full),
            ("pools", Visibility::Full),
            // Read-only credentials never hold Datastore.Allocate; PBS is the source instead.
            ("storage_content", Visibility::NotNeeded),
        ]
    );
    assert!(traps.is_empty());
    assert_eq!(
        find(&caps, "guests").detail,
        "VM.Audit on /vms: all 12 guests are listed"
    );
}

#[test]
fn a_token_without_any_privilege_is_the_privsep_trap() {
    let (caps, traps) = pve::verdicts(&pve_facts(Some(perms(json!({"/": {}})))));
    assert_eq!(traps.len(), 1);
    assert_eq!(traps[0].id, "privsep_without_acl");
    assert!(traps[0]
        .message
        .contains("pveum acl modify / --roles PVEAuditor --tokens 'monitor@pve!full'"));
    let guests = find(&caps, "guests");
    assert_eq!(guests.visibility, Visibility::None);
    assert!(guests
        .fix
        .as_deref()
        .unwrap_or_default()
        .contains("--users 'monitor@pve'"));
    assert_eq!(find(&caps, "task_history").visibility, Visibility::None);
    assert_eq!(find(&caps, "pools").visibility, Visibility::None);
}

#[test]
fn guest_audit_through_a_pool_is_partial() {
    let map = perms(json!({"/": {"Sys.Audit": 1}, "/pool/prod": {"VM.Audit": 1}}));
    let (caps, _) = pve::verdicts(&pve_facts(Some(map)));
    assert_eq!(find(&caps, "guests").visibility, Visibility::Partial);
}

#[test]
fn a_forbidden_job_list_is_the_sys_audit_trap_at_the_configured_path() {
    let mut facts = pve_facts(Some(perms(json!({"/vms": {"VM.Audit": 1}}))));
    facts.jobs_endpoint = "/cluster/backup-moved".into();
    facts.jobs = Some(failure(ApiErrorKind::Forbidden {
        message: "Permission check failed (/, Sys.Audit)".into(),
    }));
    let (caps, traps) = pve::verdicts(&facts);
    let jobs = find(&caps, "backup_jobs");
    assert_eq!(jobs.visibility, Visibility::None);
    assert!(jobs
        .fix
        .as_deref()
        .unwrap_or_default()
        .contains("PVEAuditor"));
    let trap = traps
        .iter()
        .find(|t| t.id == "cluster_backup_forbidden")
        .expect("trap");
    assert!(trap
        .message
        .starts_with("GET /cluster/backup-moved answered 403"));
}

#[test]
fn a_malformed_or_panicked_job_list_is_unknown_never_a_missing_privilege() {
    for failed in [
        failure(ApiErrorKind::Decode(
            "invalid type: string, expected a sequence".into(),
        )),
        Failure::Panicked("boom".into()),
    ] {
        let mut facts = pve_facts(Some(full_pve()));
        facts.jobs = Some(failed);
        let (caps, traps) = pve::verdicts(&facts);
        let jobs = find(&caps, "backup_jobs");
        assert_eq!(jobs.visibility, Visibility::Unknown, "{jobs:?}");
        assert!(jobs.detail.starts_with("GET /cluster/backup failed: "));
        assert!(traps.is_empty());
    }
}

#[test]
fn unreadable_privileges_are_unknown_not_empty() {
    let (caps, traps) = pve::verdicts(&pve_facts(None));
    assert_eq!(
        visibilities(&caps),
        vec![("privileges", Visibility::Unknown)]
    );
    assert!(
        traps.is_empty(),
        "no privsep trap without a privilege answer"
    );
    let (caps, traps) = pbs::verdicts(&pbs_facts(None));
    assert_eq!(
        visibilities(&caps),
        vec![("privileges", Visibility::Unknown)]
    );
    assert!(traps.is_empty());
}

#[test]
fn a_node_is_judged_by_its_own_answer_and_else_by_the_full_map() {
    let mut facts = pve_facts(Some(full_pve()));
    facts.nodes = vec![
        ("pve1".into(), Some(perms(json!({"/nodes/pve1": {}})))),
        ("pve2".into(), None),
    ];
    let (caps, _) = pve::verdicts(&facts);
    let tasks = find(&caps, "task_history");
    assert_eq!(tasks.visibility, Visibility::Partial);
    assert!(tasks.detail.ends_with("Affected: pve1"), "{}", tasks.detail);
    assert!(tasks.detail.contains("without Sys.Audit on /nodes/<node>"));
    assert!(tasks
        .fix
        .as_deref()
        .unwrap_or_default()
        .starts_with("pveum acl modify /nodes --roles PVEAuditor"));

    facts.nodes.clear();
    let (caps, _) = pve::verdicts(&facts);
    assert_eq!(find(&caps, "task_history").visibility, Visibility::Unknown);
}

#[test]
fn storage_content_without_pbs_is_optional() {
    let mut facts = pve_facts(Some(full_pve()));
    facts.pbs_configured = false;
    let (caps, _) = pve::verdicts(&facts);
    let content = find(&caps, "storage_content");
    assert_eq!(content.visibility, Visibility::Partial);
    assert!(!content.required);
    let check = server_check(Vec::new(), caps);
    assert_eq!(
        check.problem_count(),
        0,
        "an optional source is not a problem"
    );

    let mut facts = pve_facts(Some(perms(json!({
        "/": {"Sys.Audit": 1, "VM.Audit": 1, "Pool.Audit": 1},
        "/storage/pbs1": {"Datastore.Allocate": 1},
    }))));
    facts.pbs_configured = false;
    let (caps, _) = pve::verdicts(&facts);
    assert_eq!(find(&caps, "storage_content").visibility, Visibility::Full);
}

fn pbs_facts(permissions: Option<PermissionMap>) -> PbsFacts {
    PbsFacts {
        identity: "pve@pbs!backup".into(),
        permissions_endpoint: "/access/permissions".into(),
        permissions,
        unauthorized: false,
        stores: Ok(vec!["store1".into(), "store2".into()]),
    }
}

#[test]
fn pbs_audit_sees_every_store_and_task() {
    let (caps, traps) = pbs::verdicts(&pbs_facts(Some(perms(json!({
        "/": {"Datastore.Audit": true, "Sys.Audit": true}
    })))));
    assert_eq!(
        visibilities(&caps),
        vec![
            ("datastores", Visibility::Full),
            ("task_history", Visibility::Full),
            ("remotes", Visibility::None),
            ("tape", Visibility::None),
        ]
    );
    assert!(traps.is_empty());
    // The Audit role lacks Remote.Audit and Tape.Audit: each row names the grant.
    assert_eq!(
        find(&caps, "remotes").fix.as_deref().unwrap_or_default(),
        "proxmox-backup-manager acl update /remote RemoteAudit --auth-id 'pve@pbs!backup'  (the token's user needs it too: proxmox-backup-manager acl update /remote RemoteAudit --auth-id 'pve@pbs')"
    );
    assert!(find(&caps, "tape")
        .fix
        .as_deref()
        .unwrap_or_default()
        .starts_with("proxmox-backup-manager acl update /tape TapeAudit"));
}

#[test]
fn pbs_remote_and_tape_audit_see_copy_jobs() {
    let (caps, _) = pbs::verdicts(&pbs_facts(Some(perms(json!({
        "/": {"Datastore.Audit": true, "Sys.Audit": true},
        "/remote": {"Remote.Audit": true},
        "/tape": {"Tape.Audit": true},
        "/tape/pool/offline": {}
    })))));
    assert_eq!(find(&caps, "remotes").visibility, Visibility::Full);
    assert_eq!(find(&caps, "remotes").fix, None);
    // A pool without Tape.Audit shortens the tape lists.
    assert_eq!(find(&caps, "tape").visibility, Visibility::Partial);
}

#[test]
fn pbs_backup_privilege_only_lists_owned_groups() {
    let (caps, _) = pbs::verdicts(&pbs_facts(Some(perms(json!({
        "/datastore/store1": {"Datastore.Backup": true},
        "/datastore/store2": {"Datastore.Audit": true},
    })))));
    let stores = find(&caps, "datastores");
    assert_eq!(stores.visibility, Visibility::Partial);
    assert_eq!(
        stores.detail,
        "without Datastore.Audit, snapshot lists are silently shortened to the groups the token owns (Datastore.Backup only) on: store1"
    );
    assert!(stores.fix.as_deref().unwrap_or_default().starts_with(
        "proxmox-backup-manager acl update /datastore DatastoreAudit --auth-id 'pve@pbs!backup'"
    ));
    assert_eq!(find(&caps, "task_history").visibility, Visibility::Partial);
}

#[test]
fn pbs_refused_credentials_and_empty_tokens_are_traps() {
    let mut facts = pbs_facts(Some(perms(json!({}))));
    facts.unauthorized = true;
    facts.stores = Ok(Vec::new());
    let (caps, traps) = pbs::verdicts(&facts);
    let ids: Vec<&str> = traps.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, vec!["pbs_auth_failed", "token_without_acl"]);
    assert_eq!(find(&caps, "datastores").visibility, Visibility::None);
}

fn server_check(probes: Vec<Probe>, capabilities: Vec<Capability>) -> ServerCheck {
    ServerCheck {
        kind: ServerKind::Pve,
        name: "pve".into(),
        host: "pve.example:8006".into(),
        identity: "monitor@pve!full".into(),
        version: None,
        probes,
        capabilities,
        traps: Vec::new(),
    }
}

fn row(status: &str) -> Probe {
    Probe {
        endpoint: "x".into(),
        purpose: "test".into(),
        status: status.into(),
        items: None,
        latency_ms: 0,
        error: None,
        hint: None,
    }
}

#[test]
fn problems_are_failed_probes_plus_required_capabilities_not_fully_visible() {
    let mut facts = pve_facts(Some(perms(json!({"/vms": {"VM.Audit": 1}}))));
    facts.jobs = Some(failure(ApiErrorKind::Forbidden {
        message: "Permission check failed (/, Sys.Audit)".into(),
    }));
    let (caps, _) = pve::verdicts(&facts);
    // guests full; backup_jobs none, task_history none, pools none, storage_content not needed.
    let check = server_check(vec![row("ok"), row("403"), row("panic")], caps);
    assert_eq!(check.problem_count(), 2 + 3);
}

#[test]
fn a_list_that_could_not_be_read_is_unknown_not_empty() {
    let everything =
        perms(json!({"/": {"Sys.Audit": 1, "VM.Audit": 1, "Pool.Audit": 1, "Datastore.Audit": 1}}));
    let mut facts = pve_facts(Some(everything));
    facts.guests = Err("timeout".into());
    facts.pools = Err("forbidden (403)".into());
    facts.backup_storages = Err("not JSON".into());
    let (caps, _) = pve::verdicts(&facts);
    for name in ["guests", "pools", "storage_content"] {
        let cap = find(&caps, name);
        assert_eq!(cap.visibility, Visibility::Unknown, "{name}: {cap:?}");
        assert!(
            !cap.detail.contains(" 0 "),
            "{name} claims a count: {}",
            cap.detail
        );
    }
    assert!(find(&caps, "pools").detail.contains("forbidden (403)"));

    let mut pbs = pbs_facts(Some(perms(json!({"/": {"Datastore.Audit": true}}))));
    pbs.stores = Err("not JSON".into());
    let (caps, _) = pbs::verdicts(&pbs);
    let stores = find(&caps, "datastores");
    assert_eq!(stores.visibility, Visibility::Unknown);
    assert!(stores.fix.is_none(), "no grant fixes an unreadable answer");
}
