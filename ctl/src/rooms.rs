//! `chatctl rooms`, and the room of `users --room` and `say --room`: the
//! room read from the command line (with or without its `#`, a usage
//! error naming the rule otherwise), each action to its admin API call,
//! and the answers in words and as a table.

use chat_protocol::RoomName;
use chat_protocol::admin::{
    InviteRequest, Invited, RoomAddRequest, RoomAdded, RoomRemoved, Rooms, TopicRequest, TopicSet,
};
use hyper::Method;

use crate::cli::RoomsAction;
use crate::client::Client;
use crate::exit::{Exit, Failure};
use crate::output::{one_line, table};
use crate::show;

/// A room as typed: `#ops` or `ops`; a usage error (exit 2) otherwise.
pub fn parse(text: &str) -> Result<RoomName, Failure> {
    let with_hash = if text.starts_with('#') {
        text.to_owned()
    } else {
        format!("#{text}")
    };
    RoomName::parse(&with_hash).map_err(|e| Failure::new(Exit::Usage, e.to_string()))
}

/// A room in a URL path: its name without the `#` (all of it is safe
/// in a path: `a-z 0-9 _ . -`).
pub fn path(room: &RoomName) -> String {
    format!("/v1/rooms/{}", room.bare())
}

/// Runs `chatctl rooms [ACTION]`; what to print.
pub async fn run(
    client: &mut Client,
    json: bool,
    action: Option<RoomsAction>,
) -> anyhow::Result<String> {
    Ok(match action {
        None => show(json, client.get::<Rooms>("/v1/rooms").await?, list),
        Some(RoomsAction::Add {
            room,
            topic,
            private,
        }) => {
            if let Some(topic) = &topic {
                chat_protocol::validate_topic(topic)
                    .map_err(|(_, e)| Failure::new(Exit::Usage, e))?;
            }
            let request = RoomAddRequest {
                room: parse(&room)?.to_string(),
                topic,
                private,
            };
            let answer = client
                .call::<RoomAdded>(Method::POST, "/v1/rooms", Some(&request))
                .await?;
            show(json, answer, |a| {
                let done = if a.made {
                    "made"
                } else {
                    "exists; it is lasting now"
                };
                format!("room {} {done}\n", a.room)
            })
        }
        Some(RoomsAction::Remove { room }) => {
            let room = parse(&room)?;
            let answer = client
                .call::<RoomRemoved>(Method::DELETE, &path(&room), None::<&()>)
                .await?;
            show(json, answer, |r| {
                format!(
                    "room {} removed with its history ({} taken out)\n",
                    r.room, r.parted
                )
            })
        }
        Some(RoomsAction::Topic { room, text }) => {
            let room = parse(&room)?;
            let text = text.join(" ");
            chat_protocol::validate_topic(&text).map_err(|(_, e)| Failure::new(Exit::Usage, e))?;
            let answer = client
                .call::<TopicSet>(
                    Method::PUT,
                    &format!("{}/topic", path(&room)),
                    Some(&TopicRequest { text }),
                )
                .await?;
            show(json, answer, |t| {
                format!("topic of {} set ({} told)\n", t.room, t.delivered)
            })
        }
        Some(RoomsAction::Invite { room, name }) => {
            let room = parse(&room)?;
            let answer = client
                .call::<Invited>(
                    Method::POST,
                    &format!("{}/invite", path(&room)),
                    Some(&InviteRequest { name }),
                )
                .await?;
            show(json, answer, |i| {
                format!("{} invited into {}\n", one_line(&i.name), i.room)
            })
        }
    })
}

/// `chatctl rooms`: a table, the default room first.
fn list(r: &Rooms) -> String {
    let yes = |b: bool| if b { "yes" } else { "" }.to_string();
    let rows: Vec<Vec<String>> = r
        .rooms
        .iter()
        .map(|room| {
            let name = if room.default {
                format!("{} (default)", room.room)
            } else {
                room.room.to_string()
            };
            vec![
                name,
                room.online.to_string(),
                room.messages.to_string(),
                yes(room.private),
                yes(room.lasting),
                room.topic.as_deref().map(one_line).unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &["ROOM", "ONLINE", "MESSAGES", "PRIVATE", "LASTING", "TOPIC"],
        &rows,
        &[false, true, true, false, false, false],
    )
}
