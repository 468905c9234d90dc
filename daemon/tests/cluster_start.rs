//! A node's start beside a NATS that is not ready yet, through the real
//! binaries: nodes started at the same moment as a fresh three-server NATS
//! cluster (JetStream still electing its leader), a node started before
//! its NATS (it waits, says so, and extends systemd's start timeout), and
//! the bound past which it gives up.

use testkit::{Daemon, Nats, NatsCluster, Notify, RawClient};

const CONFIG: &str = "limit_exempt = [\"127.0.0.0/8\"]\ncluster_claim_ttl = \"3s\"\n";

#[tokio::test]
async fn two_nodes_started_with_a_fresh_three_server_nats_cluster_both_come_up() {
    // As after a reboot: NATS and every node at once, JetStream without a
    // leader yet.
    let nats = NatsCluster::spawn();
    let config = format!("{CONFIG}cluster_replicas = 3\n");
    let start = |name: &str| {
        Daemon::builder()
            .config(&config)
            .cluster(&nats.urls(), name)
            .spawn()
    };
    let mut a = start("a");
    let mut b = start("b");
    for node in [&mut a, &mut b] {
        if let Some(status) = node.try_exit() {
            panic!(
                "a node exited with {status}: {}\n{}",
                node.log(),
                nats.logs()
            );
        }
        node.wait_ready();
    }
    // One room: a message from a user of one reaches a user of the other.
    let key = a.read_key();
    assert_eq!(b.read_key(), key, "one key for the room");
    let mut ann = RawClient::join(&a.url, &key, "ann", "").await.joined();
    let mut bob = RawClient::join(&b.url, &key, "bob", "").await.joined();
    ann.send(&chat_protocol::ClientEvent::Say {
        room: None,
        text: "hello".into(),
        cid: None,
    })
    .await;
    bob.recv_until("ann's message on node b", |e| match e {
        chat_protocol::ServerEvent::Message(m) if m.text == "hello" => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn a_node_started_before_its_nats_waits_says_so_and_comes_up_when_nats_does() {
    let nats = Nats::plan();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (mut notify, path) = Notify::bind(dir.path());
    let mut a = Daemon::builder()
        .config(CONFIG)
        .cluster(&url, "a")
        .env("NOTIFY_SOCKET", path)
        .spawn();
    // It waits, says what for, and asks systemd for more time.
    a.wait_for_log("cluster: waiting for NATS");
    assert!(a.log().contains("cluster_start_timeout"), "{}", a.log());
    notify.expect("EXTEND_TIMEOUT_USEC=");
    assert!(a.try_exit().is_none(), "it gave up: {}", a.log());
    // NATS comes: the node starts, and only then says READY.
    let _nats = nats.start();
    notify.expect("READY=1");
    a.wait_ready();
    let key = a.read_key();
    RawClient::join(&a.url, &key, "ann", "").await.joined();
}

#[test]
fn a_node_gives_up_at_cluster_start_timeout_naming_what_it_waited_for() {
    let [port] = testkit::free_ports::<1>();
    let mut a = Daemon::builder()
        .config(&format!("{CONFIG}cluster_start_timeout = \"2s\"\n"))
        .cluster(&format!("nats://127.0.0.1:{port}"), "a")
        .spawn();
    let status = a.wait_exit();
    assert_eq!(status.code(), Some(1), "{}", a.log());
    let log = a.log();
    assert!(
        log.contains("NATS was not ready within cluster_start_timeout (2s)")
            && log.contains("cannot reach NATS at nats://127.0.0.1:"),
        "{log}"
    );
}
