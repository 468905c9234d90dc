//! chatctl's command line, on its own so that `build.rs` can include it
//! too and make the man page and the shell completions from it (through
//! `chat-docgen`): what `--help` says and what `man chatctl` says are the
//! same text. The value parsers live in `parse.rs` (`crate::parse_grace`,
//! `crate::parse_name`); the build script has stand-ins for them. An
//! identity's KEY is checked after parsing (`crate::identity_key`), since
//! clap would echo a bad value, and a private key given by mistake must
//! not be.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show version, uptime, listen address, key fingerprint and counts
    #[command(long_about = "\
Show the daemon's version, uptime, listen address, key fingerprint (and the
previous key's while a rotation's grace runs), users online, messages
relayed, which password is in force, state directory and pid. On a node of
a cluster also: the node's name, whether the cluster is connected or
unavailable (NATS out of reach: messages are refused), the nodes alive with
their users online, listen address and start, and the users online on all
nodes (JSON: node, cluster, nodes, online_cluster).

Examples:
  chatctl status
  chatctl status --json | jq .online")]
    Status,

    /// List connected users: name, address, since, messages, identity, key fingerprint
    #[command(long_about = "\
List the users online: name, peer address, how long ago they joined,
messages sent, the fingerprint of the identity they proved at their join
(IDENTITY, when anyone online proved one; JSON: identity, absent for a user
without one), and the fingerprint of the room key they joined with (KEY,
JSON: key_id; after a rotation with grace, who still uses the old key). On a node of a cluster,
the users of every node, with a NODE column (JSON: node); a node that does
not answer within 1 s is named in a last line `warning: ...` (JSON:
warning) and its users are left out.

With --room, the members of that room only (`#ops`, or `ops`).

Examples:
  chatctl users
  chatctl users --room '#ops'
  chatctl users --json | jq -r '.users[].name'")]
    Users {
        /// List the members of this room only (#ops, or ops)
        #[arg(long, value_name = "ROOM")]
        room: Option<String>,
    },

    /// Print the key token to hand to people (only the token, on one line)
    #[command(long_about = "\
Print the current key token (chat1_...), the one people join with, alone on
one line so that it can be redirected. It is a secret: whoever holds it (and
the password, if one is set) can join and read the room.

Examples:
  chatctl key
  chatctl key > chat.key
  CHAT_KEY=$(chatctl key) chat --username ace")]
    Key,

    /// Make a new key; optionally end old sessions and keep the old key joining for a while
    #[command(long_about = "\
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
  chatctl rotate-key --json | jq -r .token > chat.key")]
    RotateKey {
        /// Disconnect the sessions that joined with an older key (at once; with --grace, when it ends)
        #[arg(long)]
        disconnect: bool,

        /// How long the old key still joins: 30s, 10m, 1h, 1d, at most 30d (0: not at all)
        /// [default: 0]
        #[arg(long, value_name = "DURATION", value_parser = crate::parse_grace)]
        grace: Option<u64>,
    },

    /// Set the join password (asked twice on the terminal), or remove it with --clear
    #[command(long_about = "\
Set the join password that people must give with the key. It is stored as a
hash and overrides the configured password file. It is asked twice on the
terminal with echo off, or read as one line from stdin with --stdin (one
trailing newline is stripped); it is never taken on the command line, where
`ps` and shell history would show it. --clear removes it, so that the
configured password file, if any, is in force again.

Examples:
  chatctl passwd
  chatctl passwd --stdin < password.txt
  chatctl passwd --clear")]
    Passwd {
        /// Read the password from the first line of stdin instead of asking
        #[arg(long)]
        stdin: bool,

        /// Remove the password set with `chatctl passwd`
        #[arg(long, conflicts_with = "stdin")]
        clear: bool,
    },

    /// List the names registered to identities' keys; register or remove one
    #[command(
        long_about = "\
Without a subcommand, list the names registry: the names policy in force
(open, first-come or registered; see the names setting in chatd.toml), then
each registered name with the fingerprints of its keys, when it was
registered and when a user of it was last seen (JSON: policy, and names[]
with name, keys[] {key, fingerprint}, registered and last_seen in Unix
seconds). A name unused for name_expiry (default 365 days) is released.

`names add NAME KEY` registers KEY to NAME (registering NAME if it is not
yet): under names = \"registered\" it is the only way in; under
\"first-come\" it pre-registers a name, or adds a person's second device.
KEY is the public key as the first line of `chat --show-identity` prints it
(chat-id1_...); a name holds at most 8 keys.

`names remove NAME` frees the name (anyone may then take it under
first-come); `names remove NAME KEY` removes one key (a lost device),
and frees the name with its last key. Sessions online stay connected:
kick them if they must go.

Examples:
  chatctl names
  chatctl names --json | jq -r '.names[].name'
  chatctl names add ace chat-id1_3eO8zsfzpmoRFfRdcg9NwTXDrnxOItyjj9se_WpJX_g
  chatctl names remove ace chat-id1_3eO8zsfzpmoRFfRdcg9NwTXDrnxOItyjj9se_WpJX_g
  chatctl names remove ace",
        args_conflicts_with_subcommands = true
    )]
    Names {
        /// Register a key to a name, or remove one
        #[command(subcommand)]
        action: Option<NamesAction>,
    },

    /// Disconnect a user, with a reason shown to them and to the room
    #[command(long_about = "\
Disconnect the user NAME (as `chatctl users` lists it), on whichever node of
a cluster they are. The reason, if given, is shown to the user and to the
room; like a message, it may hold newlines and tabs but no other control
character (refused, exit 2). Kicked users can join again;
to keep someone out, change the password or rotate the key with
--disconnect.

Examples:
  chatctl kick ace
  chatctl kick ace --reason 'flooding'")]
    Kick {
        /// The user's name: 1-32 of A-Z a-z 0-9 _ . -
        #[arg(value_name = "NAME", value_parser = crate::parse_name)]
        name: String,

        /// Words shown to the user and to the room
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },

    /// Ban a name, an identity or an address: sessions end, joins are refused
    #[command(long_about = "\
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
  chatctl ban addr:2001:db8:1:2::/64 --for 1d")]
    Ban {
        /// NAME, key:FINGERPRINT or addr:ADDRESS[/PREFIX]
        #[arg(value_name = "TARGET", value_parser = crate::parse_target)]
        target: String,

        /// How long (30s, 10m, 2h, 7d; at most 366d); without it, until lifted
        #[arg(long = "for", value_name = "DURATION", value_parser = crate::parse_length)]
        for_secs: Option<u64>,

        /// Why: one line of at most 200 bytes, shown to the user and the room
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },

    /// Lift a ban
    #[command(long_about = "\
Lift the ban of TARGET, written as `chatctl bans` lists it.

Examples:
  chatctl unban mallory
  chatctl unban addr:2001:db8:1:2::/64")]
    Unban {
        /// The target, as `chatctl bans` lists it
        #[arg(value_name = "TARGET", value_parser = crate::parse_target)]
        target: String,
    },

    /// List the bans in force
    #[command(long_about = "\
List the bans in force, oldest first: the target, the reason, who banned (the
admin's Unix user, or op:NAME for an operator of the room), since when, and
until when (\"until lifted\" without an end), and what a ban by name takes in
beside the name (its keys and addresses).

Examples:
  chatctl bans
  chatctl bans --json | jq -r '.bans[].target'")]
    Bans,

    /// Mute a user: they stay and read, and what they say is refused
    #[command(long_about = "\
Mute NAME: the user stays and reads, and their messages, actions and direct
messages are refused (their client shows \"muted\" and until when); nobody
receives them. The room is told once. A mute follows the person across a
rejoin: a registered name by its keys (whatever name they join as), a user
with an identity by it, one without by the name from the same address.
NAME must be online or registered. Without --for it lasts until lifted
(`chatctl unmute`).

Examples:
  chatctl mute bob --for 10m --reason 'flooding'
  chatctl mute bob")]
    Mute {
        /// The user's name: 1-32 of A-Z a-z 0-9 _ . -
        #[arg(value_name = "NAME", value_parser = crate::parse_name)]
        name: String,

        /// How long (30s, 10m, 2h, 7d; at most 366d); without it, until lifted
        #[arg(long = "for", value_name = "DURATION", value_parser = crate::parse_length)]
        for_secs: Option<u64>,

        /// Why: one line of at most 200 bytes, shown to the user and the room
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },

    /// Lift a mute
    #[command(long_about = "\
Lift the mute of NAME.

Examples:
  chatctl unmute bob")]
    Unmute {
        /// The user's name
        #[arg(value_name = "NAME", value_parser = crate::parse_name)]
        name: String,
    },

    /// List the mutes in force
    #[command(long_about = "\
List the mutes in force, oldest first: the name, the reason, who muted (the
admin's Unix user, or op:NAME), since when and until when, and whom the mute
follows (the identities, or the address of a user without one).

Examples:
  chatctl mutes
  chatctl mutes --json")]
    Mutes,

    /// Make a registered name an operator of the room
    #[command(long_about = "\
Make NAME an operator of the room: from their client they may kick, ban and
unban names, mute and unmute, and list the bans (/kick, /ban, /unban, /mute,
/unmute, /bans). NAME must be registered (`chatctl names`): the rights go
only to a session proven with one of the name's keys, under every names
policy, so taking the name never takes the rights. Operators cannot act on
other operators nor lift what the admin set. The room is told, and marks
operators with @.

Examples:
  chatctl op carol")]
    Op {
        /// The registered name
        #[arg(value_name = "NAME", value_parser = crate::parse_name)]
        name: String,
    },

    /// End a name's operator rights
    #[command(long_about = "\
NAME is an operator no longer; its sessions lose the rights at once.

Examples:
  chatctl deop carol")]
    Deop {
        /// The operator's name
        #[arg(value_name = "NAME", value_parser = crate::parse_name)]
        name: String,
    },

    /// List the room's operators
    #[command(long_about = "\
List the names that are operators of the room.

Examples:
  chatctl operators
  chatctl operators --json")]
    Operators,

    /// Show the record of who did what: kicks, bans, mutes, operators, names removed
    #[command(long_about = "\
Show the record of moderation, oldest first: every kick, ban, unban, mute,
unmute, op, deop and name removal, by the admin (their Unix user) or an
operator (op:NAME), with the target, the reason and the end. The daemon
keeps the newest 10000 in STATE_DIR/audit and logs each as a journal line.
On a node of a cluster, the record is that node's: the acts it carried out.

Examples:
  chatctl audit
  chatctl audit --since 1d
  chatctl audit --json | jq -r '.entries[] | [.actor, .action, .target] | @tsv'")]
    Audit {
        /// Only the acts of the last DURATION (30s, 10m, 2h, 7d)
        #[arg(long, value_name = "DURATION", value_parser = crate::parse_length)]
        since: Option<u64>,
    },

    /// Send a notice from the admin to everyone online
    #[command(long_about = "\
Send a notice to everyone online (in a cluster: on every node; while NATS is
out of reach, on this node only); clients show it apart from users'
messages. Several words are joined with spaces. Like a message, the notice
may hold newlines and tabs but no other control character (refused, exit 2).

With --room, the notice goes to that room's members only.

Examples:
  chatctl say 'restarting at 18:00'
  chatctl say restarting at 18:00
  chatctl say --room '#ops' 'deploy freeze until 18:00'")]
    Say {
        /// Tell this room's members only (#ops, or ops)
        #[arg(long, value_name = "ROOM")]
        room: Option<String>,

        /// The notice text
        #[arg(value_name = "TEXT", required = true, num_args = 1..)]
        text: Vec<String>,
    },

    /// List the rooms, or add, remove, set the topic of, or invite into one
    #[command(long_about = "\
Without an action, list every room: name, members online, messages kept,
private, lasting, topic (JSON: rooms[] with room, online, messages,
private, lasting, default, topic, invited). The default room comes first.

  add ROOM [--topic TEXT] [--private]   make a lasting room (one made by
                                        joining it goes once idle for
                                        room_idle_expiry; `add` keeps it)
  remove ROOM                           remove a room with its history; its
                                        members are told
  topic ROOM TEXT                       set the topic ('' clears it)
  invite ROOM NAME                      let NAME into a private room

A room is # and 1-32 of a-z 0-9 _ . - (upper case folded); quote it in
the shell ('#ops'), or leave the # out (ops).

Examples:
  chatctl rooms
  chatctl rooms add '#ops' --topic 'deploys and incidents'
  chatctl rooms add '#staff' --private
  chatctl rooms invite '#staff' dave
  chatctl rooms topic '#ops' 'deploy freeze until 18:00'
  chatctl rooms remove '#coffee'
  chatctl rooms --json | jq -r '.rooms[].room'")]
    Rooms {
        /// What to do; none: list the rooms
        #[command(subcommand)]
        action: Option<RoomsAction>,
    },

    /// Re-read the configuration file (as SIGHUP does)
    #[command(long_about = "\
Re-read the configuration file, as SIGHUP does, and list the settings now
in force with new values and those that need a restart. In a cluster, every
node re-reads its own file; the list is the asked node's.

Examples:
  chatctl reload")]
    Reload,

    /// Print the daemon's metrics, in the Prometheus text format
    #[command(long_about = "\
Print the daemon's metrics (GET /v1/metrics) as Prometheus reads them: the
Prometheus text format 0.0.4, or OpenMetrics 1.0 with --openmetrics. The
text is printed as chatd sent it (only a character that could drive the
terminal would be escaped, and chatd sends none). Every metric is this
node's own; docs/operations.md, \"Monitoring\", says what each one means.
With --json: one object, {\"content_type\": ..., \"text\": ...}, the text in
a JSON string.

For a Prometheus server, set metrics_listen in chatd.toml instead: chatd
then serves /metrics and /health over HTTP on that address.

Examples:
  chatctl metrics
  chatctl metrics | grep '^chatd_users_online'
  chatctl metrics --openmetrics > scrape.txt")]
    Metrics {
        /// Ask for OpenMetrics 1.0 (as a Prometheus server does) instead of the text format 0.0.4
        #[arg(long)]
        openmetrics: bool,
    },

    /// Say whether the daemon serves; exit 0 if it does, 1 with the reason if not
    #[command(long_about = "\
Ask the daemon whether it serves (GET /v1/health). Prints `serving` and
exits 0, or names why not and exits 1: cluster_unreachable (a node of a
cluster has been without NATS for longer than handshake_timeout),
shutting_down, or stalled (the room or the accept loop did not answer in
time). No daemon answering at all exits 69, as for every command. With
--json: the daemon's answer, {\"status\":\"serving\"}, or the error as
JSON.

Examples:
  chatctl health
  chatctl health >/dev/null || echo 'chatd is not serving'")]
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

/// What `chatctl rooms` does besides listing.
#[derive(Subcommand, Debug)]
pub enum RoomsAction {
    /// Make a lasting room (or make one that exists lasting)
    Add {
        /// The room: #ops (or ops)
        #[arg(value_name = "ROOM")]
        room: String,

        /// Its topic: one line of at most 300 bytes
        #[arg(long, value_name = "TEXT")]
        topic: Option<String>,

        /// Joinable by invited names only (chatctl rooms invite), and
        /// listed only to them
        #[arg(long)]
        private: bool,
    },
    /// Remove a room with its history; its members are told
    Remove {
        /// The room: #ops (or ops)
        #[arg(value_name = "ROOM")]
        room: String,
    },
    /// Set a room's topic ('' clears it); its members are told
    Topic {
        /// The room: #ops (or ops)
        #[arg(value_name = "ROOM")]
        room: String,

        /// The topic; several words are joined with spaces
        #[arg(value_name = "TEXT", required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Invite a name into a room (a private room admits the names invited)
    Invite {
        /// The room: #ops (or ops)
        #[arg(value_name = "ROOM")]
        room: String,

        /// The name: 1-32 of A-Z a-z 0-9 _ . -
        #[arg(value_name = "NAME", value_parser = crate::parse_name)]
        name: String,
    },
}

/// `chatctl names add` and `names remove`.
#[derive(Subcommand, Debug)]
pub enum NamesAction {
    /// Register a key to a name (the name too, if it is not registered yet)
    #[command(long_about = "\
Register KEY to NAME, registering NAME if it is not registered yet. KEY is
the public key of a person's identity, as the first line of
`chat --show-identity` prints it (chat-id1_...). A key the name holds
already changes nothing.

Examples:
  chatctl names add ace chat-id1_3eO8zsfzpmoRFfRdcg9NwTXDrnxOItyjj9se_WpJX_g")]
    Add {
        /// The name: 1-32 of A-Z a-z 0-9 _ . -
        #[arg(value_name = "NAME", value_parser = crate::parse_name)]
        name: String,

        /// The public key (chat-id1_..., the first line of `chat --show-identity`)
        #[arg(value_name = "KEY")]
        key: String,
    },

    /// Free a name, or remove one of its keys
    #[command(long_about = "\
Without KEY, free NAME: it is no longer registered, and anyone may take it
(under first-come, the next identity that joins with it). With KEY, remove
that key from NAME (a lost or stolen device); the name is freed with its
last key. Sessions online stay connected: `chatctl kick` ends them.

Examples:
  chatctl names remove ace
  chatctl names remove ace chat-id1_3eO8zsfzpmoRFfRdcg9NwTXDrnxOItyjj9se_WpJX_g")]
    Remove {
        /// The name: 1-32 of A-Z a-z 0-9 _ . -
        #[arg(value_name = "NAME", value_parser = crate::parse_name)]
        name: String,

        /// The key to remove (chat-id1_...); without it, the whole name
        #[arg(value_name = "KEY")]
        key: Option<String>,
    },
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
