//! The admin socket under attack: a caller who is not admitted, browsers,
//! bodies that are not what the call takes, unknown paths and methods,
//! oversized bodies. Each is refused with the status and code of
//! docs/admin-api.md, and changes nothing the honest member could see.

use std::io::{Read, Write};
use std::process::Command;

use serde_json::Value;
use testkit::admin_call;

use crate::Scene;

/// `(status, body)` of a call with extra headers.
fn call(
    s: &Scene,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    testkit::admin_call_with(&s.d.runtime_dir, method, path, body, headers)
}

fn refused(answer: (u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

/// The key, as the admin API gives it now.
fn key(s: &Scene) -> String {
    let (code, body) = admin_call(&s.d.runtime_dir, "GET", "/v1/key", None);
    assert_eq!(code, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// As root, `chatctl` run as nobody (uid and gid 65534, no groups) on a
/// socket it may connect to: the caller's credentials are refused with 403
/// (chatctl: exit 77) and nothing is done.
#[tokio::test]
async fn a_caller_of_another_uid_is_refused_403() {
    use std::os::unix::fs::PermissionsExt;
    let mut s = Scene::start("").await;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can run a caller as another uid here (CI runs as root)");
        return;
    }
    assert!(
        Command::new("setpriv").arg("--version").output().is_ok(),
        "setpriv is missing: install util-linux (.ci/run does)"
    );
    // Let nobody reach the socket, so that the credentials check is what
    // refuses it (not the file modes).
    let socket = s.d.runtime_dir.join("admin.sock");
    for (path, mode) in [
        (s.d.root(), 0o711),
        (s.d.runtime_dir.as_path(), 0o711),
        (socket.as_path(), 0o666),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let before = key(&s);
    for args in [
        &["key"][..],
        &["say", "from nobody"],
        &["rotate-key", "--disconnect"],
        &["kick", "honest"],
    ] {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(testkit::bin("chatctl"))
            .arg("--json")
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .env_remove("CHATD_SOCKET")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(77),
            "{args:?}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("forbidden"), "{stdout}");
        assert!(!stdout.contains(&before), "the key went to nobody");
    }
    s.d.wait_for_log("admin API: refused caller uid=65534");
    assert_eq!(key(&s), before);
    s.unharmed().await;
}

/// A request with an `Origin` or a `Referer` header is a browser's: 403,
/// and a notice it carries is not sent.
#[tokio::test]
async fn requests_from_a_browser_are_refused_403() {
    let mut s = Scene::start("").await;
    let notice = Some(r#"{"text":"from a web page"}"#);
    for header in [
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
        ("Referer", "http://evil.example/x"),
    ] {
        refused(
            call(&s, "POST", "/v1/notice", notice, &[header]),
            403,
            "forbidden",
        );
        refused(
            call(&s, "GET", "/v1/key", None, &[header]),
            403,
            "forbidden",
        );
    }
    s.unharmed().await;
}

#[tokio::test]
async fn malformed_json_bodies_are_refused_400() {
    let mut s = Scene::start("").await;
    // An array of the members in order is not an object: serde alone
    // would read it as `{"text":"from an array"}`.
    for body in [
        "{not json",
        "[]",
        r#"["from an array"]"#,
        "\"text\"",
        r#"{"text":"a"} trailing"#,
        r#"{"text":1}"#,
        "\u{feff}{\"text\":\"bom\"}",
    ] {
        refused(
            call(&s, "POST", "/v1/notice", Some(body), &[]),
            400,
            "bad_request",
        );
    }
    s.unharmed().await;
}

/// A member given twice is refused, not read as either value: a rotation
/// that says both `false` and `true` for `disconnect` does not happen, and
/// the honest member stays.
#[tokio::test]
async fn duplicate_json_members_are_refused_400() {
    let mut s = Scene::start("").await;
    let before = key(&s);
    refused(
        call(
            &s,
            "POST",
            "/v1/notice",
            Some(r#"{"text":"a","text":"b"}"#),
            &[],
        ),
        400,
        "bad_request",
    );
    refused(
        call(
            &s,
            "POST",
            "/v1/key/rotate",
            Some(r#"{"disconnect":false,"disconnect":true}"#),
            &[],
        ),
        400,
        "bad_request",
    );
    refused(
        call(
            &s,
            "POST",
            "/v1/users/honest/kick",
            Some(r#"{"reason":"a","reason":"b"}"#),
            &[],
        ),
        400,
        "bad_request",
    );
    assert_eq!(key(&s), before, "the key was rotated");
    s.unharmed().await;
}

#[tokio::test]
async fn unknown_members_are_refused_400() {
    let mut s = Scene::start("").await;
    refused(
        call(
            &s,
            "POST",
            "/v1/notice",
            Some(r#"{"text":"hi","from":"honest"}"#),
            &[],
        ),
        400,
        "bad_request",
    );
    refused(
        call(
            &s,
            "POST",
            "/v1/key/rotate",
            Some(r#"{"disconect":true}"#),
            &[],
        ),
        400,
        "bad_request",
    );
    s.unharmed().await;
}

/// Unknown paths are 404 `not_found`, whatever they look like; a kick of
/// a name with path tricks finds no one.
#[tokio::test]
async fn unknown_paths_are_refused_404() {
    let mut s = Scene::start("").await;
    for path in [
        "/v1/nothing",
        "/v2/status",
        "/",
        "/v1/",
        "/v1/key/",
        "/V1/KEY",
        "/v1/status/../key",
        "/v1//key",
    ] {
        refused(call(&s, "GET", path, None, &[]), 404, "not_found");
    }
    refused(
        call(&s, "POST", "/v1/users/..%2Fhonest/kick", None, &[]),
        404,
        "no_such_user",
    );
    s.unharmed().await;
}

/// A known path with the wrong method: 405 with an `Allow` header.
#[tokio::test]
async fn wrong_methods_are_refused_405() {
    let mut s = Scene::start("").await;
    for (method, path) in [
        ("DELETE", "/v1/status"),
        ("GET", "/v1/notice"),
        ("PUT", "/v1/key/rotate"),
        ("GET", "/v1/users/honest/kick"),
    ] {
        refused(call(&s, method, path, None, &[]), 405, "method_not_allowed");
    }
    s.unharmed().await;
}

/// A body over 512 KiB is refused 413 `too_large` once read past the
/// limit, declared or not (chunked).
#[tokio::test]
async fn oversized_bodies_are_refused_413() {
    let mut s = Scene::start("").await;
    let size = 600 * 1024;
    let declared = format!(
        "POST /v1/notice HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n"
    );
    let chunked = "POST /v1/notice HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".to_string();
    for (head, chunks) in [(declared, false), (chunked, true)] {
        let mut stream =
            std::os::unix::net::UnixStream::connect(s.d.runtime_dir.join("admin.sock")).unwrap();
        stream.set_read_timeout(Some(testkit::DEADLINE)).unwrap();
        stream.set_write_timeout(Some(testkit::DEADLINE)).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let body = format!(r#"{{"text":"{}"}}"#, "n".repeat(size - 11));
        // chatd may answer and close before the whole body is written.
        let _ = if chunks {
            body.as_bytes()
                .chunks(4096)
                .try_for_each(|c| {
                    write!(stream, "{:x}\r\n", c.len())
                        .and_then(|()| stream.write_all(c))
                        .and_then(|()| stream.write_all(b"\r\n"))
                })
                .and_then(|()| stream.write_all(b"0\r\n\r\n"))
        } else {
            stream.write_all(body.as_bytes())
        };
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "chunked {chunks}: {answer}"
        );
        assert!(answer.contains(r#""code":"too_large""#), "{answer}");
    }
    s.unharmed().await;
}

/// A notice with terminal controls in it is refused: it would reach
/// every member's screen.
#[tokio::test]
async fn a_notice_with_control_characters_is_refused_400() {
    let mut s = Scene::start("").await;
    for text in ["\u{1b}[2Jgone", "bell\u{7}", "\u{9b}31m", ""] {
        let body = serde_json::json!({ "text": text }).to_string();
        refused(
            call(&s, "POST", "/v1/notice", Some(&body), &[]),
            400,
            "bad_request",
        );
    }
    s.unharmed().await;
}
