//! What the server says, taken in: an echo or an answer matched to the
//! line sent that it answers, the messages seen remembered (for merging a
//! rejoin's history), a `Bye` ending the session.

use chat_protocol::{ByeCode, ClientEvent, HistoryEntry, RoomName, ServerEvent, close};

use super::pending::cid_of;
use super::{Engine, Event, Pending, Remedy, SEEN_MAX};
use crate::connection::Incoming;
use crate::exit::{Exit, Failure};
use crate::{input, render};

impl Engine {
    pub(super) async fn on_incoming(&mut self, incoming: Incoming, events: &mut Vec<Event>) {
        let (event, raw) = match incoming {
            Incoming::Event { event, raw } => (*event, raw),
            Incoming::Closed(code) => {
                let code = code.map_or_else(String::new, |c| format!(" (close code {c})"));
                let failure = Failure::new(
                    Exit::ConnectionLost,
                    format!(
                        "connection lost: the server closed the connection without a sealed goodbye{code}"
                    ),
                );
                return self.lost(failure, events);
            }
            Incoming::Broken { close, why } => {
                if let (Some(code), Some(conn)) = (close, self.conn.as_mut()) {
                    conn.abort(code, &why).await;
                }
                let failure = Failure::new(Exit::ConnectionLost, format!("connection lost: {why}"));
                return self.lost(failure, events);
            }
        };
        let answer = match &event {
            ServerEvent::Message(message) => {
                self.remember(message);
                self.is_me(&message.from)
                    .then(|| self.answered(message.cid.as_deref()))
            }
            ServerEvent::Dm { from, cid, .. } if self.is_me(from) => {
                Some(self.answered(cid.as_deref()))
            }
            ServerEvent::Users { .. } => {
                let mut asked = self.inflight.pop_front();
                // A refresh, a page of a long list, or a typed `who`
                // answered in pages: taken in there.
                if self.on_users(&mut asked, &event, events) {
                    return;
                }
                Some(asked)
            }
            ServerEvent::RoomJoined(joined) => {
                let room = joined.room.clone();
                let pending = self.answered_by(|event| {
                    matches!(event, ClientEvent::JoinRoom { room: asked, .. }
                        if RoomName::parse(asked).ok().as_ref() == Some(&room))
                });
                let ServerEvent::RoomJoined(joined) = event else {
                    unreachable!("matched above")
                };
                return self.on_room_joined(joined, raw, pending, events);
            }
            ServerEvent::RoomParted { .. }
            | ServerEvent::Rooms { .. }
            | ServerEvent::Topic { .. } => self.room_answer(&event),
            // The answer to `identity_add` or `identity_remove`.
            ServerEvent::Identities { .. } => Some(self.inflight.pop_front()),
            // The room told of what we asked (others' are not answers).
            ServerEvent::Moderation { by: Some(by), .. } if self.is_me(by) => {
                Some(self.answered_by(input::moderates))
            }
            ServerEvent::Bans { .. } => {
                Some(self.answered_by(|event| matches!(event, ClientEvent::Bans)))
            }
            ServerEvent::Error { .. } => {
                let refused = self.inflight.pop_front();
                if refused.is_some() && refused.as_ref().map(|p| p.seq) == self.refresh {
                    // A refresh refused (the pacer keeps this from
                    // happening): no line of the user's, nothing to show.
                    self.refresh = None;
                    self.drop_paging(events);
                    return;
                }
                let why = match &event {
                    ServerEvent::Error { message, .. } => message.clone(),
                    _ => String::new(),
                };
                events.push(Event::Server { event, raw });
                if let Some(pending) = refused {
                    self.on_refused_join(&pending, &why, events);
                    events.push(Event::Refused(pending.seq));
                }
                return;
            }
            _ => None,
        };
        let bye = match &event {
            ServerEvent::Bye {
                code,
                reason,
                until,
            } => Some((*code, reason.clone(), *until)),
            _ => None,
        };
        events.push(Event::Server { event, raw });
        if let Some(Some(pending)) = answer {
            events.push(Event::Confirmed(pending.seq));
        }
        if let Some((code, reason, until)) = bye {
            if let Some(conn) = self.conn.as_mut() {
                conn.close(close::NORMAL).await;
            }
            let exit = match code {
                ByeCode::Banned => Exit::Banned,
                _ => Exit::Disconnected,
            };
            let failure = Failure::new(exit, render::disconnected(code, &reason, until));
            let passing = matches!(
                code,
                ByeCode::Shutdown | ByeCode::TooSlow | ByeCode::Timeout
            );
            if passing {
                self.lost(failure, events);
            } else {
                let remedy = Remedy::after(&failure, code == ByeCode::KeyRotated);
                self.end(failure, remedy, events);
            }
        }
    }

    /// The line an echo answers: the one with its client id, else (a
    /// server that echoes none) the oldest one sent.
    pub(super) fn answered(&mut self, cid: Option<&str>) -> Option<Pending> {
        if let Some(cid) = cid
            && let Some(at) = self
                .inflight
                .iter()
                .position(|p| cid_of(&p.event) == Some(cid))
        {
            return self.inflight.remove(at);
        }
        self.inflight.pop_front()
    }

    /// The oldest line sent that `asked` says this answer is for.
    pub(super) fn answered_by(&mut self, asked: impl Fn(&ClientEvent) -> bool) -> Option<Pending> {
        let at = self.inflight.iter().position(|p| asked(&p.event))?;
        self.inflight.remove(at)
    }

    pub(super) fn remember(&mut self, entry: &HistoryEntry) {
        self.seen_in(entry.room.as_ref(), entry.id);
        if self.seen.insert((entry.id, entry.ts)) {
            self.seen_order.push_back((entry.id, entry.ts));
            if self.seen_order.len() > SEEN_MAX
                && let Some(old) = self.seen_order.pop_front()
            {
                self.seen.remove(&old);
            }
        }
    }

    pub(super) fn is_me(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.me)
    }
}
