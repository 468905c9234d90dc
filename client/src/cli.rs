//! chat's command line, on its own so that `build.rs` can include it too
//! and make chat(1) and the shell completions from it (through
//! `chat-docgen`): what `--help` says and what `man chat` says are the same
//! text. The URL parser lives in `main.rs` (`crate::parse_url`); the build
//! script has a stand-in for it.

use std::path::PathBuf;

use clap::Parser;

/// Join a chat server from the terminal.
///
/// Each line of standard input is sent as a message; /me, /msg NAME, /who
/// and /quit are commands (/help lists them). Messages from others are
/// printed on standard output as they arrive. At the end of input, chat
/// waits for the server to confirm the lines sent, then leaves.
#[derive(Parser, Debug)]
#[command(name = "chat", version, after_help = crate::exit::EXIT_CODES_HELP)]
pub struct Cli {
    /// The server's key token (chat1_…), as `chatctl key` prints it. Setting
    /// CHAT_KEY is better: other users of this machine can see command lines
    #[arg(value_name = "KEY")]
    pub key: Option<String>,

    /// The server's key token; also read from CHAT_KEY (preferred: it does
    /// not show in `ps` or shell history)
    #[arg(
        long = "key",
        value_name = "KEY",
        env = "CHAT_KEY",
        hide_env_values = true
    )]
    pub key_option: Option<String>,

    /// The server's WebSocket address
    #[arg(long, value_name = "URL", default_value = "ws://localhost:1719/", value_parser = crate::parse_url)]
    pub url: String,

    /// The name to join as: 1-32 of A-Z a-z 0-9 _ . - [default: user_NNNN,
    /// four random digits]
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,

    /// Read the server password from FILE (one trailing newline is stripped);
    /// else CHAT_PASSWORD is used, else none. If the server wants one and
    /// none was given, chat asks for it when run at a terminal
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Use the line client even on a terminal (for now the only client)
    #[arg(long)]
    pub plain: bool,

    /// Print each event received as one JSON object per line (with `type`;
    /// messages have `from`, `text`, `id`, `ts`)
    #[arg(long)]
    pub json: bool,

    /// Refused: a password on the command line leaks (see --password-file)
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub password: Option<String>,

    /// Whether `key_option` came from CHAT_KEY rather than `--key`.
    #[arg(skip)]
    pub key_option_from_env: bool,
}
