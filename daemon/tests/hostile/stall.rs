//! A member that stops reading: its queue (bounded in events and bytes)
//! fills, it is dropped as too slow, and the others lose nothing; chatd's
//! memory stays bounded meanwhile.

use chat_protocol::ServerEvent;
use testkit::RawClient;

use crate::{Scene, say};

/// chatd's resident memory in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// Bytes waiting in all queues, from `GET /v1/status`.
fn queued_bytes(s: &Scene) -> u64 {
    let (code, status) = testkit::admin_call(&s.d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(code, 200, "{status}");
    status["queued_bytes"].as_u64().unwrap()
}

#[tokio::test]
async fn a_member_that_stops_reading_is_dropped_and_others_lose_nothing() {
    // Large texts, so that the stalled socket's buffers fill after a few
    // hundred messages; a queue of 256 KiB.
    let mut s = Scene::start(
        "max_text = 60000\nrate_burst = 100000\nrate_per_second = 100000\n\
         outbound_queue_bytes = 262144\nwrite_timeout = \"3s\"\n",
    )
    .await;
    let ws = testkit::connect_with_receive_buffer(&s.d.url, 4096).await;
    let stalled = RawClient::join_on(ws, &s.d.key, "stalled", "")
        .await
        .joined();
    let idle_rss = rss_kib(s.d.pid());
    let (mut peak_rss, mut peak_queued) = (idle_rss, 0);
    let text = "s".repeat(50_000);
    let mut dropped = None;
    let mut sent = 0;
    // The honest member talks, in batches of 4, and reads every message
    // back: only the stalled member falls behind (4 × 50 kB fit its queue
    // of 256 KiB).
    'batches: for batch in 0..250 {
        let lines: Vec<String> = (0..4).map(|i| format!("{batch}.{i} {text}")).collect();
        for line in &lines {
            s.honest.send(&say(line)).await;
        }
        for line in &lines {
            let got = s
                .honest
                .recv_until("the next message", |e| match e {
                    ServerEvent::Message(m) => Some(m.text.clone()),
                    ServerEvent::Leave { name, reason, .. } if name == "stalled" => {
                        dropped = Some(reason.clone());
                        None
                    }
                    _ => None,
                })
                .await;
            assert!(got == *line, "the honest member lost a message");
            sent += 1;
        }
        peak_rss = peak_rss.max(rss_kib(s.d.pid()));
        peak_queued = peak_queued.max(queued_bytes(&s));
        if dropped.is_some() {
            break 'batches;
        }
    }
    assert_eq!(
        dropped.as_deref(),
        Some("too slow"),
        "the stalled member was not dropped"
    );
    println!(
        "stall: dropped after {sent} messages of 50 kB; RSS idle {} KiB, peak {peak_rss} KiB; peak queued {peak_queued} bytes",
        idle_rss
    );
    // Two queues of at most 256 KiB each.
    assert!(peak_queued <= 2 * 262_144, "queued {peak_queued} bytes");
    assert!(
        peak_rss <= idle_rss + 64 * 1024,
        "chatd grew from {idle_rss} KiB to {peak_rss} KiB"
    );
    drop(stalled);
    s.unharmed().await;
}
