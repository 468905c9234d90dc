//! A minimal HTTP/1.1 client for the admin socket, independent of chatctl,
//! so daemon tests check the API itself.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Sends one request to `RUNTIME_DIR/admin.sock`; returns status and JSON body.
pub fn admin_call(
    runtime_dir: &Path,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    admin_call_with(runtime_dir, method, path, body, &[])
}

/// [`admin_call`] with extra request headers.
pub fn admin_call_with(
    runtime_dir: &Path,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    admin_call_at_with(&runtime_dir.join("admin.sock"), method, path, body, headers)
}

/// [`admin_call`] on a socket at any path.
pub fn admin_call_at(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    admin_call_at_with(socket, method, path, body, &[])
}

fn admin_call_at_with(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut stream =
        UnixStream::connect(socket).unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
    stream.set_read_timeout(Some(crate::DEADLINE)).unwrap();
    let body = body.unwrap_or("");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("HTTP status line");
    let (head, payload) = text.split_once("\r\n\r\n").expect("HTTP head");
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    let json = serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload));
    (status, json)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}
