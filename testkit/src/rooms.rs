//! Rooms through a [`RawClient`]: join one and wait for its answer, say
//! something in one and wait for the echo, wait for a refusal, wait for a
//! room's list of users.

use chat_protocol::{ClientEvent, ErrorCode, RoomJoined, RoomName, ServerEvent};

use crate::RawClient;

impl RawClient {
    /// Sends `join_room {room, after}` and waits for its `room_joined`
    /// (skipping other events); panics on an `error` instead.
    pub async fn join_room(&mut self, room: &str, after: Option<u64>) -> RoomJoined {
        self.send(&ClientEvent::JoinRoom {
            room: room.into(),
            after,
        })
        .await;
        self.recv_until(&format!("room_joined {room}"), |e| match e {
            ServerEvent::RoomJoined(joined) => Some(joined.clone()),
            ServerEvent::Error { code, message, .. } => {
                panic!("join_room {room} refused: {code:?} {message}")
            }
            _ => None,
        })
        .await
    }

    /// Says `text` in `room` (`None`: the default room, no `room` sent)
    /// and waits for its echo; its id.
    pub async fn say_in(&mut self, room: Option<&str>, text: &str) -> u64 {
        self.send(&ClientEvent::Say {
            room: room.map(str::to_owned),
            text: text.into(),
            cid: None,
        })
        .await;
        // The default room's events carry no `room`, even when named.
        let folded = room
            .map(|r| RoomName::parse(r).expect("a room's name"))
            .filter(|r| Some(r) != self.welcome.default_room.as_ref());
        self.recv_until(&format!("the echo of {text:?}"), |e| match e {
            ServerEvent::Message(m) if m.text == text => {
                assert_eq!(m.room, folded, "the echo of {text:?} carries its room");
                Some(m.id)
            }
            ServerEvent::Error { code, message, .. } => {
                panic!("{text:?} refused: {code:?} {message}")
            }
            _ => None,
        })
        .await
    }

    /// Sends `event` and waits for the `error` it gets: its code, room and
    /// words.
    pub async fn refused(&mut self, event: &ClientEvent) -> (ErrorCode, Option<RoomName>, String) {
        self.send(event).await;
        self.recv_until(&format!("the refusal of {event:?}"), |e| match e {
            ServerEvent::Error {
                code,
                room,
                message,
                ..
            } => Some((*code, room.clone(), message.clone())),
            ServerEvent::RoomJoined(j) => panic!("{event:?} was answered room_joined {}", j.room),
            _ => None,
        })
        .await
    }

    /// Asks `who` in `room` (`None`: the default room) until the list is
    /// `expected` (the users of other nodes come through NATS, a moment
    /// after they joined), within [`crate::DEADLINE`].
    pub async fn wait_users(&mut self, room: Option<&str>, expected: &[&str]) {
        let start = std::time::Instant::now();
        loop {
            self.send(&ClientEvent::Who {
                room: room.map(str::to_owned),
                after: None,
            })
            .await;
            let users = self
                .recv_until("the users", |e| match e {
                    ServerEvent::Users { users, .. } => Some(users.clone()),
                    _ => None,
                })
                .await;
            if users == expected {
                return;
            }
            assert!(
                start.elapsed() < crate::DEADLINE,
                "{} sees {users:?} in {room:?}, not {expected:?}",
                self.welcome.name
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}
