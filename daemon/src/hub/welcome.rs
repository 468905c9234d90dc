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
//!
//! The lists of everyone online (`users`, `members`) come serialized
//! already, shared with the room ([`super::roster`]): the encoding copies
//! their bytes into place ([`Lists::splice`]) instead of serializing each
//! name again.

use std::sync::Arc;

use chat_protocol::sizes::{MAX_SERVER_MESSAGE, TAG_LEN};
use chat_protocol::{HistoryEntry, Member, ServerEvent, Welcome};

use crate::log::Entry;

/// The largest `Welcome` plaintext: sealed, it must fit one server message.
const LIMIT: usize = MAX_SERVER_MESSAGE - TAG_LEN;

/// A `Welcome` not fitted yet: everything but the lists of everyone online
/// and the history, the lists as the room keeps them serialized, and the
/// history's entries as the room shares them (pointers, not copies).
#[derive(Clone)]
pub struct Unsent {
    /// The `Welcome`, its `users`, `members` and `history` empty.
    welcome: Welcome,
    /// Everyone online, this user included.
    lists: Lists,
    /// The history entries it may hold, oldest first.
    entries: Vec<Entry>,
    /// Whether the join asked to resume (`after`): then entries left out
    /// to fit are a `gap`.
    resume: bool,
}

/// Everyone online, as JSON arrays: the names (`users`) and the members.
/// A `Welcome` and a room's `room_joined` carry them alike
/// ([`super::room_joined`]).
#[derive(Clone)]
pub(super) struct Lists {
    pub(super) users: Arc<Vec<u8>>,
    pub(super) members: Arc<Vec<u8>>,
}

/// Where the lists go in a `Welcome`'s JSON serialized with
/// [`Lists::placeholders`]: the field, and what stands in for its value.
/// Only the fields themselves can be these bytes: inside a JSON string the
/// quote after the field's name would be escaped, and no other part of a
/// `Welcome` (or a `room_joined`) has a field `users` or `members`.
const USERS: (&[u8], &[u8]) = (br#""users":"#, b"[]");
const MEMBERS: (&[u8], &[u8]) = (br#""members":"#, br#"[{"name":""}]"#);

impl Lists {
    /// `welcome` with the placeholders the lists take the place of
    /// (`members` is left out of the JSON when empty: one member that
    /// [`MEMBERS`] matches keeps it in).
    fn placeholders(welcome: &mut Welcome) {
        Self::placeholders_of(&mut welcome.users, &mut welcome.members);
    }

    /// The placeholders in an event's `users` and `members`.
    pub(super) fn placeholders_of(users: &mut Vec<String>, members: &mut Vec<Member>) {
        *users = Vec::new();
        *members = vec![Member::named("")];
    }

    /// How much longer the lists make a `Welcome` than its placeholders.
    pub(super) fn grown(&self) -> usize {
        self.users.len() + self.members.len() - USERS.1.len() - MEMBERS.1.len()
    }

    /// `welcome` (JSON, with the placeholders) with the lists in their
    /// places: one copy of each.
    pub(super) fn splice(&self, welcome: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(welcome.len() + self.grown());
        let mut rest = welcome;
        for ((field, placeholder), list) in [(USERS, &self.users), (MEMBERS, &self.members)] {
            let marker = [field, placeholder].concat();
            let at = rest
                .windows(marker.len())
                .position(|w| w == marker)
                .expect("a Welcome's JSON has its lists' placeholders")
                + field.len();
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(list);
            rest = &rest[at + placeholder.len()..];
        }
        out.extend_from_slice(rest);
        out
    }

    pub(super) fn users(&self) -> Vec<String> {
        serde_json::from_slice(&self.users).expect("the room's list is a JSON array of names")
    }

    pub(super) fn members(&self) -> Vec<Member> {
        serde_json::from_slice(&self.members).expect("the room's list is a JSON array of members")
    }
}

impl Unsent {
    /// A `Welcome` of `welcome` (its users, members and history ignored),
    /// `users` and `members` (JSON arrays, everyone online, the joiner
    /// included) and `entries`.
    pub fn new(
        mut welcome: Welcome,
        users: Arc<Vec<u8>>,
        members: Arc<Vec<u8>>,
        entries: Vec<Entry>,
        resume: bool,
    ) -> Self {
        Lists::placeholders(&mut welcome);
        welcome.history = Vec::new();
        Self {
            welcome,
            lists: Lists { users, members },
            entries,
            resume,
        }
    }

    /// Everything but the lists of everyone online and the history, as it
    /// will be sent.
    pub fn head(&self) -> &Welcome {
        &self.welcome
    }

    /// The users it lists.
    pub fn users(&self) -> Vec<String> {
        self.lists.users()
    }

    /// The members it lists.
    pub fn members(&self) -> Vec<Member> {
        self.lists.members()
    }

    /// The `Welcome` as it will be sent: the newest entries that fit one
    /// server message, oldest first; a resume that loses entries that way
    /// says so (`gap`).
    pub fn fitted(self) -> Welcome {
        let (mut welcome, lists) = self.fit();
        welcome.users = lists.users();
        welcome.members = lists.members();
        welcome
    }

    /// [`Unsent::fitted`], its lists still serialized apart.
    fn fit(self) -> (Welcome, Lists) {
        let Self {
            mut welcome,
            lists,
            entries,
            resume,
        } = self;
        // Room for `"gap":true` whenever it may be needed, so that the
        // entries kept fit whatever the answer.
        let gap_before = welcome.gap;
        welcome.gap |= resume;
        let head = ServerEvent::Welcome(welcome);
        let skip = fit(json_len(&head) + lists.grown(), &entries);
        let ServerEvent::Welcome(mut welcome) = head else {
            unreachable!("made as a Welcome above")
        };
        welcome.gap = gap_before || (resume && skip > 0);
        welcome.history = entries[skip..]
            .iter()
            .map(|e| HistoryEntry::clone(e))
            .collect();
        (welcome, lists)
    }

    /// The fitted `Welcome`'s JSON, ready to seal: the one serialization
    /// of a join's `Welcome`. CPU-bound in the size of what is kept (up to
    /// 1 MiB): run it on the blocking pool, not on a runtime worker.
    pub fn encode(self) -> Vec<u8> {
        #[cfg(debug_assertions)]
        held::wait(&self.welcome.name);
        let (welcome, lists) = self.fit();
        serialize(welcome, &lists)
    }
}

/// How many of the oldest `entries` to leave out so that the newest fit
/// beside `used` bytes in one server message.
pub(super) fn fit(mut used: usize, entries: &[Entry]) -> usize {
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

/// A `Welcome`'s JSON, the lists copied into their places: the one place
/// a join's `Welcome` becomes bytes (counted in tests).
fn serialize(welcome: Welcome, lists: &Lists) -> Vec<u8> {
    #[cfg(test)]
    tests::SERIALIZED.with(|n| n.set(n.get() + 1));
    lists.splice(&ServerEvent::Welcome(welcome).to_bytes())
}

/// The length of `value`'s JSON, counted as it is written (nothing kept).
pub(super) fn json_len(value: &impl serde::Serialize) -> usize {
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

    fn users() -> Arc<Vec<u8>> {
        Arc::new(br#"["ace"]"#.to_vec())
    }

    fn members() -> Arc<Vec<u8>> {
        Arc::new(br#"[{"name":"ace"}]"#.to_vec())
    }

    fn head() -> Welcome {
        Welcome {
            default_room: None,
            rooms: Vec::new(),
            topic: None,
            name: "ace".into(),
            users: Vec::new(),
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
        let bytes = Unsent::new(head(), users(), members(), all.clone(), false).encode();
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

    /// The lists copied into place give the very bytes a `Welcome`
    /// serialized with its users and members would, even when a text in it
    /// reads like the fields.
    #[test]
    fn the_shared_lists_are_copied_into_their_places() {
        let proven = chat_protocol::Identity::from_seed(&[1; 32]).public();
        let listed = vec![
            Member::named("ace"),
            Member {
                name: "Bob".into(),
                identity: Some(proven),
                op: false,
            },
            Member::named("z.z"),
        ];
        let users = Arc::new(br#"["ace","Bob","z.z"]"#.to_vec());
        let members = Arc::new(serde_json::to_vec(&listed).unwrap());
        let mut welcome = head();
        welcome.motd = Some(r#"x"users":[] "users":[] "members":[{"name":""}]"#.into());
        let mut history = entries(3, 40);
        Arc::make_mut(&mut history[1]).text = r#""users":[]"members":[{"name":""}]"#.into();
        let unsent = Unsent::new(welcome.clone(), users, members, history.clone(), false);
        assert_eq!(unsent.members(), listed);
        let bytes = unsent.encode();
        welcome.users = vec!["ace".into(), "Bob".into(), "z.z".into()];
        welcome.members = listed;
        welcome.history = history.iter().map(|e| HistoryEntry::clone(e)).collect();
        assert_eq!(bytes, ServerEvent::Welcome(welcome).to_bytes());
    }

    #[test]
    fn a_resume_that_loses_entries_to_the_size_says_gap_and_a_small_one_does_not() {
        let fitted = Unsent::new(head(), users(), members(), entries(600, 4000), true).fitted();
        assert!(fitted.gap && fitted.history.len() < 600);
        assert!(ServerEvent::Welcome(fitted).to_bytes().len() <= LIMIT);
        let small = Unsent::new(head(), users(), members(), entries(5, 100), true).fitted();
        assert!(!small.gap);
        assert_eq!(small.history.len(), 5);
    }
}
