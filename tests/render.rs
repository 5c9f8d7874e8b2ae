//! Renderer tests: pinned HTML and Markdown of a scenario with every verdict and anomaly, hostile
//! input escaped, the Prometheus exposition checked line by line, the JSON contract round-tripped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use pve_backup_report::coverage::drift::drift;
use pve_backup_report::coverage::report::Report;
use pve_backup_report::render::{coverage_text, html, json, markdown, prometheus};

fn scenario() -> (Report, pve_backup_report::coverage::drift::Drift) {
    let current = common::report();
    let previous = common::previous_report();
    let d = drift(&previous, &current);
    (current, d)
}

#[test]
fn html_snapshot() {
    let (report, d) = scenario();
    insta::assert_snapshot!("report_html", html::render(&report, Some(&d)).unwrap());
}

#[test]
fn markdown_snapshot() {
    let (report, d) = scenario();
    insta::assert_snapshot!("report_md", markdown::render(&report, Some(&d)).unwrap());
}

#[test]
fn scenario_drift_lists_every_kind_of_change() {
    let (_, d) = scenario();
    assert_eq!(
        d.coverage_lost
            .iter()
            .map(|c| c.guest.vmid)
            .collect::<Vec<_>>(),
        vec![105]
    );
    assert_eq!(
        d.coverage_gained
            .iter()
            .map(|c| c.guest.vmid)
            .collect::<Vec<_>>(),
        vec![102]
    );
    assert_eq!(
        d.coverage_uncertain
            .iter()
            .map(|c| c.guest.vmid)
            .collect::<Vec<_>>(),
        vec![120]
    );
    assert_eq!(
        d.freshness_worse
            .iter()
            .map(|c| c.guest.vmid)
            .collect::<Vec<_>>(),
        vec![103, 105]
    );
    assert_eq!(
        d.verification_failed
            .iter()
            .map(|g| g.vmid)
            .collect::<Vec<_>>(),
        vec![103]
    );
    assert_eq!(d.jobs_disabled, vec!["legacy-disabled"]);
    assert_eq!(d.jobs_enabled, vec!["weekly-pool"]);
    assert_eq!(d.jobs_added, vec!["node-limited"]);
    assert_eq!(d.jobs_removed, vec!["a-old-job"]);
    assert_eq!(d.jobs_changed.len(), 1);
    assert_eq!(d.jobs_changed[0].id, "nightly");
    assert_eq!(
        d.guests_added.iter().map(|g| g.vmid).collect::<Vec<_>>(),
        vec![104]
    );
    assert_eq!(
        d.guests_removed.iter().map(|g| g.vmid).collect::<Vec<_>>(),
        vec![199]
    );
}

#[test]
fn html_shows_attention_first_and_every_section() {
    let (report, d) = scenario();
    let page = html::render(&report, Some(&d)).unwrap();
    let order = [
        "id=\"summary\"",
        "id=\"attention\"",
        "id=\"drift\"",
        "id=\"guests\"",
        "id=\"jobs\"",
        "id=\"datastores\"",
        "id=\"anomalies\"",
        "id=\"evidence\"",
        "id=\"exemptions\"",
        "id=\"orphans\"",
    ];
    let positions: Vec<usize> = order.iter().map(|s| page.find(s).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // Not covered (105) is listed before failed (103), before stale (101), before partial (102).
    let attention = &page[positions[1]..positions[2]];
    let at = |vmid: &str| {
        attention
            .find(&format!(
                "<td class=\"num\" data-label=\"VMID\">{vmid}</td>"
            ))
            .unwrap()
    };
    assert!(at("105") < at("110"));
    assert!(at("110") < at("103"));
    assert!(at("103") < at("104"));
    assert!(at("104") < at("101"));
    assert!(at("101") < at("102"));
    // The exempt guest is not in "needs attention"; healthy ones are not either.
    assert!(!attention.contains("<td class=\"num\" data-label=\"VMID\">106</td>"));
    assert!(!attention.contains("<td class=\"num\" data-label=\"VMID\">100</td>"));
    // No network assets.
    for needle in ["href=\"http", "src=", "<link", "@import", "url("] {
        assert!(!page.contains(needle), "page contains {needle}");
    }
}

#[test]
fn hostile_input_is_escaped_in_html() {
    let report = common::hostile_report();
    let page = html::render(&report, None).unwrap();
    assert!(!page.contains(common::HOSTILE_SCRIPT));
    assert!(!page.contains(common::HOSTILE_ATTR));
    assert!(!page.contains("<img"));
    assert!(!page.contains("<b>x</b>"));
    // Only our own script tag.
    assert_eq!(page.matches("<script").count(), 1);
    assert!(page.contains("evil|name&#60;script&#62;alert(&#34;pwned&#34;)&#60;/script&#62;"));
    assert!(page.contains("&#34; onmouseover=&#34;alert(1)"));
    assert!(page.contains("ERROR: disk|full\n&#60;script&#62;"));
    assert!(page.contains("pve2&#60;img src=x onerror=alert(1)&#62;"));
}

/// The cells of a Markdown table row, split on unescaped `|`.
fn md_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            cells.last_mut().unwrap().push(c);
            escaped = false;
        } else if c == '\\' {
            cells.last_mut().unwrap().push(c);
            escaped = true;
        } else if c == '|' {
            cells.push(String::new());
        } else {
            cells.last_mut().unwrap().push(c);
        }
    }
    cells
}

#[test]
fn hostile_input_is_escaped_in_markdown() {
    let report = common::hostile_report();
    let md = markdown::render(&report, None).unwrap();
    assert!(!md.contains("<script"), "raw script tag in markdown");
    assert!(!md.contains("<img"));
    assert!(!md.contains("<b>"));
    assert!(md.contains(r#"| evil\|name&lt;script&gt;alert("pwned")&lt;/script&gt; |"#));
    assert!(md.contains(r"ERROR: disk\|full<br>&lt;script&gt;"));
    assert!(md.contains(r"| because\|&lt;script&gt;"));
    assert!(md.contains(r"line one \| with pipe"));
    // Every table row has exactly as many cells as its header.
    let mut width = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            width = None;
            continue;
        }
        let cells = md_cells(line).len();
        match width {
            None => width = Some(cells),
            Some(w) => assert_eq!(cells, w, "row breaks its table: {line}"),
        }
    }
}

#[test]
fn markdown_has_every_section_and_tables_are_well_formed() {
    let (report, d) = scenario();
    let md = markdown::render(&report, Some(&d)).unwrap();
    for heading in [
        "## Summary",
        "## Needs attention",
        "## Changes since the previous report",
        "## All guests",
        "## Backup jobs",
        "## PBS datastores",
        "## Anomalies",
        "## Collection horizon and incomplete evidence",
        "## Justified exemptions",
        "## Orphaned snapshots",
    ] {
        assert!(md.contains(&format!("\n{heading}\n")), "missing {heading}");
    }
    let mut width = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            // A table needs a blank line (or a heading) before it.
            width = None;
            continue;
        }
        let cells = md_cells(line).len();
        match width {
            None => width = Some(cells),
            Some(w) => assert_eq!(cells, w, "row breaks its table: {line}"),
        }
    }
}

#[test]
fn json_is_the_contract_and_round_trips() {
    let (report, d) = scenario();
    let plain = json::render(&report, None).unwrap();
    assert_eq!(
        plain.trim_end(),
        serde_json::to_string_pretty(&report).unwrap(),
        "without drift the output is exactly the contract"
    );
    let back: Report = serde_json::from_str(&plain).unwrap();
    assert_eq!(back, report);

    let with = json::render(&report, Some(&d)).unwrap();
    let value: serde_json::Value = serde_json::from_str(&with).unwrap();
    assert_eq!(value["drift"]["coverage_lost"][0]["guest"]["vmid"], 105);
    assert_eq!(value["schema_version"], 3);
    // A report with drift still reads back as a report (the extra key is ignored).
    let back: Report = serde_json::from_str(&with).unwrap();
    assert_eq!(back, report);
}

/// Parse Prometheus text exposition and check it follows the conventions node_exporter's textfile
/// collector and `promtool check metrics` enforce: HELP then TYPE once per family, families sorted
/// and each family's samples contiguous, no duplicate series, label values quoted and escaped,
/// gauges never named like counters (`_total`), units as suffixes, a `cluster` label on every
/// series. Returns series → value.
fn check_exposition(text: &str) -> BTreeMap<String, String> {
    let mut helps: BTreeSet<String> = BTreeSet::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut families_in_order: Vec<String> = Vec::new();
    let mut samples: BTreeMap<String, String> = BTreeMap::new();
    let mut closed: BTreeSet<String> = BTreeSet::new();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "no final line feed"
    );
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            assert!(helps.insert(name.to_string()), "duplicate HELP {name}");
            assert!(!help.trim().is_empty(), "empty HELP for {name}");
            if let Some(previous) = families_in_order.last() {
                closed.insert(previous.clone());
            }
            families_in_order.push(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge");
            assert_eq!(families_in_order.last().unwrap(), name, "TYPE without HELP");
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "duplicate TYPE {name}"
            );
            assert!(
                !name.ends_with("_total"),
                "gauge {name} has a counter suffix"
            );
            assert!(name.starts_with("pve_backup_"), "{name} lacks the prefix");
            assert!(!name.contains("percent"), "{name}: use a 0-1 _ratio");
            if name.contains("timestamp") {
                assert!(name.ends_with("_timestamp_seconds"), "{name}");
            }
            for unit in ["duration", "size", "_used"] {
                if name.contains(unit) {
                    assert!(
                        name.ends_with("_seconds") || name.ends_with("_bytes"),
                        "{name} lacks a unit suffix"
                    );
                }
            }
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment {line}");
        // name{labels} value
        let (series, value) = line.rsplit_once(' ').unwrap();
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        assert!(helps.contains(name), "sample without HELP: {line}");
        assert!(types.contains_key(name), "sample without TYPE: {line}");
        assert!(!closed.contains(name), "samples of {name} not contiguous");
        assert_eq!(
            families_in_order.last().unwrap(),
            name,
            "samples of {name} not grouped"
        );
        let mut keys = Vec::new();
        if let Some(labels) = series.strip_prefix(name).and_then(|l| l.strip_prefix('{')) {
            let labels = labels.strip_suffix('}').unwrap();
            // Every label value is a quoted string whose quotes and backslashes are escaped.
            let mut rest = labels;
            while !rest.is_empty() {
                let (key, after) = rest.split_once("=\"").unwrap();
                assert!(
                    key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{key}"
                );
                keys.push(key.to_string());
                let mut end = None;
                let mut escaped = false;
                for (i, c) in after.char_indices() {
                    if escaped {
                        assert!(matches!(c, '\\' | '"' | 'n'), "bad escape in {line}");
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.unwrap();
                rest = after[end + 1..]
                    .strip_prefix(',')
                    .unwrap_or(&after[end + 1..]);
            }
        }
        assert_eq!(keys.first().map(String::as_str), Some("cluster"), "{line}");
        let unique: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "repeated label in {line}");
        assert!(
            samples
                .insert(series.to_string(), value.to_string())
                .is_none(),
            "duplicate {series}"
        );
    }
    for family in &families_in_order {
        assert!(types.contains_key(family), "HELP without TYPE: {family}");
    }
    let mut sorted = families_in_order.clone();
    sorted.sort();
    assert_eq!(families_in_order, sorted, "families are sorted by name");
    samples
}

#[test]
fn prometheus_output_is_valid_exposition_format() {
    let (report, _) = scenario();
    let text = prometheus::render(&report, Some(std::time::Duration::from_millis(12_345)));
    let samples = check_exposition(&text);

    let get = |series: &str| samples.get(series).map(String::as_str);
    assert_eq!(
        get(
            r#"pve_backup_guest_last_success_timestamp_seconds{cluster="pve1.example.com",vmid="100",name="web01",node="pve1",type="qemu"}"#
        ),
        Some("1795226640")
    );
    assert_eq!(
        get(
            r#"pve_backup_guest_coverage{cluster="pve1.example.com",vmid="105",name="scratch",node="pve1",type="qemu",coverage="not_covered"}"#
        ),
        Some("1")
    );
    // One verdict series per guest: the other verdicts are not written as zeros.
    assert_eq!(
        get(
            r#"pve_backup_guest_coverage{cluster="pve1.example.com",vmid="105",name="scratch",node="pve1",type="qemu",coverage="covered"}"#
        ),
        None
    );
    assert_eq!(
        samples
            .keys()
            .filter(|s| s.starts_with("pve_backup_guest_coverage{"))
            .count(),
        report.guests.len()
    );
    assert_eq!(
        get(
            r#"pve_backup_guest_freshness{cluster="pve1.example.com",vmid="103",name="build",node="pve2",type="qemu",freshness="failed"}"#
        ),
        Some("1")
    );
    // Unknown is not zero: guest 104 has no success, so it has no timestamp series at all.
    assert!(!text.contains(
        r#"pve_backup_guest_last_success_timestamp_seconds{cluster="pve1.example.com",vmid="104""#
    ));
    // Guest 140 has no name: an empty label value.
    assert!(
        text.contains(r#"{cluster="pve1.example.com",vmid="140",name="",node="pve1",type="qemu"}"#)
    );
    assert_eq!(
        get(
            r#"pve_backup_datastore_used_bytes{cluster="pve1.example.com",server="pbs-main",datastore="store1"}"#
        ),
        Some("6443624169472")
    );
    assert_eq!(
        get(
            r#"pve_backup_datastore_size_bytes{cluster="pve1.example.com",server="pbs-main",datastore="store1"}"#
        ),
        Some("8796093022208")
    );
    assert!(!text.contains(
        r#"pve_backup_datastore_used_bytes{cluster="pve1.example.com",server="pbs-offsite""#
    ));
    assert_eq!(
        get(
            r#"pve_backup_report_guests_by_coverage{cluster="pve1.example.com",coverage="not_covered"}"#
        ),
        Some("3")
    );
    assert_eq!(
        get(r#"pve_backup_report_anomalies{cluster="pve1.example.com",severity="critical"}"#),
        Some("2")
    );
    assert_eq!(
        get(r#"pve_backup_report_anomalies{cluster="pve1.example.com",severity="info"}"#),
        Some("2")
    );
    assert_eq!(
        get(r#"pve_backup_report_generated_timestamp_seconds{cluster="pve1.example.com"}"#),
        Some("1795240800")
    );
    assert_eq!(
        get(r#"pve_backup_report_duration_seconds{cluster="pve1.example.com"}"#),
        Some("12.345")
    );
}

#[test]
fn prometheus_escapes_hostile_label_values() {
    let report = common::hostile_report();
    let text = prometheus::render(&report, None);
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("pve_backup_guest_exempt{cluster=\"pve1.example.com\",vmid=\"100\"")
        })
        .unwrap();
    assert_eq!(
        line,
        r#"pve_backup_guest_exempt{cluster="pve1.example.com",vmid="100",name="evil|name<script>alert(\"pwned\")</script>",node="pve1",type="qemu"} 0"#
    );
    // Every line is one sample or one comment: no label value broke a line.
    for l in text.lines() {
        assert!(l.starts_with("# ") || l.starts_with("pve_backup_"), "{l}");
    }
}

#[test]
fn generated_report_renders_in_every_format() {
    let report = common::generated_report(5000);
    let page = html::render(&report, None).unwrap();
    let guests_table =
        &page[page.find("id=\"t-guests\"").unwrap()..page.find("id=\"jobs\"").unwrap()];
    assert_eq!(
        guests_table
            .matches("<tr><td class=\"num\" data-label=\"VMID\">")
            .count(),
        5000
    );
    let md = markdown::render(&report, None).unwrap();
    assert!(md.contains("| 5999 | guest-04999 |"));
    let prom = prometheus::render(&report, None);
    check_exposition(&prom);
    assert!(prom.contains(r#"pve_backup_report_guests{cluster="pve1.example.com"} 5000"#));
}

/// Writes the scenario pages for a person to look at (`cargo test -- --ignored write_sample_pages`).
#[test]
#[ignore]
fn write_sample_pages() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sample-report");
    std::fs::create_dir_all(&dir).unwrap();
    let (report, d) = scenario();
    std::fs::write(
        dir.join("scenario.html"),
        html::render(&report, Some(&d)).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("scenario.md"),
        markdown::render(&report, Some(&d)).unwrap(),
    )
    .unwrap();
    let big = common::generated_report(5000);
    std::fs::write(dir.join("big.html"), html::render(&big, None).unwrap()).unwrap();
    std::fs::write(
        dir.join("hostile.html"),
        html::render(&common::hostile_report(), None).unwrap(),
    )
    .unwrap();
    println!("{}", dir.display());
}

const ALL_CLEAR: &str = "Nothing needs attention";

#[test]
fn a_failed_collection_opens_every_report_loudly_and_never_gives_the_all_clear() {
    let report = common::failed_report();
    let md = markdown::render(&report, None).unwrap();
    let html = html::render(&report, None).unwrap();
    let text = coverage_text::text(&report);
    let prom = prometheus::render(&report, None);

    let body = md.split_once('\n').unwrap().1.trim_start();
    assert!(body.starts_with("> **Collection failed**"), "{md}");
    assert!(md.contains("> - PVE 'pve' is unreachable"), "{md}");
    assert!(md.contains("--check-api"), "{md}");
    assert!(
        md.contains("**No guest was read · 1 critical anomaly.**"),
        "{md}"
    );
    assert!(!md.contains(ALL_CLEAR), "{md}");
    assert!(!md.contains("guests are backed up and fresh"), "{md}");

    let header = &html[html.find("<header>").unwrap()..html.find("<nav>").unwrap()];
    assert!(
        header.contains(r#"<div class="headline bad collection" role="alert"><strong>Collection failed</strong>"#),
        "{header}"
    );
    assert!(
        header.contains("<li>PVE &#39;pve&#39; is unreachable</li>")
            || header.contains("<li>PVE &#x27;pve&#x27; is unreachable</li>"),
        "{header}"
    );
    assert!(header.find("Collection failed").unwrap() < header.find("role=\"status\"").unwrap());
    assert!(!html.contains(ALL_CLEAR));
    assert!(html.contains(r#"<p class="empty bad">No guest could be read"#));

    assert!(text.starts_with("Collection failed: "), "{text}");
    assert!(text.contains("Causes: PVE 'pve' is unreachable."), "{text}");
    assert!(
        text.contains("\nanomalies:\n  critical  pve  PVE 'pve' is unreachable\n"),
        "{text}"
    );
    assert!(
        text.contains("  warning   pbs/pbs-main  PBS pbs-main answered slowly\n"),
        "{text}"
    );

    assert!(
        prom.contains("\npve_backup_report_collection_complete{cluster=\"pve1.example.com\"} 0\n"),
        "{prom}"
    );
    assert!(
        prom.contains("\npve_backup_report_collection_failed{cluster=\"pve1.example.com\"} 1\n"),
        "{prom}"
    );
    assert!(
        prom.contains(
            "\npve_backup_report_anomalies{cluster=\"pve1.example.com\",severity=\"critical\"} 1\n"
        ),
        "{prom}"
    );

    insta::assert_snapshot!("failed_collection_md", md);
}

#[test]
fn an_incomplete_collection_is_said_first_and_hides_the_all_clear() {
    let report = common::incomplete_report();
    let md = markdown::render(&report, None).unwrap();
    let html = html::render(&report, None).unwrap();
    let text = coverage_text::text(&report);
    let prom = prometheus::render(&report, None);

    let body = md.split_once('\n').unwrap().1.trim_start();
    assert!(body.starts_with("> **Collection was incomplete**"), "{md}");
    assert!(
        md.contains("> - PBS server pbs-offsite is unreachable"),
        "{md}"
    );
    assert!(!md.contains(ALL_CLEAR), "{md}");
    assert!(
        md.contains("No guest shows a problem in what could be read"),
        "{md}"
    );
    assert!(html.contains("<strong>Collection was incomplete</strong>"));
    assert!(!html.contains(ALL_CLEAR));
    assert!(text.starts_with("Collection was incomplete: "), "{text}");
    assert!(
        prom.contains("\npve_backup_report_collection_complete{cluster=\"pve1.example.com\"} 0\n"),
        "{prom}"
    );
    assert!(
        prom.contains("\npve_backup_report_collection_failed{cluster=\"pve1.example.com\"} 0\n"),
        "{prom}"
    );

    insta::assert_snapshot!("incomplete_collection_md", md);
}

#[test]
fn a_complete_collection_gives_the_all_clear_and_no_banner() {
    let report = common::healthy_report();
    let md = markdown::render(&report, None).unwrap();
    let html = html::render(&report, None).unwrap();
    let text = coverage_text::text(&report);
    let prom = prometheus::render(&report, None);
    assert!(md.contains(ALL_CLEAR), "{md}");
    assert!(
        md.contains("**All 2 guests are backed up and fresh.**"),
        "{md}"
    );
    assert!(!md.contains("Collection failed"), "{md}");
    assert!(!md.contains("Collection was incomplete"), "{md}");
    assert!(html.contains(ALL_CLEAR));
    assert!(!html.contains("role=\"alert\""));
    assert!(
        !text.contains("Collection") && !text.contains("anomalies:"),
        "{text}"
    );
    assert!(
        prom.contains("\npve_backup_report_collection_complete{cluster=\"pve1.example.com\"} 1\n"),
        "{prom}"
    );
}

#[test]
fn an_unverified_guest_is_told_about_the_verify_job_that_exists() {
    let mut report = common::report();
    // The verify job of pbs-main/store1 ran OK: wait for it, do not create one.
    let md = markdown::render(&report, None).unwrap();
    assert!(md.contains("verify job v-weekly last ran at"), "{md}");
    assert!(!md.contains("Schedule a PBS verify job"), "{md}");
    // It failed: the why names the job, its time and state; the advice is to look at it.
    report.datastores[0].verify_job_runs[0].last_run_state =
        Some("verification failed - please check the log for details".into());
    let md = markdown::render(&report, None).unwrap();
    assert!(
        md.contains("verify job v-weekly failed at 2026-11-16 03:00 UTC: verification failed"),
        "{md}"
    );
    assert!(
        md.contains("Look at verify job v-weekly on pbs-main · store1"),
        "{md}"
    );
    assert!(!md.contains("Schedule a PBS verify job"), "{md}");
    // No verify job at all: then creating one is the advice.
    report.datastores[0].verify_job_runs.clear();
    let md = markdown::render(&report, None).unwrap();
    assert!(
        md.contains("no verify job covers pbs-main · store1"),
        "{md}"
    );
    assert!(md.contains("Schedule a PBS verify job"), "{md}");
}

#[test]
fn two_clusters_keep_their_guests_apart_in_every_format() {
    let report = common::two_cluster_report();
    let guests = report.guests.len() / 2;

    // Same VMIDs and nodes in both clusters, still no duplicate series.
    let samples = check_exposition(&prometheus::render(&report, None));
    let get = |series: &str| samples.get(series).map(String::as_str);
    let count = guests.to_string();
    assert_eq!(
        get(r#"pve_backup_report_guests{cluster="lab"}"#),
        Some(count.as_str())
    );
    assert_eq!(
        get(r#"pve_backup_report_guests{cluster="pve1.example.com"}"#),
        Some(count.as_str())
    );
    for cluster in ["lab", "pve1.example.com"] {
        let series = format!(
            r#"pve_backup_guest_coverage{{cluster="{cluster}",vmid="105",name="scratch",node="pve1",type="qemu",coverage="not_covered"}}"#
        );
        assert_eq!(get(&series), Some("1"), "{series}");
    }
    assert_eq!(
        get(r#"pve_backup_report_info{cluster="lab,pve1.example.com",schema_version="3"}"#),
        Some("1")
    );

    let md = markdown::render(&report, None).unwrap();
    let html = html::render(&report, None).unwrap();
    for text in [&md, &html] {
        assert!(text.contains("Clusters: lab (PVE 9.1.2, "), "header");
        assert!(text.contains("lab · pve1") && text.contains("pve1.example.com · pve1"));
    }
    let text = coverage_text::text(&report);
    assert!(
        text.contains("lab/105") && text.contains("pve1.example.com/105"),
        "{text}"
    );
}
