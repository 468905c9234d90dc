//! A join's `Welcome`: gathered under the room lock as pointers
//! ([`Unsent`]), then fitted into one server message and serialized once,
//! off the runtime's workers ([`Unsent::encode`], which the session runs
//! on the blocking pool).
//!
//! The fit takes the newest entries whose sizes, added up from the newest
//! back, still fit beside the rest of the `Welcome`: one pass over what is
//! kept, whatever the length of the history. (It used to serialize the
//! whole `Welcome` again after each eighth of the history it dropped: a
//! history of 10 000 messages of 4 000 bytes cost a join 0.7 s of CPU on a
//! runtime worker, and twelve such joins held up everyone else's events.)

use chat_protocol::sizes::{MAX_SERVER_MESSAGE, TAG_LEN};
use chat_protocol::{HistoryEntry, RoomJoined, ServerEvent, Welcome};

use crate::log::Entry;

/// The largest `Welcome` plaintext: sealed, it must fit one server message.
const LIMIT: usize = MAX_SERVER_MESSAGE - TAG_LEN;

/// A `Welcome` not fitted yet: everything but the history, and the
/// history's entries as the room shares them (pointers, not copies).
#[derive(Clone)]
pub struct Unsent {
    /// The `Welcome`, its `history` empty.
    welcome: Welcome,
    /// The history entries it may hold, oldest first.
    entries: Vec<Entry>,
    /// Whether the join asked to resume (`after`): then entries left out
    /// to fit are a `gap`.
    resume: bool,
}

impl Unsent {
    /// A `Welcome` of `welcome` (its history ignored) and `entries`.
    pub fn new(mut welcome: Welcome, entries: Vec<Entry>, resume: bool) -> Self {
        welcome.history = Vec::new();
        Self {
            welcome,
            entries,
            resume,
        }
    }

    /// Everything but the history, as it will be sent.
    pub fn head(&self) -> &Welcome {
        &self.welcome
    }

    /// The `Welcome` as it will be sent: the newest entries that fit one
    /// server message, oldest first; a resume that loses entries that way
    /// says so (`gap`).
    pub fn fitted(self) -> Welcome {
        let Self {
            mut welcome,
            entries,
            resume,
        } = self;
        // Room for `"gap":true` whenever it may be needed, so that the
        // entries kept fit whatever the answer.
        let gap_before = welcome.gap;
        welcome.gap |= resume;
        let head = ServerEvent::Welcome(welcome);
        let skip = fit(json_len(&head), &entries);
        let ServerEvent::Welcome(mut welcome) = head else {
            unreachable!("made as a Welcome above")
        };
        welcome.gap = gap_before || (resume && skip > 0);
        welcome.history = entries[skip..]
            .iter()
            .map(|e| HistoryEntry::clone(e))
            .collect();
        welcome
    }

    /// The fitted `Welcome`'s JSON, ready to seal: the one serialization
    /// of a join's `Welcome`. CPU-bound in the size of what is kept (up to
    /// 1 MiB): run it on the blocking pool, not on a runtime worker.
    pub fn encode(self) -> Vec<u8> {
        #[cfg(debug_assertions)]
        held::wait(&self.welcome.name);
        serialize(self.fitted())
    }
}

/// How many of the oldest `entries` to leave out so that the newest fit
/// beside `used` bytes in one server message.
fn fit(mut used: usize, entries: &[Entry]) -> usize {
    let mut keep = 0;
    for entry in entries.iter().rev() {
        // One comma between two entries of the array.
        let size = json_len(entry.as_ref()) + usize::from(keep > 0);
        if used + size > LIMIT {
            break;
        }
        used += size;
        keep += 1;
    }
    entries.len() - keep
}

/// A room's `room_joined` not fitted yet, as [`Unsent`] is a `Welcome`.
pub struct UnsentRoom {
    /// The answer, its `history` empty.
    joined: RoomJoined,
    /// The history entries it may hold, oldest first.
    entries: Vec<Entry>,
    /// Whether the join asked to resume (`after`).
    resume: bool,
}

impl UnsentRoom {
    /// A `room_joined` of `joined` (its history ignored) and `entries`.
    pub fn new(mut joined: RoomJoined, entries: Vec<Entry>, resume: bool) -> Self {
        joined.history = Vec::new();
        Self {
            joined,
            entries,
            resume,
        }
    }

    /// The answer as it will be sent: the newest entries that fit one
    /// server message; a resume that loses entries that way says `gap`.
    pub fn fitted(self) -> RoomJoined {
        let Self {
            mut joined,
            entries,
            resume,
        } = self;
        let gap_before = joined.gap;
        joined.gap |= resume;
        let head = ServerEvent::RoomJoined(joined);
        let skip = fit(json_len(&head), &entries);
        let ServerEvent::RoomJoined(mut joined) = head else {
            unreachable!("made as a RoomJoined above")
        };
        joined.gap = gap_before || (resume && skip > 0);
        joined.history = entries[skip..]
            .iter()
            .map(|e| HistoryEntry::clone(e))
            .collect();
        joined
    }

    /// The fitted answer's JSON, ready to seal. CPU-bound in the size of
    /// what is kept: run it on the blocking pool.
    pub fn encode(self) -> Vec<u8> {
        ServerEvent::RoomJoined(self.fitted()).to_bytes()
    }
}

/// A `Welcome`'s JSON: the one place a join's `Welcome` becomes bytes
/// (counted in tests).
fn serialize(welcome: Welcome) -> Vec<u8> {
    #[cfg(test)]
    tests::SERIALIZED.with(|n| n.set(n.get() + 1));
    ServerEvent::Welcome(welcome).to_bytes()
}

/// The length of `value`'s JSON, counted as it is written (nothing kept).
fn json_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).expect("events always serialize");
    count.0
}

/// Test support, in debug builds only: holds the encoding of one user's
/// `Welcome` until the test lets it go, so a test can check what the
/// server still does meanwhile (others are answered; the room is not
/// locked). Nothing registers a hold outside tests; each join looks up its
/// name in an empty list.
#[cfg(debug_assertions)]
pub mod held {
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    /// The longest a held encoding waits: a test that never lets go
    /// fails by its own deadline, and the join then goes on.
    const BOUND: Duration = Duration::from_secs(60);

    static HELD: Mutex<Vec<(String, Arc<Hold>)>> = Mutex::new(Vec::new());

    /// One held `Welcome`.
    #[derive(Default)]
    pub struct Hold {
        state: Mutex<State>,
        changed: Condvar,
    }

    #[derive(Default)]
    struct State {
        entered: bool,
        released: bool,
    }

    impl Hold {
        /// Whether the encoding started and waits for [`Hold::release`].
        pub fn entered(&self) -> bool {
            self.state.lock().expect("lock").entered
        }

        /// Whether the hold was let go (or ran out).
        pub fn released(&self) -> bool {
            self.state.lock().expect("lock").released
        }

        /// Lets the encoding go on.
        pub fn release(&self) {
            self.state.lock().expect("lock").released = true;
            self.changed.notify_all();
        }
    }

    /// Holds the encoding of the next `Welcome` for `name` (exact).
    pub fn hold(name: &str) -> Arc<Hold> {
        let hold = Arc::new(Hold::default());
        HELD.lock()
            .expect("lock")
            .push((name.to_string(), hold.clone()));
        hold
    }

    /// Waits while a hold for `name` is not released (at most [`BOUND`]).
    pub(super) fn wait(name: &str) {
        let hold = {
            let mut held = HELD.lock().expect("lock");
            let Some(at) = held.iter().position(|(n, _)| n == name) else {
                return;
            };
            held.remove(at).1
        };
        let mut state = hold.state.lock().expect("lock");
        state.entered = true;
        hold.changed.notify_all();
        let (mut state, _) = hold
            .changed
            .wait_timeout_while(state, BOUND, |s| !s.released)
            .expect("lock");
        state.released = true;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;
    use std::sync::Arc;

    use super::*;
    use chat_protocol::RateLimit;

    thread_local! {
        /// `Welcome`s serialized ([`serialize`]) on this thread.
        pub(crate) static SERIALIZED: Cell<usize> = const { Cell::new(0) };
    }

    fn head() -> Welcome {
        Welcome {
            default_room: None,
            rooms: Vec::new(),
            topic: None,
            name: "ace".into(),
            users: vec!["ace".into()],
            members: Vec::new(),
            history: Vec::new(),
            gap: false,
            resumed: false,
            last_id: Some(0),
            motd: None,
            rate: RateLimit {
                burst: 10,
                per_second: 5,
            },
            max_text: 4096,
            server: "chatd/test".into(),
        }
    }

    fn entries(count: u64, size: usize) -> Vec<Entry> {
        (1..=count)
            .map(|id| {
                Arc::new(HistoryEntry {
                    room: None,
                    id,
                    from: "bob".into(),
                    // Escaped in JSON: sizes are those of what is written.
                    text: format!("{id} \"{}", "é\n".repeat(size / 4)),
                    ts: 1_700_000_000_000 + id,
                    action: id % 3 == 0,
                    cid: (id % 2 == 0).then(|| format!("c{id}")),
                })
            })
            .collect()
    }

    #[test]
    fn a_long_history_is_serialized_once_and_holds_as_many_of_the_newest_as_fit() {
        let all = entries(3000, 4000);
        let before = SERIALIZED.with(Cell::get);
        let bytes = Unsent::new(head(), all.clone(), false).encode();
        assert_eq!(SERIALIZED.with(Cell::get) - before, 1, "one serialization");
        assert!(bytes.len() <= LIMIT, "{} bytes", bytes.len());
        let Some(ServerEvent::Welcome(sent)) = ServerEvent::from_bytes(&bytes) else {
            panic!("a Welcome");
        };
        assert!(!sent.gap, "no resume, no gap");
        let kept = sent.history.len();
        assert!(kept > 0 && kept < all.len(), "{kept} kept");
        let newest: Vec<HistoryEntry> = all[all.len() - kept..]
            .iter()
            .map(|e| HistoryEntry::clone(e))
            .collect();
        assert_eq!(sent.history, newest, "the newest, oldest first");
        // One more entry would not have fitted: nothing was dropped that
        // had room.
        let mut more = sent.clone();
        more.history
            .insert(0, HistoryEntry::clone(&all[all.len() - kept - 1]));
        assert!(ServerEvent::Welcome(more).to_bytes().len() > LIMIT);
    }

    #[test]
    fn a_resume_that_loses_entries_to_the_size_says_gap_and_a_small_one_does_not() {
        let fitted = Unsent::new(head(), entries(600, 4000), true).fitted();
        assert!(fitted.gap && fitted.history.len() < 600);
        assert!(ServerEvent::Welcome(fitted).to_bytes().len() <= LIMIT);
        let small = Unsent::new(head(), entries(5, 100), true).fitted();
        assert!(!small.gap);
        assert_eq!(small.history.len(), 5);
    }
}
