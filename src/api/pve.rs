//! The PVE endpoints the tool reads, one method each: path, query and wire type in one place.
//!
//! Every method is a single `GET` (or, for task lists and logs, a paged series of them) through the
//! [`Source`], so live, recording and replay runs ask identical questions. Each doc comment names the
//! privilege the endpoint needs and what a missing one does (pve-api.md §2): a 403, or a list that is
//! silently shortened. Which of those matters for completeness is decided in
//! `model::permissions::Need`, not here.

use serde::de::DeserializeOwned;

use super::access::Permissions;
use super::client::{endpoint_label, Answer};
use super::de::LenientList;
use super::log_page::TaskLogPage;
use super::paging::{read_pages, read_pages_each, Paged, PagesEnd, Paging};
use super::pve_types as wire;
use super::source::Source;
use super::ApiError;

/// The PVE task types that restore a guest from a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RestoreTaskType {
    /// `qmrestore`: a VM restore.
    Qmrestore,
    /// `vzrestore`: a container restore.
    Vzrestore,
}

impl RestoreTaskType {
    /// The task type as PVE spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RestoreTaskType::Qmrestore => "qmrestore",
            RestoreTaskType::Vzrestore => "vzrestore",
        }
    }
}

/// The PVE API of one cluster, read through a [`Source`].
#[derive(Debug, Clone)]
pub(crate) struct PveApi {
    source: Source,
    jobs_path: Vec<String>,
}

/// One PVE request that is a single `GET`: the typed methods send it and [`PveApi::label`] names
/// it, from the same path and query, so what `--check-api` prints is what the collector asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PveRequest<'a> {
    /// [`PveApi::version`].
    Version,
    /// [`PveApi::permissions`].
    Permissions,
    /// [`PveApi::permissions_on`] this ACL path.
    PermissionsOn(&'a str),
    /// [`PveApi::nodes`].
    Nodes,
    /// [`PveApi::node_time`] of this node.
    NodeTime(&'a str),
    /// [`PveApi::guests`].
    Guests,
    /// [`PveApi::guest_config`].
    GuestConfig {
        /// The guest's node.
        node: &'a str,
        /// QEMU or LXC.
        kind: wire::GuestConfigKind,
        /// The guest.
        vmid: u32,
    },
    /// [`PveApi::storages`].
    Storages,
    /// [`PveApi::storage_backups`].
    StorageBackups {
        /// The node asked.
        node: &'a str,
        /// The storage.
        storage: &'a str,
    },
    /// [`PveApi::storage_images_listed`].
    StorageImages {
        /// The node asked.
        node: &'a str,
        /// The storage.
        storage: &'a str,
    },
    /// [`PveApi::backup_jobs`] (`PVE_BACKUP_JOBS_ENDPOINT`).
    BackupJobs,
    /// [`PveApi::included_volumes`] of this job.
    IncludedVolumes(&'a str),
    /// [`PveApi::not_backed_up`].
    NotBackedUp,
    /// [`PveApi::pools`].
    Pools,
    /// [`PveApi::pool`] with this id.
    Pool(&'a str),
    /// [`PveApi::pool_legacy`] with this id.
    PoolLegacy(&'a str),
    /// [`PveApi::vzdump_tasks_probe`] on this node.
    VzdumpTasksProbe(&'a str),
    /// [`PveApi::running_vzdump_tasks`] on this node.
    RunningVzdumpTasks(&'a str),
    /// [`PveApi::replication`] on this node.
    Replication(&'a str),
}

/// Path segments and query of one request.
type Target = (Vec<String>, Vec<(&'static str, String)>);

impl PveApi {
    fn target(&self, request: PveRequest<'_>) -> Target {
        let owned = |segments: &[&str]| segments.iter().map(|s| s.to_string()).collect();
        match request {
            PveRequest::Version => (owned(&["version"]), Vec::new()),
            PveRequest::Permissions => (owned(&["access", "permissions"]), Vec::new()),
            PveRequest::PermissionsOn(path) => (
                owned(&["access", "permissions"]),
                vec![("path", path.to_string())],
            ),
            PveRequest::Nodes => (owned(&["nodes"]), Vec::new()),
            PveRequest::NodeTime(node) => (owned(&["nodes", node, "time"]), Vec::new()),
            PveRequest::Guests => (
                owned(&["cluster", "resources"]),
                vec![("type", "vm".to_string())],
            ),
            PveRequest::GuestConfig { node, kind, vmid } => {
                let kind = match kind {
                    wire::GuestConfigKind::Qemu => "qemu",
                    wire::GuestConfigKind::Lxc => "lxc",
                };
                let vmid = vmid.to_string();
                (owned(&["nodes", node, kind, &vmid, "config"]), Vec::new())
            }
            PveRequest::Storages => (owned(&["storage"]), Vec::new()),
            PveRequest::StorageBackups { node, storage } => (
                owned(&["nodes", node, "storage", storage, "content"]),
                vec![("content", "backup".to_string())],
            ),
            PveRequest::StorageImages { node, storage } => (
                owned(&["nodes", node, "storage", storage, "content"]),
                vec![("content", "images".to_string())],
            ),
            PveRequest::BackupJobs => (self.jobs_path.clone(), Vec::new()),
            PveRequest::IncludedVolumes(job) => (
                owned(&["cluster", "backup", job, "included_volumes"]),
                Vec::new(),
            ),
            PveRequest::NotBackedUp => (
                owned(&["cluster", "backup-info", "not-backed-up"]),
                Vec::new(),
            ),
            PveRequest::Pools => (owned(&["pools"]), Vec::new()),
            PveRequest::Pool(id) => (owned(&["pools"]), vec![("poolid", id.to_string())]),
            PveRequest::PoolLegacy(id) => (owned(&["pools", id]), Vec::new()),
            PveRequest::VzdumpTasksProbe(node) => (
                owned(&["nodes", node, "tasks"]),
                vec![
                    ("typefilter", "vzdump".to_string()),
                    ("limit", "1".to_string()),
                ],
            ),
            PveRequest::Replication(node) => (owned(&["nodes", node, "replication"]), Vec::new()),
            PveRequest::RunningVzdumpTasks(node) => (
                owned(&["nodes", node, "tasks"]),
                vec![
                    ("typefilter", "vzdump".to_string()),
                    ("source", "active".to_string()),
                ],
            ),
        }
    }

    /// The request as `--check-api` and error messages name it: `/path?query`.
    pub(crate) fn label(&self, request: PveRequest<'_>) -> String {
        let (path, query) = self.target(request);
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        endpoint_label(&path, &query)
    }

    async fn ask<T: DeserializeOwned>(
        &self,
        request: PveRequest<'_>,
    ) -> Result<Answer<T>, ApiError> {
        let (path, query) = self.target(request);
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        self.source.get_answer(&path, &query).await
    }

    async fn get<T: DeserializeOwned>(&self, request: PveRequest<'_>) -> Result<T, ApiError> {
        Ok(self.ask(request).await?.data)
    }

    /// A list answer decoded item by item (one malformed item costs that item only), labelled
    /// with the request for the collector's anomaly.
    async fn list<T: DeserializeOwned>(
        &self,
        request: PveRequest<'_>,
    ) -> Result<LenientList<T>, ApiError> {
        let mut list: LenientList<T> = self.get(request).await?;
        list.endpoint = self.label(request);
        Ok(list)
    }

    /// Read through `source`; `jobs_path` are the segments of the backup-job list
    /// (`PVE_BACKUP_JOBS_ENDPOINT`, normally `cluster/backup`).
    pub(crate) fn new(source: Source, jobs_path: Vec<String>) -> PveApi {
        PveApi { source, jobs_path }
    }

    /// `GET /version`. Any authenticated caller.
    pub(crate) async fn version(&self) -> Result<wire::Version, ApiError> {
        self.get(PveRequest::Version).await
    }

    /// `GET /access/permissions`: the caller's own effective privileges. Any authenticated caller;
    /// paths where nothing is granted (a NoAccess ACL) are left out of the map.
    pub(crate) async fn permissions(&self) -> Result<Permissions, ApiError> {
        self.get(PveRequest::Permissions).await
    }

    /// `GET /access/permissions?path=<path>`: the caller's privileges on `path` itself, exact even
    /// where the full map is silent (NoAccess). Any authenticated caller.
    pub(crate) async fn permissions_on(&self, path: &str) -> Result<Permissions, ApiError> {
        self.get(PveRequest::PermissionsOn(path)).await
    }

    /// `GET /nodes`. Any authenticated caller; every node is listed (only the statistics are left
    /// out without `Sys.Audit` on `/nodes/{node}`).
    pub(crate) async fn nodes(&self) -> Result<Vec<wire::Node>, ApiError> {
        self.get(PveRequest::Nodes).await
    }

    /// [`PveApi::nodes`] decoded item by item.
    pub(crate) async fn nodes_listed(&self) -> Result<LenientList<wire::Node>, ApiError> {
        self.list(PveRequest::Nodes).await
    }

    /// `GET /nodes/{node}/time`. Needs `Sys.Audit` on `/nodes/{node}`: 403 without it.
    pub(crate) async fn node_time(&self, node: &str) -> Result<wire::NodeTime, ApiError> {
        self.get(PveRequest::NodeTime(node)).await
    }

    /// `GET /cluster/resources?type=vm`: every guest. Any authenticated caller, but **silently
    /// filtered**: guests without `VM.Audit` on `/vms/{vmid}` are left out, and a guest's `pool`
    /// without `Pool.Audit` on that pool.
    pub(crate) async fn guests(&self) -> Result<Vec<wire::ClusterResource>, ApiError> {
        self.get(PveRequest::Guests).await
    }

    /// [`PveApi::guests`] decoded item by item.
    pub(crate) async fn guests_listed(
        &self,
    ) -> Result<LenientList<wire::ClusterResource>, ApiError> {
        self.list(PveRequest::Guests).await
    }

    /// `GET /nodes/{node}/{qemu|lxc}/{vmid}/config`. Needs `VM.Audit` on `/vms/{vmid}`: 403
    /// without it. Ask the guest's current node (`proxyto: node`).
    pub(crate) async fn guest_config(
        &self,
        node: &str,
        kind: wire::GuestConfigKind,
        vmid: u32,
    ) -> Result<wire::GuestConfig, ApiError> {
        self.get(PveRequest::GuestConfig { node, kind, vmid }).await
    }

    /// `GET /storage`. Any authenticated caller, **silently filtered** to storages with
    /// `Datastore.Audit` or `Datastore.AllocateSpace` on `/storage/{storage}`.
    pub(crate) async fn storages(&self) -> Result<Vec<wire::StorageConfig>, ApiError> {
        self.get(PveRequest::Storages).await
    }

    /// [`PveApi::storages`] decoded item by item.
    pub(crate) async fn storages_listed(
        &self,
    ) -> Result<LenientList<wire::StorageConfig>, ApiError> {
        self.list(PveRequest::Storages).await
    }

    /// `GET /nodes/{node}/storage/{storage}/content?content=backup`. Needs `Datastore.Audit` or
    /// `Datastore.AllocateSpace` on `/storage/{storage}` (403 without either); each backup is then
    /// **silently filtered**: listed only with `Datastore.Allocate` on the storage, or
    /// `Datastore.AllocateSpace` plus `VM.Backup` on the guest.
    pub(crate) async fn storage_backups(
        &self,
        node: &str,
        storage: &str,
    ) -> Result<Vec<wire::StorageContentItem>, ApiError> {
        self.get(PveRequest::StorageBackups { node, storage }).await
    }

    /// [`PveApi::storage_backups`] decoded item by item.
    pub(crate) async fn storage_backups_listed(
        &self,
        node: &str,
        storage: &str,
    ) -> Result<LenientList<wire::StorageContentItem>, ApiError> {
        self.list(PveRequest::StorageBackups { node, storage })
            .await
    }

    /// `GET /nodes/{node}/storage/{storage}/content?content=images`: the guest disk images on a
    /// storage (where fleecing leftovers `vm-<vmid>-fleece-<n>` show). Needs `Datastore.Audit` or
    /// `Datastore.AllocateSpace` on `/storage/{storage}` (403 without either); each image is then
    /// **silently filtered**: listed only with `Datastore.Allocate` on the storage, so without it
    /// the list is empty however many images there are.
    pub(crate) async fn storage_images_listed(
        &self,
        node: &str,
        storage: &str,
    ) -> Result<LenientList<wire::StorageContentItem>, ApiError> {
        self.list(PveRequest::StorageImages { node, storage }).await
    }

    /// The backup-job list as a path label (`/cluster/backup` unless `PVE_BACKUP_JOBS_ENDPOINT`
    /// says otherwise), for messages.
    pub(crate) fn backup_jobs_path(&self) -> String {
        self.label(PveRequest::BackupJobs)
    }

    /// `GET /cluster/backup` (or `PVE_BACKUP_JOBS_ENDPOINT`). Needs `Sys.Audit` on `/`: 403
    /// without it.
    pub(crate) async fn backup_jobs(&self) -> Result<Vec<wire::BackupJob>, ApiError> {
        self.get(PveRequest::BackupJobs).await
    }

    /// [`PveApi::backup_jobs`] decoded item by item.
    pub(crate) async fn backup_jobs_listed(
        &self,
    ) -> Result<LenientList<wire::BackupJob>, ApiError> {
        self.list(PveRequest::BackupJobs).await
    }

    /// `GET /cluster/backup/{id}/included_volumes`: the guests the job selects, each with its
    /// volumes and whether vzdump backs them up. Needs `Sys.Audit` on `/` (403 without it);
    /// guests without `VM.Audit` are **silently left out** of the tree, so a guest missing from
    /// it has unknown volumes (never "all included").
    pub(crate) async fn included_volumes(
        &self,
        job: &str,
    ) -> Result<wire::IncludedVolumes, ApiError> {
        self.get(PveRequest::IncludedVolumes(job)).await
    }

    /// `GET /cluster/backup-info/not-backed-up`. Needs `Sys.Audit` on `/` (403 without it); guests
    /// without `VM.Audit` are **silently left out**, so they look covered.
    pub(crate) async fn not_backed_up(&self) -> Result<Vec<wire::NotBackedUpItem>, ApiError> {
        self.get(PveRequest::NotBackedUp).await
    }

    /// [`PveApi::not_backed_up`] decoded item by item.
    pub(crate) async fn not_backed_up_listed(
        &self,
    ) -> Result<LenientList<wire::NotBackedUpItem>, ApiError> {
        self.list(PveRequest::NotBackedUp).await
    }

    /// `GET /pools`. Any authenticated caller, **silently filtered** to pools with `Pool.Audit`.
    pub(crate) async fn pools(&self) -> Result<Vec<wire::PoolListItem>, ApiError> {
        self.get(PveRequest::Pools).await
    }

    /// [`PveApi::pools`] decoded item by item.
    pub(crate) async fn pools_listed(&self) -> Result<LenientList<wire::PoolListItem>, ApiError> {
        self.list(PveRequest::Pools).await
    }

    /// `GET /pools?poolid={id}` (PVE ≥ 8.1): one pool with its members; `None` when the server
    /// answered an empty list. Documented to need `Pool.Audit` on `/pool/{id}`; the check is not
    /// enforced by current code, so do not rely on a 403.
    pub(crate) async fn pool(&self, id: &str) -> Result<Option<wire::PoolDetail>, ApiError> {
        let mut list: Vec<wire::PoolDetail> = self.get(PveRequest::Pool(id)).await?;
        Ok(list.pop())
    }

    /// `GET /pools/{id}` (before PVE 8.1; no nested pools). Needs `Pool.Audit` on `/pool/{id}`:
    /// 403 without it.
    pub(crate) async fn pool_legacy(&self, id: &str) -> Result<wire::PoolDetail, ApiError> {
        self.get(PveRequest::PoolLegacy(id)).await
    }

    /// `GET /nodes/{node}/tasks?typefilter=vzdump&since=…`, paged with `start`/`limit`, each page
    /// decoded item by item. Any authenticated caller, **silently filtered** to the caller's own
    /// tasks without `Sys.Audit` on `/nodes/{node}` (scheduled backups run as `root@pam` and
    /// vanish).
    pub(crate) async fn vzdump_tasks(
        &self,
        node: &str,
        since: i64,
        page_size: usize,
        max_items: usize,
    ) -> Paged<LenientList<wire::TaskListItem>> {
        self.typed_tasks(node, "vzdump", since, page_size, max_items)
            .await
    }

    /// `GET /nodes/{node}/tasks?typefilter=qmrestore|vzrestore&since=…`, paged like
    /// [`PveApi::vzdump_tasks`]: the restores of VMs (`qmrestore`) or containers (`vzrestore`).
    /// PVE's `typefilter` is an exact match, so each kind is its own request. Any authenticated
    /// caller, **silently filtered** to the caller's own tasks without `Sys.Audit` on
    /// `/nodes/{node}` (restores started by an admin vanish).
    pub(crate) async fn restore_tasks(
        &self,
        node: &str,
        kind: RestoreTaskType,
        since: i64,
        page_size: usize,
        max_items: usize,
    ) -> Paged<LenientList<wire::TaskListItem>> {
        self.typed_tasks(node, kind.as_str(), since, page_size, max_items)
            .await
    }

    async fn typed_tasks(
        &self,
        node: &str,
        task_type: &str,
        since: i64,
        page_size: usize,
        max_items: usize,
    ) -> Paged<LenientList<wire::TaskListItem>> {
        let paging = Paging {
            page_size,
            max_items,
            clip_to_max: false,
        };
        let mut paged: Paged<LenientList<wire::TaskListItem>> =
            read_pages(paging, |start, limit| {
                let query = [
                    ("typefilter", task_type.to_string()),
                    ("since", since.to_string()),
                    ("start", start.to_string()),
                    ("limit", limit.to_string()),
                ];
                async move {
                    self.source
                        .get_answer(&["nodes", node, "tasks"], &query)
                        .await
                }
            })
            .await;
        paged.items.endpoint = endpoint_label(
            &["nodes", node, "tasks"],
            &[
                ("typefilter", task_type.to_string()),
                ("since", since.to_string()),
            ],
        );
        paged
    }

    /// `GET /nodes/{node}/tasks?typefilter=vzdump&limit=1`: a cheap probe of the task history (same
    /// silent filtering as [`PveApi::vzdump_tasks`]).
    pub(crate) async fn vzdump_tasks_probe(
        &self,
        node: &str,
    ) -> Result<Answer<Vec<wire::TaskListItem>>, ApiError> {
        self.ask(PveRequest::VzdumpTasksProbe(node)).await
    }

    /// `GET /nodes/{node}/tasks?typefilter=vzdump&source=active`: the node's running vzdump tasks
    /// (and just-finished ones not yet archived), decoded item by item. The same list and
    /// privilege as [`PveApi::vzdump_tasks`]: **silently filtered** to the caller's own tasks
    /// without `Sys.Audit` on `/nodes/{node}`, so a scheduled backup would look absent.
    pub(crate) async fn running_vzdump_tasks(
        &self,
        node: &str,
    ) -> Result<LenientList<wire::TaskListItem>, ApiError> {
        self.list(PveRequest::RunningVzdumpTasks(node)).await
    }

    /// `GET /nodes/{node}/replication`: the storage replication jobs (with their state) of the
    /// guests currently on `node`; proxied to the node, so an offline node fails. Any
    /// authenticated caller, **silently filtered** per job to guests with `VM.Audit` on
    /// `/vms/{vmid}`.
    pub(crate) async fn replication(
        &self,
        node: &str,
    ) -> Result<LenientList<wire::ReplicationStatus>, ApiError> {
        self.list(PveRequest::Replication(node)).await
    }

    /// `GET /nodes/{node}/tasks/{upid}/log`, paged with `start`/`limit`, never past `max_lines`.
    /// All or nothing, unlike the task list: a log missing a line could hide the line that says a
    /// guest failed.
    /// Needs to be the task's owner or `Sys.Audit` on `/nodes/{node}`: 403 otherwise.
    pub(crate) async fn task_log(
        &self,
        node: &str,
        upid: &str,
        page_size: usize,
        max_lines: usize,
    ) -> Paged<Vec<String>> {
        let mut items = Vec::new();
        let end = self
            .task_log_pages(node, upid, page_size, max_lines, |page| {
                items.extend(page.lines().map(str::to_string))
            })
            .await;
        Paged {
            items,
            capped: end.capped,
            failure: end.failure,
        }
    }

    /// [`PveApi::task_log`] (same path, same privilege: 403 without it), handing each page to
    /// `take` as it arrives, so a caller that parses the log holds one page, not the whole log.
    /// The caller must still treat a failure as "no log": the pages before it are only part of it.
    pub(crate) async fn task_log_pages(
        &self,
        node: &str,
        upid: &str,
        page_size: usize,
        max_lines: usize,
        take: impl FnMut(TaskLogPage),
    ) -> PagesEnd {
        let paging = Paging {
            page_size,
            max_items: max_lines,
            clip_to_max: true,
        };
        read_pages_each(paging, take, |start, limit| {
            let query = [("start", start.to_string()), ("limit", limit.to_string())];
            async move {
                self.source
                    .get_log_page(&["nodes", node, "tasks", upid, "log"], &query)
                    .await
            }
        })
        .await
    }
}
