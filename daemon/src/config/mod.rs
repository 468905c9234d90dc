//! The daemon's configuration: one struct, defaults in one place.
//!
//! Read from TOML (`--config`, else the path rule of `paths`), with unknown
//! keys and bad values refused by file and line; command-line flags are
//! applied on top. Every field is documented in `config/chatd.toml`.

pub(crate) mod check;
pub(crate) mod cluster;
pub(crate) mod current;
pub(crate) mod error;
pub mod names;
pub(crate) mod network;
pub mod reload;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chat_protocol::RoomName;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use check::{
    MAX_CONFIG_BYTES, MAX_DURATION, MAX_QUEUE_BYTES, MAX_TEXT_CEILING, MIN_QUEUE_BYTES,
};
pub use current::Current;
pub use error::{ConfigError, Invalid};
use error::{describe_toml_error, key_line};

/// A duration written as `30s`, `10m`, `1h` in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Human(pub Duration);

impl<'de> Deserialize<'de> for Human {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        chat_protocol::duration::parse(&text)
            .map(Human)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Human {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&chat_protocol::duration::format(self.0))
    }
}

/// Who may make a room by joining it (`room_creation`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoomCreation {
    /// Every session.
    Anyone,
    /// The operators (and the admin, through `chatctl rooms add`).
    Operators,
    /// The admin only, through `chatctl rooms add`.
    Admin,
}

impl RoomCreation {
    /// Who may make rooms, in words for a refusal.
    pub fn who(self) -> &'static str {
        match self {
            RoomCreation::Anyone => "anyone",
            RoomCreation::Operators => "the operators and the server's admin",
            RoomCreation::Admin => "the server's admin (chatctl rooms add)",
        }
    }
}

/// Everything `chatd` can be told. Field names are the TOML keys.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the chat listener binds (ignored under socket activation).
    pub listen: String,
    /// State directory (keys, password hash).
    pub state_dir: Option<PathBuf>,
    /// Runtime directory (admin socket).
    pub runtime_dir: Option<PathBuf>,
    /// File holding the join password in plain text (one trailing newline stripped).
    pub password_file: Option<PathBuf>,
    /// Log level or `tracing` filter; `RUST_LOG` wins when set.
    pub log_level: String,
    /// Message of the day, shown to everyone who joins.
    pub motd: Option<String>,
    /// Public messages kept for people who join (and in `STATE_DIR/history`).
    pub history: usize,
    /// Age past which a kept message is dropped; `0`: no age bound.
    pub history_max_age: Human,
    /// Longest message text, in bytes.
    pub max_text: usize,
    /// Most users online at once.
    pub max_users: usize,
    /// Connections open at once from one address (an IPv6 /64).
    pub max_connections_per_ip: usize,
    /// New connections a minute from one address (an IPv6 /64).
    pub connections_per_ip_per_minute: u32,
    /// Addresses or ranges (`10.0.0.0/8`) the two limits above do not count.
    pub limit_exempt: Vec<String>,
    /// Reverse proxies (addresses or ranges) whose `forwarded_header` says
    /// who the client is: the per-address limits and the password-guess
    /// throttle count that client instead of the proxy.
    pub trusted_proxies: Vec<String>,
    /// The one header read from a trusted proxy: `"x-forwarded-for"` or
    /// `"forwarded"` (RFC 7239).
    pub forwarded_header: network::ForwardedHeader,
    /// Messages a user may send at once.
    pub rate_burst: u32,
    /// Messages per second a user may send after the burst.
    pub rate_per_second: u32,
    /// Events queued for one user before it counts as too slow and is dropped.
    pub outbound_queue: usize,
    /// Bytes queued for one user before it counts as too slow and is dropped.
    pub outbound_queue_bytes: usize,
    /// While more users than this are online, joins and leaves are counted
    /// and told in one `presence` event every `presence_interval` instead
    /// of one event each (0: always; a huge number: never).
    pub presence_summary_above: usize,
    /// How long joins and leaves are counted before their `presence` summary.
    pub presence_interval: Human,
    /// The room every session is in from its `Welcome` to its end, meant by
    /// every event without a `room` (`#lobby`).
    pub default_room: RoomName,
    /// Who may make a room by joining it: `"anyone"`, `"operators"` or
    /// `"admin"` (no one from a client; `chatctl rooms add`).
    pub room_creation: RoomCreation,
    /// Most rooms the server holds, the default room included.
    pub max_rooms: usize,
    /// Most rooms one session may be in at once, the default room included.
    pub max_rooms_per_session: usize,
    /// Rooms one session may make (by joining them) in an hour.
    pub rooms_made_per_hour: u32,
    /// A room made by joining it is removed, with its history, once it has
    /// been empty this long (rooms made with `chatctl rooms add` stay).
    pub room_idle_expiry: Human,
    /// All rooms' history together, in bytes, shared equally by the rooms
    /// held: past a room's share its oldest messages go.
    pub history_max_bytes: usize,
    /// Time a new connection has to finish the handshake.
    pub handshake_timeout: Human,
    /// Interval of keepalive pings.
    pub keepalive_interval: Human,
    /// Silence after which a peer counts as dead.
    pub keepalive_timeout: Human,
    /// Longest a single write to a client may take.
    pub write_timeout: Human,
    /// Longest shutdown may take before remaining connections are dropped.
    pub shutdown_timeout: Human,
    /// Group whose members may use the admin socket (besides root and the daemon's user).
    pub admin_group: Option<String>,
    /// Allow core dumps (off by default: a dump would hold the keys and
    /// passwords in memory).
    pub core_dumps: bool,
    /// NATS server URLs of the cluster this node joins (a string, a comma
    /// list, or an array); empty: a single self-contained chatd.
    #[serde(deserialize_with = "one_or_many")]
    pub cluster: Vec<String>,
    /// NATS credentials (`.creds`) or nkey seed file; required unless every
    /// cluster URL is loopback.
    pub cluster_credentials: Option<PathBuf>,
    /// This node's name in the cluster (default: the host name).
    pub node_name: Option<String>,
    /// How long a name stays taken after its node died.
    pub cluster_claim_ttl: Human,
    /// Copies NATS keeps of the room's log and state (1, 3 or 5 on a
    /// NATS cluster).
    pub cluster_replicas: usize,
    /// How long a node that starts waits for NATS and JetStream (started
    /// at the same moment, say) before it gives up; zero: not at all.
    pub cluster_start_timeout: Human,
    /// An address and port for a plain HTTP listener of `/metrics` and
    /// `/health` (unset: the metrics are on the admin socket only).
    pub metrics_listen: Option<String>,
    /// Allow `metrics_listen` on an address other than loopback.
    pub metrics_allow_remote: bool,
    /// Series per room made with `chatctl rooms add` (none until chatd has
    /// rooms).
    pub metrics_per_room: bool,
    /// Whether names are bound to the keys of people's identities:
    /// `"open"`, `"first-come"` or `"registered"`. Unset: `"first-come"`
    /// for a state directory with a names registry (made at its first
    /// start), `"open"` (with a warning at every start) for one that held
    /// a key before chatd had a registry.
    pub names: Option<names::Policy>,
    /// How long a registered name may go unused before it is released.
    pub name_expiry: Human,
    /// Most names the registry holds.
    pub max_names: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: format!("127.0.0.1:{}", chat_protocol::DEFAULT_PORT),
            state_dir: None,
            runtime_dir: None,
            password_file: None,
            log_level: "info".into(),
            motd: None,
            history: 50,
            history_max_age: Human(Duration::from_secs(7 * 86_400)),
            max_text: chat_protocol::sizes::DEFAULT_MAX_TEXT,
            max_users: 1000,
            max_connections_per_ip: 16,
            connections_per_ip_per_minute: 60,
            limit_exempt: Vec::new(),
            trusted_proxies: Vec::new(),
            forwarded_header: network::ForwardedHeader::XForwardedFor,
            rate_burst: 10,
            rate_per_second: 5,
            outbound_queue: 256,
            outbound_queue_bytes: 1024 * 1024,
            presence_summary_above: 100,
            presence_interval: Human(Duration::from_secs(1)),
            default_room: RoomName::parse("#lobby").expect("a room's name"),
            room_creation: RoomCreation::Anyone,
            max_rooms: 100,
            max_rooms_per_session: 20,
            rooms_made_per_hour: 5,
            room_idle_expiry: Human(Duration::from_secs(86_400)),
            history_max_bytes: 64 * 1024 * 1024,
            handshake_timeout: Human(Duration::from_secs(10)),
            keepalive_interval: Human(Duration::from_secs(30)),
            keepalive_timeout: Human(Duration::from_secs(90)),
            write_timeout: Human(Duration::from_secs(10)),
            shutdown_timeout: Human(Duration::from_secs(5)),
            admin_group: None,
            core_dumps: false,
            cluster: Vec::new(),
            cluster_credentials: None,
            node_name: None,
            cluster_claim_ttl: Human(Duration::from_secs(30)),
            cluster_replicas: 1,
            cluster_start_timeout: Human(Duration::from_secs(120)),
            metrics_listen: None,
            metrics_allow_remote: false,
            metrics_per_room: false,
            names: None,
            name_expiry: Human(Duration::from_secs(365 * 86_400)),
            max_names: 10_000,
        }
    }
}

/// What the command line sets, on top of the configuration file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--config`: the file to read (else the default path, if a file is there).
    pub config: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<std::net::SocketAddr>,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--runtime-dir`.
    pub runtime_dir: Option<PathBuf>,
    /// `--password-file`.
    pub password_file: Option<PathBuf>,
    /// `--cluster`: NATS URLs (a comma list).
    pub cluster: Option<String>,
    /// `--node-name`.
    pub node_name: Option<String>,
}

impl Overrides {
    /// The file read: the one given, else the default path if a file is there.
    pub fn source(&self) -> Option<PathBuf> {
        self.config
            .clone()
            .or_else(crate::store::paths::default_config_file)
    }

    /// The configuration in force: the file (if any), these on top, the
    /// password from systemd's credential when none is configured;
    /// validated. The directories are left unset when neither names them
    /// (see [`Config::resolve_dirs`]).
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut config = match self.source() {
            Some(path) => Config::load(&path)?,
            None => Config::default(),
        };
        if let Some(listen) = self.listen {
            config.listen = listen.to_string();
        }
        if let Some(dir) = &self.state_dir {
            config.state_dir = Some(dir.clone());
        }
        if let Some(dir) = &self.runtime_dir {
            config.runtime_dir = Some(dir.clone());
        }
        if let Some(file) = &self.password_file {
            config.password_file = Some(file.clone());
        }
        if let Some(urls) = &self.cluster {
            config.cluster = split_urls(urls);
        }
        if let Some(name) = &self.node_name {
            config.node_name = Some(name.clone());
        }
        if config.password_file.is_none() {
            // systemd's LoadCredential=password:… delivers the password here.
            if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
                let credential = PathBuf::from(dir).join("password");
                if credential.exists() {
                    config.password_file = Some(credential);
                }
            }
        }
        config.validate().map_err(|invalid| ConfigError::Invalid {
            place: String::new(),
            invalid,
        })?;
        Ok(config)
    }
}

/// `cluster` in the file: one URL, a comma list, or an array of them.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(text) => split_urls(&text),
        OneOrMany::Many(list) => list.iter().flat_map(|u| split_urls(u)).collect(),
    })
}

/// `nats://a:4222,nats://b:4222` as a list (blanks dropped).
pub fn split_urls(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(String::from)
        .collect()
}

impl Config {
    /// Fills in the state and runtime directories that nothing named, by
    /// the rules of [`crate::store::paths`].
    pub fn resolve_dirs(&mut self) -> Result<(), ConfigError> {
        if self.state_dir.is_none() {
            self.state_dir = Some(crate::store::paths::default_state_dir()?);
        }
        if self.runtime_dir.is_none() {
            self.runtime_dir = Some(crate::store::paths::default_runtime_dir());
        }
        Ok(())
    }

    /// Parses a config file's text; `origin` names it in errors, with the
    /// line of the offending key.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Syntax(describe_toml_error(text, origin, &e)))?;
        config.validate().map_err(|invalid| ConfigError::Invalid {
            place: format!(
                "{}: ",
                chat_protocol::config_file::place(origin, key_line(text, invalid.key))
            ),
            invalid,
        })?;
        Ok(config)
    }

    /// Reads and parses a config file (at most [`MAX_CONFIG_BYTES`]).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read as _;
        let cannot = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(cannot)?
            .take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(cannot)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge(path.to_path_buf()));
        }
        Self::parse(&text, path)
    }

    /// This node's name: `node_name`, else the host name.
    pub fn node_name(&self) -> String {
        self.node_name.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "chatd".to_string())
        })
    }

    /// `metrics_listen`, parsed (`None` when unset).
    pub fn metrics_addr(&self) -> Result<Option<std::net::SocketAddr>, Invalid> {
        let Some(text) = &self.metrics_listen else {
            return Ok(None);
        };
        let addr: std::net::SocketAddr = text.parse().map_err(|_| Invalid {
            key: "metrics_listen",
            message: format!(
                "metrics_listen = \"{text}\" is not an address like 127.0.0.1:9719 or [::1]:9719"
            ),
        })?;
        if !addr.ip().is_loopback() && !self.metrics_allow_remote {
            return Err(Invalid {
                key: "metrics_listen",
                message: format!(
                    "metrics_listen = \"{text}\" is not a loopback address, and anyone who reaches it can read how busy the room is: \
                     use 127.0.0.1:{port} (a Prometheus on this machine, or a proxy in front of it), or set metrics_allow_remote = true",
                    port = addr.port()
                ),
            });
        }
        Ok(Some(addr))
    }

    /// The listen address, parsed.
    pub fn listen_addr(&self) -> Result<std::net::SocketAddr, Invalid> {
        self.listen.parse().map_err(|_| Invalid {
            key: "listen",
            message: format!(
                "listen = \"{}\" is not an address like 127.0.0.1:1719 or [::1]:1719",
                self.listen
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("chatd.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn values_and_durations() {
        let c = parse("listen = \"[::1]:9000\"\nhistory = 5\nkeepalive_interval = \"5s\"\nkeepalive_timeout = \"1m\"\n").unwrap();
        assert_eq!(c.history, 5);
        assert_eq!(c.keepalive_timeout.0, Duration::from_secs(60));
        assert_eq!(c.listen_addr().unwrap().port(), 9000);
        let c = parse("presence_summary_above = 0\npresence_interval = \"250ms\"\n").unwrap();
        assert_eq!(c.presence_summary_above, 0);
        assert_eq!(c.presence_interval.0, Duration::from_millis(250));
    }

    #[test]
    fn unknown_key_names_the_line() {
        let err = parse("history = 5\n\nlisen = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("chatd.toml line 3:"), "{err}");
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_said_in_plain_words() {
        for (text, said) in [
            (
                "history = \"10\"",
                "chatd.toml line 1: history must be a whole number of 0 or more, like history = 10 (no quotes), not the text \"10\"",
            ),
            (
                "# x\nrate_burst = -1",
                "chatd.toml line 2: rate_burst must be a whole number from 0 to 4294967295, like rate_burst = 10 (no quotes), not the number -1",
            ),
            (
                "max_users = 1.5",
                "chatd.toml line 1: max_users must be a whole number of 0 or more, like max_users = 10 (no quotes), not the number 1.5",
            ),
            (
                "core_dumps = \"yes\"",
                "chatd.toml line 1: core_dumps must be true or false (no quotes), like core_dumps = false, not the text \"yes\"",
            ),
            (
                "handshake_timeout = 10",
                "chatd.toml line 1: handshake_timeout must be a duration in double quotes, like handshake_timeout = \"10s\" (or \"5m\", \"1h\"), not the number 10",
            ),
            (
                "name_expiry = 30",
                "chatd.toml line 1: name_expiry must be a duration in days in double quotes, like name_expiry = \"365d\", not the number 30",
            ),
            (
                "motd = true",
                "chatd.toml line 1: motd must be text in double quotes, like motd = \"…\", not true",
            ),
        ] {
            assert_eq!(parse(text).unwrap_err(), said, "{text}");
        }
    }

    #[test]
    fn trusted_proxies_and_their_header() {
        let c = parse(
            "trusted_proxies = [\"10.0.0.0/8\", \"fd00::1\"]\nforwarded_header = \"forwarded\"\n",
        )
        .unwrap();
        assert_eq!(c.trusted_proxies, ["10.0.0.0/8", "fd00::1"]);
        assert_eq!(c.forwarded_header, network::ForwardedHeader::Forwarded);
        assert_eq!(
            Config::default().forwarded_header,
            network::ForwardedHeader::XForwardedFor
        );
        for everything in ["0.0.0.0/0", "::/0", "192.0.2.1/0"] {
            let err = parse(&format!("# x\ntrusted_proxies = [\"{everything}\"]\n")).unwrap_err();
            assert!(
                err.starts_with("chatd.toml line 2: trusted_proxies: "),
                "{err}"
            );
            assert!(err.contains("trusts every address"), "{err}");
        }
        let err = parse("trusted_proxies = [\"proxy.example\"]").unwrap_err();
        assert!(err.contains("is not an address or a range"), "{err}");
        let err = parse("forwarded_header = \"x-real-ip\"").unwrap_err();
        assert!(err.starts_with("chatd.toml line 1:"), "{err}");
        assert!(
            err.contains("x-forwarded-for") && err.contains("forwarded"),
            "{err}"
        );
    }

    #[test]
    fn metrics_listen_is_loopback_unless_remote_is_allowed() {
        assert_eq!(parse("").unwrap().metrics_addr().unwrap(), None);
        let c = parse("metrics_listen = \"127.0.0.1:9719\"").unwrap();
        assert_eq!(c.metrics_addr().unwrap().unwrap().port(), 9719);
        assert!(parse("metrics_listen = \"[::1]:0\"").is_ok());
        assert_eq!(
            parse("# x\nmetrics_listen = \"0.0.0.0:9719\"\n").unwrap_err(),
            "chatd.toml line 2: metrics_listen = \"0.0.0.0:9719\" is not a loopback address, and anyone who \
             reaches it can read how busy the room is: use 127.0.0.1:9719 (a Prometheus on this machine, or a \
             proxy in front of it), or set metrics_allow_remote = true"
        );
        let c = parse("metrics_listen = \"10.0.0.5:9719\"\nmetrics_allow_remote = true\n").unwrap();
        assert!(!c.metrics_addr().unwrap().unwrap().ip().is_loopback());
        assert!(
            parse("metrics_listen = \"localhost:9719\"")
                .unwrap_err()
                .contains("is not an address like 127.0.0.1:9719")
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse("history = \"many\"").unwrap_err().contains("line 1"));
        assert!(
            parse("handshake_timeout = \"10 parsecs\"")
                .unwrap_err()
                .contains("unit")
        );
        assert_eq!(
            parse("history = 5\nmax_text = 0\n").unwrap_err(),
            "chatd.toml line 2: max_text must be between 1 and 65536 bytes"
        );
        assert_eq!(
            parse("# huge\nshutdown_timeout = \"18446744073709551615s\"\n").unwrap_err(),
            "chatd.toml line 2: shutdown_timeout must be at most 1d"
        );
        assert!(parse("shutdown_timeout = \"0\"").is_err());
        assert_eq!(
            parse("presence_interval = \"0\"").unwrap_err(),
            "chatd.toml line 1: presence_interval must be more than 0"
        );
        assert!(
            parse("listen = \"localhost\"")
                .unwrap_err()
                .contains("not an address")
        );
        assert!(
            parse("keepalive_timeout = \"10s\"")
                .unwrap_err()
                .contains("longer")
        );
    }
}
