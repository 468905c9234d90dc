//! What chatd says at start: where it listens, where the admin API is,
//! whether a password is set, and (to a person at a terminal) the key and
//! how to join. The key token goes straight to the terminal, never
//! through the log.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;

use chat_protocol::Token;

use crate::store::keyring::Keyring;
use crate::store::password;

/// Logs the start-up facts, and shows the key when stderr is a terminal.
/// `admin_path` is the admin socket chatd bound (`None`: passed by the
/// service manager).
pub fn started(
    listen_addr: SocketAddr,
    keyring: &Keyring,
    token: &Token,
    created: bool,
    admin_path: Option<&Path>,
) {
    let url = format!("ws://{listen_addr}/");
    tracing::info!(key_id = %token.key_id(), "listening on {url}");
    match admin_path {
        Some(path) => tracing::info!("admin API on {}", path.display()),
        None => tracing::info!("admin API on the Unix socket passed by the service manager"),
    }
    if keyring.password.source() == password::Source::None {
        tracing::warn!(
            "no join password is set: anyone who has the key can join (set one with --password-file or `chatctl passwd`)"
        );
    }
    let key_path = keyring.store.key_path();
    if created {
        tracing::info!(
            "made a new server key; the token is in {}",
            key_path.display()
        );
    }
    // A plain `chatctl key` asks the socket of chatctl_first_socket(); if
    // chatd bound another one, the hint names it.
    let chatctl_key = match admin_path {
        Some(path) if path != crate::store::paths::chatctl_first_socket() => {
            format!("chatctl --socket {} key", shell_word(path))
        }
        _ => "chatctl key".to_string(),
    };
    if std::io::stderr().is_terminal() {
        announce(&token.encode(), &url, &key_path, &chatctl_key);
    } else {
        tracing::info!(
            "the key token to hand to people is in {} (or run `{chatctl_key}`)",
            key_path.display()
        );
    }
}

/// A path as one shell word: as is when it holds only characters no shell
/// treats specially, else in single quotes.
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%".contains(&b))
    {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Tells the person at the terminal how to join, as the original tool did.
fn announce(token: &str, url: &str, key_path: &Path, chatctl_key: &str) {
    let url_flag = if url == "ws://127.0.0.1:1719/" {
        String::new()
    } else {
        format!(" --url {url}")
    };
    eprintln!();
    eprintln!("  Key: {token}");
    eprintln!(
        "  (kept in {}; `{chatctl_key}` shows it too)",
        key_path.display()
    );
    eprintln!();
    eprintln!(
        "  Join from two other terminals (from a checkout, `cargo run --release -p chat-client --` stands for `chat`):"
    );
    eprintln!(
        "    CHAT_KEY=$(cat {}) chat{url_flag} --username ace",
        key_path.display()
    );
    eprintln!(
        "    CHAT_KEY=$(cat {}) chat{url_flag} --username bob",
        key_path.display()
    );
    eprintln!();
}
