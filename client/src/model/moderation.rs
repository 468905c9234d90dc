//! The words of moderation (docs/protocol.md §10.7): what the room is told
//! (`bob was muted for 10m by carol (flooding)`), the bans an operator
//! lists, a mute that refused our line, and a ban that ended or refused
//! our session. Names, targets and reasons are the peer's fields; times
//! are shown by the front end's [`When`].

use std::time::Duration;

use chat_protocol::duration;
use chat_protocol::{Ban, ModerationAction};

use super::{Entry, Front, When, Wording};

/// Who did it: the operator's name, or the server's admin.
fn by_whom(text: Wording, by: Option<&str>) -> Wording {
    field_or_words(text, by, "the admin")
}

/// How long, from `ts` to `until`: ` for 10m`, or ` for good` without an
/// end.
fn length(until: Option<u64>, ts: u64) -> String {
    match until {
        Some(until) => {
            let secs = until.saturating_sub(ts).div_ceil(1000);
            format!(" for {}", duration::format(Duration::from_secs(secs)))
        }
        None => " for good".into(),
    }
}

/// The line a `moderation` event shows: `bob was banned for 1h by carol
/// (spam)`, `carol was made an operator by the admin`, `dave was invited
/// to #ops by carol`.
pub(super) fn told(
    action: ModerationAction,
    target: &str,
    by: Option<&str>,
    room: Option<&chat_protocol::RoomName>,
    until: Option<u64>,
    reason: Option<&str>,
    ts: u64,
) -> Entry {
    let text = Wording::default().field(target);
    let done = match action {
        ModerationAction::Invite => match room {
            Some(room) => format!(" was invited to {room} by "),
            None => " was invited by ".into(),
        },
        ModerationAction::Kick => " was kicked by ".to_owned(),
        ModerationAction::Ban => format!(" was banned{} by ", length(until, ts)),
        ModerationAction::Unban => " was unbanned by ".into(),
        ModerationAction::Mute => format!(" was muted{} by ", length(until, ts)),
        ModerationAction::Unmute => " was unmuted by ".into(),
        ModerationAction::Op => " was made an operator by ".into(),
        ModerationAction::Deop => " is no longer an operator, by ".into(),
        ModerationAction::Other => ": a moderation this client does not know, by ".into(),
    };
    let mut text = by_whom(text.say(&done), by);
    if let Some(reason) = reason.filter(|r| !r.is_empty()) {
        text = text.say(" (").field(reason).say(")");
    }
    text.notice(Some(ts))
}

/// `banned until 14:05: REASON`, `banned for good`, after `text`.
pub(super) fn banned_words(text: Wording, reason: &str, until: Option<u64>, when: When) -> Wording {
    let text = match until {
        Some(until) => text.say(&format!("banned until {}", when(until))),
        None => text.say("banned for good"),
    };
    if reason.is_empty() {
        text
    } else {
        text.say(": ").field(reason)
    }
}

/// A ban of our own, in words on one line (a join refused, a session
/// ended): `banned until 14:05: spam`.
pub fn banned(reason: &str, until: Option<u64>, when: When) -> String {
    let entry = banned_words(Wording::default(), reason, until, when).notice(None);
    entry
        .spans()
        .into_iter()
        .map(|(super::Span::Field(text) | super::Span::Text(text))| crate::escape::one_line(text))
        .collect()
}

/// A line of ours refused because we are muted: `refused: you are muted
/// until 14:05 (muted by carol: flooding)`.
pub(super) fn muted(message: &str, until: Option<u64>, when: When) -> Entry {
    let end = match until {
        Some(until) => format!("until {}", when(until)),
        None => "for good".into(),
    };
    let text = Wording::default().say(&format!("refused: you are muted {end}"));
    if message.is_empty() {
        text.notice(None)
    } else {
        text.say(" (").field(message).say(")").notice(None)
    }
}

/// The answer to `/bans`: on the full screen one table (target, by whom,
/// since, until, reason), in the line mode a line per ban.
pub(super) fn bans(front: Front, bans: &[Ban], when: When) -> Vec<Entry> {
    if bans.is_empty() {
        return vec![Entry::notice(None, "no bans")];
    }
    // What each ban shows: target, by, since, until.
    let rows: Vec<[String; 4]> = bans
        .iter()
        .map(|ban| {
            [
                ban.target.clone(),
                ban.by.clone().unwrap_or_else(|| "the admin".into()),
                when(ban.since),
                ban.until
                    .map_or_else(|| "for good".into(), |t| format!("until {}", when(t))),
            ]
        })
        .collect();
    if front == Front::Lines {
        return bans
            .iter()
            .zip(&rows)
            .map(|(ban, [target, by, since, until])| {
                let text = Wording::default()
                    .say("banned: ")
                    .field(target)
                    .say(" (by ");
                let text = field_or_words(text, ban.by.as_deref(), by)
                    .say(&format!(", since {since}, {until})"));
                reason_after(text, ban.reason.as_deref()).notice(None)
            })
            .collect();
    }
    let titles = ["target", "by", "since", "until"];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([titles[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let pad = |text: &str, i: usize| " ".repeat(widths[i] - text.chars().count() + 2);
    let mut text = Wording::default().say(&format!(
        "bans ({}; /unban TARGET lifts one):\n  ",
        bans.len()
    ));
    for (i, title) in titles.iter().enumerate() {
        text = text.say(&format!("{title}{}", pad(title, i)));
    }
    text = text.say("reason");
    for (ban, [target, by, since, until]) in bans.iter().zip(&rows) {
        text = text.say("\n  ").field(target).say(&pad(target, 0));
        text = field_or_words(text, ban.by.as_deref(), by).say(&pad(by, 1));
        text = text.say(&format!("{since}{}{until}", pad(since, 2)));
        if let Some(reason) = ban.reason.as_deref() {
            text = text.say(&pad(until, 3)).field(reason);
        }
    }
    vec![text.notice(None)]
}

/// A peer's name as a field, or our own words for it (`the admin`).
fn field_or_words(text: Wording, field: Option<&str>, words: &str) -> Wording {
    match field {
        Some(name) => text.field(name),
        None => text.say(words),
    }
}

/// `: REASON` after `text`, when there is one.
fn reason_after(text: Wording, reason: Option<&str>) -> Wording {
    match reason.filter(|r| !r.is_empty()) {
        Some(reason) => text.say(": ").field(reason),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use chat_protocol::{ByeCode, ErrorCode, ServerEvent};

    use super::*;

    const TS: u64 = 1_700_000_000_000;

    /// Times as `t+SECONDS` after [`TS`], so the words are checked apart
    /// from any clock.
    fn when(ms: u64) -> String {
        format!("t+{}", (ms - TS) / 1000)
    }

    fn text(front: Front, event: &ServerEvent) -> Vec<String> {
        front
            .entries(event, &when)
            .into_iter()
            .map(|e| e.text)
            .collect()
    }

    fn told(
        action: ModerationAction,
        by: Option<&str>,
        until: Option<u64>,
        reason: Option<&str>,
    ) -> String {
        let event = ServerEvent::Moderation {
            room: None,
            action,
            target: "bob".into(),
            by: by.map(str::to_owned),
            until,
            reason: reason.map(str::to_owned),
            ts: TS,
        };
        let lines = text(Front::Lines, &event);
        assert_eq!(lines, text(Front::Screen, &event), "both fronts alike");
        lines.concat()
    }

    #[test]
    fn the_room_is_told_who_did_what_for_how_long_and_why() {
        use ModerationAction::*;
        let ten_minutes = Some(TS + 600_000);
        assert_eq!(
            told(Mute, Some("carol"), ten_minutes, Some("flooding")),
            "bob was muted for 10m by carol (flooding)"
        );
        assert_eq!(
            told(Ban, None, Some(TS + 7 * 86_400_000), None),
            "bob was banned for 7d by the admin"
        );
        assert_eq!(
            told(Ban, Some("carol"), None, Some("spam")),
            "bob was banned for good by carol (spam)"
        );
        assert_eq!(
            told(Kick, Some("carol"), None, Some("")),
            "bob was kicked by carol"
        );
        assert_eq!(
            told(Unban, Some("carol"), None, None),
            "bob was unbanned by carol"
        );
        assert_eq!(
            told(Unmute, None, None, None),
            "bob was unmuted by the admin"
        );
        assert_eq!(
            told(Op, None, None, None),
            "bob was made an operator by the admin"
        );
        assert_eq!(
            told(Deop, None, None, None),
            "bob is no longer an operator, by the admin"
        );
        assert_eq!(
            told(Other, Some("carol"), None, Some("why")),
            "bob: a moderation this client does not know, by carol (why)"
        );
        // The peer's fields stay fields: a newline in them is escaped.
        let event = ServerEvent::Moderation {
            room: None,
            action: Kick,
            target: "bob".into(),
            by: Some("carol".into()),
            until: None,
            reason: Some("a\nb".into()),
            ts: TS,
        };
        let entry = &Front::Lines.entries(&event, &when)[0];
        assert_eq!(
            entry.spans(),
            [
                super::super::Span::Field("bob"),
                super::super::Span::Text(" was kicked by "),
                super::super::Span::Field("carol"),
                super::super::Span::Text(" ("),
                super::super::Span::Field("a\nb"),
                super::super::Span::Text(")"),
            ]
        );
    }

    #[test]
    fn a_mute_and_a_ban_of_our_own_say_until_when() {
        let muted = ServerEvent::Error {
            room: None,
            code: ErrorCode::Muted,
            message: "muted by carol: flooding".into(),
            until: Some(TS + 60_000),
        };
        assert_eq!(
            text(Front::Lines, &muted),
            ["refused: you are muted until t+60 (muted by carol: flooding)"]
        );
        let for_good = ServerEvent::Error {
            room: None,
            code: ErrorCode::Muted,
            message: String::new(),
            until: None,
        };
        assert_eq!(
            text(Front::Screen, &for_good),
            ["refused: you are muted for good"]
        );
        let bye = ServerEvent::Bye {
            code: ByeCode::Banned,
            reason: "spam".into(),
            until: Some(TS + 3_600_000),
        };
        assert_eq!(
            text(Front::Lines, &bye),
            ["disconnected by the server: banned until t+3600: spam"]
        );
        assert_eq!(banned("", None, &when), "banned for good");
        assert_eq!(banned("x\x1b", None, &when), "banned for good: x\\x1b");
    }

    #[test]
    fn bans_are_a_table_on_the_screen_and_lines_in_the_line_mode() {
        let event = ServerEvent::Bans {
            bans: vec![
                Ban {
                    target: "mallory".into(),
                    reason: None,
                    by: None,
                    since: TS,
                    until: None,
                },
                Ban {
                    target: "bob".into(),
                    reason: Some("spam".into()),
                    by: Some("carol".into()),
                    since: TS + 60_000,
                    until: Some(TS + 660_000),
                },
            ],
        };
        assert_eq!(
            text(Front::Lines, &event),
            [
                "banned: mallory (by the admin, since t+0, for good)",
                "banned: bob (by carol, since t+60, until t+660): spam",
            ]
        );
        assert_eq!(
            text(Front::Screen, &event),
            ["bans (2; /unban TARGET lifts one):\n  \
              target   by         since  until        reason\n  \
              mallory  the admin  t+0    for good\n  \
              bob      carol      t+60   until t+660  spam"]
        );
        let none = ServerEvent::Bans { bans: Vec::new() };
        assert_eq!(text(Front::Lines, &none), ["no bans"]);
    }
}
