//! The admin API client: HTTP/1.1 over chatd's Unix socket.
//!
//! [`Client::connect`] walks the candidate sockets ([`crate::socket`]) and
//! keeps the first that accepts a connection; each call then sends one
//! request with hyper's bare HTTP/1 connection (no pool: one connection per
//! call, so a slow password prompt never holds an idle connection open).
//! Every connection, the first and each later one, is opened by [`open`],
//! which checks the socket's directory before `connect()` and the
//! listener's uid after it ([`crate::trust`]), before anything is sent.
//!
//! Every way a call can fail ends as a [`Failure`] with the exit code of the
//! contract: nothing listening → 69, a refused `connect()`, a socket that is
//! not trusted or an HTTP 403 → 77, any other non-2xx answer → 1 with the
//! daemon's `code: message`.

use std::fmt::Write as _;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use chat_protocol::admin::ErrorBody;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use crate::exit::{DaemonSaid, Exit, Failure};
use crate::output::one_line;
use crate::socket::Candidates;
use crate::trust::{self, Trusted};

/// Longest a call may take, connection to last byte: a liveness bound, so
/// a hung daemon does not hang scripts too.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer read; far above any real one (a full user list).
const MAX_ANSWER: usize = 16 << 20;

/// Who may use the admin socket; said whenever access is refused.
const WHO_MAY: &str = "you must be root, the daemon's user, or a member of its admin group (admin_group in chatd.toml)";

/// How to get a daemon to talk to; said whenever none answers.
const HOW_TO_START: &str = "Start the daemon with `chatd` (or `systemctl start chatd` for the system service), or point --socket or CHATD_SOCKET at its admin socket.";

/// A daemon that accepted a connection on `path`.
pub struct Client {
    path: PathBuf,
    /// Whose sockets this client talks to.
    trusted: Trusted,
    /// The connection discovery made, used by the first call.
    first: Option<UnixStream>,
}

/// Why [`open`] gave no connection.
enum Unopened {
    /// Nothing to talk to there (no socket, nothing listening): try the
    /// next candidate.
    Absent(io::Error),
    /// Refused: this user may not connect, or the socket is not trusted.
    /// The search ends, since trying another would hide why.
    Refused(Failure),
}

/// Connects to `path` if it may be trusted: its directory is checked before
/// `connect()` (a socket that someone else planted sees no connection), the
/// listener's uid after it; nothing is sent here.
async fn open(path: &Path, trusted: &Trusted) -> Result<UnixStream, Unopened> {
    match trust::check_dir(path, trusted) {
        Ok(Ok(())) => {}
        Ok(Err(distrust)) => return Err(Unopened::Refused(distrust.failure(path, trusted))),
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            return Err(Unopened::Refused(connect_denied(path)));
        }
        Err(err) => return Err(Unopened::Absent(err)),
    }
    let stream = match UnixStream::connect(path).await {
        Ok(stream) => stream,
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            return Err(Unopened::Refused(connect_denied(path)));
        }
        Err(err) => return Err(Unopened::Absent(err)),
    };
    trust::check_listener(&stream, trusted)
        .map_err(|distrust| Unopened::Refused(distrust.failure(path, trusted)))?;
    Ok(stream)
}

/// A successful answer: the decoded value and the bytes as the daemon sent
/// them (what `--json` prints, once made terminal-safe).
pub struct Answer<T> {
    /// The decoded body.
    pub value: T,
    /// The body, unchanged.
    pub raw: Bytes,
}

/// A successful answer that is text (`GET /v1/metrics`).
pub struct TextAnswer {
    /// The answer's `Content-Type`, as sent (empty if none).
    pub content_type: String,
    /// The body.
    pub text: String,
}

impl Client {
    /// Connects to the first candidate that accepts and may be trusted. A
    /// socket that refuses this user, or that is not trusted, ends the
    /// search at once: trying another would hide why, and would fall back
    /// past a path that someone else controls.
    pub async fn connect(candidates: &Candidates) -> Result<Self, Failure> {
        let trusted = Trusted::from_env();
        let mut tried = Vec::new();
        for path in &candidates.paths {
            match open(path, &trusted).await {
                Ok(stream) => {
                    return Ok(Self {
                        path: path.clone(),
                        trusted,
                        first: Some(stream),
                    });
                }
                Err(Unopened::Refused(failure)) => return Err(failure),
                Err(Unopened::Absent(err)) => tried.push((path.clone(), err)),
            }
        }
        Err(unreachable(&tried))
    }

    /// `GET path`.
    pub async fn get<T: DeserializeOwned>(&mut self, path: &str) -> anyhow::Result<Answer<T>> {
        self.call(Method::GET, path, None::<&()>).await
    }

    /// `method path` with `body` as JSON (or no body), decoding a 2xx answer
    /// as `T` and turning any other into a [`Failure`].
    pub async fn call<T: DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> anyhow::Result<Answer<T>> {
        let what = format!("{method} {path}");
        let body = match body {
            Some(body) => Some(serde_json::to_vec(body).context("encoding the request")?),
            None => None,
        };
        let (_, raw) = self.request(method, path, body, "application/json").await?;
        let value = serde_json::from_slice(&raw).with_context(|| {
            format!(
                "chatd's answer to {what} is not what this chatctl expects; are chatd and chatctl the same version?"
            )
        })?;
        Ok(Answer { value, raw })
    }

    /// `GET path` of an answer that is text, not JSON (`/v1/metrics`),
    /// asking for the media type `accept`; any answer but a 2xx in UTF-8
    /// is a [`Failure`].
    pub async fn text(&mut self, path: &str, accept: &str) -> anyhow::Result<TextAnswer> {
        let (content_type, raw) = self.request(Method::GET, path, None, accept).await?;
        let text = String::from_utf8(raw.to_vec()).with_context(|| {
            format!("chatd's answer to GET {path} is not UTF-8 text; are chatd and chatctl the same version?")
        })?;
        Ok(TextAnswer { content_type, text })
    }

    /// Sends one request and reads the whole answer within
    /// [`CALL_TIMEOUT`]: a 2xx gives its content type and body, anything
    /// else a [`Failure`] (with the daemon's own code and message under
    /// it, for `--json`).
    async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        accept: &str,
    ) -> anyhow::Result<(String, Bytes)> {
        let what = format!("{method} {path}");
        let (status, content_type, raw) =
            tokio::time::timeout(CALL_TIMEOUT, self.exchange(method, path, body, accept))
                .await
                .map_err(|_| {
                    Failure::new(
                        Exit::Unreachable,
                        format!(
                            "chatd at {} did not answer {what} within {}s; is it stuck? (`systemctl status chatd`, or its log)",
                            self.path.display(),
                            CALL_TIMEOUT.as_secs()
                        ),
                    )
                })??;
        if !status.is_success() {
            let failure = refusal(status, &raw);
            return Err(match daemon_said(&raw) {
                Some(said) => anyhow::Error::new(said).context(failure),
                None => failure.into(),
            });
        }
        Ok((content_type, raw))
    }

    /// Sends one request on a fresh (or the discovered) connection and reads
    /// the whole answer: its status, content type and body.
    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        accept: &str,
    ) -> anyhow::Result<(StatusCode, String, Bytes)> {
        let stream = match self.first.take() {
            Some(stream) => stream,
            None => open(&self.path, &self.trusted)
                .await
                .map_err(|unopened| match unopened {
                    Unopened::Refused(failure) => failure,
                    Unopened::Absent(err) => unreachable(&[(self.path.clone(), err)]),
                })?,
        };
        let lost = |err: &dyn std::fmt::Display| {
            Failure::new(
                Exit::Unreachable,
                format!(
                    "chatd at {} closed the connection before answering ({err}); is it shutting down?",
                    self.path.display()
                ),
            )
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|err| lost(&err))?;
        // Drives the connection; it ends when the answer is read and the
        // sender dropped. Its own errors surface through the request.
        tokio::spawn(connection);

        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "localhost")
            .header(USER_AGENT, concat!("chatctl/", env!("CARGO_PKG_VERSION")))
            .header(ACCEPT, accept);
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .context("building the request")?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|err| lost(&err))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let raw = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|err| lost(&err))?
            .to_bytes();
        Ok((status, content_type, raw))
    }
}

/// The failure for a non-2xx answer: 403 → 77, anything else → 1, with the
/// daemon's `code: message` (or the status and the start of the body when
/// it is not an [`ErrorBody`]).
pub fn refusal(status: StatusCode, body: &[u8]) -> Failure {
    let error = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let said = match &error {
        Some(error) => format!("{}: {}", one_line(&error.code), one_line(&error.message)),
        None => {
            let text = String::from_utf8_lossy(body);
            let text = one_line(text.trim());
            let mut said = format!("HTTP {status}");
            if !text.is_empty() {
                let cut: String = text.chars().take(200).collect();
                let _ = write!(said, ": {cut}");
            }
            said
        }
    };
    if status == StatusCode::FORBIDDEN {
        // The daemon's message names the admin group when one is set; add
        // who may call only when it does not already say.
        let hint = if said.contains("root") {
            String::new()
        } else {
            format!("; {WHO_MAY}")
        };
        return Failure::new(Exit::PermissionDenied, format!("{said}{hint}"));
    }
    Failure::new(Exit::Refused, said)
}

/// The daemon's error code and message, as sent, when the body is an
/// [`ErrorBody`].
fn daemon_said(body: &[u8]) -> Option<DaemonSaid> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| DaemonSaid {
            code: b.error.code,
            message: b.error.message,
        })
}

/// The failure for a `connect()` refused with `EACCES`/`EPERM`, naming the
/// admin group: the socket's group, or, when the directory itself keeps the
/// caller out (0710, as chatd makes it with an admin group), the directory's.
fn connect_denied(path: &Path) -> Failure {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let group = match std::fs::metadata(path) {
        Ok(meta) => group_name(meta.gid()).map(|g| format!(" (the socket's group is {g})")),
        Err(_) => std::fs::metadata(dir)
            .ok()
            .and_then(|meta| group_name(meta.gid()))
            .map(|g| format!(" (the group of {} is {g})", dir.display())),
    }
    .unwrap_or_default();
    Failure::new(
        Exit::PermissionDenied,
        format!(
            "permission denied connecting to {}: {WHO_MAY}{group}",
            path.display()
        ),
    )
}

/// The failure when no candidate accepted, naming each path and why.
fn unreachable(tried: &[(PathBuf, io::Error)]) -> Failure {
    let mut message = String::from("no chatd answers; tried:");
    for (path, err) in tried {
        let why = match err.kind() {
            io::ErrorKind::NotFound => "no such socket".to_string(),
            io::ErrorKind::ConnectionRefused if !is_socket(path) => {
                "not a socket (is this the admin socket of a chatd?)".to_string()
            }
            io::ErrorKind::ConnectionRefused => {
                "connection refused (nothing listens there; a stopped daemon may have left it)"
                    .to_string()
            }
            _ => err.to_string(),
        };
        let _ = write!(message, "\n  {}: {why}", path.display());
    }
    let _ = write!(message, "\n{HOW_TO_START}");
    Failure::new(Exit::Unreachable, message)
}

/// Whether `path` is a Unix socket (a missing or unreadable one counts as
/// one: the caller has another message for those).
fn is_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    std::fs::metadata(path).map_or(true, |meta| meta.file_type().is_socket())
}

/// The name of group `gid`, if it has one.
fn group_name(gid: u32) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: `group` is plain data that getgrgid_r fills, pointing into
    // `buf`, which outlives every read of it; `found` is null or `&group`.
    unsafe {
        let mut group: libc::group = std::mem::zeroed();
        let mut found: *mut libc::group = std::ptr::null_mut();
        let rc = libc::getgrgid_r(
            gid,
            &mut group,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        );
        if rc != 0 || found.is_null() || group.gr_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(group.gr_name);
        Some(one_line(&name.to_string_lossy()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_body(code: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"error": {"code": code, "message": message}}))
            .unwrap()
    }

    #[test]
    fn a_403_is_permission_denied_and_keeps_the_group_named() {
        let f = refusal(
            StatusCode::FORBIDDEN,
            &error_body(
                "forbidden",
                "uid 1001 may not use the admin socket: only root, chatd's user and members of group chat-admin may",
            ),
        );
        assert_eq!(f.exit, Exit::PermissionDenied);
        assert!(
            f.message.starts_with("forbidden: uid 1001"),
            "{}",
            f.message
        );
        assert!(f.message.contains("chat-admin"), "{}", f.message);
        assert!(
            !f.message.contains(WHO_MAY),
            "no second hint: {}",
            f.message
        );

        let bare = refusal(
            StatusCode::FORBIDDEN,
            &error_body("forbidden", "not allowed"),
        );
        assert_eq!(bare.exit, Exit::PermissionDenied);
        assert!(bare.message.contains(WHO_MAY), "{}", bare.message);

        let no_body = refusal(StatusCode::FORBIDDEN, b"");
        assert_eq!(no_body.exit, Exit::PermissionDenied);
        assert!(
            no_body.message.starts_with("HTTP 403 Forbidden;"),
            "{}",
            no_body.message
        );
    }

    #[test]
    fn other_errors_are_refusals_with_code_and_message() {
        let f = refusal(
            StatusCode::NOT_FOUND,
            &error_body("no_such_user", "no one called bob is online"),
        );
        assert_eq!(f.exit, Exit::Refused);
        assert_eq!(f.message, "no_such_user: no one called bob is online");

        let f = refusal(StatusCode::BAD_GATEWAY, b"<html>oops\n</html>");
        assert_eq!(f.exit, Exit::Refused);
        assert_eq!(f.message, "HTTP 502 Bad Gateway: <html>oops\\x0a</html>");
    }

    #[test]
    fn a_hostile_message_cannot_drive_the_terminal() {
        let f = refusal(
            StatusCode::BAD_REQUEST,
            &error_body("bad\u{1b}[2J", "line\nbreak\u{7}"),
        );
        assert!(!f.message.chars().any(char::is_control), "{:?}", f.message);
    }

    #[test]
    fn unreachable_names_every_path_and_how_to_start() {
        let f = unreachable(&[
            (
                PathBuf::from("/run/user/1000/chatd/admin.sock"),
                io::Error::from(io::ErrorKind::NotFound),
            ),
            (
                PathBuf::from("/run/chatd/admin.sock"),
                io::Error::from(io::ErrorKind::ConnectionRefused),
            ),
        ]);
        assert_eq!(f.exit, Exit::Unreachable);
        assert!(
            f.message
                .contains("/run/user/1000/chatd/admin.sock: no such socket")
        );
        assert!(
            f.message
                .contains("/run/chatd/admin.sock: connection refused")
        );
        assert!(f.message.contains("`chatd`") && f.message.contains("systemctl start chatd"));
    }

    #[test]
    fn connect_denied_says_who_may() {
        let f = connect_denied(Path::new("/nonexistent/admin.sock"));
        assert_eq!(f.exit, Exit::PermissionDenied);
        assert!(f.message.contains("/nonexistent/admin.sock") && f.message.contains("root"));
    }

    #[test]
    fn group_zero_is_named() {
        assert_eq!(group_name(0).as_deref(), Some("root"));
    }
}
