//! A joined session's writer: drains the member's bounded queue to the
//! socket, sealing each event, pings every `keepalive_interval`, bounds
//! every send by `write_timeout`, and says goodbye when the session ends.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

use crate::config::Config;
use crate::connection::SealedSink;
use crate::ending::{Control, Ending};
use crate::hub::Queue;

/// Drains the member's queue to the socket, then says goodbye.
pub async fn run(mut sink: SealedSink, mut rx: Queue, control: Arc<Control>, config: Arc<Config>) {
    let write_timeout = config.write_timeout.0;
    let mut ping = tokio::time::interval_at(
        Instant::now() + config.keepalive_interval.0,
        config.keepalive_interval.0,
    );
    // Whether a fragmented message was left unfinished.
    let mut torn = false;
    loop {
        // An event sealed, or `None` for a keepalive ping.
        let outgoing = tokio::select! {
            biased;
            () = control.cancelled() => break,
            item = rx.recv() => match item {
                Some(plain) => match sink.seal(&plain) {
                    Ok(outgoing) => Some(outgoing),
                    Err(ending) => {
                        control.end(ending);
                        break;
                    }
                },
                None => break,
            },
            _ = ping.tick() => None,
        };
        let queued = rx.len();
        let sent = match outgoing {
            Some(outgoing) => {
                // A fragmented message is cut short only by the shutdown
                // (which must not wait on a stalled peer): once its first
                // frame is handed to tungstenite it is on its way, and a Bye
                // between its frames would be read as its continuation, so
                // a kick waits for its end. A whole message is just that.
                let whole = outgoing.is_whole();
                let mut sent = true;
                for frame in outgoing {
                    let send = Send {
                        write_timeout,
                        queued,
                        whole,
                    };
                    sent = send.or_end(&mut sink, frame, &control).await;
                    if !sent {
                        torn = !whole;
                        break;
                    }
                }
                sent
            }
            None => {
                let send = Send {
                    write_timeout,
                    queued,
                    whole: true,
                };
                send.or_end(&mut sink, Message::Ping(Bytes::new()), &control)
                    .await
            }
        };
        if !sent {
            break;
        }
    }
    let mut ending = control.ending();
    if torn {
        // Half a message is on the wire: a Bye now would be read as its
        // continuation. The close frame (a control frame) may still go.
        ending.bye = None;
    }
    sink.goodbye(ending).await;
}

/// How one frame is sent.
struct Send {
    /// Longest the peer may stall it.
    write_timeout: Duration,
    /// Events waiting behind it (for the "too slow" goodbye).
    queued: usize,
    /// Whether the frame is a whole message: then the session's end cuts
    /// it short; a fragment only the server's shutdown does.
    whole: bool,
}

impl Send {
    /// Sends `frame`; `false` once the session ends (the reason recorded:
    /// lost, or too slow after `write_timeout`).
    async fn or_end(self, sink: &mut SealedSink, frame: Message, control: &Control) -> bool {
        let sent = tokio::select! {
            () = control.cancelled(), if self.whole => return false,
            () = control.shutting_down(), if !self.whole => return false,
            sent = timeout(self.write_timeout, sink.send(frame)) => sent,
        };
        match sent {
            Ok(Ok(())) => true,
            Ok(Err(_)) => {
                control.end(Ending::lost());
                false
            }
            Err(_) => {
                control.end(Ending::too_slow(self.queued));
                false
            }
        }
    }
}
