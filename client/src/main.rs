//! `chat`: the terminal client of chat.
//!
//! This file holds the command line and the exit codes' way out; the rest
//! is one module per concept:
//!
//! - [`connection`]: the WebSocket, the handshake, sealed send and receive;
//! - [`session`]: the line-mode loop (stdin out, events in, pacing, leaving);
//! - [`input`] and [`pacing`]: what the user types, and how fast it goes;
//! - [`render`] and [`escape`]: what the user sees, made terminal-safe;
//! - [`password`] and [`signals`]: the password's sources and Ctrl-C;
//! - [`exit`]: the exit codes, a contract with scripts.
//!
//! Only line mode exists so far; it serves terminals too.

mod cli;
mod connection;
mod escape;
mod exit;
mod input;
mod pacing;
mod password;
mod render;
mod session;
mod signals;

use chat_protocol::{Auth, Token, valid_username};
use clap::{CommandFactory as _, FromArgMatches as _};

use crate::cli::Cli;
use crate::exit::{Exit, Failure, exit_of};
use crate::render::Mode;
use crate::signals::Signals;

/// Accepts `ws://` URLs only (TLS is not built in; the protocol's handshake
/// authenticates the server without it).
fn parse_url(url: &str) -> Result<String, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("wss://") {
        return Err("wss:// is not supported; use ws:// (the chat handshake authenticates the server and encrypts everything)".into());
    }
    if !lower.starts_with("ws://") {
        return Err("expected a ws:// URL, like ws://localhost:1719/".into());
    }
    url.into_client_request()
        .map(|_| url.to_owned())
        .map_err(|err| format!("{err}; expected a URL like ws://localhost:1719/"))
}

fn main() {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    cli.key_option_from_env =
        matches.value_source("key_option") == Some(clap::parser::ValueSource::EnvVariable);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("chat: starting the async runtime: {err}");
            std::process::exit(Exit::Error.code());
        }
    };
    let exit = runtime.block_on(run(cli));
    let code = match exit {
        Ok(exit) => exit.code(),
        Err(err) => {
            match err.downcast_ref::<Failure>() {
                Some(failure) => eprintln!("chat: {failure}"),
                None => eprintln!("chat: {err:#}"),
            }
            exit_of(&err).code()
        }
    };
    // Exit at once, without dropping the runtime: dropping it would wait for
    // a password prompt's blocking read, and the stdin thread may be blocked
    // in read() too.
    std::process::exit(code);
}

async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let mut signals = Signals::new()?;
    if cli.password.is_some() {
        return Err(usage(
            "passwords are not taken on the command line, where `ps` and shell history show them; use --password-file FILE or CHAT_PASSWORD",
        ));
    }
    let token = key(&cli)?;
    let username = match cli.username {
        Some(name) => name,
        None => default_username(),
    };
    if !valid_username(&username) {
        return Err(Failure::new(
            Exit::NameInvalid,
            format!(
                "{:?} is not a valid username: use 1-32 of A-Z a-z 0-9 _ . - with --username NAME",
                escape::one_line(&username)
            ),
        )
        .into());
    }
    let given = password::from_file_or_env(cli.password_file.as_deref())?;
    let mode = if cli.json { Mode::Json } else { Mode::Plain };

    let none_given = given.is_none();
    let mut auth = Auth {
        username,
        password: given.unwrap_or_default(),
        client: format!("chat/{}", env!("CARGO_PKG_VERSION")),
    };
    let mut joined = join(&cli.url, &token, &auth, &mut signals).await;
    if let Err(err) = &joined {
        if exit_of(err) == Exit::BadPassword && none_given && password::can_prompt() {
            auth.password = password::prompt(&cli.url, &mut signals).await?;
            joined = join(&cli.url, &token, &auth, &mut signals).await;
        }
    }
    let (conn, welcome) = joined?;
    session::run(conn, welcome, mode, &mut signals).await
}

/// One join attempt, abandoned (exit 130) at Ctrl-C or SIGTERM.
async fn join(
    url: &str,
    token: &Token,
    auth: &Auth,
    signals: &mut Signals,
) -> anyhow::Result<(connection::Connection, chat_protocol::Welcome)> {
    tokio::select! {
        joined = connection::join(url, token, auth) => joined,
        () = signals.recv() => Err(Failure::new(Exit::Interrupted, "interrupted before joining").into()),
    }
}

/// The key token, from the argument, `--key` or `CHAT_KEY`. Errors never
/// show the key.
fn key(cli: &Cli) -> anyhow::Result<Token> {
    let (text, source) = match (&cli.key, &cli.key_option) {
        (Some(_), Some(_)) if !cli.key_option_from_env => {
            return Err(usage("give the key once: as KEY or with --key, not both"));
        }
        // The argument, given on purpose, wins over the environment.
        (Some(key), _) => (key, "the KEY argument"),
        (None, Some(key)) if cli.key_option_from_env => (key, "CHAT_KEY"),
        (None, Some(key)) => (key, "--key"),
        (None, None) => {
            return Err(usage(
                "no key given: set CHAT_KEY to the token that `chatctl key` prints (or pass it as the KEY argument)",
            ));
        }
    };
    Token::parse(text).map_err(|err| usage(&format!("the key from {source} is not valid: {err}")))
}

fn usage(message: &str) -> anyhow::Error {
    Failure::new(Exit::Usage, message).into()
}

/// `user_NNNN`, four random digits, as the tool chat descends from did.
fn default_username() -> String {
    let mut bytes = [0u8; 2];
    // A fixed name would do if the OS generator failed; it cannot here.
    let _ = getrandom::fill(&mut bytes);
    format!("user_{:04}", u16::from_le_bytes(bytes) % 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("ws://localhost:1719/").unwrap(),
            "ws://localhost:1719/"
        );
        assert!(parse_url("ws://127.0.0.1:9").is_ok());
        assert!(parse_url("wss://host/").unwrap_err().contains("ws://"));
        assert!(parse_url("http://host/").is_err());
        assert!(parse_url("ws://").is_err());
    }

    #[test]
    fn default_usernames_look_like_the_seeds() {
        let name = default_username();
        assert!(valid_username(&name));
        assert_eq!(name.len(), 9);
        assert!(name.starts_with("user_") && name[5..].bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn help_documents_every_exit_code_and_hides_secrets() {
        let help = Cli::command().render_long_help().to_string();
        for code in [
            "0", "1", "2", "3", "4", "5", "10", "11", "12", "13", "14", "15", "69",
        ] {
            assert!(help.contains(&format!("\n{code:>4}  ")), "exit code {code}");
        }
        assert!(help.contains("CHAT_KEY") && help.contains("CHAT_PASSWORD"));
        assert!(
            !help.contains("--password "),
            "the refused flag stays hidden"
        );
    }
}
