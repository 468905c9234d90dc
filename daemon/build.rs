//! Makes chatd(8) and its bash, zsh and fish completions from the CLI
//! definition (`src/cli.rs`) at build time, for `cargo deb` to package
//! (see `chat_docgen::build_script`). What the page says beyond `--help`
//! is here.

#[allow(dead_code)]
#[path = "src/cli.rs"]
mod cli;

const MAN: chat_docgen::Extras = chat_docgen::Extras {
    section: "8",
    environment: &[
        (
            "STATE_DIRECTORY, RUNTIME_DIRECTORY, CONFIGURATION_DIRECTORY",
            "Set by systemd (StateDirectory= and the like): the state directory, the runtime directory and the directory of chatd.toml, when no flag or configuration key names them.",
        ),
        (
            "CREDENTIALS_DIRECTORY",
            "Set by systemd (LoadCredential=password:FILE): the join password is read from its file \"password\" when neither --password-file nor password_file is set.",
        ),
        (
            "NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS, LISTEN_FDNAMES",
            "Set by systemd: readiness and status notifications, the watchdog, and socket activation (one TCP socket for chat, optionally one Unix socket for the admin API).",
        ),
        (
            "RUST_LOG",
            "The log filter (info, debug, \"info,chatd=debug\"); it wins over log_level in the configuration.",
        ),
        (
            "XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_RUNTIME_DIR",
            "The directories of a chatd run by a user other than root.",
        ),
    ],
    files: &[
        (
            "/etc/chatd/chatd.toml",
            "The configuration (every key documented in the file itself); none is fine. Check it with chatd --check-config.",
        ),
        (
            "/var/lib/chatd/identity",
            "The server's private identity key (mode 0600). Back it up: clients check it on every join.",
        ),
        (
            "/var/lib/chatd/key",
            "The key token people join with, on its first line (mode 0600); chatctl key prints it.",
        ),
        (
            "/var/lib/chatd/key.previous",
            "The previous key while a rotation's grace period runs.",
        ),
        (
            "/var/lib/chatd/password",
            "The argon2id hash of a password set with chatctl passwd.",
        ),
        (
            "/run/chatd/admin.sock",
            "The admin API (HTTP and JSON over a Unix socket, mode 0660), used by chatctl(8).",
        ),
        (
            "/usr/lib/systemd/system/chatd.service, /usr/lib/systemd/system/chatd.socket",
            "The hardened service unit, and the optional socket unit for socket activation.",
        ),
    ],
    see_also: &[
        ("chatctl", "8"),
        ("chat", "1"),
        ("systemd.service", "5"),
        ("journalctl", "1"),
    ],
};

/// The line of `config/chatd.toml` that the package's
/// `/etc/chatd/chatd.toml` has uncommented: the package makes the group
/// (`packaging/chatd.sysusers`) and the unit runs chatd with that group
/// (`Group=chat-admin`), so its members may use chatctl at once.
const ADMIN_GROUP_LINE: &str = "# admin_group = \"chat-admin\"\n";

fn main() {
    chat_docgen::build_script(<cli::Cli as clap::CommandFactory>::command(), &MAN);
    println!("cargo:rerun-if-changed=../config/chatd.toml");
    let config = std::fs::read_to_string("../config/chatd.toml")
        .unwrap_or_else(|e| panic!("cannot read ../config/chatd.toml: {e}"));
    assert!(
        config.matches(ADMIN_GROUP_LINE).count() == 1,
        "config/chatd.toml must hold the line {ADMIN_GROUP_LINE:?} once: the package's chatd.toml uncomments it"
    );
    let packaged = config.replace(
        ADMIN_GROUP_LINE,
        "# The Debian package sets this: members of chat-admin may use chatctl.\nadmin_group = \"chat-admin\"\n",
    );
    chat_docgen::write_outputs(vec![("chatd.toml".into(), packaged.into_bytes())]);
}
