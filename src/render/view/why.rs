//! Short "why" texts for the page: the engine's coverage reasons are complete (the JSON contract
//! keeps every VMID and every job), but a guest excluded by a 200-VMID exclude list, or selected by
//! 15 node-restricted jobs on other nodes, would carry kilobytes of text into its row and its
//! tooltip. Here such a reason is summarised, clause by clause, keeping every job named and every
//! fact the reader acts on (which job, which list, which nodes); the full lists are in the jobs
//! table and the JSON report.

/// A VMID list longer than this is replaced by its count.
const MAX_LISTED_VMIDS: usize = 10;

/// More node-restricted clauses than this become one line naming the nodes.
const MAX_NODE_CLAUSES: usize = 3;

/// The words of the engine's node-restricted clause, around the node names.
const ONLY_ON: &str = " but runs only on node ";
/// What follows the job's node in that clause.
const GUEST_ON: &str = ", and the guest is on ";

/// How many VMIDs `list` names when it is a comma-separated list of numbers and nothing else.
fn vmid_count(list: &str) -> Option<usize> {
    let items: Vec<&str> = list.split(", ").collect();
    let numeric = items
        .iter()
        .all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
    numeric.then_some(items.len())
}

/// One clause with a long `(all except …)` list replaced by its count.
fn shorten_lists(clause: &str) -> String {
    const OPENING: &str = "(all except ";
    let Some(start) = clause.find(OPENING) else {
        return clause.to_string();
    };
    let list_start = start + OPENING.len();
    let Some(len) = clause[list_start..].find(')') else {
        return clause.to_string();
    };
    let count = match vmid_count(&clause[list_start..list_start + len]) {
        Some(count) if count > MAX_LISTED_VMIDS => count,
        _ => return clause.to_string(),
    };
    let before = clause[..start].trim_end();
    let after = &clause[list_start + len + 1..];
    match before.strip_prefix("excluded from ") {
        Some(job) => format!("excluded by the exclude list of {job} ({count} VMIDs){after}"),
        None => format!("{before} (all except {count} VMIDs){after}"),
    }
}

/// The job node and guest node of a node-restricted clause.
fn node_clause(clause: &str) -> Option<(&str, &str)> {
    let (_, rest) = clause.split_once(ONLY_ON)?;
    rest.split_once(GUEST_ON)
}

/// A coverage reason as the page shows it: long VMID lists counted, and many node-restricted
/// jobs one clause naming their nodes. Short reasons come back unchanged.
pub(crate) fn summarise(reason: &str) -> String {
    let clauses: Vec<&str> = reason.split("; ").collect();
    let restricted: Vec<(&str, &str)> = clauses.iter().filter_map(|c| node_clause(c)).collect();
    let fold_nodes = restricted.len() > MAX_NODE_CLAUSES;
    let mut out: Vec<String> = Vec::new();
    let mut folded = false;
    for clause in &clauses {
        if fold_nodes && node_clause(clause).is_some() {
            if !folded {
                folded = true;
                let mut nodes: Vec<&str> = restricted.iter().map(|(job, _)| *job).collect();
                nodes.sort_unstable();
                nodes.dedup();
                let guest_nodes: Vec<&str> = restricted.iter().map(|(_, guest)| *guest).collect();
                let guest = guest_nodes.first().copied().unwrap_or_default();
                out.push(format!(
                    "{} node-restricted jobs select it but run only on other nodes ({}), and the guest is on {guest}",
                    restricted.len(),
                    nodes.join(", ")
                ));
            }
            continue;
        }
        out.push(shorten_lists(clause));
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::summarise;

    #[test]
    fn short_reasons_are_unchanged() {
        for reason in [
            "in no backup job",
            "excluded from job 'nightly' (all except 105, 106)",
            "selected by enabled job 'nightly' (all guests)",
            "job 'a' selects it (all guests) but runs only on node pve2, and the guest is on pve1",
        ] {
            assert_eq!(summarise(reason), reason);
        }
    }

    #[test]
    fn a_long_exclude_list_and_many_node_restricted_jobs_are_one_line_each() {
        let list: Vec<String> = (1000..1200).map(|v| v.to_string()).collect();
        let mut clauses = vec![format!(
            "excluded from disabled job 'nightly' (all except {})",
            list.join(", ")
        )];
        for n in [3, 1, 2, 1] {
            clauses.push(format!(
                "job 'n{n}' selects it (all guests) but runs only on node pve{n}, and the guest is on pve9"
            ));
        }
        clauses.push(format!("job 'w' (all except {})", list.join(", ")));
        assert_eq!(
            summarise(&clauses.join("; ")),
            "excluded by the exclude list of disabled job 'nightly' (200 VMIDs); \
             4 node-restricted jobs select it but run only on other nodes (pve1, pve2, pve3), \
             and the guest is on pve9; job 'w' (all except 200 VMIDs)"
        );
    }
}
