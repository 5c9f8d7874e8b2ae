//! Render timing for a generated 5 000-guest report, in every format: `cargo bench --bench render`.
//! A sanity check for "the report stays quick with thousands of guests", not a timed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use pve_backup_report::coverage::drift::drift;
use pve_backup_report::render::{html, json, markdown, prometheus};

fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) -> T {
    let mut last = None;
    let start = Instant::now();
    for _ in 0..runs {
        last = Some(f());
    }
    let each = start.elapsed() / runs;
    println!("{label:<28} {:>8.1} ms", each.as_secs_f64() * 1000.0);
    last.unwrap()
}

fn main() {
    let report = common::generated_report(5000);
    let previous = common::generated_report(4990);
    let d = time("drift (5000 vs 4990)", 10, || drift(&previous, &report));
    let page = time("html", 5, || html::render(&report, Some(&d)).unwrap());
    let md = time("markdown", 5, || {
        markdown::render(&report, Some(&d)).unwrap()
    });
    let js = time("json", 5, || json::render(&report, Some(&d)).unwrap());
    let prom = time("prometheus", 5, || prometheus::render(&report, None));
    println!(
        "sizes: html {} KiB, markdown {} KiB, json {} KiB, prometheus {} KiB",
        page.len() / 1024,
        md.len() / 1024,
        js.len() / 1024,
        prom.len() / 1024
    );
}
