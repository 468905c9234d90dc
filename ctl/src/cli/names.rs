//! `chatctl names` and its actions: `add` and `remove`.

use clap::Subcommand;

/// `chatctl names --help` beyond its one-line summary.
pub const NAMES_LONG_ABOUT: &str = "\
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
  chatctl names remove ace";

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
