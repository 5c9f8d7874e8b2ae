//! The `starting new backup job: vzdump …` command line.
//!
//! pve-manager `PVE::VZDump::command_line` prints `vzdump`, the VMIDs, then `--<opt> <value>`
//! pairs in hash order with values passed through `PVE::Tools::shellquote` (single quotes,
//! embedded `'` as `'"'"'`). Splitting here follows POSIX shell word rules so any quoting style
//! is undone; an unterminated quote simply ends at the end of the line.

use std::collections::BTreeMap;

use super::JobCommand;

/// Parse the text after `starting new backup job: `.
pub(crate) fn parse_job_command(text: &str) -> JobCommand {
    let words = shell_words(text);
    let mut words = words.iter().map(String::as_str).peekable();
    if words.peek() == Some(&"vzdump") {
        words.next();
    }

    let mut vmids = Vec::new();
    while let Some(vmid) = words.peek().and_then(|w| w.parse::<u32>().ok()) {
        vmids.push(vmid);
        words.next();
    }

    let mut options: BTreeMap<String, String> = BTreeMap::new();
    while let Some(word) = words.next() {
        // Stray positional words after the options carry no meaning vzdump prints; skip them.
        let Some(key) = word.strip_prefix("--").filter(|k| !k.is_empty()) else {
            continue;
        };
        let value = words.next().unwrap_or_default();
        options
            .entry(key.to_string())
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(value);
            })
            .or_insert_with(|| value.to_string());
    }

    JobCommand { vmids, options }
}

/// Split a line into words like a POSIX shell (quotes and backslashes, no expansions).
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    current.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => current.push(e),
                            Some(other) => {
                                current.push('\\');
                                current.push(other);
                            }
                            None => current.push('\\'),
                        },
                        other => current.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(escaped) = chars.next() {
                    current.push(escaped);
                }
            }
            other => {
                in_word = true;
                current.push(other);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_example_with_quoted_values() {
        let cmd = parse_job_command(
            "vzdump --all 1 --mode snapshot --storage pbs1 --quiet 1 --notes-template '{{guestname}}' --prune-backups 'keep-daily=7,keep-last=3'",
        );
        assert!(cmd.vmids.is_empty());
        assert!(cmd.all());
        assert_eq!(cmd.mode(), Some("snapshot"));
        assert_eq!(cmd.storage(), Some("pbs1"));
        assert_eq!(cmd.option("quiet"), Some("1"));
        assert_eq!(cmd.option("notes-template"), Some("{{guestname}}"));
        assert_eq!(
            cmd.option("prune-backups"),
            Some("keep-daily=7,keep-last=3")
        );
        assert_eq!(cmd.options.len(), 6);
        assert_eq!(cmd.pool(), None);
        assert_eq!(cmd.node(), None);
        assert_eq!(cmd.job_id(), None);
    }

    #[test]
    fn vmids_first_then_options() {
        let cmd = parse_job_command(
            "vzdump 100 101 105 --exclude 101,102 --node pve1 --pool prod --mailto a@x --mailto b@x",
        );
        assert_eq!(cmd.vmids, vec![100, 101, 105]);
        assert!(!cmd.all());
        assert_eq!(cmd.exclude(), vec![101, 102]);
        assert_eq!(cmd.node(), Some("pve1"));
        assert_eq!(cmd.pool(), Some("prod"));
        assert_eq!(cmd.option("mailto"), Some("a@x,b@x"));
    }

    #[test]
    fn shellquote_embedded_single_quote_and_double_quotes() {
        let cmd = parse_job_command(
            r#"vzdump 100 --notes-template 'it'"'"'s {{vmid}}' --exclude-path "/tmp/a b" --job-id backup-1a2b"#,
        );
        assert_eq!(cmd.option("notes-template"), Some("it's {{vmid}}"));
        assert_eq!(cmd.option("exclude-path"), Some("/tmp/a b"));
        assert_eq!(cmd.job_id(), Some("backup-1a2b"));
    }

    #[test]
    fn odd_input_never_fails() {
        let cmd = parse_job_command("vzdump --storage 'unterminated value");
        assert_eq!(cmd.storage(), Some("unterminated value"));
        let cmd = parse_job_command("--mode");
        assert_eq!(cmd.mode(), Some(""));
        let cmd = parse_job_command("");
        assert_eq!(cmd, JobCommand::default());
        let cmd = parse_job_command("vzdump 4294967296 --all 0 stray -- x");
        assert!(cmd.vmids.is_empty());
        assert!(!cmd.all());
        assert_eq!(cmd.options.len(), 1);
    }
}
