//! `--check-api` for PBS: which probes run (three rounds: the server, each datastore, one sample
//! group per datastore), and what the answers say the credentials can see.
//!
//! [`PbsFacts`] is everything the verdicts need; [`verdicts`] is a pure function of it.

use super::probe::{finish_all, start, Asked, Failure, Outcome, Pending};
use super::{
    capability, failure_of, unknown_privileges, unreadable, Capability, Probe, ServerCheck, Trap,
    Visibility,
};
use crate::api::access::Permissions;
use crate::api::pbs::{PbsApi, PbsRequest};
use crate::api::pbs_types as wire;
use crate::api::{Answer, ApiErrorKind};
use crate::model::permissions::Need;
use crate::model::PermissionMap;

/// The first round: the server-wide lists.
struct First {
    version: Outcome<wire::PbsVersion>,
    permissions: Outcome<Permissions>,
    datastores: Outcome<Vec<wire::DatastoreListItem>>,
    usage: Outcome<Vec<wire::DatastoreUsage>>,
    verify: Outcome<Vec<wire::VerifyJobStatus>>,
    prune: Outcome<Vec<wire::PruneJobStatus>>,
    sync: Outcome<Asked<Vec<wire::SyncJobStatus>>>,
    remotes: Outcome<Vec<wire::RemoteItem>>,
    tape: Outcome<Vec<wire::TapeBackupJobStatus>>,
    tasks: Outcome<Answer<Vec<wire::PbsTaskListItem>>>,
}

impl First {
    async fn probe(api: &PbsApi) -> First {
        let version = start(
            api,
            api.label(PbsRequest::Version),
            "server version",
            |api| async move { api.version().await },
        );
        let permissions = start(
            api,
            api.label(PbsRequest::Permissions),
            "the credentials' effective privileges",
            |api| async move { api.permissions().await },
        );
        let datastores = start(
            api,
            api.label(PbsRequest::Datastores),
            "datastores",
            |api| async move { api.datastores().await },
        );
        let usage = start(
            api,
            api.label(PbsRequest::DatastoreUsage),
            "datastore usage and GC status",
            |api| async move { api.datastore_usage().await },
        );
        let verify = start(
            api,
            api.label(PbsRequest::VerifyJobs),
            "verify jobs",
            |api| async move { api.verify_jobs().await },
        );
        let prune = start(
            api,
            api.label(PbsRequest::PruneJobs),
            "prune jobs",
            |api| async move { api.prune_jobs().await },
        );
        let sync = start(
            api,
            api.label(PbsRequest::SyncJobsAll),
            "sync jobs, pull and push (asked again without the direction before PBS 3.3)",
            |api| async move {
                api.copy_jobs_asked().await.map(|(list, asked)| Asked {
                    endpoint: api.label(asked),
                    answer: list.items,
                })
            },
        );
        let remotes = start(
            api,
            api.label(PbsRequest::Remotes),
            "remotes (sync sources and targets)",
            |api| async move { api.remotes_listed().await.map(|list| list.items) },
        );
        let tape = start(
            api,
            api.label(PbsRequest::TapeBackupJobs),
            "tape backup jobs",
            |api| async move { api.tape_jobs_listed().await.map(|list| list.items) },
        );
        let tasks = start(
            api,
            api.label(PbsRequest::TasksProbe),
            "PBS task history",
            |api| async move { api.tasks_probe().await },
        );
        First {
            version: version.finish().await,
            permissions: permissions.finish().await,
            datastores: datastores.finish().await,
            usage: usage.finish().await,
            verify: verify.finish().await,
            prune: prune.finish().await,
            sync: sync.finish().await.named_as_asked(),
            remotes: remotes.finish().await,
            tape: tape.finish().await,
            tasks: tasks.finish().await,
        }
    }

    fn rows(&self) -> [&Probe; 10] {
        [
            &self.version.row,
            &self.permissions.row,
            &self.datastores.row,
            &self.usage.row,
            &self.verify.row,
            &self.prune.row,
            &self.sync.row,
            &self.remotes.row,
            &self.tape.row,
            &self.tasks.row,
        ]
    }

    /// Whether any first-round probe was refused for its credentials (401).
    fn unauthorized(&self) -> bool {
        [
            self.version.failure(),
            self.permissions.failure(),
            self.datastores.failure(),
            self.usage.failure(),
            self.verify.failure(),
            self.prune.failure(),
            self.sync.failure(),
            self.remotes.failure(),
            self.tape.failure(),
            self.tasks.failure(),
        ]
        .into_iter()
        .flatten()
        .filter_map(Failure::api)
        .any(|err| matches!(err.kind, ApiErrorKind::Unauthorized { .. }))
    }
}

/// The probes of one datastore.
struct StoreProbes {
    namespaces: Outcome<Vec<wire::NamespaceItem>>,
    groups: Outcome<Vec<wire::GroupItem>>,
    gc: Outcome<wire::GcStatus>,
}

async fn probe_stores(api: &PbsApi, stores: &[String]) -> Vec<StoreProbes> {
    let mut pending = Vec::new();
    for store in stores {
        let owned = store.clone();
        let namespaces = start(
            api,
            api.label(PbsRequest::Namespaces(store)),
            "namespaces",
            move |api| async move { api.namespaces(&owned).await },
        );
        let owned = store.clone();
        let groups = start(
            api,
            api.label(PbsRequest::Groups(store)),
            "backup groups (root namespace)",
            move |api| async move { api.groups(&owned).await },
        );
        let owned = store.clone();
        let gc = start(
            api,
            api.label(PbsRequest::Gc(store)),
            "garbage collection status",
            move |api| async move { api.gc(&owned).await },
        );
        pending.push((namespaces, groups, gc));
    }
    let mut done = Vec::new();
    for (namespaces, groups, gc) in pending {
        done.push(StoreProbes {
            namespaces: namespaces.finish().await,
            groups: groups.finish().await,
            gc: gc.finish().await,
        });
    }
    done
}

/// One group's snapshots per store (the smallest group by type and id, so the sample is stable),
/// or the whole root namespace when no group was listed.
async fn probe_snapshots(
    api: &PbsApi,
    stores: &[String],
    probes: &[StoreProbes],
) -> Vec<(String, Outcome<Vec<wire::SnapshotItem>>)> {
    const PURPOSE: &str = "snapshots (one group as a sample)";
    let mut pending: Vec<(String, Pending<Vec<wire::SnapshotItem>>)> = Vec::new();
    for (store, probe) in stores.iter().zip(probes) {
        let sample = probe.groups.ok().and_then(|groups| {
            groups
                .iter()
                .map(|g| (g.backup_type.as_str().to_string(), g.backup_id.clone()))
                .min()
        });
        let owned = store.clone();
        let probe = match sample {
            Some((kind, id)) => start(
                api,
                api.label(PbsRequest::GroupSnapshots {
                    store,
                    backup_type: &kind,
                    backup_id: &id,
                }),
                PURPOSE,
                move |api| async move { api.group_snapshots(&owned, &kind, &id).await },
            ),
            None => start(
                api,
                api.label(PbsRequest::Snapshots { store, ns: "" }),
                PURPOSE,
                move |api| async move { api.snapshots(&owned, "").await },
            ),
        };
        pending.push((store.clone(), probe));
    }
    finish_all(pending).await
}

/// Probe a PBS server and fill in `check`.
pub(super) async fn check(api: &PbsApi, check: &mut ServerCheck) {
    let first = First::probe(api).await;
    check.version = first
        .version
        .ok()
        .map(|v| format!("{}.{}", v.version, v.release));
    let mut stores: Vec<String> = first
        .datastores
        .ok()
        .into_iter()
        .flatten()
        .map(|d| d.store.clone())
        .collect();
    stores.sort();
    stores.dedup();
    let per_store = probe_stores(api, &stores).await;
    let snapshots = probe_snapshots(api, &stores, &per_store).await;
    let mut rows: Vec<&Probe> = first.rows().into_iter().collect();
    for store in &per_store {
        rows.extend([&store.namespaces.row, &store.groups.row, &store.gc.row]);
    }
    rows.extend(snapshots.iter().map(|(_, o)| &o.row));
    check.probes = rows.into_iter().cloned().collect();

    let facts = PbsFacts {
        identity: check.identity.clone(),
        permissions_endpoint: first.permissions.row.endpoint.clone(),
        permissions: first
            .permissions
            .ok()
            .cloned()
            .map(PermissionMap::from_wire),
        unauthorized: first.unauthorized(),
        stores: first
            .datastores
            .ok()
            .map(|_| stores.clone())
            .ok_or_else(|| failure_of(&first.datastores)),
    };
    let (capabilities, traps) = verdicts(&facts);
    check.capabilities = capabilities;
    check.traps = traps;
}

/// What the PBS verdicts are decided from.
#[derive(Debug, Clone)]
pub(crate) struct PbsFacts {
    /// The token id or user.
    pub(crate) identity: String,
    /// The label of the permission query, for messages.
    pub(crate) permissions_endpoint: String,
    /// The effective privileges, when they could be read.
    pub(crate) permissions: Option<PermissionMap>,
    /// Whether the server refused the credentials (401).
    pub(crate) unauthorized: bool,
    /// The datastores listed, sorted, or why the list could not be read.
    pub(crate) stores: Result<Vec<String>, String>,
}

/// What the credentials can see on PBS, and the traps recognised.
pub(crate) fn verdicts(facts: &PbsFacts) -> (Vec<Capability>, Vec<Trap>) {
    let mut capabilities = Vec::new();
    let mut traps = Vec::new();
    if facts.unauthorized {
        traps.push(Trap {
            id: "pbs_auth_failed".into(),
            message: "PBS refused the credentials. PBS API tokens are sent as 'PBSAPIToken=user@realm!name:SECRET' with a COLON \
                      (PVE uses '='); the tool does this itself, so check that the token id and secret belong to this PBS \
                      (a token created on PVE does not exist on PBS), and that neither the token nor its user is disabled or expired."
                .into(),
        });
    }
    let Some(perms) = &facts.permissions else {
        capabilities.push(unknown_privileges(&facts.permissions_endpoint));
        return (capabilities, traps);
    };
    let identity = facts.identity.as_str();
    let list = Need::PbsDatastores.requirement();
    if perms.is_empty() && identity.contains('!') {
        traps.push(Trap {
            id: "token_without_acl".into(),
            message: format!(
                "the PBS token '{identity}' has no privileges: PBS tokens start with none, and get (token ACL ∩ user ACL). Lists come back empty. {}",
                list.fix(identity).unwrap_or_default()
            ),
        });
    }
    capabilities.push(datastores(facts, perms));
    let tasks = Need::PbsTaskHistory.requirement();
    let (path, privilege) = (tasks.acl_path, tasks.privilege);
    capabilities.push(if perms.has(path, privilege) {
        capability(
            Need::PbsTaskHistory,
            Visibility::Full,
            format!("{privilege} on {path}: verify, GC, prune and sync task results are visible"),
            None,
        )
    } else {
        capability(
            Need::PbsTaskHistory,
            Visibility::Partial,
            format!("without {privilege} on {path} only the token's own tasks are listed"),
            tasks.fix(identity),
        )
    });
    for (need, visible) in [
        (
            Need::PbsRemotes,
            "sync jobs of both directions and their remotes are listed: off-site copies can be judged",
        ),
        (
            Need::PbsTape,
            "tape backup jobs and the tape catalog are listed: copies on tape can be judged",
        ),
    ] {
        let req = need.requirement();
        let (path, privilege) = (req.acl_path, req.privilege);
        capabilities.push(if perms.has_everywhere_below(path, privilege) {
            capability(need, Visibility::Full, format!("{privilege} on {path}: {visible}"), None)
        } else {
            capability(
                need,
                if perms.has_anywhere_below(path, privilege) {
                    Visibility::Partial
                } else {
                    Visibility::None
                },
                format!("without {privilege} on {path}, {}", req.effect),
                req.fix(identity),
            )
        });
    }
    (capabilities, traps)
}

fn datastores(facts: &PbsFacts, perms: &PermissionMap) -> Capability {
    let list = Need::PbsDatastores.requirement();
    let snapshots = Need::PbsSnapshots.requirement();
    let privilege = snapshots.privilege;
    let stores = match &facts.stores {
        Ok(stores) => stores,
        Err(why) => {
            return unreadable(
                Need::PbsDatastores,
                list.endpoint.trim_start_matches("GET "),
                why,
            )
        }
    };
    if stores.is_empty() {
        return capability(
            Need::PbsDatastores,
            if perms.has_everywhere_below(list.acl_path, list.privilege) {
                Visibility::Full
            } else {
                Visibility::None
            },
            "no datastore is visible; datastores the credentials have no privilege on are silently left out".into(),
            list.fix(&facts.identity),
        );
    }
    let blind: Vec<&str> = stores
        .iter()
        .filter(|s| !perms.has_everywhere_below(&snapshots.acl_path_for(s), privilege))
        .map(String::as_str)
        .collect();
    if blind.is_empty() {
        return capability(
            Need::PbsDatastores,
            Visibility::Full,
            format!(
                "{privilege} on all {} datastore(s): every group and snapshot is listed",
                stores.len()
            ),
            None,
        );
    }
    let owner_only = Need::PbsSnapshots.owner_privilege().filter(|owner| {
        blind
            .iter()
            .any(|s| perms.has(&snapshots.acl_path_for(s), owner))
    });
    capability(
        Need::PbsDatastores,
        Visibility::Partial,
        format!(
            "without {privilege}, snapshot lists are silently shortened{} on: {}",
            match owner_only {
                Some(owner) => format!(" to the groups the token owns ({owner} only)"),
                None => String::new(),
            },
            blind.join(", ")
        ),
        snapshots.fix(&facts.identity),
    )
}
