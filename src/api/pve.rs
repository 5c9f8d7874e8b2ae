//! The PVE endpoints the tool reads, one method each: path, query and wire type in one place.
//!
//! Every method is a single `GET` (or, for task lists and logs, a paged series of them) through the
//! [`Source`], so live, recording and replay runs ask identical questions. Each doc comment names the
//! privilege the endpoint needs and what a missing one does (pve-api.md §2): a 403, or a list that is
//! silently shortened. Which of those matters for completeness is decided in
//! `model::permissions::Need`, not here.

use super::access::Permissions;
use super::client::Answer;
use super::paging::{read_pages, Paged, Paging};
use super::pve_types as wire;
use super::source::Source;
use super::ApiError;

/// The PVE API of one cluster, read through a [`Source`].
#[derive(Debug, Clone)]
pub(crate) struct PveApi {
    source: Source,
    jobs_path: Vec<String>,
}

const NO_QUERY: &[(&str, String)] = &[];

impl PveApi {
    /// Read through `source`; `jobs_path` are the segments of the backup-job list
    /// (`PVE_BACKUP_JOBS_ENDPOINT`, normally `cluster/backup`).
    pub(crate) fn new(source: Source, jobs_path: Vec<String>) -> PveApi {
        PveApi { source, jobs_path }
    }

    #[allow(dead_code)] // --check-api reads it once rebuilt on this layer.
    /// The source answers come from.
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }

    /// `GET /version`. Any authenticated caller.
    pub(crate) async fn version(&self) -> Result<wire::Version, ApiError> {
        self.source.get(&["version"], NO_QUERY).await
    }

    /// `GET /access/permissions`: the caller's own effective privileges. Any authenticated caller;
    /// paths where nothing is granted (a NoAccess ACL) are left out of the map.
    pub(crate) async fn permissions(&self) -> Result<Permissions, ApiError> {
        self.source.get(&["access", "permissions"], NO_QUERY).await
    }

    /// `GET /access/permissions?path=<path>`: the caller's privileges on `path` itself, exact even
    /// where the full map is silent (NoAccess). Any authenticated caller.
    pub(crate) async fn permissions_on(&self, path: &str) -> Result<Permissions, ApiError> {
        self.source
            .get(&["access", "permissions"], &[("path", path.to_string())])
            .await
    }

    /// `GET /nodes`. Any authenticated caller; every node is listed (only the statistics are left
    /// out without `Sys.Audit` on `/nodes/{node}`).
    pub(crate) async fn nodes(&self) -> Result<Vec<wire::Node>, ApiError> {
        self.source.get(&["nodes"], NO_QUERY).await
    }

    /// `GET /nodes/{node}/time`. Needs `Sys.Audit` on `/nodes/{node}`: 403 without it.
    pub(crate) async fn node_time(&self, node: &str) -> Result<wire::NodeTime, ApiError> {
        self.source.get(&["nodes", node, "time"], NO_QUERY).await
    }

    /// `GET /cluster/resources?type=vm`: every guest. Any authenticated caller, but **silently
    /// filtered**: guests without `VM.Audit` on `/vms/{vmid}` are left out, and a guest's `pool`
    /// without `Pool.Audit` on that pool.
    pub(crate) async fn guests(&self) -> Result<Vec<wire::ClusterResource>, ApiError> {
        self.source
            .get(&["cluster", "resources"], &[("type", "vm".to_string())])
            .await
    }

    /// `GET /nodes/{node}/{qemu|lxc}/{vmid}/config`. Needs `VM.Audit` on `/vms/{vmid}`: 403
    /// without it. Ask the guest's current node (`proxyto: node`).
    pub(crate) async fn guest_config(
        &self,
        node: &str,
        kind: wire::GuestConfigKind,
        vmid: u32,
    ) -> Result<wire::GuestConfig, ApiError> {
        let kind = match kind {
            wire::GuestConfigKind::Qemu => "qemu",
            wire::GuestConfigKind::Lxc => "lxc",
        };
        let vmid = vmid.to_string();
        self.source
            .get(&["nodes", node, kind, &vmid, "config"], NO_QUERY)
            .await
    }

    /// `GET /storage`. Any authenticated caller, **silently filtered** to storages with
    /// `Datastore.Audit` or `Datastore.AllocateSpace` on `/storage/{storage}`.
    pub(crate) async fn storages(&self) -> Result<Vec<wire::StorageConfig>, ApiError> {
        self.source.get(&["storage"], NO_QUERY).await
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
        self.source
            .get(
                &["nodes", node, "storage", storage, "content"],
                &[("content", "backup".to_string())],
            )
            .await
    }

    #[allow(dead_code)] // --check-api reads it once rebuilt on this layer.
    /// The backup-job list as a path label (`/cluster/backup` unless `PVE_BACKUP_JOBS_ENDPOINT`
    /// says otherwise), for messages.
    pub(crate) fn backup_jobs_path(&self) -> String {
        self.jobs_path.iter().map(|s| format!("/{s}")).collect()
    }

    /// `GET /cluster/backup` (or `PVE_BACKUP_JOBS_ENDPOINT`). Needs `Sys.Audit` on `/`: 403
    /// without it.
    pub(crate) async fn backup_jobs(&self) -> Result<Vec<wire::BackupJob>, ApiError> {
        let path: Vec<&str> = self.jobs_path.iter().map(String::as_str).collect();
        self.source.get(&path, NO_QUERY).await
    }

    /// `GET /cluster/backup-info/not-backed-up`. Needs `Sys.Audit` on `/` (403 without it); guests
    /// without `VM.Audit` are **silently left out**, so they look covered.
    pub(crate) async fn not_backed_up(&self) -> Result<Vec<wire::NotBackedUpItem>, ApiError> {
        self.source
            .get(&["cluster", "backup-info", "not-backed-up"], NO_QUERY)
            .await
    }

    /// `GET /pools`. Any authenticated caller, **silently filtered** to pools with `Pool.Audit`.
    pub(crate) async fn pools(&self) -> Result<Vec<wire::PoolListItem>, ApiError> {
        self.source.get(&["pools"], NO_QUERY).await
    }

    /// `GET /pools?poolid={id}` (PVE ≥ 8.1): one pool with its members; `None` when the server
    /// answered an empty list. Documented to need `Pool.Audit` on `/pool/{id}`; the check is not
    /// enforced by current code, so do not rely on a 403.
    pub(crate) async fn pool(&self, id: &str) -> Result<Option<wire::PoolDetail>, ApiError> {
        let mut list: Vec<wire::PoolDetail> = self
            .source
            .get(&["pools"], &[("poolid", id.to_string())])
            .await?;
        Ok(list.pop())
    }

    /// `GET /pools/{id}` (before PVE 8.1; no nested pools). Needs `Pool.Audit` on `/pool/{id}`:
    /// 403 without it.
    pub(crate) async fn pool_legacy(&self, id: &str) -> Result<wire::PoolDetail, ApiError> {
        self.source.get(&["pools", id], NO_QUERY).await
    }

    /// `GET /nodes/{node}/tasks?typefilter=vzdump&since=…`, paged with `start`/`limit`. Any
    /// authenticated caller, **silently filtered** to the caller's own tasks without `Sys.Audit`
    /// on `/nodes/{node}` (scheduled backups run as `root@pam` and vanish).
    pub(crate) async fn vzdump_tasks(
        &self,
        node: &str,
        since: i64,
        page_size: usize,
        max_items: usize,
    ) -> Paged<wire::TaskListItem> {
        let paging = Paging {
            page_size,
            max_items,
            clip_to_max: false,
        };
        read_pages(paging, |start, limit| {
            let query = [
                ("typefilter", "vzdump".to_string()),
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
        .await
    }

    #[allow(dead_code)] // --check-api reads it once rebuilt on this layer.
    /// `GET /nodes/{node}/tasks?typefilter=vzdump&limit=1`: a cheap probe of the task history (same
    /// silent filtering as [`PveApi::vzdump_tasks`]).
    pub(crate) async fn vzdump_tasks_probe(
        &self,
        node: &str,
    ) -> Result<Answer<Vec<wire::TaskListItem>>, ApiError> {
        self.source
            .get_answer(
                &["nodes", node, "tasks"],
                &[
                    ("typefilter", "vzdump".to_string()),
                    ("limit", "1".to_string()),
                ],
            )
            .await
    }

    /// `GET /nodes/{node}/tasks/{upid}/log`, paged with `start`/`limit`, never past `max_lines`.
    /// Needs to be the task's owner or `Sys.Audit` on `/nodes/{node}`: 403 otherwise.
    pub(crate) async fn task_log(
        &self,
        node: &str,
        upid: &str,
        page_size: usize,
        max_lines: usize,
    ) -> Paged<wire::TaskLogLine> {
        let paging = Paging {
            page_size,
            max_items: max_lines,
            clip_to_max: true,
        };
        read_pages(paging, |start, limit| {
            let query = [("start", start.to_string()), ("limit", limit.to_string())];
            async move {
                self.source
                    .get_answer(&["nodes", node, "tasks", upid, "log"], &query)
                    .await
            }
        })
        .await
    }
}
