//! chatctl's command line, on its own so that `build.rs` can include it
//! too and make the man page and the shell completions from it (through
//! `chat-docgen`): what `--help` says and what `man chatctl` says are the
//! same text. The value parsers live in `parse.rs` (`crate::parse_grace`,
//! `crate::parse_name`); the build script has stand-ins for them. An
//! identity's KEY is checked after parsing (`crate::identity_key`), since
//! clap would echo a bad value, and a private key given by mistake must
//! not be.
//!
//! This file holds the top level ([`Cli`]), the index of the subcommands
//! ([`Command`]: each one's one-line summary, shown in `chatctl --help`),
//! the exit codes and the man page's extras. Each subcommand's long help
//! and arguments live with those of its kind, in `cli/`: the key and
//! password (`access.rs`), the daemon as a whole (`daemon.rs`), moderation
//! (`moderation.rs`), the names registry (`names.rs`) and the rooms
//! (`rooms.rs`). clap applies a variant's own attributes after its
//! arguments struct's, so the texts on `Command` are the ones shown.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

// `build.rs` includes this file with `#[path]`, and a file included so
// looks for its modules beside it (in src/, among main.rs's own) rather
// than in src/cli/: the paths say where they are for both.
#[path = "cli/access.rs"]
mod access;
#[path = "cli/daemon.rs"]
mod daemon;
#[path = "cli/moderation.rs"]
mod moderation;
#[path = "cli/names.rs"]
mod names;
#[path = "cli/rooms.rs"]
mod rooms;

pub use self::access::{PasswdArgs, RotateKeyArgs};
pub use self::daemon::{MetricsArgs, SayArgs, UsersArgs};
pub use self::moderation::{
    AuditArgs, BanArgs, DeopArgs, KickArgs, MuteArgs, OpArgs, UnbanArgs, UnmuteArgs,
};
pub use self::names::NamesAction;
pub use self::rooms::RoomsAction;

/// The top-level `--help` beyond the one-line summary.
pub const LONG_ABOUT: &str = "\
Administer a running chatd through its admin socket.

chatctl shows the daemon's status and who is online, hands out and rotates
the key, sets the join password, registers names to people's identities,
kicks users, sends notices, manages the rooms, reloads the configuration,
and prints the daemon's metrics and health. It speaks HTTP/1.1 and JSON over the daemon's Unix socket
(so `curl --unix-socket` works too).

The socket is --socket PATH, else CHATD_SOCKET, else your own chatd's
($XDG_RUNTIME_DIR/chatd/admin.sock, or /tmp/chatd-$UID/admin.sock without
XDG_RUNTIME_DIR; /run/chatd/admin.sock for root), else the system daemon's
/run/chatd/admin.sock. Only root, the daemon's user and members of its admin
group may use it.

Before it sends anything, chatctl checks that the socket's directory belongs
to root, you or the daemon's user chatd and that no one else may write to it,
and that the process listening on the socket runs as one of them; otherwise
it refuses (exit 77) and says why, so that a socket another user planted
(say, /tmp/chatd-$UID made before your chatd made it) never sees your
password or hands you a false key.

Examples:
  chatctl status
  chatctl users --json | jq -r '.users[].name'
  chatctl key > chat.key
  chatctl rotate-key --grace 10m
  chatctl rotate-key --disconnect        # after a leak: no grace, end sessions
  chatctl passwd
  chatctl names add ace chat-id1_...    # the first line of `chat --show-identity`
  chatctl kick ace --reason 'flooding'
  chatctl say 'restarting at 18:00'
  chatctl rooms add '#ops' --topic 'deploys and incidents'
  chatctl metrics | grep '^chatd_users_online'
  chatctl --socket /run/chatd/admin.sock reload";

/// Administer a running chatd through its admin socket.
#[derive(Parser, Debug)]
#[command(
    name = "chatctl",
    version,
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// The daemon's admin socket; the only one tried when given [default:
    /// your own chatd's, then /run/chatd/admin.sock]
    #[arg(long, global = true, env = "CHATD_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Print the daemon's answer as one JSON object, for scripts (field
    /// names are stable); an error is then also one JSON object on stdout:
    /// {"error":{"code":…,"message":…}}
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// chatctl's subcommands, in the order `chatctl --help` lists them: each
/// one's summary here, its long help and arguments in the `cli/` module
/// of its kind.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show version, uptime, listen address, key fingerprint and counts
    #[command(long_about = daemon::STATUS_LONG_ABOUT)]
    Status,

    /// List connected users: name, address, since, messages, identity, key fingerprint
    #[command(long_about = daemon::USERS_LONG_ABOUT)]
    Users(UsersArgs),

    /// Print the key token to hand to people (only the token, on one line)
    #[command(long_about = access::KEY_LONG_ABOUT)]
    Key,

    /// Make a new key; optionally end old sessions and keep the old key joining for a while
    #[command(long_about = access::ROTATE_KEY_LONG_ABOUT)]
    RotateKey(RotateKeyArgs),

    /// Set the join password (asked twice on the terminal), or remove it with --clear
    #[command(long_about = access::PASSWD_LONG_ABOUT)]
    Passwd(PasswdArgs),

    /// List the names registered to identities' keys; register or remove one
    #[command(long_about = names::NAMES_LONG_ABOUT, args_conflicts_with_subcommands = true)]
    Names {
        /// Register a key to a name, or remove one
        #[command(subcommand)]
        action: Option<NamesAction>,
    },

    /// Disconnect a user, with a reason shown to them and to the room
    #[command(long_about = moderation::KICK_LONG_ABOUT)]
    Kick(KickArgs),

    /// Ban a name, an identity or an address: sessions end, joins are refused
    #[command(long_about = moderation::BAN_LONG_ABOUT)]
    Ban(BanArgs),

    /// Lift a ban
    #[command(long_about = moderation::UNBAN_LONG_ABOUT)]
    Unban(UnbanArgs),

    /// List the bans in force
    #[command(long_about = moderation::BANS_LONG_ABOUT)]
    Bans,

    /// Mute a user: they stay and read, and what they say is refused
    #[command(long_about = moderation::MUTE_LONG_ABOUT)]
    Mute(MuteArgs),

    /// Lift a mute
    #[command(long_about = moderation::UNMUTE_LONG_ABOUT)]
    Unmute(UnmuteArgs),

    /// List the mutes in force
    #[command(long_about = moderation::MUTES_LONG_ABOUT)]
    Mutes,

    /// Make a registered name an operator of the room
    #[command(long_about = moderation::OP_LONG_ABOUT)]
    Op(OpArgs),

    /// End a name's operator rights
    #[command(long_about = moderation::DEOP_LONG_ABOUT)]
    Deop(DeopArgs),

    /// List the room's operators
    #[command(long_about = moderation::OPERATORS_LONG_ABOUT)]
    Operators,

    /// Show the record of who did what: kicks, bans, mutes, operators, names removed
    #[command(long_about = moderation::AUDIT_LONG_ABOUT)]
    Audit(AuditArgs),

    /// Send a notice from the admin to everyone online
    #[command(long_about = daemon::SAY_LONG_ABOUT)]
    Say(SayArgs),

    /// List the rooms, or add, remove, set the topic of, or invite into one
    #[command(long_about = rooms::ROOMS_LONG_ABOUT)]
    Rooms {
        /// What to do; none: list the rooms
        #[command(subcommand)]
        action: Option<RoomsAction>,
    },

    /// Re-read the configuration file (as SIGHUP does)
    #[command(long_about = daemon::RELOAD_LONG_ABOUT)]
    Reload,

    /// Print the daemon's metrics, in the Prometheus text format
    #[command(long_about = daemon::METRICS_LONG_ABOUT)]
    Metrics(MetricsArgs),

    /// Say whether the daemon serves; exit 0 if it does, 1 with the reason if not
    #[command(long_about = daemon::HEALTH_LONG_ABOUT)]
    Health,

    /// Print a shell completion script for bash, zsh or fish
    #[command(long_about = "\
Print a completion script for the shell on stdout.

Examples:
  chatctl completions bash > /etc/bash_completion.d/chatctl
  chatctl completions zsh > ~/.zfunc/_chatctl
  chatctl completions fish > ~/.config/fish/completions/chatctl.fish")]
    Completions {
        /// The shell
        #[arg(value_name = "SHELL")]
        shell: Shell,
    },

    /// Print the man page (roff) on stdout
    #[command(long_about = "\
Print chatctl's man page, in roff, on stdout.

Examples:
  chatctl man > chatctl.8
  chatctl man | man -l -")]
    Man,
}

/// The `--help` text that documents every exit code.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
   0  done
   1  refused by the daemon (its error code and message are printed), the
      daemon is not serving (`health`), or another error
   2  usage error (bad command line, bad --grace, invalid user name, a KEY
      that is not an identity's public key)
  69  daemon not reachable: no chatd answers on any socket tried (each
      path tried is named)
  77  permission denied: the socket refused the connection, or the daemon
      answered 403 (you must be root, the daemon's user, or a member of its
      admin group); or the socket is not trusted and nothing was sent to it:
      its directory is not owned by root, you or the daemon's user chatd, or
      others may write to it, or the process listening on it runs as someone
      else";

/// The shells completions are generated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// What chatctl(8) says beyond the command line.
pub const MAN: chat_docgen::Extras = chat_docgen::Extras {
    section: "8",
    environment: &[(
        "CHATD_SOCKET",
        "The admin socket, as --socket gives it; the command line wins.",
    )],
    files: &[
        (
            "/run/chatd/admin.sock",
            "The admin socket of the system daemon (and of a chatd run by root).",
        ),
        (
            "$XDG_RUNTIME_DIR/chatd/admin.sock",
            "The admin socket of a chatd run by this user (/tmp/chatd-$UID/admin.sock without XDG_RUNTIME_DIR).",
        ),
    ],
    see_also: &[("chatd", "8"), ("chat", "1")],
};
