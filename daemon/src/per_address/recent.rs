//! A table of per-address records bounded in entries, at a constant cost
//! per call: past its bound it forgets the least recently used record
//! first, so that a flood of new addresses costs bounded memory and never
//! a scan of the table under its lock. Used by the per-address connection
//! limits (`limits.rs`) and the password-guess throttle (`guesses.rs`).

use std::hash::Hash;

use lru::LruCache;

/// Records looked at, at most, to find one to forget when the table is
/// full; records that must be kept are moved to the front instead.
const EVICTION_TRIES: usize = 8;

/// A map of at most `cap` records (more only while the caller keeps
/// records it may not forget), least recently used forgotten first.
pub struct Recent<K: Hash + Eq, V> {
    map: LruCache<K, V>,
    cap: usize,
    /// Records touched so far (looked up, made, forgotten or moved): the
    /// work the table did, which tests bound per call.
    work: u64,
}

impl<K: Hash + Eq + Clone, V> Recent<K, V> {
    /// An empty table of at most `cap` records.
    pub fn new(cap: usize) -> Self {
        Self {
            map: LruCache::unbounded(),
            cap: cap.max(1),
            work: 0,
        }
    }

    /// The record for `key`, made by `new` when absent, and now the most
    /// recently used. Making one in a full table first forgets the least
    /// recently used record that `keep` does not hold on to; after
    /// [`EVICTION_TRIES`] records kept, the table grows past its bound
    /// instead (the caller bounds what it keeps).
    pub fn entry(&mut self, key: &K, new: impl FnOnce() -> V, keep: impl Fn(&V) -> bool) -> &mut V {
        self.work += 1;
        if !self.map.contains(key) {
            self.make_room(keep);
            self.map.put(key.clone(), new());
        }
        self.map.get_mut(key).expect("present")
    }

    /// The record for `key`, if any, left where it is in the order.
    pub fn peek_mut(&mut self, key: &K) -> Option<&mut V> {
        self.work += 1;
        self.map.peek_mut(key)
    }

    /// Every record (for counts; this one call scans the table).
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.iter().map(|(_, v)| v)
    }

    /// Records held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Records touched since the table was made.
    #[cfg(test)]
    pub fn work(&self) -> u64 {
        self.work
    }

    fn make_room(&mut self, keep: impl Fn(&V) -> bool) {
        for _ in 0..EVICTION_TRIES {
            if self.map.len() < self.cap {
                return;
            }
            let Some((key, value)) = self.map.pop_lru() else {
                return;
            };
            self.work += 1;
            if keep(&value) {
                self.map.put(key, value);
            } else {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recent_is_forgotten_and_kept_ones_move_to_the_front() {
        let mut t: Recent<u32, bool> = Recent::new(3);
        for k in 0..3 {
            t.entry(&k, || k == 0, |kept| *kept);
        }
        // 0 is kept (it holds something), so 1 goes.
        t.entry(&3, || false, |kept| *kept);
        assert_eq!(t.len(), 3);
        assert!(t.peek_mut(&0).is_some());
        assert!(t.peek_mut(&1).is_none());
        // Using 2 makes it recent: 0 (moved to the front before 2 was
        // used) is kept again and 3 goes.
        t.entry(&2, || false, |kept| *kept);
        t.entry(&4, || false, |kept| *kept);
        assert!(t.peek_mut(&3).is_none());
        assert!(t.peek_mut(&2).is_some());
    }

    #[test]
    fn a_table_of_kept_records_grows_only_past_a_few_tries() {
        let mut t: Recent<u32, ()> = Recent::new(4);
        for k in 0..100 {
            let before = t.work();
            t.entry(&k, || (), |()| true);
            assert!(t.work() - before <= 1 + EVICTION_TRIES as u64);
        }
        assert_eq!(t.len(), 100, "what the caller keeps is its to bound");
    }
}
