//! Floods of events: the rate limit (a token bucket per connection) drops
//! what is over it with an `error` `rate_limited` and keeps the
//! connection; the room gets exactly what was taken, nothing more.
//! The scenes use a burst of 3 and 1 per second.

use chat_protocol::{ClientEvent, ErrorCode, ServerEvent};
use testkit::RawClient;

use crate::{Scene, say};

const CONFIG: &str = "rate_burst = 3\nrate_per_second = 1\n";
const FLOOD: usize = 30;

/// Reads mallory's answers to `FLOOD` events: the texts taken (echoed) and
/// the number refused with `rate_limited` (each with the documented
/// wording). Every event gets exactly one of the two.
async fn answers(
    mallory: &mut RawClient,
    echoed: impl Fn(&ServerEvent) -> Option<String>,
) -> (Vec<String>, usize) {
    let (mut taken, mut limited) = (Vec::new(), 0);
    while taken.len() + limited < FLOOD {
        match mallory.recv().await.expect("the flooder stays connected") {
            ServerEvent::Error { code, message, .. } => {
                assert_eq!(code, ErrorCode::RateLimited, "{message}");
                assert_eq!(
                    message,
                    "slow down: at most 1 message per second (bursts of 3)"
                );
                limited += 1;
            }
            event => taken.extend(echoed(&event)),
        }
    }
    (taken, limited)
}

#[tokio::test]
async fn a_message_flood_is_rate_limited_and_the_room_gets_only_what_was_taken() {
    let mut s = Scene::start(CONFIG).await;
    let mut mallory = s.member("mallory").await;
    for i in 0..FLOOD {
        mallory.send(&say(&format!("flood {i}"))).await;
    }
    let (taken, limited) = answers(&mut mallory, |e| match e {
        ServerEvent::Message(m) if m.from == "mallory" => Some(m.text.clone()),
        _ => None,
    })
    .await;
    assert!(
        limited > 0 && taken.len() >= 3,
        "taken {taken:?}, limited {limited}"
    );
    let seen = s
        .unharmed_but(|e| match e {
            ServerEvent::Join { name, .. } => name == "mallory",
            ServerEvent::Message(m) => m.from == "mallory",
            _ => false,
        })
        .await;
    let relayed: Vec<String> = seen
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Message(m) => Some(m.text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(relayed, taken, "the room got other than what was taken");
}

/// A dm flood at the honest member: it gets exactly the dms taken.
#[tokio::test]
async fn a_dm_flood_is_rate_limited_and_the_addressee_gets_only_what_was_taken() {
    let mut s = Scene::start(CONFIG).await;
    let mut mallory = s.member("mallory").await;
    for i in 0..FLOOD {
        let dm = ClientEvent::Dm {
            to: "honest".into(),
            text: format!("dm {i}"),
            cid: None,
        };
        mallory.send(&dm).await;
    }
    let (taken, _) = answers(&mut mallory, |e| match e {
        ServerEvent::Dm { text, .. } => Some(text.clone()),
        _ => None,
    })
    .await;
    let seen = s
        .unharmed_but(|e| match e {
            ServerEvent::Join { name, .. } => name == "mallory",
            ServerEvent::Dm { from, .. } => from == "mallory",
            _ => false,
        })
        .await;
    let got: Vec<String> = seen
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Dm { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(got, taken);
}

/// `who` costs a token too: a flood of it is limited the same way, and
/// the room sees none of it.
#[tokio::test]
async fn a_who_flood_is_rate_limited() {
    let mut s = Scene::start(CONFIG).await;
    let mut mallory = s.member("mallory").await;
    for _ in 0..FLOOD {
        mallory
            .send(&ClientEvent::Who {
                room: None,
                after: None,
            })
            .await;
    }
    let (taken, limited) = answers(&mut mallory, |e| match e {
        ServerEvent::Users { .. } => Some("users".into()),
        _ => None,
    })
    .await;
    assert!(
        limited > 0 && taken.len() >= 3,
        "taken {}, limited {limited}",
        taken.len()
    );
    s.unharmed_but(|e| matches!(e, ServerEvent::Join { name, .. } if name == "mallory"))
        .await;
}

/// Refused texts cost a token as well, so invalid events cannot be sent
/// faster than valid ones: after the burst, even they get `rate_limited`.
#[tokio::test]
async fn refused_texts_are_rate_limited_too() {
    let mut s = Scene::start(CONFIG).await;
    let mut mallory = s.member("mallory").await;
    for _ in 0..FLOOD {
        mallory.send(&say("\u{1b}[2J")).await;
    }
    let (mut invalid, mut limited) = (0, 0);
    while invalid + limited < FLOOD {
        match mallory.recv().await.expect("stays connected") {
            ServerEvent::Error {
                code: ErrorCode::TextInvalid,
                ..
            } => invalid += 1,
            ServerEvent::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        invalid >= 3 && limited > 0,
        "invalid {invalid}, limited {limited}"
    );
    s.unharmed_but(|e| matches!(e, ServerEvent::Join { name, .. } if name == "mallory"))
        .await;
}
