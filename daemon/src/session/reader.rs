//! A joined session's reader: opens each message, decodes the event,
//! applies the rate limit and the text rules, and hands the event to the
//! room, until the session ends.

use std::sync::Arc;

use chat_protocol::{ClientEvent, ErrorCode, ServerEvent, validate_text};

use super::Parts;
use crate::config::Config;
use crate::ending::Ending;
use crate::hub::{Member, Routed};
use crate::metrics::labels::MessageKind;
use crate::session::connection::SealedStream;
use crate::session::message_rate::TokenBucket;

/// Reads, opens and acts on the member's events until the session ends.
pub async fn run(mut stream: SealedStream, member: &Arc<Member>, parts: &Parts, config: &Config) {
    let control = &member.control;
    let mut bucket = TokenBucket::new(config.rate_burst, config.rate_per_second);
    // One cancellation future for the session, registered once, rather
    // than a new one (and a new registration) per message.
    let cancelled = control.cancelled();
    tokio::pin!(cancelled);
    loop {
        let plain = tokio::select! {
            () = &mut cancelled => return,
            plain = stream.recv() => match plain {
                Ok(plain) => plain,
                Err(ending) => return control.end(ending),
            },
        };
        let event = match ClientEvent::from_bytes(&plain) {
            Some(ClientEvent::Unknown) | None => {
                refuse(
                    member,
                    parts,
                    ErrorCode::BadEvent,
                    "the server could not read that event".into(),
                );
                continue;
            }
            Some(event) => event,
        };
        if let ClientEvent::Bye { reason, .. } = event {
            return control.end(Ending::left(&reason));
        }
        if !bucket.take() {
            let message = format!(
                "slow down: at most {} per second (bursts of {})",
                messages(config.rate_per_second),
                config.rate_burst
            );
            refuse(member, parts, ErrorCode::RateLimited, message);
            continue;
        }
        // What the client sent while the server itself made the reader
        // wait (an append NATS is slow to confirm, a DM to another node)
        // queued in the socket meanwhile: credited, so that a client that
        // keeps to the rate is not refused when it is read all at once.
        let handling = std::time::Instant::now();
        // Boxed: what handling an event awaits (the log's append, a
        // room's) is held only while it is handled, not by every idle
        // session's reader for its life.
        Box::pin(handle(event, member, parts, config)).await;
        bucket.credit(handling.elapsed());
    }
}

/// "1 message", "5 messages".
fn messages(n: u32) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

/// Refuses one event with an `error` event, and counts it.
pub(super) fn refuse(member: &Member, parts: &Parts, code: ErrorCode, message: String) {
    parts.metrics.messages_refused.inc(code.into());
    member.send(&ServerEvent::Error {
        room: None,
        code,
        message,
        until: None,
    });
}

/// Counts a message the log accepted, or tells the sender it refused it.
pub(super) fn logged(
    appended: Result<u64, crate::log::LogError>,
    kind: MessageKind,
    member: &Member,
    parts: &Parts,
) {
    match appended {
        Ok(_) => parts.metrics.messages.inc(kind),
        Err(e) => refuse(member, parts, ErrorCode::Other, e.to_string()),
    }
}

/// A client id worth keeping: a valid one; others are dropped.
pub(super) fn kept(cid: Option<String>) -> Option<String> {
    cid.filter(|cid| chat_protocol::valid_cid(cid))
}

/// Acts on one well-formed event within the rate limit. A public message
/// is echoed (by the room) once the log has accepted it; one the log
/// refused is answered with an error, so the sender knows it was not sent.
async fn handle(event: ClientEvent, member: &Arc<Member>, parts: &Parts, config: &Config) {
    let checked = |text: &str| validate_text(text, config.max_text);
    // A muted user reads but says nothing, in no room: refused, and nobody
    // receives it.
    if matches!(
        event,
        ClientEvent::Say { .. } | ClientEvent::Action { .. } | ClientEvent::Dm { .. }
    ) && let Some(mute) = parts
        .moderating
        .moderation
        .muted(&crate::ops::moderate::who_is(member))
    {
        parts.metrics.messages_refused.inc(ErrorCode::Muted.into());
        member.send(&ServerEvent::Error {
            room: event
                .room()
                .and_then(|r| chat_protocol::RoomName::parse(r).ok()),
            code: ErrorCode::Muted,
            message: mute.told(),
            until: mute.until,
        });
        return;
    }
    match event {
        // What names a room, or asks for the rooms.
        event @ (ClientEvent::Say { room: Some(_), .. }
        | ClientEvent::Action { room: Some(_), .. }
        | ClientEvent::Who { room: Some(_), .. }
        | ClientEvent::JoinRoom { .. }
        | ClientEvent::PartRoom { .. }
        | ClientEvent::Rooms
        | ClientEvent::Topic { .. }
        | ClientEvent::Invite { .. }) => super::rooms::handle(event, member, parts, config).await,
        ClientEvent::Say { text, cid, .. } => match checked(&text) {
            Ok(()) => {
                let said = parts.hub.say(member, text, false, kept(cid)).await;
                logged(said, MessageKind::Say, member, parts);
            }
            Err((code, message)) => refuse(member, parts, code, message),
        },
        ClientEvent::Action { text, cid, .. } => match checked(&text) {
            Ok(()) => {
                let said = parts.hub.say(member, text, true, kept(cid)).await;
                logged(said, MessageKind::Action, member, parts);
            }
            Err((code, message)) => refuse(member, parts, code, message),
        },
        ClientEvent::Dm { to, text, cid } => {
            let sent =
                match checked(&text).and_then(|()| parts.hub.dm(member, &to, text, kept(cid))) {
                    Ok(Routed::Delivered) => Ok(()),
                    // Boxed: rare (a DM to a user of another node), and
                    // its state (a NATS request) would otherwise take room
                    // in every idle session's reader.
                    Ok(Routed::Elsewhere { node, dm }) => {
                        Box::pin(parts.peers.send_dm(&parts.hub, member, &node, dm)).await
                    }
                    Err(refused) => Err(refused),
                };
            match sent {
                Ok(()) => parts.metrics.messages.inc(MessageKind::Dm),
                Err((code, message)) => refuse(member, parts, code, message),
            }
        }
        ClientEvent::Who { room: None, after } => {
            let answer = parts.hub.who(after.as_deref()).encode_for(member);
            member.deliver(Arc::new(answer));
        }
        // Boxed, as the DM to another node above: rare, and their state
        // (the names' store, a NATS request) would take room in every
        // session's reader for its life.
        ClientEvent::IdentityAdd { key } => {
            Box::pin(super::identities::change(member, parts, key, true)).await;
        }
        ClientEvent::IdentityRemove { key } => {
            Box::pin(super::identities::change(member, parts, key, false)).await;
        }
        event @ (ClientEvent::Kick { .. }
        | ClientEvent::Ban { .. }
        | ClientEvent::Unban { .. }
        | ClientEvent::Mute { .. }
        | ClientEvent::Unmute { .. }
        | ClientEvent::Bans) => Box::pin(super::operator::request(event, member, parts)).await,
        ClientEvent::Bye { .. } | ClientEvent::Unknown => {}
    }
}
