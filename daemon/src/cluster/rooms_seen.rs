//! What a node knows of the rooms' bucket ([`super::rooms::SharedRooms`]):
//! what the bucket holds, the revision of each room's last change the node
//! wrote or saw, and its own removals on their way back through the watch.
//!
//! A removal is shared only if the bucket still holds the revision the
//! node last knew of the room (a compare-and-set): a room another node
//! changed or made anew meanwhile is not removed on the strength of an
//! older view. Its own removal coming back through the watch is known as
//! its own, so a room a user here made anew in that moment is not
//! removed again.

use std::collections::{BTreeMap, HashMap};

use chat_protocol::RoomName;

use crate::store::rooms::RoomMeta;

/// See the module's documentation.
#[derive(Default)]
pub(super) struct Seen {
    /// Each room's settings as the bucket holds them, as far as this node
    /// knows: only what differs is written.
    published: BTreeMap<RoomName, RoomMeta>,
    /// The revision of each room's last change this node wrote or saw: an
    /// older one seen by the watch (this node's own write coming back
    /// after a newer one) is not put in force.
    revisions: HashMap<RoomName, u64>,
    /// This node's removals not yet seen back, each with the revision it
    /// replaced.
    removing: HashMap<RoomName, u64>,
}

impl Seen {
    /// What the bucket held when the node read it all.
    pub(super) fn new(
        published: BTreeMap<RoomName, RoomMeta>,
        revisions: HashMap<RoomName, u64>,
    ) -> Self {
        Self {
            published,
            revisions,
            removing: HashMap::new(),
        }
    }

    /// The rooms of `metas` (every room's settings on this node) whose
    /// settings differ from the bucket's, and the rooms the bucket holds
    /// that are no longer among them.
    pub(super) fn differences(
        &self,
        metas: &BTreeMap<RoomName, RoomMeta>,
    ) -> (Vec<(RoomName, RoomMeta)>, Vec<RoomName>) {
        let changed = metas
            .iter()
            .filter(|(room, meta)| self.published.get(*room) != Some(*meta))
            .map(|(room, meta)| (room.clone(), meta.clone()))
            .collect();
        let gone = self
            .published
            .keys()
            .filter(|room| !metas.contains_key(*room))
            .cloned()
            .collect();
        (changed, gone)
    }

    /// This node wrote `meta` for `room`, at `revision`.
    pub(super) fn wrote(&mut self, room: RoomName, revision: u64, meta: RoomMeta) {
        self.revisions.insert(room.clone(), revision);
        self.published.insert(room, meta);
    }

    /// This node is about to remove `room`: the revision its removal must
    /// replace (`None`: none known, removed whatever the bucket holds).
    pub(super) fn removing(&mut self, room: &RoomName) -> Option<u64> {
        let known = self.revisions.get(room).copied();
        if let Some(replaced) = known {
            self.removing.insert(room.clone(), replaced);
        }
        known
    }

    /// The removal of `room` is shared (or not, `done` false: it failed,
    /// or the bucket held a newer change, which the watch brings).
    pub(super) fn removed(&mut self, room: &RoomName, done: bool) {
        if done {
            self.published.remove(room);
        } else {
            self.removing.remove(room);
        }
    }

    /// Whether a removal of `room` at `revision`, seen by the watch, is
    /// this node's own coming back: then it is noted, and nothing more is
    /// to be done (the room was removed here before the removal was
    /// shared, and may have been made anew since).
    pub(super) fn own_removal(&mut self, room: &RoomName, revision: u64) -> bool {
        if self.removing.remove(room).is_none() {
            return false;
        }
        let seen = self.revisions.entry(room.clone()).or_default();
        *seen = (*seen).max(revision);
        true
    }

    /// A change of `room` at `revision` (not a removal) seen by the watch:
    /// if it is after the revision this node's removal replaced, that
    /// removal was itself replaced in the bucket before the watch saw it
    /// (the watch goes in revision order), and will not come back.
    pub(super) fn passed(&mut self, room: &RoomName, revision: u64) {
        if self
            .removing
            .get(room)
            .is_some_and(|&replaced| revision > replaced)
        {
            self.removing.remove(room);
        }
    }

    /// Whether a change of `room` at `revision` seen by the watch (`meta`,
    /// or `None` for a removal) is newer than what this node wrote or saw
    /// of it: then it is noted as what the bucket holds.
    pub(super) fn newer(
        &mut self,
        room: &RoomName,
        revision: u64,
        meta: Option<&RoomMeta>,
    ) -> bool {
        if self
            .revisions
            .get(room)
            .is_some_and(|&seen| seen >= revision)
        {
            return false;
        }
        self.revisions.insert(room.clone(), revision);
        match meta {
            Some(meta) => self.published.insert(room.clone(), meta.clone()),
            None => self.published.remove(room),
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> RoomName {
        RoomName::parse("#ops").unwrap()
    }

    fn meta(topic: &str) -> RoomMeta {
        RoomMeta {
            topic: Some(topic.into()),
            ..RoomMeta::default()
        }
    }

    /// This node wrote `#ops` at 5.
    fn written() -> Seen {
        let mut seen = Seen::default();
        seen.wrote(room(), 5, meta("a"));
        seen
    }

    #[test]
    fn a_removal_replaces_the_revision_last_known() {
        let mut seen = written();
        assert_eq!(seen.removing(&room()), Some(5));
        assert_eq!(Seen::default().removing(&room()), None, "none known");
    }

    #[test]
    fn its_own_removal_coming_back_is_not_put_in_force_again() {
        let mut seen = written();
        seen.removing(&room());
        seen.removed(&room(), true);
        assert!(seen.differences(&BTreeMap::new()).1.is_empty(), "gone");
        // A user here made the room anew before the removal came back; its
        // write is not back yet either.
        assert!(seen.own_removal(&room(), 9), "this node's own");
        seen.wrote(room(), 10, meta("b"));
        assert!(!seen.newer(&room(), 10, Some(&meta("b"))), "its own write");
        // Another node's removal after it is put in force.
        assert!(!seen.own_removal(&room(), 12));
        assert!(seen.newer(&room(), 12, None));
    }

    #[test]
    fn a_removal_the_bucket_refused_is_not_taken_for_its_own() {
        let mut seen = written();
        seen.removing(&room());
        seen.removed(&room(), false);
        assert!(!seen.own_removal(&room(), 9));
        assert!(seen.newer(&room(), 9, None), "another node's removal");
    }

    #[test]
    fn a_removal_replaced_before_the_watch_saw_it_is_forgotten() {
        let mut seen = written();
        seen.removing(&room());
        seen.removed(&room(), true);
        // Older than what the removal replaced: still on its way.
        seen.passed(&room(), 4);
        // A later write of the key replaced the removal in the bucket.
        seen.passed(&room(), 11);
        assert!(seen.newer(&room(), 11, Some(&meta("c"))));
        // So a later removal by another node is not taken for its own.
        assert!(!seen.own_removal(&room(), 14));
        assert!(seen.newer(&room(), 14, None));
    }

    #[test]
    fn only_what_differs_is_written_and_what_is_gone_removed() {
        let seen = written();
        let mut metas = BTreeMap::new();
        metas.insert(room(), meta("a"));
        assert_eq!(seen.differences(&metas), (Vec::new(), Vec::new()));
        metas.insert(room(), meta("b"));
        let (changed, gone) = seen.differences(&metas);
        assert_eq!((changed.len(), gone.len()), (1, 0));
        let (changed, gone) = seen.differences(&BTreeMap::new());
        assert_eq!((changed.len(), gone), (0, vec![room()]));
    }
}
