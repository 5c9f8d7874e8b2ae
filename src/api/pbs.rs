//! The PBS endpoints the tool reads, one method each: path, query and wire type in one place.
//!
//! Every method is a single `GET` through the [`Source`]. Each doc comment names the privilege the
//! endpoint needs and what a missing one does (pbs-api.md, "What PBS returns when privileges are
//! missing"): a 403, or a list that is silently shortened.

use super::access::Permissions;
use super::client::Answer;
use super::pbs_types as wire;
use super::source::Source;
use super::ApiError;

const NO_QUERY: &[(&str, String)] = &[];

/// The API of one PBS server, read through a [`Source`].
#[derive(Debug, Clone)]
pub(crate) struct PbsApi {
    source: Source,
}

impl PbsApi {
    /// Read through `source`.
    pub(crate) fn new(source: Source) -> PbsApi {
        PbsApi { source }
    }

    #[allow(dead_code)] // --check-api reads it once rebuilt on this layer.
    /// The source answers come from.
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }

    /// `GET /version`. Any authenticated caller.
    pub(crate) async fn version(&self) -> Result<wire::PbsVersion, ApiError> {
        self.source.get(&["version"], NO_QUERY).await
    }

    /// `GET /access/permissions`: the caller's own effective privileges (a token gets its ACLs ∩
    /// its user's). Any authenticated caller.
    pub(crate) async fn permissions(&self) -> Result<Permissions, ApiError> {
        self.source.get(&["access", "permissions"], NO_QUERY).await
    }

    /// `GET /admin/datastore`. Any authenticated caller, **silently filtered** to datastores with
    /// some privilege on them or a namespace below (without `Datastore.Audit` the comment is left
    /// out).
    pub(crate) async fn datastores(&self) -> Result<Vec<wire::DatastoreListItem>, ApiError> {
        self.source.get(&["admin", "datastore"], NO_QUERY).await
    }

    /// `GET /status/datastore-usage`. **Silently filtered** like [`PbsApi::datastores`]; without
    /// `Datastore.Audit` or `Datastore.Backup` an entry carries no numbers.
    pub(crate) async fn datastore_usage(&self) -> Result<Vec<wire::DatastoreUsage>, ApiError> {
        self.source
            .get(&["status", "datastore-usage"], NO_QUERY)
            .await
    }

    /// `GET /admin/datastore/{store}/namespace`. **Silently filtered** to namespaces with
    /// Audit/Modify/Read/Backup; 403 when the parent is neither accessible nor existing. PBS
    /// before 2.2 has no namespaces and fails.
    pub(crate) async fn namespaces(
        &self,
        store: &str,
    ) -> Result<Vec<wire::NamespaceItem>, ApiError> {
        self.source
            .get(&["admin", "datastore", store, "namespace"], NO_QUERY)
            .await
    }

    #[allow(dead_code)] // --check-api reads it once rebuilt on this layer.
    /// `GET /admin/datastore/{store}/groups` (root namespace). `Datastore.Audit` lists every
    /// group; `Datastore.Backup` only the caller's own, **silently**; neither gives 403.
    pub(crate) async fn groups(&self, store: &str) -> Result<Vec<wire::GroupItem>, ApiError> {
        self.source
            .get(&["admin", "datastore", store, "groups"], NO_QUERY)
            .await
    }

    /// `GET /admin/datastore/{store}/gc`. Needs `Datastore.Audit` on `/datastore/{store}`: 403
    /// without it.
    pub(crate) async fn gc(&self, store: &str) -> Result<wire::GcStatus, ApiError> {
        self.source
            .get(&["admin", "datastore", store, "gc"], NO_QUERY)
            .await
    }

    /// `GET /admin/datastore/{store}/snapshots[?ns=…]` (`ns` empty = root namespace). Same
    /// privileges as [`PbsApi::groups`] on `/datastore/{store}[/{ns}]`: all snapshots with
    /// `Datastore.Audit`, **silently** only owned groups with `Datastore.Backup`, else 403.
    pub(crate) async fn snapshots(
        &self,
        store: &str,
        ns: &str,
    ) -> Result<Vec<wire::SnapshotItem>, ApiError> {
        let query: Vec<(&str, String)> = if ns.is_empty() {
            Vec::new()
        } else {
            vec![("ns", ns.to_string())]
        };
        self.source
            .get(&["admin", "datastore", store, "snapshots"], &query)
            .await
    }

    #[allow(dead_code)] // --check-api reads it once rebuilt on this layer.
    /// `GET /admin/datastore/{store}/snapshots?backup-type=…&backup-id=…`: one group's snapshots
    /// (a cheap probe). Same privileges as [`PbsApi::snapshots`].
    pub(crate) async fn group_snapshots(
        &self,
        store: &str,
        backup_type: &str,
        backup_id: &str,
    ) -> Result<Vec<wire::SnapshotItem>, ApiError> {
        self.source
            .get(
                &["admin", "datastore", store, "snapshots"],
                &[
                    ("backup-type", backup_type.to_string()),
                    ("backup-id", backup_id.to_string()),
                ],
            )
            .await
    }

    /// `GET /admin/verify`: verify jobs with their last result. **Silently filtered** to jobs on
    /// datastores/namespaces with `Datastore.Audit` or `Datastore.Verify`.
    pub(crate) async fn verify_jobs(&self) -> Result<Vec<wire::VerifyJobStatus>, ApiError> {
        self.source.get(&["admin", "verify"], NO_QUERY).await
    }

    /// `GET /admin/prune`: prune jobs with their last result. **Silently filtered** to jobs with
    /// `Datastore.Audit` or `Datastore.Modify`.
    pub(crate) async fn prune_jobs(&self) -> Result<Vec<wire::PruneJobStatus>, ApiError> {
        self.source.get(&["admin", "prune"], NO_QUERY).await
    }

    /// `GET /admin/sync`: sync jobs with their last result. **Silently filtered** to jobs with
    /// `Datastore.Audit` on the target and `Remote.Audit` on the source remote.
    pub(crate) async fn sync_jobs(&self) -> Result<Vec<wire::SyncJobStatus>, ApiError> {
        self.source.get(&["admin", "sync"], NO_QUERY).await
    }

    #[allow(dead_code)] // --check-api reads it once rebuilt on this layer.
    /// `GET /nodes/localhost/tasks?limit=1`: a cheap probe of the task history. **Silently
    /// filtered** to the caller's own tasks (plus job tasks it has job privileges for) without
    /// `Sys.Audit` on `/system/tasks`.
    pub(crate) async fn tasks_probe(&self) -> Result<Answer<Vec<wire::PbsTaskListItem>>, ApiError> {
        self.source
            .get_answer(
                &["nodes", "localhost", "tasks"],
                &[("limit", "1".to_string())],
            )
            .await
    }
}
