//! Reading a list that the server hands out in pages (`start`/`limit`): PVE task lists (decoded
//! item by item), task logs (all or nothing).
//!
//! Owns when to ask for the next page, when to stop, and what a cut or a failed page means, so every
//! paged endpoint stops the same way and a shortened list is always flagged, never silently short.

use std::future::Future;

use super::client::Answer;
use super::de::LenientList;
use super::error::ApiError;

/// How a paged read is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    /// Items asked for per request.
    pub(crate) page_size: usize,
    /// Stop once this many items were read (the list is then `capped`).
    pub(crate) max_items: usize,
    /// Whether the last request asks only for what is left below `max_items` (task logs), rather
    /// than a whole page (task lists, where a page may overshoot the cap).
    pub(crate) clip_to_max: bool,
}

/// A page request that failed: where it started, and why.
#[derive(Debug, Clone)]
pub(crate) struct PageFailure {
    /// Offset (`start`) of the failed page.
    pub(crate) start: usize,
    /// The error.
    pub(crate) error: ApiError,
}

/// What one page holds: the server's items, however they were decoded.
///
/// A task list is decoded item by item ([`LenientList`]: a malformed task costs that task only,
/// and the list is then marked incomplete by the collector). A task log stays all-or-nothing
/// (`log_page::TaskLogPage`): a log missing a line could hide the line that says a guest failed,
/// so a page that does not decode fails the whole log.
pub(crate) trait Page {
    /// How many items the server sent on this page (good and bad): the next page starts after
    /// all of them.
    fn sent(&self) -> usize;
}

/// A page the next one can be appended to, for a read that keeps every page ([`read_pages`]).
pub(crate) trait Pages: Page + Default {
    /// Appends the next page.
    fn append(&mut self, next: Self);
}

impl<T> Page for LenientList<T> {
    fn sent(&self) -> usize {
        LenientList::sent(self)
    }
}

impl<T> Pages for LenientList<T> {
    fn append(&mut self, next: Self) {
        LenientList::append(self, next);
    }
}

/// What a paged read returned.
#[derive(Debug, Clone)]
pub(crate) struct Paged<P> {
    /// Every item read, in server order (pages before a failure are kept).
    pub(crate) items: P,
    /// Reading stopped at `max_items`; the server may hold more.
    pub(crate) capped: bool,
    /// A page failed and reading stopped there.
    pub(crate) failure: Option<PageFailure>,
}

/// Read pages through `fetch(start, limit)` until a short or empty page, the server's `total`, or
/// `max_items`. A failed page stops the read and is returned with the items before it. Offsets and
/// the cap count every item the server sent, including items that did not decode.
pub(crate) async fn read_pages<P, F, Fut>(paging: Paging, fetch: F) -> Paged<P>
where
    P: Pages,
    F: FnMut(usize, usize) -> Fut,
    Fut: Future<Output = Result<Answer<P>, ApiError>>,
{
    let mut items = P::default();
    let end = read_pages_each(paging, |page| items.append(page), fetch).await;
    Paged {
        items,
        capped: end.capped,
        failure: end.failure,
    }
}

/// How a page-by-page read ([`read_pages_each`]) ended.
#[derive(Debug, Clone)]
pub(crate) struct PagesEnd {
    /// Reading stopped at `max_items`; the server may hold more.
    pub(crate) capped: bool,
    /// A page failed and reading stopped there.
    pub(crate) failure: Option<PageFailure>,
}

/// [`read_pages`], handing each page to `take` as it arrives instead of holding them all: a
/// caller that folds pages into a smaller result (a task log into its parsed runs) then holds one
/// page at a time. Same requests, same stop rules.
pub(crate) async fn read_pages_each<P, T, F, Fut>(
    paging: Paging,
    mut take: T,
    mut fetch: F,
) -> PagesEnd
where
    P: Page,
    T: FnMut(P),
    F: FnMut(usize, usize) -> Fut,
    Fut: Future<Output = Result<Answer<P>, ApiError>>,
{
    let mut sent = 0usize;
    let mut capped = false;
    let mut failure = None;
    loop {
        let limit = if paging.clip_to_max {
            let remaining = paging.max_items.saturating_sub(sent);
            if remaining == 0 {
                capped = true;
                break;
            }
            remaining.min(paging.page_size)
        } else {
            paging.page_size
        };
        let start = sent;
        match fetch(start, limit).await {
            Ok(answer) => {
                let got = answer.data.sent();
                sent += got;
                take(answer.data);
                let done_by_total = answer.total.is_some_and(|total| sent as u64 >= total);
                if got < limit || done_by_total || got == 0 {
                    break;
                }
                if !paging.clip_to_max && sent >= paging.max_items {
                    capped = true;
                    break;
                }
            }
            Err(error) => {
                failure = Some(PageFailure { start, error });
                break;
            }
        }
    }
    PagesEnd { capped, failure }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::cell::RefCell;

    use super::*;
    use crate::api::error::ApiErrorKind;
    use crate::api::server::ServerKind;

    /// Plain lists, the simplest pages.
    impl<T> Page for Vec<T> {
        fn sent(&self) -> usize {
            self.len()
        }
    }

    impl<T> Pages for Vec<T> {
        fn append(&mut self, next: Self) {
            self.extend(next);
        }
    }

    /// A server holding `len` items that reports `total` when asked, and fails at `fail_at`.
    struct Fake {
        len: usize,
        total: bool,
        fail_at: Option<usize>,
        asked: RefCell<Vec<(usize, usize)>>,
    }

    impl Fake {
        fn new(len: usize) -> Fake {
            Fake {
                len,
                total: false,
                fail_at: None,
                asked: RefCell::new(Vec::new()),
            }
        }

        async fn fetch(&self, start: usize, limit: usize) -> Result<Answer<Vec<usize>>, ApiError> {
            self.asked.borrow_mut().push((start, limit));
            if self.fail_at == Some(start) {
                return Err(ApiError {
                    server_kind: ServerKind::Pve,
                    server_name: "pve".into(),
                    host: "pve:8006".into(),
                    endpoint: "/nodes/n/tasks".into(),
                    env_prefix: "PVE".into(),
                    kind: ApiErrorKind::ServerError {
                        status: 500,
                        message: "boom".into(),
                    },
                });
            }
            let end = (start + limit).min(self.len);
            Ok(Answer {
                data: (start.min(end)..end).collect(),
                total: self.total.then_some(self.len as u64),
            })
        }
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn list(page_size: usize, max_items: usize) -> Paging {
        Paging {
            page_size,
            max_items,
            clip_to_max: false,
        }
    }

    #[test]
    fn a_short_page_ends_the_list() {
        let fake = Fake::new(5);
        let paged = block_on(read_pages(list(2, 100), |s, l| fake.fetch(s, l)));
        assert_eq!(paged.items, vec![0, 1, 2, 3, 4]);
        assert!(!paged.capped && paged.failure.is_none());
        assert_eq!(*fake.asked.borrow(), vec![(0, 2), (2, 2), (4, 2)]);
    }

    #[test]
    fn an_empty_page_ends_an_exact_multiple_and_total_saves_the_request() {
        let fake = Fake::new(4);
        let paged = block_on(read_pages(list(2, 100), |s, l| fake.fetch(s, l)));
        assert_eq!(paged.items.len(), 4);
        assert_eq!(fake.asked.borrow().len(), 3);

        let mut fake = Fake::new(4);
        fake.total = true;
        let paged = block_on(read_pages(list(2, 100), |s, l| fake.fetch(s, l)));
        assert_eq!(paged.items.len(), 4);
        assert_eq!(fake.asked.borrow().len(), 2);
    }

    #[test]
    fn a_list_stops_after_the_page_that_reaches_the_cap() {
        let fake = Fake::new(10);
        let paged = block_on(read_pages(list(2, 3), |s, l| fake.fetch(s, l)));
        assert_eq!(paged.items, vec![0, 1, 2, 3]);
        assert!(paged.capped);
    }

    #[test]
    fn a_clipped_read_never_asks_beyond_the_cap() {
        let fake = Fake::new(10);
        let paging = Paging {
            page_size: 2,
            max_items: 3,
            clip_to_max: true,
        };
        let paged = block_on(read_pages(paging, |s, l| fake.fetch(s, l)));
        assert_eq!(paged.items, vec![0, 1, 2]);
        assert!(paged.capped);
        assert_eq!(*fake.asked.borrow(), vec![(0, 2), (2, 1)]);
    }

    #[test]
    fn a_malformed_item_costs_itself_only_and_still_counts_for_the_next_page() {
        // Five items, the second and fourth malformed, read two at a time.
        let rows = serde_json::json!([0, "bad", 2, "bad", 4]);
        let asked = RefCell::new(Vec::new());
        let fetch = |start: usize, limit: usize| {
            asked.borrow_mut().push((start, limit));
            let page: Vec<serde_json::Value> = rows
                .as_array()
                .unwrap()
                .iter()
                .skip(start)
                .take(limit)
                .cloned()
                .collect();
            let data: LenientList<u32> =
                serde_json::from_value(serde_json::Value::Array(page)).unwrap();
            async move { Ok(Answer { data, total: None }) }
        };
        let paged = block_on(read_pages(list(2, 100), fetch));
        assert_eq!(paged.items.items, vec![0, 2, 4]);
        assert_eq!(paged.items.bad_count, 2);
        let indices: Vec<usize> = paged.items.bad.iter().map(|b| b.index).collect();
        assert_eq!(indices, [1, 3]);
        assert_eq!(*asked.borrow(), vec![(0, 2), (2, 2), (4, 2)]);
    }

    #[test]
    fn pages_are_handed_over_one_at_a_time_with_the_same_requests() {
        let fake = Fake::new(5);
        let mut pages = Vec::new();
        let end = block_on(read_pages_each(
            list(2, 100),
            |page: Vec<usize>| pages.push(page),
            |s, l| fake.fetch(s, l),
        ));
        assert_eq!(pages, vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert!(!end.capped && end.failure.is_none());
        assert_eq!(*fake.asked.borrow(), vec![(0, 2), (2, 2), (4, 2)]);

        let mut fake = Fake::new(10);
        fake.fail_at = Some(2);
        let mut pages = Vec::new();
        let end = block_on(read_pages_each(
            list(2, 100),
            |page: Vec<usize>| pages.push(page),
            |s, l| fake.fetch(s, l),
        ));
        assert_eq!(pages, vec![vec![0, 1]]);
        assert_eq!(end.failure.map(|f| f.start), Some(2));
    }

    #[test]
    fn a_failed_page_keeps_what_came_before_and_says_where() {
        let mut fake = Fake::new(10);
        fake.fail_at = Some(4);
        let paged = block_on(read_pages(list(2, 100), |s, l| fake.fetch(s, l)));
        assert_eq!(paged.items, vec![0, 1, 2, 3]);
        assert!(!paged.capped);
        assert_eq!(paged.failure.map(|f| f.start), Some(4));
    }
}
