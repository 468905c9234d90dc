//! Opening a WebSocket to chatd the way a test needs it (from a chosen
//! source address, with headers, with a small receive buffer), and reading
//! or writing it frame by frame.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

use super::Ws;
use crate::DEADLINE;

/// Opens a WebSocket to `url`.
pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect deadline")
        .expect("connect");
    ws
}

/// Opens a WebSocket to `url` (`ws://IP:PORT/`) from the local address
/// `source` (any of 127.0.0.0/8 works on loopback), as if from another host.
pub async fn connect_from(url: &str, source: std::net::IpAddr) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind((source, 0).into())
        .unwrap_or_else(|e| panic!("bind {source}: {e}"));
    connect_on(url, socket).await
}

/// Opens a WebSocket to `url` (`ws://IP:PORT/`) from the local address
/// `source`, with `headers` added to the upgrade request: a reverse proxy
/// saying who its client is (`X-Forwarded-For`), say.
pub async fn connect_from_with_headers(
    url: &str,
    source: std::net::IpAddr,
    headers: &[(&str, &str)],
) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind((source, 0).into())
        .unwrap_or_else(|e| panic!("bind {source}: {e}"));
    connect_on_with(url, socket, headers).await
}

/// Opens a WebSocket to `url` (`ws://IP:PORT/`) over a socket whose receive
/// buffer is fixed at `bytes` (no autotuning), so that a client that stops
/// reading stalls the server's writes after a few MiB, not dozens.
pub async fn connect_with_receive_buffer(url: &str, bytes: u32) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
    connect_on(url, socket).await
}

/// Connects `socket` to `url` (`ws://IP:PORT/`) and upgrades.
async fn connect_on(url: &str, socket: tokio::net::TcpSocket) -> Ws {
    connect_on_with(url, socket, &[]).await
}

/// [`connect_on`] with `headers` added to the upgrade request.
async fn connect_on_with(url: &str, socket: tokio::net::TcpSocket, headers: &[(&str, &str)]) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = url.into_client_request().expect("a ws:// url");
    for (name, value) in headers {
        request.headers_mut().append(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                .expect("a header name"),
            value.parse().expect("a header value"),
        );
    }
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .parse()
        .expect("a ws://IP:PORT/ url");
    let stream = tokio::time::timeout(DEADLINE, socket.connect(addr))
        .await
        .expect("connect deadline")
        .expect("connect");
    let (ws, _) = tokio::time::timeout(
        DEADLINE,
        tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)),
    )
    .await
    .expect("upgrade deadline")
    .expect("upgrade");
    ws
}

/// Reads the next binary message, or the close frame as `Err((code, reason))`.
pub async fn next_binary<S>(ws: &mut S) -> Result<Vec<u8>, (u16, String)>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("message deadline");
        match msg {
            Some(Ok(Message::Binary(b))) => return Ok(b.to_vec()),
            Some(Ok(Message::Close(frame))) => {
                return Err(frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new())));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                eprintln!("testkit: read error {e}");
                return Err((1006, String::new()));
            }
            None => return Err((1006, String::new())),
        }
    }
}

/// Sends `parts` as the frames of one fragmented binary WebSocket message
/// (RFC 6455 §5.4): the first a binary frame, the rest continuations, the
/// last one final.
pub async fn send_fragments(ws: &mut Ws, parts: &[&[u8]]) {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    for (i, part) in parts.iter().enumerate() {
        let opcode = if i == 0 {
            OpCode::Data(Data::Binary)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(part.to_vec(), opcode, i + 1 == parts.len());
        // The peer may close halfway (a message over its limit).
        if ws.send(Message::Frame(frame)).await.is_err() {
            return;
        }
    }
}

/// Reads until the server closes, skipping whatever comes before; returns
/// the close (code, reason), 1006 for a connection that ended without one.
pub async fn close_of(ws: &mut Ws) -> (u16, String) {
    loop {
        if let Err(close) = next_binary(ws).await {
            return close;
        }
    }
}
