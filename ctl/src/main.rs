//! `chatctl`: the admin CLI of chat, a client of chatd's admin socket.
//!
//! This file holds the command line, the dispatch of each subcommand to
//! one admin API call, and the way out with the exit code of the contract.
//! The rest is one module per concept:
//!
//! - [`socket`]: which admin sockets to try, in order;
//! - [`trust`]: whether a socket may be trusted before anything is sent;
//! - [`client`]: HTTP/1.1 over the Unix socket, and every failure mapped to
//!   its exit code;
//! - [`output`]: the answers as lines and tables for people, or the
//!   daemon's JSON made terminal-safe (`--json`); [`names`]: the names
//!   registry's; [`moderation`]: the bans';
//! - [`prompt`]: the new password, from the terminal or stdin;
//! - [`rooms`]: `chatctl rooms` and the room of `--room`;
//! - [`docs`]: shell completions and the man page, generated from the CLI;
//! - [`exit`]: the exit codes.

mod cli;
mod client;
mod docs;
mod exit;
mod moderation;
mod names;
mod output;
mod parse;
mod prompt;
mod rooms;
mod socket;
mod trust;

use std::io::{self, Write as _};

use anyhow::Context as _;
use chat_protocol::admin::{
    Audit, BanRequest, Banned, Bans, MuteRequest, Muted, Mutes, OperatorChanged, OperatorRequest,
    Operators, Unbanned, Unmuted,
};
use chat_protocol::admin::{
    Health, Key, KickRequest, Kicked, NameChanged, NameKeyRequest, Names, NoticeRequest,
    NoticeSent, PasswordRequest, PasswordState, Reloaded, RotateRequest, Rotated, Status, Users,
};
use chat_protocol::clock::now_ms;
use clap::Parser as _;
use hyper::Method;

use crate::cli::{
    AuditArgs, BanArgs, Cli, Command, DeopArgs, KickArgs, MetricsArgs, MuteArgs, NamesAction,
    OpArgs, PasswdArgs, RotateKeyArgs, SayArgs, UnbanArgs, UnmuteArgs, UsersArgs,
};
use crate::client::{Answer, Client};
use crate::exit::{Exit, Failure, exit_of};
use crate::parse::identity_key;
pub(crate) use crate::parse::{parse_grace, parse_length, parse_name, parse_target};

fn main() {
    // An empty CHATD_SOCKET means unset, as an empty XDG_RUNTIME_DIR does;
    // clap would call it a missing value.
    if std::env::var_os("CHATD_SOCKET").is_some_and(|v| v.is_empty()) {
        // SAFETY: no other thread exists yet to read the environment.
        unsafe { std::env::remove_var("CHATD_SOCKET") };
    }
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        // A usage error is JSON on stdout too when --json was asked for.
        let json = std::env::args_os().skip(1).any(|a| a == "--json");
        if json && e.use_stderr() {
            let message = e.kind().as_str().unwrap_or("usage error");
            let message = format!("{message} (see chatctl --help)");
            println!("{}", exit::json_error(Exit::Usage.json_code(), &message));
        }
        e.exit()
    });
    let json = cli.json;
    let code = match cli.command {
        Command::Completions { shell } => finish(docs::completions(shell), false),
        Command::Man => finish(docs::man(), false),
        _ => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime");
            finish(runtime.and_then(|runtime| runtime.block_on(run(cli))), json)
        }
    };
    // Exit at once: a prompt's reader thread may still be blocked in read().
    std::process::exit(code);
}

/// Reports an error on stderr, one `chatctl: ` line (unreachable: one line
/// per socket tried), and with `--json` also as one JSON object on stdout
/// (`{"error":{"code":…,"message":…}}`, the daemon's code when it refused);
/// returns the exit code.
fn finish(result: anyhow::Result<()>, json: bool) -> i32 {
    let Err(err) = result else {
        return Exit::Ok.code();
    };
    let exit = exit_of(&err);
    let said = match err.downcast_ref::<Failure>() {
        Some(failure) => failure.to_string(),
        None => format!("{err:#}"),
    };
    eprintln!("chatctl: {said}");
    if json {
        let error = match err.downcast_ref::<exit::DaemonSaid>() {
            Some(daemon) => exit::json_error(&daemon.code, &daemon.message),
            None => exit::json_error(exit.json_code(), &said),
        };
        print!("{}", output::json(&error));
    }
    exit.code()
}

/// Refuses a moderator's reason the daemon would refuse (more than 200
/// bytes, a control character, only white space), before anything is sent.
fn check_reason(reason: &str) -> anyhow::Result<()> {
    chat_protocol::validate_reason(reason)
        .map_err(|(_, why)| Failure::new(Exit::Usage, format!("--reason: {why}")).into())
}

/// Runs one admin call and prints its answer.
/// Refuses words for the room (a kick's reason, a notice) that hold a
/// control character a message may not hold: the daemon would refuse them
/// too, and clients show them escaped.
fn check_room_text(what: &str, text: &str) -> anyhow::Result<()> {
    match chat_protocol::forbidden_control(text) {
        None => Ok(()),
        Some(c) => Err(Failure::new(
            Exit::Usage,
            format!(
                "{what} holds the control character U+{:04X}; it may hold newlines and tabs but no other control character: remove it",
                u32::from(c)
            ),
        )
        .into()),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Kick(KickArgs {
            reason: Some(reason),
            ..
        }) => check_room_text("the reason", reason)?,
        Command::Say(SayArgs { text, room }) => {
            check_room_text("the notice", &text.join(" "))?;
            if let Some(room) = room {
                rooms::parse(room)?;
            }
        }
        Command::Users(UsersArgs { room: Some(room) }) => {
            rooms::parse(room)?;
        }
        Command::Ban(BanArgs {
            reason: Some(reason),
            ..
        })
        | Command::Mute(MuteArgs {
            reason: Some(reason),
            ..
        }) => check_reason(reason)?,
        Command::Names {
            action: Some(NamesAction::Add { key, .. } | NamesAction::Remove { key: Some(key), .. }),
        } => {
            identity_key(key)?;
        }
        _ => {}
    }
    let candidates = socket::from_env(cli.socket);
    let json = cli.json;
    let mut client = Client::connect(&candidates).await?;
    let now = chat_protocol::clock::now_secs();
    let text = match cli.command {
        Command::Status => show(json, client.get::<Status>("/v1/status").await?, |s| {
            output::status(s, now)
        }),
        Command::Users(UsersArgs { room }) => {
            let path = match room {
                Some(room) => format!("/v1/users?room={}", rooms::parse(&room)?.bare()),
                None => "/v1/users".to_string(),
            };
            show(json, client.get::<Users>(&path).await?, |u| {
                output::users(u, now)
            })
        }
        Command::Key => show(json, client.get::<Key>("/v1/key").await?, |k| {
            format!("{}\n", output::one_line(&k.token))
        }),
        Command::RotateKey(RotateKeyArgs { disconnect, grace }) => {
            let request = RotateRequest {
                disconnect,
                grace_secs: grace.unwrap_or(0),
            };
            let answer = client
                .call::<Rotated>(Method::POST, "/v1/key/rotate", Some(&request))
                .await?;
            show(json, answer, |r| output::rotated(r, disconnect, now))
        }
        Command::Passwd(PasswdArgs { clear: true, .. }) => {
            let answer = client
                .call::<PasswordState>(Method::DELETE, "/v1/password", None::<&()>)
                .await?;
            show(json, answer, |p| output::password_state(p, true))
        }
        Command::Passwd(PasswdArgs { stdin, .. }) => {
            let password = if stdin {
                prompt::from_stdin()?
            } else {
                // Check access before asking: typing a password twice only
                // to learn that the call is refused would be a poor trade.
                client.get::<Status>("/v1/status").await?;
                prompt::from_terminal().await?
            };
            let request = PasswordRequest { password };
            let answer = client
                .call::<PasswordState>(Method::PUT, "/v1/password", Some(&request))
                .await?;
            show(json, answer, |p| output::password_state(p, false))
        }
        Command::Names { action: None } => {
            show(json, client.get::<Names>("/v1/names").await?, |n| {
                names::list(n, now)
            })
        }
        Command::Names {
            action: Some(NamesAction::Add { name, key }),
        } => {
            let path = format!("/v1/names/{name}");
            let key = identity_key(&key)?;
            let answer = client
                .call::<NameChanged>(Method::PUT, &path, Some(&NameKeyRequest { key }))
                .await?;
            show(json, answer, names::changed)
        }
        Command::Names {
            action: Some(NamesAction::Remove { name, key }),
        } => {
            let path = match key {
                // The text form is URL-safe: base64url after a prefix.
                Some(key) => format!("/v1/names/{name}/keys/{}", identity_key(&key)?),
                None => format!("/v1/names/{name}"),
            };
            let answer = client
                .call::<NameChanged>(Method::DELETE, &path, None::<&()>)
                .await?;
            show(json, answer, names::changed)
        }
        Command::Kick(KickArgs { name, reason }) => {
            let path = format!("/v1/users/{name}/kick");
            let answer = client
                .call::<Kicked>(Method::POST, &path, Some(&KickRequest { reason }))
                .await?;
            show(json, answer, output::kicked)
        }
        Command::Rooms { action } => rooms::run(&mut client, json, action).await?,
        Command::Ban(BanArgs {
            target,
            for_secs,
            reason,
        }) => {
            let request = BanRequest {
                target,
                for_secs,
                reason,
            };
            let answer = client
                .call::<Banned>(Method::POST, "/v1/bans", Some(&request))
                .await?;
            show(json, answer, |b| moderation::banned(b, now_ms()))
        }
        Command::Unban(UnbanArgs { target }) => {
            // The forms hold no character a query must escape but `/`,
            // which a query may hold as it is.
            let path = format!("/v1/bans?target={target}");
            let answer = client
                .call::<Unbanned>(Method::DELETE, &path, None::<&()>)
                .await?;
            show(json, answer, moderation::unbanned)
        }
        Command::Bans => show(json, client.get::<Bans>("/v1/bans").await?, |b| {
            moderation::bans(b, now_ms())
        }),
        Command::Mute(MuteArgs {
            name,
            for_secs,
            reason,
        }) => {
            let request = MuteRequest {
                name,
                for_secs,
                reason,
            };
            let answer = client
                .call::<Muted>(Method::POST, "/v1/mutes", Some(&request))
                .await?;
            show(json, answer, |m| moderation::muted(m, now_ms()))
        }
        Command::Unmute(UnmuteArgs { name }) => {
            let path = format!("/v1/mutes?name={name}");
            let answer = client
                .call::<Unmuted>(Method::DELETE, &path, None::<&()>)
                .await?;
            show(json, answer, moderation::unmuted)
        }
        Command::Mutes => show(json, client.get::<Mutes>("/v1/mutes").await?, |m| {
            moderation::mutes(m, now_ms())
        }),
        Command::Audit(AuditArgs { since }) => {
            let path = match since {
                Some(secs) => format!("/v1/audit?since={secs}"),
                None => "/v1/audit".to_string(),
            };
            show(json, client.get::<Audit>(&path).await?, moderation::audit)
        }
        Command::Op(OpArgs { name }) => {
            let answer = client
                .call::<OperatorChanged>(
                    Method::POST,
                    "/v1/operators",
                    Some(&OperatorRequest { name }),
                )
                .await?;
            show(json, answer, moderation::operator_changed)
        }
        Command::Deop(DeopArgs { name }) => {
            let path = format!("/v1/operators?name={name}");
            let answer = client
                .call::<OperatorChanged>(Method::DELETE, &path, None::<&()>)
                .await?;
            show(json, answer, moderation::operator_changed)
        }
        Command::Operators => show(
            json,
            client.get::<Operators>("/v1/operators").await?,
            moderation::operators,
        ),
        Command::Say(SayArgs { text, room }) => {
            let request = NoticeRequest {
                text: text.join(" "),
                room: room
                    .map(|r| rooms::parse(&r).map(|r| r.to_string()))
                    .transpose()?,
            };
            let answer = client
                .call::<NoticeSent>(Method::POST, "/v1/notice", Some(&request))
                .await?;
            show(json, answer, output::notice_sent)
        }
        Command::Reload => {
            let answer = client
                .call::<Reloaded>(Method::POST, "/v1/reload", None::<&()>)
                .await?;
            show(json, answer, output::reloaded)
        }
        Command::Metrics(MetricsArgs { openmetrics }) => {
            // OpenMetrics first, the text format as the fallback, as a
            // Prometheus server asks.
            let accept = if openmetrics {
                "application/openmetrics-text; version=1.0.0, text/plain; version=0.0.4; q=0.5"
            } else {
                "text/plain; version=0.0.4"
            };
            let answer = client.text("/v1/metrics", accept).await?;
            if json {
                let object = serde_json::json!({
                    "content_type": answer.content_type,
                    "text": answer.text,
                });
                output::json(&object.to_string())
            } else {
                output::text(&answer.text)
            }
        }
        Command::Health => show(json, client.get::<Health>("/v1/health").await?, |h| {
            format!("{}\n", output::one_line(&h.status))
        }),
        Command::Completions { .. } | Command::Man => unreachable!("handled without a daemon"),
    };
    write_stdout(text.as_bytes())
}

/// The answer as people read it, or with `--json` the daemon's object as it
/// sent it (every character that could drive a terminal `\u`-escaped), on
/// one line of its own.
pub(crate) fn show<T>(json: bool, answer: Answer<T>, human: impl FnOnce(&T) -> String) -> String {
    if json {
        // Valid UTF-8 and valid JSON: it was decoded as `T` already.
        output::json(&String::from_utf8_lossy(&answer.raw))
    } else {
        human(&answer.value)
    }
}

/// Writes all of `bytes` to stdout. A reader that went away (`| head`) is
/// not an error: it has what it wanted.
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("writing to stdout"),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("chatctl").chain(args.iter().copied()))
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        for args in [
            &["--json", "--socket", "/x.sock", "status"][..],
            &["status", "--json", "--socket", "/x.sock"],
            &["--socket=/x.sock", "status", "--json"],
        ] {
            let cli = parse(args).unwrap();
            assert!(cli.json, "{args:?}");
            assert_eq!(cli.socket.as_deref(), Some(std::path::Path::new("/x.sock")));
            assert!(matches!(cli.command, Command::Status));
        }
    }

    #[test]
    fn grace_takes_human_durations_in_whole_seconds() {
        let grace = |args: &[&str]| match parse(args).map(|c| c.command) {
            Ok(Command::RotateKey(RotateKeyArgs { grace, .. })) => Ok(grace),
            Ok(other) => panic!("{other:?}"),
            Err(err) => Err(err.kind()),
        };
        assert_eq!(grace(&["rotate-key"]), Ok(None));
        assert_eq!(grace(&["rotate-key", "--grace", "30s"]), Ok(Some(30)));
        assert_eq!(grace(&["rotate-key", "--grace", "10m"]), Ok(Some(600)));
        assert_eq!(grace(&["rotate-key", "--grace", "1h"]), Ok(Some(3600)));
        assert_eq!(grace(&["rotate-key", "--grace", "0"]), Ok(Some(0)));
        // The daemon's bound, checked here first.
        assert_eq!(
            grace(&["rotate-key", "--grace", "30d"]),
            Ok(Some(chat_protocol::admin::MAX_GRACE_SECS))
        );
        for bad in ["10", "ten", "1.5h", "-1s", "1500ms", "31d", "2592001s"] {
            assert_eq!(
                grace(&["rotate-key", &format!("--grace={bad}")]),
                Err(ErrorKind::ValueValidation),
                "{bad}"
            );
        }
        let err = parse(&["rotate-key", "--grace", "10x"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("30s, 10m or 1h"), "{err}");
    }

    #[test]
    fn kick_takes_only_valid_names() {
        match parse(&["kick", "a.b-c_9", "--reason", "x y"])
            .unwrap()
            .command
        {
            Command::Kick(KickArgs { name, reason }) => {
                assert_eq!(name, "a.b-c_9");
                assert_eq!(reason.as_deref(), Some("x y"));
            }
            other => panic!("{other:?}"),
        }
        for bad in ["", "a/b", "../status", "a b", "é", &"x".repeat(33)] {
            let err = parse(&["kick", bad]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn names_takes_a_name_and_an_identity_key() {
        let key = "chat-id1_3eO8zsfzpmoRFfRdcg9NwTXDrnxOItyjj9se_WpJX_g";
        match parse(&["names", "add", "ace", &format!(" {key}\n")])
            .unwrap()
            .command
        {
            Command::Names {
                action: Some(NamesAction::Add { name, key: given }),
            } => {
                assert_eq!(name, "ace");
                assert_eq!(identity_key(&given).unwrap(), key);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["names", "--json"]).unwrap().command,
            Command::Names { action: None }
        ));
        // A token or a private key given by mistake is named, never
        // echoed; a bad key is a usage error.
        let secret = "chat-idsecret1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let err = identity_key(secret).unwrap_err();
        assert_eq!(exit_of(&err), Exit::Usage);
        let said = format!("{err:#}");
        assert!(
            said.contains("private key") && !said.contains(&secret[15..]),
            "{said}"
        );
        for bad in ["chat1_notakey", "chat-id1_AAAA", ""] {
            assert_eq!(
                exit_of(&identity_key(bad).unwrap_err()),
                Exit::Usage,
                "{bad}"
            );
        }
    }

    #[test]
    fn usage_errors() {
        for args in [
            &[][..],
            &["nope"],
            &["passwd", "--stdin", "--clear"],
            &["say"],
            &["completions", "powershell"],
            &["kick"],
            &["status", "extra"],
            &["metrics", "--json-lines"],
            &["health", "now"],
            &["names", "add", "ace"],
            &[
                "names",
                "add",
                "a b",
                "chat-id1_3eO8zsfzpmoRFfRdcg9NwTXDrnxOItyjj9se_WpJX_g",
            ],
            &["names", "remove"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        }
        match parse(&["say", "hello", "there"]).unwrap().command {
            Command::Say(SayArgs { text, .. }) => assert_eq!(text.join(" "), "hello there"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn help_documents_exit_codes_examples_and_the_socket() {
        let help = Cli::command().render_long_help().to_string();
        for code in ["0", "1", "2", "69", "77"] {
            assert!(help.contains(&format!("\n{code:>4}  ")), "exit code {code}");
        }
        assert!(help.contains("CHATD_SOCKET") && help.contains("Examples:"));
        let mut cmd = Cli::command();
        for sub in cmd.get_subcommands_mut() {
            let help = sub.render_long_help().to_string();
            assert!(help.contains("Examples:"), "{}", sub.get_name());
            for arg in sub.get_arguments() {
                assert!(
                    arg.get_help().is_some() || arg.is_hide_set(),
                    "{} {}",
                    sub.get_name(),
                    arg.get_id()
                );
            }
        }
    }
}
