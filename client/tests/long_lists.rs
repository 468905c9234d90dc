//! End-to-end: the real `chat` against the real chatd whose lists of
//! everyone online pass one server message (8 000 users of another node,
//! claimed on a real nats-server, beside the local ones): the `welcome`
//! and `room_joined` hold the first part and say `more`, and the client
//! reads the rest with `who {after}`. `--plain` shows the first part
//! ending with `…`, then the whole list once read; `--json` prints the
//! whole list as one `users` event.

mod common;

use chat_protocol::{Identity, ServerEvent};
use common::Chat;
use testkit::{Daemon, Nats, RawClient};

/// Users of the other node: 32-byte names with an identity each, 1.16 MB
/// of lists.
const OTHERS: usize = 8_000;

const CONFIG: &str = "limit_exempt = [\"127.0.0.0/8\"]\ncluster_claim_ttl = \"1h\"\n";

/// The names in the last `-!- online…: ` line of `out` that starts with
/// `prefix`.
fn listed(out: &str, prefix: &str) -> Vec<String> {
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?}"));
    line[prefix.len()..]
        .split(", ")
        .map(str::to_owned)
        .collect()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names
}

#[tokio::test]
async fn the_line_client_reads_lists_past_one_message_whole() {
    let nats = Nats::start();
    let d = Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), "here")
        .start();
    let mut watcher = RawClient::join(&d.url, &d.key, "watcher", "")
        .await
        .joined();
    let others = testkit::long_names(OTHERS);
    let identity = Identity::from_seed(&[9; 32]).public();
    testkit::claim_names(&nats, "ghost", &others, Some(identity), &["#big"]).await;
    watcher
        .recv_until("everyone listed", |e| match e {
            ServerEvent::Join { online, .. } | ServerEvent::Presence { online, .. }
                if *online == OTHERS + 1 =>
            {
                Some(())
            }
            _ => None,
        })
        .await;

    // --plain: the Welcome's part, then everyone; a room's likewise.
    let mut chat = Chat::joined(&d.url, &d.key, "ace", &["--plain"]);
    let everyone = sorted([others.clone(), vec!["ace".into(), "watcher".into()]].concat());
    chat.wait_out(&format!("-!- online: {}, ", everyone[0]));
    chat.wait_out(", …\n");
    chat.wait_out(", watcher\n");
    assert_eq!(listed(&chat.stdout(), "-!- online: "), everyone);
    chat.line("/join #big");
    let in_big = sorted([others.clone(), vec!["ace".into()]].concat());
    chat.wait_out("-!- joined #big (");
    chat.wait_out(&format!(", {}\n", in_big.last().unwrap()));
    assert_eq!(listed(&chat.stdout(), "-!- online in #big: "), in_big);
    // A `/who` typed: answered once, whole (after the room_joined's
    // first part and the whole list read after it).
    chat.line("/who");
    let in_room = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("-!- online in #big: "))
            .count()
    };
    testkit::wait_until("the /who's answer", || {
        (in_room(&chat.stdout()) == 3).then_some(())
    });
    let out = chat.stdout();
    let answer = out
        .lines()
        .filter(|l| l.starts_with("-!- online in #big: "))
        .nth(2)
        .expect("the /who's answer");
    assert!(answer.ends_with(&format!(", {}", in_big.last().unwrap())));
    assert_eq!(listed(&chat.stdout(), "-!- online in #big: "), in_big);
    chat.end_input();
    assert_eq!(chat.wait_exit(), 0, "{}", chat.stderr());

    // --json: the whole list as one `users` event, after the welcome.
    let mut json = Chat::start(&d.url, &d.key, &["--username", "bea", "--json"]);
    json.wait_out(r#""type":"users""#);
    let out = json.stdout();
    let welcome = out.lines().next().expect("the welcome's line");
    let Ok(ServerEvent::Welcome(welcome)) = serde_json::from_str(welcome) else {
        panic!("the first line is not a welcome");
    };
    assert!(welcome.more && welcome.users.len() < OTHERS);
    let users = out
        .lines()
        .find(|l| l.contains(r#""type":"users""#))
        .expect("a users line");
    let Ok(ServerEvent::Users { users, more, .. }) = serde_json::from_str(users) else {
        panic!("not a users event");
    };
    assert!(!more);
    let everyone = sorted([others, vec!["bea".into(), "watcher".into()]].concat());
    assert_eq!(users, everyone);
    json.end_input();
    assert_eq!(json.wait_exit(), 0, "{}", json.stderr());
}
