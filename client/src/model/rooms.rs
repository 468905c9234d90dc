//! The words of rooms (docs/protocol.md §10.8): a room joined (its topic,
//! who is in it, its history), left, listed, and its topic changed. A
//! room's events say the room in their words (`dave joined #ops (3
//! online)`), so that the line mode, which has one stream for every
//! room, tells them apart; the full screen shows them in the room's pane.
//! Topics and names are the peer's fields; a room's name is the server's
//! and checked (a `RoomName`), so it is our words.

use chat_protocol::{RoomInfo, RoomJoined, RoomName};

use super::{Entry, Front, Wording, online};

/// ` #ops` after a verb, for a room's event; nothing for the default
/// room's.
pub(super) fn in_room(room: &Option<RoomName>) -> String {
    room.as_ref().map_or_else(String::new, |r| format!(" {r}"))
}

/// `#ops: ` before a room's words; nothing for the default room's.
pub(super) fn prefix(room: &Option<RoomName>) -> String {
    room.as_ref().map_or_else(String::new, |r| format!("{r}: "))
}

/// `topic: deploys and incidents`.
pub(super) fn topic_line(topic: &str) -> Entry {
    Wording::default().say("topic: ").field(topic).notice(None)
}

/// A room's welcome: `joined #ops (3 online)` (a private room said so),
/// who is in it (the line mode; the full screen's user list says it), its
/// topic, then its history between a "history" and a "live" divider.
pub(super) fn joined(front: Front, joined: &RoomJoined) -> Vec<Entry> {
    let private = if joined.private { ", private" } else { "" };
    let mut out = vec![
        Wording::default()
            .say(&format!(
                "joined {} ({} online{private})",
                joined.room,
                super::count(&joined.users, joined.more)
            ))
            .notice(None),
    ];
    if front == Front::Lines {
        out.push(online(Some(&joined.room), &joined.users, joined.more));
    }
    if let Some(topic) = joined.topic.as_deref().filter(|t| !t.is_empty()) {
        out.push(topic_line(topic));
    }
    if !joined.history.is_empty() {
        out.push(Entry::divider("history"));
        out.extend(joined.history.iter().map(Entry::message));
    }
    out.push(Entry::divider("live"));
    out
}

/// `left #ops`, or why the server took us out: `no longer in #old: the
/// room was removed`.
pub(super) fn parted(room: &RoomName, reason: Option<&str>) -> Entry {
    match reason.filter(|r| !r.is_empty()) {
        Some(reason) => Wording::default()
            .say(&format!("no longer in {room}: "))
            .field(reason)
            .notice(None),
        None => Wording::default().say(&format!("left {room}")).notice(None),
    }
}

/// The answer to `/rooms`: a line each, `#ops (3 online, private):
/// deploys`.
pub(super) fn list(rooms: &[RoomInfo]) -> Vec<Entry> {
    if rooms.is_empty() {
        return vec![Entry::notice(None, "no rooms")];
    }
    let mut out = vec![Entry::notice(None, format!("rooms ({}):", rooms.len()))];
    for info in rooms {
        let private = if info.private { ", private" } else { "" };
        let mut text =
            Wording::default().say(&format!("{} ({} online{private})", info.room, info.online));
        if let Some(topic) = info.topic.as_deref().filter(|t| !t.is_empty()) {
            text = text.say(": ").field(topic);
        }
        out.push(text.notice(None));
    }
    out
}

/// A topic changed: `carol set the topic of #ops: deploys`, `the admin
/// cleared the topic of #ops`.
pub(super) fn topic(room: &RoomName, text: &str, by: Option<&str>, ts: u64) -> Entry {
    let who = match by {
        Some(by) => Wording::default().field(by),
        None => Wording::default().say("the admin"),
    };
    if text.is_empty() {
        return who
            .say(&format!(" cleared the topic of {room}"))
            .notice(Some(ts));
    }
    who.say(&format!(" set the topic of {room}: "))
        .field(text)
        .notice(Some(ts))
}

#[cfg(test)]
mod tests {
    use chat_protocol::{HistoryEntry, ModerationAction, ServerEvent};

    use super::*;

    fn ops() -> RoomName {
        RoomName::parse("#ops").unwrap()
    }

    fn texts(front: Front, event: &ServerEvent) -> Vec<String> {
        front
            .entries(event, &crate::render::when)
            .into_iter()
            .map(|e| e.text)
            .collect()
    }

    #[test]
    fn a_rooms_events_say_the_room_and_the_default_rooms_do_not() {
        let join = |room: Option<RoomName>| ServerEvent::Join {
            room,
            name: "dave".into(),
            online: 3,
            ts: 1,
            identity: None,
            op: false,
        };
        assert_eq!(
            texts(Front::Screen, &join(Some(ops()))),
            ["dave joined #ops (3 online)"]
        );
        assert_eq!(
            texts(Front::Screen, &join(None)),
            ["dave joined (3 online)"]
        );
        let leave = ServerEvent::Leave {
            room: Some(ops()),
            name: "dave".into(),
            online: 2,
            reason: "connection lost".into(),
            ts: 1,
        };
        assert_eq!(
            texts(Front::Lines, &leave),
            ["dave left #ops (2 online): connection lost"]
        );
        let presence = ServerEvent::Presence {
            room: Some(ops()),
            joined: 40,
            left: 0,
            online: 140,
            ts: 1,
        };
        assert_eq!(
            texts(Front::Lines, &presence),
            ["#ops: 40 joined (140 online)"]
        );
        let users = ServerEvent::Users {
            room: Some(ops()),
            users: vec!["ace".into(), "carol".into()],
            members: Vec::new(),
            more: false,
        };
        assert_eq!(texts(Front::Lines, &users), ["online in #ops: ace, carol"]);
        let invite = ServerEvent::Moderation {
            room: Some(ops()),
            action: ModerationAction::Invite,
            target: "dave".into(),
            by: Some("carol".into()),
            until: None,
            reason: None,
            ts: 1,
        };
        assert_eq!(
            texts(Front::Screen, &invite),
            ["dave was invited to #ops by carol"]
        );
        let notice = ServerEvent::Notice {
            room: Some(ops()),
            text: "freeze".into(),
            ts: 1,
        };
        assert_eq!(texts(Front::Lines, &notice), ["notice to #ops: freeze"]);
    }

    #[test]
    fn a_room_joined_listed_left_and_its_topic() {
        let joined = ServerEvent::RoomJoined(RoomJoined {
            room: ops(),
            topic: Some("deploys".into()),
            private: true,
            users: vec!["ace".into(), "carol".into()],
            members: Vec::new(),
            more: false,
            history: vec![HistoryEntry {
                room: Some(ops()),
                id: 1238,
                from: "carol".into(),
                text: "deploy 41 is out".into(),
                ts: 1,
                action: false,
                cid: None,
            }],
            gap: false,
            resumed: false,
            last_id: 1238,
        });
        assert_eq!(
            texts(Front::Screen, &joined),
            [
                "joined #ops (2 online, private)",
                "topic: deploys",
                "history",
                "deploy 41 is out",
                "live"
            ]
        );
        assert_eq!(
            texts(Front::Lines, &joined)[..2],
            [
                "joined #ops (2 online, private)",
                "online in #ops: ace, carol"
            ]
        );
        let rooms = ServerEvent::Rooms {
            rooms: vec![
                RoomInfo {
                    room: RoomName::parse("#coffee").unwrap(),
                    online: 4,
                    topic: None,
                    private: false,
                },
                RoomInfo {
                    room: ops(),
                    online: 3,
                    topic: Some("deploys".into()),
                    private: true,
                },
            ],
        };
        assert_eq!(
            texts(Front::Lines, &rooms),
            [
                "rooms (2):",
                "#coffee (4 online)",
                "#ops (3 online, private): deploys"
            ]
        );
        let parted = ServerEvent::RoomParted {
            room: ops(),
            reason: None,
        };
        assert_eq!(texts(Front::Lines, &parted), ["left #ops"]);
        let removed = ServerEvent::RoomParted {
            room: ops(),
            reason: Some("the room was removed".into()),
        };
        assert_eq!(
            texts(Front::Lines, &removed),
            ["no longer in #ops: the room was removed"]
        );
        let topic = |text: &str, by: Option<&str>| ServerEvent::Topic {
            room: ops(),
            text: text.into(),
            by: by.map(Into::into),
            ts: 1,
        };
        assert_eq!(
            texts(Front::Screen, &topic("deploys", Some("carol"))),
            ["carol set the topic of #ops: deploys"]
        );
        assert_eq!(
            texts(Front::Screen, &topic("", None)),
            ["the admin cleared the topic of #ops"]
        );
        // A topic is the peer's field: kept on its line.
        let entry = &Front::Lines.entries(&topic("a\nb", Some("carol")), &crate::render::when)[0];
        assert_eq!(entry.fields.len(), 2, "the setter and the topic");
    }
}
