//! `chatctl rooms` and its actions: `add`, `remove`, `topic`, `invite`.

use clap::Subcommand;

/// `chatctl rooms --help` beyond its one-line summary.
pub const ROOMS_LONG_ABOUT: &str = "\
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
  chatctl rooms --json | jq -r '.rooms[].room'";

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
