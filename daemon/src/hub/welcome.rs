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
//! name again. Lists too long for one message beside the rest are cut
//! ([`Lists::cut`]): the `Welcome` holds the first part and says `more`.

use std::ops::Range;
use std::sync::Arc;

use chat_protocol::{HistoryEntry, Member, ServerEvent, Welcome};

use super::listing::Listed;
use super::lists::{LIMIT, Lists, json_len};
use crate::log::Entry;

/// The most bytes of lists and history a `Welcome` encoded on a runtime
/// worker may copy ([`Unsent::is_light`]): tens of microseconds of work.
pub const LIGHT: usize = 32 * 1024;

/// What a history entry's JSON holds beside its text, sender and client
/// id, at most: its field names, `id`, `ts`, `action`, `room` (a room's
/// name is short).
const ENTRY_FIELDS: usize = 160;

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

impl Unsent {
    /// A `Welcome` of `welcome` (its users, members and history ignored),
    /// `users` and `members` (JSON arrays, everyone online, the joiner
    /// included) and `entries`.
    pub fn new(
        mut welcome: Welcome,
        users: Arc<Listed>,
        members: Arc<Listed>,
        entries: Vec<Entry>,
        resume: bool,
    ) -> Self {
        Lists::placeholders_of(&mut welcome.users, &mut welcome.members);
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

    /// The users it lists (all of them, whether they fit or not).
    pub fn users(&self) -> Vec<String> {
        self.lists.users(0..self.lists.count())
    }

    /// The members it lists (all of them).
    pub fn members(&self) -> Vec<Member> {
        self.lists.members(0..self.lists.count())
    }

    /// Whether encoding it is light work: at most [`LIGHT`] bytes of
    /// lists and history to copy. Such a `Welcome` is encoded where it is
    /// (`session::handshake`): the blocking pool's round trip, two thread
    /// wake-ups, would cost a small join more than the encoding.
    pub fn is_light(&self) -> bool {
        let lists = self.lists.users.json().len() + self.lists.members.json().len();
        let mut bytes = lists;
        self.entries.iter().all(|entry| {
            // At worst: every byte of the text escaped, and the entry's
            // fields, their names and numbers around it.
            bytes += 2 * entry.text.len()
                + entry.from.len()
                + entry.cid.as_ref().map_or(0, String::len)
                + ENTRY_FIELDS;
            bytes <= LIGHT
        }) && bytes <= LIGHT
    }

    /// The `Welcome` as it will be sent: the newest entries that fit one
    /// server message, oldest first; a resume that loses entries that way
    /// says so (`gap`); lists that do not fit whole cut, with `more`.
    pub fn fitted(self) -> Welcome {
        let (mut welcome, lists, range) = self.fit();
        welcome.users = lists.users(range.clone());
        welcome.members = lists.members(range);
        welcome
    }

    /// [`Unsent::fitted`], its lists still serialized apart, and the run
    /// of them it holds.
    fn fit(self) -> (Welcome, Lists, Range<usize>) {
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
        let cut = lists.cut(0, json_len(&head), &entries, LIMIT);
        let ServerEvent::Welcome(mut welcome) = head else {
            unreachable!("made as a Welcome above")
        };
        welcome.gap = gap_before || (resume && cut.skip > 0);
        welcome.more = cut.more;
        welcome.history = entries[cut.skip..]
            .iter()
            .map(|e| HistoryEntry::clone(e))
            .collect();
        (welcome, lists, cut.range)
    }

    /// The fitted `Welcome`'s JSON, ready to seal: the one serialization
    /// of a join's `Welcome`. CPU-bound in the size of what is kept (up to
    /// 1 MiB): run it on the blocking pool, not on a runtime worker.
    pub fn encode(self) -> Vec<u8> {
        #[cfg(debug_assertions)]
        held::wait(&self.welcome.name);
        let (welcome, lists, range) = self.fit();
        serialize(welcome, &lists, range)
    }
}

/// A `Welcome`'s JSON, the lists copied into their places: the one place
/// a join's `Welcome` becomes bytes (counted in tests).
fn serialize(welcome: Welcome, lists: &Lists, range: Range<usize>) -> Vec<u8> {
    #[cfg(test)]
    tests::SERIALIZED.with(|n| n.set(n.get() + 1));
    lists.splice(&ServerEvent::Welcome(welcome).to_bytes(), range)
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

    fn users() -> Arc<Listed> {
        Listed::of(&[br#""ace""#])
    }

    fn members() -> Arc<Listed> {
        Listed::of(&[br#"{"name":"ace"}"#])
    }

    fn head() -> Welcome {
        Welcome {
            default_room: None,
            rooms: Vec::new(),
            topic: None,
            name: "ace".into(),
            users: Vec::new(),
            members: Vec::new(),
            more: false,
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
        let users = Listed::of(&[br#""ace""#, br#""Bob""#, br#""z.z""#]);
        let json: Vec<Vec<u8>> = listed
            .iter()
            .map(|m| serde_json::to_vec(m).unwrap())
            .collect();
        let members = Listed::of(&json.iter().map(Vec::as_slice).collect::<Vec<_>>());
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

    /// Lists past one message: the `Welcome` holds the first of them and
    /// says `more`, beside the newest history that fits in half the
    /// message; lists that fit are whole, without `more`, as before.
    #[test]
    fn lists_past_one_message_are_cut_and_say_more_beside_half_of_the_history() {
        let identity = chat_protocol::Identity::from_seed(&[6; 32]).public();
        let mut roster = crate::hub::roster::Roster::default();
        let names: Vec<String> = (0..8_000)
            .map(|i| format!("n{i:05}{}", "z".repeat(26)))
            .collect();
        for name in &names {
            roster.set(name, name, Some(identity), false);
        }
        let history = entries(600, 4000);
        let unsent = Unsent::new(head(), roster.users(), roster.members(), history, true);
        let bytes = unsent.clone().encode();
        assert!(bytes.len() <= LIMIT, "{} bytes", bytes.len());
        let fitted = unsent.fitted();
        assert!(fitted.more);
        assert!(fitted.gap, "entries were left out of a resume");
        assert_eq!(ServerEvent::Welcome(fitted.clone()).to_bytes(), bytes);
        let listed = fitted.users.len();
        assert!(listed > 1000 && listed < names.len(), "{listed} listed");
        assert_eq!(fitted.users, names[..listed]);
        assert_eq!(fitted.members.len(), listed);
        let history_bytes = json_len(&fitted.history);
        assert!(
            history_bytes > LIMIT / 3 && history_bytes < LIMIT / 2,
            "{history_bytes} bytes of history"
        );

        // Fewer: whole, no `more`.
        let mut few = crate::hub::roster::Roster::default();
        for name in &names[..5_000] {
            few.set(name, name, Some(identity), false);
        }
        let fitted =
            Unsent::new(head(), few.users(), few.members(), entries(5, 100), true).fitted();
        assert!(!fitted.more && !fitted.gap);
        assert_eq!(fitted.users, names[..5_000]);
        assert_eq!(fitted.history.len(), 5);
    }

    #[test]
    fn only_a_welcome_of_a_few_kib_of_lists_and_history_is_light() {
        let light = |count: usize, history: Vec<Entry>| {
            let mut roster = crate::hub::roster::Roster::default();
            for i in 0..count {
                let name = format!("user{i:04}");
                roster.set(&name, &name, None, false);
            }
            Unsent::new(head(), roster.users(), roster.members(), history, false).is_light()
        };
        assert!(light(10, entries(50, 200)), "a small room's join");
        // Each user is 31 bytes in the two lists.
        assert!(light(1_000, Vec::new()));
        assert!(!light(2_000, Vec::new()), "a long list");
        assert!(!light(10, entries(20, 4000)), "a long history");
        assert!(
            !light(10, entries(3000, 4000)),
            "decided before reading it all"
        );
        // Many short entries: their fields count, not only their texts.
        assert!(!light(10, entries(300, 4)), "a long history of short texts");
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
