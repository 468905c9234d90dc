//! The newest entries of the log, in memory, within the log's bounds:
//! what Welcomes are made of, and the embedded backend's own copy.

use std::collections::VecDeque;

use super::{Bounds, Entry};

/// The answer to "the entries after id X, at most N".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct After {
    /// The entries, oldest first.
    pub entries: Vec<Entry>,
    /// Some entries after the id asked for are not in `entries`: older
    /// than the log keeps, past the limit, or the id is unknown to this
    /// log (ahead of its last id). Ids the log never gave (the jump after
    /// a crash) or gave to entries no one received (skipped when read)
    /// are not missed.
    pub gap: bool,
}

/// The newest entries, in id order, bounded by [`Bounds`].
#[derive(Debug)]
pub struct Tail {
    entries: VecDeque<Entry>,
    bounds: Bounds,
    /// The id of the last entry ever pushed, kept or not.
    last_id: u64,
    /// Every entry pushed after this id is still kept: the newest id
    /// dropped (or, seeded, the id before the oldest entry kept). A resume
    /// after it, or later, misses nothing.
    kept_after: u64,
    /// The sizes of the entries kept, added up ([`size`]).
    bytes: usize,
}

/// What an entry counts for against [`Bounds::max_bytes`]: its texts and a
/// fixed share for the rest (the id, the time, the JSON around them).
pub fn size(entry: &Entry) -> usize {
    entry.text.len() + entry.from.len() + entry.cid.as_ref().map_or(0, String::len) + 64
}

impl Tail {
    /// An empty tail after `last_id` (the id the log counts on from).
    pub fn new(bounds: Bounds, last_id: u64) -> Self {
        Self {
            entries: VecDeque::new(),
            bounds,
            last_id,
            kept_after: last_id,
            bytes: 0,
        }
    }

    /// A tail holding `entries` (in id order) of a log whose last id is
    /// `last_id`, trimmed at `now_ms`. What came before the oldest of
    /// them counts as gone (see [`Tail::kept_after`]).
    pub fn seeded(
        bounds: Bounds,
        entries: impl IntoIterator<Item = Entry>,
        last_id: u64,
        now_ms: u64,
    ) -> Self {
        let mut tail = Self::new(bounds, 0);
        for entry in entries {
            if entry.id > tail.last_id && entry.id <= last_id {
                tail.last_id = entry.id;
                tail.bytes += size(&entry);
                tail.entries.push_back(entry);
            }
        }
        tail.kept_after = tail.entries.front().map_or(last_id, |e| e.id - 1);
        tail.last_id = last_id;
        tail.trim(now_ms);
        tail
    }

    /// Ids jump `by` past the last one (a start after a crash, which may
    /// have lost the newest entries): the ids skipped are never given,
    /// and a resume after any of them misses nothing that is kept.
    pub fn jump(&mut self, by: u64) {
        self.last_id = self.last_id.saturating_add(by);
    }

    /// Every entry pushed after this id is still kept: a resume after it,
    /// or later, misses nothing.
    pub fn kept_after(&self) -> u64 {
        self.kept_after
    }

    /// Lowers [`Tail::kept_after`] to `id` (a log that knows better than
    /// its seed: the entries before the seed's oldest were never given).
    pub fn keep_after(&mut self, id: u64) {
        self.kept_after = self.kept_after.min(id);
    }

    /// Drops every entry kept: everything up to `id` is missed (entries
    /// after it that were never pushed are about to be, newest last).
    pub fn restart_after(&mut self, id: u64) {
        self.entries.clear();
        self.bytes = 0;
        self.kept_after = self.kept_after.max(id);
        self.last_id = self.last_id.max(id);
    }

    /// The id of the last entry ever pushed (0: none yet).
    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is kept.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The sizes of the entries kept, added up ([`size`]).
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The entries kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// The bounds in force.
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// Adds the newest entry (ids must increase) and drops what falls out
    /// of the bounds at `now_ms`.
    pub fn push(&mut self, entry: Entry, now_ms: u64) {
        debug_assert!(entry.id > self.last_id, "ids increase");
        self.last_id = self.last_id.max(entry.id);
        if self.bounds.count > 0 {
            self.bytes += size(&entry);
            self.entries.push_back(entry);
        } else {
            self.kept_after = entry.id;
        }
        self.trim(now_ms);
    }

    /// New bounds; what falls out of them at `now_ms` is dropped.
    pub fn set_bounds(&mut self, bounds: Bounds, now_ms: u64) {
        self.bounds = bounds;
        self.trim(now_ms);
    }

    /// Drops entries past the count and older than the age bound.
    pub fn trim(&mut self, now_ms: u64) {
        let excess = self.entries.len().saturating_sub(self.bounds.count);
        let old = self.bounds.oldest_ts(now_ms).map_or(0, |oldest| {
            self.entries
                .iter()
                .skip(excess)
                .take_while(|e| e.ts < oldest)
                .count()
        });
        let mut newest = None;
        for dropped in self.entries.drain(..excess + old) {
            self.bytes -= size(&dropped);
            newest = Some(dropped.id);
        }
        // Past the bytes bound, the oldest go first.
        while self.bytes > self.bounds.max_bytes {
            let Some(dropped) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= size(&dropped);
            newest = Some(dropped.id);
        }
        if let Some(id) = newest {
            self.kept_after = self.kept_after.max(id);
        }
    }

    /// The newest `limit` entries, oldest first.
    pub fn recent(&self, limit: usize) -> Vec<Entry> {
        let skip = self.entries.len().saturating_sub(limit);
        self.entries.iter().skip(skip).cloned().collect()
    }

    /// The entries after `id`, at most `limit` (the newest), oldest first;
    /// see [`After::gap`].
    pub fn after(&self, id: u64, limit: usize) -> After {
        if id > self.last_id {
            // Not an id of this log (a log that started again): all it has.
            return After {
                entries: self.recent(limit),
                gap: true,
            };
        }
        let newer = self.entries.len() - self.entries.partition_point(|e| e.id <= id);
        let skip = newer.saturating_sub(limit);
        After {
            gap: id < self.kept_after || skip > 0,
            entries: self
                .entries
                .iter()
                .skip(self.entries.len() - newer + skip)
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use chat_protocol::HistoryEntry;

    use super::*;

    fn entry(id: u64, ts: u64) -> Entry {
        Arc::new(HistoryEntry {
            room: None,
            id,
            from: "ace".into(),
            text: format!("m{id}"),
            ts,
            action: false,
            cid: None,
        })
    }

    fn ids(entries: &[Entry]) -> Vec<u64> {
        entries.iter().map(|e| e.id).collect()
    }

    fn tail(count: usize, max_age: Option<Duration>) -> Tail {
        Tail::new(
            Bounds {
                count,
                max_age,
                max_bytes: usize::MAX,
            },
            0,
        )
    }

    #[test]
    fn past_the_bytes_bound_the_oldest_go() {
        let mut t = Tail::new(
            Bounds {
                count: 100,
                max_age: None,
                max_bytes: 3 * size(&entry(1, 1)),
            },
            0,
        );
        for id in 1..=5 {
            t.push(entry(id, id), 10);
        }
        let ids: Vec<u64> = t.iter().map(|e| e.id).collect();
        assert_eq!(ids, [3, 4, 5]);
        assert_eq!(t.bytes(), 3 * size(&entry(1, 1)));
        // A resume after 2 misses nothing; after 1, it does.
        assert!(!t.after(2, 10).gap && t.after(1, 10).gap);
    }

    #[test]
    fn keeps_the_newest_by_count_and_by_age() {
        let mut t = tail(3, Some(Duration::from_secs(10)));
        for id in 1..=5 {
            t.push(entry(id, 1_000 * id), 1_000 * id);
        }
        assert_eq!(ids(&t.recent(10)), [3, 4, 5]);
        // At 14.5 s, only the entry of 5 s is at most 10 s old.
        t.trim(14_500);
        assert_eq!(ids(&t.recent(10)), [5]);
        t.trim(15_001);
        assert!(t.is_empty());
        assert_eq!(t.last_id(), 5);
    }

    #[test]
    fn after_gives_exactly_the_missed_entries_or_says_there_is_a_gap() {
        let mut t = tail(4, None);
        for id in 1..=6 {
            t.push(entry(id, id), id);
        }
        // Kept: 3..=6.
        let a = t.after(4, 10);
        assert_eq!((ids(&a.entries), a.gap), (vec![5, 6], false));
        let a = t.after(2, 10);
        assert_eq!((ids(&a.entries), a.gap), (vec![3, 4, 5, 6], false));
        let a = t.after(1, 10);
        assert_eq!((ids(&a.entries), a.gap), (vec![3, 4, 5, 6], true));
        let a = t.after(2, 2);
        assert_eq!((ids(&a.entries), a.gap), (vec![5, 6], true));
        let a = t.after(6, 10);
        assert_eq!((ids(&a.entries), a.gap), (vec![], false));
        let a = t.after(99, 2);
        assert_eq!((ids(&a.entries), a.gap), (vec![5, 6], true));
    }

    #[test]
    fn ids_never_given_or_never_received_are_not_missed() {
        // A start after a crash: 1..=4 on disk, ids go on past a jump.
        let mut t = Tail::seeded(
            Bounds {
                count: 10,
                max_age: None,
                max_bytes: usize::MAX,
            },
            (1..=4).map(|id| entry(id, id)),
            4,
            4,
        );
        t.jump(1000);
        assert_eq!(t.last_id(), 1004);
        // A client that saw 4, or one lost in the crash, missed nothing.
        for seen in [4, 5, 1004] {
            let a = t.after(seen, 10);
            assert_eq!((ids(&a.entries), a.gap), (vec![], false), "after {seen}");
        }
        let a = t.after(2, 10);
        assert_eq!((ids(&a.entries), a.gap), (vec![3, 4], false));
        t.push(entry(1005, 5), 5);
        let a = t.after(4, 10);
        assert_eq!((ids(&a.entries), a.gap), (vec![1005], false));
        // An entry of the log skipped when read (1006) is not missed.
        t.push(entry(1007, 6), 6);
        let a = t.after(1005, 10);
        assert_eq!((ids(&a.entries), a.gap), (vec![1007], false));
        // Entries dropped by the bounds are.
        let one = Bounds {
            count: 1,
            max_age: None,
            max_bytes: usize::MAX,
        };
        t.set_bounds(one, 7);
        assert!(t.after(4, 10).gap && !t.after(1005, 10).gap);
        // Seeded with nothing kept: everything up to the last id is gone;
        // a jump after it changes nothing; a log that knows better says so.
        let mut empty = Tail::seeded(one, [], 9, 9);
        assert!(empty.after(8, 10).gap && !empty.after(9, 10).gap);
        empty.jump(1000);
        assert!(empty.after(8, 10).gap && !empty.after(9, 10).gap);
        empty.keep_after(7);
        assert!(!empty.after(8, 10).gap && empty.after(6, 10).gap);
    }

    #[test]
    fn a_count_of_zero_keeps_nothing_but_counts_on() {
        let mut t = tail(0, None);
        t.push(entry(1, 1), 1);
        assert!(t.is_empty());
        assert_eq!(t.last_id(), 1);
        assert!(t.after(0, 10).gap);
        assert!(!t.after(1, 10).gap);
    }
}
