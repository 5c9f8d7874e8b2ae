//! Pseudonyms for `--record --redact-names`: host, node and guest names replaced consistently in every
//! recorded answer and request key, so a recording can be shared without naming the infrastructure.
//!
//! This module decides which names are hidden and how; the collector hands it the names it found
//! ([`NamesToHide`]) so the API layer needs no knowledge of the inventory.

use std::collections::BTreeMap;

use super::server::host_of;

/// The names a `--redact-names` recording hides, as the collector found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NamesToHide {
    /// Cluster node names.
    pub(crate) nodes: Vec<String>,
    /// Guest names.
    pub(crate) guests: Vec<String>,
    /// Server addresses: `host:port` (the port is not a name and stays) or bare host names.
    pub(crate) hosts: Vec<String>,
}

/// A consistent name → pseudonym mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pseudonyms {
    /// Longest names first, so `pve10` is replaced before `pve1`.
    pairs: Vec<(String, String)>,
}

impl Pseudonyms {
    /// Build from the names to hide, grouped by what they are (`node`, `guest`, `host`).
    pub(crate) fn new(names: &BTreeMap<String, Vec<String>>) -> Pseudonyms {
        let mut pairs = Vec::new();
        for (kind, list) in names {
            let mut list = list.clone();
            list.sort();
            list.dedup();
            for (index, name) in list.into_iter().enumerate() {
                if name.len() >= 2 {
                    pairs.push((name, format!("{kind}{}", index + 1)));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Pseudonyms { pairs }
    }

    /// The pseudonyms of a recording: `node1…`, `guest1…`, `host1…`, numbered in name order.
    pub(crate) fn for_names(names: &NamesToHide) -> Pseudonyms {
        let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
        grouped.insert("node".into(), names.nodes.clone());
        grouped.insert("guest".into(), names.guests.clone());
        grouped.insert(
            "host".into(),
            names.hosts.iter().map(|h| host_of(h).to_string()).collect(),
        );
        Pseudonyms::new(&grouped)
    }

    /// Replace every whole-word occurrence of a known name.
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, pseudonym) in &self.pairs {
            out = replace_word(&out, name, pseudonym);
        }
        out
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn replace_word(text: &str, name: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(name) {
        let before = rest[..pos].chars().next_back();
        let after = rest[pos + name.len()..].chars().next();
        let bounded = !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char);
        out.push_str(&rest[..pos]);
        out.push_str(if bounded { replacement } else { name });
        rest = &rest[pos + name.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_only_and_consistent() {
        let mut names = BTreeMap::new();
        names.insert(
            "node".to_string(),
            vec!["pve1".to_string(), "pve10".to_string()],
        );
        names.insert("guest".to_string(), vec!["web01".to_string()]);
        let p = Pseudonyms::new(&names);
        assert_eq!(p.apply("/nodes/pve10/tasks"), "/nodes/node2/tasks");
        assert_eq!(p.apply("UPID:pve1:0001:x"), "UPID:node1:0001:x");
        assert_eq!(p.apply("INFO: VM Name: web01"), "INFO: VM Name: guest1");
        assert_eq!(p.apply("web012 pve1x"), "web012 pve1x");
    }

    #[test]
    fn hosts_lose_their_port_before_they_are_hidden() {
        let p = Pseudonyms::for_names(&NamesToHide {
            nodes: vec!["pve1".into()],
            guests: Vec::new(),
            hosts: vec!["pbs.example.com:8007".into(), "[fd00::2]:8006".into()],
        });
        assert_eq!(
            p.apply("https://pbs.example.com:8007/ on pve1"),
            "https://host2:8007/ on node1"
        );
        assert_eq!(p.apply("[fd00::2]:8006"), "[host1]:8006");
    }
}
