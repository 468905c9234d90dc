//! The admin API across the nodes of a cluster: two real chatd nodes on a
//! real nats-server, driven with the real `chatctl`. A kick, a notice and a
//! reload asked on one node act on the other; `users` lists both nodes'
//! users with their node; `status` lists the nodes alive and says when
//! NATS is out of reach.

use chat_protocol::{ByeCode, ServerEvent};
use serde_json::Value;
use std::time::{Duration, Instant};

use testkit::{DEADLINE, Daemon, Nats, RawClient};

/// A node's configuration: a short claim lifetime, so a dead node leaves
/// the list soon; loopback exempt from the per-address limits.
const CONFIG: &str = r#"
cluster_claim_ttl = "3s"
limit_exempt = ["127.0.0.0/8"]
"#;

fn node(nats: &Nats, name: &str) -> Daemon {
    Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), name)
        .start()
}

/// Runs `chatctl --socket … ARGS`: exit code, stdout, stderr.
fn chatctl(d: &Daemon, args: &[&str]) -> (i32, String, String) {
    d.chatctl(args)
}

/// `chatctl --json ARGS`, which must succeed: its answer.
fn chatctl_json(d: &Daemon, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out, err) = chatctl(d, &all);
    assert_eq!(
        code,
        0,
        "chatctl {args:?}: {out}{err}\nchatd's log:\n{}",
        d.log()
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The status's nodes as (name, online) pairs.
fn nodes_of(status: &Value) -> Option<Vec<(String, u64)>> {
    Some(
        status["nodes"]
            .as_array()?
            .iter()
            .map(|n| {
                (
                    n["node"].as_str().unwrap().to_string(),
                    n["online"].as_u64().unwrap(),
                )
            })
            .collect(),
    )
}

/// Waits until `d`'s status lists exactly these nodes with these counts.
fn wait_for_nodes(d: &Daemon, want: &[(&str, u64)]) -> Value {
    let want: Vec<(String, u64)> = want.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    let mut last = Value::Null;
    let found = wait_until_or_none(|| {
        last = chatctl_json(d, &["status"]);
        (nodes_of(&last).as_ref() == Some(&want)).then(|| last.clone())
    });
    found.unwrap_or_else(|| {
        panic!(
            "status never listed {want:?}; the last:\n{last}\nchatd's log:\n{}",
            d.log()
        )
    })
}

/// Polls `check` every 200 ms (each poll runs chatctl) until it returns
/// `Some`, or panics naming `what`.
fn wait_until<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    wait_until_or_none(check).unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// [`wait_until`], `None` at the deadline.
fn wait_until_or_none<T>(mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if start.elapsed() > DEADLINE {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.key, name, "").await.joined()
}

#[tokio::test]
async fn a_kick_on_one_node_ends_a_user_on_the_other() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let n2 = node(&nats, "n2");
    assert_eq!(n1.key, n2.key, "one room, one key");
    let mut ace = join(&n2, "ace").await;
    // Both nodes listen for orders once they are listed alive.
    wait_for_nodes(&n1, &[("n1", 0), ("n2", 1)]);

    let kicked = chatctl_json(&n1, &["kick", "ACE", "--reason", "spamming"]);
    assert_eq!(kicked["node"], "n2", "{kicked}");
    let (events, _) = ace.recv_to_close().await;
    let bye = events.iter().find_map(|e| match e {
        ServerEvent::Bye {
            code: ByeCode::Kicked,
            reason,
            ..
        } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(bye.as_deref(), Some("spamming"), "{events:?}");
    n2.wait_for_log("asked on another node");

    // No one of that name on any node: 404, as on a single chatd.
    let (code, out, _) = chatctl(&n1, &["--json", "kick", "nobody"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(r#""code":"no_such_user""#), "{out}");
    // A user of the asked node itself is kicked there, at once.
    let mut bob = join(&n1, "bob").await;
    let (code, out, err) = chatctl(&n1, &["kick", "bob"]);
    assert_eq!((code, out.as_str()), (0, "kicked bob\n"), "{err}");
    let (_, close) = bob.recv_to_close().await;
    assert_eq!(close.0, 1000);
}

#[tokio::test]
async fn a_notice_on_one_node_reaches_the_users_of_the_other() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let n2 = node(&nats, "n2");
    let mut ace = join(&n1, "ace").await;
    wait_for_nodes(&n2, &[("n1", 1), ("n2", 0)]);

    let (code, out, err) = chatctl(&n2, &["say", "maintenance", "at", "noon"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "notice sent to 0 users on this node, and to the other nodes\n"
    );
    let text = ace
        .recv_until("the notice", |e| match e {
            ServerEvent::Notice { text, .. } => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "maintenance at noon");
}

#[tokio::test]
async fn users_lists_every_nodes_users_with_their_node() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let n2 = node(&nats, "n2");
    let _carol = join(&n2, "carol").await;
    let _ace = join(&n1, "ace").await;
    let _bob = join(&n2, "Bob").await;
    wait_for_nodes(&n1, &[("n1", 1), ("n2", 2)]);

    let users = chatctl_json(&n1, &["users"]);
    let listed: Vec<(&str, &str)> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].as_str().unwrap(), u["node"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [("ace", "n1"), ("Bob", "n2"), ("carol", "n2")]);
    assert!(users.get("warning").is_none(), "{users}");
    let (code, table, _) = chatctl(&n1, &["users"]);
    assert_eq!(code, 0);
    let mut lines = table.lines();
    assert!(
        lines.next().unwrap().starts_with("NAME   NODE  ADDRESS"),
        "{table}"
    );
    assert!(
        lines.next().unwrap().starts_with("ace    n1    127.0.0.1:"),
        "{table}"
    );

    // A node listed alive that does not answer (stopped): its users are
    // missing, and the answer says whose.
    n2.signal(libc::SIGSTOP);
    let users = chatctl_json(&n1, &["users"]);
    let (_, table, _) = chatctl(&n1, &["users"]);
    n2.signal(libc::SIGCONT);
    assert_eq!(users["users"].as_array().unwrap().len(), 1, "{users}");
    let warning = users["warning"].as_str().expect("a warning");
    assert!(warning.contains("n2"), "{warning}");
    assert!(table.ends_with("users are not listed\n"), "{table}");
    assert!(
        table.contains("\nwarning: no answer within 1 s from node n2"),
        "{table}"
    );
}

#[tokio::test]
async fn status_lists_the_nodes_alive_and_drops_a_dead_one() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let mut n2 = node(&nats, "n2");
    let _ace = join(&n1, "ace").await;
    let _bob = join(&n2, "bob").await;
    let _carol = join(&n2, "carol").await;
    let status = wait_for_nodes(&n1, &[("n1", 1), ("n2", 2)]);
    assert_eq!(status["node"], "n1");
    assert_eq!(status["cluster"], "connected");
    assert_eq!(status["online"], 1);
    assert_eq!(status["online_cluster"], 3);
    assert_eq!(
        status["nodes"][1]["listen"],
        format!("127.0.0.1:{}", n2.port)
    );
    let (_, text, _) = chatctl(&n1, &["status"]);
    for line in ["node:", "cluster:", "online (all):"] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(text.contains("NODE  ONLINE  LISTEN"), "{text}");

    // kill -9: no goodbye, its entry lapses within cluster_claim_ttl.
    n2.signal(libc::SIGKILL);
    n2.wait_exit();
    let status = wait_for_nodes(&n1, &[("n1", 1)]);
    assert_eq!(status["online_cluster"], 1);
}

#[tokio::test]
async fn status_says_when_nats_is_away_and_a_notice_still_reaches_the_node() {
    let mut nats = Nats::start();
    let n1 = node(&nats, "n1");
    let mut ace = join(&n1, "ace").await;
    wait_for_nodes(&n1, &[("n1", 1)]);

    nats.kill();
    let status = wait_until("status to say unavailable", || {
        let status = chatctl_json(&n1, &["status"]);
        (status["cluster"] == "unavailable").then_some(status)
    });
    assert!(status.get("nodes").is_none(), "{status}");
    let (_, text, _) = chatctl(&n1, &["status"]);
    assert!(text.contains("UNAVAILABLE"), "{text}");
    // A notice is shown on this node at once, NATS or not.
    let sent = chatctl_json(&n1, &["say", "still here"]);
    assert_eq!(sent["delivered"], 1);
    assert_eq!(sent["other_nodes"], false);
    let text = ace
        .recv_until("the notice", |e| match e {
            ServerEvent::Notice { text, .. } => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "still here");
    let users = chatctl_json(&n1, &["users"]);
    assert_eq!(users["users"][0]["name"], "ace");
    assert!(users["warning"].as_str().unwrap().contains("unavailable"));
    // Someone not on this node cannot be looked up: said, not guessed.
    let (code, out, _) = chatctl(&n1, &["--json", "kick", "zed"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(r#""code":"cluster_unavailable""#), "{out}");

    nats.restart();
    // Connected again, and listed again. (ace may have lost the name if
    // NATS was away longer than cluster_claim_ttl: the count may be 0.)
    wait_until("status to say connected and list n1", || {
        let status = chatctl_json(&n1, &["status"]);
        let names: Option<Vec<String>> =
            nodes_of(&status).map(|n| n.into_iter().map(|(name, _)| name).collect());
        (status["cluster"] == "connected" && names == Some(vec!["n1".to_string()])).then_some(())
    });
}

#[tokio::test]
async fn a_reload_on_one_node_reloads_every_node_from_its_own_file() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let n2 = node(&nats, "n2");
    wait_for_nodes(&n1, &[("n1", 0), ("n2", 0)]);
    // Only n2's file changes: the answer lists n1's changes (none), and n2
    // reloads its own.
    std::fs::write(
        n2.root().join("chatd.toml"),
        format!("{CONFIG}motd = \"welcome to n2\"\n"),
    )
    .unwrap();
    let reloaded = chatctl_json(&n1, &["reload"]);
    assert_eq!(reloaded["changed"], serde_json::json!([]), "{reloaded}");
    n2.wait_for_log("changed=motd");
    n2.wait_for_log("reload requested on another node");
    // Each node counts its own reload; a broken file on n2 fails there
    // only, and is counted there.
    let reloads = |d: &Daemon, result: &str, want: f64| {
        let series = format!("chatd_reloads_total{{result=\"{result}\"}}");
        testkit::monitoring::expect_scraped(&d.runtime_dir, &series, want);
    };
    reloads(&n1, "ok", 1.0);
    reloads(&n2, "ok", 1.0);
    std::fs::write(n2.root().join("chatd.toml"), format!("{CONFIG}lisen = 1\n")).unwrap();
    chatctl_json(&n1, &["reload"]);
    n2.wait_for_log("reload failed, the configuration in force is unchanged");
    reloads(&n1, "ok", 2.0);
    reloads(&n1, "failed", 0.0);
    reloads(&n2, "ok", 1.0);
    reloads(&n2, "failed", 1.0);
}

#[tokio::test]
async fn a_malformed_control_message_is_ignored_with_a_warning() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let mut ace = join(&n1, "ace").await;
    wait_for_nodes(&n1, &[("n1", 1)]);
    let client = nats.client().await;
    for payload in ["kick ace", r#"{"origin":"x","type":"kick"}"#] {
        client
            .publish("chat.control", payload.into())
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    n1.wait_for_log("ignored a malformed control message");
    // The node goes on: ace is still there and hears a notice.
    chatctl_json(&n1, &["say", "after"]);
    let text = ace
        .recv_until("the notice", |e| match e {
            ServerEvent::Notice { text, .. } => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "after");
}

#[tokio::test]
async fn a_single_chatd_reports_no_cluster_fields() {
    let d = Daemon::builder().config(CONFIG).start();
    let _ace = join(&d, "ace").await;
    let status = chatctl_json(&d, &["status"]);
    for field in ["node", "cluster", "nodes", "online_cluster"] {
        assert!(status.get(field).is_none(), "{field}: {status}");
    }
    let users = chatctl_json(&d, &["users"]);
    assert!(users["users"][0].get("node").is_none(), "{users}");
    assert!(users.get("warning").is_none(), "{users}");
    let (_, table, _) = chatctl(&d, &["users"]);
    assert!(table.starts_with("NAME  ADDRESS"), "{table}");
}

#[tokio::test]
async fn a_node_that_stops_cleanly_leaves_the_list_at_once() {
    let nats = Nats::start();
    // An hour's claims: only the stopping node's own goodbye can take it
    // off the list within the test's deadline.
    let config = CONFIG.replace("\"3s\"", "\"1h\"");
    let start = |name: &str| {
        Daemon::builder()
            .config(&config)
            .cluster(&nats.url(), name)
            .start()
    };
    let n1 = start("n1");
    let mut n2 = start("n2");
    wait_for_nodes(&n1, &[("n1", 0), ("n2", 0)]);
    assert!(n2.terminate().success());
    wait_for_nodes(&n1, &[("n1", 0)]);
}
