//! What every bench message carries, and the check each receiving client
//! runs on what it gets: no loss, no duplicate, each sender's messages in
//! the order they were sent.
//!
//! A message's text is `SENDER SEQ SENT_US ` then padding: the sender's
//! index, its sequence number (from 0) and the send time in microseconds
//! since the run's epoch (one clock: every client lives in this process).

use std::collections::BTreeSet;

/// Builds the text of message `seq` of `sender`, padded with `x` to
/// `size` bytes (never shorter than its header).
pub fn encode(sender: usize, seq: u64, sent_us: u64, size: usize) -> String {
    let mut text = format!("{sender} {seq} {sent_us} ");
    if text.len() < size {
        text.extend(std::iter::repeat_n('x', size - text.len()));
    }
    text
}

/// A decoded message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The sender's index.
    pub sender: usize,
    /// Its sequence number.
    pub seq: u64,
    /// When it was sent, µs since the epoch.
    pub sent_us: u64,
}

/// Reads the header of a bench message; `None` if the text is not one.
pub fn decode(text: &[u8]) -> Option<Stamp> {
    let text = std::str::from_utf8(text.get(..text.len().min(64))?).ok()?;
    let mut fields = text.split(' ');
    Some(Stamp {
        sender: fields.next()?.parse().ok()?,
        seq: fields.next()?.parse().ok()?,
        sent_us: fields.next()?.parse().ok()?,
    })
}

/// Counts of what went wrong, summed over clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Violations {
    /// Messages never received (a gap that was never filled).
    pub lost: u64,
    /// Messages received more than once (each extra copy counts).
    pub duplicated: u64,
    /// Messages received after a later one of the same sender.
    pub reordered: u64,
    /// Messages that are not bench messages, or name an unknown sender or
    /// a sequence number past the last one sent.
    pub malformed: u64,
}

impl Violations {
    /// Adds another client's counts.
    pub fn add(&mut self, other: &Violations) {
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.malformed += other.malformed;
    }

    /// Whether anything went wrong.
    pub fn any(&self) -> bool {
        *self != Violations::default()
    }
}

/// What one received message was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The next one expected from its sender.
    InOrder,
    /// One skipped earlier, now arriving late (a reorder).
    Late,
    /// Received before.
    Duplicate,
    /// Not a message of this run.
    Malformed,
}

impl Verdict {
    /// Whether this is a first delivery (counted, and its latency taken).
    pub fn delivered(self) -> bool {
        matches!(self, Verdict::InOrder | Verdict::Late)
    }
}

#[derive(Default)]
struct Expect {
    /// Every sequence number below it has arrived or is in `missing`.
    next: u64,
    /// Skipped over and not (yet) arrived.
    missing: BTreeSet<u64>,
}

/// One receiving client's view of every sender.
pub struct Checker {
    /// Per sender; `None` for a sender this client must not hear (another
    /// room's): a message of it is not one of this client's.
    senders: Vec<Option<Expect>>,
    per_sender: u64,
    counts: Violations,
}

impl Checker {
    /// A checker for `senders` senders of `per_sender` messages each, of
    /// which this client hears those `hears` says (its room's).
    pub fn new(senders: usize, per_sender: u64, hears: impl Fn(usize) -> bool) -> Self {
        Checker {
            senders: (0..senders)
                .map(|j| hears(j).then(Expect::default))
                .collect(),
            per_sender,
            counts: Violations::default(),
        }
    }

    /// Checks one received message; `None` is a text that is no bench
    /// message.
    pub fn receive(&mut self, stamp: Option<Stamp>) -> Verdict {
        let verdict = self.judge(stamp);
        match verdict {
            Verdict::InOrder => {}
            Verdict::Late => self.counts.reordered += 1,
            Verdict::Duplicate => self.counts.duplicated += 1,
            Verdict::Malformed => self.counts.malformed += 1,
        }
        verdict
    }

    fn judge(&mut self, stamp: Option<Stamp>) -> Verdict {
        let Some(Stamp { sender, seq, .. }) = stamp else {
            return Verdict::Malformed;
        };
        let Some(Some(expect)) = self.senders.get_mut(sender) else {
            return Verdict::Malformed;
        };
        if seq >= self.per_sender {
            return Verdict::Malformed;
        }
        if seq == expect.next {
            expect.next += 1;
            Verdict::InOrder
        } else if seq > expect.next {
            expect.missing.extend(expect.next..seq);
            expect.next = seq + 1;
            Verdict::InOrder
        } else if expect.missing.remove(&seq) {
            Verdict::Late
        } else {
            Verdict::Duplicate
        }
    }

    /// Messages received once, so far.
    #[cfg(test)]
    pub fn delivered(&self) -> u64 {
        self.senders
            .iter()
            .flatten()
            .map(|e| e.next - e.missing.len() as u64)
            .sum()
    }

    /// The final counts: every message not received by now is lost.
    pub fn finish(&self) -> Violations {
        let mut counts = self.counts;
        counts.lost = self
            .senders
            .iter()
            .flatten()
            .map(|e| e.missing.len() as u64 + (self.per_sender - e.next))
            .sum();
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(sender: usize, seq: u64) -> Option<Stamp> {
        decode(encode(sender, seq, 7, 40).as_bytes())
    }

    #[test]
    fn encodes_and_decodes() {
        let text = encode(3, 41, 123_456, 100);
        assert_eq!(text.len(), 100);
        assert!(text.starts_with("3 41 123456 x"));
        assert_eq!(
            decode(text.as_bytes()),
            Some(Stamp {
                sender: 3,
                seq: 41,
                sent_us: 123_456
            })
        );
        assert_eq!(encode(1, 2, 3, 0), "1 2 3 ");
        assert_eq!(decode(b"hello world"), None);
        assert_eq!(decode(b""), None);
        assert_eq!(decode(&[0xff, b' ', b'1']), None);
    }

    #[test]
    fn a_clean_stream_has_no_violation() {
        let mut c = Checker::new(2, 3, |_| true);
        for seq in 0..3 {
            assert_eq!(c.receive(stamp(0, seq)), Verdict::InOrder);
            assert_eq!(c.receive(stamp(1, seq)), Verdict::InOrder);
        }
        assert_eq!(c.delivered(), 6);
        assert!(!c.finish().any());
    }

    #[test]
    fn loss_is_a_gap_never_filled_or_a_missing_tail() {
        let mut c = Checker::new(1, 5, |_| true);
        for seq in [0, 2, 3] {
            c.receive(stamp(0, seq));
        }
        assert_eq!(c.delivered(), 3);
        let v = c.finish();
        assert_eq!(v.lost, 2, "1 skipped, 4 never came: {v:?}");
        assert_eq!((v.duplicated, v.reordered, v.malformed), (0, 0, 0));
    }

    #[test]
    fn a_duplicate_is_counted_once_per_extra_copy() {
        let mut c = Checker::new(1, 3, |_| true);
        for seq in [0, 1, 1, 0, 2] {
            c.receive(stamp(0, seq));
        }
        let v = c.finish();
        assert_eq!(v.duplicated, 2);
        assert_eq!((v.lost, v.reordered), (0, 0));
    }

    #[test]
    fn a_late_message_is_a_reorder_not_a_loss() {
        let mut c = Checker::new(1, 4, |_| true);
        let verdicts: Vec<Verdict> = [0, 2, 1, 3]
            .iter()
            .map(|&s| c.receive(stamp(0, s)))
            .collect();
        assert_eq!(
            verdicts,
            [
                Verdict::InOrder,
                Verdict::InOrder,
                Verdict::Late,
                Verdict::InOrder
            ]
        );
        let v = c.finish();
        assert_eq!(v.reordered, 1);
        assert_eq!((v.lost, v.duplicated), (0, 0));
        // A late copy of a message already received late is a duplicate.
        assert_eq!(c.receive(stamp(0, 1)), Verdict::Duplicate);
    }

    #[test]
    fn order_is_per_sender() {
        // Interleaving senders is not a reorder.
        let mut c = Checker::new(2, 2, |_| true);
        for (s, q) in [(1, 0), (0, 0), (0, 1), (1, 1)] {
            assert_eq!(c.receive(stamp(s, q)), Verdict::InOrder);
        }
        assert!(!c.finish().any());
    }

    #[test]
    fn another_rooms_sender_is_neither_heard_nor_missed() {
        // Two senders; this client is in sender 0's room only.
        let mut c = Checker::new(2, 2, |j| j == 0);
        assert_eq!(c.receive(stamp(0, 0)), Verdict::InOrder);
        assert_eq!(c.receive(stamp(1, 0)), Verdict::Malformed, "a leak");
        assert_eq!(c.receive(stamp(0, 1)), Verdict::InOrder);
        let found = c.finish();
        assert_eq!((found.lost, found.malformed), (0, 1));
    }

    #[test]
    fn strangers_are_malformed() {
        let mut c = Checker::new(2, 3, |_| true);
        assert_eq!(c.receive(None), Verdict::Malformed);
        assert_eq!(c.receive(stamp(2, 0)), Verdict::Malformed);
        assert_eq!(c.receive(stamp(0, 3)), Verdict::Malformed);
        assert_eq!(c.finish().malformed, 3);
        assert_eq!(c.finish().lost, 6);
    }
}
