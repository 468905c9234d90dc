//! What an eavesdropper on the network sees: the real `chat` talks to the
//! real `chatd` through a recording proxy, and neither the password nor any
//! message text appears in the bytes in either direction, raw or unmasked.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use common::Chat;
use testkit::Daemon;

type Log = Arc<Mutex<Vec<u8>>>;

/// A TCP proxy that forwards one port to another and keeps every byte,
/// per connection and direction.
struct Recorder {
    port: u16,
    connections: Arc<Mutex<Vec<(Log, Log)>>>,
}

fn pump(mut from: TcpStream, mut to: TcpStream, log: Log) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        log.lock().unwrap().extend_from_slice(&buf[..n]);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

impl Recorder {
    fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections: Arc<Mutex<Vec<(Log, Log)>>> = Arc::default();
        let all = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let server = TcpStream::connect(("127.0.0.1", target)).unwrap();
                let (up, down): (Log, Log) = (Arc::default(), Arc::default());
                all.lock().unwrap().push((up.clone(), down.clone()));
                let (c, s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(c, s, up));
                std::thread::spawn(move || pump(server, client, down));
            }
        });
        Self { port, connections }
    }

    /// Snapshots of (client→server, server→client) bytes per connection.
    fn streams(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let all = self.connections.lock().unwrap();
        all.iter()
            .map(|(u, d)| (u.lock().unwrap().clone(), d.lock().unwrap().clone()))
            .collect()
    }
}

/// The payloads of the WebSocket frames in one direction, unmasked.
fn frames(stream: &[u8]) -> Vec<Vec<u8>> {
    let head_end = stream
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP upgrade head")
        + 4;
    let mut rest = &stream[head_end..];
    let mut out = Vec::new();
    while rest.len() >= 2 {
        let masked = rest[1] & 0x80 != 0;
        let (len, mut at) = match rest[1] & 0x7f {
            126 => (u16::from_be_bytes([rest[2], rest[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(rest[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let mask = if masked {
            let m = [rest[at], rest[at + 1], rest[at + 2], rest[at + 3]];
            at += 4;
            Some(m)
        } else {
            None
        };
        if rest.len() < at + len {
            break;
        }
        let mut payload = rest[at..at + len].to_vec();
        if let Some(m) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= m[i % 4];
            }
        }
        out.push(payload);
        rest = &rest[at + len..];
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn neither_the_password_nor_any_message_crosses_the_wire_in_clear() {
    let password = "correct-horse-battery-staple-91";
    let texts = [
        "the eagle lands at midnight",
        "meet me by the 3rd lamp post",
        "psst: a direct secret",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let pw_file = tmp.path().join("pw");
    std::fs::write(&pw_file, format!("{password}\n")).unwrap();
    let d = Daemon::builder()
        .arg("--password-file")
        .arg(pw_file.to_str().unwrap())
        .start();
    let proxy = Recorder::start(d.port);
    let url = format!("ws://127.0.0.1:{}/", proxy.port);
    let pw = pw_file.to_str().unwrap();

    let bob = Chat::joined(&url, &d.key, "bob", &["--plain", "--password-file", pw]);
    let mut ace = Chat::joined(&url, &d.key, "ace", &["--plain", "--password-file", pw]);
    ace.line(texts[0]);
    ace.line(&format!("/me {}", texts[1]));
    ace.line(&format!("/msg bob {}", texts[2]));
    for text in texts {
        bob.wait_out(text);
    }
    assert_eq!(ace.finish(), 0, "{}", ace.output());
    drop(bob);

    let streams = proxy.streams();
    assert_eq!(streams.len(), 2, "both clients went through the proxy");
    let (up, down): (Vec<Vec<u8>>, Vec<Vec<u8>>) = streams.into_iter().unzip();
    let mut checked_frames = 0;
    for stream in up.iter().chain(down.iter()) {
        for secret in std::iter::once(password).chain(texts) {
            assert!(!contains(stream, secret), "{secret:?} crossed the wire raw");
            for frame in frames(stream) {
                assert!(
                    !contains(&frame, secret),
                    "{secret:?} crossed the wire in a frame"
                );
                checked_frames += 1;
            }
        }
    }
    // The check looked at real traffic: the handshake and several sealed messages each way.
    assert!(
        checked_frames > 20,
        "only {checked_frames} frames were checked"
    );
    // Sanity: the unmasking works (the client's Hello starts with the magic).
    assert!(up.iter().all(|s| {
        frames(s)
            .first()
            .is_some_and(|f| f.starts_with(b"CHAT\x01\x01"))
    }));
}
