//! A joined session's writer: drains the member's bounded queue to the
//! socket in batches, sealing each event, pings every
//! `keepalive_interval`, bounds every batch by `write_timeout`, and says
//! goodbye when the session ends.
//!
//! A batch is every event waiting when the writer wakes (at most
//! [`BATCH`] events, [`BATCH_BYTES`] bytes): each is sealed and fed to
//! tungstenite's buffer, and the batch is flushed once, so a writer that
//! fell behind a busy room catches up in a few writes instead of one per
//! event. The batch's bytes count against the member's byte bound until
//! the flush is done. The session's end is checked once per batch, not
//! per event: the cancellation future is polled only when the writer
//! waits.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_protocol::sizes::TAG_LEN;
use prometheus_client::metrics::counter::Counter;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

use crate::config::Config;
use crate::ending::{Control, Ending};
use crate::hub::Queue;
use crate::hub::member::Serialized;
use crate::session::connection::{Outgoing, SealedSink};

/// Most events sealed and written in one batch.
pub const BATCH: usize = 64;

/// A batch takes no more events once it holds this many plaintext bytes.
pub const BATCH_BYTES: usize = 64 * 1024;

/// What woke the writer.
enum Wake {
    /// The first event of a batch.
    Event(Serialized),
    /// The keepalive interval passed.
    Ping,
}

/// Drains the member's queue to the socket, then says goodbye. The sealed
/// bytes written are counted in `sent`, once per batch.
pub async fn run(
    mut sink: SealedSink,
    mut rx: Queue,
    control: Arc<Control>,
    config: Arc<Config>,
    sent: Counter,
) {
    let write_timeout = config.write_timeout.0;
    let interval = config.keepalive_interval.0;
    let mut ping_at = Instant::now() + interval;
    let ping = tokio::time::sleep_until(ping_at);
    tokio::pin!(ping);
    let cancelled = control.cancelled();
    tokio::pin!(cancelled);
    // A fragmented message left for the next batch, and its plaintext's
    // length: it goes alone, even when the session is ending (it is sealed:
    // the Bye's counter comes after it).
    let mut carried: Option<(Outgoing, usize)> = None;
    // Whether a sealed message was cut or never sent: the Bye's counter
    // would not be the one the client expects, so no Bye is sealed.
    let mut torn = false;
    loop {
        let wake = match carried.take() {
            Some((outgoing, len)) => {
                // Boxed: rare, and its state would otherwise take room in every
                // writer's.
                let written = Box::pin(write_fragmented(
                    &mut sink,
                    outgoing,
                    &control,
                    write_timeout,
                    &rx,
                ));
                if written.await {
                    sent.inc_by(sealed_len(len));
                    rx.release();
                    continue;
                }
                torn = true;
                break;
            }
            None => tokio::select! {
                // The queue first: while events keep coming, nothing else
                // is polled; the end of the session is checked below.
                biased;
                item = rx.recv() => match item {
                    Some(plain) => Wake::Event(plain),
                    None => break,
                },
                () = &mut ping => Wake::Ping,
                () = &mut cancelled => break,
            },
        };
        if control.is_ending() {
            break;
        }
        // Under a steady stream of events the queue always wins the
        // select: the ping's time is checked here too.
        let ping_due = match wake {
            Wake::Ping => true,
            Wake::Event(_) => Instant::now() >= ping_at,
        };
        if ping_due {
            ping_at = Instant::now() + interval;
            ping.as_mut().reset(ping_at);
        }
        let first = match wake {
            Wake::Event(plain) => Some(plain),
            Wake::Ping => None,
        };
        // Boxed: a batch's state (its frames, tungstenite's feed and flush,
        // the timeout's timer: about 600 bytes) is held only while a batch
        // is written, not by every idle session's writer for its life.
        let batch = Box::pin(timeout(
            write_timeout,
            write_batch(&mut sink, &mut rx, first, ping_due, &mut carried),
        ));
        // A batch is sealed as it is fed: only the shutdown cuts it (it must
        // not wait on a stalled peer), and then no Bye follows. A kick waits
        // for the batch (at most `write_timeout`), so its Bye can be opened.
        let written = tokio::select! {
            biased;
            written = batch => written,
            () = control.shutting_down() => {
                torn = true;
                break;
            }
        };
        match written {
            Ok(Ok(bytes)) => {
                sent.inc_by(bytes);
                rx.release_keeping(carried.as_ref().map_or(0, |c| c.1));
                if rx.is_empty() {
                    sink.idle();
                }
            }
            // Part of the batch was sealed and not written: no Bye.
            Ok(Err(ending)) => {
                control.end(ending);
                torn = true;
                break;
            }
            Err(_) => {
                control.end(Ending::too_slow(rx.len()));
                torn = true;
                break;
            }
        }
    }
    let mut ending = control.ending();
    if torn {
        // Half a message may be on the wire (a Bye now would be read as its
        // continuation), or a sealed one was never sent (the Bye's counter
        // would be one the client does not expect yet). The close frame (a
        // control frame, with the reason) may still go.
        ending.bye = None;
    }
    // Boxed, as above: said once.
    Box::pin(sink.goodbye(ending)).await;
}

/// Seals and feeds `first` and every event waiting after it (within the
/// batch's bounds), a ping if one is due, then flushes once; the sealed
/// bytes written. A fragmented message met on the way is not fed: it is
/// left in `carried`, to go alone.
async fn write_batch(
    sink: &mut SealedSink,
    rx: &mut Queue,
    first: Option<Serialized>,
    ping: bool,
    carried: &mut Option<(Outgoing, usize)>,
) -> Result<u64, Ending> {
    let mut next = first;
    let mut events = 0;
    let mut bytes = 0;
    let mut sealed = 0;
    while let Some(plain) = next.take() {
        let outgoing = sink.seal(&plain)?;
        events += 1;
        bytes += plain.len();
        let len = plain.len();
        drop(plain);
        if !outgoing.is_whole() {
            *carried = Some((outgoing, len));
            break;
        }
        sealed += sealed_len(len);
        for frame in outgoing {
            sink.feed(frame).await.map_err(|_| Ending::lost())?;
        }
        if events < BATCH && bytes < BATCH_BYTES {
            next = rx.try_recv();
        }
    }
    if ping {
        sink.feed(Message::Ping(Bytes::new()))
            .await
            .map_err(|_| Ending::lost())?;
    }
    sink.flush().await.map_err(|_| Ending::lost())?;
    Ok(sealed)
}

/// The length of the sealed message of `plain` bytes: the plaintext and
/// its tag.
fn sealed_len(plain: usize) -> u64 {
    (plain + TAG_LEN) as u64
}

/// Sends a fragmented message, frame by frame, each within
/// `write_timeout`. Only the shutdown cuts it short (it must not wait on a
/// stalled peer): once its first frame is handed to tungstenite it is on
/// its way, and a Bye between its frames would be read as its
/// continuation, so a kick waits for its end. `false` when it was cut
/// (the reason recorded).
async fn write_fragmented(
    sink: &mut SealedSink,
    outgoing: Outgoing,
    control: &Control,
    write_timeout: Duration,
    rx: &Queue,
) -> bool {
    for frame in outgoing {
        let sent = tokio::select! {
            () = control.shutting_down() => return false,
            sent = timeout(write_timeout, async {
                sink.feed(frame).await?;
                sink.flush().await
            }) => sent,
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                control.end(Ending::lost());
                return false;
            }
            Err(_) => {
                control.end(Ending::too_slow(rx.len()));
                return false;
            }
        }
    }
    true
}
