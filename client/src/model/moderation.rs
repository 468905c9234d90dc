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
/// (spam)`, `carol was made an operator by the admin`.
pub(super) fn told(
    action: ModerationAction,
    target: &str,
    by: Option<&str>,
    until: Option<u64>,
    reason: Option<&str>,
    ts: u64,
) -> Entry {
    let text = Wording::default().field(target);
    let done = match action {
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
        text = text.say(&format!("{since}{}{until}{}", pad(since, 2), pad(until, 3)));
        if let Some(reason) = ban.reason.as_deref() {
            text = text.field(reason);
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
