//! `chatctl ban`, `unban`, `bans`, `mute`, `unmute` and `mutes` as people
//! read them: one row per ban or mute (target, reason, who, since, until),
//! and the answer to a change. Times come as Unix milliseconds, as on the
//! wire.

use std::fmt::Write as _;

use chat_protocol::admin::{
    Audit, Banned, Bans, MuteEntry, Muted, Mutes, OperatorChanged, Operators, Unbanned, Unmuted,
};

use crate::output::{local_time, one_line, relative, table};

/// When a ban or mute ends, for people: `until lifted`, or the local time
/// and how far away it is.
fn until_text(until: Option<u64>, now_ms: u64) -> String {
    match until {
        None => "until lifted".into(),
        Some(until) => format!(
            "{} ({})",
            local_time(until / 1000),
            relative(until / 1000, now_ms / 1000)
        ),
    }
}

/// `chatctl bans`.
pub fn bans(b: &Bans, now_ms: u64) -> String {
    if b.bans.is_empty() {
        return "no ban is in force\n".into();
    }
    let rows: Vec<Vec<String>> = b
        .bans
        .iter()
        .map(|ban| {
            let mut target = one_line(&ban.target);
            if !ban.also.is_empty() {
                let also: Vec<String> = ban.also.iter().map(|a| one_line(a)).collect();
                let _ = write!(target, " (and {})", also.join(", "));
            }
            vec![
                target,
                ban.reason.as_deref().map(one_line).unwrap_or_default(),
                one_line(&ban.by),
                local_time(ban.since / 1000),
                until_text(ban.until, now_ms),
            ]
        })
        .collect();
    table(
        &["TARGET", "REASON", "BY", "SINCE", "UNTIL"],
        &rows,
        &[false, false, false, false, false],
    )
}

/// `chatctl ban`.
pub fn banned(b: &Banned, now_ms: u64) -> String {
    let ban = &b.ban;
    let mut out = format!("banned {}", one_line(&ban.target));
    if !ban.also.is_empty() {
        let also: Vec<String> = ban.also.iter().map(|a| one_line(a)).collect();
        let _ = write!(out, " (and {})", also.join(", "));
    }
    let _ = write!(out, " {}", until_text(ban.until, now_ms));
    if let Some(reason) = &ban.reason {
        let _ = write!(out, ": {}", one_line(reason));
    }
    let s = if b.ended == 1 { "" } else { "s" };
    let _ = writeln!(out, "; {} session{s} ended", b.ended);
    out
}

/// `chatctl unban`.
pub fn unbanned(u: &Unbanned) -> String {
    format!("lifted the ban of {}\n", one_line(&u.target))
}

/// Whom a mute follows: its identities, or the address of a user
/// without one.
fn follows(mute: &MuteEntry) -> String {
    match (&mute.keys[..], &mute.addr) {
        ([], Some(addr)) => format!("{} from {}", one_line(&mute.name), one_line(addr)),
        ([], None) => one_line(&mute.name),
        (keys, _) => {
            let keys: Vec<String> = keys.iter().map(|k| one_line(k)).collect();
            format!("{} ({})", one_line(&mute.name), keys.join(", "))
        }
    }
}

/// `chatctl mutes`.
pub fn mutes(m: &Mutes, now_ms: u64) -> String {
    if m.mutes.is_empty() {
        return "no mute is in force\n".into();
    }
    let rows: Vec<Vec<String>> = m
        .mutes
        .iter()
        .map(|mute| {
            vec![
                follows(mute),
                mute.reason.as_deref().map(one_line).unwrap_or_default(),
                one_line(&mute.by),
                local_time(mute.since / 1000),
                until_text(mute.until, now_ms),
            ]
        })
        .collect();
    table(
        &["NAME", "REASON", "BY", "SINCE", "UNTIL"],
        &rows,
        &[false, false, false, false, false],
    )
}

/// `chatctl mute`.
pub fn muted(m: &Muted, now_ms: u64) -> String {
    let mute = &m.mute;
    let mut out = format!("muted {} {}", follows(mute), until_text(mute.until, now_ms));
    if let Some(reason) = &mute.reason {
        let _ = write!(out, ": {}", one_line(reason));
    }
    out.push('\n');
    out
}

/// `chatctl unmute`.
pub fn unmuted(u: &Unmuted) -> String {
    format!("lifted the mute of {}\n", one_line(&u.name))
}

/// `chatctl audit` (a NODE column in a cluster's answer).
pub fn audit(a: &Audit) -> String {
    let warning = a
        .warning
        .as_deref()
        .map(|w| format!("warning: {}\n", one_line(w)))
        .unwrap_or_default();
    if a.entries.is_empty() {
        return format!("{warning}nothing was recorded\n");
    }
    let nodes = a.entries.iter().any(|e| e.node.is_some());
    let rows: Vec<Vec<String>> = a
        .entries
        .iter()
        .map(|e| {
            let mut row = vec![
                local_time(e.ts / 1000),
                one_line(&e.actor),
                one_line(&e.action),
                one_line(&e.target),
                e.reason.as_deref().map(one_line).unwrap_or_default(),
                e.until.map(|u| local_time(u / 1000)).unwrap_or_default(),
            ];
            if nodes {
                row.push(e.node.as_deref().map(one_line).unwrap_or_default());
            }
            row
        })
        .collect();
    let mut headers = vec!["WHEN", "BY", "ACTION", "TARGET", "REASON", "UNTIL"];
    if nodes {
        headers.push("NODE");
    }
    let right = vec![false; headers.len()];
    format!("{}{warning}", table(&headers, &rows, &right))
}

/// `chatctl operators`.
pub fn operators(o: &Operators) -> String {
    if o.operators.is_empty() {
        return "the room has no operator\n".into();
    }
    let mut out = String::new();
    for name in &o.operators {
        let _ = writeln!(out, "{}", one_line(name));
    }
    out
}

/// `chatctl op` and `deop`.
pub fn operator_changed(c: &OperatorChanged) -> String {
    let name = one_line(&c.name);
    if c.op {
        format!("{name} is an operator of the room\n")
    } else {
        format!("{name} is an operator no longer\n")
    }
}

#[cfg(test)]
mod tests {
    use chat_protocol::admin::BanEntry;

    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    #[test]
    fn bans_are_listed_with_their_ends_and_what_they_take_in() {
        let list = Bans {
            bans: vec![
                BanEntry {
                    target: "mallory".into(),
                    reason: Some("spam\u{1b}[2J".into()),
                    by: "root".into(),
                    since: NOW - 60_000,
                    until: None,
                    also: vec!["key:40dd79759f005170".into()],
                },
                BanEntry {
                    target: "addr:192.0.2.0/24".into(),
                    reason: None,
                    by: "op:carol".into(),
                    since: NOW,
                    until: Some(NOW + 600_000),
                    also: vec![],
                },
            ],
        };
        let text = bans(&list, NOW);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("TARGET "), "{text}");
        assert!(
            lines[1].starts_with("mallory (and key:40dd79759f005170)")
                && lines[1].contains("spam\\x1b[2J")
                && lines[1].ends_with("until lifted"),
            "{text}"
        );
        assert!(
            lines[2].contains("op:carol") && lines[2].ends_with("(in 10m)"),
            "{text}"
        );
        assert_eq!(bans(&Bans { bans: vec![] }, NOW), "no ban is in force\n");
        let b = Banned {
            ban: list.bans[0].clone(),
            ended: 1,
        };
        assert!(banned(&b, NOW).ends_with("until lifted: spam\\x1b[2J; 1 session ended\n"));
        assert_eq!(
            unbanned(&Unbanned {
                target: "mallory".into()
            }),
            "lifted the ban of mallory\n"
        );
    }
}
