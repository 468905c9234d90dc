//! A join for a load generator: the `Welcome`'s lists of everyone online
//! and its history are skimmed, not read ([`Greeted::auth_skimming`]).

use chat_protocol::ServerEvent;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::connect::next_binary;
use super::{Greeted, Outcome, RawClient};

/// A `Welcome` read but for its lists and history, which are passed over
/// ([`Greeted::auth_skimming`]).
#[derive(serde::Deserialize)]
pub(super) struct Skimmed {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    more: bool,
    #[serde(default)]
    resumed: bool,
    #[serde(default)]
    last_id: Option<u64>,
    rate: Option<chat_protocol::RateLimit>,
    #[serde(default)]
    max_text: usize,
    #[serde(default)]
    server: String,
    #[serde(default)]
    default_room: Option<chat_protocol::RoomName>,
    #[serde(default)]
    rooms: Vec<chat_protocol::RoomName>,
}

impl Skimmed {
    pub(super) fn into_welcome(self) -> chat_protocol::Welcome {
        chat_protocol::Welcome {
            name: self.name,
            users: Vec::new(),
            members: Vec::new(),
            more: self.more,
            history: Vec::new(),
            gap: false,
            resumed: self.resumed,
            last_id: self.last_id,
            motd: None,
            rate: self.rate.expect("a welcome says its rate"),
            max_text: self.max_text,
            server: self.server,
            default_room: self.default_room,
            rooms: self.rooms,
            topic: None,
        }
    }
}

impl Greeted {
    /// [`Greeted::auth`] for a load generator: a `Welcome`'s lists of
    /// everyone online and its history are skimmed, not read (left empty
    /// in [`RawClient::welcome`]): at 10 000 online, reading every name of
    /// every joiner's `Welcome` cost the generator more than the server.
    pub async fn auth_skimming(mut self, auth: &[u8]) -> Outcome {
        let sealed = self.session.sealer.seal(auth).unwrap();
        self.ws
            .send(Message::Binary(sealed.into()))
            .await
            .expect("send auth");
        let reply = match next_binary(&mut self.ws).await {
            Ok(reply) => reply,
            Err((code, reason)) => return Outcome::Closed(code, reason),
        };
        let plain = self
            .session
            .opener
            .open(&reply, chat_protocol::sizes::MAX_SERVER_MESSAGE)
            .expect("welcome opens");
        let welcome = match serde_json::from_slice::<Skimmed>(&plain) {
            Ok(skimmed) if skimmed.kind == "welcome" => skimmed.into_welcome(),
            _ => match serde_json::from_slice::<ServerEvent>(&plain).expect("answer parses") {
                ServerEvent::Reject { code, reason, .. } => return Outcome::Rejected(code, reason),
                ServerEvent::Bye { code, reason, .. } => return Outcome::Ended(code, reason),
                other => panic!("expected welcome or reject, got {other:?}"),
            },
        };
        Outcome::Joined(Box::new(RawClient {
            ws: self.ws,
            session: self.session,
            welcome,
            received: reply.len() as u64,
        }))
    }
}
