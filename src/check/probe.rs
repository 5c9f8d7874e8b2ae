//! Running one probe: a typed request of the endpoint layer on its own task, timed, and turned into
//! a [`Probe`] row whatever happens to it.
//!
//! Each probe keeps its own typed answer in an [`Outcome`], so the verdicts read named results
//! instead of positions in a list, and a probe whose task panicked is still a row (status `panic`),
//! never a gap that would shift or hide the others.

use std::future::Future;
use std::time::Instant;

use tokio::task::JoinHandle;

use super::Probe;
use crate::api::access::Permissions;
use crate::api::{pbs_types, pve_types, Answer, ApiError};

/// Why a probe has no answer.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The request failed: status, transport, or an answer of the wrong shape.
    Api(ApiError),
    /// The probe's task ended abnormally (a panic); nothing is known about the endpoint.
    Panicked(String),
}

impl Failure {
    /// The API error, when the request itself failed.
    pub(crate) fn api(&self) -> Option<&ApiError> {
        match self {
            Failure::Api(err) => Some(err),
            Failure::Panicked(_) => None,
        }
    }

    fn status(&self) -> String {
        match self {
            Failure::Api(err) => err.short(),
            Failure::Panicked(_) => "panic".into(),
        }
    }

    /// What went wrong, for messages.
    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Api(err) => err.kind.to_string(),
            Failure::Panicked(reason) => format!("the probe ended abnormally: {reason}"),
        }
    }

    fn hint(&self) -> Option<String> {
        self.api().and_then(ApiError::hint)
    }
}

/// One probe's row and its typed answer.
#[derive(Debug)]
pub(crate) struct Outcome<T> {
    /// What `--check-api` prints for it.
    pub(crate) row: Probe,
    /// The decoded answer, or why there is none.
    pub(crate) result: Result<T, Failure>,
}

impl<T: Items> Outcome<T> {
    /// The outcome of a finished request.
    pub(crate) fn new(
        endpoint: String,
        purpose: &str,
        latency_ms: u64,
        result: Result<T, Failure>,
    ) -> Outcome<T> {
        let row = Probe {
            endpoint,
            purpose: purpose.to_string(),
            status: match &result {
                Ok(_) => "ok".into(),
                Err(failure) => failure.status(),
            },
            items: result.as_ref().ok().and_then(Items::items),
            latency_ms,
            error: result.as_ref().err().map(Failure::message),
            hint: result.as_ref().err().and_then(Failure::hint),
        };
        Outcome { row, result }
    }
}

impl<T> Outcome<T> {
    /// The answer, when there is one.
    pub(crate) fn ok(&self) -> Option<&T> {
        self.result.as_ref().ok()
    }

    /// Why there is no answer.
    pub(crate) fn failure(&self) -> Option<&Failure> {
        self.result.as_ref().err()
    }
}

/// An answer together with the request that produced it, for probes whose method may ask again
/// differently (a fallback): the row names what was actually asked.
#[derive(Debug)]
pub(crate) struct Asked<T> {
    /// The request's label, as [`crate::api::pbs::PbsApi::label`] writes it.
    pub(crate) endpoint: String,
    /// The answer.
    pub(crate) answer: T,
}

impl<T: Items> Items for Asked<T> {
    fn items(&self) -> Option<usize> {
        self.answer.items()
    }
}

impl<T> Outcome<Asked<T>> {
    /// Name the row after the request that was answered, or the one that failed, rather than the
    /// one first tried.
    pub(crate) fn named_as_asked(mut self) -> Outcome<Asked<T>> {
        match &self.result {
            Ok(asked) => self.row.endpoint.clone_from(&asked.endpoint),
            Err(Failure::Api(err)) => self.row.endpoint.clone_from(&err.endpoint),
            Err(Failure::Panicked(_)) => {}
        }
        self
    }
}

/// A probe under way on its own task.
pub(crate) struct Pending<T> {
    endpoint: String,
    purpose: &'static str,
    started: Instant,
    handle: JoinHandle<(Result<T, ApiError>, u64)>,
}

/// Start `call(api)` on its own task, so probes run concurrently (the client's limiter bounds
/// them) and a panic in one stays in its own row. `endpoint` is the layer's label of the request.
pub(crate) fn start<A, T, F, Fut>(
    api: &A,
    endpoint: String,
    purpose: &'static str,
    call: F,
) -> Pending<T>
where
    A: Clone + Send + 'static,
    T: Send + 'static,
    F: FnOnce(A) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
{
    let api = api.clone();
    let started = Instant::now();
    let handle = tokio::spawn(async move {
        let result = call(api).await;
        (result, elapsed_ms(started))
    });
    Pending {
        endpoint,
        purpose,
        started,
        handle,
    }
}

impl<T: Items> Pending<T> {
    /// Wait for the probe; a task that panicked or was cancelled becomes a failed row.
    pub(crate) async fn finish(self) -> Outcome<T> {
        match self.handle.await {
            Ok((result, latency_ms)) => Outcome::new(
                self.endpoint,
                self.purpose,
                latency_ms,
                result.map_err(Failure::Api),
            ),
            Err(err) => Outcome::new(
                self.endpoint,
                self.purpose,
                elapsed_ms(self.started),
                Err(Failure::Panicked(err.to_string())),
            ),
        }
    }
}

/// Finish every probe of a list, in the list's order.
pub(crate) async fn finish_all<K, T: Items>(pending: Vec<(K, Pending<T>)>) -> Vec<(K, Outcome<T>)> {
    let mut done = Vec::with_capacity(pending.len());
    for (key, probe) in pending {
        done.push((key, probe.finish().await));
    }
    done
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The item count a probe row shows: the length of a list answer, nothing for a single record.
pub(crate) trait Items {
    /// Items in the answer, when it is a list.
    fn items(&self) -> Option<usize> {
        None
    }
}

impl<T> Items for Vec<T> {
    fn items(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<T> Items for Answer<Vec<T>> {
    fn items(&self) -> Option<usize> {
        Some(self.data.len())
    }
}

/// `GET /pools?poolid=…` answers a list holding the pool, or an empty one.
impl Items for Option<pve_types::PoolDetail> {
    fn items(&self) -> Option<usize> {
        Some(usize::from(self.is_some()))
    }
}

impl Items for Permissions {}
impl Items for pve_types::Version {}
impl Items for pve_types::NodeTime {}
impl Items for pve_types::GuestConfig {}
impl Items for pbs_types::PbsVersion {}
impl Items for pbs_types::GcStatus {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[tokio::test]
    async fn a_probe_whose_task_panics_is_a_failed_row() {
        let pending: Pending<Vec<u32>> = start(&(), "x".into(), "test", |()| async {
            if true {
                panic!("boom");
            }
            Ok(Vec::new())
        });
        let outcome = pending.finish().await;
        assert_eq!(outcome.row.status, "panic");
        assert_eq!(outcome.row.endpoint, "x");
        assert!(outcome.row.error.unwrap().contains("ended abnormally"));
        assert!(matches!(outcome.result, Err(Failure::Panicked(_))));
    }

    #[tokio::test]
    async fn every_probe_of_a_list_keeps_its_row_and_place() {
        let pending = vec![
            (
                1,
                start(&(), "a".into(), "a", |()| async { Ok(vec![1, 2]) }),
            ),
            (
                2,
                start(&(), "b".into(), "b", |()| async {
                    if true {
                        panic!("boom");
                    }
                    Ok(Vec::new())
                }),
            ),
            (3, start(&(), "c".into(), "c", |()| async { Ok(vec![3]) })),
        ];
        let done = finish_all(pending).await;
        let rows: Vec<(i32, &str, Option<usize>)> = done
            .iter()
            .map(|(k, o)| (*k, o.row.status.as_str(), o.row.items))
            .collect();
        assert_eq!(
            rows,
            vec![(1, "ok", Some(2)), (2, "panic", None), (3, "ok", Some(1))]
        );
    }
}
