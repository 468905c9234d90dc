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
mod clock;
mod config;
mod connection;
mod datafile;
mod engine;
mod escape;
mod exit;
mod identity;
mod ignore;
mod input;
mod model;
mod pacing;
mod password;
mod permissions;
mod render;
mod session;
mod signals;
mod tui;

use chat_protocol::{Auth, Identity, Token, valid_username};
use clap::{CommandFactory as _, FromArgMatches as _};

use crate::cli::Cli;
use crate::exit::{Exit, Failure, exit_of};
use crate::render::Mode;
use crate::signals::Signals;

/// Accepts `ws://` URLs only (TLS is not built in; the protocol's handshake
/// authenticates the server without it).
pub(crate) fn parse_url(url: &str) -> Result<String, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    // An item of a comma list may come with spaces around it.
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("wss://") {
        return Err("wss:// is not supported; use ws:// (the chat handshake authenticates the server and encrypts everything)".into());
    }
    if !lower.starts_with("ws://") {
        return Err("expected a ws:// URL, like ws://localhost:1719/".into());
    }
    let request = url
        .into_client_request()
        .map_err(|err| format!("{err}; expected a URL like ws://localhost:1719/"))?;
    // `Uri::port` hides a port that does not parse: read it ourselves.
    let authority = request.uri().authority().map_or("", |a| a.as_str());
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let port = if host.starts_with('[') {
        host.split_once("]:").map(|(_, port)| port)
    } else {
        host.rsplit_once(':').map(|(_, port)| port)
    };
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p != 0)
    {
        return Err(format!(
            "{port:?} is not a port (1-65535); expected a URL like ws://localhost:1719/"
        ));
    }
    Ok(url.to_owned())
}

fn main() {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    cli.key_option_from_env =
        matches.value_source("key_option") == Some(clap::parser::ValueSource::EnvVariable);
    cli.url_is_default =
        matches.value_source("url") == Some(clap::parser::ValueSource::DefaultValue);
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

async fn run(mut cli: Cli) -> anyhow::Result<Exit> {
    let mut signals = Signals::new()?;
    if cli.password.is_some() {
        return Err(usage(
            "passwords are not taken on the command line, where `ps` and shell history show them; use --password-file FILE or CHAT_PASSWORD",
        ));
    }
    let settings = config::load(cli.profile.as_deref())?;
    if cli.url_is_default
        && let Some(url) = &settings.url
    {
        // Checked when the file was read.
        cli.url = url.split(',').filter_map(|u| parse_url(u).ok()).collect();
    }
    let choice = identity::Choice::resolve(
        cli.no_identity,
        cli.identity.as_deref(),
        settings.identity.as_deref(),
    );
    if cli.show_identity {
        return identity::choice::show(&choice);
    }
    let token = key(&cli, &settings)?;
    let username = match cli.username.clone().or_else(|| settings.username.clone()) {
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
    let given = match password::from_file_or_env(cli.password_file.as_deref())? {
        Some(password) => Some(password),
        None => match (&settings.password_file, &settings.password_command) {
            (Some(file), _) => password::from_file_or_env(Some(&config::expand_home(file)))?,
            (None, Some(command)) => Some(password::from_command(command)?),
            (None, None) => None,
        },
    };
    let mode = if cli.json { Mode::Json } else { Mode::Plain };
    let mut notes = Vec::new();
    let me = identity::choice::for_join(&choice, &mut notes)?;

    let none_given = given.is_none();
    let mut auth = Auth {
        username,
        password: given.unwrap_or_default(),
        client: format!("chat/{}", env!("CARGO_PKG_VERSION")),
        after: None,
        identity: None,
        proof: None,
    };
    let mut joined = join(&cli.url, &token, &auth, me.as_deref(), &mut signals).await;
    let prompt_url = cli.url.join(", ");
    if let Err(err) = &joined
        && err.failure.exit == Exit::BadPassword
        && none_given
        && password::can_prompt()
    {
        auth.password = password::prompt(&prompt_url, &mut signals).await?;
        joined = join(&cli.url, &token, &auth, me.as_deref(), &mut signals).await;
    }
    let (conn, welcome, url) = joined.map_err(anyhow::Error::from)?;
    let (mut roster, data_notes) = identity::roster_for(&token.server_public);
    for note in data_notes {
        eprintln!("chat: {note}");
        notes.push(note);
    }
    if !cli.plain && !cli.json && tui::available() {
        let guard = match tui::TerminalGuard::new() {
            Ok(guard) => guard,
            Err(err) => {
                eprintln!(
                    "chat: the terminal cannot run the full screen ({err}); using the line client"
                );
                return session::run(conn, welcome, mode, roster, &mut signals).await;
            }
        };
        let mut engine = engine::Engine::new(conn, &welcome);
        let fingerprint = token.key_id().to_string();
        engine.reconnect_with(engine::Rejoin {
            urls: cli.url.clone(),
            token,
            auth,
            identity: me,
        });
        let mut options = tui::Options::from_settings(&settings);
        for note in notes {
            roster.tell(note);
        }
        options.roster = roster;
        return tui::run(
            guard,
            engine,
            welcome,
            &url,
            &fingerprint,
            options,
            &mut signals,
        )
        .await;
    }
    session::run(conn, welcome, mode, roster, &mut signals).await
}

/// One join attempt (each server in turn), abandoned (exit 130) at Ctrl-C
/// or SIGTERM.
async fn join(
    urls: &[String],
    token: &Token,
    auth: &Auth,
    identity: Option<&Identity>,
    signals: &mut Signals,
) -> Result<connection::Joined, connection::JoinError> {
    tokio::select! {
        joined = connection::join_any(urls, token, auth, identity) => joined,
        () = signals.recv() => Err(connection::JoinError {
            failure: Failure::new(Exit::Interrupted, "interrupted before joining"),
            retry: connection::Retry::Useless,
            rejected: None,
        }),
    }
}

/// The key token, from the argument, `--key` or `CHAT_KEY`, else the
/// configuration's `key` or `key_file`. Errors never show the key.
fn key(cli: &Cli, settings: &config::Settings) -> anyhow::Result<Token> {
    let from_file;
    let (text, source) = match (&cli.key, &cli.key_option) {
        (Some(_), Some(_)) if !cli.key_option_from_env => {
            return Err(usage("give the key once: as KEY or with --key, not both"));
        }
        // The argument, given on purpose, wins over the environment.
        (Some(key), _) => (key, "the KEY argument"),
        (None, Some(key)) if cli.key_option_from_env => (key, "CHAT_KEY"),
        (None, Some(key)) => (key, "--key"),
        (None, None) => match (&settings.key, &settings.key_file) {
            (Some(key), _) => (key, "the configuration file's key"),
            (None, Some(file)) => {
                let path = config::expand_home(file);
                let text = read_key_file(&path).map_err(|err| {
                    usage(&format!(
                        "reading the key file {} (key_file in the configuration): {err}",
                        path.display()
                    ))
                })?;
                from_file = text.lines().next().unwrap_or_default().to_owned();
                (&from_file, "the configuration's key_file")
            }
            (None, None) => {
                return Err(usage(
                    "no key given: set CHAT_KEY to the token that `chatctl key` prints (or pass it as the KEY argument)",
                ));
            }
        },
    };
    Token::parse(text).map_err(|err| usage(&format!("the key from {source} is not valid: {err}")))
}

/// The key file's text; a warning first if other users can read it.
fn read_key_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    permissions::warn_if_exposed(&file, path, "key file");
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
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
        assert!(
            parse_url("ws://127.0.0.1:99999/")
                .unwrap_err()
                .contains("not a port")
        );
        assert!(parse_url("ws://127.0.0.1:0/").is_err());
        assert!(parse_url("ws://[::1]:1719/").is_ok());
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
            "0", "1", "2", "3", "4", "5", "10", "11", "12", "13", "14", "15", "16", "17", "69",
        ] {
            assert!(help.contains(&format!("\n{code:>4}  ")), "exit code {code}");
        }
        assert!(help.contains("CHAT_KEY") && help.contains("CHAT_PASSWORD"));
        for key in [
            "PgUp",
            "Ctrl-W",
            "Alt-Enter",
            "F2",
            "Tab",
            "Ctrl-R",
            "Alt-D",
            "Ctrl-Y",
            "Ctrl-T",
            "/reconnect",
            "/lastlog",
            "/ignore",
            "/unignore",
            "/kick",
            "/ban",
            "/unban",
            "/mute",
            "/unmute",
            "/bans",
        ] {
            assert!(help.contains(key), "the keys are listed: {key}");
        }
        assert!(
            !help.contains("--password "),
            "the refused flag stays hidden"
        );
    }
}
