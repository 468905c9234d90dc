//! `chatctl kick`, `ban`, `unban`, `bans`, `mute`, `unmute`, `mutes`,
//! `op`, `deop`, `operators` and `audit`: keeping order in the room, and
//! the record of it.

use clap::Args;

/// `chatctl kick --help` beyond its one-line summary.
pub const KICK_LONG_ABOUT: &str = "\
Disconnect the user NAME (as `chatctl users` lists it), on whichever node of
a cluster they are. The reason, if given, is shown to the user and to the
room; like a message, it may hold newlines and tabs but no other control
character (refused, exit 2). Kicked users can join again;
to keep someone out, change the password or rotate the key with
--disconnect.

Examples:
  chatctl kick ace
  chatctl kick ace --reason 'flooding'";

/// The arguments of `chatctl kick`.
#[derive(Args, Debug)]
pub struct KickArgs {
    /// The user's name: 1-32 of A-Z a-z 0-9 _ . -
    #[arg(value_name = "NAME", value_parser = crate::parse_name)]
    pub name: String,

    /// Words shown to the user and to the room
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// `chatctl ban --help` beyond its one-line summary.
pub const BAN_LONG_ABOUT: &str = "\
Ban TARGET: every session it matches ends at once (the user is shown the
reason and the end, and `chat` exits 17) and its joins are refused until the
ban ends or is lifted (`chatctl unban`). TARGET is one of:

  NAME                    a user name; a registered name (chatctl names) also
                          bans its keys, an unregistered one the identity and
                          the address of its session, if it is online
  key:FINGERPRINT         an identity, by the 16 hex digits `chatctl users`
                          shows as IDENTITY (never the join key's id: that
                          would ban everyone who has the token)
  addr:ADDRESS[/PREFIX]   an IPv4 or IPv6 address or network (IPv4 /8 to /32,
                          IPv6 /16 to /128, e.g. a /64); never a trusted
                          proxy's address

An address ban is checked before the password, so a banned address costs the
server no password check. Key bans hold only under names = \"registered\": under
the other policies a new identity costs nothing; addr: is the backstop
(docs/security.md). The room is told of a ban by name or key, never of an
address. Bans survive restarts and, in a cluster, reach every node.

Examples:
  chatctl ban mallory --reason 'spam'
  chatctl ban bob --for 10m --reason 'cool down'
  chatctl ban key:40dd79759f005170
  chatctl ban addr:2001:db8:1:2::/64 --for 1d";

/// The arguments of `chatctl ban`.
#[derive(Args, Debug)]
pub struct BanArgs {
    /// NAME, key:FINGERPRINT or addr:ADDRESS[/PREFIX]
    #[arg(value_name = "TARGET", value_parser = crate::parse_target)]
    pub target: String,

    /// How long (30s, 10m, 2h, 7d; at most 366d); without it, until lifted
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::parse_length)]
    pub for_secs: Option<u64>,

    /// Why: one line of at most 200 bytes, shown to the user and the room
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// `chatctl unban --help` beyond its one-line summary.
pub const UNBAN_LONG_ABOUT: &str = "\
Lift the ban of TARGET, written as `chatctl bans` lists it.

Examples:
  chatctl unban mallory
  chatctl unban addr:2001:db8:1:2::/64";

/// The arguments of `chatctl unban`.
#[derive(Args, Debug)]
pub struct UnbanArgs {
    /// The target, as `chatctl bans` lists it
    #[arg(value_name = "TARGET", value_parser = crate::parse_target)]
    pub target: String,
}

/// `chatctl bans --help` beyond its one-line summary.
pub const BANS_LONG_ABOUT: &str = "\
List the bans in force, oldest first: the target, the reason, who banned (the
admin's Unix user, or op:NAME for an operator of the room), since when, and
until when (\"until lifted\" without an end), and what a ban by name takes in
beside the name (its keys and addresses).

Examples:
  chatctl bans
  chatctl bans --json | jq -r '.bans[].target'";

/// `chatctl mute --help` beyond its one-line summary.
pub const MUTE_LONG_ABOUT: &str = "\
Mute NAME: the user stays and reads, and their messages, actions and direct
messages are refused (their client shows \"muted\" and until when); nobody
receives them. The room is told once. A mute follows the person across a
rejoin: a registered name by its keys (whatever name they join as), a user
with an identity by it, one without by the name from the same address.
NAME must be online or registered. Without --for it lasts until lifted
(`chatctl unmute`).

Examples:
  chatctl mute bob --for 10m --reason 'flooding'
  chatctl mute bob";

/// The arguments of `chatctl mute`.
#[derive(Args, Debug)]
pub struct MuteArgs {
    /// The user's name: 1-32 of A-Z a-z 0-9 _ . -
    #[arg(value_name = "NAME", value_parser = crate::parse_name)]
    pub name: String,

    /// How long (30s, 10m, 2h, 7d; at most 366d); without it, until lifted
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::parse_length)]
    pub for_secs: Option<u64>,

    /// Why: one line of at most 200 bytes, shown to the user and the room
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// `chatctl unmute --help` beyond its one-line summary.
pub const UNMUTE_LONG_ABOUT: &str = "\
Lift the mute of NAME.

Examples:
  chatctl unmute bob";

/// The arguments of `chatctl unmute`.
#[derive(Args, Debug)]
pub struct UnmuteArgs {
    /// The user's name
    #[arg(value_name = "NAME", value_parser = crate::parse_name)]
    pub name: String,
}

/// `chatctl mutes --help` beyond its one-line summary.
pub const MUTES_LONG_ABOUT: &str = "\
List the mutes in force, oldest first: the name, the reason, who muted (the
admin's Unix user, or op:NAME), since when and until when, and whom the mute
follows (the identities, or the address of a user without one).

Examples:
  chatctl mutes
  chatctl mutes --json";

/// `chatctl op --help` beyond its one-line summary.
pub const OP_LONG_ABOUT: &str = "\
Make NAME an operator of the room: from their client they may kick, ban and
unban names, mute and unmute, and list the bans (/kick, /ban, /unban, /mute,
/unmute, /bans). NAME must be registered (`chatctl names`): the rights go
only to a session proven with one of the name's keys, under every names
policy, so taking the name never takes the rights. Operators cannot act on
other operators nor lift what the admin set. The room is told, and marks
operators with @.

Examples:
  chatctl op carol";

/// The arguments of `chatctl op`.
#[derive(Args, Debug)]
pub struct OpArgs {
    /// The registered name
    #[arg(value_name = "NAME", value_parser = crate::parse_name)]
    pub name: String,
}

/// `chatctl deop --help` beyond its one-line summary.
pub const DEOP_LONG_ABOUT: &str = "\
NAME is an operator no longer; its sessions lose the rights at once.

Examples:
  chatctl deop carol";

/// The arguments of `chatctl deop`.
#[derive(Args, Debug)]
pub struct DeopArgs {
    /// The operator's name
    #[arg(value_name = "NAME", value_parser = crate::parse_name)]
    pub name: String,
}

/// `chatctl operators --help` beyond its one-line summary.
pub const OPERATORS_LONG_ABOUT: &str = "\
List the names that are operators of the room.

Examples:
  chatctl operators
  chatctl operators --json";

/// `chatctl audit --help` beyond its one-line summary.
pub const AUDIT_LONG_ABOUT: &str = "\
Show the record of moderation, oldest first: every kick, ban, unban, mute,
unmute, op, deop and name removal, by the admin (their Unix user) or an
operator (op:NAME), with the target, the reason and the end. The daemon
keeps the newest 10000 in STATE_DIR/audit and logs each as a journal line.
On a node of a cluster, the record is that node's: the acts it carried out.

Examples:
  chatctl audit
  chatctl audit --since 1d
  chatctl audit --json | jq -r '.entries[] | [.actor, .action, .target] | @tsv'";

/// The arguments of `chatctl audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only the acts of the last DURATION (30s, 10m, 2h, 7d)
    #[arg(long, value_name = "DURATION", value_parser = crate::parse_length)]
    pub since: Option<u64>,
}
