//! `chatctl key`, `rotate-key` and `passwd`: the join key and the join
//! password, what people need to get in.

use clap::Args;

/// `chatctl key --help` beyond its one-line summary.
pub const KEY_LONG_ABOUT: &str = "\
Print the current key token (chat1_...), the one people join with, alone on
one line so that it can be redirected. It is a secret: whoever holds it (and
the password, if one is set) can join and read the room.

Examples:
  chatctl key
  chatctl key > chat.key
  CHAT_KEY=$(chatctl key) chat --username ace";

/// `chatctl rotate-key --help` beyond its one-line summary.
pub const ROTATE_KEY_LONG_ABOUT: &str = "\
Make a new join key and print its fingerprint and token. Sessions that joined
with the old key stay connected unless --disconnect is given; the old key
stops joining at once unless --grace keeps it for a while. With both, the
sessions on the old key (those that join with it during the grace too) are
disconnected when the grace ends; `chatctl status` shows when and `chatctl
users` whom. After a leak, rotate with --disconnect and no grace: if the
old keys cannot be erased from disk, the rotation fails and nothing changes.

Examples:
  chatctl rotate-key --grace 10m
  chatctl rotate-key --grace 1h --disconnect
  chatctl rotate-key --disconnect
  chatctl rotate-key --json | jq -r .token > chat.key";

/// The arguments of `chatctl rotate-key`.
#[derive(Args, Debug)]
pub struct RotateKeyArgs {
    /// Disconnect the sessions that joined with an older key (at once; with --grace, when it ends)
    #[arg(long)]
    pub disconnect: bool,

    /// How long the old key still joins: 30s, 10m, 1h, 1d, at most 30d (0: not at all)
    /// [default: 0]
    #[arg(long, value_name = "DURATION", value_parser = crate::parse_grace)]
    pub grace: Option<u64>,
}

/// `chatctl passwd --help` beyond its one-line summary.
pub const PASSWD_LONG_ABOUT: &str = "\
Set the join password that people must give with the key. It is stored as a
hash and overrides the configured password file. It is asked twice on the
terminal with echo off, or read as one line from stdin with --stdin (one
trailing newline is stripped); it is never taken on the command line, where
`ps` and shell history would show it. --clear removes it, so that the
configured password file, if any, is in force again.

Examples:
  chatctl passwd
  chatctl passwd --stdin < password.txt
  chatctl passwd --clear";

/// The arguments of `chatctl passwd`.
#[derive(Args, Debug)]
pub struct PasswdArgs {
    /// Read the password from the first line of stdin instead of asking
    #[arg(long)]
    pub stdin: bool,

    /// Remove the password set with `chatctl passwd`
    #[arg(long, conflicts_with = "stdin")]
    pub clear: bool,
}
