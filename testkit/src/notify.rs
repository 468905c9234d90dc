//! A `NOTIFY_SOCKET` a test reads, as systemd would: what chatd tells its
//! service manager (READY=1, STATUS=…, EXTEND_TIMEOUT_USEC=…).

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::DEADLINE;

/// A NOTIFY_SOCKET the test reads, as systemd would.
pub struct Notify {
    socket: UnixDatagram,
    seen: Vec<String>,
}

impl Notify {
    /// Binds `DIR/notify.sock`; returns it and the path to give chatd as
    /// `NOTIFY_SOCKET`.
    pub fn bind(dir: &Path) -> (Self, String) {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        (
            Self {
                socket,
                seen: Vec::new(),
            },
            path.to_str().unwrap().to_string(),
        )
    }

    /// Forgets every datagram chatd sent so far, read or not: what
    /// [`Notify::expect`] finds next was sent after this call.
    pub fn forget(&mut self) {
        self.seen.clear();
        self.socket.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 4096];
        while self.socket.recv(&mut buf).is_ok() {}
        self.socket.set_nonblocking(false).unwrap();
    }

    /// Waits for a datagram containing `needle`; returns it.
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_that(needle, |m| m.contains(needle))
    }

    /// Waits for a datagram that `pick` accepts (`what` names it); returns it.
    pub fn expect_that(&mut self, what: &str, pick: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(at) = self.seen.iter().position(|m| pick(m)) {
                return self.seen.drain(..=at).next_back().unwrap();
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no {what:?} from chatd; got {:?}",
                self.seen
            );
            if let Ok(n) = self.socket.recv(&mut buf) {
                self.seen
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
    }
}
