//! Presence coalescing against the real `chatd`: in a room above
//! `presence_summary_above`, joins and leaves come as `presence` summaries;
//! kicks stay single `leave` events; `who` stays exact; a reload changes
//! the threshold.

use chat_protocol::{ClientEvent, ServerEvent};
use testkit::{Daemon, RawClient, admin_call, wait_until};

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.key, name, "").await.joined()
}

/// Waits until the server's room holds `n` users.
fn wait_online(d: &Daemon, n: u64) {
    wait_until(&format!("{n} online"), || {
        let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
        (status["online"] == n).then_some(())
    });
}

/// An event about presence in short: `+name/online`, `-name/online:reason`,
/// `joined,left/online`; `None` for other events.
fn short(event: &ServerEvent) -> Option<String> {
    match event {
        ServerEvent::Join { name, online, .. } => Some(format!("+{name}/{online}")),
        ServerEvent::Leave {
            name,
            online,
            reason,
            ..
        } => Some(format!("-{name}/{online}:{reason}")),
        ServerEvent::Presence {
            joined,
            left,
            online,
            ..
        } => Some(format!("{joined},{left}/{online}")),
        _ => None,
    }
}

/// The events about presence `client` gets up to and including the first
/// that `last` picks.
async fn presence_until(client: &mut RawClient, last: &str) -> Vec<String> {
    let mut seen = Vec::new();
    client
        .recv_until(last, |e| {
            let s = short(e)?;
            let done = s == last;
            seen.push(s);
            done.then_some(())
        })
        .await;
    seen
}

async fn who(client: &mut RawClient) -> Vec<String> {
    client
        .send(&ClientEvent::Who {
            room: None,
            after: None,
        })
        .await;
    client
        .recv_until("the users answer", |e| match e {
            ServerEvent::Users { users, .. } => Some(users.clone()),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn above_the_threshold_a_burst_is_one_summary_a_kick_stays_single_and_who_is_exact() {
    // An hour: the summary comes only before the kick, deterministically.
    let config = "presence_summary_above = 3\npresence_interval = \"1h\"\nlimit_exempt = [\"127.0.0.0/8\"]\n";
    let d = Daemon::builder().config(config).start();
    let mut ace = join(&d, "ace").await;
    let _bob = join(&d, "bob").await;
    let _cat = join(&d, "cat").await;
    // At or below the threshold: one event each, as always.
    assert_eq!(
        presence_until(&mut ace, "+cat/3").await,
        ["+bob/2", "+cat/3"]
    );

    let mut burst = Vec::new();
    for i in 0..20 {
        burst.push(join(&d, &format!("u{i:02}")).await);
    }
    for gone in burst.drain(..5) {
        gone.leave().await;
    }
    wait_online(&d, 18);
    let (code, body) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/users/bob/kick",
        Some(r#"{"reason":"spam"}"#),
    );
    assert_eq!(code, 200, "{body}");
    // 25 joins and leaves cost ace one event; the kick is told on its own,
    // after the summary of what came before it.
    assert_eq!(
        presence_until(&mut ace, "-bob/17:kicked: spam").await,
        ["20,5/18", "-bob/17:kicked: spam"]
    );
    let mut expected = vec!["ace".to_string(), "cat".to_string()];
    expected.extend((5..20).map(|i| format!("u{i:02}")));
    assert_eq!(who(&mut ace).await, expected);
    // The summary goes to who joined in the meantime too: exact online.
    let last = burst.last_mut().unwrap();
    assert_eq!(
        presence_until(last, "-bob/17:kicked: spam").await,
        ["20,5/18", "-bob/17:kicked: spam"]
    );

    // A reload raises the threshold: single events again, at once.
    std::fs::write(d.root().join("chatd.toml"), config.replace("= 3", "= 1000")).unwrap();
    let (code, body) = admin_call(&d.runtime_dir, "POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
    assert!(
        body["changed"]
            .as_array()
            .unwrap()
            .contains(&"presence_summary_above".into()),
        "{body}"
    );
    let _dan = join(&d, "dan").await;
    assert_eq!(presence_until(&mut ace, "+dan/18").await, ["+dan/18"]);
}

#[tokio::test]
async fn the_summary_comes_by_itself_after_the_interval() {
    let d = Daemon::builder()
        .config("presence_summary_above = 0\npresence_interval = \"100ms\"\n")
        .start();
    let mut ace = join(&d, "ace").await;
    let _bob = join(&d, "bob").await;
    let _cat = join(&d, "cat").await;
    // However the joins fall into intervals, the summaries add up to them
    // (ace's own join included, as documented), and no single event comes.
    let mut joined = 0;
    let online = ace
        .recv_until("summaries of three joins", |e| match e {
            ServerEvent::Presence {
                joined: j, online, ..
            } => {
                joined += j;
                (joined == 3).then_some(*online)
            }
            ServerEvent::Join { .. } | ServerEvent::Leave { .. } => {
                panic!("a single event above the threshold: {e:?}")
            }
            _ => None,
        })
        .await;
    assert_eq!(online, 3);
}
