//! What tests of chatd's metrics share: a plain HTTP GET on the metrics
//! listener, and the two checkers of a scrape that run outside Rust:
//! `packaging/check-metrics.py` (the Prometheus client's own parser,
//! against the catalogue in docs/operations.md) and promtool.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::DEADLINE;

/// An HTTP answer: status, headers (names in lower case), body.
#[derive(Debug)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
}

impl HttpAnswer {
    /// The value of header `name` (lower case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `METHOD PATH` over HTTP/1.1 to `addr`, with `headers`, the connection
/// closed after the answer.
pub fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpAnswer {
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE)
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    HttpAnswer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// The workspace's top directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives in the workspace")
        .to_path_buf()
}

/// `packaging/check-metrics.py ARGS…` run from the workspace's top, with
/// `stdin` on its standard input.
pub fn check_metrics(args: &[&str], stdin: &str) -> Output {
    run_with_input(
        Command::new(workspace().join("packaging/check-metrics.py")).args(args),
        stdin,
        "packaging/check-metrics.py: it needs /usr/bin/python3 \
         (apt-get install python3-prometheus-client python3-yaml)",
    )
}

/// promtool: `$PROMTOOL`, else `target/tools/promtool`, else on `PATH`;
/// run from the workspace's top.
pub fn promtool() -> Command {
    let path = std::env::var_os("PROMTOOL")
        .map(PathBuf::from)
        .or_else(|| {
            let local = workspace().join("target/tools/promtool");
            local.exists().then_some(local)
        })
        .unwrap_or_else(|| PathBuf::from("promtool"));
    if Command::new(&path).arg("--version").output().is_err() {
        panic!(
            "no promtool at {}: run packaging/get-promtool.sh",
            path.display()
        );
    }
    let mut cmd = Command::new(&path);
    cmd.current_dir(workspace());
    cmd
}

/// `promtool check metrics` of `scrape` (it reads standard input).
pub fn promtool_check_metrics(scrape: &str) -> Output {
    run_with_input(
        promtool().args(["check", "metrics"]),
        scrape,
        "promtool check metrics",
    )
}

fn run_with_input(cmd: &mut Command, stdin: &str, what: &str) -> Output {
    let mut child = cmd
        .current_dir(workspace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().unwrap();
    out
}

/// The value of one series in the admin socket's `GET /v1/metrics` of the
/// chatd whose runtime directory is `runtime_dir`: `series` as the text
/// format writes it (`chatd_users_online`,
/// `chatd_joins_total{outcome="welcome"}`); `None` when it is absent. For
/// tests of one counter where it happens; a whole scrape is checked by
/// `daemon/tests/metrics.rs`.
pub fn scraped(runtime_dir: &Path, series: &str) -> Option<f64> {
    let (status, body) = crate::admin_call(runtime_dir, "GET", "/v1/metrics", None);
    assert_eq!(status, 200, "GET /v1/metrics: {body}");
    sample(body.as_str().expect("the metrics as text"), series)
}

/// [`scraped`] from the metrics listener at `addr` (`GET /metrics`), for
/// a chatd whose admin socket is gone (one that is stopping).
pub fn scraped_at(addr: SocketAddr, series: &str) -> Option<f64> {
    sample(&scrape_at(addr), series)
}

/// The metrics listener's `GET /metrics` at `addr`, in the text format.
pub fn scrape_at(addr: SocketAddr) -> String {
    let answer = http(addr, "GET", "/metrics", &[]);
    assert_eq!(answer.status, 200, "GET /metrics: {answer:?}");
    answer.body
}

/// The value of `series` (as in [`scraped`]) in the text format's `text`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a sample's value"))
}

/// Waits until [`scraped`] gives `want` for `series` (each part counts as
/// it finishes its share, a moment after a client saw the outcome), and
/// fails naming the last value when it never does.
pub fn expect_scraped(runtime_dir: &Path, series: &str, want: f64) {
    let start = std::time::Instant::now();
    loop {
        let got = scraped(runtime_dir, series);
        if got == Some(want) {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{series}: expected {want}, got {got:?} after {DEADLINE:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
