//! Text form of the `--check-api` result (the JSON form is the serialized [`CheckReport`]).

use std::fmt::Write as _;

use crate::check::{CheckReport, Visibility};

fn visibility_label(visibility: Visibility) -> &'static str {
    match visibility {
        Visibility::Full => "full",
        Visibility::Partial => "PARTIAL",
        Visibility::None => "NOT VISIBLE",
        Visibility::Unknown => "UNKNOWN",
        Visibility::NotNeeded => "not needed",
    }
}

/// Render the check as aligned plain text.
pub fn text(report: &CheckReport) -> String {
    let mut out = String::new();
    for server in &report.servers {
        let _ = writeln!(
            out,
            "{} '{}' at {} as {}{}",
            server.kind.label(),
            server.name,
            server.host,
            server.identity,
            server
                .version
                .as_deref()
                .map(|v| format!(" — version {v}"))
                .unwrap_or_default()
        );
        let width = server
            .probes
            .iter()
            .map(|p| p.endpoint.len() + 4)
            .max()
            .unwrap_or(20)
            .min(72);
        let _ = writeln!(
            out,
            "  {:<width$} {:>9} {:>7} {:>8}",
            "endpoint", "status", "items", "latency"
        );
        let mut hints_shown: Vec<&str> = Vec::new();
        for probe in &server.probes {
            let endpoint = format!("GET {}", probe.endpoint);
            let items = probe
                .items
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "  {:<width$} {:>9} {:>7} {:>5} ms  {}",
                endpoint, probe.status, items, probe.latency_ms, probe.purpose
            );
            if let Some(error) = &probe.error {
                let _ = writeln!(out, "  {:<width$}   ↳ {error}", "");
            }
            if let Some(hint) = &probe.hint {
                if hints_shown.contains(&hint.as_str()) {
                    let _ = writeln!(out, "  {:<width$}   ↳ fix: as above", "");
                } else {
                    hints_shown.push(hint);
                    let _ = writeln!(out, "  {:<width$}   ↳ fix: {hint}", "");
                }
            }
        }
        if !server.capabilities.is_empty() {
            let _ = writeln!(out, "  what these credentials can see:");
            for cap in &server.capabilities {
                let _ = writeln!(
                    out,
                    "    {:<16} {:<12} {}",
                    cap.name,
                    if cap.required
                        || matches!(
                            cap.visibility,
                            crate::check::Visibility::Full | crate::check::Visibility::NotNeeded
                        )
                    {
                        visibility_label(cap.visibility).to_string()
                    } else {
                        format!(
                            "{} (optional)",
                            visibility_label(cap.visibility).to_lowercase()
                        )
                    },
                    cap.detail
                );
                if let Some(fix) = &cap.fix {
                    let _ = writeln!(out, "    {:<16} {:<12} fix: {fix}", "", "");
                }
            }
        }
        for trap in &server.traps {
            let _ = writeln!(out, "  ! {}: {}", trap.id, trap.message);
        }
        let _ = writeln!(out);
    }
    if report.problems == 0 {
        let _ = writeln!(
            out,
            "OK: every endpoint answered and the credentials can see everything the report needs."
        );
    } else {
        let _ = writeln!(
            out,
            "{} problem(s): the report would be incomplete (see the fixes above).",
            report.problems
        );
    }
    out
}
