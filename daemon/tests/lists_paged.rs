//! Lists of everyone online past one server message's cap (1 MiB): the
//! `welcome`, the `users` answer to `who` and a room's `room_joined` hold
//! the first part and say `more`, and `who` with `after` gives the rest,
//! until the whole list is read (docs/protocol.md, "Long lists").
//!
//! Thousands of users are listed without thousands of joins: the test
//! writes their name claims into the cluster's names bucket, as a node
//! "ghost" would (a real nats-server, the real chatd watching it); this
//! node lists them as it lists any other node's users, in the same roster
//! as its own.

use chat_protocol::sizes::MAX_SERVER_MESSAGE;
use chat_protocol::{ClientEvent, Identity, Member, ServerEvent};
use testkit::{Daemon, Nats, RawClient};

/// Users of the ghost node: with 32-byte names and an identity each, a
/// user takes 145 bytes of the lists, so 8 000 take 1.16 MB, past the
/// 1 MiB cap.
const GHOSTS: usize = 8_000;

const CONFIG: &str = "limit_exempt = [\"127.0.0.0/8\"]\ncluster_claim_ttl = \"1h\"\n";

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.read_key(), name, "")
        .await
        .joined()
}

/// Waits until `client` is told that `online` users are online.
async fn wait_online(client: &mut RawClient, online: usize) {
    client
        .recv_until(&format!("{online} online"), |e| match e {
            ServerEvent::Join {
                online: n,
                room: None,
                ..
            }
            | ServerEvent::Presence {
                online: n,
                room: None,
                ..
            } if *n == online => Some(()),
            _ => None,
        })
        .await;
}

/// The rest of a list cut with `more`, read with `who` and `after` (the
/// last name's folded form) until a page says no more, added to `users`
/// and `members`; the pages read.
async fn read_the_rest(
    client: &mut RawClient,
    room: Option<&str>,
    users: &mut Vec<String>,
    members: &mut Vec<Member>,
) -> usize {
    let mut pages = 0;
    loop {
        let after = users
            .last()
            .expect("a page holds users")
            .to_ascii_lowercase();
        client
            .send(&ClientEvent::Who {
                room: room.map(str::to_string),
                after: Some(after),
            })
            .await;
        let (page, listed, more) = client
            .recv_until("a page of users", |e| match e {
                ServerEvent::Users {
                    users,
                    members,
                    more,
                    ..
                } => Some((users.clone(), members.clone(), *more)),
                _ => None,
            })
            .await;
        pages += 1;
        users.extend(page);
        members.extend(listed);
        if !more {
            return pages;
        }
    }
}

/// Checks a list read whole: `expected`, once each, in folded order, the
/// members beside the names with the ghosts' identity.
fn check_whole(users: &[String], members: &[Member], mut expected: Vec<String>) {
    expected.sort_by_key(|n| n.to_ascii_lowercase());
    assert_eq!(users.len(), expected.len(), "as many as online");
    assert!(users == expected, "the whole list, in folded order");
    assert_eq!(members.len(), users.len());
    let ghost_key = Identity::from_seed(&[9; 32]).public();
    for (user, member) in users.iter().zip(members) {
        assert_eq!(*user, member.name);
        let ghost = user.len() == 32;
        assert_eq!(member.identity.is_some(), ghost, "{user}'s identity");
        assert!(!ghost || member.identity == Some(ghost_key));
    }
}

#[tokio::test]
async fn lists_past_the_message_cap_are_paged_and_whole_once_read() {
    let nats = Nats::start();
    let d = Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), "here")
        .start();
    let mut watcher = join(&d, "watcher").await;
    let ghosts = testkit::long_names(GHOSTS);
    let identity = Identity::from_seed(&[9; 32]).public();
    testkit::claim_names(&nats, "ghost", &ghosts, Some(identity), &["#big"]).await;
    wait_online(&mut watcher, GHOSTS + 1).await;

    // A join: its Welcome holds the first part, in one message.
    let mut late = join(&d, "late").await;
    let welcome = late.welcome.clone();
    assert!(welcome.more, "the Welcome says its lists go on");
    assert!(late.received <= MAX_SERVER_MESSAGE as u64);
    let (mut users, mut members) = (welcome.users, welcome.members);
    assert!(users.len() > 1_000, "{} in the Welcome", users.len());
    let pages = read_the_rest(&mut late, None, &mut users, &mut members).await;
    assert!(pages >= 1);
    let everyone = [ghosts.clone(), vec!["watcher".into(), "late".into()]].concat();
    check_whole(&users, &members, everyone.clone());

    // `who` as an older client sends it: the first part, with `more`;
    // then the rest.
    watcher
        .send(&ClientEvent::Who {
            room: None,
            after: None,
        })
        .await;
    let (mut users, mut members, more) = watcher
        .recv_until("the users", |e| match e {
            ServerEvent::Users {
                room: None,
                users,
                members,
                more,
            } => Some((users.clone(), members.clone(), *more)),
            _ => None,
        })
        .await;
    assert!(more, "the answer says the list goes on");
    read_the_rest(&mut watcher, None, &mut users, &mut members).await;
    check_whole(&users, &members, everyone);

    // A room of them: `room_joined` holds the first part, `who` with the
    // room the rest.
    late.send(&ClientEvent::JoinRoom {
        room: "#big".into(),
        after: None,
    })
    .await;
    let joined = late
        .recv_until("room_joined", |e| match e {
            ServerEvent::RoomJoined(joined) => Some(joined.clone()),
            _ => None,
        })
        .await;
    assert!(joined.more, "room_joined says its lists go on");
    let (mut users, mut members) = (joined.users, joined.members);
    read_the_rest(&mut late, Some("#big"), &mut users, &mut members).await;
    check_whole(&users, &members, [ghosts, vec!["late".into()]].concat());
}
