//! The lists of everyone online in an answer (`users`, `members`), as the
//! roster keeps them serialized ([`super::listing`]), and how much of
//! them one server message holds.
//!
//! A `Welcome`, a `room_joined` and a `users` answer are serialized with
//! placeholders where the lists go, and the lists' bytes are copied into
//! their places ([`Lists::splice`]): a run of entries is one slice of each
//! list. When the whole lists do not fit one message beside the rest, the
//! answer holds the first entries that do and says `more`; the client asks
//! for the rest with `who` and `after` (docs/protocol.md, "Long lists").

use std::ops::Range;
use std::sync::Arc;

use chat_protocol::Member;
use chat_protocol::sizes::{MAX_SERVER_MESSAGE, TAG_LEN};

use super::listing::Listed;
use crate::log::Entry;

/// The largest server message's plaintext: sealed, it must fit one
/// server message.
pub(super) const LIMIT: usize = MAX_SERVER_MESSAGE - TAG_LEN;

/// What `"more":true` adds to an answer's JSON (never its first member).
const MORE: usize = r#","more":true"#.len();

/// Everyone online, as JSON arrays: the names (`users`) and the members,
/// in the same order.
#[derive(Clone)]
pub(super) struct Lists {
    pub(super) users: Arc<Listed>,
    pub(super) members: Arc<Listed>,
}

/// Where the lists go in an answer's JSON serialized with
/// [`Lists::placeholders_of`]: the field, and what stands in for its value.
/// Only the fields themselves can be these bytes: inside a JSON string the
/// quote after the field's name would be escaped, and no other part of a
/// `Welcome`, a `room_joined` or a `users` answer has a field `users` or
/// `members`.
const USERS: (&[u8], &[u8]) = (br#""users":"#, b"[]");
const MEMBERS: (&[u8], &[u8]) = (br#""members":"#, br#"[{"name":""}]"#);

/// What one message holds: the oldest history entries it leaves out
/// (`skip`), the run of the lists it holds, and whether the lists go on
/// after it (`more`).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Cut {
    pub(super) skip: usize,
    pub(super) range: Range<usize>,
    pub(super) more: bool,
}

impl Lists {
    /// The placeholders in an event's `users` and `members` (`members` is
    /// left out of the JSON when empty: one member that [`MEMBERS`]
    /// matches keeps it in).
    pub(super) fn placeholders_of(users: &mut Vec<String>, members: &mut Vec<Member>) {
        *users = Vec::new();
        *members = vec![Member::named("")];
    }

    /// How many users they list.
    pub(super) fn count(&self) -> usize {
        self.users.count()
    }

    /// How many bytes the run `range` of the lists takes in an answer's
    /// JSON, brackets included.
    fn bytes(&self, range: Range<usize>) -> usize {
        4 + self.users.entries(range.clone()).len() + self.members.entries(range).len()
    }

    /// The longest run from `from` whose lists take at most `room` bytes:
    /// its end (`from` itself when not even one entry fits). The bytes grow
    /// with the end: a binary search.
    fn run(&self, from: usize, room: usize) -> usize {
        let (mut fits, mut over) = (from, self.count() + 1);
        while over - fits > 1 {
            let mid = fits + (over - fits) / 2;
            if self.bytes(from..mid) <= room {
                fits = mid;
            } else {
                over = mid;
            }
        }
        fits
    }

    /// What of the lists from `from` on, and of the newest `entries`, one
    /// message of at most `limit` bytes holds, whose JSON with the
    /// placeholders (and no `more`) is `head` bytes. The lists whole when
    /// they fit, and the newest history that fits beside them; else the
    /// newest history that fits in half the message, and as much of the
    /// lists as fits in the rest, with `more`.
    pub(super) fn cut(&self, from: usize, head: usize, entries: &[Entry], limit: usize) -> Cut {
        let bare = head - USERS.1.len() - MEMBERS.1.len();
        let all = from..self.count();
        let whole = bare + self.bytes(all.clone());
        if whole <= limit {
            let (skip, _) = fit(whole, entries, limit);
            return Cut {
                skip,
                range: all,
                more: false,
            };
        }
        let (skip, used) = fit(bare + MORE + self.bytes(from..from), entries, limit / 2);
        let end = self.run(from, limit - used + self.bytes(from..from));
        Cut {
            skip,
            range: from..end,
            more: true,
        }
    }

    /// `json` (an answer's, with the placeholders) with the run `range` of
    /// the lists in their places: one copy of each.
    pub(super) fn splice(&self, json: &[u8], range: Range<usize>) -> Vec<u8> {
        let mut out = Vec::with_capacity(json.len() + self.bytes(range.clone()));
        let mut rest = json;
        for ((field, placeholder), list) in [(USERS, &self.users), (MEMBERS, &self.members)] {
            let marker = [field, placeholder].concat();
            let at = rest
                .windows(marker.len())
                .position(|w| w == marker)
                .expect("an answer's JSON has its lists' placeholders")
                + field.len();
            out.extend_from_slice(&rest[..at]);
            out.push(b'[');
            out.extend_from_slice(list.entries(range.clone()));
            out.push(b']');
            rest = &rest[at + placeholder.len()..];
        }
        out.extend_from_slice(rest);
        out
    }

    /// The names of the run `range`.
    pub(super) fn users(&self, range: Range<usize>) -> Vec<String> {
        read(&self.users, range).expect("the room's list is a JSON array of names")
    }

    /// The members of the run `range`.
    pub(super) fn members(&self, range: Range<usize>) -> Vec<Member> {
        read(&self.members, range).expect("the room's list is a JSON array of members")
    }
}

/// The entries `range` of `list`, read.
fn read<T: serde::de::DeserializeOwned>(
    list: &Listed,
    range: Range<usize>,
) -> serde_json::Result<Vec<T>> {
    serde_json::from_slice(&[b"[", list.entries(range), b"]"].concat())
}

/// How many of the oldest `entries` to leave out so that the newest fit
/// beside `used` bytes in `limit`, and the bytes used then.
pub(super) fn fit(mut used: usize, entries: &[Entry], limit: usize) -> (usize, usize) {
    let mut keep = 0;
    for entry in entries.iter().rev() {
        // One comma between two entries of the array.
        let size = json_len(entry.as_ref()) + usize::from(keep > 0);
        if used + size > limit {
            break;
        }
        used += size;
        keep += 1;
    }
    (entries.len() - keep, used)
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

#[cfg(test)]
mod tests {
    use chat_protocol::{Identity, ServerEvent};

    use super::*;
    use crate::hub::roster::Roster;

    /// A roster of `count` users with 32-byte names in mixed case, every
    /// other one proving an identity.
    fn roster(count: usize) -> (Roster, Vec<String>) {
        let identity = Identity::from_seed(&[5; 32]).public();
        let mut roster = Roster::default();
        let mut names: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    "{}{i:06}{}",
                    if i % 3 == 0 { "U" } else { "u" },
                    "y".repeat(25)
                )
            })
            .collect();
        // Set out of order: the roster keeps them in folded order.
        for (i, name) in names.iter().enumerate().rev() {
            let proven = (i % 2 == 0).then_some(identity);
            roster.set(&name.to_ascii_lowercase(), name, proven, false);
        }
        names.sort_by_key(|n| n.to_ascii_lowercase());
        (roster, names)
    }

    fn lists(roster: &Roster) -> Lists {
        Lists {
            users: roster.users(),
            members: roster.members(),
        }
    }

    /// One `users` answer from `from`, in `limit` bytes: its JSON.
    fn page(lists: &Lists, from: usize, limit: usize) -> Vec<u8> {
        let (mut users, mut members) = (Vec::new(), Vec::new());
        Lists::placeholders_of(&mut users, &mut members);
        let mut head = ServerEvent::Users {
            room: None,
            users,
            members,
            more: false,
        };
        let cut = lists.cut(from, json_len(&head), &[], limit);
        if let ServerEvent::Users { more, .. } = &mut head {
            *more = cut.more;
        }
        lists.splice(&head.to_bytes(), cut.range)
    }

    /// Pages read one after the other, each after the last name of the
    /// one before, give the whole list, once each, in order; each fits;
    /// each but the last says `more` and could not have held one more.
    #[test]
    fn pages_fit_and_add_up_to_the_whole_list() {
        let (roster, names) = roster(2_000);
        let lists = lists(&roster);
        let limit = 40_000;
        let mut read = Vec::new();
        let mut from = 0;
        let mut pages = 0;
        loop {
            let bytes = page(&lists, from, limit);
            assert!(bytes.len() <= limit, "{} bytes", bytes.len());
            let Some(ServerEvent::Users {
                users,
                members,
                more,
                ..
            }) = ServerEvent::from_bytes(&bytes)
            else {
                panic!("a users answer");
            };
            assert_eq!(users.len(), members.len());
            assert!(users.iter().zip(&members).all(|(u, m)| *u == m.name));
            pages += 1;
            read.extend(users.iter().cloned());
            if !more {
                break;
            }
            let end = from + users.len();
            let longer = lists.bytes(from..end + 1) - lists.bytes(from..end);
            assert!(
                bytes.len() + longer > limit,
                "page {pages} had room for one more"
            );
            from = roster.after(
                &users
                    .last()
                    .expect("a page holds users")
                    .to_ascii_lowercase(),
            );
            assert_eq!(from, end);
        }
        assert!(pages > 5, "{pages} pages");
        assert_eq!(read, names);
        // Whole lists that fit are sent whole, without `more`; a position
        // past the end gives an empty, final page.
        let bytes = page(&lists, 0, usize::MAX);
        assert!(matches!(
            ServerEvent::from_bytes(&bytes),
            Some(ServerEvent::Users { ref users, more: false, .. }) if *users == names
        ));
        let past = roster.after("zzz");
        assert!(matches!(
            ServerEvent::from_bytes(&page(&lists, past, limit)),
            Some(ServerEvent::Users { ref users, more: false, .. }) if users.is_empty()
        ));
    }

    /// Any `after` is a place in the folded order, whatever its case and
    /// whether or not it is a name listed.
    #[test]
    fn after_is_a_place_in_the_folded_order() {
        let (roster, names) = roster(10);
        assert_eq!(roster.after(""), 0);
        assert_eq!(roster.after(&names[3].to_ascii_lowercase()), 4);
        assert_eq!(roster.after("u000003"), 3, "before the 32-byte name");
        assert_eq!(roster.after("~"), 10);
    }
}
