//! The PBS endpoints the tool reads, one method each: path, query and wire type in one place.
//!
//! Every method is a single `GET` through the [`Source`]. Each doc comment names the privilege the
//! endpoint needs and what a missing one does (pbs-api.md, "What PBS returns when privileges are
//! missing"): a 403, or a list that is silently shortened.

use serde::de::DeserializeOwned;

use super::access::Permissions;
use super::client::{endpoint_label, Answer};
use super::de::LenientList;
use super::paging::{read_pages, Paged, Paging};
use super::pbs_types as wire;
use super::source::Source;
use super::ApiError;

/// One PBS request: the typed methods send it and [`PbsApi::label`] names it, from the same path
/// and query, so what `--check-api` prints is what the collector asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PbsRequest<'a> {
    /// [`PbsApi::version`].
    Version,
    /// [`PbsApi::permissions`].
    Permissions,
    /// [`PbsApi::datastores`].
    Datastores,
    /// [`PbsApi::datastore_usage`].
    DatastoreUsage,
    /// [`PbsApi::namespaces`] of this store.
    Namespaces(&'a str),
    /// [`PbsApi::groups`] of this store.
    Groups(&'a str),
    /// [`PbsApi::gc`] of this store.
    Gc(&'a str),
    /// [`PbsApi::snapshots`] of a store in a namespace (empty: the root).
    Snapshots {
        /// The store.
        store: &'a str,
        /// The namespace.
        ns: &'a str,
    },
    /// [`PbsApi::group_snapshots`].
    GroupSnapshots {
        /// The store.
        store: &'a str,
        /// `vm`, `ct` or `host`.
        backup_type: &'a str,
        /// The group id.
        backup_id: &'a str,
    },
    /// [`PbsApi::verify_jobs`].
    VerifyJobs,
    /// [`PbsApi::prune_jobs`].
    PruneJobs,
    /// [`PbsApi::sync_jobs_listed`].
    SyncJobs,
    /// [`PbsApi::copy_jobs_listed`]: every sync job, pull and push (PBS ≥ 3.3).
    SyncJobsAll,
    /// [`PbsApi::remotes_listed`].
    Remotes,
    /// [`PbsApi::tape_jobs_listed`].
    TapeBackupJobs,
    /// [`PbsApi::tape_content_listed`].
    TapeMediaContent,
    /// [`PbsApi::tasks_probe`].
    TasksProbe,
}

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

    fn target(request: PbsRequest<'_>) -> (Vec<&str>, Vec<(&'static str, String)>) {
        match request {
            PbsRequest::Version => (vec!["version"], Vec::new()),
            PbsRequest::Permissions => (vec!["access", "permissions"], Vec::new()),
            PbsRequest::Datastores => (vec!["admin", "datastore"], Vec::new()),
            PbsRequest::DatastoreUsage => (vec!["status", "datastore-usage"], Vec::new()),
            PbsRequest::Namespaces(store) => {
                (vec!["admin", "datastore", store, "namespace"], Vec::new())
            }
            PbsRequest::Groups(store) => (vec!["admin", "datastore", store, "groups"], Vec::new()),
            PbsRequest::Gc(store) => (vec!["admin", "datastore", store, "gc"], Vec::new()),
            PbsRequest::Snapshots { store, ns } => (
                vec!["admin", "datastore", store, "snapshots"],
                if ns.is_empty() {
                    Vec::new()
                } else {
                    vec![("ns", ns.to_string())]
                },
            ),
            PbsRequest::GroupSnapshots {
                store,
                backup_type,
                backup_id,
            } => (
                vec!["admin", "datastore", store, "snapshots"],
                vec![
                    ("backup-type", backup_type.to_string()),
                    ("backup-id", backup_id.to_string()),
                ],
            ),
            PbsRequest::VerifyJobs => (vec!["admin", "verify"], Vec::new()),
            PbsRequest::PruneJobs => (vec!["admin", "prune"], Vec::new()),
            PbsRequest::SyncJobs => (vec!["admin", "sync"], Vec::new()),
            PbsRequest::SyncJobsAll => (
                vec!["admin", "sync"],
                vec![("sync-direction", "all".to_string())],
            ),
            PbsRequest::Remotes => (vec!["config", "remote"], Vec::new()),
            PbsRequest::TapeBackupJobs => (vec!["tape", "backup"], Vec::new()),
            PbsRequest::TapeMediaContent => (vec!["tape", "media", "content"], Vec::new()),
            PbsRequest::TasksProbe => (
                vec!["nodes", "localhost", "tasks"],
                vec![("limit", "1".to_string())],
            ),
        }
    }

    /// The request as `--check-api` and error messages name it: `/path?query`.
    pub(crate) fn label(&self, request: PbsRequest<'_>) -> String {
        let (path, query) = PbsApi::target(request);
        endpoint_label(&path, &query)
    }

    async fn ask<T: DeserializeOwned>(
        &self,
        request: PbsRequest<'_>,
    ) -> Result<Answer<T>, ApiError> {
        let (path, query) = PbsApi::target(request);
        self.source.get_answer(&path, &query).await
    }

    async fn get<T: DeserializeOwned>(&self, request: PbsRequest<'_>) -> Result<T, ApiError> {
        Ok(self.ask(request).await?.data)
    }

    /// A list answer decoded item by item (one malformed item costs that item only), labelled
    /// with the request for the collector's anomaly.
    async fn list<T: DeserializeOwned>(
        &self,
        request: PbsRequest<'_>,
    ) -> Result<LenientList<T>, ApiError> {
        let mut list: LenientList<T> = self.get(request).await?;
        list.endpoint = self.label(request);
        Ok(list)
    }

    /// `GET /version`. Any authenticated caller.
    pub(crate) async fn version(&self) -> Result<wire::PbsVersion, ApiError> {
        self.get(PbsRequest::Version).await
    }

    /// `GET /access/permissions`: the caller's own effective privileges (a token gets its ACLs ∩
    /// its user's). Any authenticated caller.
    pub(crate) async fn permissions(&self) -> Result<Permissions, ApiError> {
        self.get(PbsRequest::Permissions).await
    }

    /// `GET /admin/datastore`. Any authenticated caller, **silently filtered** to datastores with
    /// some privilege on them or a namespace below (without `Datastore.Audit` the comment is left
    /// out).
    pub(crate) async fn datastores(&self) -> Result<Vec<wire::DatastoreListItem>, ApiError> {
        self.get(PbsRequest::Datastores).await
    }

    /// [`PbsApi::datastores`] decoded item by item.
    pub(crate) async fn datastores_listed(
        &self,
    ) -> Result<LenientList<wire::DatastoreListItem>, ApiError> {
        self.list(PbsRequest::Datastores).await
    }

    /// `GET /status/datastore-usage`. **Silently filtered** like [`PbsApi::datastores`]; without
    /// `Datastore.Audit` or `Datastore.Backup` an entry carries no numbers.
    pub(crate) async fn datastore_usage(&self) -> Result<Vec<wire::DatastoreUsage>, ApiError> {
        self.get(PbsRequest::DatastoreUsage).await
    }

    /// [`PbsApi::datastore_usage`] decoded item by item.
    pub(crate) async fn datastore_usage_listed(
        &self,
    ) -> Result<LenientList<wire::DatastoreUsage>, ApiError> {
        self.list(PbsRequest::DatastoreUsage).await
    }

    /// `GET /admin/datastore/{store}/namespace`. **Silently filtered** to namespaces with
    /// Audit/Modify/Read/Backup; 403 when the parent is neither accessible nor existing. PBS
    /// before 2.2 has no namespaces and fails.
    pub(crate) async fn namespaces(
        &self,
        store: &str,
    ) -> Result<Vec<wire::NamespaceItem>, ApiError> {
        self.get(PbsRequest::Namespaces(store)).await
    }

    /// [`PbsApi::namespaces`] decoded item by item.
    pub(crate) async fn namespaces_listed(
        &self,
        store: &str,
    ) -> Result<LenientList<wire::NamespaceItem>, ApiError> {
        self.list(PbsRequest::Namespaces(store)).await
    }

    /// `GET /admin/datastore/{store}/groups` (root namespace). `Datastore.Audit` lists every
    /// group; `Datastore.Backup` only the caller's own, **silently**; neither gives 403.
    pub(crate) async fn groups(&self, store: &str) -> Result<Vec<wire::GroupItem>, ApiError> {
        self.get(PbsRequest::Groups(store)).await
    }

    /// `GET /admin/datastore/{store}/gc`. Needs `Datastore.Audit` on `/datastore/{store}`: 403
    /// without it.
    pub(crate) async fn gc(&self, store: &str) -> Result<wire::GcStatus, ApiError> {
        self.get(PbsRequest::Gc(store)).await
    }

    /// `GET /admin/datastore/{store}/snapshots[?ns=…]` (`ns` empty = root namespace). Same
    /// privileges as [`PbsApi::groups`] on `/datastore/{store}[/{ns}]`: all snapshots with
    /// `Datastore.Audit`, **silently** only owned groups with `Datastore.Backup`, else 403.
    pub(crate) async fn snapshots(
        &self,
        store: &str,
        ns: &str,
    ) -> Result<Vec<wire::SnapshotItem>, ApiError> {
        self.get(PbsRequest::Snapshots { store, ns }).await
    }

    /// [`PbsApi::snapshots`] decoded item by item while the answer arrives, each straight into
    /// the compact [`wire::SnapshotSummary`] (no file names) and handed to `map`; what `map` keeps
    /// is the list. Neither the answer's body nor a list of wire items is held: one namespace
    /// can be 100 000 snapshots and tens of MB of JSON.
    pub(crate) async fn snapshots_mapped<U, F>(
        &self,
        store: &str,
        ns: &str,
        map: F,
    ) -> Result<LenientList<U>, ApiError>
    where
        F: FnMut(wire::SnapshotSummary) -> Option<U> + Clone,
    {
        let request = PbsRequest::Snapshots { store, ns };
        let (path, query) = PbsApi::target(request);
        let mut list = self.source.get_list_mapped(&path, &query, map).await?.data;
        list.endpoint = self.label(request);
        Ok(list)
    }

    /// `GET /admin/datastore/{store}/snapshots?backup-type=…&backup-id=…`: one group's snapshots
    /// (a cheap probe). Same privileges as [`PbsApi::snapshots`].
    pub(crate) async fn group_snapshots(
        &self,
        store: &str,
        backup_type: &str,
        backup_id: &str,
    ) -> Result<Vec<wire::SnapshotItem>, ApiError> {
        self.get(PbsRequest::GroupSnapshots {
            store,
            backup_type,
            backup_id,
        })
        .await
    }

    /// `GET /admin/verify`: verify jobs with their last result. **Silently filtered** to jobs on
    /// datastores/namespaces with `Datastore.Audit` or `Datastore.Verify`.
    pub(crate) async fn verify_jobs(&self) -> Result<Vec<wire::VerifyJobStatus>, ApiError> {
        self.get(PbsRequest::VerifyJobs).await
    }

    /// [`PbsApi::verify_jobs`] decoded item by item.
    pub(crate) async fn verify_jobs_listed(
        &self,
    ) -> Result<LenientList<wire::VerifyJobStatus>, ApiError> {
        self.list(PbsRequest::VerifyJobs).await
    }

    /// `GET /admin/prune`: prune jobs with their last result. **Silently filtered** to jobs with
    /// `Datastore.Audit` or `Datastore.Modify`.
    pub(crate) async fn prune_jobs(&self) -> Result<Vec<wire::PruneJobStatus>, ApiError> {
        self.get(PbsRequest::PruneJobs).await
    }

    /// [`PbsApi::prune_jobs`] decoded item by item.
    pub(crate) async fn prune_jobs_listed(
        &self,
    ) -> Result<LenientList<wire::PruneJobStatus>, ApiError> {
        self.list(PbsRequest::PruneJobs).await
    }

    /// `GET /admin/sync` without a direction, decoded item by item: every job before PBS 3.3,
    /// pull jobs only since (use [`PbsApi::copy_jobs_listed`]). **Silently filtered** like it.
    pub(crate) async fn sync_jobs_listed(
        &self,
    ) -> Result<LenientList<wire::SyncJobStatus>, ApiError> {
        self.list(PbsRequest::SyncJobs).await
    }

    /// `GET /admin/sync?sync-direction=all`: every sync job, pull and push, with its last result;
    /// on a server that rejects the parameter (PBS before 3.3 answers 400: it has no push jobs and
    /// lists every job without it) asks again as [`PbsApi::sync_jobs_listed`]. Without the
    /// parameter PBS 3.3+ lists pull jobs only. **Silently filtered**: a job needs
    /// `Datastore.Audit` on its local store/namespace and `Remote.Audit` on `/remote/<remote>`
    /// (pull) or `/remote/<remote>/<remote-store>[/<ns>]` (push); a local sync needs
    /// `Datastore.Audit` on the other store. Missing privileges hide jobs without an error.
    pub(crate) async fn copy_jobs_listed(
        &self,
    ) -> Result<LenientList<wire::SyncJobStatus>, ApiError> {
        self.copy_jobs_asked().await.map(|(list, _)| list)
    }

    /// [`PbsApi::copy_jobs_listed`], plus the request that was answered, so `--check-api` names
    /// the fallback when PBS before 3.3 rejected the direction (the error names the request that
    /// failed).
    pub(crate) async fn copy_jobs_asked(
        &self,
    ) -> Result<(LenientList<wire::SyncJobStatus>, PbsRequest<'static>), ApiError> {
        match self.list(PbsRequest::SyncJobsAll).await {
            Err(err) if err.status() == Some(400) => self
                .sync_jobs_listed()
                .await
                .map(|list| (list, PbsRequest::SyncJobs)),
            other => other.map(|list| (list, PbsRequest::SyncJobsAll)),
        }
    }

    /// `GET /config/remote`: the remotes (host, port, fingerprint, auth id; PBS never returns the
    /// password and the wire type has no field for it). **Silently filtered** to remotes with
    /// `Remote.Audit` on `/remote/<name>`: a token without it gets an empty list, no error.
    pub(crate) async fn remotes_listed(&self) -> Result<LenientList<wire::RemoteItem>, ApiError> {
        self.list(PbsRequest::Remotes).await
    }

    /// `GET /tape/backup`: tape backup jobs with their last result. **Silently filtered** to jobs
    /// with `Tape.Audit` on `/tape/job/<id>`: without it the list is empty, no error.
    pub(crate) async fn tape_jobs_listed(
        &self,
    ) -> Result<LenientList<wire::TapeBackupJobStatus>, ApiError> {
        self.list(PbsRequest::TapeBackupJobs).await
    }

    /// `GET /tape/media/content`: one entry per (medium, snapshot) in the local tape catalog; no
    /// hardware access (this endpoint has no `update-status`, unlike `/tape/media/list`, which the
    /// tool never asks because by default it scans every changer). **Silently filtered** to media
    /// sets of pools with `Tape.Audit` on `/tape/pool/<pool>`.
    pub(crate) async fn tape_content_listed(
        &self,
    ) -> Result<LenientList<wire::MediaContentEntry>, ApiError> {
        self.list(PbsRequest::TapeMediaContent).await
    }

    /// `GET /nodes/localhost/tasks?typefilter=reader&since=…`, paged with `start`/`limit`: the
    /// backup-reader sessions (worker id `<store>:<type>/<id>/<time %08X>`), made by restores and
    /// equally by a remote's pull sync, so a read, never proof of a restore. `store` cannot narrow
    /// it (reader tasks never match it). **Silently filtered** to the caller's own tasks without
    /// `Sys.Audit` on `/system/tasks` (readers run as the PVE storage's user).
    pub(crate) async fn reader_tasks(
        &self,
        since: i64,
        page_size: usize,
        max_items: usize,
    ) -> Paged<LenientList<wire::PbsTaskListItem>> {
        let paging = Paging {
            page_size,
            max_items,
            clip_to_max: false,
        };
        let path = ["nodes", "localhost", "tasks"];
        let mut paged: Paged<LenientList<wire::PbsTaskListItem>> =
            read_pages(paging, |start, limit| {
                let query = [
                    ("typefilter", "reader".to_string()),
                    ("since", since.to_string()),
                    ("start", start.to_string()),
                    // PBS reads `limit=0` as "no limit": never send it.
                    ("limit", limit.max(1).to_string()),
                ];
                async move { self.source.get_answer(&path, &query).await }
            })
            .await;
        paged.items.endpoint = endpoint_label(
            &path,
            &[
                ("typefilter", "reader".to_string()),
                ("since", since.to_string()),
            ],
        );
        paged
    }

    /// `GET /nodes/localhost/tasks?limit=1`: a cheap probe of the task history. **Silently
    /// filtered** to the caller's own tasks (plus job tasks it has job privileges for) without
    /// `Sys.Audit` on `/system/tasks`.
    pub(crate) async fn tasks_probe(&self) -> Result<Answer<Vec<wire::PbsTaskListItem>>, ApiError> {
        self.ask(PbsRequest::TasksProbe).await
    }
}
