//! One list of a room's roster as JSON (`["Ace","bob",…]`), with where
//! each entry starts, so that any run of entries is one slice of bytes: a
//! `Welcome`, a `room_joined` or a `users` answer copies the run it holds
//! ([`super::lists`]), the whole list or a page of it.

use std::ops::Range;
use std::sync::Arc;

/// A JSON array and where its entries start: shared (an [`Arc`]) by the
/// roster and the answers not encoded yet.
#[derive(Debug)]
pub struct Listed {
    /// The JSON array, brackets included.
    json: Vec<u8>,
    /// Where each entry starts in `json`.
    starts: Vec<usize>,
}

impl Default for Listed {
    fn default() -> Self {
        Self {
            json: b"[]".to_vec(),
            starts: Vec::new(),
        }
    }
}

impl Listed {
    /// The list of these entries (each one JSON value), in order.
    #[cfg(test)]
    pub fn of(entries: &[&[u8]]) -> Arc<Self> {
        let mut listing = Listing::default();
        for (at, entry) in entries.iter().enumerate() {
            listing.insert(at, entry.to_vec());
        }
        listing.shared
    }

    /// The whole JSON array.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// How many entries it holds.
    pub fn count(&self) -> usize {
        self.starts.len()
    }

    /// The entries of `range`, as they stand in the array: separated by
    /// commas, without brackets (empty for an empty range).
    pub fn entries(&self, range: Range<usize>) -> &[u8] {
        if range.is_empty() {
            return &[];
        }
        &self.json[self.starts[range.start]..self.end(range.end - 1)]
    }

    /// Where the `at`-th entry ends (exclusive).
    fn end(&self, at: usize) -> usize {
        match self.starts.get(at + 1) {
            Some(next) => next - 1,
            None => self.json.len() - 1,
        }
    }
}

/// The roster's own list: changed in place while no answer holds it, or
/// copied once, with the change, while one does.
#[derive(Debug, Default)]
pub struct Listing {
    /// The list as it stands.
    shared: Arc<Listed>,
}

impl Listing {
    /// The list as it stands: shared, not copied.
    pub fn shared(&self) -> Arc<Listed> {
        self.shared.clone()
    }

    /// Replaces the `at`-th entry with `entry`.
    pub fn replace(&mut self, at: usize, entry: &[u8]) {
        let (start, end) = (self.shared.starts[at], self.shared.end(at));
        self.splice(start..end, entry, at + 1);
    }

    /// Puts `entry` in the `at`-th place.
    pub fn insert(&mut self, at: usize, mut entry: Vec<u8>) {
        let listed = &self.shared;
        let count = listed.count();
        // Before the entry now at `at` (`x,`), or after the last one
        // (`,x`), or alone.
        let start = if at < count {
            entry.push(b',');
            listed.starts[at]
        } else if at > 0 {
            entry.insert(0, b',');
            listed.end(at - 1)
        } else {
            1
        };
        let first = start + usize::from(at == count && at > 0);
        self.splice(start..start, &entry, at)
            .starts
            .insert(at, first);
    }

    /// Takes the `at`-th entry out.
    pub fn remove(&mut self, at: usize) {
        let listed = &self.shared;
        // The entry and the comma after it; the last one, the comma before.
        let range = if at + 1 < listed.count() {
            listed.starts[at]..listed.starts[at + 1]
        } else if at > 0 {
            listed.end(at - 1)..listed.end(at)
        } else {
            listed.starts[at]..listed.end(at)
        };
        self.splice(range, &[], at + 1).starts.remove(at);
    }

    /// Replaces `range` of the JSON with `with`, and moves the starts of
    /// the entries from the `moved`-th on by the difference; the list,
    /// for the caller to change its starts.
    fn splice(&mut self, range: Range<usize>, with: &[u8], moved: usize) -> &mut Listed {
        if Arc::get_mut(&mut self.shared).is_none() {
            // Held by an answer not encoded yet: a new buffer, one copy.
            let old = &self.shared;
            let mut json = Vec::with_capacity(old.json.len() - range.len() + with.len());
            json.extend_from_slice(&old.json[..range.start]);
            json.extend_from_slice(with);
            json.extend_from_slice(&old.json[range.end..]);
            self.shared = Arc::new(Listed {
                json,
                starts: old.starts.clone(),
            });
        } else if let Some(listed) = Arc::get_mut(&mut self.shared) {
            listed.json.splice(range.clone(), with.iter().copied());
        }
        let listed = Arc::get_mut(&mut self.shared).expect("not shared: made or checked above");
        let grown = with.len().wrapping_sub(range.len());
        for start in &mut listed.starts[moved..] {
            *start = start.wrapping_add(grown);
        }
        listed
    }
}
