//! What people read: the daemon's answers as aligned `key: value` lines and
//! tables, with times made human ("3d 4h", "5m ago", a local date).
//!
//! Every function here is pure (it takes "now" as an argument) and returns
//! the text; `main` writes it. `--json` prints the daemon's object as it
//! sent it, through [`json`]. Every string that came from the daemon passes
//! through [`one_line`] (or, in JSON, [`json`]), so no answer can move the
//! cursor, forge a line or reorder text.

use std::fmt::Write as _;

use chat_protocol::admin::{Kicked, NoticeSent, PasswordState, Reloaded, Rotated, Status, Users};

/// `text` as one field of one line: every character that could drive a
/// terminal or hide or reorder text (controls, tab and newline included,
/// format characters such as bidi overrides, U+2028/U+2029, tags) escaped
/// by the escaper that `chat` uses too ([`chat_protocol::escape::field`]).
pub fn one_line(text: &str) -> String {
    chat_protocol::escape::field(text).into_owned()
}

/// The daemon's JSON answer as `--json` prints it: the same value, on one
/// line, with every character that could drive a terminal written as a
/// JSON `\uXXXX` escape. `raw` must be valid JSON (chatctl has parsed it).
pub fn json(raw: &str) -> String {
    let mut text =
        chat_protocol::escape::json(raw.trim_matches([' ', '\t', '\n', '\r'])).into_owned();
    text.push('\n');
    text
}

/// A text of many lines from the daemon (the metrics), line by line as
/// sent, each through [`one_line`]: unchanged unless it holds a character
/// that could drive the terminal. Ends with a newline.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for line in text.lines() {
        out.push_str(&one_line(line));
        out.push('\n');
    }
    out
}

/// A size in bytes, KiB or MiB.
fn bytes(n: usize) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{} KiB", n / 1024),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// A span in the two largest units: `42s`, `5m 3s`, `2h 5m`, `3d 4h`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) if s == 0 => format!("{m}m"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) if m == 0 => format!("{h}h"),
        (0, _, _) => format!("{h}h {m}m"),
        _ if h == 0 => format!("{d}d"),
        _ => format!("{d}d {h}h"),
    }
}

/// `then` relative to `now` in its largest unit: `5m ago`, `in 9m`,
/// `just now`.
pub fn relative(then: u64, now: u64) -> String {
    let largest = |secs: u64| match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    };
    match then.cmp(&now) {
        std::cmp::Ordering::Equal => "just now".into(),
        std::cmp::Ordering::Less => format!("{} ago", largest(now - then)),
        std::cmp::Ordering::Greater => format!("in {}", largest(then - now)),
    }
}

/// Unix seconds as a local date and time, `2026-11-03 14:05:00 CET` (UTC
/// when the local zone is unknown).
pub fn local_time(unix: u64) -> String {
    let Ok(t) = libc::time_t::try_from(unix) else {
        return format!("@{unix}");
    };
    let mut buf = [0u8; 64];
    // SAFETY: `tm` is plain data that localtime_r fills from `t`; strftime
    // writes at most `buf.len()` bytes into `buf` and returns how many.
    let len = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return format!("@{unix}");
        }
        libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%Y-%m-%d %H:%M:%S %Z".as_ptr(),
            &tm,
        )
    };
    one_line(&String::from_utf8_lossy(&buf[..len]))
}

/// `key: value` lines with the values aligned.
pub(crate) fn aligned(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (key, value) in pairs {
        let _ = writeln!(out, "{:<width$}  {value}", format!("{key}:"));
    }
    out
}

/// Columns separated by two spaces, headers first; `right[i]` aligns
/// column `i` to the right (numbers). No trailing spaces.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if right.get(i).copied().unwrap_or(false) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// What each value of `password` means to an admin.
fn password_meaning(password: &str) -> String {
    match password {
        "none" => "none (anyone with the key may join)".into(),
        "file" => "file (the configured password_file)".into(),
        "admin" => "admin (set with `chatctl passwd`)".into(),
        other => one_line(other),
    }
}

/// When an old key stops joining, as `2026-11-03 14:05:00 CET (in 9m)`.
fn until(expires: u64, now: u64) -> String {
    format!("{} ({})", local_time(expires), relative(expires, now))
}

/// `chatctl status`.
pub fn status(s: &Status, now: u64) -> String {
    let mut pairs = vec![
        ("version", one_line(&s.version)),
        ("pid", s.pid.to_string()),
        ("uptime", duration(s.uptime_secs)),
        ("listen", one_line(&s.listen)),
        ("key id", one_line(&s.key_id)),
    ];
    if let Some(previous) = &s.previous_key_id {
        let joins = match s.previous_key_expires {
            Some(expires) => format!(", joins until {}", until(expires, now)),
            None => String::new(),
        };
        pairs.push(("previous key id", format!("{}{joins}", one_line(previous))));
    }
    if let Some(at) = s.disconnect_at {
        pairs.push((
            "old sessions",
            format!("disconnected when the grace ends, {}", until(at, now)),
        ));
    }
    pairs.extend([
        (
            "online",
            format!(
                "{} of {} ({} queued to them)",
                s.online,
                s.max_users,
                bytes(s.queued_bytes)
            ),
        ),
        (
            "messages",
            format!(
                "{} ({} in the last minute)",
                s.messages_total, s.messages_per_minute
            ),
        ),
        ("password", password_meaning(&s.password)),
        ("state dir", one_line(&s.state_dir)),
    ]);
    if s.throttled_addresses > 0 {
        pairs.push((
            "throttled",
            format!(
                "{} address{} (too many wrong passwords)",
                s.throttled_addresses,
                if s.throttled_addresses == 1 { "" } else { "es" }
            ),
        ));
    }
    if let Some(error) = &s.history_persist_error {
        pairs.push((
            "history",
            format!("NOT SAVED to disk, kept in memory: {}", one_line(error)),
        ));
    }
    if let Some(node) = &s.node {
        pairs.push(("node", one_line(node)));
    }
    match s.cluster.as_deref() {
        None => {}
        Some("unavailable") => pairs.push((
            "cluster",
            "UNAVAILABLE: NATS is out of reach; messages are refused until it is back".into(),
        )),
        Some(other) => pairs.push(("cluster", one_line(other))),
    }
    if let Some(total) = s.online_cluster {
        pairs.push(("online (all)", format!("{total} on all nodes")));
    }
    let mut out = aligned(&pairs);
    if let Some(nodes) = s.nodes.as_ref().filter(|n| !n.is_empty()) {
        let rows: Vec<Vec<String>> = nodes
            .iter()
            .map(|n| {
                vec![
                    one_line(&n.node),
                    n.online.to_string(),
                    one_line(&n.listen),
                    relative(n.since, now),
                    n.version.as_deref().map(one_line).unwrap_or_default(),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(
            &["NODE", "ONLINE", "LISTEN", "STARTED", "VERSION"],
            &rows,
            &[false, true, false, false, false],
        ));
    }
    out
}

/// `chatctl users`: one row per user (with a NODE column when the daemon
/// is a node of a cluster), or a line saying no one is online; the
/// daemon's warning (nodes that did not answer) last.
pub fn users(u: &Users, now: u64) -> String {
    let mut out = users_table(u, now);
    if let Some(warning) = &u.warning {
        let _ = writeln!(out, "warning: {}", one_line(warning));
    }
    out
}

fn users_table(u: &Users, now: u64) -> String {
    if u.users.is_empty() && u.warning.is_some() {
        return "no one is online on the nodes that answered\n".into();
    }
    if u.users.is_empty() {
        return "no one is online\n".into();
    }
    let with_node = u.users.iter().any(|user| user.node.is_some());
    // The identity's fingerprint, apart from the room key's (KEY), when
    // anyone online proved one.
    let with_identity = u.users.iter().any(|user| user.identity.is_some());
    let rows: Vec<Vec<String>> = u
        .users
        .iter()
        .map(|user| {
            let mut row = vec![one_line(&user.name)];
            if with_node {
                row.push(user.node.as_deref().map(one_line).unwrap_or_default());
            }
            row.extend([
                one_line(&user.address),
                relative(user.since, now),
                user.messages.to_string(),
            ]);
            if with_identity {
                row.push(user.identity.as_deref().map_or("-".into(), one_line));
            }
            row.push(match user.disconnect_at {
                Some(at) => format!(
                    "{}, disconnected {}",
                    one_line(&user.key_id),
                    relative(at, now)
                ),
                None => one_line(&user.key_id),
            });
            row
        })
        .collect();
    let mut headers = vec!["NAME"];
    let mut right = vec![false];
    if with_node {
        headers.push("NODE");
        right.push(false);
    }
    headers.extend(["ADDRESS", "SINCE", "MESSAGES"]);
    right.extend([false, false, true]);
    if with_identity {
        headers.push("IDENTITY");
        right.push(false);
    }
    headers.push("KEY");
    right.push(false);
    table(&headers, &rows, &right)
}

/// `chatctl rotate-key`: the new key id, what became of the old key and its
/// sessions, and the new token alone on the last line (`| tail -n 1`).
pub fn rotated(r: &Rotated, asked_disconnect: bool, now: u64) -> String {
    let old_key = match r.previous_key_expires {
        Some(expires) => format!(
            "{}, joins until {}",
            one_line(&r.previous_key_id),
            until(expires, now)
        ),
        None => format!("{}, no longer joins", one_line(&r.previous_key_id)),
    };
    let sessions = if let Some(at) = r.disconnect_at {
        format!(
            "disconnected when the grace ends, {} (those joining with the old key meanwhile too)",
            until(at, now)
        )
    } else if asked_disconnect {
        let s = if r.disconnected == 1 { "" } else { "s" };
        format!("{} session{s} disconnected", r.disconnected)
    } else {
        "kept connected (--disconnect ends them)".into()
    };
    let mut out = aligned(&[
        ("new key id", one_line(&r.key_id)),
        ("old key id", old_key),
        ("old sessions", sessions),
        ("new token", "(hand it to people; keep it secret)".into()),
    ]);
    out.push_str(&one_line(&r.token));
    out.push('\n');
    out
}

/// `chatctl passwd` and `passwd --clear`.
pub fn password_state(p: &PasswordState, cleared: bool) -> String {
    let done = if cleared {
        "admin password removed"
    } else {
        "password set"
    };
    format!("{done}; in force: {}\n", password_meaning(&p.password))
}

/// `chatctl kick`.
pub fn kicked(k: &Kicked) -> String {
    match &k.node {
        Some(node) => format!(
            "kicked {} (on node {})\n",
            one_line(&k.name),
            one_line(node)
        ),
        None => format!("kicked {}\n", one_line(&k.name)),
    }
}

/// `chatctl say`.
pub fn notice_sent(n: &NoticeSent) -> String {
    let s = if n.delivered == 1 { "" } else { "s" };
    match n.other_nodes {
        None => format!("notice sent to {} user{s}\n", n.delivered),
        Some(true) => format!(
            "notice sent to {} user{s} on this node, and to the other nodes\n",
            n.delivered
        ),
        Some(false) => format!(
            "notice sent to {} user{s} on this node only: the cluster is unavailable\n",
            n.delivered
        ),
    }
}

/// `chatctl reload`.
pub fn reloaded(r: &Reloaded) -> String {
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| one_line(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = if r.changed.is_empty() {
        "reloaded; no setting changed\n".to_string()
    } else {
        format!("reloaded; now in force: {}\n", list(&r.changed))
    };
    if !r.restart_needed.is_empty() {
        let _ = writeln!(
            out,
            "changed in the file but needs a restart: {}",
            list(&r.restart_needed)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use chat_protocol::admin::User;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn sample_status() -> Status {
        Status {
            version: "0.1.0".into(),
            uptime_secs: 3 * 86_400 + 4 * 3600 + 5,
            listen: "127.0.0.1:1719".into(),
            key_id: "0123456789abcdef".into(),
            previous_key_id: None,
            previous_key_expires: None,
            disconnect_at: None,
            online: 2,
            max_users: 100,
            messages_total: 1234,
            messages_per_minute: 12,
            password: "none".into(),
            state_dir: "/var/lib/chatd".into(),
            pid: 4321,
            throttled_addresses: 0,
            password_checks: 0,
            queued_bytes: 0,
            history_persist_error: None,
            node: None,
            cluster: None,
            nodes: None,
            online_cluster: None,
        }
    }

    #[test]
    fn durations_keep_two_units() {
        let cases = [
            (0, "0s"),
            (42, "42s"),
            (60, "1m"),
            (303, "5m 3s"),
            (3600, "1h"),
            (7500, "2h 5m"),
            (86_400, "1d"),
            (3 * 86_400 + 4 * 3600 + 59, "3d 4h"),
        ];
        for (secs, text) in cases {
            assert_eq!(duration(secs), text, "{secs}");
        }
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(NOW, NOW), "just now");
        assert_eq!(relative(NOW - 5, NOW), "5s ago");
        assert_eq!(relative(NOW - 300, NOW), "5m ago");
        assert_eq!(relative(NOW - 7200, NOW), "2h ago");
        assert_eq!(relative(NOW - 3 * 86_400, NOW), "3d ago");
        assert_eq!(relative(NOW + 540, NOW), "in 9m");
    }

    #[test]
    fn local_times_look_like_dates() {
        let t = local_time(NOW);
        // 2027-01-15 08:00:00 UTC, shifted by whatever zone the test runs in.
        assert!(t.starts_with("2027-01-1"), "{t}");
        assert_eq!(&t[4..5], "-");
        assert_eq!(&t[13..14], ":");
        assert_eq!(local_time(u64::MAX), format!("@{}", u64::MAX));
    }

    #[test]
    fn status_is_aligned_key_value_lines() {
        let text = status(&sample_status(), NOW);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "version:    0.1.0");
        assert!(lines.contains(&"uptime:     3d 4h"), "{text}");
        assert!(
            lines.contains(&"online:     2 of 100 (0 B queued to them)"),
            "{text}"
        );
        assert!(lines.contains(&"messages:   1234 (12 in the last minute)"));
        assert!(lines.contains(&"password:   none (anyone with the key may join)"));
        // Every value starts in the same column, two spaces after the
        // longest key ("state dir:").
        for line in &lines {
            let (key, _) = line.split_once(':').unwrap();
            assert_eq!(line[..12].trim_end(), format!("{key}:"), "{line}");
            assert_ne!(line.as_bytes()[12], b' ', "{line}");
        }
        assert!(!text.contains("previous"));
    }

    #[test]
    fn status_shows_the_previous_key_until_it_expires() {
        let s = Status {
            previous_key_id: Some("fedcba9876543210".into()),
            previous_key_expires: Some(NOW + 600),
            ..sample_status()
        };
        let text = status(&s, NOW);
        let line = text
            .lines()
            .find(|l| l.starts_with("previous key id:"))
            .unwrap();
        assert!(
            line.contains("fedcba9876543210, joins until 2027-01-1"),
            "{line}"
        );
        assert!(line.ends_with("(in 10m)"), "{line}");
        assert!(!text.contains("old sessions"), "{text}");
        assert!(!text.contains("throttled"), "{text}");
        assert!(!text.contains("NOT SAVED"), "{text}");
        let unsaved = Status {
            history_persist_error: Some("No space left on device".into()),
            ..sample_status()
        };
        assert!(
            status(&unsaved, NOW)
                .contains("history:    NOT SAVED to disk, kept in memory: No space left on device"),
            "{}",
            status(&unsaved, NOW)
        );
        let guessed = Status {
            throttled_addresses: 2,
            ..sample_status()
        };
        assert!(
            status(&guessed, NOW).contains("throttled:  2 addresses (too many wrong passwords)"),
            "{}",
            status(&guessed, NOW)
        );
        let pending = Status {
            disconnect_at: Some(NOW + 600),
            ..s
        };
        let text = status(&pending, NOW);
        assert!(
            text.contains("old sessions:     disconnected when the grace ends, 2027-01-1"),
            "{text}"
        );
    }

    #[test]
    fn users_is_a_table_with_numbers_on_the_right() {
        let u = Users {
            users: vec![
                User {
                    name: "ace".into(),
                    address: "127.0.0.1:50000".into(),
                    since: NOW - 300,
                    messages: 7,
                    key_id: "0123456789abcdef".into(),
                    identity: None,
                    disconnect_at: None,
                    node: None,
                },
                User {
                    name: "bobby_tables".into(),
                    address: "[::1]:4".into(),
                    since: NOW - 2 * 86_400,
                    messages: 12345,
                    key_id: "fedcba9876543210".into(),
                    identity: None,
                    disconnect_at: Some(NOW + 540),
                    node: None,
                },
            ],
            warning: None,
        };
        assert_eq!(
            users(&u, NOW),
            "\
NAME          ADDRESS          SINCE   MESSAGES  KEY
ace           127.0.0.1:50000  5m ago         7  0123456789abcdef
bobby_tables  [::1]:4          2d ago     12345  fedcba9876543210, disconnected in 9m
"
        );
        assert_eq!(
            users(
                &Users {
                    users: vec![],
                    warning: None
                },
                NOW
            ),
            "no one is online\n"
        );
        // A cluster's users: a NODE column, and the nodes that did not answer.
        let mut clustered = u.clone();
        clustered.users[0].node = Some("n1".into());
        clustered.users[1].node = Some("n2".into());
        clustered.warning = Some("no answer within 1 s from node n3".into());
        assert_eq!(
            users(&clustered, NOW),
            "\
NAME          NODE  ADDRESS          SINCE   MESSAGES  KEY
ace           n1    127.0.0.1:50000  5m ago         7  0123456789abcdef
bobby_tables  n2    [::1]:4          2d ago     12345  fedcba9876543210, disconnected in 9m
warning: no answer within 1 s from node n3
"
        );
        // An identity proven: its fingerprint in a column of its own,
        // apart from the room key's.
        let mut proven = u.clone();
        proven.users[0].identity = Some("40dd79759f005170".into());
        assert_eq!(
            users(&proven, NOW),
            "\
NAME          ADDRESS          SINCE   MESSAGES  IDENTITY          KEY
ace           127.0.0.1:50000  5m ago         7  40dd79759f005170  0123456789abcdef
bobby_tables  [::1]:4          2d ago     12345  -                 fedcba9876543210, disconnected in 9m
"
        );
    }

    #[test]
    fn a_cluster_status_names_the_node_and_lists_the_nodes() {
        let s = Status {
            node: Some("n1".into()),
            cluster: Some("connected".into()),
            nodes: Some(vec![
                chat_protocol::admin::NodeStatus {
                    node: "n1".into(),
                    online: 2,
                    listen: "127.0.0.1:1719".into(),
                    since: NOW - 60,
                    version: Some("0.1.0".into()),
                },
                chat_protocol::admin::NodeStatus {
                    node: "n2".into(),
                    online: 10,
                    listen: "10.0.0.2:1719".into(),
                    since: NOW - 7200,
                    version: None,
                },
            ]),
            online_cluster: Some(12),
            ..sample_status()
        };
        let text = status(&s, NOW);
        for line in [
            "node:          n1",
            "cluster:       connected",
            "online (all):  12 on all nodes",
            "NODE  ONLINE  LISTEN          STARTED  VERSION",
            "n1         2  127.0.0.1:1719  1m ago   0.1.0",
            "n2        10  10.0.0.2:1719   2h ago",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
        let away = Status {
            cluster: Some("unavailable".into()),
            nodes: None,
            online_cluster: None,
            ..s
        };
        let text = status(&away, NOW);
        assert!(
            text.contains("cluster:    UNAVAILABLE: NATS is out of reach"),
            "{text}"
        );
        assert!(!text.contains("NODE"), "{text}");
        // A single chatd: none of it.
        let text = status(&sample_status(), NOW);
        assert!(
            !text.contains("node") && !text.contains("cluster"),
            "{text}"
        );
    }

    #[test]
    fn rotation_ends_with_the_token_alone() {
        let r = Rotated {
            token: "chat1_TOKEN".into(),
            key_id: "1111111111111111".into(),
            previous_key_id: "2222222222222222".into(),
            previous_key_expires: None,
            disconnected: 1,
            disconnect_at: None,
        };
        let text = rotated(&r, true, NOW);
        assert_eq!(text.lines().last(), Some("chat1_TOKEN"));
        assert!(text.contains("new key id:    1111111111111111\n"), "{text}");
        assert!(text.contains("2222222222222222, no longer joins"), "{text}");
        assert!(text.contains("1 session disconnected"), "{text}");

        let graced = Rotated {
            previous_key_expires: Some(NOW + 3600),
            disconnected: 0,
            ..r
        };
        let text = rotated(&graced, false, NOW);
        assert!(
            text.contains("joins until ") && text.contains("(in 1h)"),
            "{text}"
        );
        assert!(
            text.contains("kept connected (--disconnect ends them)"),
            "{text}"
        );
        let pending = Rotated {
            disconnect_at: Some(NOW + 3600),
            ..graced
        };
        let text = rotated(&pending, true, NOW);
        assert!(
            text.contains("old sessions:  disconnected when the grace ends, 2027-01-1"),
            "{text}"
        );
    }

    #[test]
    fn short_answers() {
        assert_eq!(
            password_state(
                &PasswordState {
                    password: "admin".into()
                },
                false
            ),
            "password set; in force: admin (set with `chatctl passwd`)\n"
        );
        assert_eq!(
            password_state(
                &PasswordState {
                    password: "file".into()
                },
                true
            ),
            "admin password removed; in force: file (the configured password_file)\n"
        );
        let ace = Kicked {
            name: "ace".into(),
            node: None,
        };
        assert_eq!(kicked(&ace), "kicked ace\n");
        let far = Kicked {
            node: Some("n2".into()),
            ..ace
        };
        assert_eq!(kicked(&far), "kicked ace (on node n2)\n");
        let sent = |delivered, other_nodes| NoticeSent {
            delivered,
            other_nodes,
        };
        assert_eq!(notice_sent(&sent(1, None)), "notice sent to 1 user\n");
        assert_eq!(notice_sent(&sent(0, None)), "notice sent to 0 users\n");
        assert_eq!(
            notice_sent(&sent(2, Some(true))),
            "notice sent to 2 users on this node, and to the other nodes\n"
        );
        assert_eq!(
            notice_sent(&sent(2, Some(false))),
            "notice sent to 2 users on this node only: the cluster is unavailable\n"
        );
        assert_eq!(
            reloaded(&Reloaded {
                changed: vec![],
                restart_needed: vec![]
            }),
            "reloaded; no setting changed\n"
        );
        assert_eq!(
            reloaded(&Reloaded {
                changed: vec!["motd".into(), "max_users".into()],
                restart_needed: vec!["listen".into()],
            }),
            "reloaded; now in force: motd, max_users\nchanged in the file but needs a restart: listen\n"
        );
    }

    #[test]
    fn one_line_escapes_what_could_drive_a_terminal() {
        assert_eq!(one_line("plain ünïcode"), "plain ünïcode");
        assert_eq!(one_line("a\nb\tc\u{1b}[2J"), "a\\x0ab\\x09c\\x1b[2J");
        assert_eq!(one_line("x\u{202e}y"), "x\\u{202e}y");
        // What the old escaper let through: format characters beyond the
        // bidi ones, the line and paragraph separators, tags.
        assert_eq!(
            one_line("a\u{2028}b\u{2029}c\u{ad}\u{2060}\u{feff}\u{e0041}\u{180e}"),
            "a\\u{2028}b\\u{2029}c\\u{ad}\\u{2060}\\u{feff}\\u{e0041}\\u{180e}"
        );
    }

    #[test]
    fn text_keeps_the_lines_and_escapes_within_them() {
        let scrape = "# TYPE chatd_users_online gauge\nchatd_users_online 2\n";
        assert_eq!(text(scrape), scrape);
        assert_eq!(text("a 1"), "a 1\n");
        assert_eq!(text("a\u{1b}[2J 1\nb\r 2\n"), "a\\x1b[2J 1\nb\\x0d 2\n");
    }

    #[test]
    fn json_keeps_the_value_and_escapes_the_rest() {
        let name = "a\u{202e}b\u{2028}\u{e0041}\u{9b}\u{7f}";
        let raw = format!("{}\n", serde_json::json!({"name": name}));
        let text = json(&raw);
        assert!(text.ends_with('\n') && text.lines().count() == 1, "{text}");
        assert!(
            !text
                .trim_end()
                .chars()
                .any(chat_protocol::escape::is_unsafe),
            "{text}"
        );
        assert!(
            text.contains("\\u202e") && text.contains("\\udb40\\udc41"),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], name);
    }
}
