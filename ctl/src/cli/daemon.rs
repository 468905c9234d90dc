//! `chatctl status`, `users`, `say`, `reload`, `metrics` and `health`:
//! the daemon as a whole, what it reports and what it is told.

use clap::Args;

/// `chatctl status --help` beyond its one-line summary.
pub const STATUS_LONG_ABOUT: &str = "\
Show the daemon's version, uptime, listen address, key fingerprint (and the
previous key's while a rotation's grace runs), users online, messages
relayed, which password is in force, state directory and pid. On a node of
a cluster also: the node's name, whether the cluster is connected or
unavailable (NATS out of reach: messages are refused), the nodes alive with
their users online, listen address and start, and the users online on all
nodes (JSON: node, cluster, nodes, online_cluster).

Examples:
  chatctl status
  chatctl status --json | jq .online";

/// `chatctl users --help` beyond its one-line summary.
pub const USERS_LONG_ABOUT: &str = "\
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
  chatctl users --json | jq -r '.users[].name'";

/// The arguments of `chatctl users`.
#[derive(Args, Debug)]
pub struct UsersArgs {
    /// List the members of this room only (#ops, or ops)
    #[arg(long, value_name = "ROOM")]
    pub room: Option<String>,
}

/// `chatctl say --help` beyond its one-line summary.
pub const SAY_LONG_ABOUT: &str = "\
Send a notice to everyone online (in a cluster: on every node; while NATS is
out of reach, on this node only); clients show it apart from users'
messages. Several words are joined with spaces. Like a message, the notice
may hold newlines and tabs but no other control character (refused, exit 2).

With --room, the notice goes to that room's members only.

Examples:
  chatctl say 'restarting at 18:00'
  chatctl say restarting at 18:00
  chatctl say --room '#ops' 'deploy freeze until 18:00'";

/// The arguments of `chatctl say`.
#[derive(Args, Debug)]
pub struct SayArgs {
    /// Tell this room's members only (#ops, or ops)
    #[arg(long, value_name = "ROOM")]
    pub room: Option<String>,

    /// The notice text
    #[arg(value_name = "TEXT", required = true, num_args = 1..)]
    pub text: Vec<String>,
}

/// `chatctl reload --help` beyond its one-line summary.
pub const RELOAD_LONG_ABOUT: &str = "\
Re-read the configuration file, as SIGHUP does, and list the settings now
in force with new values and those that need a restart. In a cluster, every
node re-reads its own file; the list is the asked node's.

Examples:
  chatctl reload";

/// `chatctl metrics --help` beyond its one-line summary.
pub const METRICS_LONG_ABOUT: &str = "\
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
  chatctl metrics --openmetrics > scrape.txt";

/// The arguments of `chatctl metrics`.
#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// Ask for OpenMetrics 1.0 (as a Prometheus server does) instead of the text format 0.0.4
    #[arg(long)]
    pub openmetrics: bool,
}

/// `chatctl health --help` beyond its one-line summary.
pub const HEALTH_LONG_ABOUT: &str = "\
Ask the daemon whether it serves (GET /v1/health). Prints `serving` and
exits 0, or names why not and exits 1: cluster_unreachable (a node of a
cluster has been without NATS for longer than handshake_timeout),
shutting_down, or stalled (the room or the accept loop did not answer in
time). No daemon answering at all exits 69, as for every command. With
--json: the daemon's answer, {\"status\":\"serving\"}, or the error as
JSON.

Examples:
  chatctl health
  chatctl health >/dev/null || echo 'chatd is not serving'";
