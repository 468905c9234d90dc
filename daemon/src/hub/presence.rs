//! Presence coalescing: in a large room, joins and leaves are counted and
//! told in one `presence` event per interval instead of one event each.
//!
//! One `join` event to every other member per join makes a room of N cost
//! N²/2 events to fill (1000 joins: 499 500). So while more than
//! `presence_summary_above` users are online, the room ([`crate::hub`])
//! counts each join and leave in its [`Tally`] instead of sending it; the
//! first change counted wakes [`run`], which waits `presence_interval` and
//! has the room send everyone online then one
//! `{"type":"presence","joined":…,"left":…,"online":…}`. At or below the
//! threshold each join and leave is told as it happens, as always, and a
//! kick is always told on its own (people must see it): before such an
//! event goes out, the summary of what was counted so far goes first, so
//! every member sees the counts and the single events in the order they
//! happened, and each summary covers exactly the changes since the last
//! event about presence.
//!
//! Everything is sent under the room's lock, like every other event, so
//! every member sees one order. A member who joined during an interval
//! gets the summary too: its `online` is exact; its counts may include
//! that member's own join. `who` and the `Welcome`'s list of users read
//! the room itself, so they are always exact.

use chat_protocol::clock::now_ms;
use chat_protocol::{RoomName, ServerEvent};
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// Joins and leaves counted since the last event about presence.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Joins counted.
    pub joined: usize,
    /// Leaves counted.
    pub left: usize,
}

impl Tally {
    /// Whether nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.joined == 0 && self.left == 0
    }

    /// The summary of what was counted, with `online` now, and the tally
    /// emptied; `None` when nothing was counted.
    pub fn take(&mut self, online: usize, room: Option<RoomName>) -> Option<ServerEvent> {
        if self.is_empty() {
            return None;
        }
        let Tally { joined, left } = std::mem::take(self);
        Some(ServerEvent::Presence {
            room,
            joined,
            left,
            online,
            ts: now_ms(),
        })
    }
}

/// Whether a join or leave that leaves `online` users in the room is
/// counted for the summary rather than told on its own (`above` is
/// `presence_summary_above`).
pub fn summarised(online: usize, above: usize) -> bool {
    online > above
}

/// Sends the summaries of `hub` until `shutdown`: wakes when the first
/// change is counted, waits `presence_interval` (as configured then: a
/// reload applies to the next interval), and has the room send what was
/// counted meanwhile. Idle while nothing is counted.
pub async fn run(hub: &Hub, shutdown: &CancellationToken) {
    loop {
        tokio::select! {
            () = hub.presence_counted() => {}
            () = shutdown.cancelled() => return,
        }
        let every = hub.config().presence_interval.0;
        tokio::select! {
            () = tokio::time::sleep(every) => hub.send_presence(),
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::ending::Ending;
    use crate::hub::Joined;
    use crate::hub::tests::join;

    fn hub(above: usize) -> Hub {
        crate::hub::tests::hub_of(Config {
            presence_summary_above: above,
            ..Config::default()
        })
    }

    /// The events about presence queued for a member so far, in short:
    /// `+name/online`, `-name/online`, `joined,left/online`.
    fn seen(joined: &mut Joined) -> Vec<String> {
        std::iter::from_fn(|| joined.rx.try_recv())
            .filter_map(|bytes| match serde_json::from_slice(&bytes).unwrap() {
                ServerEvent::Join { name, online, .. } => Some(format!("+{name}/{online}")),
                ServerEvent::Leave { name, online, .. } => Some(format!("-{name}/{online}")),
                ServerEvent::Presence {
                    joined,
                    left,
                    online,
                    ..
                } => Some(format!("{joined},{left}/{online}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn above_the_threshold_joins_and_leaves_are_one_summary() {
        let hub = hub(2);
        let mut a = join(&hub, "a");
        let mut b = join(&hub, "b");
        assert_eq!(seen(&mut a), ["+b/2"]);
        let c = join(&hub, "c");
        let mut d = join(&hub, "d");
        hub.leave(&c.member, "left");
        let _e = join(&hub, "e");
        assert_eq!(seen(&mut a), Vec::<String>::new(), "nothing one by one");
        hub.send_presence();
        assert_eq!(seen(&mut a), ["3,1/4"]);
        assert_eq!(seen(&mut b), ["3,1/4"]);
        // Who joined meanwhile gets it too: its online count is exact.
        assert_eq!(seen(&mut d), ["3,1/4"]);
        hub.send_presence();
        assert!(seen(&mut a).is_empty(), "nothing counted, nothing sent");
        assert_eq!(hub.names(), ["a", "b", "d", "e"]);
    }

    #[test]
    fn what_was_counted_goes_before_a_single_event() {
        let hub = hub(2);
        let mut a = join(&hub, "a");
        let b = join(&hub, "b");
        let c = join(&hub, "c");
        seen(&mut a);
        // c's join was counted; b's leave leaves 2 online: told on its own,
        // after the summary of c's join.
        hub.leave(&b.member, "left");
        assert_eq!(seen(&mut a), ["1,0/3", "-b/2"]);
        // A kick is told on its own even above the threshold.
        let _d = join(&hub, "d");
        let _e = join(&hub, "e");
        c.member.control.end(Ending::kicked("spam"));
        hub.leave(&c.member, &c.member.control.ending().leave_reason);
        assert_eq!(seen(&mut a), ["2,0/4", "-c/3"]);
        hub.send_presence();
        assert!(seen(&mut a).is_empty());
    }

    #[test]
    fn zero_always_summarises_and_a_reload_changes_the_threshold() {
        let hub = hub(0);
        let mut a = join(&hub, "a");
        let _b = join(&hub, "b");
        hub.send_presence();
        assert_eq!(seen(&mut a), ["2,0/2"]);
        crate::hub::tests::reconfigure(
            &hub,
            Config {
                presence_summary_above: 1000,
                ..Config::default()
            },
        );
        let _c = join(&hub, "c");
        assert_eq!(seen(&mut a), ["+c/3"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_sends_one_summary_an_interval_after_the_first_change() {
        let hub = Arc::new(hub(0));
        let shutdown = CancellationToken::new();
        let timer = tokio::spawn({
            let (hub, shutdown) = (hub.clone(), shutdown.clone());
            async move { run(&hub, &shutdown).await }
        });
        let mut a = join(&hub, "a");
        let _b = join(&hub, "b");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(seen(&mut a).is_empty(), "not before the interval");
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(seen(&mut a), ["2,0/2"]);
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        assert!(seen(&mut a).is_empty(), "nothing counted, nothing sent");
        shutdown.cancel();
        timer.await.unwrap();
    }

    #[tokio::test]
    async fn each_room_counts_its_own_and_its_summary_carries_the_room() {
        let hub = hub(1);
        let mut a = join(&hub, "a");
        let b = join(&hub, "b");
        hub.send_presence();
        assert_eq!(seen(&mut a), ["1,0/2"], "the default room's, no room");
        let ops = chat_protocol::RoomName::parse("#ops").unwrap();
        hub.join_room(&a.member, &ops, None).await.unwrap();
        hub.join_room(&b.member, &ops, None).await.unwrap();
        hub.send_presence();
        let summaries: Vec<ServerEvent> = std::iter::from_fn(|| a.rx.try_recv())
            .map(|bytes| serde_json::from_slice(&bytes).unwrap())
            .filter(|e| matches!(e, ServerEvent::Presence { .. }))
            .collect();
        match summaries.as_slice() {
            [
                ServerEvent::Presence {
                    room: Some(room),
                    joined: 1,
                    left: 0,
                    online: 2,
                    ..
                },
            ] if *room == ops => {}
            other => panic!("one summary of #ops: {other:?}"),
        }
    }

    #[test]
    fn an_empty_tally_says_nothing_and_a_taken_one_is_empty_after() {
        let mut tally = Tally::default();
        assert_eq!(tally.take(5, None), None);
        tally.joined = 3;
        tally.left = 1;
        match tally.take(7, None) {
            Some(ServerEvent::Presence {
                joined: 3,
                left: 1,
                online: 7,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        assert!(tally.is_empty());
    }

    #[test]
    fn the_threshold_is_exclusive() {
        assert!(!summarised(100, 100));
        assert!(summarised(101, 100));
        assert!(summarised(1, 0));
        assert!(!summarised(0, 0));
        assert!(!summarised(usize::MAX - 1, usize::MAX));
    }
}
