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
    files: &[],
    see_also: &[("chatd", "8"), ("chatctl", "8")],
};

fn main() {
    println!("cargo:rerun-if-changed=src/exit.rs");
    chat_docgen::build_script(<cli::Cli as clap::CommandFactory>::command(), &MAN);
}
