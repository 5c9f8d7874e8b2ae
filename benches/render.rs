//! Render timing for a generated 5 000-guest report, in every format: `cargo bench --bench render`.
//! A sanity check for "the report stays quick with thousands of guests", not a timed test.
//!
//! With `/usr/bin/chromium` installed it also opens the 5 000-guest HTML in headless chromium and
//! prints how long the page takes to open (navigation start to the first full layout after
//! `load`), to scroll the all-guests table into view (its first layout), and to sort it by a text
//! and a numeric column with the page's own sort code (a header click, then a forced layout of
//! the table), the median of a few runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
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
    browser_timing(&html::render(&report, None).unwrap());
    println!(
        "sizes: html {} KiB, markdown {} KiB, json {} KiB, prometheus {} KiB",
        page.len() / 1024,
        md.len() / 1024,
        js.len() / 1024,
        prom.len() / 1024
    );
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// Appended to the page: after `load`, force a layout (what the user waits for before the page
/// is usable), then sort the all-guests table by Name and by Size with the page's own handlers,
/// each followed by a forced layout, and leave the figures on `<body>` for `--dump-dom`.
const PROBE: &str = r##"<script>
window.addEventListener("load", function () {
  document.body.getBoundingClientRect();
  var open = performance.now();
  var table = document.getElementById("t-guests");
  function settle() { table.rows[table.rows.length - 1].getBoundingClientRect(); }
  var start = performance.now();
  window.scrollTo(0, table.getBoundingClientRect().top + window.scrollY + 300);
  settle();
  var show = performance.now() - start;
  function sortBy(index) {
    var th = table.tHead.rows[0].cells[index];
    var start = performance.now();
    th.click();
    settle();
    return performance.now() - start;
  }
  var name = sortBy(1), size = sortBy(11);
  var nodes = document.getElementsByTagName("*").length;
  document.body.setAttribute("data-timing", [open, show, name, size, nodes].map(Math.round).join(" "));
});
</script>"##;

fn browser_timing(page: &str) {
    if !Path::new(CHROMIUM).exists() {
        println!("browser timing skipped: {CHROMIUM} not installed");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/bench-render");
    std::fs::create_dir_all(&dir).unwrap();
    let probe = dir.join("guests-5000-probe.html");
    std::fs::write(&probe, format!("{page}{PROBE}")).unwrap();
    let mut runs: Vec<[u64; 5]> = Vec::new();
    for run in 0..3 {
        let profile = dir.join(format!("profile-{run}"));
        let output = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                "--window-size=1400,1000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("file://{}", probe.display()))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("run chromium");
        let dom = String::from_utf8_lossy(&output.stdout);
        let Some(start) = dom.find("data-timing=\"") else {
            println!("browser timing: no measurement (chromium failed?)");
            return;
        };
        let start = start + "data-timing=\"".len();
        let value = &dom[start..start + dom[start..].find('"').unwrap()];
        let parts: Vec<u64> = value.split(' ').map(|p| p.parse().unwrap()).collect();
        runs.push([parts[0], parts[1], parts[2], parts[3], parts[4]]);
    }
    let median = |i: usize| {
        let mut v: Vec<u64> = runs.iter().map(|r| r[i]).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    println!(
        "html in chromium (median of {}): open {} ms, scroll to all guests {} ms, sort by name {} ms, sort by size {} ms, {} elements",
        runs.len(),
        median(0),
        median(1),
        median(2),
        median(3),
        median(4)
    );
}
