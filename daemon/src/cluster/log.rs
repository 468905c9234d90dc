//! The rooms' log on JetStream: append, read after an id, follow live.
//!
//! One stream holds every room's messages, each room on a subject of its
//! own ([`Cluster::room_subject`]: the default room's `chat.log`, as
//! before rooms, another room's `chat.log.HEX`). A message's id is its
//! stream sequence, assigned by NATS when it accepts the message; ids are
//! therefore the same on every node, unique across rooms, and strictly
//! increase (a room's ids skip those of the others). The stream keeps at
//! least `history` messages of each room (per subject) and none older
//! than `history_max_age`. Each reader reads one room's subject only, so
//! a node receives the messages of the rooms it follows and no others.

use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::{Cluster, ClusterError};

/// One accepted message: its id and the bytes the room logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The stream sequence: the message id.
    pub id: u64,
    /// What was appended.
    pub payload: Bytes,
}

/// What [`Cluster::after`] found.
#[derive(Debug, Default)]
pub struct After {
    /// The entries after the asked id, oldest first.
    pub entries: Vec<Entry>,
    /// Some entries after the asked id are no longer kept (or were left out
    /// by the limit): the reader missed messages.
    pub gap: bool,
}

/// How long one read of the log may take before it is given up.
const READ_DEADLINE: Duration = Duration::from_secs(10);

/// Entries read ahead of the room by [`Cluster::follow`].
const FOLLOW_BUFFER: usize = 1024;

/// How long [`Cluster::follow`] waits for an entry before it asks whether
/// the log holds newer ones. If it does, the reading consumer stalled and
/// is made again: when a nats-server of a cluster dies, the consumers it
/// held die with it, also those read by nodes connected to another server
/// (no reconnection tells them), and async-nats notices only after missed
/// heartbeats, 30 s or more (70-80 s measured with nats-server 2.9 and
/// async-nats 0.51).
const STALL_CHECK: Duration = Duration::from_secs(3);

fn note_follow_trouble(error: &ClusterError) {
    static TROUBLE: crate::logging::line_budget::LineBudget =
        crate::logging::line_budget::LineBudget::new(
            "cluster: following the room's log",
            3,
            Duration::from_secs(60),
        );
    crate::budgeted!(
        TROUBLE,
        tracing::Level::WARN,
        %error,
        "cluster: following the room's log failed; retrying"
    );
}

impl Cluster {
    /// Appends `payload` to the default room's log; returns its id once
    /// NATS has stored it (the stream's acknowledgement).
    pub async fn append(&self, payload: Bytes) -> Result<u64, ClusterError> {
        self.append_to(&self.log_subject(), payload).await
    }

    /// Appends `payload` to the log of the room on `subject`.
    pub async fn append_to(&self, subject: &str, payload: Bytes) -> Result<u64, ClusterError> {
        let ack = self
            .js()
            .publish(subject.to_string(), payload)
            .await
            .map_err(|e| ClusterError::js("append to the room's log", e))?
            .await
            .map_err(|e| ClusterError::js("append to the room's log", e))?;
        Ok(ack.sequence)
    }

    /// Appends `payload` under the message id `once`: NATS stores one
    /// message per id within its duplicate window (2 minutes), so the
    /// same message sent again (a client retrying what was not confirmed)
    /// is not logged twice; the answer is the first one's id.
    pub async fn append_once(
        &self,
        subject: &str,
        payload: Bytes,
        once: &str,
    ) -> Result<u64, ClusterError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", once);
        let ack = self
            .js()
            .publish_with_headers(subject.to_string(), headers, payload)
            .await
            .map_err(|e| ClusterError::js("append to the room's log", e))?
            .await
            .map_err(|e| ClusterError::js("append to the room's log", e))?;
        Ok(ack.sequence)
    }

    /// Removes every entry of the room on `subject` from the stream (the
    /// room was removed); a failure is logged, the entries then age out.
    pub async fn purge_subject(&self, subject: &str) {
        let purged = async {
            self.js()
                .get_stream(self.log_stream())
                .await
                .map_err(|e| ClusterError::js("purge a removed room's log", e))?
                .purge()
                .filter(subject.to_string())
                .await
                .map_err(|e| ClusterError::js("purge a removed room's log", e))
        };
        if let Err(e) = purged.await {
            tracing::warn!("cluster: {e}; its entries stay until they age out");
        }
    }

    /// The id of the newest entry of any room (0 when the log is empty).
    pub async fn last_id(&self) -> Result<u64, ClusterError> {
        Ok(self.bounds().await?.1)
    }

    /// The id of the newest entry of the room on `subject` (0: none kept).
    pub async fn last_id_of(&self, subject: &str) -> Result<u64, ClusterError> {
        let stream = self
            .js()
            .get_stream(self.log_stream())
            .await
            .map_err(|e| ClusterError::js("read the room's log", e))?;
        match stream.get_last_raw_message_by_subject(subject).await {
            Ok(message) => Ok(message.sequence),
            Err(e)
                if e.kind()
                    == async_nats::jetstream::stream::LastRawMessageErrorKind::NoMessageFound =>
            {
                Ok(0)
            }
            Err(e) => Err(ClusterError::js("read the room's log", e)),
        }
    }

    /// First and last sequence the stream holds (first > last: empty).
    async fn bounds(&self) -> Result<(u64, u64), ClusterError> {
        let mut stream = self
            .js()
            .get_stream(self.log_stream())
            .await
            .map_err(|e| ClusterError::js("read the room's log", e))?;
        let info = stream
            .info()
            .await
            .map_err(|e| ClusterError::js("read the room's log", e))?;
        Ok((info.state.first_sequence, info.state.last_sequence))
    }

    /// At most `limit` entries of the default room after `id` (see
    /// [`Cluster::after_in`]).
    pub async fn after(&self, id: u64, limit: usize) -> Result<After, ClusterError> {
        self.after_in(&self.log_subject(), id, limit).await
    }

    /// At most `limit` entries of the room on `subject` after `id`, the
    /// newest ones if there are more (then `gap` is set, as it is when
    /// entries after `id` have aged out of the log).
    ///
    /// A room's ids are not consecutive (the other rooms' are between
    /// them), so its newest entries are found by reading a window of
    /// stream sequences before its last entry, the stream filtering by
    /// subject, and the window grown eightfold while it holds fewer than
    /// `limit` and more of the stream is before it.
    pub async fn after_in(
        &self,
        subject: &str,
        id: u64,
        limit: usize,
    ) -> Result<After, ClusterError> {
        let (first, _) = self.bounds().await?;
        let last = self.last_id_of(subject).await?;
        if last <= id || limit == 0 {
            return Ok(After {
                entries: Vec::new(),
                gap: limit == 0 && last > id,
            });
        }
        let floor = (id + 1).max(first);
        let mut window = (limit as u64).saturating_mul(4);
        let read = async {
            loop {
                let start = last.saturating_sub(window).saturating_add(1).max(floor);
                let mut entries = self.read_range(subject, start, last).await?;
                if entries.len() >= limit || start <= floor {
                    let more = entries.len().saturating_sub(limit);
                    entries.drain(..more);
                    // Missed: what the limit left out, and what aged out.
                    let gap = more > 0 || start > id + 1 && first > id + 1;
                    return Ok::<After, ClusterError>(After { entries, gap });
                }
                window = window.saturating_mul(8);
            }
        };
        match tokio::time::timeout(READ_DEADLINE, read).await {
            Ok(result) => result,
            Err(_) => Err(ClusterError::JetStream {
                what: "read the room's log",
                reason: format!("no answer within {READ_DEADLINE:?}"),
            }),
        }
    }

    /// The entries of the room on `subject` from sequence `start` to
    /// `last` (its newest), oldest first.
    async fn read_range(
        &self,
        subject: &str,
        start: u64,
        last: u64,
    ) -> Result<Vec<Entry>, ClusterError> {
        let mut entries = Vec::new();
        let mut live = Box::pin(self.live_from(subject, start).await?);
        loop {
            // The entries up to `last` may age out while they are read:
            // the consumer then waits for an entry that is no longer
            // there, so a quiet second looks at the bounds again.
            let next = tokio::time::timeout(Duration::from_secs(1), live.next()).await;
            match next {
                Ok(Some(entry)) => {
                    let entry = entry?;
                    let at = entry.id;
                    entries.push(entry);
                    if at >= last {
                        break;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    // All of what was left to read aged out: done.
                    let (first, _) = self.bounds().await?;
                    if first > last || self.last_id_of(subject).await? < last {
                        break;
                    }
                }
            }
        }
        Ok(entries)
    }

    /// Every entry after `id` as it is accepted, in order, each once, for
    /// as long as the stream is polled. NATS trouble does not end it: the
    /// reading consumer is made again after the last entry delivered (with
    /// a growing pause, up to 2 s), so an outage delays entries and loses
    /// none; [`Cluster::connected`] tells whether NATS is there meanwhile.
    pub fn follow(&self, id: u64) -> impl Stream<Item = Entry> + Send + 'static {
        self.follow_in(self.log_subject(), id)
    }

    /// [`Cluster::follow`] for the room on `subject`.
    pub fn follow_in(
        &self,
        subject: String,
        id: u64,
    ) -> impl Stream<Item = Entry> + Send + 'static {
        let (tx, rx) = tokio::sync::mpsc::channel::<Entry>(FOLLOW_BUFFER);
        let cluster = self.clone();
        // Ends as soon as the reader drops the stream, even while no entry
        // comes (or NATS is away).
        tokio::spawn(async move {
            tokio::select! {
                () = tx.closed() => {}
                () = cluster.feed(&subject, id, &tx) => {}
            }
        });
        futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|entry| (entry, rx))
        })
    }

    /// [`Cluster::follow`]'s loop: entries after `id` into `tx`, the
    /// consumer made again after any trouble.
    async fn feed(&self, subject: &str, id: u64, tx: &tokio::sync::mpsc::Sender<Entry>) {
        let mut next = id + 1;
        let mut pause = Duration::from_millis(50);
        let mut connections = self.connections();
        loop {
            connections.borrow_and_update();
            match self.live_from(subject, next).await {
                Ok(live) => {
                    let mut live = Box::pin(live);
                    // A reconnection ends this consumer at once: made again
                    // after the last entry delivered, it goes on without
                    // waiting for the heartbeats to say it is gone. So does
                    // a stall (see STALL_CHECK).
                    loop {
                        let entry = tokio::select! {
                            entry = tokio::time::timeout(STALL_CHECK, live.next()) => entry,
                            _ = connections.changed() => break,
                        };
                        let entry = match entry {
                            Ok(Some(Ok(entry))) => entry,
                            Ok(Some(Err(e))) => {
                                note_follow_trouble(&e);
                                break;
                            }
                            Ok(None) => break,
                            // Quiet: a quiet room, or a stalled consumer.
                            Err(_) => match self.last_id_of(subject).await {
                                Ok(last) if last >= next => {
                                    note_follow_trouble(&ClusterError::JetStream {
                                        what: "follow the room's log",
                                        reason: format!(
                                            "no entry for {STALL_CHECK:?} while the log holds {next} to {last}"
                                        ),
                                    });
                                    break;
                                }
                                _ => continue,
                            },
                        };
                        // A remade consumer could overlap: ids only rise.
                        if entry.id < next {
                            continue;
                        }
                        next = entry.id + 1;
                        pause = Duration::from_millis(50);
                        if tx.send(entry).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => note_follow_trouble(&e),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    async fn live_from(
        &self,
        subject: &str,
        start: u64,
    ) -> Result<impl Stream<Item = Result<Entry, ClusterError>> + Send + 'static, ClusterError>
    {
        let stream = self
            .js()
            .get_stream(self.log_stream())
            .await
            .map_err(|e| ClusterError::js("follow the room's log", e))?;
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: start.max(1),
                },
                filter_subject: subject.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::js("follow the room's log", e))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|e| ClusterError::js("follow the room's log", e))?;
        Ok(messages.map(|message| {
            let message = message.map_err(|e| ClusterError::js("follow the room's log", e))?;
            let info = message
                .info()
                .map_err(|e| ClusterError::js("follow the room's log", e))?;
            Ok(Entry {
                id: info.stream_sequence,
                payload: message.payload.clone(),
            })
        }))
    }
}
