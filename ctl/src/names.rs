//! `chatctl names`: the registry as people read it (the policy, then one
//! row per name with its keys' fingerprints, when it was registered and
//! last seen), and the answer to a change.

use std::fmt::Write as _;

use chat_protocol::admin::{NameChanged, NameKey, Names};

use crate::output::{aligned, local_time, one_line, relative, table};

/// What each policy means to an admin.
fn policy_meaning(policy: &str) -> String {
    match policy {
        "open" => "open (names are not bound to keys: anyone may join under any free name)".into(),
        "first-come" => {
            "first-come (a name belongs to the first identity that joins with it)".into()
        }
        "registered" => {
            "registered (only the names listed here may join, each with its keys)".into()
        }
        other => one_line(other),
    }
}

/// Fingerprints, comma-separated.
fn fingerprints(keys: &[NameKey]) -> String {
    keys.iter()
        .map(|k| one_line(&k.fingerprint))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `chatctl names`.
pub fn list(n: &Names, now: u64) -> String {
    let mut out = aligned(&[("policy", policy_meaning(&n.policy))]);
    if n.names.is_empty() {
        out.push_str("no name is registered\n");
        return out;
    }
    let rows: Vec<Vec<String>> = n
        .names
        .iter()
        .map(|r| {
            vec![
                one_line(&r.name),
                fingerprints(&r.keys),
                local_time(r.registered),
                relative(r.last_seen, now),
            ]
        })
        .collect();
    out.push_str(&table(
        &["NAME", "KEYS", "REGISTERED", "LAST SEEN"],
        &rows,
        &[false, false, false, false],
    ));
    out
}

/// `chatctl names add` and `names remove`.
pub fn changed(c: &NameChanged) -> String {
    let name = one_line(&c.name);
    let mut out = String::new();
    match c.keys.len() {
        0 => {
            let _ = writeln!(out, "{name} is not registered now: anyone may take it");
        }
        n => {
            let s = if n == 1 { "" } else { "s" };
            let _ = writeln!(out, "{name}: {n} key{s}: {}", fingerprints(&c.keys));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chat_protocol::admin::NameRecord;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn key(f: &str) -> NameKey {
        NameKey {
            key: format!("chat-id1_{f}"),
            fingerprint: f.into(),
        }
    }

    #[test]
    fn names_are_listed_with_their_fingerprints_and_times() {
        let names = Names {
            policy: "first-come".into(),
            names: vec![
                NameRecord {
                    name: "ace".into(),
                    keys: vec![key("40dd79759f005170"), key("0123456789abcdef")],
                    registered: NOW - 86_400,
                    last_seen: NOW - 300,
                },
                NameRecord {
                    name: "b\u{1b}[2J".into(),
                    keys: vec![key("fedcba9876543210")],
                    registered: NOW - 60,
                    last_seen: NOW - 60,
                },
            ],
        };
        let text = list(&names, NOW);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "policy:  first-come (a name belongs to the first identity that joins with it)"
        );
        assert!(lines[1].starts_with("NAME "), "{text}");
        assert!(
            lines[2].starts_with("ace ") && lines[2].contains("40dd79759f005170, 0123456789abcdef"),
            "{text}"
        );
        assert!(lines[2].ends_with("5m ago"), "{text}");
        assert!(lines[3].starts_with("b\\x1b[2J"), "escaped: {text}");
        let empty = Names {
            policy: "open".into(),
            names: vec![],
        };
        assert!(list(&empty, NOW).ends_with("no name is registered\n"));
        assert_eq!(
            changed(&NameChanged {
                name: "ace".into(),
                keys: vec![key("40dd79759f005170")]
            }),
            "ace: 1 key: 40dd79759f005170\n"
        );
        assert_eq!(
            changed(&NameChanged {
                name: "ace".into(),
                keys: vec![]
            }),
            "ace is not registered now: anyone may take it\n"
        );
    }
}
