//! Makes chatctl(8) and its bash, zsh and fish completions from the CLI
//! definition (`src/cli.rs` and its modules in `src/cli/`) at build time,
//! for `cargo deb` to package (see `chat_docgen::build_script`).

#[allow(dead_code)]
#[path = "src/cli.rs"]
mod cli;

// Stand-ins for the value parsers in parse.rs: rendering docs never runs them.
fn parse_grace(_: &str) -> Result<u64, String> {
    Err(String::new())
}
fn parse_name(_: &str) -> Result<String, String> {
    Err(String::new())
}
fn parse_target(_: &str) -> Result<String, String> {
    Err(String::new())
}
fn parse_length(_: &str) -> Result<u64, String> {
    Err(String::new())
}

fn main() {
    chat_docgen::build_script(<cli::Cli as clap::CommandFactory>::command(), &cli::MAN);
}
