//! chat's command line, on its own so that `build.rs` can include it too
//! and make chat(1) and the shell completions from it (through
//! `chat-docgen`): what `--help` says and what `man chat` says are the same
//! text. The URL parser lives in `main.rs` (`crate::parse_url`); the build
//! script has a stand-in for it.

use std::path::PathBuf;

use clap::Parser;

/// The keys and commands of the full-screen client, for `chat --help`.
pub const KEYS_HELP: &str = "\
Full-screen keys:
  Enter                   send the input
  Alt-Enter, Ctrl-J       a new line in the message
  Tab                     complete a /command or a name (again: the next match)
  Up / Down               the line above / below in the input; from its first /
                          last line, the lines sent before (the draft is kept
                          and comes back, also after one of them is sent)
  Left / Right            a character (a flag or an emoji is one)
  Alt-B / Alt-F, Ctrl-Left / Ctrl-Right   a word back / forward
  Home / End, Ctrl-A / Ctrl-E   start / end of the line; again: of the input
  Backspace / Delete      the character before / at the cursor
  Ctrl-W, Alt-Backspace   delete the word before the cursor
  Alt-D                   delete the word after the cursor
  Ctrl-K                  delete to the end of the line
  Ctrl-U                  delete the whole input
  Ctrl-Y                  put back what the last delete took
  Ctrl-T                  swap the two characters at the cursor
  Ctrl-R                  search the messages (type; Ctrl-R / Ctrl-S older /
                          newer match; Enter: stay there; Esc: back)
  PgUp / PgDn, wheel      scroll the messages
  Ctrl-Home / Ctrl-End    the oldest line / back to live (Home / End too, on an
                          empty input)
  F2                      show or hide the user list
  Ctrl-Z                  suspend (fg resumes)
  Ctrl-C, Ctrl-D on an empty input, /quit [REASON]
                          leave; while lines wait to be sent or a draft is
                          typed it asks first (Ctrl-C again or y: leave, exit 3)
  q                       leave, once the session has ended (exit: its cause's)
  Alt-1...Alt-9           the first nine rooms and direct messages of the
                          room list (with a server that has rooms)
  Alt-Left / Alt-Right, Ctrl-P / Ctrl-N
                          the room (or direct message) before / after
  Other unbound keys do nothing.

Full-screen commands:
  /me TEXT, /msg NAME [TEXT] (a direct-message buffer of its own), /who,
  /whois NAME, /search [TEXT] and /lastlog TEXT (in this buffer), /reconnect
  (join again now), /bell [off|mentions|all], /clear, /help, /ignore [NAME],
  /unignore NAME, /quit [REASON]

Rooms (full screen and line mode, on a server that has rooms):
  /join #ROOM (join it, or go to it), /part [#ROOM] (alone: the current one;
  in a direct-message buffer: close it), /rooms, /topic [TEXT] (alone: show
  it; - clears; operators set it), /invite NAME [#ROOM] (operators: into a
  private room). In the line mode plain lines go to the room joined last.

Operators of the room (full screen and line mode; the server refuses others):
  /kick NAME [REASON], /ban NAME [DURATION] [REASON] (DURATION like 10m, 2h,
  7d; none: until lifted), /unban TARGET, /mute NAME [DURATION] [REASON],
  /unmute NAME, /bans";

/// Join a chat server from the terminal.
///
/// On a terminal, chat runs full screen: messages above, your input line
/// below, who is online beside, and on a server with rooms the rooms you
/// are in on the left (a pane each, and one per person you exchange direct
/// messages with); it reconnects by itself when the link drops, and joins
/// each room again. With --plain or --json, or when stdin or stdout is not
/// a terminal, it is a line client: each line of standard input is sent as
/// a message; /me, /msg NAME, /who, /join #ROOM, /part, /rooms and /quit
/// are commands (/help lists them); after /join #ROOM, lines go to that
/// room. Messages from others are printed on standard output as they
/// arrive, a room's with its name ([12:00:00] #ops <ace> hi); with --json,
/// the events of a room other than the default one carry "room". At the
/// end of input, chat waits for the server to confirm the lines sent, then
/// leaves.
///
/// Identity: chat proves a long-term Ed25519 key pair of yours at every
/// join, so that a server that binds names to identities lets no one else
/// in under your name. It is made on first use in
/// $XDG_DATA_HOME/chat/identity (~/.local/share/chat/identity): comment
/// lines starting with #, then one line chat-idsecret1_… (the private key,
/// not encrypted: keep the file private, mode 0600; chat refuses it when
/// others can read it). --show-identity prints its public key and
/// fingerprint. chat records the identities it sees, per server and name,
/// in $XDG_DATA_HOME/chat/known_names, and warns when a name comes back
/// with one it never had there (/whois NAME shows what it knows).
///
/// /ignore NAME hides NAME's messages (by NAME's identity when it has one,
/// so a rename does not escape it); the list is kept per server in
/// $XDG_DATA_HOME/chat/ignored (/unignore NAME, /ignore alone lists).
#[derive(Parser, Debug)]
#[command(name = "chat", version, after_help = format!("{KEYS_HELP}\n\n{}", crate::exit::EXIT_CODES_HELP))]
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

    /// The server's WebSocket address. Several addresses of one room: give
    /// --url again, or a comma list; chat tries them in turn, in the order
    /// given, when it connects and when it reconnects. They must lead to the
    /// same room (message ids are the room's): two separate chatds are two
    /// rooms
    #[arg(
        long,
        value_name = "URL",
        default_value = "ws://localhost:1719/",
        value_parser = crate::parse_url,
        value_delimiter = ',',
        action = clap::ArgAction::Append
    )]
    pub url: Vec<String>,

    /// The name to join as: 1-32 of A-Z a-z 0-9 _ . - [default: user_NNNN,
    /// four random digits]
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,

    /// Read the server password from FILE (one trailing newline is stripped);
    /// else CHAT_PASSWORD is used, else none. If the server wants one and
    /// none was given, chat asks for it when run at a terminal
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Use the line client even on a terminal (the full-screen client is
    /// the default when stdin and stdout are terminals)
    #[arg(long)]
    pub plain: bool,

    /// Print each event received as one JSON object per line (with `type`;
    /// messages have `from`, `text`, `id`, `ts`; the events of a room other
    /// than the default one have `room`, absent for the default room's, as
    /// the server sends them)
    #[arg(long)]
    pub json: bool,

    /// Use the settings of [profile.NAME] in the configuration file
    /// ($XDG_CONFIG_HOME/chat/config.toml: url, username, key or key_file,
    /// password_file or password_command, identity; for the full screen
    /// time_format, bell, color and log_dir); flags and the environment
    /// override it. A configuration that belongs to another user (not you,
    /// not root) or that others can change is refused
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Prove this identity when joining: FILE holds its private key, as
    /// `--show-identity` makes it (mode 0600: a file others can read is
    /// refused). `none`: join without one. [default: the configuration's
    /// `identity`, else $XDG_DATA_HOME/chat/identity
    /// (~/.local/share/chat/identity), made on first use]
    #[arg(long, value_name = "FILE", env = "CHAT_IDENTITY")]
    pub identity: Option<PathBuf>,

    /// Join without an identity (as CHAT_IDENTITY=none): the server cannot
    /// tell this is you, and a name registered to your identity is refused
    #[arg(long, conflicts_with = "show_identity")]
    pub no_identity: bool,

    /// Print the public key of the identity chat would use (the form
    /// `chatctl names add NAME KEY` and `/identity add KEY` take) on the
    /// first line and its fingerprint on the second, then exit; the
    /// identity is made first if its file does not exist. Never prints the
    /// private key
    #[arg(long)]
    pub show_identity: bool,

    /// Refused: a password on the command line leaks (see --password-file)
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub password: Option<String>,

    /// Whether `key_option` came from CHAT_KEY rather than `--key`.
    #[arg(skip)]
    pub key_option_from_env: bool,

    /// Whether `url` is clap's default (the configuration file may set it).
    #[arg(skip)]
    pub url_is_default: bool,
}
