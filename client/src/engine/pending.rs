//! Pending-line bookkeeping: a line from `submit` until the server answers
//! it, and how a rejoin's history settles the lines sent but not answered
//! (taken by the server, to send again, or unknowable).

use std::collections::{HashSet, VecDeque};

use chat_protocol::{ClientEvent, HistoryEntry};

/// A line the user typed, from `submit` until the server answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The engine's number for it, increasing in the order typed.
    pub seq: u64,
    /// What goes to the server.
    pub event: ClientEvent,
}

/// What a rejoin's history says about what was shown and what was sent.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Merged {
    /// The history not shown yet, oldest first.
    pub(super) fresh: Vec<HistoryEntry>,
    /// Whether messages may have been missed before `fresh`.
    pub(super) gap: bool,
    /// Lines the server took before the link dropped.
    pub(super) confirmed: Vec<u64>,
    /// Lines to send again, in the order typed.
    pub(super) resend: Vec<Pending>,
    /// Lines whose fate cannot be known (direct messages).
    pub(super) unknown: Vec<Pending>,
}

/// Merges a rejoin's `history` with what was `seen` (message id and
/// timestamp: a restarted server counts ids from 1 again), and settles the
/// lines sent but not answered (`inflight`): taken if the history holds
/// their client id, or, from a server that keeps no client ids, a line of
/// ours with the same text not seen before (in order).
pub(super) fn merge(
    history: Vec<HistoryEntry>,
    seen: &HashSet<(u64, u64)>,
    me: &str,
    inflight: VecDeque<Pending>,
) -> Merged {
    let mine = |e: &&HistoryEntry| e.from.eq_ignore_ascii_case(me);
    let keeps_cids = history.iter().any(|e| e.cid.is_some());
    let taken: HashSet<&str> = history
        .iter()
        .filter(mine)
        .filter_map(|e| e.cid.as_deref())
        .collect();
    let overlap = history.iter().any(|e| seen.contains(&(e.id, e.ts)));
    let fresh: Vec<&HistoryEntry> = history
        .iter()
        .filter(|e| !seen.contains(&(e.id, e.ts)))
        .collect();
    let mut merged = Merged {
        gap: !overlap && !fresh.is_empty() && !seen.is_empty(),
        ..Merged::default()
    };
    let mut same_text = fresh.iter().copied().filter(mine);
    for pending in inflight {
        let (text, action) = match &pending.event {
            ClientEvent::Say { text, .. } => (text, false),
            ClientEvent::Action { text, .. } => (text, true),
            // A kick or a ban done twice is not done once: not sent again.
            ClientEvent::Dm { .. }
            | ClientEvent::Kick { .. }
            | ClientEvent::Ban { .. }
            | ClientEvent::Unban { .. }
            | ClientEvent::Mute { .. }
            | ClientEvent::Unmute { .. } => {
                merged.unknown.push(pending);
                continue;
            }
            // Adding or removing a key again changes nothing more: the
            // answer (the name's keys now, the bans) is still worth having.
            // So for rooms: a room joined or left, a topic set, a name
            // invited twice is as once.
            ClientEvent::IdentityAdd { .. }
            | ClientEvent::IdentityRemove { .. }
            | ClientEvent::Bans
            | ClientEvent::JoinRoom { .. }
            | ClientEvent::PartRoom { .. }
            | ClientEvent::Rooms
            | ClientEvent::Topic { .. }
            | ClientEvent::Invite { .. } => {
                merged.resend.push(pending);
                continue;
            }
            // A `who` unanswered needs no answer now.
            _ => continue,
        };
        let found = match cid_of(&pending.event) {
            Some(cid) if keeps_cids => taken.contains(cid),
            _ => same_text.any(|e| &e.text == text && e.action == action),
        };
        if found {
            merged.confirmed.push(pending.seq);
        } else {
            merged.resend.push(pending);
        }
    }
    merged.fresh = fresh.into_iter().cloned().collect();
    merged
}

/// The client id of a say, action or DM.
pub(super) fn cid_of(event: &ClientEvent) -> Option<&str> {
    match event {
        ClientEvent::Say { cid, .. }
        | ClientEvent::Action { cid, .. }
        | ClientEvent::Dm { cid, .. } => cid.as_deref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, ts: u64, from: &str, text: &str, cid: Option<&str>) -> HistoryEntry {
        HistoryEntry {
            room: None,
            id,
            from: from.into(),
            text: text.into(),
            ts,
            action: false,
            cid: cid.map(Into::into),
        }
    }

    fn say(seq: u64, text: &str, cid: Option<&str>) -> Pending {
        Pending {
            seq,
            event: ClientEvent::Say {
                room: None,
                text: text.into(),
                cid: cid.map(Into::into),
            },
        }
    }

    #[test]
    fn a_rejoin_shows_only_what_was_not_seen() {
        let seen: HashSet<_> = [(1, 100), (2, 200)].into();
        let history = vec![
            entry(1, 100, "bob", "seen", None),
            entry(2, 200, "bob", "seen too", None),
            entry(3, 300, "bob", "missed", None),
        ];
        let merged = merge(history, &seen, "ace", VecDeque::new());
        let texts: Vec<_> = merged.fresh.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["missed"]);
        assert!(!merged.gap);
    }

    #[test]
    fn a_restarted_server_reuses_ids_and_a_gap_is_said() {
        let seen: HashSet<_> = [(1, 100), (2, 200)].into();
        // Ids from 1 again, later timestamps: all new, and nothing overlaps.
        let history = vec![entry(1, 900, "bob", "after the restart", None)];
        let merged = merge(history, &seen, "ace", VecDeque::new());
        assert_eq!(merged.fresh.len(), 1);
        assert!(merged.gap);
    }

    #[test]
    fn unanswered_lines_are_settled_by_client_id() {
        let history = vec![
            entry(5, 500, "ace", "two", Some("p-2")),
            entry(6, 600, "bob", "hi", Some("q-1")),
        ];
        let dm = Pending {
            seq: 4,
            event: ClientEvent::Dm {
                to: "bob".into(),
                text: "psst".into(),
                cid: Some("p-4".into()),
            },
        };
        let who = Pending {
            seq: 5,
            event: ClientEvent::Who {
                room: None,
                after: None,
            },
        };
        let add = Pending {
            seq: 6,
            event: ClientEvent::IdentityAdd {
                key: chat_protocol::Identity::from_seed(&[6; 32]).public(),
            },
        };
        let kick = Pending {
            seq: 7,
            event: ClientEvent::Kick {
                name: "bob".into(),
                reason: None,
            },
        };
        let bans = Pending {
            seq: 8,
            event: ClientEvent::Bans,
        };
        let inflight = [
            say(1, "one", Some("p-1")),
            say(2, "two", Some("p-2")),
            say(3, "two", Some("p-3")),
            dm.clone(),
            who,
            add,
            kick.clone(),
            bans,
        ]
        .into();
        let merged = merge(history, &HashSet::new(), "ACE", inflight);
        assert_eq!(merged.confirmed, [2]);
        let resend: Vec<_> = merged.resend.iter().map(|p| p.seq).collect();
        assert_eq!(
            resend,
            [1, 3, 6, 8],
            "the same text under another id is not taken; a key added and a list asked for go again"
        );
        assert_eq!(
            merged.unknown,
            [dm, kick],
            "a kick twice is not a kick once"
        );
    }

    #[test]
    fn without_client_ids_the_text_decides_in_order() {
        let seen: HashSet<_> = [(1, 100)].into();
        let history = vec![
            entry(1, 100, "ace", "again", None),
            entry(2, 200, "ace", "again", None),
        ];
        let inflight = [say(1, "again", None), say(2, "again", None)].into();
        let merged = merge(history, &seen, "ace", inflight);
        // One "again" is new: one line was taken, the other goes again.
        assert_eq!(merged.confirmed, [1]);
        assert_eq!(merged.resend.len(), 1);
    }
}
