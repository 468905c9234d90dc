//! Makes chat(1) and its bash, zsh and fish completions from the CLI
//! definition (`src/cli.rs`) at build time, for `cargo deb` to package
//! (see `chat_docgen::build_script`). What the page says beyond `--help`
//! is here.

#[allow(dead_code)]
#[path = "src/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "src/exit.rs"]
mod exit;

// A stand-in for the URL parser in main.rs: rendering docs never runs it.
fn parse_url(_: &str) -> Result<String, String> {
    Err(String::new())
}

const MAN: chat_docgen::Extras = chat_docgen::Extras {
    section: "1",
    environment: &[
        (
            "CHAT_KEY",
            "The server's key token (chat1_...), as chatctl key prints it. Better than the KEY argument, which other users of the machine can see in ps.",
        ),
        (
            "CHAT_PASSWORD",
            "The server's join password, when --password-file is not given.",
        ),
    ],
    files: &[
        (
            "$XDG_DATA_HOME/chat/identity",
            "Your identity's private key (mode 0600), made on first use (~/.local/share/chat/identity when XDG_DATA_HOME is unset).",
        ),
        (
            "$XDG_DATA_HOME/chat/known_names",
            "The identities seen per server and name, to warn when a name comes back with another.",
        ),
        (
            "$XDG_DATA_HOME/chat/ignored",
            "The names ignored per server (/ignore), by identity where they have one (mode 0600).",
        ),
        (
            "LOG_DIR/HOST_PORT.log, LOG_DIR/HOST_PORT#ROOM.log, LOG_DIR/HOST_PORT@NAME.log",
            "With log_dir set in the configuration, the full screen's lines (mode 0600): the default room's (and a server's without rooms), each other room's, the direct messages with each person.",
        ),
        (
            "$XDG_CONFIG_HOME/chat/config.toml",
            "The configuration: url, username, key or key_file, password_file or password_command, identity, and the full screen's settings, with [profile.NAME] tables.",
        ),
    ],
    see_also: &[("chatd", "8"), ("chatctl", "8")],
};

fn main() {
    println!("cargo:rerun-if-changed=src/exit.rs");
    chat_docgen::build_script(<cli::Cli as clap::CommandFactory>::command(), &MAN);
}
